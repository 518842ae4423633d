//! Keeping only the chips worth training on, before batching (xbatcher #158, #162).

use ndarray::{ArrayViewD, Axis, Slice};

use crate::array::{ArrayData, LabeledArray};

use super::plan::{Grouping, SlicePlan};
use super::{PatchInfo, SliceElement, SliceError};
use crate::array::with_data as dispatch;

/// A predicate on a chip's values.
///
/// A value is *valid* when it is not NaN and not equal to `nodata`; pixels a padded chip
/// holds past the array's end are invalid.
///
/// ```
/// use geochip::LabeledArray;
/// use geochip::slice::{ChipFilter, SlicePlan, SliceSpec};
/// let mut v = vec![1.0f32; 16];
/// v[0] = f32::NAN; // chip 0 (y 0..2, x 0..2) has one NaN
/// let a = LabeledArray::from_shape_vec(&["y", "x"], &[4, 4], v).unwrap();
/// let plan = SlicePlan::for_array(&a, &SliceSpec::new(&[("y", 2), ("x", 2)])).unwrap();
/// assert_eq!(plan.filter(&a, &ChipFilter::NoNan).unwrap().len(), 3);
/// let f = ChipFilter::MinValidFraction { fraction: 0.75, nodata: None };
/// assert_eq!(plan.filter(&a, &f).unwrap().len(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ChipFilter {
    /// Reject chips holding any NaN.
    NoNan,
    /// Keep chips whose valid fraction is at least `fraction`.
    MinValidFraction {
        /// In `[0, 1]`.
        fraction: f64,
        /// A value that also counts as invalid.
        nodata: Option<f64>,
    },
}

fn counts<T: SliceElement>(
    plan: &SlicePlan,
    data: &ArrayViewD<'_, T>,
    id: u64,
    starts: &mut [usize],
    lens: &mut [usize],
    nodata: Option<f64>,
) -> (usize, usize, bool) {
    plan.geometry(id, starts, lens);
    let total: usize = lens.iter().product();
    let mut v = data.clone();
    for (a, (s, l)) in starts.iter().zip(lens.iter()).enumerate() {
        let end = (s + l).min(plan.shape[a]);
        v.slice_axis_inplace(Axis(a), Slice::from(*s..end.max(*s)));
    }
    let mut valid = 0usize;
    let mut nan = false;
    for x in v.iter() {
        let f = x.to_f64();
        if f.is_nan() {
            nan = true;
        } else if nodata != Some(f) {
            valid += 1;
        }
    }
    (valid, total, nan)
}

impl SlicePlan {
    fn check_filterable(&self) -> Result<(), SliceError> {
        if matches!(self.grouping, Grouping::Concat { .. }) {
            return Err(SliceError::ConflictingOptions {
                first: "filter",
                second: "concat_input_dims",
                reason: "xbatcher's concat grouping is spatial; filter chips with batch_size",
            });
        }
        Ok(())
    }

    fn with_kept(&self, kept: Vec<u64>) -> SlicePlan {
        let mut p = self.clone();
        p.kept = Some(kept);
        p.rebuild_permutation();
        p
    }

    fn current_ids(&self) -> Box<dyn Iterator<Item = u64> + '_> {
        match &self.kept {
            Some(k) => Box::new(k.iter().copied()),
            None => Box::new(0..self.num_chips()),
        }
    }

    /// A plan visiting only the chips that pass `filter` (scans every chip once; the kept ids
    /// are stored, 8 bytes per kept chip). Batches are formed after filtering, so every batch
    /// is full. Not available with `concat_input_dims`.
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{ChipFilter, SlicePlan, SliceSpec};
    /// let a = LabeledArray::from_shape_vec(&["x"], &[6], vec![0u8, 0, 0, 1, 1, 1]).unwrap();
    /// let plan = SlicePlan::for_array(&a, &SliceSpec::new(&[("x", 3)])).unwrap();
    /// let f = ChipFilter::MinValidFraction { fraction: 1.0, nodata: Some(0.0) };
    /// let kept = plan.filter(&a, &f).unwrap();
    /// assert_eq!(kept.len(), 1);
    /// assert_eq!(kept.chip(0).unwrap().id, 1);
    /// ```
    pub fn filter(
        &self,
        array: &LabeledArray,
        filter: &ChipFilter,
    ) -> Result<SlicePlan, SliceError> {
        self.check_filterable()?;
        self.check_array(array)?;
        let (min_fraction, nodata, reject_nan) = match *filter {
            ChipFilter::NoNan => (0.0, None, true),
            ChipFilter::MinValidFraction { fraction, nodata } => {
                if !(0.0..=1.0).contains(&fraction) {
                    return Err(SliceError::BadFraction {
                        argument: "min valid fraction",
                        value: fraction,
                    });
                }
                (fraction, nodata, false)
            }
        };
        let nd = self.dims.len();
        let (mut starts, mut lens) = (vec![0; nd], vec![0; nd]);
        let fill_nan = matches!(self.spec.edge, super::EdgePolicy::Pad(v) if v.is_nan());
        let kept: Vec<u64> = dispatch!(array.data(), a => {
            let data = a.view();
            self.current_ids()
                .filter(|id| {
                    let (valid, total, nan) =
                        counts(self, &data, *id, &mut starts, &mut lens, nodata);
                    let padded = self.is_padded(&starts, &lens);
                    if reject_nan {
                        !(nan || padded && fill_nan)
                    } else {
                        total > 0 && valid as f64 >= min_fraction * total as f64
                    }
                })
                .collect()
        });
        Ok(self.with_kept(kept))
    }

    /// A plan visiting only the chips whose [`PatchInfo`] passes `keep` (e.g. a spatial
    /// train/validation split by position).
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["y", "x"], &[8, 8], &SliceSpec::new(&[("y", 4), ("x", 4)])).unwrap();
    /// let west = plan.filter_with(|p| p.start("x") == Some(0)).unwrap();
    /// assert_eq!(west.len(), 2);
    /// ```
    pub fn filter_with(
        &self,
        mut keep: impl FnMut(&PatchInfo) -> bool,
    ) -> Result<SlicePlan, SliceError> {
        self.check_filterable()?;
        let mut kept = Vec::new();
        for id in self.current_ids() {
            if keep(&self.patch(id)?) {
                kept.push(id);
            }
        }
        Ok(self.with_kept(kept))
    }
}
