//! The native side of the COG reader against rasterio (tests/fixtures/cog/rasterio_pixels.json):
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
//! local files, HTTP range requests (a loopback server in the test), zstd through the
//! registered codec, and `geochip read` as a user runs it.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{geochip, repo};
use geochip::cog::{Cog, MemorySource};
use geochip::{LabeledArray, Window};
use geochip_bench::source::{FileSource, HttpSource, native_codecs};
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    repo().join("tests/fixtures").join(rel)
}

fn expected(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture("cog/rasterio_pixels.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["files"][name].clone()
}

/// One rasterio read: level, window (`None`: the whole level), 0-based bands, sha256.
type Read = (usize, Option<Window>, Option<Vec<usize>>, String);

/// rasterio's reads of `name`.
fn reads(name: &str) -> Vec<Read> {
    expected(name)["reads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let n = |v: &Value| v.as_u64().unwrap() as usize;
            let window = r["window"]
                .as_array()
                .map(|w| Window::new(n(&w[0]), n(&w[1]), n(&w[2]), n(&w[3])));
            let bands = r["bands"].as_array().map(|b| b.iter().map(n).collect());
            (
                n(&r["level"]),
                window,
                bands,
                r["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn zstd_tiles_read_like_rasterio_with_the_native_codec() {
    let src = FileSource::open(fixture("cog/uint16_zstd_pred2.tif")).unwrap();
    let cog = Cog::open(&src).unwrap().with_codecs(native_codecs());
    let cases = reads("uint16_zstd_pred2.tif");
    assert!(cases.len() >= 4);
    for (level, window, bands, sha) in cases {
        let w = window.unwrap_or_else(|| cog.levels()[level].full_window());
        let a = cog.read_window(&src, level, w, bands.as_deref()).unwrap();
        assert_eq!(a.sha256(), sha, "{w:?} {bands:?}");
    }
}

/// Answers one request (its header lines in `head`) for `bytes` with 206 and the single
/// `Range` asked for (the whole file without one).
fn answer(head: &str, bytes: &[u8], out: &mut impl Write) {
    let mut range = None;
    for line in head.lines() {
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
            let (a, b) = v.trim().split_once('-').unwrap();
            range = Some((a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()));
        }
    }
    let (a, b) = range.unwrap_or((0, bytes.len() - 1));
    let b = b.min(bytes.len() - 1);
    let head = format!(
        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {a}-{b}/{}\r\nConnection: close\r\n\r\n",
        b + 1 - a,
        bytes.len()
    );
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(&bytes[a..=b]);
}

/// Serves `bytes` on a loopback port with single-range `Range` support; counts requests.
fn serve(bytes: Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/cog.tif", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            counter.fetch_add(1, Ordering::SeqCst);
            answer(&head, &bytes, &mut stream);
        }
    });
    (url, count)
}

#[test]
fn http_range_reads_equal_rasterio_and_fetch_only_needed_tiles() {
    let name = "rgb_deflate_pred2_cog.tif";
    let bytes = std::fs::read(fixture(&format!("cog/{name}"))).unwrap();
    let (url, count) = serve(bytes.clone());
    let src = HttpSource::new(&url);
    let cog = Cog::open(&src).unwrap();
    // One request for the length, one for the header prefix.
    assert_eq!(count.load(Ordering::SeqCst), 2);
    for (level, window, bands, sha) in reads(name) {
        let w = window.unwrap_or_else(|| cog.levels()[level].full_window());
        let before = count.load(Ordering::SeqCst);
        let a = cog.read_window(&src, level, w, bands.as_deref()).unwrap();
        assert_eq!(a.sha256(), sha, "level {level} {w:?} {bands:?}");
        let plan = cog.plan_window(level, w, bands.as_deref()).unwrap();
        assert_eq!(count.load(Ordering::SeqCst) - before, plan.requests().len());
    }
    // Same answer as the file and memory sources.
    let file = FileSource::open(fixture(&format!("cog/{name}"))).unwrap();
    let mem = MemorySource::new(name, bytes);
    let w = Window::new(100, 200, 300, 150);
    let a = cog.read_window(&src, 1, w, None).unwrap_err();
    assert!(a.to_string().contains("window at level 1"), "{a}");
    let w = Window::new(50, 60, 300, 150);
    let a = cog.read_window(&src, 1, w, None).unwrap();
    assert_eq!(a, cog.read_window(&file, 1, w, None).unwrap());
    assert_eq!(a, cog.read_window(&mem, 1, w, None).unwrap());
}

#[test]
fn read_command_writes_rasterio_values_and_refuses_to_overwrite() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cog_read_command");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("chip.npy");
    let out_s = out.to_str().unwrap();
    // rasterio's windowed read of level 0 with bands [3, 1] (1-based).
    let (_, window, bands, sha) = reads("rgb_deflate_pred2_cog.tif")
        .into_iter()
        .find(|(l, w, b, _)| *l == 0 && w.is_some() && b.is_some())
        .unwrap();
    let w = window.unwrap();
    let b = bands.unwrap();
    let win = format!("{},{},{},{}", w.col_off, w.row_off, w.width, w.height);
    let bands = format!("{},{}", b[0] + 1, b[1] + 1);
    let args = [
        "read",
        "tests/fixtures/cog/rgb_deflate_pred2_cog.tif",
        "--window",
        &win,
        "--bands",
        &bands,
        "--out",
        out_s,
    ];
    let run = geochip(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(summary["shape"], serde_json::json!([2, w.height, w.width]));
    let arr: ndarray::ArrayD<u8> = ndarray_npy::read_npy(&out).unwrap();
    let a = LabeledArray::new(&["band", "y", "x"], arr).unwrap();
    assert_eq!(a.sha256(), sha);

    let again = geochip(&args);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let mut forced = args.to_vec();
    forced.push("--force");
    assert!(geochip(&forced).status.success());

    // An overview, and errors that name the file.
    let ov = geochip(&[
        "read",
        "tests/fixtures/cog/rgb_deflate_pred2_cog.tif",
        "--overview",
        "1",
        "--out",
        dir.join("ov.npy").to_str().unwrap(),
    ]);
    assert!(
        ov.status.success(),
        "{}",
        String::from_utf8_lossy(&ov.stderr)
    );
    let v: Value = serde_json::from_slice(&ov.stdout).unwrap();
    let lv = &expected("rgb_deflate_pred2_cog.tif")["levels"][2];
    assert_eq!(
        v["shape"],
        serde_json::json!([3, lv["height"], lv["width"]])
    );
    let bad = geochip(&[
        "read",
        "tests/fixtures/geotiff/corrupt.tif",
        "--out",
        dir.join("c.npy").to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("corrupt.tif: truncated or corrupt: level 0 tile 3"),
        "{err}"
    );
}

/// The loopback certificate (tests/fixtures/tls/PROVENANCE.md) as a rustls server config.
fn tls_server_config() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let cert = CertificateDer::from(std::fs::read(fixture("tls/localhost.cert.der")).unwrap());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        std::fs::read(fixture("tls/localhost.key.der")).unwrap(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap(),
    )
}

/// Like [`serve`], over TLS with the loopback certificate; counts completed requests.
fn serve_tls(bytes: Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/cog.tif", listener.local_addr().unwrap());
    let config = tls_server_config();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            // Byte by byte up to the blank line: a client refusing the certificate ends here.
            while !head.ends_with(b"\r\n\r\n") {
                match std::io::Read::read(&mut tls, &mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            if !head.ends_with(b"\r\n\r\n") {
                continue;
            }
            counter.fetch_add(1, Ordering::SeqCst);
            answer(&String::from_utf8_lossy(&head), &bytes, &mut tls);
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    (url, count)
}

#[test]
fn https_range_reads_equal_rasterio_and_untrusted_certificates_are_refused() {
    let name = "rgb_deflate_pred2_cog.tif";
    let bytes = std::fs::read(fixture(&format!("cog/{name}"))).unwrap();
    let (url, count) = serve_tls(bytes);

    // The default source (Mozilla's roots) refuses the self-signed server, naming the URL.
    let err = geochip_bench::source::open(&url)
        .and_then(|src| Cog::open(src.as_ref()).map(|_| ()))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&url), "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert_eq!(count.load(Ordering::SeqCst), 0, "no request got through");

    // Trusting the loopback certificate, reads equal rasterio's.
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            std::fs::read(fixture("tls/localhost.cert.der")).unwrap(),
        ))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let agent = ureq::AgentBuilder::new()
        .tls_config(Arc::new(client))
        .build();
    let src = HttpSource::with_agent(&url, agent);
    let cog = Cog::open(&src).unwrap();
    for (level, window, bands, sha) in reads(name) {
        let w = window.unwrap_or_else(|| cog.levels()[level].full_window());
        let a = cog.read_window(&src, level, w, bands.as_deref()).unwrap();
        assert_eq!(a.sha256(), sha, "level {level} {w:?} {bands:?}");
    }
    assert!(count.load(Ordering::SeqCst) >= 2);
}
