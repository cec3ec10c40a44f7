//! FLX002 flux-extension-failed (error)
//!
//! What it detects: the `microsoft.flux` cluster extension is in a failed state: its
//! `provisioningState` is `Failed`, it carries `errorInfo`, or a status's code or level reports an
//! error (`level` is often null in real output, so the code counts too).
//!
//! Why it matters: the extension installs the Flux controllers and the Azure GitOps agents; while
//! it is failed, flux configurations are not applied or not reported back to Azure.
//!
//! Evidence: the extension's provisioning state and each status message, quoted. The cause rules
//! that fired in the same bundle (FLX003-FLX008) are listed under it as related findings.
//!
//! Fix: make sure no policy restricts the `flux-system` namespace or objects in it (FLX003,
//! FLX008); on AKS make sure `AKS-ExtensionManager` is registered (FLX004); then, per the guide:
//! `az k8s-extension delete --force -g <RG> -c <CLUSTER> -n flux -t <TYPE>`, `helm uninstall flux
//! -n flux-system`, `kubectl delete namespaces flux-system`, and recreate the flux configuration
//! (which installs the extension again). Guide: "Errors installing the microsoft.flux extension".

use super::flux_applies;
use crate::finding::{Finding, Subject};
use crate::model::Need;
use crate::rules::{finding, obj_evidence, Applies, Context, Inputs, Rule};

pub struct FluxExtensionFailed;

const CAUSES: &[&str] = &["FLX003", "FLX004", "FLX005", "FLX006", "FLX007", "FLX008"];

impl Rule for FluxExtensionFailed {
    crate::rule_meta!("FLX002", "flux-extension-failed", Error);

    fn inputs(&self) -> Inputs {
        Inputs {
            required: vec![Need::Az("k8s-extension-*")],
            ..Inputs::default()
        }
    }

    fn after(&self) -> &[&str] {
        CAUSES
    }

    fn applies(&self, cx: &Context) -> Applies {
        flux_applies(cx)
    }

    fn check(&self, cx: &Context) -> Vec<Finding> {
        let mut out = Vec::new();
        for e in cx.snap.extensions.iter().filter(|e| e.is_type("microsoft.flux")) {
            if !e.failed() {
                continue;
            }
            let state = e.provisioning_state.as_deref().unwrap_or("<unknown>");
            let msgs = e.messages();
            let first = msgs.first().map(|(_, m)| m.as_str()).unwrap_or("");
            let mut f = finding(
                self,
                Subject::new("Extension", None, &e.name),
                format!(
                    "the microsoft.flux extension {} is failed (provisioningState {state})",
                    e.name
                ),
                if first.is_empty() {
                    format!("provisioningState {state}; no status message")
                } else {
                    format!("provisioningState {state}: {}", crate::text::excerpt(first, 600))
                },
            );
            let ext = format!("extension {}", e.name);
            f.evidence
                .push(obj_evidence(&e.src, ext.clone(), "provisioningState", state));
            for (field, m) in &msgs {
                f.evidence.push(obj_evidence(&e.src, ext.clone(), field, m));
            }
            for code in CAUSES {
                f.related.extend(cx.prior_of(code).map(|p| p.as_related()));
            }
            let (rg, cl, ty) = (cx.facts.rg(), cx.facts.cluster(), cx.facts.cluster_type.az_type());
            f.fix.push("check for policies that restrict creating the flux-system namespace or objects in it (Gatekeeper/Azure Policy, PodSecurity, Kyverno); see FLX003 and FLX008".into());
            if cx.facts.cluster_type == crate::facts::ClusterType::Aks {
                f.fix.push("on AKS, make sure the AKS-ExtensionManager feature is registered (FLX004): az feature show --namespace Microsoft.ContainerService --name AKS-ExtensionManager".into());
            }
            f.fix.push(format!(
                "az k8s-extension show -g {rg} -c {cl} -n {} -t {ty}   (read its statuses)",
                e.name
            ));
            f.fix.push(format!(
                "az k8s-extension delete --force -g {rg} -c {cl} -n {} -t {ty}",
                e.name
            ));
            f.fix.push("helm uninstall flux -n flux-system".into());
            f.fix.push("kubectl delete namespaces flux-system".into());
            f.fix.push("then recreate the flux configuration (it installs the extension again) or reinstall the extension: az k8s-extension create ... --extension-type microsoft.flux".into());
            out.push(f);
        }
        out
    }
}
