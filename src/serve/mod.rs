//! `arcdiag serve BUNDLE`: a read-only Kubernetes API on 127.0.0.1 over any bundle layout the
//! analyzer reads, so the real `kubectl` works offline against a customer's bundle.
//!
//! The bundle is read and indexed once at start (each object kept as its compact JSON and its
//! `Table` cells, logs kept whole); each request reads only the index, and lists are streamed
//! into the socket. Writes answer 405, unknown paths 404, bad selectors 400, each with a `Status`.
//! The HTTP layer is `http`, a small bounded HTTP/1.1 server (a poller for request heads, a fixed
//! pool of workers; heads bounded and given one deadline; only loopback `Host`s). It knows no
//! rule and never writes: a bundle is only read.

pub mod api;
pub mod http;
pub mod index;
pub mod jsonpath;
pub mod logtime;
pub mod protobuf;
pub mod select;
pub mod table;
pub mod types;

use crate::bundle::{self, Limits};
use crate::signatures::LogMatcher;
use index::Index;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    let b = bundle::open(path, limits, &matcher, false).map_err(|e| format!("cannot read the bundle: {e}"))?;
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
    // The parsed bundle is gone (the index keeps compact JSON): give its pages back, so that
    // an idle server holds about the index, not the peak of reading.
    crate::memory::give_back_now();
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("the listener has no address: {e}"))?;
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
    let trace = std::env::var_os("ARCDIAG_SERVE_TRACE").is_some();
    http::serve(listener, move |req: &http::Request| {
        let reply = api::handle(&ix, &req.method, &req.target, &req.accept, &req.body, port);
        if trace {
            eprintln!("arcdiag: {} {} -> {}", req.method, req.target, reply.code);
        }
        reply
    });
    Ok(())
}
