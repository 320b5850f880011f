//! `man`: checks that a tool's manual page (`docs/man/<name>.<section>`, roff written by hand)
//! documents exactly the options its flag table accepts, in both directions (STYLE §10).
//!
//! The page's **OPTIONS** section lists each option as a `.TP` entry whose tag line names its
//! spellings (`.BR \-t ", " \-\-timeout " \fIseconds\fR"`). Every spelling the parser accepts
//! must be such a tag; every spelling in a tag or in the **SYNOPSIS** must be accepted. Pure text
//! processing over the page source; the only I/O is reading the page.

use std::io;
use std::path::PathBuf;

use crate::reference;

/// The source of `docs/man/<page>` in this checkout (e.g. `"nfsidmap.8"`).
pub fn page_source(page: &str) -> io::Result<String> {
    let path: PathBuf = reference::workspace_root().join("docs/man").join(page);
    std::fs::read_to_string(&path)
        .map_err(|error| io::Error::new(error.kind(), format!("{}: {error}", path.display())))
}

/// The differences between the spellings a parser accepts (`-x`, `--name`, as
/// `kup_runtime::cli::spellings` lists them) and what page `page` documents, as sentences;
/// empty when they agree.
pub fn mismatches(page: &str, accepted: &[String]) -> io::Result<Vec<String>> {
    let source = page_source(page)?;
    let tagged = option_tags(&source);
    let synopsis = synopsis_options(&source);
    let mut problems = Vec::new();
    if tagged.is_empty() {
        problems.push(format!("{page}: no option entries (.TP) in an OPTIONS section"));
    }
    for spelling in accepted {
        if !tagged.contains(spelling) {
            problems.push(format!(
                "{page}: the parser accepts {spelling}, the OPTIONS section does not document it"
            ));
        }
    }
    for spelling in tagged.iter().chain(&synopsis) {
        if !accepted.contains(spelling) {
            problems.push(format!(
                "{page}: documents {spelling}, which the parser does not accept"
            ));
        }
    }
    problems.dedup();
    Ok(problems)
}

/// The option spellings in the tag lines (the line after each `.TP`) of the OPTIONS section.
#[must_use]
pub fn option_tags(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = section(source, "OPTIONS").into_iter();
    while let Some(line) = lines.next() {
        if line.trim_end() == ".TP"
            && let Some(tag) = lines.next()
        {
            push_unique(&mut out, spellings_in(&plain(tag)));
        }
    }
    out
}

/// The option spellings in the SYNOPSIS section.
#[must_use]
pub fn synopsis_options(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in section(source, "SYNOPSIS") {
        push_unique(&mut out, spellings_in(&plain(line)));
    }
    out
}

/// The lines of the `.SH NAME` section (the heading may be quoted).
fn section<'a>(source: &'a str, name: &str) -> Vec<&'a str> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in source.lines() {
        if let Some(heading) = line.strip_prefix(".SH ") {
            inside = heading.trim().trim_matches('"') == name;
            continue;
        }
        if inside {
            out.push(line);
        }
    }
    out
}

/// Roff source as text: font escapes (`\fB`, `\fR`, …) dropped, `\-` read as `-`, quotes of
/// macro arguments dropped.
fn plain(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('f') => {
                    chars.next();
                }
                Some('-') => out.push('-'),
                Some(other) => out.push(other),
                None => {}
            },
            '"' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// `-x` and `--name` words in plain text: a dash at the start of a word (after a blank or one of
/// `[{|(,`), then a letter or digit (short, a single character ending the word) or a second dash
/// and a name of letters, digits and dashes. Macro names (`.BR`) are not words.
fn spellings_in(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let word_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
    for (at, &b) in bytes.iter().enumerate() {
        if b != b'-' {
            continue;
        }
        let starts_word = at == 0
            || bytes
                .get(at - 1)
                .is_some_and(|&p| p.is_ascii_whitespace() || b"[{|(,".contains(&p));
        if !starts_word {
            continue;
        }
        let rest = &bytes[at + 1..];
        match rest.first() {
            Some(b'-') => {
                let name: Vec<u8> = rest[1..].iter().copied().take_while(|&c| word_char(c)).collect();
                if name.first().is_some_and(u8::is_ascii_alphanumeric) {
                    out.push(format!("--{}", String::from_utf8_lossy(&name)));
                }
            }
            Some(&c) if c.is_ascii_alphanumeric() && !rest.get(1).copied().is_some_and(word_char) => {
                out.push(format!("-{}", char::from(c)));
            }
            _ => {}
        }
    }
    out
}

fn push_unique(out: &mut Vec<String>, found: Vec<String>) {
    for spelling in found {
        if !out.contains(&spelling) {
            out.push(spelling);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#".TH X 8
.SH SYNOPSIS
.B x
.RB [ \-v ]
.RB [ \-t
.IR seconds ]
.I key
.SH DESCRIPTION
Mentions \-z in passing and \-\-nothing.
.SH OPTIONS
.TP
.BR \-t ", " \-\-timeout " \fIseconds\fR"
Timeout.
.TP
.B \-v
Verbose; see also
.TP
.BI \-c " file"
Config.
.SH "EXIT STATUS"
.TP
.B 0
ok
"#;

    #[test]
    fn option_tags_are_read_from_tp_entries_of_the_options_section_only() {
        assert_eq!(option_tags(PAGE), ["-t", "--timeout", "-v", "-c"]);
    }

    #[test]
    fn synopsis_options_are_read_with_their_brackets() {
        assert_eq!(synopsis_options(PAGE), ["-v", "-t"]);
    }

    #[test]
    fn words_that_only_contain_dashes_are_not_options() {
        assert_eq!(
            spellings_in("request-key a-b -vh --x- -- - -1 [-d] {-u|-g}"),
            ["--x-", "-1", "-d", "-u", "-g"]
        );
    }
}
