//! Replays the kup-idmap fuzz corpora (`fuzz/nfsidmap/corpus/<target>/`, seeds and anything the
//! fuzzers found) and committed crashers (`fuzz/nfsidmap/regressions/<target>/`) through the same
//! property checks the fuzz targets run, so `cargo test` keeps them passing without a fuzzer.

#[path = "../../../fuzz/nfsidmap/src/checks.rs"]
mod checks;

fn replay(target: &str, check: fn(&[u8])) {
    kup_testkit::corpus::replay("nfsidmap", target, check);
}

#[test]
fn the_description_corpus_agrees_with_the_reference_split() {
    replay("description", checks::description);
}

#[test]
fn the_config_corpus_parses_into_sound_bindings() {
    replay("config", checks::config);
}

#[test]
fn the_txt_answer_corpus_never_overreads() {
    replay("txt_answer", checks::txt_answer);
}

#[test]
fn the_number_corpus_follows_the_c_rules() {
    replay("numbers", checks::numbers);
}

#[test]
fn the_mapping_corpus_answers_every_lookup() {
    replay("mapping", checks::mapping);
}
