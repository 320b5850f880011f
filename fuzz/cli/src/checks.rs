//! The argv parser's properties, for any flag table. The input is the argument vector after
//! `argv[0]`, its words separated by NUL bytes (a C argument cannot hold one). Each input is
//! parsed in one of the four ways the parser can imitate C (`getopt` or `getopt_long`, GNU
//! permutation or POSIX order); the parser must never panic, and its result must be explained by
//! the input.

// `pub` for the fuzz crate; the same file is a private module of the corpus replay tests.
#![allow(unreachable_pub, dead_code)]

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fmt::Debug;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use kup_runtime::cli::{self, ArgKind, CliError, Flag, Ordering, Parsed, Parser, Spec, Spelling, Style};

/// The program name the inputs are parsed under.
pub const PROG: &str = "fuzz-prog";

/// How much of an input is used: request-key passes a handful of short words; 256 bytes reach
/// every parser path, and the checks below, quadratic in the number of words, stay fast.
pub const MAX_INPUT: usize = 256;

/// The argument words of an input (its first [`MAX_INPUT`] bytes): split at NUL bytes.
#[must_use]
pub fn words(data: &[u8]) -> Vec<OsString> {
    let data = data.get(..MAX_INPUT).unwrap_or(data);
    if data.is_empty() {
        return Vec::new();
    }
    data.split(|&byte| byte == 0)
        .map(|word| OsString::from_vec(word.to_vec()))
        .collect()
}

/// Checks one spec over `flags` on the input (which of the four: the input's length modulo 4, so
/// every input stays a plain argv and the fuzzer reaches all four); returns the full argv (`PROG`
/// first) for the tool's own command-line reader.
pub fn argv<Id: Copy + Eq + Debug>(flags: &'static [Flag<Id>], data: &[u8]) -> Vec<OsString> {
    let args = words(data);
    let (style, ordering) = match data.len() % 4 {
        0 => (Style::GetoptLong, Ordering::Permute),
        1 => (Style::Getopt, Ordering::Permute),
        2 => (Style::GetoptLong, Ordering::RequireOrder),
        _ => (Style::Getopt, Ordering::RequireOrder),
    };
    check(
        Spec {
            flags,
            style,
            ordering,
        },
        &args,
    );
    let mut full = vec![OsString::from(PROG)];
    full.extend(args);
    full
}

fn check<Id: Copy + Eq + Debug>(spec: Spec<'static, Id>, args: &[OsString]) {
    let mut full = vec![OsString::from(PROG)];
    full.extend(args.iter().cloned());
    let parsed = cli::parse(spec, full.iter().cloned());
    assert_eq!(parsed.prog, PROG);

    // Every operand is an input word, and they come in input order.
    let mut cursor = 0;
    for operand in &parsed.operands {
        let found = args
            .get(cursor..)
            .and_then(|rest| rest.iter().position(|word| word == operand));
        let found =
            found.unwrap_or_else(|| panic!("operand {} is not an input word (in order)", operand.display()));
        cursor += found + 1;
    }
    if spec.ordering == Ordering::RequireOrder && parsed.error.is_none() {
        let tail = args.len() - parsed.operands.len();
        assert_eq!(
            &args[tail..],
            parsed.operands.as_slice(),
            "POSIX order: operands are the tail"
        );
    }

    // Every option is a row of the table, spelled as that row allows, with an argument only
    // where that row takes one; every argument is an input word or the end of one.
    let whole: HashSet<&[u8]> = args.iter().map(|word| word.as_bytes()).collect();
    for option in &parsed.options {
        row_of(spec, option.id, option.spelled, option.value.is_some());
        if let Some(value) = &option.value {
            let value = value.as_bytes();
            assert!(
                whole.contains(value) || args.iter().any(|word| word.as_bytes().ends_with(value)),
                "argument {value:?} is in no input word"
            );
        }
    }
    if let Some(error) = &parsed.error {
        explained(spec, error, args);
        let line = parsed.error_bytes().expect("an error has a line");
        assert!(line.starts_with(PROG.as_bytes()) && line.ends_with(b"\n"));
        let _ = error.display(parsed.prog.as_os_str()).to_string();
    }

    // Without an error and without `--`, every input word that is not option-shaped is an
    // operand or the argument of an option.
    if parsed.error.is_none() && !whole.contains(&b"--"[..]) {
        let mut unexplained: HashMap<&[u8], usize> = HashMap::new();
        for word in args {
            let bytes = word.as_bytes();
            if !(bytes.len() > 1 && bytes.first() == Some(&b'-')) {
                *unexplained.entry(bytes).or_default() += 1;
            }
        }
        let used = parsed
            .operands
            .iter()
            .chain(parsed.options.iter().filter_map(|option| option.value.as_ref()));
        for word in used {
            if let Some(count) = unexplained.get_mut(word.as_bytes()) {
                *count = count.saturating_sub(1);
            }
        }
        assert!(
            unexplained.values().all(|&count| count == 0),
            "words vanished: {parsed:?}"
        );
    }

    // The iterator is the same machine: it reports the same options up to the first error, can
    // be resumed after errors, and always ends.
    let mut parser = Parser::new(spec, full.iter().cloned());
    let bound = args.iter().map(|word| word.len() + 1).sum::<usize>() + 1;
    let mut steps = 0;
    let mut options = Vec::new();
    let mut first_error = None;
    for item in parser.by_ref() {
        steps += 1;
        assert!(steps <= bound, "the parser does not end");
        match item {
            Ok(option) if first_error.is_none() => options.push(option),
            Ok(option) => row_of(spec, option.id, option.spelled, option.value.is_some()),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    assert_eq!(options, parsed.options);
    assert_eq!(first_error, parsed.error);
    if parsed.error.is_none() {
        assert_eq!(parser.operands(), parsed.operands.as_slice());
    }
    check_accessors(spec, &parsed);
}

/// The table row an option came from, checked against its spelling and argument.
fn row_of<Id: Copy + Eq + Debug>(spec: Spec<'static, Id>, id: Id, spelled: Spelling, has_value: bool) {
    let row = spec.flags.iter().find(|flag| {
        flag.id == id
            && match spelled {
                Spelling::Short(byte) => flag.short == Some(byte),
                Spelling::Long(name) => flag.long == Some(name),
            }
    });
    let row = row.unwrap_or_else(|| panic!("{id:?} spelled {spelled:?} is no table row"));
    let kind = match spelled {
        Spelling::Short(_) => row.short_arg,
        Spelling::Long(_) => {
            assert_eq!(spec.style, Style::GetoptLong, "a long option under getopt");
            row.long_arg
        }
    };
    match kind {
        ArgKind::None => assert!(!has_value, "{spelled:?} takes no argument"),
        ArgKind::Required => assert!(has_value, "{spelled:?} needs an argument"),
        ArgKind::Optional => {}
    }
}

/// An error names what the input and the table make wrong.
fn explained<Id: Copy + Eq + Debug>(spec: Spec<'static, Id>, error: &CliError, args: &[OsString]) {
    let flags = spec.flags;
    let in_some_word = |byte: u8| args.iter().any(|word| word.as_bytes().contains(&byte));
    // The text of a long-option error is everything after the `--` of one word.
    let a_word_is = |text: &OsString| {
        args.iter()
            .any(|word| word.as_bytes().strip_prefix(b"--") == Some(text.as_bytes()))
    };
    match error {
        CliError::InvalidOption(byte) => {
            assert!(
                matches!(byte, b':' | b';') || !flags.iter().any(|flag| flag.short == Some(*byte)),
                "{byte} is an option"
            );
            assert!(in_some_word(*byte), "invalid byte not in the input");
        }
        CliError::MissingArgument(byte) => {
            assert!(
                flags
                    .iter()
                    .any(|flag| flag.short == Some(*byte) && flag.short_arg == ArgKind::Required)
            );
            assert!(in_some_word(*byte));
        }
        CliError::UnrecognizedOption(text) => {
            assert_eq!(spec.style, Style::GetoptLong);
            assert!(a_word_is(text));
        }
        CliError::Ambiguous { text, candidates } => {
            assert_eq!(spec.style, Style::GetoptLong);
            assert!(a_word_is(text));
            assert!(candidates.len() >= 2);
            for name in candidates {
                assert!(flags.iter().any(|flag| flag.long == Some(*name)));
            }
        }
        CliError::LongMissingArgument(name) | CliError::LongUnexpectedArgument(name) => {
            assert_eq!(spec.style, Style::GetoptLong);
            assert!(flags.iter().any(|flag| flag.long == Some(*name)));
        }
    }
}

fn check_accessors<Id: Copy + Eq + Debug>(spec: Spec<'static, Id>, parsed: &Parsed<Id>) {
    for flag in spec.flags {
        let occurrences: Vec<_> = parsed.options.iter().filter(|o| o.id == flag.id).collect();
        assert_eq!(parsed.count(flag.id), occurrences.len());
        assert_eq!(parsed.has(flag.id), !occurrences.is_empty());
        assert_eq!(parsed.last(flag.id), occurrences.last().copied());
        let last_value = occurrences.last().and_then(|o| o.value.as_deref());
        assert_eq!(parsed.last_value(flag.id), last_value);
    }
}
