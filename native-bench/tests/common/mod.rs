//! Helpers shared by the CLI tests: run the real `geochip` binary from the repository root.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root (the CLI tests run there, as a user in a clone would).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("native-bench lives inside the repository")
        .to_path_buf()
}

/// Runs `geochip ARGS…` from the repository root and returns its output.
pub fn geochip(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_geochip"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("the geochip binary runs")
}

/// A fresh, empty scratch directory for one test (`prefix` names the test file).
#[allow(dead_code)] // each test binary uses a subset of these helpers
pub fn scratch(prefix: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("geochip-{prefix}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Asserts the command succeeded, printing its stderr otherwise.
#[allow(dead_code)]
pub fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts the command failed with `needle` in its stderr.
#[allow(dead_code)]
pub fn fails_with(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure, got success");
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
}

/// A Zarr store on disk, opened through the core's Zarr layer.
#[allow(dead_code)]
pub fn zarr_store(path: &std::path::Path) -> geochip::zarr::ZarrStore {
    let fs = zarrs_filesystem::FilesystemStore::new(path).expect("a Zarr store directory");
    geochip::zarr::ZarrStore::new(path.display().to_string(), std::sync::Arc::new(fs))
}
