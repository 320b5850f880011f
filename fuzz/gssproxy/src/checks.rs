//! The daemon's procedure layer (`gssproxy::procedures::answer`) over arbitrary records: one
//! byte picks the service (the kernel's, or an interposer service that impersonates), the rest
//! is the record body. MIT's GSSAPI runs underneath with a real keytab (one fixed AES key for
//! `nfs/localhost@KUP.FUZZ`, written once to a private file): tokens, names and handles from the
//! input reach the library's parsers and the daemon's handle decryption.
//!
//! Checked: no panic, and every answer is one complete record (last-fragment bit, the length it
//! states, within the daemon's record limit) whose body starts with the call's xid and a REPLY
//! message type; `None` (connection closed) only for what the RPC header checks refuse.

use std::sync::OnceLock;

use gssproxy::config::{DaemonConfig, Sources};
use kup_gssx::call::{Decoded, decode_call};
use kup_gssx::xdr::{Limits, MAX_RECORD_DEFAULT};

/// The fixture's services, read once.
fn services() -> &'static DaemonConfig {
    static CONFIG: OnceLock<DaemonConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        // One fixed directory for every run (the contents never change; each file is written
        // under a private name and renamed, so parallel runs never see a partial one).
        let dir = std::env::temp_dir().join("kup-gssproxy-fuzz");
        std::fs::create_dir_all(&dir).expect("fixture directory");
        let write = |name: &str, bytes: &[u8]| {
            let partial = dir.join(format!("{name}.{}", std::process::id()));
            std::fs::write(&partial, bytes).expect("fixture file");
            std::fs::rename(&partial, dir.join(name)).expect("fixture file");
        };
        let keytab = dir.join("fuzz.keytab");
        write("fuzz.keytab", &keytab_bytes());
        let config = dir.join("gssproxy.conf");
        write(
            "gssproxy.conf",
            format!(
                "[gssproxy]\n\n[service/nfs-server]\n  mechs = krb5\n  socket = {dir}/nfs.sock\n  \
                 cred_store = keytab:{keytab}\n  trusted = yes\n  kernel_nfsd = yes\n  euid = 0\n\n\
                 [service/interposer]\n  mechs = krb5\n  cred_store = keytab:{keytab}\n  \
                 cred_store = client_keytab:{keytab}\n  impersonate = yes\n  \
                 allow_protocol_transition = yes\n  euid = 0\n  allow_any_uid = yes\n",
                dir = dir.display(),
                keytab = keytab.display()
            )
            .as_bytes(),
        );
        let mut config = gssproxy::config::read(&Sources {
            config_file: Some(config),
            config_dir: None,
            socket: Some(dir.join("default.sock")),
            ..Sources::default()
        })
        .expect("the fixture configuration reads");
        for service in &mut config.services {
            service.load_handle_key();
        }
        config
    })
}

/// A keytab file (format 0x502) with one aes256-cts-hmac-sha1-96 key for
/// `nfs/localhost@KUP.FUZZ`, kvno 2.
fn keytab_bytes() -> Vec<u8> {
    let counted = |bytes: &[u8]| {
        let mut out = u16::try_from(bytes.len()).expect("short").to_be_bytes().to_vec();
        out.extend_from_slice(bytes);
        out
    };
    let mut entry = 2u16.to_be_bytes().to_vec();
    entry.extend(counted(b"KUP.FUZZ"));
    entry.extend(counted(b"nfs"));
    entry.extend(counted(b"localhost"));
    entry.extend_from_slice(&1u32.to_be_bytes()); // KRB5_NT_PRINCIPAL
    entry.extend_from_slice(&0u32.to_be_bytes()); // timestamp
    entry.push(2); // kvno (8 bits)
    entry.extend_from_slice(&18u16.to_be_bytes()); // aes256-cts-hmac-sha1-96
    entry.extend(counted(&[0x5a; 32]));
    entry.extend_from_slice(&2u32.to_be_bytes()); // kvno (32 bits)
    let mut file = vec![0x05, 0x02];
    file.extend_from_slice(&i32::try_from(entry.len()).expect("short").to_be_bytes());
    file.extend(entry);
    file
}

/// See the module text.
pub fn procedures(data: &[u8]) {
    let Some((&selector, record)) = data.split_first() else {
        return;
    };
    let config = services();
    let Some(service) = config
        .services
        .get(usize::from(selector) % config.services.len().max(1))
    else {
        return;
    };
    let answer = gssproxy::procedures::answer(record, service, kup_sys::Uid::new(0));
    let closes = matches!(decode_call(record, Limits::DEFAULT), Decoded::Close);
    let Some(reply) = answer else {
        assert!(closes, "a call the header checks accept is answered");
        return;
    };
    assert!(!closes, "a refused call closes the connection");
    let (mark, body) = reply.split_first_chunk::<4>().expect("a record mark");
    let mark = u32::from_be_bytes(*mark);
    assert_ne!(mark & 0x8000_0000, 0, "one last fragment");
    assert_eq!((mark & 0x7fff_ffff) as usize, body.len(), "the stated length");
    assert!(body.len() <= MAX_RECORD_DEFAULT, "within the record limit");
    assert_eq!(body.get(..4), record.get(..4), "the call's xid");
    assert_eq!(body.get(4..8), Some(&[0, 0, 0, 1][..]), "a REPLY");
}
