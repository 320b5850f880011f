//! Fuzz properties for kup-dns and key.dns_resolver; the same functions are replayed over the
//! corpora by `tools/key-dns-resolver/tests/fuzz_corpus.rs`.

pub mod checks;
