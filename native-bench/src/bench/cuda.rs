//! CUDA suite (feature `cuda`, cudarc with `dynamic-loading`): libcuda is loaded at run time,
//! so this builds everywhere and, where there is no driver or GPU, every case is a skip with
//! the reason.
//!
//! Cases (S1/S2 chips, float32):
//! * `h2d_pipeline`: chips gathered on the CPU into two pinned buffers in turn while the other
//!   buffer's host→device copy runs on its own stream (double buffering), vs `pinned_h2d`
//!   (the same bytes copied from an already-filled pinned buffer: the link's limit);
//! * `pageable_h2d`: the CPU chips copied from ordinary (pageable) memory, vs `pinned_h2d`;
//! * `device_gather`: the cube resident on the device, chips gathered by an NVRTC kernel, vs
//!   `d2d` (a device-to-device copy of the same output bytes).
//!
//! Every device result is copied back and compared bit for bit with the CPU chips
//! (`gather_all`); a mismatch is an error, not a skip.

// cudarc's pinned allocation, kernel launch and driver-version query are `unsafe` (raw
// memory and FFI). Each use is commented; the workspace denies unsafe code everywhere else.
#![allow(unsafe_code)]

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use cudarc::driver::{CudaContext, CudaSlice, CudaStream, LaunchConfig, PushKernelArg};

use super::machine::{self, GpuInfo};
use super::suites::{chip_origins, gather_all, slice_params, total_elements};
use super::workloads::SliceWorkload;
use super::{Ctx, Measurement, Outcome};

/// Device 0's context, or why there is none. Checks that libcuda can be loaded *before*
/// calling into cudarc (whose `CudaContext::new` panics when the library is missing), and
/// turns any remaining panic (e.g. a driver too old for a symbol) into a reason.
pub fn probe() -> Result<Arc<CudaContext>, String> {
    // SAFETY: only tries to dlopen libcuda by its usual names; no CUDA call is made.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(
            "no CUDA driver library (libcuda.so) found: no NVIDIA driver on this machine".into(),
        );
    }
    let attempt = std::panic::catch_unwind(|| -> Result<Arc<CudaContext>, String> {
        let n = CudaContext::device_count()
            .map_err(|e| format!("cuInit/cuDeviceGetCount failed: {e:?}"))?;
        if n < 1 {
            return Err("the CUDA driver reports no GPU".into());
        }
        CudaContext::new(0).map_err(|e| format!("cannot create a context on GPU 0: {e:?}"))
    });
    match attempt {
        Ok(r) => r,
        Err(_) => Err(
            "the CUDA driver library could not be used (cudarc panicked while loading it)".into(),
        ),
    }
}

/// The GPU as the CUDA driver reports it (nvidia-smi adds the driver's own version string).
pub fn gpu_info() -> GpuInfo {
    let ctx = match probe() {
        Ok(c) => c,
        Err(reason) => return GpuInfo::none(&reason),
    };
    let smi = machine::gpu_from_nvidia_smi();
    let mut v: std::ffi::c_int = 0;
    // SAFETY: cuDriverGetVersion writes one int through the pointer we own.
    let cuda = match unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut v) } {
        cudarc::driver::sys::CUresult::CUDA_SUCCESS => format!("{}.{}", v / 1000, v % 1000 / 10),
        _ => "unknown".into(),
    };
    GpuInfo {
        name: ctx.name().unwrap_or_else(|_| "unknown".into()),
        memory_bytes: ctx.total_mem().map_or(0, |m| m as u64),
        driver: if smi.driver == "none" {
            format!("CUDA driver API {v}")
        } else {
            smi.driver
        },
        cuda,
        source: "cuda driver API".into(),
    }
}

fn skip(case: &str, reason: impl Into<String>) -> Vec<Outcome> {
    vec![Outcome::Skipped {
        case: case.into(),
        reason: reason.into(),
    }]
}

/// The CUDA suite.
pub fn suite(ctx: &Ctx) -> Result<Vec<Outcome>> {
    let cu = match probe() {
        Ok(c) => c,
        Err(reason) => return Ok(skip("cuda", reason)),
    };
    let mut out = Vec::new();
    for w in [SliceWorkload::s1(ctx.quick), SliceWorkload::s2(ctx.quick)] {
        out.extend(workload(ctx, &cu, &w)?);
    }
    Ok(out)
}

/// Seconds of `f` followed by a stream synchronize, once untimed then `repeats` times.
fn time_gpu(ctx: &Ctx, stream: &CudaStream, mut f: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    f()?;
    stream.synchronize()?;
    let mut v = Vec::with_capacity(ctx.repeats);
    for _ in 0..ctx.repeats {
        let t = Instant::now();
        f()?;
        stream.synchronize()?;
        v.push(t.elapsed().as_secs_f64());
    }
    Ok(v)
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

const KERNEL: &str = r#"
extern "C" __global__ void gather_chips(const float* cube, float* out, const unsigned int* origins,
    unsigned long long n_chips, unsigned int bands, unsigned int height, unsigned int width,
    unsigned int chip) {
    unsigned long long per_chip = (unsigned long long)bands * chip * chip;
    unsigned long long total = per_chip * n_chips;
    for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x;
         i < total; i += (unsigned long long)blockDim.x * gridDim.x) {
        unsigned long long c = i / per_chip, r = i % per_chip;
        unsigned long long b = r / ((unsigned long long)chip * chip);
        unsigned long long yx = r % ((unsigned long long)chip * chip);
        unsigned long long y = yx / chip, x = yx % chip;
        unsigned long long y0 = origins[2 * c], x0 = origins[2 * c + 1];
        out[i] = cube[(b * height + y0 + y) * width + x0 + x];
    }
}
"#;

fn workload(ctx: &Ctx, cu: &Arc<CudaContext>, w: &SliceWorkload) -> Result<Vec<Outcome>> {
    let name = w.name();
    let plan = w.plan();
    let cube = w.cube();
    let flat = cube.as_slice().context("the cube is contiguous")?;
    let n = total_elements(&plan)?;
    let batch = plan.max_batch_elements();
    if (0..plan.len()).any(|i| plan.batch_elements(i).ok() != Some(batch)) {
        bail!("{name}: the pipeline needs equal-sized batches");
    }
    // Transfers of at least 8 MiB: several batches per pinned buffer.
    let per = (8 << 20) / (batch * 4).max(1);
    let per = per.max(1).min(plan.len() as usize);
    let groups = (plan.len() as usize).div_ceil(per);
    let chunk = per * batch;
    let padded = groups * chunk;
    let bytes = (n * 4) as u64;

    // Memory: cube + three outputs (pipeline, kernel, d2d copy), with 10 % headroom.
    let need = (flat.len() + 3 * padded) as u64 * 4 * 11 / 10;
    let (free, _) = cu.mem_get_info()?;
    if (free as u64) < need {
        return Ok(skip(
            &name,
            format!(
                "GPU 0 has {:.2} GiB free, {name} needs {:.2} GiB",
                free as f64 / (1u64 << 30) as f64,
                need as f64 / (1u64 << 30) as f64
            ),
        ));
    }

    let mut cpu = vec![0.0f32; n];
    gather_all(&plan, &cube, &mut cpu, true)?;
    let params = slice_params(w, &plan);
    let streams = [cu.new_stream()?, cu.new_stream()?];
    let s0 = &streams[0];
    let mut dev_out: CudaSlice<f32> = s0.alloc_zeros(padded)?;
    // SAFETY: pinned buffers are written (gathered or filled) before any copy reads them.
    let mut pinned = [
        unsafe { cu.alloc_pinned_with_flags::<f32>(chunk, 0) }?,
        unsafe { cu.alloc_pinned_with_flags::<f32>(chunk, 0) }?,
    ];
    let mut results = Vec::new();

    // The link's limit: the same bytes from an already-filled pinned buffer.
    pinned[0].as_mut_slice()?.fill(1.0);
    let pinned_h2d = time_gpu(ctx, s0, || {
        for g in 0..groups {
            let mut dst = dev_out.slice_mut(g * chunk..(g + 1) * chunk);
            s0.memcpy_htod(&pinned[0], &mut dst)?;
        }
        Ok(())
    })?;

    // Double-buffered pipeline: gather group g into pinned[g % 2] (waiting only for that
    // buffer's previous copy) while the other buffer's copy runs on the other stream.
    let pipeline = {
        let mut run = || -> Result<()> {
            for g in 0..groups {
                let k = g % 2;
                let host = pinned[k].as_mut_slice()?;
                let first = g * per;
                let last = ((g + 1) * per).min(plan.len() as usize);
                for (j, i) in (first..last).enumerate() {
                    plan.gather_into(cube.view(), i as u64, &mut host[j * batch..(j + 1) * batch])?;
                }
                let mut dst = dev_out.slice_mut(g * chunk..(g + 1) * chunk);
                streams[k].memcpy_htod(&pinned[k], &mut dst)?;
            }
            streams[0].synchronize()?;
            streams[1].synchronize()?;
            Ok(())
        };
        run()?;
        let mut v = Vec::new();
        for _ in 0..ctx.repeats {
            let t = Instant::now();
            run()?;
            v.push(t.elapsed().as_secs_f64());
        }
        v
    };
    let back = s0.clone_dtoh(&dev_out)?;
    if !same_bits(&back[..n], &cpu) {
        bail!("{name}: chips copied by the H2D pipeline differ from the CPU chips");
    }
    results.push(Outcome::Measured(
        Measurement::new(
            format!("{name}/h2d_pipeline"),
            params.clone(),
            bytes,
            pipeline,
            "pinned_h2d",
            &pinned_h2d,
        )
        .checked("same bytes as the CPU chips"),
    ));

    // Pageable: the CPU chips from ordinary memory.
    let pageable = time_gpu(ctx, s0, || {
        let mut dst = dev_out.slice_mut(0..n);
        s0.memcpy_htod(&cpu, &mut dst)?;
        Ok(())
    })?;
    results.push(Outcome::Measured(Measurement::new(
        format!("{name}/pageable_h2d"),
        params.clone(),
        bytes,
        pageable,
        "pinned_h2d",
        &pinned_h2d,
    )));

    // Device-resident cube, NVRTC gather kernel vs a D2D copy of the same output bytes.
    let ptx = cudarc::nvrtc::compile_ptx(KERNEL)
        .map_err(|e| anyhow::anyhow!("NVRTC: cannot compile the gather kernel: {e:?}"))?;
    let module = cu.load_module(ptx)?;
    let func = module.load_function("gather_chips")?;
    let dev_cube = s0.clone_htod(flat)?;
    let origins = chip_origins(&plan)?;
    let dev_origins = s0.clone_htod(&origins)?;
    let mut dev_gather: CudaSlice<f32> = s0.alloc_zeros(n)?;
    let mut dev_copy: CudaSlice<f32> = s0.alloc_zeros(n)?;
    let n_chips = (origins.len() / 2) as u64;
    let [bands, height, width] = w.shape.map(|d| d as u32);
    let chip = w.chip as u32;
    let blocks = n.div_ceil(256).min(65_535 * 8) as u32;
    let cfg = LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    };
    let kernel = time_gpu(ctx, s0, || {
        let mut b = s0.launch_builder(&func);
        b.arg(&dev_cube)
            .arg(&mut dev_gather)
            .arg(&dev_origins)
            .arg(&n_chips)
            .arg(&bands)
            .arg(&height)
            .arg(&width)
            .arg(&chip);
        // SAFETY: the kernel's arguments match its signature in KERNEL (pointers to f32,
        // f32, u32; then u64, u32 ×4); it writes only `n_chips * bands * chip²` = n elements
        // of dev_gather and reads the cube at origins inside its shape (plan invariants).
        unsafe { b.launch(cfg) }?;
        Ok(())
    })?;
    let d2d = time_gpu(ctx, s0, || {
        let src = dev_out.slice(0..n);
        s0.memcpy_dtod(&src, &mut dev_copy)?;
        Ok(())
    })?;
    let back = s0.clone_dtoh(&dev_gather)?;
    if !same_bits(&back, &cpu) {
        bail!("{name}: chips gathered by the CUDA kernel differ from the CPU chips");
    }
    results.push(Outcome::Measured(
        Measurement::new(
            format!("{name}/device_gather"),
            params,
            bytes,
            kernel,
            "d2d",
            &d2d,
        )
        .checked("same bytes as the CPU chips"),
    ));
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without a driver or GPU the probe returns a reason (never panics); with one, the
    /// whole suite runs and its chips are checked against the CPU's inside `workload`.
    #[test]
    fn suite_runs_or_skips_with_a_reason() {
        let ctx = Ctx {
            quick: true,
            repeats: 1,
        };
        match probe() {
            Err(reason) => {
                println!("skipped: {reason}");
                assert!(!reason.is_empty());
                assert_eq!(gpu_info().name, "none");
                let out = suite(&ctx).expect("a skip, not an error");
                assert!(matches!(&out[..], [Outcome::Skipped { reason: r, .. }] if *r == reason));
            }
            Ok(_) => {
                let out = suite(&ctx).expect("the CUDA suite runs");
                let checked = out
                    .iter()
                    .filter(|o| matches!(o, Outcome::Measured(m) if m.checked.is_some()))
                    .count();
                // h2d_pipeline and device_gather for S1 and S2 (unless skipped for memory).
                assert!(
                    checked == 4 || out.iter().any(|o| matches!(o, Outcome::Skipped { .. })),
                    "{out:?}"
                );
            }
        }
    }
}
