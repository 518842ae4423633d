//! # geochip-plot
//!
//! Renders the core's recipe [`PlotSpec`]s (image panels, chip pairs, histograms, bar charts)
//! to SVG with [plotters](https://docs.rs/plotters)' SVG backend.
//!
//! It lives outside the core because plotters depends on `wasm-bindgen` and `web-sys` on
//! wasm32, which the core's dependency boundary forbids; the core builds the spec and calls
//! whichever [`PlotRenderer`] its caller injects (this one natively and in the browser).
//!
//! **Same bytes on every target.** plotters measures text with font crates natively and
//! through the DOM on wasm32 (which would panic inside a Web Worker), and only when asked for a
//! text's size: chart builders with label areas and captions ask. This renderer never does:
//! it lays out every panel, axis, tick and label itself at fixed pixel positions and draws text
//! with explicit anchors, which the SVG backend writes as `text-anchor`/`dy` attributes without
//! measuring. All coordinates are integers and every number printed is formatted by
//! [`fmt_num`], so the SVG is a pure function of the spec.
//!
//! ```
//! use geochip::recipe::{PlotKind, PlotRenderer, PlotSpec};
//! let spec = PlotSpec {
//!     title: "timings".into(),
//!     kind: PlotKind::Bars { y_label: "ms".into(), labels: vec!["a".into(), "b".into()],
//!                            values: vec![1.0, 2.5] },
//! };
//! let svg = geochip_plot::SvgRenderer.render(&spec).unwrap();
//! assert!(svg.starts_with("<svg"));
//! assert_eq!(svg, geochip_plot::SvgRenderer.render(&spec).unwrap());
//! ```

use geochip::recipe::{Colormap, ImagePanel, PlotKind, PlotRenderer, PlotSpec};

pub mod html;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The plotters-based SVG renderer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SvgRenderer;

impl PlotRenderer for SvgRenderer {
    fn render(&self, spec: &PlotSpec) -> Result<String, String> {
        render(spec).map_err(|e| format!("plot `{}`: {e}", spec.title))
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Res = Result<(), String>;

/// Renders a spec to an SVG document.
///
/// ```
/// use geochip::recipe::{Colormap, ImagePanel, PlotKind, PlotSpec};
/// let spec = PlotSpec { title: "one".into(), kind: PlotKind::Images { columns: 1, panels: vec![
///     ImagePanel { title: "p".into(), rows: 2, cols: 2, values: vec![0.0, 1.0, 2.0, 3.0],
///                  colormap: Colormap::Gray, range: (0.0, 3.0) }] } };
/// // value 3.0 is the top of the range: a white pixel.
/// assert!(geochip_plot::render(&spec).unwrap().contains("width=\"80\" height=\"80\" opacity=\"1\" fill=\"#FFFFFF\""));
/// ```
pub fn render(spec: &PlotSpec) -> Result<String, String> {
    let (w, h) = size(spec);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        text(
            &root,
            &spec.title,
            (w as i32 / 2, 8),
            16,
            HPos::Center,
            VPos::Top,
        )?;
        match &spec.kind {
            PlotKind::Images { columns, panels } => images(&root, *columns, panels)?,
            PlotKind::Histogram {
                x_label,
                edges,
                counts,
            } => histogram(&root, x_label, edges, counts)?,
            PlotKind::Bars {
                y_label,
                labels,
                values,
            } => bars(&root, y_label, labels, values)?,
            _ => return Err("unsupported plot kind".into()),
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(buf)
}

const TITLE_H: u32 = 32;
const PANEL_MAX: usize = 160;
const CAPTION_H: u32 = 22;
const GAP: u32 = 12;
const CHART: (u32, u32) = (640, 400);
/// Plot area of histograms and bar charts: left, top, right, bottom.
const PLOT: (i32, i32, i32, i32) = (80, 44, 616, 340);

/// Longest side, in drawn pixels, of an image panel (the panel size small ones are scaled up
/// to): larger panels are drawn from every k-th
/// pixel (one SVG rectangle per run of equal colours is already ~80 bytes; a 791 × 718 scene
/// drawn whole was a 25 MB SVG).
pub const DRAWN_MAX: usize = PANEL_MAX;

/// The panel's stride `k` (every k-th row and column is drawn) and its drawn rows and columns.
fn drawn(p: &ImagePanel) -> (usize, usize, usize) {
    let k = p.rows.max(p.cols).div_ceil(DRAWN_MAX).max(1);
    (k, p.rows.div_ceil(k), p.cols.div_ceil(k))
}

fn scale(p: &ImagePanel) -> usize {
    let (_, rows, cols) = drawn(p);
    (PANEL_MAX / rows.max(cols).max(1)).max(1)
}

/// Width in pixels reserved for `s` drawn at `size` px: 0.6 em per character, more than the
/// average glyph of the common sans-serif fonts. An estimate, never a measurement (measuring
/// would differ between targets, see the crate docs), so titles and captions get room
/// without changing the bytes from one target to another.
fn text_width(s: &str, size: u32) -> u32 {
    (s.chars().count() as u32 * size * 3).div_ceil(5)
}

/// A panel's caption: its title, and the drawing scale when drawn from every k-th pixel.
fn caption(p: &ImagePanel) -> String {
    let (k, _, _) = drawn(p);
    if k > 1 {
        format!("{} (1:{k}: every {k}-th row and column)", p.title)
    } else {
        p.title.clone()
    }
}

fn cell(panels: &[ImagePanel]) -> (u32, u32) {
    let (mut cw, mut ch) = (0, 0);
    for p in panels {
        let (s, (_, rows, cols)) = (scale(p), drawn(p));
        cw = cw.max((cols * s) as u32).max(text_width(&caption(p), 12));
        ch = ch.max((rows * s) as u32);
    }
    (cw.max(60), ch)
}

fn size(spec: &PlotSpec) -> (u32, u32) {
    match &spec.kind {
        PlotKind::Images { columns, panels } => {
            let cols = (*columns).clamp(1, panels.len().max(1)) as u32;
            let rows = panels.len().div_ceil(cols as usize).max(1) as u32;
            let (cw, ch) = cell(panels);
            (
                (GAP + cols * (cw + GAP)).max(text_width(&spec.title, 16) + 2 * GAP),
                TITLE_H + rows * (ch + CAPTION_H + GAP),
            )
        }
        _ => CHART,
    }
}

fn text(area: &Area<'_>, s: &str, at: (i32, i32), size: u32, h: HPos, v: VPos) -> Res {
    let style = TextStyle::from(("sans-serif", size).into_font())
        .color(&BLACK)
        .pos(Pos::new(h, v));
    area.draw(&Text::new(s.to_owned(), at, style))
        .map_err(|e| e.to_string())
}

fn line(area: &Area<'_>, a: (i32, i32), b: (i32, i32)) -> Res {
    area.draw(&PathElement::new(vec![a, b], BLACK.stroke_width(1)))
        .map_err(|e| e.to_string())
}

fn rect(area: &Area<'_>, a: (i32, i32), b: (i32, i32), c: RGBColor) -> Res {
    area.draw(&Rectangle::new([a, b], c.filled()))
        .map_err(|e| e.to_string())
}

/// Twelve well-separated colours for labels (Tableau's 10 plus two), cycled by label value.
const PALETTE: [(u8, u8, u8); 12] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (188, 189, 34),
    (23, 190, 207),
    (255, 187, 120),
    (152, 223, 138),
    (174, 199, 232),
];

/// The colour of one value (pure integer/IEEE arithmetic: the same on every target).
pub fn colour(v: f64, colormap: Colormap, range: (f64, f64)) -> (u8, u8, u8) {
    if !v.is_finite() {
        return (230, 230, 250);
    }
    match colormap {
        Colormap::Labels => {
            let id = v.floor();
            if id <= 0.0 {
                (24, 24, 24)
            } else {
                PALETTE[((id as u64 - 1) % PALETTE.len() as u64) as usize]
            }
        }
        _ => {
            let (lo, hi) = range;
            let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
            let g = (t.clamp(0.0, 1.0) * 255.0).round() as u8;
            (g, g, g)
        }
    }
}

fn images(root: &Area<'_>, columns: usize, panels: &[ImagePanel]) -> Res {
    let cols = columns.clamp(1, panels.len().max(1));
    let (cw, ch) = cell(panels);
    // The grid of cells centred on the canvas (wider than the grid under a long title).
    let grid_w = GAP + cols as u32 * (cw + GAP);
    let left = (root.dim_in_pixel().0.saturating_sub(grid_w) / 2) as i32;
    for (i, p) in panels.iter().enumerate() {
        let (r, c) = ((i / cols) as u32, (i % cols) as u32);
        let s = scale(p) as i32;
        let (k, rows, cols) = drawn(p);
        // Each panel centred in its cell (cells are as wide as the widest panel or caption).
        let pw = cols as i32 * s;
        let x0 = left + (GAP + c * (cw + GAP)) as i32 + (cw as i32 - pw) / 2;
        let y0 = (TITLE_H + r * (ch + CAPTION_H + GAP)) as i32;
        if p.values.len() != p.rows * p.cols {
            return Err(format!(
                "panel `{}`: {} values for {}×{}",
                p.title,
                p.values.len(),
                p.rows,
                p.cols
            ));
        }
        for row in 0..rows {
            let src = row * k * p.cols;
            let at = |col: usize| colour(p.values[src + col * k], p.colormap, p.range);
            // One rectangle per run of equal colours in a row keeps the SVG small.
            let mut start = 0;
            while start < cols {
                let c0 = at(start);
                let mut end = start + 1;
                while end < cols && at(end) == c0 {
                    end += 1;
                }
                let y = y0 + row as i32 * s;
                rect(
                    root,
                    (x0 + start as i32 * s, y),
                    (x0 + end as i32 * s, y + s),
                    RGBColor(c0.0, c0.1, c0.2),
                )?;
                start = end;
            }
        }
        let ph = rows as i32 * s;
        text(
            root,
            &caption(p),
            (x0 + pw / 2, y0 + ph + 4),
            12,
            HPos::Center,
            VPos::Top,
        )?;
    }
    Ok(())
}

/// Numbers for ticks and labels: integers plainly, others with up to 3 decimals (Rust's
/// formatting, which is the same on every target).
pub fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    if v.abs() >= 1e6 || v.abs() < 1e-3 {
        return format!("{v:.2e}");
    }
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Y axis from 0 to `top` with 5 ticks, the label rotated-free above the axis.
fn y_axis(root: &Area<'_>, top: f64, label: &str) -> Res {
    let (l, t, _, b) = PLOT;
    line(root, (l, t), (l, b))?;
    for k in 0..=4 {
        let v = top * k as f64 / 4.0;
        let y = b - ((b - t) as f64 * k as f64 / 4.0).round() as i32;
        line(root, (l - 5, y), (l, y))?;
        text(root, &fmt_num(v), (l - 8, y), 11, HPos::Right, VPos::Center)?;
    }
    text(root, label, (l, t - 6), 12, HPos::Center, VPos::Bottom)
}

fn y_of(v: f64, top: f64) -> i32 {
    let (_, t, _, b) = PLOT;
    let f = if top > 0.0 {
        (v / top).clamp(0.0, 1.0)
    } else {
        0.0
    };
    b - ((b - t) as f64 * f).round() as i32
}

fn histogram(root: &Area<'_>, x_label: &str, edges: &[f64], counts: &[u64]) -> Res {
    if edges.len() != counts.len() + 1 || counts.is_empty() {
        return Err(format!("{} edges for {} counts", edges.len(), counts.len()));
    }
    let (l, _, r, b) = PLOT;
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    y_axis(root, top, "count")?;
    line(root, (l, b), (r, b))?;
    let n = counts.len() as i32;
    let x_of = |i: i32| l + ((r - l) as f64 * i as f64 / n as f64).round() as i32;
    for (i, &c) in counts.iter().enumerate() {
        let i = i as i32;
        if c > 0 {
            rect(
                root,
                (x_of(i) + 1, y_of(c as f64, top)),
                (x_of(i + 1) - 1, b),
                RGBColor(31, 119, 180),
            )?;
        }
    }
    // Ticks at the first, middle and last edge.
    for i in [0, n / 2, n] {
        let x = x_of(i);
        line(root, (x, b), (x, b + 5))?;
        text(
            root,
            &fmt_num(edges[i as usize]),
            (x, b + 8),
            11,
            HPos::Center,
            VPos::Top,
        )?;
    }
    text(
        root,
        x_label,
        ((l + r) / 2, b + 30),
        12,
        HPos::Center,
        VPos::Top,
    )
}

fn bars(root: &Area<'_>, y_label: &str, labels: &[String], values: &[f64]) -> Res {
    if labels.len() != values.len() || values.is_empty() {
        return Err(format!(
            "{} labels for {} values",
            labels.len(),
            values.len()
        ));
    }
    let (l, _, r, b) = PLOT;
    let top = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let top = if top > 0.0 { top } else { 1.0 };
    y_axis(root, top, y_label)?;
    line(root, (l, b), (r, b))?;
    let n = values.len() as i32;
    let slot = (r - l) / n;
    // Labels are cut to what fits under a bar at about 7 px per character (no measuring).
    let max_chars = ((slot - 4) / 7).max(1) as usize;
    for (i, (label, &v)) in labels.iter().zip(values).enumerate() {
        let x0 = l + i as i32 * slot;
        let bar_w = (slot * 3 / 4).max(1);
        let bx = x0 + (slot - bar_w) / 2;
        if v.is_finite() && v > 0.0 {
            rect(
                root,
                (bx, y_of(v, top)),
                (bx + bar_w, b),
                RGBColor(31, 119, 180),
            )?;
        }
        text(
            root,
            &fmt_num(v),
            (x0 + slot / 2, y_of(v, top) - 3),
            10,
            HPos::Center,
            VPos::Bottom,
        )?;
        let short: String = label.chars().take(max_chars).collect();
        text(
            root,
            &short,
            (x0 + slot / 2, b + 8),
            11,
            HPos::Center,
            VPos::Top,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(cm: Colormap, values: Vec<f64>) -> ImagePanel {
        ImagePanel {
            title: "p & q".into(),
            rows: 2,
            cols: 3,
            values,
            colormap: cm,
            range: (0.0, 1.0),
        }
    }

    fn specs() -> Vec<PlotSpec> {
        vec![
            PlotSpec {
                title: "pairs".into(),
                kind: PlotKind::Images {
                    columns: 2,
                    panels: vec![
                        panel(Colormap::Gray, vec![0.0, 0.25, 0.5, 0.75, 1.0, f64::NAN]),
                        panel(Colormap::Labels, vec![0.0, 1.0, 1.0, 2.0, 13.0, 0.0]),
                        panel(Colormap::Gray, vec![1.0; 6]),
                    ],
                },
            },
            PlotSpec {
                title: "hist".into(),
                kind: PlotKind::Histogram {
                    x_label: "coverage".into(),
                    edges: vec![0.0, 0.5, 1.0],
                    counts: vec![3, 7],
                },
            },
            PlotSpec {
                title: "bars".into(),
                kind: PlotKind::Bars {
                    y_label: "ms".into(),
                    labels: vec!["1x256x256".into(), "1x1024x1024 shards".into()],
                    values: vec![0.125, 12.0],
                },
            },
        ]
    }

    #[test]
    fn svg_is_deterministic_and_measures_no_text() {
        for spec in specs() {
            let a = render(&spec).unwrap();
            let b = render(&spec).unwrap();
            assert_eq!(a, b);
            assert!(
                a.starts_with("<svg") && a.trim_end().ends_with("</svg>"),
                "{a}"
            );
            // Every text is placed by anchor, never by a measured box.
            assert!(a.contains("text-anchor=\"middle\""), "{a}");
            assert!(!a.contains("NaN"), "{a}");
        }
    }

    #[test]
    fn large_panels_are_drawn_from_every_kth_pixel() {
        // 791 × 718 like the chips-from-stac cube: stride 5, 159 × 144 drawn pixels.
        let (rows, cols) = (718, 791);
        let values: Vec<f64> = (0..rows * cols).map(|i| (i % cols) as f64).collect();
        let spec = PlotSpec {
            title: "big".into(),
            kind: PlotKind::Images {
                columns: 1,
                panels: vec![ImagePanel {
                    title: "scene".into(),
                    rows,
                    cols,
                    values,
                    colormap: Colormap::Gray,
                    range: (0.0, 790.0),
                }],
            },
        };
        let svg = render(&spec).unwrap();
        assert!(svg.contains("scene (1:5: every 5-th row and column)"));
        // Every column differs: one rectangle per drawn pixel, 144 rows of 159.
        assert_eq!(
            svg.matches("<rect").count(),
            1 + 144 * 159,
            "plus the background"
        );
        // Drawn column j shows source column 5j: the last one is column 790.
        let (g, _, _) = colour(790.0, Colormap::Gray, (0.0, 790.0));
        assert!(svg.contains(&format!("fill=\"#{g:02X}{g:02X}{g:02X}\"")));
        assert!(svg.len() < 2_100_000, "{} bytes", svg.len());
    }

    #[test]
    fn titles_and_captions_get_room() {
        // Three 791-pixel panels (drawn 1:5, 159 px) with captions wider than the panels, and a
        // plot title wider than the panels: the canvas and the cells are widened for them.
        let panel = |t: &str| ImagePanel {
            title: t.into(),
            rows: 718,
            cols: 791,
            values: vec![0.0; 718 * 791],
            colormap: Colormap::Gray,
            range: (0.0, 1.0),
        };
        let title = "The red band of each time step, read back from the store";
        let spec = PlotSpec {
            title: title.into(),
            kind: PlotKind::Images {
                columns: 1,
                panels: vec![panel("2024-03-01"), panel("2024-03-17")],
            },
        };
        let (w, _) = size(&spec);
        let cap = caption(&panel("2024-03-01"));
        assert_eq!(cap, "2024-03-01 (1:5: every 5-th row and column)");
        assert!(
            text_width(&cap, 12) > 159,
            "the caption is wider than the panel"
        );
        assert!(w >= text_width(title, 16) + 2 * GAP, "{w}");
        assert!(w >= text_width(&cap, 12) + 2 * GAP, "{w}");
        // The panel is centred in its cell, the cell on the canvas.
        let svg = render(&spec).unwrap();
        let (cw, _) = cell(&[panel("2024-03-01")]);
        let x0 = (w - (cw + 2 * GAP)) as i32 / 2 + GAP as i32 + (cw as i32 - 159) / 2;
        assert!(
            svg.contains(&format!("<rect x=\"{x0}\" y=\"{TITLE_H}\"")),
            "{x0}"
        );
        assert_eq!(text_width("abcde", 10), 30);
    }

    #[test]
    fn images_merge_runs_and_colour_labels() {
        let svg = render(&specs()[0]).unwrap();
        // Label 1 twice in a row: one rectangle 2 pixels wide (scale 160/3 = 53 px per pixel);
        // label 13 wraps around to the same palette entry in its own 1-pixel rectangle.
        let (r, g, b) = PALETTE[0];
        let fill = format!("opacity=\"1\" fill=\"#{r:02X}{g:02X}{b:02X}\"");
        assert_eq!(svg.matches(&fill).count(), 2, "{svg}");
        assert!(
            svg.contains(&format!("width=\"106\" height=\"53\" {fill}")),
            "{svg}"
        );
        // 13 cycles to palette entry 0 as well: label colours wrap after 12.
        assert_eq!(colour(13.0, Colormap::Labels, (0.0, 1.0)), PALETTE[0]);
        assert_eq!(colour(0.5, Colormap::Gray, (0.0, 1.0)), (128, 128, 128));
        assert_eq!(
            colour(f64::NAN, Colormap::Gray, (0.0, 1.0)),
            (230, 230, 250)
        );
    }

    #[test]
    fn numbers_format_the_same_everywhere() {
        assert_eq!(fmt_num(3.0), "3");
        assert_eq!(fmt_num(0.125), "0.125");
        assert_eq!(fmt_num(2.5), "2.5");
        assert_eq!(fmt_num(1.0 / 3.0), "0.333");
        assert_eq!(fmt_num(0.0001), "1.00e-4");
    }

    #[test]
    fn bad_specs_are_errors() {
        let bad = PlotSpec {
            title: "h".into(),
            kind: PlotKind::Histogram {
                x_label: String::new(),
                edges: vec![0.0],
                counts: vec![1],
            },
        };
        assert_eq!(
            SvgRenderer.render(&bad).unwrap_err(),
            "plot `h`: 1 edges for 1 counts"
        );
    }
}
