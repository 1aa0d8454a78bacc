//! What a shared check found wrong ([`Fault`]), and how it becomes a kind's
//! reason code ([`Check`]) and one human sentence ([`Rejection`]).

use std::fmt;

use super::cbor::CborError;
use super::Kind;
use crate::keys::TrustedKey;
use crate::text::human_duration;

/// The checks both formats share, by their stable reason codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    /// `oversized`
    Oversized,
    /// `bad_base64`
    BadBase64,
    /// `malformed`
    Malformed,
    /// `not_canonical`
    NotCanonical,
    /// `duplicate_key`
    DuplicateKey,
    /// `trailing_bytes`
    TrailingBytes,
    /// `untagged`
    Untagged,
    /// `unprotected_header`
    UnprotectedHeader,
    /// `unknown_critical`
    UnknownCritical,
    /// `wrong_typ`
    WrongTyp,
    /// `unknown_kid`
    UnknownKid,
    /// `alg_mismatch`
    AlgMismatch,
    /// `key_not_yet_valid`
    KeyNotYetValid,
    /// `key_expired`
    KeyExpired,
    /// `bad_signature`
    BadSignature,
}

impl Check {
    /// Every shared check, in the order of token-format §4.
    pub const ALL: &'static [Check] = &[
        Check::Oversized,
        Check::BadBase64,
        Check::Malformed,
        Check::NotCanonical,
        Check::DuplicateKey,
        Check::TrailingBytes,
        Check::Untagged,
        Check::UnprotectedHeader,
        Check::UnknownCritical,
        Check::WrongTyp,
        Check::UnknownKid,
        Check::AlgMismatch,
        Check::KeyNotYetValid,
        Check::KeyExpired,
        Check::BadSignature,
    ];

    /// The stable code, the same in every kind's reason enum.
    pub fn code(self) -> &'static str {
        match self {
            Check::Oversized => "oversized",
            Check::BadBase64 => "bad_base64",
            Check::Malformed => "malformed",
            Check::NotCanonical => "not_canonical",
            Check::DuplicateKey => "duplicate_key",
            Check::TrailingBytes => "trailing_bytes",
            Check::Untagged => "untagged",
            Check::UnprotectedHeader => "unprotected_header",
            Check::UnknownCritical => "unknown_critical",
            Check::WrongTyp => "wrong_typ",
            Check::UnknownKid => "unknown_kid",
            Check::AlgMismatch => "alg_mismatch",
            Check::KeyNotYetValid => "key_not_yet_valid",
            Check::KeyExpired => "key_expired",
            Check::BadSignature => "bad_signature",
        }
    }
}

/// What a shared check found wrong, with what its message needs.
#[derive(Debug)]
pub enum Fault<'a> {
    /// The text is longer than [`Kind::MAX_TEXT_LEN`] (its length).
    TextTooLong(usize),
    /// The text is empty.
    EmptyText,
    /// The text is not strict base64url without padding.
    BadBase64,
    /// The object is larger than [`Kind::MAX_LEN`] (its length).
    TooLarge(usize),
    /// Not acceptable CBOR, in the named part ("protected header", "claims").
    Cbor(CborError, &'static str),
    /// Not tagged: the kind of item found instead.
    Untagged(&'static str),
    /// The unprotected header is not empty.
    UnprotectedHeader,
    /// A `crit` header parameter.
    Critical,
    /// Well-formed, but not the required shape.
    Malformed(String),
    /// Decodes, but re-encodes to other bytes.
    NotAsIssued,
    /// The `typ` found.
    WrongTyp(&'a str),
    /// No trusted key has this kid.
    UnknownKid(&'a [u8]),
    /// The header's `alg`, and the key pinned to another.
    AlgMismatch(i64, &'a TrustedKey),
    /// The key's window opens in this many seconds.
    KeyNotYetValid(&'a TrustedKey, u64),
    /// The key's window closed this many seconds ago.
    KeyExpired(&'a TrustedKey, u64),
    /// The signature does not verify.
    BadSignature,
}

impl Fault<'_> {
    /// The shared check that failed.
    pub fn check(&self) -> Check {
        match self {
            Fault::TextTooLong(_) | Fault::TooLarge(_) => Check::Oversized,
            Fault::EmptyText | Fault::BadBase64 => Check::BadBase64,
            Fault::Cbor(CborError::Malformed(_), _) | Fault::Malformed(_) => Check::Malformed,
            Fault::Cbor(CborError::NotCanonical(_), _) | Fault::NotAsIssued => Check::NotCanonical,
            Fault::Cbor(CborError::DuplicateKey, _) => Check::DuplicateKey,
            Fault::Cbor(CborError::TrailingBytes, _) => Check::TrailingBytes,
            Fault::Untagged(_) => Check::Untagged,
            Fault::UnprotectedHeader => Check::UnprotectedHeader,
            Fault::Critical => Check::UnknownCritical,
            Fault::WrongTyp(_) => Check::WrongTyp,
            Fault::UnknownKid(_) => Check::UnknownKid,
            Fault::AlgMismatch(..) => Check::AlgMismatch,
            Fault::KeyNotYetValid(..) => Check::KeyNotYetValid,
            Fault::KeyExpired(..) => Check::KeyExpired,
            Fault::BadSignature => Check::BadSignature,
        }
    }

    /// The shared sentence, naming the object as [`Kind::NAME`].
    pub fn sentence<K: Kind>(&self) -> String {
        let n = K::NAME;
        match self {
            Fault::TextTooLong(l) => {
                format!(
                    "{n} is {l} characters, over the limit of {}",
                    K::MAX_TEXT_LEN
                )
            }
            Fault::EmptyText => format!("{n} is empty"),
            Fault::BadBase64 => format!("{n} is not base64url without padding"),
            Fault::TooLarge(l) => format!("{n} is {l} bytes, over the limit of {}", K::MAX_LEN),
            Fault::Cbor(CborError::Malformed(m), part) => format!("malformed {n}: {part}: {m}"),
            Fault::Cbor(CborError::NotCanonical(m), part) => {
                format!("{n} is not deterministically encoded: {part}: {m}")
            }
            Fault::Cbor(CborError::DuplicateKey, part) => {
                format!("malformed {n}: {part}: duplicate map key")
            }
            Fault::Cbor(CborError::TrailingBytes, part) => {
                format!("malformed {n}: {part}: trailing bytes")
            }
            Fault::Untagged(kind) => format!("{n} is a bare {kind} without the COSE_Sign1 tag"),
            Fault::UnprotectedHeader => {
                format!("{n} has unprotected header parameters (none are allowed)")
            }
            Fault::Critical => format!(
                "{n} has critical header parameters (crit) this verifier does not understand"
            ),
            Fault::Malformed(m) => format!("malformed {n}: {m}"),
            Fault::NotAsIssued => format!("{n} is not encoded exactly as jit-signer encodes it"),
            Fault::WrongTyp(t) => format!("object type is {t:?}, not a jit {n} ({})", K::TYP),
            Fault::UnknownKid(kid) => format!(
                "{n} is signed by key {:?}, which this host does not trust",
                String::from_utf8_lossy(kid)
            ),
            Fault::AlgMismatch(alg, key) => format!(
                "{n} claims algorithm {alg}, but key {:?} is pinned to {} ({})",
                key.kid,
                key.alg.name(),
                key.alg.cose_alg()
            ),
            Fault::KeyNotYetValid(key, secs) => format!(
                "{n} signing key {:?} is not valid for another {}",
                key.kid,
                human_duration(*secs)
            ),
            Fault::KeyExpired(key, secs) => format!(
                "{n} signing key {:?} expired {} ago",
                key.kid,
                human_duration(*secs)
            ),
            Fault::BadSignature => format!("{n} signature is not valid"),
        }
    }
}

/// A rejected object: the kind's reason code and one human sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection<R> {
    /// The machine-readable reason.
    pub reason: R,
    /// The human sentence.
    pub message: String,
}

impl<R> Rejection<R> {
    /// A rejection with this reason and sentence.
    pub fn new(reason: R, message: impl Into<String>) -> Self {
        Rejection {
            reason,
            message: message.into(),
        }
    }
}

impl<R: fmt::Display> fmt::Display for Rejection<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.reason)
    }
}

impl<R: fmt::Display + fmt::Debug> std::error::Error for Rejection<R> {}

/// The rejection of an object of kind `K` for `fault`.
pub fn reject<K: Kind>(fault: Fault<'_>) -> Rejection<K::Reason> {
    let message = K::own_words(&fault).unwrap_or_else(|| fault.sentence::<K>());
    Rejection::new(K::Reason::from(fault.check()), message)
}
