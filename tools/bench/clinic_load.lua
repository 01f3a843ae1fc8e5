-- wrk script for tools/bench/clinic_load.sh: a clinic's mixed load on `serve --clinic`.
-- Arguments (after `--`): stream, streams, day0, span, cookies file, clinician cookie file.
--
-- Each wrk thread is one stream (stream = the first argument + its thread number); every
-- stream uses every participant's session, so in the two-instance run one person's session is
-- used on both instances at once. Request k of a stream:
--   k % 8 in 0..3: POST /api/v1/nights for participant k % P on day
--                  day0 + streams * floor(k / P) + stream (days after 1900-01-01): no two
--                  requests of a run, in any stream, ever send the same person and date, and
--                  runs use disjoint day ranges (day0 to day0 + span; past its end a write
--                  becomes a read). The number of participants P must be odd, so that
--                  every participant gets every kind of request;
--   k % 8 in 4..6: GET /api/v1/nights of that participant for the run's first 31 days (a
--                  bounded read: at most 31 nights);
--   k % 8 == 7:    GET /api/v1/clinic/dashboard as the clinician (a report per linked
--                  participant, each look appended to their audit log).
local threads = {}

setup = function(thread)
  thread:set("local_id", #threads)
  table.insert(threads, thread)
end

local function date_of(n)
  -- 25567 days from 1900-01-01 to 1970-01-01; noon UTC keeps clear of any day boundary.
  return os.date("!%Y-%m-%d", (n - 25567) * 86400 + 43200)
end

init = function(args)
  stream = local_id + tonumber(args[1])
  streams = tonumber(args[2])
  day0 = tonumber(args[3])
  span = tonumber(args[4])
  cookies = {}
  for line in io.lines(args[5]) do
    table.insert(cookies, line)
  end
  assert(#cookies % 2 == 1, "the number of participants must be odd")
  clinician = io.lines(args[6])()
  k = 0
  writes, reads, dashboards, other = 0, 0, 0, 0
  first_other = ""
  window = "from=" .. date_of(day0) .. "&to=" .. date_of(day0 + 30)
end

request = function()
  local n = #cookies
  local p = k % n
  local kind = k % 8
  local day = day0 + streams * math.floor(k / n) + stream
  k = k + 1
  local cookie = "ql_session=" .. cookies[p + 1]
  if kind <= 3 and day < day0 + span then
    local body = string.format(
      '{"date":"%s","severity":%d,"sleep_quality":%d,"hours_slept":%.1f,"note":"wrk"}',
      date_of(day), day % 11, (day + 3) % 11, 4 + (day % 9) / 2)
    return wrk.format("POST", "/api/v1/nights",
      {["Content-Type"] = "application/json", ["Cookie"] = cookie}, body)
  elseif kind <= 6 then -- (a write past the span falls here too)
    return wrk.format("GET", "/api/v1/nights?" .. window, {["Cookie"] = cookie})
  else
    return wrk.format("GET", "/api/v1/clinic/dashboard",
      {["Cookie"] = "ql_session=" .. clinician})
  end
end

response = function(status, headers, body)
  if status == 201 then
    writes = writes + 1
  elseif status == 200 and string.find(body, '"participant"', 1, true) then
    dashboards = dashboards + 1
  elseif status == 200 then
    reads = reads + 1
  else
    other = other + 1
    if first_other == "" then
      first_other = status .. " " .. string.sub(body, 1, 200)
    end
  end
end

done = function(summary, latency, requests)
  local w, r, d, o, first = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    w = w + t:get("writes")
    r = r + t:get("reads")
    d = d + t:get("dashboards")
    o = o + t:get("other")
    if first == "" then first = t:get("first_other") end
  end
  io.write(string.format("kinds: writes=%d nights_reads=%d dashboards=%d other=%d %s\n",
    w, r, d, o, first))
end
