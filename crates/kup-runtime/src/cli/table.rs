//! The flag table: one row per option spelling group, shared by the parser, the help text and the
//! documentation checks.

/// Whether an option takes an argument (glibc `no_argument` / `required_argument` /
/// `optional_argument`, or in a getopt string: nothing, `:`, `::`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgKind {
    /// The option takes no argument (`-v`, `--verbose`).
    None,
    /// The option needs an argument: the rest of the short cluster or the next word (`-cfile`,
    /// `-c file`); for the long form `--name=value` or the next word (`--name value`).
    Required,
    /// The option takes an argument only when it is attached: `-cvalue` or `--name=value`; a
    /// following word is never taken.
    Optional,
}

/// One row of a tool's flag table.
///
/// `id` is what the parser reports back (usually an enum of the tool's options). Several rows may
/// share an id (e.g. two long aliases of one option); glibc then treats an abbreviation that
/// matches only rows with the same id and the same argument kind as unambiguous, and so do we.
///
/// The short and long form normally take the same kind of argument, but C tools sometimes
/// declare them differently (`key.dns_resolver`: `-c file`, but `--config` without argument), so
/// the two kinds are kept apart: [`Flag::required`] / [`Flag::optional`] set both,
/// [`Flag::long_arg`] overrides the long one afterwards.
///
/// Built with `const` methods so a table is a `const`/`static` array:
///
/// ```
/// use kup_runtime::cli::Flag;
/// #[derive(Clone, Copy, PartialEq, Eq, Debug)]
/// enum Opt { Timeout, Verbose }
/// const FLAGS: &[Flag<Opt>] = &[
///     Flag::new(Opt::Timeout).short(b't').long("timeout").required("seconds").help("key timeout"),
///     Flag::new(Opt::Verbose).short(b'v').help("more output (repeatable)"),
/// ];
/// assert_eq!(kup_runtime::cli::optstring(FLAGS), "t:v");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flag<Id> {
    /// What the parser reports when this row matches.
    pub id: Id,
    /// The short option byte (`b'v'` for `-v`), if the option has a short form.
    pub short: Option<u8>,
    /// The long option name without the leading `--`, if the option has a long form.
    pub long: Option<&'static str>,
    /// Argument kind of the short form.
    pub short_arg: ArgKind,
    /// Argument kind of the long form.
    pub long_arg: ArgKind,
    /// Name of the argument in help texts (`FILE`, `seconds`); empty when there is none.
    pub value_name: &'static str,
    /// One-line description for `--help` output.
    pub help: &'static str,
}

impl<Id: Copy> Flag<Id> {
    /// A row with neither a short nor a long form yet, no argument and no help text.
    #[must_use]
    pub const fn new(id: Id) -> Self {
        Self {
            id,
            short: None,
            long: None,
            short_arg: ArgKind::None,
            long_arg: ArgKind::None,
            value_name: "",
            help: "",
        }
    }

    /// Sets the short form (`b'k'` for `-k`).
    #[must_use]
    pub const fn short(self, letter: u8) -> Self {
        Self {
            short: Some(letter),
            ..self
        }
    }

    /// Sets the long form (`"keytab"` for `--keytab`).
    #[must_use]
    pub const fn long(self, name: &'static str) -> Self {
        Self {
            long: Some(name),
            ..self
        }
    }

    /// Both forms require an argument, shown as `value_name` in help texts.
    #[must_use]
    pub const fn required(self, value_name: &'static str) -> Self {
        Self {
            short_arg: ArgKind::Required,
            long_arg: ArgKind::Required,
            value_name,
            ..self
        }
    }

    /// Both forms take an optional attached argument, shown as `value_name` in help texts.
    #[must_use]
    pub const fn optional(self, value_name: &'static str) -> Self {
        Self {
            short_arg: ArgKind::Optional,
            long_arg: ArgKind::Optional,
            value_name,
            ..self
        }
    }

    /// Overrides the argument kind of the long form only (for C tables where the long option
    /// was declared differently from the short one).
    #[must_use]
    pub const fn long_arg(self, kind: ArgKind) -> Self {
        Self {
            long_arg: kind,
            ..self
        }
    }

    /// Sets the one-line help text.
    #[must_use]
    pub const fn help(self, text: &'static str) -> Self {
        Self { help: text, ..self }
    }
}

/// How options and operands may be mixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ordering {
    /// GNU default: the words are scanned to the end (or to `--`); operands found on the way are
    /// set aside, so options after operands still count.
    Permute,
    /// POSIX: the first operand ends option parsing (glibc does this when the getopt string
    /// starts with `+` or when `POSIXLY_CORRECT` is set in the environment).
    RequireOrder,
}

impl Ordering {
    /// The ordering glibc picks for a getopt string without a leading `+`/`-`: `RequireOrder`
    /// when the environment variable `POSIXLY_CORRECT` is set (to anything), else `Permute`.
    /// The caller reads the environment; this module does no I/O.
    #[must_use]
    pub const fn gnu_default(posixly_correct_set: bool) -> Self {
        if posixly_correct_set {
            Self::RequireOrder
        } else {
            Self::Permute
        }
    }
}

/// Which C entry point is imitated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Style {
    /// `getopt(3)`: no long options; `--foo` is read as the short options `-`, `f`, `o`, `o`.
    Getopt,
    /// `getopt_long(3)`: words starting with `--` are long options.
    GetoptLong,
}

/// A complete parser configuration: the table plus the C entry point and ordering imitated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec<'t, Id> {
    /// The flag table.
    pub flags: &'t [Flag<Id>],
    /// `getopt` or `getopt_long`.
    pub style: Style,
    /// Permutation or POSIX order.
    pub ordering: Ordering,
}

impl<'t, Id> Spec<'t, Id> {
    /// Like C `getopt(argc, argv, optstring)`: short options only (long names in the table are
    /// used for help texts but not recognised), GNU permutation.
    #[must_use]
    pub const fn getopt(flags: &'t [Flag<Id>]) -> Self {
        Self {
            flags,
            style: Style::Getopt,
            ordering: Ordering::Permute,
        }
    }

    /// Like C `getopt_long(argc, argv, optstring, longopts, NULL)`, GNU permutation.
    #[must_use]
    pub const fn getopt_long(flags: &'t [Flag<Id>]) -> Self {
        Self {
            flags,
            style: Style::GetoptLong,
            ordering: Ordering::Permute,
        }
    }

    /// The same spec with another ordering (`Ordering::RequireOrder` for an optstring that
    /// starts with `+`, or `Ordering::gnu_default(env has POSIXLY_CORRECT)`).
    #[must_use]
    pub const fn with_ordering(self, ordering: Ordering) -> Self {
        Self { ordering, ..self }
    }
}
