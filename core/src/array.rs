//! A labelled n-dimensional array on `ndarray`: named dims (`time`, `band`, `y`, `x`), a
//! runtime dtype, and optionally the [`Grid`] its `y`/`x` dims lie on.
//!
//! This is geochip's `xarray.DataArray`: slicing, stacking and rasterization produce and
//! consume it, and its checksum (SHA-256 of the C-order little-endian bytes, the same bytes
//! numpy's `arr.astype('<i4').tobytes()` gives) is how results are compared across targets.

use std::fmt;
use std::str::FromStr;

use ndarray::{ArrayD, IxDyn};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::grid::Grid;

/// Errors from building or indexing a [`LabeledArray`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArrayError {
    /// Number of dim names differs from the number of axes.
    #[error("array: {names} dim names {dims:?} for an array with {ndim} axes")]
    DimCount {
        /// How many names were given.
        names: usize,
        /// The names.
        dims: Vec<String>,
        /// Axes of the data.
        ndim: usize,
    },
    /// The same dim name twice.
    #[error("array: dim name '{name}' appears more than once in {dims:?}")]
    DuplicateDim {
        /// The repeated name.
        name: String,
        /// All names.
        dims: Vec<String>,
    },
    /// An empty dim name.
    #[error("array: empty dim name in {dims:?}")]
    EmptyDimName {
        /// All names.
        dims: Vec<String>,
    },
    /// A dim name that the array does not have.
    #[error("array: no dim named '{name}' (dims are {dims:?})")]
    UnknownDim {
        /// The name asked for.
        name: String,
        /// The array's dims.
        dims: Vec<String>,
    },
    /// A dtype name that geochip does not know.
    #[error(
        "dtype: '{name}' is not a supported dtype (uint8, uint16, uint32, uint64, int8, int16, \
         int32, int64, float32, float64)"
    )]
    UnknownDType {
        /// The name as given.
        name: String,
    },
    /// A flat buffer whose length does not match the shape.
    #[error("array: {len} values cannot fill shape {shape:?} ({expected} values)")]
    ShapeMismatch {
        /// Values given.
        len: usize,
        /// Requested shape.
        shape: Vec<usize>,
        /// Values the shape needs.
        expected: usize,
    },
    /// A grid whose shape differs from the array's `y`/`x` sizes, or an array without `y`/`x`.
    #[error(
        "array: grid of {grid_height}x{grid_width} (rows x cols) does not fit dims {dims:?} with shape {shape:?}"
    )]
    GridMismatch {
        /// Grid rows.
        grid_height: usize,
        /// Grid columns.
        grid_width: usize,
        /// Array dims.
        dims: Vec<String>,
        /// Array shape.
        shape: Vec<usize>,
    },
}

/// The element type of an array, named as numpy names it.
///
/// ```
/// use geochip::DType;
/// let t: DType = "float32".parse().unwrap();
/// assert_eq!(t, DType::F32);
/// assert_eq!(t.size(), 4);
/// assert_eq!(DType::U16.to_string(), "uint16");
/// assert!("float128".parse::<DType>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DType {
    /// `uint8`
    U8,
    /// `uint16`
    U16,
    /// `uint32`
    U32,
    /// `uint64`
    U64,
    /// `int8`
    I8,
    /// `int16`
    I16,
    /// `int32`
    I32,
    /// `int64`
    I64,
    /// `float32`
    F32,
    /// `float64`
    F64,
}

impl DType {
    /// Every dtype, in the order above.
    pub const ALL: [DType; 10] = [
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::F32,
        DType::F64,
    ];

    /// numpy's name, e.g. `"int32"`.
    ///
    /// ```
    /// assert_eq!(geochip::DType::I32.name(), "int32");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// Bytes per element.
    ///
    /// ```
    /// assert_eq!(geochip::DType::F64.size(), 8);
    /// ```
    pub const fn size(self) -> usize {
        match self {
            DType::U8 | DType::I8 => 1,
            DType::U16 | DType::I16 => 2,
            DType::U32 | DType::I32 | DType::F32 => 4,
            DType::U64 | DType::I64 | DType::F64 => 8,
        }
    }

    /// True for `float32` and `float64`.
    ///
    /// ```
    /// assert!(geochip::DType::F32.is_float());
    /// assert!(!geochip::DType::I64.is_float());
    /// ```
    pub const fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DType {
    type Err = ArrayError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        // numpy's names plus its short array-protocol codes, as .npy headers write them.
        let dtype = match t.as_str() {
            "uint8" | "u1" | "|u1" | "<u1" => DType::U8,
            "uint16" | "u2" | "<u2" => DType::U16,
            "uint32" | "u4" | "<u4" => DType::U32,
            "uint64" | "u8" | "<u8" => DType::U64,
            "int8" | "i1" | "|i1" | "<i1" => DType::I8,
            "int16" | "i2" | "<i2" => DType::I16,
            "int32" | "i4" | "<i4" => DType::I32,
            "int64" | "i8" | "<i8" => DType::I64,
            "float32" | "f4" | "<f4" => DType::F32,
            "float64" | "f8" | "<f8" => DType::F64,
            _ => return Err(ArrayError::UnknownDType { name: s.to_owned() }),
        };
        Ok(dtype)
    }
}

impl TryFrom<String> for DType {
    type Error = ArrayError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<DType> for String {
    fn from(value: DType) -> Self {
        value.name().to_owned()
    }
}

/// A Rust scalar type that geochip arrays can hold.
///
/// ```
/// use geochip::{DType, Element};
/// assert_eq!(<u16 as Element>::DTYPE, DType::U16);
/// let mut out = Vec::new();
/// 258u16.extend_le_bytes(&mut out);
/// assert_eq!(out, vec![2, 1]);
/// ```
pub trait Element: Copy + Send + Sync + PartialEq + fmt::Debug + 'static {
    /// The runtime dtype of this type.
    const DTYPE: DType;
    /// Appends the little-endian bytes of `self`.
    fn extend_le_bytes(self, out: &mut Vec<u8>);
}

/// The data of a [`LabeledArray`], one variant per dtype.
///
/// ```
/// use geochip::{ArrayData, DType};
/// let d = ArrayData::from(ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[2, 2])));
/// assert_eq!(d.dtype(), DType::F32);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ArrayData {
    /// `uint8` data.
    U8(ArrayD<u8>),
    /// `uint16` data.
    U16(ArrayD<u16>),
    /// `uint32` data.
    U32(ArrayD<u32>),
    /// `uint64` data.
    U64(ArrayD<u64>),
    /// `int8` data.
    I8(ArrayD<i8>),
    /// `int16` data.
    I16(ArrayD<i16>),
    /// `int32` data.
    I32(ArrayD<i32>),
    /// `int64` data.
    I64(ArrayD<i64>),
    /// `float32` data.
    F32(ArrayD<f32>),
    /// `float64` data.
    F64(ArrayD<f64>),
}

/// Runs `$body` with `$a` bound to the typed `ArrayD<T>` inside an [`ArrayData`].
macro_rules! with_data {
    ($data:expr, $a:ident => $body:expr) => {
        match $data {
            ArrayData::U8($a) => $body,
            ArrayData::U16($a) => $body,
            ArrayData::U32($a) => $body,
            ArrayData::U64($a) => $body,
            ArrayData::I8($a) => $body,
            ArrayData::I16($a) => $body,
            ArrayData::I32($a) => $body,
            ArrayData::I64($a) => $body,
            ArrayData::F32($a) => $body,
            ArrayData::F64($a) => $body,
        }
    };
}
pub(crate) use with_data;

macro_rules! element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn extend_le_bytes(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
        impl From<ArrayD<$t>> for ArrayData {
            fn from(a: ArrayD<$t>) -> Self {
                ArrayData::$variant(a)
            }
        }
    };
}
element!(u8, U8);
element!(u16, U16);
element!(u32, U32);
element!(u64, U64);
element!(i8, I8);
element!(i16, I16);
element!(i32, I32);
element!(i64, I64);
element!(f32, F32);
element!(f64, F64);

impl ArrayData {
    /// The dtype of the data.
    ///
    /// ```
    /// let d = geochip::ArrayData::from(ndarray::ArrayD::<u8>::zeros(ndarray::IxDyn(&[1])));
    /// assert_eq!(d.dtype(), geochip::DType::U8);
    /// ```
    pub fn dtype(&self) -> DType {
        match self {
            ArrayData::U8(_) => DType::U8,
            ArrayData::U16(_) => DType::U16,
            ArrayData::U32(_) => DType::U32,
            ArrayData::U64(_) => DType::U64,
            ArrayData::I8(_) => DType::I8,
            ArrayData::I16(_) => DType::I16,
            ArrayData::I32(_) => DType::I32,
            ArrayData::I64(_) => DType::I64,
            ArrayData::F32(_) => DType::F32,
            ArrayData::F64(_) => DType::F64,
        }
    }

    /// The shape.
    ///
    /// ```
    /// let d = geochip::ArrayData::from(ndarray::ArrayD::<u8>::zeros(ndarray::IxDyn(&[2, 5])));
    /// assert_eq!(d.shape(), &[2, 5]);
    /// ```
    pub fn shape(&self) -> &[usize] {
        with_data!(self, a => a.shape())
    }

    /// The values as C-order little-endian bytes (numpy's `tobytes()` of a `<` dtype).
    ///
    /// ```
    /// let d = geochip::ArrayData::from(ndarray::arr1(&[1i32, 256]).into_dyn());
    /// assert_eq!(d.to_le_bytes(), vec![1, 0, 0, 0, 0, 1, 0, 0]);
    /// ```
    pub fn to_le_bytes(&self) -> Vec<u8> {
        with_data!(self, a => {
            let mut out = Vec::with_capacity(a.len() * self.dtype().size());
            for v in a.iter() {
                v.extend_le_bytes(&mut out);
            }
            out
        })
    }
}

/// Lower-case hex SHA-256 of a byte string.
///
/// ```
/// assert_eq!(
///     geochip::sha256_hex(b""),
///     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/// );
/// ```
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
    }
    hex
}

/// An n-d array with named dims, a dtype, and optionally the grid of its `y`/`x` dims.
///
/// ```
/// use geochip::{DType, LabeledArray};
/// let a = LabeledArray::arange_i32(&["y", "x"], &[2, 3]).unwrap();
/// assert_eq!(a.dims(), &["y", "x"]);
/// assert_eq!(a.shape(), &[2, 3]);
/// assert_eq!(a.dtype(), DType::I32);
/// assert_eq!(a.size_of("x").unwrap(), 3);
/// // numpy: hashlib.sha256(np.arange(6, dtype='<i4').tobytes()).hexdigest()
/// assert_eq!(a.sha256(), geochip::sha256_hex(&[0,0,0,0, 1,0,0,0, 2,0,0,0, 3,0,0,0, 4,0,0,0, 5,0,0,0]));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledArray {
    dims: Vec<String>,
    data: ArrayData,
    grid: Option<Grid>,
}

impl LabeledArray {
    /// An array from dim names and data; names must be unique, non-empty, one per axis.
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// let data = ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[3, 4, 5]));
    /// let a = LabeledArray::new(&["band", "y", "x"], data.clone()).unwrap();
    /// assert_eq!(a.ndim(), 3);
    /// assert!(LabeledArray::new(&["y", "y", "x"], data).is_err());
    /// ```
    pub fn new<S: AsRef<str>>(dims: &[S], data: impl Into<ArrayData>) -> Result<Self, ArrayError> {
        let data = data.into();
        let dims: Vec<String> = dims.iter().map(|d| d.as_ref().to_owned()).collect();
        if dims.len() != data.shape().len() {
            return Err(ArrayError::DimCount {
                names: dims.len(),
                ndim: data.shape().len(),
                dims,
            });
        }
        if dims.iter().any(String::is_empty) {
            return Err(ArrayError::EmptyDimName { dims });
        }
        for (i, d) in dims.iter().enumerate() {
            if dims[..i].contains(d) {
                return Err(ArrayError::DuplicateDim {
                    name: d.clone(),
                    dims: dims.clone(),
                });
            }
        }
        Ok(Self {
            dims,
            data,
            grid: None,
        })
    }

    /// An `int32` array whose every value is its flat C-order index (`np.arange(n).reshape`),
    /// the input of the xbatcher reference cases.
    ///
    /// ```
    /// let a = geochip::LabeledArray::arange_i32(&["x"], &[4]).unwrap();
    /// assert_eq!(a.data().to_le_bytes()[4], 1);
    /// ```
    pub fn arange_i32<S: AsRef<str>>(dims: &[S], shape: &[usize]) -> Result<Self, ArrayError> {
        let n: usize = shape.iter().product();
        let values: Vec<i32> = (0..n)
            .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
            .collect();
        Self::from_shape_vec(dims, shape, values)
    }

    /// An array from a flat C-order buffer and a shape.
    ///
    /// ```
    /// let a = geochip::LabeledArray::from_shape_vec(&["y", "x"], &[2, 2], vec![1u8, 2, 3, 4]).unwrap();
    /// assert_eq!(a.shape(), &[2, 2]);
    /// assert!(geochip::LabeledArray::from_shape_vec(&["y"], &[3], vec![1u8]).is_err());
    /// ```
    pub fn from_shape_vec<S: AsRef<str>, T: Element>(
        dims: &[S],
        shape: &[usize],
        values: Vec<T>,
    ) -> Result<Self, ArrayError>
    where
        ArrayData: From<ArrayD<T>>,
    {
        let len = values.len();
        let data = ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|_| {
            ArrayError::ShapeMismatch {
                len,
                shape: shape.to_vec(),
                expected: shape.iter().product(),
            }
        })?;
        Self::new(dims, data)
    }

    /// Attaches the grid of the `y` and `x` dims; their sizes must equal the grid's shape.
    ///
    /// ```
    /// use geochip::{GeoTransform, Grid, LabeledArray};
    /// let g = Grid::new(GeoTransform::identity(), 3, 2, None).unwrap();
    /// let a = LabeledArray::arange_i32(&["band", "y", "x"], &[1, 2, 3]).unwrap();
    /// assert!(a.clone().with_grid(g.clone()).is_ok());
    /// let wrong = LabeledArray::arange_i32(&["y", "x"], &[3, 2]).unwrap();
    /// assert!(wrong.with_grid(g).is_err());
    /// ```
    pub fn with_grid(mut self, grid: Grid) -> Result<Self, ArrayError> {
        let fits = matches!(
            (self.size_of("y"), self.size_of("x")),
            (Ok(h), Ok(w)) if h == grid.height && w == grid.width
        );
        if !fits {
            return Err(ArrayError::GridMismatch {
                grid_height: grid.height,
                grid_width: grid.width,
                dims: self.dims.clone(),
                shape: self.shape().to_vec(),
            });
        }
        self.grid = Some(grid);
        Ok(self)
    }

    /// The dim names, in axis order.
    ///
    /// ```
    /// let a = geochip::LabeledArray::arange_i32(&["t", "x"], &[1, 1]).unwrap();
    /// assert_eq!(a.dims(), &["t", "x"]);
    /// ```
    pub fn dims(&self) -> &[String] {
        &self.dims
    }

    /// The shape, in axis order.
    ///
    /// ```
    /// let a = geochip::LabeledArray::arange_i32(&["t", "x"], &[2, 5]).unwrap();
    /// assert_eq!(a.shape(), &[2, 5]);
    /// ```
    pub fn shape(&self) -> &[usize] {
        self.data.shape()
    }

    /// Number of axes.
    ///
    /// ```
    /// assert_eq!(geochip::LabeledArray::arange_i32(&["x"], &[2]).unwrap().ndim(), 1);
    /// ```
    pub fn ndim(&self) -> usize {
        self.dims.len()
    }

    /// Number of elements.
    ///
    /// ```
    /// assert_eq!(geochip::LabeledArray::arange_i32(&["y", "x"], &[2, 3]).unwrap().len(), 6);
    /// ```
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    /// True when some dim has size 0.
    ///
    /// ```
    /// assert!(geochip::LabeledArray::arange_i32(&["x"], &[0]).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The dtype.
    ///
    /// ```
    /// assert_eq!(geochip::LabeledArray::arange_i32(&["x"], &[1]).unwrap().dtype(), geochip::DType::I32);
    /// ```
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// The typed data.
    ///
    /// ```
    /// let a = geochip::LabeledArray::arange_i32(&["x"], &[3]).unwrap();
    /// assert!(matches!(a.data(), geochip::ArrayData::I32(_)));
    /// ```
    pub fn data(&self) -> &ArrayData {
        &self.data
    }

    /// The grid of the `y`/`x` dims, when attached.
    ///
    /// ```
    /// assert!(geochip::LabeledArray::arange_i32(&["x"], &[3]).unwrap().grid().is_none());
    /// ```
    pub fn grid(&self) -> Option<&Grid> {
        self.grid.as_ref()
    }

    /// The axis index of a dim.
    ///
    /// ```
    /// let a = geochip::LabeledArray::arange_i32(&["band", "y", "x"], &[1, 2, 3]).unwrap();
    /// assert_eq!(a.axis("y").unwrap(), 1);
    /// assert_eq!(a.axis("time").unwrap_err().to_string(),
    ///            "array: no dim named 'time' (dims are [\"band\", \"y\", \"x\"])");
    /// ```
    pub fn axis(&self, name: &str) -> Result<usize, ArrayError> {
        self.dims
            .iter()
            .position(|d| d == name)
            .ok_or_else(|| ArrayError::UnknownDim {
                name: name.to_owned(),
                dims: self.dims.clone(),
            })
    }

    /// The size of a dim.
    ///
    /// ```
    /// let a = geochip::LabeledArray::arange_i32(&["y", "x"], &[2, 3]).unwrap();
    /// assert_eq!(a.size_of("x").unwrap(), 3);
    /// ```
    pub fn size_of(&self, name: &str) -> Result<usize, ArrayError> {
        Ok(self.shape()[self.axis(name)?])
    }

    /// SHA-256 (hex) of the C-order little-endian bytes: equal to numpy's
    /// `hashlib.sha256(arr.astype(arr.dtype.newbyteorder('<')).tobytes()).hexdigest()`.
    ///
    /// ```
    /// let a = geochip::LabeledArray::arange_i32(&["x"], &[0]).unwrap();
    /// assert_eq!(a.sha256(), geochip::sha256_hex(b""));
    /// ```
    pub fn sha256(&self) -> String {
        sha256_hex(&self.data.to_le_bytes())
    }

    /// Sum of all values as f64 (exact for integer arrays below 2⁵³).
    ///
    /// ```
    /// assert_eq!(geochip::LabeledArray::arange_i32(&["x"], &[5]).unwrap().sum_f64(), 10.0);
    /// ```
    // The macro expands once per dtype; for f64 the cast is a no-op.
    #[allow(clippy::unnecessary_cast)]
    pub fn sum_f64(&self) -> f64 {
        with_data!(&self.data, a => a.iter().map(|v| *v as f64).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arange_matches_numpy_bytes() {
        // python: hashlib.sha256(np.arange(12, dtype='<i4').tobytes()).hexdigest()
        let a = LabeledArray::arange_i32(&["a", "b", "c"], &[2, 3, 2]).unwrap();
        let mut bytes = Vec::new();
        for i in 0i32..12 {
            bytes.extend_from_slice(&i.to_le_bytes());
        }
        assert_eq!(a.data().to_le_bytes(), bytes);
        assert_eq!(a.sum_f64(), 66.0);
    }

    #[test]
    fn checksum_follows_logical_not_memory_order() {
        let a = ndarray::Array2::from_shape_vec((2, 2), vec![1u8, 2, 3, 4]).unwrap();
        let t = a.t().to_owned().into_dyn();
        let la = LabeledArray::new(&["x", "y"], t).unwrap();
        assert_eq!(la.data().to_le_bytes(), vec![1, 3, 2, 4]);
    }

    #[test]
    fn bad_dims_are_named() {
        let d = ArrayD::<u8>::zeros(IxDyn(&[1, 1]));
        assert_eq!(
            LabeledArray::new(&["y"], d.clone())
                .unwrap_err()
                .to_string(),
            "array: 1 dim names [\"y\"] for an array with 2 axes"
        );
        assert!(matches!(
            LabeledArray::new(&["y", ""], d),
            Err(ArrayError::EmptyDimName { .. })
        ));
    }

    #[test]
    fn every_dtype_round_trips_by_name() {
        for t in DType::ALL {
            assert_eq!(t.name().parse::<DType>().unwrap(), t);
        }
    }

    #[test]
    fn sha256_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
