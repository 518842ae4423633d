//! The "Stacking a time series" lesson: a small STAC catalog stacked into a `(time, band, y,
//! x)` cube with odc-stac's rules, summarised as JSON and drawn as an SVG grid of time × band
//! thumbnails.
//!
//! The core does no I/O. Natively the assets are read through a [`SourceReader`] (any
//! [`ByteSource`](crate::cog::ByteSource): files, memory); in the browser a
//! [`StackLessonSession`] says which byte ranges it needs (COG headers first, then the tiles the
//! stack reads), the page fetches them with HTTP `Range` requests, and the session stacks from
//! the fetched bytes. Both end in the same [`render`](stacking_lesson) so the page's answer can
//! be compared with the native one byte for byte.

mod fetch;
mod thumbs;

use std::fmt::Write as _;

pub use fetch::{FetchRequest, SessionStep, SourceReader, StackLessonSession};

use crate::array::{ArrayData, LabeledArray};
use crate::stac::{Item, parse_items};
use crate::stack::{
    AssetReader, CrsChoice, GridParams, GroupBy, LoadOptions, Stack, StackMode, load,
};
use crate::warp::Resampling;

use super::{LessonError, number};

/// Most elements (`time × band × y × x`) the lesson stacks: a page must stay responsive.
const MAX_ELEMENTS: u64 = 10_000_000;
/// Most bands the thumbnail grid draws.
const MAX_BANDS: usize = 4;

/// The reader's inputs to the stacking lesson, as typed.
///
/// ```
/// let input = geochip::lesson::StackLessonInput {
///     bands: "red, green", resolution: "600", crs: "", resampling: "nearest",
///     groupby: "solar_day", bbox: "",
/// };
/// assert_eq!(input.bands, "red, green");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackLessonInput<'a> {
    /// Comma-separated band names (asset keys, `asset.N`, or `eo:bands` common names).
    pub bands: &'a str,
    /// Output pixel size in CRS units; empty: the items' own.
    pub resolution: &'a str,
    /// Output CRS (`EPSG:3857`, `32618`, `utm`); empty: the items' CRS.
    pub crs: &'a str,
    /// `nearest`, `bilinear` or `average`.
    pub resampling: &'a str,
    /// `time`, `solar_day` or `id`.
    pub groupby: &'a str,
    /// Lon/lat box `west, south, east, north`; empty: the items' footprint.
    pub bbox: &'a str,
}

/// The lesson's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackLessonAnswer {
    /// Pretty JSON: grid, coordinates, dtype, nodata, valid pixels per time and band, and the
    /// cube's SHA-256 (C-order little-endian bytes, numpy's `tobytes()`).
    pub summary: String,
    /// SVG: one thumbnail per (time, band), nodata transparent.
    pub svg: String,
}

/// The parsed request: grid parameters and load options (odc-stac mode).
fn parse_input(input: &StackLessonInput<'_>) -> Result<(GridParams, LoadOptions), LessonError> {
    let bands: Vec<String> = input
        .bands
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_owned)
        .collect();
    if bands.is_empty() {
        return Err(LessonError::Empty {
            what: "bands",
            reason: "name at least one band (e.g. red, green, blue)",
        });
    }
    if bands.len() > MAX_BANDS {
        return Err(LessonError::TooMany {
            what: "bands",
            count: bands.len() as u64,
            max: MAX_BANDS as u64,
            hint: "pick fewer bands",
        });
    }
    let resolution = match input.resolution.trim() {
        "" => None,
        text => {
            let r = number("resolution", text)?;
            if !(r.is_finite() && r > 0.0) {
                return Err(LessonError::NotPositive {
                    field: "resolution",
                    text: text.to_owned(),
                });
            }
            Some((r, r))
        }
    };
    let crs = match input.crs.trim() {
        "" => None,
        text => Some(text.parse::<CrsChoice>()?),
    };
    let resampling: Resampling =
        input
            .resampling
            .parse()
            .map_err(|_: String| LessonError::UnknownChoice {
                field: "resampling",
                text: input.resampling.trim().to_owned(),
                choices: "nearest, bilinear, average",
            })?;
    let groupby = match input.groupby.trim() {
        "time" => GroupBy::Time,
        "solar_day" => GroupBy::SolarDay,
        "id" => GroupBy::Id,
        other => {
            return Err(LessonError::UnknownChoice {
                field: "groupby",
                text: other.to_owned(),
                choices: "time, solar_day, id",
            });
        }
    };
    let bbox = match input.bbox.trim() {
        "" => None,
        text => {
            let parts: Vec<&str> = text
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|p| !p.is_empty())
                .collect();
            if parts.len() != 4 {
                return Err(LessonError::WrongCount {
                    field: "bbox",
                    expected: 4,
                    got: parts.len(),
                });
            }
            let mut v = [0.0; 4];
            for (slot, p) in v.iter_mut().zip(&parts) {
                *slot = number("bbox", p)?;
            }
            let [w, s, e, n] = v;
            let lon = -180.0..=180.0;
            let lat = -90.0..=90.0;
            if !(lon.contains(&w) && lon.contains(&e) && lat.contains(&s) && lat.contains(&n))
                || w >= e
                || s >= n
            {
                return Err(LessonError::OutOfRange {
                    field: "bbox",
                    text: text.to_owned(),
                    range: "west < east in -180..180 and south < north in -90..90 (degrees)",
                });
            }
            Some(v)
        }
    };
    let params = GridParams {
        mode: StackMode::Odc,
        bands: Some(bands),
        crs,
        resolution,
        bbox,
        groupby,
        max_pixels: MAX_ELEMENTS,
        ..GridParams::default()
    };
    let opts = LoadOptions {
        resampling,
        ..LoadOptions::default()
    };
    Ok((params, opts))
}

/// Parses the catalog (a STAC ItemCollection / FeatureCollection, or one Item).
fn parse_catalog(catalog_json: &str) -> Result<Vec<Item>, LessonError> {
    let items = parse_items(catalog_json).map_err(crate::stack::StackError::from)?;
    if items.is_empty() {
        return Err(LessonError::Empty {
            what: "catalog",
            reason: "it holds no STAC items",
        });
    }
    Ok(items)
}

/// Stacks the catalog's items as the reader asked, reading assets through `reader`, and
/// renders the answer.
///
/// ```
/// use geochip::lesson::{stacking_lesson, SourceReader, StackLessonInput};
/// let input = StackLessonInput { bands: "red", resolution: "0", crs: "", resampling: "nearest",
///     groupby: "time", bbox: "" };
/// let mut reader = SourceReader::new(|href: &str| {
///     Err(geochip::stack::AssetError::not_found(href.to_owned()))
/// });
/// let err = stacking_lesson("{}", &input, &mut reader).unwrap_err();
/// assert_eq!(err.to_string(), "resolution: '0' must be a positive number");
/// ```
pub fn stacking_lesson(
    catalog_json: &str,
    input: &StackLessonInput<'_>,
    reader: &mut dyn AssetReader,
) -> Result<StackLessonAnswer, LessonError> {
    let (params, opts) = parse_input(input)?;
    let items = parse_catalog(catalog_json)?;
    let stack = load(&items, &params, &opts, reader, &mut |_, _| {})?;
    render(&items, &stack)
}

/// Values of any dtype as `f64`.
pub(super) fn values_f64(a: &LabeledArray) -> Vec<f64> {
    plane_f64(a, 0, a.len())
}

/// `len` values from flat (C-order) index `start`, as `f64`.
fn plane_f64(a: &LabeledArray, start: usize, len: usize) -> Vec<f64> {
    fn take<T: Copy>(
        x: &ndarray::ArrayD<T>,
        start: usize,
        len: usize,
        f: impl Fn(T) -> f64,
    ) -> Vec<f64> {
        x.iter().skip(start).take(len).map(|v| f(*v)).collect()
    }
    match a.data() {
        ArrayData::U8(x) => take(x, start, len, f64::from),
        ArrayData::U16(x) => take(x, start, len, f64::from),
        ArrayData::U32(x) => take(x, start, len, f64::from),
        ArrayData::U64(x) => take(x, start, len, |v| v as f64),
        ArrayData::I8(x) => take(x, start, len, f64::from),
        ArrayData::I16(x) => take(x, start, len, f64::from),
        ArrayData::I32(x) => take(x, start, len, f64::from),
        ArrayData::I64(x) => take(x, start, len, |v| v as f64),
        ArrayData::F32(x) => take(x, start, len, f64::from),
        ArrayData::F64(x) => take(x, start, len, |v| v),
        #[allow(unreachable_patterns)]
        _ => Vec::new(),
    }
}

fn is_valid(v: f64, nodata: f64) -> bool {
    !(v.is_nan() || v == nodata)
}

/// The summary JSON and the SVG of a loaded stack.
fn render(items: &[Item], stack: &Stack) -> Result<StackLessonAnswer, LessonError> {
    let g = &stack.grid;
    let shape = stack.array.shape().to_vec();
    let (nt, nb, ny, nx) = (shape[0], shape[1], shape[2], shape[3]);
    let plane = ny * nx;
    // One (time, band) plane at a time: the cube as f64 would be 8x its uint8 size.
    let mut valid = vec![vec![0u64; nb]; nt];
    for (t, row) in valid.iter_mut().enumerate() {
        for (b, count) in row.iter_mut().enumerate() {
            *count = plane_f64(&stack.array, (t * nb + b) * plane, plane)
                .iter()
                .filter(|v| is_valid(**v, stack.nodata))
                .count() as u64;
        }
    }
    let crs = match &g.grid.crs {
        Some(crate::crs::Crs::Epsg(code)) => format!("EPSG:{code}"),
        Some(other) => other.to_string(),
        None => "none".to_owned(),
    };
    let nodata = if stack.nodata.is_nan() {
        serde_json::Value::String("NaN".into())
    } else {
        serde_json::json!(stack.nodata)
    };
    let times: Vec<serde_json::Value> = g
        .time
        .iter()
        .zip(&g.time_items)
        .zip(&valid)
        .map(|((t, ids), v)| {
            serde_json::json!({
                "time": t,
                "items": ids,
                "valid_pixels": v,
            })
        })
        .collect();
    let b = g.grid.bounds();
    let bounds = [b.left, b.bottom, b.right, b.top];
    let summary = serde_json::json!({
        "items": items.len(),
        "dims": ["time", "band", "y", "x"],
        "shape": shape,
        "bands": g.band,
        "dtype": stack.array.dtype().to_string(),
        "nodata": nodata,
        "crs": crs,
        "transform": g.grid.transform.to_affine(),
        "bounds": bounds,
        "times": times,
        "pixels_per_plane": plane,
        "sha256": stack.array.sha256(),
    });
    let summary = serde_json::to_string_pretty(&summary).map_err(|_| LessonError::Empty {
        what: "summary",
        reason: "could not be written as JSON",
    })?;
    let svg = svg(stack)?;
    Ok(StackLessonAnswer { summary, svg })
}

/// Short date of a numpy datetime64 text (`2024-03-01T15:30:00.000000000` → `2024-03-01
/// 15:30`).
fn short_time(t: &str) -> String {
    let t = t.replace('T', " ");
    t.get(..16).map_or(t.clone(), str::to_owned)
}

/// XML-escapes text for an SVG text node.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The time × band grid of thumbnails (each band stretched over all times alike, 2–98 %).
fn svg(stack: &Stack) -> Result<String, LessonError> {
    let g = &stack.grid;
    let shape = stack.array.shape();
    let (nt, nb, ny, nx) = (shape[0], shape[1], shape[2], shape[3]);
    let plane = ny * nx;
    let (tw, th, step) = thumbs::thumb_size(nx, ny);
    let (left, top, gap) = (130usize, 28usize, 8usize);
    let width = left + nb * (tw + gap);
    let height = top + nt * (th + gap);
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\
         <defs><pattern id=\"stk-checker\" width=\"8\" height=\"8\" \
         patternUnits=\"userSpaceOnUse\"><rect width=\"8\" height=\"8\" fill=\"#eee\"/>\
         <rect width=\"4\" height=\"4\" fill=\"#ccc\"/><rect x=\"4\" y=\"4\" width=\"4\" \
         height=\"4\" fill=\"#ccc\"/></pattern></defs><rect width=\"{width}\" \
         height=\"{height}\" fill=\"#fff\"/>"
    );
    for (b, name) in g.band.iter().enumerate() {
        let x = left + b * (tw + gap) + tw / 2;
        let _ = write!(
            out,
            "<text x=\"{x}\" y=\"18\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>",
            esc(name)
        );
    }
    for b in 0..nb {
        // Every time of a band is stretched alike, from the pixels the thumbnails show.
        let planes: Vec<Vec<f64>> = (0..nt)
            .map(|t| {
                thumbs::sample(
                    &plane_f64(&stack.array, (t * nb + b) * plane, plane),
                    nx,
                    ny,
                    step,
                )
            })
            .collect();
        let (lo, hi) = thumbs::stretch(planes.iter().flatten().copied(), stack.nodata);
        for (t, sampled) in planes.iter().enumerate() {
            let png = thumbs::png_thumb(sampled, tw, th, stack.nodata, lo, hi);
            let (x, y) = (left + b * (tw + gap), top + t * (th + gap));
            let _ = write!(
                out,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{tw}\" height=\"{th}\" \
                 fill=\"url(#stk-checker)\"/><image x=\"{x}\" y=\"{y}\" width=\"{tw}\" \
                 height=\"{th}\" style=\"image-rendering:pixelated\" \
                 href=\"data:image/png;base64,{}\"/>",
                thumbs::base64(&png)
            );
        }
    }
    for (t, (time, ids)) in g.time.iter().zip(&g.time_items).enumerate() {
        let y = top + t * (th + gap) + th / 2;
        let _ = write!(
            out,
            "<text x=\"4\" y=\"{y}\">{}</text><text x=\"4\" y=\"{}\" fill=\"#666\" \
             font-size=\"10\">{}</text>",
            esc(&short_time(time)),
            y + 14,
            esc(&ids.join(", "))
        );
    }
    out.push_str("</svg>");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> StackLessonInput<'static> {
        StackLessonInput {
            bands: "red, green, blue",
            resolution: "600",
            crs: "",
            resampling: "nearest",
            groupby: "solar_day",
            bbox: "",
        }
    }

    #[test]
    fn bad_inputs_name_the_field() {
        let cases = [
            (
                StackLessonInput {
                    bands: " , ",
                    ..input()
                },
                "bands: name at least one band (e.g. red, green, blue)",
            ),
            (
                StackLessonInput {
                    resolution: "-5",
                    ..input()
                },
                "resolution: '-5' must be a positive number",
            ),
            (
                StackLessonInput {
                    resolution: "fine",
                    ..input()
                },
                "resolution: 'fine' is not a number",
            ),
            (
                StackLessonInput {
                    resampling: "cubic",
                    ..input()
                },
                "resampling: 'cubic' is not one of nearest, bilinear, average",
            ),
            (
                StackLessonInput {
                    groupby: "month",
                    ..input()
                },
                "groupby: 'month' is not one of time, solar_day, id",
            ),
            (
                StackLessonInput {
                    bbox: "1, 2, 3",
                    ..input()
                },
                "bbox: expected 4 comma-separated numbers, got 3",
            ),
            (
                StackLessonInput {
                    bbox: "10, 5, 0, 6",
                    ..input()
                },
                "bbox: '10, 5, 0, 6' is outside west < east in -180..180 and south < north in \
                 -90..90 (degrees)",
            ),
        ];
        for (case, message) in cases {
            let err = parse_input(&case).unwrap_err();
            assert_eq!(err.to_string(), message);
        }
        assert!(parse_input(&input()).is_ok());
    }

    #[test]
    fn short_times() {
        assert_eq!(
            short_time("2024-03-01T15:30:00.000000000"),
            "2024-03-01 15:30"
        );
        assert_eq!(short_time("x"), "x");
    }
}
