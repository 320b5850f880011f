//! `gssproxy`: see the library documentation.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(gssproxy::main(&std::env::args_os().collect::<Vec<_>>()))
}
