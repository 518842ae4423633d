//! The `cog_layout` and `read_plan` recipe steps (the "STAC and COGs" cookbook) against
//! GDAL: for each COG of `cookbooks/stac-and-cogs/data/` and each level (full resolution, then
//! each internal overview) the shape, tile size, tile grid, tile count and stored bytes equal
//! GDAL 3.10's (`BLOCK_SIZE_<x>_<y>` of the TIFF metadata domain, summed), and for several
//! windows the tiles touched and their stored bytes equal those of GDAL's blocks under the
//! same window (`tests/fixtures/stac_and_cogs/reference.json`, made by `make_reference.py`).

use std::path::{Path, PathBuf};

use geochip::recipe::{Cell, FileSource, OutputValue, Recipe, Runtime, Table};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The cookbook's directory, files read whole (the default `open` serves ranges from memory).
struct Dir(PathBuf);

impl FileSource for Dir {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        std::fs::read(self.0.join(path)).map_err(|e| format!("{path}: {e}"))
    }
}

fn reference() -> Value {
    let p = root().join("tests/fixtures/stac_and_cogs/reference.json");
    serde_json::from_str(&std::fs::read_to_string(&p).expect("reference.json")).expect("JSON")
}

fn run_table(item: &str, op_keys: &str) -> Table {
    let text = format!(
        "[recipe]\nname = \"t\"\n[[steps]]\nid = \"items\"\nop = \"stac\"\n\
         path = \"data/catalog.json\"\n[[steps]]\nid = \"t\"\n{op_keys}\nitems = \"items\"\n\
         item = \"{item}\"\noutput = \"t.csv\"\n"
    );
    let recipe = Recipe::parse("t.toml", &text).expect("recipe");
    let files = Dir(root().join("cookbooks/stac-and-cogs"));
    let out = Runtime::new(&files)
        .run(&recipe, &recipe.bind(&[]).expect("bind"))
        .expect("run");
    let o = out
        .outputs
        .iter()
        .find(|o| o.name == "t.csv")
        .expect("t.csv");
    let OutputValue::Table(t) = &o.value else {
        panic!("t.csv is not a table")
    };
    t.clone()
}

fn cell<'t>(t: &'t Table, row: usize, col: &str) -> &'t Cell {
    &t.rows[row][t.column(col).unwrap_or_else(|| panic!("no column {col}"))]
}

fn text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        other => panic!("{other:?} is not text"),
    }
}

fn int(c: &Cell) -> i64 {
    match c {
        Cell::Int(i) => *i,
        other => panic!("{other:?} is not an integer"),
    }
}

fn pair(v: &Value) -> String {
    format!("{}x{}", v[0], v[1])
}

#[test]
fn cog_layout_equals_gdals_blocks() {
    let r = reference();
    for (name, file) in r["files"].as_object().expect("files") {
        let item = name.trim_end_matches(".tif");
        let t = run_table(item, "op = \"cog_layout\"");
        let levels = file["levels"].as_array().expect("levels");
        // One row per level.
        assert_eq!(t.rows.len(), levels.len(), "{name}");
        for (i, lv) in levels.iter().enumerate() {
            let at = format!("{name} level {i}");
            assert_eq!(text(cell(&t, i, "shape")), pair(&lv["shape"]), "{at}");
            assert_eq!(text(cell(&t, i, "tile")), pair(&lv["block"]), "{at}");
            assert_eq!(
                text(cell(&t, i, "tiles_across_down")),
                pair(&lv["chunk_grid"]),
                "{at}"
            );
            assert_eq!(
                int(cell(&t, i, "tiles")),
                lv["tiles"].as_i64().unwrap(),
                "{at}"
            );
            assert_eq!(
                int(cell(&t, i, "bytes")),
                lv["stored_bytes"].as_i64().unwrap(),
                "{at}"
            );
        }
    }
}

#[test]
fn read_plan_touches_gdals_blocks() {
    let r = reference();
    let mut compared = 0;
    for (name, file) in r["files"].as_object().expect("files") {
        let item = name.trim_end_matches(".tif");
        let levels = file["levels"].as_array().expect("levels");
        let n_windows = levels[0]["windows"].as_array().expect("windows").len();
        for k in 0..n_windows {
            let w = &levels[0]["windows"][k]["full_res_window"];
            let keys = format!(
                "op = \"read_plan\"\ncol = {}\nrow = {}\nsize = {}",
                w[0], w[1], w[2]
            );
            let t = run_table(item, &keys);
            // header, one row per level, whole file.
            assert_eq!(t.rows.len(), levels.len() + 2, "{name} {w}");
            let file_len = int(cell(&t, levels.len() + 1, "bytes_fetched"));
            let header = int(cell(&t, 0, "bytes_fetched"));
            for (i, lv) in levels.iter().enumerate() {
                let want = &lv["windows"][k];
                let at = format!("{name} window {w} level {i}");
                let row = i + 1;
                let win = &want["window"];
                assert_eq!(
                    text(cell(&t, row, "window")),
                    format!("{},{} {}x{}", win[0], win[1], win[2], win[3]),
                    "{at}"
                );
                assert_eq!(
                    int(cell(&t, row, "tiles")),
                    want["tiles"].as_i64().unwrap(),
                    "{at}"
                );
                let tile_bytes = int(cell(&t, row, "tile_bytes"));
                assert_eq!(tile_bytes, want["tile_bytes"].as_i64().unwrap(), "{at}");
                // What is fetched never exceeds the file, and covers the tiles not already
                // held from the header's requests.
                let fetched = int(cell(&t, row, "bytes_fetched"));
                assert!(fetched <= file_len, "{at}: {fetched} > {file_len}");
                assert!(
                    fetched + header >= tile_bytes,
                    "{at}: {fetched} + {header} < {tile_bytes}"
                );
                compared += 1;
            }
        }
    }
    assert!(compared >= 20, "only {compared} windows compared");
}

#[test]
fn bad_item_and_window_name_the_problem() {
    let text = "[recipe]\nname = \"t\"\n[[steps]]\nid = \"items\"\nop = \"stac\"\n\
                path = \"data/catalog.json\"\n[[steps]]\nid = \"t\"\nop = \"read_plan\"\n\
                items = \"items\"\nitem = \"ITEM\"\ncol = COL\nrow = 0\nsize = 64\n\
                output = \"t.csv\"\n";
    let files = Dir(root().join("cookbooks/stac-and-cogs"));
    for (item, col, want) in [
        (
            "rgb9",
            "0",
            "t.toml:8: step `t` (read_plan): item: no item has id `rgb9` (items: rgb1, rgb2)",
        ),
        (
            "rgb1",
            "390",
            "t.toml:8: step `t` (read_plan): data/rgb1.tif: window at level 0",
        ),
    ] {
        let r = Recipe::parse("t.toml", &text.replace("ITEM", item).replace("COL", col))
            .expect("recipe");
        let e = Runtime::new(&files)
            .run(&r, &r.bind(&[]).expect("bind"))
            .expect_err("a bad item or window fails");
        assert!(e.to_string().starts_with(want), "{e}");
    }
}
