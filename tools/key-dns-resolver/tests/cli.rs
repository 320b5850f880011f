//! Both binaries side by side, without the kernel: Debian's `/sbin/key.dns_resolver` and ours get
//! the same arguments (through symlinks with the same name, so getopt's messages carry the same
//! `argv[0]`) under a pseudo-terminal (`script`), where the reference prints its errors and `-D`
//! dump instead of logging them; combined output and exit status must be equal.
//!
//! Covers the config syntax table (through `--dump-config`), option errors, operand counts and
//! `-D` runs on `/etc/hosts` names (`localhost` only: no DNS traffic leaves the machine).

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use kup_testkit::reference::{self, Tool};

/// A directory holding `theirs/key.dns_resolver` and `ours/key.dns_resolver` symlinks plus the
/// config files of the cases.
struct Bench {
    dir: PathBuf,
}

impl Bench {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kup-dns-cli.{}.{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for (side, target) in [
            ("theirs", reference::theirs(Tool::KeyDnsResolver).unwrap()),
            ("ours", reference::ours(Tool::KeyDnsResolver).unwrap()),
        ] {
            fs::create_dir_all(dir.join(side)).unwrap();
            std::os::unix::fs::symlink(target, dir.join(side).join("key.dns_resolver")).unwrap();
        }
        Self { dir }
    }

    fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        fs::write(&path, contents).unwrap();
        path
    }

    /// Runs `./key.dns_resolver <args>` in `side`'s directory under a pty; returns the output
    /// (CRLF normalised) and the exit status.
    fn run(&self, side: &str, args: &[&str]) -> (String, i32) {
        let quoted: Vec<String> = args
            .iter()
            .map(|arg| format!("'{}'", arg.replace('\'', "'\\''")))
            .collect();
        let command = format!("./key.dns_resolver {}", quoted.join(" "));
        let output = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(self.dir.join(side))
            .env("SHELL", "/bin/sh")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n");
        (text, output.status.code().unwrap_or(-1))
    }

    /// Both sides must print the same and exit the same; returns that for further checks.
    fn same(&self, args: &[&str]) -> (String, i32) {
        let theirs = self.run("theirs", args);
        let ours = self.run("ours", args);
        assert_eq!(ours, theirs, "arguments {args:?}");
        ours
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn dump_config_agrees_on_every_row_of_the_syntax_table() {
    let bench = Bench::new("syntax");
    let rows: &[&[u8]] = &[
        b"",
        b"default_ttl=60\n",
        b"default_ttl=\"60\"\n",
        b"default_ttl='60'\n",
        b"  default_ttl = 60   # c\n",
        b"default_ttl='6 0'\n",
        b"default_ttl=\"6\\ 0\"\n",
        b"default_ttl=0\n",
        b"default_ttl=-1\n",
        b"default_ttl=2147483647\n",
        b"default_ttl=2147483648\n",
        b"default_ttl=4294967297\n",
        b"default_ttl=-4294967295\n",
        b"default_ttl=99999999999999999999999\n",
        b"default_ttl=60x\n",
        b"default_ttl=+7\n",
        b"default_ttl= \" 7\"\n",
        b"default_ttl\n",
        b"default_ttl=\n",
        b"=5\n",
        b"default_ttl=\"9\"x\n",
        b"default_ttl=\"9\n",
        b"default_ttl=9\\\n",
        b"default_ttl=9\\x\n",
        b"default_ttl=x\n",
        b"default_ttl=\"\"\n",
        b"default_ttl=#\n",
        b"default_ttl=60#comment\n",
        b"default_ttl=5",
        b"default_ttl=8\n# last comment without newline",
        b"\n\n  \t\n# comment\n   # indented\n",
        b"unknown=1\ndefault_ttl=9\n",
        b"unknown\n",
        b"foo=1\ndefault_ttl=0\n",
        b"default_ttl=7\0junk\n",
        b"\0default_ttl=7\n",
        b"default_ttl=1\ndefault_ttl=2\n",
    ];
    for (index, row) in rows.iter().enumerate() {
        let path = bench.file(&format!("row{index}.conf"), row);
        bench.same(&["-c", path.to_str().unwrap(), "--dump-config"]);
    }
}

#[test]
fn dump_config_agrees_on_lines_longer_than_fgets_reads() {
    let bench = Bench::new("long");
    let long_value = format!("default_ttl=7{}\n", " ".repeat(5000));
    let long_comment = format!("#{}\ndefault_ttl=3\n", "x".repeat(5000));
    let exact = format!("default_ttl=7{}\n", " ".repeat(4094 - 14));
    let one_more = format!("default_ttl=7{}\n", " ".repeat(4094 - 13));
    for (index, text) in [long_value, long_comment, exact, one_more].iter().enumerate() {
        let path = bench.file(&format!("long{index}.conf"), text.as_bytes());
        bench.same(&["-c", path.to_str().unwrap(), "--dump-config"]);
    }
}

#[test]
fn config_file_problems_agree() {
    let bench = Bench::new("files");
    let missing = bench.dir.join("absent.conf");
    bench.same(&["-c", missing.to_str().unwrap(), "--dump-config"]);
    bench.same(&["-c", "/etc", "--dump-config"]);
    bench.same(&["--config", "/x", "--dump-config"]);
    let (output, status) = bench.same(&["--dump-config"]);
    assert_eq!(status, 0, "{output}");
}

#[test]
fn option_and_operand_errors_agree() {
    let bench = Bench::new("options");
    for args in [
        &["-x"][..],
        &["--foo"],
        &["--ver"],
        &["--d"],
        &["-c"],
        &["--dump-config=1"],
        &["--config=/x"],
        &[],
        &["1", "2"],
        &["-D", "localhost"],
        &["-D", "a", "b", "c"],
        &["-x", "-V"],
        &["-v", "-v", "-x"],
    ] {
        let (_, status) = bench.same(args);
        assert_eq!(status, 2, "{args:?}");
    }
}

#[test]
fn version_has_the_reference_shape_with_our_version() {
    let bench = Bench::new("version");
    let (theirs, theirs_status) = bench.run("theirs", &["-V", "-x"]);
    let (ours, ours_status) = bench.run("ours", &["-V", "-x"]);
    assert_eq!((theirs_status, ours_status), (0, 0));
    assert!(
        theirs.starts_with("version: 1.0 from keyutils-1.6.3 ("),
        "{theirs}"
    );
    assert!(ours.starts_with("version: 1.0 from kup-"), "{ours}");
    assert_eq!(bench.run("ours", &["--version"]).0, ours);
}

#[test]
fn debug_mode_runs_agree_on_hosts_file_names() {
    let bench = Bench::new("debug");
    let ttl = bench.file("ttl.conf", b"default_ttl=42\n");
    for args in [
        &["-D", "localhost", ""][..],
        &["-D", "-v", "localhost", "list"],
        &["-D", "-v", "a:localhost", "ipv4 list"],
        &["-D", "aaaa:localhost", ""],
        &["-D", "-v", "localhost", "ipv6"],
        &["-D", "srv:foo", ""],
        &["-D", "A:localhost", ""],
        &["-D", ":localhost", ""],
        &["-D", "localhost", "list,ipv4"],
        &["-D", "-v", "x;localhost", "list"],
        &["-D", "-c", ttl.to_str().unwrap(), "-v", "localhost", ""],
        &["-vD", "localhost", "bogus words ipv4=1"],
        // Address literals need no lookup; they check the address text against inet_ntop.
        &["-D", "192.0.2.5", ""],
        &["-D", "::1", "ipv6"],
        &["-D", "::1", ""],
        &["-D", "a:2001:db8::1", "list"],
        &["-D", "::ffff:1.2.3.4", "list"],
        &["-D", "::1.2.3.4", "ipv6"],
        &["-D", "2001:0:0:1:0:0:1:1", "ipv6"],
        &["-D", "fe80::1%1", "list"],
        &["-D", "aaaa:0:0:0:0:0:0:0:0", "ipv6 list"],
    ] {
        bench.same(args);
    }
}

#[test]
fn key_id_errors_agree_outside_the_kernel() {
    let bench = Bench::new("keyid");
    for key in ["", "12abc", "  ", "0x10"] {
        let (_, status) = bench.same(&[key]);
        assert_eq!(status, 1, "{key:?}");
    }
    // A well-formed id that is not a key under construction: describe fails.
    let (_, status) = bench.same(&["2147483000"]);
    assert_eq!(status, 1);
}

/// Differential replay: every input of the config fuzz corpus (`fuzz/dns/corpus/config`, grown
/// by the fuzzer) gets the same `--dump-config` verdict, message and exit status from both.
#[test]
fn the_config_fuzz_corpus_gets_the_same_verdict_from_both() {
    let bench = Bench::new("corpus");
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/dns/corpus/config");
    let mut entries: Vec<PathBuf> = fs::read_dir(&corpus)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no config corpus in {}", corpus.display());
    let path = bench.dir.join("fuzzed.conf");
    for entry in entries {
        fs::write(&path, fs::read(&entry).unwrap()).unwrap();
        let theirs = bench.run("theirs", &["-c", path.to_str().unwrap(), "--dump-config"]);
        let ours = bench.run("ours", &["-c", path.to_str().unwrap(), "--dump-config"]);
        assert_eq!(ours, theirs, "corpus input {}", entry.display());
    }
}
