//! Differential tests: `kup_runtime::cli` against the real glibc `getopt`, `getopt_long`,
//! `strtol`, `strtoul` and `atoi`.
//!
//! A small C driver (our own test code, below) is compiled with `cc` into Cargo's per-target
//! temporary directory on first use. For each case it runs the C function over the same argument
//! vector / string and prints a transcript; the Rust side prints the same transcript from
//! `kup_runtime::cli`, and the two must be byte-identical. getopt's stderr messages are part of
//! the transcript (the driver points stderr at its unbuffered stdout), so message texts are
//! compared exactly. Needs `cc` and the libc headers (Debian: `gcc`, `libc6-dev`); without them
//! the tests fail with a message saying so.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use kup_runtime::cli::{self, ArgKind, Flag, Ordering, Parser, Radix, Spec};

const DRIVER: &str = r#"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void hex(const char *s) {
    if (!s) { printf("(null)"); return; }
    printf("x");
    for (; *s; s++) printf("%02x", (unsigned char)*s);
}

/* GT_LONG: "name,has_arg,val;name,has_arg,val;..." */
static struct option *parse_long(const char *spec) {
    size_t n = 0, cap = 16;
    struct option *lo = calloc(cap + 1, sizeof *lo);
    char *copy = strdup(spec), *save = NULL;
    for (char *item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char *a = strchr(item, ','); *a++ = 0;
        char *b = strchr(a, ','); *b++ = 0;
        if (n == cap) { cap *= 2; lo = realloc(lo, (cap + 1) * sizeof *lo); }
        lo[n].name = item; lo[n].has_arg = atoi(a); lo[n].flag = NULL; lo[n].val = atoi(b);
        n++;
    }
    memset(&lo[n], 0, sizeof lo[n]);
    return lo;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    dup2(1, 2);
    const char *mode = getenv("GT_MODE");
    if (strcmp(mode, "num") == 0) {
        for (int i = 1; i < argc; i++) {
            static const int bases[] = {0, 10, 16, 8, 2, 36};
            for (size_t k = 0; k < sizeof bases / sizeof bases[0]; k++) {
                char *end;
                errno = 0;
                long v = strtol(argv[i], &end, bases[k]);
                int e1 = errno;
                long o1 = end - argv[i];
                errno = 0;
                unsigned long u = strtoul(argv[i], &end, bases[k]);
                int e2 = errno;
                long o2 = end - argv[i];
                printf("%d l %ld %ld %d u %lu %ld %d\n", bases[k], v, o1, e1 == ERANGE, u, o2, e2 == ERANGE);
            }
            printf("atoi %d atol %ld\n", atoi(argv[i]), atol(argv[i]));
        }
        return 0;
    }
    const char *shorts = getenv("GT_SHORT");
    int c;
    if (strcmp(mode, "long") == 0) {
        struct option *lo = parse_long(getenv("GT_LONG"));
        while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
            printf("R %d ", c); hex(optarg); printf("\n");
        }
    } else {
        while ((c = getopt(argc, argv, shorts)) != -1) {
            printf("R %d ", c); hex(optarg); printf("\n");
        }
    }
    for (; optind < argc; optind++) { printf("O "); hex(argv[optind]); printf("\n"); }
    return 0;
}
"#;

fn driver() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kup-cli-glibc");
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("driver.c");
        std::fs::write(&src, DRIVER).unwrap();
        // Built under a private name, then renamed: concurrent test runs never see half a file.
        let bin = dir.join("driver");
        let tmp = dir.join(format!("driver.{}.tmp", std::process::id()));
        let status = Command::new("cc")
            .arg("-O0")
            .arg("-o")
            .arg(&tmp)
            .arg(&src)
            .status()
            .unwrap_or_else(|e| {
                panic!("cannot run `cc` to build the glibc driver ({e}); install gcc and libc6-dev")
            });
        assert!(status.success(), "compiling the glibc driver failed");
        std::fs::rename(&tmp, &bin).unwrap();
        bin
    })
}

fn hex(s: Option<&OsStr>) -> String {
    match s {
        None => "(null)".to_owned(),
        Some(s) => {
            let mut out = String::from("x");
            for b in s.as_bytes() {
                write!(out, "{b:02x}").unwrap();
            }
            out
        }
    }
}

/// One parser configuration, written the way C would declare it.
struct Case {
    long: bool,
    shorts: &'static str,
    longs: &'static str,
    posixly_correct: bool,
}

impl Case {
    fn flags(&self) -> Vec<Flag<i32>> {
        let mut flags = Vec::new();
        let bytes = self.shorts.as_bytes();
        let mut i = 0;
        if bytes.first() == Some(&b'+') {
            i = 1;
        }
        while i < bytes.len() {
            let c = bytes[i];
            i += 1;
            let mut kind = ArgKind::None;
            if bytes.get(i) == Some(&b':') {
                i += 1;
                kind = ArgKind::Required;
                if bytes.get(i) == Some(&b':') {
                    i += 1;
                    kind = ArgKind::Optional;
                }
            }
            let mut f = Flag::new(i32::from(c)).short(c);
            f.short_arg = kind;
            flags.push(f);
        }
        for item in self.longs.split(';').filter(|s| !s.is_empty()) {
            let mut parts = item.split(',');
            let name: &'static str = Box::leak(parts.next().unwrap().to_owned().into_boxed_str());
            let kind = match parts.next().unwrap() {
                "0" => ArgKind::None,
                "1" => ArgKind::Required,
                _ => ArgKind::Optional,
            };
            let val: i32 = parts.next().unwrap().parse().unwrap();
            flags.push(Flag::new(val).long(name).long_arg(kind));
        }
        flags
    }

    fn ordering(&self) -> Ordering {
        if self.shorts.starts_with('+') || self.posixly_correct {
            Ordering::RequireOrder
        } else {
            Ordering::Permute
        }
    }

    fn glibc(&self, args: &[OsString]) -> String {
        let mut cmd = Command::new(driver());
        cmd.arg0("prog")
            .args(args)
            .env_clear()
            .env("GT_MODE", if self.long { "long" } else { "short" })
            .env("GT_SHORT", self.shorts)
            .env("GT_LONG", self.longs);
        if self.posixly_correct {
            cmd.env("POSIXLY_CORRECT", "1");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout.into_iter().flat_map(escape_high).collect()).unwrap()
    }

    fn ours(&self, args: &[OsString]) -> String {
        let flags = self.flags();
        let spec = if self.long {
            Spec::getopt_long(&flags)
        } else {
            Spec::getopt(&flags)
        }
        .with_ordering(self.ordering());
        let full = std::iter::once(OsString::from("prog")).chain(args.iter().cloned());
        let mut parser = Parser::new(spec, full);
        let mut out: Vec<u8> = Vec::new();
        for item in parser.by_ref() {
            match item {
                Ok(opt) => {
                    out.extend_from_slice(format!("R {} {}\n", opt.id, hex(opt.value.as_deref())).as_bytes());
                }
                Err(e) => {
                    out.extend_from_slice(&e.stderr_bytes(OsStr::new("prog")));
                    out.extend_from_slice(b"R 63 (null)\n");
                }
            }
        }
        for op in parser.operands() {
            out.extend_from_slice(format!("O {}\n", hex(Some(op))).as_bytes());
        }
        String::from_utf8(out.into_iter().flat_map(escape_high).collect()).unwrap()
    }

    fn check(&self, cases: &[&[&[u8]]]) {
        for args in cases {
            let args: Vec<OsString> = args.iter().map(|a| OsString::from_vec(a.to_vec())).collect();
            assert_eq!(
                self.ours(&args),
                self.glibc(&args),
                "argv {args:?} with optstring {:?}, longopts {:?}",
                self.shorts,
                self.longs
            );
        }
    }
}

use std::os::unix::process::CommandExt as _;

/// Keeps transcripts printable: bytes >= 0x80 become `\xNN`.
fn escape_high(b: u8) -> Vec<u8> {
    if b < 0x80 {
        vec![b]
    } else {
        format!("\\x{b:02x}").into_bytes()
    }
}

const CIFS_UPCALL: Case = Case {
    long: true,
    shorts: "cEk:K:ltve:",
    longs: "no-env-probe,0,69;krb5conf,1,107;keytab,1,75;legacy-uid,0,108;trust-dns,0,116;version,0,118;expire,1,101",
    posixly_correct: false,
};

#[test]
fn short_clusters_and_attached_or_separate_arguments_match_glibc() {
    CIFS_UPCALL.check(&[
        &[b"-vvc", b"file"],
        &[b"-cK", b"/etc/krb5.keytab", b"123"],
        &[b"-cK/etc/krb5.keytab", b"123"],
        &[b"-k/path", b"-K", b"-v"],
        &[b"-e", b"--"],
        &[b"-e"],
        &[b"-lte30"],
        &[b"-E", b"-e", b""],
    ]);
}

#[test]
fn long_options_with_equals_separate_argument_and_prefixes_match_glibc() {
    CIFS_UPCALL.check(&[
        &[b"--keytab=/path", b"--keytab", b"/other", b"7"],
        &[b"--keytab=", b"7"],
        &[b"--key", b"x", b"--krb", b"y", b"--exp=3"],
        &[b"--k", b"x"],
        &[b"--k=x"],
        &[b"--legacy-uid=1"],
        &[b"--leg=1"],
        &[b"--expire"],
        &[b"--keytab", b"--"],
        &[b"--nope=val", b"--nope"],
        &[b"--=x"],
        &[b"--="],
        &[b"---x"],
        &[b"--version", b"--trust", b"--no"],
    ]);
}

#[test]
fn errors_are_reported_and_parsing_resumes_like_glibc() {
    CIFS_UPCALL.check(&[
        &[b"-x", b"-v"],
        &[b"-vxv", b"op"],
        &[b"-:", b"-;"],
        &[b"-\xe9"],
        &[b"--bogus", b"-v", b"--leg", b"--bogus=\xff"],
        &[b"-h"],
        &[b"-k"],
    ]);
}

#[test]
fn permutation_double_dash_and_lone_dash_match_glibc() {
    CIFS_UPCALL.check(&[
        &[b"123", b"-v"],
        &[b"a", b"-v", b"b", b"--", b"-t", b"c"],
        &[b"-", b"-v", b"-"],
        &[b"--"],
        &[b"--", b"--"],
        &[b"", b"-l", b""],
        &[b"a", b"-K", b"b", b"c"],
        &[b"x\xff", b"-kv\xfe"],
        &[],
    ]);
}

#[test]
fn posix_order_from_a_plus_or_posixly_correct_stops_at_the_first_operand_like_glibc() {
    let plus = Case {
        shorts: "+cEk:K:ltve:",
        ..CIFS_UPCALL
    };
    let posix = Case {
        posixly_correct: true,
        ..CIFS_UPCALL
    };
    for case in [plus, posix] {
        case.check(&[
            &[b"123", b"-v"],
            &[b"-v", b"123", b"-l"],
            &[b"-v", b"--", b"-l"],
            &[b"-e", b"5", b"-", b"-l"],
            &[b"a", b"--", b"b"],
            &[b"-v", b"--", b"--", b"b"],
        ]);
    }
}

#[test]
fn plain_getopt_reads_double_dash_words_as_short_options_like_glibc() {
    let nfsidmap = Case {
        long: false,
        shorts: "hdu:g:r:ct:vl",
        longs: "",
        posixly_correct: false,
    };
    nfsidmap.check(&[
        &[b"--help"],
        &[b"--u", b"x"],
        &[b"-u", b"alice", b"key", b"desc", b"-v", b"-t600"],
        &[b"-t"],
        &[b"-vv", b"-t", b"-1", b"1", b"uid:root"],
        &[b"a", b"--", b"-h"],
    ]);
}

#[test]
fn optional_arguments_are_taken_only_when_attached_like_glibc() {
    let case = Case {
        long: true,
        shorts: "o::v",
        longs: "opt,2,111;verbose,0,118",
        posixly_correct: false,
    };
    case.check(&[
        &[b"-o", b"x"],
        &[b"-ox", b"-vo"],
        &[b"--opt", b"x"],
        &[b"--opt=x", b"--opt=", b"--o=y"],
        &[b"-vox"],
    ]);
}

#[test]
fn abbreviations_follow_glibc_ambiguity_rules_for_aliases_and_exact_matches() {
    let case = Case {
        long: true,
        shorts: "v",
        longs: "color,0,99;colour,0,99;colon,1,99;foo,0,1;foobar,0,2;foobaz,0,1;abc,0,1;abd,0,2;abe,0,1;dup,0,5;dup,1,6",
        posixly_correct: false,
    };
    case.check(&[
        &[b"--colo"],
        &[b"--colou"],
        &[b"--col=1"],
        &[b"--foo", b"--foob", b"--fooba"],
        &[b"--ab", b"--abe"],
        &[b"--dup", b"--du"],
        &[b"--f"],
        &[b"--a=1"],
    ]);
}

#[test]
fn key_dns_resolver_table_with_a_long_config_without_argument_matches_glibc() {
    let case = Case {
        long: true,
        shorts: "c:vDV",
        longs: "config,0,99;debug,0,68;dump-config,0,256;verbose,0,118;version,0,86",
        posixly_correct: false,
    };
    case.check(&[
        &[b"--config", b"x", b"-c", b"y"],
        &[b"--dump", b"--d"],
        &[b"--ver"],
        &[b"-vvD", b"desc", b"callout"],
        &[b"--config=x"],
    ]);
}

fn rust_numbers(input: &[u8]) -> String {
    let mut out = String::new();
    for base in [0, 10, 16, 8, 2, 36] {
        let radix = Radix::new(base).unwrap();
        let l = cli::strtol(input, radix);
        let u = cli::strtoul(input, radix);
        writeln!(
            out,
            "{base} l {} {} {} u {} {} {}",
            l.value,
            l.end,
            i32::from(l.overflow),
            u.value,
            u.end,
            i32::from(u.overflow)
        )
        .unwrap();
    }
    writeln!(out, "atoi {} atol {}", cli::atoi(input), cli::atol(input)).unwrap();
    out
}

#[test]
fn strtol_strtoul_atoi_and_atol_match_glibc_on_edge_cases() {
    let inputs: &[&[u8]] = &[
        b"0",
        b"",
        b"   ",
        b"  +",
        b"-",
        b"42",
        b" \t\n\x0b\x0c\r-12abc",
        b"+7",
        b"-0",
        b"0x",
        b"0X1f",
        b"0xg",
        b"-0x10",
        b"0x-1",
        b"010",
        b"08",
        b"0b101",
        b"zz",
        b"Zz9",
        b"600",
        b"4294967295",
        b"4294967296",
        b"-4294967296",
        b"2147483648",
        b"-2147483649",
        b"9223372036854775807",
        b"9223372036854775808",
        b"-9223372036854775808",
        b"-9223372036854775809",
        b"18446744073709551615",
        b"18446744073709551616",
        b"-18446744073709551615",
        b"-18446744073709551616",
        b"99999999999999999999",
        b"0xffffffffffffffff",
        b"0x10000000000000000",
        b"1 2",
        b"12\xff",
        b"\xa012",
        b"0777",
        b"-1",
    ];
    let mut cmd = Command::new(driver());
    cmd.env_clear().env("GT_MODE", "num");
    for input in inputs {
        cmd.arg(OsStr::from_bytes(input));
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    let glibc = String::from_utf8(out.stdout).unwrap();
    let mut glibc_blocks = glibc.split_inclusive('\n');
    for input in inputs {
        let expected: String = glibc_blocks.by_ref().take(7).collect();
        assert_eq!(
            rust_numbers(input),
            expected,
            "input {:?}",
            OsStr::from_bytes(input)
        );
    }
}
