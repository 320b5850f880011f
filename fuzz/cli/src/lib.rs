//! Properties checked by the argv fuzz targets. `checks` depends only on `kup-runtime`, so each
//! tool's `tests/fuzz_corpus.rs` compiles it with `#[path]` and replays `corpus/argv_<tool>/` and
//! `regressions/argv_<tool>/` with that tool's flag table under the main workspace's `cargo test`.

pub mod checks;
