//! `nfsidmap`: see the library crate.
fn main() -> std::process::ExitCode {
    nfsidmap::main()
}
