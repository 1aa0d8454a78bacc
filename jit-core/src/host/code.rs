//! Every reason code the module gives, the verdict, and the one mapping of
//! each to a PAM answer and to a record's durability.

use std::fmt;

use super::Hook;
use crate::log::Durability;
use crate::revocation::host::HostError;
use crate::token::{Reason, TokenInfo};

/// Why an invocation was refused: every reason code the module writes, in
/// one enum. Codes are stable (docs/pam-module.md, "Reason codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DenyCode {
    /// The token, or the invocation against its claims (docs/token-format.md §4).
    Token(Reason),
    /// The real uid has no user name.
    UnknownUser,
    /// PAM's user is not the process's.
    UserMismatch,
    /// What sudo will run could not be determined with certainty.
    CommandUndetermined,
    /// The run-as user or group does not exist.
    UnknownRunAs,
    /// No token was given.
    NoToken,
    /// The trusted-keys file is unsafe or unparsable.
    KeysUnusable,
    /// The token is on the host's revocation list.
    Revoked,
    /// A required revocation list is missing.
    RevocationListMissing,
    /// The revocation list is unsafe or fails verification.
    RevocationListInvalid,
    /// The revocation list is older than one already accepted.
    RevocationRollback,
    /// Two different lists with one version.
    RevocationEquivocation,
    /// The anti-rollback state is unusable.
    RevocationStateUnusable,
    /// A use-limited token has no use left on this host.
    UsesExhausted,
    /// The host clock was stepped back past this token's pruning horizon.
    ClockSteppedBack,
    /// The use counter is unusable.
    ReplayCacheUnusable,
    /// The decision could not be recorded, so the answer is no.
    AuditLogUnwritable,
    /// The configuration file is unusable.
    ConfigUnusable,
    /// The PAM stack line's arguments are unusable.
    ModuleArgsInvalid,
    /// open_session without an approval by acct_mgmt in this transaction.
    NoDecision,
    /// The session's target user is not the approved run-as user.
    RunAsMismatch,
    /// The approval could not be kept for the session hooks.
    SessionUnkept,
}

impl DenyCode {
    /// Every host refusal (token reasons apart: see [`Reason::ALL`]).
    pub const HOST: &'static [DenyCode] = &[
        DenyCode::UnknownUser,
        DenyCode::UserMismatch,
        DenyCode::CommandUndetermined,
        DenyCode::UnknownRunAs,
        DenyCode::NoToken,
        DenyCode::KeysUnusable,
        DenyCode::Revoked,
        DenyCode::RevocationListMissing,
        DenyCode::RevocationListInvalid,
        DenyCode::RevocationRollback,
        DenyCode::RevocationEquivocation,
        DenyCode::RevocationStateUnusable,
        DenyCode::UsesExhausted,
        DenyCode::ClockSteppedBack,
        DenyCode::ReplayCacheUnusable,
        DenyCode::AuditLogUnwritable,
        DenyCode::ConfigUnusable,
        DenyCode::ModuleArgsInvalid,
        DenyCode::NoDecision,
        DenyCode::RunAsMismatch,
        DenyCode::SessionUnkept,
    ];

    /// The stable reason code written to the audit log and syslog.
    pub fn code(self) -> &'static str {
        match self {
            DenyCode::Token(r) => r.code(),
            DenyCode::UnknownUser => "unknown_user",
            DenyCode::UserMismatch => "user_mismatch",
            DenyCode::CommandUndetermined => "command_undetermined",
            DenyCode::UnknownRunAs => "unknown_run_as",
            DenyCode::NoToken => "no_token",
            DenyCode::KeysUnusable => "keys_unusable",
            DenyCode::Revoked => "revoked",
            DenyCode::RevocationListMissing => "revocation_list_missing",
            DenyCode::RevocationListInvalid => "revocation_list_invalid",
            DenyCode::RevocationRollback => "revocation_rollback",
            DenyCode::RevocationEquivocation => "revocation_equivocation",
            DenyCode::RevocationStateUnusable => "revocation_state_unusable",
            DenyCode::UsesExhausted => "uses_exhausted",
            DenyCode::ClockSteppedBack => "clock_stepped_back",
            DenyCode::ReplayCacheUnusable => "replay_cache_unusable",
            DenyCode::AuditLogUnwritable => "audit_log_unwritable",
            DenyCode::ConfigUnusable => "config_unusable",
            DenyCode::ModuleArgsInvalid => "module_args_invalid",
            DenyCode::NoDecision => "no_decision",
            DenyCode::RunAsMismatch => "run_as_mismatch",
            DenyCode::SessionUnkept => "session_unkept",
        }
    }

    /// The code with this string (token reasons included, `ok` excluded).
    pub fn from_code(code: &str) -> Option<DenyCode> {
        DenyCode::HOST
            .iter()
            .copied()
            .find(|c| c.code() == code)
            .or_else(|| {
                Reason::from_code(code)
                    .filter(|r| *r != Reason::Ok)
                    .map(DenyCode::Token)
            })
    }
}

impl fmt::Display for DenyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl From<&HostError> for DenyCode {
    fn from(e: &HostError) -> DenyCode {
        match e {
            HostError::Missing(_) => DenyCode::RevocationListMissing,
            HostError::Invalid { .. } => DenyCode::RevocationListInvalid,
            HostError::Rollback { .. } => DenyCode::RevocationRollback,
            HostError::Equivocation { .. } => DenyCode::RevocationEquivocation,
            HostError::State { .. } => DenyCode::RevocationStateUnusable,
        }
    }
}

/// A refusal: one code, one sentence for the user (without the `jit:
/// denied:` prefix), and the token when it had verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// Why.
    pub code: DenyCode,
    /// What happened and, where there is something to do, what.
    pub message: String,
    /// The token, once its signature had verified.
    pub token: Option<Box<TokenInfo>>,
}

impl Denied {
    /// A refusal with no verified token.
    pub fn new(code: DenyCode, message: impl Into<String>) -> Denied {
        Denied {
            code,
            message: message.into(),
            token: None,
        }
    }

    /// What sudo shows the user.
    pub fn sentence(&self) -> String {
        format!("jit: denied: {}", self.message)
    }
}

/// An approval: the token that grants it and the sentence for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// The verified token.
    pub token: TokenInfo,
    /// "allowed by token ... (revocation list version N) (use n of m)".
    pub message: String,
}

/// The answer for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// authenticate without a token and without a prompt: not this module's
    /// business (the next module asks for the password).
    Abstain,
    /// sudo may proceed (boxed: the verified token is large, a denial small).
    Allow(Box<Allowed>),
    /// sudo must not proceed.
    Deny(Denied),
}

/// What a hook answers PAM, before the FFI layer turns it into a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PamAnswer {
    /// `PAM_SUCCESS`.
    Success,
    /// `PAM_IGNORE`.
    Ignore,
    /// `PAM_AUTH_ERR`.
    AuthErr,
    /// `PAM_PERM_DENIED`.
    PermDenied,
}

impl PamAnswer {
    /// A denial's answer in `hook` (the one place). In acct_mgmt
    /// `PAM_AUTH_ERR` would make sudo ask "is your account locked?"; in
    /// open_session `PAM_SESSION_ERR` is ignored by sudo (the command runs):
    /// a denial is `PAM_PERM_DENIED` there.
    pub fn denial(hook: Hook) -> Self {
        match hook {
            Hook::Authenticate => PamAnswer::AuthErr,
            _ => PamAnswer::PermDenied,
        }
    }
}

impl Verdict {
    /// The PAM answer for this verdict in `hook` ([`PamAnswer::denial`] for a denial).
    pub fn answer(&self, hook: Hook) -> PamAnswer {
        match (self, hook) {
            (Verdict::Allow(_), _) => PamAnswer::Success,
            (Verdict::Abstain, _) => PamAnswer::Ignore,
            (Verdict::Deny(_), _) => PamAnswer::denial(hook),
        }
    }

    /// The reason code of the record: `ok` when allowed.
    pub fn code(&self) -> &'static str {
        match self {
            Verdict::Allow(_) | Verdict::Abstain => Reason::Ok.code(),
            Verdict::Deny(d) => d.code.code(),
        }
    }

    /// The token behind the verdict, when it verified.
    pub fn token(&self) -> Option<&TokenInfo> {
        match self {
            Verdict::Allow(a) => Some(&a.token),
            Verdict::Deny(d) => d.token.as_deref(),
            Verdict::Abstain => None,
        }
    }

    /// Is this an approval?
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allow(_))
    }

    /// How its record is written (docs/log-format.md, "Durability"): an
    /// approval is on disk before the module says yes ("no audit, no
    /// root"); a refusal is written before the module answers, and reaches
    /// the disk with the next approval's flush or the kernel's writeback.
    pub fn durability(&self) -> Durability {
        if self.is_allowed() {
            Durability::Flushed
        } else {
            Durability::Written
        }
    }
}

/// How session records are written: before the hook returns, not waited
/// for (the command they bracket was approved by a flushed record).
pub const SESSION_RECORDS: Durability = Durability::Written;
