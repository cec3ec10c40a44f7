//! Server-side `Table` responses: the columns and cells the real API server prints for the common
//! built-in types, a CRD's `additionalPrinterColumns` for custom resources, NAME + AGE otherwise.
//! Every age is relative to the bundle's collection time, so output does not drift.

use super::index::{parse_time, partial_metadata, PrinterColumn, ResourceType};
use super::select::selector_string;
use serde_json::{json, Value};

/// `duration.HumanDuration` of the Kubernetes libraries.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// Age of a timestamp at the bundle's time; `<unknown>` when either is missing.
pub fn age(ts: Option<&Value>, now: Option<i64>) -> String {
    match (ts.and_then(Value::as_str).and_then(parse_time), now) {
        (Some(t), Some(n)) => human_duration(n - t),
        _ => "<unknown>".into(),
    }
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn i(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

fn arr<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn or_none(x: String) -> String {
    if x.is_empty() {
        "<none>".into()
    } else {
        x
    }
}

/// `labels.FormatLabels`: sorted `k=v` joined by commas, `<none>` when empty.
fn format_labels(m: Option<&Value>) -> String {
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

fn containers_images(podspec_ptr: &str, o: &Value) -> (String, String) {
    let cs = arr(o, &format!("{podspec_ptr}/containers"));
    let names: Vec<&str> = cs.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<&str> = cs.iter().map(|c| s(c, "/image")).collect();
    (names.join(","), images.join(","))
}

type Col = (&'static str, &'static str, &'static str, i64);

fn col(c: &Col) -> Value {
    json!({"name": c.0, "type": c.1, "format": c.2, "description": "", "priority": c.3})
}

const NAME: Col = ("Name", "string", "name", 0);
const AGE: Col = ("Age", "string", "", 0);

fn builtin_columns(t: &ResourceType) -> Option<Vec<Col>> {
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

fn builtin_cells(t: &ResourceType, o: &Value, now: Option<i64>) -> Vec<Value> {
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
            .and_then(parse_time)
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

/// A step of a (simple) JSONPath, as CRDs use them.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
    /// `[?(@.a.b == "x")]`; `None` value: existence.
    Filter(Vec<String>, bool, Option<Value>),
}

fn parse_path(p: &str) -> Option<Vec<Step>> {
    let p = p.trim();
    let p = p.strip_prefix('{').and_then(|x| x.strip_suffix('}')).unwrap_or(p);
    let p = p.strip_prefix('$').unwrap_or(p);
    let b = p.as_bytes();
    let mut steps = Vec::new();
    let mut k = 0;
    while k < b.len() {
        match b[k] {
            b'.' => {
                let start = k + 1;
                let mut e = start;
                while e < b.len() && b[e] != b'.' && b[e] != b'[' {
                    e += 1;
                }
                if e > start {
                    steps.push(Step::Field(p[start..e].to_string()));
                }
                k = e;
            }
            b'[' => {
                let close = if p[k..].starts_with("[?(") {
                    k + p[k..].find(")]")? + 1
                } else {
                    k + p[k..].find(']')?
                };
                let inner = p[k + 1..close].trim();
                if inner == "*" {
                    steps.push(Step::All);
                } else if let Ok(n) = inner.parse::<usize>() {
                    steps.push(Step::Index(n));
                } else if let Some(f) = inner.strip_prefix("?(").and_then(|x| x.strip_suffix(')')) {
                    let f = f.trim();
                    let (lhs, eq, rhs) = if let Some((l, r)) = f.split_once("==") {
                        (l, true, Some(r))
                    } else if let Some((l, r)) = f.split_once("!=") {
                        (l, false, Some(r))
                    } else {
                        (f, true, None)
                    };
                    let path: Vec<String> = lhs
                        .trim()
                        .strip_prefix('@')?
                        .split('.')
                        .filter(|x| !x.is_empty())
                        .map(str::to_string)
                        .collect();
                    let val = rhs.map(|r| {
                        let r = r.trim();
                        let unq = r
                            .strip_prefix('"')
                            .and_then(|x| x.strip_suffix('"'))
                            .or_else(|| r.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')));
                        match unq {
                            Some(u) => Value::String(u.to_string()),
                            None => serde_json::from_str(r).unwrap_or(Value::String(r.to_string())),
                        }
                    });
                    steps.push(Step::Filter(path, eq, val));
                } else {
                    let name = inner.trim_matches(|c| c == '\'' || c == '"');
                    steps.push(Step::Field(name.to_string()));
                }
                k = close + 1;
            }
            _ => {
                // A path without a leading dot: a field name.
                let start = k;
                let mut e = start;
                while e < b.len() && b[e] != b'.' && b[e] != b'[' {
                    e += 1;
                }
                steps.push(Step::Field(p[start..e].to_string()));
                k = e;
            }
        }
    }
    Some(steps)
}

fn eval<'a>(steps: &[Step], root: &'a Value) -> Vec<&'a Value> {
    let mut cur = vec![root];
    for st in steps {
        let mut next = Vec::new();
        for v in cur {
            match st {
                Step::Field(f) => next.extend(v.get(f.as_str())),
                Step::Index(n) => next.extend(v.as_array().and_then(|a| a.get(*n))),
                Step::All => match v {
                    Value::Array(a) => next.extend(a.iter()),
                    Value::Object(o) => next.extend(o.values()),
                    _ => {}
                },
                Step::Filter(path, eq, want) => {
                    for item in v.as_array().map(Vec::as_slice).unwrap_or(&[]) {
                        let mut x = Some(item);
                        for seg in path {
                            x = x.and_then(|y| y.get(seg.as_str()));
                        }
                        let keep = match want {
                            None => x.is_some(),
                            Some(w) => (x == Some(w)) == *eq,
                        };
                        if keep {
                            next.push(item);
                        }
                    }
                }
            }
        }
        cur = next;
    }
    cur
}

fn custom_cell(c: &PrinterColumn, o: &Value, now: Option<i64>) -> Value {
    let Some(steps) = parse_path(&c.json_path) else {
        return Value::Null;
    };
    let Some(v) = eval(&steps, o).into_iter().next() else {
        return Value::Null;
    };
    match c.typ.as_str() {
        "date" => match v.as_str() {
            Some(ts) if parse_time(ts).is_some() => json!(age(Some(v), now)),
            _ => json!("<invalid>"),
        },
        "integer" => v
            .as_i64()
            .map(|n| json!(n))
            .or_else(|| v.as_f64().map(|f| json!(f as i64)))
            .unwrap_or(Value::Null),
        "number" => v.as_f64().map(|f| json!(f)).unwrap_or(Value::Null),
        "boolean" => v.as_bool().map(|b| json!(b)).unwrap_or(Value::Null),
        _ => match v {
            Value::String(s) => json!(s),
            Value::Null => Value::Null,
            other => json!(other.to_string()),
        },
    }
}

type CellsFn<'a> = Box<dyn Fn(&Value) -> Vec<Value> + 'a>;

/// A `meta.k8s.io/v1` `Table` of the given objects.
pub fn table(t: &ResourceType, objects: &[&Value], now: Option<i64>, include_object: &str) -> Value {
    let (columns, cells): (Vec<Value>, CellsFn) = match (builtin_columns(t), &t.columns) {
        (Some(cols), _) => (
            cols.iter().map(col).collect(),
            Box::new(move |o: &Value| builtin_cells(t, o, now)),
        ),
        (None, Some(custom)) => {
            let mut defs = vec![col(&NAME)];
            defs.extend(custom.iter().map(|c| {
                json!({"name": c.name, "type": c.typ, "format": c.format, "description": c.description, "priority": c.priority})
            }));
            let custom = custom.clone();
            (
                defs,
                Box::new(move |o: &Value| {
                    let mut row = vec![json!(s(o, "/metadata/name"))];
                    row.extend(custom.iter().map(|c| custom_cell(c, o, now)));
                    row
                }),
            )
        }
        (None, None) => (
            vec![col(&NAME), col(&AGE)],
            Box::new(move |o: &Value| {
                vec![
                    json!(s(o, "/metadata/name")),
                    json!(age(o.pointer("/metadata/creationTimestamp"), now)),
                ]
            }),
        ),
    };
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = json!({"cells": cells(o)});
            match include_object {
                "None" => {}
                "Object" => row["object"] = (*o).clone(),
                _ => row["object"] = partial_metadata(o),
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": "1"},
        "columnDefinitions": columns,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_match_kubernetes() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(125), "2m5s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
        assert_eq!(human_duration(100 * 86400), "100d");
        assert_eq!(human_duration(800 * 86400), "2y70d");
    }

    #[test]
    fn json_paths() {
        let o = json!({"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True", "message": "ok"}]}});
        let steps = parse_path(".status.conditions[?(@.type==\"Ready\")].message").unwrap_or_default();
        assert_eq!(eval(&steps, &o), vec![&json!("ok")]);
        let steps = parse_path("{.status.conditions[0].type}").unwrap_or_default();
        assert_eq!(eval(&steps, &o), vec![&json!("A")]);
    }
}
