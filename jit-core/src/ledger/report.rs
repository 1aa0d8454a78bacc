//! `jit-verify report`: the figures a JIT programme is judged by.
//!
//! Definitions (docs/log-format.md, "Reports"):
//! - a grant belongs to the window when its `issued` record's time is in
//!   `[from, to)`; refusals likewise by their record time;
//! - its **TTL granted** is `exp - nbf` seconds;
//! - its **uses** are the host-log `decision` records with `allowed: true`
//!   and its `token_id`, at any time (a grant issued in the window may be
//!   used after it);
//! - its **TTL used** is the time from its first allowed use to the later of
//!   its last allowed use and its last `session_close` (seconds, microsecond
//!   precision; 0 for a single use with no session record); a session that
//!   outlives the token counts in full;
//! - an **unused grant** has no allowed use in the host logs given;
//! - **host denials** are `decision` records with `allowed` not true whose
//!   time is in the window, by `reason_code`, per invoking user;
//! - **break-glass uses** are allowed decisions with `break_glass: true`
//!   whose time is in the window; each is listed for review.

use super::load::{format_unix, record_micros, Ledger};
use crate::log::record::{EventKind, Record};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// The report window, normalised times (`None`: unbounded). `from`
/// inclusive, `to` exclusive, as `jit-verify query --since/--until`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Window {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Window {
    /// Is the record time `t` inside?
    pub fn contains(&self, t: &str) -> bool {
        self.from.as_deref().map_or(true, |f| t >= f) && self.to.as_deref().map_or(true, |u| t < u)
    }
}

#[derive(Debug, Clone, Default)]
struct TokenUse {
    uses: u64,
    first_us: Option<i64>,
    last_us: Option<i64>,
    last_close_us: Option<i64>,
    hosts: BTreeSet<String>,
}

/// One break-glass use to review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakGlassUse {
    pub time: String,
    pub host: String,
    pub user: Option<String>,
    pub token_id: Option<String>,
    pub command: Option<String>,
    pub argv: Option<Vec<String>>,
    pub token_reason: Option<String>,
    pub ticket: Option<String>,
    pub file: String,
    pub line: u64,
}

/// What the host logs say, accumulated record by record.
#[derive(Debug, Clone, Default)]
pub struct HostUsage {
    tokens: HashMap<String, TokenUse>,
    /// user -> reason_code -> count (in the window).
    denials: BTreeMap<String, BTreeMap<String, u64>>,
    break_glass: Vec<BreakGlassUse>,
    /// Host-log records read.
    pub records: u64,
}

impl HostUsage {
    /// Count one host-log record.
    pub fn add(&mut self, win: &Window, file: &Path, line: u64, r: &Record<'_>) {
        self.records += 1;
        let Some(us) = record_micros(&r.time) else {
            return;
        };
        match r.kind {
            EventKind::Decision if r.allowed == Some(true) => {
                if let Some(id) = r.token_id.as_deref() {
                    let u = self.tokens.entry(id.to_string()).or_default();
                    u.uses += 1;
                    u.first_us = Some(u.first_us.map_or(us, |f| f.min(us)));
                    u.last_us = Some(u.last_us.map_or(us, |l| l.max(us)));
                    u.hosts.insert(r.host.to_string());
                }
                if r.break_glass == Some(true) && win.contains(&r.time) {
                    self.break_glass.push(BreakGlassUse {
                        time: r.time.to_string(),
                        host: r.host.to_string(),
                        user: r.user.as_deref().map(str::to_string),
                        token_id: r.token_id.as_deref().map(str::to_string),
                        command: r.command.as_deref().map(str::to_string),
                        argv: r
                            .argv
                            .as_ref()
                            .map(|a| a.iter().map(|s| s.to_string()).collect()),
                        token_reason: r.token_reason.as_deref().map(str::to_string),
                        ticket: r.ticket.as_deref().map(str::to_string),
                        file: file.display().to_string(),
                        line,
                    });
                }
            }
            EventKind::Decision if win.contains(&r.time) => {
                let user = r.user.as_deref().unwrap_or("?").to_string();
                let why = r.reason_code.as_deref().unwrap_or("unknown").to_string();
                *self
                    .denials
                    .entry(user)
                    .or_default()
                    .entry(why)
                    .or_default() += 1;
            }
            EventKind::SessionClose => {
                if let Some(id) = r.token_id.as_deref() {
                    let u = self.tokens.entry(id.to_string()).or_default();
                    u.last_close_us = Some(u.last_close_us.map_or(us, |l| l.max(us)));
                }
            }
            _ => {}
        }
    }
}

/// One grant of the window and how it was used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrantUse {
    pub token_id: String,
    pub user: String,
    /// Time of the `issued` record.
    pub issued: String,
    pub host_groups: Vec<String>,
    pub not_before: String,
    pub expires: String,
    pub ttl_granted_secs: i64,
    /// Allowed decisions with this token id.
    pub uses: u64,
    pub first_use: Option<String>,
    pub last_use: Option<String>,
    pub ttl_used_secs: f64,
    /// Hosts it was used on.
    pub hosts: Vec<String>,
    pub break_glass: bool,
    pub approver: Option<String>,
    pub ticket: Option<String>,
}

/// Per-user figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserFigures {
    pub user: String,
    pub grants_issued: u64,
    pub ttl_granted_secs: i64,
    pub ttl_used_secs: f64,
    pub grants_used: u64,
    /// Token ids of grants never allowed on any host log given.
    pub unused_grants: Vec<String>,
    pub refused_requests: u64,
    pub refused_by_reason: BTreeMap<String, u64>,
    pub host_denials: u64,
    pub host_denials_by_reason: BTreeMap<String, u64>,
    pub break_glass_grants: u64,
    pub break_glass_uses: u64,
    /// SSH certificates signed for the user in the window (`ssh_cert` records).
    pub ssh_certs_issued: u64,
    /// Their validity, summed (`valid before - valid after`).
    pub ssh_ttl_granted_secs: i64,
}

/// How the window's grants were approved, and how long their requests
/// waited: the figures a just-in-time programme is judged by.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Approvals {
    /// Approved by a person (the `approver` claim names a user).
    pub by_person: u64,
    /// Approved by the signing service for whoever was on call (`auto:NAME`).
    pub by_auto: u64,
    /// `by_auto` per on-call source.
    pub by_auto_source: BTreeMap<String, u64>,
    /// Break-glass grants (never approved).
    pub break_glass: u64,
    /// Issued directly by the key holder (`jit-signer issue`): no approver.
    pub direct: u64,
    /// Request to approval (`iat - requested`), over the grants whose
    /// request time the ledger holds (the signing service records it).
    pub latency: Option<Latency>,
}

/// Durations in seconds: nearest-rank median and 95th percentile, maximum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    pub count: u64,
    pub median_secs: i64,
    pub p95_secs: i64,
    pub max_secs: i64,
}

impl Latency {
    /// The figures of `v` (None when empty).
    pub fn of(mut v: Vec<i64>) -> Option<Latency> {
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Some(Latency {
            count: v.len() as u64,
            median_secs: rank(0.5),
            p95_secs: rank(0.95),
            max_secs: v[v.len() - 1],
        })
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub window: Window,
    pub approvals: Approvals,
    /// Sums over all users (`user` is `*`).
    pub totals: UserFigures,
    pub users: Vec<UserFigures>,
    pub grants: Vec<GrantUse>,
    /// Break-glass uses in the window, each needing review.
    pub break_glass_review: Vec<BreakGlassUse>,
    /// Token ids allowed on a host but not issued in the ledger given (at
    /// any time): tokens from before the ledger's oldest segment, from
    /// another signer, or signed outside jit-signer. Sorted by token id.
    pub not_in_ledger: Vec<UnknownToken>,
    pub host_log_records: u64,
}

/// A token used on a host that the ledger does not know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnknownToken {
    pub token_id: String,
    pub uses: u64,
    pub first_use: Option<String>,
    pub hosts: Vec<String>,
}

fn fmt_us(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let frac = us.rem_euclid(1_000_000);
    let base = format_unix(secs);
    match base.strip_suffix('Z') {
        Some(b) => format!("{b}.{frac:06}Z"),
        None => base,
    }
}

/// Build the report from a ledger and the host-log usage.
pub fn build(ledger: &Ledger, host: &HostUsage, win: &Window) -> Report {
    let mut users: BTreeMap<String, UserFigures> = BTreeMap::new();
    fn fig<'m>(users: &'m mut BTreeMap<String, UserFigures>, u: &str) -> &'m mut UserFigures {
        users.entry(u.to_string()).or_insert_with(|| UserFigures {
            user: u.to_string(),
            ..UserFigures::default()
        })
    }
    let mut grants = Vec::new();
    let mut approvals = Approvals::default();
    let mut waits = Vec::new();
    for g in ledger.issued.iter().filter(|g| win.contains(&g.time)) {
        match (g.break_glass, g.approver.as_deref()) {
            (true, _) => approvals.break_glass += 1,
            (false, None) => approvals.direct += 1,
            (false, Some(a)) => match a.strip_prefix("auto:") {
                Some(src) => {
                    approvals.by_auto += 1;
                    *approvals.by_auto_source.entry(src.to_string()).or_default() += 1;
                }
                None => approvals.by_person += 1,
            },
        }
        if let Some(t) = g.requested {
            waits.push(g.iat.saturating_sub(t).max(0));
        }
        let used = host.tokens.get(&g.token_id).filter(|u| u.uses > 0);
        let ttl_used = used.map_or(0.0, |u| {
            let first = u.first_us.unwrap_or(0);
            let end = u
                .last_us
                .unwrap_or(first)
                .max(u.last_close_us.unwrap_or(first));
            (end - first).max(0) as f64 / 1e6
        });
        let granted = g.exp.saturating_sub(g.nbf);
        let f = fig(&mut users, &g.user);
        f.grants_issued += 1;
        f.ttl_granted_secs = f.ttl_granted_secs.saturating_add(granted);
        f.ttl_used_secs += ttl_used;
        if used.is_some() {
            f.grants_used += 1;
        } else {
            f.unused_grants.push(g.token_id.clone());
        }
        if g.break_glass {
            f.break_glass_grants += 1;
        }
        grants.push(GrantUse {
            token_id: g.token_id.clone(),
            user: g.user.clone(),
            issued: g.time.clone(),
            host_groups: g.host_groups.clone(),
            not_before: format_unix(g.nbf),
            expires: format_unix(g.exp),
            ttl_granted_secs: granted,
            uses: used.map_or(0, |u| u.uses),
            first_use: used.and_then(|u| u.first_us).map(fmt_us),
            last_use: used.and_then(|u| u.last_us).map(fmt_us),
            ttl_used_secs: ttl_used,
            hosts: used.map_or_else(Vec::new, |u| u.hosts.iter().cloned().collect()),
            break_glass: g.break_glass,
            approver: g.approver.clone(),
            ticket: g.ticket.clone(),
        });
    }
    for r in ledger.refused.iter().filter(|r| win.contains(&r.time)) {
        let f = fig(&mut users, r.user.as_deref().unwrap_or("?"));
        f.refused_requests += 1;
        *f.refused_by_reason
            .entry(r.reason_code.clone())
            .or_default() += 1;
    }
    for (u, by) in &host.denials {
        let f = fig(&mut users, u);
        for (why, n) in by {
            f.host_denials += n;
            *f.host_denials_by_reason.entry(why.clone()).or_default() += n;
        }
    }
    for b in &host.break_glass {
        fig(&mut users, b.user.as_deref().unwrap_or("?")).break_glass_uses += 1;
    }
    for c in ledger.ssh_certs.iter().filter(|c| win.contains(&c.time)) {
        let f = fig(&mut users, &c.user);
        f.ssh_certs_issued += 1;
        f.ssh_ttl_granted_secs = f
            .ssh_ttl_granted_secs
            .saturating_add(c.valid_before.saturating_sub(c.valid_after));
    }
    let mut totals = UserFigures {
        user: "*".into(),
        ..UserFigures::default()
    };
    for f in users.values() {
        totals.grants_issued += f.grants_issued;
        totals.ttl_granted_secs = totals.ttl_granted_secs.saturating_add(f.ttl_granted_secs);
        totals.ttl_used_secs += f.ttl_used_secs;
        totals.grants_used += f.grants_used;
        totals.unused_grants.extend(f.unused_grants.iter().cloned());
        totals.refused_requests += f.refused_requests;
        for (k, v) in &f.refused_by_reason {
            *totals.refused_by_reason.entry(k.clone()).or_default() += v;
        }
        totals.host_denials += f.host_denials;
        for (k, v) in &f.host_denials_by_reason {
            *totals.host_denials_by_reason.entry(k.clone()).or_default() += v;
        }
        totals.break_glass_grants += f.break_glass_grants;
        totals.break_glass_uses += f.break_glass_uses;
        totals.ssh_certs_issued += f.ssh_certs_issued;
        totals.ssh_ttl_granted_secs = totals
            .ssh_ttl_granted_secs
            .saturating_add(f.ssh_ttl_granted_secs);
    }
    let known: std::collections::HashSet<&str> =
        ledger.issued.iter().map(|g| g.token_id.as_str()).collect();
    let mut not_in_ledger: Vec<UnknownToken> = host
        .tokens
        .iter()
        .filter(|(id, u)| u.uses > 0 && !known.contains(id.as_str()))
        .map(|(id, u)| UnknownToken {
            token_id: id.clone(),
            uses: u.uses,
            first_use: u.first_us.map(fmt_us),
            hosts: u.hosts.iter().cloned().collect(),
        })
        .collect();
    not_in_ledger.sort_by(|a, b| a.token_id.cmp(&b.token_id));
    approvals.latency = Latency::of(waits);
    Report {
        window: win.clone(),
        approvals,
        not_in_ledger,
        totals,
        users: users.into_values().collect(),
        grants,
        break_glass_review: host.break_glass.clone(),
        host_log_records: host.records,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::load::IssuedEntry;

    fn grant(
        n: u64,
        approver: Option<&str>,
        break_glass: bool,
        requested: Option<i64>,
    ) -> IssuedEntry {
        IssuedEntry {
            time: format!("2026-12-01T10:00:{n:02}.000000Z"),
            file: "ledger.log".into(),
            line: n,
            seq: n,
            signer: "signer".into(),
            token_id: format!("{n:032x}"),
            user: "alice".into(),
            host_groups: vec!["web".into()],
            grants: vec![],
            run_as: vec!["root".into()],
            run_as_groups: vec![],
            shell: false,
            iat: 1_800_000_000,
            nbf: 1_800_000_000,
            exp: 1_800_003_600,
            max_uses: None,
            break_glass,
            reason: None,
            ticket: None,
            approver: approver.map(str::to_string),
            requester: Some("alice".into()),
            rule: None,
            requested,
            kid: None,
            issuer: None,
        }
    }

    #[test]
    fn approvals_by_kind_and_request_latency() {
        let ledger = Ledger {
            issued: vec![
                grant(1, Some("bob"), false, Some(1_800_000_000 - 60)),
                grant(2, Some("carol"), false, Some(1_800_000_000 - 600)),
                grant(3, Some("auto:pager"), false, Some(1_800_000_000)),
                grant(4, None, true, None),
                grant(5, None, false, None),
                // Someone whose name merely starts like one is a person.
                grant(6, Some("autobot"), false, None),
            ],
            ..Ledger::default()
        };
        let r = build(&ledger, &HostUsage::default(), &Window::default());
        let a = &r.approvals;
        assert_eq!(
            (a.by_person, a.by_auto, a.break_glass, a.direct),
            (3, 1, 1, 1)
        );
        assert_eq!(a.by_auto_source.get("pager"), Some(&1));
        let l = a.latency.as_ref().unwrap();
        assert_eq!(
            (l.count, l.median_secs, l.p95_secs, l.max_secs),
            (3, 60, 600, 600)
        );
        assert_eq!(r.totals.unused_grants.len(), 6);
    }

    #[test]
    fn latency_ranks() {
        assert_eq!(Latency::of(vec![]), None);
        let l = Latency::of((1..=100).rev().collect()).unwrap();
        assert_eq!((l.median_secs, l.p95_secs, l.max_secs), (50, 95, 100));
        let l = Latency::of(vec![7]).unwrap();
        assert_eq!(
            (l.count, l.median_secs, l.p95_secs, l.max_secs),
            (1, 7, 7, 7)
        );
    }
}
