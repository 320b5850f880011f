//! The acceptor credential of each service, kept between calls.
//!
//! `gss_acquire_cred_from` costs a krb5 context (krb5.conf read and parsed) and a pass over the
//! keytab on every call; the reference pays it per request too. A worker keeps the credential it
//! acquired for a (keytab, principal) pair and uses it again while nothing it was made from has
//! changed:
//! - the keytab file: its device, inode, size, modification and change times are read
//!   (`stat`) before every use; any difference (a rekey rewrites or replaces the file) and the
//!   credential is acquired again before the call, so a call never runs on a credential made from
//!   an older keytab than the one on disk at its start;
//! - the configuration: a SIGHUP reload calls [`invalidate`], and every worker drops what it kept
//!   at its next call.
//!
//! A keytab that cannot be `stat`ed (missing: the acquisition reports the error), a keytab name
//! of another type than `FILE:` (`MEMORY:`, `KEYRING:`…) and the library's default keytab (no
//! path to watch) are never cached: those calls acquire as before. Each worker holds at most
//! [`MAX_ENTRIES`] credentials (the oldest goes first); MIT's credential handles are per thread
//! here (`Credential` is not `Send`), so no lock is taken.

use std::cell::RefCell;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use kup_gss::gss::{Credential, GssStatus, Mech, Name};

/// Most credentials one worker keeps.
pub const MAX_ENTRIES: usize = 16;

/// Bumped by [`invalidate`]; an entry made under another value is dropped.
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// Credentials acquired so far, by every thread (tests, debugging).
static ACQUIRED: AtomicU64 = AtomicU64::new(0);

/// What a keytab file was when its credential was acquired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(path: &Path) -> Option<Self> {
        let metadata = std::fs::metadata(path).ok()?;
        Some(Self {
            dev: metadata.dev(),
            ino: metadata.ino(),
            size: metadata.size(),
            mtime: (metadata.mtime(), metadata.mtime_nsec()),
            ctime: (metadata.ctime(), metadata.ctime_nsec()),
        })
    }
}

struct Entry {
    keytab: PathBuf,
    principal: Option<String>,
    stamp: Stamp,
    generation: u64,
    credential: Rc<Credential>,
    /// The in-memory copy of the keytab the credential was acquired from (emptied on drop,
    /// after the credential: fields drop in order).
    _memory: Option<MemoryKeytab>,
}

/// A `MEMORY:` keytab holding a copy of a file keytab's entries, read once: MIT reads (opens,
/// locks, parses) a file keytab at every accept; a copy made when the credential is acquired,
/// used while the file is unchanged (its stamp is checked before every use), saves that. The
/// copy's keys are removed when its entry goes.
struct MemoryKeytab(kup_gss::krb5::MemoryKeytab);

impl MemoryKeytab {
    /// A copy of the file keytab at `file`; `None` if it cannot be read or is empty (the
    /// caller then acquires from the file itself, as the reference does).
    fn copy(file: &Path) -> Option<Self> {
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let source = format!("FILE:{}", file.to_str()?);
        let residual = format!(
            "kup-gssproxy-{}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        );
        kup_gss::krb5::MemoryKeytab::copy_of(&source, &residual)
            .ok()
            .map(Self)
    }

    fn path(&self) -> &Path {
        Path::new(self.0.name())
    }
}

/// Runs `f` with the worker's krb5 library context (made anew after a reload); `None` when
/// the library cannot make one or the thread is ending.
fn with_krb5<T>(f: impl FnOnce(&kup_gss::krb5::Context) -> Option<T>) -> Option<T> {
    let generation = GENERATION.load(Ordering::SeqCst);
    KRB5.try_with(|slot| {
        let mut slot = slot.try_borrow_mut().ok()?;
        if slot.as_ref().is_none_or(|(made, _)| *made != generation) {
            *slot = kup_gss::krb5::Context::new()
                .ok()
                .map(|context| (generation, context));
        }
        let (_, context) = slot.as_ref()?;
        f(context)
    })
    .ok()
    .flatten()
}

thread_local! {
    static ENTRIES: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    /// Acceptor names already reported, by credential and ticket server bytes.
    static TARGETS: RefCell<Vec<Target>> = const { RefCell::new(Vec::new()) };
    /// The worker's krb5 library context for local-name mapping, and the generation it was made
    /// under.
    static KRB5: RefCell<Option<(u64, kup_gss::krb5::Context)>> = const { RefCell::new(None) };
}

/// The local account name krb5 maps the principal displayed as `display` to, through the
/// worker's long-lived krb5 context: `krb5_aname_to_localname` of the parsed name, what MIT's
/// krb5 mechanism does for `gss_localname` (which first makes a fresh krb5 context, walking
/// krb5.conf, at every call). `None` when the name does not parse or krb5 has no mapping: the
/// caller then asks `gss_localname` itself, so every failure (and the name-attribute fallback
/// of MIT's mechglue) stays the library's own. The context follows krb5.conf edits as MIT's
/// profile library does (it re-reads a changed file) and is made anew after a reload.
#[must_use]
pub fn local_name(display: &[u8]) -> Option<Vec<u8>> {
    with_krb5(|context| {
        let principal = context.parse_name_bytes(display).ok()?;
        principal.local_name().ok().filter(|name| !name.is_empty())
    })
}

/// Most acceptor names one worker keeps.
pub const MAX_TARGETS: usize = 64;

/// An acceptor name MIT reported for a context accepted with `credential` from a token whose
/// ticket named its server with `server` (the DER bytes of `realm` and `sname`).
struct Target {
    credential: std::rc::Weak<Credential>,
    server: Vec<u8>,
    name: kup_gssx::gssx::Name,
}

/// The `gssx_name` of the acceptor of a context just accepted with `credential` from a token
/// whose ticket server is `server` ([`kup_gssx::krb5token::ticket_server`]): the one `compute`
/// made for the same credential and the same bytes before, else `compute`'s (kept).
///
/// MIT names the acceptor of a krb5 context after the ticket's server principal, which is
/// decoded from exactly these bytes; `compute` (`gss_inquire_context`, `gss_display_name`,
/// `gss_release_name`) costs MIT three fresh krb5 contexts. An entry lives only as long as its
/// credential (a re-acquired credential after a rekey or a reload starts afresh).
pub fn target_name(
    credential: &Rc<Credential>,
    server: &[u8],
    compute: impl FnOnce() -> Result<kup_gssx::gssx::Name, GssStatus>,
) -> Result<kup_gssx::gssx::Name, GssStatus> {
    let found = TARGETS.with_borrow_mut(|targets| {
        targets.retain(|target| target.credential.strong_count() > 0);
        targets
            .iter()
            .find(|target| {
                target.server == server
                    && target
                        .credential
                        .upgrade()
                        .is_some_and(|kept| Rc::ptr_eq(&kept, credential))
            })
            .map(|target| target.name.clone())
    });
    if let Some(name) = found {
        return Ok(name);
    }
    let name = compute()?;
    TARGETS.with_borrow_mut(|targets| {
        if targets.len() >= MAX_TARGETS {
            targets.remove(0);
        }
        targets.push(Target {
            credential: Rc::downgrade(credential),
            server: server.to_vec(),
            name: name.clone(),
        });
    });
    Ok(name)
}

/// Forgets every kept credential (each worker at its next call): the configuration changed.
pub fn invalidate() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// The file a keytab name designates, if it is a plain file keytab.
fn file_keytab(keytab: &Path) -> Option<&Path> {
    let bytes = keytab.as_os_str().as_encoded_bytes();
    if let Some(rest) = keytab.to_str().and_then(|name| name.strip_prefix("FILE:")) {
        return Some(Path::new(rest));
    }
    // `TYPE:residual` (krb5_kt_resolve): a colon before the first slash names another type.
    let colon = bytes.iter().position(|&byte| byte == b':');
    let slash = bytes.iter().position(|&byte| byte == b'/');
    match (colon, slash) {
        (Some(colon), Some(slash)) if colon < slash => None,
        (Some(_), None) => None,
        _ => Some(keytab),
    }
}

/// The acceptor credential for `keytab` and `principal` (krb5 only), kept or acquired.
pub fn acceptor(keytab: Option<&Path>, principal: Option<&str>) -> Result<Rc<Credential>, GssStatus> {
    let acquire_from = |keytab: Option<&Path>| {
        ACQUIRED.fetch_add(1, Ordering::Relaxed);
        let name = principal.map(Name::principal).transpose()?;
        Credential::acceptor(keytab, name.as_ref(), Some(Mech::Krb5))
    };
    let acquire = || acquire_from(keytab);
    let Some(file) = keytab.and_then(file_keytab) else {
        return acquire().map(Rc::new);
    };
    let Some(stamp) = Stamp::of(file) else {
        ENTRIES.with_borrow_mut(|entries| entries.retain(|entry| entry.keytab != file));
        return acquire().map(Rc::new);
    };
    let generation = GENERATION.load(Ordering::SeqCst);
    ENTRIES.with_borrow_mut(|entries| {
        entries.retain(|entry| entry.generation == generation);
        let found = entries
            .iter()
            .position(|entry| entry.keytab == file && entry.principal.as_deref() == principal);
        if let Some(index) = found {
            if let Some(entry) = entries.get(index)
                && entry.stamp == stamp
            {
                return Ok(Rc::clone(&entry.credential));
            }
            entries.remove(index);
        }
        // Acquired from an in-memory copy of the file, kept while the file is unchanged.
        let memory = MemoryKeytab::copy(file);
        let credential = match &memory {
            Some(memory) => match acquire_from(Some(memory.path())) {
                Ok(credential) => Rc::new(credential),
                Err(_) => Rc::new(acquire()?),
            },
            None => Rc::new(acquire()?),
        };
        // The file may have changed while it was read: keep the credential only if it did not
        // (a copy of a changing file is not used at all).
        if Stamp::of(file) != Some(stamp) {
            return match memory {
                Some(_) => acquire().map(Rc::new),
                None => Ok(credential),
            };
        }
        {
            if entries.len() >= MAX_ENTRIES {
                entries.remove(0);
            }
            entries.push(Entry {
                keytab: file.to_owned(),
                principal: principal.map(str::to_owned),
                stamp,
                generation,
                credential: Rc::clone(&credential),
                _memory: memory,
            });
        }
        Ok(credential)
    })
}

/// Drops everything this thread keeps from MIT (credentials, keytab copies, acceptor names, the
/// krb5 context), while the library is still whole: a worker calls it before it ends, and the
/// daemon exits only after that (see `server::Stopped`).
pub fn release_thread() {
    let _ = ENTRIES.try_with(std::cell::RefCell::take);
    let _ = TARGETS.try_with(std::cell::RefCell::take);
    let _ = KRB5.try_with(std::cell::RefCell::take);
}

/// How many credentials this thread keeps.
#[must_use]
pub fn kept() -> usize {
    ENTRIES.with_borrow(Vec::len)
}

/// How many credentials have been acquired since the process started (every thread).
#[must_use]
pub fn acquisitions() -> u64 {
    ACQUIRED.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kup_testkit::krb5::Realm;

    /// A real keytab: kept while unchanged, acquired again after a rewrite, a replacement, a
    /// reload; a missing keytab fails and is not kept. (One test: the counters are global.)
    #[test]
    fn a_kept_credential_is_dropped_when_its_keytab_or_the_configuration_changes() {
        let realm = Realm::start("KUP.TEST").expect("realm");
        realm.add_principal("nfs/localhost").expect("principal");
        let keytab = realm.dir().join("cache-test.keytab");
        realm
            .write_keytab(&["nfs/localhost@KUP.TEST"], &keytab)
            .expect("keytab");
        let principal = Some("nfs/localhost@KUP.TEST");
        let start = acquisitions();
        let first = acceptor(Some(&keytab), principal).expect("acquired");
        let again = acceptor(Some(&keytab), principal).expect("kept");
        assert!(Rc::ptr_eq(&first, &again));
        assert_eq!(acquisitions() - start, 1);
        assert_eq!(kept(), 1);

        // Rewritten in place (a second key appended: size and mtime change).
        std::thread::sleep(std::time::Duration::from_millis(10));
        realm
            .write_keytab(&["nfs/localhost@KUP.TEST"], &keytab)
            .expect("keytab appended");
        let rewritten = acceptor(Some(&keytab), principal).expect("acquired again");
        assert!(!Rc::ptr_eq(&first, &rewritten));
        assert_eq!(acquisitions() - start, 2);
        assert_eq!(kept(), 1);

        // Replaced by another file of the same size (a rename: the inode changes).
        let copy = realm.dir().join("cache-test.keytab.new");
        std::fs::copy(&keytab, &copy).expect("copy");
        std::fs::rename(&copy, &keytab).expect("rename");
        let replaced = acceptor(Some(&keytab), principal).expect("acquired again");
        assert!(!Rc::ptr_eq(&rewritten, &replaced));
        assert_eq!(acquisitions() - start, 3);

        // A reload.
        invalidate();
        let reloaded = acceptor(Some(&keytab), principal).expect("acquired again");
        assert!(!Rc::ptr_eq(&replaced, &reloaded));
        assert_eq!(acquisitions() - start, 4);
        assert_eq!(kept(), 1);

        // A stopping worker lets go of everything it kept.
        release_thread();
        assert_eq!(kept(), 0);
        let again = acceptor(Some(&keytab), principal).expect("acquired again");
        assert_eq!(acquisitions() - start, 5);
        drop(again);

        // Another principal is another entry; the bound holds.
        assert!(acceptor(Some(&keytab), Some("nfs/nosuch@KUP.TEST")).is_err());
        assert_eq!(kept(), 1);

        // Gone: the acquisition fails, nothing is kept.
        std::fs::remove_file(&keytab).expect("remove");
        assert!(acceptor(Some(&keytab), principal).is_err());
        assert_eq!(kept(), 0);
    }

    /// The in-memory copy serves without the file, and its keys are gone once dropped.
    #[test]
    fn a_memory_copy_serves_without_its_file_and_is_emptied_on_drop() {
        let realm = Realm::start("KUP.TEST").expect("realm");
        realm.add_principal("nfs/localhost").expect("principal");
        let keytab = realm.dir().join("memory-test.keytab");
        realm
            .write_keytab(&["nfs/localhost@KUP.TEST"], &keytab)
            .expect("keytab");
        let copy = MemoryKeytab::copy(&keytab).expect("copied");
        std::fs::remove_file(&keytab).expect("remove");
        let name = Name::principal("nfs/localhost@KUP.TEST").expect("name");
        let acquire = |path: &Path| Credential::acceptor(Some(path), Some(&name), Some(Mech::Krb5));
        assert!(acquire(copy.path()).is_ok(), "served from memory");
        let path = copy.path().to_owned();
        drop(copy);
        assert!(acquire(&path).is_err(), "emptied");
        assert!(MemoryKeytab::copy(&keytab).is_none(), "no file, no copy");
    }

    #[test]
    fn only_file_keytabs_are_watched() {
        assert_eq!(
            file_keytab(Path::new("/etc/krb5.keytab")),
            Some(Path::new("/etc/krb5.keytab"))
        );
        assert_eq!(
            file_keytab(Path::new("FILE:/etc/krb5.keytab")),
            Some(Path::new("/etc/krb5.keytab"))
        );
        assert_eq!(file_keytab(Path::new("MEMORY:x")), None);
        assert_eq!(file_keytab(Path::new("KEYRING:persistent:0")), None);
        assert_eq!(file_keytab(Path::new("WRFILE:/etc/krb5.keytab")), None);
        assert_eq!(
            file_keytab(Path::new("relative.keytab")),
            Some(Path::new("relative.keytab"))
        );
        assert_eq!(
            file_keytab(Path::new("/dir:with/colon")),
            Some(Path::new("/dir:with/colon"))
        );
    }
}
