//! The bundle writer: a gzip-compressed tar under one top folder (block gzip, see
//! `bundle::gzblocks`: any gzip reader reads it, `analyze` decompresses it on every core), written to a hidden temporary
//! file (mode 0600) beside the target and renamed onto it only when the manifest is in. A run
//! that fails or is dropped midway removes the temporary file; no half bundle ever carries the
//! final name. Outputs are appended as steps finish, so memory holds one output at a time.

use crate::bundle::gzblocks::BlockGzWriter;
use flate2::Compression;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub struct BundleWriter {
    tar: Option<tar::Builder<BlockGzWriter<File>>>,
    tmp: PathBuf,
    target: PathBuf,
    top: String,
    mtime: u64,
    bytes: u64,
}

/// `yyyymmddThhmmssZ` and RFC 3339 (`yyyy-mm-ddThh:mm:ssZ`) of a UTC time.
pub fn utc_stamps(t: SystemTime) -> (String, String) {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    (
        format!("{y:04}{mo:02}{d:02}T{h:02}{m:02}{s:02}Z"),
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z"),
    )
}

/// A cluster or context name made safe for a file name (`[A-Za-z0-9._-]`, others become `-`).
pub fn file_label(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches(|c| c == '-' || c == '.').to_string();
    if s.is_empty() {
        "cluster".into()
    } else {
        s.chars().take(100).collect()
    }
}

impl BundleWriter {
    /// Start writing `target` (which must not exist) with every member under `top/`.
    pub fn create(target: &Path, top: &str, mtime: SystemTime) -> io::Result<BundleWriter> {
        if target.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} already exists", target.display()),
            ));
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "bundle.tar.gz".into());
        let tmp = dir.join(format!(".{name}.{}.partial", std::process::id()));
        let file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        let mut tar = tar::Builder::new(BlockGzWriter::new(file, Compression::default()));
        tar.mode(tar::HeaderMode::Deterministic);
        let mtime = mtime.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut w = BundleWriter {
            tar: Some(tar),
            tmp,
            target: target.to_path_buf(),
            top: top.to_string(),
            mtime,
            bytes: 0,
        };
        w.add_dir()?;
        Ok(w)
    }

    fn add_dir(&mut self) -> io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o700);
        h.set_mtime(self.mtime);
        h.set_size(0);
        let path = format!("{}/", self.top);
        self.builder()?.append_data(&mut h, path, io::empty())
    }

    fn builder(&mut self) -> io::Result<&mut tar::Builder<BlockGzWriter<File>>> {
        self.tar
            .as_mut()
            .ok_or_else(|| io::Error::other("the bundle is already finished"))
    }

    /// Add one file at `rel` (bundle-relative, `/`-separated).
    pub fn add(&mut self, rel: &str, data: &[u8]) -> io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o600);
        h.set_mtime(self.mtime);
        h.set_size(data.len() as u64);
        let path = format!("{}/{rel}", self.top);
        self.builder()?.append_data(&mut h, path, data)?;
        self.bytes += data.len() as u64;
        Ok(())
    }

    /// Add a symbolic or hard link at `rel` pointing at `target` (as the input archive had it).
    pub fn add_link(&mut self, rel: &str, target: &str, hard: bool) -> io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(if hard {
            tar::EntryType::Link
        } else {
            tar::EntryType::Symlink
        });
        h.set_mode(0o600);
        h.set_mtime(self.mtime);
        h.set_size(0);
        let path = format!("{}/{rel}", self.top);
        let target = if hard {
            format!("{}/{target}", self.top)
        } else {
            target.to_string()
        };
        self.builder()?.append_link(&mut h, path, target)
    }

    /// Uncompressed bytes of the files added so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Add the manifest last, flush, sync and rename onto the target. Returns the target.
    pub fn finish(self, manifest: &[u8]) -> io::Result<PathBuf> {
        self.finish_with("manifest.json", manifest)
    }

    /// Add `last` (the manifest, or another record) at `rel`, then finish as [`finish`] does.
    pub fn finish_with(mut self, rel: &str, last: &[u8]) -> io::Result<PathBuf> {
        self.add(rel, last)?;
        let tar = self
            .tar
            .take()
            .ok_or_else(|| io::Error::other("the bundle is already finished"))?;
        let gz = tar.into_inner()?;
        let mut file = gz.finish()?;
        file.flush()?;
        file.sync_all()?;
        std::fs::rename(&self.tmp, &self.target)?;
        Ok(self.target.clone())
    }
}

impl Drop for BundleWriter {
    fn drop(&mut self) {
        if self.tar.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_795_626_000); // 2026-11-25T17:00:00Z
        assert_eq!(
            utc_stamps(t),
            ("20261125T170000Z".to_string(), "2026-11-25T17:00:00Z".to_string())
        );
        assert_eq!(utc_stamps(UNIX_EPOCH).1, "1970-01-01T00:00:00Z");
    }

    #[test]
    fn labels() {
        assert_eq!(file_label("arn:aws/eks c1"), "arn-aws-eks-c1");
        assert_eq!(file_label("///"), "cluster");
    }
}
