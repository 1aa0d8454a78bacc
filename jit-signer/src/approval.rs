//! The request spool and the policy behind `jit-signer request / approve /
//! reject / requests` (src/cmd/), and the policy check of `issue --policy`
//! (docs/signer-policy.md).
//!
//! Identity comes from the OS, never from a flag: the requester is the owner
//! (set by the kernel) of the request file in the spool, the approver is the
//! real uid of the `approve` process.

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use clap::Args;
use jit_core::policy::{self, Identity, Policy, RequestFile};
use jit_core::token::{self, Claims};
use nix::unistd::{getgrouplist, Gid, Group, Uid, User};

use crate::{io_err, usage, Fail};

/// Exit code: refused by the policy (or by the approval rules).
pub const EXIT_REFUSED: u8 = 7;
/// Exit code: the request cannot be used (unknown, expired, already decided, forged).
pub const EXIT_BAD_REQUEST: u8 = 9;

/// What the issuance ledger learns of a request that was refused, rejected
/// or approved (docs/log-format.md, "The issuance ledger").
pub(crate) fn ledger_refusal(
    file: &RequestFile,
    rule: Option<String>,
    approver: &str,
) -> jit_core::ledger::Refusal {
    jit_core::ledger::Refusal {
        rule,
        requester: Some(file.requester.clone()),
        user: Some(file.requester.clone()),
        host_groups: file.host_groups.clone(),
        grants: file.grants().unwrap_or_default(),
        run_as: file.run_as.clone(),
        run_as_groups: file.run_as_groups.clone(),
        shell: file.shell,
        reason: Some(file.reason.clone()),
        ticket: file.ticket.clone(),
        approver: Some(approver.to_string()),
        max_uses: file.max_uses,
        ..Default::default()
    }
}

/// Record a refusal at approve/reject time, then fail with `code`.
pub(crate) fn record_refusal(
    lcfg: &jit_core::log::LogConfig,
    r: &jit_core::ledger::Refusal,
    reason_code: &str,
    code: u8,
    err: anyhow::Error,
) -> Fail {
    crate::ledger::refuse(lcfg, r, reason_code, err).with_code_if(2, code)
}

pub(crate) fn refused(err: anyhow::Error) -> Fail {
    Fail {
        code: EXIT_REFUSED,
        err,
    }
}

pub(crate) fn bad_request(err: anyhow::Error) -> Fail {
    Fail {
        code: EXIT_BAD_REQUEST,
        err,
    }
}

/// Where the policy and the spool are.
#[derive(Args, Debug)]
pub(crate) struct Where {
    /// Policy file (TOML; its format: /usr/share/doc/jit-signer/signer-policy.md).
    /// Default: $JIT_POLICY.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Spool directory (root-owned, sticky, e.g. mode 1733). Default: $JIT_SPOOL.
    #[arg(long)]
    spool: Option<PathBuf>,
}

impl Where {
    pub(crate) fn policy(&self) -> Result<Policy, Fail> {
        load_policy(&from_env(self.policy.clone(), "JIT_POLICY", "--policy")?)
    }
    /// The policy if one is named (`requests` works without one).
    pub(crate) fn policy_if_given(&self) -> Result<Option<Policy>, Fail> {
        match from_env(self.policy.clone(), "JIT_POLICY", "--policy") {
            Ok(p) => load_policy(&p).map(Some),
            Err(_) => Ok(None),
        }
    }
    pub(crate) fn spool(&self) -> Result<PathBuf, Fail> {
        let p = from_env(self.spool.clone(), "JIT_SPOOL", "--spool")?;
        check_spool(&p)?;
        Ok(p)
    }
}

fn from_env(v: Option<PathBuf>, var: &str, flag: &str) -> Result<PathBuf, Fail> {
    v.or_else(|| {
        std::env::var_os(var)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    })
    .ok_or_else(|| usage(anyhow!("no {flag} given and ${var} is not set")))
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
fn check_spool(p: &Path) -> Result<(), Fail> {
    let md = fs::symlink_metadata(p)
        .with_context(|| format!("spool {}", p.display()))
        .map_err(io_err)?;
    if !md.file_type().is_dir() {
        return Err(usage(anyhow!("spool {} is not a directory", p.display())));
    }
    if md.uid() != 0 {
        return Err(usage(anyhow!(
            "spool {} is not owned by root (uid {})",
            p.display(),
            md.uid()
        )));
    }
    if md.mode() & 0o1000 == 0 {
        return Err(usage(anyhow!(
            "spool {} lacks the sticky bit (mode {:04o}); use chmod 1733",
            p.display(),
            md.mode() & 0o7777
        )));
    }
    Ok(())
}

pub(crate) fn req_path(spool: &Path, id: &str) -> PathBuf {
    spool.join(format!("{id}.req"))
}

pub(crate) fn verdict_path(spool: &Path, id: &str) -> PathBuf {
    spool.join(format!("{id}.done"))
}

/// A request read back from the spool, with its kernel-attested owner.
pub(crate) struct Loaded {
    pub(crate) id: String,
    pub(crate) file: RequestFile,
    pub(crate) owner: Uid,
}

/// Open `ID.req` without following symlinks and check, on the open fd, that it
/// is a regular file with one link, not group/world-writable, owned by the
/// requester it names, and that its bytes hash to ID.
pub(crate) fn load_request(spool: &Path, id: &str) -> Result<Loaded, Fail> {
    if !policy::is_request_id(id) {
        return Err(bad_request(anyhow!(
            "{id:?} is not a request id (32 hex digits)"
        )));
    }
    let path = req_path(spool, id);
    let f = File::options()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits() | nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(&path)
        .with_context(|| format!("opening request {}", path.display()))
        .map_err(bad_request)?;
    let md = f
        .metadata()
        .with_context(|| format!("fstat {}", path.display()))
        .map_err(io_err)?;
    let why = spool_file_problem(&md, policy::MAX_REQUEST_FILE_LEN);
    if let Some(why) = why {
        return Err(bad_request(anyhow!("request {} {why}", path.display())));
    }
    let mut bytes = Vec::new();
    f.take(policy::MAX_REQUEST_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(io_err)?;
    let file = RequestFile::parse(&bytes)
        .map_err(|e| bad_request(anyhow!("request {}: {e}", path.display())))?;
    let owner = Uid::from_raw(md.uid());
    let owner_name = User::from_uid(owner)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default();
    if file.uid != md.uid() || file.requester != owner_name {
        return Err(bad_request(anyhow!(
            "request {} names requester {} (uid {}) but is owned by uid {} ({}): refusing",
            path.display(),
            file.requester,
            file.uid,
            md.uid(),
            if owner_name.is_empty() {
                "no user"
            } else {
                &owner_name
            }
        )));
    }
    if policy::request_id(&bytes) != id {
        return Err(bad_request(anyhow!(
            "request {} does not hash to its id (altered or incomplete)",
            path.display()
        )));
    }
    Ok(Loaded {
        id: id.to_string(),
        file,
        owner,
    })
}

/// What is wrong with a file in the spool (`fstat` of the opened
/// descriptor), for a file jit-signer wrote: a regular file with one link,
/// not group- or world-writable, at most `max_len` bytes.
fn spool_file_problem(md: &fs::Metadata, max_len: u64) -> Option<String> {
    if !md.is_file() {
        Some("is not a regular file".to_string())
    } else if md.nlink() != 1 {
        Some(format!("has {} hard links", md.nlink()))
    } else if md.mode() & 0o022 != 0 {
        Some(format!(
            "is group- or world-writable (mode {:04o})",
            md.mode() & 0o7777
        ))
    } else if md.len() > max_len {
        Some("is too large".to_string())
    } else {
        None
    }
}

/// Largest verdict file read back: a verdict is one short line.
const MAX_VERDICT_LEN: u64 = 4096;

/// What `ID.done` is, judged without trusting it.
pub(crate) enum Found {
    /// No verdict file: the request is undecided.
    Undecided,
    /// A verdict jit-signer wrote for someone who may decide the request
    /// (its text, escaped for the terminal).
    Decided(String),
    /// Anything else (why): someone else created the file. It is no verdict,
    /// but it occupies the name, so the request can never be decided.
    Blocked(String),
    /// A well-formed verdict by someone who may or may not be an approver:
    /// only the policy can tell (`requests` run without one).
    Unverified(String),
}

/// May the owner of a verdict file have written that verdict?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum May {
    Yes,
    No,
    /// Cannot be told without the policy (`requests` run without one).
    Unknown,
}

/// Who may have written a verdict on request `l`: root (either verdict),
/// its requester (only a rejection: withdrawing it; nobody approves their
/// own request), or an approver of the rule that covers it (the closest
/// rule if none does) under `policy`, the current policy. Without a policy
/// (`requests` run without one) any other owner is [`May::Unknown`]. The
/// closure takes the owner and whether the verdict is an approval. Any
/// lookup that fails answers no.
pub(crate) fn deciders<'a>(
    policy: Option<&'a Policy>,
    l: &'a Loaded,
    now: i64,
) -> impl Fn(Uid, bool) -> May + 'a {
    let requester = identity_of(l.owner).ok();
    let rule = match (policy, &requester) {
        (Some(p), Some(r)) => {
            l.file
                .to_request(now)
                .ok()
                .map(|(req, _, _)| match p.check(r, &req) {
                    Ok(a) => a.rule,
                    Err(r) => r.rule.unwrap_or_default(),
                })
        }
        _ => None,
    };
    move |uid: Uid, approved: bool| {
        if uid.is_root() {
            return May::Yes;
        }
        if uid == l.owner {
            return if approved { May::No } else { May::Yes };
        }
        let Some(p) = policy else {
            return May::Unknown;
        };
        match (&requester, &rule) {
            (Some(r), Some(rule))
                if identity_of(uid)
                    .ok()
                    .is_some_and(|me| p.check_approver(rule, &r.name, &me).is_ok()) =>
            {
                May::Yes
            }
            _ => May::No,
        }
    }
}

/// Read `ID.done` as the spool's writers can make it: anyone may create any
/// name in the (sticky, mode 1733) spool, so the file is opened with
/// O_NOFOLLOW and O_NONBLOCK (a symlink or a FIFO is not followed or waited
/// on) and trusted only if, by `fstat` on that descriptor, it is what
/// `conclude_request` writes: a regular file with one link, not group- or
/// world-writable, at most one short line `approved|rejected by NAME at @T`
/// where NAME is the owner's user name (any name for root), and its owner
/// may decide the request (`may_decide`).
pub(crate) fn find_verdict(
    spool: &Path,
    id: &str,
    may_decide: &dyn Fn(Uid, bool) -> May,
) -> Result<Found, Fail> {
    let path = verdict_path(spool, id);
    let opened = File::options()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits() | nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(&path);
    let f = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Undecided),
        Err(e) => {
            // A symlink, a socket (ENXIO), a file we may not read...:
            // jit-signer writes none of these, so whatever it is, it is not a
            // verdict but it occupies the name.
            let (what, by) = match fs::symlink_metadata(&path) {
                Ok(md) if md.file_type().is_symlink() => {
                    ("is a symbolic link".to_string(), owner_str(md.uid()))
                }
                Ok(md) => (format!("cannot be opened ({e})"), owner_str(md.uid())),
                Err(e2) => (
                    format!("cannot be opened ({e}) or examined ({e2})"),
                    "an unknown user".to_string(),
                ),
            };
            return Ok(Found::Blocked(format!("{what}, created by {by}")));
        }
    };
    let md = f
        .metadata()
        .with_context(|| format!("fstat {}", path.display()))
        .map_err(io_err)?;
    let by = owner_str(md.uid());
    let problem = spool_file_problem(&md, MAX_VERDICT_LEN);
    if let Some(p) = problem {
        return Ok(Found::Blocked(format!("{p}, created by {by}")));
    }
    let mut bytes = Vec::new();
    f.take(MAX_VERDICT_LEN + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(io_err)?;
    let owner = Uid::from_raw(md.uid());
    let owner_name = User::from_uid(owner).ok().flatten().map(|u| u.name);
    let decider = std::str::from_utf8(&bytes).ok().and_then(verdict_decider);
    let text = String::from_utf8_lossy(&bytes).trim_end().to_string();
    let Some((d, approved)) = decider else {
        return Ok(Found::Blocked(format!(
            "does not hold a verdict jit-signer writes, created by {by}"
        )));
    };
    if !owner.is_root() && owner_name.as_deref() != Some(d) {
        return Ok(Found::Blocked(format!(
            "names {} as the decider but was created by {by}",
            token::printable(d)
        )));
    }
    let verdict = if approved {
        "an approval"
    } else {
        "a rejection"
    };
    match may_decide(owner, approved) {
        May::Yes => Ok(Found::Decided(token::printable(&text).into_owned())),
        May::No => Ok(Found::Blocked(format!(
            "holds {verdict} by {by}, who may not give it on this request"
        ))),
        May::Unknown => Ok(Found::Unverified(format!(
            "holds {verdict} by {by}, which cannot be checked without the policy (--policy or JIT_POLICY)"
        ))),
    }
}

/// The decider named by a verdict line (`approved by NAME at @T` or
/// `rejected by NAME at @T`, one line) and whether it is an approval, or
/// None if it is not one.
fn verdict_decider(text: &str) -> Option<(&str, bool)> {
    let line = text.strip_suffix('\n')?;
    let (rest, approved) = match line.strip_prefix("approved by ") {
        Some(r) => (r, true),
        None => (line.strip_prefix("rejected by ")?, false),
    };
    let (name, at) = rest.rsplit_once(" at @")?;
    at.parse::<i64>().ok()?;
    let ok = !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some((name, approved))
}

fn owner_str(uid: u32) -> String {
    match User::from_uid(Uid::from_raw(uid)).ok().flatten() {
        Some(u) => format!("uid {uid} ({})", token::printable(&u.name)),
        None => format!("uid {uid} (no user)"),
    }
}

/// The refusal for an id whose verdict name someone else occupies.
pub(crate) fn blocked(spool: &Path, id: &str, why: &str) -> Fail {
    let path = verdict_path(spool, id);
    bad_request(anyhow!(
        "request {id} is blocked: {} {why}. It is not a verdict jit-signer wrote \
         and nothing will be issued under this id; the requester can submit the \
         request again (a new request gets a new id)",
        path.display()
    ))
}

/// Refuse a request that has a verdict, or whose verdict name is occupied.
pub(crate) fn check_undecided(
    spool: &Path,
    id: &str,
    may_decide: &dyn Fn(Uid, bool) -> May,
) -> Result<(), Fail> {
    match find_verdict(spool, id, may_decide)? {
        Found::Undecided => Ok(()),
        Found::Decided(t) => Err(bad_request(anyhow!(
            "request {id} was already decided: {t}"
        ))),
        Found::Blocked(why) | Found::Unverified(why) => Err(blocked(spool, id, &why)),
    }
}

/// How a request ends.
pub(crate) enum Verdict {
    Approved {
        approver: String,
        claims: Box<Claims>,
        key: Box<dyn jit_core::keys::Signer>,
    },
    Rejected {
        by: String,
    },
}

/// THE place where a spooled request is finally issued or refused. The
/// verdict file is created with O_EXCL before anything is signed, so a
/// request yields at most one token and a decided request is never decided
/// again. Returns the token if one was issued.
pub(crate) fn conclude_request(
    spool: &Path,
    id: &str,
    now: i64,
    verdict: Verdict,
    may_decide: &dyn Fn(Uid, bool) -> May,
) -> Result<Option<String>, Fail> {
    let path = verdict_path(spool, id);
    let text = match &verdict {
        Verdict::Approved { approver, .. } => format!("approved by {approver} at @{now}\n"),
        Verdict::Rejected { by } => format!("rejected by {by} at @{now}\n"),
    };
    // O_CREAT|O_EXCL never opens an existing file and never follows a
    // symlink (O_NOFOLLOW says so twice): whatever someone else created
    // under this name is left alone, and the request is not decided.
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(&path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                match check_undecided(spool, id, may_decide) {
                    Err(f) => f,
                    Ok(()) => bad_request(anyhow!(
                        "request {id}: {} appeared and vanished while deciding; try again",
                        path.display()
                    )),
                }
            } else {
                io_err(anyhow::Error::new(e).context(format!("creating {}", path.display())))
            }
        })?;
    // Belt and braces: the file is the one this process just created.
    let md = f
        .metadata()
        .with_context(|| format!("fstat {}", path.display()))
        .map_err(io_err)?;
    if !md.is_file() || md.nlink() != 1 || md.uid() != nix::unistd::geteuid().as_raw() {
        return Err(io_err(anyhow!(
            "{} is not the file just created (owner uid {}, {} links); nothing decided",
            path.display(),
            md.uid(),
            md.nlink()
        )));
    }
    f.set_permissions(fs::Permissions::from_mode(0o644))
        .and_then(|_| f.write_all(text.as_bytes()))
        .and_then(|_| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
        .map_err(io_err)?;
    match verdict {
        Verdict::Rejected { .. } => Ok(None),
        Verdict::Approved { claims, key, .. } => token::issue_b64(&claims, key.as_ref())
            .map(Some)
            .map_err(|e| match e {
                token::IssueError::Sign(_) => Fail {
                    code: crate::pkcs11::EXIT_PKCS11,
                    err: e.into(),
                },
                _ => usage(e.into()),
            }),
    }
}

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

/// Returns the covering rule's name (None without a policy).
pub fn check_issue(
    policy: Option<PathBuf>,
    claims: &mut Claims,
    now: i64,
) -> Result<Option<String>, IssueCheck> {
    let from_env = || {
        std::env::var_os("JIT_POLICY")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    };
    let Some(path) = policy.or_else(from_env) else {
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
