//! OSM018 smi-crds-missing (error)
//!
//! What it detects: one of the SMI CRDs OSM needs is missing (`httproutegroups.specs.smi-spec.io`,
//! `tcproutes.specs.smi-spec.io`, `traffictargets.access.smi-spec.io`,
//! `trafficsplits.split.smi-spec.io`), or it does not serve the version the installed OSM release
//! uses. OSM v0.7 to v1.3 (the releases behind the Arc extension's 1.x versions) all ship these
//! CRDs in `cmd/osm-bootstrap/crds` serving HTTPRouteGroup `v1alpha4`, TCPRoute `v1alpha4`,
//! TrafficTarget `v1alpha3` and TrafficSplit `v1alpha2`. The release is read from the
//! osm-controller image tag, else from the extension's version.
//!
//! Why it matters: OSM watches these types; without them (or with only other versions served)
//! the controller cannot read traffic policies, and SMI objects cannot be created.
//!
//! Evidence: each CRD's served versions, the version needed, and where the release was read.
//!
//! Fix: `kubectl apply -f https://raw.githubusercontent.com/openservicemesh/osm/release-v<X.Y>/cmd/osm-bootstrap/crds/smi_<kind>.yaml`
//! for each affected CRD, with the installed release's branch.

use super::{applies, osm_release};
use crate::finding::{Evidence, Finding, Subject};
use crate::model::{object_ref, Need};
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

pub struct SmiCrdsMissing;

/// CRD, the manifest in `cmd/osm-bootstrap/crds`, and the version OSM v0.7-v1.3 serve and read.
const SMI: [(&str, &str, &str); 4] = [
    (
        "httproutegroups.specs.smi-spec.io",
        "smi_http_route_group.yaml",
        "v1alpha4",
    ),
    ("tcproutes.specs.smi-spec.io", "smi_tcp_route.yaml", "v1alpha4"),
    (
        "traffictargets.access.smi-spec.io",
        "smi_traffic_access.yaml",
        "v1alpha3",
    ),
    ("trafficsplits.split.smi-spec.io", "smi_traffic_split.yaml", "v1alpha2"),
];

/// The version a release needs, where it differs from the table (OSM before v0.7 used
/// TrafficTarget v1alpha2 and HTTPRouteGroup v1alpha3).
fn needed(crd: &str, default: &'static str, release: Option<(u32, u32)>) -> &'static str {
    match (crd, release) {
        ("traffictargets.access.smi-spec.io", Some((0, m))) if m < 7 => "v1alpha2",
        ("httproutegroups.specs.smi-spec.io", Some((0, m))) if m < 7 => "v1alpha3",
        _ => default,
    }
}

impl Rule for SmiCrdsMissing {
    crate::rule_meta!("OSM018", "smi-crds-missing", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Resource("customresourcedefinitions")],
            optional: vec![Need::Resource("deployments"), Need::Az("k8s-extension-*")],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        if !cx.snap.has(&Need::Resource("customresourcedefinitions")) {
            return Vec::new();
        }
        let release = osm_release(cx);
        let rel = release.as_ref().map(|(a, b, _)| (*a, *b));
        let branch = match rel {
            Some((a, b)) => format!("release-v{a}.{b}"),
            None => "release-v<OSM_RELEASE>".to_string(),
        };
        let mut problems = Vec::new();
        let mut evidence = Vec::new();
        let mut files = Vec::new();
        for (name, file, default) in SMI {
            let want = needed(name, default, rel);
            match cx.snap.crds.iter().find(|c| c.metadata.name == name) {
                None => {
                    problems.push(format!("{name} is missing"));
                    files.push(file);
                }
                Some(c) => {
                    let served = c.served_versions();
                    if !served.contains(&want) {
                        problems.push(format!(
                            "{name} serves {} but OSM needs {want}",
                            if served.is_empty() {
                                "no version".to_string()
                            } else {
                                served.join(", ")
                            }
                        ));
                        evidence.push(obj_evidence(
                            &c.src,
                            object_ref("CustomResourceDefinition", None, name),
                            "spec.versions[served=true]",
                            &format!("served: [{}]; needed: {want}", served.join(", ")),
                        ));
                        files.push(file);
                    }
                }
            }
        }
        if problems.is_empty() {
            return Vec::new();
        }
        let crd_path = cx
            .snap
            .bundle
            .inputs
            .values()
            .find(|i| i.id.ends_with("/customresourcedefinitions") && i.path.is_some())
            .and_then(|i| i.path.clone())
            .unwrap_or_else(|| "kubectl/cluster/customresourcedefinitions.json".into());
        let smi_present: Vec<String> = cx
            .snap
            .crds
            .iter()
            .filter(|c| c.metadata.name.ends_with("smi-spec.io"))
            .map(|c| format!("{} [{}]", c.metadata.name, c.served_versions().join(",")))
            .collect();
        evidence.insert(
            0,
            Evidence {
                path: crd_path,
                line: None,
                object: None,
                field: None,
                excerpt: format!(
                    "SMI CRDs present: {}",
                    if smi_present.is_empty() {
                        "none".to_string()
                    } else {
                        smi_present.join(", ")
                    }
                ),
            },
        );
        let release_text = match &release {
            Some((a, b, from)) => format!("OSM v{a}.{b} (from {from})"),
            None => "the OSM release could not be read from the bundle".to_string(),
        };
        let mut f = finding(
            self,
            Subject::new("CustomResourceDefinition", None, "smi-spec.io"),
            format!("{} of OSM's SMI CRDs missing or at the wrong version", problems.len()),
            format!("{}; installed: {release_text}.", problems.join("; ")),
        );
        f.evidence = evidence;
        for file in files {
            f.fix.push(format!(
                "kubectl apply -f https://raw.githubusercontent.com/openservicemesh/osm/{branch}/cmd/osm-bootstrap/crds/{file}"
            ));
        }
        if release.is_none() {
            f.fix.push("replace <OSM_RELEASE> with the installed OSM release (for v1.2.x: 1.2), from kubectl get deployment osm-controller -n arc-osm-system -o jsonpath='{.spec.template.spec.containers[0].image}'".into());
        }
        vec![f]
    }
}
