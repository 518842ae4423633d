//! `cargo xtask`: geochip's build, serve and test automation.
//!
//! - `cargo xtask book`  — build the wasm module and the mdBook into a static folder.
//! - `cargo xtask serve` — build, then serve the book on 127.0.0.1 (loopback only).
//! - `cargo xtask handout` — the book as a PDF, printed by headless Chromium.
//! - `cargo xtask test`  — every check CI runs: fmt, clippy, tests, wasm32 builds, the
//!   dependency boundary, wasm-bindgen-test in headless Chromium, the book, and the
//!   end-to-end lesson test in the browser.
//!
//! Missing tools (the wasm32 target, wasm-bindgen-cli at the wasm-bindgen crate's exact
//! version, mdbook, wasm-opt from npm's binaryen at a pinned version, Debian's chromium +
//! chromium-driver) are installed on first use.

mod browser;
mod build;
mod checks;
mod compare;
mod cookbooks;
mod handout;
mod metrics;
mod offline;
mod serve;
mod theme;
mod tools;
mod zarr_python;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  book  [--out DIR]                  build the wasm module and the book into DIR
                                     (default: <target>/geochip-book); no server
  serve [--port N] [--no-build]      build, then serve the book on http://127.0.0.1:N/
                                     (default port 8000; 0 picks a free one)
  test                               run every check CI runs (see README.md)
  lessons                            build the book, then run only the lesson tests in
                                     headless Chromium (with start-up time and size)
  handout [--out FILE.pdf] [--force] [--no-build]
                                     the book as a print-ready PDF (headless Chromium),
                                     checked to hold every chapter title; default
                                     <target>/geochip-handout.pdf (--force: replace FILE)
  boundary                           check the core's dependency boundary (no bindings,
                                     no GPU crates, no C) only
  zarr-python                        write Zarr stores natively and check them with
                                     zarr-python (pinned, in a venv under the target dir)
  tools                              install the missing tools and print where they are
  compare [--quick] [--repeats N]    time geochip and the Python anchors (xbatcher, rasterio;
                                     pinned, in a venv under the target dir) on the same
                                     inputs in one run and print a side-by-side table

environment:
  GEOCHIP_TOOLS    install wasm-bindgen-cli and mdbook under this directory (its bin/),
                   and npm's binaryen under its npm/, instead of cargo's home; reused by
                   every clone
  CARGO_TARGET_DIR shared build directory (CI points it outside the clone)";

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(cmd) = args.next() else {
        println!("{USAGE}");
        bail!("no command given");
    };
    let rest: Vec<String> = args.collect();
    let ws = build::Workspace::locate()?;
    match cmd.as_str() {
        "book" => {
            let out = flag_value(&rest, "--out")?.map(PathBuf::from);
            let dir = build::book(&ws, out)?;
            println!("book built in {}", dir.display());
        }
        "serve" => {
            let port: u16 = flag_value(&rest, "--port")?
                .map(|p| {
                    p.parse()
                        .with_context(|| format!("--port: '{p}' is not a port number"))
                })
                .transpose()?
                .unwrap_or(8000);
            let dir = if rest.iter().any(|a| a == "--no-build") {
                ws.book_dir()
            } else {
                build::book(&ws, None)?
            };
            serve::serve_forever(&dir, port)?;
        }
        "test" => checks::run_all(&ws)?,
        "boundary" => checks::boundary(&ws)?,
        "zarr-python" => zarr_python::zarr_python(&ws)?,
        "lessons" => {
            let dir = build::book(&ws, None)?;
            let browser = tools::ensure_browser()?;
            let scratch = ws.target_dir.join("xtask-scratch");
            std::fs::create_dir_all(&scratch)?;
            browser::lesson_e2e(&dir, &ws.root, &browser, &scratch)?;
        }
        "handout" => {
            let out = flag_value(&rest, "--out")?.map(PathBuf::from);
            let force = rest.iter().any(|a| a == "--force");
            let build = !rest.iter().any(|a| a == "--no-build");
            handout::handout(&ws, out, force, build)?;
        }
        "compare" => {
            let repeats: usize = flag_value(&rest, "--repeats")?
                .map(|r| {
                    r.parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .with_context(|| format!("--repeats: '{r}' is not a positive count"))
                })
                .transpose()?
                .unwrap_or(3);
            compare::compare(&ws, rest.iter().any(|a| a == "--quick"), repeats)?;
        }
        "tools" => {
            let t = tools::ensure_all(&ws)?;
            println!("{t}");
        }
        "help" | "--help" | "-h" => println!("{USAGE}"),
        other => {
            println!("{USAGE}");
            bail!("unknown command '{other}'");
        }
    }
    Ok(())
}

fn flag_value(args: &[String], name: &str) -> Result<Option<String>> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .cloned()
            .map(Some)
            .with_context(|| format!("{name} needs a value")),
    }
}
