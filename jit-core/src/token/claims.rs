//! The claims of a token (§2): their constraints, their deterministic
//! encoding, and issuing a signed token.

use super::cbor::Enc;
use super::grant::check_grant;
use super::{Grant, TokenKind, MAX_LIFETIME_SECS, MAX_TOKEN_LEN};
use crate::cose;
use crate::keys::Signer;
use crate::text::hex;

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
