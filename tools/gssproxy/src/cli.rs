//! gssproxy 0.9.1's command line (popt; spec gssproxy-config.md §1.1): every option is parsed;
//! what the daemon does with each is in `lib.rs`.
//!
//! popt rules reproduced: long options by their full name, `--name=value` or `--name value`;
//! short options bundled (`-id`) and with an attached or separate argument (`-cFILE`, `-c FILE`);
//! `--` ends the options; positional arguments are ignored; an unknown option, a missing argument
//! or a bad number is `\nInvalid option <opt>: <reason>\n\n` and the usage on stderr, exit 1;
//! `-D` with `-i` is refused with exit status 0 (sic).

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;

/// What the command line asks for (one field per option, as popt's table).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "one field per flag of the reference's option table"
)]
pub struct Options {
    /// `-D`/`--daemon`.
    pub daemon: bool,
    /// `-i`/`--interactive`.
    pub interactive: bool,
    /// `-c`/`--config`.
    pub config_file: Option<PathBuf>,
    /// `-C`/`--configdir`.
    pub config_dir: Option<PathBuf>,
    /// `-s`/`--socket`.
    pub socket: Option<PathBuf>,
    /// `-u`/`--userproxy`.
    pub userproxy: bool,
    /// `-d`/`--debug` (level 1) or `--debug-level N`.
    pub debug_level: u32,
    /// `--syslog-status`.
    pub syslog_status: bool,
    /// `--idle-timeout`.
    pub idle_timeout: Option<i64>,
    /// `--extract-ccache`.
    pub extract_ccache: Option<OsString>,
    /// `--into-ccache`.
    pub into_ccache: Option<OsString>,
}

/// The outcome of parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the daemon.
    Run(Options),
    /// Print this on stdout and exit 0 (`--help`, `--usage`, `--version`).
    Print(String),
    /// Print this on stderr and exit with the status.
    Fail(String, u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Id {
    Daemon,
    Interactive,
    Config,
    ConfigDir,
    Socket,
    UserProxy,
    Debug,
    DebugLevel,
    SyslogStatus,
    Version,
    IdleTimeout,
    ExtractCcache,
    IntoCcache,
    Help,
    Usage,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arg {
    None,
    Text,
    Number,
}

/// One option: short letter, long name, argument, id, help text (None: hidden).
type Entry = (Option<u8>, &'static str, Arg, Id, Option<&'static str>);

/// The option table.
const TABLE: &[Entry] = &[
    (
        Some(b'D'),
        "daemon",
        Arg::None,
        Id::Daemon,
        Some("Become a daemon (default)"),
    ),
    (
        Some(b'i'),
        "interactive",
        Arg::None,
        Id::Interactive,
        Some("Run interactive (not a daemon)"),
    ),
    (
        Some(b'c'),
        "config",
        Arg::Text,
        Id::Config,
        Some("Specify a non-default config file"),
    ),
    (
        Some(b'C'),
        "configdir",
        Arg::Text,
        Id::ConfigDir,
        Some("Specify a non-default config directory"),
    ),
    (
        Some(b's'),
        "socket",
        Arg::Text,
        Id::Socket,
        Some("Specify a custom default socket"),
    ),
    (
        Some(b'u'),
        "userproxy",
        Arg::None,
        Id::UserProxy,
        Some("Userproxy mode"),
    ),
    (
        Some(b'd'),
        "debug",
        Arg::None,
        Id::Debug,
        Some("Enable debugging"),
    ),
    (
        None,
        "debug-level",
        Arg::Number,
        Id::DebugLevel,
        Some("Set debugging level"),
    ),
    (
        None,
        "syslog-status",
        Arg::None,
        Id::SyslogStatus,
        Some("Enable GSSAPI status logging to syslog"),
    ),
    (
        None,
        "version",
        Arg::None,
        Id::Version,
        Some("Print version number and exit"),
    ),
    (
        None,
        "idle-timeout",
        Arg::Number,
        Id::IdleTimeout,
        Some("Set idle timeout"),
    ),
    (None, "extract-ccache", Arg::Text, Id::ExtractCcache, None),
    (None, "into-ccache", Arg::Text, Id::IntoCcache, None),
    (
        Some(b'?'),
        "help",
        Arg::None,
        Id::Help,
        Some("Show this help message"),
    ),
    (
        None,
        "usage",
        Arg::None,
        Id::Usage,
        Some("Display brief usage message"),
    ),
];

/// The spellings (`-x`, `--name`) of the options the help lists: what `gssproxy(8)` documents.
/// Left out: `-?` (a man page's option words are letters and digits) and the options the
/// reference hides from its help and page (`--extract-ccache`, `--into-ccache`).
#[must_use]
pub fn documented_spellings() -> Vec<String> {
    let mut out = Vec::new();
    for &(short, long, _, _, help) in TABLE {
        if help.is_none() {
            continue;
        }
        if let Some(letter) = short.filter(u8::is_ascii_alphanumeric) {
            out.push(format!("-{}", char::from(letter)));
        }
        out.push(format!("--{long}"));
    }
    out
}

/// Parses `argv` (the program name first).
#[must_use]
pub fn parse(argv: &[OsString]) -> Command {
    let mut options = Options::default();
    let mut found: Vec<(Id, Option<OsString>)> = Vec::new();
    let mut index = 1;
    while let Some(arg) = argv.get(index) {
        index += 1;
        let bytes = arg.as_bytes();
        if bytes == b"--" {
            break;
        }
        if let Some(long) = bytes.strip_prefix(b"--") {
            let (name, inline) = match long.iter().position(|&byte| byte == b'=') {
                Some(at) => (&long[..at], Some(OsStr::from_bytes(&long[at + 1..]).to_owned())),
                None => (long, None),
            };
            let Some(&(_, _, kind, id, _)) = TABLE.iter().find(|entry| entry.1.as_bytes() == name) else {
                return invalid(arg, "unknown option");
            };
            let value = match (kind, inline) {
                (Arg::None, _) => None,
                (_, Some(value)) => Some(value),
                (_, None) => match argv.get(index) {
                    Some(value) => {
                        index += 1;
                        Some(value.clone())
                    }
                    None => return invalid(arg, "missing argument"),
                },
            };
            found.push((id, value));
        } else if bytes.len() > 1 && bytes[0] == b'-' {
            let mut at = 1;
            while let Some(&letter) = bytes.get(at) {
                at += 1;
                let Some(&(_, _, kind, id, _)) = TABLE.iter().find(|entry| entry.0 == Some(letter)) else {
                    return invalid(OsStr::from_bytes(&[b'-', letter]), "unknown option");
                };
                if kind == Arg::None {
                    found.push((id, None));
                    continue;
                }
                let value = if at < bytes.len() {
                    OsStr::from_bytes(&bytes[at..]).to_owned()
                } else if let Some(value) = argv.get(index) {
                    index += 1;
                    value.clone()
                } else {
                    return invalid(OsStr::from_bytes(&[b'-', letter]), "missing argument");
                };
                found.push((id, Some(value)));
                break;
            }
        }
        // Positional arguments are ignored, as popt's caller does.
    }
    for (id, value) in found {
        let text = value.clone().unwrap_or_default();
        match id {
            Id::Version => return Command::Print(format!("{}\n", env!("CARGO_PKG_VERSION"))),
            Id::Help => return Command::Print(help()),
            Id::Usage => return Command::Print(usage()),
            Id::Daemon => options.daemon = true,
            Id::Interactive => options.interactive = true,
            Id::Config => options.config_file = Some(PathBuf::from(text)),
            Id::ConfigDir => options.config_dir = Some(PathBuf::from(text)),
            Id::Socket => options.socket = Some(PathBuf::from(text)),
            Id::UserProxy => options.userproxy = true,
            Id::Debug => options.debug_level = options.debug_level.max(1),
            Id::DebugLevel => match number(&text) {
                Some(level) => options.debug_level = u32::try_from(level.max(0)).unwrap_or(u32::MAX),
                None => return invalid(OsStr::new("--debug-level"), "invalid numeric value"),
            },
            Id::SyslogStatus => options.syslog_status = true,
            Id::IdleTimeout => match number(&text) {
                Some(seconds) => options.idle_timeout = Some(seconds),
                None => return invalid(OsStr::new("--idle-timeout"), "invalid numeric value"),
            },
            Id::ExtractCcache => options.extract_ccache = value,
            Id::IntoCcache => options.into_ccache = value,
        }
    }
    if options.daemon && options.interactive {
        return Command::Fail(
            format!(
                "Option -i|--interactive is not allowed together with -D|--daemon\n{}",
                usage()
            ),
            0,
        );
    }
    Command::Run(options)
}

/// popt's integer argument: an optional sign and decimal digits, nothing else.
fn number(text: &OsStr) -> Option<i64> {
    std::str::from_utf8(text.as_bytes()).ok()?.parse().ok()
}

fn invalid(option: &OsStr, reason: &str) -> Command {
    Command::Fail(
        format!(
            "\nInvalid option {}: {reason}\n\n{}",
            option.to_string_lossy(),
            usage()
        ),
        1,
    )
}

/// The one-paragraph usage.
#[must_use]
pub fn usage() -> String {
    let mut text = String::from("Usage: gssproxy");
    for &(short, long, kind, _, help) in TABLE {
        if help.is_none() {
            continue;
        }
        let argument = match kind {
            Arg::None => "",
            Arg::Text => "=STRING",
            Arg::Number => "=INT",
        };
        match short {
            Some(letter) => {
                let _ = write!(text, " [-{}|--{long}{argument}]", char::from(letter));
            }
            None => {
                let _ = write!(text, " [--{long}{argument}]");
            }
        }
    }
    text.push('\n');
    text
}

/// The help text.
#[must_use]
pub fn help() -> String {
    let mut text = String::from("Usage: gssproxy [OPTION...]\n");
    for &(short, long, kind, _, help) in TABLE {
        let Some(help) = help else {
            continue;
        };
        let argument = match kind {
            Arg::None => "",
            Arg::Text => "=STRING",
            Arg::Number => "=INT",
        };
        let spelling = match short {
            Some(letter) => format!("-{}, --{long}{argument}", char::from(letter)),
            None => format!("    --{long}{argument}"),
        };
        let _ = writeln!(text, "  {spelling:<32}{help}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(arguments: &[&str]) -> Command {
        let argv: Vec<OsString> = std::iter::once("gssproxy")
            .chain(arguments.iter().copied())
            .map(OsString::from)
            .collect();
        parse(&argv)
    }

    #[test]
    fn short_long_bundled_and_attached_forms_are_read() {
        let Command::Run(options) = run(&[
            "-id",
            "-c/etc/x.conf",
            "--socket",
            "/run/s",
            "--configdir=/d",
            "extra",
        ]) else {
            panic!("not run");
        };
        assert!(options.interactive);
        assert_eq!(options.debug_level, 1);
        assert_eq!(options.config_file, Some(PathBuf::from("/etc/x.conf")));
        assert_eq!(options.socket, Some(PathBuf::from("/run/s")));
        assert_eq!(options.config_dir, Some(PathBuf::from("/d")));
        let Command::Run(options) = run(&["--debug-level", "3", "--syslog-status", "-u"]) else {
            panic!("not run");
        };
        assert_eq!(options.debug_level, 3);
        assert!(options.syslog_status && options.userproxy);
    }

    #[test]
    fn errors_have_popts_text_and_status() {
        let Command::Fail(text, 1) = run(&["--bogus"]) else {
            panic!()
        };
        assert!(
            text.starts_with("\nInvalid option --bogus: unknown option\n\nUsage: gssproxy"),
            "{text}"
        );
        let Command::Fail(text, 1) = run(&["-c"]) else {
            panic!()
        };
        assert!(
            text.starts_with("\nInvalid option -c: missing argument\n"),
            "{text}"
        );
        let Command::Fail(text, 1) = run(&["--debug-level=x"]) else {
            panic!()
        };
        assert!(text.contains("invalid numeric value"), "{text}");
        assert!(matches!(run(&["-D", "-i"]), Command::Fail(_, 0)));
        assert!(matches!(run(&["--version"]), Command::Print(_)));
        assert!(matches!(run(&["-?"]), Command::Print(_)));
    }
}
