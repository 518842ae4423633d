//! The cookbook chapters' part of `cargo xtask book`: the mdBook preprocessor that runs each
//! recipe natively at build time, the recipe worker's own wasm module (the runtime with the
//! Zarr layer, loaded only by cookbook chapters), and each cookbook's recipe and data copied
//! next to the pages for the worker to fetch.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::browser::{Session, open_lesson};
use crate::build::{Workspace, copy_dir, run_cmd};
use crate::tools;

/// The environment variable through which mdBook takes `preprocessor.geochip.command`.
pub const PREPROCESSOR_ENV: &str = "MDBOOK_PREPROCESSOR__GEOCHIP__COMMAND";

/// Builds `geochip-book-preprocessor` (native-bench, debug profile like `geochip run` in the
/// cookbooks step) and returns the binary's path.
pub fn preprocessor(ws: &Workspace) -> Result<PathBuf> {
    run_cmd(ws.cargo().args([
        "build",
        "-p",
        "geochip-bench",
        "--bin",
        "geochip-book-preprocessor",
    ]))?;
    let exe = ws.target_dir.join("debug").join(format!(
        "geochip-book-preprocessor{}",
        std::env::consts::EXE_SUFFIX
    ));
    if !exe.is_file() {
        bail!(
            "cargo built the preprocessor but {} is missing",
            exe.display()
        );
    }
    Ok(exe)
}

/// mdBook over the book with the preprocessor built above (instead of book.toml's
/// `cargo run` fallback).
pub fn mdbook(ws: &Workspace, t: &tools::Tools, pre: &Path, out: &Path) -> Result<()> {
    run_cmd(
        Command::new(&t.mdbook)
            .env(PREPROCESSOR_ENV, pre)
            .arg("build")
            .arg(ws.root.join("book"))
            .arg("--dest-dir")
            .arg(out),
    )
}

/// The cookbooks: every `cookbooks/NAME/` holding a `recipe.toml`, sorted.
pub fn list(repo: &Path) -> Result<Vec<String>> {
    let dir = repo.join("cookbooks");
    let mut names = Vec::new();
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
    {
        let path = entry?.path();
        if path.join("recipe.toml").is_file()
            && let Some(name) = path.file_name().and_then(|n| n.to_str())
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Copies each cookbook's `recipe.toml` and `data/` to `<book>/cookbooks/NAME/`, where the
/// worker fetches them (same relative paths as in the repository).
pub fn copy_data(repo: &Path, book: &Path) -> Result<()> {
    for name in list(repo)? {
        let from = repo.join("cookbooks").join(&name);
        let to = book.join("cookbooks").join(&name);
        std::fs::create_dir_all(&to).with_context(|| format!("cannot create {}", to.display()))?;
        std::fs::copy(from.join("recipe.toml"), to.join("recipe.toml"))
            .with_context(|| format!("cannot copy {}/recipe.toml", from.display()))?;
        if from.join("data").is_dir() {
            copy_dir(&from.join("data"), &to.join("data"))?;
        }
    }
    Ok(())
}

/// One output of a native run, from `geochip run --out`'s `index.json`.
#[derive(Debug, Clone)]
struct NativeOutput {
    name: String,
    sha256: String,
    checked: bool,
}

/// `geochip run cookbooks/NAME [--set …]` natively (the debug CLI, as the cookbooks step runs
/// it) into `out`: its outputs, or the error line it printed (without `error: `).
fn run_native(
    ws_root: &Path,
    name: &str,
    sets: &[&str],
    out: &Path,
) -> Result<std::result::Result<Vec<NativeOutput>, String>> {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(ws_root)
        .args(["run", "-q", "-p", "geochip-bench", "--bin", "geochip", "--"])
        .args([
            "run",
            &format!("cookbooks/{name}"),
            "--quiet",
            "--force",
            "--out",
        ])
        .arg(out);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let o = cmd
        .output()
        .context("cannot run `cargo run -p geochip-bench`")?;
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        let line = err
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .with_context(|| format!("geochip run {name} failed without an error line:\n{err}"))?;
        return Ok(Err(line.to_owned()));
    }
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("index.json")).context("reading the native index.json")?,
    )?;
    Ok(Ok(index["outputs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| NativeOutput {
            name: o["name"].as_str().unwrap_or_default().to_owned(),
            sha256: o["sha256"].as_str().unwrap_or_default().to_owned(),
            checked: o["checked"].as_bool().unwrap_or(true),
        })
        .collect()))
}

/// Clicks the panel's Run and waits for that run to finish (outputs, error or a parameter
/// message); returns `root.geochipLast`.
fn run_panel(s: &Session, root: &str) -> Result<serde_json::Value> {
    let runs = format!("return Number(document.getElementById('{root}').dataset.runs || 0);");
    let before = s.eval(&runs)?.as_u64().unwrap_or(0);
    s.click(&format!("#{root} .geochip-run"))?;
    let took = s.wait_for(
        &format!("the {root} run to finish"),
        &format!(
            "{runs_expr} > {before}",
            runs_expr = runs.trim_end_matches(';')
        ),
        std::time::Duration::from_secs(240),
    )?;
    let last = s.eval(&format!(
        "return document.getElementById('{root}').geochipLast ?? null;"
    ))?;
    println!("    ran in the browser in {:.1} s", took.as_secs_f64());
    Ok(last)
}

/// Every cookbook chapter in the browser: its panel run with the default parameters in the
/// Web Worker, every checksummed output equal to the native run's (timings are never
/// checksummed), the build-time outputs replaced and brought back by Reset; the GeoTIFFs of
/// `chips-from-stac`, `stac-and-cogs` and `cog-to-zarr` and the served Zarr store of
/// `chunking-matters` read with Range requests answered 206. Then
/// labels-for-chips: values out of range or of the wrong type shown under their field with the
/// native message and nothing run, a recipe error shown as natively, and a missing data file
/// named by its URL.
pub fn e2e(s: &Session, base: &str, book_dir: &Path, repo: &Path, scratch: &Path) -> Result<()> {
    let names = list(repo)?;
    if names.is_empty() {
        bail!("no cookbook under {}", repo.join("cookbooks").display());
    }
    for name in &names {
        let page = format!("{name}.html");
        let root = format!("recipe-{name}");
        open_lesson(s, base, &page, &root)?;
        let native = run_native(repo, name, &[], &scratch.join("native").join(name))?
            .map_err(|e| anyhow::anyhow!("{name}: the native run failed: {e}"))?;
        let last = run_panel(s, &root)?;
        if let Some(e) = last["error"].as_str() {
            bail!("{name}: the panel's run failed: {e}");
        }
        let browser = last["outputs"]
            .as_array()
            .with_context(|| format!("{name}: the panel kept no outputs: {last}"))?;
        let (mut same, mut timings) = (0, 0);
        for n in &native {
            let b = browser
                .iter()
                .find(|o| o["name"] == n.name.as_str())
                .with_context(|| format!("{name}: the browser made no `{}`", n.name))?;
            if !n.checked {
                timings += 1;
                continue;
            }
            if b["sha256"] != n.sha256.as_str() {
                bail!(
                    "{name}: `{}` differs: browser sha256 {} vs native {}",
                    n.name,
                    b["sha256"],
                    n.sha256
                );
            }
            same += 1;
        }
        if browser.len() != native.len() {
            bail!(
                "{name}: the browser made {} outputs, natively {}",
                browser.len(),
                native.len()
            );
        }
        let shown = s.eval(&format!(
            "return document.getElementById('outputs-{name}').textContent.includes('Computed in your browser');"
        ))?;
        if shown != serde_json::Value::Bool(true) {
            bail!("{name}: the browser's outputs did not replace the build-time ones");
        }
        println!(
            "  ok: {name}: {same} checksummed outputs equal native ({timings} timing outputs not compared)"
        );
        // The COG readers and the served Zarr store: their tiles and chunks must come as HTTP
        // range requests (206), not whole files.
        if [
            "chips-from-stac",
            "stac-and-cogs",
            "cog-to-zarr",
            "chunking-matters",
        ]
        .contains(&name.as_str())
        {
            let f = s.eval(&format!(
                "return document.getElementById('{root}').geochipFetch ?? null;"
            ))?;
            if f["partial"].as_u64().unwrap_or(0) == 0 {
                bail!("{name}: no data request was answered 206 Partial Content: {f}");
            }
            println!(
                "  ok: {name} read its data with {} requests ({} answered 206, {} bytes)",
                f["requests"], f["partial"], f["bytes"]
            );
        }
        s.click(&format!("#{root} .geochip-reset"))?;
        let back = s.eval(&format!(
            "return document.getElementById('outputs-{name}').textContent.includes('Computed natively');"
        ))?;
        if back != serde_json::Value::Bool(true) {
            bail!("{name}: Reset did not bring the build-time outputs back");
        }
    }

    // Bad input, on labels-for-chips.
    let name = "labels-for-chips";
    let root = format!("recipe-{name}");
    open_lesson(s, base, &format!("{name}.html"), &root)?;
    let outputs_html = format!("return document.getElementById('outputs-{name}').innerHTML;");
    let before = s.eval(&outputs_html)?;
    for (param, value) in [("chip", "500"), ("resolution", "fine")] {
        s.click(&format!("#{root} .geochip-reset"))?;
        s.type_into(&format!("#{root}-{param}"), value)?;
        let set = format!("{param}={value}");
        let native = run_native(repo, name, &[&set], &scratch.join("native-bad"))?
            .err()
            .with_context(|| format!("{name} --set {set} ran natively"))?;
        let last = run_panel(s, &root)?;
        let under = s.text(&format!("#{root}-{param}-error"))?;
        if under != native || last["invalid"] != param {
            bail!("{name}: --set {set}: the field shows '{under}' ({last}), natively '{native}'");
        }
        if s.eval(&outputs_html)? != before {
            bail!("{name}: --set {set}: the outputs changed, but nothing may run");
        }
        println!("  ok: {param} = '{value}': under the field, as natively: {native}");
    }
    // A recipe error: 50 m pixels make a 20-pixel-wide grid, narrower than a 32-pixel chip.
    s.click(&format!("#{root} .geochip-reset"))?;
    s.type_into(&format!("#{root}-resolution"), "50")?;
    let native = run_native(repo, name, &["resolution=50"], &scratch.join("native-bad"))?
        .err()
        .context("labels-for-chips with resolution=50 ran natively")?;
    let last = run_panel(s, &root)?;
    let shown = s.text(&format!("#{root} .geochip-error"))?;
    if shown != native || last["error"] != native.as_str() {
        bail!("{name}: the page shows error '{shown}', natively '{native}'");
    }
    println!("  ok: a recipe error shows the native message: {native}");
    // A missing data file: the error names its URL.
    let data = book_dir.join("cookbooks/labels-for-chips/data/nl_plots_epsg_28992.wkt");
    let hidden = data.with_extension("wkt.hidden");
    std::fs::rename(&data, &hidden)?;
    s.click(&format!("#{root} .geochip-reset"))?;
    let last = run_panel(s, &root);
    std::fs::rename(&hidden, &data)?;
    let last = last?;
    let url = format!("{base}cookbooks/labels-for-chips/data/nl_plots_epsg_28992.wkt");
    let e = last["error"].as_str().unwrap_or_default();
    if !e.contains(&url) || !e.contains("404") {
        bail!("{name}: a missing data file should be named by its URL {url}, got: {last}");
    }
    println!("  ok: a missing data file is named by its URL: {e}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cookbook_is_listed_and_copied_with_its_data() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("repo")
            .to_path_buf();
        let names = list(&repo).expect("list");
        for n in [
            "chips-from-stac",
            "chunking-matters",
            "labels-for-chips",
            "stac-and-cogs",
        ] {
            assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
        }
        let out = std::env::temp_dir().join(format!("xtask-cookbooks-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        copy_data(&repo, &out).expect("copy");
        assert!(out.join("cookbooks/labels-for-chips/recipe.toml").is_file());
        assert!(
            out.join("cookbooks/labels-for-chips/data/nl_plots_epsg_28992.wkt")
                .is_file()
        );
        assert!(
            out.join("cookbooks/chips-from-stac/data/rgb1.tif")
                .is_file()
        );
        let _ = std::fs::remove_dir_all(&out);
    }
}
