//! Verification of log segments (docs/log-format.md, "Verification").

use super::query::{ReviewItem, BREAK_GLASS_MEMBER};
use super::record::{self, hex, EventKind, MAX_LINE, SUFFIX_LEN};
use super::state::State;
use nix::fcntl::Flock;
use serde::Serialize;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use zeroize::Zeroize;

/// The initial seal key `k0` as exported at log creation.
pub struct SealKey {
    /// The log it belongs to.
    pub log_id: [u8; 16],
    k0: [u8; 32],
}

impl Drop for SealKey {
    fn drop(&mut self) {
        self.k0.zeroize();
    }
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealKey(log={}, key=<redacted>)", hex(&self.log_id))
    }
}

/// Why verification could not be done at all (exit code 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A file could not be read (the cause is the error's source, not
    /// repeated in its message).
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The seal key file is not in the export format.
    #[error("{}: not a jit seal key export (expected `jit-log-seal-key v1 log=<32 hex> key=<64 hex>`)", path.display())]
    BadSealKey { path: PathBuf },
    /// The state file is unusable (the cause is the error's source).
    #[error("state file {}", path.display())]
    State {
        path: PathBuf,
        #[source]
        source: super::state::StateError,
    },
    /// The writers' lock was held for the whole bounded wait (a stopped or
    /// stuck writer that could not be continued).
    #[error("waiting for the writer in progress")]
    Lock {
        #[source]
        source: crate::fs::FsError,
    },
    /// No files.
    #[error("no log files given")]
    NoFiles,
}

impl SealKey {
    /// The export file's text.
    pub fn export_text(log_id: &[u8; 16], k0: &[u8; 32]) -> String {
        format!("jit-log-seal-key v1 log={} key={}\n", hex(log_id), hex(k0))
    }

    /// Build from raw parts (tests, vectors).
    pub fn from_parts(log_id: [u8; 16], k0: [u8; 32]) -> Self {
        SealKey { log_id, k0 }
    }

    /// Parse the export text.
    pub fn parse(text: &str) -> Option<SealKey> {
        let rest = text
            .trim_end_matches('\n')
            .strip_prefix("jit-log-seal-key v1 log=")?;
        let (id, key) = rest.split_once(" key=")?;
        Some(SealKey {
            log_id: record::unhex::<16>(id.as_bytes())?,
            k0: record::unhex::<32>(key.as_bytes())?,
        })
    }

    /// The key id of this key (as `start` and `continue` records name it).
    pub fn key_id(&self) -> String {
        record::key_id(&self.k0)
    }

    /// A second copy of this key (zeroized on drop like the first).
    pub fn duplicate(&self) -> SealKey {
        SealKey {
            log_id: self.log_id,
            k0: self.k0,
        }
    }

    /// Read an export file.
    pub fn read(path: &Path) -> Result<SealKey, VerifyError> {
        let mut t = std::fs::read_to_string(path).map_err(|source| VerifyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let k = SealKey::parse(&t);
        t.zeroize();
        k.ok_or_else(|| VerifyError::BadSealKey {
            path: path.to_path_buf(),
        })
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Information (e.g. a recovery the writer recorded).
    Note,
    /// Suspicious but possibly legitimate (clock step).
    Warning,
    /// A crash leftover: torn tail, state one step behind, a fork at a rotation.
    Torn,
    /// The log was altered.
    Tampered,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Malformed,
    Oversized,
    UnsupportedVersion,
    BadHash,
    BadSeal,
    SealNotChecked,
    BrokenLink,
    SeqGap,
    SeqRepeat,
    SeqOrder,
    SegmentStart,
    ChainStartsMid,
    ForeignLog,
    TornTail,
    StateMismatch,
    StateKey,
    StateBehind,
    StateAhead,
    SyslogMismatch,
    SyslogBeyondEnd,
    SyslogNotMirrored,
    TimeBackwards,
    Recovery,
    Empty,
    RotationFork,
    UnterminatedRecord,
    StateCorrupt,
    ForeignKey,
    /// `jit-verify fleet` (docs/log-format.md, "Fleet findings").
    MirrorGap,
    MirrorOmitted,
    MirrorDuplicate,
    MirrorOrder,
    MirrorConflict,
    MirrorLate,
    MirrorForeign,
    MirrorAnchor,
    MirrorOtherLines,
    HostCut,
    HostMismatch,
    NoCentralCopy,
    Silent,
}

/// The granularity at which the kernel tears a write (a page): a torn tail
/// that holds a whole record without its newline must end at a multiple.
pub const TEAR_ALIGN: u64 = 4096;

/// One thing the verifier found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub class: Class,
    pub kind: Kind,
    /// The segment file.
    pub file: String,
    /// 1-based line in that file (0: not about one line).
    pub line: u64,
    /// The record's seq as stored, when known.
    pub seq: Option<u64>,
    pub detail: String,
}

/// The overall result; [`Outcome::exit_code`] is the CLI's exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Intact,
    Tampered,
    CouldNotCheck,
    TornTail,
}

impl Outcome {
    /// 0 intact, 1 tampered, 2 could not check, 3 torn tail only.
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Intact => 0,
            Outcome::Tampered => 1,
            Outcome::CouldNotCheck => 2,
            Outcome::TornTail => 3,
        }
    }
}

/// The verification report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub outcome: Outcome,
    pub exit_code: i32,
    pub records: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub last_hash: Option<String>,
    pub log_id: Option<String>,
    pub forward_integrity_checked: bool,
    pub state_checked: bool,
    pub syslog_checked: bool,
    pub findings: Vec<Finding>,
    /// The break-glass decisions, in order: each needs a human review. The
    /// caller lists them once the log verifies (intact or torn tail).
    #[serde(skip)]
    pub review: Vec<ReviewItem>,
}

/// One `(log, seq, hash)` anchor from a syslog file, with the record the
/// line carries when it carries one whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub log_id: String,
    pub seq: u64,
    pub hash: [u8; 32],
    pub line: u64,
    /// BLAKE3 of the mirrored record's line (with its `\n`), to compare
    /// with the log's line byte for byte; `None` for an anchor-only line or
    /// a record too long to be mirrored (`rec-omitted=`).
    pub record: Option<[u8; 32]>,
}

/// Extract mirror anchors from a syslog file's text (lines that hold the
/// marker but do not parse are skipped).
pub fn parse_syslog(text: &[u8]) -> Vec<Anchor> {
    let mut out = Vec::new();
    for (i, l) in text.split(|&b| b == b'\n').enumerate() {
        let Some(Ok(m)) = super::syslog::parse_mirror_line(l) else {
            continue;
        };
        let record = match &m.record {
            super::syslog::MirrorRecord::Whole(r) => {
                let mut h = blake3::Hasher::new();
                h.update(r);
                h.update(b"\n");
                Some(*h.finalize().as_bytes())
            }
            _ => None,
        };
        out.push(Anchor {
            log_id: m.log_id.to_string(),
            seq: m.seq,
            hash: m.hash,
            line: i as u64 + 1,
            record,
        });
    }
    out
}

/// A record's `(hash, BLAKE3 of its whole line)`, kept per seq when syslog
/// anchors are checked.
type RecordDigests = ([u8; 32], [u8; 32]);

/// What to check besides the plain chain.
#[derive(Default)]
pub struct Options<'a> {
    /// `k0`: check every seal (forward integrity).
    pub seal_key: Option<SealKey>,
    /// The writer state: check the log's end (truncation) and, with the key, the state key.
    pub state: Option<State>,
    /// The state file's older slot, when both are valid: the head of the
    /// flushed record before a written one ([`read_state_slots`]).
    pub state_older: Option<State>,
    /// The state file given has no usable slots (no valid slot, or two that
    /// do not follow each other): why. No crash leaves that: tampering
    /// (`state_corrupt`).
    pub state_damaged: Option<String>,
    /// Lock file to take shared when the last segment ends mid-record (live log).
    pub lock: Option<PathBuf>,
    /// How long to wait for [`Options::lock`] (default [`crate::fs::LOCK_WAIT`]).
    pub lock_wait: Option<std::time::Duration>,
    /// Anchors from the syslog mirror.
    pub syslog: Option<Vec<Anchor>>,
    /// Accept a chain whose first segment starts with a `continue` record.
    pub partial: bool,
    /// Called with the number of bytes read so far.
    pub progress: Option<&'a dyn Fn(u64)>,
}

/// Read a state file for verification (its newer slot).
pub fn read_state(path: &Path) -> Result<State, VerifyError> {
    read_state_slots(path).map(|(newer, _)| newer)
}

/// Upper bound on how far the verifier evolves a key in one go.
const MAX_KEY_STEPS: u64 = 1 << 26;

struct KeyWalk {
    hs: record::Hashers,
    k0: [u8; 32],
    idx: u64,
    k: [u8; 32],
    restarts: u32,
}

impl Drop for KeyWalk {
    fn drop(&mut self) {
        self.k0.zeroize();
        self.k.zeroize();
    }
}

impl KeyWalk {
    fn new(k0: &[u8; 32]) -> Self {
        KeyWalk {
            hs: record::Hashers::default(),
            k0: *k0,
            idx: 0,
            k: *k0,
            restarts: 0,
        }
    }

    /// k_seq, or None when it would cost too much (adversarial seq values).
    fn at(&mut self, seq: u64) -> Option<[u8; 32]> {
        if seq < self.idx {
            if self.restarts >= 16 {
                return None;
            }
            self.restarts += 1;
            self.idx = 0;
            self.k = self.k0;
        }
        if seq - self.idx > MAX_KEY_STEPS {
            return None;
        }
        while self.idx < seq {
            self.k = self.hs.evolve(&self.k);
            self.idx += 1;
        }
        Some(self.k)
    }
}

struct Verifier<'o, 'a> {
    opts: &'o Options<'a>,
    findings: Vec<Finding>,
    file: String,
    line_no: u64,
    records: u64,
    first_seq: Option<u64>,
    /// Last good record: (seq, hash).
    last: Option<(u64, [u8; 32])>,
    /// The one before it (for "state one step behind").
    before_last: Option<[u8; 32]>,
    /// Hash the next record must name as prev; None after damage (resync).
    expect_prev: Option<[u8; 32]>,
    expect_seq: Option<u64>,
    /// (seq, hash, seal) of the last two records, for a state behind the
    /// log: their seals must verify with the state's key (Recovery).
    last_seals: std::collections::VecDeque<(u64, [u8; 32], [u8; 32])>,
    /// The last few (seq, hash), to tell a duplicate from a reorder.
    recent: std::collections::VecDeque<(u64, [u8; 32])>,
    last_time: String,
    log_id: Option<[u8; 16]>,
    keys: Option<KeyWalk>,
    /// The key id the first start/continue record names (raw).
    log_key_id: Option<[u8; 16]>,
    /// Bytes of the current segment before the current line.
    seg_offset: u64,
    /// Offset in its segment just after the last record (`last`).
    last_end: u64,
    /// The seal key's key id, while it is in use.
    key_id: Option<String>,
    /// The seal key is not the one this log's start/continue records name:
    /// said once, and no seal is checked with it.
    foreign_key: bool,
    seal_skipped: u64,
    hashes: Option<HashMap<u64, RecordDigests>>,
    /// Records a power cut took (seq, hash), as `state_ahead` recoveries
    /// name them: their syslog mirror lines are not rewrites.
    lost: HashMap<u64, [u8; 32]>,
    segment_index: usize,
    first_in_segment: bool,
    review: Vec<ReviewItem>,
}

impl Verifier<'_, '_> {
    fn push(&mut self, class: Class, kind: Kind, seq: Option<u64>, detail: String) {
        if self.findings.len() >= 10_000 {
            return;
        }
        self.findings.push(Finding {
            class,
            kind,
            file: self.file.clone(),
            line: self.line_no,
            seq,
            detail,
        });
    }

    /// The previous segment ended, chain intact, with record `seq` whose
    /// predecessor's hash is `prev`.
    fn is_rotation_fork(&self, seq: u64, prev: &[u8; 32]) -> bool {
        self.segment_index > 0
            && self.before_last.as_ref() == Some(prev)
            && self.last.is_some_and(|(s, h)| {
                s == seq
                    && self.expect_seq == Some(seq.wrapping_add(1))
                    && self.expect_prev == Some(h)
            })
    }

    fn resync(&mut self) {
        self.expect_prev = None;
        self.expect_seq = None;
    }

    /// Check one line (with its `\n`). `pre`: its frame and hash from the
    /// parallel stage; `review`: whether it holds [`BREAK_GLASS_MEMBER`].
    fn line(&mut self, line: &[u8], pre: Option<Pre>, review: bool) {
        self.line_no += 1;
        // An oversized line is stored cut; its real length does not matter
        // (it is tampering, and no record ends after it in a valid state).
        self.seg_offset += line.len() as u64;
        if review && line.len() <= MAX_LINE {
            if let Some(item) = record::parse(line)
                .ok()
                .and_then(|r| ReviewItem::of(&self.file, self.line_no, &r))
            {
                self.review.push(item);
            }
        }
        let first = std::mem::replace(&mut self.first_in_segment, false);
        if line.len() > MAX_LINE {
            // How much longer is not known: the rest of it was not kept.
            self.push(
                Class::Tampered,
                Kind::Oversized,
                None,
                format!("line longer than the {MAX_LINE} byte limit"),
            );
            return self.resync();
        }
        let (f, h) = match pre {
            // Framed and hashed in the parallel stage.
            Some((h, hash, seal)) => (
                record::Framed {
                    body: &line[..line.len() - SUFFIX_LEN],
                    hash,
                    seal,
                },
                h,
            ),
            None => {
                let Some(f) = record::frame(line) else {
                    self.push(
                        Class::Tampered,
                        Kind::Malformed,
                        None,
                        "not a record: the fixed `,\"hash\":…,\"seal\":…}` suffix is missing or damaged"
                            .into(),
                    );
                    return self.resync();
                };
                (f, record::record_hash(f.body))
            }
        };
        let Some(hd) = record::header(f.body) else {
            // Not as the writer writes it: parse fully to say why.
            let (kind, seq, d) = match record::parse(line) {
                Err(e) => (Kind::Malformed, None, format!("not valid record JSON: {e}")),
                Ok(r) if r.v != record::VERSION => (
                    Kind::UnsupportedVersion,
                    Some(r.seq),
                    format!("format version {} (only 1 exists; downgrade or foreign file)", r.v),
                ),
                Ok(r) => (
                    Kind::Malformed,
                    Some(r.seq),
                    "record members not in the canonical order/format (v, seq, time, host, kind ... prev)".into(),
                ),
            };
            self.push(Class::Tampered, kind, seq, d);
            return self.resync();
        };
        let (seq, time, kind, prev) = (hd.seq, hd.time, hd.kind, hd.prev);
        // Start, continue and recovery records carry more the verifier needs: parse them fully.
        let full = if matches!(
            kind,
            EventKind::Start | EventKind::Continue | EventKind::Recovery
        ) {
            match record::parse(line) {
                Ok(r) => Some(r),
                Err(e) => {
                    self.push(
                        Class::Tampered,
                        Kind::Malformed,
                        Some(seq),
                        format!("not valid record JSON: {e}"),
                    );
                    return self.resync();
                }
            }
        } else {
            None
        };
        if h != f.hash {
            self.push(
                Class::Tampered,
                Kind::BadHash,
                Some(seq),
                "record content does not match its hash: altered after writing".into(),
            );
        }
        // Segment framing.
        let mut seq_ok = true;
        match kind {
            EventKind::Start
                if !(first && self.segment_index == 0 && seq == 0 && prev == record::GENESIS_PREV) =>
            {
                self.push(
                    Class::Tampered,
                    Kind::SegmentStart,
                    Some(seq),
                    "a start record that is not the first record of the first segment: another log spliced in".into(),
                );
            }
            EventKind::Start => {}
            EventKind::Continue if !first => self.push(
                Class::Tampered,
                Kind::SegmentStart,
                Some(seq),
                "a continue record in the middle of a segment".into(),
            ),
            EventKind::Continue => {}
            _ if first && self.segment_index > 0 => self.push(
                Class::Tampered,
                Kind::SegmentStart,
                Some(seq),
                "segment does not begin with a continue record: its head was deleted or it is not a rotated segment".into(),
            ),
            _ if first => self.push(
                Class::Tampered,
                Kind::SegmentStart,
                Some(seq),
                "log does not begin with a start or continue record: records deleted at the head".into(),
            ),
            _ => {}
        }
        if matches!(kind, EventKind::Start | EventKind::Continue) {
            match full
                .as_ref()
                .and_then(|r| r.log_id.as_deref())
                .and_then(|l| record::unhex::<16>(l.as_bytes()))
            {
                Some(id) => match self.log_id {
                    Some(known) if known != id => self.push(
                        Class::Tampered,
                        Kind::ForeignLog,
                        Some(seq),
                        format!(
                            "log_id {} but this chain is log {}: segment from another log",
                            hex(&id),
                            hex(&known)
                        ),
                    ),
                    Some(_) => {}
                    None => self.log_id = Some(id),
                },
                None => self.push(
                    Class::Tampered,
                    Kind::Malformed,
                    Some(seq),
                    "start/continue without log_id".into(),
                ),
            }
            if self.log_key_id.is_none() {
                self.log_key_id = full
                    .as_ref()
                    .and_then(|r| r.key_id.as_deref())
                    .and_then(|k| record::unhex::<16>(k.as_bytes()));
            }
            // A seal key with this log's id but not its key id: every seal
            // would fail. Say so once and check no seal with it.
            if let (Some(want), Some(have)) = (
                self.key_id.as_deref(),
                full.as_ref().and_then(|r| r.key_id.as_deref()),
            ) {
                if want != have {
                    self.push(
                        Class::Tampered,
                        Kind::ForeignKey,
                        Some(seq),
                        format!(
                            "the seal key (key id {want}) is not this log's: its {} record names key id {have}; no seal was checked (the wrong key file, or the log was rewritten under a new key)",
                            kind.as_str()
                        ),
                    );
                    self.key_id = None;
                    self.keys = None;
                    self.foreign_key = true;
                }
            }
            if first && self.segment_index == 0 && kind == EventKind::Continue {
                let class = if self.opts.partial {
                    Class::Note
                } else {
                    Class::Tampered
                };
                self.push(
                    class,
                    Kind::ChainStartsMid,
                    Some(seq),
                    format!("the chain starts at seq {seq} with a continue record: earlier segments not given (pass --partial if intended)"),
                );
                seq_ok = false;
            }
        }
        // A writer killed between a record and its state update, then a
        // rotation before the next append: the next segment's continue record
        // repeats the orphan's seq and links to the record before it
        // (docs/log-format.md, "Rotation"). Both branches stay visible and
        // each seal is checked as usual; the chain goes on from the continue
        // record. Only the seals tell this crash from someone who appended a
        // record of their own to a rotated segment, so without the seal key
        // the shape is reported as tampering.
        if first && kind == EventKind::Continue && self.is_rotation_fork(seq, &prev) {
            let (class, why) = if self.keys.is_some() {
                (Class::Torn, "a crash, nothing removed")
            } else {
                (
                    Class::Tampered,
                    "a crash if the seals verify, else a record appended to the rotated segment: verify with --seal-key to tell",
                )
            };
            self.push(
                class,
                Kind::RotationFork,
                Some(seq),
                format!(
                    "this segment's continue record repeats seq {seq}, the last record of the previous segment, and links to the record before it: a writer was stopped between that record and its state update, then the log was rotated ({why})"
                ),
            );
            self.expect_seq = Some(seq);
            self.expect_prev = Some(prev);
        }
        // Sequence and link.
        let mut advances = true;
        if let Some(exp) = self.expect_seq {
            if seq != exp {
                seq_ok = false;
                let (kind, d) = if seq > exp {
                    (
                        Kind::SeqGap,
                        if seq - exp == 1 {
                            format!("seq {seq} follows {}: record {exp} missing", exp - 1)
                        } else {
                            format!(
                                "seq {seq} follows {}: records {exp}..={} ({}) missing",
                                exp - 1,
                                seq - 1,
                                seq - exp
                            )
                        },
                    )
                } else if let Some(&(_, h0)) = self.recent.iter().rev().find(|r| r.0 == seq) {
                    advances = false;
                    let d = if h0 == f.hash {
                        format!(
                            "seq {seq} again after {}: an exact copy (duplicated or replayed)",
                            exp - 1
                        )
                    } else {
                        format!(
                            "seq {seq} again after {}: a second, different record with this seq",
                            exp - 1
                        )
                    };
                    (Kind::SeqRepeat, d)
                } else {
                    advances = false;
                    (
                        Kind::SeqOrder,
                        format!("seq {seq} after {}: records reordered", exp - 1),
                    )
                };
                self.push(Class::Tampered, kind, Some(seq), d);
            }
        }
        if seq_ok {
            if let Some(ep) = self.expect_prev {
                if prev != ep {
                    self.push(
                        Class::Tampered,
                        Kind::BrokenLink,
                        Some(seq),
                        format!(
                            "prev {} is not the hash of the preceding record ({})",
                            hex(&prev),
                            hex(&ep)
                        ),
                    );
                }
            }
        }
        // Seal.
        if let Some(kw) = self.keys.as_mut() {
            match kw.at(seq) {
                Some(k) => {
                    if record::seal(&k, &f.hash) != f.seal {
                        self.push(
                            Class::Tampered,
                            Kind::BadSeal,
                            Some(seq),
                            format!("seal does not verify with k_{seq}: record forged, rewritten or re-sealed with a later key"),
                        );
                    }
                }
                None => self.seal_skipped += 1,
            }
        }
        // Time.
        if time < self.last_time.as_str() {
            self.push(
                Class::Warning,
                Kind::TimeBackwards,
                Some(seq),
                format!(
                    "time {} is before the previous record's {}",
                    time, self.last_time
                ),
            );
        }
        self.last_time.clear();
        self.last_time.push_str(time);
        if let Some(rec) = full.as_ref().filter(|r| r.kind == EventKind::Recovery) {
            if rec.found.as_deref() == Some("state_ahead") {
                if let Some(h) = rec.message.as_deref().and_then(lost_hash) {
                    self.lost.insert(seq, h);
                }
            }
            self.push(
                Class::Note,
                Kind::Recovery,
                Some(seq),
                format!(
                    "writer recovery: {} ({})",
                    rec.found.as_deref().unwrap_or("?"),
                    rec.message.as_deref().unwrap_or("")
                ),
            );
        }
        if let Some(m) = self.hashes.as_mut() {
            m.insert(seq, (f.hash, *blake3::hash(line).as_bytes()));
        }
        self.records += 1;
        self.first_seq.get_or_insert(seq);
        if self.recent.len() == 64 {
            self.recent.pop_front();
        }
        self.recent.push_back((seq, f.hash));
        if self.last_seals.len() == 2 {
            self.last_seals.pop_front();
        }
        self.last_seals.push_back((seq, f.hash, f.seal));
        self.before_last = self.last.map(|l| l.1);
        self.last = Some((seq, f.hash));
        self.last_end = self.seg_offset;
        if advances {
            self.expect_prev = Some(f.hash);
            self.expect_seq = Some(seq.wrapping_add(1));
        }
    }

    /// The unterminated bytes `rest` at the end of a segment, which ends at
    /// byte offset `end` (docs/log-format.md, "Verification": torn tail).
    fn tail(&mut self, rest: &[u8], end: u64) {
        if rest.len() > MAX_LINE {
            self.line_no += 1;
            self.push(
                Class::Tampered,
                Kind::Oversized,
                None,
                format!(
                    "unterminated data of more than {MAX_LINE} bytes at the end: not a torn record"
                ),
            );
            return;
        }
        self.line_no += 1;
        // The writer writes a line and its newline in one write(); the kernel
        // tears a write (short write, partial writeback at a power cut) only
        // at a page boundary. So a tail holding a whole record whose newline
        // is missing is a crash only when it ends at a 4 KiB boundary and its
        // hash verifies (a prefix of a line the writer wrote); any other
        // complete-looking record without its newline was put there.
        let mut fixed = rest.to_vec();
        fixed.push(b'\n');
        if let Some(f) = record::frame(&fixed) {
            let verifies = record::record_hash(f.body) == f.hash;
            let seq = record::header(f.body).map(|h| h.seq);
            if verifies && end % TEAR_ALIGN == 0 {
                self.push(
                    Class::Torn,
                    Kind::TornTail,
                    seq,
                    format!(
                        "a complete record without its newline at the end of the segment, at a {TEAR_ALIGN} byte boundary: a write torn at a page boundary (not a record: not shown by query or stats); the next append cuts it with a recovery record"
                    ),
                );
            } else {
                self.push(
                    Class::Tampered,
                    Kind::UnterminatedRecord,
                    seq,
                    format!(
                        "a complete{} record without its newline at the end of the segment: no crash leaves that (the writer writes a record and its newline in one write); appended or its newline removed",
                        if verifies { "" } else { "-looking (hash does not verify)" }
                    ),
                );
            }
            return;
        }
        // A complete record whose terminator was changed is a framing change.
        fixed.pop();
        if let Some(l) = fixed.last_mut() {
            *l = b'\n';
        }
        if record::frame(&fixed).is_some_and(|f| record::record_hash(f.body) == f.hash) {
            self.push(
                Class::Tampered,
                Kind::Malformed,
                None,
                "the last record is complete but its terminating newline was changed".into(),
            );
            return;
        }
        let zeros = rest.iter().all(|&b| b == 0);
        let after = self.last.map(|l| l.0);
        self.push(
            Class::Torn,
            Kind::TornTail,
            after.map(|s| s.wrapping_add(1)),
            format!(
                "{} {} bytes at the end of the segment (after seq {}): a crash during a write; the next append cuts them with a recovery record",
                if zeros { "zero-filled" } else { "partial record of" },
                rest.len(),
                after.map_or("-".into(), |s| s.to_string())
            ),
        );
    }
}

impl<'o, 'a> Verifier<'o, 'a> {
    fn new(opts: &'o Options<'a>) -> Self {
        Verifier {
            opts,
            findings: Vec::new(),
            file: String::new(),
            line_no: 0,
            records: 0,
            first_seq: None,
            last: None,
            before_last: None,
            expect_prev: None,
            expect_seq: None,
            last_seals: std::collections::VecDeque::with_capacity(2),
            recent: std::collections::VecDeque::with_capacity(64),
            last_time: String::new(),
            log_id: opts.seal_key.as_ref().map(|k| k.log_id),
            keys: opts.seal_key.as_ref().map(|k| KeyWalk::new(&k.k0)),
            key_id: opts.seal_key.as_ref().map(SealKey::key_id),
            log_key_id: None,
            seg_offset: 0,
            last_end: 0,
            foreign_key: false,
            seal_skipped: 0,
            hashes: opts.syslog.as_ref().map(|_| HashMap::new()),
            lost: HashMap::new(),
            segment_index: 0,
            first_in_segment: true,
            review: Vec::new(),
        }
    }

    /// The checks after the last record (keys, state, syslog) and the report.
    fn finish(mut self) -> Report {
        let opts = self.opts;
        self.file.clear();
        self.line_no = 0;
        if self.seal_skipped > 0 {
            let n = self.seal_skipped;
            self.push(
                Class::Tampered,
                Kind::SealNotChecked,
                None,
                format!("{n} seals not checked: seq values too far apart to evolve the key"),
            );
        }
        // Seal key of another log.
        if let (Some(k), Some(id)) = (opts.seal_key.as_ref(), self.log_id) {
            if k.log_id != id {
                self.push(
                    Class::Tampered,
                    Kind::ForeignLog,
                    None,
                    "the seal key belongs to another log".into(),
                );
            }
        }
        let mut state_checked = false;
        if let Some(why) = opts.state_damaged.as_deref() {
            state_checked = true;
            self.push(
                Class::Tampered,
                Kind::StateCorrupt,
                None,
                format!("the state file is unusable: {why}; a crash always leaves one valid slot (each slot is written only after the other is on disk), so it was overwritten, damaged or forged"),
            );
        } else if let Some(st) = opts.state.as_ref() {
            state_checked = true;
            check_state(&mut self, st, opts.state_older.as_ref());
        }
        let mut syslog_checked = false;
        if let Some(anchors) = opts.syslog.as_ref() {
            syslog_checked = true;
            check_syslog(&mut self, anchors);
        }
        let worst = self.findings.iter().map(|f| f.class).max();
        let outcome = match worst {
            Some(Class::Tampered) => Outcome::Tampered,
            Some(Class::Torn) => Outcome::TornTail,
            _ => Outcome::Intact,
        };
        Report {
            outcome,
            exit_code: outcome.exit_code(),
            records: self.records,
            first_seq: self.first_seq,
            last_seq: self.last.map(|l| l.0),
            last_hash: self.last.map(|l| hex(&l.1)),
            log_id: self.log_id.map(|l| hex(&l)),
            forward_integrity_checked: opts.seal_key.is_some() && !self.foreign_key,
            state_checked,
            syslog_checked,
            findings: self.findings,
            review: self.review,
        }
    }
}

/// The verifier fed one record at a time, for a copy of a log that is not a
/// set of segment files: a collector's mirror lines put back in seq order
/// ([`super::source`]). The rules are those of [`verify_files`] (chain, seq,
/// seals, framing); what a stream cannot have (torn tails, empty segments,
/// the writers' lock) is not checked. A `continue` record starts a segment, as
/// it does in the files; a copy that does not begin with a `start` or
/// `continue` record begins mid-log (a note, `chain_starts_mid`). Records the
/// copy does not hold are [`Chain::gap`]s, records known only by their hash
/// [`Chain::known`].
pub struct Chain<'o, 'a> {
    v: Verifier<'o, 'a>,
    hs: record::Hashers,
    started: bool,
    first_time: Option<String>,
}

impl<'o, 'a> Chain<'o, 'a> {
    /// A chain checked with `opts` (its seal key, `partial`; `state`, `lock`
    /// and `syslog` apply at [`Chain::finish`] as in [`verify_files`]).
    /// `log_id`: the log this copy claims to be (a `start`/`continue` record
    /// of another log is `foreign_log`).
    pub fn new(opts: &'o Options<'a>, log_id: Option<[u8; 16]>) -> Self {
        let mut v = Verifier::new(opts);
        if v.log_id.is_none() {
            v.log_id = log_id;
        }
        Chain {
            v,
            hs: record::Hashers::default(),
            started: false,
            first_time: None,
        }
    }

    /// Findings from now on name `file`.
    pub fn set_file(&mut self, file: &str) {
        if self.v.file != file {
            self.v.file.clear();
            self.v.file.push_str(file);
        }
    }

    /// Check the record `line` (with its `\n`), line `line_no` of the current file.
    pub fn record(&mut self, line: &[u8], line_no: u64) {
        let pre = record::frame(line).map(|f| (self.hs.record_hash(f.body), f.hash, f.seal));
        let hd = pre.and_then(|_| record::header(&line[..line.len() - SUFFIX_LEN]));
        let kind = hd.map(|h| h.kind);
        if kind == Some(EventKind::Continue) && self.started {
            self.v.segment_index += 1;
            self.v.first_in_segment = true;
            self.v.seg_offset = 0;
        } else if !self.started && !matches!(kind, Some(EventKind::Start | EventKind::Continue)) {
            self.v.first_in_segment = false;
            if let Some(h) = hd {
                self.v.line_no = line_no.saturating_sub(1) + 1;
                self.v.push(
                    Class::Note,
                    Kind::ChainStartsMid,
                    Some(h.seq),
                    format!(
                        "this copy starts at seq {} (records before it were not forwarded or not given): checked from there",
                        h.seq
                    ),
                );
            }
        } else {
            self.v.first_in_segment = !self.started || kind == Some(EventKind::Continue);
        }
        self.started = true;
        self.v.line_no = line_no.saturating_sub(1);
        self.v.line(line, pre, false);
        if self.first_time.is_none() && hd.is_some() {
            self.first_time = Some(self.v.last_time.clone());
        }
    }

    /// Record `seq`, whose hash is `hash`, is known but its content is not
    /// (a mirror line with `rec-omitted=`): not checked, and the chain goes
    /// on from its hash (the next record must name it as `prev`).
    pub fn known(&mut self, seq: u64, hash: [u8; 32]) {
        if self.v.expect_seq.is_some_and(|e| e != seq) {
            self.v.resync();
        }
        self.started = true;
        self.v.first_in_segment = false;
        self.v.before_last = self.v.last.map(|l| l.1);
        self.v.last = Some((seq, hash));
        if self.v.recent.len() == 64 {
            self.v.recent.pop_front();
        }
        self.v.recent.push_back((seq, hash));
        self.v.expect_seq = Some(seq.wrapping_add(1));
        self.v.expect_prev = Some(hash);
    }

    /// Records are missing before the next one: its seq and link are not
    /// checked against the record before the gap.
    pub fn gap(&mut self) {
        self.v.resync();
        if self.started {
            self.v.first_in_segment = false;
        }
    }

    /// Add a finding of the caller's (about the current file, at `line`).
    pub fn push(&mut self, class: Class, kind: Kind, line: u64, seq: Option<u64>, detail: String) {
        self.v.line_no = line;
        self.v.push(class, kind, seq, detail);
    }

    /// The time of the first and of the last record checked.
    pub fn times(&self) -> (Option<&str>, Option<&str>) {
        (
            self.first_time.as_deref(),
            self.first_time.as_ref().map(|_| self.v.last_time.as_str()),
        )
    }

    /// The report, after the end-of-log checks of [`verify_files`].
    pub fn finish(self) -> Report {
        self.v.finish()
    }
}

/// Verify segments in order (oldest first).
pub fn verify_files(paths: &[PathBuf], opts: &Options<'_>) -> Result<Report, VerifyError> {
    verify_in_batches(paths, opts, BATCH_BYTES)
}

/// [`verify_files`], reading about `batch` bytes of complete lines per batch
/// (tests vary it to move the batch boundaries).
fn verify_in_batches(
    paths: &[PathBuf],
    opts: &Options<'_>,
    batch: usize,
) -> Result<Report, VerifyError> {
    if paths.is_empty() {
        return Err(VerifyError::NoFiles);
    }
    let mut v = Verifier::new(opts);
    let mut bytes = 0u64;
    let mut held: Option<Flock<File>> = None;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    let break_glass = memchr::memmem::Finder::new(BREAK_GLASS_MEMBER);
    // Three batches in a pipeline: [checked, hashed, filled]. In each step
    // this thread checks the first in order (chain, seq, seal keys) and reads
    // the third while the second is framed and hashed in chunks by helper
    // threads, which this thread joins once its own part is done.
    let mut bs: [Batch; 3] = Default::default();
    for (i, p) in paths.iter().enumerate() {
        v.file = p.display().to_string();
        v.line_no = 0;
        v.segment_index = i;
        v.first_in_segment = true;
        v.seg_offset = 0;
        let seg_start = bytes;
        let f = File::open(p).map_err(|source| VerifyError::Io {
            path: p.clone(),
            source,
        })?;
        let mut r = BufReader::with_capacity(1 << 20, f);
        let last_segment = i + 1 == paths.len();
        let io = |source| VerifyError::Io {
            path: p.clone(),
            source,
        };
        let mut carry = Vec::new();
        loop {
            let mut stop: Option<Fill> = None;
            loop {
                let [chk, hsh, fil] = &mut bs;
                if stop.is_some() && chk.ends.is_empty() && hsh.ends.is_empty() {
                    break;
                }
                let helpers = hsh.ends.len() >= 2 * CHUNK_LINES;
                let work = hsh.work(&break_glass);
                let got = std::thread::scope(|s| {
                    if helpers {
                        for _ in 1..threads {
                            s.spawn(|| work.run());
                        }
                    }
                    if !chk.ends.is_empty() {
                        bytes += chk.check(&mut v);
                        if let Some(cb) = opts.progress {
                            cb(bytes);
                        }
                        chk.clear();
                    }
                    let got = stop.is_none().then(|| fill(&mut r, &mut carry, fil, batch));
                    work.run();
                    got
                });
                if let Some(got) = got {
                    stop = match got.map_err(io)? {
                        Fill::Full => None,
                        end => Some(end),
                    };
                }
                bs.rotate_left(1);
            }
            let Some(Fill::Partial(mut partial)) = stop else {
                break;
            };
            // Partial last line. On a live log, wait for the writer (shared lock) and read on.
            if last_segment && held.is_none() {
                // The writers' bounded wait, continuing a stopped holder
                // (docs/log-format.md, "Locking"): never a hang.
                let got = match opts.lock.as_deref() {
                    Some(lp) => crate::fs::lock_shared_within(
                        lp,
                        opts.lock_wait.unwrap_or(crate::fs::LOCK_WAIT),
                    )
                    .map_err(|source| VerifyError::Lock { source })?,
                    None => None,
                };
                if let Some(l) = got {
                    held = Some(l);
                    read_line(&mut r, &mut partial).map_err(io)?;
                    if partial.last() == Some(&b'\n') {
                        bytes += partial.len() as u64;
                        let review = break_glass.find(&partial).is_some();
                        v.line(&partial, None, review);
                        continue;
                    }
                }
            }
            v.tail(&partial, bytes - seg_start + partial.len() as u64);
            break;
        }
        if v.line_no == 0 && last_segment && i > 0 {
            // Between logrotate's rename + create and the next append, the
            // current file is legitimately empty: its continue record is
            // written by the next writer. (Records cut from it would show as
            // a state mismatch with --state, like any cut tail.)
            v.push(
                Class::Note,
                Kind::Empty,
                None,
                "the last segment is empty: rotated, and nothing appended since".into(),
            );
        } else if v.line_no == 0 {
            v.push(
                Class::Tampered,
                Kind::Empty,
                None,
                "segment is empty (a rotated segment always holds a continue record)".into(),
            );
        }
    }
    if let Some(cb) = opts.progress {
        cb(bytes);
    }
    Ok(v.finish())
}

/// Result of the parallel stage for one line: (computed hash, stored hash, stored seal).
type Pre = ([u8; 32], [u8; 32], [u8; 32]);

/// Bytes of complete lines read per batch (about).
const BATCH_BYTES: usize = 4 << 20;

/// Lines framed and hashed per chunk of the parallel stage.
const CHUNK_LINES: usize = 256;

/// Complete lines of a segment, and what the parallel stage found of each.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    /// End offset (after the `\n`) of each line in `data`.
    ends: Vec<usize>,
    pre: Vec<Option<Pre>>,
    /// Whether each line holds [`BREAK_GLASS_MEMBER`].
    review: Vec<bool>,
}

/// How [`fill`] stopped.
enum Fill {
    /// The batch is full; the segment may hold more.
    Full,
    /// The segment ended after a complete line (or is empty).
    Eof,
    /// The segment ended in these bytes without a newline.
    Partial(Vec<u8>),
}

/// Read complete lines into `b` until it holds `batch` bytes or the segment
/// ends. `carry` holds the start of a line the previous call read; it is
/// moved into `b`, and the start of the next line is left in it.
fn fill(
    r: &mut impl BufRead,
    carry: &mut Vec<u8>,
    b: &mut Batch,
    batch: usize,
) -> std::io::Result<Fill> {
    use std::io::Read;
    b.data.append(carry);
    loop {
        let have = b.data.len();
        // Into the batch's own buffer: the reader's buffer is bypassed once empty.
        let want = (batch + MAX_LINE).saturating_sub(have).max(MAX_LINE);
        let n = r.by_ref().take(want as u64).read_to_end(&mut b.data)?;
        for i in memchr::memchr_iter(b'\n', &b.data[have..]) {
            b.ends.push(have + i + 1);
        }
        let last = b.ends.last().copied().unwrap_or(0);
        if b.data.len() - last > MAX_LINE {
            // A line longer than any record: read it through its newline
            // without storing more of it (reported as oversized).
            let mut long = b.data.split_off(last);
            long.truncate(MAX_LINE + 1);
            let start = long.len();
            read_line(r, &mut long)?;
            if long.last() != Some(&b'\n') {
                return Ok(Fill::Partial(long));
            }
            long.truncate(start);
            long.push(b'\n');
            b.data.extend_from_slice(&long);
            b.ends.push(b.data.len());
        }
        let last = b.ends.last().copied().unwrap_or(0);
        if n == 0 {
            return Ok(if last < b.data.len() {
                Fill::Partial(b.data.split_off(last))
            } else {
                Fill::Eof
            });
        }
        if last > 0 && b.data.len() >= batch {
            carry.extend_from_slice(&b.data[last..]);
            b.data.truncate(last);
            return Ok(Fill::Full);
        }
    }
}

fn line_of<'d>(data: &'d [u8], ends: &[usize], k: usize) -> &'d [u8] {
    &data[if k == 0 { 0 } else { ends[k - 1] }..ends[k]]
}

/// Chunks of the parallel stage for one batch: any thread takes the next.
type Chunks<'b> = std::iter::Enumerate<
    std::iter::Zip<std::slice::ChunksMut<'b, Option<Pre>>, std::slice::ChunksMut<'b, bool>>,
>;

/// The parallel stage of one batch: frame and hash every line, and note the
/// lines that may be break-glass records.
struct Work<'b> {
    data: &'b [u8],
    ends: &'b [usize],
    chunks: std::sync::Mutex<Chunks<'b>>,
    break_glass: &'b memchr::memmem::Finder<'b>,
}

impl Work<'_> {
    /// Take chunks until none is left.
    fn run(&self) {
        let mut hs = record::Hashers::default();
        loop {
            let next = self.chunks.lock().map(|mut c| c.next());
            let Ok(Some((c, (out, rev)))) = next else {
                return;
            };
            for (j, (o, r)) in out.iter_mut().zip(rev).enumerate() {
                let line = line_of(self.data, self.ends, c * CHUNK_LINES + j);
                *o = record::frame(line).map(|f| (hs.record_hash(f.body), f.hash, f.seal));
                *r = self.break_glass.find(line).is_some();
            }
        }
    }
}

impl Batch {
    fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
        self.pre.clear();
        self.review.clear();
    }

    /// The batch's parallel stage, for threads to [`Work::run`].
    fn work<'b>(&'b mut self, break_glass: &'b memchr::memmem::Finder<'b>) -> Work<'b> {
        let Batch {
            data,
            ends,
            pre,
            review,
        } = self;
        pre.clear();
        pre.resize(ends.len(), None);
        review.clear();
        review.resize(ends.len(), false);
        let chunks = pre
            .chunks_mut(CHUNK_LINES)
            .zip(review.chunks_mut(CHUNK_LINES))
            .enumerate();
        Work {
            data,
            ends,
            chunks: std::sync::Mutex::new(chunks),
            break_glass,
        }
    }

    /// The sequential stage, in order. Returns the bytes checked.
    fn check(&self, v: &mut Verifier<'_, '_>) -> u64 {
        for k in 0..self.ends.len() {
            v.line(
                line_of(&self.data, &self.ends, k),
                self.pre[k],
                self.review[k],
            );
        }
        self.data.len() as u64
    }
}

/// Read through the next `\n` (or EOF) into `buf`, without allocating per line.
/// Lines longer than `MAX_LINE` are consumed but not stored beyond it (reported as oversized).
fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let start = buf.len();
    loop {
        let avail = r.fill_buf()?;
        if avail.is_empty() {
            return Ok(buf.len() - start);
        }
        match memchr_nl(avail) {
            Some(i) => {
                if buf.len() - start > MAX_LINE {
                    // Keep the line oversized (and newline-terminated) without storing all of it.
                    buf.push(b'\n');
                    r.consume(i + 1);
                    return Ok(buf.len() - start);
                }
                buf.extend_from_slice(&avail[..=i]);
                r.consume(i + 1);
                return Ok(buf.len() - start);
            }
            None => {
                let n = avail.len();
                if buf.len() - start <= MAX_LINE {
                    buf.extend_from_slice(avail);
                }
                r.consume(n);
                // Stop growing absurd lines: keep reading (they are reported as oversized).
            }
        }
    }
}

/// Read a state file's two slots for verification: the newer and, when it
/// is the state of a written (not flushed) record, the older one.
pub fn read_state_slots(path: &Path) -> Result<(State, Option<State>), VerifyError> {
    match State::read_slots(path) {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(VerifyError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "missing or empty (nothing written yet)",
            ),
        }),
        Err(source) => Err(VerifyError::State {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A state file as the verifier reads it ([`read_state_file`]).
pub enum StateFile {
    /// The newer slot and, when both are valid, the older one.
    Slots(Box<(State, Option<State>)>),
    /// No usable slot: why ([`Options::state_damaged`]).
    Damaged(String),
}

/// Read a state file for `jit-verify log --state`: a missing or unreadable
/// file is an error (could not check), a file whose slots no crash can leave
/// is [`StateFile::Damaged`] (a finding, tampered).
pub fn read_state_file(path: &Path) -> Result<StateFile, VerifyError> {
    use super::state::StateError;
    match read_state_slots(path) {
        Ok(slots) => Ok(StateFile::Slots(Box::new(slots))),
        Err(VerifyError::State {
            source: e @ (StateError::Corrupt | StateError::Inconsistent(..)),
            ..
        }) => Ok(StateFile::Damaged(e.to_string())),
        Err(e) => Err(e),
    }
}

/// The hash a `state_ahead` recovery names: "... record N (hash HEX) ...".
fn lost_hash(message: &str) -> Option<[u8; 32]> {
    let at = message.find("(hash ")? + "(hash ".len();
    crate::text::unhex::<32>(message.get(at..at + 64)?.as_bytes())
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', b)
}

fn check_state(v: &mut Verifier<'_, '_>, st: &State, older: Option<&State>) {
    if let Some(id) = v.log_id {
        if id != st.log_id {
            v.push(
                Class::Tampered,
                Kind::StateMismatch,
                Some(st.seq),
                "the state file belongs to another log".into(),
            );
            return;
        }
    }
    // The state repeats the key id of the log's start/continue records.
    if let Some(id) = v.log_key_id {
        if id != st.key_id {
            v.push(
                Class::Tampered,
                Kind::StateMismatch,
                Some(st.seq),
                format!(
                    "the state's key id {} is not the log's ({}): the state was forged or belongs to another log",
                    hex(&st.key_id),
                    hex(&id)
                ),
            );
        }
    }
    match v.last {
        None => v.push(Class::Tampered, Kind::StateMismatch, Some(st.seq), "the state names a head record but the log has none".into()),
        // The state's size is where its head record ends in the current
        // segment (its device and inode name the file on the host, which a
        // copy does not keep: not checked).
        Some((seq, h)) if seq == st.seq && h == st.head && st.size != v.last_end => v.push(
            Class::Tampered,
            Kind::StateMismatch,
            Some(st.seq),
            format!(
                "the state's head is the log's last record, but the state says the segment ends at byte {} and the record ends at byte {}: segment cut, padded or not the current file",
                st.size, v.last_end
            ),
        ),
        Some((seq, h)) if seq == st.seq && h == st.head => {}
        Some((seq, _))
            if (st.seq.checked_add(1) == Some(seq) && v.before_last == Some(st.head)
                || st.seq.checked_add(2) == Some(seq)
                    && v.recent.iter().any(|r| *r == (st.seq, st.head)))
                && v.keys.is_none()
                && !behind_sealed_with_state_key(v, st) =>
        {
            v.push(
                Class::Tampered,
                Kind::StateKey,
                Some(st.seq),
                format!(
                    "the state is behind the log (seq {} vs log {seq}) but the records after its head are not sealed with its key: not a crash leftover; the state or those records were forged",
                    st.seq
                ),
            )
        }
        Some((seq, _)) if st.seq.checked_add(1) == Some(seq) && v.before_last == Some(st.head) => v.push(
            Class::Torn,
            Kind::StateBehind,
            Some(st.seq),
            format!("the state is one step behind (seq {} vs log {seq}): a crash before the state update; the next append repairs it", st.seq),
        ),
        // A power cut took the written record the newer slot names, and
        // the older slot (the flushed record before it) is the log's end
        // (docs/log-format.md, "Durability").
        Some((seq, h))
            if older.is_some_and(|o| {
                o.seq == seq && o.head == h && o.log_id == st.log_id && st.seq == seq.wrapping_add(1)
            }) =>
        {
            v.push(
                Class::Torn,
                Kind::StateAhead,
                Some(st.seq),
                format!(
                    "the state names record {} (hash {}), a record written but not flushed that the log does not hold: a power cut lost it; the next append records this (state_ahead)",
                    st.seq,
                    hex(&st.head)
                ),
            )
        }
        // Two behind: a power cut after a written record's state (not
        // flushed) and the next flushed record's log flush, before its state
        // reached the disk (docs/log-format.md, "Durability"). No crash
        // leaves the state further behind: that is a rolled-back state.
        Some((seq, _))
            if st.seq.checked_add(2) == Some(seq)
                && v.recent.iter().any(|r| *r == (st.seq, st.head)) =>
        {
            v.push(
                Class::Torn,
                Kind::StateBehind,
                Some(st.seq),
                format!(
                    "the state is {} records behind (seq {} vs log {seq}): a crash or power cut before the state updates reached the disk; the next append adopts them",
                    seq - st.seq,
                    st.seq
                ),
            )
        }
        Some((seq, _)) if st.seq > seq => v.push(
            Class::Tampered,
            Kind::StateMismatch,
            Some(st.seq),
            format!("the state says the log runs to seq {} but it ends at seq {seq}: records cut from the tail", st.seq),
        ),
        Some((seq, _)) => v.push(
            Class::Tampered,
            Kind::StateMismatch,
            Some(st.seq),
            format!(
                "the state (seq {}, head {}) does not match the log's end (seq {seq}): state rolled back, replaced, or log rewritten",
                st.seq,
                hex(&st.head)
            ),
        ),
    }
    if let Some(kw) = v.keys.as_mut() {
        // The state holds k_{seq+1}; nobody can make it for an earlier seq.
        let want = st.seq.checked_add(1).and_then(|s| {
            kw.restarts = 0;
            kw.at(s)
        });
        if want != Some(st.key) {
            v.push(
                Class::Tampered,
                Kind::StateKey,
                Some(st.seq),
                format!(
                    "the state's key is not k_{}: the state was forged or rolled back",
                    st.seq.wrapping_add(1)
                ),
            );
        }
    }
}

/// A state behind the log is a crash leftover only when every record after
/// its head verifies with the key it holds, evolved (docs/log-format.md,
/// "Recovery"): without the seal key, that is the state's only proof.
fn behind_sealed_with_state_key(v: &Verifier<'_, '_>, st: &State) -> bool {
    let mut key = st.key;
    let mut want = st.seq.wrapping_add(1);
    let mut ok = true;
    for &(seq, hash, seal) in v.last_seals.iter().filter(|r| r.0 > st.seq) {
        if seq != want || record::seal(&key, &hash) != seal {
            ok = false;
            break;
        }
        key = record::evolve(&key);
        want = want.wrapping_add(1);
    }
    key.zeroize();
    ok && want == v.last.map_or(0, |l| l.0).wrapping_add(1)
}

fn check_syslog(v: &mut Verifier<'_, '_>, anchors: &[Anchor]) {
    let id = v.log_id.map(|l| hex(&l));
    let hashes = v.hashes.take().unwrap_or_default();
    let first = v.first_seq.unwrap_or(0);
    let last = v.last.map(|l| l.0);
    // Seqs mirrored (a RELP collector may hold a line twice: counted once).
    let mut seen = std::collections::HashSet::new();
    for a in anchors
        .iter()
        .filter(|a| id.as_deref().map_or(true, |i| i == a.log_id))
    {
        v.line_no = a.line;
        if last.map_or(true, |l| a.seq > l) {
            v.push(
                Class::Tampered,
                Kind::SyslogBeyondEnd,
                Some(a.seq),
                format!(
                    "syslog holds seq {} but the log ends at {}: records cut from the tail",
                    a.seq,
                    last.map_or("-".into(), |l| l.to_string())
                ),
            );
            continue;
        }
        if a.seq < first {
            continue;
        }
        seen.insert(a.seq);
        match hashes.get(&a.seq) {
            Some((h, d)) if *h == a.hash && a.record.map_or(true, |r| r == *d) => {}
            Some((h, _)) if *h == a.hash => v.push(
                Class::Tampered,
                Kind::SyslogMismatch,
                Some(a.seq),
                format!(
                    "syslog's copy of record {} differs from the log's line (same hash {}): record rewritten",
                    a.seq,
                    hex(h)
                ),
            ),
            Some(_) if v.lost.get(&a.seq) == Some(&a.hash) => v.push(
                Class::Note,
                Kind::Recovery,
                Some(a.seq),
                format!(
                    "syslog mirrors record {} (hash {}), which a power cut took from the log (state_ahead recovery)",
                    a.seq,
                    hex(&a.hash)
                ),
            ),
            Some((h, _)) => v.push(
                Class::Tampered,
                Kind::SyslogMismatch,
                Some(a.seq),
                format!(
                    "syslog has hash {} for seq {} but the log has {}: record rewritten",
                    hex(&a.hash),
                    a.seq,
                    hex(h)
                ),
            ),
            None => v.push(
                Class::Tampered,
                Kind::SyslogMismatch,
                Some(a.seq),
                format!(
                    "syslog names seq {} which is missing from the log: record deleted",
                    a.seq
                ),
            ),
        }
    }
    v.line_no = 0;
    let missing = hashes.keys().filter(|s| !seen.contains(*s)).count();
    if missing > 0 {
        v.push(
            Class::Warning,
            Kind::SyslogNotMirrored,
            None,
            format!("{missing} records have no syslog mirror line (syslog is lossy)"),
        );
    }
}

#[cfg(test)]
mod tests;
