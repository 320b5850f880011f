//! The README's demonstration: real upcalls through this machine's kernel.
//!
//! For each helper (Debian's C original, then kup's own) it asks the kernel for a key, which makes
//! the kernel run `/sbin/request-key`, which (through the harness rule) runs the helper; then it
//! prints the key as the kernel holds it. Two requests: a `dns_resolver` key (the real key type of
//! the host kernel) answered by `key.dns_resolver`, and a `user` key carrying the description the
//! nfsv4 module sends for an `id_resolver` key, answered by nfsidmap.
//!
//! Usage: `demo [HOST-NAME]` (default `localhost`; names not in /etc/hosts go to the system's DNS).

#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::{self, Write as _};

use kup_sys::{keyctl, proc_keys};
use kup_testkit::reference::{self, Tool};
use kup_testkit::upcall::Route;

/// One request, answered by each of two helpers in turn.
struct Scene {
    key_type: &'static str,
    description: Vec<u8>,
    tool: Tool,
    label: &'static str,
    arguments: &'static [&'static str],
}

fn main() -> io::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "localhost".to_owned());
    let scenes = [
        Scene {
            key_type: "dns_resolver",
            description: name.into_bytes(),
            tool: Tool::KeyDnsResolver,
            label: "key.dns_resolver",
            arguments: &["%k"],
        },
        Scene {
            key_type: "user",
            description: b"uid:root@localdomain".to_vec(),
            tool: Tool::Nfsidmap,
            label: "nfsidmap",
            arguments: &["-t", "600", "%k", "%d"],
        },
    ];
    let mut out = io::stdout().lock();
    for scene in &scenes {
        writeln!(
            out,
            "#### request_key({:?}, {:?}, \"\") from this process's own session keyring\n",
            scene.key_type,
            String::from_utf8_lossy(&scene.description)
        )?;
        let helpers = [
            (
                format!("Debian {} {}", scene.label, scene.tool.reference_version()),
                reference::theirs(scene.tool)?,
            ),
            (format!("kup {}", scene.label), reference::ours(scene.tool)?),
        ];
        for (label, path) in helpers {
            let mut argv: Vec<OsString> = vec![path.clone().into_os_string()];
            argv.extend(scene.arguments.iter().map(OsString::from));
            let route = Route::new(&argv)?;
            let started = std::time::Instant::now();
            let result = route.request(scene.key_type, &scene.description, b"");
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
    }
    Ok(())
}
