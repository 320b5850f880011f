//! The man page `docs/man/gssproxy.8` documents exactly the options the help lists (STYLE §10);
//! `scripts/check-man` runs this for every tool.

#[test]
fn man_page_documents_exactly_the_options_the_parser_accepts() {
    let accepted = gssproxy::cli::documented_spellings();
    let problems = kup_testkit::man::mismatches("gssproxy.8", &accepted).expect("reading the man page");
    assert!(problems.is_empty(), "{problems:#?}");
}
