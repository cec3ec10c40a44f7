//! The JSONPath subset CRDs use in `additionalPrinterColumns`: `.a.b`, `['a']`, `[0]`, `[*]`,
//! `[?(@.a.b == "x")]`, `[?(@.a != 1)]`, `[?(@.a)]`, optionally wrapped in `{...}` and led by `$`.
//! [`parse_path`] never panics on any input (fuzz target `jsonpath`); a path it cannot read is
//! `None`. [`eval`] walks a `Value` and returns every match in order. Knows nothing of tables.

use serde_json::Value;

/// A step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Field(String),
    Index(usize),
    All,
    /// `[?(@.a.b == "x")]`; `None` value: existence.
    Filter(Vec<String>, bool, Option<Value>),
}

pub fn parse_path(p: &str) -> Option<Vec<Step>> {
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

pub fn eval<'a>(steps: &[Step], root: &'a Value) -> Vec<&'a Value> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_indexes_and_filters() {
        let o = json!({"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True", "message": "ok"}]}});
        let steps = parse_path(".status.conditions[?(@.type==\"Ready\")].message").unwrap_or_default();
        assert_eq!(eval(&steps, &o), vec![&json!("ok")]);
        let steps = parse_path("{.status.conditions[0].type}").unwrap_or_default();
        assert_eq!(eval(&steps, &o), vec![&json!("A")]);
    }

    #[test]
    fn every_step_kind() {
        let o = json!({"a": {"b": [1, 2, 3]}, "m": {"x": 1, "y": 2}, "l": [{"k": "v", "n": 1}, {"n": 2}]});
        let at = |p: &str| parse_path(p).map(|s| eval(&s, &o).into_iter().cloned().collect::<Vec<_>>());
        assert_eq!(at("$.a.b[1]"), Some(vec![json!(2)]));
        assert_eq!(at("a.b[*]"), Some(vec![json!(1), json!(2), json!(3)]));
        assert_eq!(at(".m[*]"), Some(vec![json!(1), json!(2)]));
        assert_eq!(at("['a']['b'][0]"), Some(vec![json!(1)]));
        assert_eq!(at(".l[?(@.k)].n"), Some(vec![json!(1)]));
        assert_eq!(at(".l[?(@.n != 1)].n"), Some(vec![json!(2)]));
        assert_eq!(at(".l[?(@.k == 'v')].n"), Some(vec![json!(1)]));
        assert_eq!(at(".missing.x"), Some(vec![]));
        assert_eq!(at(".a[0"), None, "an unclosed bracket");
        assert_eq!(at(".l[?(k)]"), None, "a filter without @");
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for p in [
            "",
            "{",
            "}",
            "[",
            "]",
            "[?(",
            "[?()]",
            "..",
            "$$",
            "[ ]",
            "[?(@.==)]",
            "\u{e9}[é]",
            "{.a[?(@.b==\"x\")]}",
        ] {
            let _ = parse_path(p).map(|s| eval(&s, &Value::Null));
        }
    }
}
