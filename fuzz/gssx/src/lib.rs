//! Properties checked by the kup-gssx fuzz targets. The same module is compiled into
//! `crates/kup-gssx/tests/fuzz_corpus.rs` (corpus replay), so `cargo test` runs them without a
//! fuzzer.

pub mod checks;
