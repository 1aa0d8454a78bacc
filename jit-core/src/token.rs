//! Capability tokens: issuing, decoding and the policy decision
//! (normative spec: docs/token-format.md; section numbers below refer to it).
//!
//! A token is a tagged COSE_Sign1 carrying CWT claims, signed with Ed25519;
//! the envelope, the key check and signing are the signed-object layer it
//! shares with revocation lists ([`crate::cose`]). Here:
//!
//! - `claims.rs`: [`Claims`], their constraints and encoding, [`issue`];
//! - `grant.rs`: a command [`Grant`]: [`parse_command`], its checks, [`grant_matches`];
//! - `decode.rs`: [`decode_b64`] and [`decode`] to a [`Decoded`] token (checks 1-17);
//! - `decide.rs`: [`verify_decoded`], [`check_invocation`] and [`decide`], the
//!   pure function the PAM module calls on every sudo (checks 18-30), and
//!   what the audit log records ([`TokenInfo`]);
//! - this file: the limits and the reason codes ([`Reason`]).

mod claims;
mod decide;
mod decode;
mod grant;
pub mod vectors;

use std::fmt;

use crate::cose::Check;

pub use crate::cose::{
    assemble, cbor, encode_protected, sig_structure, sign_raw, ALG_EDDSA, COSE_SIGN1_TAG,
};
pub use crate::text::{fmt_time, hex, human_duration, printable};
pub use claims::{encode_b64, issue, issue_b64, random_cti, Claims, IssueError};
pub use decide::{
    check_invocation, decide, fuzz_decide, verify, verify_decoded, Decision, TokenInfo,
    VerifyOptions,
};
pub use decode::{decode, decode_b64, Decoded, TokenKind};
pub use grant::{grant_matches, parse_command, shell_quote, Grant};

/// Maximum decoded token length in bytes.
pub const MAX_TOKEN_LEN: usize = 8192;
/// Maximum token text length: ceil(8192 * 4 / 3).
pub const MAX_TOKEN_TEXT_LEN: usize = 10923;
/// The `typ` protected-header value.
pub const TOKEN_TYP: &str = "application/jit+cwt";
/// Largest clock leeway honoured; larger configured values are clamped so a
/// misconfiguration cannot disable expiry.
pub const MAX_LEEWAY_SECS: u64 = 600;
/// Longest lifetime (exp - nbf) a token may have, in seconds.
pub const MAX_LIFETIME_SECS: i64 = 86_400;

/// Why a token was rejected, or `Ok`. Codes are stable (§4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// Allowed.
    Ok,
    /// Over the size limit.
    Oversized,
    /// Not strict base64url without padding.
    BadBase64,
    /// Not well-formed CBOR / wrong structure or types.
    Malformed,
    /// Not deterministically encoded.
    NotCanonical,
    /// A map key appears twice.
    DuplicateKey,
    /// Bytes after the item.
    TrailingBytes,
    /// Not tagged as COSE_Sign1.
    Untagged,
    /// The unprotected header is not empty.
    UnprotectedHeader,
    /// A `crit` header is present.
    UnknownCritical,
    /// An unknown claim key.
    UnknownClaim,
    /// A required claim is missing.
    MissingClaim,
    /// A claim constraint is violated.
    InvalidClaims,
    /// Wrong `typ`.
    WrongTyp,
    /// `kid` not trusted.
    UnknownKid,
    /// Header alg differs from the pinned one.
    AlgMismatch,
    /// The key's window has not started.
    KeyNotYetValid,
    /// The key's window has ended.
    KeyExpired,
    /// The signature does not verify.
    BadSignature,
    /// nbf is in the future (beyond leeway).
    NotYetValid,
    /// exp is in the past (beyond leeway).
    Expired,
    /// sub is not the invoking user.
    WrongUser,
    /// No host group in common.
    HostNotGranted,
    /// Target user not granted.
    RunAsNotGranted,
    /// Target group not granted.
    RunAsGroupNotGranted,
    /// Command not granted.
    CommandNotGranted,
    /// Shell not granted.
    ShellNotGranted,
    /// sudoedit of a file not granted.
    EditNotGranted,
}

impl Reason {
    /// Every reason, in check order.
    pub const ALL: &'static [Reason] = &[
        Reason::Ok,
        Reason::Oversized,
        Reason::BadBase64,
        Reason::Malformed,
        Reason::NotCanonical,
        Reason::DuplicateKey,
        Reason::TrailingBytes,
        Reason::Untagged,
        Reason::UnprotectedHeader,
        Reason::UnknownCritical,
        Reason::UnknownClaim,
        Reason::MissingClaim,
        Reason::InvalidClaims,
        Reason::WrongTyp,
        Reason::UnknownKid,
        Reason::AlgMismatch,
        Reason::KeyNotYetValid,
        Reason::KeyExpired,
        Reason::BadSignature,
        Reason::NotYetValid,
        Reason::Expired,
        Reason::WrongUser,
        Reason::HostNotGranted,
        Reason::RunAsNotGranted,
        Reason::RunAsGroupNotGranted,
        Reason::CommandNotGranted,
        Reason::ShellNotGranted,
        Reason::EditNotGranted,
    ];

    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Ok => "ok",
            Reason::Oversized => "oversized",
            Reason::BadBase64 => "bad_base64",
            Reason::Malformed => "malformed",
            Reason::NotCanonical => "not_canonical",
            Reason::DuplicateKey => "duplicate_key",
            Reason::TrailingBytes => "trailing_bytes",
            Reason::Untagged => "untagged",
            Reason::UnprotectedHeader => "unprotected_header",
            Reason::UnknownCritical => "unknown_critical",
            Reason::UnknownClaim => "unknown_claim",
            Reason::MissingClaim => "missing_claim",
            Reason::InvalidClaims => "invalid_claims",
            Reason::WrongTyp => "wrong_typ",
            Reason::UnknownKid => "unknown_kid",
            Reason::AlgMismatch => "alg_mismatch",
            Reason::KeyNotYetValid => "key_not_yet_valid",
            Reason::KeyExpired => "key_expired",
            Reason::BadSignature => "bad_signature",
            Reason::NotYetValid => "not_yet_valid",
            Reason::Expired => "expired",
            Reason::WrongUser => "wrong_user",
            Reason::HostNotGranted => "host_not_granted",
            Reason::RunAsNotGranted => "run_as_not_granted",
            Reason::RunAsGroupNotGranted => "run_as_group_not_granted",
            Reason::CommandNotGranted => "command_not_granted",
            Reason::ShellNotGranted => "shell_not_granted",
            Reason::EditNotGranted => "edit_not_granted",
        }
    }

    /// The reason with this code.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.iter().copied().find(|r| r.code() == code)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl From<Check> for Reason {
    fn from(c: Check) -> Reason {
        match c {
            Check::Oversized => Reason::Oversized,
            Check::BadBase64 => Reason::BadBase64,
            Check::Malformed => Reason::Malformed,
            Check::NotCanonical => Reason::NotCanonical,
            Check::DuplicateKey => Reason::DuplicateKey,
            Check::TrailingBytes => Reason::TrailingBytes,
            Check::Untagged => Reason::Untagged,
            Check::UnprotectedHeader => Reason::UnprotectedHeader,
            Check::UnknownCritical => Reason::UnknownCritical,
            Check::WrongTyp => Reason::WrongTyp,
            Check::UnknownKid => Reason::UnknownKid,
            Check::AlgMismatch => Reason::AlgMismatch,
            Check::KeyNotYetValid => Reason::KeyNotYetValid,
            Check::KeyExpired => Reason::KeyExpired,
            Check::BadSignature => Reason::BadSignature,
        }
    }
}

/// A rejection: reason code and one human sentence.
pub type Rejection = crate::cose::Rejection<Reason>;

fn rej(reason: Reason, message: impl Into<String>) -> Rejection {
    Rejection::new(reason, message)
}

#[cfg(test)]
mod tests;
