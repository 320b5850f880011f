//! Fuzz target: `checks::argv` with key.dns_resolver's flag table, then its own reading of the
//! command line.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let argv = kup_cli_fuzz::checks::argv(key_dns_resolver::cli::FLAGS, data);
    let _ = key_dns_resolver::cli::parse(argv);
});
