//! `gss_accept KEYTAB < token`: MIT's acceptor as a test tool. Accepts one initiator token (a
//! krb5 GSS-API token, or a SPNEGO `NegTokenInit` around one) with the keytab's keys and prints
//! `key=<hex>` (the acceptor's session key, from its lucid context), `mech=<hex>` (the
//! mechanism MIT recognised) and `initiator=<name>` (the client principal that authenticated) on
//! stdout; any failure is a message on stderr and exit 1.
//!
//! A separate process so that the caller chooses the acceptor's environment (libkrb5 reads it).

#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::io::{self, Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use kup_gss::gss::{self, Credential, Mech};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

fn accept() -> Result<String, String> {
    let keytab = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: gss_accept KEYTAB < token")?;
    let mut token = Vec::new();
    io::stdin()
        .read_to_end(&mut token)
        .map_err(|error| format!("reading the token: {error}"))?;
    let cred = Credential::acceptor_from_keytab(&keytab)
        .map_err(|error| format!("acceptor credentials: {error}"))?;
    let step =
        gss::accept_sec_context(&cred, &token, Mech::Krb5).map_err(|error| format!("accept: {error}"))?;
    if !step.complete {
        return Err("the acceptor wants another token".to_owned());
    }
    let mech = hex(step.context.actual_mech());
    let initiator = step.context.initiator().unwrap_or_default().into_owned();
    let key = step
        .context
        .into_lucid_session_key()
        .map_err(|error| format!("lucid export: {error}"))?;
    Ok(format!(
        "key={}\nmech={mech}\ninitiator={initiator}\n",
        hex(key.as_bytes())
    ))
}

fn main() -> ExitCode {
    match accept() {
        Ok(text) => {
            let _ = io::stdout().lock().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(message) => {
            let _ = writeln!(io::stderr().lock(), "gss_accept: {message}");
            ExitCode::FAILURE
        }
    }
}
