//! Unit tests of the plan (command line and description), the answer decision with a fake
//! mapper, the error texts, and the `/proc/keys` line rules.

use super::*;

fn args(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

fn mode(words: &[&str]) -> Mode {
    plan(&args(words)).mode
}

#[test]
fn upcall_mode_takes_key_and_description() {
    let invocation = plan(&args(&["/usr/sbin/nfsidmap", "-t", "600", "123", "uid:a@b"]));
    assert_eq!(invocation.program, b"nfsidmap");
    assert_eq!(invocation.timeout, 600);
    assert_eq!(
        invocation.mode,
        Mode::Upcall {
            key: KeySerial::new(123),
            request: Request::parse(b"uid:a@b")
        }
    );
}

#[test]
fn nothing_after_the_key_operand_is_an_option() {
    // The reference permutes (`5 user:0 -v -t 7` is an upcall with -v and -t 7); ours stops
    // at the key (decisions.md #11): four operands, the wrong count.
    assert_eq!(
        plan(&args(&["nfsidmap", "5", "user:0", "-v", "-t", "7"])),
        Invocation {
            program: b"nfsidmap".to_vec(),
            verbosity: 0,
            timeout: DEFAULT_TIMEOUT,
            mode: Mode::BadArgCount,
        }
    );
    for description in [
        "-c", "-d", "-l", "-h", "-v", "-uroot", "-u root", "-g", "-r", "--help", "--",
    ] {
        assert_eq!(
            mode(&["nfsidmap", "-t", "600", "5", description]),
            Mode::Upcall {
                key: KeySerial::new(5),
                request: Request::parse(description.as_bytes())
            },
            "{description}"
        );
    }
    // Options before the key still count, `--` before it still ends them.
    assert_eq!(
        plan(&args(&["nfsidmap", "-v", "-t", "7", "5", "-c"])).verbosity,
        1
    );
    assert_eq!(
        mode(&["nfsidmap", "--", "5", "-c"]),
        Mode::Upcall {
            key: KeySerial::new(5),
            request: Request::parse(b"-c")
        }
    );
}

#[test]
fn timeout_is_read_with_atoi() {
    assert_eq!(plan(&args(&["nfsidmap", "-t", "abc", "1", "x:y"])).timeout, 0);
    assert_eq!(plan(&args(&["nfsidmap", "-t", "-1", "1", "x:y"])).timeout, -1);
    assert_eq!(plan(&args(&["nfsidmap", "-t5x", "1", "x:y"])).timeout, 5);
}

#[test]
fn key_serial_is_read_with_strtol() {
    assert_eq!(
        mode(&["nfsidmap", "0x10", "uid:a"]),
        Mode::Upcall {
            key: KeySerial::new(0),
            request: Request::parse(b"uid:a")
        }
    );
    assert_eq!(
        mode(&["nfsidmap", "12abc", "uid:a"]),
        Mode::Upcall {
            key: KeySerial::new(12),
            request: Request::parse(b"uid:a")
        }
    );
}

#[test]
fn wrong_operand_counts_are_bad_arg_count() {
    assert_eq!(mode(&["nfsidmap"]), Mode::BadArgCount);
    assert_eq!(mode(&["nfsidmap", "1"]), Mode::BadArgCount);
    assert_eq!(mode(&["nfsidmap", "a", "b", "c"]), Mode::BadArgCount);
}

#[test]
fn help_wins_over_everything_before_an_error() {
    assert_eq!(
        mode(&["nfsidmap", "-d", "-h"]),
        Mode::Usage { getopt_error: None }
    );
    assert_eq!(
        mode(&["nfsidmap", "-h", "-x"]),
        Mode::Usage { getopt_error: None }
    );
}

#[test]
fn unknown_option_and_missing_argument_carry_getopts_message() {
    assert_eq!(
        mode(&["/usr/sbin/nfsidmap", "-x"]),
        Mode::Usage {
            getopt_error: Some(b"/usr/sbin/nfsidmap: invalid option -- 'x'\n".to_vec())
        }
    );
    assert_eq!(
        mode(&["nfsidmap", "-u"]),
        Mode::Usage {
            getopt_error: Some(b"nfsidmap: option requires an argument -- 'u'\n".to_vec())
        }
    );
    assert_eq!(
        mode(&["nfsidmap", "-x", "-h"]),
        Mode::Usage {
            getopt_error: Some(b"nfsidmap: invalid option -- 'x'\n".to_vec())
        }
    );
}

#[test]
fn modes_follow_the_reference_precedence() {
    assert_eq!(mode(&["nfsidmap", "-c", "-l", "-d"]), Mode::Domain);
    assert_eq!(mode(&["nfsidmap", "-c", "-u", "x", "-l"]), Mode::List);
    assert_eq!(
        mode(&["nfsidmap", "-c", "-u", "x"]),
        Mode::Invalidate {
            name: b"x".to_vec(),
            kinds: KeyKinds {
                uid: true,
                gid: false
            }
        }
    );
    assert_eq!(mode(&["nfsidmap", "-c", "1", "uid:a"]), Mode::Clear);
}

#[test]
fn last_of_u_g_r_wins() {
    assert_eq!(
        mode(&["nfsidmap", "-u", "a", "-g", "b"]),
        Mode::Invalidate {
            name: b"b".to_vec(),
            kinds: KeyKinds {
                uid: false,
                gid: true
            }
        }
    );
    assert_eq!(
        mode(&["nfsidmap", "-g", "a", "-r", "b"]),
        Mode::Invalidate {
            name: b"b".to_vec(),
            kinds: KeyKinds { uid: true, gid: true }
        }
    );
}

#[test]
fn verbose_counts() {
    assert_eq!(plan(&args(&["nfsidmap", "-vvv", "-v", "-d"])).verbosity, 4);
}

#[test]
fn usage_line_names_the_program() {
    assert_eq!(
        usage(b"nfsidmap"),
        "Usage: nfsidmap [-vh] [-c || [-u|-g|-r key] || -d || -l || [-t timeout] key desc]"
    );
}

#[test]
fn proc_keys_lines_mentioning_keyring_are_skipped() {
    assert_eq!(
        match_key_line(b"1 I--Q--- 1 perm 3f010000 0 0 keyring uid:x: 1\n"),
        None
    );
    assert_eq!(
        match_key_line(b"1a I--Q--- 1 perm 3f010000 0 0 user uid:alice@d: 6\n"),
        Some((true, &b"alice@d: 6\n"[..]))
    );
    assert_eq!(
        match_key_line(b"1a I--Q--- 1 perm 3f010000 0 0 id_resolv gid:staff@d: 6\n"),
        Some((false, &b"staff@d: 6\n"[..]))
    );
    assert_eq!(
        match_key_line(b"1a I--Q--- 1 perm 3f010000 0 0 id_resolv user:0: 4\n"),
        None
    );
}

#[test]
fn proc_keys_lines_are_cut_like_fgets() {
    let mut text = vec![b'a'; 9000];
    text.push(b'\n');
    text.extend_from_slice(b"b\n");
    let lines = proc_keys_lines(&text);
    assert_eq!(
        lines.iter().map(|line| line.len()).collect::<Vec<_>>(),
        [8191, 810, 2]
    );
}

#[test]
fn describe_strings_are_cut_after_the_last_semicolon() {
    assert_eq!(
        after_last_semicolon(b"id_resolver;0;0;3b010000;user:0"),
        b"user:0"
    );
    assert_eq!(
        after_last_semicolon(b"keyring;0;0;1f030000;.id_resolver"),
        b".id_resolver"
    );
}

#[test]
fn descriptions_are_parsed_into_typed_requests_in_the_plan() {
    assert_eq!(
        Request::parse(b"uid:alice@d"),
        Ok(Request::NameToUid {
            name: b"alice@d".to_vec()
        })
    );
    assert_eq!(
        Request::parse(b"gid:staff@d"),
        Ok(Request::NameToGid {
            name: b"staff@d".to_vec()
        })
    );
    // The id is read with atoi, as the reference does.
    assert_eq!(
        Request::parse(b"user:12abc"),
        Ok(Request::UidToName {
            uid: Uid::new(12),
            value: b"12abc".to_vec()
        })
    );
    assert_eq!(
        Request::parse(b"group:-1"),
        Ok(Request::GidToName {
            gid: Gid::new(u32::MAX),
            value: b"-1".to_vec()
        })
    );
    let unknown = Request::parse(b"UID:x").unwrap();
    assert_eq!((unknown.type_field(), unknown.value()), (&b"UID"[..], &b"x"[..]));
    assert_eq!(Request::parse(b"uid:"), Err(Malformed::NullValue));
    assert_eq!(
        Request::parse(b"uid:a:b"),
        Err(Malformed::Ambiguous {
            description: b"uid:a:b".to_vec()
        })
    );
    assert_eq!(
        mode(&["nfsidmap", "7", "uid::x"]),
        Mode::Upcall {
            key: KeySerial::new(7),
            request: Err(Malformed::Ambiguous {
                description: b"uid::x".to_vec()
            })
        }
    );
}

/// A mapper answering from fixed values.
struct Fake {
    domain: Result<&'static [u8], Errno>,
    names: Result<Vec<u8>, Errno>,
}

impl IdMapper for Fake {
    fn default_domain(&self) -> Result<&[u8], Errno> {
        self.domain
    }

    fn owner_to_uid(&self, name: &[u8]) -> Uid {
        Uid::new(u32::try_from(name.len()).unwrap())
    }

    fn group_owner_to_gid(&self, name: &[u8]) -> Gid {
        Gid::new(u32::try_from(name.len()).unwrap() + 100)
    }

    fn uid_to_name(&self, _uid: Uid) -> Result<Vec<u8>, Errno> {
        self.names.clone()
    }

    fn gid_to_name(&self, _gid: Gid) -> Result<Vec<u8>, Errno> {
        self.names.clone().map(|mut name| {
            name.push(b'!');
            name
        })
    }
}

const WORKING: Fake = Fake {
    domain: Ok(b"d.test"),
    names: Ok(Vec::new()),
};

#[test]
fn answers_come_from_the_mapper() {
    let mapper = Fake {
        names: Ok(b"root@d.test".to_vec()),
        ..WORKING
    };
    let answer_to = |description: &[u8]| answer(&Request::parse(description).unwrap(), &mapper);
    assert_eq!(answer_to(b"uid:abc").unwrap(), Answer::Id(3));
    assert_eq!(answer_to(b"gid:abc").unwrap(), Answer::Id(103));
    assert_eq!(
        answer_to(b"user:0").unwrap(),
        Answer::Name(b"root@d.test".to_vec())
    );
    assert_eq!(
        answer_to(b"group:0").unwrap(),
        Answer::Name(b"root@d.test!".to_vec())
    );
}

#[test]
fn name_lookups_fail_without_a_domain_and_unknown_types_are_refused() {
    let no_domain = Fake {
        domain: Err(Errno::INVALID),
        ..WORKING
    };
    let error = answer(&Request::parse(b"user:0").unwrap(), &no_domain).unwrap_err();
    assert_eq!(
        error.to_string(),
        "name_lookup: nfs4_get_default_domain failed: Unknown error -22"
    );
    // uid:/gid: do not need the domain.
    assert_eq!(
        answer(&Request::parse(b"uid:a").unwrap(), &no_domain).unwrap(),
        Answer::Id(1)
    );
    let unmapped = Fake {
        names: Err(Errno::NOT_FOUND),
        ..WORKING
    };
    let error = answer(&Request::parse(b"group:7x").unwrap(), &unmapped).unwrap_err();
    assert_eq!(
        error.to_string(),
        "name_lookup: nfs4_gid_to_name: for 7 failed: Unknown error -2"
    );
    let error = answer(&Request::parse(b"UID:\n").unwrap(), &WORKING).unwrap_err();
    assert_eq!(error.to_string(), "unknown id_resolver description type 'UID'");
}

#[test]
fn error_texts_escape_untrusted_bytes() {
    let error = Error::Malformed(Malformed::Ambiguous {
        description: b"uid:a:\x1b[2J\n".to_vec(),
    });
    assert_eq!(
        error.to_string(),
        "Error: ambiguous description 'uid:a:\\x1b[2J\\x0a' (empty field or second ':'), refused"
    );
    let error = Error::UnknownType {
        type_field: b"x\ny".to_vec(),
    };
    assert_eq!(
        error.to_string(),
        "unknown id_resolver description type 'x\\x0ay'"
    );
}

#[test]
fn report_sends_each_error_where_the_reference_does() {
    let clear = Mode::Clear;
    let upcall = mode(&["nfsidmap", "1", "uid:a"]);
    let failure = || io::Error::from_raw_os_error(kup_sys::errno::ENOMEM);
    let keyring = KeySerial::new(0x2a);
    // Before the mode is known: stderr and syslog, whatever the mode.
    assert_eq!(Error::NotRoot.sink(&clear), Sink::Log);
    assert_eq!(Error::MappingSetup.sink(&clear), Sink::Log);
    // -c, -u/-g/-r: stderr alone.
    let clear_failure = Error::ClearKeyring {
        keyring,
        error: failure(),
    };
    assert_eq!(clear_failure.sink(&clear), Sink::Stderr);
    assert_eq!(clear_failure.sink(&upcall), Sink::Log);
    assert_eq!(
        Error::KeyNotFound { name: b"x".to_vec() }.sink(&Mode::Invalidate {
            name: b"x".to_vec(),
            kinds: KeyKinds { uid: true, gid: true }
        }),
        Sink::Stderr
    );
    assert_eq!(
        clear_failure.lines(),
        [(
            Severity::Error,
            "keyctl_clear(0x2a) failed: Cannot allocate memory".to_owned()
        )]
    );
    // An unknown type: syslog alone, exit 0.
    let unknown = Error::UnknownType {
        type_field: b"foo".to_vec(),
    };
    assert_eq!(unknown.sink(&upcall), Sink::Syslog);
    assert_eq!(unknown.exit_code(), 0);
    // A refused first instantiation: no line at all, exit 1.
    let silent = Error::InstantiateId(failure());
    assert!(silent.lines().is_empty());
    assert_eq!(silent.exit_code(), 1);
    // The argument count: two warnings.
    let count = Error::BadArgCount {
        usage: usage(b"nfsidmap"),
    };
    assert_eq!(
        count.lines(),
        [
            (
                Severity::Warning,
                "Bad arg count. Check /etc/request-key.conf".to_owned()
            ),
            (Severity::Warning, usage(b"nfsidmap")),
        ]
    );
    assert_eq!(
        Error::Malformed(Malformed::NullValue).lines(),
        [(Severity::Error, "Error: Null uid/gid value.".to_owned())]
    );
}
