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

impl DirFiles {
    /// The real path of `path` inside the directory: `Err((not_found, message))` when it
    /// escapes the directory or cannot be resolved.
    fn resolve(&self, path: &str) -> Result<PathBuf, (bool, String)> {
        let rel = Path::new(path);
        if !rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err((false, format!("{path}: escapes the cookbook's directory")));
        }
        let full = self.root.join(rel);
        let real = full.canonicalize().map_err(|e| {
            (
                e.kind() == std::io::ErrorKind::NotFound,
                format!("{}: {e}", full.display()),
            )
        })?;
        if !real.starts_with(&self.root) {
            return Err((
                false,
                format!(
                    "{path}: resolves to {}, outside the cookbook's directory",
                    real.display()
                ),
            ));
        }
        Ok(real)
    }
}

impl geochip::recipe::FileSource for DirFiles {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        let real = self.resolve(path).map_err(|(_, m)| m)?;
        std::fs::read(&real).map_err(|e| format!("{}: {e}", self.root.join(path).display()))
    }

    fn objects(&self) -> Option<std::sync::Arc<dyn geochip::zarr::ObjectSource>> {
        Some(std::sync::Arc::new(self.clone()))
    }
}

/// The cookbook's files as a Zarr store's objects (the `read_zarr` step): each opened as a
/// [`crate::source::FileSource`] and read by range; a missing file is *not found* (an absent
/// chunk reads as the fill value), paths leaving the directory are refused.
///
/// ```
/// use geochip::zarr::ObjectSource;
/// let files = geochip_bench::recipe_files::DirFiles::new(std::path::Path::new("../cookbooks")).unwrap();
/// let e = files.open("chunking-matters/data/scene.zarr/red/c/9/9").err().unwrap();
/// assert_eq!(e.kind, geochip::stack::AssetErrorKind::NotFound);
/// assert!(files.open("chunking-matters/data/scene.zarr/red/zarr.json").is_ok());
/// ```
impl geochip::zarr::ObjectSource for DirFiles {
    fn open(
        &self,
        path: &str,
    ) -> Result<Box<dyn geochip::cog::ByteSource>, geochip::stack::AssetError> {
        use geochip::stack::AssetError;
        let real = self.resolve(path).map_err(|(missing, m)| {
            if missing {
                AssetError::not_found(m)
            } else {
                AssetError::unreachable(m)
            }
        })?;
        crate::source::FileSource::open(&real)
            .map(|s| Box::new(s) as Box<dyn geochip::cog::ByteSource>)
            .map_err(|e| AssetError::unreachable(e.to_string()))
    }

    fn name_of(&self, path: &str) -> String {
        self.root.join(path).display().to_string()
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
