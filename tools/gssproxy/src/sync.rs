//! What `INIT_SEC_CONTEXT` and `ACCEPT_SEC_CONTEXT` take from the call besides the token, as
//! gssproxy 0.9.1 does (spec gssproxy-config.md §6.4, gssproxy-protocol.md §2.4, §5.4):
//!
//! - Channel bindings (`input_cb`) go to MIT as they came, the 64-bit address types cut to the
//!   library's 32 bits (the reference assigns them to `OM_uint32`).
//! - Client ccache sync: when the service has `allow_client_ccache_sync`, keeps no `ccache` in
//!   its `cred_store`, and the call carries the option `sync_modified_creds\0` = `default\0`
//!   (both NULs inside the lengths; the interposer sends it on every `INIT_SEC_CONTEXT`), the
//!   credential's tickets are counted before and after the GSS call (the credential written into
//!   a throw-away `MEMORY:` ccache with `gss_store_cred_into`, initiator usage, and its entries
//!   counted: an acceptor-only credential counts 0). If the counts differ (a service ticket was
//!   added to a credential whose tickets travel inside its handle), the result gets the option
//!   `sync_creds\0` whose value is the XDR `gssx_cred` of the credential as `ACQUIRE_CRED` would
//!   describe it, a fresh sealed handle included, so the interposer can store it in the
//!   client's ccache. Any failure here only leaves the option out, as in the reference. A call
//!   without a credential handle counts 0 before (the reference's `gccn_before`).

use std::ops::ControlFlow;

use kup_gss::gss::{ChannelBindings, CredUsage, Credential, Mech};
use kup_gss::krb5;
use kup_gssx::gssx::{Cb, GssxOption, Xdr as _, find_option};
use kup_gssx::xdr::Encoder;

use crate::config::ServiceConfig;

/// The call option asking for a sync (`CRED_SYNC_OPTION` in the reference, with its NUL).
pub const SYNC_MODIFIED_CREDS: &[u8] = b"sync_modified_creds\0";
/// Its one value the reference acts on.
pub const SYNC_DEFAULT: &[u8] = b"default\0";
/// The result option carrying the credential.
pub const SYNC_CREDS: &[u8] = b"sync_creds\0";
/// The longest credential the reference encodes into the option (`GPKRB_MAX_CRED_SIZE`).
const MAX_SYNC_CRED: usize = 512 * 1024;

/// The library's channel bindings of a call's `gssx_cb`.
#[must_use]
pub fn channel_bindings(cb: &Cb) -> ChannelBindings {
    let low = |value: u64| u32::try_from(value & u64::from(u32::MAX)).unwrap_or(0);
    ChannelBindings {
        initiator_addrtype: low(cb.initiator_addrtype),
        initiator_address: cb.initiator_address.clone(),
        acceptor_addrtype: low(cb.acceptor_addrtype),
        acceptor_address: cb.acceptor_address.clone(),
        application_data: cb.application_data.clone(),
    }
}

/// A `time_req` from the wire (64 bits; the library's are 32, the high bits dropped as the
/// reference's assignment drops them).
#[must_use]
pub fn time_req(value: u64) -> u32 {
    u32::try_from(value & u64::from(u32::MAX)).unwrap_or(0)
}

/// Whether `service` syncs for a call with `options`: the option is allowed, asked for, and
/// the service keeps no ccache of its own.
#[must_use]
pub fn wanted(service: &ServiceConfig, options: &[GssxOption]) -> bool {
    service.resolved.service.allow_client_ccache_sync
        && find_option(options, SYNC_MODIFIED_CREDS) == Some(SYNC_DEFAULT)
        && !service.cred_store.iter().any(|(key, _)| key == "ccache")
}

/// The number of tickets in `credential` when a sync is `wanted` (0 otherwise, and on any
/// failure, as the reference's count).
#[must_use]
pub fn ticket_count(wanted: bool, credential: &Credential) -> u32 {
    if !wanted {
        return 0;
    }
    let Ok(context) = krb5::Context::new() else {
        return 0;
    };
    let Ok(ccache) = context.new_memory_ccache() else {
        return 0;
    };
    let Ok(name) = ccache.full_name() else {
        return 0;
    };
    if credential
        .store_into(CredUsage::Initiate, Mech::Krb5, &[("ccache".to_owned(), name)])
        .is_err()
    {
        return 0;
    }
    let mut count = 0u32;
    let walked = ccache.for_each_credential(|_| {
        count = count.saturating_add(1);
        ControlFlow::Continue(())
    });
    if walked.is_err() {
        return 0;
    }
    count
}

/// The `sync_creds\0` option for `credential` when the counts `before` and `after` differ;
/// `None` when they do not or the credential cannot be described.
#[must_use]
pub fn option(
    before: u32,
    after: u32,
    credential: &Credential,
    service: &ServiceConfig,
) -> Option<GssxOption> {
    if before == after {
        return None;
    }
    let cred = crate::interposer::describe_cred(credential, service).ok()?;
    let mut encoder = Encoder::new(MAX_SYNC_CRED);
    cred.encode(&mut encoder);
    Some(GssxOption {
        option: SYNC_CREDS.to_vec(),
        value: encoder.finish().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_types_keep_their_low_32_bits() {
        let cb = Cb {
            initiator_addrtype: 0x1_0000_0002,
            initiator_address: vec![127, 0, 0, 1],
            acceptor_addrtype: 255,
            acceptor_address: Vec::new(),
            application_data: b"tls-server-end-point:x".to_vec(),
        };
        let bindings = channel_bindings(&cb);
        assert_eq!(bindings.initiator_addrtype, 2);
        assert_eq!(bindings.acceptor_addrtype, 255);
        assert_eq!(bindings.initiator_address, [127, 0, 0, 1]);
        assert_eq!(bindings.application_data, cb.application_data);
        assert_eq!(time_req(0x1_0000_0258), 600);
        assert_eq!(time_req(u64::MAX), u32::MAX);
    }
}
