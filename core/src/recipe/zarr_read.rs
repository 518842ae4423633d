//! The `read_zarr` step: an array (or a window of it) read from a Zarr v3 store that sits
//! among the recipe's files, through [`ByteSourceStore`]: natively the store's objects are
//! files, in the browser URLs fetched with HTTP `Range` requests, so a sharded store costs
//! the shard indexes and the inner chunks the window touches, never whole shards.

use std::sync::Arc;

use crate::LabeledArray;
use crate::zarr::{ByteSourceStore, FetchStats, ObjectSource};

/// A window as written in a recipe: one `start:stop` (or `:` for the whole dim) per dim,
/// comma-separated, like a numpy slice: `"0:1, 100:164, 200:264"`.
pub(super) fn parse_window(
    text: &str,
    shape: &[usize],
) -> Result<(Vec<usize>, Vec<usize>), String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    if parts.len() != shape.len() {
        return Err(format!(
            "window `{text}` has {} parts; the array has {} dims (shape {shape:?})",
            parts.len(),
            shape.len()
        ));
    }
    let (mut start, mut size) = (Vec::new(), Vec::new());
    for (part, &n) in parts.iter().zip(shape) {
        let bad = || format!("window `{text}`: `{part}` is not start:stop");
        let (a, b) = part.split_once(':').ok_or_else(bad)?;
        let a: usize = if a.trim().is_empty() {
            0
        } else {
            a.trim().parse().map_err(|_| bad())?
        };
        let b: usize = if b.trim().is_empty() {
            n
        } else {
            b.trim().parse().map_err(|_| bad())?
        };
        if a >= b || b > n {
            return Err(format!(
                "window `{text}`: `{part}` is empty or leaves the dim of size {n}"
            ));
        }
        start.push(a);
        size.push(b - a);
    }
    Ok((start, size))
}

/// Reads `array` (a path inside the store, e.g. `/red`) of the store at `path` (relative to
/// the recipe's directory), whole or the `window`; returns it with what was fetched.
pub(super) fn read(
    objects: Arc<dyn ObjectSource>,
    name: String,
    path: &str,
    array: &str,
    window: Option<&str>,
) -> Result<(LabeledArray, FetchStats), String> {
    // zarrs takes its storage as an `Arc`; on wasm32 (one thread) the browser's byte
    // sources are not `Send`, and need not be.
    #[allow(clippy::arc_with_non_send_sync)]
    let store = Arc::new(ByteSourceStore::new(name, path, objects));
    let z = store.open_array(array).map_err(|e| format!("array: {e}"))?;
    let a = match window {
        None => z.read(),
        Some(w) => {
            let (start, shape) = parse_window(w, &z.shape()).map_err(|e| format!("window: {e}"))?;
            z.read_window(&start, &shape)
        }
    }
    .map_err(|e| e.to_string())?;
    Ok((a, store.stats()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::{MemoryFiles, OutputValue, Recipe, Runtime};
    use crate::zarr::{Compression, WriteOptions, ZarrStore};
    use zarrs::storage::{ListableStorageTraits, ReadableStorageTraits};

    const RECIPE: &str = r#"[recipe]
name = "z"
[[steps]]
id = "win"
op = "read_zarr"
path = "data/s.zarr"
array = "/g/a"
window = "10:30, 5:25"
output = "win.npy"
"#;

    /// `data/s.zarr/...`: an array written in memory, sharded and gzip, its objects as files.
    fn files() -> (MemoryFiles, LabeledArray) {
        let v: Vec<u16> = (0..48 * 40).map(|i| (i * 7 % 1000) as u16).collect();
        let a = LabeledArray::from_shape_vec(&["y", "x"], &[48, 40], v).unwrap();
        let mem = ZarrStore::memory();
        mem.create_group("/", serde_json::Map::new()).unwrap();
        let o = WriteOptions {
            chunk_shape: Some(vec![8, 8]),
            shard_shape: Some(vec![16, 16]),
            compression: Compression::Gzip { level: 5 },
            ..WriteOptions::default()
        };
        mem.write_array("/g/a", &a, &o).unwrap();
        let mut f = Vec::new();
        for k in mem.storage().list().unwrap() {
            let b = mem.storage().get(&k).unwrap().unwrap().to_vec();
            f.push((format!("data/s.zarr/{}", k.as_str()), b));
        }
        (MemoryFiles(f), a)
    }

    fn run(text: &str, files: &MemoryFiles) -> Result<crate::recipe::RunOutputs, String> {
        let r = Recipe::parse("cookbooks/z/recipe.toml", text).map_err(|e| e.to_string())?;
        let b = r.bind(&[]).map_err(|e| e.to_string())?;
        Runtime::new(files).run(&r, &b).map_err(|e| e.to_string())
    }

    #[test]
    fn the_step_reads_a_window_of_a_stored_array() {
        let (files, a) = files();
        let out = run(RECIPE, &files).unwrap();
        let OutputValue::Array(w) = &out.outputs[0].value else {
            panic!("an array")
        };
        let crate::ArrayData::U16(all) = a.data() else {
            panic!("uint16")
        };
        let want = all.slice(ndarray::s![10..30, 5..25]).to_owned().into_dyn();
        assert_eq!(w.data(), &crate::ArrayData::from(want));
        assert_eq!(w.dims(), &["y", "x"]);
        // The whole array without a window.
        let whole = RECIPE.replace("window = \"10:30, 5:25\"\n", "");
        let out = run(&whole, &files).unwrap();
        let OutputValue::Array(w) = &out.outputs[0].value else {
            panic!("an array")
        };
        assert_eq!(w, &a);
    }

    #[test]
    fn step_errors_name_the_recipe_line_and_the_problem() {
        let (mut files, _) = files();
        let e = run(&RECIPE.replace("/g/a", "/g/b"), &files).unwrap_err();
        assert!(
            e.starts_with("cookbooks/z/recipe.toml:4: step `win` (read_zarr): array:")
                && e.contains("no Zarr array at '/g/b'"),
            "{e}"
        );
        let e = run(&RECIPE.replace("10:30, 5:25", "10:30"), &files).unwrap_err();
        assert!(e.contains("window: window `10:30` has 1 parts"), "{e}");
        // A truncated shard: the error names its key.
        let f = files
            .0
            .iter_mut()
            .find(|(p, _)| p == "data/s.zarr/g/a/c/0/1")
            .unwrap();
        f.1.truncate(f.1.len() / 2);
        let e = run(RECIPE, &files).unwrap_err();
        assert!(e.contains("'g/a/c/0/1'"), "{e}");
        // A path that escapes the cookbook is refused by the validator.
        let e = run(&RECIPE.replace("data/s.zarr", "../s.zarr"), &files).unwrap_err();
        assert!(e.contains("path"), "{e}");
    }

    #[test]
    fn windows_parse_like_numpy_slices() {
        assert_eq!(
            parse_window("0:1, 10:20, :", &[3, 40, 50]).unwrap(),
            (vec![0, 10, 0], vec![1, 10, 50])
        );
        for bad in ["1:1, :", "0:5", "a:b, :", "0:9, :", "3, :"] {
            assert!(parse_window(bad, &[8, 8]).is_err(), "{bad}");
        }
    }
}
