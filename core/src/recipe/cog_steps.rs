//! The STAC-and-COG steps: `assets` (what STAC items say about their assets), `cog_layout`
//! (how one asset's COG is laid out inside: levels, tiles and their stored bytes)
//! and `read_plan` (what reading a window costs in range requests and bytes, at full
//! resolution, from each overview, and as a whole-file download).
//!
//! Every count is exact and the same on every target: requests and bytes are counted at the
//! [`ByteSource`] the step reads through (local file natively, HTTP `Range` requests in a
//! browser), never timed.

use std::cell::Cell as StdCell;

use super::table::{Cell, Table};
use crate::cog::{ByteSource, Cog, CogError};
use crate::stac::Item;
use crate::{Crs, Window};

/// A [`ByteSource`] that counts the requests and bytes asked of the source it wraps.
struct Counting<'a> {
    inner: &'a dyn ByteSource,
    requests: StdCell<u64>,
    bytes: StdCell<u64>,
}

impl<'a> Counting<'a> {
    fn new(inner: &'a dyn ByteSource) -> Self {
        Counting {
            inner,
            requests: StdCell::new(0),
            bytes: StdCell::new(0),
        }
    }

    /// `(requests, bytes)` so far, and resets both to zero.
    fn take(&self) -> (u64, u64) {
        (self.requests.replace(0), self.bytes.replace(0))
    }
}

impl ByteSource for Counting<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn len(&self) -> Result<u64, CogError> {
        self.inner.len()
    }
    fn read_range(&self, offset: u64, len: usize) -> Result<Vec<u8>, CogError> {
        self.requests.set(self.requests.get() + 1);
        self.bytes.set(self.bytes.get() + len as u64);
        self.inner.read_range(offset, len)
    }
}

fn cols(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn opt_float(v: Option<f64>) -> Cell {
    v.map_or_else(|| text(""), Cell::Float)
}

/// One row per asset of every item: its href, media type, roles and what the projection,
/// raster and eo extensions say about it (asset fields over item properties).
pub(super) fn assets_table(items: &[Item]) -> Result<Table, String> {
    let mut rows = Vec::new();
    for item in items {
        for (key, asset) in &item.assets.0 {
            let p = item.projection(key).map_err(|e| e.to_string())?;
            let raster = item.raster_bands(key).map_err(|e| e.to_string())?;
            let eo = item.eo_bands(key).map_err(|e| e.to_string())?;
            let bands = if eo.is_empty() {
                raster.len()
            } else {
                eo.len()
            };
            let names: Vec<&str> = eo
                .iter()
                .map(|b| {
                    b.common_name
                        .as_deref()
                        .or(b.name.as_deref())
                        .unwrap_or("?")
                })
                .collect();
            let mut dtypes: Vec<&str> = raster
                .iter()
                .filter_map(|b| b.data_type.as_deref())
                .collect();
            dtypes.dedup();
            let nodata = raster.first().and_then(|b| b.nodata);
            rows.push(vec![
                text(item.id.as_str()),
                text(key.as_str()),
                text(asset.href.as_str()),
                text(asset.media_type.as_deref().unwrap_or("")),
                text(asset.roles.join(" ")),
                Cell::Int(bands as i64),
                text(names.join(" ")),
                text(dtypes.join(" ")),
                opt_float(nodata),
                text(p.crs.as_ref().map_or_else(String::new, Crs::to_string)),
                text(
                    p.shape
                        .map_or_else(String::new, |(h, w)| format!("{h}x{w}")),
                ),
                opt_float(p.transform.map(|t| t.to_gdal()[1])),
            ]);
        }
    }
    Ok(Table {
        columns: cols(&[
            "item",
            "asset",
            "href",
            "type",
            "roles",
            "bands",
            "band_names",
            "data_type",
            "nodata",
            "crs",
            "shape",
            "pixel_size",
        ]),
        rows,
    })
}

/// The asset a COG step reads: the item with id `item` (default: the first) and its asset
/// `asset` (default: its first), with the href as written.
pub(super) fn pick<'i>(
    items: &'i [Item],
    item: Option<&str>,
    asset: Option<&str>,
) -> Result<(&'i Item, String, String), String> {
    let it = match item {
        None => items.first().ok_or("item: the STAC file has no items")?,
        Some(id) => items.iter().find(|i| i.id == id).ok_or_else(|| {
            let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
            format!("item: no item has id `{id}` (items: {})", ids.join(", "))
        })?,
    };
    let key = match asset {
        Some(k) => k.to_owned(),
        None => it
            .asset_keys()
            .first()
            .map(|k| (*k).to_owned())
            .ok_or_else(|| format!("asset: item `{}` has no assets", it.id))?,
    };
    let href = it
        .asset(&key)
        .map_err(|e| format!("asset: {e}"))?
        .href
        .clone();
    Ok((it, key, href))
}

/// The asset's COG opened through a counting source: the COG and the header's
/// `(requests, bytes)`.
pub(super) fn open_counted(source: &dyn ByteSource) -> Result<(Cog, (u64, u64)), String> {
    let counting = Counting::new(source);
    let cog = Cog::open(&counting).map_err(|e| e.to_string())?;
    Ok((cog, counting.take()))
}

/// One row per level of the COG (0: full resolution, then each overview): its shape, pixel
/// size, tile size, tiles across × down, tile count, stored (compressed) bytes and their share
/// of the file (the rest is the header, which `read_plan` shows).
pub(super) fn layout_table(cog: &Cog) -> Table {
    let file_len = cog.file_len();
    let share = |b: u64| Cell::Float(round4(b as f64 / file_len.max(1) as f64));
    let mut rows = Vec::new();
    let full_w = cog.grid().width as f64;
    for (i, lv) in cog.levels().iter().enumerate() {
        let g = lv.grid();
        let (across, down) = lv.chunk_grid();
        let (tw, th) = lv.block();
        let stored = lv.stored_bytes();
        rows.push(vec![
            text(if i == 0 {
                "0 (full resolution)".to_owned()
            } else {
                format!("{i} (overview 1/{})", (full_w / g.width as f64).round())
            }),
            text(format!("{}x{}", g.width, g.height)),
            Cell::Float(g.transform.to_gdal()[1]),
            text(format!("{tw}x{th}")),
            text(format!("{across}x{down}")),
            Cell::Int(lv.chunk_count() as i64),
            text(crate::geotiff::compression_name(lv.compression())),
            Cell::Int(stored as i64),
            share(stored),
        ]);
    }
    Table {
        columns: cols(&[
            "level",
            "shape",
            "pixel_size",
            "tile",
            "tiles_across_down",
            "tiles",
            "compression",
            "bytes",
            "share_of_file",
        ]),
        rows,
    }
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// Reads the `size`×`size` window at (`col`, `row`) of the full-resolution image, then the
/// same area from each overview, counting the requests and bytes each read asks of the
/// source (the header is already held: its bytes are the `header` row); then the whole file
/// as one plain download. Tile bytes are the stored sizes of the tiles the window touches;
/// `bytes_fetched` can be smaller (tiles that came with the header are not fetched again) or
/// larger (gaps of at most `merge_gap` bytes between tiles are fetched to save a request).
pub(super) fn read_plan_table(
    source: &dyn ByteSource,
    cog: Cog,
    header: (u64, u64),
    (col, row, size): (usize, usize, usize),
    merge_gap: u64,
) -> Result<Table, String> {
    let cog = cog.with_merge_gap(merge_gap);
    let file_len = cog.file_len();
    let share = |b: u64| Cell::Float(round4(b as f64 / file_len.max(1) as f64));
    let full = cog.grid().clone();
    let mut rows = vec![vec![
        text("header"),
        text(""),
        text(""),
        Cell::Int(0),
        Cell::Int(0),
        Cell::Int(header.0 as i64),
        Cell::Int(header.1 as i64),
        share(header.1),
        Cell::Int(0),
    ]];
    let counting = Counting::new(source);
    let bands = cog.bands();
    let item_size = cog.dtype().size();
    for (i, lv) in cog.levels().iter().enumerate() {
        let g = lv.grid();
        // The same ground area at this level: the full-resolution window's edges scaled by the
        // ratio of the shapes, widened outwards to whole pixels and clipped to the level.
        let (sx, sy) = (
            g.width as f64 / full.width as f64,
            g.height as f64 / full.height as f64,
        );
        let x0 = ((col as f64 * sx).floor() as usize).min(g.width.saturating_sub(1));
        let y0 = ((row as f64 * sy).floor() as usize).min(g.height.saturating_sub(1));
        let x1 = (((col + size) as f64 * sx).ceil() as usize).clamp(x0 + 1, g.width);
        let y1 = (((row + size) as f64 * sy).ceil() as usize).clamp(y0 + 1, g.height);
        let window = if i == 0 {
            Window::new(col, row, size, size)
        } else {
            Window::new(x0, y0, x1 - x0, y1 - y0)
        };
        let plan = cog
            .plan_window(i, window, None)
            .map_err(|e| e.to_string())?;
        let tile_bytes: u64 = plan.chunks.iter().map(|c| c.range.len).sum();
        let array = cog
            .read_window(&counting, i, window, None)
            .map_err(|e| e.to_string())?;
        let (requests, bytes) = counting.take();
        rows.push(vec![
            text(if i == 0 {
                "window at full resolution".to_owned()
            } else {
                let f = (full.width as f64 / g.width as f64).round();
                format!("same area, level {i} (overview 1/{f})")
            }),
            text(i.to_string()),
            text(format!(
                "{},{} {}x{}",
                window.col_off, window.row_off, window.width, window.height
            )),
            Cell::Int(plan.chunk_count() as i64),
            Cell::Int(tile_bytes as i64),
            Cell::Int(requests as i64),
            Cell::Int(bytes as i64),
            share(bytes),
            Cell::Int((array.len() * item_size) as i64),
        ]);
    }
    rows.push(vec![
        text("whole file, one download"),
        text(""),
        text(""),
        Cell::Int(0),
        Cell::Int(0),
        Cell::Int(1),
        Cell::Int(file_len as i64),
        share(file_len),
        Cell::Int((full.width * full.height * bands * item_size) as i64),
    ]);
    Ok(Table {
        columns: cols(&[
            "read",
            "level",
            "window",
            "tiles",
            "tile_bytes",
            "requests",
            "bytes_fetched",
            "share_of_file",
            "pixel_bytes",
        ]),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use crate::recipe::{MemoryFiles, OutputValue, Recipe, RecipeError, Runtime};

    /// A 16×16 uint8 strip TIFF (8 rows per strip) and a STAC item pointing at it.
    fn files() -> MemoryFiles {
        let mut buf = std::io::Cursor::new(Vec::new());
        let px: Vec<u8> = (0..=255).collect();
        let mut enc = tiff::encoder::TiffEncoder::new(&mut buf).unwrap();
        let mut img = enc
            .new_image::<tiff::encoder::colortype::Gray8>(16, 16)
            .unwrap();
        img.rows_per_strip(8).unwrap();
        img.write_data(&px).unwrap();
        let item = r#"{"type": "Feature", "id": "a", "properties": {"datetime": "2024-01-01T00:00:00Z",
          "proj:epsg": 32618}, "assets": {"img": {"href": "a.tif", "type": "image/tiff",
          "roles": ["data"], "proj:shape": [16, 16], "proj:transform": [10, 0, 0, 0, -10, 160],
          "raster:bands": [{"data_type": "uint8", "nodata": 0}],
          "eo:bands": [{"name": "B1", "common_name": "red"}]}}}"#;
        MemoryFiles(vec![
            ("s/item.json".into(), item.as_bytes().to_vec()),
            ("s/a.tif".into(), buf.into_inner()),
        ])
    }

    const HEAD: &str = "[recipe]\nname = \"c\"\n[[steps]]\nid = \"items\"\nop = \"stac\"\n\
                        path = \"s/item.json\"\n";

    fn run(steps: &str) -> Result<Vec<(String, String)>, String> {
        let r = Recipe::parse("c.toml", &format!("{HEAD}{steps}")).map_err(|e| e.to_string())?;
        let out = Runtime::new(&files())
            .run(&r, &r.bind(&[]).unwrap())
            .map_err(|e| e.to_string())?;
        Ok(out
            .outputs
            .iter()
            .filter_map(|o| match &o.value {
                OutputValue::Table(t) => Some((o.name.clone(), t.to_csv())),
                _ => None,
            })
            .collect())
    }

    #[test]
    fn assets_layout_and_read_plan_tables() {
        let out = run(
            "[[steps]]\nid = \"a\"\nop = \"assets\"\nitems = \"items\"\n\
                       output = \"a.csv\"\n[[steps]]\nid = \"l\"\nop = \"cog_layout\"\n\
                       items = \"items\"\noutput = \"l.csv\"\n[[steps]]\nid = \"r\"\n\
                       op = \"read_plan\"\nitems = \"items\"\ncol = 2\nrow = 9\nsize = 4\n\
                       output = \"r.csv\"\n",
        )
        .unwrap();
        assert_eq!(
            out[0].1.lines().nth(1),
            Some("a,img,a.tif,image/tiff,data,1,red,uint8,0.0,EPSG:32618,16x16,10.0")
        );
        let len = files().0[1].1.len();
        let share = 256.0 / len as f64;
        // One level (no overviews), strips of 8 rows: 1 × 2 chunks of 128 bytes.
        assert_eq!(
            out[1].1.lines().nth(1),
            Some(format!(
                "0 (full resolution),16x16,1.0,16x8,1x2,2,none,256,{:?}",
                (share * 1e4).round() / 1e4
            ))
            .as_deref()
        );
        let rows: Vec<&str> = out[2].1.lines().collect();
        // A file smaller than the first header fetch arrives whole with it, so the window
        // needs no further request although it touches the second strip.
        assert_eq!(rows[1], format!("header,,,0,0,1,{len},1.0,0"));
        assert_eq!(
            rows[2],
            "window at full resolution,0,\"2,9 4x4\",1,128,0,0,0.0,16"
        );
        assert_eq!(
            rows[3],
            format!("\"whole file, one download\",,,0,0,1,{len},1.0,256")
        );
        assert_eq!(rows.len(), 4, "no overview rows");
    }

    #[test]
    fn bad_choices_name_the_step_and_the_problem() {
        let plan = "[[steps]]\nid = \"r\"\nop = \"read_plan\"\nitems = \"items\"\n\
                    ITEMcol = COL\nrow = 0\nsize = 4\noutput = \"r.csv\"\n";
        for (item, col, want) in [
            (
                "item = \"b\"\n",
                "0",
                "c.toml:8: step `r` (read_plan): item: no item has id `b` (items: a)",
            ),
            (
                "asset = \"x\"\n",
                "0",
                "c.toml:8: step `r` (read_plan): asset: ",
            ),
            (
                "",
                "14",
                "c.toml:8: step `r` (read_plan): s/a.tif: window at level 0: ",
            ),
        ] {
            let e = run(&plan.replace("ITEM", item).replace("COL", col)).unwrap_err();
            assert!(e.starts_with(want), "{e}");
        }
    }

    #[test]
    fn recipe_errors_name_file_line_and_key() {
        let parse = |steps: &str| Recipe::parse("c.toml", &format!("{HEAD}{steps}"));
        let e = parse(
            "[[steps]]\nid = \"r\"\nop = \"read_plan\"\nitems = \"items\"\nrow = 0\nsize = 4\n",
        )
        .unwrap_err();
        assert!(matches!(e, RecipeError::MissingKey { .. }), "{e}");
        assert_eq!(e.to_string(), "c.toml:8: steps[1].col: missing (required)");
        let e = parse(
            "[[steps]]\nid = \"r\"\nop = \"read_plan\"\nitems = \"items\"\ncol = -1\nrow = 0\nsize = 4\n",
        )
        .unwrap_err();
        assert_eq!(e.location().line, 11);
        assert_eq!(e.location().key, "steps[1].col");
        let e = parse(
            "[[steps]]\nid = \"g\"\nop = \"grid\"\nwidth = 2\nheight = 2\n\
                       transform = [1.0, 0.0, 0.0, 0.0, -1.0, 2.0]\n[[steps]]\nid = \"l\"\n\
                       op = \"cog_layout\"\nitems = \"g\"\n",
        )
        .unwrap_err();
        assert_eq!(e.location().key, "steps[2].items");
    }
}
