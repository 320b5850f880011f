//! Replays the daemon's fuzz corpus (`fuzz/gssproxy/corpus/procedures/`, seeds and anything the
//! fuzzer found) and committed crashers (`fuzz/gssproxy/regressions/procedures/`) through the
//! same checks the fuzz target runs, so `cargo test` keeps them passing without a fuzzer.

#[allow(unreachable_pub, clippy::expect_used)]
#[path = "../../../fuzz/gssproxy/src/checks.rs"]
mod checks;

#[test]
fn the_procedure_corpus_is_answered_with_well_formed_records() {
    kup_testkit::corpus::replay("gssproxy", "procedures", checks::procedures);
}
