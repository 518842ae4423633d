//! The "Burning labels" lesson: real parcels burned onto a grid the reader shifts and
//! toggles, drawn as SVG.

use std::fmt::Write as _;

use geo_types::{Coord, Geometry, LineString};

use crate::array::{ArrayData, DType};
use crate::grid::Grid;
use crate::rasterize::{MergeAlg, RasterizeOptions, Rasterizer, ReadOptions, Shape, read_wkt};
use crate::transform::GeoTransform;

use super::{LessonError, number};

/// Most pixels the lesson grid may have (the SVG draws them).
const MAX_PIXELS: u64 = 250_000;

/// The reader's inputs to the burning lesson, as typed.
///
/// ```
/// use geochip::lesson::{burning_lesson, BurnLessonInput};
/// let wkt = "MULTIPOLYGON(((0 0,10 0,10 10,0 10,0 0)),((20 0,30 0,30 10,20 10,20 0)))";
/// let input = BurnLessonInput { resolution: "2", shift_x: "0", shift_y: "0",
///     all_touched: false, coverage: false };
/// let a = burning_lesson(wkt, &input).unwrap();
/// assert!(a.summary.contains("\"parcels\": 2"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurnLessonInput<'a> {
    /// Pixel size in metres.
    pub resolution: &'a str,
    /// Grid origin shift along x, in pixels (e.g. `0.5`).
    pub shift_x: &'a str,
    /// Grid origin shift along y, in pixels.
    pub shift_y: &'a str,
    /// rasterio's `all_touched`.
    pub all_touched: bool,
    /// Draw the exact fractional coverage instead of the label burn.
    pub coverage: bool,
}

/// The lesson's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BurnLessonAnswer {
    /// Pretty JSON: the grid, counts, the label array's checksum.
    pub summary: String,
    /// SVG of the burned raster with the parcel outlines on top.
    pub svg: String,
}

/// A stable, well-spread colour for a label (golden-angle hues).
fn colour(label: u64) -> String {
    let hue = (label.wrapping_mul(137_508) / 1000) % 360;
    format!("hsl({hue},70%,55%)")
}

fn ring_path(out: &mut String, ring: &LineString<f64>, inv: &GeoTransform) {
    for (i, c) in ring.0.iter().enumerate() {
        let (px, py) = inv.apply_gdal(c.x, c.y);
        let _ = write!(out, "{}{:.3},{:.3}", if i == 0 { 'M' } else { 'L' }, px, py);
    }
    out.push('Z');
}

/// Burns the parcels of a WKT text (one polygon per label, numbered from 1) on a grid
/// aligned to the parcels' bounds at `resolution`, shifted by a fraction of a pixel.
///
/// ```
/// use geochip::lesson::{burning_lesson, BurnLessonInput};
/// let wkt = "POLYGON((0 0,10 0,10 10,0 10,0 0))";
/// let bad = BurnLessonInput { resolution: "0", shift_x: "0", shift_y: "0",
///     all_touched: false, coverage: false };
/// assert!(burning_lesson(wkt, &bad).is_err());
/// ```
pub fn burning_lesson(
    wkt: &str,
    input: &BurnLessonInput<'_>,
) -> Result<BurnLessonAnswer, LessonError> {
    let res = number("resolution", input.resolution)?;
    let sx = number("shift_x", input.shift_x)?;
    let sy = number("shift_y", input.shift_y)?;
    if !(res.is_finite() && res > 0.0) {
        return Err(LessonError::NotPositive {
            field: "resolution",
            text: input.resolution.trim().to_owned(),
        });
    }
    for (field, v, text) in [
        ("shift_x", sx, input.shift_x),
        ("shift_y", sy, input.shift_y),
    ] {
        if !v.is_finite() || v.abs() > 1.0 {
            return Err(LessonError::OutOfRange {
                field,
                text: text.trim().to_owned(),
                range: "-1 to 1 pixels",
            });
        }
    }
    let read = read_wkt(wkt, &ReadOptions::default())?;
    // One label per parcel: explode multipolygons, number polygons from 1.
    let mut polygons = Vec::new();
    for shape in read.shapes {
        match shape.geometry {
            Geometry::MultiPolygon(mp) => polygons.extend(mp.0),
            Geometry::Polygon(p) => polygons.push(p),
            _ => {}
        }
    }
    let (mut min, mut max) = (
        Coord {
            x: f64::INFINITY,
            y: f64::INFINITY,
        },
        Coord {
            x: f64::NEG_INFINITY,
            y: f64::NEG_INFINITY,
        },
    );
    for c in polygons.iter().flat_map(|p| p.exterior().0.iter()) {
        min = Coord {
            x: min.x.min(c.x),
            y: min.y.min(c.y),
        };
        max = Coord {
            x: max.x.max(c.x),
            y: max.y.max(c.y),
        };
    }
    if polygons.is_empty() || !min.x.is_finite() {
        return Err(LessonError::Empty {
            what: "wkt",
            reason: "no polygon found",
        });
    }
    // Snap the origin to the resolution (odc-style anchor), move it right/down by the reader's
    // fraction of a pixel, and back by one pixel if that would cut off the parcels' edge.
    let mut x0 = (min.x / res).floor() * res + sx * res;
    if x0 > min.x {
        x0 -= res;
    }
    let mut y0 = (max.y / res).ceil() * res - sy * res;
    if y0 < max.y {
        y0 += res;
    }
    let width = ((max.x - x0) / res).ceil().max(1.0);
    let height = ((y0 - min.y) / res).ceil().max(1.0);
    let pixels = width * height;
    if pixels > MAX_PIXELS as f64 {
        return Err(LessonError::TooMany {
            what: "pixels",
            count: pixels as u64,
            max: MAX_PIXELS,
            hint: "use a coarser resolution",
        });
    }
    // Both are ≥ 1 and below MAX_PIXELS, so the casts are exact.
    let (w, h) = (width as usize, height as usize);
    let grid = Grid::new(
        GeoTransform::new(res, 0.0, x0, 0.0, -res, y0),
        w,
        h,
        Some(crate::Crs::Epsg(28992)),
    )?;
    if polygons.len() > usize::from(u16::MAX) {
        return Err(LessonError::TooMany {
            what: "parcels",
            count: polygons.len() as u64,
            max: u64::from(u16::MAX),
            hint: "the lesson labels parcels as uint16",
        });
    }
    let shapes: Vec<Shape> = polygons
        .iter()
        .enumerate()
        .map(|(i, p)| Shape::new(Geometry::Polygon(p.clone()), (i + 1) as u64))
        .collect();
    let opts = RasterizeOptions {
        all_touched: input.all_touched,
        merge: MergeAlg::Replace,
        dtype: Some(DType::U16),
        ..Default::default()
    };
    let r = Rasterizer::new(&shapes, &grid, &opts)?;
    let labels = r.burn()?;
    let ArrayData::U16(lab) = labels.data() else {
        return Err(LessonError::Empty {
            what: "labels",
            reason: "the burn did not produce uint16 labels",
        });
    };
    let lab: Vec<u16> = lab.iter().copied().collect();
    let burned = lab.iter().filter(|v| **v != 0).count();
    let cover = if input.coverage {
        Some(r.coverage_f64()?)
    } else {
        None
    };

    let pixel_area = res * res;
    let parcel_area: f64 = polygons.iter().map(polygon_area).sum();
    let mut summary = serde_json::json!({
        "grid": { "transform": grid.transform.to_affine(), "shape": [h, w], "crs": "EPSG:28992" },
        "parcels": polygons.len(),
        "all_touched": input.all_touched,
        "burned_pixels": burned,
        "burned_area_m2": burned as f64 * pixel_area,
        "parcel_area_m2": parcel_area,
        "labels_sha256": labels.sha256(),
    });
    if let (Some(c), Some(obj)) = (&cover, summary.as_object_mut()) {
        let sum: f64 = c.iter().sum();
        obj.insert("coverage_area_m2".into(), (sum * pixel_area).into());
        obj.insert(
            "partial_pixels".into(),
            c.iter().filter(|v| **v > 0.0 && **v < 1.0).count().into(),
        );
    }
    let summary = serde_json::to_string_pretty(&summary).unwrap_or_default();

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" shape-rendering=\"crispEdges\" role=\"img\" \
         aria-label=\"{} parcels burned on a {w}x{h} grid\"><rect width=\"{w}\" height=\"{h}\" fill=\"#1b1b1b\"/>",
        polygons.len()
    );
    // Runs of equal value per row, merged with identical runs below.
    let value = |i: usize| -> u64 {
        match &cover {
            // 16 grey levels of coverage.
            Some(c) => (c[i] * 16.0).round() as u64,
            None => u64::from(lab[i]),
        }
    };
    for (x, y, rw, rh, v) in value_rects(w, h, value) {
        let fill = match &cover {
            Some(_) => format!("rgb({0},{0},{0})", (v * 255 / 16).min(255)),
            None => colour(v),
        };
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{rw}\" height=\"{rh}\" fill=\"{fill}\"/>"
        );
    }
    let inv = grid.transform.inverse()?;
    svg.push_str("<path fill=\"none\" stroke=\"#ffffff\" stroke-width=\"0.15\" d=\"");
    for p in &polygons {
        ring_path(&mut svg, p.exterior(), &inv);
        for hole in p.interiors() {
            ring_path(&mut svg, hole, &inv);
        }
    }
    svg.push_str("\"/></svg>");
    Ok(BurnLessonAnswer { summary, svg })
}

fn polygon_area(p: &geo_types::Polygon<f64>) -> f64 {
    let ring = |r: &LineString<f64>| -> f64 {
        r.0.windows(2)
            .map(|s| s[0].x * s[1].y - s[1].x * s[0].y)
            .sum::<f64>()
            .abs()
            / 2.0
    };
    ring(p.exterior()) - p.interiors().iter().map(ring).sum::<f64>()
}

/// Rectangles of equal non-zero value: runs per row, merged downwards while identical.
fn value_rects(
    w: usize,
    h: usize,
    value: impl Fn(usize) -> u64,
) -> Vec<(usize, usize, usize, usize, u64)> {
    let mut done = Vec::new();
    let mut open: Vec<(usize, usize, u64, usize, usize)> = Vec::new(); // x, w, v, y0, h
    for y in 0..h {
        let mut row = Vec::new();
        let mut x = 0;
        while x < w {
            let v = value(y * w + x);
            let start = x;
            while x < w && value(y * w + x) == v {
                x += 1;
            }
            if v != 0 {
                row.push((start, x - start, v));
            }
        }
        let mut next = Vec::new();
        for (x, rw, v, y0, rh) in open.drain(..) {
            if row.contains(&(x, rw, v)) {
                next.push((x, rw, v, y0, rh + 1));
            } else {
                done.push((x, y0, rw, rh, v));
            }
        }
        for (x, rw, v) in row {
            if !next.iter().any(|r| r.0 == x && r.1 == rw && r.2 == v) {
                next.push((x, rw, v, y, 1));
            }
        }
        open = next;
    }
    done.extend(
        open.into_iter()
            .map(|(x, rw, v, y0, rh)| (x, y0, rw, rh, v)),
    );
    done.sort_unstable();
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARES: &str =
        "MULTIPOLYGON(((0 0,10 0,10 10,0 10,0 0)),((20 0,30 0,30 10,20 10,20 0)))";

    fn input<'a>() -> BurnLessonInput<'a> {
        BurnLessonInput {
            resolution: "1",
            shift_x: "0",
            shift_y: "0",
            all_touched: false,
            coverage: false,
        }
    }

    fn summary(wkt: &str, i: &BurnLessonInput<'_>) -> serde_json::Value {
        serde_json::from_str(&burning_lesson(wkt, i).unwrap().summary).unwrap()
    }

    #[test]
    fn aligned_squares_burn_exactly_their_area() {
        let v = summary(SQUARES, &input());
        assert_eq!(v["parcels"], 2);
        assert_eq!(v["burned_pixels"], 200);
        assert_eq!(v["parcel_area_m2"], 200.0);
        assert_eq!(v["grid"]["shape"], serde_json::json!([10, 30]));
    }

    #[test]
    fn half_pixel_shift_changes_centre_rule_and_all_touched() {
        // Shifted by half a pixel, each 10×10 square covers centres of 10×10 pixels still
        // (centres now sit on ... .0 + 0.5 − 0.5 = integer edges: GDAL's half-open rule).
        let shifted = BurnLessonInput {
            shift_x: "0.5",
            shift_y: "0.5",
            ..input()
        };
        let centre = summary(SQUARES, &shifted);
        let touched = summary(
            SQUARES,
            &BurnLessonInput {
                all_touched: true,
                ..shifted
            },
        );
        assert!(touched["burned_pixels"].as_u64() > centre["burned_pixels"].as_u64());
        assert_eq!(touched["burned_pixels"], 2 * 11 * 11);
    }

    #[test]
    fn coverage_sums_to_the_parcel_area() {
        let v = summary(
            SQUARES,
            &BurnLessonInput {
                shift_x: "0.3",
                shift_y: "-0.7",
                coverage: true,
                ..input()
            },
        );
        let a = v["coverage_area_m2"].as_f64().unwrap();
        assert!((a - 200.0).abs() < 1e-9 * 200.0, "{a}");
        assert!(v["partial_pixels"].as_u64().unwrap() > 0);
    }

    #[test]
    fn bad_inputs_are_errors() {
        for bad in [
            BurnLessonInput {
                resolution: "-1",
                ..input()
            },
            BurnLessonInput {
                resolution: "abc",
                ..input()
            },
            BurnLessonInput {
                resolution: "0.001",
                ..input()
            },
            BurnLessonInput {
                shift_x: "3",
                ..input()
            },
            BurnLessonInput {
                shift_y: "nan",
                ..input()
            },
        ] {
            assert!(burning_lesson(SQUARES, &bad).is_err(), "{bad:?}");
        }
        assert!(burning_lesson("POLYGON((0 0, 1 1", &input()).is_err());
        assert!(burning_lesson("POINT(1 1)", &input()).is_err());
    }
}
