//! Differential test: Debian's nfsidmap and ours, side by side on the same inputs, through the
//! real kernel upcall path, on inputs the fuzzers produced (`fuzz/nfsidmap/corpus/`): every
//! `mapping` corpus entry (first line a name, the rest an idmapd.conf) is written to
//! `/etc/idmapd.conf` and `uid:<name>`, `gid:<name>`, `user:0`, `group:45102` are asked of both;
//! every `description` corpus entry is asked of both under the Debian config. The outcomes
//! (payload bytes or negative key, exit status) must be identical, except where
//! `docs/compat/nfsidmap.md` records a divergence:
//!
//! - the reference crashed or hung (`$` loops, self-includes, a regex method without regexes,
//!   an overlong `[Static]` principal): ours must still end normally and finish the key;
//! - an empty method list (the reference maps every name to uid 0);
//! - ambiguous descriptions (ours refuses them: negative key, exit 1).
//!
//! Inputs that could leave the machine or block are skipped: configs naming `umich_ldap` or
//! paths under `/dev`, `/proc`, `/sys`, and descriptions with a NUL or over 4095 bytes.
//! Own harness: one route, one thread, the config taken under `support/system.rs`'s lock.

#[path = "support/system.rs"]
mod system;

use std::ffi::{OsStr, OsString};
use std::io::{self, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use kup_idmap::conf::Config;
use kup_idmap::description::{Description, Refusal};
use kup_sys::keyctl;
use kup_testkit::reference::{self, Tool};
use kup_testkit::upcall::{Route, UpcallStatus};

use system::ConfigLock;

macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(io::stdout().lock(), $($arg)*);
    }};
}

/// What one helper run gave the requester.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Payload(Vec<u8>),
    Negative,
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Run {
    outcome: Outcome,
    status: Option<UpcallStatus>,
}

struct Differ {
    route: Route,
    theirs: Vec<OsString>,
    ours: Vec<OsString>,
    compared: usize,
    diverging: usize,
    failures: Vec<String>,
}

impl Differ {
    fn run(&self, argv: &[OsString], description: &[u8]) -> Run {
        if let Err(error) = self.route.set_argv(argv).and_then(|()| self.route.clear()) {
            return Run {
                outcome: Outcome::Failed(error.to_string()),
                status: None,
            };
        }
        let before = self.route.upcalls().map_or(0, |upcalls| upcalls.len());
        let outcome = match self.route.request("user", description, b"") {
            Ok(key) => {
                keyctl::read(key).map_or_else(|error| Outcome::Failed(error.to_string()), Outcome::Payload)
            }
            Err(error) if error.raw_os_error() == Some(kup_sys::errno::ENOKEY) => Outcome::Negative,
            Err(error) => Outcome::Failed(error.to_string()),
        };
        let status = self
            .route
            .upcalls()
            .ok()
            .and_then(|upcalls| upcalls.get(before).map(|upcall| upcall.status.clone()));
        Run { outcome, status }
    }

    fn compare(&mut self, context: &str, description: &[u8], empty_method_list: bool) {
        let theirs = self.run(&self.theirs.clone(), description);
        let ours = self.run(&self.ours.clone(), description);
        let ours_ended = matches!(ours.status, Some(UpcallStatus::Exited(_)))
            && !matches!(ours.outcome, Outcome::Failed(_));
        let theirs_broke = matches!(
            theirs.status,
            Some(UpcallStatus::Signaled(_) | UpcallStatus::TimedOut)
        );
        let ambiguous = Description::parse(description) == Err(Refusal::Ambiguous);
        let verdict =
            if theirs_broke || ambiguous || (empty_method_list && theirs.outcome != Outcome::Negative) {
                self.diverging += 1;
                let ours_refused = !ambiguous
                    || (ours.outcome == Outcome::Negative && ours.status == Some(UpcallStatus::Exited(1)));
                ours_ended && ours_refused
            } else {
                self.compared += 1;
                theirs == ours && !matches!(theirs.outcome, Outcome::Failed(_))
            };
        if !verdict {
            let line = format!(
                "{context}: {}: theirs {theirs:?}, ours {ours:?}",
                description.escape_ascii()
            );
            say!("DIFFERENT {line}");
            self.failures.push(line);
        }
    }
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/nfsidmap/corpus")
        .join(target);
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    entries.sort();
    entries
        .into_iter()
        .filter_map(|path| std::fs::read(path).ok())
        .collect()
}

fn usable_config(text: &[u8]) -> bool {
    let lower = text.to_ascii_lowercase();
    let mentions = |needle: &[u8]| lower.windows(needle.len()).any(|window| window == needle);
    !mentions(b"umich") && !mentions(b"/dev") && !mentions(b"/proc") && !mentions(b"/sys")
}

fn usable_description(description: &[u8]) -> bool {
    !description.contains(&0) && !description.is_empty() && description.len() <= 4095
}

fn argv(program: &Path) -> Vec<OsString> {
    [
        program.as_os_str(),
        OsStr::new("-t"),
        OsStr::new("600"),
        OsStr::new("%k"),
        OsStr::new("%d"),
    ]
    .iter()
    .map(|part| part.to_os_string())
    .collect()
}

fn run() -> Result<Differ, String> {
    let theirs = reference::theirs(Tool::Nfsidmap).map_err(|error| error.to_string())?;
    let ours = reference::ours(Tool::Nfsidmap).map_err(|error| error.to_string())?;
    system::ensure_accounts().map_err(|error| error.to_string())?;
    let route =
        Route::with_timeout(&argv(&theirs), Duration::from_secs(3)).map_err(|error| error.to_string())?;
    let mut differ = Differ {
        route,
        theirs: argv(&theirs),
        ours: argv(&ours),
        compared: 0,
        diverging: 0,
        failures: Vec::new(),
    };
    let lock = ConfigLock::acquire().map_err(|error| error.to_string())?;
    lock.write("[General]\nDomain = localdomain\n[Mapping]\nNobody-User = nobody\nNobody-Group = nogroup\n")
        .map_err(|error| error.to_string())?;
    for description in corpus("description") {
        if usable_description(&description) {
            differ.compare("description corpus", &description, false);
        }
    }
    for entry in corpus("mapping") {
        let (name, text) = entry
            .iter()
            .position(|&byte| byte == b'\n')
            .map_or((&entry[..], &b""[..]), |newline| {
                (&entry[..newline], &entry[newline + 1..])
            });
        if !usable_config(text) {
            continue;
        }
        let text_string = String::from_utf8_lossy(text);
        // Write the bytes as they are (the lossy copy is only for the parse check below).
        if let Err(error) = lock
            .write("")
            .and_then(|()| std::fs::write(system::CONFIG_PATH, text))
        {
            return Err(error.to_string());
        }
        let config = Config::parse(text, Path::new(system::CONFIG_PATH));
        let empty = config
            .get_list("Translation", b"Method")
            .is_some_and(|list| list.is_empty());
        let context = format!("config {:?}", text_string.chars().take(60).collect::<String>());
        for description in [
            [&b"uid:"[..], name].concat(),
            [&b"gid:"[..], name].concat(),
            b"user:0".to_vec(),
            b"group:45102".to_vec(),
        ] {
            if usable_description(&description) {
                differ.compare(&context, &description, empty);
            }
        }
    }
    drop(lock);
    Ok(differ)
}

fn main() -> ExitCode {
    if !system::selected("nfsidmap_differential") {
        say!("nfsidmap differential: filtered out");
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(differ) => {
            say!(
                "nfsidmap differential: {} identical, {} recorded divergences, {} different",
                differ.compared - differ.failures.len().min(differ.compared),
                differ.diverging,
                differ.failures.len()
            );
            if differ.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            say!("nfsidmap differential could not run: {error}");
            ExitCode::FAILURE
        }
    }
}
