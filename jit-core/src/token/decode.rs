//! Decoding a token (§4 checks 1-17): the text form and the envelope through
//! [`crate::cose`], then the claims, strictly.

use super::cbor::{self, CborError, Head, Reader};
use super::{rej, Claims, Grant, Reason, Rejection, MAX_TOKEN_LEN, MAX_TOKEN_TEXT_LEN, TOKEN_TYP};
use crate::cose::{self, Fault, Kind};
use crate::text::human_duration;

fn cbor_rej(e: CborError, part: &'static str) -> Rejection {
    cose::reject::<TokenKind>(Fault::Cbor(e, part))
}

/// A decoded (not necessarily verified) token: its envelope (header, bytes
/// as received, signature; reached through `Deref`) and its claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The envelope.
    pub signed: cose::Signed,
    /// The claims.
    pub claims: Claims,
}

impl std::ops::Deref for Decoded {
    type Target = cose::Signed;
    fn deref(&self) -> &cose::Signed {
        &self.signed
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

/// Checks 1-3 (§4): size and strict base64url.
pub fn decode_b64(token_b64: &str) -> Result<Vec<u8>, Rejection> {
    cose::decode_text::<TokenKind>(token_b64)
}

/// Checks 4-17 (§4) on a binary token: decode without verifying anything
/// cryptographic. Used by `inspect`, and by [`super::verify`].
pub fn decode(token: &[u8]) -> Result<Decoded, Rejection> {
    // 4-11: the whole item, the envelope, the protected header.
    let s = cose::open::<TokenKind>(token)?;
    // 12-16: claims.
    let claims = decode_claims(s.payload)?;
    // 17: re-encode and compare.
    s.check_reencoded::<TokenKind>(&claims.encode())?;
    Ok(Decoded {
        signed: s.to_signed(),
        claims,
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
    // 13: every key known.
    if let Some(k) = cbor::unknown_key(p, &[1, 2, 4, 5, 6, 7], CLAIM_TEXT_KEYS).map_err(ce)? {
        return Err(rej(
            Reason::UnknownClaim,
            format!("token has an unknown claim {}", cbor::key_name(k)),
        ));
    }
    // 14: types.
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
