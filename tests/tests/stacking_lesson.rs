//! The "Stacking a time series" lesson against odc-stac: its cube (read from the COGs in
//! `cookbooks/data/stacking/` through the core's COG reader) has odc-stac 0.5.3's grid, shape,
//! times and SHA-256 for each case in `tests/fixtures/stacking_lesson/`; and the browser's
//! plan/fetch session gives the same answer byte for byte as the synchronous reader.

use std::path::{Path, PathBuf};

use geochip::cog::{ByteSource, MemorySource};
use geochip::lesson::{
    SessionStep, SourceReader, StackLessonAnswer, StackLessonInput, StackLessonSession,
    stacking_lesson,
};
use geochip::stack::AssetError;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn catalog_dir() -> PathBuf {
    root().join("cookbooks/data/stacking")
}

fn catalog() -> String {
    std::fs::read_to_string(catalog_dir().join("catalog.json")).expect("catalog.json")
}

/// Files named by href, relative to the catalog, read whole into memory.
fn file_reader() -> SourceReader<'static> {
    SourceReader::new(|href: &str| {
        let path = catalog_dir().join(href);
        let bytes =
            std::fs::read(&path).map_err(|e| AssetError::not_found(format!("{href}: {e}")))?;
        Ok(Box::new(MemorySource::new(href, bytes)) as Box<dyn ByteSource>)
    })
}

/// Drives a session as the page does, answering each request like an HTTP server answers a
/// `Range` request (a short read at the end of the file); returns the answer and the number
/// of requests and bytes.
fn run_session(input: &StackLessonInput<'_>) -> (StackLessonAnswer, usize, u64) {
    let mut session = StackLessonSession::new(&catalog(), input).expect("session");
    let (mut requests, mut bytes) = (0, 0);
    for _ in 0..64 {
        match session.step().expect("step") {
            SessionStep::Done(answer) => return (answer, requests, bytes),
            SessionStep::Need(need) => {
                assert!(!need.is_empty());
                for r in need {
                    let file = std::fs::read(catalog_dir().join(&r.href)).expect("asset");
                    let start = r.offset as usize;
                    let end = (start + r.len as usize).min(file.len());
                    requests += 1;
                    bytes += (end - start) as u64;
                    session.add(
                        &r.href,
                        r.offset,
                        file[start..end].to_vec(),
                        file.len() as u64,
                    );
                }
            }
            _ => unreachable!("SessionStep has two variants"),
        }
    }
    panic!("the session did not finish within 64 rounds");
}

/// The lesson's inputs for an odc-stac case's parameters.
fn inputs(params: &Value) -> (String, String, String, String, String, String) {
    let s = |k: &str| {
        params.get(k).map(|v| match v {
            Value::String(s) => s.clone(),
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map_or(x.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        })
    };
    (
        s("bands").unwrap_or_default(),
        s("resolution").unwrap_or_default(),
        s("crs").unwrap_or_default(),
        s("resampling").unwrap_or_else(|| "nearest".into()),
        s("groupby").unwrap_or_else(|| "time".into()),
        s("bbox").unwrap_or_default(),
    )
}

#[test]
fn lesson_cube_matches_odc_stac() {
    let dir = root().join("tests/fixtures/stacking_lesson");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 5,
        "expected the odc-stac cases in {}",
        dir.display()
    );
    for case in cases {
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&case).expect("case")).expect("json");
        let name = expected["case"].as_str().expect("case name");
        let (bands, resolution, crs, resampling, groupby, bbox) = inputs(&expected["params"]);
        let input = StackLessonInput {
            bands: &bands,
            resolution: &resolution,
            crs: &crs,
            resampling: &resampling,
            groupby: &groupby,
            bbox: &bbox,
        };
        let answer = stacking_lesson(&catalog(), &input, &mut file_reader())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let summary: Value = serde_json::from_str(&answer.summary).expect("summary json");
        assert_eq!(summary["shape"], expected["shape"], "{name}: shape");
        assert_eq!(summary["dtype"], expected["dtype"], "{name}: dtype");
        assert_eq!(summary["bands"], expected["bands"], "{name}: bands");
        let times: Vec<&str> = summary["times"]
            .as_array()
            .expect("times")
            .iter()
            .map(|t| t["time"].as_str().expect("time"))
            .collect();
        let want: Vec<&str> = expected["time"]
            .as_array()
            .expect("time")
            .iter()
            .map(|t| t.as_str().expect("time"))
            .collect();
        assert_eq!(times, want, "{name}: times");
        for (got, want) in summary["transform"]
            .as_array()
            .expect("transform")
            .iter()
            .zip(expected["transform"].as_array().expect("transform"))
        {
            let (g, w) = (got.as_f64().expect("num"), want.as_f64().expect("num"));
            assert!(
                (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                "{name}: transform {g} vs {w}"
            );
        }
        if case.with_extension("u8.gz").exists() {
            reprojected_pixels(&case, &expected);
        } else {
            assert_eq!(
                summary["sha256"], expected["sha256"],
                "{name}: cube SHA-256"
            );
            println!("{name}: {} equals odc-stac", expected["sha256"]);
        }

        // The browser's plan/fetch path gives the same answer, byte for byte.
        let (fetched, requests, bytes) = run_session(&input);
        assert_eq!(
            fetched, answer,
            "{name}: session answer differs from the direct read"
        );
        println!("  session: {requests} range requests, {bytes} bytes");
    }
}

/// The reprojected case (UTM → EPSG:3857) pixel by pixel: every pixel equals odc-stac's,
/// including the four on source edges that need GDAL's exact-transform retry for positions the
/// approximate transformer puts just outside the source (`GWKCheckAndComputeSrcOffsets`).
fn reprojected_pixels(case: &Path, expected: &Value) {
    use std::io::Read as _;
    let mut want = Vec::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(case.with_extension("u8.gz")).expect("pixels"),
    )
    .read_to_end(&mut want)
    .expect("gunzip");
    let items = geochip::stac::parse_items(&catalog()).expect("items");
    let params = geochip::stack::GridParams {
        bands: Some(vec!["red".into()]),
        crs: Some("EPSG:3857".parse().expect("crs")),
        resolution: Some((1000.0, 1000.0)),
        groupby: geochip::stack::GroupBy::SolarDay,
        ..Default::default()
    };
    assert_eq!(expected["params"]["crs"], "EPSG:3857");
    assert_eq!(expected["params"]["resolution"], 1000);
    let cube = geochip::stack::load(
        &items,
        &params,
        &Default::default(),
        &mut file_reader(),
        &mut |_, _| {},
    )
    .expect("load");
    let got = cube.array.data().to_le_bytes();
    assert_eq!(got.len(), want.len());
    let differ: Vec<usize> = (0..got.len()).filter(|i| got[*i] != want[*i]).collect();
    assert!(
        differ.is_empty(),
        "{} of {} pixels differ from odc-stac, first at {:?}",
        differ.len(),
        got.len(),
        differ
            .iter()
            .take(8)
            .map(|&i| (i, got[i], want[i]))
            .collect::<Vec<_>>()
    );
    println!(
        "{}: all {} pixels equal odc-stac",
        expected["case"],
        got.len()
    );
}

#[test]
fn coarse_resolution_fetches_less_than_the_files() {
    let input = StackLessonInput {
        bands: "red",
        resolution: "1200",
        crs: "",
        resampling: "nearest",
        groupby: "solar_day",
        bbox: "",
    };
    let (_, requests, bytes) = run_session(&input);
    let cogs: u64 = ["rgb1.tif", "rgb2.tif", "rgb3.tif", "rgb4.tif"]
        .iter()
        .map(|f| std::fs::metadata(catalog_dir().join(f)).expect("cog").len())
        .sum();
    let scene = std::fs::metadata(catalog_dir().join("../RGB.byte.tif"))
        .expect("scene")
        .len();
    // The COGs are read from their overviews: far less than the files.
    assert!(requests > 5, "{requests} requests");
    assert!(
        bytes < cogs / 2 + scene,
        "{bytes} bytes fetched of {} in the files",
        cogs + scene
    );
}

#[test]
fn bad_inputs_are_typed_errors() {
    let ok = StackLessonInput {
        bands: "red, green, blue",
        resolution: "600",
        crs: "",
        resampling: "nearest",
        groupby: "solar_day",
        bbox: "",
    };
    for (input, message) in [
        (
            StackLessonInput { bands: "nir", ..ok },
            "stack: band 'nir' is neither an asset of any item nor an eo:bands common name",
        ),
        (
            StackLessonInput {
                resolution: "1",
                ..ok
            },
            "",
        ),
        (
            StackLessonInput {
                crs: "EPSG:99999",
                ..ok
            },
            "",
        ),
    ] {
        let direct = stacking_lesson(&catalog(), &input, &mut file_reader())
            .expect_err("bad input")
            .to_string();
        if !message.is_empty() {
            assert_eq!(direct, message);
        }
        let session = StackLessonSession::new(&catalog(), &input)
            .err()
            .map(|e| e.to_string());
        assert_eq!(session.as_deref(), Some(direct.as_str()));
        println!("{direct}");
    }
}
