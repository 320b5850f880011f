//! The typed configuration, resolution and matching through the public API, including Debian
//! 12's shipped files (described here in our own words and values, spec §7.1).

use std::path::Path;

use kup_gpconf::{
    Config, CredStoreEntry, CredUsage, Error, ErrorKind, Euid, GssFlags, Loaded, Mech, NoteKind, Peer,
    Resolved, Source, load,
};

fn source<'a>(path: &'a str, text: &'a str) -> Source<'a> {
    Source {
        path: Path::new(path),
        contents: text.as_bytes(),
    }
}

fn main_only(text: &str) -> Result<Loaded, Error> {
    load(source("/etc/gssproxy/gssproxy.conf", text), &[])
}

/// One service section with the given extra lines, own socket `/run/s.sock`, euid 0.
fn one_service(extra: &str) -> Result<Loaded, Error> {
    main_only(&format!(
        "[service/s]\nmechs = krb5\neuid = 0\nsocket = /run/s.sock\n{extra}"
    ))
}

fn config(text: &str) -> Config {
    main_only(text).unwrap().config
}

fn no_users(_: &str) -> Option<u32> {
    None
}

fn debian_users(name: &str) -> Option<u32> {
    match name {
        "root" => Some(0),
        "www-data" => Some(33),
        "nobody" => Some(65534),
        _ => None,
    }
}

// ---------------------------------------------------------------- Debian 12 as shipped

/// Debian's main file: nothing but an empty global section.
const DEBIAN_MAIN: &str = "[gssproxy]\n";

/// Debian's NFS server snippet: the kernel's service on its fixed socket, keys indented.
const DEBIAN_NFS_SERVER: &str = "[service/nfs-server]
  mechs = krb5
  socket = /run/gssproxy.sock
  cred_store = keytab:/etc/krb5.keytab
  trusted = yes
  kernel_nfsd = yes
  euid = 0
";

/// The documentation's HTTP example (not active on Debian), naming a user Debian lacks.
const EXAMPLE_HTTPD: &str = "[service/HTTP]
  mechs = krb5
  cred_store = keytab:/etc/gssproxy/http.keytab
  cred_store = ccache:/var/lib/gssproxy/clients/krb5cc_%U
  euid = apache
";

/// The documentation's network file system clients example (not active on Debian).
const EXAMPLE_NETWORK_FS_CLIENTS: &str = "[service/network-fs-clients]
  mechs = krb5
  cred_store = keytab:/etc/krb5.keytab
  cred_store = ccache:FILE:/var/lib/gssproxy/clients/krb5cc_%U
  cred_store = client_keytab:/var/lib/gssproxy/clients/%U.keytab
  cred_usage = initiate
  allow_any_uid = yes
  trusted = yes
  euid = 0
  min_lifetime = 60
";

#[test]
fn debian_defaults_give_the_nfs_server_service_only() {
    let loaded = load(
        source("/etc/gssproxy/gssproxy.conf", DEBIAN_MAIN),
        &[source("/etc/gssproxy/24-nfs-server.conf", DEBIAN_NFS_SERVER)],
    )
    .unwrap();
    assert!(loaded.notes.is_empty(), "{:?}", loaded.notes);
    let config = loaded.config;
    assert_eq!(config.global.debug_level, 0);
    assert_eq!(config.global.worker_threads, 5);
    assert_eq!(config.global.run_as_user, None);
    assert_eq!(config.global.syslog_status, None);
    assert_eq!(config.services.len(), 1);
    let nfs = &config.services[0];
    assert_eq!(nfs.name, "nfs-server");
    assert_eq!(nfs.file, Path::new("/etc/gssproxy/24-nfs-server.conf"));
    assert_eq!(nfs.line, 1);
    assert_eq!(nfs.euid, Euid::Id(0));
    assert_eq!(nfs.mechs, [Mech::Krb5]);
    assert_eq!(nfs.socket.as_deref(), Some(Path::new("/run/gssproxy.sock")));
    assert_eq!(
        nfs.cred_store,
        [CredStoreEntry {
            key: "keytab".into(),
            value: "/etc/krb5.keytab".into()
        }]
    );
    assert!(nfs.trusted && nfs.kernel_nfsd);
    assert!(!nfs.impersonate && !nfs.allow_any_uid && !nfs.allow_protocol_transition);
    assert!(!nfs.allow_constrained_delegation && !nfs.allow_client_ccache_sync);
    assert_eq!(nfs.cred_usage, CredUsage::Both);
    assert_eq!(nfs.filter_flags, GssFlags::DELEGATE);
    assert_eq!(nfs.enforce_flags, GssFlags(0));
    assert_eq!(nfs.min_lifetime, 15);
    assert_eq!(nfs.program, None);
    assert_eq!(nfs.selinux_context, None);
    assert_eq!(nfs.krb5_principal, None);

    // The kernel (uid 0, no program) on the NFS socket gets it; nobody else does, and the
    // default socket serves no one.
    let resolved = config.resolve(debian_users).unwrap();
    let default = Path::new("/var/lib/gssproxy/default.sock");
    let kernel = peer(0, None);
    let nfs_socket = Path::new("/run/gssproxy.sock");
    assert_eq!(
        served(&resolved, &kernel, nfs_socket, default),
        Some("nfs-server")
    );
    assert_eq!(served(&resolved, &kernel, default, default), None);
    assert_eq!(served(&resolved, &peer(1000, None), nfs_socket, default), None);
}

#[test]
fn debian_examples_enabled_beside_the_defaults() {
    let snippets = [
        source(
            "/etc/gssproxy/99-network-fs-clients.conf",
            EXAMPLE_NETWORK_FS_CLIENTS,
        ),
        source("/etc/gssproxy/24-nfs-server.conf", DEBIAN_NFS_SERVER),
        source("/etc/gssproxy/80-httpd.conf", EXAMPLE_HTTPD),
    ];
    let loaded = load(source("/etc/gssproxy/gssproxy.conf", DEBIAN_MAIN), &snippets).unwrap();
    let names: Vec<_> = loaded.config.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["nfs-server", "HTTP", "network-fs-clients"]);
    let http = &loaded.config.services[1];
    assert_eq!(http.euid, Euid::Name("apache".into()));
    assert_eq!(http.socket, None);
    assert_eq!(http.cred_store[1].key, "ccache");
    assert_eq!(http.cred_store[1].value, "/var/lib/gssproxy/clients/krb5cc_%U");
    let clients = &loaded.config.services[2];
    assert_eq!(clients.cred_usage, CredUsage::Initiate);
    assert!(clients.allow_any_uid && clients.trusted);
    assert_eq!(clients.min_lifetime, 60);
    assert_eq!(
        clients
            .cred_store
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect::<Vec<_>>(),
        [
            ("keytab", "/etc/krb5.keytab"),
            ("ccache", "FILE:/var/lib/gssproxy/clients/krb5cc_%U"),
            ("client_keytab", "/var/lib/gssproxy/clients/%U.keytab"),
        ]
    );

    // Debian has no `apache` user: enabling the example verbatim is fatal.
    let error = loaded.config.clone().resolve(debian_users).unwrap_err();
    assert_eq!(error.file, Path::new("/etc/gssproxy/80-httpd.conf"));
    assert_eq!(
        error.kind,
        ErrorKind::UnknownUser {
            section: "service/HTTP".into()
        }
    );
    // With the user, the default socket serves any uid through network-fs-clients (HTTP, uid
    // 48, comes first for its own uid).
    let resolved = loaded
        .config
        .resolve(|n| if n == "apache" { Some(48) } else { debian_users(n) })
        .unwrap();
    let default = Path::new("/var/lib/gssproxy/default.sock");
    assert_eq!(served(&resolved, &peer(48, None), default, default), Some("HTTP"));
    assert_eq!(
        served(&resolved, &peer(1000, None), default, default),
        Some("network-fs-clients")
    );
}

#[test]
fn global_options_in_a_snippet_are_shadowed_by_debians_main_file() {
    let loaded = load(
        source("/etc/gssproxy/gssproxy.conf", DEBIAN_MAIN),
        &[
            source("/etc/gssproxy/10-debug.conf", "[gssproxy]\ndebug = yes\n"),
            source("/etc/gssproxy/24-nfs-server.conf", DEBIAN_NFS_SERVER),
        ],
    )
    .unwrap();
    assert_eq!(loaded.config.global.debug_level, 0);
    assert_eq!(loaded.notes[0].kind, NoteKind::GlobalShadowed);
    assert_eq!(loaded.notes[0].file, Path::new("/etc/gssproxy/10-debug.conf"));
}

// ---------------------------------------------------------------- [gssproxy]

#[test]
fn global_debug_and_debug_level() {
    let svc = "[service/s]\nmechs = krb5\neuid = 0\n";
    let level = |global: &str| config(&format!("[gssproxy]\n{global}{svc}")).global.debug_level;
    assert_eq!(level(""), 0);
    assert_eq!(level("debug = yes\n"), 1);
    assert_eq!(level("debug = maybe\n"), 0);
    assert_eq!(level("debug = yes\ndebug_level = 0\n"), 0);
    assert_eq!(level("debug_level = 3\n"), 3);
    assert_eq!(level("debug_level = 2x\n"), 2);
    assert_eq!(level("DEBUG_LEVEL = 2\n"), 2);
    for bad in ["abc", "", "99999999999", "2147483648"] {
        let error = main_only(&format!("[gssproxy]\ndebug_level = {bad}\n{svc}")).unwrap_err();
        assert_eq!(error.line, 2, "{bad}");
        assert_eq!(
            error.kind,
            ErrorKind::BadInteger {
                section: "gssproxy".into(),
                option: "debug_level"
            }
        );
    }
}

#[test]
fn global_worker_threads_syslog_status_run_as_user() {
    let svc = "[service/s]\nmechs = krb5\neuid = 0\n";
    let global = |text: &str| config(&format!("[GSSPROXY]\n{text}{svc}")).global;
    assert_eq!(global("worker threads = 12\n").worker_threads, 12);
    assert_eq!(global("worker threads = 0\n").worker_threads, 5);
    assert_eq!(global("worker threads = -4\n").worker_threads, 5);
    assert_eq!(global("Worker Threads = 3\n").worker_threads, 3);
    assert_eq!(
        global("worker_threads = 3\n").worker_threads,
        5,
        "the key has a space"
    );
    let error = main_only(&format!("[gssproxy]\nworker threads = abc\n{svc}")).unwrap_err();
    assert!(matches!(
        error.kind,
        ErrorKind::BadInteger {
            option: "worker threads",
            ..
        }
    ));
    assert_eq!(global("syslog_status = on\n").syslog_status, Some(true));
    assert_eq!(global("syslog_status = off\n").syslog_status, Some(false));
    assert_eq!(
        global("run_as_user = nobody\n").run_as_user.as_deref(),
        Some("nobody")
    );
}

// ---------------------------------------------------------------- value syntax

#[test]
fn booleans_are_true_only_for_the_four_words() {
    for yes in ["1", "on", "true", "yes", "YES", "True", "oN"] {
        assert!(
            one_service(&format!("trusted = {yes}\n"))
                .unwrap()
                .config
                .services[0]
                .trusted,
            "{yes}"
        );
    }
    for no in ["0", "no", "maybe", "Enable", "", "yes please", "2"] {
        assert!(
            !one_service(&format!("trusted = {no}\n")).unwrap().config.services[0].trusted,
            "{no}"
        );
    }
}

#[test]
fn euid_is_a_lenient_integer_or_a_user_name() {
    let euid = |value: &str| {
        config(&format!("[service/s]\nmechs = krb5\neuid = {value}\n")).services[0]
            .euid
            .clone()
    };
    assert_eq!(euid("33"), Euid::Id(33));
    assert_eq!(euid("0x21"), Euid::Id(0));
    assert_eq!(euid("12abc"), Euid::Id(12));
    assert_eq!(euid("-1"), Euid::Id(4_294_967_295));
    assert_eq!(euid("+7"), Euid::Id(7));
    assert_eq!(euid("www-data"), Euid::Name("www-data".into()));
    assert_eq!(euid("99999999999"), Euid::Name("99999999999".into()));
    assert_eq!(euid(""), Euid::Name(String::new()));
    let loaded = main_only("[service/s]\nmechs = krb5\neuid = 12abc\n").unwrap();
    assert_eq!(
        loaded.notes[0].kind,
        NoteKind::EuidTrailingText {
            section: "service/s".into(),
            uid: 12
        }
    );
}

#[test]
fn min_lifetime_falls_back_to_15_when_unusable() {
    let lifetime = |value: &str| one_service(&format!("min_lifetime = {value}\n")).unwrap();
    assert_eq!(lifetime("0").config.services[0].min_lifetime, 0);
    assert_eq!(lifetime("300").config.services[0].min_lifetime, 300);
    for bad in ["-5", "abc", "99999999999"] {
        let loaded = lifetime(bad);
        assert_eq!(loaded.config.services[0].min_lifetime, 15, "{bad}");
        assert!(
            matches!(loaded.notes[0].kind, NoteKind::MinLifetimeIgnored { .. }),
            "{bad}"
        );
    }
}

#[test]
fn flag_lists_apply_in_order_to_the_end() {
    let flags = |extra: &str| {
        let service = one_service(extra).unwrap().config.services.remove(0);
        (service.filter_flags.0, service.enforce_flags.0)
    };
    assert_eq!(flags(""), (0x1, 0));
    assert_eq!(flags("filter_flags = -DELEGATE\n"), (0, 0));
    assert_eq!(flags("filter_flags = -0x0001 +ANONYMOUS\n"), (0x40, 0));
    assert_eq!(flags("enforce_flags = +REPLAY_DETECT\n"), (0x1, 0x4));
    // The reference stops after the number and never reaches MUTUAL_AUTH.
    assert_eq!(flags("enforce_flags = +0x10 +mutual_auth\n"), (0x1, 0x12));
    // The documented spelling works (the reference knows only INTEGRITIY), the old one too.
    assert_eq!(
        flags("enforce_flags = +INTEGRITY, +CONFIDENTIALITY\n"),
        (0x1, 0x30)
    );
    assert_eq!(flags("enforce_flags = +INTEGRITIY\n"), (0x1, 0x20));
    let loaded = one_service("enforce_flags = DELEGATE, +MUTUAL_AUTH -0x10 +junk +0 +SEQUENCE\n").unwrap();
    assert_eq!(loaded.config.services[0].enforce_flags, GssFlags(0x2 | 0x8));
    let ignored: Vec<_> = loaded
        .notes
        .iter()
        .filter_map(|n| match &n.kind {
            NoteKind::FlagIgnored { token, option, .. } => Some((*option, token.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        ignored,
        [
            ("enforce_flags", "DELEGATE"),
            ("enforce_flags", "+junk"),
            ("enforce_flags", "+0")
        ]
    );
    assert_eq!(
        GssFlags::apply(0x1 | 0x2, GssFlags(0x20), GssFlags::DELEGATE),
        0x22
    );
}

#[test]
fn scalars_take_the_first_value_and_cred_store_takes_all() {
    let loaded = main_only(
        "[service/s]\nmechs = krb5\neuid = 5\ncred_store = keytab:/a\n[other]\n[service/s]\neuid = 6\nCRED_STORE = ccache:FILE:/b:c\n",
    )
    .unwrap();
    let service = &loaded.config.services[0];
    assert_eq!(service.euid, Euid::Id(5));
    assert_eq!(
        service.cred_store,
        [
            CredStoreEntry {
                key: "keytab".into(),
                value: "/a".into()
            },
            CredStoreEntry {
                key: "ccache".into(),
                value: "FILE:/b:c".into()
            },
        ]
    );
}

// ---------------------------------------------------------------- services: what counts, what is fatal

#[test]
fn only_lower_case_service_prefix_makes_a_service() {
    let loaded = main_only(
        "[SERVICE/x]\nmechs = krb5\neuid = 1\n[Service/y]\n[service/Z]\nMECHS = krb5\nEuid = 2\nunknown = 1\n[misc]\n",
    )
    .unwrap();
    let names: Vec<_> = loaded.config.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Z"]);
    assert!(loaded.notes.is_empty());
}

#[test]
fn service_names_keep_case_and_slashes() {
    let config = config("[service/a/B c]\nmechs = krb5\neuid = 0\n");
    assert_eq!(config.services[0].name, "a/B c");
}

#[test]
fn mechs_is_a_list_that_must_name_krb5() {
    let mechs = |value: &str| {
        main_only(&format!(
            "[service/s]\nmechs = {value}\neuid = 0\n[service/t]\nmechs = krb5\neuid = 1\n"
        ))
    };
    for kept in ["krb5", "krb5, foo", "foo krb5", ",krb5,"] {
        let loaded = mechs(kept).unwrap();
        assert_eq!(loaded.config.services.len(), 2, "{kept}");
        assert_eq!(loaded.config.services[0].mechs, [Mech::Krb5]);
    }
    let loaded = mechs("krb5, foo").unwrap();
    assert_eq!(
        loaded.notes[0].kind,
        NoteKind::UnknownMech {
            section: "service/s".into(),
            mech: "foo".into()
        }
    );
    for dropped in ["foo", "KRB5", "", "krb5x"] {
        let loaded = mechs(dropped).unwrap();
        let names: Vec<_> = loaded.config.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["t"], "{dropped}");
        assert!(loaded.notes.iter().any(|n| n.kind
            == NoteKind::NoMechs {
                section: "service/s".into()
            }));
    }
    // A dropped service is not checked further (the reference reads its other options only
    // for krb5).
    assert!(mechs("foo\ncred_usage = never\nprogram = rel").is_ok());
}

#[test]
fn no_service_left_is_fatal() {
    for text in [
        "[gssproxy]\n",
        "",
        "[service/s]\nmechs = foo\neuid = 0\n",
        "[SERVICE/s]\nmechs = krb5\neuid = 0\n",
    ] {
        let error = main_only(text).unwrap_err();
        assert_eq!(error.kind, ErrorKind::NoServices, "{text:?}");
        assert_eq!(error.file, Path::new("/etc/gssproxy/gssproxy.conf"));
    }
}

#[test]
fn required_options_missing_are_fatal() {
    let error = main_only("\n[service/s]\nmechs = krb5\n").unwrap_err();
    assert_eq!(error.line, 2);
    assert_eq!(
        error.kind,
        ErrorKind::MissingOption {
            section: "service/s".into(),
            option: "euid"
        }
    );
    assert_eq!(
        error.to_string(),
        "/etc/gssproxy/gssproxy.conf:2: option 'euid' is missing from [service/s]"
    );
    // euid is checked before mechs, so even a service that would be dropped fails.
    assert!(matches!(
        main_only("[service/s]\nmechs = foo\n").unwrap_err().kind,
        ErrorKind::MissingOption { option: "euid", .. }
    ));
    assert!(matches!(
        main_only("[service/s]\neuid = 0\n").unwrap_err().kind,
        ErrorKind::MissingOption { option: "mechs", .. }
    ));
}

#[test]
fn fatal_option_values_name_file_and_line() {
    type Expected = fn(&ErrorKind) -> bool;
    let cases: [(&str, Expected); 10] = [
        ("cred_store = keytab\n", |k| {
            matches!(k, ErrorKind::CredStoreWithoutColon { .. })
        }),
        ("cred_usage = sometimes\n", |k| {
            matches!(k, ErrorKind::BadCredUsage { .. })
        }),
        ("cred_usage =\n", |k| matches!(k, ErrorKind::BadCredUsage { .. })),
        ("krb5_keytab =\n", |k| {
            matches!(
                k,
                ErrorKind::DeprecatedOption {
                    option: "krb5_keytab",
                    replacement: "keytab",
                    ..
                }
            )
        }),
        ("krb5_ccache = /x\n", |k| {
            matches!(
                k,
                ErrorKind::DeprecatedOption {
                    option: "krb5_ccache",
                    ..
                }
            )
        }),
        ("krb5_client_keytab = /x\n", |k| {
            matches!(
                k,
                ErrorKind::DeprecatedOption {
                    option: "krb5_client_keytab",
                    ..
                }
            )
        }),
        ("program = usr/sbin/foo\n", |k| {
            matches!(k, ErrorKind::RelativeProgram { .. })
        }),
        ("program =\n", |k| matches!(k, ErrorKind::RelativeProgram { .. })),
        ("program = /usr/bin/a|b\n", |k| {
            matches!(k, ErrorKind::ProgramWithBar { .. })
        }),
        ("selinux_context = user_u:role_r\n", |k| {
            matches!(k, ErrorKind::BadSelinuxContext { .. })
        }),
    ];
    for (line, expected) in cases {
        let error = one_service(line).unwrap_err();
        assert!(expected(&error.kind), "{line}: {error}");
        assert_eq!(error.line, 5, "{line}");
        assert_eq!(error.file, Path::new("/etc/gssproxy/gssproxy.conf"));
    }
}

#[test]
fn accepted_option_values() {
    let service = |extra: &str| one_service(extra).unwrap().config.services.remove(0);
    assert_eq!(service("cred_usage = INITIATE\n").cred_usage, CredUsage::Initiate);
    assert_eq!(service("cred_usage = accept\n").cred_usage, CredUsage::Accept);
    assert_eq!(service("cred_usage = Both\n").cred_usage, CredUsage::Both);
    assert_eq!(
        service("program = /opt/kup-test/rpc.gssd\n").program.as_deref(),
        Some(Path::new("/opt/kup-test/rpc.gssd"))
    );
    assert_eq!(
        service("krb5_principal = nfs/host@R\n").krb5_principal.as_deref(),
        Some("nfs/host@R")
    );
    let context = service("selinux_context = system_u:system_r:gssd_t:s0:c1.c2\n")
        .selinux_context
        .unwrap();
    assert_eq!(
        (context.user.as_str(), context.kind.as_str()),
        ("system_u", "gssd_t")
    );
    assert_eq!(context.range.as_deref(), Some("s0:c1.c2"));
    assert_eq!(service("cred_store = weird:\n").cred_store[0].value, "");
    let all = service(
        "impersonate = yes\nallow_any_uid = 1\nallow_protocol_transition = on\nallow_constrained_delegation = true\nallow_client_ccache_sync = yes\n",
    );
    assert!(all.impersonate && all.allow_any_uid && all.allow_protocol_transition);
    assert!(all.allow_constrained_delegation && all.allow_client_ccache_sync);
}

// ---------------------------------------------------------------- resolution and cross-checks

#[test]
fn services_on_the_same_socket_with_the_same_uid_are_fatal() {
    let text = "[service/a]\nmechs = krb5\neuid = 33\n[service/b]\nmechs = krb5\neuid = www-data\n";
    let error = config(text).resolve(debian_users).unwrap_err();
    assert_eq!(error.line, 4);
    assert_eq!(
        error.kind,
        ErrorKind::SameService {
            earlier: "a".into(),
            later: "b".into()
        }
    );
    // Different sockets or programs are fine.
    let text = "[service/a]\nmechs = krb5\neuid = 33\n[service/b]\nmechs = krb5\neuid = 33\nsocket = /run/b.sock\n[service/c]\nmechs = krb5\neuid = 33\nprogram = /bin/c\n";
    assert_eq!(config(text).resolve(no_users).unwrap().services.len(), 3);
    // A service without socket and one naming the compiled-in default share it.
    let text = "[service/a]\nmechs = krb5\neuid = 1\n[service/b]\nmechs = krb5\neuid = 1\nsocket = /var/lib/gssproxy/default.sock\n";
    assert!(config(text).resolve(no_users).is_err());
}

#[test]
fn an_earlier_allow_any_uid_service_may_not_shadow_a_later_one() {
    let text =
        "[service/any]\nmechs = krb5\neuid = 0\nallow_any_uid = yes\n[service/x]\nmechs = krb5\neuid = 7\n";
    let error = config(text).resolve(no_users).unwrap_err();
    assert_eq!(
        error.kind,
        ErrorKind::AnyUidShadows {
            earlier: "any".into(),
            later: "x".into()
        }
    );
    // As a fallback after a specific service it is allowed and matched last.
    let text =
        "[service/x]\nmechs = krb5\neuid = 7\n[service/any]\nmechs = krb5\neuid = 0\nallow_any_uid = yes\n";
    let resolved = config(text).resolve(no_users).unwrap();
    let default = Path::new("/var/lib/gssproxy/default.sock");
    assert_eq!(served(&resolved, &peer(7, None), default, default), Some("x"));
    assert_eq!(served(&resolved, &peer(8, None), default, default), Some("any"));
}

#[test]
fn unknown_user_names_are_fatal_at_resolution() {
    let error = config("[service/s]\nmechs = krb5\neuid = nosuchuser\n")
        .resolve(debian_users)
        .unwrap_err();
    assert_eq!(
        error.kind,
        ErrorKind::UnknownUser {
            section: "service/s".into()
        }
    );
    assert_eq!(error.line, 1);
    let resolved = config("[service/s]\nmechs = krb5\neuid = nobody\n")
        .resolve(debian_users)
        .unwrap();
    assert_eq!(resolved.services[0].uid, 65534);
}

// ---------------------------------------------------------------- matching

fn peer(uid: u32, program: Option<&Path>) -> Peer<'_> {
    Peer {
        uid,
        gid: uid,
        pid: Some(4242),
        program,
        selinux_context: None,
    }
}

fn served<'r>(resolved: &'r Resolved, peer: &Peer<'_>, listener: &Path, default: &Path) -> Option<&'r str> {
    resolved
        .match_peer(peer, listener, default)
        .map(|s| s.service.name.as_str())
}

#[test]
fn matching_takes_the_first_service_passing_uid_program_and_socket() {
    let text = "[service/gssd]\nmechs = krb5\neuid = 0\nprogram = /opt/kup-test/rpc.gssd\n\
                [service/root]\nmechs = krb5\neuid = 0\n\
                [service/own]\nmechs = krb5\neuid = 0\nsocket = /run/own.sock\n";
    let resolved = config(text).resolve(no_users).unwrap();
    let default = Path::new("/tmp/custom-default.sock");
    let own = Path::new("/run/own.sock");
    let gssd = Path::new("/opt/kup-test/rpc.gssd");
    let other = Path::new("/opt/kup-test/other");
    assert_eq!(
        served(&resolved, &peer(0, Some(gssd)), default, default),
        Some("gssd")
    );
    assert_eq!(
        served(&resolved, &peer(0, Some(other)), default, default),
        Some("root")
    );
    assert_eq!(served(&resolved, &peer(0, None), default, default), Some("root"));
    assert_eq!(served(&resolved, &peer(0, Some(gssd)), own, default), Some("own"));
    assert_eq!(served(&resolved, &peer(1, Some(gssd)), default, default), None);
    // The default socket is the daemon's (-s), not the compiled-in one, and paths compare as
    // strings.
    let compiled = Path::new("/var/lib/gssproxy/default.sock");
    assert_eq!(served(&resolved, &peer(0, None), compiled, default), None);
    assert_eq!(
        served(&resolved, &peer(0, None), Path::new("/run//own.sock"), default),
        None
    );
    assert_eq!(
        served(
            &resolved,
            &peer(0, Some(Path::new("/opt/kup-test//rpc.gssd"))),
            default,
            default
        ),
        Some("root")
    );
}

#[test]
fn matching_with_selinux_contexts() {
    let text = "[service/s]\nmechs = krb5\neuid = 0\nselinux_context = system_u:system_r:gssd_t\n";
    let resolved = config(text).resolve(no_users).unwrap();
    let default = Path::new("/d.sock");
    let mut caller = peer(0, None);
    assert_eq!(
        served(&resolved, &caller, default, default),
        None,
        "no peer context"
    );
    caller.selinux_context = Some("system_u:system_r:gssd_t:s0");
    assert_eq!(served(&resolved, &caller, default, default), Some("s"));
    caller.selinux_context = Some("system_u:system_r:other_t:s0");
    assert_eq!(served(&resolved, &caller, default, default), None);
    caller.selinux_context = Some("garbage");
    assert_eq!(served(&resolved, &caller, default, default), None);
}

#[test]
fn a_service_named_like_the_default_socket_path_matches_on_it() {
    let text = "[service/s]\nmechs = krb5\neuid = 0\nsocket = /var/lib/gssproxy/default.sock\n";
    let resolved = config(text).resolve(no_users).unwrap();
    let default = Path::new("/var/lib/gssproxy/default.sock");
    assert_eq!(served(&resolved, &peer(0, None), default, default), Some("s"));
    assert_eq!(resolved.services[0].service.socket_or(Path::new("/x")), default);
}

#[test]
fn a_service_dropped_for_its_mechs_still_needs_a_known_euid_user() {
    // Checked against Debian's gssproxy: `mechs = foo` with `euid = nosuchuser` beside a valid
    // service does not start.
    let text = "[service/s]\nmechs = foo\neuid = nosuchuser\n[service/t]\nmechs = krb5\neuid = 1\n";
    let config = config(text);
    assert_eq!(config.services.len(), 1);
    assert_eq!(config.dropped.len(), 1);
    let error = config.resolve(debian_users).unwrap_err();
    assert_eq!(
        error.kind,
        ErrorKind::UnknownUser {
            section: "service/s".into()
        }
    );
    let text = "[service/s]\nmechs = foo\neuid = nobody\n[service/t]\nmechs = krb5\neuid = 1\n";
    assert_eq!(
        self::config(text).resolve(debian_users).unwrap().services.len(),
        1
    );
}

#[test]
fn selinux_contexts_need_three_fields_which_may_be_empty() {
    // Checked against Debian's gssproxy (libselinux's context_new): `::c` and `a:b:c:s0:c1`
    // load, `a:b` does not.
    let service = |value: &str| one_service(&format!("selinux_context = {value}\n"));
    assert!(service("::c").is_ok());
    assert!(service("a:b:c:s0:c1").is_ok());
    assert!(service("a:b").is_err());
    assert!(service("").is_err());
}

#[test]
fn user_proxy_mode_serves_only_its_own_uid_on_its_socket() {
    let socket = Path::new("/run/user/1000/gssproxy/default.sock");
    let resolved = Resolved::user_proxy(1000, socket.to_path_buf());
    assert_eq!(resolved.global.worker_threads, 2);
    let service = &resolved.services[0].service;
    assert_eq!(service.name, "user-proxy");
    assert!(service.allow_client_ccache_sync && service.cred_store.is_empty());
    assert_eq!(
        (service.min_lifetime, service.filter_flags, service.cred_usage),
        (15, GssFlags::DELEGATE, CredUsage::Both)
    );
    let default = Path::new("/var/lib/gssproxy/default.sock");
    assert_eq!(
        served(&resolved, &peer(1000, None), socket, default),
        Some("user-proxy")
    );
    assert_eq!(served(&resolved, &peer(0, None), socket, default), None);
}

#[test]
fn cred_store_values_expand_per_request() {
    use kup_gpconf::ExpandError;
    let entry = |value: &str| CredStoreEntry {
        key: "ccache".into(),
        value: value.into(),
    };
    let names = |uid: u32| (uid == 1000).then(|| "alice".to_owned());
    assert_eq!(
        entry("FILE:/var/lib/gssproxy/clients/krb5cc_%U")
            .expand(1000, names)
            .unwrap(),
        "FILE:/var/lib/gssproxy/clients/krb5cc_1000"
    );
    assert_eq!(
        entry("/k/%u/%U/%u.keytab").expand(1000, names).unwrap(),
        "/k/alice/1000/alice.keytab"
    );
    assert_eq!(entry("plain").expand(7, names).unwrap(), "plain");
    assert_eq!(entry("%U").expand(4_294_967_295, names).unwrap(), "-1");
    assert_eq!(entry("100%%").expand(7, names).unwrap(), "100%");
    assert_eq!(entry("/x/%u").expand(7, names), Err(ExpandError::UnknownUid(7)));
    assert_eq!(
        entry("/x/%d").expand(7, names),
        Err(ExpandError::InvalidCode(Some('d')))
    );
    assert_eq!(
        entry("/x/%").expand(7, names),
        Err(ExpandError::InvalidCode(None))
    );
    // The user name is looked up once per value.
    let mut calls = 0;
    let counted = |uid: u32| {
        calls += 1;
        names(uid)
    };
    assert_eq!(entry("%u%u").expand(1000, counted).unwrap(), "alicealice");
    assert_eq!(calls, 1);
}

#[test]
fn listeners_are_the_default_then_each_distinct_service_socket() {
    let text = "[service/a]\nmechs = krb5\neuid = 1\nsocket = /run/a.sock\nkernel_nfsd = yes\n\
                [service/b]\nmechs = krb5\neuid = 2\n\
                [service/c]\nmechs = krb5\neuid = 3\nsocket = /run/a.sock\n";
    let resolved = config(text).resolve(no_users).unwrap();
    let default = Path::new("/var/lib/gssproxy/default.sock");
    assert_eq!(
        resolved.listener_paths(default),
        [default, Path::new("/run/a.sock")]
    );
    assert!(resolved.kernel_nfsd());
    assert!(!Resolved::user_proxy(0, "/s".into()).kernel_nfsd());
}
