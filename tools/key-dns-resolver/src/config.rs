//! `/etc/keyutils/key.dns_resolver.conf`, parsed exactly as keyutils 1.6.3 parses it.
//!
//! The file is read in `fgets` chunks of at most 4094 bytes; each chunk counts as one line.
//! Whole-line comments (`#` as first non-blank) and blank lines are skipped; every other line must
//! end in a newline. `key[=value]`: blanks around the key and after `=` are dropped, one pair of
//! `"`/`'` quotes may enclose the value, `\` escapes a blank, quote or backslash, an unquoted `#`
//! ends the value (blanks before it stay). The only option is `default_ttl`, an unsigned number
//! read like `sscanf("%u")` (wrapping to 32 bits) that must be 1..=2147483647; unknown keys are
//! warnings. Every error is fatal. Pure: the caller reads the file.

use std::fmt;

use kup_runtime::cli::{Radix, strtoul};

/// The path the reference reads (its man page names `/etc/key.dns_resolver.conf`, wrongly).
pub const DEFAULT_PATH: &str = "/etc/keyutils/key.dns_resolver.conf";
/// `default_ttl` when nothing is configured.
pub const DEFAULT_TTL: u32 = 5;
/// `fgets(buf, sizeof(buf) - 1, f)` with a 4096-byte buffer reads at most 4094 bytes.
const CHUNK: usize = 4094;
const TTL_MAX: u64 = 0x7fff_ffff;

/// The parsed settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Seconds an address answer stays cached.
    pub default_ttl: u32,
    /// Ours only (`afs_server_list_v1 = 1`, default 0): answer `afsdb:` requests whose callout asks
    /// for `srv=1` or later with the binary v1 server list, as kafs-client's helper does.
    pub afs_server_list_v1: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            default_ttl: DEFAULT_TTL,
            afs_server_list_v1: false,
        }
    }
}

/// The result of parsing: warnings (in file order) and the settings or the fatal error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// `<path>:<line>: Unknown option '<key>'` lines.
    pub warnings: Vec<String>,
    /// The settings, or the error.
    pub result: Result<Config, ConfigError>,
}

/// A fatal error in the file: its `Display` is the reference's text without the `Error: ` prefix
/// (`<path>:<line>: …`). The file is root's, not an attacker's: keys are shown as the reference
/// shows them (lossily, not escaped), which `tests/cli.rs` compares byte for byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    path: String,
    line: usize,
    kind: LineError,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { path, line, kind } = self;
        match kind {
            LineError::MissingNewline => {
                write!(formatter, "{path}:{line}: line missing newline or too long")
            }
            LineError::UnspecifiedKey => write!(formatter, "{path}:{line}: Unspecified key"),
            LineError::IncompleteEscape => write!(formatter, "{path}:{line}: Incomplete escape"),
            LineError::UnclosedQuotes => write!(formatter, "{path}:{line}: Unclosed quotes"),
            LineError::Keyed(key, text) => write!(
                formatter,
                "{path}:{line}: {}: {text}",
                String::from_utf8_lossy(key)
            ),
        }
    }
}

/// Parses the file contents; `path` only appears in messages.
#[must_use]
pub fn parse(contents: &[u8], path: &str) -> Parsed {
    let mut warnings = Vec::new();
    let mut config = Config::default();
    for (index, chunk) in chunks(contents).enumerate() {
        let line_number = index + 1;
        match parse_line(chunk) {
            Line::Skip => {}
            Line::Unknown(key) => warnings.push(format!(
                "{path}:{line_number}: Unknown option '{}'",
                String::from_utf8_lossy(&key)
            )),
            Line::DefaultTtl(ttl) => config.default_ttl = ttl,
            Line::ServerListV1(enabled) => config.afs_server_list_v1 = enabled,
            Line::Error(kind) => {
                return Parsed {
                    warnings,
                    result: Err(ConfigError {
                        path: path.to_owned(),
                        line: line_number,
                        kind,
                    }),
                };
            }
        }
    }
    Parsed {
        warnings,
        result: Ok(config),
    }
}

enum Line {
    Skip,
    Unknown(Vec<u8>),
    DefaultTtl(u32),
    ServerListV1(bool),
    Error(LineError),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum LineError {
    MissingNewline,
    UnspecifiedKey,
    IncompleteEscape,
    UnclosedQuotes,
    /// An error naming the key: `Missing value`, `Bad value`, ...
    Keyed(Vec<u8>, &'static str),
}

/// The `fgets` chunks: up to and including a newline, at most [`CHUNK`] bytes.
fn chunks(contents: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = contents;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let limit = rest.len().min(CHUNK);
        let window = rest.get(..limit).unwrap_or_default();
        let length = window
            .iter()
            .position(|&byte| byte == b'\n')
            .map_or(limit, |newline| newline + 1);
        let (chunk, tail) = rest.split_at_checked(length).unwrap_or((rest, &[]));
        rest = tail;
        Some(chunk)
    })
}

/// C `isspace` in the C locale.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn parse_line(chunk: &[u8]) -> Line {
    // The C code works on a C string: anything after a NUL is invisible.
    let text = chunk.split(|&byte| byte == 0).next().unwrap_or_default();
    let start = text
        .iter()
        .position(|&byte| !is_space(byte))
        .unwrap_or(text.len());
    let line = text.get(start..).unwrap_or_default();
    if line.is_empty() || line.first() == Some(&b'#') {
        return Line::Skip;
    }
    let Some(newline) = line.iter().position(|&byte| byte == b'\n') else {
        return Line::Error(LineError::MissingNewline);
    };
    let mut end = newline;
    while end > 0 && line.get(end - 1).copied().is_some_and(is_space) {
        end -= 1;
    }
    let line = line.get(..end).unwrap_or_default();

    let Some(equals) = line.iter().position(|&byte| byte == b'=') else {
        return key_only(line);
    };
    if equals == 0 {
        return Line::Error(LineError::UnspecifiedKey);
    }
    let mut key_end = equals;
    while key_end > 0 && line.get(key_end - 1).copied().is_some_and(is_space) {
        key_end -= 1;
    }
    let key = line.get(..key_end).unwrap_or_default().to_vec();
    let after = line.get(equals + 1..).unwrap_or_default();
    let value_start = after
        .iter()
        .position(|&byte| !is_space(byte))
        .unwrap_or(after.len());
    let mut value_text = after.get(value_start..).unwrap_or_default();
    if value_text.is_empty() {
        return Line::Error(LineError::Keyed(key, "Missing value"));
    }
    let mut quote = None;
    if let Some(&first @ (b'"' | b'\'')) = value_text.first() {
        quote = Some(first);
        value_text = value_text.get(1..).unwrap_or_default();
    }
    let mut value = Vec::new();
    let mut escaped = false;
    let mut bytes = value_text.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        if escaped {
            if !matches!(byte, b' ' | b'\t' | b'"' | b'\'' | b'\\') {
                return Line::Error(LineError::Keyed(key, "Invalid char in escape"));
            }
            escaped = false;
            value.push(byte);
            continue;
        }
        if byte == b'\\' {
            escaped = true;
            continue;
        }
        if Some(byte) == quote {
            if bytes.peek().is_some() {
                return Line::Error(LineError::Keyed(key, "Data after closing quote"));
            }
            quote = None;
            break;
        }
        if quote.is_none() && byte == b'#' {
            break;
        }
        value.push(byte);
    }
    if escaped {
        return Line::Error(LineError::IncompleteEscape);
    }
    if quote.is_some() {
        return Line::Error(LineError::UnclosedQuotes);
    }
    let is_v1 = key == b"afs_server_list_v1";
    if key != b"default_ttl" && !is_v1 {
        return Line::Unknown(key);
    }
    let number = strtoul(&value, Radix::DECIMAL);
    if !number.converted() {
        return Line::Error(LineError::Keyed(key, "Bad value"));
    }
    if !number.consumed_all(&value) {
        return Line::Error(LineError::Keyed(key, "Extra data supplied"));
    }
    if is_v1 {
        return match number.value {
            0 => Line::ServerListV1(false),
            1 => Line::ServerListV1(true),
            _ => Line::Error(LineError::Keyed(key, "Value out of range")),
        };
    }
    // sscanf("%u") stores the unsigned long result into an unsigned int: keep the low 32 bits.
    let ttl = u32::try_from(number.value & 0xffff_ffff).unwrap_or(u32::MAX);
    if ttl < 1 || u64::from(ttl) > TTL_MAX {
        return Line::Error(LineError::Keyed(key, "Value out of range"));
    }
    Line::DefaultTtl(ttl)
}

fn key_only(line: &[u8]) -> Line {
    if line == b"default_ttl" || line == b"afs_server_list_v1" {
        Line::Error(LineError::Keyed(line.to_vec(), "Missing value"))
    } else {
        Line::Unknown(line.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/c";

    fn ttl(text: &str) -> Result<u32, String> {
        parse(text.as_bytes(), PATH)
            .result
            .map(|config| config.default_ttl)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn empty_file_gives_the_default() {
        assert_eq!(ttl(""), Ok(5));
        assert_eq!(ttl("\n\n   \n# comment\n   # indented comment\n"), Ok(5));
    }

    #[test]
    fn values_in_the_reference_table_parse_as_observed() {
        assert_eq!(ttl("default_ttl=60\n"), Ok(60));
        assert_eq!(ttl("default_ttl=\"60\"\n"), Ok(60));
        assert_eq!(ttl("default_ttl='60'\n"), Ok(60));
        assert_eq!(ttl("  default_ttl  =   60   \n"), Ok(60));
        assert_eq!(ttl("default_ttl=4294967297\n"), Ok(1));
        assert_eq!(ttl("default_ttl=2147483647\n"), Ok(2_147_483_647));
        assert_eq!(ttl("default_ttl=60#comment\n"), Ok(60));
        assert_eq!(
            ttl("default_ttl=\"6\\ 0\"\n").unwrap_err(),
            "/c:1: default_ttl: Extra data supplied"
        );
        assert_eq!(ttl("default_ttl=1\ndefault_ttl=2\n"), Ok(2));
    }

    #[test]
    fn errors_in_the_reference_table_have_its_messages() {
        let cases = [
            (
                "  default_ttl = 60   # c\n",
                "/c:1: default_ttl: Extra data supplied",
            ),
            ("default_ttl='6 0'\n", "/c:1: default_ttl: Extra data supplied"),
            ("default_ttl=0\n", "/c:1: default_ttl: Value out of range"),
            ("default_ttl=-1\n", "/c:1: default_ttl: Value out of range"),
            (
                "default_ttl=2147483648\n",
                "/c:1: default_ttl: Value out of range",
            ),
            ("default_ttl=60x\n", "/c:1: default_ttl: Extra data supplied"),
            ("default_ttl\n", "/c:1: default_ttl: Missing value"),
            ("default_ttl=\n", "/c:1: default_ttl: Missing value"),
            ("default_ttl=  \n", "/c:1: default_ttl: Missing value"),
            ("=5\n", "/c:1: Unspecified key"),
            (
                "default_ttl=\"9\"x\n",
                "/c:1: default_ttl: Data after closing quote",
            ),
            ("default_ttl=\"9\n", "/c:1: Unclosed quotes"),
            ("default_ttl=9\\\n", "/c:1: Incomplete escape"),
            ("default_ttl=9\\x\n", "/c:1: default_ttl: Invalid char in escape"),
            ("default_ttl=x\n", "/c:1: default_ttl: Bad value"),
            ("default_ttl=\"\"\n", "/c:1: default_ttl: Bad value"),
            ("default_ttl=#\n", "/c:1: default_ttl: Bad value"),
            ("\ndefault_ttl=5", "/c:2: line missing newline or too long"),
        ];
        for (text, message) in cases {
            assert_eq!(ttl(text).unwrap_err(), message, "{text:?}");
        }
    }

    #[test]
    fn negative_numbers_wrap_like_scanf() {
        assert_eq!(ttl("default_ttl=-4294967295\n"), Ok(1));
        assert_eq!(ttl("default_ttl=+7\n"), Ok(7));
        assert_eq!(ttl("default_ttl=\" 7\"\n"), Ok(7));
    }

    #[test]
    fn unknown_keys_warn_and_parsing_continues() {
        let parsed = parse(b"foo=bar\nbare\ndefault_ttl=9\n", PATH);
        assert_eq!(
            parsed.warnings,
            ["/c:1: Unknown option 'foo'", "/c:2: Unknown option 'bare'"]
        );
        assert_eq!(
            parsed.result,
            Ok(Config {
                default_ttl: 9,
                afs_server_list_v1: false
            })
        );
    }

    #[test]
    fn our_server_list_option_takes_zero_or_one() {
        let v1 = |text: &str| {
            parse(text.as_bytes(), PATH)
                .result
                .map(|config| config.afs_server_list_v1)
                .map_err(|error| error.to_string())
        };
        assert_eq!(v1(""), Ok(false));
        assert_eq!(v1("afs_server_list_v1 = 1\n"), Ok(true));
        assert_eq!(v1("afs_server_list_v1=1\nafs_server_list_v1=0\n"), Ok(false));
        assert_eq!(
            v1("afs_server_list_v1=2\n").unwrap_err(),
            "/c:1: afs_server_list_v1: Value out of range"
        );
        assert_eq!(
            v1("afs_server_list_v1\n").unwrap_err(),
            "/c:1: afs_server_list_v1: Missing value"
        );
        assert_eq!(
            v1("afs_server_list_v1=yes\n").unwrap_err(),
            "/c:1: afs_server_list_v1: Bad value"
        );
    }

    #[test]
    fn warnings_before_an_error_are_kept() {
        let parsed = parse(b"foo=1\ndefault_ttl=0\n", PATH);
        assert_eq!(parsed.warnings.len(), 1);
        assert!(parsed.result.is_err());
    }

    #[test]
    fn long_lines_are_cut_into_fgets_chunks() {
        let long = format!("default_ttl=7{}\n", " ".repeat(5000));
        assert_eq!(ttl(&long).unwrap_err(), "/c:1: line missing newline or too long");
        // A long comment's continuation is read as a line of its own.
        let comment = format!("#{}\n", "x".repeat(5000));
        let parsed = parse(comment.as_bytes(), PATH);
        assert_eq!(parsed.result, Ok(Config::default()));
        assert_eq!(parsed.warnings.len(), 1);
        assert!(parsed.warnings[0].starts_with("/c:2: Unknown option 'xxx"));
        let exact = format!("default_ttl=7{}\n", " ".repeat(CHUNK - 14));
        assert_eq!(exact.len(), CHUNK);
        assert_eq!(ttl(&exact), Ok(7));
    }

    #[test]
    fn a_nul_byte_hides_the_rest_of_its_line() {
        assert_eq!(
            ttl("default_ttl=7\0junk\n").unwrap_err(),
            "/c:1: line missing newline or too long"
        );
        assert_eq!(ttl("\0default_ttl=7\n"), Ok(5));
    }

    #[test]
    fn final_comment_without_newline_is_fine() {
        assert_eq!(ttl("default_ttl=8\n# end"), Ok(8));
    }
}
