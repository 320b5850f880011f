//! `key.dns_resolver` (installed as `/sbin/key.dns_resolver`): see the library.

#![forbid(unsafe_code)]
fn main() -> std::process::ExitCode {
    key_dns_resolver::run(std::env::args_os().collect())
}
