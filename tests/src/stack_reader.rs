//! An [`AssetReader`] over local GeoTIFFs for the stacking fixture tests: each file is
//! decoded whole with the `tiff` crate (the fixtures are 64×64), its grid, dtype and nodata
//! read with [`geochip::geotiff::read_info`]. Hrefs resolve against a base directory.

use std::collections::HashMap;
use std::path::PathBuf;

use geochip::stac::Item;
use geochip::stack::{AssetError, AssetRaster, AssetReader};
use geochip::{DType, Grid, Window};

/// A decoded single-image GeoTIFF.
#[derive(Debug, Clone)]
pub struct Decoded {
    grid: Grid,
    dtype: DType,
    nodata: Option<f64>,
    bands: usize,
    /// Pixel-interleaved samples as f64.
    values: Vec<f64>,
}

impl AssetRaster for Decoded {
    fn grid(&self) -> &Grid {
        &self.grid
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn nodata(&self) -> Option<f64> {
        self.nodata
    }
    fn band_count(&self) -> usize {
        self.bands
    }
    fn read_window(
        &mut self,
        level: usize,
        band: usize,
        w: Window,
    ) -> Result<Vec<f64>, AssetError> {
        if level != 0 || band >= self.bands {
            return Err(AssetError::corrupt(format!("no level {level} band {band}")));
        }
        if w.col_end() > self.grid.width || w.row_end() > self.grid.height {
            return Err(AssetError::corrupt(format!(
                "window {w:?} outside the image"
            )));
        }
        let mut out = Vec::with_capacity(w.width * w.height);
        for r in w.row_off..w.row_end() {
            for c in w.col_off..w.col_end() {
                out.push(self.values[(r * self.grid.width + c) * self.bands + band]);
            }
        }
        Ok(out)
    }
}

/// Decodes a GeoTIFF's first image.
pub fn decode(name: &str, bytes: &[u8]) -> Result<Decoded, AssetError> {
    use tiff::decoder::{Decoder, DecodingResult};
    let info =
        geochip::geotiff::read_info(name, bytes).map_err(|e| AssetError::corrupt(e.to_string()))?;
    let mut dec = Decoder::new(std::io::Cursor::new(bytes))
        .map_err(|e| AssetError::corrupt(format!("{name}: {e}")))?;
    let img = dec
        .read_image()
        .map_err(|e| AssetError::corrupt(format!("{name}: {e}")))?;
    let values: Vec<f64> = match img {
        DecodingResult::U8(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::U16(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::U32(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::I8(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::I16(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::I32(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::F32(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::F64(v) => v,
        _ => {
            return Err(AssetError::corrupt(format!(
                "{name}: unsupported sample type"
            )));
        }
    };
    Ok(Decoded {
        grid: info.grid,
        dtype: info.dtype,
        nodata: info.nodata,
        bands: info.bands,
        values,
    })
}

/// Opens hrefs relative to `base`, caching decoded files; hrefs listed in `missing` report
/// not-found and those in `corrupt` report a corrupt file.
#[derive(Debug, Default)]
pub struct FileReader {
    /// Base directory of relative hrefs.
    pub base: PathBuf,
    cache: HashMap<String, Decoded>,
    /// Number of `open` calls.
    pub opens: usize,
}

impl FileReader {
    /// A reader resolving hrefs against `base`.
    ///
    /// ```
    /// let r = geochip_tests::stack_reader::FileReader::new(geochip_tests::fixture("stacking"));
    /// assert_eq!(r.opens, 0);
    /// ```
    pub fn new(base: PathBuf) -> Self {
        Self {
            base,
            cache: HashMap::new(),
            opens: 0,
        }
    }
}

impl AssetReader for FileReader {
    fn open(
        &mut self,
        _item: &Item,
        _asset_key: &str,
        href: &str,
    ) -> Result<Box<dyn AssetRaster + '_>, AssetError> {
        self.opens += 1;
        if let Some(d) = self.cache.get(href) {
            return Ok(Box::new(d.clone()));
        }
        let path = self.base.join(href);
        let bytes = std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                AssetError::not_found(format!("{}: {e}", path.display()))
            } else {
                AssetError::unreachable(format!("{}: {e}", path.display()))
            }
        })?;
        let d = decode(href, &bytes)?;
        self.cache.insert(href.to_owned(), d.clone());
        Ok(Box::new(d))
    }
}
