//! Signing keys held in a PKCS#11 token (an HSM, a smart card, SoftHSM2).
//!
//! The Ed25519 private key never leaves the token: jit-signer asks the token
//! to sign (CKM_EDDSA, pure Ed25519) and checks every signature against the
//! token's public key before using it (`jit_core::keys::sign_checked`; this
//! backend is `external()`). See docs/jit-signer.md, "Keys in an HSM".
//!
//! Keys are named by an RFC 7512 `pkcs11:` URI, of which a strict subset is
//! accepted (see [`Pkcs11Uri::parse`]). The PIN comes from `--pin-file` (a
//! regular file owned by the caller, no group/other permissions) or the
//! environment variable `JIT_PKCS11_PIN`, never from the command line.
//!
//! All unsafe code (the C interface) lives in the `cryptoki` crate.

use std::fs;
use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use jit_core::keys::{is_valid_kid, parse_public_key, SignError, Signer};
use zeroize::Zeroizing;

use crate::Fail;

/// Environment variable the PIN is read from when no `--pin-file` is given.
pub const PIN_ENV: &str = "JIT_PKCS11_PIN";

/// DER of the RFC 8410 OID id-Ed25519 (1.3.101.112), our CKA_EC_PARAMS.
const ED25519_OID_DER: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
/// PKCS#11 3.0 also allows the curve name as a PrintableString.
const ED25519_NAME_DER: &[u8] = b"\x13\x0cedwards25519";

/// A PIN file larger than this is refused rather than truncated.
const MAX_PIN_FILE: u64 = 4096;

/// Exit code for PKCS#11 failures that are not about the key itself: the
/// module cannot be loaded, the token is not found, login fails.
pub const EXIT_PKCS11: u8 = 5;

fn usage(e: anyhow::Error) -> Fail {
    Fail { code: 2, err: e }
}
fn key_err(e: anyhow::Error) -> Fail {
    Fail { code: 4, err: e }
}
fn hsm_err(e: anyhow::Error) -> Fail {
    Fail {
        code: EXIT_PKCS11,
        err: e,
    }
}

/// The accepted subset of an RFC 7512 PKCS#11 URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token=`: the token label.
    pub token: Option<String>,
    /// `serial=`: the token serial number.
    pub serial: Option<String>,
    /// `object=`: the key label (CKA_LABEL), which is also the kid.
    pub object: Option<String>,
    /// `id=`: the key id (CKA_ID), raw bytes.
    pub id: Option<Vec<u8>>,
    /// `module-path=` (query): absolute path of the PKCS#11 module.
    pub module_path: PathBuf,
}

/// Decode RFC 3986 percent-encoding; `allowed` says which raw bytes may
/// appear unencoded.
fn pct_decode(s: &str, allowed: fn(u8) -> bool) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                .ok_or_else(|| format!("bad percent-encoding in {s:?}"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
            i += 3;
        } else if allowed(b[i]) {
            out.push(b[i]);
            i += 1;
        } else {
            return Err(format!(
                "character {:?} must be percent-encoded in {s:?}",
                b[i] as char
            ));
        }
    }
    Ok(out)
}

fn unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

/// RFC 7512 pk11-pchar (without '%', handled by the decoder).
fn path_char(c: u8) -> bool {
    unreserved(c)
        || matches!(
            c,
            b':' | b'['
                | b']'
                | b'@'
                | b'!'
                | b'$'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b'&'
        )
}

/// RFC 7512 pk11-qchar (without '%').
fn query_char(c: u8) -> bool {
    unreserved(c)
        || matches!(
            c,
            b':' | b'['
                | b']'
                | b'@'
                | b'!'
                | b'$'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'/'
                | b'?'
                | b'|'
        )
}

fn text_value(name: &str, raw: &[u8]) -> Result<String, String> {
    let s = String::from_utf8(raw.to_vec()).map_err(|_| format!("{name}= is not UTF-8"))?;
    if s.is_empty() {
        return Err(format!("{name}= is empty"));
    }
    if s.chars().any(char::is_control) {
        return Err(format!("{name}= contains a control character"));
    }
    Ok(s)
}

impl Pkcs11Uri {
    /// Parse `pkcs11:ATTR=VALUE;...?module-path=/abs/path`.
    ///
    /// Path attributes: `token`, `serial`, `object`, `id`, and `type` (only
    /// `private`). Query attribute: `module-path` (required, absolute).
    /// Everything else is refused: `pin-value` and `pin-source` (the PIN
    /// never goes on a command line; use `--pin-file` or `JIT_PKCS11_PIN`),
    /// other RFC 7512 attributes, repeated attributes, fragments.
    pub fn parse(s: &str) -> Result<Pkcs11Uri, String> {
        let rest = s
            .strip_prefix("pkcs11:")
            .ok_or("a PKCS#11 URI starts with \"pkcs11:\"")?;
        if rest.contains('#') {
            return Err("a fragment (#...) is not allowed".into());
        }
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut uri = Pkcs11Uri {
            token: None,
            serial: None,
            object: None,
            id: None,
            module_path: PathBuf::new(),
        };
        let mut seen_type = false;
        if !path.is_empty() {
            for attr in path.split(';') {
                let (name, value) = attr
                    .split_once('=')
                    .ok_or_else(|| format!("path attribute {attr:?} is not NAME=VALUE"))?;
                let raw = pct_decode(value, path_char)?;
                let dup = || format!("attribute {name}= given twice");
                match name {
                    "token" => {
                        if uri.token.replace(text_value(name, &raw)?).is_some() {
                            return Err(dup());
                        }
                    }
                    "serial" => {
                        if uri.serial.replace(text_value(name, &raw)?).is_some() {
                            return Err(dup());
                        }
                    }
                    "object" => {
                        if uri.object.replace(text_value(name, &raw)?).is_some() {
                            return Err(dup());
                        }
                    }
                    "id" => {
                        if raw.is_empty() {
                            return Err("id= is empty".into());
                        }
                        if uri.id.replace(raw).is_some() {
                            return Err(dup());
                        }
                    }
                    "type" => {
                        if seen_type {
                            return Err(dup());
                        }
                        seen_type = true;
                        if raw != b"private" {
                            return Err(
                                "type= must be \"private\" (the signing key) if given".into()
                            );
                        }
                    }
                    "pin-value" | "pin-source" => return Err(pin_refusal(name)),
                    other => {
                        return Err(format!(
                            "unsupported path attribute {other:?} (use token, serial, object, id, type)"
                        ))
                    }
                }
            }
        }
        let mut module: Option<PathBuf> = None;
        for attr in query.unwrap_or("").split('&').filter(|a| !a.is_empty()) {
            let (name, value) = attr
                .split_once('=')
                .ok_or_else(|| format!("query attribute {attr:?} is not NAME=VALUE"))?;
            let raw = pct_decode(value, query_char)?;
            match name {
                "module-path" => {
                    let p = PathBuf::from(text_value(name, &raw)?);
                    if !p.is_absolute() {
                        return Err("module-path= must be an absolute path".into());
                    }
                    if module.replace(p).is_some() {
                        return Err("attribute module-path= given twice".into());
                    }
                }
                "pin-value" | "pin-source" => return Err(pin_refusal(name)),
                other => {
                    return Err(format!(
                        "unsupported query attribute {other:?} (the only one is module-path)"
                    ))
                }
            }
        }
        uri.module_path = module.ok_or(
            "missing ?module-path=/path/to/module.so (e.g. /usr/lib/softhsm/libsofthsm2.so)",
        )?;
        if uri.token.is_none() && uri.serial.is_none() {
            return Err("name the token: token=LABEL and/or serial=SERIAL".into());
        }
        Ok(uri)
    }
}

fn pin_refusal(name: &str) -> String {
    format!(
        "{name}= is refused: the PIN never goes on a command line; use --pin-file FILE or {PIN_ENV}"
    )
}

/// Read the PIN: from `pin_file` (regular file, owned by the caller, no
/// group/other permission bits; one trailing newline is dropped), else from
/// `JIT_PKCS11_PIN`. `Ok(None)` when neither is given.
pub fn read_pin(pin_file: Option<&Path>) -> Result<Option<AuthPin>, Fail> {
    let env = std::env::var_os(PIN_ENV);
    let text: Zeroizing<String> = match (pin_file, env) {
        (Some(_), Some(_)) => {
            return Err(usage(anyhow!(
                "both --pin-file and {PIN_ENV} are set; give only one"
            )))
        }
        (None, None) => return Ok(None),
        (None, Some(v)) => Zeroizing::new(
            v.into_string()
                .map_err(|_| usage(anyhow!("{PIN_ENV} is not UTF-8")))?,
        ),
        (Some(p), None) => {
            let mut f = fs::File::open(p)
                .with_context(|| format!("opening PIN file {}", p.display()))
                .map_err(|e| Fail { code: 3, err: e })?;
            let md = f
                .metadata()
                .with_context(|| format!("PIN file {}", p.display()))
                .map_err(|e| Fail { code: 3, err: e })?;
            crate::secret_file::check_private_file(&md, p, "PIN file")?;
            let mut s = Zeroizing::new(String::new());
            f.by_ref()
                .take(MAX_PIN_FILE + 1)
                .read_to_string(&mut s)
                .with_context(|| format!("reading PIN file {}", p.display()))
                .map_err(|e| Fail { code: 3, err: e })?;
            if s.len() as u64 > MAX_PIN_FILE {
                return Err(key_err(anyhow!(
                    "PIN file {} is larger than {MAX_PIN_FILE} bytes",
                    p.display()
                )));
            }
            s
        }
    };
    let pin = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if pin.is_empty() {
        return Err(usage(anyhow!("the PIN is empty")));
    }
    if pin.contains(['\n', '\r']) {
        return Err(usage(anyhow!("the PIN spans several lines")));
    }
    Ok(Some(AuthPin::from(pin)))
}

/// A PKCS#11 error with the cause spelled out.
fn ck(what: &str, e: CkError) -> anyhow::Error {
    let hint = match &e {
        CkError::Pkcs11(rv, _) => match rv {
            RvError::PinIncorrect => "wrong PIN",
            RvError::PinLocked => "the PIN is locked (too many wrong PINs); the SO must reset it",
            RvError::PinExpired => "the PIN has expired",
            RvError::PinLenRange => "wrong PIN (its length is out of the token's range)",
            RvError::MechanismInvalid | RvError::MechanismParamInvalid => {
                "mechanism not supported by the token or for this key"
            }
            RvError::KeyTypeInconsistent | RvError::KeyFunctionNotPermitted => {
                "the key cannot be used for Ed25519 signing"
            }
            RvError::TokenNotPresent | RvError::DeviceRemoved => "the token is not present",
            RvError::UserNotLoggedIn => "not logged in (no PIN given?)",
            _ => "",
        },
        CkError::LibraryLoading(_) => "cannot load the PKCS#11 module",
        _ => "",
    };
    if hint.is_empty() {
        anyhow!("{what}: {e}")
    } else {
        anyhow!("{what}: {hint} ({e})")
    }
}

/// An open token session with the module loaded.
struct Opened {
    ctx: Pkcs11,
    slot: Slot,
    session: Session,
}

fn check_module(p: &Path) -> Result<(), Fail> {
    let md = fs::metadata(p)
        .with_context(|| format!("PKCS#11 module {}", p.display()))
        .map_err(hsm_err)?;
    if !md.is_file() {
        return Err(hsm_err(anyhow!(
            "PKCS#11 module {} is not a regular file",
            p.display()
        )));
    }
    if md.mode() & 0o022 != 0 {
        return Err(hsm_err(anyhow!(
            "PKCS#11 module {} is writable by group or others (mode {:04o}); refusing to load it",
            p.display(),
            md.mode() & 0o7777
        )));
    }
    Ok(())
}

fn open(uri: &Pkcs11Uri, pin_file: Option<&Path>, rw: bool) -> Result<Opened, Fail> {
    let pin = read_pin(pin_file)?;
    check_module(&uri.module_path)?;
    let ctx = Pkcs11::new(&uri.module_path)
        .map_err(|e| ck(&format!("loading {}", uri.module_path.display()), e))
        .map_err(hsm_err)?;
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .map_err(|e| ck("C_Initialize", e))
        .map_err(hsm_err)?;
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| ck("listing slots", e))
        .map_err(hsm_err)?;
    let mut found = Vec::new();
    let mut seen = Vec::new();
    for slot in slots {
        let ti = match ctx.get_token_info(slot) {
            Ok(t) => t,
            Err(_) => continue,
        };
        if ti.token_initialized() {
            seen.push(format!("{:?} (serial {})", ti.label(), ti.serial_number()));
        }
        let label_ok = uri.token.as_deref().map_or(true, |l| ti.label() == l);
        let serial_ok = uri
            .serial
            .as_deref()
            .map_or(true, |s| ti.serial_number() == s);
        if label_ok && serial_ok && ti.token_initialized() {
            found.push((slot, ti));
        }
    }
    let want = match (&uri.token, &uri.serial) {
        (Some(l), Some(s)) => format!("label {l:?} and serial {s:?}"),
        (Some(l), None) => format!("label {l:?}"),
        (None, Some(s)) => format!("serial {s:?}"),
        (None, None) => "any".into(),
    };
    let (slot, ti) = match found.len() {
        0 => {
            return Err(hsm_err(anyhow!(
                "token not found: no initialized token with {want} (tokens present: {})",
                if seen.is_empty() {
                    "none".to_string()
                } else {
                    seen.join(", ")
                }
            )))
        }
        1 => found.remove(0),
        n => {
            return Err(hsm_err(anyhow!(
                "{n} tokens match {want}; add serial= to the URI to pick one"
            )))
        }
    };
    let session = if rw {
        ctx.open_rw_session(slot)
    } else {
        ctx.open_ro_session(slot)
    }
    .map_err(|e| ck("opening a session", e))
    .map_err(hsm_err)?;
    match (&pin, ti.protected_authentication_path()) {
        (Some(p), _) => session.login(UserType::User, Some(p)),
        (None, true) => session.login(UserType::User, None),
        (None, false) => {
            return Err(usage(anyhow!(
                "no PIN: give --pin-file FILE or set {PIN_ENV}"
            )))
        }
    }
    .map_err(|e| ck(&format!("logging in to token {:?}", ti.label()), e))
    .map_err(hsm_err)?;
    let mechs = ctx
        .get_mechanism_list(slot)
        .map_err(|e| ck("listing mechanisms", e))
        .map_err(hsm_err)?;
    if !mechs.contains(&MechanismType::EDDSA) {
        return Err(key_err(anyhow!(
            "mechanism not supported: token {:?} does not offer CKM_EDDSA (Ed25519 signing)",
            ti.label()
        )));
    }
    Ok(Opened { ctx, slot, session })
}

/// The 32-byte Ed25519 public key from CKA_EC_POINT: exactly a DER OCTET
/// STRING of length 32 (`04 20 || key`), a canonical, non-weak point.
pub fn parse_ec_point(der: &[u8]) -> Result<[u8; 32], String> {
    let key: [u8; 32] = match der {
        [0x04, 0x20, rest @ ..] => rest.try_into().map_err(|_| {
            format!(
                "CKA_EC_POINT is not a 32-byte OCTET STRING ({} bytes after the header)",
                rest.len()
            )
        })?,
        _ => {
            return Err(format!(
                "CKA_EC_POINT is not a DER OCTET STRING of 32 bytes ({} bytes, starts {:02x?})",
                der.len(),
                &der[..der.len().min(2)]
            ))
        }
    };
    parse_public_key(&URL_SAFE_NO_PAD.encode(key)).map_err(|e| format!("CKA_EC_POINT: {e}"))?;
    Ok(key)
}

/// The key pair selected by a URI, checked to be an Ed25519 signing key.
struct Selected {
    key: ObjectHandle,
    kid: String,
    public: [u8; 32],
}

fn describe(uri: &Pkcs11Uri) -> String {
    match (&uri.object, &uri.id) {
        (Some(o), Some(i)) => format!("label {o:?} and id {}", hex(i)),
        (Some(o), None) => format!("label {o:?}"),
        (None, Some(i)) => format!("id {}", hex(i)),
        (None, None) => "(none)".into(),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn find_one(
    s: &Session,
    class: ObjectClass,
    label: Option<&[u8]>,
    id: Option<&[u8]>,
    what: &str,
) -> Result<Option<ObjectHandle>, Fail> {
    let mut t = vec![Attribute::Class(class)];
    if let Some(l) = label {
        t.push(Attribute::Label(l.to_vec()));
    }
    if let Some(i) = id {
        t.push(Attribute::Id(i.to_vec()));
    }
    let found = s
        .find_objects(&t)
        .map_err(|e| ck("searching the token", e))
        .map_err(hsm_err)?;
    match found.len() {
        0 => Ok(None),
        1 => Ok(Some(found[0])),
        n => Err(key_err(anyhow!(
            "several keys match: {n} {what} objects; make the URI unique (add id=)"
        ))),
    }
}

/// The labels of the private keys on the token, for error messages.
fn private_key_labels(s: &Session) -> String {
    let keys = s
        .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
        .unwrap_or_default();
    let mut labels: Vec<String> = keys
        .iter()
        .filter_map(|k| s.get_attributes(*k, &[AttributeType::Label]).ok())
        .flat_map(|attrs| attrs.into_iter())
        .filter_map(|a| match a {
            Attribute::Label(l) => Some(format!("{:?}", String::from_utf8_lossy(&l))),
            _ => None,
        })
        .collect();
    labels.sort();
    if labels.is_empty() {
        "none".into()
    } else {
        labels.join(", ")
    }
}

fn select(s: &Session, uri: &Pkcs11Uri) -> Result<Selected, Fail> {
    if uri.object.is_none() && uri.id.is_none() {
        return Err(usage(anyhow!(
            "the URI does not name a key: add object=LABEL (the kid) or id=%XX..."
        )));
    }
    let key = find_one(
        s,
        ObjectClass::PRIVATE_KEY,
        uri.object.as_deref().map(str::as_bytes),
        uri.id.as_deref(),
        "private key",
    )?
    .ok_or_else(|| {
        key_err(anyhow!(
            "key not found: no private key with {} on the token (private keys present: {})",
            describe(uri),
            private_key_labels(s)
        ))
    })?;
    let attrs = s
        .get_attributes(
            key,
            &[
                AttributeType::KeyType,
                AttributeType::EcParams,
                AttributeType::Label,
                AttributeType::Id,
                AttributeType::Sign,
            ],
        )
        .map_err(|e| ck("reading the private key's attributes", e))
        .map_err(hsm_err)?;
    let mut key_type = None;
    let mut params = None;
    let mut label = None;
    let mut id = None;
    for a in &attrs {
        match a {
            Attribute::KeyType(k) => key_type = Some(*k),
            Attribute::EcParams(p) => params = Some(p.clone()),
            Attribute::Label(l) => label = Some(l.clone()),
            Attribute::Id(i) => id = Some(i.clone()),
            _ => {}
        }
    }
    match key_type {
        Some(k) if k == KeyType::EC_EDWARDS => {}
        Some(k) => {
            return Err(key_err(anyhow!(
                "mechanism not supported: key {} is a {k} key; jit signs with Ed25519 (CKK_EC_EDWARDS, CKM_EDDSA) only",
                describe(uri)
            )))
        }
        None => return Err(key_err(anyhow!("key {} has no CKA_KEY_TYPE", describe(uri)))),
    }
    match params.as_deref() {
        Some(p) if p == ED25519_OID_DER || p == ED25519_NAME_DER => {}
        Some(p) => {
            return Err(key_err(anyhow!(
                "mechanism not supported: key {} is on Edwards curve parameters {} (not Ed25519; Ed448 is not supported)",
                describe(uri),
                hex(p)
            )))
        }
        None => {
            return Err(key_err(anyhow!(
                "key {} has no CKA_EC_PARAMS",
                describe(uri)
            )))
        }
    }
    if !attrs.iter().any(|a| matches!(a, Attribute::Sign(true))) {
        return Err(key_err(anyhow!(
            "key {} may not sign (CKA_SIGN is not true)",
            describe(uri)
        )));
    }
    let label = label.unwrap_or_default();
    let kid = String::from_utf8(label.clone())
        .ok()
        .filter(|k| is_valid_kid(k))
        .ok_or_else(|| {
            key_err(anyhow!(
                "the key's label (CKA_LABEL {:?}) is not a valid kid: use 1 to 64 characters from A-Z a-z 0-9 . _ -",
                String::from_utf8_lossy(&label)
            ))
        })?;
    let id = id.filter(|i| !i.is_empty());
    // The public half: same label and (if the private key has one) same id.
    let pubh = find_one(
        s,
        ObjectClass::PUBLIC_KEY,
        Some(&label),
        id.as_deref(),
        "public key",
    )?
    .ok_or_else(|| {
        key_err(anyhow!(
            "key {kid:?}: no public key object with the same label{} on the token",
            if id.is_some() { " and id" } else { "" }
        ))
    })?;
    let pattrs = s
        .get_attributes(pubh, &[AttributeType::KeyType, AttributeType::EcPoint])
        .map_err(|e| ck("reading the public key", e))
        .map_err(hsm_err)?;
    let mut point = None;
    for a in pattrs {
        match a {
            Attribute::KeyType(k) if k != KeyType::EC_EDWARDS => {
                return Err(key_err(anyhow!(
                    "key {kid:?}: the public key object is a {k} key, not Ed25519"
                )))
            }
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    let point = point.ok_or_else(|| key_err(anyhow!("key {kid:?}: no CKA_EC_POINT")))?;
    let public = parse_ec_point(&point).map_err(|e| key_err(anyhow!("key {kid:?}: {e}")))?;
    Ok(Selected { key, kid, public })
}

/// An Ed25519 key in a PKCS#11 token, as a [`Signer`].
pub struct Pkcs11Signer {
    // Field order = drop order: the session closes before the module is
    // finalized.
    session: Session,
    _ctx: Pkcs11,
    key: ObjectHandle,
    kid: String,
    public: [u8; 32],
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// Load the module named by `uri`, log in, and select the key.
    pub fn open(uri: &str, pin_file: Option<&Path>) -> Result<Self, Fail> {
        let u = Pkcs11Uri::parse(uri).map_err(|e| usage(anyhow!("--pkcs11: {e}")))?;
        let o = open(&u, pin_file, false)?;
        let sel = select(&o.session, &u)?;
        Ok(Pkcs11Signer {
            session: o.session,
            _ctx: o.ctx,
            key: sel.key,
            kid: sel.kid,
            public: sel.public,
        })
    }
}

/// The trusted-keys line (docs/trusted-keys.md) for `kid` and a public key.
pub fn trusted_line(kid: &str, public: &[u8; 32]) -> String {
    format!("{kid} ed25519 {}\n", URL_SAFE_NO_PAD.encode(public))
}

impl Signer for Pkcs11Signer {
    fn kid(&self) -> &str {
        &self.kid
    }
    fn public_key(&self) -> Result<[u8; 32], SignError> {
        Ok(self.public)
    }
    fn sign(&self, msg: &[u8]) -> Result<[u8; 64], SignError> {
        let mech = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        let sig = self
            .session
            .sign(&mech, self.key, msg)
            .map_err(|e| SignError(format!("{:#}", ck("PKCS#11 C_Sign", e))))?;
        sig.as_slice().try_into().map_err(|_| {
            SignError(format!(
                "PKCS#11 C_Sign returned {} bytes, not a 64-byte Ed25519 signature",
                sig.len()
            ))
        })
    }
    // external() stays true: sign_checked verifies every signature.
}

/// Generate an Ed25519 key pair inside the token (CKA_TOKEN, CKA_SENSITIVE,
/// not CKA_EXTRACTABLE) labelled `kid`, and return its trusted-keys line.
/// Refuses if any object on the token already carries that label.
pub fn keygen(uri: &str, kid: &str, pin_file: Option<&Path>) -> Result<String, Fail> {
    let u = Pkcs11Uri::parse(uri).map_err(|e| usage(anyhow!("--pkcs11: {e}")))?;
    if !is_valid_kid(kid) {
        return Err(usage(anyhow!(
            "invalid kid {kid:?}: use 1 to 64 characters from A-Z a-z 0-9 . _ -"
        )));
    }
    if let Some(o) = &u.object {
        if o != kid {
            return Err(usage(anyhow!(
                "the URI's object={o:?} differs from --kid {kid:?} (the key label is the kid)"
            )));
        }
    }
    let o = open(&u, pin_file, true)?;
    let mechs = o
        .ctx
        .get_mechanism_list(o.slot)
        .map_err(|e| ck("listing mechanisms", e))
        .map_err(hsm_err)?;
    if !mechs.contains(&MechanismType::ECC_EDWARDS_KEY_PAIR_GEN) {
        return Err(key_err(anyhow!(
            "mechanism not supported: the token does not offer CKM_EC_EDWARDS_KEY_PAIR_GEN"
        )));
    }
    let existing = o
        .session
        .find_objects(&[Attribute::Label(kid.as_bytes().to_vec())])
        .map_err(|e| ck("searching the token", e))
        .map_err(hsm_err)?;
    if !existing.is_empty() {
        return Err(Fail {
            code: 3,
            err: anyhow!(
                "the token already holds {} object(s) labelled {kid:?}; refusing to create another key with that label",
                existing.len()
            ),
        });
    }
    let id = match &u.id {
        Some(i) => i.clone(),
        None => jit_core::token::random_cti()
            .map_err(|e| Fail {
                code: 3,
                err: anyhow!(e),
            })?
            .to_vec(),
    };
    let common = [
        Attribute::Token(true),
        Attribute::Label(kid.as_bytes().to_vec()),
        Attribute::Id(id.clone()),
        Attribute::KeyType(KeyType::EC_EDWARDS),
    ];
    let mut public_t = common.to_vec();
    public_t.extend([
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::Encrypt(false),
        Attribute::Wrap(false),
        Attribute::Derive(false),
        Attribute::EcParams(ED25519_OID_DER.to_vec()),
    ]);
    let mut private_t = common.to_vec();
    private_t.extend([
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::AllowedMechanisms(vec![MechanismType::EDDSA]),
        Attribute::Decrypt(false),
        Attribute::Unwrap(false),
        Attribute::Derive(false),
    ]);
    o.session
        .generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public_t, &private_t)
        .map_err(|e| ck("generating the Ed25519 key pair in the token", e))
        .map_err(hsm_err)?;
    let sel_uri = Pkcs11Uri {
        object: Some(kid.to_string()),
        id: Some(id),
        ..u
    };
    let sel = select(&o.session, &sel_uri)?;
    Ok(trusted_line(&sel.kid, &sel.public))
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str = "?module-path=/usr/lib/softhsm/libsofthsm2.so";

    #[test]
    fn parses_the_subset() {
        let u = Pkcs11Uri::parse(&format!("pkcs11:token=jit;object=ops-2026a{M}")).unwrap();
        assert_eq!(u.token.as_deref(), Some("jit"));
        assert_eq!(u.object.as_deref(), Some("ops-2026a"));
        assert_eq!(u.id, None);
        assert_eq!(
            u.module_path,
            PathBuf::from("/usr/lib/softhsm/libsofthsm2.so")
        );
        let u = Pkcs11Uri::parse(&format!(
            "pkcs11:serial=abc;id=%01%ff;type=private;token=my%20token{M}"
        ))
        .unwrap();
        assert_eq!(u.id, Some(vec![1, 0xff]));
        assert_eq!(u.token.as_deref(), Some("my token"));
        assert_eq!(u.serial.as_deref(), Some("abc"));
    }

    #[test]
    fn refuses_everything_else() {
        for (uri, want) in [
            ("pkcs:token=a?module-path=/m", "starts with"),
            ("token=a?module-path=/m", "starts with"),
            ("pkcs11:token=a", "module-path"),
            ("pkcs11:token=a?module-path=m.so", "absolute"),
            ("pkcs11:object=a?module-path=/m", "name the token"),
            ("pkcs11:token=a;token=b?module-path=/m", "twice"),
            ("pkcs11:token=a?module-path=/m&module-path=/n", "twice"),
            ("pkcs11:token=a;pin-value=1234?module-path=/m", "never"),
            ("pkcs11:token=a?module-path=/m&pin-value=1234", "never"),
            ("pkcs11:token=a?module-path=/m&pin-source=file:/p", "never"),
            ("pkcs11:token=a;slot-id=1?module-path=/m", "unsupported"),
            ("pkcs11:token=a?module-path=/m&module-name=x", "unsupported"),
            ("pkcs11:token=a;type=public?module-path=/m", "private"),
            ("pkcs11:token=a b?module-path=/m", "percent-encoded"),
            ("pkcs11:token=a%2?module-path=/m", "percent"),
            ("pkcs11:token=a%zz?module-path=/m", "percent"),
            ("pkcs11:token=a%0a?module-path=/m", "control"),
            ("pkcs11:token=?module-path=/m", "empty"),
            ("pkcs11:token=a;id=?module-path=/m", "empty"),
            ("pkcs11:token?module-path=/m", "NAME=VALUE"),
            ("pkcs11:token=a?module-path=/m#frag", "fragment"),
            ("pkcs11:token=%ff?module-path=/m", "UTF-8"),
        ] {
            let e = Pkcs11Uri::parse(uri).unwrap_err();
            assert!(e.contains(want), "{uri}: {e}");
        }
    }

    #[test]
    fn ec_point_is_strict() {
        let pk = jit_core::keys::SigningKeyWithKid::from_seed("k", &[3; 32])
            .unwrap()
            .verifying_key()
            .to_bytes();
        let mut der = vec![0x04, 0x20];
        der.extend_from_slice(&pk);
        assert_eq!(parse_ec_point(&der).unwrap(), pk);
        // Raw 32 bytes (no DER), wrong tag, wrong length, trailing byte.
        assert!(parse_ec_point(&pk).is_err());
        let mut t = der.clone();
        t[0] = 0x03;
        assert!(parse_ec_point(&t).is_err());
        let mut t = der.clone();
        t[1] = 0x21;
        t.push(0);
        assert!(parse_ec_point(&t).is_err());
        let mut t = der.clone();
        t.push(0);
        assert!(parse_ec_point(&t).unwrap_err().contains("33 bytes"));
        // Long-form length encoding of 32 is not DER.
        let mut t = vec![0x04, 0x81, 0x20];
        t.extend_from_slice(&pk);
        assert!(parse_ec_point(&t).is_err());
        // A weak (small-order) point.
        let mut ident = vec![0x04, 0x20, 1];
        ident.extend_from_slice(&[0; 31]);
        assert!(parse_ec_point(&ident).unwrap_err().contains("weak"));
        assert!(parse_ec_point(&[]).is_err());
    }
}
