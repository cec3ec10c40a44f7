//! The built-in kinds `kubectl get` prints as the real API server does: each kind's columns
//! ([`builtin_columns`]) and cells ([`builtin_cells`]; pods, services, endpoints, nodes, events
//! and the rest by kind). Ages are relative to the bundle's time. Knows nothing of custom
//! resources (their columns come from the CRD, in `table`).

use super::{age, Col, AGE, NAME};
use crate::k8s::time::{human_duration, unix_seconds};
use crate::serve::index::ResourceType;
use crate::serve::select::selector_string;
use serde_json::{json, Value};

pub(super) fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

pub(super) fn i(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

pub(super) fn arr<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub(super) fn or_none(x: String) -> String {
    if x.is_empty() {
        "<none>".into()
    } else {
        x
    }
}

/// `labels.FormatLabels`: sorted `k=v` joined by commas, `<none>` when empty.
pub(super) fn format_labels(m: Option<&Value>) -> String {
    let mut kv: Vec<String> = m
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    kv.sort();
    or_none(kv.join(","))
}

pub(super) fn containers_images(podspec_ptr: &str, o: &Value) -> (String, String) {
    let cs = arr(o, &format!("{podspec_ptr}/containers"));
    let names: Vec<&str> = cs.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<&str> = cs.iter().map(|c| s(c, "/image")).collect();
    (names.join(","), images.join(","))
}

pub(super) fn builtin_columns(t: &ResourceType) -> Option<Vec<Col>> {
    if t.custom {
        return None;
    }
    let w = |n: &'static str| (n, "string", "", 1);
    let c = |n: &'static str| (n, "string", "", 0);
    let int = |n: &'static str| (n, "integer", "", 0);
    Some(match (t.group.as_str(), t.plural.as_str()) {
        ("", "pods") => vec![
            NAME,
            c("Ready"),
            c("Status"),
            c("Restarts"),
            AGE,
            w("IP"),
            w("Node"),
            w("Nominated Node"),
            w("Readiness Gates"),
        ],
        ("apps", "deployments") => vec![
            NAME,
            c("Ready"),
            int("Up-to-date"),
            int("Available"),
            AGE,
            w("Containers"),
            w("Images"),
            w("Selector"),
        ],
        ("apps", "daemonsets") => vec![
            NAME,
            int("Desired"),
            int("Current"),
            int("Ready"),
            int("Up-to-date"),
            int("Available"),
            c("Node Selector"),
            AGE,
            w("Containers"),
            w("Images"),
            w("Selector"),
        ],
        ("apps", "replicasets") => vec![
            NAME,
            int("Desired"),
            int("Current"),
            int("Ready"),
            AGE,
            w("Containers"),
            w("Images"),
            w("Selector"),
        ],
        ("apps", "statefulsets") => vec![NAME, c("Ready"), AGE, w("Containers"), w("Images")],
        ("", "services") => vec![
            NAME,
            c("Type"),
            c("Cluster-IP"),
            c("External-IP"),
            c("Port(s)"),
            AGE,
            w("Selector"),
        ],
        ("", "endpoints") => vec![NAME, c("Endpoints"), AGE],
        ("", "nodes") => vec![
            NAME,
            c("Status"),
            c("Roles"),
            AGE,
            c("Version"),
            w("Internal-IP"),
            w("External-IP"),
            w("OS-Image"),
            w("Kernel-Version"),
            w("Container-Runtime"),
        ],
        ("", "namespaces") => vec![NAME, c("Status"), AGE],
        ("", "events") => vec![
            c("Last Seen"),
            c("Type"),
            c("Reason"),
            c("Object"),
            w("Subobject"),
            w("Source"),
            c("Message"),
            w("First Seen"),
            ("Count", "integer", "", 1),
            ("Name", "string", "name", 1),
        ],
        ("", "configmaps") => vec![NAME, int("Data"), AGE],
        ("", "secrets") => vec![NAME, c("Type"), int("Data"), AGE],
        ("", "serviceaccounts") => vec![NAME, int("Secrets"), AGE],
        ("apiextensions.k8s.io", "customresourcedefinitions") => vec![NAME, ("Created At", "date", "", 0)],
        _ => vec![NAME, AGE],
    })
}

pub(super) fn builtin_cells(t: &ResourceType, o: &Value, now: Option<i64>) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let created = age(o.pointer("/metadata/creationTimestamp"), now);
    match (t.group.as_str(), t.plural.as_str()) {
        ("", "pods") => pod_cells(o, now),
        ("apps", "deployments") => {
            let (cs, is) = containers_images("/spec/template/spec", o);
            let desired = o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
            vec![
                name,
                json!(format!("{}/{desired}", i(o, "/status/readyReplicas"))),
                json!(i(o, "/status/updatedReplicas")),
                json!(i(o, "/status/availableReplicas")),
                json!(created),
                json!(cs),
                json!(is),
                json!(selector_string(o.pointer("/spec/selector"))),
            ]
        }
        ("apps", "daemonsets") => {
            let (cs, is) = containers_images("/spec/template/spec", o);
            vec![
                name,
                json!(i(o, "/status/desiredNumberScheduled")),
                json!(i(o, "/status/currentNumberScheduled")),
                json!(i(o, "/status/numberReady")),
                json!(i(o, "/status/updatedNumberScheduled")),
                json!(i(o, "/status/numberAvailable")),
                json!(format_labels(o.pointer("/spec/template/spec/nodeSelector"))),
                json!(created),
                json!(cs),
                json!(is),
                json!(selector_string(o.pointer("/spec/selector"))),
            ]
        }
        ("apps", "replicasets") => {
            let (cs, is) = containers_images("/spec/template/spec", o);
            vec![
                name,
                json!(o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)),
                json!(i(o, "/status/replicas")),
                json!(i(o, "/status/readyReplicas")),
                json!(created),
                json!(cs),
                json!(is),
                json!(selector_string(o.pointer("/spec/selector"))),
            ]
        }
        ("apps", "statefulsets") => {
            let (cs, is) = containers_images("/spec/template/spec", o);
            let desired = o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
            vec![
                name,
                json!(format!("{}/{desired}", i(o, "/status/readyReplicas"))),
                json!(created),
                json!(cs),
                json!(is),
            ]
        }
        ("", "services") => service_cells(o, created),
        ("", "endpoints") => vec![name, json!(format_endpoints(o)), json!(created)],
        ("", "nodes") => node_cells(o, created),
        ("", "namespaces") => vec![name, json!(s(o, "/status/phase")), json!(created)],
        ("", "events") => event_cells(o, now),
        ("", "configmaps") => {
            let n = |p: &str| o.pointer(p).and_then(Value::as_object).map_or(0, |m| m.len());
            vec![name, json!(n("/data") + n("/binaryData")), json!(created)]
        }
        ("", "secrets") => {
            let n = o.pointer("/data").and_then(Value::as_object).map_or(0, |m| m.len());
            vec![name, json!(s(o, "/type")), json!(n), json!(created)]
        }
        ("", "serviceaccounts") => vec![name, json!(arr(o, "/secrets").len()), json!(created)],
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            let ts = s(o, "/metadata/creationTimestamp");
            vec![name, json!(ts)]
        }
        _ => vec![name, json!(created)],
    }
}

fn pod_cells(o: &Value, now: Option<i64>) -> Vec<Value> {
    let phase = s(o, "/status/phase");
    let mut reason = phase.to_string();
    if !s(o, "/status/reason").is_empty() {
        reason = s(o, "/status/reason").to_string();
    }
    let conditions = arr(o, "/status/conditions");
    for c in conditions {
        if s(c, "/type") == "PodScheduled" && s(c, "/reason") == "SchedulingGated" {
            reason = "SchedulingGated".into();
        }
    }
    let init_specs = arr(o, "/spec/initContainers");
    let restartable = |name: &str| {
        init_specs
            .iter()
            .any(|c| s(c, "/name") == name && s(c, "/restartPolicy") == "Always")
    };
    let mut total = arr(o, "/spec/containers").len() as i64;
    total += init_specs.iter().filter(|c| s(c, "/restartPolicy") == "Always").count() as i64;
    let mut ready = 0i64;
    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut last_restart: Option<i64> = None;
    let mut last_sidecar_restart: Option<i64> = None;
    let finished = |c: &Value| {
        c.pointer("/lastState/terminated/finishedAt")
            .and_then(Value::as_str)
            .and_then(unix_seconds)
    };
    let mut initializing = false;
    let init_statuses = arr(o, "/status/initContainerStatuses");
    for (idx, c) in init_statuses.iter().enumerate() {
        let cname = s(c, "/name");
        restarts += i(c, "/restartCount");
        if let Some(t) = finished(c) {
            last_restart = Some(last_restart.map_or(t, |l| l.max(t)));
        }
        if restartable(cname) {
            sidecar_restarts += i(c, "/restartCount");
            if let Some(t) = finished(c) {
                last_sidecar_restart = Some(last_sidecar_restart.map_or(t, |l| l.max(t)));
            }
        }
        let term = c.pointer("/state/terminated");
        let waiting_reason = s(c, "/state/waiting/reason");
        if term.is_some() && i(c, "/state/terminated/exitCode") == 0 {
            continue;
        }
        if restartable(cname) && c.get("started").and_then(Value::as_bool) == Some(true) {
            if c.get("ready").and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = term {
            let r = s(t, "/reason");
            reason = if !r.is_empty() {
                format!("Init:{r}")
            } else if i(t, "/signal") != 0 {
                format!("Init:Signal:{}", i(t, "/signal"))
            } else {
                format!("Init:ExitCode:{}", i(t, "/exitCode"))
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{idx}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }
    let initialized = conditions
        .iter()
        .any(|c| s(c, "/type") == "Initialized" && s(c, "/status") == "True");
    if !initializing || initialized {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for c in arr(o, "/status/containerStatuses").iter().rev() {
            restarts += i(c, "/restartCount");
            if let Some(t) = finished(c) {
                last_restart = Some(last_restart.map_or(t, |l| l.max(t)));
            }
            let wr = s(c, "/state/waiting/reason");
            let term = c.pointer("/state/terminated");
            if !wr.is_empty() {
                reason = wr.to_string();
            } else if let Some(t) = term.filter(|t| !s(t, "/reason").is_empty()) {
                reason = s(t, "/reason").to_string();
            } else if let Some(t) = term {
                reason = if i(t, "/signal") != 0 {
                    format!("Signal:{}", i(t, "/signal"))
                } else {
                    format!("ExitCode:{}", i(t, "/exitCode"))
                };
            } else if c.get("ready").and_then(Value::as_bool) == Some(true) && c.pointer("/state/running").is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = conditions
                .iter()
                .any(|c| s(c, "/type") == "Ready" && s(c, "/status") == "True");
            reason = if pod_ready { "Running".into() } else { "NotReady".into() };
        }
    }
    let deleting = o.pointer("/metadata/deletionTimestamp").is_some_and(|d| !d.is_null());
    if deleting && s(o, "/status/reason") == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }
    let restarts_str = match (restarts, last_restart, now) {
        (0, _, _) | (_, None, _) => restarts.to_string(),
        (r, Some(t), Some(n)) => format!("{r} ({} ago)", human_duration(n - t)),
        (r, Some(_), None) => format!("{r} (<unknown> ago)"),
    };
    let ip = arr(o, "/status/podIPs")
        .first()
        .map(|p| s(p, "/ip").to_string())
        .filter(|x| !x.is_empty())
        .unwrap_or_else(|| s(o, "/status/podIP").to_string());
    let gates = arr(o, "/spec/readinessGates");
    let gates_str = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let ok = gates
            .iter()
            .filter(|g| {
                let ty = s(g, "/conditionType");
                conditions
                    .iter()
                    .find(|c| s(c, "/type") == ty)
                    .is_some_and(|c| s(c, "/status") == "True")
            })
            .count();
        format!("{ok}/{}", gates.len())
    };
    vec![
        json!(s(o, "/metadata/name")),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_str),
        json!(age(o.pointer("/metadata/creationTimestamp"), now)),
        json!(or_none(ip)),
        json!(or_none(s(o, "/spec/nodeName").to_string())),
        json!(or_none(s(o, "/status/nominatedNodeName").to_string())),
        json!(gates_str),
    ]
}

fn service_cells(o: &Value, created: String) -> Vec<Value> {
    let ty = s(o, "/spec/type");
    let cluster_ip = arr(o, "/spec/clusterIPs")
        .first()
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| s(o, "/spec/clusterIP").to_string());
    let ext: Vec<String> = arr(o, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let external = match ty {
        "ClusterIP" | "NodePort" | "" => or_none(ext.join(",")),
        "LoadBalancer" => {
            let mut lb: Vec<String> = arr(o, "/status/loadBalancer/ingress")
                .iter()
                .map(|x| {
                    let ip = s(x, "/ip");
                    if ip.is_empty() { s(x, "/hostname") } else { ip }.to_string()
                })
                .filter(|x| !x.is_empty())
                .collect();
            lb.extend(ext);
            if lb.is_empty() {
                "<pending>".into()
            } else {
                lb.join(",")
            }
        }
        "ExternalName" => s(o, "/spec/externalName").to_string(),
        _ => "<unknown>".into(),
    };
    let ports: Vec<String> = arr(o, "/spec/ports")
        .iter()
        .map(|p| {
            let proto = match s(p, "/protocol") {
                "" => "TCP",
                x => x,
            };
            let np = i(p, "/nodePort");
            if np != 0 {
                format!("{}:{np}/{proto}", i(p, "/port"))
            } else {
                format!("{}/{proto}", i(p, "/port"))
            }
        })
        .collect();
    vec![
        json!(s(o, "/metadata/name")),
        json!(if ty.is_empty() { "ClusterIP" } else { ty }),
        json!(or_none(cluster_ip)),
        json!(external),
        json!(or_none(ports.join(","))),
        json!(created),
        json!(format_labels(o.pointer("/spec/selector"))),
    ]
}

fn format_endpoints(o: &Value) -> String {
    let subsets = arr(o, "/subsets");
    if subsets.is_empty() {
        return "<none>".into();
    }
    let max = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0usize;
    for ss in subsets {
        let addrs = arr(ss, "/addresses");
        let ports = arr(ss, "/ports");
        if ports.is_empty() {
            count += addrs.len();
            for a in addrs {
                if list.len() == max {
                    more = true;
                    break;
                }
                list.push(s(a, "/ip").to_string());
            }
            continue;
        }
        for p in ports {
            count += addrs.len();
            for a in addrs {
                if list.len() == max {
                    more = true;
                    break;
                }
                let ip = s(a, "/ip");
                let host = if ip.contains(':') {
                    format!("[{ip}]")
                } else {
                    ip.to_string()
                };
                list.push(format!("{host}:{}", i(p, "/port")));
            }
        }
    }
    let ret = list.join(",");
    if more {
        format!("{ret} + {} more...", count - max)
    } else {
        or_none(ret)
    }
}

fn node_cells(o: &Value, created: String) -> Vec<Value> {
    let mut status: Vec<String> = Vec::new();
    if let Some(c) = arr(o, "/status/conditions").iter().find(|c| s(c, "/type") == "Ready") {
        status.push(if s(c, "/status") == "True" { "Ready" } else { "NotReady" }.into());
    }
    if status.is_empty() {
        status.push("Unknown".into());
    }
    if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled".into());
    }
    let mut roles: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    if let Some(l) = o.pointer("/metadata/labels").and_then(Value::as_object) {
        for (k, v) in l {
            if let Some(r) = k.strip_prefix("node-role.kubernetes.io/") {
                if !r.is_empty() {
                    roles.insert(r.to_string());
                }
            } else if k == "kubernetes.io/role" {
                if let Some(v) = v.as_str().filter(|v| !v.is_empty()) {
                    roles.insert(v.to_string());
                }
            }
        }
    }
    let addr = |ty: &str| {
        arr(o, "/status/addresses")
            .iter()
            .find(|a| s(a, "/type") == ty)
            .map(|a| s(a, "/address").to_string())
            .unwrap_or_else(|| "<none>".into())
    };
    let unk = |p: &str| match s(o, p) {
        "" => "<unknown>".to_string(),
        x => x.to_string(),
    };
    vec![
        json!(s(o, "/metadata/name")),
        json!(status.join(",")),
        json!(or_none(roles.into_iter().collect::<Vec<_>>().join(","))),
        json!(created),
        json!(s(o, "/status/nodeInfo/kubeletVersion")),
        json!(addr("InternalIP")),
        json!(addr("ExternalIP")),
        json!(unk("/status/nodeInfo/osImage")),
        json!(unk("/status/nodeInfo/kernelVersion")),
        json!(unk("/status/nodeInfo/containerRuntimeVersion")),
    ]
}

fn event_cells(o: &Value, now: Option<i64>) -> Vec<Value> {
    let set = |p: &str| o.pointer(p).filter(|v| v.as_str().is_some_and(|x| !x.is_empty()));
    let first = match set("/firstTimestamp") {
        Some(ts) => age(Some(ts), now),
        None => age(set("/eventTime"), now),
    };
    let mut last = match set("/lastTimestamp") {
        Some(ts) => age(Some(ts), now),
        None => first.clone(),
    };
    let mut count = i(o, "/count");
    if let Some(series) = o.get("series").filter(|x| x.is_object()) {
        last = age(series.get("lastObservedTime"), now);
        count = series.get("count").and_then(Value::as_i64).unwrap_or(0);
    } else if count == 0 {
        count = 1;
    }
    let kind = s(o, "/involvedObject/kind").to_ascii_lowercase();
    let target = match s(o, "/involvedObject/name") {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let first_non_empty = |a: &str, b: &str| if a.is_empty() { b.to_string() } else { a.to_string() };
    let component = first_non_empty(s(o, "/source/component"), s(o, "/reportingComponent"));
    let instance = first_non_empty(s(o, "/source/host"), s(o, "/reportingInstance"));
    let source = if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    };
    vec![
        json!(last),
        json!(s(o, "/type")),
        json!(s(o, "/reason")),
        json!(target),
        json!(s(o, "/involvedObject/fieldPath")),
        json!(source),
        json!(s(o, "/message").trim()),
        json!(first),
        json!(count),
        json!(s(o, "/metadata/name")),
    ]
}
