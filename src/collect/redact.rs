//! Redaction: every byte a collection step produced (stdout and stderr) passes through
//! [`Redactor::redact`] before it reaches disk. It replaces secret values with
//! `[redacted:<kind>]` and counts replacements per kind; it never records a value.
//!
//! Patterns work on raw bytes (logs may hold binary garbage) and keep JSON valid: a replacement
//! never contains a quote or a backslash, and a match never crosses an unescaped JSON quote.
//! Ordinary content (UIDs, `sha256:` digests, resourceVersions, base64 CA bundles) is left alone.

use regex::bytes::{Captures, Regex};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Replacement counts per kind (`bearer-token`, `jwt`, ...), in name order.
pub type Counts = BTreeMap<&'static str, u64>;

const MARK: &[u8] = b"[redacted:";

struct Pattern {
    kind: &'static str,
    re: Regex,
    /// Which capture group holds the secret (everything else is kept).
    group: usize,
    check: fn(&[u8], &Captures) -> bool,
}

pub struct Redactor {
    patterns: Vec<Pattern>,
}

fn always(_: &[u8], _: &Captures) -> bool {
    true
}

/// Keys whose value is a password (`password`, `db_password`, `Pwd`).
const PASSWORD_KEYS: &str = r"password|passwd|pwd";
/// Keys whose value is an OAuth client secret.
const CLIENT_SECRET_KEYS: &str = r"client[_-]?secret";
/// Other keys whose value is a credential.
const SECRET_KEYS: &str = r"(?:access|auth|bearer|refresh|id|sas|api)[_-]?token|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|account[_-]?key|private[_-]?key|shared[_-]?key|secret|connection[_-]?string";

/// Three spellings of `key: value`: a JSON member, an escaped JSON member inside a JSON string,
/// and plain text (`key=value`, YAML `key: value`). `plain_sep` limits plain text separators.
fn key_value_patterns(kind: &'static str, keys: &str, plain_sep: &str) -> Vec<Pattern> {
    let name = format!(r"[A-Za-z0-9_.\-]*?(?i:{keys})");
    vec![
        Pattern {
            kind,
            re: rx(&format!(r#""({name})"\s*:\s*"((?:[^"\\]|\\.)+)""#)),
            group: 2,
            check: always,
        },
        Pattern {
            kind,
            re: rx(&format!(r#"\\"({name})\\"\s*:\s*\\"([^"\\]+)\\""#)),
            group: 2,
            check: always,
        },
        Pattern {
            kind,
            re: rx(&format!(
                r#"(?m)(^|[\s,;{{(&?])({name})(\s*{plain_sep}\s*)([^\s"'\\,;&}}\[\]<>]+)"#
            )),
            group: 4,
            check: always,
        },
    ]
}

fn rx(s: &str) -> Regex {
    // The patterns are constants of this file; a typo is a programming error caught by the tests.
    match Regex::new(s) {
        Ok(r) => r,
        Err(e) => panic!("redaction pattern does not compile: {e}\n{s}"),
    }
}

/// An 88-character base64 run ending in `==`: an Azure storage account key (64 random bytes).
fn storage_key(hay: &[u8], c: &Captures) -> bool {
    let Some(m) = c.get(1) else { return false };
    let mut s = m.as_bytes();
    // A run that starts right after a JSON escape (`\n`, `\t`, `\r`) swallowed the escape letter.
    if m.start() > 0 && hay[m.start() - 1] == b'\\' && matches!(s.first(), Some(b'n' | b't' | b'r')) {
        s = &s[1..];
    }
    s.len() == 88
        && s.ends_with(b"==")
        && s.iter().any(u8::is_ascii_digit)
        && s.iter().any(u8::is_ascii_lowercase)
        && s.iter().any(u8::is_ascii_uppercase)
}

/// A base64 run that decodes to a PEM private key (a kubeconfig's `client-key-data`).
fn base64_private_key(_: &[u8], c: &Captures) -> bool {
    c.get(1)
        .map(|m| {
            let decoded = base64_decode(m.as_bytes());
            memchr::memmem::find(&decoded, b"PRIVATE KEY-----").is_some()
        })
        .unwrap_or(false)
}

/// The bytes a base64 run decodes to, read as far as the alphabet goes (padding or any other
/// byte ends it) and ignoring a trailing partial byte, as a key's prefix needs no more.
fn base64_decode(s: &[u8]) -> Vec<u8> {
    use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
    use base64::Engine;
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    let run = s
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/'))
        .unwrap_or(s.len());
    // One character past a multiple of four holds no whole byte.
    let run = if run % 4 == 1 { run - 1 } else { run };
    LENIENT.decode(&s[..run]).unwrap_or_default()
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new()
    }
}

impl Redactor {
    pub fn new() -> Redactor {
        let mut patterns = vec![
            // PEM private keys, whole block; a block cut short (log tail) up to where its base64 ends.
            Pattern {
                kind: "private-key",
                re: rx(
                    r#"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:(?:[^"\\]|\\.)*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|(?:[A-Za-z0-9+/=]|\r?\n|\\r|\\n)*))"#,
                ),
                group: 1,
                check: always,
            },
            Pattern {
                kind: "private-key",
                re: rx(r"(LS0tLS1CRUdJTi[A-Za-z0-9+/]{40,}={0,2})"),
                group: 1,
                check: base64_private_key,
            },
            Pattern {
                kind: "bearer-token",
                re: rx(r"(?i)\b(bearer)(\s+)([A-Za-z0-9\-._~+/]{8,}=*)"),
                group: 3,
                check: always,
            },
            Pattern {
                kind: "basic-auth",
                re: rx(r"(?i)\b(authorization\\?\x22?\s*[:=]\s*\\?\x22?basic)(\s+)([A-Za-z0-9+/]{8,}=*)"),
                group: 3,
                check: always,
            },
            Pattern {
                kind: "jwt",
                re: rx(r"(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"),
                group: 1,
                check: always,
            },
            Pattern {
                kind: "url-credentials",
                re: rx(r#"\b([A-Za-z][A-Za-z0-9+.\-]{1,20}://)([^/\s:@"'\\<>]+):([^/\s@"'\\<>\[]+)@"#),
                group: 3,
                check: always,
            },
            Pattern {
                kind: "connection-string",
                re: rx(
                    r#"(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|ClientSecret|ApplicationKey)=([^;"'\s\\\[]+)"#,
                ),
                group: 2,
                check: always,
            },
            Pattern {
                kind: "sas-signature",
                re: rx(r"(?i)((?:[?&]|\\u0026|&amp;)sig=)([A-Za-z0-9%+/=_\-]{10,})"),
                group: 2,
                check: always,
            },
            Pattern {
                kind: "azure-storage-key",
                re: rx(r"([A-Za-z0-9+/]+={0,2})"),
                group: 1,
                check: storage_key,
            },
            // Azure AD application secrets: 40 characters with `<digit>Q~` at offset 3.
            Pattern {
                kind: "client-secret",
                re: rx(
                    r"(?:^|[^A-Za-z0-9_~.\-])([A-Za-z0-9_.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?:$|[^A-Za-z0-9_~.\-])",
                ),
                group: 1,
                check: always,
            },
            // Environment variables whose name says secret (`AZURE_CLIENT_SECRET`, `DB_PASSWORD`).
            Pattern {
                kind: "secret-field",
                re: rx(
                    r#""name"\s*:\s*"[A-Za-z0-9_.\-]*(?i:SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|ACCOUNT_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CONNECTION_?STRING)"\s*,\s*"value"\s*:\s*"((?:[^"\\]|\\.)+)""#,
                ),
                group: 1,
                check: always,
            },
        ];
        patterns.extend(key_value_patterns("client-secret", CLIENT_SECRET_KEYS, "[:=]"));
        patterns.extend(key_value_patterns("password", PASSWORD_KEYS, "[:=]"));
        // Broad names ("token", "secret") only as `key=value` in plain text: "secret: not found"
        // in a log line is prose, not a credential.
        patterns.extend(key_value_patterns("secret-field", SECRET_KEYS, "="));
        Redactor { patterns }
    }

    /// Replace every secret in `input`; add the counts to `counts`.
    pub fn redact<'a>(&self, input: &'a [u8], counts: &mut Counts) -> Cow<'a, [u8]> {
        let mut cur: Cow<'a, [u8]> = Cow::Borrowed(input);
        for p in &self.patterns {
            let mut n = 0u64;
            let hay: &[u8] = &cur;
            let replaced = p.re.replace_all(hay, |c: &Captures| {
                let Some(whole) = c.get(0) else { return Vec::new() };
                let (Some(secret), true) = (c.get(p.group), (p.check)(hay, c)) else {
                    return whole.as_bytes().to_vec();
                };
                if secret.as_bytes().is_empty() || secret.as_bytes().starts_with(MARK) {
                    return whole.as_bytes().to_vec();
                }
                n += 1;
                let mut out = Vec::with_capacity(whole.len());
                out.extend_from_slice(&hay[whole.start()..secret.start()]);
                out.extend_from_slice(MARK);
                out.extend_from_slice(p.kind.as_bytes());
                out.push(b']');
                out.extend_from_slice(&hay[secret.end()..whole.end()]);
                out
            });
            if n > 0 {
                *counts.entry(p.kind).or_insert(0) += n;
                cur = Cow::Owned(replaced.into_owned());
            }
        }
        cur
    }
}

#[cfg(test)]
mod tests {
    /// The hand-written decoder `base64_decode` replaced: bytes while the alphabet lasts.
    fn reference_decode(s: &[u8]) -> Vec<u8> {
        let val = |c: u8| -> Option<u32> {
            match c {
                b'A'..=b'Z' => Some((c - b'A') as u32),
                b'a'..=b'z' => Some((c - b'a') as u32 + 26),
                b'0'..=b'9' => Some((c - b'0') as u32 + 52),
                b'+' => Some(62),
                b'/' => Some(63),
                _ => None,
            }
        };
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0u32);
        for &c in s {
            let Some(v) = val(c) else { break };
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    }

    #[test]
    fn base64_decode_reads_as_far_as_the_alphabet_goes() {
        let key = b"LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVB";
        let mut cases: Vec<Vec<u8>> = vec![b"".to_vec(), b"=".to_vec(), b"QQ==".to_vec(), b"QUI=".to_vec()];
        for n in 0..=key.len() {
            cases.push(key[..n].to_vec());
            for tail in [&b"="[..], b"==", b"\\n", b"\"x", b"-_"] {
                let mut c = key[..n].to_vec();
                c.extend_from_slice(tail);
                c.extend_from_slice(&key[..n / 2]);
                cases.push(c);
            }
        }
        for c in &cases {
            assert_eq!(base64_decode(c), reference_decode(c), "{}", String::from_utf8_lossy(c));
        }
        assert!(memchr::memmem::find(&base64_decode(key), b"PRIVATE KEY-----").is_some());
    }

    use super::*;

    fn red(s: &str) -> (String, Counts) {
        let mut c = Counts::new();
        let out = Redactor::new().redact(s.as_bytes(), &mut c);
        (String::from_utf8_lossy(&out).into_owned(), c)
    }

    const KEY88: &str = "q8Zk3VbN0rT5yXw2LmP9sD4fGh7JkL1aB6cE0iO3uY5tR8eW2qA4sD6fG9hJ1kL3zX5cV7bN9mQ2wE4rT6yU8a==";

    #[test]
    fn every_kind_is_replaced_and_counted() {
        let cases = [
            (
                "Authorization: Bearer abcdefghijklmnop.qrstu",
                "bearer-token",
                "abcdefghijklmnop",
            ),
            (
                "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4eXoifQ.c2lnbmF0dXJlX3NpZ25hdHVyZQ end",
                "jwt",
                "c2lnbmF0dXJlX3NpZ25hdHVyZQ",
            ),
            (
                "url https://bob:hunter2secret@example.com/x",
                "url-credentials",
                "hunter2secret",
            ),
            (
                "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9vYmFyYmF6cXV4;EndpointSuffix=x",
                "connection-string",
                "Zm9vYmFyYmF6cXV4",
            ),
            (
                "https://a.blob.core.windows.net/c?sv=2020-08-04&sig=AbCdEf0123456789%2Bxyz",
                "sas-signature",
                "AbCdEf0123456789",
            ),
            (&format!("key1 {KEY88} end"), "azure-storage-key", &KEY88[..40]),
            (
                "app secret Abc8Q~abcdefghijklmnopqrstuvwxyz0123456 x",
                "client-secret",
                "abcdefghijklmnopqrstuvwxyz",
            ),
            (r#"{"clientSecret": "s3cr3t-value"}"#, "client-secret", "s3cr3t-value"),
            ("db:\n  password: pa55w0rd\n", "password", "pa55w0rd"),
            (
                r#"{"name": "AZURE_CLIENT_SECRET", "value": "envsecretvalue"}"#,
                "secret-field",
                "envsecretvalue",
            ),
        ];
        for (input, kind, secret) in cases {
            let (out, c) = red(input);
            assert!(!out.contains(secret), "{kind}: {out}");
            assert!(
                c.get(kind).copied().unwrap_or(0) >= 1,
                "{kind} not counted: {c:?} {out}"
            );
        }
    }

    #[test]
    fn pem_in_json_string_keeps_json_valid() {
        let doc = serde_json::json!({"data": {"tls.key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretbody\nmore+/==\n-----END RSA PRIVATE KEY-----\n", "other": "x"}});
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        let (out, c) = red(&text);
        assert!(!out.contains("secretbody"), "{out}");
        assert_eq!(c.get("private-key"), Some(&1));
        let back: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        assert_eq!(back["data"]["other"], "x");
    }

    #[test]
    fn ordinary_content_survives() {
        let ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUREekNDQWZlZ0F3SUJBZ0lSQU".repeat(30);
        let text = format!(
            r#"{{"metadata": {{"uid": "6f1c2a3b-1d2e-4f50-9a8b-7c6d5e4f3a2b", "resourceVersion": "123456789"}},
            "image": "mcr.microsoft.com/x@sha256:4bd3a2f1e0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3",
            "caBundle": "{ca}", "automountServiceAccountToken": true, "secretName": "tls",
            "msg": "failed to get secret: not found", "key": "app"}}"#
        );
        let (out, c) = red(&text);
        assert_eq!(out, text, "{c:?}");
        assert!(c.is_empty());
    }
}
