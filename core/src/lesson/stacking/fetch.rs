//! Reading the lesson's assets: synchronously through [`ByteSource`]s ([`SourceReader`], native)
//! or by plan/fetch rounds ([`StackLessonSession`], the browser's asynchronous `fetch`).

use std::collections::{BTreeMap, HashMap};

use crate::cog::{ByteRange, ByteSource, Cog, HeaderReader, HeaderStep};
use crate::grid::{Grid, Window};
use crate::stac::Item;
use crate::stack::{
    AssetError, AssetRaster, AssetReader, CogReader, GridParams, LoadOptions, StackMode, load,
    output_grid, resolve_band,
};

use super::{LessonError, StackLessonAnswer, StackLessonInput, parse_catalog, parse_input};
use super::{render, values_f64};

/// An [`AssetReader`] over [`ByteSource`]s: `opener` turns an asset's href (as written in the
/// item) into a source. The reading is [`CogReader`]'s (each file's COG header parsed once,
/// its levels as overviews, windows with [`Cog::read_window`]); this only adapts the opener,
/// which the lesson gives by href alone.
///
/// ```
/// use geochip::cog::{ByteSource, MemorySource};
/// use geochip::lesson::SourceReader;
/// let mut reader = SourceReader::new(|href: &str| {
///     Ok(Box::new(MemorySource::new(href, b"not a tiff".to_vec())) as Box<dyn ByteSource>)
/// });
/// # let _ = &mut reader;
/// ```
pub struct SourceReader<'f>(CogReader<'f>);

impl<'f> SourceReader<'f> {
    /// A reader opening hrefs with `opener`.
    ///
    /// ```
    /// let r = geochip::lesson::SourceReader::new(|href: &str| {
    ///     Err(geochip::stack::AssetError::not_found(format!("{href}: no such file")))
    /// });
    /// ```
    pub fn new(
        mut opener: impl FnMut(&str) -> Result<Box<dyn ByteSource>, AssetError> + 'f,
    ) -> Self {
        Self(CogReader::new(move |_item: &Item, href: &str| opener(href)))
    }
}

impl AssetReader for SourceReader<'_> {
    fn open(
        &mut self,
        item: &Item,
        asset_key: &str,
        href: &str,
    ) -> Result<Box<dyn AssetRaster + '_>, AssetError> {
        self.0.open(item, asset_key, href)
    }
}

fn overviews(cog: &Cog) -> Vec<Grid> {
    cog.levels()
        .iter()
        .skip(1)
        .map(|l| l.grid().clone())
        .collect()
}

/// The first request for a file: its first 16 KiB (GDAL's COG driver puts every IFD there;
/// the same prefix `HeaderReader` asks for first).
const FIRST_FETCH: u64 = 16 * 1024;

/// A byte range of one asset the session needs: fetch `len` bytes of `href` (as written in the
/// item; resolve it against the catalog's URL) from `offset` with an HTTP `Range` request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct FetchRequest {
    /// The asset's href as written in its item.
    pub href: String,
    /// First byte.
    pub offset: u64,
    /// Number of bytes (the first request for a file asks for a prefix; its answer also tells
    /// the file's length).
    pub len: u64,
}

/// What a [`StackLessonSession`] needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionStep {
    /// Fetch these ranges, [`StackLessonSession::add`] them, and step again.
    Need(Vec<FetchRequest>),
    /// The answer (the same as [`super::stacking_lesson`] over the same bytes).
    Done(StackLessonAnswer),
}

/// One remote asset: its header as it arrives, then its parsed COG and the fetched ranges.
#[derive(Default)]
struct Remote {
    header: Option<HeaderReader>,
    cog: Option<Cog>,
    overviews: Vec<Grid>,
    failed: Option<AssetError>,
    /// Fetched ranges by offset.
    data: BTreeMap<u64, Vec<u8>>,
    /// Decoded windows (all bands) by level and window.
    decoded: HashMap<(usize, [usize; 4]), Vec<Vec<f64>>>,
}

/// The stacking lesson over assets fetched by the caller, for callers that cannot block (the
/// browser): [`step`](Self::step) answers the byte ranges it needs — first each COG's header
/// (in rounds, as [`HeaderReader`] asks), then the tiles `load` will read — until it can
/// answer. Tiles are planned by running the stack once over what is held (missing tiles read
/// as zeros and are recorded); the next step, with every tile held, is the real load.
///
/// ```
/// use geochip::lesson::{SessionStep, StackLessonInput, StackLessonSession};
/// let catalog = r#"{"type": "FeatureCollection", "features": [{"type": "Feature",
///   "id": "a", "properties": {"datetime": "2024-01-05T00:10:00Z", "proj:epsg": 32618},
///   "assets": {"image": {"href": "a.tif", "proj:shape": [16, 16],
///   "proj:transform": [30, 0, 100000, 0, -30, 2800000]}}}]}"#;
/// let input = StackLessonInput { bands: "image", resolution: "", crs: "",
///     resampling: "nearest", groupby: "time", bbox: "" };
/// let mut session = StackLessonSession::new(catalog, &input).unwrap();
/// let SessionStep::Need(first) = session.step().unwrap() else { panic!() };
/// assert_eq!((first[0].href.as_str(), first[0].offset), ("a.tif", 0));
/// ```
pub struct StackLessonSession {
    items: Vec<Item>,
    params: GridParams,
    opts: LoadOptions,
    files: BTreeMap<String, Remote>,
}

impl StackLessonSession {
    /// Parses the reader's inputs and the catalog, and lists the assets the stack reads.
    ///
    /// ```
    /// use geochip::lesson::{StackLessonInput, StackLessonSession};
    /// let input = StackLessonInput { bands: "red", resolution: "abc", crs: "",
    ///     resampling: "nearest", groupby: "time", bbox: "" };
    /// let err = StackLessonSession::new("{}", &input).err().unwrap();
    /// assert_eq!(err.to_string(), "resolution: 'abc' is not a number");
    /// ```
    pub fn new(catalog_json: &str, input: &StackLessonInput<'_>) -> Result<Self, LessonError> {
        let (params, opts) = parse_input(input)?;
        let items = parse_catalog(catalog_json)?;
        let grid = output_grid(&items, &params)?;
        let mut files = BTreeMap::new();
        for item in &items {
            for band in &grid.band {
                if let Some((key, _)) = resolve_band(item, band, StackMode::Odc)
                    && let Ok(asset) = item.asset(&key)
                {
                    files
                        .entry(asset.href.clone())
                        .or_insert_with(Remote::default);
                }
            }
        }
        Ok(Self {
            items,
            params,
            opts,
            files,
        })
    }

    /// Adds `bytes` of `href` fetched from `offset`; `file_len` is the whole file's length (from
    /// the response's `Content-Range`, or the body's length for a whole-file answer).
    ///
    /// ```
    /// # use geochip::lesson::{StackLessonInput, StackLessonSession};
    /// # let catalog = r#"{"type": "Feature", "id": "a", "properties": {"datetime":
    /// #   "2024-01-05T00:10:00Z", "proj:epsg": 32618}, "assets": {"image": {"href": "a.tif",
    /// #   "proj:shape": [16, 16], "proj:transform": [30, 0, 100000, 0, -30, 2800000]}}}"#;
    /// # let input = StackLessonInput { bands: "image", resolution: "", crs: "",
    /// #     resampling: "nearest", groupby: "time", bbox: "" };
    /// let mut session = StackLessonSession::new(catalog, &input).unwrap();
    /// session.add("a.tif", 0, b"junk".to_vec(), 4);
    /// let err = session.step().unwrap_err().to_string();
    /// assert!(err.contains("a.tif"), "{err}");
    /// ```
    pub fn add(&mut self, href: &str, offset: u64, bytes: Vec<u8>, file_len: u64) {
        let f = self.files.entry(href.to_owned()).or_default();
        if f.cog.is_none() {
            f.header
                .get_or_insert_with(|| HeaderReader::new(href, file_len))
                .add(offset, bytes.clone());
        }
        if !bytes.is_empty() {
            f.data.insert(offset, bytes);
        }
    }

    /// Records that `href` could not be fetched (`not_found`: HTTP 404); the stack then fails
    /// with this message, naming the item and asset.
    ///
    /// ```
    /// # use geochip::lesson::{StackLessonInput, StackLessonSession};
    /// # let catalog = r#"{"type": "Feature", "id": "a", "properties": {"datetime":
    /// #   "2024-01-05T00:10:00Z", "proj:epsg": 32618}, "assets": {"image": {"href": "a.tif",
    /// #   "proj:shape": [16, 16], "proj:transform": [30, 0, 100000, 0, -30, 2800000]}}}"#;
    /// # let input = StackLessonInput { bands: "image", resolution: "", crs: "",
    /// #     resampling: "nearest", groupby: "time", bbox: "" };
    /// let mut session = StackLessonSession::new(catalog, &input).unwrap();
    /// session.fail("a.tif", true, "a.tif: HTTP 404");
    /// assert!(session.step().unwrap_err().to_string().contains("HTTP 404"));
    /// ```
    pub fn fail(&mut self, href: &str, not_found: bool, message: &str) {
        let f = self.files.entry(href.to_owned()).or_default();
        f.failed = Some(if not_found {
            AssetError::not_found(message)
        } else {
            AssetError::unreachable(message)
        });
    }

    /// The next byte ranges to fetch, or the answer.
    ///
    /// ```no_run
    /// # use geochip::lesson::{SessionStep, StackLessonSession};
    /// // `fetch(href, offset, len)` returns the bytes and the file's length (a Range request).
    /// fn drive(
    ///     mut session: StackLessonSession,
    ///     fetch: impl Fn(&str, u64, u64) -> (Vec<u8>, u64),
    /// ) -> Result<(), geochip::lesson::LessonError> {
    ///     let _answer = loop {
    ///         match session.step()? {
    ///             SessionStep::Done(answer) => break answer,
    ///             SessionStep::Need(requests) => for r in requests {
    ///                 let (bytes, file_len) = fetch(&r.href, r.offset, r.len);
    ///                 session.add(&r.href, r.offset, bytes, file_len);
    ///             },
    ///             _ => unreachable!(),
    ///         }
    ///     };
    ///     Ok(())
    /// }
    /// ```
    pub fn step(&mut self) -> Result<SessionStep, LessonError> {
        let mut need = Vec::new();
        for (href, f) in &mut self.files {
            if f.failed.is_some() || f.cog.is_some() {
                continue;
            }
            let Some(header) = &f.header else {
                need.push(FetchRequest {
                    href: href.clone(),
                    offset: 0,
                    len: FIRST_FETCH,
                });
                continue;
            };
            match header.parse() {
                Ok(HeaderStep::Ready(cog)) => {
                    f.overviews = overviews(&cog);
                    f.cog = Some(*cog);
                    f.header = None;
                }
                Ok(HeaderStep::Need(r)) => need.push(FetchRequest {
                    href: href.clone(),
                    offset: r.offset,
                    len: r.len,
                }),
                Err(e) => f.failed = Some(AssetError::corrupt(e.to_string())),
            }
        }
        if !need.is_empty() {
            return Ok(SessionStep::Need(need));
        }
        let mut reader = Prefetched {
            files: &mut self.files,
            missing: BTreeMap::new(),
        };
        let loaded = load(
            &self.items,
            &self.params,
            &self.opts,
            &mut reader,
            &mut |_, _| {},
        );
        let mut missing = std::mem::take(&mut reader.missing);
        missing.retain(|_, ranges| !ranges.is_empty());
        if !missing.is_empty() {
            let mut need = Vec::new();
            for (href, ranges) in missing {
                for r in merge(ranges) {
                    need.push(FetchRequest {
                        href: href.clone(),
                        offset: r.offset,
                        len: r.len,
                    });
                }
            }
            return Ok(SessionStep::Need(need));
        }
        Ok(SessionStep::Done(render(&self.items, &loaded?)?))
    }
}

/// Sorted ranges with overlapping or touching ones merged.
fn merge(mut ranges: Vec<ByteRange>) -> Vec<ByteRange> {
    ranges.sort_unstable();
    let mut out: Vec<ByteRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.offset <= last.end() => {
                last.len = last.end().max(r.end()) - last.offset;
            }
            _ => out.push(r),
        }
    }
    out
}

/// The bytes `r` when one fetched range holds all of them.
fn held<'a>(data: &'a BTreeMap<u64, Vec<u8>>, r: &ByteRange) -> Option<&'a [u8]> {
    let (at, bytes) = data.range(..=r.offset).next_back()?;
    let start = usize::try_from(r.offset - at).ok()?;
    bytes.get(start..start.checked_add(r.len_usize())?)
}

/// The session's reader: windows whose tiles are all held are decoded; the others read as
/// zeros and their ranges are recorded in `missing`.
struct Prefetched<'s> {
    files: &'s mut BTreeMap<String, Remote>,
    missing: BTreeMap<String, Vec<ByteRange>>,
}

struct PrefetchedRaster<'a> {
    cog: &'a Cog,
    overviews: &'a [Grid],
    data: &'a BTreeMap<u64, Vec<u8>>,
    decoded: &'a mut HashMap<(usize, [usize; 4]), Vec<Vec<f64>>>,
    missing: &'a mut Vec<ByteRange>,
}

impl AssetReader for Prefetched<'_> {
    fn open(
        &mut self,
        _item: &Item,
        _asset_key: &str,
        href: &str,
    ) -> Result<Box<dyn AssetRaster + '_>, AssetError> {
        let remote = self
            .files
            .get_mut(href)
            .ok_or_else(|| AssetError::unreachable(format!("{href}: not fetched")))?;
        if let Some(e) = &remote.failed {
            return Err(e.clone());
        }
        let Remote {
            cog: Some(cog),
            overviews,
            data,
            decoded,
            ..
        } = remote
        else {
            return Err(AssetError::unreachable(format!(
                "{href}: header not fetched"
            )));
        };
        let missing = self.missing.entry(href.to_owned()).or_default();
        Ok(Box::new(PrefetchedRaster {
            cog,
            overviews,
            data,
            decoded,
            missing,
        }))
    }
}

impl AssetRaster for PrefetchedRaster<'_> {
    fn grid(&self) -> &Grid {
        self.cog.grid()
    }
    fn overviews(&self) -> Vec<Grid> {
        self.overviews.to_vec()
    }
    fn dtype(&self) -> crate::DType {
        self.cog.dtype()
    }
    fn nodata(&self) -> Option<f64> {
        self.cog.nodata()
    }
    fn level_nodata(&self, level: usize) -> Option<f64> {
        self.cog.level_nodata(level)
    }
    fn band_count(&self) -> usize {
        self.cog.bands()
    }
    fn read_window(
        &mut self,
        level: usize,
        band: usize,
        window: Window,
    ) -> Result<Vec<f64>, AssetError> {
        let key = (
            level,
            [window.col_off, window.row_off, window.width, window.height],
        );
        if let Some(bands) = self.decoded.get(&key) {
            return bands
                .get(band)
                .cloned()
                .ok_or_else(|| AssetError::corrupt(format!("no band {band}")));
        }
        let corrupt = |e: crate::cog::CogError| AssetError::corrupt(e.to_string());
        let cog = self.cog;
        // All bands at once: the lesson's files interleave bands by pixel, so every band
        // needs the same tiles, and the other bands' reads then hit the cache.
        let plan = cog.plan_window(level, window, None).map_err(corrupt)?;
        let mut fetched = Vec::with_capacity(plan.requests().len());
        let mut complete = true;
        for r in plan.requests() {
            match held(self.data, r) {
                Some(bytes) => fetched.push(bytes.to_vec()),
                None => {
                    complete = false;
                    self.missing.push(*r);
                }
            }
        }
        if !complete {
            return Ok(vec![0.0; window.width * window.height]);
        }
        let array = cog.decode_window(&plan, &fetched).map_err(corrupt)?;
        let values = values_f64(&array);
        let per_band = window.width * window.height;
        let bands: Vec<Vec<f64>> = values.chunks(per_band).map(<[f64]>::to_vec).collect();
        let out = bands
            .get(band)
            .cloned()
            .ok_or_else(|| AssetError::corrupt(format!("no band {band}")));
        self.decoded.insert(key, bands);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_held() {
        let r = |offset, len| ByteRange { offset, len };
        assert_eq!(
            merge(vec![r(10, 5), r(0, 4), r(12, 10), r(30, 1), r(4, 2)]),
            vec![r(0, 6), r(10, 12), r(30, 1)]
        );
        let mut data = BTreeMap::new();
        data.insert(100, vec![1, 2, 3, 4]);
        assert_eq!(held(&data, &r(101, 2)), Some(&[2u8, 3][..]));
        assert_eq!(held(&data, &r(102, 3)), None);
        assert_eq!(held(&data, &r(99, 1)), None);
    }
}
