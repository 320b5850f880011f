//! The daemon's configuration as the rest of the daemon sees it ([`DaemonConfig`],
//! [`ServiceConfig`]) and [`read`], which reads the files and hands them to `kup-gpconf` (the
//! pure parser, matcher and credential policy of gssproxy.conf, spec gssproxy-config.md §2–§6).
//!
//! What [`read`] does (the reference's order, config §2.1): the main file (`-c`, else
//! `/etc/gssproxy/gssproxy.conf`; a missing default file is no error), then, unless `-c` was
//! given without `-C`, the directory's regular files whose names `kup-gpconf` takes for
//! snippets (`NN-*.conf`), each read up to `kup_gpconf::MAX_FILE_BYTES` (a larger one is handed
//! over truncated by one byte so the parser reports it); `kup-gpconf` merges and parses them,
//! its notes are logged, `euid` user names are resolved with `getpwnam`, and each service gets
//! this load's credential-handle key (`crate::handle`). Matching a request to a service is
//! `kup-gpconf`'s ([`DaemonConfig::match_peer`]): uid, program (the peer's `/proc/PID/exe`)
//! and `SELinux` context (the connection's `SO_PEERSEC` label; without one, as on a host with
//! no security module, a `selinux_context` service never matches, which fails closed).

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use kup_gpconf::{Peer, Resolved, ResolvedService, Source};
use kup_sys::Uid;

use crate::handle::HandleKey;

/// gssproxy's compiled-in default socket.
pub const DEFAULT_SOCKET: &str = "/var/lib/gssproxy/default.sock";
/// The default main configuration file.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/gssproxy/gssproxy.conf";
/// The default configuration directory.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/gssproxy";
/// The reference's default number of worker threads.
pub const DEFAULT_WORKERS: usize = 5;
/// The most worker threads we start, whatever the configuration says.
pub const MAX_WORKERS: usize = 64;

/// The whole daemon configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonConfig {
    /// `[gssproxy] debug_level` (or `debug = yes` → 1); 0 when absent.
    pub debug_level: u32,
    /// `[gssproxy] worker threads`.
    pub worker_threads: usize,
    /// `[gssproxy] run_as_user`: the user the daemon becomes once started (applied once).
    pub run_as_user: Option<String>,
    /// The default socket (`-s`, else [`DEFAULT_SOCKET`]).
    pub default_socket: PathBuf,
    /// The services, in configuration order (matching walks them in this order).
    pub services: Vec<ServiceConfig>,
    /// `kup-gpconf`'s resolved configuration (the matcher's input).
    resolved: Resolved,
}

/// One `[service/NAME]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceConfig {
    /// NAME.
    pub name: String,
    /// The peer uid served (`euid`, resolved).
    pub euid: Uid,
    /// `allow_any_uid`.
    pub allow_any_uid: bool,
    /// `socket` (None: the default socket).
    pub socket: Option<PathBuf>,
    /// `cred_store` entries, in order (`keytab:/path` …), unexpanded.
    pub cred_store: Vec<(String, String)>,
    /// `krb5_principal`: the acceptor's name (None: any principal in the keytab).
    pub krb5_principal: Option<String>,
    /// `kernel_nfsd`.
    pub kernel_nfsd: bool,
    /// `trusted`.
    pub trusted: bool,
    /// Everything `kup-gpconf` knows of the service (policy, flags, usage, lifetimes).
    pub resolved: ResolvedService,
    /// The key of the credential handles given to interposer clients (`crate::handle`),
    /// chosen at each load; `None` before [`ServiceConfig::load_handle_key`] (or if krb5
    /// cannot make one: handles then cannot be made or opened).
    pub handle_key: Option<HandleKey>,
}

impl ServiceConfig {
    /// A service for `euid` on `socket` with every option at its default.
    #[must_use]
    pub fn new(name: &str, euid: Uid, socket: Option<&Path>) -> Self {
        let mut service = kup_gpconf::config::Service::user_proxy(euid.get(), PathBuf::new());
        name.clone_into(&mut service.name);
        service.socket = socket.map(Path::to_path_buf);
        Self::from_resolved(ResolvedService {
            service,
            uid: euid.get(),
        })
    }

    /// The daemon's view of a service `kup-gpconf` resolved.
    #[must_use]
    pub fn from_resolved(resolved: ResolvedService) -> Self {
        let service = &resolved.service;
        Self {
            name: service.name.clone(),
            euid: Uid::new(resolved.uid),
            allow_any_uid: service.allow_any_uid,
            socket: service.socket.clone(),
            cred_store: service
                .cred_store
                .iter()
                .map(|entry| (entry.key.clone(), entry.value.clone()))
                .collect(),
            krb5_principal: service.krb5_principal.clone(),
            kernel_nfsd: service.kernel_nfsd,
            trusted: service.trusted,
            handle_key: None,
            resolved,
        }
    }

    /// Chooses this load's handle-encryption key from the first `keytab` `cred_store` value
    /// (`crate::handle::service_key`).
    pub fn load_handle_key(&mut self) {
        let keytab = self
            .cred_store
            .iter()
            .find(|(key, _)| key == "keytab")
            .map(|(_, value)| value.as_str());
        self.handle_key = crate::handle::service_key(keytab);
    }

    /// The keytab of the acceptor credential: the last `keytab:` entry of `cred_store`, as
    /// GSSAPI's credential store takes it (None: the library's default keytab).
    #[must_use]
    pub fn keytab(&self) -> Option<&Path> {
        self.cred_store
            .iter()
            .rev()
            .find(|(key, _)| key == "keytab")
            .map(|(_, value)| Path::new(value))
    }

    /// The socket this service listens on, the default one when it names none.
    #[must_use]
    pub fn socket_or<'a>(&'a self, default: &'a Path) -> &'a Path {
        self.socket.as_deref().unwrap_or(default)
    }
}

impl DaemonConfig {
    /// The index in [`DaemonConfig::services`] of the service that serves the peer (its uid,
    /// pid and security label) on the listener bound at `listener`, as `kup-gpconf` decides;
    /// `None`: close the connection without a reply.
    #[must_use]
    pub fn match_peer(&self, uid: Uid, pid: i32, label: Option<&str>, listener: &Path) -> Option<usize> {
        let program = self
            .services
            .iter()
            .any(|service| service.resolved.service.program.is_some())
            .then(|| fs::read_link(format!("/proc/{pid}/exe")).ok())
            .flatten();
        let peer = Peer {
            uid: uid.get(),
            gid: 0,
            pid: Some(pid),
            program: program.as_deref(),
            selinux_context: label,
        };
        let found = self.resolved.match_peer(&peer, listener, &self.default_socket)?;
        self.resolved
            .services
            .iter()
            .position(|candidate| std::ptr::eq(candidate, found))
    }
}

/// A configuration the daemon cannot start with (exit status 1, as the reference's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Where the configuration comes from (the reference's `-c`, `-C`, `-s`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// `-c`.
    pub config_file: Option<PathBuf>,
    /// `-C`.
    pub config_dir: Option<PathBuf>,
    /// `-s`.
    pub socket: Option<PathBuf>,
    /// `-u`: no file is read, and SIGHUP is ignored.
    pub user_proxy: bool,
}

/// Reads the configuration named by `sources` (see the module text).
pub fn read(sources: &Sources) -> Result<DaemonConfig, ConfigError> {
    let (main, dir) = match (&sources.config_file, &sources.config_dir) {
        (Some(file), dir) => (file.clone(), dir.clone()),
        (None, dir) => (
            PathBuf::from(DEFAULT_CONFIG_FILE),
            Some(dir.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_DIR))),
        ),
    };
    let main_text = match read_bounded(&main) {
        Ok(text) => text,
        Err(error) if sources.config_file.is_some() || error.kind() != std::io::ErrorKind::NotFound => {
            return Err(ConfigError(format!(
                "Failed to open config file: {} ({error})",
                error.raw_os_error().unwrap_or(0)
            )));
        }
        Err(_) => Vec::new(),
    };
    let snippets: Vec<(PathBuf, Vec<u8>)> = dir
        .as_deref()
        .map(snippet_files)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|path| read_bounded(&path).ok().map(|text| (path, text)))
        .collect();
    let sources_list: Vec<Source<'_>> = snippets
        .iter()
        .map(|(path, contents)| Source { path, contents })
        .collect();
    let loaded = kup_gpconf::load(
        Source {
            path: &main,
            contents: &main_text,
        },
        &sources_list,
    )
    .map_err(|error| ConfigError(error.to_string()))?;
    for note in &loaded.notes {
        crate::log::debug(1, &note.to_string());
    }
    let global = loaded.config.global.clone();
    let resolved = loaded
        .config
        .resolve(|name| {
            kup_sys::passwd::user_by_name(name.as_bytes())
                .ok()
                .flatten()
                .map(|user| user.uid.get())
        })
        .map_err(|error| ConfigError(error.to_string()))?;
    let services = service_configs(&resolved);
    Ok(DaemonConfig {
        debug_level: u32::try_from(global.debug_level).unwrap_or(0),
        worker_threads: usize::try_from(global.worker_threads)
            .unwrap_or(DEFAULT_WORKERS)
            .clamp(1, MAX_WORKERS),
        run_as_user: global.run_as_user.clone(),
        default_socket: sources
            .socket
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET)),
        services,
        resolved,
    })
}

/// The daemon's view of every resolved service, each with this load's handle key.
fn service_configs(resolved: &Resolved) -> Vec<ServiceConfig> {
    resolved
        .services
        .iter()
        .map(|entry| {
            let mut service = ServiceConfig::from_resolved(entry.clone());
            service.load_handle_key();
            service
        })
        .collect()
}

/// User-proxy mode (`-u`, config §1.6): no file; the one `user-proxy` service for `euid` (the
/// daemon's own) on `socket`, which is also the default socket; two workers; the command
/// line's debug level; no `run_as_user`.
#[must_use]
pub fn user_proxy(euid: Uid, socket: &Path, debug_level: u32) -> DaemonConfig {
    let resolved = Resolved::user_proxy(euid.get(), socket.to_path_buf());
    let services = service_configs(&resolved);
    DaemonConfig {
        debug_level,
        worker_threads: usize::try_from(resolved.global.worker_threads)
            .unwrap_or(DEFAULT_WORKERS)
            .clamp(1, MAX_WORKERS),
        run_as_user: None,
        default_socket: socket.to_path_buf(),
        services,
        resolved,
    }
}

/// A file's bytes, at most one more than `kup_gpconf::MAX_FILE_BYTES` (so an over-long file
/// reaches the parser, which refuses it, without being read whole).
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = fs::File::open(path)?;
    let mut text = Vec::new();
    file.take(
        u64::try_from(kup_gpconf::MAX_FILE_BYTES)
            .unwrap_or(u64::MAX)
            .saturating_add(1),
    )
    .read_to_end(&mut text)?;
    Ok(text)
}

/// The directory's regular files (symlinks followed) whose names are snippet names, at most
/// `kup_gpconf::MAX_SNIPPETS + 1` of them (the parser refuses more); the order is the parser's.
fn snippet_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        if !kup_gpconf::is_snippet_name(&name) {
            continue;
        }
        let path = entry.path();
        if fs::metadata(&path).is_ok_and(|meta| meta.is_file()) {
            files.push(path);
            if files.len() > kup_gpconf::MAX_SNIPPETS {
                break;
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<DaemonConfig, ConfigError> {
        let dir = std::env::temp_dir().join(format!(
            "kup-gssproxy-config-{}-{}",
            std::process::id(),
            kup_sys::process::thread_id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let main = dir.join("gssproxy.conf");
        fs::write(&main, text).unwrap();
        let result = read(&Sources {
            config_file: Some(main),
            config_dir: None,
            socket: None,
            ..Sources::default()
        });
        let _ = fs::remove_dir_all(&dir);
        result
    }

    #[test]
    fn the_debian_nfs_server_service_is_read() {
        let config = read_text(
            "[gssproxy]\n\n[service/nfs-server]\n  mechs = krb5\n  socket = /run/gssproxy.sock\n  \
             cred_store = keytab:/etc/krb5.keytab\n  trusted = yes\n  kernel_nfsd = yes\n  euid = 0\n",
        )
        .unwrap();
        assert_eq!(config.worker_threads, DEFAULT_WORKERS);
        let service = &config.services[0];
        assert_eq!(service.name, "nfs-server");
        assert_eq!(service.euid, Uid::new(0));
        assert!(service.kernel_nfsd && service.trusted && !service.allow_any_uid);
        assert_eq!(service.keytab(), Some(Path::new("/etc/krb5.keytab")));
        assert_eq!(service.socket.as_deref(), Some(Path::new("/run/gssproxy.sock")));
        assert!(service.handle_key.is_some());
    }

    #[test]
    fn a_config_kup_gpconf_refuses_is_an_error() {
        assert!(read_text("[service/a]\neuid = 0\n").is_err());
        assert!(read_text("[gssproxy]\n").is_err());
    }

    #[test]
    fn requests_are_matched_by_uid_and_socket_in_configuration_order() {
        let config = read_text(
            "[service/a]\nmechs = krb5\neuid = 1\nsocket = /x.sock\n\
             [service/b]\nmechs = krb5\neuid = 2\n\
             [service/c]\nmechs = krb5\neuid = 3\nprogram = /nonexistent/program\n",
        )
        .unwrap();
        let default = Path::new(DEFAULT_SOCKET);
        let me = i32::try_from(std::process::id()).unwrap();
        assert_eq!(
            config.match_peer(Uid::new(1), me, None, Path::new("/x.sock")),
            Some(0)
        );
        assert_eq!(config.match_peer(Uid::new(1), me, None, default), None);
        assert_eq!(config.match_peer(Uid::new(2), me, None, default), Some(1));
        // Our executable is not the program the service names.
        assert_eq!(config.match_peer(Uid::new(3), me, None, default), None);
        let labelled =
            read_text("[service/d]\nmechs = krb5\neuid = 4\nselinux_context = u:r:t:s0\n").unwrap();
        assert_eq!(labelled.match_peer(Uid::new(4), me, None, default), None);
        assert_eq!(
            labelled.match_peer(Uid::new(4), me, Some("u:r:other:s0"), default),
            None
        );
        assert_eq!(
            labelled.match_peer(Uid::new(4), me, Some("u:r:t:s0"), default),
            Some(0)
        );
    }
}
