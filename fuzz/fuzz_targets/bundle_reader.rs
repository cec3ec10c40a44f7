//! Raw archive bytes through the whole analyzer: read (tar, tar.gz, tar.zst, zip), layout mapping,
//! snapshot, every rule, every report format. The first byte picks how the rest is fed: as-is
//! (the fuzzer mutates gzip, block gzip, zstd, zip or tar bytes directly: sparse members, links,
//! lying central directories), or gzip'd / block gzip'd / zstd-compressed here first (so
//! mutations reach the tar layer), or gzip'd behind a header with a long comment (our gzip
//! header reader).
//! Small bounds keep each run fast; a panic, a hang (libFuzzer -timeout) or memory past
//! -rss_limit_mb is a finding.

#![no_main]

use arcdiag::analyze::analyze_path;
use arcdiag::bundle::Limits;
use arcdiag::engine::Options;
use arcdiag::report::{json, markdown, text};
use arcdiag::signatures::SignatureSet;
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::sync::OnceLock;

/// Allocations counted as the binary counts them, so the bounds charged by what a parse keeps
/// (typed objects, parsed values: `arcdiag::memory::held`) are fuzzed as they run.
#[global_allocator]
static ALLOC: arcdiag::memory::Counting<std::alloc::System> = arcdiag::memory::Counting(std::alloc::System);

fn sigs() -> &'static SignatureSet {
    static S: OnceLock<SignatureSet> = OnceLock::new();
    S.get_or_init(|| arcdiag::analyze::load_signatures(&[]).expect("built-in signatures"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = match mode & 7 {
        1 => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let _ = e.write_all(rest);
            e.finish().unwrap_or_default()
        }
        2 => {
            let mut e = arcdiag::bundle::gzblocks::BlockGzWriter::new(Vec::new(), flate2::Compression::fast());
            let _ = e.write_all(rest);
            e.finish().unwrap_or_default()
        }
        3 => zstd::encode_all(rest, 1).unwrap_or_default(),
        4 => {
            // FNAME and FCOMMENT, each 70,000 bytes (past flate2's own 64 KiB header bound).
            let mut out = vec![0x1f, 0x8b, 8, 8 | 16, 0, 0, 0, 0, 0, 0xff];
            for _ in 0..2 {
                out.extend(std::iter::repeat_n(b'n', 70_000));
                out.push(0);
            }
            let mut e = flate2::write::DeflateEncoder::new(out, flate2::Compression::fast());
            let _ = e.write_all(rest);
            let mut out = e.finish().unwrap_or_default();
            let mut crc = flate2::Crc::new();
            crc.update(rest);
            out.extend_from_slice(&crc.sum().to_le_bytes());
            out.extend_from_slice(&(rest.len() as u32).to_le_bytes());
            out
        }
        _ => rest.to_vec(),
    };
    let path = std::env::temp_dir().join(format!("arcdiag-fuzz-{}.bin", std::process::id()));
    if std::fs::write(&path, &bytes).is_err() {
        return;
    }
    let limits = Limits {
        max_member_bytes: 4 << 20,
        max_parsed_bytes: 1 << 20,
        max_total_bytes: 32 << 20,
        max_members: 10_000,
        max_ratio: 200,
        progress: None,
    };
    let rules = arcdiag::rules::registry(sigs());
    if let Ok(r) = analyze_path(&path, &limits, sigs(), &rules, &Options::default()) {
        let reports = [r];
        let _ = json::render(&reports);
        let _ = text::render(&reports, false);
        let _ = markdown::render(&reports);
    }
});
