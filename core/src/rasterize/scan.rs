//! The pixel rules of GDAL 3.10 (`alg/llrasterize.cpp`), re-implemented: the centre-rule
//! polygon fill (with an edge table and an active-edge list instead of GDAL's test of every
//! edge on every row), Bresenham lines, the `all_touched` walk, and points.
//!
//! Everything emits *spans* `(row, first_col, last_col)` (inclusive, clipped to the grid and to
//! the requested window) into a [`Sink`]; the caller burns them.

use super::prepare::{Kind, Prim};

/// GDAL's `EPSILON_INTERSECT_ONLY`: edges within this of a pixel boundary do not touch the
/// pixel beyond it.
const EPS_INTERSECT: f64 = 1e-4;
/// Below this |Δ|, a segment is walked as vertical / horizontal.
const AXIS_EPS: f64 = 0.01;
/// Minimum row step of the general walk.
const MIN_STEP: f64 = 1e-9;

/// A rectangle of the grid being burned: rows `r0..r1`, cols `c0..c1`, in a `width × height`
/// grid.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Region {
    pub r0: i64,
    pub r1: i64,
    pub c0: i64,
    pub c1: i64,
    pub width: i64,
    pub height: i64,
}

impl Region {
    #[inline]
    fn has_row(&self, row: i64) -> bool {
        row >= self.r0 && row < self.r1
    }
}

/// Receives spans.
pub(crate) struct Sink<'a> {
    pub region: Region,
    pub spans: &'a mut Vec<(i64, i64, i64)>,
}

impl Sink<'_> {
    /// A span of the full grid row `row`, columns `a..=b` (unclipped).
    #[inline]
    fn span(&mut self, row: i64, a: i64, b: i64) {
        if !self.region.has_row(row) {
            return;
        }
        let a = a.max(self.region.c0);
        let b = b.min(self.region.c1 - 1);
        if a <= b {
            self.spans.push((row, a, b));
        }
    }

    /// One pixel (unclipped).
    #[inline]
    fn pixel(&mut self, row: i64, col: i64) {
        if self.region.has_row(row) && col >= self.region.c0 && col < self.region.c1 {
            self.spans.push((row, col, col));
        }
    }
}

/// One non-horizontal polygon edge, with the rows whose centre line it crosses.
#[derive(Debug, Clone, Copy)]
struct Edge {
    first: i64,
    last: i64,
    x_lo: f64,
    y_lo: f64,
    dx: f64,
    dy: f64,
}

/// A polygon in pixel space: its oriented rings and its edge table.
#[derive(Debug, Clone)]
pub(crate) struct PolygonEdges {
    /// Rings (closed, oriented clockwise in world space), pixel coordinates.
    pub rings: Vec<Vec<(f64, f64)>>,
    /// Non-horizontal edges crossing some row centre of the grid, sorted by first row.
    edges: Vec<Edge>,
    /// Horizontal edges on a row centre running right to left: `(row, x1, x2)` burns
    /// `x1..x2-1`; sorted by row.
    horizontal: Vec<(i64, i64, i64)>,
    /// Rows with something to fill: `[first, last]` (empty when first > last).
    fill_rows: (i64, i64),
}

/// Smallest row `y` in `[0, height]` with `y + 0.5 >= v` (`height` when none).
fn first_row(v: f64, height: i64) -> i64 {
    if v <= 0.5 {
        return 0;
    }
    if v > height as f64 + 0.5 {
        return height;
    }
    let mut y = (v - 0.5).ceil() as i64;
    while y > 0 && (y - 1) as f64 + 0.5 >= v {
        y -= 1;
    }
    while (y as f64 + 0.5) < v {
        y += 1;
    }
    y.min(height)
}

/// Largest row `y` in `[-1, height-1]` with `y + 0.5 < v` (`-1` when none).
fn last_row(v: f64, height: i64) -> i64 {
    if v > height as f64 - 0.5 {
        return height - 1;
    }
    if v <= 0.5 {
        return -1;
    }
    let mut y = (v - 0.5).floor() as i64;
    while (y as f64 + 0.5) >= v {
        y -= 1;
    }
    while y + 1 < height && ((y + 1) as f64 + 0.5) < v {
        y += 1;
    }
    y.max(-1)
}

/// GDAL's crossing index `(int)floor(x + 0.5)`, saturating.
#[inline]
fn round_index(x: f64) -> i64 {
    (x + 0.5).floor() as i64
}

impl PolygonEdges {
    /// Builds the edge table for a grid of `height` rows.
    pub(crate) fn new(rings: Vec<Vec<(f64, f64)>>, height: usize) -> Self {
        let h = i64::try_from(height).unwrap_or(i64::MAX);
        let mut edges = Vec::new();
        let mut horizontal = Vec::new();
        for ring in &rings {
            let n = ring.len();
            for i in 0..n {
                // GDAL's (ind1, ind2): (last, first) for the first vertex, then (i-1, i).
                let (p, q) = if i == 0 {
                    (ring[n - 1], ring[0])
                } else {
                    (ring[i - 1], ring[i])
                };
                if p.1 == q.1 {
                    // Horizontal: only burned when exactly on a centre line and running
                    // right to left.
                    if p.0 > q.0 {
                        let r = (p.1 - 0.5).floor();
                        if r + 0.5 == p.1 && r >= 0.0 && r < h as f64 {
                            horizontal.push((r as i64, round_index(q.0), round_index(p.0)));
                        }
                    }
                    continue;
                }
                let (lo, hi) = if p.1 < q.1 { (p, q) } else { (q, p) };
                let first = first_row(lo.1, h);
                let last = last_row(hi.1, h);
                if first > last {
                    continue;
                }
                edges.push(Edge {
                    first,
                    last,
                    x_lo: lo.0,
                    y_lo: lo.1,
                    dx: hi.0 - lo.0,
                    dy: hi.1 - lo.1,
                });
            }
        }
        edges.sort_by_key(|e| e.first);
        horizontal.sort_by_key(|h| h.0);
        let mut fill_rows = (i64::MAX, i64::MIN);
        for e in &edges {
            fill_rows.0 = fill_rows.0.min(e.first);
            fill_rows.1 = fill_rows.1.max(e.last);
        }
        for hz in &horizontal {
            fill_rows.0 = fill_rows.0.min(hz.0);
            fill_rows.1 = fill_rows.1.max(hz.0);
        }
        Self {
            rings,
            edges,
            horizontal,
            fill_rows,
        }
    }

    /// The centre-rule fill (`GDALdllImageFilledPolygon`) of the rows of `sink`'s region.
    fn fill(&self, sink: &mut Sink<'_>, active: &mut Vec<usize>, xs: &mut Vec<i64>) {
        let reg = sink.region;
        let start = self.fill_rows.0.max(reg.r0);
        let end = self.fill_rows.1.min(reg.r1 - 1);
        if start > end {
            return;
        }
        let maxx = reg.width - 1;
        active.clear();
        // Edges that began above the region and are still active.
        let mut next = self.edges.partition_point(|e| e.first < start);
        active.extend((0..next).filter(|&i| self.edges[i].last >= start));
        let mut hz = self.horizontal.partition_point(|h| h.0 < start);
        for y in start..=end {
            while next < self.edges.len() && self.edges[next].first <= y {
                active.push(next);
                next += 1;
            }
            active.retain(|&i| self.edges[i].last >= y);
            let cy = y as f64 + 0.5;
            xs.clear();
            for &i in active.iter() {
                let e = &self.edges[i];
                let x = (cy - e.y_lo) * e.dx / e.dy + e.x_lo;
                xs.push(round_index(x));
            }
            xs.sort_unstable();
            for pair in xs.chunks_exact(2) {
                if pair[0] <= maxx && pair[1] > 0 {
                    sink.span(y, pair[0], pair[1] - 1);
                }
            }
            while hz < self.horizontal.len() && self.horizontal[hz].0 == y {
                let (_, x1, x2) = self.horizontal[hz];
                if !(x1 > maxx || x2 <= 0) {
                    sink.span(y, x1, x2 - 1);
                }
                hz += 1;
            }
            if active.is_empty() && next == self.edges.len() && hz == self.horizontal.len() {
                break;
            }
        }
    }
}

/// Scratch buffers reused across primitives.
#[derive(Default)]
pub(crate) struct Scratch {
    active: Vec<usize>,
    xs: Vec<i64>,
}

/// Emits the spans of one primitive (before merge/dedup).
pub(crate) fn emit(prim: &Prim, all_touched: bool, sink: &mut Sink<'_>, scratch: &mut Scratch) {
    match &prim.kind {
        Kind::Points(pts) => {
            for &(x, y) in pts {
                let (c, r) = (x.floor(), y.floor());
                if c >= 0.0
                    && c < sink.region.width as f64
                    && r >= 0.0
                    && r < sink.region.height as f64
                {
                    sink.pixel(r as i64, c as i64);
                }
            }
        }
        Kind::Line(parts) => {
            for part in parts {
                for seg in part.windows(2) {
                    if !segment_near_region(seg[0], seg[1], &sink.region) {
                        continue;
                    }
                    if all_touched {
                        walk(seg[0], seg[1], false, sink);
                    } else {
                        bresenham(seg[0], seg[1], sink);
                    }
                }
            }
        }
        Kind::Polygon(poly) => {
            if all_touched {
                for ring in &poly.rings {
                    for seg in ring.windows(2) {
                        if segment_near_region(seg[0], seg[1], &sink.region) {
                            walk(seg[0], seg[1], true, sink);
                        }
                    }
                }
            }
            poly.fill(sink, &mut scratch.active, &mut scratch.xs);
        }
    }
}

/// False when a segment cannot touch any row of the region (a pure speed-up: every pixel a
/// segment burns lies within one row of its y range).
fn segment_near_region(p: (f64, f64), q: (f64, f64), reg: &Region) -> bool {
    let lo = p.1.min(q.1).floor() - 1.0;
    let hi = p.1.max(q.1).floor() + 1.0;
    hi >= reg.r0 as f64 && lo < reg.r1 as f64
}

/// `GDALdllImageLine` for one segment: Bresenham between the floored endpoints, inclusive
/// (the end pixel GDAL skips on inner segments is burned by the next one, so the union is
/// the same).
///
/// GDAL's loop keeps an error term; after `k` major steps the minor coordinate has moved
/// `m_k = ceil((c + (k−1)·a) / b)` times (`a = 2·minor`, `b = 2·major`, `c = a − major`), so
/// only the steps whose major coordinate lies inside the region are visited: a segment with
/// far-away endpoints costs no more than its visible part.
fn bresenham(p: (f64, f64), q: (f64, f64), sink: &mut Sink<'_>) {
    let floor_i = |v: f64| v.floor() as i64;
    let (x0, y0) = (floor_i(p.0), floor_i(p.1));
    let (x1, y1) = (floor_i(q.0), floor_i(q.1));
    let reg = sink.region;
    let x_major =
        (i128::from(x1) - i128::from(x0)).abs() >= (i128::from(y1) - i128::from(y0)).abs();
    // (major start, major end, minor start, minor end, major range to visit)
    let (ma0, ma1, mi0, mi1, lo, hi) = if x_major {
        (x0, x1, y0, y1, reg.c0.max(0), reg.c1.min(reg.width) - 1)
    } else {
        (y0, y1, x0, x1, reg.r0.max(0), reg.r1.min(reg.height) - 1)
    };
    let big_d = (i128::from(ma1) - i128::from(ma0)).abs();
    let small_d = (i128::from(mi1) - i128::from(mi0)).abs();
    let ma_step: i128 = if ma0 > ma1 { -1 } else { 1 };
    let mi_step: i128 = if mi0 > mi1 { -1 } else { 1 };
    let (a, b) = (2 * small_d, 2 * big_d);
    let c = a - big_d;
    // Steps k in 0..=big_d with major coordinate ma0 + k·ma_step inside [lo, hi].
    let (ma0w, low, high) = (i128::from(ma0), i128::from(lo), i128::from(hi));
    if low > high {
        return;
    }
    let (k_lo, k_hi) = if ma_step > 0 {
        (low - ma0w, high - ma0w)
    } else {
        (ma0w - high, ma0w - low)
    };
    let k_lo = k_lo.max(0);
    let k_hi = k_hi.min(big_d);
    let mut k = k_lo;
    while k <= k_hi {
        let m = if b == 0 {
            0
        } else {
            let num = c + (k - 1) * a;
            num.div_euclid(b) + i128::from(num.rem_euclid(b) != 0)
        };
        let major = ma0w + k * ma_step;
        let minor = i128::from(mi0) + m * mi_step;
        let (col, row) = if x_major {
            (major, minor)
        } else {
            (minor, major)
        };
        if let (Ok(col), Ok(row)) = (i64::try_from(col), i64::try_from(row))
            && col >= 0
            && col < reg.width
            && row >= 0
            && row < reg.height
        {
            sink.pixel(row, col);
        }
        k += 1;
    }
}

/// One segment of `GDALdllImageLineAllTouched` (GDAL ≥ 3.6 rules); `intersect_only` is set
/// for polygon rings.
fn walk(p: (f64, f64), q: (f64, f64), intersect_only: bool, sink: &mut Sink<'_>) {
    let (wi, hi) = (sink.region.width, sink.region.height);
    let (w, h) = (wi as f64, hi as f64);
    let (mut x, mut y) = p;
    let (mut xe, mut ye) = q;
    if (y < 0.0 && ye < 0.0) || (y > h && ye > h) || (x < 0.0 && xe < 0.0) || (x > w && xe > w) {
        return;
    }
    if x > xe {
        std::mem::swap(&mut x, &mut xe);
        std::mem::swap(&mut y, &mut ye);
    }
    let on_boundary = |v: f64| (v - v.round()).abs() < EPS_INTERSECT;
    let fl = |v: f64| v.floor() as i64;

    // Near-vertical: one column.
    if x.floor() == xe.floor() || (x - xe).abs() < AXIS_EPS {
        if intersect_only && on_boundary(x) && on_boundary(xe) {
            return;
        }
        if ye < y {
            std::mem::swap(&mut y, &mut ye);
        }
        let col = fl(xe);
        if col < 0 || col >= wi {
            return;
        }
        let r0 = fl(y).max(0).max(sink.region.r0);
        let r1 = fl(ye - EPS_INTERSECT).min(hi - 1).min(sink.region.r1 - 1);
        for row in r0..=r1 {
            sink.pixel(row, col);
        }
        return;
    }

    // Near-horizontal: one row.
    if y.floor() == ye.floor() || (y - ye).abs() < AXIS_EPS {
        if intersect_only && on_boundary(y) && on_boundary(ye) {
            return;
        }
        let row = fl(y);
        if row < 0 || row >= hi {
            return;
        }
        let c0 = fl(x).max(0);
        let c1 = fl(xe - EPS_INTERSECT).min(wi - 1);
        sink.span(row, c0, c1);
        return;
    }

    // General case: clip in x then y, then step from cell to cell.
    let slope = (ye - y) / (xe - x);
    if xe > w {
        ye -= (xe - w) * slope;
        xe = w;
    }
    if x < 0.0 {
        y += (0.0 - x) * slope;
        x = 0.0;
    }
    if ye > y {
        if y < 0.0 {
            x += (0.0 - y) / slope;
            y = 0.0;
        }
        if ye >= h {
            xe += (ye - h) / slope;
        }
    } else {
        if y >= h {
            x += (h - y) / slope;
            y = h;
        }
        if ye < 0.0 {
            xe -= (ye - 0.0) / slope;
        }
    }
    // Cells right of the grid are never burned (GDAL writes them nowhere valid).
    xe = xe.min(w);
    // Guard against pathological slopes (the loop always advances by at least MIN_STEP
    // in y or one cell in x, but never let a degenerate input spin).
    let mut budget = 4 * (wi + hi) + 64;
    while x >= 0.0 && x < xe && budget > 0 {
        budget -= 1;
        let ix = fl(x);
        let iy = fl(y);
        if iy >= 0 && iy < hi {
            sink.pixel(iy, ix);
        }
        // y is monotonic: once past the region's rows (or the grid's) in the direction of
        // travel, nothing more can be burned here.
        if (slope > 0.0 && (iy >= hi || iy >= sink.region.r1))
            || (slope < 0.0 && (iy < 0 || iy < sink.region.r0))
        {
            break;
        }
        let mut sx = (x + 1.0).floor() - x;
        let mut sy = sx * slope;
        if fl(y + sy) == iy {
            x += sx;
            y += sy;
        } else if slope < 0.0 {
            sy = iy as f64 - y;
            if sy > -MIN_STEP {
                sy = -MIN_STEP;
            }
            sx = sy / slope;
            x += sx;
            y += sy;
        } else {
            sy = (iy + 1) as f64 - y;
            if sy < MIN_STEP {
                sy = MIN_STEP;
            }
            sx = sy / slope;
            x += sx;
            y += sy;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_bounds_are_half_open() {
        assert_eq!(first_row(1.5, 10), 1);
        assert_eq!(first_row(1.5000001, 10), 2);
        assert_eq!(first_row(-3.0, 10), 0);
        assert_eq!(first_row(42.0, 10), 10);
        assert_eq!(last_row(5.5, 10), 4);
        assert_eq!(last_row(5.50001, 10), 5);
        assert_eq!(last_row(0.5, 10), -1);
        assert_eq!(last_row(1e300, 10), 9);
    }
}
