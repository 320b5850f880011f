//! Compliance of the non-upcall modes (`-h`, bad options, `-d`, `-l`, `-c`, `-u/-g/-r`, the
//! root check, the argument count): stdout, stderr and exit code of ours and Debian's nfsidmap
//! (`KUP_UNDER_TEST=ours|theirs`), run directly with argv[0] `nfsidmap`. The `-u/-g/-r` cases
//! invalidate real `user` keys named like `id_resolver` keys (the modes scan `/proc/keys`, whatever
//! the key type). `.id_resolver` itself only exists in the QEMU guest (nfsv4 module), so `-l`
//! and `-c` are checked here only for "keyring absent".

#[path = "support/system.rs"]
mod system;

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::Command;

use kup_sys::{KeySerial, keyctl};
use kup_testkit::reference::{self, Tool};

use system::ConfigLock;

const USAGE: &str =
    "nfsidmap: Usage: nfsidmap [-vh] [-c || [-u|-g|-r key] || -d || -l || [-t timeout] key desc]\n";

struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

fn tool() -> PathBuf {
    reference::tool_path(Tool::Nfsidmap).expect("nfsidmap under test")
}

fn run_as(args: &[&str], uid: Option<u32>) -> Run {
    let mut command = Command::new(tool());
    command.arg0("nfsidmap").args(args);
    if let Some(uid) = uid {
        command.uid(uid).gid(uid);
    }
    let output = command.output().expect("running nfsidmap");
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().unwrap_or(-1),
    }
}

fn run(args: &[&str]) -> Run {
    run_as(args, None)
}

fn assert_run(args: &[&str], stdout: &str, stderr: &str, code: i32) {
    let result = run(args);
    assert_eq!(
        (result.stdout.as_str(), result.stderr.as_str(), result.code),
        (stdout, stderr, code),
        "nfsidmap {args:?}"
    );
}

fn with_config<T>(text: &str, body: impl FnOnce() -> T) -> T {
    let lock = ConfigLock::acquire().expect("taking /etc/idmapd.conf");
    lock.write(text).expect("writing /etc/idmapd.conf");
    body()
}

#[test]
fn help_prints_the_usage_line_on_stderr_and_exits_zero() {
    with_config("[General]\nDomain = d.test\n", || {
        assert_run(&["-h"], "", USAGE, 0);
        assert_run(&["-d", "-h"], "", USAGE, 0);
    });
}

#[test]
fn unknown_option_prints_getopts_message_and_usage_and_exits_one() {
    with_config("[General]\nDomain = d.test\n", || {
        assert_run(
            &["-x"],
            "",
            &format!("nfsidmap: invalid option -- 'x'\n{USAGE}"),
            1,
        );
        assert_run(
            &["-u"],
            "",
            &format!("nfsidmap: option requires an argument -- 'u'\n{USAGE}"),
            1,
        );
        assert_run(
            &["-x", "-h"],
            "",
            &format!("nfsidmap: invalid option -- 'x'\n{USAGE}"),
            1,
        );
    });
}

#[test]
fn domain_mode_prints_the_configured_domain() {
    with_config("[General]\nDomain = Example.COM\n", || {
        assert_run(&["-d"], "Example.COM\n", "", 0);
    });
    with_config("[General]\nDomain = d.test\n", || {
        assert_run(&["-c", "-l", "-d"], "d.test\n", "", 0);
    });
}

#[test]
fn domain_mode_falls_back_to_localdomain_on_a_dotless_host() {
    with_config("[General]\n", || {
        let result = run(&["-d"]);
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        assert!(
            !host.trim().contains('.'),
            "this case needs a host name without a dot"
        );
        assert_eq!((result.stdout.as_str(), result.code), ("localdomain\n", 0));
    });
}

#[test]
fn domain_mode_reports_an_unusable_method_list() {
    with_config(
        "[General]\nDomain = d.test\n[Translation]\nMethod = nosuch\n",
        || {
            assert_run(
                &["-d"],
                "",
                "nfsidmap: Unable to create name to user id mappings.\n",
                1,
            );
        },
    );
}

#[test]
fn domain_longer_than_the_domain_buffer_fails_domain_mode() {
    with_config(&format!("[General]\nDomain = {}\n", "d".repeat(600)), || {
        let result = run(&["-d"]);
        assert_eq!((result.stdout.as_str(), result.code), ("", 1));
        assert!(
            result
                .stderr
                .starts_with("nfsidmap: nfs4_get_default_domain failed: "),
            "{}",
            result.stderr
        );
    });
}

#[test]
fn config_parser_warnings_reach_stderr_with_an_empty_program_name() {
    with_config("Domain = x.dom\n[General]\nDomain = w.test\n", || {
        let result = run(&["-d"]);
        assert_eq!((result.stdout.as_str(), result.code), ("w.test\n", 0));
        assert!(
            result
                .stderr
                .starts_with(": config error at /etc/idmapd.conf:1: ignoring line not in a section\n"),
            "{}",
            result.stderr
        );
    });
}

#[test]
fn list_without_the_keyring_is_an_error() {
    with_config("[General]\nDomain = d.test\n", || {
        assert_run(
            &["-l"],
            "",
            "nfsidmap: '.id_resolver' keyring was not found.\n",
            1,
        );
    });
}

#[test]
fn clear_without_the_keyring_succeeds_quietly_unless_verbose() {
    with_config("[General]\nDomain = d.test\n", || {
        assert_run(&["-c"], "", "", 0);
        assert_run(
            &["-v", "-c"],
            "",
            "nfsidmap: '.id_resolver' keyring was not found.\n",
            0,
        );
    });
}

#[test]
fn invalidating_a_name_without_keys_is_an_error() {
    with_config("[General]\nDomain = d.test\n", || {
        assert_run(
            &["-u", "kup-no-such-name"],
            "",
            "nfsidmap: 'kup-no-such-name' key was not found.\n",
            1,
        );
        assert_run(
            &["-g", "kup-no-such-name"],
            "",
            "nfsidmap: 'kup-no-such-name' key was not found.\n",
            1,
        );
        assert_run(
            &["-r", "kup-no-such-name"],
            "",
            "nfsidmap: 'kup-no-such-name' key was not found.\n",
            1,
        );
    });
}

fn add_key(description: &str) -> KeySerial {
    keyctl::add_key("user", description.as_bytes(), b"1\0", KeySerial::SESSION_KEYRING).expect("add_key")
}

/// Whether the key is invalidated, waiting (up to 2 s) for the kernel's garbage collector to
/// drop it from `/proc/keys`, where a later scan would otherwise still see it.
fn is_gone(key: KeySerial) -> bool {
    if keyctl::describe_raw(key).is_ok() {
        return false;
    }
    for _ in 0..200 {
        if kup_sys::proc_keys::find(key).is_ok_and(|line| line.is_none()) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

#[test]
fn invalidation_removes_the_first_matching_key_of_each_kind_by_prefix() {
    with_config("[General]\nDomain = d.test\n", || {
        keyctl::join_session_keyring(None).expect("session keyring");
        let name = format!("kupinv{}", std::process::id());
        let uid_key = add_key(&format!("uid:{name}a@d.test"));
        let gid_key = add_key(&format!("gid:{name}a@d.test"));
        let user_key = add_key(&format!("user:{name}"));
        assert_run(&["-u", &name], "", "", 0);
        assert!(is_gone(uid_key), "uid key invalidated");
        assert!(!is_gone(gid_key), "gid key kept by -u");
        assert_run(
            &["-u", &name],
            "",
            &format!("nfsidmap: '{name}' key was not found.\n"),
            1,
        );
        let uid_key = add_key(&format!("uid:{name}b@d.test"));
        assert_run(
            &["-r", &format!("{name}b")],
            "",
            &format!("nfsidmap: '{name}b' key was not found.\n"),
            1,
        );
        assert!(
            is_gone(uid_key),
            "-r invalidates the uid key before failing on the gid one"
        );
        let uid_key = add_key(&format!("uid:{name}c@d.test"));
        assert_run(&["-r", &name], "", "", 0);
        assert!(
            is_gone(uid_key) && is_gone(gid_key),
            "-r invalidates one key of each kind"
        );
        assert!(!is_gone(user_key), "user: keys are never matched");
    });
}

#[test]
fn verbose_invalidation_shows_the_proc_keys_line() {
    with_config("[General]\nDomain = d.test\n", || {
        keyctl::join_session_keyring(None).expect("session keyring");
        let name = format!("kupverb{}", std::process::id());
        let key = add_key(&format!("gid:{name}@d.test"));
        let result = run(&["-v", "-g", &name]);
        assert_eq!(result.code, 0);
        let line = format!("{:08x}", key.get());
        assert!(
            result
                .stderr
                .starts_with(&format!("nfsidmap: invalidating '{line} ")),
            "{}",
            result.stderr
        );
        assert!(
            result.stderr.ends_with(&format!("gid:{name}@d.test: 2'\n")),
            "{}",
            result.stderr
        );
    });
}

#[test]
fn every_mode_refuses_a_non_root_caller() {
    with_config("[General]\nDomain = d.test\n", || {
        for args in [&["-d"][..], &["-l"], &["-c"], &["-u", "x"], &["1", "uid:x"]] {
            let result = run_as(args, Some(65534));
            assert_eq!(
                (result.stdout.as_str(), result.stderr.as_str(), result.code),
                ("", "nfsidmap: Must be run as root.\n", 1),
                "{args:?}"
            );
        }
        let result = run_as(&["-h"], Some(65534));
        assert_eq!((result.stderr.as_str(), result.code), (USAGE, 0));
    });
}

#[test]
fn wrong_argument_count_is_silent_on_stderr_unless_verbose() {
    with_config("[General]\nDomain = d.test\n", || {
        assert_run(&[], "", "", 1);
        assert_run(&["a", "b", "c"], "", "", 1);
        assert_run(
            &["-v", "1"],
            "",
            &format!("nfsidmap: Bad arg count. Check /etc/request-key.conf\n{USAGE}"),
            1,
        );
    });
}

#[test]
fn null_value_upcall_run_by_hand_fails_quietly() {
    with_config("[General]\nDomain = d.test\n", || {
        assert_run(&["1", "uid:"], "", "", 1);
        assert_run(
            &["-v", "1", "uid:"],
            "",
            "nfsidmap: Error: Null uid/gid value.\n",
            1,
        );
    });
}
