//! The compliance runner every tool's suite shares: one case model, one observation, one check.
//!
//! A [`Case`] is a sentence, the helper's argv (request-key macros such as `%k` included), a key
//! request (type, description, callout) and what must be observed ([`Expect`]), with the
//! reference's outcome and, where ours differs on purpose (a divergence recorded in
//! `docs/compat/<tool>.md`), ours. [`Runner::run`] makes one real upcall on a fresh
//! [`Route`] and records an [`Observation`]: the requester's view (payload bytes or errno), the
//! key's state in `/proc/keys` (negative, expiry) and how the helper ended. [`check`] compares the
//! two; nothing in an expectation is optional, so a case can only pass on the outcome it names.
//!
//! The runner prints `test <sentence> ... ok|FAILED` per case (libtest's shape, for suites with
//! `harness = false`), catches panics per case, honours the name filters `cargo test` passes on,
//! and ends with one summary line and the exit code. Log lines are observed with [`logged`],
//! around whatever upcalls a case makes.

use std::ffi::{OsStr, OsString};
use std::io::{self, Write as _};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use kup_sys::keyctl;
use kup_sys::proc_keys::{self, Expiry};

use crate::reference::{self, Tool, UnderTest};
use crate::syslog::{SyslogCapture, SyslogLine};
use crate::upcall::{DEFAULT_HELPER_TIMEOUT, Route, UpcallStatus};

/// `ENOKEY`: what a requester sees for a negated key.
pub const ENOKEY: i32 = kup_sys::errno::ENOKEY;

/// What one real upcall must produce.
#[derive(Clone, Debug)]
pub enum Expect {
    /// A positive key whose payload passes `payload` and whose expiry is `lifetime`; the helper
    /// exits 0.
    Positive {
        /// The payload rule.
        payload: Payload,
        /// The key's expiry as `/proc/keys` shows it.
        lifetime: Lifetime,
    },
    /// The requester gets `errno`; the key (when still there) is negative with expiry
    /// `lifetime`; the helper ended with `status`.
    Negative {
        /// The errno of the failed request (`ENOKEY` for a negated key).
        errno: i32,
        /// The negative key's expiry as `/proc/keys` shows it.
        lifetime: Lifetime,
        /// How the helper ended.
        status: UpcallStatus,
    },
}

impl Expect {
    /// A positive key holding exactly `bytes`, with this lifetime.
    #[must_use]
    pub fn payload(bytes: impl Into<Vec<u8>>, lifetime: Lifetime) -> Self {
        Self::Positive {
            payload: Payload::Exact(bytes.into()),
            lifetime,
        }
    }

    /// A negative key: the requester gets `errno`, the helper exits `code`.
    #[must_use]
    pub fn negative(errno: i32, lifetime: Lifetime, code: i32) -> Self {
        Self::Negative {
            errno,
            lifetime,
            status: UpcallStatus::Exited(code),
        }
    }
}

/// A payload check: `Err` says why the payload is wrong.
pub type PayloadCheck = Rc<dyn Fn(&[u8]) -> Result<(), String>>;

/// A rule for a positive key's payload.
#[derive(Clone)]
pub enum Payload {
    /// Exactly these bytes.
    Exact(Vec<u8>),
    /// A check that a byte-for-byte comparison cannot express (a structure, a tail that only
    /// ours must zero); `what` names the expected value in reports.
    Satisfies {
        /// What the payload must be, for reports.
        what: String,
        /// The check: `Err` says why the payload is wrong.
        check: PayloadCheck,
    },
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(bytes) => write!(formatter, "\"{}\"", bytes.escape_ascii()),
            Self::Satisfies { what, .. } => formatter.write_str(what),
        }
    }
}

/// A key's expiry, as `/proc/keys` shows it (rounded down to the unit it prints).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    /// No expiry.
    Permanent,
    /// Expires in `low..=high` seconds; with `may_be_gone`, an expired or already reaped key
    /// passes too (a 1 s negative key may be gone before `/proc/keys` is read).
    Within {
        /// Fewest seconds left.
        low: u64,
        /// Most seconds left.
        high: u64,
        /// An expired or reaped key passes.
        may_be_gone: bool,
    },
}

impl Lifetime {
    /// Expires in `low..=high` seconds.
    #[must_use]
    pub fn within(low: u64, high: u64) -> Self {
        Self::Within {
            low,
            high,
            may_be_gone: false,
        }
    }

    /// Set to `seconds` a moment ago: what `/proc/keys` shows for it up to 4 s later, rounded
    /// as it rounds; a key of a second or less may be gone already.
    #[must_use]
    pub fn about(seconds: u64) -> Self {
        Self::Within {
            low: shown(seconds.saturating_sub(4)),
            high: shown(seconds),
            may_be_gone: seconds <= 1,
        }
    }

    fn admits(self, expiry: Option<Expiry>) -> bool {
        match (self, expiry) {
            (Self::Permanent, Some(Expiry::Permanent)) => true,
            (Self::Within { low, high, .. }, Some(Expiry::In(left))) => {
                (low..=high).contains(&left.as_secs())
            }
            (Self::Within { may_be_gone, .. }, Some(Expiry::Expired) | None) => may_be_gone,
            _ => false,
        }
    }
}

/// `/proc/keys` shows `Ns` under a minute, `Nm` under an hour, `Nh` under a day, else `Nd`.
#[must_use]
pub fn shown(seconds: u64) -> u64 {
    match seconds {
        0..60 => seconds,
        60..3600 => seconds / 60 * 60,
        3600..86_400 => seconds / 3600 * 3600,
        _ => seconds / 86_400 * 86_400,
    }
}

/// What one upcall produced, as the requester, the kernel and the dispatcher saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// The payload of the key the requester got, or the errno of the failed request.
    pub outcome: Result<Vec<u8>, i32>,
    /// The key's state in `/proc/keys` (`None`: not there any more).
    pub key: Option<KeyState>,
    /// How the helper ended (`None`: no upcall was routed).
    pub status: Option<UpcallStatus>,
    /// Wall time of the request.
    pub elapsed: Duration,
}

/// A key's state as `/proc/keys` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyState {
    /// Negated or rejected.
    pub negative: bool,
    /// Its expiry.
    pub expiry: Expiry,
}

/// One key request.
#[derive(Clone, Debug)]
pub struct Request {
    /// The key type (`user` carries descriptions of types the host kernel lacks).
    pub key_type: String,
    /// The description, bytes as the kernel would send them.
    pub description: Vec<u8>,
    /// The callout info.
    pub callout: Vec<u8>,
}

impl Request {
    /// A request for a `key_type` key with no callout info.
    #[must_use]
    pub fn new(key_type: &str, description: impl AsRef<[u8]>) -> Self {
        Self {
            key_type: key_type.to_owned(),
            description: description.as_ref().to_vec(),
            callout: Vec::new(),
        }
    }

    /// The same request with this callout info.
    #[must_use]
    pub fn callout(mut self, callout: impl AsRef<[u8]>) -> Self {
        self.callout = callout.as_ref().to_vec();
        self
    }
}

/// Work a case does before its upcall (point a resolver, write a config); `Err` fails the case.
pub type Setup = Rc<dyn Fn() -> Result<(), String>>;

/// One compliance case.
#[derive(Clone)]
pub struct Case {
    /// The sentence printed for it.
    pub name: String,
    /// The helper's argv, program first (request-key macros such as `%k` expanded by request-key).
    pub argv: Vec<OsString>,
    /// What is requested.
    pub request: Request,
    /// The reference's outcome.
    pub theirs: Expect,
    /// Ours where it differs on purpose (a recorded divergence).
    pub ours: Option<Expect>,
    /// The dispatcher kills the helper after this long.
    pub helper_timeout: Duration,
    /// The upcall (after the setup) must end within this long.
    pub bound: Option<Duration>,
    /// Run before the upcall.
    pub setup: Option<Setup>,
}

impl Case {
    /// A case where ours and theirs must agree.
    #[must_use]
    pub fn new<S: AsRef<OsStr>>(
        name: impl Into<String>,
        argv: &[S],
        request: Request,
        expect: Expect,
    ) -> Self {
        Self {
            name: name.into(),
            argv: argv.iter().map(|argument| argument.as_ref().to_owned()).collect(),
            request,
            theirs: expect,
            ours: None,
            helper_timeout: DEFAULT_HELPER_TIMEOUT,
            bound: None,
            setup: None,
        }
    }

    /// Ours must observe `ours` instead (a divergence recorded in `docs/compat`).
    #[must_use]
    pub fn diverging(mut self, ours: Expect) -> Self {
        self.ours = Some(ours);
        self
    }

    /// The dispatcher's bound on the helper.
    #[must_use]
    pub fn helper_timeout(mut self, timeout: Duration) -> Self {
        self.helper_timeout = timeout;
        self
    }

    /// The whole case must end within `bound`.
    #[must_use]
    pub fn bounded(mut self, bound: Duration) -> Self {
        self.bound = Some(bound);
        self
    }

    /// Runs `setup` before the upcall.
    #[must_use]
    pub fn setup(mut self, setup: impl Fn() -> Result<(), String> + 'static) -> Self {
        self.setup = Some(Rc::new(setup));
        self
    }

    /// The expectation for `under`.
    #[must_use]
    pub fn expect(&self, under: UnderTest) -> &Expect {
        match (under, &self.ours) {
            (UnderTest::Ours, Some(ours)) => ours,
            _ => &self.theirs,
        }
    }
}

/// Makes the request on `route` (after emptying its session keyring) and observes the result.
pub fn observe(route: &Route, request: &Request) -> io::Result<Observation> {
    route.clear()?;
    let before = route.upcalls()?.len();
    let started = Instant::now();
    let requested = route.request(&request.key_type, &request.description, &request.callout);
    let elapsed = started.elapsed();
    let (outcome, key) = match requested {
        Ok(key) => (Ok(keyctl::read(key)?), Some(key)),
        Err(error) => (
            Err(error.raw_os_error().unwrap_or(-1)),
            find_in_session(route, request)?,
        ),
    };
    let key = match key {
        Some(key) => proc_keys::find(key)?.map(|line| KeyState {
            negative: line.flags.negative,
            expiry: line.expiry,
        }),
        None => None,
    };
    let status = route.upcalls()?.get(before).map(|upcall| upcall.status.clone());
    Ok(Observation {
        outcome,
        key,
        status,
        elapsed,
    })
}

/// The key `request` left in the route's session keyring (a failed request's negative key).
fn find_in_session(route: &Route, request: &Request) -> io::Result<Option<kup_sys::KeySerial>> {
    let prefix = format!("{};", request.key_type);
    let mut suffix = b";".to_vec();
    suffix.extend_from_slice(&request.description);
    Ok(keyctl::keyring_members(route.session())?
        .into_iter()
        .rfind(|&key| {
            keyctl::describe_raw(key)
                .is_ok_and(|raw| raw.starts_with(prefix.as_bytes()) && raw.ends_with(&suffix))
        }))
}

/// Compares an observation with an expectation; `Err` names the first difference.
pub fn check(expect: &Expect, observed: &Observation) -> Result<(), String> {
    match expect {
        Expect::Positive { payload, lifetime } => {
            let bytes = observed
                .outcome
                .as_ref()
                .map_err(|errno| format!("expected a positive key, the request failed with errno {errno}"))?;
            match payload {
                Payload::Exact(want) if want != bytes => {
                    return Err(format!(
                        "expected payload \"{}\", got \"{}\"",
                        want.escape_ascii(),
                        bytes.escape_ascii()
                    ));
                }
                Payload::Exact(_) => {}
                Payload::Satisfies { what, check } => {
                    check(bytes).map_err(|why| format!("payload is not {what}: {why}"))?;
                }
            }
            let key = observed.key.ok_or("the key is not in /proc/keys")?;
            if key.negative {
                return Err("the key is negative".into());
            }
            if !lifetime.admits(Some(key.expiry)) {
                return Err(format!(
                    "expected expiry {lifetime:?}, /proc/keys shows {:?}",
                    key.expiry
                ));
            }
            if observed.status != Some(UpcallStatus::Exited(0)) {
                return Err(format!("expected exit 0, got {:?}", observed.status));
            }
        }
        Expect::Negative {
            errno,
            lifetime,
            status,
        } => {
            if observed.outcome != Err(*errno) {
                return Err(format!(
                    "expected errno {errno}, got {:?}",
                    observed
                        .outcome
                        .as_ref()
                        .map(|bytes| bytes.escape_ascii().to_string())
                ));
            }
            if observed.key.is_some_and(|key| !key.negative) {
                return Err("expected a negative key".into());
            }
            if !lifetime.admits(observed.key.map(|key| key.expiry)) {
                return Err(format!(
                    "expected a negative key expiring {lifetime:?}, /proc/keys shows {:?}",
                    observed.key
                ));
            }
            if observed.status.as_ref() != Some(status) {
                return Err(format!(
                    "expected the helper to end {status:?}, got {:?}",
                    observed.status
                ));
            }
        }
    }
    Ok(())
}

/// Runs `body` with `/dev/log` bound (waiting up to `wait` for it) and returns its result with
/// every line logged meanwhile. Callers select their tool's lines: `/dev/log` is machine-wide.
pub fn logged<T>(
    wait: Duration,
    body: impl FnOnce() -> Result<T, String>,
) -> Result<(T, Vec<SyslogLine>), String> {
    let capture = SyslogCapture::start(wait).map_err(|error| format!("binding /dev/log: {error}"))?;
    let result = body();
    let lines = capture.finish();
    result.map(|value| (value, lines))
}

/// One suite run: which implementation, its binary, the filters, the tally.
#[derive(Debug)]
pub struct Runner {
    suite: String,
    under: UnderTest,
    tool: PathBuf,
    filters: Vec<String>,
    listing: bool,
    passed: usize,
    failed: Vec<String>,
}

impl Runner {
    /// Reads `KUP_UNDER_TEST` and the command line, finds the binary of `tool` under test and
    /// prints the suite's header.
    pub fn start(suite: &str, tool: Tool) -> Result<Self, String> {
        let under = reference::under_test().map_err(|error| error.to_string())?;
        let path = reference::tool_path(tool).map_err(|error| format!("the {suite} under test: {error}"))?;
        let (filters, listing) = filters(std::env::args().skip(1));
        let runner = Self {
            suite: suite.to_owned(),
            under,
            tool: path,
            filters,
            listing,
            passed: 0,
            failed: Vec::new(),
        };
        if !listing {
            say(&format!(
                "{suite} compliance against {} ({under:?})",
                runner.tool.display()
            ));
        }
        Ok(runner)
    }

    /// The implementation under test.
    #[must_use]
    pub fn under_test(&self) -> UnderTest {
        self.under
    }

    /// The binary under test.
    #[must_use]
    pub fn tool(&self) -> &Path {
        &self.tool
    }

    /// Whether the command line selects the case `name` (`cargo test -- WORD`: the suite's or
    /// the case's name contains a word; `--list` selects nothing).
    #[must_use]
    pub fn selects(&self, name: &str) -> bool {
        !self.listing
            && (self.filters.is_empty()
                || self
                    .filters
                    .iter()
                    .any(|word| name.contains(word.as_str()) || self.suite.contains(word.as_str())))
    }

    /// Runs one case written as code: `body` returns why it failed. A panic fails the case.
    pub fn case(&mut self, name: &str, body: impl FnOnce(&Self) -> Result<(), String>) {
        if !self.selects(name) {
            return;
        }
        let result = panic::catch_unwind(AssertUnwindSafe(|| body(self)))
            .unwrap_or_else(|_| Err("panicked".to_owned()));
        self.record(name, result);
    }

    /// Runs one upcall case, named after it: see [`Runner::upcall`].
    pub fn run(&mut self, case: &Case) {
        self.case(&case.name, |runner| runner.upcall(case));
    }

    /// One upcall case's work, for a case that makes it among other steps: its setup, a fresh
    /// route with its argv, the request, the check against the expectation for the
    /// implementation under test, and its time bound.
    pub fn upcall(&self, case: &Case) -> Result<(), String> {
        if let Some(setup) = &case.setup {
            setup()?;
        }
        let started = Instant::now();
        let route = Route::with_timeout(&case.argv, case.helper_timeout)
            .map_err(|error| format!("upcall route: {error}"))?;
        let observed = observe(&route, &case.request).map_err(|error| format!("harness error: {error}"))?;
        check(case.expect(self.under), &observed).map_err(|why| {
            format!(
                "{why}\n    request {} \"{}\" callout \"{}\", argv {:?}",
                case.request.key_type,
                case.request.description.escape_ascii(),
                case.request.callout.escape_ascii(),
                case.argv
            )
        })?;
        match case.bound {
            Some(bound) if started.elapsed() > bound => Err(format!("took {:?}", started.elapsed())),
            _ => Ok(()),
        }
    }

    /// Records a failure outside any case (a setup step several cases need).
    pub fn fail(&mut self, what: &str, why: impl std::fmt::Display) {
        say(&format!("test {what} ... FAILED\n    {why}"));
        self.failed.push(what.to_owned());
    }

    /// Prints the summary; the exit code is failure when a case failed.
    #[must_use]
    pub fn finish(self) -> ExitCode {
        if self.listing {
            return ExitCode::SUCCESS;
        }
        say(&format!(
            "\ntest result: {}. {} passed; {} failed ({} {:?})",
            if self.failed.is_empty() { "ok" } else { "FAILED" },
            self.passed,
            self.failed.len(),
            self.suite,
            self.under
        ));
        for name in &self.failed {
            say(&format!("  FAILED: {name}"));
        }
        if self.failed.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    fn record(&mut self, name: &str, result: Result<(), String>) {
        match result {
            Ok(()) => {
                say(&format!("test {name} ... ok"));
                self.passed += 1;
            }
            Err(why) => self.fail(name, why),
        }
    }
}

/// The name filters of a libtest-style command line, and whether it only lists tests.
fn filters(args: impl Iterator<Item = String>) -> (Vec<String>, bool) {
    let mut filters = Vec::new();
    let mut args = args;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" | "--ignored" => return (Vec::new(), true),
            "--test-threads" | "--skip" | "--format" | "--color" | "-Z" => {
                let _ = args.next();
            }
            flag if flag.starts_with('-') => {}
            filter => filters.push(filter.to_owned()),
        }
    }
    (filters, false)
}

/// One line on stdout, locked (the workspace denies `print_stdout`).
pub fn say(line: &str) {
    let _ = writeln!(io::stdout().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observation(outcome: Result<&[u8], i32>, key: Option<(bool, Expiry)>, exit: i32) -> Observation {
        Observation {
            outcome: outcome.map(<[u8]>::to_vec),
            key: key.map(|(negative, expiry)| KeyState { negative, expiry }),
            status: Some(UpcallStatus::Exited(exit)),
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn a_positive_expectation_checks_payload_state_expiry_and_exit() {
        let expect = Expect::payload(b"1\0".to_vec(), Lifetime::Permanent);
        let good = observation(Ok(b"1\0"), Some((false, Expiry::Permanent)), 0);
        assert_eq!(check(&expect, &good), Ok(()));
        for bad in [
            observation(Ok(b"2\0"), Some((false, Expiry::Permanent)), 0),
            observation(Ok(b"1\0"), Some((true, Expiry::Permanent)), 0),
            observation(Ok(b"1\0"), Some((false, Expiry::In(Duration::from_secs(5)))), 0),
            observation(Ok(b"1\0"), None, 0),
            observation(Ok(b"1\0"), Some((false, Expiry::Permanent)), 1),
            observation(Err(ENOKEY), None, 0),
        ] {
            assert!(check(&expect, &bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_negative_expectation_checks_errno_state_expiry_and_status() {
        let expect = Expect::negative(ENOKEY, Lifetime::within(0, 60), 1);
        let good = observation(Err(ENOKEY), Some((true, Expiry::In(Duration::from_secs(59)))), 1);
        assert_eq!(check(&expect, &good), Ok(()));
        for bad in [
            observation(
                Err(libc::ENODATA),
                Some((true, Expiry::In(Duration::from_secs(59)))),
                1,
            ),
            observation(Err(ENOKEY), Some((false, Expiry::In(Duration::from_secs(59)))), 1),
            observation(Err(ENOKEY), Some((true, Expiry::In(Duration::from_secs(61)))), 1),
            observation(Err(ENOKEY), None, 1),
            observation(Err(ENOKEY), Some((true, Expiry::In(Duration::from_secs(59)))), 0),
            observation(Ok(b""), Some((false, Expiry::Permanent)), 1),
        ] {
            assert!(check(&expect, &bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_one_second_key_may_be_gone_and_longer_ones_are_rounded_as_proc_keys_shows_them() {
        assert!(Lifetime::about(1).admits(None));
        assert!(Lifetime::about(1).admits(Some(Expiry::Expired)));
        assert!(!Lifetime::about(60).admits(None));
        assert!(Lifetime::about(100).admits(Some(Expiry::In(Duration::from_mins(1)))));
        assert!(!Lifetime::about(100).admits(Some(Expiry::In(Duration::from_mins(2)))));
        assert!(!Lifetime::about(5).admits(Some(Expiry::Permanent)));
        assert!(Lifetime::about(5).admits(Some(Expiry::In(Duration::from_secs(1)))));
        assert!(!Lifetime::about(5).admits(Some(Expiry::In(Duration::from_secs(6)))));
    }

    #[test]
    fn a_payload_rule_reports_what_it_wanted() {
        let expect = Expect::Positive {
            payload: Payload::Satisfies {
                what: "even".into(),
                check: Rc::new(|bytes| {
                    if bytes.len() % 2 == 0 {
                        Ok(())
                    } else {
                        Err("odd".into())
                    }
                }),
            },
            lifetime: Lifetime::Permanent,
        };
        let odd = observation(Ok(b"x"), Some((false, Expiry::Permanent)), 0);
        assert_eq!(check(&expect, &odd), Err("payload is not even: odd".into()));
    }

    #[test]
    fn filters_skip_option_values_and_list_selects_nothing() {
        let args = |list: &[&str]| {
            list.iter()
                .map(|&arg| arg.to_owned())
                .collect::<Vec<_>>()
                .into_iter()
        };
        assert_eq!(
            filters(args(&["--test-threads", "1", "afs", "--nocapture"])),
            (vec!["afs".to_owned()], false)
        );
        assert_eq!(filters(args(&["--list"])), (Vec::new(), true));
    }
}
