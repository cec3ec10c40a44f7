//! `arcdiag serve BUNDLE`: a read-only Kubernetes API on 127.0.0.1 over any bundle layout the
//! analyzer reads, so the real `kubectl` works offline against a customer's bundle.
//!
//! The bundle is read and indexed once at start (logs kept whole, in memory); each request reads
//! only the index. Writes answer 405, unknown paths 404, bad selectors 400, each with a `Status`.
//! The HTTP layer is `tiny_http` (a small, dependency-light, maintained server that handles
//! keep-alive, chunked bodies and `Expect: 100-continue`, which kubectl's Go client uses).

pub mod api;
pub mod index;
pub mod select;
pub mod table;

use crate::bundle::{self, Limits};
use crate::signatures::LogMatcher;
use index::Index;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Worker threads answering requests.
const WORKERS: usize = 4;

fn kubeconfig_text(port: u16) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: arcdiag-bundle\n  cluster:\n    server: http://127.0.0.1:{port}\ncontexts:\n- name: arcdiag-bundle\n  context:\n    cluster: arcdiag-bundle\n    user: arcdiag-bundle\n    namespace: default\ncurrent-context: arcdiag-bundle\nusers:\n- name: arcdiag-bundle\n  user: {{}}\npreferences: {{}}\n"
    )
}

fn absolute(p: &Path) -> Result<PathBuf, String> {
    std::path::absolute(p).map_err(|e| format!("cannot resolve {}: {e}", p.display()))
}

/// Read and index the bundle.
pub fn load(path: &Path, limits: &Limits) -> Result<Index, String> {
    let mut matcher = LogMatcher::empty();
    matcher.keep_text = true;
    let b = bundle::open(path, limits, &matcher).map_err(|e| format!("cannot read the bundle: {e}"))?;
    if b.partial() {
        eprintln!(
            "arcdiag: serve: {}: partial: {} problem(s) reading the bundle; serving the rest",
            path.display(),
            b.errors.len()
        );
        for e in b.errors.iter().take(5) {
            eprintln!("arcdiag:   {}: {}", e.member, e.message);
        }
    }
    Ok(Index::build(b))
}

/// Serve until the process is killed.
pub fn run(path: &Path, port: u16, kubeconfig: &Path, limits: &Limits) -> Result<(), String> {
    let ix = Arc::new(load(path, limits)?);
    let server =
        tiny_http::Server::http(("127.0.0.1", port)).map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let port = server
        .server_addr()
        .to_ip()
        .map(|a| a.port())
        .ok_or_else(|| "the listener has no IP address".to_string())?;
    let kc = absolute(kubeconfig)?;
    std::fs::write(&kc, kubeconfig_text(port)).map_err(|e| format!("cannot write {}: {e}", kc.display()))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "export KUBECONFIG={}", kc.display())
            .and_then(|_| out.flush())
            .map_err(|e| format!("cannot write to standard output: {e}"))?;
    }
    let objects: usize = ix.objects.values().map(Vec::len).sum();
    eprintln!(
        "arcdiag: serving {} objects and {} logs from {} on http://127.0.0.1:{port} (read-only; stop with Ctrl-C)",
        objects,
        ix.logs.len(),
        path.file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let server = Arc::new(server);
    let trace = std::env::var_os("ARCDIAG_SERVE_TRACE").is_some();
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let (server, ix) = (server.clone(), ix.clone());
        workers.push(std::thread::spawn(move || loop {
            let req = match server.recv() {
                Ok(r) => r,
                Err(_) => continue,
            };
            let accept = req
                .headers()
                .iter()
                .find(|h| h.field.equiv("Accept"))
                .map(|h| h.value.as_str().to_string())
                .unwrap_or_default();
            let method = req.method().as_str().to_ascii_uppercase();
            let reply = api::handle(&ix, &method, req.url(), &accept, port);
            if trace {
                eprintln!("arcdiag: {method} {} -> {}", req.url(), reply.code);
            }
            let mut resp = tiny_http::Response::from_data(reply.body).with_status_code(reply.code);
            if let Ok(h) = tiny_http::Header::from_bytes("Content-Type", reply.content_type) {
                resp.add_header(h);
            }
            let _ = req.respond(resp);
        }));
    }
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}
