//! `cargo xtask zarr-python`: geochip's Zarr output read by zarr-python, a second
//! implementation. Writes stores with the native CLI (`rasterize`, `slice`, `stack`, and
//! `run` of the cog-to-zarr cookbook) and the
//! `zarr_stores` example (float32 cubes sharded+zstd and gzip, raw int16), then runs
//! `xtask/python/check_zarr.py` in a venv with pinned zarr and numpy: values (SHA-256),
//! `dimension_names`, attributes, codecs, and each chip against its source window.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::build::{Workspace, run_cmd};

/// The zarr-python and numpy the check runs (pinned: a new release must be a deliberate bump).
const PIP_PACKAGES: [&str; 2] = ["zarr==3.1.6", "numpy==2.4.6"];

/// The venv under the target directory, created and filled on first use. Fails loudly (never
/// skips) when pip cannot install the pinned packages.
fn venv_python(ws: &Workspace) -> Result<std::path::PathBuf> {
    let venv = ws.target_dir.join("xtask-zarr-venv");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        run_cmd(Command::new("python3").args(["-m", "venv"]).arg(&venv)).context(
            "the zarr-python check needs python3 with the venv module (Debian: apt-get install \
             python3-venv)",
        )?;
    }
    let pins: Vec<String> = PIP_PACKAGES
        .iter()
        .map(|p| {
            let (name, version) = p.split_once("==").unwrap_or((p, ""));
            format!("{name}.__version__ == '{version}'")
        })
        .collect();
    let have = Command::new(&python)
        .args([
            "-c",
            &format!("import zarr, numpy; assert {}", pins.join(" and ")),
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        run_cmd(
            Command::new(&python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
                .args(PIP_PACKAGES),
        )
        .with_context(|| {
            format!(
                "pip could not install {PIP_PACKAGES:?} into {}: the zarr-python check needs \
                 PyPI (or a mirror through PIP_INDEX_URL); it is not skipped",
                venv.display()
            )
        })?;
    }
    Ok(python)
}

/// Runs the `geochip` CLI and returns its stdout.
fn geochip(ws: &Workspace, args: &[&str]) -> Result<String> {
    let mut cmd = ws.cargo();
    cmd.args(["run", "-q", "-p", "geochip-bench", "--bin", "geochip", "--"])
        .args(args);
    println!("$ geochip {}", args.join(" "));
    let out = cmd.output().context("cannot run cargo")?;
    if !out.status.success() {
        bail!(
            "geochip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Stores written by the CLI and what zarr-python must find in them.
fn cli_stores(ws: &Workspace, dir: &Path) -> Result<Value> {
    let labels = dir.join("labels.zarr");
    let summary = geochip(
        ws,
        &[
            "rasterize",
            "--shapes",
            "tests/fixtures/rasterize/multipolygon_overlap.geojson",
            "--value-property",
            "value",
            "--width",
            "40",
            "--height",
            "40",
            "--transform",
            "2.5,0,1000,0,-2.5,1100",
            "--crs",
            "EPSG:32633",
            "--merge",
            "add",
            "--dtype",
            "uint8",
            "--compression",
            "gzip:6",
            "--chunks",
            "16,16",
            "--out",
            &labels.display().to_string(),
        ],
    )?;
    let summary: Value = serde_json::from_str(&summary).context("rasterize summary")?;
    let chips = dir.join("chips.zarr");
    geochip(
        ws,
        &[
            "slice",
            &labels.display().to_string(),
            "--input-dims",
            "y=8,x=8",
            "--overlap",
            "y=2,x=2",
            "--chunks",
            "1,8,8",
            "--shards",
            "12,8,8",
            "--compression",
            "zstd:3",
            "--out",
            &chips.display().to_string(),
        ],
    )?;
    // A stacked cube (odc-stac semantics) as a sharded zstd store; its values must be
    // odc-stac 0.5.3's cube (the sha256 native-bench/tests/cli_stack.rs checks too).
    let cube = dir.join("cube.zarr");
    geochip(
        ws,
        &[
            "stack",
            "tests/fixtures/stacking/items.json",
            "--groupby",
            "id",
            "--quiet",
            "--chunks",
            "1,1,32,32",
            "--shards",
            "1,4,64,64",
            "--compression",
            "zstd:1",
            "--out",
            &cube.display().to_string(),
        ],
    )?;
    // The cog-to-zarr cookbook's store (sharded, gzip, with time/y/x coordinates), written by
    // `geochip run`; its cube must be odc-stac 0.5.3's (cookbooks/cog-to-zarr/data/PROVENANCE.md).
    let cookbook = dir.join("cog-to-zarr");
    geochip(
        ws,
        &[
            "run",
            "cookbooks/cog-to-zarr",
            "--quiet",
            "--out",
            &cookbook.display().to_string(),
        ],
    )?;
    Ok(json!({"arrays": [
        {
            "store": "cog-to-zarr/cube.zarr", "path": "cube", "dtype": "uint8",
            "shape": [3, 3, 720, 793], "dims": ["time", "band", "y", "x"],
            "codecs": ["sharding_indexed", "gzip", "crc32c"],
            "sha256": "ee9748d3a40be8ea28fa6d93fc310a450b93877c0996013f98c900c5c4f29854",
            "attributes": {
                "proj:code": "EPSG:32618", "band": ["red", "green", "blue"], "nodata": 0.0,
                "spatial:transform": [300.0, 0.0, 101700.0, 0.0, -300.0, 2827200.0],
                "grid_mapping": "spatial_ref",
            },
        },
        {
            "store": "cog-to-zarr/cube.zarr", "path": "time", "dtype": "int64", "shape": [3],
            "dims": ["time"],
            // 2024-03-01T15:30, 2024-03-17T15:30, 2024-04-02T15:30 in ns since the epoch.
            "sha256": time_sha256(&[1_709_307_000, 1_710_689_400, 1_712_071_800]),
            "attributes": {"units": "nanoseconds since 1970-01-01", "calendar": "proleptic_gregorian"},
        },
        {
            "store": "cog-to-zarr/cube.zarr", "path": "spatial_ref",
            "attributes": {"GeoTransform": "101700.0 300.0 0.0 2827200.0 0.0 -300.0", "spatial_ref": "EPSG:32618"},
        },
        {
            "store": "cube.zarr", "path": "cube", "dtype": "uint16", "shape": [3, 4, 76, 83],
            "dims": ["time", "band", "y", "x"], "codecs": ["sharding_indexed", "zstd"],
            "sha256": "2bbce111bf7858b8e3bb5bd150e152922a9a765cd8ada7e39fa67baaafaeaaf1",
            "attributes": {
                "proj:code": "EPSG:32755", "band": ["B02", "B03", "B04", "B08"],
                "spatial:transform": [10.0, 0.0, 767850.0, 0.0, -10.0, 6090010.0],
                "grid_mapping": "spatial_ref",
            },
        },
        {
            "store": "cube.zarr", "path": "time", "dtype": "int64", "shape": [3],
            "dims": ["time"],
            "attributes": {"units": "nanoseconds since 1970-01-01", "calendar": "proleptic_gregorian"},
        },
        {
            "store": "labels.zarr", "path": "labels", "dtype": "uint8", "shape": [40, 40],
            "dims": ["y", "x"], "sha256": summary["sha256"], "codecs": ["gzip"],
            "attributes": {
                "proj:code": "EPSG:32633",
                "spatial:transform": [2.5, 0.0, 1000.0, 0.0, -2.5, 1100.0],
                "grid_mapping": "spatial_ref",
            },
        },
        {
            "store": "labels.zarr", "path": "spatial_ref",
            "attributes": {"GeoTransform": "1000.0 2.5 0.0 1100.0 0.0 -2.5", "spatial_ref": "EPSG:32633"},
        },
        {
            "store": "chips.zarr", "path": "chips", "dtype": "uint8", "shape": [36, 8, 8],
            "dims": ["chip", "y", "x"], "codecs": ["sharding_indexed", "zstd"],
            "attributes": {"proj:code": "EPSG:32633"},
            "chips_of": {"store": "labels.zarr", "path": "labels"},
        },
    ]}))
}

/// SHA-256 of int64 nanoseconds (little-endian) for these seconds since the epoch.
fn time_sha256(seconds: &[i64]) -> String {
    let bytes: Vec<u8> = seconds
        .iter()
        .flat_map(|s| (s * 1_000_000_000).to_le_bytes())
        .collect();
    geochip::sha256_hex(&bytes)
}

/// The whole check.
pub fn zarr_python(ws: &Workspace) -> Result<()> {
    let python = venv_python(ws)?;
    let dir = ws.target_dir.join("xtask-scratch").join("zarr-python");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    run_cmd(
        ws.cargo()
            .args([
                "run",
                "-q",
                "-p",
                "geochip-bench",
                "--example",
                "zarr_stores",
                "--",
            ])
            .arg(&dir),
    )?;
    let cli = cli_stores(ws, &dir)?;
    let cli_json = dir.join("cli.json");
    std::fs::write(&cli_json, serde_json::to_string_pretty(&cli)?)?;
    run_cmd(
        Command::new(&python)
            .arg(ws.root.join("xtask/python/check_zarr.py"))
            .arg(&dir)
            .arg(dir.join("expected.json"))
            .arg(&cli_json),
    )
    .context("zarr-python disagrees with geochip's Zarr output (MISMATCH lines above)")?;
    println!("  ok: zarr-python reads geochip's stores: values, dims and attributes agree");
    Ok(())
}
