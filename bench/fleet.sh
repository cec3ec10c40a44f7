#!/usr/bin/env bash
# Benchmark `arcdiag analyze --format jsonl` over many bundles (issue 21), in one run:
#
#   bench/fleet.sh [-n SMALL] [-m LARGE] DATA_DIR
#
# (1) SMALL (default 1000) small generated bundles (gen_bundle --size 1MiB --pods 50 --events 50,
#     one seed each), analyzed by one `analyze --format jsonl` with --jobs 1 and with the default
#     --jobs: wall time, bundles per second, peak RSS.
# (2) the 1 GiB bundle (gen_bundle --size 1GiB --pods 20000 --events 20000) LARGE (default 20)
#     times: LARGE single `analyze --format jsonl` runs one after the other, against one run over
#     the same path given LARGE times (disk is limited: one bundle stands for LARGE uploads), the two
#     interleaved in halves (singles, fleet, singles, fleet) so load hits both alike. Prints the
#     ratio fleet / sum of singles and both peak RSS.
# Bundles are generated under DATA_DIR when missing (and left there: delete DATA_DIR after).
# Builds in release first; needs GNU time at /usr/bin/time. Prints the load average as it goes.
set -euo pipefail
small=1000
large=20
while [[ "${1:-}" == -* ]]; do
  case $1 in
    -n) small=$2; shift 2 ;;
    -m) large=$2; shift 2 ;;
    *) echo "usage: bench/fleet.sh [-n SMALL] [-m LARGE] DATA_DIR" >&2; exit 2 ;;
  esac
done
[[ $# -eq 1 ]] || { echo "usage: bench/fleet.sh [-n SMALL] [-m LARGE] DATA_DIR" >&2; exit 2; }
data=$1
root=$(cd "$(dirname "$0")/.." && pwd)
(cd "$root" && cargo build --release --quiet --bin arcdiag --example gen_bundle)
arcdiag=$root/target/release/arcdiag
gen=$root/target/release/examples/gen_bundle
[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }
mkdir -p "$data/small"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for i in $(seq 1 "$small"); do
  n=$(printf %04d "$i")
  [[ -f $data/small/b-$n.tar.gz ]] && continue
  "$gen" --size 1MiB --pods 50 --events 50 --seed "$i" --out "$tmp/g" >/dev/null
  mv "$tmp/g/bundle.tar.gz" "$data/small/b-$n.tar.gz"
done
if [[ ! -f $data/1g/bundle.tar.gz ]]; then
  "$gen" --size 1GiB --pods 20000 --events 20000 --out "$data/1g" >/dev/null
fi

# timed OUT CMD...: "seconds peak_kib" of CMD (exit 0 or 1 accepted: findings are not a failure).
timed() {
  local out=$1; shift
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" > "$out" 2> "$tmp/err" || {
    local rc=$?
    [[ $rc -eq 1 ]] || { echo "failed ($rc): $* : $(tail -n 3 "$tmp/err")" >&2; exit 1; }
  }
  tail -n 1 "$tmp/time"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
mapfile -t bundles < <(ls "$data"/small/b-*.tar.gz | head -n "$small")
echo "== $small small bundles ($(du -sh "$data/small" | cut -f1) compressed)"
for jobs in 1 default; do
  extra=(); [[ $jobs == default ]] || extra=(--jobs "$jobs")
  read -r t m < <(timed "$tmp/small.$jobs.jsonl" "$arcdiag" analyze --format jsonl "${extra[@]}" "${bundles[@]}")
  lines=$(grep -c '"type":"bundle"' "$tmp/small.$jobs.jsonl")
  [[ $lines -eq $small ]] || { echo "expected $small bundle lines, got $lines" >&2; exit 1; }
  awk -v t="$t" -v m="$m" -v n="$small" -v j="$jobs" \
    'BEGIN { printf "--jobs %-7s %7.2f s  %7.1f bundles/s  peak RSS %6.1f MiB\n", j, t, n / t, m / 1024 }'
done
cmp -s "$tmp/small.1.jsonl" "$tmp/small.default.jsonl" && echo "output byte-identical for --jobs 1 and the default"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"

big=$data/1g/bundle.tar.gz
echo "== the 1 GiB bundle ($(du -h "$big" | cut -f1) compressed) x $large"
half=$((large / 2))
singles=0; fleet=0; single_peak=0; fleet_peak=0
for round in 1 2; do
  n=$half; [[ $round -eq 2 ]] && n=$((large - half))
  for _ in $(seq 1 "$n"); do
    read -r t m < <(timed /dev/null "$arcdiag" analyze --format jsonl "$big")
    singles=$(awk -v a="$singles" -v b="$t" 'BEGIN { print a + b }')
    (( m > single_peak )) && single_peak=$m
  done
  args=(); for _ in $(seq 1 "$n"); do args+=("$big"); done
  read -r t m < <(timed /dev/null "$arcdiag" analyze --format jsonl "${args[@]}")
  fleet=$(awk -v a="$fleet" -v b="$t" 'BEGIN { print a + b }')
  (( m > fleet_peak )) && fleet_peak=$m
  echo "round $round ($n + $n): load $(cut -d' ' -f1-3 /proc/loadavg)"
done
awk -v s="$singles" -v f="$fleet" -v n="$large" -v sp="$single_peak" -v fp="$fleet_peak" 'BEGIN {
  printf "%d single runs: %7.1f s (%.2f s each)  peak RSS %6.1f MiB\n", n, s, s / n, sp / 1024
  printf "one jsonl run:  %7.1f s (%.2f s each)  peak RSS %6.1f MiB\n", f, f / n, fp / 1024
  printf "jsonl / singles: %.3f\n", f / s
}'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
