#!/usr/bin/env bash
# Load benchmark of the web API on loopback (wrk): POST /api/v1/nights (each request stores a new
# night in its own transaction, fsync'd) beside GET /api/v1/health (no store) in the same run.
# Usage: tools/bench/web_load.sh [seconds] [connections]    (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
conns=${2:-64}
cargo build --quiet --release -p quietlegs
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
env -u QUIETLEGS_TODAY target/release/quietlegs serve --db "$work/bench.sqlite3" --addr 127.0.0.1:0 2> "$work/serve.log" &
pid=$!
for _ in $(seq 50); do grep -q "http://" "$work/serve.log" && break; sleep 0.1; done
base=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log")
# Every request a different past date (one night per date), from 1900-01-01 on.
cat > "$work/nights.lua" <<'LUA'
local counter = 0
local thread_id = 0
setup = function(thread) thread:set("id", thread_id); thread_id = thread_id + 1 end
init = function(args) counter = id * 1000000 end
local function date_of(n)
  -- days after 1900-01-01 (proleptic Gregorian), good for n < 45000
  local t = os.time({year = 1970, month = 1, day = 1, hour = 12}) + (n - 25567) * 86400
  return os.date("!%Y-%m-%d", t)
end
request = function()
  counter = counter + 1
  local n = (counter % 1000000) + (id * 20000)
  local body = string.format('{"date":"%s","severity":%d}', date_of(n), n % 11)
  return wrk.format("POST", "/api/v1/nights", {["Content-Type"] = "application/json"}, body)
end
LUA
echo "machine: $(nproc) cores, $(uname -sr); $conns connections, ${secs}s each, 2 wrk threads"
echo "== GET /api/v1/health (no store)"
wrk -t2 -c"$conns" -d"${secs}s" --latency "$base/api/v1/health" | grep -E "Requests/sec|99%|Non-2xx"
echo "== POST /api/v1/nights (a new night per request)"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/nights.lua" "$base" | grep -E "Requests/sec|99%|Non-2xx"
echo "nights stored: $(curl -s "$base/api/v1/nights" | grep -o '"id"' | wc -l)"
