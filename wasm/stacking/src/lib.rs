//! wasm-bindgen binding of the "Stacking a time series" lesson: a session the page drives
//! with `fetch` `Range` requests (the core does no I/O, and a browser cannot block on the
//! network).
//!
//! A module of its own (not part of `geochip-wasm`): COG reading, stacking and warping add
//! about 190 KB gzipped, which would put every lesson page over the 300 KB budget; only the
//! stacking page loads this one.
//!
//! ```
//! assert_eq!(geochip_wasm_stacking::version(), env!("CARGO_PKG_VERSION"));
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
/// assert!(!geochip_wasm_stacking::version().is_empty());
/// ```
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// One stacking run (JS class `StackLesson`): call `step()`; while it returns requests (a JSON
/// array of `{href, offset, len}`), fetch each range (hrefs are relative to the catalog) and
/// `add()` it, then step again; when `step()` returns `undefined` the answer is in `summary` and
/// `svg`. (Natively, as here, only calls that succeed can run: a thrown error needs a
/// JS engine.)
///
/// ```
/// # let catalog = r#"{"type": "Feature", "id": "a", "properties": {"datetime":
/// #   "2024-01-05T00:10:00Z", "proj:epsg": 32618}, "assets": {"image": {"href": "a.tif",
/// #   "proj:shape": [16, 16], "proj:transform": [30, 0, 100000, 0, -30, 2800000]}}}"#;
/// let mut s = geochip_wasm_stacking::StackLesson::new(catalog, "image", "", "", "nearest", "time", "").unwrap();
/// assert!(s.step().unwrap().unwrap().contains("\"href\":\"a.tif\""));
/// assert!(s.summary().is_none());
/// ```
#[wasm_bindgen]
pub struct StackLesson {
    session: geochip::lesson::StackLessonSession,
    answer: Option<geochip::lesson::StackLessonAnswer>,
}

#[wasm_bindgen]
impl StackLesson {
    /// Parses the reader's inputs and the catalog JSON; bad input throws the core's message.
    ///
    /// ```
    /// # let catalog = r#"{"type": "Feature", "id": "a", "properties": {"datetime":
    /// #   "2024-01-05T00:10:00Z", "proj:epsg": 32618}, "assets": {"image": {"href": "a.tif",
    /// #   "proj:shape": [16, 16], "proj:transform": [30, 0, 100000, 0, -30, 2800000]}}}"#;
    /// let s = geochip_wasm_stacking::StackLesson::new(catalog, "image", "30", "", "nearest", "time", "");
    /// assert!(s.is_ok());
    /// ```
    #[wasm_bindgen(constructor)]
    pub fn new(
        catalog: &str,
        bands: &str,
        resolution: &str,
        crs: &str,
        resampling: &str,
        groupby: &str,
        bbox: &str,
    ) -> Result<StackLesson, JsError> {
        let input = geochip::lesson::StackLessonInput {
            bands,
            resolution,
            crs,
            resampling,
            groupby,
            bbox,
        };
        let session = geochip::lesson::StackLessonSession::new(catalog, &input).map_err(js_err)?;
        Ok(StackLesson {
            session,
            answer: None,
        })
    }

    /// The byte ranges to fetch next as JSON (`[{"href", "offset", "len"}]`), or `undefined`
    /// when the answer is ready. Errors (an unreadable asset, a bad grid) throw.
    ///
    /// ```
    /// let catalog = r#"{"type": "Feature", "id": "a", "properties": {"datetime":
    ///   "2024-01-05T00:10:00Z", "proj:epsg": 32618}, "assets": {"image": {"href": "a.tif",
    ///   "proj:shape": [16, 16], "proj:transform": [30, 0, 100000, 0, -30, 2800000]}}}"#;
    /// let mut s = geochip_wasm_stacking::StackLesson::new(catalog, "image", "", "", "nearest", "time", "").unwrap();
    /// assert_eq!(s.step().unwrap().unwrap(), r#"[{"href":"a.tif","offset":0,"len":16384}]"#);
    /// ```
    pub fn step(&mut self) -> Result<Option<String>, JsError> {
        match self.session.step().map_err(js_err)? {
            geochip::lesson::SessionStep::Need(requests) => {
                // By hand rather than serde_json::to_string: the summary already links
                // serde_json's pretty printer, and a second (compact) one costs module size.
                let mut json = String::from("[");
                for (i, r) in requests.iter().enumerate() {
                    let href = serde_json::Value::String(r.href.clone());
                    json.push_str(&format!(
                        "{}{{\"href\":{href},\"offset\":{},\"len\":{}}}",
                        if i == 0 { "" } else { "," },
                        r.offset,
                        r.len
                    ));
                }
                json.push(']');
                Ok(Some(json))
            }
            geochip::lesson::SessionStep::Done(answer) => {
                self.answer = Some(answer);
                Ok(None)
            }
            _ => Err(JsError::new("unexpected session step")),
        }
    }

    /// Adds the bytes of `href` fetched from `offset`; `file_len` is the file's length (from
    /// `Content-Range`, or the body's length for a whole-file answer).
    ///
    /// ```
    /// # let catalog = r#"{"type": "Feature", "id": "a", "properties": {"datetime":
    /// #   "2024-01-05T00:10:00Z", "proj:epsg": 32618}, "assets": {"image": {"href": "a.tif",
    /// #   "proj:shape": [16, 16], "proj:transform": [30, 0, 100000, 0, -30, 2800000]}}}"#;
    /// let mut s = geochip_wasm_stacking::StackLesson::new(catalog, "image", "", "", "nearest", "time", "").unwrap();
    /// s.add("a.tif", 0.0, b"II*\0".to_vec(), 4.0); // the next step() then parses the header
    /// ```
    pub fn add(&mut self, href: &str, offset: f64, bytes: Vec<u8>, file_len: f64) {
        // Offsets and lengths of the lesson's files are far below 2^53: exact in an f64.
        self.session
            .add(href, offset as u64, bytes, file_len as u64);
    }

    /// Records that `href` could not be fetched (`not_found` for HTTP 404).
    ///
    /// ```
    /// # let catalog = r#"{"type": "Feature", "id": "a", "properties": {"datetime":
    /// #   "2024-01-05T00:10:00Z", "proj:epsg": 32618}, "assets": {"image": {"href": "a.tif",
    /// #   "proj:shape": [16, 16], "proj:transform": [30, 0, 100000, 0, -30, 2800000]}}}"#;
    /// let mut s = geochip_wasm_stacking::StackLesson::new(catalog, "image", "", "", "nearest", "time", "").unwrap();
    /// s.fail("a.tif", true, "a.tif: HTTP 404"); // the next step() throws this message
    /// ```
    pub fn fail(&mut self, href: &str, not_found: bool, message: &str) {
        self.session.fail(href, not_found, message);
    }

    /// The summary JSON once `step()` returned `undefined`.
    ///
    /// ```
    /// # let catalog = r#"{"type": "Feature", "id": "a", "properties": {"datetime":
    /// #   "2024-01-05T00:10:00Z", "proj:epsg": 32618}, "assets": {"image": {"href": "a.tif",
    /// #   "proj:shape": [16, 16], "proj:transform": [30, 0, 100000, 0, -30, 2800000]}}}"#;
    /// let s = geochip_wasm_stacking::StackLesson::new(catalog, "image", "", "", "nearest", "time", "").unwrap();
    /// assert_eq!(s.summary(), None); // not stacked yet
    /// ```
    #[wasm_bindgen(getter)]
    pub fn summary(&self) -> Option<String> {
        self.answer.as_ref().map(|a| a.summary.clone())
    }

    /// The SVG of time × band thumbnails once `step()` returned `undefined`.
    ///
    /// ```
    /// # let catalog = r#"{"type": "Feature", "id": "a", "properties": {"datetime":
    /// #   "2024-01-05T00:10:00Z", "proj:epsg": 32618}, "assets": {"image": {"href": "a.tif",
    /// #   "proj:shape": [16, 16], "proj:transform": [30, 0, 100000, 0, -30, 2800000]}}}"#;
    /// let s = geochip_wasm_stacking::StackLesson::new(catalog, "image", "", "", "nearest", "time", "").unwrap();
    /// assert_eq!(s.svg(), None);
    /// ```
    #[wasm_bindgen(getter)]
    pub fn svg(&self) -> Option<String> {
        self.answer.as_ref().map(|a| a.svg.clone())
    }
}
