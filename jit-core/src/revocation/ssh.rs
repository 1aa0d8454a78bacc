//! OpenSSH certificates and keys in a revocation list (docs/revocation.md
//! §2.1, §3.1): the rules for the members `ssh_serials`, `ssh_key_ids` and
//! `ssh_keys`, reading public keys and fingerprints as OpenSSH prints them,
//! and the KRL (OpenSSH's `RevokedKeys` file, PROTOCOL.krl) a host writes
//! from a verified list.
//!
//! Only what the list needs is parsed: a public key line's type and blob
//! (the blob's own type string must agree), the exact layout of an Ed25519
//! CA blob, and SHA-256 over a blob. No signature is ever checked with these
//! keys, so nothing more of them is decoded.

use base64::Engine as _;
use sha2::Digest as _;

use super::RevocationList;

/// The only CA key type a list names (docs/ssh-cert.md: the CA key is Ed25519).
pub const CA_KEY_TYPE: &str = "ssh-ed25519";
/// Length of an `ssh-ed25519` public key blob: string "ssh-ed25519", string of 32 bytes.
pub const ED25519_BLOB_LEN: usize = 4 + 11 + 4 + 32;
/// Longest certificate key id in a list.
pub const MAX_KEY_ID_LEN: usize = 256;
/// Largest public key blob read from a key line (an RSA key of 16384 bits fits).
pub const MAX_KEY_BLOB_LEN: usize = 4096;

/// The KRL file's magic ("SSHKRL\n\0") and format version (PROTOCOL.krl §1).
const KRL_MAGIC: &[u8; 8] = b"SSHKRL\n\0";
const KRL_FORMAT_VERSION: u32 = 1;
const KRL_SECTION_CERTIFICATES: u8 = 1;
const KRL_SECTION_FINGERPRINT_SHA256: u8 = 5;
const KRL_SECTION_CERT_SERIAL_LIST: u8 = 0x20;
const KRL_SECTION_CERT_KEY_ID: u8 = 0x23;

/// Whether `blob` is exactly an `ssh-ed25519` public key blob (§2.1).
pub fn check_ca_blob(blob: &[u8]) -> Result<(), String> {
    let ok = blob.len() == ED25519_BLOB_LEN
        && blob[..4] == 11u32.to_be_bytes()
        && &blob[4..15] == CA_KEY_TYPE.as_bytes()
        && blob[15..19] == 32u32.to_be_bytes();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "an ssh_serials CA is not an {CA_KEY_TYPE} public key blob of {ED25519_BLOB_LEN} bytes"
        ))
    }
}

/// Whether `id` may be a revoked key id (§2.1): 1 to 256 printable ASCII
/// characters (`!` to `~`; no space or control character).
pub fn check_key_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_KEY_ID_LEN {
        return Err(format!(
            "an ssh key id is {} bytes (1 to {MAX_KEY_ID_LEN})",
            id.len()
        ));
    }
    if let Some(c) = id.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "an ssh key id has the character {:?} (only ASCII '!' to '~')",
            c
        ));
    }
    Ok(())
}

/// The SHA-256 fingerprint of a public key blob (what `ssh-keygen -l` prints
/// after `SHA256:`).
pub fn fingerprint(blob: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(blob).into()
}

/// A fingerprint as OpenSSH prints it: `SHA256:` and unpadded base64.
pub fn fingerprint_text(fp: &[u8; 32]) -> String {
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(fp)
    )
}

/// Read `SHA256:` followed by 43 characters of unpadded standard base64.
pub fn parse_fingerprint(s: &str) -> Option<[u8; 32]> {
    let b = s.strip_prefix("SHA256:")?;
    if b.len() != 43 {
        return None;
    }
    let v = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(b)
        .ok()?;
    let fp: [u8; 32] = v.try_into().ok()?;
    // Zero trailing bits only: one text per fingerprint.
    (fingerprint_text(&fp) == s).then_some(fp)
}

/// A CA key as shown in outputs: its type and fingerprint.
pub fn ca_text(blob: &[u8]) -> String {
    format!("{CA_KEY_TYPE} {}", fingerprint_text(&fingerprint(blob)))
}

/// An OpenSSH public key line (`TYPE BASE64 [COMMENT]`, as in a `.pub` file
/// or authorized_keys without options): its type and blob. The blob must
/// start with the same type string. Certificates are refused: a list
/// revokes a certificate by serial or key id, or its key by fingerprint.
pub fn parse_public_key(line: &str) -> Result<(String, Vec<u8>), String> {
    let mut f = line.split_ascii_whitespace();
    let (Some(ty), Some(b64)) = (f.next(), f.next()) else {
        return Err("not an OpenSSH public key (TYPE BASE64 [COMMENT])".into());
    };
    if ty.contains("-cert-v") {
        return Err(format!(
            "{ty} is a certificate: revoke it by serial (--ssh-serial with --ssh-ca) or key id (--ssh-key-id), or its key"
        ));
    }
    let blob = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| "the key is not valid base64".to_string())?;
    if blob.len() > MAX_KEY_BLOB_LEN {
        return Err(format!("the key blob is over {MAX_KEY_BLOB_LEN} bytes"));
    }
    let inner = blob
        .get(..4)
        .map(|n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize)
        .and_then(|n| blob.get(4..4 + n));
    if inner != Some(ty.as_bytes()) {
        return Err(format!("the key blob's type is not {ty}"));
    }
    if ty == CA_KEY_TYPE {
        check_ca_blob(&blob).map_err(|_| format!("not a valid {CA_KEY_TYPE} key"))?;
    }
    // OpenSSH fingerprints a key's canonical encoding (an RSA mpint with a
    // redundant leading zero is the same key): a blob that does not
    // re-encode to itself would be revoked under a fingerprint sshd never
    // computes, so it is refused.
    let canonical = ssh_key::PublicKey::from_bytes(&blob)
        .and_then(|k| k.to_bytes())
        .map_err(|e| format!("not a valid {ty} key: {e}"))?;
    if canonical != blob {
        return Err(format!(
            "the {ty} key is not in its canonical encoding: give the key as ssh-keygen writes it"
        ));
    }
    Ok((ty.to_string(), blob))
}

fn put_u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&n.to_be_bytes());
}

fn put_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_be_bytes());
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    // Every string here is far below 4 GiB (a list is at most 256 KiB).
    put_u32(out, u32::try_from(s.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(s);
}

fn section(out: &mut Vec<u8>, ty: u8, data: &[u8]) {
    out.push(ty);
    put_string(out, data);
}

/// The key ids a list revokes under any CA (§3.1): its `ssh_key_ids` and
/// every revoked token id as 32 lower-case hex digits (the key id of the
/// same grant's certificate, docs/ssh-cert.md), sorted and unique.
pub fn revoked_key_ids(list: &RevocationList) -> Vec<String> {
    let mut ids: std::collections::BTreeSet<String> = list.ssh_key_ids.keys().cloned().collect();
    ids.extend(list.tokens.keys().map(|c| crate::text::hex(c)));
    ids.into_iter().collect()
}

/// The KRL of a verified list (§3.1), byte for byte: PROTOCOL.krl format
/// version 1, `krl_version` = the list's version, `generated_date` = its
/// `iat`, no flags, empty reserved field, comment `jit revocation list
/// version N`; then, each only when non-empty and in this order: one
/// certificate section per `ssh_serials` CA (in the list's order) with one
/// serial list, one certificate section for any CA (empty `ca_key`) with the
/// key ids of [`revoked_key_ids`], one SHA-256 fingerprint section with
/// `ssh_keys` in ascending order. No signature section (OpenSSH 9.4 and
/// later refuse KRLs that carry one): the list's signature was checked
/// before this is written. A list with none of these gives the header
/// alone, a valid KRL that revokes nothing.
pub fn krl(list: &RevocationList) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(KRL_MAGIC);
    put_u32(&mut out, KRL_FORMAT_VERSION);
    put_u64(&mut out, list.version);
    put_u64(&mut out, u64::try_from(list.iat).unwrap_or(0));
    put_u64(&mut out, 0);
    put_string(&mut out, b"");
    put_string(
        &mut out,
        format!("jit revocation list version {}", list.version).as_bytes(),
    );
    for (ca, serials) in &list.ssh_serials {
        let mut body = Vec::new();
        put_string(&mut body, ca);
        put_string(&mut body, b"");
        let mut data = Vec::with_capacity(serials.len() * 8);
        for s in serials.keys() {
            put_u64(&mut data, *s);
        }
        section(&mut body, KRL_SECTION_CERT_SERIAL_LIST, &data);
        section(&mut out, KRL_SECTION_CERTIFICATES, &body);
    }
    let ids = revoked_key_ids(list);
    if !ids.is_empty() {
        let mut body = Vec::new();
        put_string(&mut body, b"");
        put_string(&mut body, b"");
        let mut data = Vec::new();
        for id in &ids {
            put_string(&mut data, id.as_bytes());
        }
        section(&mut body, KRL_SECTION_CERT_KEY_ID, &data);
        section(&mut out, KRL_SECTION_CERTIFICATES, &body);
    }
    if !list.ssh_keys.is_empty() {
        let mut data = Vec::new();
        for fp in &list.ssh_keys {
            put_string(&mut data, fp);
        }
        section(&mut out, KRL_SECTION_FINGERPRINT_SHA256, &data);
    }
    out
}
