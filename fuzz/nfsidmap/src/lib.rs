//! Property checks shared by the fuzz targets and by `crates/kup-idmap/tests/fuzz_corpus.rs`.
pub mod checks;
