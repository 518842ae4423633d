//! wasm-bindgen bindings of the geochip core, used by the book's lessons.
//!
//! Every function here is a thin wrapper: the work and the error messages come from the core,
//! so an error thrown in the page reads exactly as the same error does natively.
//!
//! ```
//! // Natively the bindings are plain Rust functions over the core:
//! let g = geochip_wasm::Grid::new(vec![0.0, 10.0, 0.0, 100.0, 0.0, -10.0], "gdal", 4, 4, None).unwrap();
//! assert_eq!(g.pixel_to_world(0, 0, "center").unwrap(), vec![5.0, 95.0]);
//! ```

use wasm_bindgen::prelude::*;

/// Converts any core error into a JS exception carrying the core's message.
fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// Installs the panic hook so a Rust panic shows its message in the browser console.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The geochip version compiled into this module.
///
/// ```
/// assert_eq!(geochip_wasm::version(), env!("CARGO_PKG_VERSION"));
/// ```
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// A georeferenced grid (JS class `Grid`).
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct Grid {
    inner: geochip::Grid,
}

#[wasm_bindgen]
impl Grid {
    /// Builds a grid from six coefficients in `order` (`"gdal"` or `"affine"`), a shape and
    /// an optional CRS text (`"EPSG:32633"`, WKT or PROJJSON).
    ///
    /// Bad input (wrong count, unknown order, a zero pixel size) throws a JS `Error` whose
    /// message is the core's error text.
    ///
    /// ```
    /// let g = geochip_wasm::Grid::new(vec![0.0, 10.0, 0.0, 0.0, 0.0, -10.0], "gdal", 4, 4,
    ///                                 Some("EPSG:32633".into())).unwrap();
    /// assert_eq!(g.bounds(), vec![0.0, -40.0, 40.0, 0.0]);
    /// ```
    #[wasm_bindgen(constructor)]
    pub fn new(
        transform: Vec<f64>,
        order: &str,
        width: usize,
        height: usize,
        crs: Option<String>,
    ) -> Result<Grid, JsError> {
        let coeffs: [f64; 6] = transform.as_slice().try_into().map_err(|_| {
            js_err(geochip::lesson::LessonError::WrongCount {
                field: "transform",
                expected: 6,
                got: transform.len(),
            })
        })?;
        let t = match order.trim().to_ascii_lowercase().as_str() {
            "gdal" => geochip::GeoTransform::from_gdal(coeffs),
            "affine" | "rasterio" => geochip::GeoTransform::from_affine(coeffs),
            other => {
                return Err(js_err(geochip::lesson::LessonError::UnknownOrder {
                    text: other.to_owned(),
                }));
            }
        };
        let crs = match crs.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<geochip::Crs>().map_err(js_err)?),
        };
        let inner = geochip::Grid::new(t, width, height, crs).map_err(js_err)?;
        Ok(Grid { inner })
    }

    /// World `[x, y]` of a pixel's `anchor` (`center`, `ul`, `ur`, `ll`, `lr`).
    ///
    /// ```
    /// let g = geochip_wasm::Grid::new(vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0], "affine", 2, 2, None).unwrap();
    /// assert_eq!(g.pixel_to_world(1, 1, "lr").unwrap(), vec![2.0, 2.0]);
    /// ```
    #[wasm_bindgen(js_name = pixelToWorld)]
    pub fn pixel_to_world(&self, col: i32, row: i32, anchor: &str) -> Result<Vec<f64>, JsError> {
        let anchor: geochip::PixelAnchor = anchor.parse().map_err(js_err)?;
        let (x, y) = self
            .inner
            .pixel_to_world(i64::from(col), i64::from(row), anchor);
        Ok(vec![x, y])
    }

    /// Continuous pixel `[col, row]` of a world point.
    ///
    /// ```
    /// let g = geochip_wasm::Grid::new(vec![2.0, 0.0, 0.0, 0.0, 2.0, 0.0], "affine", 2, 2, None).unwrap();
    /// assert_eq!(g.world_to_pixel(3.0, 1.0).unwrap(), vec![1.5, 0.5]);
    /// ```
    #[wasm_bindgen(js_name = worldToPixel)]
    pub fn world_to_pixel(&self, x: f64, y: f64) -> Result<Vec<f64>, JsError> {
        let (c, r) = self.inner.world_to_pixel(x, y).map_err(js_err)?;
        Ok(vec![c, r])
    }

    /// `[left, bottom, right, top]`.
    ///
    /// ```
    /// let g = geochip_wasm::Grid::new(vec![1.0, 0.0, 0.0, 0.0, -1.0, 2.0], "affine", 3, 2, None).unwrap();
    /// assert_eq!(g.bounds(), vec![0.0, 0.0, 3.0, 2.0]);
    /// ```
    pub fn bounds(&self) -> Vec<f64> {
        self.inner.bounds().to_array().to_vec()
    }

    /// The grid of a window (e.g. one chip).
    ///
    /// ```
    /// let g = geochip_wasm::Grid::new(vec![1.0, 0.0, 0.0, 0.0, -1.0, 8.0], "affine", 8, 8, None).unwrap();
    /// assert_eq!(g.window(2, 2, 4, 4).unwrap().affine(), vec![1.0, 0.0, 2.0, 0.0, -1.0, 6.0]);
    /// ```
    pub fn window(
        &self,
        col_off: usize,
        row_off: usize,
        width: usize,
        height: usize,
    ) -> Result<Grid, JsError> {
        let w = geochip::Window::new(col_off, row_off, width, height);
        Ok(Grid {
            inner: self.inner.window(w).map_err(js_err)?,
        })
    }

    /// Coefficients in rasterio `Affine` order.
    ///
    /// ```
    /// let g = geochip_wasm::Grid::new(vec![5.0, 1.0, 0.0, 9.0, 0.0, -1.0], "gdal", 1, 1, None).unwrap();
    /// assert_eq!(g.affine(), vec![1.0, 0.0, 5.0, 0.0, -1.0, 9.0]);
    /// ```
    pub fn affine(&self) -> Vec<f64> {
        self.inner.transform.to_affine().to_vec()
    }

    /// Coefficients in GDAL geotransform order.
    ///
    /// ```
    /// let g = geochip_wasm::Grid::new(vec![1.0, 0.0, 5.0, 0.0, -1.0, 9.0], "affine", 1, 1, None).unwrap();
    /// assert_eq!(g.gdal(), vec![5.0, 1.0, 0.0, 9.0, 0.0, -1.0]);
    /// ```
    pub fn gdal(&self) -> Vec<f64> {
        self.inner.transform.to_gdal().to_vec()
    }

    /// The grid as JSON text (the same text `geochip info` prints for a file's grid).
    ///
    /// ```
    /// let g = geochip_wasm::Grid::new(vec![1.0, 0.0, 0.0, 0.0, -1.0, 0.0], "affine", 1, 1, None).unwrap();
    /// assert!(g.to_json().contains("\"width\": 1"));
    /// ```
    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.inner.to_json()).unwrap_or_default()
    }
}

/// The "Grids and pixels" lesson: the reader's text in, the answer as JSON text out.
///
/// ```
/// let a = geochip_wasm::grid_lesson("0, 10, 0, 100, 0, -10", "gdal", "4", "4", "1", "1", "").unwrap();
/// assert!(a.contains("\"inside\": true"));
/// ```
#[wasm_bindgen(js_name = gridLesson)]
pub fn grid_lesson(
    transform: &str,
    order: &str,
    width: &str,
    height: &str,
    col: &str,
    row: &str,
    crs: &str,
) -> Result<String, JsError> {
    geochip::lesson::grid_lesson(&geochip::lesson::GridLessonInput {
        transform,
        order,
        width,
        height,
        col,
        row,
        crs,
    })
    .map_err(js_err)
}

/// A small computed array: `int32` values `0..h·w` on dims `(y, x)`, and its checksum.
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct DemoArray {
    inner: geochip::LabeledArray,
}

#[wasm_bindgen]
impl DemoArray {
    /// `np.arange(height * width, dtype="int32").reshape(height, width)` with dims `(y, x)`.
    ///
    /// ```
    /// let a = geochip_wasm::DemoArray::arange(2, 3).unwrap();
    /// assert_eq!(a.values(), vec![0, 1, 2, 3, 4, 5]);
    /// ```
    pub fn arange(height: usize, width: usize) -> Result<DemoArray, JsError> {
        if height.checked_mul(width).is_none_or(|n| n > 1 << 24) {
            return Err(JsError::new(&format!(
                "array: shape {height}x{width} is too large for a demo (at most 2^24 values)"
            )));
        }
        let inner =
            geochip::LabeledArray::arange_i32(&["y", "x"], &[height, width]).map_err(js_err)?;
        Ok(DemoArray { inner })
    }

    /// The values in C order (an `Int32Array` in JS).
    ///
    /// ```
    /// assert_eq!(geochip_wasm::DemoArray::arange(1, 2).unwrap().values(), vec![0, 1]);
    /// ```
    pub fn values(&self) -> Vec<i32> {
        match self.inner.data() {
            geochip::ArrayData::I32(a) => a.iter().copied().collect(),
            _ => Vec::new(),
        }
    }

    /// The dims, comma-separated (`"y,x"`).
    ///
    /// ```
    /// assert_eq!(geochip_wasm::DemoArray::arange(1, 2).unwrap().dims(), "y,x");
    /// ```
    pub fn dims(&self) -> String {
        self.inner.dims().join(",")
    }

    /// The shape (a `Uint32Array` in JS).
    ///
    /// ```
    /// assert_eq!(geochip_wasm::DemoArray::arange(1, 2).unwrap().shape(), vec![1, 2]);
    /// ```
    pub fn shape(&self) -> Vec<u32> {
        self.inner
            .shape()
            .iter()
            .map(|&s| u32::try_from(s).unwrap_or(u32::MAX))
            .collect()
    }

    /// SHA-256 hex of the C-order little-endian bytes (numpy's `tobytes()`).
    ///
    /// ```
    /// let a = geochip_wasm::DemoArray::arange(2, 2).unwrap();
    /// assert_eq!(a.sha256().len(), 64);
    /// ```
    pub fn sha256(&self) -> String {
        self.inner.sha256()
    }
}

/// Parses a grid from its JSON form (`serde_json::to_string(&grid)`) and validates it.
fn grid_from_json(text: &str) -> Result<geochip::Grid, JsError> {
    let g: geochip::Grid = serde_json::from_str(text)
        .map_err(|e| JsError::new(&format!("grid: invalid grid JSON: {e}")))?;
    geochip::Grid::new(g.transform, g.width, g.height, g.crs).map_err(js_err)
}

/// The answer of the slicing lesson: a JSON summary and an SVG drawing.
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct SliceLessonAnswer {
    inner: geochip::lesson::SliceLessonAnswer,
}

#[wasm_bindgen]
impl SliceLessonAnswer {
    /// Pretty JSON: chip count, window counts, uncovered pixels, first chips' transforms.
    ///
    /// ```
    /// let g = r#"{"crs":null,"transform":{"a":1.0,"b":0.0,"c":0.0,"d":0.0,"e":-1.0,"f":0.0},"width":64,"height":64}"#;
    /// let a = geochip_wasm::slice_lesson(g, "32", "0", "drop", "grid", "", "", "img.png").unwrap();
    /// assert!(a.summary().contains("\"chips\": 4"));
    /// ```
    #[wasm_bindgen(getter)]
    pub fn summary(&self) -> String {
        self.inner.summary.clone()
    }

    /// The SVG drawing (image, chips, uncovered pixels).
    ///
    /// ```
    /// let g = r#"{"crs":null,"transform":{"a":1.0,"b":0.0,"c":0.0,"d":0.0,"e":-1.0,"f":0.0},"width":64,"height":64}"#;
    /// let a = geochip_wasm::slice_lesson(g, "32", "0", "drop", "grid", "", "", "img.png").unwrap();
    /// assert!(a.svg().starts_with("<svg"));
    /// ```
    #[wasm_bindgen(getter)]
    pub fn svg(&self) -> String {
        self.inner.svg.clone()
    }
}

/// The "Slicing a cube into chips" lesson over the grid given as JSON.
///
/// ```
/// let g = r#"{"crs":"EPSG:32618","transform":{"a":30.0,"b":0.0,"c":0.0,"d":0.0,"e":-30.0,"f":0.0},"width":100,"height":80}"#;
/// let a = geochip_wasm::slice_lesson(g, "32", "8", "pad", "grid", "", "", "img.png").unwrap();
/// assert!(a.summary().contains("\"uncovered_pixels\": 0"));
/// ```
#[wasm_bindgen(js_name = sliceLesson)]
#[allow(clippy::too_many_arguments)] // one argument per form field, mirrored in the page
pub fn slice_lesson(
    grid_json: &str,
    window: &str,
    overlap: &str,
    edge: &str,
    sampling: &str,
    count: &str,
    seed: &str,
    image_href: &str,
) -> Result<SliceLessonAnswer, JsError> {
    let grid = grid_from_json(grid_json)?;
    let inner = geochip::lesson::slicing_lesson(
        &geochip::lesson::SliceLessonInput {
            window,
            overlap,
            edge,
            sampling,
            count,
            seed,
            image_href,
        },
        &grid,
    )
    .map_err(js_err)?;
    Ok(SliceLessonAnswer { inner })
}

/// The answer of the burning lesson: a JSON summary and an SVG drawing.
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct BurnLessonAnswer {
    inner: geochip::lesson::BurnLessonAnswer,
}

#[wasm_bindgen]
impl BurnLessonAnswer {
    /// Pretty JSON: the grid, burned pixels and areas, the labels' checksum.
    ///
    /// ```
    /// let wkt = "POLYGON((0 0,4 0,4 4,0 4,0 0))";
    /// let a = geochip_wasm::burn_lesson(wkt, "1", "0", "0", false, false).unwrap();
    /// assert!(a.summary().contains("\"burned_pixels\": 16"));
    /// ```
    #[wasm_bindgen(getter)]
    pub fn summary(&self) -> String {
        self.inner.summary.clone()
    }

    /// The SVG: burned raster and parcel outlines.
    ///
    /// ```
    /// let wkt = "POLYGON((0 0,4 0,4 4,0 4,0 0))";
    /// let a = geochip_wasm::burn_lesson(wkt, "1", "0", "0", true, true).unwrap();
    /// assert!(a.svg().starts_with("<svg"));
    /// ```
    #[wasm_bindgen(getter)]
    pub fn svg(&self) -> String {
        self.inner.svg.clone()
    }
}

/// The "Burning labels" lesson over a WKT text of parcels.
///
/// ```
/// let wkt = "MULTIPOLYGON(((0 0,4 0,4 4,0 4,0 0)),((6 0,8 0,8 2,6 2,6 0)))";
/// let a = geochip_wasm::burn_lesson(wkt, "1", "0.5", "0.5", true, false).unwrap();
/// assert!(a.summary().contains("\"parcels\": 2"));
/// ```
#[wasm_bindgen(js_name = burnLesson)]
pub fn burn_lesson(
    wkt: &str,
    resolution: &str,
    shift_x: &str,
    shift_y: &str,
    all_touched: bool,
    coverage: bool,
) -> Result<BurnLessonAnswer, JsError> {
    let inner = geochip::lesson::burning_lesson(
        wkt,
        &geochip::lesson::BurnLessonInput {
            resolution,
            shift_x,
            shift_y,
            all_touched,
            coverage,
        },
    )
    .map_err(js_err)?;
    Ok(BurnLessonAnswer { inner })
}
