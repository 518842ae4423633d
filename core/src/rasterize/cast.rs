//! Burn values and how they are written into each dtype (GDAL's `GDALCopyWord` rules).

use std::fmt;

use crate::array::DType;

/// A burn value: an exact integer or a float.
///
/// Floats follow GDAL exactly (round half away from zero, saturate, NaN → 0 for integer
/// dtypes). Integers are written exactly into integer dtypes (saturating), so `int64`/`uint64`
/// labels above 2⁵³ survive — rasterio routes every value through a C `double` and loses them.
///
/// ```
/// use geochip::rasterize::BurnValue;
/// assert_eq!(BurnValue::from(7i64), BurnValue::Int(7));
/// assert_eq!(BurnValue::from(2.5f64).as_f64(), 2.5);
/// assert_eq!(BurnValue::UInt(u64::MAX).to_string(), "18446744073709551615");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BurnValue {
    /// A signed integer.
    Int(i64),
    /// An unsigned integer (for values above `i64::MAX`).
    UInt(u64),
    /// A float (the only kind rasterio/GDAL have).
    Float(f64),
}

impl BurnValue {
    /// The value as a C double, as GDAL sees it.
    ///
    /// ```
    /// assert_eq!(geochip::rasterize::BurnValue::Int(-3).as_f64(), -3.0);
    /// ```
    pub fn as_f64(self) -> f64 {
        match self {
            BurnValue::Int(v) => v as f64,
            BurnValue::UInt(v) => v as f64,
            BurnValue::Float(v) => v,
        }
    }

    /// True for [`BurnValue::Float`].
    ///
    /// ```
    /// assert!(geochip::rasterize::BurnValue::Float(1.0).is_float());
    /// ```
    pub fn is_float(self) -> bool {
        matches!(self, BurnValue::Float(_))
    }

    /// True when the value is written into `dtype` without saturation (and, for integer
    /// dtypes, is not NaN): the check of strict mode. Fractions round and still fit.
    ///
    /// ```
    /// use geochip::{DType, rasterize::BurnValue};
    /// assert!(BurnValue::Int(255).fits(DType::U8));
    /// assert!(!BurnValue::Int(256).fits(DType::U8));
    /// assert!(BurnValue::Float(-0.4).fits(DType::U8));
    /// assert!(!BurnValue::Float(f64::NAN).fits(DType::I32));
    /// assert!(!BurnValue::Float(1e39).fits(DType::F32));
    /// ```
    pub fn fits(self, dtype: DType) -> bool {
        let range: Option<(i128, i128)> = match dtype {
            DType::U8 => Some((0, u8::MAX.into())),
            DType::U16 => Some((0, u16::MAX.into())),
            DType::U32 => Some((0, u32::MAX.into())),
            DType::U64 => Some((0, u64::MAX.into())),
            DType::I8 => Some((i8::MIN.into(), i8::MAX.into())),
            DType::I16 => Some((i16::MIN.into(), i16::MAX.into())),
            DType::I32 => Some((i32::MIN.into(), i32::MAX.into())),
            DType::I64 => Some((i64::MIN.into(), i64::MAX.into())),
            DType::F32 | DType::F64 => None,
        };
        match (range, self) {
            (Some((lo, hi)), BurnValue::Int(v)) => (lo..=hi).contains(&i128::from(v)),
            (Some((lo, hi)), BurnValue::UInt(v)) => (lo..=hi).contains(&i128::from(v)),
            (Some((lo, hi)), BurnValue::Float(v)) => {
                if v.is_nan() {
                    return false;
                }
                let r = v.round();
                // lo and hi + 1 are powers of two (or zero), exact in f64.
                r >= lo as f64 && r < (hi + 1) as f64
            }
            (None, v) => {
                let v = v.as_f64();
                dtype == DType::F64 || !v.is_finite() || v.abs() <= f64::from(f32::MAX)
            }
        }
    }
}

impl fmt::Display for BurnValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BurnValue::Int(v) => write!(f, "{v}"),
            BurnValue::UInt(v) => write!(f, "{v}"),
            BurnValue::Float(v) => write!(f, "{v:?}"),
        }
    }
}

/// `From` impls for the integer and float types a burn value can come from: signed and
/// small unsigned integers stay exact as `Int`, `u64` as `UInt`, floats as `Float`.
macro_rules! burn_value_from {
    ($($t:ty => $variant:ident),* $(,)?) => {
        $(impl From<$t> for BurnValue {
            fn from(v: $t) -> Self {
                BurnValue::$variant(v.into())
            }
        })*
    };
}

burn_value_from!(i64 => Int, i32 => Int, u32 => Int, u64 => UInt, f64 => Float);

/// A pixel type that burn values are written into.
pub(crate) trait Pixel: Copy + Send + Sync + 'static {
    /// The value written for a burn value (GDAL's `GDALCopyWord` for floats).
    fn from_burn(v: BurnValue) -> Self;
    /// `self + v`, as GDAL's add merge computes it (in double for float burn values).
    fn add_burn(self, v: BurnValue) -> Self;
}

/// GDAL's double → integer copy: NaN → 0, round half away from zero (by adding ±0.5 and
/// truncating, so 0.49999999999999994 → 1 like GDAL), saturate.
#[inline]
fn round_gdal(v: f64) -> f64 {
    if v >= 0.0 { v + 0.5 } else { v - 0.5 }
}

macro_rules! int_pixel {
    ($t:ty) => {
        impl Pixel for $t {
            #[inline]
            fn from_burn(v: BurnValue) -> Self {
                match v {
                    BurnValue::Int(i) => {
                        <$t>::try_from(i).unwrap_or(if i < 0 { <$t>::MIN } else { <$t>::MAX })
                    }
                    BurnValue::UInt(u) => <$t>::try_from(u).unwrap_or(<$t>::MAX),
                    BurnValue::Float(f) => {
                        if f.is_nan() {
                            return 0;
                        }
                        let r = round_gdal(f);
                        if r > <$t>::MAX as f64 {
                            <$t>::MAX
                        } else if r < <$t>::MIN as f64 {
                            <$t>::MIN
                        } else {
                            // In range (or exactly 2^63/2^64, see u64 below): truncation.
                            r as $t
                        }
                    }
                }
            }
            #[inline]
            fn add_burn(self, v: BurnValue) -> Self {
                match v {
                    BurnValue::Float(f) => Self::from_burn(BurnValue::Float(self as f64 + f)),
                    BurnValue::Int(i) => {
                        let s = i128::from(self) + i128::from(i);
                        <$t>::try_from(s).unwrap_or(if s < 0 { <$t>::MIN } else { <$t>::MAX })
                    }
                    BurnValue::UInt(u) => {
                        let s = i128::from(self) + i128::from(u);
                        <$t>::try_from(s).unwrap_or(if s < 0 { <$t>::MIN } else { <$t>::MAX })
                    }
                }
            }
        }
    };
}
int_pixel!(u8);
int_pixel!(u16);
int_pixel!(u32);
int_pixel!(i8);
int_pixel!(i16);
int_pixel!(i32);
int_pixel!(i64);

// u64 by hand: GDAL (x86-64) turns a rounded value of exactly 2^64 into 0 (the C++ cast of
// an out-of-range double; measured with rasterio 1.4.4 / GDAL 3.10.3), while larger values
// saturate. Reproduced for parity.
impl Pixel for u64 {
    #[inline]
    fn from_burn(v: BurnValue) -> Self {
        match v {
            BurnValue::Int(i) => u64::try_from(i).unwrap_or(0),
            BurnValue::UInt(u) => u,
            BurnValue::Float(f) => {
                if f.is_nan() {
                    return 0;
                }
                let r = round_gdal(f);
                const TWO_64: f64 = 18_446_744_073_709_551_616.0;
                if r == TWO_64 {
                    0
                } else if r > TWO_64 {
                    u64::MAX
                } else if r < 0.0 {
                    0
                } else {
                    r as u64
                }
            }
        }
    }
    #[inline]
    fn add_burn(self, v: BurnValue) -> Self {
        match v {
            BurnValue::Float(f) => Self::from_burn(BurnValue::Float(self as f64 + f)),
            BurnValue::Int(i) => {
                let s = i128::from(self) + i128::from(i);
                u64::try_from(s).unwrap_or(if s < 0 { 0 } else { u64::MAX })
            }
            BurnValue::UInt(u) => self.saturating_add(u),
        }
    }
}

impl Pixel for f64 {
    #[inline]
    fn from_burn(v: BurnValue) -> Self {
        // GDAL burns `value + variant` with a zero variant, so -0.0 becomes +0.0.
        v.as_f64() + 0.0
    }
    #[inline]
    fn add_burn(self, v: BurnValue) -> Self {
        self + v.as_f64()
    }
}

#[inline]
fn f64_to_f32_gdal(v: f64) -> f32 {
    // GDAL sends finite values beyond the float range to ±inf (Rust's `as` would round
    // 3.4028235e38 down to f32::MAX).
    if v > f64::from(f32::MAX) {
        f32::INFINITY
    } else if v < -f64::from(f32::MAX) {
        f32::NEG_INFINITY
    } else {
        v as f32
    }
}

impl Pixel for f32 {
    #[inline]
    fn from_burn(v: BurnValue) -> Self {
        f64_to_f32_gdal(v.as_f64() + 0.0)
    }
    #[inline]
    fn add_burn(self, v: BurnValue) -> Self {
        f64_to_f32_gdal(f64::from(self) + v.as_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gdal_rounding_and_saturation() {
        assert_eq!(u8::from_burn(BurnValue::Float(300.0)), 255);
        assert_eq!(u8::from_burn(BurnValue::Float(2.7)), 3);
        assert_eq!(u8::from_burn(BurnValue::Float(-1.0)), 0);
        assert_eq!(u8::from_burn(BurnValue::Float(0.49999999999999994)), 1);
        assert_eq!(i8::from_burn(BurnValue::Float(-2.5)), -3);
        assert_eq!(i64::from_burn(BurnValue::Float(9.3e18)), i64::MAX);
        assert_eq!(u64::from_burn(BurnValue::Float(18446744073709551616.0)), 0);
        assert_eq!(u64::from_burn(BurnValue::Float(1e300)), u64::MAX);
        assert_eq!(
            f32::from_burn(BurnValue::Float(3.4028235e38)),
            f32::INFINITY
        );
        assert_eq!(
            f64::from_burn(BurnValue::Float(-0.0)).to_bits(),
            0.0f64.to_bits()
        );
    }

    #[test]
    fn exact_integers_do_not_round_through_f64() {
        let big = (1i64 << 53) + 1;
        assert_eq!(i64::from_burn(BurnValue::Int(big)), big);
        assert_eq!(i64::from_burn(BurnValue::Float(big as f64)), 1i64 << 53);
        assert_eq!(u64::from_burn(BurnValue::UInt(u64::MAX - 1)), u64::MAX - 1);
        assert_eq!(7i64.add_burn(BurnValue::Int(big)), big + 7);
        assert_eq!(u8::from_burn(BurnValue::Int(-5)), 0);
        assert_eq!(i8::from_burn(BurnValue::UInt(500)), 127);
        assert_eq!(250u8.add_burn(BurnValue::Int(10)), 255);
    }
}
