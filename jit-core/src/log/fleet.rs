//! `jit-verify fleet`: every host's log checked from the collector's copy
//! (docs/fleet.md, "jit-verify fleet"; findings in docs/log-format.md,
//! "Fleet findings").
//!
//! Inputs come from [`super::source::scan`]: per log id, the collector's
//! mirror files (the central copy) and, optionally, the host's own segments.
//! For each log:
//!
//! - the central copy is read in seq order ([`super::source::read_mirrors`])
//!   and its chain (and, with the log's seal key, its seals) checked by
//!   [`super::verify::Chain`], the verifier of `jit-verify log`; identical
//!   repeats (RELP resends) are counted, a second different record for a seq
//!   is tampering, gaps and records known by hash only are reported;
//! - with host segments, they are verified as `jit-verify log
//!   --against-syslog` does, against the central copy: a record the host no
//!   longer holds past its end (cut) or holds differently (rewritten) is
//!   tampering, named with the host and seq; each gap of the central copy
//!   says whether the host's log still has it;
//! - with `max_silence`, a host whose newest record in the central copy is
//!   older than `now - max_silence` is silent.
//!
//! Logs are checked in parallel ([`Options::threads`]), each streamed.

use super::merge::{self, LogInput, Verified};
use super::record::{self, hex};
use super::source::{self, Item, LogSources, Skipped, Sources};
use super::verify::{self, Anchor, Chain, Class, Finding, Kind, Report, SealKey};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Why the fleet could not be checked (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    #[error(transparent)]
    Source(#[from] source::SourceError),
    #[error(transparent)]
    Verify(#[from] verify::VerifyError),
    /// A seal key of a log none of the inputs holds.
    #[error("--seal-key for log {0} matches no log given")]
    KeyMatchesNoLog(String),
    /// Two seal keys for one log.
    #[error("two --seal-key files for log {0}")]
    TwoKeys(String),
}

/// How to check.
pub struct Options {
    /// Seal keys, each used for the log of its log id.
    pub seal_keys: Vec<SealKey>,
    /// Flag hosts whose newest record is older than this many seconds.
    pub max_silence: Option<u64>,
    /// The time silence is measured at, Unix seconds.
    pub now: i64,
    /// Logs checked at once.
    pub threads: usize,
    /// How many records out of place the central copy may hold and still be
    /// put back in order ([`source::read_mirrors`]).
    pub window: usize,
}

/// Lines out of place that are put back in order by default.
pub const WINDOW: usize = 4096;

/// Records the central copy does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub first: u64,
    pub last: u64,
    /// Whether the host's log still holds them all: `None` when no host
    /// segments of this log were given.
    pub host_has: Option<bool>,
}

/// What `fleet` says about one log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing wrong.
    Intact,
    /// Altered (on the host or in the central copy).
    Tampered,
    /// Not tampered, but needs a look: a silent host, records the central
    /// copy lacks or holds by hash only (and the host's log does not fill),
    /// lines out of place, no central copy.
    Attention,
    /// Crash leftovers only (in host segments).
    TornTail,
}

impl Outcome {
    /// 0 intact, 1 tampered, 4 attention, 3 crash leftovers only.
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Intact => 0,
            Outcome::Tampered => 1,
            Outcome::TornTail => 3,
            Outcome::Attention => 4,
        }
    }

    fn rank(self) -> u8 {
        match self {
            Outcome::Intact => 0,
            Outcome::TornTail => 1,
            Outcome::Attention => 2,
            Outcome::Tampered => 3,
        }
    }
}

/// One log's result.
#[derive(Debug, Clone, Serialize)]
pub struct LogReport {
    pub log_id: Option<String>,
    /// The host the central copy's lines name (else the records'), `?` if none.
    pub host: String,
    /// Every host name seen for this log (more than one is worth a look).
    pub hosts: Vec<String>,
    /// The central copy's files, by first seq.
    pub files: Vec<String>,
    /// The host's segments given, by first seq.
    pub host_segments: Vec<String>,
    /// Records the central copy holds (each seq once), or with no central
    /// copy, the host segments' records.
    pub records: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// Times of the first and last record checked in the central copy.
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    pub gaps: Vec<Gap>,
    /// Seqs the central copy holds by hash only (`rec-omitted=`, anchor-only lines).
    pub omitted: Vec<u64>,
    /// Identical repeated lines (RELP resends), counted once.
    pub duplicates: u64,
    /// Lines that came after a line of a higher seq (put back in order).
    pub out_of_order: u64,
    /// The host is silent for longer than `--max-silence`.
    pub silent: bool,
    /// Every seal of the central copy (and host segments) checked with the seal key.
    pub forward_integrity_checked: bool,
    /// Host segments were given and compared with the central copy.
    pub host_checked: bool,
    pub findings: Vec<Finding>,
    pub outcome: Outcome,
    pub exit_code: i32,
    /// Which copy answers a query or an export of this log, bound to what
    /// was verified; `None` when tampered or nothing was read. Not in the
    /// JSON.
    #[serde(skip)]
    pub answer: Option<Answer>,
}

/// Where the records of a checked log are read from for a query or an
/// export ([`LogReport::answer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The host's segments, given and not tampered (compared with the
    /// central copy when there is one): every record the host holds.
    Host(Verified),
    /// The central copy: the records it does not hold whole
    /// ([`Verified::missing`]) cannot be shown.
    Central(Verified),
}

impl LogReport {
    /// This log's records for [`merge::merge`], from the copy
    /// [`LogReport::answer`] names (`ls` is the log's entry in the
    /// [`Sources`] checked; `window` as for [`Options::window`]).
    pub fn input(&self, ls: &LogSources, window: usize) -> Option<LogInput> {
        Some(match self.answer.clone()? {
            Answer::Host(v) => LogInput {
                source: Box::new(merge::SegmentFiles::new(ls.segments.clone())),
                verified: Some(v),
            },
            Answer::Central(v) => LogInput {
                source: Box::new(merge::MirrorSource::new(
                    ls.mirrors.clone(),
                    ls.log_id.as_deref()?,
                    window,
                )),
                verified: Some(v),
            },
        })
    }
}

/// A log's records read without checking anything (`--no-verify`): the
/// host's segments when given, else the central copy.
pub fn unverified_input(ls: &LogSources, window: usize) -> LogInput {
    match (&ls.log_id, ls.segments.is_empty()) {
        (Some(id), true) => LogInput {
            source: Box::new(merge::MirrorSource::new(ls.mirrors.clone(), id, window)),
            verified: None,
        },
        _ => LogInput::unverified(ls.segments.clone()),
    }
}

/// The end of a verified chain, for [`Verified`].
fn chain_end(r: &Report) -> Option<(u64, [u8; 32])> {
    Some((
        r.last_seq?,
        record::unhex::<32>(r.last_hash.as_deref()?.as_bytes())?,
    ))
}

/// A host's newest record.
#[derive(Debug, Clone, Serialize)]
pub struct HostSeen {
    pub host: String,
    pub last_time: Option<String>,
    pub silent: bool,
}

/// The whole result.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    /// The worst of the logs' exit codes (1 > 4 > 3 > 0); 4 also when a file
    /// could not be read as a log or mirror file.
    pub exit_code: i32,
    pub logs: Vec<LogReport>,
    /// Per host (by name), its newest record in the central copy.
    pub hosts: Vec<HostSeen>,
    /// Files that are neither segments nor mirror files (empty files are
    /// listed but do not count), and paths not followed.
    pub unrecognised: Vec<Skipped>,
    /// Files of `jit-unrecorded` lines: events hosts could not record (read them).
    pub unrecorded: Vec<String>,
}

pub use crate::text::parse_duration;

/// Check every log in `src` (see the module documentation).
pub fn check(src: Sources, mut opts: Options) -> Result<FleetReport, FleetError> {
    // Each seal key to the log of its id.
    let mut keys: Vec<Option<SealKey>> = src.logs.iter().map(|_| None).collect();
    for k in std::mem::take(&mut opts.seal_keys) {
        let id = hex(&k.log_id);
        let i = src
            .logs
            .iter()
            .position(|l| l.log_id.as_deref() == Some(id.as_str()))
            .ok_or_else(|| FleetError::KeyMatchesNoLog(id.clone()))?;
        if keys[i].is_some() {
            return Err(FleetError::TwoKeys(id));
        }
        keys[i] = Some(k);
    }
    let jobs: Vec<(usize, &LogSources, Option<SealKey>)> = src
        .logs
        .iter()
        .zip(keys)
        .enumerate()
        .map(|(i, (l, k))| (i, l, k))
        .collect();
    let n = jobs.len();
    let jobs = std::sync::Mutex::new(jobs.into_iter());
    let results: std::sync::Mutex<Vec<Option<Result<LogReport, FleetError>>>> =
        std::sync::Mutex::new((0..n).map(|_| None).collect());
    let window = opts.window;
    let work = || loop {
        let next = jobs.lock().ok().and_then(|mut j| j.next());
        let Some((i, l, k)) = next else {
            return;
        };
        let r = check_log(l, k, window);
        if let Ok(mut res) = results.lock() {
            res[i] = Some(r);
        }
    };
    std::thread::scope(|s| {
        for _ in 1..opts.threads.clamp(1, n.max(1)) {
            s.spawn(work);
        }
        work();
    });
    let mut logs = Vec::with_capacity(n);
    for r in results.into_inner().unwrap_or_default() {
        match r {
            Some(r) => logs.push(r?),
            None => {
                return Err(FleetError::Source(source::SourceError::Io {
                    path: PathBuf::new(),
                    source: std::io::Error::other("a log check did not finish"),
                }))
            }
        }
    }
    // Silence, per host: its newest record over all its logs.
    let mut hosts: Vec<HostSeen> = Vec::new();
    for l in &logs {
        let t = l.last_time.clone();
        match hosts.iter_mut().find(|h| h.host == l.host) {
            Some(h) => {
                if t > h.last_time {
                    h.last_time = t;
                }
            }
            None => hosts.push(HostSeen {
                host: l.host.clone(),
                last_time: t,
                silent: false,
            }),
        }
    }
    hosts.sort_by(|a, b| a.host.cmp(&b.host));
    if let Some(max) = opts.max_silence {
        let cutoff = i128::from(opts.now) * 1_000_000 - i128::from(max) * 1_000_000;
        for h in &mut hosts {
            let newest = h
                .last_time
                .as_deref()
                .and_then(crate::text::log_time_micros)
                .map(i128::from);
            h.silent = newest.map_or(true, |t| t < cutoff);
        }
        for l in &mut logs {
            let Some(h) = hosts.iter().find(|h| h.host == l.host && h.silent) else {
                continue;
            };
            l.silent = true;
            let detail = match &h.last_time {
                Some(t) => format!(
                    "host {}: its newest record in the central copy is from {t}, more than {} before {}: silent (stopped sending, or stopped)",
                    h.host,
                    crate::text::human_duration(max),
                    crate::text::fmt_time(opts.now)
                ),
                None => format!(
                    "host {}: the central copy holds no record of it: silent",
                    h.host
                ),
            };
            l.findings
                .push(finding(Class::Warning, Kind::Silent, "", 0, None, detail));
        }
    }
    let mut worst = Outcome::Intact;
    for l in &mut logs {
        l.outcome = outcome(&l.findings);
        l.exit_code = l.outcome.exit_code();
        if l.outcome == Outcome::Tampered {
            l.answer = None;
        }
        if l.outcome.rank() > worst.rank() {
            worst = l.outcome;
        }
    }
    let mut unrecognised: Vec<Skipped> = src.skipped;
    for o in src.other {
        unrecognised.push(Skipped {
            file: o.path.display().to_string(),
            why: o.why.unwrap_or_default(),
        });
    }
    let counts = unrecognised.iter().any(|u| u.why != "empty");
    if counts && worst.rank() < Outcome::Attention.rank() {
        worst = Outcome::Attention;
    }
    Ok(FleetReport {
        exit_code: worst.exit_code(),
        logs,
        hosts,
        unrecognised,
        unrecorded: src
            .unrecorded
            .iter()
            .map(|f| f.path.display().to_string())
            .collect(),
    })
}

/// The kinds that, as a warning, need a look (exit 4).
fn attention(k: Kind) -> bool {
    matches!(
        k,
        Kind::MirrorGap
            | Kind::MirrorOmitted
            | Kind::MirrorLate
            | Kind::MirrorForeign
            | Kind::NoCentralCopy
            | Kind::Silent
    )
}

fn outcome(findings: &[Finding]) -> Outcome {
    if findings.iter().any(|f| f.class == Class::Tampered) {
        Outcome::Tampered
    } else if findings
        .iter()
        .any(|f| f.class == Class::Warning && attention(f.kind))
    {
        Outcome::Attention
    } else if findings.iter().any(|f| f.class == Class::Torn) {
        Outcome::TornTail
    } else {
        Outcome::Intact
    }
}

fn finding(
    class: Class,
    kind: Kind,
    file: &str,
    line: u64,
    seq: Option<u64>,
    detail: String,
) -> Finding {
    Finding {
        class,
        kind,
        file: file.to_string(),
        line,
        seq,
        detail,
    }
}

/// What the central copy showed.
#[derive(Default)]
struct Central {
    held: u64,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
    first_time: Option<String>,
    last_time: Option<String>,
    gaps: Vec<(u64, u64)>,
    omitted: Vec<u64>,
    anchors: Option<Vec<Anchor>>,
    stats: source::MirrorStats,
}

fn read_central(
    ls: &LogSources,
    key: Option<&SealKey>,
    window: usize,
    keep_anchors: bool,
) -> Result<(Central, Report), FleetError> {
    let id = ls.log_id.clone().unwrap_or_default();
    let id_raw = record::unhex::<16>(id.as_bytes());
    let copts = verify::Options {
        seal_key: key.map(SealKey::duplicate),
        partial: true,
        ..verify::Options::default()
    };
    let mut chain = Chain::new(&copts, id_raw);
    let mut c = Central {
        anchors: keep_anchors.then(Vec::new),
        ..Central::default()
    };
    let mut cur: Option<PathBuf> = None;
    let mut set_file = |chain: &mut Chain<'_, '_>, f: &Path| {
        if cur.as_deref() != Some(f) {
            cur = Some(f.to_path_buf());
            chain.set_file(&f.display().to_string());
        }
    };
    let stats = source::read_mirrors(&ls.mirrors, &id, window, |item| match item {
        Item::Record {
            seq,
            hash,
            file,
            line,
            record: rec,
        } => {
            set_file(&mut chain, file);
            let framed = record::frame(rec);
            let rec_seq = framed.and_then(|f| record::header(f.body)).map(|h| h.seq);
            if framed.is_some_and(|f| f.hash != hash) || rec_seq.is_some_and(|s| s != seq) {
                chain.push(
                    Class::Tampered,
                    Kind::MirrorAnchor,
                    line,
                    Some(seq),
                    format!("the mirror line's anchor (seq {seq}, hash {}) is not the record it carries: the line was altered", hex(&hash)),
                );
            }
            chain.record(rec, line);
            if let Some(a) = c.anchors.as_mut() {
                a.push(Anchor {
                    log_id: id.clone(),
                    seq,
                    hash,
                    line,
                    record: Some(*blake3::hash(rec).as_bytes()),
                });
            }
            c.held += 1;
            c.first_seq.get_or_insert(seq);
            c.last_seq = Some(seq);
        }
        Item::Known {
            seq,
            hash,
            file,
            line,
            ..
        } => {
            set_file(&mut chain, file);
            chain.known(seq, hash);
            c.omitted.push(seq);
            if let Some(a) = c.anchors.as_mut() {
                a.push(Anchor {
                    log_id: id.clone(),
                    seq,
                    hash,
                    line,
                    record: None,
                });
            }
            c.held += 1;
            c.first_seq.get_or_insert(seq);
            c.last_seq = Some(seq);
        }
        Item::Gap { first, last } => {
            chain.gap();
            c.gaps.push((first, last));
        }
        Item::Conflict { seq, file, line } => {
            set_file(&mut chain, file);
            chain.push(
                Class::Tampered,
                Kind::MirrorConflict,
                line,
                Some(seq),
                format!("a second, different line for seq {seq} (a RELP resend is an exact copy): one of them was altered or forged"),
            );
        }
        Item::Late { seq, file, line } => {
            set_file(&mut chain, file);
            chain.push(
                Class::Warning,
                Kind::MirrorLate,
                line,
                Some(seq),
                format!("seq {seq} comes after its place was passed (more than {window} lines out of order, or before the copy's first record): not checked in the chain"),
            );
        }
        Item::Foreign { log_id, file, line } => {
            set_file(&mut chain, file);
            chain.push(
                Class::Warning,
                Kind::MirrorForeign,
                line,
                None,
                format!(
                    "a mirror line of log {} in this log's file: not checked here",
                    crate::text::printable(log_id)
                ),
            );
        }
        Item::Unterminated { file, line } => {
            set_file(&mut chain, file);
            chain.push(
                Class::Note,
                Kind::MirrorOtherLines,
                line,
                None,
                "the file's last line has no newline (the collector is writing it): not read"
                    .into(),
            );
        }
        Item::Malformed { file, line, why } => {
            set_file(&mut chain, file);
            chain.push(
                Class::Tampered,
                Kind::Malformed,
                line,
                None,
                why.to_string(),
            );
        }
    })?;
    let (t1, t2) = chain.times();
    c.first_time = t1.map(str::to_string);
    c.last_time = t2.map(str::to_string);
    c.stats = stats;
    Ok((c, chain.finish()))
}

fn check_log(
    ls: &LogSources,
    key: Option<SealKey>,
    window: usize,
) -> Result<LogReport, FleetError> {
    let host = ls.hosts.first().cloned().unwrap_or_else(|| "?".into());
    let has_central = !ls.mirrors.is_empty();
    let has_host = !ls.segments.is_empty();
    let mut findings = Vec::new();
    let mut central = if has_central {
        Some(read_central(ls, key.as_ref(), window, has_host)?)
    } else {
        None
    };
    // The host's segments, against the central copy.
    let host_rep = if has_host {
        let hopts = verify::Options {
            seal_key: key.as_ref().map(SealKey::duplicate),
            syslog: central.as_mut().and_then(|c| c.0.anchors.take()),
            partial: true,
            ..verify::Options::default()
        };
        Some(verify::verify_files(&ls.segments, &hopts)?)
    } else {
        None
    };
    let host_covers = |a: u64, b: u64| -> Option<bool> {
        let h = host_rep.as_ref()?;
        Some(
            h.first_seq.is_some_and(|f| f <= a)
                && h.last_seq.is_some_and(|l| l >= b)
                && !h.findings.iter().any(|f| f.kind == Kind::SeqGap),
        )
    };
    let mut report = LogReport {
        log_id: ls.log_id.clone(),
        host: host.clone(),
        hosts: ls.hosts.clone(),
        files: ls.mirrors.iter().map(|p| p.display().to_string()).collect(),
        host_segments: ls
            .segments
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        records: 0,
        first_seq: None,
        last_seq: None,
        first_time: None,
        last_time: None,
        gaps: Vec::new(),
        omitted: Vec::new(),
        duplicates: 0,
        out_of_order: 0,
        silent: false,
        forward_integrity_checked: false,
        host_checked: has_host && has_central,
        findings: Vec::new(),
        outcome: Outcome::Intact,
        exit_code: 0,
        answer: None,
    };
    // The host's log answers when it was given and is not tampered: it holds
    // every record; else the central copy, but for what it does not hold.
    let host_answer = host_rep
        .as_ref()
        .filter(|h| !h.findings.iter().any(|f| f.class == Class::Tampered))
        .and_then(chain_end);
    if let Some((last_seq, last_hash)) = host_answer {
        report.answer = Some(Answer::Host(Verified {
            last_seq,
            last_hash,
            missing: Vec::new(),
        }));
    }
    if ls.hosts.len() > 1 {
        findings.push(finding(
            Class::Note,
            Kind::MirrorForeign,
            "",
            0,
            None,
            format!(
                "this log's files name several hosts: {} (a renamed host, or a copy elsewhere)",
                ls.hosts.join(", ")
            ),
        ));
    }
    let mut fi_checked = key.is_some();
    if let Some((c, r)) = central {
        fi_checked &= r.forward_integrity_checked;
        if let (None, Some((last_seq, last_hash))) = (&report.answer, chain_end(&r)) {
            let mut missing: Vec<(u64, u64)> = c.gaps.clone();
            missing.extend(c.omitted.iter().map(|&s| (s, s)));
            missing.sort_unstable();
            report.answer = Some(Answer::Central(Verified {
                last_seq,
                last_hash,
                missing,
            }));
        }
        findings.extend(r.findings);
        report.records = c.held;
        report.first_seq = c.first_seq;
        report.last_seq = c.last_seq;
        report.first_time = c.first_time;
        report.last_time = c.last_time;
        report.duplicates = c.stats.duplicates;
        report.out_of_order = c.stats.out_of_order;
        for (a, b) in c.gaps {
            let has = host_covers(a, b);
            let n = b - a + 1;
            let (class, what) = match has {
                Some(true) => (
                    Class::Note,
                    "the host's log still has them (compared below)",
                ),
                Some(false) => (Class::Warning, "the host's log does not have them all"),
                None => (Class::Warning, "no host log given to fill them"),
            };
            let range = if a == b {
                format!("missing seq {a}")
            } else {
                format!("missing seq {a}..{b} ({n} records)")
            };
            findings.push(finding(
                class,
                Kind::MirrorGap,
                "",
                0,
                Some(a),
                format!("host {host}: {range} in the central copy; {what}"),
            ));
            report.gaps.push(Gap {
                first: a,
                last: b,
                host_has: has,
            });
        }
        for &s in &c.omitted {
            let has = host_covers(s, s);
            let (class, what) = match has {
                Some(true) => (Class::Note, "its hash was compared with the host's record"),
                _ => (
                    Class::Warning,
                    "its content cannot be checked from the central copy",
                ),
            };
            findings.push(finding(
                class,
                Kind::MirrorOmitted,
                "",
                0,
                Some(s),
                format!("host {host}: the central copy holds record {s} by hash only (too long for a syslog line, or an anchor-only line); {what}"),
            ));
        }
        report.omitted = c.omitted;
        if c.stats.duplicates > 0 {
            findings.push(finding(
                Class::Note,
                Kind::MirrorDuplicate,
                "",
                0,
                None,
                format!("{} identical repeated lines (RELP resends after a reconnect): counted once, not tampering", c.stats.duplicates),
            ));
        }
        if c.stats.out_of_order > 0 {
            findings.push(finding(
                Class::Note,
                Kind::MirrorOrder,
                "",
                0,
                None,
                format!(
                    "{} lines came after a line of a higher seq: put back in seq order and checked",
                    c.stats.out_of_order
                ),
            ));
        }
        if c.stats.other_lines > 0 {
            findings.push(finding(
                Class::Note,
                Kind::MirrorOtherLines,
                "",
                0,
                None,
                format!(
                    "{} lines without a mirror line skipped",
                    c.stats.other_lines
                ),
            ));
        }
    } else {
        findings.push(finding(
            Class::Warning,
            Kind::NoCentralCopy,
            "",
            0,
            None,
            format!("host {host}: the central copy holds no line of this log (never forwarded, or not given)"),
        ));
    }
    // The file a syslog finding's line is in (its line numbers count in one file).
    let central_file = match ls.mirrors.as_slice() {
        [one] => one.display().to_string(),
        _ => "central copy".to_string(),
    };
    if let Some(h) = host_rep {
        fi_checked &= h.forward_integrity_checked;
        if !has_central {
            report.records = h.records;
            report.first_seq = h.first_seq;
            report.last_seq = h.last_seq;
        }
        for mut f in h.findings {
            match f.kind {
                Kind::SyslogBeyondEnd => {
                    f.kind = Kind::HostCut;
                    f.detail = format!("host {host}: record {} is in the central copy but no longer in the host's log: cut on the host after it was forwarded ({})", f.seq.unwrap_or(0), f.detail);
                    f.file.clone_from(&central_file);
                }
                Kind::SyslogMismatch => {
                    f.kind = Kind::HostMismatch;
                    f.detail = format!("host {host}: record {} differs between the host's log and the central copy: rewritten on the host after it was forwarded ({})", f.seq.unwrap_or(0), f.detail);
                    f.file.clone_from(&central_file);
                }
                Kind::SyslogNotMirrored => {
                    f.class = Class::Note;
                    f.detail = format!(
                        "host {host}: {} (not yet forwarded, or lost on the way)",
                        f.detail
                    );
                }
                _ => {}
            }
            findings.push(f);
        }
    }
    report.forward_integrity_checked = fi_checked;
    report.findings = findings;
    report.outcome = outcome(&report.findings);
    report.exit_code = report.outcome.exit_code();
    Ok(report)
}

#[cfg(test)]
mod tests;
