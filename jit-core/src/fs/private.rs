//! Private files: the log, its state, the replay cache, the revocation
//! state. Made mode 0600/0700, owned by root when running as root, never
//! through a symbolic link; replaced atomically; read back only when they
//! are still what only root can have made.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{io_err, FsError};

/// The directory a file is created in (`.` for a bare name).
pub(crate) fn parent(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Create a missing directory (and missing parents) mode 0700, owned by
/// root when running as root (inside sudo the egid is the user's). The log's
/// own directories are made this way, and so is anything created next to the
/// log's state before the log itself (the replay cache, the revocation state
/// on a host's first decision).
pub fn ensure_private_dir(dir: &Path) -> Result<(), FsError> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    // (A relative path's last ancestor is "", which names no directory.)
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .collect();
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err("create directory", dir))?;
    for d in missing {
        let f = File::open(d).map_err(io_err("open directory", d))?;
        give_to_root(&f, d)?;
    }
    Ok(())
}

/// Inside sudo the effective gid is the invoking user's, so a new file would
/// belong to their group: give what the writer creates to root:root, as
/// documented. (A writer that is not root, as in tests, keeps its own ids.)
pub fn give_to_root(f: &File, path: &Path) -> Result<(), FsError> {
    if nix::unistd::geteuid().is_root() {
        nix::unistd::fchown(f, Some(0.into()), Some(0.into())).map_err(|e| FsError::Io {
            op: "chown",
            path: path.to_path_buf(),
            source: e.into(),
        })?;
    }
    Ok(())
}

pub fn sync_dir(dir: &Path) -> Result<(), FsError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

/// Open (creating with `mode`, and its directory if missing) a file, never
/// following a symlink. Returns whether it was created.
///
/// The file usually exists, so that is tried first: one `openat` per file on
/// every sudo instead of a failing `O_EXCL` create and a second open.
pub fn open_create(path: &Path, mode: u32, append: bool) -> Result<(File, bool), FsError> {
    let mut o = OpenOptions::new();
    o.read(true).custom_flags(nix::libc::O_NOFOLLOW).mode(mode);
    if append {
        o.append(true);
    } else {
        o.write(true);
    }
    match o.open(path) {
        Ok(f) => return Ok((f, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err("open", path)(e)),
    }
    ensure_private_dir(parent(path))?;
    match o.clone().create_new(true).open(path) {
        Ok(f) => {
            f.set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(io_err("set mode of", path))?;
            give_to_root(&f, path)?;
            sync_dir(parent(path))?;
            Ok((f, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let f = o.open(path).map_err(io_err("open", path))?;
            Ok((f, false))
        }
        Err(e) => Err(io_err("create", path)(e)),
    }
}

/// Replace `path` atomically with `bytes`: write `PATH.new` (created 0600
/// with O_NOFOLLOW, owned by root when running as root), fsync it, rename
/// it over `path`, fsync the directory. The caller holds the lock that
/// serialises writers, so a leftover `PATH.new` is a crash's and is removed.
pub fn replace_private_file(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    replace_private_file_dated(path, bytes, None)
}

/// [`replace_private_file`], the new file's modification time set to
/// `mtime` (when given) before it takes the name.
pub fn replace_private_file_dated(
    path: &Path,
    bytes: &[u8],
    mtime: Option<std::time::SystemTime>,
) -> Result<(), FsError> {
    use std::io::Write;
    let dir = parent(path);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(io_err("create", &tmp))?;
    if nix::unistd::geteuid().is_root() {
        nix::unistd::fchown(&f, Some(0.into()), Some(0.into()))
            .map_err(|e| io_err("chown", &tmp)(e.into()))?;
    }
    f.write_all(bytes)
        .and_then(|_| mtime.map_or(Ok(()), |t| f.set_modified(t)))
        .and_then(|_| f.sync_all())
        .map_err(io_err("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err("replace", path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync the directory", dir))
}

/// A private file read back by [`read_private_file`].
#[derive(Debug)]
pub struct PrivateFile {
    /// Its contents.
    pub text: String,
    /// Its modification time (Unix seconds).
    pub mtime: i64,
}

/// Read a private file: `None` when it does not exist. Refused
/// ([`FsError::NotPrivate`]) unless it is a regular file that group and
/// others cannot read or write, owned by root when running as root, at most
/// `max_len` bytes of UTF-8; a symbolic link in its place is refused too.
pub fn read_private_file(path: &Path, max_len: u64) -> Result<Option<PrivateFile>, FsError> {
    let not_private = |why: String| FsError::NotPrivate {
        path: path.to_path_buf(),
        why,
    };
    let mut f = match OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC | nix::libc::O_NOCTTY)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            return Err(not_private("is a symbolic link".into()))
        }
        Err(e) => return Err(io_err("open", path)(e)),
    };
    let meta = f.metadata().map_err(io_err("stat", path))?;
    if !meta.is_file()
        || meta.mode() & 0o077 != 0
        || (nix::unistd::geteuid().is_root() && meta.uid() != 0)
    {
        return Err(not_private(format!(
            "must be a regular file, mode 0600, owned by root (mode {:o}, uid {})",
            meta.mode() & 0o7777,
            meta.uid()
        )));
    }
    let mut text = String::new();
    (&mut f)
        .take(max_len + 1)
        .read_to_string(&mut text)
        .map_err(io_err("read", path))?;
    if text.len() as u64 > max_len {
        return Err(not_private(format!("larger than {max_len} bytes")));
    }
    Ok(Some(PrivateFile {
        text,
        mtime: meta.mtime(),
    }))
}
