//! Replaying fuzz corpora in `cargo test`.
//!
//! Each fuzz workspace under `fuzz/<name>/` keeps, per target, a corpus (`corpus/<target>/`: seeds
//! and what the fuzzer kept) and committed crashers (`regressions/<target>/`). Its property checks
//! live in `fuzz/<name>/src/checks.rs`, which the replaying test includes with `#[path]`; this module
//! feeds every input of a target through such a check, so the properties hold without a fuzzer or a
//! nightly toolchain.

use std::fs;
use std::path::{Path, PathBuf};

/// The fuzz workspace `fuzz/<name>` of this checkout.
#[must_use]
pub fn fuzz_dir(name: &str) -> PathBuf {
    crate::reference::workspace_root().join("fuzz").join(name)
}

/// Every corpus and regression input of `target` in the fuzz workspace `dir`, with its path.
///
/// # Panics
/// When an input file exists but cannot be read.
#[must_use]
pub fn inputs(dir: &Path, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(dir.join(kind).join(target)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                let bytes = fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
                found.push((path, bytes));
            }
        }
    }
    found.sort();
    found
}

/// Runs `check` on every input of `target` in the fuzz workspace `fuzz/<name>`.
///
/// # Panics
/// When the target has no inputs at all (a renamed or lost corpus must not pass silently), or when
/// `check` panics on an input; the message names the input file.
pub fn replay(name: &str, target: &str, check: fn(&[u8])) {
    let inputs = inputs(&fuzz_dir(name), target);
    assert!(!inputs.is_empty(), "no corpus for {name}/{target}");
    for (path, bytes) in inputs {
        let result = std::panic::catch_unwind(|| check(&bytes));
        assert!(result.is_ok(), "{} fails its property", path.display());
    }
}
