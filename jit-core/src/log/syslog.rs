//! The syslog mirror: one line per record, facility authpriv, through the
//! `syslog` crate on a socket of our own.
//!
//! Deliberately not `openlog`/`syslog(3)`: the writer runs inside sudo and must
//! not change process-wide state.
//!
//! Lines go to a local daemon in the shape glibc's `syslog(3)` gives them,
//! less the timestamp: `<PRI>jit-log[PID]: MESSAGE`. The daemon adds the time
//! and the host name. journald and rsyslog ignore a timestamp that comes from
//! a local socket anyway, syslog-ng would take it (a UTC one, as the `syslog`
//! crate's RFC 3164 formatter writes, is then read as local time), and the
//! crate's formatter also put our host name before the tag, where journald
//! takes it for the identifier: the tag ended up in the message and
//! `journalctl -t jit-log` found nothing. Writing the line ourselves also
//! spares every record the formatter's run-time parse of its time format.

use super::record::{hex, EventKind, Record};
use std::path::Path;

/// The socket used when none is configured (and when the configuration
/// could not be read).
pub const DEFAULT_SOCKET: &str = "/dev/log";

/// The message part of a mirror line (what `--against-syslog` looks for).
pub fn message(log_id: &str, seq: u64, hash: &[u8; 32], kind: EventKind) -> String {
    format!(
        "jit-log v1 log={log_id} seq={seq} hash={} kind={}",
        hex(hash),
        kind.as_str()
    )
}

/// One mirror line to send.
pub struct Mirror<'a> {
    /// The log's id (hex).
    pub log_id: &'a str,
    /// The record's seq.
    pub seq: u64,
    /// The record's hash.
    pub hash: &'a [u8; 32],
    /// The record's kind.
    pub kind: EventKind,
    /// For a break-glass record: the text appended after the anchor, and the
    /// line is sent at severity emerg instead of info.
    pub alert: Option<&'a str>,
}

/// Only printable ASCII reaches syslog; anything else becomes `_`.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect()
}

/// The alert text of a break-glass decision record (`None` for any other
/// record; session records of a break-glass sudo are not re-alerted):
/// `BREAK-GLASS allowed=yes user=U run_as=R token=CTI`, every value reduced
/// to printable ASCII without spaces, so the anchor before it still parses.
pub(crate) fn break_glass_alert(r: &Record<'_>) -> Option<String> {
    if r.break_glass != Some(true) || r.kind != EventKind::Decision {
        return None;
    }
    let v = |o: &Option<std::borrow::Cow<'_, str>>| clean(o.as_deref().unwrap_or("-"));
    let allowed = match r.allowed {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    };
    Some(format!(
        "BREAK-GLASS allowed={allowed} user={} run_as={} token={} needs_review=yes",
        v(&r.user),
        v(&r.run_as_user),
        v(&r.token_id)
    ))
}

/// Send one mirror line through the `syslog` crate: a logger of our own on
/// `socket` (datagram, or stream where the socket is one), created and dropped
/// per record, so nothing process-wide (no `openlog`) is touched inside sudo.
/// Break-glass records go out at authpriv.emerg, everything else at
/// authpriv.info.
pub fn mirror(socket: &Path, m: &Mirror<'_>) -> std::io::Result<()> {
    let mut logger = logger(socket)?;
    let anchor = message(m.log_id, m.seq, m.hash, m.kind);
    match m.alert {
        Some(a) => logger.emerg(format!("{anchor} {a}")).map_err(err),
        None => logger.info(anchor).map_err(err),
    }
}

type Logger = syslog::Logger<syslog::LoggerBackend, LocalFormat>;

/// `<PRI>jit-log[PID]: MESSAGE` with facility authpriv (see the module's
/// documentation), written with one `write!`, which the crate's datagram
/// backend sends as one datagram.
struct LocalFormat {
    pid: u32,
}

impl<T: std::fmt::Display> syslog::LogFormat<T> for LocalFormat {
    fn format<W: std::io::Write>(
        &self,
        w: &mut W,
        severity: syslog::Severity,
        message: T,
    ) -> syslog::Result<()> {
        let pri = syslog::Facility::LOG_AUTHPRIV as u8 | severity as u8;
        write!(w, "<{pri}>jit-log[{}]: {message}", self.pid).map_err(syslog::Error::Write)
    }
}

fn err(e: syslog::Error) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// How long one line may wait for room in the syslog daemon's queue. The
/// writer runs inside sudo: a stalled daemon must cost a lost mirror line
/// (reported by the caller), not a sudo that never returns.
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(250);

/// A logger of our own on `socket` (datagram, or stream where the socket is
/// one), facility authpriv, tag `jit-log[PID]`, for one line, whose sends
/// give up after [`SEND_TIMEOUT`].
fn logger(socket: &Path) -> std::io::Result<Logger> {
    let formatter = LocalFormat {
        pid: std::process::id(),
    };
    let logger = syslog::unix_custom(formatter, socket).map_err(err)?;
    match &logger.backend {
        syslog::LoggerBackend::Unix(s) => s.set_write_timeout(Some(SEND_TIMEOUT))?,
        syslog::LoggerBackend::UnixStream(s) => {
            s.get_ref().set_write_timeout(Some(SEND_TIMEOUT))?
        }
        // unix_custom makes no other kind.
        _ => return Err(std::io::Error::other("unexpected syslog backend")),
    }
    Ok(logger)
}

/// An event the audit log could not take: the configuration or the module
/// arguments are unusable (there is no log to write to), or the append
/// failed. The module still answers (a denial, or for a session end nothing
/// more can be done), and this line at authpriv.err is the trace left
/// behind. It is not an anchor: `--against-syslog` ignores it.
pub struct Unrecorded<'a> {
    /// `decision`, `session_open` or `session_close`.
    pub event: &'a str,
    /// The answer given (`false` for every denial).
    pub allowed: bool,
    /// Machine reason: `config_unusable`, `module_args_invalid`,
    /// `audit_log_unwritable`.
    pub reason: &'a str,
    /// The invoking user's name, when known.
    pub user: Option<&'a str>,
    /// The invoking user's real uid.
    pub uid: u32,
    /// The command, when known.
    pub command: Option<&'a str>,
    /// Why, in words (the error).
    pub detail: &'a str,
}

/// Longest detail text sent, in bytes (syslog daemons cut lines near 1 KiB
/// or 2 KiB; the fixed part before it stays under 400 bytes).
const DETAIL_MAX: usize = 480;

/// The message part of an [`Unrecorded`] line: fixed `key=value` words of
/// printable ASCII without spaces, then `: ` and the detail with control
/// characters replaced by `_` and cut at [`DETAIL_MAX`] bytes.
pub fn unrecorded_message(u: &Unrecorded<'_>) -> String {
    let mut detail: String = u
        .detail
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    if detail.len() > DETAIL_MAX {
        let mut end = DETAIL_MAX;
        while !detail.is_char_boundary(end) {
            end -= 1;
        }
        detail.truncate(end);
        detail.push_str("...");
    }
    let word = |s: &str| {
        let mut w = clean(s);
        w.truncate(128);
        w
    };
    format!(
        "jit-unrecorded v1 event={} allowed={} reason={} user={} uid={} command={}: {detail}",
        word(u.event),
        if u.allowed { "yes" } else { "no" },
        word(u.reason),
        word(u.user.unwrap_or("-")),
        u.uid,
        word(u.command.unwrap_or("-")),
    )
}

/// Send an [`Unrecorded`] line at authpriv.err on `socket`, the same way as
/// [`mirror`] (a logger of our own, nothing process-wide touched).
pub fn unrecorded(socket: &Path, u: &Unrecorded<'_>) -> std::io::Result<()> {
    logger(socket)?.err(unrecorded_message(u)).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    /// A decision record's mirror line for log `id`, seq 7.
    fn sample(id: &str) -> Mirror<'_> {
        Mirror {
            log_id: id,
            seq: 7,
            hash: &[0x11; 32],
            kind: EventKind::Decision,
            alert: None,
        }
    }

    #[test]
    fn mirror_line_is_authpriv_info_with_the_anchor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let rx = UnixDatagram::bind(&path).unwrap();
        let id = "ab".repeat(16);
        let m = sample(&id);
        mirror(&path, &m).unwrap();
        let mut buf = [0u8; 1024];
        let n = rx.recv(&mut buf).unwrap();
        let line = std::str::from_utf8(&buf[..n]).unwrap();
        // Priority 86 = facility authpriv (10) * 8 + severity info (6); the
        // tag first, as syslog(3) sends it to a local daemon.
        assert_eq!(
            line,
            format!(
                "<86>jit-log[{}]: {}",
                std::process::id(),
                message(&"ab".repeat(16), 7, &[0x11; 32], EventKind::Decision)
            )
        );
        // A break-glass record: severity emerg, the anchor still parses.
        let bg = Mirror {
            alert: Some("BREAK-GLASS allowed=yes user=alice run_as=root token=00 needs_review=yes"),
            ..m
        };
        mirror(&path, &bg).unwrap();
        let n = rx.recv(&mut buf).unwrap();
        let line = std::str::from_utf8(&buf[..n]).unwrap();
        // Priority 80 = authpriv (10) * 8 + emerg (0).
        assert!(line.starts_with("<80>"), "{line}");
        assert!(
            line.contains("BREAK-GLASS allowed=yes user=alice"),
            "{line}"
        );
        let anchors = super::super::verify::parse_syslog(line.as_bytes());
        assert_eq!(anchors.len(), 1);
        assert_eq!(anchors[0].seq, 7);
        // No listener: an error for the caller, never a panic.
        drop(rx);
        assert!(mirror(&path, &m).is_err());
    }

    #[test]
    fn unrecorded_line_is_authpriv_err_sanitised_and_not_an_anchor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let rx = UnixDatagram::bind(&path).unwrap();
        let long = "x".repeat(2000);
        let u = Unrecorded {
            event: "decision",
            allowed: false,
            reason: "config_unusable",
            user: Some("al ice\n<0>"),
            uid: 1000,
            command: Some("/usr/bin/id -u"),
            detail: "/etc/security/pam_jit.conf: line 3\nunknown key `lgo`",
        };
        unrecorded(&path, &u).unwrap();
        let mut buf = [0u8; 4096];
        let n = rx.recv(&mut buf).unwrap();
        let line = std::str::from_utf8(&buf[..n]).unwrap();
        // Priority 83 = facility authpriv (10) * 8 + severity err (3).
        assert!(
            line.starts_with(&format!(
                "<83>jit-log[{}]: jit-unrecorded v1 ",
                std::process::id()
            )),
            "{line}"
        );
        assert!(line.ends_with(
            "jit-unrecorded v1 event=decision allowed=no reason=config_unusable user=al_ice_<0> \
             uid=1000 command=/usr/bin/id_-u: /etc/security/pam_jit.conf: line 3_unknown key `lgo`"
        ), "{line}");
        assert!(super::super::verify::parse_syslog(line.as_bytes()).is_empty());
        // A long or multi-byte detail is cut on a character boundary.
        let d = format!("{}é{long}", "y".repeat(DETAIL_MAX - 1));
        let m = unrecorded_message(&Unrecorded { detail: &d, ..u });
        assert!(
            m.ends_with(&format!(": {}...", "y".repeat(DETAIL_MAX - 1))),
            "{m}"
        );
        drop(rx);
        assert!(unrecorded(&path, &u).is_err());
    }

    #[test]
    fn a_daemon_that_does_not_read_costs_a_line_not_a_hang() {
        // A listener that never reads: once its queue is full a send waits
        // SEND_TIMEOUT at most, then fails (the caller reports it).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let _rx = UnixDatagram::bind(&path).unwrap();
        let id = "ab".repeat(16);
        let m = sample(&id);
        let failed = (0..100_000).find_map(|_| mirror(&path, &m).err());
        let e = failed.expect("the queue never filled");
        assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) || e.to_string().contains("temporarily unavailable")
                || e.to_string().contains("timed out"),
            "{e:?}"
        );
    }

    #[test]
    fn break_glass_alert_only_for_break_glass_records_and_is_sanitised() {
        let mut r = Record::new(EventKind::SessionOpen);
        r.break_glass = Some(true);
        assert_eq!(break_glass_alert(&r), None);
        let mut r = Record::new(EventKind::Decision);
        assert_eq!(break_glass_alert(&r), None);
        r.break_glass = Some(true);
        r.allowed = Some(false);
        r.user = Some("al ice\n<0>".into());
        let a = break_glass_alert(&r).unwrap();
        assert_eq!(
            a,
            "BREAK-GLASS allowed=no user=al_ice_<0> run_as=- token=- needs_review=yes"
        );
        assert!(!a.contains('\n'));
    }
}
