//! serde_json over a member's bytes: read as `&str` when the bytes are UTF-8, as bytes otherwise.
//! serde_json checks each string's UTF-8 as it reads it from bytes (every map key of every pod);
//! from a `&str` checked once up front it does not, which makes the typed parse of a pod list
//! about a fifth faster (BENCHMARKS.md, issue 22). Both read the same values and fail with the
//! same errors at the same places on UTF-8 text; bytes that are not UTF-8 are read as before.
//!
//! Knows nothing of what is parsed.

use serde::de::{DeserializeOwned, DeserializeSeed};
use serde_json::de::Read;
use serde_json::Deserializer;

/// Deserialize all of `data` with `seed` (trailing characters other than whitespace are an
/// error, as in `serde_json::from_slice`).
pub fn seed<'de, S: DeserializeSeed<'de>>(data: &'de [u8], seed: S) -> serde_json::Result<S::Value> {
    fn all<'de, R: Read<'de>, S: DeserializeSeed<'de>>(
        mut de: Deserializer<R>,
        seed: S,
    ) -> serde_json::Result<S::Value> {
        let v = seed.deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }
    match std::str::from_utf8(data) {
        Ok(text) => all(Deserializer::from_str(text), seed),
        Err(_) => all(Deserializer::from_slice(data), seed),
    }
}

/// `serde_json::from_slice`, read from a `&str` when `data` is UTF-8.
pub fn from_bytes<T: DeserializeOwned>(data: &[u8]) -> serde_json::Result<T> {
    seed(data, std::marker::PhantomData::<T>)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn text_and_bytes_read_alike() {
        let cases: [&[u8]; 6] = [
            br#"{"a": [1, 2.5, "x\u00e9"], "b": null}"#,
            b"{\"a\": \"caf\xc3\xa9\"}",
            b"{\"a\": \"\xff\"}",
            br#"{"a": 1} x"#,
            br#"{"a": "\ud800"}"#,
            br#"[1, 2"#,
        ];
        for c in cases {
            let ours = from_bytes::<Value>(c).map_err(|e| e.to_string());
            let theirs = serde_json::from_slice::<Value>(c).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(c));
        }
    }
}
