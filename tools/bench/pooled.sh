#!/usr/bin/env bash
# Bench of `quietlegs series analyze` against lme4 and statsmodels on the same CSVs, in the same
# run (docs/performance.md, "Pooled series"). Whole processes are timed (reading the CSV
# included) with /usr/bin/time -v, which also gives the peak memory (maximum resident set).
#
# Needs: apt-get install -y r-cran-lme4; pip install statsmodels pandas numpy.
# Usage: tools/bench/pooled.sh [SIZES...]   (default: 5000 10000 participants, 112 nights)
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -q -p quietlegs
BIN=$CARGO_TARGET_DIR/release/quietlegs
WORK=${WORK:-$(mktemp -d)}
NIGHTS=112
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(5000 10000)

# run NAME OUTFILE CMD...: prints "NAME seconds peak_MiB"; figures go to OUTFILE.
run() {
  local name=$1 out=$2; shift 2
  /usr/bin/time -v -o "$WORK/$name.time" "$@" > "$out"
  local secs mem
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$WORK/$name.time")
  mem=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$WORK/$name.time")
  echo "$name $secs $mem"
}

echo "machine: $(nproc) vCPU $(lscpu | awk -F': +' '/Model name/ {print $2}'), $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD)"
for people in "${sizes[@]}"; do
  csv=$WORK/pooled_${people}x${NIGHTS}.csv
  python3 tools/bench/pooled_gen.py "$people" "$NIGHTS" "$csv"
  echo "== $people participants x $NIGHTS nights: $(($(wc -l < "$csv") - 1)) rows, $(du -h "$csv" | cut -f1)"
  q=$(run quietlegs "$WORK/q.json" "$BIN" series analyze --csv "$csv" --control placebo --json)
  l=$(run lme4 "$WORK/l.txt" Rscript tools/bench/pooled_lme4.R "$csv")
  s=$(run statsmodels "$WORK/s.txt" python3 tools/bench/pooled_statsmodels.py "$csv")
  python3 - "$WORK" "$q" "$l" "$s" <<'PY'
import json, sys
work = sys.argv[1]
times = {line.split()[0]: (float(line.split()[1]), int(line.split()[2])) for line in sys.argv[2:]}
ours = json.load(open(f"{work}/q.json"))["models"]["random_slope"]
def peer(name):
    vals, warns = {}, []
    for line in open(f"{work}/{name}"):
        k, _, v = line.strip().partition(" ")
        if k == "warning":
            warns.append(v)
        else:
            vals[k] = float(v)
    return vals, warns
peers = {"lme4": peer("l.txt"), "statsmodels": peer("s.txt")}
q_t, q_m = times["quietlegs"]
print(f"| tool | wall s | peak MiB | speed-up of quietlegs |")
print(f"|---|---|---|---|")
print(f"| quietlegs series analyze (both models, BLUPs) | {q_t:.2f} | {q_m} | 1 |")
for name in ("lme4", "statsmodels"):
    t, m = times[name]
    print(f"| {name} (random slope only) | {t:.2f} | {m} | {t / q_t:.0f}x |")
print()
def sig4(x):
    return f"{x:.4g}"
keys = ["effect", "se", "tau2_intercept", "tau2_slope", "cov_intercept_slope", "sigma2", "loglik"]
print("| figure | quietlegs | lme4 | statsmodels | same to 4 significant digits |")
print("|---|---|---|---|---|")
for k in keys:
    o = ours[k]
    l = peers["lme4"][0][k]
    s = peers["statsmodels"][0][k]
    same = ("lme4 yes" if sig4(o) == sig4(l) else f"lme4 NO (rel {abs(o-l)/abs(l):.1e})") + ", " + \
           ("statsmodels yes" if sig4(o) == sig4(s) else f"statsmodels NO (rel {abs(o-s)/abs(s):.1e})")
    print(f"| {k} | {o:.8g} | {l:.8g} | {s:.8g} | {same} |")
print(f"\nquietlegs: converged {ours['convergence']['converged']}, gradient {ours['convergence']['gradient_norm']:.1e} <= {ours['convergence']['gradient_tolerance']}, {ours['convergence']['iterations']} iterations, singular {ours['singular']}")
for name, (_, warns) in peers.items():
    for w in warns:
        print(f"{name} warning: {w}")
PY
done
