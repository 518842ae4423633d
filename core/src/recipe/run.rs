//! The recipe runtime: runs validated steps in order over injected I/O, with progress and
//! cancellation, and returns every output as a value with its bytes and SHA-256.

use std::sync::atomic::{AtomicBool, Ordering};

use geo_types::{Coord, Geometry, MultiPolygon, Polygon};

use super::plot::{Colormap, ImagePanel, PlotKind, PlotSpec};
use super::schema::{Arg, Step, StepOp};
use super::table::{Cell, Table, npy_bytes};
use super::{Bindings, ParamValue, Recipe, RecipeError};
use crate::array::with_data;
use crate::cog::{ByteSource, Cog, MemorySource};
use crate::rasterize::{self, RasterizeOptions, Rasterizer, ReadOptions, Shape};
use crate::slice::{BatchGenerator, EdgePolicy, SlicePlan, SliceSpec};
use crate::stac::Item;
use crate::stack::{AssetError, CrsChoice, GridParams, GroupBy, LoadOptions, Stack, StackMode};
use crate::warp::Resampling;
use crate::{ArrayData, Crs, DType, GeoTransform, Grid, LabeledArray, sha256_hex};

/// Where a recipe's input files come from: a directory natively, `fetch` in a browser, a
/// map in tests. Paths are relative to the recipe's directory, use `/`, and have been
/// checked not to escape it.
pub trait FileSource {
    /// The whole file.
    fn read(&self, path: &str) -> Result<Vec<u8>, String>;

    /// The file as a byte-range source (what the COG reader of the `stack` step reads tiles
    /// from). The default reads the whole file into memory; sources with real range reads
    /// (local files, HTTP) override it.
    fn open(&self, path: &str) -> Result<Box<dyn ByteSource>, AssetError> {
        let bytes = self.read(path).map_err(AssetError::not_found)?;
        Ok(Box::new(MemorySource::new(path, bytes)))
    }

    /// The same files as an owned [`ObjectSource`](crate::zarr::ObjectSource), which the
    /// `read_zarr` step reads a Zarr store through (zarrs keeps its store inside the array
    /// it opens, so a borrowed source will not do). Its `open` must answer
    /// [`AssetErrorKind::NotFound`](crate::stack::AssetErrorKind::NotFound) for a missing
    /// object (a missing chunk is the fill value) and read ranges for real (local files,
    /// HTTP `Range`). `None` (the default): the step fails, saying so.
    #[cfg(feature = "zarr")]
    fn objects(&self) -> Option<std::sync::Arc<dyn crate::zarr::ObjectSource>> {
        None
    }
}

/// Files held in memory: `(path, bytes)` pairs.
///
/// ```
/// use geochip::recipe::{FileSource, MemoryFiles};
/// let files = MemoryFiles(vec![("a.wkt".into(), b"POINT (1 2)".to_vec())]);
/// assert_eq!(files.read("a.wkt").unwrap(), b"POINT (1 2)");
/// assert!(files.read("b.wkt").is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryFiles(pub Vec<(String, Vec<u8>)>);

impl FileSource for MemoryFiles {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        self.0
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .ok_or_else(|| format!("{path}: no such file"))
    }

    #[cfg(feature = "zarr")]
    fn objects(&self) -> Option<std::sync::Arc<dyn crate::zarr::ObjectSource>> {
        Some(std::sync::Arc::new(self.clone()))
    }
}

#[cfg(feature = "zarr")]
impl crate::zarr::ObjectSource for MemoryFiles {
    fn open(&self, path: &str) -> Result<Box<dyn ByteSource>, AssetError> {
        FileSource::open(self, path)
    }
}

/// Draws a [`PlotSpec`] as SVG text. Must return the same bytes for the same spec on every
/// target (no text measuring, no platform-dependent number formatting).
pub trait PlotRenderer {
    /// The SVG document.
    fn render(&self, spec: &PlotSpec) -> Result<String, String>;
}

/// A clock for steps that time something (`time_reads`); the core has none of its own.
/// Natively `Instant`, in a browser `performance.now()`.
pub trait Clock {
    /// Milliseconds since an arbitrary origin.
    fn now_ms(&self) -> f64;
}

/// Where a run is, reported before each step and once at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Steps finished.
    pub done: usize,
    /// Steps in the recipe.
    pub total: usize,
    /// The step about to run (empty at the end).
    pub step: String,
    /// Its op name (empty at the end).
    pub op: &'static str,
}

/// A failed run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The cancellation flag was set; nothing after `step` ran.
    #[error("cancelled before step `{step}`")]
    Cancelled {
        /// The step that did not run.
        step: String,
    },
    /// A step failed on its data.
    #[error("{file}:{line}: step `{step}` ({op}): {message}")]
    Step {
        /// The recipe file.
        file: String,
        /// The step's line.
        line: usize,
        /// The step id.
        step: String,
        /// Its op.
        op: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The parameter values do not fit the recipe.
    #[error(transparent)]
    Recipe(#[from] RecipeError),
}

/// The value behind an output.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OutputValue {
    /// An array (written as `.npy`).
    Array(LabeledArray),
    /// A plot: its spec and the renderer's SVG.
    Svg {
        /// What was drawn.
        spec: PlotSpec,
        /// The SVG text.
        svg: String,
    },
    /// A table (written as CSV).
    Table(Table),
    /// JSON text (a grid).
    Json(String),
    /// A file of a store (a Zarr key's bytes).
    File(Vec<u8>),
}

/// One output of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Its file name, relative to the output directory (`chips/image.npy`, `pairs.svg`).
    pub name: String,
    /// The step that made it.
    pub step: String,
    /// The value.
    pub value: OutputValue,
    /// The file's bytes (`.npy`, SVG, CSV or JSON).
    pub bytes: Vec<u8>,
    /// Lower-case hex SHA-256 of `bytes`.
    pub sha256: String,
    /// False for outputs that hold timings (and plots of them): they differ from run to run,
    /// are never recorded in `[expected]` and are skipped by [`check_outputs`].
    pub checked: bool,
}

impl Output {
    fn new(name: String, step: &str, value: OutputValue) -> Output {
        let bytes = match &value {
            OutputValue::Array(a) => npy_bytes(a),
            OutputValue::Svg { svg, .. } => svg.clone().into_bytes(),
            OutputValue::Table(t) => t.to_csv().into_bytes(),
            OutputValue::Json(j) => j.clone().into_bytes(),
            OutputValue::File(b) => b.clone(),
        };
        Output {
            name,
            step: step.to_owned(),
            sha256: sha256_hex(&bytes),
            value,
            bytes,
            checked: true,
        }
    }

    /// `array`, `svg`, `table` or `json`.
    pub fn kind(&self) -> &'static str {
        match self.value {
            OutputValue::Array(_) => "array",
            OutputValue::Svg { .. } => "svg",
            OutputValue::Table(_) => "table",
            OutputValue::Json(_) => "json",
            OutputValue::File(_) => "file",
        }
    }
}

/// Everything a run returned, in step order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunOutputs {
    /// The outputs.
    pub outputs: Vec<Output>,
}

/// Compares outputs with the recipe's `[expected]` checksums; returns one line per
/// problem (an output that differs, is missing, or has no recorded checksum).
pub fn check_outputs(recipe: &Recipe, outputs: &RunOutputs) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, sum, line) in &recipe.expected {
        match outputs.outputs.iter().find(|o| &o.name == name) {
            None => problems.push(format!(
                "{}:{line}: expected output `{name}` was not produced",
                recipe.file
            )),
            Some(o) if !o.checked => problems.push(format!(
                "{}:{line}: `{name}` holds timings, which differ from run to run: \
                 remove it from [expected]",
                recipe.file
            )),
            Some(o) if &o.sha256 != sum => problems.push(format!(
                "{}:{line}: `{name}`: sha256 {} differs from the recorded {sum}",
                recipe.file, o.sha256
            )),
            Some(_) => {}
        }
    }
    for o in &outputs.outputs {
        if o.checked && !recipe.expected.iter().any(|(n, _, _)| n == &o.name) {
            problems.push(format!(
                "{}: output `{}` has no recorded checksum in [expected] (sha256 {})",
                recipe.file, o.name, o.sha256
            ));
        }
    }
    problems
}

impl Value {
    /// The array of an array or a cube.
    fn as_array(&self) -> Option<&LabeledArray> {
        match self {
            Value::Array(a) => Some(a),
            Value::Cube(s) => Some(&s.array),
            _ => None,
        }
    }
}

/// A value flowing between steps.
#[derive(Debug, Clone)]
enum Value {
    Shapes(Vec<Shape>, Option<Crs>),
    Grid(Grid),
    Array(LabeledArray),
    /// A stacked cube: its array with the time and band labels and coordinates.
    Cube(Box<crate::stack::Stack>),
    Chips(Vec<(String, LabeledArray)>),
    /// Items and the directory of their STAC file (asset hrefs are relative to it).
    Items(Vec<Item>, String),
    Table(Table),
    Plot(PlotSpec, String),
    /// `time_reads`: exact read counts, and timings.
    #[cfg_attr(not(feature = "zarr"), allow(dead_code))]
    Timed {
        counts: Table,
        timings: Table,
    },
    /// Files of a store: `(key, bytes)`, sorted by key.
    #[cfg_attr(not(feature = "zarr"), allow(dead_code))]
    Files(Vec<(String, Vec<u8>)>),
}

type ProgressFn<'a> = Box<dyn FnMut(&Progress) + 'a>;

/// One object of a store a `write` step made: its key and bytes.
#[cfg(feature = "zarr")]
type StoreFile = (String, Vec<u8>);

/// Runs recipes over injected I/O.
///
/// ```
/// use std::sync::atomic::AtomicBool;
/// use geochip::recipe::{MemoryFiles, OutputValue, Recipe, Runtime};
/// let recipe = Recipe::parse("r.toml", r#"
/// [recipe]
/// name = "r"
/// [[steps]]
/// id = "box"
/// op = "shapes"
/// path = "box.wkt"
/// [[steps]]
/// id = "grid"
/// op = "grid"
/// width = 4
/// height = 4
/// transform = [1.0, 0.0, 0.0, 0.0, -1.0, 4.0]
/// [[steps]]
/// id = "mask"
/// op = "rasterize"
/// shapes = "box"
/// grid = "grid"
/// output = "mask.npy"
/// "#)?;
/// let files = MemoryFiles(vec![("box.wkt".into(), b"POLYGON ((0 0, 2 0, 2 2, 0 2, 0 0))".to_vec())]);
/// let cancel = AtomicBool::new(false);
/// let mut seen = Vec::new();
/// let out = Runtime::new(&files)
///     .cancel_flag(&cancel)
///     .on_progress(|p| seen.push(p.done))
///     .run(&recipe, &recipe.bind(&[])?)?;
/// assert_eq!(out.outputs[0].name, "mask.npy");
/// let OutputValue::Array(mask) = &out.outputs[0].value else { panic!() };
/// assert_eq!(mask.sum_f64(), 4.0);
/// assert_eq!(seen, vec![0, 1, 2, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Runtime<'a> {
    files: &'a dyn FileSource,
    renderer: Option<&'a dyn PlotRenderer>,
    clock: Option<&'a dyn Clock>,
    cancel: Option<&'a AtomicBool>,
    progress: Option<ProgressFn<'a>>,
}

impl<'a> Runtime<'a> {
    /// A runtime reading inputs from `files`.
    pub fn new(files: &'a dyn FileSource) -> Self {
        Runtime {
            files,
            renderer: None,
            clock: None,
            cancel: None,
            progress: None,
        }
    }

    /// The renderer for `plot` steps (without one, a plot step fails).
    pub fn renderer(mut self, renderer: &'a dyn PlotRenderer) -> Self {
        self.renderer = Some(renderer);
        self
    }

    /// The clock of timing steps (without one, a `time_reads` step fails).
    pub fn clock(mut self, clock: &'a dyn Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// A flag checked before each step (and between chips); when set, the run stops with
    /// [`RunError::Cancelled`].
    pub fn cancel_flag(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Called before each step and once at the end.
    pub fn on_progress(mut self, f: impl FnMut(&Progress) + 'a) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// Runs the recipe with these parameter values.
    pub fn run(&mut self, recipe: &Recipe, bindings: &Bindings) -> Result<RunOutputs, RunError> {
        for step in &recipe.steps {
            super::schema::check_bound(recipe, step, bindings)?;
        }
        let n = recipe.steps.len();
        let mut values: Vec<Option<Value>> = vec![None; n];
        // Steps whose value depends on a timing: their outputs are not checksummed.
        let mut timed = vec![false; n];
        let mut out = RunOutputs::default();
        for (done, &i) in recipe.order.iter().enumerate() {
            let step = &recipe.steps[i];
            if let Some(p) = self.progress.as_mut() {
                p(&Progress {
                    done,
                    total: n,
                    step: step.id.clone(),
                    op: step.op.name(),
                });
            }
            if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(RunError::Cancelled {
                    step: step.id.clone(),
                });
            }
            let cx = StepCx {
                recipe,
                step,
                bindings,
                values: &values,
            };
            let value = self.step(&cx)?;
            timed[i] = step.op == StepOp::TimeReads
                || step.inputs().iter().any(|(_, id)| {
                    recipe
                        .steps
                        .iter()
                        .position(|s| s.id == *id)
                        .is_some_and(|j| timed[j])
                });
            if let Some(name) = &step.output {
                let first = out.outputs.len();
                cx.outputs(name, &value, &mut out)?;
                if timed[i] && step.op != StepOp::TimeReads {
                    out.outputs[first..]
                        .iter_mut()
                        .for_each(|o| o.checked = false);
                }
            }
            values[i] = Some(value);
        }
        if let Some(p) = self.progress.as_mut() {
            p(&Progress {
                done: n,
                total: n,
                step: String::new(),
                op: "",
            });
        }
        Ok(out)
    }

    fn step(&self, cx: &StepCx<'_>) -> Result<Value, RunError> {
        match cx.step.op {
            StepOp::Shapes => self.shapes(cx),
            StepOp::Grid => cx.grid(),
            StepOp::Rasterize => cx.rasterize(),
            StepOp::Slice => cx.slice(),
            StepOp::Stac => {
                let text = self.text(cx, "path")?;
                let items = crate::stac::parse_items(&text).map_err(|e| cx.fail(e))?;
                let path = cx.path("path")?;
                let dir = path.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
                Ok(Value::Items(items, dir))
            }
            StepOp::Stats => cx.stats(),
            StepOp::Checksum => cx.checksum(),
            StepOp::Plot => {
                let spec = cx.plot_spec()?;
                let Some(r) = self.renderer else {
                    return Err(cx.fail("no plot renderer was given to the runtime"));
                };
                let svg = r.render(&spec).map_err(|e| cx.fail(e))?;
                Ok(Value::Plot(spec, svg))
            }
            StepOp::Stack => self.stack(cx),
            StepOp::Assets => {
                let (_, v) = cx.one("items")?;
                let Value::Items(items, _) = v else {
                    return Err(cx.fail("items: not STAC items"));
                };
                super::cog_steps::assets_table(items)
                    .map(Value::Table)
                    .map_err(|e| cx.fail(e))
            }
            StepOp::CogLayout | StepOp::ReadPlan => self.cog_step(cx),
            StepOp::Raster => {
                let path = cx.path("path")?;
                let source = self
                    .files
                    .open(&path)
                    .map_err(|e| cx.fail(format!("path: {e}")))?;
                let cog = Cog::open(&*source).map_err(|e| cx.fail(e))?;
                let g = cog.grid();
                let window = crate::Window::new(0, 0, g.width, g.height);
                let array = cog
                    .read_window(&*source, 0, window, None)
                    .map_err(|e| cx.fail(e))?;
                Ok(Value::Array(array))
            }
            #[cfg(feature = "zarr")]
            StepOp::ReadZarr => {
                let path = cx.path("path")?;
                let Some(objects) = self.files.objects() else {
                    return Err(cx.fail(format!(
                        "path: {path}: this runtime's files cannot be read as a Zarr store"
                    )));
                };
                let name = objects.name_of(&path);
                let array = cx.string("array")?.unwrap_or_default();
                let window = cx.string("window")?;
                super::zarr_read::read(objects, name, &path, &array, window.as_deref())
                    .map(|(a, _)| Value::Array(a))
                    .map_err(|e| cx.fail(e))
            }
            #[cfg(not(feature = "zarr"))]
            op @ StepOp::ReadZarr => Err(cx.fail(format!(
                "{} is not available: {}",
                op.name(),
                op.not_available().unwrap_or("")
            ))),
            #[cfg(feature = "zarr")]
            StepOp::TimeReads => {
                let Some(clock) = self.clock else {
                    return Err(cx.fail("no clock was given to the runtime"));
                };
                cx.time_reads(clock)
            }
            #[cfg(not(feature = "zarr"))]
            op @ StepOp::TimeReads => Err(cx.fail(format!(
                "{} is not available: {}",
                op.name(),
                op.not_available().unwrap_or("")
            ))),
            #[cfg(feature = "zarr")]
            StepOp::Write => cx.write(),
            #[cfg(feature = "zarr")]
            StepOp::Read => cx.read(),
            #[cfg(feature = "zarr")]
            StepOp::Inventory => cx.inventory(),
            #[cfg(not(feature = "zarr"))]
            op @ (StepOp::Write | StepOp::Read | StepOp::Inventory) => Err(cx.fail(format!(
                "{} is not available: {}",
                op.name(),
                op.not_available().unwrap_or("")
            ))),
        }
    }

    fn text(&self, cx: &StepCx<'_>, key: &str) -> Result<String, RunError> {
        let path = cx.path(key)?;
        let bytes = self
            .files
            .read(&path)
            .map_err(|e| cx.fail(format!("{key}: {e}")))?;
        String::from_utf8(bytes).map_err(|_| cx.fail(format!("{path}: not UTF-8 text")))
    }

    fn stack(&self, cx: &StepCx<'_>) -> Result<Value, RunError> {
        let (_, v) = cx.one("items")?;
        let Value::Items(items, dir) = v else {
            return Err(cx.fail("items: not STAC items"));
        };
        let bad = |key: &str, e: crate::stack::StackError| cx.fail(format!("{key}: {e}"));
        let mut params = GridParams::default();
        if let Some(m) = cx.string("mode")? {
            params.mode = m.parse::<StackMode>().map_err(|e| bad("mode", e))?;
        }
        if let Some(b) = cx.string("bands")? {
            params.bands = Some(b.split(',').map(|s| s.trim().to_owned()).collect());
        }
        if let Some(c) = cx.string("crs")? {
            params.crs = Some(c.parse::<CrsChoice>().map_err(|e| bad("crs", e))?);
        }
        if let Some(r) = cx.float("resolution")? {
            params.resolution = Some((r, r));
        }
        params.groupby = match cx.string("groupby")?.as_deref() {
            Some("solar_day") => GroupBy::SolarDay,
            Some("id") => GroupBy::Id,
            _ => GroupBy::Time,
        };
        let opts = LoadOptions {
            resampling: match cx.string("resampling")?.as_deref() {
                Some("bilinear") => Resampling::Bilinear,
                Some("average") => Resampling::Average,
                _ => Resampling::Nearest,
            },
            dtype: match cx.string("dtype")? {
                Some(d) => Some(d.parse::<DType>().map_err(|e| cx.fail(e))?),
                None => None,
            },
            nodata: cx.float("nodata")?,
            ..LoadOptions::default()
        };
        let files = self.files;
        let mut reader =
            crate::stack::CogReader::new(|_item: &Item, href: &str| open_asset(files, dir, href));
        let cube = crate::stack::load(items, &params, &opts, &mut reader, &mut |_, _| {})
            .map_err(|e| cx.fail(e))?;
        Ok(Value::Cube(Box::new(cube)))
    }

    /// `cog_layout` and `read_plan`: one asset of the items (by `item` id and `asset` key,
    /// the first of each by default) opened as a COG through the [`FileSource`], every range
    /// request counted.
    fn cog_step(&self, cx: &StepCx<'_>) -> Result<Value, RunError> {
        use super::cog_steps as cs;
        let (_, v) = cx.one("items")?;
        let Value::Items(items, dir) = v else {
            return Err(cx.fail("items: not STAC items"));
        };
        let (item, asset) = (cx.string("item")?, cx.string("asset")?);
        let (_, _, href) =
            cs::pick(items, item.as_deref(), asset.as_deref()).map_err(|e| cx.fail(e))?;
        let source = open_asset(self.files, dir, &href).map_err(|e| cx.fail(e))?;
        let (cog, header) = cs::open_counted(&*source).map_err(|e| cx.fail(e))?;
        if cx.step.op == StepOp::CogLayout {
            return Ok(Value::Table(cs::layout_table(&cog)));
        }
        let window = (
            cx.usize("col", 0)?,
            cx.usize("row", 0)?,
            cx.usize("size", 1)?,
        );
        let gap = cx.usize("merge_gap", crate::cog::DEFAULT_MERGE_GAP as usize)? as u64;
        cs::read_plan_table(&*source, cog, header, window, gap)
            .map(Value::Table)
            .map_err(|e| cx.fail(e))
    }

    fn shapes(&self, cx: &StepCx<'_>) -> Result<Value, RunError> {
        let path = cx.path("path")?;
        let text = self.text(cx, "path")?;
        let format = match cx.string("format")? {
            Some(f) => f,
            None if path.ends_with(".wkt") => "wkt".into(),
            None if path.ends_with(".json") || path.ends_with(".geojson") => "geojson".into(),
            None => {
                return Err(cx.fail(format!(
                    "{path}: cannot tell the format from the extension; set format"
                )));
            }
        };
        let values = cx.string("values")?.unwrap_or_else(|| "index".into());
        let prop = cx.string("value_property")?;
        if (values == "property") != prop.is_some() {
            return Err(cx.fail("values = \"property\" goes with value_property"));
        }
        let opts = ReadOptions {
            value_property: prop,
            skip_invalid: false,
            ..ReadOptions::default()
        };
        let read = if format == "wkt" {
            rasterize::read_wkt(&text, &opts)
        } else {
            rasterize::read_geojson(&text, &opts)
        }
        .map_err(|e| cx.fail(format!("{path}: {e}")))?;
        let mut shapes = Vec::new();
        for s in read.shapes {
            let parts: Vec<Geometry<f64>> = match (cx.bool("explode")?.unwrap_or(true), s.geometry)
            {
                (true, Geometry::MultiPolygon(mp)) => mp.0.into_iter().map(Into::into).collect(),
                (_, g) => vec![g],
            };
            for g in parts {
                let value = match values.as_str() {
                    "index" => rasterize::BurnValue::Int(shapes.len() as i64 + 1),
                    "one" => rasterize::BurnValue::Int(1),
                    _ => s.value,
                };
                shapes.push(Shape::new(g, value));
            }
        }
        let crs = match cx.string("crs")? {
            Some(c) => Some(c.parse::<Crs>().map_err(|e| cx.fail(e))?),
            None => None,
        };
        Ok(Value::Shapes(shapes, crs))
    }
}

/// One step's view of the run.
struct StepCx<'r> {
    recipe: &'r Recipe,
    step: &'r Step,
    bindings: &'r Bindings,
    values: &'r [Option<Value>],
}

impl StepCx<'_> {
    fn fail(&self, message: impl std::fmt::Display) -> RunError {
        RunError::Step {
            file: self.recipe.file.clone(),
            line: self.step.line,
            step: self.step.id.clone(),
            op: self.step.op.name(),
            message: message.to_string(),
        }
    }

    /// A failure caused by one key: names the key's line and `steps[i].key`.
    fn fail_at(&self, key: &str, message: impl std::fmt::Display) -> RunError {
        RunError::Step {
            file: self.recipe.file.clone(),
            line: self.step.arg_line(key),
            step: self.step.id.clone(),
            op: self.step.op.name(),
            message: format!("{}: {message}", self.step.key(key)),
        }
    }

    fn scalar(&self, key: &str) -> Option<ParamValue> {
        match self.step.arg(key)? {
            Arg::Value(v) => Some(v.clone()),
            Arg::Param(p) => self.bindings.get(p).cloned(),
            _ => None,
        }
    }

    fn string(&self, key: &str) -> Result<Option<String>, RunError> {
        match self.scalar(key) {
            None => Ok(None),
            Some(ParamValue::Str(s)) => Ok(Some(s)),
            Some(v) => Err(self.fail(format!("{key}: {v} is not a string"))),
        }
    }

    fn int(&self, key: &str) -> Result<Option<i64>, RunError> {
        match self.scalar(key) {
            None => Ok(None),
            Some(ParamValue::Int(i)) => Ok(Some(i)),
            Some(v) => Err(self.fail(format!("{key}: {v} is not an integer"))),
        }
    }

    fn usize(&self, key: &str, default: usize) -> Result<usize, RunError> {
        match self.int(key)? {
            None => Ok(default),
            Some(i) => usize::try_from(i).map_err(|_| self.fail(format!("{key}: {i} < 0"))),
        }
    }

    fn float(&self, key: &str) -> Result<Option<f64>, RunError> {
        match self.scalar(key) {
            None => Ok(None),
            Some(ParamValue::Float(x)) => Ok(Some(x)),
            Some(ParamValue::Int(i)) => Ok(Some(i as f64)),
            Some(v) => Err(self.fail(format!("{key}: {v} is not a number"))),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, RunError> {
        match self.scalar(key) {
            None => Ok(None),
            Some(ParamValue::Bool(b)) => Ok(Some(b)),
            Some(v) => Err(self.fail(format!("{key}: {v} is not a boolean"))),
        }
    }

    fn path(&self, key: &str) -> Result<String, RunError> {
        match self.step.arg(key) {
            Some(Arg::Path(p)) => Ok(p.clone()),
            _ => Err(self.fail(format!("{key}: missing path"))),
        }
    }

    fn refs(&self, key: &str) -> Vec<(&str, &Value)> {
        let ids: Vec<&str> = match self.step.arg(key) {
            Some(Arg::Ref(r)) => vec![r.as_str()],
            Some(Arg::Refs(rs)) => rs.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        };
        ids.into_iter()
            .filter_map(|id| {
                let i = self.recipe.steps.iter().position(|s| s.id == id)?;
                Some((id, self.values[i].as_ref()?))
            })
            .collect()
    }

    fn one(&self, key: &str) -> Result<(&str, &Value), RunError> {
        self.refs(key)
            .into_iter()
            .next()
            .ok_or_else(|| self.fail(format!("{key}: input has no value")))
    }

    fn outputs(&self, name: &str, value: &Value, out: &mut RunOutputs) -> Result<(), RunError> {
        let id = &self.step.id;
        let push = |out: &mut RunOutputs, n: String, v| out.outputs.push(Output::new(n, id, v));
        match value {
            Value::Array(a) => push(out, name.to_owned(), OutputValue::Array(a.clone())),
            Value::Cube(c) => push(out, name.to_owned(), OutputValue::Array(c.array.clone())),
            Value::Chips(arrays) => {
                for (n, a) in arrays {
                    push(
                        out,
                        format!("{name}/{n}.npy"),
                        OutputValue::Array(a.clone()),
                    );
                }
            }
            Value::Table(t) => push(out, name.to_owned(), OutputValue::Table(t.clone())),
            Value::Plot(spec, svg) => push(
                out,
                name.to_owned(),
                OutputValue::Svg {
                    spec: spec.clone(),
                    svg: svg.clone(),
                },
            ),
            Value::Grid(g) => {
                let text = serde_json::to_string_pretty(&g.to_json())
                    .map_err(|e| self.fail(format!("grid JSON: {e}")))?;
                push(out, name.to_owned(), OutputValue::Json(text + "\n"));
            }
            Value::Items(items, _) => {
                let rows = items
                    .iter()
                    .map(|it| {
                        vec![
                            Cell::Text(it.id.clone()),
                            Cell::Text(it.nominal_datetime().unwrap_or("").to_owned()),
                            Cell::Text(it.asset_keys().join(" ")),
                        ]
                    })
                    .collect();
                let t = Table {
                    columns: vec!["id".into(), "datetime".into(), "assets".into()],
                    rows,
                };
                push(out, name.to_owned(), OutputValue::Table(t));
            }
            Value::Timed { counts, timings } => {
                let stem = name.strip_suffix(".csv").unwrap_or(name);
                push(
                    out,
                    format!("{stem}.csv"),
                    OutputValue::Table(counts.clone()),
                );
                push(
                    out,
                    format!("{stem}-timings.csv"),
                    OutputValue::Table(timings.clone()),
                );
                if let Some(o) = out.outputs.last_mut() {
                    o.checked = false;
                }
            }
            Value::Files(files) => {
                for (key, bytes) in files {
                    push(
                        out,
                        format!("{name}/{key}"),
                        OutputValue::File(bytes.clone()),
                    );
                }
            }
            Value::Shapes(shapes, _) => {
                let rows = shapes
                    .iter()
                    .enumerate()
                    .map(|(i, s)| vec![Cell::Int(i as i64), Cell::Float(s.value.as_f64())])
                    .collect();
                let t = Table {
                    columns: vec!["shape".into(), "value".into()],
                    rows,
                };
                push(out, name.to_owned(), OutputValue::Table(t));
            }
        }
        Ok(())
    }

    fn grid(&self) -> Result<Value, RunError> {
        let mut crs = match self.string("crs")? {
            Some(c) => Some(c.parse::<Crs>().map_err(|e| self.fail(e))?),
            None => None,
        };
        let grid = if let Some(Arg::Floats(t)) = self.step.arg("transform") {
            let w = self.usize("width", 0)?;
            let h = self.usize("height", 0)?;
            let tr = GeoTransform::from_affine([t[0], t[1], t[2], t[3], t[4], t[5]]);
            Grid::new(tr, w, h, crs)
        } else {
            let (_, v) = self.one("shapes")?;
            let Value::Shapes(shapes, shapes_crs) = v else {
                return Err(self.fail("shapes: not shapes"));
            };
            if crs.is_none() {
                crs = shapes_crs.clone();
            }
            let r = self.float("resolution")?.unwrap_or(1.0);
            let Some([minx, miny, maxx, maxy]) = bounds(shapes) else {
                return Err(self.fail("shapes: no coordinates to take bounds of"));
            };
            // Snap the bounds outwards to multiples of the resolution (like GDAL's -tap).
            let x0 = (minx / r).floor() * r;
            let y1 = (maxy / r).ceil() * r;
            let w = ((maxx - x0) / r).ceil().max(1.0);
            let h = ((y1 - miny) / r).ceil().max(1.0);
            if w * h > 1e9 {
                return Err(self.fail(format!(
                    "a {w}×{h} grid is too large; choose a coarser resolution"
                )));
            }
            Grid::new(
                GeoTransform::from_gdal([x0, r, 0.0, y1, 0.0, -r]),
                w as usize,
                h as usize,
                crs,
            )
        };
        grid.map(Value::Grid).map_err(|e| self.fail(e))
    }

    fn rasterize(&self) -> Result<Value, RunError> {
        let (_, sv) = self.one("shapes")?;
        let (_, gv) = self.one("grid")?;
        let (Value::Shapes(shapes, _), Value::Grid(grid)) = (sv, gv) else {
            return Err(self.fail("inputs are not shapes and a grid"));
        };
        let dtype = match self.string("dtype")? {
            Some(d) => Some(d.parse::<DType>().map_err(|e| self.fail(e))?),
            None => None,
        };
        let opts = RasterizeOptions {
            all_touched: self.bool("all_touched")?.unwrap_or(false),
            dtype,
            fill: rasterize::BurnValue::Float(self.float("fill")?.unwrap_or(0.0)),
            skip_invalid: false,
            ..RasterizeOptions::default()
        };
        let r = Rasterizer::new(shapes, grid, &opts).map_err(|e| self.fail(e))?;
        let array = match self.string("mode")?.as_deref() {
            Some("coverage") => r.coverage(),
            _ => r.burn(),
        }
        .map_err(|e| self.fail(e))?;
        Ok(Value::Array(array))
    }

    fn slice(&self) -> Result<Value, RunError> {
        let inputs = self.refs("arrays");
        let size = self.usize("size", 1)?;
        let overlap = self.int("overlap")?.unwrap_or(0);
        let edge = match self.string("edge")?.as_deref() {
            Some("pad") => EdgePolicy::Pad(0.0),
            Some("shift-last-inside") => EdgePolicy::ShiftLastInside,
            _ => EdgePolicy::Drop,
        };
        let Some((first_id, Some(first))) = inputs.first().map(|(id, v)| (*id, v.as_array()))
        else {
            return Err(self.fail("arrays: the first input is not an array"));
        };
        let dims = first.dims().to_vec();
        if dims.len() < 2 {
            return Err(self.fail(format!("arrays: `{first_id}` has fewer than 2 dims")));
        }
        let (ydim, xdim) = (&dims[dims.len() - 2], &dims[dims.len() - 1]);
        let mut spec = SliceSpec::new(&[(ydim.as_str(), size), (xdim.as_str(), size)]).edge(edge);
        if overlap > 0 {
            spec = spec.input_overlap(&[(ydim.as_str(), overlap), (xdim.as_str(), overlap)]);
        }
        let plan = SlicePlan::for_array(first, &spec).map_err(|e| self.fail(e))?;
        let count = usize::try_from(plan.num_chips()).unwrap_or(usize::MAX);
        if count == 0 {
            return Err(self.fail(format!(
                "no {size}×{size} chip fits the {}×{} grid",
                first.shape()[dims.len() - 2],
                first.shape()[dims.len() - 1]
            )));
        }
        // All chips in one batch: a (batch, …, y, x) array per input, chip order = plan order.
        let spec = spec.batch_size(count, false);
        let mut out = Vec::new();
        for (id, v) in inputs {
            let Some(a) = v.as_array() else {
                return Err(self.fail(format!("arrays: `{id}` is not an array")));
            };
            if a.dims() != first.dims() || a.shape() != first.shape() || a.grid() != first.grid() {
                return Err(self.fail(format!(
                    "arrays: `{id}` ({:?} {:?}) is not on the same grid as `{first_id}` ({:?} {:?})",
                    a.dims(),
                    a.shape(),
                    first.dims(),
                    first.shape()
                )));
            }
            let chips = BatchGenerator::new(a, &spec)
                .and_then(|g| g.get(0))
                .map_err(|e| self.fail(e))?;
            out.push((id.to_owned(), chips.array));
        }
        Ok(Value::Chips(out))
    }

    fn arrays(&self, key: &str) -> Vec<(String, &LabeledArray)> {
        self.labeled_arrays(key)
            .into_iter()
            .map(|(n, a, _)| (n, a))
            .collect()
    }

    /// The arrays of `key`'s inputs, with the stack behind each stacked cube.
    fn labeled_arrays(&self, key: &str) -> Vec<(String, &LabeledArray, Option<&Stack>)> {
        let mut out = Vec::new();
        for (id, v) in self.refs(key) {
            match v {
                Value::Array(a) => out.push((id.to_owned(), a, None)),
                Value::Cube(c) => out.push((id.to_owned(), &c.array, Some(&**c))),
                Value::Chips(cs) => {
                    out.extend(cs.iter().map(|(n, a)| (format!("{id}/{n}"), a, None)));
                }
                _ => {}
            }
        }
        out
    }

    /// Writes the inputs into an in-memory Zarr v3 store (one array per input, named by the
    /// step id, or `id.name` for chips) and returns every key of the store.
    #[cfg(feature = "zarr")]
    fn write(&self) -> Result<Value, RunError> {
        use crate::zarr::{Compression, WriteOptions, ZarrStore, default_chunk_shape};
        use zarrs::storage::{ListableStorageTraits, ReadableStorageTraits};
        let store = ZarrStore::memory();
        store
            .create_group("/", serde_json::Map::new())
            .map_err(|e| self.fail(e))?;
        let chunk = self.int("chunk")?.map(|c| c as usize);
        let per_shard = self.int("shard_chunks")?.map(|c| c as usize);
        let compression = match self.string("compression")?.as_deref() {
            Some("gzip") => Compression::Gzip { level: 6 },
            _ => Compression::None,
        };
        let coords = self.bool("coords")?.unwrap_or(false);
        let mut with_coords: Option<String> = None;
        for (name, a, stack) in self.labeled_arrays("inputs") {
            let nd = a.ndim();
            // `chunk` sets the last two dims (y, x), capped at their size; the first dim (chip
            // or time) is chunked by 1 and the dims between are whole, so a chunk is one chip
            // or one time step. A shard holds `shard_chunks` × `shard_chunks` chunks in y and x
            // and the whole of the other dims.
            let chunk_shape: Vec<usize> = match chunk {
                Some(c) => (0..nd)
                    .map(|i| match i {
                        _ if i + 2 >= nd => c.min(a.shape()[i]).max(1),
                        0 => 1,
                        _ => a.shape()[i].max(1),
                    })
                    .collect(),
                None => default_chunk_shape(a.dims(), a.shape()),
            };
            let shard_shape = per_shard.map(|k| {
                (0..nd)
                    .map(|i| {
                        if i + 2 >= nd {
                            chunk_shape[i] * k
                        } else {
                            a.shape()[i].max(1)
                        }
                    })
                    .collect()
            });
            let opts = WriteOptions {
                chunk_shape: Some(chunk_shape),
                shard_shape,
                compression,
                ..WriteOptions::default()
            };
            let path = format!("/{}", name.replace('/', "."));
            // Shards are written with their inner chunks in C order (the Zarr layer asks
            // zarrs for it), so a store's bytes are the same on every run and target.
            let written = match stack {
                Some(stack) if coords => {
                    if let Some(first) = &with_coords {
                        return Err(self.fail_at(
                            "coords",
                            format!(
                                "`{first}` and `{name}` are both stacked cubes: one store holds \
                                 the time/y/x coordinates of one cube"
                            ),
                        ));
                    }
                    with_coords = Some(name.clone());
                    store.write_stack(&path, stack, &opts)
                }
                _ => store.write_array(&path, a, &opts),
            };
            written.map_err(|e| self.fail(e))?;
        }
        if coords && with_coords.is_none() {
            return Err(self.fail_at(
                "coords",
                "no input is a stacked cube (from a `stack` or `read` step) to write \
                 coordinates for",
            ));
        }
        let storage = store.storage();
        let mut keys = storage.list().map_err(|e| self.fail(e))?;
        keys.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        let mut files = Vec::new();
        for key in keys {
            let bytes = storage
                .get(&key)
                .map_err(|e| self.fail(e))?
                .ok_or_else(|| self.fail(format!("{}: listed but empty", key.as_str())))?;
            files.push((key.as_str().to_owned(), bytes.to_vec()));
        }
        Ok(Value::Files(files))
    }

    /// The store a `write` step made (key `store`): its files and its name (the step's output).
    #[cfg(feature = "zarr")]
    fn store_files(&self) -> Result<(String, &[StoreFile]), RunError> {
        let (id, v) = self.one("store")?;
        let Value::Files(files) = v else {
            return Err(self.fail_at("store", format!("`{id}` is not a Zarr store")));
        };
        let name = self
            .recipe
            .steps
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.output.clone())
            .unwrap_or_else(|| id.to_owned());
        Ok((name, files))
    }

    /// Reads array `array` back from the store of a `write` step, through the same Zarr
    /// layer a reader of the written files would use: a cube written with `coords = true`
    /// comes back with its time and band labels.
    #[cfg(feature = "zarr")]
    fn read(&self) -> Result<Value, RunError> {
        use crate::zarr::{MemoryStore, ZarrStore};
        use zarrs::storage::{StoreKey, WritableStorageTraits};
        let (name, files) = self.store_files()?;
        let memory = std::sync::Arc::new(MemoryStore::new());
        for (key, bytes) in files {
            let k = StoreKey::new(key.as_str()).map_err(|e| self.fail_at("store", e))?;
            memory
                .set(&k, bytes.clone().into())
                .map_err(|e| self.fail_at("store", e))?;
        }
        let store = ZarrStore::new(name, memory);
        let array = self.string("array")?.unwrap_or_default();
        let path = format!("/{}", array.trim_matches('/'));
        let meta = format!("{}/zarr.json", array.trim_matches('/'));
        if !files.iter().any(|(k, _)| *k == meta) {
            let arrays: Vec<&str> = files
                .iter()
                .filter_map(|(k, _)| k.strip_suffix("/zarr.json"))
                .collect();
            return Err(self.fail_at(
                "array",
                format!(
                    "{}: no array `{array}` (arrays in the store: {})",
                    store.name(),
                    arrays.join(", ")
                ),
            ));
        }
        let parent = array
            .trim_matches('/')
            .rsplit_once('/')
            .map_or(String::new(), |(p, _)| format!("{p}/"));
        let has_time = files
            .iter()
            .any(|(k, _)| *k == format!("{parent}time/zarr.json"));
        let has_band = store
            .open_array(&path)
            .map_err(|e| self.fail_at("array", e))?
            .attributes()
            .contains_key("band");
        if has_time && has_band {
            let stack = store
                .read_stack(&path)
                .map_err(|e| self.fail_at("array", e))?;
            return Ok(Value::Cube(Box::new(stack)));
        }
        let a = store
            .open_array(&path)
            .and_then(|a| a.read())
            .map_err(|e| self.fail_at("array", e))?;
        Ok(Value::Array(a))
    }

    /// The objects of a `write` step's store as a table: `key`, `kind` (`metadata`, `chunk`
    /// or `shard`), `bytes`, and `chunks` (inner chunks a shard holds, read from its index;
    /// 1 for a chunk, 0 for metadata). With `array`, only that array's objects.
    #[cfg(feature = "zarr")]
    fn inventory(&self) -> Result<Value, RunError> {
        let (name, files) = self.store_files()?;
        let only = self
            .string("array")?
            .map(|a| a.trim_matches('/').to_owned());
        if let Some(a) = &only
            && !files.iter().any(|(k, _)| *k == format!("{a}/zarr.json"))
        {
            return Err(self.fail_at("array", format!("{name}: no array `{a}`")));
        }
        let mut rows = Vec::new();
        for (key, bytes) in files {
            if let Some(a) = &only
                && !key.starts_with(&format!("{a}/"))
            {
                continue;
            }
            let (kind, chunks) = if key == "zarr.json" || key.ends_with("/zarr.json") {
                ("metadata", 0)
            } else {
                shard_chunks(files, key, bytes)
                    .map_err(|e| self.fail(format!("{name}: {key}: {e}")))?
            };
            rows.push(vec![
                Cell::Text(key.clone()),
                Cell::Text(kind.to_owned()),
                Cell::Int(bytes.len() as i64),
                Cell::Int(chunks as i64),
            ]);
        }
        Ok(Value::Table(Table {
            columns: ["key", "kind", "bytes", "chunks"]
                .iter()
                .map(|c| (*c).to_owned())
                .collect(),
            rows,
        }))
    }

    /// Stores the input in Zarr once per chunk size, reads the same seeded random windows
    /// from each, and reports exact counts (chunks touched, bytes fetched, read
    /// amplification) and the time the reads took.
    #[cfg(feature = "zarr")]
    fn time_reads(&self, clock: &dyn Clock) -> Result<Value, RunError> {
        use crate::zarr::{Compression, WriteOptions, ZarrStore};
        use std::collections::HashMap;
        use zarrs::storage::{ListableStorageTraits, ReadableStorageTraits};
        let (id, v) = self.one("input")?;
        let Some(a) = v.as_array() else {
            return Err(self.fail(format!("input: `{id}` is not an array")));
        };
        let nd = a.ndim();
        if nd < 2 {
            return Err(self.fail(format!("input: `{id}` has fewer than 2 dims")));
        }
        let (h, w) = (a.shape()[nd - 2], a.shape()[nd - 1]);
        let win = self.usize("window", 1)?;
        if win > h || win > w {
            return Err(self.fail(format!("window: {win} does not fit the {h}×{w} array")));
        }
        let reads = self.usize("reads", 100)?;
        let seed = self.int("seed")?.unwrap_or(0) as u64;
        let compression = match self.string("compression")?.as_deref() {
            Some("gzip") => Compression::Gzip { level: 6 },
            _ => Compression::None,
        };
        let mut sizes = Vec::new();
        for part in self.string("chunks")?.unwrap_or_default().split(',') {
            let c: usize = part
                .trim()
                .parse()
                .map_err(|_| self.fail(format!("chunks: `{}` is not a chunk size", part.trim())))?;
            if c == 0 {
                return Err(self.fail("chunks: 0 is not a chunk size"));
            }
            sizes.push(c);
        }
        // The windows: the same seeded positions for every chunk size.
        let mut rng = crate::slice::rng::SplitMix64::new(seed);
        let starts: Vec<(usize, usize)> = (0..reads)
            .map(|_| {
                let y = rng.below((h - win + 1) as u64) as usize;
                let x = rng.below((w - win + 1) as u64) as usize;
                (y, x)
            })
            .collect();
        let lead: Vec<usize> = a.shape()[..nd - 2].to_vec();
        let lead_n: usize = lead.iter().product();
        let wanted = (lead_n * win * win * a.dtype().size() * reads) as f64;
        let cell = |s: &str| Cell::Text(s.to_owned());
        let (mut counts, mut timings) = (Vec::new(), Vec::new());
        for &c in &sizes {
            let chunk: Vec<usize> = (0..nd)
                .map(|i| if i + 2 >= nd { c.min(a.shape()[i]) } else { 1 })
                .collect();
            let store = ZarrStore::memory();
            let opts = WriteOptions {
                chunk_shape: Some(chunk.clone()),
                compression,
                ..WriteOptions::default()
            };
            store
                .write_array("/a", a, &opts)
                .map_err(|e| self.fail(e))?;
            let storage = store.storage();
            let mut sizes_by_key = HashMap::new();
            for key in storage.list().map_err(|e| self.fail(e))? {
                let n = storage
                    .get(&key)
                    .map_err(|e| self.fail(e))?
                    .map_or(0, |b| b.len());
                sizes_by_key.insert(key.as_str().to_owned(), n);
            }
            let arr = store.open_array("/a").map_err(|e| self.fail(e))?;
            let objects = sizes_by_key.keys().filter(|k| k.contains("/c/")).count();
            let stored: usize = sizes_by_key
                .iter()
                .filter(|(k, _)| k.contains("/c/"))
                .map(|(_, n)| n)
                .sum();
            // Exact counts from the chunk grid: the chunks each window touches, and their
            // stored sizes (what a reader of this store fetches).
            let (mut touched, mut fetched) = (0usize, 0usize);
            let (cy, cx) = (chunk[nd - 2], chunk[nd - 1]);
            for &(y, x) in &starts {
                for ly in 0..lead_n {
                    let mut idx = Vec::with_capacity(nd);
                    let mut rest = ly;
                    for d in lead.iter().rev() {
                        idx.push((rest % d) as u64);
                        rest /= d;
                    }
                    idx.reverse();
                    for ky in y / cy..=(y + win - 1) / cy {
                        for kx in x / cx..=(x + win - 1) / cx {
                            let mut k = idx.clone();
                            k.extend([ky as u64, kx as u64]);
                            touched += 1;
                            fetched += sizes_by_key
                                .get(arr.chunk_key(&k).trim_start_matches('/'))
                                .copied()
                                .unwrap_or(0);
                        }
                    }
                }
            }
            let mut window_shape = lead.clone();
            window_shape.extend([win, win]);
            let t0 = clock.now_ms();
            for &(y, x) in &starts {
                let mut start = vec![0; nd - 2];
                start.extend([y, x]);
                arr.read_window(&start, &window_shape)
                    .map_err(|e| self.fail(e))?;
            }
            let ms = clock.now_ms() - t0;
            let label = format!("{c}×{c}");
            counts.push(vec![
                cell(&label),
                Cell::Text(shape_text(&chunk)),
                Cell::Int(objects as i64),
                Cell::Int(stored as i64),
                Cell::Float(touched as f64 / reads as f64),
                Cell::Int(fetched as i64),
                Cell::Float(fetched as f64 / wanted),
            ]);
            timings.push(vec![
                cell(&label),
                Cell::Float(ms),
                Cell::Float(ms / reads as f64),
                Cell::Float(if ms > 0.0 {
                    wanted / 1e3 / ms
                } else {
                    f64::NAN
                }),
            ]);
        }
        let cols = |c: &[&str]| c.iter().map(|s| (*s).to_owned()).collect();
        Ok(Value::Timed {
            counts: Table {
                columns: cols(&[
                    "chunk",
                    "chunk_shape",
                    "objects",
                    "stored_bytes",
                    "chunks_per_read",
                    "bytes_fetched",
                    "read_amplification",
                ]),
                rows: counts,
            },
            timings: Table {
                columns: cols(&["chunk", "total_ms", "ms_per_read", "mb_per_s"]),
                rows: timings,
            },
        })
    }

    /// One row per array, or with `per = "plane"` one per 2-D plane (each index of the dims
    /// before `y`, `x`), named by its labels (a stacked cube's times and band names).
    fn stats(&self) -> Result<Value, RunError> {
        let columns = [
            "name", "dtype", "shape", "values", "nan", "min", "max", "mean", "nonzero",
        ];
        let per_plane = self.string("per")?.as_deref() == Some("plane");
        let mut rows = Vec::new();
        for (name, a, stack) in self.labeled_arrays("inputs") {
            let v = as_f64(a);
            let dtype = a.dtype().name();
            let nd = a.ndim();
            if !per_plane || nd <= 2 {
                rows.push(stats_row(name, dtype, a.shape(), &v));
                continue;
            }
            let plane = &a.shape()[nd - 2..];
            let per: usize = plane.iter().product();
            for (k, values) in v.chunks(per.max(1)).enumerate() {
                let label = plane_label(a, stack, &unravel(k, &a.shape()[..nd - 2]));
                rows.push(stats_row(format!("{name} {label}"), dtype, plane, values));
            }
        }
        Ok(Value::Table(Table {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows,
        }))
    }

    fn checksum(&self) -> Result<Value, RunError> {
        let rows = self
            .arrays("inputs")
            .into_iter()
            .map(|(name, a)| {
                vec![
                    Cell::Text(name),
                    Cell::Text(a.dtype().name().into()),
                    Cell::Text(shape_text(a.shape())),
                    Cell::Text(a.sha256()),
                ]
            })
            .collect();
        Ok(Value::Table(Table {
            columns: vec![
                "name".into(),
                "dtype".into(),
                "shape".into(),
                "sha256".into(),
            ],
            rows,
        }))
    }

    fn plot_spec(&self) -> Result<PlotSpec, RunError> {
        let kind = self.string("kind")?.unwrap_or_default();
        let title = self
            .string("title")?
            .unwrap_or_else(|| self.step.id.clone());
        let (input_id, input) = self.one("input")?;
        let kind = match (kind.as_str(), input) {
            ("image", Value::Array(_) | Value::Cube(_)) => self.image(input_id, input)?,
            ("chip_pairs", Value::Chips(arrays)) => self.chip_pairs(arrays)?,
            ("histogram", Value::Array(_) | Value::Cube(_) | Value::Chips(_)) => {
                let mut values = Vec::new();
                let skip_zero = self.bool("skip_zero")?.unwrap_or(false);
                let arrays: Vec<&LabeledArray> = match input {
                    Value::Array(a) => vec![a],
                    Value::Cube(c) => vec![&c.array],
                    Value::Chips(cs) => cs.iter().take(1).map(|(_, a)| a).collect(),
                    _ => Vec::new(),
                };
                for a in arrays {
                    values.extend(
                        as_f64(a)
                            .into_iter()
                            .filter(|x| x.is_finite() && !(skip_zero && *x == 0.0)),
                    );
                }
                let (edges, counts) = histogram(&values, self.usize("bins", 20)?);
                PlotKind::Histogram {
                    x_label: self.string("x_label")?.unwrap_or_else(|| input_id.into()),
                    edges,
                    counts,
                }
            }
            ("bars", Value::Table(t) | Value::Timed { timings: t, .. }) => {
                let col = |key: &str| -> Result<usize, RunError> {
                    let name = self
                        .string(key)?
                        .ok_or_else(|| self.fail(format!("{key}: required for bars")))?;
                    t.column(&name).ok_or_else(|| {
                        self.fail(format!("{key}: table `{input_id}` has no column `{name}`"))
                    })
                };
                let (lc, vc) = (col("label_column")?, col("value_column")?);
                let mut labels = Vec::new();
                let mut values = Vec::new();
                for row in &t.rows {
                    labels.push(match &row[lc] {
                        Cell::Text(s) => s.clone(),
                        c => c.as_f64().map_or(String::new(), |x| format!("{x}")),
                    });
                    values.push(row[vc].as_f64().ok_or_else(|| {
                        self.fail(format!(
                            "value_column: a cell of `{input_id}` is not a number"
                        ))
                    })?);
                }
                PlotKind::Bars {
                    y_label: self.string("y_label")?.unwrap_or_default(),
                    labels,
                    values,
                }
            }
            (k, _) => return Err(self.fail(format!("kind {k}: input `{input_id}` does not fit"))),
        };
        Ok(PlotSpec { title, kind })
    }

    /// An image plot of an array: its first plane, or the plane at `time`/`band` (indexes
    /// along the dims of those names), or with `across` one panel per index of that dim, on
    /// one shared value range so the panels compare.
    fn image(&self, input_id: &str, input: &Value) -> Result<PlotKind, RunError> {
        let Some(a) = input.as_array() else {
            return Err(self.fail_at("input", format!("`{input_id}` is not an array")));
        };
        let stack = match input {
            Value::Cube(c) => Some(&**c),
            _ => None,
        };
        let colormap = match self.string("colormap")?.as_deref() {
            Some("labels") => Colormap::Labels,
            _ => Colormap::Gray,
        };
        let across = self.string("across")?;
        let chosen =
            ["time", "band"].iter().any(|k| self.step.arg(k).is_some()) || across.is_some();
        if !chosen {
            // The first plane, titled by the input (what plots without a selection draw).
            let p = panel(input_id.to_owned(), a, 0, colormap, None).map_err(|e| self.fail(e))?;
            return Ok(PlotKind::Images {
                columns: 1,
                panels: vec![p],
            });
        }
        let nd = a.ndim();
        if nd < 3 {
            return Err(self.fail_at(
                "input",
                format!("`{input_id}` has {nd} dims: no plane to choose"),
            ));
        }
        let lead = &a.shape()[..nd - 2];
        let axis_of = |key: &str, dim: &str| {
            a.dims()[..nd - 2]
                .iter()
                .position(|d| d == dim)
                .ok_or_else(|| {
                    self.fail_at(
                        key,
                        format!(
                            "`{input_id}` has no `{dim}` dim before y, x (dims {:?})",
                            a.dims()
                        ),
                    )
                })
        };
        let mut index = vec![0usize; nd - 2];
        let mut shown = Vec::new();
        for key in ["time", "band"] {
            if let Some(i) = self.int(key)? {
                let axis = axis_of(key, key)?;
                let i = usize::try_from(i).unwrap_or(usize::MAX);
                if i >= lead[axis] {
                    return Err(self.fail_at(
                        key,
                        format!(
                            "index {i} is out of range: `{input_id}` has {} {key} entries (0 ..= {})",
                            lead[axis],
                            lead[axis] - 1
                        ),
                    ));
                }
                index[axis] = i;
                shown.push(axis);
            }
        }
        let across_axis = match &across {
            Some(d) => {
                let axis = axis_of("across", d)?;
                shown.push(axis);
                Some(axis)
            }
            None => None,
        };
        // Panels are titled by the dim they run across, or by the chosen plane.
        if let Some(ax) = across_axis {
            shown = vec![ax];
        }
        shown.sort_unstable();
        shown.dedup();
        let count = across_axis.map_or(1, |ax| lead[ax]);
        let per = a.shape()[nd - 2] * a.shape()[nd - 1];
        let mut panels = Vec::new();
        for k in 0..count {
            let mut idx = index.clone();
            if let Some(ax) = across_axis {
                idx[ax] = k;
            }
            let plane = idx.iter().zip(lead).fold(0, |acc, (i, n)| acc * n + i);
            let title = shown
                .iter()
                .map(|&ax| coord_label(stack, &a.dims()[ax], idx[ax], true))
                .collect::<Vec<_>>()
                .join(" ");
            panels.push(panel(title, a, plane * per, colormap, None).map_err(|e| self.fail(e))?);
        }
        // One value range for every panel, so equal values look equal across panels.
        let (lo, hi) = panels
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
                (l.min(p.range.0), h.max(p.range.1))
            });
        if lo <= hi {
            panels.iter_mut().for_each(|p| p.range = (lo, hi));
        }
        // One column: a large panel's caption (its title and drawing scale) is wider than the
        // panel, and the renderer widens cells to fit it, so panels side by side would make a
        // plot wider than the page.
        Ok(PlotKind::Images { columns: 1, panels })
    }

    /// The `count` chips with the most non-zero pixels in the last array (ties: lower chip
    /// first), shown in chip order, each as one panel per array: the first in grey, the
    /// others as labels.
    fn chip_pairs(&self, arrays: &[(String, LabeledArray)]) -> Result<PlotKind, RunError> {
        let count = self.usize("count", 4)?;
        let Some((_, last)) = arrays.last() else {
            return Err(self.fail("input: no chips"));
        };
        let chips = last.shape()[0];
        let per = last.len() / chips.max(1);
        let lv = as_f64(last);
        let mut score: Vec<(usize, usize)> = (0..chips)
            .map(|c| {
                let nz = lv[c * per..(c + 1) * per]
                    .iter()
                    .filter(|&&x| x != 0.0 && !x.is_nan())
                    .count();
                (nz, c)
            })
            .collect();
        score.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut picked: Vec<usize> = score.iter().take(count).map(|s| s.1).collect();
        picked.sort_unstable();
        let first_range = range_of(&as_f64(&arrays[0].1));
        let mut panels = Vec::new();
        for &c in &picked {
            for (k, (name, a)) in arrays.iter().enumerate() {
                let cm = if k == 0 {
                    Colormap::Gray
                } else {
                    Colormap::Labels
                };
                let range = if k == 0 { Some(first_range) } else { None };
                // A chip's first image plane (first time and band of a stacked cube).
                let offset = c * (a.len() / chips.max(1));
                panels.push(
                    panel(format!("{name} #{c}"), a, offset, cm, range)
                        .map_err(|e| self.fail(e))?,
                );
            }
        }
        let columns = arrays.len() * if picked.len() > 2 { 2 } else { 1 };
        Ok(PlotKind::Images { columns, panels })
    }
}

/// What a data object of a store is — a `shard` or a `chunk` — and how many chunks it holds:
/// a shard's count comes from its index (entries of `u64::MAX` are chunks never written,
/// all fill value); the array's `zarr.json` says whether it is sharded.
#[cfg(feature = "zarr")]
fn shard_chunks(
    files: &[(String, Vec<u8>)],
    key: &str,
    bytes: &[u8],
) -> Result<(&'static str, usize), String> {
    // The array's prefix: the key up to its chunk-key part `c/i/j/…`.
    let parts: Vec<&str> = key.split('/').collect();
    let Some(c) = parts.iter().rposition(|p| *p == "c") else {
        return Ok(("other", 0));
    };
    let meta_key = if c == 0 {
        "zarr.json".to_owned()
    } else {
        format!("{}/zarr.json", parts[..c].join("/"))
    };
    let Some((_, meta)) = files.iter().find(|(k, _)| *k == meta_key) else {
        return Err(format!("no {meta_key} for it"));
    };
    let meta: serde_json::Value =
        serde_json::from_slice(meta).map_err(|e| format!("{meta_key}: {e}"))?;
    let sharding = &meta["codecs"][0];
    if sharding["name"] != "sharding_indexed" {
        return Ok(("chunk", 1));
    }
    let dims = |v: &serde_json::Value| -> Option<Vec<u64>> {
        v.as_array()?
            .iter()
            .map(serde_json::Value::as_u64)
            .collect()
    };
    let (Some(shard), Some(inner)) = (
        dims(&meta["chunk_grid"]["configuration"]["chunk_shape"]),
        dims(&sharding["configuration"]["chunk_shape"]),
    ) else {
        return Err(format!("{meta_key}: no shard or chunk shape"));
    };
    let n: u64 = shard
        .iter()
        .zip(&inner)
        .map(|(s, c)| s / (*c).max(1))
        .product();
    let conf = &sharding["configuration"];
    let crc = conf["index_codecs"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["name"] == "crc32c"));
    let index_len = usize::try_from(n * 16).map_err(|e| e.to_string())? + if crc { 4 } else { 0 };
    if bytes.len() < index_len {
        return Err(format!(
            "a shard of {} bytes is shorter than its index of {index_len}",
            bytes.len()
        ));
    }
    let index = if conf["index_location"] == "start" {
        &bytes[..index_len]
    } else {
        &bytes[bytes.len() - index_len..]
    };
    let stored = index[..index_len - if crc { 4 } else { 0 }]
        .chunks_exact(16)
        .filter(|e| e[..8] != [0xff; 8])
        .count();
    Ok(("shard", stored))
}

fn shape_text(shape: &[usize]) -> String {
    shape
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("x")
}

/// A `stats` row: count, NaNs, min, max, mean and non-zero count of `v`.
fn stats_row(name: String, dtype: &str, shape: &[usize], v: &[f64]) -> Vec<Cell> {
    let finite: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    let (mut lo, mut hi, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
    for &x in &finite {
        lo = lo.min(x);
        hi = hi.max(x);
        sum += x;
    }
    let n = finite.len();
    let nz = finite.iter().filter(|&&x| x != 0.0).count();
    vec![
        Cell::Text(name),
        Cell::Text(dtype.into()),
        Cell::Text(shape_text(shape)),
        Cell::Int(n as i64),
        Cell::Int((v.len() - n) as i64),
        Cell::Float(if n == 0 { f64::NAN } else { lo }),
        Cell::Float(if n == 0 { f64::NAN } else { hi }),
        Cell::Float(if n == 0 { f64::NAN } else { sum / n as f64 }),
        Cell::Int(nz as i64),
    ]
}

/// The C-order multi-index of plane `k` over the leading dims `lead`.
fn unravel(mut k: usize, lead: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; lead.len()];
    for (i, n) in lead.iter().enumerate().rev() {
        idx[i] = k % (*n).max(1);
        k /= (*n).max(1);
    }
    idx
}

/// One coordinate label: a cube's time (to the second, its date alone when `short`) or band
/// name, else the index.
fn coord_label(stack: Option<&Stack>, dim: &str, i: usize, short: bool) -> String {
    let label = match (stack, dim) {
        (Some(s), "time") => s.grid.time.get(i).map(|t| {
            if short {
                t.split('T').next().unwrap_or(t).to_owned()
            } else {
                t.strip_suffix(".000000000").unwrap_or(t).to_owned()
            }
        }),
        (Some(s), "band") => s.grid.band.get(i).cloned(),
        _ => None,
    };
    label.unwrap_or_else(|| i.to_string())
}

/// `time=2024-03-01 band=red`: the labels of a plane's index over the leading dims.
fn plane_label(a: &LabeledArray, stack: Option<&Stack>, idx: &[usize]) -> String {
    a.dims()
        .iter()
        .zip(idx)
        .map(|(d, i)| format!("{d}={}", coord_label(stack, d, *i, false)))
        .collect::<Vec<_>>()
        .join(" ")
}

// The macro expands once per dtype; for f64 the cast is a no-op.
#[allow(clippy::unnecessary_cast)]
fn as_f64(a: &LabeledArray) -> Vec<f64> {
    with_data!(a.data(), d => d.iter().map(|v| *v as f64).collect())
}

fn range_of(v: &[f64]) -> (f64, f64) {
    let (lo, hi) = v
        .iter()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    if lo > hi { (0.0, 1.0) } else { (lo, hi) }
}

/// The image starting at element `offset` of `a` (its last two dims are the image).
fn panel(
    title: String,
    a: &LabeledArray,
    offset: usize,
    colormap: Colormap,
    range: Option<(f64, f64)>,
) -> Result<ImagePanel, String> {
    let s = a.shape();
    if s.len() < 2 {
        return Err(format!("{title}: an image needs 2 dims, found {}", s.len()));
    }
    let (rows, cols) = (s[s.len() - 2], s[s.len() - 1]);
    let per = rows * cols;
    let v = as_f64(a);
    let values = v
        .get(offset..offset + per)
        .ok_or_else(|| format!("{title}: image at {offset} out of range"))?
        .to_vec();
    let range = range.unwrap_or_else(|| range_of(&values));
    Ok(ImagePanel {
        title,
        rows,
        cols,
        values,
        colormap,
        range,
    })
}

/// numpy-style histogram: `bins` equal bins over [min, max], the last closed.
fn histogram(values: &[f64], bins: usize) -> (Vec<f64>, Vec<u64>) {
    let bins = bins.max(1);
    let (mut lo, mut hi) = range_of(values);
    if lo == hi {
        lo -= 0.5;
        hi += 0.5;
    }
    let edges: Vec<f64> = (0..=bins)
        .map(|i| lo + (hi - lo) * i as f64 / bins as f64)
        .collect();
    let mut counts = vec![0u64; bins];
    for &x in values {
        let b = (((x - lo) / (hi - lo)) * bins as f64).floor();
        let b = if b < 0.0 {
            0
        } else {
            (b as usize).min(bins - 1)
        };
        counts[b] += 1;
    }
    (edges, counts)
}

fn bounds(shapes: &[Shape]) -> Option<[f64; 4]> {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    let mut add = |c: Coord<f64>| {
        b[0] = b[0].min(c.x);
        b[1] = b[1].min(c.y);
        b[2] = b[2].max(c.x);
        b[3] = b[3].max(c.y);
    };
    fn polygon(p: &Polygon<f64>, add: &mut dyn FnMut(Coord<f64>)) {
        p.exterior().0.iter().for_each(|c| add(*c));
    }
    fn walk(g: &Geometry<f64>, add: &mut dyn FnMut(Coord<f64>)) {
        match g {
            Geometry::Point(p) => add(p.0),
            Geometry::Line(l) => {
                add(l.start);
                add(l.end);
            }
            Geometry::LineString(l) => l.0.iter().for_each(|c| add(*c)),
            Geometry::Polygon(p) => polygon(p, add),
            Geometry::MultiPoint(m) => m.0.iter().for_each(|p| add(p.0)),
            Geometry::MultiLineString(m) => m.0.iter().flat_map(|l| &l.0).for_each(|c| add(*c)),
            Geometry::MultiPolygon(MultiPolygon(ps)) => ps.iter().for_each(|p| polygon(p, add)),
            Geometry::GeometryCollection(gc) => gc.0.iter().for_each(|g| walk(g, add)),
            Geometry::Rect(r) => {
                add(r.min());
                add(r.max());
            }
            Geometry::Triangle(t) => t.to_array().iter().for_each(|c| add(*c)),
        }
    }
    for s in shapes {
        walk(&s.geometry, &mut add);
    }
    (b[0] <= b[2] && b[1] <= b[3]).then_some(b)
}

/// The `stack` step's asset reader: hrefs relative to the STAC file, opened as COGs through
/// the recipe's [`FileSource`] (never outside the recipe's directory, never remote).
/// A recipe's asset href → its byte source: only files inside the recipe's directory, relative
/// to the STAC file (`dir`); `stack::CogReader` does the COG opening and reading.
fn open_asset(
    files: &dyn FileSource,
    dir: &str,
    href: &str,
) -> Result<Box<dyn ByteSource>, AssetError> {
    let rel = href.strip_prefix("./").unwrap_or(href);
    if rel.contains("://") || super::parse::escapes(rel) {
        return Err(AssetError::unreachable(format!(
            "{href}: a recipe reads only files inside its directory, relative to the STAC file"
        )));
    }
    let path = if dir.is_empty() {
        rel.to_owned()
    } else {
        format!("{dir}/{rel}")
    };
    files.open(&path)
}
