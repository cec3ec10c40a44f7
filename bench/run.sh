#!/usr/bin/env bash
# Benchmark `arcdiag analyze` against the decompression floor and the grep way, in one run.
#
#   bench/run.sh [-n REPS] [-B BASELINE_ARCDIAG] BUNDLE_DIR...
#
# Each BUNDLE_DIR was written by `cargo run --release --example gen_bundle -- ... --out DIR` and
# holds bundle.tar.gz, expected.json and patterns.ere. For each bundle, the three commands run
# interleaved (a b c, a b c, ...) REPS times (default 5), so machine load hits all three alike:
#   (a) floor:   target/release/examples/floor bundle.tar.gz   (flate2/zlib-rs + tar, members discarded)
#   (b) analyze: target/release/arcdiag analyze --format json bundle.tar.gz
#   (c) grep:    gzip -dc bundle.tar.gz | grep -E -c -f patterns.ere
# and the script prints the medians, b/a, c/b, and b's peak RSS (max over the repetitions,
# from /usr/bin/time -v, or from bash's getrusage-based `times` fallback when GNU time is absent).
# It also checks that b's findings are exactly expected.json's. With -B, another arcdiag binary
# (an older build, copied aside) runs as (z) right after (b) in every round, for a before/after
# table measured in the same run: its median, z/a, its peak RSS and its findings are printed too.
# Builds in release first. Prints the load average before and after each bundle.
set -euo pipefail
reps=5
base=
while [[ "${1:-}" == -* ]]; do
  case $1 in
    -n) reps=$2; shift 2 ;;
    -B) base=$(realpath "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ $# -eq 0 ]]; then
  echo "usage: bench/run.sh [-n REPS] [-B BASELINE_ARCDIAG] BUNDLE_DIR..." >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
(cd "$root" && cargo build --release --quiet --bin arcdiag --example floor)
floor=$root/target/release/examples/floor
arcdiag=$root/target/release/arcdiag
[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run LABEL CMD...: wall seconds and max RSS (KiB) appended to $tmp/LABEL.{t,m}
run() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$tmp/one" "$@" > "$tmp/out.$label" 2> "$tmp/err.$label" || {
    local rc=$?
    # analyze exits 1 when it has findings; anything else is a failure
    if [[ ($label != b && $label != z) || $rc -ne 1 ]]; then echo "$label failed ($rc): $(cat "$tmp/err.$label")" >&2; exit 1; fi
  }
  read -r t m < <(tail -n 1 "$tmp/one")
  echo "$t" >> "$tmp/$label.t"; echo "$m" >> "$tmp/$label.m"
}
median() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
maxof() { sort -g "$1" | tail -1; }

printf '%-28s %9s %9s %9s %8s %8s %10s %s\n' bundle "floor(a)" "analyze(b)" "grep(c)" "b/a" "c/b" "b peakRSS" "findings"
for dir in "$@"; do
  b=$dir/bundle.tar.gz
  rm -f "$tmp"/*.t "$tmp"/*.m
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  cat "$b" > /dev/null  # page cache
  for ((i = 0; i < reps; i++)); do
    run a "$floor" "$b"
    run b "$arcdiag" analyze --format json "$b"
    if [[ -n $base ]]; then run z "$base" analyze --format json "$b"; fi
    run c bash -c 'gzip -dc "$1" | grep -E -a -c -f "$2" || true' _ "$b" "$dir/patterns.ere"
  done
  load1=$(cut -d' ' -f1-3 /proc/loadavg)
  # findings check: (code, subject) pairs and log evidence path:line must equal expected.json
  verdict_of() { python3 - "$1" "$dir/expected.json" <<'PY'
import json, sys
got = json.load(open(sys.argv[1]))
exp = json.load(open(sys.argv[2]))
def subj(s):
    return "/".join(x for x in (s["kind"], s.get("namespace"), s["name"]) if x)
def loc(e):
    if "line" in e: return f'{e["path"]}:{e["line"]}'
    return f'{e["path"]} ({e.get("object")} {e.get("field")})'
g = {(f["code"], subj(f["subject"])): {loc(e) for e in f["evidence"]} for f in got["findings"]}
x = {(f["code"], f["subject"]): set(f["evidence"]) for f in exp["findings"]}
bad = sorted(set(g) ^ set(x))
for k in set(g) & set(x):
    lines_g = {l for l in g[k] if not l.endswith(")")}
    lines_x = {l for l in x[k] if not l.endswith(")")}
    if lines_g != lines_x or not x[k] <= g[k]: bad.append(k)
print("exact" if not bad else "MISMATCH " + ", ".join("%s %s" % k for k in bad))
PY
  }
  verdict=$(verdict_of "$tmp/out.b")
  a=$(median "$tmp/a.t"); bm=$(median "$tmp/b.t"); c=$(median "$tmp/c.t")
  rss=$(maxof "$tmp/b.m")
  printf '%-28s %8ss %8ss %8ss %8s %8s %7s MB %s\n' "$(basename "$dir")" "$a" "$bm" "$c" \
    "$(awk -v x="$bm" -v y="$a" 'BEGIN{printf "%.2f", x/y}')" \
    "$(awk -v x="$c" -v y="$bm" 'BEGIN{printf "%.2f", x/y}')" \
    "$((rss / 1024))" "$verdict"
  if [[ -n $base ]]; then
    z=$(median "$tmp/z.t")
    printf '%-28s %8s  %8ss %8s %8s %8s %7s MB %s\n' "  baseline (z)" "" "$z" "" \
      "$(awk -v x="$z" -v y="$a" 'BEGIN{printf "%.2f", x/y}')" "z/b $(awk -v x="$z" -v y="$bm" 'BEGIN{printf "%.2f", x/y}')" \
      "$(($(maxof "$tmp/z.m") / 1024))" "$(verdict_of "$tmp/out.z")"
  fi
  echo "    load before ${load0}, after ${load1}; runs a: $(tr '\n' ' ' < "$tmp/a.t")b: $(tr '\n' ' ' < "$tmp/b.t")c: $(tr '\n' ' ' < "$tmp/c.t")${base:+z: $(tr '\n' ' ' < "$tmp/z.t" 2>/dev/null)}"
done
