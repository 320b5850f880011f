//! The crate's one error type (fatal: the whole load fails, as gssproxy exits 1 or keeps its old
//! configuration on SIGHUP) and its notes (not fatal: what gssproxy logs and carries on after).

use std::fmt;
use std::path::PathBuf;

/// A fatal configuration error: which file, which line (0 when no line applies) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The file as the caller named it.
    pub file: PathBuf,
    /// The 1-based line, 0 when the error is not about one line (a limit, no services).
    pub line: u32,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// What makes a configuration unusable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    // --- the file as a whole ---
    /// The file is larger than [`crate::MAX_FILE_BYTES`].
    FileTooLarge,
    /// A line is longer than [`crate::MAX_LINE_BYTES`].
    LineTooLong,
    /// The file is not valid UTF-8 (or UTF-16/32 after its byte order mark), as libini's
    /// conversion requires.
    Encoding,
    /// A `/* ... */` comment is still open at the end of the file.
    UnterminatedComment,
    /// More sections than [`crate::MAX_SECTIONS`] in this load.
    TooManySections,
    /// More entries than [`crate::MAX_ENTRIES`] in this load.
    TooManyEntries,
    // --- one line ---
    /// A line that is neither a comment, a section nor `key = value`.
    NoEqualSign,
    /// A line whose first non-blank byte is `=`.
    NoKey,
    /// A key of 1024 bytes or more (libini's limit).
    KeyTooLong,
    /// A line starting with a blank followed by a control character (`\v`, `\f`, `\r`).
    BadLeadingSpace,
    /// `[name` without the closing bracket (or text after it).
    NoClosingBracket,
    /// `[]` or `[  ]`.
    EmptySectionName,
    /// A section name longer than 1024 bytes (libini's limit).
    SectionNameTooLong,
    // --- options ---
    /// A required option (`euid`, `mechs`) is absent from `[service/NAME]`.
    MissingOption {
        /// The section, `service/NAME`.
        section: String,
        /// The option's name.
        option: &'static str,
    },
    /// An integer option without leading digits or out of the C `int` range.
    BadInteger {
        /// The section.
        section: String,
        /// The option's name.
        option: &'static str,
    },
    /// An obsolete `krb5_keytab`/`krb5_ccache`/`krb5_client_keytab` option.
    DeprecatedOption {
        /// The section.
        section: String,
        /// The obsolete option.
        option: &'static str,
        /// The `cred_store` key that replaces it.
        replacement: &'static str,
    },
    /// A `cred_store` value without the `:` between key and value.
    CredStoreWithoutColon {
        /// The section.
        section: String,
    },
    /// `cred_usage` other than `initiate`, `accept` or `both`.
    BadCredUsage {
        /// The section.
        section: String,
    },
    /// `program` is not an absolute path.
    RelativeProgram {
        /// The section.
        section: String,
    },
    /// `program` contains `|` (reserved).
    ProgramWithBar {
        /// The section.
        section: String,
    },
    /// `selinux_context` is not `user:role:type[:range]`.
    BadSelinuxContext {
        /// The section.
        section: String,
    },
    /// No `[service/NAME]` section is left.
    NoServices,
    /// More services than [`crate::MAX_SERVICES`].
    TooManyServices,
    // --- found when the caller resolves user names ---
    /// `euid` names no user (gssproxy reports this as the option missing).
    UnknownUser {
        /// The section.
        section: String,
    },
    /// An earlier service with `allow_any_uid` on the same socket, program and `SELinux` context
    /// shadows a later one.
    AnyUidShadows {
        /// The earlier service's name.
        earlier: String,
        /// The later service's name.
        later: String,
    },
    /// Two services with the same socket, program, `SELinux` context and euid.
    SameService {
        /// The earlier service's name.
        earlier: String,
        /// The later service's name.
        later: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.kind)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.kind)
        }
    }
}

impl std::error::Error for Error {}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FileTooLarge => write!(f, "file larger than {} bytes", crate::MAX_FILE_BYTES),
            Self::LineTooLong => write!(f, "line longer than {} bytes", crate::MAX_LINE_BYTES),
            Self::Encoding => f.write_str("file is not valid UTF-8 (nor UTF-16/32 with a byte order mark)"),
            Self::UnterminatedComment => f.write_str("unterminated /* comment at end of file"),
            Self::TooManySections => write!(f, "more than {} sections", crate::MAX_SECTIONS),
            Self::TooManyEntries => write!(f, "more than {} keys", crate::MAX_ENTRIES),
            Self::NoEqualSign => f.write_str("equal sign is missing"),
            Self::NoKey => f.write_str("no key before the equal sign"),
            Self::KeyTooLong => f.write_str("key name is too long"),
            Self::BadLeadingSpace => f.write_str("line starts with a blank and a control character"),
            Self::NoClosingBracket => f.write_str("section line does not end with ']'"),
            Self::EmptySectionName => f.write_str("section name is empty"),
            Self::SectionNameTooLong => f.write_str("section name is too long"),
            Self::MissingOption { section, option } => {
                write!(f, "option '{option}' is missing from [{}]", Shown(section))
            }
            Self::BadInteger { section, option } => {
                write!(
                    f,
                    "option '{option}' in [{}] is not an integer in the C int range",
                    Shown(section)
                )
            }
            Self::DeprecatedOption {
                section,
                option,
                replacement,
            } => write!(
                f,
                "option '{option}' in [{}] is obsolete, use 'cred_store = {replacement}:VALUE'",
                Shown(section)
            ),
            Self::CredStoreWithoutColon { section } => {
                write!(
                    f,
                    "cred_store value in [{}] has no ':' between key and value",
                    Shown(section)
                )
            }
            Self::BadCredUsage { section } => {
                write!(
                    f,
                    "cred_usage in [{}] is not 'initiate', 'accept' or 'both'",
                    Shown(section)
                )
            }
            Self::RelativeProgram { section } => {
                write!(f, "program in [{}] is not an absolute path", Shown(section))
            }
            Self::ProgramWithBar { section } => {
                write!(f, "program in [{}] contains the reserved '|'", Shown(section))
            }
            Self::BadSelinuxContext { section } => {
                write!(
                    f,
                    "selinux_context in [{}] is not 'user:role:type[:range]'",
                    Shown(section)
                )
            }
            Self::NoServices => f.write_str("no service sections configured"),
            Self::TooManyServices => write!(f, "more than {} services", crate::MAX_SERVICES),
            Self::UnknownUser { section } => write!(f, "euid in [{}] names no known user", Shown(section)),
            Self::AnyUidShadows { earlier, later } => write!(
                f,
                "service {} sets allow_any_uid with the same socket, selinux_context and program as {}",
                Shown(earlier),
                Shown(later)
            ),
            Self::SameService { earlier, later } => write!(
                f,
                "services {} and {} have the same socket, selinux_context, euid and program",
                Shown(earlier),
                Shown(later)
            ),
        }
    }
}

/// Something gssproxy logs and carries on after: a skipped snippet, a dropped service, an
/// ignored value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The file as the caller named it.
    pub file: PathBuf,
    /// The 1-based line, 0 when the note is not about one line.
    pub line: u32,
    /// What happened.
    pub kind: NoteKind,
}

/// What was skipped or ignored, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoteKind {
    /// A snippet with a syntax error or over a limit is not used (the rest loads).
    SnippetSkipped {
        /// Why.
        error: ErrorKind,
    },
    /// A snippet holding a section other than `gssproxy` or `service/...` is not used.
    SnippetForeignSection {
        /// The section that is not allowed.
        section: String,
    },
    /// More snippet files than [`crate::MAX_SNIPPETS`]: the ones sorting last are not read.
    SnippetOverLimit,
    /// A directory entry with a snippet's name that is not a regular file (for the caller,
    /// which does the `stat`): skipped.
    SnippetNotRegular,
    /// A snippet's section already came from an earlier file: the later one is discarded whole.
    DuplicateSection {
        /// The section.
        section: String,
    },
    /// A `[gssproxy]` section in a snippet is discarded because an earlier file has one
    /// (Debian's `gssproxy.conf` holds an empty one): its options have no effect.
    GlobalShadowed,
    /// A `mechs` token other than `krb5` is ignored.
    UnknownMech {
        /// The section.
        section: String,
        /// The token.
        mech: String,
    },
    /// A service whose `mechs` names no `krb5` is dropped.
    NoMechs {
        /// The section.
        section: String,
    },
    /// A flag-list token without `+`/`-` or with an unknown name or value is ignored.
    FlagIgnored {
        /// The section.
        section: String,
        /// The option (`filter_flags`, `enforce_flags`).
        option: &'static str,
        /// The token.
        token: String,
    },
    /// `min_lifetime` negative or not an integer: the default (15) is used.
    MinLifetimeIgnored {
        /// The section.
        section: String,
    },
    /// `euid` has text after its leading digits, which gssproxy ignores (`12abc` is 12).
    EuidTrailingText {
        /// The section.
        section: String,
        /// The uid used.
        uid: u32,
    },
    /// `selinux_context` is deprecated (use `socket` or `euid`).
    SelinuxDeprecated {
        /// The section.
        section: String,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.kind)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.kind)
        }
    }
}

impl fmt::Display for NoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SnippetSkipped { error } => write!(f, "{error}; file not considered, skipping"),
            Self::SnippetForeignSection { section } => {
                write!(f, "section [{}] is not allowed in a snippet; file skipped", Shown(section))
            }
            Self::SnippetOverLimit => write!(f, "more than {} snippet files; file skipped", crate::MAX_SNIPPETS),
            Self::SnippetNotRegular => f.write_str("not a regular file; skipping"),
            Self::DuplicateSection { section } => {
                write!(f, "duplicate section [{}] in snippet, discarded", Shown(section))
            }
            Self::GlobalShadowed => f.write_str(
                "[gssproxy] in a snippet is discarded because an earlier file has [gssproxy]; put global options in the main file",
            ),
            Self::UnknownMech { section, mech } => write!(f, "unknown mech '{}' in [{}], ignoring", Shown(mech), Shown(section)),
            Self::NoMechs { section } => write!(f, "no known mech in [{}], service ignored", Shown(section)),
            Self::FlagIgnored { section, option, token } => {
                write!(f, "ignoring {option} token '{}' in [{}]", Shown(token), Shown(section))
            }
            Self::MinLifetimeIgnored { section } => {
                write!(f, "min_lifetime in [{}] is not a number >= 0, using 15", Shown(section))
            }
            Self::EuidTrailingText { section, uid } => {
                write!(f, "euid in [{}] has text after its digits, read as {uid}", Shown(section))
            }
            Self::SelinuxDeprecated { section } => {
                write!(f, "selinux_context in [{}] is deprecated; use euid/socket instead", Shown(section))
            }
        }
    }
}

/// Most bytes of a configuration-derived string shown in a message.
const SHOWN_MAX: usize = 256;

/// A string from a configuration file as messages show it: control characters and backslashes
/// escaped (`\xNN`), cut after [`SHOWN_MAX`] bytes with `...`, so a log line stays one short
/// line whatever the file holds.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = 0_usize;
        for c in self.0.chars() {
            if shown >= SHOWN_MAX {
                return f.write_str("...");
            }
            shown = shown.saturating_add(c.len_utf8());
            if c.is_control() || c == '\\' {
                let mut buffer = [0_u8; 4];
                for byte in c.encode_utf8(&mut buffer).bytes() {
                    write!(f, "\\x{byte:02x}")?;
                }
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_escape_and_cut_configuration_text() {
        let kind = NoteKind::UnknownMech {
            section: "service/a\u{1b}[31m".to_owned(),
            mech: "x".repeat(300),
        };
        let text = kind.to_string();
        assert!(text.contains("[service/a\\x1b[31m]"), "{text}");
        assert!(text.contains(&format!("'{}...'", "x".repeat(256))), "{text}");
        assert!(!text.chars().any(char::is_control));
        let error = Error {
            file: PathBuf::from("/etc/gssproxy/10-a.conf"),
            line: 3,
            kind: ErrorKind::CredStoreWithoutColon {
                section: "service/a\nb".to_owned(),
            },
        };
        assert_eq!(
            error.to_string(),
            "/etc/gssproxy/10-a.conf:3: cred_store value in [service/a\\x0ab] has no ':' between key and value"
        );
    }
}
