//! The signer consults its own list before it signs (docs/revocation.md
//! §6.1): a pure decision over the decoded current list, the grant's user
//! and, for an SSH certificate, its key's fingerprint.
//!
//! Hosts void the tokens of a user in `users` (§3), but sshd cannot revoke a
//! certificate by principal: `jit-signer revoke --user` revokes the user's
//! certificates valid at that moment by key id, and a certificate signed
//! afterwards would be accepted. So the signer refuses to sign for a user in
//! `users` (a token too: every host would refuse it), and refuses a
//! certificate for a key in `ssh_keys` (sshd would refuse it, but a signer
//! should not hand out what its own list voids). Watermarks refuse nothing:
//! a token signed now has `iat` at or after every watermark set so far.

use std::fmt;

use super::{ssh, RevocationList};

/// Why the signer refuses to issue. Codes are stable (`refused` ledger
/// records' `reason_code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueRefusal {
    /// The grant's user is in `users`.
    UserRevoked(String),
    /// The certificate's key (SHA-256 fingerprint) is in `ssh_keys`.
    SshKeyRevoked([u8; 32]),
}

impl IssueRefusal {
    /// Every code, in check order.
    pub const CODES: &'static [&'static str] = &["user_revoked", "ssh_key_revoked"];

    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            IssueRefusal::UserRevoked(_) => "user_revoked",
            IssueRefusal::SshKeyRevoked(_) => "ssh_key_revoked",
        }
    }
}

impl fmt::Display for IssueRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IssueRefusal::UserRevoked(u) => write!(
                f,
                "user {u} is revoked in the signer's revocation list (every token of {u} is \
                 void): nothing is issued to {u} until `jit-signer revoke --restore-user {u}` \
                 lifts the revocation"
            ),
            IssueRefusal::SshKeyRevoked(fp) => write!(
                f,
                "SSH key {} is revoked in the signer's revocation list: no certificate is \
                 issued for it (use another key)",
                ssh::fingerprint_text(fp)
            ),
        }
    }
}

impl std::error::Error for IssueRefusal {}

/// Whether the signer may issue to user `sub` (a token or a certificate)
/// and, for a certificate, for the key whose SHA-256 fingerprint is
/// `ssh_key` (as [`key_fingerprint`] computes it: the list's encoding).
///
/// `sub` matches `users` by exact byte equality, as hosts match it (§3):
/// `eve` is not `eve2`, `ev` or `Eve`. The user is checked first.
pub fn check(
    list: &RevocationList,
    sub: &str,
    ssh_key: Option<&[u8; 32]>,
) -> Result<(), IssueRefusal> {
    if list.users.contains(sub) {
        return Err(IssueRefusal::UserRevoked(sub.to_string()));
    }
    if let Some(fp) = ssh_key {
        if list.ssh_keys.contains(fp) {
            return Err(IssueRefusal::SshKeyRevoked(*fp));
        }
    }
    Ok(())
}

/// The fingerprint `ssh_keys` would hold for the key of an OpenSSH public
/// key line: SHA-256 of the key's canonical blob, which is what a
/// certificate on the key carries and what sshd looks up in the KRL. The
/// comment and the spacing of the line play no part.
pub fn key_fingerprint(line: &str) -> Result<[u8; 32], String> {
    use base64::Engine as _;
    let mut f = line.split_ascii_whitespace();
    let (Some(ty), Some(b64)) = (f.next(), f.next()) else {
        return Err("not an OpenSSH public key (TYPE BASE64 [COMMENT])".into());
    };
    let blob = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| "the key is not valid base64".to_string())?;
    let pk = ssh_key::PublicKey::from_bytes(&blob).map_err(|e| format!("not a valid key: {e}"))?;
    if pk.algorithm().as_str() != ty {
        return Err(format!("the key blob's type is not {ty}"));
    }
    // The canonical encoding, as the certificate carries it.
    let canonical = pk
        .to_bytes()
        .map_err(|e| format!("cannot encode the key: {e}"))?;
    Ok(ssh::fingerprint(&canonical))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revocation::vectors::base_list;

    const ED25519: &str = include_str!("../ssh_cert/keys/ed25519.pub");
    const ECDSA: &str = include_str!("../ssh_cert/keys/ecdsa256.pub");
    const RSA: &str = include_str!("../ssh_cert/keys/rsa2048.pub");

    fn list_with(users: &[&str], keys: &[[u8; 32]]) -> RevocationList {
        let mut l = base_list();
        l.users = users.iter().map(|u| u.to_string()).collect();
        l.ssh_keys = keys.iter().copied().collect();
        l
    }

    #[test]
    fn a_revoked_user_gets_nothing_and_near_misses_do() {
        let l = list_with(&["eve"], &[]);
        let fp = key_fingerprint(ED25519).unwrap();
        for key in [None, Some(&fp)] {
            let r = check(&l, "eve", key).unwrap_err();
            assert_eq!(r, IssueRefusal::UserRevoked("eve".into()));
            assert_eq!(r.code(), "user_revoked");
            let m = r.to_string();
            assert!(
                m.contains("user eve") && m.contains("--restore-user eve"),
                "{m}"
            );
        }
        // Exact byte equality, as hosts match (§3).
        for other in ["eve2", "ev", "Eve", "EVE", "eve.", "_eve", "alice"] {
            assert_eq!(check(&l, other, None), Ok(()), "{other}");
            assert_eq!(check(&l, other, Some(&fp)), Ok(()), "{other}");
        }
        // A user restored (gone from `users`) gets tokens again.
        assert_eq!(check(&list_with(&[], &[]), "eve", None), Ok(()));
    }

    #[test]
    fn watermarks_token_ids_and_certificate_entries_refuse_nothing() {
        // A fresh token's iat is at or after every watermark set so far,
        // and a fresh grant id is in no list.
        let mut l = list_with(&[], &[]);
        l.watermarks.insert("eve".into(), i64::MAX);
        l.tokens.insert([7; 16], 1);
        l.ssh_key_ids.insert("eve".into(), i64::MAX);
        let fp = key_fingerprint(ED25519).unwrap();
        assert_eq!(check(&l, "eve", None), Ok(()));
        assert_eq!(check(&l, "eve", Some(&fp)), Ok(()));
        // The whole base vector list revokes no user and no key.
        assert_eq!(check(&base_list(), "bob", Some(&fp)), Ok(()));
    }

    #[test]
    fn a_revoked_key_gets_no_certificate_in_any_spelling() {
        let fp = key_fingerprint(ED25519).unwrap();
        // The fingerprint `revoke --ssh-key FILE` stores: SHA-256 of the blob
        // of the .pub file, the same bytes as key_fingerprint's.
        let (_, blob) = ssh::parse_public_key(ED25519.trim()).unwrap();
        assert_eq!(ssh::fingerprint(&blob), fp);
        // And `revoke --ssh-key SHA256:...` as ssh-keygen -l prints it.
        let text = ssh::fingerprint_text(&fp);
        assert_eq!(ssh::parse_fingerprint(&text), Some(fp));
        let l = list_with(&[], &[fp]);
        let r = check(&l, "alice", Some(&fp)).unwrap_err();
        assert_eq!(r.code(), "ssh_key_revoked");
        assert!(r.to_string().contains(&text), "{r}");
        // A token for the same user is not about the key.
        assert_eq!(check(&l, "alice", None), Ok(()));
        // The same key written differently is the same key: another comment,
        // none, other spacing, a trailing newline or carriage return.
        let mut f = ED25519.split_whitespace();
        let (ty, b64) = (f.next().unwrap(), f.next().unwrap());
        for spelling in [
            format!("{ty} {b64}"),
            format!("{ty} {b64} someone-else@elsewhere"),
            format!("{ty}   {b64}\tcomment with spaces\n"),
            format!("  {ty} {b64}\r\n"),
        ] {
            let k = key_fingerprint(&spelling).unwrap();
            assert_eq!(k, fp, "{spelling:?}");
            assert!(check(&l, "alice", Some(&k)).is_err(), "{spelling:?}");
        }
        // What the certificate profile records is the same fingerprint.
        let p = crate::ssh_cert::profile(
            &crate::ssh_cert::Request {
                public_key: ED25519,
                logins: &["alice".to_string()],
                host_groups: &["web".to_string()],
                grant_id: [1; 16],
                serial: 1,
                nonce: [2; 32],
                not_before: 1_800_000_000,
                ttl_secs: 3600,
                force_command: None,
                source_address: None,
                extensions: None,
            },
            &crate::ssh_cert::Limits::default(),
        )
        .unwrap();
        assert_eq!(ssh::parse_fingerprint(&p.key_fingerprint), Some(fp));
        // Other keys, and a fingerprint one bit off, pass.
        for other in [ECDSA, RSA] {
            let k = key_fingerprint(other).unwrap();
            assert_ne!(k, fp);
            assert_eq!(check(&l, "alice", Some(&k)), Ok(()));
        }
        let mut near = fp;
        near[31] ^= 1;
        assert_eq!(check(&l, "alice", Some(&near)), Ok(()));
        // The user is named first when both are revoked.
        let both = list_with(&["alice"], &[fp]);
        assert_eq!(
            check(&both, "alice", Some(&fp)).unwrap_err().code(),
            "user_revoked"
        );
    }

    #[test]
    fn key_fingerprint_refuses_what_is_not_a_key() {
        let b64 = ED25519.split_whitespace().nth(1).unwrap();
        for bad in [
            String::new(),
            "ssh-ed25519".into(),
            format!("ssh-rsa {b64}"),
            format!("ssh-ed25519 {}", &b64[..b64.len() - 4]),
            "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU".into(),
        ] {
            assert!(key_fingerprint(&bad).is_err(), "{bad:?}");
        }
        // A non-canonical RSA exponent (a redundant leading zero) is not
        // read as some other key: ssh-key refuses the mpint.
        let padded = crate::ssh_cert::tests::rsa_with_e(&[0x00, 0x01, 0x00, 0x01]);
        if let Ok(k) = key_fingerprint(&padded) {
            let canonical = crate::ssh_cert::tests::rsa_with_e(&[0x01, 0x00, 0x01]);
            assert_eq!(k, key_fingerprint(&canonical).unwrap());
        }
    }

    #[test]
    fn codes_are_stable() {
        let all = [
            IssueRefusal::UserRevoked("u".into()),
            IssueRefusal::SshKeyRevoked([0; 32]),
        ];
        let codes: Vec<&str> = all.iter().map(IssueRefusal::code).collect();
        assert_eq!(codes, IssueRefusal::CODES);
    }
}
