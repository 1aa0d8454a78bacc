//! SIEM export: each audit-log or ledger record as OCSF or ECS events
//! (docs/export.md, which holds the mapping table this code implements).
//!
//! Pure: [`Exporter::export`] takes one parsed record and where it came from
//! and returns the events (JSON objects) to write, one per NDJSON line. The
//! only state an exporter keeps is what a later record needs: the owner of
//! each token id seen in an `issued` record and of each certificate seen in
//! an `ssh_cert` record (by serial, key id and key), and each ledger's last
//! revocation list (a `revoked` record holds the whole list, so only what it
//! adds is exported).
//!
//! Fail closed: a record of a kind that has no place in its input (a ledger
//! kind in a host log, a host kind in a ledger), a ledger record that lacks a
//! member its kind requires, a time that is not the log's format, or a record
//! before any `start`/`continue` record named its log is an error, never
//! exported half-mapped. A decision whose `allowed` is not `true` is a
//! denial.

use crate::log::record::{EventKind, GrantRec, Record};
use crate::token::shell_quote;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The OCSF release whose classes and attributes the export uses
/// (`metadata.version`).
pub const OCSF_VERSION: &str = "1.8.0";
/// The ECS release whose fields the export uses (`ecs.version`).
pub const ECS_VERSION: &str = "8.17.0";

/// The output schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Open Cybersecurity Schema Framework, [`OCSF_VERSION`].
    Ocsf,
    /// Elastic Common Schema, [`ECS_VERSION`].
    Ecs,
}

/// Where a record comes from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The `log_id` of the chain the record belongs to (named by the
    /// chain's `start` or `continue` record).
    pub log_id: Option<&'a str>,
    /// The input is an issuance ledger (else a host audit log).
    pub ledger: bool,
    /// The input verified (`false` only when the caller exports unverified
    /// input on request; every event then says so).
    pub verified: bool,
}

/// Why a record cannot be exported.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportError {
    /// A record of a kind its input cannot hold.
    #[error("seq {seq}: `{kind}` record in {input}")]
    WrongInput {
        seq: u64,
        kind: &'static str,
        input: &'static str,
    },
    /// A ledger record lacks a member its kind requires.
    #[error("seq {seq}: {kind} record lacks `{member}`")]
    Missing {
        seq: u64,
        kind: &'static str,
        member: &'static str,
    },
    /// The record's time is not the log's format.
    #[error("seq {seq}: time {time:?} is not the log's format")]
    Time { seq: u64, time: String },
    /// No `start` or `continue` record named the log before this record.
    #[error("seq {seq}: no start or continue record names the log before this record")]
    NoLogId { seq: u64 },
}

/// What a record is, in the terms both schemas share.
#[derive(Debug, Clone, PartialEq)]
enum What {
    /// An allowed decision: sudo runs the command.
    Launch,
    /// A denied decision.
    Denied,
    /// A `session_open` record (pam_jit writes it for a refusal in open_session).
    SessionOpen { allowed: bool },
    /// A `session_close` record.
    SessionClose,
    /// The first record of a log.
    LogStart,
    /// The first record of a rotated segment.
    LogContinue,
    /// The writer repaired a crash leftover.
    LogRecovery,
    /// A token was signed.
    Issued,
    /// An SSH user certificate was signed (`ssh_cert`).
    SshCert,
    /// The signer refused a request.
    Refused,
    /// One entry a revocation list adds to the ledger's previous list.
    Revoke(Revoked),
}

/// One entry a revocation list adds.
#[derive(Debug, Clone, PartialEq)]
enum Revoked {
    /// A token id (with its owner, if an `issued` record seen before names it).
    Token {
        token_id: String,
        owner: Option<String>,
    },
    /// Every token of a user.
    User(String),
    /// A user's tokens issued before `before` (Unix seconds).
    Watermark { user: String, before: i64 },
    /// An SSH certificate serial of a CA (`SHA256:...`), with the owner of
    /// the certificate if an `ssh_cert` record seen before names it.
    SshSerial {
        ca: String,
        serial: String,
        owner: Option<String>,
    },
    /// Every SSH certificate with a key id (a grant id).
    SshKeyId {
        key_id: String,
        owner: Option<String>,
    },
    /// An SSH key (`SHA256:...`) and every certificate on it: a user's key
    /// or a CA key.
    SshKey {
        fingerprint: String,
        owner: Option<String>,
    },
}

/// A ledger's last revocation list.
#[derive(Debug, Clone, Default)]
struct List {
    tokens: BTreeSet<String>,
    users: BTreeSet<String>,
    watermarks: BTreeMap<String, i64>,
    /// (CA fingerprint, serial).
    ssh_serials: BTreeSet<(String, String)>,
    ssh_key_ids: BTreeSet<String>,
    ssh_keys: BTreeSet<String>,
}

/// The users of the certificates `ssh_cert` records name, by what a
/// revocation list can name them by.
#[derive(Debug, Clone, Default)]
struct SshOwners {
    /// (CA fingerprint, serial) → user.
    serials: HashMap<(String, String), String>,
    /// Key id (grant id) → user.
    key_ids: HashMap<String, String>,
    /// The subject key's fingerprint → user.
    keys: HashMap<String, String>,
}

/// OCSF severity ids (dictionary `severity_id`).
const SEV_INFO: u8 = 1;
const SEV_LOW: u8 = 2;
const SEV_MEDIUM: u8 = 3;
const SEV_HIGH: u8 = 4;

/// The placeholder user name where a schema requires a user and the record
/// names none (docs/export.md).
pub const UNKNOWN_USER: &str = "unknown";

/// Turns records into events; see the module documentation.
#[derive(Debug, Clone)]
pub struct Exporter {
    format: Format,
    product_version: String,
    owners: HashMap<String, String>,
    ssh_owners: SshOwners,
    lists: HashMap<String, List>,
}

impl Exporter {
    /// An exporter writing `format`; `product_version` is jit's version
    /// (OCSF `metadata.product.version`).
    pub fn new(format: Format, product_version: &str) -> Self {
        Exporter {
            format,
            product_version: product_version.to_string(),
            owners: HashMap::new(),
            ssh_owners: SshOwners::default(),
            lists: HashMap::new(),
        }
    }

    /// The events of one record, in order (none for a revocation list that
    /// adds nothing to the ledger's previous one; several for one that adds
    /// several entries).
    pub fn export(&mut self, src: &Source<'_>, r: &Record<'_>) -> Result<Vec<Value>, ExportError> {
        let seq = r.seq;
        let input = if src.ledger {
            "an issuance ledger"
        } else {
            "a host audit log"
        };
        let wrong = || ExportError::WrongInput {
            seq,
            kind: r.kind.as_str(),
            input,
        };
        let missing = |member: &'static str| ExportError::Missing {
            seq,
            kind: r.kind.as_str(),
            member,
        };
        let whats = match r.kind {
            EventKind::Decision | EventKind::SessionOpen | EventKind::SessionClose
                if src.ledger =>
            {
                return Err(wrong())
            }
            EventKind::Issued | EventKind::Refused | EventKind::Revoked | EventKind::SshCert
                if !src.ledger =>
            {
                return Err(wrong())
            }
            EventKind::SshCert => {
                require(&[
                    ("token_id", r.token_id.is_some()),
                    ("user", r.user.is_some()),
                    ("serial", r.serial.is_some()),
                    ("principals", r.principals.is_some()),
                    ("nbf", r.nbf.is_some()),
                    ("exp", r.exp.is_some()),
                ])
                .map_err(missing)?;
                vec![What::SshCert]
            }
            EventKind::Decision if r.allowed == Some(true) => vec![What::Launch],
            EventKind::Decision => vec![What::Denied],
            EventKind::SessionOpen => vec![What::SessionOpen {
                allowed: r.allowed == Some(true),
            }],
            EventKind::SessionClose => vec![What::SessionClose],
            EventKind::Start => vec![What::LogStart],
            EventKind::Continue => vec![What::LogContinue],
            EventKind::Recovery => vec![What::LogRecovery],
            EventKind::Issued => {
                require(&[
                    ("token_id", r.token_id.is_some()),
                    ("user", r.user.is_some()),
                    ("host_groups", r.host_groups.is_some()),
                    ("iat", r.iat.is_some()),
                    ("nbf", r.nbf.is_some()),
                    ("exp", r.exp.is_some()),
                ])
                .map_err(missing)?;
                vec![What::Issued]
            }
            EventKind::Refused => {
                if r.reason_code.is_none() {
                    return Err(missing("reason_code"));
                }
                vec![What::Refused]
            }
            EventKind::Revoked => {
                if r.revocation_version.is_none() {
                    return Err(missing("revocation_version"));
                }
                let log_id = src.log_id.ok_or(ExportError::NoLogId { seq })?;
                self.revocations(log_id, r)
            }
        };
        let micros = crate::text::log_time_micros(&r.time).ok_or_else(|| ExportError::Time {
            seq,
            time: r.time.to_string(),
        })?;
        let log_id = match (r.kind, &r.log_id) {
            (EventKind::Start | EventKind::Continue, Some(own)) => own.as_ref(),
            _ => src.log_id.ok_or(ExportError::NoLogId { seq })?,
        };
        if r.kind == EventKind::Issued {
            if let (Some(t), Some(u)) = (&r.token_id, &r.user) {
                self.owners.insert(t.to_string(), u.to_string());
            }
        }
        if r.kind == EventKind::SshCert {
            if let (Some(t), Some(u)) = (&r.token_id, &r.user) {
                let o = &mut self.ssh_owners;
                o.key_ids.insert(t.to_string(), u.to_string());
                if let (Some(ca), Some(s)) = (&r.ca_fingerprint, &r.serial) {
                    o.serials
                        .insert((ca.to_string(), s.to_string()), u.to_string());
                }
                if let Some(k) = &r.key_fingerprint {
                    o.keys.insert(k.to_string(), u.to_string());
                }
            }
        }
        Ok(whats
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let ctx = Ctx {
                    r,
                    src,
                    log_id,
                    micros,
                    product_version: &self.product_version,
                    // The entries of one revocation list are told apart.
                    part: (r.kind == EventKind::Revoked).then_some(i),
                };
                match self.format {
                    Format::Ocsf => ocsf(&ctx, w),
                    Format::Ecs => ecs(&ctx, w),
                }
            })
            .collect())
    }

    /// The entries the list of `r` adds to the previous list of ledger `log_id`.
    fn revocations(&mut self, log_id: &str, r: &Record<'_>) -> Vec<What> {
        let mut now = List::default();
        for t in r.revoked_tokens.iter().flatten() {
            now.tokens.insert(t.token_id.clone());
        }
        for u in r.revoked_users.iter().flatten() {
            now.users.insert(u.clone());
        }
        for w in r.watermarks.iter().flatten() {
            let b = now.watermarks.entry(w.user.clone()).or_insert(w.before);
            *b = (*b).max(w.before);
        }
        for s in r.revoked_ssh_serials.iter().flatten() {
            now.ssh_serials.insert((s.ca.clone(), s.serial.clone()));
        }
        for k in r.revoked_ssh_key_ids.iter().flatten() {
            now.ssh_key_ids.insert(k.key_id.clone());
        }
        for k in r.revoked_ssh_keys.iter().flatten() {
            now.ssh_keys.insert(k.clone());
        }
        let prev = self.lists.entry(log_id.to_string()).or_default();
        let mut out = Vec::new();
        for t in now.tokens.difference(&prev.tokens) {
            out.push(What::Revoke(Revoked::Token {
                token_id: t.clone(),
                owner: self.owners.get(t).cloned(),
            }));
        }
        for u in now.users.difference(&prev.users) {
            out.push(What::Revoke(Revoked::User(u.clone())));
        }
        for (u, b) in &now.watermarks {
            if prev.watermarks.get(u).map_or(true, |p| b > p) {
                out.push(What::Revoke(Revoked::Watermark {
                    user: u.clone(),
                    before: *b,
                }));
            }
        }
        let o = &self.ssh_owners;
        for (ca, serial) in now.ssh_serials.difference(&prev.ssh_serials) {
            out.push(What::Revoke(Revoked::SshSerial {
                owner: o.serials.get(&(ca.clone(), serial.clone())).cloned(),
                ca: ca.clone(),
                serial: serial.clone(),
            }));
        }
        for k in now.ssh_key_ids.difference(&prev.ssh_key_ids) {
            // A key id is a grant id: the token of the same grant names
            // the same user.
            let owner = o.key_ids.get(k).or_else(|| self.owners.get(k)).cloned();
            out.push(What::Revoke(Revoked::SshKeyId {
                key_id: k.clone(),
                owner,
            }));
        }
        for k in now.ssh_keys.difference(&prev.ssh_keys) {
            out.push(What::Revoke(Revoked::SshKey {
                fingerprint: k.clone(),
                owner: o.keys.get(k).cloned(),
            }));
        }
        *prev = now;
        out
    }
}

/// The first member a record of its kind must have and lacks.
fn require(members: &[(&'static str, bool)]) -> Result<(), &'static str> {
    match members.iter().find(|(_, present)| !present) {
        Some((m, _)) => Err(m),
        None => Ok(()),
    }
}

/// One record being exported.
struct Ctx<'a, 'r> {
    r: &'a Record<'r>,
    src: &'a Source<'a>,
    log_id: &'a str,
    micros: i64,
    product_version: &'a str,
    /// Which of the events of a record that gives several (a revocation list).
    part: Option<usize>,
}

impl Ctx<'_, '_> {
    fn break_glass(&self) -> bool {
        self.r.break_glass == Some(true)
    }

    /// The event's unique id: the record's log and sequence number, and for
    /// a revocation list's entries their index (`LOG:SEQ:N`, from 0).
    fn uid(&self) -> String {
        match self.part {
            None => format!("{}:{}", self.log_id, self.r.seq),
            Some(n) => format!("{}:{}:{n}", self.log_id, self.r.seq),
        }
    }

    /// The command line: argv shell-quoted (as `--command` is written),
    /// else the resolved path.
    fn command_line(&self) -> Option<String> {
        match (&self.r.argv, &self.r.command) {
            (Some(a), _) if !a.is_empty() => Some(
                a.iter()
                    .map(|x| shell_quote(x))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            (_, Some(c)) => Some(shell_quote(c)),
            _ => None,
        }
    }

    /// The `jit` object: every record member without a schema attribute of
    /// its own, and the record's place in its chain.
    fn jit(&self, w: &What) -> Value {
        let r = self.r;
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            if !v.is_null() {
                m.insert(k.to_string(), v);
            }
        };
        put("kind", json!(r.kind.as_str()));
        put("log_id", json!(self.log_id));
        put("seq", json!(r.seq));
        put("hash", json!(r.hash));
        put("verified", json!(self.src.verified));
        put("time", json!(r.time));
        put("token_id", json!(r.token_id));
        put("issuer", json!(r.issuer));
        put("kid", json!(r.kid));
        put("token_reason", json!(r.token_reason));
        put("ticket", json!(r.ticket));
        put("approver", json!(r.approver));
        put("requester", json!(r.requester));
        put("rule", json!(r.rule));
        put("reason_code", json!(r.reason_code));
        put("message", json!(r.message));
        put("allowed", json!(r.allowed));
        put("break_glass", json!(self.break_glass()));
        put("run_as_group", json!(r.run_as_group));
        put("tty", json!(r.tty));
        put("pid", json!(r.pid));
        if let Some(t) = &r.argv_truncated {
            put(
                "argv_truncated",
                json!({"argc": t.argc, "bytes": t.bytes, "blake3": t.blake3}),
            );
        }
        put("session_secs", json!(r.session_secs));
        put("found", json!(r.found));
        put("discarded_bytes", json!(r.discarded_bytes));
        put("discarded_blake3", json!(r.discarded_blake3));
        put("host_groups", json!(r.host_groups));
        if let Some(g) = &r.grants {
            let cmds: Vec<String> = g.iter().map(GrantRec::display).collect();
            put("commands", json!(cmds));
        }
        put("run_as", json!(r.run_as));
        put("run_as_groups", json!(r.run_as_groups));
        put("shell", json!(r.shell));
        put("iat", json!(r.iat));
        put("nbf", json!(r.nbf));
        put("exp", json!(r.exp));
        put("max_uses", json!(r.max_uses));
        put("requested", json!(r.requested));
        put("revocation_version", json!(r.revocation_version));
        put("serial", json!(r.serial));
        put("principals", json!(r.principals));
        put("key_fingerprint", json!(r.key_fingerprint));
        put("ca_fingerprint", json!(r.ca_fingerprint));
        put("source_address", json!(r.source_address));
        put("extensions", json!(r.extensions));
        if let What::Revoke(x) = w {
            put(
                "revoked",
                match x {
                    Revoked::Token { token_id, owner } => {
                        json!({"by": "token_id", "token_id": token_id, "owner": owner})
                    }
                    Revoked::User(u) => json!({"by": "user", "user": u}),
                    Revoked::Watermark { user, before } => json!({
                        "by": "watermark", "user": user, "before": before,
                        "before_time": crate::text::fmt_time(*before),
                    }),
                    Revoked::SshSerial { ca, serial, owner } => json!({
                        "by": "ssh_serial", "ca": ca, "serial": serial, "owner": owner,
                    }),
                    Revoked::SshKeyId { key_id, owner } => {
                        json!({"by": "ssh_key_id", "key_id": key_id, "owner": owner})
                    }
                    Revoked::SshKey { fingerprint, owner } => json!({
                        "by": "ssh_key", "key_fingerprint": fingerprint, "owner": owner,
                    }),
                },
            );
        }
        Value::Object(m)
    }

    fn severity(&self, w: &What) -> u8 {
        if self.break_glass() {
            return SEV_HIGH;
        }
        match w {
            What::Denied | What::SessionOpen { allowed: false } | What::Refused => SEV_LOW,
            What::LogRecovery => SEV_MEDIUM,
            _ => SEV_INFO,
        }
    }

    /// Success, failure or neither (a log record).
    fn outcome(&self, w: &What) -> Option<bool> {
        match w {
            What::Launch | What::SessionClose | What::Issued | What::SshCert | What::Revoke(_) => {
                Some(true)
            }
            What::Denied | What::Refused => Some(false),
            What::SessionOpen { allowed } => Some(*allowed),
            What::LogStart | What::LogContinue | What::LogRecovery => None,
        }
    }

    /// A one-line summary for people.
    fn message(&self, w: &What) -> String {
        let r = self.r;
        let user = r.user.as_deref().unwrap_or(UNKNOWN_USER);
        let as_user = r.run_as_user.as_deref().unwrap_or("?");
        let cmd = self.command_line().unwrap_or_default();
        let why = r.reason_code.as_deref().unwrap_or("unknown");
        let bg = if self.break_glass() {
            " [break-glass]"
        } else {
            ""
        };
        match w {
            What::Launch => format!("{user} ran as {as_user} on {}: {cmd}{bg}", r.host),
            What::Denied => format!(
                "sudo denied ({why}) to {user} as {as_user} on {}: {cmd}{bg}",
                r.host
            ),
            What::SessionOpen { allowed: true } => {
                format!("session opened for {user} as {as_user} on {}", r.host)
            }
            What::SessionOpen { allowed: false } => format!(
                "session refused ({why}) to {user} as {as_user} on {}{bg}",
                r.host
            ),
            What::SessionClose => format!("session closed for {user} as {as_user} on {}", r.host),
            What::LogStart => format!("jit log {} started on {}", self.log_id, r.host),
            What::LogContinue => format!(
                "jit log {} continues in a rotated segment on {}",
                self.log_id, r.host
            ),
            What::LogRecovery => format!(
                "jit log {} on {}: the writer repaired {}",
                self.log_id,
                r.host,
                r.found.as_deref().unwrap_or("?")
            ),
            What::Issued => format!(
                "{} issued token {} to {user}{bg}",
                r.host,
                r.token_id.as_deref().unwrap_or("?")
            ),
            What::SshCert => format!(
                "{} issued SSH certificate {} (serial {}) to {user} for {}",
                r.host,
                r.token_id.as_deref().unwrap_or("?"),
                r.serial.as_deref().unwrap_or("?"),
                r.principals.as_deref().unwrap_or_default().join(", ")
            ),
            What::Refused => format!("{} refused a request of {user} ({why})", r.host),
            What::Revoke(x) => match x {
                Revoked::Token { token_id, .. } => format!(
                    "{} revoked token {token_id} (list v{})",
                    r.host,
                    r.revocation_version.unwrap_or(0)
                ),
                Revoked::User(u) => format!(
                    "{} revoked every token of {u} (list v{})",
                    r.host,
                    r.revocation_version.unwrap_or(0)
                ),
                Revoked::Watermark { user, before } => format!(
                    "{} revoked the tokens of {user} issued before {} (list v{})",
                    r.host,
                    crate::text::fmt_time(*before),
                    r.revocation_version.unwrap_or(0)
                ),
                Revoked::SshSerial { ca, serial, .. } => format!(
                    "{} revoked SSH certificate serial {serial} of CA {ca} (list v{})",
                    r.host,
                    r.revocation_version.unwrap_or(0)
                ),
                Revoked::SshKeyId { key_id, .. } => format!(
                    "{} revoked the SSH certificates with key id {key_id} (list v{})",
                    r.host,
                    r.revocation_version.unwrap_or(0)
                ),
                Revoked::SshKey { fingerprint, .. } => format!(
                    "{} revoked SSH key {fingerprint} and every certificate on it (list v{})",
                    r.host,
                    r.revocation_version.unwrap_or(0)
                ),
            },
        }
    }

    /// The privileges a grant event names: its commands in `--command`
    /// syntax, `(shell)` for a shell grant.
    fn privileges(&self, w: &What) -> Vec<String> {
        match w {
            What::Revoke(Revoked::Token { token_id, .. }) => vec![format!("jit token {token_id}")],
            What::SshCert => self
                .r
                .principals
                .iter()
                .flatten()
                .map(|p| format!("ssh login as principal {p}"))
                .collect(),
            What::Revoke(Revoked::User(_)) => vec!["every jit token".to_string()],
            What::Revoke(Revoked::Watermark { before, .. }) => vec![format!(
                "jit tokens issued before {}",
                crate::text::fmt_time(*before)
            )],
            What::Revoke(Revoked::SshSerial { ca, serial, .. }) => {
                vec![format!("ssh certificate serial {serial} of CA {ca}")]
            }
            What::Revoke(Revoked::SshKeyId { key_id, .. }) => {
                vec![format!("ssh certificates with key id {key_id}")]
            }
            What::Revoke(Revoked::SshKey { fingerprint, .. }) => {
                vec![format!("ssh key {fingerprint} and its certificates")]
            }
            _ => {
                let mut v: Vec<String> = self
                    .r
                    .grants
                    .iter()
                    .flatten()
                    .map(GrantRec::display)
                    .collect();
                if self.r.shell == Some(true) {
                    v.push("(shell)".to_string());
                }
                v
            }
        }
    }

    /// The user a grant event is about, if the record (or, for a revoked
    /// token id, an `issued` record read before) names one.
    fn grant_target(&self, w: &What) -> Option<String> {
        match w {
            What::Revoke(
                Revoked::Token { owner, .. }
                | Revoked::SshSerial { owner, .. }
                | Revoked::SshKeyId { owner, .. }
                | Revoked::SshKey { owner, .. },
            ) => owner.clone(),
            What::Revoke(Revoked::User(u)) | What::Revoke(Revoked::Watermark { user: u, .. }) => {
                Some(u.clone())
            }
            _ => self.r.user.as_deref().map(str::to_string),
        }
    }

    /// Who acted on a grant: the approver of an issued token when a person
    /// approved it, the requester of a refused request or revocation.
    fn grant_actor(&self, w: &What) -> Option<String> {
        let r = self.r;
        match w {
            What::Issued | What::SshCert => r
                .approver
                .as_deref()
                .filter(|a| !a.starts_with("auto:"))
                .map(str::to_string),
            _ => r.requester.as_deref().map(str::to_string),
        }
    }
}

/// OCSF class, activity and their captions.
struct Class {
    category_uid: u32,
    category_name: &'static str,
    class_uid: u32,
    class_name: &'static str,
    activity_id: u32,
    activity_name: &'static str,
}

const SYSTEM: (u32, &str) = (1, "System Activity");
const IAM: (u32, &str) = (3, "Identity & Access Management");

fn class_of(w: &What) -> Class {
    let c = |cat: (u32, &'static str), class_uid, class_name, activity_id, activity_name| Class {
        category_uid: cat.0,
        category_name: cat.1,
        class_uid,
        class_name,
        activity_id,
        activity_name,
    };
    match w {
        What::Launch => c(SYSTEM, 1007, "Process Activity", 1, "Launch"),
        What::Denied => c(IAM, 3002, "Authentication", 7, "Account Switch"),
        What::SessionOpen { .. } => c(IAM, 3002, "Authentication", 1, "Logon"),
        What::SessionClose => c(IAM, 3002, "Authentication", 2, "Logoff"),
        What::LogStart => c(SYSTEM, 1008, "Event Log Activity", 6, "Start"),
        What::LogContinue => c(SYSTEM, 1008, "Event Log Activity", 5, "Rotate"),
        What::LogRecovery => c(SYSTEM, 1008, "Event Log Activity", 99, "Other"),
        What::Issued | What::SshCert | What::Refused => {
            c(IAM, 3005, "User Access Management", 1, "Assign Privileges")
        }
        What::Revoke(_) => c(IAM, 3005, "User Access Management", 2, "Revoke Privileges"),
    }
}

fn severity_name(id: u8) -> &'static str {
    match id {
        1 => "Informational",
        2 => "Low",
        3 => "Medium",
        4 => "High",
        _ => "Unknown",
    }
}

fn user_obj(name: &str) -> Value {
    json!({ "name": name })
}

/// The OCSF event of one record.
fn ocsf(x: &Ctx<'_, '_>, w: &What) -> Value {
    let r = x.r;
    let c = class_of(w);
    let sev = x.severity(w);
    let mut e = Map::new();
    e.insert("category_uid".into(), json!(c.category_uid));
    e.insert("category_name".into(), json!(c.category_name));
    e.insert("class_uid".into(), json!(c.class_uid));
    e.insert("class_name".into(), json!(c.class_name));
    e.insert("activity_id".into(), json!(c.activity_id));
    e.insert("activity_name".into(), json!(c.activity_name));
    e.insert(
        "type_uid".into(),
        json!(u64::from(c.class_uid) * 100 + u64::from(c.activity_id)),
    );
    e.insert(
        "type_name".into(),
        json!(format!("{}: {}", c.class_name, c.activity_name)),
    );
    e.insert("time".into(), json!(x.micros.div_euclid(1000)));
    e.insert("severity_id".into(), json!(sev));
    e.insert("severity".into(), json!(severity_name(sev)));
    e.insert("message".into(), json!(x.message(w)));
    match x.outcome(w) {
        Some(true) => {
            e.insert("status_id".into(), json!(1));
            e.insert("status".into(), json!("Success"));
        }
        Some(false) => {
            e.insert("status_id".into(), json!(2));
            e.insert("status".into(), json!("Failure"));
        }
        None => {}
    }
    if let Some(code) = &r.reason_code {
        e.insert("status_code".into(), json!(code));
    }
    if let Some(m) = r.message.as_deref().or(r.found.as_deref()) {
        e.insert("status_detail".into(), json!(m));
    }
    let iam = c.category_uid == IAM.0;
    let mut metadata = json!({
        "version": OCSF_VERSION,
        "product": {"name": "jit", "vendor_name": "jit", "version": x.product_version},
        "uid": x.uid(),
        "log_name": if x.src.ledger { "ledger" } else { "audit" },
        "log_provider": "jit",
        "original_time": r.time,
    });
    if iam {
        // `device` is an IAM attribute through the host profile only.
        metadata["profiles"] = json!(["host"]);
    }
    e.insert("metadata".into(), metadata);
    e.insert(
        "device".into(),
        json!({"hostname": r.host, "type_id": 0, "type": "Unknown"}),
    );
    let mut actor = Map::new();
    match w {
        What::Launch | What::Denied | What::SessionOpen { .. } | What::SessionClose => {
            if let Some(u) = &r.user {
                actor.insert("user".into(), user_obj(u));
            }
            if let Some(pid) = r.pid {
                actor.insert("process".into(), json!({"pid": pid}));
            }
            if actor.is_empty() {
                actor.insert("app_name".into(), json!("sudo"));
            }
        }
        What::LogStart | What::LogContinue | What::LogRecovery => {
            actor.insert(
                "app_name".into(),
                json!(if x.src.ledger {
                    "jit-signer"
                } else {
                    "pam_jit"
                }),
            );
        }
        What::Issued | What::SshCert | What::Refused | What::Revoke(_) => {
            actor.insert("app_name".into(), json!("jit-signer"));
            if let Some(u) = x.grant_actor(w) {
                actor.insert("user".into(), user_obj(&u));
            }
        }
    }
    e.insert("actor".into(), Value::Object(actor));
    match w {
        What::Launch => {
            let mut p = Map::new();
            // The record holds sudo's pid, not the command's: the launched
            // process is named by the record instead.
            p.insert("uid".into(), json!(x.uid()));
            if let Some(cl) = x.command_line() {
                p.insert("cmd_line".into(), json!(cl));
            }
            if let Some(cmd) = &r.command {
                let name = cmd.rsplit('/').next().unwrap_or(cmd);
                p.insert("name".into(), json!(name));
                p.insert(
                    "file".into(),
                    json!({"name": name, "path": cmd, "type_id": 1, "type": "Regular File"}),
                );
            }
            if let Some(u) = &r.run_as_user {
                p.insert("user".into(), user_obj(u));
            }
            if let Some(pid) = r.pid {
                p.insert("parent_process".into(), json!({"pid": pid}));
            }
            e.insert("process".into(), Value::Object(p));
        }
        What::Denied | What::SessionOpen { .. } | What::SessionClose => {
            let target = r
                .run_as_user
                .as_deref()
                .or(r.user.as_deref())
                .unwrap_or(UNKNOWN_USER);
            e.insert("user".into(), user_obj(target));
            e.insert("service".into(), json!({"name": "sudo"}));
            e.insert("account_switch_type_id".into(), json!(1));
            e.insert("account_switch_type".into(), json!("Substitute User"));
            if let (What::SessionClose, Some(s)) = (w, r.session_secs) {
                if s.is_finite() && s >= 0.0 {
                    e.insert("duration".into(), json!((s * 1000.0).round() as i64));
                }
            }
        }
        What::LogStart | What::LogContinue | What::LogRecovery => {
            e.insert("log_name".into(), json!(x.log_id));
            e.insert("log_provider".into(), json!("jit"));
            e.insert("log_type_id".into(), json!(2));
            e.insert("log_type".into(), json!("Application"));
            if let What::LogRecovery = w {
                e.insert("activity_name".into(), json!("Recovery"));
                e.insert("type_name".into(), json!("Event Log Activity: Other"));
            }
        }
        What::Issued | What::SshCert | What::Refused | What::Revoke(_) => {
            // OCSF requires a user: the placeholder when none is known.
            let target = x.grant_target(w);
            e.insert(
                "user".into(),
                user_obj(target.as_deref().unwrap_or(UNKNOWN_USER)),
            );
            e.insert("privileges".into(), json!(x.privileges(w)));
            if !matches!(w, What::Revoke(_)) {
                let res: Vec<Value> = r
                    .host_groups
                    .iter()
                    .flatten()
                    .map(|g| json!({"name": g, "type": "jit host group"}))
                    .collect();
                if !res.is_empty() {
                    e.insert("resources".into(), Value::Array(res));
                }
            }
        }
    }
    let mut jit = x.jit(w);
    // OCSF has no attribute for the argument vector, nor for the command of
    // an event that is not a process launch.
    if let Some(a) = &r.argv {
        jit["argv"] = json!(a);
    }
    if let (false, Some(cmd)) = (matches!(w, What::Launch), &r.command) {
        jit["command"] = json!(cmd);
    }
    e.insert("unmapped".into(), json!({ "jit": jit }));
    Value::Object(e)
}

/// The ECS document of one record.
fn ecs(x: &Ctx<'_, '_>, w: &What) -> Value {
    let r = x.r;
    let (category, types, action): (&[&str], &[&str], String) = match w {
        What::Launch => (&["process"], &["start"], "sudo-allowed".into()),
        What::Denied => (&["authentication"], &["start"], "sudo-denied".into()),
        What::SessionOpen { allowed: true } => {
            (&["session"], &["start"], "sudo-session-open".into())
        }
        What::SessionOpen { allowed: false } => {
            (&["session"], &["start"], "sudo-session-refused".into())
        }
        What::SessionClose => (&["session"], &["end"], "sudo-session-close".into()),
        What::LogStart => (&[], &[], "jit-log-start".into()),
        What::LogContinue => (&[], &[], "jit-log-continue".into()),
        What::LogRecovery => (&[], &[], "jit-log-recovery".into()),
        What::Issued => (&["iam"], &["user", "change"], "jit-grant-issued".into()),
        What::SshCert => (&["iam"], &["user", "change"], "jit-ssh-cert-issued".into()),
        What::Refused => (&["iam"], &["user", "change"], "jit-grant-refused".into()),
        What::Revoke(
            Revoked::SshSerial { .. } | Revoked::SshKeyId { .. } | Revoked::SshKey { .. },
        ) => (&["iam"], &["user", "change"], "jit-ssh-cert-revoked".into()),
        What::Revoke(_) => (&["iam"], &["user", "change"], "jit-grant-revoked".into()),
    };
    let mut event = Map::new();
    event.insert("kind".into(), json!("event"));
    if !category.is_empty() {
        event.insert("category".into(), json!(category));
        event.insert("type".into(), json!(types));
    }
    event.insert("action".into(), json!(action));
    event.insert(
        "outcome".into(),
        json!(match x.outcome(w) {
            Some(true) => "success",
            Some(false) => "failure",
            None => "unknown",
        }),
    );
    if let Some(code) = &r.reason_code {
        event.insert("reason".into(), json!(code));
    } else if let Some(f) = &r.found {
        event.insert("reason".into(), json!(f));
    }
    event.insert("id".into(), json!(x.uid()));
    event.insert("sequence".into(), json!(r.seq));
    if let Some(h) = &r.hash {
        event.insert("hash".into(), json!(h));
    }
    event.insert("severity".into(), json!(x.severity(w)));
    event.insert("module".into(), json!("jit"));
    event.insert(
        "dataset".into(),
        json!(if x.src.ledger {
            "jit.ledger"
        } else {
            "jit.audit"
        }),
    );
    event.insert(
        "provider".into(),
        json!(if x.src.ledger {
            "jit-signer"
        } else {
            "pam_jit"
        }),
    );
    if let (What::SessionClose, Some(s)) = (w, r.session_secs) {
        if s.is_finite() && s >= 0.0 {
            event.insert("duration".into(), json!((s * 1e9).round() as i64));
        }
    }
    let mut doc = Map::new();
    doc.insert("@timestamp".into(), json!(r.time));
    doc.insert("ecs".into(), json!({"version": ECS_VERSION}));
    doc.insert("event".into(), Value::Object(event));
    doc.insert("message".into(), json!(x.message(w)));
    doc.insert("host".into(), json!({"name": r.host}));
    let mut tags = vec!["jit"];
    if x.break_glass() {
        tags.push("break_glass");
    }
    if !x.src.verified {
        tags.push("unverified");
    }
    doc.insert("tags".into(), json!(tags));
    match w {
        What::Launch | What::Denied | What::SessionOpen { .. } | What::SessionClose => {
            let mut user = Map::new();
            if let Some(u) = &r.user {
                user.insert("name".into(), json!(u));
            }
            let mut eff = Map::new();
            if let Some(u) = &r.run_as_user {
                eff.insert("name".into(), json!(u));
            }
            if let Some(g) = &r.run_as_group {
                eff.insert("group".into(), json!({"name": g}));
            }
            if !eff.is_empty() {
                user.insert("effective".into(), Value::Object(eff));
            }
            if !user.is_empty() {
                doc.insert("user".into(), Value::Object(user));
            }
            let mut p = Map::new();
            if let Some(cl) = x.command_line() {
                p.insert("command_line".into(), json!(cl));
            }
            if let Some(c) = &r.command {
                p.insert("executable".into(), json!(c));
                p.insert("name".into(), json!(c.rsplit('/').next().unwrap_or(c)));
            }
            if let Some(a) = &r.argv {
                p.insert("args".into(), json!(a));
                let argc = r.argv_truncated.as_ref().map_or(a.len() as u64, |t| t.argc);
                p.insert("args_count".into(), json!(argc));
            }
            if let Some(pid) = r.pid {
                p.insert("parent".into(), json!({"pid": pid}));
            }
            if !p.is_empty() {
                doc.insert("process".into(), Value::Object(p));
            }
            let related: BTreeSet<&str> = [r.user.as_deref(), r.run_as_user.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if !related.is_empty() {
                doc.insert("related".into(), json!({"user": related}));
            }
        }
        What::LogStart | What::LogContinue | What::LogRecovery => {}
        What::Issued | What::SshCert | What::Refused | What::Revoke(_) => {
            // ECS requires no user: an unknown one is left out.
            let target = x.grant_target(w);
            let mut user = Map::new();
            if let Some(a) = x.grant_actor(w) {
                user.insert("name".into(), json!(a));
            }
            if let Some(t) = &target {
                user.insert("target".into(), json!({ "name": t }));
            }
            if !user.is_empty() {
                doc.insert("user".into(), Value::Object(user));
            }
            let related: BTreeSet<String> = target.into_iter().chain(x.grant_actor(w)).collect();
            if !related.is_empty() {
                doc.insert("related".into(), json!({ "user": related }));
            }
        }
    }
    doc.insert("jit".into(), x.jit(w));
    Value::Object(doc)
}

#[cfg(test)]
mod tests;
