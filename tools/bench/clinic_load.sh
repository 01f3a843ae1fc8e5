#!/usr/bin/env bash
# Load test of the clinic server on loopback (wrk): ONE `serve --clinic` instance against TWO
# instances on the same PostgreSQL database, alternating in the same run (one, two, one, two,
# ...), the same total connections and wrk threads in both. The load is a clinic's mix
# (tools/bench/clinic_load.lua): 4/8 of the requests log a new night for one of the
# participants (a person and date never sent twice), 3/8 read a participant's nights (a 31-day
# range), 1/8 read the clinician's dashboard (a report for each of the linked participants,
# every look appended to their audit log). Every participant's session is used through both
# instances at once in the two-instance runs.
#
# Usage: tools/bench/clinic_load.sh [seconds] [connections] [rounds] [participants]
#   defaults: 10 s per run, 64 connections, 3 rounds (each round one run of each), 31
#   participants (odd: see the Lua script). Needs wrk (apt-get install wrk), curl and psql.
# NO_BUILD=1 skips the release build; BIN=path runs another build. PG_URL names the server
# (default postgres://postgres@127.0.0.1:5432, trust auth): a fresh database is made there and
# dropped at the end. Traffic goes only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
conns=${2:-64}
rounds=${3:-3}
participants=${4:-31}
linked=5          # participants linked to the clinician, with 60 nights each (the dashboard)
span=4000         # days of dates each run may use (all runs: before today)
[ $((participants % 2)) -eq 1 ] || { echo "participants must be odd" >&2; exit 2; }
[ $((conns % 2)) -eq 0 ] || { echo "connections must be even (split between two instances)" >&2; exit 2; }
[ $((2 * rounds * span)) -le 45000 ] || { echo "at most 5 rounds (one date per person and day)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
[ -n "${NO_BUILD:-}" ] || cargo build --quiet --release -p quietlegs
bin=${BIN:-target/release/quietlegs}
pg=${PG_URL:-postgres://postgres@127.0.0.1:5432}
db="ql_clinic_load_$$"
url="$pg/$db"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql "$pg/postgres" -qc "CREATE DATABASE $db"
password="a long enough passphrase"
ql() { env -u QUIETLEGS_TODAY -u QUIETLEGS_DB -u QUIETLEGS_DATABASE_URL "$bin" --database-url "$url" "$@"; }
create_user() { echo "$password" | ql admin create-user --username "$1" --role "$2" 2>/dev/null; }

start_instance() { # name: starts it in the background (its request log in $work/name.log)
  env -u QUIETLEGS_TODAY -u QUIETLEGS_DB -u QUIETLEGS_DATABASE_URL "$bin" --database-url "$url" \
    serve --clinic --addr 127.0.0.1:0 > /dev/null 2> "$work/$1.log" &
  pids+=($!)
}
address_of() { # name: the address it listens on, once it does
  for _ in $(seq 100); do grep -q "http://" "$work/$1.log" && break; sleep 0.1; done
  grep -o 'http://127.0.0.1:[0-9]*' "$work/$1.log" | head -1
}

# The session cookie of a log-in (through instance $1).
login() {
  curl -fsS -o /dev/null -D - -H 'Content-Type: application/json' \
    -d "{\"username\":\"$2\",\"password\":\"$password\"}" "$1/api/v1/login" |
    grep -io 'ql_session=[0-9a-f]*' | cut -d= -f2
}

echo "setting up: $participants participants, a clinician linked to $linked more (60 nights each)"
create_user doc clinician
for i in $(seq "$participants"); do create_user "part$i" participant; done
for i in $(seq "$linked"); do create_user "linked$i" participant; done
start_instance a
start_instance b
a=$(address_of a)
b=$(address_of b)
[ -n "$a" ] && [ -n "$b" ] || { cat "$work"/*.log >&2; exit 1; }
for i in $(seq "$participants"); do login "$a" "part$i"; done > "$work/cookies"
doc=$(login "$b" doc)
echo "$doc" > "$work/clinician"
csrf=$(curl -fsS -o /dev/null -D - "$a/login" | grep -io 'ql_csrf=[0-9a-f]*' | cut -d= -f2)
today=$(date -u +%F)
for i in $(seq "$linked"); do
  token=$(curl -fsS -H "Cookie: ql_session=$doc; ql_csrf=$csrf" \
    --data "csrf=$csrf&label=linked$i" "$a/clinic/invitations" | grep -o '/invite/[0-9a-f]\{64\}' | head -1)
  cookie=$(login "$b" "linked$i")
  curl -fsS -o /dev/null -H "Cookie: ql_session=$cookie; ql_csrf=$csrf" --data "csrf=$csrf" "$b$token/accept"
  for d in $(seq 11 70); do
    curl -fsS -o /dev/null -H 'Content-Type: application/json' -H "Cookie: ql_session=$cookie" \
      -d "{\"date\":\"$(date -u -d "$today - $d days" +%F)\",\"severity\":$((d % 11)),\"sleep_quality\":6,\"hours_slept\":7}" \
      "$a/api/v1/nights"
  done
done
rows=$(curl -fsS -H "Cookie: ql_session=$doc" "$b/api/v1/clinic/dashboard" | grep -o '"participant"' | wc -l)
[ "$rows" -eq "$linked" ] || { echo "the dashboard has $rows rows, not $linked" >&2; exit 1; }

# CPU seconds used so far by the instances and by every PostgreSQL process on this machine
# (other users of the server included), from /proc.
tick=$(getconf CLK_TCK)
cpu_of() { cat "$@" 2>/dev/null | awk -v t="$tick" '{s += $14 + $15} END {printf "%.1f", s / t}'; }
cpu_now() {
  echo "$(cpu_of "/proc/${pids[0]}/stat" "/proc/${pids[1]}/stat") \
    $(cpu_of $(pgrep -x postgres | sed 's|.*|/proc/&/stat|'))"
}
cpu_used() { # before after -> "instances X s, PostgreSQL Y s"
  read -r i0 p0 <<<"$1"; read -r i1 p1 <<<"$2"
  awk -v i0="$i0" -v i1="$i1" -v p0="$p0" -v p1="$p1" \
    'BEGIN {printf "cpu: instances %.1f s, PostgreSQL %.1f s", i1 - i0, p1 - p0}'
}
rps() { grep "Requests/sec" | awk '{print $2}'; }
p99() { grep " 99%" | awk '{print $2}'; }
kinds() { grep "^kinds:" | cut -d' ' -f2-; }
run=0
echo "machine: $(nproc) cores, $(uname -sr); $conns connections and 2 wrk threads in both setups, ${secs}s a run"
for round in $(seq "$rounds"); do
  for setup in one two; do
    day0=$((run * span)); run=$((run + 1))
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    before=$(cpu_now)
    if [ $setup = one ]; then
      out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s tools/bench/clinic_load.lua "$a" \
        -- 0 2 "$day0" "$span" "$work/cookies" "$work/clinician")
      printf 'round %d, one instance (load %s): %s req/s, p99 %s | %s| %s\n' \
        "$round" "$load" "$(rps <<<"$out")" "$(p99 <<<"$out")" "$(kinds <<<"$out")" \
        "$(cpu_used "$before" "$(cpu_now)")"
    else
      wrk -t1 -c$((conns / 2)) -d"${secs}s" --latency -s tools/bench/clinic_load.lua "$a" \
        -- 0 2 "$day0" "$span" "$work/cookies" "$work/clinician" > "$work/wrk_a" &
      wa=$!
      wrk -t1 -c$((conns / 2)) -d"${secs}s" --latency -s tools/bench/clinic_load.lua "$b" \
        -- 1 2 "$day0" "$span" "$work/cookies" "$work/clinician" > "$work/wrk_b"
      wait $wa
      ra=$(rps < "$work/wrk_a"); rb=$(rps < "$work/wrk_b")
      printf 'round %d, two instances (load %s): %s req/s (A %s, p99 %s | %s; B %s, p99 %s | %s) | %s\n' \
        "$round" "$load" "$(awk "BEGIN {printf \"%.2f\", $ra + $rb}")" \
        "$ra" "$(p99 < "$work/wrk_a")" "$(kinds < "$work/wrk_a")" \
        "$rb" "$(p99 < "$work/wrk_b")" "$(kinds < "$work/wrk_b")" \
        "$(cpu_used "$before" "$(cpu_now)")"
    fi
  done
done
nights=$(psql "$url" -Atc "SELECT count(*) FROM night")
audit=$(psql "$url" -Atc "SELECT count(*) FROM audit")
echo "stored: $nights nights, $audit audit lines; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
