//! `key.dns_resolver`'s output rules: errors and warnings to stderr when it is a terminal, else to
//! syslog; info (`-v`) and debug (`-vv`) lines to stdout with `I: `/`D: ` when stdout is a
//! terminal, else to syslog. Under request-key nothing is a terminal, so everything goes to
//! syslog (ident `key.dns_resolver`, `LOG_DAEMON`).
//!
//! Every syslog line goes through `kup_runtime::helper::syslog_line` (the per-process line
//! budget). A capturing variant records lines for unit tests instead.

use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Write};

use kup_runtime::helper;
use kup_sys::syslog::Severity;

/// Where lines go.
#[derive(Debug)]
pub struct Log {
    verbosity: Cell<u32>,
    stdout_terminal: bool,
    stderr_terminal: bool,
    captured: Option<RefCell<Vec<(Severity, String)>>>,
}

impl Log {
    /// The process's real sinks.
    #[must_use]
    pub fn system(verbosity: u32) -> Self {
        Self {
            verbosity: Cell::new(verbosity),
            stdout_terminal: std::io::stdout().is_terminal(),
            stderr_terminal: std::io::stderr().is_terminal(),
            captured: None,
        }
    }

    /// Records lines in memory (tests).
    #[must_use]
    pub fn capture(verbosity: u32) -> Self {
        Self {
            verbosity: Cell::new(verbosity),
            stdout_terminal: false,
            stderr_terminal: false,
            captured: Some(RefCell::new(Vec::new())),
        }
    }

    /// Lines recorded by a capturing log.
    #[must_use]
    pub fn lines(&self) -> Vec<(Severity, String)> {
        self.captured
            .as_ref()
            .map(|captured| captured.borrow().clone())
            .unwrap_or_default()
    }

    /// Whether stderr is a terminal.
    #[must_use]
    pub fn stderr_terminal(&self) -> bool {
        self.stderr_terminal
    }

    /// The `-v` count.
    #[must_use]
    pub fn verbosity(&self) -> u32 {
        self.verbosity.get()
    }

    /// Changes the verbosity (the reference forces 1 when dumping the payload in `-D` mode).
    pub fn set_verbosity(&self, verbosity: u32) {
        self.verbosity.set(verbosity);
    }

    /// An error line.
    pub fn error(&self, message: &str) {
        self.to_stderr_or_syslog(Severity::Error, message);
    }

    /// A warning line.
    pub fn warning(&self, message: &str) {
        self.to_stderr_or_syslog(Severity::Warning, message);
    }

    /// An info line (verbosity 1 and up).
    pub fn info(&self, message: &str) {
        if self.verbosity.get() >= 1 {
            self.to_stdout_or_syslog(Severity::Info, "I: ", message);
        }
    }

    /// A debug line (verbosity 2 and up).
    pub fn debug(&self, message: &str) {
        if self.verbosity.get() >= 2 {
            self.to_stdout_or_syslog(Severity::Debug, "D: ", message);
        }
    }

    /// The resolver-failure line: `NS:<domain>: <text>.` on a terminal, else syslog info.
    pub fn name_service_error(&self, domain: &str, text: &str) {
        if let Some(captured) = &self.captured {
            captured
                .borrow_mut()
                .push((Severity::Info, format!("{domain}: {text}")));
        } else if self.stderr_terminal {
            let _ = writeln!(std::io::stderr().lock(), "NS:{domain}: {text}.");
        } else {
            helper::syslog_line(Severity::Info, &format!("{domain}: {text}"));
        }
    }

    fn to_stderr_or_syslog(&self, severity: Severity, message: &str) {
        if let Some(captured) = &self.captured {
            captured.borrow_mut().push((severity, message.to_owned()));
        } else if self.stderr_terminal {
            let _ = writeln!(std::io::stderr().lock(), "{message}");
        } else {
            helper::syslog_line(severity, message);
        }
    }

    fn to_stdout_or_syslog(&self, severity: Severity, prefix: &str, message: &str) {
        if let Some(captured) = &self.captured {
            captured.borrow_mut().push((severity, message.to_owned()));
        } else if self.stdout_terminal {
            let _ = writeln!(std::io::stdout().lock(), "{prefix}{message}");
        } else {
            helper::syslog_line(severity, message);
        }
    }
}
