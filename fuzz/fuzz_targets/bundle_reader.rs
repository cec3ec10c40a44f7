//! Raw archive bytes through the whole analyzer: read (tar / tar.gz), layout mapping, snapshot,
//! every rule, every report format. The first byte picks how the rest is fed: as-is (the fuzzer
//! mutates gzip, block gzip or tar bytes directly) or gzip'd / block gzip'd here first (so
//! mutations reach the tar layer).
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

fn sigs() -> &'static SignatureSet {
    static S: OnceLock<SignatureSet> = OnceLock::new();
    S.get_or_init(|| arcdiag::analyze::load_signatures(&[]).expect("built-in signatures"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let bytes = match mode & 3 {
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
        _ => rest.to_vec(),
    };
    let path = std::env::temp_dir().join(format!("arcdiag-fuzz-{}.bin", std::process::id()));
    if std::fs::write(&path, &bytes).is_err() {
        return;
    }
    let limits = Limits {
        max_member_bytes: 4 << 20,
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
