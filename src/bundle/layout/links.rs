//! Members by name, and links: duplicate names (the last copy is read, as when extracting) and
//! symlinks and hard links followed inside the archive (at most 8 hops; a link that leaves the
//! archive, loops or dangles is an error naming it). Knows nothing of any layout.

use crate::bundle::read::{join_link, Content, Member};
use crate::bundle::BundleError;
use std::collections::BTreeMap;

pub(super) struct Members {
    pub(super) list: Vec<Member>,
    pub(super) by_path: crate::bundle::FastMap<String, usize>,
    /// How many paths the layout reads each member as (itself, and links to it).
    pub(super) refs: Vec<u32>,
    /// Whether each member is the copy of its name that is read (the last one).
    current: Vec<bool>,
    /// The links charged as copies of their target (see `RawBundle::charged_links`).
    pub(super) charged: std::collections::HashSet<String>,
}

impl Members {
    pub(super) fn new(
        list: Vec<Member>,
        charged: std::collections::HashSet<String>,
        errors: &mut Vec<BundleError>,
    ) -> Members {
        let mut by_path = crate::bundle::FastMap::default();
        by_path.reserve(list.len());
        // Names given to more than one member: (files, directories, links) among them.
        let mut dups: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
        let kind = |m: &Member| match m.content {
            Content::Dir => 1,
            Content::Symlink(_) | Content::HardLink(_) => 2,
            _ => 0,
        };
        let mut current = vec![true; list.len()];
        for (i, m) in list.iter().enumerate() {
            // Duplicate names: the last one wins, as when extracting; each shadowed one is named.
            if let Some(prev) = by_path.insert(m.path.clone(), i) {
                current[prev] = false;
                let e = dups.entry(m.path.as_str()).or_insert_with(|| {
                    let mut k = [0; 3];
                    k[kind(&list[prev])] += 1;
                    k
                });
                e[kind(m)] += 1;
            }
        }
        for (path, k) in dups {
            let n: usize = k.iter().sum();
            if k[1] == n {
                continue; // the same folder listed twice: nothing shadowed
            }
            let last = ["a file", "a directory", "a link"][by_path.get(path).map_or(0, |&i| kind(&list[i]))];
            let message = if k[0] == n {
                format!("duplicate member name: {n} copies in the archive; only the last is read")
            } else {
                let kinds: Vec<String> = [(k[0], "file"), (k[1], "directory"), (k[2], "link")]
                    .iter()
                    .filter(|(c, _)| *c > 0)
                    .map(|(c, w)| format!("{c} {w}{}", if *c > 1 { "s" } else { "" }))
                    .collect();
                format!(
                    "duplicate member name: {n} members ({}) in the archive; only the last, {last}, is read and the others are shadowed",
                    kinds.join(", ")
                )
            };
            errors.push(BundleError::new(path.to_string(), message));
        }
        let refs = vec![0; list.len()];
        Members {
            list,
            by_path,
            refs,
            current,
            charged,
        }
    }

    /// Whether `idx` is the copy of its name that is read (the last one).
    pub(super) fn is_current(&self, idx: usize) -> bool {
        self.current.get(idx).copied().unwrap_or(false)
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
                // A link to a folder is not followed: its files are not members under the link's
                // name, and following it would let a loop or a fan-out of links multiply them.
                Content::Dir if cur != idx => {
                    errors.push(BundleError::new(
                        self.list[idx].path.clone(),
                        format!(
                            "symlink to the folder '{}'; not followed (arcdiag reads files, and links to files)",
                            m.path
                        ),
                    ));
                    return None;
                }
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
