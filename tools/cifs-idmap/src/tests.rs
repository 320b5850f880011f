//! Unit tests of the pure parts: command line, and `answer` against a hand-written plugin fake.

use super::*;

/// A fake plugin with a fixed table, answering like the cifs-utils plugin contract says.
struct FakePlugin {
    sid_answer: Result<UnixId, PluginError>,
    id_answer: Result<[u8; CIFS_SID_LEN], PluginError>,
    parse_error: Option<PluginError>,
}

impl FakePlugin {
    fn maps_sid_to(id: u32, id_type: IdType) -> Self {
        Self {
            sid_answer: Ok(UnixId { id, id_type }),
            id_answer: Err(io_error()),
            parse_error: None,
        }
    }

    fn maps_id_to(sid: [u8; CIFS_SID_LEN]) -> Self {
        Self {
            sid_answer: Err(io_error()),
            id_answer: Ok(sid),
            parse_error: None,
        }
    }

    fn winbind_down() -> Self {
        let down = PluginError {
            code: -5,
            message: "WBC_ERR_WINBIND_NOT_AVAILABLE".to_owned(),
        };
        Self {
            sid_answer: Err(down.clone()),
            id_answer: Err(down.clone()),
            parse_error: Some(down),
        }
    }
}

fn io_error() -> PluginError {
    PluginError {
        code: -5,
        message: "Some IDs could not be mapped.".to_owned(),
    }
}

impl IdMapper for FakePlugin {
    fn str_to_sid(&self, value: &CString) -> Result<[u8; CIFS_SID_LEN], PluginError> {
        if let Some(error) = &self.parse_error {
            return Err(error.clone());
        }
        Sid::parse(value.as_bytes())
            .map(|sid| sid.to_cifs_sid())
            .map_err(|_| io_error())
    }

    fn sid_to_id(&self, _sid: &[u8; CIFS_SID_LEN]) -> Result<UnixId, PluginError> {
        self.sid_answer.clone()
    }

    fn id_to_sid(&self, _id: UnixId) -> Result<[u8; CIFS_SID_LEN], PluginError> {
        self.id_answer.clone()
    }
}

fn sid(text: &str) -> Sid {
    Sid::parse(text.as_bytes()).unwrap()
}

fn describe(description: &str) -> Vec<u8> {
    format!("cifs.idmap;0;0;39010000;{description}").into_bytes()
}

#[test]
fn owner_sid_is_answered_with_the_uid_in_four_native_endian_bytes() {
    let plugin = FakePlugin::maps_sid_to(10513, IdType::Uid);
    let payload = answer(
        &describe("os:S-1-5-21-3623811015-3361044348-30300820-1013"),
        &plugin,
    )
    .unwrap();
    assert_eq!(payload, 10513u32.to_ne_bytes());
}

#[test]
fn group_sid_accepts_an_id_usable_as_both() {
    let plugin = FakePlugin::maps_sid_to(10000, IdType::Both);
    let payload = answer(
        &describe("gs:S-1-5-21-3623811015-3361044348-30300820-513"),
        &plugin,
    )
    .unwrap();
    assert_eq!(payload, 10000u32.to_ne_bytes());
}

#[test]
fn owner_sid_mapped_to_a_group_only_fails_with_exit_234() {
    let plugin = FakePlugin::maps_sid_to(10000, IdType::Gid);
    let failure = answer(&describe("os:S-1-5-21-1-2-3-500"), &plugin).unwrap_err();
    assert_eq!(failure.exit_code, 234);
    assert_eq!(
        failure.disposition,
        Some(Disposition::Negate { timeout_secs: 60 })
    );
}

#[test]
fn winbind_down_passes_the_plugin_error_through_as_exit_251() {
    let plugin = FakePlugin::winbind_down();
    for description in ["os:S-1-5-21-1-2-3-500", "oi:1000", "gi:0", "gs:S-1-1-0"] {
        let failure = answer(&describe(description), &plugin).unwrap_err();
        assert_eq!(failure.exit_code, 251, "{description}");
        assert!(failure.message.contains("WBC_ERR_WINBIND_NOT_AVAILABLE"));
    }
}

#[test]
fn uid_is_answered_with_the_68_byte_sid_and_a_zero_tail() {
    let mut from_plugin = sid("S-1-5-21-1-2-3-1000").to_cifs_sid();
    from_plugin[40..].fill(0xcc); // garbage a plugin might leave past the meaningful part
    let plugin = FakePlugin::maps_id_to(from_plugin);
    let payload = answer(&describe("oi:1000"), &plugin).unwrap();
    assert_eq!(payload.len(), 68);
    assert_eq!(
        &payload[..28],
        &[
            0x01, 0x05, 0, 0, 0, 0, 0, 0x05, 0x15, 0, 0, 0, 0x01, 0, 0, 0, 0x02, 0, 0, 0, 0x03, 0, 0, 0,
            0xe8, 0x03, 0, 0
        ]
    );
    assert!(payload[28..].iter().all(|&byte| byte == 0));
}

#[test]
fn hex_uid_is_read_like_the_reference() {
    let plugin = FakePlugin::maps_id_to(sid("S-1-5-21-1-2-3-1000").to_cifs_sid());
    assert_eq!(
        answer(&describe("oi:0x3e8"), &plugin).unwrap(),
        answer(&describe("oi:1000"), &plugin).unwrap()
    );
}

#[test]
fn gid_zero_maps_to_builtin_administrators_bytes() {
    let plugin = FakePlugin::maps_id_to(sid("S-1-5-32-544").to_cifs_sid());
    let payload = answer(&describe("gi:0"), &plugin).unwrap();
    assert_eq!(
        &payload[..16],
        &[1, 2, 0, 0, 0, 0, 0, 5, 0x20, 0, 0, 0, 0x20, 0x02, 0, 0]
    );
}

#[test]
fn bad_ids_exit_with_the_reference_errno() {
    let plugin = FakePlugin::maps_id_to(sid("S-1-1-0").to_cifs_sid());
    for (description, code) in [
        ("oi:abc", 22),
        ("oi:-1", 75),
        ("oi:4294967296", 75),
        ("gi:1 ", 22),
    ] {
        let failure = answer(&describe(description), &plugin).unwrap_err();
        assert_eq!(failure.exit_code, code, "{description}");
    }
}

#[test]
fn descriptions_without_a_request_exit_1() {
    let plugin = FakePlugin::maps_sid_to(1, IdType::Uid);
    for description in ["xx:1", "os:", "", "gs:S-1-1-0 os:S-1-5-18", "xos:S-1-1-0"] {
        let failure = answer(&describe(description), &plugin).unwrap_err();
        assert_eq!(failure.exit_code, 1, "{description}");
    }
}

#[test]
fn unset_sid_from_a_successful_plugin_exits_0_but_negates() {
    let plugin = FakePlugin::maps_id_to([0; CIFS_SID_LEN]);
    let failure = answer(&describe("oi:12345"), &plugin).unwrap_err();
    assert_eq!(failure.exit_code, 0);
    assert_eq!(
        failure.disposition,
        Some(Disposition::Negate { timeout_secs: 60 })
    );
}

#[test]
fn a_plugin_sid_with_sixteen_sub_authorities_is_refused() {
    let mut bad = sid("S-1-5-1").to_cifs_sid();
    bad[1] = 16;
    let plugin = FakePlugin::maps_id_to(bad);
    let failure = answer(&describe("oi:1"), &plugin).unwrap_err();
    assert_eq!(failure.exit_code, 255);
}

#[test]
fn exit_byte_keeps_the_low_eight_bits_like_a_c_exit_status() {
    assert_eq!(exit_byte(-5), 251);
    assert_eq!(exit_byte(-22), 234);
    assert_eq!(exit_byte(-1), 255);
    assert_eq!(exit_byte(256), 0);
    assert_eq!(exit_byte(22), 22);
}

fn argv(words: &[&str]) -> Vec<OsString> {
    std::iter::once("cifs.idmap")
        .chain(words.iter().copied())
        .map(OsString::from)
        .collect()
}

#[test]
fn the_key_serial_and_timeout_are_read_like_the_reference() {
    assert_eq!(
        parse_command_line(argv(&["123"])),
        Ok(Command::Map {
            key: KeySerial::new(123),
            timeout: 600
        })
    );
    assert_eq!(
        parse_command_line(argv(&["-t", "0x10", "123"])),
        Ok(Command::Map {
            key: KeySerial::new(123),
            timeout: 16
        })
    );
    assert_eq!(
        parse_command_line(argv(&["123", "--timeout=0"])),
        Ok(Command::Map {
            key: KeySerial::new(123),
            timeout: 0
        })
    );
    assert_eq!(
        parse_command_line(argv(&["12abc"])),
        Ok(Command::Map {
            key: KeySerial::new(12),
            timeout: 600
        })
    );
    assert_eq!(
        parse_command_line(argv(&["4294967297"])),
        Ok(Command::Map {
            key: KeySerial::new(1),
            timeout: 600
        })
    );
}

#[test]
fn help_and_version_win_when_they_come_first() {
    assert_eq!(parse_command_line(argv(&["-h", "-x"])), Ok(Command::Help));
    assert_eq!(parse_command_line(argv(&["--vers"])), Ok(Command::Version));
    assert_eq!(
        parse_command_line(argv(&["-t", "1", "-v", "123"])),
        Ok(Command::Version)
    );
}

#[test]
fn bad_options_exit_22_or_75_and_a_missing_key_exits_1() {
    let code = |words: &[&str]| parse_command_line(argv(words)).unwrap_err().exit_code;
    assert_eq!(code(&["-t", "abc", "1"]), 22);
    assert_eq!(code(&["-t", "4294967296", "1"]), 75);
    assert_eq!(code(&["-t", "-1", "1"]), 75);
    assert_eq!(code(&["-x", "1"]), 22);
    assert_eq!(code(&["-t"]), 22);
    assert_eq!(code(&["--help=yes"]), 22);
    assert_eq!(code(&[]), 1);
    assert_eq!(code(&["-t", "5"]), 1);
    assert_eq!(code(&["99999999999999999999"]), 1);
    assert_eq!(code(&["abc"]), 1);
    let missing = parse_command_line(argv(&[])).unwrap_err();
    assert_eq!(missing.stderr, USAGE.as_bytes());
    let unknown = parse_command_line(argv(&["-x", "1"])).unwrap_err();
    assert_eq!(unknown.stderr, b"cifs.idmap: invalid option -- 'x'\n");
}

#[test]
fn every_flag_is_in_the_usage_line() {
    assert!(
        cli::undocumented(FLAGS, USAGE)
            .iter()
            .all(|spelling| spelling.starts_with("--"))
    );
    assert_eq!(cli::optstring(FLAGS), "ht:v");
}

#[test]
fn a_plugin_writable_by_group_or_others_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::env::temp_dir().join(format!("kup-cifs-idmap-plugin-check.{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let plugin = dir.join("plugin.so");
    std::fs::write(&plugin, b"not really a plugin").unwrap();
    let link = dir.join("idmap-plugin");
    std::os::unix::fs::symlink(&plugin, &link).unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o664)).unwrap();
    let refused = check_plugin(&link).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::PermissionDenied);
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o644)).unwrap();
    let running_as_root = kup_sys::process::user_ids().is_ok_and(|ids| ids.effective == kup_sys::Uid::ROOT);
    if running_as_root {
        assert_eq!(check_plugin(&link).unwrap(), plugin.canonicalize().unwrap());
    } else {
        assert!(
            check_plugin(&link).is_err(),
            "a plugin not owned by root is refused"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_debian_plugin_passes_the_ownership_check() {
    let resolved = check_plugin(std::path::Path::new(PLUGIN_PATH))
        .expect("cifs-utils installs /etc/cifs-utils/idmap-plugin (apt-get install cifs-utils)");
    assert!(resolved.starts_with("/usr/lib"), "{}", resolved.display());
}
