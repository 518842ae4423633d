//! A read-only Zarr store over the core's byte sources: [`ByteSourceStore`] implements zarrs'
//! [`ReadableStorageTraits`] over an [`ObjectSource`] that opens each object (a `zarr.json`,
//! a chunk, a shard) as a [`ByteSource`]. Natively the objects are files under a directory;
//! in the browser they are URLs under a base URL read with HTTP `Range` requests (the recipe
//! worker's byte sources), so the same code reads a store from disk and from a web server.
//!
//! - An object that does not exist (no such file, HTTP 404: [`AssetErrorKind::NotFound`])
//!   is *absent*: zarrs reads an absent chunk as the fill value and an absent `zarr.json` as
//!   "no array here".
//! - Any other failure (HTTP 500, a network error, a short read) is a storage error whose
//!   message names the object's path or URL; the Zarr layer reports it as
//!   [`ZarrError::Source`](super::ZarrError::Source) with the chunk key.
//! - Partial reads are real: a byte range of an object is one [`ByteSource::read_range`], so
//!   a sharded array's inner chunk costs the shard index (once per shard with
//!   [`ZarrArray`](super::ZarrArray)'s cached index) plus that chunk's bytes, never the whole
//!   shard.
//!
//! The store counts what it fetched ([`ByteSourceStore::stats`]): opens, range reads and
//! bytes, so tests (and a recipe's output table) can show what a read costs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator, InvalidByteRangeError};
use zarrs::storage::{
    Bytes, MaybeBytes, MaybeBytesIterator, MaybeSend, MaybeSync, ReadableStorageTraits,
    StorageError, StoreKey,
};

use crate::cog::ByteSource;
use crate::stack::{AssetError, AssetErrorKind};

/// Opens the objects of a store as byte sources, by path: files under a directory natively,
/// URLs under a base URL in the browser, a map in tests. Owned (`'static`) and, natively,
/// `Send + Sync`, because zarrs keeps its storage inside the opened array.
///
/// `open` answers [`AssetErrorKind::NotFound`] for an object that does not exist (read as
/// absent) and any other kind for a failure (an error naming the path or URL).
///
/// ```
/// use geochip::cog::{ByteSource, MemorySource};
/// use geochip::stack::AssetError;
/// use geochip::zarr::ObjectSource;
/// struct One;
/// impl ObjectSource for One {
///     fn open(&self, path: &str) -> Result<Box<dyn ByteSource>, AssetError> {
///         match path {
///             "s/zarr.json" => Ok(Box::new(MemorySource::new(path, b"{}".to_vec()))),
///             _ => Err(AssetError::not_found(format!("{path}: no such file"))),
///         }
///     }
/// }
/// assert!(One.open("s/zarr.json").is_ok());
/// ```
pub trait ObjectSource: MaybeSend + MaybeSync {
    /// The object at `path` (`/`-separated, relative to the source's root).
    fn open(&self, path: &str) -> Result<Box<dyn ByteSource>, AssetError>;

    /// What errors call the object or directory at `path`: a full path or URL (default:
    /// `path` itself).
    fn name_of(&self, path: &str) -> String {
        path.to_owned()
    }
}

/// What a [`ByteSourceStore`] has fetched so far.
///
/// ```
/// let s = geochip::zarr::FetchStats::default();
/// assert_eq!(s.requests(), 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Objects opened (in the browser each costs a one-byte `Range` request for the length).
    pub opens: u64,
    /// Objects found absent (404, no such file).
    pub absent: u64,
    /// Byte ranges read.
    pub ranges: u64,
    /// Bytes read.
    pub bytes: u64,
}

impl FetchStats {
    /// Opens plus range reads: the requests an HTTP store makes.
    pub fn requests(&self) -> u64 {
        self.opens + self.ranges
    }
}

#[derive(Debug, Default)]
struct Counters {
    opens: AtomicU64,
    absent: AtomicU64,
    ranges: AtomicU64,
    bytes: AtomicU64,
}

/// A read-only zarrs store whose objects are [`ByteSource`]s opened by an [`ObjectSource`]
/// under a root path (`root/key`). Use it with
/// [`ZarrArray::open`](super::ZarrArray::open) or [`ByteSourceStore::open_array`].
///
/// ```
/// use std::sync::Arc;
/// use geochip::cog::{ByteSource, MemorySource};
/// use geochip::stack::AssetError;
/// use geochip::zarr::{ByteSourceStore, ObjectSource, WriteOptions, ZarrStore};
/// use zarrs::storage::{ListableStorageTraits, ReadableStorageTraits};
///
/// // An array written into memory, then served object by object.
/// let mem = ZarrStore::memory();
/// let a = geochip::LabeledArray::arange_i32(&["y", "x"], &[4, 4]).unwrap();
/// mem.write_array("/a", &a, &WriteOptions { chunk_shape: Some(vec![2, 2]), ..Default::default() }).unwrap();
/// struct Served(ZarrStore);
/// impl ObjectSource for Served {
///     fn open(&self, path: &str) -> Result<Box<dyn ByteSource>, AssetError> {
///         let key = zarrs::storage::StoreKey::new(path.trim_start_matches("data.zarr/"))
///             .map_err(|e| AssetError::unreachable(e.to_string()))?;
///         match self.0.storage().get(&key).map_err(|e| AssetError::unreachable(e.to_string()))? {
///             Some(b) => Ok(Box::new(MemorySource::new(path, b.to_vec()))),
///             None => Err(AssetError::not_found(format!("{path}: HTTP 404"))),
///         }
///     }
/// }
/// let store = Arc::new(ByteSourceStore::new("https://example.org/data.zarr", "data.zarr",
///                                           Arc::new(Served(mem))));
/// let z = store.open_array("/a").unwrap();
/// let w = z.read_window(&[2, 2], &[2, 2]).unwrap();
/// assert_eq!(w.data().to_le_bytes()[..4], 10i32.to_le_bytes());
/// assert!(store.stats().bytes > 0);
/// ```
pub struct ByteSourceStore {
    source: Arc<dyn ObjectSource>,
    root: String,
    name: String,
    counters: Counters,
}

impl std::fmt::Debug for ByteSourceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteSourceStore")
            .field("name", &self.name)
            .field("root", &self.root)
            .field("stats", &self.stats())
            .finish()
    }
}

impl ByteSourceStore {
    /// A store named `name` in errors (a directory or URL), whose key `k` is the object
    /// `root/k` of `source` (`root` may be empty).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # struct None_;
    /// # impl geochip::zarr::ObjectSource for None_ {
    /// #     fn open(&self, p: &str) -> Result<Box<dyn geochip::cog::ByteSource>, geochip::stack::AssetError> {
    /// #         Err(geochip::stack::AssetError::not_found(p)) } }
    /// let s = geochip::zarr::ByteSourceStore::new("https://host/x.zarr", "x.zarr", Arc::new(None_));
    /// assert_eq!(s.name(), "https://host/x.zarr");
    /// ```
    pub fn new(
        name: impl Into<String>,
        root: impl Into<String>,
        source: Arc<dyn ObjectSource>,
    ) -> Self {
        Self {
            source,
            root: root.into().trim_end_matches('/').to_owned(),
            name: name.into(),
            counters: Counters::default(),
        }
    }

    /// The name errors use.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What has been fetched so far.
    pub fn stats(&self) -> FetchStats {
        let c = &self.counters;
        FetchStats {
            opens: c.opens.load(Ordering::Relaxed),
            absent: c.absent.load(Ordering::Relaxed),
            ranges: c.ranges.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
        }
    }

    /// Opens the array at `path` of this store; the array keeps the store, so
    /// [`ByteSourceStore::stats`] goes on counting its reads.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # struct None_;
    /// # impl geochip::zarr::ObjectSource for None_ {
    /// #     fn open(&self, p: &str) -> Result<Box<dyn geochip::cog::ByteSource>, geochip::stack::AssetError> {
    /// #         Err(geochip::stack::AssetError::not_found(p)) } }
    /// let s = Arc::new(geochip::zarr::ByteSourceStore::new("https://host/x.zarr", "x.zarr", Arc::new(None_)));
    /// let e = s.open_array("/a").unwrap_err();
    /// assert_eq!(e.to_string(), "https://host/x.zarr: no Zarr array at '/a' (no zarr.json there)");
    /// assert_eq!(s.stats().absent, 1);
    /// ```
    pub fn open_array(self: &Arc<Self>, path: &str) -> Result<super::ZarrArray, super::ZarrError> {
        super::ZarrArray::open(self.clone(), &self.name, path)
    }

    fn path_of(&self, key: &StoreKey) -> String {
        if self.root.is_empty() {
            key.as_str().to_owned()
        } else {
            format!("{}/{}", self.root, key.as_str())
        }
    }

    /// The object at `key`, `None` when absent.
    fn open_key(&self, key: &StoreKey) -> Result<Option<Box<dyn ByteSource>>, StorageError> {
        self.counters.opens.fetch_add(1, Ordering::Relaxed);
        match self.source.open(&self.path_of(key)) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind == AssetErrorKind::NotFound => {
                self.counters.absent.fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) => Err(StorageError::Other(format!(
                "{}: {}",
                self.path_of(key),
                e.message
            ))),
        }
    }

    fn read(&self, src: &dyn ByteSource, offset: u64, len: u64) -> Result<Bytes, StorageError> {
        let n = usize::try_from(len).map_err(|_| {
            StorageError::Other(format!("{}: {len} bytes do not fit in memory", src.name()))
        })?;
        self.counters.ranges.fetch_add(1, Ordering::Relaxed);
        let b = src
            .read_range(offset, n)
            .map_err(|e| StorageError::Other(e.to_string()))?;
        self.counters
            .bytes
            .fetch_add(b.len() as u64, Ordering::Relaxed);
        Ok(Bytes::from(b))
    }
}

/// Ranges of one object at most this far apart are fetched as one read.
pub const COALESCE_GAP: u64 = 16 * 1024;

fn source_len(src: &dyn ByteSource) -> Result<u64, StorageError> {
    src.len().map_err(|e| StorageError::Other(e.to_string()))
}

impl ReadableStorageTraits for ByteSourceStore {
    fn get(&self, key: &StoreKey) -> Result<MaybeBytes, StorageError> {
        let Some(src) = self.open_key(key)? else {
            return Ok(None);
        };
        let len = source_len(&*src)?;
        self.read(&*src, 0, len).map(Some)
    }

    fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<MaybeBytesIterator<'a>, StorageError> {
        let Some(src) = self.open_key(key)? else {
            return Ok(None);
        };
        let size = source_len(&*src)?;
        let ranges: Vec<ByteRange> = byte_ranges.collect();
        let mut out: Vec<Option<Result<Bytes, StorageError>>> = vec![None; ranges.len()];
        // Valid ranges, by start; ranges closer than COALESCE_GAP are read as one (the
        // sharding codec asks for one range per row of a partly read inner chunk: one request
        // each would be dozens of HTTP round trips for a small window).
        let mut valid: Vec<(u64, u64, usize)> = Vec::with_capacity(ranges.len());
        for (i, range) in ranges.iter().enumerate() {
            let (start, end) = (range.start(size), range.end(size));
            if end > size || start > end {
                out[i] = Some(Err(InvalidByteRangeError::new(*range, size).into()));
            } else {
                valid.push((start, end, i));
            }
        }
        valid.sort_unstable();
        let mut k = 0;
        while k < valid.len() {
            let (first, mut last) = (valid[k].0, valid[k].1);
            let mut j = k + 1;
            while j < valid.len() && valid[j].0 <= last.saturating_add(COALESCE_GAP) {
                last = last.max(valid[j].1);
                j += 1;
            }
            // Read eagerly: the byte source is not `Send`, the iterator zarrs wants may be.
            match self.read(&*src, first, last - first) {
                Ok(run) => {
                    for &(start, end, i) in &valid[k..j] {
                        let (a, b) = ((start - first) as usize, (end - first) as usize);
                        out[i] = Some(Ok(run.slice(a..b)));
                    }
                }
                Err(e) => {
                    for &(_, _, i) in &valid[k..j] {
                        out[i] = Some(Err(StorageError::Other(e.to_string())));
                    }
                }
            }
            k = j;
        }
        let out: Vec<Result<Bytes, StorageError>> = out
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(StorageError::Other("range not read".into()))))
            .collect();
        Ok(Some(Box::new(out.into_iter())))
    }

    fn get_partial(
        &self,
        key: &StoreKey,
        byte_range: ByteRange,
    ) -> Result<MaybeBytes, StorageError> {
        let mut it = self.get_partial_many(key, Box::new(std::iter::once(byte_range)))?;
        match &mut it {
            Some(bytes) => bytes.next().transpose(),
            None => Ok(None),
        }
    }

    fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        match self.open_key(key)? {
            Some(src) => source_len(&*src).map(Some),
            None => Ok(None),
        }
    }

    fn supports_get_partial(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use zarrs::storage::ListableStorageTraits;

    use super::*;
    use crate::cog::{CogError, MemorySource};
    use crate::zarr::{Compression, WriteOptions, ZarrError, ZarrStore};
    use crate::{ArrayData, LabeledArray};

    /// A served store: objects in memory under `base/`, every range read counted by the
    /// byte source itself (independently of the store's own counters), some paths failing
    /// like an HTTP 500.
    #[derive(Default)]
    struct Served {
        objects: Mutex<HashMap<String, Vec<u8>>>,
        failing: Mutex<Vec<String>>,
        log: Arc<Mutex<Vec<(String, u64, usize)>>>,
    }

    struct Counted {
        inner: MemorySource,
        path: String,
        log: Arc<Mutex<Vec<(String, u64, usize)>>>,
    }

    impl ByteSource for Counted {
        fn name(&self) -> &str {
            self.inner.name()
        }
        fn len(&self) -> Result<u64, CogError> {
            self.inner.len()
        }
        fn read_range(&self, offset: u64, len: usize) -> Result<Vec<u8>, CogError> {
            self.log
                .lock()
                .unwrap()
                .push((self.path.clone(), offset, len));
            self.inner.read_range(offset, len)
        }
    }

    impl ObjectSource for Served {
        fn open(&self, path: &str) -> Result<Box<dyn ByteSource>, AssetError> {
            let url = format!("http://127.0.0.1:1/{path}");
            if self.failing.lock().unwrap().iter().any(|p| p == path) {
                return Err(AssetError::unreachable(format!(
                    "{url}: HTTP 500 Internal Server Error"
                )));
            }
            match self.objects.lock().unwrap().get(path) {
                Some(b) => Ok(Box::new(Counted {
                    inner: MemorySource::new(url, b.clone()),
                    path: path.to_owned(),
                    log: self.log.clone(),
                })),
                None => Err(AssetError::not_found(format!("{url}: HTTP 404 Not Found"))),
            }
        }
    }

    impl Served {
        /// Every object of `mem` under `base/`.
        fn of(mem: &ZarrStore, base: &str) -> Arc<Served> {
            let s = Served::default();
            for key in mem.storage().list().unwrap() {
                let b = mem.storage().get(&key).unwrap().unwrap();
                s.objects
                    .lock()
                    .unwrap()
                    .insert(format!("{base}/{}", key.as_str()), b.to_vec());
            }
            Arc::new(s)
        }
        /// Bytes read from `path` since the log was last cleared.
        fn read_of(&self, path: &str) -> usize {
            let log = self.log.lock().unwrap();
            log.iter().filter(|(p, _, _)| p == path).map(|e| e.2).sum()
        }
        fn total(&self) -> (usize, usize) {
            let log = self.log.lock().unwrap();
            (log.len(), log.iter().map(|e| e.2).sum())
        }
    }

    fn field(h: usize, w: usize) -> LabeledArray {
        let v: Vec<f32> = (0..h * w).map(|i| (i % 977) as f32 * 0.25).collect();
        LabeledArray::from_shape_vec(&["y", "x"], &[h, w], v).unwrap()
    }

    fn store(served: &Arc<Served>) -> Arc<ByteSourceStore> {
        let src: Arc<dyn ObjectSource> = served.clone();
        Arc::new(ByteSourceStore::new(
            "http://127.0.0.1:1/data/s.zarr",
            "data/s.zarr",
            src,
        ))
    }

    #[test]
    fn reads_whole_arrays_and_windows_like_the_memory_store() {
        let a = field(40, 56);
        for (shard, comp) in [
            (None, Compression::None),
            (None, Compression::Gzip { level: 5 }),
            (Some(vec![16, 32]), Compression::Gzip { level: 1 }),
        ] {
            let mem = ZarrStore::memory();
            let o = WriteOptions {
                chunk_shape: Some(vec![8, 16]),
                shard_shape: shard.clone(),
                compression: comp,
                ..WriteOptions::default()
            };
            mem.write_array("/g/a", &a, &o).unwrap();
            let served = Served::of(&mem, "data/s.zarr");
            let z = store(&served).open_array("/g/a").unwrap();
            assert_eq!(z.read().unwrap(), a, "{o:?}");
            let want = mem
                .open_array("/g/a")
                .unwrap()
                .read_window(&[5, 9], &[20, 30])
                .unwrap();
            assert_eq!(z.read_window(&[5, 9], &[20, 30]).unwrap(), want, "{o:?}");
        }
    }

    #[test]
    fn missing_chunks_read_as_the_fill_value_and_a_missing_array_is_not_found() {
        let mem = ZarrStore::memory();
        let o = WriteOptions {
            chunk_shape: Some(vec![8, 8]),
            fill_value: Some(-1.0),
            ..WriteOptions::default()
        };
        mem.write_array("/a", &field(16, 16), &o).unwrap();
        let served = Served::of(&mem, "data/s.zarr");
        served
            .objects
            .lock()
            .unwrap()
            .remove("data/s.zarr/a/c/1/0")
            .unwrap();
        let s = store(&served);
        let back = s.open_array("/a").unwrap().read().unwrap();
        let ArrayData::F32(v) = back.data() else {
            panic!("float32")
        };
        assert!(v.slice(ndarray::s![8.., ..8]).iter().all(|x| *x == -1.0));
        assert_eq!(v[[0, 1]], 0.25);
        assert_eq!(s.stats().absent, 1, "{:?}", s.stats());
        let e = s.open_array("/b").unwrap_err();
        assert!(matches!(e, ZarrError::NotFound { .. }), "{e}");
    }

    #[test]
    fn other_fetch_failures_are_errors_naming_the_url_and_key() {
        let mem = ZarrStore::memory();
        let o = WriteOptions {
            chunk_shape: Some(vec![8, 8]),
            ..WriteOptions::default()
        };
        mem.write_array("/a", &field(16, 16), &o).unwrap();
        let served = Served::of(&mem, "data/s.zarr");
        served
            .failing
            .lock()
            .unwrap()
            .push("data/s.zarr/a/c/0/1".into());
        let e = store(&served).open_array("/a").unwrap().read().unwrap_err();
        assert!(
            matches!(&e, ZarrError::Source { key, .. } if key == "a/c/0/1"),
            "{e}"
        );
        let text = e.to_string();
        assert!(
            text.contains("http://127.0.0.1:1/data/s.zarr/a/c/0/1: HTTP 500"),
            "{text}"
        );
        // Metadata that cannot be fetched is a Source error too, not "no array".
        served
            .failing
            .lock()
            .unwrap()
            .push("data/s.zarr/a/zarr.json".into());
        let e = store(&served).open_array("/a").unwrap_err();
        assert!(
            matches!(&e, ZarrError::Source { key, .. } if key == "a/zarr.json"),
            "{e}"
        );
    }

    #[test]
    fn truncated_and_corrupt_chunks_name_their_key() {
        let mem = ZarrStore::memory();
        let o = WriteOptions {
            chunk_shape: Some(vec![8, 8]),
            compression: Compression::Gzip { level: 6 },
            ..WriteOptions::default()
        };
        mem.write_array("/a", &field(16, 16), &o).unwrap();
        let served = Served::of(&mem, "data/s.zarr");
        let path = "data/s.zarr/a/c/1/1";
        let full = served.objects.lock().unwrap()[path].clone();
        served
            .objects
            .lock()
            .unwrap()
            .insert(path.into(), full[..full.len() / 2].to_vec());
        let e = store(&served).open_array("/a").unwrap().read().unwrap_err();
        assert!(
            matches!(&e, ZarrError::Chunk { key, .. } if key == "a/c/1/1"),
            "{e}"
        );
        let mut bad = full.clone();
        let mid = bad.len() / 2;
        bad[mid - 4..mid + 4].iter_mut().for_each(|b| *b ^= 0x5A);
        served.objects.lock().unwrap().insert(path.into(), bad);
        let e = store(&served)
            .open_array("/a")
            .unwrap()
            .read_window(&[8, 8], &[8, 8])
            .unwrap_err();
        assert!(
            matches!(&e, ZarrError::Chunk { key, .. } if key == "a/c/1/1"),
            "{e}"
        );
    }

    #[test]
    fn sharded_reads_fetch_the_index_and_the_inner_chunk_not_the_shard() {
        // 64×64 float32, 8×8 chunks in 32×32 shards: each shard 16 chunks of 256 bytes plus a
        // 16 × 16 + 4 byte index.
        let a = field(64, 64);
        let mem = ZarrStore::memory();
        let o = WriteOptions {
            chunk_shape: Some(vec![8, 8]),
            shard_shape: Some(vec![32, 32]),
            ..WriteOptions::default()
        };
        mem.write_array("/a", &a, &o).unwrap();
        let served = Served::of(&mem, "data/s.zarr");
        let shard = "data/s.zarr/a/c/1/0";
        let shard_len = served.objects.lock().unwrap()[shard].len();
        assert_eq!(shard_len, 16 * 256 + 16 * 16 + 4);
        let s = store(&served);
        let z = s.open_array("/a").unwrap();
        served.log.lock().unwrap().clear();
        let before = s.stats();
        // One inner chunk: the index, then the chunk.
        let w = z.read_window(&[40, 8], &[8, 8]).unwrap();
        let want = a.data().to_le_bytes();
        let got = w.data().to_le_bytes();
        assert_eq!(&got[..4], &want[(40 * 64 + 8) * 4..(40 * 64 + 8) * 4 + 4]);
        assert_eq!(served.read_of(shard), 16 * 16 + 4 + 256);
        assert_eq!(served.total(), (2, 16 * 16 + 4 + 256));
        let after = s.stats();
        assert_eq!(after.ranges - before.ranges, 2);
        assert_eq!(after.bytes - before.bytes, (16 * 16 + 4 + 256) as u64);
        // A second inner chunk of the same shard: the cached index, only the chunk.
        served.log.lock().unwrap().clear();
        z.read_window(&[48, 16], &[8, 8]).unwrap();
        assert_eq!(served.total(), (1, 256));
        // A window across four inner chunks of one shard (the subset path): index + 4 chunks.
        served.log.lock().unwrap().clear();
        let w = z.read_window(&[36, 4], &[8, 8]).unwrap();
        // zarrs asks, per inner chunk, for the pieces of its rows the window needs (16 bytes
        // each); they are close, so each chunk's pieces come as one coalesced range: the
        // index, then one read per inner chunk, far less than the shard.
        let (reads, bytes) = served.total();
        assert_eq!(reads, 1 + 4, "{:?}", served.log.lock().unwrap());
        assert!(bytes < shard_len / 3, "{bytes} of {shard_len}");
        assert_eq!(served.log.lock().unwrap()[0], (shard.to_owned(), 4096, 260));
        assert_eq!(
            w,
            mem.open_array("/a")
                .unwrap()
                .read_window(&[36, 4], &[8, 8])
                .unwrap()
        );
    }

    #[test]
    fn unsharded_chunks_are_read_whole_with_one_range() {
        let mem = ZarrStore::memory();
        let o = WriteOptions {
            chunk_shape: Some(vec![8, 8]),
            ..WriteOptions::default()
        };
        mem.write_array("/a", &field(16, 16), &o).unwrap();
        let served = Served::of(&mem, "data/s.zarr");
        let s = store(&served);
        let z = s.open_array("/a").unwrap();
        served.log.lock().unwrap().clear();
        let before = s.stats();
        z.read_window(&[8, 0], &[8, 8]).unwrap();
        assert_eq!(
            *served.log.lock().unwrap(),
            vec![("data/s.zarr/a/c/1/0".to_owned(), 0, 256)]
        );
        let after = s.stats();
        assert_eq!(
            (after.opens - before.opens, after.ranges - before.ranges),
            (1, 1)
        );
    }
}
