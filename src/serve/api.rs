//! Request routing: discovery, list/get (JSON or `Table`, paged by `limit`/`continue`, lists
//! streamed), pod logs, a minimal OpenAPI, `SelfSubjectAccessReview`, `Status` errors. Pure: a
//! request in, a response out, from the index only. Knows nothing of sockets (`http`) or of bundle
//! layouts (`index`).

use super::index::{Index, Obj, ResourceType};
use super::select::{FieldSelector, LabelSelector};
use super::table::write_table;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

/// Writes a streamed body into the connection, chunk by chunk; an error (the client went away)
/// stops it.
pub type StreamFn = Box<dyn FnOnce(&mut dyn Write) -> std::io::Result<()> + Send>;

/// An answer's body: small ones whole, lists streamed.
pub enum Body {
    Bytes(Vec<u8>),
    Stream(StreamFn),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Bytes(b) => write!(f, "Bytes({})", b.len()),
            Body::Stream(_) => f.write_str("Stream"),
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub code: u16,
    pub content_type: &'static str,
    pub body: Body,
}

fn json_reply(code: u16, v: &Value) -> Reply {
    let mut body = serde_json::to_vec(v).unwrap_or_default();
    body.push(b'\n');
    Reply {
        code,
        content_type: "application/json",
        body: Body::Bytes(body),
    }
}

fn ok(v: &Value) -> Reply {
    json_reply(200, v)
}

/// A `Status` failure.
pub fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Reply {
    let mut v = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(d) = details {
        v["details"] = d;
    }
    json_reply(code, &v)
}

fn not_found_path() -> Reply {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
        None,
    )
}

fn qualified(t: &ResourceType) -> String {
    if t.group.is_empty() {
        t.plural.clone()
    } else {
        format!("{}.{}", t.plural, t.group)
    }
}

fn not_found_obj(t: &ResourceType, name: &str) -> Reply {
    status(
        404,
        "NotFound",
        &format!("{} \"{name}\" not found", qualified(t)),
        Some(json!({"name": name, "group": t.group, "kind": t.plural})),
    )
}

fn bad_request(msg: &str) -> Reply {
    status(400, "BadRequest", msg, None)
}

/// Percent-decoding of a query component (`+` is a space).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut k = 0;
    while k < b.len() {
        match b[k] {
            b'+' => out.push(b' '),
            b'%' if k + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[k + 1..k + 3]).unwrap_or("zz"), 16) {
                    Ok(x) => {
                        out.push(x);
                        k += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        k += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// Built-in groups in the order a real API server lists them (kubectl resolves names by it).
const GROUP_ORDER: &[&str] = &[
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
    "flowcontrol.apiserver.k8s.io",
];

fn group_rank(g: &str) -> (usize, String) {
    (
        GROUP_ORDER.iter().position(|x| *x == g).unwrap_or(GROUP_ORDER.len()),
        g.to_string(),
    )
}

fn api_group(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({
        "name": name,
        "versions": vs,
        "preferredVersion": vs.first().cloned().unwrap_or(Value::Null),
    })
}

fn resource_list(ix: &Index, group: &str, version: &str) -> Option<Value> {
    let mut res: Vec<Value> = Vec::new();
    for t in ix.types.values() {
        if t.group != group || !t.versions.iter().any(|v| v == version) {
            continue;
        }
        let verbs = if t.group == "authorization.k8s.io" {
            json!(["create"])
        } else {
            json!(["get", "list"])
        };
        let mut r = json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": verbs,
        });
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if !t.categories.is_empty() {
            r["categories"] = json!(t.categories);
        }
        res.push(r);
        if group.is_empty() && t.plural == "pods" {
            res.push(
                json!({"name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"]}),
            );
        }
    }
    if res.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": res}))
}

/// Answer one request.
pub fn handle(ix: &Arc<Index>, method: &str, url: &str, accept: &str, body: &[u8], port: u16) -> Reply {
    let path_only = url.split_once('?').map_or(url, |(p, _)| p);
    if method == "POST" && path_only.trim_end_matches('/') == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" {
        return access_review(body);
    }
    if method != "GET" && method != "HEAD" {
        return status(
            405,
            "MethodNotAllowed",
            &format!("{method} is not allowed: the API is served from a support bundle and is read-only"),
            None,
        );
    }
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let q = parse_query(query);
    let parts: Vec<String> = path.split('/').filter(|p| !p.is_empty()).map(decode).collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    match parts.as_slice() {
        ["version"] => ok(&ix.version),
        ["healthz"] | ["livez"] | ["readyz"] => Reply {
            code: 200,
            content_type: "text/plain; charset=utf-8",
            body: Body::Bytes(b"ok".to_vec()),
        },
        ["api"] => ok(&json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": format!("127.0.0.1:{port}")}],
        })),
        ["apis"] => {
            let mut groups: Vec<(String, Vec<String>)> = ix.groups().into_iter().collect();
            groups.sort_by_key(|(g, _)| group_rank(g));
            let gs: Vec<Value> = groups.iter().map(|(g, vs)| api_group(g, vs)).collect();
            ok(&json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": gs}))
        }
        ["api", "v1"] => resource_list(ix, "", "v1")
            .map(|v| ok(&v))
            .unwrap_or_else(not_found_path),
        ["apis", g] => match ix.groups().get(*g) {
            Some(vs) => {
                let mut v = api_group(g, vs);
                v["kind"] = json!("APIGroup");
                v["apiVersion"] = json!("v1");
                ok(&v)
            }
            None => not_found_path(),
        },
        ["apis", g, v] => resource_list(ix, g, v).map(|x| ok(&x)).unwrap_or_else(not_found_path),
        ["openapi", "v3"] => ok(&openapi_v3_paths(ix)),
        ["openapi", "v3", "api", "v1"] => openapi_v3(ix, "", "v1"),
        ["openapi", "v3", "apis", g, v] => openapi_v3(ix, g, v),
        // kubectl's client-side validation asks for protobuf: a document with no definitions
        // (`swagger: "2.0"` alone), so every kind is one it has no schema for and does not check.
        ["openapi", "v2"] if accept.contains("protobuf") => Reply {
            code: 200,
            content_type: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
            body: Body::Bytes(b"\x0a\x032.0".to_vec()),
        },
        ["openapi", "v2"] => ok(&openapi_v2(ix)),
        ["api", "v1", rest @ ..] => resource(ix, "", "v1", rest, &q, accept),
        ["apis", g, v, rest @ ..] => resource(ix, g, v, rest, &q, accept),
        _ => not_found_path(),
    }
}

fn resource(
    ix: &Arc<Index>,
    group: &str,
    version: &str,
    rest: &[&str],
    q: &BTreeMap<String, String>,
    accept: &str,
) -> Reply {
    let (ns, plural, name, sub) = match rest {
        [res] => (None, *res, None, None),
        [res, name] => (None, *res, Some(*name), None),
        ["namespaces", ns, res] => (Some(*ns), *res, None, None),
        ["namespaces", ns, res, name] => (Some(*ns), *res, Some(*name), None),
        ["namespaces", ns, res, name, sub] => (Some(*ns), *res, Some(*name), Some(*sub)),
        _ => return not_found_path(),
    };
    let Some(t) = ix.lookup(group, version, plural) else {
        return not_found_path();
    };
    if ns.is_some() && !t.namespaced {
        return not_found_path();
    }
    if name.is_some() && ns.is_none() && t.namespaced {
        return not_found_path();
    }
    if q.get("watch").is_some_and(|w| w == "true" || w == "1") {
        return status(
            405,
            "MethodNotAllowed",
            "watch is not supported: the API is served from a support bundle, a snapshot that never changes",
            None,
        );
    }
    let objects = ix.objects_of(t);
    let want_table = accept.contains("as=Table");
    let include = q
        .get("includeObject")
        .map(String::as_str)
        .unwrap_or("Metadata")
        .to_string();
    if let Some(name) = name {
        let ns = ns.unwrap_or("");
        let found = objects
            .binary_search_by(|o| (&*o.namespace, &*o.name).cmp(&(ns, name)))
            .ok()
            .and_then(|k| objects.get(k));
        let Some(o) = found else {
            return not_found_obj(t, name);
        };
        return match sub {
            None if want_table => {
                let mut body = Vec::new();
                let _ = write_table(
                    &mut body,
                    t,
                    std::iter::once(o),
                    &include,
                    br#"{"resourceVersion":"1"}"#,
                );
                Reply {
                    code: 200,
                    content_type: "application/json",
                    body: Body::Bytes(body),
                }
            }
            None => {
                let mut body = Vec::with_capacity(o.json.len() + 1);
                body.extend_from_slice(&o.json);
                body.push(b'\n');
                Reply {
                    code: 200,
                    content_type: "application/json",
                    body: Body::Bytes(body),
                }
            }
            Some("log") if t.group.is_empty() && t.plural == "pods" => pod_log(ix, &o.value(), q),
            Some(_) => not_found_path(),
        };
    }
    let labels = match LabelSelector::parse(q.get("labelSelector").map(String::as_str).unwrap_or("")) {
        Ok(s) => s,
        Err(e) => return bad_request(&format!("unable to parse requirement: {e}")),
    };
    let fields = match FieldSelector::parse(q.get("fieldSelector").map(String::as_str).unwrap_or("")) {
        Ok(s) => s,
        Err(e) => return bad_request(&e),
    };
    if let Some(k) = fields.keys().find(|k| !field_supported(t, k)) {
        return bad_request(&format!("field label not supported: {k}"));
    }
    let limit = match q.get("limit").filter(|l| !l.is_empty()) {
        None => None,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n > 0 => Some(n as usize),
            Ok(_) => None,
            Err(_) => return bad_request(&format!("invalid limit: {l:?}")),
        },
    };
    // Where the page starts: after the key the continue token names (valid as long as the
    // bundle is served: it never changes).
    let mut start = match ns {
        Some(n) => objects.partition_point(|o| &*o.namespace < n),
        None => 0,
    };
    if let Some(c) = q.get("continue").filter(|c| !c.is_empty()) {
        match decode_continue(c) {
            Some((cns, cname)) => {
                let after = objects.partition_point(|o| (&*o.namespace, &*o.name) <= (cns.as_str(), cname.as_str()));
                start = start.max(after);
            }
            None => return bad_request("continue key is not valid: the token was not made by this server"),
        }
    }
    let in_ns = |o: &Obj| ns.is_none_or(|n| &*o.namespace == n);
    let simple_fields = fields.keys().all(|k| k == "metadata.name" || k == "metadata.namespace");
    let matches = |o: &Obj| {
        labels.matches(Some(&o.labels).filter(|l| !l.is_null()))
            && (fields.is_empty()
                || if simple_fields {
                    fields.matches(&json!({"metadata": {"name": &*o.name, "namespace": &*o.namespace}}))
                } else {
                    fields.matches(&o.value())
                })
    };
    let mut picked: Vec<u32> = Vec::new();
    let mut more = false;
    let mut k = start;
    while k < objects.len() {
        let o = &objects[k];
        if !in_ns(o) {
            // Sorted by namespace: past the namespace, nothing more matches.
            if ns.is_some() {
                break;
            }
        } else if matches(o) {
            if limit.is_some_and(|l| picked.len() >= l) {
                more = true;
                break;
            }
            picked.push(k as u32);
        }
        k += 1;
    }
    let mut meta = serde_json::Map::new();
    if more {
        if let Some(last) = picked.last().and_then(|k| objects.get(*k as usize)) {
            meta.insert("continue".into(), json!(encode_continue(&last.namespace, &last.name)));
        }
        if labels.is_empty() && fields.is_empty() {
            let rest = objects[k..].iter().take_while(|o| in_ns(o)).count();
            meta.insert("remainingItemCount".into(), json!(rest));
        }
    }
    meta.insert("resourceVersion".into(), json!("1"));
    let meta = serde_json::to_vec(&Value::Object(meta)).unwrap_or_default();
    let ix = Arc::clone(ix);
    let key = (t.group.clone(), t.plural.clone());
    let head = format!(
        "{{\"apiVersion\":{},\"items\":[",
        Value::String(t.api_version_for(version))
    );
    let tail = format!("],\"kind\":{},\"metadata\":", Value::String(format!("{}List", t.kind)));
    let stream: StreamFn = Box::new(move |out: &mut dyn Write| {
        let Some(t) = ix.types.get(&key) else {
            return Ok(());
        };
        let objects = ix.objects.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        let rows = picked.iter().filter_map(|k| objects.get(*k as usize));
        if want_table {
            return write_table(out, t, rows, &include, &meta);
        }
        out.write_all(head.as_bytes())?;
        for (n, o) in rows.enumerate() {
            if n > 0 {
                out.write_all(b",")?;
            }
            out.write_all(&o.json)?;
        }
        out.write_all(tail.as_bytes())?;
        out.write_all(&meta)?;
        out.write_all(b"}\n")
    });
    Reply {
        code: 200,
        content_type: "application/json",
        body: Body::Stream(stream),
    }
}

/// What every schema says: a bundle holds objects, not their schemas.
fn schema_of(t: &ResourceType, version: &str) -> Value {
    json!({
        "description": format!(
            "{} objects served by `arcdiag serve` from a support bundle (read-only). The bundle holds the objects as collected, not their schema: see the Kubernetes API reference (or the CRD) for the fields.",
            t.kind
        ),
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "x-kubernetes-group-version-kind": [{"group": t.group, "version": version, "kind": t.kind}],
    })
}

fn schema_name(t: &ResourceType, version: &str) -> String {
    let g = if t.group.is_empty() { "core" } else { t.group.as_str() };
    format!("io.arcdiag.bundle.{g}.{version}.{}", t.kind)
}

/// `/openapi/v3`: one document per group version.
fn openapi_v3_paths(ix: &Index) -> Value {
    let mut paths = serde_json::Map::new();
    for t in ix.types.values() {
        for v in &t.versions {
            let key = if t.group.is_empty() {
                format!("api/{v}")
            } else {
                format!("apis/{}/{v}", t.group)
            };
            let url = format!("/openapi/v3/{key}?hash=arcdiag-bundle");
            paths.insert(key, json!({"serverRelativeURL": url}));
        }
    }
    json!({"paths": paths})
}

/// A minimal OpenAPI v3 document of a group version: one schema per kind, enough for `kubectl
/// explain` to say what is served and for `kubectl apply --dry-run=client` to validate against.
fn openapi_v3(ix: &Index, group: &str, version: &str) -> Reply {
    let mut schemas = serde_json::Map::new();
    let mut paths = serde_json::Map::new();
    let root = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    for t in ix.types.values() {
        if t.group == group && t.versions.iter().any(|v| v == version) {
            let name = schema_name(t, version);
            let path = if t.namespaced {
                format!("{root}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
            } else {
                format!("{root}/{}/{{name}}", t.plural)
            };
            paths.insert(
                path,
                json!({"get": {
                    "x-kubernetes-group-version-kind": {"group": t.group, "version": version, "kind": t.kind},
                    "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}}},
                }}),
            );
            schemas.insert(name, schema_of(t, version));
        }
    }
    if schemas.is_empty() {
        return not_found_path();
    }
    ok(&json!({
        "openapi": "3.0.0",
        "info": {"title": "arcdiag serve (a support bundle, read-only)", "version": "v0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// `/openapi/v2` in JSON, the same schemas.
fn openapi_v2(ix: &Index) -> Value {
    let mut defs = serde_json::Map::new();
    for t in ix.types.values() {
        for v in &t.versions {
            defs.insert(schema_name(t, v), schema_of(t, v));
        }
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "arcdiag serve (a support bundle, read-only)", "version": "v0"},
        "paths": {},
        "definitions": defs,
    })
}

/// `kubectl auth can-i`: reads (get, list, watch) are allowed, every write denied.
fn access_review(body: &[u8]) -> Reply {
    // JSON, or protobuf (kubectl 1.37 and later post built-in types so, `serve::protobuf`).
    let parsed = serde_json::from_slice::<Value>(body)
        .ok()
        .or_else(|| super::protobuf::access_review(body));
    let Some(mut v) = parsed else {
        return bad_request("the body is not a SelfSubjectAccessReview in JSON or protobuf");
    };
    let verb = v
        .pointer("/spec/resourceAttributes/verb")
        .or_else(|| v.pointer("/spec/nonResourceAttributes/verb"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let allowed = matches!(verb.as_str(), "get" | "list" | "watch");
    let reason = if allowed {
        "the API is served from a support bundle: reads are allowed"
    } else {
        "the API is served from a support bundle and is read-only"
    };
    if let Some(m) = v.as_object_mut() {
        m.insert("kind".into(), json!("SelfSubjectAccessReview"));
        m.insert("apiVersion".into(), json!("authorization.k8s.io/v1"));
        m.entry("metadata").or_insert_with(|| json!({}));
        m.insert(
            "status".into(),
            if allowed {
                json!({"allowed": true, "reason": reason})
            } else {
                json!({"allowed": false, "denied": true, "reason": reason})
            },
        );
    }
    json_reply(201, &v)
}

/// A continue token as the API server makes one: base64 of `{"v","rv","start"}`, `start` the
/// last key served followed by a NUL ("after this").
fn encode_continue(ns: &str, name: &str) -> String {
    let v = json!({"v": "meta.k8s.io/v1", "rv": 1, "start": format!("{ns}/{name}\u{0}")});
    base64::engine::general_purpose::URL_SAFE.encode(v.to_string())
}

fn decode_continue(c: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(c)
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(c))
        .ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    if v.get("v").and_then(Value::as_str) != Some("meta.k8s.io/v1") {
        return None;
    }
    let start = v.get("start")?.as_str()?.strip_suffix('\u{0}')?;
    let (ns, name) = start.split_once('/')?;
    Some((ns.to_string(), name.to_string()))
}

/// Field selectors the API server accepts for a type (every type: `metadata.name` and
/// `metadata.namespace`).
fn field_supported(t: &ResourceType, key: &str) -> bool {
    if matches!(key, "metadata.name" | "metadata.namespace") {
        return true;
    }
    let extra: &[&str] = match (t.group.as_str(), t.plural.as_str()) {
        ("", "pods") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
        ("", "events") | ("events.k8s.io", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("", "secrets") => &["type"],
        ("", "namespaces") => &["status.phase"],
        ("", "nodes") => &["spec.unschedulable"],
        ("", "replicationcontrollers") | ("apps", "replicasets") => &["status.replicas"],
        ("batch", "jobs") => &["status.successful"],
        ("certificates.k8s.io", "certificatesigningrequests") => &["spec.signerName"],
        _ => &[],
    };
    extra.contains(&key) || t.selectable_fields.iter().any(|f| f == key)
}

impl ResourceType {
    fn api_version_for(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }
}

fn pod_log(ix: &Index, pod: &Value, q: &BTreeMap<String, String>) -> Reply {
    let ns = pod.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
    let name = pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let names = |p: &str| -> Vec<String> {
        pod.pointer(p)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (containers, inits) = (names("/spec/containers"), names("/spec/initContainers"));
    let container = match q.get("container").filter(|c| !c.is_empty()) {
        Some(c) => {
            if !containers.contains(c) && !inits.contains(c) {
                return bad_request(&format!("container {c} is not valid for pod {name}"));
            }
            c.clone()
        }
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            let mut msg = format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            );
            if !inits.is_empty() {
                msg.push_str(&format!(" or one of the init containers: [{}]", inits.join(" ")));
            }
            return bad_request(&msg);
        }
    };
    let previous = q.get("previous").is_some_and(|p| p == "true" || p == "1");
    let key = (ns.to_string(), name.to_string(), container.clone(), previous);
    let text = ix.logs.get(&key).or_else(|| {
        // A cluster-info dump `logs.txt` without container markers belongs to the only container.
        if previous || containers.len() + inits.len() != 1 {
            return None;
        }
        ix.logs.get(&(ns.to_string(), name.to_string(), String::new(), false))
    });
    let Some(text) = text else {
        return if previous {
            bad_request(&format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found (the bundle holds no previous log for it)"
            ))
        } else {
            status(
                404,
                "NotFound",
                &format!("the bundle holds no log for container \"{container}\" in pod \"{name}\""),
                Some(json!({"name": name, "kind": "pods"})),
            )
        };
    };
    // --since / --since-time / --timestamps, from the lines' own times (the bundle's clock is now).
    let since = match (q.get("sinceSeconds"), q.get("sinceTime")) {
        (Some(n), _) if !n.is_empty() => match (n.parse::<i64>(), ix.now) {
            (Ok(n), Some(now)) if n > 0 => Some((now as i128 - n as i128) * 1_000_000_000),
            (Ok(n), None) if n > 0 => None,
            _ => return bad_request(&format!("invalid sinceSeconds: {n:?}")),
        },
        (_, Some(t)) if !t.is_empty() => match crate::k8s::time::parse(t) {
            Some(t) => Some(t.unix_timestamp_nanos()),
            None => return bad_request(&format!("invalid sinceTime: {t:?}")),
        },
        _ => None,
    };
    let timestamps = q.get("timestamps").is_some_and(|t| t == "true" || t == "1");
    let filtered = super::logtime::filter(text, since, timestamps, ix.now);
    let mut body: &[u8] = &filtered;
    if let Some(n) = q.get("tailLines").and_then(|n| n.parse::<usize>().ok()) {
        body = tail_lines(body, n);
    }
    let mut body = body.to_vec();
    if let Some(n) = q.get("limitBytes").and_then(|n| n.parse::<usize>().ok()) {
        body.truncate(n);
    }
    Reply {
        code: 200,
        content_type: "text/plain",
        body: Body::Bytes(body),
    }
}

/// The last `n` lines of a log (a final newline does not start a line).
fn tail_lines(data: &[u8], n: usize) -> &[u8] {
    if n == 0 {
        return &[];
    }
    let end = if data.ends_with(b"\n") {
        data.len() - 1
    } else {
        data.len()
    };
    let mut seen = 0;
    for (k, b) in data[..end].iter().enumerate().rev() {
        if *b == b'\n' {
            seen += 1;
            if seen == n {
                return &data[k + 1..];
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails() {
        assert_eq!(tail_lines(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(tail_lines(b"a\nb\nc", 1), b"c");
        assert_eq!(tail_lines(b"a\n", 5), b"a\n");
        assert_eq!(tail_lines(b"a\nb\n", 0), b"");
    }

    #[test]
    fn decoding() {
        assert_eq!(decode("app%3Dweb%2Ctier+in+%28a%29"), "app=web,tier in (a)");
        assert_eq!(decode("100%"), "100%");
    }
}
