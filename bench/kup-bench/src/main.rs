//! `kup-bench`: per-upcall latency of each helper through the real kernel path.
//!
//! One round = `request_key(2)` from this thread → kernel → `/sbin/request-key` → harness
//! dispatcher → helper → instantiate → back, timed from the requester's side, then the key is
//! unlinked so the next round upcalls again. In every suite the subjects run interleaved, round
//! by round (floor, C original, ours, floor, ...), so machine noise hits all of them alike.
//! The floor is a helper that only instantiates a constant payload: what any helper costs at
//! least on this path. Each subject also runs once more per round under `kup-bench --rusage`,
//! which records the helper's CPU time and page faults (steadier than wall time on a busy
//! machine). Results are printed as a Markdown table with ratios and 99% bootstrap intervals,
//! and `--write FILE` replaces the generated section of `docs/benchmarks.md`.
//!
//! Usage: `bench/run [--rounds N] [--write docs/benchmarks.md]` (root; release builds), or
//! `kup-bench --type T --description D [--any-outcome] --subject LABEL=ARGV...` to compare any
//! builds the same way (the first subject is the base of the ratios).

#![forbid(unsafe_code)]

mod cifs_upcall;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
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
    title: String,
    key_type: String,
    description: Vec<u8>,
    subjects: Vec<Subject>,
    /// Count a negated or rejected key as a finished round (`--any-outcome`: helpers that fail
    /// the same way on this machine, such as cifs.idmap without a winbindd).
    any_outcome: bool,
}

/// The subjects of an ad-hoc comparison (`--subject`), e.g. two builds of one helper.
#[derive(Default)]
struct Compare {
    key_type: Option<String>,
    description: Option<String>,
    subjects: Vec<String>,
    any_outcome: bool,
}

impl Compare {
    fn into_suite(self) -> io::Result<Suite> {
        let missing = |what| io::Error::new(io::ErrorKind::InvalidInput, format!("--subject needs {what}"));
        let key_type = self.key_type.ok_or_else(|| missing("--type"))?;
        let description = self.description.ok_or_else(|| missing("--description"))?;
        let subjects = self
            .subjects
            .iter()
            .enumerate()
            .map(|(index, text)| {
                let (label, argv) = text.split_once('=').ok_or_else(|| missing("LABEL=ARGV"))?;
                Ok(Subject {
                    label: label.to_owned(),
                    argv: argv.split_whitespace().map(OsString::from).collect(),
                    // The first subject is the base of the ratios.
                    role: if index == 0 { Role::Reference } else { Role::Ours },
                })
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Suite {
            title: format!("comparison: `{key_type}` key `{description}`"),
            key_type,
            description: description.into_bytes(),
            subjects,
            any_outcome: self.any_outcome,
        })
    }
}

struct Stats {
    /// The helper's own wall time per round, in round order (paired across subjects), when the
    /// dispatcher's log could be matched to the rounds.
    helper: Vec<Duration>,
    /// The helper's CPU time (user + system) per round, from a second, wrapped upcall in each round.
    cpu: Vec<Duration>,
    /// The helper's minor page faults per round (same upcall as `cpu`).
    faults: Vec<u64>,
    median: Duration,
    p99: Duration,
    /// Median of `helper`: the helper's own wall time (spawn to exit, as the dispatcher measured
    /// it), without the requester → kernel → request-key → dispatcher part of the round trip.
    helper_median: Option<Duration>,
    samples: usize,
    failures: usize,
}

fn main() -> io::Result<ExitCode> {
    let mut arguments = std::env::args_os().skip(1).peekable();
    if arguments.peek().is_some_and(|first| first == RUSAGE_FLAG) {
        return run_measured(&arguments.skip(1).collect::<Vec<_>>());
    }
    let mut rounds = 300_usize;
    let mut write_to: Option<PathBuf> = None;
    let mut splice_stdin: Option<String> = None;
    let mut compare = Compare::default();
    let mut suite_name: Option<String> = None;
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
            // Ad-hoc comparison of builds: `--type T --description D --subject LABEL=ARGV ...`
            // (ARGV split at spaces; the first subject is the base of the ratios).
            Some("--type") => compare.key_type = args.next().and_then(|text| text.into_string().ok()),
            Some("--description") => {
                compare.description = args.next().and_then(|text| text.into_string().ok());
            }
            Some("--any-outcome") => compare.any_outcome = true,
            // A suite that needs a set-up of its own, in its own section of the page
            // (`--suite cifs.upcall`); `--subject LABEL=PROGRAM` adds builds to compare.
            Some("--suite") => suite_name = args.next().and_then(|name| name.into_string().ok()),
            // `--suite cifs.upcall --with-fixture COMMAND...`: set the suite up, run COMMAND
            // (see `cifs_upcall::Fixture::run`), tear it down; no measurement.
            Some("--with-fixture") => {
                let floor = reference::workspace_binary("kup-floor", "kup-floor")?;
                let (fixture, _) = cifs_upcall::suite(&floor, &[])?;
                let code = fixture.run(&args.by_ref().collect::<Vec<_>>())?;
                drop(fixture);
                return Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)));
            }
            Some("--subject") => compare
                .subjects
                .extend(args.next().and_then(|text| text.into_string().ok())),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "usage: kup-bench [--rounds N] [--write FILE] | kup-bench --splice NAME --write FILE < table \
                     | kup-bench [--rounds N] --type T --description D [--any-outcome] --subject LABEL=ARGV... \
                     | kup-bench [--rounds N] [--write FILE] --suite cifs.upcall [--subject LABEL=PROGRAM...]",
                ));
            }
        }
    }
    if let Some(name) = splice_stdin {
        let path = write_to
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "--splice needs --write FILE"))?;
        let table = io::read_to_string(io::stdin())?;
        splice(&path, &name, &table)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (fixture, section, suites) = select(suite_name.as_deref(), compare)?;
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
    drop(fixture);
    io::stdout().lock().write_all(report.as_bytes())?;
    if let Some(path) = write_to {
        splice(&path, section, &report)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The suites to run, the section of the page they go to, and what must stay up while they run.
fn select(
    suite_name: Option<&str>,
    compare: Compare,
) -> io::Result<(Option<cifs_upcall::Fixture>, &'static str, Vec<Suite>)> {
    match suite_name {
        Some(cifs_upcall::SECTION) => {
            let floor = reference::workspace_binary("kup-floor", "kup-floor")?;
            let extra = compare
                .subjects
                .iter()
                .map(|text| {
                    text.split_once('=')
                        .map(|(label, program)| (label.to_owned(), OsString::from(program)))
                        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "--subject LABEL=PROGRAM"))
                })
                .collect::<io::Result<Vec<_>>>()?;
            let (fixture, suite) = cifs_upcall::suite(&floor, &extra)?;
            Ok((Some(fixture), cifs_upcall::SECTION, vec![suite]))
        }
        Some(other) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown suite {other} (known: {})", cifs_upcall::SECTION),
        )),
        None if compare.subjects.is_empty() => {
            let floor = reference::workspace_binary("kup-floor", "kup-floor")?;
            Ok((None, MAIN_SECTION, suites(&floor)?))
        }
        None => Ok((None, MAIN_SECTION, vec![compare.into_suite()?])),
    }
}

/// The internal mode that measures a helper's CPU time: `kup-bench --rusage FILE PROGRAM ARGS...`
/// runs the helper as its only child, then appends `<CPU microseconds> <minor faults>` to FILE and
/// exits as the helper did. The helper inherits everything (fds, environment, the upcall's
/// authority), so it runs exactly as it would without the wrapper.
const RUSAGE_FLAG: &str = "--rusage";

fn run_measured(arguments: &[OsString]) -> io::Result<ExitCode> {
    let [file, program, rest @ ..] = arguments else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "usage: kup-bench --rusage FILE PROGRAM [ARGS...]",
        ));
    };
    let status = std::process::Command::new(program).args(rest).status()?;
    let usage = kup_sys::process::children_usage()?;
    let mut log = std::fs::OpenOptions::new().append(true).create(true).open(file)?;
    writeln!(log, "{} {}", usage.cpu.as_micros(), usage.minor_faults)?;
    Ok(status
        .code()
        .and_then(|code| u8::try_from(code).ok())
        .map_or(ExitCode::FAILURE, ExitCode::from))
}

fn suites(floor: &std::path::Path) -> io::Result<Vec<Suite>> {
    let floor_subject = || Subject {
        label: "floor (constant payload)".to_owned(),
        argv: vec![floor.as_os_str().to_owned(), "%k".into()],
        role: Role::Floor,
    };
    let mut dns = Suite {
        title: "dns_resolver key for a name in /etc/hosts (`localhost`)".to_owned(),
        key_type: "dns_resolver".to_owned(),
        description: b"localhost".to_vec(),
        any_outcome: false,
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
        title: "id_resolver description on a `user` key (`uid:root@localdomain`)".to_owned(),
        key_type: "user".to_owned(),
        description: b"uid:root@localdomain".to_vec(),
        any_outcome: false,
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
    // cifs.idmap's cost is mostly loading the configured plugin (idmapwb.so and the libraries it
    // needs), which both binaries do before they ask winbind anything. This SID is in no domain,
    // so the answer is the same failure with or without a winbindd running: the key is negated
    // (ours) or left to the kernel to negate (Debian's), and the round still counts. The suite
    // with a real AD DC answering is the cifs.idmap section further down.
    let mut cifs = Suite {
        title: "cifs.idmap: `os:` SID in no domain on a `user` key (plugin loaded, no answer)".to_owned(),
        key_type: "user".to_owned(),
        description: b"os:S-1-5-21-1-2-3-1000".to_vec(),
        any_outcome: true,
        subjects: vec![
            floor_subject(),
            Subject {
                label: "Debian cifs.idmap 7.0 + idmapwb.so".to_owned(),
                argv: vec![reference::theirs(Tool::CifsIdmap)?.into_os_string(), "%k".into()],
                role: Role::Reference,
            },
        ],
    };
    if let Ok(ours) = reference::ours(Tool::CifsIdmap) {
        cifs.subjects.push(Subject {
            label: "kup cifs.idmap + idmapwb.so".to_owned(),
            argv: vec![ours.into_os_string(), "%k".into()],
            role: Role::Ours,
        });
    }
    Ok(vec![dns, idmap, cifs])
}

fn nfsidmap_argv(program: OsString) -> Vec<OsString> {
    vec![program, "-t".into(), "600".into(), "%k".into(), "%d".into()]
}

fn run_suite(suite: &Suite, rounds: usize) -> io::Result<Vec<Stats>> {
    const WARM_UP: usize = 5;
    let route = Route::new(&suite.subjects[0].argv)?;
    let subjects = suite.subjects.len();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); subjects];
    let mut failures = vec![0_usize; subjects];
    let myself = std::env::current_exe()?;
    let usage_file = std::env::temp_dir().join(format!("kup-bench-rusage.{}", route.id()));
    let _ = std::fs::remove_file(&usage_file);
    // Each round runs every subject twice: plainly (round trip and the helper's own wall time),
    // then under `kup-bench --rusage` (the helper's CPU time and page faults, which the machine's
    // other load disturbs much less than wall time). A few unmeasured rounds first: page cache,
    // dispatcher, dynamic loader.
    for round in 0..rounds + WARM_UP {
        for (index, subject) in suite.subjects.iter().enumerate() {
            route.set_argv(&subject.argv)?;
            let started = Instant::now();
            let result = route.request(&suite.key_type, &suite.description, b"");
            let elapsed = started.elapsed();
            route.clear()?;
            let mut wrapped = vec![
                myself.clone().into_os_string(),
                RUSAGE_FLAG.into(),
                usage_file.clone().into_os_string(),
            ];
            wrapped.extend(subject.argv.iter().cloned());
            route.set_argv(&wrapped)?;
            let _ = route.request(&suite.key_type, &suite.description, b"");
            route.clear()?;
            if round < WARM_UP {
                continue;
            }
            match result {
                Err(_) if !suite.any_outcome => failures[index] += 1,
                _ => samples[index].push(elapsed),
            }
        }
    }
    // Every request upcalled once (the key was unlinked after each), in order, so upcall n
    // belongs to subject (n / 2) % subjects, plain when n is even; skip the columns whose log
    // does not have that shape.
    let mut helper: Vec<Vec<Duration>> = vec![Vec::new(); subjects];
    let upcalls = route.upcalls()?;
    if upcalls.len() == (rounds + WARM_UP) * subjects * 2 {
        for (number, upcall) in upcalls.iter().enumerate().skip(WARM_UP * subjects * 2).step_by(2) {
            helper[(number / 2) % subjects].push(upcall.duration);
        }
    }
    let mut cpu: Vec<Vec<Duration>> = vec![Vec::new(); subjects];
    let mut faults: Vec<Vec<u64>> = vec![Vec::new(); subjects];
    let usage = std::fs::read_to_string(&usage_file).unwrap_or_default();
    let _ = std::fs::remove_file(&usage_file);
    let lines: Vec<(u64, u64)> = usage
        .lines()
        .filter_map(|line| {
            let (micros, minor) = line.split_once(' ')?;
            Some((micros.parse().ok()?, minor.parse().ok()?))
        })
        .collect();
    if lines.len() == (rounds + WARM_UP) * subjects {
        for (number, &(micros, minor)) in lines.iter().enumerate().skip(WARM_UP * subjects) {
            cpu[number % subjects].push(Duration::from_micros(micros));
            faults[number % subjects].push(minor);
        }
    }
    Ok(samples
        .into_iter()
        .zip(failures)
        .zip(helper.into_iter().zip(cpu.into_iter().zip(faults)))
        .map(|((mut samples, failures), (helper, (cpu, faults)))| {
            samples.sort_unstable();
            let at = |fraction_per_mille: usize| {
                samples
                    .get(samples.len().saturating_sub(1) * fraction_per_mille / 1000)
                    .copied()
                    .unwrap_or_default()
            };
            Stats {
                helper_median: median(&helper),
                helper,
                cpu,
                faults,
                median: at(500),
                p99: at(990),
                samples: samples.len(),
                failures,
            }
        })
        .collect())
}

fn render(report: &mut String, suite: &Suite, stats: &[Stats]) {
    let find = |role: Role| {
        suite
            .subjects
            .iter()
            .zip(stats)
            .find(|(subject, stats)| subject.role == role && stats.samples > 0)
            .map(|(_, stats)| stats)
    };
    let floor = find(Role::Floor).map(|stats| stats.median);
    let reference = find(Role::Reference);
    let _ = writeln!(report, "### {}\n", suite.title);
    let _ = writeln!(
        report,
        "| helper | round trip median | p99 | failed | vs floor | vs C original \
         | helper alone (median) | vs C original | 99% interval \
         | CPU time (median) | vs C original | 99% interval | page faults |"
    );
    let _ = writeln!(
        report,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let ratio = |value: Option<Duration>, base: Option<Duration>| match (value, base) {
        (Some(value), Some(base)) if !base.is_zero() => {
            format!("{:.2}x", value.as_secs_f64() / base.as_secs_f64())
        }
        _ => "-".to_owned(),
    };
    let interval = |ours: &[Duration], theirs: Option<&Vec<Duration>>| {
        theirs
            .and_then(|theirs| ratio_interval(ours, theirs))
            .map_or_else(|| "-".to_owned(), |(low, high)| format!("{low:.2}–{high:.2}x"))
    };
    let ms = |value: Option<Duration>| {
        value.map_or_else(|| "-".to_owned(), |value| format!("{:.2} ms", millis(value)))
    };
    for (subject, stats) in suite.subjects.iter().zip(stats) {
        if stats.samples == 0 {
            let _ = writeln!(
                report,
                "| {} | - | - | {} | - | - | - | - | - | - | - | - | - |",
                subject.label, stats.failures
            );
            continue;
        }
        let cpu = median(&stats.cpu);
        let mut faults = stats.faults.clone();
        faults.sort_unstable();
        let _ = writeln!(
            report,
            "| {} | {:.2} ms | {:.2} ms | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            subject.label,
            millis(stats.median),
            millis(stats.p99),
            stats.failures,
            ratio(Some(stats.median), floor),
            ratio(Some(stats.median), reference.map(|base| base.median)),
            ms(stats.helper_median),
            ratio(stats.helper_median, reference.and_then(|base| base.helper_median)),
            interval(&stats.helper, reference.map(|base| &base.helper)),
            ms(cpu),
            ratio(cpu, reference.and_then(|base| median(&base.cpu))),
            interval(&stats.cpu, reference.map(|base| &base.cpu)),
            faults
                .get(faults.len() / 2)
                .map_or_else(|| "-".to_owned(), u64::to_string),
        );
    }
    if !suite.subjects.iter().any(|subject| subject.role == Role::Ours) {
        let _ = writeln!(report, "\n(kup's helper for this suite is not built yet.)");
    }
    report.push('\n');
}

fn median(samples: &[Duration]) -> Option<Duration> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied()
}

/// A 99% bootstrap interval of `median(subject) / median(base)` over paired rounds: the rounds
/// are resampled with replacement (the same rounds for both, since they ran side by side), 2,000
/// times, with a fixed-seed generator so that a rerun on the same samples prints the same figures.
fn ratio_interval(subject: &[Duration], base: &[Duration]) -> Option<(f64, f64)> {
    const RESAMPLES: usize = 2000;
    let rounds = subject.len();
    if rounds < 10 || base.len() != rounds {
        return None;
    }
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // xorshift64*: plenty for choosing indices.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut ratios = Vec::with_capacity(RESAMPLES);
    let (mut ours, mut theirs) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for _ in 0..RESAMPLES {
        ours.clear();
        theirs.clear();
        for _ in 0..rounds {
            let pick = usize::try_from(next() % rounds as u64).unwrap_or(0);
            ours.push(subject[pick]);
            theirs.push(base[pick]);
        }
        let (Some(ours), Some(theirs)) = (median(&ours), median(&theirs)) else {
            return None;
        };
        if !theirs.is_zero() {
            ratios.push(ours.as_secs_f64() / theirs.as_secs_f64());
        }
    }
    ratios.sort_unstable_by(f64::total_cmp);
    let at = |per_mille: usize| {
        ratios
            .get((ratios.len().saturating_sub(1)) * per_mille / 1000)
            .copied()
    };
    Some((at(5)?, at(995)?))
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
