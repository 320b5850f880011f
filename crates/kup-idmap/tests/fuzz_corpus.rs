//! Replays the kup-idmap fuzz corpora (`fuzz/nfsidmap/corpus/<target>/`, seeds and anything the
//! fuzzers found) and committed crashers (`fuzz/nfsidmap/regressions/<target>/`) through the same
//! property checks the fuzz targets run, so `cargo test` keeps them passing without a fuzzer.

#[path = "../../../fuzz/nfsidmap/src/checks.rs"]
mod checks;

use std::fs;
use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/nfsidmap");
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
fn the_description_corpus_agrees_with_the_reference_split() {
    replay("description", checks::description);
}

#[test]
fn the_config_corpus_parses_into_sound_bindings() {
    replay("config", checks::config);
}

#[test]
fn the_txt_answer_corpus_never_overreads() {
    replay("txt_answer", checks::txt_answer);
}

#[test]
fn the_number_corpus_follows_the_c_rules() {
    replay("numbers", checks::numbers);
}

#[test]
fn the_mapping_corpus_answers_every_lookup() {
    replay("mapping", checks::mapping);
}
