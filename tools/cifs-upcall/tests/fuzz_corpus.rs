//! Replays the kup-spnego fuzz corpora (`fuzz/spnego/corpus/<target>/`, seeds and anything the
//! fuzzer kept) and committed crashers (`fuzz/spnego/regressions/<target>/`) through the same
//! property checks the fuzz targets run, so `cargo test` keeps them passing without a fuzzer.

#[path = "../../../fuzz/spnego/src/checks.rs"]
mod checks;

fn replay(target: &str, check: fn(&[u8])) {
    kup_testkit::corpus::replay("spnego", target, check);
}

#[test]
fn the_description_corpus_agrees_with_the_reference_rule() {
    replay("description", checks::description);
}

#[test]
fn the_environ_corpus_finds_the_first_non_empty_krb5ccname() {
    replay("environ", checks::environ);
}

#[test]
fn the_token_corpus_decodes_to_its_mechanism_and_ap_req() {
    replay("token", checks::token);
}

#[path = "../../../fuzz/cli/src/checks.rs"]
mod cli_checks;

/// cifs.upcall has no argv target of its own yet: the cifs.idmap argv corpus (short getopt words)
/// is parsed with cifs.upcall's table, then by `parse_command_line`.
#[test]
fn the_argv_corpus_keeps_the_parser_properties_with_the_cifs_upcall_table() {
    kup_testkit::corpus::replay("cli", "argv_cifs_idmap", |data| {
        let argv = cli_checks::argv(cifs_upcall::FLAGS, data);
        let _ = cifs_upcall::parse_command_line(argv);
    });
}
