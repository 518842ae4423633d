//! [`BatchGenerator`]: a [`SlicePlan`] bound to one [`LabeledArray`], xbatcher's interface.

use ndarray::ArrayViewD;

use crate::array::{ArrayData, LabeledArray};

use super::plan::SlicePlan;
use super::{PatchInfo, SliceElement, SliceError, SliceSpec};

/// One batch: its index, its patches (positions) and its values with xbatcher's output dims.
///
/// ```
/// use geochip::LabeledArray;
/// use geochip::slice::{BatchGenerator, SliceSpec};
/// let a = LabeledArray::arange_i32(&["x"], &[53]).unwrap();
/// let batches = BatchGenerator::new(&a, &SliceSpec::new(&[("x", 10)]).input_overlap(&[("x", 4)])).unwrap();
/// let b = batches.get(2).unwrap();
/// assert_eq!((b.index, b.patches.len()), (2, 1));
/// assert_eq!(b.array.sum_f64(), (12..22).sum::<i32>() as f64);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The batch index.
    pub index: u64,
    /// Its patches, in order.
    pub patches: Vec<PatchInfo>,
    /// Its values (a copy; see [`BatchGenerator::views`] for zero-copy access).
    pub array: LabeledArray,
}

/// xbatcher's `BatchGenerator` over a [`LabeledArray`]: `len`, random access with
/// [`BatchGenerator::get`], iteration, views and gathering. See the [module docs](super) for
/// the semantics and the deviations from xbatcher.
///
/// ```
/// use geochip::LabeledArray;
/// use geochip::slice::{BatchGenerator, SliceSpec};
/// let a = LabeledArray::arange_i32(&["time", "y", "x"], &[3, 37, 53]).unwrap();
/// let spec = SliceSpec::new(&[("y", 16), ("x", 16)]).batch_dims(&[("time", 1)]).concat_input_dims(true);
/// let batches = BatchGenerator::new(&a, &spec).unwrap();
/// assert_eq!(batches.len(), 3);
/// let shapes: Vec<Vec<usize>> = batches.iter().map(|b| b.unwrap().array.shape().to_vec()).collect();
/// assert_eq!(shapes, vec![vec![6, 16, 16]; 3]);
/// assert_eq!(batches.get(0).unwrap().array.dims(), &["sample", "y_input", "x_input"]);
/// ```
#[derive(Debug, Clone)]
pub struct BatchGenerator<'a> {
    plan: SlicePlan,
    array: &'a LabeledArray,
}

use crate::array::with_data as dispatch;

impl<'a> BatchGenerator<'a> {
    /// A generator over `array` with `spec` (validated here: bad input is a [`SliceError`]).
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{BatchGenerator, SliceSpec};
    /// let a = LabeledArray::arange_i32(&["y", "x"], &[4, 4]).unwrap();
    /// assert!(BatchGenerator::new(&a, &SliceSpec::new(&[("z", 2)])).is_err());
    /// ```
    pub fn new(array: &'a LabeledArray, spec: &SliceSpec) -> Result<Self, SliceError> {
        Ok(Self {
            plan: SlicePlan::for_array(array, spec)?,
            array,
        })
    }

    /// A generator from an existing plan (e.g. one plan for every variable of a dataset, or a
    /// filtered or re-epoched plan). The array's dims and shape must be the plan's.
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{BatchGenerator, SlicePlan, SliceSpec};
    /// let a = LabeledArray::arange_i32(&["y", "x"], &[4, 4]).unwrap();
    /// let plan = SlicePlan::for_array(&a, &SliceSpec::new(&[("y", 2)])).unwrap();
    /// assert_eq!(BatchGenerator::from_plan(&a, plan.clone()).unwrap().len(), 2);
    /// let other = LabeledArray::arange_i32(&["y", "x"], &[5, 4]).unwrap();
    /// assert!(BatchGenerator::from_plan(&other, plan).is_err());
    /// ```
    pub fn from_plan(array: &'a LabeledArray, plan: SlicePlan) -> Result<Self, SliceError> {
        plan.check_array(array)?;
        Ok(Self { plan, array })
    }

    /// The plan.
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{BatchGenerator, SliceSpec};
    /// let a = LabeledArray::arange_i32(&["x"], &[4]).unwrap();
    /// assert_eq!(BatchGenerator::new(&a, &SliceSpec::new(&[("x", 2)])).unwrap().plan().len(), 2);
    /// ```
    pub fn plan(&self) -> &SlicePlan {
        &self.plan
    }

    /// The array.
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{BatchGenerator, SliceSpec};
    /// let a = LabeledArray::arange_i32(&["x"], &[4]).unwrap();
    /// assert_eq!(BatchGenerator::new(&a, &SliceSpec::new(&[("x", 2)])).unwrap().array(), &a);
    /// ```
    pub fn array(&self) -> &'a LabeledArray {
        self.array
    }

    /// Number of batches (xbatcher's `len`, without empty batches).
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{BatchGenerator, SliceSpec};
    /// let a = LabeledArray::arange_i32(&["x"], &[9]).unwrap();
    /// assert_eq!(BatchGenerator::new(&a, &SliceSpec::new(&[("x", 2)])).unwrap().len(), 4);
    /// ```
    pub fn len(&self) -> u64 {
        self.plan.len()
    }

    /// True when there are no batches.
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{BatchGenerator, SliceSpec};
    /// let a = LabeledArray::arange_i32(&["x"], &[9]).unwrap();
    /// assert!(!BatchGenerator::new(&a, &SliceSpec::new(&[("x", 2)])).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.plan.is_empty()
    }

    /// Batch `i`, materialized (xbatcher's `batches[i]`; an index past the end is an error).
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{BatchGenerator, SliceSpec};
    /// let a = LabeledArray::arange_i32(&["y", "x"], &[4, 4]).unwrap();
    /// let batches = BatchGenerator::new(&a, &SliceSpec::new(&[("y", 2), ("x", 2)])).unwrap();
    /// assert_eq!(batches.get(1).unwrap().array.sum_f64(), (2 + 3 + 6 + 7) as f64);
    /// assert!(batches.get(4).is_err());
    /// ```
    pub fn get(&self, i: u64) -> Result<Batch, SliceError> {
        let array = dispatch!(self.array.data(), a => self.plan.materialize(a.view(), i))?;
        Ok(Batch {
            index: i,
            patches: self.plan.batch(i)?,
            array,
        })
    }

    /// Every batch in order (xbatcher's `__iter__`).
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{BatchGenerator, SliceSpec};
    /// let a = LabeledArray::arange_i32(&["x"], &[6]).unwrap();
    /// let batches = BatchGenerator::new(&a, &SliceSpec::new(&[("x", 3)])).unwrap();
    /// let sums: Vec<f64> = batches.iter().map(|b| b.unwrap().array.sum_f64()).collect();
    /// assert_eq!(sums, vec![3.0, 12.0]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = Result<Batch, SliceError>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Gathers batch `i` into a reusable buffer of the array's element type
    /// ([`SlicePlan::gather_into`]).
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{BatchGenerator, SliceSpec};
    /// let a = LabeledArray::arange_i32(&["x"], &[6]).unwrap();
    /// let batches = BatchGenerator::new(&a, &SliceSpec::new(&[("x", 3)])).unwrap();
    /// let mut buf = vec![0i32; batches.plan().max_batch_elements()];
    /// batches.gather_into(1, &mut buf).unwrap();
    /// assert_eq!(buf, vec![3, 4, 5]);
    /// ```
    pub fn gather_into<T: SliceElement>(&self, i: u64, out: &mut [T]) -> Result<usize, SliceError> {
        self.plan.gather_array_into(self.array, i, out)
    }

    /// Zero-copy views of the patches of batch `i` ([`SlicePlan::batch_views`]).
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{BatchGenerator, SliceSpec};
    /// let a = LabeledArray::arange_i32(&["x"], &[6]).unwrap();
    /// let batches = BatchGenerator::new(&a, &SliceSpec::new(&[("x", 3)])).unwrap();
    /// let v = batches.views::<i32>(1).unwrap();
    /// assert_eq!(v[0].iter().copied().collect::<Vec<_>>(), vec![3, 4, 5]);
    /// assert!(batches.views::<f32>(1).is_err());
    /// ```
    pub fn views<T: SliceElement>(&self, i: u64) -> Result<Vec<ArrayViewD<'a, T>>, SliceError> {
        let view = T::view_of(self.array.data()).ok_or(SliceError::DTypeMismatch {
            expected: T::DTYPE,
            found: self.array.dtype(),
        })?;
        self.plan.batch_views(view, i)
    }
}
