//! Per-upcall latency of `key.dns_resolver` for a name answered by DNS (a Knot DNS server on
//! loopback, `/etc/resolv.conf` pointed at it for the run) and for an `/etc/hosts` name: the
//! floor (`kup-floor`, constant payload), Debian's binary and ours, interleaved round by round.
//!
//! Run as root: `cargo run --release -p key-dns-resolver --example dns_latency [rounds]`.

#[allow(dead_code)]
#[path = "../tests/support/loopback_dns.rs"]
mod loopback_dns;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use kup_testkit::reference::{self, Tool};
use kup_testkit::upcall::Route;

const ZONE: &str = "$ORIGIN kup.test.\n$TTL 300\n@ SOA ns admin 1 3600 600 86400 60\n@ NS ns\n\
                    ns A 127.83.0.53\nhost1 A 192.0.2.1\n";

fn main() -> io::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|value| value.parse().ok())
        .unwrap_or(200);
    let subjects: Vec<(&str, Vec<OsString>)> = vec![
        (
            "floor (constant payload)",
            vec![
                reference::workspace_binary("kup-floor", "kup-floor")?.into_os_string(),
                "%k".into(),
            ],
        ),
        (
            "Debian key.dns_resolver 1.6.3",
            vec![
                reference::theirs(Tool::KeyDnsResolver)?.into_os_string(),
                "%k".into(),
            ],
        ),
        (
            "kup key.dns_resolver",
            vec![
                reference::ours(Tool::KeyDnsResolver)?.into_os_string(),
                "%k".into(),
            ],
        ),
    ];
    let server =
        loopback_dns::LoopbackDns::start(IpAddr::V4(Ipv4Addr::new(127, 83, 0, 53)), "kup.test", ZONE)?;
    let mut out = String::new();
    for (title, description) in [
        (
            "DNS name (`host1.kup.test`, knotd on loopback)",
            &b"host1.kup.test"[..],
        ),
        ("/etc/hosts name (`localhost`)", &b"localhost"[..]),
    ] {
        let medians = measure(&subjects, description, rounds)?;
        let _ = write!(
            out,
            "\n### {title}, {rounds} rounds\n\n| helper | median | vs floor | vs C original |\n|---|---:|---:|---:|\n"
        );
        for ((label, _), median) in subjects.iter().zip(&medians) {
            let _ = writeln!(
                out,
                "| {label} | {:.2} ms | {:.2}x | {:.2}x |",
                median.as_secs_f64() * 1e3,
                median.as_secs_f64() / medians[0].as_secs_f64(),
                median.as_secs_f64() / medians[1].as_secs_f64()
            );
        }
    }
    server.stop()?;
    io::stdout().lock().write_all(out.as_bytes())
}

fn measure(
    subjects: &[(&str, Vec<OsString>)],
    description: &[u8],
    rounds: usize,
) -> io::Result<Vec<Duration>> {
    let route = Route::new(&subjects[0].1)?;
    let mut samples = vec![Vec::with_capacity(rounds); subjects.len()];
    for round in 0..rounds + 5 {
        for (index, (_, argv)) in subjects.iter().enumerate() {
            route.set_argv(argv)?;
            let started = Instant::now();
            let result = route.request("dns_resolver", description, b"");
            let elapsed = started.elapsed();
            route.clear()?;
            if round >= 5 && result.is_ok() {
                samples[index].push(elapsed);
            }
        }
    }
    Ok(samples
        .into_iter()
        .map(|mut times| {
            times.sort_unstable();
            times.get(times.len() / 2).copied().unwrap_or_default()
        })
        .collect())
}
