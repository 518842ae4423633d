//! The "Slicing a cube into chips" lesson: a chip plan over an image, drawn as SVG.

use std::fmt::Write as _;

use crate::grid::Grid;
use crate::slice::{EdgePolicy, SlicePlan, SliceSpec};

use super::{LessonError, integer};

/// Most chips the lesson draws.
const MAX_CHIPS: u64 = 20_000;
/// Most image pixels the lesson tracks coverage for (one byte each).
const MAX_PIXELS: u64 = 16 << 20;

/// The reader's inputs to the slicing lesson, as typed.
///
/// ```
/// use geochip::lesson::{slicing_lesson, SliceLessonInput};
/// let input = SliceLessonInput { window: "256", overlap: "32", edge: "drop", sampling: "grid",
///     count: "", seed: "", image_href: "img.png" };
/// let answer = slicing_lesson(&input, &geochip::Grid::new(
///     geochip::GeoTransform::new(30.0, 0.0, 0.0, 0.0, -30.0, 0.0), 791, 718, None).unwrap()).unwrap();
/// assert!(answer.summary.contains("\"chips\": 9"));
/// assert!(answer.svg.starts_with("<svg"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceLessonInput<'a> {
    /// Square window size in pixels (`input_dims` y = x = window).
    pub window: &'a str,
    /// Overlap in pixels (may be negative: gaps between chips).
    pub overlap: &'a str,
    /// `drop`, `pad`, `shift-last-inside` or `partial`.
    pub edge: &'a str,
    /// `grid` (xbatcher) or `random` (seeded, with replacement).
    pub sampling: &'a str,
    /// Number of random chips (random sampling only).
    pub count: &'a str,
    /// Seed (random sampling only).
    pub seed: &'a str,
    /// The background image's URL, written into the SVG as is.
    pub image_href: &'a str,
}

/// The lesson's answer: a JSON summary and the SVG drawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceLessonAnswer {
    /// Pretty JSON: chip count, window counts, pixels never covered, the first chips with
    /// their own geotransforms.
    pub summary: String,
    /// An SVG (viewBox in pixels) of the image, the chips and the uncovered pixels.
    pub svg: String,
}

/// Runs the slicing lesson on a grid (the image's), returning the summary and the SVG.
///
/// ```
/// use geochip::lesson::{slicing_lesson, SliceLessonInput};
/// let g = geochip::Grid::new(geochip::GeoTransform::identity(), 100, 100, None).unwrap();
/// let bad = SliceLessonInput { window: "200", overlap: "0", edge: "drop", sampling: "grid",
///     count: "", seed: "", image_href: "" };
/// assert!(slicing_lesson(&bad, &g).is_err());
/// ```
pub fn slicing_lesson(
    input: &SliceLessonInput<'_>,
    grid: &Grid,
) -> Result<SliceLessonAnswer, LessonError> {
    let window: usize = integer("window", input.window)?;
    let overlap: i64 = integer("overlap", input.overlap)?;
    let edge: EdgePolicy = input.edge.parse()?;
    let mut spec = SliceSpec::new(&[("y", window), ("x", window)])
        .input_overlap(&[("y", overlap), ("x", overlap)])
        .edge(edge);
    let random = match input.sampling.trim() {
        "grid" => false,
        "random" => true,
        other => {
            return Err(LessonError::NotANumber {
                field: "sampling",
                text: format!("{other} (expected grid or random)"),
            });
        }
    };
    if random {
        let count: u64 = integer("count", input.count)?;
        let seed: u64 = integer("seed", input.seed)?;
        spec = spec.random(count, seed);
    }
    let (h, w) = grid.shape();
    let pixels = (h as u64).saturating_mul(w as u64);
    if pixels > MAX_PIXELS {
        return Err(LessonError::TooMany {
            what: "image pixels",
            count: pixels,
            max: MAX_PIXELS,
            hint: "use a smaller image",
        });
    }
    let plan = SlicePlan::new(&["y", "x"], &[h, w], &spec)?.with_grid(grid.clone());
    let n = plan.num_chips();
    if n > MAX_CHIPS {
        return Err(LessonError::TooMany {
            what: "chips",
            count: n,
            max: MAX_CHIPS,
            hint: "use a larger window or fewer random chips",
        });
    }
    // Covered-pixel mask: one byte per pixel of the image (≤ a few MB for lesson images).
    let mut covered = vec![false; h * w];
    let mut rects = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    let mut first = Vec::new();
    for j in 0..n {
        let chip = plan.chip(j)?;
        let (y0, x0) = (chip.start("y").unwrap_or(0), chip.start("x").unwrap_or(0));
        let ch = chip.selector.get("y").map_or(h, |s| s.len());
        let cw = chip.selector.get("x").map_or(w, |s| s.len());
        for y in y0..(y0 + ch).min(h) {
            covered[y * w + x0.min(w)..y * w + (x0 + cw).min(w)].fill(true);
        }
        rects.push((x0, y0, cw, ch, chip.padded));
        if first.len() < 4 {
            let cg = plan.chip_grid(&chip)?;
            first.push(serde_json::json!({
                "chip": j,
                "selector": chip.selector.to_string(),
                "padded": chip.padded,
                "transform": cg.map(|g| g.transform.to_affine()),
            }));
        }
    }
    let uncovered = covered.iter().filter(|c| !**c).count();
    let counts: Vec<serde_json::Value> = plan
        .window_counts()
        .into_iter()
        .map(|(d, k)| serde_json::json!([d, k]))
        .collect();
    let summary = serde_json::json!({
        "image": { "height": h, "width": w },
        "chips": n,
        "window_counts": if random { serde_json::Value::Null } else { serde_json::Value::Array(counts) },
        "uncovered_pixels": uncovered,
        "uncovered_fraction": uncovered as f64 / (h * w) as f64,
        "first_chips": first,
    });
    let summary = serde_json::to_string_pretty(&summary).unwrap_or_default();

    let mut svg = String::new();
    // The viewBox is in pixels, padded by one window so padded chips stay visible.
    let pad = if matches!(edge, EdgePolicy::Pad(_)) {
        window
    } else {
        0
    };
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" role=\"img\" \
         aria-label=\"{n} chips over a {w}x{h} image\">",
        w + pad,
        h + pad
    );
    let _ = write!(
        svg,
        "<image href=\"{}\" x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" preserveAspectRatio=\"none\"/>",
        xml_escape(input.image_href)
    );
    svg.push_str("<g fill=\"#ff1744\" fill-opacity=\"0.55\">");
    for (x, y, rw, rh) in mask_rects(&covered, w, h) {
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{rw}\" height=\"{rh}\"/>"
        );
    }
    svg.push_str("</g><g fill=\"none\" stroke-width=\"2\">");
    for (x, y, rw, rh, padded) in rects {
        let colour = if padded { "#ffab00" } else { "#00e5ff" };
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{rw}\" height=\"{rh}\" stroke=\"{colour}\"/>"
        );
    }
    svg.push_str("</g></svg>");
    Ok(SliceLessonAnswer { summary, svg })
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Rectangles covering the `false` cells of a row-major mask: runs per row, merged downwards
/// while the run below is identical.
fn mask_rects(mask: &[bool], w: usize, h: usize) -> Vec<(usize, usize, usize, usize)> {
    let runs = |y: usize| {
        let row = &mask[y * w..(y + 1) * w];
        let mut out = Vec::new();
        let mut x = 0;
        while x < w {
            if row[x] {
                x += 1;
                continue;
            }
            let start = x;
            while x < w && !row[x] {
                x += 1;
            }
            out.push((start, x - start));
        }
        out
    };
    let mut done = Vec::new();
    // open: (x, width) → (y0, height)
    let mut open: Vec<(usize, usize, usize, usize)> = Vec::new();
    for y in 0..h {
        let row = runs(y);
        let mut next = Vec::new();
        for (x, rw, y0, rh) in open.drain(..) {
            if row.contains(&(x, rw)) {
                next.push((x, rw, y0, rh + 1));
            } else {
                done.push((x, y0, rw, rh));
            }
        }
        for (x, rw) in row {
            if !next.iter().any(|r| r.0 == x && r.1 == rw) {
                next.push((x, rw, y, 1));
            }
        }
        open = next;
    }
    done.extend(open.into_iter().map(|(x, rw, y0, rh)| (x, y0, rw, rh)));
    done.sort_unstable();
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::GeoTransform;

    fn rgb_grid() -> Grid {
        Grid::new(
            GeoTransform::from_gdal([
                101985.0,
                300.0379266750948,
                0.0,
                2826915.0,
                0.0,
                -300.041782729805,
            ]),
            791,
            718,
            None,
        )
        .unwrap()
    }

    fn input<'a>() -> SliceLessonInput<'a> {
        SliceLessonInput {
            window: "256",
            overlap: "32",
            edge: "drop",
            sampling: "grid",
            count: "10",
            seed: "1",
            image_href: "RGB.byte.png",
        }
    }

    fn summary(i: &SliceLessonInput<'_>) -> serde_json::Value {
        serde_json::from_str(&slicing_lesson(i, &rgb_grid()).unwrap().summary).unwrap()
    }

    #[test]
    fn xbatcher_counts_and_uncovered_pixels() {
        // stride 224: y windows ⌊(718−256)/224⌋+1 = 3, x ⌊(791−256)/224⌋+1 = 3.
        let v = summary(&input());
        assert_eq!(v["chips"], 9);
        // covered y: 0..704, x: 0..704 → uncovered = 718·791 − 704·704
        assert_eq!(v["uncovered_pixels"], 718 * 791 - 704 * 704);
        // chip 1 starts at x = 224: c = 101985 + 224·a
        assert_eq!(
            v["first_chips"][1]["transform"][2],
            101985.0 + 224.0 * 300.0379266750948
        );
    }

    #[test]
    fn edge_policies_cover_everything_but_drop() {
        for edge in ["pad", "shift-last-inside", "partial"] {
            let v = summary(&SliceLessonInput { edge, ..input() });
            assert_eq!(v["uncovered_pixels"], 0, "{edge}");
            assert_eq!(v["chips"], 16, "{edge}");
        }
    }

    #[test]
    fn random_sampling_depends_on_the_seed_only() {
        let a = slicing_lesson(
            &SliceLessonInput {
                sampling: "random",
                ..input()
            },
            &rgb_grid(),
        )
        .unwrap();
        let b = slicing_lesson(
            &SliceLessonInput {
                sampling: "random",
                ..input()
            },
            &rgb_grid(),
        )
        .unwrap();
        let c = slicing_lesson(
            &SliceLessonInput {
                sampling: "random",
                seed: "2",
                ..input()
            },
            &rgb_grid(),
        )
        .unwrap();
        assert_eq!(a, b);
        assert_ne!(a.svg, c.svg);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let g = rgb_grid();
        for bad in [
            SliceLessonInput {
                window: "x",
                ..input()
            },
            SliceLessonInput {
                window: "1000",
                ..input()
            },
            SliceLessonInput {
                overlap: "256",
                ..input()
            },
            SliceLessonInput {
                edge: "wrap",
                ..input()
            },
            SliceLessonInput {
                window: "1",
                overlap: "0",
                ..input()
            },
            SliceLessonInput {
                sampling: "random",
                count: "-1",
                ..input()
            },
        ] {
            assert!(slicing_lesson(&bad, &g).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn huge_images_are_refused_before_allocating() {
        let g = Grid::new(GeoTransform::identity(), 1 << 20, 1 << 20, None).unwrap();
        let err = slicing_lesson(&input(), &g).unwrap_err();
        assert!(
            matches!(
                err,
                LessonError::TooMany {
                    what: "image pixels",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn mask_rects_cover_exactly_the_false_cells() {
        let (w, h) = (7, 5);
        let mask: Vec<bool> = (0..w * h).map(|i| (i * 7919) % 3 != 0).collect();
        let rects = mask_rects(&mask, w, h);
        let mut painted = vec![true; w * h];
        for (x, y, rw, rh) in rects {
            for yy in y..y + rh {
                for xx in x..x + rw {
                    assert!(painted[yy * w + xx], "overlap at {xx},{yy}");
                    painted[yy * w + xx] = false;
                }
            }
        }
        assert_eq!(painted, mask);
    }
}
