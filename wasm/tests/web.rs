//! The bindings, run inside headless Chromium by wasm-bindgen-test
//! (`cargo test -p geochip-wasm --target wasm32-unknown-unknown`, see `cargo xtask test`).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn message(err: wasm_bindgen::JsError) -> String {
    let value: JsValue = err.into();
    js_sys::Error::from(value).message().into()
}

#[wasm_bindgen_test]
fn grid_round_trip_in_the_browser() {
    let g = geochip_wasm::Grid::new(
        vec![
            101985.0,
            300.0379266750948,
            0.0,
            2826915.0,
            0.0,
            -300.041782729805,
        ],
        "gdal",
        791,
        718,
        Some("EPSG:32618".into()),
    )
    .unwrap();
    let c = g.pixel_to_world(10, 20, "center").unwrap();
    // GDAL's inverse arithmetic, computed in Python (float64, same operation order):
    // (-c/a + x*(1/a) + y*0.0, -f/e + x*0.0 + y*(1/e))
    assert_eq!(
        g.world_to_pixel(c[0], c[1]).unwrap(),
        vec![10.499999999999943, 20.5]
    );
    assert_eq!(g.bounds()[0], 101985.0);
}

#[wasm_bindgen_test]
fn errors_carry_the_native_message() {
    let err = geochip_wasm::Grid::new(vec![0.0, 0.0, 0.0, 0.0, 0.0, -1.0], "gdal", 4, 4, None)
        .unwrap_err();
    let native = geochip::GeoTransform::from_gdal([0.0, 0.0, 0.0, 0.0, 0.0, -1.0])
        .validate()
        .unwrap_err()
        .to_string();
    assert_eq!(message(err), native);
    let err = geochip_wasm::grid_lesson("a,b", "gdal", "1", "1", "0", "0", "").unwrap_err();
    assert_eq!(
        message(err),
        "transform: expected 6 comma-separated numbers, got 2"
    );
}

#[wasm_bindgen_test]
fn lesson_answer_equals_the_native_function() {
    let input = geochip::lesson::GridLessonInput {
        transform: "300000, 30, 0, 4000000, 0, -30",
        order: "gdal",
        width: "100",
        height: "100",
        col: "7",
        row: "3",
        crs: "EPSG:32633",
    };
    let native = geochip::lesson::grid_lesson(&input).unwrap();
    let wasm = geochip_wasm::grid_lesson(
        input.transform,
        input.order,
        input.width,
        input.height,
        input.col,
        input.row,
        input.crs,
    )
    .unwrap();
    assert_eq!(wasm, native);
}

#[wasm_bindgen_test]
fn demo_array_checksum_matches_numpy() {
    // python: hashlib.sha256(np.arange(6, dtype="<i4").tobytes()).hexdigest()
    let a = geochip_wasm::DemoArray::arange(2, 3).unwrap();
    assert_eq!(
        a.sha256(),
        "cd9a54ed1f18bf97db08914e280ea7349e11ca2c4885a4d8052552ceba84208d"
    );
}

#[wasm_bindgen_test]
fn seeded_chip_orders_equal_the_native_ones() {
    // Computed natively by geochip_tests::cross_target (checked by tests/tests/cross_target.rs).
    let native: serde_json::Value = serde_json::from_str(include_str!(
        "../../tests/fixtures/cross_target/slice_orders.json"
    ))
    .unwrap();
    use geochip::slice::{SlicePlan, SliceSpec};
    let random = SlicePlan::new(
        &["y", "x"],
        &[37, 53],
        &SliceSpec::new(&[("y", 10), ("x", 12)]).random(5, 7),
    )
    .unwrap();
    let starts: Vec<serde_json::Value> = (0..5)
        .map(|i| {
            let c = random.patch(i).unwrap();
            serde_json::json!([c.start("y"), c.start("x")])
        })
        .collect();
    assert_eq!(
        serde_json::Value::Array(starts),
        native["random_y37_x53_w10x12_n5_seed7"]
    );
    let shuffled = SlicePlan::new(
        &["y", "x"],
        &[20, 20],
        &SliceSpec::new(&[("y", 2), ("x", 2)])
            .batch_size(7, false)
            .shuffle(42),
    )
    .unwrap();
    for (epoch, key) in [
        (0, "shuffle_y20_x20_w2_batch7_seed42_epoch0"),
        (1, "shuffle_y20_x20_w2_batch7_seed42_epoch1"),
    ] {
        let p = shuffled.with_epoch(epoch);
        let order: Vec<u64> = (0..p.len()).flat_map(|i| p.batch_ids(i).unwrap()).collect();
        assert_eq!(serde_json::json!(order), native[key], "{key}");
    }
}
