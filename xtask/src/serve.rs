//! A static file server for the built book, bound to 127.0.0.1 only.
//!
//! A small HTTP/1.1 server on std's `TcpListener`, one thread per connection, one request per
//! connection (`Connection: close`). Written here rather than taken from tiny_http, whose
//! keep-alive handling intermittently stalled Chromium's page loads in the browser tests (the
//! main document never finished, about one run in two). It maps paths to files (no escaping the
//! root), sets the MIME types browsers insist on (`application/wasm` for streaming compilation)
//! and answers single `Range: bytes=` requests, which the lessons use to read COGs the
//! cloud-native way.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};

/// A running server; call [`Running::stop`] to end it.
pub struct Running {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The bound address.
    pub addr: SocketAddr,
}

impl Running {
    /// The base URL, e.g. `http://127.0.0.1:8000/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops accepting connections and joins the accepting thread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept with one last connection.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bind(port: u16) -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

fn accept_loop(listener: &TcpListener, root: &Path, stop: &AtomicBool) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = conn else { continue };
        let root = root.to_path_buf();
        std::thread::spawn(move || {
            let _ = handle(&root, stream);
        });
    }
}

/// Serves `root` in a background thread (port 0 picks a free port).
pub fn spawn(root: &Path, port: u16) -> Result<Running> {
    let (listener, addr) = bind(port)?;
    let root = root.to_path_buf();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = std::thread::spawn(move || accept_loop(&listener, &root, &flag));
    Ok(Running {
        stop,
        thread: Some(thread),
        addr,
    })
}

/// Serves `root` until interrupted.
pub fn serve_forever(root: &Path, port: u16) -> Result<()> {
    let (listener, addr) = bind(port)?;
    println!(
        "serving {} at http://{addr}/ (Ctrl-C to stop)",
        root.display()
    );
    println!("lessons: http://{addr}/grids-and-pixels.html");
    accept_loop(&listener, root, &AtomicBool::new(false));
    Ok(())
}

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "txt" | "md" => "text/plain; charset=utf-8",
        "tif" | "tiff" => "image/tiff",
        _ => "application/octet-stream",
    }
}

/// Maps a URL path to a file under root, refusing `..` and absolute components.
fn resolve(root: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let decoded = percent_decode(path)?;
    let mut out = root.to_path_buf();
    for comp in Path::new(decoded.trim_start_matches('/')).components() {
        match comp {
            Component::Normal(c) => out.push(c),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    out.is_file().then_some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` against a length; None when unsatisfiable.
fn parse_range(value: &str, len: u64) -> Option<(u64, u64)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (len.checked_sub(n.min(len))?, len.checked_sub(1)?)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            len.checked_sub(1)?
        } else {
            b.parse::<u64>().ok()?.min(len.checked_sub(1)?)
        };
        (start, end)
    };
    (start <= end && start < len).then_some((start, end))
}

/// Reads one request (request line + headers) and answers it.
fn handle(root: &Path, stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, url) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or("/").to_owned(),
    );
    let head_only = method == "HEAD";
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.trim().eq_ignore_ascii_case("range")
        {
            range = Some(v.trim().to_owned());
        }
    }
    let mut out = stream;
    if method != "GET" && !head_only {
        return respond(
            &mut out,
            405,
            "text/plain",
            &[],
            b"405 method not allowed",
            false,
        );
    }
    let Some(path) = resolve(root, &url) else {
        return respond(
            &mut out,
            404,
            "text/plain",
            &[],
            b"404 not found",
            head_only,
        );
    };
    let Ok(bytes) = std::fs::read(&path) else {
        return respond(
            &mut out,
            500,
            "text/plain",
            &[],
            b"500 cannot read",
            head_only,
        );
    };
    let len = bytes.len() as u64;
    let log = std::env::var_os("GEOCHIP_SERVE_LOG").is_some();
    let result = match range {
        None => respond(&mut out, 200, mime(&path), &[], &bytes, head_only),
        Some(r) => match parse_range(&r, len) {
            // s ≤ e < len, so both are in-range indices.
            Some((s, e)) => respond(
                &mut out,
                206,
                mime(&path),
                &[("Content-Range", format!("bytes {s}-{e}/{len}"))],
                &bytes[s as usize..=e as usize],
                head_only,
            ),
            None => respond(
                &mut out,
                416,
                "text/plain",
                &[("Content-Range", format!("bytes */{len}"))],
                b"",
                head_only,
            ),
        },
    };
    if log {
        eprintln!("serve: {method} {url} -> {result:?}");
    }
    result
}

fn respond(
    out: &mut TcpStream,
    status: u16,
    content_type: &str,
    extra: &[(&str, String)],
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Range Not Satisfiable",
        _ => "Internal Server Error",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Accept-Ranges: bytes\r\nCache-Control: no-cache\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    if !head_only {
        out.write_all(body)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=95-200", 100), Some((95, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=5-1", 100), None);
        assert_eq!(parse_range("bytes=0-1,4-5", 100), None);
    }

    #[test]
    fn no_escaping_the_root() {
        let root = std::env::temp_dir();
        assert_eq!(resolve(&root, "/../etc/passwd"), None);
        assert_eq!(resolve(&root, "/%2e%2e/etc/passwd"), None);
    }

    #[test]
    fn serves_files_with_ranges_over_loopback() {
        let dir = std::env::temp_dir().join(format!("xtask-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.wasm"), b"0123456789").unwrap();
        let running = spawn(&dir, 0).unwrap();
        assert!(running.addr.ip().is_loopback());
        let url = format!("{}a.wasm", running.url());
        let resp = ureq::get(&url).call().unwrap();
        assert_eq!(resp.header("Content-Type"), Some("application/wasm"));
        assert_eq!(resp.header("Content-Length"), Some("10"));
        assert_eq!(resp.into_string().unwrap(), "0123456789");
        let resp = ureq::get(&url).set("Range", "bytes=2-4").call().unwrap();
        assert_eq!(resp.status(), 206);
        assert_eq!(resp.into_string().unwrap(), "234");
        let missing = ureq::get(&format!("{}nope.html", running.url())).call();
        assert!(matches!(missing, Err(ureq::Error::Status(404, _))));
        running.stop();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
