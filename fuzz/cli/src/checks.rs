//! The argv parser's properties, for any flag table. The input is the argument vector after
//! `argv[0]`, its words separated by NUL bytes (a C argument cannot hold one). Each input is
//! parsed in the four ways the parser can imitate C (`getopt` and `getopt_long`, GNU permutation
//! and POSIX order); the parser must never panic, and its result must be explained by the input.

// `pub` for the fuzz crate; the same file is a private module of the corpus replay tests.
#![allow(unreachable_pub, dead_code)]

use std::ffi::OsString;
use std::fmt::Debug;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use kup_runtime::cli::{self, ArgKind, CliError, Flag, Ordering, Parsed, Parser, Spec, Spelling, Style};

/// The program name the inputs are parsed under.
pub const PROG: &str = "fuzz-prog";

/// The argument words of an input: split at NUL bytes.
#[must_use]
pub fn words(data: &[u8]) -> Vec<OsString> {
    if data.is_empty() {
        return Vec::new();
    }
    data.split(|&byte| byte == 0)
        .map(|word| OsString::from_vec(word.to_vec()))
        .collect()
}

/// Checks every spec over `flags` on the input; returns the full argv (`PROG` first) for the
/// tool's own command-line reader.
pub fn argv<Id: Copy + Eq + Debug>(flags: &'static [Flag<Id>], data: &[u8]) -> Vec<OsString> {
    let args = words(data);
    for style in [Style::Getopt, Style::GetoptLong] {
        for ordering in [Ordering::Permute, Ordering::RequireOrder] {
            let spec = Spec {
                flags,
                style,
                ordering,
            };
            check(spec, &args);
        }
    }
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
        let found = found.unwrap_or_else(|| panic!("operand {} is not an input word (in order)", operand.display()));
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
    for option in &parsed.options {
        row_of(spec, option.id, option.spelled, option.value.is_some());
        if let Some(value) = &option.value {
            let value = value.as_bytes();
            assert!(
                args.iter().any(|word| word.as_bytes().ends_with(value)),
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
    if parsed.error.is_none() && !args.iter().any(|word| word == "--") {
        for word in args {
            let bytes = word.as_bytes();
            let option_shaped = bytes.len() > 1 && bytes.first() == Some(&b'-');
            if option_shaped {
                continue;
            }
            let as_operand = parsed.operands.iter().filter(|o| *o == word).count();
            let as_value = parsed
                .options
                .iter()
                .filter(|o| o.value.as_ref() == Some(word))
                .count();
            let in_input = args.iter().filter(|w| *w == word).count();
            assert!(
                as_operand + as_value >= in_input,
                "word {} vanished: {parsed:?}", word.display()
            );
        }
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
                explained(spec, &error, args);
                first_error.get_or_insert(error);
            }
        }
    }
    assert_eq!(options, parsed.options);
    assert_eq!(first_error, parsed.error);
    if parsed.error.is_none() {
        assert_eq!(parser.operands(), parsed.operands.as_slice());
    }
    check_accessors(&parsed);
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
    let in_some_word = |text: &[u8]| args.iter().any(|word| contains(word.as_bytes(), text));
    match error {
        CliError::InvalidOption(byte) => {
            assert!(
                matches!(byte, b':' | b';') || !flags.iter().any(|flag| flag.short == Some(*byte)),
                "{byte} is an option"
            );
            assert!(in_some_word(&[*byte]), "invalid byte not in the input");
        }
        CliError::MissingArgument(byte) => {
            assert!(
                flags
                    .iter()
                    .any(|flag| flag.short == Some(*byte) && flag.short_arg == ArgKind::Required)
            );
            assert!(in_some_word(&[*byte]));
        }
        CliError::UnrecognizedOption(text) => {
            assert_eq!(spec.style, Style::GetoptLong);
            assert!(in_some_word(&[b"--", text.as_bytes()].concat()));
        }
        CliError::Ambiguous { text, candidates } => {
            assert_eq!(spec.style, Style::GetoptLong);
            assert!(in_some_word(&[b"--", text.as_bytes()].concat()));
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

fn check_accessors<Id: Copy + Eq + Debug>(parsed: &Parsed<Id>) {
    for option in &parsed.options {
        assert!(parsed.has(option.id));
        assert!(parsed.count(option.id) >= 1);
        let last = parsed.last(option.id).expect("an option that occurred");
        assert_eq!(parsed.last_value(option.id), last.value.as_deref());
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|window| window == needle)
}
