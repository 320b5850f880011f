//! The README's demonstration: real `dns_resolver` upcalls through this machine's kernel.
//!
//! For each helper (Debian's C original, kup's own when it is built, and the benchmark floor) it
//! asks the kernel for a `dns_resolver` key, which makes the kernel run `/sbin/request-key`, which
//! (through the harness rule) runs the helper; then it prints the key as the kernel holds it.

use std::io::{self, Write as _};
use std::path::PathBuf;

use kup_sys::{keyctl, proc_keys};
use kup_testkit::reference::{self, Tool};
use kup_testkit::upcall::Route;

fn main() -> io::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "localhost".to_owned());
    let mut helpers: Vec<(String, PathBuf)> = Vec::new();
    helpers.push((
        "Debian key.dns_resolver (keyutils 1.6.3)".to_owned(),
        reference::theirs(Tool::KeyDnsResolver)?,
    ));
    match reference::ours(Tool::KeyDnsResolver) {
        Ok(path) => helpers.push(("kup key.dns_resolver".to_owned(), path)),
        Err(_) => helpers.push(("kup floor (key.dns_resolver not built yet)".to_owned(), floor()?)),
    }
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "request_key(\"dns_resolver\", \"{name}\", \"\") from this process's own session keyring\n"
    )?;
    for (label, path) in helpers {
        let route = Route::new(&[path.as_os_str(), "%k".as_ref()])?;
        let started = std::time::Instant::now();
        let result = route.request("dns_resolver", name.as_bytes(), b"");
        let elapsed = started.elapsed();
        writeln!(out, "== {label}\n   helper: {}", path.display())?;
        for upcall in route.upcalls()? {
            writeln!(
                out,
                "   kernel ran: {:?} -> {:?} in {:?}",
                upcall.argv, upcall.status, upcall.duration
            )?;
        }
        match result {
            Ok(key) => {
                let payload = keyctl::read(key)?;
                let described = keyctl::describe(key)?;
                let state = proc_keys::find(key)?;
                writeln!(
                    out,
                    "   key {key}: type {}, description {:?}\n   payload {:?} ({} bytes)\n   expiry {:?}; round trip {elapsed:?}\n",
                    String::from_utf8_lossy(&described.key_type),
                    String::from_utf8_lossy(&described.description),
                    String::from_utf8_lossy(&payload),
                    payload.len(),
                    state.map(|key| key.expiry),
                )?;
            }
            Err(error) => writeln!(out, "   the requester got: {error}\n")?,
        }
    }
    Ok(())
}

fn floor() -> io::Result<PathBuf> {
    reference::workspace_binary("kup-floor", "kup-floor")
}
