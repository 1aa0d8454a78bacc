//! Many logs' records merged by time (`jit-verify query` over a fleet).
//!
//! Each log is read through a [`RecordSource`], "the lines of one log, in
//! order", so that where the lines come from (the segment files of a host
//! log, [`SegmentFiles`]; a collector's mirror files, [`MirrorSource`]) is
//! apart from the merge. The merge is a k-way merge holding one line per log: memory grows
//! with the number of logs, not of records.

use super::query::{Filter, QueryError};
use super::record::{self, unhex, Record};
use super::verify::{self, Options, Outcome, Report};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// The lines of one log, in log order.
pub trait RecordSource {
    /// Read the next line into `line` (cleared first), with its newline if
    /// it has one; `Ok(false)` at the end.
    fn next_line(&mut self, line: &mut Vec<u8>) -> Result<bool, QueryError>;
    /// Where the last line read came from: file and line number.
    fn position(&self) -> (&Path, u64);
}

/// The segment files of one log, oldest first (as
/// [`super::segments::group_segments`] orders them).
pub struct SegmentFiles {
    files: Vec<PathBuf>,
    /// The file being read (index into `files`) and its reader.
    cur: usize,
    reader: Option<std::io::BufReader<std::fs::File>>,
    line: u64,
}

impl SegmentFiles {
    /// Read `files` one after the other.
    pub fn new(files: Vec<PathBuf>) -> Self {
        SegmentFiles {
            files,
            cur: 0,
            reader: None,
            line: 0,
        }
    }
}

impl RecordSource for SegmentFiles {
    fn next_line(&mut self, line: &mut Vec<u8>) -> Result<bool, QueryError> {
        line.clear();
        while self.cur < self.files.len() {
            let path = &self.files[self.cur];
            let io = |source| QueryError::Io {
                path: path.clone(),
                source,
            };
            let r = match &mut self.reader {
                Some(r) => r,
                None => {
                    let f = std::fs::File::open(path).map_err(io)?;
                    self.line = 0;
                    self.reader
                        .insert(std::io::BufReader::with_capacity(1 << 16, f))
                }
            };
            if r.read_until(b'\n', line).map_err(io)? > 0 {
                self.line += 1;
                return Ok(true);
            }
            self.reader = None;
            self.cur += 1;
        }
        Ok(false)
    }

    fn position(&self) -> (&Path, u64) {
        let i = self.cur.min(self.files.len().saturating_sub(1));
        (
            self.files.get(i).map_or(Path::new(""), |p| p.as_path()),
            self.line,
        )
    }
}

/// What verification found at the end of a log: the merge reads that chain
/// and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verified {
    /// The last record's seq: reading stops after it, so nothing appended
    /// after verifying is shown as verified.
    pub last_seq: u64,
    /// The last record's hash. Each line read must match its own hash and
    /// link to the one before, and the record at `last_seq` must have this
    /// hash: the lines shown are those verified, even if a file was
    /// replaced between verifying and reading.
    pub last_hash: [u8; 32],
    /// Seq ranges (inclusive, ascending) the copy read does not hold whole:
    /// the gaps and hash-only records of a collector's copy that
    /// verification saw. The lines read may skip exactly these seqs (the
    /// link across them is what verification checked); any other jump is a
    /// change. Empty for a host log.
    pub missing: Vec<(u64, u64)>,
}

impl Verified {
    /// Are seqs `first..=last` all in [`Verified::missing`]?
    fn skips(&self, first: u64, last: u64) -> bool {
        let mut need = first;
        for &(a, b) in &self.missing {
            if need > last {
                break;
            }
            if a <= need && need <= b {
                need = b.saturating_add(1);
                if b == u64::MAX {
                    return true;
                }
            }
        }
        need > last
    }

    /// After the record at `prev` (none read yet: `None`), are the seqs up
    /// to [`Verified::last_seq`] all in [`Verified::missing`], so that the
    /// copy may end (or go past the last verified record) there?
    fn skips_to_end(&self, prev: Option<u64>) -> bool {
        let from = prev.map_or(self.last_seq, |p| p.wrapping_add(1));
        from <= self.last_seq && self.skips(from, self.last_seq)
    }
}

/// One log to merge.
pub struct LogInput {
    pub source: Box<dyn RecordSource>,
    /// `None`: read unverified (lines that are no record are counted).
    pub verified: Option<Verified>,
}

impl LogInput {
    /// The segment files of one log, read unverified.
    pub fn unverified(files: Vec<PathBuf>) -> Self {
        LogInput {
            source: Box::new(SegmentFiles::new(files)),
            verified: None,
        }
    }
}

/// One log, verified: its segment files and the verifier's report.
pub struct CheckedLog {
    pub files: Vec<PathBuf>,
    pub report: Report,
}

impl CheckedLog {
    /// Verify the segments of one log (oldest first) exactly as
    /// `jit-verify log` does without a seal key or state (`partial`: its
    /// `--partial`).
    pub fn verify(files: Vec<PathBuf>, partial: bool) -> Result<Self, QueryError> {
        let opts = Options {
            partial,
            ..Options::default()
        };
        let report = verify::verify_files(&files, &opts)?;
        Ok(CheckedLog { files, report })
    }

    /// The log's records for a merge, bound to the chain verified; `None`
    /// unless the log is intact (nothing is answered from any other).
    pub fn input(self) -> Option<LogInput> {
        if self.report.outcome != Outcome::Intact {
            return None;
        }
        let last_hash = unhex::<32>(self.report.last_hash.as_deref()?.as_bytes())?;
        Some(LogInput {
            source: Box::new(SegmentFiles::new(self.files)),
            verified: Some(Verified {
                last_seq: self.report.last_seq?,
                last_hash,
                missing: Vec::new(),
            }),
        })
    }
}

/// One log's records from a collector's mirror files
/// ([`super::source::MirrorReader`]), in seq order: the records held whole,
/// each once. Records the copy does not hold are skipped (verification
/// listed them: [`Verified::missing`]); lines that do not read as a
/// verified copy does (a second, different line for a seq, a malformed
/// line) are an error for a verified input and, unverified, a line that is
/// no record (counted by the merge).
pub struct MirrorSource {
    reader: super::source::MirrorReader,
    file: usize,
    line: u64,
}

impl MirrorSource {
    /// Log `log_id`'s mirror `files`, by first seq (as
    /// [`super::source::scan`] orders them), lines out of place put back
    /// within `window` records.
    pub fn new(files: Vec<PathBuf>, log_id: &str, window: usize) -> Self {
        MirrorSource {
            reader: super::source::MirrorReader::new(files, log_id, window),
            file: 0,
            line: 0,
        }
    }
}

impl RecordSource for MirrorSource {
    fn next_line(&mut self, line: &mut Vec<u8>) -> Result<bool, QueryError> {
        use super::source::Pulled;
        line.clear();
        loop {
            match self.reader.next_item()? {
                None => return Ok(false),
                Some(Pulled::Missing { .. }) => continue,
                Some(Pulled::Record {
                    file,
                    line: n,
                    record,
                    ..
                }) => {
                    (self.file, self.line) = (file, n);
                    *line = record;
                    return Ok(true);
                }
                Some(Pulled::Problem { file, line: n, .. }) => {
                    // No record: the merge counts it, or (verified) stops.
                    (self.file, self.line) = (file, n);
                    return Ok(true);
                }
            }
        }
    }

    fn position(&self) -> (&Path, u64) {
        (
            self.reader
                .files()
                .get(self.file)
                .map_or(Path::new(""), |p| p.as_path()),
            self.line,
        )
    }
}

/// What a merge read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeStats {
    /// Records shown.
    pub shown: u64,
    /// Lines that are no record (unparsable, too long, or without their
    /// newline), per input, in input order.
    pub unparsable: Vec<u64>,
}

/// The merge order of a record: time, then host, then seq, then which
/// input (so equal records of two inputs keep the input order).
type Key = Reverse<(String, String, u64, usize)>;

struct Head {
    input: LogInput,
    line: Vec<u8>,
    done: bool,
    /// The seq and hash of the last line read (verified inputs).
    prev: Option<(u64, [u8; 32])>,
}

/// Call `f` for every record of `inputs` that `filter` matches, in time
/// order (ties: host, then seq). Records of one log keep their log order;
/// the logs are merged by time (a log whose clock went back is not
/// re-sorted). `f` gets the record's file, line number, the line as stored
/// (with its newline) and the parsed record; its error is
/// [`QueryError::Output`].
pub fn merge(
    inputs: Vec<LogInput>,
    filter: &Filter,
    mut f: impl FnMut(&Path, u64, &[u8], &Record<'_>) -> std::io::Result<()>,
) -> Result<MergeStats, QueryError> {
    let mut stats = MergeStats {
        shown: 0,
        unparsable: vec![0; inputs.len()],
    };
    let mut heads: Vec<Head> = inputs
        .into_iter()
        .map(|input| Head {
            input,
            line: Vec::new(),
            done: false,
            prev: None,
        })
        .collect();
    let mut heap: BinaryHeap<Key> = BinaryHeap::with_capacity(heads.len());
    for (i, (h, bad)) in heads.iter_mut().zip(&mut stats.unparsable).enumerate() {
        if let Some(k) = advance(h, i, filter, bad)? {
            heap.push(k);
        }
    }
    while let Some(Reverse((_, _, _, i))) = heap.pop() {
        let h = &mut heads[i];
        let rec = record::parse(&h.line).map_err(|e| QueryError::Io {
            path: h.input.source.position().0.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        let (path, n) = h.input.source.position();
        f(path, n, &h.line, &rec).map_err(QueryError::Output)?;
        stats.shown += 1;
        if let Some(k) = advance(h, i, filter, &mut stats.unparsable[i])? {
            heap.push(k);
        }
    }
    Ok(stats)
}

/// Move `h` to its next matching record; its merge key, or `None` at the end.
fn advance(
    h: &mut Head,
    i: usize,
    filter: &Filter,
    unparsable: &mut u64,
) -> Result<Option<Key>, QueryError> {
    while !h.done {
        if !h.input.source.next_line(&mut h.line)? {
            h.done = true;
            if let Some(v) = &h.input.verified {
                // The last verified record may be one the copy does not hold.
                if !v.skips_to_end(h.prev.map(|p| p.0)) {
                    return Err(changed(
                        h,
                        format!("it ends before seq {}, the last verified", v.last_seq),
                    ));
                }
            }
            break;
        }
        let hash = match h.input.verified {
            Some(_) => Some(own_hash(&h.line).map_err(|why| changed(h, why))?),
            None => None,
        };
        if hash.is_none() && (h.line.last() != Some(&b'\n') || h.line.len() > record::MAX_LINE) {
            // Bytes without their newline are no record (a torn tail, or
            // something appended): `jit-verify log` never accepts them.
            *unparsable += 1;
            continue;
        }
        let Ok(rec) = record::parse(&h.line) else {
            if h.input.verified.is_some() {
                return Err(changed(h, "a line that is no record".into()));
            }
            *unparsable += 1;
            continue;
        };
        if let (Some(v), Some(hash)) = (&h.input.verified, hash) {
            if let Some((pseq, phash)) = h.prev {
                let links = if rec.seq == pseq.wrapping_add(1) {
                    rec.prev.as_bytes() == record::hex(&phash).as_bytes()
                } else {
                    rec.seq > pseq && v.skips(pseq + 1, rec.seq - 1)
                };
                if !links {
                    return Err(changed(
                        h,
                        "a record that does not link to the one before".into(),
                    ));
                }
            }
            if rec.seq > v.last_seq {
                // Past the last verified record, which the copy holds by
                // hash only: appended since, not shown.
                if !v.skips_to_end(h.prev.map(|p| p.0)) {
                    return Err(changed(h, format!("seq {} has another hash", v.last_seq)));
                }
                h.done = true;
                break;
            }
            h.prev = Some((rec.seq, hash));
            if rec.seq == v.last_seq {
                if hash != v.last_hash {
                    return Err(changed(h, format!("seq {} has another hash", v.last_seq)));
                }
                h.done = true;
            }
        }
        if filter.matches(&rec) {
            return Ok(Some(Reverse((
                rec.time.into_owned(),
                rec.host.into_owned(),
                rec.seq,
                i,
            ))));
        }
    }
    Ok(None)
}

/// The hash of a verified log's line, checked against its body.
fn own_hash(line: &[u8]) -> Result<[u8; 32], String> {
    let f = match line.last() {
        Some(b'\n') => record::frame(line),
        _ => None,
    }
    .ok_or("a line that is no record")?;
    let hash = record::record_hash(f.body);
    if hash != f.hash {
        return Err("a record that does not match its hash".into());
    }
    Ok(hash)
}

fn changed(h: &Head, why: String) -> QueryError {
    let (path, line) = h.input.source.position();
    QueryError::Changed {
        path: path.to_path_buf(),
        line,
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::record::EventKind;

    /// Lines in memory, as a source.
    struct Lines {
        lines: Vec<Vec<u8>>,
        next: usize,
    }

    impl RecordSource for Lines {
        fn next_line(&mut self, line: &mut Vec<u8>) -> Result<bool, QueryError> {
            line.clear();
            match self.lines.get(self.next) {
                Some(l) => {
                    line.extend_from_slice(l);
                    self.next += 1;
                    Ok(true)
                }
                None => Ok(false),
            }
        }
        fn position(&self) -> (&Path, u64) {
            (Path::new("mem"), self.next as u64)
        }
    }

    /// A decision record of `host` at 14:`min`, before sealing.
    fn rec(host: &str, min: u32, user: &str) -> Record<'static> {
        let mut r = Record::new(EventKind::Decision);
        r.host = host.to_string().into();
        r.time = format!("2026-11-19T14:{min:02}:00.000000Z").into();
        r.user = Some(user.to_string().into());
        r.run_as_user = Some(if user == "alice" { "root" } else { "postgres" }.into());
        r.ticket = (user == "bob").then(|| "INC-7".into());
        r
    }

    /// The lines of a log of `host` sealed by the real chain code (seq 0,
    /// 1, ...; odd seqs allowed), and its last hash.
    fn log(host: &str, recs: &[(u32, &str)]) -> (Vec<Vec<u8>>, [u8; 32]) {
        let mut c = crate::log::Chain::genesis(&[3u8; 32]);
        let lines = recs
            .iter()
            .map(|(min, user)| {
                let mut r = rec(host, *min, user);
                r.allowed = Some(c.next_seq() % 2 == 1);
                c.seal_next(&mut r).unwrap()
            })
            .collect();
        (lines, c.head())
    }

    fn input(lines: Vec<Vec<u8>>, verified: Option<Verified>) -> LogInput {
        LogInput {
            source: Box::new(Lines { lines, next: 0 }),
            verified,
        }
    }

    fn run(inputs: Vec<LogInput>, filter: &Filter) -> (Vec<(String, u64)>, MergeStats) {
        try_run(inputs, filter).unwrap()
    }

    fn try_run(
        inputs: Vec<LogInput>,
        filter: &Filter,
    ) -> Result<(Vec<(String, u64)>, MergeStats), QueryError> {
        let mut got = Vec::new();
        let stats = merge(inputs, filter, |_, _, line, r| {
            assert_eq!(record::parse(line).unwrap().seq, r.seq);
            got.push((r.host.to_string(), r.seq));
            Ok(())
        })?;
        Ok((got, stats))
    }

    /// Three hosts, given out of host order, verified up to their ends.
    fn three() -> Vec<LogInput> {
        [
            log("web-01", &[(1, "carol"), (5, "alice"), (9, "bob")]),
            log("db-01", &[(2, "alice"), (5, "alice"), (7, "bob")]),
            log("app-01", &[(5, "alice")]),
        ]
        .into_iter()
        .map(|(lines, last_hash)| {
            let last_seq = lines.len() as u64 - 1;
            input(
                lines,
                Some(Verified {
                    last_seq,
                    last_hash,
                    missing: Vec::new(),
                }),
            )
        })
        .collect()
    }

    #[test]
    fn merged_by_time_then_host_then_seq() {
        let (got, stats) = run(three(), &Filter::default());
        let want = [
            ("web-01", 0),
            ("db-01", 0),
            ("app-01", 0),
            ("db-01", 1),
            ("web-01", 1),
            ("db-01", 2),
            ("web-01", 2),
        ];
        let want: Vec<(String, u64)> = want.iter().map(|(h, s)| (h.to_string(), *s)).collect();
        assert_eq!(got, want);
        assert_eq!(stats.shown, 7);
        assert_eq!(stats.unparsable, vec![0, 0, 0]);
    }

    #[test]
    fn filters_apply_to_every_log() {
        let f = Filter {
            run_as: Some("root".into()),
            ..Default::default()
        };
        let (got, _) = run(three(), &f);
        assert_eq!(got.len(), 4, "{got:?}");
        let f = Filter {
            ticket: Some("INC-7".into()),
            ..Default::default()
        };
        let (got, _) = run(three(), &f);
        assert_eq!(got, vec![("db-01".into(), 2), ("web-01".into(), 2)]);
        let f = Filter {
            host: Some("db-01".into()),
            user: Some("alice".into()),
            since: Some("2026-11-19T14:02:00.000000Z".into()),
            until: Some("2026-11-19T14:05:00.000000Z".into()),
            ..Default::default()
        };
        let (got, _) = run(three(), &f);
        assert_eq!(got, vec![("db-01".into(), 0)]);
        let f = Filter {
            decision: Some(true),
            ..Default::default()
        };
        let (got, _) = run(three(), &f);
        assert_eq!(got, vec![("db-01".into(), 1), ("web-01".into(), 1)]);
    }

    #[test]
    fn unverified_logs_skip_and_count_what_is_no_record() {
        let (mut db, _) = log(
            "db-01",
            &[(2, "alice"), (5, "alice"), (7, "bob"), (8, "eve")],
        );
        db.last_mut().unwrap().pop(); // torn: no newline
        db.insert(1, b"not json\n".to_vec());
        let (got, stats) = run(vec![input(db, None)], &Filter::default());
        assert_eq!(got.len(), 3);
        assert_eq!(stats.unparsable, vec![2]);
    }

    #[test]
    fn a_verified_log_is_read_up_to_its_last_verified_record_only() {
        let (lines, _) = log("db-01", &[(2, "alice"), (5, "alice"), (7, "bob")]);
        let (first_two, head) = log("db-01", &[(2, "alice"), (5, "alice")]);
        assert_eq!(first_two, lines[..2]);
        // Verified when it held two records; a third appended since.
        let v = Verified {
            last_seq: 1,
            last_hash: head,
            missing: Vec::new(),
        };
        let (got, _) = run(
            vec![input(lines.clone(), Some(v.clone()))],
            &Filter::default(),
        );
        assert_eq!(got, vec![("db-01".into(), 0), ("db-01".into(), 1)]);
        // Filters do not stop the checks: nothing matches, all is read.
        let none = Filter {
            user: Some("nobody".into()),
            ..Default::default()
        };
        assert_eq!(run(vec![input(lines, Some(v))], &none).0, vec![]);
    }

    #[test]
    fn a_verified_log_that_changed_since_is_an_error() {
        let (lines, head) = log("db-01", &[(2, "alice"), (5, "alice"), (7, "bob")]);
        let v = Some(Verified {
            last_seq: 2,
            last_hash: head,
            missing: Vec::new(),
        });
        let changed = |lines: Vec<Vec<u8>>, why: &str| {
            let e = try_run(vec![input(lines, v.clone())], &Filter::default()).unwrap_err();
            assert!(
                matches!(&e, QueryError::Changed { why: w, .. } if w.contains(why)),
                "{e}"
            );
        };
        // A record edited (its hash no longer matches).
        let mut edited = lines.clone();
        let text = String::from_utf8(edited[1].clone()).unwrap();
        edited[1] = text.replace("alice", "alicf").into_bytes();
        changed(edited, "does not match its hash");
        // A record dropped: the next one does not link.
        changed(vec![lines[0].clone(), lines[2].clone()], "does not link");
        // Cut short.
        changed(lines[..2].to_vec(), "ends before seq 2");
        // A whole new chain put in its place.
        let (other, _) = log("db-01", &[(2, "alice"), (5, "mallory"), (7, "bob")]);
        changed(other, "has another hash");
        // Bytes that are no record.
        let mut junk = lines.clone();
        junk.insert(1, b"junk\n".to_vec());
        changed(junk, "no record");
        assert_eq!(run(vec![input(lines, v)], &Filter::default()).0.len(), 3);
    }

    #[test]
    fn only_an_intact_log_becomes_a_verified_input() {
        let k0 = [3u8; 32];
        let mut c = crate::log::Chain::genesis(&k0);
        let mut start = rec("db-01", 0, "-");
        start.kind = EventKind::Start;
        start.user = None;
        start.log_id = Some(record::hex(&[5u8; 16]).into());
        start.key_id = Some(record::key_id(&k0).into());
        let mut lines = vec![c.seal_next(&mut start).unwrap()];
        for (min, user) in [(1, "alice"), (2, "bob")] {
            lines.push(c.seal_next(&mut rec("db-01", min, user)).unwrap());
        }
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.log");
        std::fs::write(&p, lines.concat()).unwrap();
        let log = CheckedLog::verify(vec![p.clone()], false).unwrap();
        assert_eq!(log.report.outcome, Outcome::Intact);
        let input = log.input().unwrap();
        assert_eq!(
            input.verified,
            Some(Verified {
                last_seq: 2,
                last_hash: c.head(),
                missing: Vec::new(),
            })
        );
        assert_eq!(run(vec![input], &Filter::default()).0.len(), 3);
        let text = String::from_utf8(lines.concat()).unwrap();
        std::fs::write(&p, text.replacen("\"bob\"", "\"bxb\"", 1)).unwrap();
        let log = CheckedLog::verify(vec![p], false).unwrap();
        assert_eq!(log.report.outcome, Outcome::Tampered);
        assert!(log.input().is_none());
    }

    #[test]
    fn segment_files_read_in_order_with_positions() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("audit.log.1");
        let b = d.path().join("audit.log");
        let (lines, last_hash) = log("db-01", &[(1, "alice"), (2, "alice"), (3, "bob")]);
        std::fs::write(&a, lines[..2].concat()).unwrap();
        std::fs::write(&b, &lines[2]).unwrap();
        let mut positions = Vec::new();
        let stats = merge(
            vec![LogInput {
                source: Box::new(SegmentFiles::new(vec![a.clone(), b.clone()])),
                verified: Some(Verified {
                    last_seq: 2,
                    last_hash,
                    missing: Vec::new(),
                }),
            }],
            &Filter::default(),
            |p, n, _, r| {
                positions.push((p.to_path_buf(), n, r.seq));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(stats.shown, 3);
        assert_eq!(positions, vec![(a.clone(), 1, 0), (a, 2, 1), (b, 1, 2)]);
    }
}
