//! The pixel pipeline: items + [`GridParams`] + [`LoadOptions`] + an [`AssetReader`] →
//! a `(time, band, y, x)` [`LabeledArray`], with odc-stac 0.5.3's or stackstac 0.5.1's
//! reading, warping, fusing, dtype and nodata rules (see `/specs/stacking.md` §2).
//!
//! The core does no I/O: assets are opened through the [`AssetReader`] trait (the CLI
//! implements it over local files; tests over decoded GeoTIFFs in memory).
//!
//! ```
//! use geochip::stack::{load, AssetError, AssetRaster, AssetReader, GridParams, LoadOptions};
//! use geochip::{DType, GeoTransform, Grid, Window, Crs};
//! struct Flat(Grid);
//! impl AssetRaster for Flat {
//!     fn grid(&self) -> &Grid { &self.0 }
//!     fn dtype(&self) -> DType { DType::U16 }
//!     fn nodata(&self) -> Option<f64> { Some(0.0) }
//!     fn band_count(&self) -> usize { 1 }
//!     fn read_window(&mut self, _: usize, _: usize, w: Window) -> Result<Vec<f64>, AssetError> {
//!         Ok(vec![7.0; w.width * w.height])
//!     }
//! }
//! struct Reader;
//! impl AssetReader for Reader {
//!     fn open(&mut self, _: &geochip::stac::Item, _: &str, _: &str)
//!         -> Result<Box<dyn AssetRaster + '_>, AssetError> {
//!         let t = GeoTransform::new(10.0, 0.0, 767920.0, 0.0, -10.0, 6090010.0);
//!         Ok(Box::new(Flat(Grid::new(t, 64, 64, Some(Crs::Epsg(32755))).unwrap())))
//!     }
//! }
//! let json = r#"{"type": "Feature", "id": "a", "properties": {"datetime": "2024-01-05T00:10:00Z",
//!   "proj:epsg": 32755}, "assets": {"B02": {"href": "b.tif", "type": "image/tiff",
//!   "proj:shape": [64, 64], "proj:transform": [10, 0, 767920, 0, -10, 6090010],
//!   "raster:bands": [{"data_type": "uint16", "nodata": 0}]}}}"#;
//! let items = geochip::stac::parse_items(json).unwrap();
//! let cube = load(&items, &GridParams::default(), &LoadOptions::default(), &mut Reader, &mut |_, _| {}).unwrap();
//! assert_eq!(cube.array.shape(), &[1, 1, 64, 64]);
//! assert_eq!(cube.array.dtype(), DType::U16);
//! assert_eq!(cube.array.sum_f64(), 7.0 * 64.0 * 64.0);
//! ```

use std::collections::HashMap;

use crate::array::{ArrayData, DType, Element, LabeledArray};
use crate::grid::{Grid, Window};
use crate::stac::Item;
use crate::warp::{
    KernelOptions, PixelTransformer, Resampling, SourceImage, WarpError, read_shrink,
    source_window, store_as, warp, warp_stored, work_dtype,
};

use super::{GridParams, StackError, StackGrid, StackMode, output_grid};

/// Why an asset could not be opened or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AssetErrorKind {
    /// The asset does not exist (HTTP 404, no such file): stackstac's default
    /// `errors_as_nodata`.
    NotFound,
    /// The asset could not be reached (network, permissions).
    Unreachable,
    /// The bytes are not a readable raster (corrupt, truncated, unsupported encoding).
    Corrupt,
}

/// An asset reader's error: a kind and a message.
///
/// ```
/// let e = geochip::stack::AssetError::not_found("no such file");
/// assert_eq!(e.to_string(), "not found: no such file");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", match kind { AssetErrorKind::NotFound => "not found",
    AssetErrorKind::Unreachable => "unreachable", AssetErrorKind::Corrupt => "corrupt" })]
pub struct AssetError {
    /// The kind (matched by [`LoadOptions::errors_as_nodata`]).
    pub kind: AssetErrorKind,
    /// What happened.
    pub message: String,
}

impl AssetError {
    /// A [`AssetErrorKind::NotFound`] error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            kind: AssetErrorKind::NotFound,
            message: message.into(),
        }
    }
    /// A [`AssetErrorKind::Unreachable`] error.
    pub fn unreachable(message: impl Into<String>) -> Self {
        Self {
            kind: AssetErrorKind::Unreachable,
            message: message.into(),
        }
    }
    /// A [`AssetErrorKind::Corrupt`] error.
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self {
            kind: AssetErrorKind::Corrupt,
            message: message.into(),
        }
    }
}

/// An opened raster asset (e.g. a COG): its grid, overviews, dtype, nodata and windowed reads.
pub trait AssetRaster {
    /// The full-resolution grid (with the file's CRS).
    fn grid(&self) -> &Grid;
    /// Overview grids, finest first (level `i + 1` in [`AssetRaster::read_window`]).
    fn overviews(&self) -> Vec<Grid> {
        Vec::new()
    }
    /// Sample type.
    fn dtype(&self) -> DType;
    /// The file's nodata value.
    fn nodata(&self) -> Option<f64>;
    /// The nodata GDAL reports for `level` when the level is opened on its own (rasterio's
    /// `overview_level`): a COG overview's own `GDAL_NODATA` tag. Default: [`Self::nodata`].
    fn level_nodata(&self, level: usize) -> Option<f64> {
        let _ = level;
        self.nodata()
    }
    /// Number of bands.
    fn band_count(&self) -> usize;
    /// Row-major values of `window` of `band` (0-based) at `level` (0: full resolution).
    fn read_window(
        &mut self,
        level: usize,
        band: usize,
        window: Window,
    ) -> Result<Vec<f64>, AssetError>;
}

/// Opens the assets of items (files, HTTP, object stores, memory: the caller's choice).
pub trait AssetReader {
    /// Opens `href` (the asset's href as written in the item).
    fn open(
        &mut self,
        item: &Item,
        asset_key: &str,
        href: &str,
    ) -> Result<Box<dyn AssetRaster + '_>, AssetError>;
}

/// Pixel options of [`load`]; the defaults are each tool's defaults.
///
/// ```
/// let o = geochip::stack::LoadOptions::default();
/// assert!(o.dtype.is_none() && o.use_overviews);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    /// Resampling (odc `resampling=`, stackstac `resampling=`).
    pub resampling: Resampling,
    /// Output dtype (odc: `raster:bands.data_type` else float32; stackstac: float64).
    pub dtype: Option<DType>,
    /// odc `nodata=`, stackstac `fill_value=` (default: STAC nodata / NaN, see [`load`]).
    pub nodata: Option<f64>,
    /// Apply `raster:bands` scale/offset (stackstac default true; odc opt-in, float only).
    pub rescale: Option<bool>,
    /// Asset errors that become fill instead of failing (stackstac: `[NotFound]`; odc's
    /// `fail_on_error=False` is every kind). `None`: the mode's default.
    pub errors_as_nodata: Option<Vec<AssetErrorKind>>,
    /// odc `use_overviews` (stackstac never picks overviews).
    pub use_overviews: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            resampling: Resampling::Nearest,
            dtype: None,
            nodata: None,
            rescale: None,
            errors_as_nodata: None,
            use_overviews: true,
        }
    }
}

/// A loaded cube.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    /// Dims `(time, band, y, x)`, with the output grid attached.
    pub array: LabeledArray,
    /// Grid and coordinates.
    pub grid: StackGrid,
    /// The fill/nodata value of empty pixels (NaN for NaN).
    pub nodata: f64,
}

/// Sample types of the output.
trait Pixel: Element + Copy + PartialEq {
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
}

macro_rules! pixel_int {
    ($($t:ty),*) => {$(
        impl Pixel for $t {
            #[inline]
            fn from_f64(v: f64) -> Self {
                // GDALCopyWords: round to nearest, clamp; NaN → 0. Integral values in range
                // (every pixel of an integer source) skip `round`, which is a libm call on
                // baseline x86-64 and dominated pasting integer COGs.
                let t = v as $t;
                if t as f64 == v {
                    return t;
                }
                if v.is_nan() { 0 } else { v.round().clamp(<$t>::MIN as f64, <$t>::MAX as f64) as $t }
            }
            fn to_f64(self) -> f64 { self as f64 }
        }
    )*};
}
pixel_int!(u8, u16, u32, u64, i8, i16, i32, i64);
impl Pixel for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}
impl Pixel for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
}

/// `v * scale + offset` in the precision of `dtype` (numpy's weak-scalar rule: a float32
/// array times a Python float stays float32).
fn rescale_in(v: f64, scale: f64, offset: f64, dtype: DType) -> f64 {
    if dtype == DType::F32 {
        let mut x = v as f32;
        if scale != 1.0 {
            x *= scale as f32;
        }
        if offset != 0.0 {
            x += offset as f32;
        }
        f64::from(x)
    } else {
        let mut x = v;
        if scale != 1.0 {
            x *= scale;
        }
        if offset != 0.0 {
            x += offset;
        }
        x
    }
}

fn same_value(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// The asset key and 0-based band index of output band `name` in `item` (odc: asset keys,
/// `asset.N` for multi-band assets, eo:bands common names).
pub(crate) fn resolve_band(item: &Item, name: &str, mode: StackMode) -> Option<(String, usize)> {
    if item.asset(name).is_ok() {
        return Some((name.to_owned(), 0));
    }
    if mode == StackMode::Stackstac {
        return None;
    }
    if let Some((k, n)) = name.rsplit_once('.')
        && let Ok(i) = n.parse::<usize>()
        && i >= 1
        && item.asset(k).is_ok()
    {
        return Some((k.to_owned(), i - 1));
    }
    for (k, _) in &item.assets.0 {
        let eo = item.eo_bands(k).unwrap_or_default();
        if let Some(i) = eo
            .iter()
            .position(|b| b.common_name.as_deref() == Some(name))
        {
            return Some((k.clone(), i));
        }
    }
    None
}

/// One (item, asset) to read into a plane.
struct Source<'a> {
    item: &'a Item,
    key: String,
    band: usize,
    scale: f64,
    offset: f64,
    stac_nodata: Option<f64>,
}

/// Resolved per-load settings.
struct Plan {
    mode: StackMode,
    dtype: DType,
    fill: f64,
    rescale: bool,
    resampling: Resampling,
    use_overviews: bool,
    tolerated: Vec<AssetErrorKind>,
}

/// Stacks `items` into a `(time, band, y, x)` cube on [`output_grid`]'s grid.
///
/// odc mode (odc-stac 0.5.3 `load`): per time group (fuse order from `groupby`) and band,
/// each source is pasted (integer-pixel shift at the same resolution: a windowed read, no
/// resampling) or warped into its destination region (reading an overview when the read
/// shrink factor allows), then fused first-valid-wins. dtype: `dtype` else the band's
/// `raster:bands.data_type` else float32; nodata: `nodata` else `raster:bands.nodata`, else
/// NaN for floats, else the file's nodata, else 0. `rescale: Some(true)` (float dtypes only)
/// applies `raster:bands` scale/offset per item and fills with NaN.
///
/// stackstac mode (stackstac 0.5.1 `stack`): one plane per item, each asset warped onto the
/// whole output grid in GDAL `WarpedVRT` blocks of 512×128, masked by the *file's* nodata,
/// converted to `dtype` (default float64), rescaled (default on), masked pixels set to
/// `nodata` (`fill_value`, default NaN). Multi-band files are an error.
///
/// Missing assets are fill. Asset errors fail the load unless their kind is in
/// `errors_as_nodata` (stackstac default: not-found only). `progress(done, total)` is called
/// after each (time, band) plane.
pub fn load(
    items: &[Item],
    params: &GridParams,
    opts: &LoadOptions,
    reader: &mut dyn AssetReader,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Stack, StackError> {
    let grid = output_grid(items, params)?;
    let mode = params.mode;
    let mut by_id: HashMap<&str, &Item> = HashMap::new();
    for item in items {
        by_id.entry(item.id.as_str()).or_insert(item);
    }
    // Per (time, band): the sources in fuse order.
    let mut planes: Vec<Vec<Source<'_>>> = Vec::new();
    for ids in &grid.time_items {
        for band in &grid.band {
            let mut srcs = Vec::new();
            for id in ids {
                let Some(item) = by_id.get(id.as_str()) else {
                    continue;
                };
                let Some((key, bidx)) = resolve_band(item, band, mode) else {
                    continue;
                };
                let rb = item.raster_bands(&key)?;
                let b = rb.get(bidx).cloned().unwrap_or_default();
                srcs.push(Source {
                    item,
                    key,
                    band: bidx,
                    scale: b.scale.unwrap_or(1.0),
                    offset: b.offset.unwrap_or(0.0),
                    stac_nodata: b.nodata,
                });
            }
            planes.push(srcs);
        }
    }
    let plan = resolve_plan(items, &grid, params, opts, &planes, reader)?;
    let total = planes.len();
    let data = match plan.dtype {
        DType::U8 => run::<u8>(&grid, &plan, &planes, reader, progress, total)?,
        DType::U16 => run::<u16>(&grid, &plan, &planes, reader, progress, total)?,
        DType::U32 => run::<u32>(&grid, &plan, &planes, reader, progress, total)?,
        DType::U64 => run::<u64>(&grid, &plan, &planes, reader, progress, total)?,
        DType::I8 => run::<i8>(&grid, &plan, &planes, reader, progress, total)?,
        DType::I16 => run::<i16>(&grid, &plan, &planes, reader, progress, total)?,
        DType::I32 => run::<i32>(&grid, &plan, &planes, reader, progress, total)?,
        DType::I64 => run::<i64>(&grid, &plan, &planes, reader, progress, total)?,
        DType::F32 => run::<f32>(&grid, &plan, &planes, reader, progress, total)?,
        DType::F64 => run::<f64>(&grid, &plan, &planes, reader, progress, total)?,
    };
    let array = LabeledArray::new(&["time", "band", "y", "x"], data)
        .and_then(|a| a.with_grid(grid.grid.clone()))
        .map_err(|e| StackError::BadParams {
            what: e.to_string(),
        })?;
    Ok(Stack {
        array,
        grid,
        nodata: plan.fill,
    })
}

fn resolve_plan(
    _items: &[Item],
    grid: &StackGrid,
    params: &GridParams,
    opts: &LoadOptions,
    planes: &[Vec<Source<'_>>],
    reader: &mut dyn AssetReader,
) -> Result<Plan, StackError> {
    let mode = params.mode;
    let first_src = || planes.iter().flatten();
    let dtype = match (opts.dtype, mode) {
        (Some(d), _) => d,
        (None, StackMode::Stackstac) => DType::F64,
        (None, StackMode::Odc) => {
            let mut found: Option<DType> = None;
            for s in first_src() {
                let rb = s.item.raster_bands(&s.key)?;
                if let Some(t) = rb.get(s.band).and_then(|b| b.data_type.clone()) {
                    let d: DType = t.parse().map_err(|_| StackError::BadParams {
                        what: format!(
                            "item '{}' asset '{}': raster:bands data_type '{t}' is not a \
                             supported dtype; pass a dtype",
                            s.item.id, s.key
                        ),
                    })?;
                    match found {
                        None => found = Some(d),
                        Some(f) if f != d => {
                            return Err(StackError::BadParams {
                                what: format!(
                                    "bands have different data types ({f} and {d} at item '{}' \
                                     asset '{}'); pass one dtype for the cube",
                                    s.item.id, s.key
                                ),
                            });
                        }
                        _ => {}
                    }
                }
            }
            found.unwrap_or(DType::F32)
        }
    };
    let float = matches!(dtype, DType::F32 | DType::F64);
    let rescale = opts.rescale.unwrap_or(mode == StackMode::Stackstac);
    if rescale {
        for s in first_src() {
            if !float && (s.scale != 1.0 || s.offset != 0.0) {
                return Err(StackError::BadParams {
                    what: format!(
                        "item '{}' asset '{}': scale {} / offset {} cannot be applied to {dtype} \
                         output; use a float dtype or turn rescale off",
                        s.item.id, s.key, s.scale, s.offset
                    ),
                });
            }
        }
    }
    let fill = match (opts.nodata, mode) {
        (Some(v), _) => v,
        (None, StackMode::Stackstac) => {
            if float {
                f64::NAN
            } else {
                return Err(StackError::BadParams {
                    what: format!(
                        "stackstac mode: a {dtype} cube needs a fill value (nodata), NaN does \
                         not fit"
                    ),
                });
            }
        }
        (None, StackMode::Odc) if rescale => f64::NAN,
        (None, StackMode::Odc) => {
            let stac = first_src().find_map(|s| s.stac_nodata);
            match stac {
                Some(v) => v,
                None if float => f64::NAN,
                None => {
                    // odc-stac #162: the source file's nodata, else 0.
                    let mut v = 0.0;
                    if let Some(s) = first_src().next() {
                        let href = s.item.asset(&s.key)?.href.clone();
                        if let Ok(r) = reader.open(s.item, &s.key, &href) {
                            v = r.nodata().unwrap_or(0.0);
                        }
                    }
                    v
                }
            }
        }
    };
    if rescale && mode == StackMode::Odc && !float {
        return Err(StackError::BadParams {
            what: format!("rescale needs a float dtype, not {dtype}"),
        });
    }
    if !float && fill.is_nan() {
        return Err(StackError::BadParams {
            what: format!("nodata NaN does not fit the {dtype} output"),
        });
    }
    let _ = grid;
    Ok(Plan {
        mode,
        dtype,
        fill,
        rescale,
        resampling: opts.resampling,
        use_overviews: opts.use_overviews,
        tolerated: opts.errors_as_nodata.clone().unwrap_or(match mode {
            StackMode::Stackstac => vec![AssetErrorKind::NotFound],
            StackMode::Odc => Vec::new(),
        }),
    })
}

fn run<T: Pixel>(
    grid: &StackGrid,
    plan: &Plan,
    planes: &[Vec<Source<'_>>],
    reader: &mut dyn AssetReader,
    progress: &mut dyn FnMut(usize, usize),
    total: usize,
) -> Result<ArrayData, StackError>
where
    ArrayData: From<ndarray::ArrayD<T>>,
{
    let g = &grid.grid;
    let plane_len = g.width * g.height;
    let fill = T::from_f64(plan.fill);
    let n = planes.len() * plane_len;
    let mut data: Vec<T> = vec![fill; n];
    for (pi, srcs) in planes.iter().enumerate() {
        let plane = &mut data[pi * plane_len..(pi + 1) * plane_len];
        for s in srcs {
            let res = match plan.mode {
                StackMode::Odc => read_odc::<T>(g, plan, s, reader, plane),
                StackMode::Stackstac => read_stackstac::<T>(g, plan, s, reader, plane),
            };
            match res {
                Ok(()) => {}
                Err(StackError::Read { kind, .. }) if plan.tolerated.contains(&kind) => {}
                Err(e) => return Err(e),
            }
        }
        progress(pi + 1, total);
    }
    let shape = [grid.time.len(), grid.band.len(), g.height, g.width];
    let arr = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), data).map_err(|e| {
        StackError::BadParams {
            what: e.to_string(),
        }
    })?;
    Ok(ArrayData::from(arr))
}

fn read_err(s: &Source<'_>, href: &str, e: AssetError) -> StackError {
    StackError::Read {
        item: s.item.id.clone(),
        asset: s.key.clone(),
        href: href.to_owned(),
        kind: e.kind,
        message: e.message,
    }
}

fn warp_err(s: &Source<'_>, e: WarpError) -> StackError {
    StackError::Warp {
        item: s.item.id.clone(),
        asset: s.key.clone(),
        source: e,
    }
}

/// How [`warp_chunk`] runs the kernel: stackstac's `WarpedVRT` path (values not yet stored)
/// or rasterio `reproject`'s (GDAL's kernel choice, values stored in the work type).
enum Kernel {
    Vrt(Resampling),
    Reproject(KernelOptions),
}

/// Warps one source onto the chunk `dst` (a GDAL warp chunk), returning the values and the
/// written mask; `None` when the chunk misses the source.
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
fn warp_chunk(
    raster: &mut dyn AssetRaster,
    level: usize,
    level_grid: &Grid,
    band: usize,
    src_nodata: Option<f64>,
    dst: &Grid,
    kernel: Kernel,
    s: &Source<'_>,
    href: &str,
) -> Result<Option<(Vec<f64>, Vec<bool>)>, StackError> {
    let resampling = match &kernel {
        Kernel::Vrt(r) => *r,
        Kernel::Reproject(o) => o.resampling,
    };
    let Some(sw) = source_window(level_grid, dst, resampling).map_err(|e| warp_err(s, e))? else {
        return Ok(None);
    };
    let values = raster
        .read_window(level, band, sw.window)
        .map_err(|e| read_err(s, href, e))?;
    let img = SourceImage {
        grid: level_grid,
        window: sw.window,
        values: &values,
        nodata: src_nodata,
    };
    let n = dst.width * dst.height;
    let mut out = vec![0.0; n];
    let mut written = vec![false; n];
    match &kernel {
        Kernel::Vrt(r) => warp(&img, dst, &sw, *r, &mut out, &mut written),
        Kernel::Reproject(o) => warp_stored(&img, dst, &sw, o, &mut out, &mut written),
    }
    .map_err(|e| warp_err(s, e))?;
    Ok(Some((out, written)))
}

fn open<'r>(
    reader: &'r mut dyn AssetReader,
    s: &Source<'_>,
) -> Result<(Box<dyn AssetRaster + 'r>, String), StackError> {
    let href = s.item.asset(&s.key)?.href.clone();
    let r = reader
        .open(s.item, &s.key, &href)
        .map_err(|e| read_err(s, &href, e))?;
    Ok((r, href))
}

/// odc-stac `_rio_read` + nodata fuser.
fn read_odc<T: Pixel>(
    g: &Grid,
    plan: &Plan,
    s: &Source<'_>,
    reader: &mut dyn AssetReader,
    plane: &mut [T],
) -> Result<(), StackError> {
    let (mut raster, href) = open(reader, s)?;
    let count = raster.band_count();
    if s.band >= count {
        return Err(StackError::BandOutOfRange {
            item: s.item.id.clone(),
            asset: s.key.clone(),
            band: s.band + 1,
            count,
        });
    }
    let src_grid = raster.grid().clone();
    // odc-loader's `src_nodata0`: the nodata of the dataset it reads (no STAC fallback; odc-stac
    // sets neither `src_nodata_fallback` nor `src_nodata_override`).
    let src_nodata = raster.nodata();
    let dst_nodata = plan.fill;
    let nearest = plan.resampling == Resampling::Nearest;
    let ttol = if nearest { 0.9 } else { 0.05 };
    let rr = odc_roi::reproject_info(&src_grid, g, ttol).map_err(|e| warp_err(s, e))?;
    let Some(roi_dst) = rr.roi_dst else {
        return Ok(());
    };
    if rr.paste && rr.read_shrink == 1 && !plan.rescale {
        // The common case (same grid, no rescale): cast, mask and fuse in one pass straight
        // into the plane — the same values as the general path below, without its
        // temporary plane.
        if let Some(roi_src) = rr.roi_src {
            let vals = raster
                .read_window(0, s.band, roi_src)
                .map_err(|e| read_err(s, &href, e))?;
            let nd = src_nodata.map(|nd| T::from_f64(nd).to_f64());
            let w = roi_dst.width;
            for (r, src_row) in vals.chunks_exact(w).take(roi_dst.height).enumerate() {
                let row = (roi_dst.row_off + r) * g.width + roi_dst.col_off;
                for (d, &v) in plane[row..row + w].iter_mut().zip(src_row) {
                    if same_value(d.to_f64(), plan.fill) {
                        let cast = T::from_f64(v).to_f64();
                        *d = match nd {
                            Some(n) if same_value(cast, n) => T::from_f64(dst_nodata),
                            _ => T::from_f64(cast),
                        };
                    }
                }
            }
        }
        return Ok(());
    }
    let mut tmp = vec![dst_nodata; roi_dst.width * roi_dst.height];
    if rr.paste && rr.read_shrink == 1 {
        if let Some(roi_src) = rr.roi_src {
            let vals = raster
                .read_window(0, s.band, roi_src)
                .map_err(|e| read_err(s, &href, e))?;
            for (t, v) in tmp.iter_mut().zip(vals) {
                let cast = T::from_f64(v).to_f64();
                *t = match src_nodata {
                    Some(nd) if same_value(cast, T::from_f64(nd).to_f64()) => dst_nodata,
                    _ => cast,
                };
            }
        }
    } else {
        let mut level = 0;
        let mut level_grid = src_grid.clone();
        if plan.use_overviews && rr.read_shrink > 1 {
            let ovr = raster.overviews();
            let factors: Vec<usize> = ovr
                .iter()
                .map(|o| (src_grid.width as f64 / o.width as f64).round() as usize)
                .collect();
            if let Some(i) = crate::warp::pick_overview(rr.read_shrink, &factors) {
                level = i + 1;
                level_grid = ovr[i].clone();
            }
        }
        // odc-loader reads an overview through `rasterio.open(..., overview_level=i)`, whose
        // nodata is the overview IFD's own GDAL_NODATA tag: without it the warp has no
        // source nodata, and nodata pixels are data that blend in.
        let src_nodata = if level > 0 {
            raster.level_nodata(level)
        } else {
            src_nodata
        };
        // rasterio 1.4 `_reproject`: `dst_nodata = dst_nodata or src_nodata` (Python
        // truthiness: 0 falls back to the source's), `INIT_DEST=NO_DATA` when it is set, else 0.
        let rio_dst_nodata = if dst_nodata != 0.0 {
            Some(dst_nodata)
        } else {
            src_nodata
        };
        let init = T::from_f64(rio_dst_nodata.unwrap_or(0.0)).to_f64();
        tmp.iter_mut().for_each(|t| *t = init);
        let chunk = g.window(roi_dst).map_err(|e| warp_err(s, e.into()))?;
        let opts = KernelOptions {
            resampling: plan.resampling,
            work: work_dtype(raster.dtype(), T::DTYPE),
            dst_nodata: rio_dst_nodata,
        };
        if let Some((out, written)) = warp_chunk(
            raster.as_mut(),
            level,
            &level_grid,
            s.band,
            src_nodata,
            &chunk,
            Kernel::Reproject(opts),
            s,
            &href,
        )? {
            for ((t, v), w) in tmp.iter_mut().zip(out).zip(written) {
                if w {
                    *t = T::from_f64(v).to_f64();
                }
            }
        }
    }
    if plan.rescale {
        for t in tmp.iter_mut() {
            *t = if same_value(*t, dst_nodata) {
                f64::NAN
            } else {
                rescale_in(*t, s.scale, s.offset, plan.dtype)
            };
        }
    }
    // Fuse: copy where the destination is still nodata (first valid wins).
    for r in 0..roi_dst.height {
        let row = (roi_dst.row_off + r) * g.width + roi_dst.col_off;
        for c in 0..roi_dst.width {
            let d = &mut plane[row + c];
            if same_value(d.to_f64(), plan.fill) {
                *d = T::from_f64(tmp[r * roi_dst.width + c]);
            }
        }
    }
    Ok(())
}

/// stackstac's reader: a `WarpedVRT` over the whole output grid in the file's dtype, masked
/// by the file's nodata (or by the pixels the warp wrote when the file has none).
fn read_stackstac<T: Pixel>(
    g: &Grid,
    plan: &Plan,
    s: &Source<'_>,
    reader: &mut dyn AssetReader,
    plane: &mut [T],
) -> Result<(), StackError> {
    let (mut raster, href) = open(reader, s)?;
    let count = raster.band_count();
    if count != 1 {
        return Err(StackError::MultiBandAsset {
            item: s.item.id.clone(),
            asset: s.key.clone(),
            count,
        });
    }
    let src_grid = raster.grid().clone();
    let vrt_dtype = raster.dtype();
    let file_nodata = raster.nodata();
    const BX: usize = 512;
    const BY: usize = 128;
    let mut by = 0;
    while by < g.height {
        let h = BY.min(g.height - by);
        let mut bx = 0;
        while bx < g.width {
            let w = BX.min(g.width - bx);
            let win = Window::new(bx, by, w, h);
            let chunk = g.window(win).map_err(|e| warp_err(s, e.into()))?;
            if let Some((out, written)) = warp_chunk(
                raster.as_mut(),
                0,
                &src_grid,
                0,
                file_nodata,
                &chunk,
                Kernel::Vrt(plan.resampling),
                s,
                &href,
            )? {
                for r in 0..h {
                    for c in 0..w {
                        let i = r * w + c;
                        if !written[i] {
                            continue;
                        }
                        let v = store_as(out[i], vrt_dtype);
                        if let Some(nd) = file_nodata
                            && same_value(v, store_as(nd, vrt_dtype))
                        {
                            continue;
                        }
                        let mut x = T::from_f64(v).to_f64();
                        if plan.rescale {
                            x = rescale_in(x, s.scale, s.offset, plan.dtype);
                        }
                        plane[(by + r) * g.width + bx + c] = T::from_f64(x);
                    }
                }
            }
            bx += BX;
        }
        by += BY;
    }
    Ok(())
}

mod odc_roi {
    //! odc-geo 0.5 `compute_reproject_roi`: which part of the destination a source touches,
    //! whether it can be pasted, and the read shrink factor.
    use super::*;

    pub(super) struct RoiInfo {
        pub roi_src: Option<Window>,
        pub roi_dst: Option<Window>,
        pub paste: bool,
        pub read_shrink: usize,
    }

    fn almost_int(v: f64, tol: f64) -> bool {
        (v - v.round()).abs() < tol
    }

    /// odc-geo `compute_axis_overlap(Ns, Nd, s, t)` for `s > 0`: (src range, dst range).
    fn axis_overlap(ns: usize, nd: usize, s: f64, t: f64) -> ((i64, i64), (i64, i64)) {
        let (nsf, ndf) = (ns as f64, nd as f64);
        let s_ = 1.0 / s;
        let t_ = -t * s_;
        let inn = if t < 0.0 {
            (0, t_.floor().min(ndf) as i64)
        } else {
            (t.floor().min(nsf) as i64, 0)
        };
        let a = (ndf * s + t).ceil();
        let out = if a <= nsf {
            (a.max(0.0) as i64, nd as i64)
        } else {
            (ns as i64, (nsf * s_ + t_).ceil().max(0.0) as i64)
        };
        ((inn.0, out.0), (inn.1, out.1))
    }

    fn window_of(cols: (i64, i64), rows: (i64, i64)) -> Option<Window> {
        if cols.1 <= cols.0 || rows.1 <= rows.0 || cols.0 < 0 || rows.0 < 0 {
            return None;
        }
        Some(Window::new(
            cols.0 as usize,
            rows.0 as usize,
            (cols.1 - cols.0) as usize,
            (rows.1 - rows.0) as usize,
        ))
    }

    /// odc-geo `roi_boundary`: points along the edges of `[0, w] × [0, h]` offset by `off`.
    fn boundary(off: (f64, f64), w: f64, h: f64, pts: usize) -> Vec<(f64, f64)> {
        let mut v = Vec::new();
        for i in 0..pts {
            let f = i as f64 / (pts - 1) as f64;
            v.push((off.0 + f * w, off.1));
            v.push((off.0 + f * w, off.1 + h));
            v.push((off.0, off.1 + f * h));
            v.push((off.0 + w, off.1 + f * h));
        }
        v
    }

    /// odc-geo `roi_from_points`: envelope ± padding, clipped to the shape.
    fn roi_from_points(pts: &[Option<(f64, f64)>], w: usize, h: usize, pad: f64) -> Option<Window> {
        let (mut x0, mut y0, mut x1, mut y1) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for (x, y) in pts.iter().flatten() {
            x0 = x0.min(*x);
            y0 = y0.min(*y);
            x1 = x1.max(*x);
            y1 = y1.max(*y);
        }
        if !x0.is_finite() || !x1.is_finite() || !y0.is_finite() || !y1.is_finite() {
            return None;
        }
        let clip = |v: f64, n: usize| v.clamp(0.0, n as f64) as i64;
        window_of(
            (clip(x0.floor() - pad, w), clip(x1.ceil() + pad, w)),
            (clip(y0.floor() - pad, h), clip(y1.ceil() + pad, h)),
        )
    }

    /// An affine as the `affine` package (3.0) composes and applies it, operation for
    /// operation: odc-geo's same-CRS pixel transform is `~dst.transform * src.transform`, and
    /// the ROI's `ceil` sees its last bit (10 m → 15 m: 43.000000000000007 makes a 44-pixel ROI,
    /// which sets GDAL's kernel scale).
    #[derive(Clone, Copy)]
    struct Aff([f64; 6]);

    impl Aff {
        fn of(t: &crate::transform::GeoTransform) -> Self {
            Self([t.a, t.b, t.c, t.d, t.e, t.f])
        }
        fn inv(self) -> Self {
            let [sa, sb, sc, sd, se, sf] = self.0;
            let idet = 1.0 / (sa * se - sb * sd);
            let (ra, rb, rd, re) = (se * idet, -sb * idet, -sd * idet, sa * idet);
            Self([ra, rb, -sc * ra - sf * rb, rd, re, -sc * rd - sf * re])
        }
        fn mul(self, o: Self) -> Self {
            let [sa, sb, sc, sd, se, sf] = self.0;
            let [oa, ob, oc, od, oe, of] = o.0;
            Self([
                sa * oa + sb * od,
                sa * ob + sb * oe,
                sa * oc + sb * of + sc,
                sd * oa + se * od,
                sd * ob + se * oe,
                sd * oc + se * of + sf,
            ])
        }
        fn apply(self, x: f64, y: f64) -> Option<(f64, f64)> {
            let [sa, sb, sc, sd, se, sf] = self.0;
            Some((x * sa + y * sb + sc, x * sd + y * se + sf))
        }
    }

    /// `_relative_rois(src, dst, tr, pts_per_side, padding=1)`; `linear`: odc-geo's same-CRS
    /// `LinearPointTransform` (affine arithmetic), else its CRS transform.
    fn relative_rois(
        src: &Grid,
        dst: &Grid,
        pts: usize,
        linear: bool,
    ) -> Result<(Option<Window>, Option<Window>), WarpError> {
        let back_t = PixelTransformer::new(src, dst)?; // dst px -> src px
        let fwd_t = PixelTransformer::new(dst, src)?; // src px -> dst px
        let fwd_a = Aff::of(&dst.transform).inv().mul(Aff::of(&src.transform));
        let back_a = fwd_a.inv();
        let back = |x: f64, y: f64| {
            if linear {
                back_a.apply(x, y)
            } else {
                back_t.dst_to_src(x, y)
            }
        };
        let fwd = |x: f64, y: f64| {
            if linear {
                fwd_a.apply(x, y)
            } else {
                fwd_t.dst_to_src(x, y)
            }
        };
        let bpts: Vec<_> = boundary((0.0, 0.0), dst.width as f64, dst.height as f64, pts)
            .into_iter()
            .map(|(x, y)| back(x, y))
            .collect();
        let Some(roi_src) = roi_from_points(&bpts, src.width, src.height, 1.0) else {
            return Ok((None, None));
        };
        let fpts: Vec<_> = boundary(
            (roi_src.col_off as f64, roi_src.row_off as f64),
            roi_src.width as f64,
            roi_src.height as f64,
            pts,
        )
        .into_iter()
        .map(|(x, y)| fwd(x, y))
        .collect();
        Ok((
            Some(roi_src),
            roi_from_points(&fpts, dst.width, dst.height, 0.0),
        ))
    }

    pub(super) fn reproject_info(src: &Grid, dst: &Grid, ttol: f64) -> Result<RoiInfo, WarpError> {
        let stol = 1e-3;
        let back = PixelTransformer::new(src, dst)?;
        let (s, d) = (&src.transform, &dst.transform);
        if back.is_linear() && s.is_rectilinear() && d.is_rectilinear() {
            // A = inv(src) * dst: x_src = sx * x_dst + tx.
            let sx = d.a / s.a;
            let sy = d.e / s.e;
            let tx = (d.c - s.c) / s.a;
            let ty = (d.f - s.f) / s.e;
            let scale = sx.abs().min(sy.abs());
            let shrink = read_shrink(scale);
            let rs = shrink as f64;
            let paste = almost_int(scale, stol)
                && sx > 0.0
                && sy > 0.0
                && (sx / rs - 1.0).abs() <= stol
                && (sy / rs - 1.0).abs() <= stol
                && almost_int(tx / rs, ttol)
                && almost_int(ty / rs, ttol);
            if paste && shrink == 1 {
                let (cs, cd) = axis_overlap(src.width, dst.width, 1.0, tx.round());
                let (rsrc, rdst) = axis_overlap(src.height, dst.height, 1.0, ty.round());
                let roi_src = window_of(cs, rsrc);
                let roi_dst = window_of(cd, rdst);
                return Ok(RoiInfo {
                    roi_src,
                    roi_dst: roi_src.and(roi_dst),
                    paste: true,
                    read_shrink: 1,
                });
            }
            let (roi_src, roi_dst) = relative_rois(src, dst, 2, true)?;
            return Ok(RoiInfo {
                roi_src,
                roi_dst,
                paste,
                read_shrink: shrink,
            });
        }
        let (roi_src, roi_dst) = relative_rois(src, dst, 5, false)?;
        let mut shrink = 1;
        if let Some(r) = roi_dst {
            // Scale of dst -> src around the ROI centre (central differences, 1 px).
            let cx = r.col_off as f64 + r.width as f64 / 2.0;
            let cy = r.row_off as f64 + r.height as f64 / 2.0;
            if let (Some(px0), Some(px1), Some(py0), Some(py1)) = (
                back.dst_to_src(cx - 1.0, cy),
                back.dst_to_src(cx + 1.0, cy),
                back.dst_to_src(cx, cy - 1.0),
                back.dst_to_src(cx, cy + 1.0),
            ) {
                let (a, dd) = ((px1.0 - px0.0) / 2.0, (px1.1 - px0.1) / 2.0);
                let (b, e) = ((py1.0 - py0.0) / 2.0, (py1.1 - py0.1) / 2.0);
                let sx = a.hypot(dd);
                let sy = if sx > 0.0 {
                    (a * e - b * dd).abs() / sx
                } else {
                    0.0
                };
                if sx > 0.0 && sy > 0.0 {
                    shrink = read_shrink(sx.min(sy));
                }
            }
        }
        Ok(RoiInfo {
            roi_src,
            roi_dst,
            paste: false,
            read_shrink: shrink,
        })
    }
}

/// stackstac's `mosaic(arr, dim="time", reverse=False, nodata=NaN)` over a `(time, band, y,
/// x)` cube: per pixel, the first valid value scanning from the *last* time entry (last on
/// top); `reverse` puts the first on top. A pixel is invalid when it equals `nodata` (NaN
/// matches NaN). Returns dims `(band, y, x)`.
///
/// ```
/// use geochip::{LabeledArray, stack::mosaic};
/// let a = LabeledArray::from_shape_vec(&["time", "band", "y", "x"], &[2, 1, 1, 2],
///     vec![1.0f64, 2.0, f64::NAN, 5.0]).unwrap();
/// let m = mosaic(&a, false, f64::NAN).unwrap();
/// assert_eq!(m.shape(), &[1, 1, 2]);
/// assert_eq!(m.sum_f64(), 6.0); // [1 (time 0 shows through the NaN), 5 (last on top)]
/// ```
pub fn mosaic(cube: &LabeledArray, reverse: bool, nodata: f64) -> Result<LabeledArray, StackError> {
    if cube.dims() != ["time", "band", "y", "x"] {
        return Err(StackError::BadParams {
            what: format!(
                "mosaic needs dims (time, band, y, x), got {:?}",
                cube.dims()
            ),
        });
    }
    fn go<T: Pixel>(
        a: &ndarray::ArrayD<T>,
        reverse: bool,
        nodata: f64,
    ) -> Result<ArrayData, StackError>
    where
        ArrayData: From<ndarray::ArrayD<T>>,
    {
        let sh = a.shape().to_vec();
        let (nt, rest) = (sh[0], sh[1] * sh[2] * sh[3]);
        let flat: Vec<T> = a.iter().copied().collect();
        let mut out: Vec<T> = vec![T::from_f64(nodata); rest];
        for (i, o) in out.iter_mut().enumerate() {
            let order: Box<dyn Iterator<Item = usize>> = if reverse {
                Box::new(0..nt)
            } else {
                Box::new((0..nt).rev())
            };
            for t in order {
                let v = flat[t * rest + i];
                if !same_value(v.to_f64(), nodata) {
                    *o = v;
                    break;
                }
            }
        }
        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&sh[1..]), out)
            .map(ArrayData::from)
            .map_err(|e| StackError::BadParams {
                what: e.to_string(),
            })
    }
    let data = match cube.data() {
        ArrayData::U8(a) => go(a, reverse, nodata)?,
        ArrayData::U16(a) => go(a, reverse, nodata)?,
        ArrayData::U32(a) => go(a, reverse, nodata)?,
        ArrayData::U64(a) => go(a, reverse, nodata)?,
        ArrayData::I8(a) => go(a, reverse, nodata)?,
        ArrayData::I16(a) => go(a, reverse, nodata)?,
        ArrayData::I32(a) => go(a, reverse, nodata)?,
        ArrayData::I64(a) => go(a, reverse, nodata)?,
        ArrayData::F32(a) => go(a, reverse, nodata)?,
        ArrayData::F64(a) => go(a, reverse, nodata)?,
        #[allow(unreachable_patterns)]
        _ => {
            return Err(StackError::BadParams {
                what: "mosaic: unsupported dtype".into(),
            });
        }
    };
    let mut out =
        LabeledArray::new(&["band", "y", "x"], data).map_err(|e| StackError::BadParams {
            what: e.to_string(),
        })?;
    if let Some(g) = cube.grid() {
        out = out
            .with_grid(g.clone())
            .map_err(|e| StackError::BadParams {
                what: e.to_string(),
            })?;
    }
    Ok(out)
}
