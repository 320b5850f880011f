//! Differential test: the same configuration files loaded by this crate and by Debian's
//! `/usr/sbin/gssproxy` 0.9.1. The reference's observable outcome is whether it starts and which
//! service sockets it creates; ours is whether `load` + `resolve` succeed and which sockets the
//! services name. They must agree, except for the recorded divergences
//! (docs/compat/gssproxy.md), where both outcomes are asserted.
//!
//! The reference runs in the foreground (`-i`) with private `-c`/`-C`/`-s` paths inside a
//! private mount namespace with a tmpfs on `/run` (it writes `/run/gssproxy.pid` even with
//! `-i`), killed after at most 4 s; no case sets `kernel_nfsd`. Needs root (for the namespace).

// The crate is pure (clippy.toml bars file and process calls); this test is not: it writes each
// case's files and runs Debian's gssproxy on them.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use kup_gpconf::{Source, is_snippet_name, load};

const GSSPROXY: &str = "/usr/sbin/gssproxy";

/// What an implementation did with a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    /// Refused to start.
    Fails,
    /// Started, with these service sockets (file names, the default socket excluded).
    Serves(BTreeSet<String>),
}

fn serves(names: &[&str]) -> Outcome {
    Outcome::Serves(names.iter().map(|n| (*n).to_owned()).collect())
}

struct Case {
    name: &'static str,
    main: &'static [u8],
    snippets: &'static [(&'static str, &'static [u8])],
    ours: Outcome,
    /// `None`: the same as ours; `Some`: a recorded divergence.
    theirs: Option<Outcome>,
}

/// A scratch directory removed on every exit path.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `@D@` in a file becomes the case's socket directory.
fn expand(text: &[u8], dir: &Path) -> Vec<u8> {
    let dir = dir.to_str().unwrap().as_bytes();
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.windows(3).position(|w| w == b"@D@") {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(dir);
        rest = &rest[at + 3..];
    }
    out.extend_from_slice(rest);
    out
}

fn user_id(name: &str) -> Option<u32> {
    let passwd = fs::read_to_string("/etc/passwd").unwrap();
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name).then_some(())?;
        fields.nth(1)?.parse().ok()
    })
}

fn ours(main: &Path, dir: &Path) -> Outcome {
    let main_bytes = fs::read(main).unwrap();
    let mut snippets = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if is_snippet_name(&entry.file_name()) && entry.path().metadata().unwrap().is_file() {
            snippets.push((entry.path(), fs::read(entry.path()).unwrap()));
        }
    }
    let sources: Vec<Source<'_>> = snippets
        .iter()
        .map(|(path, contents)| Source { path, contents })
        .collect();
    let main_source = Source {
        path: main,
        contents: &main_bytes,
    };
    match load(main_source, &sources).and_then(|loaded| loaded.config.resolve(user_id)) {
        Err(_) => Outcome::Fails,
        Ok(resolved) => Outcome::Serves(
            resolved
                .services
                .iter()
                .filter_map(|s| s.service.socket.as_ref())
                .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
                .collect(),
        ),
    }
}

fn sockets(run: &Path) -> BTreeSet<String> {
    fs::read_dir(run)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "default.sock")
        .collect()
}

fn theirs(main: &Path, dir: &Path, run: &Path, expect: &Outcome) -> Outcome {
    let script = format!(
        "mount -t tmpfs tmpfs /run && exec {GSSPROXY} -i -c '{}' -C '{}' -s '{}/default.sock'",
        main.display(),
        dir.display(),
        run.display()
    );
    // unshare and sh exec, so the child is gssproxy itself: the guard's kill reaches it.
    let mut child = Reference(
        Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let child = &mut child.0;
    let wanted = match expect {
        Outcome::Serves(names) => Some(names.clone()),
        Outcome::Fails => None,
    };
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(1), "the reference ended with {status}");
            return Outcome::Fails;
        }
        let ready =
            run.join("default.sock").exists() && wanted.as_ref().is_none_or(|w| w.is_subset(&sockets(run)));
        if ready && started.elapsed() > Duration::from_millis(300)
            || started.elapsed() > Duration::from_secs(4)
        {
            sleep(Duration::from_millis(300));
            if let Some(status) = child.try_wait().unwrap() {
                assert_eq!(status.code(), Some(1), "the reference ended with {status}");
                return Outcome::Fails;
            }
            return Outcome::Serves(sockets(run));
        }
        sleep(Duration::from_millis(20));
    }
}

/// The running reference, killed and reaped on every exit path (a failed assertion included).
struct Reference(Child);

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_case(case: &Case, index: usize) {
    let root = std::env::temp_dir().join(format!("kup-gpconf-ref-{}-{index}", std::process::id()));
    let _scratch = Scratch(root.clone());
    let (dir, run) = (root.join("conf.d"), root.join("run"));
    fs::create_dir_all(&dir).unwrap();
    fs::create_dir_all(&run).unwrap();
    let main = root.join("gssproxy.conf");
    fs::write(&main, expand(case.main, &run)).unwrap();
    for (name, text) in case.snippets {
        fs::write(dir.join(name), expand(text, &run)).unwrap();
    }
    let got_ours = ours(&main, &dir);
    assert_eq!(got_ours, case.ours, "{}: ours", case.name);
    let expected_theirs = case.theirs.clone().unwrap_or_else(|| case.ours.clone());
    let got_theirs = theirs(&main, &dir, &run, &expected_theirs);
    assert_eq!(got_theirs, expected_theirs, "{}: theirs", case.name);
}

const A: &[u8] = b"[service/a]\nmechs = krb5\neuid = 0\nsocket = @D@/a.sock\n";

#[allow(clippy::too_many_lines)] // one entry per case
fn cases() -> Vec<Case> {
    let fails = || Outcome::Fails;
    vec![
        Case {
            name: "Debian's defaults (NFS server socket moved, no kernel_nfsd)",
            main: b"[gssproxy]\n",
            snippets: &[(
                "24-nfs-server.conf",
                b"[service/nfs-server]\n  mechs = krb5\n  socket = @D@/gssproxy.sock\n  cred_store = keytab:/etc/krb5.keytab\n  trusted = yes\n  euid = 0\n",
            )],
            ours: serves(&["gssproxy.sock"]),
            theirs: None,
        },
        Case {
            name: "indented comment in the main file (divergence)",
            main: b"[service/a]\n  # a comment\nmechs = krb5\neuid = 0\nsocket = @D@/a.sock\n",
            snippets: &[],
            ours: serves(&["a.sock"]),
            theirs: Some(fails()),
        },
        Case {
            name: "indented comment in a snippet (divergence)",
            main: A,
            snippets: &[("10-b.conf", b"[service/b]\n\t; note\nmechs = krb5\neuid = 1\nsocket = @D@/b.sock\n")],
            ours: serves(&["a.sock", "b.sock"]),
            theirs: Some(serves(&["a.sock"])),
        },
        Case {
            name: "mechs as a list (divergence)",
            main: b"[service/a]\nmechs = krb5, other\neuid = 0\nsocket = @D@/a.sock\n[service/b]\nmechs = krb5\neuid = 1\nsocket = @D@/b.sock\n",
            snippets: &[],
            ours: serves(&["a.sock", "b.sock"]),
            theirs: Some(serves(&["b.sock"])),
        },
        Case {
            name: "mechs with an inline comment (follows from the mechs divergence)",
            main: b"[service/a]\nmechs = krb5 # x\neuid = 0\nsocket = @D@/a.sock\n[service/b]\nmechs = krb5\neuid = 1\nsocket = @D@/b.sock\n",
            snippets: &[],
            ours: serves(&["a.sock", "b.sock"]),
            theirs: Some(serves(&["b.sock"])),
        },
        Case {
            name: "unknown mechs drop the service",
            main: b"[service/a]\nmechs = KRB5\neuid = 0\nsocket = @D@/a.sock\n[service/b]\nmechs = krb5\neuid = 1\nsocket = @D@/b.sock\n[service/c]\nmechs =\neuid = 2\nsocket = @D@/c.sock\n",
            snippets: &[],
            ours: serves(&["b.sock"]),
            theirs: None,
        },
        Case {
            name: "no service left",
            main: b"[gssproxy]\n[SERVICE/a]\nmechs = krb5\neuid = 0\nsocket = @D@/a.sock\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
        Case {
            name: "unknown euid user",
            main: b"[service/a]\nmechs = krb5\neuid = nosuchuser\nsocket = @D@/a.sock\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
        Case {
            name: "unknown euid user in a service dropped for its mechs",
            main: b"[service/a]\nmechs = foo\neuid = nosuchuser\n[service/b]\nmechs = krb5\neuid = 1\nsocket = @D@/b.sock\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
        Case {
            name: "lenient euid and min_lifetime, booleans, case-insensitive keys",
            main: b"[GSSPROXY]\nWorker Threads = 0\n[service/a]\nMECHS = krb5\neuid = 0x21\nmin_lifetime = -5\ntrusted = maybe\nsocket = @D@/a.sock\n[service/b]\nmechs = krb5\neuid = 12abc\nsocket = @D@/b.sock\nunknown = 1\n",
            snippets: &[],
            ours: serves(&["a.sock", "b.sock"]),
            theirs: None,
        },
        Case {
            name: "same socket and uid by number and by name",
            main: b"[service/a]\nmechs = krb5\neuid = 0\nsocket = @D@/a.sock\n[service/b]\nmechs = krb5\neuid = root\nsocket = @D@/a.sock\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
        Case {
            name: "an earlier allow_any_uid service shadows a later one",
            main: b"[service/a]\nmechs = krb5\neuid = 0\nallow_any_uid = yes\nsocket = @D@/a.sock\n[service/b]\nmechs = krb5\neuid = 1\nsocket = @D@/a.sock\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
        Case {
            name: "a later allow_any_uid service is a fallback",
            main: b"[service/b]\nmechs = krb5\neuid = 1\nsocket = @D@/a.sock\n[service/a]\nmechs = krb5\neuid = 0\nallow_any_uid = yes\nsocket = @D@/a.sock\n",
            snippets: &[],
            ours: serves(&["a.sock"]),
            theirs: None,
        },
        Case {
            name: "relative program",
            main: b"[service/a]\nmechs = krb5\neuid = 0\nprogram = usr/sbin/x\nsocket = @D@/a.sock\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
        Case {
            name: "program with a bar",
            main: b"[service/a]\nmechs = krb5\neuid = 0\nprogram = /usr/sbin/a|b\nsocket = @D@/a.sock\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
        Case {
            name: "bad cred_usage",
            main: b"[service/a]\nmechs = krb5\neuid = 0\ncred_usage = sometimes\nsocket = @D@/a.sock\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
        Case {
            name: "cred_store without a colon",
            main: b"[service/a]\nmechs = krb5\neuid = 0\ncred_store = keytab\nsocket = @D@/a.sock\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
        Case {
            name: "obsolete krb5_keytab",
            main: b"[service/a]\nmechs = krb5\neuid = 0\nkrb5_keytab =\nsocket = @D@/a.sock\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
        Case {
            name: "debug_level not a number",
            main: b"[gssproxy]\ndebug_level = abc\n[service/a]\nmechs = krb5\neuid = 0\nsocket = @D@/a.sock\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
        Case {
            name: "worker threads not a number",
            main: b"[gssproxy]\nworker threads = abc\n[service/a]\nmechs = krb5\neuid = 0\nsocket = @D@/a.sock\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
        Case {
            name: "selinux contexts",
            main: b"[service/a]\nmechs = krb5\neuid = 0\nselinux_context = ::c\nsocket = @D@/a.sock\n[service/b]\nmechs = krb5\neuid = 0\nselinux_context = a:b\nsocket = @D@/b.sock\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
        Case {
            name: "snippets: names, order, errors, foreign and duplicate sections",
            main: A,
            snippets: &[
                ("a.conf", b"[service/n1]\nmechs = krb5\neuid = 5\nsocket = @D@/n1.sock\n"),
                ("1-a.conf", b"[service/n2]\nmechs = krb5\neuid = 5\nsocket = @D@/n2.sock\n"),
                ("50-.conf", b"[service/n3]\nmechs = krb5\neuid = 5\nsocket = @D@/n3.sock\n"),
                ("50-a.conf~", b"[service/n4]\nmechs = krb5\neuid = 5\nsocket = @D@/n4.sock\n"),
                ("50-a.CONF", b"[service/n5]\nmechs = krb5\neuid = 5\nsocket = @D@/n5.sock\n"),
                ("10-broken.conf", b"[service/n6]\nmechs = krb5\neuid = 6\nsocket = @D@/n6.sock\nno equal\n"),
                ("11-foreign.conf", b"[service/n7]\nmechs = krb5\neuid = 7\nsocket = @D@/n7.sock\n[other]\n"),
                ("12-default.conf", b"k = v\n[service/n8]\nmechs = krb5\neuid = 8\nsocket = @D@/n8.sock\n"),
                ("13-dup.conf", b"[service/A]\nmechs = krb5\neuid = 9\nsocket = @D@/dup.sock\n[service/y]\nmechs = krb5\neuid = 9\nsocket = @D@/y.sock\n"),
                ("14-utf8.conf", b"[service/n10]\nmechs = krb5\neuid = 10\nsocket = @D@/n10\xff.sock\n"),
                ("20-crlf.conf", b"\xef\xbb\xbf[ service/z ]\r\nmechs =\tkrb5\r\neuid = 11\r\nsocket = @D@/z.sock\r\n"),
            ],
            ours: serves(&["a.sock", "y.sock", "z.sock"]),
            theirs: None,
        },
        Case {
            name: "a repeated section in one file merges, the first value wins",
            main: b"[service/a]\nmechs = krb5\neuid = 0\nsocket = @D@/a.sock\n[gssproxy]\n[SERVICE/A]\nsocket = @D@/second.sock\neuid = 1\n",
            snippets: &[],
            ours: serves(&["a.sock"]),
            theirs: None,
        },
        Case {
            name: "snippets merge in byte order: the first of a duplicate wins",
            main: b"[gssproxy]\n",
            snippets: &[
                ("50-b.conf", b"[service/q]\nmechs = krb5\neuid = 0\nsocket = @D@/lower.sock\n"),
                ("50-B.conf", b"[service/q]\nmechs = krb5\neuid = 0\nsocket = @D@/upper.sock\n"),
                ("50-_.conf", b"[service/q]\nmechs = krb5\neuid = 0\nsocket = @D@/underscore.sock\n"),
            ],
            ours: serves(&["upper.sock"]),
            theirs: None,
        },
        Case {
            name: "a lone */ does not close a block comment",
            main: b"/* a\n*/\n[service/a]\nmechs = krb5\neuid = 0\nsocket = @D@/a.sock\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
        Case {
            name: "block and line comments, NUL cuts a line",
            main: b"/* a\n */\n// c\n[service/a]\nmechs = krb5\0junk\n\0x\neuid = 0\nsocket = @D@/a.sock\n",
            snippets: &[],
            ours: serves(&["a.sock"]),
            theirs: None,
        },
        Case {
            name: "invalid UTF-8 in the main file",
            main: b"[service/a]\nmechs = krb5\neuid = 0\nsocket = @D@/a\xff.sock\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
        Case {
            name: "an indented section line",
            main: b"[service/a]\nmechs = krb5\neuid = 0\nsocket = @D@/a.sock\n  [service/b]\n",
            snippets: &[],
            ours: fails(),
            theirs: None,
        },
    ]
}

#[test]
fn our_loader_agrees_with_debians_gssproxy() {
    assert!(
        Path::new(GSSPROXY).exists(),
        "{GSSPROXY} is missing: run scripts/deps (package gssproxy)"
    );
    for (index, case) in cases().iter().enumerate() {
        run_case(case, index);
    }
}

/// The debug level Debian's gssproxy takes from a configuration: the last `Debug Level changed
/// to N` it prints on stderr once started (0 when it prints none).
fn their_debug_level(main: &Path, dir: &Path, run: &Path) -> i32 {
    let script = format!(
        "mount -t tmpfs tmpfs /run && exec {GSSPROXY} -i -c '{}' -C '{}' -s '{}/default.sock'",
        main.display(),
        dir.display(),
        run.display()
    );
    let mut child = Reference(
        Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while !run.join("default.sock").exists() && started.elapsed() < Duration::from_secs(4) {
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the reference did not start"
        );
        sleep(Duration::from_millis(20));
    }
    sleep(Duration::from_millis(200));
    let _ = child.0.kill();
    let output = child.0.stderr.take();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut output.unwrap(), &mut text).unwrap();
    text.lines()
        .filter_map(|line| line.split("Debug Level changed to ").nth(1))
        .next_back()
        .map_or(0, |level| level.trim().parse().unwrap())
}

#[test]
fn the_debug_level_agrees_with_debians_gssproxy() {
    const SERVICE: &[u8] = b"[service/a]\nmechs = krb5\neuid = 0\nsocket = @D@/a.sock\n";
    let cases: [(&str, &[u8], &[u8], i32); 6] = [
        ("no [gssproxy]", b"", b"", 0),
        ("debug in the main file", b"[gssproxy]\ndebug = yes\n", b"", 1),
        (
            "debug_level with trailing text",
            b"[gssproxy]\ndebug_level = 2x\n",
            b"",
            2,
        ),
        (
            "debug_level 0 overrides debug",
            b"[gssproxy]\ndebug = on\ndebug_level = 0\n",
            b"",
            0,
        ),
        (
            "a snippet's [gssproxy] is used when the main file has none",
            b"",
            b"[gssproxy]\ndebug = yes\n",
            1,
        ),
        (
            "a snippet's [gssproxy] is shadowed by the main file's",
            b"[gssproxy]\n",
            b"[gssproxy]\ndebug = yes\n",
            0,
        ),
    ];
    for (index, (name, global, snippet, expected)) in cases.into_iter().enumerate() {
        let root = std::env::temp_dir().join(format!("kup-gpconf-debug-{}-{index}", std::process::id()));
        let _scratch = Scratch(root.clone());
        let (dir, run) = (root.join("conf.d"), root.join("run"));
        fs::create_dir_all(&dir).unwrap();
        fs::create_dir_all(&run).unwrap();
        let main = root.join("gssproxy.conf");
        fs::write(&main, [global, &expand(SERVICE, &run)].concat()).unwrap();
        if !snippet.is_empty() {
            fs::write(dir.join("10-global.conf"), snippet).unwrap();
        }
        let snippets = [Source {
            path: &dir.join("10-global.conf"),
            contents: snippet,
        }];
        let main_bytes = fs::read(&main).unwrap();
        let loaded = load(
            Source {
                path: &main,
                contents: &main_bytes,
            },
            if snippet.is_empty() { &[] } else { &snippets },
        )
        .unwrap();
        assert_eq!(loaded.config.global.debug_level, expected, "{name}: ours");
        assert_eq!(their_debug_level(&main, &dir, &run), expected, "{name}: theirs");
    }
}
