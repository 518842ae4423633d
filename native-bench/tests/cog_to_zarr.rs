//! The cog-to-zarr cookbook and the recipe steps it added: `write` with `coords`, `read`,
//! `inventory`, `stats` per plane and image plots of chosen planes. The cube is checked
//! against odc-stac's (the anchor), the store's shard indexes against the cube's own chunks,
//! and bad keys against errors naming file, line and key.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[allow(dead_code)] // this test uses only `repo`
mod common;

use common::repo;
use geochip::recipe::{Cell, OutputValue, Recipe, RunError, RunOutputs, Runtime, Table};
use geochip_bench::recipe_files::DirFiles;

const RECIPE: &str = "cookbooks/cog-to-zarr/recipe.toml";

/// odc-stac 0.5.3's cube for the recipe's default parameters (EPSG:32618, 300 m, groupby
/// solar_day, nearest): SHA-256 of its C-order bytes, printed by
/// `cookbooks/cog-to-zarr/data/make_data.py` (see the data's PROVENANCE.md).
const ODC_STAC_CUBE: &str = "ee9748d3a40be8ea28fa6d93fc310a450b93877c0996013f98c900c5c4f29854";

fn recipe_text() -> String {
    std::fs::read_to_string(repo().join(RECIPE)).unwrap()
}

fn run_text(text: &str, set: &[(&str, &str)]) -> Result<RunOutputs, RunError> {
    let recipe = Recipe::parse(RECIPE, text).map_err(RunError::from)?;
    let files = DirFiles::new(&repo().join("cookbooks/cog-to-zarr")).unwrap();
    let set: Vec<(String, String)> = set
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let bindings = recipe.bind(&set)?;
    Runtime::new(&files)
        .renderer(&geochip_plot::SvgRenderer)
        .run(&recipe, &bindings)
}

fn table<'a>(out: &'a RunOutputs, name: &str) -> &'a Table {
    let o = out.outputs.iter().find(|o| o.name == name).unwrap();
    let OutputValue::Table(t) = &o.value else {
        panic!("{name} is not a table")
    };
    t
}

fn text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Int(i) => i.to_string(),
        Cell::Float(x) => x.to_string(),
    }
}

/// The store's files from a run: `(key under cube.zarr/, bytes)`.
fn store_files(out: &RunOutputs) -> Vec<(String, Vec<u8>)> {
    out.outputs
        .iter()
        .filter_map(|o| {
            Some((
                o.name.strip_prefix("cube.zarr/")?.to_owned(),
                o.bytes.clone(),
            ))
        })
        .collect()
}

#[test]
fn cube_equals_odc_stac_and_survives_the_store() {
    let out = run_text(&recipe_text(), &[]).unwrap();
    let sums = table(&out, "checksums.csv");
    let rows: Vec<Vec<String>> = sums
        .rows
        .iter()
        .map(|r| r.iter().map(text).collect())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][0], "cube");
    assert_eq!(rows[1][0], "zarr");
    assert_eq!(rows[0][2], "3x3x720x793");
    // The stacked cube is odc-stac's, and the array read back from the store is that cube.
    assert_eq!(rows[0][3], ODC_STAC_CUBE);
    assert_eq!(rows[1][3], ODC_STAC_CUBE);

    // The store is georeferenced and labelled the way xarray reads it.
    let files = store_files(&out);
    let meta = |key: &str| -> serde_json::Value {
        let (_, b) = files.iter().find(|(k, _)| k == key).unwrap();
        serde_json::from_slice(b).unwrap()
    };
    let cube = meta("cube/zarr.json");
    assert_eq!(
        cube["dimension_names"],
        serde_json::json!(["time", "band", "y", "x"])
    );
    assert_eq!(cube["attributes"]["proj:code"], "EPSG:32618");
    assert_eq!(
        cube["attributes"]["band"],
        serde_json::json!(["red", "green", "blue"])
    );
    assert_eq!(cube["attributes"]["grid_mapping"], "spatial_ref");
    assert_eq!(cube["codecs"][0]["name"], "sharding_indexed");
    assert_eq!(
        cube["codecs"][0]["configuration"]["chunk_shape"],
        serde_json::json!([1, 3, 128, 128])
    );
    assert_eq!(
        cube["chunk_grid"]["configuration"]["chunk_shape"],
        serde_json::json!([3, 3, 512, 512])
    );
    assert_eq!(
        meta("time/zarr.json")["attributes"]["units"],
        "nanoseconds since 1970-01-01"
    );

    // Per time step and band: 9 rows labelled by the coordinates read back.
    let stats = table(&out, "stats.csv");
    assert_eq!(stats.rows.len(), 9);
    assert_eq!(
        text(&stats.rows[0][0]),
        "zarr time=2024-03-01T15:30:00 band=red"
    );
    assert_eq!(
        text(&stats.rows[8][0]),
        "zarr time=2024-04-02T15:30:00 band=blue"
    );
}

/// Chunks of `(1, 3, c, c)` that hold any non-zero pixel, per shard of `k × k` chunks: what
/// each shard's index must list (chunks of fill value only are not stored).
fn expected_chunks(out: &RunOutputs, c: usize, k: usize) -> Vec<(String, i64)> {
    let o = out.outputs.iter().find(|o| o.name == "cube.npy").unwrap();
    let OutputValue::Array(a) = &o.value else {
        panic!()
    };
    let s = a.shape().to_vec();
    let v = a.data().to_le_bytes();
    let (t, b, h, w) = (s[0], s[1], s[2], s[3]);
    let (sy, sx) = (h.div_ceil(c * k), w.div_ceil(c * k));
    let mut counts = vec![0i64; sy * sx];
    for ti in 0..t {
        for cy in 0..h.div_ceil(c) {
            for cx in 0..w.div_ceil(c) {
                let any = (0..b).any(|bi| {
                    (cy * c..((cy + 1) * c).min(h)).any(|y| {
                        (cx * c..((cx + 1) * c).min(w))
                            .any(|x| v[((ti * b + bi) * h + y) * w + x] != 0)
                    })
                });
                if any {
                    counts[(cy / k) * sx + cx / k] += 1;
                }
            }
        }
    }
    (0..sy * sx)
        .filter(|i| counts[*i] > 0)
        .map(|i| (format!("cube/c/0/0/{}/{}", i / sx, i % sx), counts[i]))
        .collect()
}

#[test]
fn inventory_reads_each_shard_index() {
    // A coarser grid and other chunk/shard shapes than the defaults; the cube is also written
    // as .npy so the test can count its non-empty chunks itself.
    let text = recipe_text().replace(
        "id = \"cube\"\nop = \"stack\"",
        "id = \"cube\"\noutput = \"cube.npy\"\nop = \"stack\"",
    );
    let out = run_text(
        &text,
        &[
            ("resolution", "900"),
            ("chunk", "32"),
            ("shard_chunks", "3"),
        ],
    )
    .unwrap();
    let inv = table(&out, "shards.csv");
    let got: Vec<(String, i64)> = inv
        .rows
        .iter()
        .filter(|r| text_of(&r[1]) == "shard")
        .map(|r| (text_of(&r[0]), r[3].as_f64().unwrap() as i64))
        .collect();
    let want = expected_chunks(&out, 32, 3);
    assert!(want.len() > 1, "{want:?}");
    // Chunks of fill value only are left out of a shard: some shard holds fewer than its
    // 3 time steps × 3 × 3 chunks.
    assert!(want.iter().any(|(_, n)| *n < 27), "{want:?}");
    assert_eq!(got, want);
    // Every shard's bytes are its row's size; the metadata row is there too.
    let files = store_files(&out);
    for r in &inv.rows {
        let (_, b) = files.iter().find(|(k, _)| *k == text_of(&r[0])).unwrap();
        assert_eq!(r[2].as_f64().unwrap() as usize, b.len());
    }
    assert!(inv.rows.iter().any(|r| text_of(&r[1]) == "metadata"));
}

fn text_of(c: &Cell) -> String {
    text(c)
}

#[test]
fn unsharded_stores_list_chunks_and_read_back_the_same() {
    let text = recipe_text().replace("shard_chunks = \"$shard_chunks\"\n", "");
    let out = run_text(&text, &[("resolution", "1500"), ("chunk", "64")]).unwrap();
    let inv = table(&out, "shards.csv");
    assert!(inv.rows.iter().any(|r| text_of(&r[1]) == "chunk"));
    assert!(
        inv.rows
            .iter()
            .all(|r| { matches!(text_of(&r[1]).as_str(), "chunk" | "metadata") })
    );
    let sums = table(&out, "checksums.csv");
    assert_eq!(sums.rows[0][3], sums.rows[1][3]);
}

#[test]
fn the_same_run_gives_the_same_store_bytes() {
    let a = run_text(&recipe_text(), &[("resolution", "1200")]).unwrap();
    let b = run_text(&recipe_text(), &[("resolution", "1200")]).unwrap();
    let sums = |o: &RunOutputs| -> Vec<(String, String)> {
        o.outputs
            .iter()
            .map(|o| (o.name.clone(), o.sha256.clone()))
            .collect()
    };
    assert_eq!(sums(&a), sums(&b));
}

/// Runs the recipe with `from` replaced by `to`; the error must name the recipe file, the
/// line holding `at` in the edited text, and contain `needle`.
fn fails(from: &str, to: &str, at: &str, needle: &str) {
    let text = recipe_text();
    assert!(text.contains(from), "{from}");
    let edited = text.replacen(from, to, 1);
    let line = edited[..edited.find(at).unwrap()].lines().count() + 1;
    let e = run_text(&edited, &[("resolution", "1500")])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with(&format!("{RECIPE}:{line}: ")), "{e}");
    assert!(e.contains(needle), "{e}");
}

#[test]
fn bad_keys_name_file_line_and_key() {
    // An array the store does not hold: the arrays it has are listed.
    fails(
        "array = \"cube\"\n\n[[steps]]\nid = \"sums\"",
        "array = \"cubes\"\n\n[[steps]]\nid = \"sums\"",
        "array = \"cubes\"",
        "step `zarr` (read): steps[3].array: cube.zarr: no array `cubes` \
         (arrays in the store: cube, spatial_ref, time, x, y)",
    );
    // A time step that does not exist.
    fails(
        "band = 0\nacross = \"time\"",
        "band = 0\ntime = 7",
        "time = 7",
        "steps[8].time: index 7 is out of range: `zarr` has 3 time entries (0 ..= 2)",
    );
    // A band that does not exist.
    fails(
        "band = 0\n",
        "band = 3\n",
        "band = 3",
        "steps[8].band: index 3 is out of range: `zarr` has 3 band entries (0 ..= 2)",
    );
    // The store input must be a write step's store: caught before anything runs.
    let e = Recipe::parse(
        RECIPE,
        &recipe_text().replacen("store = \"store\"", "store = \"cube\"", 1),
    )
    .unwrap_err();
    assert!(e.to_string().contains("steps[3].store"), "{e}");
}

#[test]
fn coords_without_a_stacked_cube_is_an_error() {
    let recipe = r#"[recipe]
name = "t"
[[steps]]
id = "grid"
op = "grid"
width = 4
height = 4
transform = [1.0, 0.0, 0.0, 0.0, -1.0, 4.0]
[[steps]]
id = "box"
op = "shapes"
path = "data/catalog.json"
format = "geojson"
[[steps]]
id = "mask"
op = "rasterize"
shapes = "box"
grid = "grid"
[[steps]]
id = "store"
op = "write"
inputs = ["mask"]
coords = true
output = "s.zarr"
"#;
    let e = run_text(recipe, &[]).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "{RECIPE}:23: step `store` (write): steps[3].coords: no input is a stacked cube"
        )),
        "{e}"
    );
}

#[test]
fn a_plain_array_reads_back_without_labels() {
    // Without coordinates the array read back has no time/band labels: planes by index.
    let text = recipe_text().replace("coords = true", "coords = false");
    let out = run_text(&text, &[("resolution", "1500")]).unwrap();
    let stats = table(&out, "stats.csv");
    assert_eq!(text_of(&stats.rows[4][0]), "zarr time=1 band=1");
    assert!(
        !store_files(&out)
            .iter()
            .any(|(k, _)| k.starts_with("time/"))
    );
}
