//! The `idmapd.conf` reader: nfs-utils' config-file dialect, byte for byte.
//!
//! This module owns the syntax (sections, subsections, tags, quoting, comments, continuation
//! lines, `include`, the `<file>.d/` directory, `$NAME` expansion and comma lists). It does not
//! know what any option means; [`crate::settings`] does. It does no `unsafe` and no I/O other
//! than reading the files it is asked to load (through [`Config::load`]).
//!
//! Reproduced quirks of nfs-utils 2.6.2 (`support/nfs/conffile.c`), each with a unit test below
//! and listed in `docs/compat/nfsidmap.md`:
//! - a final line without `\n` is ignored (with a warning);
//! - `\` right before a newline joins the lines, both bytes becoming spaces;
//! - the file is read up to its first NUL byte;
//! - an unquoted value is cut at the first `#`, then at the first `;`, then trailing white space
//!   is trimmed, except the value's very first byte (`Domain =\r` gives the value `\r`);
//! - a quoted value ends at the next quote of the same kind, the rest of the line is ignored;
//! - an empty value sets nothing;
//! - a later assignment replaces an earlier one of the same section and tag *whatever their
//!   subsections*, and lookups only see bindings without a subsection;
//! - list items keep their trailing blanks (`nsswitch ,static` names the method `nsswitch `).
//!
//! Divergence (decisions.md #8): a `$NAME` chain that loops, and `include` nesting deeper than
//! [`MAX_INCLUDE_DEPTH`], end in "unset" / a warning instead of a hang / stack overflow.
//!
//! Divergence (decisions.md #10): the reference takes a blocking shared `flock` on every file
//! it reads, so that it never reads a file that `nfsconf --set` is rewriting in place (that
//! writer holds an exclusive lock while it truncates and writes). Every local user can open
//! the config and hold an exclusive lock forever, which hangs the reference and every process
//! waiting for its key. We try the shared lock without blocking until one [`LOCK_WAIT`] for the
//! whole load (all files together) has passed, then read the file without the lock and warn:
//! a lock held that long is not a rewrite in progress, and the bytes on disk are the mapping
//! the administrator configured.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How deep `include` may nest before we stop (the reference recurses until its stack ends).
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// How long one load (the main file, its `.d` files and includes together) waits for the shared
/// locks before reading without them. A legitimate rewrite holds its lock for milliseconds.
pub const LOCK_WAIT: Duration = Duration::from_secs(1);

/// How often a held lock is tried again.
const LOCK_RETRY: Duration = Duration::from_millis(10);

/// How many `$NAME` indirections a lookup follows before giving up (the reference loops forever).
const MAX_EXPANSIONS: usize = 64;

/// One `tag = value` binding, as stored after parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The section name, lower-cased as the reference stores it.
    pub section: Vec<u8>,
    /// The `"subsection"` of `[section "subsection"]`, if any.
    pub subsection: Option<Vec<u8>>,
    /// The tag, case kept (compared case-insensitively).
    pub tag: Vec<u8>,
    /// The value, case kept, never empty.
    pub value: Vec<u8>,
}

/// A parsed configuration: bindings in the order they took effect, the parser's warnings, and the
/// environment used for `$NAME` expansion.
#[derive(Clone, Debug, Default)]
pub struct Config {
    bindings: Vec<Binding>,
    warnings: Vec<String>,
    environment: Vec<(Vec<u8>, Vec<u8>)>,
    /// When the shared lock waits of this load end (set by the first file read).
    lock_deadline: Option<Instant>,
}

impl Config {
    /// An empty configuration (what a missing file gives).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads `path` then every `*.conf` of `<path>.d/` in version order, the way the reference's
    /// `conf_init_file` does; `$NAME` expansion uses the process environment.
    #[must_use]
    pub fn load(path: &Path) -> Self {
        let mut config = Self::new();
        config.environment = std::env::vars_os()
            .map(|(name, value)| {
                use std::os::unix::ffi::OsStringExt;
                (name.into_vec(), value.into_vec())
            })
            .collect();
        if let Some(text) = config.read_file(path) {
            config.parse_into(&text, path, &mut ParseState::default(), 0);
        }
        let mut directory = path.as_os_str().to_owned();
        directory.push(".d");
        for file in conf_dir_entries(Path::new(&directory)) {
            if let Some(text) = config.read_file(&file) {
                config.parse_into(&text, &file, &mut ParseState::default(), 0);
            }
        }
        config
    }

    /// Parses one file's text (as if it were the main file named `filename`), with no process
    /// environment for `$NAME` expansion. For tests and fuzzing; `include` still reads files.
    #[must_use]
    pub fn parse(text: &[u8], filename: &Path) -> Self {
        let mut config = Self::new();
        config.parse_into(text, filename, &mut ParseState::default(), 0);
        config
    }

    /// Replaces the environment used by `$NAME` expansion.
    #[must_use]
    pub fn with_environment(mut self, environment: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
        self.environment = environment;
        self
    }

    /// The parser's warnings, in order, worded as the reference words them.
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// All bindings in the order they took effect.
    #[must_use]
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The value of `tag` in `[section]` (no subsection), after `$NAME` expansion: the environment
    /// variable `NAME` if set and non-empty, else tag `NAME` of `[environment]`, recursively.
    #[must_use]
    pub fn get(&self, section: &str, tag: &[u8]) -> Option<Vec<u8>> {
        let mut section: &[u8] = section.as_bytes();
        let mut tag: Vec<u8> = tag.to_vec();
        for _ in 0..MAX_EXPANSIONS {
            let binding = self.bindings.iter().rev().find(|binding| {
                binding.subsection.is_none()
                    && binding.section.eq_ignore_ascii_case(section)
                    && binding.tag.eq_ignore_ascii_case(&tag)
            })?;
            let Some(name) = binding.value.strip_prefix(b"$") else {
                return Some(binding.value.clone());
            };
            if let Some((_, value)) = self
                .environment
                .iter()
                .find(|(variable, value)| variable.as_slice() == name && !value.is_empty())
            {
                return Some(value.clone());
            }
            section = b"environment";
            tag = name.to_vec();
        }
        None
    }

    /// [`Config::get`] split as a comma list: each item loses its leading white space, keeps its
    /// trailing blanks, and empty items are dropped. `None` when the tag is unset.
    #[must_use]
    pub fn get_list(&self, section: &str, tag: &[u8]) -> Option<Vec<Vec<u8>>> {
        let value = self.get(section, tag)?;
        Some(
            value
                .split(|&byte| byte == b',')
                .map(|item| {
                    let start = item
                        .iter()
                        .position(|&byte| !is_c_space(byte))
                        .unwrap_or(item.len());
                    item.get(start..).unwrap_or_default().to_vec()
                })
                .filter(|item| !item.is_empty())
                .collect(),
        )
    }

    /// The tags of every binding of `[section]` (any subsection), in the order they took effect.
    #[must_use]
    pub fn tags(&self, section: &str) -> Vec<Vec<u8>> {
        self.bindings
            .iter()
            .filter(|binding| binding.section.eq_ignore_ascii_case(section.as_bytes()))
            .map(|binding| binding.tag.clone())
            .collect()
    }

    /// C `atoi` of [`Config::get`], or `default` when unset.
    #[must_use]
    pub fn get_number(&self, section: &str, tag: &[u8], default: i32) -> i32 {
        self.get(section, tag)
            .map_or(default, |value| kup_text::atoi(&value))
    }

    fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    /// The reference's `conf_readfile`: a missing file is silent, other failures warn.
    fn read_file(&mut self, path: &Path) -> Option<Vec<u8>> {
        match std::fs::metadata(path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
            _ => {}
        }
        let Ok(mut file) = File::open(path) else {
            self.warn(format!(
                "conf_readfile: open (\"{}\", O_RDONLY) failed",
                path.display()
            ));
            return None;
        };
        // The reference's shared lock, so that a rewrite in progress is waited for, but never
        // past the load's deadline (see the module notes).
        let deadline = *self
            .lock_deadline
            .get_or_insert_with(|| Instant::now() + LOCK_WAIT);
        match lock_shared_until(&file, deadline) {
            Ok(true) => {}
            Ok(false) => self.warn(format!(
                "conf_readfile: \"{}\" is locked by another process; read without the lock",
                path.display()
            )),
            Err(error) => {
                self.warn(format!(
                    "conf_readfile: attempt to grab read lock failed: {error}"
                ));
                return None;
            }
        }
        // Like the reference: the size comes from seeking to the end (so a character device
        // reads as empty and a pipe is refused), then exactly that many bytes are read.
        let size = match file
            .seek(SeekFrom::End(0))
            .and_then(|size| file.rewind().map(|()| size))
        {
            Ok(size) => size,
            Err(error) => {
                self.warn(format!("conf_readfile: unable to determine file size: {error}"));
                return None;
            }
        };
        let mut text = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 20));
        let complete = file
            .take(size)
            .read_to_end(&mut text)
            .is_ok_and(|read| u64::try_from(read).is_ok_and(|read| read == size));
        if !complete {
            self.warn(format!("conf_readfile: read of \"{}\" failed", path.display()));
            return None;
        }
        if let Some(nul) = text.iter().position(|&byte| byte == 0) {
            text.truncate(nul);
        }
        Some(text)
    }

    /// The reference's `conf_parse`: splits lines, joining `\`-newline continuations.
    fn parse_into(&mut self, text: &[u8], filename: &Path, state: &mut ParseState, depth: usize) {
        // The reference parses a C string: nothing after a NUL exists.
        let text = text
            .iter()
            .position(|&byte| byte == 0)
            .map_or(text, |nul| text.get(..nul).unwrap_or_default());
        let mut buffer = text.to_vec();
        let mut line_start = 0;
        let mut line_number = 0;
        let mut index = 0;
        while index < buffer.len() {
            if buffer.get(index) == Some(&b'\n') {
                let previous = index.checked_sub(1);
                if let Some(previous) = previous.filter(|&at| buffer.get(at) == Some(&b'\\')) {
                    if let Some(byte) = buffer.get_mut(previous) {
                        *byte = b' ';
                    }
                    if let Some(byte) = buffer.get_mut(index) {
                        *byte = b' ';
                    }
                } else {
                    line_number += 1;
                    let line = buffer.get(line_start..index).unwrap_or_default().to_vec();
                    self.parse_line(&line, filename, line_number, state, depth);
                    line_start = index + 1;
                }
            }
            index += 1;
        }
        if line_start != buffer.len() {
            self.warn("conf_parse: last line non-terminated, ignored.".to_owned());
        }
    }

    fn parse_line(
        &mut self,
        line: &[u8],
        filename: &Path,
        line_number: usize,
        state: &mut ParseState,
        depth: usize,
    ) {
        let at = |message: &str| format!("config error at {}:{line_number}: {message}", filename.display());
        let line = trim_start(line, is_c_space);
        let Some(&first) = line.first() else {
            return;
        };
        if first == b'#' || first == b';' {
            return;
        }
        if first == b'[' {
            state.section = None;
            state.subsection = None;
            let inner = trim_start(line.get(1..).unwrap_or_default(), is_blank);
            let Some(close) = inner.iter().position(|&byte| byte == b']') else {
                self.warn(at("non-matched ']', ignoring until next section"));
                return;
            };
            let inner = trim_end(inner.get(..close).unwrap_or_default(), is_blank);
            match inner.iter().position(|&byte| byte == b'"') {
                None => state.section = Some(inner.to_vec()),
                Some(quote) => {
                    let name = inner.get(..quote).unwrap_or_default();
                    // The reference never trims the name's first byte away.
                    let kept = name
                        .iter()
                        .rposition(|&byte| !is_blank(byte))
                        .map_or(name.get(..1).unwrap_or_default(), |last| {
                            name.get(..=last).unwrap_or_default()
                        });
                    state.section = Some(kept.to_vec());
                    let rest = inner.get(quote + 1..).unwrap_or_default();
                    match rest.iter().position(|&byte| byte == b'"') {
                        None => self.warn(at("non-matched '\"', ignoring until next section")),
                        Some(end) => {
                            state.subsection = Some(rest.get(..end).unwrap_or_default().to_vec());
                        }
                    }
                }
            }
            return;
        }
        let Some(equals) = line.iter().position(|&byte| byte == b'=') else {
            if line.iter().any(|&byte| byte != b' ' && byte != b'\t') {
                self.warn(at("line not empty and not an assignment"));
            }
            return;
        };
        let Some(section) = state.section.clone() else {
            self.warn(at("ignoring line not in a section"));
            return;
        };
        let tag = trim_end(line.get(..equals).unwrap_or_default(), is_blank);
        let raw_value = trim_start(line.get(equals + 1..).unwrap_or_default(), is_blank);
        let value: &[u8] = if let Some(&quote @ (b'"' | b'\'')) = raw_value.first() {
            let inside = raw_value.get(1..).unwrap_or_default();
            let Some(end) = inside.iter().position(|&byte| byte == quote) else {
                self.warn(at("unmatched quotes"));
                return;
            };
            inside.get(..end).unwrap_or_default()
        } else {
            {
                let mut value = raw_value;
                if let Some(hash) = value.iter().position(|&byte| byte == b'#') {
                    value = value.get(..hash).unwrap_or_default();
                }
                if let Some(semicolon) = value.iter().position(|&byte| byte == b';') {
                    value = value.get(..semicolon).unwrap_or_default();
                }
                // Trailing white space goes, but never the first byte.
                match value.iter().rposition(|&byte| !is_c_space(byte)) {
                    Some(last) => value.get(..=last).unwrap_or_default(),
                    None => value.get(..1).unwrap_or_default(),
                }
            }
        };
        if tag.is_empty() {
            self.warn(at("missing tag in assignment"));
            return;
        }
        if tag.eq_ignore_ascii_case(b"include") {
            self.include(value, filename, line_number, state, depth);
            return;
        }
        self.set(&section, state.subsection.clone(), tag, value);
    }

    fn include(
        &mut self,
        value: &[u8],
        filename: &Path,
        line_number: usize,
        state: &ParseState,
        depth: usize,
    ) {
        use std::os::unix::ffi::OsStrExt;
        let (optional, name) = match value.strip_prefix(b"-") {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        let failed = |config: &mut Self| {
            if !optional {
                config.warn(format!(
                    "config error at {}:{line_number}: error loading included config",
                    filename.display()
                ));
            }
        };
        if depth >= MAX_INCLUDE_DEPTH {
            self.warn(format!(
                "config error at {}:{line_number}: includes nested deeper than {MAX_INCLUDE_DEPTH}, ignored",
                filename.display()
            ));
            return;
        }
        let name = Path::new(std::ffi::OsStr::from_bytes(name));
        let path: PathBuf = if name.is_absolute() {
            name.to_path_buf()
        } else {
            c_dirname(filename).join(name)
        };
        let Some(text) = self.read_file(&path) else {
            failed(self);
            return;
        };
        let mut inner = state.clone();
        self.parse_into(&text, &path, &mut inner, depth + 1);
    }

    /// The reference's `conf_set` + `conf_set_now` with override: empty values are dropped, and
    /// the binding replaces any earlier one of the same section and tag, subsection ignored.
    fn set(&mut self, section: &[u8], subsection: Option<Vec<u8>>, tag: &[u8], value: &[u8]) {
        if value.is_empty() {
            return;
        }
        let section = section.to_ascii_lowercase();
        if let Some(old) = self.bindings.iter().rposition(|binding| {
            binding.section.eq_ignore_ascii_case(&section) && binding.tag.eq_ignore_ascii_case(tag)
        }) {
            self.bindings.remove(old);
        }
        self.bindings.push(Binding {
            section,
            subsection,
            tag: tag.to_vec(),
            value: value.to_vec(),
        });
    }
}

/// Tries `flock(LOCK_SH)` without blocking until `deadline`; `Ok(false)` when it stayed held.
fn lock_shared_until(file: &File, deadline: Instant) -> std::io::Result<bool> {
    loop {
        match file.try_lock_shared() {
            Ok(()) => return Ok(true),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(error)) => return Err(error),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        std::thread::sleep(left.min(LOCK_RETRY));
    }
}

/// The section an `include`d file starts in; it is a copy, so the includer's stays unchanged.
#[derive(Clone, Debug, Default)]
struct ParseState {
    section: Option<Vec<u8>>,
    subsection: Option<Vec<u8>>,
}

/// The files of a `.d` directory the reference parses, in `versionsort` order: regular files,
/// symlinks or unknown types, not hidden, named `*.conf` with at least one byte before `.conf`.
fn conf_dir_entries(directory: &Path) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut names: Vec<Vec<u8>> = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_type()
                .is_ok_and(|kind| kind.is_file() || kind.is_symlink())
        })
        .map(|entry| entry.file_name().as_bytes().to_vec())
        .filter(|name| !name.starts_with(b".") && name.len() > b".conf".len() && name.ends_with(b".conf"))
        .collect();
    names.sort_by(|left, right| crate::numbers::version_compare(left, right));
    names
        .into_iter()
        .map(|name| directory.join(std::ffi::OsStr::from_bytes(&name)))
        .collect()
}

/// C `dirname`: the directory part, `.` when there is none.
fn c_dirname(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        Some(_) => PathBuf::from("."),
        None => PathBuf::from("/"),
    }
}

/// C `isspace` in the C locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// C `isblank`.
fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

fn trim_start(bytes: &[u8], strip: fn(u8) -> bool) -> &[u8] {
    let start = bytes.iter().position(|&byte| !strip(byte)).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

fn trim_end(bytes: &[u8], strip: fn(u8) -> bool) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&byte| !strip(byte))
        .map_or(0, |last| last + 1);
    bytes.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        Config::parse(text.as_bytes(), Path::new("/etc/idmapd.conf"))
    }

    fn domain(config: &Config) -> Option<String> {
        config
            .get("General", b"Domain")
            .map(|value| String::from_utf8(value).unwrap())
    }

    #[test]
    fn plain_assignment_is_read_with_case_kept() {
        assert_eq!(
            domain(&parse("[General]\nDomain = Example.COM\n")).as_deref(),
            Some("Example.COM")
        );
    }

    #[test]
    fn section_and_tag_lookups_ignore_case() {
        assert_eq!(
            domain(&parse("[general]\ndomain=x.test\n")).as_deref(),
            Some("x.test")
        );
    }

    #[test]
    fn final_line_without_newline_is_ignored_with_a_warning() {
        let config = parse("[general]\ndomain=Example.COM");
        assert_eq!(domain(&config), None);
        assert_eq!(
            config.warnings(),
            ["conf_parse: last line non-terminated, ignored."]
        );
    }

    #[test]
    fn double_quoted_value_ends_at_the_next_quote() {
        assert_eq!(
            domain(&parse("[general]\ndomain=\"Ex Ample\" trailing\n")).as_deref(),
            Some("Ex Ample")
        );
    }

    #[test]
    fn single_quoted_value_ends_at_the_next_quote() {
        assert_eq!(
            domain(&parse("[general]\ndomain='q.dom'\n")).as_deref(),
            Some("q.dom")
        );
    }

    #[test]
    fn unmatched_quote_ignores_the_line_with_a_warning() {
        let config = parse("[general]\ndomain=\"q.dom\n");
        assert_eq!(domain(&config), None);
        assert_eq!(
            config.warnings(),
            ["config error at /etc/idmapd.conf:2: unmatched quotes"]
        );
    }

    #[test]
    fn hash_and_semicolon_cut_an_unquoted_value() {
        assert_eq!(
            domain(&parse("[general]\ndomain = a.dom # comment\n")).as_deref(),
            Some("a.dom")
        );
        assert_eq!(
            domain(&parse("[general]\ndomain = a.dom;b\n")).as_deref(),
            Some("a.dom")
        );
        assert_eq!(
            domain(&parse("[general]\ndomain = a#b;c\n")).as_deref(),
            Some("a")
        );
    }

    #[test]
    fn backslash_newline_joins_lines_with_two_spaces() {
        assert_eq!(
            domain(&parse("[general]\ndomain = a.\\\n dom\n")).as_deref(),
            Some("a.   dom")
        );
    }

    #[test]
    fn later_assignment_wins_and_sections_merge_across_case() {
        assert_eq!(
            domain(&parse("[general]\ndomain = a.dom\ndomain = b.dom\n")).as_deref(),
            Some("b.dom")
        );
        assert_eq!(
            domain(&parse("[General]\nDomain = A.test\n[general]\nDomain = B.test\n")).as_deref(),
            Some("B.test")
        );
    }

    #[test]
    fn blanks_inside_brackets_and_junk_after_them_are_ignored() {
        assert_eq!(
            domain(&parse("[ General ]junk\n  Domain   =   sp.dom   \n")).as_deref(),
            Some("sp.dom")
        );
    }

    #[test]
    fn assignment_before_any_section_is_ignored_with_a_warning() {
        let config = parse("Domain = x.dom\n[General]\n");
        assert_eq!(domain(&config), None);
        assert_eq!(
            config.warnings(),
            ["config error at /etc/idmapd.conf:1: ignoring line not in a section"]
        );
    }

    #[test]
    fn empty_value_sets_nothing_and_does_not_override() {
        assert_eq!(domain(&parse("[General]\nDomain =\n")), None);
        assert_eq!(
            domain(&parse("[General]\nDomain = a\nDomain =\n")).as_deref(),
            Some("a")
        );
    }

    #[test]
    fn lone_carriage_return_value_is_kept_as_the_reference_keeps_it() {
        assert_eq!(domain(&parse("[General]\nDomain =\r\n")).as_deref(), Some("\r"));
        assert_eq!(
            domain(&parse("[General]\nDomain = a.test\r\n")).as_deref(),
            Some("a.test")
        );
    }

    #[test]
    fn subsection_settings_are_invisible_to_plain_lookups() {
        assert_eq!(domain(&parse("[General \"sub\"]\nDomain = sub.dom\n")), None);
    }

    #[test]
    fn subsection_assignment_erases_the_plain_binding() {
        let config = parse("[Mapping]\nNobody-User = alice\n[Mapping \"x\"]\nNobody-User = root\n");
        assert_eq!(config.get("Mapping", b"Nobody-User"), None);
        assert_eq!(config.bindings().len(), 1);
    }

    #[test]
    fn missing_closing_bracket_unsets_the_section() {
        let config = parse("[General\nDomain = a\n");
        assert_eq!(domain(&config), None);
        assert_eq!(
            config.warnings(),
            [
                "config error at /etc/idmapd.conf:1: non-matched ']', ignoring until next section",
                "config error at /etc/idmapd.conf:2: ignoring line not in a section"
            ]
        );
    }

    #[test]
    fn missing_closing_quote_of_a_subsection_keeps_the_section() {
        let config = parse("[General \"x]\nDomain = a\n");
        assert_eq!(domain(&config).as_deref(), Some("a"));
        assert_eq!(config.warnings().len(), 1);
    }

    #[test]
    fn line_without_equals_sign_warns() {
        let config = parse("[General]\nDomain\n");
        assert_eq!(
            config.warnings(),
            ["config error at /etc/idmapd.conf:2: line not empty and not an assignment"]
        );
    }

    #[test]
    fn empty_tag_warns() {
        let config = parse("[General]\n = x\n");
        assert_eq!(
            config.warnings(),
            ["config error at /etc/idmapd.conf:2: missing tag in assignment"]
        );
    }

    #[test]
    fn comments_start_with_hash_or_semicolon() {
        let config = parse("# x\n ; y\n[General]\n#Domain = a\n");
        assert_eq!(domain(&config), None);
        assert!(config.warnings().is_empty());
    }

    #[test]
    fn text_after_a_nul_byte_is_not_read() {
        assert_eq!(
            domain(&parse("[General]\nDomain = a\n\0Domain = b\n")).as_deref(),
            Some("a")
        );
    }

    #[test]
    fn dollar_value_expands_from_environment_then_environment_section() {
        let config = parse("[general]\ndomain = $NOPE\n[environment]\nNOPE = env.dom\n");
        assert_eq!(domain(&config).as_deref(), Some("env.dom"));
        let config =
            parse("[general]\ndomain = $HOME\n").with_environment(vec![(b"HOME".to_vec(), b"/".to_vec())]);
        assert_eq!(domain(&config).as_deref(), Some("/"));
        let config = parse("[general]\ndomain = $HOME\n[environment]\nHOME = e\n")
            .with_environment(vec![(b"HOME".to_vec(), Vec::new())]);
        assert_eq!(domain(&config).as_deref(), Some("e"));
    }

    #[test]
    fn dollar_chain_is_followed_and_a_loop_ends_unset() {
        let config = parse("[General]\nDomain = $A\n[environment]\nA = $B\nB = x.test\n");
        assert_eq!(domain(&config).as_deref(), Some("x.test"));
        let config = parse("[General]\nDomain = $A\n[environment]\nA = $A\n");
        assert_eq!(domain(&config), None);
    }

    #[test]
    fn list_items_lose_leading_but_keep_trailing_blanks() {
        let config = parse("[Translation]\nMethod = nsswitch ,  static,, regex\n");
        assert_eq!(
            config.get_list("Translation", b"Method").unwrap(),
            [b"nsswitch ".to_vec(), b"static".to_vec(), b"regex".to_vec()]
        );
        let config = parse("[Translation]\nMethod = ,\n");
        assert_eq!(
            config.get_list("Translation", b"Method").unwrap(),
            Vec::<Vec<u8>>::new()
        );
        assert_eq!(parse("").get_list("Translation", b"Method"), None);
    }

    #[test]
    fn number_is_read_like_atoi() {
        assert_eq!(
            parse("[General]\nVerbosity = 3x\n").get_number("General", b"Verbosity", 0),
            3
        );
        assert_eq!(parse("").get_number("General", b"Verbosity", 7), 7);
    }

    #[test]
    fn tags_lists_every_binding_of_a_section_in_order() {
        let config = parse("[Static]\na@X = u\n[Static \"s\"]\nb@Y = v\n[Other]\nc = w\n");
        assert_eq!(config.tags("static"), [b"a@X".to_vec(), b"b@Y".to_vec()]);
    }

    #[test]
    fn include_reads_relative_to_the_including_file_and_keeps_the_section() {
        let directory = std::env::temp_dir().join(format!("kup-idmap-conf-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        std::fs::write(
            directory.join("inc.conf"),
            "Domain = inc.test\n[Mapping]\nNobody-User = x\n",
        )
        .unwrap();
        let main = directory.join("idmapd.conf");
        let config = Config::parse(b"[General]\ninclude = inc.conf\nLocal-Realms = R\n", &main);
        assert_eq!(domain(&config).as_deref(), Some("inc.test"));
        assert_eq!(config.get("General", b"Local-Realms").as_deref(), Some(&b"R"[..]));
        assert_eq!(config.get("Mapping", b"Nobody-User").as_deref(), Some(&b"x"[..]));

        let config = Config::parse(b"[General]\ninclude = -/nonexistent.conf\nDomain = a\n", &main);
        assert!(config.warnings().is_empty());
        let config = Config::parse(b"[General]\ninclude = /nonexistent.conf\nDomain = a\n", &main);
        assert_eq!(config.warnings().len(), 1);
        assert!(config.warnings()[0].ends_with(":2: error loading included config"));

        std::fs::write(directory.join("self.conf"), "[General]\ninclude = self.conf\n").unwrap();
        let config = Config::parse(b"[General]\ninclude = self.conf\n", &main);
        assert!(
            config
                .warnings()
                .iter()
                .any(|warning| warning.contains("nested deeper"))
        );
        std::fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn dot_d_files_override_the_main_file_in_version_order() {
        let directory = std::env::temp_dir().join(format!("kup-idmap-dotd-{}", std::process::id()));
        let dot_d = directory.join("idmapd.conf.d");
        std::fs::create_dir_all(&dot_d).unwrap();
        let main = directory.join("idmapd.conf");
        std::fs::write(&main, "[General]\nDomain = main.test\n").unwrap();
        std::fs::write(dot_d.join("50-x.conf"), "[General]\nDomain = dotd.test\n").unwrap();
        std::fs::write(dot_d.join("9-z.conf"), "[General]\nDomain = dotd2.test\n").unwrap();
        std::fs::write(dot_d.join("60-y.txt"), "[General]\nDomain = ignored.test\n").unwrap();
        std::fs::write(dot_d.join(".conf"), "[General]\nDomain = hidden.test\n").unwrap();
        assert_eq!(domain(&Config::load(&main)).as_deref(), Some("dotd.test"));
        std::fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn locked_files_are_read_after_one_bounded_wait_for_the_whole_load() {
        let directory = std::env::temp_dir().join(format!("kup-idmap-lock-{}", std::process::id()));
        let dot_d = directory.join("idmapd.conf.d");
        std::fs::create_dir_all(&dot_d).unwrap();
        let main = directory.join("idmapd.conf");
        std::fs::write(&main, "[General]\nDomain = main.test\n").unwrap();
        std::fs::write(dot_d.join("50-x.conf"), "[Mapping]\nNobody-User = x\n").unwrap();
        // flock locks belong to the open file description: these conflict with the loader's.
        let holders = [
            File::open(&main).unwrap(),
            File::open(dot_d.join("50-x.conf")).unwrap(),
        ];
        for holder in &holders {
            holder.lock().unwrap();
        }
        let start = Instant::now();
        let config = Config::load(&main);
        let waited = start.elapsed();
        assert!(waited >= LOCK_WAIT && waited < LOCK_WAIT * 2, "{waited:?}");
        assert_eq!(domain(&config).as_deref(), Some("main.test"));
        assert_eq!(config.get("Mapping", b"Nobody-User").as_deref(), Some(&b"x"[..]));
        assert_eq!(config.warnings().len(), 2, "{:?}", config.warnings());
        assert!(config.warnings()[0].contains("locked by another process"));
        drop(holders);
        let start = Instant::now();
        assert!(Config::load(&main).warnings().is_empty());
        assert!(start.elapsed() < LOCK_WAIT);
        std::fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn including_a_character_device_reads_nothing_instead_of_hanging() {
        let config = parse("[General]\ninclude = /dev/zero\nDomain = a\n");
        assert_eq!(domain(&config).as_deref(), Some("a"));
        assert!(config.warnings().is_empty());
    }

    #[test]
    fn missing_main_file_is_silent() {
        let config = Config::load(Path::new("/nonexistent/idmapd.conf"));
        assert!(config.warnings().is_empty());
        assert!(config.bindings().is_empty());
    }
}
