//! Reprojection and resampling of one raster onto another grid, following GDAL's warper
//! (`gdalwarpkernel.cpp`, `gdalwarpoperation.cpp`, `gdaltransformer.cpp`, GDAL 3.10) because
//! that is what odc-stac (`rasterio.warp.reproject`) and stackstac (`WarpedVRT`) run.
//!
//! Written by hand rather than with a crate: no pure-Rust warper reproduces GDAL's pixel
//! choices (the `+1e-10` nearest rule, the source-window-derived kernel scale, the validity
//! rules), and the anchors' outputs are the acceptance test. The pieces:
//!
//! - [`PixelTransformer`]: destination pixel → source pixel (GDAL's `GenImgProjTransformer`:
//!   destination geotransform, [`crate::proj`] between CRSs, GDAL's inverse source
//!   geotransform), with GDAL's approximate transformer per scanline (`0.125` px error);
//! - [`source_window`]: GDAL's `ComputeSourceWindow` for one destination chunk, and the kernel
//!   scale GDAL derives from it (bilinear widens its triangle when downsampling);
//! - [`warp`]: the kernel — nearest (`GWKCheckAndComputeSrcOffsets`), bilinear
//!   (`GWKBilinearResample4Sample` at scale ≥ 0.95, else `GWKResample`), average (weighted by
//!   pixel overlap, `GWKAverageOrMode`); invalid (nodata) source pixels are skipped and the
//!   weights renormalised, and a destination pixel whose containing source pixel is invalid
//!   stays empty (GDAL's unified source validity for single-band nodata); a position the
//!   approximate transformer puts less than a pixel outside is transformed again exactly;
//! - [`warp_stored`]: GDAL's kernel choice and storage as rasterio's `reproject` sets them up
//!   (odc-stac): without a source mask or destination nodata, the `*NoMasks*` kernels (every
//!   pixel valid, so nodata values blend in), a translation by whole pixels warped with
//!   nearest, and [`avoid_dst_nodata`] where GDAL stores through `GWKSetPixelValue`. A nodata
//!   mask gives valid pixels density 1, so GDAL never blends with the destination here;
//! - [`integer_shift`]: the direct-copy test (odc-stac's "paste": same CRS and resolution,
//!   integer-pixel translation), and [`pick_overview`] (odc-stac's overview choice).
//!
//! ```
//! use geochip::warp::{warp, source_window, Resampling, SourceImage};
//! use geochip::{Crs, GeoTransform, Grid};
//! let src = Grid::new(GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 40.0), 4, 4,
//!     Some(Crs::Epsg(32755))).unwrap();
//! let dst = Grid::new(GeoTransform::new(20.0, 0.0, 0.0, 0.0, -20.0, 40.0), 2, 2,
//!     Some(Crs::Epsg(32755))).unwrap();
//! let sw = source_window(&src, &dst, Resampling::Nearest).unwrap().unwrap();
//! let values: Vec<f64> = (0..16).map(f64::from).collect();
//! let image = SourceImage { grid: &src, window: sw.window, values: &values, nodata: None };
//! let mut out = vec![f64::NAN; 4];
//! let mut written = vec![false; 4];
//! warp(&image, &dst, &sw, Resampling::Nearest, &mut out, &mut written).unwrap();
//! assert_eq!(out, vec![5.0, 7.0, 13.0, 15.0]);
//! ```

use crate::array::DType;
use crate::crs::Crs;
use crate::grid::{Grid, GridError, Window};
use crate::proj::{ProjError, Projection, epsg_of, reproject};
use crate::transform::GeoTransform;

/// Errors from warping.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WarpError {
    /// A grid without a CRS where source and destination must be related.
    #[error("warp: the {which} grid has no CRS")]
    NoCrs {
        /// `source` or `destination`.
        which: &'static str,
    },
    /// A CRS [`crate::proj`] cannot transform.
    #[error("warp: {0}")]
    Proj(#[from] ProjError),
    /// A non-invertible transform.
    #[error("warp: {0}")]
    Grid(#[from] GridError),
    /// Buffers whose sizes do not match the grids.
    #[error("warp: {what} has {got} elements, expected {expected}")]
    BufferSize {
        /// Which buffer.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The expected length.
        expected: usize,
    },
}

/// Resampling method.
///
/// ```
/// use geochip::warp::Resampling;
/// assert_eq!("bilinear".parse::<Resampling>().unwrap(), Resampling::Bilinear);
/// assert!("lanczos".parse::<Resampling>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resampling {
    /// Nearest neighbour (default).
    #[default]
    Nearest,
    /// Bilinear (a triangle filter widened by the downsampling factor, like GDAL).
    Bilinear,
    /// Average of the source pixels a destination pixel covers, weighted by overlap.
    Average,
}

impl Resampling {
    /// GDAL's filter radius (`anGWKFilterRadius`).
    fn radius(self) -> f64 {
        match self {
            Resampling::Nearest | Resampling::Average => 0.0,
            Resampling::Bilinear => 1.0,
        }
    }
}

impl std::str::FromStr for Resampling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nearest" | "near" | "0" => Ok(Self::Nearest),
            "bilinear" | "1" => Ok(Self::Bilinear),
            "average" | "5" => Ok(Self::Average),
            other => Err(format!(
                "resampling '{other}' is not one of nearest, bilinear, average"
            )),
        }
    }
}

/// GDAL's approximate transformer error threshold (source pixels), as rasterio sets it.
pub const APPROX_ERROR: f64 = 0.125;

/// Destination pixel → source pixel coordinates, GDAL's `GenImgProjTransformer` in the
/// destination-to-source direction.
///
/// ```
/// use geochip::warp::PixelTransformer;
/// use geochip::{Crs, GeoTransform, Grid};
/// let src = Grid::new(GeoTransform::new(10.0, 0.0, 100.0, 0.0, -10.0, 200.0), 8, 8, Some(Crs::Epsg(3857))).unwrap();
/// let dst = Grid::new(GeoTransform::new(5.0, 0.0, 100.0, 0.0, -5.0, 200.0), 16, 16, Some(Crs::Epsg(3857))).unwrap();
/// let t = PixelTransformer::new(&src, &dst).unwrap();
/// assert_eq!(t.dst_to_src(1.0, 1.0), Some((0.5, 0.5)));
/// ```
#[derive(Debug, Clone)]
pub struct PixelTransformer {
    dst: GeoTransform,
    src_inv: GeoTransform,
    /// (destination projection, source projection) when the CRSs differ.
    proj: Option<(Projection, Projection)>,
}

fn same_crs(a: &Crs, b: &Crs) -> bool {
    a == b || matches!((epsg_of(a), epsg_of(b)), (Some(x), Some(y)) if x == y)
}

impl PixelTransformer {
    /// The transformer from `dst` pixels to `src` pixels. Grids without a CRS are taken to
    /// share one only when both lack it.
    pub fn new(src: &Grid, dst: &Grid) -> Result<Self, WarpError> {
        let proj = match (&src.crs, &dst.crs) {
            (Some(s), Some(d)) if !same_crs(s, d) => {
                Some((Projection::from_crs(d)?, Projection::from_crs(s)?))
            }
            (Some(_), Some(_)) | (None, None) => None,
            (None, Some(_)) => return Err(WarpError::NoCrs { which: "source" }),
            (Some(_), None) => {
                return Err(WarpError::NoCrs {
                    which: "destination",
                });
            }
        };
        Ok(Self {
            dst: dst.transform,
            src_inv: src.transform.inverse()?,
            proj,
        })
    }

    /// True when the mapping is affine (same CRS).
    pub fn is_linear(&self) -> bool {
        self.proj.is_none()
    }

    /// One destination pixel position (pixel-edge coordinates) → source pixel position.
    pub fn dst_to_src(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let (gx, gy) = self.dst.apply_gdal(x, y);
        let (sx, sy) = match &self.proj {
            None => (gx, gy),
            Some((d, s)) => reproject(d, s, gx, gy)?,
        };
        let (px, py) = self.src_inv.apply_gdal(sx, sy);
        (px.is_finite() && py.is_finite()).then_some((px, py))
    }

    /// Transforms one scanline (all points at row position `y`) like GDAL's approximate
    /// transformer (`GDALApproxTransformInternal`): exact at both ends and the middle, linear
    /// in between when the middle point's error is within `max_error`, else split in two.
    /// GDAL approximates a same-CRS (affine) mapping too, and the interpolated positions'
    /// last bits decide integer rounding at exact halves, so it is approximated here as well.
    pub fn row(&self, xs: &[f64], y: f64, max_error: f64, out: &mut [Option<(f64, f64)>]) {
        if max_error <= 0.0 {
            for (o, &x) in out.iter_mut().zip(xs) {
                *o = self.dst_to_src(x, y);
            }
            return;
        }
        self.approx(xs, y, max_error, out);
    }

    fn approx(&self, xs: &[f64], y: f64, max_error: f64, out: &mut [Option<(f64, f64)>]) {
        let n = xs.len();
        if n <= 5 {
            for (o, &x) in out.iter_mut().zip(xs) {
                *o = self.dst_to_src(x, y);
            }
            return;
        }
        let mid = (n - 1) / 2;
        let (a, m, b) = (
            self.dst_to_src(xs[0], y),
            self.dst_to_src(xs[mid], y),
            self.dst_to_src(xs[n - 1], y),
        );
        let (Some(a), Some(m), Some(b)) = (a, m, b) else {
            for (o, &x) in out.iter_mut().zip(xs) {
                *o = self.dst_to_src(x, y);
            }
            return;
        };
        let span = xs[n - 1] - xs[0];
        let dx = (b.0 - a.0) / span;
        let dy = (b.1 - a.1) / span;
        let err =
            (a.0 + dx * (xs[mid] - xs[0]) - m.0).abs() + (a.1 + dy * (xs[mid] - xs[0]) - m.1).abs();
        if err > max_error {
            let (o1, o2) = out.split_at_mut(mid);
            self.approx(&xs[..mid], y, max_error, o1);
            self.approx(&xs[mid..], y, max_error, o2);
            return;
        }
        for (o, &x) in out.iter_mut().zip(xs) {
            let t = x - xs[0];
            *o = Some((a.0 + dx * t, a.1 + dy * t));
        }
    }
}

/// The source window GDAL reads for one destination chunk, and its kernel scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceWindow {
    /// Source pixels to read (full-resolution coordinates of the source grid).
    pub window: Window,
    /// GDAL's `dfXScale`, `dfYScale` (destination pixels per source pixel, ≤ 1 when
    /// downsampling) for this chunk.
    pub scale: (f64, f64),
}

/// GDAL's `ComputeSourceWindow` for a destination chunk `dst` over `src` (21 samples per
/// edge), plus the kernel scale `PerformWarp` derives from it. `Ok(None)` when the chunk
/// does not touch the source.
pub fn source_window(
    src: &Grid,
    dst: &Grid,
    resampling: Resampling,
) -> Result<Option<SourceWindow>, WarpError> {
    let t = PixelTransformer::new(src, dst)?;
    let (w, h) = (dst.width as f64, dst.height as f64);
    const STEPS: usize = 21;
    let (mut x0, mut y0, mut x1, mut y1) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    let mut add = |p: Option<(f64, f64)>| {
        if let Some((x, y)) = p {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
    };
    for i in 0..=STEPS {
        let f = i as f64 / STEPS as f64;
        add(t.dst_to_src(f * w, 0.0));
        add(t.dst_to_src(f * w, h));
        add(t.dst_to_src(0.0, f * h));
        add(t.dst_to_src(w, f * h));
    }
    if !(x0.is_finite() && y0.is_finite() && x1.is_finite() && y1.is_finite()) {
        return Ok(None);
    }
    let (nx, ny) = (src.width as f64, src.height as f64);
    if x1 < 0.0 || y1 < 0.0 || x0 > nx || y0 > ny {
        return Ok(None);
    }
    let radius = resampling.radius();
    let axis = |lo: f64, hi: f64, n_src: f64, n_dst: f64| -> (usize, usize, f64) {
        let s = n_dst / (hi - lo);
        let r = if s < 0.95 {
            (radius / s).ceil()
        } else {
            radius
        };
        let min_c = lo.max(0.0).trunc();
        let max_c = hi.ceil().min(n_src);
        let off = (min_c - r).clamp(0.0, n_src);
        let size = (n_src - off).min(max_c - off + r).max(0.0);
        let raw = (n_src - min_c).min(hi - lo).max(0.0);
        // PerformWarp: dfXScale = nDst / (nSrc - extra) = nDst / raw, = 1 when the window
        // matches the chunk, snapped to 1/n when within 0.05 of it.
        let mut scale = if raw > 0.0 { n_dst / raw } else { 1.0 };
        if size >= n_dst && size <= n_dst + (size - raw) {
            scale = 1.0;
        }
        if scale < 1.0 {
            let recip = 1.0 / scale;
            let n = (recip + 0.5).trunc();
            if (recip - n).abs() < 0.05 {
                scale = 1.0 / n;
            }
        }
        (off as usize, size as usize, scale)
    };
    let (xoff, xsize, sx) = axis(x0, x1, nx, w);
    let (yoff, ysize, sy) = axis(y0, y1, ny, h);
    if xsize == 0 || ysize == 0 {
        return Ok(None);
    }
    Ok(Some(SourceWindow {
        window: Window::new(xoff, yoff, xsize, ysize),
        scale: (sx, sy),
    }))
}

/// Source pixels of a window, as `f64`, with the source's nodata.
#[derive(Debug, Clone, Copy)]
pub struct SourceImage<'a> {
    /// The full source grid (level) the window is in.
    pub grid: &'a Grid,
    /// The window the values cover.
    pub window: Window,
    /// Row-major values of the window.
    pub values: &'a [f64],
    /// Pixels equal to this (or NaN for NaN) are invalid.
    pub nodata: Option<f64>,
}

impl SourceImage<'_> {
    #[inline]
    fn valid_value(&self, v: f64) -> bool {
        match self.nodata {
            None => !v.is_nan(),
            Some(nd) if nd.is_nan() => !v.is_nan(),
            Some(nd) => v != nd,
        }
    }
}

/// A source window as one kernel sees it: with GDAL's validity mask, or without one (every
/// pixel valid, NaN included: `papanBandSrcValid == nullptr`).
#[derive(Clone, Copy)]
struct View<'a> {
    img: &'a SourceImage<'a>,
    all_valid: bool,
}

impl View<'_> {
    #[inline]
    fn at(&self, col: usize, row: usize) -> (f64, bool) {
        let v = self.img.values[row * self.img.window.width + col];
        (v, self.all_valid || self.img.valid_value(v))
    }
}

/// Warps `src` onto the destination chunk `dst` (one GDAL warp chunk) through GDAL's masked
/// kernels (`GWKRealCase`, `GWKNearest*`, `GWKAverageOrMode`) with `src.nodata` as the
/// validity mask (NaN invalid when there is none). Writes resampled values (in `f64`, not yet
/// rounded) into `out` and sets `written` where a value was produced; other pixels are left
/// untouched (GDAL's `INIT_DEST` is the caller's). [`warp_stored`] picks the kernel GDAL
/// picks and stores the values the way it does.
pub fn warp(
    src: &SourceImage<'_>,
    dst: &Grid,
    sw: &SourceWindow,
    resampling: Resampling,
    out: &mut [f64],
    written: &mut [bool],
) -> Result<(), WarpError> {
    let view = View {
        img: src,
        all_valid: false,
    };
    warp_kernel(view, dst, sw, resampling, false, out, written)
}

/// The warp settings that choose GDAL's kernel and how it stores a value: `GDALWarpOptions`
/// as rasterio 1.4's `reproject` fills them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelOptions {
    /// Resampling method (`eResampleAlg`).
    pub resampling: Resampling,
    /// Working data type (`eWorkingDataType`, see [`work_dtype`]).
    pub work: DType,
    /// The destination nodata the warper is given (`padfDstNoDataReal`; rasterio also sets
    /// `INIT_DEST=NO_DATA` then). `None`: no destination nodata (`INIT_DEST=0`).
    pub dst_nodata: Option<f64>,
}

/// True when GDAL 3.10's `GDALWarpKernel::PerformWarp` has a `*NoMasksOrDstDensityOnly*`
/// kernel for this type and method (used when there is no source or destination mask).
fn has_no_masks_kernel(work: DType, resampling: Resampling) -> bool {
    match resampling {
        Resampling::Nearest | Resampling::Bilinear => {
            matches!(work, DType::U8 | DType::I16 | DType::U16 | DType::F32)
        }
        Resampling::Average => false,
    }
}

/// GDAL's guard against writing the destination nodata (`GWKSetPixelValueReal`'s `CLAMP`,
/// integer working types only): a stored value equal to `nodata` is moved one step towards
/// the type's minimum (to `min + 1` when it is the minimum).
///
/// ```
/// use geochip::{DType, warp::avoid_dst_nodata};
/// assert_eq!(avoid_dst_nodata(7.0, 7.0, DType::U16), 6.0);
/// assert_eq!(avoid_dst_nodata(0.0, 0.0, DType::U16), 1.0);
/// assert_eq!(avoid_dst_nodata(5.0, 7.0, DType::U16), 5.0);
/// assert_eq!(avoid_dst_nodata(7.0, 7.0, DType::F32), 7.0);
/// ```
pub fn avoid_dst_nodata(stored: f64, nodata: f64, work: DType) -> f64 {
    if matches!(work, DType::F32 | DType::F64) || stored != nodata {
        return stored;
    }
    let min = store_as(f64::NEG_INFINITY, work);
    if stored == min {
        min + 1.0
    } else {
        stored - 1.0
    }
}

/// Warps `src` onto the chunk `dst` as GDAL 3.10 does inside rasterio's `reproject` and
/// writes the values stored in the working type (`opts.work`) into `out`, setting `written`
/// where the kernel wrote.
///
/// The kernel is GDAL's choice (`PerformWarp`, `GDALWarpOperation::WarpRegionToBuffer`):
/// without a source mask (`src.nodata` is `None`, or no pixel of the window equals it) and
/// without a destination nodata, the `*NoMasksOrDstDensityOnly*` kernels run for the types
/// that have one — every source pixel is valid, NaN included, every destination pixel whose
/// centre maps into the window is written, and bilinear uses
/// `GWKBilinearResampleNoMasks4SampleT`'s arithmetic. Otherwise the masked kernels run (as
/// [`warp`]), and with a destination nodata each stored integer value equal to it is moved
/// off it ([`avoid_dst_nodata`]). A nodata source mask gives every valid pixel density 1, so
/// GDAL never blends a partial density with the destination here (`GWKSetPixelValueReal`'s
/// mixing needs an alpha band or cutline).
///
/// ```
/// use geochip::warp::{warp_stored, source_window, KernelOptions, Resampling, SourceImage};
/// use geochip::{Crs, DType, GeoTransform, Grid};
/// let src = Grid::new(GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 20.0), 2, 2,
///     Some(Crs::Epsg(32755))).unwrap();
/// let dst = Grid::new(GeoTransform::new(10.0, 0.0, 5.0, 0.0, -10.0, 20.0), 1, 1,
///     Some(Crs::Epsg(32755))).unwrap();
/// let sw = source_window(&src, &dst, Resampling::Bilinear).unwrap().unwrap();
/// // No source nodata: the 0 pixels are data and blend in.
/// let values = [0.0, 100.0, 0.0, 100.0];
/// let image = SourceImage { grid: &src, window: sw.window, values: &values, nodata: None };
/// let opts = KernelOptions { resampling: Resampling::Bilinear, work: DType::U16, dst_nodata: None };
/// let (mut out, mut written) = (vec![0.0], vec![false]);
/// warp_stored(&image, &dst, &sw, &opts, &mut out, &mut written).unwrap();
/// assert_eq!((out[0], written[0]), (50.0, true));
/// ```
pub fn warp_stored(
    src: &SourceImage<'_>,
    dst: &Grid,
    sw: &SourceWindow,
    opts: &KernelOptions,
    out: &mut [f64],
    written: &mut [bool],
) -> Result<(), WarpError> {
    // WarpRegionToBuffer: a translation by whole pixels is warped with nearest, whatever
    // the method asked for.
    let resampling = if translation_on_pixel_boundaries(src.grid, dst) {
        Resampling::Nearest
    } else {
        opts.resampling
    };
    // GDALWarpNoDataMasker's bAllValid: no mask when every pixel of the window is valid.
    let src_mask = src.nodata.is_some() && src.values.iter().any(|&v| !src.valid_value(v));
    let no_masks =
        !src_mask && opts.dst_nodata.is_none() && has_no_masks_kernel(opts.work, resampling);
    // GWKNearestThread (Byte, Int16/UInt16, Float32) writes a density-1 value directly; the
    // other masked kernels store through GWKSetPixelValue(Real)'s nodata guard.
    let nearest_thread =
        resampling == Resampling::Nearest && has_no_masks_kernel(opts.work, resampling);
    let guarded = !no_masks && !nearest_thread;
    let view = View {
        img: src,
        all_valid: !src_mask,
    };
    warp_kernel(view, dst, sw, resampling, no_masks, out, written)?;
    for (v, w) in out.iter_mut().zip(written.iter()) {
        if *w {
            let stored = store_as(*v, opts.work);
            *v = match opts.dst_nodata {
                Some(nd) if guarded => avoid_dst_nodata(stored, nd, opts.work),
                _ => stored,
            };
        }
    }
    Ok(())
}

/// GDAL's `GDALTransformIsTranslationOnPixelBoundaries` for a warp between `src` and `dst`:
/// the same CRS, identical pixel size and rotation terms, and `dst`'s origin within 1e-6 of a
/// whole source pixel.
///
/// ```
/// use geochip::{Crs, GeoTransform, Grid, warp::translation_on_pixel_boundaries};
/// let g = |x: f64| Grid::new(GeoTransform::new(20.0, 0.0, x, 0.0, -20.0, 6090000.0), 8, 8,
///     Some(Crs::Epsg(32755))).unwrap();
/// assert!(translation_on_pixel_boundaries(&g(699680.0), &g(699720.0)));
/// assert!(!translation_on_pixel_boundaries(&g(699680.0), &g(699690.0)));
/// ```
pub fn translation_on_pixel_boundaries(src: &Grid, dst: &Grid) -> bool {
    match (&src.crs, &dst.crs) {
        (Some(a), Some(b)) if same_crs(a, b) => {}
        (None, None) => {}
        _ => return false,
    }
    let (s, d) = (&src.transform, &dst.transform);
    if s.a != d.a || s.e != d.e || s.b != d.b || s.d != d.d {
        return false;
    }
    let Ok(inv) = s.inverse() else {
        return false;
    };
    let (x, y) = inv.apply_gdal(d.c, d.f);
    let near_int = |v: f64| (v - v.round()).abs() <= 1e-6;
    near_int(x) && near_int(y)
}

/// The kernels: `no_masks` selects GDAL's `GWKResampleNoMasksOrDstDensityOnlyThreadInternal`
/// (no validity test, `GWKBilinearResampleNoMasks4SampleT`), else `GWKRealCaseThread`.
fn warp_kernel(
    src: View<'_>,
    dst: &Grid,
    sw: &SourceWindow,
    resampling: Resampling,
    no_masks: bool,
    out: &mut [f64],
    written: &mut [bool],
) -> Result<(), WarpError> {
    let img = src.img;
    let n = dst.width * dst.height;
    let expected = img.window.width * img.window.height;
    if img.values.len() != expected {
        return Err(WarpError::BufferSize {
            what: "source values",
            got: img.values.len(),
            expected,
        });
    }
    for (what, got) in [("output", out.len()), ("written mask", written.len())] {
        if got != n {
            return Err(WarpError::BufferSize {
                what,
                got,
                expected: n,
            });
        }
    }
    let t = PixelTransformer::new(img.grid, dst)?;
    if resampling == Resampling::Average {
        average(src, dst, &t, sw.scale, out, written);
        return Ok(());
    }
    let (xoff, yoff) = (img.window.col_off as f64, img.window.row_off as f64);
    let (nsx, nsy) = (img.window.width, img.window.height);
    let xs: Vec<f64> = (0..dst.width).map(|i| i as f64 + 0.5).collect();
    let mut pts = vec![None; dst.width];
    let four = sw.scale.0 >= 0.95 && sw.scale.1 >= 0.95;
    let kernel = Kernel::new(sw.scale);
    for row in 0..dst.height {
        t.row(&xs, row as f64 + 0.5, APPROX_ERROR, &mut pts);
        for (col, p) in pts.iter().enumerate() {
            let Some((mut px, mut py)) = *p else { continue };
            // GWKCheckAndComputeSrcOffsets: a position less than a pixel outside the window
            // is transformed again on its own, exactly (not by the approximate transformer),
            // and tested again; that exact position is the one resampled.
            let mut inside = false;
            for attempt in 0..2 {
                if attempt == 1 {
                    match t.dst_to_src(col as f64 + 0.5, row as f64 + 0.5) {
                        Some(q) => (px, py) = q,
                        None => break,
                    }
                }
                let retry = attempt == 0;
                let (xend, yend) = (nsx as f64 + xoff, nsy as f64 + yoff);
                if px < xoff {
                    if retry && px > xoff - 1.0 {
                        continue;
                    }
                    break;
                }
                if py < yoff {
                    if retry && py > yoff - 1.0 {
                        continue;
                    }
                    break;
                }
                if px + 1e-10 > xend {
                    if retry && px < xend + 1.0 {
                        continue;
                    }
                    break;
                }
                if py + 1e-10 > yend {
                    if retry && py < yend + 1.0 {
                        continue;
                    }
                    break;
                }
                inside = true;
                break;
            }
            if !inside {
                continue;
            }
            let mut ix = (px + 1e-10) as usize - img.window.col_off;
            let mut iy = (py + 1e-10) as usize - img.window.row_off;
            if ix == nsx {
                ix -= 1;
            }
            if iy == nsy {
                iy -= 1;
            }
            let (v, ok) = src.at(ix, iy);
            let value = if no_masks {
                match resampling {
                    Resampling::Nearest => Some(v),
                    _ if four => Some(bilinear4_no_masks(img, px - xoff, py - yoff)),
                    _ => Some(resample_no_masks(
                        img,
                        px - xoff,
                        py - yoff,
                        sw.scale,
                        (kernel.x.1, kernel.y.1),
                    )),
                }
            } else {
                if !ok {
                    continue;
                }
                match resampling {
                    Resampling::Nearest => Some(v),
                    _ if nsx == 1 || nsy == 1 => Some(v),
                    _ if four => bilinear4(src, px - xoff, py - yoff),
                    _ => kernel.resample(src, px - xoff, py - yoff),
                }
            };
            if let Some(v) = value {
                let o = row * dst.width + col;
                out[o] = v;
                written[o] = true;
            }
        }
    }
    Ok(())
}

/// `GWKBilinearResampleNoMasks4SampleT`: the four neighbours without validity, in GDAL's
/// order of operations; at the window edge the in-window weights renormalised (0 when none).
fn bilinear4_no_masks(src: &SourceImage<'_>, x: f64, y: f64) -> f64 {
    let (nx, ny) = (src.window.width as i64, src.window.height as i64);
    let ix = (x - 0.5).floor() as i64;
    let iy = (y - 0.5).floor() as i64;
    let rx = 1.5 - (x - ix as f64);
    let ry = 1.5 - (y - iy as f64);
    let p = |c: i64, r: i64| src.values[(r * nx + c) as usize];
    if ix >= 0 && ix + 1 < nx && iy >= 0 && iy + 1 < ny {
        return (p(ix, iy) * rx + p(ix + 1, iy) * (1.0 - rx)) * ry
            + (p(ix, iy + 1) * rx + p(ix + 1, iy + 1) * (1.0 - rx)) * (1.0 - ry);
    }
    let (mut div, mut acc) = (0.0, 0.0);
    let inside = |c: i64, r: i64| c >= 0 && c < nx && r >= 0 && r < ny;
    // Upper left, upper right, lower right, lower left: GDAL's order.
    for (c, r, m) in [
        (ix, iy, rx * ry),
        (ix + 1, iy, (1.0 - rx) * ry),
        (ix + 1, iy + 1, (1.0 - rx) * (1.0 - ry)),
        (ix, iy + 1, rx * (1.0 - ry)),
    ] {
        if inside(c, r) {
            div += m;
            acc += p(c, r) * m;
        }
    }
    if div < 0.00001 {
        0.0
    } else if div == 1.0 {
        acc
    } else {
        acc / div
    }
}

/// GDAL's bilinear weight (`GWKBilinear`).
fn tri(x: f64) -> f64 {
    let a = x.abs();
    if a <= 1.0 { 1.0 - a } else { 0.0 }
}

/// `GWKBilinear4Values`: four weights in place, and their sum in GDAL's order.
fn tri4(w: &mut [f64; 4]) -> f64 {
    for v in w.iter_mut() {
        *v = tri(*v);
    }
    w[0] + w[1] + w[2] + w[3]
}

/// `GWKResampleNoMasks_SSE2_T` (x86-64 GDAL without AVX, which the PyPI wheels run) for the
/// bilinear filter when downsampling without masks: weights for offsets `1 - radius ..=
/// radius` (clipped to the window), built four at a time by repeated addition of the scale;
/// rows summed in blocks of four columns as two-lane SSE2 registers (lanes `0+2` and `1+3`
/// added, then the two), four rows at a time; the sum divided by the product of the
/// horizontal and vertical weight sums. Written out operation for operation because the last
/// bit decides integer rounding at exact halves.
fn resample_no_masks(
    src: &SourceImage<'_>,
    x: f64,
    y: f64,
    scale: (f64, f64),
    radius: (i64, i64),
) -> f64 {
    let (nsx, nsy) = (src.window.width as i64, src.window.height as i64);
    let isx = (x - 0.5).floor() as i64;
    let isy = (y - 0.5).floor() as i64;
    let (nxr, nyr) = radius;
    if isx >= nsx || isy >= nsy || nxr > nsx || nyr > nsy {
        return bilinear4_no_masks(src, x, y);
    }
    let p = |c: i64, r: i64| src.values[(r * nsx + c) as usize];
    let dx = x - 0.5 - isx as f64;
    let dy = y - 0.5 - isy as f64;
    let (xs, ys) = (scale.0.min(1.0), scale.1.min(1.0));
    let mut i_min = 1 - nxr;
    if isx + i_min < 0 {
        i_min = -isx;
    }
    let mut i_max = nxr;
    if isx + i_max >= nsx - 1 {
        i_max = nsx - 1 - isx;
    }
    let mut wh = 0.0;
    let mut wts: Vec<f64> = Vec::with_capacity((i_max - i_min + 4).max(0) as usize);
    let mut i = i_min;
    while i + 2 < i_max {
        let w0 = (i as f64 - dx) * xs;
        let w1 = w0 + xs;
        let w2 = w1 + xs;
        let mut w = [w0, w1, w2, w2 + xs];
        wh += tri4(&mut w);
        wts.extend_from_slice(&w);
        i += 4;
    }
    while i <= i_max {
        let w = tri((i as f64 - dx) * xs);
        wts.push(w);
        wh += w;
        i += 1;
    }
    // (low + high).GetHorizSum() of an XMMReg4Double [l0, l1, h0, h1].
    let hsum = |a: [f64; 4]| (a[0] + a[2]) + (a[1] + a[3]);
    let row_sum = |r: i64| {
        let mut a = [0.0; 4];
        let (mut i, mut c) = (i_min, 0usize);
        while i + 2 < i_max {
            for (lane, acc) in a.iter_mut().enumerate() {
                *acc += p(isx + i + lane as i64, r) * wts[c + lane];
            }
            i += 4;
            c += 4;
        }
        (a, i, c)
    };
    let mut j = 1 - nyr;
    if isy + j < 0 {
        j = -isy;
    }
    let mut j_max = nyr;
    if isy + j_max >= nsy - 1 {
        j_max = nsy - 1 - isy;
    }
    let (mut acc, mut wv) = (0.0, 0.0);
    while j + 2 < j_max {
        let mut locals = [0.0; 4];
        for (k, local) in locals.iter_mut().enumerate() {
            let r = isy + j + k as i64;
            let (mut a, i, c) = row_sum(r);
            if i < i_max {
                // AddToLow: the two remaining columns go to the low lanes.
                a[0] += p(isx + i, r) * wts[c];
                a[1] += p(isx + i + 1, r) * wts[c + 1];
                *local = hsum(a);
                if i + 2 == i_max {
                    *local += p(isx + i + 2, r) * wts[c + 2];
                }
            } else {
                *local = hsum(a);
                if i == i_max {
                    *local += p(isx + i, r) * wts[c];
                }
            }
        }
        let w0 = (j as f64 - dy) * ys;
        let w1 = w0 + ys;
        let w2 = w1 + ys;
        let mut w = [w0, w1, w2, w2 + ys];
        wv += tri4(&mut w);
        for (wk, local) in w.iter().zip(locals) {
            acc += wk * local;
        }
        j += 4;
    }
    while j <= j_max {
        let r = isy + j;
        let (a, mut i, mut c) = row_sum(r);
        let mut local = hsum(a);
        if i < i_max {
            local += p(isx + i, r) * wts[c];
            local += p(isx + i + 1, r) * wts[c + 1];
            i += 2;
            c += 2;
        }
        if i == i_max {
            local += p(isx + i, r) * wts[c];
        }
        let w = tri((j as f64 - dy) * ys);
        acc += w * local;
        wv += w;
        j += 1;
    }
    acc / (wh * wv)
}

/// `GWKBilinearResample4Sample` with a validity mask: every valid pixel has density 1, so the
/// returned density (`dfAccumulatorDensity / dfAccumulatorDivisor`) is exactly 1 and GDAL
/// never blends the value with the destination.
fn bilinear4(src: View<'_>, x: f64, y: f64) -> Option<f64> {
    let (nx, ny) = (src.img.window.width as i64, src.img.window.height as i64);
    let mut ix = (x - 0.5).floor() as i64;
    let mut iy = (y - 0.5).floor() as i64;
    let mut rx = 1.5 - (x - ix as f64);
    let mut ry = 1.5 - (y - iy as f64);
    if ix == -1 {
        ix = 0;
        rx = 1.0;
    }
    if iy == -1 {
        iy = 0;
        ry = 1.0;
    }
    let mut acc = 0.0;
    let mut div = 0.0;
    let mut take = |c: i64, r: i64, w: f64| {
        if c >= 0 && c < nx && r >= 0 && r < ny {
            let (v, ok) = src.at(c as usize, r as usize);
            if ok {
                div += w;
                acc += v * w;
            }
        }
    };
    take(ix, iy, rx * ry);
    take(ix + 1, iy, (1.0 - rx) * ry);
    take(ix, iy + 1, rx * (1.0 - ry));
    take(ix + 1, iy + 1, (1.0 - rx) * (1.0 - ry));
    if div == 1.0 {
        Some(acc)
    } else if div < 0.00001 {
        None
    } else {
        Some(acc / div)
    }
}

/// `GWKResample` with the bilinear (triangle) filter, widened by `1/scale` when downsampling.
struct Kernel {
    scale: (f64, f64),
    /// (first offset, last offset) per axis.
    x: (i64, i64),
    y: (i64, i64),
}

impl Kernel {
    fn new(scale: (f64, f64)) -> Self {
        let radius = |s: f64| -> i64 { if s < 1.0 { (1.0 / s).ceil() as i64 } else { 1 } };
        let (rx, ry) = (radius(scale.0), radius(scale.1));
        // nFiltInit = ((radius + 1) % 2) - nRadius with GDAL's bilinear radius 1.
        Self {
            scale,
            x: (-rx, rx),
            y: (-ry, ry),
        }
    }

    fn weight(d: f64, s: f64) -> f64 {
        let d = if s < 1.0 { d * s } else { d };
        let a = d.abs();
        if a <= 1.0 { 1.0 - a } else { 0.0 }
    }

    fn resample(&self, src: View<'_>, x: f64, y: f64) -> Option<f64> {
        let (nx, ny) = (src.img.window.width as i64, src.img.window.height as i64);
        let ix = (x - 0.5).floor() as i64;
        let iy = (y - 0.5).floor() as i64;
        let dx = x - 0.5 - ix as f64;
        let dy = y - 0.5 - iy as f64;
        let (mut j, mut j_max) = self.y;
        if iy + j < 0 {
            j = -iy;
        }
        if iy + j_max >= ny {
            j_max = ny - iy - 1;
        }
        let (mut i_min, mut i_max) = self.x;
        if ix + i_min < 0 {
            i_min = -ix;
        }
        if ix + i_max >= nx {
            i_max = nx - ix - 1;
        }
        let (mut acc, mut acc_w, mut acc_d) = (0.0, 0.0, 0.0);
        while j <= j_max {
            let w1 = Self::weight(j as f64 - dy, self.scale.1);
            let (mut a, mut aw, mut ad) = (0.0, 0.0, 0.0);
            for i in i_min..=i_max {
                let (v, ok) = src.at((ix + i) as usize, (iy + j) as usize);
                if !ok {
                    continue;
                }
                let w2 = Self::weight(i as f64 - dx, self.scale.0);
                a += v * w2;
                ad += w2;
                aw += w2;
            }
            acc += a * w1;
            acc_d += ad * w1;
            acc_w += aw * w1;
            j += 1;
        }
        if acc_w < 0.000001 || acc_d < 0.000001 {
            return None;
        }
        if !(0.99999..=1.00001).contains(&acc_w) {
            Some(acc / acc_w)
        } else {
            Some(acc)
        }
    }
}

/// GDAL 3.10's weighted average (`GWKAverageOrModeThread`, `GRA_Average`): the destination
/// pixel's top-left and bottom-right corners mapped to the source (swapped into order), the
/// pixel skipped when that box misses the window (or lies more than the margin outside), and
/// every valid source pixel in it weighted by `COMPUTE_WEIGHT` (edge weights `1 - fraction`,
/// unclamped, so a box reaching past the window weighs its edge pixel more) into GDAL's
/// weighted incremental mean. Not ported: the antimeridian wrap (`bWrapOverX`).
fn average(
    src: View<'_>,
    dst: &Grid,
    t: &PixelTransformer,
    scale: (f64, f64),
    out: &mut [f64],
    written: &mut [bool],
) {
    const EPS: f64 = 1e-10;
    let (xoff, yoff) = (src.img.window.col_off as f64, src.img.window.row_off as f64);
    let (nsx, nsy) = (src.img.window.width as f64, src.img.window.height as f64);
    let margin = |s: f64| 2.0 * (1.0 / s).ceil().max(1.0);
    let (xm, ym) = (margin(scale.0), margin(scale.1));
    let left: Vec<f64> = (0..dst.width).map(|i| i as f64).collect();
    let right: Vec<f64> = (0..dst.width).map(|i| i as f64 + 1.0).collect();
    let mut p1 = vec![None; dst.width];
    let mut p2 = vec![None; dst.width];
    for row in 0..dst.height {
        t.row(&left, row as f64, APPROX_ERROR, &mut p1);
        t.row(&right, row as f64 + 1.0, APPROX_ERROR, &mut p2);
        for col in 0..dst.width {
            let (Some(a), Some(b)) = (p1[col], p2[col]) else {
                continue;
            };
            let (ax, ay, bx, by) = (a.0 - xoff, a.1 - yoff, b.0 - xoff, b.1 - yoff);
            // gdal#2365: positions in a reasonable range.
            if !(ax >= -xm
                && bx >= -xm
                && ay >= -ym
                && by >= -ym
                && ax - nsx <= xm
                && bx - nsx <= xm
                && ay - nsy <= ym
                && by - nsy <= ym)
            {
                continue;
            }
            let (x_min, x_max) = if ax > bx { (bx, ax) } else { (ax, bx) };
            if !(x_max > -EPS && x_min < nsx + EPS) {
                continue;
            }
            let ix0 = (x_min + EPS).floor().max(0.0);
            let mut ix1 = (x_max - EPS).ceil().min(nsx);
            if ix0 == ix1 && ix1 < nsx {
                ix1 += 1.0;
            }
            let (y_min, y_max) = if ay > by { (by, ay) } else { (ay, by) };
            if !(y_max > -EPS && y_min < nsy + EPS) {
                continue;
            }
            let iy0 = (y_min + EPS).floor().max(0.0);
            let mut iy1 = (y_max - EPS).ceil().min(nsy);
            if iy0 == iy1 && iy1 < nsy {
                iy1 += 1.0;
            }
            let weight_y = |r: f64| {
                if r == iy0 {
                    if iy0 + 1.0 == iy1 {
                        1.0
                    } else {
                        1.0 - (y_min - iy0)
                    }
                } else if r + 1.0 == iy1 {
                    1.0 - (iy1 - y_max)
                } else {
                    1.0
                }
            };
            let weight = |c: f64, wy: f64| {
                if c == ix0 {
                    if ix0 + 1.0 == ix1 {
                        wy
                    } else {
                        wy * (1.0 - (x_min - ix0))
                    }
                } else if c + 1.0 == ix1 {
                    wy * (1.0 - (ix1 - x_max))
                } else {
                    wy
                }
            };
            let (mut mean, mut total) = (0.0, 0.0);
            let mut r = iy0;
            while r < iy1 {
                let wy = weight_y(r);
                let mut c = ix0;
                while c < ix1 {
                    let (v, ok) = src.at(c as usize, r as usize);
                    let w = weight(c, wy);
                    if ok && w > 0.0 {
                        // Weighted incremental mean, as GDAL computes it.
                        total += w;
                        mean += (w / total) * (v - mean);
                    }
                    c += 1.0;
                }
                r += 1.0;
            }
            if total > 0.0 {
                let o = row * dst.width + col;
                out[o] = mean;
                written[o] = true;
            }
        }
    }
}

/// GDAL's working data type for a warp between `a` and `b` (`GDALDataTypeUnion`).
///
/// ```
/// use geochip::{DType, warp::work_dtype};
/// assert_eq!(work_dtype(DType::U16, DType::F32), DType::F32);
/// assert_eq!(work_dtype(DType::I32, DType::F32), DType::F64);
/// assert_eq!(work_dtype(DType::U8, DType::I16), DType::I16);
/// ```
pub fn work_dtype(a: DType, b: DType) -> DType {
    let bits = |d: DType| -> u32 {
        match d {
            DType::U8 | DType::I8 => 8,
            DType::U16 | DType::I16 => 16,
            DType::U32 | DType::I32 | DType::F32 => 32,
            DType::U64 | DType::I64 | DType::F64 => 64,
        }
    };
    let float = |d: DType| matches!(d, DType::F32 | DType::F64);
    let signed = |d: DType| matches!(d, DType::I8 | DType::I16 | DType::I32 | DType::I64);
    if float(a) || float(b) {
        let int_bits = [a, b]
            .iter()
            .filter(|d| !float(**d))
            .map(|d| bits(*d))
            .max()
            .unwrap_or(0);
        if a == DType::F64 || b == DType::F64 || int_bits >= 32 {
            return DType::F64;
        }
        return DType::F32;
    }
    let sign = signed(a) || signed(b);
    // An unsigned type needs one more bit when mixed with a signed one.
    let need = |d: DType| -> u32 {
        if sign && !signed(d) {
            bits(d) * 2
        } else {
            bits(d)
        }
    };
    let n = need(a).max(need(b)).min(64);
    match (sign, n) {
        (false, 8) => DType::U8,
        (false, 16) => DType::U16,
        (false, 32) => DType::U32,
        (false, _) => DType::U64,
        (true, 8) => DType::I8,
        (true, 16) => DType::I16,
        (true, 32) => DType::I32,
        (true, _) => DType::I64,
    }
}

/// A resampled value as GDAL stores it in a band of type `dtype`: integers clamped to the
/// type's range and rounded half up (`GWKSetPixelValue`), `float32` rounded to single
/// precision, `float64` unchanged.
///
/// ```
/// use geochip::{DType, warp::store_as};
/// assert_eq!(store_as(2.5, DType::U16), 3.0);
/// assert_eq!(store_as(-3.0, DType::U8), 0.0);
/// assert_eq!(store_as(70000.0, DType::U16), 65535.0);
/// ```
pub fn store_as(v: f64, dtype: DType) -> f64 {
    let (lo, hi) = match dtype {
        DType::U8 => (0.0, 255.0),
        DType::U16 => (0.0, 65535.0),
        DType::U32 => (0.0, 4294967295.0),
        DType::U64 => (0.0, 18446744073709551615.0),
        DType::I8 => (-128.0, 127.0),
        DType::I16 => (-32768.0, 32767.0),
        DType::I32 => (-2147483648.0, 2147483647.0),
        DType::I64 => (-9223372036854775808.0, 9223372036854775807.0),
        DType::F32 => return f64::from(v as f32),
        DType::F64 => return v,
    };
    if v.is_nan() {
        return 0.0;
    }
    if v < lo {
        lo
    } else if v > hi {
        hi
    } else {
        (v + 0.5).floor()
    }
}

/// The integer pixel offset `(col, row)` of `dst`'s origin in `src` when `dst` is an
/// integer-pixel translation of `src` (same CRS, same pixel size within `stol`, translation
/// within `ttol` of whole pixels): odc-stac's "paste" test (`_can_paste` at read shrink 1).
///
/// ```
/// use geochip::{Crs, GeoTransform, Grid, warp::integer_shift};
/// let src = Grid::new(GeoTransform::new(10.0, 0.0, 767920.0, 0.0, -10.0, 6090010.0), 64, 64, Some(Crs::Epsg(32755))).unwrap();
/// let dst = Grid::new(GeoTransform::new(10.0, 0.0, 767850.0, 0.0, -10.0, 6090010.0), 83, 76, Some(Crs::Epsg(32755))).unwrap();
/// assert_eq!(integer_shift(&src, &dst, 0.05, 1e-3), Some((-7, 0)));
/// ```
pub fn integer_shift(src: &Grid, dst: &Grid, ttol: f64, stol: f64) -> Option<(i64, i64)> {
    match (&src.crs, &dst.crs) {
        (Some(a), Some(b)) if same_crs(a, b) => {}
        (None, None) => {}
        _ => return None,
    }
    let (s, d) = (&src.transform, &dst.transform);
    if !s.is_rectilinear() || !d.is_rectilinear() {
        return None;
    }
    let sx = d.a / s.a;
    let sy = d.e / s.e;
    if (sx - 1.0).abs() > stol || (sy - 1.0).abs() > stol {
        return None;
    }
    let tx = (d.c - s.c) / s.a;
    let ty = (d.f - s.f) / s.e;
    let (rx, ry) = (tx.round(), ty.round());
    if (tx - rx).abs() > ttol || (ty - ry).abs() > ttol {
        return None;
    }
    Some((rx as i64, ry as i64))
}

/// odc-stac's `pick_overview`: the coarsest overview whose decimation factor does not exceed
/// `read_shrink` (`factors` ascending, e.g. `[2, 4, 8]`); `None` means full resolution.
///
/// ```
/// use geochip::warp::pick_overview;
/// assert_eq!(pick_overview(1, &[2, 4]), None);
/// assert_eq!(pick_overview(3, &[2, 4, 8]), Some(0));
/// assert_eq!(pick_overview(9, &[2, 4, 8]), Some(2));
/// ```
pub fn pick_overview(read_shrink: usize, factors: &[usize]) -> Option<usize> {
    let first = *factors.first()?;
    if read_shrink < first {
        return None;
    }
    let mut idx = 0;
    for (i, f) in factors.iter().enumerate() {
        if *f > read_shrink {
            break;
        }
        idx = i;
    }
    Some(idx)
}

/// odc-geo `maybe_int` + `_pick_read_scale`: the integer read shrink for a scale factor
/// (source pixels per destination pixel).
///
/// ```
/// assert_eq!(geochip::warp::read_shrink(2.9999999), 3);
/// assert_eq!(geochip::warp::read_shrink(2.8), 2);
/// assert_eq!(geochip::warp::read_shrink(0.3), 1);
/// ```
pub fn read_shrink(scale: f64) -> usize {
    if scale.is_nan() || scale < 1.0 || !scale.is_finite() {
        return 1;
    }
    let r = scale.round();
    let s = if (scale - r).abs() < 1e-3 { r } else { scale };
    s.trunc() as usize
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn grid(a: f64, c: f64, f: f64, w: usize, h: usize, epsg: u32) -> Grid {
        Grid::new(
            GeoTransform::new(a, 0.0, c, 0.0, -a, f),
            w,
            h,
            Some(Crs::Epsg(epsg)),
        )
        .unwrap()
    }

    /// The rasterio run recorded in the module notes: 8x8 uint16, a nodata pixel at (3,3)
    /// and 200 at (3,4), bilinear onto a grid shifted by (0.4, -0.4) px, GDAL 3.10.3 gave
    /// row 3 = [.., 0, 136, ..] and row 4 = [.., 121, 124, ..].
    #[test]
    fn bilinear_validity_matches_gdal() {
        let src = grid(10.0, 0.0, 80.0, 8, 8, 32755);
        let dst = grid(10.0, 4.0, 84.0, 8, 8, 32755);
        let mut v = vec![100.0; 64];
        v[3 * 8 + 3] = 0.0;
        v[3 * 8 + 4] = 200.0;
        let sw = source_window(&src, &dst, Resampling::Bilinear)
            .unwrap()
            .unwrap();
        let win: Vec<f64> = (0..sw.window.height)
            .flat_map(|r| {
                let v = &v;
                (0..sw.window.width)
                    .map(move |c| v[(r + sw.window.row_off) * 8 + c + sw.window.col_off])
            })
            .collect();
        let img = SourceImage {
            grid: &src,
            window: sw.window,
            values: &win,
            nodata: Some(0.0),
        };
        let mut out = vec![0.0; 64];
        let mut wr = vec![false; 64];
        warp(&img, &dst, &sw, Resampling::Bilinear, &mut out, &mut wr).unwrap();
        let got: Vec<f64> = out
            .iter()
            .zip(&wr)
            .map(|(v, w)| if *w { store_as(*v, DType::U16) } else { 0.0 })
            .collect();
        assert_eq!(&got[3 * 8 + 2..3 * 8 + 6], &[100.0, 0.0, 136.0, 100.0]);
        assert_eq!(&got[4 * 8 + 2..4 * 8 + 6], &[100.0, 121.0, 124.0, 100.0]);
    }

    /// GDAL 3.10 (`ComputeSourceWindow` + `PerformWarp`) warps this chunk (10 m → 15 m, the
    /// destination reaching past the source's right edge) with dfXScale = 44/64 and
    /// dfYScale = 43/64: odc-stac's cube is reproduced with exactly these (XSCALE/YSCALE).
    #[test]
    fn source_window_scale_per_axis_like_gdal() {
        let src = grid(10.0, 699680.0, 6090000.0, 64, 64, 32755);
        let dst = grid(15.0, 699675.0, 6090000.0, 44, 43, 32755);
        let sw = source_window(&src, &dst, Resampling::Bilinear)
            .unwrap()
            .unwrap();
        assert_eq!(sw.scale, (44.0 / 64.0, 43.0 / 64.0), "{sw:?}");
    }

    #[test]
    fn source_window_scale_snaps_to_half() {
        let src = grid(10.0, 0.0, 640.0, 64, 64, 32755);
        let dst = grid(20.0, 100.0, 540.0, 16, 16, 32755);
        let sw = source_window(&src, &dst, Resampling::Bilinear)
            .unwrap()
            .unwrap();
        assert_eq!(sw.scale, (0.5, 0.5));
        // Radius ceil(1 / 0.5) = 2 source pixels of padding each side.
        assert_eq!(sw.window, Window::new(8, 8, 36, 36));
    }
}
