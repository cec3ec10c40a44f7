//! Arbitrary text as a `--rules` file: parse, compile, combine with the built-in signatures, and
//! match a few lines and messages with the result.

#![no_main]

use arcdiag::signatures::{parse_rules_file, Place, SignatureSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let codes = arcdiag::rules::rust_codes();
    if let Ok(sigs) = parse_rules_file("fuzz.yaml", text, &codes) {
        if let Ok(set) = SignatureSet::new(sigs) {
            let _ = set.match_text("Back-off pulling image \\\"x\\\" \\u0041", Place::Events);
            let _ = arcdiag::bundle::logscan::scan_buffer(
                b"a\nCrashLoopBackOff\n{\"m\":\"\\\"x\"}\n",
                1,
                &set.log,
                &arcdiag::bundle::logscan::Keep::default(),
            );
        }
    }
    let _ = SignatureSet::load(&[("fuzz.yaml".to_string(), text.to_string())], &codes);
});
