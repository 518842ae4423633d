//! [`CogReader`]: an [`AssetReader`] over the core's COG reader ([`crate::cog`]) and any
//! [`ByteSource`] — local files and HTTP range requests natively (`geochip stack`), memory or
//! prefetched bytes in the browser, object stores in a recipe runtime. Only the tiles a window
//! needs are fetched and decoded; the COG's internal overviews become
//! [`AssetRaster::overviews`] (odc-stac's `use_overviews`).
//!
//! ```
//! use geochip::cog::{ByteSource, MemorySource};
//! use geochip::stack::{load, CogReader, GridParams, LoadOptions};
//! let json = r#"{"type": "Feature", "id": "a", "properties": {"datetime": "2024-01-05T00:10:00Z",
//!   "proj:epsg": 32755}, "assets": {"B02": {"href": "b.tif", "type": "image/tiff",
//!   "proj:shape": [64, 64], "proj:transform": [10, 0, 767920, 0, -10, 6090010],
//!   "raster:bands": [{"data_type": "uint8"}]}}}"#;
//! let items = geochip::stac::parse_items(json).unwrap();
//! // Bytes that are not a TIFF: a corrupt-asset error naming the item and asset.
//! let mut junk = CogReader::new(|_item, href| {
//!     Ok(Box::new(MemorySource::new(href, b"not a tiff".to_vec())) as Box<dyn ByteSource>)
//! });
//! let err = load(&items, &GridParams::default(), &LoadOptions::default(), &mut junk,
//!     &mut |_, _| {}).unwrap_err();
//! assert!(err.to_string().contains("'a'") && err.to_string().contains("B02"), "{err}");
//! ```

use std::collections::{HashMap, VecDeque};

use crate::array::{ArrayData, DType, LabeledArray};
use crate::cog::{ByteSource, Codecs, Cog, CogError};
use crate::grid::{Grid, Window};
use crate::stac::Item;

use super::{AssetError, AssetRaster, AssetReader};

/// Turns an asset (its item and its href as written in the item) into a byte source; the
/// error's kind decides whether `errors_as_nodata` tolerates it.
pub type SourceOpener<'f> = dyn FnMut(&Item, &str) -> Result<Box<dyn ByteSource>, AssetError> + 'f;

/// How many opened assets (byte source + parsed header) a [`CogReader`] keeps by default.
pub const DEFAULT_OPEN_ASSETS: usize = 64;

/// An [`AssetReader`] reading COGs/GeoTIFFs through [`ByteSource`]s.
///
/// Each asset's header is parsed once ([`Cog::open`]) and kept, with its source, for the
/// [`DEFAULT_OPEN_ASSETS`] most recently opened assets (so a multi-band asset read band after
/// band is opened once, and open files stay bounded). Windows are read with
/// [`Cog::read_window`]: only the tiles they touch are fetched (coalesced ranges) and decoded
/// (in parallel with the `parallel` feature). A multi-band window is decoded for all bands at
/// once and kept until another window is read, so the other bands cost no second decode.
///
/// Errors: the opener's own; [`CogError::Source`] (the bytes could not be fetched) is
/// *unreachable*; every other [`CogError`] (not a TIFF, truncated, bad tile) is *corrupt*.
///
/// ```
/// use geochip::stack::{AssetError, CogReader};
/// let reader = CogReader::new(|_item, href| Err(AssetError::not_found(format!("{href}: no such file"))))
///     .with_codecs(geochip::cog::Codecs::default())
///     .with_open_limit(8);
/// # let _ = reader;
/// ```
pub struct CogReader<'f> {
    opener: Box<SourceOpener<'f>>,
    codecs: Codecs,
    limit: usize,
    /// By (item id, href).
    opened: HashMap<(String, String), Result<Opened, AssetError>>,
    /// Keys of `opened`, oldest first.
    order: VecDeque<(String, String)>,
    /// The last multi-band window decoded: (key, level, window) and its bands.
    last: Option<(LastKey, Vec<Vec<f64>>)>,
}

type LastKey = ((String, String), usize, [usize; 4]);

struct Opened {
    source: Box<dyn ByteSource>,
    cog: Cog,
    overviews: Vec<Grid>,
}

impl<'f> CogReader<'f> {
    /// A reader opening assets with `opener` (item, href → byte source).
    ///
    /// ```
    /// use geochip::cog::{ByteSource, MemorySource};
    /// let r = geochip::stack::CogReader::new(|_item, href| {
    ///     Ok(Box::new(MemorySource::new(href, Vec::new())) as Box<dyn ByteSource>)
    /// });
    /// # let _ = r;
    /// ```
    pub fn new(
        opener: impl FnMut(&Item, &str) -> Result<Box<dyn ByteSource>, AssetError> + 'f,
    ) -> Self {
        Self {
            opener: Box::new(opener),
            codecs: Codecs::default(),
            limit: DEFAULT_OPEN_ASSETS,
            opened: HashMap::new(),
            order: VecDeque::new(),
            last: None,
        }
    }

    /// This reader with extra decompressors (zstd natively) for every COG it opens.
    ///
    /// ```
    /// # use geochip::stack::{AssetError, CogReader};
    /// let r = CogReader::new(|_, h| Err(AssetError::not_found(h)))
    ///     .with_codecs(geochip::cog::Codecs::default());
    /// # let _ = r;
    /// ```
    pub fn with_codecs(mut self, codecs: Codecs) -> Self {
        self.codecs = codecs;
        self
    }

    /// Keep at most `n` (at least 1) opened assets; older ones are closed and reopened when
    /// read again.
    ///
    /// ```
    /// # use geochip::stack::{AssetError, CogReader};
    /// let r = CogReader::new(|_, h| Err(AssetError::not_found(h))).with_open_limit(4);
    /// # let _ = r;
    /// ```
    pub fn with_open_limit(mut self, n: usize) -> Self {
        self.limit = n.max(1);
        self
    }
}

/// A [`CogError`] as an [`AssetError`]: fetch failures are unreachable, the rest corrupt.
///
/// ```
/// use geochip::cog::CogError;
/// use geochip::stack::{asset_error, AssetErrorKind};
/// let e = CogError::Source { input: "a.tif".into(), offset: 0, end: 4, reason: "reset".into() };
/// assert_eq!(asset_error(&e).kind, AssetErrorKind::Unreachable);
/// ```
pub fn asset_error(e: &CogError) -> AssetError {
    match e {
        CogError::Source { .. } => AssetError::unreachable(e.to_string()),
        _ => AssetError::corrupt(e.to_string()),
    }
}

/// Row-major values of `a` as `f64`.
fn values_f64(a: &LabeledArray) -> Vec<f64> {
    fn conv<T: Copy>(x: &ndarray::ArrayD<T>, f: impl Fn(T) -> f64) -> Vec<f64> {
        match x.as_slice() {
            Some(s) => s.iter().map(|v| f(*v)).collect(),
            None => x.iter().map(|v| f(*v)).collect(),
        }
    }
    match a.data() {
        ArrayData::U8(x) => conv(x, f64::from),
        ArrayData::U16(x) => conv(x, f64::from),
        ArrayData::U32(x) => conv(x, f64::from),
        ArrayData::U64(x) => conv(x, |v| v as f64),
        ArrayData::I8(x) => conv(x, f64::from),
        ArrayData::I16(x) => conv(x, f64::from),
        ArrayData::I32(x) => conv(x, f64::from),
        ArrayData::I64(x) => conv(x, |v| v as f64),
        ArrayData::F32(x) => conv(x, f64::from),
        ArrayData::F64(x) => conv(x, |v| v),
    }
}

struct CogRaster<'a> {
    key: &'a (String, String),
    opened: &'a Opened,
    last: &'a mut Option<(LastKey, Vec<Vec<f64>>)>,
}

impl AssetRaster for CogRaster<'_> {
    fn grid(&self) -> &Grid {
        self.opened.cog.grid()
    }
    fn overviews(&self) -> Vec<Grid> {
        self.opened.overviews.clone()
    }
    fn dtype(&self) -> DType {
        self.opened.cog.dtype()
    }
    fn nodata(&self) -> Option<f64> {
        self.opened.cog.nodata()
    }
    fn level_nodata(&self, level: usize) -> Option<f64> {
        self.opened.cog.level_nodata(level)
    }
    fn band_count(&self) -> usize {
        self.opened.cog.bands()
    }
    fn read_window(
        &mut self,
        level: usize,
        band: usize,
        window: Window,
    ) -> Result<Vec<f64>, AssetError> {
        let o = self.opened;
        let bands = o.cog.bands();
        if band >= bands {
            return Err(AssetError::corrupt(format!(
                "{}: band {band} asked for, but the file has {bands} bands (0-based)",
                o.cog.name()
            )));
        }
        if bands == 1 {
            let a = o
                .cog
                .read_window(&*o.source, level, window, Some(&[0]))
                .map_err(|e| asset_error(&e))?;
            return Ok(values_f64(&a));
        }
        let wkey = (
            self.key.clone(),
            level,
            [window.col_off, window.row_off, window.width, window.height],
        );
        if let Some((k, planes)) = self.last.as_ref()
            && *k == wkey
            && let Some(p) = planes.get(band)
        {
            return Ok(p.clone());
        }
        let a = o
            .cog
            .read_window(&*o.source, level, window, None)
            .map_err(|e| asset_error(&e))?;
        let per_band = window.width * window.height;
        let planes: Vec<Vec<f64>> = values_f64(&a)
            .chunks(per_band.max(1))
            .map(<[f64]>::to_vec)
            .collect();
        let out = planes
            .get(band)
            .cloned()
            .ok_or_else(|| AssetError::corrupt(format!("{}: no band {band}", o.cog.name())))?;
        *self.last = Some((wkey, planes));
        Ok(out)
    }
}

impl AssetReader for CogReader<'_> {
    fn open(
        &mut self,
        item: &Item,
        _asset_key: &str,
        href: &str,
    ) -> Result<Box<dyn AssetRaster + '_>, AssetError> {
        let key = (item.id.clone(), href.to_owned());
        if !self.opened.contains_key(&key) {
            while self.order.len() >= self.limit {
                if let Some(old) = self.order.pop_front() {
                    self.opened.remove(&old);
                }
            }
            let codecs = self.codecs.clone();
            let opened = (self.opener)(item, href).and_then(|source| {
                let cog = Cog::open(&*source)
                    .map_err(|e| asset_error(&e))?
                    .with_codecs(codecs);
                let overviews = cog
                    .levels()
                    .iter()
                    .skip(1)
                    .map(|l| l.grid().clone())
                    .collect();
                Ok(Opened {
                    source,
                    cog,
                    overviews,
                })
            });
            self.opened.insert(key.clone(), opened);
            self.order.push_back(key.clone());
        }
        match self.opened.get_key_value(&key) {
            Some((key, Ok(opened))) => Ok(Box::new(CogRaster {
                key,
                opened,
                last: &mut self.last,
            })),
            Some((_, Err(e))) => Err(e.clone()),
            None => Err(AssetError::unreachable(format!("{href}: not opened"))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cog::MemorySource;

    fn item(id: &str) -> Item {
        let json = format!(
            r#"{{"type": "Feature", "id": "{id}", "properties": {{"datetime": "2024-01-05T00:10:00Z"}},
            "assets": {{}}}}"#
        );
        crate::stac::parse_items(&json).unwrap().remove(0)
    }

    /// A 3-band chunky 8×6 GeoTIFF (pixel values r = x, g = y, b = x + y).
    fn rgb() -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut px = Vec::new();
        for y in 0..6u8 {
            for x in 0..8u8 {
                px.extend([x, y, x + y]);
            }
        }
        tiff::encoder::TiffEncoder::new(&mut buf)
            .unwrap()
            .write_image::<tiff::encoder::colortype::RGB8>(8, 6, &px)
            .unwrap();
        buf.into_inner()
    }

    #[test]
    fn bands_of_a_chunky_file_and_the_open_limit() {
        let bytes = rgb();
        let mut opens = 0;
        {
            let mut r = CogReader::new(|_, href| {
                opens += 1;
                Ok(Box::new(MemorySource::new(href, bytes.clone())) as Box<dyn ByteSource>)
            })
            .with_open_limit(1);
            let (a, b) = (item("a"), item("b"));
            let w = Window::new(1, 2, 3, 2);
            let mut ra = r.open(&a, "rgb", "x.tif").unwrap();
            assert_eq!(ra.band_count(), 3);
            assert_eq!(ra.read_window(0, 0, w).unwrap(), [1., 2., 3., 1., 2., 3.]);
            assert_eq!(ra.read_window(0, 1, w).unwrap(), [2., 2., 2., 3., 3., 3.]);
            assert_eq!(ra.read_window(0, 2, w).unwrap(), [3., 4., 5., 4., 5., 6.]);
            let e = ra.read_window(0, 3, w).unwrap_err();
            assert_eq!(e.kind, crate::stack::AssetErrorKind::Corrupt);
            drop(ra);
            // Same (item, href): cached. Another item: reopened, evicting the first.
            let _ = r.open(&a, "rgb", "x.tif").unwrap();
            let _ = r.open(&b, "rgb", "x.tif").unwrap();
            let _ = r.open(&a, "rgb", "x.tif").unwrap();
        }
        assert_eq!(opens, 3);
    }

    #[test]
    fn corrupt_and_truncated_bytes_are_corrupt_errors() {
        let mut bytes = rgb();
        bytes.truncate(40);
        let mut r = CogReader::new(|_, href| {
            Ok(Box::new(MemorySource::new(href, bytes.clone())) as Box<dyn ByteSource>)
        });
        let e = r.open(&item("a"), "rgb", "cut.tif").err().unwrap();
        assert_eq!(e.kind, crate::stack::AssetErrorKind::Corrupt);
        assert!(e.message.contains("cut.tif"), "{e}");
        let mut nf = CogReader::new(|_, href| Err(AssetError::not_found(href)));
        let e = nf.open(&item("a"), "rgb", "gone.tif").err().unwrap();
        assert_eq!(e.kind, crate::stack::AssetErrorKind::NotFound);
    }
}
