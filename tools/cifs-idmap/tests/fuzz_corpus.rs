//! Replays the kup-sid fuzz corpora (`fuzz/sid/corpus/<target>/`, seeds and anything the fuzzer
//! found) and committed crashers (`fuzz/sid/regressions/<target>/`) through the same property
//! checks the fuzz targets run, so `cargo test` keeps them passing without a fuzzer.

#[path = "../../../fuzz/sid/src/checks.rs"]
mod checks;

use std::fs;
use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/sid");
    let mut found = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                let bytes = fs::read(&path).expect("corpus file is readable");
                found.push((path, bytes));
            }
        }
    }
    found
}

fn replay(target: &str, check: fn(&[u8])) {
    let inputs = inputs(target);
    assert!(!inputs.is_empty(), "no corpus for {target}");
    for (path, bytes) in inputs {
        let result = std::panic::catch_unwind(|| check(&bytes));
        assert!(result.is_ok(), "{} fails its property", path.display());
    }
}

#[test]
fn the_sid_text_corpus_keeps_its_properties() {
    replay("sid_text", checks::sid_text);
}

#[test]
fn the_binary_sid_corpus_keeps_its_properties() {
    replay("sid_binary", checks::sid_binary);
}

#[test]
fn the_description_corpus_agrees_with_the_reference_rule() {
    replay("description", checks::description);
}

#[test]
fn the_number_corpus_matches_the_glibc_strtoul_model() {
    replay("number", checks::number);
}
