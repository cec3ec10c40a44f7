#!/usr/bin/env bash
# Fuzz arcdiag's parsers of untrusted input. Not part of CI.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     each named target (default: all) for SECONDS (default 300)
#
# The lead's long run on main, 30 minutes per target, one line:
#
#   fuzz/run.sh 1800
#
# Targets: bundle_reader (tar, tar.gz, block gzip, tar.zst, zip bytes through the whole analyzer),
# dir_bundle (a file tree with symlinks and hard links, materialised from the input, read as a
# directory bundle), rules_file (a --rules file), jsonpath (serve's printer-column paths),
# manifest_stream (a manifest read region by region against its whole text).
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). The stable toolchain is told to accept
# the nightly-only flags with RUSTC_BOOTSTRAP=1; no sanitizer (`-s none`), as the code is Rust
# but for libzstd. At the end it prints, per target, the executions run and any crash; crashes
# land in fuzz/artifacts/<target>/ (replay one: fuzz/run.sh replay <target> <file>); the corpus
# grows in fuzz/corpus/<target>/, seeded from the fixtures and the hostile tests' shapes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
export RUSTC_BOOTSTRAP=1
# rule_meta! includes its own source via CARGO_MANIFEST_DIR + file!(); built from the fuzz
# workspace, file!() is absolute, so map the crate root away to keep it relative.
export RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$root/="
cd "$root"
all=(bundle_reader dir_bundle rules_file jsonpath manifest_stream)

if [ "${1:-}" = replay ]; then
  cargo fuzz run --fuzz-dir "$here" -s none "$2" "$3"
  exit
fi
secs="${1:-300}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "unknown target '$t'; targets: ${all[*]}" >&2; exit 2; }
done

tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
seed_b="$here/corpus/bundle_reader"; seed_d="$here/corpus/dir_bundle"; seed_r="$here/corpus/rules_file"
seed_m="$here/corpus/manifest_stream"
mkdir -p "$seed_b" "$seed_d" "$seed_r" "$seed_m"
# manifest_stream seeds: every fixture manifest, in regions of 7 bytes and cut once.
for m in $(find fixtures -name manifest.json | head -40); do
  id="$(echo "$m" | tr '/' '_')"
  { printf '\x07\x00'; cat "$m"; } > "$seed_m/${id}7"
  { printf '\x00\x40'; cat "$m"; } > "$seed_m/${id}cut"
done
# bundle_reader seeds, the first byte the mode (0 raw bytes; 1 gzip, 2 block gzip, 3 zstd, 4 gzip
# with long header fields, of the tar that follows): every rule fixture as tar, tar.gz, block
# gzip, tar.zst and zip.
for d in fixtures/rules/*/*/; do
  id="$(echo "$d" | tr '/' '_')"
  # a case without its own manifest.json gets the default (tests/common/fixture.rs)
  [ -f "$d/manifest.json" ] || { rm -rf "$tmp/case"; cp -r "$d" "$tmp/case"; cp fixtures/rules/manifest.json "$tmp/case/"; d="$tmp/case/"; }
  tar -C "$d" -cf "$tmp/t.tar" . 2>/dev/null || continue
  { printf '\x00'; gzip -c "$tmp/t.tar"; } > "$seed_b/${id}gz"
  { printf '\x00'; cat "$tmp/t.tar"; } > "$seed_b/${id}tar"
  { printf '\x01'; cat "$tmp/t.tar"; } > "$seed_b/${id}z"
  { printf '\x02'; cat "$tmp/t.tar"; } > "$seed_b/${id}bz"
  { printf '\x03'; cat "$tmp/t.tar"; } > "$seed_b/${id}zs"
  { printf '\x04'; cat "$tmp/t.tar"; } > "$seed_b/${id}gh"
  if command -v zstd >/dev/null; then { printf '\x00'; zstd -q -c "$tmp/t.tar"; } > "$seed_b/${id}zst"; fi
  python3 - "$d" "$seed_b/${id}zip" "$seed_d/${id}dir" <<'PY'
import io, os, struct, sys, zipfile
src, out_zip, out_dir = sys.argv[1:4]
buf = io.BytesIO()
recs = bytearray()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    for d, _, fs in os.walk(src):
        for f in sorted(fs):
            p = os.path.join(d, f)
            rel = os.path.relpath(p, src)
            z.write(p, rel)
            data = open(p, "rb").read()[:65535]
            name = rel.encode()[:255]
            recs += bytes([0, len(name)]) + name + struct.pack("<H", len(data)) + data
open(out_zip, "wb").write(b"\x00" + buf.getvalue())
open(out_dir, "wb").write(bytes(recs))
PY
done
# block gzip as `arcdiag collect` writes it (bundle::gzblocks), 64 KiB members, as raw bytes
for t in "$seed_b"/*tar; do
  python3 - "$t" "${t%tar}bgz" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()[1:]
out = bytearray(b"\x00")
for i in range(0, max(len(data), 1), 65536):
    part = data[i:i + 65536]
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = c.compress(part) + c.flush()
    trailer = struct.pack("<II", zlib.crc32(part), len(part))
    head = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x08\x00AD\x04\x00"
    out += head + struct.pack("<I", 20 + len(body) + 8) + body + trailer
open(sys.argv[2], "wb").write(out)
PY
done
# The hostile shapes (tests/hostile.rs): sparse members (old GNU and PAX 1.0), hard and symbolic
# links (to earlier and later members, out, looping), a zip whose central directory lies
# (overlapping entries, past the end, encrypted, bzip2, wrong sizes and CRC, zip64), a gzip
# with a long comment; and for dir_bundle, trees with file links, folder links and loops.
base="fixtures/rules/K8S001/fires"
mkdir -p "$tmp/h/b" && cp -r "$base"/. "$tmp/h/b/"
truncate -s 8M "$tmp/h/b/sparse.log"; printf 'CrashLoopBackOff\n' | dd of="$tmp/h/b/sparse.log" bs=1 seek=4M conv=notrunc 2>/dev/null
ln -s kubectl/namespaces/flux-system/pods.json "$tmp/h/b/sym.json"
ln -s ../../../later.json "$tmp/h/b/kubectl/namespaces/flux-system/fwd.json"
ln "$tmp/h/b/kubectl/namespaces/flux-system/pods.json" "$tmp/h/b/hard.json"
ln -s ../../etc/passwd "$tmp/h/b/out.log"; ln -s loop2 "$tmp/h/b/loop1"; ln -s loop1 "$tmp/h/b/loop2"
echo '{}' > "$tmp/h/b/later.json"
{ printf '\x00'; tar -C "$tmp/h/b" --sparse --format=gnu -cf - .; } > "$seed_b/hostile_gnu_sparse_links"
{ printf '\x00'; tar -C "$tmp/h/b" --sparse --format=pax --sparse-version=1.0 -cf - .; } > "$seed_b/hostile_pax_sparse_links"
{ printf '\x01'; tar -C "$tmp/h/b" --sparse --format=pax --sparse-version=0.1 -cf - .; } > "$seed_b/hostile_pax01_sparse_gz"
python3 - "$base" "$seed_b" "$seed_d" <<'PY'
import os, struct, sys, zlib
base, out_b, out_d = sys.argv[1:4]
files = []
for d, _, fs in os.walk(base):
    for f in sorted(fs):
        p = os.path.join(d, f)
        files.append((os.path.relpath(p, base), open(p, "rb").read()))
# A zip that lies, byte by byte.
body, cd, n = bytearray(), bytearray(), 0
def local(name, method, crc, csize, usize, payload, flags=0):
    at = len(body)
    body.extend(b"PK\x03\x04\x14\x00" + struct.pack("<HHIIIIHH", flags, method, 0, crc, csize, usize, len(name), 0) + name + payload)
    return at
def central(name, method, crc, csize, usize, off, flags=0, extra=b"", attrs=0, host=0):
    global n
    cd.extend(b"PK\x01\x02" + struct.pack("<HHHHIIIIHHHHHII", 0x14 | host << 8, 0x14, flags, method, 0, crc, csize, usize, len(name), len(extra), 0, 0, 0, attrs, off) + name + extra)
    n += 1
for rel, data in files:
    c = zlib.compressobj(6, zlib.DEFLATED, -15); p = c.compress(data) + c.flush()
    name = rel.encode(); crc = zlib.crc32(data)
    at = local(name, 8, crc, len(p), len(data), p)
    central(name, 8, crc, len(p), len(data), at)
    central(b"overlap/" + name, 8, crc, len(p), len(data), at)
central(b"past-end.json", 8, 0, 10, 10, 1 << 30)
at = local(b"enc.json", 8, 0, 2, 2, b"\x03\x00", flags=1); central(b"enc.json", 8, 0, 2, 2, at, flags=1)
at = local(b"bz.json", 12, 0, 2, 2, b"BZ"); central(b"bz.json", 12, 0, 2, 2, at)
at = local(b"short.log", 0, 0, 4, 9, b"abcd"); central(b"short.log", 8, 0, 4, 9000, at)
at = local(b"crc.log", 0, 1, 4, 4, b"abcd"); central(b"crc.log", 0, 1, 4, 4, at)
at = local(b"z64.json", 0, zlib.crc32(b"{}"), 2, 2, b"{}")
central(b"z64.json", 0, zlib.crc32(b"{}"), 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, extra=struct.pack("<HHQQQ", 1, 24, 2, 2, at))
at = local(b"link.json", 0, 0, 3, 3, b"../"); central(b"link.json", 0, 0, 3, 3, at, attrs=0o120777 << 16, host=3)
cd_at = len(body)
z = bytes(body) + bytes(cd) + b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, n, n, len(cd), cd_at, 0)
open(os.path.join(out_b, "hostile_lying_zip"), "wb").write(b"\x00" + z)
# A gzip with a 200 KB comment, of a tar of the base files, as raw bytes.
import tarfile, io
t = io.BytesIO()
with tarfile.open(fileobj=t, mode="w") as tf:
    for rel, data in files:
        ti = tarfile.TarInfo(rel); ti.size = len(data); tf.addfile(ti, io.BytesIO(data))
raw = t.getvalue(); c = zlib.compressobj(6, zlib.DEFLATED, -15)
g = b"\x1f\x8b\x08\x10\x00\x00\x00\x00\x00\xff" + b"c" * 200000 + b"\x00" + c.compress(raw) + c.flush() + struct.pack("<II", zlib.crc32(raw), len(raw))
open(os.path.join(out_b, "hostile_gzip_comment"), "wb").write(b"\x00" + g)
# dir_bundle: the base files, and links: to a file, to a folder, a loop, out, a fan-out, hard.
def rec(kind, name, body):
    name = name.encode()[:255]; body = body[:65535]
    return bytes([kind, len(name)]) + name + struct.pack("<H", len(body)) + body
recs = b"".join(rec(0, r, d) for r, d in files)
links = rec(2, "sym.json", b"kubectl/namespaces/flux-system/pods.json") + rec(2, "dirlink", b"kubectl") \
    + rec(2, "l1", b"l2") + rec(2, "l2", b"l1") + rec(2, "out.log", b"../../../etc/passwd") \
    + b"".join(rec(2, "fan/f%d" % i, b"../logs") for i in range(20)) \
    + b"".join(rec(2, "kubectl/namespaces/n%d/pods.json" % i, b"../flux-system/pods.json") for i in range(20)) \
    + rec(3, "hard.json", b"kubectl/namespaces/flux-system/pods.json") + rec(1, "empty/folder", b"")
open(os.path.join(out_d, "hostile_links"), "wb").write(recs + links)
PY
for f in src/rules/*/signatures.yaml; do
  cp "$f" "$seed_r/$(echo "$f" | tr '/' '_')"
done
# JSONPath seeds: the printer-column paths of the CRDs in the fixtures.
seed_j="$here/corpus/jsonpath"; mkdir -p "$seed_j"
grep -rhoE '"jsonPath": *"[^"]*"' fixtures 2>/dev/null | sed -E 's/.*: *"//; s/"$//' | sort -u | \
  while IFS= read -r p; do printf '%s' "$p" > "$seed_j/$(printf '%s' "$p" | md5sum | cut -c1-16)"; done  || true

summary=()
status=0
for t in "${targets[@]}"; do
  echo "== $t: ${secs}s"
  log="$tmp/$t.log"
  set +e
  cargo fuzz run --fuzz-dir "$here" -s none "$t" "$here/corpus/$t" -- \
    -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=1048576 \
    -print_final_stats=1 2>&1 | tee "$log" | \
    grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|==[0-9]+==|SUMMARY|.*(panicked|deadly signal|Test unit written|out-of-memory))'
  rc=${PIPESTATUS[0]}
  set -e
  execs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)"
  crash="$(grep -oE 'Test unit written to [^ ]+' "$log" | sed 's/Test unit written to //' | tr '\n' ' ' || true)"
  if [ "$rc" -ne 0 ] || [ -n "$crash" ]; then status=1; fi
  summary+=("$t: ${execs:-?} executions in ${secs}s, exit $rc${crash:+, crash: $crash}")
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$status"
