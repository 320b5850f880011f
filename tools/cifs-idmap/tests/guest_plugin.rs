//! Plugin failures, in the QEMU guest (its `/etc` and `/usr` are throw-away overlays, so the
//! plugin link and file can be broken there without touching the host): ours and Debian's
//! cifs.idmap side by side, through real upcalls on `user` keys.
//!
//! - no `/etc/cifs-utils/idmap-plugin`: both exit 1, key negative about 60 s;
//! - the link points at a library that is not a plugin: both exit 1 (`… not implemented`);
//! - the plugin file is group-writable: Debian's loads it anyway (then fails with 251, winbind is
//!   not running in the guest); ours refuses it (exit 1), a recorded divergence.

use std::collections::BTreeMap;
use std::time::Duration;

use kup_testkit::guest::Guest;

const SCRIPT: &str = r#"
set -u
. "$KUP_CHECKOUT/tests/guest/lib.sh"
plugin=$(readlink -f /etc/cifs-utils/idmap-plugin)
try() { # case who program description
    kup_rules "create user * * $(kup_helper "$2" 20 "$3") %k"
    keyctl clear @s
    keyctl request2 user "$4" '' @s > /dev/null 2>&1
    rc=$(tail -1 upcalls.log | sed -n 's/.* rc=\([0-9]*\) .*/\1/p')
    state=$(awk -v d="$4" '$9 == d || $9 == d ":" {print $2 "," $4}' /proc/keys)
    echo "$1 $2 rc=$rc key=$state" >> results.txt
}
both() { # case description
    try "$1" theirs /usr/sbin/cifs.idmap "$2"
    try "$1" ours "$IDMAP" "$2"
}
rm /etc/cifs-utils/idmap-plugin
both missing os:S-1-5-21-1-2-3-500
ln -s /usr/lib/x86_64-linux-gnu/libc.so.6 /etc/cifs-utils/idmap-plugin
both not-a-plugin os:S-1-5-21-1-2-3-501
rm /etc/cifs-utils/idmap-plugin
ln -s "$plugin" /etc/cifs-utils/idmap-plugin
chmod 664 "$plugin"
both group-writable os:S-1-5-21-1-2-3-502
chmod 644 "$plugin"
both restored os:S-1-5-21-1-2-3-503
cat results.txt
"#;

#[test]
fn plugin_failures_end_like_the_reference_and_unsafe_plugins_are_refused() {
    let outcome = Guest::new()
        .expect("the QEMU guest harness is available")
        .with_env("IDMAP", env!("CARGO_BIN_EXE_cifs-idmap"))
        .run_script(SCRIPT, Duration::from_mins(5))
        .expect("the guest ran");
    outcome.assert_success();
    let results = outcome.file_string("results.txt").unwrap_or_default();
    let seen: BTreeMap<(String, String), (String, String)> = results
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let case = words.next()?.to_owned();
            let who = words.next()?.to_owned();
            let rc = words.next()?.strip_prefix("rc=")?.to_owned();
            let key = words.next()?.strip_prefix("key=")?.to_owned();
            Some(((case, who), (rc, key)))
        })
        .collect();
    let expect = |case: &str, who: &str, rc: &str| {
        let (got_rc, key) = seen
            .get(&(case.to_owned(), who.to_owned()))
            .unwrap_or_else(|| panic!("no result for {case}/{who}:\n{results}"));
        assert_eq!(got_rc, rc, "{case}/{who}:\n{results}");
        // /proc/keys flags contain N for a negative key; expiry about a minute (`1m` or `59s`..).
        let (flags, expiry) = key.split_once(',').unwrap_or_default();
        assert!(flags.contains('N'), "{case}/{who}: key not negative:\n{results}");
        assert!(
            expiry == "1m" || expiry.ends_with('s'),
            "{case}/{who}: negative for about 60 s, got {expiry}:\n{results}"
        );
    };
    expect("missing", "theirs", "1");
    expect("missing", "ours", "1");
    expect("not-a-plugin", "theirs", "1");
    expect("not-a-plugin", "ours", "1");
    expect("group-writable", "theirs", "251");
    expect("group-writable", "ours", "1");
    expect("restored", "theirs", "251");
    expect("restored", "ours", "251");
}
