//! Unit tests of the options beyond xbatcher (the 19 reference cases live in
//! `tests/tests/xbatcher_reference.rs`).
