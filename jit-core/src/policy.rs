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
    #[serde(default)]
    ssh: bool,
    ssh_self: Option<bool>,
    #[serde(default)]
    ssh_logins: Vec<String>,
    ssh_max_ttl: Option<String>,
    ssh_extensions: Option<Vec<String>>,
    ssh_source_address: Option<String>,
    ssh_force_command: Option<String>,
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
    /// What SSH certificates the rule may grant; `None`: none.
    pub ssh: Option<SshRule>,
}

/// The SSH part of a rule (docs/signer-policy.md, "SSH certificates").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshRule {
    /// The requester's own user name may be a login.
    pub own_login: bool,
    /// Further logins (shared accounts).
    pub logins: Vec<String>,
    /// Longest certificate lifetime, seconds (at most the rule's `max_ttl`).
    pub max_ttl: u64,
    /// Extensions a certificate may carry.
    pub extensions: Vec<String>,
    /// `source-address` every certificate of the rule carries.
    pub source_address: Option<String>,
    /// `force-command` every certificate of the rule carries.
    pub force_command: Option<String>,
}

/// What a request asks of a certificate (the key itself is the profile's
/// business, [`crate::ssh_cert::profile`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SshRequest {
    /// Logins, resolved: a request that names none asks for the requester's own.
    pub logins: Vec<String>,
    /// Extensions asked for; `None`: `permit-pty` if the rule allows it.
    pub extensions: Option<Vec<String>>,
    pub force_command: Option<String>,
    pub source_address: Option<String>,
}

/// The certificate the policy allows: what the profile is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshAllowed {
    pub logins: Vec<String>,
    /// The rule's limits (its `ssh_max_ttl` and `ssh_extensions`).
    pub limits: crate::ssh_cert::Limits,
    /// The extensions to sign.
    pub extensions: Vec<String>,
    /// The rule's, or the request's when the rule names none.
    pub force_command: Option<String>,
    pub source_address: Option<String>,
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
    /// An SSH certificate from the same grant.
    pub ssh: Option<SshRequest>,
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
    /// The certificate to sign, when one is asked for.
    pub ssh: Option<SshAllowed>,
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
            let run_as = r.run_as.clone().unwrap_or_else(|| vec!["root".into()]);
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
            if commands.is_empty() && !r.shell && !r.ssh {
                return Err(bad(
                    &name,
                    "grants nothing: give commands, edits, shell = true or ssh = true".into(),
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
            let ssh = ssh_rule(&r, max_ttl).map_err(|m| bad(&name, m))?;
            if let Some(s) = &ssh {
                words("ssh_logins", NameKind::User, &s.logins)?;
                for l in &s.logins {
                    crate::ssh_cert::check_login(l)
                        .map_err(|e| bad(&name, format!("ssh_logins: {e}")))?;
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
                ssh,
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
            let gaps = rule.gaps(requester, req);
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
                    ssh: req.ssh.as_ref().and_then(|a| rule.ssh_allowed(a)),
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
    fn gaps(&self, who: &Identity, req: &Request) -> Vec<String> {
        let mut gaps = Vec::new();
        for h in &req.hosts {
            if !self.host_groups.contains(h) {
                gaps.push(format!("host group {h} is not granted"));
            }
        }
        if let Some(ask) = &req.ssh {
            self.ssh_gaps(who, req, ask, &mut gaps);
        }
        // The grant's window (max_ttl, max_not_before) bounds a certificate
        // alone as much as a token.
        self.window_gaps(req, &mut gaps);
        if !req.wants_token() {
            // A certificate alone: the token's parts do not apply.
            return gaps;
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

/// The SSH part of a raw rule, validated; `None` without `ssh = true`.
fn ssh_rule(r: &RawRule, max_ttl: u64) -> Result<Option<SshRule>, String> {
    use crate::ssh_cert::{self, KNOWN_EXTENSIONS, NOT_WITH_FORCE_COMMAND};
    if !r.ssh {
        let set = [
            ("ssh_self", r.ssh_self.is_some()),
            ("ssh_logins", !r.ssh_logins.is_empty()),
            ("ssh_max_ttl", r.ssh_max_ttl.is_some()),
            ("ssh_extensions", r.ssh_extensions.is_some()),
            ("ssh_source_address", r.ssh_source_address.is_some()),
            ("ssh_force_command", r.ssh_force_command.is_some()),
        ];
        if let Some((key, _)) = set.iter().find(|(_, set)| *set) {
            return Err(format!("{key} is set but ssh is not true"));
        }
        return Ok(None);
    }
    let own_login = r.ssh_self.unwrap_or(true);
    if !own_login && r.ssh_logins.is_empty() {
        return Err(
            "ssh = true with ssh_self = false and no ssh_logins: no login could be granted".into(),
        );
    }
    let ssh_max_ttl = match &r.ssh_max_ttl {
        None => max_ttl.min(ssh_cert::MAX_TTL_SECS),
        Some(t) => parse_duration(t)
            .ok_or_else(|| format!("ssh_max_ttl {t:?}: use e.g. 30m, 2h, 1h30m"))?,
    };
    if !(MIN_TTL_SECS..=max_ttl).contains(&ssh_max_ttl) {
        return Err(format!(
            "ssh_max_ttl is outside 1m..max_ttl ({})",
            crate::token::human_duration(max_ttl)
        ));
    }
    let extensions = r.ssh_extensions.clone().unwrap_or_else(|| {
        ssh_cert::DEFAULT_EXTENSIONS
            .iter()
            .map(|e| e.to_string())
            .collect()
    });
    let mut seen = HashSet::new();
    for e in &extensions {
        if !KNOWN_EXTENSIONS.contains(&e.as_str()) {
            return Err(format!(
                "ssh_extensions: {e:?} is not an OpenSSH extension ({})",
                KNOWN_EXTENSIONS.join(", ")
            ));
        }
        if !seen.insert(e) {
            return Err(format!("ssh_extensions: {e:?} is listed twice"));
        }
        if r.ssh_force_command.is_some() && NOT_WITH_FORCE_COMMAND.contains(&e.as_str()) {
            return Err(format!(
                "ssh_extensions: {e} with ssh_force_command (force-command does not stop forwarding)"
            ));
        }
    }
    if let Some(c) = &r.ssh_force_command {
        ssh_cert::check_force_command(c).map_err(|e| format!("ssh_force_command: {e}"))?;
    }
    if let Some(a) = &r.ssh_source_address {
        ssh_cert::check_source_address(a).map_err(|e| format!("ssh_source_address: {e}"))?;
    }
    Ok(Some(SshRule {
        own_login,
        logins: r.ssh_logins.clone(),
        max_ttl: ssh_max_ttl,
        extensions,
        source_address: r.ssh_source_address.clone(),
        force_command: r.ssh_force_command.clone(),
    }))
}

impl Rule {
    /// The parts of the grant's window this rule does not cover.
    fn window_gaps(&self, req: &Request, gaps: &mut Vec<String>) {
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
    }

    /// The parts of a certificate request this rule does not cover.
    fn ssh_gaps(&self, who: &Identity, req: &Request, ask: &SshRequest, gaps: &mut Vec<String>) {
        let Some(r) = &self.ssh else {
            gaps.push("SSH certificates are not granted (no ssh = true)".into());
            return;
        };
        for l in &ask.logins {
            if !(r.logins.contains(l) || (r.own_login && *l == who.name)) {
                gaps.push(format!("SSH login {l} is not granted"));
            }
        }
        if req.ttl_secs > r.max_ttl {
            gaps.push(format!(
                "certificate TTL {} exceeds ssh_max_ttl {}",
                crate::token::human_duration(req.ttl_secs),
                crate::token::human_duration(r.max_ttl)
            ));
        }
        for e in ask.extensions.iter().flatten() {
            if !r.extensions.contains(e) {
                gaps.push(format!("SSH extension {e} is not granted"));
            }
        }
        for (what, rule, asked) in [
            ("force-command", &r.force_command, &ask.force_command),
            ("source-address", &r.source_address, &ask.source_address),
        ] {
            if let (Some(want), Some(got)) = (rule, asked) {
                if want != got {
                    gaps.push(format!("{what} must be the rule's {want:?}, not {got:?}"));
                }
            }
        }
    }

    /// The certificate this rule grants for `ask` (which it covers).
    fn ssh_allowed(&self, ask: &SshRequest) -> Option<SshAllowed> {
        let r = self.ssh.as_ref()?;
        let extensions = match &ask.extensions {
            Some(e) => e.clone(),
            None => crate::ssh_cert::DEFAULT_EXTENSIONS
                .iter()
                .map(|e| e.to_string())
                .filter(|e| r.extensions.contains(e))
                .collect(),
        };
        Some(SshAllowed {
            logins: ask.logins.clone(),
            limits: crate::ssh_cert::Limits {
                max_ttl_secs: r.max_ttl,
                allowed_extensions: r.extensions.clone(),
            },
            extensions,
            force_command: r
                .force_command
                .clone()
                .or_else(|| ask.force_command.clone()),
            source_address: r
                .source_address
                .clone()
                .or_else(|| ask.source_address.clone()),
        })
    }
}

impl Request {
    /// Does the request ask for a sudo token (commands or a shell)? A request
    /// without either asks for a certificate alone.
    pub fn wants_token(&self) -> bool {
        !self.cmds.is_empty() || self.shell
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
    /// An SSH certificate from the same grant (absent: none; older files
    /// have no such member, and their ids are unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshAsk>,
}

/// What a request asks of an SSH certificate (docs/signer-service.md, `ask.ssh`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshAsk {
    /// The requester's public key: one line of an OpenSSH `.pub` file.
    pub key: String,
    /// Logins; null: the requester's own user name.
    pub logins: Option<Vec<String>>,
    /// Extensions; null: `permit-pty` where the rule allows it.
    pub extensions: Option<Vec<String>>,
    /// `force-command`; null: the rule's, if any.
    pub force_command: Option<String>,
    /// `source-address`; null: the rule's, if any.
    pub source_address: Option<String>,
}

impl SshAsk {
    /// The request as the policy sees it; `requester` fills in null logins.
    pub fn to_request(&self, requester: &str) -> SshRequest {
        SshRequest {
            logins: self
                .logins
                .clone()
                .unwrap_or_else(|| vec![requester.to_string()]),
            extensions: self.extensions.clone(),
            force_command: self.force_command.clone(),
            source_address: self.source_address.clone(),
        }
    }
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
        if self.commands.is_empty() && !self.shell && self.ssh.is_none() {
            return Err("nothing requested".into());
        }
        if let Some(ssh) = &self.ssh {
            if ssh.key.len() > crate::ssh_cert::MAX_KEY_LINE {
                return Err("ssh.key is longer than an OpenSSH public key line".into());
            }
            if ssh.logins.as_ref().is_some_and(|l| l.is_empty()) {
                return Err("ssh.logins is empty (null asks for your own login)".into());
            }
            for l in ssh.logins.iter().flatten() {
                crate::ssh_cert::check_login(l).map_err(|e| format!("ssh.logins: {e}"))?;
            }
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
            ssh: self.ssh.as_ref().map(|a| a.to_request(&self.requester)),
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
            ssh: None,
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
            ssh: None,
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
            ssh: None,
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
            ssh: None,
        };
        let b = rf.encode();
        assert_eq!(RequestFile::parse(&b).unwrap(), rf);
        // A request without a certificate is stored as before the member
        // existed: its bytes, and so its id, are unchanged.
        assert!(!String::from_utf8_lossy(&b).contains("ssh"));
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

    const SSH_POLICY: &str = r#"
[[rule]]
name = "web-login"
users = ["alice"]
host_groups = ["web"]
commands = ["/usr/bin/systemctl restart nginx"]
max_ttl = "8h"
approvers = ["bob"]
ssh = true
ssh_logins = ["deploy"]
ssh_max_ttl = "4h"
ssh_extensions = ["permit-pty", "permit-port-forwarding"]

[[rule]]
name = "db-runbook"
users = ["alice"]
host_groups = ["db"]
max_ttl = "1h"
approvers = ["bob"]
ssh = true
ssh_self = false
ssh_logins = ["runbook"]
ssh_extensions = []
ssh_force_command = "/usr/local/bin/runbook"
ssh_source_address = "10.0.0.0/8"
"#;

    fn ssh_req(hosts: &[&str], logins: &[&str]) -> Request {
        Request {
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            cmds: vec![],
            shell: false,
            ttl_secs: 3600,
            ssh: Some(SshRequest {
                logins: logins.iter().map(|l| l.to_string()).collect(),
                ..Default::default()
            }),
            ..req()
        }
    }

    #[test]
    fn ssh_rules_grant_own_and_listed_logins_on_their_host_groups() {
        let p = Policy::parse(SSH_POLICY).unwrap();
        let a = p
            .check(&alice(), &ssh_req(&["web"], &["alice", "deploy"]))
            .unwrap();
        assert_eq!(a.rule, "web-login");
        let s = a.ssh.unwrap();
        assert_eq!(s.logins, ["alice", "deploy"]);
        assert_eq!(s.limits.max_ttl_secs, 4 * 3600);
        // No extensions asked: permit-pty, the default, as the rule allows it.
        assert_eq!(s.extensions, ["permit-pty"]);
        assert_eq!((s.force_command, s.source_address), (None, None));
        // A certificate and a token from one grant: both parts covered.
        let mut both = ssh_req(&["web"], &["alice"]);
        both.cmds = vec![g("/usr/bin/systemctl restart nginx")];
        assert!(p.check(&alice(), &both).is_ok());
    }

    #[test]
    fn ssh_rules_refuse_what_slips_past_a_token_rule() {
        let p = Policy::parse(SSH_POLICY).unwrap();
        let no = |r: Request| p.check(&alice(), &r).unwrap_err().to_string();
        // A login the rule does not list, root included.
        assert!(no(ssh_req(&["web"], &["root"])).contains("SSH login root is not granted"));
        // Someone else's name is not "own".
        assert!(no(ssh_req(&["web"], &["bob"])).contains("SSH login bob is not granted"));
        // ssh_self = false: not even one's own login (the closest rule ties
        // with web-login, which does not grant db: the first in the file).
        let e = no(ssh_req(&["db"], &["alice"]));
        assert!(e.contains("host group db is not granted"), "{e}");
        let only_db = Policy::parse(
            &SSH_POLICY[SSH_POLICY.find("[[rule]]\nname = \"db-runbook\"").unwrap()..],
        )
        .unwrap();
        let e = only_db
            .check(&alice(), &ssh_req(&["db"], &["alice"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("SSH login alice is not granted"), "{e}");
        // Host groups of one rule and logins of another never combine.
        assert!(no(ssh_req(&["web", "db"], &["deploy"])).contains("is not granted"));
        // The certificate's TTL is bounded by ssh_max_ttl, below max_ttl.
        let mut long = ssh_req(&["web"], &["alice"]);
        long.ttl_secs = 4 * 3600 + 1;
        let e = no(long);
        assert!(e.contains("exceeds ssh_max_ttl"), "{e}");
        // An extension the rule does not list.
        let mut x = ssh_req(&["web"], &["alice"]);
        x.ssh.as_mut().unwrap().extensions = Some(vec!["permit-agent-forwarding".into()]);
        assert!(no(x).contains("SSH extension permit-agent-forwarding is not granted"));
        // The rule's force-command and source-address cannot be replaced.
        let mut fc = ssh_req(&["db"], &["runbook"]);
        fc.ssh.as_mut().unwrap().force_command = Some("/bin/sh".into());
        assert!(no(fc).contains("force-command must be the rule's"));
        let mut sa = ssh_req(&["db"], &["runbook"]);
        sa.ssh.as_mut().unwrap().source_address = Some("0.0.0.0/1".into());
        assert!(no(sa).contains("source-address must be the rule's"));
        // A token rule without ssh = true grants no certificate.
        let mut tok = ssh_req(&["web"], &["alice"]);
        tok.cmds = vec![g("/usr/bin/systemctl restart nginx")];
        let e = pol().check(&alice(), &tok).unwrap_err().to_string();
        assert!(e.contains("SSH certificates are not granted"), "{e}");
        // A certificate alone is bounded by the grant's window like a token:
        // max_not_before (0 s here) and max_ttl.
        let mut later = ssh_req(&["web"], &["alice"]);
        later.start_delay_secs = 10 * 365 * 86_400;
        let e = no(later);
        assert!(e.contains("exceeds max_not_before"), "{e}");
        let mut long = ssh_req(&["db"], &["runbook"]);
        long.ttl_secs = 2 * 3600;
        let e = only_db.check(&alice(), &long).unwrap_err().to_string();
        assert!(e.contains("exceeds ssh_max_ttl"), "{e}");
        assert!(only_db.rules[0]
            .gaps(&alice(), &long)
            .iter()
            .any(|g| g.contains("exceeds max_ttl 1 h")));
        // A certificate-only rule grants no token.
        let mut cmd = ssh_req(&["db"], &["runbook"]);
        cmd.cmds = vec![g("/usr/bin/id")];
        assert!(no(cmd).contains("command /usr/bin/id is not granted"));
    }

    #[test]
    fn ssh_rules_apply_their_force_command_and_source_address() {
        let p = Policy::parse(SSH_POLICY).unwrap();
        let a = p.check(&alice(), &ssh_req(&["db"], &["runbook"])).unwrap();
        let s = a.ssh.unwrap();
        assert_eq!(s.force_command.as_deref(), Some("/usr/local/bin/runbook"));
        assert_eq!(s.source_address.as_deref(), Some("10.0.0.0/8"));
        // permit-pty is not allowed by the rule: the default is then none.
        assert!(s.extensions.is_empty());
        assert_eq!(
            s.limits.max_ttl_secs, 3600,
            "ssh_max_ttl defaults to max_ttl"
        );
    }

    #[test]
    fn ssh_rule_errors_are_refused_at_parse() {
        let base = "[[rule]]\nname = \"r\"\nusers = [\"alice\"]\nhost_groups = [\"web\"]\nmax_ttl = \"1h\"\napproval = false\n";
        for (extra, why) in [
            ("ssh_logins = [\"deploy\"]\ncommands = [\"/bin/true\"]\n", "ssh_logins is set but ssh is not true"),
            ("ssh = true\nssh_self = false\n", "no login could be granted"),
            ("ssh = true\nssh_max_ttl = \"2h\"\n", "outside 1m..max_ttl"),
            ("ssh = true\nssh_extensions = [\"permit-everything\"]\n", "not an OpenSSH extension"),
            ("ssh = true\nssh_extensions = [\"permit-pty\", \"permit-pty\"]\n", "listed twice"),
            (
                "ssh = true\nssh_force_command = \"/bin/x\"\nssh_extensions = [\"permit-port-forwarding\"]\n",
                "force-command does not stop forwarding",
            ),
            ("ssh = true\nssh_source_address = \"0.0.0.0/0\"\n", "ssh_source_address"),
            ("ssh = true\nssh_logins = [\"ops*\"]\n", "ssh_logins"),
            ("ssh = true\nssh_logins = [\"a,b\"]\n", "ssh_logins"),
            ("", "grants nothing"),
        ] {
            let e = Policy::parse(&format!("{base}{extra}")).unwrap_err().to_string();
            assert!(e.contains(why), "{extra}: {e}");
        }
        // ssh = true alone is a rule: the requester's own login, permit-pty.
        let p = Policy::parse(&format!("{base}ssh = true\n")).unwrap();
        let s = p.rules[0].ssh.as_ref().unwrap();
        assert!(s.own_login && s.logins.is_empty());
        assert_eq!(s.extensions, ["permit-pty"]);
    }
}
