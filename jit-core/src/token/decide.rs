//! The policy decision (§4 checks 18-30): typ, key, signature and time on a
//! decoded token, then the invocation against its claims.

use super::{
    decode, decode_b64, encode_b64, grant_matches, rej, shell_quote, Claims, Decoded, Grant,
    Reason, Rejection, TokenKind, MAX_LEEWAY_SECS,
};
use crate::cose::assemble;
use crate::invocation::{Action, Invocation};
use crate::keys::{SigningKeyWithKid, TrustedKeys};
use crate::text::{hex, human_duration};

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
    /// The command grants (what a command denial lists; never recorded).
    pub grants: Vec<Grant>,
    /// A shell is granted.
    pub shell: bool,
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
            grants: c.cmds.clone(),
            shell: c.shell,
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
