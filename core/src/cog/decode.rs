//! Decoding tiles and strips from their compressed bytes, and assembling a window.
//!
//! Every decoded chunk is held as little-endian sample bytes (big-endian files are swapped, the
//! floating-point predictor reassembles its byte planes little-endian), so assembly is plain
//! byte copying and the result converts to typed values with `from_le_bytes`.

#[cfg(feature = "parallel")]
use rayon::prelude::*;

use super::plan::{ChunkRead, Origin, WindowPlan};
use super::{Cog, CogError, Layout};
use crate::array::{DType, LabeledArray};

impl Cog {
    /// Decodes a planned window from the bytes fetched for [`WindowPlan::requests`] (one
    /// buffer per request, in order). Tiles decode in parallel with the `parallel` feature.
    ///
    /// ```
    /// use geochip::cog::{Cog, MemorySource};
    /// # let mut buf = std::io::Cursor::new(Vec::new());
    /// # let px: Vec<u16> = (0..64 * 64).collect();
    /// # tiff::encoder::TiffEncoder::new(&mut buf).unwrap()
    /// #     .write_image::<tiff::encoder::colortype::Gray16>(64, 64, &px).unwrap();
    /// let file = buf.into_inner();
    /// let cog = Cog::open(&MemorySource::new("g.tif", file.clone())).unwrap();
    /// let plan = cog.plan_window(0, geochip::Window::new(60, 63, 4, 1), None).unwrap();
    /// let fetched: Vec<Vec<u8>> = plan
    ///     .requests()
    ///     .iter()
    ///     .map(|r| file[r.offset as usize..r.end() as usize].to_vec())
    ///     .collect();
    /// let a = cog.decode_window(&plan, &fetched).unwrap();
    /// assert_eq!(a.data().to_le_bytes()[..2], 4092u16.to_le_bytes());
    /// assert!(cog.decode_window(&plan, &[]).is_err() || plan.requests().is_empty());
    /// ```
    pub fn decode_window(
        &self,
        plan: &WindowPlan,
        fetched: &[Vec<u8>],
    ) -> Result<LabeledArray, CogError> {
        let lv = self.level(plan.level)?;
        let l = &lv.layout;
        let fetch_err = |reason: String| CogError::Fetch {
            input: self.name.clone(),
            reason,
        };
        if fetched.len() != plan.requests.len() {
            return Err(fetch_err(format!(
                "{} buffers for {} requests",
                fetched.len(),
                plan.requests.len()
            )));
        }
        for (i, (r, b)) in plan.requests.iter().zip(fetched).enumerate() {
            if b.len() as u64 != r.len {
                return Err(fetch_err(format!(
                    "request {i} (bytes {}..{}) got {} bytes",
                    r.offset,
                    r.end(),
                    b.len()
                )));
            }
        }
        let bytes_of = |c: &ChunkRead| -> Result<Option<&[u8]>, CogError> {
            let len = c.range.len_usize();
            let missing = || fetch_err(format!("no bytes for chunk {}", c.index));
            match c.origin {
                Origin::Sparse => Ok(None),
                Origin::Held => self
                    .held
                    .get(c.range.offset, c.range.len)
                    .map(Some)
                    .ok_or_else(missing),
                Origin::Request { request, at } => fetched
                    .get(request)
                    .and_then(|b| b.get(at..at + len))
                    .map(Some)
                    .ok_or_else(missing),
            }
        };
        let size = l.dtype.size();
        let (w, h) = (plan.window.width, plan.window.height);
        let mut out = vec![0u8; plan.bands.len() * h * w * size];
        // Split the output into the disjoint row pieces each chunk fills, so chunks decode and
        // copy in parallel straight into the result (no per-chunk buffers, no unsafe).
        let mut pieces = split_by_chunk(l, plan, &mut out);
        let fill = self.info.nodata.and_then(|v| le_value(l.dtype, v));
        let run = |scratch: &mut Vec<u8>,
                   (c, pieces): (&ChunkRead, &mut Vec<Piece<'_>>)|
         -> Result<(), CogError> {
            match bytes_of(c)? {
                Some(b) => {
                    self.decode_chunk(plan.level, l, c, b, scratch)?;
                    copy_pieces(l, c, scratch, pieces);
                }
                None => {
                    if let Some(fill) = &fill {
                        for p in pieces.iter_mut() {
                            for px in p.bytes.chunks_exact_mut(size) {
                                px.copy_from_slice(fill);
                            }
                        }
                    }
                }
            }
            Ok(())
        };
        #[cfg(feature = "parallel")]
        plan.chunks
            .par_iter()
            .zip(pieces.par_iter_mut())
            .try_for_each_init(Vec::new, run)?;
        #[cfg(not(feature = "parallel"))]
        {
            let mut scratch = Vec::new();
            for job in plan.chunks.iter().zip(pieces.iter_mut()) {
                run(&mut scratch, job)?;
            }
        }
        drop(pieces);
        let grid = lv
            .grid
            .window(plan.window)
            .map_err(|source| CogError::Window {
                input: self.name.clone(),
                level: plan.level,
                source,
            })?;
        let shape = [plan.bands.len(), h, w];
        to_array(l.dtype, &shape, out)
            .and_then(|a| a.with_grid(grid))
            .map_err(|source| CogError::Array {
                input: self.name.clone(),
                source,
            })
    }

    /// Decodes one chunk into little-endian samples (`rows x chunk_w x samples-in-chunk`).
    fn decode_chunk(
        &self,
        level: usize,
        l: &Layout,
        c: &ChunkRead,
        bytes: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(), CogError> {
        let corrupt = |reason: String| CogError::Corrupt {
            input: self.name.clone(),
            level,
            kind: if l.tiled { "tile" } else { "strip" },
            index: c.index,
            offset: c.range.offset,
            end: c.range.end(),
            reason,
        };
        let size = l.dtype.size();
        let spp = if l.planar { 1 } else { l.samples };
        let rows = if l.tiled {
            l.chunk_h
        } else {
            l.chunk_h.min(l.height - c.cy * l.chunk_h)
        };
        let row_elems = l.chunk_w * spp;
        let expected = rows * row_elems * size;
        buf.clear();
        buf.resize(expected, 0);
        let produced = match l.compression {
            1 => {
                let n = bytes.len().min(expected);
                buf[..n].copy_from_slice(&bytes[..n]);
                n
            }
            8 | 32946 => inflate(bytes, buf).map_err(corrupt)?,
            5 => lzw(bytes, buf).map_err(corrupt)?,
            32773 => packbits(bytes, buf).map_err(corrupt)?,
            #[cfg(feature = "jpeg")]
            7 => jpeg(l, bytes, buf).map_err(corrupt)?,
            code => match self.codecs.get(code) {
                Some(d) => d.decompress(bytes, buf).map_err(corrupt)?,
                None => {
                    return Err(CogError::CodecUnavailable {
                        input: self.name.clone(),
                        compression: crate::geotiff::compression_name(code),
                        code,
                    });
                }
            },
        };
        if produced < expected {
            return Err(corrupt(format!(
                "decodes to {produced} bytes, {expected} expected ({rows} rows of {} \
                 samples of {size} bytes)",
                row_elems
            )));
        }
        match l.predictor {
            1 => {
                if l.big_endian && size > 1 {
                    buf.chunks_exact_mut(size).for_each(<[u8]>::reverse);
                }
            }
            2 => {
                if l.big_endian && size > 1 {
                    buf.chunks_exact_mut(size).for_each(<[u8]>::reverse);
                }
                undo_horizontal(buf, row_elems * size, spp, size);
            }
            3 => undo_floating_point(buf, row_elems, spp, size),
            p => {
                return Err(CogError::Unsupported {
                    input: self.name.clone(),
                    what: format!("predictor {p}"),
                });
            }
        }
        Ok(())
    }
}

/// The part of one output row (one band) that one chunk fills.
struct Piece<'a> {
    /// Sample index of the band inside the chunk (0 for band-separate files).
    sample: usize,
    /// Image row.
    y: usize,
    /// First image column.
    x: usize,
    bytes: &'a mut [u8],
}

/// Splits `out` (`band, y, x`) into the pieces each planned chunk fills, in plan order.
fn split_by_chunk<'a>(l: &Layout, plan: &WindowPlan, out: &'a mut [u8]) -> Vec<Vec<Piece<'a>>> {
    let size = l.dtype.size();
    let win = plan.window;
    let mut pieces: Vec<Vec<Piece<'a>>> = plan.chunks.iter().map(|_| Vec::new()).collect();
    // Plan order is plane, then chunk row, then chunk column over the window's chunk ranges.
    let cx0 = win.col_off / l.chunk_w;
    let ncols = (win.col_end() - 1) / l.chunk_w - cx0 + 1;
    let cy0 = win.row_off / l.chunk_h;
    let nrows = (win.row_end() - 1) / l.chunk_h - cy0 + 1;
    let planes: Vec<usize> = if l.planar {
        plan.chunks
            .iter()
            .step_by(ncols * nrows)
            .map(|c| c.plane)
            .collect()
    } else {
        vec![0]
    };
    let band_len = win.width * win.height * size;
    if band_len == 0 {
        return pieces;
    }
    for (&band, band_out) in plan.bands.iter().zip(out.chunks_exact_mut(band_len)) {
        let (plane, sample) = if l.planar { (band, 0) } else { (0, band) };
        let Some(p) = planes.iter().position(|q| *q == plane) else {
            continue;
        };
        for (dy, mut row) in band_out.chunks_exact_mut(win.width * size).enumerate() {
            let y = win.row_off + dy;
            let cy = y / l.chunk_h - cy0;
            let mut x = win.col_off;
            for cx in 0..ncols {
                let end = ((cx0 + cx + 1) * l.chunk_w).min(win.col_end());
                let (seg, rest) = std::mem::take(&mut row).split_at_mut((end - x) * size);
                row = rest;
                let k = (p * nrows + cy) * ncols + cx;
                pieces[k].push(Piece {
                    sample,
                    y,
                    x,
                    bytes: seg,
                });
                x = end;
            }
        }
    }
    pieces
}

/// Copies a decoded chunk (little-endian samples) into its pieces of the output.
fn copy_pieces(l: &Layout, c: &ChunkRead, data: &[u8], pieces: &mut [Piece<'_>]) {
    let size = l.dtype.size();
    let spp = if l.planar { 1 } else { l.samples };
    let (x0, y0) = (c.cx * l.chunk_w, c.cy * l.chunk_h);
    let row_bytes = l.chunk_w * spp * size;
    for p in pieces {
        let start = (p.y - y0) * row_bytes + ((p.x - x0) * spp + p.sample) * size;
        let n = p.bytes.len() / size;
        let src = &data[start..];
        if spp == 1 {
            p.bytes.copy_from_slice(&src[..n * size]);
        } else if size == 1 {
            for (d, s) in p.bytes.iter_mut().zip(src.iter().step_by(spp)) {
                *d = *s;
            }
        } else {
            for (d, s) in p.bytes.chunks_exact_mut(size).zip(src.chunks(spp * size)) {
                d.copy_from_slice(&s[..size]);
            }
        }
    }
}

/// Inflates a zlib stream into `out` with `fdeflate` (the fastest pure-Rust inflate on GDAL's
/// tiles, see the crate docs); returns how many bytes were written.
fn inflate(input: &[u8], out: &mut [u8]) -> Result<usize, String> {
    let mut d = fdeflate::Decompressor::new();
    let (mut read, mut written) = (0, 0);
    while written < out.len() && !d.is_done() {
        let (r, w) = d
            .read(&input[read..], out, written, true)
            .map_err(|e| format!("deflate: {e:?}"))?;
        if r == 0 && w == 0 {
            break;
        }
        read += r;
        written += w;
    }
    Ok(written)
}

/// TIFF LZW (MSB-first codes with the early code-size switch) with `weezl`, as `tiff` does.
fn lzw(input: &[u8], out: &mut [u8]) -> Result<usize, String> {
    let mut d = weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
    let (mut read, mut written) = (0, 0);
    while written < out.len() {
        let r = d.decode_bytes(&input[read..], &mut out[written..]);
        read += r.consumed_in;
        written += r.consumed_out;
        match r.status {
            Ok(weezl::LzwStatus::Ok) if r.consumed_in + r.consumed_out > 0 => {}
            Ok(_) => break,
            Err(e) => return Err(format!("LZW: {e}")),
        }
    }
    Ok(written)
}

/// PackBits (Apple's run-length encoding, TIFF compression 32773). Written by hand: the
/// format is a dozen lines and `tiff` keeps its reader private.
pub(crate) fn packbits(input: &[u8], out: &mut [u8]) -> Result<usize, String> {
    let (mut i, mut o) = (0usize, 0usize);
    while o < out.len() && i < input.len() {
        let n = input[i] as i8;
        i += 1;
        if n >= 0 {
            let count = n as usize + 1;
            let src = input
                .get(i..i + count)
                .ok_or_else(|| format!("PackBits literal run of {count} overruns the data"))?;
            let m = count.min(out.len() - o);
            out[o..o + m].copy_from_slice(&src[..m]);
            i += count;
            o += m;
        } else if n != -128 {
            let count = (1 - isize::from(n)) as usize;
            let v = *input
                .get(i)
                .ok_or_else(|| "PackBits repeat run without its byte".to_owned())?;
            let m = count.min(out.len() - o);
            out[o..o + m].fill(v);
            i += 1;
            o += m;
        }
    }
    Ok(o)
}

#[cfg(feature = "jpeg")]
/// A JPEG tile or strip (with the shared `JPEGTables` spliced in, as libtiff does), decoded by
/// `zune-jpeg`; YCbCr is converted to RGB like GDAL's default `JPEGCOLORMODE=RGB`.
fn jpeg(l: &Layout, bytes: &[u8], out: &mut [u8]) -> Result<usize, String> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;

    if l.dtype != DType::U8 {
        return Err(format!("JPEG with {} samples", l.dtype));
    }
    let data = match l.jpeg_tables.as_deref() {
        // Tables end with EOI and the tile starts with SOI: drop both.
        Some(t) if t.len() >= 4 && bytes.len() >= 2 => {
            let mut d = Vec::with_capacity(t.len() + bytes.len());
            d.extend_from_slice(&t[..t.len() - 2]);
            d.extend_from_slice(&bytes[2..]);
            d
        }
        _ => bytes.to_vec(),
    };
    let mut dec = zune_jpeg::JpegDecoder::new(ZCursor::new(data));
    dec.decode_headers().map_err(|e| format!("JPEG: {e:?}"))?;
    let out_space = if l.photometric == 6 {
        ColorSpace::RGB
    } else {
        dec.input_colorspace().unwrap_or(ColorSpace::RGB)
    };
    dec.set_options(DecoderOptions::default().jpeg_set_out_colorspace(out_space));
    let px = dec.decode().map_err(|e| format!("JPEG: {e:?}"))?;
    let n = px.len().min(out.len());
    out[..n].copy_from_slice(&px[..n]);
    Ok(n)
}

/// Undoes TIFF predictor 2 (horizontal differencing) on little-endian samples, row by row.
pub(crate) fn undo_horizontal(buf: &mut [u8], row_bytes: usize, spp: usize, size: usize) {
    macro_rules! acc {
        ($t:ty) => {{
            const N: usize = std::mem::size_of::<$t>();
            let get = |row: &[u8], i: usize| {
                let mut a = [0u8; N];
                a.copy_from_slice(&row[i * N..i * N + N]);
                <$t>::from_le_bytes(a)
            };
            for row in buf.chunks_exact_mut(row_bytes) {
                for i in spp..row_bytes / N {
                    let v = get(row, i).wrapping_add(get(row, i - spp));
                    row[i * N..i * N + N].copy_from_slice(&v.to_le_bytes());
                }
            }
        }};
    }
    match (size, spp) {
        (1, 1) => acc_u8::<1>(buf, row_bytes),
        (1, 2) => acc_u8::<2>(buf, row_bytes),
        (1, 3) => acc_u8::<3>(buf, row_bytes),
        (1, 4) => acc_u8::<4>(buf, row_bytes),
        (1, _) => {
            for row in buf.chunks_exact_mut(row_bytes) {
                for i in spp..row.len() {
                    row[i] = row[i].wrapping_add(row[i - spp]);
                }
            }
        }
        (2, _) => acc!(u16),
        (4, _) => acc!(u32),
        _ => acc!(u64),
    }
}

/// Predictor 2 for bytes with `N` samples per pixel: running sums in registers, about 3x
/// faster than indexing the previous pixel.
fn acc_u8<const N: usize>(buf: &mut [u8], row_bytes: usize) {
    for row in buf.chunks_exact_mut(row_bytes) {
        let mut acc = [0u8; N];
        for px in row.chunks_exact_mut(N) {
            for (a, v) in acc.iter_mut().zip(px.iter_mut()) {
                *a = a.wrapping_add(*v);
                *v = *a;
            }
        }
    }
}

/// Undoes TIFF predictor 3 (floating point, Adobe Photoshop TN): bytes are differenced with the
/// sample stride, then each value's bytes are stored in planes, most significant first. The
/// result is little-endian whatever the file's byte order (libtiff's `fpAcc`).
pub(crate) fn undo_floating_point(buf: &mut [u8], row_elems: usize, spp: usize, size: usize) {
    let row_bytes = row_elems * size;
    let mut tmp = vec![0u8; row_bytes];
    for row in buf.chunks_exact_mut(row_bytes) {
        for i in spp..row_bytes {
            row[i] = row[i].wrapping_add(row[i - spp]);
        }
        tmp.copy_from_slice(row);
        for (count, value) in row.chunks_exact_mut(size).enumerate() {
            for (byte, b) in value.iter_mut().enumerate() {
                *b = tmp[(size - 1 - byte) * row_elems + count];
            }
        }
    }
}

/// `v` as little-endian bytes of `dtype` when it is representable (GDAL fills sparse tiles
/// with nodata), else `None` (they stay 0).
fn le_value(dtype: DType, v: f64) -> Option<Vec<u8>> {
    macro_rules! int {
        ($t:ty) => {{
            let ok = v.fract() == 0.0 && v >= <$t>::MIN as f64 && v <= <$t>::MAX as f64;
            ok.then(|| (v as $t).to_le_bytes().to_vec())
        }};
    }
    match dtype {
        DType::U8 => int!(u8),
        DType::U16 => int!(u16),
        DType::U32 => int!(u32),
        DType::U64 => int!(u64),
        DType::I8 => int!(i8),
        DType::I16 => int!(i16),
        DType::I32 => int!(i32),
        DType::I64 => int!(i64),
        DType::F32 => Some((v as f32).to_le_bytes().to_vec()),
        DType::F64 => Some(v.to_le_bytes().to_vec()),
    }
}

/// A `band, y, x` array from little-endian bytes (moved, not copied, for `uint8`).
fn to_array(
    dtype: DType,
    shape: &[usize],
    bytes: Vec<u8>,
) -> Result<LabeledArray, crate::ArrayError> {
    const DIMS: [&str; 3] = ["band", "y", "x"];
    macro_rules! typed {
        ($t:ty) => {{
            const N: usize = std::mem::size_of::<$t>();
            let values: Vec<$t> = bytes
                .chunks_exact(N)
                .map(|c| {
                    let mut a = [0u8; N];
                    a.copy_from_slice(c);
                    <$t>::from_le_bytes(a)
                })
                .collect();
            LabeledArray::from_shape_vec(&DIMS, shape, values)
        }};
    }
    match dtype {
        DType::U8 => LabeledArray::from_shape_vec(&DIMS, shape, bytes),
        DType::U16 => typed!(u16),
        DType::U32 => typed!(u32),
        DType::U64 => typed!(u64),
        DType::I8 => typed!(i8),
        DType::I16 => typed!(i16),
        DType::I32 => typed!(i32),
        DType::I64 => typed!(i64),
        DType::F32 => typed!(f32),
        DType::F64 => typed!(f64),
    }
}

#[cfg(test)]
pub(crate) mod tests_api {
    pub(crate) use super::{packbits, undo_floating_point, undo_horizontal};
}
