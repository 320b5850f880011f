//! Build script of `kup-sys`: links the unwinder statically into release builds.
//!
//! Rust's `std` asks the linker for `-lgcc_s`, so every binary needs `libgcc_s.so.1` at run time:
//! one more library for the dynamic loader to find, map and relocate on every upcall (about a
//! tenth of a do-nothing helper's CPU time, measured in `docs/benchmarks.md`). `-static-libgcc`
//! does not help (it only changes the C compiler driver's own implicit libraries). Instead, release
//! builds find a `libgcc_s.so` here first: a one-line linker script that resolves the request to
//! `libgcc_eh.a`, the static copy of the same unwinder that GCC ships beside it. glibc, NSS and
//! `dlopen` stay dynamic. The search path reaches every binary that depends on `kup-sys` (cargo
//! passes a dependency's `rustc-link-search` on to its dependents' link).
//!
//! Dev and test builds are left alone (they unwind, and nothing there is timed).

use std::io::Write as _;
use std::path::PathBuf;
use std::{env, fs, io};

fn main() -> io::Result<()> {
    let mut cargo = io::stdout().lock();
    writeln!(cargo, "cargo::rerun-if-changed=build.rs")?;
    let var = |name| env::var(name).unwrap_or_default();
    let gnu_linux = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    // PROFILE is "release" for the release profile and every profile that inherits from it.
    if !gnu_linux || var("PROFILE") != "release" {
        return Ok(());
    }
    let dir = PathBuf::from(var("OUT_DIR")).join("static-unwinder");
    fs::create_dir_all(&dir)?;
    fs::write(dir.join("libgcc_s.so"), "INPUT(-lgcc_eh)\n")?;
    writeln!(cargo, "cargo::rustc-link-search=native={}", dir.display())?;
    Ok(())
}
