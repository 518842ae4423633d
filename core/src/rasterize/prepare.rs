//! Geometry validation, rasterio's explosion of multi-part geometries, GDAL's ring
//! orientation and the world → pixel transform.

use geo_types::{Coord, Geometry, LineString, Polygon};

use super::RasterizeError;
use super::cast::BurnValue;
use super::scan::PolygonEdges;
use crate::transform::GeoTransform;

/// One primitive to burn, in continuous pixel coordinates.
#[derive(Debug, Clone)]
pub(crate) struct Prim {
    /// Position of its shape in the input (the parts of one shape are consecutive).
    pub shape: usize,
    /// The feature index errors name.
    pub feature: usize,
    /// Its burn value.
    pub value: BurnValue,
    /// What to burn.
    pub kind: Kind,
    /// Conservative row range `[rmin, rmax]` (may lie outside the grid).
    pub rows: (i64, i64),
    /// Conservative column range `[cmin, cmax]`.
    pub cols: (i64, i64),
}

/// The kinds of primitive GDAL distinguishes.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// A polygon (all rings, oriented, closing edge included) and its edge table.
    Polygon(PolygonEdges),
    /// A line geometry: its parts, each with vertices in GDAL's (reversed) order.
    Line(Vec<Vec<(f64, f64)>>),
    /// Points (each burns once, even twice in one pixel with `add`).
    Points(Vec<(f64, f64)>),
}

/// Checks a whole geometry (so a bad part rejects the whole feature, like rasterio).
pub(crate) fn validate(feature: usize, geom: &Geometry<f64>) -> Result<(), RasterizeError> {
    match geom {
        Geometry::Point(p) => check_coord(feature, p.0),
        Geometry::Line(l) => {
            check_coord(feature, l.start)?;
            check_coord(feature, l.end)
        }
        Geometry::LineString(ls) => check_line(feature, ls),
        Geometry::Polygon(p) => check_polygon(feature, p),
        Geometry::MultiPoint(mp) => {
            if mp.0.is_empty() {
                return Err(RasterizeError::EmptyGeometry {
                    feature,
                    kind: "MultiPoint",
                });
            }
            mp.0.iter().try_for_each(|p| check_coord(feature, p.0))
        }
        Geometry::MultiLineString(ml) => {
            if ml.0.is_empty() {
                return Err(RasterizeError::EmptyGeometry {
                    feature,
                    kind: "MultiLineString",
                });
            }
            ml.0.iter().try_for_each(|l| check_line(feature, l))
        }
        Geometry::MultiPolygon(mp) => {
            if mp.0.is_empty() {
                return Err(RasterizeError::EmptyGeometry {
                    feature,
                    kind: "MultiPolygon",
                });
            }
            mp.0.iter().try_for_each(|p| check_polygon(feature, p))
        }
        Geometry::GeometryCollection(gc) => {
            if gc.0.is_empty() {
                return Err(RasterizeError::EmptyGeometry {
                    feature,
                    kind: "GeometryCollection",
                });
            }
            gc.0.iter().try_for_each(|g| validate(feature, g))
        }
        Geometry::Rect(r) => {
            check_coord(feature, r.min())?;
            check_coord(feature, r.max())
        }
        Geometry::Triangle(t) => t
            .to_array()
            .iter()
            .try_for_each(|c| check_coord(feature, *c)),
    }
}

fn check_coord(feature: usize, c: Coord<f64>) -> Result<(), RasterizeError> {
    if c.x.is_finite() && c.y.is_finite() {
        Ok(())
    } else {
        Err(RasterizeError::NonFiniteCoordinate {
            feature,
            x: c.x,
            y: c.y,
        })
    }
}

fn check_line(feature: usize, ls: &LineString<f64>) -> Result<(), RasterizeError> {
    match ls.0.len() {
        0 => Err(RasterizeError::EmptyGeometry {
            feature,
            kind: "LineString",
        }),
        1 => Err(RasterizeError::LineTooShort { feature, points: 1 }),
        _ => ls.0.iter().try_for_each(|c| check_coord(feature, *c)),
    }
}

/// Checks one ring: at least 4 points, closed, finite.
pub(crate) fn check_ring(
    feature: usize,
    ring: usize,
    coords: &[Coord<f64>],
) -> Result<(), RasterizeError> {
    coords.iter().try_for_each(|c| check_coord(feature, *c))?;
    if coords.len() < 4 {
        return Err(RasterizeError::RingTooShort {
            feature,
            ring,
            points: coords.len(),
        });
    }
    if coords.first() != coords.last() {
        return Err(RasterizeError::RingNotClosed { feature, ring });
    }
    Ok(())
}

fn check_polygon(feature: usize, p: &Polygon<f64>) -> Result<(), RasterizeError> {
    if p.exterior().0.is_empty() {
        return Err(RasterizeError::EmptyGeometry {
            feature,
            kind: "Polygon",
        });
    }
    check_ring(feature, 0, &p.exterior().0)?;
    for (i, hole) in p.interiors().iter().enumerate() {
        check_ring(feature, i + 1, &hole.0)?;
    }
    Ok(())
}

/// Pixel position of a world coordinate (GDAL's operation order); errors when the result
/// overflows.
fn to_pixel(
    feature: usize,
    inv: &GeoTransform,
    c: Coord<f64>,
) -> Result<(f64, f64), RasterizeError> {
    let (col, row) = inv.apply_gdal(c.x, c.y);
    if col.is_finite() && row.is_finite() {
        Ok((col, row))
    } else {
        Err(RasterizeError::PixelOverflow {
            feature,
            x: c.x,
            y: c.y,
        })
    }
}

/// `OGRSimpleCurve::isClockwise` of GDAL 3.10 on a closed ring (world coordinates):
/// the turn at the lowest-rightmost vertex, with the shoelace sum as the fallback for
/// degenerate pivots.
pub(crate) fn is_clockwise(pts: &[Coord<f64>]) -> bool {
    let n = pts.len();
    if n < 3 {
        return true;
    }
    let mut fallback = false;
    let mut v = 0;
    for i in 1..n - 1 {
        if pts[i].y < pts[v].y || (pts[i].y == pts[v].y && pts[i].x > pts[v].x) {
            v = i;
            fallback = false;
        } else if pts[i].y == pts[v].y && pts[i].x == pts[v].x {
            fallback = true;
        }
    }
    const EPS: f64 = 1e-5;
    let near = |a: Coord<f64>, b: Coord<f64>| (a.x - b.x).abs() < EPS && (a.y - b.y).abs() < EPS;
    let prev = if v == 0 { n - 2 } else { v - 1 };
    if near(pts[prev], pts[v]) {
        fallback = true;
    }
    let dx0 = pts[prev].x - pts[v].x;
    let dy0 = pts[prev].y - pts[v].y;
    let next = if v + 1 >= n - 1 { 0 } else { v + 1 };
    if near(pts[next], pts[v]) {
        fallback = true;
    }
    let dx1 = pts[next].x - pts[v].x;
    let dy1 = pts[next].y - pts[v].y;
    let cross = dx1 * dy0 - dx0 * dy1;
    if !fallback {
        if cross > 0.0 {
            return false;
        } else if cross < 0.0 {
            return true;
        }
    }
    let mut sum = pts[0].x * (pts[1].y - pts[n - 1].y);
    for i in 1..n - 1 {
        sum += pts[i].x * (pts[i + 1].y - pts[i - 1].y);
    }
    sum += pts[n - 1].x * (pts[0].y - pts[n - 2].y);
    sum < 0.0
}

/// Explodes a validated geometry into primitives (MultiPolygon and GeometryCollection parts
/// become separate shapes with the same value, as rasterio does).
pub(crate) fn explode(
    feature: usize,
    geom: &Geometry<f64>,
    value: BurnValue,
    inv: &GeoTransform,
    height: usize,
    out: &mut Vec<Prim>,
) -> Result<(), RasterizeError> {
    match geom {
        Geometry::Point(p) => {
            let pt = to_pixel(feature, inv, p.0)?;
            out.push(prim(feature, value, Kind::Points(vec![pt])));
        }
        Geometry::MultiPoint(mp) => {
            let pts =
                mp.0.iter()
                    .map(|p| to_pixel(feature, inv, p.0))
                    .collect::<Result<Vec<_>, _>>()?;
            out.push(prim(feature, value, Kind::Points(pts)));
        }
        Geometry::Line(l) => {
            let part = vec![
                to_pixel(feature, inv, l.end)?,
                to_pixel(feature, inv, l.start)?,
            ];
            out.push(prim(feature, value, Kind::Line(vec![part])));
        }
        Geometry::LineString(ls) => {
            let part = line_part(feature, inv, ls)?;
            out.push(prim(feature, value, Kind::Line(vec![part])));
        }
        Geometry::MultiLineString(ml) => {
            let parts =
                ml.0.iter()
                    .map(|ls| line_part(feature, inv, ls))
                    .collect::<Result<Vec<_>, _>>()?;
            out.push(prim(feature, value, Kind::Line(parts)));
        }
        Geometry::Polygon(p) => out.push(polygon_prim(feature, value, inv, p, height)?),
        Geometry::MultiPolygon(mp) => {
            for p in &mp.0 {
                out.push(polygon_prim(feature, value, inv, p, height)?);
            }
        }
        Geometry::GeometryCollection(gc) => {
            for g in &gc.0 {
                explode(feature, g, value, inv, height, out)?;
            }
        }
        Geometry::Rect(r) => out.push(polygon_prim(feature, value, inv, &r.to_polygon(), height)?),
        Geometry::Triangle(t) => {
            out.push(polygon_prim(feature, value, inv, &t.to_polygon(), height)?);
        }
    }
    Ok(())
}

/// GDAL collects LineString vertices last to first.
fn line_part(
    feature: usize,
    inv: &GeoTransform,
    ls: &LineString<f64>,
) -> Result<Vec<(f64, f64)>, RasterizeError> {
    ls.0.iter()
        .rev()
        .map(|c| to_pixel(feature, inv, *c))
        .collect()
}

fn polygon_prim(
    feature: usize,
    value: BurnValue,
    inv: &GeoTransform,
    p: &Polygon<f64>,
    height: usize,
) -> Result<Prim, RasterizeError> {
    let mut rings = Vec::with_capacity(1 + p.interiors().len());
    for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
        let pts = &ring.0;
        let px = if is_clockwise(pts) {
            pts.iter()
                .map(|c| to_pixel(feature, inv, *c))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            pts.iter()
                .rev()
                .map(|c| to_pixel(feature, inv, *c))
                .collect::<Result<Vec<_>, _>>()?
        };
        rings.push(px);
    }
    Ok(prim(
        feature,
        value,
        Kind::Polygon(PolygonEdges::new(rings, height)),
    ))
}

fn prim(feature: usize, value: BurnValue, kind: Kind) -> Prim {
    let (mut x0, mut y0, mut x1, mut y1) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    let mut visit = |pts: &[(f64, f64)]| {
        for &(x, y) in pts {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    };
    match &kind {
        Kind::Polygon(e) => e.rings.iter().for_each(|r| visit(r)),
        Kind::Line(parts) => parts.iter().for_each(|r| visit(r)),
        Kind::Points(p) => visit(p),
    }
    // `as` saturates; one pixel of margin covers floor() and the all_touched tolerances.
    let lo = |v: f64| (v.floor() as i64).saturating_sub(1);
    let hi = |v: f64| (v.floor() as i64).saturating_add(1);
    Prim {
        shape: 0,
        feature,
        value,
        kind,
        rows: (lo(y0), hi(y1)),
        cols: (lo(x0), hi(x1)),
    }
}
