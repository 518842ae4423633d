//! COG decode benches (issue 5), each group next to a baseline of the same bytes measured in
//! the same run:
//!
//! * `cog/inflate`: the level-0 tiles of a GDAL deflate COG (`tests/fixtures/cog/
//!   rgb_deflate_pred2_cog.tif`, RGB.byte.tif written by GDAL's COG driver: 256×256 tiles,
//!   predictor 2) inflated by each pure-Rust backend — fdeflate (the core's choice),
//!   miniz_oxide (what `tiff` uses through flate2), zlib-rs, zune-inflate — and by `tiff`'s own
//!   `read_chunk` (inflate + predictor), against a memcpy of the compressed bytes;
//! * `cog/read`: whole-image reads through `geochip::cog` on one rayon thread and on all of
//!   them, and `tiff`'s `read_image`, against a plain read of the file's bytes — for the
//!   deflate COG and for `world.byte.tif` (LZW, 2880×1200).
//!
//! Criterion's elements are pixels, so its `Melem/s` are Mpx/s. After each group a best-of-5
//! direct measurement prints Mpx/s and the ratio to the baseline. Nothing here asserts a
//! speed. `cargo bench -p geochip-bench --bench cog -- --quick` runs in about a minute.

#![allow(missing_docs)] // criterion_group!/criterion_main! generate undocumented items
#![allow(clippy::unwrap_used)] // a bench that cannot load its input should stop loudly

use std::hint::black_box;
use std::io::Cursor;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geochip::cog::{ByteSource, Cog, MemorySource};
use geochip_bench::source::FileSource;
use tiff::tags::Tag;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(rel)
}

/// The compressed level-0 tiles of a file and the decoded size of one tile.
fn tiles(bytes: &[u8]) -> (Vec<Vec<u8>>, usize, u64) {
    let mut dec = tiff::decoder::Decoder::new(Cursor::new(bytes)).unwrap();
    let offsets = dec.get_tag_u64_vec(Tag::TileOffsets).unwrap();
    let counts = dec.get_tag_u64_vec(Tag::TileByteCounts).unwrap();
    let (w, h) = dec.chunk_dimensions();
    let spp = dec.get_tag_u32(Tag::SamplesPerPixel).unwrap() as usize;
    let tiles = offsets
        .iter()
        .zip(&counts)
        .map(|(o, c)| bytes[*o as usize..(*o + *c) as usize].to_vec())
        .collect::<Vec<_>>();
    let px = tiles.len() as u64 * u64::from(w) * u64::from(h);
    (tiles, w as usize * h as usize * spp, px)
}

type Run<'a> = (&'a str, Box<dyn Fn() + 'a>);

/// Best-of-5 Mpx/s of each run, printed with its ratio to the first (the baseline).
fn report(group: &str, px: u64, runs: &[Run]) {
    let best = |f: &dyn Fn()| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .min()
            .unwrap_or(Duration::MAX)
    };
    let times: Vec<Duration> = runs.iter().map(|(_, f)| best(f.as_ref())).collect();
    println!("\n{group} ({:.2} Mpx), best of 5:", px as f64 / 1e6);
    for ((name, _), t) in runs.iter().zip(&times) {
        let mpx = px as f64 / t.as_secs_f64() / 1e6;
        let ratio = times[0].as_secs_f64() / t.as_secs_f64();
        println!("  {name:<28} {mpx:>10.1} Mpx/s   {ratio:>8.4} x baseline");
    }
}

fn inflate(c: &mut Criterion) {
    let bytes = std::fs::read(fixture("cog/rgb_deflate_pred2_cog.tif")).unwrap();
    let (tiles, out_len, px) = tiles(&bytes);
    let runs: Vec<Run> = vec![
        (
            "baseline memcpy (compressed)",
            Box::new(|| {
                for t in &tiles {
                    black_box(t.clone());
                }
            }),
        ),
        (
            "fdeflate (geochip)",
            Box::new(|| {
                let mut out = vec![0u8; out_len];
                for t in &tiles {
                    let mut d = fdeflate::Decompressor::new();
                    let (_, n) = d.read(t, &mut out, 0, true).unwrap();
                    assert_eq!(n, out_len);
                }
                black_box(&out);
            }),
        ),
        (
            "miniz_oxide (tiff/flate2)",
            Box::new(|| {
                use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};
                let mut out = vec![0u8; out_len];
                let flags = inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER
                    | inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
                for t in &tiles {
                    let mut d = DecompressorOxide::new();
                    let (_, _, n) = decompress(&mut d, t, &mut out, 0, flags);
                    assert_eq!(n, out_len);
                }
                black_box(&out);
            }),
        ),
        (
            "zlib-rs",
            Box::new(|| {
                let mut out = vec![0u8; out_len];
                for t in &tiles {
                    let cfg = zlib_rs::inflate::InflateConfig::default();
                    let (o, r) = zlib_rs::inflate::uncompress_slice(&mut out, t, cfg);
                    assert!(r == zlib_rs::ReturnCode::Ok && o.len() == out_len);
                }
                black_box(&out);
            }),
        ),
        (
            "zune-inflate",
            Box::new(|| {
                for t in &tiles {
                    let v = zune_inflate::DeflateDecoder::new(t).decode_zlib().unwrap();
                    assert_eq!(v.len(), out_len);
                    black_box(v);
                }
            }),
        ),
        (
            "tiff read_chunk (+predictor)",
            Box::new(|| {
                let mut dec = tiff::decoder::Decoder::new(Cursor::new(&bytes)).unwrap();
                for i in 0..tiles.len() as u32 {
                    black_box(dec.read_chunk(i).unwrap());
                }
            }),
        ),
    ];
    let mut g = c.benchmark_group("cog/inflate");
    g.throughput(Throughput::Elements(px));
    for (name, f) in &runs {
        g.bench_function(*name, |b| b.iter(f));
    }
    g.finish();
    report("cog/inflate", px, &runs);
}

fn read(c: &mut Criterion) {
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    for rel in ["cog/rgb_deflate_pred2_cog.tif", "geotiff/world.byte.tif"] {
        let path = fixture(rel);
        let file = FileSource::open(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let mem = MemorySource::new(rel, bytes.clone());
        let cog = Cog::open(&mem).unwrap();
        let (w, h) = cog.grid().shape();
        let px = (w * h) as u64;
        let full = cog.levels()[0].full_window();
        let len = bytes.len();
        let runs: Vec<Run> = vec![
            (
                "baseline plain read (file)",
                Box::new(|| {
                    black_box(file.read_range(0, len).unwrap());
                }),
            ),
            (
                "geochip, 1 thread",
                Box::new(|| {
                    one.install(|| black_box(cog.read_window(&file, 0, full, None).unwrap()));
                }),
            ),
            (
                "geochip, all threads",
                Box::new(|| {
                    black_box(cog.read_window(&file, 0, full, None).unwrap());
                }),
            ),
            (
                "tiff read_image (in memory)",
                Box::new(|| {
                    let mut dec = tiff::decoder::Decoder::new(Cursor::new(&bytes)).unwrap();
                    black_box(dec.read_image().unwrap());
                }),
            ),
        ];
        let name = format!("cog/read/{}", rel.rsplit('/').next().unwrap_or(rel));
        let mut g = c.benchmark_group(&name);
        g.throughput(Throughput::Elements(px));
        for (label, f) in &runs {
            g.bench_function(*label, |b| b.iter(f));
        }
        g.finish();
        report(&name, px, &runs);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3));
    targets = inflate, read
}
criterion_main!(benches);
