//! The signed-object layer tokens and revocation lists share: a tagged
//! COSE_Sign1 (RFC 9052) signed with Ed25519, in deterministic CBOR
//! ([`cbor`]), carried as base64url text.
//!
//! docs/token-format.md §1 defines the envelope, the protected header and the
//! exact bytes signed; docs/revocation.md §1 reuses them with its own `typ`.
//! What differs between the two is a [`Kind`]: its `typ`, its size limits,
//! its reason codes and the wording of a few messages. Everything else is
//! here once: the text form ([`decode_text`]), the envelope and protected
//! header ([`open`]), the re-encoding check ([`Sign1::check_reencoded`]), the
//! key and signature check ([`Sign1::verify`]) and signing ([`sign`]).
//!
//! Each check produces a [`Fault`]; [`reject`] turns it into the kind's
//! reason code (through [`Check`], the codes both formats share) and one
//! human sentence.

pub mod cbor;
mod fault;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::Signer as _;

use crate::keys::{KeyRefusal, SignError, Signer, SigningKeyWithKid, TrustedKey, TrustedKeys};
use cbor::{Enc, Head, Reader};

pub use fault::{reject, Check, Fault, Rejection};

/// COSE tag of COSE_Sign1.
pub const COSE_SIGN1_TAG: u64 = 18;
/// COSE algorithm id of EdDSA (Ed25519).
pub const ALG_EDDSA: i64 = -8;

// Header labels (RFC 9052 / RFC 9596).
const H_ALG: u64 = 1;
const H_CRIT: u64 = 2;
const H_KID: u64 = 4;
const H_TYP: u64 = 16;

/// A kind of signed object (a token, a revocation list): what the shared
/// layer needs to know about it.
pub trait Kind {
    /// The kind's reason codes; each shared check maps to one of them.
    type Reason: From<Check>;
    /// How messages name an object of this kind ("token").
    const NAME: &'static str;
    /// How CBOR faults of the whole item name it ("token", "list").
    const ITEM: &'static str;
    /// The protected header's `typ`.
    const TYP: &'static str;
    /// Largest binary object, in bytes.
    const MAX_LEN: usize;
    /// Longest text form, in characters, checked before decoding.
    const MAX_TEXT_LEN: usize;
    /// The text form ends in one newline: written always, accepted but not required.
    const TEXT_NEWLINE: bool;

    /// This kind's sentence for `fault` where it words it differently from
    /// the shared sentence ([`Fault::sentence`]); `None` keeps that one.
    fn own_words(fault: &Fault<'_>) -> Option<String> {
        let _ = fault;
        None
    }
}

/// The text form: base64url without padding, and one newline if the kind
/// has one (docs/token-format.md §1.3, docs/revocation.md §1.3).
pub fn encode_text<K: Kind>(object: &[u8]) -> String {
    let mut s = URL_SAFE_NO_PAD.encode(object);
    if K::TEXT_NEWLINE {
        s.push('\n');
    }
    s
}

/// Checks 1-3 of both formats: text length, strict base64url without
/// padding (zero trailing bits, not empty; one final `\n` if the kind has
/// one), decoded length.
pub fn decode_text<K: Kind>(text: &str) -> Result<Vec<u8>, Rejection<K::Reason>> {
    if text.len() > K::MAX_TEXT_LEN {
        return Err(reject::<K>(Fault::TextTooLong(text.len())));
    }
    let body = if K::TEXT_NEWLINE {
        text.strip_suffix('\n').unwrap_or(text)
    } else {
        text
    };
    if body.is_empty() {
        return Err(reject::<K>(Fault::EmptyText));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| reject::<K>(Fault::BadBase64))?;
    check_len::<K>(&bytes)?;
    Ok(bytes)
}

/// The size limit on a binary object.
pub fn check_len<K: Kind>(object: &[u8]) -> Result<(), Rejection<K::Reason>> {
    if object.len() > K::MAX_LEN {
        return Err(reject::<K>(Fault::TooLarge(object.len())));
    }
    Ok(())
}

/// A COSE_Sign1 taken apart by [`open`], or borrowed from a decoded object:
/// the byte strings as they are in the item, and the protected header.
#[derive(Debug, Clone, Copy)]
pub struct Sign1<'a> {
    /// Header `alg`.
    pub alg: i64,
    /// Header `kid` bytes.
    pub kid: &'a [u8],
    /// Header `typ`.
    pub typ: &'a str,
    /// The protected-header bytes.
    pub protected: &'a [u8],
    /// The payload bytes.
    pub payload: &'a [u8],
    /// The signature.
    pub signature: &'a [u8; 64],
}

/// A decoded signed object's envelope, owned: what a decoded token and a
/// decoded list both carry beside their payload (and reach through `Deref`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// Header `alg`.
    pub alg: i64,
    /// Header `kid` bytes.
    pub kid: Vec<u8>,
    /// Header `typ`.
    pub typ: String,
    /// The signature.
    pub signature: [u8; 64],
    /// The protected-header bytes as received.
    pub protected: Vec<u8>,
    /// The payload bytes as received.
    pub payload: Vec<u8>,
}

impl Signed {
    /// The kid as text (lossy for display).
    pub fn kid_str(&self) -> String {
        String::from_utf8_lossy(&self.kid).into_owned()
    }

    /// The signed parts, for the checks of this module.
    pub fn sign1(&self) -> Sign1<'_> {
        Sign1 {
            alg: self.alg,
            kid: &self.kid,
            typ: &self.typ,
            protected: &self.protected,
            payload: &self.payload,
            signature: &self.signature,
        }
    }
}

impl Sign1<'_> {
    /// An owned copy of the envelope.
    pub fn to_signed(&self) -> Signed {
        Signed {
            alg: self.alg,
            kid: self.kid.to_vec(),
            typ: self.typ.to_string(),
            signature: *self.signature,
            protected: self.protected.to_vec(),
            payload: self.payload.to_vec(),
        }
    }
}

/// The envelope and protected header (token-format §4 checks 4-11,
/// revocation §4 checks 4-9): one well-formed deterministic CBOR item,
/// tag 18, an array of 4 — protected header bytes, an empty unprotected map,
/// payload bytes, a 64-byte signature; the protected header a map of exactly
/// alg (an integer), kid (1 to 64 bytes) and typ (text), and no `crit`,
/// which is looked for first, anywhere in the map. `typ` is not checked:
/// when is up to the kind ([`Sign1::check_typ`]).
pub fn open<K: Kind>(item: &[u8]) -> Result<Sign1<'_>, Rejection<K::Reason>> {
    let (protected, payload, signature) = envelope(item, K::ITEM).map_err(reject::<K>)?;
    let (alg, kid, typ) = protected_header(protected).map_err(reject::<K>)?;
    Ok(Sign1 {
        alg,
        kid,
        typ,
        protected,
        payload,
        signature,
    })
}

type Parts<'a> = (&'a [u8], &'a [u8], &'a [u8; 64]);

fn envelope<'a>(item: &'a [u8], part: &'static str) -> Result<Parts<'a>, Fault<'a>> {
    let cbor = |e| Fault::Cbor(e, part);
    let bad = |m: &str| Fault::Malformed(m.to_string());
    cbor::validate(item, true).map_err(cbor)?;
    let mut r = Reader::new(item);
    let h = r.head().map_err(cbor)?;
    match h {
        Head::Tag(COSE_SIGN1_TAG) => {}
        Head::Tag(t) => return Err(bad(&format!("tag {t} is not COSE_Sign1 (18)"))),
        _ => return Err(Fault::Untagged(h.kind())),
    }
    if r.head().map_err(cbor)? != Head::Array(4) {
        return Err(bad("COSE_Sign1 is not an array of 4"));
    }
    let protected = match r.head().map_err(cbor)? {
        Head::Bytes(n) => r.take(n).map_err(cbor)?,
        _ => return Err(bad("protected header is not a byte string")),
    };
    match r.head().map_err(cbor)? {
        Head::Map(0) => {}
        Head::Map(_) => return Err(Fault::UnprotectedHeader),
        _ => return Err(bad("unprotected header is not a map")),
    }
    let payload = match r.head().map_err(cbor)? {
        Head::Bytes(n) => r.take(n).map_err(cbor)?,
        _ => return Err(bad("payload is not a byte string")),
    };
    let signature: &[u8; 64] = match r.head().map_err(cbor)? {
        Head::Bytes(n) => r
            .take(n)
            .map_err(cbor)?
            .try_into()
            .map_err(|_| bad("signature is not 64 bytes"))?,
        _ => return Err(bad("signature is not a byte string")),
    };
    Ok((protected, payload, signature))
}

fn protected_header(p: &[u8]) -> Result<(i64, &[u8], &str), Fault<'_>> {
    let part = "protected header";
    let cbor = |e| Fault::Cbor(e, part);
    let bad = |m: &str| Fault::Malformed(format!("{part}: {m}"));
    cbor::validate(p, false).map_err(cbor)?;
    let mut r = Reader::new(p);
    let Head::Map(n) = r.head().map_err(cbor)? else {
        return Err(bad("not a map"));
    };
    // crit, anywhere in the map.
    let start = r.pos();
    for _ in 0..n {
        let k = r.skip().map_err(cbor)?;
        r.skip().map_err(cbor)?;
        if k == [H_CRIT as u8] {
            return Err(Fault::Critical);
        }
    }
    // Labels 1, 4, 16 with the right types.
    let mut r = Reader::new(p);
    let _ = r.head();
    debug_assert_eq!(r.pos(), start);
    let (mut alg, mut kid, mut typ) = (None, None, None);
    for _ in 0..n {
        match r.head().map_err(cbor)? {
            Head::Uint(H_ALG) => match r.head().map_err(cbor)? {
                Head::Uint(v) if v <= i64::MAX as u64 => alg = Some(v as i64),
                Head::Nint(v) if v < i64::MAX as u64 => alg = Some(-1 - v as i64),
                _ => return Err(bad("alg is not an integer")),
            },
            Head::Uint(H_KID) => match r.head().map_err(cbor)? {
                Head::Bytes(l) if (1..=64).contains(&l) => kid = Some(r.take(l).map_err(cbor)?),
                _ => return Err(bad("kid is not a byte string of 1 to 64 bytes")),
            },
            Head::Uint(H_TYP) => match r.head().map_err(cbor)? {
                Head::Text(l) => typ = Some(r.text_body(l).map_err(cbor)?),
                _ => return Err(bad("typ is not a text string")),
            },
            _ => return Err(bad("unexpected header parameter (only alg, kid, typ)")),
        }
    }
    match (alg, kid, typ) {
        (Some(a), Some(k), Some(t)) => Ok((a, k, t)),
        _ => Err(bad("alg, kid and typ are all required")),
    }
}

impl<'a> Sign1<'a> {
    /// `typ` is the kind's (`wrong_typ`).
    pub fn check_typ<K: Kind>(&self) -> Result<(), Rejection<K::Reason>> {
        if self.typ != K::TYP {
            return Err(reject::<K>(Fault::WrongTyp(self.typ)));
        }
        Ok(())
    }

    /// Re-encoding the header and the decoded payload (`payload`, encoded by
    /// the issuer's encoder) gives the bytes received (`not_canonical`), so
    /// only what jit-signer would have produced is accepted.
    pub fn check_reencoded<K: Kind>(&self, payload: &[u8]) -> Result<(), Rejection<K::Reason>> {
        if encode_protected(self.alg, self.kid, self.typ) != self.protected
            || payload != self.payload
        {
            return Err(reject::<K>(Fault::NotAsIssued));
        }
        Ok(())
    }

    /// The key and signature checks (token-format §4 checks 19-23,
    /// revocation §4 checks 17-21): `kid` names a trusted key, `alg` is the
    /// one pinned for it, `now` is inside its window, and the signature
    /// verifies (`verify_strict`) over the Sig_structure of the bytes received.
    pub fn verify<K: Kind>(
        &self,
        keys: &'a TrustedKeys,
        now_unix: i64,
    ) -> Result<&'a TrustedKey, Rejection<K::Reason>> {
        let signed = sig_structure(self.protected, self.payload);
        keys.verify_signed(self.kid, self.alg, now_unix, &signed, self.signature)
            .map_err(|r| {
                reject::<K>(match r {
                    KeyRefusal::UnknownKid => Fault::UnknownKid(self.kid),
                    KeyRefusal::AlgMismatch(key) => Fault::AlgMismatch(self.alg, key),
                    KeyRefusal::NotYetValid(key, secs) => Fault::KeyNotYetValid(key, secs),
                    KeyRefusal::Expired(key, secs) => Fault::KeyExpired(key, secs),
                    KeyRefusal::BadSignature => Fault::BadSignature,
                })
            })
    }
}

/// Encode the protected header (token-format §1): `{1: alg, 4: kid, 16: typ}`.
pub fn encode_protected(alg: i64, kid: &[u8], typ: &str) -> Vec<u8> {
    let mut e = Enc::with_capacity(40 + kid.len());
    e.map(3);
    e.head(0, H_ALG);
    e.int(alg);
    e.head(0, H_KID);
    e.bytes(kid);
    e.head(0, H_TYP);
    e.text(typ);
    e.out
}

/// The exact bytes signed (token-format §1.1): `["Signature1", protected, h'', payload]`.
pub fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut e = Enc::with_capacity(protected.len() + payload.len() + 24);
    e.array(4);
    e.text("Signature1");
    e.bytes(protected);
    e.bytes(&[]);
    e.bytes(payload);
    e.out
}

/// Assemble a tagged COSE_Sign1 from its parts (no checks; used by the
/// signer and by the vector generators to build adversarial objects).
pub fn assemble(protected: &[u8], payload: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut e = Enc::with_capacity(protected.len() + payload.len() + signature.len() + 16);
    e.tag(COSE_SIGN1_TAG);
    e.array(4);
    e.bytes(protected);
    e.map(0);
    e.bytes(payload);
    e.bytes(signature);
    e.out
}

/// Sign arbitrary protected/payload bytes (vector generators, tests).
pub fn sign_raw(protected: &[u8], payload: &[u8], key: &SigningKeyWithKid) -> [u8; 64] {
    key.signing_key()
        .sign(&sig_structure(protected, payload))
        .to_bytes()
}

/// Why [`sign`] produced nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum SignFailure {
    /// The object would be this many bytes, over [`Kind::MAX_LEN`].
    TooLarge(usize),
    /// The signing backend failed.
    Sign(SignError),
}

impl From<SignError> for SignFailure {
    fn from(e: SignError) -> Self {
        SignFailure::Sign(e)
    }
}

/// Sign `payload` (already checked and encoded by the kind) as an object of
/// kind `K` under `key`: the binary COSE_Sign1. The signature is checked
/// against the signer's public key ([`crate::keys::sign_checked`]).
pub fn sign<K: Kind>(payload: &[u8], key: &dyn Signer) -> Result<Vec<u8>, SignFailure> {
    let protected = encode_protected(ALG_EDDSA, key.kid().as_bytes(), K::TYP);
    let sig = crate::keys::sign_checked(key, &sig_structure(&protected, payload))?;
    let out = assemble(&protected, payload, &sig);
    if out.len() > K::MAX_LEN {
        return Err(SignFailure::TooLarge(out.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revocation::ListReason;
    use crate::token::Reason;

    #[test]
    fn each_kind_maps_a_shared_check_to_its_reason_of_the_same_code() {
        for &c in Check::ALL {
            assert_eq!(Reason::from(c).code(), c.code());
            assert_eq!(ListReason::from(c).code(), c.code());
        }
    }
}
