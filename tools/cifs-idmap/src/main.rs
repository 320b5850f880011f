//! `cifs.idmap`: see the library documentation.

fn main() -> std::process::ExitCode {
    cifs_idmap::main(std::env::args_os())
}
