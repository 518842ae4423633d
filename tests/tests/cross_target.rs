//! Native half of the cross-target checks: the values in tests/fixtures/cross_target/ are what
//! the native build computes; wasm/tests/web.rs asserts the browser computes the same.
//! Regenerate after an intentional change with `GEOCHIP_BLESS=1 cargo test -p geochip-tests`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use geochip_tests::{cross_target, fixture};

#[test]
fn slice_orders_match_the_fixture() {
    let path = fixture("cross_target/slice_orders.json");
    let now = cross_target::slice_orders();
    assert!(!now.is_null());
    if std::env::var_os("GEOCHIP_BLESS").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
    }
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(now, saved);
    // Anchored independently: tests/fixtures/xbatcher/feistel_ref.py (Python transcription).
    assert_eq!(
        saved["random_y37_x53_w10x12_n5_seed7"],
        serde_json::json!([[20, 27], [14, 31], [17, 40], [19, 9], [20, 37]])
    );
}
