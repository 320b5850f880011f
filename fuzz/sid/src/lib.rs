//! Properties checked by the kup-sid fuzz targets. The same module is compiled into
//! `tools/cifs-idmap/tests/fuzz_corpus.rs`, which replays `corpus/` and `regressions/` under the
//! main workspace's `cargo test`.

pub mod checks;
