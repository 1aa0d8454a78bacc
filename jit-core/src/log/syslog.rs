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

/// The anchor part of a mirror line: `jit-log v1 log=LOGID seq=SEQ
/// hash=HASH kind=KIND` (what `--against-syslog` looks for first).
pub fn message(log_id: &str, seq: u64, hash: &[u8; 32], kind: EventKind) -> String {
    format!(
        "jit-log v1 log={log_id} seq={seq} hash={} kind={}",
        hex(hash),
        kind.as_str()
    )
}

/// Longest mirror message sent with its record, in bytes: the anchor, the
/// alert, and ` rec=RECORD` or ` rec64=BASE64` together. rsyslog's default
/// `maxMessageSize` is 8 KiB for the whole message; about 1 KiB is left for
/// what the daemons put before it (priority, time stamp, host name up to 255
/// bytes, tag). A longer message is sent as the anchor, the alert and
/// ` rec-omitted=BYTES` instead (docs/log-format.md, "Syslog mirror").
pub const MESSAGE_MAX: usize = 7168;

/// The record part of a mirror line for `record` (the log's line, with or
/// without its `\n`): ` rec=` and the line itself when it holds no byte a
/// syslog daemon rewrites (a record never holds `\n` or another C0 control
/// character, serde_json escapes them; it may hold DEL, 0x7F, which rsyslog
/// turns into `#177`), else ` rec64=` and the line in standard base64 with
/// padding.
pub fn record_part(record: &[u8]) -> String {
    let r = record.strip_suffix(b"\n").unwrap_or(record);
    match std::str::from_utf8(r) {
        Ok(t) if !r.iter().any(|&b| b < 0x20 || b == 0x7f) => format!(" rec={t}"),
        _ => {
            use base64::Engine as _;
            format!(
                " rec64={}",
                base64::engine::general_purpose::STANDARD.encode(r)
            )
        }
    }
}

/// The whole message of a mirror line: the anchor, then the break-glass
/// alert if any, then the record ([`record_part`]), or ` rec-omitted=BYTES`
/// (the line's length without its `\n`) when the message would exceed
/// [`MESSAGE_MAX`].
pub fn full_message(m: &Mirror<'_>) -> String {
    let mut out = message(m.log_id, m.seq, m.hash, m.kind);
    if let Some(a) = m.alert {
        out.push(' ');
        out.push_str(a);
    }
    if let Some(record) = m.record {
        let part = record_part(record);
        if out.len() + part.len() <= MESSAGE_MAX {
            out.push_str(&part);
        } else {
            let n = record.strip_suffix(b"\n").unwrap_or(record).len();
            out.push_str(&format!(" rec-omitted={n}"));
        }
    }
    out
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
    /// The record's line as the log holds it (sent whole, see
    /// [`full_message`]); `None` sends the anchor alone.
    pub record: Option<&'a [u8]>,
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
    let line = full_message(m);
    match m.alert {
        Some(_) => logger.emerg(line).map_err(err),
        None => logger.info(line).map_err(err),
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

/// The record a mirror line carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MirrorRecord {
    /// The record's line, without its `\n` (decoded from `rec64=`).
    Whole(Vec<u8>),
    /// `rec-omitted=BYTES`: the record was too long for a syslog line.
    Omitted(usize),
    /// An anchor-only line (a writer before records were mirrored whole).
    Absent,
}

/// One parsed mirror line (see [`parse_mirror_line`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorLine<'a> {
    /// The host name the collector put before the tag, when the prefix has
    /// the shape `... HOST jit-log[PID]:`.
    pub host: Option<&'a str>,
    /// The log's id (as sent: 32 hex digits by a real writer).
    pub log_id: &'a str,
    /// The record's seq.
    pub seq: u64,
    /// The record's hash.
    pub hash: [u8; 32],
    /// The record's kind (as sent).
    pub kind: &'a str,
    /// The line carries a break-glass alert.
    pub break_glass: bool,
    /// The record.
    pub record: MirrorRecord,
}

/// Why a line that holds the mirror marker is not a valid mirror line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MirrorLineError {
    /// `log=`, `seq=`, `hash=` or `kind=` is missing or malformed.
    BadAnchor,
    /// `rec64=` is not valid base64, or `rec-omitted=` not a number.
    BadRecord,
}

/// The marker that starts a mirror message.
pub const MARKER: &str = "jit-log v1 log=";

/// Parse one line of a collector's file (or of any syslog file): `None` when
/// it holds no [`MARKER`]; else the mirror line it holds. Pure: nothing is
/// checked against a log. The first marker counts (what follows it comes from
/// the writer, what precedes it from the daemons); the record is everything
/// after the first word starting with `rec=` (to the end of the line, a
/// trailing `\r` or `\n` excepted), so a record that itself holds
/// syslog-looking text or another marker is taken whole. The caller checks
/// the record against the anchor (its framed hash is `hash`).
pub fn parse_mirror_line(line: &[u8]) -> Option<Result<MirrorLine<'_>, MirrorLineError>> {
    let m = match parse_mirror_line_ref(line)? {
        Ok(m) => m,
        Err(e) => return Some(Err(e)),
    };
    let record = match m.record {
        MirrorRecordRef::Text(r) => MirrorRecord::Whole(r.to_vec()),
        MirrorRecordRef::Base64(r) => match decode64(r) {
            Some(d) => MirrorRecord::Whole(d),
            None => return Some(Err(MirrorLineError::BadRecord)),
        },
        MirrorRecordRef::Omitted(n) => MirrorRecord::Omitted(n),
        MirrorRecordRef::Absent => MirrorRecord::Absent,
    };
    Some(Ok(MirrorLine {
        host: m.host,
        log_id: m.log_id,
        seq: m.seq,
        hash: m.hash,
        kind: m.kind,
        break_glass: m.break_glass,
        record,
    }))
}

/// The record of a mirror line as it stands in the line (see
/// [`parse_mirror_line_ref`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MirrorRecordRef<'a> {
    /// `rec=`: the record's line, without its `\n`.
    Text(&'a [u8]),
    /// `rec64=`: the record's line in base64 (syntax not yet checked:
    /// [`decode64`] says whether it decodes).
    Base64(&'a [u8]),
    /// `rec-omitted=BYTES`.
    Omitted(usize),
    /// An anchor-only line.
    Absent,
}

/// A mirror line parsed without copying its record ([`parse_mirror_line`]
/// copies and decodes it): for readers of whole collector trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MirrorLineRef<'a> {
    /// As [`MirrorLine::host`].
    pub host: Option<&'a str>,
    /// As [`MirrorLine::log_id`].
    pub log_id: &'a str,
    /// The record's seq.
    pub seq: u64,
    /// The record's hash.
    pub hash: [u8; 32],
    /// The record's kind (as sent).
    pub kind: &'a str,
    /// The line carries a break-glass alert.
    pub break_glass: bool,
    /// The record, as it stands in the line.
    pub record: MirrorRecordRef<'a>,
}

/// [`parse_mirror_line`] without copying the record: `rec=` is borrowed from
/// the line and `rec64=` left encoded ([`decode64`]). `rec-omitted=` that is
/// not a number is [`MirrorLineError::BadRecord`], as there.
pub fn parse_mirror_line_ref(line: &[u8]) -> Option<Result<MirrorLineRef<'_>, MirrorLineError>> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let p = memchr::memmem::find(line, MARKER.as_bytes())?;
    Some(parse_at(line, p))
}

/// Decode a `rec64=` value (standard base64 with padding).
pub fn decode64(r: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(r).ok()
}

fn parse_at(line: &[u8], p: usize) -> Result<MirrorLineRef<'_>, MirrorLineError> {
    use MirrorLineError::*;
    // The prefix: `... HOST jit-log[PID]:`.
    let host = std::str::from_utf8(&line[..p]).ok().and_then(|pre| {
        let mut w = pre.split_ascii_whitespace().rev();
        let tag = w.next()?;
        (tag.starts_with("jit-log") && tag.ends_with(':'))
            .then(|| w.next())
            .flatten()
    });
    let rest = &line[p + "jit-log v1 ".len()..];
    // The anchor and alert words are printable ASCII; the record is the
    // tail after the first `rec=`/`rec64=`/`rec-omitted=` word.
    let mut words: [&[u8]; 5] = [b""; 5];
    let mut nwords = 0;
    let mut record = MirrorRecordRef::Absent;
    let mut i = 0;
    while i < rest.len() {
        let end = memchr::memchr(b' ', &rest[i..]).map_or(rest.len(), |e| i + e);
        let w = &rest[i..end];
        if w.starts_with(b"rec=") {
            record = MirrorRecordRef::Text(&rest[i + 4..]);
            break;
        }
        if let Some(r) = w.strip_prefix(b"rec64=") {
            record = MirrorRecordRef::Base64(r);
            break;
        }
        if let Some(r) = w.strip_prefix(b"rec-omitted=") {
            let n = std::str::from_utf8(r)
                .ok()
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or(BadRecord)?;
            record = MirrorRecordRef::Omitted(n);
            break;
        }
        if nwords < words.len() {
            words[nwords] = w;
        }
        nwords += 1;
        i = end + 1;
    }
    let words = &words[..nwords.min(5)];
    fn text<'l>(w: Option<&&'l [u8]>, key: &str) -> Result<&'l str, MirrorLineError> {
        w.and_then(|w| std::str::from_utf8(w).ok())
            .and_then(|w| w.strip_prefix(key))
            .filter(|v| !v.is_empty())
            .ok_or(MirrorLineError::BadAnchor)
    }
    let log_id = text(words.first(), "log=")?;
    let seq = text(words.get(1), "seq=")?
        .parse::<u64>()
        .map_err(|_| BadAnchor)?;
    let hash = text(words.get(2), "hash=")
        .ok()
        .and_then(|h| super::record::unhex::<32>(h.as_bytes()))
        .ok_or(BadAnchor)?;
    let kind = text(words.get(3), "kind=")?;
    let break_glass = words.get(4).is_some_and(|w| *w == b"BREAK-GLASS");
    Ok(MirrorLineRef {
        host,
        log_id,
        seq,
        hash,
        kind,
        break_glass,
        record,
    })
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
            record: None,
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

    /// A record line in the log's shape for seq 7 with `user` (JSON-escaped
    /// as serde_json writes it), hash 0x11.., with its `\n`.
    fn record_line(user: &str) -> Vec<u8> {
        let u = serde_json::to_string(user).unwrap();
        format!(
            "{{\"v\":1,\"seq\":7,\"time\":\"2026-12-06T14:00:00.000000Z\",\"host\":\"db-01\",\"kind\":\"decision\",\"user\":{u},\"prev\":\"{}\",\"hash\":\"{}\",\"seal\":\"{}\"}}\n",
            "00".repeat(32),
            "11".repeat(32),
            "22".repeat(32)
        )
        .into_bytes()
    }

    #[test]
    fn whole_record_round_trips_through_a_collector_line() {
        let id = "ab".repeat(16);
        // A user name that looks like syslog structure, another mirror line
        // and a record marker, with a newline and a NUL.
        let evil = "x jit-log[1]: jit-log v1 log=ffffffffffffffffffffffffffffffff seq=9 hash=00 kind=decision rec={}\n<0>Dec  1 evil jit-log[2]: \u{0}é";
        let rec = record_line(evil);
        let m = Mirror {
            record: Some(&rec),
            ..sample(&id)
        };
        let msg = full_message(&m);
        // One line, the record as the log holds it after ` rec=`.
        assert!(!msg.contains('\n'), "{msg}");
        assert!(msg.starts_with(&format!(
            "jit-log v1 log={id} seq=7 hash={} kind=decision rec={{\"v\":1,",
            "11".repeat(32)
        )));
        assert!(msg.ends_with("\"}"), "{msg}");
        for prefix in [
            "Dec  6 14:00:00 db-01 jit-log[4242]: ",
            "2026-12-06T14:00:00.123456+00:00 db-01 jit-log[4242]: ",
            "2026-12-06T14:00:00.123456+00:00 db-01 jit-log[4242]:",
        ] {
            let line = format!("{prefix}{msg}\n");
            let p = parse_mirror_line(line.as_bytes()).unwrap().unwrap();
            assert_eq!(p.host, Some("db-01"));
            assert_eq!(p.log_id, id);
            assert_eq!(p.seq, 7);
            assert_eq!(p.hash, [0x11; 32]);
            assert_eq!(p.kind, "decision");
            assert!(!p.break_glass);
            assert_eq!(p.record, MirrorRecord::Whole(rec[..rec.len() - 1].to_vec()));
        }
        // The bare message: no host.
        let p = parse_mirror_line(msg.as_bytes()).unwrap().unwrap();
        assert_eq!(p.host, None);
        assert_eq!(p.record, MirrorRecord::Whole(rec[..rec.len() - 1].to_vec()));
        // A line that is not ours.
        assert_eq!(parse_mirror_line(b"Dec  6 db-01 sshd[1]: hello"), None);
    }

    #[test]
    fn a_record_with_del_goes_as_base64_and_decodes_exactly() {
        let id = "ab".repeat(16);
        let rec = record_line("del\u{7f}here");
        assert!(rec.contains(&0x7f));
        let m = Mirror {
            record: Some(&rec),
            ..sample(&id)
        };
        let msg = full_message(&m);
        assert!(msg.contains(" rec64="), "{msg}");
        assert!(msg.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
        let p = parse_mirror_line(msg.as_bytes()).unwrap().unwrap();
        assert_eq!(p.record, MirrorRecord::Whole(rec[..rec.len() - 1].to_vec()));
    }

    #[test]
    fn a_record_over_the_limit_sends_the_anchor_and_its_length() {
        let id = "ab".repeat(16);
        let rec = record_line(&"u".repeat(MESSAGE_MAX));
        let m = Mirror {
            record: Some(&rec),
            ..sample(&id)
        };
        let msg = full_message(&m);
        assert_eq!(
            msg,
            format!(
                "{} rec-omitted={}",
                message(&id, 7, &[0x11; 32], EventKind::Decision),
                rec.len() - 1
            )
        );
        let p = parse_mirror_line(msg.as_bytes()).unwrap().unwrap();
        assert_eq!(p.record, MirrorRecord::Omitted(rec.len() - 1));
        // At the limit exactly: sent whole.
        let short = record_line("u");
        let fixed = full_message(&Mirror {
            record: Some(&short),
            ..sample(&id)
        })
        .len()
            - (short.len() - 1);
        let pad = MESSAGE_MAX - fixed - (short.len() - 1);
        let rec = record_line(&"u".repeat(1 + pad));
        let msg = full_message(&Mirror {
            record: Some(&rec),
            ..sample(&id)
        });
        assert_eq!(msg.len(), MESSAGE_MAX);
        assert!(msg.contains(" rec={"));
    }

    #[test]
    fn break_glass_alert_sits_before_the_record_and_cannot_fake_it() {
        let id = "ab".repeat(16);
        let mut r = Record::new(EventKind::Decision);
        r.break_glass = Some(true);
        r.allowed = Some(true);
        r.user = Some("a rec={\"v\":1} rec64=AAAA".into());
        let alert = break_glass_alert(&r).unwrap();
        let rec = record_line("a rec={\"v\":1} rec64=AAAA");
        let msg = full_message(&Mirror {
            alert: Some(&alert),
            record: Some(&rec),
            ..sample(&id)
        });
        let p = parse_mirror_line(msg.as_bytes()).unwrap().unwrap();
        assert!(p.break_glass);
        assert_eq!(p.record, MirrorRecord::Whole(rec[..rec.len() - 1].to_vec()));
    }

    #[test]
    fn any_record_bytes_round_trip_or_are_omitted_with_their_length() {
        // Pseudo-random records over an alphabet heavy in what could break
        // a line: spaces, markers' letters, `=`, control bytes, DEL, `\r`,
        // non-UTF-8; the `\n` a record never holds excepted.
        let id = "ab".repeat(16);
        let alphabet: &[u8] = b" =rec64-omitted{}\"\\jitlogv1[]:<>\r\t\x00\x7f\xc3\xa9\xff#aZ";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..3000 {
            let len = match round % 10 {
                0 => (next() % 9000) as usize,
                _ => (next() % 200) as usize,
            };
            let rec: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let alert =
                (round % 7 == 0).then_some("BREAK-GLASS allowed=yes user=rec=x needs_review=yes");
            let msg = full_message(&Mirror {
                alert,
                record: Some(&rec),
                ..sample(&id)
            });
            assert!(msg.len() <= MESSAGE_MAX || msg.contains(" rec-omitted="));
            for prefix in ["", "Dec  6 14:00:00 h jit-log[1]: "] {
                let line = format!("{prefix}{msg}\n");
                let p = parse_mirror_line(line.as_bytes()).unwrap().unwrap();
                assert_eq!(p.seq, 7);
                assert_eq!(p.break_glass, alert.is_some());
                match p.record {
                    MirrorRecord::Whole(r) => assert_eq!(r, rec, "round {round}"),
                    MirrorRecord::Omitted(n) => {
                        assert_eq!(n, rec.len());
                        // Omitted only when the whole form is over the limit.
                        let whole =
                            msg.len() - format!(" rec-omitted={n}").len() + record_part(&rec).len();
                        assert!(whole > MESSAGE_MAX, "round {round}");
                    }
                    MirrorRecord::Absent => panic!("round {round}: no record"),
                }
            }
        }
    }

    #[test]
    fn malformed_mirror_lines_are_errors_not_records() {
        let h = "11".repeat(32);
        let id = "ab".repeat(16);
        for (line, want) in [
            (
                format!("jit-log v1 log={id} seq=x hash={h} kind=decision rec={{}}"),
                MirrorLineError::BadAnchor,
            ),
            (
                format!("jit-log v1 log={id} seq=1 hash=11 kind=decision rec={{}}"),
                MirrorLineError::BadAnchor,
            ),
            (
                format!("jit-log v1 log={id} seq=1 hash={h} rec={{}}"),
                MirrorLineError::BadAnchor,
            ),
            (
                format!("jit-log v1 log= seq=1 hash={h} kind=decision"),
                MirrorLineError::BadAnchor,
            ),
            (
                format!("jit-log v1 log={id} seq=1 hash={h} kind=decision rec64=!!"),
                MirrorLineError::BadRecord,
            ),
            (
                format!("jit-log v1 log={id} seq=1 hash={h} kind=decision rec-omitted=-1"),
                MirrorLineError::BadRecord,
            ),
        ] {
            assert_eq!(
                parse_mirror_line(line.as_bytes()),
                Some(Err(want)),
                "{line}"
            );
        }
        // An anchor-only line (an older writer) parses, without a record.
        let line = format!("db-01 jit-log[1]: jit-log v1 log={id} seq=1 hash={h} kind=decision");
        let p = parse_mirror_line(line.as_bytes()).unwrap().unwrap();
        assert_eq!(p.record, MirrorRecord::Absent);
        assert_eq!(p.host, Some("db-01"));
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
