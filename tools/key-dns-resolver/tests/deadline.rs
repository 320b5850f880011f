//! The total deadline (decisions.md 10) of `key.dns_resolver`, through real `dns_resolver`
//! upcalls: a DNS server on loopback answers the AFS cell's SRV query with several VL server
//! targets and never answers their A/AAAA queries. Each target costs one full `getaddrinfo`
//! (5 s × 2 attempts with the default `resolv.conf` options), so without a deadline the upcall
//! runs about 10 s per target; the helper gives up after its 30 s, negating the key like its error
//! path (1 s) and exiting 1. Debian's helper, run beside it on the same server, is still running
//! when the harness kills it.
//!
//! `/etc/resolv.conf` is swapped through `support/loopback_dns.rs` (the shared lock and the
//! watchdog that restores it), then pointed at the silent server.

#[allow(dead_code)] // shared with the compliance suite, which uses all of it
#[path = "support/loopback_dns.rs"]
mod loopback_dns;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::thread;
use std::time::Duration;

use key_dns_resolver::DEADLINE;
use kup_sys::proc_keys;
use kup_sys::{KeySerial, keyctl};
use kup_testkit::reference::{self, Tool};
use kup_testkit::upcall::{Route, Upcall, UpcallStatus};

/// knotd, only so that `LoopbackDns` takes the lock and swaps `resolv.conf`.
const KNOT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 83, 1, 53));
const KNOT_ZONE: &str = "deadline.kup.test";
/// The server that answers SRV and swallows everything else.
const SILENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 83, 1, 55));
/// VL server targets in the SRV answer: 8 × 10 s without a deadline.
const TARGETS: u8 = 8;
/// `ENOKEY`: what a requester of a negated key gets.
const ENOKEY: i32 = 126;
/// Allowed beyond the deadline: the watchdog's bounded waits and upcall overhead.
const MARGIN: Duration = Duration::from_secs(4);

#[test]
fn an_upcall_stuck_on_unanswered_address_lookups_ends_at_the_deadline() {
    assert_eq!(DEADLINE.limit, Duration::from_secs(30), "the documented default");
    assert_eq!(DEADLINE.exit_code, 1);
    let ours = reference::ours(Tool::KeyDnsResolver).unwrap();
    let theirs = reference::theirs(Tool::KeyDnsResolver).unwrap();
    let zone = format!(
        "$ORIGIN {KNOT_ZONE}.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\nns A {KNOT}\n"
    );
    let server = loopback_dns::LoopbackDns::start(KNOT, KNOT_ZONE, &zone).unwrap();
    start_silent_server(SILENT).unwrap();
    server
        .point_resolv_conf(&format!("nameserver {SILENT}\n"))
        .unwrap();

    // Both at once, each from its own thread (routes are per-thread session keyrings).
    let cell = format!("cell-{}.deadline.kup.test", std::process::id());
    let theirs_run = {
        let cell = format!("theirs-{cell}");
        thread::spawn(move || run(&theirs, &cell, DEADLINE.limit + MARGIN + Duration::from_secs(2)))
    };
    let ours_seen = run(&ours, &format!("ours-{cell}"), Duration::from_mins(2));
    let theirs_seen = theirs_run.join().unwrap();
    server.stop().unwrap();

    let (request, negative, upcall) = ours_seen;
    assert_eq!(request, Err(Some(ENOKEY)), "ours: negated, as its error path");
    assert_eq!(negative, Some(true), "ours: the key is negative");
    assert_eq!(upcall.status, UpcallStatus::Exited(1), "ours: {upcall:?}");
    assert!(
        upcall.duration >= DEADLINE.limit && upcall.duration <= DEADLINE.limit + MARGIN,
        "ours ended after {:?}, deadline {:?}",
        upcall.duration,
        DEADLINE.limit
    );
    let (_, _, upcall) = theirs_seen;
    assert_eq!(
        upcall.status,
        UpcallStatus::TimedOut,
        "Debian's helper has no deadline: still looking up targets when killed: {upcall:?}"
    );
}

/// One upcall for the AFS cell `cell` with `helper`, killed by the harness after `bound`: the
/// requester's result, whether the key is negative, and how the helper ended.
fn run(
    helper: &std::path::Path,
    cell: &str,
    bound: Duration,
) -> (Result<(), Option<i32>>, Option<bool>, Upcall) {
    let route = Route::with_timeout(&[helper.to_str().unwrap(), "%k"], bound).unwrap();
    let request = route
        .request("dns_resolver", format!("afsdb:{cell}").as_bytes(), b"")
        .map(drop)
        .map_err(|error| error.raw_os_error());
    let negative = keyctl::keyring_members(route.session())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|serial: KeySerial| proc_keys::find(serial).ok().flatten())
        .find(|key| key.key_type.starts_with("dns_reso"))
        .map(|key| key.flags.negative);
    let upcall = route.upcalls().unwrap().into_iter().next().expect("one upcall");
    (request, negative, upcall)
}

/// Serves on `address`:53 (UDP) until the process ends: SRV queries get [`TARGETS`] targets
/// `vlN.<cell>`; nothing else is ever answered.
fn start_silent_server(address: IpAddr) -> std::io::Result<()> {
    let socket = UdpSocket::bind(SocketAddr::new(address, 53))?;
    thread::spawn(move || {
        let mut buffer = [0_u8; 512];
        while let Ok((length, peer)) = socket.recv_from(&mut buffer) {
            if let Some(reply) = srv_reply(&buffer[..length]) {
                let _ = socket.send_to(&reply, peer);
            }
        }
    });
    Ok(())
}

/// The SRV answer for a `_afs3-vlserver._udp.<cell>` query, or `None` for any other query.
fn srv_reply(query: &[u8]) -> Option<Vec<u8>> {
    const SRV: u16 = 33;
    let id = query.get(..2)?;
    // Question: labels from offset 12, then type and class.
    let mut offset = 12;
    let mut label_starts = Vec::new();
    loop {
        let length = usize::from(*query.get(offset)?);
        if length == 0 {
            break;
        }
        label_starts.push(offset);
        offset += 1 + length;
    }
    let question_end = offset + 5;
    let question_type = u16::from_be_bytes([*query.get(offset + 1)?, *query.get(offset + 2)?]);
    if question_type != SRV {
        return None;
    }
    // The cell starts after `_afs3-vlserver` and `_udp`.
    let cell = u16::try_from(*label_starts.get(2)?).ok()?;
    let mut reply = id.to_vec();
    reply.extend_from_slice(&[0x81, 0x80, 0, 1, 0, TARGETS, 0, 0, 0, 0]);
    reply.extend_from_slice(query.get(12..question_end)?);
    for target in 0..TARGETS {
        let label = format!("vl{target}");
        let mut rdata = vec![0, 0, 0, 0, 0x1b, 0x5b]; // priority 0, weight 0, port 7003
        rdata.push(u8::try_from(label.len()).ok()?);
        rdata.extend_from_slice(label.as_bytes());
        rdata.extend_from_slice(&(0xc000 | cell).to_be_bytes());
        reply.extend_from_slice(&[0xc0, 0x0c]); // owner: the question name
        reply.extend_from_slice(&SRV.to_be_bytes());
        reply.extend_from_slice(&[0, 1, 0, 0, 1, 0x2c]); // class IN, TTL 300
        reply.extend_from_slice(&u16::try_from(rdata.len()).ok()?.to_be_bytes());
        reply.extend_from_slice(&rdata);
    }
    Some(reply)
}
