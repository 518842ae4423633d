//! Chunk slicing: ML chips from any labelled cube, patch-for-patch compatible with
//! xbatcher 0.4.0's `BatchGenerator`, plus the options xbatcher users have asked for.
//!
//! # The xbatcher mode (the default)
//!
//! A [`SliceSpec`] holds xbatcher's four arguments, in **insertion order** (it matters):
//! `input_dims`, `input_overlap` (negative overlap leaves gaps), `batch_dims` and
//! `concat_input_dims`. [`SlicePlan`] turns it into the exact xbatcher geometry:
//!
//! * sliced dims S: the `batch_dims` entries not in `input_dims` (window = their value), then
//!   every `input_dims` entry, in the given orders;
//! * per dim, stride `s = w − o`, windows `[k·s, k·s + w)` for `k < K = ⌊(N − w)/s⌋ + 1`;
//!   the trailing remainder is dropped;
//! * patches: the cartesian product of the per-dim windows in S order, last dim fastest;
//! * batches: one per patch, or with `concat_input_dims` grouped as xbatcher groups them;
//! * output dims: xbatcher's `sample` stacking, transposition and `_input` renaming.
//!
//! Nothing is stored per patch: patch `i` is found by unravelling `i` over the window counts,
//! so a plan over 10⁸ patches costs a few hundred bytes and [`SlicePlan::len`],
//! [`SlicePlan::patch`] and [`SlicePlan::batch`] are O(dims).
//!
//! # Deviations from xbatcher (bugs not copied)
//!
//! * **Empty batches (xbatcher issue #184).** With `concat_input_dims` and a `batch_dims`
//!   value that is not a multiple of the stride, xbatcher's `len()` counts batches that hold no
//!   patch and raise `ValueError: min() arg is an empty sequence` when indexed. geochip never
//!   produces an empty batch: [`SlicePlan::len`] counts only non-empty batches and batch `i` is
//!   the `i`-th non-empty batch of xbatcher's order. (Because the patch-to-batch map is a
//!   product over dims, the non-empty batches form a grid and random access stays O(dims).)
//! * **Coordinates outer-joined under concat.** xbatcher concatenates DataArray patches
//!   *with* their index coordinates, so the concat outer-joins them (a 10×10 request on a
//!   20×30 array came back 20×30 with 9000 NaNs). geochip never joins coordinates: a batch's
//!   values are exactly its patches stacked, and each patch's position is carried explicitly by
//!   its [`PatchInfo`] (start index per dim) and [`SlicePlan::chip_grid`] (its own affine
//!   transform and CRS).
//! * **Errors instead of silent acceptance.** An `input_overlap` on a dim that is not sliced,
//!   or a duplicate `batch_dims` value larger than its dim under `concat_input_dims`, are
//!   errors ([`SliceError`]) rather than being ignored or producing zero batches.
//! * A *Dataset* is sliced by building one plan ([`SlicePlan::new`] needs only dims and shape)
//!   and applying it to each variable's array; the selectors are the same by construction.
//!
//! # Options beyond xbatcher (each off by default)
//!
//! [`EdgePolicy`] (drop, pad, shift-last-inside, partial), an integer batch size with
//! `drop_last`, seeded random sampling with replacement and a seeded per-epoch shuffle from
//! geochip's own [`rng`], a [`ChipFilter`] applied before batching, per-chip georeference
//! ([`SlicePlan::chip_grid`]) and [`Reassembler`] to put per-chip predictions back into a map.
//!
//! ```
//! use geochip::LabeledArray;
//! use geochip::slice::{BatchGenerator, SliceSpec};
//! let cube = LabeledArray::arange_i32(&["time", "y", "x"], &[3, 37, 53]).unwrap();
//! let spec = SliceSpec::new(&[("y", 10), ("x", 12)]).input_overlap(&[("y", 3), ("x", 5)]);
//! let batches = BatchGenerator::new(&cube, &spec).unwrap();
//! assert_eq!(batches.len(), 24);
//! let b = batches.get(1).unwrap();
//! assert_eq!(b.array.dims(), &["time", "y", "x"]);
//! assert_eq!(b.array.shape(), &[3, 10, 12]);
//! assert_eq!(b.patches[0].selector.to_string(), "{y: 0..10, x: 7..19}");
//! ```

mod filter;
mod gather;
mod generator;
mod plan;
mod reassemble;
pub mod rng;

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::array::{ArrayError, DType};
use crate::grid::GridError;

pub use filter::ChipFilter;
pub use gather::SliceElement;
pub use generator::{Batch, BatchGenerator};
pub use plan::{BatchIds, SlicePlan};
pub use reassemble::{ReassembleMode, Reassembler};

/// Errors from slicing. Each names the argument and the values at fault.
///
/// ```
/// use geochip::slice::{SliceError, SlicePlan, SliceSpec};
/// let err = SlicePlan::new(&["y", "x"], &[10, 10], &SliceSpec::new(&[("y", 16)])).unwrap_err();
/// assert!(matches!(err, SliceError::WindowLargerThanDim { .. }));
/// assert_eq!(err.to_string(), "input_dims: window y=16 is larger than the dim's size 10");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SliceError {
    /// The array has no axes or a dim of size 0.
    #[error("array: cannot slice an empty array (dims {dims:?}, shape {shape:?})")]
    EmptyArray {
        /// Dim names.
        dims: Vec<String>,
        /// Shape.
        shape: Vec<usize>,
    },
    /// `input_dims` is empty.
    #[error("input_dims: at least one dim is needed (array dims are {dims:?})")]
    NoInputDims {
        /// The array's dims.
        dims: Vec<String>,
    },
    /// A dim name that the array does not have.
    #[error("{argument}: no dim named '{dim}' (array dims are {dims:?})")]
    UnknownDim {
        /// `input_dims`, `input_overlap` or `batch_dims`.
        argument: &'static str,
        /// The name given.
        dim: String,
        /// The array's dims.
        dims: Vec<String>,
    },
    /// The same dim twice in one argument.
    #[error("{argument}: dim '{dim}' is given more than once")]
    DuplicateDim {
        /// The argument.
        argument: &'static str,
        /// The repeated dim.
        dim: String,
    },
    /// A window, batch or sample size of zero.
    #[error("{argument}: size of '{dim}' is 0; it must be at least 1")]
    ZeroSize {
        /// The argument.
        argument: &'static str,
        /// The dim (or the option's name).
        dim: String,
    },
    /// A window larger than its dim (allowed only with the pad and partial edge policies).
    #[error("{argument}: window {dim}={window} is larger than the dim's size {size}")]
    WindowLargerThanDim {
        /// `input_dims` or `batch_dims`.
        argument: &'static str,
        /// The dim.
        dim: String,
        /// The window asked for.
        window: usize,
        /// The dim's size.
        size: usize,
    },
    /// An overlap not smaller than its window (the stride would be ≤ 0).
    #[error("input_overlap: overlap {dim}={overlap} must be smaller than the window {window}")]
    OverlapNotSmallerThanWindow {
        /// The dim.
        dim: String,
        /// The overlap.
        overlap: i64,
        /// The window.
        window: usize,
    },
    /// An overlap for a dim that is in neither `input_dims` nor `batch_dims`.
    #[error(
        "input_overlap: dim '{dim}' has an overlap but is not sliced (sliced dims are {sliced:?})"
    )]
    OverlapOnUnslicedDim {
        /// The dim.
        dim: String,
        /// The sliced dims.
        sliced: Vec<String>,
    },
    /// A stride or patch count that does not fit in 64 bits.
    #[error("{argument}: {what} overflows 64 bits")]
    Overflow {
        /// The argument.
        argument: &'static str,
        /// What overflowed.
        what: String,
    },
    /// An integer batch size of 0.
    #[error("batch_size: must be at least 1, got 0")]
    BatchSizeZero,
    /// Two options that cannot be combined.
    #[error("options: {first} cannot be combined with {second}: {reason}")]
    ConflictingOptions {
        /// One option.
        first: &'static str,
        /// The other.
        second: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A batch or patch index past the end.
    #[error("{what} index {index} is out of range (len {len})")]
    IndexOutOfRange {
        /// `batch` or `patch`.
        what: &'static str,
        /// The index.
        index: u64,
        /// The length.
        len: u64,
    },
    /// An array whose dims or shape differ from the plan's.
    #[error(
        "array: dims {found_dims:?} shape {found_shape:?} differ from the plan's dims {dims:?} shape {shape:?}"
    )]
    ArrayMismatch {
        /// The plan's dims.
        dims: Vec<String>,
        /// The plan's shape.
        shape: Vec<usize>,
        /// The array's dims.
        found_dims: Vec<String>,
        /// The array's shape.
        found_shape: Vec<usize>,
    },
    /// A buffer or element type that differs from the array's dtype.
    #[error("dtype: the array is {found}, the buffer is {expected}")]
    DTypeMismatch {
        /// The buffer's dtype.
        expected: DType,
        /// The array's dtype.
        found: DType,
    },
    /// A gather buffer too small for the batch.
    #[error("buffer: batch {batch} needs {needed} elements, the buffer holds {len}")]
    BufferTooSmall {
        /// The batch.
        batch: u64,
        /// Elements needed.
        needed: usize,
        /// Elements available.
        len: usize,
    },
    /// A zero-copy view asked for a chip that extends past the array (edge policy pad).
    #[error("view: patch {id} extends past the array ({selector}); gather it to pad it")]
    PaddedView {
        /// The patch id.
        id: u64,
        /// Its selector.
        selector: String,
    },
    /// A prediction whose shape does not fit its chip.
    #[error("reassemble: prediction shape {found:?} does not fit chip shape {expected:?}")]
    PredictionShape {
        /// Expected shape.
        expected: Vec<usize>,
        /// Given shape.
        found: Vec<usize>,
    },
    /// A fraction outside `[0, 1]` or NaN.
    #[error("{argument}: {value} is not a fraction in [0, 1]")]
    BadFraction {
        /// The argument.
        argument: &'static str,
        /// The value.
        value: f64,
    },
    /// Building an output array failed.
    #[error(transparent)]
    Array(#[from] ArrayError),
    /// Building a chip's grid failed.
    #[error(transparent)]
    Grid(#[from] GridError),
}

/// What happens at the end of a dim where the windows do not fit exactly (input dims only;
/// batch-only dims always drop, as in xbatcher).
///
/// With size `N`, window `w`, stride `s`: **drop** keeps `⌊(N−w)/s⌋+1` windows (xbatcher);
/// the others keep `⌈(N−w)/s⌉+1` (torchgeo's `GridGeoSampler` count) so every pixel a stride
/// reaches is covered: **pad** lets the last window run past the end and fills it with the
/// value on gather; **shift-last-inside** moves the last window back to `[N−w, N)`;
/// **partial** truncates it to `[start, N)` (chips of different shapes, so no concat).
///
/// ```
/// use geochip::slice::{EdgePolicy, SlicePlan, SliceSpec};
/// let count = |edge| SlicePlan::new(&["x"], &[10], &SliceSpec::new(&[("x", 4)]).edge(edge)).unwrap().len();
/// assert_eq!(count(EdgePolicy::Drop), 2);
/// assert_eq!(count(EdgePolicy::Pad(0.0)), 3);
/// assert_eq!(count(EdgePolicy::ShiftLastInside), 3);
/// assert_eq!(count(EdgePolicy::Partial), 3);
/// assert_eq!("pad:-9999".parse::<EdgePolicy>().unwrap(), EdgePolicy::Pad(-9999.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum EdgePolicy {
    /// xbatcher: the trailing remainder is never seen.
    #[default]
    Drop,
    /// The last window runs past the end; gathered chips are filled with this value there
    /// (cast to the array's dtype, NaN becomes 0 for integers).
    Pad(f64),
    /// The last window is moved back to end exactly at the dim's end (torchgeo #630).
    ShiftLastInside,
    /// The last window is truncated at the dim's end.
    Partial,
}

impl std::str::FromStr for EdgePolicy {
    type Err = SliceError;
    /// `drop`, `pad` (fill 0), `pad:<fill>`, `shift` / `shift-last-inside`, `partial`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        let bad = || SliceError::ConflictingOptions {
            first: "edge",
            second: "value",
            reason: "expected drop, pad, pad:<fill>, shift-last-inside or partial",
        };
        Ok(match t.as_str() {
            "drop" => EdgePolicy::Drop,
            "pad" => EdgePolicy::Pad(0.0),
            "shift" | "shift-last-inside" | "shift_last_inside" => EdgePolicy::ShiftLastInside,
            "partial" => EdgePolicy::Partial,
            _ => match t.strip_prefix("pad:") {
                Some(v) => EdgePolicy::Pad(v.trim().parse::<f64>().map_err(|_| bad())?),
                None => return Err(bad()),
            },
        })
    }
}

/// Where chips come from: xbatcher's regular grid, or seeded random positions.
///
/// ```
/// use geochip::slice::{Sampling, SlicePlan, SliceSpec};
/// let spec = SliceSpec::new(&[("y", 4), ("x", 4)]).random(100, 7);
/// assert_eq!(spec.sampling, Sampling::Random { count: 100, seed: 7 });
/// assert_eq!(SlicePlan::new(&["y", "x"], &[32, 32], &spec).unwrap().len(), 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Sampling {
    /// The regular grid of windows (xbatcher).
    #[default]
    Grid,
    /// `count` chips drawn with replacement (torchgeo's `RandomGeoSampler`): for chip `i`,
    /// for each sliced dim in S order, start = `below(N − w + 1)` from
    /// `SplitMix64(stream_key(seed, i))` (see [`rng`]). Random access by `i`.
    Random {
        /// Number of chips.
        count: u64,
        /// Seed.
        seed: u64,
    },
}

/// All slicing options. The four xbatcher arguments keep their insertion order.
///
/// ```
/// use geochip::slice::SliceSpec;
/// let spec = SliceSpec::new(&[("y", 256), ("x", 256)])
///     .input_overlap(&[("y", 32), ("x", 32)])
///     .batch_size(16, true)
///     .shuffle(42);
/// assert_eq!(spec.input_dims[0], ("y".to_string(), 256));
/// assert_eq!(spec.batch_size, Some((16, true)));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SliceSpec {
    /// Window per dim (xbatcher `input_dims`), in order.
    pub input_dims: Vec<(String, usize)>,
    /// Overlap per dim (xbatcher `input_overlap`); may be negative.
    pub input_overlap: Vec<(String, i64)>,
    /// xbatcher `batch_dims`, in order.
    pub batch_dims: Vec<(String, usize)>,
    /// xbatcher `concat_input_dims`.
    pub concat_input_dims: bool,
    /// Edge policy of the input dims.
    pub edge: EdgePolicy,
    /// `Some((size, drop_last))`: batches of `size` consecutive chips with a leading `batch`
    /// dim; the last, smaller batch is dropped when `drop_last`.
    pub batch_size: Option<(usize, bool)>,
    /// Grid or random chips.
    pub sampling: Sampling,
    /// `Some(seed)`: visit the chips in a seeded order, different for every epoch
    /// ([`SlicePlan::with_epoch`]).
    pub shuffle: Option<u64>,
}

impl SliceSpec {
    /// A spec with these `input_dims` and every other option off.
    ///
    /// ```
    /// let s = geochip::slice::SliceSpec::new(&[("x", 8)]);
    /// assert!(s.input_overlap.is_empty() && !s.concat_input_dims);
    /// ```
    pub fn new<S: AsRef<str>>(input_dims: &[(S, usize)]) -> Self {
        Self {
            input_dims: owned(input_dims),
            ..Self::default()
        }
    }

    /// Sets `input_overlap`.
    ///
    /// ```
    /// let s = geochip::slice::SliceSpec::new(&[("x", 8)]).input_overlap(&[("x", -2)]);
    /// assert_eq!(s.input_overlap, vec![("x".to_string(), -2)]);
    /// ```
    pub fn input_overlap<S: AsRef<str>>(mut self, overlap: &[(S, i64)]) -> Self {
        self.input_overlap = owned(overlap);
        self
    }

    /// Sets `batch_dims`.
    ///
    /// ```
    /// let s = geochip::slice::SliceSpec::new(&[("x", 8)]).batch_dims(&[("time", 2)]);
    /// assert_eq!(s.batch_dims.len(), 1);
    /// ```
    pub fn batch_dims<S: AsRef<str>>(mut self, batch_dims: &[(S, usize)]) -> Self {
        self.batch_dims = owned(batch_dims);
        self
    }

    /// Sets `concat_input_dims`.
    ///
    /// ```
    /// assert!(geochip::slice::SliceSpec::new(&[("x", 8)]).concat_input_dims(true).concat_input_dims);
    /// ```
    pub fn concat_input_dims(mut self, concat: bool) -> Self {
        self.concat_input_dims = concat;
        self
    }

    /// Sets the edge policy.
    ///
    /// ```
    /// use geochip::slice::{EdgePolicy, SliceSpec};
    /// assert_eq!(SliceSpec::new(&[("x", 8)]).edge(EdgePolicy::Partial).edge, EdgePolicy::Partial);
    /// ```
    pub fn edge(mut self, edge: EdgePolicy) -> Self {
        self.edge = edge;
        self
    }

    /// Sets an integer batch size and `drop_last`.
    ///
    /// ```
    /// assert_eq!(geochip::slice::SliceSpec::new(&[("x", 8)]).batch_size(4, false).batch_size, Some((4, false)));
    /// ```
    pub fn batch_size(mut self, size: usize, drop_last: bool) -> Self {
        self.batch_size = Some((size, drop_last));
        self
    }

    /// Draws `count` random chips with `seed` instead of the grid.
    ///
    /// ```
    /// let s = geochip::slice::SliceSpec::new(&[("x", 8)]).random(10, 1);
    /// assert!(matches!(s.sampling, geochip::slice::Sampling::Random { count: 10, seed: 1 }));
    /// ```
    pub fn random(mut self, count: u64, seed: u64) -> Self {
        self.sampling = Sampling::Random { count, seed };
        self
    }

    /// Shuffles the chip order with `seed` (a new order every epoch).
    ///
    /// ```
    /// assert_eq!(geochip::slice::SliceSpec::new(&[("x", 8)]).shuffle(3).shuffle, Some(3));
    /// ```
    pub fn shuffle(mut self, seed: u64) -> Self {
        self.shuffle = Some(seed);
        self
    }
}

fn owned<S: AsRef<str>, V: Copy>(pairs: &[(S, V)]) -> Vec<(String, V)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_ref().to_owned(), *v))
        .collect()
}

/// One dim's half-open index range `[start, stop)` (xbatcher's `slice(start, stop)`).
///
/// ```
/// let s = geochip::slice::DimSlice { dim: "x".into(), start: 7, stop: 19 };
/// assert_eq!(s.len(), 12);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DimSlice {
    /// The dim.
    pub dim: String,
    /// First index.
    pub start: usize,
    /// One past the last index (past the dim's end for padded chips).
    pub stop: usize,
}

impl DimSlice {
    /// `stop − start`.
    ///
    /// ```
    /// assert!(geochip::slice::DimSlice { dim: "x".into(), start: 3, stop: 3 }.is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.stop - self.start
    }

    /// True when `start == stop`.
    ///
    /// ```
    /// assert!(!geochip::slice::DimSlice { dim: "x".into(), start: 0, stop: 1 }.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.start == self.stop
    }
}

/// A patch's position: one [`DimSlice`] per sliced dim, in S order. Serialises as xbatcher's
/// selector in the reference file, `{"y": [0, 10], "x": [7, 19]}`, keeping the order.
///
/// ```
/// use geochip::slice::{DimSlice, Selector};
/// let s: Selector = serde_json::from_str(r#"{"x": [0, 12], "y": [3, 13]}"#).unwrap();
/// assert_eq!(s.0[0], DimSlice { dim: "x".into(), start: 0, stop: 12 });
/// assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"x":[0,12],"y":[3,13]}"#);
/// assert_eq!(s.to_string(), "{x: 0..12, y: 3..13}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Selector(pub Vec<DimSlice>);

impl Selector {
    /// The slice of a dim, if it is sliced.
    ///
    /// ```
    /// let s: geochip::slice::Selector = serde_json::from_str(r#"{"x": [0, 12]}"#).unwrap();
    /// assert_eq!(s.get("x").unwrap().stop, 12);
    /// assert!(s.get("y").is_none());
    /// ```
    pub fn get(&self, dim: &str) -> Option<&DimSlice> {
        self.0.iter().find(|s| s.dim == dim)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}: {}..{}", s.dim, s.start, s.stop)?;
        }
        f.write_str("}")
    }
}

impl Serialize for Selector {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for s in &self.0 {
            map.serialize_entry(&s.dim, &[s.start, s.stop])?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Selector;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of dim name to [start, stop]")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Selector, A::Error> {
                let mut out = Vec::new();
                while let Some((dim, [start, stop])) = map.next_entry::<String, [usize; 2]>()? {
                    out.push(DimSlice { dim, start, stop });
                }
                Ok(Selector(out))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// Everything known about one chip without touching its values.
///
/// ```
/// use geochip::slice::{SlicePlan, SliceSpec};
/// let plan = SlicePlan::new(&["y", "x"], &[20, 20], &SliceSpec::new(&[("y", 8), ("x", 8)])).unwrap();
/// let p = plan.patch(3).unwrap();
/// assert_eq!(p.id, 3);
/// assert_eq!(p.start("y"), Some(8));
/// assert_eq!(p.start("x"), Some(8));
/// assert!(!p.padded);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PatchInfo {
    /// The patch id: its grid index (row-major over S) or its random sample number.
    pub id: u64,
    /// Where it is, per sliced dim.
    pub selector: Selector,
    /// True when it extends past the array's end (edge policy pad).
    pub padded: bool,
}

impl PatchInfo {
    /// The start index along a sliced dim.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["x"], &[20], &SliceSpec::new(&[("x", 8)])).unwrap();
    /// assert_eq!(plan.patch(1).unwrap().start("x"), Some(8));
    /// ```
    pub fn start(&self, dim: &str) -> Option<usize> {
        self.selector.get(dim).map(|s| s.start)
    }
}

#[cfg(test)]
mod tests;
