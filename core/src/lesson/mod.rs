//! The computations behind the book's lessons, taking the reader's text exactly as typed.
//!
//! Each lesson's widget calls one function here through the wasm bindings, and the test suite
//! calls the same function natively and compares the answer with what the browser shows, so
//! the page and the native build cannot drift apart. Parsing lives here too, so a bad input
//! gives the same message in the page as on the command line.

mod burning;
mod slicing;
mod stacking;

pub use burning::{BurnLessonAnswer, BurnLessonInput, burning_lesson};
pub use slicing::{SliceLessonAnswer, SliceLessonInput, slicing_lesson};
pub use stacking::{
    FetchRequest, SessionStep, SourceReader, StackLessonAnswer, StackLessonInput,
    StackLessonSession, stacking_lesson,
};

use crate::crs::{Crs, CrsError};
use crate::grid::{Grid, GridError, PixelAnchor};
use crate::transform::GeoTransform;

/// Errors from a lesson's inputs. Each names the form field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LessonError {
    /// A field that must be a number is not one.
    #[error("{field}: '{text}' is not a number")]
    NotANumber {
        /// The field's name.
        field: &'static str,
        /// What was typed.
        text: String,
    },
    /// A field that must be a whole number is not one.
    #[error("{field}: '{text}' is not a whole number")]
    NotAnInteger {
        /// The field's name.
        field: &'static str,
        /// What was typed.
        text: String,
    },
    /// A list field with the wrong number of entries.
    #[error("{field}: expected {expected} comma-separated numbers, got {got}")]
    WrongCount {
        /// The field's name.
        field: &'static str,
        /// How many are needed.
        expected: usize,
        /// How many were typed.
        got: usize,
    },
    /// An unknown coefficient order.
    #[error("order: '{text}' is neither 'gdal' (c, a, b, f, d, e) nor 'affine' (a, b, c, d, e, f)")]
    UnknownOrder {
        /// What was given.
        text: String,
    },
    /// The numbers describe no valid grid (zero pixel size, NaN, empty shape...).
    #[error(transparent)]
    Grid(#[from] GridError),
    /// The CRS text is not understood.
    #[error(transparent)]
    Crs(#[from] CrsError),
    /// A field that must be a positive number is not.
    #[error("{field}: '{text}' must be a positive number")]
    NotPositive {
        /// The field's name.
        field: &'static str,
        /// What was typed.
        text: String,
    },
    /// A number outside the range the lesson accepts.
    #[error("{field}: '{text}' is outside {range}")]
    OutOfRange {
        /// The field's name.
        field: &'static str,
        /// What was typed.
        text: String,
        /// The accepted range.
        range: &'static str,
    },
    /// The shapes could not be read or burned.
    #[error(transparent)]
    Rasterize(#[from] crate::rasterize::RasterizeError),
    /// The slicing options are invalid (window larger than the image, overlap ≥ window...).
    #[error(transparent)]
    Slice(#[from] crate::slice::SliceError),
    /// The request would draw more than a page can show.
    #[error("{what}: {count} is more than this lesson draws (at most {max}); {hint}")]
    TooMany {
        /// What there are too many of.
        what: &'static str,
        /// How many were requested.
        count: u64,
        /// The limit.
        max: u64,
        /// What to change.
        hint: &'static str,
    },
    /// A choice that is not one of the options.
    #[error("{field}: '{text}' is not one of {choices}")]
    UnknownChoice {
        /// The field's name.
        field: &'static str,
        /// What was given.
        text: String,
        /// The accepted values.
        choices: &'static str,
    },
    /// The catalog or the stacking options are invalid, or an asset could not be read.
    #[error(transparent)]
    Stack(#[from] crate::stack::StackError),
    /// The input holds nothing the lesson can use.
    #[error("{what}: {reason}")]
    Empty {
        /// What is empty.
        what: &'static str,
        /// Why.
        reason: &'static str,
    },
}

/// The reader's inputs to the "Grids and pixels" lesson, as the text they typed.
///
/// ```
/// let input = geochip::lesson::GridLessonInput {
///     transform: "300000, 30, 0, 4000000, 0, -30",
///     order: "gdal",
///     width: "100",
///     height: "100",
///     col: "2",
///     row: "1",
///     crs: "EPSG:32633",
/// };
/// let answer = geochip::lesson::grid_lesson(&input).unwrap();
/// assert!(answer.contains("\"center\": [\n    300075.0,\n    3999955.0\n  ]"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridLessonInput<'a> {
    /// Six comma-separated coefficients.
    pub transform: &'a str,
    /// `gdal` (c, a, b, f, d, e) or `affine` (rasterio: a, b, c, d, e, f).
    pub order: &'a str,
    /// Columns.
    pub width: &'a str,
    /// Rows.
    pub height: &'a str,
    /// Pixel column.
    pub col: &'a str,
    /// Pixel row.
    pub row: &'a str,
    /// CRS text (may be empty).
    pub crs: &'a str,
}

pub(crate) fn number(field: &'static str, text: &str) -> Result<f64, LessonError> {
    text.trim()
        .parse::<f64>()
        .map_err(|_| LessonError::NotANumber {
            field,
            text: text.trim().to_owned(),
        })
}

pub(crate) fn integer<T: std::str::FromStr>(
    field: &'static str,
    text: &str,
) -> Result<T, LessonError> {
    text.trim()
        .parse::<T>()
        .map_err(|_| LessonError::NotAnInteger {
            field,
            text: text.trim().to_owned(),
        })
}

/// Parses six comma- or space-separated coefficients in the given order.
///
/// ```
/// use geochip::lesson::parse_transform;
/// let t = parse_transform("10 0 5 0 -10 9", "affine").unwrap();
/// assert_eq!(t.to_affine(), [10.0, 0.0, 5.0, 0.0, -10.0, 9.0]);
/// assert_eq!(parse_transform("1,2,x,4,5,6", "gdal").unwrap_err().to_string(),
///            "transform: 'x' is not a number");
/// ```
pub fn parse_transform(text: &str, order: &str) -> Result<GeoTransform, LessonError> {
    let parts: Vec<&str> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() != 6 {
        return Err(LessonError::WrongCount {
            field: "transform",
            expected: 6,
            got: parts.len(),
        });
    }
    let mut v = [0.0; 6];
    for (slot, part) in v.iter_mut().zip(&parts) {
        *slot = number("transform", part)?;
    }
    match order.trim().to_ascii_lowercase().as_str() {
        "gdal" => Ok(GeoTransform::from_gdal(v)),
        "affine" | "rasterio" => Ok(GeoTransform::from_affine(v)),
        other => Err(LessonError::UnknownOrder {
            text: other.to_owned(),
        }),
    }
}

/// Answers the "Grids and pixels" lesson: where a pixel lies in the world and back.
///
/// Returns pretty-printed JSON (two-space indent) with the transform in both orders, the
/// pixel's centre and corners, whether it lies inside the grid, the centre mapped back to
/// pixel space, and the grid's bounds and resolution.
///
/// ```
/// use geochip::lesson::{grid_lesson, GridLessonInput};
/// let mut input = GridLessonInput { transform: "0, 0, 0, 0, 0, -1", order: "gdal",
///     width: "4", height: "4", col: "0", row: "0", crs: "" };
/// let err = grid_lesson(&input).unwrap_err().to_string();
/// assert!(err.contains("not invertible"), "{err}");
/// input.width = "four";
/// assert_eq!(grid_lesson(&input).unwrap_err().to_string(), "width: 'four' is not a whole number");
/// ```
pub fn grid_lesson(input: &GridLessonInput<'_>) -> Result<String, LessonError> {
    let transform = parse_transform(input.transform, input.order)?;
    let width: usize = integer("width", input.width)?;
    let height: usize = integer("height", input.height)?;
    let col: i64 = integer("col", input.col)?;
    let row: i64 = integer("row", input.row)?;
    let crs = match input.crs.trim() {
        "" => None,
        text => Some(text.parse::<Crs>()?),
    };
    let grid = Grid::new(transform, width, height, crs)?;
    let center = grid.pixel_to_world(col, row, PixelAnchor::Center);
    let back = grid.world_to_pixel(center.0, center.1)?;
    let inside =
        col >= 0 && row >= 0 && (col as u64) < width as u64 && (row as u64) < height as u64;
    let corners = [
        PixelAnchor::UpperLeft,
        PixelAnchor::UpperRight,
        PixelAnchor::LowerLeft,
        PixelAnchor::LowerRight,
    ]
    .map(|a| grid.pixel_to_world(col, row, a));
    let g = grid.to_json();
    let answer = serde_json::json!({
        "pixel": { "col": col, "row": row, "inside": inside },
        "center": [center.0, center.1],
        "corners": {
            "upper_left": [corners[0].0, corners[0].1],
            "upper_right": [corners[1].0, corners[1].1],
            "lower_left": [corners[2].0, corners[2].1],
            "lower_right": [corners[3].0, corners[3].1],
        },
        "center_back_to_pixel": [back.0, back.1],
        "affine": g["transform"],
        "gdal_geotransform": g["gdal_geotransform"],
        "crs": g["crs"],
        "shape": g["shape"],
        "bounds": g["bounds"],
        "res": g["res"],
    });
    // serde_json's pretty printer is deterministic and formats f64 with ryu on every target,
    // so the browser and the native build print the same bytes. Serializing a `json!` value of
    // numbers and strings cannot fail.
    Ok(serde_json::to_string_pretty(&answer).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> GridLessonInput<'static> {
        GridLessonInput {
            transform: "101985.0, 300.0379266750948, 0.0, 2826915.0, 0.0, -300.041782729805",
            order: "gdal",
            width: "791",
            height: "718",
            col: "0",
            row: "0",
            crs: "EPSG:32618",
        }
    }

    #[test]
    fn answer_has_the_rasterio_values() {
        let v: serde_json::Value = serde_json::from_str(&grid_lesson(&input()).unwrap()).unwrap();
        // rasterio: src.xy(0, 0) on RGB.byte.tif
        assert_eq!(v["center"][0], 101985.0 + 300.0379266750948 * 0.5);
        assert_eq!(
            v["corners"]["upper_left"],
            serde_json::json!([101985.0, 2826915.0])
        );
        assert_eq!(v["pixel"]["inside"], true);
        // GDAL's inverse (−c/a + x·(1/a)) is a few ulps off 0.5 here; python, same arithmetic:
        // inv0 + x*inv1 + y*inv2 with inv = (-c/a, 1/a, 0, -f/e, 0, 1/e) → 0.49999999999994316
        assert_eq!(
            v["center_back_to_pixel"],
            serde_json::json!([0.49999999999994316, 0.5])
        );
        assert_eq!(v["crs"], "EPSG:32618");
    }

    #[test]
    fn orders_agree() {
        let mut a = input();
        a.order = "affine";
        a.transform = "300.0379266750948, 0.0, 101985.0, 0.0, -300.041782729805, 2826915.0";
        assert_eq!(grid_lesson(&a).unwrap(), grid_lesson(&input()).unwrap());
    }

    #[test]
    fn bad_inputs_name_the_field() {
        let mut a = input();
        a.col = "1.5";
        assert_eq!(
            grid_lesson(&a).unwrap_err().to_string(),
            "col: '1.5' is not a whole number"
        );
        let mut a = input();
        a.transform = "1, 2, 3";
        assert_eq!(
            grid_lesson(&a).unwrap_err().to_string(),
            "transform: expected 6 comma-separated numbers, got 3"
        );
        let mut a = input();
        a.order = "xyz";
        assert!(matches!(
            grid_lesson(&a),
            Err(LessonError::UnknownOrder { .. })
        ));
        let mut a = input();
        a.width = "0";
        assert!(matches!(
            grid_lesson(&a),
            Err(LessonError::Grid(GridError::EmptyShape { .. }))
        ));
        let mut a = input();
        a.transform = "nan, 1, 0, 0, 0, -1";
        assert!(matches!(
            grid_lesson(&a),
            Err(LessonError::Grid(GridError::NonFiniteCoefficient {
                name: "c",
                ..
            }))
        ));
        let mut a = input();
        a.crs = "EPSG:x";
        assert!(matches!(grid_lesson(&a), Err(LessonError::Crs(_))));
    }

    #[test]
    fn outside_pixels_are_flagged_not_rejected() {
        let mut a = input();
        a.col = "-3";
        let v: serde_json::Value = serde_json::from_str(&grid_lesson(&a).unwrap()).unwrap();
        assert_eq!(v["pixel"]["inside"], false);
    }
}
