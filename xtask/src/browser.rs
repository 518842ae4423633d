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

use crate::serve;
use crate::tools::Browser;

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
        let driver = Command::new(&browser.chromedriver)
            .arg(format!("--port={port}"))
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

/// Serves the built book, opens the lesson in headless Chromium, and checks its widget.
pub fn lesson_e2e(book_dir: &Path, browser: &Browser, scratch: &Path) -> Result<()> {
    let server = serve::spawn(book_dir, 0)?;
    let result = (|| -> Result<()> {
        let session = Session::start(browser, scratch)?;
        let url = format!("{}grids-and-pixels.html", server.url());
        println!("  opening {url} in headless {}", browser.chromium.display());
        let nav = Instant::now();
        session.goto(&url)?;
        session.wait_for(
            "the lesson widget to load its wasm",
            "return document.getElementById('grid-lesson')?.dataset.ready === 'true';",
            Duration::from_secs(30),
        )?;
        println!("  widget ready {:?} after navigation", nav.elapsed());
        let base = geochip::lesson::GridLessonInput {
            transform: "101985.0, 300.0379266750948, 0.0, 2826915.0, 0.0, -300.041782729805",
            order: "gdal",
            width: "791",
            height: "718",
            col: "100",
            row: "200",
            crs: "EPSG:32618",
        };
        grid_lesson_case(&session, &base)?;
        grid_lesson_case(
            &session,
            &geochip::lesson::GridLessonInput {
                transform: "10, 2, 500, 3, -10, 900",
                order: "affine",
                col: "-1",
                crs: "",
                ..base
            },
        )?;
        // Bad input: non-numeric text, a zero pixel size, a non-integer pixel.
        for bad in [
            geochip::lesson::GridLessonInput {
                transform: "abc, 1, 0, 0, 0, -1",
                ..base
            },
            geochip::lesson::GridLessonInput {
                transform: "0, 0, 0, 0, 0, -1",
                ..base
            },
            geochip::lesson::GridLessonInput { col: "1.5", ..base },
            geochip::lesson::GridLessonInput { width: "0", ..base },
        ] {
            grid_lesson_case(&session, &bad)?;
        }
        // Nothing may have panicked: the panic hook would have logged "panicked at".
        let logs = session.console()?;
        if logs.contains("panicked at") {
            bail!("the wasm module panicked:\n{logs}");
        }
        Ok(())
    })();
    server.stop();
    result
}
