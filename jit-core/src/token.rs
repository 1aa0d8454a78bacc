//! Capability tokens: issuing, decoding and the policy decision
//! (normative spec: docs/token-format.md; section numbers below refer to it).
//!
//! A token is a tagged COSE_Sign1 carrying CWT claims, signed with Ed25519.
//! [`decide`] is the pure function the PAM module calls on every sudo.

pub mod vectors;

use std::fmt;

use crate::cose::{self, Check, Fault, Kind};
use crate::invocation::{Action, Invocation};
use crate::keys::{Signer, SigningKeyWithKid, TrustedKeys};
use cbor::{CborError, Enc, Head, Reader};

pub use crate::cose::{
    assemble, cbor, encode_protected, sig_structure, sign_raw, ALG_EDDSA, COSE_SIGN1_TAG,
};
pub use crate::text::{fmt_time, hex, human_duration, printable};

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

/// Options of the verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Clock leeway applied to nbf and exp, in seconds (clamped to [`MAX_LEEWAY_SECS`]).
    pub leeway_secs: u64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions { leeway_secs: 60 }
    }
}

/// One command grant: an exact argv prefix, optionally allowing further arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// argv[0] is an absolute path, or the literal `sudoedit` followed by one absolute file.
    pub argv: Vec<String>,
    /// Further arguments after `argv` are allowed.
    pub any_args: bool,
}

impl Grant {
    /// Human rendering: shell-quoted argv, then `...` if any further arguments are allowed.
    pub fn display(&self) -> String {
        let mut s = self
            .argv
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ");
        if self.any_args {
            s.push_str(" ...");
        }
        s
    }
}

/// Quote a word the way `parse_command` reads it back.
pub fn shell_quote(a: &str) -> String {
    if !a.is_empty()
        && a != "..."
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-=:,+@%".contains(&b))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

/// The claims of a token (§2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// The Unix user allowed to use the token.
    pub sub: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Not before, Unix seconds.
    pub nbf: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Token id.
    pub cti: [u8; 16],
    /// Host groups.
    pub hosts: Vec<String>,
    /// Command grants.
    pub cmds: Vec<Grant>,
    /// Target users.
    pub run_as: Vec<String>,
    /// Target groups (`sudo -g`).
    pub run_as_groups: Vec<String>,
    /// `sudo -s` / `sudo -i` allowed.
    pub shell: bool,
    /// Why.
    pub reason: String,
    /// Ticket reference.
    pub ticket: Option<String>,
    /// Approver.
    pub approver: Option<String>,
    /// Emergency token (enforced by hosts later).
    pub break_glass: bool,
    /// Maximum number of uses (enforced by hosts later).
    pub max_uses: Option<u32>,
}

/// Parse a `--command` specification into a grant.
///
/// Words are split on unquoted whitespace; `'...'` quotes literally, `"..."`
/// quotes with `\"` and `\\` escapes, a backslash outside quotes escapes the
/// next character. A final *unquoted* word `...` means "any further
/// arguments"; a quoted `'...'` is a literal argument.
pub fn parse_command(spec: &str) -> Result<Grant, String> {
    let mut words: Vec<(String, bool)> = Vec::new(); // (word, was_quoted_anywhere)
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                quoted = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                quoted = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                quoted = true;
                match chars.next() {
                    Some(x) => cur.push(x),
                    None => return Err("backslash at end of command".into()),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push((std::mem::take(&mut cur), quoted));
                    in_word = false;
                    quoted = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push((cur, quoted));
    }
    let mut any_args = false;
    if let Some((w, q)) = words.last() {
        if w == "..." && !q {
            any_args = true;
            words.pop();
        }
    }
    if words.iter().any(|(w, q)| w == "..." && !q) {
        return Err(
            "an unquoted ... may only be the last word (quote it as '...' for a literal argument)"
                .into(),
        );
    }
    let grant = Grant {
        argv: words.into_iter().map(|(w, _)| w).collect(),
        any_args,
    };
    check_grant(&grant)?;
    Ok(grant)
}

fn check_grant(g: &Grant) -> Result<(), String> {
    let Some(first) = g.argv.first() else {
        return Err("a command grant needs at least a path".into());
    };
    if g.argv.iter().any(|a| a.contains('\0')) {
        return Err("a command argument contains NUL".into());
    }
    if first == "sudoedit" {
        if g.argv.len() != 2 || !g.argv[1].starts_with('/') {
            return Err("a sudoedit grant names exactly one absolute file".into());
        }
        if g.any_args {
            return Err("a sudoedit grant cannot allow further arguments".into());
        }
    } else if !first.starts_with('/') {
        return Err(format!(
            "command {first:?} is not an absolute path (or sudoedit)"
        ));
    }
    Ok(())
}

impl Claims {
    /// The constraints of §2 (`invalid_claims`). The issuer refuses claims
    /// failing these; the verifier rejects tokens carrying them.
    pub fn check(&self) -> Result<(), String> {
        if self.iss.is_empty() {
            return Err("iss is empty".into());
        }
        if self.sub.is_empty() {
            return Err("sub is empty".into());
        }
        if self.reason.is_empty() {
            return Err("reason is empty".into());
        }
        if self.ticket.as_deref() == Some("") {
            return Err("ticket is empty".into());
        }
        if self.approver.as_deref() == Some("") {
            return Err("approver is empty".into());
        }
        if self.iat < 0 || self.nbf < 0 || self.exp < 0 {
            return Err("negative time".into());
        }
        if self.iat > self.nbf {
            return Err("iat is later than nbf".into());
        }
        if self.nbf >= self.exp {
            return Err("nbf is not earlier than exp".into());
        }
        if self.exp - self.nbf > MAX_LIFETIME_SECS {
            return Err("lifetime exp - nbf exceeds 24 h".into());
        }
        if self.hosts.iter().any(String::is_empty) {
            return Err("empty host group".into());
        }
        if self.run_as.iter().any(String::is_empty) {
            return Err("empty run-as user".into());
        }
        if self.run_as_groups.iter().any(String::is_empty) {
            return Err("empty run-as group".into());
        }
        if self.max_uses == Some(0) {
            return Err("max_uses is 0".into());
        }
        if self.break_glass && self.max_uses != Some(1) {
            return Err("a break_glass token must be single-use (max_uses 1)".into());
        }
        for g in &self.cmds {
            check_grant(g)?;
        }
        Ok(())
    }

    /// The deterministic CBOR encoding of the claims (§2), keys in canonical order.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::with_capacity(256);
        self.encode_into(&mut e);
        e.out
    }

    fn encode_into(&self, e: &mut Enc) {
        let n = 10
            + usize::from(self.shell)
            + usize::from(self.ticket.is_some())
            + usize::from(self.approver.is_some())
            + usize::from(self.max_uses.is_some())
            + usize::from(self.break_glass)
            + usize::from(!self.run_as_groups.is_empty());
        e.map(n);
        e.head(0, 1);
        e.text(&self.iss);
        e.head(0, 2);
        e.text(&self.sub);
        e.head(0, 4);
        e.int(self.exp);
        e.head(0, 5);
        e.int(self.nbf);
        e.head(0, 6);
        e.int(self.iat);
        e.head(0, 7);
        e.bytes(&self.cti);
        e.text("cmds");
        e.array(self.cmds.len());
        for g in &self.cmds {
            e.map(1 + usize::from(g.any_args));
            e.text("argv");
            text_array(e, &g.argv);
            if g.any_args {
                e.text("any_args");
                e.bool(true);
            }
        }
        e.text("hosts");
        text_array(e, &self.hosts);
        if self.shell {
            e.text("shell");
            e.bool(true);
        }
        e.text("reason");
        e.text(&self.reason);
        e.text("run_as");
        text_array(e, &self.run_as);
        if let Some(t) = &self.ticket {
            e.text("ticket");
            e.text(t);
        }
        if let Some(a) = &self.approver {
            e.text("approver");
            e.text(a);
        }
        if let Some(m) = self.max_uses {
            e.text("max_uses");
            e.head(0, u64::from(m));
        }
        if self.break_glass {
            e.text("break_glass");
            e.bool(true);
        }
        if !self.run_as_groups.is_empty() {
            e.text("run_as_groups");
            text_array(e, &self.run_as_groups);
        }
    }

    /// The claims as JSON (for `--json` outputs).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "iss": self.iss,
            "sub": self.sub,
            "iat": self.iat,
            "nbf": self.nbf,
            "exp": self.exp,
            "cti": hex(&self.cti),
            "hosts": self.hosts,
            "cmds": self.cmds.iter().map(|g| serde_json::json!({"argv": g.argv, "any_args": g.any_args})).collect::<Vec<_>>(),
            "run_as": self.run_as,
            "run_as_groups": self.run_as_groups,
            "shell": self.shell,
            "reason": self.reason,
            "ticket": self.ticket,
            "approver": self.approver,
            "break_glass": self.break_glass,
            "max_uses": self.max_uses,
        })
    }
}

fn text_array(e: &mut Enc, v: &[String]) {
    e.array(v.len());
    for s in v {
        e.text(s);
    }
}

/// Why the issuer refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IssueError {
    /// The claims violate a constraint of the format.
    #[error("invalid claims: {0}")]
    InvalidClaims(String),
    /// The token would exceed the size limit.
    #[error("token would be {0} bytes, over the {MAX_TOKEN_LEN}-byte limit")]
    TooLarge(usize),
    /// The signing backend failed.
    #[error("signing failed: {0}")]
    Sign(#[from] crate::keys::SignError),
}

/// Issue a token: the binary COSE_Sign1. The signature is checked against
/// the signer's public key before the token is returned
/// ([`crate::keys::sign_checked`]).
pub fn issue(claims: &Claims, key: &dyn Signer) -> Result<Vec<u8>, IssueError> {
    claims.check().map_err(IssueError::InvalidClaims)?;
    cose::sign::<TokenKind>(&claims.encode(), key).map_err(|e| match e {
        cose::SignFailure::TooLarge(n) => IssueError::TooLarge(n),
        cose::SignFailure::Sign(e) => IssueError::Sign(e),
    })
}

/// Issue a token in its transport form (base64url without padding).
pub fn issue_b64(claims: &Claims, key: &dyn Signer) -> Result<String, IssueError> {
    Ok(encode_b64(&issue(claims, key)?))
}

/// The transport encoding (§1.3).
pub fn encode_b64(token: &[u8]) -> String {
    cose::encode_text::<TokenKind>(token)
}

/// 16 random bytes for `cti`.
pub fn random_cti() -> Result<[u8; 16], String> {
    let mut c = [0u8; 16];
    getrandom::fill(&mut c).map_err(|e| format!("no randomness: {e}"))?;
    Ok(c)
}

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

/// A rejection: reason code and one human sentence.
pub type Rejection = cose::Rejection<Reason>;

fn rej(reason: Reason, message: impl Into<String>) -> Rejection {
    Rejection::new(reason, message)
}

fn cbor_rej(e: CborError, part: &'static str) -> Rejection {
    cose::reject::<TokenKind>(Fault::Cbor(e, part))
}

/// A decoded (not necessarily verified) token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Header `alg`.
    pub alg: i64,
    /// Header `kid` bytes.
    pub kid: Vec<u8>,
    /// Header `typ`.
    pub typ: String,
    /// The claims.
    pub claims: Claims,
    /// The signature.
    pub signature: [u8; 64],
    /// The protected-header bytes as received.
    pub protected: Vec<u8>,
    /// The payload bytes as received.
    pub payload: Vec<u8>,
}

impl Decoded {
    /// The kid as text (lossy for display).
    pub fn kid_str(&self) -> String {
        String::from_utf8_lossy(&self.kid).into_owned()
    }

    /// The signed parts, for the checks of [`cose`].
    pub fn sign1(&self) -> cose::Sign1<'_> {
        cose::Sign1 {
            alg: self.alg,
            kid: &self.kid,
            typ: &self.typ,
            protected: &self.protected,
            payload: &self.payload,
            signature: &self.signature,
        }
    }
}

/// Tokens as a kind of signed object (§1, §4 checks 1-11, 17-23).
#[derive(Debug, Clone, Copy)]
pub struct TokenKind;

impl Kind for TokenKind {
    type Reason = Reason;
    const NAME: &'static str = "token";
    const ITEM: &'static str = "token";
    const TYP: &'static str = TOKEN_TYP;
    const MAX_LEN: usize = MAX_TOKEN_LEN;
    const MAX_TEXT_LEN: usize = MAX_TOKEN_TEXT_LEN;
    const TEXT_NEWLINE: bool = false;

    fn own_words(fault: &Fault<'_>) -> Option<String> {
        Some(match fault {
            Fault::BadBase64 => {
                "token is not base64url without padding (a copy-paste error?)".into()
            }
            Fault::NotAsIssued => "token is not encoded exactly as the issuer encodes it".into(),
            Fault::WrongTyp(t) => format!("token type is {t:?}, not a jit token"),
            Fault::KeyNotYetValid(key, secs) => format!(
                "signing key {:?} is not valid for another {}",
                key.kid,
                human_duration(*secs)
            ),
            Fault::KeyExpired(key, secs) => format!(
                "signing key {:?} expired {} ago",
                key.kid,
                human_duration(*secs)
            ),
            _ => return None,
        })
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

/// Checks 1-3 (§4): size and strict base64url.
pub fn decode_b64(token_b64: &str) -> Result<Vec<u8>, Rejection> {
    cose::decode_text::<TokenKind>(token_b64)
}

/// Checks 4-17 (§4) on a binary token: decode without verifying anything
/// cryptographic. Used by `inspect`, and by [`verify`].
pub fn decode(token: &[u8]) -> Result<Decoded, Rejection> {
    // 4-11: the whole item, the envelope, the protected header.
    let s = cose::open::<TokenKind>(token)?;
    // 12-16: claims.
    let claims = decode_claims(s.payload)?;
    // 17: re-encode and compare.
    s.check_reencoded::<TokenKind>(&claims.encode())?;
    Ok(Decoded {
        alg: s.alg,
        kid: s.kid.to_vec(),
        typ: s.typ.to_string(),
        claims,
        signature: *s.signature,
        protected: s.protected.to_vec(),
        payload: s.payload.to_vec(),
    })
}

const CLAIM_TEXT_KEYS: &[&str] = &[
    "cmds",
    "hosts",
    "shell",
    "reason",
    "run_as",
    "ticket",
    "approver",
    "max_uses",
    "break_glass",
    "run_as_groups",
];

fn decode_claims(p: &[u8]) -> Result<Claims, Rejection> {
    let what = "claims";
    cbor::validate(p, false).map_err(|e| cbor_rej(e, what))?;
    let ce = |e| cbor_rej(e, what);
    let bad = |m: &str| rej(Reason::Malformed, format!("malformed token: claim {m}"));
    let mut r = Reader::new(p);
    let Head::Map(n) = r.head().map_err(ce)? else {
        return Err(bad("set is not a map"));
    };
    let body_start = r.pos();
    // 13: every key known.
    for _ in 0..n {
        let k = r.skip().map_err(ce)?;
        let known = match k {
            [0x01] | [0x02] | [0x04] | [0x05] | [0x06] | [0x07] => true,
            [h, rest @ ..] if (0x60..0x78).contains(h) => std::str::from_utf8(rest)
                .map(|s| CLAIM_TEXT_KEYS.contains(&s))
                .unwrap_or(false),
            _ => false,
        };
        if !known {
            let name = cbor::key_name(k);
            return Err(rej(
                Reason::UnknownClaim,
                format!("token has an unknown claim {name}"),
            ));
        }
        r.skip().map_err(ce)?;
    }
    // 14: types.
    let mut r = Reader::new(p);
    let _ = r.head();
    debug_assert_eq!(r.pos(), body_start);
    let mut iss = None;
    let mut sub = None;
    let mut exp = None;
    let mut nbf = None;
    let mut iat = None;
    let mut cti: Option<&[u8]> = None;
    let mut cmds = None;
    let mut hosts = None;
    let mut shell = None;
    let mut reason = None;
    let mut run_as = None;
    let mut ticket = None;
    let mut approver = None;
    let mut max_uses = None;
    let mut break_glass = None;
    let mut run_as_groups = None;
    let mut any_args_false = false;
    for _ in 0..n {
        match r.head().map_err(ce)? {
            Head::Uint(1) => iss = Some(text(&mut r, "iss")?),
            Head::Uint(2) => sub = Some(text(&mut r, "sub")?),
            Head::Uint(4) => exp = Some(uint(&mut r, "exp")?),
            Head::Uint(5) => nbf = Some(uint(&mut r, "nbf")?),
            Head::Uint(6) => iat = Some(uint(&mut r, "iat")?),
            Head::Uint(7) => match r.head().map_err(ce)? {
                Head::Bytes(l) => cti = Some(r.take(l).map_err(ce)?),
                _ => return Err(bad("cti is not a byte string")),
            },
            Head::Text(l) => {
                let key = r.text_body(l).map_err(ce)?;
                match key {
                    "cmds" => cmds = Some(grants(&mut r, &mut any_args_false)?),
                    "hosts" => hosts = Some(texts(&mut r, "hosts")?),
                    "shell" => shell = Some(boolean(&mut r, "shell")?),
                    "reason" => reason = Some(text(&mut r, "reason")?),
                    "run_as" => run_as = Some(texts(&mut r, "run_as")?),
                    "ticket" => ticket = Some(text(&mut r, "ticket")?),
                    "approver" => approver = Some(text(&mut r, "approver")?),
                    "max_uses" => max_uses = Some(uint(&mut r, "max_uses")?),
                    "break_glass" => break_glass = Some(boolean(&mut r, "break_glass")?),
                    "run_as_groups" => run_as_groups = Some(texts(&mut r, "run_as_groups")?),
                    _ => return Err(bad("key unknown")),
                }
            }
            _ => return Err(bad("key unknown")),
        }
    }
    // 15: required claims.
    let missing = |name: &str| {
        rej(
            Reason::MissingClaim,
            format!("token lacks the required claim {name}"),
        )
    };
    let iss = iss.ok_or_else(|| missing("iss"))?;
    let sub = sub.ok_or_else(|| missing("sub"))?;
    let exp = exp.ok_or_else(|| missing("exp"))?;
    let nbf = nbf.ok_or_else(|| missing("nbf"))?;
    let iat = iat.ok_or_else(|| missing("iat"))?;
    let cti = cti.ok_or_else(|| missing("cti"))?;
    let cmds = cmds.ok_or_else(|| missing("cmds"))?;
    let hosts = hosts.ok_or_else(|| missing("hosts"))?;
    let reason = reason.ok_or_else(|| missing("reason"))?;
    let run_as = run_as.ok_or_else(|| missing("run_as"))?;
    // 16: constraints.
    let inv = |m: String| {
        rej(
            Reason::InvalidClaims,
            format!("token has invalid claims: {m}"),
        )
    };
    let time =
        |v: u64, name: &str| i64::try_from(v).map_err(|_| inv(format!("{name} is out of range")));
    let exp = time(exp, "exp")?;
    let nbf = time(nbf, "nbf")?;
    let iat = time(iat, "iat")?;
    let cti: [u8; 16] = cti
        .try_into()
        .map_err(|_| inv("cti is not 16 bytes".into()))?;
    if shell == Some(false) || break_glass == Some(false) || any_args_false {
        return Err(inv("an optional flag is present as false".into()));
    }
    if cmds.iter().any(|g: &Grant| g.argv.is_empty()) {
        return Err(inv("a grant has an empty argv".into()));
    }
    if run_as_groups
        .as_ref()
        .is_some_and(|g: &Vec<String>| g.is_empty())
    {
        return Err(inv("run_as_groups is present but empty".into()));
    }
    let max_uses = match max_uses {
        None => None,
        Some(m) => Some(
            u32::try_from(m)
                .ok()
                .filter(|&m| m >= 1)
                .ok_or_else(|| inv("max_uses is out of range".into()))?,
        ),
    };
    let claims = Claims {
        iss: iss.to_string(),
        sub: sub.to_string(),
        iat,
        nbf,
        exp,
        cti,
        hosts,
        cmds,
        run_as,
        run_as_groups: run_as_groups.unwrap_or_default(),
        shell: shell.unwrap_or(false),
        reason: reason.to_string(),
        ticket: ticket.map(str::to_string),
        approver: approver.map(str::to_string),
        break_glass: break_glass.unwrap_or(false),
        max_uses,
    };
    claims.check().map_err(inv)?;
    Ok(claims)
}

fn type_err(name: &str, want: &str) -> Rejection {
    rej(
        Reason::Malformed,
        format!("malformed token: claim {name} is not {want}"),
    )
}

fn text<'a>(r: &mut Reader<'a>, name: &str) -> Result<&'a str, Rejection> {
    match r.head() {
        Ok(Head::Text(l)) => r.text_body(l).map_err(|e| cbor_rej(e, "claims")),
        _ => Err(type_err(name, "a text string")),
    }
}

fn uint(r: &mut Reader<'_>, name: &str) -> Result<u64, Rejection> {
    match r.head() {
        Ok(Head::Uint(v)) => Ok(v),
        _ => Err(type_err(name, "an unsigned integer")),
    }
}

fn boolean(r: &mut Reader<'_>, name: &str) -> Result<bool, Rejection> {
    match r.head() {
        Ok(Head::Bool(b)) => Ok(b),
        _ => Err(type_err(name, "a boolean")),
    }
}

fn texts(r: &mut Reader<'_>, name: &str) -> Result<Vec<String>, Rejection> {
    let Ok(Head::Array(n)) = r.head() else {
        return Err(type_err(name, "an array of text strings"));
    };
    let mut v = Vec::with_capacity(n.min(64) as usize);
    for _ in 0..n {
        v.push(
            text(r, name)
                .map_err(|_| type_err(name, "an array of text strings"))?
                .to_string(),
        );
    }
    Ok(v)
}

fn grants(r: &mut Reader<'_>, explicit_false: &mut bool) -> Result<Vec<Grant>, Rejection> {
    let want = "an array of grant maps {\"argv\": [text...], ? \"any_args\": true}";
    let Ok(Head::Array(n)) = r.head() else {
        return Err(type_err("cmds", want));
    };
    let mut v = Vec::with_capacity(n.min(64) as usize);
    for _ in 0..n {
        let m = match r.head() {
            Ok(Head::Map(m)) if m == 1 || m == 2 => m,
            _ => return Err(type_err("cmds", want)),
        };
        let mut argv = None;
        let mut any_args = None;
        for _ in 0..m {
            let key = text(r, "cmds").map_err(|_| type_err("cmds", want))?;
            match key {
                "argv" => argv = Some(texts(r, "cmds").map_err(|_| type_err("cmds", want))?),
                "any_args" => {
                    any_args = Some(boolean(r, "cmds").map_err(|_| type_err("cmds", want))?)
                }
                _ => return Err(type_err("cmds", want)),
            }
        }
        let Some(argv) = argv else {
            return Err(type_err("cmds", want));
        };
        *explicit_false |= any_args == Some(false);
        v.push(Grant {
            argv,
            any_args: any_args.unwrap_or(false),
        });
    }
    Ok(v)
}

/// What the audit log records about a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// cti as lower-case hex.
    pub cti_hex: String,
    /// Issuer.
    pub iss: String,
    /// Subject.
    pub sub: String,
    /// Key id.
    pub kid: String,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
    /// Reason text.
    pub reason: String,
    /// Ticket.
    pub ticket: Option<String>,
    /// Approver.
    pub approver: Option<String>,
    /// Break-glass flag.
    pub break_glass: bool,
    /// Max uses.
    pub max_uses: Option<u32>,
}

impl TokenInfo {
    fn from_decoded(d: &Decoded) -> Self {
        let c = &d.claims;
        TokenInfo {
            cti_hex: hex(&c.cti),
            iss: c.iss.clone(),
            sub: c.sub.clone(),
            kid: d.kid_str(),
            iat: c.iat,
            nbf: c.nbf,
            exp: c.exp,
            reason: c.reason.clone(),
            ticket: c.ticket.clone(),
            approver: c.approver.clone(),
            break_glass: c.break_glass,
            max_uses: c.max_uses,
        }
    }
}

/// A policy decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether sudo may proceed.
    pub allowed: bool,
    /// Why (Reason::Ok when allowed).
    pub reason: Reason,
    /// One human sentence.
    pub message: String,
    /// Some once the signature has verified.
    pub token: Option<TokenInfo>,
}

/// Checks 18-25 (§4) on a decoded token: typ, key, signature, time.
pub fn verify_decoded(
    d: &Decoded,
    keys: &TrustedKeys,
    now_unix: i64,
    opts: &VerifyOptions,
) -> Result<(), Rejection> {
    let s = d.sign1();
    // 18: typ.
    s.check_typ::<TokenKind>()?;
    // 19-23: key and signature.
    s.verify::<TokenKind>(keys, now_unix)?;
    // 24-25: time.
    let c = &d.claims;
    let leeway = i128::from(opts.leeway_secs.min(MAX_LEEWAY_SECS));
    let now = i128::from(now_unix);
    if now + leeway < i128::from(c.nbf) {
        return Err(rej(
            Reason::NotYetValid,
            format!(
                "token not valid for another {}",
                human_duration(c.nbf.abs_diff(now_unix))
            ),
        ));
    }
    if now - leeway >= i128::from(c.exp) {
        return Err(rej(
            Reason::Expired,
            format!(
                "token expired {} ago",
                human_duration(now_unix.abs_diff(c.exp))
            ),
        ));
    }
    Ok(())
}

/// Checks 1-25: everything except the invocation.
pub fn verify(
    token_b64: &str,
    keys: &TrustedKeys,
    now_unix: i64,
    opts: &VerifyOptions,
) -> Result<Decoded, Rejection> {
    let bytes = decode_b64(token_b64)?;
    let d = decode(&bytes)?;
    verify_decoded(&d, keys, now_unix, opts)?;
    Ok(d)
}

/// Checks 26-30: the invocation against verified claims.
pub fn check_invocation(c: &Claims, inv: &Invocation) -> Result<(), Rejection> {
    if c.sub != inv.user {
        return Err(rej(
            Reason::WrongUser,
            format!("this token is for {}", c.sub),
        ));
    }
    if !c.hosts.iter().any(|h| inv.host_groups.contains(h)) {
        return Err(rej(
            Reason::HostNotGranted,
            format!(
                "this token is for host groups [{}]; this host is in [{}]",
                c.hosts.join(", "),
                inv.host_groups.join(", ")
            ),
        ));
    }
    if !c.run_as.contains(&inv.run_as_user) {
        return Err(rej(
            Reason::RunAsNotGranted,
            format!(
                "this token does not allow running as {} (allowed: [{}])",
                inv.run_as_user,
                c.run_as.join(", ")
            ),
        ));
    }
    if let Some(g) = &inv.run_as_group {
        if !c.run_as_groups.contains(g) {
            return Err(rej(
                Reason::RunAsGroupNotGranted,
                format!("this token does not allow running as group {g}"),
            ));
        }
    }
    match &inv.action {
        Action::List | Action::Validate => Ok(()),
        Action::Exec { argv } => {
            if c.cmds.iter().any(|g| grant_matches(g, argv)) {
                Ok(())
            } else {
                Err(rej(
                    Reason::CommandNotGranted,
                    format!(
                        "command not granted: {}",
                        argv.iter()
                            .map(|a| shell_quote(a))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                ))
            }
        }
        Action::Shell { login, .. } => {
            if c.shell {
                Ok(())
            } else {
                Err(rej(
                    Reason::ShellNotGranted,
                    format!(
                        "this token does not grant a {}shell",
                        if *login { "login " } else { "" }
                    ),
                ))
            }
        }
        Action::Edit { files } => {
            if files.is_empty() {
                return Err(rej(Reason::EditNotGranted, "sudoedit without a file"));
            }
            for f in files {
                let ok = c.cmds.iter().any(|g| {
                    !g.any_args && g.argv.len() == 2 && g.argv[0] == "sudoedit" && g.argv[1] == *f
                });
                if !ok {
                    return Err(rej(
                        Reason::EditNotGranted,
                        format!("sudoedit not granted for {f}"),
                    ));
                }
            }
            Ok(())
        }
    }
}

/// Exact argv matching (§3).
pub fn grant_matches(g: &Grant, argv: &[String]) -> bool {
    if g.argv.first().map(String::as_str) == Some("sudoedit") {
        return false;
    }
    let n = g.argv.len();
    if argv.len() < n || (argv.len() > n && !g.any_args) {
        return false;
    }
    g.argv.iter().zip(argv).all(|(a, b)| a == b)
}

/// The policy decision for one sudo invocation (§4). Pure and total: never
/// panics, every failure is a denial with a reason.
pub fn decide(
    token_b64: &str,
    keys: &TrustedKeys,
    now_unix: i64,
    inv: &Invocation,
    opts: &VerifyOptions,
) -> Decision {
    let d = match verify(token_b64, keys, now_unix, opts) {
        Ok(d) => d,
        Err(r) => {
            return Decision {
                allowed: false,
                reason: r.reason,
                message: r.message,
                token: None,
            }
        }
    };
    let info = Some(TokenInfo::from_decoded(&d));
    match check_invocation(&d.claims, inv) {
        Ok(()) => Decision {
            allowed: true,
            reason: Reason::Ok,
            message: format!(
                "allowed by token {} ({}), expires in {}",
                hex(&d.claims.cti),
                d.claims.reason,
                human_duration(d.claims.exp.abs_diff(now_unix))
            ),
            token: info,
        },
        Err(r) => Decision {
            allowed: false,
            reason: r.reason,
            message: r.message,
            token: info,
        },
    }
}

/// Fuzzing entry point: `data` as a binary token and, if UTF-8, as token text.
/// Checks that nothing panics, that whatever [`decode`] accepts re-assembles to
/// exactly the input (so only issuer-identical bytes are accepted), and that
/// no decision allows without verified token information.
#[doc(hidden)]
pub fn fuzz_decide(data: &[u8]) {
    let mut keys = TrustedKeys::default();
    if let Ok(k) = SigningKeyWithKid::from_seed("fuzz", &[1; 32]) {
        keys.insert(k.trusted_key());
    }
    let inv = Invocation {
        user: "alice".into(),
        host_groups: vec!["web".into()],
        action: Action::Exec {
            argv: vec!["/bin/true".into()],
        },
        run_as_user: "root".into(),
        run_as_group: None,
    };
    if let Ok(d) = decode(data) {
        assert_eq!(assemble(&d.protected, &d.payload, &d.signature), data);
    }
    for text in [
        Some(encode_b64(data)),
        std::str::from_utf8(data).ok().map(str::to_string),
    ]
    .into_iter()
    .flatten()
    {
        let d = decide(&text, &keys, 1_800_000_000, &inv, &VerifyOptions::default());
        assert!(!d.allowed || d.token.is_some());
        assert_eq!(d.allowed, d.reason == Reason::Ok);
    }
}

#[cfg(test)]
mod tests;
