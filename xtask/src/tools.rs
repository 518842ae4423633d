//! Finding and installing the tools the build needs, outside the clone so later clones on
//! the same machine reuse them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::build::{Workspace, run_cmd, shown};

/// mdbook version installed when none is found (the 0.5 series; 0.5 moved the preprocessor API).
pub(crate) const MDBOOK_VERSION: &str = "0.5.4";

/// The npm registry's `binaryen` package, pinned exactly: its `wasm-opt` shrinks the release
/// wasm. (Debian's binaryen 108 produced modules that broke wasm-bindgen 0.2.130's glue at
/// run time, so the system one is never used.)
pub const BINARYEN_VERSION: &str = "132.0.0";

/// Paths of every external tool.
pub struct Tools {
    /// `wasm-bindgen` CLI, same version as the crate.
    pub wasm_bindgen: PathBuf,
    /// Directory holding wasm-bindgen and wasm-bindgen-test-runner.
    pub bin_dir: PathBuf,
    /// `mdbook`.
    pub mdbook: PathBuf,
    /// `wasm-opt` from the npm `binaryen` package at [`BINARYEN_VERSION`].
    pub wasm_opt: PathBuf,
}

impl fmt::Display for Tools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "wasm-bindgen: {}", self.wasm_bindgen.display())?;
        writeln!(f, "mdbook:       {}", self.mdbook.display())?;
        write!(f, "wasm-opt:     {}", self.wasm_opt.display())
    }
}

/// Chromium and chromedriver paths.
pub struct Browser {
    /// The Chromium binary.
    pub chromium: PathBuf,
    /// The matching chromedriver.
    pub chromedriver: PathBuf,
}

/// Where `cargo install` puts binaries: `$GEOCHIP_TOOLS/bin` or cargo's own bin directory.
fn install_root() -> (Option<PathBuf>, PathBuf) {
    if let Some(dir) = std::env::var_os("GEOCHIP_TOOLS").filter(|d| !d.is_empty()) {
        let root = PathBuf::from(dir);
        let bin = root.join("bin");
        return (Some(root), bin);
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    (None, cargo_home.join("bin"))
}

/// The directory npm-installed tools go under: `$GEOCHIP_TOOLS/npm` or `<cargo home>/geochip-npm`,
/// outside the clone like the cargo-installed ones.
fn npm_root() -> PathBuf {
    match install_root() {
        (Some(root), _) => root.join("npm"),
        (None, bin) => bin
            .parent()
            .map(|home| home.join("geochip-npm"))
            .unwrap_or_else(|| PathBuf::from("geochip-npm")),
    }
}

/// `wasm-opt` from the npm registry's `binaryen` package at exactly [`BINARYEN_VERSION`],
/// installed with `npm install --prefix <tools>/npm/binaryen-<version>` when missing.
pub fn ensure_wasm_opt() -> Result<PathBuf> {
    let prefix = npm_root().join(format!("binaryen-{BINARYEN_VERSION}"));
    let wasm_opt = prefix.join("node_modules/.bin/wasm-opt");
    // `wasm-opt --version` prints "wasm-opt version 132 (version_132)".
    let major = BINARYEN_VERSION
        .split('.')
        .next()
        .unwrap_or(BINARYEN_VERSION);
    let want = format!("wasm-opt version {major} ");
    let ok = |p: &Path| tool_version(p).is_some_and(|v| v.starts_with(&want));
    if !ok(&wasm_opt) {
        println!(
            "xtask: wasm-opt (npm binaryen {BINARYEN_VERSION}) needed (found: none at {})",
            wasm_opt.display()
        );
        std::fs::create_dir_all(&prefix)
            .with_context(|| format!("cannot create {}", prefix.display()))?;
        run_cmd(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(&prefix)
                .arg(format!("binaryen@{BINARYEN_VERSION}")),
        )
        .context("installing wasm-opt needs node and npm (Debian: apt-get install nodejs npm)")?;
        if !ok(&wasm_opt) {
            bail!(
                "wasm-opt {major} is still missing at {} after `npm install`",
                wasm_opt.display()
            );
        }
    }
    Ok(wasm_opt)
}

/// The version of a tool as it reports it, or None when it does not run.
fn tool_version(bin: &Path) -> Option<String> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn cargo_install(krate: &str, version: &str) -> Result<()> {
    let (root, _) = install_root();
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["install", krate, "--version", version]);
    if let Some(root) = root {
        cmd.arg("--root").arg(root);
    }
    println!(
        "xtask: installing {krate} {version} (takes a few minutes on 2 cores, once per machine)"
    );
    run_cmd(&mut cmd)
}

/// The `wasm-bindgen` crate version pinned in Cargo.lock.
pub fn locked_wasm_bindgen_version(ws: &Workspace) -> Result<String> {
    let lock = std::fs::read_to_string(ws.root.join("Cargo.lock"))
        .context("Cargo.lock: cannot read (run `cargo generate-lockfile`)")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\""
            && let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
        {
            return Ok(v.trim_matches('"').to_owned());
        }
    }
    bail!("Cargo.lock: no wasm-bindgen package found")
}

/// Makes sure the wasm32 target is installed for the active toolchain.
pub fn ensure_wasm_target() -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match out {
        Ok(o) if String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown") => Ok(()),
        Ok(_) => run_cmd(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"])),
        Err(_) => {
            // No rustup: trust that the toolchain has the target; cargo reports clearly if not.
            println!(
                "xtask: rustup not found; assuming the wasm32-unknown-unknown target is installed"
            );
            Ok(())
        }
    }
}

/// wasm-bindgen-cli at exactly the crate's version, mdbook, and wasm-opt.
pub fn ensure_all(ws: &Workspace) -> Result<Tools> {
    ensure_wasm_target()?;
    let (_, bin_dir) = install_root();
    let version = locked_wasm_bindgen_version(ws)?;
    let wasm_bindgen = bin_dir.join("wasm-bindgen");
    let want = format!("wasm-bindgen {version}");
    match tool_version(&wasm_bindgen) {
        Some(v) if v == want => {}
        found => {
            println!(
                "xtask: wasm-bindgen-cli {version} needed (found: {})",
                found.as_deref().unwrap_or("none")
            );
            cargo_install("wasm-bindgen-cli", &version)?;
        }
    }
    if tool_version(&wasm_bindgen).as_deref() != Some(want.as_str()) {
        bail!(
            "wasm-bindgen-cli {version} is still missing at {} after installing",
            wasm_bindgen.display()
        );
    }
    let mdbook = bin_dir.join("mdbook");
    let mdbook_ok = |p: &Path| tool_version(p).is_some_and(|v| v.starts_with("mdbook v0.5"));
    if !mdbook_ok(&mdbook) {
        println!(
            "xtask: mdbook 0.5 needed (found: none at {})",
            mdbook.display()
        );
        cargo_install("mdbook", MDBOOK_VERSION)?;
        if !mdbook_ok(&mdbook) {
            bail!(
                "mdbook is still missing at {} after installing",
                mdbook.display()
            );
        }
    }
    let wasm_opt = ensure_wasm_opt()?;
    Ok(Tools {
        wasm_bindgen,
        bin_dir,
        mdbook,
        wasm_opt,
    })
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Debian's chromium and chromium-driver, installed with apt-get when missing and root.
pub fn ensure_browser() -> Result<Browser> {
    let find = || {
        let chromium = which("chromium").or_else(|| which("chromium-browser"));
        let driver = which("chromedriver");
        chromium.zip(driver)
    };
    if let Some((chromium, chromedriver)) = find() {
        return Ok(Browser {
            chromium,
            chromedriver,
        });
    }
    let install = "apt-get update && apt-get install -y chromium chromium-driver";
    if !is_root() {
        bail!("chromium and chromedriver are missing; install them with: sudo sh -c '{install}'");
    }
    println!("xtask: chromium/chromedriver missing; installing Debian's packages");
    run_cmd(Command::new("apt-get").arg("update"))?;
    run_cmd(
        Command::new("apt-get")
            .args([
                "install",
                "-y",
                "--no-install-recommends",
                "chromium",
                "chromium-driver",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    let (chromium, chromedriver) =
        find().with_context(|| format!("chromium/chromedriver still missing after `{install}`"))?;
    println!(
        "xtask: using {} and {}",
        shown(&chromium),
        shown(&chromedriver)
    );
    Ok(Browser {
        chromium,
        chromedriver,
    })
}

/// The system MPI (for `geochip-bench --features mpi`): `mpirun` and `mpicc` (Debian's
/// openmpi-bin, libopenmpi-dev) plus libclang (libclang-dev) for the mpi crate's bindgen;
/// installed with apt-get when missing and root.
pub fn ensure_mpi() -> Result<()> {
    let libclang = || {
        Command::new("ldconfig")
            .arg("-p")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("libclang"))
            || std::fs::read_dir("/usr/lib")
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    e.file_name().to_string_lossy().starts_with("llvm-")
                        && e.path().join("lib/libclang.so").exists()
                })
    };
    let present = || which("mpirun").is_some() && which("mpicc").is_some() && libclang();
    if present() {
        return Ok(());
    }
    let packages = ["openmpi-bin", "libopenmpi-dev", "libclang-dev"];
    let install = format!(
        "apt-get update && apt-get install -y {}",
        packages.join(" ")
    );
    if !is_root() {
        bail!(
            "MPI (mpirun, mpicc) or libclang is missing; install them with: sudo sh -c '{install}'"
        );
    }
    println!(
        "xtask: MPI or libclang missing; installing Debian's {}",
        packages.join(", ")
    );
    run_cmd(Command::new("apt-get").arg("update"))?;
    run_cmd(
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    if !present() {
        bail!("MPI or libclang still missing after `{install}`");
    }
    Ok(())
}
