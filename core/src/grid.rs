//! The georeferenced [`Grid`]: a CRS, an affine transform and a shape.
//!
//! Every array geochip stacks, burns or slices lives on a grid; a chip's grid is a
//! [`Grid::window`] of its parent's, so a chip can always be written as a georeferenced file.

use serde::{Deserialize, Serialize};

use crate::crs::Crs;
use crate::transform::GeoTransform;

/// Errors from building or using a [`Grid`] or a [`GeoTransform`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GridError {
    /// A transform coefficient is NaN or infinite.
    #[error("transform: coefficient {name} is {value}, expected a finite number")]
    NonFiniteCoefficient {
        /// Coefficient name in rasterio order: a, b, c, d, e or f.
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// The transform maps the plane onto a line or a point (e.g. a zero pixel size).
    #[error(
        "transform: {transform:?} (a, b, c, d, e, f) is not invertible: a zero pixel size or \
         collinear axes map every pixel onto a line"
    )]
    NotInvertible {
        /// The transform in rasterio order.
        transform: [f64; 6],
    },
    /// A width or height of zero.
    #[error("grid: shape {width}x{height} (width x height) is empty; both must be at least 1")]
    EmptyShape {
        /// Columns.
        width: usize,
        /// Rows.
        height: usize,
    },
    /// A window that does not lie inside its grid.
    #[error(
        "window: cols {col_off}..{col_end}, rows {row_off}..{row_end} is outside the \
         {width}x{height} grid"
    )]
    WindowOutOfBounds {
        /// First column of the window.
        col_off: usize,
        /// One past the last column.
        col_end: usize,
        /// First row.
        row_off: usize,
        /// One past the last row.
        row_end: usize,
        /// Grid width.
        width: usize,
        /// Grid height.
        height: usize,
    },
    /// A pixel anchor name other than center, ul, ur, ll, lr.
    #[error("anchor: '{text}' is not one of center, ul, ur, ll, lr")]
    UnknownAnchor {
        /// What was given.
        text: String,
    },
    /// A world coordinate that is NaN or infinite.
    #[error("coordinate: ({x}, {y}) is not a finite point")]
    NonFiniteCoordinate {
        /// x.
        x: f64,
        /// y.
        y: f64,
    },
}

/// Which point of a pixel a coordinate refers to (rasterio's `offset` argument of `xy`).
///
/// ```
/// use geochip::{GeoTransform, Grid, PixelAnchor};
/// let g = Grid::new(GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 100.0), 4, 4, None).unwrap();
/// assert_eq!(g.pixel_to_world(0, 0, PixelAnchor::Center), (5.0, 95.0));
/// assert_eq!(g.pixel_to_world(0, 0, PixelAnchor::UpperLeft), (0.0, 100.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelAnchor {
    /// The pixel centre, `(col + 0.5, row + 0.5)`: what xarray/rioxarray coordinates hold.
    #[default]
    Center,
    /// The upper-left corner `(col, row)`.
    UpperLeft,
    /// The upper-right corner `(col + 1, row)`.
    UpperRight,
    /// The lower-left corner `(col, row + 1)`.
    LowerLeft,
    /// The lower-right corner `(col + 1, row + 1)`.
    LowerRight,
}

impl PixelAnchor {
    /// The offset `(dcol, drow)` of this anchor from the pixel's upper-left corner.
    ///
    /// ```
    /// assert_eq!(geochip::PixelAnchor::Center.offset(), (0.5, 0.5));
    /// ```
    pub const fn offset(self) -> (f64, f64) {
        match self {
            PixelAnchor::Center => (0.5, 0.5),
            PixelAnchor::UpperLeft => (0.0, 0.0),
            PixelAnchor::UpperRight => (1.0, 0.0),
            PixelAnchor::LowerLeft => (0.0, 1.0),
            PixelAnchor::LowerRight => (1.0, 1.0),
        }
    }
}

impl std::str::FromStr for PixelAnchor {
    type Err = GridError;

    /// rasterio's `offset` names: `center`, `ul`, `ur`, `ll`, `lr` (long forms accepted too).
    ///
    /// ```
    /// use geochip::PixelAnchor;
    /// assert_eq!("ul".parse::<PixelAnchor>().unwrap(), PixelAnchor::UpperLeft);
    /// assert!("middle".parse::<PixelAnchor>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "center" | "centre" => PixelAnchor::Center,
            "ul" | "upper_left" => PixelAnchor::UpperLeft,
            "ur" | "upper_right" => PixelAnchor::UpperRight,
            "ll" | "lower_left" => PixelAnchor::LowerLeft,
            "lr" | "lower_right" => PixelAnchor::LowerRight,
            _ => return Err(GridError::UnknownAnchor { text: s.to_owned() }),
        })
    }
}

/// A world-space bounding box `(left, bottom, right, top)`, with `left ≤ right`, `bottom ≤ top`.
///
/// ```
/// let b = geochip::Bounds { left: 0.0, bottom: 60.0, right: 40.0, top: 100.0 };
/// assert_eq!(b.width(), 40.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    /// Minimum x.
    pub left: f64,
    /// Minimum y.
    pub bottom: f64,
    /// Maximum x.
    pub right: f64,
    /// Maximum y.
    pub top: f64,
}

impl Bounds {
    /// `right − left`.
    ///
    /// ```
    /// assert_eq!(geochip::Bounds { left: 1.0, bottom: 0.0, right: 4.0, top: 2.0 }.width(), 3.0);
    /// ```
    pub fn width(&self) -> f64 {
        self.right - self.left
    }

    /// `top − bottom`.
    ///
    /// ```
    /// assert_eq!(geochip::Bounds { left: 1.0, bottom: 0.0, right: 4.0, top: 2.0 }.height(), 2.0);
    /// ```
    pub fn height(&self) -> f64 {
        self.top - self.bottom
    }

    /// As `[left, bottom, right, top]` (rasterio's `BoundingBox` order).
    ///
    /// ```
    /// let b = geochip::Bounds { left: 1.0, bottom: 0.0, right: 4.0, top: 2.0 };
    /// assert_eq!(b.to_array(), [1.0, 0.0, 4.0, 2.0]);
    /// ```
    pub fn to_array(&self) -> [f64; 4] {
        [self.left, self.bottom, self.right, self.top]
    }
}

/// A rectangular block of pixels: `width × height` starting at `(col_off, row_off)`.
///
/// ```
/// let w = geochip::Window::new(2, 3, 4, 5);
/// assert_eq!((w.col_end(), w.row_end()), (6, 8));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    /// First column.
    pub col_off: usize,
    /// First row.
    pub row_off: usize,
    /// Number of columns.
    pub width: usize,
    /// Number of rows.
    pub height: usize,
}

impl Window {
    /// A window from offsets and size.
    ///
    /// ```
    /// let w = geochip::Window::new(0, 0, 256, 256);
    /// assert_eq!(w.width, 256);
    /// ```
    pub const fn new(col_off: usize, row_off: usize, width: usize, height: usize) -> Self {
        Self {
            col_off,
            row_off,
            width,
            height,
        }
    }

    /// One past the last column (saturating).
    ///
    /// ```
    /// assert_eq!(geochip::Window::new(2, 0, 3, 1).col_end(), 5);
    /// ```
    pub const fn col_end(&self) -> usize {
        self.col_off.saturating_add(self.width)
    }

    /// One past the last row (saturating).
    ///
    /// ```
    /// assert_eq!(geochip::Window::new(0, 2, 1, 3).row_end(), 5);
    /// ```
    pub const fn row_end(&self) -> usize {
        self.row_off.saturating_add(self.height)
    }
}

/// A georeferenced raster grid: CRS, affine transform and shape.
///
/// ```
/// use geochip::{Crs, GeoTransform, Grid, PixelAnchor};
/// // rasterio's RGB.byte.tif (Landsat 7, UTM 18N)
/// let g = Grid::new(
///     GeoTransform::from_gdal([101985.0, 300.0379266750948, 0.0, 2826915.0, 0.0, -300.041782729805]),
///     791, 718, Some(Crs::Epsg(32618)),
/// ).unwrap();
/// let b = g.bounds();
/// assert_eq!((b.left, b.top), (101985.0, 2826915.0));
/// assert!((b.right - 339315.0).abs() < 1e-6 && (b.bottom - 2611485.0).abs() < 1e-6);
/// let (x, y) = g.pixel_to_world(0, 0, PixelAnchor::Center);
/// // GDAL's inverse arithmetic lands a few ulps off the centre, exactly as GDAL does:
/// assert_eq!(g.world_to_pixel(x, y).unwrap(), (0.49999999999994316, 0.5));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// The CRS, when known.
    pub crs: Option<Crs>,
    /// Pixel → world transform.
    pub transform: GeoTransform,
    /// Number of columns (x).
    pub width: usize,
    /// Number of rows (y).
    pub height: usize,
}

impl Grid {
    /// A grid, after checking the transform is finite and invertible and the shape non-empty.
    ///
    /// ```
    /// use geochip::{GeoTransform, Grid};
    /// assert!(Grid::new(GeoTransform::identity(), 3, 2, None).is_ok());
    /// assert!(Grid::new(GeoTransform::identity(), 0, 2, None).is_err());
    /// ```
    pub fn new(
        transform: GeoTransform,
        width: usize,
        height: usize,
        crs: Option<Crs>,
    ) -> Result<Self, GridError> {
        transform.validate()?;
        if width == 0 || height == 0 {
            return Err(GridError::EmptyShape { width, height });
        }
        Ok(Self {
            crs,
            transform,
            width,
            height,
        })
    }

    /// `(height, width)`: rows then columns, the order of numpy/rasterio `.shape`.
    ///
    /// ```
    /// let g = geochip::Grid::new(geochip::GeoTransform::identity(), 3, 2, None).unwrap();
    /// assert_eq!(g.shape(), (2, 3));
    /// ```
    pub const fn shape(&self) -> (usize, usize) {
        (self.height, self.width)
    }

    /// World coordinates of a pixel's centre or corner (rasterio's `xy(row, col, offset)`,
    /// with the arguments in `(col, row)` order like `Affine * (col, row)`).
    ///
    /// Pixels outside the grid are allowed (a transform extends over the whole plane).
    ///
    /// ```
    /// use geochip::{GeoTransform, Grid, PixelAnchor};
    /// let g = Grid::new(GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 100.0), 4, 4, None).unwrap();
    /// assert_eq!(g.pixel_to_world(3, 3, PixelAnchor::LowerRight), (40.0, 60.0));
    /// ```
    pub fn pixel_to_world(&self, col: i64, row: i64, anchor: PixelAnchor) -> (f64, f64) {
        let (dc, dr) = anchor.offset();
        self.transform.apply(col as f64 + dc, row as f64 + dr)
    }

    /// Continuous pixel position `(col, row)` of a world point, with GDAL's inverse arithmetic.
    ///
    /// ```
    /// use geochip::{GeoTransform, Grid};
    /// let g = Grid::new(GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 100.0), 4, 4, None).unwrap();
    /// assert_eq!(g.world_to_pixel(15.0, 85.0).unwrap(), (1.5, 1.5));
    /// assert!(g.world_to_pixel(f64::NAN, 0.0).is_err());
    /// ```
    pub fn world_to_pixel(&self, x: f64, y: f64) -> Result<(f64, f64), GridError> {
        if !x.is_finite() || !y.is_finite() {
            return Err(GridError::NonFiniteCoordinate { x, y });
        }
        Ok(self.transform.inverse()?.apply_gdal(x, y))
    }

    /// The `(col, row)` of the pixel containing a world point (floor of
    /// [`Grid::world_to_pixel`], rasterio's `index` with `op=floor`), or `None` outside the grid.
    ///
    /// ```
    /// use geochip::{GeoTransform, Grid};
    /// let g = Grid::new(GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 100.0), 4, 4, None).unwrap();
    /// assert_eq!(g.pixel_at(15.0, 85.0).unwrap(), Some((1, 1)));
    /// assert_eq!(g.pixel_at(-1.0, 85.0).unwrap(), None);
    /// ```
    pub fn pixel_at(&self, x: f64, y: f64) -> Result<Option<(usize, usize)>, GridError> {
        let (col, row) = self.world_to_pixel(x, y)?;
        let (col, row) = (col.floor(), row.floor());
        let inside =
            col >= 0.0 && row >= 0.0 && col < self.width as f64 && row < self.height as f64;
        // In range of usize by the check above; `as` truncates an already-integral value.
        Ok(inside.then_some((col as usize, row as usize)))
    }

    /// The world bounding box of the whole grid (min/max over its four corners, so
    /// south-up and rotated grids still give `left ≤ right`, `bottom ≤ top`).
    ///
    /// ```
    /// use geochip::{GeoTransform, Grid};
    /// let g = Grid::new(GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 100.0), 4, 2, None).unwrap();
    /// assert_eq!(g.bounds().to_array(), [0.0, 80.0, 40.0, 100.0]);
    /// ```
    pub fn bounds(&self) -> Bounds {
        let (w, h) = (self.width as f64, self.height as f64);
        let corners = [
            self.transform.apply(0.0, 0.0),
            self.transform.apply(w, 0.0),
            self.transform.apply(0.0, h),
            self.transform.apply(w, h),
        ];
        let mut b = Bounds {
            left: f64::INFINITY,
            bottom: f64::INFINITY,
            right: f64::NEG_INFINITY,
            top: f64::NEG_INFINITY,
        };
        for (x, y) in corners {
            b.left = b.left.min(x);
            b.right = b.right.max(x);
            b.bottom = b.bottom.min(y);
            b.top = b.top.max(y);
        }
        b
    }

    /// The grid of a window of this grid: same CRS and pixel size, origin moved to the
    /// window's upper-left pixel (rasterio's `window_transform`). The window must lie inside.
    ///
    /// ```
    /// use geochip::{GeoTransform, Grid, Window};
    /// let g = Grid::new(GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 100.0), 8, 8, None).unwrap();
    /// let chip = g.window(Window::new(2, 4, 3, 3)).unwrap();
    /// assert_eq!(chip.transform.to_affine(), [10.0, 0.0, 20.0, 0.0, -10.0, 60.0]);
    /// assert_eq!(chip.shape(), (3, 3));
    /// assert!(g.window(Window::new(6, 0, 3, 1)).is_err());
    /// ```
    pub fn window(&self, window: Window) -> Result<Grid, GridError> {
        let out = GridError::WindowOutOfBounds {
            col_off: window.col_off,
            col_end: window.col_end(),
            row_off: window.row_off,
            row_end: window.row_end(),
            width: self.width,
            height: self.height,
        };
        if window.width == 0 || window.height == 0 {
            return Err(GridError::EmptyShape {
                width: window.width,
                height: window.height,
            });
        }
        if window.col_end() > self.width
            || window.row_end() > self.height
            || window.col_off.checked_add(window.width).is_none()
            || window.row_off.checked_add(window.height).is_none()
        {
            return Err(out);
        }
        Ok(Grid {
            crs: self.crs.clone(),
            transform: self
                .transform
                .translated(window.col_off as f64, window.row_off as f64),
            width: window.width,
            height: window.height,
        })
    }

    /// Pixel-centre coordinates along x (one per column) and y (one per row), as xarray
    /// coordinates hold them for a rectilinear grid. For rotated grids these are the centres
    /// along the first row and first column.
    ///
    /// ```
    /// use geochip::{GeoTransform, Grid};
    /// let g = Grid::new(GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 100.0), 3, 2, None).unwrap();
    /// let (xs, ys) = g.coords();
    /// assert_eq!(xs, vec![5.0, 15.0, 25.0]);
    /// assert_eq!(ys, vec![95.0, 85.0]);
    /// ```
    pub fn coords(&self) -> (Vec<f64>, Vec<f64>) {
        let xs = (0..self.width)
            .map(|c| self.transform.apply(c as f64 + 0.5, 0.5).0)
            .collect();
        let ys = (0..self.height)
            .map(|r| self.transform.apply(0.5, r as f64 + 0.5).1)
            .collect();
        (xs, ys)
    }

    /// A JSON description: CRS, shape, transform in both orders, bounds and resolution.
    ///
    /// ```
    /// use geochip::{Crs, GeoTransform, Grid};
    /// let g = Grid::new(GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 100.0), 3, 2,
    ///                   Some(Crs::Epsg(32633))).unwrap();
    /// let v = g.to_json();
    /// assert_eq!(v["crs"], "EPSG:32633");
    /// assert_eq!(v["shape"], serde_json::json!([2, 3]));
    /// assert_eq!(v["gdal_geotransform"][1], 10.0);
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        let b = self.bounds();
        serde_json::json!({
            "crs": self.crs.as_ref().map(|c| c.to_string()),
            "width": self.width,
            "height": self.height,
            "shape": [self.height, self.width],
            "transform": self.transform.to_affine(),
            "gdal_geotransform": self.transform.to_gdal(),
            "bounds": b.to_array(),
            "res": [self.transform.a.hypot(self.transform.d), self.transform.b.hypot(self.transform.e)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid::new(
            GeoTransform::new(10.0, 0.0, 1000.0, 0.0, -10.0, 2000.0),
            100,
            50,
            Some(Crs::Epsg(32633)),
        )
        .unwrap()
    }

    #[test]
    fn centre_round_trip_every_pixel() {
        let g = grid();
        for row in 0..50 {
            for col in 0..100 {
                let (x, y) = g.pixel_to_world(col, row, PixelAnchor::Center);
                assert_eq!(
                    g.pixel_at(x, y).unwrap(),
                    Some((col as usize, row as usize))
                );
            }
        }
    }

    #[test]
    fn window_grid_pixels_agree_with_parent() {
        let g = grid();
        let w = g.window(Window::new(10, 20, 5, 7)).unwrap();
        for (c, r) in [(0, 0), (4, 6), (2, 3)] {
            assert_eq!(
                w.pixel_to_world(c, r, PixelAnchor::UpperLeft),
                g.pixel_to_world(c + 10, r + 20, PixelAnchor::UpperLeft)
            );
        }
        assert_eq!(w.crs, g.crs);
    }

    #[test]
    fn window_errors_name_the_window() {
        let err = grid().window(Window::new(95, 0, 10, 1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "window: cols 95..105, rows 0..1 is outside the 100x50 grid"
        );
        let err = grid().window(Window::new(usize::MAX, 0, 2, 1)).unwrap_err();
        assert!(matches!(err, GridError::WindowOutOfBounds { .. }));
        assert!(matches!(
            grid().window(Window::new(0, 0, 0, 1)),
            Err(GridError::EmptyShape { .. })
        ));
    }

    #[test]
    fn rotated_bounds_use_all_corners() {
        let g = Grid::new(GeoTransform::new(1.0, 1.0, 0.0, -1.0, 1.0, 0.0), 2, 2, None).unwrap();
        assert_eq!(g.bounds().to_array(), [0.0, -2.0, 4.0, 2.0]);
    }

    #[test]
    fn south_up_bounds_are_ordered() {
        let g = Grid::new(GeoTransform::new(1.0, 0.0, 0.0, 0.0, 1.0, 0.0), 2, 3, None).unwrap();
        assert_eq!(g.bounds().to_array(), [0.0, 0.0, 2.0, 3.0]);
    }
}
