#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 300). Not part of CI.
# Needs cargo-fuzz (`cargo install cargo-fuzz`). The stable toolchain is told to accept the
# nightly-only sanitizer flags with RUSTC_BOOTSTRAP=1.
# Findings land in fuzz/artifacts/<target>/; the corpus grows in fuzz/corpus/<target>/.
set -euo pipefail
secs="${1:-300}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
export RUSTC_BOOTSTRAP=1
# rule_meta! includes its own source via CARGO_MANIFEST_DIR + file!(); built from the fuzz
# workspace, file!() is absolute, so map the crate root away to keep it relative.
export RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$root/="
cd "$root"

# Seeds: the rule fixtures as tar and tar.gz (mode byte 0 = raw bytes), and as tar to be gzip'd
# by the target (mode byte 1); the built-in signature files for the rules parser.
seed_b="$here/corpus/bundle_reader"; seed_r="$here/corpus/rules_file"
mkdir -p "$seed_b" "$seed_r"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
for d in fixtures/rules/*/*/; do
  id="$(echo "$d" | tr '/' '_')"
  # a case without its own manifest.json gets the default (tests/common/fixture.rs)
  [ -f "$d/manifest.json" ] || { rm -rf "$tmp/case"; cp -r "$d" "$tmp/case"; cp fixtures/rules/manifest.json "$tmp/case/"; d="$tmp/case/"; }
  tar -C "$d" -cf "$tmp/t.tar" . 2>/dev/null || continue
  { printf '\x00'; gzip -c "$tmp/t.tar"; } > "$seed_b/${id}gz"
  { printf '\x00'; cat "$tmp/t.tar"; } > "$seed_b/${id}tar"
  { printf '\x01'; cat "$tmp/t.tar"; } > "$seed_b/${id}z"
  { printf '\x02'; cat "$tmp/t.tar"; } > "$seed_b/${id}bz"
  # block gzip as `arcdiag collect` writes it (bundle::gzblocks), 64 KiB members, as raw bytes
  python3 - "$tmp/t.tar" "$seed_b/${id}bgz" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
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
for f in src/rules/*/signatures.yaml; do
  cp "$f" "$seed_r/$(echo "$f" | tr '/' '_')"
done
# JSONPath seeds: the printer-column paths of the CRDs in the fixtures.
seed_j="$here/corpus/jsonpath"; mkdir -p "$seed_j"
grep -rhoE '"jsonPath": *"[^"]*"' fixtures 2>/dev/null | sed -E 's/.*: *"//; s/"$//' | sort -u | \
  while IFS= read -r p; do printf '%s' "$p" > "$seed_j/$(printf '%s' "$p" | md5sum | cut -c1-16)"; done

for t in bundle_reader rules_file jsonpath; do
  echo "== $t: ${secs}s"
  cargo fuzz run --fuzz-dir "$here" -s none "$t" "$here/corpus/$t" -- \
    -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=1048576 \
    -print_final_stats=1
done
