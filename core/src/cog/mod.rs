//! Cloud-optimised GeoTIFF (COG) pixel reading: fetch and decode only the tiles (or strips) a
//! window needs, at full resolution or from an internal overview.
//!
//! I/O comes in through the synchronous [`ByteSource`] trait (an in-memory [`MemorySource`]
//! here; local files and HTTP range requests in `geochip-bench`). A browser cannot do
//! synchronous I/O, so every step also exists as plan / fetch / decode:
//!
//! 1. [`HeaderReader`]: feed it byte ranges until [`HeaderReader::parse`] answers
//!    [`HeaderStep::Ready`] with a [`Cog`] (the parsed header, kept and reused for every read);
//! 2. [`Cog::plan_window`]: the byte ranges of the tiles a window needs, adjacent tiles
//!    coalesced into one request ([`WindowPlan::requests`]);
//! 3. [`Cog::decode_window`]: decode from the fetched bytes into a [`LabeledArray`] with dims
//!    `band, y, x` and the window's grid.
//!
//! Supported: tiled and striped layouts, chunky and band-separate planar configurations,
//! little- and big-endian files, no compression, deflate, LZW, packbits, JPEG (8-bit, YCbCr
//! converted to RGB like GDAL), and any codec registered in [`Codecs`] (the native CLI adds
//! zstd, which is C and so never part of the core); horizontal (2) and floating-point (3)
//! predictors; sparse tiles (offset/size 0) read as nodata, or 0 without nodata.
//!
//! Why tiles are decoded here rather than by `tiff`'s `Decoder::read_chunk`: the decoder needs
//! one `Read + Seek` over the whole file and decodes one chunk at a time through its own
//! `flate2` (miniz_oxide) inflate. Decoding from bytes fetched elsewhere (asynchronously, by
//! coalesced range requests) and in parallel needs the per-tile pipeline exposed, and
//! `fdeflate` inflates GDAL's deflate tiles about 2.5–3× faster than miniz_oxide (one core,
//! `native-bench/benches/cog.rs` group `cog/inflate`: fdeflate ~300 Mpx/s, zlib-rs ~300,
//! zune-inflate ~280, miniz_oxide ~100; fdeflate is the smallest of the fast three and comes
//! from the image-rs family `tiff` belongs to). The header itself is still parsed by `tiff`'s
//! decoder and the georeferencing by [`crate::geotiff`].
//!
//! ```
//! use geochip::cog::{Cog, MemorySource};
//! use geochip::Window;
//! # fn tiff() -> Vec<u8> {
//! #     let mut buf = std::io::Cursor::new(Vec::new());
//! #     let mut enc = tiff::encoder::TiffEncoder::new(&mut buf).unwrap();
//! #     let px: Vec<u8> = (0..=255).collect();
//! #     enc.write_image::<tiff::encoder::colortype::Gray8>(16, 16, &px).unwrap();
//! #     buf.into_inner()
//! # }
//! let src = MemorySource::new("gradient.tif", tiff());
//! let cog = Cog::open(&src).unwrap();
//! assert_eq!(cog.grid().shape(), (16, 16));
//! let a = cog.read_window(&src, 0, Window::new(2, 1, 3, 2), None).unwrap();
//! assert_eq!(a.dims(), ["band", "y", "x"]);
//! assert_eq!(a.shape(), &[1, 2, 3]);
//! assert_eq!(a.data().to_le_bytes(), vec![18, 19, 20, 34, 35, 36]);
//! ```

mod decode;
mod header;
mod plan;
#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use header::{HeaderReader, HeaderStep};
pub use plan::{ByteRange, WindowPlan};

use crate::array::{ArrayError, DType, LabeledArray};
use crate::geotiff::{GeoTiffError, GeoTiffInfo};
use crate::grid::{Grid, GridError, Window};

/// Errors from reading COG/GeoTIFF pixels. Each names the input it came from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CogError {
    /// The header (IFDs, tags, georeferencing) is unreadable.
    #[error(transparent)]
    Header(#[from] GeoTiffError),
    /// The byte source failed (file unreadable, HTTP error, ...).
    #[error("{input}: cannot read bytes {offset}..{end}: {reason}")]
    Source {
        /// Name of the input (file name or URL).
        input: String,
        /// First byte asked for.
        offset: u64,
        /// One past the last byte asked for.
        end: u64,
        /// What the source reported.
        reason: String,
    },
    /// The header points past the end of the file: it is truncated (or the offset corrupt).
    #[error(
        "{input}: truncated or corrupt: {what} needs bytes {offset}..{end} but the file has {file_len}"
    )]
    Truncated {
        /// Name of the input.
        input: String,
        /// What was being read.
        what: String,
        /// First byte needed.
        offset: u64,
        /// One past the last byte needed.
        end: u64,
        /// Length of the file.
        file_len: u64,
    },
    /// An overview level the file does not have.
    #[error("{input}: no level {level}: the file has levels 0..{levels} (0 is full resolution)")]
    Level {
        /// Name of the input.
        input: String,
        /// The level asked for.
        level: usize,
        /// How many levels there are.
        levels: usize,
    },
    /// A window that is empty or does not lie inside the level.
    #[error("{input}: window at level {level}: {source}")]
    Window {
        /// Name of the input.
        input: String,
        /// The level read.
        level: usize,
        /// The grid's description of the problem.
        source: GridError,
    },
    /// A band index past the last band (or an empty band list).
    #[error("{input}: band {band} asked for, but the file has {bands} bands (0-based)")]
    Band {
        /// Name of the input.
        input: String,
        /// The band asked for (`usize::MAX` for an empty list).
        band: usize,
        /// How many bands there are.
        bands: usize,
    },
    /// A compression this build cannot decode (e.g. zstd in the browser).
    #[error(
        "{input}: compression {compression} is not available in this build \
         (register a decompressor for TIFF code {code} with Codecs)"
    )]
    CodecUnavailable {
        /// Name of the input.
        input: String,
        /// The compression's name.
        compression: String,
        /// The TIFF compression code.
        code: u16,
    },
    /// A layout or sample encoding the reader does not handle.
    #[error("{input}: unsupported: {what}")]
    Unsupported {
        /// Name of the input.
        input: String,
        /// What is unsupported.
        what: String,
    },
    /// A tile or strip whose data does not decode.
    #[error("{input}: level {level} {kind} {index} (bytes {offset}..{end}) is corrupt: {reason}")]
    Corrupt {
        /// Name of the input.
        input: String,
        /// The level it belongs to.
        level: usize,
        /// `"tile"` or `"strip"`.
        kind: &'static str,
        /// Index of the tile or strip in the level.
        index: usize,
        /// First byte of its data.
        offset: u64,
        /// One past its last byte.
        end: u64,
        /// What the decoder reported.
        reason: String,
    },
    /// Fetched bytes that do not match the plan they were fetched for.
    #[error("{input}: fetched data does not match the plan: {reason}")]
    Fetch {
        /// Name of the input.
        input: String,
        /// What does not match.
        reason: String,
    },
    /// The decoded window could not be made into an array (should not happen).
    #[error("{input}: {source}")]
    Array {
        /// Name of the input.
        input: String,
        /// The array error.
        source: ArrayError,
    },
}

/// A synchronous source of byte ranges: a buffer, a local file, an HTTP server.
///
/// ```
/// use geochip::cog::{ByteSource, MemorySource};
/// let src = MemorySource::new("x.bin", vec![1, 2, 3, 4]);
/// assert_eq!(src.len().unwrap(), 4);
/// assert_eq!(src.read_range(1, 2).unwrap(), vec![2, 3]);
/// assert!(src.read_range(3, 2).is_err());
/// ```
pub trait ByteSource {
    /// The name used in error messages (file name or URL).
    fn name(&self) -> &str;
    /// Total length in bytes.
    fn len(&self) -> Result<u64, CogError>;
    /// Exactly `len` bytes starting at `offset`; an error when fewer exist.
    fn read_range(&self, offset: u64, len: usize) -> Result<Vec<u8>, CogError>;
    /// True when the source has no bytes.
    fn is_empty(&self) -> Result<bool, CogError> {
        Ok(self.len()? == 0)
    }
}

/// A [`ByteSource`] over bytes in memory.
///
/// ```
/// use geochip::cog::{ByteSource, MemorySource};
/// assert_eq!(MemorySource::new("a", vec![0; 3]).name(), "a");
/// ```
#[derive(Debug, Clone)]
pub struct MemorySource {
    name: String,
    bytes: Arc<[u8]>,
}

impl MemorySource {
    /// A source named `name` holding `bytes`.
    ///
    /// ```
    /// let src = geochip::cog::MemorySource::new("a.tif", b"II*\0".to_vec());
    /// ```
    pub fn new(name: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Self {
        Self {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

impl ByteSource for MemorySource {
    fn name(&self) -> &str {
        &self.name
    }
    fn len(&self) -> Result<u64, CogError> {
        Ok(self.bytes.len() as u64)
    }
    fn read_range(&self, offset: u64, len: usize) -> Result<Vec<u8>, CogError> {
        let end = offset.saturating_add(len as u64);
        let slice = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(a, b)| self.bytes.get(a..b));
        slice
            .map(<[u8]>::to_vec)
            .ok_or_else(|| CogError::Truncated {
                input: self.name.clone(),
                what: "read".into(),
                offset,
                end,
                file_len: self.bytes.len() as u64,
            })
    }
}

/// A decompressor for a TIFF compression the core does not decode itself (zstd natively).
///
/// ```
/// use geochip::cog::Decompressor;
/// struct Copy;
/// impl Decompressor for Copy {
///     fn decompress(&self, input: &[u8], output: &mut [u8]) -> Result<usize, String> {
///         let n = input.len().min(output.len());
///         output[..n].copy_from_slice(&input[..n]);
///         Ok(n)
///     }
/// }
/// let codecs = geochip::cog::Codecs::default().with(65000, std::sync::Arc::new(Copy));
/// assert!(codecs.get(65000).is_some());
/// ```
pub trait Decompressor: Send + Sync {
    /// Decompresses `input` into `output` (sized for the whole decoded chunk) and returns how
    /// many bytes were written.
    fn decompress(&self, input: &[u8], output: &mut [u8]) -> Result<usize, String>;
}

/// Extra decompressors, by TIFF compression code, that a [`Cog`] may use.
///
/// ```
/// let codecs = geochip::cog::Codecs::default();
/// assert!(codecs.get(50000).is_none());
/// ```
#[derive(Clone, Default)]
pub struct Codecs {
    extra: Vec<(u16, Arc<dyn Decompressor>)>,
}

impl std::fmt::Debug for Codecs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let codes: Vec<u16> = self.extra.iter().map(|(c, _)| *c).collect();
        f.debug_struct("Codecs").field("codes", &codes).finish()
    }
}

impl Codecs {
    /// These codecs plus `decompressor` for compression `code` (replacing an earlier one).
    ///
    /// ```
    /// # use geochip::cog::{Codecs, Decompressor};
    /// # struct Z;
    /// # impl Decompressor for Z {
    /// #     fn decompress(&self, _: &[u8], _: &mut [u8]) -> Result<usize, String> { Ok(0) }
    /// # }
    /// let c = Codecs::default().with(50000, std::sync::Arc::new(Z));
    /// assert!(c.get(50000).is_some());
    /// ```
    pub fn with(mut self, code: u16, decompressor: Arc<dyn Decompressor>) -> Self {
        self.extra.retain(|(c, _)| *c != code);
        self.extra.push((code, decompressor));
        self
    }

    /// The decompressor registered for `code`.
    ///
    /// ```
    /// assert!(geochip::cog::Codecs::default().get(8).is_none());
    /// ```
    pub fn get(&self, code: u16) -> Option<&Arc<dyn Decompressor>> {
        self.extra.iter().find(|(c, _)| *c == code).map(|(_, d)| d)
    }
}

/// How the samples of one image (full resolution or an overview) are laid out in the file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) chunk_w: usize,
    pub(crate) chunk_h: usize,
    pub(crate) tiled: bool,
    /// PlanarConfiguration 2: one chunk per band.
    pub(crate) planar: bool,
    pub(crate) samples: usize,
    pub(crate) dtype: DType,
    pub(crate) compression: u16,
    pub(crate) predictor: u16,
    pub(crate) photometric: u16,
    pub(crate) big_endian: bool,
    pub(crate) offsets: Vec<u64>,
    pub(crate) counts: Vec<u64>,
    pub(crate) jpeg_tables: Option<Arc<Vec<u8>>>,
}

impl Layout {
    pub(crate) fn across(&self) -> usize {
        self.width.div_ceil(self.chunk_w)
    }
    pub(crate) fn down(&self) -> usize {
        self.height.div_ceil(self.chunk_h)
    }
}

/// One resolution level of a COG: level 0 is the full-resolution image, the others its
/// internal overviews, each with its own grid (GDAL's overview transform: the full grid's
/// pixel size scaled by the ratio of the shapes).
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    grid: Grid,
    layout: Layout,
    nodata: Option<f64>,
}

impl Level {
    /// The level's grid.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// let cog = geochip::cog::Cog::open(&src).unwrap();
    /// println!("{:?}", cog.levels()[1].grid().shape());
    /// ```
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// `(width, height)` of a tile, or `(width, rows per strip)` for strips.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// let cog = geochip::cog::Cog::open(&src).unwrap();
    /// assert_eq!(cog.levels()[0].block(), (512, 512));
    /// ```
    pub fn block(&self) -> (usize, usize) {
        (self.layout.chunk_w, self.layout.chunk_h)
    }

    /// True for a tiled level, false for strips.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// assert!(geochip::cog::Cog::open(&src).unwrap().levels()[0].tiled());
    /// ```
    pub fn tiled(&self) -> bool {
        self.layout.tiled
    }

    /// TIFF compression code of the level's tiles.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// assert_eq!(geochip::cog::Cog::open(&src).unwrap().levels()[0].compression(), 8);
    /// ```
    pub fn compression(&self) -> u16 {
        self.layout.compression
    }

    /// `(across, down)`: how many tiles (or strips, `across` = 1) cover the level.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// let (across, down) = geochip::cog::Cog::open(&src).unwrap().levels()[0].chunk_grid();
    /// ```
    pub fn chunk_grid(&self) -> (usize, usize) {
        (self.layout.across(), self.layout.down())
    }

    /// How many tiles (or strips) the level stores: `across × down`, times the bands for a
    /// band-separate (planar) file.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// println!("{}", geochip::cog::Cog::open(&src).unwrap().levels()[0].chunk_count());
    /// ```
    pub fn chunk_count(&self) -> usize {
        self.layout.offsets.len()
    }

    /// The stored (compressed) bytes of all the level's tiles, from the header's byte counts.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// println!("{} bytes", geochip::cog::Cog::open(&src).unwrap().levels()[0].stored_bytes());
    /// ```
    pub fn stored_bytes(&self) -> u64 {
        self.layout.counts.iter().sum()
    }

    /// The full window of this level.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// let w = geochip::cog::Cog::open(&src).unwrap().levels()[0].full_window();
    /// assert_eq!(w.col_off, 0);
    /// ```
    pub fn full_window(&self) -> Window {
        Window::new(0, 0, self.grid.width, self.grid.height)
    }
}

/// A parsed COG/GeoTIFF header: grids of every level, bands, dtype, nodata, and where each
/// tile lives. Parse it once ([`Cog::open`] or [`HeaderReader`]) and read many windows.
///
/// ```
/// use geochip::cog::{Cog, MemorySource};
/// let err = Cog::open(&MemorySource::new("junk.tif", b"not a tiff".to_vec())).unwrap_err();
/// assert!(err.to_string().starts_with("junk.tif: not a readable TIFF"));
/// ```
#[derive(Debug, Clone)]
pub struct Cog {
    name: String,
    file_len: u64,
    info: GeoTiffInfo,
    levels: Vec<Level>,
    /// The header bytes fetched while parsing; tiles inside them need no second fetch.
    held: header::Held,
    codecs: Codecs,
    merge_gap: u64,
}

/// Tile ranges at most this far apart are fetched in one request by default: GDAL's COG
/// driver leaves 8 bytes (a size leader and a trailer) between consecutive tiles, and one more
/// HTTP round trip costs far more than 16 KiB of transfer.
pub const DEFAULT_MERGE_GAP: u64 = 16 * 1024;

/// At most this many header rounds in [`Cog::open`] (each at least doubles what is held).
const MAX_HEADER_ROUNDS: usize = 48;

impl Cog {
    /// Reads and parses the header from `source`, fetching a prefix and then whatever further
    /// ranges the IFDs point to.
    ///
    /// ```
    /// use geochip::cog::{Cog, MemorySource};
    /// let err = Cog::open(&MemorySource::new("empty.tif", Vec::new())).unwrap_err();
    /// assert!(err.to_string().contains("empty.tif"));
    /// ```
    pub fn open(source: &dyn ByteSource) -> Result<Cog, CogError> {
        let mut reader = HeaderReader::new(source.name(), source.len()?);
        for _ in 0..MAX_HEADER_ROUNDS {
            match reader.parse()? {
                HeaderStep::Ready(cog) => return Ok(*cog),
                HeaderStep::Need(range) => {
                    let bytes = source.read_range(range.offset, range.len_usize())?;
                    reader.add(range.offset, bytes);
                }
            }
        }
        Err(GeoTiffError::Decode {
            input: source.name().to_owned(),
            reason: format!("header still incomplete after {MAX_HEADER_ROUNDS} range requests"),
        }
        .into())
    }

    /// This COG using `codecs` for compressions the core does not decode itself.
    ///
    /// ```
    /// # let src = geochip::cog::MemorySource::new("a.tif", b"II".to_vec());
    /// # let Ok(cog) = geochip::cog::Cog::open(&src) else { return };
    /// let cog = cog.with_codecs(geochip::cog::Codecs::default());
    /// ```
    pub fn with_codecs(mut self, codecs: Codecs) -> Self {
        self.codecs = codecs;
        self
    }

    /// Merge tile ranges whose gap is at most `gap` bytes into one request (default
    /// [`DEFAULT_MERGE_GAP`]; 0 merges only touching ranges).
    ///
    /// ```
    /// # let src = geochip::cog::MemorySource::new("a.tif", b"II".to_vec());
    /// # let Ok(cog) = geochip::cog::Cog::open(&src) else { return };
    /// let cog = cog.with_merge_gap(16 * 1024);
    /// ```
    pub fn with_merge_gap(mut self, gap: u64) -> Self {
        self.merge_gap = gap;
        self
    }

    /// The input's name.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// assert_eq!(geochip::cog::Cog::open(&src).unwrap().name(), "a.tif");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Length of the file in bytes.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// println!("{}", geochip::cog::Cog::open(&src).unwrap().file_len());
    /// ```
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The metadata of the full-resolution image ([`crate::geotiff::read_info`]'s answer).
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// println!("{}", geochip::cog::Cog::open(&src).unwrap().info().to_json());
    /// ```
    pub fn info(&self) -> &GeoTiffInfo {
        &self.info
    }

    /// The full-resolution grid.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// println!("{:?}", geochip::cog::Cog::open(&src).unwrap().grid().shape());
    /// ```
    pub fn grid(&self) -> &Grid {
        &self.info.grid
    }

    /// Level 0 (full resolution) then each internal overview, largest first.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// println!("{}", geochip::cog::Cog::open(&src).unwrap().levels().len());
    /// ```
    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    /// Number of bands (samples per pixel).
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// println!("{}", geochip::cog::Cog::open(&src).unwrap().bands());
    /// ```
    pub fn bands(&self) -> usize {
        self.info.bands
    }

    /// Element type of the pixels.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// println!("{}", geochip::cog::Cog::open(&src).unwrap().dtype());
    /// ```
    pub fn dtype(&self) -> DType {
        self.info.dtype
    }

    /// GDAL's nodata value, when set.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// println!("{:?}", geochip::cog::Cog::open(&src).unwrap().nodata());
    /// ```
    pub fn nodata(&self) -> Option<f64> {
        self.info.nodata
    }

    /// The nodata GDAL reports for `level` (0: [`Cog::nodata`]): an overview's own
    /// `GDAL_NODATA` tag, so an overview written without it has none (`None` also for a level
    /// the file lacks).
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// println!("{:?}", geochip::cog::Cog::open(&src).unwrap().level_nodata(1));
    /// ```
    pub fn level_nodata(&self, level: usize) -> Option<f64> {
        self.levels.get(level).and_then(|l| l.nodata)
    }

    /// The level `level`, or a typed error naming the input.
    fn level(&self, level: usize) -> Result<&Level, CogError> {
        self.levels.get(level).ok_or_else(|| CogError::Level {
            input: self.name.clone(),
            level,
            levels: self.levels.len(),
        })
    }

    /// Reads `window` of `level` (0 = full resolution) for `bands` (0-based; `None` = all) from
    /// `source`, fetching only the tiles the window touches. Dims `band, y, x`; the array
    /// carries the window's grid.
    ///
    /// ```
    /// use geochip::cog::{Cog, MemorySource};
    /// # let mut buf = std::io::Cursor::new(Vec::new());
    /// # let px: Vec<u8> = (0..=255).collect();
    /// # tiff::encoder::TiffEncoder::new(&mut buf).unwrap()
    /// #     .write_image::<tiff::encoder::colortype::Gray8>(16, 16, &px).unwrap();
    /// let src = MemorySource::new("g.tif", buf.into_inner());
    /// let cog = Cog::open(&src).unwrap();
    /// let outside = cog.read_window(&src, 0, geochip::Window::new(20, 0, 4, 4), None);
    /// assert!(outside.unwrap_err().to_string().starts_with("g.tif: window at level 0"));
    /// ```
    pub fn read_window(
        &self,
        source: &dyn ByteSource,
        level: usize,
        window: Window,
        bands: Option<&[usize]>,
    ) -> Result<LabeledArray, CogError> {
        let plan = self.plan_window(level, window, bands)?;
        let mut fetched = Vec::with_capacity(plan.requests().len());
        for r in plan.requests() {
            let bytes = source.read_range(r.offset, r.len_usize())?;
            if bytes.len() as u64 != r.len {
                return Err(CogError::Truncated {
                    input: self.name.clone(),
                    what: "tile data".into(),
                    offset: r.offset,
                    end: r.end(),
                    file_len: r.offset + bytes.len() as u64,
                });
            }
            fetched.push(bytes);
        }
        self.decode_window(&plan, &fetched)
    }
}
