//! Zarr v3 arrays with [`zarrs`]: write a [`LabeledArray`] (dims, dtype, fill value, chunk and
//! shard shape, compression) with its [`Grid`] as attributes, and read whole arrays or windows
//! back into a [`LabeledArray`] with dims and grid.
//!
//! The core does no I/O of its own: everything goes through zarrs' storage traits
//! ([`ReadableStorage`] to read, [`ReadableWritableListableStorage`] to write). An in-memory
//! store ([`ZarrStore::memory`]) works everywhere, the browser included; the native CLI plugs in
//! the filesystem store, and [`ByteSourceStore`] reads a store object by object through the
//! core's [`ByteSource`](crate::cog::ByteSource)s (files natively, HTTP `Range` requests in the
//! browser; a 404 is an absent chunk, other failures [`ZarrError::Source`] naming the URL).
//!
//! **Georeferencing.** A grid is written twice, for the two readers that exist today:
//! - rioxarray's convention, which xarray + rioxarray read: the data array has attributes
//!   `grid_mapping: "spatial_ref"` and `coordinates: "spatial_ref"`, and a 0-d sibling array
//!   `spatial_ref` carries `spatial_ref` (the CRS as text: `EPSG:32633`, WKT or PROJJSON),
//!   `crs_wkt` (when the CRS is WKT) and `GeoTransform` (GDAL order, space-separated, as
//!   rioxarray writes it). Written only when the array lives inside a group (it needs a sibling).
//! - the GeoZarr `proj:` / `spatial:` conventions, on the array itself: `proj:code`
//!   (`EPSG:32633`; `proj:wkt2` / `proj:projjson` for other CRSs), `spatial:transform`
//!   (rasterio `Affine` order `[a, b, c, d, e, f]`), `spatial:dimensions` (`["y", "x"]`) and
//!   `spatial:shape` (`[height, width]`).
//!
//! Reading prefers the `spatial:`/`proj:` attributes and falls back to the `grid_mapping`
//! sibling. Dims come from `dimension_names` (`dim_0`, `dim_1`… where absent, as xarray names
//! them).
//!
//! Codecs: `bytes` (little-endian) then `gzip` or `zstd`, optionally inside `sharding_indexed`
//! (index checksummed with `crc32c`). gzip and sharding are pure Rust and build for wasm32;
//! `zstd` is C and only available where the embedding crate enables zarrs' `zstd` feature
//! (native-bench does); elsewhere writing or reading zstd chunks is a clear [`ZarrError`].
//!
//! ```
//! use geochip::zarr::{Compression, WriteOptions, ZarrStore};
//! use geochip::{GeoTransform, Grid, LabeledArray};
//! let grid = Grid::new(GeoTransform::from_affine([10.0, 0.0, 300000.0, 0.0, -10.0, 4000000.0]),
//!                      6, 4, Some("EPSG:32633".parse().unwrap())).unwrap();
//! let a = LabeledArray::from_shape_vec(&["y", "x"], &[4, 6], (0..24u8).collect()).unwrap()
//!     .with_grid(grid.clone()).unwrap();
//! let store = ZarrStore::memory();
//! store.create_group("/", serde_json::Map::new()).unwrap();
//! let opts = WriteOptions { chunk_shape: Some(vec![2, 4]), compression: Compression::Gzip { level: 5 },
//!                           ..WriteOptions::default() };
//! store.write_array("/labels", &a, &opts).unwrap();
//! let back = store.open_array("/labels").unwrap();
//! assert_eq!(back.dims(), &["y", "x"]);
//! assert_eq!(back.read().unwrap(), a);
//! let w = back.read_window(&[1, 2], &[2, 3]).unwrap();
//! assert_eq!(w.grid().unwrap().transform.to_affine(), [10.0, 0.0, 300020.0, 0.0, -10.0, 3999990.0]);
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use serde_json::{Map, Value, json};
use zarrs::array::codec::{ShardingCodecOptions, SubchunkWriteOrder};
use zarrs::array::{
    Array, ArrayBytes, ArrayMetadata, ArrayMetadataV3, ArrayShardedExt, ArrayShardedReadableExt,
    ArrayShardedReadableExtCache, ArraySubset, CodecOptions, CodecSpecificOptions,
};
pub use zarrs::storage::store::MemoryStore;
pub use zarrs::storage::{
    ReadableStorage, ReadableStorageTraits, ReadableWritableListableStorage,
    ReadableWritableListableStorageTraits,
};
use zarrs::storage::{StoreKey, WritableStorageTraits};

use crate::array::{ArrayData, ArrayError, DType, Element, LabeledArray, with_data};
use crate::crs::Crs;
use crate::grid::{Grid, Window};
use crate::transform::GeoTransform;

mod source;
pub use source::{ByteSourceStore, COALESCE_GAP, FetchStats, ObjectSource};

/// Name of the sibling array that carries the CRS and geotransform (rioxarray's convention).
pub const SPATIAL_REF: &str = "spatial_ref";

/// Errors from reading or writing Zarr arrays. Each names the store and the array path, and
/// chunk errors name the chunk's store key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZarrError {
    /// No array metadata (`zarr.json`) at the path.
    #[error("{store}: no Zarr array at '{path}' (no zarr.json there)")]
    NotFound {
        /// The store.
        store: String,
        /// The array path.
        path: String,
    },
    /// The metadata could not be read or is not a valid Zarr array.
    #[error("{store}: cannot open Zarr array '{path}': {message}")]
    Open {
        /// The store.
        store: String,
        /// The array path.
        path: String,
        /// What zarrs reported.
        message: String,
    },
    /// The array (or group) could not be created with the requested layout and codecs.
    #[error("{store}: cannot create Zarr array '{path}': {message}")]
    Create {
        /// The store.
        store: String,
        /// The array path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A chunk that is missing its bytes, truncated or corrupt.
    #[error("{store}: array '{path}': chunk '{key}' cannot be decoded: {message}")]
    Chunk {
        /// The store.
        store: String,
        /// The array path.
        path: String,
        /// The chunk's store key, e.g. `labels/c/0/3`.
        key: String,
        /// What zarrs reported.
        message: String,
    },
    /// The store could not fetch an object (HTTP 500, a network error, a short read): not
    /// "absent" (404 reads as the fill value), a failure; the message names the path or URL.
    #[error("{store}: array '{path}': cannot fetch '{key}': {message}")]
    Source {
        /// The store.
        store: String,
        /// The array path.
        path: String,
        /// The store key, e.g. `labels/c/0/3` or `labels/zarr.json`.
        key: String,
        /// What the store reported (naming the URL or file).
        message: String,
    },
    /// Reading or writing array data failed outside any one chunk.
    #[error("{store}: array '{path}': {message}")]
    Data {
        /// The store.
        store: String,
        /// The array path.
        path: String,
        /// What zarrs reported.
        message: String,
    },
    /// A data type geochip does not hold (it reads the ten numeric dtypes).
    #[error("{store}: array '{path}' has data type {dtype}; geochip reads uint8 … float64")]
    UnsupportedDType {
        /// The store.
        store: String,
        /// The array path.
        path: String,
        /// The data type as the metadata names it.
        dtype: String,
    },
    /// A window, chunk shape, shard shape or fill value that does not fit the array.
    #[error("{store}: array '{path}': {problem}")]
    Layout {
        /// The store.
        store: String,
        /// The array path.
        path: String,
        /// The problem.
        problem: String,
    },
    /// A georeferencing attribute that cannot be parsed.
    #[error("{store}: array '{path}': attribute '{key}': {problem}")]
    Attribute {
        /// The store.
        store: String,
        /// The array path.
        path: String,
        /// The attribute's name.
        key: String,
        /// The problem.
        problem: String,
    },
    /// The array read back does not form a [`LabeledArray`] (e.g. duplicate dimension names).
    #[error(transparent)]
    Array(#[from] ArrayError),
}

/// The compression of each chunk after the `bytes` codec.
///
/// ```
/// use geochip::zarr::Compression;
/// assert_eq!("zstd:1".parse::<Compression>().unwrap(), Compression::Zstd { level: 1 });
/// assert_eq!("gzip".parse::<Compression>().unwrap(), Compression::Gzip { level: 6 });
/// assert_eq!("none".parse::<Compression>().unwrap(), Compression::None);
/// assert!("lz4".parse::<Compression>().is_err());
/// assert_eq!(Compression::Gzip { level: 6 }.to_string(), "gzip:6");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// No compression.
    #[default]
    None,
    /// gzip (pure Rust, works in the browser), level 0–9.
    Gzip {
        /// Compression level 0–9.
        level: u32,
    },
    /// zstd (native only: needs zarrs' `zstd` feature, which native-bench enables).
    Zstd {
        /// Compression level (1 is fast; negative levels are faster still).
        level: i32,
    },
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Compression::None => f.write_str("none"),
            Compression::Gzip { level } => write!(f, "gzip:{level}"),
            Compression::Zstd { level } => write!(f, "zstd:{level}"),
        }
    }
}

impl FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        let (name, level) = match t.split_once(':') {
            Some((n, l)) => (n, Some(l)),
            None => (t.as_str(), None),
        };
        let bad = || format!("compression '{s}': expected none, gzip[:0-9] or zstd[:level]");
        match name {
            "none" | "raw" if level.is_none() => Ok(Compression::None),
            "gzip" => {
                let level = level.map_or(Ok(6), str::parse::<u32>).map_err(|_| bad())?;
                if level > 9 {
                    return Err(bad());
                }
                Ok(Compression::Gzip { level })
            }
            "zstd" => Ok(Compression::Zstd {
                level: level.map_or(Ok(1), str::parse::<i32>).map_err(|_| bad())?,
            }),
            _ => Err(bad()),
        }
    }
}

impl Compression {
    fn codec(self) -> Option<Value> {
        match self {
            Compression::None => None,
            Compression::Gzip { level } => {
                Some(json!({"name": "gzip", "configuration": {"level": level}}))
            }
            Compression::Zstd { level } => {
                Some(json!({"name": "zstd", "configuration": {"level": level, "checksum": false}}))
            }
        }
    }
}

/// How to lay out an array written with [`ZarrStore::write_array`].
///
/// ```
/// let o = geochip::zarr::WriteOptions::default();
/// assert!(o.chunk_shape.is_none() && o.shard_shape.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteOptions {
    /// Chunk shape (the unit of compression and of reading). `None`: the
    /// [`default_chunk_shape`].
    pub chunk_shape: Option<Vec<usize>>,
    /// Shard shape: each shard stores a whole number of chunks in one object
    /// (`sharding_indexed`). `None`: no sharding.
    pub shard_shape: Option<Vec<usize>>,
    /// Compression of each chunk.
    pub compression: Compression,
    /// The fill value (of chunks never written); `None`: 0. Must be representable in the dtype.
    pub fill_value: Option<f64>,
    /// Extra attributes, written beside the georeferencing ones.
    pub attributes: Map<String, Value>,
}

/// The default chunk shape: `y` and `x` get up to 512, every other dim 1; an array without
/// `y`/`x` gets up to 512 on its last two axes and 1 on the others.
///
/// ```
/// use geochip::zarr::default_chunk_shape;
/// assert_eq!(default_chunk_shape(&["band", "y", "x"], &[3, 2000, 300]), vec![1, 512, 300]);
/// assert_eq!(default_chunk_shape(&["a", "b", "c"], &[5, 6, 7000]), vec![1, 6, 512]);
/// ```
pub fn default_chunk_shape<S: AsRef<str>>(dims: &[S], shape: &[usize]) -> Vec<usize> {
    let has_yx = dims.iter().any(|d| matches!(d.as_ref(), "y" | "x"));
    let n = shape.len();
    shape
        .iter()
        .zip(dims)
        .enumerate()
        .map(|(i, (&size, d))| {
            let spatial = if has_yx {
                matches!(d.as_ref(), "y" | "x")
            } else {
                i + 2 >= n
            };
            if spatial { size.clamp(1, 512) } else { 1 }
        })
        .collect()
}

/// The attributes that say a CRS: `proj:code` for EPSG codes, `proj:wkt2` / `proj:projjson`
/// otherwise (GeoZarr's `proj:` convention).
///
/// ```
/// let a = geochip::zarr::crs_attributes(&geochip::Crs::Epsg(32633));
/// assert_eq!(a["proj:code"], "EPSG:32633");
/// ```
pub fn crs_attributes(crs: &Crs) -> Map<String, Value> {
    let mut m = Map::new();
    match crs {
        Crs::Epsg(code) => m.insert("proj:code".into(), json!(format!("EPSG:{code}"))),
        Crs::Wkt(w) => m.insert("proj:wkt2".into(), json!(w)),
        Crs::ProjJson(p) => m.insert(
            "proj:projjson".into(),
            serde_json::from_str::<Value>(p).unwrap_or_else(|_| json!(p)),
        ),
    };
    m
}

/// The attributes that georeference the `y`/`x` dims of an array (see the module docs):
/// `proj:*`, `spatial:transform` (rasterio order), `spatial:dimensions`, `spatial:shape`.
///
/// ```
/// use geochip::{GeoTransform, Grid};
/// let g = Grid::new(GeoTransform::from_affine([10.0, 0.0, 5.0, 0.0, -10.0, 9.0]), 3, 2, None).unwrap();
/// let a = geochip::zarr::grid_attributes(&g);
/// assert_eq!(a["spatial:transform"], serde_json::json!([10.0, 0.0, 5.0, 0.0, -10.0, 9.0]));
/// assert_eq!(a["spatial:shape"], serde_json::json!([2, 3]));
/// ```
pub fn grid_attributes(grid: &Grid) -> Map<String, Value> {
    let mut m = grid.crs.as_ref().map(crs_attributes).unwrap_or_default();
    m.insert(
        "spatial:transform".into(),
        json!(grid.transform.to_affine()),
    );
    m.insert("spatial:dimensions".into(), json!(["y", "x"]));
    m.insert("spatial:shape".into(), json!([grid.height, grid.width]));
    m
}

/// GDAL order, space-separated, each number as Python's `str(float)` would print it for the
/// usual values (rioxarray writes `" ".join(str(x) for x in gt)`).
fn gdal_geotransform_text(t: &GeoTransform) -> String {
    t.to_gdal()
        .iter()
        .map(|v| {
            if v.fract() == 0.0 && v.abs() < 1e16 {
                format!("{v:.1}")
            } else {
                format!("{v}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A store and the name its errors use (a path, a URL, or `memory://`).
///
/// ```
/// let s = geochip::zarr::ZarrStore::memory();
/// assert_eq!(s.name(), "memory://");
/// ```
#[derive(Clone)]
pub struct ZarrStore {
    storage: ReadableWritableListableStorage,
    name: String,
}

impl fmt::Debug for ZarrStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZarrStore")
            .field("name", &self.name)
            .finish()
    }
}

/// The node path zarrs wants: `/` or `/a/b`.
fn node_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    format!("/{trimmed}")
}

/// The metadata key of a node: `zarr.json` or `a/b/zarr.json`.
fn meta_key(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        "zarr.json".to_owned()
    } else {
        format!("{trimmed}/zarr.json")
    }
}

/// The parent group of a node path, `None` for the root.
fn parent_of(path: &str) -> Option<String> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return None;
    }
    Some(
        trimmed
            .rsplit_once('/')
            .map_or(String::new(), |(p, _)| p.to_owned()),
    )
}

fn fill_value_json(dtype: DType, fill: Option<f64>) -> Result<Value, String> {
    let Some(v) = fill else {
        return Ok(json!(0));
    };
    if dtype.is_float() {
        return Ok(if v.is_nan() {
            json!("NaN")
        } else if v.is_infinite() {
            json!(if v > 0.0 { "Infinity" } else { "-Infinity" })
        } else {
            json!(v)
        });
    }
    let (lo, hi) = match dtype {
        DType::U8 => (0.0, f64::from(u8::MAX)),
        DType::U16 => (0.0, f64::from(u16::MAX)),
        DType::U32 => (0.0, f64::from(u32::MAX)),
        DType::U64 => (0.0, 18_446_744_073_709_551_615.0),
        DType::I8 => (f64::from(i8::MIN), f64::from(i8::MAX)),
        DType::I16 => (f64::from(i16::MIN), f64::from(i16::MAX)),
        DType::I32 => (f64::from(i32::MIN), f64::from(i32::MAX)),
        _ => (-9_223_372_036_854_775_808.0, 9_223_372_036_854_775_807.0),
    };
    if v.fract() != 0.0 || !(lo..=hi).contains(&v) {
        return Err(format!("fill value {v} is not a {dtype} value"));
    }
    // Exact below 2^53, which every fill value given as an f64 is.
    #[allow(clippy::cast_possible_truncation)]
    Ok(if v < 0.0 {
        json!(v as i64)
    } else {
        json!(v as u64)
    })
}

impl ZarrStore {
    /// A store over any zarrs storage; `name` is what errors call it (a path or URL).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use geochip::zarr::{MemoryStore, ZarrStore};
    /// let s = ZarrStore::new("scratch", Arc::new(MemoryStore::new()));
    /// assert_eq!(s.name(), "scratch");
    /// ```
    pub fn new(name: impl Into<String>, storage: ReadableWritableListableStorage) -> Self {
        Self {
            storage,
            name: name.into(),
        }
    }

    /// A fresh in-memory store (named `memory://`), usable in the browser.
    ///
    /// ```
    /// assert!(geochip::zarr::ZarrStore::memory().open_array("/a").is_err());
    /// ```
    pub fn memory() -> Self {
        Self::new("memory://", Arc::new(MemoryStore::new()))
    }

    /// The name errors use.
    ///
    /// ```
    /// assert_eq!(geochip::zarr::ZarrStore::memory().name(), "memory://");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The underlying storage.
    ///
    /// ```
    /// let s = geochip::zarr::ZarrStore::memory();
    /// let _storage = s.storage().clone();
    /// ```
    pub fn storage(&self) -> &ReadableWritableListableStorage {
        &self.storage
    }

    fn create_err(&self, path: &str, message: impl fmt::Display) -> ZarrError {
        ZarrError::Create {
            store: self.name.clone(),
            path: path.to_owned(),
            message: message.to_string(),
        }
    }

    fn put_json(&self, path: &str, key: &str, v: &Value) -> Result<(), ZarrError> {
        let key = StoreKey::new(key).map_err(|e| self.create_err(path, e))?;
        let bytes = serde_json::to_vec_pretty(v).map_err(|e| self.create_err(path, e))?;
        self.storage
            .set(&key, bytes.into())
            .map_err(|e| self.create_err(path, e))
    }

    /// Writes a group's `zarr.json` (`path` `/` for the store's root) with these attributes.
    ///
    /// ```
    /// let s = geochip::zarr::ZarrStore::memory();
    /// s.create_group("/", serde_json::Map::new()).unwrap();
    /// ```
    pub fn create_group(
        &self,
        path: &str,
        attributes: Map<String, Value>,
    ) -> Result<(), ZarrError> {
        let meta = json!({"zarr_format": 3, "node_type": "group", "attributes": attributes});
        self.put_json(path, &meta_key(path), &meta)
    }

    /// Writes `array` at `path` (e.g. `/labels`): `dimension_names` from its dims, its dtype,
    /// the chunk/shard shape, fill value and compression of `opts`, and its grid as attributes
    /// (see the module docs; the `spatial_ref` sibling is written when `path` is inside a
    /// group). Existing chunks at `path` are not removed: write into a fresh store or path.
    ///
    /// ```
    /// use geochip::zarr::{WriteOptions, ZarrStore};
    /// let s = ZarrStore::memory();
    /// let a = geochip::LabeledArray::arange_i32(&["y", "x"], &[5, 7]).unwrap();
    /// let opts = WriteOptions { chunk_shape: Some(vec![2, 2]), shard_shape: Some(vec![4, 4]),
    ///                           ..WriteOptions::default() };
    /// s.write_array("/a", &a, &opts).unwrap();
    /// assert_eq!(s.open_array("/a").unwrap().read().unwrap(), a);
    /// let bad = WriteOptions { chunk_shape: Some(vec![2, 3]), shard_shape: Some(vec![4, 4]),
    ///                          ..WriteOptions::default() };
    /// assert!(s.write_array("/b", &a, &bad).unwrap_err().to_string().contains("multiple"));
    /// ```
    pub fn write_array(
        &self,
        path: &str,
        array: &LabeledArray,
        opts: &WriteOptions,
    ) -> Result<(), ZarrError> {
        let w = self.create_array(
            path,
            array.dims(),
            array.shape(),
            array.dtype(),
            array.grid(),
            opts,
        )?;
        let start = vec![0; array.ndim()];
        with_data!(array.data(), a => w.write_window(&start, a.view()))
    }

    /// Creates the array at `path` (metadata only; no chunk is written yet) for writing piece
    /// by piece with [`ZarrWriter::write_window`]: dims, shape and dtype as given, layout and
    /// attributes as [`ZarrStore::write_array`] describes.
    ///
    /// ```
    /// use geochip::zarr::{WriteOptions, ZarrStore};
    /// let s = ZarrStore::memory();
    /// let w = s.create_array("/chips", &["chip", "y", "x"], &[3, 2, 2], geochip::DType::U8, None,
    ///                        &WriteOptions { chunk_shape: Some(vec![1, 2, 2]), ..Default::default() }).unwrap();
    /// let chip = ndarray::ArrayD::<u8>::from_elem(ndarray::IxDyn(&[1, 2, 2]), 7);
    /// w.write_window(&[1, 0, 0], chip.view()).unwrap();
    /// let back = s.open_array("/chips").unwrap().read().unwrap();
    /// assert_eq!(back.sum_f64(), 28.0); // chips 0 and 2 are the fill value 0
    /// ```
    pub fn create_array<S: AsRef<str>>(
        &self,
        path: &str,
        dims: &[S],
        shape: &[usize],
        dtype: DType,
        grid: Option<&Grid>,
        opts: &WriteOptions,
    ) -> Result<ZarrWriter, ZarrError> {
        let layout = |problem: String| ZarrError::Layout {
            store: self.name.clone(),
            path: path.to_owned(),
            problem,
        };
        let dims: Vec<&str> = dims.iter().map(AsRef::as_ref).collect();
        if dims.len() != shape.len() {
            return Err(layout(format!(
                "{} dim names {dims:?} for shape {shape:?}",
                dims.len()
            )));
        }
        let chunk = opts
            .chunk_shape
            .clone()
            .unwrap_or_else(|| default_chunk_shape(&dims, shape));
        if chunk.len() != shape.len() || chunk.contains(&0) {
            return Err(layout(format!(
                "chunk shape {chunk:?} does not fit an array of shape {shape:?} (one positive size per dim)"
            )));
        }
        let fill = fill_value_json(dtype, opts.fill_value).map_err(layout)?;
        let mut codecs = vec![json!({"name": "bytes", "configuration": {"endian": "little"}})];
        codecs.extend(opts.compression.codec());
        let (grid_shape, codecs) = match &opts.shard_shape {
            None => (chunk.clone(), codecs),
            Some(shard) => {
                let fits = shard.len() == chunk.len()
                    && shard.iter().zip(&chunk).all(|(s, c)| *s > 0 && s % c == 0);
                if !fits {
                    return Err(layout(format!(
                        "shard shape {shard:?} must be a whole multiple of the chunk shape {chunk:?}"
                    )));
                }
                let sharding = json!({"name": "sharding_indexed", "configuration": {
                    "chunk_shape": chunk,
                    "codecs": codecs,
                    "index_codecs": [
                        {"name": "bytes", "configuration": {"endian": "little"}},
                        {"name": "crc32c"}
                    ],
                    "index_location": "end"
                }});
                (shard.clone(), vec![sharding])
            }
        };
        let mut attributes = opts.attributes.clone();
        let parent = parent_of(path);
        if let Some(grid) = grid {
            let fits = matches!(
                (dims.iter().position(|d| *d == "y"), dims.iter().position(|d| *d == "x")),
                (Some(yi), Some(xi)) if shape[yi] == grid.height && shape[xi] == grid.width
            );
            if !fits {
                return Err(layout(format!(
                    "a grid of {}x{} (rows x cols) does not fit dims {dims:?} with shape {shape:?}",
                    grid.height, grid.width
                )));
            }
            attributes.extend(grid_attributes(grid));
            if parent.is_some() {
                attributes.insert("grid_mapping".into(), json!(SPATIAL_REF));
                attributes.insert("coordinates".into(), json!(SPATIAL_REF));
            }
        }
        let meta = json!({
            "zarr_format": 3,
            "node_type": "array",
            "shape": shape,
            "data_type": dtype.name(),
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": grid_shape}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": fill,
            "codecs": codecs,
            "attributes": attributes,
            "dimension_names": dims,
        });
        let meta: ArrayMetadataV3 =
            serde_json::from_value(meta).map_err(|e| self.create_err(path, e))?;
        let array = Array::new_with_metadata(
            self.storage.clone(),
            &node_path(path),
            ArrayMetadata::V3(meta),
        )
        .map_err(|e| self.create_err(path, e))?
        // zarrs lays out a shard's inner chunks in the order its threads finish them unless
        // told otherwise; C order makes the shard's bytes reproducible (and equal on every
        // target, so a browser run's checksums match the native one).
        .with_codec_specific_options(&CodecSpecificOptions::default().with_option(
            ShardingCodecOptions::default().with_subchunk_write_order(SubchunkWriteOrder::C),
        ));
        array
            .store_metadata()
            .map_err(|e| self.create_err(path, e))?;
        if let (Some(grid), Some(parent)) = (grid, parent) {
            self.write_spatial_ref(&parent, grid)?;
        }
        Ok(ZarrWriter {
            array,
            store: self.name.clone(),
            path: path.to_owned(),
            dtype,
        })
    }

    /// Writes the 0-d `spatial_ref` array of group `group` (rioxarray's grid-mapping variable:
    /// `spatial_ref`, `crs_wkt` when the CRS is WKT, `GeoTransform` in GDAL order).
    ///
    /// ```
    /// use geochip::{GeoTransform, Grid};
    /// let s = geochip::zarr::ZarrStore::memory();
    /// let g = Grid::new(GeoTransform::from_affine([1.0, 0.0, 0.0, 0.0, -1.0, 5.0]), 2, 2,
    ///                   Some(geochip::Crs::Epsg(4326))).unwrap();
    /// s.write_spatial_ref("/", &g).unwrap();
    /// let r = s.open_array("/spatial_ref").unwrap();
    /// assert_eq!(r.attributes()["GeoTransform"], "0.0 1.0 0.0 5.0 0.0 -1.0");
    /// assert_eq!(r.attributes()["spatial_ref"], "EPSG:4326");
    /// ```
    pub fn write_spatial_ref(&self, group: &str, grid: &Grid) -> Result<(), ZarrError> {
        let trimmed = group.trim_matches('/');
        let path = if trimmed.is_empty() {
            format!("/{SPATIAL_REF}")
        } else {
            format!("/{trimmed}/{SPATIAL_REF}")
        };
        let mut attrs = Map::new();
        if let Some(crs) = &grid.crs {
            attrs.insert("spatial_ref".into(), json!(crs.to_string()));
            if let Crs::Wkt(w) = crs {
                attrs.insert("crs_wkt".into(), json!(w));
            }
        }
        attrs.insert(
            "GeoTransform".into(),
            json!(gdal_geotransform_text(&grid.transform)),
        );
        let meta = json!({
            "zarr_format": 3,
            "node_type": "array",
            "shape": [],
            "data_type": "int64",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": []}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": 0,
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "attributes": attrs,
            "dimension_names": [],
        });
        self.put_json(&path, &meta_key(&path), &meta)
    }

    /// Writes a stacked cube as xarray reads it: the `(time, band, y, x)` array at `path`
    /// (as [`ZarrStore::write_array`] with `opts`, its fill value the cube's nodata and the
    /// attributes `band` (names) and `nodata`), and beside it, in the same group, the 1-D
    /// coordinate arrays `time` (int64 nanoseconds since 1970-01-01 with CF `units` and
    /// `calendar`, so xarray decodes `datetime64[ns]`), `y` and `x` (float64), each with a
    /// `geochip:coordinate` attribute. [`ZarrStore::read_stack`] reads it back.
    ///
    /// ```
    /// use geochip::stack::{Stack, StackGrid};
    /// use geochip::zarr::{WriteOptions, ZarrStore};
    /// let g = geochip::Grid::new(geochip::GeoTransform::from_affine([10.0, 0.0, 0.0, 0.0, -10.0, 20.0]),
    ///                            2, 2, Some(geochip::Crs::Epsg(32618))).unwrap();
    /// let array = geochip::LabeledArray::from_shape_vec(&["time", "band", "y", "x"], &[1, 1, 2, 2],
    ///                                                   vec![0u8, 1, 2, 3]).unwrap().with_grid(g.clone()).unwrap();
    /// let stack = Stack { array, nodata: 0.0, grid: StackGrid { grid: g,
    ///     time: vec!["2024-03-01T00:00:00.000000000".into()], time_items: vec![vec!["a".into()]],
    ///     band: vec!["red".into()], x: vec![5.0, 15.0], y: vec![15.0, 5.0] } };
    /// let s = ZarrStore::memory();
    /// s.create_group("/", serde_json::Map::new()).unwrap();
    /// s.write_stack("/cube", &stack, &WriteOptions::default()).unwrap();
    /// assert_eq!(s.open_array("/time").unwrap().attributes()["units"], "nanoseconds since 1970-01-01");
    /// let back = s.read_stack("/cube").unwrap();
    /// assert_eq!(back.array, stack.array);
    /// assert_eq!((back.grid.time, back.grid.band), (stack.grid.time, stack.grid.band));
    /// ```
    pub fn write_stack(
        &self,
        path: &str,
        stack: &crate::stack::Stack,
        opts: &WriteOptions,
    ) -> Result<(), ZarrError> {
        let g = &stack.grid;
        let attr_err = |key: &str, problem: String| ZarrError::Attribute {
            store: self.name.clone(),
            path: path.to_owned(),
            key: key.to_owned(),
            problem,
        };
        let nodata = if stack.nodata.is_nan() {
            json!("NaN")
        } else {
            json!(stack.nodata)
        };
        let mut opts = opts.clone();
        opts.fill_value = Some(stack.nodata);
        opts.attributes.insert("band".into(), json!(g.band));
        opts.attributes.insert("nodata".into(), nodata);
        let mut times = Vec::with_capacity(g.time.len());
        for t in &g.time {
            let ns = crate::stac::Timestamp::parse(t)
                .and_then(|ts| i64::try_from(ts.0).ok())
                .ok_or_else(|| {
                    attr_err("time", format!("'{t}' is not a datetime64[ns] coordinate"))
                })?;
            times.push(ns);
        }
        self.write_array(path, &stack.array, &opts)?;
        let group = parent_of(path).unwrap_or_default();
        let at = |name: &str| {
            if group.is_empty() {
                format!("/{name}")
            } else {
                format!("/{group}/{name}")
            }
        };
        let coord = |name: &str, mut attributes: Map<String, Value>| {
            attributes.insert("geochip:coordinate".into(), json!(name));
            WriteOptions {
                attributes,
                ..WriteOptions::default()
            }
        };
        let mut tattrs = Map::new();
        tattrs.insert("units".into(), json!("nanoseconds since 1970-01-01"));
        tattrs.insert("calendar".into(), json!("proleptic_gregorian"));
        let time = LabeledArray::from_shape_vec(&["time"], &[times.len()], times)?;
        self.write_array(&at("time"), &time, &coord("time", tattrs))?;
        for (name, v) in [("y", &g.y), ("x", &g.x)] {
            let a = LabeledArray::from_shape_vec(&[name], &[v.len()], v.clone())?;
            self.write_array(&at(name), &a, &coord(name, Map::new()))?;
        }
        Ok(())
    }

    /// Reads back a cube written by [`ZarrStore::write_stack`] (or `geochip stack --out
    /// CUBE.zarr`): the array at `path` with dims `(time, band, y, x)`, its `band` and `nodata`
    /// attributes, and the `time`, `y` and `x` coordinate arrays of its group. The items behind
    /// each time step are not stored: `time_items` comes back empty.
    ///
    /// ```
    /// use geochip::zarr::{WriteOptions, ZarrStore};
    /// let s = ZarrStore::memory();
    /// let a = geochip::LabeledArray::arange_i32(&["y", "x"], &[2, 2]).unwrap();
    /// s.write_array("/a", &a, &WriteOptions::default()).unwrap();
    /// let e = s.read_stack("/a").unwrap_err().to_string();
    /// assert!(e.contains("dims [\"y\", \"x\"] are not (time, band, y, x)"), "{e}");
    /// ```
    pub fn read_stack(&self, path: &str) -> Result<crate::stack::Stack, ZarrError> {
        let array = self.open_array(path)?;
        let layout = |problem: String| ZarrError::Layout {
            store: self.name.clone(),
            path: path.to_owned(),
            problem,
        };
        let attr_err = |key: &str, problem: String| ZarrError::Attribute {
            store: self.name.clone(),
            path: path.to_owned(),
            key: key.to_owned(),
            problem,
        };
        if array.dims() != ["time", "band", "y", "x"] {
            return Err(layout(format!(
                "dims {:?} are not (time, band, y, x)",
                array.dims()
            )));
        }
        let shape = array.shape();
        let band: Vec<String> = array
            .attributes()
            .get("band")
            .and_then(Value::as_array)
            .and_then(|b| {
                b.iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            })
            .filter(|b| b.len() == shape[1])
            .ok_or_else(|| attr_err("band", format!("not a list of {} names", shape[1])))?;
        let nodata = match array.attributes().get("nodata") {
            Some(Value::String(s)) if s == "NaN" => f64::NAN,
            Some(v) => v
                .as_f64()
                .ok_or_else(|| attr_err("nodata", format!("{v} is not a number")))?,
            None => 0.0,
        };
        let Some(grid) = array.grid().cloned() else {
            return Err(attr_err(
                "spatial:transform",
                "the cube has no grid".to_owned(),
            ));
        };
        let data = array.read()?;
        let group = parent_of(path).unwrap_or_default();
        let coord = |name: &str, len: usize| -> Result<LabeledArray, ZarrError> {
            let p = if group.is_empty() {
                format!("/{name}")
            } else {
                format!("/{group}/{name}")
            };
            let c = self.open_array(&p)?.read()?;
            if c.shape() != [len] {
                return Err(layout(format!(
                    "coordinate '{p}' has shape {:?}, the cube's {name} has {len} entries",
                    c.shape()
                )));
            }
            Ok(c)
        };
        let time = match coord("time", shape[0])?.data() {
            ArrayData::I64(t) => t
                .iter()
                .map(|ns| crate::stac::Timestamp(i128::from(*ns)).to_numpy_string())
                .collect(),
            _ => return Err(layout("coordinate 'time' is not int64".to_owned())),
        };
        let floats = |c: LabeledArray, name: &str| match c.data() {
            ArrayData::F64(v) => Ok(v.iter().copied().collect::<Vec<f64>>()),
            _ => Err(layout(format!("coordinate '{name}' is not float64"))),
        };
        let y = floats(coord("y", shape[2])?, "y")?;
        let x = floats(coord("x", shape[3])?, "x")?;
        Ok(crate::stack::Stack {
            array: data,
            grid: crate::stack::StackGrid {
                grid,
                time_items: vec![Vec::new(); shape[0]],
                time,
                band,
                x,
                y,
            },
            nodata,
        })
    }

    /// Opens the array at `path` for reading.
    ///
    /// ```
    /// let s = geochip::zarr::ZarrStore::memory();
    /// let e = s.open_array("/nothing").unwrap_err();
    /// assert_eq!(e.to_string(), "memory://: no Zarr array at '/nothing' (no zarr.json there)");
    /// ```
    pub fn open_array(&self, path: &str) -> Result<ZarrArray, ZarrError> {
        let storage: ReadableStorage = self.storage.clone();
        ZarrArray::open(storage, &self.name, path)
    }
}

/// An array being written (from [`ZarrStore::create_array`]).
pub struct ZarrWriter {
    array: Array<dyn ReadableWritableListableStorageTraits>,
    store: String,
    path: String,
    dtype: DType,
}

impl fmt::Debug for ZarrWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZarrWriter")
            .field("store", &self.store)
            .field("path", &self.path)
            .field("shape", &self.array.shape())
            .finish()
    }
}

impl ZarrWriter {
    /// Writes `data` at offset `start` (per dim): chunks it covers whole are encoded and stored;
    /// chunks it covers in part are read, merged and re-encoded. Its dtype must be the array's.
    ///
    /// ```
    /// use geochip::zarr::{WriteOptions, ZarrStore};
    /// let s = ZarrStore::memory();
    /// let w = s.create_array("/a", &["x"], &[4], geochip::DType::F32, None, &WriteOptions::default()).unwrap();
    /// let part = ndarray::arr1(&[1.0f32, 2.0]).into_dyn();
    /// w.write_window(&[2], part.view()).unwrap();
    /// assert!(w.write_window(&[3], part.view()).is_err()); // past the end
    /// let bad = ndarray::arr1(&[1u8]).into_dyn();
    /// assert!(w.write_window(&[0], bad.view()).is_err()); // uint8 into float32
    /// ```
    pub fn write_window<T>(&self, start: &[usize], data: ArrayViewD<'_, T>) -> Result<(), ZarrError>
    where
        T: Element + zarrs::array::Element,
    {
        let err = |problem: String| ZarrError::Layout {
            store: self.store.clone(),
            path: self.path.clone(),
            problem,
        };
        if T::DTYPE != self.dtype {
            return Err(err(format!(
                "cannot write {} data into a {} array",
                T::DTYPE,
                self.dtype
            )));
        }
        let full = self.array.shape();
        let shape = data.shape();
        let fits = start.len() == full.len()
            && shape.len() == full.len()
            && (0..full.len()).all(|i| {
                start[i]
                    .checked_add(shape[i])
                    .is_some_and(|e| e as u64 <= full[i])
            });
        if !fits {
            return Err(err(format!(
                "window start {start:?} shape {shape:?} does not lie inside the array's shape {full:?}"
            )));
        }
        if data.is_empty() {
            return Ok(());
        }
        let subset = ArraySubset::new_with_start_shape(
            start.iter().map(|v| *v as u64).collect(),
            shape.iter().map(|v| *v as u64).collect(),
        )
        .map_err(|e| err(e.to_string()))?;
        self.array
            .store_array_subset(&subset, &data)
            .map_err(|e| ZarrError::Data {
                store: self.store.clone(),
                path: self.path.clone(),
                message: e.to_string(),
            })
    }
}

/// An opened Zarr array: its metadata is parsed and its codec chain built once, so repeated
/// reads (windows, single chunks) pay only for the bytes they touch.
pub struct ZarrArray {
    array: Array<dyn ReadableStorageTraits>,
    store: String,
    path: String,
    dims: Vec<String>,
    dtype: DType,
    grid: Option<Grid>,
    /// The unit one read decodes: the chunk, or the inner chunk of a sharded array.
    read_chunk: Vec<usize>,
    /// zarrs' shard-index cache (sharded arrays): each shard's index is read once.
    shard_cache: Option<ArrayShardedReadableExtCache>,
}

impl fmt::Debug for ZarrArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZarrArray")
            .field("store", &self.store)
            .field("path", &self.path)
            .field("dims", &self.dims)
            .field("shape", &self.array.shape())
            .field("dtype", &self.dtype)
            .finish()
    }
}

/// The storage failure inside a zarrs error, if that is what it is.
fn storage_error(e: &zarrs::array::ArrayError) -> Option<&zarrs::storage::StorageError> {
    match e {
        zarrs::array::ArrayError::StorageError(se) => Some(se),
        zarrs::array::ArrayError::CodecError(zarrs::array::CodecError::StorageError(se)) => {
            Some(se)
        }
        _ => None,
    }
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

impl ZarrArray {
    /// Opens the array at `path` of a read-only store (e.g. HTTP in the browser); `store` is the
    /// name errors use.
    ///
    /// ```
    /// use geochip::zarr::{ZarrArray, ZarrStore, WriteOptions};
    /// let s = ZarrStore::memory();
    /// s.write_array("/a", &geochip::LabeledArray::arange_i32(&["x"], &[3]).unwrap(),
    ///               &WriteOptions::default()).unwrap();
    /// let a = ZarrArray::open(s.storage().clone(), "mem", "/a").unwrap();
    /// assert_eq!(a.shape(), vec![3]);
    /// ```
    pub fn open(storage: ReadableStorage, store: &str, path: &str) -> Result<Self, ZarrError> {
        let open_err = |message: String| ZarrError::Open {
            store: store.to_owned(),
            path: path.to_owned(),
            message,
        };
        let key = StoreKey::new(meta_key(path)).map_err(|e| open_err(e.to_string()))?;
        let bytes = storage
            .get(&key)
            .map_err(|e| ZarrError::Source {
                store: store.to_owned(),
                path: path.to_owned(),
                key: key.to_string(),
                message: e.to_string(),
            })?
            .ok_or_else(|| ZarrError::NotFound {
                store: store.to_owned(),
                path: path.to_owned(),
            })?;
        let meta: ArrayMetadataV3 = serde_json::from_slice(&bytes)
            .map_err(|e| open_err(format!("{}: {e}", meta_key(path))))?;
        let dtype_name = meta.data_type.name().to_owned();
        let dtype: DType = dtype_name
            .parse()
            .map_err(|_| ZarrError::UnsupportedDType {
                store: store.to_owned(),
                path: path.to_owned(),
                dtype: dtype_name.clone(),
            })?;
        let array =
            Array::new_with_metadata(storage.clone(), &node_path(path), ArrayMetadata::V3(meta))
                .map_err(|e| open_err(e.to_string()))?;
        let dims: Vec<String> = match array.dimension_names() {
            Some(names) => names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    n.as_ref()
                        .map_or_else(|| format!("dim_{i}"), |s| s.to_string())
                })
                .collect(),
            None => (0..array.dimensionality())
                .map(|i| format!("dim_{i}"))
                .collect(),
        };
        let origin = vec![0u64; array.dimensionality()];
        let read_chunk: Vec<usize> = match array.effective_subchunk_shape() {
            Some(inner) if array.is_sharded() => inner.iter().map(|v| to_usize(v.get())).collect(),
            _ => array
                .chunk_shape(&origin)
                .map(|c| c.iter().map(|v| to_usize(v.get())).collect())
                .unwrap_or_default(),
        };
        let shard_cache = array
            .is_sharded()
            .then(|| ArrayShardedReadableExtCache::new(&array));
        let mut out = Self {
            array,
            store: store.to_owned(),
            path: path.to_owned(),
            dims,
            dtype,
            grid: None,
            read_chunk,
            shard_cache,
        };
        out.grid = out.grid_from_attributes(&storage)?;
        Ok(out)
    }

    fn attr_err(&self, key: &str, problem: impl Into<String>) -> ZarrError {
        ZarrError::Attribute {
            store: self.store.clone(),
            path: self.path.clone(),
            key: key.to_owned(),
            problem: problem.into(),
        }
    }

    fn size_of(&self, dim: &str) -> Option<usize> {
        let i = self.dims.iter().position(|d| d == dim)?;
        Some(to_usize(self.array.shape()[i]))
    }

    fn parse_crs(&self, key: &str, v: &Value) -> Result<Crs, ZarrError> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Object(_) => v.to_string(),
            _ => return Err(self.attr_err(key, "expected a string")),
        };
        text.parse::<Crs>()
            .map_err(|e| self.attr_err(key, e.to_string()))
    }

    /// The grid from `spatial:transform` + `proj:*`, else from the `grid_mapping` sibling.
    fn grid_from_attributes(&self, storage: &ReadableStorage) -> Result<Option<Grid>, ZarrError> {
        let attrs = self.array.attributes();
        let (Some(height), Some(width)) = (self.size_of("y"), self.size_of("x")) else {
            return Ok(None);
        };
        let mut crs = None;
        for key in ["proj:code", "proj:wkt2", "proj:projjson"] {
            if let Some(v) = attrs.get(key) {
                crs = Some(self.parse_crs(key, v)?);
                break;
            }
        }
        if let Some(t) = attrs.get("spatial:transform") {
            let key = "spatial:transform";
            let nums: Vec<f64> = t
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            let arr: [f64; 6] = nums.try_into().map_err(|_| {
                self.attr_err(key, format!("expected 6 numbers a,b,c,d,e,f, got {t}"))
            })?;
            let grid = Grid::new(GeoTransform::from_affine(arr), width, height, crs)
                .map_err(|e| self.attr_err(key, e.to_string()))?;
            return Ok(Some(grid));
        }
        let Some(mapping) = attrs.get("grid_mapping").and_then(Value::as_str) else {
            return Ok(None);
        };
        let parent = parent_of(&self.path).unwrap_or_default();
        let sibling = if parent.is_empty() {
            mapping.to_owned()
        } else {
            format!("{parent}/{mapping}")
        };
        let key = StoreKey::new(meta_key(&sibling))
            .map_err(|e| self.attr_err("grid_mapping", e.to_string()))?;
        let Some(bytes) = storage
            .get(&key)
            .map_err(|e| self.attr_err("grid_mapping", e.to_string()))?
        else {
            return Err(self.attr_err("grid_mapping", format!("no array '{sibling}'")));
        };
        let meta: Value = serde_json::from_slice(&bytes)
            .map_err(|e| self.attr_err("grid_mapping", format!("{key}: {e}")))?;
        let sattrs = &meta["attributes"];
        if crs.is_none() {
            for k in ["crs_wkt", "spatial_ref"] {
                if let Some(v) = sattrs.get(k) {
                    crs = Some(self.parse_crs(k, v)?);
                    break;
                }
            }
        }
        let Some(gt) = sattrs.get("GeoTransform").and_then(Value::as_str) else {
            return Ok(None);
        };
        let nums: Vec<f64> = gt
            .split_whitespace()
            .map(str::parse::<f64>)
            .collect::<Result<_, _>>()
            .map_err(|_| self.attr_err("GeoTransform", format!("'{gt}' is not 6 numbers")))?;
        let arr: [f64; 6] = nums
            .try_into()
            .map_err(|_| self.attr_err("GeoTransform", format!("'{gt}' is not 6 numbers")))?;
        let grid = Grid::new(GeoTransform::from_gdal(arr), width, height, crs)
            .map_err(|e| self.attr_err("GeoTransform", e.to_string()))?;
        Ok(Some(grid))
    }

    /// The dim names (`dimension_names`; `dim_i` where unnamed).
    ///
    /// ```
    /// # use geochip::zarr::{ZarrStore, WriteOptions};
    /// # let s = ZarrStore::memory();
    /// # s.write_array("/a", &geochip::LabeledArray::arange_i32(&["t", "x"], &[1, 3]).unwrap(), &WriteOptions::default()).unwrap();
    /// assert_eq!(s.open_array("/a").unwrap().dims(), &["t", "x"]);
    /// ```
    pub fn dims(&self) -> &[String] {
        &self.dims
    }

    /// The shape.
    ///
    /// ```
    /// # use geochip::zarr::{ZarrStore, WriteOptions};
    /// # let s = ZarrStore::memory();
    /// # s.write_array("/a", &geochip::LabeledArray::arange_i32(&["t", "x"], &[1, 3]).unwrap(), &WriteOptions::default()).unwrap();
    /// assert_eq!(s.open_array("/a").unwrap().shape(), vec![1, 3]);
    /// ```
    pub fn shape(&self) -> Vec<usize> {
        self.array.shape().iter().map(|v| to_usize(*v)).collect()
    }

    /// The dtype.
    ///
    /// ```
    /// # use geochip::zarr::{ZarrStore, WriteOptions};
    /// # let s = ZarrStore::memory();
    /// # s.write_array("/a", &geochip::LabeledArray::arange_i32(&["x"], &[3]).unwrap(), &WriteOptions::default()).unwrap();
    /// assert_eq!(s.open_array("/a").unwrap().dtype(), geochip::DType::I32);
    /// ```
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The grid of the `y`/`x` dims, when the attributes georeference them.
    ///
    /// ```
    /// # use geochip::zarr::{ZarrStore, WriteOptions};
    /// # let s = ZarrStore::memory();
    /// # s.write_array("/a", &geochip::LabeledArray::arange_i32(&["x"], &[3]).unwrap(), &WriteOptions::default()).unwrap();
    /// assert!(s.open_array("/a").unwrap().grid().is_none());
    /// ```
    pub fn grid(&self) -> Option<&Grid> {
        self.grid.as_ref()
    }

    /// The user attributes.
    ///
    /// ```
    /// # use geochip::zarr::{ZarrStore, WriteOptions};
    /// # let s = ZarrStore::memory();
    /// let mut o = WriteOptions::default();
    /// o.attributes.insert("units".into(), "m".into());
    /// s.write_array("/a", &geochip::LabeledArray::arange_i32(&["x"], &[3]).unwrap(), &o).unwrap();
    /// assert_eq!(s.open_array("/a").unwrap().attributes()["units"], "m");
    /// ```
    pub fn attributes(&self) -> &Map<String, Value> {
        self.array.attributes()
    }

    /// The zarrs array, for calls this wrapper does not cover (e.g. `retrieve_chunk`).
    ///
    /// ```
    /// # use geochip::zarr::{ZarrStore, WriteOptions};
    /// # let s = ZarrStore::memory();
    /// # s.write_array("/a", &geochip::LabeledArray::arange_i32(&["x"], &[3]).unwrap(), &WriteOptions::default()).unwrap();
    /// let a = s.open_array("/a").unwrap();
    /// let chunk: Vec<i32> = a.inner().retrieve_chunk(&[0]).unwrap();
    /// assert_eq!(chunk, vec![0, 1, 2]);
    /// ```
    pub fn inner(&self) -> &Array<dyn ReadableStorageTraits> {
        &self.array
    }

    /// The store key of chunk `indices` (the shard, for sharded arrays).
    ///
    /// ```
    /// # use geochip::zarr::{ZarrStore, WriteOptions};
    /// # let s = ZarrStore::memory();
    /// # s.write_array("/a", &geochip::LabeledArray::arange_i32(&["x"], &[3]).unwrap(), &WriteOptions::default()).unwrap();
    /// assert_eq!(s.open_array("/a").unwrap().chunk_key(&[0]), "a/c/0");
    /// ```
    pub fn chunk_key(&self, indices: &[u64]) -> String {
        self.array.chunk_key(indices).to_string()
    }

    /// Reads the whole array, with its grid.
    ///
    /// ```
    /// # use geochip::zarr::{ZarrStore, WriteOptions};
    /// # let s = ZarrStore::memory();
    /// let a = geochip::LabeledArray::arange_i32(&["y", "x"], &[3, 4]).unwrap();
    /// s.write_array("/a", &a, &WriteOptions::default()).unwrap();
    /// assert_eq!(s.open_array("/a").unwrap().read().unwrap(), a);
    /// ```
    pub fn read(&self) -> Result<LabeledArray, ZarrError> {
        let shape = self.shape();
        self.read_window(&vec![0; shape.len()], &shape)
    }

    /// Reads the window starting at `start` with shape `shape` (per dim, in axis order); its
    /// grid is the array's grid windowed to the `y`/`x` part.
    ///
    /// ```
    /// # use geochip::zarr::{ZarrStore, WriteOptions};
    /// # let s = ZarrStore::memory();
    /// let a = geochip::LabeledArray::arange_i32(&["y", "x"], &[3, 4]).unwrap();
    /// s.write_array("/a", &a, &WriteOptions { chunk_shape: Some(vec![2, 2]), ..Default::default() }).unwrap();
    /// let w = s.open_array("/a").unwrap().read_window(&[1, 1], &[2, 2]).unwrap();
    /// assert_eq!(w.data().to_le_bytes()[..4], 5i32.to_le_bytes());
    /// assert!(s.open_array("/a").unwrap().read_window(&[2, 0], &[2, 1]).is_err());
    /// ```
    pub fn read_window(&self, start: &[usize], shape: &[usize]) -> Result<LabeledArray, ZarrError> {
        let full = self.shape();
        let fits = start.len() == full.len()
            && shape.len() == full.len()
            && (0..full.len())
                .all(|i| start[i].checked_add(shape[i]).is_some_and(|e| e <= full[i]));
        if !fits {
            return Err(ZarrError::Layout {
                store: self.store.clone(),
                path: self.path.clone(),
                problem: format!(
                    "window start {start:?} shape {shape:?} does not lie inside the array's shape {full:?}"
                ),
            });
        }
        let subset = ArraySubset::new_with_start_shape(
            start.iter().map(|v| *v as u64).collect(),
            shape.iter().map(|v| *v as u64).collect(),
        )
        .map_err(|e| self.data_err(e))?;
        // A window that is exactly one whole (inner) chunk is read as that chunk: no subset
        // machinery, and for sharded arrays through the cached shard index (Z1 bench).
        let one_chunk = self.read_chunk.len() == shape.len()
            && (0..shape.len()).all(|i| {
                shape[i] == self.read_chunk[i] && start[i].is_multiple_of(self.read_chunk[i])
            });
        let indices: Vec<u64> = if one_chunk {
            (0..shape.len())
                .map(|i| (start[i] / self.read_chunk[i]) as u64)
                .collect()
        } else {
            Vec::new()
        };
        macro_rules! typed {
            ($($variant:ident => $t:ty),*) => {
                match self.dtype {
                    $(DType::$variant => if one_chunk {
                        self.chunk_as::<$t>(&indices, shape).map(ArrayData::from)
                    } else {
                        self
                            .array
                            .retrieve_array_subset::<ArrayD<$t>>(&subset)
                            .map(ArrayData::from)
                    },)*
                }
            };
        }
        let data = typed!(U8 => u8, U16 => u16, U32 => u32, U64 => u64, I8 => i8, I16 => i16,
                          I32 => i32, I64 => i64, F32 => f32, F64 => f64)
        .map_err(|e| self.locate_error(&subset, e))?;
        let mut out = LabeledArray::new(&self.dims, data)?;
        if let Some(g) = &self.grid {
            let (yi, xi) = (self.axis("y"), self.axis("x"));
            if let (Some(yi), Some(xi)) = (yi, xi) {
                let w = Window::new(start[xi], start[yi], shape[xi], shape[yi]);
                if shape[xi] > 0 && shape[yi] > 0 {
                    let chip = g
                        .window(w)
                        .map_err(|e| self.attr_err("spatial:transform", e.to_string()))?;
                    out = out.with_grid(chip)?;
                }
            }
        }
        Ok(out)
    }

    /// The shape one read decodes: the chunk shape, or the inner chunk shape of a sharded
    /// array. A [`ZarrArray::read_window`] of exactly this shape, aligned to it, is the fast
    /// path (one chunk, no subset machinery; sharded: the shard index is read once and cached).
    ///
    /// ```
    /// use geochip::zarr::{WriteOptions, ZarrStore};
    /// let s = ZarrStore::memory();
    /// let a = geochip::LabeledArray::arange_i32(&["y", "x"], &[8, 8]).unwrap();
    /// s.write_array("/a", &a, &WriteOptions { chunk_shape: Some(vec![2, 4]), shard_shape: Some(vec![4, 8]),
    ///                                          ..Default::default() }).unwrap();
    /// let z = s.open_array("/a").unwrap();
    /// assert_eq!(z.read_chunk_shape(), &[2, 4]);
    /// let w = z.read_window(&[2, 4], &[2, 4]).unwrap();
    /// assert_eq!(w.data().to_le_bytes()[..4], 20i32.to_le_bytes());
    /// ```
    pub fn read_chunk_shape(&self) -> &[usize] {
        &self.read_chunk
    }

    /// One whole (inner) chunk as an array of `shape`.
    fn chunk_as<T: zarrs::array::ElementOwned>(
        &self,
        indices: &[u64],
        shape: &[usize],
    ) -> Result<ArrayD<T>, zarrs::array::ArrayError> {
        let v: Vec<T> = match &self.shard_cache {
            Some(cache) => {
                self.array
                    .retrieve_subchunk_opt(cache, indices, &CodecOptions::default())?
            }
            None => self.array.retrieve_chunk(indices)?,
        };
        ArrayD::from_shape_vec(IxDyn(shape), v)
            .map_err(|e| zarrs::array::ArrayError::Other(e.to_string()))
    }

    fn axis(&self, name: &str) -> Option<usize> {
        self.dims.iter().position(|d| d == name)
    }

    fn data_err(&self, e: impl fmt::Display) -> ZarrError {
        ZarrError::Data {
            store: self.store.clone(),
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// After a failed read, finds the first chunk of `subset` that does not decode, so the
    /// error names its key (zarrs' own errors do not).
    fn locate_error(&self, subset: &ArraySubset, original: zarrs::array::ArrayError) -> ZarrError {
        if let Ok(Some(chunks)) = self.array.chunks_in_array_subset(subset) {
            for idx in &chunks.indices() {
                if let Err(e) = self.array.retrieve_chunk::<ArrayBytes<'static>>(&idx) {
                    if let Some(se) = storage_error(&e) {
                        return ZarrError::Source {
                            store: self.store.clone(),
                            path: self.path.clone(),
                            key: self.chunk_key(&idx),
                            message: se.to_string(),
                        };
                    }
                    return ZarrError::Chunk {
                        store: self.store.clone(),
                        path: self.path.clone(),
                        key: self.chunk_key(&idx),
                        message: e.to_string(),
                    };
                }
            }
        }
        self.data_err(original)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::GeoTransform;

    fn grid(w: usize, h: usize) -> Grid {
        Grid::new(
            GeoTransform::from_affine([30.0, 0.0, 300000.0, 0.0, -30.0, 4000000.0]),
            w,
            h,
            Some(Crs::Epsg(32633)),
        )
        .unwrap()
    }

    fn cube() -> LabeledArray {
        let n = 2 * 33 * 47;
        let v: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 7.0).collect();
        LabeledArray::from_shape_vec(&["band", "y", "x"], &[2, 33, 47], v)
            .unwrap()
            .with_grid(grid(47, 33))
            .unwrap()
    }

    #[test]
    fn round_trips_every_dtype_and_layout() {
        for dtype in DType::ALL {
            let a = LabeledArray::arange_i32(&["y", "x"], &[9, 11]).unwrap();
            let ArrayData::I32(data) = a.data().clone() else {
                panic!("arange_i32 is int32")
            };
            let cast = match dtype {
                DType::U8 => ArrayData::from(data.mapv(|v| v as u8)),
                DType::U16 => ArrayData::from(data.mapv(|v| v as u16)),
                DType::U32 => ArrayData::from(data.mapv(|v| v as u32)),
                DType::U64 => ArrayData::from(data.mapv(|v| v as u64)),
                DType::I8 => ArrayData::from(data.mapv(|v| v as i8)),
                DType::I16 => ArrayData::from(data.mapv(|v| v as i16)),
                DType::I32 => ArrayData::from(data),
                DType::I64 => ArrayData::from(data.mapv(i64::from)),
                DType::F32 => ArrayData::from(data.mapv(|v| v as f32)),
                DType::F64 => ArrayData::from(data.mapv(f64::from)),
            };
            let a = LabeledArray::new(&["y", "x"], cast).unwrap();
            for (chunk, shard, comp) in [
                (vec![4, 4], None, Compression::None),
                (vec![2, 3], Some(vec![4, 6]), Compression::Gzip { level: 1 }),
                (vec![9, 11], None, Compression::Gzip { level: 9 }),
            ] {
                let s = ZarrStore::memory();
                let o = WriteOptions {
                    chunk_shape: Some(chunk),
                    shard_shape: shard,
                    compression: comp,
                    ..WriteOptions::default()
                };
                s.write_array("/a", &a, &o).unwrap();
                let back = s.open_array("/a").unwrap();
                assert_eq!(back.dtype(), dtype);
                assert_eq!(back.read().unwrap(), a, "{dtype} {o:?}");
            }
        }
    }

    #[test]
    fn grid_round_trips_and_windows() {
        let s = ZarrStore::memory();
        s.create_group("/", Map::new()).unwrap();
        let a = cube();
        s.write_array("/cube", &a, &WriteOptions::default())
            .unwrap();
        let back = s.open_array("/cube").unwrap();
        assert_eq!(back.grid(), a.grid());
        assert_eq!(back.read().unwrap(), a);
        let w = back.read_window(&[1, 10, 20], &[1, 5, 6]).unwrap();
        assert_eq!(
            w.grid().unwrap().transform.to_affine(),
            [30.0, 0.0, 300600.0, 0.0, -30.0, 3999700.0]
        );
        assert_eq!(w.shape(), &[1, 5, 6]);
        // The sibling carries rioxarray's attributes.
        let r = s.open_array("/spatial_ref").unwrap();
        assert_eq!(
            r.attributes()["GeoTransform"],
            "300000.0 30.0 0.0 4000000.0 0.0 -30.0"
        );
        assert_eq!(back.attributes()["grid_mapping"], "spatial_ref");
        assert_eq!(back.attributes()["proj:code"], "EPSG:32633");
    }

    #[test]
    fn grid_from_rioxarray_sibling_alone() {
        let s = ZarrStore::memory();
        let a = cube();
        s.write_array("/g/cube", &a, &WriteOptions::default())
            .unwrap();
        // Drop the GeoZarr attributes: the grid must come from the spatial_ref sibling.
        let key = StoreKey::new("g/cube/zarr.json").unwrap();
        let mut meta: Value =
            serde_json::from_slice(&s.storage().get(&key).unwrap().unwrap()).unwrap();
        let attrs = meta["attributes"].as_object_mut().unwrap();
        attrs.retain(|k, _| !k.starts_with("spatial:") && !k.starts_with("proj:"));
        s.storage()
            .set(&key, serde_json::to_vec(&meta).unwrap().into())
            .unwrap();
        assert_eq!(s.open_array("/g/cube").unwrap().grid(), a.grid());
    }

    #[test]
    fn truncated_and_corrupt_chunks_name_their_key() {
        for comp in [Compression::None, Compression::Gzip { level: 6 }] {
            let s = ZarrStore::memory();
            s.write_array(
                "/cube",
                &cube(),
                &WriteOptions {
                    chunk_shape: Some(vec![1, 16, 16]),
                    compression: comp,
                    ..WriteOptions::default()
                },
            )
            .unwrap();
            let key = StoreKey::new("cube/c/1/0/2").unwrap();
            let bytes = s.storage().get(&key).unwrap().unwrap();
            // Truncated.
            s.storage()
                .set(&key, bytes.slice(..bytes.len() / 2))
                .unwrap();
            let e = s.open_array("/cube").unwrap().read().unwrap_err();
            assert!(
                matches!(&e, ZarrError::Chunk { key, .. } if key == "cube/c/1/0/2"),
                "{comp}: {e}"
            );
            assert!(e.to_string().contains("chunk 'cube/c/1/0/2'"), "{e}");
            // Corrupt (same length, garbage in the middle).
            let mut bad = bytes.to_vec();
            let mid = bad.len() / 2;
            for b in &mut bad[mid.saturating_sub(8)..mid + 8] {
                *b ^= 0xA5;
            }
            s.storage().set(&key, bad.into()).unwrap();
            let r = s.open_array("/cube").unwrap().read();
            match comp {
                // Raw bytes cannot tell garbage from data: only compressed chunks can fail.
                Compression::None => assert!(r.is_ok()),
                _ => assert!(
                    matches!(&r, Err(ZarrError::Chunk { key, .. }) if key == "cube/c/1/0/2"),
                    "{r:?}"
                ),
            }
        }
    }

    #[test]
    fn sharded_bytes_are_reproducible_and_in_c_order() {
        use zarrs::storage::ListableStorageTraits;
        // 64 gzip inner chunks of different sizes: with the parallel feature zarrs encodes
        // them on several threads, and without C order lays them out as they finish.
        // One shard, so zarrs spends its threads inside it.
        let n = 256 * 256;
        let v: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1013) as f32).collect();
        let a = LabeledArray::from_shape_vec(&["y", "x"], &[256, 256], v).unwrap();
        let o = WriteOptions {
            chunk_shape: Some(vec![32, 32]),
            shard_shape: Some(vec![256, 256]),
            compression: Compression::Gzip { level: 6 },
            ..WriteOptions::default()
        };
        let stores: Vec<ZarrStore> = (0..2)
            .map(|_| {
                let s = ZarrStore::memory();
                s.write_array("/cube", &a, &o).unwrap();
                s
            })
            .collect();
        let keys = stores[0].storage().list().unwrap();
        assert_eq!(keys, stores[1].storage().list().unwrap());
        for key in &keys {
            let b0 = stores[0].storage().get(key).unwrap().unwrap();
            let b1 = stores[1].storage().get(key).unwrap().unwrap();
            assert!(b0 == b1, "{key}: the two writes differ");
        }
        // The shard index (at the end: 64 × (offset, nbytes) u64 LE, then crc32c) lists the
        // inner chunks at increasing offsets in C order.
        let shard = stores[0]
            .storage()
            .get(&StoreKey::new("cube/c/0/0").unwrap())
            .unwrap()
            .unwrap();
        let index = &shard[shard.len() - 64 * 16 - 4..shard.len() - 4];
        let offsets: Vec<u64> = index
            .chunks_exact(16)
            .map(|e| u64::from_le_bytes(e[..8].try_into().unwrap()))
            .collect();
        assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{offsets:?}");
    }

    #[test]
    fn one_chunk_windows_take_the_fast_path_and_agree() {
        let a = cube();
        for shard in [None, Some(vec![1, 16, 32])] {
            let s = ZarrStore::memory();
            let o = WriteOptions {
                chunk_shape: Some(vec![1, 8, 16]),
                shard_shape: shard.clone(),
                ..WriteOptions::default()
            };
            s.write_array("/cube", &a, &o).unwrap();
            let z = s.open_array("/cube").unwrap();
            assert_eq!(z.read_chunk_shape(), &[1, 8, 16]);
            let whole = z.read().unwrap();
            let ArrayData::F32(all) = whole.data() else {
                panic!("float32")
            };
            for (y, x) in [(0, 0), (8, 16), (24, 16), (16, 0)] {
                let w = z.read_window(&[1, y, x], &[1, 8, 16]).unwrap();
                let want = all
                    .slice(ndarray::s![1..2, y..y + 8, x..x + 16])
                    .to_owned()
                    .into_dyn();
                assert_eq!(w.data(), &ArrayData::from(want), "{shard:?} {y} {x}");
                assert_eq!(
                    w.grid(),
                    a.grid()
                        .unwrap()
                        .window(Window::new(x, y, 16, 8))
                        .ok()
                        .as_ref()
                );
            }
            // A truncated chunk read through the fast path is still named.
            let key = "cube/c/0/0/0"; // the chunk, or the shard holding it
            let k = StoreKey::new(key).unwrap();
            let bytes = s.storage().get(&k).unwrap().unwrap();
            s.storage().set(&k, bytes.slice(..bytes.len() / 2)).unwrap();
            let z = s.open_array("/cube").unwrap();
            let e = z.read_window(&[0, 0, 0], &[1, 8, 16]).unwrap_err();
            assert!(
                matches!(&e, ZarrError::Chunk { key: k, .. } if k == key),
                "{e}"
            );
        }
    }

    #[test]
    fn corrupt_shard_index_is_named() {
        let s = ZarrStore::memory();
        let o = WriteOptions {
            chunk_shape: Some(vec![1, 8, 8]),
            shard_shape: Some(vec![1, 16, 16]),
            ..WriteOptions::default()
        };
        s.write_array("/cube", &cube(), &o).unwrap();
        let key = StoreKey::new("cube/c/0/1/1").unwrap();
        let bytes = s.storage().get(&key).unwrap().unwrap();
        let mut bad = bytes.to_vec();
        let n = bad.len();
        bad[n - 10] ^= 0xFF; // inside the index: the crc32c check fails
        s.storage().set(&key, bad.into()).unwrap();
        let e = s.open_array("/cube").unwrap().read().unwrap_err();
        assert!(
            matches!(&e, ZarrError::Chunk { key, .. } if key == "cube/c/0/1/1"),
            "{e}"
        );
    }

    #[test]
    fn bad_layouts_and_attributes_are_errors() {
        let s = ZarrStore::memory();
        let a = cube();
        let e = s
            .write_array(
                "/a",
                &a,
                &WriteOptions {
                    chunk_shape: Some(vec![1, 0, 4]),
                    ..WriteOptions::default()
                },
            )
            .unwrap_err();
        assert!(e.to_string().contains("chunk shape [1, 0, 4]"), "{e}");
        let u8a = LabeledArray::from_shape_vec(&["x"], &[2], vec![1u8, 2]).unwrap();
        let e = s
            .write_array(
                "/b",
                &u8a,
                &WriteOptions {
                    fill_value: Some(300.0),
                    ..WriteOptions::default()
                },
            )
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("fill value 300 is not a uint8 value"),
            "{e}"
        );
        // A transform attribute with five numbers.
        s.write_array("/c", &a, &WriteOptions::default()).unwrap();
        let key = StoreKey::new("c/zarr.json").unwrap();
        let mut meta: Value =
            serde_json::from_slice(&s.storage().get(&key).unwrap().unwrap()).unwrap();
        meta["attributes"]["spatial:transform"] = json!([1, 0, 0, 0, -1]);
        s.storage()
            .set(&key, serde_json::to_vec(&meta).unwrap().into())
            .unwrap();
        let e = s.open_array("/c").unwrap_err();
        assert!(
            e.to_string()
                .contains("attribute 'spatial:transform': expected 6 numbers"),
            "{e}"
        );
        // Unsupported dtype.
        meta["data_type"] = json!("bool");
        meta["fill_value"] = json!(false);
        s.storage()
            .set(&key, serde_json::to_vec(&meta).unwrap().into())
            .unwrap();
        assert!(matches!(
            s.open_array("/c"),
            Err(ZarrError::UnsupportedDType { .. })
        ));
        // Zstd where zarrs was built without it fails clearly, with it round-trips.
        let r = s.write_array(
            "/z",
            &a,
            &WriteOptions {
                compression: Compression::Zstd { level: 1 },
                ..WriteOptions::default()
            },
        );
        if let Err(e) = r {
            assert!(e.to_string().contains("zstd"), "{e}");
        } else {
            assert_eq!(s.open_array("/z").unwrap().read().unwrap(), a);
        }
    }

    #[test]
    fn nan_fill_value_and_unwritten_chunks() {
        let s = ZarrStore::memory();
        let a = LabeledArray::from_shape_vec(&["x"], &[0], Vec::<f32>::new()).unwrap();
        s.write_array(
            "/e",
            &a,
            &WriteOptions {
                fill_value: Some(f64::NAN),
                ..WriteOptions::default()
            },
        )
        .unwrap();
        assert_eq!(s.open_array("/e").unwrap().read().unwrap().shape(), &[0]);
    }
}
