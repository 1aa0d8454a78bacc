//! Verify ledger and host-log files and read ledger entries.

use crate::log::query;
use crate::log::record::{
    self, EventKind, GrantRec, Record, RevokedSshKeyId, RevokedSshSerial, RevokedToken, Watermark,
};
use crate::log::state::State;
use crate::log::verify::{self, Options, Report, SealKey};
use serde::Serialize;
use std::io::BufRead;
use std::path::{Path, PathBuf};

pub use crate::text::{fmt_time as format_unix, log_time_micros as record_micros};

/// Why ledger files could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line is not a record (only possible in an unverified ledger).
    #[error("{file}:{line}: not a parsable record")]
    Unparsable { file: String, line: u64 },
    /// A record of a kind that has no place in a ledger.
    #[error("{file}:{line}: a {kind} record: this is a host log, not an issuance ledger")]
    NotLedger {
        file: String,
        line: u64,
        kind: &'static str,
    },
    /// A ledger record lacks a member its kind requires.
    #[error("{file}:{line}: {kind} record lacks `{member}`")]
    Missing {
        file: String,
        line: u64,
        kind: &'static str,
        member: &'static str,
    },
    /// Verification could not run.
    #[error(transparent)]
    Verify(#[from] verify::VerifyError),
    /// Inputs could not be read.
    #[error(transparent)]
    Source(#[from] crate::log::source::SourceError),
    /// A query-layer read error.
    #[error(transparent)]
    Query(#[from] query::QueryError),
}

// Which files belong to which ledger: shared with the host-log queries.
pub use crate::log::segments::{group_segments, log_id_of};

/// How to verify a ledger.
#[derive(Default)]
pub struct LedgerCheck {
    /// The ledger's initial seal key (forward integrity).
    pub seal_key: Option<SealKey>,
    /// The ledger's state file (detects a cut tail).
    pub state: Option<State>,
    /// Accept a chain whose first segment starts with `continue`.
    pub partial: bool,
}

/// Verify the segments of one ledger exactly as `jit-verify log` does. The
/// writers' lock next to the newest segment (`NAME.state.lock`) is waited on
/// if its last line is being written.
pub fn verify_ledger(files: &[PathBuf], check: LedgerCheck) -> Result<Report, LoadError> {
    let lock = files
        .last()
        .map(|p| super::LedgerPaths::new(p).lock)
        .filter(|l| l.exists());
    let opts = Options {
        seal_key: check.seal_key,
        state: check.state,
        lock,
        partial: check.partial,
        ..Options::default()
    };
    Ok(verify::verify_files(files, &opts)?)
}

/// Verify host logs: each chain (grouped by `log_id`) on its own, plain
/// chain only. Returns one report per chain with its files.
pub fn verify_host_logs(
    files: &[PathBuf],
    partial: bool,
) -> Result<Vec<(Vec<PathBuf>, Report)>, LoadError> {
    let mut out = Vec::new();
    for g in group_segments(files)? {
        let opts = Options {
            partial,
            ..Options::default()
        };
        let r = verify::verify_files(&g, &opts)?;
        out.push((g, r));
    }
    Ok(out)
}

/// An `issued` record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssuedEntry {
    /// When the record was written (the log's time format).
    pub time: String,
    pub file: String,
    pub line: u64,
    pub seq: u64,
    /// The signer (`host` of the record).
    pub signer: String,
    pub token_id: String,
    pub user: String,
    pub host_groups: Vec<String>,
    pub grants: Vec<GrantRec>,
    pub run_as: Vec<String>,
    pub run_as_groups: Vec<String>,
    pub shell: bool,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub max_uses: Option<u32>,
    pub break_glass: bool,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub approver: Option<String>,
    pub requester: Option<String>,
    pub rule: Option<String>,
    /// When the request was made (signing service), Unix seconds.
    pub requested: Option<i64>,
    pub kid: Option<String>,
    pub issuer: Option<String>,
}

impl IssuedEntry {
    /// The grants as `--command` text (`/usr/bin/journalctl -u nginx ...`).
    pub fn commands(&self) -> Vec<String> {
        self.grants.iter().map(GrantRec::display).collect()
    }
}

/// A `refused` record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefusedEntry {
    pub time: String,
    pub file: String,
    pub line: u64,
    pub seq: u64,
    pub signer: String,
    pub user: Option<String>,
    pub reason_code: String,
    pub message: Option<String>,
    pub rule: Option<String>,
    pub requester: Option<String>,
    pub host_groups: Vec<String>,
    pub break_glass: bool,
}

/// A `revoked` record: the whole list of one version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevokedEntry {
    pub time: String,
    pub file: String,
    pub line: u64,
    pub seq: u64,
    pub signer: String,
    pub version: u64,
    pub tokens: Vec<RevokedToken>,
    pub users: Vec<String>,
    pub watermarks: Vec<Watermark>,
    pub ssh_serials: Vec<RevokedSshSerial>,
    pub ssh_key_ids: Vec<RevokedSshKeyId>,
    pub ssh_keys: Vec<String>,
}

/// An `ssh_cert` record: one signed SSH user certificate (docs/ssh-cert.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SshCertEntry {
    pub time: String,
    pub file: String,
    pub line: u64,
    pub seq: u64,
    pub signer: String,
    /// The certificate's key id: the grant id.
    pub key_id: String,
    pub user: String,
    pub host_groups: Vec<String>,
    pub principals: Vec<String>,
    /// Decimal digits.
    pub serial: String,
    pub key_fingerprint: String,
    pub ca_fingerprint: String,
    pub force_command: Option<String>,
    pub source_address: Option<String>,
    pub extensions: Vec<String>,
    pub iat: i64,
    /// The certificate's window: `valid after` (the grant's not-before, less
    /// the backdating of docs/ssh-cert.md) and `valid before`.
    pub valid_after: i64,
    pub valid_before: i64,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub approver: Option<String>,
    pub requester: Option<String>,
    pub rule: Option<String>,
    pub kid: Option<String>,
}

/// The entries of a ledger, in ledger order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ledger {
    pub issued: Vec<IssuedEntry>,
    pub refused: Vec<RefusedEntry>,
    pub revoked: Vec<RevokedEntry>,
    pub ssh_certs: Vec<SshCertEntry>,
}

fn s(o: &Option<std::borrow::Cow<'_, str>>) -> Option<String> {
    o.as_deref().map(str::to_string)
}

impl Ledger {
    /// Take in the entries of another ledger (another signer's); then
    /// [`Ledger::sort_by_time`]. Every kind of entry, by construction.
    pub fn absorb(&mut self, other: Ledger) {
        let Ledger {
            issued,
            refused,
            revoked,
            ssh_certs,
        } = other;
        self.issued.extend(issued);
        self.refused.extend(refused);
        self.revoked.extend(revoked);
        self.ssh_certs.extend(ssh_certs);
    }

    /// Several signers' entries as one history, in time order (stable:
    /// ledger order within a ledger).
    pub fn sort_by_time(&mut self) {
        let Ledger {
            issued,
            refused,
            revoked,
            ssh_certs,
        } = self;
        issued.sort_by(|a, b| a.time.cmp(&b.time));
        refused.sort_by(|a, b| a.time.cmp(&b.time));
        revoked.sort_by(|a, b| a.time.cmp(&b.time));
        ssh_certs.sort_by(|a, b| a.time.cmp(&b.time));
    }

    /// Add one record (start/continue/recovery are skipped; host-log kinds are an error).
    pub fn add(&mut self, file: &Path, line: u64, r: &Record<'_>) -> Result<(), LoadError> {
        let file_s = file.display().to_string();
        let missing = |kind: &'static str, member: &'static str| LoadError::Missing {
            file: file_s.clone(),
            line,
            kind,
            member,
        };
        match r.kind {
            EventKind::Start | EventKind::Continue | EventKind::Recovery => {}
            EventKind::SshCert => {
                let k = "ssh_cert";
                let nbf = r.nbf.ok_or_else(|| missing(k, "nbf"))?;
                self.ssh_certs.push(SshCertEntry {
                    time: r.time.to_string(),
                    file: file_s.clone(),
                    line,
                    seq: r.seq,
                    signer: r.host.to_string(),
                    key_id: s(&r.token_id).ok_or_else(|| missing(k, "token_id"))?,
                    user: s(&r.user).ok_or_else(|| missing(k, "user"))?,
                    host_groups: r
                        .host_groups
                        .clone()
                        .ok_or_else(|| missing(k, "host_groups"))?,
                    principals: r
                        .principals
                        .clone()
                        .ok_or_else(|| missing(k, "principals"))?,
                    serial: s(&r.serial).ok_or_else(|| missing(k, "serial"))?,
                    key_fingerprint: s(&r.key_fingerprint)
                        .ok_or_else(|| missing(k, "key_fingerprint"))?,
                    ca_fingerprint: s(&r.ca_fingerprint)
                        .ok_or_else(|| missing(k, "ca_fingerprint"))?,
                    force_command: s(&r.command),
                    source_address: s(&r.source_address),
                    extensions: r.extensions.clone().unwrap_or_default(),
                    iat: r.iat.ok_or_else(|| missing(k, "iat"))?,
                    valid_after: nbf.saturating_sub(crate::ssh_cert::BACKDATE_SECS as i64),
                    valid_before: r.exp.ok_or_else(|| missing(k, "exp"))?,
                    reason: s(&r.token_reason),
                    ticket: s(&r.ticket),
                    approver: s(&r.approver),
                    requester: s(&r.requester),
                    rule: s(&r.rule),
                    kid: s(&r.kid),
                });
            }
            EventKind::Decision | EventKind::SessionOpen | EventKind::SessionClose => {
                return Err(LoadError::NotLedger {
                    file: file_s,
                    line,
                    kind: r.kind.as_str(),
                })
            }
            EventKind::Issued => {
                let k = "issued";
                self.issued.push(IssuedEntry {
                    time: r.time.to_string(),
                    file: file_s.clone(),
                    line,
                    seq: r.seq,
                    signer: r.host.to_string(),
                    token_id: s(&r.token_id).ok_or_else(|| missing(k, "token_id"))?,
                    user: s(&r.user).ok_or_else(|| missing(k, "user"))?,
                    host_groups: r
                        .host_groups
                        .clone()
                        .ok_or_else(|| missing(k, "host_groups"))?,
                    grants: r.grants.clone().unwrap_or_default(),
                    run_as: r.run_as.clone().unwrap_or_default(),
                    run_as_groups: r.run_as_groups.clone().unwrap_or_default(),
                    shell: r.shell == Some(true),
                    iat: r.iat.ok_or_else(|| missing(k, "iat"))?,
                    nbf: r.nbf.ok_or_else(|| missing(k, "nbf"))?,
                    exp: r.exp.ok_or_else(|| missing(k, "exp"))?,
                    max_uses: r.max_uses,
                    break_glass: r.break_glass == Some(true),
                    reason: s(&r.token_reason),
                    ticket: s(&r.ticket),
                    approver: s(&r.approver),
                    requester: s(&r.requester),
                    rule: s(&r.rule),
                    requested: r.requested,
                    kid: s(&r.kid),
                    issuer: s(&r.issuer),
                });
            }
            EventKind::Refused => {
                self.refused.push(RefusedEntry {
                    time: r.time.to_string(),
                    file: file_s.clone(),
                    line,
                    seq: r.seq,
                    signer: r.host.to_string(),
                    user: s(&r.user),
                    reason_code: s(&r.reason_code)
                        .ok_or_else(|| missing("refused", "reason_code"))?,
                    message: s(&r.message),
                    rule: s(&r.rule),
                    requester: s(&r.requester),
                    host_groups: r.host_groups.clone().unwrap_or_default(),
                    break_glass: r.break_glass == Some(true),
                });
            }
            EventKind::Revoked => {
                let k = "revoked";
                self.revoked.push(RevokedEntry {
                    time: r.time.to_string(),
                    file: file_s.clone(),
                    line,
                    seq: r.seq,
                    signer: r.host.to_string(),
                    version: r
                        .revocation_version
                        .ok_or_else(|| missing(k, "revocation_version"))?,
                    tokens: r.revoked_tokens.clone().unwrap_or_default(),
                    users: r.revoked_users.clone().unwrap_or_default(),
                    watermarks: r.watermarks.clone().unwrap_or_default(),
                    ssh_serials: r.revoked_ssh_serials.clone().unwrap_or_default(),
                    ssh_key_ids: r.revoked_ssh_key_ids.clone().unwrap_or_default(),
                    ssh_keys: r.revoked_ssh_keys.clone().unwrap_or_default(),
                });
            }
        }
        Ok(())
    }
}

/// Read the entries of ledger segments (in the order given). Every line
/// must parse: an unparsable line is an error, never skipped.
pub fn read_ledger(files: &[PathBuf]) -> Result<Ledger, LoadError> {
    let mut l = Ledger::default();
    let mut err: Option<LoadError> = None;
    let mut first_bad: Option<(String, u64)> = None;
    for f in files {
        let file = std::fs::File::open(f).map_err(|source| LoadError::Io {
            path: f.clone(),
            source,
        })?;
        let mut r = std::io::BufReader::new(file);
        let mut buf = Vec::new();
        let mut n = 0u64;
        loop {
            buf.clear();
            let got = r
                .read_until(b'\n', &mut buf)
                .map_err(|source| LoadError::Io {
                    path: f.clone(),
                    source,
                })?;
            if got == 0 {
                break;
            }
            n += 1;
            match record::parse(&buf) {
                Ok(rec) if buf.len() <= record::MAX_LINE => {
                    if let Err(e) = l.add(f, n, &rec) {
                        err.get_or_insert(e);
                    }
                }
                _ => {
                    first_bad.get_or_insert((f.display().to_string(), n));
                }
            }
        }
    }
    if let Some((file, line)) = first_bad {
        return Err(LoadError::Unparsable { file, line });
    }
    match err {
        Some(e) => Err(e),
        None => Ok(l),
    }
}
