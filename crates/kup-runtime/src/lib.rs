//! `kup-runtime`: what every one-shot kup helper shares.
//!
//! - [`cli`]: a getopt/getopt_long-compatible argument parser driven by one flag table per tool.
//! - [`helper`]: the start-up skeleton (stdio, environment, syslog ident), the [`helper::KeyGuard`]
//!   that finishes the key under construction on every path (panics included), and the
//!   `report` step that maps an outcome to a key disposition and an exit code.
//! - [`daemon_log`]: the long-running daemon's (gssproxy's) syslog writer: a rate instead of the
//!   one-shot helpers' per-process line budget, and the debug level that gates stderr output.
//! - [`deadline`]: the total deadline of one helper run (decisions.md 10), after which a signal handler
//!   thread finishes the key the guard's failure way and ends the process.

#![forbid(unsafe_code)]

pub mod cli;
pub mod daemon_log;
pub mod deadline;
pub mod helper;
