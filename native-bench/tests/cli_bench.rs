//! `geochip bench`: quick suites append JSON Lines with a machine record, GPU suites skip with
//! a reason, foreign results files are refused, and the report renders.

mod common;

use common::geochip;
use serde_json::Value;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn records(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("results file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn quick_run_appends_results_and_report_renders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_str().expect("utf-8 path");
    let args = [
        "bench",
        "slicing",
        "cuda",
        "gds",
        "--quick",
        "--repeats",
        "1",
        "--out",
        out,
    ];
    let first = geochip(&args);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let stdout = text(&first.stdout);
    // Without the features (or without a GPU) the GPU suites say why they did not run.
    assert!(
        stdout.contains("cuda: skipped: ") || stdout.contains("cuda "),
        "{stdout}"
    );
    assert!(stdout.contains("skipped: "), "{stdout}");
    let path = dir.path().join("geochip-bench.jsonl");
    let recs = records(&path);
    assert_eq!(recs[0]["schema"], "geochip-bench/1");
    assert_eq!(recs[0]["kind"], "header");
    let run = &recs[1];
    assert_eq!(run["kind"], "run");
    assert!(run["machine"]["cores"].as_u64().unwrap_or(0) >= 1);
    assert!(run["machine"]["cpu_model"].is_string());
    assert!(run["machine"]["gpu"]["name"].is_string());
    assert!(run["machine"]["gds_mode"].is_string());
    assert!(run["git_commit"].is_string());
    let results: Vec<&Value> = recs.iter().filter(|r| r["kind"] == "result").collect();
    // S1 and S2, serial and parallel.
    assert_eq!(results.len(), 4, "{recs:?}");
    for r in &results {
        assert_eq!(r["suite"], "slicing");
        assert_eq!(r["run_id"], run["run_id"]);
        assert_eq!(r["baseline"]["name"], "memcpy");
        assert!(r["bytes"].as_u64().unwrap_or(0) > 0);
        let (s, b) = (
            r["seconds"].as_f64().unwrap_or(0.0),
            r["baseline"]["seconds"].as_f64().unwrap_or(0.0),
        );
        assert!(s > 0.0 && b > 0.0, "{r}");
        let ratio = r["ratio"].as_f64().unwrap_or(0.0);
        assert!((ratio - b / s).abs() <= 1e-12 * ratio.max(1.0), "{r}");
        assert!(r["params"]["shape"].is_array());
    }
    // S1 quick: 8 bands, 1024² cut into 256² chips with overlap 32 → stride 224, floor(768 / 224) + 1 = 4 windows per axis.
    assert_eq!(results[0]["params"]["chips"], 16);
    assert_eq!(results[0]["bytes"], 16 * 8 * 256 * 256 * 4);
    assert!(
        recs.iter()
            .any(|r| r["kind"] == "skip" && r["suite"] == "gds")
    );

    // A second run appends: the first run's lines are kept byte for byte.
    let before = std::fs::read_to_string(&path).expect("read");
    let second = geochip(&args);
    assert!(second.status.success(), "{}", text(&second.stderr));
    let after = std::fs::read_to_string(&path).expect("read");
    assert!(after.starts_with(&before) && after.len() > before.len());
    assert_eq!(after.matches("\"kind\":\"header\"").count(), 1);
    assert_eq!(after.matches("\"kind\":\"run\"").count(), 2);

    // The report: markdown table + one SVG chart per measured suite.
    let report_dir = dir.path().join("report");
    let rep = geochip(&["bench", "report", "--results", out]);
    assert!(rep.status.success(), "{}", text(&rep.stderr));
    let md = std::fs::read_to_string(report_dir.join("report.md")).expect("report.md");
    assert!(md.contains("### slicing"), "{md}");
    assert!(
        md.contains("| `S1_f32_8x1024x1024_256_overlap32/gather` |"),
        "{md}"
    );
    assert!(md.contains("skipped: "), "{md}");
    let svg = std::fs::read_to_string(report_dir.join("slicing.svg")).expect("slicing.svg");
    assert!(svg.starts_with("<svg") && svg.contains("S2_f32_8x512x512_64"));
    // Never overwritten without --force.
    let again = geochip(&["bench", "report", "--results", out]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("--force"));
    let forced = geochip(&[
        "bench",
        "report",
        "--results",
        out,
        "--force",
        "--svg-prefix",
        "bench-report/",
    ]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    let md = std::fs::read_to_string(report_dir.join("report.md")).expect("report.md");
    assert!(md.contains("](bench-report/slicing.svg)"), "{md}");
}

#[test]
fn refuses_to_append_to_a_file_that_is_not_ours() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("geochip-bench.jsonl");
    let foreign = "{\"benchmark\": \"someone else's\", \"value\": 1}\n";
    std::fs::write(&path, foreign).expect("write");
    let out = geochip(&[
        "bench",
        "slicing",
        "--quick",
        "--out",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("not a geochip bench results file"), "{err}");
    assert!(err.contains("refusing to append"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), foreign);
    // The report refuses it too.
    let rep = geochip(&[
        "bench",
        "report",
        "--results",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert!(!rep.status.success());
}

#[test]
fn unknown_suite_and_zero_repeats_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    let out = geochip(&["bench", "slicin", "--out", d]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("unknown suite 'slicin'") && err.contains("slicing"),
        "{err}"
    );
    let out = geochip(&["bench", "slicing", "--repeats", "0", "--out", d]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--repeats"));
    let list = geochip(&["bench", "--list"]);
    assert!(list.status.success());
    for suite in ["slicing", "rasterize", "cuda", "gds"] {
        assert!(text(&list.stdout).contains(suite));
    }
}

#[test]
fn workloads_are_exported_for_the_anchors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    let out = geochip(&["bench", "workloads", "--quick", "--out", d]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    let s1 = &manifest["slicing"][0];
    let cube: ndarray::ArrayD<f32> =
        ndarray_npy::read_npy(dir.path().join(s1["file"].as_str().expect("file"))).expect("npy");
    assert_eq!(cube.shape(), &[8, 1024, 1024]);
    assert_eq!(cube[[1, 2, 3]], (1024 * 1024 + 2 * 1024 + 3) as f32);
    let r1 = &manifest["rasterize"][0];
    let fc: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(r1["file"].as_str().expect("file")))
            .expect("geojson"),
    )
    .expect("json");
    assert_eq!(fc["features"].as_array().map(Vec::len), Some(2_500));
    // Refuses to overwrite.
    let again = geochip(&["bench", "workloads", "--quick", "--out", d]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("--force"));
}

/// With the GPU features built: the GPU suites either run (and check their bytes) or print
/// "skipped: <reason>" — never crash — on machines without CUDA.
#[cfg(feature = "cuda")]
#[test]
fn gpu_suites_run_or_skip_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    let out = geochip(&[
        "bench",
        "cuda",
        "gds",
        "--quick",
        "--repeats",
        "1",
        "--out",
        d,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let recs = records(&dir.path().join("geochip-bench.jsonl"));
    for r in recs.iter().filter(|r| r["kind"] == "skip") {
        println!(
            "skipped: {} ({})",
            r["reason"].as_str().unwrap_or(""),
            r["case"]
        );
        assert!(!r["reason"].as_str().unwrap_or("").is_empty());
    }
    assert!(
        recs.iter()
            .any(|r| r["kind"] == "result" && r["checked"].is_string())
            || stdout.contains("skipped: "),
        "{stdout}"
    );
}

/// Two MPI ranks on this machine (`mpirun -np 2`, allowed as root): each slices half the S1
/// chips, rank 0 appends one aggregate result whose chips were checked against the
/// single-process chips.
#[cfg(feature = "mpi")]
#[test]
fn mpi_two_ranks_aggregate_one_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    let out = std::process::Command::new("mpirun")
        .args(["-np", "2", "--oversubscribe"])
        .arg(env!("CARGO_BIN_EXE_geochip"))
        .args(["bench", "mpi", "--quick", "--repeats", "2", "--out", d])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .current_dir(common::repo())
        .output()
        .expect("mpirun runs (the mpi feature needs an MPI installation: openmpi-bin)");
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let recs = records(&dir.path().join("geochip-bench.jsonl"));
    let runs: Vec<&Value> = recs.iter().filter(|r| r["kind"] == "run").collect();
    assert_eq!(runs.len(), 1, "only rank 0 writes");
    assert_eq!(runs[0]["mpi"]["ranks"], 2);
    let results: Vec<&Value> = recs.iter().filter(|r| r["kind"] == "result").collect();
    assert_eq!(results.len(), 1);
    let r = results[0];
    assert_eq!(r["suite"], "mpi");
    assert_eq!(r["params"]["ranks"], 2);
    assert_eq!(r["bytes"], 16 * 8 * 256 * 256 * 4);
    assert!(r["checked"].is_string());
    assert_eq!(r["samples"].as_array().map(Vec::len), Some(2));
}

#[test]
fn zarr_suite_measures_every_layout_with_baselines_and_cleans_up() {
    let scratch_dirs = || {
        std::fs::read_dir(std::env::temp_dir())
            .expect("temp dir")
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("geochip-bench-zarr-")
            })
            .count()
    };
    let before = scratch_dirs();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = geochip(&[
        "bench",
        "zarr",
        "--quick",
        "--repeats",
        "1",
        "--out",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let recs = records(&dir.path().join("geochip-bench.jsonl"));
    let run = &recs[1];
    assert_eq!(run["kind"], "run");
    let results: Vec<&Value> = recs.iter().filter(|r| r["kind"] == "result").collect();
    // 3 layouts × (write, read) + 3 layouts × 3 single-chunk paths.
    assert_eq!(results.len(), 15, "{recs:?}");
    for layout in ["uncompressed", "zstd-1", "sharded"] {
        for case in [
            "write",
            "read",
            "chunk_open_per_read",
            "chunk_reused_array",
            "chunk_byte_source_store",
        ] {
            let name = format!("Z1_f32_2048x2048_c512/{layout}/{case}");
            let r = results
                .iter()
                .find(|r| r["case"] == name.as_str())
                .unwrap_or_else(|| panic!("no {name}"));
            assert!(r["ratio"].as_f64().unwrap_or(0.0) > 0.0, "{r}");
            let base = r["baseline"]["name"].as_str().unwrap_or("");
            if case.starts_with("chunk") {
                assert_eq!(base, "plain_read_chunk_file");
                assert!(
                    r["params"]["ms_per_read"].as_f64().unwrap_or(0.0) > 0.0,
                    "{r}"
                );
                assert!(r["params"]["cpu_ms_per_read"].is_number(), "{r}");
            } else {
                assert_eq!(base, format!("plain_{case}"));
            }
        }
    }
    let read = results
        .iter()
        .find(|r| r["case"] == "Z1_f32_2048x2048_c512/sharded/read")
        .expect("sharded read");
    assert_eq!(read["checked"], "values equal the array written");
    // The scratch stores are gone.
    assert!(
        scratch_dirs() <= before,
        "a geochip-bench-zarr-* directory was left behind"
    );
}
