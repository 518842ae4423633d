//! What the book's "Moving chips to a GPU" and "Scaling out" chapters quote is what the binary
//! does: the skip lines the GPU chapter shows are the ones `geochip bench cuda gds` prints
//! here without a GPU (for this build's features), the CPU figures it quotes are rows of the
//! generated benchmark report, and the commands the scaling chapter shows are the ones the
//! tests run.

mod common;

use common::{geochip, repo};

fn chapter(name: &str) -> String {
    let p = repo().join("book/src").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The console blocks between `<!-- geochip:gpu-skip:start features=F -->` and the next
/// `<!-- geochip:gpu-skip:end -->`: `(features, command, output lines)`.
fn skip_blocks(md: &str) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = md;
    while let Some(i) = rest.find("<!-- geochip:gpu-skip:start features=") {
        let after = &rest[i + "<!-- geochip:gpu-skip:start features=".len()..];
        let (features, body) = after.split_once(" -->").expect("marker closes");
        let (block, tail) = body
            .split_once("<!-- geochip:gpu-skip:end -->")
            .expect("end marker");
        let lines: Vec<&str> = block
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("```"))
            .collect();
        let command = lines
            .first()
            .and_then(|l| l.strip_prefix("$ "))
            .expect("the block starts with `$ command`")
            .to_owned();
        let output = lines[1..].iter().map(|l| (*l).to_owned()).collect();
        out.push((features.trim().to_owned(), command, output));
        rest = tail;
    }
    out
}

#[test]
fn gpu_chapter_shows_what_the_runner_prints_without_a_gpu() {
    let md = chapter("gpu.md");
    let blocks = skip_blocks(&md);
    assert_eq!(blocks.len(), 2, "two skip blocks in gpu.md");
    let features = if cfg!(all(feature = "cuda", feature = "gds")) {
        "cuda,gds"
    } else if cfg!(any(feature = "cuda", feature = "gds")) {
        println!("skipped: built with only one of cuda/gds; the chapter shows both or neither");
        return;
    } else {
        ""
    };
    let (_, command, want) = blocks
        .iter()
        .find(|(f, _, _)| f == features)
        .unwrap_or_else(|| panic!("gpu.md has no block for features `{features}`"));
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().to_str().expect("utf-8");
    let args: Vec<&str> = command
        .split_whitespace()
        .skip(1) // `geochip`
        .map(|a| if a == "results/" { out_dir } else { a })
        .collect();
    let out = geochip(&args);
    common::ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let got: Vec<&str> = stdout.lines().collect();
    if features == "cuda,gds" && !stdout.contains("no CUDA driver library") {
        println!("skipped: this machine has a CUDA driver; the chapter shows the no-GPU output");
        println!("{stdout}");
        return;
    }
    assert_eq!(got, *want, "gpu.md's block differs from `{command}`");
}

#[test]
fn gpu_chapter_quotes_rows_of_the_generated_report() {
    let md = chapter("gpu.md");
    let report = chapter("bench-report/report.md");
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| `S") || l.starts_with("| `R"))
        .collect();
    assert!(rows.len() >= 4, "gpu.md quotes the slicing rows");
    for row in rows {
        // The chapter leaves out the report's last column (how the output was checked).
        assert!(
            report.lines().any(|r| r.starts_with(row)),
            "gpu.md quotes a row that is not in bench-report/report.md: {row}"
        );
    }
}

#[test]
fn scaling_chapter_shows_the_commands_the_tests_run() {
    let md = chapter("scaling-out.md");
    // The command `mpi_two_ranks_aggregate_one_result` (tests/cli_bench.rs) runs, and the
    // sbatch template it explains.
    for needed in [
        "mpirun -np 2 --oversubscribe target/release/geochip bench mpi --quick",
        "sbatch native-bench/slurm/geochip-bench.sbatch",
        "cargo build --release -p geochip-bench --features mpi",
    ] {
        assert!(md.contains(needed), "scaling-out.md lacks `{needed}`");
    }
    let sbatch = std::fs::read_to_string(repo().join("native-bench/slurm/geochip-bench.sbatch"))
        .expect("the sbatch template");
    for line in [
        "srun --nodes=1 --ntasks=1 \"$BIN\" bench slicing rasterize cuda gds $QUICK --out \"$RESULTS\"",
        "srun \"$BIN\" bench mpi $QUICK --out \"$RESULTS\"",
        "\"$BIN\" bench report --results \"$RESULTS\" --out \"$RESULTS/report\" --force",
    ] {
        assert!(sbatch.contains(line), "the sbatch template lacks `{line}`");
        assert!(md.contains(line), "scaling-out.md does not quote `{line}`");
    }
}

#[test]
fn scaling_chapter_table_is_the_recorded_mpi_runs() {
    let md = chapter("scaling-out.md");
    let table = md
        .split_once("<!-- geochip:mpi-table:start -->")
        .and_then(|(_, t)| t.split_once("<!-- geochip:mpi-table:end -->"))
        .map(|(t, _)| t)
        .expect("the table markers");
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| `")).collect();
    let path = repo().join("book/src/bench-results/mpi/geochip-bench.jsonl");
    let text = std::fs::read_to_string(&path).expect("the mpi results file");
    let mut runs = std::collections::HashMap::new();
    let mut want = Vec::new();
    for line in text.lines() {
        let r: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        match r["kind"].as_str() {
            Some("run") => {
                runs.insert(r["run_id"].as_str().unwrap_or("").to_owned(), r);
            }
            Some("result") => {
                let run = &runs[r["run_id"].as_str().unwrap_or("")];
                let bytes = r["bytes"].as_u64().expect("bytes");
                let base = r["baseline"]["seconds"].as_f64().expect("baseline");
                want.push(format!(
                    "| `{}` | {} | {} | {} | {} | {:.3} | {:.3} | {:.3} |",
                    r["case"].as_str().unwrap_or(""),
                    r["params"]["ranks"],
                    if run["quick"] == true {
                        "quick"
                    } else {
                        "full"
                    },
                    r["params"]["chips"],
                    bytes,
                    r["gbps"].as_f64().expect("gbps"),
                    bytes as f64 / base / 1e9,
                    r["ratio"].as_f64().expect("ratio"),
                ));
                assert!(r["checked"].is_string(), "every run was checked: {r}");
            }
            _ => {}
        }
    }
    assert!(want.len() >= 2, "at least the 1- and 2-rank runs");
    assert_eq!(
        rows,
        want,
        "scaling-out.md's table differs from {}",
        path.display()
    );
}
