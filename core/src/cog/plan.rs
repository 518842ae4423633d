//! Which tiles a window needs, where their bytes are, and the coalesced requests to fetch them.

use serde::Serialize;

use super::{Cog, CogError};
use crate::grid::Window;

/// A byte range of a file: `len` bytes from `offset`.
///
/// ```
/// let r = geochip::cog::ByteRange { offset: 10, len: 5 };
/// assert_eq!(r.end(), 15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ByteRange {
    /// First byte.
    pub offset: u64,
    /// Number of bytes.
    pub len: u64,
}

impl ByteRange {
    /// One past the last byte.
    ///
    /// ```
    /// assert_eq!(geochip::cog::ByteRange { offset: 0, len: 3 }.end(), 3);
    /// ```
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.len)
    }

    /// `len` as a `usize` (saturating on 16-bit targets).
    ///
    /// ```
    /// assert_eq!(geochip::cog::ByteRange { offset: 0, len: 3 }.len_usize(), 3);
    /// ```
    pub fn len_usize(&self) -> usize {
        usize::try_from(self.len).unwrap_or(usize::MAX)
    }
}

/// Where one chunk's compressed bytes come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Origin {
    /// Already held from the header fetches.
    Held,
    /// Inside request `request`, starting `at` bytes into it.
    Request { request: usize, at: usize },
    /// A sparse chunk (no data in the file): filled with nodata or 0.
    Sparse,
}

/// One chunk (tile or strip) a window needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChunkRead {
    /// Index into the level's chunk tables.
    pub(crate) index: usize,
    /// Chunk column and row in the level's chunk grid.
    pub(crate) cx: usize,
    pub(crate) cy: usize,
    /// Sample plane (band) for band-separate files; 0 otherwise.
    pub(crate) plane: usize,
    pub(crate) range: ByteRange,
    pub(crate) origin: Origin,
}

/// The tiles one window read needs and the coalesced byte ranges to fetch for them.
///
/// ```
/// use geochip::cog::{Cog, MemorySource};
/// # let mut buf = std::io::Cursor::new(Vec::new());
/// # let px: Vec<u8> = (0..=255).collect();
/// # tiff::encoder::TiffEncoder::new(&mut buf).unwrap()
/// #     .write_image::<tiff::encoder::colortype::Gray8>(16, 16, &px).unwrap();
/// let src = MemorySource::new("g.tif", buf.into_inner());
/// let cog = Cog::open(&src).unwrap();
/// let plan = cog.plan_window(0, geochip::Window::new(0, 0, 16, 16), None).unwrap();
/// // The whole small file arrived with the header: nothing left to fetch.
/// assert!(plan.requests().is_empty());
/// let a = cog.decode_window(&plan, &[]).unwrap();
/// assert_eq!(a.shape(), &[1, 16, 16]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WindowPlan {
    pub(crate) level: usize,
    pub(crate) window: Window,
    pub(crate) bands: Vec<usize>,
    pub(crate) chunks: Vec<ChunkRead>,
    pub(crate) requests: Vec<ByteRange>,
}

impl WindowPlan {
    /// The byte ranges to fetch, in file order; pass their bytes, in this order, to
    /// [`Cog::decode_window`].
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// # let cog = geochip::cog::Cog::open(&src).unwrap();
    /// let plan = cog.plan_window(0, geochip::Window::new(0, 0, 256, 256), None).unwrap();
    /// for r in plan.requests() {
    ///     println!("Range: bytes={}-{}", r.offset, r.end() - 1);
    /// }
    /// ```
    pub fn requests(&self) -> &[ByteRange] {
        &self.requests
    }

    /// How many tiles (or strips) the window touches.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// # let cog = geochip::cog::Cog::open(&src).unwrap();
    /// let plan = cog.plan_window(0, geochip::Window::new(0, 0, 1, 1), None).unwrap();
    /// assert_eq!(plan.chunk_count(), 1);
    /// ```
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// The level, window and bands (0-based) this plan reads.
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// # let cog = geochip::cog::Cog::open(&src).unwrap();
    /// let plan = cog.plan_window(1, geochip::Window::new(0, 0, 1, 1), Some(&[0])).unwrap();
    /// assert_eq!(plan.target().0, 1);
    /// ```
    pub fn target(&self) -> (usize, Window, &[usize]) {
        (self.level, self.window, &self.bands)
    }
}

impl Cog {
    /// Plans reading `window` of `level` for `bands` (0-based; `None` = all): which tiles,
    /// and the byte ranges still to fetch (tiles whose bytes came with the header need none;
    /// ranges closer than the merge gap are coalesced).
    ///
    /// ```no_run
    /// # let src = geochip::cog::MemorySource::new("a.tif", std::fs::read("a.tif").unwrap());
    /// # let cog = geochip::cog::Cog::open(&src).unwrap();
    /// let plan = cog.plan_window(0, geochip::Window::new(0, 0, 512, 512), None).unwrap();
    /// println!("{} requests", plan.requests().len());
    /// ```
    pub fn plan_window(
        &self,
        level: usize,
        window: Window,
        bands: Option<&[usize]>,
    ) -> Result<WindowPlan, CogError> {
        let lv = self.level(level)?;
        lv.grid.window(window).map_err(|source| CogError::Window {
            input: self.name.clone(),
            level,
            source,
        })?;
        let l = &lv.layout;
        let bands: Vec<usize> = match bands {
            None => (0..l.samples).collect(),
            Some(b) => b.to_vec(),
        };
        let bad_band = if bands.is_empty() {
            Some(usize::MAX)
        } else {
            bands.iter().copied().find(|b| *b >= l.samples)
        };
        if let Some(band) = bad_band {
            return Err(CogError::Band {
                input: self.name.clone(),
                band,
                bands: l.samples,
            });
        }
        self.check_codec(l.compression)?;

        let planes: Vec<usize> = if l.planar {
            let mut p = bands.clone();
            p.sort_unstable();
            p.dedup();
            p
        } else {
            vec![0]
        };
        let (across, down) = (l.across(), l.down());
        let cols = window.col_off / l.chunk_w..=(window.col_end() - 1) / l.chunk_w;
        let rows = window.row_off / l.chunk_h..=(window.row_end() - 1) / l.chunk_h;
        let mut chunks = Vec::new();
        for &plane in &planes {
            for cy in rows.clone() {
                for cx in cols.clone() {
                    let index = plane * across * down + cy * across + cx;
                    let (offset, len) = (l.offsets[index], l.counts[index]);
                    let range = ByteRange { offset, len };
                    let kind = if l.tiled { "tile" } else { "strip" };
                    if len > 0 && range.end() > self.file_len {
                        return Err(CogError::Truncated {
                            input: self.name.clone(),
                            what: format!("level {level} {kind} {index}"),
                            offset,
                            end: range.end(),
                            file_len: self.file_len,
                        });
                    }
                    let origin = if len == 0 {
                        Origin::Sparse
                    } else if self.held.get(offset, len).is_some() {
                        Origin::Held
                    } else {
                        // Filled in below, once the requests are known.
                        Origin::Request { request: 0, at: 0 }
                    };
                    chunks.push(ChunkRead {
                        index,
                        cx,
                        cy,
                        plane,
                        range,
                        origin,
                    });
                }
            }
        }
        let requests = coalesce(
            chunks
                .iter()
                .filter(|c| matches!(c.origin, Origin::Request { .. }))
                .map(|c| c.range),
            self.merge_gap,
        );
        for c in &mut chunks {
            if let Origin::Request { .. } = c.origin {
                // Requests are sorted and disjoint; the one containing this chunk starts at or
                // before it.
                let i = requests.partition_point(|r| r.offset <= c.range.offset) - 1;
                c.origin = Origin::Request {
                    request: i,
                    at: (c.range.offset - requests[i].offset) as usize,
                };
            }
        }
        Ok(WindowPlan {
            level,
            window,
            bands,
            chunks,
            requests,
        })
    }

    /// A typed error when this build cannot decode `compression`.
    fn check_codec(&self, compression: u16) -> Result<(), CogError> {
        match compression {
            1 | 5 | 7 | 8 | 32946 | 32773 => Ok(()),
            code if self.codecs.get(code).is_some() => Ok(()),
            50000 | 34887 | 34925 | 50001 => Err(CogError::CodecUnavailable {
                input: self.name.clone(),
                compression: crate::geotiff::compression_name(compression),
                code: compression,
            }),
            other => Err(CogError::Unsupported {
                input: self.name.clone(),
                what: format!("compression {}", crate::geotiff::compression_name(other)),
            }),
        }
    }
}

/// Sorted, merged ranges covering `ranges`: ranges that overlap, touch, or lie at most `gap`
/// bytes apart become one.
pub(crate) fn coalesce(ranges: impl Iterator<Item = ByteRange>, gap: u64) -> Vec<ByteRange> {
    let mut v: Vec<ByteRange> = ranges.collect();
    v.sort_unstable();
    let mut out: Vec<ByteRange> = Vec::with_capacity(v.len());
    for r in v {
        match out.last_mut() {
            Some(last) if r.offset <= last.end().saturating_add(gap) => {
                let end = last.end().max(r.end());
                last.len = end - last.offset;
            }
            _ => out.push(r),
        }
    }
    out
}
