//! Properties checked by the kup-gpconf fuzz target. The same module is compiled into
//! `crates/kup-gpconf/tests/fuzz_corpus.rs` (corpus replay), so `cargo test` runs them without a
//! fuzzer.

pub mod checks;
