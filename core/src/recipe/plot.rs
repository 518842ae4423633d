//! Plot specifications: what to draw (data, kind, labels), not how. The caller's
//! [`PlotRenderer`](super::PlotRenderer) turns one into SVG (the `geochip-plot` package does it
//! with plotters), so the core stays free of plotting and font code.

use serde::Serialize;

/// How values map to colours in an image panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Colormap {
    /// Linear grey from `range.0` (black) to `range.1` (white).
    Gray,
    /// Categorical: 0 is background, other integers cycle through a fixed palette.
    Labels,
}

/// One image: `rows × cols` values in row-major order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImagePanel {
    /// Caption under the panel.
    pub title: String,
    /// Height in pixels.
    pub rows: usize,
    /// Width in pixels.
    pub cols: usize,
    /// Row-major values (NaN: no data).
    pub values: Vec<f64>,
    /// The colour mapping.
    pub colormap: Colormap,
    /// The value range of the grey ramp.
    pub range: (f64, f64),
}

/// What kind of plot.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PlotKind {
    /// Image panels in a grid of `columns` columns (one image, or chip pairs side by side).
    Images {
        /// Panels per row.
        columns: usize,
        /// The panels, row by row.
        panels: Vec<ImagePanel>,
    },
    /// A histogram: `counts[i]` values fell in `[edges[i], edges[i+1])`.
    Histogram {
        /// Label of the value axis.
        x_label: String,
        /// `counts.len() + 1` bin edges.
        edges: Vec<f64>,
        /// Count per bin.
        counts: Vec<u64>,
    },
    /// A bar chart: one bar per label.
    Bars {
        /// Label of the value axis.
        y_label: String,
        /// Bar labels.
        labels: Vec<String>,
        /// Bar heights.
        values: Vec<f64>,
    },
}

/// A plot to draw: a title and a [`PlotKind`].
///
/// ```
/// use geochip::recipe::{PlotKind, PlotSpec};
/// let spec = PlotSpec {
///     title: "bars".into(),
///     kind: PlotKind::Bars { y_label: "ms".into(), labels: vec!["a".into()], values: vec![1.5] },
/// };
/// assert_eq!(spec.to_json()["kind"], "bars");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlotSpec {
    /// The title drawn at the top.
    pub title: String,
    /// What to draw.
    #[serde(flatten)]
    pub kind: PlotKind,
}

impl PlotSpec {
    /// The spec as JSON (what a browser renderer receives).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
