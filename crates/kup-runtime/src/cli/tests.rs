//! Unit tests of the parser with tool-shaped tables (one row per option, short and long form
//! together), the result helpers and the texts generated from tables. The number parsers'
//! tests live with them in `kup-text`.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Up {
    Deprecated,
    NoEnvProbe,
    Krb5Conf,
    Keytab,
    LegacyUid,
    TrustDns,
    Version,
    Expire,
}

const CIFS_UPCALL: &[Flag<Up>] = &[
    Flag::new(Up::Deprecated).short(b'c').help("ignored (deprecated)"),
    Flag::new(Up::NoEnvProbe)
        .short(b'E')
        .long("no-env-probe")
        .help("do not read KRB5CCNAME from the requester"),
    Flag::new(Up::Krb5Conf)
        .short(b'k')
        .long("krb5conf")
        .required("path")
        .help("krb5.conf to use"),
    Flag::new(Up::Keytab)
        .short(b'K')
        .long("keytab")
        .required("path")
        .help("keytab for the fallback login"),
    Flag::new(Up::LegacyUid)
        .short(b'l')
        .long("legacy-uid")
        .help("send uid= instead of creduid="),
    Flag::new(Up::TrustDns)
        .short(b't')
        .long("trust-dns")
        .help("allow the reverse-DNS retry"),
    Flag::new(Up::Version)
        .short(b'v')
        .long("version")
        .help("print the version and exit"),
    Flag::new(Up::Expire)
        .short(b'e')
        .long("expire")
        .required("seconds")
        .help("timeout of dns_resolver keys"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dns {
    Config,
    Debug,
    Verbose,
    Version,
    DumpConfig,
}

const DNS_RESOLVER: &[Flag<Dns>] = &[
    Flag::new(Dns::Config)
        .short(b'c')
        .long("config")
        .required("file")
        .long_arg(ArgKind::None)
        .help("configuration file"),
    Flag::new(Dns::Debug).short(b'D').long("debug").help("debug mode"),
    Flag::new(Dns::Verbose)
        .short(b'v')
        .long("verbose")
        .help("more output"),
    Flag::new(Dns::Version)
        .short(b'V')
        .long("version")
        .help("print the version"),
    Flag::new(Dns::DumpConfig)
        .long("dump-config")
        .help("print the configuration and exit"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nfs {
    Help,
    Domain,
    User,
    Group,
    Both,
    Clear,
    Timeout,
    Verbose,
    List,
}

const NFSIDMAP: &[Flag<Nfs>] = &[
    Flag::new(Nfs::Help).short(b'h'),
    Flag::new(Nfs::Domain).short(b'd'),
    Flag::new(Nfs::User).short(b'u').required("name"),
    Flag::new(Nfs::Group).short(b'g').required("name"),
    Flag::new(Nfs::Both).short(b'r').required("name"),
    Flag::new(Nfs::Clear).short(b'c'),
    Flag::new(Nfs::Timeout).short(b't').required("timeout"),
    Flag::new(Nfs::Verbose).short(b'v'),
    Flag::new(Nfs::List).short(b'l'),
];

fn os(s: &str) -> OsString {
    OsString::from(s)
}

fn ids<Id: Copy>(p: &Parsed<Id>) -> Vec<Id> {
    p.options.iter().map(|o| o.id).collect()
}

#[test]
fn tables_reproduce_the_c_getopt_strings_of_the_tools() {
    assert_eq!(optstring(CIFS_UPCALL), "cEk:K:ltve:");
    assert_eq!(optstring(DNS_RESOLVER), "c:DvV");
    assert_eq!(optstring(NFSIDMAP), "hdu:g:r:ct:vl");
    assert_eq!(
        long_options(DNS_RESOLVER),
        [
            ("config", ArgKind::None),
            ("debug", ArgKind::None),
            ("verbose", ArgKind::None),
            ("version", ArgKind::None),
            ("dump-config", ArgKind::None)
        ]
    );
}

#[test]
fn a_short_and_long_spelling_of_one_row_report_the_same_id_and_value() {
    let p = parse(
        Spec::getopt_long(CIFS_UPCALL),
        [
            "cifs.upcall",
            "-K/a",
            "--keytab=/b",
            "--keytab",
            "/c",
            "--key",
            "/d",
            "42",
        ],
    );
    assert_eq!(p.error, None);
    assert_eq!(p.count(Up::Keytab), 4);
    let values: Vec<_> = p.options.iter().map(|o| o.value.clone()).collect();
    assert_eq!(
        values,
        [Some(os("/a")), Some(os("/b")), Some(os("/c")), Some(os("/d"))]
    );
    assert_eq!(p.options[0].spelled, Spelling::Short(b'K'));
    assert_eq!(p.options[3].spelled, Spelling::Long("keytab"));
    assert_eq!(p.last_value(Up::Keytab), Some(OsStr::new("/d")));
    assert_eq!(p.operands, [os("42")]);
}

#[test]
fn options_before_an_error_are_kept_in_order_so_an_early_version_flag_still_wins() {
    let p = parse(Spec::getopt_long(CIFS_UPCALL), ["cifs.upcall", "-lv", "-x", "-t"]);
    assert_eq!(ids(&p), [Up::LegacyUid, Up::Version]);
    assert_eq!(p.error, Some(CliError::InvalidOption(b'x')));
    assert_eq!(p.error_bytes().unwrap(), b"cifs.upcall: invalid option -- 'x'\n");
}

#[test]
fn the_program_name_in_messages_is_argv0_unchanged_even_with_a_path() {
    let p = parse(
        Spec::getopt_long(CIFS_UPCALL),
        ["/usr/sbin/cifs.upcall", "--expire"],
    );
    assert_eq!(
        p.error_bytes().unwrap(),
        b"/usr/sbin/cifs.upcall: option '--expire' requires an argument\n"
    );
    assert_eq!(
        p.error.unwrap().display(&p.prog).to_string(),
        "/usr/sbin/cifs.upcall: option '--expire' requires an argument"
    );
}

#[test]
fn every_error_kind_has_the_glibc_text() {
    let cases: [(CliError, &[u8]); 6] = [
        (CliError::InvalidOption(b'x'), b"p: invalid option -- 'x'\n"),
        (
            CliError::MissingArgument(b't'),
            b"p: option requires an argument -- 't'\n",
        ),
        (
            CliError::UnrecognizedOption(os("foo=bar")),
            b"p: unrecognized option '--foo=bar'\n",
        ),
        (
            CliError::LongMissingArgument("keytab"),
            b"p: option '--keytab' requires an argument\n",
        ),
        (
            CliError::LongUnexpectedArgument("version"),
            b"p: option '--version' doesn't allow an argument\n",
        ),
        (
            CliError::Ambiguous {
                text: os("ver"),
                candidates: vec!["verbose", "version"],
            },
            b"p: option '--ver' is ambiguous; possibilities: '--verbose' '--version'\n",
        ),
    ];
    for (error, expected) in cases {
        assert_eq!(error.stderr_bytes(OsStr::new("p")), expected);
    }
}

#[test]
fn non_utf8_option_bytes_are_kept_raw_in_stderr_bytes_and_replaced_in_display() {
    let e = CliError::InvalidOption(0xe9);
    assert_eq!(e.stderr_bytes(OsStr::new("p")), b"p: invalid option -- '\xe9'\n");
    assert_eq!(
        e.display(OsStr::new("p")).to_string(),
        "p: invalid option -- '\u{fffd}'"
    );
    assert_eq!(e.optopt(), 0xe9);
}

#[test]
fn key_dns_resolver_long_config_takes_no_argument_while_short_c_requires_one() {
    let p = parse(
        Spec::getopt_long(DNS_RESOLVER),
        ["key.dns_resolver", "--config", "x", "-c", "y", "-vv", "123"],
    );
    assert_eq!(p.error, None);
    assert_eq!(ids(&p), [Dns::Config, Dns::Config, Dns::Verbose, Dns::Verbose]);
    assert_eq!(p.options[0].value, None);
    assert_eq!(p.options[1].value, Some(os("y")));
    assert_eq!(p.count(Dns::Verbose), 2);
    assert_eq!(p.operands, [os("x"), os("123")]);
    let e = parse(Spec::getopt_long(DNS_RESOLVER), ["k", "--config=x"]);
    assert_eq!(e.error, Some(CliError::LongUnexpectedArgument("config")));
}

#[test]
fn abbreviations_are_unique_prefixes_and_ambiguity_lists_the_candidates_in_table_order() {
    let ok = parse(Spec::getopt_long(DNS_RESOLVER), ["k", "--dum", "--deb"]);
    assert_eq!(ids(&ok), [Dns::DumpConfig, Dns::Debug]);
    let amb = parse(Spec::getopt_long(DNS_RESOLVER), ["k", "--ver=1"]);
    assert_eq!(
        amb.error,
        Some(CliError::Ambiguous {
            text: os("ver=1"),
            candidates: vec!["verbose", "version"]
        })
    );
}

#[test]
fn long_aliases_of_the_same_option_are_not_ambiguous() {
    const ALIASES: &[Flag<u8>] = &[
        Flag::new(1).long("color"),
        Flag::new(1).long("colour"),
        Flag::new(2).long("other"),
    ];
    let p = parse(Spec::getopt_long(ALIASES), ["p", "--colo", "--colou"]);
    assert_eq!(p.error, None);
    assert_eq!(
        p.options.iter().map(|o| o.spelled).collect::<Vec<_>>(),
        [Spelling::Long("color"), Spelling::Long("colour")]
    );
}

#[test]
fn plain_getopt_ignores_long_names_and_reads_double_dash_words_as_clusters() {
    let p = parse(Spec::getopt(CIFS_UPCALL), ["p", "--version"]);
    assert_eq!(p.error, Some(CliError::InvalidOption(b'-')));
    assert!(p.options.is_empty());
}

#[test]
fn nfsidmap_options_after_operands_still_count_under_gnu_permutation() {
    let p = parse(
        Spec::getopt(NFSIDMAP),
        ["nfsidmap", "123", "uid:alice", "-v", "-t", "60", "-vt30"],
    );
    assert_eq!(p.error, None);
    assert_eq!(p.count(Nfs::Verbose), 2);
    assert_eq!(p.last_value(Nfs::Timeout), Some(OsStr::new("30")));
    assert_eq!(p.operands, [os("123"), os("uid:alice")]);
    assert!(!p.has(Nfs::Help));
}

#[test]
fn posix_order_leaves_everything_from_the_first_operand_on_as_operands() {
    let spec = Spec::getopt(NFSIDMAP).with_ordering(Ordering::gnu_default(true));
    let p = parse(spec, ["nfsidmap", "-v", "123", "-v"]);
    assert_eq!(p.count(Nfs::Verbose), 1);
    assert_eq!(p.operands, [os("123"), os("-v")]);
    assert_eq!(Ordering::gnu_default(false), Ordering::Permute);
}

#[test]
fn double_dash_ends_options_and_a_lone_dash_is_an_operand() {
    let p = parse(Spec::getopt(NFSIDMAP), ["p", "-", "a", "--", "-v", "--"]);
    assert_eq!(p.error, None);
    assert!(p.options.is_empty());
    assert_eq!(p.operands, [os("-"), os("a"), os("-v"), os("--")]);
}

#[test]
fn a_required_argument_may_start_with_a_dash_or_be_empty() {
    let p = parse(Spec::getopt(NFSIDMAP), ["p", "-t", "-1", "-u", "", "-g--"]);
    assert_eq!(p.error, None);
    let values: Vec<_> = p.options.iter().map(|o| o.value.clone()).collect();
    assert_eq!(values, [Some(os("-1")), Some(os("")), Some(os("--"))]);
}

#[test]
fn a_missing_short_argument_at_the_end_of_a_cluster_is_an_error() {
    let p = parse(Spec::getopt(NFSIDMAP), ["nfsidmap", "-vt"]);
    assert_eq!(ids(&p), [Nfs::Verbose]);
    assert_eq!(
        p.error_bytes().unwrap(),
        b"nfsidmap: option requires an argument -- 't'\n"
    );
}

#[test]
fn arguments_that_are_not_utf8_pass_through_unchanged() {
    let arg = OsString::from_vec(b"-K/tmp/\xff\xfe".to_vec());
    let op = OsString::from_vec(b"\x80".to_vec());
    let p = parse(Spec::getopt_long(CIFS_UPCALL), [os("p"), arg, op.clone()]);
    assert_eq!(
        p.options[0].value.as_deref().map(OsStr::as_bytes),
        Some(&b"/tmp/\xff\xfe"[..])
    );
    assert_eq!(p.operands, [op]);
}

#[test]
fn the_iterator_resumes_after_an_error_with_the_rest_of_the_cluster() {
    let mut parser = Parser::new(Spec::getopt(NFSIDMAP), ["p", "-vxl", "op"]);
    assert_eq!(parser.next().unwrap().unwrap().id, Nfs::Verbose);
    assert_eq!(parser.next(), Some(Err(CliError::InvalidOption(b'x'))));
    assert_eq!(parser.next().unwrap().unwrap().id, Nfs::List);
    assert_eq!(parser.next(), None);
    assert_eq!(parser.next(), None);
    assert_eq!(parser.prog(), "p");
    assert_eq!(parser.into_operands(), [os("op")]);
}

#[test]
fn an_empty_argument_vector_has_no_program_name_and_no_options() {
    let p = parse(Spec::getopt(NFSIDMAP), Vec::<OsString>::new());
    assert_eq!(p.prog, "");
    assert!(p.options.is_empty() && p.operands.is_empty() && p.error.is_none());
}

#[test]
fn optional_arguments_come_only_from_the_same_word() {
    const OPT: &[Flag<u8>] = &[Flag::new(1).short(b'o').long("opt").optional("n")];
    let p = parse(
        Spec::getopt_long(OPT),
        ["p", "-o", "x", "-oy", "--opt", "--opt=z"],
    );
    let values: Vec<_> = p.options.iter().map(|o| o.value.clone()).collect();
    assert_eq!(values, [None, Some(os("y")), None, Some(os("z"))]);
    assert_eq!(p.operands, [os("x")]);
    assert_eq!(optstring(OPT), "o::");
}

#[test]
fn help_lists_every_row_with_aligned_descriptions() {
    assert_eq!(
        render_options(DNS_RESOLVER),
        concat!(
            "  -c file, --config  configuration file\n",
            "  -D, --debug        debug mode\n",
            "  -v, --verbose      more output\n",
            "  -V, --version      print the version\n",
            "      --dump-config  print the configuration and exit\n",
        )
    );
    let cifs = render_options(CIFS_UPCALL);
    assert!(
        cifs.contains("\n  -K path, --keytab=path        keytab for the fallback login\n"),
        "{cifs}"
    );
    assert!(
        cifs.contains("\n  -e seconds, --expire=seconds  timeout of dns_resolver keys\n"),
        "{cifs}"
    );
}

#[test]
fn synopsis_bundles_plain_flags_and_lists_flags_with_arguments() {
    assert_eq!(
        synopsis("nfsidmap", NFSIDMAP, "key desc"),
        "Usage: nfsidmap [-hdcvl] [-u name] [-g name] [-r name] [-t timeout] key desc"
    );
    assert_eq!(
        synopsis("key.dns_resolver", DNS_RESOLVER, "<key>"),
        "Usage: key.dns_resolver [-DvV] [-c file] [--dump-config] <key>"
    );
}

#[test]
fn undocumented_reports_spellings_missing_from_a_text_without_matching_inside_longer_words() {
    let man = "cifs.upcall [-K keytab] [-k krb5.conf] [-t] [-v] [-l] [-e nsecs] key\n\
               --keytab --krb5conf --trust-dns --version --legacy-uid --expire";
    assert_eq!(undocumented(CIFS_UPCALL, man), ["-c", "-E", "--no-env-probe"]);
    assert_eq!(
        undocumented(CIFS_UPCALL, "-tv --trustdns"),
        spellings(CIFS_UPCALL)
    );
}

#[test]
fn the_tool_tables_have_no_problems_and_broken_tables_are_reported() {
    assert!(table_problems(CIFS_UPCALL).is_empty());
    assert!(table_problems(DNS_RESOLVER).is_empty());
    assert!(table_problems(NFSIDMAP).is_empty());
    let broken: &[Flag<u8>] = &[
        Flag::new(0),
        Flag::new(1).short(b':'),
        Flag::new(2).short(b'v').long("a=b"),
        Flag::new(3).short(b'v').long(""),
        Flag::new(4).long("x"),
        Flag::new(5).long("x"),
    ];
    assert_eq!(
        table_problems(broken),
        [
            "row 0 has neither a short nor a long form",
            "row 1: short option byte 0x3a cannot be used",
            "row 2: long name \"a=b\" cannot be typed",
            "row 3: short option -v is given twice",
            "row 3: long name \"\" cannot be typed",
            "row 5: long option --x is given twice",
        ]
    );
}

#[test]
fn a_spelling_displays_as_typed_on_the_command_line() {
    assert_eq!(Spelling::Short(b'K').to_string(), "-K");
    assert_eq!(Spelling::Long("keytab").to_string(), "--keytab");
    assert_eq!(Spelling::Short(0xff).to_string(), "-\u{fffd}");
}
