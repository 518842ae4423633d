//! Rasterization: burn vector shapes onto a [`Grid`], pixel-exact with rasterio 1.4.4 /
//! GDAL 3.10.3 (`rasterio.features.rasterize`), plus what GDAL lacks: exact fractional
//! coverage, per-pixel aggregations, chunk-wise burning and exact 64-bit integer labels.
//!
//! The rules (see `specs/rasterize.md` of the project and the fixtures in
//! `tests/fixtures/rasterize/`):
//!
//! * world → pixel with GDAL's inverse geotransform, in GDAL's operation order;
//! * polygons: every ring reoriented clockwise in *world* coordinates, then an even-odd
//!   centre-rule fill (half-open in y, left-open/right-closed in x, horizontal edges on a
//!   centre line burned when they run right to left);
//! * `all_touched`: the ring walk of GDAL ≥ 3.6 (1e-4 / 0.01 / 1e-9 tolerances,
//!   edges on pixel boundaries ignored) plus the centre fill;
//! * lines: Bresenham on floored vertices, last vertex first (`all_touched`: the walk);
//! * points: the pixel `(floor(col), floor(row))`;
//! * MultiPolygon and GeometryCollection parts are separate shapes (rasterio explodes them);
//!   with [`MergeAlg::Add`] a pixel gets a shape's value once per shape (points excepted);
//! * values: GDAL's round-half-away-from-zero and saturation for every dtype;
//! * coverage ([`Rasterizer::coverage`]): the exact area of each pixel inside the even-odd
//!   interior of each polygon (GDAL's rule, so self-intersecting rings and holes crossing
//!   their shell are measured the way they burn), the parts of one shape unioned.
//!
//! ```
//! use geochip::{GeoTransform, Grid, ArrayData};
//! use geochip::rasterize::{rasterize, RasterizeOptions, Shape};
//! use geo_types::polygon;
//!
//! let grid = Grid::new(GeoTransform::new(10.0, 0.0, 1000.0, 0.0, -10.0, 1100.0), 10, 10, None)?;
//! let square = polygon![(x: 1020.0, y: 1080.0), (x: 1060.0, y: 1080.0),
//!                       (x: 1060.0, y: 1040.0), (x: 1020.0, y: 1040.0)];
//! let opts = RasterizeOptions { dtype: Some(geochip::DType::U8), ..Default::default() };
//! let out = rasterize(&[Shape::new(square.into(), 7)], &grid, &opts)?;
//! let ArrayData::U8(a) = out.array.data() else { unreachable!() };
//! assert_eq!(a.iter().filter(|v| **v == 7).count(), 16); // cols 2..6 × rows 2..6
//! assert_eq!(out.array.dims(), &["y", "x"]);
//! assert_eq!(out.array.grid(), Some(&grid));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cast;
mod coverage;
pub mod io;
mod prepare;
mod scan;
mod simple;

use geo_types::Geometry;
use ndarray::{ArrayD, IxDyn};

pub use cast::BurnValue;
/// The `geo-types` crate geochip's shapes are made of (re-exported for callers).
pub use geo_types;
pub use io::{ReadOptions, ReadShapes, read_geojson, read_wkt};

use crate::array::{ArrayData, ArrayError, DType, LabeledArray};
use crate::grid::{Grid, GridError, Window};
use cast::Pixel;
use prepare::{Kind, Prim};
use scan::{Region, Scratch, Sink};

/// Everything that can go wrong while reading or burning shapes. Errors about one shape name
/// its feature index (its position in the input, or its index in the GeoJSON/WKT file).
///
/// ```
/// use geochip::rasterize::RasterizeError;
/// let e = RasterizeError::RingTooShort { feature: 3, ring: 0, points: 2 };
/// assert_eq!(e.to_string(), "feature 3: ring 0 has 2 points (a closed ring needs at least 4)");
/// assert_eq!(e.feature(), Some(3));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RasterizeError {
    /// A NaN or infinite coordinate.
    #[error("feature {feature}: non-finite coordinate ({x}, {y})")]
    NonFiniteCoordinate {
        /// Feature index.
        feature: usize,
        /// x as given.
        x: f64,
        /// y as given.
        y: f64,
    },
    /// A coordinate whose pixel position overflows f64 on this grid.
    #[error(
        "feature {feature}: coordinate ({x}, {y}) is too far from the grid (pixel position overflows)"
    )]
    PixelOverflow {
        /// Feature index.
        feature: usize,
        /// x as given.
        x: f64,
        /// y as given.
        y: f64,
    },
    /// A polygon ring with fewer than 4 points.
    #[error("feature {feature}: ring {ring} has {points} points (a closed ring needs at least 4)")]
    RingTooShort {
        /// Feature index.
        feature: usize,
        /// Ring index (0 = exterior).
        ring: usize,
        /// Points in the ring.
        points: usize,
    },
    /// A polygon ring whose last point differs from its first.
    #[error("feature {feature}: ring {ring} is not closed (last point differs from the first)")]
    RingNotClosed {
        /// Feature index.
        feature: usize,
        /// Ring index (0 = exterior).
        ring: usize,
    },
    /// A LineString with a single point.
    #[error("feature {feature}: a LineString needs at least 2 points, got {points}")]
    LineTooShort {
        /// Feature index.
        feature: usize,
        /// Points given.
        points: usize,
    },
    /// A geometry without coordinates.
    #[error("feature {feature}: empty {kind}")]
    EmptyGeometry {
        /// Feature index.
        feature: usize,
        /// Geometry type.
        kind: &'static str,
    },
    /// A feature without geometry or with a geometry type geochip cannot burn.
    #[error("feature {feature}: unsupported or missing geometry type '{kind}'")]
    UnknownGeometryType {
        /// Feature index.
        feature: usize,
        /// The type as given.
        kind: String,
    },
    /// A malformed geometry (bad position, bad nesting).
    #[error("feature {feature}: invalid geometry: {message}")]
    InvalidGeometry {
        /// Feature index.
        feature: usize,
        /// What is wrong.
        message: String,
    },
    /// The value property is missing or null.
    #[error("feature {feature}: no value (property '{property}' missing or null)")]
    MissingValue {
        /// Feature index.
        feature: usize,
        /// Property name.
        property: String,
    },
    /// The value property is not a number.
    #[error("feature {feature}: property '{property}' is {value}, not a number")]
    BadValue {
        /// Feature index.
        feature: usize,
        /// Property name.
        property: String,
        /// The JSON value.
        value: String,
    },
    /// A value that does not fit the dtype (strict mode only; otherwise it saturates like GDAL).
    #[error("feature {feature:?}: value {value} does not fit {dtype}")]
    ValueOutOfRange {
        /// Feature index (`None` for the fill value).
        feature: Option<usize>,
        /// The value.
        value: String,
        /// The output dtype.
        dtype: DType,
    },
    /// A document that is not valid GeoJSON.
    #[error("GeoJSON: {message}")]
    GeoJson {
        /// Parser message.
        message: String,
    },
    /// A WKT geometry that does not parse.
    #[error("feature {feature}: WKT: {message}")]
    Wkt {
        /// Feature index (0-based line of the file).
        feature: usize,
        /// Parser message.
        message: String,
    },
    /// A dtype name geochip does not know.
    #[error(transparent)]
    DType(#[from] ArrayError),
    /// A bad grid, transform (e.g. not invertible) or window.
    #[error(transparent)]
    Grid(#[from] GridError),
    /// A self-intersecting polygon crossing itself too often for exact coverage to rebuild
    /// its even-odd region (burning it is unaffected).
    #[error(
        "feature {feature}: the polygon crosses itself more than {limit} times; too complex for exact coverage"
    )]
    TooManyCrossings {
        /// Feature index.
        feature: usize,
        /// The limit.
        limit: usize,
    },
    /// A grid too large to allocate.
    #[error("grid of {width}x{height} pixels is too large to allocate")]
    TooLarge {
        /// Columns.
        width: usize,
        /// Rows.
        height: usize,
    },
}

impl RasterizeError {
    /// The feature index the error is about, if any.
    ///
    /// ```
    /// use geochip::rasterize::RasterizeError;
    /// assert_eq!(RasterizeError::GeoJson { message: "x".into() }.feature(), None);
    /// ```
    pub fn feature(&self) -> Option<usize> {
        match self {
            RasterizeError::NonFiniteCoordinate { feature, .. }
            | RasterizeError::PixelOverflow { feature, .. }
            | RasterizeError::RingTooShort { feature, .. }
            | RasterizeError::RingNotClosed { feature, .. }
            | RasterizeError::LineTooShort { feature, .. }
            | RasterizeError::EmptyGeometry { feature, .. }
            | RasterizeError::UnknownGeometryType { feature, .. }
            | RasterizeError::InvalidGeometry { feature, .. }
            | RasterizeError::TooManyCrossings { feature, .. }
            | RasterizeError::MissingValue { feature, .. }
            | RasterizeError::BadValue { feature, .. }
            | RasterizeError::Wkt { feature, .. } => Some(*feature),
            RasterizeError::ValueOutOfRange { feature, .. } => *feature,
            _ => None,
        }
    }
}

/// A shape skipped in `skip_invalid` mode, and why (rasterio's `ShapeSkipWarning`).
///
/// ```
/// use geochip::rasterize::{RasterizeError, Skipped};
/// let s = Skipped { feature: 2, reason: RasterizeError::EmptyGeometry { feature: 2, kind: "Polygon" } };
/// assert_eq!(s.to_string(), "skipped feature 2: feature 2: empty Polygon");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// Feature index.
    pub feature: usize,
    /// Why.
    pub reason: RasterizeError,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "skipped feature {}: {}", self.feature, self.reason)
    }
}

/// A geometry and the value to burn for it.
///
/// ```
/// use geochip::rasterize::{BurnValue, Shape};
/// let s = Shape::new(geo_types::point!(x: 1.0, y: 2.0).into(), 3);
/// assert_eq!(s.value, BurnValue::Int(3));
/// assert_eq!(s.feature, None);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// The geometry, in the grid's CRS.
    pub geometry: Geometry<f64>,
    /// The value burned.
    pub value: BurnValue,
    /// The feature index reported in errors (default: the position in the input slice).
    pub feature: Option<usize>,
}

impl Shape {
    /// A shape with a value.
    ///
    /// ```
    /// let s = geochip::rasterize::Shape::new(geo_types::point!(x: 0.5, y: 0.5).into(), 2.5);
    /// assert_eq!(s.value.as_f64(), 2.5);
    /// ```
    pub fn new(geometry: Geometry<f64>, value: impl Into<BurnValue>) -> Self {
        Self {
            geometry,
            value: value.into(),
            feature: None,
        }
    }
}

/// How a burn combines with the pixel's current value.
///
/// ```
/// assert_eq!("add".parse::<geochip::rasterize::MergeAlg>().unwrap(),
///            geochip::rasterize::MergeAlg::Add);
/// assert!("max".parse::<geochip::rasterize::MergeAlg>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MergeAlg {
    /// The last shape wins (rasterio's default).
    #[default]
    Replace,
    /// Values add up (each shape adds once per pixel).
    Add,
}

impl std::str::FromStr for MergeAlg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "replace" => Ok(MergeAlg::Replace),
            "add" => Ok(MergeAlg::Add),
            other => Err(format!("merge '{other}' is not 'replace' or 'add'")),
        }
    }
}

/// Options of [`rasterize`] and [`Rasterizer`], rasterio's keyword arguments.
///
/// ```
/// let o = geochip::rasterize::RasterizeOptions::default();
/// assert!(!o.all_touched && o.skip_invalid && o.dtype.is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RasterizeOptions {
    /// Burn every pixel a shape touches instead of those whose centre is inside.
    pub all_touched: bool,
    /// Replace or add.
    pub merge: MergeAlg,
    /// Output dtype; `None` infers it like numpy does from the values (all integers →
    /// `int64`, else `float64`; no shapes → `float64`).
    pub dtype: Option<DType>,
    /// The value of pixels no shape burns.
    pub fill: BurnValue,
    /// Skip invalid shapes, recording why (rasterio's default), instead of failing.
    /// In strict mode a value that does not fit the dtype is an error too.
    pub skip_invalid: bool,
    /// Split the grid into this many row bands (burned in parallel with the `parallel`
    /// feature); `0` picks 1 without threads, 4 per rayon thread with them. The result never
    /// depends on it.
    pub bands: usize,
}

impl Default for RasterizeOptions {
    fn default() -> Self {
        Self {
            all_touched: false,
            merge: MergeAlg::Replace,
            dtype: None,
            fill: BurnValue::Int(0),
            skip_invalid: true,
            bands: 0,
        }
    }
}

/// The result of [`rasterize`]: the burned array and the shapes that were skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Rasterized {
    /// dims `(y, x)`, the grid attached.
    pub array: LabeledArray,
    /// Shapes skipped in `skip_invalid` mode.
    pub skipped: Vec<Skipped>,
}

/// A per-pixel aggregation of the values of the shapes that burn a pixel (each shape once).
///
/// ```
/// assert_eq!("sum".parse::<geochip::rasterize::Aggregation>().unwrap(),
///            geochip::rasterize::Aggregation::Sum);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// Number of shapes (`uint32`).
    Count,
    /// Sum of values (`float64`, NaN where no shape).
    Sum,
    /// Minimum value (`float64`, NaN where no shape).
    Min,
    /// Maximum value (`float64`, NaN where no shape).
    Max,
    /// Value of the first shape in input order (`float64`, NaN where no shape).
    First,
    /// Value of the last shape in input order (`float64`, NaN where no shape).
    Last,
}

impl std::str::FromStr for Aggregation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "count" => Aggregation::Count,
            "sum" => Aggregation::Sum,
            "min" => Aggregation::Min,
            "max" => Aggregation::Max,
            "first" => Aggregation::First,
            "last" => Aggregation::Last,
            other => return Err(format!("unknown aggregation '{other}'")),
        })
    }
}

/// Burns shapes onto a grid, rasterio-style. See the [module docs](self).
///
/// ```
/// use geochip::{GeoTransform, Grid, rasterize::{rasterize, RasterizeOptions, Shape}};
/// let grid = Grid::new(GeoTransform::identity(), 4, 4, None)?;
/// let out = rasterize(&[Shape::new(geo_types::point!(x: 1.5, y: 2.5).into(), 9)],
///                     &grid, &RasterizeOptions::default())?;
/// assert_eq!(out.array.dtype(), geochip::DType::I64); // inferred from the integer value
/// assert_eq!(out.array.sum_f64(), 9.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn rasterize(
    shapes: &[Shape],
    grid: &Grid,
    opts: &RasterizeOptions,
) -> Result<Rasterized, RasterizeError> {
    let r = Rasterizer::new(shapes, grid, opts)?;
    Ok(Rasterized {
        array: r.burn()?,
        skipped: r.skipped().to_vec(),
    })
}

/// Shapes prepared for one grid (validated, exploded, in pixel space, edge tables built):
/// burn the whole grid, any window of it, or chunks through a [`ChunkIndex`].
///
/// ```
/// # use geo_types::{polygon};
/// use geochip::{GeoTransform, Grid, Window, rasterize::{Rasterizer, RasterizeOptions, Shape}};
/// let grid = Grid::new(GeoTransform::identity(), 8, 8, None)?;
/// let tri = polygon![(x: 0.0, y: 0.0), (x: 8.0, y: 0.0), (x: 0.0, y: 8.0)];
/// let r = Rasterizer::new(&[Shape::new(tri.into(), 1u32)], &grid, &RasterizeOptions::default())?;
/// let full = r.burn()?;
/// let chip = r.burn_window(Window::new(4, 0, 4, 4))?;
/// assert_eq!(chip.grid().unwrap(), &grid.window(Window::new(4, 0, 4, 4))?);
/// assert_eq!(full.sum_f64(), 36.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Rasterizer {
    grid: Grid,
    opts: RasterizeOptions,
    dtype: DType,
    prims: Vec<Prim>,
    skipped: Vec<Skipped>,
}

impl Rasterizer {
    /// Validates and prepares the shapes for `grid`.
    ///
    /// ```
    /// use geochip::{GeoTransform, Grid, rasterize::{Rasterizer, RasterizeOptions, Shape}};
    /// let grid = Grid::new(GeoTransform::identity(), 4, 4, None)?;
    /// let bad = Shape::new(geo_types::point!(x: f64::NAN, y: 0.0).into(), 1);
    /// let r = Rasterizer::new(&[bad.clone()], &grid, &RasterizeOptions::default())?;
    /// assert_eq!(r.skipped()[0].feature, 0);
    /// let strict = RasterizeOptions { skip_invalid: false, ..Default::default() };
    /// assert!(Rasterizer::new(&[bad], &grid, &strict).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        shapes: &[Shape],
        grid: &Grid,
        opts: &RasterizeOptions,
    ) -> Result<Self, RasterizeError> {
        let inv = grid.transform.inverse()?;
        let mut prims = Vec::new();
        let mut skipped = Vec::new();
        let mut valid_values = Vec::new();
        for (i, shape) in shapes.iter().enumerate() {
            let feature = shape.feature.unwrap_or(i);
            let mut out = Vec::new();
            let res = prepare::validate(feature, &shape.geometry).and_then(|()| {
                if let (false, Some(dtype)) = (opts.skip_invalid, opts.dtype)
                    && !shape.value.fits(dtype)
                {
                    return Err(RasterizeError::ValueOutOfRange {
                        feature: Some(feature),
                        value: shape.value.to_string(),
                        dtype,
                    });
                }
                prepare::explode(
                    feature,
                    &shape.geometry,
                    shape.value,
                    &inv,
                    grid.height,
                    &mut out,
                )
            });
            match res {
                Ok(()) => {
                    valid_values.push(shape.value);
                    prims.extend(out.into_iter().map(|p| Prim { shape: i, ..p }));
                }
                Err(e) if opts.skip_invalid => skipped.push(Skipped { feature, reason: e }),
                Err(e) => return Err(e),
            }
        }
        let dtype = match opts.dtype {
            Some(d) => d,
            None if !valid_values.is_empty() && valid_values.iter().all(|v| !v.is_float()) => {
                DType::I64
            }
            None => DType::F64,
        };
        if !opts.skip_invalid && !opts.fill.fits(dtype) {
            return Err(RasterizeError::ValueOutOfRange {
                feature: None,
                value: opts.fill.to_string(),
                dtype,
            });
        }
        Ok(Self {
            grid: grid.clone(),
            opts: opts.clone(),
            dtype,
            prims,
            skipped,
        })
    }

    /// The shapes skipped (empty in strict mode).
    ///
    /// ```
    /// # use geochip::{GeoTransform, Grid, rasterize::{Rasterizer, RasterizeOptions}};
    /// let grid = Grid::new(GeoTransform::identity(), 2, 2, None)?;
    /// assert!(Rasterizer::new(&[], &grid, &RasterizeOptions::default())?.skipped().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// The output dtype (given or inferred).
    ///
    /// ```
    /// # use geochip::{GeoTransform, Grid, rasterize::{Rasterizer, RasterizeOptions}};
    /// let grid = Grid::new(GeoTransform::identity(), 2, 2, None)?;
    /// let r = Rasterizer::new(&[], &grid, &RasterizeOptions::default())?;
    /// assert_eq!(r.dtype(), geochip::DType::F64); // rasterio: no shapes → float64
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The grid.
    ///
    /// ```
    /// # use geochip::{GeoTransform, Grid, rasterize::{Rasterizer, RasterizeOptions}};
    /// let grid = Grid::new(GeoTransform::identity(), 2, 2, None)?;
    /// assert_eq!(Rasterizer::new(&[], &grid, &RasterizeOptions::default())?.grid(), &grid);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Number of primitives after exploding multi-part geometries.
    ///
    /// ```
    /// # use geo_types::{polygon};
    /// # use geochip::{GeoTransform, Grid, rasterize::{Rasterizer, RasterizeOptions, Shape}};
    /// let grid = Grid::new(GeoTransform::identity(), 2, 2, None)?;
    /// let mp = geo_types::MultiPolygon(vec![
    ///     polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0)],
    ///     polygon![(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 2.0, y: 2.0)],
    /// ]);
    /// let r = Rasterizer::new(&[Shape::new(mp.into(), 1)], &grid, &RasterizeOptions::default())?;
    /// assert_eq!(r.primitive_count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn primitive_count(&self) -> usize {
        self.prims.len()
    }

    /// Burns the whole grid.
    ///
    /// ```
    /// # use geo_types::{line_string};
    /// # use geochip::{GeoTransform, Grid, rasterize::{Rasterizer, RasterizeOptions, Shape}};
    /// let grid = Grid::new(GeoTransform::identity(), 3, 3, None)?;
    /// let line = line_string![(x: 0.5, y: 0.5), (x: 2.5, y: 2.5)];
    /// let r = Rasterizer::new(&[Shape::new(line.into(), 1)], &grid, &RasterizeOptions::default())?;
    /// assert_eq!(r.burn()?.sum_f64(), 3.0); // the diagonal
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn burn(&self) -> Result<LabeledArray, RasterizeError> {
        let all: Vec<usize> = (0..self.prims.len()).collect();
        self.burn_region(
            Window::new(0, 0, self.grid.width, self.grid.height),
            &all,
            true,
        )
    }

    /// Burns one window of the grid (the same pixels as that window of [`Rasterizer::burn`]),
    /// looking only at shapes whose bounding box meets it.
    ///
    /// ```
    /// # use geochip::{GeoTransform, Grid, Window, rasterize::{Rasterizer, RasterizeOptions, Shape}};
    /// let grid = Grid::new(GeoTransform::identity(), 3, 3, None)?;
    /// let r = Rasterizer::new(&[], &grid, &RasterizeOptions::default())?;
    /// assert!(r.burn_window(Window::new(2, 2, 2, 2)).is_err()); // outside the grid
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn burn_window(&self, window: Window) -> Result<LabeledArray, RasterizeError> {
        self.grid.window(window)?;
        let ids: Vec<usize> = (0..self.prims.len())
            .filter(|&i| prim_meets(&self.prims[i], window))
            .collect();
        self.burn_region(window, &ids, false)
    }

    /// Buckets the shapes by chunk of `chunk_width × chunk_height` pixels (the last chunks
    /// may be smaller), for [`Rasterizer::burn_chunk`].
    ///
    /// ```
    /// # use geochip::{GeoTransform, Grid, rasterize::{Rasterizer, RasterizeOptions, Shape}};
    /// let grid = Grid::new(GeoTransform::identity(), 10, 10, None)?;
    /// let r = Rasterizer::new(&[Shape::new(geo_types::point!(x: 7.5, y: 1.5).into(), 1)],
    ///                         &grid, &RasterizeOptions::default())?;
    /// let index = r.chunk_index(4, 4);
    /// assert_eq!(index.chunks(), (3, 3));
    /// assert_eq!(index.shapes_in(1, 0).len(), 1);
    /// assert!(index.shapes_in(0, 0).is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn chunk_index(&self, chunk_width: usize, chunk_height: usize) -> ChunkIndex {
        let cw = chunk_width.max(1);
        let ch = chunk_height.max(1);
        let nx = self.grid.width.div_ceil(cw);
        let ny = self.grid.height.div_ceil(ch);
        let mut buckets = vec![Vec::new(); nx * ny];
        for (i, p) in self.prims.iter().enumerate() {
            let clamp = |v: i64, n: usize, size: usize| -> Option<usize> {
                if v < 0 {
                    Some(0)
                } else {
                    usize::try_from(v).ok().map(|v| (v / size).min(n - 1))
                }
            };
            let in_grid = p.cols.1 >= 0
                && p.rows.1 >= 0
                && p.cols.0 < self.grid.width as i64
                && p.rows.0 < self.grid.height as i64;
            if !in_grid {
                continue;
            }
            let (Some(cx0), Some(cx1), Some(cy0), Some(cy1)) = (
                clamp(p.cols.0, nx, cw),
                clamp(p.cols.1, nx, cw),
                clamp(p.rows.0, ny, ch),
                clamp(p.rows.1, ny, ch),
            ) else {
                continue;
            };
            for cy in cy0..=cy1 {
                for cx in cx0..=cx1 {
                    buckets[cy * nx + cx].push(i);
                }
            }
        }
        ChunkIndex {
            chunk_width: cw,
            chunk_height: ch,
            nx,
            ny,
            width: self.grid.width,
            height: self.grid.height,
            buckets,
        }
    }

    /// Burns chunk `(cx, cy)` of `index` using only the shapes bucketed there; equal to the
    /// same window of [`Rasterizer::burn`].
    ///
    /// ```
    /// # use geochip::{GeoTransform, Grid, Window, rasterize::{Rasterizer, RasterizeOptions, Shape}};
    /// let grid = Grid::new(GeoTransform::identity(), 10, 10, None)?;
    /// let r = Rasterizer::new(&[Shape::new(geo_types::point!(x: 7.5, y: 1.5).into(), 1)],
    ///                         &grid, &RasterizeOptions::default())?;
    /// let index = r.chunk_index(4, 4);
    /// let chunk = r.burn_chunk(&index, 1, 0)?;
    /// assert_eq!(chunk.shape(), &[4, 4]);
    /// assert_eq!(chunk.sum_f64(), 1.0);
    /// assert!(r.burn_chunk(&index, 3, 0).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn burn_chunk(
        &self,
        index: &ChunkIndex,
        cx: usize,
        cy: usize,
    ) -> Result<LabeledArray, RasterizeError> {
        let window = index.window(cx, cy).ok_or(GridError::WindowOutOfBounds {
            col_off: cx.saturating_mul(index.chunk_width),
            col_end: cx.saturating_add(1).saturating_mul(index.chunk_width),
            row_off: cy.saturating_mul(index.chunk_height),
            row_end: cy.saturating_add(1).saturating_mul(index.chunk_height),
            width: index.width,
            height: index.height,
        })?;
        self.grid.window(window)?;
        self.burn_region(window, &index.buckets[cy * index.nx + cx], false)
    }

    fn burn_region(
        &self,
        window: Window,
        ids: &[usize],
        allow_parallel: bool,
    ) -> Result<LabeledArray, RasterizeError> {
        let sub = self.grid.window(window)?;
        macro_rules! run {
            ($t:ty) => {{
                let buf = self.burn_typed::<$t>(window, ids, allow_parallel)?;
                ArrayData::from(to_array(buf, window)?)
            }};
        }
        let data = match self.dtype {
            DType::U8 => run!(u8),
            DType::U16 => run!(u16),
            DType::U32 => run!(u32),
            DType::U64 => run!(u64),
            DType::I8 => run!(i8),
            DType::I16 => run!(i16),
            DType::I32 => run!(i32),
            DType::I64 => run!(i64),
            DType::F32 => run!(f32),
            DType::F64 => run!(f64),
        };
        Ok(LabeledArray::new(&["y", "x"], data)?.with_grid(sub)?)
    }

    fn burn_typed<T: Pixel>(
        &self,
        window: Window,
        ids: &[usize],
        allow_parallel: bool,
    ) -> Result<Vec<T>, RasterizeError> {
        let n = window
            .width
            .checked_mul(window.height)
            .ok_or(RasterizeError::TooLarge {
                width: window.width,
                height: window.height,
            })?;
        let mut buf: Vec<T> = Vec::new();
        buf.try_reserve_exact(n)
            .map_err(|_| RasterizeError::TooLarge {
                width: window.width,
                height: window.height,
            })?;
        buf.resize(n, T::from_burn(self.opts.fill));
        let bands = if self.opts.bands == 0 {
            default_bands(window.height, allow_parallel)
        } else {
            self.opts.bands.min(window.height).max(1)
        };
        let band_rows = window.height.div_ceil(bands).max(1);
        let job = |(b, chunk): (usize, &mut [T])| {
            let r0 = window.row_off + b * band_rows;
            let rows = chunk.len() / window.width.max(1);
            let region = region_of(&self.grid, window, r0, r0 + rows);
            self.burn_band(chunk, region, ids);
        };
        if window.width == 0 {
            return Ok(buf);
        }
        #[cfg(feature = "parallel")]
        {
            if allow_parallel && bands > 1 {
                use rayon::prelude::*;
                buf.par_chunks_mut(band_rows * window.width)
                    .enumerate()
                    .for_each(job);
                return Ok(buf);
            }
        }
        let _ = allow_parallel;
        buf.chunks_mut(band_rows * window.width)
            .enumerate()
            .for_each(job);
        Ok(buf)
    }

    fn burn_band<T: Pixel>(&self, band: &mut [T], region: Region, ids: &[usize]) {
        let mut spans = Vec::new();
        let mut scratch = Scratch::default();
        let width = (region.c1 - region.c0) as usize;
        for &i in ids {
            let p = &self.prims[i];
            if p.rows.1 < region.r0
                || p.rows.0 >= region.r1
                || p.cols.1 < region.c0
                || p.cols.0 >= region.c1
            {
                continue;
            }
            match self.opts.merge {
                MergeAlg::Replace => {
                    // Spans are burned as they come: nothing to dedup.
                    let mut out = Burn {
                        band: &mut *band,
                        value: T::from_burn(p.value),
                        width,
                        r0: region.r0,
                        c0: region.c0,
                    };
                    let mut sink = Sink {
                        region,
                        out: &mut out,
                    };
                    scan::emit(p, self.opts.all_touched, &mut sink, &mut scratch);
                }
                MergeAlg::Add => {
                    spans.clear();
                    let mut sink = Sink {
                        region,
                        out: &mut spans,
                    };
                    scan::emit(p, self.opts.all_touched, &mut sink, &mut scratch);
                    if !matches!(p.kind, Kind::Points(_)) {
                        merge_spans(&mut spans);
                    }
                    let index = |row: i64, col: i64| {
                        (row - region.r0) as usize * width + (col - region.c0) as usize
                    };
                    for &(row, a, b) in spans.iter() {
                        for px in &mut band[index(row, a)..=index(row, b)] {
                            *px = px.add_burn(p.value);
                        }
                    }
                }
            }
        }
    }

    /// Exact fractional coverage (`float32` in [0, 1]): the area of each pixel covered by the
    /// polygons, as exactextract computes it for valid polygons; overlapping shapes add up,
    /// capped at 1. Lines and points have no area and add nothing.
    ///
    /// "Covered" follows GDAL's even-odd fill rule, also for invalid polygons: the coverage
    /// of a shape is the area of the pixel ∩ the even-odd interior of each polygon part,
    /// unioned over the parts of a MultiPolygon/GeometryCollection. Both lobes of a bow-tie
    /// count, a region a ring winds around twice does not, the part of a hole outside its
    /// shell is covered. Valid polygons (found by an O(n log n) sweep) are integrated as
    /// given; the others are first rebuilt as simple rings with `i_overlay` (crossing points
    /// recomputed in f64), so the coverage summed over pixels equals the even-odd area to
    /// f64 rounding either way. A polygon crossing itself more than a million times is
    /// refused with [`RasterizeError::TooManyCrossings`] naming its feature (found in
    /// bounded time; rebuilding it would not be).
    ///
    /// ```
    /// # use geo_types::{polygon};
    /// # use geochip::{GeoTransform, Grid, ArrayData, rasterize::{Rasterizer, RasterizeOptions, Shape}};
    /// let grid = Grid::new(GeoTransform::identity(), 4, 4, None)?;
    /// let sq = polygon![(x: 0.5, y: 0.5), (x: 2.5, y: 0.5), (x: 2.5, y: 2.5), (x: 0.5, y: 2.5)];
    /// let r = Rasterizer::new(&[Shape::new(sq.into(), 1)], &grid, &RasterizeOptions::default())?;
    /// let cov = r.coverage()?;
    /// let ArrayData::F32(a) = cov.data() else { unreachable!() };
    /// assert_eq!(a[[0, 0]], 0.25);
    /// assert_eq!(a[[1, 1]], 1.0);
    /// assert_eq!(cov.sum_f64(), 4.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn coverage(&self) -> Result<LabeledArray, RasterizeError> {
        let (w, h) = (self.grid.width, self.grid.height);
        let out = self.coverage_f64()?;
        let data: Vec<f32> = out.iter().map(|v| v.min(1.0) as f32).collect();
        let arr = to_array(data, Window::new(0, 0, w, h))?;
        Ok(LabeledArray::new(&["y", "x"], arr)?.with_grid(self.grid.clone())?)
    }

    /// Per-pixel coverage of each polygon primitive as f64 (not capped), summed: the total
    /// equals the polygons' area in pixels for polygons inside the grid.
    ///
    /// ```
    /// # use geo_types::{polygon};
    /// # use geochip::{GeoTransform, Grid, rasterize::{Rasterizer, RasterizeOptions, Shape}};
    /// let grid = Grid::new(GeoTransform::identity(), 4, 4, None)?;
    /// let tri = polygon![(x: 0.0, y: 0.0), (x: 3.0, y: 0.0), (x: 0.0, y: 3.0)];
    /// let r = Rasterizer::new(&[Shape::new(tri.into(), 1)], &grid, &RasterizeOptions::default())?;
    /// let total: f64 = r.coverage_f64()?.iter().sum();
    /// assert!((total - 4.5).abs() < 1e-12);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn coverage_f64(&self) -> Result<Vec<f64>, RasterizeError> {
        let (w, h) = (self.grid.width, self.grid.height);
        let mut out = vec![
            0f64;
            w.checked_mul(h).ok_or(RasterizeError::TooLarge {
                width: w,
                height: h
            })?
        ];
        let mut acc = coverage::Accumulator::new(w, h);
        // One feature at a time (its parts are consecutive): the even-odd region of each
        // part, unioned over the parts.
        let mut i = 0;
        while i < self.prims.len() {
            let shape = self.prims[i].shape;
            let mut parts: Vec<&[Vec<(f64, f64)>]> = Vec::new();
            while i < self.prims.len() && self.prims[i].shape == shape {
                if let Kind::Polygon(poly) = &self.prims[i].kind {
                    parts.push(&poly.rings);
                }
                i += 1;
            }
            if parts.is_empty() {
                continue;
            }
            acc.clear();
            match simple::resolve(&parts) {
                simple::Resolved::AsGiven => parts.iter().for_each(|p| acc.add_polygon(p)),
                simple::Resolved::Rings(rings) => acc.add_rings(&rings),
                simple::Resolved::TooComplex => {
                    return Err(RasterizeError::TooManyCrossings {
                        feature: self.prims[i - 1].feature,
                        limit: simple::MAX_CROSSINGS,
                    });
                }
            }
            acc.flush_into(&mut out);
        }
        Ok(out)
    }

    /// Aggregates the values of the shapes burning each pixel (GDAL's pixel rules, each
    /// shape once per pixel, in input order). `Count` gives `uint32`, the others `float64`
    /// with NaN where no shape burns.
    ///
    /// ```
    /// # use geochip::{GeoTransform, Grid, rasterize::{Rasterizer, RasterizeOptions, Shape, Aggregation}};
    /// let grid = Grid::new(GeoTransform::identity(), 2, 1, None)?;
    /// let a = Shape::new(geo_types::point!(x: 0.5, y: 0.5).into(), 3);
    /// let b = Shape::new(geo_types::point!(x: 0.5, y: 0.5).into(), 5);
    /// let r = Rasterizer::new(&[a, b], &grid, &RasterizeOptions::default())?;
    /// assert_eq!(r.aggregate(Aggregation::Max)?.sum_f64().is_nan(), true); // pixel 1 is NaN
    /// assert_eq!(r.aggregate(Aggregation::Count)?.sum_f64(), 2.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn aggregate(&self, agg: Aggregation) -> Result<LabeledArray, RasterizeError> {
        let (w, h) = (self.grid.width, self.grid.height);
        let n = w.checked_mul(h).ok_or(RasterizeError::TooLarge {
            width: w,
            height: h,
        })?;
        let region = region_of(&self.grid, Window::new(0, 0, w, h), 0, h);
        let mut count = vec![0u32; n];
        let mut vals = vec![f64::NAN; n];
        let mut spans = Vec::new();
        let mut scratch = Scratch::default();
        for p in &self.prims {
            spans.clear();
            let mut sink = Sink {
                region,
                out: &mut spans,
            };
            scan::emit(p, self.opts.all_touched, &mut sink, &mut scratch);
            merge_spans(&mut spans);
            let v = p.value.as_f64();
            for &(row, a, b) in spans.iter() {
                for col in a..=b {
                    let i = row as usize * w + col as usize;
                    let c = count[i];
                    count[i] = c.saturating_add(1);
                    let cur = vals[i];
                    vals[i] = match agg {
                        Aggregation::Count => cur,
                        Aggregation::Sum => {
                            if c == 0 {
                                v
                            } else {
                                cur + v
                            }
                        }
                        Aggregation::Min => {
                            if c == 0 || v < cur {
                                v
                            } else {
                                cur
                            }
                        }
                        Aggregation::Max => {
                            if c == 0 || v > cur {
                                v
                            } else {
                                cur
                            }
                        }
                        Aggregation::First => {
                            if c == 0 {
                                v
                            } else {
                                cur
                            }
                        }
                        Aggregation::Last => v,
                    };
                }
            }
        }
        let full = Window::new(0, 0, w, h);
        let data = match agg {
            Aggregation::Count => ArrayData::from(to_array(count, full)?),
            _ => ArrayData::from(to_array(vals, full)?),
        };
        Ok(LabeledArray::new(&["y", "x"], data)?.with_grid(self.grid.clone())?)
    }
}

/// Shapes bucketed by chunk (see [`Rasterizer::chunk_index`]).
///
/// ```
/// # use geochip::{GeoTransform, Grid, Window, rasterize::{Rasterizer, RasterizeOptions}};
/// let grid = Grid::new(GeoTransform::identity(), 10, 6, None)?;
/// let index = Rasterizer::new(&[], &grid, &RasterizeOptions::default())?.chunk_index(4, 4);
/// assert_eq!(index.window(2, 1), Some(Window::new(8, 4, 2, 2)));
/// assert_eq!(index.window(3, 0), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ChunkIndex {
    chunk_width: usize,
    chunk_height: usize,
    nx: usize,
    ny: usize,
    width: usize,
    height: usize,
    buckets: Vec<Vec<usize>>,
}

impl ChunkIndex {
    /// Number of chunks `(across, down)`.
    ///
    /// ```
    /// # use geochip::{GeoTransform, Grid, rasterize::{Rasterizer, RasterizeOptions}};
    /// let grid = Grid::new(GeoTransform::identity(), 10, 6, None)?;
    /// let index = Rasterizer::new(&[], &grid, &RasterizeOptions::default())?.chunk_index(4, 4);
    /// assert_eq!(index.chunks(), (3, 2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn chunks(&self) -> (usize, usize) {
        (self.nx, self.ny)
    }

    /// The window of chunk `(cx, cy)`, or `None` outside.
    ///
    /// ```
    /// # use geochip::{GeoTransform, Grid, Window, rasterize::{Rasterizer, RasterizeOptions}};
    /// let grid = Grid::new(GeoTransform::identity(), 10, 6, None)?;
    /// let index = Rasterizer::new(&[], &grid, &RasterizeOptions::default())?.chunk_index(4, 4);
    /// assert_eq!(index.window(0, 0), Some(Window::new(0, 0, 4, 4)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn window(&self, cx: usize, cy: usize) -> Option<Window> {
        if cx >= self.nx || cy >= self.ny {
            return None;
        }
        let c0 = cx * self.chunk_width;
        let r0 = cy * self.chunk_height;
        Some(Window::new(
            c0,
            r0,
            self.chunk_width.min(self.width - c0),
            self.chunk_height.min(self.height - r0),
        ))
    }

    /// Indices of the primitives bucketed in chunk `(cx, cy)` (empty outside).
    ///
    /// ```
    /// # use geochip::{GeoTransform, Grid, rasterize::{Rasterizer, RasterizeOptions}};
    /// let grid = Grid::new(GeoTransform::identity(), 10, 6, None)?;
    /// let index = Rasterizer::new(&[], &grid, &RasterizeOptions::default())?.chunk_index(4, 4);
    /// assert!(index.shapes_in(9, 9).is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shapes_in(&self, cx: usize, cy: usize) -> &[usize] {
        if cx >= self.nx || cy >= self.ny {
            return &[];
        }
        &self.buckets[cy * self.nx + cx]
    }
}

/// One band per row without threads (each band re-walks the edges that cross it); with the
/// `parallel` feature, four per worker thread for load balance.
fn default_bands(height: usize, allow_parallel: bool) -> usize {
    #[cfg(feature = "parallel")]
    {
        if allow_parallel {
            return (rayon::current_num_threads() * 4).clamp(1, height.div_ceil(16).max(1));
        }
    }
    let _ = (height, allow_parallel);
    1
}

fn prim_meets(p: &Prim, w: Window) -> bool {
    p.rows.1 >= w.row_off as i64
        && p.rows.0 < w.row_end() as i64
        && p.cols.1 >= w.col_off as i64
        && p.cols.0 < w.col_end() as i64
}

fn region_of(grid: &Grid, window: Window, r0: usize, r1: usize) -> Region {
    Region {
        r0: r0 as i64,
        r1: r1 as i64,
        c0: window.col_off as i64,
        c1: window.col_end() as i64,
        width: grid.width as i64,
        height: grid.height as i64,
    }
}

/// Replace-mode output: spans written straight into a band of the output.
struct Burn<'a, T> {
    band: &'a mut [T],
    value: T,
    width: usize,
    r0: i64,
    c0: i64,
}

impl<T: Pixel> scan::SpanOut for Burn<'_, T> {
    #[inline]
    fn put(&mut self, row: i64, a: i64, b: i64) {
        let base = (row - self.r0) as usize * self.width;
        let (a, b) = ((a - self.c0) as usize, (b - self.c0) as usize);
        self.band[base + a..=base + b].fill(self.value);
    }
}

/// Sorts spans and merges overlapping ones (per-geometry dedup of add mode).
fn merge_spans(spans: &mut Vec<(i64, i64, i64)>) {
    if spans.len() < 2 {
        return;
    }
    spans.sort_unstable();
    let mut w = 0;
    for i in 1..spans.len() {
        let s = spans[i];
        let last = &mut spans[w];
        if s.0 == last.0 && s.1 <= last.2 + 1 {
            last.2 = last.2.max(s.2);
        } else {
            w += 1;
            spans[w] = s;
        }
    }
    spans.truncate(w + 1);
}

fn to_array<T>(buf: Vec<T>, window: Window) -> Result<ArrayD<T>, RasterizeError> {
    let len = buf.len();
    ArrayD::from_shape_vec(IxDyn(&[window.height, window.width]), buf).map_err(|_| {
        RasterizeError::DType(ArrayError::ShapeMismatch {
            len,
            shape: vec![window.height, window.width],
            expected: window.height * window.width,
        })
    })
}

#[cfg(test)]
mod tests;
