//! The syslog mirror: one datagram per record on a socket of our own.
//!
//! Deliberately not `openlog`/`syslog(3)`: the writer runs inside sudo and must
//! not change process-wide state.

use super::record::{hex, EventKind};
use std::os::unix::net::UnixDatagram;
use std::path::Path;

/// Priority: facility authpriv (10) * 8 + severity info (6).
pub const PRI: u32 = 86;

/// The message part of a mirror line (what `--against-syslog` looks for).
pub fn message(log_id: &str, seq: u64, hash: &[u8; 32], kind: EventKind) -> String {
    format!(
        "jit-log v1 log={log_id} seq={seq} hash={} kind={}",
        hex(hash),
        kind.as_str()
    )
}

/// Send one mirror line.
pub fn mirror(
    socket: &Path,
    host: &str,
    log_id: &str,
    seq: u64,
    hash: &[u8; 32],
    kind: EventKind,
) -> std::io::Result<()> {
    let fmt = time::macros::format_description!(
        "[month repr:short] [day padding:space] [hour]:[minute]:[second]"
    );
    let ts = time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_else(|_| "Jan  1 00:00:00".to_string());
    let host: String = host
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    let line = format!(
        "<{PRI}>{ts} {host} jit-log[{}]: {}",
        std::process::id(),
        message(log_id, seq, hash, kind)
    );
    let s = UnixDatagram::unbound()?;
    s.send_to(line.as_bytes(), socket)?;
    Ok(())
}
