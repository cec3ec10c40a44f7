//! The `kubectl cluster-info dump` layout: `<resource>.json` at the root (cluster scope),
//! `<ns>/<resource>.json`, and `<ns>/<pod>/logs.txt` (one file for all of a pod's containers).
//! Knows nothing of the other layouts, nor of what the objects mean.

use super::links::Members;
use super::{files_under, take, Mapper};

pub(super) fn map_cluster_info(ms: &mut Members, root: &str, mp: &mut Mapper) {
    let mut err = Vec::new();
    let files = files_under(ms, root, &mut err);
    mp.errors.extend(err);
    for (rel, idx) in files {
        let parts: Vec<&str> = rel.split('/').collect();
        match parts.as_slice() {
            [file] => {
                if let Some(res) = file.strip_suffix(".json") {
                    let id = format!("kubectl/cluster/{res}");
                    let res = res.to_string();
                    let c = take(ms, idx);
                    mp.add_resource_file(id, &res, &rel, c);
                }
            }
            [ns, file] => {
                if let Some(res) = file.strip_suffix(".json") {
                    let id = format!("kubectl/namespaces/{ns}/{res}");
                    let res = res.to_string();
                    let c = take(ms, idx);
                    mp.add_resource_file(id, &res, &rel, c);
                }
            }
            [ns, pod, "logs.txt"] => {
                let (ns, pod) = (ns.to_string(), pod.to_string());
                let c = take(ms, idx);
                mp.add_log(&ns, &pod, "", false, &rel, c);
            }
            _ => {}
        }
    }
}
