//! `geochip run`: cookbooks run, outputs and index.json, --check, --set, --force, and bad
//! recipes reported with file, line and key.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};

use common::{geochip, repo};

/// A fresh scratch directory under the system temp dir, unique per test.
fn scratch(name: &str) -> PathBuf {
    common::scratch("cli-run", name)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sha256_file(path: &Path) -> String {
    geochip::sha256_hex(&std::fs::read(path).unwrap())
}

/// Writes a recipe (and a small WKT file) into a scratch cookbook directory.
fn cookbook(name: &str, recipe: &str) -> PathBuf {
    let dir = scratch(name);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(
        dir.join("data/box.wkt"),
        "POLYGON ((0 0, 8 0, 8 6, 0 6, 0 0))\n",
    )
    .unwrap();
    std::fs::write(dir.join("recipe.toml"), recipe).unwrap();
    dir
}

const SMALL: &str = r#"[recipe]
name = "small"
[params.size]
type = "int"
default = 2
min = 1
max = 6
[[steps]]
id = "box"
op = "shapes"
path = "data/box.wkt"
[[steps]]
id = "grid"
op = "grid"
shapes = "box"
resolution = 1.0
[[steps]]
id = "mask"
op = "rasterize"
shapes = "box"
grid = "grid"
dtype = "uint8"
[[steps]]
id = "chips"
op = "slice"
arrays = ["mask"]
size = "$size"
output = "chips"
[[steps]]
id = "table"
op = "stats"
inputs = ["mask"]
output = "stats.csv"
"#;

#[test]
fn cookbooks_match_their_recorded_checksums() {
    for (name, outputs) in [
        ("labels-for-chips", 6),
        ("chips-from-stac", 43),
        ("chunking-matters", 2),
        ("cog-to-zarr", 21),
        ("stac-and-cogs", 6),
    ] {
        let out = geochip(&["run", &format!("cookbooks/{name}"), "--check", "--quiet"]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("{outputs} outputs match the recorded checksums")),
            "{text}"
        );
    }
}

#[test]
fn every_cookbook_has_a_recipe_readme_and_checksums() {
    for entry in std::fs::read_dir(repo().join("cookbooks")).unwrap() {
        let dir = entry.unwrap().path();
        let recipe = dir.join("recipe.toml");
        if !recipe.exists() {
            continue;
        }
        assert!(dir.join("README.md").exists(), "{}", dir.display());
        let text = std::fs::read_to_string(&recipe).unwrap();
        let r = geochip::recipe::Recipe::parse(&recipe.display().to_string(), &text).unwrap();
        assert!(
            !r.expected.is_empty(),
            "{}: no [expected]",
            recipe.display()
        );
    }
}

#[test]
fn out_writes_outputs_and_an_index_and_never_overwrites_without_force() {
    let dir = cookbook("out", SMALL);
    let out_dir = dir.join("out");
    let out_s = out_dir.to_str().unwrap();
    let out = geochip(&["run", dir.to_str().unwrap(), "--out", out_s, "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("index.json")).unwrap()).unwrap();
    let outputs = index["outputs"].as_array().unwrap();
    let names: Vec<&str> = outputs
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["chips/mask.npy", "stats.csv"]);
    for o in outputs {
        let path = out_dir.join(o["name"].as_str().unwrap());
        assert_eq!(o["sha256"].as_str().unwrap(), sha256_file(&path));
    }
    assert_eq!(index["params"]["size"], 2);
    // 8×6 mask, 2×2 chips: 3 × 4 = 12 chips of ones.
    let chips: ndarray::ArrayD<u8> = ndarray_npy::read_npy(out_dir.join("chips/mask.npy")).unwrap();
    assert_eq!(chips.shape(), &[12, 2, 2]);
    assert!(chips.iter().all(|&v| v == 1));
    let stats = std::fs::read_to_string(out_dir.join("stats.csv")).unwrap();
    assert_eq!(
        stats,
        "name,dtype,shape,values,nan,min,max,mean,nonzero\nmask,uint8,6x8,48,0,1.0,1.0,1.0,48\n"
    );

    // A second run refuses, --force replaces (with another chip size).
    let again = geochip(&["run", dir.to_str().unwrap(), "--out", out_s, "--quiet"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    let forced = geochip(&[
        "run",
        dir.to_str().unwrap(),
        "--out",
        out_s,
        "--set",
        "size=3",
        "--force",
        "--quiet",
    ]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    let chips: ndarray::ArrayD<u8> = ndarray_npy::read_npy(out_dir.join("chips/mask.npy")).unwrap();
    assert_eq!(chips.shape(), &[4, 3, 3]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_reports_changed_and_unrecorded_outputs() {
    let dir = cookbook("check", SMALL);
    // Nothing recorded: every output is reported.
    let out = geochip(&["run", dir.to_str().unwrap(), "--check", "--quiet"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("output `chips/mask.npy` has no recorded checksum"),
        "{err}"
    );
    // A wrong recorded checksum is named with its line.
    let zeros = "0".repeat(64);
    std::fs::write(
        dir.join("recipe.toml"),
        format!("{SMALL}[expected]\n\"chips/mask.npy\" = \"{zeros}\"\n"),
    )
    .unwrap();
    let out = geochip(&["run", dir.to_str().unwrap(), "--check", "--quiet"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let file = dir.join("recipe.toml").display().to_string();
    assert!(
        err.contains(&format!("{file}:35: `chips/mask.npy`: sha256 ")),
        "{err}"
    );
    // --check with --set is refused: the checksums are for the defaults.
    let out = geochip(&["run", dir.to_str().unwrap(), "--check", "--set", "size=3"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("default parameters"),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_recipes_and_values_name_file_line_and_key() {
    let cases: [(&str, &str, &str, &str); 7] = [
        (
            "unknown-step",
            "op = \"slice\"",
            "op = \"cut\"",
            ":25: steps[3].op: unknown step op `cut`",
        ),
        (
            "unknown-param",
            "size = \"$size\"",
            "size = \"$chip\"",
            ":27: steps[3].size: unknown parameter `chip`",
        ),
        (
            "type",
            "resolution = 1.0",
            "resolution = \"fine\"",
            ":16: steps[1].resolution: expected a number, found a string",
        ),
        (
            "cycle",
            "inputs = [\"mask\"]",
            "inputs = [\"mask\", \"table\"]",
            ":32: steps[4].inputs: the steps form a cycle: table -> table",
        ),
        (
            "missing-input",
            "grid = \"grid\"",
            "grid = \"grids\"",
            ":21: steps[2].grid: missing input: no step has id `grids`",
        ),
        (
            "range",
            "resolution = 1.0",
            "resolution = -1.0",
            ":16: steps[1].resolution: -1.0 is out of range",
        ),
        (
            "escape",
            "path = \"data/box.wkt\"",
            "path = \"../../etc/passwd\"",
            ":11: steps[0].path: path `../../etc/passwd` escapes the cookbook's directory",
        ),
    ];
    for (name, from, to, want) in cases {
        assert!(SMALL.contains(from), "{name}");
        let dir = cookbook(name, &SMALL.replacen(from, to, 1));
        let out = geochip(&["run", dir.to_str().unwrap(), "--check", "--quiet"]);
        assert!(!out.status.success(), "{name}");
        let err = stderr(&out);
        let file = dir.join("recipe.toml").display().to_string();
        assert!(err.contains(&format!("{file}{want}")), "{name}: {err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
    // A --set value out of range names the parameter's line.
    let out = geochip(&[
        "run",
        "cookbooks/labels-for-chips",
        "--set",
        "chip=4",
        "--out",
        "/nonexistent",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "cookbooks/labels-for-chips/recipe.toml:17: params.chip: 4 is out of range (8 ..= 128)"
        ),
        "{}",
        stderr(&out)
    );
    let out = geochip(&[
        "run",
        "cookbooks/labels-for-chips",
        "--set",
        "nope=1",
        "--check",
    ]);
    assert!(
        stderr(&out).contains("recipe.toml: --set nope: unknown parameter `nope`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_symlink_out_of_the_cookbook_is_refused() {
    let dir = cookbook("symlink", SMALL);
    let outside = scratch("symlink-target");
    std::fs::write(outside.join("box.wkt"), "POLYGON ((0 0, 1 0, 1 1, 0 0))").unwrap();
    std::fs::remove_file(dir.join("data/box.wkt")).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outside.join("box.wkt"), dir.join("data/box.wkt")).unwrap();
        let out = geochip(&["run", dir.to_str().unwrap(), "--check", "--quiet"]);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("outside the cookbook's directory"),
            "{}",
            stderr(&out)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&outside);
}

#[test]
fn params_prints_the_form_fields() {
    let out = geochip(&["run", "cookbooks/labels-for-chips", "--params"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[1]["name"], "chip");
    assert_eq!(v[1]["type"], "int");
    assert_eq!(
        (v[1]["min"].as_i64(), v[1]["max"].as_i64()),
        (Some(8), Some(128))
    );
}
