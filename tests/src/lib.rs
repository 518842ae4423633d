//! Helpers shared by the fixture tests in `tests/tests/`.
//!
//! Fixtures live in `tests/fixtures/` (copied from the anchors' outputs, each directory with a
//! `PROVENANCE.md`); sample data shared with the cookbooks lives in `cookbooks/data/`. Tests
//! never read anything outside the repository.

use std::path::PathBuf;

/// The repository root.
///
/// ```
/// assert!(geochip_tests::repo_root().join("Cargo.toml").exists());
/// ```
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// A path under `tests/fixtures/`.
///
/// ```
/// assert!(geochip_tests::fixture("geotiff/byte.tif").exists());
/// ```
pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("tests").join("fixtures").join(rel)
}

/// A path under `cookbooks/data/`.
///
/// ```
/// assert!(geochip_tests::sample_data("RGB.byte.tif").exists());
/// ```
pub fn sample_data(rel: &str) -> PathBuf {
    repo_root().join("cookbooks").join("data").join(rel)
}

pub mod cross_target;
pub mod stack_reader;
