//! The daemon's transport and RPC layer without Kerberos: records, the reference's RPC error
//! replies (spec gssproxy-protocol.md §1.5, §7.2) byte for byte, pipelining, service matching,
//! the procedures that need no KDC, signals and the command line. The RPC error table also
//! runs against Debian's gssproxy 0.9.1, which must give the same bytes.

mod support;

use std::path::Path;
use std::process::Command;

use kup_gssx::gssx::{ArgGetCallContext, CallCtx, ResIndicateMechs, Xdr};
use kup_gssx::rpc::ReplyHeader;
use kup_gssx::xdr::{Decoder, Encoder, Limits};
use kup_testkit::reference::{self, Tool};
use support::*;

const CONFIG: &str = "[gssproxy]\n\n[service/nfs-server]\n  mechs = krb5\n  socket = @DIR@/gssproxy.sock\n  \
                      cred_store = keytab:@DIR@/missing.keytab\n  trusted = yes\n  kernel_nfsd = yes\n  euid = 0\n";

fn get_call_context_arguments() -> Vec<u8> {
    let mut encoder = Encoder::new(4096);
    ArgGetCallContext {
        call_ctx: CallCtx::default(),
        options: Vec::new(),
    }
    .encode(&mut encoder);
    encoder.finish().unwrap()
}

fn words(body: &[u8]) -> Vec<u32> {
    body.chunks(4)
        .map(|chunk| u32::from_be_bytes(chunk.try_into().unwrap()))
        .collect()
}

/// The §7.2 cases: (what, call body, the reply's words).
fn rpc_error_cases() -> Vec<(&'static str, Vec<u8>, Vec<u32>)> {
    let xid = 0x1122_3344;
    let header = |rpcvers: u32, prog: u32, vers: u32, proc_: u32, flavor: u32| {
        let mut encoder = Encoder::new(4096);
        for word in [xid, 0, rpcvers, prog, vers, proc_, flavor, 0, 0, 0] {
            encoder.u32(word);
        }
        encoder.finish().unwrap()
    };
    let with_args = |mut body: Vec<u8>, arguments: &[u8]| {
        body.extend_from_slice(arguments);
        body
    };
    let args = get_call_context_arguments();
    vec![
        (
            "the NULL procedure",
            with_args(header(2, 400_112, 1, 0, 0), &args),
            vec![xid, 1, 0, 0, 0, 3],
        ),
        (
            "procedure 16",
            with_args(header(2, 400_112, 1, 16, 0), &args),
            vec![xid, 1, 0, 0, 0, 3],
        ),
        (
            "program 100003",
            with_args(header(2, 100_003, 1, 2, 0), &args),
            vec![xid, 1, 0, 0, 0, 1],
        ),
        (
            "version 2",
            with_args(header(2, 400_112, 2, 2, 0), &args),
            vec![xid, 1, 0, 0, 0, 2, 1, 1],
        ),
        (
            "RPC version 3",
            with_args(header(3, 400_112, 1, 2, 0), &args),
            vec![xid, 1, 1, 0, 2, 2],
        ),
        (
            "AUTH_SYS",
            with_args(header(2, 400_112, 1, 2, 1), &args),
            vec![xid, 1, 1, 1, 7],
        ),
        (
            "truncated arguments",
            header(2, 400_112, 1, 2, 0),
            vec![xid, 1, 0, 0, 0, 4],
        ),
        (
            "GET_CALL_CONTEXT with trailing bytes",
            with_args(with_args(header(2, 400_112, 1, 2, 0), &args), &[0; 8]),
            [vec![xid, 1, 0, 0, 0, 0], vec![0; 11]].concat(),
        ),
    ]
}

fn assert_rpc_errors(program: &Path) {
    let dir = TempDir::new("rpc");
    let daemon = Daemon::launch(program, &dir.0, CONFIG, &[], &[]);
    let mut client = Client::connect(&daemon.socket).unwrap();
    for (what, call, expected) in rpc_error_cases() {
        let reply = client
            .call(&call)
            .unwrap()
            .unwrap_or_else(|| panic!("{what}: connection closed"));
        assert_eq!(words(&reply), expected, "{what} ({})", program.display());
    }
    // A record too short for a call header: closed without a reply.
    assert_eq!(client.call(&[0, 0, 0, 1]).unwrap(), None);
}

#[test]
fn rpc_errors_are_the_references_replies_byte_for_byte() {
    assert_rpc_errors(&ours());
}

#[test]
fn debians_gssproxy_gives_the_same_rpc_error_replies() {
    let theirs = reference::theirs(Tool::Gssproxy).expect("Debian's gssproxy 0.9.1 (package gssproxy)");
    assert_rpc_errors(&theirs);
}

#[test]
fn pipelined_calls_are_answered_in_order_on_one_connection() {
    let dir = TempDir::new("pipeline");
    let daemon = Daemon::launch(&ours(), &dir.0, CONFIG, &[], &[]);
    let mut client = Client::connect(&daemon.socket).unwrap();
    let args = get_call_context_arguments();
    let mut burst = Vec::new();
    for xid in 1..=20_u32 {
        // INDICATE_MECHS takes call_ctx alone (12 bytes), GET_CALL_CONTEXT call_ctx and options.
        let body = if xid % 5 == 0 {
            call_body(xid, 1, &args[..12])
        } else {
            call_body(xid, 2, &args)
        };
        burst.extend(kup_gssx::record::write_record(&body, usize::MAX).unwrap());
    }
    std::io::Write::write_all(&mut client.stream, &burst).unwrap();
    for xid in 1..=20_u32 {
        let reply = client.receive().unwrap().expect("a reply");
        let mut decoder = Decoder::new(&reply, Limits::DEFAULT);
        let header = ReplyHeader::decode(&mut decoder).unwrap();
        assert_eq!(header.xid, xid);
        if xid % 5 == 0 {
            let mechs = ResIndicateMechs::decode(&mut decoder).unwrap();
            assert_eq!(mechs.status.major_status, 0);
            assert!(
                mechs
                    .mechs
                    .iter()
                    .any(|mech| mech.mech == kup_gssx::gssx::KRB5_OID)
            );
        } else {
            assert_eq!(decoder.remaining(), &[0; 44]);
        }
    }
}

#[test]
fn every_procedure_is_answered_and_the_connection_stays_open() {
    let dir = TempDir::new("procs");
    let daemon = Daemon::launch(&ours(), &dir.0, CONFIG, &[], &[]);
    let mut client = Client::connect(&daemon.socket).unwrap();
    // Zero arguments decode as empty/absent for every procedure (ACCEPT needs the KDC tests).
    for procedure in (1..=15).filter(|&procedure| procedure != 9) {
        let reply = client
            .call(&call_body(procedure, procedure, &[0; 256]))
            .unwrap()
            .unwrap_or_else(|| panic!("procedure {procedure}: connection closed"));
        assert_eq!(
            words(&reply)[..6],
            [procedure, 1, 0, 0, 0, 0],
            "procedure {procedure}"
        );
    }
}

#[test]
fn a_caller_matching_no_service_is_closed_without_a_reply() {
    let dir = TempDir::new("nomatch");
    let config = CONFIG.replace("euid = 0", "euid = 4242");
    let daemon = Daemon::launch(&ours(), &dir.0, &config, &[], &[]);
    let mut client = Client::connect(&daemon.socket).unwrap();
    assert_eq!(
        client
            .call(&call_body(1, 2, &get_call_context_arguments()))
            .unwrap(),
        None
    );
    // The default socket has no service at all.
    let mut client = Client::connect(&daemon.default_socket).unwrap();
    assert_eq!(
        client
            .call(&call_body(1, 2, &get_call_context_arguments()))
            .unwrap(),
        None
    );
}

#[test]
fn sigterm_ends_the_daemon_with_status_0_and_sockets_are_mode_0666() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = TempDir::new("sigterm");
    let mut daemon = Daemon::launch(&ours(), &dir.0, CONFIG, &[], &[]);
    for socket in [&daemon.socket, &daemon.default_socket] {
        let mode = std::fs::metadata(socket).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o666, "{}", socket.display());
    }
    let status = daemon.terminate().unwrap();
    assert_eq!(status.code(), Some(0));
    // As the reference: the socket files are left for the next start to unlink.
    assert!(daemon.socket.exists());
}

#[test]
fn the_command_line_has_the_references_statuses() {
    let run = |args: &[&str]| Command::new(ours()).args(args).output().unwrap();
    let out = run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        env!("CARGO_PKG_VERSION")
    );
    let out = run(&["--bogus"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("\nInvalid option --bogus: unknown option\n"));
    assert_eq!(run(&["-D", "-i"]).status.code(), Some(0));
    assert_eq!(
        run(&["-i", "-c", "/nonexistent/gssproxy.conf"]).status.code(),
        Some(1)
    );
}

fn indicate_mechs_reply(program: &Path) -> Vec<u8> {
    let dir = TempDir::new("mechs");
    let daemon = Daemon::launch(program, &dir.0, CONFIG, &[], &[]);
    let mut client = Client::connect(&daemon.socket).unwrap();
    // INDICATE_MECHS takes the call context alone (12 bytes when empty).
    client.call(&call_body(9, 1, &[0; 12])).unwrap().expect("a reply")
}

#[test]
fn indicate_mechs_is_debians_reply_byte_for_byte() {
    let theirs = reference::theirs(Tool::Gssproxy).expect("Debian's gssproxy 0.9.1 (package gssproxy)");
    let ours_reply = indicate_mechs_reply(&ours());
    let mut decoder = Decoder::new(&ours_reply, Limits::DEFAULT);
    ReplyHeader::decode(&mut decoder).unwrap();
    let mechs = ResIndicateMechs::decode(&mut decoder).unwrap();
    assert!(
        mechs
            .mechs
            .iter()
            .any(|mech| mech.mech == kup_gssx::gssx::KRB5_OID)
    );
    assert!(!mechs.mech_attr_descs.is_empty());
    assert_eq!(ours_reply, indicate_mechs_reply(&theirs));
}

#[test]
fn allow_any_uid_serves_every_caller_and_the_default_socket_serves_its_services() {
    let dir = TempDir::new("anyuid");
    let config = "[gssproxy]\n\n[service/any]\n  mechs = krb5\n  socket = @DIR@/gssproxy.sock\n  euid = 4242\n  \
                  allow_any_uid = yes\n\n[service/default]\n  mechs = krb5\n  euid = 0\n";
    let daemon = Daemon::launch(&ours(), &dir.0, config, &[], &[]);
    for socket in [&daemon.socket, &daemon.default_socket] {
        let mut client = Client::connect(socket).unwrap();
        let reply = client
            .call(&call_body(3, 2, &get_call_context_arguments()))
            .unwrap();
        assert!(reply.is_some(), "{}", socket.display());
    }
}

#[test]
fn daemon_mode_returns_once_ready_and_writes_the_pid_file() {
    const PID_FILE: &str = "/run/gssproxy.pid";
    let _lock = pid_file_lock();
    let before = std::fs::read(PID_FILE).ok();
    let dir = TempDir::new("daemon");
    let config_path = dir.0.join("gssproxy.conf");
    std::fs::write(
        &config_path,
        CONFIG.replace("@DIR@", &dir.0.display().to_string()),
    )
    .unwrap();
    // The daemon keeps the standard descriptors it inherits (as the reference does): give it a
    // file, not a pipe whose end would never come.
    let stderr = std::fs::File::create(dir.0.join("stderr")).unwrap();
    let mut parent = Command::new(ours())
        .arg("-D")
        .arg("-c")
        .arg(&config_path)
        .arg("-s")
        .arg(dir.0.join("default.sock"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = parent.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = parent.kill();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let pid_text = std::fs::read_to_string(PID_FILE).unwrap_or_default();
    let pid: i32 = pid_text.trim().parse().unwrap_or(0);
    // Ready means the socket answers at once.
    let served = Client::connect(&dir.0.join("gssproxy.sock"))
        .and_then(|mut client| client.call(&call_body(1, 2, &get_call_context_arguments())))
        .map(|reply| reply.is_some());
    // Only our daemon (another program could have written the file meanwhile).
    let ours_running = std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == ours());
    // The daemon itself, found through its socket's peer credentials, is ended whatever the pid
    // file says, so a failed assertion leaves no daemon behind.
    let daemon_pid = std::os::unix::net::UnixStream::connect(dir.0.join("gssproxy.sock"))
        .ok()
        .and_then(|stream| {
            kup_sys::socket::peer_credentials(std::os::fd::AsFd::as_fd(&stream))
                .ok()
                .map(|peer| peer.pid.get())
        });
    for victim in [Some(pid).filter(|_| pid > 0 && ours_running), daemon_pid]
        .into_iter()
        .flatten()
    {
        let _ = kup_sys::process::kill(victim, kup_sys::process::Signal::Terminate);
    }
    match before {
        Some(bytes) => std::fs::write(PID_FILE, bytes).unwrap(),
        None => {
            let _ = std::fs::remove_file(PID_FILE);
        }
    }
    assert_eq!(
        status.and_then(|status| status.code()),
        Some(0),
        "{}",
        std::fs::read_to_string(dir.0.join("stderr")).unwrap_or_default()
    );
    assert!(pid > 0 && ours_running, "pid file: {pid_text:?}");
    assert!(matches!(served, Ok(true)), "{served:?}");
}

#[test]
fn sighup_applies_a_good_configuration_and_keeps_the_old_one_for_a_bad_one() {
    let dir = TempDir::new("sighup");
    let daemon = Daemon::launch(
        &ours(),
        &dir.0,
        &CONFIG.replace("euid = 0", "euid = 4242"),
        &[],
        &[],
    );
    let hangup = |config: &str| {
        std::fs::write(
            dir.0.join("gssproxy.conf"),
            config.replace("@DIR@", &dir.0.display().to_string()),
        )
        .unwrap();
        let pid = i32::try_from(daemon.pid()).unwrap();
        let status = Command::new("/bin/kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    let served = |socket: &Path| {
        Client::connect(socket)
            .and_then(|mut client| client.call(&call_body(1, 2, &get_call_context_arguments())))
            .is_ok_and(|reply| reply.is_some())
    };
    assert!(!served(&daemon.socket), "euid 4242 must not serve root");
    hangup(CONFIG);
    assert!(served(&daemon.socket), "the reloaded euid = 0 serves root");
    // No service left: refused, the running configuration stays.
    hangup("[gssproxy]\n");
    assert!(served(&daemon.socket));
    // A new service on a new socket: bound by the reload.
    hangup(&format!(
        "{CONFIG}\n[service/second]\n  mechs = krb5\n  socket = @DIR@/second.sock\n  euid = 0\n"
    ));
    assert!(served(&dir.0.join("second.sock")));
    assert!(served(&daemon.socket));
}
