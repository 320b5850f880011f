//! Unit tests of the command-line plan and the `/proc/keys` line rules.

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
            description: b"uid:a@b".to_vec()
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
                description: description.as_bytes().to_vec()
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
            description: b"-c".to_vec()
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
            description: b"uid:a".to_vec()
        }
    );
    assert_eq!(
        mode(&["nfsidmap", "12abc", "uid:a"]),
        Mode::Upcall {
            key: KeySerial::new(12),
            description: b"uid:a".to_vec()
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
