//! Output grid derivation: odc-stac 0.5.3 (`output_geobox`, `GeoBox.from_bbox`) and
//! stackstac 0.5.1 (`prepare_items`, `RasterSpec`), arithmetic kept in the same order so
//! transforms come out bit-identical where the anchor is exact.

use serde::Serialize;

use crate::crs::Crs;
use crate::grid::{Grid, GridError};
use crate::proj::{ProjError, Projection, epsg_of, reproject};
use crate::stac::{Item, StacError, Timestamp};
use crate::transform::GeoTransform;

/// Default budget on output elements (`time × band × y × x`): 2⁴⁰.
pub const DEFAULT_MAX_PIXELS: u64 = 1 << 40;

/// Errors from deriving a stack's output grid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StackError {
    /// Bad STAC metadata.
    #[error(transparent)]
    Stac(#[from] StacError),
    /// No items were given.
    #[error("stack: no items")]
    NoItems,
    /// No bands/assets to stack.
    #[error("stack: zero bands selected ({why})")]
    NoBands {
        /// Why.
        why: String,
    },
    /// A requested band that no item has (neither an asset key nor an `eo:bands` alias).
    #[error("stack: band '{band}' is neither an asset of any item nor an eo:bands common name")]
    UnknownBand {
        /// The band.
        band: String,
    },
    /// An asset with neither projection metadata nor an item bbox/geometry.
    #[error(
        "stack: item '{item}' asset '{asset}' has no footprint: no proj:shape + proj:transform + \
         CRS and no item bbox/geometry; pass bounds/bbox (and a resolution) explicitly"
    )]
    NoFootprint {
        /// Item id.
        item: String,
        /// Asset key.
        asset: String,
    },
    /// No CRS or resolution could be derived (odc-stac: no item has a complete geobox).
    #[error(
        "stack: cannot derive the output {what}: no item has proj:shape, proj:transform and a \
         CRS; pass crs and resolution"
    )]
    NoGridInfo {
        /// `crs` or `resolution`.
        what: &'static str,
    },
    /// stackstac mode: assets in different CRSs (or without one) and no output CRS given.
    #[error(
        "stack: cannot pick a common CRS: item '{item}' asset '{asset}' is in {found} but assets \
         before it were in {before}; pass a CRS (stackstac mode needs epsg= for mixed zones)"
    )]
    MixedCrs {
        /// Item id.
        item: String,
        /// Asset key.
        asset: String,
        /// Its CRS.
        found: String,
        /// The CRS of earlier assets.
        before: String,
    },
    /// stackstac mode: an asset without `proj:epsg` and no output CRS given.
    #[error(
        "stack: cannot pick a common CRS: item '{item}' asset '{asset}' has no proj:epsg \
         (stackstac reads only proj:epsg); pass a CRS"
    )]
    NoCrs {
        /// Item id.
        item: String,
        /// Asset key.
        asset: String,
    },
    /// stackstac mode: `raster:bands` with more than one entry.
    #[error(
        "stack: item '{item}' asset '{asset}' has {count} raster:bands; stackstac mode supports \
         single-band assets only"
    )]
    MultiBandAsset {
        /// Item id.
        item: String,
        /// Asset key.
        asset: String,
        /// Number of bands.
        count: usize,
    },
    /// stackstac mode: no resolution derivable for an asset.
    #[error(
        "stack: item '{item}' asset '{asset}' gives no resolution (needs proj:transform + \
         proj:epsg, or proj:shape + a bbox); pass a resolution"
    )]
    NoResolution {
        /// Item id.
        item: String,
        /// Asset key.
        asset: String,
    },
    /// A non-rectilinear source transform where a resolution must be read from it.
    #[error("stack: item '{item}' asset '{asset}' has a rotated transform; pass a resolution")]
    Rotated {
        /// Item id.
        item: String,
        /// Asset key.
        asset: String,
    },
    /// Contradictory or invalid parameters.
    #[error("stack: {what}")]
    BadParams {
        /// What.
        what: String,
    },
    /// A reprojection that failed.
    #[error("stack: item '{item}' asset '{asset}': {source}")]
    Proj {
        /// Item id.
        item: String,
        /// Asset key (empty for query geometry).
        asset: String,
        /// The projection error.
        source: ProjError,
    },
    /// The output would exceed the element budget.
    #[error(
        "stack: output of {time} x {band} x {height} x {width} = {total} elements exceeds the \
         budget of {budget}; narrow bbox/bands or coarsen the resolution (or raise max_pixels)"
    )]
    TooLarge {
        /// Time entries.
        time: usize,
        /// Bands.
        band: usize,
        /// Rows.
        height: usize,
        /// Columns.
        width: usize,
        /// Product.
        total: u128,
        /// The budget.
        budget: u64,
    },
    /// An invalid output grid (e.g. non-finite bounds).
    #[error("stack: {0}")]
    Grid(#[from] GridError),
    /// An asset that could not be opened or read.
    #[error("stack: item '{item}' asset '{asset}' ({href}): {kind:?}: {message}")]
    Read {
        /// Item id.
        item: String,
        /// Asset key.
        asset: String,
        /// The asset's href.
        href: String,
        /// Why (matched by `errors_as_nodata`).
        kind: super::AssetErrorKind,
        /// The reader's message.
        message: String,
    },
    /// A band index past the file's band count.
    #[error("stack: item '{item}' asset '{asset}': band {band} requested but the file has {count}")]
    BandOutOfRange {
        /// Item id.
        item: String,
        /// Asset key.
        asset: String,
        /// 1-based band.
        band: usize,
        /// Bands in the file.
        count: usize,
    },
    /// Reprojecting an asset failed.
    #[error("stack: item '{item}' asset '{asset}': {source}")]
    Warp {
        /// Item id.
        item: String,
        /// Asset key.
        asset: String,
        /// The warp error.
        source: crate::warp::WarpError,
    },
}

/// Which tool's semantics to follow.
///
/// ```
/// assert_eq!("stackstac".parse::<geochip::stack::StackMode>().unwrap(), geochip::stack::StackMode::Stackstac);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StackMode {
    /// odc-stac 0.5.3 `load` (default).
    #[default]
    Odc,
    /// stackstac 0.5.1 `stack` (compatibility mode).
    Stackstac,
}

impl std::str::FromStr for StackMode {
    type Err = StackError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "odc" | "odc-stac" | "odc_stac" => Ok(Self::Odc),
            "stackstac" => Ok(Self::Stackstac),
            other => Err(StackError::BadParams {
                what: format!("mode '{other}' is not odc or stackstac"),
            }),
        }
    }
}

/// odc-stac's pixel anchor: where pixel edges (or centres) fall relative to `0`.
///
/// ```
/// use geochip::stack::Anchor;
/// assert_eq!("center".parse::<Anchor>().unwrap(), Anchor::Center);
/// assert_eq!("0.25,0.5".parse::<Anchor>().unwrap(), Anchor::Fraction(0.25, 0.5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Anchor {
    /// Pixel edges on multiples of the resolution.
    Edge,
    /// Pixel centres on multiples of the resolution.
    Center,
    /// Pixel fraction `(fx, fy)` in `[0, 1)` aligned to 0.
    Fraction(f64, f64),
}

impl Anchor {
    fn fractions(self) -> (f64, f64) {
        match self {
            Anchor::Edge => (0.0, 0.0),
            Anchor::Center => (0.5, 0.5),
            Anchor::Fraction(x, y) => (x, y),
        }
    }
}

impl std::str::FromStr for Anchor {
    type Err = StackError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "edge" | "default" => return Ok(Anchor::Edge),
            "center" | "centre" => return Ok(Anchor::Center),
            _ => {}
        }
        let parts: Vec<f64> = t
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| StackError::BadParams {
                what: format!("anchor '{s}' is not edge, center or 'fx,fy'"),
            })?;
        match parts.as_slice() {
            [x, y] if (0.0..1.0).contains(x) && (0.0..1.0).contains(y) => {
                Ok(Anchor::Fraction(*x, *y))
            }
            _ => Err(StackError::BadParams {
                what: format!("anchor '{s}': fractions must be two numbers in [0, 1)"),
            }),
        }
    }
}

/// The requested output CRS.
///
/// ```
/// use geochip::stack::CrsChoice;
/// assert_eq!("utm".parse::<CrsChoice>().unwrap(), CrsChoice::Utm);
/// assert_eq!("EPSG:32755".parse::<CrsChoice>().unwrap(), CrsChoice::Crs(geochip::Crs::Epsg(32755)));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum CrsChoice {
    /// This CRS.
    Crs(Crs),
    /// odc-stac's `crs="utm"`: the WGS 84 UTM zone best covering the footprint (odc mode only).
    Utm,
}

impl std::str::FromStr for CrsChoice {
    type Err = StackError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("utm") {
            return Ok(CrsChoice::Utm);
        }
        if let Ok(code) = s.trim().parse::<u32>() {
            return Ok(CrsChoice::Crs(Crs::Epsg(code)));
        }
        s.parse::<Crs>()
            .map(CrsChoice::Crs)
            .map_err(|e| StackError::BadParams {
                what: e.to_string(),
            })
    }
}

/// odc-stac's `groupby` (odc mode; stackstac always has one entry per item).
///
/// ```
/// assert_eq!("solar_day".parse::<geochip::stack::GroupBy>().unwrap(), geochip::stack::GroupBy::SolarDay);
/// assert_eq!("platform".parse::<geochip::stack::GroupBy>().unwrap(),
///     geochip::stack::GroupBy::Property("platform".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub enum GroupBy {
    /// Items with the exact same timestamp share a time entry (odc default).
    #[default]
    Time,
    /// Items on the same local solar day (longitude of the output grid's centre) share one.
    SolarDay,
    /// One time entry per item.
    Id,
    /// Items with equal values of this item property share a time entry (odc-stac's
    /// `groupby="<property>"`); integral numbers compare as numbers, other values as JSON text.
    Property(String),
}

impl std::str::FromStr for GroupBy {
    type Err = StackError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "time" => Ok(Self::Time),
            "solar_day" => Ok(Self::SolarDay),
            "id" | "none" => Ok(Self::Id),
            "" => Err(StackError::BadParams {
                what: "groupby: empty name (time, solar_day, id or an item property)".into(),
            }),
            _ => Ok(Self::Property(s.trim().to_owned())),
        }
    }
}

/// stackstac's `xy_coords` (odc-stac always gives pixel centres).
///
/// ```
/// assert_eq!(geochip::stack::XyCoords::default(), geochip::stack::XyCoords::TopLeft);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum XyCoords {
    /// Top-left pixel corners (stackstac default).
    #[default]
    TopLeft,
    /// Pixel centres.
    Center,
}

/// Parameters of [`output_grid`]; the defaults are odc-stac's `load(items)` with no geo
/// arguments.
///
/// ```
/// let p = geochip::stack::GridParams::default();
/// assert!(p.crs.is_none() && p.resolution.is_none() && p.snap_bounds);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GridParams {
    /// odc-stac (default) or stackstac semantics.
    pub mode: StackMode,
    /// Bands: asset keys or `eo:bands` common names (odc); asset keys (stackstac).
    /// `None`: every raster asset (odc), stackstac's default image mimetypes (stackstac).
    pub bands: Option<Vec<String>>,
    /// Output CRS (odc `crs=`, stackstac `epsg=`).
    pub crs: Option<CrsChoice>,
    /// Output resolution `(x, y)`, both positive.
    pub resolution: Option<(f64, f64)>,
    /// Query box in lon/lat `[west, south, east, north]` (odc `bbox=`, stackstac `bounds_latlon=`).
    pub bbox: Option<[f64; 4]>,
    /// Bounds in the output CRS `[minx, miny, maxx, maxy]` (odc `x=`/`y=`, stackstac `bounds=`).
    pub bounds: Option<[f64; 4]>,
    /// A grid used verbatim (odc `geobox=`/`like=`); no other geo argument may be given.
    pub geobox: Option<Grid>,
    /// odc anchor (`None`: EDGE, or the most common items' anchor).
    pub anchor: Option<Anchor>,
    /// stackstac `snap_bounds` (default true).
    pub snap_bounds: bool,
    /// stackstac `xy_coords`.
    pub xy_coords: XyCoords,
    /// odc `groupby`.
    pub groupby: GroupBy,
    /// Refuse outputs with more than this many elements (`time × band × y × x`).
    pub max_pixels: u64,
}

impl Default for GridParams {
    fn default() -> Self {
        Self {
            mode: StackMode::Odc,
            bands: None,
            crs: None,
            resolution: None,
            bbox: None,
            bounds: None,
            geobox: None,
            anchor: None,
            snap_bounds: true,
            xy_coords: XyCoords::TopLeft,
            groupby: GroupBy::Time,
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// The output grid of a stack and its coordinates.
///
/// ```
/// let g = geochip::Grid::new(geochip::GeoTransform::identity(), 1, 1, None).unwrap();
/// let s = geochip::stack::StackGrid { grid: g, time: vec![], time_items: vec![], band: vec![],
///     x: vec![0.5], y: vec![0.5] };
/// assert_eq!(s.to_json()["shape"], serde_json::json!([0, 0, 1, 1]));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StackGrid {
    /// CRS, transform and shape of the `(y, x)` plane.
    pub grid: Grid,
    /// Time coordinate: numpy `datetime64[ns]` text, UTC.
    pub time: Vec<String>,
    /// Item ids of each time entry (in fuse order).
    pub time_items: Vec<Vec<String>>,
    /// Band coordinate (asset keys, or the names as requested in odc mode).
    pub band: Vec<String>,
    /// x coordinate of each column.
    pub x: Vec<f64>,
    /// y coordinate of each row.
    pub y: Vec<f64>,
}

impl StackGrid {
    /// JSON: `crs`, `transform` (rasterio order), `shape` (time, band, y, x), `bounds`,
    /// and `coords` {time, band, y, x, items}.
    ///
    /// ```
    /// let g = geochip::Grid::new(geochip::GeoTransform::identity(), 2, 1, None).unwrap();
    /// let s = geochip::stack::StackGrid { grid: g, time: vec!["t".into()], time_items: vec![vec!["a".into()]],
    ///     band: vec!["b".into()], x: vec![0.5, 1.5], y: vec![0.5] };
    /// assert_eq!(s.to_json()["coords"]["x"], serde_json::json!([0.5, 1.5]));
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        let b = self.grid.bounds();
        serde_json::json!({
            "crs": self.grid.crs.as_ref().map(ToString::to_string),
            "transform": self.grid.transform.to_affine(),
            "shape": [self.time.len(), self.band.len(), self.grid.height, self.grid.width],
            "dims": ["time", "band", "y", "x"],
            "bounds": [b.left, b.bottom, b.right, b.top],
            "coords": {
                "time": self.time,
                "band": self.band,
                "y": self.y,
                "x": self.x,
                "items": self.time_items,
            },
        })
    }
}

/// The output grid and coordinates for stacking `items`.
///
/// odc mode follows `odc.stac.load` (`output_geobox`): `geobox` verbatim; else CRS and
/// resolution from the arguments or the most common item geobox (highest-resolution geobox
/// per item; ties: first seen), snapped with `GeoBox.from_bbox(..., tol=0.01)` around the
/// query box (lon/lat `bbox` or `bounds`) or the union of item footprints (densified
/// reprojection). stackstac mode follows `stackstac.stack` (`prepare_items`): `proj:epsg`
/// only, min resolution, union of 4-corner footprints, floor/ceil snapping without tolerance.
///
/// ```
/// use geochip::stack::{output_grid, GridParams, StackMode, StackError};
/// let json = r#"{"type": "FeatureCollection", "features": [
///  {"type": "Feature", "id": "a", "properties": {"datetime": "2024-01-05T00:10:00Z", "proj:epsg": 32755},
///   "assets": {"B02": {"href": "a.tif", "type": "image/tiff", "proj:shape": [64, 64],
///              "proj:transform": [10, 0, 767920, 0, -10, 6090010]}}},
///  {"type": "Feature", "id": "b", "properties": {"datetime": "2024-01-10T00:10:00Z", "proj:epsg": 32756},
///   "assets": {"B02": {"href": "b.tif", "type": "image/tiff", "proj:shape": [64, 64],
///              "proj:transform": [10, 0, 222430, 0, -10, 6089670]}}}]}"#;
/// let items = geochip::stac::parse_items(json).unwrap();
/// let params = GridParams { mode: StackMode::Stackstac, ..GridParams::default() };
/// assert!(matches!(output_grid(&items, &params), Err(StackError::MixedCrs { .. })));
/// ```
pub fn output_grid(items: &[Item], params: &GridParams) -> Result<StackGrid, StackError> {
    if items.is_empty() {
        return Err(StackError::NoItems);
    }
    if let Some((x, y)) = params.resolution
        && !(x.is_finite() && x > 0.0 && y.is_finite() && y > 0.0)
    {
        return Err(StackError::BadParams {
            what: format!("resolution ({x}, {y}) must be positive"),
        });
    }
    if params.bbox.is_some() && params.bounds.is_some() {
        return Err(StackError::BadParams {
            what: "give bbox (lon/lat) or bounds (output CRS), not both".into(),
        });
    }
    let out = match params.mode {
        StackMode::Odc => odc::output(items, params)?,
        StackMode::Stackstac => stackstac::output(items, params)?,
    };
    let total = out.time.len() as u128
        * out.band.len() as u128
        * out.grid.height as u128
        * out.grid.width as u128;
    if total > u128::from(params.max_pixels) {
        return Err(StackError::TooLarge {
            time: out.time.len(),
            band: out.band.len(),
            height: out.grid.height,
            width: out.grid.width,
            total,
            budget: params.max_pixels,
        });
    }
    Ok(out)
}

fn projection(crs: &Crs, item: &str, asset: &str) -> Result<Projection, StackError> {
    Projection::from_crs(crs).map_err(|source| StackError::Proj {
        item: item.to_owned(),
        asset: asset.to_owned(),
        source,
    })
}

/// Checked conversion of a pixel count from f64.
fn count(n: f64, what: &str) -> Result<usize, StackError> {
    if (0.0..1e15).contains(&n) {
        Ok(n as usize)
    } else {
        Err(StackError::BadParams {
            what: format!("{what}: {n} pixels is not a valid size (non-finite bounds?)"),
        })
    }
}

/// Min/max accumulation over points.
#[derive(Debug, Clone, Copy)]
struct BBox([f64; 4]);

impl BBox {
    fn empty() -> Self {
        Self([
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ])
    }
    fn add(&mut self, x: f64, y: f64) {
        self.0[0] = self.0[0].min(x);
        self.0[1] = self.0[1].min(y);
        self.0[2] = self.0[2].max(x);
        self.0[3] = self.0[3].max(y);
    }
    fn union(&mut self, o: &BBox) {
        self.add(o.0[0], o.0[1]);
        self.add(o.0[2], o.0[3]);
    }
    fn is_valid(&self) -> bool {
        self.0.iter().all(|v| v.is_finite())
    }
}

/// Time grouping shared by both modes: returns (time strings, item ids per entry).
fn parse_time(item: &Item) -> Result<Option<Timestamp>, StackError> {
    match item.nominal_datetime() {
        None => Ok(None),
        Some(text) => Timestamp::parse(text).map(Some).ok_or_else(|| {
            StackError::Stac(StacError::BadDatetime {
                item: item.id.clone(),
                text: text.to_owned(),
            })
        }),
    }
}

mod odc {
    //! odc-stac 0.5.3 semantics.
    use super::*;

    /// A GeoBox: CRS, affine, shape (rows, cols).
    #[derive(Debug, Clone, PartialEq)]
    pub(super) struct GeoBox {
        crs: Crs,
        t: GeoTransform,
        shape: (usize, usize),
    }

    impl GeoBox {
        fn min_res(&self) -> f64 {
            self.t.a.abs().min(self.t.e.abs())
        }
        fn res(&self) -> (f64, f64) {
            (self.t.a, self.t.e)
        }
        /// Bounding box of the 4 corners (odc-geo `polygon_from_transform`).
        fn extent(&self) -> BBox {
            let (h, w) = (self.shape.0 as f64, self.shape.1 as f64);
            let mut b = BBox::empty();
            for (c, r) in [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)] {
                let (x, y) = self.t.apply(c, r);
                b.add(x, y);
            }
            b
        }
        /// odc-geo `extract_anchor`, compared as an opaque key.
        fn anchor(&self) -> (f64, f64) {
            extract_anchor(&self.t)
        }
    }

    /// `affine.Affine.__invert__` applied to (0, 0), then odc-geo's anchor snapping.
    fn extract_anchor(t: &GeoTransform) -> (f64, f64) {
        let idet = 1.0 / (t.a * t.e - t.b * t.d);
        let ra = t.e * idet;
        let rb = -t.b * idet;
        let rd = -t.d * idet;
        let re = t.a * idet;
        let px = -t.c * ra - t.f * rb;
        let py = -t.c * rd - t.f * re;
        let one = |p: f64| -> f64 {
            let tol = 1e-3;
            let (_, mut x) = split_float(p);
            if x < 0.0 {
                x += 1.0;
            }
            let x = if x.abs() < tol { 0.0 } else { x };
            let x = snap_scale(x, tol);
            if x >= 1.0 { 0.0 } else { x }
        };
        (one(px), one(py))
    }

    fn split_float(x: f64) -> (f64, f64) {
        if !x.is_finite() {
            return (x, 0.0);
        }
        let mut part = x % 1.0;
        let mut whole = x - part;
        if part > 0.5 {
            part -= 1.0;
            whole += 1.0;
        } else if part < -0.5 {
            part += 1.0;
            whole -= 1.0;
        }
        (whole, part)
    }

    pub(super) fn maybe_int(x: f64, tol: f64) -> f64 {
        if !x.is_finite() {
            return x;
        }
        let (whole, part) = split_float(x);
        if part.abs() < tol { whole } else { x }
    }

    fn snap_scale(s: f64, tol: f64) -> f64 {
        if s.abs() >= 1.0 - tol {
            return maybe_int(s, tol);
        }
        if s.abs() < tol {
            return s;
        }
        let inv = 1.0 / s;
        let snapped = maybe_int(inv, tol);
        if snapped == inv { s } else { 1.0 / snapped }
    }

    /// odc-geo `snap_grid(x0, x1, res, off_pix, tol)`.
    pub(super) fn snap_grid(x0: f64, x1: f64, res: f64, off_pix: f64, tol: f64) -> (f64, usize) {
        let off = off_pix * res.abs();
        let edge_pos = |x0: f64, x1: f64, r: f64| -> (f64, f64) {
            let i0 = maybe_int(x0 / r, tol).floor();
            let i1 = maybe_int(x1 / r, tol).ceil();
            let n = (i1 - i0).max(1.0);
            (i0 * r, n)
        };
        let (tx, n) = if res > 0.0 {
            edge_pos(x0 - off, x1 - off, res)
        } else {
            let (t, n) = edge_pos(x0 - off, x1 - off, -res);
            (t + n * (-res), n)
        };
        (tx + off, n as usize)
    }

    /// `GeoBox.from_bbox(bbox, crs, resolution=res, anchor=anchor, tol=0.01)`.
    fn from_bbox(
        b: [f64; 4],
        crs: Crs,
        res: (f64, f64),
        anchor: Anchor,
    ) -> Result<Grid, StackError> {
        if !b.iter().all(|v| v.is_finite()) {
            return Err(StackError::BadParams {
                what: format!("output bounds {b:?} are not finite"),
            });
        }
        let (fx, fy) = anchor.fractions();
        let (tx, nx) = snap_grid(b[0], b[2], res.0, fx, 0.01);
        let (ty, ny) = snap_grid(b[1], b[3], res.1, fy, 0.01);
        Ok(Grid::new(
            GeoTransform::new(res.0, 0.0, tx, 0.0, res.1, ty),
            nx,
            ny,
            Some(crs),
        )?)
    }

    fn is_raster_data(asset: &crate::stac::Asset, check_proj: bool) -> bool {
        if check_proj
            && !(asset.fields.contains_key("proj:shape")
                && asset.fields.contains_key("proj:transform"))
        {
            return false;
        }
        match &asset.media_type {
            None => {
                if asset.roles.iter().any(|r| r == "data") {
                    return true;
                }
                if asset.roles.iter().any(|r| r == "metadata") {
                    return false;
                }
                let ext = asset.href.rsplit('.').next().unwrap_or("").to_lowercase();
                ["tif", "tiff", "jpeg", "jpg", "jp2", "img"].contains(&ext.as_str())
            }
            Some(t) => {
                let mt = t.split(';').next().unwrap_or("").trim().to_lowercase();
                if mt.starts_with("image/") {
                    return !asset
                        .roles
                        .iter()
                        .any(|r| r == "thumbnail" || r == "overview");
                }
                [
                    "application/x-hdf",
                    "application/x-hdf5",
                    "application/hdf",
                    "application/hdf5",
                    "application/x-netcdf",
                    "application/netcdf",
                    "application/x-zarr",
                    "application/zarr",
                ]
                .contains(&mt.as_str())
            }
        }
    }

    /// Raster bands of an item as `(band name, asset key)` — multi-band assets (more than one
    /// `raster:bands` entry) give `asset.1`, `asset.2`, … — and eo:bands common-name aliases
    /// `(alias, band name)`.
    #[allow(clippy::type_complexity)]
    fn item_bands(
        item: &Item,
    ) -> Result<(Vec<(String, String)>, Vec<(String, String)>), StackError> {
        let has_proj_ext = item
            .stac_extensions
            .iter()
            .any(|e| e.contains("projection"))
            || item.properties.keys().any(|k| k.starts_with("proj:"));
        let check_proj = has_proj_ext
            && item.assets.0.iter().any(|(_, a)| {
                a.fields.contains_key("proj:shape") && a.fields.contains_key("proj:transform")
            });
        let mut keys = Vec::new();
        let mut aliases = Vec::new();
        for (k, a) in &item.assets.0 {
            if !is_raster_data(a, check_proj) {
                continue;
            }
            let eo = item.eo_bands(k)?;
            let n = item.raster_bands(k)?.len();
            if n > 1 {
                for i in 1..=n {
                    let name = format!("{k}.{i}");
                    if let Some(cn) = eo.get(i - 1).and_then(|b| b.common_name.clone()) {
                        aliases.push((cn, name.clone()));
                    }
                    keys.push((name, k.clone()));
                }
            } else {
                keys.push((k.clone(), k.clone()));
                if eo.len() == 1
                    && let Some(cn) = &eo[0].common_name
                {
                    aliases.push((cn.clone(), k.clone()));
                }
            }
        }
        Ok((keys, aliases))
    }

    /// Item geoboxes over `bands` (unique, highest resolution first; ties keep band order).
    fn geoboxes(item: &Item, bands: &[String]) -> Result<Vec<GeoBox>, StackError> {
        let mut out: Vec<GeoBox> = Vec::new();
        for b in bands {
            if item.asset(b).is_err() {
                continue;
            }
            let p = item.projection(b)?;
            if let (Some(crs), Some(t), Some(shape)) = (p.crs, p.transform, p.shape) {
                let g = GeoBox { crs, t, shape };
                if !out.contains(&g) {
                    out.push(g);
                }
            }
        }
        out.sort_by(|a, b| a.min_res().total_cmp(&b.min_res()));
        Ok(out)
    }

    fn same_crs(a: &Crs, b: &Crs) -> bool {
        a == b || matches!((epsg_of(a), epsg_of(b)), (Some(x), Some(y)) if x == y)
    }

    /// Densify a closed ring so no segment is longer than `res` (GEOS `segmentize`).
    fn densify(ring: &[(f64, f64)], res: f64) -> Vec<(f64, f64)> {
        let mut out = Vec::new();
        for w in ring.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            out.push((x0, y0));
            let len = (x1 - x0).hypot(y1 - y0);
            if res > 0.0 && res.is_finite() && len > res {
                let n = (len / res).ceil();
                let steps = n as usize;
                for j in 1..steps {
                    let f = j as f64 / n;
                    out.push((x0 + f * (x1 - x0), y0 + f * (y1 - y0)));
                }
            }
        }
        if let Some(last) = ring.last() {
            out.push(*last);
        }
        out
    }

    fn project_bbox(
        points: &[(f64, f64)],
        from: &Projection,
        to: &Projection,
        item: &str,
        asset: &str,
        to_crs: &Crs,
    ) -> Result<BBox, StackError> {
        let mut b = BBox::empty();
        for &(x, y) in points {
            // odc-geo `dropna()`: points that do not project are dropped.
            if let Some((px, py)) = reproject(from, to, x, y) {
                b.add(px, py);
            }
        }
        if !b.is_valid() {
            return Err(StackError::Proj {
                item: item.to_owned(),
                asset: asset.to_owned(),
                source: ProjError::OutOfDomain {
                    x: points.first().map_or(f64::NAN, |p| p.0),
                    y: points.first().map_or(f64::NAN, |p| p.1),
                    crs: to_crs.to_string(),
                },
            });
        }
        Ok(b)
    }

    /// Outer rings of a GeoJSON Polygon / MultiPolygon.
    fn rings(geometry: &serde_json::Value) -> Vec<Vec<(f64, f64)>> {
        let pts = |ring: &serde_json::Value| -> Vec<(f64, f64)> {
            ring.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
                        .collect()
                })
                .unwrap_or_default()
        };
        let coords = geometry.get("coordinates");
        match geometry.get("type").and_then(serde_json::Value::as_str) {
            Some("Polygon") => coords
                .and_then(|c| c.get(0))
                .map(|r| vec![pts(r)])
                .unwrap_or_default(),
            Some("MultiPolygon") => coords
                .and_then(serde_json::Value::as_array)
                .map(|polys| polys.iter().filter_map(|p| p.get(0)).map(pts).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    fn ring_area(r: &[(f64, f64)]) -> f64 {
        let mut s = 0.0;
        for w in r.windows(2) {
            s += w[0].0 * w[1].1 - w[1].0 * w[0].1;
        }
        (s / 2.0).abs()
    }

    /// The CRS to use for "utm": the WGS 84 UTM zone with the largest overlap with a lon/lat
    /// box (odc-geo `CRS.utm` picks the best-overlapping zone of pyproj's UTM query).
    fn utm_for(b: &BBox) -> Crs {
        let [w, s, e, n] = b.0;
        let mut best = (f64::NEG_INFINITY, 1u32);
        let first = (((w + 180.0) / 6.0).floor() as i64).clamp(0, 59);
        let last = (((e + 180.0) / 6.0).floor() as i64).clamp(0, 59);
        for z in first..=last {
            let z0 = -180.0 + 6.0 * z as f64;
            let overlap = (e.min(z0 + 6.0) - w.max(z0)).max(0.0);
            if overlap > best.0 {
                best = (overlap, (z + 1) as u32);
            }
        }
        let south_overlap = (n.min(0.0) - s.max(-80.0)).max(0.0);
        let north_overlap = (n.min(84.0) - s.max(0.0)).max(0.0);
        let base = if south_overlap > north_overlap {
            32700
        } else {
            32600
        };
        Crs::Epsg(base + best.1)
    }

    /// `ParsedItem.safe_geometry(crs)` bounding box, with `bands=None` (all raster bands).
    fn footprint(
        item: &Item,
        all_bands: &[String],
        crs: &Option<Crs>,
        utm: bool,
    ) -> Result<(BBox, Crs), StackError> {
        let gbs = geoboxes(item, all_bands)?;
        if let Some(g) = gbs.first() {
            let target = match (crs, utm) {
                (Some(c), _) => c.clone(),
                (None, true) => {
                    let src = projection(&g.crs, &item.id, "")?;
                    let ll = project_bbox(
                        &corners(&g.extent()),
                        &src,
                        &Projection::Geographic,
                        &item.id,
                        "",
                        &Crs::Epsg(4326),
                    )?;
                    utm_for(&ll)
                }
                (None, false) => g.crs.clone(),
            };
            if same_crs(&g.crs, &target) {
                return Ok((g.extent(), target));
            }
            let ext = g.extent();
            let span = (ext.0[2] - ext.0[0]).max(ext.0[3] - ext.0[1]);
            let (h, w) = (g.shape.0 as f64, g.shape.1 as f64);
            let ring: Vec<(f64, f64)> = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h), (0.0, 0.0)]
                .iter()
                .map(|&(c, r)| g.t.apply(c, r))
                .collect();
            let pts = densify(&ring, span / 100.0);
            let from = projection(&g.crs, &item.id, "")?;
            let to = projection(&target, &item.id, "")?;
            let b = project_bbox(&pts, &from, &to, &item.id, "", &target)?;
            return Ok((b, target));
        }
        // Fallback: the item geometry (lon/lat), densified.
        let rings = item.geometry.as_ref().map(rings).unwrap_or_default();
        let rings: Vec<_> = if rings.is_empty() {
            match item.bbox2d() {
                Some(b) => vec![corners(&BBox(b))],
                None => {
                    return Err(StackError::NoFootprint {
                        item: item.id.clone(),
                        asset: all_bands.first().cloned().unwrap_or_default(),
                    });
                }
            }
        } else {
            rings
        };
        let mut ll = BBox::empty();
        for r in &rings {
            for &(x, y) in r {
                ll.add(x, y);
            }
        }
        let target = match (crs, utm) {
            (Some(c), _) => c.clone(),
            (None, true) => utm_for(&ll),
            (None, false) => Crs::Epsg(4326),
        };
        if same_crs(&target, &Crs::Epsg(4326)) {
            return Ok((ll, target));
        }
        let area: f64 = rings.iter().map(|r| ring_area(r)).sum();
        let dist = area.sqrt() * 4.0 / 100.0;
        let to = projection(&target, &item.id, "")?;
        let mut b = BBox::empty();
        for r in &rings {
            let pts = densify(r, dist);
            b.union(&project_bbox(
                &pts,
                &Projection::Geographic,
                &to,
                &item.id,
                "",
                &target,
            )?);
        }
        Ok((b, target))
    }

    /// Closed ring of a bbox's corners.
    fn corners(b: &BBox) -> Vec<(f64, f64)> {
        let [x0, y0, x1, y1] = b.0;
        vec![(x0, y0), (x0, y1), (x1, y1), (x1, y0), (x0, y0)]
    }

    pub(super) fn output(items: &[Item], params: &GridParams) -> Result<StackGrid, StackError> {
        // Collection bands (name, asset key) and aliases, in first-seen order over items.
        let mut bands: Vec<(String, String)> = Vec::new();
        let mut aliases: Vec<(String, String)> = Vec::new();
        for item in items {
            let (keys, al) = item_bands(item)?;
            for k in keys {
                if !bands.iter().any(|b| b.0 == k.0) {
                    bands.push(k);
                }
            }
            for a in al {
                if !aliases.iter().any(|(n, _)| n == &a.0) {
                    aliases.push(a);
                }
            }
        }
        let key_of = |name: &str| -> Option<String> {
            bands
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, k)| k.clone())
        };
        let mut all_bands: Vec<String> = Vec::new();
        for (_, k) in &bands {
            if !all_bands.contains(k) {
                all_bands.push(k.clone());
            }
        }
        let (band_names, band_keys): (Vec<String>, Vec<String>) = match &params.bands {
            None => (
                bands.iter().map(|b| b.0.clone()).collect(),
                all_bands.clone(),
            ),
            Some(req) => {
                let mut keys = Vec::new();
                for b in req {
                    let key = key_of(b).or_else(|| {
                        aliases
                            .iter()
                            .find(|(n, _)| n == b)
                            .and_then(|(_, name)| key_of(name))
                    });
                    match key {
                        Some(k) => {
                            if !keys.contains(&k) {
                                keys.push(k);
                            }
                        }
                        None => return Err(StackError::UnknownBand { band: b.clone() }),
                    }
                }
                (req.clone(), keys)
            }
        };
        if band_keys.is_empty() {
            return Err(StackError::NoBands {
                why: "no item has a raster asset".into(),
            });
        }

        let grid = if let Some(g) = &params.geobox {
            if params.crs.is_some()
                || params.resolution.is_some()
                || params.bbox.is_some()
                || params.bounds.is_some()
                || params.anchor.is_some()
            {
                return Err(StackError::BadParams {
                    what:
                        "geobox is used verbatim: give no crs, resolution, bbox, bounds or anchor"
                            .into(),
                });
            }
            g.clone()
        } else {
            derive_grid(items, params, &all_bands, &band_keys)?
        };

        let (time, time_items) = group_times(items, &params.groupby, &grid)?;
        let (rx, tx, ry, ty) = (
            grid.transform.a,
            grid.transform.c,
            grid.transform.e,
            grid.transform.f,
        );
        let x = (0..grid.width)
            .map(|i| i as f64 * rx + (tx + rx / 2.0))
            .collect();
        let y = (0..grid.height)
            .map(|i| i as f64 * ry + (ty + ry / 2.0))
            .collect();
        Ok(StackGrid {
            grid,
            time,
            time_items,
            band: band_names,
            x,
            y,
        })
    }

    fn derive_grid(
        items: &[Item],
        params: &GridParams,
        all_bands: &[String],
        band_keys: &[String],
    ) -> Result<Grid, StackError> {
        let full_auto = params.crs.is_none()
            && params.resolution.is_none()
            && params.bbox.is_none()
            && params.bounds.is_none()
            && params.anchor.is_none();
        if params.bounds.is_some() && params.crs.is_none() {
            return Err(StackError::BadParams {
                what: "bounds (odc x=/y=) need a crs".into(),
            });
        }
        let mut crs: Option<Crs> = match &params.crs {
            Some(CrsChoice::Crs(c)) => Some(c.clone()),
            _ => None,
        };
        let utm = matches!(params.crs, Some(CrsChoice::Utm));
        let mut resolution = params.resolution.map(|(x, y)| (x, -y));
        let mut anchor = Anchor::Edge;
        if params.crs.is_none() || resolution.is_none() {
            let mut gbs = Vec::new();
            for item in items {
                if let Some(g) = geoboxes(item, band_keys)?.into_iter().next() {
                    gbs.push(g);
                }
            }
            if let Some(first) = gbs.first() {
                if gbs.iter().all(|g| g == first) {
                    if full_auto {
                        return Ok(Grid::new(
                            first.t,
                            first.shape.1,
                            first.shape.0,
                            Some(first.crs.clone()),
                        )?);
                    }
                    if crs.is_none() && !utm {
                        crs = Some(first.crs.clone());
                    }
                    if resolution.is_none() {
                        resolution = Some(first.res());
                    }
                    let (ax, ay) = first.anchor();
                    anchor = anchor_from(ax, ay);
                } else {
                    let (best_crs, best_res, best_anchor) = most_common(&gbs);
                    if crs.is_none() && !utm {
                        crs = Some(best_crs);
                    }
                    if resolution.is_none() {
                        resolution = Some(best_res);
                    }
                    anchor = best_anchor;
                }
            } else if crs.is_none() && !utm && params.bbox.is_some() {
                crs = Some(Crs::Epsg(4326));
            }
        }
        let resolution = resolution.ok_or(StackError::NoGridInfo { what: "resolution" })?;
        if crs.is_none() && !utm {
            return Err(StackError::NoGridInfo { what: "crs" });
        }
        let anchor = params.anchor.unwrap_or(anchor);

        if let Some(b) = params.bbox {
            let ll = BBox(b);
            let target = match &crs {
                Some(c) => c.clone(),
                None => utm_for(&ll),
            };
            let to = projection(&target, "", "")?;
            // GeoBox.from_geopolygon: the query box projected without densification.
            let bb = project_bbox(
                &corners(&ll),
                &Projection::Geographic,
                &to,
                "<bbox>",
                "",
                &target,
            )?;
            return from_bbox(bb.0, target, resolution, anchor);
        }
        if let Some(b) = params.bounds {
            let target = crs.ok_or(StackError::NoGridInfo { what: "crs" })?;
            return from_bbox(b, target, resolution, anchor);
        }
        let mut union = BBox::empty();
        let mut crs0 = crs;
        for item in items {
            let (b, c) = footprint(item, all_bands, &crs0, utm)?;
            if crs0.is_none() {
                crs0 = Some(c);
            }
            union.union(&b);
        }
        let target = crs0.ok_or(StackError::NoGridInfo { what: "crs" })?;
        from_bbox(union.0, target, resolution, anchor)
    }

    fn anchor_from(ax: f64, ay: f64) -> Anchor {
        if ax == 0.0 && ay == 0.0 {
            Anchor::Edge
        } else if ax == 0.5 && ay == 0.5 {
            Anchor::Center
        } else {
            Anchor::Fraction(ax, ay)
        }
    }

    /// `_most_common_gbox`: most common (crs, res, anchor) if > 10 %, else (crs, res) + EDGE.
    fn most_common(gbs: &[GeoBox]) -> (Crs, (f64, f64), Anchor) {
        type Key = (Crs, (u64, u64), (u64, u64));
        let key = |g: &GeoBox| -> Key {
            let (rx, ry) = g.res();
            let (ax, ay) = g.anchor();
            (
                g.crs.clone(),
                (rx.to_bits(), ry.to_bits()),
                (ax.to_bits(), ay.to_bits()),
            )
        };
        let mut counts: Vec<(Key, usize)> = Vec::new();
        for g in gbs {
            let k = key(g);
            match counts.iter_mut().find(|(kk, _)| *kk == k) {
                Some((_, n)) => *n += 1,
                None => counts.push((k, 1)),
            }
        }
        let best = counts
            .iter()
            .fold(None::<&(Key, usize)>, |acc, c| match acc {
                Some(a) if a.1 >= c.1 => Some(a),
                _ => Some(c),
            });
        let res_of = |b: (u64, u64)| (f64::from_bits(b.0), f64::from_bits(b.1));
        if let Some(((crs, res, anc), n)) = best
            && (*n as f64) / (gbs.len() as f64) > 0.1
        {
            return (
                crs.clone(),
                res_of(*res),
                anchor_from(f64::from_bits(anc.0), f64::from_bits(anc.1)),
            );
        }
        #[allow(clippy::type_complexity)]
        let mut counts2: Vec<((Crs, (u64, u64)), usize)> = Vec::new();
        for (k, n) in &counts {
            let k2 = (k.0.clone(), k.1);
            match counts2.iter_mut().find(|(kk, _)| *kk == k2) {
                Some((_, m)) => *m += n,
                None => counts2.push((k2, *n)),
            }
        }
        let best2 = counts2
            .iter()
            .fold(None::<&((Crs, (u64, u64)), usize)>, |acc, c| match acc {
                Some(a) if a.1 >= c.1 => Some(a),
                _ => Some(c),
            });
        match best2 {
            Some(((crs, res), _)) => (crs.clone(), res_of(*res), Anchor::Edge),
            // Unreachable with a non-empty input; a harmless default otherwise.
            None => (Crs::Epsg(4326), (1.0, -1.0), Anchor::Edge),
        }
    }

    /// Sort by (group key, nominal time, id) and group equal keys.
    fn group_times(
        items: &[Item],
        groupby: &GroupBy,
        grid: &Grid,
    ) -> Result<(Vec<String>, Vec<Vec<String>>), StackError> {
        let solar_offset = if *groupby == GroupBy::SolarDay {
            let (cx, cy) = grid
                .transform
                .apply(grid.width as f64 / 2.0, grid.height as f64 / 2.0);
            let lon = match &grid.crs {
                Some(c) => {
                    let p = projection(c, "", "")?;
                    p.inverse(cx, cy).map(|ll| ll.0).unwrap_or(0.0)
                }
                None => cx,
            };
            (lon / 15.0).trunc() as i64 * 3600
        } else {
            0
        };
        let mut rows: Vec<(Timestamp, &Item, usize)> = Vec::new();
        for (idx, item) in items.iter().enumerate() {
            let t = parse_time(item)?.ok_or_else(|| {
                StackError::Stac(StacError::BadDatetime {
                    item: item.id.clone(),
                    text: String::new(),
                })
            })?;
            rows.push((t, item, idx));
        }
        if let GroupBy::Property(name) = groupby
            && let Some((_, item, _)) = rows.iter().find(|r| !r.1.properties.contains_key(name))
        {
            return Err(StackError::BadParams {
                what: format!("groupby '{name}': item '{}' has no such property", item.id),
            });
        }
        // odc-stac's group keys: the timestamp, the solar date, the input index ("id"), or a
        // property value.
        #[derive(PartialEq, Eq, PartialOrd, Ord)]
        enum Key {
            Int(i128),
            Text(String),
        }
        let key = |t: &Timestamp, item: &Item, idx: usize| -> Key {
            match groupby {
                GroupBy::Time => Key::Int(t.0),
                GroupBy::SolarDay => {
                    let (y, m, d) = t.date_with_offset(solar_offset);
                    Key::Int(i128::from(y * 10000 + m * 100 + d))
                }
                GroupBy::Id => Key::Int(idx as i128),
                GroupBy::Property(name) => match item.properties.get(name) {
                    Some(serde_json::Value::Number(n)) if n.as_i64().is_some() => {
                        Key::Int(i128::from(n.as_i64().unwrap_or(0)))
                    }
                    Some(serde_json::Value::String(s)) => Key::Text(s.clone()),
                    Some(v) => Key::Text(v.to_string()),
                    None => Key::Text(String::new()),
                },
            }
        };
        rows.sort_by(|a, b| {
            key(&a.0, a.1, a.2)
                .cmp(&key(&b.0, b.1, b.2))
                .then(a.0.cmp(&b.0))
                .then(a.1.id.cmp(&b.1.id))
        });
        let mut time = Vec::new();
        let mut ids: Vec<Vec<String>> = Vec::new();
        let mut last: Option<Key> = None;
        for (t, item, idx) in rows {
            let k = key(&t, item, idx);
            if last.as_ref() == Some(&k) {
                if let Some(v) = ids.last_mut() {
                    v.push(item.id.clone());
                }
            } else {
                time.push(t.to_numpy_string());
                ids.push(vec![item.id.clone()]);
                last = Some(k);
            }
        }
        Ok((time, ids))
    }
}

mod stackstac {
    //! stackstac 0.5.1 semantics.
    use super::*;

    const DEFAULT_TYPES: [&str; 4] = [
        "image/tiff",
        "image/x.geotiff",
        "image/vnd.stac.geotiff",
        "image/jp2",
    ];

    fn media_ok(t: &str) -> bool {
        let base = t
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        DEFAULT_TYPES.contains(&base.as_str())
    }

    fn asset_ids(items: &[Item], bands: &Option<Vec<String>>) -> Vec<String> {
        if let Some(b) = bands {
            return b.clone();
        }
        // The default mimetype set: ids whose every typed occurrence is an allowed image type.
        let mut by_id: Vec<(String, Vec<Option<String>>)> = Vec::new();
        for item in items {
            for (k, a) in &item.assets.0 {
                match by_id.iter_mut().find(|(id, _)| id == k) {
                    Some((_, v)) => v.push(a.media_type.clone()),
                    None => by_id.push((k.clone(), vec![a.media_type.clone()])),
                }
            }
        }
        by_id
            .into_iter()
            .filter(|(_, types)| {
                let typed: Vec<&String> = types.iter().flatten().collect();
                !typed.is_empty() && typed.iter().all(|t| media_ok(t))
            })
            .map(|(id, _)| id)
            .collect()
    }

    fn reproject_bounds(
        b: [f64; 4],
        from: u32,
        to: u32,
        item: &str,
        asset: &str,
    ) -> Result<[f64; 4], StackError> {
        if from == to {
            return Ok(b);
        }
        let [minx, miny, maxx, maxy] = b;
        corners_to(
            &[(minx, maxy), (minx, miny), (maxx, miny), (maxx, maxy)],
            from,
            to,
            item,
            asset,
        )
    }

    fn corners_to(
        pts: &[(f64, f64)],
        from: u32,
        to: u32,
        item: &str,
        asset: &str,
    ) -> Result<[f64; 4], StackError> {
        let pf = projection(&Crs::Epsg(from), item, asset)?;
        let pt = projection(&Crs::Epsg(to), item, asset)?;
        let mut b = BBox::empty();
        for &(x, y) in pts {
            let (px, py) = reproject(&pf, &pt, x, y).ok_or_else(|| StackError::Proj {
                item: item.to_owned(),
                asset: asset.to_owned(),
                source: ProjError::OutOfDomain {
                    x,
                    y,
                    crs: format!("EPSG:{to}"),
                },
            })?;
            b.add(px, py);
        }
        Ok(b.0)
    }

    fn overlaps(a: &[f64; 4], b: &[f64; 4]) -> bool {
        a[0].max(b[0]) < a[2].min(b[2]) && a[1].max(b[1]) < a[3].min(b[3])
    }

    pub(super) fn output(items: &[Item], params: &GridParams) -> Result<StackGrid, StackError> {
        if params.geobox.is_some() || params.anchor.is_some() {
            return Err(StackError::BadParams {
                what: "stackstac mode takes no geobox or anchor".into(),
            });
        }
        let mut epsg = match &params.crs {
            None => None,
            Some(CrsChoice::Utm) => {
                return Err(StackError::BadParams {
                    what: "crs=utm is odc-stac only".into(),
                });
            }
            Some(CrsChoice::Crs(c)) => Some(epsg_of(c).ok_or_else(|| StackError::BadParams {
                what: format!("stackstac mode needs an EPSG code, not {c}"),
            })?),
        };
        let epsg_given = epsg.is_some();
        let ids = asset_ids(items, &params.bands);
        if ids.is_empty() {
            return Err(StackError::NoBands {
                why: "no asset id matches (stackstac mode selects image/tiff and jp2 assets)"
                    .into(),
            });
        }
        // Items sorted by the datetime *string*, stable.
        let mut order: Vec<&Item> = items.iter().collect();
        let dt = |i: &Item| -> String {
            i.properties
                .get("datetime")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        order.sort_by_key(|i| dt(i));

        let mut out_bounds: Option<[f64; 4]> = params.bounds;
        let mut res = params.resolution;
        let mut kept = vec![vec![false; ids.len()]; order.len()];
        for (ii, item) in order.iter().enumerate() {
            let item_bbox_proj_cache: &mut Option<[f64; 4]> = &mut None;
            let item_t = item.properties.get("proj:transform").cloned();
            let item_s = item.properties.get("proj:shape").cloned();
            for (ai, id) in ids.iter().enumerate() {
                let Ok(asset) = item.asset(id) else {
                    continue;
                };
                let n_bands = item.raster_bands(id)?.len();
                if asset.fields.contains_key("raster:bands") && n_bands != 1 {
                    return Err(StackError::MultiBandAsset {
                        item: item.id.clone(),
                        asset: id.clone(),
                        count: n_bands,
                    });
                }
                let asset_epsg = item.stackstac_epsg(id)?;
                let p = item.projection(id)?;
                if !epsg_given {
                    let Some(ae) = asset_epsg else {
                        return Err(StackError::NoCrs {
                            item: item.id.clone(),
                            asset: id.clone(),
                        });
                    };
                    match epsg {
                        None => epsg = Some(ae),
                        Some(e) if e != ae => {
                            return Err(StackError::MixedCrs {
                                item: item.id.clone(),
                                asset: id.clone(),
                                found: format!("EPSG:{ae}"),
                                before: format!("EPSG:{e}"),
                            });
                        }
                        _ => {}
                    }
                }
                let out_epsg = epsg.ok_or(StackError::NoGridInfo { what: "crs" })?;
                if let (Some(ll), None) = (params.bbox, out_bounds) {
                    out_bounds = Some(reproject_bounds(ll, 4326, out_epsg, &item.id, id)?);
                }
                let bounds_fixed = params.bounds.is_some() || params.bbox.is_some();
                let same_t_s = asset
                    .fields
                    .get("proj:transform")
                    .is_none_or(|v| Some(v) == item_t.as_ref())
                    && asset
                        .fields
                        .get("proj:shape")
                        .is_none_or(|v| Some(v) == item_s.as_ref());
                let bbox_proj: Option<[f64; 4]> = match (p.bbox, asset_epsg) {
                    (Some(b), Some(ae)) if same_t_s => {
                        Some(reproject_bounds(b, ae, out_epsg, &item.id, id)?)
                    }
                    _ => match (p.transform, p.shape, asset_epsg) {
                        (Some(t), Some((h, w)), Some(ae)) => {
                            let (h, w) = (h as f64, w as f64);
                            let pts = [
                                t.apply(0.0, 0.0),
                                t.apply(0.0, h),
                                t.apply(w, h),
                                t.apply(w, 0.0),
                            ];
                            if ae == out_epsg {
                                let mut b = BBox::empty();
                                for (x, y) in pts {
                                    b.add(x, y);
                                }
                                Some(b.0)
                            } else {
                                Some(corners_to(&pts, ae, out_epsg, &item.id, id)?)
                            }
                        }
                        _ => match *item_bbox_proj_cache {
                            Some(b) => Some(b),
                            None => match item.bbox2d() {
                                Some(ll) => {
                                    let b = reproject_bounds(ll, 4326, out_epsg, &item.id, id)?;
                                    *item_bbox_proj_cache = Some(b);
                                    Some(b)
                                }
                                None => None,
                            },
                        },
                    },
                };
                if params.resolution.is_none() {
                    let (rx, ry) = match (p.transform, asset_epsg) {
                        (Some(t), Some(ae)) if ae == out_epsg => {
                            if !t.is_rectilinear() {
                                return Err(StackError::Rotated {
                                    item: item.id.clone(),
                                    asset: id.clone(),
                                });
                            }
                            (t.a.abs(), t.e.abs())
                        }
                        (Some(t), Some(ae)) => {
                            let pts = [
                                t.apply(0.0, 0.0),
                                t.apply(0.0, 1.0),
                                t.apply(1.0, 1.0),
                                t.apply(1.0, 0.0),
                            ];
                            let b = corners_to(&pts, ae, out_epsg, &item.id, id)?;
                            (b[2] - b[0], b[3] - b[1])
                        }
                        _ => match (bbox_proj, p.shape) {
                            (Some(b), Some((h, w))) => {
                                ((b[2] - b[0]) / w as f64, (b[3] - b[1]) / h as f64)
                            }
                            _ => {
                                return Err(StackError::NoResolution {
                                    item: item.id.clone(),
                                    asset: id.clone(),
                                });
                            }
                        },
                    };
                    res = Some(match res {
                        None => (rx, ry),
                        Some((x, y)) => (rx.min(x), ry.min(y)),
                    });
                }
                if !bounds_fixed {
                    let Some(b) = bbox_proj else {
                        return Err(StackError::NoFootprint {
                            item: item.id.clone(),
                            asset: id.clone(),
                        });
                    };
                    out_bounds = Some(match out_bounds {
                        None => b,
                        Some(o) => [
                            o[0].min(b[0]),
                            o[1].min(b[1]),
                            o[2].max(b[2]),
                            o[3].max(b[3]),
                        ],
                    });
                } else if let (Some(b), Some(o)) = (bbox_proj, out_bounds)
                    && !overlaps(&b, &o)
                {
                    continue;
                }
                kept[ii][ai] = true;
            }
        }
        let epsg = epsg.ok_or(StackError::NoGridInfo { what: "crs" })?;
        let (xres, yres) = res.ok_or(StackError::NoGridInfo { what: "resolution" })?;
        let [mut minx, mut miny, mut maxx, mut maxy] =
            out_bounds.ok_or(StackError::NoGridInfo { what: "bounds" })?;
        if params.snap_bounds {
            minx = (minx / xres).floor() * xres;
            maxx = (maxx / xres).ceil() * xres;
            miny = (miny / yres).floor() * yres;
            maxy = (maxy / yres).ceil() * yres;
        }
        let width = count(((maxx - minx + xres / 2.0) / xres).trunc(), "width")?;
        let height = count(((maxy - miny + yres / 2.0) / yres).trunc(), "height")?;
        let grid = Grid::new(
            GeoTransform::new(xres, 0.0, minx, 0.0, -yres, maxy),
            width,
            height,
            Some(Crs::Epsg(epsg)),
        )?;
        // Drop items / asset ids with nothing kept.
        let keep_item: Vec<bool> = kept.iter().map(|r| r.iter().any(|k| *k)).collect();
        let keep_id: Vec<bool> = (0..ids.len()).map(|a| kept.iter().any(|r| r[a])).collect();
        let band: Vec<String> = ids
            .iter()
            .zip(&keep_id)
            .filter(|(_, k)| **k)
            .map(|(id, _)| id.clone())
            .collect();
        let mut time = Vec::new();
        let mut time_items = Vec::new();
        for (item, k) in order.iter().zip(&keep_item) {
            if !*k {
                continue;
            }
            let t = parse_time(item)?.ok_or_else(|| {
                StackError::Stac(StacError::BadDatetime {
                    item: item.id.clone(),
                    text: String::new(),
                })
            })?;
            time.push(t.to_numpy_string());
            time_items.push(vec![item.id.clone()]);
        }
        let (x0, y0, x1, y1) = match params.xy_coords {
            XyCoords::TopLeft => (minx, maxy, maxx, miny),
            XyCoords::Center => (
                minx + xres / 2.0,
                maxy - yres / 2.0,
                maxx + xres / 2.0,
                miny - yres / 2.0,
            ),
        };
        Ok(StackGrid {
            grid,
            time,
            time_items,
            band,
            x: linspace(x0, x1, width),
            y: linspace(y0, y1, height),
        })
    }

    /// `numpy.linspace(start, stop, num, endpoint=False)`.
    fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
        if num == 0 {
            return Vec::new();
        }
        let step = (stop - start) / num as f64;
        (0..num).map(|i| i as f64 * step + start).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::odc::{maybe_int, snap_grid};

    #[test]
    fn snap_grid_tolerance_absorbs_float_noise() {
        // 1e-9 past a pixel edge: odc's 1 % tolerance keeps 64 pixels.
        assert_eq!(
            snap_grid(767920.0, 768560.000000001, 10.0, 0.0, 0.01),
            (767920.0, 64)
        );
        // 2 % past: one more pixel.
        assert_eq!(
            snap_grid(767920.0, 768560.2, 10.0, 0.0, 0.01),
            (767920.0, 65)
        );
        // y axis (negative resolution): origin is the top edge.
        assert_eq!(
            snap_grid(6089370.0, 6090010.0, -10.0, 0.0, 0.01),
            (6090010.0, 64)
        );
        assert_eq!(maybe_int(2.004, 0.01), 2.0);
        assert_eq!(maybe_int(2.4, 0.01), 2.4);
    }
}
