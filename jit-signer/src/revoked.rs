//! The signer consults its own revocation list before it signs
//! (docs/revocation.md §6.1): the current list of the revocation state
//! directory (`revoke --state DIR`, `JIT_REVOCATION_DIR`), decoded and
//! cached, and the decision of `jit_core::revocation::issuance`.
//!
//! The list is the signer's own state, written by `revoke`: it is decoded
//! strictly as `revoke` reads it, not verified against trusted keys. A list
//! that cannot be read or decoded refuses everything (fail closed). No list
//! (the directory or its `revocation.list` does not exist) means nothing has
//! been revoked yet, as for `revoke`, which then starts at version 1.
//!
//! Reading is cheap enough for every request of the signing service: one
//! `stat` of the list file, and a decode only when its device, inode,
//! modification time, change time or length differ from the cached copy's
//! (`revoke` replaces the file by a rename, so every new version is a new
//! inode).

use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jit_core::revocation::{self, issuance, RevocationList};

use crate::cmd::revoke::{EXIT_CORRUPT, LIST_FILE};

/// Exit code of a refusal by the list (as for a policy refusal).
pub(crate) const EXIT_REFUSED: u8 = crate::approval::EXIT_REFUSED;
/// Exit code when the list cannot be read (as `revoke`'s I/O error).
pub(crate) const EXIT_IO: u8 = 3;

/// Why the signer does not issue: a stable code (the `refused` ledger
/// record's `reason_code`), one sentence, and the exit code of the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    /// `user_revoked`, `ssh_key_revoked`, `revocation_list_unreadable`,
    /// `revocation_list_corrupt` or `bad_ssh_key_fingerprint`.
    pub(crate) code: &'static str,
    /// What happened and the way back.
    pub(crate) message: String,
    /// 7 (refused: user or key revoked, or a fingerprint that cannot be
    /// looked up), 3 (the list cannot be read), 8 (it is corrupt).
    pub(crate) exit: u8,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

/// Whether the signer may issue to `user` (a token or a certificate) and,
/// for a certificate, for the key with SHA-256 fingerprint `ssh_key_fp`
/// (`SHA256:` and 43 base64 characters, as `ssh-keygen -l` prints it and
/// `jit_core::ssh_cert::CertProfile::key_fingerprint` holds it), given the
/// current list in revocation state directory `dir`. `dir` `None`: no
/// check (the signer has no list configured).
pub(crate) fn check_issue(
    dir: Option<&Path>,
    user: &str,
    ssh_key_fp: Option<&str>,
) -> Result<(), Refused> {
    let Some(dir) = dir else {
        return Ok(());
    };
    let fp = match ssh_key_fp {
        None => None,
        Some(t) => Some(revocation::ssh::parse_fingerprint(t).ok_or_else(|| Refused {
            code: "bad_ssh_key_fingerprint",
            message: format!(
                "the SSH key's fingerprint {t:?} is not SHA256: and 43 base64 characters; it cannot be looked up in the revocation list"
            ),
            exit: EXIT_REFUSED,
        })?),
    };
    let Some(list) = current(dir)? else {
        return Ok(());
    };
    issuance::check(&list, user, fp.as_ref()).map_err(|r| Refused {
        code: r.code(),
        message: format!("{r} (revocation list {})", dir.join(LIST_FILE).display()),
        exit: EXIT_REFUSED,
    })
}

/// What identifies one version of the list file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    len: u64,
}

impl FileId {
    fn of(m: &std::fs::Metadata) -> FileId {
        FileId {
            dev: m.dev(),
            ino: m.ino(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            len: m.len(),
        }
    }
}

struct Cached {
    path: PathBuf,
    id: FileId,
    list: Arc<RevocationList>,
}

/// The last list decoded (one per process: a signer has one state directory).
static CACHE: Mutex<Option<Cached>> = Mutex::new(None);

fn unreadable(path: &Path, e: impl std::fmt::Display) -> Refused {
    Refused {
        code: "revocation_list_unreadable",
        message: format!(
            "cannot read the signer's revocation list {}: {e}; nothing is issued until it can be read",
            path.display()
        ),
        exit: EXIT_IO,
    }
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> Refused {
    Refused {
        code: "revocation_list_corrupt",
        message: format!(
            "the signer's revocation list {} is corrupt ({e}); nothing is issued until it is restored",
            path.display()
        ),
        exit: EXIT_CORRUPT,
    }
}

/// The current list of `dir`, `None` if there is none yet.
pub(crate) fn current(dir: &Path) -> Result<Option<Arc<RevocationList>>, Refused> {
    let path = dir.join(LIST_FILE);
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(&path, e)),
    };
    {
        let cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.as_ref() {
            if c.path == path && c.id == FileId::of(&meta) {
                return Ok(Some(c.list.clone()));
            }
        }
    }
    // Decode what was opened, keyed by the opened file's own identity (the
    // file may be replaced between the stat above and the open).
    let f = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(&path, e)),
    };
    let meta = f.metadata().map_err(|e| unreadable(&path, e))?;
    if !meta.is_file() {
        return Err(unreadable(&path, "not a regular file"));
    }
    let limit = revocation::MAX_LIST_TEXT_LEN as u64;
    if meta.len() > limit {
        return Err(corrupt(&path, format!("over {limit} bytes")));
    }
    let mut text = String::new();
    f.take(limit + 1)
        .read_to_string(&mut text)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => corrupt(&path, "not UTF-8"),
            _ => unreadable(&path, e),
        })?;
    let list = revocation::decode_text(&text)
        .and_then(|b| revocation::decode(&b))
        .map_err(|r| corrupt(&path, r))?
        .list;
    let list = Arc::new(list);
    *CACHE.lock().unwrap_or_else(|p| p.into_inner()) = Some(Cached {
        path,
        id: FileId::of(&meta),
        list: list.clone(),
    });
    Ok(Some(list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jit_core::keys::SigningKeyWithKid;

    fn write_list(dir: &Path, users: &[&str], keys: &[[u8; 32]], version: u64) {
        let l = RevocationList {
            iss: "t".into(),
            iat: 1_800_000_000,
            version,
            users: users.iter().map(|u| u.to_string()).collect(),
            ssh_keys: keys.iter().copied().collect(),
            ..Default::default()
        };
        let k = SigningKeyWithKid::from_seed("t", &[9; 32]).unwrap();
        let text = revocation::encode_text(&revocation::sign(&l, &k).unwrap());
        // As revoke does: a new file renamed over the old one.
        let tmp = dir.join(".tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, dir.join(LIST_FILE)).unwrap();
    }

    // One test: the cache is per process, and tests run in parallel.
    #[test]
    fn check_issue_reads_the_current_list_and_fails_closed() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        let fp = [5u8; 32];
        let fp_text = revocation::ssh::fingerprint_text(&fp);
        // No directory given: no check; no list yet: nothing revoked.
        assert_eq!(check_issue(None, "eve", Some("junk")), Ok(()));
        assert_eq!(check_issue(Some(dir), "eve", Some(&fp_text)), Ok(()));
        assert_eq!(check_issue(Some(&dir.join("missing")), "eve", None), Ok(()));
        write_list(dir, &["eve"], &[fp], 1);
        let r = check_issue(Some(dir), "eve", None).unwrap_err();
        assert_eq!((r.code, r.exit), ("user_revoked", 7));
        assert!(r.message.contains("--restore-user eve"), "{r}");
        assert_eq!(check_issue(Some(dir), "eve2", None), Ok(()));
        let r = check_issue(Some(dir), "alice", Some(&fp_text)).unwrap_err();
        assert_eq!((r.code, r.exit), ("ssh_key_revoked", 7));
        assert!(r.message.contains(&fp_text), "{r}");
        let r = check_issue(Some(dir), "alice", Some("SHA256:short")).unwrap_err();
        assert_eq!((r.code, r.exit), ("bad_ssh_key_fingerprint", 7));
        // Cached: the same version is not decoded again.
        let a = current(dir).unwrap().unwrap();
        let b = current(dir).unwrap().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        // A new version is read at once.
        write_list(dir, &[], &[], 2);
        assert_eq!(check_issue(Some(dir), "eve", Some(&fp_text)), Ok(()));
        assert_eq!(current(dir).unwrap().unwrap().version, 2);
        // Corrupt: refused, exit 8, whoever asks.
        std::fs::write(dir.join(LIST_FILE), "not a list\n").unwrap();
        let r = check_issue(Some(dir), "alice", None).unwrap_err();
        assert_eq!((r.code, r.exit), ("revocation_list_corrupt", 8), "{r}");
        std::fs::write(dir.join(LIST_FILE), [0xff, 0xfe]).unwrap();
        let r = check_issue(Some(dir), "alice", None).unwrap_err();
        assert_eq!(r.code, "revocation_list_corrupt", "{r}");
        // Not a file: unreadable, exit 3.
        std::fs::remove_file(dir.join(LIST_FILE)).unwrap();
        std::fs::create_dir(dir.join(LIST_FILE)).unwrap();
        let r = check_issue(Some(dir), "alice", None).unwrap_err();
        assert_eq!((r.code, r.exit), ("revocation_list_unreadable", 3), "{r}");
    }
}
