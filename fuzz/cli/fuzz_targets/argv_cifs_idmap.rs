//! Fuzz target: `checks::argv` with cifs.idmap's flag table, then its own reading of the
//! command line.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let argv = kup_cli_fuzz::checks::argv(cifs_idmap::FLAGS, data);
    let _ = cifs_idmap::parse_command_line(argv);
});
