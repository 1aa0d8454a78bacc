//! The hash-chained, forward-sealed audit log (docs/log-format.md).
//!
//! - [`append`]: the writer `pam_jit` calls once per sudo invocation.
//! - [`verify`]: the checks behind `jit-verify log`.
//! - [`query`]: filters and statistics behind `jit-verify query` / `stats`;
//!   [`segments`] and [`merge`]: many logs' records merged by time.
//! - [`source`]: finding, telling apart and grouping inputs (host segments,
//!   collector mirror files), and a log's records from its mirror lines in
//!   seq order.
//! - [`fleet`]: the checks behind `jit-verify fleet`.
//!
//! The writer changes no process-wide state: no umask, no signal handlers, no
//! environment, no `openlog`. Locks are `flock` locks on an open file
//! description, never process-owned POSIX record locks.

pub mod fleet;
pub mod merge;
pub mod query;
pub mod record;
pub mod segments;
pub mod source;
pub mod state;
pub mod syslog;
pub mod verify;
mod writer;

use std::path::PathBuf;

pub use crate::fs::LOCK_WAIT;
pub use record::{EventKind, Record};
pub use writer::{append, append_record, append_records, append_with, bulk_append, Chain};

/// Whether an append waits for the disk (docs/log-format.md, "Durability").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// On disk (`fdatasync`ed) before the append returns: an allowed
    /// decision ("no audit, no root"). The default of [`append`].
    Flushed,
    /// Written to the file before the append returns, not waited for: it
    /// reaches the disk with the next record (which is then flushed) or the
    /// kernel's writeback. Denials and session records. A power cut can lose
    /// it; the next writer records that (`state_ahead`).
    Written,
}

/// Where and how the writer logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// The log file (default `/var/log/jit/audit.log`).
    pub log_path: PathBuf,
    /// The writer state (default `/var/lib/jit/log.state`); the lock file is this path + `.lock`.
    pub state_path: PathBuf,
    /// Where the initial seal key is written once, mode 0400 (default `/var/lib/jit/seal-key.initial`).
    pub seal_key_export: PathBuf,
    /// This host's name, written in every record.
    pub host: String,
    /// Mirror each record, whole, to syslog (authpriv.info; docs/log-format.md,
    /// "Syslog mirror").
    pub syslog: bool,
    /// The syslog socket (default `/dev/log`).
    pub syslog_socket: PathBuf,
}

impl LogConfig {
    /// The defaults of docs/log-format.md for `host`.
    pub fn new(host: impl Into<String>) -> Self {
        LogConfig {
            log_path: PathBuf::from("/var/log/jit/audit.log"),
            state_path: PathBuf::from("/var/lib/jit/log.state"),
            seal_key_export: PathBuf::from("/var/lib/jit/seal-key.initial"),
            host: host.into(),
            syslog: true,
            syslog_socket: PathBuf::from(syslog::DEFAULT_SOCKET),
        }
    }

    /// The lock file: `state_path` + `.lock`.
    pub fn lock_path(&self) -> PathBuf {
        lock_path_for(&self.state_path)
    }
}

/// The lock file belonging to a state file.
pub fn lock_path_for(state: &std::path::Path) -> PathBuf {
    let mut s = state.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// One event to log. Everything that may be unknown is optional; the writer
/// fills in seq, time, host, prev, hash and seal.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub user: Option<String>,
    pub run_as_user: Option<String>,
    pub run_as_group: Option<String>,
    pub tty: Option<String>,
    /// Resolved absolute path of the command.
    pub command_path: Option<String>,
    /// Arguments; a very long argv is truncated with a marker and the BLAKE3 of the whole.
    pub argv: Option<Vec<String>>,
    pub token_id: Option<String>,
    pub issuer: Option<String>,
    pub kid: Option<String>,
    pub token_reason: Option<String>,
    pub ticket: Option<String>,
    pub approver: Option<String>,
    pub allowed: Option<bool>,
    pub reason_code: Option<String>,
    pub message: Option<String>,
    pub pid: Option<u32>,
    pub session_secs: Option<f64>,
    pub break_glass: bool,
}

impl Event {
    /// An event of `kind` with nothing else known.
    pub fn new(kind: EventKind) -> Self {
        Event {
            kind,
            user: None,
            run_as_user: None,
            run_as_group: None,
            tty: None,
            command_path: None,
            argv: None,
            token_id: None,
            issuer: None,
            kid: None,
            token_reason: None,
            ticket: None,
            approver: None,
            allowed: None,
            reason_code: None,
            message: None,
            pid: None,
            session_secs: None,
            break_glass: false,
        }
    }
}

/// What [`append`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// `seq` of the event's record.
    pub seq: u64,
    /// Its hash (hex).
    pub hash: String,
    /// Recovery / continue records written before it, as `(seq, found)`
    /// (`found` is `continue` for a new rotated segment).
    pub repaired: Vec<(u64, String)>,
    /// The syslog mirror could not be sent (the record itself is durable).
    pub mirror_error: Option<String>,
}

/// Why an append failed. Nothing about the event was logged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// A file operation failed.
    #[error("audit log: cannot {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The state file is unreadable or damaged.
    #[error("audit log: state file {} unusable: {source}; the log cannot be continued safely \
             (move the log and state aside for audit; the next append starts a new log)", path.display())]
    State {
        path: PathBuf,
        #[source]
        source: state::StateError,
    },
    /// The log has records but the state file is gone.
    #[error("audit log: {} has records but the state file {} is missing; refusing to continue the \
             chain without it (run `jit-verify log` on the log, then move it aside; the next append starts a new log)",
            log.display(), state.display())]
    StateMissing { log: PathBuf, state: PathBuf },
    /// The initial key export of an earlier creation is still there.
    #[error("audit log: {} already exists; a new log would overwrite an uncollected initial seal key \
             (copy it off-host and remove it, then retry)", path.display())]
    ExportExists { path: PathBuf },
    /// The log and the state disagree.
    #[error("audit log: {} does not match the state file: {detail}; possible tampering \
             (run `jit-verify log --state` to investigate; move the log and state aside to start a new log)",
            path.display())]
    Mismatch { path: PathBuf, detail: String },
    /// A write was short.
    #[error("audit log: short write to {} ({written} of {len} bytes): {cause}", path.display())]
    ShortWrite {
        path: PathBuf,
        written: usize,
        len: usize,
        /// Why the rest could not be written (e.g. "No space left on device").
        cause: String,
    },
    /// The lock file kept changing under us.
    #[error("audit log: lock file {} keeps being replaced", path.display())]
    LockUnstable { path: PathBuf },
    /// The process may not write files as large as the log (RLIMIT_FSIZE).
    #[error("audit log: this process may not write files larger than {limit} bytes (ulimit -f), \
             and {} needs {needed}; nothing was written (run sudo without a file-size limit)", path.display())]
    FileSizeLimit {
        path: PathBuf,
        limit: u64,
        needed: u64,
    },
    /// Another process held the lock for the whole wait.
    #[error("audit log: the lock {} was held for over {waited_secs} s by {holder}; nothing was \
             written (a stopped or stuck process holds it: ending it releases the lock)", path.display())]
    LockBusy {
        path: PathBuf,
        waited_secs: u64,
        /// Who holds it, e.g. "pid 4242 (sudo, uid 1001, stopped)".
        holder: String,
    },
    /// Encoding failed (should not happen).
    #[error("audit log: cannot encode record: {0}")]
    Encode(#[from] serde_json::Error),
    /// The record would exceed the line limit (a ledger record with huge fields).
    #[error(
        "audit log: record of {bytes} bytes exceeds the {max} byte line limit; nothing written"
    )]
    Oversized { bytes: usize, max: usize },
    /// The clock could not be formatted.
    #[error("audit log: cannot format the time: {0}")]
    Time(String),
}

impl From<crate::fs::FsError> for LogError {
    fn from(e: crate::fs::FsError) -> LogError {
        use crate::fs::FsError;
        match e {
            FsError::Io { op, path, source } => LogError::Io { op, path, source },
            FsError::LockUnstable { path } => LogError::LockUnstable { path },
            FsError::LockBusy {
                path,
                waited_secs,
                holder,
            } => LogError::LockBusy {
                path,
                waited_secs,
                holder,
            },
            e @ FsError::NotPrivate { .. } => LogError::Io {
                op: "use",
                path: e.path().to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            },
        }
    }
}

/// Fuzzing entry point: `data` is up to four log segments separated by
/// [`FUZZ_SEGMENT_BREAK`] lines (so rotation is reached: continue records,
/// forks at a boundary, empty segments). They are verified with the golden
/// vectors' seal key and without any key; neither may panic, and segments
/// reported intact with the key must also be intact without it.
#[doc(hidden)]
pub fn fuzz_verify(data: &[u8]) {
    let dir = std::env::temp_dir();
    let mut files = Vec::new();
    for (i, seg) in fuzz_segments(data).into_iter().enumerate() {
        let path = dir.join(format!("jit-fuzz-log-{}-{i}.log", std::process::id()));
        if std::fs::write(&path, seg).is_err() {
            return;
        }
        files.push(path);
    }
    let key = verify::SealKey::parse(include_str!("../../docs/vectors/log/seal-key.initial"));
    let keyed = verify::Options {
        seal_key: key,
        ..verify::Options::default()
    };
    let plain = verify::Options::default();
    if let (Ok(with_key), Ok(without)) = (
        verify::verify_files(&files, &keyed),
        verify::verify_files(&files, &plain),
    ) {
        if with_key.outcome == verify::Outcome::Intact {
            assert_eq!(without.outcome, verify::Outcome::Intact);
        }
    }
}

/// The line that separates segments in a [`fuzz_verify`] input.
#[doc(hidden)]
pub const FUZZ_SEGMENT_BREAK: &[u8] = b"--jit-segment--\n";

/// `data` cut at [`FUZZ_SEGMENT_BREAK`] lines into at most four segments
/// (the break line belongs to neither; the fourth takes the rest).
fn fuzz_segments(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while out.len() < 3 && at < data.len() {
        let line_end = data[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |p| at + p + 1);
        if &data[at..line_end] == FUZZ_SEGMENT_BREAK {
            out.push(&data[start..at]);
            start = line_end;
        }
        at = line_end;
    }
    out.push(&data[start..]);
    out
}

#[cfg(test)]
mod fuzz_entry_tests {
    #[test]
    fn fuzz_entry_accepts_vectors_and_garbage() {
        for f in ["intact", "bitflip", "torn", "resealed"] {
            let data = std::fs::read(format!(
                "{}/../docs/vectors/log/{f}.log",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            super::fuzz_verify(&data);
        }
        // Two segments: the rotation fork vector.
        let seg = |f: &str| {
            std::fs::read(format!(
                "{}/../docs/vectors/log/{f}.log",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        let two = [
            seg("fork-1"),
            super::FUZZ_SEGMENT_BREAK.to_vec(),
            seg("fork-2"),
        ]
        .concat();
        assert_eq!(
            super::fuzz_segments(&two),
            vec![&seg("fork-1")[..], &seg("fork-2")[..]]
        );
        super::fuzz_verify(&two);
        let many = super::FUZZ_SEGMENT_BREAK.repeat(5);
        assert_eq!(
            super::fuzz_segments(&many),
            vec![&b""[..], b"", b"", &super::FUZZ_SEGMENT_BREAK.repeat(2)[..]]
        );
        assert_eq!(
            super::fuzz_segments(b"x--jit-segment--\n"),
            vec![&b"x--jit-segment--\n"[..]]
        );
        super::fuzz_verify(b"");
        super::fuzz_verify(b"{\"v\":1}\n\0\0\0");
    }
}
