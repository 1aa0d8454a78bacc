//! The host side of revocation (docs/revocation.md §5): which list a host
//! accepts, the anti-rollback state, and the check made on every decision.
//!
//! State file (`revocation_state`, default `/var/lib/jit/revocation-state`,
//! mode 0600 root:root), exactly one line:
//!
//! ```text
//! jit-revocation-state-v1 VERSION BLAKE3HEX
//! ```
//!
//! VERSION is the highest list version this host has accepted, BLAKE3HEX the
//! BLAKE3 hash (64 lower-case hex digits) of that list's binary bytes. It is
//! compared and replaced under the audit log's lock (the `flock` on the log
//! state's `.lock` file that the log writer and the replay cache take): new
//! file, `fsync`, `rename`, directory `fsync`.

use std::path::{Path, PathBuf};

use super::{decode_text, verify, DecodedList, ListRejection, Revoked};
use crate::fs::SecureFileError;
use crate::keys::TrustedKeys;
use crate::token::{hex, TokenInfo};

/// First word of the state file.
pub const STATE_MAGIC: &str = "jit-revocation-state-v1";
/// Largest list file read (docs/revocation.md §5).
pub const MAX_LIST_FILE_LEN: u64 = 1024 * 1024;
/// Default list location.
pub const DEFAULT_LIST_PATH: &str = "/etc/security/jit/revocation/list";
/// Default state location.
pub const DEFAULT_STATE_PATH: &str = "/var/lib/jit/revocation-state";
const MAX_STATE_LEN: u64 = 256;

/// What a host does when its list file does not exist (`revocation_missing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingPolicy {
    /// Deny every token.
    Deny,
    /// Allow (no revocation is checked).
    Allow,
    /// Allow until a list has been accepted once (the state file exists),
    /// deny afterwards. The default.
    #[default]
    DenyOnceSeen,
}

impl MissingPolicy {
    /// Parse the configuration value.
    pub fn parse(s: &str) -> Option<MissingPolicy> {
        match s {
            "deny" => Some(MissingPolicy::Deny),
            "allow" => Some(MissingPolicy::Allow),
            "deny_once_seen" => Some(MissingPolicy::DenyOnceSeen),
            _ => None,
        }
    }
    /// The configuration value.
    pub fn name(self) -> &'static str {
        match self {
            MissingPolicy::Deny => "deny",
            MissingPolicy::Allow => "allow",
            MissingPolicy::DenyOnceSeen => "deny_once_seen",
        }
    }
}

/// The highest list a host has accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostState {
    /// Its version.
    pub version: u64,
    /// BLAKE3 of its binary bytes.
    pub hash: [u8; 32],
}

impl HostState {
    /// The state for list bytes of `version`.
    pub fn of(version: u64, list: &[u8]) -> HostState {
        HostState {
            version,
            hash: *blake3::hash(list).as_bytes(),
        }
    }
    /// The file contents.
    pub fn render(&self) -> String {
        format!("{STATE_MAGIC} {} {}\n", self.version, hex(&self.hash))
    }
    /// Parse the file contents (strict: exactly the rendered form).
    pub fn parse(text: &str) -> Option<HostState> {
        let line = text.strip_suffix('\n')?;
        let mut f = line.split(' ');
        if f.next()? != STATE_MAGIC {
            return None;
        }
        let v = f.next()?;
        let h = f.next()?;
        // ASCII only, so that the halves below are split on a char boundary.
        if f.next().is_some()
            || v.is_empty()
            || v.starts_with('0')
            || h.len() != 64
            || !h.is_ascii()
        {
            return None;
        }
        if !v.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let version: u64 = v.parse().ok()?;
        let mut hash = [0u8; 32];
        hash[..16].copy_from_slice(&super::parse_cti(&h[..32])?);
        hash[16..].copy_from_slice(&super::parse_cti(&h[32..])?);
        let s = HostState { version, hash };
        (s.render() == text).then_some(s)
    }
}

/// Why the host refused. Every variant means: deny every token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The list file is missing and the policy says deny.
    #[error("{0}")]
    Missing(String),
    /// The list is unsafe, unreadable or fails verification.
    #[error("revocation list {path} is unusable: {why}")]
    Invalid {
        /// The list file.
        path: PathBuf,
        /// What is wrong (a [`ListRejection`] or a file problem).
        why: String,
        /// The list reason code, when the content was at fault.
        code: Option<&'static str>,
    },
    /// A list older than the one already accepted.
    #[error("revocation list {path} is version {got}, older than version {have} already accepted on this host; install the current list from the signer")]
    Rollback {
        /// The list file.
        path: PathBuf,
        /// Its version.
        got: u64,
        /// The accepted version.
        have: u64,
    },
    /// The same version as accepted, with other contents.
    #[error("revocation list {path} is version {version} but differs from the version {version} already accepted on this host (two different lists with one version); install the current list from the signer")]
    Equivocation {
        /// The list file.
        path: PathBuf,
        /// The version.
        version: u64,
    },
    /// The state file is unsafe, corrupt or cannot be written.
    #[error("revocation state {path} is unusable: {why}")]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

/// A host's revocation settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPolicy {
    /// The list file (`revocation_list`).
    pub list: PathBuf,
    /// The anti-rollback state (`revocation_state`).
    pub state: PathBuf,
    /// The lock taken while the state is compared and replaced.
    pub lock: PathBuf,
    /// `revocation_missing`.
    pub missing: MissingPolicy,
}

/// The outcome of [`check_token`] for a list the host accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Checked against this list version: not revoked.
    NotRevoked(u64),
    /// No list, and the policy allows that.
    NoList,
    /// Revoked by this list version, for this reason.
    Revoked(u64, Revoked),
}

fn state_err(path: &Path, why: impl Into<String>) -> HostError {
    HostError::State {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// A file problem with the state (or its lock or directory): deny.
fn fs_err(e: crate::fs::FsError) -> HostError {
    use crate::fs::FsError;
    let why = match &e {
        FsError::Io { op, source, .. } => format!("cannot {op}: {source}"),
        FsError::NotPrivate { why, .. } => why.clone(),
        FsError::LockBusy { .. } | FsError::LockUnstable { .. } => format!("cannot lock: {e}"),
    };
    state_err(e.path(), why)
}

/// Read the state file: `None` if it does not exist.
pub fn read_state(path: &Path) -> Result<Option<HostState>, HostError> {
    let Some(f) = crate::fs::read_private_file(path, MAX_STATE_LEN).map_err(fs_err)? else {
        return Ok(None);
    };
    HostState::parse(&f.text)
        .map(Some)
        .ok_or_else(|| state_err(path, format!("not `{STATE_MAGIC} VERSION BLAKE3HEX`")))
}

/// Replace the state file atomically (new file, fsync, rename, fsync dir).
pub fn write_state(path: &Path, s: &HostState) -> Result<(), HostError> {
    crate::fs::replace_private_file(path, s.render().as_bytes()).map_err(fs_err)
}

/// Accept verified list bytes against the state: refuse a lower version
/// (rollback) or the same version with other bytes (equivocation); record a
/// higher version. Runs under the lock at `lock`.
pub fn accept(
    path_shown: &Path,
    bytes: &[u8],
    version: u64,
    state: &Path,
    lock: &Path,
) -> Result<(), HostError> {
    // The log's lock, taken as the writer takes it (on a host whose first
    // decision ever meets a list, that creates its directory too).
    let _held = crate::fs::lock_file(lock).map_err(fs_err)?;
    accept_locked(path_shown, bytes, version, state)
}

/// [`accept`] for a caller that holds the lock.
fn accept_locked(
    path_shown: &Path,
    bytes: &[u8],
    version: u64,
    state: &Path,
) -> Result<(), HostError> {
    crate::fs::ensure_private_dir(state.parent().unwrap_or(Path::new("."))).map_err(fs_err)?;
    let new = HostState::of(version, bytes);
    match read_state(state)? {
        Some(have) if version < have.version => Err(HostError::Rollback {
            path: path_shown.to_path_buf(),
            got: version,
            have: have.version,
        }),
        Some(have) if version == have.version => {
            if have.hash == new.hash {
                Ok(())
            } else {
                Err(HostError::Equivocation {
                    path: path_shown.to_path_buf(),
                    version,
                })
            }
        }
        _ => write_state(state, &new),
    }
}

/// Read, verify and accept the host's list. `Ok(None)`: no list file and the
/// policy allows that.
pub fn load(
    p: &HostPolicy,
    keys: &TrustedKeys,
    now: i64,
) -> Result<Option<DecodedList>, HostError> {
    let Some((bytes, d)) = read_verified(p, keys, now)? else {
        return Ok(None);
    };
    accept(&p.list, &bytes, d.list.version, &p.state, &p.lock)?;
    Ok(Some(d))
}

/// Steps 1-3 of §5: read and verify the list file (its binary bytes and
/// the decoded list), or `Ok(None)` when it is missing and the policy
/// allows that.
fn read_verified(
    p: &HostPolicy,
    keys: &TrustedKeys,
    now: i64,
) -> Result<Option<(Vec<u8>, DecodedList)>, HostError> {
    let invalid = |why: String, code: Option<&'static str>| HostError::Invalid {
        path: p.list.clone(),
        why,
        code,
    };
    let text = match crate::fs::read_secure_file(&p.list, MAX_LIST_FILE_LEN) {
        Ok(t) => t,
        Err(SecureFileError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return missing(p)
        }
        Err(e) => return Err(invalid(e.to_string(), None)),
    };
    let bytes = decode_text(&text).map_err(|r| invalid(r.to_string(), Some(r.reason.code())))?;
    let d = verify(&bytes, keys, now)
        .map_err(|r: ListRejection| invalid(r.to_string(), Some(r.reason.code())))?;
    Ok(Some((bytes, d)))
}

fn missing<T>(p: &HostPolicy) -> Result<Option<T>, HostError> {
    let shown = p.list.display();
    match p.missing {
        MissingPolicy::Allow => Ok(None),
        MissingPolicy::Deny => Err(HostError::Missing(format!(
            "revocation list {shown} is missing and this host requires one (revocation_missing = deny); install the current list from the signer"
        ))),
        MissingPolicy::DenyOnceSeen => match read_state(&p.state)? {
            None => Ok(None),
            Some(s) => Err(HostError::Missing(format!(
                "revocation list {shown} is missing, but this host has accepted version {} before; install the current list from the signer",
                s.version
            ))),
        },
    }
}

/// Why [`write_krl`] wrote nothing (the previous KRL stays).
#[derive(Debug, thiserror::Error)]
pub enum KrlError {
    /// The list was refused as for a sudo decision.
    #[error(transparent)]
    List(#[from] HostError),
    /// The KRL could not be written.
    #[error("cannot write the KRL {path}: {why}")]
    Write {
        /// The KRL file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
}

/// What [`write_krl`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KrlWritten {
    /// The list version it was made from; `None`: no list and the policy
    /// allows that, so the KRL revokes nothing.
    pub version: Option<u64>,
    /// Certificate serials, key ids (token ids included) and key
    /// fingerprints in it.
    pub serials: usize,
    /// See `serials`.
    pub key_ids: usize,
    /// See `serials`.
    pub keys: usize,
    /// Its length in bytes.
    pub len: usize,
}

/// Write sshd's KRL (docs/revocation.md §3.1) from the host's list, verified
/// and accepted exactly as for a sudo decision ([`load`]: file rules,
/// signature against the trusted keys, the missing-list policy, the
/// anti-rollback state). The KRL is replaced atomically ([`crate::fs::replace_private_file`]:
/// 0600 root, new file, fsync, rename) while the state's lock is held, so a
/// slower run with an older list can never replace a newer run's KRL. On
/// any error nothing is written and the previous KRL stays. With no list and
/// a policy that allows that, the KRL is written empty (valid, revokes
/// nothing), so that sshd's `RevokedKeys` always names a readable file.
pub fn write_krl(
    p: &HostPolicy,
    keys: &TrustedKeys,
    now: i64,
    krl_path: &Path,
) -> Result<KrlWritten, KrlError> {
    let verified = read_verified(p, keys, now)?;
    let krl_err = |e: crate::fs::FsError| KrlError::Write {
        path: krl_path.to_path_buf(),
        why: e.to_string(),
    };
    let _held = crate::fs::lock_file(&p.lock).map_err(fs_err)?;
    let empty = super::RevocationList::default();
    let list = match &verified {
        Some((bytes, d)) => {
            accept_locked(&p.list, bytes, d.list.version, &p.state)?;
            &d.list
        }
        None => &empty,
    };
    let krl = super::ssh::krl(list);
    crate::fs::replace_private_file(krl_path, &krl).map_err(krl_err)?;
    Ok(KrlWritten {
        version: verified.as_ref().map(|(_, d)| d.list.version),
        serials: list.ssh_serials.values().map(|s| s.len()).sum(),
        key_ids: super::ssh::revoked_key_ids(list).len(),
        keys: list.ssh_keys.len(),
        len: krl.len(),
    })
}

/// The check made on every decision once a token has verified: load the
/// host's list (policy, verification, anti-rollback) and look the token up.
/// Every error means: deny every token (`jit_core::host::DenyCode` maps it).
pub fn check_token(
    p: &HostPolicy,
    keys: &TrustedKeys,
    now: i64,
    t: &TokenInfo,
) -> Result<Checked, HostError> {
    Ok(match load(p, keys, now)? {
        None => Checked::NoList,
        Some(d) => match d.list.is_revoked_info(t) {
            None => Checked::NotRevoked(d.list.version),
            Some(why) => Checked::Revoked(d.list.version, why),
        },
    })
}

/// What the user is told when list version `v` revokes token `t`.
pub fn revoked_message(t: &TokenInfo, v: u64, why: Revoked) -> String {
    match why {
        Revoked::TokenId => format!(
            "token {} is revoked (revocation list version {v}); ask for a new token",
            t.cti_hex
        ),
        Revoked::User => format!(
            "every token of user {} is revoked (revocation list version {v}); ask the signer's operators",
            t.sub
        ),
        Revoked::IssuedBefore(wm) => format!(
            "tokens of user {} issued before {} are revoked and this one was issued at {} (revocation list version {v}); ask for a new token",
            t.sub,
            crate::token::fmt_time(wm),
            crate::token::fmt_time(t.iat)
        ),
    }
}
