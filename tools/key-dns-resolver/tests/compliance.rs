//! Compliance: `key.dns_resolver` (ours or Debian's, `KUP_UNDER_TEST=ours|theirs`) answering
//! `dns_resolver` keys of the **host kernel** through real upcalls (`request_key(2)` → kernel →
//! request-key → kup-test-dispatch → `key.dns_resolver %k`), with answers from a real Knot DNS
//! server on 127.83.0.53:53 serving a zone written here (`support/loopback_dns.rs` points
//! `/etc/resolv.conf` at it and restores it on every exit path).
//!
//! Each case checks what the requester and the kernel see: payload bytes or errno, negative flag,
//! expiry (as `/proc/keys` rounds it) and the helper's exit status. Where ours differs on purpose
//! the case names the decision (`docs/compat/key.dns_resolver.md`) and checks both sides.
//!
//! Own harness (`harness = false`): the server must outlive all cases and be torn down after
//! them. Cases run in order; each prints `test <sentence> ... ok|FAILED`.

#[path = "support/crafted_dns.rs"]
mod crafted_dns;
#[path = "support/dns_wire.rs"]
mod dns_wire;
#[path = "support/loopback_dns.rs"]
mod loopback_dns;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use kup_sys::netdb::{self, Family};
use kup_testkit::compliance::{self, Case, Expect, Lifetime, Payload, Request, Runner};
use kup_testkit::reference::Tool;
use kup_testkit::syslog::SyslogLine;
use kup_testkit::upcall::Route;

use crafted_dns::{CraftedDns, Mode};
use loopback_dns::LoopbackDns;

const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 83, 0, 53));
/// The crafted-answer server (hostile messages).
const CRAFTED: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 83, 0, 54));
const ZONE: &str = "kup.test";
use kup_sys::errno::{EAGAIN, ECONNREFUSED, EINTR, ENODATA, ENOKEY};

/// The label of exactly `length` bytes used for long names.
fn label(fill: char, length: usize) -> String {
    std::iter::repeat_n(fill, length).collect()
}

/// A 253-byte name inside the zone (the longest presentation form of a 255-byte wire name).
fn long_name() -> String {
    // 63 + 1 + 63 + 1 + 63 + 1 + 52 + 1 + 8 ("kup.test") = 253
    format!(
        "{}.{}.{}.{}.{ZONE}",
        label('a', 63),
        label('b', 63),
        label('c', 63),
        label('d', 52)
    )
}

fn zone_text() -> String {
    let mut zone = String::from(
        "$ORIGIN kup.test.\n$TTL 300\n\
         @ SOA ns admin 1 3600 600 86400 60\n@ NS ns\nns A 127.83.0.53\n\
         host1 A 192.0.2.1\n\
         multi 60 A 192.0.2.10\nmulti 60 A 192.0.2.11\nmulti 60 AAAA 2001:db8::10\n\
         v6only AAAA 2001:db8::6\n\
         alias CNAME alias2\nalias2 CNAME host1\n\
         nodata TXT \"no address here\"\n\
         *.wild A 192.0.2.99\n\
         _afs3-vlserver._udp.cell1 300 SRV 0 0 7003 vl1.cell1\n\
         _afs3-vlserver._udp.cell1 100 SRV 1 5 7004 vl2.cell1\n\
         vl1.cell1 A 192.0.2.21\nvl1.cell1 AAAA 2001:db8::21\nvl2.cell1 A 192.0.2.22\n\
         cell2 50 AFSDB 1 afsdb1.cell2\ncell2 40 AFSDB 1 afsdb2.cell2\n\
         afsdb1.cell2 A 192.0.2.31\nafsdb2.cell2 A 192.0.2.32\n\
         _afs3-vlserver._udp.cell3 0 SRV 0 0 7003 vl.cell3\nvl.cell3 A 192.0.2.41\n\
         _afs3-vlserver._udp.cell4 3000 SRV 0 0 7003 vl.cell4\n\
         _afs3-vlserver._udp.cell4 20 SRV 0 0 7003 gone.cell4\nvl.cell4 A 192.0.2.51\n\
         _afs3-vlserver._udp.cell5 CNAME elsewhere.cell5\nelsewhere.cell5 TXT \"no SRV\"\n\
         cell5 AFSDB 1 afsdb.cell5\nafsdb.cell5 A 192.0.2.61\n",
    );
    for index in 0..140 {
        let _ = writeln!(zone, "many A 10.1.{}.{}", index / 100, index % 100);
    }
    for index in 1..=12 {
        let _ = writeln!(
            zone,
            "_afs3-vlserver._udp.cell6 60 SRV 0 0 7003 vl{index}-{}.cell6\nvl{index}-{}.cell6 A 192.0.2.{}",
            label('x', 58),
            label('x', 58),
            100 + index
        );
    }
    for index in 1..=20 {
        let _ = writeln!(
            zone,
            "_afs3-vlserver._udp.cell7 60 SRV 0 0 7003 v{index}.cell7\nv{index}.cell7 A 192.0.3.{index}"
        );
    }
    let _ = writeln!(
        zone,
        "{} A 192.0.2.250",
        long_name().trim_end_matches(".kup.test")
    );
    zone
}

/// A positive key with this payload expiring in about `expiry` s; exit 0.
fn positive(payload: impl Into<String>, expiry: u64) -> Expect {
    Expect::payload(payload.into().into_bytes(), Lifetime::about(expiry))
}

/// The requester gets `errno`; the key is negative for about `timeout` s; the helper exits `exit`.
fn negative(errno: i32, timeout: u64, exit: i32) -> Expect {
    Expect::negative(errno, Lifetime::about(timeout), exit)
}

/// A rejected lookup as the reference ends it: the raw `h_errno` `NO_DATA` (= `EINTR`) as
/// errno, 60 s, exit 0. Ours passes the intended errno (decisions.md 5): see [`rejected_ours`].
fn rejected() -> Expect {
    negative(EINTR, 60, 0)
}

/// A rejected lookup as ours ends it: the intended errno, 60 s, exit 0 (decisions.md 5).
fn rejected_ours(errno: i32) -> Expect {
    negative(errno, 60, 0)
}

/// A positive key holding a binary v1 server list: (server name, port, address count) per
/// server.
fn server_list(servers: Vec<(String, u16, usize)>, expiry: u64) -> Expect {
    Expect::Positive {
        payload: Payload::Satisfies {
            what: format!("the v1 server list {servers:?}"),
            check: Rc::new(move |bytes| {
                let decoded = key_dns_resolver::server_list::decode(bytes)
                    .ok_or_else(|| format!("not a v1 server list: {bytes:02x?}"))?;
                let summary: Vec<(String, u16, usize)> = decoded
                    .iter()
                    .map(|server| {
                        (
                            String::from_utf8_lossy(&server.name).into_owned(),
                            server.port,
                            server.addresses.len(),
                        )
                    })
                    .collect();
                if summary == servers {
                    Ok(())
                } else {
                    Err(format!("got servers {summary:?}"))
                }
            }),
        },
        lifetime: Lifetime::about(expiry),
    }
}

/// Where a case's answers come from: knotd's zone, or the crafted server (hostile messages) in
/// this mode.
#[derive(Clone, Copy)]
enum Answers {
    Zone,
    Crafted(Mode),
}

/// Builds the cases: `helper [arguments] %k` on a `dns_resolver` key, `resolv.conf` pointed at
/// the case's server first, the upcall bounded.
struct Cases {
    helper: PathBuf,
    server: Rc<LoopbackDns>,
    crafted: Rc<CraftedDns>,
}

impl Cases {
    fn case(
        &self,
        answers: Answers,
        sentence: &str,
        description: &str,
        callout: &str,
        expect: Expect,
    ) -> Case {
        self.with_arguments(answers, sentence, description, callout, &[], expect)
    }

    fn with_arguments(
        &self,
        answers: Answers,
        sentence: &str,
        description: &str,
        callout: &str,
        arguments: &[String],
        expect: Expect,
    ) -> Case {
        let mut argv = vec![self.helper.display().to_string()];
        argv.extend(arguments.iter().cloned());
        argv.push("%k".into());
        let (server, crafted) = (Rc::clone(&self.server), Rc::clone(&self.crafted));
        Case::new(
            sentence,
            &argv,
            Request::new("dns_resolver", description).callout(callout),
            expect,
        )
        .helper_timeout(Duration::from_mins(1))
        // Every case must end within the resolver's own bounds (timeout:1 attempts:1 for the
        // crafted server: two queries and the target lookups).
        .bounded(Duration::from_secs(15))
        .setup(move || {
            match answers {
                Answers::Crafted(mode) => {
                    crafted.set_mode(mode);
                    server.point_resolv_conf(&format!("nameserver {CRAFTED}\noptions timeout:1 attempts:1\n"))
                }
                Answers::Zone => server.point_resolv_conf(&format!("nameserver {SERVER}\n")),
            }
            .map_err(|error| format!("rewriting resolv.conf: {error}"))
        })
    }
}

/// The addresses of `host` as `getaddrinfo` orders them (deduplicated): the oracle for list
/// answers, since both implementations take that order.
fn system_order(host: &str, family: Family) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for address in netdb::getaddrinfo(host.as_bytes(), family).unwrap_or_default() {
        let text = address.to_string();
        if !seen.contains(&text) {
            seen.push(text);
        }
    }
    seen
}

#[allow(clippy::too_many_lines)] // one table of cases reads best in one place
fn cases(build: &Cases, config_dir: &Path) -> Vec<Case> {
    let case = |sentence, description: &str, callout, expect| {
        build.case(Answers::Zone, sentence, description, callout, expect)
    };
    let multi_all = system_order("multi.kup.test", Family::Any).join(",");
    let cell1_any: Vec<String> = system_order("vl1.cell1.kup.test", Family::Any)
        .into_iter()
        .map(|address| format!("{address}+7003"))
        .chain(std::iter::once("192.0.2.22+7004".to_owned()))
        .collect();
    let many: Vec<String> = system_order("many.kup.test", Family::Ipv4)
        .into_iter()
        .take(128)
        .collect();
    let config = |name: &str, text: &str| -> PathBuf {
        let path = config_dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let ttl_60 = config("ttl60.conf", "default_ttl = 60\n");
    let v1 = config("v1.conf", "afs_server_list_v1 = 1\n");
    let broken = config("broken.conf", "default_ttl=0\n");

    let mut cases = vec![
        case(
            "plain name gives its first ipv4 address for five seconds",
            "host1.kup.test",
            "",
            positive("192.0.2.1", 5),
        ),
        case(
            "a cname chain is followed",
            "alias.kup.test",
            "",
            positive("192.0.2.1", 5),
        ),
        case(
            "a wildcard name is answered",
            "x.wild.kup.test",
            "",
            positive("192.0.2.99", 5),
        ),
        case(
            "empty callout means ipv4 and one address",
            "multi.kup.test",
            "",
            positive("192.0.2.10", 5),
        ),
        case(
            "list gives every address in getaddrinfo order",
            "multi.kup.test",
            "list",
            positive(multi_all, 5),
        ),
        case(
            "ipv6 option gives the ipv6 address",
            "multi.kup.test",
            "ipv6",
            positive("2001:db8::10", 5),
        ),
        case(
            "ipv4 list gives both ipv4 addresses",
            "multi.kup.test",
            "ipv4 list",
            positive("192.0.2.10,192.0.2.11", 5),
        ),
        case(
            "a prefix with list behaves like no prefix",
            "a:multi.kup.test",
            "ipv4 list",
            positive("192.0.2.10,192.0.2.11", 5),
        ),
        case(
            "aaaa prefix follows the options not the prefix",
            "aaaa:multi.kup.test",
            "",
            positive("192.0.2.10", 5),
        ),
        case(
            "option values after equals are ignored",
            "multi.kup.test",
            "ipv6=no list=0",
            positive("2001:db8::10", 5),
        ),
        case(
            "a name with 140 addresses gives the first 128",
            "many.kup.test",
            "ipv4 list",
            positive(many.join(","), 5),
        ),
        case(
            "a 253 byte name is resolved",
            &long_name(),
            "",
            positive("192.0.2.250", 5),
        ),
        case("an empty name after a prefix is rejected", "a:", "", rejected())
            .diverging(rejected_ours(ENODATA)),
        case("an empty afs cell is rejected", "afsdb:", "srv=1", rejected()).diverging(rejected_ours(EAGAIN)),
        case(
            "a description with semicolons is cut after the last one",
            "ignored;host1.kup.test",
            "",
            positive("192.0.2.1", 5),
        ),
        case(
            "a name longer than dns allows is rejected",
            &format!("{}.{}", label('x', 63), long_name()),
            "",
            rejected(),
        )
        .diverging(rejected_ours(ENODATA)),
        case(
            "an afs cell longer than dns allows is rejected",
            &format!("afsdb:{}.{}", label('x', 63), long_name()),
            "",
            rejected(),
        )
        .diverging(rejected_ours(ECONNREFUSED)),
        case(
            "legacy mode on an ipv6 only name is rejected",
            "v6only.kup.test",
            "",
            rejected(),
        )
        .diverging(rejected_ours(ENODATA)),
        case(
            "a name without addresses is rejected",
            "nodata.kup.test",
            "",
            rejected(),
        )
        .diverging(rejected_ours(ENODATA)),
        case(
            "a name that does not exist is rejected",
            "nosuch.kup.test",
            "list",
            rejected(),
        )
        .diverging(rejected_ours(ENODATA)),
        case(
            "an unsupported query type is negated for a second",
            "srv:host1.kup.test",
            "",
            negative(ENOKEY, 1, 1),
        ),
        case(
            "an upper case query type is unsupported",
            "A:host1.kup.test",
            "",
            negative(ENOKEY, 1, 1),
        ),
        case(
            "a comma in an option word is negated for a second",
            "host1.kup.test",
            "list,ipv4",
            negative(ENOKEY, 1, 1),
        ),
        case(
            "afs srv answer gives addresses with ports and the smallest ttl",
            "afsdb:cell1.kup.test",
            "srv=1",
            positive(cell1_any.join(","), 100),
        ),
        case(
            "afs ipv4 callout keeps only ipv4 addresses",
            "afsdb:cell1.kup.test",
            "ipv4",
            positive("192.0.2.21+7003,192.0.2.22+7004", 100),
        ),
        case(
            "afs falls back to afsdb records without ports",
            "afsdb:cell2.kup.test",
            "srv=1",
            positive("192.0.2.31,192.0.2.32", 40),
        ),
        case(
            "afs srv ttl zero gives a key that never expires",
            "afsdb:cell3.kup.test",
            "",
            Expect::payload("192.0.2.41+7003", Lifetime::Permanent),
        ),
        case(
            "afs ttl includes a target that does not resolve",
            "afsdb:cell4.kup.test",
            "",
            positive("192.0.2.51+7003", 20),
        ),
        case(
            "afs srv name that is a cname without srv does not fall back to afsdb",
            "afsdb:cell5.kup.test",
            "",
            rejected(),
        )
        .diverging(rejected_ours(ENODATA)),
        case(
            "afs cell without srv or afsdb records is rejected",
            "afsdb:nosuch.kup.test",
            "srv=1",
            rejected(),
        )
        .diverging(rejected_ours(ENODATA)),
        case(
            "afs cell outside any zone is rejected as a temporary failure",
            "afsdb:kup-refused.invalid",
            "",
            rejected(),
        )
        .diverging(rejected_ours(EAGAIN)),
        // decisions.md 7: the reference's 512-byte buffer fails on this 12-server answer.
        case(
            "afs answer larger than 512 bytes is read whole",
            "afsdb:cell6.kup.test",
            "srv=1",
            negative(ENOKEY, 1, 1),
        )
        .diverging(positive(
            (1..=12)
                .map(|index| format!("192.0.2.{}+7003", 100 + index))
                .collect::<Vec<_>>()
                .join(","),
            60,
        )),
        // decisions.md 8: ours keeps 15 servers and logs the rest; the reference's answer does
        // not fit its buffer here (it would overflow its 15-slot table if it did).
        case(
            "afs answer with twenty servers keeps fifteen",
            "afsdb:cell7.kup.test",
            "srv=1",
            negative(ENOKEY, 1, 1),
        )
        .diverging(positive(
            (1..=15)
                .map(|index| format!("192.0.3.{index}+7003"))
                .collect::<Vec<_>>()
                .join(","),
            60,
        )),
    ];
    cases.extend(crafted_cases(build));
    let configured = |sentence, description, callout, arguments: &[String], expect| {
        build.with_arguments(Answers::Zone, sentence, description, callout, arguments, expect)
    };
    let with_config = |path: &Path| vec!["-c".to_owned(), path.display().to_string()];
    cases.push(configured(
        "configured default ttl sets the expiry of address keys",
        "host1.kup.test",
        "",
        &with_config(&ttl_60),
        positive("192.0.2.1", 60),
    ));
    cases.push(configured(
        "configured default ttl does not change afs expiry",
        "afsdb:cell2.kup.test",
        "",
        &with_config(&ttl_60),
        positive("192.0.2.31,192.0.2.32", 40),
    ));
    // Ours only: the optional binary answer kafs prefers. The reference warns about the unknown
    // option and answers in text.
    cases.push(
        configured(
            "the optional v1 server list answers afs srv=1 requests in binary",
            "afsdb:cell1.kup.test",
            "srv=1",
            &with_config(&v1),
            positive(cell1_any.join(","), 100),
        )
        .diverging(server_list(
            vec![
                (
                    "vl1.cell1.kup.test".into(),
                    7003,
                    system_order("vl1.cell1.kup.test", Family::Any).len(),
                ),
                ("vl2.cell1.kup.test".into(), 7004, 1),
            ],
            100,
        )),
    );
    cases.push(configured(
        "the v1 option leaves requests without srv in text",
        "afsdb:cell1.kup.test",
        "ipv4",
        &with_config(&v1),
        positive("192.0.2.21+7003,192.0.2.22+7004", 100),
    ));
    cases.push(configured(
        "a config error leaves a key negative for sixty seconds",
        "host1.kup.test",
        "",
        &with_config(&broken),
        negative(ENOKEY, 60, 1),
    ));
    cases.push(configured(
        "a missing named config file leaves a key negative for sixty seconds",
        "host1.kup.test",
        "",
        &with_config(&config_dir.join("absent.conf")),
        negative(ENOKEY, 60, 1),
    ));
    cases.push(configured(
        "long config option without argument fails like the reference",
        "host1.kup.test",
        "",
        &["--config".to_owned()],
        negative(ENOKEY, 60, 1),
    ));
    cases
}

/// Hostile or broken answers from `support/crafted_dns.rs` (A queries get 192.0.2.77 there):
/// where the reference behaves sanely, ours must end the key the same way.
fn crafted_cases(build: &Cases) -> Vec<Case> {
    let case = |mode, sentence, expect| {
        build.case(Answers::Crafted(mode), sentence, "afsdb:crafted.test", "", expect)
    };
    vec![
        case(
            Mode::LyingCount,
            "an answer whose record count lies takes the error path",
            negative(ENOKEY, 1, 1),
        ),
        case(
            Mode::TrailingBytes,
            "an answer with trailing bytes takes the error path",
            negative(ENOKEY, 1, 1),
        ),
        case(
            Mode::LoopingTarget,
            "an srv target that is a compression loop is skipped and the key rejected",
            rejected(),
        )
        .diverging(rejected_ours(ENODATA)),
        case(
            Mode::LoopingOwnerThenGood,
            "a record whose owner name loops is skipped and the next one used",
            positive("192.0.2.77+7003", 30),
        ),
        case(
            Mode::TruncatedWithoutTcp,
            "a truncated answer with no tcp service is a temporary failure",
            rejected(),
        )
        .diverging(rejected_ours(EAGAIN)),
        case(
            Mode::WrongId,
            "answers with the wrong id are ignored until the resolver times out",
            rejected(),
        )
        .diverging(rejected_ours(EAGAIN)),
    ]
}

/// The kernel matches `dns_resolver` descriptions case-insensitively and ignores one trailing
/// dot: the second request is served from the first key, without a second upcall.
fn cached_answer_is_shared(helper: &Path) -> Result<(), String> {
    let route = Route::with_timeout(
        &[helper.display().to_string(), "%k".into()],
        Duration::from_mins(1),
    )
    .map_err(|error| error.to_string())?;
    let first = route
        .request("dns_resolver", b"host1.kup.test", b"")
        .map_err(|error| format!("first request: {error}"))?;
    let second = route
        .request("dns_resolver", b"HOST1.Kup.Test.", b"")
        .map_err(|error| format!("second request: {error}"))?;
    let upcalls = route.upcalls().map_err(|error| error.to_string())?.len();
    if first != second || upcalls != 1 {
        return Err(format!("keys {first} / {second}, {upcalls} upcalls"));
    }
    Ok(())
}

/// Binds `/dev/log` (no syslog daemon runs on these machines) around three upcalls and checks the
/// lines: ident `key.dns_resolver` without pid, facility daemon, an error for an unsupported type,
/// an info line for a rejected name, and the `-v` info lines of a successful lookup. Refuses to
/// touch an existing `/dev/log`; waits a little if another test holds it.
fn syslog_lines_match(helper: &Path) -> Result<(), String> {
    // Other tests (nfsidmap, cifs.idmap) bind it for a few seconds too: wait up to 60 s.
    let ((), lines) = compliance::logged(Duration::from_mins(1), || {
        let plain = [helper.display().to_string(), "%k".into()];
        let verbose = [helper.display().to_string(), "-v".into(), "%k".into()];
        for (argv, description) in [
            (&plain[..], "srv:host1.kup.test"),
            (&plain[..], "nosuch.kup.test"),
            (&verbose[..], "host1.kup.test"),
        ] {
            let route =
                Route::with_timeout(argv, Duration::from_mins(1)).map_err(|error| error.to_string())?;
            let _ = route.request("dns_resolver", description.as_bytes(), b"");
        }
        Ok(())
    })?;
    // /dev/log is machine-wide: keep only our tag's lines (the ident, without a pid).
    let lines: Vec<SyslogLine> = lines
        .into_iter()
        .filter(|line| line.tag() == Some("key.dns_resolver"))
        .collect();
    let has = |level: u32, text: &str| {
        lines
            .iter()
            .any(|line| line.priority() == Some(level) && line.message() == Some(text))
    };
    let wanted = !lines.is_empty()
        && lines.iter().all(|line| line.facility() == Some(3))
        && has(27, "Error: Query type: \"srv\" is not supported")
        && has(30, "nosuch.kup.test: No address associated with name")
        && has(30, "READ CONFIG /etc/keyutils/key.dns_resolver.conf")
        && has(30, "Key description: 'dns_resolver;0;0;3b010000;host1.kup.test'")
        && has(30, "Callout info: ''")
        && has(30, "The key instantiation data is '192.0.2.1'")
        && has(30, "The expiry time is 5s");
    wanted.then_some(()).ok_or(format!("log lines {lines:?}"))
}

fn main() -> ExitCode {
    let mut runner = match Runner::start("key.dns_resolver", Tool::KeyDnsResolver) {
        Ok(runner) => runner,
        Err(error) => {
            compliance::say(&format!("error: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let server = match LoopbackDns::start(SERVER, ZONE, &zone_text()) {
        Ok(server) => Rc::new(server),
        Err(error) => {
            runner.fail("starting the loopback DNS server", error);
            return runner.finish();
        }
    };
    match CraftedDns::start(CRAFTED) {
        Ok(crafted) => {
            let build = Cases {
                helper: runner.tool().to_path_buf(),
                server: Rc::clone(&server),
                crafted: Rc::new(crafted),
            };
            for case in cases(&build, server.dir()) {
                runner.run(&case);
            }
        }
        Err(error) => runner.fail("starting the crafted DNS server", error),
    }
    match server.point_resolv_conf(&format!("nameserver {SERVER}\n")) {
        Ok(()) => {
            let helper = runner.tool().to_path_buf();
            runner.case(
                "a differently cased name with a dot is answered from the cached key",
                |_| cached_answer_is_shared(&helper),
            );
            runner.case(
                "syslog lines use the ident key.dns_resolver, facility daemon and the reference's texts",
                |_| syslog_lines_match(&helper),
            );
        }
        Err(error) => runner.fail("rewriting resolv.conf", error),
    }
    // The cases (and their setups, which hold the server) are gone: stop it, restoring
    // resolv.conf.
    match Rc::try_unwrap(server).map(LoopbackDns::stop) {
        Ok(Ok(())) => {}
        Ok(Err(error)) => runner.fail("restoring resolv.conf", error),
        Err(_) => runner.fail("restoring resolv.conf", "the server is still shared"),
    }
    runner.finish()
}
