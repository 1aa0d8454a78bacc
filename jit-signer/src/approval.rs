//! The policy file, who a uid is (the user and group databases), and the
//! policy check of `issue --policy` (docs/signer-policy.md). The decisions
//! of the request flow are `jit_core::service::rules`, made by the signing
//! service (src/service.rs).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use jit_core::policy::{self, Identity, Policy};
use jit_core::token::Claims;
use nix::unistd::{getgrouplist, Gid, Group, Uid, User};

use crate::{io_err, usage, Fail};

/// Exit code: refused by the policy (or by the approval rules).
pub const EXIT_REFUSED: u8 = 7;

fn refused(err: anyhow::Error) -> Fail {
    Fail {
        code: EXIT_REFUSED,
        err,
    }
}

/// Read and validate a policy file.
pub fn load_policy(path: &Path) -> Result<Policy, Fail> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("reading policy {}", path.display()))
        .map_err(io_err)?;
    Policy::parse(&text)
        .with_context(|| format!("policy {}", path.display()))
        .map_err(usage)
}

/// The identity of a uid, from the user and group databases.
pub(crate) fn identity_of(uid: Uid) -> Result<Identity, Fail> {
    let user = User::from_uid(uid)
        .context("looking up the user database")
        .map_err(io_err)?
        .ok_or_else(|| refused(anyhow!("uid {uid} has no user name")))?;
    Ok(Identity {
        groups: groups_of(&user.name, user.gid)?,
        name: user.name,
    })
}

fn groups_of(name: &str, gid: Gid) -> Result<Vec<String>, Fail> {
    let cname = std::ffi::CString::new(name)
        .map_err(|_| refused(anyhow!("user name {name:?} contains NUL")))?;
    let gids = getgrouplist(&cname, gid)
        .with_context(|| format!("looking up the groups of {name}"))
        .map_err(io_err)?;
    let mut out = Vec::new();
    for g in gids {
        if let Some(gr) = Group::from_gid(g)
            .context("looking up the group database")
            .map_err(io_err)?
        {
            out.push(gr.name);
        }
    }
    Ok(out)
}

/// The identity of a user named in a token (`issue --policy`): groups from
/// the local database if the user exists there, none otherwise.
fn identity_by_name(name: &str) -> Result<Identity, Fail> {
    let groups = match User::from_name(name)
        .context("looking up the user database")
        .map_err(io_err)?
    {
        Some(u) => groups_of(name, u.gid)?,
        None => Vec::new(),
    };
    Ok(Identity {
        name: name.to_string(),
        groups,
    })
}

/// The spool must be a real directory owned by root with the sticky bit, so
/// nobody can remove, rename or replace another user's request or a verdict.
/// `issue --policy`: the grant must be covered by one rule that needs no
/// approval (or is a break-glass grant of a break-glass rule, which becomes
/// single-use). Sets `max_uses` from the rule.
pub enum IssueCheck {
    /// The policy refused the grant (the ledger records it with the rule).
    Refused {
        rule: Option<String>,
        err: anyhow::Error,
    },
    /// Anything else (unreadable policy, unknown user...).
    Other(Fail),
}

impl From<Fail> for IssueCheck {
    fn from(f: Fail) -> Self {
        IssueCheck::Other(f)
    }
}

/// The policy file: `--policy`, else `$JIT_POLICY` (unset or empty: none).
pub(crate) fn policy_path(given: Option<PathBuf>) -> Option<PathBuf> {
    given.or_else(|| {
        std::env::var_os("JIT_POLICY")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    })
}

/// Returns the covering rule's name (None without a policy).
pub fn check_issue(
    policy: Option<PathBuf>,
    claims: &mut Claims,
    now: i64,
) -> Result<Option<String>, IssueCheck> {
    let Some(path) = policy_path(policy) else {
        return Ok(None);
    };
    let policy = load_policy(&path)?;
    if claims.approver.is_some() {
        return Err(IssueCheck::Other(usage(anyhow!(
            "--approver cannot be combined with a policy: approvers are recorded by jit-signer approve"
        ))));
    }
    let req = policy::Request {
        hosts: claims.hosts.clone(),
        cmds: claims.cmds.clone(),
        shell: claims.shell,
        run_as: claims.run_as.clone(),
        run_as_groups: claims.run_as_groups.clone(),
        ttl_secs: claims.exp.abs_diff(claims.nbf),
        start_delay_secs: claims.nbf.abs_diff(now),
        max_uses: claims.max_uses,
        ssh: None,
        break_glass: claims.break_glass,
    };
    let who = identity_by_name(&claims.sub)?;
    let allowed = policy.check(&who, &req).map_err(|r| IssueCheck::Refused {
        rule: r.rule.clone(),
        err: anyhow!("refused by policy: {r}"),
    })?;
    if allowed.approval_required {
        return Err(IssueCheck::Refused {
            err: anyhow!(
                "rule {} requires approval: use jit-signer request",
                allowed.rule
            ),
            rule: Some(allowed.rule),
        });
    }
    claims.max_uses = allowed.max_uses;
    Ok(Some(allowed.rule))
}
