//! Recipes: a TOML file of named, typed parameters and a graph of steps over the core
//! (shapes → grid → rasterize → slice → stats / checksum / plot …), validated before anything
//! runs, and a runtime that runs one with a progress callback and a cancellation flag.
//!
//! The same code runs natively (`geochip run`) and in a browser Web Worker: every byte the
//! recipe reads comes through a [`FileSource`], and plots are drawn
//! by a [`PlotRenderer`] the caller supplies (the plotters renderer lives in the separate
//! `geochip-plot` package because plotters depends on wasm-bindgen on wasm32). Outputs come
//! back as values with their bytes and SHA-256, so the checksums a browser computes can be
//! compared with the native ones.
//!
//! # The format
//!
//! ```toml
//! [recipe]
//! name = "tiny"
//! title = "A tiny recipe"
//!
//! [params.size]          # a form field: type, default, range, description
//! type = "int"
//! default = 4
//! min = 1
//! max = 64
//!
//! [[steps]]
//! id = "grid"            # steps name their inputs by these ids
//! op = "grid"
//! width = "$size"        # "$name" binds a parameter
//! height = "$size"
//! transform = [1.0, 0.0, 0.0, 0.0, -1.0, 4.0]
//!
//! [expected]             # SHA-256 of each output for the default parameters
//! ```
//!
//! Step ops ([`StepOp`]): `shapes` (read WKT/GeoJSON), `grid` (explicit, or the bounds of
//! shapes at a resolution), `rasterize` (burn or exact coverage), `slice` (aligned chips of
//! several arrays), `stac` (STAC items), `stack` (items into a `(time, band, y, x)` cube with
//! [`crate::stack::load`], assets read as COGs through the [`FileSource`]), `raster` (a
//! GeoTIFF/COG whole), `assets` (the items' assets and their metadata, a table), `cog_layout`
//! (one asset's COG levels and tiles) and `read_plan` (range requests and bytes a window read
//! needs at each level, counted at the byte source), `stats` (a table), `checksum` (a table of
//! SHA-256), `plot` (a
//! [`PlotSpec`] rendered by the caller's renderer), and with feature `zarr`: `write` (a Zarr
//! store whose keys become outputs), `read_zarr` (an array or a window of it from a Zarr
//! store among the recipe's files, read by range) and `time_reads` (chunk shapes against the same seeded
//! window reads, timed with the caller's [`Clock`]; timings are outputs with
//! `checked: false`). Without the feature those two are refused by the validator
//! ([`RecipeError::NotAvailable`]).
//!
//! Every problem in a recipe is a [`RecipeError`] naming the file, the line and the key.
//!
//! ```
//! use geochip::recipe::Recipe;
//! let text = r#"
//! [recipe]
//! name = "demo"
//! [params.n]
//! type = "int"
//! default = 8
//! min = 1
//! max = 16
//! [[steps]]
//! id = "g"
//! op = "grid"
//! width = "$n"
//! height = 4
//! transform = [1.0, 0.0, 0.0, 0.0, -1.0, 4.0]
//! [[steps]]
//! id = "typo"
//! op = "grid"
//! width = "$m"
//! height = 4
//! transform = [1.0, 0.0, 0.0, 0.0, -1.0, 4.0]
//! "#;
//! let err = Recipe::parse("demo.toml", text).unwrap_err();
//! assert_eq!(err.to_string(), "demo.toml:18: steps[1].width: unknown parameter `m` (known: n)");
//! ```

mod cog_steps;
mod parse;
mod plot;
mod run;
mod schema;
mod table;
#[cfg(feature = "zarr")]
mod zarr_read;

#[cfg(test)]
mod tests;

use std::fmt;

pub use plot::{Colormap, ImagePanel, PlotKind, PlotSpec};
pub use run::{
    Clock, FileSource, MemoryFiles, Output, OutputValue, PlotRenderer, Progress, RunError,
    RunOutputs, Runtime, check_outputs,
};
pub use schema::StepOp;
pub use table::{Cell, Table, npy_bytes};

/// Where in a recipe a problem is: the file, the 1-based line and the key path
/// (`steps[2].size`, `params.chip.max`). Line 0 means the problem is not in the file
/// (a `--set` value naming no parameter).
///
/// ```
/// let at = geochip::recipe::Location { file: "r.toml".into(), line: 3, key: "steps[0].op".into() };
/// assert_eq!(at.to_string(), "r.toml:3: steps[0].op");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The recipe file as the caller named it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The key path.
    pub key: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            // Not from the file: a `--set` override.
            write!(f, "{}: {}", self.file, self.key)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.key)
        }
    }
}

/// A bad recipe (or a bad `--set` value): each variant names the file, line and key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RecipeError {
    /// The file is not valid TOML.
    #[error("{at}: not valid TOML: {message}")]
    Syntax {
        /// Where.
        at: Location,
        /// The parser's message.
        message: String,
    },
    /// A step op that does not exist.
    #[error("{at}: unknown step op `{op}` (known: {known})")]
    UnknownStep {
        /// Where.
        at: Location,
        /// The op given.
        op: String,
        /// The ops that exist.
        known: String,
    },
    /// A step op that exists in the format but whose implementation is not in the core yet.
    #[error("{at}: step op `{op}` is not available yet: {reason}")]
    NotAvailable {
        /// Where.
        at: Location,
        /// The op.
        op: String,
        /// Why.
        reason: String,
    },
    /// A `$name` (or `--set name=…`) naming no parameter.
    #[error("{at}: unknown parameter `{name}` (known: {known})")]
    UnknownParameter {
        /// Where.
        at: Location,
        /// The name given.
        name: String,
        /// The parameters that exist.
        known: String,
    },
    /// A key the format does not have at this place.
    #[error("{at}: unknown key (expected one of: {expected})")]
    UnknownKey {
        /// Where.
        at: Location,
        /// The keys allowed here.
        expected: String,
    },
    /// A required key is missing.
    #[error("{at}: missing (required)")]
    MissingKey {
        /// Where (the table that lacks it).
        at: Location,
    },
    /// A value of the wrong type.
    #[error("{at}: expected {expected}, found {found}")]
    TypeMismatch {
        /// Where.
        at: Location,
        /// The type expected.
        expected: String,
        /// What was there.
        found: String,
    },
    /// A value outside its allowed range or set of choices.
    #[error("{at}: {value} is out of range ({allowed})")]
    OutOfRange {
        /// Where.
        at: Location,
        /// The value.
        value: String,
        /// The allowed range or choices.
        allowed: String,
    },
    /// A step input naming no step.
    #[error("{at}: missing input: no step has id `{id}`")]
    MissingInput {
        /// Where.
        at: Location,
        /// The id named.
        id: String,
    },
    /// Steps whose inputs form a cycle.
    #[error("{at}: the steps form a cycle: {cycle}")]
    Cycle {
        /// The first step of the cycle in file order.
        at: Location,
        /// The ids around the cycle, `a -> b -> a`.
        cycle: String,
    },
    /// A path that is absolute or leaves the recipe's directory.
    #[error(
        "{at}: path `{path}` escapes the cookbook's directory (use a relative path without `..`)"
    )]
    PathEscape {
        /// Where.
        at: Location,
        /// The path.
        path: String,
    },
    /// Two steps with the same id, or two outputs with the same name.
    #[error("{at}: `{name}` is already used at line {first_line}")]
    Duplicate {
        /// Where.
        at: Location,
        /// The repeated id or name.
        name: String,
        /// The first use.
        first_line: usize,
    },
    /// Any other invalid value (empty id, bad parameter name, default missing…).
    #[error("{at}: {message}")]
    Invalid {
        /// Where.
        at: Location,
        /// The problem.
        message: String,
    },
}

impl RecipeError {
    /// Where the problem is.
    ///
    /// ```
    /// let e = geochip::recipe::Recipe::parse("x.toml", "[recipe]\nname = 3\n").unwrap_err();
    /// assert_eq!((e.location().line, e.location().key.as_str()), (2, "recipe.name"));
    /// ```
    pub fn location(&self) -> &Location {
        match self {
            RecipeError::Syntax { at, .. }
            | RecipeError::UnknownStep { at, .. }
            | RecipeError::NotAvailable { at, .. }
            | RecipeError::UnknownParameter { at, .. }
            | RecipeError::UnknownKey { at, .. }
            | RecipeError::MissingKey { at }
            | RecipeError::TypeMismatch { at, .. }
            | RecipeError::OutOfRange { at, .. }
            | RecipeError::MissingInput { at, .. }
            | RecipeError::Cycle { at, .. }
            | RecipeError::PathEscape { at, .. }
            | RecipeError::Duplicate { at, .. }
            | RecipeError::Invalid { at, .. } => at,
        }
    }
}

/// The type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamType {
    /// A 64-bit integer.
    Int,
    /// A 64-bit float.
    Float,
    /// `true` / `false`.
    Bool,
    /// Text, optionally one of `choices`.
    String,
}

impl ParamType {
    /// The name used in recipes (`int`, `float`, `bool`, `string`).
    ///
    /// ```
    /// assert_eq!(geochip::recipe::ParamType::Float.name(), "float");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ParamType::Int => "int",
            ParamType::Float => "float",
            ParamType::Bool => "bool",
            ParamType::String => "string",
        }
    }
}

/// A parameter or literal value.
///
/// ```
/// use geochip::recipe::ParamValue;
/// assert_eq!(ParamValue::Float(2.5).to_string(), "2.5");
/// assert_eq!(ParamValue::Str("a".into()).to_string(), "\"a\"");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Text.
    Str(String),
}

impl ParamValue {
    /// The JSON form (for forms and `index.json`).
    ///
    /// ```
    /// assert_eq!(geochip::recipe::ParamValue::Int(3).to_json(), serde_json::json!(3));
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ParamValue::Int(v) => serde_json::json!(v),
            ParamValue::Float(v) => serde_json::json!(v),
            ParamValue::Bool(v) => serde_json::json!(v),
            ParamValue::Str(v) => serde_json::json!(v),
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v:?}"),
            ParamValue::Bool(v) => write!(f, "{v}"),
            ParamValue::Str(v) => write!(f, "{v:?}"),
        }
    }
}

/// A named, typed parameter: enough to generate a form field.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The name (`[a-z_][a-z0-9_]*`), used as `$name` in steps and `--set name=…`.
    pub name: String,
    /// Its type.
    pub ty: ParamType,
    /// The default value.
    pub default: ParamValue,
    /// Inclusive minimum (int and float).
    pub min: Option<f64>,
    /// Inclusive maximum (int and float).
    pub max: Option<f64>,
    /// Allowed values (string).
    pub choices: Vec<String>,
    /// One line for the form.
    pub description: String,
    /// The line of its table.
    pub line: usize,
}

impl Param {
    /// The parameter as JSON, for a form: name, type, default, min, max, choices, description.
    ///
    /// ```
    /// let r = geochip::recipe::Recipe::parse("r.toml",
    ///     "[recipe]\nname = \"r\"\n[params.k]\ntype = \"int\"\ndefault = 2\nmin = 1\n").unwrap();
    /// assert_eq!(r.params[0].to_json()["min"], serde_json::json!(1));
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        let num = |v: Option<f64>| match (v, self.ty) {
            (Some(v), ParamType::Int) => serde_json::json!(v as i64),
            (Some(v), _) => serde_json::json!(v),
            (None, _) => serde_json::Value::Null,
        };
        serde_json::json!({
            "name": self.name,
            "type": self.ty.name(),
            "default": self.default.to_json(),
            "min": num(self.min),
            "max": num(self.max),
            "choices": self.choices,
            "description": self.description,
        })
    }

    /// Parses a `--set` text value into this parameter's type and checks its range.
    ///
    /// ```
    /// use geochip::recipe::{ParamValue, Recipe};
    /// let r = Recipe::parse("r.toml",
    ///     "[recipe]\nname = \"r\"\n[params.k]\ntype = \"float\"\ndefault = 2.0\nmax = 5.0\n").unwrap();
    /// assert_eq!(r.params[0].parse_value("3").unwrap(), ParamValue::Float(3.0));
    /// assert!(r.params[0].parse_value("7").is_err());
    /// ```
    pub fn parse_value(&self, text: &str) -> Result<ParamValue, String> {
        let t = text.trim();
        let v = match self.ty {
            ParamType::Int => {
                ParamValue::Int(t.parse().map_err(|_| format!("`{t}` is not an integer"))?)
            }
            ParamType::Float => {
                let v: f64 = t.parse().map_err(|_| format!("`{t}` is not a number"))?;
                if !v.is_finite() {
                    return Err(format!("`{t}` is not a finite number"));
                }
                ParamValue::Float(v)
            }
            ParamType::Bool => ParamValue::Bool(match t {
                "true" => true,
                "false" => false,
                _ => return Err(format!("`{t}` is not true or false")),
            }),
            ParamType::String => ParamValue::Str(text.to_owned()),
        };
        self.check(&v)?;
        Ok(v)
    }

    /// Checks a value of the right type against the range / choices.
    pub(crate) fn check(&self, v: &ParamValue) -> Result<(), String> {
        let x = match v {
            ParamValue::Int(i) => *i as f64,
            ParamValue::Float(f) => *f,
            ParamValue::Str(s) => {
                if !self.choices.is_empty() && !self.choices.iter().any(|c| c == s) {
                    return Err(format!(
                        "{v} is out of range (one of: {})",
                        self.choices.join(", ")
                    ));
                }
                return Ok(());
            }
            ParamValue::Bool(_) => return Ok(()),
        };
        let below = self.min.is_some_and(|m| x < m);
        let above = self.max.is_some_and(|m| x > m);
        if below || above {
            return Err(format!("{v} is out of range ({})", self.range_text()));
        }
        Ok(())
    }

    pub(crate) fn range_text(&self) -> String {
        let f = |v: f64| match self.ty {
            ParamType::Int => format!("{}", v as i64),
            _ => format!("{v:?}"),
        };
        match (self.min, self.max) {
            (Some(a), Some(b)) => format!("{} ..= {}", f(a), f(b)),
            (Some(a), None) => format!(">= {}", f(a)),
            (None, Some(b)) => format!("<= {}", f(b)),
            (None, None) => "any".into(),
        }
    }
}

/// A validated recipe: metadata, parameters, steps in run order, and expected checksums.
///
/// Build one with [`Recipe::parse`]; bind parameter values with [`Recipe::bind`]; run it
/// with a [`Runtime`].
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    /// The file name given to [`Recipe::parse`] (used in every error).
    pub file: String,
    /// `recipe.name`.
    pub name: String,
    /// `recipe.title` (defaults to the name).
    pub title: String,
    /// `recipe.description`.
    pub description: String,
    /// Parameters in file order.
    pub params: Vec<Param>,
    /// Steps in file order.
    pub steps: Vec<schema::Step>,
    /// Indices into `steps` in an order where every input comes first.
    pub order: Vec<usize>,
    /// `[expected]`: output name → SHA-256 (hex) for the default parameters, with its line.
    pub expected: Vec<(String, String, usize)>,
}

pub use schema::{Arg, Step};

impl Recipe {
    /// Parses and validates a recipe: syntax, keys, types, ranges (with the default
    /// parameters bound), paths, inputs and cycles. The first problem is returned.
    ///
    /// ```
    /// let r = geochip::recipe::Recipe::parse("r.toml", "[recipe]\nname = \"empty\"\n").unwrap();
    /// assert_eq!(r.name, "empty");
    /// assert!(r.steps.is_empty());
    /// ```
    pub fn parse(file: &str, text: &str) -> Result<Recipe, RecipeError> {
        let recipe = parse::parse(file, text)?;
        recipe.bind(&[])?;
        Ok(recipe)
    }

    /// The parameter values with `overrides` (`name`, text value) applied over the defaults,
    /// checked against each parameter's type and range and against every step field that
    /// uses them.
    ///
    /// ```
    /// use geochip::recipe::{ParamValue, Recipe};
    /// let r = Recipe::parse("r.toml",
    ///     "[recipe]\nname = \"r\"\n[params.k]\ntype = \"int\"\ndefault = 2\nmax = 9\n").unwrap();
    /// let b = r.bind(&[("k".into(), "5".into())]).unwrap();
    /// assert_eq!(b.values, vec![("k".to_string(), ParamValue::Int(5))]);
    /// let e = r.bind(&[("k".into(), "10".into())]).unwrap_err();
    /// assert_eq!(e.to_string(), "r.toml:3: params.k: 10 is out of range (<= 9)");
    /// ```
    pub fn bind(&self, overrides: &[(String, String)]) -> Result<Bindings, RecipeError> {
        let mut values: Vec<(String, ParamValue)> = self
            .params
            .iter()
            .map(|p| (p.name.clone(), p.default.clone()))
            .collect();
        for (name, text) in overrides {
            let Some(i) = self.params.iter().position(|p| &p.name == name) else {
                return Err(RecipeError::UnknownParameter {
                    at: Location {
                        file: self.file.clone(),
                        line: 0,
                        key: format!("--set {name}"),
                    },
                    name: name.clone(),
                    known: self.param_names(),
                });
            };
            let p = &self.params[i];
            let at = self.at(p.line, format!("params.{name}"));
            values[i].1 = p.parse_value(text).map_err(|message| {
                if message.contains("out of range") {
                    RecipeError::OutOfRange {
                        at: at.clone(),
                        value: text.trim().to_owned(),
                        allowed: match p.ty {
                            ParamType::String => format!("one of: {}", p.choices.join(", ")),
                            _ => p.range_text(),
                        },
                    }
                } else {
                    RecipeError::TypeMismatch {
                        at: at.clone(),
                        expected: p.ty.name().to_owned(),
                        found: message,
                    }
                }
            })?;
        }
        let bindings = Bindings { values };
        for step in &self.steps {
            schema::check_bound(self, step, &bindings)?;
        }
        Ok(bindings)
    }

    /// The parameters as a JSON array (for generating a form).
    ///
    /// ```
    /// let r = geochip::recipe::Recipe::parse("r.toml", "[recipe]\nname = \"r\"\n").unwrap();
    /// assert_eq!(r.params_json(), serde_json::json!([]));
    /// ```
    pub fn params_json(&self) -> serde_json::Value {
        serde_json::Value::Array(self.params.iter().map(Param::to_json).collect())
    }

    pub(crate) fn param_names(&self) -> String {
        let names: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    }

    pub(crate) fn at(&self, line: usize, key: String) -> Location {
        Location {
            file: self.file.clone(),
            line,
            key,
        }
    }
}

/// Parameter values bound for one run (defaults with overrides applied), in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Bindings {
    /// `(name, value)` per parameter.
    pub values: Vec<(String, ParamValue)>,
}

impl Bindings {
    /// The value of a parameter.
    ///
    /// ```
    /// use geochip::recipe::{Bindings, ParamValue};
    /// let b = Bindings { values: vec![("k".into(), ParamValue::Int(1))] };
    /// assert_eq!(b.get("k"), Some(&ParamValue::Int(1)));
    /// ```
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// True when every value equals the recipe's default (the expected checksums apply).
    pub fn are_defaults(&self, recipe: &Recipe) -> bool {
        recipe
            .params
            .iter()
            .all(|p| self.get(&p.name) == Some(&p.default))
    }
}
