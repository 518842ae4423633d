//! A recipe's native I/O, shared by `geochip run` and the book's preprocessor
//! (`geochip-book-preprocessor`): its files read from the cookbook's directory and a clock.

use std::path::{Component, Path, PathBuf};

/// Reads a recipe's files from its directory; paths that leave it are refused (the recipe
/// validator refuses them first; this also catches symbolic links pointing outside).
///
/// ```
/// use geochip::recipe::FileSource;
/// let dir = std::env::temp_dir();
/// let files = geochip_bench::recipe_files::DirFiles::new(&dir).unwrap();
/// assert!(files.read("../etc/passwd").unwrap_err().contains("escapes"));
/// ```
#[derive(Debug, Clone)]
pub struct DirFiles {
    root: PathBuf,
}

impl DirFiles {
    /// Files under `root` (resolved to an absolute, canonical path).
    pub fn new(root: &Path) -> std::io::Result<Self> {
        Ok(Self {
            root: root.canonicalize()?,
        })
    }
}

impl geochip::recipe::FileSource for DirFiles {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        let rel = Path::new(path);
        if !rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(format!("{path}: escapes the cookbook's directory"));
        }
        let full = self.root.join(rel);
        let real = full
            .canonicalize()
            .map_err(|e| format!("{}: {e}", full.display()))?;
        if !real.starts_with(&self.root) {
            return Err(format!(
                "{path}: resolves to {}, outside the cookbook's directory",
                real.display()
            ));
        }
        std::fs::read(&real).map_err(|e| format!("{}: {e}", full.display()))
    }
}

/// The clock of timing steps: milliseconds since it was made.
///
/// ```
/// use geochip::recipe::Clock;
/// let c = geochip_bench::recipe_files::InstantClock::start();
/// assert!(c.now_ms() >= 0.0);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct InstantClock(std::time::Instant);

impl InstantClock {
    /// A clock starting now.
    pub fn start() -> Self {
        Self(std::time::Instant::now())
    }
}

impl geochip::recipe::Clock for InstantClock {
    fn now_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1e3
    }
}
