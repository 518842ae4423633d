//! Affine geotransforms, in rasterio's `Affine` order and GDAL's geotransform order.
//!
//! A pixel position `(col, row)` (continuous: pixel `(i, j)` covers `[i, i+1) × [j, j+1)`)
//! maps to world coordinates by
//!
//! ```text
//! x = a·col + b·row + c
//! y = d·col + e·row + f
//! ```
//!
//! rasterio's `Affine(a, b, c, d, e, f)` lists the coefficients in that order; GDAL's
//! geotransform lists them as `(c, a, b, f, d, e)`.

use serde::{Deserialize, Serialize};

use crate::grid::GridError;

/// An affine map from pixel space `(col, row)` to world space `(x, y)`.
///
/// ```
/// use geochip::GeoTransform;
/// // 30 m pixels, origin (upper-left corner) at (300000, 4000000), north up.
/// let t = GeoTransform::new(30.0, 0.0, 300000.0, 0.0, -30.0, 4000000.0);
/// assert_eq!(t.apply(1.0, 2.0), (300030.0, 3999940.0));
/// assert_eq!(t.to_gdal(), [300000.0, 30.0, 0.0, 4000000.0, 0.0, -30.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoTransform {
    /// x per column (pixel width for north-up grids).
    pub a: f64,
    /// x per row (rotation / shear term).
    pub b: f64,
    /// x of the upper-left corner of pixel (0, 0).
    pub c: f64,
    /// y per column (rotation / shear term).
    pub d: f64,
    /// y per row (negative pixel height for north-up grids).
    pub e: f64,
    /// y of the upper-left corner of pixel (0, 0).
    pub f: f64,
}

impl GeoTransform {
    /// A transform from its six coefficients in rasterio `Affine` order `(a, b, c, d, e, f)`.
    ///
    /// ```
    /// let t = geochip::GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 100.0);
    /// assert_eq!(t.pixel_size(), (10.0, -10.0));
    /// ```
    pub const fn new(a: f64, b: f64, c: f64, d: f64, e: f64, f: f64) -> Self {
        Self { a, b, c, d, e, f }
    }

    /// The identity transform: world coordinates equal pixel coordinates.
    ///
    /// ```
    /// assert_eq!(geochip::GeoTransform::identity().apply(3.5, 1.0), (3.5, 1.0));
    /// ```
    pub const fn identity() -> Self {
        Self::new(1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    }

    /// From rasterio `Affine` order `[a, b, c, d, e, f]`.
    ///
    /// ```
    /// let t = geochip::GeoTransform::from_affine([1.0, 0.0, 5.0, 0.0, -1.0, 9.0]);
    /// assert_eq!(t.to_affine(), [1.0, 0.0, 5.0, 0.0, -1.0, 9.0]);
    /// ```
    pub const fn from_affine(v: [f64; 6]) -> Self {
        Self::new(v[0], v[1], v[2], v[3], v[4], v[5])
    }

    /// The coefficients in rasterio `Affine` order `[a, b, c, d, e, f]`.
    ///
    /// ```
    /// let t = geochip::GeoTransform::from_gdal([5.0, 1.0, 0.0, 9.0, 0.0, -1.0]);
    /// assert_eq!(t.to_affine(), [1.0, 0.0, 5.0, 0.0, -1.0, 9.0]);
    /// ```
    pub const fn to_affine(&self) -> [f64; 6] {
        [self.a, self.b, self.c, self.d, self.e, self.f]
    }

    /// From GDAL geotransform order `[c, a, b, f, d, e]`
    /// (`GT(0)` = origin x, `GT(1)` = pixel width, … `GT(5)` = pixel height).
    ///
    /// ```
    /// let t = geochip::GeoTransform::from_gdal([300000.0, 30.0, 0.0, 4000000.0, 0.0, -30.0]);
    /// assert_eq!((t.a, t.c, t.e, t.f), (30.0, 300000.0, -30.0, 4000000.0));
    /// ```
    pub const fn from_gdal(gt: [f64; 6]) -> Self {
        Self::new(gt[1], gt[2], gt[0], gt[4], gt[5], gt[3])
    }

    /// The coefficients in GDAL geotransform order `[c, a, b, f, d, e]`.
    ///
    /// ```
    /// let t = geochip::GeoTransform::new(30.0, 0.0, 1.0, 0.0, -30.0, 2.0);
    /// assert_eq!(t.to_gdal(), [1.0, 30.0, 0.0, 2.0, 0.0, -30.0]);
    /// ```
    pub const fn to_gdal(&self) -> [f64; 6] {
        [self.c, self.a, self.b, self.f, self.d, self.e]
    }

    /// Maps a continuous pixel position `(col, row)` to world `(x, y)`.
    ///
    /// ```
    /// let t = geochip::GeoTransform::new(2.0, 0.0, 10.0, 0.0, -2.0, 20.0);
    /// assert_eq!(t.apply(0.5, 0.5), (11.0, 19.0));
    /// ```
    pub fn apply(&self, col: f64, row: f64) -> (f64, f64) {
        (
            self.a * col + self.b * row + self.c,
            self.d * col + self.e * row + self.f,
        )
    }

    /// `(a, e)`: the pixel width and (usually negative) pixel height of a north-up grid.
    ///
    /// ```
    /// let t = geochip::GeoTransform::new(10.0, 0.0, 0.0, 0.0, -20.0, 0.0);
    /// assert_eq!(t.pixel_size(), (10.0, -20.0));
    /// ```
    pub const fn pixel_size(&self) -> (f64, f64) {
        (self.a, self.e)
    }

    /// True when the transform has no rotation or shear (`b == 0 && d == 0`).
    ///
    /// ```
    /// assert!(geochip::GeoTransform::identity().is_rectilinear());
    /// assert!(!geochip::GeoTransform::new(1.0, 0.5, 0.0, 0.0, 1.0, 0.0).is_rectilinear());
    /// ```
    pub fn is_rectilinear(&self) -> bool {
        self.b == 0.0 && self.d == 0.0
    }

    /// The determinant `a·e − b·d` (signed pixel area in world units).
    ///
    /// ```
    /// assert_eq!(geochip::GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 0.0).determinant(), -100.0);
    /// ```
    pub fn determinant(&self) -> f64 {
        self.a * self.e - self.b * self.d
    }

    /// Checks that every coefficient is finite and the transform is invertible.
    ///
    /// ```
    /// use geochip::GeoTransform;
    /// assert!(GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 0.0).validate().is_ok());
    /// let err = GeoTransform::new(0.0, 0.0, 0.0, 0.0, -10.0, 0.0).validate().unwrap_err();
    /// assert!(err.to_string().contains("not invertible"));
    /// ```
    pub fn validate(&self) -> Result<(), GridError> {
        for (name, v) in [
            ("a", self.a),
            ("b", self.b),
            ("c", self.c),
            ("d", self.d),
            ("e", self.e),
            ("f", self.f),
        ] {
            if !v.is_finite() {
                return Err(GridError::NonFiniteCoefficient { name, value: v });
            }
        }
        self.inverse().map(|_| ())
    }

    /// The inverse transform (world → pixel), computed exactly as GDAL's
    /// `GDALInvGeoTransform` does, so pixel positions agree with GDAL to the last bit.
    ///
    /// For rectilinear transforms GDAL uses `1/a` and `1/e` directly (no determinant);
    /// otherwise the 2×2 inverse, failing when `|det| ≤ 1e-10 · max|coef|²`.
    ///
    /// ```
    /// use geochip::GeoTransform;
    /// let t = GeoTransform::new(10.0, 0.0, 100.0, 0.0, -10.0, 200.0);
    /// let inv = t.inverse().unwrap();
    /// assert_eq!(inv.apply(150.0, 150.0), (5.0, 5.0));
    /// assert!(GeoTransform::new(1.0, 2.0, 0.0, 2.0, 4.0, 0.0).inverse().is_err());
    /// ```
    pub fn inverse(&self) -> Result<GeoTransform, GridError> {
        // Work in GDAL order so the arithmetic is GDAL's, operation for operation.
        let gt = self.to_gdal();
        if gt[2] == 0.0 && gt[4] == 0.0 && gt[1] != 0.0 && gt[5] != 0.0 {
            return Ok(GeoTransform::from_gdal([
                -gt[0] / gt[1],
                1.0 / gt[1],
                0.0,
                -gt[3] / gt[5],
                0.0,
                1.0 / gt[5],
            ]));
        }
        let det = gt[1] * gt[5] - gt[2] * gt[4];
        let magnitude = gt[1]
            .abs()
            .max(gt[2].abs())
            .max(gt[4].abs().max(gt[5].abs()));
        if det.is_nan() || det.abs() <= 1e-10 * magnitude * magnitude {
            return Err(GridError::NotInvertible {
                transform: self.to_affine(),
            });
        }
        let inv_det = 1.0 / det;
        Ok(GeoTransform::from_gdal([
            (gt[2] * gt[3] - gt[0] * gt[5]) * inv_det,
            gt[5] * inv_det,
            -gt[2] * inv_det,
            (-gt[1] * gt[3] + gt[0] * gt[4]) * inv_det,
            -gt[4] * inv_det,
            gt[1] * inv_det,
        ]))
    }

    /// Applies an inverse transform as GDAL does: `col = inv0 + x·inv1 + y·inv2`,
    /// `row = inv3 + x·inv4 + y·inv5` (that operation order, which differs from
    /// [`GeoTransform::apply`] in the last bits).
    ///
    /// ```
    /// use geochip::GeoTransform;
    /// let inv = GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 100.0).inverse().unwrap();
    /// assert_eq!(inv.apply_gdal(25.0, 75.0), (2.5, 2.5));
    /// ```
    pub fn apply_gdal(&self, x: f64, y: f64) -> (f64, f64) {
        let g = self.to_gdal();
        (g[0] + x * g[1] + y * g[2], g[3] + x * g[4] + y * g[5])
    }

    /// The transform of a grid whose pixel (0, 0) is pixel `(col_off, row_off)` of this one.
    ///
    /// ```
    /// use geochip::GeoTransform;
    /// let t = GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 100.0);
    /// assert_eq!(t.translated(2.0, 3.0), GeoTransform::new(10.0, 0.0, 20.0, 0.0, -10.0, 70.0));
    /// ```
    pub fn translated(&self, col_off: f64, row_off: f64) -> GeoTransform {
        let (c, f) = self.apply(col_off, row_off);
        GeoTransform { c, f, ..*self }
    }
}

impl Default for GeoTransform {
    fn default() -> Self {
        Self::identity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gdal_and_affine_orders_round_trip() {
        let gt = [
            101985.0,
            300.0379266750948,
            0.0,
            2826915.0,
            0.0,
            -300.041782729805,
        ];
        let t = GeoTransform::from_gdal(gt);
        assert_eq!(t.to_gdal(), gt);
        assert_eq!(
            t.to_affine(),
            [
                300.0379266750948,
                0.0,
                101985.0,
                0.0,
                -300.041782729805,
                2826915.0
            ]
        );
        assert_eq!(GeoTransform::from_affine(t.to_affine()), t);
    }

    #[test]
    fn inverse_of_rotated_transform_round_trips() {
        let t = GeoTransform::new(10.0, 2.0, 500.0, 3.0, -10.0, 900.0);
        let inv = t.inverse().unwrap();
        let (x, y) = t.apply(7.25, 3.5);
        let (c, r) = inv.apply_gdal(x, y);
        assert!((c - 7.25).abs() < 1e-9 && (r - 3.5).abs() < 1e-9, "{c} {r}");
    }

    #[test]
    fn rectilinear_inverse_uses_reciprocal_like_gdal() {
        // 1/10 is inexact, so GDAL's inverse places world 5.0 at 0.5000000000000001-ish
        // positions; check we use exactly 1.0 / a, not x / a.
        let inv = GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 0.0)
            .inverse()
            .unwrap();
        assert_eq!(inv.a, 1.0 / 10.0);
        assert_eq!(inv.e, 1.0 / -10.0);
        assert_eq!(inv.c, -0.0 / 10.0);
    }

    #[test]
    fn zero_pixel_size_is_not_invertible() {
        let err = GeoTransform::new(0.0, 0.0, 1.0, 0.0, -1.0, 0.0)
            .inverse()
            .unwrap_err();
        assert!(matches!(err, GridError::NotInvertible { .. }));
        let err = GeoTransform::new(f64::NAN, 0.0, 1.0, 0.0, -1.0, 0.0)
            .validate()
            .unwrap_err();
        assert!(matches!(
            err,
            GridError::NonFiniteCoefficient { name: "a", .. }
        ));
    }
}
