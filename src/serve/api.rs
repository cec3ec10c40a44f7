//! Request routing: discovery, list/get (JSON or `Table`), pod logs, `Status` errors. Pure: a
//! request in, a response out, from the index only. Knows nothing of sockets (`http`) or of bundle
//! layouts (`index`).

use super::index::{Index, ResourceType};
use super::select::{FieldSelector, LabelSelector};
use super::table::table;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug)]
pub struct Reply {
    pub code: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

fn json_reply(code: u16, v: &Value) -> Reply {
    let mut body = serde_json::to_vec(v).unwrap_or_default();
    body.push(b'\n');
    Reply {
        code,
        content_type: "application/json",
        body,
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
        let mut r = json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": ["get", "list"],
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
pub fn handle(ix: &Index, method: &str, url: &str, accept: &str, port: u16) -> Reply {
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
            body: b"ok".to_vec(),
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
        ["api", "v1", rest @ ..] => resource(ix, "", "v1", rest, &q, accept),
        ["apis", g, v, rest @ ..] => resource(ix, g, v, rest, &q, accept),
        _ => not_found_path(),
    }
}

fn resource(
    ix: &Index,
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
    let in_ns = |o: &&Value| match ns {
        Some(n) => o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(n),
        None => true,
    };
    let want_table = accept.contains("as=Table");
    let include = q.get("includeObject").map(String::as_str).unwrap_or("Metadata");
    if let Some(name) = name {
        let found = objects
            .iter()
            .filter(in_ns)
            .find(|o| o.pointer("/metadata/name").and_then(Value::as_str) == Some(name));
        let Some(o) = found else {
            return not_found_obj(t, name);
        };
        return match sub {
            None if want_table => ok(&table(t, &[o], ix.now, include)),
            None => ok(o),
            Some("log") if t.group.is_empty() && t.plural == "pods" => pod_log(ix, o, q),
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
    let items: Vec<&Value> = objects
        .iter()
        .filter(in_ns)
        .filter(|o| labels.matches(o.pointer("/metadata/labels")))
        .filter(|o| fields.matches(o))
        .collect();
    if want_table {
        return ok(&table(t, &items, ix.now, include));
    }
    let gv = t.api_version_for(version);
    ok(&json!({
        "kind": format!("{}List", t.kind),
        "apiVersion": gv,
        "metadata": {"resourceVersion": "1"},
        "items": items,
    }))
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
    let mut body: &[u8] = text;
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
        body,
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
