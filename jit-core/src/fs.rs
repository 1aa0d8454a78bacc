//! File safety: every rule for reading and writing the host's files, in one
//! place (docs/architecture.md). The configuration, the trusted keys and the
//! revocation list are read with [`read_secure_file`]; the log, its state,
//! the replay cache and the revocation state are private files made with
//! [`ensure_private_dir`], [`open_create`] and [`replace_private_file`], read
//! back with [`read_private_file`], and serialised by [`lock_file`].
//!
//! Nothing here changes process-wide state (no umask, no signal handlers):
//! these functions run inside sudo.

mod lock;
mod private;
mod trusted;

use std::path::PathBuf;

pub use lock::{lock_file, lock_file_within, lock_shared, lock_shared_within, LOCK_WAIT};
pub(crate) use private::parent as private_parent;
pub use private::{
    ensure_private_dir, give_to_root, open_create, read_private_file, replace_private_file,
    replace_private_file_dated, sync_dir, PrivateFile,
};
pub use trusted::{read_secure_file, resolve_trusted, SecureFileError};

/// Why a file operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsError {
    /// A system call failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done (`open`, `create`, `fsync directory`, ...).
        op: &'static str,
        /// On which file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A private file is not what only root can have made.
    #[error("{}: {why}", path.display())]
    NotPrivate {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The lock file kept changing under us.
    #[error("lock file {} keeps being replaced", path.display())]
    LockUnstable {
        /// The lock file.
        path: PathBuf,
    },
    /// Another process held the lock for the whole wait.
    #[error("the lock {} was held for over {waited_secs} s by {holder}; nothing was \
             written (a stopped or stuck process holds it: ending it releases the lock)", path.display())]
    LockBusy {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        waited_secs: u64,
        /// Who holds it, e.g. "pid 4242 (sudo, uid 1001, stopped)".
        holder: String,
    },
}

impl FsError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            FsError::Io { path, .. }
            | FsError::NotPrivate { path, .. }
            | FsError::LockUnstable { path }
            | FsError::LockBusy { path, .. } => path,
        }
    }
}

/// The error for a failed `op` on `path`.
pub(crate) fn io_err<'p>(
    op: &'static str,
    path: &'p std::path::Path,
) -> impl FnOnce(std::io::Error) -> FsError + 'p {
    move |source| FsError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// A fresh directory only root can write, for tests of the ownership rules
/// (the suite runs as root).
#[cfg(test)]
pub(crate) fn test_root_dir(tag: &str) -> PathBuf {
    assert!(nix::unistd::geteuid().is_root(), "run the suite as root");
    let dir = std::path::Path::new("/run").join(format!("jit-core-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    dir
}
