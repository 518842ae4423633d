//! The results file: JSON Lines, appended to, never rewritten.
//!
//! Line 1 is a header `{"schema": "geochip-bench/1", "kind": "header", …}`; a file whose first
//! line is not that header is not ours and is never appended to. Then, per run, one `run`
//! record (machine, commit, arguments) followed by its `result` and `skip` records, each
//! carrying the run's `run_id`.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The schema marker on every line.
pub const SCHEMA: &str = "geochip-bench/1";

/// The file name inside `--out`.
pub const FILE_NAME: &str = "geochip-bench.jsonl";

/// One timed case with its same-run baseline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    /// Case name, e.g. `S1_f32_8x1024x1024_256_overlap32/gather`.
    pub case: String,
    /// The dataset parameters (shape, chip, dtype, counts, …) and seed, as JSON.
    pub params: Value,
    /// Bytes moved/produced per iteration (the throughput denominator).
    pub bytes: u64,
    /// Best (minimum) wall time of the samples, seconds.
    pub seconds: f64,
    /// Every sample, seconds.
    pub samples: Vec<f64>,
    /// The physical baseline on the same bytes in the same run.
    pub baseline: Baseline,
    /// Our throughput divided by the baseline's: `baseline.seconds / seconds` (1.0 = as fast
    /// as the baseline; 0.5 = half its speed).
    pub ratio: f64,
    /// How the result was checked (e.g. "same bytes as the CPU chips"), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<String>,
}

/// A baseline measurement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    /// What it is: `memcpy`, `memset`, `read`, `pinned_h2d`, `d2d`, …
    pub name: String,
    /// Best wall time, seconds.
    pub seconds: f64,
}

impl Measurement {
    /// A measurement from samples (best is the minimum) and a baseline's samples.
    pub fn new(
        case: impl Into<String>,
        params: Value,
        bytes: u64,
        samples: Vec<f64>,
        baseline_name: &str,
        baseline_samples: &[f64],
    ) -> Self {
        let seconds = min(&samples);
        let base = min(baseline_samples);
        Self {
            case: case.into(),
            params,
            bytes,
            seconds,
            samples,
            baseline: Baseline {
                name: baseline_name.to_owned(),
                seconds: base,
            },
            ratio: if seconds > 0.0 { base / seconds } else { 0.0 },
            checked: None,
        }
    }

    /// Records how the output was checked.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    pub fn checked(mut self, how: &str) -> Self {
        self.checked = Some(how.to_owned());
        self
    }

    /// GB/s (10⁹ bytes per second) at the best time.
    pub fn gbps(&self) -> f64 {
        gbps(self.bytes, self.seconds)
    }
}

/// 10⁹ bytes per second.
pub fn gbps(bytes: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        bytes as f64 / seconds / 1e9
    } else {
        0.0
    }
}

fn min(s: &[f64]) -> f64 {
    s.iter().copied().fold(f64::INFINITY, f64::min)
}

/// An open results file (checked to be ours).
pub struct ResultsFile {
    path: PathBuf,
}

impl ResultsFile {
    /// Opens `dir/geochip-bench.jsonl` for appending, creating it (with its header) if it does
    /// not exist; refuses a file whose first line is not our header.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the results directory", dir.display()))?;
        let path = dir.join(FILE_NAME);
        if path.exists() {
            check_ours(&path)?;
        } else {
            let header = serde_json::json!({
                "schema": SCHEMA,
                "kind": "header",
                "about": "geochip bench results: one JSON object per line; appended, never rewritten",
            });
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .with_context(|| format!("{}: cannot create", path.display()))?;
            writeln!(f, "{header}")?;
        }
        Ok(Self { path })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record (adds the schema marker).
    pub fn append(&self, kind: &str, mut record: Value) -> Result<()> {
        if let Value::Object(m) = &mut record {
            m.insert("schema".into(), SCHEMA.into());
            m.insert("kind".into(), kind.into());
        }
        let mut f = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .with_context(|| format!("{}: cannot open for appending", self.path.display()))?;
        writeln!(f, "{record}")
            .with_context(|| format!("{}: cannot append", self.path.display()))?;
        Ok(())
    }
}

/// Fails unless `path`'s first line is our header.
pub fn check_ours(path: &Path) -> Result<()> {
    let f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut first = String::new();
    BufReader::new(f)
        .read_line(&mut first)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let ours = serde_json::from_str::<Value>(first.trim()).is_ok_and(|v| {
        v.get("schema").and_then(Value::as_str) == Some(SCHEMA)
            && v.get("kind").and_then(Value::as_str) == Some("header")
    });
    if !ours {
        bail!(
            "{}: not a geochip bench results file (its first line is not the \
             {{\"schema\": \"{SCHEMA}\", \"kind\": \"header\"}} header); refusing to append to it. \
             Choose another --out directory.",
            path.display()
        );
    }
    Ok(())
}

/// Every record of every results file under `dir` (its `geochip-bench.jsonl`, and the same
/// name one level down, e.g. `results/<machine>/geochip-bench.jsonl`), header lines dropped.
pub fn read_all(dir: &Path) -> Result<Vec<Value>> {
    let mut files = Vec::new();
    let top = dir.join(FILE_NAME);
    if top.is_file() {
        files.push(top);
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut subs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path().join(FILE_NAME)))
            .filter(|p| p.is_file())
            .collect();
        subs.sort();
        files.extend(subs);
    }
    if files.is_empty() {
        bail!(
            "{}: no {FILE_NAME} here (run `geochip bench --out {}` first)",
            dir.display(),
            dir.display()
        );
    }
    let mut out = Vec::new();
    for path in files {
        check_ours(&path)?;
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        for (i, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a JSON record", path.display(), i + 1))?;
            out.push(v);
        }
    }
    Ok(out)
}
