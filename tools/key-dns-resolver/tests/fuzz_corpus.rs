//! Replays the kup-dns / `key.dns_resolver` fuzz corpora (`fuzz/dns/corpus/<target>/`, seeds and
//! whatever the fuzzer kept) and committed crashers (`fuzz/dns/regressions/<target>/`) through the
//! same property checks the fuzz targets run, so `cargo test` keeps them passing without a fuzzer.

#[allow(
    dead_code,
    unreachable_pub,
    clippy::pedantic,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]
#[path = "../../../fuzz/dns/src/checks.rs"]
mod checks;

#[path = "../../../fuzz/cli/src/checks.rs"]
mod cli_checks;

fn replay(target: &str, check: fn(&[u8])) {
    kup_testkit::corpus::replay("dns", target, check);
}

#[test]
fn the_dns_message_corpus_keeps_its_properties() {
    replay("dns_message", checks::dns_message);
}

#[test]
fn the_name_text_corpus_keeps_its_properties() {
    replay("name_text", checks::name_text);
}

#[test]
fn the_resolv_conf_corpus_keeps_its_properties() {
    replay("resolv_conf", checks::resolv_conf);
}

#[test]
fn the_config_corpus_keeps_its_properties() {
    replay("config", checks::config);
}

#[test]
fn the_request_corpus_keeps_its_properties() {
    replay("request", checks::request);
}

#[test]
fn the_afs_answer_corpus_keeps_its_properties() {
    replay("afs_answer", checks::afs_answer);
}

#[test]
fn the_server_list_corpus_keeps_its_properties() {
    replay("server_list", checks::server_list);
}

#[test]
fn the_client_reply_corpus_keeps_its_properties() {
    replay("client_reply", checks::client_reply);
}

#[test]
fn the_argv_corpus_keeps_the_parser_properties() {
    kup_testkit::corpus::replay("cli", "argv_key_dns_resolver", |data| {
        let argv = cli_checks::argv(key_dns_resolver::cli::FLAGS, data);
        let _ = key_dns_resolver::cli::parse(argv);
    });
}
