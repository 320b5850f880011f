//! `kup-bench`: per-upcall latency of each helper through the real kernel path.
//!
//! One round = `request_key(2)` from this thread → kernel → `/sbin/request-key` → harness
//! dispatcher → helper → instantiate → back, timed from the requester's side, then the key is
//! unlinked so the next round upcalls again. In every suite the subjects run interleaved, round
//! by round (floor, C original, ours, floor, ...), so machine noise hits all of them alike.
//! The floor is a helper that only instantiates a constant payload: what any helper costs at
//! least on this path. Results are printed as a Markdown table with ratios, and `--write FILE`
//! replaces the generated section of `docs/benchmarks.md`.
//!
//! Usage: `bench/run [--rounds N] [--write docs/benchmarks.md]` (root; release builds).

#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use kup_testkit::reference::{self, Tool};
use kup_testkit::upcall::Route;

/// The generated section of the benchmarks page that `kup-bench` itself measures.
const MAIN_SECTION: &str = "main";

/// One helper under measurement.
struct Subject {
    label: String,
    argv: Vec<OsString>,
    role: Role,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Floor,
    Reference,
    Ours,
}

/// A set of subjects answering the same kind of request.
struct Suite {
    title: &'static str,
    key_type: &'static str,
    description: &'static [u8],
    subjects: Vec<Subject>,
}

struct Stats {
    mean: Duration,
    median: Duration,
    p99: Duration,
    /// Median of the helper's own wall time (spawn to exit, as the dispatcher measured it),
    /// without the requester → kernel → request-key → dispatcher part of the round trip.
    helper_median: Option<Duration>,
    samples: usize,
    failures: usize,
}

fn main() -> io::Result<()> {
    let mut rounds = 300_usize;
    let mut write_to: Option<PathBuf> = None;
    let mut splice_stdin: Option<String> = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(argument) = args.next() {
        match argument.to_str() {
            Some("--rounds") => {
                rounds = args
                    .next()
                    .and_then(|value| value.to_str()?.parse().ok())
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "--rounds needs a number"))?;
            }
            Some("--write") => write_to = args.next().map(PathBuf::from),
            // Splice a table another benchmark printed (read from stdin) into its own section.
            Some("--splice") => splice_stdin = args.next().and_then(|name| name.into_string().ok()),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "usage: kup-bench [--rounds N] [--write FILE] | kup-bench --splice NAME --write FILE < table",
                ));
            }
        }
    }
    if let Some(name) = splice_stdin {
        let path = write_to
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "--splice needs --write FILE"))?;
        let table = io::read_to_string(io::stdin())?;
        return splice(&path, &name, &table);
    }
    let floor = reference::workspace_binary("kup-floor", "kup-floor")?;
    let suites = suites(&floor)?;
    let mut report = String::new();
    let _ = writeln!(
        report,
        "Measured {} on `{}`, kernel {}, {} rounds per subject, interleaved.\n",
        utc_now(),
        hostname(),
        kernel_release(),
        rounds
    );
    for suite in &suites {
        let stats = run_suite(suite, rounds)?;
        render(&mut report, suite, &stats);
    }
    io::stdout().lock().write_all(report.as_bytes())?;
    if let Some(path) = write_to {
        splice(&path, MAIN_SECTION, &report)?;
    }
    Ok(())
}

fn suites(floor: &std::path::Path) -> io::Result<Vec<Suite>> {
    let floor_subject = || Subject {
        label: "floor (constant payload)".to_owned(),
        argv: vec![floor.as_os_str().to_owned(), "%k".into()],
        role: Role::Floor,
    };
    let mut dns = Suite {
        title: "dns_resolver key for a name in /etc/hosts (`localhost`)",
        key_type: "dns_resolver",
        description: b"localhost",
        subjects: vec![
            floor_subject(),
            Subject {
                label: "Debian key.dns_resolver 1.6.3".to_owned(),
                argv: vec![
                    reference::theirs(Tool::KeyDnsResolver)?.into_os_string(),
                    "%k".into(),
                ],
                role: Role::Reference,
            },
        ],
    };
    if let Ok(ours) = reference::ours(Tool::KeyDnsResolver) {
        dns.subjects.push(Subject {
            label: "kup key.dns_resolver".to_owned(),
            argv: vec![ours.into_os_string(), "%k".into()],
            role: Role::Ours,
        });
    }
    let mut idmap = Suite {
        title: "id_resolver description on a `user` key (`uid:root@localdomain`)",
        key_type: "user",
        description: b"uid:root@localdomain",
        subjects: vec![
            floor_subject(),
            Subject {
                label: "Debian nfsidmap 2.6.2".to_owned(),
                argv: nfsidmap_argv(reference::theirs(Tool::Nfsidmap)?.into_os_string()),
                role: Role::Reference,
            },
        ],
    };
    if let Ok(ours) = reference::ours(Tool::Nfsidmap) {
        idmap.subjects.push(Subject {
            label: "kup nfsidmap".to_owned(),
            argv: nfsidmap_argv(ours.into_os_string()),
            role: Role::Ours,
        });
    }
    Ok(vec![dns, idmap])
}

fn nfsidmap_argv(program: OsString) -> Vec<OsString> {
    vec![program, "-t".into(), "600".into(), "%k".into(), "%d".into()]
}

fn run_suite(suite: &Suite, rounds: usize) -> io::Result<Vec<Stats>> {
    let route = Route::new(&suite.subjects[0].argv)?;
    let mut samples: Vec<Vec<Duration>> = suite
        .subjects
        .iter()
        .map(|_| Vec::with_capacity(rounds))
        .collect();
    let mut failures = vec![0_usize; suite.subjects.len()];
    let mut helper_samples: Vec<Vec<Duration>> = suite.subjects.iter().map(|_| Vec::new()).collect();
    // A few unmeasured rounds first: page cache, dispatcher, dynamic loader.
    for round in 0..rounds + 5 {
        for (index, subject) in suite.subjects.iter().enumerate() {
            route.set_argv(&subject.argv)?;
            let started = Instant::now();
            let result = route.request(suite.key_type, suite.description, b"");
            let elapsed = started.elapsed();
            route.clear()?;
            if round < 5 {
                continue;
            }
            match result {
                Ok(_) => samples[index].push(elapsed),
                Err(_) => failures[index] += 1,
            }
        }
    }
    // Every request upcalled once (the key was unlinked after each), in order, so upcall n
    // belongs to subject n % subjects; skip the helper column if that does not hold.
    let upcalls = route.upcalls()?;
    let subjects = suite.subjects.len();
    if upcalls.len() == (rounds + 5) * subjects {
        for (number, upcall) in upcalls.iter().enumerate().skip(5 * subjects) {
            helper_samples[number % subjects].push(upcall.duration);
        }
    }
    Ok(samples
        .into_iter()
        .zip(failures)
        .zip(helper_samples)
        .map(|((mut samples, failures), mut helper)| {
            helper.sort_unstable();
            let helper_median = helper.get(helper.len() / 2).copied();
            samples.sort_unstable();
            let count = u32::try_from(samples.len().max(1)).unwrap_or(u32::MAX);
            let total: Duration = samples.iter().sum();
            let at = |fraction_per_mille: usize| {
                samples
                    .get(samples.len().saturating_sub(1) * fraction_per_mille / 1000)
                    .copied()
                    .unwrap_or_default()
            };
            Stats {
                mean: total / count,
                median: at(500),
                p99: at(990),
                helper_median,
                samples: samples.len(),
                failures,
            }
        })
        .collect())
}

fn render(report: &mut String, suite: &Suite, stats: &[Stats]) {
    let median_of = |role: Role| {
        suite
            .subjects
            .iter()
            .zip(stats)
            .find(|(subject, stats)| subject.role == role && stats.samples > 0)
            .map(|(_, stats)| stats.median)
    };
    let floor = median_of(Role::Floor);
    let reference = median_of(Role::Reference);
    let helper_reference = suite
        .subjects
        .iter()
        .zip(stats)
        .find(|(subject, stats)| subject.role == Role::Reference && stats.samples > 0)
        .and_then(|(_, stats)| stats.helper_median);
    let _ = writeln!(report, "### {}\n", suite.title);
    let _ = writeln!(
        report,
        "| helper | round trip median | mean | p99 | failed | vs floor | vs C original | helper alone (median) | helper alone vs C original |"
    );
    let _ = writeln!(report, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let ratio = |value: Duration, base: Option<Duration>| {
        base.filter(|base| !base.is_zero()).map_or_else(
            || "-".to_owned(),
            |base| format!("{:.2}x", value.as_secs_f64() / base.as_secs_f64()),
        )
    };
    for (subject, stats) in suite.subjects.iter().zip(stats) {
        if stats.samples == 0 {
            let _ = writeln!(
                report,
                "| {} | - | - | - | {} | - | - | - | - |",
                subject.label, stats.failures
            );
            continue;
        }
        let (helper_alone, helper_ratio) = stats.helper_median.map_or_else(
            || ("-".to_owned(), "-".to_owned()),
            |helper| {
                (
                    format!("{:.2} ms", millis(helper)),
                    ratio(helper, helper_reference),
                )
            },
        );
        let _ = writeln!(
            report,
            "| {} | {:.2} ms | {:.2} ms | {:.2} ms | {} | {} | {} | {} | {} |",
            subject.label,
            millis(stats.median),
            millis(stats.mean),
            millis(stats.p99),
            stats.failures,
            ratio(stats.median, floor),
            ratio(stats.median, reference),
            helper_alone,
            helper_ratio,
        );
    }
    if !suite.subjects.iter().any(|subject| subject.role == Role::Ours) {
        let _ = writeln!(report, "\n(kup's helper for this suite is not built yet.)");
    }
    report.push('\n');
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Replaces the generated section `name` of `path` (or appends one).
fn splice(path: &std::path::Path, name: &str, section: &str) -> io::Result<()> {
    let begin = format!("<!-- kup-bench:{name}:begin (generated by bench/run; do not edit by hand) -->");
    let end = format!("<!-- kup-bench:{name}:end -->");
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    let generated = format!("{begin}\n{}\n{end}\n", section.trim_end());
    let updated = match (existing.find(&begin), existing.find(&end)) {
        (Some(start), Some(stop)) if stop > start => {
            format!(
                "{}{generated}{}",
                &existing[..start],
                existing[stop + end.len()..].trim_start_matches('\n')
            )
        }
        _ => format!("{}\n\n{generated}", existing.trim_end()),
    };
    std::fs::write(path, updated)
}

fn utc_now() -> String {
    command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
}

fn hostname() -> String {
    command_output("uname", &["-n"])
}

fn kernel_release() -> String {
    command_output("uname", &["-r"])
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}
