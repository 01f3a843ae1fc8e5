#!/usr/bin/env bash
# Load benchmark of the web API on loopback (wrk): POST /api/v1/nights (each request stores a new
# night; concurrent entries share a group commit, synchronous=FULL) beside GET /api/v1/health
# (no store) in the same run, each for `rounds` rounds of `seconds` on a fresh database (one
# person has at most ~46,000 distinct past dates since 1900, so rounds are short).
# Usage: tools/bench/web_load.sh [seconds] [connections] [rounds]   (needs wrk: apt-get install wrk)
# NO_BUILD=1 skips the release build; BIN=path benchmarks another build of quietlegs.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-1}
conns=${2:-64}
rounds=${3:-5}
[ -n "${NO_BUILD:-}" ] || cargo build --quiet --release -p quietlegs
bin=${BIN:-target/release/quietlegs}
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
start_server() {
  rm -f "$work"/bench.sqlite3* "$work/serve.log"
  env -u QUIETLEGS_TODAY "$bin" serve --db "$work/bench.sqlite3" --addr 127.0.0.1:0 2> "$work/serve.log" &
  pid=$!
  for _ in $(seq 50); do grep -q "http://" "$work/serve.log" && break; sleep 0.1; done
  base=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log")
}
stop_server() { kill $pid; wait $pid 2>/dev/null || true; pid=; }
# wrk thread t of 2 posts nights on days t, t + 2, t + 4, ... after 1900-01-01: never the same
# date twice, never in the future for fewer than 46,000 requests (past that, dates repeat and
# are refused as duplicates, which the round reports). Each thread builds its requests before
# the run (`init`), so that sending one costs wrk no more than the health route's fixed request:
# wrk shares the two cores with the server, and building each request in Lua as it is sent
# (date arithmetic, formatting) took it about 5 µs more per request, CPU the server then lacks.
cat > "$work/nights.lua" <<'LUA'
local thread_id = 0
setup = function(thread) thread:set("id", thread_id); thread_id = thread_id + 1 end
local per_thread = 23000
local requests = {}
local counter = 0
local function date_of(n)
  local t = os.time({year = 1970, month = 1, day = 1, hour = 12}) + (n - 25567) * 86400
  return os.date("!%Y-%m-%d", t)
end
init = function(args)
  for i = 0, per_thread - 1 do
    local n = id + 2 * i
    local body = string.format('{"date":"%s","severity":%d}', date_of(n), n % 11)
    requests[i] = wrk.format("POST", "/api/v1/nights", {["Content-Type"] = "application/json"}, body)
  end
end
request = function()
  local r = requests[counter % per_thread]
  counter = counter + 1
  return r
end
LUA
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $conns connections, ${secs}s × $rounds rounds, 2 wrk threads"
for round in $(seq "$rounds"); do
  start_server
  health=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$base/api/v1/health")
  nights=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/nights.lua" "$base")
  stored=$(curl -s "$base/api/v1/nights" | grep -o '"id"' | wc -l)
  stop_server
  rps() { grep "Requests/sec" | awk '{print $2}'; }
  p99() { grep " 99%" | awk '{print $2}'; }
  non2xx() { grep "Non-2xx" | awk '{print $NF}' || true; }
  h=$(rps <<<"$health")
  # Nights stored per second: the 201s only (a refused duplicate is cheaper than a night).
  refused=$(non2xx <<<"$nights")
  n=$(grep "requests in" <<<"$nights" | sed 's/,//' | awk -v refused="${refused:-0}" \
    '{ sub("s$", "", $4); printf "%.2f", ($1 - refused) / $4 }')
  ratio=$(awk -v n="$n" -v h="$h" 'BEGIN { printf "%.1f", 100 * n / h }')
  echo "$ratio" >> "$work/ratios"
  printf 'round %d: health %s req/s p99 %s | nights %s stored/s p99 %s, refused %s, stored %s | nights/health %s %%\n' \
    "$round" "$h" "$(p99 <<<"$health")" "$n" "$(p99 <<<"$nights")" \
    "${refused:-0}" "$stored" "$ratio"
done
sort -n "$work/ratios" | awk '{ r[NR] = $1 } END { m = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2; printf "nights/health over %d rounds: median %.1f %%, lowest %.1f %%, highest %.1f %%\n", NR, m, r[1], r[NR] }'

