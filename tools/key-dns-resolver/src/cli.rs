//! The command line of keyutils 1.6.3's `key.dns_resolver`: `getopt_long` with the short string
//! `c:vDV` and the long options `config` (declared **without** an argument: `--config x` leaves
//! the path NULL, a reference bug we reproduce), `debug`, `dump-config`, `verbose`, `version`.
//! The first error ends parsing (usage, exit 2); `-V` ends it with the version (exit 0).

use std::ffi::OsString;

use kup_runtime::cli::{ArgKind, Flag, Parser, Spec};

/// Option ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    /// `-c file` / `--config`.
    Config,
    /// `-D` / `--debug`.
    Debug,
    /// `--dump-config`.
    DumpConfig,
    /// `-v` / `--verbose`.
    Verbose,
    /// `-V` / `--version`.
    Version,
}

/// The flag table, in the reference's `long_options` order (it decides ambiguity messages).
pub const FLAGS: &[Flag<Opt>] = &[
    Flag::new(Opt::Config)
        .short(b'c')
        .long("config")
        .required("config")
        .long_arg(ArgKind::None)
        .help("read this configuration file (the long form takes no argument, as in keyutils)"),
    Flag::new(Opt::Debug)
        .short(b'D')
        .long("debug")
        .help("debug mode: take <desc> <calloutinfo>, touch no key"),
    Flag::new(Opt::DumpConfig)
        .long("dump-config")
        .help("print the configuration and exit"),
    Flag::new(Opt::Verbose)
        .short(b'v')
        .long("verbose")
        .help("more output (repeatable)"),
    Flag::new(Opt::Version)
        .short(b'V')
        .long("version")
        .help("print the version and exit"),
];

/// Which configuration file to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// `/etc/keyutils/key.dns_resolver.conf`; a missing file means defaults.
    Default,
    /// `-c path`; a missing file is an error.
    Given(OsString),
    /// `--config`: the reference's NULL path (`(null): Bad address`).
    Null,
}

/// A run of the helper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Configuration file.
    pub config: ConfigSource,
    /// `-v` count.
    pub verbosity: u32,
    /// `-D`.
    pub debug: bool,
    /// `--dump-config`.
    pub dump_config: bool,
    /// Positional arguments.
    pub operands: Vec<OsString>,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Print the version, exit 0.
    Version,
    /// Usage error, exit 2; `error` is what getopt writes to stderr, if anything.
    Usage {
        /// getopt's message bytes.
        error: Option<Vec<u8>>,
        /// `-v` seen before the error (the usage line is logged at verbosity 1).
        verbosity: u32,
    },
    /// Run.
    Run(Options),
}

/// Parses `argv` (program name first).
#[must_use]
pub fn parse(argv: Vec<OsString>) -> Command {
    let mut parser = Parser::new(Spec::getopt_long(FLAGS), argv);
    let mut options = Options {
        config: ConfigSource::Default,
        verbosity: 0,
        debug: false,
        dump_config: false,
        operands: Vec::new(),
    };
    while let Some(item) = parser.next() {
        match item {
            Err(error) => {
                return Command::Usage {
                    error: Some(error.stderr_bytes(parser.prog())),
                    verbosity: options.verbosity,
                };
            }
            Ok(opt) => match opt.id {
                Opt::Config => {
                    options.config = opt.value.map_or(ConfigSource::Null, ConfigSource::Given);
                }
                Opt::Debug => options.debug = true,
                Opt::DumpConfig => options.dump_config = true,
                Opt::Verbose => options.verbosity = options.verbosity.saturating_add(1),
                Opt::Version => return Command::Version,
            },
        }
    }
    options.operands = parser.into_operands();
    Command::Run(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Command {
        let mut words = vec![OsString::from("key.dns_resolver")];
        words.extend(args.iter().map(OsString::from));
        parse(words)
    }

    fn options(args: &[&str]) -> Options {
        match run(args) {
            Command::Run(options) => options,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn short_options_bundle_and_permute() {
        let parsed = options(&["123", "-vvDc/etc/x"]);
        assert_eq!(parsed.verbosity, 2);
        assert!(parsed.debug);
        assert_eq!(parsed.config, ConfigSource::Given("/etc/x".into()));
        assert_eq!(parsed.operands, ["123"]);
        let parsed = options(&["-c", "/y", "--", "-v"]);
        assert_eq!(parsed.config, ConfigSource::Given("/y".into()));
        assert_eq!(parsed.operands, ["-v"]);
    }

    #[test]
    fn long_config_takes_no_argument_like_the_reference() {
        let parsed = options(&["--config", "/x", "1"]);
        assert_eq!(parsed.config, ConfigSource::Null);
        assert_eq!(parsed.operands, ["/x", "1"]);
        assert!(matches!(
            run(&["--config=/x"]),
            Command::Usage { error: Some(_), .. }
        ));
    }

    #[test]
    fn long_options_and_unique_prefixes() {
        let parsed = options(&["--dump-config", "--verb", "--deb"]);
        assert!(parsed.dump_config && parsed.debug);
        assert_eq!(parsed.verbosity, 1);
        assert_eq!(run(&["--vers"]), Command::Version);
    }

    #[test]
    fn errors_are_usage_with_getopt_text() {
        let Command::Usage {
            error: Some(text), ..
        } = run(&["-x"])
        else {
            panic!("not usage");
        };
        assert_eq!(text, b"key.dns_resolver: invalid option -- 'x'\n");
        let Command::Usage {
            error: Some(text), ..
        } = run(&["--ver"])
        else {
            panic!("not usage");
        };
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "key.dns_resolver: option '--ver' is ambiguous; possibilities: '--verbose' '--version'\n"
        );
        assert!(matches!(run(&["-c"]), Command::Usage { error: Some(_), .. }));
        assert!(matches!(run(&["--d"]), Command::Usage { error: Some(_), .. }));
    }

    #[test]
    fn version_wins_only_when_reached_first() {
        assert_eq!(run(&["-V", "-x"]), Command::Version);
        assert!(matches!(run(&["-x", "-V"]), Command::Usage { .. }));
    }
}
