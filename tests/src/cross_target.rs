//! Values that must be identical on every target: computed here, checked natively by
//! `tests/tests/cross_target.rs` against `tests/fixtures/cross_target/*.json`, and checked in
//! the browser by `wasm/tests/web.rs` against the same file.

use geochip::slice::{SlicePlan, SliceSpec};
use serde_json::{Value, json};

/// Seeded chip orders: random sampling starts and per-epoch shuffles.
///
/// ```
/// let v = geochip_tests::cross_target::slice_orders();
/// assert_eq!(v["random_y37_x53_w10x12_n5_seed7"][0], serde_json::json!([20, 27]));
/// ```
pub fn slice_orders() -> Value {
    let random = SlicePlan::new(
        &["y", "x"],
        &[37, 53],
        &SliceSpec::new(&[("y", 10), ("x", 12)]).random(5, 7),
    );
    let shuffled = SlicePlan::new(
        &["y", "x"],
        &[20, 20],
        &SliceSpec::new(&[("y", 2), ("x", 2)])
            .batch_size(7, false)
            .shuffle(42),
    );
    let (Ok(random), Ok(shuffled)) = (random, shuffled) else {
        return Value::Null;
    };
    let starts: Vec<Value> = (0..5)
        .filter_map(|i| random.patch(i).ok())
        .map(|c| json!([c.start("y"), c.start("x")]))
        .collect();
    let order = |p: &SlicePlan| -> Vec<u64> {
        (0..p.len())
            .filter_map(|i| p.batch_ids(i).ok())
            .flatten()
            .collect()
    };
    json!({
        "random_y37_x53_w10x12_n5_seed7": starts,
        "shuffle_y20_x20_w2_batch7_seed42_epoch0": order(&shuffled),
        "shuffle_y20_x20_w2_batch7_seed42_epoch1": order(&shuffled.with_epoch(1)),
    })
}
