//! Replays the argv fuzz corpus of nfsidmap (`fuzz/cli/corpus/argv_nfsidmap/`) and committed
//! crashers (`fuzz/cli/regressions/argv_nfsidmap/`) through the parser properties the fuzz
//! target checks, with nfsidmap's flag table, so `cargo test` keeps them without a fuzzer.

#[path = "../../../fuzz/cli/src/checks.rs"]
mod cli_checks;

#[test]
fn the_argv_corpus_keeps_the_parser_properties() {
    kup_testkit::corpus::replay("cli", "argv_nfsidmap", |data| {
        let argv = cli_checks::argv(nfsidmap::FLAGS, data);
        let _ = nfsidmap::plan(&argv);
    });
}
