//! The syslog mirror: one line per record, facility authpriv, through the
//! `syslog` crate on a socket of our own.
//!
//! Deliberately not `openlog`/`syslog(3)`: the writer runs inside sudo and must
//! not change process-wide state.

use super::record::{hex, EventKind};
use std::path::Path;

/// The message part of a mirror line (what `--against-syslog` looks for).
pub fn message(log_id: &str, seq: u64, hash: &[u8; 32], kind: EventKind) -> String {
    format!(
        "jit-log v1 log={log_id} seq={seq} hash={} kind={}",
        hex(hash),
        kind.as_str()
    )
}

/// Send one mirror line through the `syslog` crate: a logger of our own on
/// `socket` (datagram, or stream where the socket is one), created and dropped
/// per record, so nothing process-wide (no `openlog`) is touched inside sudo.
pub fn mirror(
    socket: &Path,
    host: &str,
    log_id: &str,
    seq: u64,
    hash: &[u8; 32],
    kind: EventKind,
) -> std::io::Result<()> {
    let host: String = host
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    let formatter = syslog::Formatter3164 {
        facility: syslog::Facility::LOG_AUTHPRIV,
        hostname: Some(host),
        process: "jit-log".into(),
        pid: std::process::id(),
    };
    let err = |e: syslog::Error| std::io::Error::other(e.to_string());
    let mut logger = syslog::unix_custom(formatter, socket).map_err(err)?;
    logger.info(message(log_id, seq, hash, kind)).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn mirror_line_is_authpriv_info_with_the_anchor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let rx = UnixDatagram::bind(&path).unwrap();
        mirror(
            &path,
            "web-01",
            "ab".repeat(16).as_str(),
            7,
            &[0x11; 32],
            EventKind::Decision,
        )
        .unwrap();
        let mut buf = [0u8; 1024];
        let n = rx.recv(&mut buf).unwrap();
        let line = std::str::from_utf8(&buf[..n]).unwrap();
        // Priority 86 = facility authpriv (10) * 8 + severity info (6).
        assert!(line.starts_with("<86>"), "{line}");
        assert!(line.contains(" web-01 jit-log["), "{line}");
        assert!(
            line.ends_with(&message(
                &"ab".repeat(16),
                7,
                &[0x11; 32],
                EventKind::Decision
            )),
            "{line}"
        );
        // No listener: an error for the caller, never a panic.
        drop(rx);
        assert!(mirror(&path, "web-01", "x", 8, &[0; 32], EventKind::Decision).is_err());
    }
}
