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

/// Where spans go: collected (add mode, aggregations) or burned straight into the output.
pub(crate) trait SpanOut {
    /// Columns `a..=b` of row `row` (already clipped to the region).
    fn put(&mut self, row: i64, a: i64, b: i64);
}

impl SpanOut for Vec<(i64, i64, i64)> {
    #[inline]
    fn put(&mut self, row: i64, a: i64, b: i64) {
        // Neighbouring pixels of one row (the all_touched walk) become one span.
        if let Some(last) = self.last_mut()
            && last.0 == row
            && a == last.2 + 1
        {
            last.2 = b;
            return;
        }
        self.push((row, a, b));
    }
}

/// Receives spans, clipped to a region.
pub(crate) struct Sink<'a, O: SpanOut> {
    pub region: Region,
    pub out: &'a mut O,
}

impl<O: SpanOut> Sink<'_, O> {
    /// A span of the full grid row `row`, columns `a..=b` (unclipped).
    #[inline]
    fn span(&mut self, row: i64, a: i64, b: i64) {
        if !self.region.has_row(row) {
            return;
        }
        let a = a.max(self.region.c0);
        let b = b.min(self.region.c1 - 1);
        if a <= b {
            self.out.put(row, a, b);
        }
    }

    /// One pixel (unclipped).
    #[inline]
    fn pixel(&mut self, row: i64, col: i64) {
        if self.region.has_row(row) && col >= self.region.c0 && col < self.region.c1 {
            self.out.put(row, col, col);
        }
    }
}

/// `v.floor() as i64` without the libm call `f64::floor` becomes on baseline x86-64
/// (saturating like `as`; NaN gives 0).
#[inline]
fn floor_i(v: f64) -> i64 {
    let t = v as i64;
    if (t as f64) > v {
        t.saturating_sub(1)
    } else {
        t
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
    floor_i(x + 0.5)
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
    ///
    /// The active edges are kept ordered by their crossing from row to row: edges of a valid
    /// polygon never cross, so after the new edges are inserted the list is nearly sorted and
    /// an insertion sort costs O(active) per row (a full sort is used when it would not be).
    /// The crossing uses GDAL's own expression, so the rounded columns are GDAL's; sorting
    /// the exact crossings or the rounded ones gives the same pairs.
    fn fill<O: SpanOut>(&self, sink: &mut Sink<'_, O>, scratch: &mut Scratch) {
        let Scratch {
            active,
            fresh,
            merged,
            cols,
        } = scratch;
        let reg = sink.region;
        let start = self.fill_rows.0.max(reg.r0);
        let end = self.fill_rows.1.min(reg.r1 - 1);
        if start > end {
            return;
        }
        let maxx = reg.width - 1;
        active.clear();
        // Edges that began above the region and are still active (sorted on the first row).
        let mut next = self.edges.partition_point(|e| e.first < start);
        active.extend(
            (0..next)
                .filter(|&i| self.edges[i].last >= start)
                .map(|i| Act::new(&self.edges, i, start as f64 + 0.5)),
        );
        let mut hz = self.horizontal.partition_point(|h| h.0 < start);
        let edges = &self.edges;
        let mut first_row = true;
        for y in start..=end {
            let cy = y as f64 + 0.5;
            // New edges, sorted among themselves.
            fresh.clear();
            while next < edges.len() && edges[next].first <= y {
                fresh.push(Act::new(edges, next, cy));
                next += 1;
            }
            if fresh.len() > 1 {
                fresh.sort_unstable_by(|a, b| a.x.total_cmp(&b.x));
            }
            // One pass: drop finished edges, advance the others by their slope, merge the new
            // ones in.
            merged.clear();
            let mut j = 0;
            let mut prev = f64::NEG_INFINITY;
            let mut sorted = !first_row;
            for a in active.iter() {
                if a.last < y {
                    continue;
                }
                let x = if first_row {
                    cross(&edges[a.idx as usize], cy)
                } else {
                    a.x + a.k
                };
                if x < prev {
                    sorted = false;
                }
                prev = x;
                while j < fresh.len() && fresh[j].x < x {
                    merged.push(fresh[j]);
                    j += 1;
                }
                merged.push(Act { x, ..*a });
            }
            merged.extend_from_slice(&fresh[j..]);
            std::mem::swap(active, merged);
            if !sorted {
                sort_nearly_sorted(active);
            }
            first_row = false;
            // GDAL's crossing column: from the running crossing, unless it lies within
            // NEAR of a rounding boundary (or the edge is outside the range where the running
            // value is known to be that close), where GDAL's own expression decides.
            cols.clear();
            let mut monotone = true;
            let mut last = i64::MIN;
            for a in active.iter() {
                let r = a.x + 0.5;
                let mut c = floor_i(r);
                let f = r - c as f64;
                if !a.approx || !(NEAR..=1.0 - NEAR).contains(&f) {
                    c = round_index(cross(&edges[a.idx as usize], cy));
                }
                monotone &= c >= last;
                last = c;
                cols.push(c);
            }
            if !monotone {
                cols.sort_unstable();
            }
            for pair in cols.chunks_exact(2) {
                let (x0, x1) = (pair[0], pair[1]);
                if x0 <= maxx && x1 > 0 {
                    sink.span(y, x0, x1 - 1);
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

/// Sorts by the crossing (`total_cmp`): insertion sort while the list is nearly sorted,
/// a full sort once the moves exceed a few per element (crossing edges).
fn sort_nearly_sorted(v: &mut [Act]) {
    let limit = 4 * v.len() + 64;
    let mut moves = 0usize;
    for i in 1..v.len() {
        let cur = v[i];
        let mut j = i;
        while j > 0 && v[j - 1].x.total_cmp(&cur.x).is_gt() {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = cur;
        moves += i - j;
        if moves > limit {
            v.sort_unstable_by(|a, b| a.x.total_cmp(&b.x));
            return;
        }
    }
}

/// Scratch buffers reused across primitives.
#[derive(Default)]
pub(crate) struct Scratch {
    active: Vec<Act>,
    fresh: Vec<Act>,
    merged: Vec<Act>,
    cols: Vec<i64>,
}

/// GDAL's crossing of an edge with the centre line `cy`, operation for operation.
#[inline]
fn cross(e: &Edge, cy: f64) -> f64 {
    (cy - e.y_lo) * e.dx / e.dy + e.x_lo
}

/// How close to a rounding boundary the running crossing may come before GDAL's expression
/// is evaluated instead. The running crossing (`x += dx/dy` per row) is within 1e-7 px of
/// GDAL's value while |x| ≤ 1e5 and |dx/dy| ≤ 1e4 over at most 2^14 rows (a rounding of at
/// most 2^-53·2^17 per addition plus the slope's own 2^-53 relative error, times the rows,
/// about 1.4e-7; GDAL's own value is within a few ulps of the true crossing); edges outside
/// those bounds always use GDAL's expression.
const NEAR: f64 = 1e-6;

/// An active edge (copied in, so the row loop reads memory in order), its running crossing
/// with the current row's centre line and its slope per row.
#[derive(Debug, Clone, Copy)]
struct Act {
    x: f64,
    k: f64,
    last: i64,
    /// Index in the edge table.
    idx: u32,
    approx: bool,
}

impl Act {
    fn new(edges: &[Edge], idx: usize, cy: f64) -> Self {
        let e = &edges[idx];
        let x = cross(e, cy);
        let k = e.dx / e.dy;
        let span = (e.last - e.first) as f64;
        let approx =
            x.abs() <= 1e5 && (x + k * span).abs() <= 1e5 && k.abs() <= 1e4 && span <= 16384.0;
        Self {
            x,
            k,
            last: e.last,
            idx: idx as u32,
            approx,
        }
    }
}

/// Emits the spans of one primitive (before merge/dedup).
pub(crate) fn emit<O: SpanOut>(
    prim: &Prim,
    all_touched: bool,
    sink: &mut Sink<'_, O>,
    scratch: &mut Scratch,
) {
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
                walk_rings(&poly.rings, sink);
            }
            poly.fill(sink, scratch);
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
fn bresenham<O: SpanOut>(p: (f64, f64), q: (f64, f64), sink: &mut Sink<'_, O>) {
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
fn walk<O: SpanOut>(p: (f64, f64), q: (f64, f64), intersect_only: bool, sink: &mut Sink<'_, O>) {
    if let Some(mut w) = walk_start(p, q, intersect_only, true, sink) {
        while w.step(sink) {}
    }
}

/// The general case of one [`walk`] near pixel corners or the grid's border, stepped one
/// cell at a time with GDAL's arithmetic.
#[derive(Debug, Clone, Copy)]
struct Walk {
    x: f64,
    y: f64,
    xe: f64,
    slope: f64,
    hi: i64,
    budget: i64,
}

impl Walk {
    /// Burns the current cell and moves to the next; false once the walk is over.
    #[inline]
    fn step<O: SpanOut>(&mut self, sink: &mut Sink<'_, O>) -> bool {
        let fl = floor_i;
        let (x, y, slope, hi) = (self.x, self.y, self.slope, self.hi);
        if !(x >= 0.0 && x < self.xe && self.budget > 0) {
            return false;
        }
        self.budget -= 1;
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
            return false;
        }
        let mut sx = fl(x + 1.0) as f64 - x;
        let mut sy = sx * slope;
        if fl(y + sy) == iy {
            self.x = x + sx;
            self.y = y + sy;
        } else if slope < 0.0 {
            sy = iy as f64 - y;
            if sy > -MIN_STEP {
                sy = -MIN_STEP;
            }
            sx = sy / slope;
            self.x = x + sx;
            self.y = y + sy;
        } else {
            sy = (iy + 1) as f64 - y;
            if sy < MIN_STEP {
                sy = MIN_STEP;
            }
            sx = sy / slope;
            self.x = x + sx;
            self.y = y + sy;
        }
        true
    }
}

/// The ring walks of a polygon.
fn walk_rings<O: SpanOut>(rings: &[Vec<(f64, f64)>], sink: &mut Sink<'_, O>) {
    for ring in rings {
        for seg in ring.windows(2) {
            if segment_near_region(seg[0], seg[1], &sink.region) {
                walk(seg[0], seg[1], true, sink);
            }
        }
    }
}

/// How close (px) to a pixel corner or boundary line a segment may come and still be burned
/// as its geometric supercover instead of by the step-by-step walk: the walk's own position
/// is within about 1e-12 px of the segment and its smallest forced step is 1e-9 px, so away
/// from these places the cells it visits are exactly the cells the segment passes through.
const NEAR_LATTICE: f64 = 1e-7;

/// The general-case walk of a segment lying strictly inside the grid, burned row by row as
/// the cells it passes through (one span per row, no dependent steps). Returns false,
/// burning nothing, when an endpoint lies near a pixel boundary or the segment passes near a
/// pixel corner: there the walk's rounding decides, and the caller walks it.
fn supercover<O: SpanOut>(
    x: f64,
    y: f64,
    xe: f64,
    ye: f64,
    slope: f64,
    sink: &mut Sink<'_, O>,
) -> bool {
    let (w, h) = (sink.region.width as f64, sink.region.height as f64);
    let (ylo, yhi) = (y.min(ye), y.max(ye));
    let near = |v: f64| {
        let f = v - floor_i(v) as f64;
        !(NEAR_LATTICE..=1.0 - NEAR_LATTICE).contains(&f)
    };
    if !(x > 0.0 && xe < w && ylo > 0.0 && yhi < h)
        || near(x)
        || near(y)
        || near(xe)
        || near(ye)
        || !slope.is_finite()
    {
        return false;
    }
    let dxdy = (xe - x) / (ye - y);
    let (r_lo, r_hi) = (floor_i(ylo), floor_i(yhi));
    // The segment's x where it crosses row boundary k.
    let x_at = |k: i64| x + (k as f64 - y) * dxdy;
    let (x_lo, x_hi) = if y < ye { (x, xe) } else { (xe, x) };
    // Rows of the region, top to bottom; each row's span goes out as soon as it is known
    // (should a later row turn out ambiguous, the walk burns the same cells again).
    let (r0, r1) = (sink.region.r0.max(r_lo), (sink.region.r1 - 1).min(r_hi));
    if r0 > r1 {
        return true;
    }
    let mut xa = if r0 == r_lo { x_lo } else { x_at(r0) };
    if r0 > r_lo && near(xa) {
        return false;
    }
    for r in r0..=r1 {
        let xb = if r == r_hi { x_hi } else { x_at(r + 1) };
        // A row boundary crossed near a column boundary is a corner.
        if r < r_hi && near(xb) {
            return false;
        }
        let (ca, cb) = (floor_i(xa.min(xb)), floor_i(xa.max(xb)));
        // A column boundary crossed near a row boundary (only the first and last crossing
        // of the row can be).
        if ca < cb && (near(y + ((ca + 1) as f64 - x) * slope) || near(y + (cb as f64 - x) * slope))
        {
            return false;
        }
        sink.span(r, ca, cb);
        xa = xb;
    }
    true
}

/// The start of one walk: the near-vertical and near-horizontal cases are burned at once,
/// the general case is clipped and returned.
/// `fast`: burn segments away from pixel corners as their supercover (always, except in the
/// test that checks it against the walk).
fn walk_start<O: SpanOut>(
    p: (f64, f64),
    q: (f64, f64),
    intersect_only: bool,
    fast: bool,
    sink: &mut Sink<'_, O>,
) -> Option<Walk> {
    let (wi, hi) = (sink.region.width, sink.region.height);
    let (w, h) = (wi as f64, hi as f64);
    let (mut x, mut y) = p;
    let (mut xe, mut ye) = q;
    if (y < 0.0 && ye < 0.0) || (y > h && ye > h) || (x < 0.0 && xe < 0.0) || (x > w && xe > w) {
        return None;
    }
    if x > xe {
        std::mem::swap(&mut x, &mut xe);
        std::mem::swap(&mut y, &mut ye);
    }
    let on_boundary = |v: f64| (v - v.round()).abs() < EPS_INTERSECT;
    let fl = floor_i;

    // Near-vertical: one column.
    if fl(x) == fl(xe) || (x - xe).abs() < AXIS_EPS {
        if intersect_only && on_boundary(x) && on_boundary(xe) {
            return None;
        }
        if ye < y {
            std::mem::swap(&mut y, &mut ye);
        }
        let col = fl(xe);
        if col < 0 || col >= wi {
            return None;
        }
        let r0 = fl(y).max(0).max(sink.region.r0);
        let r1 = fl(ye - EPS_INTERSECT).min(hi - 1).min(sink.region.r1 - 1);
        for row in r0..=r1 {
            sink.pixel(row, col);
        }
        return None;
    }

    // Near-horizontal: one row.
    if fl(y) == fl(ye) || (y - ye).abs() < AXIS_EPS {
        if intersect_only && on_boundary(y) && on_boundary(ye) {
            return None;
        }
        let row = fl(y);
        if row < 0 || row >= hi {
            return None;
        }
        let c0 = fl(x).max(0);
        let c1 = fl(xe - EPS_INTERSECT).min(wi - 1);
        sink.span(row, c0, c1);
        return None;
    }

    // General case: clip in x then y, then step from cell to cell.
    let slope = (ye - y) / (xe - x);
    if fast && supercover(x, y, xe, ye, slope, sink) {
        return None;
    }
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
    Some(Walk {
        x,
        y,
        xe,
        slope,
        hi,
        budget: 4 * (wi + hi) + 64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The supercover shortcut burns exactly the cells of GDAL's step-by-step walk: random
    /// segments, many with endpoints on pixel boundaries or through pixel corners.
    #[test]
    fn supercover_equals_the_walk() {
        let mut s = 3u64;
        let mut rnd = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let region = Region {
            r0: 0,
            r1: 40,
            c0: 0,
            c1: 50,
            width: 50,
            height: 40,
        };
        let mut fast_used = 0;
        for case in 0..20_000 {
            // Every third segment snapped to quarter pixels, every third to a 1/3 lattice.
            let snap = |v: f64| match case % 3 {
                0 => (v * 4.0).round() / 4.0,
                1 => (v * 3.0).round() / 3.0,
                _ => v,
            };
            let p = (snap(rnd() * 56.0 - 3.0), snap(rnd() * 46.0 - 3.0));
            let q = (snap(rnd() * 56.0 - 3.0), snap(rnd() * 46.0 - 3.0));
            let run = |fast: bool| {
                let mut out: Vec<(i64, i64, i64)> = Vec::new();
                let mut sink = Sink {
                    region,
                    out: &mut out,
                };
                let used = match walk_start(p, q, true, fast, &mut sink) {
                    Some(mut w) => {
                        while w.step(&mut sink) {}
                        false
                    }
                    None => true,
                };
                let mut px: Vec<(i64, i64)> = out
                    .iter()
                    .flat_map(|&(r, a, b)| (a..=b).map(move |c| (r, c)))
                    .collect();
                px.sort_unstable();
                px.dedup();
                (px, used)
            };
            let (slow, _) = run(false);
            let (fast, used) = run(true);
            fast_used += usize::from(used);
            assert_eq!(fast, slow, "segment {p:?} -> {q:?}");
        }
        assert!(fast_used > 5_000, "{fast_used}");
    }

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
