//! Replays the kup-gssx fuzz corpora (`fuzz/gssx/corpus/<target>/`, seeds and anything the fuzzers
//! found) and committed crashers (`fuzz/gssx/regressions/<target>/`) through the same property
//! checks the fuzz targets run, so `cargo test` keeps them passing without a fuzzer.

#[path = "../../../fuzz/gssx/src/checks.rs"]
mod checks;

fn replay(target: &str, check: fn(&[u8])) {
    kup_testkit::corpus::replay("gssx", target, check);
}

#[test]
fn the_record_corpus_agrees_with_the_model() {
    replay("record", checks::record);
}

#[test]
fn the_call_corpus_decodes_stably() {
    replay("call", checks::call);
}
