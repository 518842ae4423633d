//! `geochip run`: runs a cookbook recipe natively (the core's recipe runtime over the
//! cookbook's directory, plots drawn by geochip-plot), writes its outputs with an
//! `index.json`, or checks them against the recipe's recorded checksums.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use geochip::recipe::{Recipe, Runtime, check_outputs};
use geochip_bench::recipe_files::{DirFiles, InstantClock};

/// Options of `geochip run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The cookbook directory (holding recipe.toml) or a recipe file.
    pub recipe: PathBuf,
    /// Set a parameter (repeatable): --set chip=64.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Write the outputs and index.json (each output's sha256) into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace outputs that already exist in --out.
    #[arg(long)]
    pub force: bool,
    /// Compare every output's sha256 with the recipe's [expected] checksums (default
    /// parameters only); fail on any difference.
    #[arg(long)]
    pub check: bool,
    /// Print the recipe's parameters as JSON (name, type, default, range) and exit.
    #[arg(long)]
    pub params: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// The recipe file of a cookbook directory or file argument.
fn recipe_path(arg: &Path) -> PathBuf {
    if arg.is_dir() {
        arg.join("recipe.toml")
    } else {
        arg.to_path_buf()
    }
}

pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let file = recipe_path(&args.recipe);
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("{}: cannot read the recipe", file.display()))?;
    let name = file.display().to_string();
    let recipe = Recipe::parse(&name, &text)?;
    if args.params {
        println!("{}", serde_json::to_string_pretty(&recipe.params_json())?);
        return Ok(());
    }
    let mut overrides = Vec::new();
    for s in &args.set {
        let Some((k, v)) = s.split_once('=') else {
            bail!("--set {s}: expected KEY=VALUE");
        };
        overrides.push((k.trim().to_owned(), v.to_owned()));
    }
    let bindings = recipe.bind(&overrides)?;
    if args.check && !bindings.are_defaults(&recipe) {
        bail!(
            "--check compares with checksums recorded for the default parameters; \
             drop --set to check, or use --out to write these outputs"
        );
    }
    if args.out.is_none() && !args.check {
        bail!("nothing to do: give --out DIR to write the outputs, or --check");
    }
    let root = file
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."))
        .canonicalize()
        .with_context(|| format!("{}: cannot resolve its directory", file.display()))?;
    // Refuse to overwrite before spending time on the run.
    if let Some(out) = &args.out
        && !args.force
    {
        let index = out.join("index.json");
        if index.exists() {
            bail!(
                "{}: already exists (an earlier run); use --force to replace it",
                index.display()
            );
        }
    }

    let files = DirFiles::new(&root).with_context(|| {
        format!(
            "{}: cannot resolve the cookbook's directory",
            root.display()
        )
    })?;
    let renderer = geochip_plot::SvgRenderer;
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(recipe.steps.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    };
    let clock = InstantClock::start();
    let outputs = Runtime::new(&files)
        .renderer(&renderer)
        .clock(&clock)
        .on_progress(|p| {
            bar.set_position(p.done as u64);
            bar.set_message(if p.step.is_empty() {
                String::new()
            } else {
                format!("{} ({})", p.step, p.op)
            });
        })
        .run(&recipe, &bindings)?;
    bar.finish_and_clear();

    if let Some(out) = &args.out {
        write_outputs(out, &recipe, &bindings, &outputs, args.force)?;
    }
    if args.check {
        let problems = check_outputs(&recipe, &outputs);
        if !problems.is_empty() {
            for p in &problems {
                eprintln!("mismatch: {p}");
            }
            bail!(
                "{}: {} of {} outputs do not match the recorded checksums",
                name,
                problems.len(),
                outputs.outputs.len()
            );
        }
        let timed = outputs.outputs.iter().filter(|o| !o.checked).count();
        let note = if timed > 0 {
            format!(" ({timed} timing outputs are not checksummed)")
        } else {
            String::new()
        };
        println!(
            "ok: {name}: {} outputs match the recorded checksums{note}",
            outputs.outputs.len() - timed
        );
    }
    Ok(())
}

fn write_outputs(
    out: &Path,
    recipe: &Recipe,
    bindings: &geochip::recipe::Bindings,
    outputs: &geochip::recipe::RunOutputs,
    force: bool,
) -> anyhow::Result<()> {
    if !force {
        for o in &outputs.outputs {
            let path = out.join(&o.name);
            if path.exists() {
                bail!(
                    "{}: already exists; use --force to replace it",
                    path.display()
                );
            }
        }
    }
    let mut entries = Vec::new();
    for o in &outputs.outputs {
        let path = out.join(&o.name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create", dir.display()))?;
        }
        std::fs::write(&path, &o.bytes)
            .with_context(|| format!("{}: cannot write", path.display()))?;
        let expected = recipe
            .expected
            .iter()
            .find(|(n, _, _)| n == &o.name)
            .map(|(_, s, _)| s.clone());
        entries.push(serde_json::json!({
            "name": o.name,
            "step": o.step,
            "kind": o.kind(),
            "bytes": o.bytes.len(),
            "sha256": o.sha256,
            "checked": o.checked,
            "expected_sha256": expected,
        }));
        let note = if o.checked {
            ""
        } else {
            "  (timings: not checksummed)"
        };
        println!("{}  {}{note}", o.sha256, path.display());
    }
    let params: serde_json::Map<String, serde_json::Value> = bindings
        .values
        .iter()
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect();
    let index = serde_json::json!({
        "recipe": recipe.file,
        "name": recipe.name,
        "params": params,
        "default_params": bindings.are_defaults(recipe),
        "outputs": entries,
    });
    let path = out.join("index.json");
    std::fs::write(&path, serde_json::to_string_pretty(&index)? + "\n")
        .with_context(|| format!("{}: cannot write", path.display()))?;
    println!("index: {}", path.display());
    Ok(())
}
