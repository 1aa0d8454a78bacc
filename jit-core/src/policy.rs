//! The signer's policy (docs/signer-policy.md): who may get which grants, for
//! how long, and who must approve them.
//!
//! A request is allowed only if ONE rule covers ALL of it. A refusal names the
//! closest rule (the one with the fewest uncovered parts among the rules that
//! name the requester) and the first part it does not cover.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use thiserror::Error;

use crate::name::NameKind;
use crate::token::{parse_command, Grant, MAX_LIFETIME_SECS};

/// Shortest token lifetime a rule may grant (the signer's own floor).
pub const MIN_TTL_SECS: u64 = 60;

/// An invalid policy file.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PolicyError {
    /// Not valid TOML, an unknown key, or a value of the wrong type (the
    /// message names the line and column).
    #[error("policy file: {0}")]
    Parse(String),
    /// A rule that parses but makes no sense.
    #[error("policy file: rule {rule} (#{index}): {message}")]
    Invalid {
        /// The rule's name (or `?` if it has none yet).
        rule: String,
        /// 1-based position of the `[[rule]]` table.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// A problem with the file as a whole.
    #[error("policy file: {0}")]
    File(String),
}

/// A request refused by the policy.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub struct Refusal {
    /// The closest rule, if any rule names the requester.
    pub rule: Option<String>,
    /// The exact part not covered.
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(r) => write!(f, "rule {r}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    rule: Vec<RawRule>,
    #[serde(default)]
    oncall: Vec<RawOncall>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOncall {
    name: String,
    file: Option<String>,
    command: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    host_groups: Vec<String>,
    #[serde(default)]
    commands: Vec<String>,
    #[serde(default)]
    edits: Vec<String>,
    #[serde(default)]
    shell: bool,
    run_as: Option<Vec<String>>,
    #[serde(default)]
    run_as_groups: Vec<String>,
    max_ttl: String,
    max_not_before: Option<String>,
    max_uses: Option<u32>,
    approval: Option<bool>,
    #[serde(default)]
    approvers: Vec<String>,
    #[serde(default)]
    approver_groups: Vec<String>,
    #[serde(default)]
    break_glass: bool,
    auto_approve: Option<String>,
}

/// Where an on-call list comes from (docs/signer-policy.md, "On-call
/// auto-approval"): user names, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OncallFrom {
    /// A file the signing service reads at each request.
    File(String),
    /// A command (absolute path, arguments) the service runs at each request.
    Command(Vec<String>),
}

/// A named on-call source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oncall {
    pub name: String,
    pub from: OncallFrom,
}

/// The approver recorded for an on-call auto-approval from source `name`.
pub fn auto_approver(name: &str) -> String {
    format!("auto:{name}")
}

/// The user names of an on-call list's text: one per line, `#` comments and
/// blank lines ignored; a line that is not a valid user name is skipped
/// (returned apart, for the service's log).
pub fn parse_oncall(text: &str) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut bad = Vec::new();
    for l in text.lines() {
        let l = l.split('#').next().unwrap_or("").trim();
        if l.is_empty() {
            continue;
        }
        match crate::name::check(NameKind::User, l) {
            Ok(()) => names.push(l.to_string()),
            Err(_) => bad.push(l.to_string()),
        }
    }
    (names, bad)
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Unique name, quoted in refusals.
    pub name: String,
    /// Requesters by user name.
    pub users: Vec<String>,
    /// Requesters by Unix group.
    pub groups: Vec<String>,
    /// Host groups that may be granted.
    pub host_groups: Vec<String>,
    /// Commands that may be granted (sudoedit grants included).
    pub commands: Vec<Grant>,
    /// `sudo -s` / `-i` may be granted.
    pub shell: bool,
    /// Target users that may be granted (default: root).
    pub run_as: Vec<String>,
    /// Target groups that may be granted.
    pub run_as_groups: Vec<String>,
    /// Longest lifetime (exp - nbf), seconds.
    pub max_ttl: u64,
    /// Latest start: nbf at most this many seconds after issuance.
    pub max_not_before: u64,
    /// Upper bound of `max_uses`; a grant without one gets this value.
    pub max_uses: Option<u32>,
    /// An approver other than the requester must approve.
    pub approval: bool,
    /// Approvers by user name.
    pub approvers: Vec<String>,
    /// Approvers by Unix group.
    pub approver_groups: Vec<String>,
    /// The rule may issue break-glass tokens (no approver, single use).
    pub break_glass: bool,
    /// Requests by whoever the named on-call source lists are approved by
    /// the signing service itself, recorded as `auto:NAME`.
    pub auto_approve: Option<String>,
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// The on-call sources rules may name.
    pub oncall: Vec<Oncall>,
}

/// A Unix identity resolved by the caller from the OS (never from input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User name.
    pub name: String,
    /// Names of all groups the user is in (primary and supplementary).
    pub groups: Vec<String>,
}

/// What is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Host groups.
    pub hosts: Vec<String>,
    /// Command grants.
    pub cmds: Vec<Grant>,
    /// Shell.
    pub shell: bool,
    /// Target users.
    pub run_as: Vec<String>,
    /// Target groups.
    pub run_as_groups: Vec<String>,
    /// Lifetime exp - nbf, seconds.
    pub ttl_secs: u64,
    /// nbf - issuance time, seconds (0 = starts now).
    pub start_delay_secs: u64,
    /// Requested use limit.
    pub max_uses: Option<u32>,
    /// Break-glass.
    pub break_glass: bool,
}

/// The policy allows a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// The rule that covers the whole request.
    pub rule: String,
    /// The token may only be issued with an approver (never for break-glass).
    pub approval_required: bool,
    /// The use limit to put in the token.
    pub max_uses: Option<u32>,
}

pub use crate::text::parse_duration;

impl Policy {
    /// Parse and validate a policy file (TOML, unknown keys refused).
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy =
            toml::from_str(text).map_err(|e| PolicyError::Parse(e.to_string().trim().into()))?;
        if raw.rule.is_empty() {
            return Err(PolicyError::File(
                "no [[rule]] tables: nothing would be allowed".into(),
            ));
        }
        let mut oncall = Vec::new();
        for (i, o) in raw.oncall.into_iter().enumerate() {
            let bad = |message: String| PolicyError::Invalid {
                rule: format!("oncall {}", o.name),
                index: i + 1,
                message,
            };
            crate::name::check(NameKind::Rule, &o.name).map_err(|e| bad(e.to_string()))?;
            if oncall.iter().any(|x: &Oncall| x.name == o.name) {
                return Err(bad("duplicate on-call source name".into()));
            }
            let from = match (o.file, o.command) {
                (Some(f), None) if f.starts_with('/') && !f.contains('\0') => OncallFrom::File(f),
                (None, Some(c)) if c.first().is_some_and(|p| p.starts_with('/')) => {
                    OncallFrom::Command(c)
                }
                (Some(_), Some(_)) => return Err(bad("give file or command, not both".into())),
                _ => {
                    return Err(bad(
                        "give file = \"/absolute/path\" or command = [\"/absolute/path\", ...]"
                            .into(),
                    ))
                }
            };
            oncall.push(Oncall { name: o.name, from });
        }
        let mut names = HashSet::new();
        let mut rules = Vec::with_capacity(raw.rule.len());
        for (i, r) in raw.rule.into_iter().enumerate() {
            let index = i + 1;
            let bad = |rule: &str, message: String| PolicyError::Invalid {
                rule: rule.to_string(),
                index,
                message,
            };
            crate::name::check(NameKind::Rule, &r.name).map_err(|e| bad("?", e.to_string()))?;
            let name = r.name.clone();
            if !names.insert(name.clone()) {
                return Err(bad(&name, "duplicate rule name".into()));
            }
            let words = |key: &str, kind: NameKind, v: &[String]| -> Result<(), PolicyError> {
                let mut seen = HashSet::new();
                for w in v {
                    crate::name::check(kind, w).map_err(|e| bad(&name, format!("{key}: {e}")))?;
                    if !seen.insert(w) {
                        return Err(bad(&name, format!("{key}: {w:?} is listed twice")));
                    }
                }
                Ok(())
            };
            words("users", NameKind::User, &r.users)?;
            words("groups", NameKind::Group, &r.groups)?;
            words("host_groups", NameKind::HostGroup, &r.host_groups)?;
            words("run_as_groups", NameKind::Group, &r.run_as_groups)?;
            words("approvers", NameKind::User, &r.approvers)?;
            words("approver_groups", NameKind::Group, &r.approver_groups)?;
            if r.users.is_empty() && r.groups.is_empty() {
                return Err(bad(
                    &name,
                    "names no requester: give users and/or groups".into(),
                ));
            }
            if r.host_groups.is_empty() {
                return Err(bad(&name, "host_groups is empty".into()));
            }
            let run_as = r.run_as.unwrap_or_else(|| vec!["root".into()]);
            words("run_as", NameKind::User, &run_as)?;
            if run_as.is_empty() && r.run_as_groups.is_empty() {
                return Err(bad(&name, "run_as and run_as_groups are both empty".into()));
            }
            let mut commands = Vec::new();
            for c in &r.commands {
                commands
                    .push(parse_command(c).map_err(|e| bad(&name, format!("command {c:?}: {e}")))?);
            }
            for f in &r.edits {
                if !f.starts_with('/') || f.contains('\0') {
                    return Err(bad(&name, format!("edits: {f:?} is not an absolute path")));
                }
                commands.push(Grant {
                    argv: vec!["sudoedit".into(), f.clone()],
                    any_args: false,
                });
            }
            if commands.is_empty() && !r.shell {
                return Err(bad(
                    &name,
                    "grants nothing: give commands, edits or shell = true".into(),
                ));
            }
            let max_ttl = parse_duration(&r.max_ttl).ok_or_else(|| {
                bad(
                    &name,
                    format!("max_ttl {:?}: use e.g. 30m, 2h, 1h30m", r.max_ttl),
                )
            })?;
            if !(MIN_TTL_SECS..=MAX_LIFETIME_SECS as u64).contains(&max_ttl) {
                return Err(bad(
                    &name,
                    format!(
                        "max_ttl {:?} is outside 1m..24h (the token format's limit)",
                        r.max_ttl
                    ),
                ));
            }
            let max_not_before = match &r.max_not_before {
                None => 0,
                Some(s) => parse_duration(s).ok_or_else(|| {
                    bad(&name, format!("max_not_before {s:?}: use e.g. 0s, 12h, 7d"))
                })?,
            };
            if max_not_before > 30 * 86_400 {
                return Err(bad(&name, "max_not_before is over 30d".into()));
            }
            if r.max_uses == Some(0) {
                return Err(bad(&name, "max_uses is 0 (nothing could ever run)".into()));
            }
            // Fail closed: approval is required unless the rule says otherwise.
            let approval = r.approval.unwrap_or(true);
            if approval && r.approvers.is_empty() && r.approver_groups.is_empty() {
                return Err(bad(
                    &name,
                    "approval is required but no approvers or approver_groups are named".into(),
                ));
            }
            if let Some(src) = &r.auto_approve {
                if !oncall.iter().any(|o| &o.name == src) {
                    return Err(bad(
                        &name,
                        format!("auto_approve names {src:?}, which no [[oncall]] defines"),
                    ));
                }
                if !approval {
                    return Err(bad(
                        &name,
                        "auto_approve on a rule that needs no approval".into(),
                    ));
                }
                if r.break_glass {
                    return Err(bad(
                        &name,
                        "auto_approve on a break-glass rule (break-glass is never approved)".into(),
                    ));
                }
            }
            rules.push(Rule {
                name,
                users: r.users,
                groups: r.groups,
                host_groups: r.host_groups,
                commands,
                shell: r.shell,
                run_as,
                run_as_groups: r.run_as_groups,
                max_ttl,
                max_not_before,
                max_uses: r.max_uses,
                approval,
                approvers: r.approvers,
                approver_groups: r.approver_groups,
                break_glass: r.break_glass,
                auto_approve: r.auto_approve,
            });
        }
        Ok(Policy { rules, oncall })
    }

    /// The rule named `name`.
    /// The on-call source named `name`.
    pub fn oncall(&self, name: &str) -> Option<&Oncall> {
        self.oncall.iter().find(|o| o.name == name)
    }

    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// Check a request by `requester`. Allowed only if one rule covers all of it.
    pub fn check(&self, requester: &Identity, req: &Request) -> Result<Allowed, Refusal> {
        let mut closest: Option<(&Rule, Vec<String>)> = None;
        for rule in self.rules.iter().filter(|r| r.names_requester(requester)) {
            let gaps = rule.gaps(req);
            if gaps.is_empty() {
                let max_uses = if req.break_glass {
                    Some(1)
                } else {
                    req.max_uses.or(rule.max_uses)
                };
                return Ok(Allowed {
                    rule: rule.name.clone(),
                    approval_required: rule.approval && !req.break_glass,
                    max_uses,
                });
            }
            if closest.as_ref().map_or(true, |(_, g)| gaps.len() < g.len()) {
                closest = Some((rule, gaps));
            }
        }
        match closest {
            None => Err(Refusal {
                rule: None,
                message: format!("no rule names user {} or any of its groups", requester.name),
            }),
            Some((rule, gaps)) => Err(Refusal {
                rule: Some(rule.name.clone()),
                message: gaps.into_iter().next().unwrap_or_default(),
            }),
        }
    }

    /// May `approver` approve, under rule `rule`, a request made by `requester`?
    /// Nobody approves their own request, whatever the rule lists.
    pub fn check_approver(
        &self,
        rule: &str,
        requester: &str,
        approver: &Identity,
    ) -> Result<(), Refusal> {
        let refuse = |message: String| Refusal {
            rule: Some(rule.to_string()),
            message,
        };
        if approver.name == requester {
            return Err(refuse(format!(
                "{} cannot approve their own request",
                approver.name
            )));
        }
        let Some(r) = self.rule(rule) else {
            return Err(Refusal {
                rule: None,
                message: format!("rule {rule} is no longer in the policy"),
            });
        };
        let listed = r.approvers.contains(&approver.name)
            || approver
                .groups
                .iter()
                .any(|g| r.approver_groups.contains(g));
        if !listed {
            return Err(refuse(format!(
                "{} is not an approver (approvers: {}; approver_groups: {})",
                approver.name,
                list(&r.approvers),
                list(&r.approver_groups)
            )));
        }
        Ok(())
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// Does policy grant `p` cover requested grant `g`?
pub fn grant_covers(p: &Grant, g: &Grant) -> bool {
    if p.any_args {
        g.argv.len() >= p.argv.len() && g.argv[..p.argv.len()] == p.argv[..]
    } else {
        !g.any_args && g.argv == p.argv
    }
}

impl Rule {
    fn names_requester(&self, who: &Identity) -> bool {
        self.users.contains(&who.name) || who.groups.iter().any(|g| self.groups.contains(g))
    }

    /// Every part of `req` this rule does not cover, in a fixed order.
    fn gaps(&self, req: &Request) -> Vec<String> {
        let mut gaps = Vec::new();
        for h in &req.hosts {
            if !self.host_groups.contains(h) {
                gaps.push(format!("host group {h} is not granted"));
            }
        }
        for c in &req.cmds {
            if !self.commands.iter().any(|p| grant_covers(p, c)) {
                gaps.push(format!("command {} is not granted", c.display()));
            }
        }
        if req.shell && !self.shell {
            gaps.push("shell is not granted".into());
        }
        for u in &req.run_as {
            if !self.run_as.contains(u) {
                gaps.push(format!("run-as user {u} is not granted"));
            }
        }
        for g in &req.run_as_groups {
            if !self.run_as_groups.contains(g) {
                gaps.push(format!("run-as group {g} is not granted"));
            }
        }
        if req.ttl_secs > self.max_ttl {
            gaps.push(format!(
                "TTL {} exceeds max_ttl {}",
                crate::token::human_duration(req.ttl_secs),
                crate::token::human_duration(self.max_ttl)
            ));
        }
        if req.start_delay_secs > self.max_not_before {
            gaps.push(format!(
                "start {} after issuance exceeds max_not_before {}",
                crate::token::human_duration(req.start_delay_secs),
                crate::token::human_duration(self.max_not_before)
            ));
        }
        if req.break_glass {
            if !self.break_glass {
                gaps.push("break-glass is not allowed".into());
            } else if req.max_uses.is_some_and(|m| m != 1) {
                gaps.push("a break-glass token is single-use (max_uses 1)".into());
            }
        } else if let Some(limit) = self.max_uses {
            match req.max_uses {
                Some(m) if m <= limit => {}
                Some(m) => gaps.push(format!("max_uses {m} exceeds the rule's {limit}")),
                None => {} // filled in with the rule's limit
            }
        }
        gaps
    }
}

/// How long a request may wait for approval.
pub const REQUEST_LIFETIME_SECS: i64 = 3600;
/// Largest request file accepted.
pub const MAX_REQUEST_FILE_LEN: u64 = 64 * 1024;

/// A request as the signing service stores it (JSON, unknown keys refused).
/// Its id is [`request_id`] of the exact bytes, so the content an approver
/// approves cannot change under the id they were shown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestFile {
    /// Format version (1).
    pub v: u32,
    /// Requester user name (must match the file's owner).
    pub requester: String,
    /// Requester uid (must match the file's owner).
    pub uid: u32,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// 16 random bytes, hex: two identical requests get distinct ids.
    pub nonce: String,
    /// Host groups.
    pub host_groups: Vec<String>,
    /// Commands in `parse_command` syntax (sudoedit grants as `sudoedit /file`).
    pub commands: Vec<String>,
    /// Shell.
    pub shell: bool,
    /// Target users.
    pub run_as: Vec<String>,
    /// Target groups.
    pub run_as_groups: Vec<String>,
    /// Lifetime, seconds.
    pub ttl: u64,
    /// Requested start, Unix seconds (None: when approved).
    pub not_before: Option<i64>,
    /// Why.
    pub reason: String,
    /// Ticket.
    pub ticket: Option<String>,
    /// Use limit.
    pub max_uses: Option<u32>,
}

/// The id of a request file: the first 16 bytes of BLAKE3 of its bytes, lowercase hex.
pub fn request_id(bytes: &[u8]) -> String {
    crate::token::hex(&blake3::hash(bytes).as_bytes()[..16])
}

/// Is `s` shaped like a request id (32 lowercase hex digits)?
pub fn is_request_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl RequestFile {
    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Parse stored bytes (strict).
    pub fn parse(bytes: &[u8]) -> Result<RequestFile, String> {
        let r: RequestFile =
            serde_json::from_slice(bytes).map_err(|e| format!("malformed request: {e}"))?;
        if r.v != 1 {
            return Err(format!("request format version {} is not supported", r.v));
        }
        Ok(r)
    }

    /// The grants asked for.
    pub fn grants(&self) -> Result<Vec<Grant>, String> {
        self.commands
            .iter()
            .map(|c| parse_command(c).map_err(|e| format!("command {c:?}: {e}")))
            .collect()
    }

    /// The constraints `jit-signer request` enforces, checked again on the
    /// stored file: the requester writes it and could bypass the CLI.
    pub fn validate(&self) -> Result<(), String> {
        if self.requester.is_empty() {
            return Err("requester is empty".into());
        }
        crate::name::check(NameKind::User, &self.requester)
            .map_err(|e| format!("requester: {e}"))?;
        if self.host_groups.is_empty() {
            return Err("no host group requested".into());
        }
        if self.commands.is_empty() && !self.shell {
            return Err("nothing requested".into());
        }
        let names = (self.host_groups.iter().map(|w| (NameKind::HostGroup, w)))
            .chain(self.run_as.iter().map(|w| (NameKind::User, w)))
            .chain(self.run_as_groups.iter().map(|w| (NameKind::Group, w)));
        for (kind, w) in names {
            crate::name::check(kind, w).map_err(|e| e.to_string())?;
        }
        if self.run_as.is_empty() && self.run_as_groups.is_empty() {
            return Err("no run-as user or group".into());
        }
        if !(MIN_TTL_SECS..=MAX_LIFETIME_SECS as u64).contains(&self.ttl) {
            return Err("ttl is outside 1m..24h".into());
        }
        if self.reason.trim().is_empty() {
            return Err("reason is empty".into());
        }
        if self.ticket.as_deref() == Some("") {
            return Err("ticket is empty".into());
        }
        if self.max_uses == Some(0) {
            return Err("max_uses is 0".into());
        }
        Ok(())
    }

    /// The request as the policy sees it if issued at `now`, with its nbf and exp.
    pub fn to_request(&self, now: i64) -> Result<(Request, i64, i64), String> {
        self.validate()?;
        let nbf = self.not_before.map_or(now, |t| t.max(now));
        let ttl = i64::try_from(self.ttl).map_err(|_| "ttl out of range".to_string())?;
        let exp = nbf.checked_add(ttl).ok_or("ttl out of range")?;
        let req = Request {
            hosts: self.host_groups.clone(),
            cmds: self.grants()?,
            shell: self.shell,
            run_as: self.run_as.clone(),
            run_as_groups: self.run_as_groups.clone(),
            ttl_secs: self.ttl,
            start_delay_secs: nbf.abs_diff(now),
            max_uses: self.max_uses,
            break_glass: false,
        };
        Ok((req, nbf, exp))
    }

    /// Is the request still approvable at `now` (not expired, not from the future)?
    pub fn check_age(&self, now: i64) -> Result<(), String> {
        if self.created > now.saturating_add(300) {
            return Err("request is dated in the future".into());
        }
        if now.saturating_sub(self.created) > REQUEST_LIFETIME_SECS {
            return Err(format!(
                "request expired (requests are valid for {})",
                crate::token::human_duration(REQUEST_LIFETIME_SECS as u64)
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[[rule]]
name = "web-restart"
users = ["alice"]
groups = ["web-ops"]
host_groups = ["web", "web-canary"]
commands = ["/usr/bin/systemctl restart nginx", "/usr/bin/journalctl -u nginx ..."]
edits = ["/etc/nginx/nginx.conf"]
run_as = ["root", "www-data"]
max_ttl = "2h"
max_uses = 5
approvers = ["bob", "alice"]
approver_groups = ["leads"]

[[rule]]
name = "db-emergency"
users = ["alice"]
host_groups = ["db"]
shell = true
max_ttl = "30m"
approval = false
break_glass = true
"#;

    fn pol() -> Policy {
        Policy::parse(BASE).unwrap()
    }
    fn alice() -> Identity {
        Identity {
            name: "alice".into(),
            groups: vec!["alice".into()],
        }
    }
    fn g(s: &str) -> Grant {
        parse_command(s).unwrap()
    }
    fn req() -> Request {
        Request {
            hosts: vec!["web".into()],
            cmds: vec![g("/usr/bin/systemctl restart nginx")],
            shell: false,
            run_as: vec!["root".into()],
            run_as_groups: vec![],
            ttl_secs: 3600,
            start_delay_secs: 0,
            max_uses: None,
            break_glass: false,
        }
    }
    fn refused(r: Request) -> String {
        pol().check(&alice(), &r).unwrap_err().to_string()
    }

    #[test]
    fn allowed_and_fills_max_uses() {
        let a = pol().check(&alice(), &req()).unwrap();
        assert_eq!(a.rule, "web-restart");
        assert!(a.approval_required);
        assert_eq!(a.max_uses, Some(5));
    }

    #[test]
    fn group_membership_names_requester() {
        let carol = Identity {
            name: "carol".into(),
            groups: vec!["web-ops".into()],
        };
        assert!(pol().check(&carol, &req()).is_ok());
        let dave = Identity {
            name: "dave".into(),
            groups: vec!["web-opsx".into()],
        };
        assert_eq!(
            pol().check(&dave, &req()).unwrap_err().to_string(),
            "no rule names user dave or any of its groups"
        );
    }

    #[test]
    fn extra_argument_refused() {
        let mut r = req();
        r.cmds = vec![g("/usr/bin/systemctl restart nginx --now")];
        assert_eq!(
            refused(r),
            "rule web-restart: command /usr/bin/systemctl restart nginx --now is not granted"
        );
        let mut r = req();
        r.cmds = vec![g("/usr/bin/systemctl restart nginx ...")];
        assert!(refused(r).contains("is not granted"));
        let mut r = req();
        r.cmds = vec![g("/usr/bin/systemctl restart")];
        assert!(refused(r).contains("is not granted"));
        // any_args in the rule covers extra arguments and narrower any_args.
        let mut r = req();
        r.cmds = vec![
            g("/usr/bin/journalctl -u nginx -f"),
            g("/usr/bin/journalctl -u nginx --since ..."),
        ];
        assert!(pol().check(&alice(), &r).is_ok());
        let mut r = req();
        r.cmds = vec![g("/usr/bin/journalctl -u")];
        assert!(refused(r).contains("is not granted"));
    }

    #[test]
    fn sudoedit_exact() {
        let mut r = req();
        r.cmds = vec![g("sudoedit /etc/nginx/nginx.conf")];
        assert!(pol().check(&alice(), &r).is_ok());
        r.cmds = vec![g("sudoedit /etc/nginx/sites.conf")];
        assert!(refused(r).contains("sudoedit /etc/nginx/sites.conf is not granted"));
    }

    #[test]
    fn one_ungranted_host_group() {
        let mut r = req();
        r.hosts = vec!["web".into(), "db".into()];
        assert_eq!(refused(r), "rule web-restart: host group db is not granted");
    }

    #[test]
    fn no_mixing_of_rules() {
        // web-restart grants the command, db-emergency the host group: no single rule does both.
        let mut r = req();
        r.hosts = vec!["db".into()];
        assert!(pol().check(&alice(), &r).is_err());
    }

    #[test]
    fn ttl_one_second_over() {
        let mut r = req();
        r.ttl_secs = 7200;
        assert!(pol().check(&alice(), &r).is_ok());
        r.ttl_secs = 7201;
        let e = refused(r);
        assert!(
            e.starts_with("rule web-restart: TTL ") && e.contains("exceeds max_ttl"),
            "{e}"
        );
    }

    #[test]
    fn run_as_and_groups_and_shell() {
        let mut r = req();
        r.run_as = vec!["root".into(), "postgres".into()];
        assert_eq!(
            refused(r),
            "rule web-restart: run-as user postgres is not granted"
        );
        let mut r = req();
        r.run_as_groups = vec!["adm".into()];
        assert_eq!(
            refused(r),
            "rule web-restart: run-as group adm is not granted"
        );
        let mut r = req();
        r.shell = true;
        assert_eq!(refused(r), "rule web-restart: shell is not granted");
    }

    #[test]
    fn start_delay_and_max_uses() {
        let mut r = req();
        r.start_delay_secs = 1;
        assert!(refused(r).contains("max_not_before"));
        let mut r = req();
        r.max_uses = Some(5);
        assert!(pol().check(&alice(), &r).is_ok());
        r.max_uses = Some(6);
        assert_eq!(
            refused(r),
            "rule web-restart: max_uses 6 exceeds the rule's 5"
        );
    }

    #[test]
    fn break_glass() {
        let mut r = req();
        r.break_glass = true;
        // web-restart does not allow break-glass; db-emergency does not grant web.
        assert!(pol().check(&alice(), &r).is_err());
        let r = Request {
            hosts: vec!["db".into()],
            cmds: vec![],
            shell: true,
            run_as: vec!["root".into()],
            run_as_groups: vec![],
            ttl_secs: 1800,
            start_delay_secs: 0,
            max_uses: None,
            break_glass: true,
        };
        let a = pol().check(&alice(), &r).unwrap();
        assert_eq!(a.rule, "db-emergency");
        assert!(!a.approval_required);
        assert_eq!(a.max_uses, Some(1));
        let mut r2 = r.clone();
        r2.max_uses = Some(2);
        assert!(refused(r2).contains("single-use"));
    }

    #[test]
    fn closest_rule_is_named() {
        let r = Request {
            hosts: vec!["db".into()],
            cmds: vec![],
            shell: true,
            run_as: vec!["root".into()],
            run_as_groups: vec![],
            ttl_secs: 1801,
            start_delay_secs: 0,
            max_uses: None,
            break_glass: false,
        };
        assert!(refused(r).starts_with("rule db-emergency: TTL"));
    }

    #[test]
    fn self_approval_refused_even_if_listed() {
        let p = pol();
        // alice is both a requester and an approver of web-restart.
        let e = p
            .check_approver("web-restart", "alice", &alice())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "rule web-restart: alice cannot approve their own request"
        );
        // root is not special.
        let root = Identity {
            name: "root".into(),
            groups: vec!["root".into(), "leads".into()],
        };
        assert!(p.check_approver("web-restart", "root", &root).is_err());
        assert!(p.check_approver("web-restart", "alice", &root).is_ok());
        let bob = Identity {
            name: "bob".into(),
            groups: vec![],
        };
        assert!(p.check_approver("web-restart", "alice", &bob).is_ok());
        let eve = Identity {
            name: "eve".into(),
            groups: vec!["leadsx".into()],
        };
        assert!(p
            .check_approver("web-restart", "alice", &eve)
            .unwrap_err()
            .to_string()
            .contains("eve is not an approver"));
        assert!(p.check_approver("gone", "alice", &bob).is_err());
    }

    fn parse_err(extra_rule: &str) -> String {
        Policy::parse(extra_rule).unwrap_err().to_string()
    }

    const MIN: &str = "[[rule]]\nname = \"r\"\nusers = [\"a\"]\nhost_groups = [\"h\"]\ncommands = [\"/bin/true\"]\nmax_ttl = \"1h\"\napproval = false\n";

    #[test]
    fn minimal_parses() {
        Policy::parse(MIN).unwrap();
    }

    #[test]
    fn unknown_keys_refused_with_line() {
        let e = parse_err(&format!("{MIN}max_tll = \"2h\"\n"));
        assert!(e.contains("max_tll") && e.contains("line 8"), "{e}");
        let e = parse_err(&format!("version = 1\n{MIN}"));
        assert!(e.contains("version"), "{e}");
    }

    #[test]
    fn duplicate_rule_names_refused() {
        let e = parse_err(&format!("{MIN}{MIN}"));
        assert_eq!(e, "policy file: rule r (#2): duplicate rule name");
    }

    #[test]
    fn max_ttl_over_24h_refused() {
        let e = parse_err(&MIN.replace("\"1h\"", "\"24h1s\""));
        assert!(e.contains("outside 1m..24h"), "{e}");
        assert!(Policy::parse(&MIN.replace("\"1h\"", "\"24h\"")).is_ok());
        assert!(parse_err(&MIN.replace("\"1h\"", "\"59s\"")).contains("outside"));
        assert!(parse_err(&MIN.replace("\"1h\"", "\"1 hour\"")).contains("max_ttl"));
    }

    #[test]
    fn semantic_errors() {
        assert!(parse_err("").contains("no [[rule]]"));
        assert!(parse_err(&MIN.replace("approval = false\n", "")).contains("no approvers"));
        assert!(parse_err(&MIN.replace("users = [\"a\"]\n", "")).contains("names no requester"));
        assert!(parse_err(&MIN.replace("[\"h\"]", "[]")).contains("host_groups is empty"));
        assert!(parse_err(&MIN.replace("[\"h\"]", "[\"h\", \"h\"]")).contains("listed twice"));
        assert!(parse_err(&MIN.replace("/bin/true", "true")).contains("absolute"));
        assert!(parse_err(&MIN.replace("[\"/bin/true\"]", "[]")).contains("grants nothing"));
        assert!(parse_err(&MIN.replace("\"r\"", "\"a b\"")).contains("name"));
        assert!(parse_err(&format!("{MIN}max_uses = 0\n")).contains("max_uses is 0"));
        assert!(parse_err(&MIN.replace("[\"a\"]", "[\"a b\"]")).contains("whitespace"));
        assert!(parse_err(&MIN.replace("\"1h\"", "3600")).contains("line"));
    }

    #[test]
    fn request_file_roundtrip_and_id() {
        let rf = RequestFile {
            v: 1,
            requester: "alice".into(),
            uid: 1001,
            created: 1000,
            nonce: "00".into(),
            host_groups: vec!["web".into()],
            commands: vec![
                "/usr/bin/systemctl restart nginx".into(),
                "sudoedit /etc/x".into(),
            ],
            shell: false,
            run_as: vec!["root".into()],
            run_as_groups: vec![],
            ttl: 3600,
            not_before: Some(900),
            reason: "r".into(),
            ticket: None,
            max_uses: None,
        };
        let b = rf.encode();
        assert_eq!(RequestFile::parse(&b).unwrap(), rf);
        let id = request_id(&b);
        assert!(is_request_id(&id));
        let mut b2 = b.clone();
        b2[10] ^= 1;
        assert_ne!(request_id(&b2), id);
        assert!(!is_request_id("../etc/passwd"));
        assert!(!is_request_id(&id.to_uppercase()));
        // Unknown keys are refused.
        let mut v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        v["approver"] = "bob".into();
        assert!(RequestFile::parse(v.to_string().as_bytes()).is_err());
        // nbf in the past moves to now; the delay counts from now.
        let (r, nbf, exp) = rf.to_request(2000).unwrap();
        assert_eq!((nbf, exp, r.start_delay_secs), (2000, 5600, 0));
        assert_eq!(r.cmds.len(), 2);
        assert!(rf.check_age(1000 + 3600).is_ok());
        assert!(rf.check_age(1000 + 3601).is_err());
        assert!(rf.check_age(1000 - 301).is_err());
        // A hand-written file cannot bypass what `request` enforces.
        for bad in [
            RequestFile {
                host_groups: vec![],
                ..rf.clone()
            },
            RequestFile {
                commands: vec![],
                ..rf.clone()
            },
            RequestFile {
                host_groups: vec!["".into()],
                ..rf.clone()
            },
            RequestFile {
                run_as: vec!["a b".into()],
                ..rf.clone()
            },
            RequestFile {
                ttl: 59,
                ..rf.clone()
            },
            RequestFile {
                ttl: 86_401,
                ..rf.clone()
            },
            RequestFile {
                reason: " ".into(),
                ..rf.clone()
            },
            RequestFile {
                ticket: Some(String::new()),
                ..rf.clone()
            },
            RequestFile {
                max_uses: Some(0),
                ..rf.clone()
            },
            RequestFile {
                commands: vec!["true".into()],
                ..rf.clone()
            },
        ] {
            assert!(bad.to_request(2000).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(90));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("1d"), Some(86_400));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("5"), Some(5));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("1h5"), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
    }

    #[test]
    fn oncall_sources_and_auto_approve_are_checked() {
        let with = |extra: &str, rule_extra: &str| {
            Policy::parse(&format!(
                "{extra}\n[[rule]]\nname = \"r\"\nusers = [\"alice\"]\nhost_groups = [\"web\"]\ncommands = [\"/usr/bin/true\"]\nmax_ttl = \"1h\"\napprovers = [\"bob\"]\n{rule_extra}\n"
            ))
        };
        let src = "[[oncall]]\nname = \"pager\"\nfile = \"/etc/jit-signer/oncall\"\n";
        let p = with(src, "auto_approve = \"pager\"").unwrap();
        assert_eq!(p.rules[0].auto_approve.as_deref(), Some("pager"));
        assert_eq!(
            p.oncall("pager").unwrap().from,
            OncallFrom::File("/etc/jit-signer/oncall".into())
        );
        for (extra, rule_extra, why) in [
            ("", "auto_approve = \"pager\"", "no [[oncall]] defines"),
            (src, "auto_approve = \"pager\"\napproval = false", "needs no approval"),
            (
                "[[oncall]]\nname = \"pager\"\nfile = \"relative\"\n",
                "",
                "absolute",
            ),
            (
                "[[oncall]]\nname = \"pager\"\nfile = \"/a\"\ncommand = [\"/b\"]\n",
                "",
                "not both",
            ),
            (
                "[[oncall]]\nname = \"pager\"\ncommand = [\"pd\"]\n",
                "",
                "absolute",
            ),
            (
                "[[oncall]]\nname = \"pager\"\nfile = \"/a\"\n[[oncall]]\nname = \"pager\"\nfile = \"/b\"\n",
                "",
                "duplicate",
            ),
        ] {
            let e = with(extra, rule_extra).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn oncall_lists_take_valid_names_only() {
        let (names, bad) =
            parse_oncall("# primary\nalice\n\n  bob  # until 18:00\nroot;rm -rf /\n../x\n");
        assert_eq!(names, vec!["alice", "bob"]);
        assert_eq!(bad.len(), 2);
        assert_eq!(auto_approver("pager"), "auto:pager");
    }
}
