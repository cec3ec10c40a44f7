//! Typed views of `az ... -o json` outputs (the CLI flattens ARM `properties.*` to the top level).
//! Knows nothing of bundle paths (the layout maps `az/<slug>`) or of rules.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AzStatus {
    pub code: Option<String>,
    pub display_status: Option<String>,
    pub level: Option<String>,
    pub message: Option<String>,
    pub time: Option<String>,
}

/// `az k8s-extension show` / one item of `az k8s-extension list`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Extension {
    pub id: Option<String>,
    pub name: String,
    pub extension_type: String,
    pub provisioning_state: Option<String>,
    pub statuses: Vec<AzStatus>,
    pub error_info: Option<Value>,
    pub configuration_settings: BTreeMap<String, Value>,
    pub version: Option<String>,
    pub current_version: Option<String>,
    pub release_train: Option<String>,
    pub auto_upgrade_minor_version: Option<bool>,
    pub is_system_extension: Option<bool>,
    pub scope: Option<Value>,
}

impl Extension {
    pub fn is_type(&self, t: &str) -> bool {
        self.extension_type.eq_ignore_ascii_case(t)
    }
    /// The namespace the extension's release lives in.
    pub fn release_namespace(&self) -> Option<&str> {
        let s = self.scope.as_ref()?;
        s.pointer("/cluster/releaseNamespace")
            .or_else(|| s.pointer("/namespace/targetNamespace"))
            .and_then(Value::as_str)
    }
    pub fn setting(&self, key: &str) -> Option<String> {
        self.configuration_settings.get(key).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
    /// All status and error text, for message signatures.
    pub fn messages(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, s) in self.statuses.iter().enumerate() {
            if let Some(m) = &s.message {
                out.push((format!("statuses[{i}].message"), m.clone()));
            }
        }
        if let Some(e) = &self.error_info {
            if let Some(m) = e.get("message").and_then(Value::as_str) {
                out.push(("errorInfo.message".into(), m.to_string()));
            }
        }
        out
    }
    /// Failed: provisioning state Failed, or a status whose code or message reports an error
    /// (`level` is often null, so it is not relied on).
    pub fn failed(&self) -> bool {
        if self
            .provisioning_state
            .as_deref()
            .map(|s| s.eq_ignore_ascii_case("failed"))
            .unwrap_or(false)
        {
            return true;
        }
        if self.error_info.as_ref().map(|e| !e.is_null()).unwrap_or(false) {
            return true;
        }
        self.statuses.iter().any(|s| {
            let level_err = s
                .level
                .as_deref()
                .map(|l| l.eq_ignore_ascii_case("error"))
                .unwrap_or(false);
            let code = s.code.as_deref().unwrap_or("").to_ascii_lowercase();
            let code_err = code.contains("fail") || code.contains("error");
            level_err || code_err
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StatusCondition {
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub status: Option<String>,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub last_transition_time: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectStatus {
    pub name: String,
    pub namespace: Option<String>,
    pub kind: String,
    pub compliance_state: Option<String>,
    pub status_conditions: Vec<StatusCondition>,
    pub applied_by: Option<Value>,
    pub helm_release_properties: Option<Value>,
}

/// `az k8s-configuration flux show` / one item of `flux list`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FluxConfiguration {
    pub id: Option<String>,
    pub name: String,
    pub namespace: Option<String>,
    pub scope: Option<String>,
    pub compliance_state: Option<String>,
    pub provisioning_state: Option<String>,
    pub error_message: Option<String>,
    pub source_kind: Option<String>,
    pub suspend: Option<bool>,
    pub statuses: Vec<ObjectStatus>,
    pub git_repository: Option<Value>,
    pub kustomizations: Option<Value>,
}
