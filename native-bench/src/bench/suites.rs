//! The suites' bodies (CPU suites here; GPU suites dispatch to `cuda.rs` / `gds.rs` or skip),
//! and `geochip bench workloads` (the inputs written to files for the Python anchors).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use geochip::rasterize::BurnValue;
use geochip::rasterize::geo_types::Geometry;
use geochip::slice::SlicePlan;
use ndarray::ArrayD;
use serde_json::{Value, json};

use super::workloads::{RasterizeWorkload, SliceWorkload};
use super::{Ctx, Measurement, Outcome};

/// Gathers every batch of `plan` into consecutive parts of `dst`; returns the elements written.
pub fn gather_all(
    plan: &SlicePlan,
    data: &ArrayD<f32>,
    dst: &mut [f32],
    parallel: bool,
) -> Result<usize> {
    let mut off = 0;
    for i in 0..plan.len() {
        let n = plan.batch_elements(i)?;
        let out = dst
            .get_mut(off..off + n)
            .context("output buffer shorter than the plan's chips")?;
        if parallel {
            plan.gather_into_par(data.view(), i, out)?;
        } else {
            plan.gather_into(data.view(), i, out)?;
        }
        off += n;
    }
    Ok(off)
}

/// Elements of all of `plan`'s batches together.
pub fn total_elements(plan: &SlicePlan) -> Result<usize> {
    let mut n = 0;
    for i in 0..plan.len() {
        n += plan.batch_elements(i)?;
    }
    Ok(n)
}

/// The slicing workload's parameters as stored with each result.
pub fn slice_params(w: &SliceWorkload, plan: &SlicePlan) -> Value {
    json!({
        "workload": w.id,
        "name": w.name(),
        "dims": ["band", "y", "x"],
        "shape": w.shape,
        "dtype": "float32",
        "input_dims": {"y": w.chip, "x": w.chip},
        "input_overlap": {"y": w.overlap, "x": w.overlap},
        "chips": plan.num_chips(),
        "values": "element index as float32 (deterministic, no seed)",
    })
}

/// S1 and S2: serial and parallel gather of every chip, vs memcpy of the same bytes.
pub fn slicing(ctx: &Ctx) -> Result<Vec<Outcome>> {
    let mut out = Vec::new();
    for w in [SliceWorkload::s1(ctx.quick), SliceWorkload::s2(ctx.quick)] {
        let data = w.cube();
        let plan = w.plan();
        let n = total_elements(&plan)?;
        let bytes = (n * 4) as u64;
        let src = vec![1.0f32; n];
        let mut dst = vec![0.0f32; n];
        let memcpy = ctx.time(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&dst);
        });
        let params = slice_params(&w, &plan);
        for parallel in [false, true] {
            let mut err = None;
            let samples = ctx.time(|| {
                if let Err(e) = gather_all(&plan, &data, &mut dst, parallel) {
                    err = Some(e);
                }
                black_box(&dst);
            });
            if let Some(e) = err {
                return Err(e);
            }
            let case = format!(
                "{}/{}",
                w.name(),
                if parallel {
                    "gather_parallel"
                } else {
                    "gather"
                }
            );
            out.push(Outcome::Measured(Measurement::new(
                case,
                params.clone(),
                bytes,
                samples,
                "memcpy",
                &memcpy,
            )));
        }
    }
    Ok(out)
}

/// R1 and R2: centre rule and all_touched, vs memset of the output bytes.
pub fn rasterize(ctx: &Ctx) -> Result<Vec<Outcome>> {
    let mut out = Vec::new();
    for w in [
        RasterizeWorkload::r1(ctx.quick),
        RasterizeWorkload::r2(ctx.quick),
    ] {
        let grid = w.grid();
        let shapes = w.shapes();
        let pixels = grid.width * grid.height;
        let mut buf = vec![0u32; pixels];
        let memset = ctx.time(|| {
            buf.fill(black_box(1));
            black_box(&buf);
        });
        for all_touched in [false, true] {
            let opts = RasterizeWorkload::options(all_touched);
            let mut err = None;
            let samples = ctx.time(
                || match geochip::rasterize::rasterize(&shapes, &grid, &opts) {
                    Ok(r) => {
                        black_box(r);
                    }
                    Err(e) => err = Some(e),
                },
            );
            if let Some(e) = err {
                return Err(e.into());
            }
            let params = json!({
                "workload": w.id,
                "name": w.name(),
                "width": grid.width,
                "height": grid.height,
                "transform": [10.0, 0.0, 300000.0, 0.0, -10.0, 4000000.0],
                "dtype": "uint32",
                "polygons": w.polygons,
                "vertices": [w.vertices.0, w.vertices.1],
                "seed": w.seed,
                "all_touched": all_touched,
            });
            let case = format!(
                "{}/{}",
                w.name(),
                if all_touched { "all_touched" } else { "centre" }
            );
            out.push(Outcome::Measured(Measurement::new(
                case,
                params,
                (pixels * 4) as u64,
                samples,
                "memset",
                &memset,
            )));
        }
    }
    Ok(out)
}

/// T1/T2: STAC items stacked from generated deflate COGs (`geochip_bench::stack_workload`,
/// written once into the temp directory and reused), vs a plain read of the same files'
/// bytes; `bytes` is the output cube's size, and the params hold output pixels, files' bytes
/// and the peak RSS of one stack (`VmHWM`, reset first).
pub fn stacking(ctx: &Ctx) -> Result<Vec<Outcome>> {
    use geochip::cog::ByteSource;
    use geochip::stack::{CogReader, CrsChoice, GridParams, LoadOptions, load};
    use geochip_bench::source::{FileSource, native_codecs};
    use geochip_bench::stack_workload::StackWorkload;
    let mut out = Vec::new();
    for w in [StackWorkload::t1(ctx.quick), StackWorkload::t2(ctx.quick)] {
        let dir = std::env::temp_dir().join(format!("geochip-stacking-{}", w.name()));
        let items_path = w.generate(&dir)?;
        let items = geochip::stac::parse_items(&std::fs::read_to_string(&items_path)?)?;
        let mut params = GridParams::default();
        if let Some((epsg, res)) = w.target {
            params.crs = Some(format!("EPSG:{epsg}").parse::<CrsChoice>()?);
            params.resolution = Some((res, res));
        }
        let opts = LoadOptions {
            resampling: w.resampling.parse().map_err(anyhow::Error::msg)?,
            ..LoadOptions::default()
        };
        let stack_once = || -> Result<geochip::stack::Stack> {
            let mut reader = CogReader::new(|_item: &geochip::stac::Item, href: &str| {
                FileSource::open(dir.join(href))
                    .map(|s| Box::new(s) as Box<dyn ByteSource>)
                    .map_err(|e| geochip::stack::asset_error(&e))
            })
            .with_codecs(native_codecs());
            Ok(load(&items, &params, &opts, &mut reader, &mut |_, _| {})?)
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "tif"))
            .collect();
        files.sort();
        let file_bytes: u64 = files
            .iter()
            .map(|p| std::fs::metadata(p).map(|m| m.len()))
            .sum::<std::io::Result<u64>>()?;
        let peak_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let cube = stack_once()?;
        let peak = peak_rss();
        let px = cube.array.len() as u64;
        let bytes = (cube.array.len() * cube.array.dtype().size()) as u64;
        drop(cube);
        let read = ctx.time(|| {
            for p in &files {
                if let Ok(b) = std::fs::read(p) {
                    black_box(b);
                }
            }
        });
        let mut err = None;
        let samples = ctx.time(|| match stack_once() {
            Ok(c) => {
                black_box(c);
            }
            Err(e) => err = Some(e),
        });
        if let Some(e) = err {
            return Err(e);
        }
        let mut p = w.params();
        p["output_pixels"] = px.into();
        p["file_bytes"] = file_bytes.into();
        p["mpx_per_s"] =
            (px as f64 / samples.iter().copied().fold(f64::INFINITY, f64::min) / 1e6).into();
        p["peak_rss_bytes"] = if peak_reset { peak.into() } else { Value::Null };
        p["rayon_threads"] = rayon::current_num_threads().into();
        out.push(Outcome::Measured(Measurement::new(
            format!("{}/stack", w.name()),
            p,
            bytes,
            samples,
            "read_files",
            &read,
        )));
    }
    Ok(out)
}

/// Peak resident set size (`VmHWM`) in bytes, or 0 where `/proc` has none.
fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// The CUDA suite, or a skip when the feature is not built.
pub fn cuda(ctx: &Ctx) -> Result<Vec<Outcome>> {
    #[cfg(feature = "cuda")]
    {
        super::cuda::suite(ctx)
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = ctx;
        Ok(vec![Outcome::Skipped {
            case: "cuda".into(),
            reason: "built without the cuda feature (cargo build --release -p geochip-bench \
                     --features cuda)"
                .into(),
        }])
    }
}

/// The GDS suite, or a skip when the feature is not built.
pub fn gds(ctx: &Ctx) -> Result<Vec<Outcome>> {
    #[cfg(feature = "gds")]
    {
        super::gds::suite(ctx)
    }
    #[cfg(not(feature = "gds"))]
    {
        let _ = ctx;
        Ok(vec![Outcome::Skipped {
            case: "gds".into(),
            reason: "built without the gds feature (cargo build --release -p geochip-bench \
                     --features gds)"
                .into(),
        }])
    }
}

/// `geochip bench workloads` arguments.
#[derive(Debug, Args)]
pub struct WorkloadArgs {
    /// The small (--quick) datasets instead of the full ones.
    #[arg(long)]
    quick: bool,
    /// Directory to write into (created; must not already hold a manifest.json unless --force).
    #[arg(long)]
    out: PathBuf,
    /// Replace files written by an earlier `geochip bench workloads`.
    #[arg(long)]
    force: bool,
}

/// Writes the slicing cubes (.npy), rasterize shapes (GeoJSON) and stacking COGs + items
/// (one directory per workload) with a manifest.
pub fn export_workloads(args: &WorkloadArgs) -> Result<()> {
    let dir = &args.out;
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let manifest_path = dir.join("manifest.json");
    if manifest_path.exists() && !args.force {
        bail!(
            "{}: already exists; pass --force to replace the workload files",
            manifest_path.display()
        );
    }
    let mut slicing = Vec::new();
    for w in [SliceWorkload::s1(args.quick), SliceWorkload::s2(args.quick)] {
        let file = format!("{}.npy", w.name());
        write_new(&dir.join(&file), args.force, |p| {
            ndarray_npy::write_npy(p, &w.cube()).map_err(Into::into)
        })?;
        let plan = w.plan();
        let mut p = slice_params(&w, &plan);
        p["file"] = file.into();
        p["elements"] = total_elements(&plan)?.into();
        slicing.push(p);
    }
    let mut raster = Vec::new();
    for w in [
        RasterizeWorkload::r1(args.quick),
        RasterizeWorkload::r2(args.quick),
    ] {
        let file = format!("{}.geojson", w.name());
        let fc = shapes_geojson(&w.shapes())?;
        write_new(&dir.join(&file), args.force, |p| {
            std::fs::write(p, serde_json::to_vec(&fc)?).map_err(Into::into)
        })?;
        raster.push(json!({
            "workload": w.id,
            "name": w.name(),
            "file": file,
            "width": w.side,
            "height": w.side,
            "transform": [10.0, 0.0, 300000.0, 0.0, -10.0, 4000000.0],
            "dtype": "uint32",
            "polygons": w.polygons,
            "seed": w.seed,
        }));
    }
    let mut stacking = Vec::new();
    for w in [
        geochip_bench::stack_workload::StackWorkload::t1(args.quick),
        geochip_bench::stack_workload::StackWorkload::t2(args.quick),
    ] {
        // The COGs and items.json in a directory per workload (reused when unchanged).
        w.generate(&dir.join(w.name()))?;
        let mut p = w.params();
        p["items_file"] = format!("{}/items.json", w.name()).into();
        stacking.push(p);
    }
    let manifest = json!({
        "schema": "geochip-workloads/1",
        "quick": args.quick,
        "slicing": slicing,
        "rasterize": raster,
        "stacking": stacking,
    });
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&manifest)?)
        .with_context(|| format!("{}: cannot write", manifest_path.display()))?;
    println!("{}", manifest_path.display());
    Ok(())
}

fn write_new(path: &Path, force: bool, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if path.exists() && !force {
        bail!(
            "{}: already exists; pass --force to replace it",
            path.display()
        );
    }
    write(path).with_context(|| format!("{}: cannot write", path.display()))
}

/// Polygons as a GeoJSON FeatureCollection with a `value` property; coordinates are written
/// with serde_json's shortest round-trip floats, so readers get the same f64s.
fn shapes_geojson(shapes: &[geochip::rasterize::Shape]) -> Result<Value> {
    let ring = |ls: &geochip::rasterize::geo_types::LineString<f64>| {
        ls.0.iter().map(|c| json!([c.x, c.y])).collect::<Vec<_>>()
    };
    let mut features = Vec::with_capacity(shapes.len());
    for s in shapes {
        let Geometry::Polygon(p) = &s.geometry else {
            bail!("workload shapes are polygons");
        };
        let mut rings = vec![ring(p.exterior())];
        rings.extend(p.interiors().iter().map(ring));
        let value = match s.value {
            BurnValue::Int(v) => json!(v),
            other => json!(other.as_f64()),
        };
        features.push(json!({
            "type": "Feature",
            "properties": {"value": value},
            "geometry": {"type": "Polygon", "coordinates": rings},
        }));
    }
    Ok(json!({"type": "FeatureCollection", "features": features}))
}

/// `(y0, x0)` of every chip of `plan`, in batch order (the order `gather_all` writes them).
/// The CUDA gather kernel reads these.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub fn chip_origins(plan: &SlicePlan) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for i in 0..plan.len() {
        for p in plan.batch(i)? {
            let (y, x) = (p.start("y"), p.start("x"));
            let (Some(y), Some(x)) = (y, x) else {
                bail!("chip {} has no y/x start", p.id);
            };
            out.push(u32::try_from(y)?);
            out.push(u32::try_from(x)?);
        }
    }
    Ok(out)
}

/// The CUDA kernel's indexing, on the CPU: chip `c`, band `b`, row `y`, column `x` of the
/// output is `cube[b, y0 + y, x0 + x]`, written at `((c * bands + b) * chip + y) * chip + x`.
/// A unit test proves this equals `gather_all`, so the kernel (the same arithmetic in CUDA C)
/// is checked against the CPU chips on the GPU.
#[cfg_attr(not(test), allow(dead_code))]
pub fn gather_by_origins(
    cube: &[f32],
    shape: [usize; 3],
    origins: &[u32],
    chip: usize,
) -> Vec<f32> {
    let [bands, height, width] = shape;
    let per_chip = bands * chip * chip;
    let n = origins.len() / 2;
    let mut out = vec![0.0f32; n * per_chip];
    for (i, v) in out.iter_mut().enumerate() {
        let (c, r) = (i / per_chip, i % per_chip);
        let (b, yx) = (r / (chip * chip), r % (chip * chip));
        let (y, x) = (yx / chip, yx % chip);
        let (y0, x0) = (origins[2 * c] as usize, origins[2 * c + 1] as usize);
        *v = cube[(b * height + y0 + y) * width + x0 + x];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_indexing_matches_gather_all() {
        for w in [SliceWorkload::s1(true), SliceWorkload::s2(true)] {
            let plan = w.plan();
            let cube = w.cube();
            let n = total_elements(&plan).expect("elements");
            let mut dst = vec![0.0f32; n];
            gather_all(&plan, &cube, &mut dst, false).expect("gather");
            let origins = chip_origins(&plan).expect("origins");
            let flat = cube.as_slice().expect("contiguous");
            let by_origins = gather_by_origins(flat, w.shape, &origins, w.chip);
            assert_eq!(by_origins.len(), n);
            assert!(
                by_origins
                    .iter()
                    .zip(&dst)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
        }
    }
}
