//! Replays the kup-sid fuzz corpora (`fuzz/sid/corpus/<target>/`, seeds and anything the fuzzer
//! found) and committed crashers (`fuzz/sid/regressions/<target>/`) through the same property
//! checks the fuzz targets run, so `cargo test` keeps them passing without a fuzzer.

#[path = "../../../fuzz/sid/src/checks.rs"]
mod checks;

#[path = "../../../fuzz/cli/src/checks.rs"]
mod cli_checks;

fn replay(target: &str, check: fn(&[u8])) {
    kup_testkit::corpus::replay("sid", target, check);
}

#[test]
fn the_sid_text_corpus_keeps_its_properties() {
    replay("sid_text", checks::sid_text);
}

#[test]
fn the_binary_sid_corpus_keeps_its_properties() {
    replay("sid_binary", checks::sid_binary);
}

#[test]
fn the_description_corpus_agrees_with_the_reference_rule() {
    replay("description", checks::description);
}

#[test]
fn the_number_corpus_matches_the_glibc_strtoul_model() {
    replay("number", checks::number);
}

#[test]
fn the_argv_corpus_keeps_the_parser_properties() {
    kup_testkit::corpus::replay("cli", "argv_cifs_idmap", |data| {
        let argv = cli_checks::argv(cifs_idmap::FLAGS, data);
        let _ = cifs_idmap::parse_command_line(argv);
    });
}

#[test]
fn the_cifs_answer_corpus_keeps_its_properties() {
    replay("cifs_answer", checks::cifs_answer);
}
