//! What the benchmark examples share.

use jit_core::log::{Event, EventKind};

/// The decision every benchmark log repeats: what the module records for a
/// token-backed sudo (a 32-hex token id, issuer, key id, reason, ticket,
/// approver, the revocation list version in the message), about 700 bytes
/// a line.
pub fn decision() -> Event {
    let mut e = Event::new(EventKind::Decision);
    e.user = Some("alice".into());
    e.run_as_user = Some("root".into());
    e.tty = Some("/dev/pts/3".into());
    e.command_path = Some("/usr/bin/systemctl".into());
    e.argv = Some(vec![
        "systemctl".into(),
        "restart".into(),
        "postgresql".into(),
    ]);
    e.token_id = Some("3f2a9c4be10d7785a6e2c0f4d9b81e57".into());
    e.issuer = Some("jit-signer@ops".into());
    e.kid = Some("k2026".into());
    e.token_reason = Some("config change INC-48211".into());
    e.ticket = Some("CHG-0042".into());
    e.approver = Some("carol".into());
    e.allowed = Some(true);
    e.reason_code = Some("token_ok".into());
    e.message = Some("allowed (revocation list version 7)".into());
    e.pid = Some(1_234_567);
    e
}
