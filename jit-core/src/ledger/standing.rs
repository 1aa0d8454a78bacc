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
//!
//! An SSH certificate (an `ssh_cert` record) is **live at T** when its
//! window contains T (`valid after <= T < valid before`) and the list in
//! force at T does not revoke it: its key id (the grant id) listed as a token
//! id or as an SSH key id, its serial listed for its CA, or its key listed.
//! A list's users and watermarks do not reach certificates: sshd's KRL
//! cannot revoke by principal (docs/revocation.md).

use super::load::{format_unix, IssuedEntry, Ledger, RevokedEntry, SshCertEntry};
use serde::Serialize;

/// Why a grant in its window was not live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokedBy {
    TokenId,
    User,
    Watermark,
    /// An SSH certificate's key id, serial (for its CA) or key.
    SshKeyId,
    SshSerial,
    SshKey,
}

/// One SSH certificate in the answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SshHeld {
    pub user: String,
    /// The grant id.
    pub key_id: String,
    pub serial: String,
    pub principals: Vec<String>,
    pub host_groups: Vec<String>,
    pub key_fingerprint: String,
    pub ca_fingerprint: String,
    pub force_command: Option<String>,
    pub source_address: Option<String>,
    pub extensions: Vec<String>,
    /// RFC 3339 UTC.
    pub valid_after: String,
    pub valid_before: String,
    pub approver: Option<String>,
    pub ticket: Option<String>,
    pub reason: Option<String>,
    pub signer: String,
    /// Where the `ssh_cert` record is.
    pub file: String,
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<RevokedBy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_version: Option<u64>,
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
    /// SSH certificates live at T, ordered by user, then expiry.
    pub ssh_live: Vec<SshHeld>,
    /// SSH certificates inside their window at T but revoked by then.
    pub ssh_revoked: Vec<SshHeld>,
}

/// Is certificate `c` revoked by `list`?
pub fn ssh_revoked_by(c: &SshCertEntry, list: &RevokedEntry) -> Option<RevokedBy> {
    if list.tokens.iter().any(|t| t.token_id == c.key_id) {
        return Some(RevokedBy::TokenId);
    }
    if list.ssh_key_ids.iter().any(|k| k.key_id == c.key_id) {
        return Some(RevokedBy::SshKeyId);
    }
    if list
        .ssh_serials
        .iter()
        .any(|s| s.serial == c.serial && s.ca == c.ca_fingerprint)
    {
        return Some(RevokedBy::SshSerial);
    }
    // The certificate's key, or the CA key that signed it (sshd then refuses
    // everything that CA signed).
    if list.ssh_keys.contains(&c.key_fingerprint) || list.ssh_keys.contains(&c.ca_fingerprint) {
        return Some(RevokedBy::SshKey);
    }
    None
}

/// The certificates a revocation of `user` must list by key id, as
/// `(key_id, valid_before)`: sshd's KRL cannot revoke by principal, so
/// revoking a user (`before` `None`) or a user's grants issued before a
/// time covers that user's certificates still valid at `now` (signed before
/// `before`) only by naming them. Sorted, each once.
pub fn user_certs_to_revoke(
    ledger: &Ledger,
    user: &str,
    before: Option<i64>,
    now: i64,
) -> Vec<(String, i64)> {
    // One entry per key id, kept until the latest certificate with it ends.
    let mut by_id: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for c in ledger
        .ssh_certs
        .iter()
        .filter(|c| c.user == user && now < c.valid_before && before.map_or(true, |b| c.iat < b))
    {
        let e = by_id.entry(c.key_id.clone()).or_insert(c.valid_before);
        *e = (*e).max(c.valid_before);
    }
    by_id.into_iter().collect()
}

fn ssh_held(c: &SshCertEntry, rev: Option<(RevokedBy, u64)>) -> SshHeld {
    SshHeld {
        user: c.user.clone(),
        key_id: c.key_id.clone(),
        serial: c.serial.clone(),
        principals: c.principals.clone(),
        host_groups: c.host_groups.clone(),
        key_fingerprint: c.key_fingerprint.clone(),
        ca_fingerprint: c.ca_fingerprint.clone(),
        force_command: c.force_command.clone(),
        source_address: c.source_address.clone(),
        extensions: c.extensions.clone(),
        valid_after: format_unix(c.valid_after),
        valid_before: format_unix(c.valid_before),
        approver: c.approver.clone(),
        ticket: c.ticket.clone(),
        reason: c.reason.clone(),
        signer: c.signer.clone(),
        file: c.file.clone(),
        line: c.line,
        revoked_by: rev.map(|r| r.0),
        revocation_version: rev.map(|r| r.1),
    }
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

fn held(g: &IssuedEntry, rev: Option<(RevokedBy, u64)>) -> Held {
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
        revoked_by: rev.map(|r| r.0),
        revocation_version: rev.map(|r| r.1),
    }
}

/// The entries in their window at T (`in_window`), as (live, revoked by
/// `list`), each made by `held` with what revoked it and the list's version.
fn split<E, H>(
    entries: &[E],
    in_window: impl Fn(&E) -> bool,
    list: Option<&RevokedEntry>,
    revoked_by: impl Fn(&E, &RevokedEntry) -> Option<RevokedBy>,
    held: impl Fn(&E, Option<(RevokedBy, u64)>) -> H,
) -> (Vec<H>, Vec<H>) {
    let mut live = Vec::new();
    let mut revoked = Vec::new();
    for e in entries.iter().filter(|e| in_window(e)) {
        match list.and_then(|l| revoked_by(e, l).map(|b| (b, l.version))) {
            Some(rev) => revoked.push(held(e, Some(rev))),
            None => live.push(held(e, None)),
        }
    }
    (live, revoked)
}

/// Who held a live grant at `at` (normalised by
/// [`crate::text::user_time::Clock::parse`]); `at_secs` is the same instant in
/// whole Unix seconds (floor).
pub fn standing(ledger: &Ledger, at: &str, at_secs: i64) -> Standing {
    let list = list_at(ledger, at);
    let (mut live, mut revoked) = split(
        &ledger.issued,
        |g| g.nbf <= at_secs && at_secs < g.exp,
        list,
        revoked_by,
        held,
    );
    let order =
        |a: &Held, b: &Held| (&a.user, a.exp, &a.token_id).cmp(&(&b.user, b.exp, &b.token_id));
    live.sort_by(order);
    revoked.sort_by(order);
    let (mut ssh_live, mut ssh_revoked) = split(
        &ledger.ssh_certs,
        |c| c.valid_after <= at_secs && at_secs < c.valid_before,
        list,
        ssh_revoked_by,
        ssh_held,
    );
    let by_end = |a: &SshHeld, b: &SshHeld| {
        (&a.user, &a.valid_before, &a.key_id, &a.serial).cmp(&(
            &b.user,
            &b.valid_before,
            &b.key_id,
            &b.serial,
        ))
    };
    ssh_live.sort_by(by_end);
    ssh_revoked.sort_by(by_end);
    Standing {
        at: at.to_string(),
        revocation_version: list.map(|l| l.version),
        live,
        revoked,
        ssh_live,
        ssh_revoked,
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
        let keep = |h: &SshHeld| {
            user.map_or(true, |u| h.user == u)
                && group.map_or(true, |g| h.host_groups.iter().any(|x| x == g))
        };
        self.ssh_live.retain(keep);
        self.ssh_revoked.retain(keep);
    }
}

/// Floor of a normalised time in Unix seconds.
pub fn secs_of(at: &str) -> Option<i64> {
    super::load::record_micros(at).map(|us| us.div_euclid(1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::load::{IssuedEntry, Ledger, RevokedEntry, SshCertEntry};
    use crate::log::record::{RevokedSshKeyId, RevokedSshSerial, RevokedToken, Watermark};

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
            ssh_serials: vec![],
            ssh_key_ids: vec![],
            ssh_keys: vec![],
        }
    }

    fn cert(key_id: &str, user: &str, serial: &str) -> SshCertEntry {
        SshCertEntry {
            time: "2027-01-15T07:59:59.000000Z".into(),
            file: "ledger.log".into(),
            line: 3,
            seq: 2,
            signer: "signer-1".into(),
            key_id: key_id.into(),
            user: user.into(),
            host_groups: vec!["db".into()],
            principals: vec![format!("{user}@db")],
            serial: serial.into(),
            key_fingerprint: format!("SHA256:key-of-{user}"),
            ca_fingerprint: "SHA256:ca".into(),
            force_command: None,
            source_address: None,
            extensions: vec!["permit-pty".into()],
            iat: NBF - 60,
            valid_after: NBF - 60,
            valid_before: EXP,
            reason: Some("r".into()),
            ticket: None,
            approver: Some("carol".into()),
            requester: None,
            rule: None,
            kid: Some("ca1".into()),
        }
    }

    fn ssh_live(s: &Standing) -> Vec<&str> {
        s.ssh_live.iter().map(|h| h.key_id.as_str()).collect()
    }

    #[test]
    fn ssh_certificates_are_live_in_their_window_until_a_list_reaches_them() {
        let l = Ledger {
            ssh_certs: vec![
                cert("g1", "alice", "11"),
                cert("g2", "bob", "12"),
                cert("g3", "carol", "13"),
                cert("g4", "dave", "14"),
                cert("g5", "erin", "15"),
            ],
            ..Ledger::default()
        };
        // The window includes the backdated minute and excludes valid before.
        assert!(at(&l, "2027-01-15T07:58:59Z").ssh_live.is_empty());
        assert_eq!(ssh_live(&at(&l, "2027-01-15T07:59:00Z")).len(), 5);
        assert!(at(&l, "2027-01-15T09:00:00Z").ssh_live.is_empty());
        // One list: each way a certificate is revoked, and the two ways a
        // token is revoked that do not reach certificates.
        let mut r = list("2027-01-15T08:30:00.000000Z", 1);
        r.tokens.push(RevokedToken {
            token_id: "g1".into(),
            exp: EXP,
        });
        r.ssh_key_ids.push(RevokedSshKeyId {
            key_id: "g2".into(),
            exp: EXP,
        });
        r.ssh_serials.push(RevokedSshSerial {
            ca: "SHA256:ca".into(),
            serial: "13".into(),
            exp: EXP,
        });
        // The same serial of another CA revokes nothing here.
        r.ssh_serials.push(RevokedSshSerial {
            ca: "SHA256:other-ca".into(),
            serial: "14".into(),
            exp: EXP,
        });
        r.ssh_keys.push("SHA256:key-of-erin".into());
        r.users.push("dave".into());
        let l = Ledger {
            revoked: vec![r],
            ..l
        };
        assert_eq!(ssh_live(&at(&l, "2027-01-15T08:29:59Z")).len(), 5);
        let s = at(&l, "2027-01-15T08:30:00Z");
        assert_eq!(ssh_live(&s), ["g4"], "users do not reach certificates");
        let by: Vec<_> = s
            .ssh_revoked
            .iter()
            .map(|h| (h.key_id.as_str(), h.revoked_by))
            .collect();
        assert_eq!(
            by,
            [
                ("g1", Some(RevokedBy::TokenId)),
                ("g2", Some(RevokedBy::SshKeyId)),
                ("g3", Some(RevokedBy::SshSerial)),
                ("g5", Some(RevokedBy::SshKey)),
            ]
        );
        let mut s = s;
        s.retain(Some("dave"), Some("web"));
        assert!(s.ssh_live.is_empty());
    }

    #[test]
    fn revoking_a_user_names_their_certificates_still_valid() {
        let mut old = cert("g0", "alice", "10");
        old.valid_before = NBF; // expired at NBF
        let mut late = cert("g9", "alice", "19");
        late.iat = NBF + 100;
        let l = Ledger {
            ssh_certs: vec![
                old,
                cert("g1", "alice", "11"),
                cert("g2", "bob", "12"),
                late,
            ],
            ..Ledger::default()
        };
        let ids = |before| {
            user_certs_to_revoke(&l, "alice", before, NBF + 10)
                .into_iter()
                .map(|x| x.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(None), ["g1", "g9"], "expired ones and other users' not");
        assert_eq!(
            ids(Some(NBF + 100)),
            ["g1"],
            "signed at or after --before: kept"
        );
        assert_eq!(user_certs_to_revoke(&l, "alice", None, NBF + 10)[0].1, EXP);
        // Two certificates with one key id: kept until the later one ends.
        let mut again = cert("g1", "alice", "21");
        again.valid_before = EXP + 3600;
        let mut l = l;
        l.ssh_certs.insert(0, again);
        assert_eq!(
            user_certs_to_revoke(&l, "alice", None, NBF + 10)[0],
            ("g1".to_string(), EXP + 3600)
        );
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
