//! `analyze --format html` in a real browser: headless Chromium (Debian's `chromium`; `.ci/run`
//! installs it) renders the sample's page from `file://` and its DOM must hold every finding and
//! incident; hostile text from a bundle stays text; the page loads nothing from anywhere.

mod common;
use common::{arcdiag, copy_dir, root, SAMPLE};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> String {
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(c).exists() {
            return c.to_string();
        }
    }
    panic!("headless Chromium is needed (apt-get install -y chromium; .ci/run installs it)");
}

/// The DOM Chromium builds from the page, after its script ran.
fn dump_dom(page: &Path) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run chromium");
    // A browser that hangs fails the test instead of stalling the suite (it takes seconds alone,
    // minutes on a machine busy with builds).
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let mut stderr = child.stderr.take().expect("stderr");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait chromium") {
            break st;
        }
        if started.elapsed() > Duration::from_secs(600) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish rendering {} in 600 s", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let err = err_reader.join().unwrap_or_default();
    assert!(status.success(), "chromium: {err}");
    reader.join().expect("stdout reader")
}

fn html_of(bundle: &Path, dir: &Path) -> (std::path::PathBuf, String) {
    let page = dir.join("report.html");
    let o = arcdiag(&[
        "analyze".as_ref(),
        bundle.as_os_str(),
        "--format".as_ref(),
        "html".as_ref(),
        "--output".as_ref(),
        page.as_os_str(),
    ]);
    assert!(
        o.status.code().is_some_and(|c| c < 2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&page).expect("page written");
    (page, text)
}

#[test]
fn the_sample_page_holds_every_finding_in_a_browser() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (page, html) = html_of(&root().join(SAMPLE), tmp.path());
    // Self-contained: nothing is loaded from anywhere.
    for bad in ["src=\"http", "href=\"http", "@import", "url(", "<link", "@font-face"] {
        assert!(!html.contains(bad), "the page refers to something outside it: {bad}");
    }
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    let dom = dump_dom(&page);
    let (_, report, _) = common::analyze_json(&root().join(SAMPLE), &[]);
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 11);
    for (i, f) in findings.iter().enumerate() {
        let want = format!("id=\"r0-f{i}\" data-code=\"{}\"", f["code"].as_str().expect("code"));
        assert!(dom.contains(&want), "finding {i} ({}) missing from the DOM", f["code"]);
        let title = f["title"]
            .as_str()
            .expect("title")
            .replace('\'', "&#39;")
            .replace('"', "&quot;");
        assert!(
            dom.contains(&title.replace("&#39;", "'").replace("&quot;", "\"")),
            "title of {i}"
        );
    }
    let incidents = report["incidents"].as_array().expect("incidents").len();
    for k in 0..incidents {
        assert!(dom.contains(&format!("id=\"r0-i{k}\"")), "incident {k}");
    }
    assert!(dom.contains("<svg class=\"timeline\""), "timeline drawn");
    assert!(
        dom.contains("<button class=\"copy\""),
        "fix commands have a copy button"
    );
    assert!(dom.contains("kubectl describe node k8s-worker-03"));
}

#[test]
fn hostile_bundle_text_stays_text_in_a_browser() {
    let tmp = tempfile::tempdir().expect("tmp");
    let b = tmp.path().join("arcdiag-contoso-arc-01-20261125T170000Z");
    copy_dir(&root().join(SAMPLE), &b);
    let log = b.join("logs/payments/ledger-worker-feffd96ba-1d4e1/worker.previous.log");
    let mut text = std::fs::read_to_string(&log).expect("log");
    text.push_str(
        "<script>document.title='pwned'</script>\"><img src=x onerror=\"document.title='pwned'\"></pre><b>bold</b>\n",
    );
    std::fs::write(&log, text).expect("write");
    let (page, html) = html_of(&b, tmp.path());
    assert!(!html.contains("<img"), "markup from the bundle reached the page");
    assert_eq!(html.matches("<script>").count(), 1, "only the page's own script");
    let dom = dump_dom(&page);
    assert!(!dom.contains("pwned</title>"), "a bundle's script ran");
    assert!(!dom.contains("<img"), "a bundle's element was created");
    assert!(!dom.contains("<b>bold</b>"));
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "shown as text"
    );
}
