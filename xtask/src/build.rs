//! Building the wasm module and the book.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::tools;

/// The workspace root and its build directory.
pub struct Workspace {
    /// Repository root (holds the workspace Cargo.toml).
    pub root: PathBuf,
    /// Cargo's target directory (`CARGO_TARGET_DIR` or `<root>/target`).
    pub target_dir: PathBuf,
}

impl Workspace {
    /// Finds the workspace from xtask's own manifest directory.
    pub fn locate() -> Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("xtask has no parent directory")?
            .to_path_buf();
        let target_dir = match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
            Some(d) => {
                let d = PathBuf::from(d);
                if d.is_absolute() { d } else { root.join(d) }
            }
            None => root.join("target"),
        };
        Ok(Self { root, target_dir })
    }

    /// Where `cargo xtask book` writes the static site by default.
    pub fn book_dir(&self) -> PathBuf {
        self.target_dir.join("geochip-book")
    }

    /// A `cargo` command run from the workspace root.
    pub fn cargo(&self) -> Command {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.current_dir(&self.root);
        cmd
    }
}

/// A path relative to the current directory when possible, for shorter logs.
pub fn shown(p: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| p.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| p.to_path_buf())
        .display()
        .to_string()
}

/// Prints a command as a shell line, runs it, and fails when it fails.
pub fn run_cmd(cmd: &mut Command) -> Result<()> {
    let line = describe(cmd);
    println!("$ {line}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start `{line}` (is the program installed?)"))?;
    if !status.success() {
        bail!("`{line}` failed with {status}");
    }
    Ok(())
}

/// Like [`run_cmd`] but also returns stdout+stderr (echoed as it is captured).
pub fn run_capture(cmd: &mut Command) -> Result<String> {
    let line = describe(cmd);
    println!("$ {line}");
    let out = cmd
        .output()
        .with_context(|| format!("cannot start `{line}` (is the program installed?)"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{text}");
    if !out.status.success() {
        bail!("`{line}` failed with {}", out.status);
    }
    Ok(text)
}

fn describe(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| {
            let k = k.to_string_lossy();
            (k != "PATH")
                .then(|| format!("{k}={}", v.map(|v| v.to_string_lossy()).unwrap_or_default()))
        })
        .collect();
    parts.push(cmd.get_program().to_string_lossy().into_owned());
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// PATH with the tools' bin directory first (for wasm-bindgen-test-runner).
pub fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(p) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

/// Sizes of the wasm module before and after `wasm-opt`, in bytes, raw and gzipped (-9).
#[derive(Debug, Clone, Copy)]
pub struct WasmOptSizes {
    /// Size of wasm-bindgen's output.
    pub before: u64,
    /// The same, gzipped.
    pub before_gz: u64,
    /// Size after `wasm-opt`.
    pub after: u64,
    /// The same, gzipped.
    pub after_gz: u64,
}

/// The wasm features rustc enables by default for `wasm32-unknown-unknown` (Rust ≥ 1.87), named
/// so `wasm-opt` validates and keeps them whatever its own defaults are.
const WASM_FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Runs `wasm-opt` at optimisation `level` (`-Os`, `-Oz`) over wasm-bindgen's output in place
/// (as wasm-pack does, after wasm-bindgen, so the glue and the module stay consistent).
pub fn wasm_opt_level(t: &tools::Tools, wasm: &Path, level: &str) -> Result<WasmOptSizes> {
    let sizes = |p: &Path| -> Result<(u64, u64)> {
        let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        Ok((bytes.len() as u64, crate::metrics::gzip_len(&bytes)?))
    };
    let (before, before_gz) = sizes(wasm)?;
    let tmp = wasm.with_extension("opt.wasm");
    run_cmd(
        Command::new(&t.wasm_opt)
            .arg(level)
            .args(WASM_FEATURES)
            .arg(wasm)
            .arg("-o")
            .arg(&tmp),
    )?;
    std::fs::rename(&tmp, wasm)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), wasm.display()))?;
    let (after, after_gz) = sizes(wasm)?;
    println!(
        "xtask: wasm-opt {level} {}: {before} → {after} bytes ({:.1}% smaller); gzipped \
         {before_gz} → {after_gz} bytes",
        wasm.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default(),
        100.0 * (before as f64 - after as f64) / before as f64
    );
    Ok(WasmOptSizes {
        before,
        before_gz,
        after,
        after_gz,
    })
}

/// One of the book's wasm modules: which package to build, with which cargo profile and
/// wasm-opt level. Each page loads only the modules it uses (see ARCHITECTURE.md).
pub struct WasmModule {
    /// The cargo package (`geochip-wasm`, …); its library file is the package name with `_`.
    pub package: &'static str,
    /// The cargo profile (`release`, `wasm-small`).
    pub profile: &'static str,
    /// The wasm-opt level (`-Os`, `-Oz`).
    pub opt_level: &'static str,
}

/// The three lessons without stacking or Zarr (grids, slicing, burning), size-first like the
/// others: with exact coverage (i_overlay) inside, `release` + `-Os` was 268 KB gzipped,
/// `wasm-small` + `-Oz` is 206 KB, and the lessons' computations stay far under a frame.
pub const LESSONS: WasmModule = WasmModule {
    package: "geochip-wasm",
    profile: "wasm-small",
    opt_level: "-Oz",
};

/// The stacking lesson's own module (COG reading, stacking, warping), size-first, so the
/// other lessons do not download it; only `stacking.html` loads it.
pub const STACKING: WasmModule = WasmModule {
    package: "geochip-wasm-stacking",
    profile: "wasm-small",
    opt_level: "-Oz",
};

/// The recipe worker's module (recipe runtime, Zarr layer, SVG renderer), size-first; only
/// the cookbook chapters load it.
pub const RECIPE: WasmModule = WasmModule {
    package: "geochip-wasm-recipe",
    profile: "wasm-small",
    opt_level: "-Oz",
};

/// Builds `module` for wasm32, runs wasm-bindgen and then wasm-opt on it; returns the
/// package dir (`<target>/<package>-pkg`) and the module's sizes before and after wasm-opt.
pub fn wasm_module(
    ws: &Workspace,
    t: &tools::Tools,
    module: &WasmModule,
) -> Result<(PathBuf, WasmOptSizes)> {
    run_cmd(ws.cargo().args([
        "build",
        "--profile",
        module.profile,
        "-p",
        module.package,
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    let stem = module.package.replace('-', "_");
    let wasm = ws
        .target_dir
        .join("wasm32-unknown-unknown")
        .join(module.profile)
        .join(format!("{stem}.wasm"));
    let pkg = ws.target_dir.join(format!("{}-pkg", module.package));
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg).with_context(|| format!("cannot clear {}", pkg.display()))?;
    }
    run_cmd(
        Command::new(&t.wasm_bindgen)
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(&pkg)
            .arg(&wasm),
    )?;
    let sizes = wasm_opt_level(t, &pkg.join(format!("{stem}_bg.wasm")), module.opt_level)?;
    Ok((pkg, sizes))
}

pub(crate) fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let dst = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dst)?;
        } else {
            std::fs::copy(entry.path(), &dst).with_context(|| {
                format!(
                    "cannot copy {} to {}",
                    entry.path().display(),
                    dst.display()
                )
            })?;
        }
    }
    Ok(())
}

/// Copies the sample data next to the book and writes what lessons need precomputed natively:
/// each GeoTIFF's grid as JSON (`<name>.grid.json`, read with `geochip::geotiff`).
fn lesson_data(ws: &Workspace, data: &Path) -> Result<()> {
    copy_dir(&ws.root.join("cookbooks/data"), data)?;
    for entry in std::fs::read_dir(data)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("tif") {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let info = geochip::geotiff::read_info(&name, &bytes)?;
        let json = serde_json::to_string(&info.grid)?;
        let stem = name.trim_end_matches(".tif");
        std::fs::write(data.join(format!("{stem}.grid.json")), json)?;
    }
    Ok(())
}

/// Builds the whole static site: the book with the wasm package and lesson scripts beside it.
pub fn book(ws: &Workspace, out: Option<PathBuf>) -> Result<PathBuf> {
    let t = tools::ensure_all(ws)?;
    let (pkg, sizes) = wasm_module(ws, &t, &LESSONS)?;
    let (stacking_pkg, _) = wasm_module(ws, &t, &STACKING)?;
    let (recipe_pkg, _) = wasm_module(ws, &t, &RECIPE)?;
    let out = out.unwrap_or_else(|| ws.book_dir());
    // The cookbook chapters' preprocessor runs every recipe natively during mdBook's build.
    let pre = crate::cookbooks::preprocessor(ws)?;
    crate::cookbooks::mdbook(ws, &t, &pre, &out)?;
    copy_dir(&pkg, &out.join("wasm/pkg"))?;
    copy_dir(&stacking_pkg, &out.join("wasm/pkg"))?;
    copy_dir(&recipe_pkg, &out.join("wasm/pkg"))?;
    crate::cookbooks::copy_data(&ws.root, &out)?;
    copy_dir(&ws.root.join("wasm/js"), &out.join("wasm/lessons"))?;
    lesson_data(ws, &out.join("data"))?;
    crate::metrics::report_build(&out, sizes)?;
    crate::offline::check_book(&out)?;
    crate::theme::check_highlight(&out)?;
    println!("xtask: static book ready in {}", shown(&out));
    Ok(out)
}
