//! Which implementation a compliance test runs, and where each one lives.
//!
//! `KUP_UNDER_TEST=ours` (the default) runs the binaries built from this checkout;
//! `KUP_UNDER_TEST=theirs` runs Debian 12's C originals. The same test, unchanged, runs against
//! either; where the two must differ (a recorded divergence in `docs/compat/`), the test asks
//! [`under_test`] and says why. A reference binary that is missing is an error naming the Debian
//! package to install, never a skip.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The implementation under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnderTest {
    /// kup's Rust helpers, built from this checkout.
    Ours,
    /// Debian 12's C originals.
    Theirs,
}

/// Reads `KUP_UNDER_TEST` (`ours` when unset). Any other value is an error, so a typo cannot
/// silently test the wrong thing.
pub fn under_test() -> io::Result<UnderTest> {
    match std::env::var_os("KUP_UNDER_TEST") {
        None => Ok(UnderTest::Ours),
        Some(value) if value == "ours" => Ok(UnderTest::Ours),
        Some(value) if value == "theirs" => Ok(UnderTest::Theirs),
        Some(value) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "KUP_UNDER_TEST must be 'ours' or 'theirs', not {}",
                value.display()
            ),
        )),
    }
}

/// The programs kup replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// `nfsidmap` (nfs-common).
    Nfsidmap,
    /// `key.dns_resolver` (keyutils).
    KeyDnsResolver,
    /// `cifs.idmap` (cifs-utils).
    CifsIdmap,
    /// `cifs.upcall` (cifs-utils).
    CifsUpcall,
    /// `gssproxy` (gssproxy).
    Gssproxy,
}

impl Tool {
    /// Where Debian installs the original.
    #[must_use]
    pub fn reference_path(self) -> &'static Path {
        Path::new(match self {
            Self::Nfsidmap => "/usr/sbin/nfsidmap",
            Self::KeyDnsResolver => "/sbin/key.dns_resolver",
            Self::CifsIdmap => "/usr/sbin/cifs.idmap",
            Self::CifsUpcall => "/usr/sbin/cifs.upcall",
            Self::Gssproxy => "/usr/sbin/gssproxy",
        })
    }

    /// The Debian package that ships the original.
    #[must_use]
    pub fn reference_package(self) -> &'static str {
        match self {
            Self::Nfsidmap => "nfs-common",
            Self::KeyDnsResolver => "keyutils",
            Self::CifsIdmap | Self::CifsUpcall => "cifs-utils",
            Self::Gssproxy => "gssproxy",
        }
    }

    /// The reference version kup is compared against (Debian 12).
    #[must_use]
    pub fn reference_version(self) -> &'static str {
        match self {
            Self::Nfsidmap => "1:2.6.2",
            Self::KeyDnsResolver => "1.6.3",
            Self::CifsIdmap | Self::CifsUpcall => "2:7.0",
            Self::Gssproxy => "0.9.1",
        }
    }

    /// Our cargo package and binary name (cargo does not allow `.` in names).
    #[must_use]
    pub fn our_binary(self) -> &'static str {
        match self {
            Self::Nfsidmap => "nfsidmap",
            Self::KeyDnsResolver => "key-dns-resolver",
            Self::CifsIdmap => "cifs-idmap",
            Self::CifsUpcall => "cifs-upcall",
            Self::Gssproxy => "gssproxy",
        }
    }
}

/// The Debian original, checked to be installed at the expected version.
pub fn theirs(tool: Tool) -> io::Result<PathBuf> {
    let path = tool.reference_path();
    if !path.exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "reference binary {} is missing: apt-get install {}",
                path.display(),
                tool.reference_package()
            ),
        ));
    }
    if let Some((diverted_to, package)) = diversion_of(path)? {
        return Err(io::Error::other(format!(
            "reference binary {} is diverted to {diverted_to} by package {package}: the file there \
             is not {}'s original; remove {package} (dpkg --purge {package}) before comparing",
            path.display(),
            tool.reference_package()
        )));
    }
    let installed = installed_version(tool.reference_package())?;
    let wanted = tool.reference_version();
    let upstream = installed
        .split_once('-')
        .map_or(installed.as_str(), |(upstream, _)| upstream);
    if upstream != wanted {
        return Err(io::Error::other(format!(
            "{} is version {installed}, compliance tests compare against {wanted}",
            tool.reference_package()
        )));
    }
    Ok(path.to_path_buf())
}

/// Where dpkg diverts `path` to, and the package that diverted it (`/var/lib/dpkg/diversions`:
/// three lines per diversion, the path, where it went and the diverting package). With the `kup`
/// package installed the originals' paths hold our helpers, and a compliance run against them
/// would compare us with ourselves.
fn diversion_of(path: &Path) -> io::Result<Option<(String, String)>> {
    let table = match std::fs::read_to_string("/var/lib/dpkg/diversions") {
        Ok(table) => table,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    Ok(find_diversion(&table, path))
}

/// Looks `path` up in the text of dpkg's diversions table.
fn find_diversion(table: &str, path: &Path) -> Option<(String, String)> {
    let lines: Vec<&str> = table.lines().collect();
    lines
        .chunks_exact(3)
        .find(|entry| Path::new(entry[0]) == path)
        .map(|entry| (entry[1].to_owned(), entry[2].to_owned()))
}

/// Our binary, built from this checkout (built on demand when missing).
pub fn ours(tool: Tool) -> io::Result<PathBuf> {
    workspace_binary(tool.our_binary(), tool.our_binary())
}

/// The binary for `tool` under [`under_test`].
pub fn tool_path(tool: Tool) -> io::Result<PathBuf> {
    match under_test()? {
        UnderTest::Ours => ours(tool),
        UnderTest::Theirs => theirs(tool),
    }
}

/// The installed Debian version of `package` (`dpkg-query`).
pub fn installed_version(package: &str) -> io::Result<String> {
    let output = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", package])
        .output()?;
    if !output.status.success() || output.stdout.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("package {package} is not installed"),
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The target directory of this checkout's build (`CARGO_TARGET_DIR`, or `target/` beside the
/// workspace manifest).
#[must_use]
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    workspace_root().join("target")
}

/// The root of this checkout.
#[must_use]
pub fn workspace_root() -> PathBuf {
    // crates/kup-testkit -> workspace root
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// A binary of this workspace, built (debug profile, unless `KUP_PROFILE=release`) once per
/// process, so that a test never runs a stale binary.
pub fn workspace_binary(package: &str, binary: &str) -> io::Result<PathBuf> {
    build_cached(package, "--bin", binary)
}

/// An example program of a workspace package (test helpers that act as request-key helpers),
/// built like [`workspace_binary`].
pub fn workspace_example(package: &str, example: &str) -> io::Result<PathBuf> {
    build_cached(package, "--example", example)
}

fn build_cached(package: &str, kind: &str, binary: &str) -> io::Result<PathBuf> {
    static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let cache_key = format!("{package} {kind} {binary}");
    if let Some(path) = built.get(&cache_key) {
        return Ok(path.clone());
    }
    let path = build_binary(package, kind, binary)?;
    built.insert(cache_key, path.clone());
    Ok(path)
}

fn build_binary(package: &str, kind: &str, binary: &str) -> io::Result<PathBuf> {
    let release = std::env::var_os("KUP_PROFILE").is_some_and(|profile| profile == "release");
    let mut path = target_dir().join(if release { "release" } else { "debug" });
    if kind == "--example" {
        path.push("examples");
    }
    path.push(binary);
    let cargo =
        std::env::var_os("CARGO").unwrap_or_else(|| OsString::from(option_env!("CARGO").unwrap_or("cargo")));
    let mut build = Command::new(cargo);
    build
        .current_dir(workspace_root())
        .args(["build", "--quiet", "-p", package, kind, binary]);
    if release {
        build.arg("--release");
    }
    let status = build.status()?;
    if !status.success() {
        return Err(io::Error::other(format!(
            "cargo build -p {package} {kind} {binary} failed"
        )));
    }
    if path.exists() {
        Ok(path)
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} was not built", path.display()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diverted_reference_path_is_found_in_dpkgs_table() {
        let table = "/usr/bin/perf\n/usr/bin/perf.wrapper\nlinux-perf\n\
                     /usr/sbin/nfsidmap\n/usr/sbin/nfsidmap.distrib\nkup\n";
        assert_eq!(
            find_diversion(table, Path::new("/usr/sbin/nfsidmap")),
            Some(("/usr/sbin/nfsidmap.distrib".to_owned(), "kup".to_owned()))
        );
        assert_eq!(find_diversion(table, Path::new("/usr/bin/perf.wrapper")), None);
        assert_eq!(find_diversion(table, Path::new("/usr/sbin/cifs.idmap")), None);
    }
}
