//! Which files make one gssproxy configuration and how they combine (gssproxy 0.9.1 with
//! libini 0.6.2's `ini_config_augment`).
//!
//! The caller lists the configuration directory, keeps the entries [`is_snippet_name`] accepts
//! that are regular files (symlinks followed; gssproxy notes and skips anything else), reads them
//! and the main file, and hands all of it to [`merge`]. No I/O here.
//!
//! Reproduced (each has a test below):
//! - a snippet's name is two ASCII digits, `-`, at least one byte, `.conf` (the POSIX regex
//!   `^[0-9]\{2\}-.\{1,\}\.conf$`, case-sensitive);
//! - snippets are merged in byte order of their full path (`strcoll` in the C locale, as the
//!   first load runs), after the main file;
//! - the main file must parse and may hold any section; a snippet that does not parse, or that
//!   holds a section other than exactly `gssproxy` or `service/...` (case-sensitive; entries
//!   before any section make a `default` section, which is not allowed either), is skipped
//!   whole with a note;
//! - a section (compared ignoring case) already present from an earlier file is discarded
//!   whole, with a note; the snippet's other sections are still merged. So a `[gssproxy]` in a
//!   snippet is discarded when the main file has one, as Debian's empty `gssproxy.conf` does.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::MAX_SNIPPETS;
use crate::error::{Error, Note, NoteKind};
use crate::ini::{self, Section};

/// One file the caller read: its path (for messages and the snippet order) and its bytes.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// The path as the caller opened it.
    pub path: &'a Path,
    /// The whole file.
    pub contents: &'a [u8],
}

/// One section of the merged configuration and the file it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// The file the section came from.
    pub file: PathBuf,
    /// The section, all of it from that one file.
    pub section: Section,
}

/// The merged configuration: sections in gssproxy's order (the main file's in order of first
/// appearance, then each used snippet's in sorted-path order), and the notes of what was
/// skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// The main file's path (named by errors that concern the whole configuration).
    pub main: PathBuf,
    /// The sections.
    pub sections: Vec<Located>,
    /// What was skipped or discarded, in the order it happened.
    pub notes: Vec<Note>,
}

impl Merged {
    /// The section called `name`, ignoring ASCII case (libini's lookup).
    #[must_use]
    pub fn section(&self, name: &str) -> Option<&Located> {
        self.sections.iter().find(|located| located.section.is(name))
    }
}

/// The default configuration directory (and the directory of the default main file).
pub const DEFAULT_CONFIG_DIR: &str = "/etc/gssproxy";

/// The default main file.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/gssproxy/gssproxy.conf";

/// Which main file and which snippet directory an invocation reads, from its `-c` and `-C`
/// options: `-c` alone disables the directory; `-C` alone keeps the default main file.
#[must_use]
pub fn locations(config: Option<&Path>, config_dir: Option<&Path>) -> (PathBuf, Option<PathBuf>) {
    let main = config.map_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE), Path::to_path_buf);
    let dir = match (config, config_dir) {
        (_, Some(dir)) => Some(dir.to_path_buf()),
        (None, None) => Some(PathBuf::from(DEFAULT_CONFIG_DIR)),
        (Some(_), None) => None,
    };
    (main, dir)
}

/// Whether a directory entry's name makes it a configuration snippet: two ASCII digits, `-`, at
/// least one byte, then `.conf` (gssproxy's `^[0-9]\{2\}-.\{1,\}\.conf$`).
#[must_use]
pub fn is_snippet_name(name: &OsStr) -> bool {
    let bytes = name.as_bytes();
    match bytes {
        [a, b, b'-', rest @ ..] if a.is_ascii_digit() && b.is_ascii_digit() => {
            rest.len() > 5 && rest.ends_with(b".conf")
        }
        _ => false,
    }
}

/// Merges the main file and the snippets (in any order: they are sorted here by path bytes).
///
/// # Errors
/// Only the main file's problems are fatal: a syntax error, a limit, or an encoding error, with
/// its line. A snippet's problems become notes.
pub fn merge(main: Source<'_>, snippets: &[Source<'_>]) -> Result<Merged, Error> {
    let file = ini::parse_counted(main.contents, 0, 0).map_err(|error| Error {
        file: main.path.to_path_buf(),
        line: error.line,
        kind: error.kind,
    })?;
    let mut merged = Merged {
        main: main.path.to_path_buf(),
        sections: Vec::new(),
        notes: Vec::new(),
    };
    let mut entries = 0_usize;
    for section in file.sections {
        entries = entries.saturating_add(section.entries.len());
        merged.sections.push(Located {
            file: main.path.to_path_buf(),
            section,
        });
    }
    let mut sorted: Vec<&Source<'_>> = snippets.iter().collect();
    sorted.sort_by(|a, b| a.path.as_os_str().as_bytes().cmp(b.path.as_os_str().as_bytes()));
    for (index, snippet) in sorted.into_iter().enumerate() {
        let note = |line, kind| Note {
            file: snippet.path.to_path_buf(),
            line,
            kind,
        };
        if index >= MAX_SNIPPETS {
            merged.notes.push(note(0, NoteKind::SnippetOverLimit));
            continue;
        }
        let file = match ini::parse_counted(snippet.contents, merged.sections.len(), entries) {
            Ok(file) => file,
            Err(error) => {
                merged
                    .notes
                    .push(note(error.line, NoteKind::SnippetSkipped { error: error.kind }));
                continue;
            }
        };
        if let Some(foreign) = file.sections.iter().find(|s| !allowed_in_snippet(&s.name)) {
            merged.notes.push(note(
                foreign.line,
                NoteKind::SnippetForeignSection {
                    section: foreign.name.clone(),
                },
            ));
            continue;
        }
        for section in file.sections {
            if merged.section(&section.name).is_some() {
                let kind = if section.is("gssproxy") {
                    NoteKind::GlobalShadowed
                } else {
                    NoteKind::DuplicateSection {
                        section: section.name.clone(),
                    }
                };
                merged.notes.push(note(section.line, kind));
                continue;
            }
            entries = entries.saturating_add(section.entries.len());
            merged.sections.push(Located {
                file: snippet.path.to_path_buf(),
                section,
            });
        }
    }
    Ok(merged)
}

/// gssproxy's allowed-section regexes for snippets: `^gssproxy$` and `^service/.*$`.
fn allowed_in_snippet(name: &str) -> bool {
    name == "gssproxy" || name.starts_with("service/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn src<'a>(path: &'a str, text: &'a str) -> Source<'a> {
        Source {
            path: Path::new(path),
            contents: text.as_bytes(),
        }
    }

    fn names(merged: &Merged) -> Vec<(String, String)> {
        merged
            .sections
            .iter()
            .map(|l| (l.file.display().to_string(), l.section.name.clone()))
            .collect()
    }

    #[test]
    fn locations_follow_c_and_capital_c() {
        let etc = Some(PathBuf::from("/etc/gssproxy"));
        let main = PathBuf::from("/etc/gssproxy/gssproxy.conf");
        assert_eq!(locations(None, None), (main.clone(), etc));
        assert_eq!(
            locations(Some(Path::new("/x.conf")), None),
            ("/x.conf".into(), None)
        );
        assert_eq!(locations(None, Some(Path::new("/d"))), (main, Some("/d".into())));
        assert_eq!(
            locations(Some(Path::new("/x.conf")), Some(Path::new("/d"))),
            ("/x.conf".into(), Some("/d".into()))
        );
    }

    #[test]
    fn snippet_names_follow_the_reference_regex() {
        for good in [
            "05-early.conf",
            "10-global.conf",
            "99-x.conf",
            "00-..conf",
            "12-a b.conf",
        ] {
            assert!(is_snippet_name(OsStr::new(good)), "{good}");
        }
        for bad in [
            "a.conf",
            "1-a.conf",
            "100-a.conf",
            "50-.conf",
            "50-a.conf~",
            "50-a.conf.bak",
            ".50-a.conf",
            "50-a.CONF",
            "gssproxy.conf",
            "5a-x.conf",
            "50_a.conf",
            "",
        ] {
            assert!(!is_snippet_name(OsStr::new(bad)), "{bad}");
        }
        assert!(is_snippet_name(OsStr::from_bytes(b"10-\xff.conf")));
    }

    #[test]
    fn main_file_errors_are_fatal_with_file_and_line() {
        let error = merge(src("/etc/gssproxy/gssproxy.conf", "[gssproxy]\n  bad\n"), &[]).unwrap_err();
        assert_eq!(error.file, Path::new("/etc/gssproxy/gssproxy.conf"));
        assert_eq!(error.line, 2);
        assert_eq!(error.kind, ErrorKind::NoEqualSign);
        assert_eq!(
            error.to_string(),
            "/etc/gssproxy/gssproxy.conf:2: equal sign is missing"
        );
    }

    #[test]
    fn main_file_may_hold_any_section_and_snippets_sort_by_path() {
        let merged = merge(
            src("m", "[other]\n[service/m]\n"),
            &[
                src("d/20-b.conf", "[service/b]\n"),
                src("d/10-a.conf", "[service/a]\n"),
            ],
        )
        .unwrap();
        assert_eq!(
            names(&merged),
            [
                ("m".into(), "other".into()),
                ("m".into(), "service/m".into()),
                ("d/10-a.conf".into(), "service/a".into()),
                ("d/20-b.conf".into(), "service/b".into()),
            ]
        );
        assert!(merged.notes.is_empty());
    }

    #[test]
    fn a_broken_snippet_is_skipped_and_the_rest_loads() {
        let merged = merge(
            src("m", ""),
            &[
                src("d/10-a.conf", "[service/a]\nbroken\n"),
                src("d/20-b.conf", "[service/b]\n"),
            ],
        )
        .unwrap();
        assert_eq!(names(&merged), [("d/20-b.conf".into(), "service/b".into())]);
        assert_eq!(
            merged.notes,
            [Note {
                file: "d/10-a.conf".into(),
                line: 2,
                kind: NoteKind::SnippetSkipped {
                    error: ErrorKind::NoEqualSign
                }
            }]
        );
    }

    #[test]
    fn a_snippet_with_a_foreign_section_is_skipped_whole() {
        for foreign in [
            "[other]\n",
            "[Service/s6]\n",
            "[GSSPROXY]\n",
            "k = v\n",
            "[gssproxy2]\n",
        ] {
            let text = format!("{foreign}[service/a]\n");
            let merged = merge(src("m", ""), &[src("d/10-a.conf", &text)]).unwrap();
            assert!(merged.sections.is_empty(), "{foreign}");
            assert!(matches!(
                merged.notes[0].kind,
                NoteKind::SnippetForeignSection { .. }
            ));
        }
    }

    #[test]
    fn a_snippet_without_sections_adds_nothing() {
        let merged = merge(
            src("m", "[service/m]\n"),
            &[src("d/10-a.conf", "# only a comment\n")],
        )
        .unwrap();
        assert_eq!(merged.sections.len(), 1);
        assert!(merged.notes.is_empty());
    }

    #[test]
    fn a_later_duplicate_section_is_discarded_whole_and_others_merge() {
        let merged = merge(
            src("m", "[service/a]\nmechs = krb5\n"),
            &[src("d/10-x.conf", "[service/A]\nmechs = other\n[service/b]\n")],
        )
        .unwrap();
        assert_eq!(
            names(&merged),
            [
                ("m".into(), "service/a".into()),
                ("d/10-x.conf".into(), "service/b".into())
            ]
        );
        assert_eq!(
            merged
                .section("service/A")
                .unwrap()
                .section
                .first("mechs")
                .unwrap()
                .value,
            "krb5"
        );
        assert_eq!(
            merged.notes[0].kind,
            NoteKind::DuplicateSection {
                section: "service/A".into()
            }
        );
    }

    #[test]
    fn the_main_files_gssproxy_section_shadows_a_snippets() {
        let merged = merge(
            src("m", "[gssproxy]\n"),
            &[src("d/10-g.conf", "[gssproxy]\ndebug = yes\n[service/x]\n")],
        )
        .unwrap();
        assert!(merged.section("gssproxy").unwrap().section.entries.is_empty());
        assert_eq!(merged.notes[0].kind, NoteKind::GlobalShadowed);
        assert_eq!(merged.sections.len(), 2);
        // Without one in the main file the snippet's is used.
        let merged = merge(src("m", ""), &[src("d/10-g.conf", "[gssproxy]\ndebug = yes\n")]).unwrap();
        assert_eq!(merged.section("gssproxy").unwrap().section.entries.len(), 1);
    }

    #[test]
    fn snippets_over_the_limit_are_noted_not_read() {
        let paths: Vec<String> = (0..=MAX_SNIPPETS).map(|i| format!("d/10-{i:05}.conf")).collect();
        let sources: Vec<Source<'_>> = paths.iter().map(|p| src(p, "")).collect();
        let merged = merge(src("m", ""), &sources).unwrap();
        assert_eq!(merged.notes.len(), 1);
        assert_eq!(merged.notes[0].kind, NoteKind::SnippetOverLimit);
    }

    #[test]
    fn section_limits_count_across_files() {
        let many: String = (0..crate::MAX_SECTIONS)
            .flat_map(|i| ["[s".to_owned(), i.to_string(), "]\n".to_owned()])
            .collect();
        let merged = merge(src("m", &many), &[src("d/10-a.conf", "[service/a]\n")]).unwrap();
        assert_eq!(merged.sections.len(), crate::MAX_SECTIONS);
        assert_eq!(
            merged.notes[0].kind,
            NoteKind::SnippetSkipped {
                error: ErrorKind::TooManySections
            }
        );
    }
}
