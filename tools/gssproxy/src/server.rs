//! The event loop: listening sockets, connections, the worker pool, signals.
//!
//! One thread runs a `mio` poll (edge-triggered epoll) over the listeners, every connection, a
//! `signalfd` and a waker the workers ring. It never blocks on a client and never does GSS or
//! NSS work: a complete record is matched to a service (per request, as the reference does;
//! no match closes the connection without a reply) and handed to the worker pool; the reply
//! comes back through a channel and is written by the loop. Like the reference, a connection
//! has at most one request in progress: its socket is not read again until the reply is
//! written, so pipelined requests are answered in order.
//!
//! Bounds (none of them in the reference, which keeps every connection with up to 1 MiB each):
//! - [`MAX_CONNECTIONS`] connections; over it a new client evicts the connection idle longest
//!   at a record boundary (the kernel reconnects on demand), else it is closed at once.
//! - [`RECORD_TIMEOUT`]: a record must arrive whole within this time of its first byte (a
//!   slow client cannot hold its buffer forever); [`WRITE_TIMEOUT`]: a reply must be taken
//!   within this time. Idle connections at a record boundary are kept (nfsd's never idles out).
//! - [`BUFFER_BUDGET`]: bytes of partial records and requests in progress, summed over all
//!   connections; over it, a connection that already holds bytes is not read until memory is
//!   freed (the record timeout frees the slow ones), and one that holds none reads at most one
//!   chunk (64 KiB) before it is in that case too: total memory stays below the budget
//!   plus one chunk per connection, whatever clients send, and ordinary requests still pass.
//! - the listen backlog is [`BACKLOG`] (the reference's 10 loses clients of a connect burst).

use std::collections::HashMap;
use std::io::{self, Read as _, Write as _};
use std::os::fd::{AsFd as _, AsRawFd as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use kup_gssx::record::RecordReader;
use kup_sys::Uid;
use kup_sys::signal::{DaemonSignal, SignalFd};
use kup_sys::socket::{PeerCredentials, peer_credentials, peer_security_label};
use mio::net::{UnixListener, UnixStream};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::config::{self, DaemonConfig, ServiceConfig, Sources};
use crate::{log, procedures};

/// Most connections at once.
pub const MAX_CONNECTIONS: usize = 4096;
/// Longest time from a record's first byte to its last.
pub const RECORD_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest time a reply may wait for the client to read it.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of records held (being received or being answered), all connections together.
pub const BUFFER_BUDGET: usize = 64 << 20;
/// The listen backlog asked for (the kernel caps it at `net.core.somaxconn`).
pub const BACKLOG: i32 = 4096;
/// How often timeouts are checked and paused work retried.
const TICK: Duration = Duration::from_millis(200);
/// Bytes read per `read` call.
const READ_CHUNK: usize = 64 << 10;

const SIGNALS: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_LISTENER: usize = 2;
/// Listener tokens are `FIRST_LISTENER..FIRST_CONNECTION` (reloads add listeners).
const MAX_LISTENERS: usize = 1024;
const FIRST_CONNECTION: usize = FIRST_LISTENER + MAX_LISTENERS;

/// A bound listening socket and the path it was bound to (services match on the path).
#[derive(Debug)]
pub struct Listener {
    path: PathBuf,
    socket: UnixListener,
}

/// Binds every distinct socket path of `config` (the default socket first, as the reference
/// does): a stale file is unlinked first, the socket is created mode 0666 (umask 0111) and
/// listens with [`BACKLOG`].
pub fn bind(config: &DaemonConfig) -> io::Result<Vec<Listener>> {
    socket_paths(config).into_iter().map(bind_one).collect()
}

/// The default socket, then every service's own, each once.
fn socket_paths(config: &DaemonConfig) -> Vec<&Path> {
    let mut paths: Vec<&Path> = vec![config.default_socket.as_path()];
    for service in &config.services {
        if let Some(socket) = &service.socket
            && !paths.contains(&socket.as_path())
        {
            paths.push(socket);
        }
    }
    paths
}

fn bind_one(path: &Path) -> io::Result<Listener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let previous = kup_sys::process::set_umask(0o111);
    let bound = UnixListener::bind(path);
    let _ = kup_sys::process::set_umask(previous);
    let socket =
        bound.map_err(|error| io::Error::new(error.kind(), format!("{}: {error}", path.display())))?;
    kup_sys::socket::set_listen_backlog(socket.as_fd(), BACKLOG)?;
    Ok(Listener {
        path: path.to_owned(),
        socket,
    })
}

/// A request handed to the workers.
struct Job {
    token: usize,
    record: Vec<u8>,
    service: Arc<ServiceConfig>,
    /// The caller's uid (`SO_PEERCRED`).
    peer_uid: Uid,
}

/// A worker's answer: the reply record, or `None` to close the connection.
struct Done {
    token: usize,
    reply: Option<Vec<u8>>,
}

#[derive(Debug)]
enum State {
    /// Reading requests; `since` is when the current partial record started.
    Reading { since: Option<Instant> },
    /// A request is with the workers.
    Working,
    /// Writing `reply` from `written` on, since `since`.
    Writing {
        reply: Vec<u8>,
        written: usize,
        since: Instant,
    },
}

struct Connection {
    stream: UnixStream,
    listener: usize,
    peer: PeerCredentials,
    /// The peer's security label (`SO_PEERSEC`), for `selinux_context` services.
    label: Option<String>,
    reader: RecordReader,
    /// Bytes read past the end of the last complete record.
    pending: Vec<u8>,
    state: State,
    /// Bytes this connection counts against [`BUFFER_BUDGET`].
    held: usize,
    /// When the connection last finished a request or was accepted.
    idle_since: Instant,
    /// A read was skipped (memory budget): retry on the next tick.
    paused: bool,
}

/// The running daemon.
pub struct Server {
    poll: Poll,
    /// By token offset; a listener closed by a reload leaves `None` (tokens are not reused).
    listeners: Vec<Option<Listener>>,
    services: Vec<Arc<ServiceConfig>>,
    /// The configuration the services came from (its matcher).
    config: DaemonConfig,
    /// Where a SIGHUP re-reads the configuration from.
    sources: Sources,
    /// The `use-gss-proxy` write succeeded once (never repeated, as the reference).
    kernel_switched: bool,
    connections: HashMap<usize, Connection>,
    next_token: usize,
    held: usize,
    accept_blocked: bool,
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    signals: SignalFd,
    buffer: Vec<u8>,
    /// The daemon does not run as root (`run_as_user`, or `-u` by a user): other users'
    /// `/proc/<pid>/exe` is unreadable, which is logged per connection as the reference does.
    unprivileged: bool,
    /// How many workers have let go of their library state, and how many there are.
    stopped: Arc<Stopped>,
    workers: usize,
}

/// Workers that have stopped: each has dropped what it kept from MIT (credentials, keytab
/// copies, its krb5 context) on its own thread. The process may exit only after that: MIT's
/// library finalizers run at exit and destroy its mutexes, and a worker still releasing an
/// object then fails MIT's mutex assertion and aborts the daemon (seen as exit status 134 on
/// SIGTERM in the guest run).
#[derive(Default)]
struct Stopped {
    count: Mutex<usize>,
    changed: Condvar,
}

/// How long the loop waits, after a termination signal, for the workers to stop (a worker in
/// the middle of a call finishes it first).
const STOP_WAIT: Duration = Duration::from_secs(10);

impl Server {
    /// Sets up the loop over `listeners` and starts `config.worker_threads` workers. The
    /// termination signals must already be blocked (`signals` was created before any thread).
    pub fn new(
        config: &DaemonConfig,
        sources: Sources,
        listeners: Vec<Listener>,
        signals: SignalFd,
        kernel_switched: bool,
    ) -> io::Result<Self> {
        if listeners.len() > MAX_LISTENERS {
            return Err(io::Error::other("too many sockets"));
        }
        let poll = Poll::new()?;
        poll.registry().register(
            &mut SourceFd(&signals.as_fd().as_raw_fd()),
            SIGNALS,
            Interest::READABLE,
        )?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let mut listeners = listeners;
        for (index, listener) in listeners.iter_mut().enumerate() {
            poll.registry().register(
                &mut listener.socket,
                Token(FIRST_LISTENER + index),
                Interest::READABLE,
            )?;
        }
        let (jobs, job_queue) = mpsc::channel::<Job>();
        let (done_sender, done) = mpsc::channel::<Done>();
        let job_queue = Arc::new(Mutex::new(job_queue));
        let stopped = Arc::new(Stopped::default());
        let workers = config.worker_threads.max(1);
        for index in 0..workers {
            let queue = Arc::clone(&job_queue);
            let done_sender = done_sender.clone();
            let waker = Arc::clone(&waker);
            let stopped = Arc::clone(&stopped);
            thread::Builder::new()
                .name(format!("gssproxy-worker-{index}"))
                .spawn(move || {
                    work(&queue, &done_sender, &waker);
                    crate::cache::release_thread();
                    let mut count = stopped.count.lock().unwrap_or_else(PoisonError::into_inner);
                    *count = count.saturating_add(1);
                    stopped.changed.notify_all();
                })?;
        }
        Ok(Self {
            poll,
            next_token: FIRST_CONNECTION,
            listeners: listeners.into_iter().map(Some).collect(),
            services: config.services.iter().cloned().map(Arc::new).collect(),
            config: config.clone(),
            sources,
            kernel_switched,
            connections: HashMap::new(),
            held: 0,
            accept_blocked: false,
            jobs: Some(jobs),
            done,
            signals,
            buffer: vec![0; READ_CHUNK],
            unprivileged: kup_sys::process::user_ids().map_or(true, |ids| ids.effective != Uid::ROOT),
            stopped,
            workers,
        })
    }

    /// Waits (at most [`STOP_WAIT`]) until every worker has stopped, the job queue being closed.
    fn wait_for_workers(&self) {
        let count = self.stopped.count.lock().unwrap_or_else(PoisonError::into_inner);
        let (count, timeout) = self
            .stopped
            .changed
            .wait_timeout_while(count, STOP_WAIT, |count| *count < self.workers)
            .unwrap_or_else(PoisonError::into_inner);
        if timeout.timed_out() {
            log::debug(
                1,
                &format!(
                    "{} of {} workers still busy at exit",
                    self.workers - *count,
                    self.workers
                ),
            );
        }
    }

    /// Runs until SIGTERM, SIGINT or SIGQUIT.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut last_tick = Instant::now();
        loop {
            match self.poll.poll(&mut events, Some(TICK)) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
            for event in &events {
                match event.token() {
                    SIGNALS => {
                        if self.signalled()? {
                            log::debug(1, "Exiting after receiving a signal");
                            self.jobs = None;
                            self.wait_for_workers();
                            return Ok(());
                        }
                    }
                    WAKER => self.collect(),
                    Token(token) if (FIRST_LISTENER..FIRST_CONNECTION).contains(&token) => {
                        self.accept(token - FIRST_LISTENER);
                    }
                    Token(token) => {
                        if event.is_writable() {
                            self.flush(token);
                        }
                        if event.is_readable() || event.is_read_closed() {
                            self.pump(token);
                        }
                    }
                }
            }
            // Replies may arrive without a wake-up being coalesced into this round.
            self.collect();
            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                self.tick(last_tick);
            }
        }
    }

    fn signalled(&mut self) -> io::Result<bool> {
        while let Some(signal) = self.signals.read()? {
            match signal {
                DaemonSignal::Terminate | DaemonSignal::Interrupt | DaemonSignal::Quit => return Ok(true),
                DaemonSignal::Hangup => self.reload()?,
            }
        }
        Ok(false)
    }

    /// SIGHUP (config §1.4): the configuration read again from the same sources; if it fails,
    /// the old one stays. Otherwise the services are replaced, sockets no longer named are
    /// closed (their files stay), new ones bound (a failure ends the daemon, as the
    /// reference), and the kernel switched if a `kernel_nfsd` service appeared and that never
    /// succeeded. Existing connections are matched against the new services from their next
    /// request on.
    fn reload(&mut self) -> io::Result<()> {
        if self.sources.user_proxy {
            // The reference ignores SIGHUP in user-proxy mode: there is no file to re-read.
            return Ok(());
        }
        log::debug(1, "Received SIGHUP; re-reading config.");
        let config = match config::read(&self.sources) {
            Ok(config) => config,
            Err(error) => {
                log::error(&format!(
                    "Error reading new configuration on SIGHUP; keeping old configuration instead! ({error})"
                ));
                return Ok(());
            }
        };
        kup_runtime::daemon_log::set_debug_level(config.debug_level);
        let wanted = socket_paths(&config);
        for slot in &mut self.listeners {
            if let Some(listener) = slot
                && !wanted.contains(&listener.path.as_path())
            {
                let _ = self.poll.registry().deregister(&mut listener.socket);
                *slot = None;
            }
        }
        for path in wanted {
            let bound = self
                .listeners
                .iter()
                .flatten()
                .any(|listener| listener.path == path);
            if bound {
                continue;
            }
            if self.listeners.len() >= MAX_LISTENERS {
                return Err(io::Error::other("too many sockets"));
            }
            let mut listener = bind_one(path)?;
            let token = Token(FIRST_LISTENER + self.listeners.len());
            self.poll
                .registry()
                .register(&mut listener.socket, token, Interest::READABLE)?;
            self.listeners.push(Some(listener));
        }
        self.services = config.services.iter().cloned().map(Arc::new).collect();
        self.config = config.clone();
        // Keytabs and principals may have changed: the workers acquire their credentials again.
        crate::cache::invalidate();
        if !self.kernel_switched && config.services.iter().any(|service| service.kernel_nfsd) {
            self.kernel_switched = crate::kernel_handshake(Path::new(crate::USE_GSS_PROXY));
        }
        log::debug(1, "New config loaded successfully.");
        Ok(())
    }

    fn accept(&mut self, listener: usize) {
        loop {
            let Some(Some(socket)) = self.listeners.get(listener) else {
                return;
            };
            match socket.socket.accept() {
                Ok((stream, _)) => self.admit(stream, listener),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error)
                    if error.kind() == io::ErrorKind::Interrupted
                        || error.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(error) => {
                    // EMFILE/ENFILE and the like: retried on the next tick.
                    log::debug(1, &format!("accept failed: {error}"));
                    self.accept_blocked = true;
                    return;
                }
            }
        }
    }

    fn admit(&mut self, mut stream: UnixStream, listener: usize) {
        if self.connections.len() >= MAX_CONNECTIONS && !self.evict_idlest() {
            return;
        }
        let Ok(peer) = peer_credentials(stream.as_fd()) else {
            return;
        };
        if self.unprivileged {
            note_unreadable_program(peer.pid.get());
        }
        // No label (no security module, or not UTF-8): `selinux_context` services never match.
        let label = peer_security_label(stream.as_fd())
            .ok()
            .flatten()
            .and_then(|label| String::from_utf8(label).ok());
        let token = self.next_token;
        self.next_token = self.next_token.saturating_add(1);
        if self
            .poll
            .registry()
            .register(&mut stream, Token(token), Interest::READABLE | Interest::WRITABLE)
            .is_err()
        {
            return;
        }
        let now = Instant::now();
        self.connections.insert(
            token,
            Connection {
                stream,
                listener,
                peer,
                label,
                reader: RecordReader::gssproxy(),
                pending: Vec::new(),
                state: State::Reading { since: None },
                held: 0,
                idle_since: now,
                paused: false,
            },
        );
        self.pump(token);
    }

    /// Closes the connection idle longest at a record boundary; false if there is none.
    fn evict_idlest(&mut self) -> bool {
        let victim = self
            .connections
            .iter()
            .filter(|(_, connection)| {
                matches!(connection.state, State::Reading { since: None }) && connection.pending.is_empty()
            })
            .min_by_key(|(_, connection)| connection.idle_since)
            .map(|(token, _)| *token);
        match victim {
            Some(token) => {
                log::debug(1, "connection limit reached: closing the connection idle longest");
                self.close(token);
                true
            }
            None => false,
        }
    }

    /// Reads and frames requests on `token` until the socket is drained or a request is
    /// complete.
    fn pump(&mut self, token: usize) {
        loop {
            let Some(connection) = self.connections.get_mut(&token) else {
                return;
            };
            if !matches!(connection.state, State::Reading { .. }) {
                return;
            }
            let input = if connection.pending.is_empty() {
                // Over the budget, only connections holding nothing may read (one chunk each,
                // enough for an ordinary request to complete): a client that is not hoarding
                // is still served while the hoarders wait for their record timeout.
                if self.held >= BUFFER_BUDGET && connection.held > 0 {
                    connection.paused = true;
                    return;
                }
                connection.paused = false;
                match connection.stream.read(&mut self.buffer) {
                    Ok(0) => return self.close(token),
                    Ok(count) => self.buffer.get(..count).unwrap_or_default().to_vec(),
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => return self.close(token),
                }
            } else {
                std::mem::take(&mut connection.pending)
            };
            if !self.feed(token, &input) {
                return;
            }
        }
    }

    /// Feeds `input` to the connection's record reader; dispatches a complete record (keeping
    /// what follows it). Returns whether to go on reading.
    fn feed(&mut self, token: usize, input: &[u8]) -> bool {
        let Some(connection) = self.connections.get_mut(&token) else {
            return false;
        };
        let before = connection.reader.buffered();
        let fed = connection.reader.feed(input);
        let after = connection.reader.buffered();
        self.held = self.held.saturating_sub(before).saturating_add(after);
        connection.held = connection.held.saturating_sub(before).saturating_add(after);
        let Ok(fed) = fed else {
            self.close(token);
            return false;
        };
        if let State::Reading { since } = &mut connection.state
            && since.is_none()
            && fed.consumed > 0
        {
            *since = Some(Instant::now());
        }
        match fed.record {
            None => true,
            Some(record) => {
                connection.pending = input.get(fed.consumed..).unwrap_or_default().to_vec();
                self.dispatch(token, record);
                false
            }
        }
    }

    /// Matches the caller to a service and hands the request to the workers.
    fn dispatch(&mut self, token: usize, record: Vec<u8>) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        let listener_path = self
            .listeners
            .get(connection.listener)
            .and_then(Option::as_ref)
            .map(|listener| listener.path.as_path());
        let service = listener_path
            .and_then(|path| {
                self.config.match_peer(
                    connection.peer.uid,
                    connection.peer.pid.get(),
                    connection.label.as_deref(),
                    path,
                )
            })
            .and_then(|index| self.services.get(index));
        let Some(service) = service else {
            log::debug(2, "No matching service found");
            return self.close(token);
        };
        let peer_uid = connection.peer.uid;
        let Some(jobs) = &self.jobs else { return };
        connection.state = State::Working;
        connection.held = connection.held.saturating_add(record.len());
        self.held = self.held.saturating_add(record.len());
        let job = Job {
            token,
            record,
            service: Arc::clone(service),
            peer_uid,
        };
        if jobs.send(job).is_err() {
            self.close(token);
        }
    }

    /// Takes the workers' answers.
    fn collect(&mut self) {
        while let Ok(done) = self.done.try_recv() {
            let Some(connection) = self.connections.get_mut(&done.token) else {
                continue;
            };
            // The request's bytes are no longer held.
            self.held = self.held.saturating_sub(connection.held);
            connection.held = connection.reader.buffered();
            self.held = self.held.saturating_add(connection.held);
            match done.reply {
                None => self.close(done.token),
                Some(reply) => {
                    connection.state = State::Writing {
                        reply,
                        written: 0,
                        since: Instant::now(),
                    };
                    self.flush(done.token);
                }
            }
        }
    }

    /// Writes what it can of the pending reply; when it is all written, reads again.
    fn flush(&mut self, token: usize) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        let State::Writing { reply, written, .. } = &mut connection.state else {
            return;
        };
        while *written < reply.len() {
            match connection.stream.write(reply.get(*written..).unwrap_or_default()) {
                Ok(0) => return self.close(token),
                Ok(count) => *written = written.saturating_add(count),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.close(token),
            }
        }
        connection.state = State::Reading { since: None };
        connection.idle_since = Instant::now();
        self.pump(token);
    }

    fn close(&mut self, token: usize) {
        if let Some(mut connection) = self.connections.remove(&token) {
            self.held = self.held.saturating_sub(connection.held);
            let _ = self.poll.registry().deregister(&mut connection.stream);
        }
    }

    /// Timeouts, paused reads, blocked accepts.
    fn tick(&mut self, now: Instant) {
        let mut expired = Vec::new();
        let mut paused = Vec::new();
        for (token, connection) in &self.connections {
            let late = match &connection.state {
                State::Reading { since: Some(since) } => {
                    now.saturating_duration_since(*since) > RECORD_TIMEOUT
                }
                State::Writing { since, .. } => now.saturating_duration_since(*since) > WRITE_TIMEOUT,
                _ => false,
            };
            if late {
                expired.push(*token);
            } else if connection.paused {
                paused.push(*token);
            }
        }
        for token in expired {
            log::debug(1, "closing a connection whose record or reply is overdue");
            self.close(token);
        }
        for token in paused {
            self.pump(token);
        }
        if self.accept_blocked {
            self.accept_blocked = false;
            for listener in 0..self.listeners.len() {
                self.accept(listener);
            }
        }
    }
}

/// A worker: takes jobs until the loop drops the queue's sender.
/// The reference resolves every caller's program at accept; unprivileged, that fails for other
/// users' processes and it logs so (`LOG_ERR`), the caller then having no program (services with
/// `program =` do not match it: `DaemonConfig::match_peer` meets the same refusal). A process
/// that is gone (`ENOENT`) is taken for a kernel thread, without a message.
fn note_unreadable_program(pid: i32) {
    if let Err(error) = std::fs::read_link(format!("/proc/{pid}/exe"))
        && error.kind() != io::ErrorKind::NotFound
    {
        log::error(&format!(
            "Unexpected failure in realpath: {} ({})",
            error.raw_os_error().unwrap_or(0),
            log::os_error_text(&error)
        ));
    }
}

fn work(queue: &Mutex<Receiver<Job>>, done: &Sender<Done>, waker: &Waker) {
    loop {
        let job = {
            let queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.recv()
        };
        let Ok(job) = job else { return };
        // A panic in one request closes its connection and leaves the worker serving (debug
        // builds; release builds abort, and the service manager restarts the daemon).
        let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            procedures::answer(&job.record, &job.service, job.peer_uid)
        }))
        .unwrap_or(None);
        if done
            .send(Done {
                token: job.token,
                reply,
            })
            .is_err()
        {
            return;
        }
        let _ = waker.wake();
    }
}
