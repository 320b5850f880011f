//! The properties of the kup-gpconf fuzz target. It takes arbitrary bytes and panics when a
//! property does not hold (the code under test itself must never panic).
//!
//! Input: pieces separated by the byte 0x1e; the first is the main file, up to eight more are
//! snippets with names that sort in another order than they come.

// `pub` for the fuzz crate; the same file is a private module of the replay tests.
#![allow(unreachable_pub, dead_code)]

use std::path::{Path, PathBuf};

use kup_gpconf::ini::{self, IniFile};
use kup_gpconf::{
    Config, Euid, MAX_ENTRIES, MAX_SECTIONS, MAX_SERVICES, Mech, Merged, Peer, Resolved, Source, load, merge,
};

const MAIN: &str = "/etc/gssproxy/gssproxy.conf";
const DEFAULT_SOCKET: &str = "/var/lib/gssproxy/default.sock";

/// The whole pipeline on one fuzzed set of files.
pub fn config(data: &[u8]) {
    let mut pieces = data.split(|&b| b == 0x1e);
    let main = pieces.next().unwrap_or_default();
    let snippets: Vec<(PathBuf, &[u8])> = pieces
        .take(8)
        .enumerate()
        .map(|(i, piece)| {
            (
                PathBuf::from(format!("/etc/gssproxy/{:02}-s{i}.conf", (97 - 7 * i) % 100)),
                piece,
            )
        })
        .collect();

    check_ini(main);
    for (_, piece) in &snippets {
        check_ini(piece);
    }

    let main_source = Source {
        path: Path::new(MAIN),
        contents: main,
    };
    let sources: Vec<Source<'_>> = snippets
        .iter()
        .map(|(path, contents)| Source { path, contents })
        .collect();
    match merge(main_source, &sources) {
        Err(error) => {
            let alone = ini::parse(main).expect_err("merge failed although the main file parses");
            assert_eq!((error.line, &error.kind), (alone.line, &alone.kind));
            assert_eq!(error.file, Path::new(MAIN));
            assert!(!error.to_string().is_empty());
        }
        Ok(merged) => check_merged(&merged),
    }

    let first = load(main_source, &sources);
    let again = load(main_source, &sources);
    assert_eq!(first, again, "loading is not deterministic");
    match first {
        Err(error) => assert!(!error.to_string().is_empty()),
        Ok(loaded) => {
            for note in &loaded.notes {
                assert!(!note.to_string().is_empty());
            }
            check_config(&loaded.config);
            check_resolution(&loaded.config);
        }
    }
}

/// One file alone: what the parser returns is well-formed and comes from the lines it names.
fn check_ini(bytes: &[u8]) {
    let plain_utf8 = std::str::from_utf8(bytes)
        .ok()
        .filter(|text| !text.starts_with('\u{feff}'));
    let line_count = bytes.split(|&b| b == b'\n').count();
    match ini::parse(bytes) {
        Err(error) => assert!(error.line as usize <= line_count, "error line past the end"),
        Ok(file) => {
            check_file(&file);
            if let Some(text) = plain_utf8 {
                let lines: Vec<&str> = text.split('\n').collect();
                for section in &file.sections {
                    for entry in &section.entries {
                        let line = lines[entry.line as usize - 1];
                        let line = line.split('\0').next().unwrap_or_default();
                        assert!(line.contains(&entry.key), "key not on its line");
                        assert!(line.contains(&entry.value), "value not on its line");
                        let at = line.find('=').expect("an entry's line has '='");
                        assert_eq!(line[..at].trim_matches(is_c_space), entry.key);
                        assert_eq!(line[at + 1..].trim_matches(is_c_space), entry.value);
                    }
                }
            }
        }
    }
}

fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

fn check_file(file: &IniFile) {
    let mut entries = 0;
    for (index, section) in file.sections.iter().enumerate() {
        assert!(!section.name.is_empty() && section.name.len() <= 1024);
        assert_eq!(section.name.trim_matches(is_c_space), section.name);
        assert!(!section.name.contains('\n') && !section.name.contains('\0'));
        for other in &file.sections[..index] {
            assert!(!other.name.eq_ignore_ascii_case(&section.name), "a section twice");
        }
        for entry in &section.entries {
            entries += 1;
            assert!(!entry.key.is_empty() && entry.key.len() < 1024);
            assert!(!entry.key.contains('=') && !entry.key.contains('\n') && !entry.key.contains('\0'));
            assert_eq!(entry.key.trim_matches(is_c_space), entry.key);
            assert_eq!(entry.value.trim_matches(is_c_space), entry.value);
            assert!(!entry.value.contains('\n') && !entry.value.contains('\0'));
            assert!(entry.line >= 1);
        }
    }
    assert!(file.sections.len() <= MAX_SECTIONS && entries <= MAX_ENTRIES);
}

fn check_merged(merged: &Merged) {
    assert!(merged.sections.len() <= MAX_SECTIONS);
    for (index, located) in merged.sections.iter().enumerate() {
        for other in &merged.sections[..index] {
            assert!(
                !other.section.name.eq_ignore_ascii_case(&located.section.name),
                "a section twice"
            );
        }
        if located.file != Path::new(MAIN) {
            let name = &located.section.name;
            assert!(
                name == "gssproxy" || name.starts_with("service/"),
                "foreign section from a snippet"
            );
        }
    }
    // Files appear in order: the main file, then snippets in byte order of their paths.
    let files: Vec<&PathBuf> = merged.sections.iter().map(|l| &l.file).collect();
    let mut sorted = files.clone();
    sorted.sort_by_key(|p| (p.as_path() != Path::new(MAIN), p.as_os_str().to_owned()));
    assert_eq!(files, sorted, "sections out of file order");
}

fn check_config(config: &Config) {
    assert!(!config.services.is_empty() && config.services.len() <= MAX_SERVICES);
    assert!(config.global.worker_threads > 0);
    for service in &config.services {
        assert_eq!(service.mechs, [Mech::Krb5]);
        if let Some(program) = &service.program {
            let text = program.to_str().expect("programs come from UTF-8");
            assert!(text.starts_with('/') && !text.contains('|'));
        }
        for entry in &service.cred_store {
            assert!(!entry.key.contains(':'));
        }
        assert!(i32::try_from(service.min_lifetime).is_ok());
    }
}

/// A deterministic fake `getpwnam`: names containing `x` are unknown, others have uid len % 4.
fn lookup(name: &str) -> Option<u32> {
    if name.contains('x') {
        None
    } else {
        u32::try_from(name.len() % 4).ok()
    }
}

fn uid_of(euid: &Euid) -> Option<u32> {
    match euid {
        Euid::Id(uid) => Some(*uid),
        Euid::Name(name) => lookup(name),
    }
}

fn check_resolution(config: &Config) {
    let all_known = config.services.iter().all(|s| uid_of(&s.euid).is_some())
        && config.dropped.iter().all(|d| uid_of(&d.euid).is_some());
    let default = Path::new(DEFAULT_SOCKET);
    let socket = |s: &kup_gpconf::Service| s.socket.clone().unwrap_or_else(|| default.to_path_buf());
    // The cross-service rule, written independently.
    let mut conflict = false;
    for (i, later) in config.services.iter().enumerate() {
        for earlier in &config.services[..i] {
            let same = socket(earlier).as_os_str() == socket(later).as_os_str()
                && os(earlier.program.as_ref()) == os(later.program.as_ref())
                && earlier.selinux_context.is_none() == later.selinux_context.is_none();
            let same = same
                && match (&earlier.selinux_context, &later.selinux_context) {
                    (Some(a), Some(b)) => a.matches(b),
                    _ => true,
                };
            if same && (earlier.allow_any_uid || uid_of(&earlier.euid) == uid_of(&later.euid)) {
                conflict = true;
            }
        }
    }
    match config.clone().resolve(lookup) {
        Err(error) => {
            assert!(!all_known || conflict, "refused without reason: {error}");
            assert!(!error.to_string().is_empty());
        }
        Ok(resolved) => {
            assert!(all_known && !conflict, "accepted an unknown user or a conflict");
            check_matching(&resolved);
            check_policy(&resolved);
        }
    }
}

/// Every acquire environment is total and keeps the store's shape.
fn check_policy(resolved: &Resolved) {
    use kup_gpconf::CredUsage;
    use kup_gpconf::policy::{NameKind, PolicyError, RequestedName, credential_environment};
    let names = [
        None,
        Some(RequestedName {
            kind: NameKind::StringUid,
            display: b"1000",
        }),
        Some(RequestedName {
            kind: NameKind::Other,
            display: b"host@x",
        }),
    ];
    for entry in resolved.services.iter().take(4) {
        for peer in [0, 1000, entry.uid] {
            for usage in [CredUsage::Both, CredUsage::Initiate, CredUsage::Accept] {
                for name in names {
                    let user = |uid: u32| uid.is_multiple_of(2).then(|| format!("u{uid}"));
                    match credential_environment(entry, peer, usage, name, user) {
                        Err(PolicyError::UsageRefused) => {
                            assert!(entry.service.cred_usage != CredUsage::Both && usage != CredUsage::Both);
                        }
                        Err(_) => {}
                        Ok(env) => {
                            assert!(
                                entry.service.cred_usage == CredUsage::Both
                                    || env.usage == entry.service.cred_usage
                            );
                            match &env.store {
                                None => assert!(entry.service.cred_store.is_empty() && !env.private_ccache),
                                Some(store) => {
                                    let configured = entry.service.cred_store.len();
                                    assert!(store.len() == configured || store.len() == configured + 1);
                                    let has_ccache = store.iter().any(|e| e.key == "ccache");
                                    assert!(!(env.private_ccache && has_ccache));
                                    for (got, wanted) in store.iter().zip(&entry.service.cred_store) {
                                        assert_eq!(got.key, wanted.key);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Paths compared as strings (the reference's `strcmp`; `Path`'s `==` ignores `//`).
fn os(path: Option<&PathBuf>) -> Option<&std::ffi::OsStr> {
    path.map(|p| p.as_os_str())
}

fn check_matching(resolved: &Resolved) {
    let default = PathBuf::from("/run/fuzz-default.sock");
    let mut listeners = vec![default.clone(), PathBuf::from(DEFAULT_SOCKET)];
    let mut programs: Vec<Option<PathBuf>> = vec![None, Some(PathBuf::from("/opt/kup-test/rpc.gssd"))];
    let mut uids = vec![0, 1, 2, 3, 33];
    for entry in resolved.services.iter().take(4) {
        listeners.extend(entry.service.socket.clone());
        programs.push(entry.service.program.clone());
        uids.push(entry.uid);
    }
    for &uid in &uids {
        for program in &programs {
            for listener in &listeners {
                let peer = Peer {
                    uid,
                    gid: uid,
                    pid: Some(1),
                    program: program.as_deref(),
                    selinux_context: None,
                };
                let got = resolved
                    .match_peer(&peer, listener, &default)
                    .map(std::ptr::from_ref);
                let expected = resolved
                    .services
                    .iter()
                    .find(|candidate| {
                        let s = &candidate.service;
                        let socket = s.socket.as_deref().unwrap_or(&default);
                        (s.allow_any_uid || candidate.uid == uid)
                            && s.selinux_context.is_none()
                            && (s.program.is_none() || os(s.program.as_ref()) == os(program.as_ref()))
                            && socket.as_os_str() == listener.as_os_str()
                    })
                    .map(std::ptr::from_ref);
                assert_eq!(got, expected, "matching disagrees with the model");
            }
        }
    }
}
