//! `cargo xtask test`: every check CI runs, in order, each printing what it runs.

use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::build::{self, Workspace, path_with, run_capture, run_cmd};
use crate::{browser, handout, tools};

/// Crates the core must never depend on: bindings, GPU, and anything that links C.
const FORBIDDEN_IN_CORE: [&str; 6] = ["wasm-bindgen", "js-sys", "web-sys", "cudarc", "cc", "zstd"];

/// What the core's `zarr` feature may add to the tree, and only it (the first pass proves the
/// rest of the core is clean). zarrs 0.23 declares `libz-sys` as a build-dependency (a version
/// pin: its build script finds or compiles zlib for the *host* with `cc`; nothing is linked
/// into geochip), and on wasm32 it turns on getrandom's `wasm_js` and uuid's `js` features
/// (`wasm-bindgen`, `js-sys`). Every zarrs 0.22/0.23 release does both; zstd stays forbidden.
const ZARR_ALLOWED: [&str; 4] = ["libz-sys", "cc", "wasm-bindgen", "js-sys"];

/// `cargo tree` of the core with these features, one `name version` per line.
fn core_tree(ws: &Workspace, features: &[String]) -> Result<String> {
    let mut cmd = ws.cargo();
    cmd.args(["tree", "-p", "geochip", "--no-default-features"]);
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    cmd.args([
        "--target",
        "all",
        "-e",
        "normal,build",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    run_capture(&mut cmd)
}

/// The core's features, from `cargo metadata`.
fn core_features(ws: &Workspace) -> Result<Vec<String>> {
    // Not run_capture: its text mixes in stderr and echoes the whole JSON.
    let out = ws
        .cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .context("cannot run cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("cargo metadata")?;
    let core = meta["packages"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "geochip"))
        .context("cargo metadata lists no package geochip")?;
    Ok(core["features"]
        .as_object()
        .map(|f| f.keys().cloned().collect())
        .unwrap_or_default())
}

/// The dependency boundary: the core depends on no bindings, no GPU crate and no C code, and
/// only native-bench names cudarc. Two passes: every feature but `zarr`, strictly; then with
/// `zarr`, where only [`ZARR_ALLOWED`] may appear on top.
pub fn boundary(ws: &Workspace) -> Result<()> {
    let features = core_features(ws)?;
    let strict: Vec<String> = features.iter().filter(|f| *f != "zarr").cloned().collect();
    let bad = forbidden_in_tree(&core_tree(ws, &strict)?);
    if !bad.is_empty() {
        bail!(
            "dependency boundary: the core (package geochip) must stay pure Rust without bindings \
             or GPU crates, but depends on: {}",
            bad.join(", ")
        );
    }
    if features.iter().any(|f| f == "zarr") {
        let (allowed, bad): (Vec<String>, Vec<String>) =
            forbidden_in_tree(&core_tree(ws, &features)?)
                .into_iter()
                .partition(|l| ZARR_ALLOWED.contains(&l.split_whitespace().next().unwrap_or("")));
        if !bad.is_empty() {
            bail!(
                "dependency boundary: the core's `zarr` feature brings in {} (only {ZARR_ALLOWED:?} \
                 are known and allowed)",
                bad.join(", ")
            );
        }
        println!(
            "  note: feature `zarr` (zarrs) adds only {}",
            allowed.join(", ")
        );
    }
    for manifest in [
        "Cargo.toml",
        "core/Cargo.toml",
        "wasm/Cargo.toml",
        "tests/Cargo.toml",
        "xtask/Cargo.toml",
    ] {
        let text = std::fs::read_to_string(ws.root.join(manifest))
            .with_context(|| format!("cannot read {manifest}"))?;
        if text
            .lines()
            .any(|l| !l.trim_start().starts_with('#') && l.contains("cudarc"))
            && manifest != "Cargo.toml"
        {
            bail!("dependency boundary: {manifest} names cudarc; only native-bench may");
        }
    }
    println!(
        "  ok: geochip (all features but `zarr`) depends on none of {FORBIDDEN_IN_CORE:?} nor any \
         -sys crate"
    );
    Ok(())
}

/// The forbidden packages in `cargo tree --prefix none --format {p}` output, deduplicated.
fn forbidden_in_tree(tree: &str) -> Vec<String> {
    let mut bad: Vec<String> = tree
        .lines()
        .filter(|line| {
            let name = line.split_whitespace().next().unwrap_or("");
            FORBIDDEN_IN_CORE.contains(&name) || name.ends_with("-sys")
        })
        .map(|line| line.trim().to_owned())
        .collect();
    bad.sort();
    bad.dedup();
    bad
}

/// wasm-bindgen-test of the wasm crate in headless Chromium; fails when no test ran.
fn wasm_browser_tests(ws: &Workspace, t: &tools::Tools, b: &tools::Browser) -> Result<()> {
    let out = run_capture(
        ws.cargo()
            .args([
                "test",
                "-p",
                "geochip-wasm",
                "--target",
                "wasm32-unknown-unknown",
            ])
            .env("CHROMEDRIVER", &b.chromedriver)
            .env("PATH", path_with(&t.bin_dir)),
    )?;
    let passed: usize = out
        .lines()
        .filter(|l| l.starts_with("test result: ok."))
        .filter_map(|l| l.split_whitespace().nth(3)?.parse::<usize>().ok())
        .sum();
    if passed == 0 {
        bail!("wasm-bindgen-test ran no test in the browser");
    }
    if !out.contains("headless") && !out.to_lowercase().contains("chrome") {
        println!("  note: runner output does not name the browser; CHROMEDRIVER was set");
    }
    println!("  ok: {passed} wasm tests passed in headless Chromium");
    Ok(())
}

/// Every cookbook (`cookbooks/*/recipe.toml`) run natively with `geochip run --check`: its
/// outputs must equal the checksums the recipe records.
fn cookbooks(ws: &Workspace) -> Result<()> {
    let mut dirs: Vec<_> = std::fs::read_dir(ws.root.join("cookbooks"))
        .context("cannot list cookbooks/")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("recipe.toml").is_file())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        bail!("no cookbooks/*/recipe.toml found");
    }
    for dir in &dirs {
        let rel = dir.strip_prefix(&ws.root).unwrap_or(dir);
        run_cmd(
            ws.cargo()
                .args(["run", "-q", "-p", "geochip-bench", "--bin", "geochip", "--"])
                .args(["run", &rel.display().to_string(), "--check", "--quiet"]),
        )?;
    }
    println!(
        "  ok: {} cookbook(s) match their recorded checksums",
        dirs.len()
    );
    Ok(())
}

/// The CUDA/GDS code compiles, is lint-clean, and its tests pass (printing "skipped: <reason>"
/// where there is no GPU): cudarc loads libcuda at run time, so no CUDA is needed to build.
fn gpu_features(ws: &Workspace) -> Result<()> {
    let features = ["-p", "geochip-bench", "--features", "cuda,gds"];
    run_cmd(ws.cargo().arg("clippy").args(features).args([
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run_cmd(ws.cargo().arg("test").args(features))
}

/// The mpi feature builds against the system MPI and `mpirun -np 2` aggregates two ranks
/// (installs Debian's openmpi-bin, libopenmpi-dev and libclang-dev when missing, as root).
fn mpi(ws: &Workspace) -> Result<()> {
    tools::ensure_mpi()?;
    run_cmd(ws.cargo().args([
        "test",
        "-p",
        "geochip-bench",
        "--features",
        "mpi",
        "--test",
        "cli_bench",
        "mpi_",
    ]))
}

/// Runs every step, reports each, and fails if any failed.
pub fn run_all(ws: &Workspace) -> Result<()> {
    let start = Instant::now();
    let tools = tools::ensure_all(ws)?;
    let browser = tools::ensure_browser()?;
    let scratch = ws.target_dir.join("xtask-scratch");
    std::fs::create_dir_all(&scratch)?;

    type Step<'a> = (&'a str, Box<dyn Fn() -> Result<()> + 'a>);
    let steps: Vec<Step<'_>> = vec![
        (
            "fmt",
            Box::new(|| run_cmd(ws.cargo().args(["fmt", "--all", "--check"]))),
        ),
        (
            "clippy",
            Box::new(|| {
                run_cmd(ws.cargo().args([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ]))
            }),
        ),
        (
            "test",
            Box::new(|| run_cmd(ws.cargo().args(["test", "--workspace"]))),
        ),
        ("cookbooks", Box::new(|| cookbooks(ws))),
        (
            "wasm32 build",
            Box::new(|| {
                run_cmd(ws.cargo().args([
                    "check",
                    "--target",
                    "wasm32-unknown-unknown",
                    "-p",
                    "geochip",
                    "-p",
                    "geochip-wasm",
                    "-p",
                    "geochip-wasm-recipe",
                ]))
            }),
        ),
        ("dependency boundary", Box::new(|| boundary(ws))),
        ("gpu features build", Box::new(|| gpu_features(ws))),
        ("mpi", Box::new(|| mpi(ws))),
        (
            "zarr-python",
            Box::new(|| crate::zarr_python::zarr_python(ws)),
        ),
        (
            "wasm tests in Chromium",
            Box::new(|| wasm_browser_tests(ws, &tools, &browser)),
        ),
        ("book", Box::new(|| build::book(ws, None).map(|_| ()))),
        (
            "lessons in Chromium",
            Box::new(|| browser::lesson_e2e(&ws.book_dir(), &ws.root, &browser, &scratch)),
        ),
        (
            "handout PDF",
            Box::new(|| handout::handout(ws, None, false, false).map(|_| ())),
        ),
    ];

    let mut results = Vec::new();
    for (name, step) in &steps {
        println!("\n==> xtask test: {name}");
        let t = Instant::now();
        let r = step();
        if let Err(e) = &r {
            eprintln!("xtask: step '{name}' FAILED: {e:#}");
        }
        results.push((*name, r.is_ok(), t.elapsed()));
    }
    println!("\n==> summary");
    for (name, ok, d) in &results {
        println!(
            "  {:<24} {:>8.1}s  {}",
            name,
            d.as_secs_f64(),
            if *ok { "ok" } else { "FAILED" }
        );
    }
    let failed = results.iter().filter(|r| !r.1).count();
    println!("  total {:.1}s", start.elapsed().as_secs_f64());
    println!("xtask: {} passed, {failed} failed", results.len() - failed);
    if failed > 0 {
        bail!("{failed} step(s) failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_flags_bindings_gpu_and_c() {
        let clean = "geochip v0.1.0 (/x/core)\nndarray v0.17.2\ntiff v0.11.3\nflate2 v1.1.0\n";
        assert!(forbidden_in_tree(clean).is_empty());
        let dirty = "geochip v0.1.0 (/x/core)\nwasm-bindgen v0.2.130\ncudarc v0.19.10\n\
                     zstd-sys v2.0.0\ncc v1.2.0\nwasm-bindgen v0.2.130\n";
        assert_eq!(
            forbidden_in_tree(dirty),
            vec![
                "cc v1.2.0",
                "cudarc v0.19.10",
                "wasm-bindgen v0.2.130",
                "zstd-sys v2.0.0"
            ]
        );
    }
}
