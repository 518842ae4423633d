//! `geochip::geotiff::read_info` against rasterio 1.4.4 / GDAL 3.10.3 on rasterio's own test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
//! rasters (expected values in tests/fixtures/geotiff/rasterio_info.json, see PROVENANCE.md).

use geochip::geotiff::read_info;
use geochip_tests::{fixture, sample_data};
use serde_json::Value;

fn rasterio() -> Value {
    let text = std::fs::read_to_string(fixture("geotiff/rasterio_info.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn path_of(name: &str) -> std::path::PathBuf {
    let p = fixture(&format!("geotiff/{name}"));
    if p.exists() { p } else { sample_data(name) }
}

#[test]
fn every_fixture_matches_rasterio() {
    let expected = rasterio();
    let files = expected["files"].as_object().unwrap();
    assert!(files.len() >= 9, "fixture lists {} files", files.len());
    for (name, exp) in files {
        let bytes = std::fs::read(path_of(name)).unwrap();
        let info = read_info(name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let g = &info.grid;
        assert_eq!(
            g.width as u64,
            exp["width"].as_u64().unwrap(),
            "{name} width"
        );
        assert_eq!(
            g.height as u64,
            exp["height"].as_u64().unwrap(),
            "{name} height"
        );
        assert_eq!(
            info.bands as u64,
            exp["count"].as_u64().unwrap(),
            "{name} count"
        );
        assert_eq!(
            info.dtype.name(),
            exp["dtypes"][0].as_str().unwrap(),
            "{name} dtype"
        );
        let t: Vec<f64> = exp["transform"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        // Bit-exact: the same doubles GDAL derives from the tags.
        assert_eq!(g.transform.to_affine().to_vec(), t, "{name} transform");
        let epsg = exp["epsg"].as_u64().map(|c| c as u32);
        assert_eq!(g.crs.as_ref().and_then(|c| c.epsg()), epsg, "{name} crs");
        match &exp["nodata"] {
            Value::Null => assert_eq!(info.nodata, None, "{name} nodata"),
            Value::String(s) if s == "nan" => {
                assert!(info.nodata.is_some_and(f64::is_nan), "{name} nodata")
            }
            v => assert_eq!(info.nodata, v.as_f64(), "{name} nodata"),
        }
        let rb: Vec<f64> = exp["bounds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        if g.transform.is_rectilinear() {
            let b = g.bounds();
            // rasterio's BoundingBox keeps a south-up grid's top < bottom; ours is ordered.
            assert_eq!(b.left, rb[0].min(rb[2]), "{name} left");
            assert_eq!(b.right, rb[0].max(rb[2]), "{name} right");
            assert_eq!(b.bottom, rb[1].min(rb[3]), "{name} bottom");
            assert_eq!(b.top, rb[1].max(rb[3]), "{name} top");
        }
        assert_eq!(
            info.overviews as u64,
            exp["overviews"].as_u64().unwrap(),
            "{name} overviews"
        );
    }
}

#[test]
fn truncated_and_foreign_bytes_are_errors_naming_the_input() {
    let bytes = std::fs::read(sample_data("RGB.byte.tif")).unwrap();
    for cut in [0, 3, 8, 100] {
        let err = read_info("cut.tif", &bytes[..cut]).unwrap_err();
        assert!(err.to_string().starts_with("cut.tif: "), "{err}");
    }
    let err = read_info("x.png", b"\x89PNG\r\n\x1a\n....").unwrap_err();
    assert!(
        err.to_string().contains("x.png: not a readable TIFF"),
        "{err}"
    );
}

#[test]
fn pixel_centres_round_trip_on_a_real_grid() {
    let bytes = std::fs::read(sample_data("RGB.byte.tif")).unwrap();
    let g = read_info("RGB.byte.tif", &bytes).unwrap().grid;
    for (col, row) in [(0, 0), (790, 717), (400, 300)] {
        let (x, y) = g.pixel_to_world(col, row, geochip::PixelAnchor::Center);
        assert_eq!(
            g.pixel_at(x, y).unwrap(),
            Some((col as usize, row as usize))
        );
    }
}
