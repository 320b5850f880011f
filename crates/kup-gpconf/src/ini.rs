//! One configuration file's ini syntax, as gssproxy 0.9.1 has libini 0.6.2 read it (no line
//! wrapping, C comments allowed, stop at the first error, every collision inside the file
//! merged).
//!
//! Owns: decoding (UTF-8, or UTF-16/32 after a byte order mark, as libini converts), lines,
//! comments, sections, `key = value`, and merging within one file. Does not know what any
//! option means ([`crate::config`]) nor how files combine ([`crate::files`]). No I/O.
//!
//! Reproduced (each has a test below):
//! - a line ends at `\n`; trailing `\r`/`\n` are stripped; the line is cut at its first NUL
//!   (libini treats it as a C string), so a line starting with NUL is a comment;
//! - comments are lines whose first byte is `#` or `;`, lines starting with `//`, and
//!   `/* ... */` blocks starting at column 0; a block ends on the line whose last non-blank
//!   bytes are `*/` with at least one byte before them (a line of exactly `*/` does not end
//!   it, nor does `/*/`); a block still open at the end of the file is an error;
//! - no inline comments: `mechs = krb5 # x` has the value `krb5 # x`;
//! - `[ name ]` is trimmed; `[]` and a missing `]` are errors; sections and keys may not
//!   exceed 1023/1024 bytes; an indented section line is an error (`Equal sign is missing`);
//! - `key = value`: the first `=` splits, both sides trimmed, the value may be empty, the key may
//!   hold spaces; no quoting, no escapes, no continuation lines;
//! - entries before any section belong to a section named `default`;
//! - section names compare case-insensitively: a repeated section merges into the first (whose
//!   spelling is kept), keys keep every value in order.
//!
//! Divergence (docs/compat/gssproxy.md): a line whose first non-blank byte is `#` or `;` is a
//! comment, as gssproxy.conf(5) documents; libini reads an indented comment as a key without
//! `=` and the whole file fails.

use crate::error::ErrorKind;
use crate::{MAX_ENTRIES, MAX_FILE_BYTES, MAX_LINE_BYTES, MAX_SECTIONS};

/// libini's key and section name limit (`MAX_KEY`).
const MAX_KEY: usize = 1024;

/// The name of the implicit section of entries before the first `[section]`.
pub const DEFAULT_SECTION: &str = "default";

/// One parsed file: its sections in order of first appearance, repeats merged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IniFile {
    /// The sections.
    pub sections: Vec<Section>,
}

/// One section with every entry, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The name as first written (trimmed, case kept).
    pub name: String,
    /// The line of its first header (0 for the implicit `default` section).
    pub line: u32,
    /// Every `key = value`, repeats kept, in order.
    pub entries: Vec<Entry>,
}

/// One `key = value` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The key as written (trimmed, case kept).
    pub key: String,
    /// The value (trimmed, may be empty).
    pub value: String,
    /// Its line.
    pub line: u32,
}

/// A syntax error: the line (0 when about the whole file) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// The 1-based line, or 0.
    pub line: u32,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl Section {
    /// The first entry whose key equals `key` ignoring ASCII case (libini's lookup).
    #[must_use]
    pub fn first(&self, key: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|entry| entry.key.eq_ignore_ascii_case(key))
    }

    /// Every entry whose key equals `key` ignoring ASCII case, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries
            .iter()
            .filter(move |entry| entry.key.eq_ignore_ascii_case(key))
    }

    /// Whether this section's name equals `name` ignoring ASCII case (libini's identity).
    #[must_use]
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// Parses one file's bytes (a file alone: the limits count only this file's sections and keys).
pub fn parse(bytes: &[u8]) -> Result<IniFile, SyntaxError> {
    parse_counted(bytes, 0, 0)
}

/// [`parse`] with the counts of earlier files of the same load.
pub(crate) fn parse_counted(
    bytes: &[u8],
    sections_before: usize,
    entries_before: usize,
) -> Result<IniFile, SyntaxError> {
    let whole = |kind| SyntaxError { line: 0, kind };
    if bytes.len() > MAX_FILE_BYTES {
        return Err(whole(ErrorKind::FileTooLarge));
    }
    let text = decode(bytes).ok_or_else(|| whole(ErrorKind::Encoding))?;
    let mut parser = Parser {
        file: IniFile::default(),
        current: None,
        sections: sections_before,
        entries: entries_before,
    };
    let mut inside_comment = false;
    let mut number: u32 = 0;
    for raw in lines(&text) {
        number = number.saturating_add(1);
        let at = |kind| SyntaxError { line: number, kind };
        if raw.len() > MAX_LINE_BYTES {
            return Err(at(ErrorKind::LineTooLong));
        }
        let line = raw.split('\0').next().unwrap_or_default();
        if comment(line, &mut inside_comment) {
            continue;
        }
        let bytes = line.as_bytes();
        match bytes.first() {
            Some(&first) if is_c_space(first) => {
                let rest = line.trim_start_matches(|c: char| c.is_ascii() && is_c_space(c as u8));
                if rest.is_empty() {
                    continue;
                }
                // libini allows only blanks before the text of an unwrapped line.
                let lead = line.len().saturating_sub(rest.len());
                if line.bytes().take(lead).any(|b| b != b' ' && b != b'\t') {
                    return Err(at(ErrorKind::BadLeadingSpace));
                }
                if rest.starts_with('#') || rest.starts_with(';') {
                    continue; // the documented comment rule (see the module's divergence)
                }
                parser.entry(rest, number).map_err(at)?;
            }
            Some(b'[') => parser.section(line, number).map_err(at)?,
            _ => parser.entry(line, number).map_err(at)?,
        }
    }
    if inside_comment {
        return Err(SyntaxError {
            line: number,
            kind: ErrorKind::UnterminatedComment,
        });
    }
    Ok(parser.file)
}

struct Parser {
    file: IniFile,
    /// Index of the section entries go to.
    current: Option<usize>,
    sections: usize,
    entries: usize,
}

impl Parser {
    fn section(&mut self, line: &str, number: u32) -> Result<(), ErrorKind> {
        let trimmed = trim_c_end(line);
        let Some(inner) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) else {
            return Err(ErrorKind::NoClosingBracket);
        };
        let name = trim_c_end(trim_c_start(inner));
        if name.is_empty() {
            return Err(ErrorKind::EmptySectionName);
        }
        if name.len() > MAX_KEY {
            return Err(ErrorKind::SectionNameTooLong);
        }
        self.select(name, number)
    }

    fn select(&mut self, name: &str, number: u32) -> Result<(), ErrorKind> {
        if let Some(index) = self.file.sections.iter().position(|s| s.is(name)) {
            self.current = Some(index);
            return Ok(());
        }
        if self.sections >= MAX_SECTIONS {
            return Err(ErrorKind::TooManySections);
        }
        self.sections = self.sections.saturating_add(1);
        self.current = Some(self.file.sections.len());
        self.file.sections.push(Section {
            name: name.to_owned(),
            line: number,
            entries: Vec::new(),
        });
        Ok(())
    }

    fn entry(&mut self, line: &str, number: u32) -> Result<(), ErrorKind> {
        let text = trim_c_start(line);
        if text.starts_with('=') {
            return Err(ErrorKind::NoKey);
        }
        let Some((key, value)) = text.split_once('=') else {
            return Err(ErrorKind::NoEqualSign);
        };
        let key = trim_c_end(key);
        if key.len() >= MAX_KEY {
            return Err(ErrorKind::KeyTooLong);
        }
        if self.entries >= MAX_ENTRIES {
            return Err(ErrorKind::TooManyEntries);
        }
        self.entries = self.entries.saturating_add(1);
        if self.current.is_none() {
            self.select(DEFAULT_SECTION, 0)?;
        }
        let index = self.current.unwrap_or_default();
        if let Some(section) = self.file.sections.get_mut(index) {
            section.entries.push(Entry {
                key: key.to_owned(),
                value: trim_c_end(trim_c_start(value)).to_owned(),
                line: number,
            });
        }
        Ok(())
    }
}

/// Whether `line` is (part of) a comment, updating the `/* */` state as libini does.
fn comment(line: &str, inside: &mut bool) -> bool {
    let bytes = line.as_bytes();
    let ends_block = |minimum: usize| {
        let end = trim_c_end(line).as_bytes();
        end.len() > minimum && end.ends_with(b"*/")
    };
    if *inside {
        // libini: the last non-blank byte at an index above 1.
        if ends_block(2) {
            *inside = false;
        }
        return true;
    }
    match bytes {
        [] | [b'#' | b';', ..] | [b'/', b'/', ..] => true,
        [b'/', b'*', ..] => {
            // libini: the closing `*/` must end at an index above 2 (`/**/` closes, `/*/` not).
            *inside = !ends_block(3);
            true
        }
        _ => false,
    }
}

/// The file's lines without their `\n` and trailing `\r`/`\n` (getline plus libini's trim).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let empty = text.is_empty();
    body.split('\n')
        .filter(move |_| !empty)
        .map(|line| line.trim_end_matches(['\r', '\n']))
}

/// C `isspace` in the C locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn trim_c_start(text: &str) -> &str {
    text.trim_start_matches(|c: char| c.is_ascii() && is_c_space(c as u8))
}

fn trim_c_end(text: &str) -> &str {
    text.trim_end_matches(|c: char| c.is_ascii() && is_c_space(c as u8))
}

/// The text of a file as libini converts it: UTF-32/UTF-16/UTF-8 by byte order mark (checked in
/// that order), UTF-8 without one; `None` when the bytes are not valid in that encoding.
fn decode(bytes: &[u8]) -> Option<String> {
    if let Some(rest) = bytes.strip_prefix(&[0, 0, 0xfe, 0xff]) {
        return utf32(rest, u32::from_be_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xff, 0xfe, 0, 0]) {
        return utf32(rest, u32::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return String::from_utf8(rest.to_vec()).ok();
    }
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        return utf16(rest, u16::from_be_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xff, 0xfe]) {
        return utf16(rest, u16::from_le_bytes);
    }
    String::from_utf8(bytes.to_vec()).ok()
}

fn utf32(bytes: &[u8], unit: fn([u8; 4]) -> u32) -> Option<String> {
    let chunks = bytes.chunks_exact(4);
    if !chunks.remainder().is_empty() {
        return None;
    }
    chunks
        .map(|c| <[u8; 4]>::try_from(c).ok().map(unit).and_then(char::from_u32))
        .collect()
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Option<String> {
    let chunks = bytes.chunks_exact(2);
    if !chunks.remainder().is_empty() {
        return None;
    }
    let units: Option<Vec<u16>> = chunks.map(|c| <[u8; 2]>::try_from(c).ok().map(unit)).collect();
    char::decode_utf16(units?).collect::<Result<String, _>>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> IniFile {
        parse(text.as_bytes()).unwrap()
    }

    fn err(text: &[u8]) -> SyntaxError {
        parse(text).unwrap_err()
    }

    fn values(file: &IniFile, section: &str, key: &str) -> Vec<String> {
        let section = file.sections.iter().find(|s| s.is(section)).unwrap();
        section.all(key).map(|e| e.value.clone()).collect()
    }

    #[test]
    fn reads_sections_keys_and_values_trimmed() {
        let file = ok("[ service/nfs ]\n  mechs =  krb5  \nworker threads=7\nempty =\nx = a=b\n");
        assert_eq!(file.sections.len(), 1);
        let s = &file.sections[0];
        assert_eq!(s.name, "service/nfs");
        assert_eq!(s.line, 1);
        let pairs: Vec<_> = s
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.line))
            .collect();
        assert_eq!(
            pairs,
            [
                ("mechs", "krb5", 2),
                ("worker threads", "7", 3),
                ("empty", "", 4),
                ("x", "a=b", 5)
            ]
        );
    }

    #[test]
    fn column_zero_comments_and_blank_lines_are_skipped() {
        let file = ok("# a\n; b\n// c\n\n   \t\n[s]\n#k = v\nk = v\n");
        assert_eq!(values(&file, "s", "k"), ["v"]);
        assert_eq!(file.sections[0].entries.len(), 1);
    }

    #[test]
    fn indented_comments_are_comments_as_documented() {
        let file = ok("[s]\n  # mechs = foo\n\t; also\nmechs = krb5\n");
        assert_eq!(values(&file, "s", "mechs"), ["krb5"]);
        assert_eq!(file.sections[0].entries.len(), 1);
    }

    #[test]
    fn indented_double_slash_is_not_a_comment() {
        assert_eq!(
            err(b"[s]\n  // x\n"),
            SyntaxError {
                line: 2,
                kind: ErrorKind::NoEqualSign
            }
        );
    }

    #[test]
    fn there_are_no_inline_comments() {
        let file = ok("[s]\nmechs = krb5 # x\nk = a ; b\n");
        assert_eq!(values(&file, "s", "mechs"), ["krb5 # x"]);
        assert_eq!(values(&file, "s", "k"), ["a ; b"]);
    }

    #[test]
    fn c_block_comments_span_lines_from_column_zero() {
        let file = ok("/* a\nk = v\n end */\n[s]\n/**/\nk = 1\n/* one line */\nk = 2\n");
        assert_eq!(file.sections.len(), 1);
        assert_eq!(values(&file, "s", "k"), ["1", "2"]);
    }

    #[test]
    fn a_line_of_only_star_slash_does_not_close_a_block() {
        // libini wants the `*/` to end at an index above 1.
        assert_eq!(
            err(b"/* a\n*/\n[s]\n"),
            SyntaxError {
                line: 3,
                kind: ErrorKind::UnterminatedComment
            }
        );
        assert_eq!(
            err(b"/*/\n"),
            SyntaxError {
                line: 1,
                kind: ErrorKind::UnterminatedComment
            }
        );
        let file = ok("/* a\n */\n[s]\n");
        assert_eq!(file.sections.len(), 1);
    }

    #[test]
    fn unterminated_block_comment_is_an_error() {
        assert_eq!(err(b"[s]\n/* open\nk = v\n").kind, ErrorKind::UnterminatedComment);
    }

    #[test]
    fn crlf_and_a_missing_final_newline_work() {
        let file = ok("[s]\r\nk = v\r\nlast = x");
        assert_eq!(values(&file, "s", "k"), ["v"]);
        assert_eq!(values(&file, "s", "last"), ["x"]);
    }

    #[test]
    fn a_nul_cuts_the_line() {
        let file = parse(b"[s]\nmechs = krb5\0junk\n\0xx\nk = v\n").unwrap();
        assert_eq!(values(&file, "s", "mechs"), ["krb5"]);
        assert_eq!(file.sections[0].entries.len(), 2);
    }

    #[test]
    fn syntax_errors_name_their_line() {
        assert_eq!(
            err(b"[s]\nnoequal\n"),
            SyntaxError {
                line: 2,
                kind: ErrorKind::NoEqualSign
            }
        );
        assert_eq!(
            err(b"[s]\n = v\n"),
            SyntaxError {
                line: 2,
                kind: ErrorKind::NoKey
            }
        );
        assert_eq!(
            err(b"[s\n"),
            SyntaxError {
                line: 1,
                kind: ErrorKind::NoClosingBracket
            }
        );
        assert_eq!(
            err(b"[s] x\n"),
            SyntaxError {
                line: 1,
                kind: ErrorKind::NoClosingBracket
            }
        );
        assert_eq!(
            err(b"[]\n"),
            SyntaxError {
                line: 1,
                kind: ErrorKind::EmptySectionName
            }
        );
        assert_eq!(
            err(b"[  ]\n"),
            SyntaxError {
                line: 1,
                kind: ErrorKind::EmptySectionName
            }
        );
        assert_eq!(
            err(b"[s]\n  [t]\n"),
            SyntaxError {
                line: 2,
                kind: ErrorKind::NoEqualSign
            }
        );
        assert_eq!(
            err(b"[s]\n \x0bk = v\n"),
            SyntaxError {
                line: 2,
                kind: ErrorKind::BadLeadingSpace
            }
        );
    }

    #[test]
    fn name_length_limits_are_libinis() {
        let key = "k".repeat(1023);
        assert!(parse(format!("[s]\n{key} = v\n").as_bytes()).is_ok());
        let key = "k".repeat(1024);
        assert_eq!(
            err(format!("[s]\n{key} = v\n").as_bytes()).kind,
            ErrorKind::KeyTooLong
        );
        let name = "s".repeat(1024);
        assert!(parse(format!("[{name}]\n").as_bytes()).is_ok());
        let name = "s".repeat(1025);
        assert_eq!(
            err(format!("[{name}]\n").as_bytes()).kind,
            ErrorKind::SectionNameTooLong
        );
    }

    #[test]
    fn repeated_sections_merge_case_insensitively_keeping_all_values() {
        let file = ok("[service/a]\nk = 1\n[other]\n[SERVICE/A]\nK = 2\nk = 3\n");
        assert_eq!(file.sections.len(), 2);
        assert_eq!(file.sections[0].name, "service/a");
        assert_eq!(values(&file, "service/a", "k"), ["1", "2", "3"]);
        assert_eq!(file.sections[0].first("K").unwrap().value, "1");
    }

    #[test]
    fn entries_before_a_section_go_to_default() {
        let file = ok("k = v\n[s]\n");
        assert_eq!(file.sections[0].name, DEFAULT_SECTION);
        assert_eq!(file.sections[0].line, 0);
        assert_eq!(values(&file, "default", "k"), ["v"]);
    }

    #[test]
    fn encodings_follow_libini() {
        assert_eq!(err(b"[s]\nk = \xff\n").kind, ErrorKind::Encoding);
        let bom = ok("\u{feff}[s]\nk = v\n");
        assert_eq!(values(&bom, "s", "k"), ["v"]);
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend("[s]\nk = \u{e9}\n".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(values(&parse(&utf16).unwrap(), "s", "k"), ["\u{e9}"]);
        let mut utf16be = vec![0xfe, 0xff];
        utf16be.extend("[s]\nk = v\n".encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(values(&parse(&utf16be).unwrap(), "s", "k"), ["v"]);
        let mut utf32 = vec![0xff, 0xfe, 0, 0];
        utf32.extend("[s]\nk = v\n".chars().flat_map(|c| u32::from(c).to_le_bytes()));
        assert_eq!(values(&parse(&utf32).unwrap(), "s", "k"), ["v"]);
        assert_eq!(err(&[0xff, 0xfe, 0x41]).kind, ErrorKind::Encoding);
    }

    #[test]
    fn limits_bound_size_lines_sections_and_entries() {
        assert_eq!(err(&vec![b'#'; MAX_FILE_BYTES + 1]).kind, ErrorKind::FileTooLarge);
        let long = format!("[s]\nk = {}\n", "v".repeat(MAX_LINE_BYTES));
        assert_eq!(
            err(long.as_bytes()),
            SyntaxError {
                line: 2,
                kind: ErrorKind::LineTooLong
            }
        );
        let many: String = (0..=MAX_SECTIONS)
            .flat_map(|i| ["[s".to_owned(), i.to_string(), "]\n".to_owned()])
            .collect();
        assert_eq!(err(many.as_bytes()).kind, ErrorKind::TooManySections);
        let many: String = std::iter::once("[s]\n".to_owned())
            .chain((0..=MAX_ENTRIES).map(|_| "k=\n".to_owned()))
            .collect();
        assert_eq!(err(many.as_bytes()).kind, ErrorKind::TooManyEntries);
    }

    #[test]
    fn empty_file_has_no_sections() {
        assert_eq!(ok(""), IniFile::default());
        assert_eq!(ok("\n\n"), IniFile::default());
    }
}
