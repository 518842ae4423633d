//! Parsing a COG header from the byte ranges fetched so far, asking for more when an IFD or a
//! tag value lies outside them.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use tiff::decoder::Decoder;
use tiff::tags::Tag;

use super::plan::ByteRange;
use super::{Codecs, Cog, CogError, Layout, Level};
use crate::geotiff::{self, GeoTiffError, decode_error};
use crate::grid::Grid;
use crate::transform::GeoTransform;

/// Byte ranges of a file held in memory, merged so that each position lies in at most one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Held {
    chunks: BTreeMap<u64, Vec<u8>>,
}

impl Held {
    /// Adds `bytes` at `offset`, merging with overlapping or touching ranges.
    pub(crate) fn insert(&mut self, offset: u64, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        let mut start = offset;
        let mut end = offset + bytes.len() as u64;
        let touching: Vec<u64> = self
            .chunks
            .range(..=end)
            .filter(|(o, b)| **o + b.len() as u64 >= start)
            .map(|(o, _)| *o)
            .collect();
        if touching.is_empty() {
            self.chunks.insert(offset, bytes);
            return;
        }
        let parts: Vec<(u64, Vec<u8>)> = touching
            .iter()
            .filter_map(|o| self.chunks.remove_entry(o))
            .collect();
        for (o, b) in &parts {
            start = start.min(*o);
            end = end.max(*o + b.len() as u64);
        }
        let mut merged = vec![0u8; (end - start) as usize];
        for (o, b) in &parts {
            let at = (*o - start) as usize;
            merged[at..at + b.len()].copy_from_slice(b);
        }
        // The new bytes win where they overlap older ones (they are the same file).
        let at = (offset - start) as usize;
        merged[at..at + bytes.len()].copy_from_slice(&bytes);
        self.chunks.insert(start, merged);
    }

    /// The held bytes from `pos` to the end of the range containing it.
    pub(crate) fn from(&self, pos: u64) -> Option<&[u8]> {
        let (o, b) = self.chunks.range(..=pos).next_back()?;
        let at = usize::try_from(pos - o).ok()?;
        b.get(at..).filter(|s| !s.is_empty())
    }

    /// The held bytes `offset..offset+len`, when all of them are held.
    pub(crate) fn get(&self, offset: u64, len: u64) -> Option<&[u8]> {
        let len = usize::try_from(len).ok()?;
        self.from(offset).and_then(|s| s.get(..len))
    }

    /// Total bytes held.
    pub(crate) fn total(&self) -> u64 {
        self.chunks.values().map(|b| b.len() as u64).sum()
    }
}

/// A `Read + Seek` over [`Held`] bytes that fails, remembering where, on bytes not fetched yet.
struct SparseCursor<'a> {
    held: &'a Held,
    len: u64,
    pos: u64,
    missing: Cell<Option<(u64, usize)>>,
}

impl Read for SparseCursor<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let Some(avail) = self.held.from(self.pos) else {
            if self.missing.get().is_none() {
                self.missing.set(Some((self.pos, buf.len())));
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "bytes not fetched yet",
            ));
        };
        let left = usize::try_from(self.len - self.pos).unwrap_or(usize::MAX);
        let n = buf.len().min(avail.len()).min(left);
        buf[..n].copy_from_slice(&avail[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SparseCursor<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad seek"))?;
        Ok(self.pos)
    }
}

/// What [`HeaderReader::parse`] found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum HeaderStep {
    /// The header is complete.
    Ready(Box<Cog>),
    /// These bytes are needed next (fetch them and [`HeaderReader::add`] them).
    Need(ByteRange),
}

/// Parses a COG header from byte ranges the caller fetches: the plan/fetch step for callers
/// that cannot block (a browser's `fetch`).
///
/// ```
/// use geochip::cog::{HeaderReader, HeaderStep};
/// # let mut buf = std::io::Cursor::new(Vec::new());
/// # let px: Vec<u8> = (0..=255).collect();
/// # tiff::encoder::TiffEncoder::new(&mut buf).unwrap()
/// #     .write_image::<tiff::encoder::colortype::Gray8>(16, 16, &px).unwrap();
/// let file = buf.into_inner();
/// let mut reader = HeaderReader::new("g.tif", file.len() as u64);
/// let cog = loop {
///     match reader.parse().unwrap() {
///         HeaderStep::Ready(cog) => break cog,
///         HeaderStep::Need(r) => reader.add(r.offset, file[r.offset as usize..r.end() as usize].to_vec()),
///         _ => unreachable!(),
///     }
/// };
/// assert_eq!(cog.grid().shape(), (16, 16));
/// ```
#[derive(Debug, Clone)]
pub struct HeaderReader {
    name: String,
    file_len: u64,
    held: Held,
}

/// The first request: GDAL's COG driver puts every IFD in the first few KiB.
pub const FIRST_FETCH: u64 = 16 * 1024;

impl HeaderReader {
    /// A reader for the file `name` of `file_len` bytes, holding nothing yet.
    ///
    /// ```
    /// let r = geochip::cog::HeaderReader::new("a.tif", 100_000);
    /// ```
    pub fn new(name: &str, file_len: u64) -> Self {
        Self {
            name: name.to_owned(),
            file_len,
            held: Held::default(),
        }
    }

    /// Adds fetched bytes starting at `offset`.
    ///
    /// ```
    /// let mut r = geochip::cog::HeaderReader::new("a.tif", 4);
    /// r.add(0, b"II*\0".to_vec());
    /// ```
    pub fn add(&mut self, offset: u64, bytes: Vec<u8>) {
        self.held.insert(offset, bytes);
    }

    /// Parses what is held: the [`Cog`], or the next range to fetch.
    ///
    /// ```
    /// use geochip::cog::{HeaderReader, HeaderStep};
    /// let r = HeaderReader::new("a.tif", 100_000);
    /// let HeaderStep::Need(first) = r.parse().unwrap() else { panic!() };
    /// assert_eq!((first.offset, first.len), (0, 16384));
    /// ```
    pub fn parse(&self) -> Result<HeaderStep, CogError> {
        let mut cursor = SparseCursor {
            held: &self.held,
            len: self.file_len,
            pos: 0,
            missing: Cell::new(None),
        };
        let parsed = parse_header(&self.name, &mut cursor);
        if let Some((pos, want)) = cursor.missing.get() {
            // At least double what is held, so a header needs few round trips.
            let len = (want as u64)
                .max(FIRST_FETCH)
                .max(self.held.total())
                .min(self.file_len - pos);
            return Ok(HeaderStep::Need(ByteRange { offset: pos, len }));
        }
        let (info, levels) = parsed?;
        Ok(HeaderStep::Ready(Box::new(Cog {
            name: self.name.clone(),
            file_len: self.file_len,
            info,
            levels,
            held: self.held.clone(),
            codecs: Codecs::default(),
            merge_gap: super::DEFAULT_MERGE_GAP,
        })))
    }
}

type Parsed = (geotiff::GeoTiffInfo, Vec<Level>);

fn parse_header(name: &str, cursor: &mut SparseCursor) -> Result<Parsed, CogError> {
    let decode = |e| CogError::from(decode_error(name, e));
    let mut dec = Decoder::new(&mut *cursor).map_err(decode)?;
    let info = geotiff::info_from_decoder(name, &mut dec)?;
    let big_endian = matches!(dec.byte_order(), tiff::tags::ByteOrder::BigEndian);
    dec.seek_to_image(0).map_err(decode)?;
    let full = read_layout(name, &mut dec, big_endian)?;
    let mut levels = vec![Level {
        grid: info.grid.clone(),
        layout: full,
        nodata: info.nodata,
    }];
    // Bounded walk (like read_info's): a cyclic IFD chain cannot hang us.
    for _ in 0..64 {
        if !dec.more_images() {
            break;
        }
        dec.next_image().map_err(decode)?;
        let subfile: u32 = dec
            .find_tag_unsigned(Tag::NewSubfileType)
            .map_err(decode)?
            .unwrap_or(0);
        // Bit 0: reduced resolution; bit 2: transparency mask (not an overview).
        if subfile & 1 == 0 || subfile & 4 != 0 {
            continue;
        }
        let layout = read_layout(name, &mut dec, big_endian)?;
        let base = &levels[0].layout;
        if layout.samples != base.samples || layout.dtype != base.dtype {
            return Err(CogError::Unsupported {
                input: name.to_owned(),
                what: format!(
                    "overview {} has {} {} samples, the full image {} {}",
                    levels.len(),
                    layout.samples,
                    layout.dtype,
                    base.samples,
                    base.dtype
                ),
            });
        }
        let grid = overview_grid(&info.grid, layout.width, layout.height).map_err(|source| {
            GeoTiffError::Grid {
                input: name.to_owned(),
                source,
            }
        })?;
        let nodata = geotiff::nodata_from_decoder(name, &mut dec)?;
        levels.push(Level {
            grid,
            layout,
            nodata,
        });
    }
    for (i, level) in levels.iter().enumerate() {
        check_layout(name, i, &level.layout)?;
    }
    Ok((info, levels))
}

/// GDAL's overview grid: the full transform rescaled by the ratio of the shapes
/// (`GDALRescaleGeoTransform`).
fn overview_grid(full: &Grid, width: usize, height: usize) -> Result<Grid, crate::GridError> {
    let rx = full.width as f64 / width as f64;
    let ry = full.height as f64 / height as f64;
    let t = &full.transform;
    let transform = GeoTransform::new(t.a * rx, t.b * ry, t.c, t.d * rx, t.e * ry, t.f);
    Grid::new(transform, width, height, full.crs.clone())
}

fn read_layout<R: Read + Seek>(
    name: &str,
    dec: &mut Decoder<R>,
    big_endian: bool,
) -> Result<Layout, CogError> {
    let decode = |e| CogError::from(decode_error(name, e));
    let unsupported = |what: String| CogError::Unsupported {
        input: name.to_owned(),
        what,
    };
    let (width, height) = dec.dimensions().map_err(decode)?;
    let (width, height) = (width as usize, height as usize);
    let samples = usize::from(
        dec.find_tag_unsigned::<u16>(Tag::SamplesPerPixel)
            .map_err(decode)?
            .unwrap_or(1),
    );
    let bits = dec
        .find_tag_unsigned_vec::<u16>(Tag::BitsPerSample)
        .map_err(decode)?
        .unwrap_or_else(|| vec![1]);
    let format = dec
        .find_tag_unsigned_vec::<u16>(Tag::SampleFormat)
        .map_err(decode)?
        .unwrap_or_else(|| vec![1]);
    if bits.iter().any(|b| Some(b) != bits.first())
        || format.iter().any(|f| Some(f) != format.first())
    {
        return Err(unsupported(format!(
            "bands of different types (BitsPerSample {bits:?}, SampleFormat {format:?})"
        )));
    }
    let (b0, f0) = (
        bits.first().copied().unwrap_or(1),
        format.first().copied().unwrap_or(1),
    );
    let dtype = geotiff::sample_dtype(b0, f0)
        .ok_or_else(|| unsupported(format!("samples of {b0} bits with SampleFormat {f0}")))?;
    let tag_u16 = |dec: &mut Decoder<R>, tag, default| {
        dec.find_tag_unsigned::<u16>(tag)
            .map(|v| v.unwrap_or(default))
            .map_err(decode)
    };
    let compression = tag_u16(dec, Tag::Compression, 1)?;
    let predictor = tag_u16(dec, Tag::Predictor, 1)?;
    let planar = tag_u16(dec, Tag::PlanarConfiguration, 1)? == 2;
    let photometric = tag_u16(dec, Tag::PhotometricInterpretation, 1)?;
    let tile_w = dec
        .find_tag_unsigned::<u32>(Tag::TileWidth)
        .map_err(decode)?;
    let tile_h = dec
        .find_tag_unsigned::<u32>(Tag::TileLength)
        .map_err(decode)?;
    let (tiled, chunk_w, chunk_h, off_tag, count_tag) = match (tile_w, tile_h) {
        (Some(w), Some(h)) => (
            true,
            w as usize,
            h as usize,
            Tag::TileOffsets,
            Tag::TileByteCounts,
        ),
        _ => {
            let rows = dec
                .find_tag_unsigned::<u32>(Tag::RowsPerStrip)
                .map_err(decode)?
                .map_or(height, |r| r as usize)
                .min(height);
            (false, width, rows, Tag::StripOffsets, Tag::StripByteCounts)
        }
    };
    if chunk_w == 0 || chunk_h == 0 {
        return Err(CogError::from(GeoTiffError::BadTag {
            input: name.to_owned(),
            tag: if tiled {
                "TileWidth/TileLength"
            } else {
                "RowsPerStrip"
            },
            reason: format!("block of {chunk_w}x{chunk_h} pixels"),
        }));
    }
    let offsets = dec
        .find_tag_unsigned_vec::<u64>(off_tag)
        .map_err(decode)?
        .unwrap_or_default();
    let counts = dec
        .find_tag_unsigned_vec::<u64>(count_tag)
        .map_err(decode)?
        .unwrap_or_default();
    let jpeg_tables = match dec.find_tag(Tag::JPEGTables).map_err(decode)? {
        Some(v) => Some(Arc::new(v.into_u8_vec().map_err(decode)?)),
        None => None,
    };
    Ok(Layout {
        width,
        height,
        chunk_w,
        chunk_h,
        tiled,
        planar,
        samples,
        dtype,
        compression,
        predictor,
        photometric,
        big_endian,
        offsets,
        counts,
        jpeg_tables,
    })
}

/// Checks the chunk tables against the image's shape.
fn check_layout(name: &str, level: usize, l: &Layout) -> Result<(), CogError> {
    let planes = if l.planar { l.samples } else { 1 };
    let expected = l.across() * l.down() * planes;
    let kind = if l.tiled { "Tile" } else { "Strip" };
    if l.offsets.len() != expected || l.counts.len() != expected {
        return Err(GeoTiffError::BadTag {
            input: name.to_owned(),
            tag: if l.tiled {
                "TileOffsets/TileByteCounts"
            } else {
                "StripOffsets/StripByteCounts"
            },
            reason: format!(
                "level {level}: {} offsets and {} byte counts for {expected} {kind}s",
                l.offsets.len(),
                l.counts.len()
            ),
        }
        .into());
    }
    Ok(())
}
