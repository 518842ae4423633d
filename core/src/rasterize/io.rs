//! Reading shapes: GeoJSON (a FeatureCollection, a Feature, a bare geometry or an array of
//! them) with the `geojson` crate, and WKT (one geometry per line) with the `wkt` crate.
//!
//! Problems with one feature become a [`Skipped`] record (or an error in strict mode) naming
//! the feature index; a document that does not parse at all is an error.

use geo_types::{
    Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon,
};
use geojson::GeometryValue;
use serde_json::Value;

use super::prepare::check_ring;
use super::{BurnValue, RasterizeError, Shape, Skipped};

/// How to read shapes and their values.
///
/// ```
/// let o = geochip::rasterize::ReadOptions::default();
/// assert_eq!(o.value_property, None);
/// assert!(o.skip_invalid);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOptions {
    /// The feature property holding the burn value (GeoJSON only); `None` burns
    /// `default_value` everywhere.
    pub value_property: Option<String>,
    /// The value of shapes without a value property (rasterio's `default_value`).
    pub default_value: BurnValue,
    /// Record bad features and go on (rasterio's default) instead of failing.
    pub skip_invalid: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            value_property: None,
            default_value: BurnValue::Int(1),
            skip_invalid: true,
        }
    }
}

/// Shapes read from a document, and the features that were skipped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReadShapes {
    /// Good shapes, in document order, each with its feature index.
    pub shapes: Vec<Shape>,
    /// Bad features (skip_invalid mode).
    pub skipped: Vec<Skipped>,
}

impl ReadShapes {
    fn push(
        &mut self,
        feature: usize,
        res: Result<Shape, RasterizeError>,
        skip: bool,
    ) -> Result<(), RasterizeError> {
        match res {
            Ok(mut s) => {
                s.feature = Some(feature);
                self.shapes.push(s);
                Ok(())
            }
            Err(e) if skip => {
                self.skipped.push(Skipped { feature, reason: e });
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// Reads GeoJSON: a FeatureCollection (values from `value_property`), a single Feature, a
/// bare geometry, or a JSON array of features/geometries.
///
/// ```
/// use geochip::rasterize::{read_geojson, ReadOptions, BurnValue};
/// let doc = r#"{"type": "FeatureCollection", "features": [
///   {"type": "Feature", "properties": {"id": 7},
///    "geometry": {"type": "Point", "coordinates": [1.5, 2.5]}},
///   {"type": "Feature", "properties": {"id": 8},
///    "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}},
///   {"type": "Feature", "properties": {"id": 9},
///    "geometry": {"type": "Curve", "coordinates": []}}]}"#;
/// let opts = ReadOptions { value_property: Some("id".into()), ..Default::default() };
/// let read = read_geojson(doc, &opts)?;
/// assert_eq!(read.shapes.len(), 1);
/// assert_eq!(read.shapes[0].value, BurnValue::Int(7));
/// assert_eq!(read.skipped[0].to_string(),
///            "skipped feature 1: feature 1: ring 0 has 3 points (a closed ring needs at least 4)");
/// assert_eq!(read.skipped[1].feature, 2);
/// assert!(read_geojson("{not json", &opts).is_err());
/// # Ok::<(), geochip::rasterize::RasterizeError>(())
/// ```
pub fn read_geojson(text: &str, opts: &ReadOptions) -> Result<ReadShapes, RasterizeError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| RasterizeError::GeoJson {
        message: e.to_string(),
    })?;
    let mut out = ReadShapes::default();
    let items: Vec<&Value> = match &doc {
        Value::Array(items) => items.iter().collect(),
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("FeatureCollection") => match o.get("features") {
                Some(Value::Array(f)) => f.iter().collect(),
                _ => {
                    return Err(RasterizeError::GeoJson {
                        message: "FeatureCollection without a 'features' array".into(),
                    });
                }
            },
            Some(_) => vec![&doc],
            None => {
                return Err(RasterizeError::GeoJson {
                    message: "object without a 'type' member".into(),
                });
            }
        },
        _ => {
            return Err(RasterizeError::GeoJson {
                message: "expected a GeoJSON object or array".into(),
            });
        }
    };
    for (i, item) in items.into_iter().enumerate() {
        let res = feature_shape(i, item, opts);
        out.push(i, res, opts.skip_invalid)?;
    }
    Ok(out)
}

fn feature_shape(i: usize, item: &Value, opts: &ReadOptions) -> Result<Shape, RasterizeError> {
    let is_feature = item.get("type").and_then(Value::as_str) == Some("Feature");
    let (geom, props) = if is_feature {
        (
            item.get("geometry").unwrap_or(&Value::Null),
            item.get("properties"),
        )
    } else {
        (item, None)
    };
    let value = match (&opts.value_property, is_feature) {
        (Some(p), true) => value_of(i, p, props.and_then(|pr| pr.get(p)))?,
        _ => opts.default_value,
    };
    let geometry = json_geometry(i, geom)?;
    Ok(Shape {
        geometry,
        value,
        feature: Some(i),
    })
}

fn value_of(i: usize, prop: &str, v: Option<&Value>) -> Result<BurnValue, RasterizeError> {
    match v {
        None | Some(Value::Null) => Err(RasterizeError::MissingValue {
            feature: i,
            property: prop.to_owned(),
        }),
        Some(Value::Number(n)) => Ok(if let Some(v) = n.as_i64() {
            BurnValue::Int(v)
        } else if let Some(v) = n.as_u64() {
            BurnValue::UInt(v)
        } else {
            BurnValue::Float(n.as_f64().unwrap_or(f64::NAN))
        }),
        Some(other) => Err(RasterizeError::BadValue {
            feature: i,
            property: prop.to_owned(),
            value: other.to_string(),
        }),
    }
}

const TYPES: [&str; 7] = [
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
];

fn json_geometry(i: usize, v: &Value) -> Result<Geometry<f64>, RasterizeError> {
    let kind = v.get("type").and_then(Value::as_str);
    match kind {
        Some(k) if TYPES.contains(&k) => {}
        Some(k) => {
            return Err(RasterizeError::UnknownGeometryType {
                feature: i,
                kind: k.to_owned(),
            });
        }
        None => {
            return Err(RasterizeError::UnknownGeometryType {
                feature: i,
                kind: if v.is_null() {
                    "null".into()
                } else {
                    "(no type)".into()
                },
            });
        }
    }
    let g: geojson::Geometry =
        serde_json::from_value(v.clone()).map_err(|e| RasterizeError::InvalidGeometry {
            feature: i,
            message: e.to_string(),
        })?;
    convert_geojson(i, &g.value)
}

fn pos(i: usize, p: &geojson::Position) -> Result<Coord<f64>, RasterizeError> {
    match p.as_slice() {
        [x, y, ..] => Ok(Coord { x: *x, y: *y }),
        other => Err(RasterizeError::InvalidGeometry {
            feature: i,
            message: format!("a position needs 2 numbers, got {}", other.len()),
        }),
    }
}

fn coords(i: usize, ps: &[geojson::Position]) -> Result<Vec<Coord<f64>>, RasterizeError> {
    ps.iter().map(|p| pos(i, p)).collect()
}

fn polygon(i: usize, rings: &[Vec<geojson::Position>]) -> Result<Polygon<f64>, RasterizeError> {
    let mut rs = Vec::with_capacity(rings.len());
    for (k, r) in rings.iter().enumerate() {
        let c = coords(i, r)?;
        check_ring(i, k, &c)?;
        rs.push(LineString(c));
    }
    polygon_from_rings(i, rs)
}

fn polygon_from_rings(
    i: usize,
    mut rs: Vec<LineString<f64>>,
) -> Result<Polygon<f64>, RasterizeError> {
    if rs.is_empty() {
        return Err(RasterizeError::EmptyGeometry {
            feature: i,
            kind: "Polygon",
        });
    }
    let ext = rs.remove(0);
    Ok(Polygon::new(ext, rs))
}

fn convert_geojson(i: usize, v: &GeometryValue) -> Result<Geometry<f64>, RasterizeError> {
    Ok(match v {
        GeometryValue::Point { coordinates } => Point(pos(i, coordinates)?).into(),
        GeometryValue::MultiPoint { coordinates } => {
            MultiPoint(coords(i, coordinates)?.into_iter().map(Point).collect()).into()
        }
        GeometryValue::LineString { coordinates } => LineString(coords(i, coordinates)?).into(),
        GeometryValue::MultiLineString { coordinates } => MultiLineString(
            coordinates
                .iter()
                .map(|l| coords(i, l).map(LineString))
                .collect::<Result<_, _>>()?,
        )
        .into(),
        GeometryValue::Polygon { coordinates } => polygon(i, coordinates)?.into(),
        GeometryValue::MultiPolygon { coordinates } => MultiPolygon(
            coordinates
                .iter()
                .map(|p| polygon(i, p))
                .collect::<Result<_, _>>()?,
        )
        .into(),
        GeometryValue::GeometryCollection { geometries } => {
            Geometry::GeometryCollection(GeometryCollection(
                geometries
                    .iter()
                    .map(|g| convert_geojson(i, &g.value))
                    .collect::<Result<_, _>>()?,
            ))
        }
    })
}

/// Reads WKT: one geometry per non-empty line (lines starting with `#` are comments); the
/// feature index is the 0-based geometry number. Every shape burns `default_value`.
///
/// ```
/// use geochip::rasterize::{read_wkt, ReadOptions};
/// let text = "POLYGON((0 0, 4 0, 4 4, 0 4, 0 0))\nPOLYGON((0 0, 1 0, 1 1, 0 1))\nLINESTRING(0 0, 1 1)\nPOINT(1";
/// let read = read_wkt(text, &ReadOptions::default())?;
/// assert_eq!(read.shapes.len(), 2);
/// assert_eq!(read.skipped[0].to_string(),
///            "skipped feature 1: feature 1: ring 0 is not closed (last point differs from the first)");
/// assert_eq!(read.skipped[1].feature, 3);
/// # Ok::<(), geochip::rasterize::RasterizeError>(())
/// ```
pub fn read_wkt(text: &str, opts: &ReadOptions) -> Result<ReadShapes, RasterizeError> {
    let mut out = ReadShapes::default();
    let lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    for (i, line) in lines.enumerate() {
        let res = line
            .parse::<wkt::Wkt<f64>>()
            .map_err(|e| RasterizeError::Wkt {
                feature: i,
                message: e.to_string(),
            })
            .and_then(|w| convert_wkt(i, &w))
            .map(|geometry| Shape {
                geometry,
                value: opts.default_value,
                feature: Some(i),
            });
        out.push(i, res, opts.skip_invalid)?;
    }
    Ok(out)
}

fn wkt_coords(c: &[wkt::types::Coord<f64>]) -> Vec<Coord<f64>> {
    c.iter().map(|c| Coord { x: c.x, y: c.y }).collect()
}

fn wkt_polygon(i: usize, p: &wkt::types::Polygon<f64>) -> Result<Polygon<f64>, RasterizeError> {
    let mut rs = Vec::new();
    for (k, r) in p.rings().iter().enumerate() {
        let c = wkt_coords(r.coords());
        check_ring(i, k, &c)?;
        rs.push(LineString(c));
    }
    polygon_from_rings(i, rs)
}

fn convert_wkt(i: usize, w: &wkt::Wkt<f64>) -> Result<Geometry<f64>, RasterizeError> {
    let empty = |kind| RasterizeError::EmptyGeometry { feature: i, kind };
    Ok(match w {
        wkt::Wkt::Point(p) => {
            let c = p.coord().ok_or_else(|| empty("Point"))?;
            Point::new(c.x, c.y).into()
        }
        wkt::Wkt::LineString(l) => LineString(wkt_coords(l.coords())).into(),
        wkt::Wkt::Polygon(p) => wkt_polygon(i, p)?.into(),
        wkt::Wkt::MultiPoint(mp) => MultiPoint(
            mp.points()
                .iter()
                .map(|p| {
                    p.coord()
                        .map(|c| Point::new(c.x, c.y))
                        .ok_or_else(|| empty("Point"))
                })
                .collect::<Result<_, _>>()?,
        )
        .into(),
        wkt::Wkt::MultiLineString(ml) => MultiLineString(
            ml.line_strings()
                .iter()
                .map(|l| LineString(wkt_coords(l.coords())))
                .collect(),
        )
        .into(),
        wkt::Wkt::MultiPolygon(mp) => MultiPolygon(
            mp.polygons()
                .iter()
                .map(|p| wkt_polygon(i, p))
                .collect::<Result<_, _>>()?,
        )
        .into(),
        wkt::Wkt::GeometryCollection(gc) => Geometry::GeometryCollection(GeometryCollection(
            gc.geometries()
                .iter()
                .map(|g| convert_wkt(i, g))
                .collect::<Result<_, _>>()?,
        )),
    })
}
