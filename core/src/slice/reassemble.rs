//! Putting per-chip predictions back into one map (xbatcher #43).

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::array::{ArrayData, LabeledArray};
use crate::grid::Grid;

use super::plan::SlicePlan;
use super::{PatchInfo, SliceElement, SliceError};

/// How overlapping chips are combined.
///
/// ```
/// assert_ne!(geochip::slice::ReassembleMode::Mean, geochip::slice::ReassembleMode::CentreCrop);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReassembleMode {
    /// Each pixel is the mean of every chip covering it (NaN predictions are skipped).
    #[default]
    Mean,
    /// Each pixel comes from the chip whose edge is farthest from it (the minimum over sliced
    /// dims of the distance to the chip's nearest edge; edges on the array's border do not
    /// count). With a regular overlap `o` this is the classic crop of `o/2` on each inner side,
    /// and it works unchanged for shifted, random or padded chips. Ties go to the first chip.
    CentreCrop,
}

/// Accumulates per-chip predictions into a full grid.
///
/// ```
/// use geochip::LabeledArray;
/// use geochip::slice::{ReassembleMode, Reassembler, SlicePlan, SliceSpec};
/// let a = LabeledArray::arange_i32(&["y", "x"], &[6, 6]).unwrap();
/// let spec = SliceSpec::new(&[("y", 4), ("x", 4)]).input_overlap(&[("y", 2), ("x", 2)]);
/// let plan = SlicePlan::for_array(&a, &spec).unwrap();
/// let mut r = Reassembler::new(&plan, ReassembleMode::Mean);
/// for j in 0..plan.num_chips() {
///     let chip = plan.chip(j).unwrap();
///     // An identity "model": the prediction is the chip itself.
///     let geochip::ArrayData::I32(arr) = a.data() else { unreachable!() };
///     let v = plan.patch_view(arr.view(), &chip).unwrap().mapv(|x| x as f32);
///     r.add(&chip, v.view()).unwrap();
/// }
/// let map = r.finish().unwrap();
/// assert_eq!(map.sha256(), LabeledArray::new(&["y", "x"],
///     ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[6, 6]), |i| (i[0] * 6 + i[1]) as f64)).unwrap().sha256());
/// ```
#[derive(Debug, Clone)]
pub struct Reassembler {
    mode: ReassembleMode,
    dims: Vec<String>,
    shape: Vec<usize>,
    /// (axis, dim) of the sliced dims.
    sliced: Vec<(usize, String)>,
    grid: Option<Grid>,
    value: Vec<f64>,
    /// Mean: chips counted; centre-crop: best score + 1 (0: unset).
    weight: Vec<u64>,
}

impl Reassembler {
    /// An empty map of the plan's array shape.
    ///
    /// ```
    /// use geochip::slice::{ReassembleMode, Reassembler, SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["x"], &[4], &SliceSpec::new(&[("x", 2)])).unwrap();
    /// let r = Reassembler::new(&plan, ReassembleMode::CentreCrop);
    /// assert!(r.finish().unwrap().sum_f64().is_nan()); // nothing added yet
    /// ```
    pub fn new(plan: &SlicePlan, mode: ReassembleMode) -> Self {
        let n: usize = plan.shape().iter().product();
        Self {
            mode,
            dims: plan.dims().to_vec(),
            shape: plan.shape().to_vec(),
            sliced: plan.axes.iter().map(|a| (a.axis, a.dim.clone())).collect(),
            grid: plan.grid().cloned(),
            value: vec![0.0; n],
            weight: vec![0; n],
        }
    }

    /// An empty map whose unsliced dims have other sizes (e.g. `band` 8 in, `band` 1 out for
    /// a per-pixel class). Sliced dims must keep their size.
    ///
    /// ```
    /// use geochip::slice::{ReassembleMode, Reassembler, SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["band", "y", "x"], &[8, 4, 4], &SliceSpec::new(&[("y", 2), ("x", 2)])).unwrap();
    /// assert!(Reassembler::with_shape(&plan, ReassembleMode::Mean, &[1, 4, 4]).is_ok());
    /// assert!(Reassembler::with_shape(&plan, ReassembleMode::Mean, &[1, 4, 5]).is_err());
    /// ```
    pub fn with_shape(
        plan: &SlicePlan,
        mode: ReassembleMode,
        shape: &[usize],
    ) -> Result<Self, SliceError> {
        let fits = shape.len() == plan.shape().len()
            && plan
                .axes
                .iter()
                .all(|a| shape[a.axis] == plan.shape()[a.axis]);
        if !fits {
            return Err(SliceError::PredictionShape {
                expected: plan.shape().to_vec(),
                found: shape.to_vec(),
            });
        }
        let mut r = Self::new(plan, mode);
        let n: usize = shape.iter().product();
        r.shape = shape.to_vec();
        r.value = vec![0.0; n];
        r.weight = vec![0; n];
        Ok(r)
    }

    /// Adds one chip's prediction: dims in the array's order, sliced dims the chip's size,
    /// other dims the map's size. Values past the array's end (padding) are ignored.
    ///
    /// ```
    /// use geochip::slice::{ReassembleMode, Reassembler, SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["x"], &[4], &SliceSpec::new(&[("x", 2)])).unwrap();
    /// let mut r = Reassembler::new(&plan, ReassembleMode::Mean);
    /// let chip = plan.patch(0).unwrap();
    /// assert!(r.add(&chip, ndarray::arr1(&[1.0f32, 2.0, 3.0]).into_dyn().view()).is_err());
    /// r.add(&chip, ndarray::arr1(&[1.0f32, 2.0]).into_dyn().view()).unwrap();
    /// ```
    pub fn add<T: SliceElement>(
        &mut self,
        patch: &PatchInfo,
        prediction: ArrayViewD<'_, T>,
    ) -> Result<(), SliceError> {
        let nd = self.shape.len();
        let mut starts = vec![0usize; nd];
        let mut expected = self.shape.clone();
        for (axis, dim) in &self.sliced {
            if let Some(s) = patch.selector.get(dim) {
                starts[*axis] = s.start;
                expected[*axis] = s.len();
            }
        }
        if prediction.shape() != expected.as_slice() {
            return Err(SliceError::PredictionShape {
                expected,
                found: prediction.shape().to_vec(),
            });
        }
        let mut out_strides = vec![0usize; nd];
        let mut acc = 1;
        for a in (0..nd).rev() {
            out_strides[a] = acc;
            acc *= self.shape[a];
        }
        'elements: for (idx, v) in prediction.indexed_iter() {
            let mut flat = 0usize;
            let mut score = u64::MAX;
            for a in 0..nd {
                let q = starts[a] + idx[a];
                if q >= self.shape[a] {
                    continue 'elements;
                }
                flat += q * out_strides[a];
                if self.sliced.iter().any(|(x, _)| *x == a) {
                    let len = expected[a];
                    let left = if starts[a] == 0 {
                        u64::MAX
                    } else {
                        idx[a] as u64
                    };
                    let right = if starts[a] + len >= self.shape[a] {
                        u64::MAX
                    } else {
                        (len - 1 - idx[a]) as u64
                    };
                    score = score.min(left.min(right));
                }
            }
            let v = v.to_f64();
            match self.mode {
                ReassembleMode::Mean => {
                    if !v.is_nan() {
                        self.value[flat] += v;
                        self.weight[flat] += 1;
                    }
                }
                ReassembleMode::CentreCrop => {
                    let s = score.saturating_add(1).max(1);
                    if s > self.weight[flat] {
                        self.weight[flat] = s;
                        self.value[flat] = v;
                    }
                }
            }
        }
        Ok(())
    }

    /// The map (`float64`, NaN where no chip reached), with the plan's grid when it fits.
    ///
    /// ```
    /// use geochip::slice::{ReassembleMode, Reassembler, SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["x"], &[5], &SliceSpec::new(&[("x", 2)])).unwrap();
    /// let mut r = Reassembler::new(&plan, ReassembleMode::Mean);
    /// for j in 0..2 {
    ///     r.add(&plan.patch(j).unwrap(), ndarray::arr1(&[1u8, 1]).into_dyn().view()).unwrap();
    /// }
    /// let m = r.finish().unwrap();
    /// let geochip::ArrayData::F64(v) = m.data() else { unreachable!() };
    /// assert_eq!(&v.as_slice().unwrap()[..4], &[1.0, 1.0, 1.0, 1.0]);
    /// assert!(v[[4]].is_nan()); // the dropped edge
    /// ```
    pub fn finish(self) -> Result<LabeledArray, SliceError> {
        let values: Vec<f64> = self
            .value
            .iter()
            .zip(&self.weight)
            .map(|(v, w)| match (self.mode, *w) {
                (_, 0) => f64::NAN,
                (ReassembleMode::Mean, w) => v / w as f64,
                (_, _) => *v,
            })
            .collect();
        let len = values.len();
        let arr = ArrayD::from_shape_vec(IxDyn(&self.shape), values).map_err(|_| {
            crate::array::ArrayError::ShapeMismatch {
                len,
                shape: self.shape.clone(),
                expected: self.shape.iter().product(),
            }
        })?;
        let out = LabeledArray::new(&self.dims, ArrayData::F64(arr))?;
        Ok(match self.grid {
            Some(g) => match out.clone().with_grid(g) {
                Ok(with) => with,
                Err(_) => out,
            },
            None => out,
        })
    }
}
