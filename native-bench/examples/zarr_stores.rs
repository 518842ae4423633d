//! Writes the Zarr stores that `cargo xtask zarr-python` opens with zarr-python, and
//! `expected.json` with what each array must hold: dtype, shape, dimension names, the SHA-256
//! of its C-order little-endian bytes (numpy's `tobytes()`), and attributes.
//!
//! Usage: `cargo run -p geochip-bench --example zarr_stores -- OUT_DIR`

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use geochip::zarr::{Compression, WriteOptions, ZarrStore};
use geochip::{Crs, GeoTransform, Grid, LabeledArray};
use serde_json::{Value, json};

fn store(dir: &Path, name: &str) -> anyhow::Result<ZarrStore> {
    let path = dir.join(name);
    std::fs::create_dir_all(&path)?;
    let fs = zarrs_filesystem::FilesystemStore::new(&path)
        .with_context(|| format!("{}: cannot open", path.display()))?;
    Ok(ZarrStore::new(path.display().to_string(), Arc::new(fs)))
}

/// One entry of expected.json.
fn expect(store: &str, path: &str, a: &LabeledArray, attrs: Value, codecs: &[&str]) -> Value {
    json!({
        "store": store,
        "path": path,
        "dtype": a.dtype().name(),
        "shape": a.shape(),
        "dims": a.dims(),
        "sha256": a.sha256(),
        "attributes": attrs,
        "codecs": codecs,
    })
}

fn main() -> anyhow::Result<()> {
    let out = std::env::args()
        .nth(1)
        .context("usage: zarr_stores OUT_DIR")?;
    let out = Path::new(&out);
    std::fs::create_dir_all(out)?;
    let mut entries = Vec::new();

    // float32 (band, y, x) cube: values with fractions, negatives and NaNs; 2 bands of 300x500.
    let (b, h, w) = (2usize, 300usize, 500usize);
    let values: Vec<f32> = (0..b * h * w)
        .map(|i| {
            if i % 97 == 0 {
                f32::NAN
            } else {
                (i as f32).mul_add(0.37, -1000.0).sin() * 1000.0
            }
        })
        .collect();
    let grid = Grid::new(
        GeoTransform::from_affine([10.0, 0.0, 300000.0, 0.0, -10.0, 4000000.0]),
        w,
        h,
        Some(Crs::Epsg(32633)),
    )?;
    let cube = LabeledArray::from_shape_vec(&["band", "y", "x"], &[b, h, w], values)?
        .with_grid(grid.clone())?;
    let geo = json!({
        "proj:code": "EPSG:32633",
        "spatial:transform": [10.0, 0.0, 300000.0, 0.0, -10.0, 4000000.0],
        "grid_mapping": "spatial_ref",
    });
    for (name, opts, codecs) in [
        (
            "cube_sharded_zstd.zarr",
            WriteOptions {
                chunk_shape: Some(vec![1, 64, 64]),
                shard_shape: Some(vec![1, 256, 256]),
                compression: Compression::Zstd { level: 1 },
                fill_value: Some(f64::NAN),
                ..WriteOptions::default()
            },
            &["sharding_indexed", "zstd", "crc32c"][..],
        ),
        (
            "cube_gzip.zarr",
            WriteOptions {
                chunk_shape: Some(vec![1, 128, 100]),
                compression: Compression::Gzip { level: 6 },
                ..WriteOptions::default()
            },
            &["gzip"][..],
        ),
    ] {
        let s = store(out, name)?;
        s.create_group("/", serde_json::Map::new())?;
        s.write_array("/cube", &cube, &opts)?;
        entries.push(expect(name, "cube", &cube, geo.clone(), codecs));
        entries.push(json!({
            "store": name,
            "path": "spatial_ref",
            "attributes": {
                "spatial_ref": "EPSG:32633",
                "GeoTransform": "300000.0 10.0 0.0 4000000.0 0.0 -10.0",
            },
        }));
    }

    // int16 with negatives, uncompressed, no grid, a root array with an extra attribute.
    let ints: Vec<i16> = (0..37 * 41)
        .map(|i| (i * 37 % 65521 - 32000) as i16)
        .collect();
    let small = LabeledArray::from_shape_vec(&["row", "col"], &[37, 41], ints)?;
    let mut opts = WriteOptions {
        chunk_shape: Some(vec![16, 16]),
        ..WriteOptions::default()
    };
    opts.attributes.insert("units".into(), json!("counts"));
    let s = store(out, "int16_raw.zarr")?;
    s.write_array("/", &small, &opts)?;
    entries.push(expect(
        "int16_raw.zarr",
        "",
        &small,
        json!({"units": "counts"}),
        &["bytes"],
    ));

    let text = serde_json::to_string_pretty(&json!({ "arrays": entries }))?;
    std::fs::write(out.join("expected.json"), text + "\n")?;
    println!("wrote {} arrays to {}", entries.len(), out.display());
    Ok(())
}
