//! Hostile clients against our daemon: truncated, oversized, fragmented, garbage and slow
//! records, hundreds of idle connections, a connect burst, and clients hoarding memory. After
//! each, and while the slow and hoarding ones are still connected, a good client must be
//! answered at once; the daemon must not exit, and its memory stays bounded.

mod support;

use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

use kup_gssx::gssx::{ArgGetCallContext, CallCtx, Xdr};
use kup_gssx::xdr::Encoder;
use support::*;

const CONFIG: &str = "[gssproxy]\n\n[service/nfs-server]\n  mechs = krb5\n  socket = @DIR@/gssproxy.sock\n  \
                      cred_store = keytab:@DIR@/missing.keytab\n  euid = 0\n";
/// How fast a good client must be served while the hostile ones are connected.
const PROMPT: Duration = Duration::from_secs(2);

fn get_call_context(xid: u32) -> Vec<u8> {
    let mut encoder = Encoder::new(4096);
    ArgGetCallContext {
        call_ctx: CallCtx::default(),
        options: Vec::new(),
    }
    .encode(&mut encoder);
    call_body(xid, 2, &encoder.finish().unwrap())
}

/// A fresh client makes one call and is answered within [`PROMPT`].
fn assert_served(daemon: &mut Daemon) {
    assert!(daemon.is_running(), "the daemon exited: {}", daemon.stderr_text());
    let start = Instant::now();
    let mut client = Client::connect(&daemon.socket).expect("connect");
    let reply = client
        .call(&get_call_context(77))
        .expect("call")
        .expect("a reply");
    assert_eq!(reply[..4], [0, 0, 0, 77]);
    assert!(
        start.elapsed() < PROMPT,
        "a good client waited {:?}",
        start.elapsed()
    );
}

/// Whether the daemon closed `stream` (EOF or reset) within `wait`.
fn closed_within(stream: &mut UnixStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut byte = [0_u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => error.kind() == ErrorKind::ConnectionReset,
    }
}

fn daemon_for(tag: &str) -> (TempDir, Daemon) {
    let dir = TempDir::new(tag);
    let daemon = Daemon::launch(&ours(), &dir.0, CONFIG, &[], &[]);
    (dir, daemon)
}

#[test]
fn bad_records_close_their_connection_and_nothing_else() {
    let (_dir, mut daemon) = daemon_for("badrec");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("over 1 MiB", 0x8010_0001_u32.to_be_bytes().to_vec()),
        (
            "not the last fragment",
            [0x0000_0010_u32.to_be_bytes().to_vec(), vec![0; 16]].concat(),
        ),
        (
            "a record shorter than a call header",
            [0x8000_0004_u32.to_be_bytes().to_vec(), vec![0; 4]].concat(),
        ),
        (
            "a reply instead of a call",
            [
                0x8000_0008_u32.to_be_bytes().to_vec(),
                vec![0, 0, 0, 1, 0, 0, 0, 1],
            ]
            .concat(),
        ),
    ];
    for (what, bytes) in cases {
        let mut client = Client::connect(&daemon.socket).unwrap();
        client.stream.write_all(&bytes).unwrap();
        assert!(
            closed_within(&mut client.stream, Duration::from_secs(5)),
            "{what}: not closed"
        );
        assert_served(&mut daemon);
    }
    // Truncated: the peer goes away inside a record.
    for cut in [1, 3, 4, 20] {
        let mut stream = UnixStream::connect(&daemon.socket).unwrap();
        let record = kup_gssx::record::write_record(&get_call_context(1), usize::MAX).unwrap();
        stream.write_all(&record[..cut]).unwrap();
        drop(stream);
        assert_served(&mut daemon);
    }
}

#[test]
fn garbage_is_answered_or_closed_and_the_daemon_goes_on() {
    let (_dir, mut daemon) = daemon_for("garbage");
    // A fixed pseudo-random sequence, so a failure replays.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..300_u32 {
        let length = usize::try_from(next() % 2048).unwrap();
        let mut body: Vec<u8> = (0..length)
            .map(|_| u8::try_from(next() & 0xff).unwrap())
            .collect();
        // Half the rounds keep a valid header so the argument decoders see the garbage.
        if round % 2 == 0 {
            let procedure = u32::try_from(next() % 16).unwrap();
            let mut call = call_body(round, procedure, &[]);
            call.append(&mut body);
            body = call;
        }
        let mut client = Client::connect(&daemon.socket).unwrap();
        // Either a reply or a closed connection; never a hang (the read times out the test).
        let _ = client.call(&body).expect("a reply or a close, not a timeout");
    }
    assert_served(&mut daemon);
}

#[test]
fn a_slow_client_does_not_delay_others_and_is_answered_in_the_end() {
    let (_dir, mut daemon) = daemon_for("slow");
    let record = kup_gssx::record::write_record(&get_call_context(5), usize::MAX).unwrap();
    let mut slow = Client::connect(&daemon.socket).unwrap();
    // One byte every 100 ms: 6.4 s for the whole record, within the 10 s record timeout.
    for byte in &record {
        slow.stream.write_all(&[*byte]).unwrap();
        assert_served(&mut daemon);
        thread::sleep(Duration::from_millis(100));
    }
    let reply = slow.receive().unwrap().expect("the slow client's reply");
    assert_eq!(reply[..4], [0, 0, 0, 5]);
}

#[test]
fn a_partial_record_is_dropped_after_the_record_timeout() {
    let (_dir, mut daemon) = daemon_for("partial");
    let mut stalled = UnixStream::connect(&daemon.socket).unwrap();
    stalled.write_all(&0x8000_0100_u32.to_be_bytes()).unwrap();
    stalled.write_all(&[0; 10]).unwrap();
    let start = Instant::now();
    assert!(
        closed_within(&mut stalled, Duration::from_secs(20)),
        "a stalled record was kept"
    );
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(15),
        "closed after {waited:?}"
    );
    assert_served(&mut daemon);
}

#[test]
fn hundreds_of_idle_connections_and_a_connect_burst_lose_no_client() {
    let (_dir, mut daemon) = daemon_for("idle");
    let idle: Vec<UnixStream> = (0..800)
        .map(|_| UnixStream::connect(&daemon.socket).expect("idle connection"))
        .collect();
    assert_served(&mut daemon);
    // 64 clients connect at once and each makes a call.
    let socket = daemon.socket.clone();
    let burst: Vec<_> = (0..64_u32)
        .map(|index| {
            let socket = socket.clone();
            thread::spawn(move || {
                let mut client = Client::connect(&socket).expect("connect in the burst");
                let reply = client
                    .call(&get_call_context(index))
                    .expect("call")
                    .expect("a reply");
                assert_eq!(reply[..4], index.to_be_bytes());
            })
        })
        .collect();
    for client in burst {
        client.join().expect("every client of the burst served");
    }
    assert_served(&mut daemon);
    drop(idle);
}

#[test]
fn clients_hoarding_megabyte_records_cannot_exhaust_memory_or_starve_others() {
    let (_dir, mut daemon) = daemon_for("hoard");
    let before = daemon.rss_kib();
    let chunk = vec![0x5a_u8; 64 << 10];
    // 200 clients each announce a 1 MiB record and send as much of it as the daemon takes:
    // 200 MiB offered, pushed round-robin until the daemon takes no more.
    let mut hoarders: Vec<(UnixStream, usize)> = (0..200)
        .map(|_| {
            let mut stream = UnixStream::connect(&daemon.socket).unwrap();
            stream.write_all(&0x8010_0000_u32.to_be_bytes()).unwrap();
            stream.set_nonblocking(true).unwrap();
            (stream, 0)
        })
        .collect();
    let mut last_progress = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(8);
    while last_progress.elapsed() < Duration::from_millis(500) && Instant::now() < deadline {
        for (stream, sent) in &mut hoarders {
            let left = (1 << 20) - 1 - *sent;
            if left == 0 {
                continue;
            }
            if let Ok(count) = stream.write(&chunk[..left.min(chunk.len())]) {
                *sent += count;
                last_progress = Instant::now();
            }
        }
        thread::sleep(Duration::from_millis(5));
    }
    let offered: usize = hoarders.iter().map(|(_, sent)| sent).sum();
    assert!(
        offered > 100 << 20,
        "only {offered} bytes went out: the test did not press"
    );
    thread::sleep(Duration::from_millis(500));
    assert_served(&mut daemon);
    let during = daemon.rss_kib();
    // The budget is 64 MiB of records (allocations may round that up to twice as much), far
    // from the 200 MiB offered.
    assert!(
        during.saturating_sub(before) < 150 * 1024,
        "the daemon grew from {before} KiB to {during} KiB"
    );
    drop(hoarders);
    thread::sleep(Duration::from_millis(300));
    assert_served(&mut daemon);
}
