//! Many logs' records merged by time (`jit-verify query` over a fleet).
//!
//! Each log is read through a [`RecordSource`], "the lines of one log, in
//! order", so that where the lines come from (the segment files of a host
//! log, [`SegmentFiles`]; later a collector's files) is apart from the
//! merge. The merge is a k-way merge holding one line per log: memory grows
//! with the number of logs, not of records.

use super::query::{Filter, QueryError};
use super::record::{self, Record};
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

/// One log to merge.
pub struct LogInput {
    pub source: Box<dyn RecordSource>,
    /// Stop after the record with this seq: the last one verification saw,
    /// so nothing appended after verifying is shown as verified.
    pub last_seq: Option<u64>,
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
    while !h.done && h.input.source.next_line(&mut h.line)? {
        // Bytes without their newline are no record (a torn tail, or
        // something appended): `jit-verify log` never accepts them.
        if h.line.last() != Some(&b'\n') || h.line.len() > record::MAX_LINE {
            *unparsable += 1;
            continue;
        }
        let Ok(rec) = record::parse(&h.line) else {
            *unparsable += 1;
            continue;
        };
        if h.input.last_seq == Some(rec.seq) {
            h.done = true;
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
    h.done = true;
    Ok(None)
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

    fn rec(host: &str, seq: u64, min: u32, user: &str) -> Vec<u8> {
        let mut r = Record::new(EventKind::Decision);
        r.host = host.to_string().into();
        r.seq = seq;
        r.time = format!("2026-11-19T14:{min:02}:00.000000Z").into();
        r.user = Some(user.to_string().into());
        r.run_as_user = Some(if user == "alice" { "root" } else { "postgres" }.into());
        r.allowed = Some(seq % 2 == 1);
        r.ticket = (user == "bob").then(|| "INC-7".into());
        r.prev = "00".repeat(32).into();
        let mut l = serde_json::to_vec(&r).unwrap();
        l.push(b'\n');
        l
    }

    fn input(lines: Vec<Vec<u8>>, last_seq: Option<u64>) -> LogInput {
        LogInput {
            source: Box::new(Lines { lines, next: 0 }),
            last_seq,
        }
    }

    fn run(inputs: Vec<LogInput>, filter: &Filter) -> (Vec<(String, u64)>, MergeStats) {
        let mut got = Vec::new();
        let stats = merge(inputs, filter, |_, _, line, r| {
            assert_eq!(record::parse(line).unwrap().seq, r.seq);
            got.push((r.host.to_string(), r.seq));
            Ok(())
        })
        .unwrap();
        (got, stats)
    }

    fn three() -> Vec<LogInput> {
        vec![
            // Given out of host order: the order of the output is by time.
            input(
                vec![
                    rec("web-01", 0, 1, "carol"),
                    rec("web-01", 1, 5, "alice"),
                    rec("web-01", 2, 9, "bob"),
                ],
                None,
            ),
            input(
                vec![
                    rec("db-01", 0, 2, "alice"),
                    rec("db-01", 1, 5, "alice"),
                    rec("db-01", 2, 7, "bob"),
                ],
                None,
            ),
            input(vec![rec("app-01", 0, 5, "alice")], None),
        ]
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
    fn stops_at_the_last_verified_seq_and_counts_what_is_no_record() {
        let mut torn = rec("db-01", 3, 8, "eve");
        torn.pop();
        let db = vec![
            rec("db-01", 0, 2, "alice"),
            b"not json\n".to_vec(),
            rec("db-01", 1, 5, "alice"),
            rec("db-01", 2, 7, "bob"),
            torn,
        ];
        let (got, stats) = run(vec![input(db.clone(), None)], &Filter::default());
        assert_eq!(got.len(), 3);
        assert_eq!(stats.unparsable, vec![2]);
        // Verified up to seq 1: seq 2 and what follows are not shown.
        let (got, stats) = run(vec![input(db, Some(1))], &Filter::default());
        assert_eq!(got, vec![("db-01".into(), 0), ("db-01".into(), 1)]);
        assert_eq!(stats.unparsable, vec![1]);
    }

    #[test]
    fn an_endless_log_stops_at_the_last_verified_seq() {
        // Lines appended while the query runs: never read past what was
        // verified.
        struct Endless(u64);
        impl RecordSource for Endless {
            fn next_line(&mut self, line: &mut Vec<u8>) -> Result<bool, QueryError> {
                line.clear();
                line.extend_from_slice(&rec("db-01", self.0, 1, "alice"));
                self.0 += 1;
                Ok(true)
            }
            fn position(&self) -> (&Path, u64) {
                (Path::new("endless"), self.0)
            }
        }
        let inputs = vec![LogInput {
            source: Box::new(Endless(0)),
            last_seq: Some(10_000),
        }];
        let (got, _) = run(inputs, &Filter::default());
        assert_eq!(got.len(), 10_001);
    }

    #[test]
    fn segment_files_read_in_order_with_positions() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("audit.log.1");
        let b = d.path().join("audit.log");
        std::fs::write(
            &a,
            [rec("db-01", 0, 1, "alice"), rec("db-01", 1, 2, "alice")].concat(),
        )
        .unwrap();
        std::fs::write(&b, rec("db-01", 2, 3, "bob")).unwrap();
        let mut positions = Vec::new();
        let stats = merge(
            vec![LogInput {
                source: Box::new(SegmentFiles::new(vec![a.clone(), b.clone()])),
                last_seq: None,
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
