//! HTML rendering: one self-contained page per run, to look at and forward (CSS and the small
//! copy-button script inline; no network, no fonts, no framework; a Content-Security-Policy that
//! forbids loading anything). It shows the incidents, each finding with its evidence and fix
//! (commands with a copy button), the inputs that failed or were absent, problems reading the
//! bundle, the bundle's facts, and a timeline (inline SVG) of events, condition transitions and
//! cited log lines per component. Everything from the bundle goes through [`esc`]. Knows nothing
//! of rules beyond the report it is given.

use super::{is_command, Report};
use crate::bundle::InputState;
use std::fmt::Write;

pub use super::markup_escape as esc;

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}
h3{font-size:15px;margin:0 0 6px}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #d5d9e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef0f4}
.sev{display:inline-block;min-width:56px;text-align:center;border-radius:3px;padding:0 6px;color:#fff;font-weight:600;font-size:12px}
.sev-error{background:#c62828}.sev-warning{background:#b26a00}.sev-info{background:#1565c0}
.card{background:#fff;border:1px solid #d5d9e0;border-left:5px solid #999;border-radius:4px;padding:10px 14px;margin:10px 0}
.card.error{border-left-color:#c62828}.card.warning{border-left-color:#b26a00}.card.info{border-left-color:#1565c0}
.subject,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#f0f2f5;padding:6px 8px;margin:2px 0 8px;white-space:pre-wrap;word-break:break-all;font-size:12px}
.loc{color:#4a5568;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.cmd{display:flex;gap:6px;align-items:flex-start}.cmd pre{flex:1;background:#1d2330;color:#e8ecf2}
button.copy{font-size:12px;padding:3px 8px;cursor:pointer}
.muted{color:#6b7280}ul{margin:4px 0 8px 20px;padding:0}
svg text{font:11px ui-monospace,Menlo,Consolas,monospace}
.tl-event{fill:#6a1b9a}.tl-condition{fill:#c62828}.tl-log{fill:#00796b}
"#;

const SCRIPT: &str = r#"
document.querySelectorAll('button.copy').forEach(function(b){b.addEventListener('click',function(){
var t=b.parentNode.querySelector('pre').textContent;
function done(){b.textContent='copied';setTimeout(function(){b.textContent='copy'},1500)}
if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(t).then(done,fallback)}else{fallback()}
function fallback(){var a=document.createElement('textarea');a.value=t;document.body.appendChild(a);a.select();
try{document.execCommand('copy');done()}catch(e){}document.body.removeChild(a)}
})});
"#;

fn sev_badge(s: crate::finding::Severity) -> String {
    format!("<span class=\"sev sev-{0}\">{0}</span>", s.as_str())
}

pub fn render(reports: &[Report]) -> String {
    let mut out = String::new();
    let title = match reports {
        [r] => format!("arcdiag report: {}", r.bundle.source),
        _ => format!("arcdiag report: {} bundles", reports.len()),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        esc(&title)
    );
    for (i, r) in reports.iter().enumerate() {
        render_one(&mut out, r, i);
    }
    let _ = write!(out, "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

fn render_one(out: &mut String, r: &Report, n: usize) {
    let b = &r.bundle;
    let id = |i: usize| format!("r{n}-f{i}");
    let _ = writeln!(
        out,
        "<article class=\"report\">\n<h1>arcdiag report: {}</h1>",
        esc(&b.source)
    );
    let s = &r.summary;
    let _ = writeln!(
        out,
        "<p>{} error(s), {} warning(s), {} info in {} incident(s); rules: {} fired, {} clean, {} skipped, {} not applicable, {} failed</p>",
        s.error, s.warning, s.info, r.incidents.len(), s.rules_fired, s.rules_clean, s.rules_skipped, s.rules_not_applicable, s.rules_failed
    );
    // Incidents
    let _ = writeln!(out, "<h2>Incidents</h2>");
    if r.incidents.is_empty() {
        let _ = writeln!(out, "<p>No findings.</p>");
    }
    for (k, inc) in r.incidents.iter().enumerate() {
        let root = &inc.root;
        let _ = writeln!(
            out,
            "<div class=\"card {sev} incident\" id=\"r{n}-i{k}\">\n<h3>{} {} <a href=\"#{}\">{}</a> <span class=\"subject\">{}</span></h3>\n<p>{}</p>",
            k + 1,
            sev_badge(inc.severity),
            id(root.finding),
            esc(&root.code),
            esc(&root.subject),
            esc(&root.title),
            sev = inc.severity.as_str()
        );
        if !inc.members.is_empty() {
            let _ = writeln!(out, "<ul>");
            for m in &inc.members {
                let how = if m.explained_by.is_empty() {
                    "with".to_string()
                } else {
                    format!("explained by {}", esc(&m.explained_by.join(", ")))
                };
                let _ = writeln!(
                    out,
                    "<li>{} <a href=\"#{}\">{}</a> <span class=\"subject\">{}</span>: {} <span class=\"muted\">({how})</span></li>",
                    sev_badge(m.severity),
                    id(m.finding),
                    esc(&m.code),
                    esc(&m.subject),
                    esc(&m.title)
                );
            }
            let _ = writeln!(out, "</ul>");
        }
        if !inc.affected.is_empty() {
            let list: Vec<String> = inc
                .affected
                .iter()
                .map(|a| format!("<code>{}</code>", esc(a)))
                .collect();
            let _ = writeln!(out, "<p class=\"muted\">affects {}</p>", list.join(", "));
        }
        let _ = writeln!(out, "</div>");
    }
    // Timeline
    render_timeline(out, r);
    // Findings
    let _ = writeln!(out, "<h2>Findings</h2>");
    let repeated = r.repeated_evidence();
    for (i, f) in r.findings.iter().enumerate() {
        let _ = writeln!(
            out,
            "<section class=\"card {} finding\" id=\"{}\" data-code=\"{}\">\n<h3>{} {} {} <span class=\"subject\">{}</span></h3>\n<p><strong>{}</strong></p>",
            f.severity.as_str(),
            id(i),
            esc(&f.code),
            sev_badge(f.severity),
            esc(&f.code),
            esc(&f.name),
            esc(&f.subject.to_string()),
            esc(&f.title)
        );
        if !f.message.is_empty() {
            let _ = writeln!(out, "<p>{}</p>", esc(&f.message));
        }
        if !f.evidence.is_empty() {
            let _ = writeln!(out, "<h4>Evidence</h4>");
            for (ei, e) in f.evidence.iter().enumerate() {
                let _ = write!(out, "<div class=\"loc\">{}", esc(&e.location()));
                if let Some(shown) = repeated[i][ei] {
                    let by = &r.findings[shown];
                    let _ = writeln!(
                        out,
                        " <a href=\"#{}\">(quoted under {} {})</a></div>",
                        id(shown),
                        esc(&by.code),
                        esc(&by.subject.to_string())
                    );
                    continue;
                }
                let _ = writeln!(out, "</div>");
                if !e.excerpt.is_empty() {
                    let _ = writeln!(out, "<pre>{}</pre>", esc(&e.excerpt));
                }
            }
            if f.evidence_omitted > 0 {
                let _ = writeln!(
                    out,
                    "<div class=\"loc\">... and {} more, not kept (the first {} are)</div>",
                    f.evidence_omitted,
                    crate::finding::MAX_EVIDENCE
                );
            }
        }
        if !f.fix.is_empty() {
            let _ = writeln!(out, "<h4>Fix</h4>");
            for line in &f.fix {
                if is_command(line) {
                    let _ = writeln!(
                        out,
                        "<div class=\"cmd\"><pre>{}</pre><button class=\"copy\" type=\"button\">copy</button></div>",
                        esc(line)
                    );
                } else {
                    let _ = writeln!(out, "<p>{}</p>", esc(line));
                }
            }
        }
        if !f.related.is_empty() {
            let _ = writeln!(out, "<h4>Related</h4><ul>");
            for rel in &f.related {
                let _ = writeln!(
                    out,
                    "<li>{} <span class=\"subject\">{}</span>: {}</li>",
                    esc(&rel.code),
                    esc(&rel.subject),
                    esc(&rel.title)
                );
            }
            let _ = writeln!(out, "</ul>");
        }
        let _ = writeln!(out, "</section>");
    }
    // Inputs and problems
    let missing: Vec<_> = r.inputs.iter().filter(|i| i.state != InputState::Present).collect();
    let _ = writeln!(out, "<h2>Inputs failed or absent</h2>");
    if missing.is_empty() {
        let _ = writeln!(out, "<p>Every input the collection plan lists is present.</p>");
    } else {
        let _ = writeln!(out, "<table><tr><th>input</th><th>state</th><th>reason</th></tr>");
        for i in missing {
            let state = serde_json::to_value(i.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&i.id),
                esc(&state),
                esc(i.reason.as_deref().unwrap_or(""))
            );
        }
        let _ = writeln!(out, "</table>");
    }
    if !b.errors.is_empty() {
        let _ = writeln!(out, "<h2>Problems reading the bundle</h2><ul>");
        for e in &b.errors {
            let _ = writeln!(out, "<li><code>{}</code>: {}</li>", esc(&e.member), esc(&e.message));
        }
        let _ = writeln!(out, "</ul>");
    }
    let skipped: Vec<_> = super::unvouched(r).collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "<h2>Rules that could not vouch for the cluster</h2><ul>");
        for x in skipped {
            let _ = writeln!(
                out,
                "<li>{} {} {}: {}</li>",
                esc(&x.code),
                esc(&x.name),
                x.outcome.as_str(),
                esc(x.reason.as_deref().unwrap_or(""))
            );
        }
        let _ = writeln!(out, "</ul>");
    }
    // Facts
    let fa = &r.facts;
    let _ = writeln!(out, "<h2>Bundle facts</h2>\n<table>");
    let mut row = |k: &str, v: &str| {
        let _ = writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    };
    row("layout", b.layout.as_str());
    row("collected", b.collected_at.as_deref().unwrap_or("unknown"));
    row("cluster", b.cluster.name.as_deref().unwrap_or("unknown"));
    let ct = serde_json::to_value(fa.cluster_type)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    row("cluster type", &ct);
    row("distribution", fa.distribution.as_deref().unwrap_or("unknown"));
    row("integrity", b.integrity.state);
    row("complete", if b.complete { "yes" } else { "no (interrupted)" });
    row("partial", if b.partial { "yes" } else { "no" });
    row("flux installed", if fa.flux_installed { "yes" } else { "no" });
    row("osm installed", if fa.osm_installed { "yes" } else { "no" });
    row(
        "container insights installed",
        if fa.container_insights_installed { "yes" } else { "no" },
    );
    row("meshed namespaces", &fa.meshed_namespaces.join(", "));
    for (node, os) in &fa.node_os {
        row(&format!("node {node}"), os);
    }
    let _ = writeln!(out, "</table>\n</article>");
}

/// The timeline as inline SVG: a lane per component, a mark per moment (its text in a tooltip),
/// then the moments as a list.
fn render_timeline(out: &mut String, r: &Report) {
    let _ = writeln!(out, "<h2>Timeline</h2>");
    let t = &r.timeline;
    let (Some(first), Some(last)) = (t.first(), t.last()) else {
        let _ = writeln!(out, "<p>No dated events, condition transitions or log lines.</p>");
        return;
    };
    let mut lanes: Vec<&str> = t.iter().map(|m| m.component.as_str()).collect();
    lanes.sort();
    lanes.dedup();
    let (left, width, lane_h) = (230i64, 900i64, 22i64);
    let span = (last.at - first.at).max(1);
    let height = lane_h * lanes.len() as i64 + 30;
    let _ = writeln!(
        out,
        "<p class=\"muted\">{} to {} UTC: <svg width=\"12\" height=\"10\"><circle cx=\"5\" cy=\"5\" r=\"4\" class=\"tl-event\"/></svg> event \
<svg width=\"12\" height=\"10\"><circle cx=\"5\" cy=\"5\" r=\"4\" class=\"tl-condition\"/></svg> condition \
<svg width=\"12\" height=\"10\"><circle cx=\"5\" cy=\"5\" r=\"4\" class=\"tl-log\"/></svg> cited log line</p>",
        esc(&first.time),
        esc(&last.time)
    );
    let _ = writeln!(
        out,
        "<svg class=\"timeline\" role=\"img\" aria-label=\"timeline\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\" style=\"background:#fff;border:1px solid #d5d9e0;max-width:100%\">",
        left + width + 20,
        left + width + 20
    );
    for (i, lane) in lanes.iter().enumerate() {
        let y = 20 + lane_h * i as i64;
        let _ = writeln!(
            out,
            "<text x=\"6\" y=\"{}\">{}</text><line x1=\"{left}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#e2e5ea\"/>",
            y + 4,
            esc(&crate::text::excerpt(lane, 30)),
            left + width
        );
    }
    for m in t {
        let lane = lanes.iter().position(|l| *l == m.component).unwrap_or(0);
        let x = left + (m.at - first.at) * width / span;
        let y = 20 + lane_h * lane as i64;
        let _ = writeln!(
            out,
            "<circle cx=\"{x}\" cy=\"{y}\" r=\"5\" class=\"tl-{}\"><title>{} {}: {}</title></circle>",
            m.kind,
            esc(&m.time),
            m.kind,
            esc(&m.text)
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{left}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text></svg>",
        height - 6,
        esc(&first.time),
        left + width,
        height - 6,
        esc(&last.time)
    );
    let _ = writeln!(
        out,
        "<details><summary>{} moment(s)</summary><table><tr><th>time</th><th>component</th><th>kind</th><th>what</th></tr>",
        t.len()
    );
    for m in t {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.time),
            esc(&m.component),
            m.kind,
            esc(&crate::text::excerpt(&m.text, 400))
        );
    }
    let _ = writeln!(out, "</table></details>");
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundle_text_cannot_become_markup() {
        assert_eq!(
            super::esc("<script>alert(1)</script>\"><img src=x onerror=alert(1)>'\u{1b}"),
            "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&#39;\\u{1b}"
        );
    }
}
