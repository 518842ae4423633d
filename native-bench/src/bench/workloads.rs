//! The benchmark workloads, defined once: the `geochip bench` runner, the criterion benches
//! (`benches/*.rs` include this file with `#[path]`) and `cargo xtask compare` (which exports
//! them to files for the Python anchors) all use exactly these arrays and shapes.
//!
//! Everything is deterministic: cubes hold `i as f32` (element index), shapes come from a
//! SplitMix64 generator with a fixed seed, so a workload is fully described by its parameters.

use geochip::rasterize::geo_types::{LineString, Polygon};
use geochip::rasterize::{RasterizeOptions, Shape};
use geochip::slice::{SlicePlan, SliceSpec};
use geochip::{DType, GeoTransform, Grid};
use ndarray::{ArrayD, IxDyn};

/// A slicing workload: a float32 `(band, y, x)` cube cut into `chip`×`chip` patches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SliceWorkload {
    /// Short id (`S1`, `S2`, …).
    pub id: &'static str,
    /// Cube shape `(band, y, x)`.
    pub shape: [usize; 3],
    /// Chip edge (pixels), along y and x.
    pub chip: usize,
    /// Overlap along y and x (pixels).
    pub overlap: usize,
}

impl SliceWorkload {
    /// S1: 256×256 chips with 32-pixel overlap; `quick` shrinks the cube to (8, 1024, 1024).
    pub fn s1(quick: bool) -> Self {
        let side = if quick { 1024 } else { 4096 };
        Self {
            id: "S1",
            shape: [8, side, side],
            chip: 256,
            overlap: 32,
        }
    }

    /// S2: 64×64 chips without overlap; `quick` shrinks the cube to (8, 512, 512).
    pub fn s2(quick: bool) -> Self {
        let side = if quick { 512 } else { 2048 };
        Self {
            id: "S2",
            shape: [8, side, side],
            chip: 64,
            overlap: 0,
        }
    }

    /// The xbatcher-style spec (`input_dims`, `input_overlap`).
    pub fn spec(&self) -> SliceSpec {
        let o = self.overlap as i64;
        SliceSpec::new(&[("y", self.chip), ("x", self.chip)]).input_overlap(&[("y", o), ("x", o)])
    }

    /// The plan over `(band, y, x)`.
    pub fn plan(&self) -> SlicePlan {
        SlicePlan::new(&["band", "y", "x"], &self.shape, &self.spec())
            .expect("the built-in slicing workloads are valid specs")
    }

    /// The cube: element `i` (C order) holds `i as f32`.
    pub fn cube(&self) -> ArrayD<f32> {
        cube(&self.shape)
    }

    /// A readable name with the parameters, e.g. `S1_f32_8x4096x4096_256_overlap32`.
    pub fn name(&self) -> String {
        let [b, h, w] = self.shape;
        let mut s = format!("{}_f32_{b}x{h}x{w}_{}", self.id, self.chip);
        if self.overlap > 0 {
            s.push_str(&format!("_overlap{}", self.overlap));
        }
        s
    }
}

/// A float32 array of `shape` whose element `i` (C order) is `i as f32`.
pub fn cube(shape: &[usize]) -> ArrayD<f32> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|i| i as f32).collect())
        .expect("shape and length agree by construction")
}

/// SplitMix64: a fixed-seed generator with no dependencies (same as the core's `rng.rs`
/// mixing), so shapes are reproducible everywhere.
pub struct Rng(pub u64);

impl Rng {
    /// The next value, uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A rasterization workload: seeded star-shaped polygons on a square uint32 grid at 10 m.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RasterizeWorkload {
    /// Short id (`R1`, `R2`).
    pub id: &'static str,
    /// Grid width and height (pixels).
    pub side: usize,
    /// Number of polygons.
    pub polygons: usize,
    /// Vertices per polygon: `(min, max)` (R1 draws 8–32, R2 uses exactly 50,000).
    pub vertices: (usize, usize),
    /// The generator seed.
    pub seed: u64,
}

impl RasterizeWorkload {
    /// R1: 10,000 polygons of 8–32 vertices (every fifth with a hole) on 4096×4096; `quick`:
    /// 2,500 polygons on 1024×1024.
    pub fn r1(quick: bool) -> Self {
        Self {
            id: "R1",
            side: if quick { 1024 } else { 4096 },
            polygons: if quick { 2_500 } else { 10_000 },
            vertices: (8, 32),
            seed: 4,
        }
    }

    /// R2: five 50,000-vertex polygons on 4096×4096; `quick`: five 5,000-vertex polygons on
    /// 1024×1024.
    pub fn r2(quick: bool) -> Self {
        let n = if quick { 5_000 } else { 50_000 };
        Self {
            id: "R2",
            side: if quick { 1024 } else { 4096 },
            polygons: 5,
            vertices: (n, n),
            seed: 5,
        }
    }

    /// The grid: `side`×`side` at 10 m, origin (300000, 4000000), no CRS.
    pub fn grid(&self) -> Grid {
        Grid::new(
            GeoTransform::new(10.0, 0.0, 300_000.0, 0.0, -10.0, 4_000_000.0),
            self.side,
            self.side,
            None,
        )
        .expect("the built-in grid is valid")
    }

    /// The shapes, value = polygon index + 1.
    pub fn shapes(&self) -> Vec<Shape> {
        let grid = self.grid();
        let mut rng = Rng(self.seed);
        let (w, h) = (grid.width as f64, grid.height as f64);
        let scale = self.side as f64 / 4096.0;
        (0..self.polygons)
            .map(|k| {
                let (outer, holes) = if self.id == "R1" {
                    let (cx, cy) = grid.transform.apply(rng.next_f64() * w, rng.next_f64() * h);
                    let r = 25.0 + 175.0 * rng.next_f64();
                    let (lo, hi) = self.vertices;
                    let n = lo + (rng.next_f64() * (hi - lo + 1) as f64) as usize;
                    let outer = ring(&mut rng, cx, cy, r, n);
                    let holes = if k % 5 == 0 {
                        vec![ring(&mut rng, cx, cy, r * 0.3, 8)]
                    } else {
                        vec![]
                    };
                    (outer, holes)
                } else {
                    let (cx, cy) = grid.transform.apply(
                        (800.0 + 600.0 * k as f64) * scale,
                        (800.0 + 500.0 * k as f64) * scale,
                    );
                    (
                        ring(&mut rng, cx, cy, 7_000.0 * scale, self.vertices.0),
                        vec![],
                    )
                };
                Shape::new(Polygon::new(outer, holes).into(), k as i64 + 1)
            })
            .collect()
    }

    /// uint32 output, centre rule or all_touched.
    pub fn options(all_touched: bool) -> RasterizeOptions {
        RasterizeOptions {
            all_touched,
            dtype: Some(DType::U32),
            ..Default::default()
        }
    }

    /// A readable name, e.g. `R1_10000_polygons_4096`.
    pub fn name(&self) -> String {
        format!(
            "{}_{}x{}v_polygons_{}",
            self.id, self.polygons, self.vertices.1, self.side
        )
    }
}

/// A star-shaped ring of `n` vertices around `(cx, cy)` (world), radius in `[r/2, r]`.
fn ring(rng: &mut Rng, cx: f64, cy: f64, r: f64, n: usize) -> LineString<f64> {
    (0..n)
        .map(|j| {
            let t = j as f64 / n as f64 * std::f64::consts::TAU;
            let rr = r * (0.5 + 0.5 * rng.next_f64());
            (cx + rr * t.cos(), cy + rr * t.sin())
        })
        .collect::<Vec<_>>()
        .into()
}
