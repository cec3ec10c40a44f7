//! Text rendering for a terminal: findings grouped by severity, evidence as `path:line`, fix
//! commands prefixed by `$`, then the rules that were skipped or failed and a one-line summary.
//! Colour only when asked for (the caller decides from the terminal and `NO_COLOR`). Knows nothing
//! of rules beyond the report it is given.

use super::{is_command, Report};
use crate::finding::{Severity, MAX_EVIDENCE};
use std::fmt::Write;

/// Log lines of one file shown per finding in text output.
const EVIDENCE_LINES_PER_FILE: usize = 5;

struct Paint {
    on: bool,
    /// What stands for `ESC [` until the report's text is escaped (see [`render`]).
    mark: String,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("{m}{code}m{s}{m}0m", m = self.mark)
        } else {
            s.to_string()
        }
    }
    fn sev(&self, s: Severity, text: &str) -> String {
        match s {
            Severity::Error => self.wrap("1;31", text),
            Severity::Warning => self.wrap("1;33", text),
            Severity::Info => self.wrap("1;36", text),
        }
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
}

/// The report as text. Text from a bundle is untrusted: the whole report is escaped
/// ([`crate::text::escape_controls`]: no colour, conceal, cursor move, clear-screen or title from a
/// bundle), and only then does arcdiag's own colour go in, through a mark no bundle can know
/// (random per run, and never in the output).
pub fn render(reports: &[Report], color: bool) -> String {
    use std::hash::{BuildHasher, Hasher};
    let nonce = std::collections::hash_map::RandomState::new().build_hasher().finish();
    let paint = Paint {
        on: color,
        mark: format!("\u{E000}{nonce:016x}\u{E001}"),
    };
    let mut out = String::new();
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_one(&mut out, r, &paint);
    }
    let out = sanitize_terminal(&out);
    if color {
        out.replace(&paint.mark, "\x1b[")
    } else {
        out
    }
}

/// Text from a bundle for a terminal (stderr included): see [`crate::text::escape_controls`].
pub fn sanitize_terminal(s: &str) -> String {
    crate::text::escape_controls(s)
}

fn render_one(out: &mut String, r: &Report, p: &Paint) {
    let b = &r.bundle;
    let _ = writeln!(out, "{}", p.bold(&format!("arcdiag report for {}", b.source)));
    let mut meta = vec![format!("layout {}", b.layout.as_str())];
    if let Some(c) = &b.collected_at {
        meta.push(format!("collected {c}"));
    }
    if let Some(n) = &b.cluster.name {
        meta.push(format!("cluster {n}"));
    }
    meta.push(format!(
        "type {}",
        serde_json::to_value(r.facts.cluster_type)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    ));
    if let Some(d) = &r.facts.distribution {
        meta.push(format!("distribution {d}"));
    }
    if b.integrity.state == "verified" {
        meta.push("digests verified".into());
    }
    let _ = writeln!(out, "{}", p.dim(&meta.join(", ")));
    let ig = &b.integrity;
    if ig.state == "mismatch" {
        let _ = writeln!(
            out,
            "{}",
            p.sev(
                Severity::Error,
                &format!(
                    "integrity: {} member(s) differ from the digests the bundle recorded, {} not listed: the bundle was changed after it was made",
                    ig.mismatched.len(),
                    ig.unlisted.len()
                )
            )
        );
        for m in ig.mismatched.iter().take(20) {
            let _ = writeln!(out, "  - changed or missing: {m}");
        }
        for m in ig.unlisted.iter().take(20) {
            let _ = writeln!(out, "  - not listed: {m}");
        }
    }
    if !b.complete {
        let _ = writeln!(
            out,
            "{}",
            p.sev(
                Severity::Warning,
                "collection was interrupted: the bundle is incomplete"
            )
        );
    }
    if b.partial {
        let _ = writeln!(
            out,
            "{}",
            p.sev(
                Severity::Warning,
                &format!(
                    "partial: {} problem(s) reading the bundle; the rest was analyzed",
                    b.errors.len()
                )
            )
        );
        for e in b.errors.iter().take(20) {
            let _ = writeln!(
                out,
                "  - {}: {}",
                crate::text::short_name(&e.member, crate::text::NAME_CHARS),
                e.message
            );
        }
        if b.errors.len() > 20 {
            let _ = writeln!(out, "  ... and {} more (see --format json)", b.errors.len() - 20);
        }
    }
    let failed: Vec<_> = r
        .inputs
        .iter()
        .filter(|i| i.state == crate::bundle::InputState::Failed)
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            p.sev(
                Severity::Warning,
                &format!("{} input(s) failed to collect or parse:", failed.len())
            )
        );
        for i in failed.iter().take(20) {
            let _ = writeln!(out, "  - {}: {}", i.id, i.reason.as_deref().unwrap_or("failed"));
        }
        if failed.len() > 20 {
            let _ = writeln!(out, "  ... and {} more (see --format json)", failed.len() - 20);
        }
    }
    out.push('\n');
    render_incidents(out, r, p);
    let repeated = r.repeated_evidence();
    for sev in [Severity::Error, Severity::Warning, Severity::Info] {
        let fs = r.findings.iter().filter(|f| f.severity == sev).count();
        if fs == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "{}",
            p.sev(sev, &format!("{} ({fs})", sev.as_str().to_uppercase()))
        );
        for (fi, f) in r.findings.iter().enumerate().filter(|(_, f)| f.severity == sev) {
            let _ = writeln!(
                out,
                "  {} {}  {}",
                p.sev(sev, &f.code),
                f.name,
                p.dim(&f.subject.to_string())
            );
            let _ = writeln!(out, "    {}", p.bold(&f.title));
            if !f.message.is_empty() {
                for line in f.message.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
            if !f.evidence.is_empty() {
                let _ = writeln!(out, "    evidence:");
                // Long runs of log lines from one file are cut to the first few; JSON has all.
                let mut per_path: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
                let mut hidden = 0usize;
                for (ei, e) in f.evidence.iter().enumerate() {
                    let n = per_path.entry(e.path.as_str()).or_insert(0);
                    *n += 1;
                    if e.line.is_some() && *n > EVIDENCE_LINES_PER_FILE {
                        hidden += 1;
                        continue;
                    }
                    if let Some(shown) = repeated[fi][ei] {
                        let by = &r.findings[shown];
                        let _ = writeln!(
                            out,
                            "      {} {}",
                            p.dim(&e.location()),
                            p.dim(&format!("(quoted above, under {} {})", by.code, by.subject))
                        );
                        continue;
                    }
                    let _ = writeln!(out, "      {}", p.dim(&e.location()));
                    if !e.excerpt.is_empty() {
                        let _ = writeln!(out, "        {}", e.excerpt);
                    }
                }
                if hidden > 0 {
                    let _ = writeln!(out, "      ... and {hidden} more line(s) (see --format json)");
                }
                if f.evidence_omitted > 0 {
                    let _ = writeln!(
                        out,
                        "      ... and {} more, not kept (the first {MAX_EVIDENCE} are)",
                        f.evidence_omitted
                    );
                }
            }
            if !f.fix.is_empty() {
                let _ = writeln!(out, "    fix:");
                for line in &f.fix {
                    if is_command(line) {
                        let _ = writeln!(out, "      $ {line}");
                    } else {
                        for (i, l) in line.lines().enumerate() {
                            let _ = writeln!(out, "      {}{l}", if i == 0 { "- " } else { "  " });
                        }
                    }
                }
            }
            if !f.related.is_empty() {
                let _ = writeln!(out, "    related:");
                for rel in &f.related {
                    let _ = writeln!(out, "      {} {}: {}", rel.code, rel.subject, rel.title);
                }
            }
            out.push('\n');
        }
    }
    if r.findings.is_empty() {
        let _ = writeln!(out, "No findings.\n");
    }
    let skipped: Vec<_> = super::unvouched(r).collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "{}", p.bold("Rules that could not vouch for the cluster:"));
        for x in skipped {
            let _ = writeln!(
                out,
                "  {} {} {}: {}",
                x.code,
                x.name,
                x.outcome.as_str(),
                x.reason.as_deref().unwrap_or("")
            );
        }
        out.push('\n');
    }
    let s = &r.summary;
    let _ = writeln!(
        out,
        "{} error(s), {} warning(s), {} info; rules: {} fired, {} clean, {} skipped, {} not applicable, {} failed",
        s.error,
        s.warning,
        s.info,
        s.rules_fired,
        s.rules_clean,
        s.rules_skipped,
        s.rules_not_applicable,
        s.rules_failed
    );
}

/// The incidents, most severe first: each root with what it explains (and through which
/// member), and the other objects affected.
fn render_incidents(out: &mut String, r: &Report, p: &Paint) {
    if r.incidents.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", p.bold(&format!("INCIDENTS ({})", r.incidents.len())));
    for (n, inc) in r.incidents.iter().enumerate() {
        let root = &inc.root;
        let _ = writeln!(
            out,
            "  {:<3}{}  {} {}: {}",
            n + 1,
            p.sev(inc.severity, &format!("{:<7}", inc.severity.as_str())),
            p.sev(root.severity, &root.code),
            root.subject,
            root.title
        );
        let pad = "              ";
        for m in &inc.members {
            let through: Vec<&str> = m
                .explained_by
                .iter()
                .filter(|c| **c != format!("{} {}", root.code, root.subject))
                .map(String::as_str)
                .collect();
            let via = if through.is_empty() {
                String::new()
            } else {
                format!(" (through {})", through.join(", "))
            };
            // A member nothing explains only shares an object with the others.
            let head = if m.explained_by.is_empty() {
                "with     "
            } else {
                "explains "
            };
            let _ = writeln!(out, "{pad}{head}{} {}{via}", m.code, m.subject);
        }
        let named: Vec<&str> = std::iter::once(root.subject.as_str())
            .chain(inc.members.iter().map(|m| m.subject.as_str()))
            .collect();
        let others: Vec<&String> = inc.affected.iter().filter(|a| !named.contains(&a.as_str())).collect();
        if !others.is_empty() {
            let shown: Vec<&str> = others.iter().take(6).map(|s| s.as_str()).collect();
            let more = if others.len() > 6 {
                format!(" and {} more", others.len() - 6)
            } else {
                String::new()
            };
            let _ = writeln!(out, "{pad}affects {}{more}", shown.join(", "));
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::sanitize_terminal;

    #[test]
    fn bundle_text_cannot_drive_the_terminal() {
        // Colour from a bundle is escaped like any other sequence.
        let evil = "ok\x1b[2J\x1b]0;pwned\x07\r\x1b[1;31mred\x1b[8m\tend\n";
        let s = sanitize_terminal(evil);
        assert_eq!(s, "ok\\x1b[2J\\x1b]0;pwned\\u{7}\\r\\x1b[1;31mred\\x1b[8m\tend\n");
    }
}
