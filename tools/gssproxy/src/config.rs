//! The daemon's configuration as the rest of the daemon sees it ([`DaemonConfig`],
//! [`ServiceConfig`]), and a MINIMAL reader of the few keys it uses.
//!
//! TO BE REPLACED by `kup-gpconf` (the full gssproxy.conf parser, written in parallel): only
//! [`read`] and its helpers below the structures go; the structures are what the daemon needs
//! and what `kup-gpconf`'s result is converted into.
//!
//! What this reader does (a subset of gssproxy 0.9.1, spec gssproxy-config.md §2–§4): the main
//! file, then (unless `-c` was given without `-C`) the directory's `NN-*.conf` files in name
//! order; `[gssproxy]` and `[service/NAME]` sections, the first section of a name wins across
//! files, within one the first value of a key wins (`cred_store` values accumulate); `#` and
//! `;` comment lines; keys compared case-insensitively. Not done: libini's exact error rules,
//! flag lists, `min_lifetime`, `cred_usage`, the cross-service check, `run_as_user`; a service
//! with `program` or `selinux_context` is left out (fail closed: this daemon cannot match on
//! them yet).

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use kup_sys::Uid;

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
    /// The default socket (`-s`, else [`DEFAULT_SOCKET`]).
    pub default_socket: PathBuf,
    /// The services, in configuration order (matching walks them in this order).
    pub services: Vec<ServiceConfig>,
}

/// One `[service/NAME]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceConfig {
    /// NAME.
    pub name: String,
    /// The peer uid served (`euid`).
    pub euid: Uid,
    /// `allow_any_uid`.
    pub allow_any_uid: bool,
    /// `socket` (None: the default socket).
    pub socket: Option<PathBuf>,
    /// `cred_store` entries, in order (`keytab:/path` …).
    pub cred_store: Vec<(String, String)>,
    /// `krb5_principal`: the acceptor's name (None: any principal in the keytab).
    pub krb5_principal: Option<String>,
    /// `kernel_nfsd`.
    pub kernel_nfsd: bool,
    /// `trusted`.
    pub trusted: bool,
}

impl ServiceConfig {
    /// A service for `euid` on `socket` with every option at its default.
    #[must_use]
    pub fn new(name: &str, euid: Uid, socket: Option<PathBuf>) -> Self {
        Self {
            name: name.to_owned(),
            euid,
            allow_any_uid: false,
            socket,
            cred_store: Vec::new(),
            krb5_principal: None,
            kernel_nfsd: false,
            trusted: false,
        }
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

/// A configuration the daemon cannot start with (exit status 1, as the reference's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
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
}

/// Reads the configuration named by `sources` (the minimal reader: see the module text).
pub fn read(sources: &Sources) -> Result<DaemonConfig, ConfigError> {
    let (main, dir) = match (&sources.config_file, &sources.config_dir) {
        (Some(file), dir) => (file.clone(), dir.clone()),
        (None, dir) => (
            PathBuf::from(DEFAULT_CONFIG_FILE),
            Some(dir.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_DIR))),
        ),
    };
    let mut sections: Vec<Section> = Vec::new();
    match fs::read(&main) {
        Ok(text) => merge(&mut sections, parse(&text)?),
        Err(error) if sources.config_file.is_some() || error.kind() != std::io::ErrorKind::NotFound => {
            return Err(ConfigError(format!(
                "Failed to open config file: {} ({error})",
                error.raw_os_error().unwrap_or(0)
            )));
        }
        Err(_) => {}
    }
    if let Some(dir) = dir {
        for file in snippets(&dir) {
            // A snippet that does not parse is skipped, as the reference does.
            if let Ok(parsed) = fs::read(&file)
                .map_err(|_| ())
                .and_then(|t| parse(&t).map_err(|_| ()))
            {
                merge(&mut sections, parsed);
            }
        }
    }
    build(&sections, sources.socket.clone())
}

#[derive(Clone, Debug, Default)]
struct Section {
    name: String,
    entries: Vec<(String, String)>,
}

impl Section {
    fn first(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }

    fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> {
        self.entries
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }
}

fn parse(text: &[u8]) -> Result<Vec<Section>, ConfigError> {
    let text = String::from_utf8_lossy(text);
    let mut sections: Vec<Section> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        let trimmed = line.trim();
        if trimmed.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
            let name = name.trim().to_owned();
            // Within one file, a repeated section continues the earlier one.
            let section = match sections.iter().position(|section| section.name == name) {
                Some(index) => sections.remove(index),
                None => Section {
                    name,
                    entries: Vec::new(),
                },
            };
            sections.push(section);
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            return Err(ConfigError(format!(
                "Equal sign is missing on line {}",
                number + 1
            )));
        };
        let Some(section) = sections.last_mut() else {
            return Err(ConfigError(format!(
                "Key outside any section on line {}",
                number + 1
            )));
        };
        section
            .entries
            .push((key.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(sections)
}

/// Adds `parsed` to `sections`: a section already present (from an earlier file) wins.
fn merge(sections: &mut Vec<Section>, parsed: Vec<Section>) {
    for section in parsed {
        if !sections
            .iter()
            .any(|known| known.name.eq_ignore_ascii_case(&section.name))
        {
            sections.push(section);
        }
    }
}

/// The directory's `NN-*.conf` files, in name order.
fn snippets(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(OsStr::to_str)
                .is_some_and(is_snippet_name)
        })
        .collect();
    files.sort();
    files
}

fn is_snippet_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() > 3 + 5
        && bytes.first().is_some_and(u8::is_ascii_digit)
        && bytes.get(1).is_some_and(u8::is_ascii_digit)
        && bytes.get(2) == Some(&b'-')
        && Path::new(name)
            .extension()
            .is_some_and(|extension| extension == "conf")
}

fn build(sections: &[Section], socket: Option<PathBuf>) -> Result<DaemonConfig, ConfigError> {
    let global = sections
        .iter()
        .find(|section| section.name.eq_ignore_ascii_case("gssproxy"));
    let debug_level = match global {
        Some(global) => match (global.first("debug_level"), global.first("debug")) {
            (Some(level), _) => level
                .parse()
                .map_err(|_| ConfigError("Error reading configuration 5".to_owned()))?,
            (None, Some(flag)) => u32::from(boolean(flag)),
            (None, None) => 0,
        },
        None => 0,
    };
    let worker_threads = match global.and_then(|global| global.first("worker threads")) {
        Some(count) => count
            .parse::<usize>()
            .map_err(|_| ConfigError("Error reading configuration 5".to_owned()))?
            .clamp(1, MAX_WORKERS),
        None => DEFAULT_WORKERS,
    };
    let mut services = Vec::new();
    for section in sections {
        let Some(name) = section.name.strip_prefix("service/") else {
            continue;
        };
        // Matching by executable or SELinux context is not done by this reader: a service
        // restricted that way is left out rather than opened to every process of its euid.
        if section.first("program").is_some() || section.first("selinux_context").is_some() {
            continue;
        }
        match section.first("mechs") {
            None => {
                return Err(ConfigError(format!(
                    "Option 'mechs' is missing from [service/{name}]."
                )));
            }
            Some("krb5") => {}
            Some(_) => continue,
        }
        let euid = section
            .first("euid")
            .and_then(euid)
            .ok_or_else(|| ConfigError(format!("Option 'euid' is missing from [service/{name}].")))?;
        let mut service = ServiceConfig::new(name, euid, section.first("socket").map(PathBuf::from));
        service.allow_any_uid = section.first("allow_any_uid").is_some_and(boolean);
        service.kernel_nfsd = section.first("kernel_nfsd").is_some_and(boolean);
        service.trusted = section.first("trusted").is_some_and(boolean);
        service.krb5_principal = section.first("krb5_principal").map(str::to_owned);
        for entry in section.all("cred_store") {
            let Some((key, value)) = entry.split_once(':') else {
                return Err(ConfigError(format!(
                    "Invalid cred_store value, no ':' separator found in [{entry}]."
                )));
            };
            service.cred_store.push((key.to_owned(), value.to_owned()));
        }
        services.push(service);
    }
    if services.is_empty() {
        return Err(ConfigError("No service sections configured!".to_owned()));
    }
    Ok(DaemonConfig {
        debug_level,
        worker_threads,
        default_socket: socket.unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET)),
        services,
    })
}

fn boolean(value: &str) -> bool {
    ["yes", "true", "on", "1"]
        .iter()
        .any(|word| value.eq_ignore_ascii_case(word))
}

/// An integer (leading digits, as the reference's lenient parse) or a user name.
fn euid(value: &str) -> Option<Uid> {
    if value.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
        return digits.parse().ok().map(Uid::new);
    }
    kup_sys::passwd::user_by_name(value.as_bytes())
        .ok()
        .flatten()
        .map(|user| user.uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<DaemonConfig, ConfigError> {
        build(&parse(text.as_bytes())?, None)
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
    }

    #[test]
    fn services_without_krb5_are_dropped_and_none_left_is_an_error() {
        assert!(read_text("[service/a]\nmechs = foo\neuid = 0\n").is_err());
        assert!(read_text("[service/a]\neuid = 0\n").is_err());
        let config =
            read_text("[service/a]\nmechs = foo\neuid = 0\n[service/b]\nmechs = krb5\neuid = 33x\n").unwrap();
        assert_eq!(config.services.len(), 1);
        assert_eq!(config.services[0].euid, Uid::new(33));
    }

    #[test]
    fn the_first_value_of_a_key_wins_and_cred_store_values_accumulate() {
        let config = read_text(
            "[service/a]\nmechs = krb5\neuid = 1\neuid = 2\ncred_store = keytab:/a\ncred_store = ccache:/b\n",
        )
        .unwrap();
        assert_eq!(config.services[0].euid, Uid::new(1));
        assert_eq!(config.services[0].cred_store.len(), 2);
        assert!(read_text("[service/a]\nmechs = krb5\neuid = 1\ncred_store = nocolon\n").is_err());
        assert!(read_text("[service/a]\nmechs = krb5\neuid\n").is_err());
    }

    #[test]
    fn services_restricted_by_program_or_selinux_context_are_left_out() {
        let config = read_text(
            "[service/a]\nmechs = krb5\neuid = 1\nprogram = /usr/sbin/x\n\
             [service/b]\nmechs = krb5\neuid = 2\nselinux_context = u:r:t:s0\n\
             [service/c]\nmechs = krb5\neuid = 3\n",
        )
        .unwrap();
        assert_eq!(config.services.len(), 1);
        assert_eq!(config.services[0].name, "c");
    }

    #[test]
    fn snippet_names_are_two_digits_a_dash_and_conf() {
        assert!(is_snippet_name("24-nfs-server.conf"));
        assert!(!is_snippet_name("nfs.conf"));
        assert!(!is_snippet_name("24-.conf.bak"));
    }
}
