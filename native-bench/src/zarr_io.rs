//! Zarr stores on disk for the CLI: the filesystem store under the core's
//! [`geochip::zarr`] layer, atomic writes (a temporary sibling directory renamed into place
//! when complete) and `--force`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use geochip::zarr::{Compression, WriteOptions, ZarrArray, ZarrStore};
use zarrs_filesystem::FilesystemStore;

/// True when `path` names a Zarr store: it ends in `.zarr` or is a directory with a
/// `zarr.json`.
pub fn is_zarr(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("zarr"))
        || path.join("zarr.json").is_file()
}

/// A store being written: everything goes to a hidden sibling directory, renamed onto the
/// final path by [`ZarrOut::commit`]; dropped without commit, the temporary directory is
/// removed, so a failed write leaves nothing behind (and never half a store).
pub struct ZarrOut {
    store: ZarrStore,
    tmp: PathBuf,
    path: PathBuf,
    force: bool,
    committed: bool,
}

impl ZarrOut {
    /// Starts writing the store `path`; refuses an existing path unless `force`.
    pub fn create(path: &Path, force: bool) -> anyhow::Result<Self> {
        if path.exists() && !force {
            bail!(
                "{}: exists; use --force to overwrite the output",
                path.display()
            );
        }
        let name = path
            .file_name()
            .with_context(|| format!("{}: not a store path", path.display()))?
            .to_string_lossy()
            .into_owned();
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("{}: cannot create", parent.display()))?;
        let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)
                .with_context(|| format!("{}: cannot remove a stale temporary", tmp.display()))?;
        }
        std::fs::create_dir(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
        let fs = FilesystemStore::new(&tmp)
            .with_context(|| format!("{}: cannot open as a Zarr store", tmp.display()))?;
        Ok(Self {
            store: ZarrStore::new(path.display().to_string(), Arc::new(fs)),
            tmp,
            path: path.to_path_buf(),
            force,
            committed: false,
        })
    }

    /// The store to write into.
    pub fn store(&self) -> &ZarrStore {
        &self.store
    }

    /// The directory being written (for extra files such as a JSON sidecar).
    pub fn dir(&self) -> &Path {
        &self.tmp
    }

    /// Moves the finished store onto its path (replacing an existing one only with force).
    pub fn commit(mut self) -> anyhow::Result<()> {
        let old = self.tmp.with_file_name(format!(
            ".{}.old-{}",
            self.path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        let replacing = self.path.exists();
        if replacing {
            if !self.force {
                bail!(
                    "{}: appeared while writing; use --force to overwrite the output",
                    self.path.display()
                );
            }
            std::fs::rename(&self.path, &old)
                .with_context(|| format!("{}: cannot move aside", self.path.display()))?;
        }
        if let Err(e) = std::fs::rename(&self.tmp, &self.path) {
            if replacing {
                let _ = std::fs::rename(&old, &self.path);
            }
            return Err(e)
                .with_context(|| format!("{}: cannot move into place", self.path.display()));
        }
        self.committed = true;
        if replacing {
            let r = if old.is_dir() {
                std::fs::remove_dir_all(&old)
            } else {
                std::fs::remove_file(&old)
            };
            r.with_context(|| format!("{}: cannot remove the replaced output", old.display()))?;
        }
        Ok(())
    }
}

impl Drop for ZarrOut {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Opens array `array` (a path inside the store; default: the root array, or the group's only
/// array besides `spatial_ref`) of the store at `path`.
pub fn open_input(path: &Path, array: Option<&str>) -> anyhow::Result<ZarrArray> {
    if !path.join("zarr.json").is_file() {
        bail!("{}: not a Zarr v3 store (no zarr.json)", path.display());
    }
    let fs = FilesystemStore::new(path)
        .with_context(|| format!("{}: cannot open as a Zarr store", path.display()))?;
    let store = ZarrStore::new(path.display().to_string(), Arc::new(fs));
    let name = match array {
        Some(a) => a.to_owned(),
        None => default_array(path)?,
    };
    Ok(store.open_array(&name)?)
}

/// The array to read when none is named: the root itself, or the one array of the group.
fn default_array(path: &Path) -> anyhow::Result<String> {
    let root: serde_json::Value = serde_json::from_slice(
        &std::fs::read(path.join("zarr.json"))
            .with_context(|| format!("{}: cannot read zarr.json", path.display()))?,
    )
    .with_context(|| format!("{}/zarr.json: not JSON", path.display()))?;
    if root["node_type"] == "array" {
        return Ok("/".to_owned());
    }
    let mut arrays = Vec::new();
    for entry in
        std::fs::read_dir(path).with_context(|| format!("{}: cannot list", path.display()))?
    {
        let entry = entry?;
        let meta = entry.path().join("zarr.json");
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == geochip::zarr::SPATIAL_REF || !meta.is_file() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta)?)
            .with_context(|| format!("{}: not JSON", meta.display()))?;
        // 1-D arrays named after their only dim are coordinates (xarray's rule), not data.
        let coordinate = v["dimension_names"] == serde_json::json!([name]);
        if v["node_type"] == "array" && !coordinate {
            arrays.push(name);
        }
    }
    arrays.sort();
    match arrays.as_slice() {
        [one] => Ok(format!("/{one}")),
        [] => bail!("{}: the group holds no array", path.display()),
        many => bail!(
            "{}: the group holds several arrays {many:?}; name one with --array",
            path.display()
        ),
    }
}

/// Options of the Zarr outputs shared by `slice` and `rasterize`.
#[derive(Debug, Clone, clap::Args)]
pub struct ZarrOpts {
    /// Zarr output: compression of each chunk (none, gzip[:0-9], zstd[:level]).
    #[arg(long, default_value = "zstd:1")]
    pub compression: String,
    /// Zarr output: chunk shape, comma-separated, one size per dim of the written array.
    #[arg(long, value_delimiter = ',')]
    pub chunks: Option<Vec<usize>>,
    /// Zarr output: shard shape (whole multiples of the chunks), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub shards: Option<Vec<usize>>,
}

impl ZarrOpts {
    /// The core's write options.
    pub fn write_options(&self) -> anyhow::Result<WriteOptions> {
        let compression: Compression = self
            .compression
            .parse()
            .map_err(anyhow::Error::msg)
            .context("--compression")?;
        Ok(WriteOptions {
            chunk_shape: self.chunks.clone(),
            shard_shape: self.shards.clone(),
            compression,
            ..WriteOptions::default()
        })
    }
}
