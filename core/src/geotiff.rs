//! GeoTIFF metadata: the grid (transform, shape, CRS), bands, dtype, nodata and layout of a
//! GeoTIFF or COG, read with the pure-Rust `tiff` crate from bytes the caller supplies.
//!
//! Georeferencing follows GDAL's GeoTIFF driver: `ModelTransformationTag` when present,
//! otherwise `ModelPixelScaleTag` + `ModelTiepointTag`; a `PixelIsPoint` raster is shifted by
//! half a pixel to GDAL's area convention; the CRS is the EPSG code of
//! `ProjectedCSTypeGeoKey` or `GeographicTypeGeoKey`.

use std::io::{Cursor, Read, Seek};

use serde::Serialize;
use tiff::decoder::Decoder;
use tiff::tags::Tag;

use crate::array::DType;
use crate::crs::Crs;
use crate::grid::{Grid, GridError};
use crate::transform::GeoTransform;

/// Errors from reading GeoTIFF metadata. Each names the input it came from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GeoTiffError {
    /// The bytes are not a readable TIFF (truncated, corrupt, not a TIFF at all).
    #[error("{input}: not a readable TIFF: {reason}")]
    Decode {
        /// Name of the input (file name or URL).
        input: String,
        /// What the TIFF decoder reported.
        reason: String,
    },
    /// A TIFF whose sample layout geochip does not read.
    #[error("{input}: unsupported TIFF: {what}")]
    Unsupported {
        /// Name of the input.
        input: String,
        /// What is unsupported.
        what: String,
    },
    /// Georeferencing tags that describe no valid grid.
    #[error("{input}: invalid georeferencing: {source}")]
    Grid {
        /// Name of the input.
        input: String,
        /// The grid problem.
        source: GridError,
    },
    /// A malformed GeoKey directory or model tag.
    #[error("{input}: malformed GeoTIFF tag {tag}: {reason}")]
    BadTag {
        /// Name of the input.
        input: String,
        /// The tag's name.
        tag: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// What a GeoTIFF says about itself, without decoding any pixels.
///
/// ```no_run
/// let bytes = std::fs::read("cookbooks/data/RGB.byte.tif").unwrap();
/// let info = geochip::geotiff::read_info("RGB.byte.tif", &bytes).unwrap();
/// assert_eq!(info.grid.shape(), (718, 791));
/// assert_eq!(info.bands, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeoTiffInfo {
    /// The grid: transform, shape and CRS.
    pub grid: Grid,
    /// False when the file has no georeferencing tags (the grid then has the identity transform).
    pub georeferenced: bool,
    /// Samples per pixel.
    pub bands: usize,
    /// Element type of each sample.
    pub dtype: DType,
    /// GDAL's nodata value, when set.
    pub nodata: Option<f64>,
    /// TIFF compression code (1 none, 5 LZW, 8 deflate, 32773 packbits, 50000 zstd, ...).
    pub compression: u16,
    /// `(width, height)` of a tile, or `(width, rows per strip)` for striped files.
    pub block: (u32, u32),
    /// True for tiled layout.
    pub tiled: bool,
    /// Number of reduced-resolution images (internal overviews) after the first image.
    pub overviews: usize,
    /// True when `GTRasterTypeGeoKey` is `PixelIsPoint` (the transform is already shifted).
    pub pixel_is_point: bool,
}

impl GeoTiffInfo {
    /// A JSON description: the grid's fields plus bands, dtype, nodata and layout.
    ///
    /// ```no_run
    /// let bytes = std::fs::read("cookbooks/data/RGB.byte.tif").unwrap();
    /// let v = geochip::geotiff::read_info("RGB.byte.tif", &bytes).unwrap().to_json();
    /// assert_eq!(v["crs"], "EPSG:32618");
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = self.grid.to_json();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("georeferenced".into(), self.georeferenced.into());
            obj.insert("count".into(), self.bands.into());
            obj.insert("dtype".into(), self.dtype.name().into());
            // JSON has no NaN/inf: write them as gdalinfo -json does, as strings.
            let nodata = match self.nodata {
                Some(v) if v.is_nan() => serde_json::json!("nan"),
                Some(v) if v.is_infinite() => {
                    serde_json::json!(if v > 0.0 { "inf" } else { "-inf" })
                }
                other => serde_json::json!(other),
            };
            obj.insert("nodata".into(), nodata);
            obj.insert(
                "compression".into(),
                compression_name(self.compression).into(),
            );
            obj.insert("tiled".into(), self.tiled.into());
            obj.insert("blockxsize".into(), self.block.0.into());
            obj.insert("blockysize".into(), self.block.1.into());
            obj.insert("overviews".into(), self.overviews.into());
        }
        v
    }
}

/// The name of a TIFF compression code, as rasterio's profile spells it.
///
/// ```
/// assert_eq!(geochip::geotiff::compression_name(8), "deflate");
/// ```
pub fn compression_name(code: u16) -> String {
    match code {
        1 => "none".into(),
        5 => "lzw".into(),
        7 => "jpeg".into(),
        8 | 32946 => "deflate".into(),
        32773 => "packbits".into(),
        50000 => "zstd".into(),
        other => format!("code {other}"),
    }
}

const GT_RASTER_TYPE: u16 = 1025;
const GEOGRAPHIC_TYPE: u16 = 2048;
const PROJECTED_CS_TYPE: u16 = 3072;
const USER_DEFINED: u16 = 32767;

/// Reads the metadata of the first image of a GeoTIFF held in memory.
///
/// `input` names the data in error messages (a file name or URL).
///
/// ```
/// let err = geochip::geotiff::read_info("junk.tif", b"not a tiff").unwrap_err();
/// assert!(err.to_string().starts_with("junk.tif: not a readable TIFF"));
/// ```
pub fn read_info(input: &str, bytes: &[u8]) -> Result<GeoTiffInfo, GeoTiffError> {
    let mut dec = Decoder::new(Cursor::new(bytes)).map_err(|e| decode_error(input, e))?;
    info_from_decoder(input, &mut dec)
}

/// The error for a TIFF the decoder cannot read.
pub(crate) fn decode_error(input: &str, e: tiff::TiffError) -> GeoTiffError {
    GeoTiffError::Decode {
        input: input.to_owned(),
        reason: e.to_string(),
    }
}

/// [`read_info`] over any seekable reader positioned by the decoder on its first image (the
/// COG reader passes a reader over the byte ranges fetched so far). Leaves the decoder on the
/// last image of the IFD chain.
pub(crate) fn info_from_decoder<R: Read + Seek>(
    input: &str,
    dec: &mut Decoder<R>,
) -> Result<GeoTiffInfo, GeoTiffError> {
    let decode = |e: tiff::TiffError| decode_error(input, e);
    let (width, height) = dec.dimensions().map_err(decode)?;

    let bands = dec
        .find_tag_unsigned::<u16>(Tag::SamplesPerPixel)
        .map_err(decode)?
        .unwrap_or(1);
    let bits = dec
        .find_tag_unsigned_vec::<u16>(Tag::BitsPerSample)
        .map_err(decode)?
        .unwrap_or_else(|| vec![1]);
    let format = dec
        .find_tag_unsigned_vec::<u16>(Tag::SampleFormat)
        .map_err(decode)?
        .unwrap_or_else(|| vec![1]);
    let dtype = sample_dtype(
        bits.first().copied().unwrap_or(1),
        format.first().copied().unwrap_or(1),
    )
    .ok_or_else(|| GeoTiffError::Unsupported {
        input: input.to_owned(),
        what: format!("samples of {bits:?} bits with SampleFormat {format:?}"),
    })?;
    let compression = dec
        .find_tag_unsigned::<u16>(Tag::Compression)
        .map_err(decode)?
        .unwrap_or(1);
    let tile_w = dec
        .find_tag_unsigned::<u32>(Tag::TileWidth)
        .map_err(decode)?;
    let tile_h = dec
        .find_tag_unsigned::<u32>(Tag::TileLength)
        .map_err(decode)?;
    let (tiled, block) = match (tile_w, tile_h) {
        (Some(w), Some(h)) => (true, (w, h)),
        _ => {
            let rows = dec
                .find_tag_unsigned::<u32>(Tag::RowsPerStrip)
                .map_err(decode)?
                .unwrap_or(height)
                .min(height);
            (false, (width, rows))
        }
    };
    let nodata = nodata_from_decoder(input, dec)?;

    let keys = match dec.find_tag(Tag::GeoKeyDirectoryTag).map_err(decode)? {
        Some(v) => geo_keys(input, v.into_u16_vec().map_err(decode)?)?,
        None => Vec::new(),
    };
    let key = |id: u16| keys.iter().find(|(k, _)| *k == id).map(|(_, v)| *v);
    let pixel_is_point = key(GT_RASTER_TYPE) == Some(2);
    let crs = key(PROJECTED_CS_TYPE)
        .filter(|c| *c != USER_DEFINED && *c != 0)
        .or_else(|| key(GEOGRAPHIC_TYPE).filter(|c| *c != USER_DEFINED && *c != 0))
        .map(|c| Crs::Epsg(u32::from(c)));

    let model = dec
        .find_tag(Tag::ModelTransformationTag)
        .map_err(decode)?
        .map(|v| v.into_f64_vec())
        .transpose()
        .map_err(decode)?;
    let scale = dec
        .find_tag(Tag::ModelPixelScaleTag)
        .map_err(decode)?
        .map(|v| v.into_f64_vec())
        .transpose()
        .map_err(decode)?;
    let tie = dec
        .find_tag(Tag::ModelTiepointTag)
        .map_err(decode)?
        .map(|v| v.into_f64_vec())
        .transpose()
        .map_err(decode)?;
    let bad = |tag, reason: String| GeoTiffError::BadTag {
        input: input.to_owned(),
        tag,
        reason,
    };
    let transform = match (model, scale, tie) {
        (Some(m), _, _) => {
            if m.len() < 8 {
                return Err(bad(
                    "ModelTransformation",
                    format!("{} values, expected 16", m.len()),
                ));
            }
            Some(GeoTransform::new(m[0], m[1], m[3], m[4], m[5], m[7]))
        }
        (None, Some(s), Some(t)) => {
            if s.len() < 2 || t.len() < 6 {
                return Err(bad(
                    "ModelPixelScale/ModelTiepoint",
                    format!(
                        "{} scale and {} tiepoint values, expected 3 and 6",
                        s.len(),
                        t.len()
                    ),
                ));
            }
            // GDAL: origin = tiepoint world position minus its raster position times the scale.
            Some(GeoTransform::new(
                s[0],
                0.0,
                t[3] - t[0] * s[0],
                0.0,
                -s[1],
                t[4] + t[1] * s[1],
            ))
        }
        _ => None,
    };
    let georeferenced = transform.is_some();
    let mut transform = transform.unwrap_or_else(GeoTransform::identity);
    if pixel_is_point && georeferenced {
        // GDAL's default (GTIFF_POINT_GEO_IGNORE=NO): move from point to area convention.
        transform = transform.translated(-0.5, -0.5);
    }

    let mut overviews = 0;
    // Bounded walk over the IFD chain: a cyclic chain in a corrupt file cannot hang us.
    for _ in 0..64 {
        if !dec.more_images() {
            break;
        }
        if dec.next_image().is_err() {
            break;
        }
        let subfile = dec
            .find_tag_unsigned::<u32>(Tag::NewSubfileType)
            .ok()
            .flatten()
            .unwrap_or(0);
        // Bit 0: reduced resolution; bit 2 (4): transparency mask — masks are not overviews.
        if subfile & 1 == 1 && subfile & 4 == 0 {
            overviews += 1;
        }
    }

    let grid = Grid::new(transform, width as usize, height as usize, crs).map_err(|source| {
        GeoTiffError::Grid {
            input: input.to_owned(),
            source,
        }
    })?;
    Ok(GeoTiffInfo {
        grid,
        georeferenced,
        bands: usize::from(bands),
        dtype,
        nodata,
        compression,
        block,
        tiled,
        overviews,
        pixel_is_point,
    })
}

/// The current image's `GDAL_NODATA` tag (GDAL reads it per IFD: an overview without the tag
/// has no nodata).
pub(crate) fn nodata_from_decoder<R: Read + Seek>(
    input: &str,
    dec: &mut Decoder<R>,
) -> Result<Option<f64>, GeoTiffError> {
    let decode = |e| decode_error(input, e);
    Ok(match dec.find_tag(Tag::GdalNodata).map_err(decode)? {
        Some(v) => {
            let text = v.into_string().map_err(decode)?;
            let text = text.trim_matches(char::from(0)).trim();
            Some(parse_nodata(text).ok_or_else(|| GeoTiffError::BadTag {
                input: input.to_owned(),
                tag: "GDAL_NODATA",
                reason: format!("'{text}' is not a number"),
            })?)
        }
        None => None,
    })
}

fn parse_nodata(text: &str) -> Option<f64> {
    match text.to_ascii_lowercase().as_str() {
        "nan" | "-nan" => Some(f64::NAN),
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

pub(crate) fn sample_dtype(bits: u16, format: u16) -> Option<DType> {
    Some(match (format, bits) {
        (1, 8) => DType::U8,
        (1, 16) => DType::U16,
        (1, 32) => DType::U32,
        (1, 64) => DType::U64,
        (2, 8) => DType::I8,
        (2, 16) => DType::I16,
        (2, 32) => DType::I32,
        (2, 64) => DType::I64,
        (3, 32) => DType::F32,
        (3, 64) => DType::F64,
        _ => return None,
    })
}

/// The SHORT-valued keys of a GeoKey directory, as `(key id, value)`.
fn geo_keys(input: &str, dir: Vec<u16>) -> Result<Vec<(u16, u16)>, GeoTiffError> {
    let bad = |reason: String| GeoTiffError::BadTag {
        input: input.to_owned(),
        tag: "GeoKeyDirectory",
        reason,
    };
    if dir.len() < 4 {
        return Err(bad(format!("{} values, a header needs 4", dir.len())));
    }
    let n = usize::from(dir[3]);
    if dir.len() < 4 + 4 * n {
        return Err(bad(format!(
            "header announces {n} keys but only {} values follow",
            dir.len() - 4
        )));
    }
    Ok(dir[4..4 + 4 * n]
        .chunks_exact(4)
        // location 0: the value is stored in the entry itself (a SHORT key).
        .filter(|e| e[1] == 0)
        .map(|e| (e[0], e[3]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_table() {
        assert_eq!(sample_dtype(16, 1), Some(DType::U16));
        assert_eq!(sample_dtype(32, 3), Some(DType::F32));
        assert_eq!(sample_dtype(12, 1), None);
    }

    #[test]
    fn geo_key_directory_checks_its_length() {
        assert!(geo_keys("x", vec![1, 1, 0]).is_err());
        assert!(geo_keys("x", vec![1, 1, 0, 2, 1024, 0, 1, 1]).is_err());
        let keys = geo_keys("x", vec![1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, 32618]).unwrap();
        assert_eq!(keys, vec![(1024, 1), (3072, 32618)]);
    }

    #[test]
    fn nodata_text() {
        assert_eq!(parse_nodata("0"), Some(0.0));
        assert!(parse_nodata("nan").is_some_and(f64::is_nan));
        assert_eq!(parse_nodata("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_nodata("abc"), None);
    }
}
