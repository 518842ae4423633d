//! [`ByteSource`]s over local files and HTTP range requests, and the native codecs (zstd) for
//! [`geochip::cog::Cog::with_codecs`].

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use geochip::cog::{ByteSource, Codecs, CogError, Decompressor};

/// A local file read by ranges (seek + read).
///
/// ```no_run
/// use geochip::cog::Cog;
/// let src = geochip_bench::source::FileSource::open("cookbooks/data/RGB.byte.tif").unwrap();
/// let cog = Cog::open(&src).unwrap();
/// ```
#[derive(Debug)]
pub struct FileSource {
    name: String,
    len: u64,
    file: Mutex<File>,
}

impl FileSource {
    /// Opens `path`.
    ///
    /// ```
    /// let err = geochip_bench::source::FileSource::open("no/such.tif").unwrap_err();
    /// assert!(err.to_string().starts_with("no/such.tif: cannot read"));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CogError> {
        let name = path.as_ref().display().to_string();
        let fail = |e: std::io::Error| CogError::Source {
            input: name.clone(),
            offset: 0,
            end: 0,
            reason: e.to_string(),
        };
        let file = File::open(path.as_ref()).map_err(fail)?;
        let len = file.metadata().map_err(fail)?.len();
        Ok(Self {
            name,
            len,
            file: Mutex::new(file),
        })
    }
}

impl ByteSource for FileSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn len(&self) -> Result<u64, CogError> {
        Ok(self.len)
    }
    fn read_range(&self, offset: u64, len: usize) -> Result<Vec<u8>, CogError> {
        let end = offset.saturating_add(len as u64);
        if end > self.len {
            return Err(CogError::Truncated {
                input: self.name.clone(),
                what: "read".into(),
                offset,
                end,
                file_len: self.len,
            });
        }
        let fail = |reason: String| CogError::Source {
            input: self.name.clone(),
            offset,
            end,
            reason,
        };
        let mut file = self.file.lock().map_err(|e| fail(e.to_string()))?;
        let mut buf = vec![0u8; len];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(|e| fail(e.to_string()))?;
        Ok(buf)
    }
}

/// A file served over HTTP or HTTPS, read with `Range` requests (ureq; TLS by rustls with
/// Mozilla's root certificates compiled in). The length comes from the first response's
/// `Content-Range`.
///
/// ```no_run
/// use geochip::cog::Cog;
/// let src = geochip_bench::source::HttpSource::new("http://127.0.0.1:8000/data/RGB.byte.tif");
/// let cog = Cog::open(&src).unwrap();
/// ```
#[derive(Debug)]
pub struct HttpSource {
    url: String,
    agent: ureq::Agent,
    len: OnceLock<u64>,
}

impl HttpSource {
    /// A source for `url`; nothing is requested until the first read.
    ///
    /// ```
    /// let src = geochip_bench::source::HttpSource::new("http://example.invalid/a.tif");
    /// ```
    pub fn new(url: &str) -> Self {
        Self::with_agent(
            url,
            ureq::AgentBuilder::new()
                .timeout(std::time::Duration::from_secs(60))
                .build(),
        )
    }

    /// A source for `url` read through `agent` (its own proxy, timeouts or TLS roots, e.g. a
    /// site's private certificate authority via `AgentBuilder::tls_config`).
    ///
    /// ```
    /// let agent = ureq::AgentBuilder::new().timeout(std::time::Duration::from_secs(5)).build();
    /// let src = geochip_bench::source::HttpSource::with_agent("https://example.invalid/a.tif", agent);
    /// ```
    pub fn with_agent(url: &str, agent: ureq::Agent) -> Self {
        Self {
            url: url.to_owned(),
            agent,
            len: OnceLock::new(),
        }
    }

    /// GETs `bytes=offset..end-1`; returns the body and the total length from Content-Range.
    fn get(&self, offset: u64, end: u64) -> Result<(Vec<u8>, u64), CogError> {
        let fail = |reason: String| CogError::Source {
            input: self.url.clone(),
            offset,
            end,
            reason,
        };
        let resp = self
            .agent
            .get(&self.url)
            .set("Range", &format!("bytes={offset}-{}", end - 1))
            .call()
            .map_err(|e| match e {
                // "HTTP 404" lets callers tell a missing file from an unreachable server.
                ureq::Error::Status(code, r) => fail(format!("HTTP {code} {}", r.status_text())),
                other => fail(other.to_string()),
            })?;
        if resp.status() != 206 {
            return Err(fail(format!(
                "HTTP {} instead of 206 Partial Content: the server ignores range requests",
                resp.status()
            )));
        }
        let total = resp
            .header("Content-Range")
            .and_then(|v| v.rsplit('/').next())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| fail("206 response without a Content-Range total".into()))?;
        let mut body = Vec::with_capacity((end - offset) as usize);
        resp.into_reader()
            .take(end - offset)
            .read_to_end(&mut body)
            .map_err(|e| fail(e.to_string()))?;
        Ok((body, total))
    }
}

impl ByteSource for HttpSource {
    fn name(&self) -> &str {
        &self.url
    }
    fn len(&self) -> Result<u64, CogError> {
        if let Some(n) = self.len.get() {
            return Ok(*n);
        }
        let (_, total) = self.get(0, 1)?;
        Ok(*self.len.get_or_init(|| total))
    }
    fn read_range(&self, offset: u64, len: usize) -> Result<Vec<u8>, CogError> {
        let end = offset.saturating_add(len as u64);
        if len == 0 {
            return Ok(Vec::new());
        }
        let (body, total) = self.get(offset, end)?;
        let _ = self.len.get_or_init(|| total);
        if body.len() != len {
            return Err(CogError::Truncated {
                input: self.url.clone(),
                what: "range request".into(),
                offset,
                end,
                file_len: total,
            });
        }
        Ok(body)
    }
}

/// zstd (TIFF compression 50000) with the C library, for native builds only.
///
/// ```
/// use geochip::cog::Decompressor;
/// let packed = zstd::bulk::compress(b"hello hello hello", 3).unwrap();
/// let mut out = [0u8; 17];
/// assert_eq!(geochip_bench::source::Zstd.decompress(&packed, &mut out), Ok(17));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Zstd;

impl Decompressor for Zstd {
    fn decompress(&self, input: &[u8], output: &mut [u8]) -> Result<usize, String> {
        zstd::bulk::decompress_to_buffer(input, output).map_err(|e| format!("zstd: {e}"))
    }
}

/// The codecs native builds add to the core's: zstd.
///
/// ```
/// assert!(geochip_bench::source::native_codecs().get(50000).is_some());
/// ```
pub fn native_codecs() -> Codecs {
    Codecs::default().with(50000, Arc::new(Zstd))
}

/// A file path or an `http://` / `https://` URL as a boxed source.
///
/// ```
/// assert!(geochip_bench::source::open("no/such.tif").is_err());
/// ```
pub fn open(path_or_url: &str) -> Result<Box<dyn ByteSource + Send + Sync>, CogError> {
    if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
        Ok(Box::new(HttpSource::new(path_or_url)))
    } else {
        Ok(Box::new(FileSource::open(path_or_url)?))
    }
}
