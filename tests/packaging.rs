//! The crate builds wherever it is put: as a member of another workspace (where `file!()` is
//! relative to that workspace's root, not to this crate) and as the files `cargo package` ships.
//! Offline: the dependencies are the ones this build already fetched (`--offline --locked`).
//! `cargo check` keeps it quick; its own target folder (`target/packaging-check`) stays warm
//! between runs and away from the lock the running `cargo test` holds on `target/`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

#[test]
fn builds_as_a_member_of_another_workspace() {
    let tmp = tempfile::tempdir().expect("tmp");
    let ws = tmp.path();
    std::fs::write(
        ws.join("Cargo.toml"),
        "[workspace]\nmembers = [\"crates/arcdiag\"]\nresolver = \"2\"\n",
    )
    .expect("write workspace");
    // The workspace's lock file is this crate's: the same versions, nothing re-resolved.
    std::fs::copy(root().join("Cargo.lock"), ws.join("Cargo.lock")).expect("lock");
    let member = ws.join("crates/arcdiag");
    std::fs::create_dir_all(&member).expect("mkdir");
    for f in ["Cargo.toml", "build.rs"] {
        std::fs::copy(root().join(f), member.join(f)).expect("copy");
    }
    copy_tree(&root().join("src"), &member.join("src"));
    // Cargo.toml names a test target (`[[test]] rules`), whose file must be there to parse it.
    copy_tree(&root().join("tests"), &member.join("tests"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let o = Command::new(cargo)
        .current_dir(ws)
        .args(["check", "--offline", "--locked", "-p", "arcdiag", "--bins", "--lib"])
        .env("CARGO_TARGET_DIR", root().join("target/packaging-check"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo");
    assert!(
        o.status.success(),
        "the crate does not build as a workspace member:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn the_packaged_file_list_holds_what_the_build_needs() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let o = Command::new(cargo)
        .current_dir(root())
        .args(["package", "--list", "--locked", "--offline", "--allow-dirty"])
        .output()
        .expect("run cargo package --list");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let list = String::from_utf8_lossy(&o.stdout);
    for need in [
        "build.rs",
        "Cargo.lock",
        "src/rules/mod.rs",
        "src/rules/flux/signatures.yaml",
    ] {
        assert!(list.lines().any(|l| l == need), "{need} not packaged:\n{list}");
    }
}
