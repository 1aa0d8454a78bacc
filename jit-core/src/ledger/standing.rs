//! Standing access: who held a live grant at a given time.
//!
//! A grant is **live at T** when its token's validity window contains T
//! (`nbf <= T < exp`, Unix seconds as signed; T is compared at whole-second
//! precision, which is exact for integer bounds) and it is not revoked by the
//! revocation list in force at T. The list in force at T is the `revoked`
//! record with the highest `revocation_version` among those whose `time` is
//! at or before T (later records win a tie). A token is revoked by it when
//! its id is listed, its user is listed, or its user has a watermark
//! `before` with `iat < before`.

use super::load::{format_unix, IssuedEntry, Ledger, RevokedEntry};
use serde::Serialize;

/// Why a grant in its window was not live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokedBy {
    TokenId,
    User,
    Watermark,
}

/// One grant in the answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Held {
    pub user: String,
    pub token_id: String,
    pub host_groups: Vec<String>,
    /// `--command` text of each grant.
    pub commands: Vec<String>,
    pub shell: bool,
    pub run_as: Vec<String>,
    pub run_as_groups: Vec<String>,
    /// RFC 3339 UTC.
    pub not_before: String,
    pub expires: String,
    pub nbf: i64,
    pub exp: i64,
    pub approver: Option<String>,
    pub ticket: Option<String>,
    pub reason: Option<String>,
    pub break_glass: bool,
    pub max_uses: Option<u32>,
    pub signer: String,
    /// Where the `issued` record is.
    pub file: String,
    pub line: u64,
    /// Set for grants in their window but revoked at T.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<RevokedBy>,
    /// The revocation list version that revoked it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_version: Option<u64>,
}

/// The answer to "who held a live grant at T".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standing {
    /// T, normalised (`YYYY-MM-DDTHH:MM:SS.ffffffZ`).
    pub at: String,
    /// The revocation list version in force at T.
    pub revocation_version: Option<u64>,
    /// Live grants, ordered by user, then expiry.
    pub live: Vec<Held>,
    /// Grants inside their window at T but revoked by then.
    pub revoked: Vec<Held>,
}

/// The list in force at `at` (normalised time string).
pub fn list_at<'l>(ledger: &'l Ledger, at: &str) -> Option<&'l RevokedEntry> {
    let mut best: Option<&RevokedEntry> = None;
    for r in ledger.revoked.iter().filter(|r| r.time.as_str() <= at) {
        if best.map_or(true, |b| r.version >= b.version) {
            best = Some(r);
        }
    }
    best
}

/// Is `g` revoked by `list`?
pub fn revoked_by(g: &IssuedEntry, list: &RevokedEntry) -> Option<RevokedBy> {
    if list.tokens.iter().any(|t| t.token_id == g.token_id) {
        return Some(RevokedBy::TokenId);
    }
    if list.users.contains(&g.user) {
        return Some(RevokedBy::User);
    }
    if list
        .watermarks
        .iter()
        .any(|w| w.user == g.user && g.iat < w.before)
    {
        return Some(RevokedBy::Watermark);
    }
    None
}

fn held(g: &IssuedEntry) -> Held {
    Held {
        user: g.user.clone(),
        token_id: g.token_id.clone(),
        host_groups: g.host_groups.clone(),
        commands: g.commands(),
        shell: g.shell,
        run_as: g.run_as.clone(),
        run_as_groups: g.run_as_groups.clone(),
        not_before: format_unix(g.nbf),
        expires: format_unix(g.exp),
        nbf: g.nbf,
        exp: g.exp,
        approver: g.approver.clone(),
        ticket: g.ticket.clone(),
        reason: g.reason.clone(),
        break_glass: g.break_glass,
        max_uses: g.max_uses,
        signer: g.signer.clone(),
        file: g.file.clone(),
        line: g.line,
        revoked_by: None,
        revocation_version: None,
    }
}

/// Who held a live grant at `at` (normalised by
/// [`crate::log::query::parse_time`]); `at_secs` is the same instant in
/// whole Unix seconds (floor).
pub fn standing(ledger: &Ledger, at: &str, at_secs: i64) -> Standing {
    let list = list_at(ledger, at);
    let mut live = Vec::new();
    let mut revoked = Vec::new();
    for g in &ledger.issued {
        if !(g.nbf <= at_secs && at_secs < g.exp) {
            continue;
        }
        let mut h = held(g);
        match list.and_then(|l| revoked_by(g, l).map(|b| (b, l.version))) {
            Some((by, v)) => {
                h.revoked_by = Some(by);
                h.revocation_version = Some(v);
                revoked.push(h);
            }
            None => live.push(h),
        }
    }
    let order =
        |a: &Held, b: &Held| (&a.user, a.exp, &a.token_id).cmp(&(&b.user, b.exp, &b.token_id));
    live.sort_by(order);
    revoked.sort_by(order);
    Standing {
        at: at.to_string(),
        revocation_version: list.map(|l| l.version),
        live,
        revoked,
    }
}

/// Floor of a normalised time in Unix seconds.
pub fn secs_of(at: &str) -> Option<i64> {
    super::load::record_micros(at).map(|us| us.div_euclid(1_000_000))
}
