//! Member digests and the bundle's integrity: every member's sha256 is taken while it is read
//! (`Hashing` wraps the reader, so there is no second pass), and the digests the bundle records
//! (`steps[].sha256` in an arcdiag manifest, or the `sha256` map of the sidecar that
//! `arcdiag redact` writes beside another tool's members) are compared with them.
//!
//! Knows nothing of rules or reports; the layout hands it what the bundle records.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{self, Read};

/// The sidecar `arcdiag redact` adds to a bundle that has no arcdiag manifest.
pub const SIDECAR: &str = "arcdiag-redaction.json";

/// Lowercase hex sha256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    Sum::of(data).hex()
}

/// A member's sha256 as its 32 bytes: what the reader keeps per member (60,000 of them in a large
/// bundle; a hex `String` each was 64 bytes more on the heap, and a hex format per member).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sum(pub [u8; 32]);

impl Sum {
    pub fn of(data: &[u8]) -> Sum {
        Sum(Sha256::digest(data).into())
    }

    /// Lowercase hex.
    pub fn hex(&self) -> String {
        hex(&self.0)
    }

    /// The digest `hex` spells (64 hex digits, either case, as a bundle may record it); `None`
    /// for anything else, which then matches no member.
    pub fn parse_hex(hex: &str) -> Option<Sum> {
        fn nibble(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            }
        }
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (o, p) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            *o = nibble(p[0])? << 4 | nibble(p[1])?;
        }
        Some(Sum(out))
    }
}

impl std::fmt::Debug for Sum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.hex())
    }
}

fn hex(d: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(d.len() * 2);
    for b in d {
        s.push(H[usize::from(b >> 4)] as char);
        s.push(H[usize::from(b & 15)] as char);
    }
    s
}

/// A reader that hashes what passes through it.
pub struct Hashing<R> {
    inner: R,
    h: Sha256,
}

impl<R: Read> Hashing<R> {
    pub fn new(inner: R) -> Self {
        Hashing {
            inner,
            h: Sha256::new(),
        }
    }

    /// Read the rest through the hash; the digest of everything read.
    pub fn finish(mut self) -> io::Result<Sum> {
        io::copy(&mut self, &mut io::sink())?;
        Ok(Sum(self.h.finalize().into()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.h.update(&buf[..n]);
        Ok(n)
    }
}

/// Whether the bundle's members are the ones it recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Integrity {
    /// `verified`, `mismatch` or `unverifiable` (the bundle records no digests).
    pub state: &'static str,
    /// Members whose bytes differ from their recorded digest, or that are recorded but missing.
    pub mismatched: Vec<String>,
    /// Members the record does not list (the manifest itself and the sidecar excepted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unlisted: Vec<String>,
}

impl Integrity {
    pub fn unverifiable() -> Integrity {
        Integrity {
            state: "unverifiable",
            ..Integrity::default()
        }
    }

    /// Compare `recorded` (path relative to the root → digest; `None` where what was recorded is
    /// not a sha256) with `actual` (member path → digest) under `root`. A bundle read only in part
    /// (`complete_read: false`) cannot call a missing member a mismatch beyond what it read.
    pub fn judge(
        recorded: &BTreeMap<String, Option<Sum>>,
        actual: &BTreeMap<String, Sum>,
        root: &str,
        complete_read: bool,
    ) -> Integrity {
        if recorded.is_empty() {
            return Integrity::unverifiable();
        }
        let full = |rel: &str| {
            if root.is_empty() {
                rel.to_string()
            } else {
                format!("{root}/{rel}")
            }
        };
        let mut mismatched = Vec::new();
        for (rel, want) in recorded {
            match actual.get(&full(rel)) {
                Some(got) if Some(*got) == *want => {}
                Some(_) => mismatched.push(rel.clone()),
                None if complete_read => mismatched.push(rel.clone()),
                None => {}
            }
        }
        let mut unlisted = Vec::new();
        for path in actual.keys() {
            let rel = if root.is_empty() {
                Some(path.as_str())
            } else {
                path.strip_prefix(root).and_then(|r| r.strip_prefix('/'))
            };
            let Some(rel) = rel else { continue };
            if rel != "manifest.json" && rel != SIDECAR && !recorded.contains_key(rel) {
                unlisted.push(rel.to_string());
            }
        }
        let state = if !mismatched.is_empty() || !unlisted.is_empty() {
            "mismatch"
        } else if complete_read {
            "verified"
        } else {
            // What was read matches, but not everything could be read.
            "unverifiable"
        };
        Integrity {
            state,
            mismatched,
            unlisted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest_and_a_hashing_reader_agree() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut r = Hashing::new(&b"abcdef"[..]);
        let mut first = [0u8; 3];
        assert!(r.read_exact(&mut first).is_ok());
        assert_eq!(r.finish().ok(), Some(Sum::of(b"abcdef")));
        let abc = Some(Sum::of(b"abc"));
        let upper = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
        assert_eq!(Sum::parse_hex(upper), abc);
        assert_eq!(Sum::parse_hex(&Sum::of(b"abc").hex()), abc);
        // One nibble off, one short, one long, not hex: none of them is it.
        let off = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ae";
        assert!(Sum::parse_hex(off).is_some() && Sum::parse_hex(off) != abc);
        for bad in [&upper[1..], &format!("{upper}0"), &upper.replacen('B', "g", 1), "", "é"] {
            assert_eq!(Sum::parse_hex(bad), None, "{bad}");
        }
    }

    #[test]
    fn judge_names_changed_missing_and_unlisted_members() {
        let rec: BTreeMap<String, Option<Sum>> = [
            ("a.json", sha256_hex(b"a")),
            ("b.log", sha256_hex(b"b")),
            ("c.json", sha256_hex(b"c")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Sum::parse_hex(&v)))
        .collect();
        let mut act: BTreeMap<String, Sum> = BTreeMap::new();
        act.insert("top/a.json".into(), Sum::of(b"a"));
        act.insert("top/b.log".into(), Sum::of(b"B"));
        act.insert("top/manifest.json".into(), Sum::of(b"m"));
        act.insert("top/extra.txt".into(), Sum::of(b"x"));
        let i = Integrity::judge(&rec, &act, "top", true);
        assert_eq!(i.state, "mismatch");
        assert_eq!(i.mismatched, ["b.log", "c.json"]);
        assert_eq!(i.unlisted, ["extra.txt"]);
        act.insert("top/b.log".into(), Sum::of(b"b"));
        act.insert("top/c.json".into(), Sum::of(b"c"));
        act.remove("top/extra.txt");
        assert_eq!(Integrity::judge(&rec, &act, "top", true).state, "verified");
        assert_eq!(
            Integrity::judge(&BTreeMap::new(), &act, "top", true).state,
            "unverifiable"
        );
    }
}
