//! Thumbnails for the stacking lesson's SVG: a contrast stretch, a minimal PNG writer and
//! base64, so the SVG can carry its images inline (`data:` URLs) with no extra request.
//!
//! Written by hand rather than with the `png`/`base64` crates: a grey+alpha PNG is a signature,
//! three chunks and a CRC, and base64 is a dozen lines, which costs the wasm module less than
//! either crate; the deflate itself is `fdeflate`'s (already a core dependency for COG tiles).

/// Largest thumbnail side in pixels.
const THUMB: usize = 120;

/// `(width, height, step)`: the thumbnail of an `nx × ny` plane samples every `step`-th pixel.
pub(super) fn thumb_size(nx: usize, ny: usize) -> (usize, usize, usize) {
    let step = nx.max(ny).div_ceil(THUMB).max(1);
    (nx.div_ceil(step).max(1), ny.div_ceil(step).max(1), step)
}

/// The 2 % and 98 % values of the valid (not nodata, not NaN) values; `(0, 1)` when none.
pub(super) fn stretch(values: impl Iterator<Item = f64>, nodata: f64) -> (f64, f64) {
    let mut v: Vec<f64> = values.filter(|x| !(x.is_nan() || *x == nodata)).collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    v.sort_unstable_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    let (lo, hi) = (at(0.02), at(0.98));
    if hi > lo { (lo, hi) } else { (lo, lo + 1.0) }
}

/// Every `step`-th pixel of the `nx × ny` plane, in both directions (row-major).
pub(super) fn sample(plane: &[f64], nx: usize, ny: usize, step: usize) -> Vec<f64> {
    (0..ny)
        .step_by(step)
        .flat_map(|r| (0..nx).step_by(step).map(move |c| plane[r * nx + c]))
        .collect()
}

/// A grey+alpha PNG of the `w × h` values, `lo..hi` mapped to 0..255, nodata/NaN transparent.
pub(super) fn png_thumb(
    values: &[f64],
    w: usize,
    h: usize,
    nodata: f64,
    lo: f64,
    hi: f64,
) -> Vec<u8> {
    let mut raw = Vec::with_capacity(h * (1 + 2 * w));
    for row in values.chunks(w) {
        raw.push(0); // filter: none
        for &v in row {
            if v.is_nan() || v == nodata {
                raw.extend_from_slice(&[0, 0]);
            } else {
                let g = ((v - lo) / (hi - lo) * 255.0).round().clamp(0.0, 255.0) as u8;
                raw.extend_from_slice(&[g, 255]);
            }
        }
    }
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&(w as u32).to_be_bytes());
    ihdr.extend_from_slice(&(h as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 4, 0, 0, 0]); // 8-bit, grey+alpha, deflate, no filter, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &fdeflate::compress_to_vec(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (ISO-HDLC, as PNG uses), bitwise: thumbnails are a few KiB.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Standard base64 with padding.
pub(super) fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= c.len() {
                out.push(char::from(ABC[(n >> shift) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), enc);
        }
    }

    #[test]
    fn crc32_check_value() {
        // The CRC-32/ISO-HDLC check value.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        // The IEND chunk's well-known CRC.
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn png_decodes_back() {
        let plane = [0.0, 10.0, 20.0, f64::NAN, 30.0, 40.0];
        let png = png_thumb(&sample(&plane, 3, 2, 1), 3, 2, 0.0, 10.0, 40.0);
        // zlib stream inflates to the filtered rows.
        let idat_len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        let raw = fdeflate::decompress_to_vec(&png[41..41 + idat_len]).unwrap();
        assert_eq!(
            raw,
            vec![0, 0, 0, 0, 255, 85, 255, 0, 0, 0, 170, 255, 255, 255]
        );
        assert_eq!(thumb_size(400, 200), (100, 50, 4));
        assert_eq!(thumb_size(10, 10), (10, 10, 1));
        assert_eq!(
            sample(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2, 2),
            vec![1.0, 3.0]
        );
    }

    #[test]
    fn stretch_ignores_nodata() {
        let v = (0..=100).map(f64::from).chain([f64::NAN, -1.0]);
        assert_eq!(stretch(v, -1.0), (2.0, 98.0));
        assert_eq!(stretch([0.0, 0.0].into_iter(), 0.0), (0.0, 1.0));
        assert_eq!(stretch([5.0].into_iter(), 0.0), (5.0, 6.0));
    }
}
