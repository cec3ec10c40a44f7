//! The redactor alone against each planted corpus (tests/common/planted.rs, planted2.rs,
//! planted3.rs), with the checks of tests/common/corpus_check.rs: each secret in its context,
//! rendered as the member it would be in a bundle (a kubectl JSON list and its YAML, a log, an
//! `az` answer) and redacted with the shape that member's name gives; then every item together
//! in one bundle's members through one `Redactor`. Every needle of a secret (and its last 16
//! characters) must be gone (by its last 8 too, which is what is left when a redaction stops
//! early), every ordinary value must come out byte-identical, JSON must stay JSON and YAML must
//! stay YAML. Each check of each corpus is a test of its own (`corpus1::…`, `corpus2::…`,
//! `corpus3::…`); all failures of one are reported together.

mod common;

/// The four checks of tests/common/corpus_check.rs as tests of module `$m`, over corpus `$c`.
macro_rules! corpus_tests {
    ($m:ident, $c:ident) => {
        mod $m {
            use crate::common::corpus_check::{self as check, $c as corpus};

            #[test]
            fn corpus_is_large_and_sound() {
                check::corpus_is_large_and_sound(&corpus());
            }

            #[test]
            fn every_planted_secret_is_redacted_in_its_context() {
                check::every_planted_secret_is_redacted_in_its_context(&corpus());
            }

            #[test]
            fn every_ordinary_value_survives_byte_identical() {
                check::every_ordinary_value_survives_byte_identical(&corpus());
            }

            #[test]
            fn one_bundle_of_everything_through_one_redactor() {
                check::one_bundle_of_everything_through_one_redactor(&corpus());
            }
        }
    };
}

corpus_tests!(corpus1, first);
corpus_tests!(corpus2, second);
corpus_tests!(corpus3, third);
