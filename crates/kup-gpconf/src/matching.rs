//! The configuration once `euid` user names are resolved ([`Config::resolve`], with the
//! reference's cross-service checks), and which service serves a caller ([`Resolved::match_peer`],
//! gssproxy 0.9.1's per-request matching).
//!
//! No I/O: the caller passes the user lookup (`getpwnam`) and the peer's identity
//! (`SO_PEERCRED`, the realpath of `/proc/<pid>/exe`, `getpeercon`) and the listener's path.
//!
//! Reproduced (tests below): services are tried in configuration order and the first one that
//! passes every test wins: uid (`allow_any_uid` or `euid` equal to the peer's uid), `SELinux`
//! context (unset, or the peer's compares equal), program (unset, or equal to the peer's
//! executable; a peer without one matches no `program` service), socket (the listener's path is
//! the service's `socket`, or the default socket for a service without one; string compare).
//! At load: an unknown `euid` user is fatal; for two services with the same socket (a service
//! without one counts as [`DEFAULT_SOCKET`], whatever `-s` says), program and `SELinux` context,
//! an earlier `allow_any_uid` service, or equal uids after resolution (`33` and `www-data`), is
//! fatal.

use std::path::{Path, PathBuf};

use crate::config::{
    Config, DEFAULT_SOCKET, Euid, Global, SelinuxContext, Service, USER_PROXY_WORKER_THREADS,
};
use crate::error::{Error, ErrorKind};

/// A configuration whose services have numeric uids and passed the cross-service checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// `[gssproxy]`.
    pub global: Global,
    /// The services in matching order.
    pub services: Vec<ResolvedService>,
}

/// A service and the uid its `euid` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedService {
    /// The service.
    pub service: Service,
    /// Its `euid` as a number.
    pub uid: u32,
}

/// What the daemon knows about a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer<'a> {
    /// `SO_PEERCRED` uid.
    pub uid: u32,
    /// `SO_PEERCRED` gid (not used for matching; carried for logs).
    pub gid: u32,
    /// `SO_PEERCRED` pid, if any.
    pub pid: Option<i32>,
    /// The realpath of the peer's `/proc/<pid>/exe`; `None` for kernel callers or when it
    /// could not be read.
    pub program: Option<&'a Path>,
    /// The peer's `SELinux` context (`getpeercon`), if any.
    pub selinux_context: Option<&'a str>,
}

impl Config {
    /// Resolves every `euid` user name with `user_id` (`getpwnam`'s uid, `None` when unknown)
    /// and runs the reference's cross-service checks.
    ///
    /// # Errors
    /// An unknown user ([`ErrorKind::UnknownUser`]), an `allow_any_uid` service shadowing a
    /// later one with the same socket, program and context ([`ErrorKind::AnyUidShadows`]), two
    /// such services with the same uid ([`ErrorKind::SameService`]).
    pub fn resolve(self, mut user_id: impl FnMut(&str) -> Option<u32>) -> Result<Resolved, Error> {
        for dropped in &self.dropped {
            if let Euid::Name(name) = &dropped.euid
                && user_id(name).is_none()
            {
                return Err(Error {
                    file: dropped.file.clone(),
                    line: dropped.line,
                    kind: ErrorKind::UnknownUser {
                        section: format!("service/{}", dropped.name),
                    },
                });
            }
        }
        let mut services: Vec<ResolvedService> = Vec::with_capacity(self.services.len());
        for service in self.services {
            let uid = match &service.euid {
                Euid::Id(uid) => *uid,
                Euid::Name(name) => user_id(name).ok_or_else(|| Error {
                    file: service.file.clone(),
                    line: service.line,
                    kind: ErrorKind::UnknownUser {
                        section: format!("service/{}", service.name),
                    },
                })?,
            };
            let later = &service;
            for earlier in &services {
                let earlier_service = &earlier.service;
                if !same_listener_and_identity(earlier_service, later) {
                    continue;
                }
                let kind = if earlier_service.allow_any_uid {
                    ErrorKind::AnyUidShadows {
                        earlier: earlier_service.name.clone(),
                        later: later.name.clone(),
                    }
                } else if earlier.uid == uid {
                    ErrorKind::SameService {
                        earlier: earlier_service.name.clone(),
                        later: later.name.clone(),
                    }
                } else {
                    continue;
                };
                return Err(Error {
                    file: later.file.clone(),
                    line: later.line,
                    kind,
                });
            }
            services.push(ResolvedService { service, uid });
        }
        Ok(Resolved {
            global: self.global,
            services,
        })
    }
}

impl Resolved {
    /// User-proxy mode (`-u`): no file, one [`Service::user_proxy`] for `uid` on `socket`, two
    /// workers, debug level 0.
    #[must_use]
    pub fn user_proxy(uid: u32, socket: PathBuf) -> Self {
        Self {
            global: Global {
                worker_threads: USER_PROXY_WORKER_THREADS,
                ..Global::default()
            },
            services: vec![ResolvedService {
                service: Service::user_proxy(uid, socket),
                uid,
            }],
        }
    }

    /// The distinct socket paths to listen on, in order: `default_socket` first (the reference
    /// always creates it), then each service's own `socket` once (the reference binds a shared
    /// path once per service, which orphans listeners on reload: spec §5.1).
    #[must_use]
    pub fn listener_paths<'a>(&'a self, default_socket: &'a Path) -> Vec<&'a Path> {
        let mut paths = vec![default_socket];
        for entry in &self.services {
            let path = entry.service.socket_or(default_socket);
            if !paths.iter().any(|p| p.as_os_str() == path.as_os_str()) {
                paths.push(path);
            }
        }
        paths
    }

    /// Whether any service has `kernel_nfsd` (the daemon then writes `1` to
    /// `/proc/net/rpc/use-gss-proxy`).
    #[must_use]
    pub fn kernel_nfsd(&self) -> bool {
        self.services.iter().any(|entry| entry.service.kernel_nfsd)
    }

    /// The service that serves `peer` on the listener bound at `listener`, or `None` (the
    /// daemon then closes the connection without a reply). `default_socket` is the daemon's
    /// default socket path (`-s`, else [`DEFAULT_SOCKET`]). Called for every request.
    #[must_use]
    pub fn match_peer(
        &self,
        peer: &Peer<'_>,
        listener: &Path,
        default_socket: &Path,
    ) -> Option<&ResolvedService> {
        let peer_context = peer.selinux_context.and_then(SelinuxContext::parse);
        self.services.iter().find(|candidate| {
            let service = &candidate.service;
            (service.allow_any_uid || candidate.uid == peer.uid)
                && service.selinux_context.as_ref().is_none_or(|wanted| {
                    peer_context
                        .as_ref()
                        .is_some_and(|context| wanted.matches(context))
                })
                && service
                    .program
                    .as_deref()
                    .is_none_or(|wanted| peer.program.is_some_and(|p| p.as_os_str() == wanted.as_os_str()))
                && service.socket_or(default_socket).as_os_str() == listener.as_os_str()
        })
    }
}

fn same_listener_and_identity(a: &Service, b: &Service) -> bool {
    let default = Path::new(DEFAULT_SOCKET);
    // String comparisons, as the reference's strcmp (`Path`'s `==` would ignore `//`).
    a.socket_or(default).as_os_str() == b.socket_or(default).as_os_str()
        && a.program.as_ref().map(|p| p.as_os_str()) == b.program.as_ref().map(|p| p.as_os_str())
        && match (&a.selinux_context, &b.selinux_context) {
            (None, None) => true,
            (Some(x), Some(y)) => x.matches(y),
            _ => false,
        }
}
