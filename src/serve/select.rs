//! Label selectors (equality and set-based) and field selectors (equality), as the API server
//! parses them. A malformed selector is an error the caller answers with 400. Knows nothing of the
//! index or of HTTP.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Eq(String),
    Ne(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
    Gt(i64),
    Lt(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSelector {
    reqs: Vec<(String, Op)>,
}

fn valid_key(k: &str) -> bool {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix {
        if p.is_empty()
            || p.len() > 253
            || !p
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        {
            return false;
        }
    }
    valid_value(name) && !name.is_empty()
}

fn valid_value(v: &str) -> bool {
    if v.is_empty() {
        return true;
    }
    let b = v.as_bytes();
    v.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Split on commas that are not inside parentheses.
fn split_top(s: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced ')'".into());
                }
            }
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unbalanced '('".into());
    }
    out.push(&s[start..]);
    Ok(out)
}

fn parse_set(rest: &str) -> Result<Vec<String>, String> {
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("expected a parenthesized set of values, found '{rest}'"))?;
    let mut vals = Vec::new();
    for v in inner.split(',') {
        let v = v.trim();
        if !valid_value(v) {
            return Err(format!("invalid label value: '{v}'"));
        }
        vals.push(v.to_string());
    }
    vals.sort();
    Ok(vals)
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<LabelSelector, String> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(LabelSelector { reqs });
        }
        for part in split_top(s)? {
            let p = part.trim();
            if p.is_empty() {
                return Err(format!("found an empty requirement in '{s}'"));
            }
            let (key, op) = if let Some(k) = p.strip_prefix('!') {
                (k.trim().to_string(), Op::NotExists)
            } else if let Some((k, v)) = p.split_once("!=") {
                (k.trim().to_string(), Op::Ne(v.trim().to_string()))
            } else if let Some((k, v)) = p.split_once("==") {
                (k.trim().to_string(), Op::Eq(v.trim().to_string()))
            } else if let Some((k, v)) = p.split_once('=') {
                (k.trim().to_string(), Op::Eq(v.trim().to_string()))
            } else if let Some((k, v)) = p.split_once('>') {
                let n = v
                    .trim()
                    .parse()
                    .map_err(|_| format!("'{}' is not an integer", v.trim()))?;
                (k.trim().to_string(), Op::Gt(n))
            } else if let Some((k, v)) = p.split_once('<') {
                let n = v
                    .trim()
                    .parse()
                    .map_err(|_| format!("'{}' is not an integer", v.trim()))?;
                (k.trim().to_string(), Op::Lt(n))
            } else {
                let mut words = p.splitn(2, char::is_whitespace);
                let key = words.next().unwrap_or("").to_string();
                let rest = words.next().unwrap_or("").trim();
                if rest.is_empty() {
                    (key, Op::Exists)
                } else if let Some(r) = rest.strip_prefix("notin") {
                    (key, Op::NotIn(parse_set(r)?))
                } else if let Some(r) = rest.strip_prefix("in") {
                    (key, Op::In(parse_set(r)?))
                } else {
                    return Err(format!(
                        "unable to parse requirement '{p}': expected one of: in, notin, =, ==, !="
                    ));
                }
            };
            if !valid_key(&key) {
                return Err(format!("invalid label key '{key}'"));
            }
            if let Op::Eq(v) | Op::Ne(v) = &op {
                if !valid_value(v) || v.contains(['=', '!']) {
                    return Err(format!("invalid label value: '{v}'"));
                }
            }
            reqs.push((key, op));
        }
        Ok(LabelSelector { reqs })
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    pub fn matches(&self, labels: Option<&Value>) -> bool {
        self.reqs.iter().all(|(k, op)| {
            let v = labels.and_then(|l| l.get(k)).and_then(Value::as_str);
            match op {
                Op::Eq(x) => v == Some(x.as_str()),
                Op::Ne(x) => v != Some(x.as_str()),
                Op::In(xs) => v.is_some_and(|v| xs.iter().any(|x| x == v)),
                Op::NotIn(xs) => v.is_none_or(|v| !xs.iter().any(|x| x == v)),
                Op::Exists => v.is_some(),
                Op::NotExists => v.is_none(),
                Op::Gt(n) => v.and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v > *n),
                Op::Lt(n) => v.and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v < *n),
            }
        })
    }
}

/// The string form of a `LabelSelector` object (`matchLabels` + `matchExpressions`), as
/// `kubectl` prints it: requirements sorted by key.
pub fn selector_string(sel: Option<&Value>) -> String {
    let Some(sel) = sel else { return String::new() };
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    if let Some(es) = sel.get("matchExpressions").and_then(Value::as_array) {
        for e in es {
            let k = e.get("key").and_then(Value::as_str).unwrap_or("");
            let mut vals: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            vals.sort();
            let s = match e.get("operator").and_then(Value::as_str).unwrap_or("") {
                "In" => format!("{k} in ({})", vals.join(",")),
                "NotIn" => format!("{k} notin ({})", vals.join(",")),
                "Exists" => k.to_string(),
                "DoesNotExist" => format!("!{k}"),
                other => format!("{k} {other}"),
            };
            reqs.push((k.to_string(), s));
        }
    }
    reqs.sort();
    reqs.into_iter().map(|(_, s)| s).collect::<Vec<_>>().join(",")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSelector {
    reqs: Vec<(String, bool, String)>,
}

impl FieldSelector {
    pub fn parse(s: &str) -> Result<FieldSelector, String> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(FieldSelector { reqs });
        }
        for part in s.split(',') {
            let p = part.trim();
            let (k, eq, v) = if let Some((k, v)) = p.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = p.split_once("==") {
                (k, true, v)
            } else if let Some((k, v)) = p.split_once('=') {
                (k, true, v)
            } else {
                return Err(format!("invalid selector: '{s}'; can't understand '{p}'"));
            };
            let k = k.trim();
            if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_') {
                return Err(format!("invalid field selector key '{k}'"));
            }
            reqs.push((k.to_string(), eq, v.trim().to_string()));
        }
        Ok(FieldSelector { reqs })
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// The fields the selector names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.reqs.iter().map(|(k, _, _)| k.as_str())
    }

    /// Whether `o` satisfies every requirement. An event without `involvedObject.uid` (as
    /// troubleshoot bundles and older clusters write them) matches any uid: `kubectl describe`
    /// asks for events by uid, kind, namespace and name, and kind/namespace/name still decide.
    pub fn matches(&self, o: &Value) -> bool {
        self.reqs.iter().all(|(k, eq, want)| {
            if k == "involvedObject.uid"
                && *eq
                && o.pointer("/involvedObject/uid")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
            {
                return true;
            }
            let mut cur = Some(o);
            for seg in k.split('.') {
                cur = cur.and_then(|c| c.get(seg));
            }
            let got = match cur {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                Some(other) => other.to_string(),
            };
            (got == *want) == *eq
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors() {
        let l = json!({"app": "web", "tier": "front"});
        let m = |s: &str| LabelSelector::parse(s).map(|x| x.matches(Some(&l)));
        assert_eq!(m("app=web"), Ok(true));
        assert_eq!(m("app==web,tier!=back"), Ok(true));
        assert_eq!(m("app in (web, api)"), Ok(true));
        assert_eq!(m("app notin (web)"), Ok(false));
        assert_eq!(m("tier,!missing"), Ok(true));
        assert_eq!(m("missing"), Ok(false));
        assert!(m("app in (web").is_err());
        assert!(m("app=we b").is_err());
        assert!(m("a==b==c").is_err());
        assert!(m(",").is_err());
    }

    #[test]
    fn field_selectors() {
        let o = json!({"metadata": {"name": "p"}, "status": {"phase": "Running"}});
        let m = |s: &str| FieldSelector::parse(s).map(|x| x.matches(&o));
        assert_eq!(m("metadata.name=p,status.phase!=Failed"), Ok(true));
        assert_eq!(m("spec.nodeName="), Ok(true));
        assert_eq!(m("status.phase==Pending"), Ok(false));
        assert!(m("nonsense").is_err());
        let ev = json!({"involvedObject": {"kind": "Pod", "name": "p"}});
        let e = |s: &str| FieldSelector::parse(s).map(|x| x.matches(&ev));
        assert_eq!(e("involvedObject.name=p,involvedObject.uid=123"), Ok(true));
        assert_eq!(e("involvedObject.name=q,involvedObject.uid=123"), Ok(false));
        let ev = json!({"involvedObject": {"kind": "Pod", "name": "p", "uid": "456"}});
        assert_eq!(
            FieldSelector::parse("involvedObject.uid=123").map(|x| x.matches(&ev)),
            Ok(false)
        );
    }

    #[test]
    fn selector_strings() {
        let s = json!({"matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [{"key": "c", "operator": "In", "values": ["y", "x"]}]});
        assert_eq!(selector_string(Some(&s)), "a=1,b=2,c in (x,y)");
    }
}
