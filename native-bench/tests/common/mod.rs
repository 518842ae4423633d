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
