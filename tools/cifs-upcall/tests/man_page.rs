//! The man page `docs/man/cifs.upcall.8` documents exactly the options the flag table accepts
//! (STYLE §10); `scripts/check-man` runs this for every tool.

use kup_runtime::cli;

#[test]
fn man_page_documents_exactly_the_options_the_parser_accepts() {
    let accepted = cli::spellings(cifs_upcall::FLAGS);
    let problems = kup_testkit::man::mismatches("cifs.upcall.8", &accepted).expect("reading the man page");
    assert!(problems.is_empty(), "{problems:#?}");
}
