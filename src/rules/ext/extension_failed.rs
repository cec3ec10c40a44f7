//! EXT001 extension-failed (error)
//!
//! What it detects: a cluster extension other than `microsoft.flux` (FLX002 covers that one) whose
//! `provisioningState` is `Failed`, which carries `errorInfo`, or whose status code or level
//! reports an error (`level` is often null in real `az` output, so the code counts too).
//!
//! Why it matters: a failed extension is not installed or not upgraded; its workload (Container
//! Insights, Open Service Mesh, Dapr, ...) is missing or stuck on an old version.
//!
//! Evidence: the extension's type, version, provisioning state and every status message.
//!
//! Fix: read the status message (it usually names the Helm or Kubernetes error); `az k8s-extension
//! show ... --debug` for the full ARM response. Guide: "Troubleshoot extension issues".

use super::ext_applies;
use crate::finding::{Finding, Subject};
use crate::model::Need;
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

pub struct ExtensionFailed;

impl Rule for ExtensionFailed {
    crate::rule_meta!("EXT001", "extension-failed", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Az("k8s-extension-*")],
            ..Inputs::default()
        }
    }

    fn applies(&self, cx: &Context) -> Applies {
        ext_applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        for e in cx.snap.extensions.iter().filter(|e| !e.is_type("microsoft.flux")) {
            if !e.failed() {
                continue;
            }
            let state = e.provisioning_state.as_deref().unwrap_or("<unknown>");
            let msgs = e.messages();
            let version = e
                .current_version
                .as_deref()
                .or(e.version.as_deref())
                .unwrap_or("<unknown>");
            let mut f = finding(
                self,
                Subject::new("Extension", None, &e.name),
                format!(
                    "extension {} ({}) is failed (provisioningState {state})",
                    e.name, e.extension_type
                ),
                match msgs.first() {
                    Some((_, m)) => format!("version {version}: {}", crate::text::excerpt(m, 600)),
                    None => format!("version {version}; provisioningState {state}; no status message"),
                },
            );
            let obj = format!("extension {}", e.name);
            f.evidence
                .push(obj_evidence(&e.src, obj.clone(), "provisioningState", state));
            for (field, m) in &msgs {
                f.evidence.push(obj_evidence(&e.src, obj.clone(), field, m));
            }
            let (rg, cl, ty) = (cx.facts.rg(), cx.facts.cluster(), cx.facts.cluster_type.az_type());
            f.fix.push("the status message above names the failing step (Helm install/upgrade, a Kubernetes error, a timeout): fix that first".into());
            f.fix.push(format!(
                "az k8s-extension show -g {rg} -c {cl} -n {} -t {ty} --debug",
                e.name
            ));
            if let Some(ns) = e.release_namespace() {
                f.fix.push(format!(
                    "kubectl get pods,events -n {ns}   (the extension's release namespace)"
                ));
            }
            out.push(f);
        }
        out
    }
}
