//! Texts generated from a flag table: the equivalent getopt string, an option list for
//! `--help`, a synopsis, and a check that a help text or man page mentions every spelling.

use std::fmt::Write as _;

use super::table::{ArgKind, Flag};

fn suffix(kind: ArgKind) -> &'static str {
    match kind {
        ArgKind::None => "",
        ArgKind::Required => ":",
        ArgKind::Optional => "::",
    }
}

/// The C getopt short-option string equivalent to the table (short forms in table order, each
/// byte once), e.g. `"hdu:g:r:ct:vl"`. Lets a test pin a table to the C tool's string.
#[must_use]
pub fn optstring<Id>(flags: &[Flag<Id>]) -> String {
    let mut seen = Vec::new();
    let mut out = String::new();
    for f in flags {
        let Some(c) = f.short else { continue };
        if seen.contains(&c) {
            continue;
        }
        seen.push(c);
        out.push(char::from(c));
        out.push_str(suffix(f.short_arg));
    }
    out
}

/// The long options as C `struct option` would list them: `(name, kind)` in table order.
#[must_use]
pub fn long_options<Id>(flags: &[Flag<Id>]) -> Vec<(&'static str, ArgKind)> {
    flags
        .iter()
        .filter_map(|f| f.long.map(|n| (n, f.long_arg)))
        .collect()
}

/// Every spelling a user can type for the table's options: `-x` and `--name`.
#[must_use]
pub fn spellings<Id>(flags: &[Flag<Id>]) -> Vec<String> {
    let mut out = Vec::new();
    for f in flags {
        if let Some(c) = f.short {
            out.push(format!("-{}", char::from(c)));
        }
        if let Some(n) = f.long {
            out.push(format!("--{n}"));
        }
    }
    out
}

fn left_column<Id>(f: &Flag<Id>) -> String {
    let mut s = String::new();
    let value = if f.value_name.is_empty() {
        "ARG"
    } else {
        f.value_name
    };
    match f.short {
        Some(c) => {
            s.push('-');
            s.push(char::from(c));
            match f.short_arg {
                ArgKind::None => {}
                ArgKind::Required => {
                    let _ = write!(s, " {value}");
                }
                ArgKind::Optional => {
                    let _ = write!(s, "[{value}]");
                }
            }
            if f.long.is_some() {
                s.push_str(", ");
            }
        }
        None => s.push_str("    "),
    }
    if let Some(n) = f.long {
        let _ = write!(s, "--{n}");
        match f.long_arg {
            ArgKind::None => {}
            ArgKind::Required => {
                let _ = write!(s, "={value}");
            }
            ArgKind::Optional => {
                let _ = write!(s, "[={value}]");
            }
        }
    }
    s
}

/// The option list for `--help` output, one line per table row, GNU style:
///
/// ```text
///   -c FILE, --config  read FILE instead of the default configuration
///   -v, --verbose      more output (repeatable)
///       --dump-config  print the configuration and exit
/// ```
#[must_use]
pub fn render_options<Id>(flags: &[Flag<Id>]) -> String {
    let rows: Vec<(String, &str)> = flags.iter().map(|f| (left_column(f), f.help)).collect();
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (left, help) in rows {
        if help.is_empty() {
            let _ = writeln!(out, "  {left}");
        } else {
            let _ = writeln!(out, "  {left:<width$}  {help}");
        }
    }
    out
}

/// A synopsis in the usual man-page form: short flags without argument bundled (`[-hv]`),
/// then `[-t timeout]` for each short flag with one, then `[--name]` for long-only options,
/// then `operands` (e.g. `"key_serial"`). Example: `Usage: cifs.idmap [-hv] [-t seconds] key_serial`.
#[must_use]
pub fn synopsis<Id>(prog: &str, flags: &[Flag<Id>], operands: &str) -> String {
    let mut out = format!("Usage: {prog}");
    let bundle: String = flags
        .iter()
        .filter(|f| f.short_arg == ArgKind::None)
        .filter_map(|f| f.short.map(char::from))
        .collect();
    if !bundle.is_empty() {
        let _ = write!(out, " [-{bundle}]");
    }
    for f in flags {
        let value = if f.value_name.is_empty() {
            "ARG"
        } else {
            f.value_name
        };
        match (f.short, f.short_arg, f.long) {
            (Some(c), ArgKind::Required, _) => {
                let _ = write!(out, " [-{} {value}]", char::from(c));
            }
            (Some(c), ArgKind::Optional, _) => {
                let _ = write!(out, " [-{}[{value}]]", char::from(c));
            }
            (None, kind, Some(n)) => {
                let _ = match kind {
                    ArgKind::None => write!(out, " [--{n}]"),
                    ArgKind::Required => write!(out, " [--{n}={value}]"),
                    ArgKind::Optional => write!(out, " [--{n}[={value}]]"),
                };
            }
            _ => {}
        }
    }
    if !operands.is_empty() {
        out.push(' ');
        out.push_str(operands);
    }
    out
}

/// The spellings (`-x`, `--name`) that `text` (a `--help` output or man page source) never
/// mentions. A spelling counts as mentioned when it occurs with no letter, digit or `-` right
/// after it, and none of `-`, a letter or digit right before it (so `-t` does not match inside
/// `--trust` or `-tv`). Man-page sources that escape dashes (`\-t`) should be unescaped first.
#[must_use]
pub fn undocumented<Id>(flags: &[Flag<Id>], text: &str) -> Vec<String> {
    spellings(flags)
        .into_iter()
        .filter(|s| !mentions(text, s))
        .collect()
}

fn mentions(text: &str, spelling: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let bytes = text.as_bytes();
    text.match_indices(spelling).any(|(at, m)| {
        let before = at.checked_sub(1).and_then(|k| bytes.get(k)).copied();
        let after = bytes.get(at + m.len()).copied();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// Mistakes in a table that would make it differ from any C `optstring`/`struct option` pair, as
/// human-readable sentences (empty when the table is fine). Meant for a one-line unit test in
/// each tool: `assert_eq!(cli::table_problems(FLAGS), Vec::<String>::new())`.
///
/// Checked: a row has neither form; a short byte is `:`, `;`, `-`, `+`, NUL or not printable
/// ASCII (C cannot express it, or glibc treats it specially); a short byte is given twice; a
/// long name is empty or contains `=` (it could never be typed); a long name is given twice.
#[must_use]
pub fn table_problems<Id>(flags: &[Flag<Id>]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut shorts: Vec<u8> = Vec::new();
    let mut longs: Vec<&str> = Vec::new();
    for (row, f) in flags.iter().enumerate() {
        if f.short.is_none() && f.long.is_none() {
            problems.push(format!("row {row} has neither a short nor a long form"));
        }
        if let Some(c) = f.short {
            if !c.is_ascii_graphic() || matches!(c, b':' | b';' | b'-' | b'+') {
                problems.push(format!("row {row}: short option byte {c:#04x} cannot be used"));
            }
            if shorts.contains(&c) {
                problems.push(format!(
                    "row {row}: short option -{} is given twice",
                    char::from(c)
                ));
            }
            shorts.push(c);
        }
        if let Some(n) = f.long {
            if n.is_empty() || n.contains('=') {
                problems.push(format!("row {row}: long name {n:?} cannot be typed"));
            }
            if longs.contains(&n) {
                problems.push(format!("row {row}: long option --{n} is given twice"));
            }
            longs.push(n);
        }
    }
    problems
}
