//! Fuzz target: `checks::argv` with nfsidmap's flag table, then nfsidmap's own reading of the
//! command line.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let argv = kup_cli_fuzz::checks::argv(nfsidmap::FLAGS, data);
    let _ = nfsidmap::plan(&argv);
});
