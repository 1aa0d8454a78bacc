//! The issuance ledger (docs/log-format.md, "The issuance ledger").
//!
//! The signer appends one record per issued token, refused request and signed
//! revocation list to a log in exactly the host-log format (same writer, lock,
//! state file, seals, rotation); only the record kinds differ. A ledger is a
//! log whose `host` is the signer's name.
//!
//! - [`append_issued`], [`append_refused`], [`append_revoked`]: the writers.
//!   They take plain data so any signer subcommand can call them.
//! - [`load`]: verify ledger / host-log files and read their entries.
//! - [`standing`]: who held a live grant at a given time.
//! - [`report`]: per-user figures (grants, TTL granted vs used, unused grants,
//!   refusals, host denials, break-glass uses).

pub mod load;
pub mod report;
pub mod standing;

use crate::log::record::{
    self, EventKind, GrantRec, Record, RevokedSshKeyId, RevokedSshSerial, RevokedToken, Watermark,
};
use crate::log::{Appended, LogConfig, LogError};
use crate::token::{Claims, Grant};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// Where the ledger is when neither `--ledger` nor `JIT_LEDGER` says otherwise.
pub const DEFAULT_LEDGER_PATH: &str = "/var/lib/jit-signer/ledger.log";

/// The files belonging to a ledger at `path` (`DIR/NAME.log` or `DIR/NAME`):
/// state `DIR/NAME.state` (lock `DIR/NAME.state.lock`) and the initial seal
/// key export `DIR/NAME.seal-key.initial`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPaths {
    pub log: PathBuf,
    pub state: PathBuf,
    pub lock: PathBuf,
    pub seal_key_export: PathBuf,
}

impl LedgerPaths {
    /// Derive the state, lock and key export paths from the ledger path.
    pub fn new(path: &Path) -> LedgerPaths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "ledger".into());
        let stem = name.strip_suffix(".log").unwrap_or(&name).to_string();
        let with = |suffix: &str| path.with_file_name(format!("{stem}{suffix}"));
        let state = with(".state");
        LedgerPaths {
            log: path.to_path_buf(),
            lock: crate::log::lock_path_for(&state),
            state,
            seal_key_export: with(".seal-key.initial"),
        }
    }
}

/// The writer configuration of a ledger at `path` for the signer `name`
/// (recorded as `host` in every record). No syslog mirror; set
/// `syslog = true` on the result to get one.
pub fn config(path: &Path, name: &str) -> LogConfig {
    let p = LedgerPaths::new(path);
    LogConfig {
        log_path: p.log,
        state_path: p.state,
        seal_key_export: p.seal_key_export,
        host: name.to_string(),
        syslog: false,
        syslog_socket: PathBuf::from("/dev/log"),
    }
}

/// The default signer name: the kernel's host name (`jit-signer` if unknown).
pub fn default_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "jit-signer".into())
}

/// One issued token, as the signer signed it.
#[derive(Debug, Clone, Copy)]
pub struct Issued<'a> {
    /// The signed claims.
    pub claims: &'a Claims,
    /// The key id that signed it.
    pub kid: &'a str,
    /// Who asked for it (request/approve flow); `None` when the operator issued directly.
    pub requester: Option<&'a str>,
    /// The signer policy rule that allowed it, if a policy was applied.
    pub rule: Option<&'a str>,
    /// When the request it answers was made (Unix seconds; the signing
    /// service): approval latency is `iat - requested`.
    pub requested: Option<i64>,
}

/// A request the signer refused. Everything but the code and message is
/// optional: record what is known of the request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Refusal {
    /// Machine-readable reason (e.g. `ttl_out_of_range`, `policy_denied`).
    pub reason_code: String,
    /// Human-readable detail.
    pub message: String,
    /// The policy rule that refused it.
    pub rule: Option<String>,
    /// Who asked.
    pub requester: Option<String>,
    /// The user the token was requested for.
    pub user: Option<String>,
    pub host_groups: Vec<String>,
    /// The grants that could be parsed.
    pub grants: Vec<Grant>,
    pub run_as: Vec<String>,
    pub run_as_groups: Vec<String>,
    pub shell: bool,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    /// The request's reason text.
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub approver: Option<String>,
    pub break_glass: bool,
    pub max_uses: Option<u32>,
    /// The key that would have signed.
    pub kid: Option<String>,
}

/// A revocation list as signed: the **whole** list in force from this
/// version on (not a delta). `standing` takes, at any time, the list with
/// the highest version recorded by then.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Revocation {
    /// The list's version number.
    pub version: u64,
    /// Revoked token ids with their expiry.
    pub tokens: Vec<RevokedToken>,
    /// Users all of whose tokens are revoked.
    pub users: Vec<String>,
    /// Per-user watermarks: tokens with `iat` < `before` are void.
    pub watermarks: Vec<Watermark>,
    /// Revoked SSH certificate serials, per CA.
    pub ssh_serials: Vec<RevokedSshSerial>,
    /// Revoked SSH certificate key ids (grant ids).
    pub ssh_key_ids: Vec<RevokedSshKeyId>,
    /// Revoked SSH keys (and every certificate on them), `SHA256:...`.
    pub ssh_keys: Vec<String>,
    /// The key that signed the list.
    pub kid: Option<String>,
    /// Who revoked (operator) and why.
    pub requester: Option<String>,
    pub reason: Option<String>,
}

fn grant_rec(g: &Grant) -> GrantRec {
    GrantRec {
        argv: g.argv.clone(),
        any_args: g.any_args,
    }
}

fn c(o: &Option<String>) -> Option<Cow<'_, str>> {
    o.as_deref().map(|s| record::cap(s, record::STR_CAP))
}

fn non_empty(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

/// Append the `issued` record of a token. The record holds the claims
/// exactly (no truncation): a record that would exceed the line limit is
/// refused ([`LogError::Oversized`]) and the caller must not hand out the
/// token. When this returns `Ok`, the record is durable (fdatasync).
pub fn append_issued(cfg: &LogConfig, i: &Issued<'_>) -> Result<Appended, LogError> {
    crate::log::append_record(cfg, issued_record(i))
}

fn issued_record<'a>(i: &Issued<'a>) -> Record<'a> {
    let c = i.claims;
    let mut r = Record::new(EventKind::Issued);
    r.user = Some(Cow::Borrowed(c.sub.as_str()));
    r.token_id = Some(Cow::Owned(crate::text::hex(&c.cti)));
    r.issuer = Some(Cow::Borrowed(c.iss.as_str()));
    r.kid = Some(Cow::Borrowed(i.kid));
    r.token_reason = Some(Cow::Borrowed(c.reason.as_str()));
    r.ticket = c.ticket.as_deref().map(Cow::Borrowed);
    r.approver = c.approver.as_deref().map(Cow::Borrowed);
    r.break_glass = c.break_glass.then_some(true);
    r.host_groups = Some(c.hosts.clone());
    r.grants = Some(c.cmds.iter().map(grant_rec).collect());
    r.run_as = Some(c.run_as.clone());
    r.run_as_groups = non_empty(&c.run_as_groups);
    r.shell = c.shell.then_some(true);
    r.iat = Some(c.iat);
    r.nbf = Some(c.nbf);
    r.exp = Some(c.exp);
    r.max_uses = c.max_uses;
    r.requester = i.requester.map(Cow::Borrowed);
    r.rule = i.rule.map(Cow::Borrowed);
    r.requested = i.requested;
    r
}

/// One signed SSH certificate (docs/ssh-cert.md), as the `ssh_cert` record
/// holds it.
#[derive(Debug, Clone, Copy)]
pub struct SshCertIssued<'a> {
    /// The profile that was signed.
    pub profile: &'a crate::ssh_cert::CertProfile,
    /// The grant's user.
    pub user: &'a str,
    /// The grant's host groups.
    pub host_groups: &'a [String],
    /// The CA key's kid and fingerprint.
    pub kid: &'a str,
    pub ca_fingerprint: &'a str,
    /// When it was signed, and the grant's not-before.
    pub iat: i64,
    pub nbf: i64,
    /// Why, and the ticket.
    pub reason: &'a str,
    pub ticket: Option<&'a str>,
    pub approver: Option<&'a str>,
    pub requester: Option<&'a str>,
    pub rule: Option<&'a str>,
}

/// Append the `ssh_cert` record of a certificate; as for a token, the
/// certificate may be handed out only once this returns `Ok`.
pub fn append_ssh_cert(cfg: &LogConfig, i: &SshCertIssued<'_>) -> Result<Appended, LogError> {
    crate::log::append_record(cfg, ssh_cert_record(i))
}

/// One credential of a grant, for [`append_grants_many`].
#[derive(Debug, Clone, Copy)]
pub enum GrantRecord<'a> {
    /// A token: an `issued` record.
    Token(Issued<'a>),
    /// A certificate: an `ssh_cert` record.
    Cert(SshCertIssued<'a>),
}

/// Append the records of several grants' credentials (`issued` for a
/// token, `ssh_cert` for a certificate) with one write and one flush set
/// for all (the signing service's group commit), in the given order; `Ok`
/// means every record is on disk. `None` for an empty batch.
pub fn append_grants_many(
    cfg: &LogConfig,
    batch: &[GrantRecord<'_>],
) -> Result<Option<Appended>, LogError> {
    crate::log::append_records(
        cfg,
        batch
            .iter()
            .map(|g| match g {
                GrantRecord::Token(i) => issued_record(i),
                GrantRecord::Cert(c) => ssh_cert_record(c),
            })
            .collect(),
    )
}

fn ssh_cert_record<'a>(i: &SshCertIssued<'a>) -> Record<'a> {
    let p = i.profile;
    let mut r = Record::new(EventKind::SshCert);
    r.user = Some(Cow::Borrowed(i.user));
    r.command = p.force_command.as_deref().map(Cow::Borrowed);
    r.token_id = Some(Cow::Borrowed(p.key_id.as_str()));
    r.kid = Some(Cow::Borrowed(i.kid));
    r.token_reason = Some(Cow::Borrowed(i.reason));
    r.ticket = i.ticket.map(Cow::Borrowed);
    r.approver = i.approver.map(Cow::Borrowed);
    r.host_groups = Some(i.host_groups.to_vec());
    r.iat = Some(i.iat);
    r.nbf = Some(i.nbf);
    r.exp = Some(p.valid_before as i64);
    r.requester = i.requester.map(Cow::Borrowed);
    r.rule = i.rule.map(Cow::Borrowed);
    r.serial = Some(Cow::Owned(p.serial.to_string()));
    r.principals = Some(p.principals.clone());
    r.key_fingerprint = Some(Cow::Borrowed(p.key_fingerprint.as_str()));
    r.ca_fingerprint = Some(Cow::Borrowed(i.ca_fingerprint));
    r.source_address = p.source_address.as_deref().map(Cow::Borrowed);
    r.extensions = Some(p.extensions.clone());
    r
}

/// Elements kept per list in a `refused` record.
const REFUSED_LIST_MAX: usize = 64;

fn capped_list(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| {
        v.iter()
            .take(REFUSED_LIST_MAX)
            .map(|s| record::cap(s, record::STR_CAP).into_owned())
            .collect()
    })
}

/// Append a `refused` record. Request fields are cut to fit (strings to
/// 1024 bytes, lists to 64 elements; if the record is still too long, the
/// request details are dropped and the message says so), so a refusal is
/// always recordable.
pub fn append_refused(cfg: &LogConfig, f: &Refusal) -> Result<Appended, LogError> {
    let mut r = Record::new(EventKind::Refused);
    r.user = c(&f.user);
    r.kid = c(&f.kid);
    r.token_reason = c(&f.reason);
    r.ticket = c(&f.ticket);
    r.approver = c(&f.approver);
    r.reason_code = Some(record::cap(&f.reason_code, record::STR_CAP));
    r.message = Some(record::cap(&f.message, record::STR_CAP));
    r.break_glass = f.break_glass.then_some(true);
    r.host_groups = capped_list(&f.host_groups);
    r.grants = (!f.grants.is_empty()).then(|| {
        f.grants
            .iter()
            .take(REFUSED_LIST_MAX)
            .map(|g| GrantRec {
                argv: g
                    .argv
                    .iter()
                    .take(REFUSED_LIST_MAX)
                    .map(|a| record::cap(a, record::STR_CAP).into_owned())
                    .collect(),
                any_args: g.any_args,
            })
            .collect()
    });
    r.run_as = capped_list(&f.run_as);
    r.run_as_groups = capped_list(&f.run_as_groups);
    r.shell = f.shell.then_some(true);
    r.nbf = f.nbf;
    r.exp = f.exp;
    r.max_uses = f.max_uses;
    r.requester = c(&f.requester);
    r.rule = c(&f.rule);
    match crate::log::append_record(cfg, r.clone()) {
        Err(LogError::Oversized { .. }) => {
            r.host_groups = None;
            r.grants = None;
            r.run_as = None;
            r.run_as_groups = None;
            r.message = Some(Cow::Owned(format!(
                "{} [request details dropped: too large to record]",
                record::cap(&f.message, record::STR_CAP)
            )));
            crate::log::append_record(cfg, r)
        }
        other => other,
    }
}

/// Append a `revoked` record: the whole list of `version` as signed.
/// Refused ([`LogError::Oversized`]) if it does not fit one line (about
/// 1300 token ids); the caller must then not publish the list.
pub fn append_revoked(cfg: &LogConfig, v: &Revocation) -> Result<Appended, LogError> {
    let mut r = Record::new(EventKind::Revoked);
    r.kid = c(&v.kid);
    r.requester = c(&v.requester);
    r.token_reason = c(&v.reason);
    r.revocation_version = Some(v.version);
    r.revoked_tokens = Some(v.tokens.clone());
    r.revoked_users = Some(v.users.clone());
    r.watermarks = Some(v.watermarks.clone());
    // Only when there are any: a list without SSH entries keeps the record
    // it always had.
    r.revoked_ssh_serials = (!v.ssh_serials.is_empty()).then(|| v.ssh_serials.clone());
    r.revoked_ssh_key_ids = (!v.ssh_key_ids.is_empty()).then(|| v.ssh_key_ids.clone());
    r.revoked_ssh_keys = (!v.ssh_keys.is_empty()).then(|| v.ssh_keys.clone());
    crate::log::append_record(cfg, r)
}

/// Fuzzing entry point: `data` is one ledger segment (and, for the report,
/// one host log). Reading, standing and the report must never panic.
#[doc(hidden)]
pub fn fuzz_read(data: &[u8]) {
    let path = std::env::temp_dir().join(format!("jit-fuzz-ledger-{}.log", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let files = [path];
    if let Ok(l) = load::read_ledger(&files) {
        for (at, secs) in [
            ("1970-01-01T00:00:00.000000Z", 0),
            ("2026-11-19T14:59:00.000000Z", 1_795_000_500),
            ("9999-12-31T23:59:59.999999Z", i64::MAX),
        ] {
            let _ = standing::standing(&l, at, secs);
        }
        let mut u = report::HostUsage::default();
        let win = report::Window::default();
        let _ = crate::log::query::for_each_record(&files, |f, n, r| {
            u.add(&win, f, n, r);
            Ok(())
        });
        let _ = report::build(&l, &u, &win);
    }
    let _ = load::group_segments(&files);
}

#[cfg(test)]
mod fuzz_entry_tests {
    #[test]
    fn fuzz_entry_accepts_vectors_and_garbage() {
        for f in ["ledger", "ledger-bitflip", "intact"] {
            let data = std::fs::read(format!(
                "{}/../docs/vectors/log/{f}.log",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            super::fuzz_read(&data);
        }
        super::fuzz_read(b"");
        super::fuzz_read(
            b"{\"v\":1,\"seq\":1,\"time\":\"x\",\"host\":\"h\",\"kind\":\"issued\",\"exp\":-9223372036854775808,\"nbf\":9223372036854775807,\"prev\":\"0\"}\n",
        );
    }
}
