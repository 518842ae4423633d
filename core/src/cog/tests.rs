//! Unit tests of the COG reader's pieces; the reader against rasterio is tested in
//! `tests/tests/cog_read.rs`.

use super::header::Held;
use super::plan::{ByteRange, coalesce};
use super::*;

fn r(offset: u64, len: u64) -> ByteRange {
    ByteRange { offset, len }
}

#[test]
fn coalesce_merges_touching_and_near_ranges_only() {
    let v = [r(100, 10), r(0, 10), r(10, 5), r(200, 1), r(105, 2)];
    assert_eq!(
        coalesce(v.iter().copied(), 0),
        vec![r(0, 15), r(100, 10), r(200, 1)]
    );
    assert_eq!(coalesce(v.iter().copied(), 89), vec![r(0, 110), r(200, 1)]);
    assert!(coalesce(std::iter::empty(), 0).is_empty());
}

#[test]
fn held_ranges_merge_and_answer_lookups() {
    let mut h = Held::default();
    h.insert(10, vec![1, 2, 3]);
    h.insert(20, vec![7, 8]);
    assert_eq!(h.get(11, 2), Some(&[2u8, 3][..]));
    assert_eq!(h.get(12, 2), None);
    assert_eq!(h.from(9), None);
    h.insert(13, vec![4; 7]);
    assert_eq!(
        h.get(10, 12),
        Some(&[1u8, 2, 3, 4, 4, 4, 4, 4, 4, 4, 7, 8][..])
    );
    assert_eq!(h.total(), 12);
}

#[test]
fn header_asks_for_more_until_ready() {
    let mut buf = std::io::Cursor::new(Vec::new());
    let px: Vec<u8> = vec![9; 300 * 300];
    tiff::encoder::TiffEncoder::new(&mut buf)
        .unwrap()
        .write_image::<tiff::encoder::colortype::Gray8>(300, 300, &px)
        .unwrap();
    let file = buf.into_inner();
    // tiff's encoder writes the IFD after the pixels, past the first fetch.
    let mut reader = HeaderReader::new("g.tif", file.len() as u64);
    let mut rounds = 0;
    let cog = loop {
        match reader.parse().unwrap() {
            HeaderStep::Ready(c) => break c,
            HeaderStep::Need(range) => {
                assert!(range.end() <= file.len() as u64);
                reader.add(
                    range.offset,
                    file[range.offset as usize..range.end() as usize].to_vec(),
                );
                rounds += 1;
            }
        }
    };
    assert!(rounds >= 2, "{rounds} rounds");
    assert_eq!(cog.grid().shape(), (300, 300));
    let src = MemorySource::new("g.tif", file);
    let a = cog
        .read_window(&src, 0, Window::new(299, 299, 1, 1), None)
        .unwrap();
    assert_eq!(a.data().to_le_bytes(), vec![9]);
}

#[test]
fn codec_hook_and_unavailable_codec() {
    let mut buf = std::io::Cursor::new(Vec::new());
    tiff::encoder::TiffEncoder::new(&mut buf)
        .unwrap()
        .write_image::<tiff::encoder::colortype::Gray8>(4, 2, &[1, 2, 3, 4, 5, 6, 7, 8])
        .unwrap();
    let mut file = buf.into_inner();
    // Rewrite Compression (tag 259, SHORT, value 1) to 50000 (zstd) in the little-endian IFD.
    let at = file
        .windows(8)
        .position(|w| w == [0x03, 0x01, 3, 0, 1, 0, 0, 0])
        .unwrap();
    file[at + 8..at + 10].copy_from_slice(&50000u16.to_le_bytes());
    let src = MemorySource::new("z.tif", file);
    let cog = Cog::open(&src).unwrap();
    let err = cog
        .read_window(&src, 0, Window::new(0, 0, 4, 2), None)
        .unwrap_err();
    assert!(matches!(
        err,
        CogError::CodecUnavailable { code: 50000, .. }
    ));
    assert!(
        err.to_string()
            .contains("z.tif: compression zstd is not available in this build")
    );

    struct Reverse;
    impl Decompressor for Reverse {
        fn decompress(&self, input: &[u8], output: &mut [u8]) -> Result<usize, String> {
            for (o, i) in output.iter_mut().zip(input.iter().rev()) {
                *o = *i;
            }
            Ok(input.len().min(output.len()))
        }
    }
    let cog = cog.with_codecs(Codecs::default().with(50000, Arc::new(Reverse)));
    let a = cog
        .read_window(&src, 0, Window::new(0, 0, 4, 2), None)
        .unwrap();
    assert_eq!(a.data().to_le_bytes(), vec![8, 7, 6, 5, 4, 3, 2, 1]);
}

#[test]
fn predictors_and_packbits_invert_their_encoders() {
    // Horizontal differencing of u16 samples, 2 per pixel.
    let values: Vec<u16> = vec![1000, 5, 1003, 2, 65535, 9];
    let mut enc = values.clone();
    for i in (2..enc.len()).rev() {
        enc[i] = enc[i].wrapping_sub(enc[i - 2]);
    }
    let mut bytes: Vec<u8> = enc.iter().flat_map(|v| v.to_le_bytes()).collect();
    decode::tests_api::undo_horizontal(&mut bytes, 12, 2, 2);
    let back: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    assert_eq!(back, values);

    // Floating point: byte planes (MSB first), then byte differences.
    let f: Vec<f32> = vec![1.5, -2.25, 1e-3, f32::NAN];
    let be: Vec<[u8; 4]> = f.iter().map(|v| v.to_be_bytes()).collect();
    let mut planes: Vec<u8> = (0..4).flat_map(|b| be.iter().map(move |v| v[b])).collect();
    for i in (1..planes.len()).rev() {
        planes[i] = planes[i].wrapping_sub(planes[i - 1]);
    }
    decode::tests_api::undo_floating_point(&mut planes, 4, 1, 4);
    let back: Vec<u32> = planes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let want: Vec<u32> = f.iter().map(|v| v.to_bits()).collect();
    assert_eq!(back, want);

    // PackBits: the example from Apple's TN1023.
    let packed = [
        0xFEu8, 0xAA, 0x02, 0x80, 0x00, 0x2A, 0xFD, 0xAA, 0x03, 0x80, 0x00, 0x2A, 0x22, 0xF7, 0xAA,
    ];
    let mut out = [0u8; 24];
    assert_eq!(decode::tests_api::packbits(&packed, &mut out), Ok(24));
    assert_eq!(
        out,
        [
            0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0xAA, 0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0x22,
            0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA
        ]
    );
    assert!(decode::tests_api::packbits(&[0x05, 1, 2], &mut out).is_err());
}

#[test]
fn bad_levels_bands_and_windows_are_typed_errors() {
    let mut buf = std::io::Cursor::new(Vec::new());
    tiff::encoder::TiffEncoder::new(&mut buf)
        .unwrap()
        .write_image::<tiff::encoder::colortype::RGB8>(4, 4, &[0; 48])
        .unwrap();
    let src = MemorySource::new("rgb.tif", buf.into_inner());
    let cog = Cog::open(&src).unwrap();
    let w = Window::new(0, 0, 2, 2);
    assert!(matches!(
        cog.plan_window(1, w, None),
        Err(CogError::Level {
            level: 1,
            levels: 1,
            ..
        })
    ));
    assert!(matches!(
        cog.plan_window(0, w, Some(&[3])),
        Err(CogError::Band {
            band: 3,
            bands: 3,
            ..
        })
    ));
    assert!(matches!(
        cog.plan_window(0, w, Some(&[])),
        Err(CogError::Band { .. })
    ));
    assert!(matches!(
        cog.plan_window(0, Window::new(3, 3, 2, 2), None),
        Err(CogError::Window { .. })
    ));
    assert!(matches!(
        cog.plan_window(0, Window::new(0, 0, 0, 2), None),
        Err(CogError::Window { .. })
    ));
    let plan = cog.plan_window(0, w, Some(&[2, 0])).unwrap();
    assert!(matches!(
        cog.decode_window(&plan, &[vec![0]]),
        Err(CogError::Fetch { .. })
    ));
}

#[test]
fn byte_predictor_fast_paths_equal_the_generic_sum() {
    for spp in 1..=5 {
        let row_bytes = 7 * spp;
        let data: Vec<u8> = (0..row_bytes * 3).map(|i| (i * 37 % 251) as u8).collect();
        let mut want = data.clone();
        for row in want.chunks_exact_mut(row_bytes) {
            for i in spp..row.len() {
                row[i] = row[i].wrapping_add(row[i - spp]);
            }
        }
        let mut got = data.clone();
        decode::tests_api::undo_horizontal(&mut got, row_bytes, spp, 1);
        assert_eq!(got, want, "spp {spp}");
    }
}
