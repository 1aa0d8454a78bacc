//! The sudo decision on a host: one pure function, [`decide`], for every
//! invocation (docs/pam-module.md, "The decision").
//!
//! The PAM module gathers [`Facts`] (who asks, what sudo is about to run,
//! the token text), hands them here with the host's [`Config`] and its
//! [`Stores`] (the account database, the conversation, the trusted keys,
//! the revocation list and the use counter), and gets one [`Decision`] back:
//! a [`Verdict`] — allowed with the token that grants it, or denied with one
//! [`DenyCode`] — and what was established on the way, for the audit record.
//! [`DenyCode::code`] is the one mapping from a denial to the reason code
//! in the log, [`Verdict::answer`] the one mapping to a PAM answer, and
//! [`Decision::event`] the one mapping to a log event.
//!
//! The checks run in this order; the first that fails decides:
//! 1. the invoking user: the real uid's name, which PAM_RUSER and PAM_USER
//!    must both name (`unknown_user`, `user_mismatch`);
//! 2. the command sudo will run, and its run-as user and group, resolved
//!    through the account database (`command_undetermined`, `unknown_run_as`);
//! 3. the token: `JIT_TOKEN` once in the invoking environment, or an answer
//!    to the prompt when configured (`malformed`, `no_token`); at
//!    authenticate, no token and no prompt is not this module's business
//!    ([`Verdict::Abstain`]);
//! 4. the trusted keys (`keys_unusable`);
//! 5. the token itself and the invocation against its claims (every
//!    [`token::Reason`], docs/token-format.md §4);
//! 6. the host's revocation list (`revoked`, `revocation_*`, docs/revocation.md);
//! 7. use limits and break-glass single use, counted in acct_mgmt only and
//!    only where something runs (`uses_exhausted`, `clock_stepped_back`,
//!    `replay_cache_unusable`).

mod code;
mod session;
pub mod text;

pub use code::{Allowed, Denied, DenyCode, PamAnswer, Verdict, SESSION_RECORDS};
pub use session::{command_of, open_session, Approved};

use crate::config::Config;
use crate::invocation::{Action, Invocation};
use crate::keys::TrustedKeys;
use crate::log::EventKind;
use crate::replay::{ReplayError, Use};
use crate::revocation::host::{Checked, HostError, HostPolicy};
use crate::sudo::{Determined, RunAs};
use crate::token::{self, Reason, TokenInfo, VerifyOptions};

/// Which PAM hook is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// pam_sm_authenticate: a valid token may stand in for the password.
    Authenticate,
    /// pam_sm_acct_mgmt: runs on every sudo invocation; the full check.
    Account,
    /// pam_sm_open_session.
    OpenSession,
    /// pam_sm_close_session.
    CloseSession,
}

impl Hook {
    /// The record kind this hook writes.
    pub fn event_kind(self) -> EventKind {
        match self {
            Hook::Authenticate | Hook::Account => EventKind::Decision,
            Hook::OpenSession => EventKind::SessionOpen,
            Hook::CloseSession => EventKind::SessionClose,
        }
    }
}

/// The token text, as gathered from the invoking user's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenInput {
    /// `JIT_TOKEN` is not set.
    Absent,
    /// `JIT_TOKEN` is set once.
    Given(String),
    /// `JIT_TOKEN` is set more than once.
    Repeated,
}

/// What the module gathered about one invocation. Nothing in here is
/// trusted beyond where it came from: the token is the user's, the command
/// is as [`crate::sudo`] determined it from sudo's own data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// authenticate or acct_mgmt.
    pub hook: Hook,
    /// The real uid of the sudo process (the invoking user).
    pub uid: u32,
    /// PAM_USER.
    pub pam_user: Option<String>,
    /// PAM_RUSER.
    pub pam_ruser: Option<String>,
    /// What sudo will run, or why that could not be determined.
    pub command: Result<Determined, String>,
    /// `JIT_TOKEN` in the invoking environment.
    pub token: TokenInput,
    /// Ask through the conversation when no token is set (module argument
    /// `prompt` or `prompt = yes`).
    pub prompt: bool,
    /// `SSH_CONNECTION` is set in the invoking environment. The user
    /// controls it: it only chooses the wording of a `no_token` denial.
    pub ssh: bool,
    /// sudo's raw argv, for the record when the command cannot be
    /// determined ([`text::attempted`]); the module gathers it only then
    /// (empty otherwise, or when unreadable).
    pub argv: Vec<String>,
    /// Now, Unix seconds.
    pub now: i64,
}

/// Everything [`decide`] may consult beyond the facts. The module implements
/// it over NSS, the PAM conversation and the files named in the
/// configuration ([`ConfiguredFiles`]); tests implement it in memory.
pub trait Stores {
    /// The user name of a uid.
    fn user_name(&self, uid: u32) -> Option<String>;
    /// The canonical name of an existing user.
    fn user_by_name(&self, name: &str) -> Option<String>;
    /// The group name of a gid.
    fn group_name(&self, gid: u32) -> Option<String>;
    /// The canonical name of an existing group.
    fn group_by_name(&self, name: &str) -> Option<String>;
    /// Ask for the token through the conversation.
    fn prompt(&self, msg: &str) -> Option<String>;
    /// The host's trusted keys.
    fn trusted_keys(&self) -> Result<TrustedKeys, String>;
    /// Check a verified token against the host's revocation list.
    fn revocation(&self, keys: &TrustedKeys, now: i64, t: &TokenInfo)
        -> Result<Checked, HostError>;
    /// Count one use of a use-limited token.
    fn consume_use(&self, t: &TokenInfo, max: u32, now: i64) -> Result<Use, ReplayError>;
}

/// The file-backed part of [`Stores`]: keys, revocation list and use
/// counter at the paths the configuration names.
#[derive(Debug, Clone, Copy)]
pub struct ConfiguredFiles<'c>(pub &'c Config);

impl ConfiguredFiles<'_> {
    /// Read and parse the trusted keys (with the trusted-file rules).
    pub fn trusted_keys(&self) -> Result<TrustedKeys, String> {
        let text = crate::fs::read_secure_file(&self.0.trusted_keys, crate::config::MAX_KEYS_LEN)
            .map_err(|e| e.to_string())?;
        TrustedKeys::parse(&text).map_err(|e| e.to_string())
    }

    /// [`crate::revocation::host::check_token`] with the configured policy.
    pub fn revocation(
        &self,
        keys: &TrustedKeys,
        now: i64,
        t: &TokenInfo,
    ) -> Result<Checked, HostError> {
        let cfg = self.0;
        let policy = HostPolicy {
            list: cfg.revocation_list.clone(),
            state: cfg.revocation_state.clone(),
            lock: crate::log::lock_path_for(&cfg.state),
            missing: cfg.revocation_missing,
        };
        crate::revocation::host::check_token(&policy, keys, now, t)
    }

    /// [`crate::replay::consume`] on the configured cache.
    pub fn consume_use(&self, t: &TokenInfo, max: u32, now: i64) -> Result<Use, ReplayError> {
        let lock = crate::log::lock_path_for(&self.0.state);
        crate::replay::consume(&self.0.replay_cache, &lock, &t.cti_hex, t.exp, max, now)
    }
}

/// What was established about the invocation, whatever the verdict: the
/// audit record says as much as is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// The invoking user.
    pub user: Option<String>,
    /// The target user.
    pub run_as: Option<String>,
    /// The target group.
    pub run_as_group: Option<String>,
    /// What sudo will do.
    pub action: Option<Action>,
    /// When the command could not be determined: sudo's argv, escaped,
    /// bounded and without a token ([`text::attempted`]), for the record.
    pub attempted: Option<String>,
}

/// [`decide`]'s result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What was established on the way.
    pub seen: Seen,
    /// The answer.
    pub verdict: Verdict,
}

/// The decision for one sudo invocation (authenticate or acct_mgmt), in the
/// order of the module documentation. Total: every failure is a denial.
pub fn decide(facts: &Facts, cfg: &Config, stores: &dyn Stores) -> Decision {
    let mut seen = Seen::default();
    let verdict = match evaluate(facts, cfg, stores, &mut seen) {
        Ok(v) => v,
        Err(d) => Verdict::Deny(d),
    };
    Decision { seen, verdict }
}

fn deny<T>(code: DenyCode, message: impl Into<String>) -> Result<T, Denied> {
    Err(Denied::new(code, message))
}

fn evaluate(
    facts: &Facts,
    cfg: &Config,
    stores: &dyn Stores,
    seen: &mut Seen,
) -> Result<Verdict, Denied> {
    // 1. Who is asking: the real uid of setuid sudo, cross-checked with PAM.
    let uid = facts.uid;
    let Some(user) = stores.user_name(uid) else {
        return deny(DenyCode::UnknownUser, format!("uid {uid} has no user name"));
    };
    seen.user = Some(user.clone());
    if let Some(ruser) = &facts.pam_ruser {
        if *ruser != user {
            return deny(
                DenyCode::UserMismatch,
                format!(
                    "PAM says the requesting user is {ruser}, but the process belongs to {user}"
                ),
            );
        }
    }
    if facts.pam_user.as_deref() != Some(user.as_str()) {
        return deny(
            DenyCode::UserMismatch,
            format!(
                "PAM user {:?} is not the invoking user {user} (targetpw/rootpw are not supported)",
                facts.pam_user.clone().unwrap_or_default()
            ),
        );
    }

    // 2. What sudo is about to run, as whom.
    let determined = match &facts.command {
        Ok(d) => d,
        Err(e) => {
            seen.attempted = Some(text::attempted(&facts.argv));
            return deny(DenyCode::CommandUndetermined, e.clone());
        }
    };
    seen.action = Some(determined.action.clone());
    let run_as = match &determined.run_as_user {
        // sudoers: "if runas_group was specified without runas_user we run
        // the command as the invoking user" (sudo 1.9 and sudo-rs alike).
        RunAs::Default if determined.run_as_group.is_some() => user.clone(),
        RunAs::Default => "root".to_string(),
        RunAs::Name(n) => match stores.user_by_name(n) {
            Some(u) => u,
            None => return deny(DenyCode::UnknownRunAs, format!("no such run-as user {n:?}")),
        },
        RunAs::Id(id) => match stores.user_name(*id) {
            Some(u) => u,
            None => return deny(DenyCode::UnknownRunAs, format!("no user with uid {id}")),
        },
    };
    seen.run_as = Some(run_as.clone());
    let run_as_group = match &determined.run_as_group {
        None | Some(RunAs::Default) => None,
        Some(RunAs::Name(n)) => match stores.group_by_name(n) {
            Some(g) => Some(g),
            None => return deny(DenyCode::UnknownRunAs, format!("no such group {n:?}")),
        },
        Some(RunAs::Id(id)) => match stores.group_name(*id) {
            Some(g) => Some(g),
            None => return deny(DenyCode::UnknownRunAs, format!("no group with gid {id}")),
        },
    };
    seen.run_as_group = run_as_group.clone();

    // 3. The token: JIT_TOKEN in the invoking environment, or a prompt.
    let token_text = match &facts.token {
        TokenInput::Given(t) => t.clone(),
        TokenInput::Repeated => {
            return deny(
                DenyCode::Token(Reason::Malformed),
                "JIT_TOKEN is set more than once in your environment",
            )
        }
        TokenInput::Absent if facts.hook == Hook::Authenticate && !facts.prompt => {
            return Ok(Verdict::Abstain)
        }
        TokenInput::Absent if facts.prompt => match stores.prompt("JIT token: ") {
            Some(t) if !t.is_empty() => t,
            _ => return deny(DenyCode::NoToken, text::no_token_prompt_failed(facts.ssh)),
        },
        TokenInput::Absent => return deny(DenyCode::NoToken, text::no_token(facts.ssh)),
    };

    // 4. The keys this host trusts.
    let keys = stores.trusted_keys().map_err(|e| {
        Denied::new(
            DenyCode::KeysUnusable,
            format!("trusted keys unusable: {e}"),
        )
    })?;

    // 5. The token, and the invocation against its claims.
    let inv = Invocation {
        user,
        host_groups: cfg.host_groups.clone(),
        action: determined.action.clone(),
        run_as_user: run_as,
        run_as_group,
    };
    let now = facts.now;
    let d = token::decide(
        &token_text,
        &keys,
        now,
        &inv,
        &VerifyOptions {
            leeway_secs: cfg.leeway_secs,
        },
    );
    let token = match (d.allowed, d.token) {
        (true, Some(t)) => t,
        (_, token) => {
            let message = match (&token, d.reason) {
                (
                    Some(t),
                    Reason::CommandNotGranted | Reason::EditNotGranted | Reason::ShellNotGranted,
                ) => {
                    format!("{}; {}", d.message, text::grants_summary(t))
                }
                _ => d.message,
            };
            return Err(Denied {
                code: DenyCode::Token(if d.reason == Reason::Ok {
                    // Allowed without verified token information cannot
                    // happen (token::decide); should it, it is no approval.
                    Reason::Malformed
                } else {
                    d.reason
                }),
                message,
                token: token.map(Box::new),
            });
        }
    };
    let mut message = d.message;
    let refuse = |code: DenyCode, message: String, token: &TokenInfo| Denied {
        code,
        message,
        token: Some(Box::new(token.clone())),
    };

    // 6. The host's revocation list.
    match stores.revocation(&keys, now, &token) {
        Ok(Checked::NoList) => {}
        Ok(Checked::NotRevoked(v)) => message = format!("{message} (revocation list version {v})"),
        Ok(Checked::Revoked(v, why)) => {
            let m = crate::revocation::host::revoked_message(&token, v, why);
            return Err(refuse(DenyCode::Revoked, m, &token));
        }
        Err(e) => return Err(refuse(DenyCode::from(&e), e.to_string(), &token)),
    }

    // 7. Use limits. A break-glass token is single-use by the format
    // (max_uses 1); should one ever arrive without a limit, it counts as 1.
    // A use is counted only where something runs, and only once per sudo:
    // in acct_mgmt (authenticate runs before it, or not at all).
    let limit = if token.break_glass {
        Some(1)
    } else {
        token.max_uses
    };
    let runs = matches!(
        determined.action,
        Action::Exec { .. } | Action::Shell { .. } | Action::Edit { .. }
    );
    if let (Some(max), Hook::Account, true) = (limit, facts.hook, runs) {
        match stores.consume_use(&token, max, now) {
            Ok(u) => message = format!("{message} (use {} of {})", u.n, u.max),
            Err(e) => {
                let code = match e {
                    ReplayError::Exhausted { .. } => DenyCode::UsesExhausted,
                    ReplayError::ClockBehind { .. } => DenyCode::ClockSteppedBack,
                    _ => DenyCode::ReplayCacheUnusable,
                };
                return Err(refuse(code, e.to_string(), &token));
            }
        }
    }
    Ok(Verdict::Allow(Box::new(Allowed { token, message })))
}

#[cfg(test)]
mod tests;
