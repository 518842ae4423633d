//! Output modes: zero-copy views, and gathering into a caller's contiguous buffer.

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, IxDyn, Slice};

use crate::array::{ArrayData, Element, LabeledArray};

use super::plan::SlicePlan;
use super::{PatchInfo, SliceError};

/// An element type chips can be cut from: every [`Element`] (the ten numpy dtypes).
///
/// ```
/// use geochip::slice::SliceElement;
/// assert_eq!(<u8 as SliceElement>::from_f64(300.0), 255);
/// assert!(<f32 as SliceElement>::from_f64(f64::NAN).is_nan());
/// assert_eq!(7i16.to_f64(), 7.0);
/// ```
pub trait SliceElement: Element + Default {
    /// The typed view of the data, when its dtype is `Self`.
    fn view_of(data: &ArrayData) -> Option<ArrayViewD<'_, Self>>;
    /// Wraps typed data.
    fn into_data(a: ArrayD<Self>) -> ArrayData;
    /// `v` cast to `Self` (saturating; NaN becomes 0 for integers), as Rust's `as` does.
    fn from_f64(v: f64) -> Self;
    /// `self` as `f64`.
    fn to_f64(self) -> f64;
}

macro_rules! slice_element {
    ($t:ty, $variant:ident) => {
        impl SliceElement for $t {
            fn view_of(data: &ArrayData) -> Option<ArrayViewD<'_, Self>> {
                match data {
                    ArrayData::$variant(a) => Some(a.view()),
                    _ => None,
                }
            }
            fn into_data(a: ArrayD<Self>) -> ArrayData {
                ArrayData::$variant(a)
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    };
}
slice_element!(u8, U8);
slice_element!(u16, U16);
slice_element!(u32, U32);
slice_element!(u64, U64);
slice_element!(i8, I8);
slice_element!(i16, I16);
slice_element!(i32, I32);
slice_element!(i64, I64);
slice_element!(f32, F32);
slice_element!(f64, F64);

/// Scratch of `6 × ndim` indices, on the stack up to 8 dims.
const STACK_DIMS: usize = 8;

fn with_scratch<R>(ndim: usize, f: impl FnOnce(&mut [usize]) -> R) -> R {
    if ndim <= STACK_DIMS {
        let mut buf = [0usize; 6 * STACK_DIMS];
        f(&mut buf[..6 * ndim])
    } else {
        let mut buf = vec![0usize; 6 * ndim];
        f(&mut buf)
    }
}

/// Copies a block of `shape` from `src` (offset, strides) into `dst` (strides), rows along the
/// last axis with `copy_from_slice` when both are unit-stride there.
fn copy_block<T: Copy>(
    src: &[T],
    src_off: usize,
    src_str: &[usize],
    dst: &mut [T],
    dst_str: &[usize],
    shape: &[usize],
    idx: &mut [usize],
) {
    let nd = shape.len();
    if nd == 0 || shape.contains(&0) {
        return;
    }
    let last = nd - 1;
    let row = shape[last];
    let (ss, ds) = (src_str[last], dst_str[last]);
    let outer: usize = shape[..last].iter().product();
    idx[..last].fill(0);
    let (mut so, mut dof) = (src_off, 0usize);
    for _ in 0..outer {
        if ss == 1 && ds == 1 {
            dst[dof..dof + row].copy_from_slice(&src[so..so + row]);
        } else {
            for t in 0..row {
                dst[dof + t * ds] = src[so + t * ss];
            }
        }
        let mut k = last;
        while k > 0 {
            k -= 1;
            idx[k] += 1;
            so += src_str[k];
            dof += dst_str[k];
            if idx[k] < shape[k] {
                break;
            }
            so -= src_str[k] * shape[k];
            dof -= dst_str[k] * shape[k];
            idx[k] = 0;
        }
    }
}

/// The data to gather from: its view, and when possible the flat memory-order slice with
/// non-negative strides (the fast path).
struct Source<'a, T> {
    data: ArrayViewD<'a, T>,
    flat: Option<(&'a [T], Vec<usize>)>,
}

impl<'a, T> Source<'a, T> {
    fn new(data: ArrayViewD<'a, T>) -> Self {
        let flat = flat(&data);
        Self { data, flat }
    }
}

/// The data as a flat memory-order slice with non-negative strides, when it is one.
fn flat<'a, T>(data: &ArrayViewD<'a, T>) -> Option<(&'a [T], Vec<usize>)> {
    let strides: Option<Vec<usize>> = data
        .strides()
        .iter()
        .map(|s| usize::try_from(*s).ok())
        .collect();
    let strides = strides?;
    let slice = data.clone().to_slice_memory_order()?;
    Some((slice, strides))
}

impl SlicePlan {
    fn check_shape<T>(&self, data: &ArrayViewD<'_, T>) -> Result<(), SliceError> {
        if data.shape() != self.shape.as_slice() {
            return Err(SliceError::ArrayMismatch {
                dims: self.dims.clone(),
                shape: self.shape.clone(),
                found_dims: self.dims.clone(),
                found_shape: data.shape().to_vec(),
            });
        }
        Ok(())
    }

    pub(crate) fn check_array(&self, array: &LabeledArray) -> Result<(), SliceError> {
        if array.dims() != self.dims.as_slice() || array.shape() != self.shape.as_slice() {
            return Err(SliceError::ArrayMismatch {
                dims: self.dims.clone(),
                shape: self.shape.clone(),
                found_dims: array.dims().to_vec(),
                found_shape: array.shape().to_vec(),
            });
        }
        Ok(())
    }

    fn fill<T: SliceElement>(&self) -> T {
        match self.spec.edge {
            super::EdgePolicy::Pad(v) => T::from_f64(v),
            _ => T::default(),
        }
    }

    /// The view of a patch given its geometry (must not be padded).
    fn view_at<'a, T>(
        &self,
        data: &ArrayViewD<'a, T>,
        starts: &[usize],
        lens: &[usize],
    ) -> ArrayViewD<'a, T> {
        let mut v = data.clone();
        for (a, (s, l)) in starts.iter().zip(lens).enumerate() {
            v.slice_axis_inplace(Axis(a), Slice::from(*s..*s + *l));
        }
        v.permuted_axes(IxDyn(&self.layout.perm))
    }

    /// A zero-copy strided view of one patch, axes in output order before `sample` stacking
    /// (the leading stacked dims stay separate: reshaping them row-major gives xbatcher's
    /// `sample`). Errors for padded chips, which have no view.
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let a = LabeledArray::arange_i32(&["y", "x"], &[6, 6]).unwrap();
    /// let plan = SlicePlan::for_array(&a, &SliceSpec::new(&[("y", 2), ("x", 3)])).unwrap();
    /// let data = a.data();
    /// let geochip::ArrayData::I32(arr) = data else { unreachable!() };
    /// let v = plan.patch_view(arr.view(), &plan.patch(1).unwrap()).unwrap();
    /// assert_eq!(v.shape(), &[2, 3]);
    /// assert_eq!(v[[0, 0]], 3);
    /// assert!(std::ptr::eq(&v[[0, 0]], &arr[[0, 3]])); // no copy
    /// ```
    pub fn patch_view<'a, T>(
        &self,
        data: ArrayViewD<'a, T>,
        patch: &PatchInfo,
    ) -> Result<ArrayViewD<'a, T>, SliceError> {
        self.check_shape(&data)?;
        let nd = self.dims.len();
        let (mut starts, mut lens) = (vec![0; nd], vec![0; nd]);
        self.geometry(patch.id, &mut starts, &mut lens);
        if self.is_padded(&starts, &lens) {
            return Err(SliceError::PaddedView {
                id: patch.id,
                selector: patch.selector.to_string(),
            });
        }
        Ok(self.view_at(&data, &starts, &lens))
    }

    /// Zero-copy views of every patch of batch `i` (see [`SlicePlan::patch_view`]).
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let a = LabeledArray::arange_i32(&["y", "x"], &[6, 6]).unwrap();
    /// let plan = SlicePlan::for_array(&a, &SliceSpec::new(&[("y", 3), ("x", 3)]).concat_input_dims(true)).unwrap();
    /// let geochip::ArrayData::I32(arr) = a.data() else { unreachable!() };
    /// let views = plan.batch_views(arr.view(), 0).unwrap();
    /// assert_eq!(views.len(), 4);
    /// assert_eq!(views[3][[0, 0]], 21);
    /// ```
    pub fn batch_views<'a, T>(
        &self,
        data: ArrayViewD<'a, T>,
        i: u64,
    ) -> Result<Vec<ArrayViewD<'a, T>>, SliceError> {
        self.check_shape(&data)?;
        let nd = self.dims.len();
        let (mut starts, mut lens) = (vec![0; nd], vec![0; nd]);
        let mut out = Vec::new();
        for id in self.batch_ids(i)? {
            self.geometry(id, &mut starts, &mut lens);
            if self.is_padded(&starts, &lens) {
                return Err(SliceError::PaddedView {
                    id,
                    selector: self.patch(id)?.selector.to_string(),
                });
            }
            out.push(self.view_at(&data, &starts, &lens));
        }
        Ok(out)
    }

    /// Copies one patch (geometry `starts`/`lens`, padded with `fill`) into `dst`
    /// (C order over the permuted patch shape). `scratch` holds `6 × ndim` indices.
    fn gather_patch<T: Copy>(
        &self,
        src: &Source<'_, T>,
        starts: &[usize],
        lens: &[usize],
        fill: T,
        dst: &mut [T],
        scratch: &mut [usize],
    ) {
        let nd = self.dims.len();
        let (clip, rest) = scratch.split_at_mut(nd);
        let (sstr, rest) = rest.split_at_mut(nd);
        let (dstr, rest) = rest.split_at_mut(nd);
        let (idx, _) = rest.split_at_mut(nd);
        let perm = &self.layout.perm;
        let mut padded = false;
        for (k, a) in perm.iter().enumerate() {
            let avail = self.shape[*a].saturating_sub(starts[*a]);
            clip[k] = lens[*a].min(avail);
            padded |= clip[k] < lens[*a];
        }
        if padded {
            dst.fill(fill);
        }
        let mut acc = 1usize;
        for k in (0..nd).rev() {
            dstr[k] = acc;
            acc *= lens[perm[k]];
        }
        match &src.flat {
            Some((flat, strides)) => {
                // Never indexed when a clipped extent is 0 (copy_block returns first).
                let off: usize = starts.iter().zip(strides).map(|(s, t)| s * t).sum();
                for (k, a) in perm.iter().enumerate() {
                    sstr[k] = strides[*a];
                }
                copy_block(flat, off, sstr, dst, dstr, clip, idx);
            }
            None => {
                if clip.contains(&0) {
                    return;
                }
                let mut v = src.data.clone();
                for (k, a) in perm.iter().enumerate() {
                    v.slice_axis_inplace(Axis(*a), Slice::from(starts[*a]..starts[*a] + clip[k]));
                }
                let v = v.permuted_axes(IxDyn(perm));
                let full: Vec<usize> = perm.iter().map(|a| lens[*a]).collect();
                if let Ok(mut d) = ArrayViewMutD::from_shape(IxDyn(&full), dst) {
                    for (k, c) in clip.iter().enumerate() {
                        d.slice_axis_inplace(Axis(k), Slice::from(0..*c));
                    }
                    d.assign(&v);
                }
            }
        }
    }

    /// Gathers batch `i` into the front of `out`, C-contiguous in the batch's output shape
    /// ([`SlicePlan::batch_output`]), and returns the number of elements written. Without
    /// `concat_input_dims` nothing is allocated for arrays of up to 8 dims (with it, three
    /// index vectors of one entry per sliced dim per batch), so one buffer of
    /// [`SlicePlan::max_batch_elements`] can be reused for every batch. Padded chips are
    /// filled with the pad value.
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{EdgePolicy, SlicePlan, SliceSpec};
    /// let a = LabeledArray::arange_i32(&["x"], &[5]).unwrap();
    /// let plan = SlicePlan::for_array(&a, &SliceSpec::new(&[("x", 3)]).edge(EdgePolicy::Pad(-1.0))).unwrap();
    /// let geochip::ArrayData::I32(arr) = a.data() else { unreachable!() };
    /// let mut buf = vec![0i32; plan.max_batch_elements()];
    /// assert_eq!(plan.gather_into(arr.view(), 1, &mut buf).unwrap(), 3);
    /// assert_eq!(buf, vec![3, 4, -1]);
    /// ```
    pub fn gather_into<T: SliceElement>(
        &self,
        data: ArrayViewD<'_, T>,
        i: u64,
        out: &mut [T],
    ) -> Result<usize, SliceError> {
        self.check_shape(&data)?;
        let fill = self.fill::<T>();
        let nd = self.dims.len();
        let ids = self.batch_ids(i)?;
        let src = Source::new(data);
        let written = with_scratch(nd, |scratch| {
            let (geo, scratch) = scratch.split_at_mut(2 * nd);
            let (starts, lens) = geo.split_at_mut(nd);
            let mut off = 0usize;
            for id in ids {
                self.geometry(id, starts, lens);
                let n: usize = lens.iter().product();
                if off + n > out.len() {
                    return None;
                }
                self.gather_patch(&src, starts, lens, fill, &mut out[off..off + n], scratch);
                off += n;
            }
            Some(off)
        });
        match written {
            Some(n) => Ok(n),
            None => Err(SliceError::BufferTooSmall {
                batch: i,
                needed: self.batch_elements(i)?,
                len: out.len(),
            }),
        }
    }

    /// [`SlicePlan::gather_into`] with rayon: patches of a batch in parallel, or the rows of
    /// the outermost output axis of a single-patch batch. Same bytes as the sequential gather.
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let a = LabeledArray::arange_i32(&["band", "y", "x"], &[3, 64, 64]).unwrap();
    /// let plan = SlicePlan::for_array(&a, &SliceSpec::new(&[("y", 16), ("x", 16)]).batch_size(8, false)).unwrap();
    /// let geochip::ArrayData::I32(arr) = a.data() else { unreachable!() };
    /// let mut seq = vec![0i32; plan.max_batch_elements()];
    /// let mut par = seq.clone();
    /// plan.gather_into(arr.view(), 1, &mut seq).unwrap();
    /// plan.gather_into_par(arr.view(), 1, &mut par).unwrap();
    /// assert_eq!(seq, par);
    /// ```
    #[cfg(feature = "parallel")]
    pub fn gather_into_par<T: SliceElement>(
        &self,
        data: ArrayViewD<'_, T>,
        i: u64,
        out: &mut [T],
    ) -> Result<usize, SliceError> {
        use rayon::prelude::*;
        self.check_shape(&data)?;
        let needed = self.batch_elements(i)?;
        if out.len() < needed {
            return Err(SliceError::BufferTooSmall {
                batch: i,
                needed,
                len: out.len(),
            });
        }
        let fill = self.fill::<T>();
        let nd = self.dims.len();
        let ids: Vec<u64> = self.batch_ids(i)?.collect();
        let src = Source::new(data);
        let out = &mut out[..needed];
        let geometry = |id: u64| {
            let (mut starts, mut lens) = (vec![0; nd], vec![0; nd]);
            self.geometry(id, &mut starts, &mut lens);
            (starts, lens)
        };
        if let [id] = ids.as_slice() {
            // One patch: split along the outermost output axis.
            let (starts, lens) = geometry(*id);
            let a0 = self.layout.perm[0];
            let rows = lens[a0].max(1);
            let chunk = needed / rows;
            if chunk == 0 {
                return Ok(needed);
            }
            out.par_chunks_mut(chunk).enumerate().for_each(|(j, dst)| {
                let (mut s, mut l) = (starts.clone(), lens.clone());
                s[a0] += j;
                l[a0] = 1;
                let mut scratch = vec![0usize; 6 * nd];
                self.gather_patch(&src, &s, &l, fill, dst, &mut scratch);
            });
        } else if !ids.is_empty() {
            let chunk = needed / ids.len();
            if chunk == 0 {
                return Ok(needed);
            }
            out.par_chunks_mut(chunk)
                .zip(ids.par_iter())
                .for_each(|(dst, id)| {
                    let (s, l) = geometry(*id);
                    let mut scratch = vec![0usize; 6 * nd];
                    self.gather_patch(&src, &s, &l, fill, dst, &mut scratch);
                });
        }
        Ok(needed)
    }

    /// [`SlicePlan::gather_into`] from a [`LabeledArray`], checking its dims, shape and dtype.
    ///
    /// ```
    /// use geochip::LabeledArray;
    /// use geochip::slice::{SlicePlan, SliceSpec};
    /// let a = LabeledArray::arange_i32(&["y", "x"], &[4, 4]).unwrap();
    /// let plan = SlicePlan::for_array(&a, &SliceSpec::new(&[("y", 2), ("x", 2)])).unwrap();
    /// let mut buf = vec![0i32; 4];
    /// plan.gather_array_into(&a, 3, &mut buf).unwrap();
    /// assert_eq!(buf, vec![10, 11, 14, 15]);
    /// let mut wrong = vec![0f32; 4];
    /// assert!(plan.gather_array_into(&a, 3, &mut wrong).is_err());
    /// ```
    pub fn gather_array_into<T: SliceElement>(
        &self,
        array: &LabeledArray,
        i: u64,
        out: &mut [T],
    ) -> Result<usize, SliceError> {
        self.check_array(array)?;
        let view = T::view_of(array.data()).ok_or(SliceError::DTypeMismatch {
            expected: T::DTYPE,
            found: array.dtype(),
        })?;
        self.gather_into(view, i, out)
    }

    /// Batch `i` as a new [`LabeledArray`] with xbatcher's output dims.
    pub(crate) fn materialize<T: SliceElement>(
        &self,
        data: ArrayViewD<'_, T>,
        i: u64,
    ) -> Result<LabeledArray, SliceError> {
        let (dims, shape) = self.batch_output(i)?;
        let mut buf = vec![T::default(); shape.iter().product()];
        self.gather_into(data, i, &mut buf)?;
        let len = buf.len();
        let arr = ArrayD::from_shape_vec(IxDyn(&shape), buf).map_err(|_| {
            crate::array::ArrayError::ShapeMismatch {
                len,
                shape: shape.clone(),
                expected: shape.iter().product(),
            }
        })?;
        Ok(LabeledArray::new(&dims, T::into_data(arr))?)
    }
}
