//! `cifs.idmap`: see the library documentation.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    cifs_idmap::main(std::env::args_os())
}
