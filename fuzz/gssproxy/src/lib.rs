//! Properties checked by the gssproxy daemon's fuzz target. The same module is compiled into
//! `tools/gssproxy/tests/fuzz_corpus.rs` (corpus replay), so `cargo test` runs them without a
//! fuzzer.

pub mod checks;
