//! Members by name, and links: duplicate names (the last copy is read, as when extracting) and
//! symlinks and hard links followed inside the archive (at most 8 hops; a link that leaves the
//! archive, loops or dangles is an error naming it). Knows nothing of any layout.

use crate::bundle::read::{Content, Member};
use crate::bundle::BundleError;
use std::collections::{BTreeMap, HashMap};

pub(super) struct Members {
    pub(super) list: Vec<Member>,
    pub(super) by_path: HashMap<String, usize>,
}

impl Members {
    pub(super) fn new(list: Vec<Member>, errors: &mut Vec<BundleError>) -> Members {
        let mut by_path = HashMap::new();
        by_path.reserve(list.len());
        let mut dups: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, m) in list.iter().enumerate() {
            // Duplicate names: the last one wins, as when extracting.
            if by_path.insert(m.path.clone(), i).is_some() && !matches!(m.content, Content::Dir) {
                *dups.entry(m.path.as_str()).or_insert(1) += 1;
            }
        }
        for (path, n) in dups {
            errors.push(BundleError::new(
                path.to_string(),
                format!("duplicate member name: {n} copies in the archive; only the last is read"),
            ));
        }
        Members { list, by_path }
    }

    /// Whether `idx` is the copy of its name that is read (the last one).
    pub(super) fn is_current(&self, idx: usize) -> bool {
        self.by_path.get(&self.list[idx].path) == Some(&idx)
    }

    /// Follow symlinks and hard links inside the archive (at most 8 hops); `None` for links that
    /// leave the archive, loop or dangle.
    pub(super) fn resolve(&self, idx: usize, errors: &mut Vec<BundleError>) -> Option<usize> {
        let mut cur = idx;
        for _ in 0..8 {
            let m = &self.list[cur];
            let target = match &m.content {
                Content::Symlink(t) => join_link(&m.path, t),
                Content::HardLink(t) => crate::bundle::read::clean_member_name(t).ok(),
                _ => return Some(cur),
            };
            let Some(target) = target else {
                errors.push(BundleError::new(
                    self.list[idx].path.clone(),
                    "link points outside the archive; ignored".into(),
                ));
                return None;
            };
            match self.by_path.get(&target) {
                Some(&next) => cur = next,
                None => {
                    errors.push(BundleError::new(
                        self.list[idx].path.clone(),
                        format!("link target '{target}' is not in the archive; ignored"),
                    ));
                    return None;
                }
            }
        }
        errors.push(BundleError::new(
            self.list[idx].path.clone(),
            "link loop; ignored".into(),
        ));
        None
    }
}

/// Resolve a symlink target relative to the link's folder; `None` if it climbs out.
fn join_link(link_path: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = link_path.split('/').collect();
    parts.pop();
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_stay_inside() {
        assert_eq!(join_link("a/b/c.log", "../x/y.log").as_deref(), Some("a/x/y.log"));
        assert_eq!(join_link("a/c.log", "../../etc/passwd"), None);
        assert_eq!(join_link("a/c.log", "/etc/passwd"), None);
    }
}
