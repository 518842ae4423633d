//! The 19 xbatcher 0.4.0 reference cases (`tests/fixtures/xbatcher/`), patch for patch:
//! batch count, per-batch selectors in order, output dims, shape, sum and sha256 of the
//! C-order little-endian bytes, through `get`, iteration, zero-copy views and gathering.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use geochip::LabeledArray;
use geochip::slice::{BatchGenerator, Selector, SlicePlan, SliceSpec};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

/// A JSON object read in document order (xbatcher's dict arguments are ordered).
struct Ordered<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Ordered<V>, A::Error> {
                let mut out = Vec::new();
                while let Some(e) = m.next_entry()? {
                    out.push(e);
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(Vis(PhantomData))
    }
}

impl<V> Default for Ordered<V> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

#[derive(serde::Deserialize)]
struct Fixture {
    versions: BTreeMap<String, String>,
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    input: Input,
    kwargs: Kwargs,
    len: u64,
    batches: Vec<RefBatch>,
}

#[derive(serde::Deserialize)]
struct Input {
    kind: String,
    dims: Vec<String>,
    shape: Vec<usize>,
}

#[derive(serde::Deserialize)]
struct Kwargs {
    input_dims: Ordered<usize>,
    #[serde(default)]
    input_overlap: Ordered<i64>,
    #[serde(default)]
    batch_dims: Ordered<usize>,
    #[serde(default)]
    concat_input_dims: bool,
}

#[derive(serde::Deserialize)]
struct Values {
    dims: Vec<String>,
    shape: Vec<usize>,
    sum: i64,
    sha256: String,
}

#[derive(serde::Deserialize)]
struct RefBatch {
    index: u64,
    selectors: Vec<Selector>,
    error: Option<String>,
    #[serde(flatten)]
    values: Option<Values>,
    vars: Option<BTreeMap<String, Values>>,
}

fn load() -> Fixture {
    let path = geochip_tests::fixture("xbatcher/reference_xbatcher.json");
    let text = std::fs::read_to_string(&path).expect("fixture present");
    serde_json::from_str(&text).expect("fixture parses")
}

fn spec_of(k: &Kwargs) -> SliceSpec {
    SliceSpec::new(&k.input_dims.0)
        .input_overlap(&k.input_overlap.0)
        .batch_dims(&k.batch_dims.0)
        .concat_input_dims(k.concat_input_dims)
}

/// C-order little-endian bytes of any iterator of i32 (a view iterates in logical order).
fn le_bytes<'a>(values: impl Iterator<Item = &'a i32>) -> Vec<u8> {
    values.flat_map(|v| v.to_le_bytes()).collect()
}

fn check_values(case: &str, j: u64, array: &LabeledArray, want: &Values) {
    assert_eq!(array.dims(), want.dims.as_slice(), "{case} batch {j}: dims");
    assert_eq!(
        array.shape(),
        want.shape.as_slice(),
        "{case} batch {j}: shape"
    );
    assert_eq!(array.sum_f64(), want.sum as f64, "{case} batch {j}: sum");
    assert_eq!(array.sha256(), want.sha256, "{case} batch {j}: sha256");
}

#[test]
fn fixture_is_the_expected_one() {
    let f = load();
    assert_eq!(
        f.versions.get("xbatcher").map(String::as_str),
        Some("0.4.0")
    );
    assert_eq!(f.cases.len(), 19);
}

#[test]
fn all_19_cases_match_patch_for_patch() {
    let fixture = load();
    let mut checked_batches = 0;
    for case in &fixture.cases {
        let name = case.name.as_str();
        let spec = spec_of(&case.kwargs);
        let a = LabeledArray::arange_i32(&case.input.dims, &case.input.shape).unwrap();
        // The Dataset case: variable b = -2 * a shares the plan.
        let b_values: Vec<i32> = (0..a.len()).map(|i| -2 * i as i32).collect();
        let b =
            LabeledArray::from_shape_vec(&case.input.dims, &case.input.shape, b_values).unwrap();
        let batches = BatchGenerator::new(&a, &spec).unwrap_or_else(|e| panic!("{name}: {e}"));

        // xbatcher's len counts empty batches (issue #184); geochip does not.
        let expected: Vec<&RefBatch> = case.batches.iter().filter(|b| b.error.is_none()).collect();
        assert_eq!(case.len, case.batches.len() as u64, "{name}: fixture len");
        assert_eq!(batches.len(), expected.len() as u64, "{name}: len");
        for empty in case.batches.iter().filter(|b| b.error.is_some()) {
            assert!(
                empty.selectors.is_empty(),
                "{name}: xbatcher errors only on empty batches"
            );
        }

        // Random access, back to front.
        for (j, want) in expected.iter().enumerate().rev() {
            let j = j as u64;
            let got = batches
                .get(j)
                .unwrap_or_else(|e| panic!("{name} batch {j}: {e}"));
            let sel: Vec<Selector> = got.patches.iter().map(|p| p.selector.clone()).collect();
            assert_eq!(
                sel, want.selectors,
                "{name} batch {j} (xbatcher {}): selectors",
                want.index
            );
            assert_eq!(batches.plan().selectors(j).unwrap(), want.selectors);
            if case.input.kind == "Dataset" {
                let vars = want.vars.as_ref().expect("dataset vars");
                check_values(name, j, &got.array, &vars["a"]);
                let gb = BatchGenerator::from_plan(&b, batches.plan().clone()).unwrap();
                check_values(name, j, &gb.get(j).unwrap().array, &vars["b"]);
            } else {
                let values = want.values.as_ref().expect("values");
                check_values(name, j, &got.array, values);
                let (dims, shape) = batches.plan().batch_output(j).unwrap();
                assert_eq!((dims, shape), (values.dims.clone(), values.shape.clone()));
                // Zero-copy views, in order, give the same bytes.
                let views = batches.views::<i32>(j).unwrap();
                let bytes: Vec<u8> = views.iter().flat_map(|v| le_bytes(v.iter())).collect();
                assert_eq!(
                    geochip::sha256_hex(&bytes),
                    values.sha256,
                    "{name} batch {j}: views"
                );
                // Gathering into a reused, oversized buffer.
                let mut buf = vec![7i32; batches.plan().max_batch_elements()];
                let n = batches.gather_into(j, &mut buf).unwrap();
                assert_eq!(
                    geochip::sha256_hex(&le_bytes(buf[..n].iter())),
                    values.sha256
                );
            }
            checked_batches += 1;
        }

        // Iteration equals indexing.
        let via_iter: Vec<Vec<Selector>> = batches
            .iter()
            .map(|b| b.unwrap().patches.into_iter().map(|p| p.selector).collect())
            .collect();
        let want: Vec<Vec<Selector>> = expected.iter().map(|b| b.selectors.clone()).collect();
        assert_eq!(via_iter, want, "{name}: iteration");
        assert!(
            batches.get(batches.len()).is_err(),
            "{name}: index past the end"
        );
    }
    assert!(checked_batches > 200, "{checked_batches}");
}

#[test]
fn issue_184_empty_batches_are_skipped_in_xbatcher_order() {
    let fixture = load();
    let case = fixture
        .cases
        .iter()
        .find(|c| c.name == "known_bug_issue184")
        .unwrap();
    assert_eq!(case.len, 16);
    let plan = SlicePlan::new(&case.input.dims, &case.input.shape, &spec_of(&case.kwargs)).unwrap();
    assert_eq!(plan.len(), 9);
    let non_empty: Vec<u64> = case
        .batches
        .iter()
        .filter(|b| b.error.is_none())
        .map(|b| b.index)
        .collect();
    assert_eq!(non_empty, vec![0, 1, 2, 4, 5, 6, 8, 9, 10]);
    // Every patch xbatcher put in a batch is in exactly one of ours, in the same order.
    let ours: Vec<Selector> = (0..plan.len())
        .flat_map(|i| plan.selectors(i).unwrap())
        .collect();
    let theirs: Vec<Selector> = case
        .batches
        .iter()
        .flat_map(|b| b.selectors.clone())
        .collect();
    assert_eq!(ours, theirs);
}
