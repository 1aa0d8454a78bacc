//! Audit queries and statistics (`jit-verify query` / `stats`).
//!
//! These read records without verifying them: `jit-verify query` verifies
//! each log first ([`super::merge`]); `stats` leaves it to `jit-verify log`.

use super::record::{self, EventKind, Record};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Why a query could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A time argument could not be read.
    #[error(transparent)]
    Time(#[from] crate::text::user_time::TimeError),
    /// The answer could not be written.
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
    /// A log read differs from the one verified moments before.
    #[error("{}:{line}: the log changed after it was verified ({why}): verify it again", path.display())]
    Changed {
        path: PathBuf,
        line: u64,
        why: String,
    },
    /// A log could not be verified at all.
    #[error(transparent)]
    Verify(#[from] super::verify::VerifyError),
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Which records to show. `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The invoking user.
    pub user: Option<String>,
    pub host: Option<String>,
    /// The user the command runs as (`run_as_user`).
    pub run_as: Option<String>,
    /// The ticket of the token used.
    pub ticket: Option<String>,
    /// Inclusive, in the records' time format
    /// ([`crate::text::user_time::Clock::parse`]).
    pub since: Option<String>,
    /// Exclusive, in the records' time format.
    pub until: Option<String>,
    /// Matches the command path exactly, its file name, or `argv[0]`.
    pub command: Option<String>,
    /// `Some(true)` allowed, `Some(false)` denied (only decision records then).
    pub decision: Option<bool>,
    /// Only records of these kinds (empty: all).
    pub kinds: Vec<EventKind>,
    /// Only break-glass records.
    pub break_glass: bool,
}

impl Filter {
    /// Does `r` match?
    pub fn matches(&self, r: &Record<'_>) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().map_or(true, |w| have == Some(w))
        };
        if !eq(&self.user, r.user.as_deref())
            || !eq(&self.host, Some(&r.host))
            || !eq(&self.run_as, r.run_as_user.as_deref())
            || !eq(&self.ticket, r.ticket.as_deref())
        {
            return false;
        }
        if self.since.as_deref().is_some_and(|s| r.time.as_ref() < s) {
            return false;
        }
        if self.until.as_deref().is_some_and(|u| r.time.as_ref() >= u) {
            return false;
        }
        if let Some(c) = &self.command {
            let path = r.command.as_deref();
            let base = path.and_then(|p| p.rsplit('/').next());
            let argv0 = r.argv.as_ref().and_then(|a| a.first()).map(|a| a.as_ref());
            if path != Some(c.as_str()) && base != Some(c.as_str()) && argv0 != Some(c.as_str()) {
                return false;
            }
        }
        if let Some(d) = self.decision {
            if r.kind != EventKind::Decision || r.allowed != Some(d) {
                return false;
            }
        }
        if self.break_glass && r.break_glass != Some(true) {
            return false;
        }
        self.kinds.is_empty() || self.kinds.contains(&r.kind)
    }
}

/// A break-glass decision: every one needs a human review.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReviewItem {
    /// The segment file it is in.
    pub file: String,
    /// Its line in that file.
    pub line: u64,
    pub seq: u64,
    pub time: String,
    pub host: String,
    pub user: Option<String>,
    pub run_as_user: Option<String>,
    pub command: Option<String>,
    pub argv: Option<Vec<String>>,
    pub allowed: Option<bool>,
    pub reason_code: Option<String>,
    pub token_id: Option<String>,
    /// The reason written in the token.
    pub token_reason: Option<String>,
    pub ticket: Option<String>,
}

/// The member only a break-glass record holds verbatim: inside a JSON
/// string a quote is always escaped, so no value can fake it. A line without
/// it needs no parse to know it is not one.
pub const BREAK_GLASS_MEMBER: &[u8] = b"\"break_glass\":true";

impl ReviewItem {
    /// The review item of record `rec` at `line` of `file`: `None` unless it
    /// is a break-glass decision, which `jit-verify log` lists as needing
    /// review (collected as it verifies, [`super::verify::Report::review`]).
    pub fn of(file: &str, line: u64, rec: &Record<'_>) -> Option<Self> {
        if rec.kind != EventKind::Decision || rec.break_glass != Some(true) {
            return None;
        }
        let own = |c: &Option<std::borrow::Cow<'_, str>>| c.as_deref().map(str::to_string);
        Some(ReviewItem {
            file: file.to_string(),
            line,
            seq: rec.seq,
            time: rec.time.to_string(),
            host: rec.host.to_string(),
            user: own(&rec.user),
            run_as_user: own(&rec.run_as_user),
            command: own(&rec.command),
            argv: rec
                .argv
                .as_ref()
                .map(|a| a.iter().map(|x| x.to_string()).collect()),
            allowed: rec.allowed,
            reason_code: own(&rec.reason_code),
            token_id: own(&rec.token_id),
            token_reason: own(&rec.token_reason),
            ticket: own(&rec.ticket),
        })
    }
}

/// Call `f` for every parsable record of `paths` in order; returns the number of unparsable lines.
pub fn for_each_record(
    paths: &[PathBuf],
    f: impl FnMut(&Path, u64, &Record<'_>) -> std::io::Result<()>,
) -> Result<u64, QueryError> {
    for_each_record_containing(paths, None, f)
}

/// [`for_each_record`], parsing only lines that contain `needle` (others are
/// skipped unparsed and not counted as unparsable).
fn for_each_record_containing(
    paths: &[PathBuf],
    needle: Option<&memchr::memmem::Finder<'_>>,
    mut f: impl FnMut(&Path, u64, &Record<'_>) -> std::io::Result<()>,
) -> Result<u64, QueryError> {
    let mut bad = 0u64;
    for p in paths {
        let io = |source| QueryError::Io {
            path: p.clone(),
            source,
        };
        let file = std::fs::File::open(p).map_err(io)?;
        let mut r = std::io::BufReader::with_capacity(1 << 20, file);
        let mut buf = Vec::new();
        let mut n = 0u64;
        loop {
            buf.clear();
            if r.read_until(b'\n', &mut buf).map_err(io)? == 0 {
                break;
            }
            n += 1;
            // Bytes without their newline are no record (a torn tail, or
            // something appended): `jit-verify log` never accepts them, so
            // nothing here may present them as one.
            if buf.last() != Some(&b'\n') {
                bad += 1;
                continue;
            }
            if needle.is_some_and(|nd| nd.find(&buf).is_none()) {
                continue;
            }
            if buf.len() > record::MAX_LINE {
                bad += 1;
                continue;
            }
            match record::parse(&buf) {
                Ok(rec) => f(p, n, &rec).map_err(io)?,
                Err(_) => bad += 1,
            }
        }
    }
    Ok(bad)
}

/// Session durations.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Sessions {
    pub count: u64,
    pub total_secs: f64,
    pub max_secs: f64,
    pub mean_secs: f64,
}

/// Counts for `jit-verify stats`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Stats {
    pub records: u64,
    pub decisions: u64,
    pub allowed: u64,
    pub denied: u64,
    pub break_glass: u64,
    pub per_user: BTreeMap<String, u64>,
    pub per_host: BTreeMap<String, u64>,
    pub per_command: BTreeMap<String, u64>,
    pub denials_by_reason: BTreeMap<String, u64>,
    pub recoveries: u64,
    pub sessions: Sessions,
    pub unparsable_lines: u64,
}

impl Stats {
    /// Count one record (decisions feed the per-* tables).
    pub fn add(&mut self, r: &Record<'_>) {
        self.records += 1;
        match r.kind {
            EventKind::Decision => {
                self.decisions += 1;
                *self
                    .per_user
                    .entry(r.user.as_deref().unwrap_or("?").to_string())
                    .or_default() += 1;
                *self.per_host.entry(r.host.to_string()).or_default() += 1;
                let cmd = r
                    .command
                    .as_deref()
                    .or_else(|| r.argv.as_ref().and_then(|a| a.first()).map(|a| a.as_ref()))
                    .unwrap_or("?");
                *self.per_command.entry(cmd.to_string()).or_default() += 1;
                match r.allowed {
                    Some(true) => self.allowed += 1,
                    _ => {
                        self.denied += 1;
                        let why = r.reason_code.as_deref().unwrap_or("unknown");
                        *self.denials_by_reason.entry(why.to_string()).or_default() += 1;
                    }
                }
                if r.break_glass == Some(true) {
                    self.break_glass += 1;
                }
            }
            EventKind::SessionClose => {
                if let Some(s) = r.session_secs.filter(|s| s.is_finite() && *s >= 0.0) {
                    let se = &mut self.sessions;
                    se.count += 1;
                    se.total_secs += s;
                    se.max_secs = se.max_secs.max(s);
                    se.mean_secs = se.total_secs / se.count as f64;
                }
            }
            EventKind::Recovery => self.recoveries += 1,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_time(s: &str) -> Result<String, crate::text::user_time::TimeError> {
        crate::text::user_time::Clock::fixed(0, "UTC")
            .unwrap()
            .parse(s)
    }

    #[test]
    fn filter_matches_fields() {
        let mut r = Record::new(EventKind::Decision);
        r.time = "2026-11-19T14:30:00.000000Z".into();
        r.host = "db-01".into();
        r.user = Some("alice".into());
        r.command = Some("/usr/bin/systemctl".into());
        r.allowed = Some(false);
        let mut f = Filter {
            host: Some("db-01".into()),
            since: Some(parse_time("2026-11-19 14:00").unwrap()),
            until: Some(parse_time("2026-11-19 16:00").unwrap()),
            command: Some("systemctl".into()),
            decision: Some(false),
            ..Default::default()
        };
        assert!(f.matches(&r));
        f.until = Some(parse_time("2026-11-19 14:30").unwrap());
        assert!(!f.matches(&r));
        f.until = None;
        f.user = Some("bob".into());
        assert!(!f.matches(&r));
        f.user = None;
        f.decision = Some(true);
        assert!(!f.matches(&r));
        f.decision = None;
        f.break_glass = true;
        assert!(!f.matches(&r));
        r.break_glass = Some(true);
        assert!(f.matches(&r));
    }

    #[test]
    fn review_lists_break_glass_decisions_only() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let mut f = std::fs::File::create(&p).unwrap();
        let line = |r: &Record<'_>| {
            let mut l = serde_json::to_vec(r).unwrap();
            l.push(b'\n');
            l
        };
        let mut r = Record::new(EventKind::Decision);
        r.time = "2026-11-19T14:30:00.000000Z".into();
        r.host = "db-01".into();
        r.prev = "00".repeat(32).into();
        // A command argument spelling the member cannot fake a flag.
        r.argv = Some(vec!["/bin/echo".into(), "\"break_glass\":true".into()]);
        f.write_all(&line(&r)).unwrap();
        r.seq = 1;
        r.break_glass = Some(true);
        r.allowed = Some(true);
        r.user = Some("alice".into());
        f.write_all(&line(&r)).unwrap();
        // A session record of the same sudo is not a second item.
        let mut s = r.clone();
        s.kind = EventKind::SessionOpen;
        s.seq = 2;
        f.write_all(&line(&s)).unwrap();
        drop(f);
        let opts = super::super::verify::Options {
            seal_key: None,
            state: None,
            state_older: None,
            state_damaged: None,
            lock: None,
            lock_wait: None,
            syslog: None,
            partial: false,
            progress: None,
        };
        let items = super::super::verify::verify_files(&[p], &opts)
            .unwrap()
            .review;
        assert_eq!(items.len(), 1, "{items:?}");
        assert_eq!(items[0].seq, 1);
        assert_eq!(items[0].line, 2);
        assert_eq!(items[0].user.as_deref(), Some("alice"));
    }
}
