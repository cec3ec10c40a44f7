//! Tests of the object types' lenient reading.

use super::objects::*;
use serde_json::Value;

#[test]
fn small_map_reads_like_a_btree_map() {
    let m: SmallMap<String> = serde_json::from_str(r#"{"b":"1","a":"2","b":"3","c":"4"}"#).unwrap();
    assert_eq!(m.keys().map(Str::as_str).collect::<Vec<_>>(), ["a", "b", "c"]);
    // duplicate keys: the last one wins, as a BTreeMap's insert does
    assert_eq!(m.get("b").map(String::as_str), Some("3"));
    assert!(m.contains_key("c") && !m.contains_key("d"));
    assert_eq!(m.len(), 3);
    let empty: SmallMap<Value> = serde_json::from_str("null").unwrap();
    assert!(empty.is_empty());
    let p: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "x", "labels": {"app": "web"}, "annotations": null},
        "spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "500m", "memory": 536870912}}}]}
    }))
    .unwrap();
    assert_eq!(p.metadata.labels.get("app").map(Str::as_str), Some("web"));
    assert!(p.metadata.annotations.is_empty());
    let limits = &p.spec.containers[0].resources.limits;
    assert_eq!(
        limits.get("memory").map(Scalar::value),
        Some(&serde_json::json!(536870912))
    );
    assert!(serde_json::from_str::<SmallMap<String>>("[1]").is_err());
}

#[test]
fn events_are_ordered_by_the_instant_they_were_last_seen() {
    let ev = |v: Value| -> Event { serde_json::from_value(v).unwrap() };
    // a MicroTime with a fraction: as text it sorts before the whole second it follows
    let series = ev(serde_json::json!({
        "lastTimestamp": null,
        "series": {"count": 2, "lastObservedTime": "2026-11-25T17:00:00.500000Z"}
    }));
    let plain = ev(serde_json::json!({"lastTimestamp": "2026-11-25T17:00:00Z"}));
    let offset = ev(serde_json::json!({"lastTimestamp": "2026-11-25T17:30:00+01:00"}));
    let none = ev(serde_json::json!({"reason": "NoTime"}));
    assert!(series.last_seen() < plain.last_seen());
    assert!(plain.last_seen_at() < series.last_seen_at());
    assert!(offset.last_seen_at() < plain.last_seen_at());
    assert_eq!(none.last_seen_at(), None);
    assert!(none.last_seen_at() < offset.last_seen_at());
}
