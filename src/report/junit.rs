//! JUnit XML rendering, for CI systems: a test suite per bundle, a test case per selected rule,
//! a `<failure>` per finding (its type the severity), `<skipped>` for a rule that was skipped or
//! not applicable and `<error>` for one that failed to run. No times or timestamps, so output is
//! byte-identical across runs. Everything from the bundle is XML-escaped; characters XML 1.0
//! cannot hold are written as `\u{..}`. Knows nothing of rules beyond the report it is given.

use super::Report;
use crate::engine::Outcome;
use std::fmt::Write;

pub use super::markup_escape as esc;

fn family(code: &str) -> &str {
    let n = code.find(|c: char| c.is_ascii_digit()).unwrap_or(code.len());
    &code[..n]
}

pub fn render(reports: &[Report]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let count = |r: &Report, o: &[Outcome]| r.rules.iter().filter(|x| o.contains(&x.outcome)).count();
    let tests: usize = reports.iter().map(|r| r.rules.len()).sum();
    let failures: usize = reports.iter().map(|r| r.findings.len()).sum();
    let skipped: usize = reports
        .iter()
        .map(|r| count(r, &[Outcome::Skipped, Outcome::NotApplicable]))
        .sum();
    let errors: usize = reports.iter().map(|r| count(r, &[Outcome::Failed])).sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"arcdiag\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">"
    );
    for r in reports {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
            esc(&r.bundle.source),
            r.rules.len(),
            r.findings.len(),
            count(r, &[Outcome::Failed]),
            count(r, &[Outcome::Skipped, Outcome::NotApplicable])
        );
        for x in &r.rules {
            let _ = write!(
                out,
                "    <testcase classname=\"arcdiag.{}\" name=\"{} {}\"",
                esc(family(&x.code)),
                esc(&x.code),
                esc(&x.name)
            );
            let fs: Vec<_> = r.findings.iter().filter(|f| f.code == x.code).collect();
            let reason = esc(x.reason.as_deref().unwrap_or(""));
            match x.outcome {
                Outcome::Clean if fs.is_empty() => {
                    out.push_str("/>\n");
                    continue;
                }
                _ => out.push_str(">\n"),
            }
            match x.outcome {
                Outcome::Skipped => {
                    let _ = writeln!(out, "      <skipped message=\"skipped: {reason}\"/>");
                }
                Outcome::NotApplicable => {
                    let _ = writeln!(out, "      <skipped message=\"not applicable: {reason}\"/>");
                }
                Outcome::Failed => {
                    let _ = writeln!(out, "      <error message=\"{reason}\"/>");
                }
                Outcome::Fired | Outcome::Clean => {}
            }
            for f in fs {
                let mut body = format!("{}\n{}\n", f.subject, f.message);
                for e in &f.evidence {
                    let _ = writeln!(body, "evidence: {}", e.location());
                    if !e.excerpt.is_empty() {
                        let _ = writeln!(body, "  {}", e.excerpt);
                    }
                }
                for l in &f.fix {
                    let _ = writeln!(body, "fix: {l}");
                }
                let _ = writeln!(
                    out,
                    "      <failure type=\"{}\" message=\"{}: {}\">{}</failure>",
                    f.severity,
                    esc(&f.subject.to_string()),
                    esc(&f.title),
                    esc(&body)
                );
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundle_text_cannot_break_the_xml() {
        assert_eq!(
            super::esc("<script>\"'&\x1b\u{0}ok\n"),
            "&lt;script&gt;&quot;&#39;&amp;\\u{1b}\\u{0}ok\n"
        );
    }
}
