//! `cargo xtask compare`: geochip and the Python anchors on the same inputs, in the same run.
//!
//! 1. a venv under the target dir (`<target>/compare-venv`) with the pinned anchors of
//!    `xtask/compare/requirements.txt` from PyPI (reinstalled when the pins change);
//! 2. `geochip bench workloads` writes the benchmark inputs (cubes as .npy, polygons as
//!    GeoJSON, stacking COGs + STAC items) — the very data `geochip bench` uses;
//! 3. `geochip bench slicing rasterize stacking` times ours (appending to
//!    `<target>/xtask-scratch/compare/results/geochip-bench.jsonl`);
//! 4. `xtask/compare/anchors.py` times xbatcher / numpy / rasterio / odc-stac / stackstac on
//!    the exported files;
//! 5. a table of our and their best times and the ratio theirs/ours.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::build::{Workspace, run_capture, run_cmd};

/// Creates (or reuses) the venv with the pinned anchors; returns its python.
fn ensure_venv(ws: &Workspace) -> Result<PathBuf> {
    let venv = ws.target_dir.join("compare-venv");
    let python = venv.join("bin").join("python");
    let req = ws.root.join("xtask/compare/requirements.txt");
    let wanted =
        std::fs::read_to_string(&req).with_context(|| format!("{}: cannot read", req.display()))?;
    let marker = venv.join("geochip-requirements.txt");
    if python.is_file() && std::fs::read_to_string(&marker).ok().as_deref() == Some(&wanted) {
        return Ok(python);
    }
    let py = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    println!(
        "xtask: creating the anchors' venv in {} (once; a few minutes)",
        venv.display()
    );
    run_cmd(Command::new(&py).args(["-m", "venv"]).arg(&venv)).with_context(|| {
        format!(
            "cannot create a Python venv with `{py} -m venv` (Debian: apt-get install python3-venv; \
             or set PYTHON to a python3 with venv)"
        )
    })?;
    run_cmd(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&req),
    )?;
    std::fs::write(&marker, wanted)?;
    Ok(python)
}

/// Our results of the latest run in `results` (records after its `run` line).
fn latest_run(results: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(results)
        .with_context(|| format!("{}: cannot read", results.display()))?;
    let recs: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let run_id = recs
        .iter()
        .rev()
        .find(|r| r["kind"] == "run")
        .and_then(|r| r["run_id"].as_str())
        .context("no run recorded")?
        .to_owned();
    Ok(recs
        .into_iter()
        .filter(|r| r["kind"] == "result" && r["run_id"] == run_id.as_str())
        .collect())
}

/// Runs the comparison and prints the table.
pub fn compare(ws: &Workspace, quick: bool, repeats: usize) -> Result<()> {
    let python = ensure_venv(ws)?;
    // The bench profile: optimised like release, thin LTO (faster to build than release).
    run_cmd(ws.cargo().args([
        "build",
        "--profile",
        "bench",
        "-p",
        "geochip-bench",
        "--bin",
        "geochip",
    ]))?;
    let bin = ws.target_dir.join("release").join("geochip");
    if !bin.is_file() {
        bail!(
            "{}: the geochip binary is missing after the build",
            bin.display()
        );
    }
    let scratch = ws.target_dir.join("xtask-scratch").join("compare");
    let workloads = scratch.join(if quick {
        "workloads-quick"
    } else {
        "workloads"
    });
    let results_dir = scratch.join("results");
    let reps = repeats.to_string();
    let mut w = Command::new(&bin);
    w.args(["bench", "workloads", "--force", "--out"])
        .arg(&workloads);
    let mut ours = Command::new(&bin);
    ours.args([
        "bench",
        "slicing",
        "rasterize",
        "stacking",
        "--repeats",
        &reps,
        "--out",
    ])
    .arg(&results_dir)
    .current_dir(&ws.root);
    if quick {
        w.arg("--quick");
        ours.arg("--quick");
    }
    run_cmd(&mut w)?;
    run_capture(&mut ours)?;
    let our_results = latest_run(&results_dir.join("geochip-bench.jsonl"))?;
    let theirs_path = scratch.join("theirs.json");
    run_cmd(
        Command::new(&python)
            .arg(ws.root.join("xtask/compare/anchors.py"))
            .arg("--manifest")
            .arg(workloads.join("manifest.json"))
            .args(["--repeats", &reps, "--out"])
            .arg(&theirs_path),
    )?;
    let theirs: Value = serde_json::from_str(
        &std::fs::read_to_string(&theirs_path)
            .with_context(|| format!("{}: cannot read", theirs_path.display()))?,
    )?;
    print_table(&our_results, &theirs);
    Ok(())
}

fn print_table(ours: &[Value], theirs: &Value) {
    println!(
        "\n==> geochip vs the anchors, same inputs, same run (best of the repetitions; \
         theirs/ours > 1 means geochip is faster)\n"
    );
    println!(
        "{:<36} {:<18} {:<38} {:>10} {:>10} {:>11}",
        "workload", "ours", "theirs", "ours s", "theirs s", "theirs/ours"
    );
    let empty = Vec::new();
    let anchors = theirs["results"].as_array().unwrap_or(&empty);
    for o in ours {
        let name = o["params"]["name"].as_str().unwrap_or("");
        let case = o["case"].as_str().unwrap_or("");
        let mode = case.rsplit('/').next().unwrap_or("");
        let our_s = o["seconds"].as_f64().unwrap_or(0.0);
        for a in anchors.iter().filter(|a| a["workload"] == name) {
            let anchor = a["anchor"].as_str().unwrap_or("");
            // Rasterize rows pair the same rule; slicing rows pair every gather with every anchor.
            let is_rule = matches!(anchor, "centre" | "all_touched");
            if is_rule && anchor != mode {
                continue;
            }
            let their_s = a["seconds"].as_f64().unwrap_or(0.0);
            let tool = a["tool"].as_str().unwrap_or("");
            let label = if is_rule {
                tool.to_owned()
            } else {
                format!("{anchor}: {tool}")
            };
            println!(
                "{:<36} {:<18} {:<38} {:>10.4} {:>10.4} {:>10.1}x",
                name,
                mode,
                label,
                our_s,
                their_s,
                if our_s > 0.0 { their_s / our_s } else { 0.0 }
            );
        }
    }
    for s in theirs["skipped"].as_array().unwrap_or(&empty) {
        println!(
            "{}: skipped: {}",
            s["workload"].as_str().unwrap_or(""),
            s["reason"].as_str().unwrap_or("")
        );
    }
    println!(
        "\npython {}, {}",
        theirs["python"].as_str().unwrap_or("?"),
        theirs["versions"]
    );
    println!("{}", theirs["kvikio"].as_str().unwrap_or(""));
}
