//! Distribution capability flags (DFLAG_*) and the set this node offers.

#![allow(missing_docs)]

pub const PUBLISHED: u64 = 0x1;
pub const EXTENDED_REFERENCES: u64 = 0x4;
pub const DIST_MONITOR: u64 = 0x8;
pub const FUN_TAGS: u64 = 0x10;
pub const DIST_MONITOR_NAME: u64 = 0x20;
pub const NEW_FUN_TAGS: u64 = 0x80;
pub const EXTENDED_PIDS_PORTS: u64 = 0x100;
pub const EXPORT_PTR_TAG: u64 = 0x200;
pub const BIT_BINARIES: u64 = 0x400;
pub const NEW_FLOATS: u64 = 0x800;
pub const UNICODE_IO: u64 = 0x1000;
pub const SMALL_ATOM_TAGS: u64 = 0x4000;
pub const UTF8_ATOMS: u64 = 0x10000;
pub const MAP_TAG: u64 = 0x20000;
pub const BIG_CREATION: u64 = 0x40000;
pub const FRAGMENTS: u64 = 0x80_0000;
pub const HANDSHAKE_23: u64 = 0x100_0000;
pub const UNLINK_ID: u64 = 0x200_0000;
pub const MANDATORY_25_DIGEST: u64 = 0x400_0000;
pub const SPAWN: u64 = 1 << 32;
pub const V4_NC: u64 = 1 << 34;
pub const ALIAS: u64 = 1 << 35;

/// What an OTP 25 node requires of its peers (`DFLAG_DIST_MANDATORY_25`).
pub const MANDATORY_25: u64 = EXTENDED_REFERENCES
    | FUN_TAGS
    | EXTENDED_PIDS_PORTS
    | UTF8_ATOMS
    | NEW_FUN_TAGS
    | BIG_CREATION
    | NEW_FLOATS
    | MAP_TAG
    | EXPORT_PTR_TAG
    | BIT_BINARIES
    | HANDSHAKE_23;

/// What this node offers: the OTP 25 mandatory set, monitors (by pid and by name),
/// the new unlink protocol, 32-bit pid numbers, process aliases (replies to
/// `[alias | Ref]` tags go by `ALIAS_SEND`), spawn requests (the allowlist decides;
/// anything else exits with `undef`) and fragments: a message over 1 MiB goes out in
/// fragments (OTP's own are 64 KiB), and frames carry a distribution header without
/// atom cache references. No atom cache, no payload exits.
pub fn ours(hidden: bool) -> u64 {
    let base = MANDATORY_25
        | MANDATORY_25_DIGEST
        | DIST_MONITOR
        | DIST_MONITOR_NAME
        | UNICODE_IO
        | SMALL_ATOM_TAGS
        | UNLINK_ID
        | V4_NC
        | ALIAS
        | SPAWN
        | FRAGMENTS;
    if hidden {
        base
    } else {
        base | PUBLISHED
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn mandatory_mask_is_otp_25s() {
        assert_eq!(super::MANDATORY_25, 0x1070f94);
    }
}
