//! Markdown rendering, for pasting into a support ticket: a summary table, each finding with
//! its evidence and fix in code blocks, and the rules that could not vouch for the cluster. Knows
//! nothing of rules beyond the report it is given.

use super::{is_command, Report};
use std::fmt::Write;

/// Bundle text as one line of Markdown prose (a table cell, a heading, a list item, a
/// paragraph): the characters that make links, images, emphasis, HTML, entities, headings and
/// table cells are escaped, and so are the `://`, `www.` and `@` that GitHub turns into links by
/// themselves, so a bundle cannot inject any into a ticket. A code span (backticks matched, as a
/// rule's text quotes a value) is kept: nothing in it is markup. Newlines become spaces: a line of
/// `===` or `---` after a newline would make a heading.
pub(super) fn md_text(s: &str) -> String {
    let chars: Vec<char> = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let mut out = String::with_capacity(s.len());
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            let run = chars[i..].iter().take_while(|&&b| b == '`').count();
            // The closing run: exactly as long.
            let mut j = i + run;
            let mut close = None;
            while j < chars.len() {
                let r = chars[j..].iter().take_while(|&&b| b == '`').count();
                if r == run {
                    close = Some(j);
                    break;
                }
                j += r.max(1);
            }
            match close {
                Some(j) => {
                    let span: String = chars[i..j + run].iter().collect();
                    out.push_str(&span.replace('|', "\\|"));
                    i = j + run;
                }
                None => {
                    for _ in 0..run {
                        out.push_str("\\`");
                    }
                    i += run;
                }
            }
            continue;
        }
        let escape = match c {
            '\\' | '*' | '[' | ']' | '<' | '>' | '#' | '|' | '~' => true,
            // Emphasis only opens or closes at a word's edge.
            '_' => !(word(i.checked_sub(1).map(|k| &chars[k])) && word(chars.get(i + 1))),
            // An entity (`&lt;`, `&#60;`) only starts with a letter or `#`.
            '&' => chars.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic() || *n == '#'),
            ':' => chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'/'),
            '.' => i >= 3 && chars[i - 3..i].iter().collect::<String>().eq_ignore_ascii_case("www"),
            '@' => true,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
        i += 1;
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

/// [`md_code`] in a table cell, where a `|` ends the cell even inside a code span.
fn md_cell_code(s: &str) -> String {
    md_code(s).replace('|', "\\|")
}

pub fn render(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        let b = &r.bundle;
        let _ = writeln!(out, "# arcdiag report: {}\n", md_code(&b.source));
        let _ = writeln!(out, "| | |\n|---|---|");
        let _ = writeln!(out, "| layout | {} |", b.layout.as_str());
        if let Some(c) = &b.collected_at {
            let _ = writeln!(out, "| collected | {} |", md_text(c));
        }
        if let Some(n) = &b.cluster.name {
            let _ = writeln!(out, "| cluster | {} |", md_text(n));
        }
        if let Some(d) = &r.facts.distribution {
            let _ = writeln!(out, "| distribution | {} |", md_text(d));
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
                let _ = writeln!(out, "- {}: {}", md_code(&member), md_text(&e.message));
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
                    "| {} | {} | {} | {} |",
                    f.severity,
                    f.code,
                    md_cell_code(&f.subject.to_string()),
                    md_text(&f.title)
                );
            }
            out.push('\n');
            for (fi, f) in r.findings.iter().enumerate() {
                let _ = writeln!(out, "### {} {}: {}\n", f.code, md_text(&f.name), md_text(&f.title));
                let _ = writeln!(
                    out,
                    "Severity **{}**, subject {}.\n",
                    f.severity,
                    md_code(&f.subject.to_string())
                );
                if !f.message.is_empty() {
                    let _ = writeln!(out, "{}\n", md_text(&f.message));
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
                    if f.evidence_omitted > 0 {
                        let _ = writeln!(
                            out,
                            "- ... and {} more, not kept (the first {} are)",
                            f.evidence_omitted,
                            crate::finding::MAX_EVIDENCE
                        );
                    }
                    out.push('\n');
                }
                if !f.fix.is_empty() {
                    // In the rule's order: runs of commands become code blocks between advice.
                    let _ = writeln!(out, "Fix:\n");
                    // Each run of commands is fenced longer than any backtick run in it (a
                    // command quoting bundle text cannot close its block); advice is prose.
                    let mut fence: Option<String> = None;
                    for (li, line) in f.fix.iter().enumerate() {
                        let cmd = is_command(line);
                        if cmd && fence.is_none() {
                            let run = f.fix[li..]
                                .iter()
                                .take_while(|l| is_command(l))
                                .flat_map(|l| l.split(|c| c != '`').map(str::len))
                                .max()
                                .unwrap_or(0);
                            let open = "`".repeat(run.max(2) + 1);
                            let _ = writeln!(out, "{open}sh");
                            fence = Some(open);
                        } else if !cmd {
                            if let Some(close) = fence.take() {
                                let _ = writeln!(out, "{close}");
                            }
                        }
                        if cmd {
                            let _ = writeln!(out, "{}", line.replace('\n', " "));
                        } else {
                            let _ = writeln!(out, "- {}", md_text(line));
                        }
                    }
                    if let Some(close) = fence {
                        let _ = writeln!(out, "{close}");
                    }
                    out.push('\n');
                }
                if !f.related.is_empty() {
                    let _ = writeln!(out, "Related:\n");
                    for rel in &f.related {
                        let _ = writeln!(
                            out,
                            "- {} {}: {}",
                            rel.code,
                            md_code(&rel.subject.to_string()),
                            md_text(&rel.title)
                        );
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
                    md_text(x.reason.as_deref().unwrap_or(""))
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
                format!("{} {}{with}", m.code, md_cell_code(&m.subject))
            })
            .collect();
        let named: Vec<&str> = std::iter::once(inc.root.subject.as_str())
            .chain(inc.members.iter().map(|m| m.subject.as_str()))
            .collect();
        let others: Vec<String> = inc
            .affected
            .iter()
            .filter(|a| !named.contains(&a.as_str()))
            .map(|a| md_cell_code(a))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} {}: {} | {} | {} |",
            n + 1,
            inc.severity,
            inc.root.code,
            md_cell_code(&inc.root.subject),
            md_text(&inc.root.title),
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
