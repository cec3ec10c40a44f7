//! Rules about any cluster extension (`EXT`), one per file. They apply when the bundle holds
//! `az k8s-extension list/show` output. Rules read the typed views and facts: they know no bundle
//! layout (inputs are logical ids) and never format output.

mod extension_failed;
mod extension_pods_unhealthy;

use super::{Applies, Context, Rule};
use crate::model::Need;

pub fn all() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(extension_failed::ExtensionFailed),
        Box::new(extension_pods_unhealthy::ExtensionPodsUnhealthy),
    ]
}

/// EXT rules apply when `az k8s-extension list/show` output is in the bundle. When it was
/// attempted but failed, the rule runs and its required input makes it `skipped`; when it was
/// not collected at all, whether any extension is installed cannot be told (`skipped` too).
pub fn ext_applies(cx: &Context) -> Applies {
    if !cx.snap.extensions.is_empty() {
        return Applies::Yes;
    }
    match cx.snap.need_state(&Need::Az("k8s-extension-*")) {
        crate::model::NeedState::Present => {
            Applies::No("no cluster extension is installed (az k8s-extension list is empty)".into())
        }
        crate::model::NeedState::Failed(_) => Applies::Yes,
        crate::model::NeedState::Absent(why) => {
            Applies::Unknown(format!("cannot tell whether any cluster extension is installed: {why}"))
        }
    }
}
