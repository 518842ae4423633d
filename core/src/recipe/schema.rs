//! What each step op accepts: its keys, their types and ranges, and what it makes.

use super::{Bindings, Location, ParamType, ParamValue, Recipe, RecipeError};

/// A step's operation.
///
/// ```
/// use geochip::recipe::StepOp;
/// assert_eq!(StepOp::from_name("rasterize"), Some(StepOp::Rasterize));
/// assert_eq!(StepOp::Rasterize.name(), "rasterize");
/// assert_eq!(StepOp::from_name("burn"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StepOp {
    /// Read vector shapes (WKT, one geometry per line, or GeoJSON) from a file.
    Shapes,
    /// A grid: explicit (`width`, `height`, `transform`) or the bounds of `shapes` snapped
    /// to `resolution`.
    Grid,
    /// Burn shapes onto a grid (`mode = "burn"`) or their exact coverage (`"coverage"`).
    Rasterize,
    /// Aligned chips of several arrays on the same grid.
    Slice,
    /// STAC items from a JSON file.
    Stac,
    /// Summary statistics of arrays or chips, as a table.
    Stats,
    /// SHA-256 of arrays or chips (numpy `tobytes()` order), as a table.
    Checksum,
    /// A plot specification, rendered to SVG by the caller's renderer.
    Plot,
    /// Stack STAC items into a `(time, band, y, x)` cube like odc-stac (or stackstac), reading
    /// the assets (GeoTIFF/COG, relative to the STAC file) through the [`FileSource`](super::FileSource).
    Stack,
    /// Read a GeoTIFF/COG (all bands, full resolution) into a `(band, y, x)` array.
    Raster,
    /// Time reads of random windows of an array stored in Zarr with different chunk shapes
    /// (feature `zarr`; needs a [`Clock`](super::Clock)): read counts are exact, timings vary.
    TimeReads,
    /// Write arrays or chips into a Zarr v3 store (feature `zarr`); every key of the store
    /// becomes an output file under the step's output directory.
    Write,
    /// Read an array, or a window of it, from a Zarr v3 store among the recipe's files
    /// (feature `zarr`): objects fetched by range through the [`FileSource`](super::FileSource)
    /// (HTTP `Range` in the browser), a missing chunk read as the fill value.
    ReadZarr,
    /// Read an array back from the store a `write` step made (feature `zarr`): a stacked
    /// cube written with `coords = true` comes back with its time and band labels.
    Read,
    /// The objects of the store a `write` step made, as a table (feature `zarr`): key, kind
    /// (metadata, chunk or shard), bytes, and the chunks each holds.
    Inventory,
    /// The assets of STAC items as a table: href, media type, roles, bands, data type,
    /// nodata, CRS, shape and pixel size (from the projection, raster and eo extensions).
    Assets,
    /// One asset's COG layout as a table: per level (full resolution, then each overview) its
    /// shape, pixel size, tile size and count, compression and stored bytes.
    CogLayout,
    /// What reading a window of one asset's COG costs: range requests and bytes for the
    /// header, the window at full resolution, the same area from each overview, and the whole
    /// file (exact counts, taken at the byte source).
    ReadPlan,
}

impl StepOp {
    /// Every op, in the order above.
    pub const ALL: [StepOp; 18] = [
        StepOp::Shapes,
        StepOp::Grid,
        StepOp::Rasterize,
        StepOp::Slice,
        StepOp::Stac,
        StepOp::Stats,
        StepOp::Checksum,
        StepOp::Plot,
        StepOp::Stack,
        StepOp::Write,
        StepOp::Raster,
        StepOp::TimeReads,
        StepOp::ReadZarr,
        StepOp::Read,
        StepOp::Inventory,
        StepOp::Assets,
        StepOp::CogLayout,
        StepOp::ReadPlan,
    ];

    /// The name used in recipes.
    pub fn name(self) -> &'static str {
        match self {
            StepOp::Shapes => "shapes",
            StepOp::Grid => "grid",
            StepOp::Rasterize => "rasterize",
            StepOp::Slice => "slice",
            StepOp::Stac => "stac",
            StepOp::Stats => "stats",
            StepOp::Checksum => "checksum",
            StepOp::Plot => "plot",
            StepOp::Stack => "stack",
            StepOp::Write => "write",
            StepOp::Raster => "raster",
            StepOp::TimeReads => "time_reads",
            StepOp::ReadZarr => "read_zarr",
            StepOp::Read => "read",
            StepOp::Inventory => "inventory",
            StepOp::Assets => "assets",
            StepOp::CogLayout => "cog_layout",
            StepOp::ReadPlan => "read_plan",
        }
    }

    /// The op with this name.
    pub fn from_name(name: &str) -> Option<StepOp> {
        StepOp::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Why the op cannot run yet, for ops whose implementation is not in the core.
    ///
    /// ```
    /// use geochip::recipe::StepOp;
    /// assert!(StepOp::Slice.not_available().is_none());
    /// // `write` needs the core's `zarr` feature; without it the reason names the feature.
    /// if let Some(why) = StepOp::Write.not_available() {
    ///     assert!(why.contains("zarr"));
    /// }
    /// ```
    pub fn not_available(self) -> Option<&'static str> {
        match self {
            StepOp::Write | StepOp::Read | StepOp::Inventory if !cfg!(feature = "zarr") => {
                Some("this build of the core has no Zarr layer (feature `zarr` is off)")
            }
            StepOp::ReadZarr if !cfg!(feature = "zarr") => {
                Some("this build of the core has no Zarr layer (feature `zarr` is off)")
            }
            _ => None,
        }
    }

    pub(crate) fn makes(self) -> Kind {
        match self {
            StepOp::Shapes => Kind::Shapes,
            StepOp::Grid => Kind::Grid,
            StepOp::Rasterize | StepOp::Stack | StepOp::Raster | StepOp::Read => Kind::Array,
            StepOp::TimeReads => Kind::Timed,
            StepOp::ReadZarr => Kind::Array,
            StepOp::Slice => Kind::Chips,
            StepOp::Stac => Kind::Items,
            StepOp::Stats
            | StepOp::Checksum
            | StepOp::Inventory
            | StepOp::Assets
            | StepOp::CogLayout
            | StepOp::ReadPlan => Kind::Table,
            StepOp::Write => Kind::Files,
            StepOp::Plot => Kind::Plot,
        }
    }

    pub(crate) fn fields(self) -> &'static [Field] {
        match self {
            StepOp::Shapes => SHAPES,
            StepOp::Grid => GRID,
            StepOp::Rasterize => RASTERIZE,
            StepOp::Slice => SLICE,
            StepOp::Stac => STAC,
            StepOp::Stats => STATS,
            StepOp::Checksum => TABLE_OF,
            StepOp::Plot => PLOT,
            StepOp::Stack => STACK,
            StepOp::Write => WRITE,
            StepOp::Raster => STAC,
            StepOp::TimeReads => TIME_READS,
            StepOp::ReadZarr => READ_ZARR,
            StepOp::Read => READ,
            StepOp::Inventory => INVENTORY,
            StepOp::Assets => ASSETS,
            StepOp::CogLayout => COG_LAYOUT,
            StepOp::ReadPlan => READ_PLAN,
        }
    }
}

/// What a step makes (the type of a value flowing along the graph).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Shapes,
    Grid,
    Array,
    Chips,
    Items,
    Table,
    Plot,
    Files,
    Timed,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Shapes => "shapes",
            Kind::Grid => "a grid",
            Kind::Array => "an array",
            Kind::Chips => "chips",
            Kind::Items => "STAC items",
            Kind::Table => "a table",
            Kind::Plot => "a plot",
            Kind::Files => "files",
            Kind::Timed => "read timings",
        }
    }
}

/// The type of a step key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FieldTy {
    Str,
    Choice(&'static [&'static str]),
    Int { min: i64, max: i64 },
    Float { min: f64, max: f64 },
    Bool,
    Path,
    Input(&'static [Kind]),
    Inputs(&'static [Kind]),
    Floats(usize),
}

impl FieldTy {
    pub(crate) fn describe(&self) -> String {
        match self {
            FieldTy::Str => "a string".into(),
            FieldTy::Choice(c) => format!("one of: {}", c.join(", ")),
            FieldTy::Int { .. } => "an integer".into(),
            FieldTy::Float { .. } => "a number".into(),
            FieldTy::Bool => "a boolean".into(),
            FieldTy::Path => "a relative path (string)".into(),
            FieldTy::Input(_) => "a step id (string)".into(),
            FieldTy::Inputs(_) => "a list of step ids".into(),
            FieldTy::Floats(n) => format!("an array of {n} numbers"),
        }
    }

    /// Checks a bound value's range; `Err(allowed)` when outside.
    pub(crate) fn check_range(&self, v: &ParamValue) -> Result<(), String> {
        match (self, v) {
            (FieldTy::Int { min, max }, ParamValue::Int(i)) if i < min || i > max => {
                Err(format!("{min} ..= {max}"))
            }
            (FieldTy::Float { min, max }, ParamValue::Float(f))
                if !f.is_finite() || f < min || f > max =>
            {
                Err(format!("{min:?} ..= {max:?}"))
            }
            (FieldTy::Float { min, max }, ParamValue::Int(i))
                if (*i as f64) < *min || (*i as f64) > *max =>
            {
                Err(format!("{min:?} ..= {max:?}"))
            }
            (FieldTy::Choice(c), ParamValue::Str(s)) if !c.contains(&s.as_str()) => {
                Err(format!("one of: {}", c.join(", ")))
            }
            _ => Ok(()),
        }
    }

    /// Whether a parameter of type `ty` can bind this field.
    pub(crate) fn accepts_param(&self, ty: ParamType) -> bool {
        matches!(
            (self, ty),
            (FieldTy::Str | FieldTy::Choice(_), ParamType::String)
                | (FieldTy::Int { .. }, ParamType::Int)
                | (FieldTy::Float { .. }, ParamType::Int | ParamType::Float)
                | (FieldTy::Bool, ParamType::Bool)
        )
    }
}

/// One key a step op accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) key: &'static str,
    pub(crate) ty: FieldTy,
    pub(crate) required: bool,
}

const fn f(key: &'static str, ty: FieldTy, required: bool) -> Field {
    Field { key, ty, required }
}

const SIZE: FieldTy = FieldTy::Int {
    min: 1,
    max: 1 << 20,
};

const SHAPES: &[Field] = &[
    f("path", FieldTy::Path, true),
    f("format", FieldTy::Choice(&["wkt", "geojson"]), false),
    f("crs", FieldTy::Str, false),
    f(
        "values",
        FieldTy::Choice(&["index", "one", "property"]),
        false,
    ),
    f("value_property", FieldTy::Str, false),
    f("explode", FieldTy::Bool, false),
];
const GRID: &[Field] = &[
    f("shapes", FieldTy::Input(&[Kind::Shapes]), false),
    f(
        "resolution",
        FieldTy::Float {
            min: 1e-9,
            max: 1e12,
        },
        false,
    ),
    f("width", SIZE, false),
    f("height", SIZE, false),
    f("transform", FieldTy::Floats(6), false),
    f("crs", FieldTy::Str, false),
];
const DTYPES: &[&str] = &[
    "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "float32", "float64",
];
const RASTERIZE: &[Field] = &[
    f("shapes", FieldTy::Input(&[Kind::Shapes]), true),
    f("grid", FieldTy::Input(&[Kind::Grid]), true),
    f("mode", FieldTy::Choice(&["burn", "coverage"]), false),
    f("all_touched", FieldTy::Bool, false),
    f("dtype", FieldTy::Choice(DTYPES), false),
    f(
        "fill",
        FieldTy::Float {
            min: -1e300,
            max: 1e300,
        },
        false,
    ),
];
const SLICE: &[Field] = &[
    f("arrays", FieldTy::Inputs(&[Kind::Array]), true),
    f("size", SIZE, true),
    f(
        "overlap",
        FieldTy::Int {
            min: 0,
            max: (1 << 20) - 1,
        },
        false,
    ),
    f(
        "edge",
        FieldTy::Choice(&["drop", "pad", "shift-last-inside"]),
        false,
    ),
];
const STAC: &[Field] = &[f("path", FieldTy::Path, true)];
const READ_ZARR: &[Field] = &[
    f("path", FieldTy::Path, true),
    f("array", FieldTy::Str, true),
    f("window", FieldTy::Str, false),
];
const ASSETS: &[Field] = &[f("items", FieldTy::Input(&[Kind::Items]), true)];
const COG_LAYOUT: &[Field] = &[
    f("items", FieldTy::Input(&[Kind::Items]), true),
    f("item", FieldTy::Str, false),
    f("asset", FieldTy::Str, false),
];
const PIXEL: FieldTy = FieldTy::Int {
    min: 0,
    max: 1 << 30,
};
const READ_PLAN: &[Field] = &[
    f("items", FieldTy::Input(&[Kind::Items]), true),
    f("item", FieldTy::Str, false),
    f("asset", FieldTy::Str, false),
    f("col", PIXEL, true),
    f("row", PIXEL, true),
    f("size", SIZE, true),
    f("merge_gap", PIXEL, false),
];
const TIME_READS: &[Field] = &[
    f("input", FieldTy::Input(&[Kind::Array]), true),
    f("chunks", FieldTy::Str, true),
    f("window", SIZE, true),
    f(
        "reads",
        FieldTy::Int {
            min: 1,
            max: 100_000,
        },
        false,
    ),
    f(
        "seed",
        FieldTy::Int {
            min: 0,
            max: i64::MAX,
        },
        false,
    ),
    f("compression", FieldTy::Choice(&["none", "gzip"]), false),
];
const WRITE: &[Field] = &[
    f("inputs", FieldTy::Inputs(&[Kind::Array, Kind::Chips]), true),
    f("chunk", SIZE, false),
    f("shard_chunks", FieldTy::Int { min: 1, max: 1024 }, false),
    f("compression", FieldTy::Choice(&["none", "gzip"]), false),
    f("coords", FieldTy::Bool, false),
];
const READ: &[Field] = &[
    f("store", FieldTy::Input(&[Kind::Files]), true),
    f("array", FieldTy::Str, true),
];
const INVENTORY: &[Field] = &[
    f("store", FieldTy::Input(&[Kind::Files]), true),
    f("array", FieldTy::Str, false),
];
const STACK: &[Field] = &[
    f("items", FieldTy::Input(&[Kind::Items]), true),
    f("bands", FieldTy::Str, false),
    f("crs", FieldTy::Str, false),
    f(
        "resolution",
        FieldTy::Float {
            min: 1e-9,
            max: 1e12,
        },
        false,
    ),
    f("mode", FieldTy::Choice(&["odc", "stackstac"]), false),
    f(
        "resampling",
        FieldTy::Choice(&["nearest", "bilinear", "average"]),
        false,
    ),
    f(
        "groupby",
        FieldTy::Choice(&["time", "solar_day", "id"]),
        false,
    ),
    f("dtype", FieldTy::Choice(DTYPES), false),
    f(
        "nodata",
        FieldTy::Float {
            min: -1e300,
            max: 1e300,
        },
        false,
    ),
];
const TABLE_OF: &[Field] = &[f(
    "inputs",
    FieldTy::Inputs(&[Kind::Array, Kind::Chips]),
    true,
)];
const STATS: &[Field] = &[
    f("inputs", FieldTy::Inputs(&[Kind::Array, Kind::Chips]), true),
    f("per", FieldTy::Choice(&["array", "plane"]), false),
];
const PLOT: &[Field] = &[
    f(
        "kind",
        FieldTy::Choice(&["image", "chip_pairs", "histogram", "bars"]),
        true,
    ),
    f(
        "input",
        FieldTy::Input(&[Kind::Array, Kind::Chips, Kind::Table, Kind::Timed]),
        true,
    ),
    f("title", FieldTy::Str, false),
    f("colormap", FieldTy::Choice(&["gray", "labels"]), false),
    f("count", FieldTy::Int { min: 1, max: 64 }, false),
    f("bins", FieldTy::Int { min: 1, max: 1000 }, false),
    f("skip_zero", FieldTy::Bool, false),
    f("label_column", FieldTy::Str, false),
    f("value_column", FieldTy::Str, false),
    f("x_label", FieldTy::Str, false),
    f("y_label", FieldTy::Str, false),
    f(
        "time",
        FieldTy::Int {
            min: 0,
            max: 1 << 20,
        },
        false,
    ),
    f(
        "band",
        FieldTy::Int {
            min: 0,
            max: 1 << 20,
        },
        false,
    ),
    f("across", FieldTy::Choice(&["time", "band"]), false),
];

/// The input kinds each plot kind needs.
pub(crate) fn plot_input(kind: &str) -> &'static [Kind] {
    match kind {
        "image" => &[Kind::Array],
        "chip_pairs" => &[Kind::Chips],
        "histogram" => &[Kind::Array, Kind::Chips],
        _ => &[Kind::Table, Kind::Timed],
    }
}

/// A step key's value as written: a literal, a `$param`, step ids, a path or numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A literal scalar.
    Value(ParamValue),
    /// `"$name"`: the value of a parameter.
    Param(String),
    /// One step id.
    Ref(String),
    /// Several step ids.
    Refs(Vec<String>),
    /// A path relative to the recipe's directory (checked not to escape it).
    Path(String),
    /// Numbers.
    Floats(Vec<f64>),
}

/// A validated step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Its id (unique in the recipe).
    pub id: String,
    /// What it does.
    pub op: StepOp,
    /// The line of its `[[steps]]` header.
    pub line: usize,
    /// Position in the file (0-based).
    pub index: usize,
    /// The output name (a relative file name), when the step's value is an output.
    pub output: Option<String>,
    /// Its keys, in file order: `(key, value, line)`.
    pub args: Vec<(String, Arg, usize)>,
}

impl Step {
    /// The value of a key, as written.
    pub fn arg(&self, key: &str) -> Option<&Arg> {
        self.args
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, a, _)| a)
    }

    pub(crate) fn arg_line(&self, key: &str) -> usize {
        self.args
            .iter()
            .find(|(k, _, _)| k == key)
            .map_or(self.line, |(_, _, l)| *l)
    }

    /// The step ids this step reads, with the key naming each.
    pub fn inputs(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        for (k, a, _) in &self.args {
            match a {
                Arg::Ref(r) => out.push((k.as_str(), r.as_str())),
                Arg::Refs(rs) => out.extend(rs.iter().map(|r| (k.as_str(), r.as_str()))),
                _ => {}
            }
        }
        out
    }

    pub(crate) fn key(&self, key: &str) -> String {
        format!("steps[{}].{key}", self.index)
    }
}

/// Checks every `$param` of a step, bound, against the field's range.
pub(crate) fn check_bound(
    recipe: &Recipe,
    step: &Step,
    bindings: &Bindings,
) -> Result<(), RecipeError> {
    for (key, arg, line) in &step.args {
        let Arg::Param(name) = arg else { continue };
        let Some(field) = field_of(step, key) else {
            continue;
        };
        let Some(value) = bindings.get(name) else {
            continue;
        };
        if let Err(allowed) = field.ty.check_range(value) {
            return Err(RecipeError::OutOfRange {
                at: Location {
                    file: recipe.file.clone(),
                    line: *line,
                    key: step.key(key),
                },
                value: format!("${name} = {value}"),
                allowed,
            });
        }
    }
    Ok(())
}

pub(crate) fn field_of(step: &Step, key: &str) -> Option<Field> {
    step.op.fields().iter().copied().find(|f| f.key == key)
}
