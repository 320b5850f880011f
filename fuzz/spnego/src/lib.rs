//! Properties checked by the kup-spnego fuzz targets. The same module is compiled into
//! `tools/cifs-upcall/tests/fuzz_corpus.rs` (corpus replay) and `crates/kup-spnego/tests/der.rs`
//! (the DER round trip), so `cargo test` runs them without a fuzzer.

pub mod checks;
