//! GDAL's warper at nodata edges, against odc-stac 0.5.3 (rasterio 1.4.4 / GDAL 3.10.3):
//! two small COGs with nodata borders on either side of the UTM zone 55/56 boundary, stacked
//! into EPSG:32755 (`tests/fixtures/stacking/edges/`, written by its `make_edges.py`). The
//! cases cover overview reads (z56's overview has no GDAL_NODATA tag, so GDAL blends its
//! nodata border in), the no-mask and masked kernels, nearest/bilinear/average, the
//! downsampling kernel, a float output and a destination nodata inside the value range, and
//! the same pixels in COGs without any nodata (GDAL's no-mask kernels: the zeros are data).
//! Every pixel must equal odc-stac's (a float cube: within a few float32 steps, see below).

use std::io::Read;

use geochip::cog::{ByteSource, MemorySource};
use geochip::stack::{AssetError, CogReader, GridParams, LoadOptions, load};
use geochip::warp::Resampling;
use geochip::{ArrayData, DType};
use ndarray_npy::ReadNpyExt;
use serde_json::Value;

fn dir() -> std::path::PathBuf {
    geochip_tests::fixture("stacking/edges")
}

/// The anchor's cube as f64 values, its dtype and shape.
fn reference(case: &str) -> (Vec<f64>, DType, Vec<usize>) {
    let mut bytes = Vec::new();
    let f = std::fs::File::open(dir().join(format!("npy/{case}.npy.gz"))).expect("npy.gz");
    flate2::read::GzDecoder::new(f)
        .read_to_end(&mut bytes)
        .expect("gunzip");
    let cur = std::io::Cursor::new(&bytes);
    if let Ok(a) = ndarray::ArrayD::<u16>::read_npy(cur.clone()) {
        let shape = a.shape().to_vec();
        return (a.iter().map(|&v| f64::from(v)).collect(), DType::U16, shape);
    }
    let a = ndarray::ArrayD::<f32>::read_npy(cur).expect("uint16 or float32 npy");
    let shape = a.shape().to_vec();
    (a.iter().map(|&v| f64::from(v)).collect(), DType::F32, shape)
}

fn values(d: &ArrayData) -> Vec<f64> {
    match d {
        ArrayData::U16(v) => v.iter().map(|&x| f64::from(x)).collect(),
        ArrayData::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
        other => panic!("unexpected dtype {}", other.dtype()),
    }
}

fn params(case: &Value) -> (GridParams, LoadOptions) {
    let p = &case["params"];
    let r = p["resolution"].as_f64().expect("resolution");
    let grid = GridParams {
        bands: Some(vec!["B02".into()]),
        crs: Some("EPSG:32755".parse().expect("crs")),
        resolution: Some((r, r)),
        ..GridParams::default()
    };
    let mut o = LoadOptions {
        resampling: p["resampling"]
            .as_str()
            .expect("resampling")
            .parse::<Resampling>()
            .expect("method"),
        ..LoadOptions::default()
    };
    if let Some(d) = p["dtype"].as_str() {
        o.dtype = Some(d.parse().expect("dtype"));
    }
    if let Some(n) = p["nodata"].as_f64() {
        o.nodata = Some(n);
    }
    if let Some(u) = p["use_overviews"].as_bool() {
        o.use_overviews = u;
    }
    (grid, o)
}

#[test]
fn warped_edges_equal_odc_stac_on_every_pixel() {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(dir().join("expected.json")).expect("expected.json"),
    )
    .expect("json");
    let cases = expected["cases"].as_array().expect("cases");
    assert!(cases.len() >= 12, "expected the odc-stac cases");
    let mut total = 0;
    for case in cases {
        let name = case["case"].as_str().expect("case name");
        let items_file = case["items"].as_str().expect("items file");
        let items = geochip::stac::parse_items(
            &std::fs::read_to_string(dir().join(items_file)).expect("items"),
        )
        .expect("items");
        let (grid, opts) = params(case);
        let mut reader = CogReader::new(|_item, href: &str| {
            let bytes = std::fs::read(dir().join(href))
                .map_err(|e| AssetError::not_found(format!("{href}: {e}")))?;
            Ok(Box::new(MemorySource::new(href, bytes)) as Box<dyn ByteSource>)
        });
        let cube = load(&items, &grid, &opts, &mut reader, &mut |_, _| {})
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (want, dtype, shape) = reference(name);
        assert_eq!(cube.array.shape(), &shape[..], "{name}: shape");
        assert_eq!(cube.array.dtype(), dtype, "{name}: dtype");
        let got = values(cube.array.data());
        let same = |g: f64, w: f64| g == w || (g.is_nan() && w.is_nan());
        let differ: Vec<(usize, f64, f64)> = got
            .iter()
            .zip(&want)
            .enumerate()
            .filter(|(_, (g, w))| !same(**g, **w))
            .map(|(i, (g, w))| (i, *g, *w))
            .collect();
        if dtype == DType::F32 {
            // A float cube shows the last bits of the source position: our transverse
            // Mercator and PROJ's agree to ~1e-10 px, and where an edge blend multiplies that
            // by a data/nodata step (a weight of 0.0009 on 2181 beside a 0: d value/d px ≈
            // 2000) the value moves by a float32 step or two (GDAL's position, recovered by
            // warping a ramp, gives its value exactly with this kernel's arithmetic). Allowed:
            // four float32 steps, on at most 0.1 % of the pixels; integer cubes are exact.
            for &(i, g, w) in &differ {
                let step =
                    4.0 * f64::from(f32::EPSILON) * w.abs().max(f64::from(f32::MIN_POSITIVE));
                assert!(
                    (g - w).abs() <= step,
                    "{name}: pixel {i}: {g} vs odc-stac {w}"
                );
            }
            assert!(
                differ.len() * 1000 <= got.len(),
                "{name}: {} of {} pixels a few float32 steps off",
                differ.len(),
                got.len()
            );
            println!(
                "{name}: {} pixels equal odc-stac, {} a few float32 steps off",
                got.len() - differ.len(),
                differ.len()
            );
        } else {
            assert!(
                differ.is_empty(),
                "{name}: {} of {} pixels differ from odc-stac (index, ours, odc): {:?}",
                differ.len(),
                got.len(),
                &differ[..differ.len().min(8)]
            );
            assert_eq!(cube.array.sha256(), case["sha256"].as_str().expect("sha"));
            println!("{name}: all {} pixels equal odc-stac", got.len());
        }
        total += got.len();
    }
    println!("{total} pixels in {} cases", cases.len());
}
