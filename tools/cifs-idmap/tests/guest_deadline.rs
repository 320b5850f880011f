//! cifs.idmap's total deadline (decisions.md 10), in the QEMU guest (its `/etc` is a throw-away
//! overlay, so `/etc/cifs-utils/idmap-plugin` can point at a test plugin there without touching
//! the host): the plugin's mapping calls sleep for an hour, as a plugin stuck on its directory
//! service would. Through real upcalls on `user` keys (userspace cannot request `cifs.idmap`
//! keys; neither tool checks the type): ours gives up after its 30 s, negating the key (60 s) and
//! exiting 1; Debian's, run at the same time, is still inside the plugin when its wrapper kills it.
//!
//! The plugin is compiled here with `cc` (Debian `gcc`, in `.ci/packages.d/cli.txt`) into the
//! target directory, which the guest sees at its host path.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use kup_testkit::guest::Guest;
use kup_testkit::reference::{self, Tool, target_dir};

/// A cifs-utils idmap plugin (the entry points `cifs.idmap` looks up) whose init succeeds and
/// whose every mapping call blocks.
const SLEEPING_PLUGIN: &str = r"
#include <stddef.h>
#include <unistd.h>
int cifs_idmap_init_plugin(void **handle, const char **errmsg) { *handle = NULL; (void)errmsg; return 0; }
void cifs_idmap_exit_plugin(void *handle) { (void)handle; }
static int stuck(void) { sleep(3600); return -1; }
int cifs_idmap_str_to_sid(void *h, const char *text, void *sid) { (void)h; (void)text; (void)sid; return stuck(); }
int cifs_idmap_sid_to_str(void *h, const void *sid, char **text) { (void)h; (void)sid; (void)text; return stuck(); }
int cifs_idmap_sids_to_ids(void *h, const void *sids, size_t n, void *ids) { (void)h; (void)sids; (void)n; (void)ids; return stuck(); }
int cifs_idmap_ids_to_sids(void *h, const void *ids, size_t n, void *sids) { (void)h; (void)ids; (void)n; (void)sids; return stuck(); }
";

const SCRIPT: &str = r#"
set -u
. "$KUP_CHECKOUT/tests/guest/lib.sh"
ln -sfn "$PLUGIN" /etc/cifs-utils/idmap-plugin
ours=$(kup_helper ours 90 "$OURS")
theirs=$(kup_helper theirs 45 /usr/sbin/cifs.idmap)
kup_rules "create user os:* * $ours %k" "create user gs:* * $theirs %k"

request() { # NAME DESCRIPTION: "<name> seconds=<s> request=<ok|error text> key=<flags>,<expiry>"
    local start end result
    start=$(date +%s)
    if kup_request user "$2" > /dev/null 2> "/tmp/$1.err"; then result=ok; else result=$(tr ' ' _ < "/tmp/$1.err"); fi
    end=$(date +%s)
    state=$(awk -v d="$2" '$9 == d || $9 == d ":" {print $2 "," $4}' /proc/keys)
    echo "$1 seconds=$((end - start)) request=$result key=$state" >> /xchg/results.txt
}
request ours os:S-1-5-21-1-2-3-500 & ours_pid=$!
request theirs gs:S-1-5-21-1-2-3-513 & theirs_pid=$!
wait "$ours_pid" "$theirs_pid"
cat /xchg/results.txt /xchg/upcalls.log
exit 0
"#;

fn build_plugin() -> PathBuf {
    let dir = target_dir().join("kup-test-plugins");
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let source = dir.join("sleeping_plugin.c");
    fs::write(&source, SLEEPING_PLUGIN).unwrap();
    let plugin = dir.join("sleeping_plugin.so");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&plugin)
        .arg(&source)
        .status()
        .expect("cc runs (install gcc)");
    assert!(status.success(), "compiling the sleeping plugin failed");
    fs::set_permissions(&plugin, fs::Permissions::from_mode(0o755)).unwrap();
    plugin
}

#[test]
fn an_upcall_stuck_in_the_idmap_plugin_ends_at_the_deadline() {
    assert_eq!(cifs_idmap::DEADLINE.limit, Duration::from_secs(30));
    let plugin = build_plugin();
    reference::theirs(Tool::CifsIdmap).unwrap();
    let outcome = Guest::new()
        .expect("the QEMU guest harness is available")
        .with_env("OURS", env!("CARGO_BIN_EXE_cifs-idmap"))
        .with_env("PLUGIN", plugin.display().to_string())
        .run_script(SCRIPT, Duration::from_mins(4))
        .expect("the guest ran");
    outcome.assert_success();
    outcome.assert_ended_at_the_deadline("in the plugin");
}
