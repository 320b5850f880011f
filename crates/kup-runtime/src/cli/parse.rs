//! The getopt / `getopt_long` state machine.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use super::table::{ArgKind, Flag, Ordering, Spec, Style};

/// How an option was spelled on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Spelling {
    /// `-x` (possibly inside a cluster such as `-vx`).
    Short(u8),
    /// `--name` (possibly abbreviated on the command line; this is the full table name).
    Long(&'static str),
}

impl fmt::Display for Spelling {
    /// `-x` or `--name` (a non-ASCII short byte is shown as U+FFFD).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Short(c) => write!(f, "-{}", String::from_utf8_lossy(&[*c])),
            Self::Long(name) => write!(f, "--{name}"),
        }
    }
}

/// One option occurrence, in command-line order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opt<Id> {
    /// The id of the matching table row.
    pub id: Id,
    /// The argument, if one was given (always `Some` for [`ArgKind::Required`]).
    pub value: Option<OsString>,
    /// How the option was written.
    pub spelled: Spelling,
}

/// A command-line error, as glibc's getopt reports it.
///
/// [`CliError::stderr_bytes`] gives the exact bytes glibc writes to stderr (program name, text,
/// newline); [`CliError::display`] the same line for `Display` (non-UTF-8 bytes replaced).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CliError {
    /// `<prog>: invalid option -- 'x'` (an unknown short option byte).
    InvalidOption(u8),
    /// `<prog>: option requires an argument -- 'x'`.
    MissingArgument(u8),
    /// `<prog>: unrecognized option '--text'`; `text` is everything after `--`, including any
    /// `=value`.
    UnrecognizedOption(OsString),
    /// `<prog>: option '--name' requires an argument` (the full table name).
    LongMissingArgument(&'static str),
    /// `<prog>: option '--name' doesn't allow an argument` (the full table name).
    LongUnexpectedArgument(&'static str),
    /// `<prog>: option '--text' is ambiguous; possibilities: '--a' '--b'`; `text` is everything
    /// after `--` as typed (including any `=value`), `candidates` the full names in table order.
    Ambiguous {
        /// What was typed after `--`.
        text: OsString,
        /// The table names that made it ambiguous.
        candidates: Vec<&'static str>,
    },
}

impl CliError {
    /// The message without program name and newline, as bytes.
    #[must_use]
    pub fn text_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Self::InvalidOption(c) => {
                out.extend_from_slice(b"invalid option -- '");
                out.push(*c);
                out.push(b'\'');
            }
            Self::MissingArgument(c) => {
                out.extend_from_slice(b"option requires an argument -- '");
                out.push(*c);
                out.push(b'\'');
            }
            Self::UnrecognizedOption(text) => {
                out.extend_from_slice(b"unrecognized option '--");
                out.extend_from_slice(text.as_bytes());
                out.push(b'\'');
            }
            Self::LongMissingArgument(name) => {
                out.extend_from_slice(b"option '--");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"' requires an argument");
            }
            Self::LongUnexpectedArgument(name) => {
                out.extend_from_slice(b"option '--");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"' doesn't allow an argument");
            }
            Self::Ambiguous { text, candidates } => {
                out.extend_from_slice(b"option '--");
                out.extend_from_slice(text.as_bytes());
                out.extend_from_slice(b"' is ambiguous; possibilities:");
                for name in candidates {
                    out.extend_from_slice(b" '--");
                    out.extend_from_slice(name.as_bytes());
                    out.push(b'\'');
                }
            }
        }
        out
    }

    /// Exactly what glibc writes to stderr for this error: `<prog>: <text>\n`, where `prog` is
    /// `argv[0]` as given (glibc does not take the basename).
    #[must_use]
    pub fn stderr_bytes(&self, prog: &OsStr) -> Vec<u8> {
        let mut out = prog.as_bytes().to_vec();
        out.extend_from_slice(b": ");
        out.extend_from_slice(&self.text_bytes());
        out.push(b'\n');
        out
    }

    /// A `Display` of `<prog>: <text>` (no newline), non-UTF-8 bytes shown as U+FFFD.
    #[must_use]
    pub fn display<'a>(&'a self, prog: &'a OsStr) -> ErrorLine<'a> {
        ErrorLine { error: self, prog }
    }

    /// The short option byte glibc stores in `optopt` for this error (0 for unknown or ambiguous
    /// long options; for long-option argument errors glibc stores the option's `val`, which has
    /// no byte form here, so this returns 0 for them too).
    #[must_use]
    pub fn optopt(&self) -> u8 {
        match self {
            Self::InvalidOption(c) | Self::MissingArgument(c) => *c,
            _ => 0,
        }
    }
}

impl fmt::Display for CliError {
    /// The text without program name (for `std::error::Error` chains).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.text_bytes()))
    }
}

impl std::error::Error for CliError {}

/// `<prog>: <text>` for `Display`; see [`CliError::display`].
#[derive(Clone, Copy, Debug)]
pub struct ErrorLine<'a> {
    error: &'a CliError,
    prog: &'a OsStr,
}

impl fmt::Display for ErrorLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            String::from_utf8_lossy(self.prog.as_bytes()),
            self.error
        )
    }
}

/// A getopt-compatible iterator over `argv`.
///
/// Each `next()` is one C `getopt`/`getopt_long` call: `Some(Ok(opt))` for an option,
/// `Some(Err(e))` where C returns `'?'` (C would have printed `e.stderr_bytes(prog)`), `None`
/// where C returns -1. Like glibc, it can be resumed after an error (the next call continues
/// with the next byte of the cluster or the next word). Once it returned `None`,
/// [`Parser::operands`] holds the operands in their original order.
#[derive(Clone, Debug)]
pub struct Parser<'t, Id> {
    spec: Spec<'t, Id>,
    prog: OsString,
    args: Vec<OsString>,
    /// Index into `args` of the word being examined (`optind - 1`).
    index: usize,
    /// Offset of the next short option byte within `args[index]`, inside a cluster.
    cluster: Option<usize>,
    operands: Vec<OsString>,
    done: bool,
}

impl<'t, Id: Copy + Eq> Parser<'t, Id> {
    /// A parser over the whole argument vector: the first item is `argv[0]` (the program name
    /// used in messages), the rest are the arguments. An empty vector gives an empty name and
    /// no options.
    pub fn new<I>(spec: Spec<'t, Id>, argv: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        let mut words = argv.into_iter().map(Into::into);
        let prog = words.next().unwrap_or_default();
        Self {
            spec,
            prog,
            args: words.collect(),
            index: 0,
            cluster: None,
            operands: Vec::new(),
            done: false,
        }
    }

    /// `argv[0]` as given.
    #[must_use]
    pub fn prog(&self) -> &OsStr {
        &self.prog
    }

    /// The operands seen so far, in command-line order; complete once the iterator returned
    /// `None`.
    #[must_use]
    pub fn operands(&self) -> &[OsString] {
        &self.operands
    }

    /// Consumes the parser, returning the operands (see [`Parser::operands`]).
    #[must_use]
    pub fn into_operands(self) -> Vec<OsString> {
        self.operands
    }

    fn word(&self, index: usize) -> &[u8] {
        self.args.get(index).map_or(&[][..], |w| w.as_bytes())
    }

    /// Moves every word from `from` on to the operands and ends parsing.
    fn finish(&mut self, from: usize) {
        let rest = self.args.get(from..).unwrap_or_default();
        self.operands.extend(rest.iter().cloned());
        self.index = self.args.len();
        self.done = true;
    }

    fn take_word(&mut self, index: usize) -> OsString {
        self.args.get(index).cloned().unwrap_or_default()
    }

    fn find_short(&self, c: u8) -> Option<&'t Flag<Id>> {
        // glibc never accepts ':' or ';' as options (they are optstring syntax).
        if c == b':' || c == b';' {
            return None;
        }
        let flags: &'t [Flag<Id>] = self.spec.flags;
        flags.iter().find(|f| f.short == Some(c))
    }

    fn next_short(&mut self, offset: usize) -> Result<Opt<Id>, CliError> {
        let word_len = self.word(self.index).len();
        let c = self.word(self.index).get(offset).copied().unwrap_or(0);
        let after = offset + 1;
        let at_end = after >= word_len;
        let Some(flag) = self.find_short(c) else {
            self.advance_cluster(after, at_end);
            return Err(CliError::InvalidOption(c));
        };
        let spelled = Spelling::Short(c);
        match flag.short_arg {
            ArgKind::None => {
                self.advance_cluster(after, at_end);
                Ok(Opt {
                    id: flag.id,
                    value: None,
                    spelled,
                })
            }
            ArgKind::Optional => {
                let value = if at_end { None } else { Some(self.attached(after)) };
                self.cluster = None;
                self.index += 1;
                Ok(Opt {
                    id: flag.id,
                    value,
                    spelled,
                })
            }
            ArgKind::Required => {
                self.cluster = None;
                if !at_end {
                    let value = self.attached(after);
                    self.index += 1;
                    return Ok(Opt {
                        id: flag.id,
                        value: Some(value),
                        spelled,
                    });
                }
                self.index += 1;
                if self.index >= self.args.len() {
                    return Err(CliError::MissingArgument(c));
                }
                let value = self.take_word(self.index);
                self.index += 1;
                Ok(Opt {
                    id: flag.id,
                    value: Some(value),
                    spelled,
                })
            }
        }
    }

    /// The rest of the current word from `offset` on.
    fn attached(&self, offset: usize) -> OsString {
        OsString::from_vec(self.word(self.index).get(offset..).unwrap_or_default().to_vec())
    }

    fn advance_cluster(&mut self, after: usize, at_end: bool) {
        if at_end {
            self.cluster = None;
            self.index += 1;
        } else {
            self.cluster = Some(after);
        }
    }

    fn next_long(&mut self) -> Result<Opt<Id>, CliError> {
        let word = self.word(self.index).get(2..).unwrap_or_default().to_vec();
        self.index += 1;
        let (name, attached) = match word.iter().position(|&b| b == b'=') {
            Some(eq) => (
                word.get(..eq).unwrap_or_default(),
                Some(word.get(eq + 1..).unwrap_or_default()),
            ),
            None => (word.as_slice(), None),
        };
        let found = match find_long(self.spec.flags, name) {
            LongMatch::Found(f) => f,
            LongMatch::Ambiguous(candidates) => {
                return Err(CliError::Ambiguous {
                    text: OsString::from_vec(word),
                    candidates,
                });
            }
            LongMatch::Unknown => return Err(CliError::UnrecognizedOption(OsString::from_vec(word))),
        };
        let full_name = found.long.unwrap_or_default();
        let spelled = Spelling::Long(full_name);
        let value = match (found.long_arg, attached) {
            (ArgKind::None, Some(_)) => return Err(CliError::LongUnexpectedArgument(full_name)),
            (ArgKind::None | ArgKind::Optional, None) => None,
            (ArgKind::Required | ArgKind::Optional, Some(v)) => Some(OsString::from_vec(v.to_vec())),
            (ArgKind::Required, None) => {
                if self.index >= self.args.len() {
                    return Err(CliError::LongMissingArgument(full_name));
                }
                let v = self.take_word(self.index);
                self.index += 1;
                Some(v)
            }
        };
        Ok(Opt {
            id: found.id,
            value,
            spelled,
        })
    }
}

enum LongMatch<'t, Id> {
    Found(&'t Flag<Id>),
    Ambiguous(Vec<&'static str>),
    Unknown,
}

/// glibc's long-name lookup: an exact name wins (first in table order); otherwise the first row
/// whose name starts with `typed`, unless a later prefix match differs from that first one in id
/// or argument kind. Then the first match and every differing one are the candidates.
fn find_long<'t, Id: Copy + Eq>(flags: &'t [Flag<Id>], typed: &[u8]) -> LongMatch<'t, Id> {
    let named = || flags.iter().filter_map(|f| f.long.map(|n| (f, n)));
    if let Some((f, _)) = named().find(|(_, n)| n.as_bytes() == typed) {
        return LongMatch::Found(f);
    }
    let mut prefixed = named().filter(|(_, n)| n.as_bytes().starts_with(typed));
    let Some((first, first_name)) = prefixed.next() else {
        return LongMatch::Unknown;
    };
    let differing: Vec<&'static str> = prefixed
        .filter(|(f, _)| f.id != first.id || f.long_arg != first.long_arg)
        .map(|(_, n)| n)
        .collect();
    if differing.is_empty() {
        LongMatch::Found(first)
    } else {
        let mut candidates = vec![first_name];
        candidates.extend(differing);
        LongMatch::Ambiguous(candidates)
    }
}

impl<Id: Copy + Eq> Iterator for Parser<'_, Id> {
    type Item = Result<Opt<Id>, CliError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(offset) = self.cluster {
            return Some(self.next_short(offset));
        }
        loop {
            let Some(word) = self.args.get(self.index) else {
                self.done = true;
                return None;
            };
            let bytes = word.as_bytes();
            if bytes == b"--" {
                self.finish(self.index + 1);
                return None;
            }
            let is_operand = bytes.first() != Some(&b'-') || bytes.len() == 1;
            if !is_operand {
                break;
            }
            match self.spec.ordering {
                Ordering::Permute => {
                    self.operands.push(word.clone());
                    self.index += 1;
                }
                Ordering::RequireOrder => {
                    self.finish(self.index);
                    return None;
                }
            }
        }
        if self.spec.style == Style::GetoptLong && self.word(self.index).get(1) == Some(&b'-') {
            return Some(self.next_long());
        }
        Some(self.next_short(1))
    }
}

/// The result of [`parse`]: every option up to the first error, in order, then the error.
///
/// A tool that wants C's exact behaviour handles `options` in order first (an early `--version`
/// or `-h` that exits wins over a later bad option, as in C where the loop never reaches it),
/// then reports `error` if there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed<Id> {
    /// `argv[0]` as given (for error messages).
    pub prog: OsString,
    /// The options before the first error, in command-line order, repeats included.
    pub options: Vec<Opt<Id>>,
    /// The operands in order; complete only when `error` is `None`.
    pub operands: Vec<OsString>,
    /// The first error, which C getopt would have reported right after the last of `options`.
    pub error: Option<CliError>,
}

impl<Id: Copy + Eq> Parsed<Id> {
    /// How many times the option occurred (for repeatable flags such as `-v`).
    #[must_use]
    pub fn count(&self, id: Id) -> usize {
        self.options.iter().filter(|o| o.id == id).count()
    }

    /// Whether the option occurred at all.
    #[must_use]
    pub fn has(&self, id: Id) -> bool {
        self.options.iter().any(|o| o.id == id)
    }

    /// The last occurrence of the option (C tools that assign a variable in the loop keep the
    /// last value).
    #[must_use]
    pub fn last(&self, id: Id) -> Option<&Opt<Id>> {
        self.options.iter().rev().find(|o| o.id == id)
    }

    /// The argument of the last occurrence, if the option occurred with one.
    #[must_use]
    pub fn last_value(&self, id: Id) -> Option<&OsStr> {
        self.last(id).and_then(|o| o.value.as_deref())
    }

    /// The error line as glibc writes it to stderr, if parsing failed.
    #[must_use]
    pub fn error_bytes(&self) -> Option<Vec<u8>> {
        self.error.as_ref().map(|e| e.stderr_bytes(&self.prog))
    }
}

/// Parses a whole argument vector (`argv[0]` first) until the end or the first error.
pub fn parse<Id, I>(spec: Spec<'_, Id>, argv: I) -> Parsed<Id>
where
    Id: Copy + Eq,
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let mut parser = Parser::new(spec, argv);
    let mut options = Vec::new();
    let mut error = None;
    for item in parser.by_ref() {
        match item {
            Ok(opt) => options.push(opt),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    Parsed {
        prog: parser.prog.clone(),
        options,
        operands: parser.into_operands(),
        error,
    }
}
