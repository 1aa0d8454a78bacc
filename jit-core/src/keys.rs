//! The trusted-keys file hosts pin, and Ed25519 key material (docs/trusted-keys.md).
//!
//! Parsing is strict: unknown fields, duplicate kids, malformed keys or times
//! are errors naming the line, never silently skipped.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::Zeroizing;

/// The signature algorithms a key can be pinned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyAlg {
    /// Ed25519, COSE algorithm -8 (EdDSA).
    Ed25519,
}

impl KeyAlg {
    /// The COSE algorithm identifier carried in the protected header.
    pub fn cose_alg(self) -> i64 {
        match self {
            KeyAlg::Ed25519 => -8,
        }
    }
    /// The name used in the trusted-keys file.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlg::Ed25519 => "ed25519",
        }
    }
}

/// One pinned key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The key id, as in the token's `kid` header.
    pub kid: String,
    /// The algorithm pinned for this key.
    pub alg: KeyAlg,
    /// The public key.
    pub key: VerifyingKey,
    /// Unix seconds from which the key is usable (inclusive).
    pub not_before: Option<i64>,
    /// Unix seconds from which the key is no longer usable (exclusive).
    pub not_after: Option<i64>,
}

impl TrustedKey {
    /// Is `now` inside the key's window (`not-before <= now < not-after`, no
    /// leeway)? The refusal says on which side, and by how many seconds.
    pub fn window(&self, now: i64) -> Result<(), KeyRefusal<'_>> {
        if let Some(nb) = self.not_before.filter(|nb| now < *nb) {
            return Err(KeyRefusal::NotYetValid(self, nb.abs_diff(now)));
        }
        if let Some(na) = self.not_after.filter(|na| now >= *na) {
            return Err(KeyRefusal::Expired(self, now.abs_diff(na)));
        }
        Ok(())
    }
}

/// The set of keys a host accepts tokens from.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: BTreeMap<String, TrustedKey>,
}

/// An error in a trusted-keys file or a key file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeysError {
    /// A line of a trusted-keys file is invalid.
    #[error("line {line}: {msg}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A secret key file is invalid.
    #[error("secret key file: {0}")]
    SecretKey(String),
    /// A kid is not valid.
    #[error("invalid kid {0:?}: use 1 to 64 characters from A-Z a-z 0-9 . _ -")]
    BadKid(String),
}

/// Maximum kid length in bytes.
pub const MAX_KID_LEN: usize = crate::name::MAX_KID_LEN;

/// Whether `kid` is a valid key id: 1 to 64 of `A-Z a-z 0-9 . _ -`
/// ([`crate::name`], docs/names.md).
pub fn is_valid_kid(kid: &str) -> bool {
    crate::name::is_valid(crate::name::NameKind::Kid, kid)
}

pub use crate::text::parse_time;

/// Decode a 32-byte value in strict base64url without padding.
fn decode32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 43 {
        return None;
    }
    let v = URL_SAFE_NO_PAD.decode(s).ok()?;
    v.try_into().ok()
}

/// Parse and check an Ed25519 public key in base64url without padding.
pub fn parse_public_key(s: &str) -> Result<VerifyingKey, String> {
    let bytes = decode32(s).ok_or_else(|| {
        "public key is not 32 bytes of base64url without padding (43 characters)".to_string()
    })?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| "public key is not a valid Ed25519 point".to_string())?;
    if key.to_edwards().compress().as_bytes() != &bytes {
        return Err("public key is not canonically encoded".to_string());
    }
    if key.is_weak() {
        return Err("public key is a small-order (weak) point".to_string());
    }
    Ok(key)
}

impl TrustedKeys {
    /// Parse a trusted-keys file (docs/trusted-keys.md).
    pub fn parse(text: &str) -> Result<TrustedKeys, KeysError> {
        let mut keys: BTreeMap<String, TrustedKey> = BTreeMap::new();
        let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |msg: String| KeysError::Line { line, msg };
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let mut fields = trimmed.split_ascii_whitespace();
            let kid = fields.next().unwrap_or_default();
            crate::name::check(crate::name::NameKind::Kid, kid).map_err(|e| err(e.to_string()))?;
            let alg = match fields.next() {
                Some("ed25519") => KeyAlg::Ed25519,
                Some(other) => {
                    return Err(err(format!(
                        "unknown algorithm {other:?} (the only one is ed25519)"
                    )))
                }
                None => return Err(err("missing algorithm and public key".into())),
            };
            let key = match fields.next() {
                Some(k) => parse_public_key(k).map_err(err)?,
                None => return Err(err("missing public key".into())),
            };
            let mut not_before = None;
            let mut not_after = None;
            for f in fields {
                if let Some(v) = f.strip_prefix("not-before=") {
                    if not_before.is_some() || not_after.is_some() {
                        return Err(err(format!(
                            "field {f:?} repeated or out of order (not-before, then not-after)"
                        )));
                    }
                    not_before = Some(parse_time(v).ok_or_else(|| {
                        err(format!(
                            "bad time {v:?}: use RFC 3339 (2026-01-01T00:00:00Z) or @UNIXSECONDS"
                        ))
                    })?);
                } else if let Some(v) = f.strip_prefix("not-after=") {
                    if not_after.is_some() {
                        return Err(err(format!("field {f:?} repeated")));
                    }
                    not_after = Some(parse_time(v).ok_or_else(|| {
                        err(format!(
                            "bad time {v:?}: use RFC 3339 (2026-01-01T00:00:00Z) or @UNIXSECONDS"
                        ))
                    })?);
                } else {
                    return Err(err(format!("unknown field {f:?}")));
                }
            }
            if let (Some(nb), Some(na)) = (not_before, not_after) {
                if na <= nb {
                    return Err(err("not-after is not later than not-before".into()));
                }
            }
            if let Some(first) = first_line.get(kid) {
                return Err(err(format!(
                    "duplicate kid {kid:?} (first on line {first})"
                )));
            }
            first_line.insert(kid.to_string(), line);
            keys.insert(
                kid.to_string(),
                TrustedKey {
                    kid: kid.to_string(),
                    alg,
                    key,
                    not_before,
                    not_after,
                },
            );
        }
        Ok(TrustedKeys { keys })
    }

    /// No key is trusted (every token will be rejected).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of trusted keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Look a key up by its kid bytes (as carried in the token).
    pub fn get(&self, kid: &[u8]) -> Option<&TrustedKey> {
        std::str::from_utf8(kid).ok().and_then(|k| self.keys.get(k))
    }

    /// The key checks every signed object (token, revocation list) passes,
    /// in the order of token-format §4 (19-23): `kid` names a trusted key,
    /// `alg` is the one pinned for it, `now` is inside its window, and
    /// `signature` is a `verify_strict` Ed25519 signature of `signed`.
    /// Callers turn a refusal into their own reason code and message.
    pub fn verify_signed(
        &self,
        kid: &[u8],
        alg: i64,
        now: i64,
        signed: &[u8],
        signature: &[u8; 64],
    ) -> Result<&TrustedKey, KeyRefusal<'_>> {
        let key = self.get(kid).ok_or(KeyRefusal::UnknownKid)?;
        if alg != key.alg.cose_alg() {
            return Err(KeyRefusal::AlgMismatch(key));
        }
        key.window(now)?;
        key.key
            .verify_strict(signed, &ed25519_dalek::Signature::from_bytes(signature))
            .map_err(|_| KeyRefusal::BadSignature)?;
        Ok(key)
    }

    /// Add a key (for programmatic use and tests). Replaces an existing kid.
    pub fn insert(&mut self, key: TrustedKey) {
        self.keys.insert(key.kid.clone(), key);
    }

    /// Iterate over the keys, sorted by kid.
    pub fn iter(&self) -> impl Iterator<Item = &TrustedKey> {
        self.keys.values()
    }
}

/// Why a signing backend could not produce a signature.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct SignError(pub String);

/// Anything that can produce an Ed25519 signature under a kid: a key file
/// ([`SigningKeyWithKid`]) or a hardware token (jit-signer's PKCS#11 backend).
///
/// Implementations return the raw 64-byte signature `R || S` of RFC 8032.
/// Callers that did not compute the signature themselves should check it
/// against [`Signer::public_key`] before publishing it (see
/// [`sign_checked`]).
pub trait Signer {
    /// The key id written into what is signed.
    fn kid(&self) -> &str;
    /// The public key (32 bytes, RFC 8032 encoding).
    fn public_key(&self) -> Result<[u8; 32], SignError>;
    /// Sign `msg` with pure Ed25519.
    fn sign(&self, msg: &[u8]) -> Result<[u8; 64], SignError>;
    /// Whether the signature is made outside this process's own
    /// ed25519-dalek code (a device, a service). [`sign_checked`] verifies
    /// such signatures before they are used. Defaults to `true`.
    fn external(&self) -> bool {
        true
    }
}

/// Sign `msg` with `signer` and verify the result with `verify_strict`
/// against the signer's public key before returning it, so a faulty or
/// misconfigured backend (wrong key object, wrong mechanism) can never
/// publish something hosts would reject or, worse, that another key made.
/// In-process keys ([`Signer::external`] false) are not re-checked.
pub fn sign_checked(signer: &dyn Signer, msg: &[u8]) -> Result<[u8; 64], SignError> {
    let sig = signer.sign(msg)?;
    if !signer.external() {
        return Ok(sig);
    }
    let pk = signer.public_key()?;
    let vk = VerifyingKey::from_bytes(&pk).map_err(|e| {
        SignError(format!(
            "backend public key is not a valid Ed25519 key: {e}"
        ))
    })?;
    vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig))
        .map_err(|_| {
            SignError(
                "backend produced a signature that does not verify under its public key".into(),
            )
        })?;
    Ok(sig)
}

impl Signer for SigningKeyWithKid {
    fn kid(&self) -> &str {
        &self.kid
    }
    fn public_key(&self) -> Result<[u8; 32], SignError> {
        Ok(self.key.verifying_key().to_bytes())
    }
    fn sign(&self, msg: &[u8]) -> Result<[u8; 64], SignError> {
        use ed25519_dalek::Signer as _;
        Ok(self.key.sign(msg).to_bytes())
    }
    fn external(&self) -> bool {
        false
    }
}

/// Why [`TrustedKeys::verify_signed`] refused.
#[derive(Debug)]
pub enum KeyRefusal<'a> {
    /// No trusted key has this kid.
    UnknownKid,
    /// The object claims another algorithm than the one pinned for the key.
    AlgMismatch(&'a TrustedKey),
    /// The key's window opens in this many seconds.
    NotYetValid(&'a TrustedKey, u64),
    /// The key's window closed this many seconds ago.
    Expired(&'a TrustedKey, u64),
    /// The signature does not verify.
    BadSignature,
}

/// A signing key with its kid. The secret is wiped on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct SigningKeyWithKid {
    /// The key id written into tokens.
    pub kid: String,
    key: SigningKey,
}

impl fmt::Debug for SigningKeyWithKid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyWithKid")
            .field("kid", &self.kid)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// First word of a secret key file.
pub const SECRET_KEY_MAGIC: &str = "jit-ed25519-secret-v1";

impl SigningKeyWithKid {
    /// Build from a 32-byte seed.
    pub fn from_seed(kid: &str, seed: &[u8; 32]) -> Result<Self, KeysError> {
        if !is_valid_kid(kid) {
            return Err(KeysError::BadKid(kid.to_string()));
        }
        Ok(SigningKeyWithKid {
            kid: kid.to_string(),
            key: SigningKey::from_bytes(seed),
        })
    }

    /// Generate a fresh key from the operating system's random source.
    pub fn generate(kid: &str) -> Result<Self, KeysError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut())
            .map_err(|e| KeysError::SecretKey(format!("no randomness: {e}")))?;
        Self::from_seed(kid, &seed)
    }

    /// The ed25519-dalek signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The secret key file contents (one line, ends with a newline).
    pub fn to_secret_file(&self) -> Zeroizing<String> {
        let seed = Zeroizing::new(self.key.to_bytes());
        Zeroizing::new(format!(
            "{SECRET_KEY_MAGIC} {} {}\n",
            self.kid,
            URL_SAFE_NO_PAD.encode(seed.as_ref())
        ))
    }

    /// Parse a secret key file (`jit-ed25519-secret-v1 KID BASE64URL-SEED`).
    pub fn from_secret_file(text: &str) -> Result<Self, KeysError> {
        let bad = |m: &str| KeysError::SecretKey(m.to_string());
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let line = lines.next().ok_or_else(|| bad("file is empty"))?;
        if lines.next().is_some() {
            return Err(bad("more than one line"));
        }
        let mut f = line.split_ascii_whitespace();
        if f.next() != Some(SECRET_KEY_MAGIC) {
            return Err(bad(
                "not a jit secret key (expected it to start with jit-ed25519-secret-v1)",
            ));
        }
        let kid = f.next().ok_or_else(|| bad("missing kid"))?;
        let seed_b64 = f.next().ok_or_else(|| bad("missing key"))?;
        if f.next().is_some() {
            return Err(bad("unexpected extra field"));
        }
        let seed = Zeroizing::new(
            decode32(seed_b64)
                .ok_or_else(|| bad("key is not 32 bytes of base64url without padding"))?,
        );
        Self::from_seed(kid, &seed)
    }

    /// The trusted-keys line for this key (ends with a newline).
    pub fn trusted_keys_line(&self) -> String {
        format!(
            "{} ed25519 {}\n",
            self.kid,
            URL_SAFE_NO_PAD.encode(self.verifying_key().as_bytes())
        )
    }

    /// This key as a trusted key without a window (tests, tools).
    pub fn trusted_key(&self) -> TrustedKey {
        TrustedKey {
            kid: self.kid.clone(),
            alg: KeyAlg::Ed25519,
            key: self.verifying_key(),
            not_before: None,
            not_after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKeyWithKid {
        SigningKeyWithKid::from_seed("k1", &[n; 32]).unwrap()
    }

    fn pubkey(n: u8) -> String {
        URL_SAFE_NO_PAD.encode(key(n).verifying_key().as_bytes())
    }

    #[test]
    fn parses_entries_comments_and_windows() {
        let text = format!(
            "# comment\n\n  k1 ed25519 {}\nk2 ed25519 {} not-before=2026-01-01T00:00:00Z not-after=@1800000000\n",
            pubkey(1),
            pubkey(2)
        );
        let k = TrustedKeys::parse(&text).unwrap();
        assert_eq!(k.len(), 2);
        let k2 = k.get(b"k2").unwrap();
        assert_eq!(k2.not_before, Some(1767225600));
        assert_eq!(k2.not_after, Some(1800000000));
        assert_eq!(k.get(b"k1").unwrap().not_before, None);
        assert!(k.get(b"k3").is_none());
        assert!(TrustedKeys::parse("# only\n\n").unwrap().is_empty());
    }

    fn line_err(text: &str) -> (usize, String) {
        match TrustedKeys::parse(text) {
            Err(KeysError::Line { line, msg }) => (line, msg),
            other => panic!("expected a line error, got {other:?}"),
        }
    }

    #[test]
    fn rejects_duplicate_kid_naming_both_lines() {
        let text = format!("k1 ed25519 {}\n#\nk1 ed25519 {}\n", pubkey(1), pubkey(2));
        let (line, msg) = line_err(&text);
        assert_eq!(line, 3);
        assert!(msg.contains("first on line 1"), "{msg}");
    }

    #[test]
    fn rejects_unknown_and_repeated_fields() {
        let (l, m) = line_err(&format!("k1 ed25519 {} expires=@5\n", pubkey(1)));
        assert_eq!(l, 1);
        assert!(m.contains("unknown field"), "{m}");
        let (_, m) = line_err(&format!(
            "k1 ed25519 {} not-after=@5 not-after=@6\n",
            pubkey(1)
        ));
        assert!(m.contains("repeated"), "{m}");
        let (_, m) = line_err(&format!(
            "k1 ed25519 {} not-after=@9 not-before=@5\n",
            pubkey(1)
        ));
        assert!(m.contains("out of order"), "{m}");
        let (_, m) = line_err(&format!(
            "k1 ed25519 {} not-before=@9 not-after=@9\n",
            pubkey(1)
        ));
        assert!(m.contains("not later"), "{m}");
        let (_, m) = line_err(&format!("k1 ed25519 {} not-before=yesterday\n", pubkey(1)));
        assert!(m.contains("bad time"), "{m}");
    }

    #[test]
    fn rejects_bad_keys_algs_and_kids() {
        let pk = pubkey(1);
        // Standard base64 with padding is not accepted.
        let std_b64 =
            base64::engine::general_purpose::STANDARD.encode(key(1).verifying_key().as_bytes());
        assert!(line_err(&format!("k1 ed25519 {std_b64}\n"))
            .1
            .contains("base64url"));
        // Non-zero trailing bits: same 32 bytes but another spelling.
        let mut tweaked = pk.clone();
        let last = tweaked.pop().unwrap();
        let idx = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            .iter()
            .position(|&c| c == last as u8)
            .unwrap();
        let alt =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[idx ^ 1] as char;
        tweaked.push(alt);
        assert!(line_err(&format!("k1 ed25519 {tweaked}\n"))
            .1
            .contains("base64url"));
        // Small-order point (identity).
        let mut ident = [0u8; 32];
        ident[0] = 1;
        let weak = URL_SAFE_NO_PAD.encode(ident);
        assert!(line_err(&format!("k1 ed25519 {weak}\n")).1.contains("weak"));
        assert!(line_err(&format!("k1 rsa {pk}\n"))
            .1
            .contains("unknown algorithm"));
        assert!(line_err("k1 ed25519\n").1.contains("missing public key"));
        assert!(line_err("k1\n").1.contains("missing algorithm"));
        assert!(line_err(&format!("k/1 ed25519 {pk}\n"))
            .1
            .contains("invalid kid"));
        assert!(line_err(&format!("{} ed25519 {pk}\n", "a".repeat(65)))
            .1
            .contains("invalid kid"));
    }

    #[test]
    fn secret_file_round_trip_and_redaction() {
        let k = SigningKeyWithKid::from_seed("ops-1", &[7; 32]).unwrap();
        let text = k.to_secret_file();
        assert!(text.starts_with("jit-ed25519-secret-v1 ops-1 "));
        let back = SigningKeyWithKid::from_secret_file(&text).unwrap();
        assert_eq!(back.verifying_key(), k.verifying_key());
        let dbg = format!("{k:?}");
        assert!(
            dbg.contains("redacted") && !dbg.contains(&text[25..40]),
            "{dbg}"
        );
        assert!(SigningKeyWithKid::from_secret_file("jit-ed25519-secret-v2 a b\n").is_err());
        assert!(SigningKeyWithKid::from_secret_file(&format!("{}{}", &*text, &*text)).is_err());
        assert!(SigningKeyWithKid::from_secret_file("").is_err());
        // Trusted-keys line round-trips through the parser.
        let tk = TrustedKeys::parse(&k.trusted_keys_line()).unwrap();
        assert_eq!(tk.get(b"ops-1").unwrap().key, k.verifying_key());
    }

    /// A backend that signs with one key but reports another (a wrong key
    /// object on a token) must never get a signature out of sign_checked.
    struct Lying {
        signs_with: SigningKeyWithKid,
        claims: SigningKeyWithKid,
    }
    impl Signer for Lying {
        fn kid(&self) -> &str {
            &self.claims.kid
        }
        fn public_key(&self) -> Result<[u8; 32], SignError> {
            self.claims.public_key()
        }
        fn sign(&self, msg: &[u8]) -> Result<[u8; 64], SignError> {
            self.signs_with.sign(msg)
        }
    }

    #[test]
    fn sign_checked_refuses_a_signature_from_another_key() {
        let lying = Lying {
            signs_with: key(1),
            claims: key(2),
        };
        let e = sign_checked(&lying, b"msg").unwrap_err();
        assert!(e.0.contains("does not verify"), "{e}");
        let honest = Lying {
            signs_with: key(2),
            claims: key(2),
        };
        assert!(sign_checked(&honest, b"msg").is_ok());
    }
}
