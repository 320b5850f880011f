//! The QEMU guest harness, end to end: Debian's kernel boots, its modules load, the key types the
//! helpers serve exist, a real upcall reaches Debian's nfsidmap, and exit statuses and timeouts
//! come back to the test. Each test boots its own guest; boots are serialized by the harness.
//!
//! Run: `cargo test -p kup-testkit --test guest_smoke` (as root; the host needs the packages in
//! `.ci/packages.d/guest.txt`).

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use kup_testkit::guest::{self, Guest};

/// Generous: a boot takes about 5 s and these scripts 1-3 s more on an idle 2-core machine.
const TIMEOUT: Duration = Duration::from_mins(2);

/// The modules the upcall helpers depend on, as /proc/modules names them.
const MODULES: [&str; 5] = ["dns_resolver", "cifs", "nfsv4", "nfsd", "rpcsec_gss_krb5"];
/// The key types the helpers serve; `kup-no-such-type` is the control that must be unknown.
const KEY_TYPES: [&str; 4] = ["id_resolver", "cifs.idmap", "cifs.spnego", "dns_resolver"];

const SMOKE_SCRIPT: &str = r#"
set -u
echo "kernel $(uname -r)"
for m in dns_resolver cifs nfsv4 nfsd rpcsec_gss_krb5; do
    modprobe "$m" || echo "modprobe $m failed"
done
cp /proc/modules modules
if [ -e /proc/net/rpc/use-gss-proxy ]; then cat /proc/net/rpc/use-gss-proxy > use-gss-proxy; fi
# add_key(2) fails with ENODEV ("No such device") exactly when the key type is not registered;
# every registered type fails differently or succeeds (cifs.* veto userspace with EPERM).
for t in id_resolver cifs.idmap cifs.spnego dns_resolver kup-no-such-type; do
    if err=$(keyctl add "$t" kup-probe probe @s 2>&1 >/dev/null); then err=added; fi
    printf '%s\t%s\n' "$t" "$err"
done > keytypes
# the checkout and the test's own binary are visible at their host paths
if [ -x "$TEST_EXE" ] && [ -f "$CHECKOUT/Cargo.toml" ]; then echo yes > shares-visible; fi
# files go in and come back
tr a-z A-Z < input.txt > output.txt
"#;

#[test]
fn the_guest_loads_the_upcall_modules_and_registers_their_key_types() -> io::Result<()> {
    let test_exe = std::env::current_exe()?;
    let outcome = Guest::new()?
        .with_env("TEST_EXE", test_exe.display().to_string())
        .with_env("CHECKOUT", guest::checkout_dir().display().to_string())
        .with_file("input.txt", "hello guest\n")
        .run_script(SMOKE_SCRIPT, TIMEOUT)?;
    outcome.assert_success();
    assert!(
        outcome.output.contains("-amd64"),
        "not Debian's kernel?\n{outcome}"
    );

    let modules = outcome.file_string("modules")?;
    let loaded: Vec<&str> = modules
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for module in MODULES {
        assert!(
            loaded.contains(&module),
            "module {module} not in /proc/modules: {loaded:?}\n{outcome}"
        );
    }

    assert_eq!(
        outcome.file_string("use-gss-proxy")?.trim(),
        "-1",
        "/proc/net/rpc/use-gss-proxy must exist once nfsd is loaded and read -1 before gssproxy runs"
    );

    let keytypes: BTreeMap<String, String> = outcome
        .file_string("keytypes")?
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(t, e)| (t.to_owned(), e.to_owned()))
        .collect();
    assert_eq!(
        keytypes.get("kup-no-such-type").map(String::as_str),
        Some("add_key: No such device"),
        "the control must show what an unknown key type looks like: {keytypes:?}"
    );
    for key_type in KEY_TYPES {
        let answer = keytypes.get(key_type).map_or("(missing)", String::as_str);
        assert!(
            answer != "(missing)" && !answer.contains("No such device"),
            "key type {key_type} is not registered in the guest: {answer}\n{outcome}"
        );
    }

    assert_eq!(
        outcome.file_string("shares-visible")?,
        "yes\n",
        "checkout or target dir not shared"
    );
    assert_eq!(outcome.file("output.txt")?, b"HELLO GUEST\n");
    Ok(())
}

#[test]
fn a_real_id_resolver_upcall_in_the_guest_reaches_debians_nfsidmap() -> io::Result<()> {
    // The guest's /etc is an overlay: replacing the request-key rules and idmapd.conf there
    // leaves the host alone. The rule is the one nfs-common ships (through lib.sh's logging,
    // time-bounded wrapper), so this is the path the kernel's NFS client takes; here the request
    // comes from userspace, with the real id_resolver key type.
    let outcome = Guest::new()?
        .with_file("idmapd.conf", "[General]\nDomain = localdomain\n")
        .run_script(
            r#"
        set -eu
        . "$KUP_CHECKOUT/tests/guest/lib.sh"
        kup_modprobe nfsv4
        cp idmapd.conf /etc/idmapd.conf
        helper=$(kup_helper nfsidmap 20 /usr/sbin/nfsidmap -t 600)
        kup_rules "create id_resolver * * $helper %k %d"
        key=$(kup_request id_resolver uid:root@localdomain)
        keyctl rdescribe "$key" > description
        keyctl pipe "$key" > payload
        grep "^$(printf %08x "$key") " /proc/keys > proc-keys
        "#,
            TIMEOUT,
        )?;
    outcome.assert_success();

    assert_eq!(
        outcome.file("payload")?,
        b"0\0",
        "nfsidmap maps root to uid 0, NUL-terminated"
    );
    let upcalls = outcome.file_string("upcalls.log")?;
    assert!(
        upcalls.starts_with("nfsidmap rc=0 argv=") && upcalls.trim_end().ends_with(" uid:root@localdomain"),
        "exactly one upcall, which succeeded: {upcalls:?}"
    );
    assert_eq!(upcalls.lines().count(), 1, "{upcalls:?}");
    let description = outcome.file_string("description")?;
    assert!(
        description.starts_with("id_resolver;0;0;")
            && description.trim_end().ends_with(";uid:root@localdomain"),
        "unexpected key description {description:?}"
    );
    // /proc/keys: serial flags usage expiry perm uid gid type description: payload summary.
    // (Debian's nfsidmap also tries KEYCTL_SET_TIMEOUT 600 after instantiating; for a key
    // requested from userspace that fails with EACCES and the key stays "perm".)
    let proc_keys = outcome.file_string("proc-keys")?;
    let fields: Vec<&str> = proc_keys.split_whitespace().collect();
    assert_eq!(
        fields.get(7),
        Some(&"id_resolv"),
        "the key must have the real id_resolver type: {proc_keys}"
    );
    Ok(())
}

#[test]
fn the_script_exit_status_comes_back_and_a_hung_guest_is_killed_at_its_timeout() -> io::Result<()> {
    let guest = Guest::new()?.with_args(["a b", "it's"]);
    let outcome = guest.run_script("printf '%s|' \"$@\"; echo; echo to-stderr >&2; exit 42", TIMEOUT)?;
    assert_eq!(outcome.status, 42, "{outcome}");
    assert!(!outcome.success());
    assert_eq!(outcome.output, "a b|it's|\nto-stderr\n");
    assert!(outcome.console.contains("status 42"), "{outcome}");

    let err = guest
        .run_script("echo sleeping; sleep 600", Duration::from_secs(15))
        .expect_err("a script sleeping past its timeout must fail the run");
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    let message = err.to_string();
    assert!(
        message.contains("timed out after"),
        "QEMU must be stopped by the guest's own timeout: {message}"
    );
    assert!(
        message.contains("sleeping") && message.contains("root switched"),
        "{message}"
    );
    Ok(())
}
