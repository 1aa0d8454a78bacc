//! Signed, versioned revocation lists (normative spec: docs/revocation.md;
//! section numbers below refer to it).
//!
//! A list is a tagged COSE_Sign1 like a token (docs/token-format.md §1) with
//! its own `typ`, so neither can be taken for the other. [`RevocationList`]
//! is the payload; [`sign`] issues a list through any [`Signer`]; [`decode`]
//! and [`verify`] are the strict reader; [`host`] holds the host side
//! (anti-rollback state, the missing-list policy, the per-decision check);
//! [`issuance`] the signer's check of its own list before it signs.

pub mod host;
pub mod issuance;
mod list;
pub mod ssh;
pub mod vectors;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::cose::cbor::{self, CborError, Head, Reader};
use crate::cose::{self, Check, Fault, Kind};
use crate::keys::{Signer, TrustedKeys};

pub use list::{parse_cti, valid_user, RevocationList, Revoked};

/// The `typ` protected-header value of a revocation list.
pub const LIST_TYP: &str = "application/jit-revocation+cwt";
/// Maximum decoded list length in bytes (256 KiB).
pub const MAX_LIST_LEN: usize = 262_144;
/// Maximum list text length: ceil(262144 * 4 / 3), plus one final newline.
pub const MAX_LIST_TEXT_LEN: usize = 349_526;
/// A revoked token's entry is kept until `exp` plus this margin (the largest
/// leeway a host may configure) has passed; after that no host accepts the
/// token anyway.
pub const PRUNE_MARGIN_SECS: i64 = crate::token::MAX_LEEWAY_SECS as i64;
/// Longest user name accepted in a list.
pub const MAX_USER_LEN: usize = crate::name::MAX_USER_LEN;

/// Why a list was rejected. Codes are stable (§4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListReason {
    /// Over the size limit.
    Oversized,
    /// Not strict base64url without padding.
    BadBase64,
    /// Not well-formed / wrong structure or types.
    Malformed,
    /// Not deterministically encoded.
    NotCanonical,
    /// A map key appears twice.
    DuplicateKey,
    /// Bytes after an item.
    TrailingBytes,
    /// Not tagged as COSE_Sign1.
    Untagged,
    /// The unprotected header is not empty.
    UnprotectedHeader,
    /// A `crit` header is present.
    UnknownCritical,
    /// Not a revocation list (e.g. a token).
    WrongTyp,
    /// An unknown payload key.
    UnknownField,
    /// A required payload key is missing.
    MissingField,
    /// A payload constraint is violated.
    InvalidList,
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
}

impl ListReason {
    /// Every reason, in check order.
    pub const ALL: &'static [ListReason] = &[
        ListReason::Oversized,
        ListReason::BadBase64,
        ListReason::Malformed,
        ListReason::NotCanonical,
        ListReason::DuplicateKey,
        ListReason::TrailingBytes,
        ListReason::Untagged,
        ListReason::UnprotectedHeader,
        ListReason::UnknownCritical,
        ListReason::WrongTyp,
        ListReason::UnknownField,
        ListReason::MissingField,
        ListReason::InvalidList,
        ListReason::UnknownKid,
        ListReason::AlgMismatch,
        ListReason::KeyNotYetValid,
        ListReason::KeyExpired,
        ListReason::BadSignature,
    ];

    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            ListReason::Oversized => "oversized",
            ListReason::BadBase64 => "bad_base64",
            ListReason::Malformed => "malformed",
            ListReason::NotCanonical => "not_canonical",
            ListReason::DuplicateKey => "duplicate_key",
            ListReason::TrailingBytes => "trailing_bytes",
            ListReason::Untagged => "untagged",
            ListReason::UnprotectedHeader => "unprotected_header",
            ListReason::UnknownCritical => "unknown_critical",
            ListReason::WrongTyp => "wrong_typ",
            ListReason::UnknownField => "unknown_field",
            ListReason::MissingField => "missing_field",
            ListReason::InvalidList => "invalid_list",
            ListReason::UnknownKid => "unknown_kid",
            ListReason::AlgMismatch => "alg_mismatch",
            ListReason::KeyNotYetValid => "key_not_yet_valid",
            ListReason::KeyExpired => "key_expired",
            ListReason::BadSignature => "bad_signature",
        }
    }

    /// The reason with this code.
    pub fn from_code(code: &str) -> Option<ListReason> {
        ListReason::ALL.iter().copied().find(|r| r.code() == code)
    }
}

impl fmt::Display for ListReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A rejected list: reason code and one human sentence.
pub type ListRejection = cose::Rejection<ListReason>;

fn rej(reason: ListReason, message: impl Into<String>) -> ListRejection {
    ListRejection::new(reason, message)
}

fn cbor_rej(e: CborError, part: &'static str) -> ListRejection {
    cose::reject::<ListKind>(Fault::Cbor(e, part))
}

/// Revocation lists as a kind of signed object (§1, §4 checks 1-10, 16-21).
#[derive(Debug, Clone, Copy)]
pub struct ListKind;

impl Kind for ListKind {
    type Reason = ListReason;
    const NAME: &'static str = "revocation list";
    const ITEM: &'static str = "list";
    const TYP: &'static str = LIST_TYP;
    const MAX_LEN: usize = MAX_LIST_LEN;
    const MAX_TEXT_LEN: usize = MAX_LIST_TEXT_LEN;
    const TEXT_NEWLINE: bool = true;

    fn own_words(fault: &Fault<'_>) -> Option<String> {
        Some(match fault {
            Fault::EmptyText => "revocation list file is empty".into(),
            Fault::BadBase64 => "revocation list is not base64url without padding (one line, optionally one final newline)".into(),
            Fault::AlgMismatch(alg, key) => format!(
                "revocation list claims algorithm {alg}, but key {:?} is pinned to {}",
                key.kid,
                key.alg.name()
            ),
            Fault::KeyExpired(key, secs) => format!(
                "revocation list signing key {:?} expired {} ago; re-sign the list with a current key",
                key.kid,
                crate::text::human_duration(*secs)
            ),
            _ => return None,
        })
    }
}

impl From<Check> for ListReason {
    fn from(c: Check) -> ListReason {
        match c {
            Check::Oversized => ListReason::Oversized,
            Check::BadBase64 => ListReason::BadBase64,
            Check::Malformed => ListReason::Malformed,
            Check::NotCanonical => ListReason::NotCanonical,
            Check::DuplicateKey => ListReason::DuplicateKey,
            Check::TrailingBytes => ListReason::TrailingBytes,
            Check::Untagged => ListReason::Untagged,
            Check::UnprotectedHeader => ListReason::UnprotectedHeader,
            Check::UnknownCritical => ListReason::UnknownCritical,
            Check::WrongTyp => ListReason::WrongTyp,
            Check::UnknownKid => ListReason::UnknownKid,
            Check::AlgMismatch => ListReason::AlgMismatch,
            Check::KeyNotYetValid => ListReason::KeyNotYetValid,
            Check::KeyExpired => ListReason::KeyExpired,
            Check::BadSignature => ListReason::BadSignature,
        }
    }
}

/// A decoded (not necessarily verified) list: its envelope (reached through
/// `Deref`) and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedList {
    /// The envelope.
    pub signed: cose::Signed,
    /// The payload.
    pub list: RevocationList,
}

impl std::ops::Deref for DecodedList {
    type Target = cose::Signed;
    fn deref(&self) -> &cose::Signed {
        &self.signed
    }
}

/// Why a list could not be signed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignListError {
    /// The payload violates a constraint.
    #[error("invalid revocation list: {0}")]
    Invalid(String),
    /// Over the size limit.
    #[error("revocation list would be {0} bytes, over the {MAX_LIST_LEN}-byte limit")]
    TooLarge(usize),
    /// The signing backend failed.
    #[error("signing failed: {0}")]
    Sign(#[from] crate::keys::SignError),
}

/// Sign a list (§1): the binary COSE_Sign1. The signature is checked against
/// the signer's public key ([`crate::keys::sign_checked`]).
pub fn sign(list: &RevocationList, key: &dyn Signer) -> Result<Vec<u8>, SignListError> {
    list.check().map_err(SignListError::Invalid)?;
    cose::sign::<ListKind>(&list.encode(), key).map_err(|e| match e {
        cose::SignFailure::TooLarge(n) => SignListError::TooLarge(n),
        cose::SignFailure::Sign(e) => SignListError::Sign(e),
    })
}

/// The file form of a list (§1.3): base64url without padding and one newline.
pub fn encode_text(list: &[u8]) -> String {
    cose::encode_text::<ListKind>(list)
}

/// Checks 1-3 (§4): size and strict base64url of the file text. One final
/// `\n` is allowed (and is all that is).
pub fn decode_text(text: &str) -> Result<Vec<u8>, ListRejection> {
    cose::decode_text::<ListKind>(text)
}

/// Checks 4-16 (§4): decode without verifying anything cryptographic.
pub fn decode(bytes: &[u8]) -> Result<DecodedList, ListRejection> {
    cose::check_len::<ListKind>(bytes)?;
    // 4-9: the whole item, the envelope, the protected header.
    let s = cose::open::<ListKind>(bytes)?;
    // 10: typ, before the payload is read (§1.2).
    s.check_typ::<ListKind>()?;
    // 11-15: payload.
    let list = decode_payload(s.payload)?;
    // 16: re-encode and compare.
    s.check_reencoded::<ListKind>(&list.encode())?;
    Ok(DecodedList {
        signed: s.to_signed(),
        list,
    })
}

const FIELD_TEXT_KEYS: &[&str] = &[
    "users",
    "tokens",
    "version",
    "watermarks",
    "ssh_keys",
    "ssh_key_ids",
    "ssh_serials",
];

fn decode_payload(p: &[u8]) -> Result<RevocationList, ListRejection> {
    let w = "payload";
    let ce = |e| cbor_rej(e, w);
    cbor::validate(p, false).map_err(ce)?;
    let bad = |m: &str| {
        rej(
            ListReason::Malformed,
            format!("malformed revocation list: {m}"),
        )
    };
    let mut r = Reader::new(p);
    let Head::Map(n) = r.head().map_err(ce)? else {
        return Err(bad("payload is not a map"));
    };
    // Every key known, before any value is looked at.
    if let Some(k) = cbor::unknown_key(p, &[1, 6], FIELD_TEXT_KEYS).map_err(ce)? {
        return Err(rej(
            ListReason::UnknownField,
            format!(
                "revocation list has an unknown field {} (is this a token?)",
                cbor::key_name(k)
            ),
        ));
    }
    let ty = |name: &str, want: &str| bad(&format!("field {name} is not {want}"));
    let (mut iss, mut iat, mut version) = (None, None, None);
    let (mut users, mut tokens, mut watermarks) = (None, None, None);
    let (mut ssh_serials, mut ssh_key_ids, mut ssh_keys) = (None, None, None);
    let range = |what: &str| {
        rej(
            ListReason::InvalidList,
            format!("revocation list has invalid fields: {what} is out of range"),
        )
    };
    for _ in 0..n {
        match r.head().map_err(ce)? {
            Head::Uint(1) => match r.head().map_err(ce)? {
                Head::Text(l) => iss = Some(r.text_body(l).map_err(ce)?.to_string()),
                _ => return Err(ty("iss", "a text string")),
            },
            Head::Uint(6) => match r.head().map_err(ce)? {
                Head::Uint(v) => iat = Some(v),
                _ => return Err(ty("iat", "an unsigned integer")),
            },
            Head::Text(l) => match r.text_body(l).map_err(ce)? {
                "users" => {
                    let Head::Array(m) = r.head().map_err(ce)? else {
                        return Err(ty("users", "an array of text strings"));
                    };
                    let mut v = BTreeSet::new();
                    for _ in 0..m {
                        match r.head().map_err(ce)? {
                            Head::Text(l) => {
                                v.insert(r.text_body(l).map_err(ce)?.to_string());
                            }
                            _ => return Err(ty("users", "an array of text strings")),
                        }
                    }
                    users = Some(v);
                }
                "tokens" => {
                    let want = "a map of 16-byte token ids to expiry times";
                    let Head::Map(m) = r.head().map_err(ce)? else {
                        return Err(ty("tokens", want));
                    };
                    let mut v = BTreeMap::new();
                    for _ in 0..m {
                        let cti: [u8; 16] = match r.head().map_err(ce)? {
                            Head::Bytes(16) => r
                                .take(16)
                                .map_err(ce)?
                                .try_into()
                                .map_err(|_| ty("tokens", want))?,
                            _ => return Err(ty("tokens", want)),
                        };
                        let Head::Uint(exp) = r.head().map_err(ce)? else {
                            return Err(ty("tokens", want));
                        };
                        let exp = i64::try_from(exp).map_err(|_| {
                            rej(
                                ListReason::InvalidList,
                                "revocation list has invalid fields: a token exp is out of range",
                            )
                        })?;
                        v.insert(cti, exp);
                    }
                    tokens = Some(v);
                }
                "version" => match r.head().map_err(ce)? {
                    Head::Uint(v) => version = Some(v),
                    _ => return Err(ty("version", "an unsigned integer")),
                },
                "watermarks" => {
                    let want = "a map of user names to times";
                    let Head::Map(m) = r.head().map_err(ce)? else {
                        return Err(ty("watermarks", want));
                    };
                    let mut v = BTreeMap::new();
                    for _ in 0..m {
                        let user = match r.head().map_err(ce)? {
                            Head::Text(l) => r.text_body(l).map_err(ce)?.to_string(),
                            _ => return Err(ty("watermarks", want)),
                        };
                        let Head::Uint(t) = r.head().map_err(ce)? else {
                            return Err(ty("watermarks", want));
                        };
                        let t = i64::try_from(t).map_err(|_| {
                            rej(
                                ListReason::InvalidList,
                                "revocation list has invalid fields: a watermark is out of range",
                            )
                        })?;
                        v.insert(user, t);
                    }
                    watermarks = Some(v);
                }
                "ssh_keys" => {
                    let want = "an array of 32-byte SHA-256 fingerprints";
                    let Head::Array(m) = r.head().map_err(ce)? else {
                        return Err(ty("ssh_keys", want));
                    };
                    let mut v = BTreeSet::new();
                    for _ in 0..m {
                        let fp: [u8; 32] = match r.head().map_err(ce)? {
                            Head::Bytes(32) => r
                                .take(32)
                                .map_err(ce)?
                                .try_into()
                                .map_err(|_| ty("ssh_keys", want))?,
                            _ => return Err(ty("ssh_keys", want)),
                        };
                        v.insert(fp);
                    }
                    ssh_keys = Some(v);
                }
                "ssh_key_ids" => {
                    let want = "a map of key ids to expiry times";
                    let Head::Map(m) = r.head().map_err(ce)? else {
                        return Err(ty("ssh_key_ids", want));
                    };
                    let mut v = BTreeMap::new();
                    for _ in 0..m {
                        let id = match r.head().map_err(ce)? {
                            Head::Text(l) => r.text_body(l).map_err(ce)?.to_string(),
                            _ => return Err(ty("ssh_key_ids", want)),
                        };
                        let Head::Uint(exp) = r.head().map_err(ce)? else {
                            return Err(ty("ssh_key_ids", want));
                        };
                        let exp = i64::try_from(exp).map_err(|_| range("a key id exp"))?;
                        v.insert(id, exp);
                    }
                    ssh_key_ids = Some(v);
                }
                "ssh_serials" => {
                    let want = "a map of CA key blobs to maps of serials to expiry times";
                    let Head::Map(m) = r.head().map_err(ce)? else {
                        return Err(ty("ssh_serials", want));
                    };
                    let mut v = BTreeMap::new();
                    for _ in 0..m {
                        let ca = match r.head().map_err(ce)? {
                            Head::Bytes(l) => r.take(l).map_err(ce)?.to_vec(),
                            _ => return Err(ty("ssh_serials", want)),
                        };
                        let Head::Map(k) = r.head().map_err(ce)? else {
                            return Err(ty("ssh_serials", want));
                        };
                        let mut serials = BTreeMap::new();
                        for _ in 0..k {
                            let Head::Uint(serial) = r.head().map_err(ce)? else {
                                return Err(ty("ssh_serials", want));
                            };
                            let Head::Uint(exp) = r.head().map_err(ce)? else {
                                return Err(ty("ssh_serials", want));
                            };
                            let exp = i64::try_from(exp).map_err(|_| range("a serial exp"))?;
                            serials.insert(serial, exp);
                        }
                        v.insert(ca, serials);
                    }
                    ssh_serials = Some(v);
                }
                _ => return Err(bad("unknown field")),
            },
            _ => return Err(bad("unknown field")),
        }
    }
    let missing = |name: &str| {
        rej(
            ListReason::MissingField,
            format!("revocation list lacks the required field {name}"),
        )
    };
    let inv = |m: String| {
        rej(
            ListReason::InvalidList,
            format!("revocation list has invalid fields: {m}"),
        )
    };
    let iat = iat.ok_or_else(|| missing("iat"))?;
    let list = RevocationList {
        iss: iss.ok_or_else(|| missing("iss"))?,
        iat: i64::try_from(iat).map_err(|_| inv("iat is out of range".into()))?,
        version: version.ok_or_else(|| missing("version"))?,
        tokens: tokens.ok_or_else(|| missing("tokens"))?,
        users: users.ok_or_else(|| missing("users"))?,
        watermarks: watermarks.ok_or_else(|| missing("watermarks"))?,
        // Optional (§2.1): absent means empty; present and empty is not
        // canonical (the re-encoding leaves it out).
        ssh_serials: ssh_serials.unwrap_or_default(),
        ssh_key_ids: ssh_key_ids.unwrap_or_default(),
        ssh_keys: ssh_keys.unwrap_or_default(),
    };
    list.check().map_err(inv)?;
    Ok(list)
}

/// Checks 17-21 (§4): key, algorithm, key window, signature.
pub fn verify_decoded(
    d: &DecodedList,
    keys: &TrustedKeys,
    now_unix: i64,
) -> Result<(), ListRejection> {
    d.sign1().verify::<ListKind>(keys, now_unix).map(|_| ())
}

/// Checks 4-21 on binary list bytes.
pub fn verify(
    bytes: &[u8],
    keys: &TrustedKeys,
    now_unix: i64,
) -> Result<DecodedList, ListRejection> {
    let d = decode(bytes)?;
    verify_decoded(&d, keys, now_unix)?;
    Ok(d)
}

/// Checks 1-21 on the file text.
pub fn verify_text(
    text: &str,
    keys: &TrustedKeys,
    now_unix: i64,
) -> Result<DecodedList, ListRejection> {
    verify(&decode_text(text)?, keys, now_unix)
}

/// Fuzzing entry point: `data` as binary list and, if UTF-8, as list text.
/// Checks that nothing panics and that whatever [`decode`] accepts
/// re-assembles to exactly the input.
#[doc(hidden)]
pub fn fuzz_decode(data: &[u8]) {
    let mut keys = TrustedKeys::default();
    if let Ok(k) = crate::keys::SigningKeyWithKid::from_seed("fuzz", &[1; 32]) {
        keys.insert(k.trusted_key());
    }
    if let Ok(d) = decode(data) {
        assert_eq!(cose::assemble(&d.protected, &d.payload, &d.signature), data);
        assert_eq!(d.list.encode(), d.payload);
        let _ = verify_decoded(&d, &keys, 1_800_000_000);
        // Whatever decodes has a KRL (§3.1): the header, then one section
        // per kind of certificate or key entry.
        let k = ssh::krl(&d.list);
        assert!(k.starts_with(b"SSHKRL\n\0"));
        let bare = RevocationList {
            version: d.list.version,
            iat: d.list.iat,
            ..Default::default()
        };
        let nothing = ssh::revoked_key_ids(&d.list).is_empty()
            && d.list.ssh_serials.is_empty()
            && d.list.ssh_keys.is_empty();
        assert_eq!(k == ssh::krl(&bare), nothing);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = verify_text(text, &keys, 1_800_000_000);
        // The signer's readers of public keys and fingerprints (§2.1).
        let _ = ssh::parse_public_key(text);
        let _ = issuance::key_fingerprint(text);
        if let Some(fp) = ssh::parse_fingerprint(text) {
            assert_eq!(ssh::fingerprint_text(&fp), text);
        }
    }
    // Token and list decoders must never both accept the same bytes.
    assert!(!(decode(data).is_ok() && crate::token::decode(data).is_ok()));
}

#[cfg(test)]
mod tests;
