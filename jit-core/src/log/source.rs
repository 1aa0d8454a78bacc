//! Where a log's records are read from: host log segments and syslog files
//! holding mirror lines (a collector's tree, docs/fleet.md), found, told
//! apart and grouped by log id. `jit-verify fleet` and `jit-verify log` read
//! their inputs through this module; any reader of collector trees (queries,
//! exports) can too.
//!
//! - [`walk`]: the files under some paths: directories recursively, entries
//!   in byte order of their names, symbolic links met inside a directory
//!   not followed, to files as well as to directories (a link can point
//!   anywhere; a path given is followed), each file once (by device and
//!   inode). The one walker: every command that takes directories uses it.
//! - [`classify`]: what one file is ([`FileKind`]): a host log segment (its
//!   first line is a record), a mirror file (a line in its first 64 holds a
//!   `jit-log v1` mirror line), an `unrecorded.log` of `jit-unrecorded`
//!   lines, or something else (why, e.g. compressed); and the log id, first
//!   seq and host it names.
//! - [`scan`]: [`walk`] + [`classify`] + grouping by log id into
//!   [`Sources`]: per log ([`LogSources`], in log-id order) its segments and
//!   its mirror files, each list sorted by first seq.
//! - [`group_segments`]: segment files alone grouped by the log id of their
//!   first record and sorted by first seq (the ledger commands use it).
//! - [`read_mirrors`]: one log's records from its mirror files, streamed in
//!   seq order as [`Item`]s: each record once (the line with its `\n`, as
//!   the host's log holds it, plus the anchor's hash), records known by hash
//!   only (`rec-omitted=`, anchor-only lines), gaps, and what does not fit
//!   (a second, different record for a seq, lines of another log, lines that
//!   do not parse, lines too far out of place). Identical repeats (RELP
//!   resends) are counted, not yielded. Lines in order are passed through
//!   without being stored; out-of-order lines wait in a window of
//!   `window` records.
//!
//! Nothing here verifies a chain: [`super::verify::Chain`] does that with the
//! records [`read_mirrors`] yields.

use super::record::{self, MAX_LINE};
use super::syslog::{self, MirrorRecordRef};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Why inputs could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SourceError + '_ {
    move |source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A path not read, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub file: String,
    pub why: String,
}

/// The regular files under `paths` (see the module documentation), and the
/// paths not followed.
pub fn walk(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<Skipped>), SourceError> {
    use std::os::unix::fs::MetadataExt as _;
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = HashSet::new();
    fn visit(
        p: &Path,
        top: bool,
        out: &mut Vec<PathBuf>,
        skipped: &mut Vec<Skipped>,
        seen: &mut HashSet<(u64, u64)>,
    ) -> Result<(), SourceError> {
        let lm = std::fs::symlink_metadata(p).map_err(io(p))?;
        let m = if lm.file_type().is_symlink() {
            if !top {
                skipped.push(Skipped {
                    file: p.display().to_string(),
                    why: "a symbolic link (not followed: name its target to read it)".into(),
                });
                return Ok(());
            }
            std::fs::metadata(p).map_err(io(p))?
        } else {
            lm
        };
        if m.is_dir() {
            let mut names: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(io(p))?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .map_err(io(p))?;
            names.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
            for n in names {
                visit(&n, false, out, skipped, seen)?;
            }
        } else if m.is_file() {
            if seen.insert((m.dev(), m.ino())) {
                out.push(p.to_path_buf());
            }
        } else {
            skipped.push(Skipped {
                file: p.display().to_string(),
                why: "not a regular file".into(),
            });
        }
        Ok(())
    }
    for p in paths {
        visit(p, true, &mut out, &mut skipped, &mut seen)?;
    }
    Ok((out, skipped))
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A host log segment: one JSON record per line.
    Segment,
    /// Syslog lines carrying mirror lines (`jit-log v1 log=…`).
    Mirror,
    /// `jit-unrecorded v1` lines: events a host could not record.
    Unrecorded,
    /// Anything else (empty, compressed, unrelated).
    Other,
}

/// One classified file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub path: PathBuf,
    pub kind: FileKind,
    /// The log it belongs to: a segment's first record's `log_id` (a `start`
    /// or `continue` record names it; `None` for any other first record), a
    /// mirror file's first mirror line's `log=`.
    pub log_id: Option<String>,
    /// The seq of its first record or mirror line.
    pub first_seq: Option<u64>,
    /// The host a segment's first record names, or a mirror line's host.
    pub host: Option<String>,
    /// For [`FileKind::Other`]: why it is not read.
    pub why: Option<String>,
}

/// How many lines [`classify`] looks at for a mirror line.
const CLASSIFY_LINES: usize = 64;

/// What `path` holds (see the module documentation).
pub fn classify(path: &Path) -> Result<FileInfo, SourceError> {
    let f = std::fs::File::open(path).map_err(io(path))?;
    let mut r = BufReader::new(f.take(1 << 20));
    let mut info = FileInfo {
        path: path.to_path_buf(),
        kind: FileKind::Other,
        log_id: None,
        first_seq: None,
        host: None,
        why: None,
    };
    let mut buf = Vec::new();
    let mut unrecorded = false;
    for n in 0..CLASSIFY_LINES {
        buf.clear();
        let got = (&mut r)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(io(path))?;
        if got == 0 {
            if n == 0 {
                info.why = Some("empty".into());
            }
            break;
        }
        if n == 0 {
            if buf.starts_with(&[0x1f, 0x8b]) {
                info.why = Some("compressed (gzip): decompress it to check it".into());
                return Ok(info);
            }
            if let Ok(rec) = record::parse(&buf) {
                info.kind = FileKind::Segment;
                info.log_id = rec.log_id.map(|l| l.into_owned());
                info.first_seq = Some(rec.seq);
                info.host = Some(rec.host.into_owned());
                return Ok(info);
            }
            if buf.starts_with(b"{") {
                // A record line that does not parse: a damaged segment
                // (verification says what is wrong with it).
                info.kind = FileKind::Segment;
                return Ok(info);
            }
        }
        match syslog::parse_mirror_line_ref(&buf) {
            Some(Ok(m)) => {
                info.kind = FileKind::Mirror;
                info.log_id = Some(m.log_id.to_string());
                info.first_seq = Some(m.seq);
                info.host = m.host.map(str::to_string);
                return Ok(info);
            }
            Some(Err(_)) => {}
            None => unrecorded |= memchr::memmem::find(&buf, b"jit-unrecorded v1 ").is_some(),
        }
    }
    if unrecorded {
        info.kind = FileKind::Unrecorded;
    } else if info.why.is_none() {
        info.why = Some(format!(
            "neither a log segment nor a file of mirror lines (no `{}` line in its first {CLASSIFY_LINES} lines)",
            syslog::MARKER
        ));
    }
    Ok(info)
}

/// One log's files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSources {
    /// The log id; `None` for a segment whose first record names no log (a
    /// group of its own: verification says what is wrong with it).
    pub log_id: Option<String>,
    /// Host log segments, by first seq.
    pub segments: Vec<PathBuf>,
    /// Mirror files, by first seq.
    pub mirrors: Vec<PathBuf>,
    /// The host names the files name (mirror lines' hosts first), each once.
    pub hosts: Vec<String>,
}

/// Everything found under the paths given.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// One entry per log, in log-id order (then the segments that name no log).
    pub logs: Vec<LogSources>,
    /// Files of `jit-unrecorded` lines.
    pub unrecorded: Vec<FileInfo>,
    /// Files that are none of these.
    pub other: Vec<FileInfo>,
    /// Paths not read ([`walk`]).
    pub skipped: Vec<Skipped>,
}

/// [`walk`], [`classify`] every file, and group by log id.
pub fn scan(paths: &[PathBuf]) -> Result<Sources, SourceError> {
    let (files, skipped) = walk(paths)?;
    let mut out = Sources {
        skipped,
        ..Sources::default()
    };
    // Per log: its sources, and its segments and mirror files by first seq.
    type Group = (LogSources, Vec<(u64, PathBuf)>, Vec<(u64, PathBuf)>);
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut mirror_hosts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in files {
        let info = classify(&f)?;
        match info.kind {
            FileKind::Unrecorded => out.unrecorded.push(info),
            FileKind::Other => out.other.push(info),
            FileKind::Segment | FileKind::Mirror => {
                let key = match &info.log_id {
                    Some(id) => id.clone(),
                    None => format!("~{}", f.display()),
                };
                let g = groups.entry(key).or_default();
                g.0.log_id = info.log_id.clone();
                let at = (info.first_seq.unwrap_or(u64::MAX), f);
                if info.kind == FileKind::Mirror {
                    g.2.push(at);
                    if let (Some(h), Some(id)) = (info.host, &info.log_id) {
                        mirror_hosts.entry(id.clone()).or_default().push(h);
                    }
                } else {
                    g.1.push(at);
                    if let Some(h) = info.host {
                        g.0.hosts.push(h);
                    }
                }
            }
        }
    }
    for (_, (mut ls, mut segs, mut mirrors)) in groups {
        segs.sort_by_key(|(s, _)| *s);
        mirrors.sort_by_key(|(s, _)| *s);
        ls.segments = segs.into_iter().map(|(_, p)| p).collect();
        ls.mirrors = mirrors.into_iter().map(|(_, p)| p).collect();
        let mut hosts = ls
            .log_id
            .as_ref()
            .and_then(|id| mirror_hosts.remove(id))
            .unwrap_or_default();
        hosts.append(&mut ls.hosts);
        let mut once = HashSet::new();
        hosts.retain(|h| once.insert(h.clone()));
        ls.hosts = hosts;
        out.logs.push(ls);
    }
    Ok(out)
}

/// The first record of a file: (log_id, first seq), if it parses.
pub fn first_record(path: &Path) -> Result<(Option<String>, Option<u64>), SourceError> {
    let f = std::fs::File::open(path).map_err(io(path))?;
    let mut r = BufReader::new(f.take(MAX_LINE as u64 + 1));
    let mut buf = Vec::new();
    r.read_until(b'\n', &mut buf).map_err(io(path))?;
    Ok(match record::parse(&buf) {
        Ok(rec) => (rec.log_id.map(|l| l.into_owned()), Some(rec.seq)),
        Err(_) => (None, None),
    })
}

/// Group segment files by the `log_id` of their first record (a `start` or
/// `continue` record names it) and order each group by first `seq`, oldest
/// first: the segments of one chain, whatever order the shell globbed them in.
/// A file whose first record does not name a log is a group of its own
/// (verification then says what is wrong with it).
pub fn group_segments(files: &[PathBuf]) -> Result<Vec<Vec<PathBuf>>, SourceError> {
    let mut groups: BTreeMap<String, Vec<(u64, PathBuf)>> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        let (id, seq) = first_record(f)?;
        let key = id.unwrap_or_else(|| format!("~{i}:{}", f.display()));
        groups
            .entry(key)
            .or_default()
            .push((seq.unwrap_or(u64::MAX), f.clone()));
    }
    Ok(groups
        .into_values()
        .map(|mut g| {
            g.sort_by_key(|(s, _)| *s);
            g.into_iter().map(|(_, p)| p).collect()
        })
        .collect())
}

/// One log's segment files: its log id (`None`: no file names one) and the files.
pub type LogGroup = (Option<String>, Vec<PathBuf>);

/// Group segment files given in chain order (oldest first, as `jit-verify
/// log` takes them) by log id, keeping that order within each log. A file
/// whose first record names no log (an empty current segment after a
/// rotation, a damaged head) stays with the file before it, so one log's
/// files given in order are exactly one group, as they always were. Groups
/// in the order of their first file. Returns each group's log id too.
pub fn group_in_order(files: &[PathBuf]) -> Result<Vec<LogGroup>, SourceError> {
    let ids: Vec<Option<String>> = files
        .iter()
        .map(|f| first_record(f).map(|r| r.0))
        .collect::<Result<_, _>>()?;
    let mut out: Vec<LogGroup> = Vec::new();
    for id in ids.iter().flatten() {
        if !out.iter().any(|(g, _)| g.as_deref() == Some(id.as_str())) {
            out.push((Some(id.clone()), Vec::new()));
        }
    }
    if out.len() <= 1 {
        let id = out.pop().and_then(|g| g.0);
        return Ok(vec![(id, files.to_vec())]);
    }
    // Several logs: a file naming none goes with the file before it (the
    // first ones with the first log named after them).
    let mut current = ids.iter().flatten().next().cloned();
    for (f, id) in files.iter().zip(&ids) {
        if id.is_some() {
            current = id.clone();
        }
        if let Some(g) = out.iter_mut().find(|(g, _)| *g == current) {
            g.1.push(f.clone());
        }
    }
    Ok(out)
}

/// One thing [`read_mirrors`] found, in seq order for the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// A record held whole: `record` is the line as the host's log holds it,
    /// with its `\n`; `hash` is the hash the mirror line's anchor names.
    Record {
        seq: u64,
        hash: [u8; 32],
        file: &'a Path,
        line: u64,
        record: &'a [u8],
    },
    /// A record known by its anchor alone: `omitted` is its length when the
    /// line said `rec-omitted=`, `None` for an anchor-only line.
    Known {
        seq: u64,
        hash: [u8; 32],
        file: &'a Path,
        line: u64,
        omitted: Option<usize>,
    },
    /// No line holds records `first..=last` (between two records yielded).
    Gap { first: u64, last: u64 },
    /// A second line for `seq` that is not the same as the first one yielded
    /// or held: the same seq with a different record (or anchor).
    Conflict { seq: u64, file: &'a Path, line: u64 },
    /// A line with seq `seq` came after its place had been passed (more than
    /// the window of lines out of place, or before the first record yielded):
    /// not yielded.
    Late { seq: u64, file: &'a Path, line: u64 },
    /// A mirror line of another log (not yielded).
    Foreign {
        log_id: &'a str,
        file: &'a Path,
        line: u64,
    },
    /// A file's last line has no `\n`: a line the collector is still
    /// writing (rsyslog may write a line in two writes). Not read.
    Unterminated { file: &'a Path, line: u64 },
    /// A line that holds the mirror marker but does not parse, or is longer
    /// than any mirror line.
    Malformed {
        file: &'a Path,
        line: u64,
        why: &'static str,
    },
}

/// Counts [`read_mirrors`] keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MirrorStats {
    /// Lines read.
    pub lines: u64,
    /// Lines without the mirror marker (skipped).
    pub other_lines: u64,
    /// Identical repeats of a line (not yielded).
    pub duplicates: u64,
    /// Lines that came after a line with a higher seq (put back in order).
    pub out_of_order: u64,
}

/// The longest line read: a mirror line is at most a few KiB (the message
/// limit of docs/log-format.md, "Syslog mirror"); a record whole is at most
/// [`MAX_LINE`] even when another collector lets such lines through.
const MAX_MIRROR_LINE: usize = 2 * MAX_LINE + 4096;

/// What identifies a record's line, to tell a repeat from a different line:
/// the first 16 bytes of its hash and of its seal when it is framed (the body
/// is then checked to hash to that hash), else BLAKE3 of the line; for a
/// record known by hash only, its hash.
type Fingerprint = [u8; 32];

fn fingerprint(line: &[u8]) -> Fingerprint {
    let mut fp = [0u8; 32];
    match record::frame(line) {
        Some(f) => {
            fp[..16].copy_from_slice(&f.hash[..16]);
            fp[16..].copy_from_slice(&f.seal[..16]);
        }
        None => fp = *blake3::hash(line).as_bytes(),
    }
    fp
}

/// A framed line whose body does not hash to its stored hash is not the
/// same as any other line with that fingerprint.
fn body_verifies(line: &[u8]) -> bool {
    record::frame(line).map_or(true, |f| record::record_hash(f.body) == f.hash)
}

/// The fingerprints of the records yielded, by seq.
#[derive(Default)]
struct Seen {
    base: u64,
    dense: Vec<Fingerprint>,
    sparse: HashMap<u64, Fingerprint>,
}

impl Seen {
    fn insert(&mut self, seq: u64, fp: Fingerprint) {
        if self.dense.is_empty() && self.sparse.is_empty() {
            self.base = seq;
        }
        match seq.checked_sub(self.base).map(|i| i as usize) {
            Some(i) if i < self.dense.len() + (1 << 16) => {
                if i >= self.dense.len() {
                    self.dense.resize(i + 1, [0; 32]);
                }
                self.dense[i] = fp;
            }
            _ => {
                self.sparse.insert(seq, fp);
            }
        }
    }

    fn get(&self, seq: u64) -> Option<&Fingerprint> {
        match seq.checked_sub(self.base).map(|i| i as usize) {
            Some(i) if i < self.dense.len() => Some(&self.dense[i]).filter(|f| **f != [0; 32]),
            _ => self.sparse.get(&seq),
        }
    }
}

/// A line waiting for its turn.
struct Pending {
    file: usize,
    line: u64,
    hash: [u8; 32],
    /// The record line with its `\n`, or None for a record known by hash.
    record: Option<Vec<u8>>,
    omitted: Option<usize>,
    fp: Fingerprint,
}

/// Where [`Stream`] sends what it finds; `fi` is the index of the file the
/// item is in (for a gap, the file of the record after it).
trait Emit {
    fn emit(&mut self, fi: usize, item: Item<'_>);
}

/// [`read_mirrors`]' callback.
struct Callback<F>(F);

impl<F: FnMut(Item<'_>)> Emit for Callback<F> {
    fn emit(&mut self, _fi: usize, item: Item<'_>) {
        (self.0)(item)
    }
}

/// One log's mirror files read line by line ([`Stream::step`]), the lines put
/// in seq order and sent to an [`Emit`]: the one reader behind
/// [`read_mirrors`] (pushing) and [`MirrorReader`] (pulling).
struct Stream<E> {
    files: Vec<PathBuf>,
    log_id: String,
    window: usize,
    emit: E,
    next: Option<u64>,
    max_read: Option<u64>,
    pending: BTreeMap<u64, Pending>,
    seen: Seen,
    stats: MirrorStats,
    free: Vec<Vec<u8>>,
    /// Reading: the file (index), its reader, its line number, the line.
    fi: usize,
    reader: Option<BufReader<std::fs::File>>,
    n: u64,
    raw: Vec<u8>,
    done: bool,
}

impl<E: Emit> Stream<E> {
    fn new(files: Vec<PathBuf>, log_id: String, window: usize, emit: E) -> Self {
        Stream {
            files,
            log_id,
            window: window.max(1),
            emit,
            next: None,
            max_read: None,
            pending: BTreeMap::new(),
            seen: Seen::default(),
            stats: MirrorStats::default(),
            free: Vec::new(),
            fi: 0,
            reader: None,
            n: 0,
            raw: Vec::with_capacity(8192),
            done: false,
        }
    }

    /// Read and take in the next line of the files; `false` once every file
    /// is read (what still waits has then been yielded).
    fn step(&mut self) -> Result<bool, SourceError> {
        while !self.done {
            let Some(path) = self.files.get(self.fi) else {
                self.drain(true);
                self.done = true;
                break;
            };
            let r = match &mut self.reader {
                Some(r) => r,
                None => {
                    let f = std::fs::File::open(path).map_err(io(path))?;
                    self.n = 0;
                    self.reader.insert(BufReader::with_capacity(1 << 18, f))
                }
            };
            let mut raw = std::mem::take(&mut self.raw);
            raw.clear();
            let read = read_bounded(r, &mut raw, MAX_MIRROR_LINE);
            let (got, cut) = match read {
                Ok(x) => x,
                Err(e) => {
                    self.raw = raw;
                    return Err(io(path)(e));
                }
            };
            if got == 0 {
                self.raw = raw;
                self.reader = None;
                self.fi += 1;
                continue;
            }
            self.n += 1;
            let (fi, n) = (self.fi, self.n);
            let file = &self.files[fi];
            if raw.last() != Some(&b'\n') && !cut {
                self.emit.emit(fi, Item::Unterminated { file, line: n });
            } else if cut {
                self.stats.lines += 1;
                self.emit.emit(
                    fi,
                    Item::Malformed {
                        file,
                        line: n,
                        why: "a line longer than any mirror line",
                    },
                );
            } else {
                self.line(fi, n, &raw);
            }
            self.raw = raw;
            return Ok(true);
        }
        Ok(false)
    }

    /// Yield `p` (seq `seq`), with the gap before it.
    fn out(&mut self, seq: u64, p: &Pending) {
        if let Some(n) = self.next {
            if seq > n {
                self.emit.emit(
                    p.file,
                    Item::Gap {
                        first: n,
                        last: seq - 1,
                    },
                );
            }
        }
        let file = &self.files[p.file];
        match &p.record {
            Some(r) => self.emit.emit(
                p.file,
                Item::Record {
                    seq,
                    hash: p.hash,
                    file,
                    line: p.line,
                    record: r,
                },
            ),
            None => self.emit.emit(
                p.file,
                Item::Known {
                    seq,
                    hash: p.hash,
                    file,
                    line: p.line,
                    omitted: p.omitted,
                },
            ),
        }
        self.seen.insert(seq, p.fp);
        self.next = Some(seq.wrapping_add(1));
    }

    /// Yield what is due: the next seq, or the lowest once the window is full
    /// (`all`: everything).
    fn drain(&mut self, all: bool) {
        while let Some(&seq) = self.pending.keys().next() {
            if !(all || self.next == Some(seq) || self.pending.len() > self.window) {
                break;
            }
            let Some(p) = self.pending.remove(&seq) else {
                break;
            };
            self.out(seq, &p);
            if let Some(r) = p.record {
                self.free.push(r);
            }
        }
    }

    /// Is `line` (file `file`) the same as the line `have` for its seq?
    fn same(fp: &Fingerprint, have: &Fingerprint, line: Option<&[u8]>) -> bool {
        fp == have && line.map_or(true, body_verifies)
    }

    fn line(&mut self, fi: usize, n: u64, raw: &[u8]) {
        let file = &self.files[fi];
        self.stats.lines += 1;
        let m = match syslog::parse_mirror_line_ref(raw) {
            None => {
                self.stats.other_lines += 1;
                return;
            }
            Some(Err(_)) => {
                return self.emit.emit(
                    fi,
                    Item::Malformed {
                        file,
                        line: n,
                        why: "a mirror line whose anchor or record does not parse",
                    },
                )
            }
            Some(Ok(m)) => m,
        };
        if m.log_id != self.log_id.as_str() {
            return self.emit.emit(
                fi,
                Item::Foreign {
                    log_id: m.log_id,
                    file,
                    line: n,
                },
            );
        }
        let seq = m.seq;
        // The record's line, with its `\n`, in a reused buffer.
        let mut buf = self.free.pop().unwrap_or_default();
        buf.clear();
        let (have_record, omitted) = match m.record {
            MirrorRecordRef::Text(r) => {
                buf.extend_from_slice(r);
                buf.push(b'\n');
                (true, None)
            }
            MirrorRecordRef::Base64(r) => {
                use base64::Engine as _;
                if base64::engine::general_purpose::STANDARD
                    .decode_vec(r, &mut buf)
                    .is_err()
                {
                    self.free.push(buf);
                    return self.emit.emit(
                        fi,
                        Item::Malformed {
                            file,
                            line: n,
                            why: "a mirror line whose rec64= is not base64",
                        },
                    );
                }
                buf.push(b'\n');
                (true, None)
            }
            MirrorRecordRef::Omitted(k) => (false, Some(k)),
            MirrorRecordRef::Absent => (false, None),
        };
        let fp = if have_record {
            fingerprint(&buf)
        } else {
            m.hash
        };
        let rec = have_record.then_some(&buf[..]);
        // A repeat of a line waiting or already yielded.
        let known = self.pending.get(&seq).map(|p| (p.fp, p.hash)).or_else(|| {
            self.next
                .filter(|nx| seq < *nx)
                .and_then(|_| self.seen.get(seq).map(|f| (*f, m.hash)))
        });
        if let Some((have, hash)) = known {
            if hash == m.hash && Self::same(&fp, &have, rec) {
                self.stats.duplicates += 1;
            } else {
                self.emit.emit(fi, Item::Conflict { seq, file, line: n });
            }
            self.free.push(buf);
            return;
        }
        if self.next.is_some_and(|nx| seq < nx) {
            self.free.push(buf);
            return self.emit.emit(fi, Item::Late { seq, file, line: n });
        }
        if self.max_read.is_some_and(|mx| seq < mx) {
            self.stats.out_of_order += 1;
        }
        self.max_read = Some(self.max_read.map_or(seq, |mx| mx.max(seq)));
        if self.next.is_none() && seq == 0 {
            self.next = Some(0);
        }
        let p = Pending {
            file: fi,
            line: n,
            hash: m.hash,
            record: None,
            omitted,
            fp,
        };
        if self.pending.is_empty() && self.next == Some(seq) {
            // In order: passed through, not stored.
            let p = Pending {
                record: have_record.then(|| std::mem::take(&mut buf)),
                ..p
            };
            self.out(seq, &p);
            self.free.push(p.record.unwrap_or(buf));
            return;
        }
        let p = Pending {
            record: if have_record {
                Some(buf)
            } else {
                self.free.push(buf);
                None
            },
            ..p
        };
        self.pending.insert(seq, p);
        self.drain(false);
    }
}

/// Stream the records of log `log_id` from its mirror `files` (in the order
/// given; lines are put back in seq order within a window of `window`
/// records) to `emit` (see [`Item`]).
pub fn read_mirrors(
    files: &[PathBuf],
    log_id: &str,
    window: usize,
    emit: impl FnMut(Item<'_>),
) -> Result<MirrorStats, SourceError> {
    let mut s = Stream::new(files.to_vec(), log_id.to_string(), window, Callback(emit));
    while s.step()? {}
    Ok(s.stats)
}

/// What [`MirrorReader`] yields, in seq order: the part of [`Item`] a reader
/// of records needs. `file` indexes [`MirrorReader::files`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pulled {
    /// [`Item::Record`]: the record line, with its `\n`.
    Record {
        seq: u64,
        file: usize,
        line: u64,
        record: Vec<u8>,
    },
    /// Records `first..=last` are not held whole: an [`Item::Gap`], or an
    /// [`Item::Known`] (`first == last`).
    Missing { first: u64, last: u64 },
    /// An [`Item::Conflict`] or [`Item::Malformed`]: the copy does not read
    /// as a verified one does.
    Problem {
        file: usize,
        line: u64,
        why: &'static str,
    },
}

/// [`MirrorReader`]'s queue: lines out of order come out of the window
/// several at a time.
#[derive(Default)]
struct Queue(std::collections::VecDeque<Pulled>);

impl Emit for Queue {
    fn emit(&mut self, fi: usize, item: Item<'_>) {
        let p = match item {
            Item::Record {
                seq, line, record, ..
            } => Pulled::Record {
                seq,
                file: fi,
                line,
                record: record.to_vec(),
            },
            Item::Known { seq, .. } => Pulled::Missing {
                first: seq,
                last: seq,
            },
            Item::Gap { first, last } => Pulled::Missing { first, last },
            Item::Conflict { line, .. } => Pulled::Problem {
                file: fi,
                line,
                why: "a second, different line for a seq",
            },
            Item::Malformed { line, why, .. } => Pulled::Problem {
                file: fi,
                line,
                why,
            },
            // Not part of the chain read in order: lines past their place,
            // of another log, or still being written.
            Item::Late { .. } | Item::Foreign { .. } | Item::Unterminated { .. } => return,
        };
        self.0.push_back(p);
    }
}

/// [`read_mirrors`] pulled: the same reading, one [`Pulled`] at a time, so a
/// reader (a merge of many logs by time) holds one record per log.
pub struct MirrorReader {
    s: Stream<Queue>,
}

impl MirrorReader {
    /// Read log `log_id` from its mirror `files` (see [`read_mirrors`]).
    pub fn new(files: Vec<PathBuf>, log_id: &str, window: usize) -> Self {
        MirrorReader {
            s: Stream::new(files, log_id.to_string(), window, Queue::default()),
        }
    }

    /// The next item; `None` at the end.
    pub fn next_item(&mut self) -> Result<Option<Pulled>, SourceError> {
        loop {
            if let Some(p) = self.s.emit.0.pop_front() {
                return Ok(Some(p));
            }
            if !self.s.step()? {
                return Ok(self.s.emit.0.pop_front());
            }
        }
    }

    /// The files read.
    pub fn files(&self) -> &[PathBuf] {
        &self.s.files
    }

    /// What was counted so far.
    pub fn stats(&self) -> MirrorStats {
        self.s.stats
    }
}

/// Read through the next `\n` (or EOF) into `buf`, keeping at most `max`
/// bytes: (bytes consumed, whether the line was longer than `max`).
fn read_bounded(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(usize, bool)> {
    let mut total = 0;
    let mut cut = false;
    loop {
        let avail = r.fill_buf()?;
        if avail.is_empty() {
            return Ok((total, cut));
        }
        let (take, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        if buf.len() + take <= max {
            buf.extend_from_slice(&avail[..take]);
        } else {
            cut = true;
        }
        total += take;
        r.consume(take);
        if done {
            return Ok((total, cut));
        }
    }
}

#[cfg(test)]
mod tests;
