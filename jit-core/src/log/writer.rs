//! The appending writer (docs/log-format.md, "Appending").

use super::record::{self, hex, EventKind, Record, MAX_LINE};
use super::state::State;
use super::{syslog, Appended, Durability, Event, LogConfig, LogError};
use crate::fs::private_parent as parent;
use crate::fs::{ensure_private_dir, give_to_root, lock_file, open_create, sync_dir};
use nix::fcntl::Flock;
use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroize;

/// The sealing side of the chain: next seq, head hash, current key.
pub struct Chain {
    next: u64,
    head: [u8; 32],
    key: [u8; 32],
}

impl Drop for Chain {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl Chain {
    /// A new chain whose first record (seq 0) is sealed with `k0`.
    pub fn genesis(k0: &[u8; 32]) -> Chain {
        Chain {
            next: 0,
            head: record::GENESIS_PREV,
            key: *k0,
        }
    }

    /// Continue after `head` at `seq` with `key` = k_{seq+1}.
    pub fn resume(seq: u64, head: [u8; 32], key: [u8; 32]) -> Chain {
        Chain {
            next: seq.wrapping_add(1),
            head,
            key,
        }
    }

    /// seq the next record gets.
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    /// Hash of the last sealed record.
    pub fn head(&self) -> [u8; 32] {
        self.head
    }

    /// Set seq and prev of `rec`, encode and seal it, and advance (key evolves).
    pub fn seal_next(&mut self, rec: &mut Record<'_>) -> Result<Vec<u8>, LogError> {
        rec.seq = self.next;
        rec.prev = Cow::Owned(hex(&self.head));
        let (line, h) = record::encode(rec, &self.key)?;
        let next_key = record::evolve(&self.key);
        self.key.zeroize();
        self.key = next_key;
        self.head = h;
        self.next = self.next.wrapping_add(1);
        Ok(line)
    }

    fn to_state(&self, base: &State, dev: u64, ino: u64, size: u64) -> State {
        State {
            seq: self.next.wrapping_sub(1),
            head: self.head,
            key: self.key,
            log_id: base.log_id,
            dev,
            ino,
            size,
            key_id: base.key_id,
        }
    }
}

fn io_err<'p>(op: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> LogError + 'p {
    move |source| LogError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// UTC now as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub(crate) fn now_string() -> Result<String, LogError> {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| LogError::Time("the clock is before 1970".into()))?;
    utc_micros(d.as_secs(), d.subsec_micros())
        .ok_or_else(|| LogError::Time("the clock is past 9999".into()))
}

/// `secs.micros` after the Unix epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ`
/// (proleptic Gregorian, UTC), or `None` after year 9999. Written out here
/// rather than through a date library: it runs for every record inside sudo,
/// where every page of code touched costs (docs/pam-module.md).
fn utc_micros(secs: u64, micros: u32) -> Option<String> {
    // Days to civil date: H. Hinnant, "chrono-Compatible Low-Level Date
    // Algorithms", civil_from_days, for days >= 0.
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    if year > 9999 || micros >= 1_000_000 {
        return None;
    }
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut v: u64| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, rem / 3600);
    put(14, 2, rem % 3600 / 60);
    put(17, 2, rem % 60);
    put(20, 6, u64::from(micros));
    Some(b.iter().map(|&c| c as char).collect())
}

/// Refuse to write when this process's file-size limit (RLIMIT_FSIZE) is
/// below what the record needs (the log's new end, or the state file's
/// size): the write would kill the process with SIGXFSZ (or, with the signal
/// ignored, be cut short) and leave a torn record. sudo 1.9 lifts the limit
/// before PAM runs; sudo-rs keeps the invoking user's, who could otherwise
/// tear the log at will.
fn check_size_limit(log_end: u64, path: &Path) -> Result<(), LogError> {
    use nix::sys::resource::{getrlimit, Resource, RLIM_INFINITY};
    let (soft, _) = getrlimit(Resource::RLIMIT_FSIZE).map_err(|e| LogError::Io {
        op: "read the file-size limit for",
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    let needed = log_end.max(super::state::STATE_LEN);
    if soft != RLIM_INFINITY && needed > soft {
        return Err(LogError::FileSizeLimit {
            path: path.to_path_buf(),
            limit: soft,
            needed,
        });
    }
    Ok(())
}

/// Take the writer lock (flock on `state_path.lock`).
fn lock(cfg: &LogConfig) -> Result<Flock<File>, LogError> {
    Ok(lock_file(&cfg.lock_path())?)
}

fn fill<'a>(ev: &'a Event, host: &'a str, time: &str) -> Record<'a> {
    let c = |o: &'a Option<String>| o.as_deref().map(|s| record::cap(s, record::STR_CAP));
    let mut r = Record::new(ev.kind);
    r.time = Cow::Owned(time.to_string());
    r.host = record::cap(host, record::STR_CAP);
    r.user = c(&ev.user);
    r.run_as_user = c(&ev.run_as_user);
    r.run_as_group = c(&ev.run_as_group);
    r.tty = c(&ev.tty);
    r.command = ev
        .command_path
        .as_deref()
        .map(|s| record::cap(s, record::COMMAND_CAP));
    if let Some(argv) = &ev.argv {
        let (kept, t) = record::fit_argv(argv);
        r.argv = Some(kept);
        r.argv_truncated = t;
    }
    r.token_id = c(&ev.token_id);
    r.issuer = c(&ev.issuer);
    r.kid = c(&ev.kid);
    r.token_reason = c(&ev.token_reason);
    r.ticket = c(&ev.ticket);
    r.approver = c(&ev.approver);
    r.allowed = ev.allowed;
    r.reason_code = c(&ev.reason_code);
    r.message = c(&ev.message);
    r.pid = ev.pid;
    r.session_secs = ev.session_secs.filter(|s| s.is_finite());
    r.break_glass = ev.break_glass.then_some(true);
    r
}

/// The open files of one append, under the lock.
struct Open<'c> {
    cfg: &'c LogConfig,
    log: File,
    state_file: File,
    dev: u64,
    ino: u64,
    size: u64,
    base: State,
    chain: Chain,
    /// `(seq, hash, kind, break-glass alert, line)` of each record written;
    /// the line only when it is mirrored (syslog on, or an alert).
    written: Vec<Written>,
    /// The head record was written but not flushed (the state file holds two
    /// slots): the next record must be flushed.
    pending: bool,
}

impl Open<'_> {
    /// A flushed record: one write(), fdatasync, then the state.
    fn write(&mut self, rec: Record<'_>) -> Result<u64, LogError> {
        self.write_with(rec, Durability::Flushed)
    }

    /// One write(), then, when the record is flushed (asked for, or the one
    /// before it was not), fdatasync and the flushed state; else the written
    /// state (docs/log-format.md, "Durability").
    fn write_with(&mut self, mut rec: Record<'_>, d: Durability) -> Result<u64, LogError> {
        let flush = d == Durability::Flushed || self.pending;
        let kind = rec.kind;
        let alert = syslog::break_glass_alert(&rec);
        let line = self.chain.seal_next(&mut rec)?;
        let path = &self.cfg.log_path;
        check_size_limit(self.size + line.len() as u64, path)?;
        let n = (&self.log).write(&line).map_err(io_err("write", path))?;
        if n != line.len() {
            // Usually the file system is full. Writing the rest once tells the
            // user why (ENOSPC, EDQUOT, EIO...) and, if space has appeared,
            // completes the record; a record left torn is repaired (and
            // recorded) by the next writer.
            let short = |written: usize, cause: String| LogError::ShortWrite {
                path: path.clone(),
                written,
                len: line.len(),
                cause,
            };
            match (&self.log).write(&line[n..]) {
                Ok(m) if n + m == line.len() => {}
                Ok(m) => return Err(short(n + m, "the kernel reported no error".into())),
                Err(e) => return Err(short(n, e.to_string())),
            }
        }
        if flush {
            self.log.sync_data().map_err(io_err("fdatasync", path))?;
        }
        self.size += line.len() as u64;
        let st = self
            .chain
            .to_state(&self.base, self.dev, self.ino, self.size);
        let stored = if flush {
            st.store(&self.state_file)
        } else {
            st.store_written(&self.state_file)
        };
        stored.map_err(io_err("update state", &self.cfg.state_path))?;
        self.pending = !flush;
        let seq = st.seq;
        let keep = (self.cfg.syslog || alert.is_some()).then_some(line);
        self.written
            .push((seq, self.chain.head(), kind, alert, keep));
        Ok(seq)
    }

    /// Several records as one: one write(), one fdatasync, then the flushed
    /// state. Until that fdatasync none of them is durable; after it, all
    /// are (the durability of one flushed record). The seal keys between the
    /// first and the last never reach the disk.
    fn write_batch(&mut self, recs: Vec<Record<'_>>) -> Result<Vec<u64>, LogError> {
        let path = &self.cfg.log_path;
        let mut buf = Vec::new();
        let mut seqs = Vec::with_capacity(recs.len());
        let mut written = Vec::with_capacity(recs.len());
        for mut rec in recs {
            let kind = rec.kind;
            let alert = syslog::break_glass_alert(&rec);
            let line = self.chain.seal_next(&mut rec)?;
            let seq = rec.seq;
            buf.extend_from_slice(&line);
            seqs.push(seq);
            let keep = (self.cfg.syslog || alert.is_some()).then(|| line.clone());
            written.push((seq, self.chain.head(), kind, alert, keep));
        }
        // (On an error nothing was written; the chain advanced only in this
        // Open, which the caller drops.)
        check_size_limit(self.size + buf.len() as u64, path)?;
        (&self.log).write_all(&buf).map_err(io_err("write", path))?;
        self.log.sync_data().map_err(io_err("fdatasync", path))?;
        self.size += buf.len() as u64;
        let st = self
            .chain
            .to_state(&self.base, self.dev, self.ino, self.size);
        st.store(&self.state_file)
            .map_err(io_err("update state", &self.cfg.state_path))?;
        self.pending = false;
        self.written.extend(written);
        Ok(seqs)
    }

    fn recovery(
        &mut self,
        found: &'static str,
        message: String,
        discarded: Option<&[u8]>,
    ) -> Result<u64, LogError> {
        let t = now_string()?;
        let mut r = Record::new(EventKind::Recovery);
        r.time = Cow::Owned(t);
        r.host = record::cap(&self.cfg.host, record::STR_CAP);
        r.found = Some(Cow::Borrowed(found));
        r.message = Some(Cow::Owned(message));
        if let Some(d) = discarded {
            r.discarded_bytes = Some(d.len() as u64);
            r.discarded_blake3 = Some(Cow::Owned(hex(blake3::hash(d).as_bytes())));
        }
        self.write(r)
    }
}

/// Read the last complete line ending exactly at `end` (which must be preceded by `\n`).
fn line_ending_at(f: &File, end: u64) -> std::io::Result<Option<Vec<u8>>> {
    if end == 0 {
        return Ok(None);
    }
    let mut want = 4096u64.min(end);
    loop {
        let start = end - want;
        let mut buf = vec![0u8; want as usize];
        f.read_exact_at(&mut buf, start)?;
        if buf.last() != Some(&b'\n') {
            return Ok(None);
        }
        let body = &buf[..buf.len() - 1];
        if let Some(p) = body.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(buf[p + 1..].to_vec()));
        }
        if start == 0 {
            return Ok(Some(buf));
        }
        if want > MAX_LINE as u64 {
            return Ok(None);
        }
        want = (MAX_LINE as u64 + 1).min(end);
    }
}

/// `true` when `line` is a well-framed record whose recomputed hash is `head`.
fn line_is_head(line: &[u8], head: &[u8; 32]) -> bool {
    match record::frame(line) {
        Some(f) => f.hash == *head && record::record_hash(f.body) == *head,
        None => false,
    }
}

/// Append one event and wait for the disk: lock, check, append, fdatasync,
/// update state, unlock. The same as [`append_with`] `Durability::Flushed`.
pub fn append(cfg: &LogConfig, ev: &Event) -> Result<Appended, LogError> {
    append_with(cfg, ev, Durability::Flushed)
}

/// Append one event, flushed or only written (docs/log-format.md,
/// "Durability"). Either way the record is in the log file when this
/// returns; only a `Flushed` one is also on disk.
pub fn append_with(cfg: &LogConfig, ev: &Event, d: Durability) -> Result<Appended, LogError> {
    let _lock = lock(cfg)?;
    let mut o = open(cfg)?;
    let t = now_string()?;
    let seq = o.write_with(fill(ev, &cfg.host, &t), d)?;
    finish(cfg, o, seq)
}

/// Append a record the caller built (the issuance ledger): the writer sets
/// `time`, `host`, `seq`, `prev`, `hash` and `seal`; everything else is
/// written as given. A record whose line would exceed `MAX_LINE` is refused
/// ([`LogError::Oversized`]) before anything is written.
pub fn append_record(cfg: &LogConfig, mut rec: Record<'_>) -> Result<Appended, LogError> {
    prepare(cfg, &mut rec)?;
    let _lock = lock(cfg)?;
    let mut o = open(cfg)?;
    rec.time = Cow::Owned(now_string()?);
    let seq = o.write(rec)?;
    finish(cfg, o, seq)
}

/// A caller-built record as the writer writes it (`host` set, placeholders
/// for what is filled in under the lock), refused if its line could exceed
/// `MAX_LINE`: `time` and `prev` take their final length, and `seq` can
/// only grow the line by up to 20 digits, which the margin covers.
fn prepare(cfg: &LogConfig, rec: &mut Record<'_>) -> Result<(), LogError> {
    rec.host = Cow::Owned(record::cap(&cfg.host, record::STR_CAP).into_owned());
    rec.time = Cow::Owned("2000-01-01T00:00:00.000000Z".into());
    rec.prev = Cow::Owned("0".repeat(64));
    let probe = serde_json::to_vec(&*rec)?.len() + record::SUFFIX_LEN + 20;
    if probe > MAX_LINE {
        return Err(LogError::Oversized {
            bytes: probe,
            max: MAX_LINE,
        });
    }
    Ok(())
}

/// [`append_record`] for several records at once (the signing service's
/// group commit): under one lock, one write and one flush set for all of
/// them; `Ok` means every one is on disk. They get consecutive seqs; the
/// [`Appended`] is the last one's (`None` for no records: nothing is done).
pub fn append_records(
    cfg: &LogConfig,
    mut recs: Vec<Record<'_>>,
) -> Result<Option<Appended>, LogError> {
    for rec in &mut recs {
        prepare(cfg, rec)?;
    }
    if recs.is_empty() {
        return Ok(None);
    }
    let _lock = lock(cfg)?;
    let mut o = open(cfg)?;
    let t = now_string()?;
    for rec in &mut recs {
        rec.time = Cow::Owned(t.clone());
    }
    let seqs = o.write_batch(recs)?;
    finish_own(cfg, o, &seqs).map(Some)
}

/// Append `n` copies of `ev` under one lock with one fdatasync at the end.
/// Only for benchmarks and test fixtures that need a big log fast; the
/// per-record durability of [`append`] does not hold until it returns.
#[doc(hidden)]
pub fn bulk_append(cfg: &LogConfig, ev: &Event, n: u64) -> Result<Appended, LogError> {
    let _lock = lock(cfg)?;
    let mut o = open(cfg)?;
    let t = now_string()?;
    let mut buf = Vec::with_capacity(1 << 20);
    for _ in 0..n {
        let mut r = fill(ev, &cfg.host, &t);
        let line = o.chain.seal_next(&mut r)?;
        buf.extend_from_slice(&line);
        if buf.len() > (1 << 20) - 70000 {
            (&o.log)
                .write_all(&buf)
                .map_err(io_err("write", &cfg.log_path))?;
            buf.clear();
        }
    }
    (&o.log)
        .write_all(&buf)
        .map_err(io_err("write", &cfg.log_path))?;
    o.log
        .sync_data()
        .map_err(io_err("fdatasync", &cfg.log_path))?;
    o.size = o
        .log
        .metadata()
        .map_err(io_err("stat", &cfg.log_path))?
        .len();
    let st = o.chain.to_state(&o.base, o.dev, o.ino, o.size);
    st.store(&o.state_file)
        .map_err(io_err("update state", &cfg.state_path))?;
    let seq = st.seq;
    finish(cfg, o, seq)
}

/// `(seq, hash, kind, break-glass alert, line)` of a written record.
type Written = (u64, [u8; 32], EventKind, Option<String>, Option<Vec<u8>>);

fn finish(cfg: &LogConfig, o: Open<'_>, seq: u64) -> Result<Appended, LogError> {
    finish_own(cfg, o, &[seq])
}

/// Mirror what was written, and name the records the caller did not ask
/// for (`own`: the caller's seqs; the last one is the `Appended`'s).
fn finish_own(cfg: &LogConfig, o: Open<'_>, own: &[u64]) -> Result<Appended, LogError> {
    let seq = own.last().copied().unwrap_or_default();
    // Break-glass alerts are sent even when the mirror is off: that path is
    // loud by design. A failed send never fails the append (the record is
    // durable); the caller reports `mirror_error`.
    let any_alert = o.written.iter().any(|w| w.3.is_some());
    let mirror_error = if cfg.syslog || any_alert {
        let log_id = hex(&o.base.log_id);
        let mut err = None;
        for (s, h, k, alert, rec) in &o.written {
            if !cfg.syslog && alert.is_none() {
                continue;
            }
            let line = syslog::Mirror {
                log_id: &log_id,
                seq: *s,
                hash: h,
                kind: *k,
                alert: alert.as_deref(),
                record: rec.as_deref(),
            };
            if let Err(e) = syslog::mirror(&cfg.syslog_socket, &line) {
                err = Some(format!(
                    "syslog mirror to {}: {e}",
                    cfg.syslog_socket.display()
                ));
            }
        }
        err
    } else {
        None
    };
    let repaired = o
        .written
        .iter()
        .filter(|(s, ..)| !own.contains(s))
        .map(|(s, _, k, ..)| (*s, k.as_str().to_string()))
        .collect();
    Ok(Appended {
        seq,
        hash: hex(&o.chain.head()),
        repaired,
        mirror_error,
    })
}

/// Open the state and the log under the lock and bring them in step
/// (create, continue, or recover), writing any start/continue/recovery records.
fn open(cfg: &LogConfig) -> Result<Open<'_>, LogError> {
    let (state_file, _) = open_create(&cfg.state_path, 0o600, false)?;
    let state = state::State::slots_from(&state_file).map_err(|source| LogError::State {
        path: cfg.state_path.clone(),
        source,
    })?;
    let (log, _) = open_create(&cfg.log_path, 0o600, true)?;
    let meta = log.metadata().map_err(io_err("stat", &cfg.log_path))?;
    match state {
        None => {
            if meta.len() != 0 {
                return Err(LogError::StateMissing {
                    log: cfg.log_path.clone(),
                    state: cfg.state_path.clone(),
                });
            }
            create(cfg, log, state_file, meta.dev(), meta.ino())
        }
        Some((st, older)) => reconcile(cfg, log, state_file, meta, st, older),
    }
}

use super::state;

fn create(
    cfg: &LogConfig,
    log: File,
    state_file: File,
    dev: u64,
    ino: u64,
) -> Result<Open<'_>, LogError> {
    let mut k0 = [0u8; 32];
    let mut log_id = [0u8; 16];
    getrandom::fill(&mut k0)
        .and_then(|_| getrandom::fill(&mut log_id))
        .map_err(|e| LogError::Io {
            op: "get random bytes for",
            path: cfg.seal_key_export.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
    let key_id_hex = record::key_id(&k0);
    let mut key_id = [0u8; 16];
    key_id.copy_from_slice(&blake3::derive_key(record::CTX_KEY_ID, &k0)[..16]);
    // The export: O_EXCL, 0400.
    let p = &cfg.seal_key_export;
    ensure_private_dir(parent(p))?;
    let mut f = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o400)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(p)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            k0.zeroize();
            return Err(LogError::ExportExists { path: p.clone() });
        }
        Err(e) => {
            k0.zeroize();
            return Err(io_err("create", p)(e));
        }
    };
    // The mode first, while the file still has the creator's group: a chmod
    // after the chown to root:root, by a process whose group is not root's
    // (sudo's egid is the invoking user's), makes the kernel check
    // CAP_FSETID, which SELinux denies to sudo's domains (an AVC on every new
    // log, seen in the test VM).
    if let Err(e) = f.set_permissions(std::fs::Permissions::from_mode(0o400)) {
        k0.zeroize();
        return Err(io_err("set mode of", p)(e));
    }
    if let Err(e) = give_to_root(&f, p) {
        k0.zeroize();
        return Err(e.into());
    }
    let mut text = super::verify::SealKey::export_text(&log_id, &k0);
    let r = f.write_all(text.as_bytes()).and_then(|_| f.sync_all());
    text.zeroize();
    r.map_err(io_err("write", p))?;
    sync_dir(parent(p))?;
    let base = State {
        seq: 0,
        head: [0; 32],
        key: [0; 32],
        log_id,
        dev,
        ino,
        size: 0,
        key_id,
    };
    let chain = Chain::genesis(&k0);
    k0.zeroize();
    let mut o = Open {
        cfg,
        log,
        state_file,
        dev,
        ino,
        size: 0,
        base,
        chain,
        written: Vec::new(),
        pending: false,
    };
    let t = now_string()?;
    let mut r = Record::new(EventKind::Start);
    r.time = Cow::Owned(t);
    r.host = record::cap(&cfg.host, record::STR_CAP);
    r.log_id = Some(Cow::Owned(hex(&log_id)));
    r.key_id = Some(Cow::Owned(key_id_hex));
    o.write(r)?;
    Ok(o)
}

fn mismatch(cfg: &LogConfig, detail: String) -> LogError {
    LogError::Mismatch {
        path: cfg.log_path.clone(),
        detail,
    }
}

fn reconcile(
    cfg: &LogConfig,
    log: File,
    state_file: File,
    meta: std::fs::Metadata,
    st: State,
    older: Option<State>,
) -> Result<Open<'_>, LogError> {
    let lp = &cfg.log_path;
    let len = meta.len();
    let chain = Chain::resume(st.seq, st.head, st.key);
    let same = meta.dev() == st.dev && meta.ino() == st.ino;
    let mut o = Open {
        cfg,
        log,
        state_file,
        dev: meta.dev(),
        ino: meta.ino(),
        size: len,
        base: st.clone(),
        chain,
        written: Vec::new(),
        // Two valid slots: the head record was written, not flushed.
        pending: older.is_some(),
    };
    if !same {
        if len == 0 {
            // A rotated segment: link it to the previous head.
            let t = now_string()?;
            let mut r = Record::new(EventKind::Continue);
            r.time = Cow::Owned(t);
            r.host = record::cap(&cfg.host, record::STR_CAP);
            r.log_id = Some(Cow::Owned(hex(&st.log_id)));
            r.key_id = Some(Cow::Owned(hex(&st.key_id)));
            o.write(r)?;
            return Ok(o);
        }
        let last = line_ending_at(&o.log, len).map_err(io_err("read", lp))?;
        if last.as_deref().is_some_and(|l| line_is_head(l, &st.head)) {
            o.recovery(
                "log_moved",
                format!(
                    "log file changed (inode {} -> {}) but its last record is the state head (seq {})",
                    st.ino,
                    meta.ino(),
                    st.seq
                ),
                None,
            )?;
            return Ok(o);
        }
        return Err(mismatch(
            cfg,
            format!(
                "the log file was replaced (inode {} -> {}, {} bytes) and its last record is not the state head (seq {})",
                st.ino,
                meta.ino(),
                len,
                st.seq
            ),
        ));
    }
    // The record ending at `s.size` must be the head of the slot used.
    let matches = |f: &File, s: &State| -> Result<bool, LogError> {
        if len < s.size || s.dev != st.dev || s.ino != st.ino {
            return Ok(false);
        }
        let last = line_ending_at(f, s.size).map_err(io_err("read", lp))?;
        Ok(last.as_deref().is_some_and(|l| line_is_head(l, &s.head)))
    };
    // The newer slot, or, when it names the written record a power cut took
    // from the log, the older one (docs/log-format.md, "Durability").
    let mut lost: Option<(u64, [u8; 32])> = None;
    if !matches(&o.log, &st)? {
        match older {
            Some(old) if matches(&o.log, &old)? => {
                lost = Some((st.seq, st.head));
                o.chain = Chain::resume(old.seq, old.head, old.key);
                o.base = old;
            }
            _ if len < st.size => {
                return Err(mismatch(
                    cfg,
                    format!(
                        "the log was cut in place: {} bytes, the state says {} (copytruncate is unsupported)",
                        len, st.size
                    ),
                ))
            }
            _ => {
                return Err(mismatch(
                    cfg,
                    format!(
                        "the record ending at byte {} is not the state head (seq {}, hash {})",
                        st.size,
                        st.seq,
                        hex(&st.head)
                    ),
                ))
            }
        }
    }
    let from = o.base.size;
    let from_seq = o.base.seq;
    o.size = from;
    if len == from && lost.is_none() {
        return Ok(o);
    }
    // Records after the head: the state is behind (by any number of records
    // after a power cut). Adopt each that follows the head and verifies,
    // seal included, with the key evolved from the state's.
    let mut lines = Lines::new(&o.log, from, len);
    let mut adopted = 0u64;
    while let Some(line) = lines.next_line().map_err(io_err("read", lp))? {
        let Some(f) = record::frame(line) else { break };
        let h = record::record_hash(f.body);
        // Read by position, as the verifier reads it: the hash and the
        // seal make it authentic, and the module links no JSON parser for
        // records.
        let follows = record::header(f.body)
            .is_some_and(|hd| hd.seq == o.chain.next_seq() && hd.prev == o.chain.head());
        if h != f.hash || !follows || f.seal != record::seal(&o.chain.key, &h) {
            break;
        }
        let seq = o.chain.next_seq();
        if let Some((ls, lh)) = lost {
            if ls == seq && lh != h {
                return Err(mismatch(
                    cfg,
                    format!(
                        "record {seq} in the log is not the record the state names (hash {})",
                        hex(&lh)
                    ),
                ));
            }
            lost = None;
        }
        let next_key = record::evolve(&o.chain.key);
        o.chain = Chain::resume(seq, h, next_key);
        o.size += line.len() as u64;
        adopted += 1;
        lines.consume();
    }
    let good = o.size;
    // What is left is a torn tail: at most one partial record (and zeros).
    // A complete verifying record in it means the log is damaged or the
    // state does not belong to it.
    let extra_len = len - good;
    if extra_len > 2 * MAX_LINE as u64 {
        return Err(mismatch(
            cfg,
            format!(
                "{extra_len} unexplained bytes after record {}",
                o.chain.next_seq().wrapping_sub(1)
            ),
        ));
    }
    let mut discarded = vec![0u8; extra_len as usize];
    o.log
        .read_exact_at(&mut discarded, good)
        .map_err(io_err("read", lp))?;
    for l in discarded
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| l.ends_with(b"\n"))
    {
        if record::frame(l).is_some_and(|f| record::record_hash(f.body) == f.hash) {
            return Err(mismatch(
                cfg,
                format!(
                    "complete records after the state head (seq {from_seq}) that the state does not account for: state rolled back?"
                ),
            ));
        }
    }
    if !discarded.is_empty() {
        cut(&mut o, good)?;
    }
    if let Some((ls, lh)) = lost {
        o.recovery(
            "state_ahead",
            format!(
                "state file named record {ls} (hash {}), which the log does not hold: a record written but not yet flushed was lost (power cut); the state's previous slot (seq {from_seq}) matches the log",
                hex(&lh)
            ),
            None,
        )?;
    }
    if adopted == 1 {
        o.recovery(
            "state_behind",
            format!(
                "state file was at seq {from_seq}; record {} was complete and correctly sealed (crash before the state update)",
                from_seq.wrapping_add(1)
            ),
            None,
        )?;
    } else if adopted > 1 {
        o.recovery(
            "state_behind",
            format!(
                "state file was at seq {from_seq}; records {} to {} were complete and correctly sealed (crash or power cut before the state update reached the disk)",
                from_seq.wrapping_add(1),
                from_seq.wrapping_add(adopted)
            ),
            None,
        )?;
    }
    if !discarded.is_empty() {
        let zeros = discarded.iter().all(|&b| b == 0);
        o.recovery(
            "torn_tail",
            format!(
                "{} {} bytes after record {} (crash during a write); cut them",
                if zeros { "zero-filled" } else { "partial" },
                discarded.len(),
                from_seq.wrapping_add(adopted),
            ),
            Some(&discarded),
        )?;
    }
    Ok(o)
}

/// Complete lines of `f` between two offsets, read in chunks (the records
/// after a state that is far behind need not fit in memory).
struct Lines<'f> {
    f: &'f File,
    /// File offset of `buf[0]`.
    at: u64,
    end: u64,
    buf: Vec<u8>,
    /// Start of the next line in `buf`.
    start: usize,
    /// Length of the line last returned, consumed by [`Lines::consume`].
    cur: usize,
}

impl<'f> Lines<'f> {
    fn new(f: &'f File, from: u64, end: u64) -> Self {
        Lines {
            f,
            at: from,
            end,
            buf: Vec::new(),
            start: 0,
            cur: 0,
        }
    }

    /// The next complete line (with its `\n`, at most `MAX_LINE` bytes), or
    /// `None` when what is left holds none. It stays the next line until
    /// [`Lines::consume`].
    fn next_line(&mut self) -> std::io::Result<Option<&[u8]>> {
        loop {
            let rest = &self.buf[self.start..];
            if let Some(p) = rest.iter().take(MAX_LINE).position(|&b| b == b'\n') {
                self.cur = p + 1;
                return Ok(Some(&self.buf[self.start..self.start + p + 1]));
            }
            let have = self.at + self.buf.len() as u64;
            if rest.len() >= MAX_LINE || have >= self.end {
                return Ok(None);
            }
            self.buf.drain(..self.start);
            self.at += self.start as u64;
            self.start = 0;
            let want = (self.end - have).min(1 << 20) as usize;
            let old = self.buf.len();
            self.buf.resize(old + want, 0);
            self.f.read_exact_at(&mut self.buf[old..], have)?;
        }
    }

    fn consume(&mut self) {
        self.start += self.cur;
        self.cur = 0;
    }
}

fn cut(o: &mut Open<'_>, at: u64) -> Result<(), LogError> {
    let lp: &PathBuf = &o.cfg.log_path;
    o.log
        .set_len(at)
        .map_err(io_err("truncate torn tail of", lp))?;
    o.log.sync_data().map_err(io_err("fdatasync", lp))?;
    o.size = at;
    Ok(())
}

#[cfg(test)]
mod time_tests {
    use super::utc_micros;

    /// The same text as the `time` crate gives, over 400 years of instants
    /// (leap years, century rules, month and year ends) and the edges.
    #[test]
    fn utc_micros_matches_time_crate() {
        let fmt = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        );
        let want = |s: u64, us: u32| {
            let t = time::OffsetDateTime::from_unix_timestamp(s as i64).unwrap()
                + time::Duration::microseconds(i64::from(us));
            t.format(&fmt).unwrap()
        };
        let mut s: u64 = 0;
        let mut us: u32 = 0;
        // A stride that is not a multiple of a day, hour or minute.
        while s < 400 * 366 * 86_400 {
            assert_eq!(utc_micros(s, us).unwrap(), want(s, us), "at {s}.{us}");
            s += 86_400 * 3 + 3_601 * 7 + 13;
            us = (us + 123_457) % 1_000_000;
        }
        for s in [
            0,
            86_399,
            86_400,
            951_782_400,   // 2000-02-29
            4_107_456_000, // 2100-02-28
            4_107_542_400, // 2100-03-01: 2100 is not a leap year
            253_402_300_799,
        ] {
            for us in [0, 1, 999_999] {
                assert_eq!(utc_micros(s, us).unwrap(), want(s, us), "at {s}.{us}");
            }
        }
        assert_eq!(utc_micros(253_402_300_800, 0), None, "year 10000");
        assert_eq!(utc_micros(0, 1_000_000), None);
        assert_eq!(
            utc_micros(1_795_400_000, 42).unwrap(),
            "2026-11-23T02:13:20.000042Z"
        );
    }
}
