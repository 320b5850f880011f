//! `gssproxy`: a drop-in for gssproxy 0.9.1's daemon as the kernel's NFS server uses it
//! (issue 15; spec gssproxy-protocol.md, gssproxy-config.md).
//!
//! Start-up in the reference's order (config §1.3): the command line ([`cli`]), the
//! configuration ([`config`]; any error → exit 1 before anything is created), daemonizing
//! unless `-i` (the parent exits 0 once the child is ready, 1 if it died first), `chdir /`,
//! `umask 0177`, `GSS_USE_PROXY=NO`, `openlog`, the sockets ([`server::bind`]; failure → exit 1),
//! the kernel handshake (`1` into `/proc/net/rpc/use-gss-proxy` when a service has
//! `kernel_nfsd`; a missing file is only a debug note), readiness, `run_as_user` (the drop is
//! `kup_priv`'s [`kup_priv::DaemonRoot`]; any failure → exit 1), the workers and the loop
//! ([`server`]). SIGTERM/SIGINT/SIGQUIT end it with status 0; socket files stay, as the
//! reference leaves them (the next start unlinks them).

#![forbid(unsafe_code)]

pub mod accept;
pub mod cache;
pub mod cli;
pub mod config;
pub mod extract;
pub mod handle;
pub mod interposer;
pub mod log;
pub mod procedures;
pub mod server;
pub mod sync;

use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::path::Path;

use kup_sys::signal::SignalFd;

use crate::cli::{Command, Options};
use crate::config::{DaemonConfig, Sources};

/// The kernel's switch to the gssproxy upcall.
pub const USE_GSS_PROXY: &str = "/proc/net/rpc/use-gss-proxy";
/// Open descriptors wanted: every connection plus listeners, signals and some for GSS files.
const OPEN_FILES_WANTED: u64 = 8192;

/// Runs the daemon with `argv`; returns the exit status.
#[must_use]
pub fn main(argv: &[OsString]) -> u8 {
    let options = match cli::parse(argv) {
        Command::Run(options) => options,
        Command::Print(text) => {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            return 0;
        }
        Command::Fail(text, status) => {
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
            return status;
        }
    };
    kup_runtime::daemon_log::set_debug_level(options.debug_level);
    if options.debug_level > 0 {
        log::debug(1, &format!("Debug Level changed to {}", options.debug_level));
    }
    // After the debug level and before any configuration is read, as the reference.
    if let Some(source) = &options.extract_ccache {
        return extract::run(source, options.into_ccache.as_deref());
    }
    let config = if options.userproxy {
        match user_proxy_config(&options) {
            Ok(config) => config,
            Err(error) => {
                log::error(&error);
                return 1;
            }
        }
    } else {
        match config::read(&sources(&options)) {
            Ok(config) => config,
            Err(error) => {
                log::error(&error.0);
                return 1;
            }
        }
    };
    // The reference applies the configuration's level over the command line's (config §1.2);
    // user-proxy mode has no configuration and keeps the command line's.
    kup_runtime::daemon_log::set_debug_level(config.debug_level);
    if options.interactive {
        serve(&options, &config, None)
    } else {
        daemonize(&options, &config)
    }
}

/// The configuration sources of the command line (kept for SIGHUP).
fn sources(options: &Options) -> Sources {
    Sources {
        config_file: options.config_file.clone(),
        config_dir: options.config_dir.clone(),
        socket: options.socket.clone(),
        user_proxy: options.userproxy,
    }
}

/// User-proxy mode's configuration (config §1.6): the socket is `-s`, else
/// `$XDG_RUNTIME_DIR/gssproxy/default.sock`, whose directory is created mode 0700 when missing
/// (an existing one is left as it is; a missing `XDG_RUNTIME_DIR` or parent is an error, exit 1);
/// the service serves the daemon's own effective uid.
fn user_proxy_config(options: &Options) -> Result<DaemonConfig, String> {
    let socket = if let Some(socket) = &options.socket {
        socket.clone()
    } else {
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|value| !value.is_empty())
            .ok_or("XDG_RUNTIME_DIR is not set: no user-proxy socket")?;
        let dir = Path::new(&runtime).join("gssproxy");
        let mut builder = std::fs::DirBuilder::new();
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(&dir) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(format!("Failed to create {}: {error}", dir.display())),
        }
        dir.join("default.sock")
    };
    let euid = kup_sys::process::user_ids()
        .map_err(|error| format!("getresuid failed: {error}"))?
        .effective;
    Ok(config::user_proxy(euid, &socket, options.debug_level))
}

/// Forks; the child serves and signals readiness through a pipe; the parent exits 0 on that
/// byte, 1 if the child died first (Type=forking).
fn daemonize(options: &Options, config: &DaemonConfig) -> u8 {
    let Ok((mut ready_reader, ready_writer)) = std::io::pipe() else {
        return 1;
    };
    let child = kup_sys::fork::spawn(move || {
        if kup_sys::socket::new_session().is_err() {
            return 1;
        }
        serve(options, config, Some(ready_writer))
    });
    if child.is_err() {
        return 1;
    }
    let mut byte = [0_u8; 1];
    match ready_reader.read(&mut byte) {
        Ok(1) => 0,
        _ => 1,
    }
}

fn serve(options: &Options, config: &DaemonConfig, ready: Option<std::io::PipeWriter>) -> u8 {
    // Before any thread exists, so that every thread inherits the blocked mask.
    let Ok(signals) = SignalFd::new() else {
        log::error("cannot set up signal handling");
        return 1;
    };
    // The daemon's own GSSAPI calls must never loop back through the interposer.
    let mut environment: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(name, _)| name != "GSS_USE_PROXY")
        .collect();
    environment.push(("GSS_USE_PROXY".into(), "NO".into()));
    let pairs: Vec<(&std::ffi::OsStr, &std::ffi::OsStr)> = environment
        .iter()
        .map(|(name, value)| (name.as_os_str(), value.as_os_str()))
        .collect();
    if let Err(error) = kup_sys::process::replace_environment(&pairs) {
        log::debug(1, &format!("cannot set GSS_USE_PROXY=NO: {error}"));
    }
    // User-proxy mode (`-u`) runs in the user's session: no chdir, umask, openlog or pid file.
    if !options.userproxy {
        let _ = std::env::set_current_dir("/");
        let _ = kup_sys::process::set_umask(0o177);
        log::open();
    }
    let _ = kup_sys::socket::raise_open_files_limit(OPEN_FILES_WANTED);
    if let Some(ready) = &ready
        && !options.userproxy
    {
        write_pid_file(ready);
    }
    let listeners = match server::bind(config) {
        Ok(listeners) => listeners,
        Err(error) => {
            log::error(&format!(
                "Failed to create Unix Socket! ({}:{error})",
                error.raw_os_error().unwrap_or(0)
            ));
            return 1;
        }
    };
    let kernel_switched = config.services.iter().any(|service| service.kernel_nfsd)
        && kernel_handshake(Path::new(USE_GSS_PROXY));
    if let Some(mut ready) = ready {
        let _ = ready.write_all(&[1]);
    }
    // After readiness and before any worker thread exists, as the reference (config §3.2).
    if let Some(name) = &config.run_as_user {
        match kup_priv::DaemonRoot::new().run_as_user(name) {
            Ok(user) => log::debug(
                1,
                &format!("Running as user {name} (uid {}, gid {})", user.uid(), user.gid()),
            ),
            Err(error) => {
                log::error(&format!("Failed to drop privileges to {name}: {error}"));
                return 1;
            }
        }
    }
    let server = match server::Server::new(config, sources(options), listeners, signals, kernel_switched) {
        Ok(server) => server,
        Err(error) => {
            log::error(&format!("cannot start the event loop: {error}"));
            return 1;
        }
    };
    log::debug(1, "Initialization complete.");
    match server.run() {
        Ok(()) => 0,
        Err(error) => {
            log::error(&format!("event loop failed: {error}"));
            1
        }
    }
}

/// `/run/gssproxy.pid`, written in daemon mode (the unit's `PIDFile=`).
fn write_pid_file(_ready: &std::io::PipeWriter) {
    if let Err(error) = std::fs::write("/run/gssproxy.pid", format!("{}\n", std::process::id())) {
        log::debug(1, &format!("Failed to write pid file: {error}"));
    }
}

/// Writes `1` (one byte, no newline) to the kernel's switch; a missing file or a refused write
/// is a debug note only, as in the reference (spec config §5.4). Returns whether it succeeded.
#[must_use]
pub fn kernel_handshake(path: &Path) -> bool {
    let written = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .and_then(|mut file| file.write_all(b"1"));
    if let Err(error) = written {
        log::debug(
            1,
            &format!(
                "Kernel doesn't support GSS-Proxy (can't open {}: {} ({error}))",
                path.display(),
                error.raw_os_error().unwrap_or(0)
            ),
        );
        log::debug(1, "Problem with kernel communication!  NFS server will not work");
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_handshake_writes_one_byte_and_a_missing_file_is_no_error() {
        let dir = std::env::temp_dir().join(format!("kup-gssproxy-handshake-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let switch = dir.join("use-gss-proxy");
        std::fs::write(&switch, b"-1\n").unwrap();
        assert!(kernel_handshake(&switch));
        // One byte at offset 0, no newline: "-1\n" becomes "11\n" in a regular file.
        assert_eq!(std::fs::read(&switch).unwrap(), b"11\n");
        assert!(!kernel_handshake(&dir.join("missing")));
        assert!(!dir.join("missing").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
