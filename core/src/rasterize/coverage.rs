//! Exact fractional coverage: the area of each pixel inside a polygon.
//!
//! Signed-area accumulation: every edge adds, to the cells of each row it crosses, the
//! signed area between it and the cell's right side; a prefix sum along the row then gives
//! each cell the (winding-weighted) area of the polygon inside it. Exact for straight edges
//! (up to f64 rounding); holes subtract because they run opposite to the exterior.
//!
//! Signed area is winding, not even-odd: it equals the even-odd area only for simple,
//! disjoint rings with holes directly inside their shell. `simple::resolve` checks that
//! and rebuilds every other feature as such rings first, so coverage follows GDAL's
//! even-odd rule for bow-ties, figure-eights, holes crossing their shell and overlapping
//! parts too.

/// Per-polygon accumulation buffer (`(width + 2) × height`).
pub(crate) struct Accumulator {
    w: usize,
    h: usize,
    a: Vec<f64>,
    rows: (usize, usize),
}

impl Accumulator {
    pub(crate) fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            a: vec![0.0; (w + 2) * h],
            rows: (usize::MAX, 0),
        }
    }

    /// Resets the touched rows.
    pub(crate) fn clear(&mut self) {
        if self.rows.0 <= self.rows.1 && self.rows.0 != usize::MAX {
            let stride = self.w + 2;
            self.a[self.rows.0 * stride..(self.rows.1 + 1) * stride].fill(0.0);
        }
        self.rows = (usize::MAX, 0);
    }

    /// Adds a polygon whose rings are all oriented the same way (GDAL's normalisation):
    /// the holes are walked backwards so they subtract. Returns false when nothing landed.
    pub(crate) fn add_polygon(&mut self, rings: &[Vec<(f64, f64)>]) {
        for (i, ring) in rings.iter().enumerate() {
            let n = ring.len();
            for k in 0..n {
                let (p, q) = (ring[k], ring[(k + 1) % n]);
                if i == 0 {
                    self.edge(p, q);
                } else {
                    self.edge(q, p);
                }
            }
        }
    }

    /// Adds rings exactly as oriented (outer rings one way, holes the other).
    pub(crate) fn add_rings(&mut self, rings: &[Vec<(f64, f64)>]) {
        for ring in rings {
            let n = ring.len();
            for k in 0..n {
                self.edge(ring[k], ring[(k + 1) % n]);
            }
        }
    }

    /// Adds `|accumulated area|` of every touched cell to `out` (`width × height`) and clears.
    pub(crate) fn flush_into(&mut self, out: &mut [f64]) {
        if self.rows.0 == usize::MAX {
            return;
        }
        let stride = self.w + 2;
        for row in self.rows.0..=self.rows.1 {
            let mut acc = 0.0;
            let cells = &mut self.a[row * stride..(row + 1) * stride];
            for (col, cell) in cells.iter().take(self.w).enumerate() {
                acc += *cell;
                out[row * self.w + col] += acc.abs();
            }
            cells.fill(0.0);
        }
        self.rows = (usize::MAX, 0);
    }

    /// Splits an edge at x = 0 and x = width; parts beyond become vertical at the border
    /// (their area lies entirely left of / right of every cell).
    fn edge(&mut self, p: (f64, f64), q: (f64, f64)) {
        if p.1 == q.1 {
            return;
        }
        let w = self.w as f64;
        let mut ts = [0.0, 1.0, 1.0, 1.0];
        let mut n = 1;
        for bound in [0.0, w] {
            if (p.0 - bound) * (q.0 - bound) < 0.0 {
                ts[n] = (bound - p.0) / (q.0 - p.0);
                n += 1;
            }
        }
        ts[n] = 1.0;
        ts[1..n].sort_by(f64::total_cmp);
        let at = |t: f64| -> (f64, f64) {
            if t == 0.0 {
                p
            } else if t == 1.0 {
                q
            } else {
                (p.0 + (q.0 - p.0) * t, p.1 + (q.1 - p.1) * t)
            }
        };
        for k in 0..n {
            let (a, b) = (at(ts[k]), at(ts[k + 1]));
            let mid = 0.5 * (a.0 + b.0);
            let clampx = |x: f64| {
                if mid <= 0.0 {
                    0.0
                } else if mid >= w {
                    w
                } else {
                    x.clamp(0.0, w)
                }
            };
            self.piece((clampx(a.0), a.1), (clampx(b.0), b.1));
        }
    }

    /// An edge piece with x in [0, width].
    fn piece(&mut self, p: (f64, f64), q: (f64, f64)) {
        if p.1 == q.1 {
            return;
        }
        let (dir, top, bot) = if p.1 < q.1 { (1.0, p, q) } else { (-1.0, q, p) };
        let h = self.h as f64;
        let y0 = top.1.max(0.0);
        let y1 = bot.1.min(h);
        if y0 >= y1 {
            return;
        }
        let w = self.w as f64;
        let dxdy = (bot.0 - top.0) / (bot.1 - top.1);
        let x_at = |y: f64| {
            if y == top.1 {
                top.0
            } else if y == bot.1 {
                bot.0
            } else {
                (top.0 + (y - top.1) * dxdy).clamp(0.0, w)
            }
        };
        let r0 = y0.floor() as usize;
        let r1 = (y1.ceil() as usize).min(self.h);
        let stride = self.w + 2;
        for row in r0..r1 {
            let ya = y0.max(row as f64);
            let yb = y1.min(row as f64 + 1.0);
            if yb <= ya {
                continue;
            }
            let d = (yb - ya) * dir;
            let (xa, xb) = (x_at(ya), x_at(yb));
            let (lo, hi) = if xa <= xb { (xa, xb) } else { (xb, xa) };
            let cells = &mut self.a[row * stride..(row + 1) * stride];
            let len = hi - lo;
            if len <= 0.0 {
                let j = (lo.floor() as usize).min(self.w);
                let f = lo - j as f64;
                cells[j] += d * (1.0 - f);
                cells[j + 1] += d * f;
            } else {
                let j0 = lo.floor() as usize;
                let j1 = (hi.floor() as usize).min(self.w);
                for j in j0..=j1 {
                    let u = lo.max(j as f64);
                    let v = hi.min(j as f64 + 1.0);
                    if v <= u {
                        continue;
                    }
                    let share = d * (v - u) / len;
                    let f = 0.5 * (u + v) - j as f64;
                    cells[j] += share * (1.0 - f);
                    cells[j + 1] += share * f;
                }
            }
            self.rows.0 = self.rows.0.min(row);
            self.rows.1 = self.rows.1.max(row);
        }
    }
}
