//! One benchmark run: per-upcall latency of `os:<domain user SID>` on a `user` key through the real
//! kernel path (`request_key` → request-key → kup-test-dispatch → helper → instantiate), with the
//! throw-away AD DC's winbindd answering. Subjects run interleaved round by round: the floor
//! (`kup-floor`, constant payload), Debian's cifs.idmap and ours. Prints a Markdown table.
//!
//! Run as root: `KUP_PROFILE=release cargo run --release -p cifs-idmap --example cifs_idmap_latency [rounds]`.

#[path = "../tests/support/samba.rs"]
#[allow(dead_code)]
mod samba;

use std::ffi::OsString;
use std::io::{self, Write as _};
use std::time::{Duration, Instant};

use kup_testkit::reference::{self, Tool};
use kup_testkit::upcall::Route;

fn main() -> io::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(300);
    let floor = reference::workspace_binary("kup-floor", "kup-floor")?;
    let subjects: Vec<(String, OsString)> = vec![
        ("floor (constant payload)".to_owned(), floor.into_os_string()),
        (
            "Debian cifs.idmap 7.0 + idmapwb.so".to_owned(),
            reference::theirs(Tool::CifsIdmap)?.into_os_string(),
        ),
        (
            "kup cifs.idmap + idmapwb.so".to_owned(),
            reference::ours(Tool::CifsIdmap)?.into_os_string(),
        ),
    ];
    let dc = samba::Dc::start()?;
    dc.add_user("kupbench", 70501, 100)?;
    let sid = dc.sid_of("kupbench")?;
    let description = format!("os:{sid}");
    let route = Route::new(&[subjects[0].1.clone(), "%k".into()])?;
    let mut samples = vec![Vec::with_capacity(rounds); subjects.len()];
    let mut failures = vec![0usize; subjects.len()];
    for round in 0..rounds.saturating_add(10) {
        for (index, (_, program)) in subjects.iter().enumerate() {
            route.set_argv(&[program.clone(), "%k".into()])?;
            route.clear()?;
            let start = Instant::now();
            let result = route.request("user", description.as_bytes(), b"");
            let elapsed = start.elapsed();
            if round < 10 {
                continue; // warm-up: page cache, winbind cache
            }
            match result {
                Ok(_) => samples[index].push(elapsed),
                Err(_) => failures[index] += 1,
            }
        }
    }
    drop(dc);
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "### cifs.idmap: `os:<domain user SID>` on a `user` key, AD DC winbindd answering\n"
    )?;
    writeln!(out, "| helper | median | p90 | p99 | failures |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    let mut medians = Vec::new();
    for ((label, _), (times, failed)) in subjects.iter().zip(samples.iter_mut().zip(&failures)) {
        times.sort();
        let at = |fraction: f64| -> Duration {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let index = ((times.len() as f64 - 1.0) * fraction).round() as usize;
            times.get(index).copied().unwrap_or_default()
        };
        medians.push(at(0.5));
        writeln!(
            out,
            "| {label} | {:.2} ms | {:.2} ms | {:.2} ms | {failed} |",
            at(0.5).as_secs_f64() * 1e3,
            at(0.9).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3
        )?;
    }
    if let [_, theirs, ours] = medians.as_slice() {
        writeln!(
            out,
            "\nours / theirs (medians): {:.2}x, {rounds} rounds",
            ours.as_secs_f64() / theirs.as_secs_f64()
        )?;
    }
    Ok(())
}
