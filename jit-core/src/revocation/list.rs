//! The payload of a revocation list (§2): its constraints, its deterministic
//! encoding, and matching a token against it (§3).

use std::collections::{BTreeMap, BTreeSet};

use super::PRUNE_MARGIN_SECS;
use crate::cose::cbor::Enc;
use crate::text::hex;
use crate::token::TokenInfo;

/// The payload of a revocation list (§2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RevocationList {
    /// Issuer (the signer's name, by default the kid).
    pub iss: String,
    /// When this version was made, Unix seconds.
    pub iat: i64,
    /// Version, at least 1; a host never accepts a lower one than it has seen.
    pub version: u64,
    /// Revoked token ids, each with the token's `exp` (for pruning).
    pub tokens: BTreeMap<[u8; 16], i64>,
    /// Users all of whose tokens are void.
    pub users: BTreeSet<String>,
    /// Per-user watermarks: tokens of that user with `iat < T` are void.
    pub watermarks: BTreeMap<String, i64>,
    /// Revoked OpenSSH certificates by serial (§2.1): CA public key blob
    /// (an `ssh-ed25519` wire blob) => serial => the certificate's expiry.
    pub ssh_serials: BTreeMap<Vec<u8>, BTreeMap<u64, i64>>,
    /// Revoked OpenSSH certificates by key id, under any CA (§2.1): key id
    /// => the certificate's expiry.
    pub ssh_key_ids: BTreeMap<String, i64>,
    /// Revoked OpenSSH public keys (and every certificate on them, or
    /// signed by them as a CA) by SHA-256 fingerprint (§2.1).
    pub ssh_keys: BTreeSet<[u8; 32]>,
}

/// Why a token is revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// Its token id is listed.
    TokenId,
    /// Its user is listed.
    User,
    /// It was issued before the user's watermark.
    IssuedBefore(i64),
}

/// Whether `s` may appear as a user name in a list: the user name rule of
/// [`crate::name`] (docs/names.md).
pub fn valid_user(s: &str) -> bool {
    crate::name::is_valid(crate::name::NameKind::User, s)
}

/// CBOR canonical order of text strings: shorter first, then bytewise.
fn canonical_text_order(a: &&String, b: &&String) -> std::cmp::Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

impl RevocationList {
    /// The constraints of §2 (`invalid_list`).
    pub fn check(&self) -> Result<(), String> {
        if self.iss.is_empty() {
            return Err("iss is empty".into());
        }
        if self.version == 0 {
            return Err("version is 0 (versions start at 1)".into());
        }
        if self.iat < 0 {
            return Err("iat is negative".into());
        }
        if self.tokens.values().any(|&e| e < 0) {
            return Err("a token exp is negative".into());
        }
        for u in self.users.iter().chain(self.watermarks.keys()) {
            crate::name::check(crate::name::NameKind::User, u).map_err(|e| e.to_string())?;
        }
        if self.watermarks.values().any(|&t| t < 0) {
            return Err("a watermark is negative".into());
        }
        for (ca, serials) in &self.ssh_serials {
            super::ssh::check_ca_blob(ca)?;
            if serials.is_empty() {
                return Err("an ssh_serials CA has no serials".into());
            }
            if serials.contains_key(&0) {
                return Err("an ssh serial is 0 (OpenSSH cannot revoke serial 0)".into());
            }
            if serials.values().any(|&e| e < 0) {
                return Err("an ssh serial exp is negative".into());
            }
        }
        for (id, exp) in &self.ssh_key_ids {
            super::ssh::check_key_id(id)?;
            if *exp < 0 {
                return Err("an ssh key id exp is negative".into());
            }
        }
        Ok(())
    }

    /// Whether the list holds any certificate or key revocation (§2.1).
    pub fn has_ssh(&self) -> bool {
        !(self.ssh_serials.is_empty() && self.ssh_key_ids.is_empty() && self.ssh_keys.is_empty())
    }

    /// The deterministic CBOR encoding of the payload (§2).
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::with_capacity(
            64 + self.tokens.len() * 24
                + self.users.len() * 16
                + self.ssh_keys.len() * 34
                + self.ssh_key_ids.len() * 48
                + self
                    .ssh_serials
                    .values()
                    .map(|s| 56 + s.len() * 18)
                    .sum::<usize>(),
        );
        // The optional members (§2.1) are present exactly when non-empty.
        let optional = [
            !self.ssh_keys.is_empty(),
            !self.ssh_key_ids.is_empty(),
            !self.ssh_serials.is_empty(),
        ];
        e.map(6 + optional.iter().filter(|&&p| p).count());
        e.head(0, 1);
        e.text(&self.iss);
        e.head(0, 6);
        e.int(self.iat);
        e.text("users");
        let mut users: Vec<&String> = self.users.iter().collect();
        users.sort_by(canonical_text_order);
        e.array(users.len());
        for u in users {
            e.text(u);
        }
        e.text("tokens");
        e.map(self.tokens.len());
        for (cti, exp) in &self.tokens {
            e.bytes(cti);
            e.int(*exp);
        }
        e.text("version");
        e.head(0, self.version);
        if !self.ssh_keys.is_empty() {
            e.text("ssh_keys");
            e.array(self.ssh_keys.len());
            for k in &self.ssh_keys {
                e.bytes(k);
            }
        }
        e.text("watermarks");
        let mut wm: Vec<&String> = self.watermarks.keys().collect();
        wm.sort_by(canonical_text_order);
        e.map(wm.len());
        for u in wm {
            e.text(u);
            e.int(self.watermarks.get(u).copied().unwrap_or_default());
        }
        if !self.ssh_key_ids.is_empty() {
            e.text("ssh_key_ids");
            let mut ids: Vec<&String> = self.ssh_key_ids.keys().collect();
            ids.sort_by(canonical_text_order);
            e.map(ids.len());
            for id in ids {
                e.text(id);
                e.int(self.ssh_key_ids.get(id).copied().unwrap_or_default());
            }
        }
        if !self.ssh_serials.is_empty() {
            e.text("ssh_serials");
            // CA blobs: canonical bstr order is shorter first, then bytewise.
            let mut cas: Vec<(&Vec<u8>, &BTreeMap<u64, i64>)> = self.ssh_serials.iter().collect();
            cas.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(b.0)));
            e.map(cas.len());
            for (ca, serials) in cas {
                e.bytes(ca);
                e.map(serials.len());
                for (serial, exp) in serials {
                    e.head(0, *serial);
                    e.int(*exp);
                }
            }
        }
        e.out
    }

    /// Whether the token with id `cti`, subject `sub`, issued at `iat` is
    /// revoked by this list (§3).
    pub fn is_revoked(&self, cti: &[u8; 16], sub: &str, iat: i64) -> Option<Revoked> {
        if self.tokens.contains_key(cti) {
            return Some(Revoked::TokenId);
        }
        if self.users.contains(sub) {
            return Some(Revoked::User);
        }
        match self.watermarks.get(sub) {
            Some(&t) if iat < t => Some(Revoked::IssuedBefore(t)),
            _ => None,
        }
    }

    /// [`RevocationList::is_revoked`] for a verified token. A token id that
    /// is not 32 hex digits cannot be looked up and counts as revoked.
    pub fn is_revoked_info(&self, t: &TokenInfo) -> Option<Revoked> {
        match parse_cti(&t.cti_hex) {
            Some(cti) => self.is_revoked(&cti, &t.sub, t.iat),
            None => Some(Revoked::TokenId),
        }
    }

    /// Drop token, certificate serial and key id entries whose
    /// `exp + PRUNE_MARGIN_SECS` is before `now` (a CA left without serials
    /// goes too). Returns how many entries were dropped.
    pub fn prune(&mut self, now: i64) -> usize {
        let live = |exp: &i64| exp.saturating_add(PRUNE_MARGIN_SECS) >= now;
        let before = self.entries();
        self.tokens.retain(|_, exp| live(exp));
        self.ssh_key_ids.retain(|_, exp| live(exp));
        for serials in self.ssh_serials.values_mut() {
            serials.retain(|_, exp| live(exp));
        }
        self.ssh_serials.retain(|_, serials| !serials.is_empty());
        before - self.entries()
    }

    /// The number of prunable entries (token ids, serials, key ids).
    fn entries(&self) -> usize {
        self.tokens.len()
            + self.ssh_key_ids.len()
            + self.ssh_serials.values().map(BTreeMap::len).sum::<usize>()
    }

    /// The list as JSON (for `--json` outputs).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "iss": self.iss,
            "iat": self.iat,
            "version": self.version,
            "tokens": self.tokens.iter().map(|(c, e)| serde_json::json!({"cti": hex(c), "exp": e})).collect::<Vec<_>>(),
            "users": self.users,
            "watermarks": self.watermarks.iter().map(|(u, t)| serde_json::json!({"user": u, "before": t})).collect::<Vec<_>>(),
            "ssh_serials": self.ssh_serials.iter().flat_map(|(ca, s)| {
                let ca = super::ssh::ca_text(ca);
                s.iter().map(move |(n, e)| serde_json::json!({"ca": ca, "serial": n, "exp": e}))
            }).collect::<Vec<_>>(),
            "ssh_key_ids": self.ssh_key_ids.iter().map(|(id, e)| serde_json::json!({"key_id": id, "exp": e})).collect::<Vec<_>>(),
            "ssh_keys": self.ssh_keys.iter().map(super::ssh::fingerprint_text).collect::<Vec<_>>(),
        })
    }
}

/// 32 lower-case hex digits to 16 bytes.
pub fn parse_cti(s: &str) -> Option<[u8; 16]> {
    crate::text::unhex(s.as_bytes())
}
