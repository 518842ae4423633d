//! The stacking benchmark's inputs (T1, T2), generated from a seed: tiled deflate COGs with
//! internal overviews and a STAC ItemCollection pointing at them, written by a small COG
//! writer of our own.
//!
//! Why a writer by hand: the `tiff` crate's encoder writes strips only (no `TileWidth` /
//! `TileOffsets`), and GDAL (the only complete COG writer) is C, which this crate must not
//! need to run its benches. The layout is GDAL's COG layout in miniature — every IFD (full
//! resolution, then each overview) at the start of the file, then the tiles, overviews first —
//! so a reader's first range covers all headers. GDAL reads them: rasterio 1.4.4 / GDAL 3.10.3
//! opened the quick T1/T2 files and returned the same pixels, overviews (`src.overviews(1)
//! == [2, 4]`), CRS, transform and nodata (checked by hand when this writer was written; the
//! unit tests read them back with the core's COG reader).
//!
//! * **T1**: 12 items × 4 bands (B02, B03, B04, B08) × 2048² uint16, one UTM zone, stacked on
//!   their native grid (a paste: windowed reads, no resampling).
//! * **T2**: the same sizes, alternate items in UTM zones 55 and 56 over the same ground,
//!   stacked into EPSG:32755 at 20 m with bilinear resampling (zone-55 items read their 2×
//!   overview, zone-56 items are warped).
//!
//! `quick` sizes (CI, smoke tests): 4 items × 2 bands × 512².
//!
//! ```no_run
//! use geochip_bench::stack_workload::StackWorkload;
//! let w = StackWorkload::t1(true);
//! let items = w.generate(&std::env::temp_dir().join("t1")).unwrap();
//! println!("{}", items.display());
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use geochip::Crs;
use geochip::proj::{Projection, reproject};
use rayon::prelude::*;
use serde_json::{Value, json};

/// Band names of the generated items.
pub const BANDS: [&str; 4] = ["B02", "B03", "B04", "B08"];

/// One stacking workload: its files and how to stack them.
#[derive(Debug, Clone, PartialEq)]
pub struct StackWorkload {
    /// "T1" or "T2".
    pub id: &'static str,
    /// Number of items (time steps).
    pub items: usize,
    /// Bands per item (the first of [`BANDS`]).
    pub bands: usize,
    /// Width and height of each COG.
    pub side: usize,
    /// Tile width and height.
    pub tile: usize,
    /// Seed of the pixel values.
    pub seed: u64,
    /// Alternate items in UTM zone 56 (T2) instead of all in zone 55.
    pub two_zones: bool,
    /// Output CRS and resolution (`None`: the items' native grid).
    pub target: Option<(u32, f64)>,
    /// Resampling name (`nearest`, `bilinear`).
    pub resampling: &'static str,
    /// The reduced (quick) size.
    pub quick: bool,
}

/// Zone-55 origin (top-left corner, metres) of the items: south-east Australia, 200 km east
/// of the central meridian, so the zone-56 copies are not far outside their zone either.
const ORIGIN_55: (f64, f64) = (700_000.0, 6_090_000.0);

impl StackWorkload {
    /// T1: native grid, nearest (a paste).
    ///
    /// ```
    /// assert_eq!(geochip_bench::stack_workload::StackWorkload::t1(false).side, 2048);
    /// ```
    pub fn t1(quick: bool) -> Self {
        Self {
            id: "T1",
            items: if quick { 4 } else { 12 },
            bands: if quick { 2 } else { 4 },
            side: if quick { 512 } else { 2048 },
            tile: if quick { 256 } else { 512 },
            seed: 0x5eed_0001,
            two_zones: false,
            target: None,
            resampling: "nearest",
            quick,
        }
    }

    /// T2: two UTM zones into EPSG:32755 at 20 m, bilinear.
    ///
    /// ```
    /// let w = geochip_bench::stack_workload::StackWorkload::t2(true);
    /// assert_eq!(w.target, Some((32755, 20.0)));
    /// ```
    pub fn t2(quick: bool) -> Self {
        Self {
            id: "T2",
            two_zones: true,
            target: Some((32755, 20.0)),
            resampling: "bilinear",
            seed: 0x5eed_0002,
            ..Self::t1(quick)
        }
    }

    /// A name for files and results: `T1-12x4x2048`.
    ///
    /// ```
    /// assert_eq!(geochip_bench::stack_workload::StackWorkload::t1(true).name(), "T1-4x2x512");
    /// ```
    pub fn name(&self) -> String {
        format!("{}-{}x{}x{}", self.id, self.items, self.bands, self.side)
    }

    /// The parameters as stored with results and in the manifest.
    ///
    /// ```
    /// let p = geochip_bench::stack_workload::StackWorkload::t2(true).params();
    /// assert_eq!(p["crs"], "EPSG:32755");
    /// ```
    pub fn params(&self) -> Value {
        json!({
            "workload": self.id,
            "name": self.name(),
            "items": self.items,
            "bands": &BANDS[..self.bands],
            "side": self.side,
            "tile": self.tile,
            "dtype": "uint16",
            "compression": "deflate (zlib level 1), overviews 2x/4x averaged",
            "seed": self.seed,
            "zones": if self.two_zones { json!([55, 56]) } else { json!([55]) },
            "crs": self.target.map(|(c, _)| format!("EPSG:{c}")),
            "resolution": self.target.map(|(_, r)| r),
            "resampling": self.resampling,
            "groupby": "time",
        })
    }

    /// The EPSG code and top-left corner of item `i`.
    fn placement(&self, i: usize) -> Result<(u32, f64, f64)> {
        if !self.two_zones || i.is_multiple_of(2) {
            return Ok((32755, ORIGIN_55.0, ORIGIN_55.1));
        }
        let z55 = Projection::from_crs(&Crs::Epsg(32755))?;
        let z56 = Projection::from_crs(&Crs::Epsg(32756))?;
        let (x, y) = reproject(&z55, &z56, ORIGIN_55.0, ORIGIN_55.1)
            .context("zone 55 origin does not reproject to zone 56")?;
        Ok((32756, (x / 10.0).round() * 10.0, (y / 10.0).round() * 10.0))
    }

    /// Writes the COGs and `items.json` into `dir` (created) and returns the items file.
    /// Files already written for the same parameters (`workload.json` matches) are reused.
    pub fn generate(&self, dir: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        let items_path = dir.join("items.json");
        let marker = dir.join("workload.json");
        let params = serde_json::to_string_pretty(&self.params())?;
        if items_path.is_file() && std::fs::read_to_string(&marker).ok() == Some(params.clone()) {
            return Ok(items_path);
        }
        let _ = std::fs::remove_file(&marker);
        let jobs: Vec<(usize, usize)> = (0..self.items)
            .flat_map(|i| (0..self.bands).map(move |b| (i, b)))
            .collect();
        jobs.par_iter().try_for_each(|&(i, b)| -> Result<()> {
            let (epsg, x0, y0) = self.placement(i)?;
            let data = pixels(self.side, self.seed ^ ((i as u64) << 8 | b as u64));
            let path = dir.join(format!("item{i:02}_{}.tif", BANDS[b]));
            let cog = CogSpec {
                width: self.side,
                height: self.side,
                tile: self.tile,
                transform: [10.0, 0.0, x0, 0.0, -10.0, y0],
                epsg: u16::try_from(epsg)?,
                nodata: Some(0),
                overviews: 2,
            };
            write_cog(&path, &data, &cog)
        })?;
        let mut features = Vec::new();
        for i in 0..self.items {
            let (epsg, x0, y0) = self.placement(i)?;
            let proj = Projection::from_crs(&Crs::Epsg(epsg))?;
            let span = self.side as f64 * 10.0;
            let mut ring = Vec::new();
            for (x, y) in [
                (x0, y0),
                (x0 + span, y0),
                (x0 + span, y0 - span),
                (x0, y0 - span),
                (x0, y0),
            ] {
                let (lon, lat) = proj.inverse(x, y).context("item corner to lon/lat")?;
                ring.push([lon, lat]);
            }
            let lons = ring.iter().map(|p| p[0]);
            let lats = ring.iter().map(|p| p[1]);
            let bbox = [
                lons.clone().fold(f64::INFINITY, f64::min),
                lats.clone().fold(f64::INFINITY, f64::min),
                lons.fold(f64::NEG_INFINITY, f64::max),
                lats.fold(f64::NEG_INFINITY, f64::max),
            ];
            let mut assets = serde_json::Map::new();
            for band in &BANDS[..self.bands] {
                assets.insert(
                    (*band).to_owned(),
                    json!({
                        "href": format!("item{i:02}_{band}.tif"),
                        "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                        "roles": ["data"],
                        "proj:shape": [self.side, self.side],
                        "proj:transform": [10.0, 0.0, x0, 0.0, -10.0, y0],
                        "raster:bands": [{"data_type": "uint16", "nodata": 0}],
                    }),
                );
            }
            features.push(json!({
                "type": "Feature",
                "stac_version": "1.1.0",
                "stac_extensions": [
                    "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
                    "https://stac-extensions.github.io/raster/v1.1.0/schema.json"
                ],
                "id": format!("{}-{i:02}", self.id),
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "bbox": bbox,
                "properties": {
                    "datetime": format!("2024-01-{:02}T00:10:00Z", i + 1),
                    "proj:code": format!("EPSG:{epsg}"),
                },
                "links": [],
                "assets": assets,
            }));
        }
        let fc = json!({"type": "FeatureCollection", "features": features});
        std::fs::write(&items_path, serde_json::to_vec_pretty(&fc)?)
            .with_context(|| format!("{}: cannot write", items_path.display()))?;
        std::fs::write(&marker, params)?;
        Ok(items_path)
    }
}

/// SplitMix64: a seeded stream, the same everywhere.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `side²` uint16 values like a reflectance band: a smooth field plus noise, 1..=10000, with
/// a nodata (0) corner of `side / 16` pixels.
///
/// ```
/// let p = geochip_bench::stack_workload::pixels(64, 1);
/// assert_eq!(p.len(), 64 * 64);
/// assert_eq!(p[0], 0);
/// assert!(p[64 * 64 - 1] >= 1);
/// ```
pub fn pixels(side: usize, seed: u64) -> Vec<u16> {
    let mut s = seed;
    let (fx, fy) = (
        (splitmix(&mut s) % 7 + 3) as f64,
        (splitmix(&mut s) % 5 + 2) as f64,
    );
    let corner = side / 16;
    let mut out = Vec::with_capacity(side * side);
    for r in 0..side {
        for c in 0..side {
            if r < corner && c < corner {
                out.push(0);
                continue;
            }
            let (u, v) = (c as f64 / side as f64, r as f64 / side as f64);
            let field = 3000.0
                + 1500.0 * (u * fx * std::f64::consts::TAU).sin()
                + 1000.0 * (v * fy * std::f64::consts::TAU).cos();
            let noise = (splitmix(&mut s) % 256) as f64;
            out.push((field + noise).clamp(1.0, 10_000.0) as u16);
        }
    }
    out
}

/// What [`write_cog`] writes.
#[derive(Debug, Clone, PartialEq)]
pub struct CogSpec {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Tile side (a multiple of 16, as TIFF requires).
    pub tile: usize,
    /// rasterio `Affine` order `[a, b, c, d, e, f]` (north-up: b = d = 0).
    pub transform: [f64; 6],
    /// EPSG code of a projected CRS.
    pub epsg: u16,
    /// GDAL nodata.
    pub nodata: Option<u16>,
    /// Number of 2× overviews (averaging valid pixels).
    pub overviews: usize,
}

/// One IFD entry: tag, TIFF type, count, value bytes (little-endian).
struct Entry(u16, u16, u32, Vec<u8>);

fn shorts(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
fn longs(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
fn doubles(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

const SHORT: u16 = 3;
const LONG: u16 = 4;
const DOUBLE: u16 = 12;
const ASCII: u16 = 2;

/// The 2× overview of `data` (`w`×`h`): the mean of the valid pixels of each 2×2 block
/// (GDAL's `average`), nodata where none is valid.
fn halve(data: &[u16], w: usize, h: usize, nodata: Option<u16>) -> (Vec<u16>, usize, usize) {
    let (ow, oh) = (w.div_ceil(2), h.div_ceil(2));
    let mut out = vec![0u16; ow * oh];
    out.par_chunks_mut(ow).enumerate().for_each(|(r, row)| {
        for (c, o) in row.iter_mut().enumerate() {
            let (mut sum, mut n) = (0u32, 0u32);
            for (dr, dc) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let (rr, cc) = (2 * r + dr, 2 * c + dc);
                if rr < h && cc < w {
                    let v = data[rr * w + cc];
                    if Some(v) != nodata {
                        sum += u32::from(v);
                        n += 1;
                    }
                }
            }
            *o = (sum + n / 2)
                .checked_div(n)
                .map_or(nodata.unwrap_or(0), |v| v as u16);
        }
    });
    (out, ow, oh)
}

/// Deflates (zlib) each `tile`×`tile` tile of `data` (edge tiles padded with nodata/0), in
/// row-major tile order.
fn tiles(data: &[u16], w: usize, h: usize, tile: usize, fill: u16) -> Result<Vec<Vec<u8>>> {
    let (across, down) = (w.div_ceil(tile), h.div_ceil(tile));
    (0..across * down)
        .into_par_iter()
        .map(|t| {
            let (tr, tc) = (t / across, t % across);
            let mut raw = Vec::with_capacity(tile * tile * 2);
            for r in 0..tile {
                for c in 0..tile {
                    let (rr, cc) = (tr * tile + r, tc * tile + c);
                    let v = if rr < h && cc < w {
                        data[rr * w + cc]
                    } else {
                        fill
                    };
                    raw.extend_from_slice(&v.to_le_bytes());
                }
            }
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(1));
            z.write_all(&raw)?;
            Ok(z.finish()?)
        })
        .collect()
}

/// Writes `data` (row-major uint16) as a tiled, deflate-compressed GeoTIFF in COG layout:
/// all IFDs first (full resolution, then `spec.overviews` averaged 2× overviews with
/// NewSubfileType 1), then the tile data, smallest overview first.
///
/// ```
/// use geochip_bench::stack_workload::{write_cog, CogSpec};
/// let path = std::env::temp_dir().join(format!("doc-cog-{}.tif", std::process::id()));
/// let spec = CogSpec { width: 40, height: 30, tile: 16, epsg: 32755, nodata: Some(0),
///     transform: [10.0, 0.0, 700000.0, 0.0, -10.0, 6090000.0], overviews: 1 };
/// let data: Vec<u16> = (0..1200).collect();
/// write_cog(&path, &data, &spec).unwrap();
/// let src = geochip_bench::source::FileSource::open(&path).unwrap();
/// let cog = geochip::cog::Cog::open(&src).unwrap();
/// assert_eq!(cog.levels().len(), 2);
/// let a = cog.read_window(&src, 0, geochip::Window::new(0, 0, 40, 30), None).unwrap();
/// assert_eq!(a.sum_f64(), (0..1200).sum::<i32>() as f64);
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn write_cog(path: &Path, data: &[u16], spec: &CogSpec) -> Result<()> {
    anyhow::ensure!(
        data.len() == spec.width * spec.height && spec.tile.is_multiple_of(16) && spec.tile > 0,
        "{}: {} values for {}x{} with tile {}",
        path.display(),
        data.len(),
        spec.width,
        spec.height,
        spec.tile
    );
    // Levels' pixels and compressed tiles.
    let fill = spec.nodata.unwrap_or(0);
    let mut levels: Vec<(usize, usize, Vec<Vec<u8>>)> = Vec::new();
    let (mut cur, mut w, mut h) = (data.to_vec(), spec.width, spec.height);
    for l in 0..=spec.overviews {
        levels.push((w, h, tiles(&cur, w, h, spec.tile, fill)?));
        if l < spec.overviews {
            (cur, w, h) = halve(&cur, w, h, spec.nodata);
        }
    }
    // IFD entries, with placeholder tile offsets (fixed size, filled below).
    let [a, _, c, _, e, f] = spec.transform;
    let mut ifds: Vec<Vec<Entry>> = Vec::new();
    for (l, (w, h, t)) in levels.iter().enumerate() {
        let n = t.len() as u32;
        let mut v = vec![
            Entry(254, LONG, 1, longs(&[u32::from(l > 0)])),
            Entry(256, LONG, 1, longs(&[*w as u32])),
            Entry(257, LONG, 1, longs(&[*h as u32])),
            Entry(258, SHORT, 1, shorts(&[16])),
            Entry(259, SHORT, 1, shorts(&[8])),
            Entry(262, SHORT, 1, shorts(&[1])),
            Entry(277, SHORT, 1, shorts(&[1])),
            Entry(284, SHORT, 1, shorts(&[1])),
            Entry(322, LONG, 1, longs(&[spec.tile as u32])),
            Entry(323, LONG, 1, longs(&[spec.tile as u32])),
            Entry(324, LONG, n, longs(&vec![0; n as usize])),
            Entry(
                325,
                LONG,
                n,
                longs(&t.iter().map(|b| b.len() as u32).collect::<Vec<_>>()),
            ),
            Entry(339, SHORT, 1, shorts(&[1])),
        ];
        if l == 0 {
            v.push(Entry(33550, DOUBLE, 3, doubles(&[a, -e, 0.0])));
            v.push(Entry(
                33922,
                DOUBLE,
                6,
                doubles(&[0.0, 0.0, 0.0, c, f, 0.0]),
            ));
            // GeoKeyDirectory: version 1.1.0, 3 keys: GTModelType = projected,
            // GTRasterType = PixelIsArea, ProjectedCRSGeoKey = EPSG code.
            v.push(Entry(
                34735,
                SHORT,
                16,
                shorts(&[
                    1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, spec.epsg,
                ]),
            ));
        }
        // GDAL_NODATA on every IFD, overviews too, as GDAL's COG driver writes it (GDAL reads
        // nodata per IFD: an overview without the tag has none for odc-stac's overview reads).
        if let Some(nd) = spec.nodata {
            let mut s = nd.to_string().into_bytes();
            s.push(0);
            v.push(Entry(42113, ASCII, s.len() as u32, s));
        }
        ifds.push(v);
    }
    // Layout: header, then each IFD followed by its out-of-line values, then tiles.
    let ifd_size = |v: &[Entry]| {
        let extra: usize = v
            .iter()
            .map(|e| {
                if e.3.len() > 4 {
                    e.3.len() + e.3.len() % 2
                } else {
                    0
                }
            })
            .sum();
        2 + 12 * v.len() + 4 + extra
    };
    let mut ifd_at = Vec::new();
    let mut pos = 8usize;
    for v in &ifds {
        ifd_at.push(pos);
        pos += ifd_size(v);
    }
    // Tile data: smallest overview first (GDAL's order), each level's tiles in order.
    let mut tile_at: Vec<Vec<usize>> = vec![Vec::new(); levels.len()];
    for l in (0..levels.len()).rev() {
        for t in &levels[l].2 {
            tile_at[l].push(pos);
            pos += t.len();
        }
    }
    anyhow::ensure!(
        u32::try_from(pos).is_ok(),
        "{}: over 4 GiB (classic TIFF)",
        path.display()
    );
    for (l, v) in ifds.iter_mut().enumerate() {
        if let Some(e) = v.iter_mut().find(|e| e.0 == 324) {
            e.3 = longs(&tile_at[l].iter().map(|&o| o as u32).collect::<Vec<_>>());
        }
    }
    let mut out = Vec::with_capacity(pos);
    out.extend_from_slice(b"II*\0");
    out.extend_from_slice(&(ifd_at[0] as u32).to_le_bytes());
    for (l, v) in ifds.iter().enumerate() {
        debug_assert_eq!(out.len(), ifd_at[l]);
        let mut extra_at = ifd_at[l] + 2 + 12 * v.len() + 4;
        let mut extra = Vec::new();
        out.extend_from_slice(&(v.len() as u16).to_le_bytes());
        for e in v {
            out.extend_from_slice(&e.0.to_le_bytes());
            out.extend_from_slice(&e.1.to_le_bytes());
            out.extend_from_slice(&e.2.to_le_bytes());
            if e.3.len() <= 4 {
                let mut inline = e.3.clone();
                inline.resize(4, 0);
                out.extend_from_slice(&inline);
            } else {
                out.extend_from_slice(&(extra_at as u32).to_le_bytes());
                extra.extend_from_slice(&e.3);
                if e.3.len() % 2 == 1 {
                    extra.push(0);
                }
                extra_at += e.3.len() + e.3.len() % 2;
            }
        }
        let next = ifd_at.get(l + 1).copied().unwrap_or(0) as u32;
        out.extend_from_slice(&next.to_le_bytes());
        out.extend_from_slice(&extra);
    }
    for l in (0..levels.len()).rev() {
        for t in &levels[l].2 {
            out.extend_from_slice(t);
        }
    }
    debug_assert_eq!(out.len(), pos);
    std::fs::write(path, out).with_context(|| format!("{}: cannot write", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::source::FileSource;
    use geochip::Window;
    use geochip::cog::Cog;

    #[test]
    fn generated_cogs_read_back_with_overviews_and_grids() {
        let dir =
            std::env::temp_dir().join(format!("geochip-stack-workload-{}", std::process::id()));
        let w = StackWorkload::t2(true);
        let items = w.generate(&dir).unwrap();
        let fc: Value = serde_json::from_str(&std::fs::read_to_string(&items).unwrap()).unwrap();
        let feats = fc["features"].as_array().unwrap();
        assert_eq!(feats.len(), w.items);
        assert_eq!(feats[1]["properties"]["proj:code"], "EPSG:32756");
        for (i, b) in [(0, 0), (1, 1)] {
            let path = dir.join(format!("item{i:02}_{}.tif", BANDS[b]));
            let src = FileSource::open(&path).unwrap();
            let cog = Cog::open(&src).unwrap();
            assert_eq!(cog.levels().len(), 3);
            assert_eq!(cog.levels()[1].grid().shape(), (256, 256));
            assert_eq!(cog.nodata(), Some(0.0));
            assert_eq!(cog.level_nodata(1), Some(0.0));
            assert_eq!(cog.level_nodata(2), Some(0.0));
            let t = feats[i]["assets"][BANDS[b]]["proj:transform"].clone();
            assert_eq!(json!(cog.grid().transform.to_affine()), t);
            let a = cog
                .read_window(&src, 0, Window::new(0, 0, w.side, w.side), None)
                .unwrap();
            let want = pixels(w.side, w.seed ^ ((i as u64) << 8 | b as u64));
            let got: Vec<u8> = a.data().to_le_bytes();
            let want: Vec<u8> = want.iter().flat_map(|v| v.to_le_bytes()).collect();
            assert!(got == want, "item {i} band {b}: pixels differ");
            // The overview is the 2×2 average of valid pixels.
            let o = cog
                .read_window(&src, 1, Window::new(100, 50, 1, 1), None)
                .unwrap();
            let px = pixels(w.side, w.seed ^ ((i as u64) << 8 | b as u64));
            let s: u32 = [(100, 200), (100, 201), (101, 200), (101, 201)]
                .iter()
                .map(|&(r, c)| u32::from(px[r * w.side + c]))
                .sum();
            assert_eq!(o.sum_f64(), f64::from((s + 2) / 4));
        }
        // A second generate with the same parameters reuses the files.
        let before = std::fs::metadata(&items).unwrap().modified().unwrap();
        w.generate(&dir).unwrap();
        assert_eq!(
            std::fs::metadata(&items).unwrap().modified().unwrap(),
            before
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
