//! The even-odd region of a feature's polygons as rings that exact coverage can integrate.
//!
//! Coverage accumulates signed area, which is exact for the even-odd interior only when the
//! rings are simple, pairwise disjoint, every hole lies directly inside its shell and the
//! parts of a multi-part feature do not overlap. [`resolve`] checks exactly that — a
//! Shamos–Hoey sweep (O(n log n), exact orientation tests from the `robust` crate) for any
//! crossing or touching edges, then point-in-ring tests for the nesting — and hands every
//! other feature (bow-ties, figure-eights, holes crossing or outside their shell, overlapping
//! parts) to `i_overlay`, which rebuilds the region as simple rings: each part with the
//! even-odd fill rule (GDAL's), then the parts' union. `i_overlay` works on a fixed-point
//! grid of about 2³⁰ steps across the feature's bounding box; output vertices that are input
//! vertices get their exact f64 coordinates back and the crossing points are recomputed in
//! f64 from the two input edges they lie on, so the rings are the exact even-odd region up
//! to f64 rounding.
//!
//! The sweep is written here rather than taken from a crate: `i_overlay` does not expose a
//! "has intersections" query and running it on every polygon would snap valid polygons too;
//! `geo`'s sweep would pull all of `geo` into the core.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay_rule::OverlayRule;
use i_overlay::float::overlay::FloatOverlay;
use i_overlay::i_float::adapter::FloatPointAdapter;

type Pt = (f64, f64);

/// How a feature's rings are to be integrated.
#[derive(Debug, PartialEq)]
pub(crate) enum Resolved {
    /// The input parts are already simple and disjoint: shells add, holes subtract.
    AsGiven,
    /// Rebuilt simple rings (outer rings and holes oriented oppositely), each added as is.
    Rings(Vec<Vec<Pt>>),
    /// Crossing itself too often to rebuild (more than [`MAX_CROSSINGS`]).
    TooComplex,
}

/// Work allowed for the nesting tests (ring edges visited) before handing the feature to
/// `i_overlay` instead (which is O(n log n) whatever the nesting).
const NESTING_BUDGET: usize = 20_000_000;

/// Decides how to integrate the polygon parts of one feature (each part: shell, then holes;
/// closed rings in pixel coordinates).
pub(crate) fn resolve(parts: &[&[Vec<Pt>]]) -> Resolved {
    let rings: Vec<Vec<Pt>> = parts
        .iter()
        .flat_map(|p| p.iter())
        .map(|r| dedup_ring(r))
        .collect();
    if rings.iter().all(|r| r.len() >= 3)
        && simple_and_disjoint(&rings)
        && nesting_is_plain(parts, &rings)
    {
        return Resolved::AsGiven;
    }
    if too_many_crossings(&rings) {
        return Resolved::TooComplex;
    }
    Resolved::Rings(rebuild(parts))
}

/// Most edge crossings a feature may have for its even-odd region to be rebuilt (beyond,
/// the rebuilt rings alone would take gigabytes: a 10⁶-vertex zigzag crosses itself ~10⁸
/// times).
pub(crate) const MAX_CROSSINGS: usize = 1_000_000;

/// Counts edge crossings on a grid of buckets, giving up (true) past [`MAX_CROSSINGS`], past
/// 200 million pair tests, or when long edges would fill too many buckets: the count's own
/// cost stays bounded.
fn too_many_crossings(rings: &[Vec<Pt>]) -> bool {
    let edges = ring_edges(rings);
    if edges.len() < 64 {
        return false;
    }
    // The edges' endpoints are the rings' vertices.
    let b = bbox(rings.iter().flatten());
    // Coarse buckets (about 16 edges each on average): edges of spiky polygons are long
    // compared with finer ones.
    let g = (((edges.len() as f64).sqrt() / 4.0).ceil() as usize).clamp(1, 1024);
    let (cw, ch) = ((b.2 - b.0) / g as f64, (b.3 - b.1) / g as f64);
    let cell = |v: f64, lo: f64, size: f64| -> usize {
        if size > 0.0 {
            (((v - lo) / size) as usize).min(g - 1)
        } else {
            0
        }
    };
    let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); g * g];
    let mut registered = 0usize;
    for (i, (p, q)) in edges.iter().enumerate() {
        let (x0, x1) = (cell(p.0.min(q.0), b.0, cw), cell(p.0.max(q.0), b.0, cw));
        let (y0, y1) = (cell(p.1.min(q.1), b.1, ch), cell(p.1.max(q.1), b.1, ch));
        registered += (x1 - x0 + 1) * (y1 - y0 + 1);
        if registered > 32 * edges.len() + (1 << 21) {
            return true;
        }
        for y in y0..=y1 {
            for x in x0..=x1 {
                buckets[y * g + x].push(i as u32);
            }
        }
    }
    let (mut tests, mut crossings) = (0usize, 0usize);
    for (k, bucket) in buckets.iter().enumerate() {
        let (bx, by) = (k % g, k / g);
        for (i, &a) in bucket.iter().enumerate() {
            let (p, q) = edges[a as usize];
            for &c in &bucket[i + 1..] {
                tests += 1;
                if tests > 200_000_000 {
                    return true;
                }
                let (r, s) = edges[c as usize];
                let (d1, d2) = ((q.0 - p.0, q.1 - p.1), (s.0 - r.0, s.1 - r.1));
                let den = d1.0 * d2.1 - d1.1 * d2.0;
                if den == 0.0 {
                    continue;
                }
                let t = ((r.0 - p.0) * d2.1 - (r.1 - p.1) * d2.0) / den;
                let u = ((r.0 - p.0) * d1.1 - (r.1 - p.1) * d1.0) / den;
                if !(0.0..=1.0).contains(&t) || !(0.0..=1.0).contains(&u) {
                    continue;
                }
                // Count each crossing once: in the bucket holding the crossing point.
                let (x, y) = (p.0 + t * d1.0, p.1 + t * d1.1);
                if cell(x, b.0, cw) == bx && cell(y, b.1, ch) == by {
                    crossings += 1;
                    if crossings > MAX_CROSSINGS {
                        return true;
                    }
                }
            }
        }
    }
    false
}

/// The ring's distinct vertices in order (consecutive duplicates and the closing point
/// dropped).
fn dedup_ring(ring: &[Pt]) -> Vec<Pt> {
    let mut out: Vec<Pt> = Vec::with_capacity(ring.len());
    for &p in ring {
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

#[inline]
fn orient(a: Pt, b: Pt, c: Pt) -> f64 {
    robust::orient2d(
        robust::Coord { x: a.0, y: a.1 },
        robust::Coord { x: b.0, y: b.1 },
        robust::Coord { x: c.0, y: c.1 },
    )
}

#[inline]
fn lex(a: Pt, b: Pt) -> Ordering {
    a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1))
}

/// One edge: `l` ≤ `r` lexicographically; `ring`, `index` identify it.
#[derive(Debug, Clone, Copy)]
struct Seg {
    l: Pt,
    r: Pt,
    ring: u32,
    index: u32,
}

struct Ctx {
    segs: Vec<Seg>,
    ring_len: Vec<u32>,
    /// Set when the comparator meets collinear overlapping edges.
    overlap: std::cell::Cell<bool>,
}

impl Ctx {
    fn adjacent(&self, a: &Seg, b: &Seg) -> bool {
        if a.ring != b.ring {
            return false;
        }
        let n = self.ring_len[a.ring as usize];
        let (i, j) = (a.index, b.index);
        (i + 1) % n == j || (j + 1) % n == i
    }

    /// Closed-segment intersection of two non-adjacent edges (touching counts).
    fn intersect(&self, a: &Seg, b: &Seg) -> bool {
        if self.adjacent(a, b) {
            return false;
        }
        let d1 = orient(b.l, b.r, a.l);
        let d2 = orient(b.l, b.r, a.r);
        let d3 = orient(a.l, a.r, b.l);
        let d4 = orient(a.l, a.r, b.r);
        if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
            && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
        {
            return true;
        }
        let on = |p: Pt, s: &Seg| {
            p.0 >= s.l.0.min(s.r.0)
                && p.0 <= s.l.0.max(s.r.0)
                && p.1 >= s.l.1.min(s.r.1)
                && p.1 <= s.l.1.max(s.r.1)
        };
        (d1 == 0.0 && on(a.l, b))
            || (d2 == 0.0 && on(a.r, b))
            || (d3 == 0.0 && on(b.l, a))
            || (d4 == 0.0 && on(b.r, a))
    }

    /// Order of two edges both crossing the sweep line (bottom to top), read where the newer
    /// one starts: exact for edges that do not cross left of the sweep line.
    fn cmp(&self, a: u32, b: u32) -> Ordering {
        if a == b {
            return Ordering::Equal;
        }
        let (sa, sb) = (&self.segs[a as usize], &self.segs[b as usize]);
        let (old, new, flip) = if lex(sa.l, sb.l) != Ordering::Greater {
            (sa, sb, false)
        } else {
            (sb, sa, true)
        };
        let mut s = orient(old.l, old.r, new.l);
        if s == 0.0 {
            s = orient(old.l, old.r, new.r);
        }
        let o = if s > 0.0 {
            Ordering::Less // new lies left of (above) old
        } else if s < 0.0 {
            Ordering::Greater
        } else {
            self.overlap.set(true);
            return a.cmp(&b);
        };
        if flip { o.reverse() } else { o }
    }
}

#[derive(Clone, Copy)]
struct Key<'a> {
    id: u32,
    ctx: &'a Ctx,
}
impl PartialEq for Key<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Key<'_> {}
impl PartialOrd for Key<'_> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Key<'_> {
    fn cmp(&self, o: &Self) -> Ordering {
        self.ctx.cmp(self.id, o.id)
    }
}

/// True when no two edges of all `rings` meet except consecutive edges at their shared
/// vertex (and those do not fold back over each other).
fn simple_and_disjoint(rings: &[Vec<Pt>]) -> bool {
    // A vertex used twice (a ring touching itself or another ring at a vertex).
    let mut verts: Vec<Pt> = rings.iter().flatten().copied().collect();
    verts.sort_unstable_by(|a, b| lex(*a, *b));
    if verts.windows(2).any(|w| w[0] == w[1]) {
        return false;
    }
    let mut segs = Vec::with_capacity(verts.len());
    let mut ring_len = Vec::with_capacity(rings.len());
    for (ri, ring) in rings.iter().enumerate() {
        let n = ring.len();
        ring_len.push(n as u32);
        for i in 0..n {
            let (p, q, w) = (ring[i], ring[(i + 1) % n], ring[(i + 2) % n]);
            // Consecutive edges folding back along themselves.
            if orient(p, q, w) == 0.0 && (p.0 - q.0) * (w.0 - q.0) + (p.1 - q.1) * (w.1 - q.1) > 0.0
            {
                return false;
            }
            let (l, r) = if lex(p, q) == Ordering::Less {
                (p, q)
            } else {
                (q, p)
            };
            segs.push(Seg {
                l,
                r,
                ring: ri as u32,
                index: i as u32,
            });
        }
    }
    // Events: (point, 0 = remove / 1 = insert, edge); removals first at a shared point.
    let mut events: Vec<(Pt, u8, u32)> = Vec::with_capacity(2 * segs.len());
    for (i, s) in segs.iter().enumerate() {
        events.push((s.l, 1, i as u32));
        events.push((s.r, 0, i as u32));
    }
    events.sort_unstable_by(|a, b| lex(a.0, b.0).then(a.1.cmp(&b.1)));
    let ctx = Ctx {
        segs,
        ring_len,
        overlap: std::cell::Cell::new(false),
    };
    // The key's Cell only records that collinear edges were met; it never changes the order.
    #[allow(clippy::mutable_key_type)]
    let mut status: BTreeSet<Key<'_>> = BTreeSet::new();
    let hit = |a: Option<&Key<'_>>, b: Option<&Key<'_>>| match (a, b) {
        (Some(a), Some(b)) => ctx.intersect(&ctx.segs[a.id as usize], &ctx.segs[b.id as usize]),
        _ => false,
    };
    for &(_, kind, id) in &events {
        let key = Key { id, ctx: &ctx };
        let below = status.range(..key).next_back().copied();
        let above = status
            .range((std::ops::Bound::Excluded(key), std::ops::Bound::Unbounded))
            .next()
            .copied();
        if kind == 1 {
            if !status.insert(key)
                || hit(Some(&key), below.as_ref())
                || hit(Some(&key), above.as_ref())
            {
                return false;
            }
        } else {
            if !status.remove(&key) {
                // Only an inconsistent order (a crossing) can lose an edge.
                return false;
            }
            if hit(below.as_ref(), above.as_ref()) {
                return false;
            }
        }
        if ctx.overlap.get() {
            return false;
        }
    }
    true
}

/// Even-odd point-in-ring test (exact orientation; the point is on no edge).
fn inside(ring: &[Pt], p: Pt, budget: &mut usize) -> bool {
    *budget = budget.saturating_sub(ring.len());
    let n = ring.len();
    let mut c = false;
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        if (a.1 > p.1) != (b.1 > p.1) {
            // Crossing of the horizontal ray to the right of p.
            let o = orient(a, b, p);
            if (b.1 > a.1 && o > 0.0) || (b.1 < a.1 && o < 0.0) {
                c = !c;
            }
        }
    }
    c
}

/// Every ring's edges, closing each ring.
fn ring_edges(rings: &[Vec<Pt>]) -> Vec<(Pt, Pt)> {
    rings
        .iter()
        .flat_map(|r| (0..r.len()).map(move |i| (r[i], r[(i + 1) % r.len()])))
        .collect()
}

/// (min x, min y, max x, max y) of `points`.
fn bbox<'a>(points: impl IntoIterator<Item = &'a Pt>) -> (f64, f64, f64, f64) {
    points.into_iter().fold(
        (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ),
        |b, p| (b.0.min(p.0), b.1.min(p.1), b.2.max(p.0), b.3.max(p.1)),
    )
}

fn contains(b: (f64, f64, f64, f64), p: Pt) -> bool {
    p.0 >= b.0 && p.0 <= b.2 && p.1 >= b.1 && p.1 <= b.3
}

/// With no edges meeting: every hole directly inside its own shell (inside no other hole)
/// and no part inside another's region.
fn nesting_is_plain(parts: &[&[Vec<Pt>]], rings: &[Vec<Pt>]) -> bool {
    let mut budget = NESTING_BUDGET;
    let boxes: Vec<_> = rings.iter().map(bbox).collect();
    // Index of each part's shell in `rings`.
    let mut starts = Vec::with_capacity(parts.len());
    let mut k = 0;
    for p in parts {
        starts.push(k);
        k += p.len();
    }
    let region = |part: usize, p: Pt, budget: &mut usize| -> bool {
        let s = starts[part];
        let n = parts[part].len();
        if !contains(boxes[s], p) || !inside(&rings[s], p, budget) {
            return false;
        }
        !(s + 1..s + n).any(|h| contains(boxes[h], p) && inside(&rings[h], p, budget))
    };
    for (pi, part) in parts.iter().enumerate() {
        let s = starts[pi];
        for h in s + 1..s + part.len() {
            let p = rings[h][0];
            if !contains(boxes[s], p) || !inside(&rings[s], p, &mut budget) {
                return false;
            }
            for o in s + 1..s + part.len() {
                if o != h && contains(boxes[o], p) && inside(&rings[o], p, &mut budget) {
                    return false;
                }
            }
            if budget == 0 {
                return false;
            }
        }
        for qi in 0..parts.len() {
            if qi != pi && region(qi, rings[s][0], &mut budget) {
                return false;
            }
            if budget == 0 {
                return false;
            }
        }
    }
    true
}

/// Simple rings of the even-odd region of each part, unioned over the parts.
fn rebuild(parts: &[&[Vec<Pt>]]) -> Vec<Vec<Pt>> {
    let mut exact: HashMap<(i32, i32), Option<Pt>> = HashMap::new();
    let mut contours: Vec<Vec<[f64; 2]>> = Vec::new();
    for part in parts {
        let src: Vec<Vec<[f64; 2]>> = part
            .iter()
            .map(|r| dedup_ring(r).into_iter().map(|p| [p.0, p.1]).collect())
            .collect();
        let shapes = simplify(&src, FillRule::EvenOdd, &mut exact);
        contours.extend(shapes);
    }
    if parts.len() > 1 {
        contours = simplify(&contours, FillRule::NonZero, &mut exact);
    }
    let mut out: Vec<Vec<Pt>> = contours
        .into_iter()
        .map(|c| c.into_iter().map(|p| (p[0], p[1])).collect())
        .collect();
    let input: Vec<Vec<Pt>> = parts
        .iter()
        .flat_map(|p| p.iter())
        .map(|r| dedup_ring(r))
        .collect();
    refine_crossings(&input, &mut out);
    out
}

/// Moves the output vertices that are not input vertices (the crossings `i_overlay` rounded
/// to its grid) to the f64 intersection of the two input edges they lie on. Edges are
/// bucketed on a grid over the bounding box; the search gives up (keeping the rounded points)
/// when long edges would fill too many buckets.
fn refine_crossings(input: &[Vec<Pt>], out: &mut [Vec<Pt>]) {
    let verts: std::collections::HashSet<(u64, u64)> = input
        .iter()
        .flatten()
        .map(|p| (p.0.to_bits(), p.1.to_bits()))
        .collect();
    let edges = ring_edges(input);
    if edges.is_empty() {
        return;
    }
    // The edges' endpoints are the rings' vertices.
    let b = bbox(input.iter().flatten());
    let g = ((edges.len() as f64).sqrt().ceil() as usize).clamp(1, 1024);
    let (cw, ch) = ((b.2 - b.0) / g as f64, (b.3 - b.1) / g as f64);
    let extent = (b.2 - b.0).max(b.3 - b.1);
    // i_overlay's grid step is at most 2^-29 of the half extent; search a few steps around.
    let tol = extent * 2f64.powi(-26);
    let cell = |v: f64, lo: f64, size: f64| -> usize {
        if size > 0.0 {
            (((v - lo) / size) as usize).min(g - 1)
        } else {
            0
        }
    };
    let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); g * g];
    let mut registered = 0usize;
    for (i, (p, q)) in edges.iter().enumerate() {
        let (x0, x1) = (
            cell(p.0.min(q.0) - tol, b.0, cw),
            cell(p.0.max(q.0) + tol, b.0, cw),
        );
        let (y0, y1) = (
            cell(p.1.min(q.1) - tol, b.1, ch),
            cell(p.1.max(q.1) + tol, b.1, ch),
        );
        registered += (x1 - x0 + 1) * (y1 - y0 + 1);
        if registered > 16 * edges.len() + (1 << 20) {
            return;
        }
        for y in y0..=y1 {
            for x in x0..=x1 {
                buckets[y * g + x].push(i as u32);
            }
        }
    }
    let dist2 = |v: Pt, (p, q): (Pt, Pt)| -> f64 {
        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
        let l2 = dx * dx + dy * dy;
        let t = if l2 > 0.0 {
            (((v.0 - p.0) * dx + (v.1 - p.1) * dy) / l2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (ex, ey) = (p.0 + t * dx - v.0, p.1 + t * dy - v.1);
        ex * ex + ey * ey
    };
    for ring in out.iter_mut() {
        for v in ring.iter_mut() {
            if verts.contains(&(v.0.to_bits(), v.1.to_bits())) {
                continue;
            }
            let near: Vec<(Pt, Pt)> = buckets[cell(v.1, b.1, ch) * g + cell(v.0, b.0, cw)]
                .iter()
                .map(|&i| edges[i as usize])
                .filter(|&e| dist2(*v, e) <= tol * tol)
                .collect();
            let mut best: Option<(f64, Pt)> = None;
            for (i, &(p, q)) in near.iter().enumerate() {
                for &(r, s) in &near[i + 1..] {
                    let (d1, d2) = ((q.0 - p.0, q.1 - p.1), (s.0 - r.0, s.1 - r.1));
                    let den = d1.0 * d2.1 - d1.1 * d2.0;
                    if den == 0.0 {
                        continue;
                    }
                    let t = ((r.0 - p.0) * d2.1 - (r.1 - p.1) * d2.0) / den;
                    let x = (p.0 + t * d1.0, p.1 + t * d1.1);
                    let d = (x.0 - v.0).powi(2) + (x.1 - v.1).powi(2);
                    if d <= tol * tol && best.is_none_or(|(bd, _)| d < bd) {
                        best = Some((d, x));
                    }
                }
            }
            if let Some((_, x)) = best {
                *v = x;
            }
        }
    }
}

/// `i_overlay` simplification of `src` with `rule`; output vertices that are (snapped) input
/// vertices get the input's exact coordinates back.
fn simplify(
    src: &[Vec<[f64; 2]>],
    rule: FillRule,
    exact: &mut HashMap<(i32, i32), Option<Pt>>,
) -> Vec<Vec<[f64; 2]>> {
    if src.iter().all(|c| c.is_empty()) {
        return Vec::new();
    }
    let adapter: FloatPointAdapter<[f64; 2], f64> =
        FloatPointAdapter::with_iter(src.iter().flatten());
    exact.clear();
    for p in src.iter().flatten() {
        let q = adapter.float_to_int(p);
        exact
            .entry((q.x, q.y))
            .and_modify(|e| {
                if *e != Some((p[0], p[1])) {
                    *e = None;
                }
            })
            .or_insert(Some((p[0], p[1])));
    }
    let shapes = FloatOverlay::with_subj_custom(src, Default::default(), Default::default())
        .overlay(OverlayRule::Subject, rule);
    shapes
        .into_iter()
        .flatten()
        .map(|c| {
            c.into_iter()
                .map(|p| {
                    let q = adapter.float_to_int(&p);
                    match exact.get(&(q.x, q.y)) {
                        Some(Some(o)) => [o.0, o.1],
                        _ => p,
                    }
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(pts: &[Pt]) -> Vec<Pt> {
        let mut r = pts.to_vec();
        r.push(pts[0]);
        r
    }

    #[test]
    fn simple_polygons_pass_and_crossings_are_found() {
        let square = ring(&[(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0)]);
        let hole = ring(&[(1.0, 1.0), (1.0, 2.0), (2.0, 2.0), (2.0, 1.0)]);
        assert_eq!(
            resolve(&[&[square.clone(), hole.clone()]]),
            Resolved::AsGiven
        );
        // Collinear vertices and a vertical edge are fine.
        let col = ring(&[(0.0, 0.0), (2.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0)]);
        assert_eq!(resolve(&[&[col]]), Resolved::AsGiven);
        // Bow-tie.
        let bow = ring(&[(0.0, 0.0), (4.0, 2.0), (4.0, 0.0), (0.0, 2.0)]);
        assert!(matches!(resolve(&[&[bow]]), Resolved::Rings(_)));
        // A hole touching the shell at a vertex of the hole lying on a shell edge.
        let touch = ring(&[(0.0, 1.0), (1.0, 2.0), (1.0, 1.0)]);
        assert!(matches!(
            resolve(&[&[square.clone(), touch]]),
            Resolved::Rings(_)
        ));
        // A hole outside its shell, and two disjoint parts vs nested parts.
        let far = ring(&[(10.0, 10.0), (10.0, 11.0), (11.0, 11.0)]);
        assert!(matches!(
            resolve(&[&[square.clone(), far.clone()]]),
            Resolved::Rings(_)
        ));
        assert_eq!(
            resolve(&[std::slice::from_ref(&square), std::slice::from_ref(&far)]),
            Resolved::AsGiven
        );
        assert!(matches!(
            resolve(&[std::slice::from_ref(&square), std::slice::from_ref(&hole)]),
            Resolved::Rings(_)
        ));
        // A part inside another part's hole is disjoint from it.
        let inner = ring(&[(1.2, 1.2), (1.2, 1.8), (1.8, 1.8), (1.8, 1.2)]);
        assert_eq!(resolve(&[&[square, hole], &[inner]]), Resolved::AsGiven);
    }

    #[test]
    fn star_polygons_with_many_vertices_are_simple() {
        let n = 20_000;
        let mut s = 7u64;
        let pts: Vec<Pt> = (0..n)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let r = 50.0 + 50.0 * ((s >> 11) as f64 / (1u64 << 53) as f64);
                let t = i as f64 / n as f64 * std::f64::consts::TAU;
                (200.0 + r * t.cos(), 200.0 + r * t.sin())
            })
            .collect();
        assert_eq!(resolve(&[&[ring(&pts)]]), Resolved::AsGiven);
        // Swap two far-apart vertices: now it crosses itself.
        let mut bad = pts.clone();
        bad.swap(10, n / 2);
        assert!(matches!(resolve(&[&[ring(&bad)]]), Resolved::Rings(_)));
    }
}
