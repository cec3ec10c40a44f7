//! The one protobuf request `serve` reads: kubectl (1.37 and later) posts the
//! `SelfSubjectAccessReview` of `kubectl auth can-i` as `application/vnd.kubernetes.protobuf`,
//! the API server's own encoding of built-in types: the magic `k8s\0`, then a `runtime.Unknown`
//! (field 1 its `TypeMeta`: apiVersion 1, kind 2; field 2 the object's bytes). Of the review, the
//! spec (field 2) is read: `resourceAttributes` (1: namespace, verb, group, version, resource,
//! subresource, name as fields 1-7) or `nonResourceAttributes` (2: path 1, verb 2), the field
//! numbers of `k8s.io/api/authorization/v1/generated.proto`. It becomes the JSON kubectl would have
//! sent (empty strings left out), which the review is answered from; the answer is JSON, which
//! kubectl's `Accept` lists too. Anything malformed is `None`, never a panic; what is allocated is
//! bounded by the body (serve reads at most 64 KiB of one): the strings read and a few dozen bytes a
//! field. A repeated string field is its last value, as protobuf reads it; a repeated message is its
//! last copy (protobuf would merge the copies; kubectl sends one).
//!
//! Knows nothing of bundles or of HTTP.

use serde_json::{Map, Value};

/// The magic that opens every protobuf-encoded Kubernetes object.
const MAGIC: &[u8] = b"k8s\0";

/// A field's value: a varint, or the bytes of a length-delimited field (fixed-width ones skipped).
enum Val<'a> {
    Varint,
    Bytes(&'a [u8]),
    Fixed,
}

/// The fields of one message, in order; `None` when it is not well-formed protobuf.
fn fields(mut data: &[u8]) -> Option<Vec<(u64, Val<'_>)>> {
    fn varint(data: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = data.split_first()?;
            *data = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut out = Vec::new();
    while !data.is_empty() {
        let key = varint(&mut data)?;
        let val = match key & 7 {
            0 => varint(&mut data).map(|_| Val::Varint)?,
            1 | 5 => {
                let n = if key & 7 == 1 { 8 } else { 4 };
                data = data.get(n..)?;
                Val::Fixed
            }
            2 => {
                let n = usize::try_from(varint(&mut data)?).ok()?;
                let (b, rest) = (data.get(..n)?, data.get(n..)?);
                data = rest;
                Val::Bytes(b)
            }
            _ => return None,
        };
        out.push((key >> 3, val));
    }
    Some(out)
}

/// The bytes of the last occurrence of field `n` (protobuf's rule for a repeated singular field).
fn bytes_of<'a>(fs: &[(u64, Val<'a>)], n: u64) -> Option<&'a [u8]> {
    fs.iter().rev().find_map(|(k, v)| match v {
        Val::Bytes(b) if *k == n => Some(*b),
        _ => None,
    })
}

/// The string fields of a message as JSON members, by field number (`names[i]` is field `i + 1`).
fn strings(data: &[u8], names: &[&str]) -> Option<Map<String, Value>> {
    let mut m = Map::new();
    for (k, v) in fields(data)? {
        let at = k.checked_sub(1).and_then(|i| usize::try_from(i).ok());
        let (Val::Bytes(b), Some(name)) = (v, at.and_then(|i| names.get(i))) else {
            continue;
        };
        let s = std::str::from_utf8(b).ok()?;
        // The last value wins, an empty one too (left out below, as kubectl's JSON leaves it out).
        m.insert((*name).to_string(), Value::String(s.to_string()));
    }
    m.retain(|_, v| v.as_str().is_some_and(|s| !s.is_empty()));
    Some(m)
}

/// A protobuf `SelfSubjectAccessReview` as the JSON of its spec, or `None` when `body` is not one.
pub fn access_review(body: &[u8]) -> Option<Value> {
    let unknown = fields(body.strip_prefix(MAGIC)?)?;
    let type_meta = strings(bytes_of(&unknown, 1)?, &["apiVersion", "kind"])?;
    if type_meta.get("kind").and_then(Value::as_str) != Some("SelfSubjectAccessReview") {
        return None;
    }
    let review = fields(bytes_of(&unknown, 2).unwrap_or_default())?;
    let spec = fields(bytes_of(&review, 2).unwrap_or_default())?;
    let mut out = Map::new();
    if let Some(b) = bytes_of(&spec, 1) {
        let names = [
            "namespace",
            "verb",
            "group",
            "version",
            "resource",
            "subresource",
            "name",
        ];
        out.insert("resourceAttributes".into(), Value::Object(strings(b, &names)?));
    }
    if let Some(b) = bytes_of(&spec, 2) {
        out.insert(
            "nonResourceAttributes".into(),
            Value::Object(strings(b, &["path", "verb"])?),
        );
    }
    let mut v = Map::new();
    v.insert("spec".into(), Value::Object(out));
    Some(Value::Object(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `kubectl auth can-i list pods -n flux-system`, as kubectl v1.37.1 posts it.
    const LIST_PODS: &[u8] = b"k8s\x00\x0a\x32\x0a\x17authorization.k8s.io/v1\x12\x17SelfSubjectAccessReview\x12\x41\x0a\x10\x0a\x00\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x23\x0a\x21\x0a\x0bflux-system\x12\x04list\x1a\x00\x22\x00\x2a\x04pods\x32\x00\x3a\x00\x1a\x08\x08\x00\x12\x00\x1a\x00\x20\x00\x1a\x00\x22\x00";
    /// `kubectl auth can-i get /healthz`.
    const HEALTHZ: &[u8] = b"k8s\x00\x0a\x32\x0a\x17authorization.k8s.io/v1\x12\x17SelfSubjectAccessReview\x12\x2f\x0a\x10\x0a\x00\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x11\x12\x0f\x0a\x08/healthz\x12\x03get\x1a\x08\x08\x00\x12\x00\x1a\x00\x20\x00\x1a\x00\x22\x00";

    #[test]
    fn kubectls_reviews_read_as_their_json() {
        assert_eq!(
            access_review(LIST_PODS),
            Some(
                serde_json::json!({"spec": {"resourceAttributes": {"namespace": "flux-system", "verb": "list", "resource": "pods"}}})
            )
        );
        assert_eq!(
            access_review(HEALTHZ),
            Some(serde_json::json!({"spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}}))
        );
    }

    #[test]
    fn a_repeated_field_is_its_last_value_even_when_empty() {
        // resourceAttributes { verb: "list", verb: "" }: protobuf reads verb "", not "list".
        let attrs = b"\x12\x04list\x12\x00";
        assert_eq!(strings(attrs, &["namespace", "verb"]), Some(Map::new()));
    }

    #[test]
    fn anything_else_is_none_at_every_cut() {
        assert_eq!(access_review(b"{\"spec\": {}}"), None);
        assert_eq!(access_review(b"k8s\x00"), None, "no TypeMeta");
        for n in 4..LIST_PODS.len() {
            // A body cut short is either a review of what it held or none: never a panic.
            let _ = access_review(&LIST_PODS[..n]);
        }
        let mut other = LIST_PODS.to_vec();
        other[0x21..0x21 + 4].copy_from_slice(b"Node");
        assert_eq!(access_review(&other), None, "another kind");
    }
}
