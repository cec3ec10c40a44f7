//! Declarative signatures: regexes over log lines and over message fields (events, conditions,
//! `az` statuses), loaded from the embedded `rules/signatures.yaml` and from `--rules FILE.yaml`.
//!
//! All log signatures compile into one combined matcher ([`LogMatcher`]): a literal prefilter
//! (the prefix literals every match must start with, extracted by `regex-syntax`, searched with
//! aho-corasick's Teddy) finds candidate lines across a whole log buffer, signatures without such
//! literals are run as one residual regex, and a `RegexSet` says which signatures matched each
//! candidate line. Signatures whose `code` is a Rust rule feed that rule; any other code defines a rule of its
//! own (see `rules::declarative`). Knows no rule's logic and no bundle layout; it imports only
//! `finding` (for `Severity`).

use crate::finding::Severity;
use regex::{Regex, RegexSet};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// The embedded signature files, one per rule family.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "<built-in k8s/signatures.yaml>",
        include_str!("rules/k8s/signatures.yaml"),
    ),
    (
        "<built-in flux/signatures.yaml>",
        include_str!("rules/flux/signatures.yaml"),
    ),
    (
        "<built-in ext/signatures.yaml>",
        include_str!("rules/ext/signatures.yaml"),
    ),
    (
        "<built-in osm/signatures.yaml>",
        include_str!("rules/osm/signatures.yaml"),
    ),
    (
        "<built-in ama/signatures.yaml>",
        include_str!("rules/ama/signatures.yaml"),
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Place {
    Logs,
    Events,
    Conditions,
    Az,
}

impl Place {
    /// The name a rules file's `in:` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Place::Logs => "logs",
            Place::Events => "events",
            Place::Conditions => "conditions",
            Place::Az => "az",
        }
    }
}

impl Signature {
    /// Whether the signature comes from a rules file given with `--rules` (not compiled in).
    pub fn from_user_file(&self) -> bool {
        !self.origin.starts_with("<built-in ")
    }

    /// What `arcdiag explain` shows of a signature from a rules file: its id and file, pattern,
    /// places, log scope and fix.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "  {} ({})
",
            self.id, self.origin
        );
        if let Some(sev) = self.severity {
            out.push_str(&format!("    severity: {}\n", sev.as_str()));
        }
        out.push_str(&format!("    pattern:  {}\n", self.regex.as_str()));
        let places: Vec<&str> = self.places.iter().map(|p| p.as_str()).collect();
        out.push_str(&format!("    in:       {}\n", places.join(", ")));
        let scope: Vec<String> = [
            ("namespaces", &self.logs.namespaces),
            ("pods", &self.logs.pods),
            ("containers", &self.logs.containers),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k} {}", v.join(", ")))
        .collect();
        if !scope.is_empty() {
            out.push_str(&format!("    logs:     {}\n", scope.join("; ")));
        }
        for f in &self.fix {
            out.push_str(&format!("    fix:      {f}\n"));
        }
        out
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogScope {
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub pods: Vec<String>,
    #[serde(default)]
    pub containers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    version: Option<u32>,
    signatures: Vec<RawSignature>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignature {
    id: String,
    code: String,
    pattern: String,
    #[serde(default, rename = "in")]
    places: Option<Vec<Place>>,
    #[serde(default)]
    logs: Option<LogScope>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    fix: Vec<String>,
    #[serde(default)]
    doc: Option<String>,
}

/// One compiled signature.
#[derive(Debug, Clone)]
pub struct Signature {
    pub id: String,
    pub code: String,
    pub regex: Regex,
    pub places: Vec<Place>,
    pub logs: LogScope,
    pub name: Option<String>,
    pub severity: Option<Severity>,
    pub title: Option<String>,
    pub fix: Vec<String>,
    pub doc: Option<String>,
    /// The file it came from.
    pub origin: String,
}

impl Signature {
    pub fn applies_to(&self, place: Place) -> bool {
        self.places.contains(&place)
    }
    /// Whether this signature scans the log of that container.
    pub fn applies_to_log(&self, ns: &str, pod: &str, container: &str) -> bool {
        let ok = |globs: &[String], v: &str| globs.is_empty() || globs.iter().any(|g| glob_match(g, v));
        self.applies_to(Place::Logs)
            && ok(&self.logs.namespaces, ns)
            && ok(&self.logs.pods, pod)
            && ok(&self.logs.containers, container)
    }
}

/// A rules-file problem: names the file, the entry, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesFileError {
    pub file: String,
    pub entry: Option<String>,
    pub problem: String,
}

impl fmt::Display for RulesFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entry {
            Some(e) => write!(f, "{}: {}: {}", self.file, e, self.problem),
            None => write!(f, "{}: {}", self.file, self.problem),
        }
    }
}

impl std::error::Error for RulesFileError {}

/// Simple glob: `*` matches any run of characters; everything else is literal.
pub fn glob_match(glob: &str, s: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    if parts.len() == 1 {
        return glob == s;
    }
    let mut rest = s;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    true
}

/// Size bound on a rules file (YAML alias bombs expand before we can see them otherwise).
const MAX_RULES_FILE_BYTES: usize = 4 << 20;
/// Bound on compiled regex size, so a hostile pattern cannot exhaust memory.
const REGEX_SIZE_LIMIT: usize = 8 << 20;

/// Parse and compile a rules file. `known_codes` are the Rust rules' codes: a signature with one of
/// those feeds that rule; any other code must carry `name`, `severity` and `title`.
pub fn parse_rules_file(name: &str, text: &str, known_codes: &[&str]) -> Result<Vec<Signature>, RulesFileError> {
    let err = |entry: Option<String>, problem: String| RulesFileError {
        file: name.to_string(),
        entry,
        problem,
    };
    if text.len() > MAX_RULES_FILE_BYTES {
        return Err(err(
            None,
            format!("the file is larger than {MAX_RULES_FILE_BYTES} bytes"),
        ));
    }
    let raw: RawFile = serde_yaml::from_str(text).map_err(|e| err(None, format!("not a valid rules file: {e}")))?;
    if let Some(v) = raw.version {
        if v != 1 {
            return Err(err(
                None,
                format!("unsupported version {v} (this arcdiag reads version 1)"),
            ));
        }
    }
    let mut out = Vec::new();
    let mut seen = BTreeMap::new();
    for (i, r) in raw.signatures.into_iter().enumerate() {
        let label = format!("signature #{} (id '{}')", i + 1, r.id);
        if r.id.trim().is_empty() {
            return Err(err(Some(format!("signature #{}", i + 1)), "`id` is empty".into()));
        }
        if seen.insert(r.id.clone(), i).is_some() {
            return Err(err(Some(label), "duplicate id".into()));
        }
        if !valid_code(&r.code) {
            return Err(err(
                Some(label),
                format!(
                    "code '{}' is not of the form ABC123 (capitals and digits, ending in three digits)",
                    r.code
                ),
            ));
        }
        let regex = regex::RegexBuilder::new(&r.pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| err(Some(label.clone()), format!("invalid pattern: {e}")))?;
        let severity = match &r.severity {
            Some(s) => Some(Severity::parse(s).ok_or_else(|| {
                err(
                    Some(label.clone()),
                    format!("severity '{s}' is not error, warning or info"),
                )
            })?),
            None => None,
        };
        let is_known = known_codes.contains(&r.code.as_str());
        let is_builtin_file = name.starts_with("<built-in ");
        if is_known && !is_builtin_file {
            let set: Vec<&str> = [
                ("name", r.name.is_some()),
                ("severity", r.severity.is_some()),
                ("title", r.title.is_some()),
            ]
            .into_iter()
            .filter_map(|(k, on)| on.then_some(k))
            .collect();
            if !set.is_empty() {
                return Err(err(
                    Some(label),
                    format!(
                        "code '{}' is a built-in rule, whose {} cannot be changed by a rules file; remove `{}` (the signature then feeds {})",
                        r.code,
                        set.join(", "),
                        set.join("`, `"),
                        r.code
                    ),
                ));
            }
        }
        if !is_known && (r.name.is_none() || severity.is_none() || r.title.is_none()) {
            return Err(err(
                Some(label),
                format!(
                    "code '{}' is not a built-in rule, so the entry must define `name`, `severity` and `title`",
                    r.code
                ),
            ));
        }
        let places = r
            .places
            .unwrap_or_else(|| vec![Place::Logs, Place::Events, Place::Conditions, Place::Az]);
        if places.is_empty() {
            return Err(err(
                Some(label),
                "`in` is empty: the signature would match nothing".into(),
            ));
        }
        out.push(Signature {
            id: r.id,
            code: r.code,
            regex,
            places,
            logs: r.logs.unwrap_or_default(),
            name: r.name,
            severity,
            title: r.title,
            fix: r.fix,
            doc: r.doc,
            origin: name.to_string(),
        });
    }
    Ok(out)
}

fn valid_code(c: &str) -> bool {
    // Like the built-in codes: a capital letter, capitals and digits, ending in three digits.
    let b = c.as_bytes();
    (5..=12).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b.iter().all(|x| x.is_ascii_uppercase() || x.is_ascii_digit())
        && b[b.len() - 3..].iter().all(u8::is_ascii_digit)
}

/// All signatures in effect, with their compiled matchers.
#[derive(Debug, Clone)]
pub struct SignatureSet {
    pub sigs: Vec<Signature>,
    pub log: LogMatcher,
    text_set: RegexSet,
    text_ids: Vec<usize>,
    /// A text holding none of these holds no match of a message signature (raw or unescaped);
    /// `None` when the message signatures' literals are not escape-safe.
    text_prefilter: Option<Prefilter>,
}

/// The combined matcher over log buffers.
#[derive(Debug, Clone)]
pub struct LogMatcher {
    pub set: regex::bytes::RegexSet,
    /// Per set index, the signature's own regex (for captures).
    pub regexes: Vec<regex::bytes::Regex>,
    /// Set index → index in `SignatureSet::sigs`.
    pub ids: Vec<usize>,
    /// Keep each log's whole bytes in its scan (`arcdiag serve` answers `kubectl logs` from them).
    pub keep_text: bool,
    /// The literal prefilter: every match of a signature that has them starts (or ends) with one
    /// of its literals (from `regex-syntax`'s extractor), so only lines holding one of these are
    /// given to `set`.
    pub prefilter: Option<Prefilter>,
    /// The signatures without a usable literal prefix, as one regex run over the whole buffer.
    pub residual: Option<regex::bytes::Regex>,
    /// Every signature's prefilter literals are plain ([`plain_run`]) and there is no residual
    /// regex: a line whose unescaped text holds a literal holds it as it is, unless it has a
    /// `\u00XX` escape (which may spell a plain character). `\u00` is then one more prefilter
    /// literal, and only candidate lines with a backslash need to be matched unescaped; otherwise
    /// every line with a backslash is.
    pub escape_safe: bool,
}

impl LogMatcher {
    pub fn empty() -> LogMatcher {
        LogMatcher {
            set: regex::bytes::RegexSet::empty(),
            regexes: Vec::new(),
            ids: Vec::new(),
            keep_text: false,
            prefilter: None,
            residual: None,
            escape_safe: true,
        }
    }

    /// Whether `text` may hold a match: a prefilter literal or a residual match is in it.
    pub fn candidate(&self, text: &[u8]) -> bool {
        self.prefilter.as_ref().is_some_and(|p| p.find(text, 0).is_some())
            || self.residual.as_ref().is_some_and(|r| r.is_match(text))
    }
}
/// A set of literals found with aho-corasick's vectorized Teddy searcher (tens of GB/s on
/// ordinary log text); an automaton when Teddy is not available (too many literals, no SIMD).
#[derive(Debug, Clone)]
pub struct Prefilter {
    packed: Option<aho_corasick::packed::Searcher>,
    ac: aho_corasick::AhoCorasick,
}

impl Prefilter {
    fn new(literals: &[Vec<u8>]) -> Result<Prefilter, String> {
        let packed = aho_corasick::packed::Config::new()
            .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(literals)
            .build();
        let ac = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(literals)
            .map_err(|e| format!("combining log signatures: {e}"))?;
        Ok(Prefilter { packed, ac })
    }

    /// The offset of the first literal occurrence in `hay[from..]`.
    pub fn find(&self, hay: &[u8], from: usize) -> Option<usize> {
        if from >= hay.len() {
            return None;
        }
        match &self.packed {
            Some(p) => p
                .find_in(hay, aho_corasick::Span::from(from..hay.len()))
                .map(|m| m.start()),
            None => self
                .ac
                .find(aho_corasick::Input::new(hay).span(from..hay.len()))
                .map(|m| m.start()),
        }
    }
}

/// The literals every match of `pattern` starts with (case-insensitive parts give their case
/// variants, cut short by the extractor's limits), when they are few and long enough to be a
/// good prefilter (at least 3 bytes each, at most 64: past that aho-corasick cannot use Teddy and a
/// residual regex is as fast); `None` otherwise.
fn prefix_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new().build().parse(pattern).ok()?;
    // Candidates are whole lines, so a literal every match ends with serves as well as one it
    // starts with: try prefixes, then suffixes (an optional leading group such as FLX001's
    // `(?:<Kind/ns/name> )?dry-run failed ...` has no usable prefix but a long suffix).
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        let mut ex = Extractor::new();
        ex.kind(kind);
        let seq = ex.extract(&hir);
        let Some(lits) = seq.literals() else { continue };
        // Inexact (cut short) literals are still in every match: fine for a prefilter.
        if lits.is_empty() || lits.len() > 64 || lits.iter().any(|l| l.as_bytes().len() < 3) {
            continue;
        }
        return Some(lits.iter().map(|l| l.as_bytes().to_vec()).collect());
    }
    None
}

/// Whether no common encoder escapes byte `b` in a string: JSON (Go escapes `<>&`, Gson also
/// `='`, some encoders `/`, Python everything past ASCII) and Go's quoting in klog values (`"` and
/// `\`). Letters, digits, space and the punctuation below are written as they are by all of them.
pub fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" .,:;-_()[]{}!?#%*+@|~^$".contains(&b)
}

/// The longest run of plain bytes in `lit` (the first of equally long ones). Any line holding
/// `lit` holds the run, so the run serves as a prefilter literal as well, and unlike `lit`
/// (`failed calling webhook "`, `container <`) it is never hidden by an escape.
pub fn plain_run(lit: &[u8]) -> &[u8] {
    let mut best = &lit[..0];
    for run in lit.split(|b| !is_plain(*b)) {
        if run.len() > best.len() {
            best = run;
        }
    }
    best
}

/// The prefilter literals of `patterns` (each pattern's [`prefix_literals`], as their
/// [`plain_run`]s when every one has a run of 4 bytes or more), the patterns without literals,
/// and whether the literals are escape-safe: plain runs for every pattern and no pattern without
/// literals (`\u00` is then a literal too: such an escape may spell a plain character).
fn literals_of<'p>(patterns: &[&'p str]) -> (Vec<Vec<u8>>, Vec<&'p str>, bool) {
    let mut literals: Vec<Vec<u8>> = Vec::new();
    let mut residual: Vec<&str> = Vec::new();
    let mut escape_safe = true;
    for p in patterns {
        match prefix_literals(p) {
            // Plain runs of at least 4 bytes keep the prefilter selective.
            Some(l) if l.iter().all(|l| plain_run(l).len() >= 4) => {
                literals.extend(l.iter().map(|l| plain_run(l).to_vec()))
            }
            Some(l) => {
                escape_safe = false;
                literals.extend(l)
            }
            None => residual.push(p),
        }
    }
    let escape_safe = escape_safe && residual.is_empty();
    if escape_safe && !literals.is_empty() {
        literals.push(br"\u00".to_vec());
    }
    literals.sort();
    literals.dedup();
    (literals, residual, escape_safe)
}

/// The pattern with its named groups made non-capturing, so that signatures can be combined into
/// one regex (or set) even when two of them use the same group name.
fn without_names(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let b = p.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            out.push_str(&p[i..i + 2]);
            i += 2;
            continue;
        }
        let rest = &p[i..];
        let open = if rest.starts_with("(?P<") {
            Some(4)
        } else if rest.starts_with("(?<") && !rest.starts_with("(?<=") && !rest.starts_with("(?<!") {
            Some(3)
        } else {
            None
        };
        if let Some(skip) = open {
            if let Some(end) = rest[skip..].find('>') {
                out.push_str("(?:");
                i += skip + end + 1;
                continue;
            }
        }
        let ch = rest.chars().next().unwrap_or_default();
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    out
}

/// A match of one signature on a piece of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigMatch {
    pub sig: usize,
    pub captures: BTreeMap<String, String>,
}

impl SignatureSet {
    pub fn new(sigs: Vec<Signature>) -> Result<SignatureSet, String> {
        let mut log_pats = Vec::new();
        let mut log_ids = Vec::new();
        let mut text_pats = Vec::new();
        let mut text_ids = Vec::new();
        for (i, s) in sigs.iter().enumerate() {
            if s.applies_to(Place::Logs) {
                log_pats.push(s.regex.as_str().to_string());
                log_ids.push(i);
            }
            if s.places.iter().any(|p| *p != Place::Logs) {
                text_pats.push(without_names(s.regex.as_str()));
                text_ids.push(i);
            }
        }
        let set = regex::bytes::RegexSetBuilder::new(log_pats.iter().map(|p| without_names(p)))
            .size_limit(REGEX_SIZE_LIMIT * 4)
            .build()
            .map_err(|e| format!("combining log signatures: {e}"))?;
        let regexes = log_pats
            .iter()
            .map(|p| regex::bytes::Regex::new(p).map_err(|e| format!("{e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let log_refs: Vec<&str> = log_pats.iter().map(String::as_str).collect();
        let (literals, residual_pats, escape_safe) = literals_of(&log_refs);
        let prefilter = if literals.is_empty() {
            None
        } else {
            Some(Prefilter::new(&literals)?)
        };
        // The signatures without literals, as one alternation run over the whole buffer.
        let residual = if residual_pats.is_empty() {
            None
        } else {
            let alt = residual_pats
                .iter()
                .map(|p| format!("(?:{})", without_names(p)))
                .collect::<Vec<_>>()
                .join("|");
            Some(
                regex::bytes::RegexBuilder::new(&alt)
                    .size_limit(REGEX_SIZE_LIMIT * 4)
                    .build()
                    .map_err(|e| format!("combining log signatures: {e}"))?,
            )
        };
        let text_set = regex::RegexSetBuilder::new(&text_pats)
            .size_limit(REGEX_SIZE_LIMIT * 4)
            .build()
            .map_err(|e| format!("combining message signatures: {e}"))?;
        // Messages (200,000 events in a large bundle) are prefiltered like log lines when every
        // message signature has escape-safe literals.
        let text_refs: Vec<&str> = text_ids.iter().map(|&i| sigs[i].regex.as_str()).collect();
        let text_prefilter = match literals_of(&text_refs) {
            (lits, _, true) if !lits.is_empty() => Some(Prefilter::new(&lits)?),
            _ => None,
        };
        Ok(SignatureSet {
            log: LogMatcher {
                set,
                regexes,
                ids: log_ids,
                keep_text: false,
                prefilter,
                residual,
                escape_safe,
            },
            sigs,
            text_set,
            text_ids,
            text_prefilter,
        })
    }

    /// The built-in signatures plus those of the given rules files.
    pub fn load(extra: &[(String, String)], known_codes: &[&str]) -> Result<SignatureSet, RulesFileError> {
        let mut sigs: Vec<Signature> = Vec::new();
        let builtin = BUILTIN.iter().map(|(n, t)| (n.to_string(), t.to_string()));
        let mut known: Vec<String> = known_codes.iter().map(|c| c.to_string()).collect();
        for (i, (name, text)) in builtin.chain(extra.iter().cloned()).enumerate() {
            if i == BUILTIN.len() {
                // Files from the user: the built-in signature rules are built-in codes too.
                known.extend(sigs.iter().map(|s| s.code.clone()));
                known.sort();
                known.dedup();
            }
            let (name, text) = (&name, &text);
            let known_refs: Vec<&str> = known.iter().map(String::as_str).collect();
            let more = parse_rules_file(name, text, &known_refs)?;
            for s in &more {
                // A new code given by several signatures is one rule: they must agree on it.
                if let Some(o) = sigs.iter().find(|o| {
                    o.code == s.code
                        && o.name.is_some()
                        && (o.name != s.name || o.severity != s.severity || o.title != s.title)
                }) {
                    return Err(RulesFileError {
                        file: name.clone(),
                        entry: Some(format!("id '{}'", s.id)),
                        problem: format!(
                            "code '{}' is already defined by signature '{}' ({}) with another name, severity or title; signatures of one code must agree",
                            s.code, o.id, o.origin
                        ),
                    });
                }
            }
            for s in &more {
                if sigs.iter().any(|o| o.id == s.id) {
                    return Err(RulesFileError {
                        file: name.clone(),
                        entry: Some(format!("id '{}'", s.id)),
                        problem: format!(
                            "id already defined in {}",
                            sigs.iter()
                                .find(|o| o.id == s.id)
                                .map(|o| o.origin.as_str())
                                .unwrap_or("?")
                        ),
                    });
                }
            }
            sigs.extend(more);
        }
        SignatureSet::new(sigs).map_err(|problem| RulesFileError {
            file: "signatures".into(),
            entry: None,
            problem,
        })
    }

    /// Match a message (event, condition, az status) against signatures for that place.
    /// Escaped quotes (`\"`) from JSON nested in a string are matched as plain quotes too.
    /// Whether message texts are prefiltered by literals (tests of the built-in set).
    #[cfg(test)]
    pub(crate) fn prefilters_text(&self) -> bool {
        self.text_prefilter.is_some()
    }

    pub fn match_text(&self, text: &str, place: Place) -> Vec<SigMatch> {
        if self
            .text_prefilter
            .as_ref()
            .is_some_and(|p| p.find(text.as_bytes(), 0).is_none())
        {
            return Vec::new();
        }
        let mut out = self.match_text_once(text, place);
        // Also the unescaped text, even when the raw text matched one signature: another may
        // need the plain quotes. Each signature is reported once.
        if text.contains("\\\"") || text.contains("\\u") {
            let unescaped = unescape_json_like(text);
            for m in self.match_text_once(&unescaped, place) {
                if !out.iter().any(|o| o.sig == m.sig) {
                    out.push(m);
                }
            }
            out.sort_by_key(|m| m.sig);
        }
        out
    }

    fn match_text_once(&self, text: &str, place: Place) -> Vec<SigMatch> {
        let mut out = Vec::new();
        for si in self.text_set.matches(text).iter() {
            let sig_idx = self.text_ids[si];
            let sig = &self.sigs[sig_idx];
            if !sig.applies_to(place) {
                continue;
            }
            out.push(SigMatch {
                sig: sig_idx,
                captures: captures_str(&sig.regex, text),
            });
        }
        out
    }
}

fn captures_str(re: &Regex, text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(c) = re.captures(text) {
        for name in re.capture_names().flatten() {
            if let Some(m) = c.name(name) {
                out.insert(name.to_string(), m.as_str().to_string());
            }
        }
    }
    out
}

/// Undo one level of JSON string escaping (`\"`, `\\`, `\n`, `\uXXXX`) without requiring valid JSON.
pub fn unescape_json_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_group_name_in_two_signatures() {
        let text = "signatures:\n  - id: a\n    code: ZZZ001\n    pattern: 'one (?P<w>x+)'\n    name: a\n    severity: error\n    title: t\n  - id: b\n    code: ZZZ002\n    pattern: 'two (?P<w>y+) (?<v>z)'\n    name: b\n    severity: error\n    title: t\n";
        let set = SignatureSet::new(parse_rules_file("f", text, &[]).unwrap()).expect("combines");
        let m = set.match_text("two yy z", Place::Events);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].captures.get("w").map(String::as_str), Some("yy"));
        assert_eq!(
            without_names(r"a(?P<x>b)\(?P<c(?<=d)(?<y>e)"),
            r"a(?:b)\(?P<c(?<=d)(?:e)"
        );
    }

    #[test]
    fn prefilter_literals() {
        assert_eq!(
            prefix_literals(r#"failed calling webhook "(?P<w>[^"]+)"(?P<c>.*)"#),
            Some(vec![b"failed calling webhook \"".to_vec()])
        );
        assert_eq!(
            prefix_literals(r"(?:dial|lookup) tcp"),
            Some(vec![b"dial tcp".to_vec(), b"lookup tcp".to_vec()])
        );
        // case-insensitive words expand past 64 variants: left to the residual regex
        assert_eq!(prefix_literals(r"(?i)unauthorized|\b401\b"), None);
        // no usable prefix but a literal every match ends with
        assert_eq!(prefix_literals(r"\d+ restarts"), Some(vec![b" restarts".to_vec()]));
        assert!(prefix_literals(r#"(?:(?P<t>[A-Za-z]\w*/\S+) )?dry-run failed"#).is_some());
        // nothing to anchor on: scanned by the residual regex
        assert_eq!(prefix_literals(r"[0-9]{2} [a-z]+"), None);
        assert_eq!(prefix_literals(r"a?b"), None);
        let text = "signatures:\n  - id: a\n    code: ZZZ001\n    pattern: 'boom (?P<x>\\d+)'\n    name: a\n    severity: error\n    title: t\n  - id: b\n    code: ZZZ002\n    pattern: '[0-9]{2} [a-z]+'\n    name: b\n    severity: error\n    title: t\n";
        let set = SignatureSet::new(parse_rules_file("f", text, &[]).unwrap()).unwrap();
        assert!(set.log.prefilter.is_some() && set.log.residual.is_some());
        assert!(set.log.candidate(b"x boom 1") && set.log.candidate(b"12 fell") && !set.log.candidate(b"calm"));
    }

    #[test]
    fn plain_runs() {
        assert_eq!(plain_run(b"failed calling webhook \""), b"failed calling webhook ");
        assert_eq!(
            plain_run(b"\\\" does not support dry run"),
            b" does not support dry run"
        );
        assert_eq!(
            plain_run(b"can't initialize iptables table"),
            b"t initialize iptables table"
        );
        assert_eq!(plain_run(b"<<>>"), b"");
        assert!(is_plain(b'a') && is_plain(b' ') && is_plain(b':'));
        assert!(!is_plain(b'"') && !is_plain(b'<') && !is_plain(b'=') && !is_plain(b'/') && !is_plain(0xc3));
    }

    #[test]
    fn glob() {
        assert!(glob_match("kustomize-controller-*", "kustomize-controller-7f9c"));
        assert!(glob_match("*-nmi", "aad-pod-identity-nmi"));
        assert!(!glob_match("ama-logs*", "kube-proxy"));
        assert!(glob_match("a*b*c", "axxbyyc"));
    }

    #[test]
    fn bad_entry_is_named() {
        let text = "signatures:\n  - id: a\n    code: ZZZ001\n    pattern: 'x('\n    name: a\n    severity: error\n    title: t\n";
        let e = parse_rules_file("mine.yaml", text, &[]).unwrap_err();
        assert_eq!(e.file, "mine.yaml");
        assert_eq!(e.entry.as_deref(), Some("signature #1 (id 'a')"));
        assert!(e.problem.contains("invalid pattern"), "{}", e.problem);
    }

    #[test]
    fn unknown_code_needs_metadata() {
        let text = "signatures:\n  - id: a\n    code: ZZZ001\n    pattern: 'x'\n";
        let e = parse_rules_file("mine.yaml", text, &[]).unwrap_err();
        assert!(e.problem.contains("must define"), "{}", e.problem);
    }

    #[test]
    fn escaped_quotes_in_messages_match() {
        let text = "signatures:\n  - id: a\n    code: ZZZ001\n    pattern: 'webhook \"(?P<w>[^\"]+)\" does not'\n    name: a\n    severity: error\n    title: t\n    in: [az]\n";
        let sigs = parse_rules_file("f", text, &[]).unwrap();
        let set = SignatureSet::new(sigs).unwrap();
        let m = set.match_text(
            r#"error: admission webhook \"x.y\" does not support dry run"#,
            Place::Az,
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].captures.get("w").map(String::as_str), Some("x.y"));
    }
}
