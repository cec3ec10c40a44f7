#!/usr/bin/env bash
# Benchmark `arcdiag serve` against a static server handing out the same bytes, in one run.
#
#   bench/serve.sh [-n REPS] BUNDLE_DIR
#
# BUNDLE_DIR was written by `cargo run --release --example gen_bundle -- --pods 50000 ... --out DIR`.
# Serves DIR/bundle.tar.gz, fetches once (to learn the bytes) the pods Table (what `kubectl get`
# asks for), the pods JSON list and a label-selected list (`app.kubernetes.io/name=web`), and
# writes them to files a static server (python3 -m http.server, the floor) hands out. Then, REPS
# times (default 5), interleaved so machine load hits all alike:
#   table / table-floor, list / list-floor, label / label-floor (curl, wall seconds), and
#   kubectl get pods -A (pages of 500, as kubectl asks) into /dev/null, against serve and against
#   bench/replay.py handing out the answers it recorded of one kubectl run through it (its
#   discovery, each page and continue token: the same requests, nothing computed);
# prints the medians and the ratios to the floor. Then the server's RSS: idle (after loading,
# against the bundle's uncompressed object bytes, the kubectl/ members) and the peak while 20
# clients fetch the full JSON list at once (sampled every 20 ms, against idle).
set -euo pipefail
reps=5
if [[ "${1:-}" == "-n" ]]; then reps=$2; shift 2; fi
if [[ $# -ne 1 ]]; then
  echo "usage: bench/serve.sh [-n REPS] BUNDLE_DIR" >&2
  exit 2
fi
dir=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
(cd "$root" && cargo build --release --quiet --bin arcdiag)
arcdiag=$root/target/release/arcdiag
kubectl=${KUBECTL:-kubectl}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
obj_bytes=$(tar tzvf "$dir/bundle.tar.gz" | awk '$6 ~ /(^|\/)kubectl\// {s += $3} END {print s}')
log_bytes=$(tar tzvf "$dir/bundle.tar.gz" | awk '$6 ~ /(^|\/)logs\// {s += $3} END {print s}')
echo "bundle: $dir/bundle.tar.gz; object bytes (kubectl/) $obj_bytes, log bytes $log_bytes"

t0=$(date +%s.%N)
"$arcdiag" serve "$dir/bundle.tar.gz" --port 0 --kubeconfig "$tmp/kc" > "$tmp/serve.out" 2> "$tmp/serve.err" &
spid=$!
pids+=("$spid")
until [[ -s "$tmp/serve.out" ]]; do
  kill -0 "$spid" 2>/dev/null || { echo "serve failed: $(cat "$tmp/serve.err")" >&2; exit 1; }
  sleep 0.1
done
t1=$(date +%s.%N)
port=$(sed -n 's/.*server: http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/kc")
echo "serve: loaded in $(echo "$t1 - $t0" | bc) s, port $port"
sleep 2
rss() { awk '/VmRSS/ {print $2}' "/proc/$spid/status"; }
idle=$(rss)

url=http://127.0.0.1:$port
table_accept='Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json'
label='labelSelector=app.kubernetes.io%2Fname%3Dweb'
mkdir -p "$tmp/www"
curl -sf -H "$table_accept" "$url/api/v1/pods" -o "$tmp/www/table.json"
curl -sf "$url/api/v1/pods" -o "$tmp/www/list.json"
curl -sf "$url/api/v1/pods?$label" -o "$tmp/www/label.json"
for f in table list label; do echo "$f: $(stat -c %s "$tmp/www/$f.json") bytes"; done
(cd "$tmp/www" && exec python3 -u -m http.server --bind 127.0.0.1 0 > "$tmp/floor.out" 2>&1) &
pids+=("$!")
until grep -q 'port' "$tmp/floor.out" 2>/dev/null; do sleep 0.1; done
fport=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$tmp/floor.out" | head -1)
furl=http://127.0.0.1:$fport

# kubectl's floor: record one `kubectl get pods -A` through a proxy, then replay it.
# wait_port FILE: the port a helper printed as "port N"
wait_port() { until grep -q '^port ' "$1" 2>/dev/null; do sleep 0.1; done; sed -n 's/^port //p' "$1"; }
python3 -u "$root/bench/replay.py" record "$url" "$tmp/rec" > "$tmp/rec.out" 2> "$tmp/rec.err" &
pids+=("$!")
rport=$(wait_port "$tmp/rec.out")
sed "s/127.0.0.1:$port/127.0.0.1:$rport/" "$tmp/kc" > "$tmp/kc-rec"
KUBECONFIG=$tmp/kc-rec "$kubectl" --cache-dir "$tmp/cache-rec" get pods -A > "$tmp/kubectl-rec.out"
python3 -u "$root/bench/replay.py" replay "$tmp/rec" > "$tmp/rep.out" 2> "$tmp/rep.err" &
pids+=("$!")
pport=$(wait_port "$tmp/rep.out")
sed "s/127.0.0.1:$port/127.0.0.1:$pport/" "$tmp/kc" > "$tmp/kc-rep"
echo "kubectl get pods -A: $(grep -c . "$tmp/kubectl-rec.out") lines, $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$tmp/rec/index.json") requests recorded"
# Warm both discovery caches, and check the replay gives kubectl the same output.
KUBECONFIG=$tmp/kc "$kubectl" --cache-dir "$tmp/cache-serve" get pods -A > /dev/null
KUBECONFIG=$tmp/kc-rep "$kubectl" --cache-dir "$tmp/cache-rep" get pods -A > "$tmp/kubectl-rep.out"
cmp -s "$tmp/kubectl-rec.out" "$tmp/kubectl-rep.out" || { echo "the replay does not give kubectl the same output" >&2; exit 1; }

t() { curl -sf -o /dev/null -w '%{time_total}\n' "$@"; }
for _ in $(seq "$reps"); do
  t -H "$table_accept" "$url/api/v1/pods" >> "$tmp/table.t"
  t "$furl/table.json" >> "$tmp/table-floor.t"
  t "$url/api/v1/pods" >> "$tmp/list.t"
  t "$furl/list.json" >> "$tmp/list-floor.t"
  t "$url/api/v1/pods?$label" >> "$tmp/label.t"
  t "$furl/label.json" >> "$tmp/label-floor.t"
  s=$(date +%s.%N)
  KUBECONFIG=$tmp/kc "$kubectl" --cache-dir "$tmp/cache-serve" get pods -A > /dev/null
  e=$(date +%s.%N)
  echo "$e - $s" | bc >> "$tmp/kubectl.t"
  s=$(date +%s.%N)
  KUBECONFIG=$tmp/kc-rep "$kubectl" --cache-dir "$tmp/cache-rep" get pods -A > /dev/null
  e=$(date +%s.%N)
  echo "$e - $s" | bc >> "$tmp/kubectl-floor.t"
done
if [[ -s $tmp/rep.err ]]; then echo "the replay missed requests:" >&2; cat "$tmp/rep.err" >&2; exit 1; fi
median() { sort -g "$1" | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
printf '%-22s %10s %10s %8s\n' what "serve s" "floor s" ratio
for f in table list label; do
  a=$(median "$tmp/$f.t"); b=$(median "$tmp/$f-floor.t")
  printf '%-22s %10.3f %10.3f %8.2f\n' "$f" "$a" "$b" "$(echo "$a / $b" | bc -l)"
done
k=$(median "$tmp/kubectl.t"); kf=$(median "$tmp/kubectl-floor.t")
printf '%-22s %10.3f %10.3f %8.2f  (floor: kubectl against the replay of its own requests)\n' "kubectl get pods -A" "$k" "$kf" "$(echo "$k / $kf" | bc -l)"

echo "idle RSS: $((idle / 1024)) MiB = $(echo "scale=2; $idle * 1024 / $obj_bytes" | bc) x the object bytes"
peak=$idle
cpids=()
for _ in $(seq 20); do curl -sf -o /dev/null "$url/api/v1/pods" & cpids+=("$!"); done
alive() { for p in "${cpids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
while alive; do
  r=$(rss); (( r > peak )) && peak=$r
  sleep 0.02
done
echo "20 concurrent full lists: peak RSS $((peak / 1024)) MiB, +$(((peak - idle) / 1024)) MiB over idle"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
