//! OpenSSH user certificates for a grant (docs/ssh-cert.md).
//!
//! Two steps, kept apart so the decision can be tested and fuzzed without a
//! key:
//!
//! - [`profile`]: the pure decision. From the facts of a grant (whose public
//!   key, which logins on which host groups, which window, which command) and
//!   the limits the policy sets ([`Limits`]), either every field of the
//!   certificate ([`CertProfile`]) or one [`Reason`] it is refused for.
//! - [`sign`]: build the certificate with the RustCrypto `ssh-key` crate, sign
//!   it with the CA key (any [`Signer`]: a key file or a PKCS#11 token), and
//!   check it after signing ([`check_signed`]): re-parsed from its text form,
//!   every field compared with the profile, the signature verified with
//!   `verify_strict` under the CA key. Nothing that fails the check is
//!   returned.
//!
//! [`Reason::code`] is the one mapping of a refusal to its wire code.

use std::fmt;
use std::net::IpAddr;

use ed25519_dalek::{Signature as EdSignature, VerifyingKey};
use ssh_key::certificate::{Builder, CertType, Certificate};
use ssh_key::public::KeyData;
use ssh_key::{Algorithm, HashAlg, PublicKey};

use crate::keys::{SignError, Signer};
use crate::name::{self, NameKind};
use crate::text::hex;

/// Default lifetime of a certificate when the request names none: 4 h.
pub const DEFAULT_TTL_SECS: u64 = 4 * 3600;
/// Shortest lifetime: 1 min (the policy's floor for tokens too).
pub const MIN_TTL_SECS: u64 = crate::policy::MIN_TTL_SECS;
/// Longest lifetime: 24 h (the token format's ceiling).
pub const MAX_TTL_SECS: u64 = crate::token::MAX_LIFETIME_SECS as u64;
/// `valid_after` is this much before the grant's not-before, so a host whose
/// clock is up to a minute behind the signer's accepts a fresh certificate
/// (hosts accept tokens with the same leeway). `valid_before` is not moved.
pub const BACKDATE_SECS: u64 = 60;
/// Longest public key line accepted (an RSA 16384-bit key is about 2.8 KB).
pub const MAX_KEY_LINE: usize = 8192;
/// RSA keys shorter than this are refused.
pub const MIN_RSA_BITS: usize = 2048;
/// RSA keys longer than this are refused (OpenSSH's own limit).
pub const MAX_RSA_BITS: usize = 16384;
/// At most this many principals in one certificate.
pub const MAX_PRINCIPALS: usize = 256;
/// At most this many addresses in `source-address`.
pub const MAX_SOURCE_ADDRESSES: usize = 32;
/// Longest `force-command`.
pub const MAX_FORCE_COMMAND: usize = 4096;
/// Bytes of nonce in every certificate.
pub const NONCE_LEN: usize = 32;

/// The extensions OpenSSH defines; no other name is ever signed.
pub const KNOWN_EXTENSIONS: [&str; 5] = [
    "permit-X11-forwarding",
    "permit-agent-forwarding",
    "permit-port-forwarding",
    "permit-pty",
    "permit-user-rc",
];
/// Extensions a `force-command` certificate may never carry: forwarding
/// (force-command does not stop `direct-tcpip`, agent or X11 channels) and
/// `~/.ssh/rc` (user code run before the forced command).
pub const NOT_WITH_FORCE_COMMAND: [&str; 4] = [
    "permit-X11-forwarding",
    "permit-agent-forwarding",
    "permit-port-forwarding",
    "permit-user-rc",
];
/// The extensions of a certificate whose request names none.
pub const DEFAULT_EXTENSIONS: [&str; 1] = ["permit-pty"];

/// What the policy allows a certificate to carry. [`Limits::default`] is
/// the profile without a policy: TTL 1 min to 24 h, only `permit-pty`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest lifetime (at most [`MAX_TTL_SECS`]).
    pub max_ttl_secs: u64,
    /// Extensions a request may ask for (a subset of [`KNOWN_EXTENSIONS`]).
    pub allowed_extensions: Vec<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_ttl_secs: MAX_TTL_SECS,
            allowed_extensions: DEFAULT_EXTENSIONS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// The facts of one certificate request: what the grant says.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The requester's public key, one line of an OpenSSH `.pub` file.
    pub public_key: &'a str,
    /// The Unix users the grant lets the requester log in as.
    pub logins: &'a [String],
    /// The host groups the grant is for.
    pub host_groups: &'a [String],
    /// The grant's id (the token's `cti` when a token comes from the same grant).
    pub grant_id: [u8; 16],
    /// Serial number (nonzero; docs/ssh-cert.md, "Serial").
    pub serial: u64,
    /// 32 random bytes.
    pub nonce: [u8; NONCE_LEN],
    /// Start of the grant's window (Unix seconds).
    pub not_before: i64,
    /// Lifetime in seconds.
    pub ttl_secs: u64,
    /// `force-command`, for a command-scoped grant.
    pub force_command: Option<&'a str>,
    /// `source-address`: comma-separated addresses or CIDR blocks.
    pub source_address: Option<&'a str>,
    /// Extensions asked for; `None`: [`DEFAULT_EXTENSIONS`].
    pub extensions: Option<&'a [String]>,
}

/// Every field of a certificate to sign (docs/ssh-cert.md, "Profile").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertProfile {
    /// The subject's public key.
    pub key: KeyData,
    /// `SHA256:...` of the subject's key, as ssh-keygen prints it.
    pub key_fingerprint: String,
    pub nonce: [u8; NONCE_LEN],
    pub serial: u64,
    /// The grant id in 32 lowercase hex digits.
    pub key_id: String,
    /// `LOGIN@HOSTGROUP` for every login and host group, sorted, no duplicates.
    pub principals: Vec<String>,
    pub valid_after: u64,
    pub valid_before: u64,
    pub force_command: Option<String>,
    pub source_address: Option<String>,
    /// Sorted, no duplicates.
    pub extensions: Vec<String>,
}

/// Why a certificate request is refused. Codes are stable ([`Reason::code`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// The public key line does not parse (or is too long, or holds a certificate).
    BadPublicKey(String),
    /// A key type that is never certified (DSA, FIDO `sk-` keys, unknown types).
    KeyTypeRefused(String),
    /// An RSA key outside 2048 to 16384 bits.
    RsaKeySize(usize),
    /// No login or no host group: a certificate with no principals would be
    /// valid for every user.
    NoPrincipals,
    /// A login or host group that is not a valid name, or holds a pattern
    /// character (`*`, `?`, `!`, `,`) or `@`-ambiguity.
    BadPrincipal(String),
    /// More than [`MAX_PRINCIPALS`].
    TooManyPrincipals(usize),
    /// Lifetime outside 1 min to the policy's maximum.
    TtlOutOfRange(u64),
    /// The window does not fit OpenSSH's time fields.
    BadWindow,
    /// A `force-command` that is empty, too long or holds control characters.
    BadForceCommand(String),
    /// A `source-address` that is not a list of addresses / CIDR blocks.
    BadSourceAddress(String),
    /// An extension the policy does not allow, or one OpenSSH does not define.
    ExtensionNotAllowed(String),
    /// A forwarding (or user-rc) extension with `force-command`.
    ForwardingWithForceCommand(String),
    /// Serial 0 (reserved: KRLs cannot revoke it).
    BadSerial,
}

impl Reason {
    /// The stable code of the refusal (ledger `reason_code`, wire code).
    pub fn code(&self) -> &'static str {
        match self {
            Reason::BadPublicKey(_) => "ssh_bad_key",
            Reason::KeyTypeRefused(_) => "ssh_key_type_refused",
            Reason::RsaKeySize(_) => "ssh_rsa_key_size",
            Reason::NoPrincipals => "ssh_no_principals",
            Reason::BadPrincipal(_) => "ssh_bad_principal",
            Reason::TooManyPrincipals(_) => "ssh_too_many_principals",
            Reason::TtlOutOfRange(_) => "ttl_out_of_range",
            Reason::BadWindow => "ssh_bad_window",
            Reason::BadForceCommand(_) => "ssh_bad_force_command",
            Reason::BadSourceAddress(_) => "ssh_bad_source_address",
            Reason::ExtensionNotAllowed(_) => "ssh_extension_not_allowed",
            Reason::ForwardingWithForceCommand(_) => "ssh_forwarding_with_force_command",
            Reason::BadSerial => "ssh_bad_serial",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::BadPublicKey(e) => write!(f, "the SSH public key does not parse: {e}"),
            Reason::KeyTypeRefused(t) => write!(
                f,
                "SSH key type {t} is not certified (use ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa of 2048 bits or more)"
            ),
            Reason::RsaKeySize(b) => write!(
                f,
                "RSA key of {b} bits: only {MIN_RSA_BITS} to {MAX_RSA_BITS} bits are certified"
            ),
            Reason::NoPrincipals => write!(
                f,
                "no principals: a certificate needs at least one login and one host group"
            ),
            Reason::BadPrincipal(e) => write!(f, "bad principal: {e}"),
            Reason::TooManyPrincipals(n) => {
                write!(f, "{n} principals, at most {MAX_PRINCIPALS}")
            }
            Reason::TtlOutOfRange(t) => write!(
                f,
                "certificate lifetime {} is outside 1 min to the policy's maximum",
                crate::token::human_duration(*t)
            ),
            Reason::BadWindow => write!(f, "the validity window does not fit a certificate"),
            Reason::BadForceCommand(e) => write!(f, "bad force-command: {e}"),
            Reason::BadSourceAddress(e) => write!(f, "bad source-address: {e}"),
            Reason::ExtensionNotAllowed(e) => write!(f, "extension {e:?} is not allowed"),
            Reason::ForwardingWithForceCommand(e) => write!(
                f,
                "extension {e:?} is not allowed with force-command (force-command does not stop forwarding)"
            ),
            Reason::BadSerial => write!(f, "serial 0 is reserved"),
        }
    }
}

impl std::error::Error for Reason {}

/// Parse and check a requester's public key line (docs/ssh-cert.md, "Keys").
pub fn parse_public_key(line: &str) -> Result<PublicKey, Reason> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    if line.len() > MAX_KEY_LINE {
        return Err(Reason::BadPublicKey(format!(
            "{} bytes, at most {MAX_KEY_LINE}",
            line.len()
        )));
    }
    if line.contains(['\n', '\r', '\0']) {
        return Err(Reason::BadPublicKey("more than one line".into()));
    }
    let algo = line.split_ascii_whitespace().next().unwrap_or("");
    if algo.contains("-cert-v01@openssh.com") {
        return Err(Reason::BadPublicKey(
            "this is a certificate, not a public key".into(),
        ));
    }
    let pk = PublicKey::from_openssh(line).map_err(|e| Reason::BadPublicKey(e.to_string()))?;
    check_key_type(pk.key_data())?;
    Ok(pk)
}

fn check_key_type(k: &KeyData) -> Result<(), Reason> {
    match k {
        KeyData::Ed25519(_) => Ok(()),
        KeyData::Ecdsa(_) => Ok(()),
        KeyData::Rsa(r) => {
            let bits = match r.n.as_positive_bytes() {
                Some(b) => {
                    let b: &[u8] = b;
                    match b.iter().position(|&x| x != 0) {
                        Some(i) => (b.len() - i) * 8 - b[i].leading_zeros() as usize,
                        None => 0,
                    }
                }
                None => 0,
            };
            if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                return Err(Reason::RsaKeySize(bits));
            }
            // Odd, at least 3 (e = 1 lets anyone forge the key's signatures),
            // at most 64 bits.
            let e_ok = r.e.as_positive_bytes().is_some_and(|e| {
                e.len() <= 8 && {
                    let v = e.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
                    v >= 3 && v & 1 == 1
                }
            });
            if !e_ok {
                return Err(Reason::BadPublicKey(
                    "RSA exponent is not odd and at least 3".into(),
                ));
            }
            Ok(())
        }
        other => Err(Reason::KeyTypeRefused(other.algorithm().to_string())),
    }
}

/// Check a login of a principal (docs/ssh-cert.md §2.2): the user-name rule,
/// and none of `*`, `?`, `!`, `,`, `"`.
pub fn check_login(l: &str) -> Result<(), Reason> {
    name::check(NameKind::User, l).map_err(|e| Reason::BadPrincipal(e.to_string()))?;
    // Pattern characters of ssh_config/sshd_config and ssh-keygen's list
    // separator: a principal is compared as a string, but nothing that
    // reads like a pattern or two names is ever signed.
    if let Some(c) = l.chars().find(|c| matches!(c, '*' | '?' | '!' | ',' | '"')) {
        return Err(Reason::BadPrincipal(format!(
            "login {l:?} holds {c:?}, a pattern or list character"
        )));
    }
    Ok(())
}

/// The principals of a grant: `LOGIN@HOSTGROUP` for each pair.
fn principals(logins: &[String], host_groups: &[String]) -> Result<Vec<String>, Reason> {
    if logins.is_empty() || host_groups.is_empty() {
        return Err(Reason::NoPrincipals);
    }
    for l in logins {
        check_login(l)?;
    }
    for g in host_groups {
        name::check(NameKind::HostGroup, g).map_err(|e| Reason::BadPrincipal(e.to_string()))?;
    }
    let n = logins.len().saturating_mul(host_groups.len());
    if n > MAX_PRINCIPALS {
        return Err(Reason::TooManyPrincipals(n));
    }
    let mut out: Vec<String> = logins
        .iter()
        .flat_map(|l| host_groups.iter().map(move |g| format!("{l}@{g}")))
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// A `source-address` value (docs/ssh-cert.md, "Options and extensions").
pub fn check_source_address(s: &str) -> Result<(), Reason> {
    let bad = |m: String| Err(Reason::BadSourceAddress(m));
    if s.is_empty() {
        return bad("empty".into());
    }
    let parts: Vec<&str> = s.split(',').collect();
    if parts.len() > MAX_SOURCE_ADDRESSES {
        return bad(format!(
            "{} entries, at most {MAX_SOURCE_ADDRESSES}",
            parts.len()
        ));
    }
    for p in parts {
        let (addr, prefix) = match p.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (p, None),
        };
        let ip: IpAddr = match addr.parse() {
            Ok(ip) => ip,
            Err(_) => return bad(format!("{p:?} is not an IP address or CIDR block")),
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        if let Some(l) = prefix {
            // Digits only: no sign, no leading zeros, within the family's width.
            let ok = !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_digit())
                && (l == "0" || !l.starts_with('0'))
                && l.parse::<u32>().is_ok_and(|n| n <= max);
            if !ok {
                return bad(format!("{p:?}: bad prefix length"));
            }
            if l == "0" {
                return bad(format!("{p:?} allows every address"));
            }
            // sshd refuses a CIDR block with host bits set (OpenSSH's
            // addr_pton_cidr, under addr_match_cidr_list): such a
            // certificate would log in nowhere.
            let n: u32 = l.parse().unwrap_or(max);
            let net = network(ip, n);
            if net != ip {
                return bad(format!("{p} has host bits set: use {net}/{n}"));
            }
        }
    }
    Ok(())
}

/// `ip` with every bit after the first `prefix` cleared (`prefix` at most
/// the family's width).
fn network(ip: IpAddr, prefix: u32) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}

/// A `force-command` value.
pub fn check_force_command(c: &str) -> Result<(), Reason> {
    if c.trim().is_empty() {
        return Err(Reason::BadForceCommand("empty".into()));
    }
    if c.len() > MAX_FORCE_COMMAND {
        return Err(Reason::BadForceCommand(format!(
            "{} bytes, at most {MAX_FORCE_COMMAND}",
            c.len()
        )));
    }
    if c.chars().any(|ch| ch.is_control()) {
        return Err(Reason::BadForceCommand("holds a control character".into()));
    }
    Ok(())
}

/// The pure decision: the certificate a request gets, or why it gets none.
///
/// Rules, in this order (docs/ssh-cert.md, "Refusals"): the key, the
/// principals, the serial, the lifetime and window, force-command,
/// source-address, the extensions.
pub fn profile(req: &Request<'_>, limits: &Limits) -> Result<CertProfile, Reason> {
    let pk = parse_public_key(req.public_key)?;
    let principals = principals(req.logins, req.host_groups)?;
    if req.serial == 0 {
        return Err(Reason::BadSerial);
    }
    let max_ttl = limits.max_ttl_secs.min(MAX_TTL_SECS);
    if !(MIN_TTL_SECS..=max_ttl).contains(&req.ttl_secs) {
        return Err(Reason::TtlOutOfRange(req.ttl_secs));
    }
    let after = req.not_before.checked_sub(BACKDATE_SECS as i64);
    let before = req.not_before.checked_add(req.ttl_secs as i64);
    let (valid_after, valid_before) = match (after, before) {
        (Some(a), Some(b)) if a >= 0 => (a as u64, b as u64),
        _ => return Err(Reason::BadWindow),
    };
    if let Some(c) = req.force_command {
        check_force_command(c)?;
    }
    if let Some(s) = req.source_address {
        check_source_address(s)?;
    }
    let mut extensions: Vec<String> = match req.extensions {
        Some(e) => e.to_vec(),
        None => DEFAULT_EXTENSIONS.iter().map(|s| s.to_string()).collect(),
    };
    extensions.sort();
    extensions.dedup();
    // Every extension against the policy first, then the force-command
    // conflict (docs/ssh-cert.md §4: one rule after the other, not both per
    // extension), so a request with both faults is refused for the policy.
    if let Some(e) = extensions
        .iter()
        .find(|e| !KNOWN_EXTENSIONS.contains(&e.as_str()) || !limits.allowed_extensions.contains(e))
    {
        return Err(Reason::ExtensionNotAllowed(e.clone()));
    }
    if req.force_command.is_some() {
        if let Some(e) = extensions
            .iter()
            .find(|e| NOT_WITH_FORCE_COMMAND.contains(&e.as_str()))
        {
            return Err(Reason::ForwardingWithForceCommand(e.clone()));
        }
    }
    Ok(CertProfile {
        key_fingerprint: pk.fingerprint(HashAlg::Sha256).to_string(),
        key: pk.key_data().clone(),
        nonce: req.nonce,
        serial: req.serial,
        key_id: hex(&req.grant_id),
        principals,
        valid_after,
        valid_before,
        force_command: req.force_command.map(str::to_string),
        source_address: req.source_address.map(str::to_string),
        extensions,
    })
}

/// The key type and `SHA256:` fingerprint of a public key line, as
/// `ssh-keygen -l` names them (for listings an approver reads).
pub fn describe_key(line: &str) -> Result<(String, String), Reason> {
    let k = parse_public_key(line)?;
    Ok((
        k.algorithm().to_string(),
        k.fingerprint(HashAlg::Sha256).to_string(),
    ))
}

/// Is `cert_line` (an OpenSSH certificate line) a certificate for the key
/// of `public_key_line`? A client checks this before it writes a
/// certificate beside a key file.
pub fn is_certificate_for(cert_line: &str, public_key_line: &str) -> bool {
    match (
        Certificate::from_openssh(cert_line.trim()),
        parse_public_key(public_key_line),
    ) {
        (Ok(c), Ok(k)) => c.public_key() == k.key_data(),
        _ => false,
    }
}

/// A random nonzero serial and a random nonce from the kernel CSPRNG
/// (docs/ssh-cert.md, "Serial", "Nonce").
pub fn random_serial_and_nonce() -> Result<(u64, [u8; NONCE_LEN]), String> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|e| format!("no randomness: {e}"))?;
    loop {
        let mut s = [0u8; 8];
        getrandom::fill(&mut s).map_err(|e| format!("no randomness: {e}"))?;
        let serial = u64::from_be_bytes(s);
        if serial != 0 {
            return Ok((serial, nonce));
        }
    }
}

/// Why a certificate could not be issued although its profile was accepted.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The CA key could not sign.
    #[error("the CA key could not sign: {0}")]
    Sign(#[from] SignError),
    /// The certificate failed the check after signing; nothing is published.
    #[error("the signed certificate failed its check after signing: {0}")]
    Check(String),
    /// The certificate could not be encoded.
    #[error("cannot encode the certificate: {0}")]
    Encode(String),
}

/// The CA key as `ssh-key` signs with it: an Ed25519 [`Signer`].
struct CaSigner<'a> {
    signer: &'a dyn Signer,
    public: [u8; 32],
    /// The backend's error, kept for the message (`ssh-key` reports only
    /// that signing failed).
    error: std::cell::RefCell<Option<SignError>>,
}

impl signature::Signer<ssh_key::Signature> for CaSigner<'_> {
    fn try_sign(&self, msg: &[u8]) -> Result<ssh_key::Signature, signature::Error> {
        let sig = crate::keys::sign_checked(self.signer, msg).map_err(|e| {
            *self.error.borrow_mut() = Some(e);
            signature::Error::new()
        })?;
        ssh_key::Signature::new(Algorithm::Ed25519, sig.to_vec())
            .map_err(|_| signature::Error::new())
    }
}

impl From<&CaSigner<'_>> for KeyData {
    fn from(s: &CaSigner<'_>) -> KeyData {
        KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(s.public))
    }
}

/// The CA's public key as one OpenSSH line (`ssh-ed25519 AAAA... COMMENT`),
/// for sshd's `TrustedUserCAKeys`.
pub fn ca_public_line(public: &[u8; 32], comment: &str) -> String {
    let pk = PublicKey::new(
        KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(*public)),
        comment,
    );
    pk.to_openssh().unwrap_or_default()
}

/// A signed and checked certificate.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The certificate line (`ssh-ed25519-cert-v01@openssh.com AAAA... COMMENT`), no newline.
    pub openssh: String,
    /// `SHA256:...` of the CA key.
    pub ca_fingerprint: String,
}

/// Sign `p` with the CA key `ca` and check the result ([`check_signed`]).
pub fn sign(p: &CertProfile, ca: &dyn Signer, comment: &str) -> Result<Signed, IssueError> {
    let public = ca.public_key()?;
    let enc = |e: ssh_key::Error| IssueError::Encode(e.to_string());
    let mut b = Builder::new(
        p.nonce.to_vec(),
        p.key.clone(),
        p.valid_after,
        p.valid_before,
    )
    .map_err(enc)?;
    b.serial(p.serial).map_err(enc)?;
    b.cert_type(CertType::User).map_err(enc)?;
    b.key_id(p.key_id.clone()).map_err(enc)?;
    // Never `all_principals_valid`: profile() refuses an empty list, and
    // the check below refuses a certificate with none.
    for pr in &p.principals {
        b.valid_principal(pr.clone()).map_err(enc)?;
    }
    if let Some(c) = &p.force_command {
        b.critical_option("force-command", c.clone()).map_err(enc)?;
    }
    if let Some(s) = &p.source_address {
        b.critical_option("source-address", s.clone())
            .map_err(enc)?;
    }
    for e in &p.extensions {
        b.extension(e.clone(), "").map_err(enc)?;
    }
    b.comment(comment).map_err(enc)?;
    let cs = CaSigner {
        signer: ca,
        public,
        error: std::cell::RefCell::new(None),
    };
    let cert = b.sign(&cs).map_err(|e| match cs.error.take() {
        Some(se) => IssueError::Sign(se),
        None => enc(e),
    })?;
    let openssh = cert.to_openssh().map_err(enc)?;
    check_signed(&openssh, p, &public).map_err(IssueError::Check)?;
    let ca_fingerprint = KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(public))
        .fingerprint(HashAlg::Sha256)
        .to_string();
    Ok(Signed {
        openssh,
        ca_fingerprint,
    })
}

/// The check after signing: `text` re-parsed, every field equal to `p`, the
/// signature an Ed25519 signature by `ca` over the certificate's bytes up to
/// the signature (checked with `verify_strict`, independently of `ssh-key`).
pub fn check_signed(text: &str, p: &CertProfile, ca: &[u8; 32]) -> Result<(), String> {
    let cert = Certificate::from_openssh(text).map_err(|e| format!("does not parse: {e}"))?;
    let mismatch = |what: &str| Err(format!("{what} differs from the profile"));
    if cert.cert_type() != CertType::User {
        return mismatch("type");
    }
    if cert.nonce() != p.nonce {
        return mismatch("nonce");
    }
    if cert.public_key() != &p.key {
        return mismatch("public key");
    }
    if cert.serial() != p.serial || cert.serial() == 0 {
        return mismatch("serial");
    }
    if cert.key_id() != p.key_id {
        return mismatch("key id");
    }
    if cert.valid_principals().is_empty() || cert.valid_principals() != p.principals.as_slice() {
        return mismatch("principals");
    }
    if cert.valid_after() != p.valid_after || cert.valid_before() != p.valid_before {
        return mismatch("validity");
    }
    let mut want_crit: Vec<(&str, &str)> = Vec::new();
    if let Some(c) = &p.force_command {
        want_crit.push(("force-command", c));
    }
    if let Some(s) = &p.source_address {
        want_crit.push(("source-address", s));
    }
    want_crit.sort();
    let got_crit: Vec<(&str, &str)> = cert
        .critical_options()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if got_crit != want_crit {
        return mismatch("critical options");
    }
    let got_ext: Vec<(&str, &str)> = cert
        .extensions()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let want_ext: Vec<(&str, &str)> = p.extensions.iter().map(|e| (e.as_str(), "")).collect();
    if got_ext != want_ext {
        return mismatch("extensions");
    }
    if cert.signature_key() != &KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(*ca)) {
        return mismatch("signature key");
    }
    // The signed bytes: the certificate's encoding up to its last field,
    // string(signature blob) where the blob is string("ssh-ed25519") || string(sig).
    let sig = cert.signature();
    if sig.algorithm() != Algorithm::Ed25519 || sig.as_bytes().len() != 64 {
        return Err("the signature is not Ed25519".into());
    }
    let bytes = cert.to_bytes().map_err(|e| format!("cannot encode: {e}"))?;
    let mut blob = Vec::with_capacity(87);
    blob.extend_from_slice(&83u32.to_be_bytes());
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&64u32.to_be_bytes());
    blob.extend_from_slice(sig.as_bytes());
    let tbs = bytes
        .strip_suffix(blob.as_slice())
        .ok_or_else(|| "the signature is not the last field".to_string())?;
    let vk = VerifyingKey::from_bytes(ca).map_err(|e| format!("CA key: {e}"))?;
    let mut s = [0u8; 64];
    s.copy_from_slice(sig.as_bytes());
    vk.verify_strict(tbs, &EdSignature::from_bytes(&s))
        .map_err(|_| "the signature does not verify under the CA key".to_string())?;
    // Not also ssh-key's `validate_at`: it would verify the same signature a
    // second time (a third of an issuance's time) and check the window the
    // comparison above already pins; the tests run it on every vector.
    Ok(())
}

/// The certificate path beside a public key, as `ssh-keygen -s` writes it:
/// `id_ed25519.pub` → `id_ed25519-cert.pub`; a name without `.pub` gets
/// `-cert.pub` appended.
pub fn cert_path_for(pub_path: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
    let b = pub_path.as_os_str().as_bytes();
    let mut v = b.strip_suffix(b".pub").unwrap_or(b).to_vec();
    v.extend_from_slice(b"-cert.pub");
    std::path::PathBuf::from(std::ffi::OsString::from_vec(v))
}

/// The certificate request path under a fuzzer (fuzz/fuzz_targets/ssh_cert_request.rs):
/// `data` is lines of a request (public key, logins, host groups,
/// force-command, source-address, extensions, separated by spaces where
/// lists; an empty line is "none") followed by the TTL and serial as text.
/// Asserts the profile's invariants on every accepted request, and that its
/// certificate signs and passes the check after signing.
#[doc(hidden)]
pub fn fuzz_request(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let mut next = || lines.next().unwrap_or("");
    let key = next();
    let list = |l: &str| -> Vec<String> {
        l.split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let logins = list(next());
    let groups = list(next());
    let opt = |l: &str| (!l.is_empty()).then(|| l.to_string());
    let fc = opt(next());
    let sa = opt(next());
    let ext_line = next();
    let ext = (ext_line != "default").then(|| list(ext_line));
    let ttl: u64 = next().trim().parse().unwrap_or(DEFAULT_TTL_SECS);
    let serial: u64 = next().trim().parse().unwrap_or(1);
    let limits = Limits {
        max_ttl_secs: MAX_TTL_SECS,
        allowed_extensions: KNOWN_EXTENSIONS.iter().map(|s| s.to_string()).collect(),
    };
    let req = Request {
        public_key: key,
        logins: &logins,
        host_groups: &groups,
        grant_id: [0x5a; 16],
        serial,
        nonce: [0xa5; NONCE_LEN],
        not_before: 1_800_000_000,
        ttl_secs: ttl,
        force_command: fc.as_deref(),
        source_address: sa.as_deref(),
        extensions: ext.as_deref(),
    };
    let Ok(p) = profile(&req, &limits) else {
        return;
    };
    assert!(!p.principals.is_empty());
    assert!(p
        .principals
        .iter()
        .all(|x| !x.contains(['*', '?', ',', '!'])));
    assert!(p.serial != 0);
    assert!(
        (MIN_TTL_SECS..=MAX_TTL_SECS).contains(&(p.valid_before - p.valid_after - BACKDATE_SECS))
    );
    if p.force_command.is_some() {
        assert!(p
            .extensions
            .iter()
            .all(|e| !NOT_WITH_FORCE_COMMAND.contains(&e.as_str())));
    }
    assert!(p
        .extensions
        .iter()
        .all(|e| KNOWN_EXTENSIONS.contains(&e.as_str())));
    let ca = crate::keys::SigningKeyWithKid::from_seed("fuzz-ca", &[1; 32]).expect("seed");
    let signed = sign(&p, &ca, "fuzz").expect("an accepted profile signs and passes its check");
    assert!(!signed.openssh.contains('\n'));
}

#[cfg(test)]
pub(crate) mod tests;
pub mod vectors;
