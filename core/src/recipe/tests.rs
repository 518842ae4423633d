use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::{LabeledArray, sha256_hex};

/// A valid recipe; line numbers below refer to it (line 1 is `[recipe]`).
const GOOD: &str = r#"[recipe]
name = "t"
[params.size]
type = "int"
default = 2
min = 1
max = 4
[params.res]
type = "float"
default = 1.0
min = 0.5
max = 10.0
[[steps]]
id = "box"
op = "shapes"
path = "data/box.wkt"
[[steps]]
id = "grid"
op = "grid"
shapes = "box"
resolution = "$res"
[[steps]]
id = "mask"
op = "rasterize"
shapes = "box"
grid = "grid"
output = "mask.npy"
[[steps]]
id = "chips"
op = "slice"
arrays = ["mask"]
size = "$size"
output = "chips"
[[steps]]
id = "sums"
op = "checksum"
inputs = ["mask", "chips"]
output = "sums.csv"
"#;

fn files() -> MemoryFiles {
    MemoryFiles(vec![(
        "data/box.wkt".into(),
        b"POLYGON ((0 0, 4 0, 4 3, 0 3, 0 0))".to_vec(),
    )])
}

/// Replaces the first occurrence of `from` in GOOD (which must exist).
fn edit(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

fn err(text: &str) -> RecipeError {
    Recipe::parse("cookbooks/t/recipe.toml", text).unwrap_err()
}

fn assert_at(e: &RecipeError, line: usize, key: &str) {
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("cookbooks/t/recipe.toml:{line}: {key}")),
        "{msg}"
    );
    assert_eq!(e.location().line, line, "{msg}");
    assert_eq!(e.location().key, key, "{msg}");
}

#[test]
fn good_recipe_parses_in_order() {
    let r = Recipe::parse("r.toml", GOOD).unwrap();
    assert_eq!(r.params.len(), 2);
    assert_eq!(r.steps.len(), 5);
    assert_eq!(r.order, vec![0, 1, 2, 3, 4]);
    assert_eq!(r.steps[2].line, 23);
    assert_eq!(r.params_json()[0]["max"], serde_json::json!(4));
}

#[test]
fn unknown_step() {
    let e = err(&edit("op = \"rasterize\"", "op = \"burn\""));
    assert!(matches!(e, RecipeError::UnknownStep { .. }), "{e}");
    assert_at(&e, 24, "steps[2].op");
    assert!(e.to_string().contains("`burn`"));
}

#[test]
fn unknown_parameter() {
    let e = err(&edit(
        "resolution = \"$res\"",
        "resolution = \"$resolution\"",
    ));
    assert!(matches!(e, RecipeError::UnknownParameter { .. }), "{e}");
    assert_at(&e, 21, "steps[1].resolution");
    assert!(e.to_string().contains("`resolution` (known: size, res)"));
    // …and through --set.
    let r = Recipe::parse("r.toml", GOOD).unwrap();
    let e = r.bind(&[("sise".into(), "3".into())]).unwrap_err();
    assert!(matches!(e, RecipeError::UnknownParameter { .. }), "{e}");
    assert!(e.to_string().contains("--set sise"), "{e}");
}

#[test]
fn unknown_key() {
    let e = err(&edit("grid = \"grid\"", "grid = \"grid\"\nmood = \"burn\""));
    assert!(matches!(e, RecipeError::UnknownKey { .. }), "{e}");
    assert_at(&e, 27, "steps[2].mood");
}

#[test]
fn type_mismatch() {
    // A literal of the wrong type.
    let e = err(&edit("size = \"$size\"", "size = \"big\""));
    assert!(matches!(e, RecipeError::TypeMismatch { .. }), "{e}");
    assert_at(&e, 32, "steps[3].size");
    // A parameter of the wrong type.
    let e = err(&edit("size = \"$size\"", "size = \"$res\""));
    assert!(matches!(e, RecipeError::TypeMismatch { .. }), "{e}");
    assert_at(&e, 32, "steps[3].size");
    // An input of the wrong kind: a grid where shapes go.
    let e = err(&edit("shapes = \"box\"\ngrid", "shapes = \"grid\"\ngrid"));
    assert!(matches!(e, RecipeError::TypeMismatch { .. }), "{e}");
    assert_at(&e, 25, "steps[2].shapes");
    assert!(
        e.to_string().contains("step `grid`, which makes a grid"),
        "{e}"
    );
    // A parameter default of the wrong type.
    let e = err(&edit("default = 2\n", "default = \"2\"\n"));
    assert_at(&e, 5, "params.size.default");
    // A --set value of the wrong type.
    let r = Recipe::parse("r.toml", GOOD).unwrap();
    let e = r.bind(&[("size".into(), "two".into())]).unwrap_err();
    assert!(matches!(e, RecipeError::TypeMismatch { .. }), "{e}");
    assert!(e.to_string().starts_with("r.toml:3: params.size"), "{e}");
}

#[test]
fn cycle() {
    // A step reading itself.
    let e = err(&edit(
        "inputs = [\"mask\", \"chips\"]",
        "inputs = [\"mask\", \"chips\", \"sums\"]",
    ));
    assert!(matches!(e, RecipeError::Cycle { .. }), "{e}");
    assert_at(&e, 37, "steps[4].inputs");
    assert!(
        e.to_string()
            .ends_with("the steps form a cycle: sums -> sums"),
        "{e}"
    );
    // Two steps reading each other: the grid takes its shapes from the mask it is used by.
    let e = err(&edit(
        "shapes = \"box\"\nresolution",
        "shapes = \"mask\"\nresolution",
    ));
    assert!(matches!(e, RecipeError::Cycle { .. }), "{e}");
    assert_at(&e, 20, "steps[1].shapes");
    assert!(e.to_string().ends_with("grid -> mask -> grid"), "{e}");
}

#[test]
fn steps_run_in_dependency_order_whatever_the_file_order() {
    let text = r#"[recipe]
name = "c"
[[steps]]
id = "a"
op = "checksum"
inputs = ["b"]
[[steps]]
id = "b"
op = "slice"
arrays = ["c"]
size = 1
[[steps]]
id = "c"
op = "rasterize"
shapes = "s"
grid = "g"
[[steps]]
id = "s"
op = "shapes"
path = "x.wkt"
[[steps]]
id = "g"
op = "grid"
shapes = "s"
resolution = 1.0
"#;
    let r = Recipe::parse("r.toml", text).unwrap();
    assert_eq!(r.order, vec![3, 4, 2, 1, 0]);
}

#[test]
fn missing_input() {
    let e = err(&edit("grid = \"grid\"", "grid = \"grd\""));
    assert!(matches!(e, RecipeError::MissingInput { .. }), "{e}");
    assert_at(&e, 26, "steps[2].grid");
    assert!(e.to_string().contains("no step has id `grd`"));
}

#[test]
fn missing_key() {
    let e = err(&edit("path = \"data/box.wkt\"\n", ""));
    assert!(matches!(e, RecipeError::MissingKey { .. }), "{e}");
    assert_at(&e, 14, "steps[0].path");
}

#[test]
fn out_of_range() {
    // A literal outside the field's range.
    let e = err(&edit("size = \"$size\"", "size = 0"));
    assert!(matches!(e, RecipeError::OutOfRange { .. }), "{e}");
    assert_at(&e, 32, "steps[3].size");
    // A default outside the parameter's own range.
    let e = err(&edit("default = 2\n", "default = 9\n"));
    assert!(matches!(e, RecipeError::OutOfRange { .. }), "{e}");
    assert_at(&e, 5, "params.size.default");
    assert!(e.to_string().contains("9 is out of range (1 ..= 4)"), "{e}");
    // A --set value outside it.
    let r = Recipe::parse("cookbooks/t/recipe.toml", GOOD).unwrap();
    let e = r.bind(&[("res".into(), "0.1".into())]).unwrap_err();
    assert!(matches!(e, RecipeError::OutOfRange { .. }), "{e}");
    assert_at(&e, 8, "params.res");
    // A parameter whose own range allows what the field does not.
    let wide = edit("min = 1\n", "min = -5\n");
    let r = Recipe::parse("cookbooks/t/recipe.toml", &wide).unwrap();
    let e = r.bind(&[("size".into(), "-1".into())]).unwrap_err();
    assert!(matches!(e, RecipeError::OutOfRange { .. }), "{e}");
    assert_at(&e, 32, "steps[3].size");
    assert!(e.to_string().contains("$size = -1"), "{e}");
    // A choice not offered.
    let e = err(&edit(
        "grid = \"grid\"",
        "grid = \"grid\"\nmode = \"paint\"",
    ));
    assert!(matches!(e, RecipeError::OutOfRange { .. }), "{e}");
    assert_at(&e, 27, "steps[2].mode");
}

#[test]
fn path_escaping_the_cookbook() {
    for bad in [
        "../data/box.wkt",
        "data/../../box.wkt",
        "/etc/passwd",
        "C:/x.wkt",
        "\\\\server\\x",
    ] {
        let e = err(&edit("data/box.wkt", &bad.replace('\\', "\\\\")));
        assert!(matches!(e, RecipeError::PathEscape { .. }), "{bad}: {e}");
        assert_at(&e, 16, "steps[0].path");
    }
    let e = err(&edit("output = \"mask.npy\"", "output = \"../mask.npy\""));
    assert!(matches!(e, RecipeError::PathEscape { .. }), "{e}");
    assert_at(&e, 27, "steps[2].output");
}

#[test]
fn duplicates_syntax_and_unavailable_ops() {
    let e = err(&edit("id = \"grid\"", "id = \"box\""));
    assert!(
        matches!(e, RecipeError::Duplicate { first_line: 14, .. }),
        "{e}"
    );
    assert_at(&e, 18, "steps[1].id");
    let e = err(&edit("name = \"t\"", "name = t"));
    assert!(matches!(e, RecipeError::Syntax { .. }), "{e}");
    assert_eq!(e.location().line, 2);
    let e = err(&edit("op = \"slice\"", "op = \"write\""));
    if cfg!(feature = "zarr") {
        // `arrays` is not a key of write (`inputs` is).
        assert!(matches!(e, RecipeError::UnknownKey { .. }), "{e}");
        assert_at(&e, 31, "steps[3].arrays");
    } else {
        assert!(matches!(e, RecipeError::NotAvailable { .. }), "{e}");
        assert_at(&e, 30, "steps[3].op");
        assert!(e.to_string().contains("feature `zarr` is off"), "{e}");
    }
}

#[test]
fn runs_with_progress_and_checksums() {
    let r = Recipe::parse("r.toml", GOOD).unwrap();
    let mut seen = Vec::new();
    let out = Runtime::new(&files())
        .on_progress(|p| seen.push((p.done, p.step.clone())))
        .run(&r, &r.bind(&[]).unwrap())
        .unwrap();
    let names: Vec<&str> = out.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["mask.npy", "chips/mask.npy", "sums.csv"]);
    assert_eq!(seen.len(), 6);
    assert_eq!(seen[0], (0, "box".to_string()));
    assert_eq!(seen[5], (5, String::new()));
    let OutputValue::Array(mask) = &out.outputs[0].value else {
        panic!()
    };
    // The 4×3 box on a 1 m grid snapped to its bounds: every pixel burned.
    assert_eq!(mask.shape(), &[3, 4]);
    assert_eq!(mask.sum_f64(), 12.0);
    let OutputValue::Array(chips) = &out.outputs[1].value else {
        panic!()
    };
    // 2×2 chips of a 3×4 grid, edge dropped: 1 × 2 chips.
    assert_eq!(chips.shape(), &[2, 2, 2]);
    assert_eq!(out.outputs[0].sha256, sha256_hex(&out.outputs[0].bytes));
    let OutputValue::Table(t) = &out.outputs[2].value else {
        panic!()
    };
    assert_eq!(t.rows[0][3], Cell::Text(mask.sha256()));
    // [expected] comparisons: nothing recorded → every output reported.
    assert_eq!(check_outputs(&r, &out).len(), 3);
    let recorded = format!(
        "{GOOD}[expected]\n\"mask.npy\" = \"{}\"\n\"chips/mask.npy\" = \"{}\"\n\"sums.csv\" = \"{}\"\n",
        out.outputs[0].sha256, out.outputs[1].sha256, out.outputs[2].sha256
    );
    let r2 = Recipe::parse("r.toml", &recorded).unwrap();
    assert!(check_outputs(&r2, &out).is_empty());
    // Another parameter value changes the chips, and the check says so.
    let out3 = Runtime::new(&files())
        .run(&r2, &r2.bind(&[("size".into(), "1".into())]).unwrap())
        .unwrap();
    let problems = check_outputs(&r2, &out3);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("`chips/mask.npy`"), "{problems:?}");
}

#[test]
fn cancellation_stops_before_the_next_step() {
    let r = Recipe::parse("r.toml", GOOD).unwrap();
    let cancel = AtomicBool::new(false);
    let mut steps_started = 0;
    let result = Runtime::new(&files())
        .cancel_flag(&cancel)
        .on_progress(|p| {
            steps_started += 1;
            // Cancel as the third step (`mask`) is about to start.
            if p.step == "mask" {
                cancel.store(true, Ordering::Relaxed);
            }
        })
        .run(&r, &r.bind(&[]).unwrap());
    assert_eq!(
        result,
        Err(RunError::Cancelled {
            step: "mask".into()
        })
    );
    assert_eq!(steps_started, 3);
}

#[test]
fn run_errors_name_the_step() {
    let r = Recipe::parse("r.toml", GOOD).unwrap();
    let e = Runtime::new(&MemoryFiles::default())
        .run(&r, &r.bind(&[]).unwrap())
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("r.toml:14: step `box` (shapes): path: data/box.wkt: no such file"),
        "{e}"
    );
    // A plot without a renderer.
    let text = format!(
        "{GOOD}[[steps]]\nid = \"p\"\nop = \"plot\"\nkind = \"image\"\ninput = \"mask\"\noutput = \"p.svg\"\n"
    );
    let r = Recipe::parse("r.toml", &text).unwrap();
    let e = Runtime::new(&files())
        .run(&r, &r.bind(&[]).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("no plot renderer"), "{e}");
}

struct JsonRenderer;
impl PlotRenderer for JsonRenderer {
    fn render(&self, spec: &PlotSpec) -> Result<String, String> {
        Ok(spec.to_json().to_string())
    }
}

#[test]
fn plots_are_specs_for_the_renderer() {
    let text = format!(
        "{GOOD}[[steps]]\nid = \"pairs\"\nop = \"plot\"\nkind = \"chip_pairs\"\ninput = \"chips\"\n\
         count = 1\noutput = \"pairs.svg\"\n[[steps]]\nid = \"h\"\nop = \"plot\"\nkind = \"histogram\"\n\
         input = \"mask\"\nbins = 2\noutput = \"h.svg\"\n[[steps]]\nid = \"st\"\nop = \"stats\"\n\
         inputs = [\"mask\"]\n[[steps]]\nid = \"b\"\nop = \"plot\"\nkind = \"bars\"\ninput = \"st\"\n\
         label_column = \"name\"\nvalue_column = \"mean\"\noutput = \"b.svg\"\n"
    );
    let r = Recipe::parse("r.toml", &text).unwrap();
    let out = Runtime::new(&files())
        .renderer(&JsonRenderer)
        .run(&r, &r.bind(&[]).unwrap())
        .unwrap();
    let svg = |name: &str| match &out.outputs.iter().find(|o| o.name == name).unwrap().value {
        OutputValue::Svg { spec, .. } => spec.clone(),
        _ => panic!(),
    };
    let PlotKind::Images { panels, .. } = svg("pairs.svg").kind else {
        panic!()
    };
    assert_eq!(panels.len(), 1);
    assert_eq!((panels[0].rows, panels[0].cols), (2, 2));
    let PlotKind::Histogram { counts, edges, .. } = svg("h.svg").kind else {
        panic!()
    };
    // All 12 pixels are 1: one value, so the range is widened to [0.5, 1.5].
    assert_eq!(edges, vec![0.5, 1.0, 1.5]);
    assert_eq!(counts, vec![0, 12]);
    let PlotKind::Bars { labels, values, .. } = svg("b.svg").kind else {
        panic!()
    };
    assert_eq!((labels, values), (vec!["mask".to_string()], vec![1.0]));
    // The plot's kind decides which inputs fit.
    let bad = text.replace(
        "kind = \"chip_pairs\"\ninput = \"chips\"",
        "kind = \"chip_pairs\"\ninput = \"mask\"",
    );
    let e = Recipe::parse("r.toml", &bad).unwrap_err();
    assert!(matches!(e, RecipeError::TypeMismatch { .. }), "{e}");
}

#[test]
fn npy_header_is_numpys() {
    // python: np.save of np.arange(6, dtype='<i4').reshape(2, 3) → header below, padded to 128.
    let a = LabeledArray::arange_i32(&["y", "x"], &[2, 3]).unwrap();
    let b = npy_bytes(&a);
    let header = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }";
    assert_eq!(&b[10..10 + header.len()], header.as_bytes());
    assert_eq!(u16::from_le_bytes([b[8], b[9]]) as usize + 10, 128);
    assert_eq!(b[127], b'\n');
    assert_eq!(b.len(), 128 + 24);
}

#[test]
fn stack_reads_assets_only_inside_the_recipe() {
    let item = r#"{"type": "Feature", "id": "a", "properties": {"datetime": "2024-01-05T00:10:00Z",
      "proj:epsg": 32755}, "assets": {"B02": {"href": "HREF", "type": "image/tiff",
      "proj:shape": [4, 4], "proj:transform": [10, 0, 767920, 0, -10, 6090010],
      "raster:bands": [{"data_type": "uint16", "nodata": 0}]}}}"#;
    let recipe = "[recipe]\nname = \"s\"\n[[steps]]\nid = \"items\"\nop = \"stac\"\n\
                  path = \"stac/item.json\"\n[[steps]]\nid = \"cube\"\nop = \"stack\"\n\
                  items = \"items\"\noutput = \"cube.npy\"\n";
    let r = Recipe::parse("r.toml", recipe).unwrap();
    for (href, want) in [
        ("../secret.tif", "reads only files inside its directory"),
        (
            "https://example.com/a.tif",
            "reads only files inside its directory",
        ),
        ("missing.tif", "stac/missing.tif: no such file"),
    ] {
        let files = MemoryFiles(vec![(
            "stac/item.json".into(),
            item.replace("HREF", href).into_bytes(),
        )]);
        let e = Runtime::new(&files)
            .run(&r, &r.bind(&[]).unwrap())
            .unwrap_err();
        assert!(
            e.to_string().starts_with("r.toml:8: step `cube` (stack)"),
            "{e}"
        );
        assert!(e.to_string().contains(want), "{href}: {e}");
    }
}

/// A clock that advances 1 ms per call (deterministic timings for tests).
#[cfg(feature = "zarr")]
struct TickClock(std::cell::Cell<f64>);
#[cfg(feature = "zarr")]
impl Clock for TickClock {
    fn now_ms(&self) -> f64 {
        let t = self.0.get() + 1.0;
        self.0.set(t);
        t
    }
}

#[cfg(feature = "zarr")]
#[test]
fn time_reads_counts_are_exact_and_timings_unchecked() {
    let text = format!(
        "{GOOD}[[steps]]\nid = \"t\"\nop = \"time_reads\"\ninput = \"mask\"\nchunks = \"1,2\"\n\
         window = 2\nreads = 5\noutput = \"t.csv\"\n[[steps]]\nid = \"c\"\nop = \"plot\"\n\
         kind = \"bars\"\ninput = \"t\"\nlabel_column = \"chunk\"\nvalue_column = \"total_ms\"\n\
         output = \"c.svg\"\n"
    );
    let r = Recipe::parse("r.toml", &text).unwrap();
    // Without a clock the step refuses to run.
    let e = Runtime::new(&files())
        .renderer(&JsonRenderer)
        .run(&r, &r.bind(&[]).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("no clock"), "{e}");
    let clock = TickClock(std::cell::Cell::new(0.0));
    let out = Runtime::new(&files())
        .renderer(&JsonRenderer)
        .clock(&clock)
        .run(&r, &r.bind(&[]).unwrap())
        .unwrap();
    let get = |n: &str| out.outputs.iter().find(|o| o.name == n).unwrap();
    let OutputValue::Table(counts) = &get("t.csv").value else {
        panic!()
    };
    // A 2×2 window on a 3×4 uint8 mask: 1×1 chunks → 4 chunks of 1 byte per read; 2×2
    // chunks → 1, 2 or 4 chunks depending on the position.
    assert_eq!(counts.rows[0][4], Cell::Float(4.0));
    assert_eq!(counts.rows[0][6], Cell::Float(1.0));
    assert!(get("t.csv").checked);
    assert!(!get("t-timings.csv").checked);
    assert!(!get("c.svg").checked);
    let OutputValue::Table(timings) = &get("t-timings.csv").value else {
        panic!()
    };
    assert_eq!(timings.rows[0][1], Cell::Float(1.0));
    // check_outputs skips the timings, and refuses them in [expected].
    let problems = check_outputs(&r, &out);
    assert!(
        problems.iter().all(|p| !p.contains("timings")),
        "{problems:?}"
    );
    let recorded = format!("{text}[expected]\n\"c.svg\" = \"{}\"\n", "0".repeat(64));
    let r2 = Recipe::parse("r.toml", &recorded).unwrap();
    assert!(
        check_outputs(&r2, &out)
            .iter()
            .any(|p| p.contains("`c.svg` holds timings")),
    );
}
