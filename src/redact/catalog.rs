//! The catalog of secret formats recognised by their content, wherever they appear: private
//! key blocks of every armour (PEM, OpenSSH, PGP, PuTTY; indented, escaped in a JSON string, or
//! cut short), base64 PEM keys (a kubeconfig's `client-key-data`), JWTs, bearer/basic/SharedKey
//! authorization, Azure storage and AAD client secrets, AWS, GCP, GitHub, GitLab, Azure DevOps,
//! npm, Docker Hub, Slack, Teams and Discord webhooks, Stripe and SendGrid keys, and credentials
//! in URLs (a user-only one too). Formats follow the public rule sets of gitleaks and GitHub
//! secret scanning; none of those is a Rust library, so the catalog is ours.
//!
//! Every format has an anchor (a literal the format always holds, matched without regard to
//! case): one Aho-Corasick pass finds which anchors a text holds, and only their patterns run.
//! Knows nothing of keys (see `keys`) or of the document a text came from.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::Regex;
use std::sync::LazyLock;

/// Which bytes of a match are the secret.
#[derive(Clone, Copy)]
pub enum Take {
    /// The whole match.
    All,
    /// One capture group.
    Group(usize),
    /// A URL's userinfo (group 1): the password, or a user that looks like a token.
    UrlUserinfo,
}

pub struct Format {
    pub kind: &'static str,
    anchors: &'static [&'static str],
    pattern: &'static str,
    pub take: Take,
    /// A check on the secret's bytes, for shapes a regex cannot say (a base64 run that decodes
    /// to a private key).
    pub check: Option<fn(&[u8]) -> bool>,
}

/// The end of a private key block: its END line, or (cut short) where its body lines stop.
/// Body lines are base64 or `Header: value` lines, after a real, escaped (`\n`) or no newline.
macro_rules! key_block {
    ($begin:literal) => {
        concat!(
            $begin,
            r#"(?:[ \t]*(?:\r?\n|\\r\\n|\\n|\\?"[ \t]*,[ \t]*\\?")(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z?[ \t]+)?[ \t]*(?:[A-Za-z][A-Za-z0-9-]*: [^\r\n\\]*|[A-Za-z0-9+/=]{2,})?"#,
            r"|[ \t]+[A-Za-z0-9+/=]{16,})*",
            r#"(?:[ \t]*(?:\r?\n|\\r\\n|\\n|\\?"[ \t]*,[ \t]*\\?")?(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z?[ \t]+)?[ \t]*-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)?"#
        )
    };
}

pub static FORMATS: &[Format] = &[
    Format {
        kind: "private-key",
        anchors: &["-----BEGIN"],
        pattern: key_block!(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
        take: Take::All,
        check: None,
    },
    Format {
        kind: "private-key",
        anchors: &["PuTTY-User-Key-File"],
        pattern: key_block!(r"PuTTY-User-Key-File-[0-9]+: [^\r\n\\]*"),
        take: Take::All,
        check: None,
    },
    Format {
        kind: "private-key",
        anchors: &["LS0tLS1CRUdJTi"],
        pattern: r"LS0tLS1CRUdJTi[A-Za-z0-9+/]{20,}={0,2}",
        take: Take::All,
        check: Some(decodes_to_private_key),
    },
    Format {
        kind: "jwt",
        anchors: &["eyJ"],
        pattern: r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "bearer-token",
        anchors: &["bearer"],
        pattern: r"(?i:\bbearer)(?:[ \t]+|%20|\+)([A-Za-z0-9\-._~+/]{8,}=*)",
        take: Take::Group(1),
        check: Some(bearer_like),
    },
    Format {
        kind: "basic-auth",
        anchors: &["basic"],
        pattern: r"(?i:\bbasic)(?:[ \t]+|%20)([A-Za-z0-9+/]{6,}={0,2})",
        take: Take::Group(1),
        check: Some(decodes_to_user_password),
    },
    Format {
        kind: "shared-key",
        anchors: &["sharedkey"],
        pattern: r"(?i:\bSharedKey(?:Lite)?)[ \t]+[A-Za-z0-9._\-]+:([A-Za-z0-9+/]{20,}={0,2})",
        take: Take::Group(1),
        check: None,
    },
    Format {
        kind: "azure-storage-key",
        anchors: &["=="],
        pattern: r"(?:^|[^A-Za-z0-9+/\-])([A-Za-z0-9+/]{86}==)(?:[^A-Za-z0-9+/=]|$)",
        take: Take::Group(1),
        check: Some(mixed_classes),
    },
    Format {
        kind: "client-secret",
        anchors: &["q~"],
        pattern: r"(?:^|[^A-Za-z0-9_~.\-])([A-Za-z0-9_~.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?:[^A-Za-z0-9_~.\-]|$)",
        take: Take::Group(1),
        check: None,
    },
    Format {
        kind: "aws-access-key",
        anchors: &["akia", "asia", "abia", "acca"],
        pattern: r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        take: Take::Group(1),
        check: None,
    },
    Format {
        kind: "gcp-api-key",
        anchors: &["aiza"],
        pattern: r"\bAIza[0-9A-Za-z_\-]{35}",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "gcp-client-secret",
        anchors: &["gocspx-"],
        pattern: r"\bGOCSPX-[A-Za-z0-9_\-]{28}",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "github-token",
        anchors: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        pattern: r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "gitlab-token",
        anchors: &[
            "glpat-",
            "gldt-",
            "glrt-",
            "glptt-",
            "glsoat-",
            "glcbt-",
            "glimt-",
            "glft-",
            "gloas-",
            "glagent-",
            "GR1348941",
        ],
        pattern: r"\b(?:gl(?:pat|dt|rt|ptt|soat|cbt|imt|ft|oas|agent)-[A-Za-z0-9_\-]{20,}|GR1348941[A-Za-z0-9_\-]{20,})",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "azure-devops-pat",
        anchors: &["azdo"],
        pattern: r"\b[A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4}\b",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "npm-token",
        anchors: &["npm_"],
        pattern: r"\bnpm_[A-Za-z0-9]{36}",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "docker-token",
        anchors: &["dckr_"],
        pattern: r"\bdckr_(?:pat|oat)_[A-Za-z0-9_\-]{20,}",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "chat-webhook",
        anchors: &["hooks.slack.com"],
        pattern: r"https://hooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9+/_\-]{10,})",
        take: Take::Group(1),
        check: None,
    },
    Format {
        kind: "chat-token",
        anchors: &["xox", "xapp-"],
        pattern: r"\b(?:xox[abposre]|xapp)-[0-9A-Za-z\-]{10,}",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "chat-webhook",
        anchors: &["webhook.office.com"],
        pattern: r"https://[A-Za-z0-9.\-]*webhook\.office\.com/webhookb2/([A-Za-z0-9@/_.\-]{10,})",
        take: Take::Group(1),
        check: None,
    },
    Format {
        kind: "chat-webhook",
        anchors: &["discord"],
        pattern: r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/([0-9]+/[A-Za-z0-9_\-]+)",
        take: Take::Group(1),
        check: None,
    },
    Format {
        kind: "api-key",
        anchors: &["k_live_", "k_test_"],
        pattern: r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{20,}",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "api-key",
        anchors: &["sg."],
        pattern: r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "age-key",
        anchors: &["AGE-SECRET-KEY-"],
        pattern: r"AGE-SECRET-KEY-1[0-9A-Z]{58}",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "api-key",
        anchors: &["T3BlbkFJ", "sk-ant-"],
        pattern: r"\bsk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_\-]{16,}T3BlbkFJ[A-Za-z0-9_\-]{16,}|\bsk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_\-]{80,}",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "vault-token",
        anchors: &["hvs.", "hvb.", "hvr."],
        pattern: r"\bhv[sbr]\.[A-Za-z0-9_\-]{24,}",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "chat-token",
        anchors: &["api.telegram.org/bot"],
        pattern: r"api\.telegram\.org/bot([0-9]{5,16}:[A-Za-z0-9_\-]{30,})",
        take: Take::Group(1),
        check: None,
    },
    Format {
        kind: "function-key",
        anchors: &["code="],
        pattern: r"(?:[?&]|\\u0026)code=([A-Za-z0-9_\-]{20,}(?:={1,2}|%3[Dd]){0,2})",
        take: Take::Group(1),
        check: None,
    },
    Format {
        kind: "chat-webhook",
        anchors: &["/hooks/"],
        pattern: r"https?://[A-Za-z0-9.\-]+(?::[0-9]+)?/hooks/([A-Za-z0-9]{20,})",
        take: Take::Group(1),
        check: None,
    },
    Format {
        kind: "api-key",
        anchors: &[
            "lin_api_", "hf_", "PMAK-", "ATATT3", "dapi", "shpat_", "shpca_", "shppa_", "shpss_",
        ],
        pattern: r"\blin_api_[A-Za-z0-9]{40}\b|\bhf_[A-Za-z]{34}\b|\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b|\bATATT3[A-Za-z0-9_\-=]{50,}|\bdapi[a-f0-9]{32}(?:-[0-9])?\b|\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "oauth-token",
        anchors: &["ya29."],
        pattern: r"\bya29\.[0-9A-Za-z_\-]{20,}",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "api-key",
        anchors: &["-us"],
        pattern: r"\b[0-9a-f]{32}-us[0-9]{1,2}\b",
        take: Take::All,
        check: None,
    },
    Format {
        kind: "bearer-token",
        anchors: &["bearer.authorization.k8s.io."],
        pattern: r"bearer\.authorization\.k8s\.io\.([A-Za-z0-9_\-]+)",
        take: Take::Group(1),
        check: None,
    },
    Format {
        kind: "password",
        anchors: &["ConvertTo-SecureString"],
        pattern: r#"(?i:ConvertTo-SecureString)[ \t]+(?:-String[ \t]+)?["']([^"'\r\n]+)["']"#,
        take: Take::Group(1),
        check: None,
    },
    Format {
        kind: "url-credentials",
        anchors: &["://"],
        pattern: r#"\b[A-Za-z][A-Za-z0-9+.\-]{1,20}://([^/\s"'\\<>?#\[\]]+)@[A-Za-z0-9\[]"#,
        take: Take::UrlUserinfo,
        check: None,
    },
];

/// The catalog compiled: one regex per format and one anchor automaton for all.
pub struct Catalog {
    pub regexes: Vec<Regex>,
    anchors: AhoCorasick,
    /// Anchor pattern index → format index (`KV` for a key stem).
    owner: Vec<usize>,
}

/// Literals of commands that take a password their own way (see `text::commands`): they make
/// a text a candidate for the key-value scans as a key stem does.
const COMMAND_ANCHORS: &[&str] = &["-p", "-u ", "identified by", "sqlplus", "mysql", "machine "];

/// The candidate bit that says a key stem (`keys::STEMS`) occurs: the key-value scan may match.
pub const KV: usize = 63;

pub static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    let mut pats = Vec::new();
    let mut owner = Vec::new();
    for (i, f) in FORMATS.iter().enumerate() {
        for a in f.anchors {
            pats.push(*a);
            owner.push(i);
        }
    }
    for s in super::keys::STEMS.iter().chain(COMMAND_ANCHORS) {
        pats.push(*s);
        owner.push(KV);
    }
    let regexes = FORMATS
        .iter()
        .map(|f| match Regex::new(f.pattern) {
            Ok(r) => r,
            // The patterns are constants of this file; the tests compile every one.
            Err(e) => panic!("catalog pattern for {} does not compile: {e}", f.kind),
        })
        .collect();
    let anchors = match AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&pats)
    {
        Ok(a) => a,
        Err(e) => panic!("catalog anchors do not build: {e}"),
    };
    Catalog {
        regexes,
        anchors,
        owner,
    }
});

impl Catalog {
    /// Which formats may match in `text` (a bit per format, `KV` for a key stem).
    pub fn candidates(&self, text: &[u8]) -> u64 {
        let mut set = 0u64;
        for m in self.anchors.find_overlapping_iter(text) {
            set |= 1 << self.owner[m.pattern().as_usize()];
        }
        set
    }

    /// Where anchors start in `text`, in order, with their candidate bit.
    pub fn hits(&self, text: &[u8], out: &mut Vec<(usize, u64)>) {
        for m in self.anchors.find_overlapping_iter(text) {
            out.push((m.start(), 1 << self.owner[m.pattern().as_usize()]));
        }
    }
}

/// The secret part of a URL's userinfo: the password after `:` (however short), or the whole
/// userinfo when it has no `:` and looks like a token (`https://<PAT>@dev.azure.com`), never a
/// plain user name (`ssh://git@github.com`).
pub fn url_secret(userinfo: &[u8]) -> Option<(usize, usize)> {
    match memchr::memchr(b':', userinfo) {
        Some(i) if i + 1 < userinfo.len() => Some((i + 1, userinfo.len())),
        Some(_) => None,
        None => looks_like_token(userinfo).then_some((0, userinfo.len())),
    }
}

/// A run that a token would be and a word would not: 16 or more characters with letters and
/// digits, or 32 or more of any mix.
pub fn looks_like_token(s: &[u8]) -> bool {
    let digits = s.iter().any(u8::is_ascii_digit);
    let letters = s.iter().any(u8::is_ascii_alphabetic);
    (s.len() >= 16 && digits && letters) || s.len() >= 32
}

/// What follows `Bearer`: a token has a digit, a separator or mixed case, or is long; a word
/// ("Bearer authentication failed") has none of these.
fn bearer_like(s: &[u8]) -> bool {
    let digit = s.iter().any(u8::is_ascii_digit);
    let sep = s.iter().any(|c| matches!(c, b'.' | b'-' | b'_' | b'~' | b'+' | b'/'));
    let upper = s.iter().skip(1).any(u8::is_ascii_uppercase);
    digit || sep || upper || s.len() >= 24
}

fn mixed_classes(s: &[u8]) -> bool {
    s.iter().any(u8::is_ascii_digit) && s.iter().any(u8::is_ascii_lowercase) && s.iter().any(u8::is_ascii_uppercase)
}

fn decodes_to_private_key(s: &[u8]) -> bool {
    memchr::memmem::find(&base64_prefix(s), b"PRIVATE KEY").is_some()
}

fn decodes_to_user_password(s: &[u8]) -> bool {
    let d = base64_prefix(s);
    d.len() >= 3 && d.contains(&b':') && d.iter().all(|c| c.is_ascii_graphic() || *c == b' ')
}

/// The bytes a base64 run decodes to, as far as whole groups go (a key's prefix needs no more).
pub fn base64_prefix(s: &[u8]) -> Vec<u8> {
    use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
    use base64::Engine;
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let run = s
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/'))
        .unwrap_or(s.len());
    let run = run - run % 4;
    LENIENT.decode(&s[..run]).unwrap_or_default()
}
