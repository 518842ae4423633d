//! `geochip bench mpi` (feature `mpi`, the `mpi` crate over the system MPI): every rank
//! gathers a disjoint shard of the S1 chips (chip `i` belongs to rank `i mod size`), timed
//! between barriers; rank 0 gathers each rank's time, takes the slowest per repetition, and
//! appends the aggregate throughput (all ranks' bytes ÷ slowest time) next to the aggregate
//! memcpy of the same bytes. The ranks' chips are checked together against the single-process
//! chips: same count, same order-independent checksum of their bits.
//!
//! Run under `mpirun -np N geochip bench mpi …` or `srun geochip bench mpi …` (see
//! `native-bench/slurm/geochip-bench.sbatch`).

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use mpi::collective::SystemOperation;
use mpi::traits::*;
use serde_json::json;

use super::suites::{gather_all, slice_params, total_elements};
use super::workloads::SliceWorkload;
use super::{Ctx, Measurement, results};

/// Order-independent checksum: the wrapping sum of the values' bit patterns.
fn checksum(values: &[f32]) -> u64 {
    values
        .iter()
        .fold(0u64, |acc, v| acc.wrapping_add(u64::from(v.to_bits())))
}

/// Fixed-width host name for gathering (MPI gathers need equal counts).
const NAME_LEN: usize = 64;

/// Runs the sharded benchmark on every rank; rank 0 appends to `out`.
pub fn run(ctx: &Ctx, out: &Path) -> Result<()> {
    let universe = mpi::initialize().context("MPI is already initialised or cannot start")?;
    let world = universe.world();
    let (rank, size) = (world.rank(), world.size());
    let root = world.process_at_rank(0);
    // Rank 0 checks the results file before anyone works, and tells the others.
    let file = if rank == 0 {
        match results::ResultsFile::open(out) {
            Ok(f) => Some(f),
            Err(e) => {
                let mut go = 0u8;
                root.broadcast_into(&mut go);
                return Err(e);
            }
        }
    } else {
        None
    };
    let mut go = 1u8;
    root.broadcast_into(&mut go);
    if go == 0 {
        bail!("rank {rank}: rank 0 could not open the results file");
    }

    let w = SliceWorkload::s1(ctx.quick);
    let plan = w.plan();
    let cube = w.cube();
    let mine: Vec<u64> = (0..plan.len())
        .filter(|i| i % size as u64 == rank as u64)
        .collect();
    let mut n = 0;
    for &i in &mine {
        n += plan.batch_elements(i)?;
    }
    let mut dst = vec![0.0f32; n];
    let src = vec![1.0f32; n];
    let shard = |dst: &mut [f32]| -> Result<()> {
        let mut off = 0;
        for &i in &mine {
            let k = plan.batch_elements(i)?;
            plan.gather_into(cube.view(), i, &mut dst[off..off + k])?;
            off += k;
        }
        Ok(())
    };
    shard(&mut dst)?; // warm-up
    let sum = checksum(&dst);
    let mut gather_max = Vec::new();
    let mut memcpy_max = Vec::new();
    for _ in 0..ctx.repeats {
        world.barrier();
        let t = Instant::now();
        shard(&mut dst)?;
        black_box(&dst);
        let mut slowest = 0.0f64;
        world.all_reduce_into(
            &t.elapsed().as_secs_f64(),
            &mut slowest,
            SystemOperation::max(),
        );
        gather_max.push(slowest);
        world.barrier();
        let t = Instant::now();
        dst.copy_from_slice(black_box(&src));
        black_box(&dst);
        let mut slowest = 0.0f64;
        world.all_reduce_into(
            &t.elapsed().as_secs_f64(),
            &mut slowest,
            SystemOperation::max(),
        );
        memcpy_max.push(slowest);
    }
    let mut name = [0u8; NAME_LEN];
    let host = mpi::environment::processor_name().unwrap_or_else(|_| "unknown".into());
    for (d, s) in name.iter_mut().zip(host.bytes()) {
        *d = s;
    }
    let stats = [mine.len() as u64, (n * 4) as u64, sum];
    if rank != 0 {
        root.gather_into(&stats[..]);
        root.gather_into(&name[..]);
        return Ok(());
    }
    let mut all = vec![0u64; 3 * size as usize];
    root.gather_into_root(&stats[..], &mut all[..]);
    let mut names = vec![0u8; NAME_LEN * size as usize];
    root.gather_into_root(&name[..], &mut names[..]);
    let hosts: Vec<String> = names
        .chunks(NAME_LEN)
        .map(|c| String::from_utf8_lossy(c).trim_end_matches('\0').to_owned())
        .collect();
    let chips: u64 = all.chunks(3).map(|c| c[0]).sum();
    let bytes: u64 = all.chunks(3).map(|c| c[1]).sum();
    let sums = all.chunks(3).fold(0u64, |a, c| a.wrapping_add(c[2]));
    // The single-process reference on rank 0.
    let total = total_elements(&plan)?;
    let mut reference = vec![0.0f32; total];
    gather_all(&plan, &cube, &mut reference, true)?;
    if chips != plan.num_chips() || bytes != (total * 4) as u64 || sums != checksum(&reference) {
        bail!(
            "the ranks' chips do not add up to the single-process chips \
             ({chips} of {} chips, {bytes} of {} bytes)",
            plan.num_chips(),
            total * 4
        );
    }
    let file = file.context("rank 0 holds the results file")?;
    let run_id = super::new_run_id();
    let machine = super::detect_machine();
    file.append(
        "run",
        json!({
            "run_id": run_id,
            "timestamp_unix": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            "git_commit": super::machine::git_commit(),
            "geochip_version": env!("CARGO_PKG_VERSION"),
            "quick": ctx.quick,
            "repeats": ctx.repeats,
            "suites": ["mpi"],
            "features": super::built_features(),
            "mpi": {"ranks": size, "hosts": hosts},
            "machine": machine,
        }),
    )?;
    let mut params = slice_params(&w, &plan);
    params["ranks"] = size.into();
    params["hosts"] = json!(hosts);
    params["shard"] = "chip i on rank i mod ranks".into();
    let m = Measurement::new(
        format!("{}/mpi_{size}ranks/gather", w.name()),
        params,
        bytes,
        gather_max,
        "memcpy",
        &memcpy_max,
    )
    .checked("ranks' chips = single-process chips (count, bit checksum)");
    println!(
        "mpi        {:<58} {:>9.3} GB/s  memcpy {:>9.3} GB/s  ratio {:.3}  ({size} ranks on {})",
        m.case,
        m.gbps(),
        results::gbps(m.bytes, m.baseline.seconds),
        m.ratio,
        hosts.join(",")
    );
    let mut rec = serde_json::to_value(&m)?;
    if let Some(o) = rec.as_object_mut() {
        o.insert("run_id".into(), run_id.into());
        o.insert("suite".into(), "mpi".into());
        o.insert("gbps".into(), m.gbps().into());
    }
    file.append("result", rec)?;
    Ok(())
}
