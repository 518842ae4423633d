//! The book's recipe worker: runs a cookbook recipe in a Web Worker with the same core, Zarr
//! layer and SVG renderer as `geochip run`, so a browser run gives the same bytes.
//!
//! A module of its own (`geochip_wasm_recipe`, loaded only by `wasm/js/recipe-worker.js` on
//! cookbook chapters): the Zarr layer alone is megabytes of wasm, which the lessons' small
//! module (`geochip-wasm`) must not carry.
//!
//! The recipe's files come through the worker's `io` object (synchronous XHR, which a Worker
//! may do: the runtime's [`FileSource`] is synchronous), byte sources with HTTP `Range`
//! requests; its errors name the URL. Everything else — parsing, parameter checks, the run,
//! errors, output checksums and the outputs' HTML — is plain Rust in [`check`] and [`run`],
//! which the native tests call.
//!
//! ```
//! use geochip::recipe::MemoryFiles;
//! let text = "[recipe]\nname = \"r\"\n[params.n]\ntype = \"int\"\ndefault = 2\nmax = 4\n";
//! // A value out of range is reported under its field, with the native error text.
//! let bad = geochip_wasm_recipe::check("r.toml", text, r#"{"n": "9"}"#).unwrap().unwrap();
//! assert_eq!(bad.param.as_deref(), Some("n"));
//! assert_eq!(bad.message, "r.toml:3: params.n: 9 is out of range (<= 4)");
//! let files = MemoryFiles::default();
//! let out = geochip_wasm_recipe::run("r.toml", text, "{}", &files, None, &mut |_| {}).unwrap();
//! assert!(out.contains("\"outputs\":[]"));
//! ```

use geochip::cog::{ByteSource, CogError};
use geochip::recipe::{Clock, FileSource, Progress, Recipe, RecipeError, Runtime};
use geochip::stack::AssetError;
use serde_json::json;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;

/// Installs the panic hook so a Rust panic shows its message in the console.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// A parameter problem: the field it belongs to (`None`: the recipe as a whole) and the
/// message, the same text `geochip run --set …` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamProblem {
    /// The parameter's name, when the problem is one field's.
    pub param: Option<String>,
    /// The error text.
    pub message: String,
}

/// The form's values (`{"name": "text"}`) as `--set` overrides, in the recipe's order.
fn overrides(recipe: &Recipe, values_json: &str) -> Result<Vec<(String, String)>, String> {
    let values: serde_json::Map<String, serde_json::Value> = serde_json::from_str(values_json)
        .map_err(|e| format!("parameter values are not a JSON object: {e}"))?;
    let mut out = Vec::new();
    for p in &recipe.params {
        if let Some(v) = values.get(&p.name) {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push((p.name.clone(), text));
        }
    }
    for name in values.keys() {
        if !recipe.params.iter().any(|p| &p.name == name) {
            // Reported by bind with the recipe's own wording.
            out.push((name.clone(), String::new()));
        }
    }
    Ok(out)
}

fn parse(file: &str, text: &str) -> Result<Recipe, String> {
    Recipe::parse(file, text).map_err(|e| e.to_string())
}

fn problem(e: &RecipeError) -> ParamProblem {
    let key = &e.location().key;
    ParamProblem {
        param: key.strip_prefix("params.").map(str::to_owned),
        message: e.to_string(),
    }
}

/// Checks the form's values (`{"name": "text"}`) against the recipe: `Ok(None)` when they
/// fit, `Ok(Some(problem))` for the first value that does not (type, range, choices, or a
/// step the value does not suit), `Err` when the recipe itself is bad.
pub fn check(file: &str, text: &str, values_json: &str) -> Result<Option<ParamProblem>, String> {
    let recipe = parse(file, text)?;
    let overrides = overrides(&recipe, values_json)?;
    Ok(recipe.bind(&overrides).err().as_ref().map(problem))
}

/// Runs the recipe with the form's values and returns JSON: `outputs` (name, step, kind,
/// bytes, sha256, checked), `defaults` (the values are the recipe's defaults) and `html`
/// (the outputs as [`geochip_plot::html::outputs_html`] shows them). A failure is the error
/// text `geochip run` prints.
pub fn run(
    file: &str,
    text: &str,
    values_json: &str,
    files: &dyn FileSource,
    clock: Option<&dyn Clock>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<String, String> {
    let recipe = parse(file, text)?;
    let overrides = overrides(&recipe, values_json)?;
    let bindings = recipe.bind(&overrides).map_err(|e| e.to_string())?;
    let renderer = geochip_plot::SvgRenderer;
    let mut rt = Runtime::new(files)
        .renderer(&renderer)
        .on_progress(|p| progress(p));
    if let Some(c) = clock {
        rt = rt.clock(c);
    }
    let outputs = rt.run(&recipe, &bindings).map_err(|e| e.to_string())?;
    let defaults = bindings.are_defaults(&recipe);
    let html = geochip_plot::html::outputs_html(
        &recipe,
        &outputs,
        defaults,
        "Computed in your browser (WebAssembly, in a Web Worker) just now.",
    );
    let list: Vec<serde_json::Value> = outputs
        .outputs
        .iter()
        .map(|o| {
            json!({
                "name": o.name, "step": o.step, "kind": o.kind(), "bytes": o.bytes.len(),
                "sha256": o.sha256, "checked": o.checked,
            })
        })
        .collect();
    Ok(json!({ "outputs": list, "defaults": defaults, "html": html }).to_string())
}

/// The form's check from JS: `null` when the values fit, else `{param, message}`.
/// Throws when the recipe itself is bad.
#[wasm_bindgen(js_name = checkParams)]
pub fn check_params(file: &str, text: &str, values_json: &str) -> Result<JsValue, JsError> {
    match check(file, text, values_json).map_err(|e| JsError::new(&e))? {
        None => Ok(JsValue::NULL),
        Some(p) => Ok(JsValue::from_str(
            &json!({"param": p.param, "message": p.message}).to_string(),
        )),
    }
}

/// Calls `io[name](args…)`; a thrown exception becomes its message.
fn call(io: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let f = js_sys::Reflect::get(io, &JsValue::from_str(name))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or_else(|| format!("the worker's io has no function `{name}`"))?;
    let arr: js_sys::Array = args.iter().collect();
    f.apply(io, &arr).map_err(|e| {
        e.dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| e.as_string())
            .unwrap_or_else(|| format!("{e:?}"))
    })
}

fn bytes(v: JsValue) -> Result<Vec<u8>, String> {
    v.dyn_into::<js_sys::Uint8Array>()
        .map(|a| a.to_vec())
        .map_err(|_| "the worker's io did not return bytes".to_owned())
}

/// The recipe's files over the worker's `io` (`read`, `size`, `range`).
#[derive(Clone)]
struct JsFiles(JsValue);

impl FileSource for JsFiles {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        bytes(call(&self.0, "read", &[JsValue::from_str(path)])?)
    }

    /// `io.size` answers `null` for an HTTP 404 (*not found*: a Zarr chunk never written is
    /// the fill value) and throws for any other failure (*unreachable*, naming the URL).
    fn open(&self, path: &str) -> Result<Box<dyn ByteSource>, AssetError> {
        let name = self.url(path);
        let size =
            call(&self.0, "size", &[JsValue::from_str(path)]).map_err(AssetError::unreachable)?;
        if size.is_null() {
            return Err(AssetError::not_found(format!("{name}: HTTP 404")));
        }
        let size = size
            .as_f64()
            .ok_or_else(|| AssetError::unreachable(format!("{name}: no length")))?;
        Ok(Box::new(JsRange {
            io: self.0.clone(),
            path: path.to_owned(),
            name,
            len: size as u64,
        }))
    }

    /// Only on wasm32, where one thread runs and a `JsValue` need not be `Send`.
    #[cfg(target_arch = "wasm32")]
    fn objects(&self) -> Option<std::sync::Arc<dyn geochip::zarr::ObjectSource>> {
        // zarrs takes its storage as an `Arc`; nothing here crosses threads.
        #[allow(clippy::arc_with_non_send_sync)]
        let objects = std::sync::Arc::new(self.clone());
        Some(objects)
    }
}

impl JsFiles {
    /// The URL of `path` (relative to the recipe), for messages.
    fn url(&self, path: &str) -> String {
        call(&self.0, "url", &[JsValue::from_str(path)])
            .ok()
            .and_then(|u| u.as_string())
            .unwrap_or_else(|| path.to_owned())
    }
}

/// The `read_zarr` step's store objects: the same `io`, by URL, with `Range` requests.
#[cfg(target_arch = "wasm32")]
impl geochip::zarr::ObjectSource for JsFiles {
    fn open(&self, path: &str) -> Result<Box<dyn ByteSource>, AssetError> {
        FileSource::open(self, path)
    }

    fn name_of(&self, path: &str) -> String {
        self.url(path)
    }
}

/// One file read with HTTP `Range` requests.
struct JsRange {
    io: JsValue,
    path: String,
    name: String,
    len: u64,
}

impl ByteSource for JsRange {
    fn name(&self) -> &str {
        &self.name
    }

    fn len(&self) -> Result<u64, CogError> {
        Ok(self.len)
    }

    fn read_range(&self, offset: u64, len: usize) -> Result<Vec<u8>, CogError> {
        let err = |reason: String| CogError::Source {
            input: self.name.clone(),
            offset,
            end: offset + len as u64,
            reason,
        };
        let b = call(
            &self.io,
            "range",
            &[
                JsValue::from_str(&self.path),
                JsValue::from_f64(offset as f64),
                JsValue::from_f64(len as f64),
            ],
        )
        .and_then(bytes)
        .map_err(err)?;
        if b.len() != len {
            return Err(err(format!("got {} bytes, expected {len}", b.len())));
        }
        Ok(b)
    }
}

/// `performance.now()` through the worker's `io.now`.
struct JsClock(JsValue);

impl Clock for JsClock {
    fn now_ms(&self) -> f64 {
        call(&self.0, "now", &[])
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(f64::NAN)
    }
}

/// Runs the recipe in the worker: files through `io.read/size/range/url`, the clock through
/// `io.now`, progress through `io.progress(done, total, step, op)`. Returns [`run`]'s JSON;
/// throws the run's error text.
#[wasm_bindgen(js_name = runRecipe)]
pub fn run_recipe(
    file: &str,
    text: &str,
    values_json: &str,
    io: JsValue,
) -> Result<String, JsError> {
    let files = JsFiles(io.clone());
    let clock = JsClock(io.clone());
    let mut progress = |p: &Progress| {
        let _ = call(
            &io,
            "progress",
            &[
                JsValue::from_f64(p.done as f64),
                JsValue::from_f64(p.total as f64),
                JsValue::from_str(&p.step),
                JsValue::from_str(p.op),
            ],
        );
    };
    run(file, text, values_json, &files, Some(&clock), &mut progress).map_err(|e| JsError::new(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geochip::recipe::MemoryFiles;

    fn cookbook(name: &str) -> (String, String, dir_files::Dir) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../cookbooks")
            .join(name);
        let text = std::fs::read_to_string(dir.join("recipe.toml")).expect("recipe");
        (
            format!("cookbooks/{name}/recipe.toml"),
            text,
            dir_files::Dir(dir),
        )
    }

    /// The cookbook's files read from its directory (what the worker fetches over HTTP).
    mod dir_files {
        pub struct Dir(pub std::path::PathBuf);
        impl geochip::recipe::FileSource for Dir {
            fn read(&self, path: &str) -> Result<Vec<u8>, String> {
                std::fs::read(self.0.join(path)).map_err(|e| format!("{path}: {e}"))
            }
        }
    }

    #[test]
    fn form_problems_name_their_field_with_the_native_text() {
        let (file, text, _) = cookbook("labels-for-chips");
        assert_eq!(check(&file, &text, r#"{"chip": "64"}"#).unwrap(), None);
        let p = check(&file, &text, r#"{"chip": "500"}"#).unwrap().unwrap();
        assert_eq!(p.param.as_deref(), Some("chip"));
        let native = Recipe::parse(&file, &text)
            .unwrap()
            .bind(&[("chip".into(), "500".into())])
            .unwrap_err()
            .to_string();
        assert_eq!(p.message, native);
        assert!(
            p.message
                .contains("params.chip: 500 is out of range (8 ..= 128)"),
            "{}",
            p.message
        );
        let p = check(&file, &text, r#"{"resolution": "fine"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(p.param.as_deref(), Some("resolution"));
        assert!(p.message.contains("expected float"), "{}", p.message);
        let p = check(&file, &text, r#"{"nope": "1"}"#).unwrap().unwrap();
        assert_eq!(p.param, None);
        assert!(
            p.message.contains("unknown parameter `nope`"),
            "{}",
            p.message
        );
        assert!(check(&file, "not toml [", "{}").is_err());
        assert!(check(&file, &text, "[1]").is_err());
    }

    #[test]
    fn a_run_lists_every_output_and_its_html() {
        let (file, text, dir) = cookbook("labels-for-chips");
        let mut steps = Vec::new();
        let out = run(&file, &text, "{}", &dir, None, &mut |p| steps.push(p.done)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["defaults"], true);
        let recipe = Recipe::parse(&file, &text).unwrap();
        let outputs = v["outputs"].as_array().unwrap();
        assert_eq!(outputs.len(), recipe.expected.len());
        for (name, sum, _) in &recipe.expected {
            let o = outputs.iter().find(|o| o["name"] == name.as_str()).unwrap();
            assert_eq!(o["sha256"], sum.as_str(), "{name}");
        }
        assert!(v["html"].as_str().unwrap().contains("= recorded"));
        assert_eq!(steps.len(), recipe.steps.len() + 1);
    }

    #[test]
    fn run_errors_read_as_natively() {
        let (file, text, _) = cookbook("labels-for-chips");
        // The data file is missing: the step's error names it.
        let e = run(
            &file,
            &text,
            "{}",
            &MemoryFiles::default(),
            None,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            e.starts_with("cookbooks/labels-for-chips/recipe.toml:"),
            "{e}"
        );
        assert!(e.contains("data/nl_plots_epsg_28992.wkt"), "{e}");
        let e = run(
            &file,
            &text,
            r#"{"chip": "x"}"#,
            &MemoryFiles::default(),
            None,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(e.contains("params.chip: expected int"), "{e}");
    }
}
