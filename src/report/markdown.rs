//! Markdown rendering, for pasting into a support ticket: a summary table, each finding with
//! its evidence and fix in code blocks, and the rules that could not vouch for the cluster. Knows
//! nothing of rules beyond the report it is given.

use super::{is_command, Report};
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Bundle text as Markdown prose: the characters that make links, images, emphasis, HTML,
/// headings and table cells are escaped, so a bundle cannot inject any into a ticket.
pub(super) fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '<' | '>' | '#' | '|' | '~' | '&'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Bundle text as a Markdown code span: fenced with more backticks than it holds in a row.
pub(super) fn md_code(s: &str) -> String {
    let s = s.replace('\n', " ");
    let run = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(run + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

pub fn render(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        let b = &r.bundle;
        let _ = writeln!(out, "# arcdiag report: `{}`\n", b.source);
        let _ = writeln!(out, "| | |\n|---|---|");
        let _ = writeln!(out, "| layout | {} |", b.layout.as_str());
        if let Some(c) = &b.collected_at {
            let _ = writeln!(out, "| collected | {c} |");
        }
        if let Some(n) = &b.cluster.name {
            let _ = writeln!(out, "| cluster | {} |", md_text(n).replace('\n', " "));
        }
        if let Some(d) = &r.facts.distribution {
            let _ = writeln!(out, "| distribution | {d} |");
        }
        let s = &r.summary;
        let _ = writeln!(
            out,
            "| findings | {} error, {} warning, {} info |",
            s.error, s.warning, s.info
        );
        let _ = writeln!(
            out,
            "| complete | {} |",
            if b.complete { "yes" } else { "no (interrupted)" }
        );
        let _ = writeln!(out, "| partial | {} |", if b.partial { "yes" } else { "no" });
        let _ = writeln!(out, "| integrity | {} |\n", b.integrity.state);
        let ig = &b.integrity;
        if ig.state == "mismatch" {
            let _ = writeln!(out, "## Integrity: the bundle was changed after it was made\n");
            for m in &ig.mismatched {
                let _ = writeln!(out, "- changed or missing: {}", md_code(m));
            }
            for m in &ig.unlisted {
                let _ = writeln!(out, "- not listed: {}", md_code(m));
            }
            out.push('\n');
        }
        if !b.errors.is_empty() {
            let _ = writeln!(out, "## Problems reading the bundle\n");
            for e in &b.errors {
                let member = crate::text::short_name(&e.member, crate::text::NAME_CHARS);
                let _ = writeln!(
                    out,
                    "- {}: {}",
                    md_code(&member),
                    md_text(&e.message).replace('\n', " ")
                );
            }
            out.push('\n');
        }
        render_incidents(&mut out, r);
        let repeated = r.repeated_evidence();
        if !r.findings.is_empty() {
            let _ = writeln!(out, "## Findings\n");
            let _ = writeln!(out, "| severity | code | subject | title |\n|---|---|---|---|");
            for f in &r.findings {
                let _ = writeln!(
                    out,
                    "| {} | {} | `{}` | {} |",
                    f.severity,
                    f.code,
                    f.subject,
                    esc(&f.title)
                );
            }
            out.push('\n');
            for (fi, f) in r.findings.iter().enumerate() {
                let _ = writeln!(out, "### {} {}: {}\n", f.code, f.name, f.title);
                let _ = writeln!(out, "Severity **{}**, subject `{}`.\n", f.severity, f.subject);
                if !f.message.is_empty() {
                    let _ = writeln!(out, "{}\n", f.message);
                }
                if !f.evidence.is_empty() {
                    let _ = writeln!(out, "Evidence:\n");
                    for (ei, e) in f.evidence.iter().enumerate() {
                        if let Some(shown) = repeated[fi][ei] {
                            let by = &r.findings[shown];
                            let _ = writeln!(
                                out,
                                "- {} (quoted above, under {} {})",
                                md_code(&e.location()),
                                by.code,
                                md_code(&by.subject.to_string())
                            );
                            continue;
                        }
                        let _ = writeln!(out, "- {}", md_code(&e.location()));
                        if !e.excerpt.is_empty() {
                            let _ = writeln!(out, "  ```\n  {}\n  ```", e.excerpt.replace("```", "'''"));
                        }
                    }
                    out.push('\n');
                }
                if !f.fix.is_empty() {
                    // In the rule's order: runs of commands become code blocks between advice.
                    let _ = writeln!(out, "Fix:\n");
                    let mut in_block = false;
                    for line in &f.fix {
                        let cmd = is_command(line);
                        if cmd && !in_block {
                            let _ = writeln!(out, "```sh");
                        } else if !cmd && in_block {
                            let _ = writeln!(out, "```");
                        }
                        in_block = cmd;
                        if cmd {
                            let _ = writeln!(out, "{line}");
                        } else {
                            let _ = writeln!(out, "- {}", line.replace('\n', " "));
                        }
                    }
                    if in_block {
                        let _ = writeln!(out, "```");
                    }
                    out.push('\n');
                }
                if !f.related.is_empty() {
                    let _ = writeln!(out, "Related:\n");
                    for rel in &f.related {
                        let _ = writeln!(out, "- {} `{}`: {}", rel.code, rel.subject, rel.title);
                    }
                    out.push('\n');
                }
            }
        } else {
            let _ = writeln!(out, "No findings.\n");
        }
        let skipped: Vec<_> = super::unvouched(r).collect();
        if !skipped.is_empty() {
            let _ = writeln!(out, "## Rules that could not vouch for the cluster\n");
            let _ = writeln!(out, "| code | outcome | reason |\n|---|---|---|");
            for x in skipped {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    x.code,
                    x.outcome.as_str(),
                    esc(x.reason.as_deref().unwrap_or(""))
                );
            }
            out.push('\n');
        }
    }
    crate::text::escape_controls(&out)
}

/// The incidents as a short table: the root cause and what it explains.
fn render_incidents(out: &mut String, r: &Report) {
    if r.incidents.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Incidents\n");
    let _ = writeln!(
        out,
        "| # | severity | root cause | explains (or goes with) | also affects |\n|---|---|---|---|---|"
    );
    for (n, inc) in r.incidents.iter().enumerate() {
        let explains: Vec<String> = inc
            .members
            .iter()
            .map(|m| {
                let with = if m.explained_by.is_empty() { " (with)" } else { "" };
                format!("{} `{}`{with}", m.code, esc(&m.subject))
            })
            .collect();
        let named: Vec<&str> = std::iter::once(inc.root.subject.as_str())
            .chain(inc.members.iter().map(|m| m.subject.as_str()))
            .collect();
        let others: Vec<String> = inc
            .affected
            .iter()
            .filter(|a| !named.contains(&a.as_str()))
            .map(|a| format!("`{}`", esc(a)))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} `{}`: {} | {} | {} |",
            n + 1,
            inc.severity,
            inc.root.code,
            esc(&inc.root.subject),
            esc(&inc.root.title),
            if explains.is_empty() {
                "-".to_string()
            } else {
                explains.join(", ")
            },
            if others.is_empty() {
                "-".to_string()
            } else {
                others.join(", ")
            }
        );
    }
    out.push('\n');
}
