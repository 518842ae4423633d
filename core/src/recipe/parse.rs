//! Parsing a recipe: TOML with spans (`toml::de::DeTable`) turned into an owned tree with
//! line numbers, then walked key by key so every error names the file, line and key.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::schema::{Arg, Field, FieldTy, Kind, Step, StepOp, field_of, plot_input};
use super::{Location, Param, ParamType, ParamValue, Recipe, RecipeError};

/// A TOML value with the line it starts on.
#[derive(Debug, Clone)]
struct Node {
    v: V,
    line: usize,
}

#[derive(Debug, Clone)]
enum V {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime,
    Array(Vec<Node>),
    /// `(key, key line, value)` in file order.
    Table(Vec<(String, usize, Node)>),
}

impl V {
    fn type_name(&self) -> &'static str {
        match self {
            V::Str(_) => "a string",
            V::Int(_) => "an integer",
            V::Float(_) => "a float",
            V::Bool(_) => "a boolean",
            V::Datetime => "a datetime",
            V::Array(_) => "an array",
            V::Table(_) => "a table",
        }
    }
}

/// Byte offset → 1-based line.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        Lines(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        )
    }
    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&nl| nl < offset) + 1
    }
}

struct Ctx<'a> {
    file: &'a str,
    lines: Lines,
}

impl Ctx<'_> {
    fn at(&self, line: usize, key: impl Into<String>) -> Location {
        Location {
            file: self.file.to_owned(),
            line,
            key: key.into(),
        }
    }

    fn node(&self, v: &Spanned<DeValue<'_>>, key: &str) -> Result<Node, RecipeError> {
        let line = self.lines.line(v.span().start);
        let bad = |message: String| RecipeError::Invalid {
            at: self.at(line, key),
            message,
        };
        let v = match v.get_ref() {
            DeValue::String(s) => V::Str(s.to_string()),
            DeValue::Integer(i) => V::Int(
                i64::from_str_radix(i.as_str(), i.radix())
                    .map_err(|_| bad(format!("integer {} does not fit 64 bits", i.as_str())))?,
            ),
            DeValue::Float(x) => V::Float(
                x.as_str()
                    .replace('_', "")
                    .parse::<f64>()
                    .map_err(|_| bad(format!("float {} does not parse", x.as_str())))?,
            ),
            DeValue::Boolean(b) => V::Bool(*b),
            DeValue::Datetime(_) => V::Datetime,
            DeValue::Array(a) => V::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, e)| self.node(e, &format!("{key}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            DeValue::Table(t) => V::Table(self.table(t, key)?),
        };
        Ok(Node { v, line })
    }

    fn table(
        &self,
        t: &DeTable<'_>,
        prefix: &str,
    ) -> Result<Vec<(String, usize, Node)>, RecipeError> {
        let mut out = Vec::with_capacity(t.len());
        for (k, v) in t.iter() {
            let key = k.get_ref().to_string();
            let path = join(prefix, &key);
            let node = self.node(v, &path)?;
            out.push((key, self.lines.line(k.span().start), node));
        }
        Ok(out)
    }

    fn mismatch(&self, node: &Node, key: &str, expected: &str) -> RecipeError {
        RecipeError::TypeMismatch {
            at: self.at(node.line, key),
            expected: expected.to_owned(),
            found: node.v.type_name().to_owned(),
        }
    }

    fn string(&self, node: &Node, key: &str) -> Result<String, RecipeError> {
        match &node.v {
            V::Str(s) => Ok(s.clone()),
            _ => Err(self.mismatch(node, key, "a string")),
        }
    }

    fn number(&self, node: &Node, key: &str) -> Result<f64, RecipeError> {
        match node.v {
            V::Int(i) => Ok(i as f64),
            V::Float(x) => Ok(x),
            _ => Err(self.mismatch(node, key, "a number")),
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn unknown_key(ctx: &Ctx<'_>, line: usize, key: String, allowed: &[&str]) -> RecipeError {
    RecipeError::UnknownKey {
        at: ctx.at(line, key),
        expected: allowed.join(", "),
    }
}

fn as_table<'n>(
    ctx: &Ctx<'_>,
    node: &'n Node,
    key: &str,
) -> Result<&'n [(String, usize, Node)], RecipeError> {
    match &node.v {
        V::Table(t) => Ok(t),
        _ => Err(ctx.mismatch(node, key, "a table")),
    }
}

/// True when a path is absolute, names a drive or scheme, or climbs with `..`.
pub(crate) fn escapes(path: &str) -> bool {
    path.is_empty()
        || path.starts_with('/')
        || path.starts_with('\\')
        || path.contains(':')
        || path.split(['/', '\\']).any(|c| c == "..")
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase() || f == '_')
        && c.all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub(crate) fn parse(file: &str, text: &str) -> Result<Recipe, RecipeError> {
    let ctx = Ctx {
        file,
        lines: Lines::new(text),
    };
    let root = DeTable::parse(text).map_err(|e| RecipeError::Syntax {
        at: ctx.at(
            e.span().map_or(1, |s| ctx.lines.line(s.start)),
            "(document)",
        ),
        message: e.message().trim().to_owned(),
    })?;
    let top = ctx.table(root.get_ref(), "")?;

    let mut recipe = Recipe {
        file: file.to_owned(),
        name: String::new(),
        title: String::new(),
        description: String::new(),
        params: Vec::new(),
        steps: Vec::new(),
        order: Vec::new(),
        expected: Vec::new(),
    };
    let mut have_recipe = false;
    let mut steps_node = None;
    for (key, line, node) in &top {
        match key.as_str() {
            "recipe" => {
                have_recipe = true;
                recipe_meta(&ctx, node, &mut recipe)?;
            }
            "params" => recipe.params = params(&ctx, node)?,
            "steps" => steps_node = Some(node),
            "expected" => recipe.expected = expected(&ctx, node)?,
            _ => {
                return Err(unknown_key(
                    &ctx,
                    *line,
                    key.clone(),
                    &["recipe", "params", "steps", "expected"],
                ));
            }
        }
    }
    if !have_recipe {
        return Err(RecipeError::MissingKey {
            at: ctx.at(1, "recipe"),
        });
    }
    if let Some(node) = steps_node {
        recipe.steps = steps(&ctx, node, &recipe.params)?;
    }
    recipe.order = graph(&ctx, &recipe.steps)?;
    Ok(recipe)
}

fn recipe_meta(ctx: &Ctx<'_>, node: &Node, recipe: &mut Recipe) -> Result<(), RecipeError> {
    let mut have_name = false;
    for (key, line, v) in as_table(ctx, node, "recipe")? {
        let path = format!("recipe.{key}");
        match key.as_str() {
            "name" => {
                recipe.name = ctx.string(v, &path)?;
                have_name = true;
            }
            "title" => recipe.title = ctx.string(v, &path)?,
            "description" => recipe.description = ctx.string(v, &path)?,
            _ => {
                return Err(unknown_key(
                    ctx,
                    *line,
                    path,
                    &["name", "title", "description"],
                ));
            }
        }
    }
    if !have_name {
        return Err(RecipeError::MissingKey {
            at: ctx.at(node.line, "recipe.name"),
        });
    }
    if recipe.title.is_empty() {
        recipe.title = recipe.name.clone();
    }
    Ok(())
}

fn params(ctx: &Ctx<'_>, node: &Node) -> Result<Vec<Param>, RecipeError> {
    let mut out: Vec<Param> = Vec::new();
    for (name, line, def) in as_table(ctx, node, "params")? {
        let base = format!("params.{name}");
        if !is_name(name) {
            return Err(RecipeError::Invalid {
                at: ctx.at(*line, base),
                message: "a parameter name is lower-case letters, digits and `_`".into(),
            });
        }
        let table = as_table(ctx, def, &base)?;
        let get = |k: &str| table.iter().find(|(key, _, _)| key == k);
        for (key, kline, _) in table {
            if !["type", "default", "min", "max", "choices", "description"].contains(&key.as_str())
            {
                return Err(unknown_key(
                    ctx,
                    *kline,
                    format!("{base}.{key}"),
                    &["type", "default", "min", "max", "choices", "description"],
                ));
            }
        }
        let Some((_, _, ty_node)) = get("type") else {
            return Err(RecipeError::MissingKey {
                at: ctx.at(def.line.max(*line), format!("{base}.type")),
            });
        };
        let ty_key = format!("{base}.type");
        let ty = match ctx.string(ty_node, &ty_key)?.as_str() {
            "int" => ParamType::Int,
            "float" => ParamType::Float,
            "bool" => ParamType::Bool,
            "string" => ParamType::String,
            other => {
                return Err(RecipeError::OutOfRange {
                    at: ctx.at(ty_node.line, ty_key),
                    value: format!("{other:?}"),
                    allowed: "one of: int, float, bool, string".into(),
                });
            }
        };
        let Some((_, _, d)) = get("default") else {
            return Err(RecipeError::MissingKey {
                at: ctx.at(*line, format!("{base}.default")),
            });
        };
        let dkey = format!("{base}.default");
        let default = match (ty, &d.v) {
            (ParamType::Int, V::Int(i)) => ParamValue::Int(*i),
            (ParamType::Float, V::Int(i)) => ParamValue::Float(*i as f64),
            (ParamType::Float, V::Float(x)) if x.is_finite() => ParamValue::Float(*x),
            (ParamType::Bool, V::Bool(b)) => ParamValue::Bool(*b),
            (ParamType::String, V::Str(s)) => ParamValue::Str(s.clone()),
            _ => {
                return Err(ctx.mismatch(d, &dkey, ty.name()));
            }
        };
        let mut p = Param {
            name: name.clone(),
            ty,
            default,
            min: None,
            max: None,
            choices: Vec::new(),
            description: String::new(),
            line: *line,
        };
        for (key, _, v) in table {
            let k = format!("{base}.{key}");
            match key.as_str() {
                "min" | "max" => {
                    if !matches!(ty, ParamType::Int | ParamType::Float) {
                        return Err(RecipeError::Invalid {
                            at: ctx.at(v.line, k),
                            message: format!("a {} parameter has no range", ty.name()),
                        });
                    }
                    if ty == ParamType::Int && !matches!(v.v, V::Int(_)) {
                        return Err(ctx.mismatch(v, &k, "an integer"));
                    }
                    let x = ctx.number(v, &k)?;
                    if key == "min" {
                        p.min = Some(x);
                    } else {
                        p.max = Some(x);
                    }
                }
                "choices" => {
                    let V::Array(items) = &v.v else {
                        return Err(ctx.mismatch(v, &k, "an array of strings"));
                    };
                    if ty != ParamType::String {
                        return Err(RecipeError::Invalid {
                            at: ctx.at(v.line, k),
                            message: "only string parameters have choices".into(),
                        });
                    }
                    for (i, item) in items.iter().enumerate() {
                        p.choices.push(ctx.string(item, &format!("{k}[{i}]"))?);
                    }
                }
                "description" => p.description = ctx.string(v, &k)?,
                _ => {}
            }
        }
        if let Err(message) = p.check(&p.default) {
            return Err(RecipeError::OutOfRange {
                at: ctx.at(d.line, dkey),
                value: p.default.to_string(),
                allowed: message
                    .split_once("out of range (")
                    .map_or(message.clone(), |(_, r)| r.trim_end_matches(')').to_owned()),
            });
        }
        out.push(p);
    }
    Ok(out)
}

fn expected(ctx: &Ctx<'_>, node: &Node) -> Result<Vec<(String, String, usize)>, RecipeError> {
    let mut out = Vec::new();
    for (name, line, v) in as_table(ctx, node, "expected")? {
        let key = format!("expected.{name:?}");
        let sum = ctx.string(v, &key)?;
        if sum.len() != 64 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RecipeError::Invalid {
                at: ctx.at(*line, key),
                message: format!("`{sum}` is not a SHA-256 (64 hex digits)"),
            });
        }
        out.push((name.clone(), sum.to_ascii_lowercase(), *line));
    }
    Ok(out)
}

fn steps(ctx: &Ctx<'_>, node: &Node, params: &[Param]) -> Result<Vec<Step>, RecipeError> {
    let V::Array(items) = &node.v else {
        return Err(ctx.mismatch(node, "steps", "an array of tables ([[steps]])"));
    };
    let mut out: Vec<Step> = Vec::new();
    let mut outputs: Vec<(String, usize)> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let base = format!("steps[{index}]");
        let table = as_table(ctx, item, &base)?;
        let get = |k: &str| table.iter().find(|(key, _, _)| key == k);
        // The line of a step: its `id` (or first) key, which is what a reader looks at.
        let line = get("id")
            .or(table.first())
            .map_or(item.line, |(_, l, _)| *l);
        let Some((_, _, id_node)) = get("id") else {
            return Err(RecipeError::MissingKey {
                at: ctx.at(line, format!("{base}.id")),
            });
        };
        let id = ctx.string(id_node, &format!("{base}.id"))?;
        if !is_id(&id) {
            return Err(RecipeError::Invalid {
                at: ctx.at(id_node.line, format!("{base}.id")),
                message: format!("`{id}` is not an id (letters, digits, `_`, `-`)"),
            });
        }
        if let Some(first) = out.iter().find(|s| s.id == id) {
            return Err(RecipeError::Duplicate {
                at: ctx.at(id_node.line, format!("{base}.id")),
                name: id,
                first_line: first.line,
            });
        }
        let Some((_, _, op_node)) = get("op") else {
            return Err(RecipeError::MissingKey {
                at: ctx.at(line, format!("{base}.op")),
            });
        };
        let op_name = ctx.string(op_node, &format!("{base}.op"))?;
        let Some(op) = StepOp::from_name(&op_name) else {
            return Err(RecipeError::UnknownStep {
                at: ctx.at(op_node.line, format!("{base}.op")),
                op: op_name,
                known: StepOp::ALL
                    .iter()
                    .map(|o| o.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        if let Some(reason) = op.not_available() {
            return Err(RecipeError::NotAvailable {
                at: ctx.at(op_node.line, format!("{base}.op")),
                op: op_name,
                reason: reason.to_owned(),
            });
        }
        let mut step = Step {
            id,
            op,
            line,
            index,
            output: None,
            args: Vec::new(),
        };
        for (key, kline, v) in table {
            let path = format!("{base}.{key}");
            match key.as_str() {
                "id" | "op" => {}
                "output" => {
                    let name = ctx.string(v, &path)?;
                    if escapes(&name) {
                        return Err(RecipeError::PathEscape {
                            at: ctx.at(v.line, path),
                            path: name,
                        });
                    }
                    if let Some((_, first_line)) = outputs.iter().find(|(n, _)| *n == name) {
                        return Err(RecipeError::Duplicate {
                            at: ctx.at(v.line, path),
                            name,
                            first_line: *first_line,
                        });
                    }
                    outputs.push((name.clone(), v.line));
                    step.output = Some(name);
                }
                _ => {
                    let Some(field) = field_of(&step, key) else {
                        let mut allowed: Vec<&str> = vec!["id", "op", "output"];
                        allowed.extend(op.fields().iter().map(|f| f.key));
                        return Err(unknown_key(ctx, *kline, path, &allowed));
                    };
                    let arg = arg(ctx, &field, v, &path, params)?;
                    step.args.push((key.clone(), arg, v.line));
                }
            }
        }
        for field in op.fields() {
            if field.required && step.arg(field.key).is_none() {
                return Err(RecipeError::MissingKey {
                    at: ctx.at(line, format!("{base}.{}", field.key)),
                });
            }
        }
        op_rules(ctx, &step)?;
        out.push(step);
    }
    Ok(out)
}

/// Rules that involve several keys of one step.
fn op_rules(ctx: &Ctx<'_>, step: &Step) -> Result<(), RecipeError> {
    if step.op == StepOp::Grid {
        let has = |k| step.arg(k).is_some();
        let from_shapes = has("shapes") || has("resolution");
        let explicit = has("width") || has("height") || has("transform");
        let ok = if from_shapes {
            has("shapes") && has("resolution") && !explicit
        } else {
            has("width") && has("height") && has("transform")
        };
        if !ok {
            return Err(RecipeError::Invalid {
                at: ctx.at(step.line, step.key("op")),
                message: "a grid step takes either `shapes` + `resolution` or \
                          `width` + `height` + `transform`"
                    .into(),
            });
        }
    }
    if matches!(step.op, StepOp::Write | StepOp::TimeReads) && step.output.is_none() {
        return Err(RecipeError::MissingKey {
            at: ctx.at(step.line, step.key("output")),
        });
    }
    if step.op == StepOp::Slice
        && let Some(Arg::Refs(r)) = step.arg("arrays")
        && r.is_empty()
    {
        return Err(RecipeError::Invalid {
            at: ctx.at(step.arg_line("arrays"), step.key("arrays")),
            message: "slice needs at least one array".into(),
        });
    }
    Ok(())
}

fn arg(
    ctx: &Ctx<'_>,
    field: &Field,
    v: &Node,
    path: &str,
    params: &[Param],
) -> Result<Arg, RecipeError> {
    // `"$name"` binds a parameter wherever a scalar goes.
    if let V::Str(s) = &v.v
        && let Some(name) = s.strip_prefix('$')
        && matches!(
            field.ty,
            FieldTy::Str
                | FieldTy::Choice(_)
                | FieldTy::Int { .. }
                | FieldTy::Float { .. }
                | FieldTy::Bool
        )
    {
        let Some(p) = params.iter().find(|p| p.name == name) else {
            let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
            return Err(RecipeError::UnknownParameter {
                at: ctx.at(v.line, path),
                name: name.to_owned(),
                known: if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                },
            });
        };
        if !field.ty.accepts_param(p.ty) {
            return Err(RecipeError::TypeMismatch {
                at: ctx.at(v.line, path),
                expected: field.ty.describe(),
                found: format!("parameter `{name}` of type {}", p.ty.name()),
            });
        }
        return Ok(Arg::Param(name.to_owned()));
    }
    let value = match (&field.ty, &v.v) {
        (FieldTy::Str | FieldTy::Choice(_), V::Str(s)) => ParamValue::Str(s.clone()),
        (FieldTy::Int { .. }, V::Int(i)) => ParamValue::Int(*i),
        (FieldTy::Float { .. }, V::Int(i)) => ParamValue::Float(*i as f64),
        (FieldTy::Float { .. }, V::Float(x)) => ParamValue::Float(*x),
        (FieldTy::Bool, V::Bool(b)) => ParamValue::Bool(*b),
        (FieldTy::Path, V::Str(s)) => {
            if escapes(s) {
                return Err(RecipeError::PathEscape {
                    at: ctx.at(v.line, path),
                    path: s.clone(),
                });
            }
            return Ok(Arg::Path(s.clone()));
        }
        (FieldTy::Input(_), V::Str(s)) => return Ok(Arg::Ref(s.clone())),
        (FieldTy::Inputs(_), V::Str(s)) => return Ok(Arg::Refs(vec![s.clone()])),
        (FieldTy::Inputs(_), V::Array(items)) => {
            let mut ids = Vec::new();
            for (i, item) in items.iter().enumerate() {
                ids.push(ctx.string(item, &format!("{path}[{i}]"))?);
            }
            return Ok(Arg::Refs(ids));
        }
        (FieldTy::Floats(n), V::Array(items)) if items.len() == *n => {
            let mut xs = Vec::new();
            for (i, item) in items.iter().enumerate() {
                xs.push(ctx.number(item, &format!("{path}[{i}]"))?);
            }
            return Ok(Arg::Floats(xs));
        }
        _ => return Err(ctx.mismatch(v, path, &field.ty.describe())),
    };
    if let Err(allowed) = field.ty.check_range(&value) {
        return Err(RecipeError::OutOfRange {
            at: ctx.at(v.line, path),
            value: value.to_string(),
            allowed,
        });
    }
    Ok(Arg::Value(value))
}

/// Checks that every input names a step (in any order), that they form no cycle, and that
/// each input is of the kind its key takes; returns the run order.
fn graph(ctx: &Ctx<'_>, steps: &[Step]) -> Result<Vec<usize>, RecipeError> {
    let index_of = |id: &str| steps.iter().position(|s| s.id == id);
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(steps.len());
    for step in steps {
        let mut d = Vec::new();
        for (key, id) in step.inputs() {
            let Some(j) = index_of(id) else {
                return Err(RecipeError::MissingInput {
                    at: ctx.at(step.arg_line(key), step.key(key)),
                    id: id.to_owned(),
                });
            };
            d.push(j);
        }
        deps.push(d);
    }
    let order = topological(ctx, steps, &deps)?;
    for step in steps {
        for (key, id) in step.inputs() {
            let j = index_of(id).unwrap_or_default();
            let accepted: &[Kind] = match (step.op, key) {
                (StepOp::Plot, "input") => match step.arg("kind") {
                    Some(Arg::Value(ParamValue::Str(k))) => plot_input(k),
                    _ => &[Kind::Array, Kind::Chips, Kind::Table, Kind::Timed],
                },
                _ => match field_of(step, key).map(|f| f.ty) {
                    Some(FieldTy::Input(k) | FieldTy::Inputs(k)) => k,
                    _ => &[],
                },
            };
            let makes = steps[j].op.makes();
            if !accepted.contains(&makes) {
                let names: Vec<&str> = accepted.iter().map(|k| k.name()).collect();
                return Err(RecipeError::TypeMismatch {
                    at: ctx.at(step.arg_line(key), step.key(key)),
                    expected: names.join(" or "),
                    found: format!("step `{id}`, which makes {}", makes.name()),
                });
            }
        }
    }
    Ok(order)
}

/// Orders steps so inputs come first; a cycle is reported at its first step in file order.
fn topological(
    ctx: &Ctx<'_>,
    steps: &[Step],
    deps: &[Vec<usize>],
) -> Result<Vec<usize>, RecipeError> {
    // Kahn's algorithm, taking the lowest file index first so the order is stable.
    let n = steps.len();
    let mut remaining: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let Some(next) = (0..n).find(|&i| !done[i] && remaining[i] == 0) else {
            break;
        };
        done[next] = true;
        order.push(next);
        for (i, d) in deps.iter().enumerate() {
            remaining[i] -= d.iter().filter(|&&j| j == next).count();
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Walk inputs from the first stuck step until a step repeats: that loop is a cycle.
    let start = (0..n).find(|&i| !done[i]).unwrap_or(0);
    let mut path = vec![start];
    let mut cur = start;
    let cycle = loop {
        let Some(&next) = deps[cur].iter().find(|&&j| !done[j]) else {
            break path.clone();
        };
        if let Some(pos) = path.iter().position(|&p| p == next) {
            break path[pos..].to_vec();
        }
        path.push(next);
        cur = next;
    };
    let first = cycle.iter().copied().min().unwrap_or(start);
    let rot = cycle.iter().position(|&c| c == first).unwrap_or(0);
    // `cycle` follows inputs (a reads b); print it in data-flow order (b -> a).
    let mut ids: Vec<&str> = cycle[rot..]
        .iter()
        .chain(&cycle[..rot])
        .map(|&i| steps[i].id.as_str())
        .collect();
    ids.push(steps[first].id.as_str());
    ids.reverse();
    let step = &steps[first];
    let key = step.inputs().first().map_or("id", |(k, _)| k).to_owned();
    Err(RecipeError::Cycle {
        at: ctx.at(step.arg_line(&key), step.key(&key)),
        cycle: ids.join(" -> "),
    })
}
