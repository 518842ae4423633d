//! [`SlicePlan`]: the geometry of every chip and batch, computed on demand from a few numbers.

use crate::array::LabeledArray;
use crate::grid::{Grid, Window};

use super::rng::{Permutation, SplitMix64, stream_key};
use super::{DimSlice, EdgePolicy, PatchInfo, Sampling, Selector, SliceError, SliceSpec};

/// One sliced dim (an entry of S).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SlicedAxis {
    pub(crate) dim: String,
    /// Axis index in the array.
    pub(crate) axis: usize,
    pub(crate) size: usize,
    pub(crate) window: usize,
    pub(crate) stride: usize,
    /// Number of windows K.
    pub(crate) count: u64,
    /// Drop for batch-only dims.
    pub(crate) edge: EdgePolicy,
    pub(crate) is_input: bool,
}

impl SlicedAxis {
    /// Start of window `k` (`k < count`).
    fn start(&self, k: u64) -> usize {
        // k < count ≤ size + 1, so it fits in usize.
        let k = usize::try_from(k).unwrap_or(usize::MAX);
        if self.edge == EdgePolicy::ShiftLastInside && k + 1 == self.count_usize() {
            self.size.saturating_sub(self.window)
        } else {
            k.saturating_mul(self.stride)
        }
    }

    fn count_usize(&self) -> usize {
        usize::try_from(self.count).unwrap_or(usize::MAX)
    }

    /// Length of the window starting at `start`.
    fn len_at(&self, start: usize) -> usize {
        if self.edge == EdgePolicy::Partial {
            self.window.min(self.size.saturating_sub(start))
        } else {
            self.window
        }
    }
}

fn window_count(size: usize, window: usize, stride: usize, edge: EdgePolicy) -> u64 {
    let c = match edge {
        EdgePolicy::Drop => (size - window) / stride + 1,
        _ if window >= size => 1,
        EdgePolicy::ShiftLastInside => (size - window).div_ceil(stride) + 1,
        _ => {
            let c = (size - window).div_ceil(stride) + 1;
            // A last window starting at or past the end would hold nothing but padding.
            if (c - 1).saturating_mul(stride) >= size {
                c - 1
            } else {
                c
            }
        }
    };
    u64::try_from(c).unwrap_or(u64::MAX)
}

/// How chips are grouped into batches.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Grouping {
    /// xbatcher's `concat_input_dims` grouping, per sliced dim: patches per batch `k` and
    /// non-empty batches `b`.
    Concat { k: Vec<u64>, b: Vec<u64>, len: u64 },
    /// Consecutive chips of the stream, `size` at a time.
    Stream { size: u64, drop_last: bool },
}

/// Output axis order and names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    /// Array axes in output order (before stacking).
    pub(crate) perm: Vec<usize>,
    /// How many leading `perm` axes are stacked into `sample` (0: none).
    pub(crate) n_stack: usize,
    /// `d_input` names for input dims.
    pub(crate) rename_input: bool,
    /// A leading dim over the patches of a batch.
    pub(crate) lead: Option<&'static str>,
    /// The leading dim is stacked into `sample` too (outermost).
    pub(crate) lead_in_sample: bool,
}

/// The complete, lazily evaluated geometry of a slicing: which chips, in which order, in which
/// batches, with which output dims. Holds no per-chip state (except the kept list after a
/// [`SlicePlan::filter`]), so building it over 10⁸ patches costs nothing.
///
/// ```
/// use geochip::slice::{SlicePlan, SliceSpec};
/// // 10⁴ × 10⁴ windows of 1×1: 10⁸ patches, built and indexed instantly.
/// let plan = SlicePlan::new(&["y", "x"], &[10_000, 10_000], &SliceSpec::new(&[("y", 1), ("x", 1)])).unwrap();
/// assert_eq!(plan.len(), 100_000_000);
/// let last = plan.patch(99_999_999).unwrap();
/// assert_eq!(last.selector.to_string(), "{y: 9999..10000, x: 9999..10000}");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SlicePlan {
    pub(crate) dims: Vec<String>,
    pub(crate) shape: Vec<usize>,
    pub(crate) grid: Option<Grid>,
    pub(crate) spec: SliceSpec,
    /// S, in order.
    pub(crate) axes: Vec<SlicedAxis>,
    /// ∏ K.
    pub(crate) grid_patches: u64,
    pub(crate) kept: Option<Vec<u64>>,
    pub(crate) epoch: u64,
    pub(crate) permutation: Option<Permutation>,
    pub(crate) grouping: Grouping,
    pub(crate) layout: Layout,
}

fn check_names<V>(
    argument: &'static str,
    pairs: &[(String, V)],
    dims: &[String],
) -> Result<(), SliceError> {
    for (i, (d, _)) in pairs.iter().enumerate() {
        if !dims.contains(d) {
            return Err(SliceError::UnknownDim {
                argument,
                dim: d.clone(),
                dims: dims.to_vec(),
            });
        }
        if pairs[..i].iter().any(|(e, _)| e == d) {
            return Err(SliceError::DuplicateDim {
                argument,
                dim: d.clone(),
            });
        }
    }
    Ok(())
}

impl SlicePlan {
    /// The plan for an array with these dims and shape (no values needed).
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let spec = SliceSpec::new(&[("y", 10), ("x", 12)]).input_overlap(&[("y", 3), ("x", 5)]);
    /// let plan = SlicePlan::new(&["time", "y", "x"], &[3, 37, 53], &spec).unwrap();
    /// assert_eq!(plan.window_counts(), vec![("y", 4), ("x", 6)]);
    /// assert_eq!(plan.len(), 24);
    /// ```
    pub fn new<S: AsRef<str>>(
        dims: &[S],
        shape: &[usize],
        spec: &SliceSpec,
    ) -> Result<Self, SliceError> {
        let dims: Vec<String> = dims.iter().map(|d| d.as_ref().to_owned()).collect();
        if dims.len() != shape.len() {
            return Err(crate::array::ArrayError::DimCount {
                names: dims.len(),
                dims,
                ndim: shape.len(),
            }
            .into());
        }
        if shape.is_empty() || shape.contains(&0) {
            return Err(SliceError::EmptyArray {
                dims,
                shape: shape.to_vec(),
            });
        }
        if spec.input_dims.is_empty() {
            return Err(SliceError::NoInputDims { dims });
        }
        check_names("input_dims", &spec.input_dims, &dims)?;
        check_names("input_overlap", &spec.input_overlap, &dims)?;
        check_names("batch_dims", &spec.batch_dims, &dims)?;
        let axis_of = |d: &str| dims.iter().position(|e| e == d).unwrap_or(0);
        let is_input = |d: &str| spec.input_dims.iter().any(|(e, _)| e == d);
        let edge_allows_big = matches!(spec.edge, EdgePolicy::Pad(_) | EdgePolicy::Partial);

        // Options that cannot be combined.
        let conflict = |first, second, reason| {
            Err(SliceError::ConflictingOptions {
                first,
                second,
                reason,
            })
        };
        if let Some((0, _)) = spec.batch_size {
            return Err(SliceError::BatchSizeZero);
        }
        if let Sampling::Random { count: 0, .. } = spec.sampling {
            return Err(SliceError::ZeroSize {
                argument: "random",
                dim: "count".into(),
            });
        }
        if spec.concat_input_dims {
            if spec.batch_size.is_some() {
                return conflict(
                    "concat_input_dims",
                    "batch_size",
                    "both group chips into batches; use one",
                );
            }
            if spec.sampling != Sampling::Grid {
                return conflict(
                    "concat_input_dims",
                    "random sampling",
                    "xbatcher's concat grouping is spatial; use batch_size with random chips",
                );
            }
            if spec.shuffle.is_some() {
                return conflict(
                    "concat_input_dims",
                    "shuffle",
                    "xbatcher's concat grouping is spatial; use batch_size to shuffle chips",
                );
            }
        }
        if spec.edge == EdgePolicy::Partial
            && (spec.concat_input_dims || spec.batch_size.is_some_and(|(s, _)| s > 1))
        {
            return conflict(
                "edge partial",
                "concat_input_dims or batch_size",
                "partial chips differ in shape and cannot be stacked into one batch",
            );
        }

        // Sliced dims S: batch-only dims, then input dims.
        let mut axes = Vec::new();
        for (d, b) in &spec.batch_dims {
            let axis = axis_of(d);
            let size = shape[axis];
            if *b == 0 {
                return Err(SliceError::ZeroSize {
                    argument: "batch_dims",
                    dim: d.clone(),
                });
            }
            if *b > size && (!is_input(d) || spec.concat_input_dims) {
                return Err(SliceError::WindowLargerThanDim {
                    argument: "batch_dims",
                    dim: d.clone(),
                    window: *b,
                    size,
                });
            }
            if !is_input(d) {
                axes.push(SlicedAxis {
                    dim: d.clone(),
                    axis,
                    size,
                    window: *b,
                    stride: *b,
                    count: 0,
                    edge: EdgePolicy::Drop,
                    is_input: false,
                });
            }
        }
        for (d, w) in &spec.input_dims {
            let axis = axis_of(d);
            let size = shape[axis];
            if *w == 0 {
                return Err(SliceError::ZeroSize {
                    argument: "input_dims",
                    dim: d.clone(),
                });
            }
            if *w > size && !edge_allows_big {
                return Err(SliceError::WindowLargerThanDim {
                    argument: "input_dims",
                    dim: d.clone(),
                    window: *w,
                    size,
                });
            }
            axes.push(SlicedAxis {
                dim: d.clone(),
                axis,
                size,
                window: *w,
                stride: *w,
                count: 0,
                edge: spec.edge,
                is_input: true,
            });
        }
        for (d, o) in &spec.input_overlap {
            let Some(ax) = axes.iter_mut().find(|a| &a.dim == d) else {
                return Err(SliceError::OverlapOnUnslicedDim {
                    dim: d.clone(),
                    sliced: spec
                        .batch_dims
                        .iter()
                        .chain(&spec.input_dims)
                        .map(|(d, _)| d.clone())
                        .collect(),
                });
            };
            let w = ax.window;
            let stride = i128::try_from(w).unwrap_or(i128::MAX) - i128::from(*o);
            if stride <= 0 {
                return Err(SliceError::OverlapNotSmallerThanWindow {
                    dim: d.clone(),
                    overlap: *o,
                    window: w,
                });
            }
            ax.stride = usize::try_from(stride).map_err(|_| SliceError::Overflow {
                argument: "input_overlap",
                what: format!("stride of '{d}' ({w} - {o})"),
            })?;
        }
        let mut grid_patches: u64 = 1;
        for ax in &mut axes {
            ax.count = window_count(ax.size, ax.window, ax.stride, ax.edge);
            grid_patches =
                grid_patches
                    .checked_mul(ax.count)
                    .ok_or_else(|| SliceError::Overflow {
                        argument: "input_dims",
                        what: "the patch count".into(),
                    })?;
        }

        // Grouping.
        let grouping = if spec.concat_input_dims {
            let has_duplicate = spec.batch_dims.iter().any(|(d, _)| is_input(d));
            let mut k = Vec::with_capacity(axes.len());
            let mut b = Vec::with_capacity(axes.len());
            let mut len: u64 = 1;
            for ax in &axes {
                let bd = spec
                    .batch_dims
                    .iter()
                    .find(|(d, _)| d == &ax.dim)
                    .map(|(_, v)| *v);
                let (kd, bdim) = match (has_duplicate, bd, ax.is_input) {
                    // §1.4c: one batch per combination of batch-only windows.
                    (false, _, false) => (1, ax.count),
                    (false, _, true) => (ax.count, 1),
                    // §1.4d.
                    (true, Some(bd), false) => (1, u64::try_from(ax.size / bd).unwrap_or(0)),
                    (true, Some(bd), true) => (
                        u64::try_from(bd.div_ceil(ax.stride)).unwrap_or(u64::MAX),
                        u64::try_from(ax.size / bd).unwrap_or(0),
                    ),
                    (true, None, _) => (ax.count, 1),
                };
                // Only non-empty batches (xbatcher issue #184 fixed).
                let beff = bdim.min(ax.count.div_ceil(kd.max(1)));
                k.push(kd.max(1));
                b.push(beff);
                len = len.saturating_mul(beff);
            }
            Grouping::Concat { k, b, len }
        } else {
            let (size, drop_last) = spec.batch_size.unwrap_or((1, false));
            Grouping::Stream {
                size: u64::try_from(size).unwrap_or(u64::MAX),
                drop_last,
            }
        };

        // Output layout (xbatcher §1.5).
        let input_axes: Vec<usize> = spec.input_dims.iter().map(|(d, _)| axis_of(d)).collect();
        let rest: Vec<usize> = (0..dims.len())
            .filter(|a| !input_axes.contains(a))
            .collect();
        let stacked: Vec<usize> = rest.iter().chain(&input_axes).copied().collect();
        let identity: Vec<usize> = (0..dims.len()).collect();
        let layout = if spec.concat_input_dims {
            if rest.is_empty() {
                Layout {
                    perm: identity,
                    n_stack: 0,
                    rename_input: true,
                    lead: Some("input_batch"),
                    lead_in_sample: false,
                }
            } else {
                Layout {
                    perm: stacked,
                    n_stack: rest.len(),
                    rename_input: true,
                    lead: Some("input_batch"),
                    lead_in_sample: true,
                }
            }
        } else {
            let lead = spec.batch_size.map(|_| "batch");
            if rest.len() >= 2 {
                Layout {
                    perm: stacked,
                    n_stack: rest.len(),
                    rename_input: false,
                    lead,
                    lead_in_sample: false,
                }
            } else {
                Layout {
                    perm: identity,
                    n_stack: 0,
                    rename_input: false,
                    lead,
                    lead_in_sample: false,
                }
            }
        };

        let mut plan = Self {
            dims,
            shape: shape.to_vec(),
            grid: None,
            spec: spec.clone(),
            axes,
            grid_patches,
            kept: None,
            epoch: 0,
            permutation: None,
            grouping,
            layout,
        };
        plan.rebuild_permutation();
        Ok(plan)
    }

    /// The plan for an array, with its grid (if any) so chips can be georeferenced.
    ///
    /// ```
    /// use geochip::{GeoTransform, Grid, LabeledArray};
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let g = Grid::new(GeoTransform::new(10.0, 0.0, 0.0, 0.0, -10.0, 100.0), 8, 8, None).unwrap();
    /// let a = LabeledArray::arange_i32(&["y", "x"], &[8, 8]).unwrap().with_grid(g).unwrap();
    /// let plan = SlicePlan::for_array(&a, &SliceSpec::new(&[("y", 4), ("x", 4)])).unwrap();
    /// assert!(plan.grid().is_some());
    /// ```
    pub fn for_array(array: &LabeledArray, spec: &SliceSpec) -> Result<Self, SliceError> {
        let mut plan = Self::new(array.dims(), array.shape(), spec)?;
        plan.grid = array.grid().cloned();
        Ok(plan)
    }

    /// Attaches the grid of the `y`/`x` dims (for [`SlicePlan::chip_grid`]).
    ///
    /// ```
    /// use geochip::{GeoTransform, Grid};
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let g = Grid::new(GeoTransform::identity(), 8, 8, None).unwrap();
    /// let plan = SlicePlan::new(&["y", "x"], &[8, 8], &SliceSpec::new(&[("y", 4)])).unwrap().with_grid(g);
    /// assert!(plan.grid().is_some());
    /// ```
    pub fn with_grid(mut self, grid: Grid) -> Self {
        self.grid = Some(grid);
        self
    }

    pub(crate) fn rebuild_permutation(&mut self) {
        self.permutation = self
            .spec
            .shuffle
            .map(|seed| Permutation::new(self.num_chips(), seed, self.epoch));
    }

    /// The same plan in another epoch: with `shuffle`, a different order of the same chips.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let spec = SliceSpec::new(&[("x", 1)]).shuffle(9);
    /// let plan = SlicePlan::new(&["x"], &[50], &spec).unwrap();
    /// let order = |p: &SlicePlan| (0..50).map(|i| p.chip(i).unwrap().id).collect::<Vec<_>>();
    /// assert_ne!(order(&plan), order(&plan.with_epoch(1)));
    /// assert_eq!(order(&plan.with_epoch(1)), order(&plan.with_epoch(1)));
    /// ```
    pub fn with_epoch(&self, epoch: u64) -> Self {
        let mut p = self.clone();
        p.epoch = epoch;
        p.rebuild_permutation();
        p
    }

    /// The current epoch.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["x"], &[5], &SliceSpec::new(&[("x", 1)])).unwrap();
    /// assert_eq!(plan.with_epoch(3).epoch(), 3);
    /// ```
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The array's dims.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["y", "x"], &[4, 4], &SliceSpec::new(&[("x", 2)])).unwrap();
    /// assert_eq!(plan.dims(), &["y", "x"]);
    /// ```
    pub fn dims(&self) -> &[String] {
        &self.dims
    }

    /// The array's shape.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["y", "x"], &[4, 5], &SliceSpec::new(&[("x", 2)])).unwrap();
    /// assert_eq!(plan.shape(), &[4, 5]);
    /// ```
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The grid of the array's `y`/`x` dims, if attached.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["x"], &[4], &SliceSpec::new(&[("x", 2)])).unwrap();
    /// assert!(plan.grid().is_none());
    /// ```
    pub fn grid(&self) -> Option<&Grid> {
        self.grid.as_ref()
    }

    /// The spec the plan was built from.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let spec = SliceSpec::new(&[("x", 2)]);
    /// assert_eq!(SlicePlan::new(&["x"], &[4], &spec).unwrap().spec(), &spec);
    /// ```
    pub fn spec(&self) -> &SliceSpec {
        &self.spec
    }

    /// The sliced dims S in order, with their window counts K.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let spec = SliceSpec::new(&[("x", 12), ("y", 10)]).batch_dims(&[("time", 2)]);
    /// let plan = SlicePlan::new(&["time", "y", "x"], &[3, 37, 53], &spec).unwrap();
    /// assert_eq!(plan.window_counts(), vec![("time", 1), ("x", 4), ("y", 3)]);
    /// ```
    pub fn window_counts(&self) -> Vec<(&str, u64)> {
        self.axes
            .iter()
            .map(|a| (a.dim.as_str(), a.count))
            .collect()
    }

    /// The number of patches on the regular grid, ∏ K (whatever the sampling).
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["y", "x"], &[37, 53], &SliceSpec::new(&[("y", 8), ("x", 8)])).unwrap();
    /// assert_eq!(plan.grid_patch_count(), 24);
    /// ```
    pub fn grid_patch_count(&self) -> u64 {
        self.grid_patches
    }

    /// The number of patch ids [`SlicePlan::patch`] accepts: the grid count, or the random
    /// sample count.
    fn source_len(&self) -> u64 {
        match self.spec.sampling {
            Sampling::Grid => self.grid_patches,
            Sampling::Random { count, .. } => count,
        }
    }

    /// The number of chips the batches are drawn from (after any filter).
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["x"], &[10], &SliceSpec::new(&[("x", 2)]).batch_size(4, true)).unwrap();
    /// assert_eq!(plan.num_chips(), 5);
    /// assert_eq!(plan.len(), 1);
    /// ```
    pub fn num_chips(&self) -> u64 {
        match &self.kept {
            Some(k) => u64::try_from(k.len()).unwrap_or(u64::MAX),
            None => self.source_len(),
        }
    }

    /// The number of batches.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let spec = SliceSpec::new(&[("y", 6), ("x", 6)]).batch_dims(&[("y", 7), ("x", 7)]).concat_input_dims(true);
    /// // xbatcher reports 16 here, 7 of them empty (issue #184); geochip counts the 9 real ones.
    /// assert_eq!(SlicePlan::new(&["y", "x"], &[30, 30], &spec).unwrap().len(), 9);
    /// ```
    pub fn len(&self) -> u64 {
        match &self.grouping {
            Grouping::Concat { len, .. } => *len,
            Grouping::Stream { size, drop_last } => {
                let n = self.num_chips();
                if *drop_last {
                    n / size
                } else {
                    n.div_ceil(*size)
                }
            }
        }
    }

    /// True when there are no batches.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["x"], &[3], &SliceSpec::new(&[("x", 1)]).batch_size(5, true)).unwrap();
    /// assert!(plan.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the start and length of patch `id` along every array axis (unsliced axes: the
    /// whole dim). `id` must be `< source_len`.
    pub(crate) fn geometry(&self, id: u64, starts: &mut [usize], lens: &mut [usize]) {
        starts.fill(0);
        lens.copy_from_slice(&self.shape);
        match self.spec.sampling {
            Sampling::Grid => {
                let mut rem = id;
                for ax in self.axes.iter().rev() {
                    let k = rem % ax.count.max(1);
                    rem /= ax.count.max(1);
                    let s = ax.start(k);
                    starts[ax.axis] = s;
                    lens[ax.axis] = ax.len_at(s);
                }
            }
            Sampling::Random { seed, .. } => {
                let mut g = SplitMix64::new(stream_key(seed, id));
                for ax in &self.axes {
                    let span = ax.size.saturating_sub(ax.window);
                    let span = u64::try_from(span).unwrap_or(u64::MAX).saturating_add(1);
                    let s = usize::try_from(g.below(span)).unwrap_or(0);
                    starts[ax.axis] = s;
                    lens[ax.axis] = ax.len_at(s);
                }
            }
        }
    }

    /// True when the geometry runs past the array on some axis.
    pub(crate) fn is_padded(&self, starts: &[usize], lens: &[usize]) -> bool {
        starts
            .iter()
            .zip(lens)
            .zip(&self.shape)
            .any(|((s, l), n)| s.saturating_add(*l) > *n)
    }

    fn info(&self, id: u64) -> PatchInfo {
        let n = self.dims.len();
        let (mut starts, mut lens) = (vec![0; n], vec![0; n]);
        self.geometry(id, &mut starts, &mut lens);
        let selector = Selector(
            self.axes
                .iter()
                .map(|ax| DimSlice {
                    dim: ax.dim.clone(),
                    start: starts[ax.axis],
                    stop: starts[ax.axis] + lens[ax.axis],
                })
                .collect(),
        );
        PatchInfo {
            id,
            padded: self.is_padded(&starts, &lens),
            selector,
        }
    }

    /// The patch with this id: its grid index (row-major over S, last dim fastest) or, with
    /// random sampling, its sample number.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let spec = SliceSpec::new(&[("x", 12), ("y", 10)]).input_overlap(&[("x", 5), ("y", 3)]);
    /// let plan = SlicePlan::new(&["time", "y", "x"], &[3, 37, 53], &spec).unwrap();
    /// // x is the outer loop because it comes first in input_dims.
    /// assert_eq!(plan.patch(1).unwrap().selector.to_string(), "{x: 0..12, y: 7..17}");
    /// assert!(plan.patch(24).is_err());
    /// ```
    pub fn patch(&self, id: u64) -> Result<PatchInfo, SliceError> {
        let len = self.source_len();
        if id >= len {
            return Err(SliceError::IndexOutOfRange {
                what: "patch",
                index: id,
                len,
            });
        }
        Ok(self.info(id))
    }

    /// The patch id of the `j`-th chip in visiting order (after filter and shuffle).
    pub(crate) fn chip_id(&self, j: u64) -> u64 {
        let p = self.permutation.as_ref().map_or(j, |perm| perm.apply(j));
        match &self.kept {
            Some(k) => usize::try_from(p)
                .ok()
                .and_then(|p| k.get(p).copied())
                .unwrap_or(p),
            None => p,
        }
    }

    /// The `j`-th chip in visiting order: after the filter, in the shuffled order of the
    /// current epoch. Without filter and shuffle this is [`SlicePlan::patch`]`(j)`.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["x"], &[8], &SliceSpec::new(&[("x", 2)]).shuffle(1)).unwrap();
    /// let mut ids: Vec<u64> = (0..4).map(|j| plan.chip(j).unwrap().id).collect();
    /// ids.sort();
    /// assert_eq!(ids, vec![0, 1, 2, 3]);
    /// ```
    pub fn chip(&self, j: u64) -> Result<PatchInfo, SliceError> {
        let len = self.num_chips();
        if j >= len {
            return Err(SliceError::IndexOutOfRange {
                what: "chip",
                index: j,
                len,
            });
        }
        Ok(self.info(self.chip_id(j)))
    }

    /// The patch ids of batch `i`, in order, without allocating.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let spec = SliceSpec::new(&[("y", 10), ("x", 12)]).batch_dims(&[("y", 20), ("x", 24)]).concat_input_dims(true);
    /// let plan = SlicePlan::new(&["time", "y", "x"], &[3, 37, 53], &spec).unwrap();
    /// assert_eq!(plan.batch_ids(1).unwrap().collect::<Vec<_>>(), vec![2, 3, 6, 7]);
    /// ```
    pub fn batch_ids(&self, i: u64) -> Result<BatchIds<'_>, SliceError> {
        let len = self.len();
        if i >= len {
            return Err(SliceError::IndexOutOfRange {
                what: "batch",
                index: i,
                len,
            });
        }
        Ok(match &self.grouping {
            Grouping::Concat { k, b, .. } => {
                let n = self.axes.len();
                let (mut lo, mut hi) = (vec![0u64; n], vec![0u64; n]);
                let mut rem = i;
                for d in (0..n).rev() {
                    let bd = rem % b[d].max(1);
                    rem /= b[d].max(1);
                    lo[d] = bd.saturating_mul(k[d]);
                    hi[d] = lo[d].saturating_add(k[d]).min(self.axes[d].count);
                }
                let remaining = lo.iter().zip(&hi).map(|(l, h)| h - l).product();
                BatchIds {
                    plan: self,
                    inner: IdsInner::Concat {
                        cur: lo.clone(),
                        lo,
                        hi,
                    },
                    remaining,
                }
            }
            Grouping::Stream { size, .. } => {
                let start = i * size;
                let end = start.saturating_add(*size).min(self.num_chips());
                BatchIds {
                    plan: self,
                    inner: IdsInner::Stream { next: start },
                    remaining: end - start,
                }
            }
        })
    }

    /// The patches of batch `i`, in order.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["x"], &[10], &SliceSpec::new(&[("x", 2)]).batch_size(3, false)).unwrap();
    /// assert_eq!(plan.batch(1).unwrap().iter().map(|p| p.id).collect::<Vec<_>>(), vec![3, 4]);
    /// ```
    pub fn batch(&self, i: u64) -> Result<Vec<PatchInfo>, SliceError> {
        Ok(self.batch_ids(i)?.map(|id| self.info(id)).collect())
    }

    /// The selectors of batch `i` (one per patch), as xbatcher's `selectors[i]`.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["x"], &[53], &SliceSpec::new(&[("x", 10)]).input_overlap(&[("x", 4)])).unwrap();
    /// assert_eq!(serde_json::to_string(&plan.selectors(7).unwrap()).unwrap(), r#"[{"x":[42,52]}]"#);
    /// ```
    pub fn selectors(&self, i: u64) -> Result<Vec<Selector>, SliceError> {
        Ok(self.batch(i)?.into_iter().map(|p| p.selector).collect())
    }

    /// Output dims and shape of batch `i`, as xbatcher names them (`sample` stacking,
    /// `d_input` renaming under concat, a leading `batch` dim with `batch_size`).
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let spec = SliceSpec::new(&[("x", 8), ("y", 8)]).input_overlap(&[("x", 2), ("y", 2)]);
    /// let plan = SlicePlan::new(&["band", "time", "y", "x"], &[2, 3, 17, 19], &spec).unwrap();
    /// let (dims, shape) = plan.batch_output(0).unwrap();
    /// assert_eq!(dims, vec!["sample", "x", "y"]);
    /// assert_eq!(shape, vec![6, 8, 8]);
    /// ```
    pub fn batch_output(&self, i: u64) -> Result<(Vec<String>, Vec<usize>), SliceError> {
        let ids = self.batch_ids(i)?;
        let n = usize::try_from(ids.remaining).unwrap_or(usize::MAX);
        let nd = self.dims.len();
        let (mut starts, mut lens) = (vec![0; nd], vec![0; nd]);
        let first = self.batch_ids(i)?.next().unwrap_or(0);
        self.geometry(first, &mut starts, &mut lens);
        Ok(self.output_of(n, &lens))
    }

    pub(crate) fn output_of(&self, n: usize, lens: &[usize]) -> (Vec<String>, Vec<usize>) {
        let l = &self.layout;
        let name = |a: usize| {
            if l.rename_input && self.axes.iter().any(|x| x.axis == a && x.is_input) {
                format!("{}_input", self.dims[a])
            } else {
                self.dims[a].clone()
            }
        };
        let (mut dims, mut shape) = (Vec::new(), Vec::new());
        if let Some(lead) = l.lead
            && !l.lead_in_sample
        {
            dims.push(lead.to_owned());
            shape.push(n);
        }
        if l.n_stack > 0 {
            let mut s: usize = l.perm[..l.n_stack].iter().map(|a| lens[*a]).product();
            if l.lead_in_sample {
                s *= n;
            }
            dims.push("sample".to_owned());
            shape.push(s);
        }
        for a in &l.perm[l.n_stack..] {
            dims.push(name(*a));
            shape.push(lens[*a]);
        }
        (dims, shape)
    }

    /// Number of elements of batch `i` (the gather buffer it needs).
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["y", "x"], &[8, 8], &SliceSpec::new(&[("y", 4), ("x", 4)]).batch_size(3, false)).unwrap();
    /// assert_eq!(plan.batch_elements(0).unwrap(), 48);
    /// assert_eq!(plan.batch_elements(1).unwrap(), 16);
    /// ```
    pub fn batch_elements(&self, i: u64) -> Result<usize, SliceError> {
        Ok(self.batch_output(i)?.1.iter().product())
    }

    /// The largest [`SlicePlan::batch_elements`] over all batches: a buffer this long can be
    /// reused for every batch.
    ///
    /// ```
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let plan = SlicePlan::new(&["y", "x"], &[8, 8], &SliceSpec::new(&[("y", 4), ("x", 4)]).batch_size(3, false)).unwrap();
    /// assert_eq!(plan.max_batch_elements(), 48);
    /// ```
    pub fn max_batch_elements(&self) -> usize {
        let per_patch: usize = (0..self.dims.len())
            .map(|a| {
                self.axes
                    .iter()
                    .find(|x| x.axis == a)
                    .map_or(self.shape[a], |x| x.window)
            })
            .product();
        let per_batch = match &self.grouping {
            Grouping::Concat { k, .. } => k
                .iter()
                .zip(&self.axes)
                .map(|(k, ax)| (*k).min(ax.count))
                .product::<u64>(),
            Grouping::Stream { size, .. } => (*size).min(self.num_chips()),
        };
        per_patch.saturating_mul(usize::try_from(per_batch).unwrap_or(usize::MAX))
    }

    /// The chip's own grid: the parent grid's window at the chip's `y`/`x` start, so the chip
    /// can be written as a georeferenced file. `None` when the plan has no grid. Padded chips
    /// get a grid extending past the parent's edge (same transform, larger shape).
    ///
    /// ```
    /// use geochip::{GeoTransform, Grid, LabeledArray};
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let g = Grid::new(GeoTransform::new(10.0, 0.0, 500.0, 0.0, -10.0, 900.0), 20, 20, None).unwrap();
    /// let plan = SlicePlan::new(&["y", "x"], &[20, 20], &SliceSpec::new(&[("y", 8), ("x", 8)]))
    ///     .unwrap().with_grid(g);
    /// let chip = plan.patch(1).unwrap(); // y 0..8, x 8..16
    /// let cg = plan.chip_grid(&chip).unwrap().unwrap();
    /// assert_eq!(cg.transform.to_affine(), [10.0, 0.0, 580.0, 0.0, -10.0, 900.0]);
    /// assert_eq!(cg.shape(), (8, 8));
    /// ```
    pub fn chip_grid(&self, patch: &PatchInfo) -> Result<Option<Grid>, SliceError> {
        let Some(grid) = &self.grid else {
            return Ok(None);
        };
        let range = |dim: &str, full: usize| {
            patch
                .selector
                .get(dim)
                .map_or((0, full), |s| (s.start, s.len()))
        };
        let (row, height) = range("y", grid.height);
        let (col, width) = range("x", grid.width);
        let window = Window::new(col, row, width, height);
        if col + width <= grid.width && row + height <= grid.height {
            return Ok(Some(grid.window(window)?));
        }
        // Padded: the same arithmetic as Grid::window without the inside check.
        Ok(Some(Grid::new(
            grid.transform.translated(col as f64, row as f64),
            width,
            height,
            grid.crs.clone(),
        )?))
    }
}

/// The patch ids of one batch, in order ([`SlicePlan::batch_ids`]).
#[derive(Debug, Clone)]
pub struct BatchIds<'p> {
    plan: &'p SlicePlan,
    inner: IdsInner,
    remaining: u64,
}

#[derive(Debug, Clone)]
enum IdsInner {
    Concat {
        lo: Vec<u64>,
        hi: Vec<u64>,
        cur: Vec<u64>,
    },
    Stream {
        next: u64,
    },
}

impl Iterator for BatchIds<'_> {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        match &mut self.inner {
            IdsInner::Concat { lo, hi, cur } => {
                let mut id = 0u64;
                for (c, ax) in cur.iter().zip(&self.plan.axes) {
                    id = id * ax.count + c;
                }
                for d in (0..cur.len()).rev() {
                    cur[d] += 1;
                    if cur[d] < hi[d] {
                        break;
                    }
                    cur[d] = lo[d];
                }
                Some(id)
            }
            IdsInner::Stream { next } => {
                let id = self.plan.chip_id(*next);
                *next += 1;
                Some(id)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

impl ExactSizeIterator for BatchIds<'_> {}
