//! Replays the kup-gpconf fuzz corpus (`fuzz/gpconf/corpus/config/`, seeds and anything the fuzzer
//! kept) and committed crashers (`fuzz/gpconf/regressions/config/`) through the same property
//! checks the fuzz target runs, so `cargo test` keeps them passing without a fuzzer.

#[path = "../../../fuzz/gpconf/src/checks.rs"]
mod checks;

#[test]
fn the_config_corpus_keeps_the_loader_properties() {
    kup_testkit::corpus::replay("gpconf", "config", checks::config);
}
