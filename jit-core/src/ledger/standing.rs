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
/// [`crate::text::user_time::Clock::parse`]); `at_secs` is the same instant in
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

impl Standing {
    /// Keep only grants of `user` and/or naming host group `group`.
    pub fn retain(&mut self, user: Option<&str>, group: Option<&str>) {
        let keep = |h: &Held| {
            user.map_or(true, |u| h.user == u)
                && group.map_or(true, |g| h.host_groups.iter().any(|x| x == g))
        };
        self.live.retain(keep);
        self.revoked.retain(keep);
    }
}

/// Floor of a normalised time in Unix seconds.
pub fn secs_of(at: &str) -> Option<i64> {
    super::load::record_micros(at).map(|us| us.div_euclid(1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::load::{IssuedEntry, Ledger, RevokedEntry};
    use crate::log::record::{RevokedToken, Watermark};

    fn parse_time(s: &str) -> Result<String, crate::text::user_time::TimeError> {
        crate::text::user_time::Clock::fixed(0, "UTC")
            .unwrap()
            .parse(s)
    }

    const NBF: i64 = 1_800_000_000; // 2027-01-15T08:00:00Z
    const EXP: i64 = NBF + 3600;

    fn grant(id: &str, user: &str, iat: i64) -> IssuedEntry {
        IssuedEntry {
            time: "2027-01-15T07:59:59.000000Z".into(),
            file: "ledger.log".into(),
            line: 2,
            seq: 1,
            signer: "signer-1".into(),
            token_id: id.into(),
            user: user.into(),
            host_groups: vec!["db".into()],
            grants: vec![crate::log::record::GrantRec {
                argv: vec!["/usr/bin/systemctl".into(), "restart".into()],
                any_args: true,
            }],
            run_as: vec!["root".into()],
            run_as_groups: vec![],
            shell: false,
            iat,
            nbf: NBF,
            exp: EXP,
            max_uses: None,
            break_glass: false,
            reason: Some("r".into()),
            ticket: None,
            approver: Some("carol".into()),
            requester: None,
            rule: None,
            requested: None,
            kid: Some("k1".into()),
            issuer: Some("k1".into()),
        }
    }

    fn list(time: &str, version: u64) -> RevokedEntry {
        RevokedEntry {
            time: time.into(),
            file: "ledger.log".into(),
            line: 9,
            seq: 8,
            signer: "signer-1".into(),
            version,
            tokens: vec![],
            users: vec![],
            watermarks: vec![],
        }
    }

    fn at(l: &Ledger, t: &str) -> Standing {
        let n = parse_time(t).unwrap();
        standing(l, &n, secs_of(&n).unwrap())
    }

    fn live_ids(s: &Standing) -> Vec<&str> {
        s.live.iter().map(|h| h.token_id.as_str()).collect()
    }

    #[test]
    fn window_bounds_nbf_included_exp_excluded() {
        let l = Ledger {
            issued: vec![grant("t1", "alice", NBF)],
            ..Ledger::default()
        };
        assert!(at(&l, "2027-01-15T07:59:59Z").live.is_empty(), "before nbf");
        assert!(
            at(&l, "2027-01-15T07:59:59.999999Z").live.is_empty(),
            "a microsecond before nbf"
        );
        assert_eq!(
            live_ids(&at(&l, "2027-01-15T08:00:00Z")),
            ["t1"],
            "TIME == nbf"
        );
        assert_eq!(live_ids(&at(&l, "2027-01-15T08:59:59.999999Z")), ["t1"]);
        assert!(
            at(&l, "2027-01-15T09:00:00Z").live.is_empty(),
            "TIME == exp"
        );
        // Offsets normalise to UTC.
        assert_eq!(live_ids(&at(&l, "2027-01-15T09:30:00+01:00")), ["t1"]);
        let h = &at(&l, "2027-01-15 08:30").live[0];
        assert_eq!(h.host_groups, ["db"]);
        assert_eq!(h.commands, ["/usr/bin/systemctl restart ..."]);
        assert_eq!(h.expires, "2027-01-15T09:00:00Z");
        assert_eq!(h.approver.as_deref(), Some("carol"));
    }

    #[test]
    fn revocation_counts_from_its_record_time_only() {
        let mut r = list("2027-01-15T08:30:00.000000Z", 1);
        r.tokens.push(RevokedToken {
            token_id: "t1".into(),
            exp: EXP,
        });
        let l = Ledger {
            issued: vec![grant("t1", "alice", NBF), grant("t2", "bob", NBF)],
            revoked: vec![r],
            ..Ledger::default()
        };
        // Before the list: both live.
        assert_eq!(
            live_ids(&at(&l, "2027-01-15T08:29:59.999999Z")),
            ["t1", "t2"]
        );
        // At the list's own time: revoked.
        let s = at(&l, "2027-01-15T08:30:00Z");
        assert_eq!(live_ids(&s), ["t2"]);
        assert_eq!(s.revoked[0].token_id, "t1");
        assert_eq!(s.revoked[0].revoked_by, Some(RevokedBy::TokenId));
        assert_eq!(s.revocation_version, Some(1));
    }

    #[test]
    fn newer_list_replaces_older_and_version_orders() {
        let mut v1 = list("2027-01-15T08:10:00.000000Z", 1);
        v1.users.push("alice".into());
        // v2 no longer lists alice (the whole list, not a delta).
        let v2 = list("2027-01-15T08:20:00.000000Z", 2);
        // A stale v1 replayed later does not win over v2.
        let mut stale = list("2027-01-15T08:40:00.000000Z", 1);
        stale.users.push("alice".into());
        let l = Ledger {
            issued: vec![grant("t1", "alice", NBF)],
            revoked: vec![v1, v2, stale],
            ..Ledger::default()
        };
        let s = at(&l, "2027-01-15T08:15:00Z");
        assert!(s.live.is_empty());
        assert_eq!(s.revoked[0].revoked_by, Some(RevokedBy::User));
        assert_eq!(live_ids(&at(&l, "2027-01-15T08:25:00Z")), ["t1"]);
        let s = at(&l, "2027-01-15T08:45:00Z");
        assert_eq!(live_ids(&s), ["t1"]);
        assert_eq!(s.revocation_version, Some(2));
    }

    #[test]
    fn watermark_voids_only_tokens_issued_strictly_before() {
        let mut r = list("2027-01-15T08:00:00.000000Z", 3);
        r.watermarks.push(Watermark {
            user: "alice".into(),
            before: NBF,
        });
        let l = Ledger {
            issued: vec![
                grant("old", "alice", NBF - 1),
                grant("same", "alice", NBF),
                grant("bob", "bob", NBF - 1),
            ],
            revoked: vec![r],
            ..Ledger::default()
        };
        let s = at(&l, "2027-01-15T08:30:00Z");
        assert_eq!(live_ids(&s), ["same", "bob"]);
        assert_eq!(s.revoked.len(), 1);
        assert_eq!(s.revoked[0].token_id, "old");
        assert_eq!(s.revoked[0].revoked_by, Some(RevokedBy::Watermark));
    }
}
