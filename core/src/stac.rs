//! STAC metadata: Items, ItemCollections / FeatureCollections and static-catalog links, with
//! the projection (`proj:`), raster (`raster:bands`) and electro-optical (`eo:bands`)
//! extension fields that stacking needs.
//!
//! These are plain serde structs rather than the `stac` crate: `stac` 0.17 (even with default
//! features off) depends on `chrono` with its `wasmbind`/`clock` features and on `cql2`
//! (`pest` → `psm` → `cc`), i.e. on `wasm-bindgen`, `js-sys`, `cc` and `*-sys` crates, which
//! the core's dependency boundary (`cargo xtask boundary`) forbids. Asset order is kept as in
//! the document (odc-stac and stackstac both depend on it).
//!
//! ```
//! let json = r#"{"type": "Feature", "id": "a", "bbox": [0, 0, 1, 1],
//!   "properties": {"datetime": "2024-01-05T00:10:00Z", "proj:code": "EPSG:32755"},
//!   "assets": {"B02": {"href": "b02.tif", "proj:shape": [64, 64],
//!                      "proj:transform": [10, 0, 767920, 0, -10, 6090010]}}}"#;
//! let items = geochip::stac::parse_items(json).unwrap();
//! let p = items[0].projection("B02").unwrap();
//! assert_eq!(p.crs, Some(geochip::Crs::Epsg(32755)));
//! assert_eq!(p.shape, Some((64, 64)));
//! ```

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::crs::Crs;
use crate::transform::GeoTransform;

/// Errors from reading STAC JSON.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StacError {
    /// Not JSON, or JSON that is not a STAC Item / FeatureCollection / Catalog / Collection.
    #[error("stac: {what}")]
    Parse {
        /// What went wrong.
        what: String,
    },
    /// An item without the requested asset.
    #[error("stac: item '{item}' has no asset '{asset}'")]
    MissingAsset {
        /// Item id.
        item: String,
        /// Asset key.
        asset: String,
    },
    /// A projection-extension field of the wrong shape or type.
    #[error("stac: item '{item}' asset '{asset}': bad {field}: {why}")]
    BadField {
        /// Item id.
        item: String,
        /// Asset key (empty for item-level fields).
        asset: String,
        /// The field, e.g. `proj:transform`.
        field: &'static str,
        /// Why it was rejected.
        why: String,
    },
    /// A `datetime` that is not RFC 3339.
    #[error("stac: item '{item}': datetime '{text}' is not an RFC 3339 timestamp")]
    BadDatetime {
        /// Item id.
        item: String,
        /// The text.
        text: String,
    },
}

/// A STAC Asset: `href`, media `type`, `roles`, and every other field (extensions) verbatim.
///
/// ```
/// let a: geochip::stac::Asset = serde_json::from_str(r#"{"href": "x.tif", "gsd": 10}"#).unwrap();
/// assert_eq!(a.fields["gsd"], 10);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    /// Location of the file.
    pub href: String,
    /// Media type, e.g. `image/tiff; application=geotiff; profile=cloud-optimized`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Roles, e.g. `data`, `thumbnail`, `overview`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// All other fields (projection, raster, eo, …).
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// Assets in document order (a JSON object read as an ordered list of `(key, asset)`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Assets(pub Vec<(String, Asset)>);

impl<'de> Deserialize<'de> for Assets {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Assets;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of assets")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Assets, M::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Asset>()? {
                    out.push((k, v));
                }
                Ok(Assets(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A STAC Item (GeoJSON Feature).
///
/// ```
/// let item: geochip::stac::Item = serde_json::from_str(
///     r#"{"type": "Feature", "id": "x", "properties": {}, "assets": {"b": {"href": "b.tif"}, "a": {"href": "a.tif"}}}"#,
/// ).unwrap();
/// assert_eq!(item.asset_keys(), vec!["b", "a"]);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Item {
    /// Item id.
    pub id: String,
    /// Lon/lat bounding box `[west, south, east, north]` (2-D) or 3-D with elevations.
    #[serde(default)]
    pub bbox: Option<Vec<f64>>,
    /// GeoJSON geometry in lon/lat.
    #[serde(default)]
    pub geometry: Option<Value>,
    /// Item properties (`datetime`, `proj:*`, …).
    #[serde(default)]
    pub properties: Map<String, Value>,
    /// Assets in document order.
    #[serde(default)]
    pub assets: Assets,
    /// Collection id.
    #[serde(default)]
    pub collection: Option<String>,
    /// Declared extension schema URLs.
    #[serde(default)]
    pub stac_extensions: Vec<String>,
}

/// Projection-extension metadata of one asset, asset fields over item fields.
///
/// ```
/// let p = geochip::stac::AssetProjection::default();
/// assert!(p.crs.is_none() && p.transform.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AssetProjection {
    /// CRS from `proj:code`, else `proj:epsg`, else `proj:wkt2`, else `proj:projjson`.
    pub crs: Option<Crs>,
    /// `proj:transform` (first 6 coefficients, rasterio order).
    pub transform: Option<GeoTransform>,
    /// `proj:shape` as `(rows, cols)`.
    pub shape: Option<(usize, usize)>,
    /// `proj:bbox` in the asset's CRS (2-D part).
    pub bbox: Option<[f64; 4]>,
}

/// One `raster:bands` entry.
///
/// ```
/// let b: geochip::stac::RasterBand = serde_json::from_str(r#"{"nodata": "nan", "scale": 0.0001}"#).unwrap();
/// assert!(b.nodata.unwrap().is_nan());
/// assert_eq!(b.offset, None);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
pub struct RasterBand {
    /// Nodata value (`"nan"`, `"inf"`, `"-inf"` accepted).
    #[serde(default, deserialize_with = "de_nodata")]
    pub nodata: Option<f64>,
    /// Data type name, e.g. `uint16`.
    #[serde(default)]
    pub data_type: Option<String>,
    /// Scale (value = raw · scale + offset).
    #[serde(default)]
    pub scale: Option<f64>,
    /// Offset.
    #[serde(default)]
    pub offset: Option<f64>,
    /// Unit.
    #[serde(default)]
    pub unit: Option<String>,
}

fn de_nodata<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "nan" => Some(f64::NAN),
            "inf" | "+inf" => Some(f64::INFINITY),
            "-inf" => Some(f64::NEG_INFINITY),
            other => other.parse().ok(),
        },
        _ => None,
    })
}

/// One `eo:bands` entry.
///
/// ```
/// let b: geochip::stac::EoBand = serde_json::from_str(r#"{"name": "B04", "common_name": "red"}"#).unwrap();
/// assert_eq!(b.common_name.as_deref(), Some("red"));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
pub struct EoBand {
    /// Band name.
    #[serde(default)]
    pub name: Option<String>,
    /// Common name (`red`, `nir`, …): an alias for the asset.
    #[serde(default)]
    pub common_name: Option<String>,
    /// Centre wavelength (µm).
    #[serde(default)]
    pub center_wavelength: Option<f64>,
    /// Full width at half maximum (µm).
    #[serde(default)]
    pub full_width_half_max: Option<f64>,
}

/// A parsed STAC document.
///
/// ```
/// use geochip::stac::{parse_document, StacDocument};
/// let cat = r#"{"type": "Catalog", "id": "c", "links": [{"rel": "item", "href": "./a/a.json"}]}"#;
/// match parse_document(cat).unwrap() {
///     StacDocument::Catalog { item_hrefs, .. } => assert_eq!(item_hrefs, vec!["./a/a.json"]),
///     _ => unreachable!(),
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StacDocument {
    /// One Item or an ItemCollection / FeatureCollection.
    Items(Vec<Item>),
    /// A Catalog or Collection: the hrefs of its `item` and `child` links (relative hrefs are
    /// resolved by the caller, which owns the I/O).
    Catalog {
        /// Catalog id.
        id: String,
        /// `rel: item` hrefs.
        item_hrefs: Vec<String>,
        /// `rel: child` hrefs.
        child_hrefs: Vec<String>,
    },
}

/// Parses a STAC Item, ItemCollection / FeatureCollection, Catalog or Collection.
///
/// ```
/// assert!(geochip::stac::parse_document("[1, 2]").is_err());
/// ```
pub fn parse_document(json: &str) -> Result<StacDocument, StacError> {
    let value: Value = serde_json::from_str(json).map_err(|e| StacError::Parse {
        what: format!("not JSON: {e}"),
    })?;
    let ty = value.get("type").and_then(Value::as_str).unwrap_or("");
    // Items are deserialized from the text itself (not from `value`, whose objects are
    // sorted maps) so that asset order is the document's.
    match ty {
        "Feature" => {
            let item = serde_json::from_str::<Item>(json).map_err(|e| StacError::Parse {
                what: format!("item '{}': {e}", id_of(&value)),
            })?;
            Ok(StacDocument::Items(vec![item]))
        }
        "FeatureCollection" => {
            if !matches!(value.get("features"), Some(Value::Array(_))) {
                return Err(StacError::Parse {
                    what: "FeatureCollection without a 'features' array".into(),
                });
            }
            #[derive(Deserialize)]
            struct Features {
                features: Vec<Item>,
            }
            match serde_json::from_str::<Features>(json) {
                Ok(f) => Ok(StacDocument::Items(f.features)),
                Err(e) => {
                    // Name the first feature that does not parse.
                    let bad = value
                        .get("features")
                        .and_then(Value::as_array)
                        .and_then(|fs| {
                            fs.iter()
                                .find(|f| serde_json::from_value::<Item>((*f).clone()).is_err())
                        })
                        .map(id_of)
                        .unwrap_or_else(|| "?".into());
                    Err(StacError::Parse {
                        what: format!("item '{bad}': {e}"),
                    })
                }
            }
        }
        "Catalog" | "Collection" => {
            let links = value
                .get("links")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let hrefs = |rel: &str| -> Vec<String> {
                links
                    .iter()
                    .filter(|l| l.get("rel").and_then(Value::as_str) == Some(rel))
                    .filter_map(|l| l.get("href").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            };
            Ok(StacDocument::Catalog {
                id: value
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                item_hrefs: hrefs("item"),
                child_hrefs: hrefs("child"),
            })
        }
        other => Err(StacError::Parse {
            what: format!(
                "type '{other}' is not a STAC Feature, FeatureCollection, Catalog or Collection"
            ),
        }),
    }
}

fn id_of(value: &Value) -> String {
    value
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("<no id>")
        .to_owned()
}

/// Parses a document that holds items (an Item or an ItemCollection / FeatureCollection).
///
/// ```
/// let fc = r#"{"type": "FeatureCollection", "features": [
///   {"type": "Feature", "id": "a", "properties": {}, "assets": {}}]}"#;
/// assert_eq!(geochip::stac::parse_items(fc).unwrap()[0].id, "a");
/// assert!(geochip::stac::parse_items(r#"{"type": "Catalog", "id": "c"}"#).is_err());
/// ```
pub fn parse_items(json: &str) -> Result<Vec<Item>, StacError> {
    match parse_document(json)? {
        StacDocument::Items(items) => Ok(items),
        StacDocument::Catalog { id, .. } => Err(StacError::Parse {
            what: format!("'{id}' is a Catalog/Collection: resolve its item links first"),
        }),
    }
}

impl Item {
    /// Asset keys in document order.
    ///
    /// ```
    /// let item: geochip::stac::Item = serde_json::from_str(r#"{"id": "x", "assets": {"z": {"href": "z"}}}"#).unwrap();
    /// assert_eq!(item.asset_keys(), vec!["z"]);
    /// ```
    pub fn asset_keys(&self) -> Vec<&str> {
        self.assets.0.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// The asset with this key.
    ///
    /// ```
    /// let item: geochip::stac::Item = serde_json::from_str(r#"{"id": "x", "assets": {"z": {"href": "z.tif"}}}"#).unwrap();
    /// assert_eq!(item.asset("z").unwrap().href, "z.tif");
    /// assert!(item.asset("q").is_err());
    /// ```
    pub fn asset(&self, key: &str) -> Result<&Asset, StacError> {
        self.assets
            .0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, a)| a)
            .ok_or_else(|| StacError::MissingAsset {
                item: self.id.clone(),
                asset: key.to_owned(),
            })
    }

    /// `properties.datetime`, else `start_datetime`, else `end_datetime` (odc-stac's
    /// nominal datetime), as given.
    ///
    /// ```
    /// let item: geochip::stac::Item = serde_json::from_str(
    ///     r#"{"id": "x", "properties": {"datetime": null, "start_datetime": "2020-01-01T00:00:00Z"}}"#).unwrap();
    /// assert_eq!(item.nominal_datetime(), Some("2020-01-01T00:00:00Z"));
    /// ```
    pub fn nominal_datetime(&self) -> Option<&str> {
        ["datetime", "start_datetime", "end_datetime"]
            .iter()
            .find_map(|k| self.properties.get(*k).and_then(Value::as_str))
    }

    /// The lon/lat bbox as `[west, south, east, north]` (the 2-D part of a 3-D bbox).
    ///
    /// ```
    /// let item: geochip::stac::Item = serde_json::from_str(r#"{"id": "x", "bbox": [1, 2, 0, 3, 4, 9]}"#).unwrap();
    /// assert_eq!(item.bbox2d(), Some([1.0, 2.0, 3.0, 4.0]));
    /// ```
    pub fn bbox2d(&self) -> Option<[f64; 4]> {
        match self.bbox.as_deref()? {
            [a, b, c, d] => Some([*a, *b, *c, *d]),
            [a, b, _, d, e, _] => Some([*a, *b, *d, *e]),
            _ => None,
        }
    }

    fn field<'a>(&'a self, asset: Option<&'a Asset>, name: &str) -> Option<&'a Value> {
        asset
            .and_then(|a| a.fields.get(name))
            .filter(|v| !v.is_null())
            .or_else(|| self.properties.get(name).filter(|v| !v.is_null()))
    }

    /// Projection metadata of an asset: each field from the asset, else from the item
    /// properties. CRS: `proj:code` (or legacy `proj:epsg`) at asset then item level, then
    /// `proj:wkt2`, then `proj:projjson` (pystac's `crs_string` order, which odc-stac uses).
    ///
    /// ```
    /// let item: geochip::stac::Item = serde_json::from_str(r#"{"id": "x",
    ///   "properties": {"proj:epsg": 32628, "proj:shape": [2, 3]},
    ///   "assets": {"a": {"href": "a", "proj:transform": [10, 0, 0, 0, -10, 20, 0, 0, 1]}}}"#).unwrap();
    /// let p = item.projection("a").unwrap();
    /// assert_eq!(p.crs, Some(geochip::Crs::Epsg(32628)));
    /// assert_eq!(p.shape, Some((2, 3)));
    /// assert_eq!(p.transform.unwrap().to_affine(), [10.0, 0.0, 0.0, 0.0, -10.0, 20.0]);
    /// ```
    pub fn projection(&self, asset_key: &str) -> Result<AssetProjection, StacError> {
        let asset = self.asset(asset_key)?;
        let bad = |field: &'static str, why: String| StacError::BadField {
            item: self.id.clone(),
            asset: asset_key.to_owned(),
            field,
            why,
        };
        let mut crs = None;
        for level in [Some(asset), None] {
            let get = |name: &str| match level {
                Some(a) => a.fields.get(name).filter(|v| !v.is_null()),
                None => self.properties.get(name).filter(|v| !v.is_null()),
            };
            if let Some(v) = get("proj:code") {
                let text = v
                    .as_str()
                    .ok_or_else(|| bad("proj:code", format!("{v} is not a string")))?;
                crs = Some(
                    text.parse::<Crs>()
                        .map_err(|e| bad("proj:code", e.to_string()))?,
                );
                break;
            }
            if let Some(v) = get("proj:epsg") {
                let code = v
                    .as_u64()
                    .and_then(|c| u32::try_from(c).ok())
                    .filter(|c| *c > 0)
                    .ok_or_else(|| bad("proj:epsg", format!("{v} is not a positive integer")))?;
                crs = Some(Crs::Epsg(code));
                break;
            }
        }
        if crs.is_none() {
            if let Some(v) = self.field(Some(asset), "proj:wkt2") {
                let text = v
                    .as_str()
                    .ok_or_else(|| bad("proj:wkt2", format!("{v} is not a string")))?;
                crs = Some(Crs::Wkt(text.to_owned()));
            } else if let Some(v) = self.field(Some(asset), "proj:projjson") {
                crs = Some(Crs::ProjJson(v.to_string()));
            }
        }
        let transform = match self.field(Some(asset), "proj:transform") {
            None => None,
            Some(v) => {
                let c = numbers(v).ok_or_else(|| bad("proj:transform", "not numbers".into()))?;
                match c.as_slice() {
                    [a, b, cc, d, e, f] | [a, b, cc, d, e, f, _, _, _] => {
                        if c.len() == 9 && (c[6] != 0.0 || c[7] != 0.0 || c[8] != 1.0) {
                            return Err(bad(
                                "proj:transform",
                                "the last row of a 9-value transform must be 0, 0, 1".into(),
                            ));
                        }
                        Some(GeoTransform::new(*a, *b, *cc, *d, *e, *f))
                    }
                    _ => {
                        return Err(bad(
                            "proj:transform",
                            format!("{} values, expected 6 or 9", c.len()),
                        ));
                    }
                }
            }
        };
        let shape = match self.field(Some(asset), "proj:shape") {
            None => None,
            Some(v) => match v.as_array().map(Vec::as_slice) {
                Some([r, c]) => match (r.as_u64(), c.as_u64()) {
                    (Some(r), Some(c)) => Some((r as usize, c as usize)),
                    _ => return Err(bad("proj:shape", format!("{v} is not two integers"))),
                },
                _ => return Err(bad("proj:shape", format!("{v} is not [rows, cols]"))),
            },
        };
        let bbox = match self.field(Some(asset), "proj:bbox") {
            None => None,
            Some(v) => {
                let b = numbers(v).ok_or_else(|| bad("proj:bbox", "not numbers".into()))?;
                match b.as_slice() {
                    [a, bb, c, d] => Some([*a, *bb, *c, *d]),
                    [a, bb, _, d, e, _] => Some([*a, *bb, *d, *e]),
                    _ => return Err(bad("proj:bbox", format!("{} values", b.len()))),
                }
            }
        };
        Ok(AssetProjection {
            crs,
            transform,
            shape,
            bbox,
        })
    }

    /// `raster:bands` of an asset (empty when absent).
    ///
    /// ```
    /// let item: geochip::stac::Item = serde_json::from_str(r#"{"id": "x", "assets": {"a": {"href": "a",
    ///   "raster:bands": [{"nodata": 0, "data_type": "uint16", "scale": 0.0001, "offset": -0.1}]}}}"#).unwrap();
    /// let b = &item.raster_bands("a").unwrap()[0];
    /// assert_eq!((b.nodata, b.data_type.as_deref(), b.offset), (Some(0.0), Some("uint16"), Some(-0.1)));
    /// ```
    pub fn raster_bands(&self, asset_key: &str) -> Result<Vec<RasterBand>, StacError> {
        self.band_list(asset_key, "raster:bands")
    }

    /// `eo:bands` of an asset (empty when absent).
    ///
    /// ```
    /// let item: geochip::stac::Item = serde_json::from_str(r#"{"id": "x", "assets": {"a": {"href": "a",
    ///   "eo:bands": [{"name": "B04", "common_name": "red"}]}}}"#).unwrap();
    /// assert_eq!(item.eo_bands("a").unwrap()[0].common_name.as_deref(), Some("red"));
    /// ```
    pub fn eo_bands(&self, asset_key: &str) -> Result<Vec<EoBand>, StacError> {
        self.band_list(asset_key, "eo:bands")
    }

    fn band_list<T: serde::de::DeserializeOwned>(
        &self,
        asset_key: &str,
        field: &'static str,
    ) -> Result<Vec<T>, StacError> {
        let asset = self.asset(asset_key)?;
        match asset.fields.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| StacError::BadField {
                item: self.id.clone(),
                asset: asset_key.to_owned(),
                field,
                why: e.to_string(),
            }),
        }
    }

    /// The EPSG code stackstac 0.5.1 sees: `proj:epsg` of the asset if the key is present
    /// (even `null`), else of the item. `proj:code`, WKT2 and PROJJSON are not read.
    ///
    /// ```
    /// let item: geochip::stac::Item = serde_json::from_str(r#"{"id": "x",
    ///   "properties": {"proj:code": "EPSG:32755"}, "assets": {"a": {"href": "a"}}}"#).unwrap();
    /// assert_eq!(item.stackstac_epsg("a").unwrap(), None);
    /// ```
    pub fn stackstac_epsg(&self, asset_key: &str) -> Result<Option<u32>, StacError> {
        let asset = self.asset(asset_key)?;
        let v = match asset.fields.get("proj:epsg") {
            Some(v) => v,
            None => match self.properties.get("proj:epsg") {
                Some(v) => v,
                None => return Ok(None),
            },
        };
        if v.is_null() {
            return Ok(None);
        }
        v.as_u64()
            .and_then(|c| u32::try_from(c).ok())
            .map(Some)
            .ok_or_else(|| StacError::BadField {
                item: self.id.clone(),
                asset: asset_key.to_owned(),
                field: "proj:epsg",
                why: format!("{v} is not an integer"),
            })
    }
}

fn numbers(v: &Value) -> Option<Vec<f64>> {
    v.as_array()?.iter().map(Value::as_f64).collect()
}

/// A UTC timestamp parsed from RFC 3339 text, kept as nanoseconds since 1970-01-01.
///
/// ```
/// let t = geochip::stac::Timestamp::parse("2024-01-05T10:10:00+10:00").unwrap();
/// assert_eq!(t.to_numpy_string(), "2024-01-05T00:10:00.000000000");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i128);

impl Timestamp {
    /// Parses `YYYY-MM-DD[Tt ]HH:MM:SS[.fraction](Z|±HH:MM)` (a missing zone means UTC).
    ///
    /// ```
    /// assert!(geochip::stac::Timestamp::parse("yesterday").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let b = t.as_bytes();
        let num = |s: &str| -> Option<i64> {
            if s.bytes().all(|c| c.is_ascii_digit()) && !s.is_empty() {
                s.parse().ok()
            } else {
                None
            }
        };
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let (year, month, day) = (num(&t[0..4])?, num(&t[5..7])?, num(&t[8..10])?);
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return None;
        }
        let mut secs = days_from_civil(year, month, day) * 86400;
        let mut nanos: i128 = 0;
        if b.len() > 10 {
            if !matches!(b[10], b'T' | b't' | b' ')
                || b.len() < 19
                || b[13] != b':'
                || b[16] != b':'
            {
                return None;
            }
            let (h, m, s) = (num(&t[11..13])?, num(&t[14..16])?, num(&t[17..19])?);
            if h > 23 || m > 59 || s > 60 {
                return None;
            }
            secs += h * 3600 + m * 60 + s;
            let mut rest = &t[19..];
            if let Some(frac) = rest.strip_prefix('.') {
                let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    return None;
                }
                let mut ns: i128 = 0;
                for (i, c) in frac[..digits].bytes().enumerate() {
                    if i < 9 {
                        ns = ns * 10 + i128::from(c - b'0');
                    }
                }
                for _ in digits..9 {
                    ns *= 10;
                }
                nanos = ns;
                rest = &frac[digits..];
            }
            match rest {
                "" | "Z" | "z" => {}
                zone => {
                    let sign = match zone.as_bytes().first() {
                        Some(b'+') => 1,
                        Some(b'-') => -1,
                        _ => return None,
                    };
                    let z = &zone[1..];
                    let (zh, zm) = match z.len() {
                        5 if z.as_bytes()[2] == b':' => (num(&z[0..2])?, num(&z[3..5])?),
                        4 => (num(&z[0..2])?, num(&z[2..4])?),
                        2 => (num(z)?, 0),
                        _ => return None,
                    };
                    secs -= sign * (zh * 3600 + zm * 60);
                }
            }
        }
        Some(Self(i128::from(secs) * 1_000_000_000 + nanos))
    }

    /// numpy's `datetime64[ns]` text: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn` (UTC, no zone).
    ///
    /// ```
    /// let t = geochip::stac::Timestamp::parse("2019-06-29T21:25:29.024Z").unwrap();
    /// assert_eq!(t.to_numpy_string(), "2019-06-29T21:25:29.024000000");
    /// ```
    pub fn to_numpy_string(&self) -> String {
        let secs = self.0.div_euclid(1_000_000_000);
        let ns = self.0.rem_euclid(1_000_000_000);
        let days = secs.div_euclid(86400);
        let sod = secs.rem_euclid(86400);
        let (y, m, d) = civil_from_days(days as i64);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ns:09}",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )
    }

    /// The UTC calendar date `(year, month, day)` after adding `offset_seconds`.
    ///
    /// ```
    /// let t = geochip::stac::Timestamp::parse("2024-01-05T23:10:00Z").unwrap();
    /// assert_eq!(t.date_with_offset(3600), (2024, 1, 6));
    /// ```
    pub fn date_with_offset(&self, offset_seconds: i64) -> (i64, i64, i64) {
        let secs = self.0.div_euclid(1_000_000_000) + i128::from(offset_seconds);
        civil_from_days(secs.div_euclid(86400) as i64)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 60, 10_957, 19_727, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn asset_level_crs_wins_and_wkt_is_last() {
        let item: Item = serde_json::from_str(
            r#"{"id": "x", "properties": {"proj:code": "EPSG:32755", "proj:wkt2": "GEOGCRS[\"x\"]"},
                "assets": {"a": {"href": "a", "proj:epsg": 32756}, "b": {"href": "b"}}}"#,
        )
        .unwrap();
        assert_eq!(item.projection("a").unwrap().crs, Some(Crs::Epsg(32756)));
        assert_eq!(item.projection("b").unwrap().crs, Some(Crs::Epsg(32755)));
        assert!(matches!(
            item.projection("c"),
            Err(StacError::MissingAsset { .. })
        ));
    }
}
