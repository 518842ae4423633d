//! A static file server for the built book, bound to 127.0.0.1 only.
//!
//! tiny_http does the HTTP; this module maps paths to files (no escaping the root), sets the
//! MIME types browsers insist on (`application/wasm` for streaming compilation) and answers
//! single `Range: bytes=` requests, which the lessons use to read COGs the cloud-native way.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use tiny_http::{Header, Request, Response, Server, StatusCode};

/// A running server; dropping it does not stop it, call [`Running::stop`].
pub struct Running {
    server: Arc<Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The bound address.
    pub addr: SocketAddr,
}

impl Running {
    /// The base URL, e.g. `http://127.0.0.1:8000/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops accepting requests and joins the serving thread.
    pub fn stop(mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bind(port: u16) -> Result<Server> {
    Server::http(("127.0.0.1", port)).map_err(|e| anyhow!("cannot listen on 127.0.0.1:{port}: {e}"))
}

fn local_addr(server: &Server) -> Result<SocketAddr> {
    server
        .server_addr()
        .to_ip()
        .context("server is not bound to an IP address")
}

/// Serves `root` in a background thread (port 0 picks a free port).
pub fn spawn(root: &Path, port: u16) -> Result<Running> {
    let server = Arc::new(bind(port)?);
    let addr = local_addr(&server)?;
    let root = root.to_path_buf();
    let s = Arc::clone(&server);
    let thread = std::thread::spawn(move || {
        for req in s.incoming_requests() {
            handle(&root, req);
        }
    });
    Ok(Running {
        server,
        thread: Some(thread),
        addr,
    })
}

/// Serves `root` until interrupted.
pub fn serve_forever(root: &Path, port: u16) -> Result<()> {
    let server = bind(port)?;
    let addr = local_addr(&server)?;
    println!(
        "serving {} at http://{addr}/ (Ctrl-C to stop)",
        root.display()
    );
    println!("lesson: http://{addr}/grids-and-pixels.html");
    for req in server.incoming_requests() {
        handle(root, req);
    }
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

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn handle(root: &Path, req: Request) {
    let Some(path) = resolve(root, req.url()) else {
        let _ = req.respond(Response::from_string("404 not found").with_status_code(404));
        return;
    };
    let Ok(bytes) = std::fs::read(&path) else {
        let _ = req.respond(Response::from_string("500 cannot read").with_status_code(500));
        return;
    };
    let len = bytes.len() as u64;
    let range = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Range"))
        .map(|h| h.value.as_str().to_owned());
    let mut headers: Vec<Header> = [
        header("Content-Type", mime(&path)),
        header("Accept-Ranges", "bytes"),
        header("Cache-Control", "no-cache"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let (status, body) = match range {
        None => (200, bytes),
        Some(r) => match parse_range(&r, len) {
            Some((s, e)) => {
                headers.extend(header("Content-Range", &format!("bytes {s}-{e}/{len}")));
                // s ≤ e < len, so both convert to in-range indices.
                (206, bytes[s as usize..=e as usize].to_vec())
            }
            None => {
                headers.extend(header("Content-Range", &format!("bytes */{len}")));
                (416, Vec::new())
            }
        },
    };
    let body_len = body.len();
    let resp = Response::new(
        StatusCode(status),
        headers,
        std::io::Cursor::new(body).take(body_len as u64),
        Some(body_len),
        None,
    );
    let _ = req.respond(resp);
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
