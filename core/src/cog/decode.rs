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
        let decode_one = |c: &ChunkRead| -> Result<Option<Vec<u8>>, CogError> {
            match bytes_of(c)? {
                None => Ok(None),
                Some(b) => self.decode_chunk(plan.level, l, c, b).map(Some),
            }
        };
        #[cfg(feature = "parallel")]
        let decoded: Vec<Option<Vec<u8>>> = plan
            .chunks
            .par_iter()
            .map(decode_one)
            .collect::<Result<_, _>>()?;
        #[cfg(not(feature = "parallel"))]
        let decoded: Vec<Option<Vec<u8>>> = plan
            .chunks
            .iter()
            .map(decode_one)
            .collect::<Result<_, _>>()?;

        let size = l.dtype.size();
        let (w, h) = (plan.window.width, plan.window.height);
        let mut out = vec![0u8; plan.bands.len() * h * w * size];
        let fill = self.info.nodata.and_then(|v| le_value(l.dtype, v));
        if let Some(fill) = fill.filter(|_| decoded.iter().any(Option::is_none)) {
            for px in out.chunks_exact_mut(size) {
                px.copy_from_slice(&fill[..size]);
            }
        }
        for (c, data) in plan.chunks.iter().zip(&decoded) {
            if let Some(data) = data {
                place(l, plan, c, data, &mut out);
            }
        }
        let grid = lv
            .grid
            .window(plan.window)
            .map_err(|source| CogError::Window {
                input: self.name.clone(),
                level: plan.level,
                source,
            })?;
        let shape = [plan.bands.len(), h, w];
        to_array(l.dtype, &shape, &out)
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
    ) -> Result<Vec<u8>, CogError> {
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
        let mut buf = vec![0u8; expected];
        let produced = match l.compression {
            1 => {
                let n = bytes.len().min(expected);
                buf[..n].copy_from_slice(&bytes[..n]);
                n
            }
            8 | 32946 => inflate(bytes, &mut buf).map_err(corrupt)?,
            5 => lzw(bytes, &mut buf).map_err(corrupt)?,
            32773 => packbits(bytes, &mut buf).map_err(corrupt)?,
            7 => jpeg(l, bytes, &mut buf).map_err(corrupt)?,
            code => match self.codecs.get(code) {
                Some(d) => d.decompress(bytes, &mut buf).map_err(corrupt)?,
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
                undo_horizontal(&mut buf, row_elems * size, spp, size);
            }
            3 => undo_floating_point(&mut buf, row_elems, spp, size),
            p => {
                return Err(CogError::Unsupported {
                    input: self.name.clone(),
                    what: format!("predictor {p}"),
                });
            }
        }
        Ok(buf)
    }
}

/// Copies the part of a decoded chunk that lies in the window into `out` (`band, y, x`).
fn place(l: &Layout, plan: &WindowPlan, c: &ChunkRead, data: &[u8], out: &mut [u8]) {
    let size = l.dtype.size();
    let spp = if l.planar { 1 } else { l.samples };
    let (x0, y0) = (c.cx * l.chunk_w, c.cy * l.chunk_h);
    let rows = data.len() / (l.chunk_w * spp * size);
    let win = plan.window;
    let xs = x0.max(win.col_off);
    let xe = (x0 + l.chunk_w).min(win.col_end());
    let ys = y0.max(win.row_off);
    let ye = (y0 + rows).min(win.row_end());
    if xs >= xe || ys >= ye {
        return;
    }
    let n = xe - xs;
    for (ob, &band) in plan.bands.iter().enumerate() {
        let sample = if l.planar {
            if band != c.plane {
                continue;
            }
            0
        } else {
            band
        };
        for y in ys..ye {
            let src_row = (y - y0) * l.chunk_w * spp;
            let dst =
                ((ob * win.height + (y - win.row_off)) * win.width + (xs - win.col_off)) * size;
            if spp == 1 {
                let src = (src_row + xs - x0) * size;
                out[dst..dst + n * size].copy_from_slice(&data[src..src + n * size]);
            } else {
                let dst_px = out[dst..dst + n * size].chunks_exact_mut(size);
                let first = (src_row + (xs - x0) * spp + sample) * size;
                let src_px = data[first..].chunks(spp * size);
                for (d, s) in dst_px.zip(src_px) {
                    d.copy_from_slice(&s[..size]);
                }
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
    match size {
        1 => {
            for row in buf.chunks_exact_mut(row_bytes) {
                for i in spp..row.len() {
                    row[i] = row[i].wrapping_add(row[i - spp]);
                }
            }
        }
        2 => acc!(u16),
        4 => acc!(u32),
        _ => acc!(u64),
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

/// A `band, y, x` array from little-endian bytes.
fn to_array(
    dtype: DType,
    shape: &[usize],
    bytes: &[u8],
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
        DType::U8 => LabeledArray::from_shape_vec(&DIMS, shape, bytes.to_vec()),
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
