//! The cifs-utils idmap plugin interface (`kup_sys::plugin`) against real shared objects: small C
//! plugins (our own test code, below) compiled with `cc` into Cargo's per-target temporary
//! directory and loaded with `dlopen`, exactly as `cifs.idmap` loads winbind's or sssd's.
//!
//! - a plugin without `cifs_idmap_init_plugin` must not have its `cifs_idmap_exit_plugin` called
//!   (no context exists; the reference does not call it either);
//! - the `errmsg` slot handed to init is where the plugin writes its error text on any later call,
//!   after the loaded plugin value has moved: each failure must report the text set by that call;
//! - exit runs exactly once, on drop, for a plugin whose init succeeded, and never after a failed
//!   init.
//!
//! Needs `cc` and the libc headers (Debian: `gcc`, `libc6-dev`, in `.ci/packages.d/cli.txt`).

use std::path::{Path, PathBuf};
use std::process::Command;

use kup_sys::plugin::IdmapPlugin;

/// Exit records its call (and the handle it got) in the marker file `MARK`.
const COMMON: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mark(const char *what, void *handle) {
    FILE *file = fopen(MARK, "a");
    if (file) {
        fprintf(file, "%s %s\n", what, handle ? "handle" : "null");
        fclose(file);
    }
}

void cifs_idmap_exit_plugin(void *handle) {
    mark("exit", handle);
    free(handle);
}
"#;

/// No init symbol at all.
const WITHOUT_INIT: &str = r"
int cifs_idmap_str_to_sid(void *handle, const char *name, unsigned char *sid) {
    (void)handle; (void)name; (void)sid;
    return 0;
}
";

/// Keeps the errmsg slot in its context, as the real plugins do, and sets it on every failure.
const WITH_ERRMSG: &str = r#"
struct context { const char **errmsg; char text[128]; };

int cifs_idmap_init_plugin(void **handle, const char **errmsg) {
    struct context *context = calloc(1, sizeof *context);
    if (!context) return -12;
    context->errmsg = errmsg;
    *errmsg = "initialised";
    *handle = context;
    return 0;
}

int cifs_idmap_str_to_sid(void *handle, const char *name, unsigned char *sid) {
    struct context *context = handle;
    (void)sid;
    snprintf(context->text, sizeof context->text, "no mapping for %s", name);
    *context->errmsg = context->text;
    return -2;
}

int cifs_idmap_sids_to_ids(void *handle, const unsigned char *sids, size_t count, unsigned char *ids) {
    struct context *context = handle;
    (void)sids; (void)count; (void)ids;
    *context->errmsg = "second failure";
    return -5;
}
"#;

/// Init fails (and says why through errmsg).
const FAILING_INIT: &str = r#"
int cifs_idmap_init_plugin(void **handle, const char **errmsg) {
    (void)handle;
    *errmsg = "init refused";
    return -13;
}
"#;

/// Compiles `body` (plus [`COMMON`]) into `<tmp>/<name>.so`; returns it and its marker path.
fn build(name: &str, body: &str) -> (PathBuf, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("kup-plugin-abi")
        .join(format!("{name}.{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("plugin.c");
    let marker = dir.join("marker");
    let _ = std::fs::remove_file(&marker);
    std::fs::write(&source, format!("{COMMON}{body}")).unwrap();
    let library = dir.join(format!("{name}.so"));
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O0", "-Wall", "-Werror"])
        .arg(format!("-DMARK=\"{}\"", marker.display()))
        .arg("-o")
        .arg(&library)
        .arg(&source)
        .status()
        .unwrap_or_else(|error| {
            panic!("cannot run `cc` to build a test plugin ({error}); install gcc and libc6-dev")
        });
    assert!(status.success(), "compiling the {name} test plugin failed");
    (library, marker)
}

fn marks(marker: &Path) -> String {
    std::fs::read_to_string(marker).unwrap_or_default()
}

#[test]
fn a_plugin_without_init_is_refused_and_its_exit_is_never_called() {
    let (library, marker) = build("without-init", WITHOUT_INIT);
    let error = IdmapPlugin::load(&library)
        .err()
        .expect("a plugin without init must not load");
    assert_eq!(error.code, -libc::ENOSYS);
    assert_eq!(error.message, "cifs_idmap_init_plugin not implemented");
    assert_eq!(
        marks(&marker),
        "",
        "exit was called on a context init never created"
    );
}

#[test]
fn a_failed_init_reports_its_errmsg_and_exit_is_never_called() {
    let (library, marker) = build("failing-init", FAILING_INIT);
    let error = IdmapPlugin::load(&library).err().expect("init fails");
    assert_eq!((error.code, error.message.as_str()), (-13, "init refused"));
    assert_eq!(marks(&marker), "");
}

#[test]
fn errmsg_set_by_each_call_is_reported_after_the_plugin_value_moved() {
    let (library, marker) = build("with-errmsg", WITH_ERRMSG);
    let plugin = IdmapPlugin::load(&library).unwrap_or_else(|error| panic!("load: {error}"));
    // Move the loaded value around (into and out of a heap collection): the slot the plugin
    // writes through must stay the one the plugin value reads.
    let mut moved = vec![plugin];
    let plugin = moved.pop().unwrap();
    let boxed = Box::new(plugin);
    let error = boxed.str_to_sid(c"alice").expect_err("str_to_sid fails");
    assert_eq!((error.code, error.message.as_str()), (-2, "no mapping for alice"));
    let plugin = *boxed;
    let error = plugin.sid_to_id(&[0; 68]).expect_err("sids_to_ids fails");
    assert_eq!((error.code, error.message.as_str()), (-5, "second failure"));
    let error = plugin.str_to_sid(c"bob").expect_err("str_to_sid fails");
    assert_eq!(error.message, "no mapping for bob");
    assert_eq!(marks(&marker), "");
    drop(plugin);
    assert_eq!(marks(&marker), "exit handle\n", "exit once, with init's context");
}
