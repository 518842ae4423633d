//! End-to-end lesson tests in headless Chromium, driven over the W3C WebDriver protocol.
//!
//! The protocol is a handful of JSON-over-HTTP calls to Debian's chromedriver; a small
//! client here (on ureq) avoids an async WebDriver stack (fantoccini/thirtyfour pull in tokio)
//! for the dozen requests a lesson test makes.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::tools::Browser;
use crate::{metrics, serve};

/// Chromium flags for this offline, root, GPU-less machine (and CI's).
pub const CHROMIUM_ARGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A chromedriver process and one browser session in it.
pub struct Session {
    driver: Child,
    base: String,
    id: String,
    profile: std::path::PathBuf,
}

impl Session {
    /// Starts chromedriver on a free loopback port and opens a headless Chromium session
    /// with a fresh profile directory.
    pub fn start(browser: &Browser, scratch: &Path) -> Result<Session> {
        let port = free_port()?;
        let mut cmd = Command::new(&browser.chromedriver);
        cmd.arg(format!("--port={port}"));
        // GEOCHIP_CHROMEDRIVER_LOG=FILE: chromedriver's verbose log, for debugging a hang.
        if let Some(log) = std::env::var_os("GEOCHIP_CHROMEDRIVER_LOG") {
            cmd.arg("--verbose")
                .arg(format!("--log-path={}", log.to_string_lossy()));
        }
        let driver = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", browser.chromedriver.display()))?;
        let base = format!("http://127.0.0.1:{port}");
        let profile = scratch.join(format!("chromium-profile-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&profile)?;
        let mut session = Session {
            driver,
            base,
            id: String::new(),
            profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if ureq::get(&format!("{}/status", session.base))
                .call()
                .is_ok()
            {
                break;
            }
            if Instant::now() > deadline {
                bail!("chromedriver did not answer on port {port} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", session.profile.display()));
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                // Return from navigation at DOMContentLoaded; readiness is then polled on the
                // widget itself (a stalled speculative request must not hang the test).
                "pageLoadStrategy": "eager",
                "goog:chromeOptions": {
                    "binary": browser.chromium.to_string_lossy(),
                    "args": args,
                },
                "goog:loggingPrefs": { "browser": "ALL" },
            }}
        });
        let v = session.call("POST", "/session", Some(caps))?;
        session.id = v["sessionId"]
            .as_str()
            .context("WebDriver: new session returned no sessionId")?
            .to_owned();
        Ok(session)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("{}{}", self.base, path);
        let req = ureq::request(method, &url).timeout(Duration::from_secs(60));
        let resp = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        let v: Value = match resp {
            Ok(r) => r.into_json()?,
            Err(ureq::Error::Status(code, r)) => {
                let v: Value = r.into_json().unwrap_or(Value::Null);
                bail!(
                    "WebDriver {method} {path}: HTTP {code}: {} {}",
                    v["value"]["error"],
                    v["value"]["message"]
                );
            }
            Err(e) => bail!("WebDriver {method} {path}: {e}"),
        };
        Ok(v["value"].clone())
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{}", self.id, rest)
    }

    /// Runs a Chrome DevTools Protocol command through chromedriver's `goog/cdp/execute`.
    pub fn cdp(&self, cmd: &str, params: Value) -> Result<Value> {
        self.call(
            "POST",
            &self.s("/goog/cdp/execute"),
            Some(json!({ "cmd": cmd, "params": params })),
        )
    }

    /// Prints the current page to PDF with WebDriver's standard `POST /session/{id}/print`
    /// (A4 portrait, 1 cm margins, backgrounds on) and returns the PDF's bytes.
    pub fn print_pdf(&self) -> Result<Vec<u8>> {
        use base64::Engine as _;
        let v = self.call(
            "POST",
            &self.s("/print"),
            Some(json!({
                "orientation": "portrait",
                "background": true,
                "shrinkToFit": true,
                "page": { "width": 21.0, "height": 29.7 },
                "margin": { "top": 1.0, "bottom": 1.0, "left": 1.0, "right": 1.0 },
            })),
        )?;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .context("WebDriver print: the answer is not base64")
    }

    /// Sets the browser window's size in CSS pixels.
    pub fn window_size(&self, width: u32, height: u32) -> Result<()> {
        self.call(
            "POST",
            &self.s("/window/rect"),
            Some(json!({ "width": width, "height": height })),
        )
        .map(|_| ())
    }

    /// Navigates to a URL.
    pub fn goto(&self, url: &str) -> Result<()> {
        self.call("POST", &self.s("/url"), Some(json!({ "url": url })))
            .map(|_| ())
    }

    /// Runs a synchronous script and returns its value.
    pub fn eval(&self, script: &str) -> Result<Value> {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Polls a script until it returns true.
    pub fn wait_for(&self, what: &str, script: &str, timeout: Duration) -> Result<Duration> {
        let start = Instant::now();
        loop {
            if self.eval(script)? == Value::Bool(true) {
                return Ok(start.elapsed());
            }
            if start.elapsed() > timeout {
                let logs = self.console().unwrap_or_default();
                bail!("timed out after {timeout:?} waiting for {what}; browser console:\n{logs}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn element(&self, css: &str) -> Result<String> {
        let v = self.call(
            "POST",
            &self.s("/element"),
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        v[ELEMENT_KEY]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no element matches '{css}'"))
    }

    /// Clears an input and types text into it, as a reader would.
    pub fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let el = self.element(css)?;
        self.call(
            "POST",
            &self.s(&format!("/element/{el}/clear")),
            Some(json!({})),
        )?;
        self.call(
            "POST",
            &self.s(&format!("/element/{el}/value")),
            Some(json!({ "text": text })),
        )?;
        Ok(())
    }

    /// Clicks an element.
    pub fn click(&self, css: &str) -> Result<()> {
        let el = self.element(css)?;
        self.call(
            "POST",
            &self.s(&format!("/element/{el}/click")),
            Some(json!({})),
        )
        .map(|_| ())
    }

    /// The visible text of an element.
    pub fn text(&self, css: &str) -> Result<String> {
        let el = self.element(css)?;
        let v = self.call("GET", &self.s(&format!("/element/{el}/text")), None)?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Saves a PNG screenshot of the viewport.
    pub fn screenshot(&self, path: &Path) -> Result<()> {
        use base64::Engine as _;
        let v = self.call("GET", &self.s("/screenshot"), None)?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .context("WebDriver screenshot is not base64")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png).with_context(|| format!("cannot write {}", path.display()))
    }

    /// The browser console so far (chromedriver's `goog` log endpoint), one line per entry.
    pub fn console(&self) -> Result<String> {
        let v = self.call(
            "POST",
            &self.s("/se/log"),
            Some(json!({ "type": "browser" })),
        )?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .map(|e| format!("{} {}", e["level"], e["message"]))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.id.is_empty() {
            let _ = self.call("DELETE", &format!("/session/{}", self.id), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // Chromium outlives a killed chromedriver when a session did not close cleanly; its
        // command line names our fresh profile directory, so end exactly those processes.
        // (The pattern leaves out the leading "--" so pkill does not read it as an option.)
        let _ = Command::new("pkill")
            .arg("-f")
            .arg(format!("user-data-dir={}", self.profile.display()))
            .status();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The "Grids and pixels" lesson: type inputs, click Run, compare with the native answer.
fn grid_lesson_case(s: &Session, input: &geochip::lesson::GridLessonInput<'_>) -> Result<()> {
    s.eval(&format!(
        "document.getElementById('gl-order').value = {}; return true;",
        json!(input.order)
    ))?;
    for (id, text) in [
        ("#gl-transform", input.transform),
        ("#gl-width", input.width),
        ("#gl-height", input.height),
        ("#gl-col", input.col),
        ("#gl-row", input.row),
        ("#gl-crs", input.crs),
    ] {
        s.type_into(id, text)?;
    }
    s.click("#gl-run")?;
    let page_answer = s.text("#gl-answer")?;
    let page_error = s.text("#gl-error")?;
    match geochip::lesson::grid_lesson(input) {
        Ok(native) => {
            if !page_error.is_empty() {
                bail!(
                    "grids-and-pixels: page shows error '{page_error}', native answer is:\n{native}"
                );
            }
            if page_answer.trim() != native.trim() {
                bail!(
                    "grids-and-pixels: page and native answers differ\n--- page\n{page_answer}\n--- native\n{native}"
                );
            }
            println!(
                "  ok: pixel ({}, {}) — page answer equals the native answer ({} bytes)",
                input.col,
                input.row,
                native.len()
            );
        }
        Err(e) => {
            let native = e.to_string();
            if page_error != native {
                bail!(
                    "grids-and-pixels: page error '{page_error}' differs from native error '{native}'"
                );
            }
            if !page_answer.is_empty() {
                bail!("grids-and-pixels: page shows an answer for bad input: {page_answer}");
            }
            println!("  ok: bad input shows the native error in the page: {native}");
        }
    }
    Ok(())
}

/// Selects an option of a `<select>` as the reader would (sets it and fires `change`).
fn select(s: &Session, id: &str, value: &str) -> Result<()> {
    let ok = s.eval(&format!(
        "const e = document.getElementById({id}); e.value = {value}; \
         e.dispatchEvent(new Event('change')); return e.value === {value};",
        id = json!(id),
        value = json!(value)
    ))?;
    if ok != Value::Bool(true) {
        bail!("#{id} has no option '{value}'");
    }
    Ok(())
}

/// The slicing lesson: set the form, Run, compare summary and SVG with the native answer.
fn slicing_lesson_case(
    s: &Session,
    grid: &geochip::Grid,
    input: &geochip::lesson::SliceLessonInput<'_>,
) -> Result<()> {
    for (id, text) in [
        ("#sl-window", input.window),
        ("#sl-overlap", input.overlap),
        ("#sl-count", input.count),
        ("#sl-seed", input.seed),
    ] {
        s.type_into(id, text)?;
    }
    select(s, "sl-edge", input.edge)?;
    select(s, "sl-sampling", input.sampling)?;
    s.click("#sl-run")?;
    let native = geochip::lesson::slicing_lesson(input, grid)
        .map(|a| (a.summary, a.svg))
        .map_err(|e| e.to_string());
    let what = format!(
        "window {} overlap {} edge {} {}",
        input.window, input.overlap, input.edge, input.sampling
    );
    check_svg_answer(s, "slicing", "slice-lesson", "sl-error", &what, native)
}

/// Scrolls a lesson's widget into view and saves a screenshot under `dir` (for people to look at).
fn snapshot(s: &Session, dir: &Path, page: &str, root_id: &str) -> Result<()> {
    s.eval(&format!(
        "document.getElementById('{root_id}').scrollIntoView(); return true;"
    ))?;
    let path = dir.join(page.replace(".html", ".png"));
    s.screenshot(&path)?;
    println!("  screenshot: {}", path.display());
    Ok(())
}

/// The burning lesson: set the form, Run, compare summary and SVG with the native answer.
fn burning_lesson_case(
    s: &Session,
    wkt: &str,
    input: &geochip::lesson::BurnLessonInput<'_>,
) -> Result<()> {
    for (id, text) in [
        ("#bl-resolution", input.resolution),
        ("#bl-shift-x", input.shift_x),
        ("#bl-shift-y", input.shift_y),
    ] {
        s.type_into(id, text)?;
    }
    for (id, on) in [
        ("bl-all-touched", input.all_touched),
        ("bl-coverage", input.coverage),
    ] {
        let now = s.eval(&format!("return document.getElementById('{id}').checked;"))?;
        if now != Value::Bool(on) {
            s.click(&format!("#{id}"))?;
        }
    }
    s.click("#bl-run")?;
    let native = geochip::lesson::burning_lesson(wkt, input)
        .map(|a| (a.summary, a.svg))
        .map_err(|e| e.to_string());
    let what = format!(
        "resolution {} shift ({}, {}) all_touched {} coverage {}",
        input.resolution, input.shift_x, input.shift_y, input.all_touched, input.coverage
    );
    check_svg_answer(s, "burning", "burn-lesson", "bl-error", &what, native)
}

/// The stacking lesson: set the form, Run, wait for the asynchronous run (the page fetches
/// byte ranges between steps) and compare summary and SVG with the lesson computed natively
/// from the same files (read whole through `MemorySource`, the synchronous reader).
fn stacking_lesson_case(
    s: &Session,
    repo: &Path,
    catalog: &str,
    input: &geochip::lesson::StackLessonInput<'_>,
) -> Result<()> {
    for (id, text) in [
        ("#st-bands", input.bands),
        ("#st-resolution", input.resolution),
        ("#st-crs", input.crs),
        ("#st-bbox", input.bbox),
    ] {
        s.type_into(id, text)?;
    }
    select(s, "st-resampling", input.resampling)?;
    select(s, "st-groupby", input.groupby)?;
    let runs = "return Number(document.getElementById('stack-lesson').dataset.runs || 0);";
    let before = s.eval(runs)?.as_u64().unwrap_or(0);
    s.click("#st-run")?;
    s.wait_for(
        "the stacking run to finish",
        &format!(
            "return Number(document.getElementById('stack-lesson').dataset.runs || 0) > {before};"
        ),
        Duration::from_secs(60),
    )?;
    let dir = repo.join("cookbooks/data/stacking");
    let mut reader = geochip::lesson::SourceReader::new(|href: &str| {
        let path = dir.join(href);
        let bytes = std::fs::read(&path).map_err(|e| {
            geochip::stack::AssetError::not_found(format!("{}: {e}", path.display()))
        })?;
        Ok(Box::new(geochip::cog::MemorySource::new(href, bytes))
            as Box<dyn geochip::cog::ByteSource>)
    });
    let native = geochip::lesson::stacking_lesson(catalog, input, &mut reader)
        .map(|a| (a.summary, a.svg))
        .map_err(|e| e.to_string());
    let what = format!(
        "bands '{}' resolution '{}' crs '{}' {} groupby {} bbox '{}'",
        input.bands, input.resolution, input.crs, input.resampling, input.groupby, input.bbox
    );
    check_svg_answer(s, "stacking", "stack-lesson", "st-error", &what, native)
}

/// The stacking lesson's cases (page answers equal native, bad input included) and the check
/// that its data came over HTTP range requests.
fn stacking_lessons(session: &Session, base: &str, repo: &Path, shots: &Path) -> Result<()> {
    open_lesson(session, base, "stacking.html", "stack-lesson")?;
    let catalog_path = repo.join("cookbooks/data/stacking/catalog.json");
    let catalog = std::fs::read_to_string(&catalog_path)
        .with_context(|| format!("cannot read {}", catalog_path.display()))?;
    let stack_input = geochip::lesson::StackLessonInput {
        bands: "red, green, blue",
        resolution: "600",
        crs: "",
        resampling: "nearest",
        groupby: "solar_day",
        bbox: "",
    };
    for case in [
        stack_input,
        geochip::lesson::StackLessonInput {
            groupby: "time",
            resolution: "1200",
            resampling: "average",
            ..stack_input
        },
        geochip::lesson::StackLessonInput {
            bbox: "-78.6, 24.6, -77.4, 25.4",
            resolution: "450",
            resampling: "bilinear",
            ..stack_input
        },
        geochip::lesson::StackLessonInput {
            bands: "red",
            crs: "EPSG:3857",
            resolution: "1000",
            ..stack_input
        },
        // Bad input: an unknown band, a zero resolution (both refused before any
        // request), a CRS the core cannot project to (refused after the headers came).
        geochip::lesson::StackLessonInput {
            bands: "nir",
            ..stack_input
        },
        geochip::lesson::StackLessonInput {
            resolution: "0",
            ..stack_input
        },
        geochip::lesson::StackLessonInput {
            crs: "EPSG:99999",
            ..stack_input
        },
    ] {
        stacking_lesson_case(session, repo, &catalog, &case)?;
        if case == stack_input {
            snapshot(session, shots, "stacking.html", "stack-lesson")?;
        }
    }
    // The data really came over HTTP range requests: partial (206) answers, and the
    // browser's own record of the .tif requests.
    let v = session.eval(
            "const f = document.getElementById('stack-lesson').geochipFetch ?? {};
             const tifs = performance.getEntriesByType('resource')
               .filter(e => e.name.endsWith('.tif')).length;
             return { requests: f.requests ?? 0, partial: f.partial ?? 0, bytes: f.bytes ?? 0, tifs };",
        )?;
    let (requests, partial) = (
        v["requests"].as_u64().unwrap_or(0),
        v["partial"].as_u64().unwrap_or(0),
    );
    if partial == 0 || v["tifs"].as_u64().unwrap_or(0) == 0 {
        bail!("stacking: no HTTP range request was answered with 206 Partial Content: {v}");
    }
    println!(
        "  ok: stacking read its COGs over {requests} range requests ({partial} answered 206, \
             {} bytes)",
        v["bytes"]
    );

    Ok(())
}

/// Reads a lesson's last answer (`root.geochipLast`) and error line after Run, and checks them
/// against the native result: the same summary and SVG, or the same error message.
fn check_svg_answer(
    s: &Session,
    lesson: &str,
    root_id: &str,
    error_id: &str,
    what: &str,
    native: std::result::Result<(String, String), String>,
) -> Result<()> {
    let last = s.eval(&format!(
        "return document.getElementById('{root_id}').geochipLast ?? null;"
    ))?;
    let page_error = s.text(&format!("#{error_id}"))?;
    match native {
        Ok((summary, svg)) => {
            if !page_error.is_empty() {
                bail!("{lesson}: page shows error '{page_error}' for {what}");
            }
            if last["summary"].as_str() != Some(summary.as_str()) {
                bail!(
                    "{lesson}: summaries differ for {what}\n--- page\n{}\n--- native\n{summary}",
                    last["summary"]
                );
            }
            if last["svg"].as_str() != Some(svg.as_str()) {
                bail!("{lesson}: the page's SVG differs from the native SVG for {what}");
            }
            println!("  ok: {what} — summary and SVG equal native");
        }
        Err(native) => {
            if page_error != native {
                bail!("{lesson}: page error '{page_error}' differs from native error '{native}'");
            }
            if !last.is_null() {
                bail!("{lesson}: page kept an answer for bad input");
            }
            println!("  ok: bad input shows the native error in the page: {native}");
        }
    }
    Ok(())
}

/// The learning path's chapters that have no widget or panel: page and title.
const PROSE_PAGES: &[(&str, &str)] = &[
    ("gpu.html", "Moving chips to a GPU"),
    ("scaling-out.html", "Scaling out"),
];

/// Opens each page, waits for it to finish loading, and fails on a wrong title or any
/// console error (a missing image, script or stylesheet logs one).
fn prose_pages(s: &Session, base: &str, pages: &[(&str, &str)]) -> Result<()> {
    for (page, title) in pages {
        s.console()?; // chromedriver hands each log entry out once: start from an empty log
        s.goto(&format!("{base}{page}"))?;
        s.wait_for(
            &format!("{page} to load"),
            "return document.readyState === 'complete';",
            Duration::from_secs(30),
        )?;
        let h1 = s.eval("return document.querySelector('main h1')?.textContent ?? null;")?;
        if h1.as_str() != Some(title) {
            bail!("{page}: the first heading is {h1}, expected '{title}'");
        }
        let logs = s.console()?;
        let errors: Vec<&str> = logs.lines().filter(|l| l.contains("SEVERE")).collect();
        if !errors.is_empty() {
            bail!("{page}: console errors:\n{}", errors.join("\n"));
        }
        println!("  ok: {page} ('{title}') loads without console errors");
    }
    Ok(())
}

/// Navigates to a lesson page and waits until its widget says its wasm is ready.
pub fn open_lesson(s: &Session, base: &str, page: &str, root_id: &str) -> Result<()> {
    let url = format!("{base}{page}");
    println!("  opening {url}");
    s.goto(&url)?;
    s.wait_for(
        &format!("{page} to load its wasm"),
        &format!("return document.getElementById('{root_id}')?.dataset.ready === 'true';"),
        Duration::from_secs(30),
    )?;
    Ok(())
}

/// Serves the built book, opens each lesson in headless Chromium, and checks its widget
/// against the native answers.
pub fn lesson_e2e(book_dir: &Path, repo: &Path, browser: &Browser, scratch: &Path) -> Result<()> {
    let server = serve::spawn(book_dir, 0)?;
    let mut measured = Vec::new();
    let result = (|| -> Result<()> {
        let session = Session::start(browser, scratch)?;
        session.window_size(1200, 1400)?;
        let base = server.url();
        let shots = scratch.join("screenshots");
        println!("  browser: {}", browser.chromium.display());

        // First visits of every page with a widget: start-up time and bytes loaded.
        measured = metrics::measure_all(&session, &base, book_dir)?;

        open_lesson(&session, &base, "grids-and-pixels.html", "grid-lesson")?;
        let grid_input = geochip::lesson::GridLessonInput {
            transform: "101985.0, 300.0379266750948, 0.0, 2826915.0, 0.0, -300.041782729805",
            order: "gdal",
            width: "791",
            height: "718",
            col: "100",
            row: "200",
            crs: "EPSG:32618",
        };
        grid_lesson_case(&session, &grid_input)?;
        snapshot(&session, &shots, "grids-and-pixels.html", "grid-lesson")?;
        grid_lesson_case(
            &session,
            &geochip::lesson::GridLessonInput {
                transform: "10, 2, 500, 3, -10, 900",
                order: "affine",
                col: "-1",
                crs: "",
                ..grid_input
            },
        )?;
        // Bad input: non-numeric text, a zero pixel size, a non-integer pixel, an empty grid.
        for bad in [
            geochip::lesson::GridLessonInput {
                transform: "abc, 1, 0, 0, 0, -1",
                ..grid_input
            },
            geochip::lesson::GridLessonInput {
                transform: "0, 0, 0, 0, 0, -1",
                ..grid_input
            },
            geochip::lesson::GridLessonInput {
                col: "1.5",
                ..grid_input
            },
            geochip::lesson::GridLessonInput {
                width: "0",
                ..grid_input
            },
        ] {
            grid_lesson_case(&session, &bad)?;
        }

        open_lesson(&session, &base, "slicing.html", "slice-lesson")?;
        let tif = repo.join("cookbooks/data/RGB.byte.tif");
        let bytes =
            std::fs::read(&tif).with_context(|| format!("cannot read {}", tif.display()))?;
        let grid = geochip::geotiff::read_info("RGB.byte.tif", &bytes)?.grid;
        let png = ureq::get(&format!("{base}data/RGB.byte.png")).call()?;
        if png.header("Content-Type") != Some("image/png") {
            bail!("slicing: data/RGB.byte.png is not served as a PNG");
        }
        let slice_input = geochip::lesson::SliceLessonInput {
            window: "256",
            overlap: "32",
            edge: "drop",
            sampling: "grid",
            count: "20",
            seed: "42",
            image_href: "data/RGB.byte.png",
        };
        for case in [
            slice_input,
            geochip::lesson::SliceLessonInput {
                edge: "pad",
                overlap: "-16",
                ..slice_input
            },
            geochip::lesson::SliceLessonInput {
                edge: "shift-last-inside",
                window: "100",
                ..slice_input
            },
            geochip::lesson::SliceLessonInput {
                sampling: "random",
                window: "64",
                seed: "7",
                ..slice_input
            },
            // Bad input: a window larger than the image, overlap ≥ window, text for a number.
            geochip::lesson::SliceLessonInput {
                window: "1000",
                ..slice_input
            },
            geochip::lesson::SliceLessonInput {
                overlap: "256",
                ..slice_input
            },
            geochip::lesson::SliceLessonInput {
                window: "big",
                ..slice_input
            },
        ] {
            slicing_lesson_case(&session, &grid, &case)?;
            if case == slice_input {
                snapshot(&session, &shots, "slicing.html", "slice-lesson")?;
            }
        }

        open_lesson(&session, &base, "burning-labels.html", "burn-lesson")?;
        let wkt_path = repo.join("cookbooks/data/nl_plots_epsg_28992.wkt");
        let wkt = std::fs::read_to_string(&wkt_path)
            .with_context(|| format!("cannot read {}", wkt_path.display()))?;
        let burn_input = geochip::lesson::BurnLessonInput {
            resolution: "10",
            shift_x: "0",
            shift_y: "0",
            all_touched: false,
            coverage: false,
        };
        for case in [
            burn_input,
            geochip::lesson::BurnLessonInput {
                shift_x: "0.5",
                shift_y: "0.5",
                ..burn_input
            },
            geochip::lesson::BurnLessonInput {
                all_touched: true,
                ..burn_input
            },
            geochip::lesson::BurnLessonInput {
                coverage: true,
                resolution: "5",
                ..burn_input
            },
            // Bad input: zero and non-numeric resolution, a grid too large to draw.
            geochip::lesson::BurnLessonInput {
                resolution: "0",
                ..burn_input
            },
            geochip::lesson::BurnLessonInput {
                shift_x: "half",
                ..burn_input
            },
            geochip::lesson::BurnLessonInput {
                resolution: "0.5",
                ..burn_input
            },
        ] {
            burning_lesson_case(&session, &wkt, &case)?;
            if case == burn_input {
                snapshot(&session, &shots, "burning-labels.html", "burn-lesson")?;
            }
        }

        if !book_dir.join("stacking.html").exists() {
            bail!("stacking.html is missing from the built book (book/src/SUMMARY.md lists it)");
        }
        stacking_lessons(&session, &base, repo, &shots)?;

        // Chapters without a widget: they load, show their title, log no error.
        prose_pages(&session, &base, PROSE_PAGES)?;

        // Every cookbook chapter: its panel run in the Web Worker, checksums equal native.
        crate::cookbooks::e2e(&session, &base, book_dir, repo, scratch)?;

        // Nothing may have panicked: the panic hook would have logged "panicked at".
        let logs = session.console()?;
        if logs.contains("panicked at") {
            bail!("the wasm module panicked:\n{logs}");
        }
        Ok(())
    })();
    server.stop();
    // The figures go into the book even when a lesson case failed; the size budget is checked
    // after them (sizes are deterministic; start-up time is reported, never asserted).
    if !measured.is_empty() {
        metrics::report(book_dir, &measured)?;
    }
    result?;
    metrics::check_size_budget(&measured)
}

#[cfg(test)]
mod tests {
    /// Every prose page the browser test opens is a chapter of `book/src/SUMMARY.md` with
    /// that title, and its first line is that heading.
    #[test]
    fn prose_pages_are_chapters_with_their_titles() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("repository root")
            .join("book/src");
        let summary = std::fs::read_to_string(root.join("SUMMARY.md")).expect("SUMMARY.md");
        for (page, title) in super::PROSE_PAGES {
            let md = page.replace(".html", ".md");
            assert!(
                summary.contains(&format!("[{title}]({md})")),
                "SUMMARY.md lacks [{title}]({md})"
            );
            let text = std::fs::read_to_string(root.join(&md)).expect("chapter");
            assert_eq!(text.lines().next(), Some(format!("# {title}").as_str()));
        }
    }
}
