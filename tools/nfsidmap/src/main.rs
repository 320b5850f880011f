//! `nfsidmap`: see the library crate.

#![forbid(unsafe_code)]
fn main() -> std::process::ExitCode {
    nfsidmap::main()
}
