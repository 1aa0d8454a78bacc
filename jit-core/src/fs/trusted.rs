//! Reading files the module trusts (configuration, keys, revocation list):
//! only root may have written them, as sshd's StrictModes demands.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Why a trusted file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecureFileError {
    /// Opening or reading failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file, or a directory above it, could be changed by someone other than root.
    #[error("refusing {path}: {why}")]
    Insecure {
        /// The file or directory at fault.
        path: String,
        /// What is wrong with it.
        why: String,
    },
}

/// Read a file the module trusts (configuration, keys), refusing it unless
/// only root can have written it, as sshd's StrictModes does: the path must be
/// absolute; the file must be a regular file (not a symlink), owned by root, not
/// writable by group or others, at most `max_len` bytes; every directory the
/// path leads through must be owned by root and not writable by group or
/// others, including the directories a symbolic link on the way leads to and
/// those above them ([`resolve_trusted`]).
pub fn read_secure_file(path: &Path, max_len: u64) -> Result<String, SecureFileError> {
    let insecure = |p: &Path, why: String| SecureFileError::Insecure {
        path: p.display().to_string(),
        why,
    };
    if !path.is_absolute() {
        return Err(insecure(path, "not an absolute path".into()));
    }
    // The path is formatted only for an error: this runs in every sudo.
    let io = |source| SecureFileError::Io {
        path: path.display().to_string(),
        source,
    };
    // Every directory is checked before the file is opened, so nobody but
    // root can change what the path names between the check and the open.
    let real = resolve_trusted(path)?;
    // O_NOFOLLOW: a symlink as the last component fails with ELOOP.
    // O_NONBLOCK: a FIFO put there is refused below instead of blocking sudo
    // in open() (it has no effect on reading a regular file).
    let mut f = File::options()
        .read(true)
        .custom_flags(
            nix::libc::O_NOFOLLOW
                | nix::libc::O_CLOEXEC
                | nix::libc::O_NOCTTY
                | nix::libc::O_NONBLOCK,
        )
        .open(&real)
        .map_err(|e| {
            if e.raw_os_error() == Some(nix::libc::ELOOP) {
                insecure(path, "is a symbolic link".into())
            } else {
                io(e)
            }
        })?;
    let meta = f.metadata().map_err(io)?;
    if !meta.file_type().is_file() {
        return Err(insecure(path, "not a regular file".into()));
    }
    check_owner_mode(path, meta.uid(), meta.mode())?;
    if meta.len() > max_len {
        return Err(insecure(path, format!("larger than {max_len} bytes")));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    (&mut f)
        .take(max_len + 1)
        .read_to_end(&mut buf)
        .map_err(io)?;
    if buf.len() as u64 > max_len {
        return Err(insecure(path, format!("larger than {max_len} bytes")));
    }
    String::from_utf8(buf).map_err(|_| insecure(path, "not UTF-8 text".into()))
}

/// Follow the absolute `path` from `/` one name at a time, checking each
/// directory (root-owned, not writable by group or others) before looking
/// up a name in it, and resolving symbolic links on the way the same way
/// (a link's target, relative or absolute, is walked through checked
/// directories too). Since a name is only ever looked up in a directory
/// only root can change, only root can have placed each link and the file.
/// Returns the path of the file with no symbolic link left in it, except
/// possibly the last component (which the caller opens with `O_NOFOLLOW`).
/// A path like `/etc/security -> /srv/cfg/security` is refused when `/srv`
/// or `/srv/cfg` could be written by someone else.
pub fn resolve_trusted(path: &Path) -> Result<PathBuf, SecureFileError> {
    use std::collections::VecDeque;
    use std::path::Component;
    const MAX_LINKS: usize = 40; // as the kernel allows
    let io = |source| SecureFileError::Io {
        path: path.display().to_string(),
        source,
    };
    let check_dir = |dir: &Path| -> Result<(), SecureFileError> {
        let m = std::fs::symlink_metadata(dir).map_err(io)?;
        if !m.file_type().is_dir() {
            return Err(SecureFileError::Insecure {
                path: dir.display().to_string(),
                why: "not a directory".into(),
            });
        }
        check_owner_mode(dir, m.uid(), m.mode())
    };
    let mut todo: VecDeque<PathBuf> = path
        .components()
        .map(|c| PathBuf::from(c.as_os_str()))
        .collect();
    let mut real = PathBuf::from("/");
    let mut checked = false; // whether `real` (the directory so far) was checked
    let mut links = 0;
    while let Some(name) = todo.pop_front() {
        match name.components().next() {
            Some(Component::RootDir) => {
                real = PathBuf::from("/");
                checked = false;
            }
            Some(Component::CurDir) | None => {}
            Some(Component::ParentDir) => {
                // `real` holds no symbolic link, so its parent is the real one.
                real.pop();
                checked = false;
            }
            Some(Component::Normal(_)) | Some(Component::Prefix(_)) => {
                if !checked {
                    check_dir(&real)?;
                    checked = true;
                }
                let next = real.join(&name);
                if todo.is_empty() {
                    // The file itself: opened with O_NOFOLLOW and checked
                    // through its descriptor by the caller.
                    return Ok(next);
                }
                let m = std::fs::symlink_metadata(&next).map_err(io)?;
                if m.file_type().is_symlink() {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(SecureFileError::Insecure {
                            path: path.display().to_string(),
                            why: "too many symbolic links".into(),
                        });
                    }
                    let target = std::fs::read_link(&next).map_err(io)?;
                    for c in target.components().rev() {
                        todo.push_front(PathBuf::from(c.as_os_str()));
                    }
                } else {
                    real = next;
                    checked = false;
                }
            }
        }
    }
    // The path ended in a directory ("/", "..", ".").
    Ok(real)
}

fn check_owner_mode(p: &Path, uid: u32, mode: u32) -> Result<(), SecureFileError> {
    let insecure = |why: String| SecureFileError::Insecure {
        path: p.display().to_string(),
        why,
    };
    if uid != 0 {
        return Err(insecure(format!("owned by uid {uid}, not root")));
    }
    if mode & 0o022 != 0 {
        return Err(insecure(format!(
            "writable by group or others (mode {:o})",
            mode & 0o7777
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "host_groups = web\ntrusted_keys = /etc/security/jit/trusted-keys\n";
    const MAX_CONFIG_LEN: u64 = crate::config::MAX_CONFIG_LEN;

    #[test]
    fn owner_and_mode_rules() {
        let p = Path::new("/x");
        assert!(check_owner_mode(p, 0, 0o100644).is_ok());
        assert!(check_owner_mode(p, 0, 0o100600).is_ok());
        assert!(check_owner_mode(p, 1000, 0o100644).is_err());
        assert!(check_owner_mode(p, 0, 0o100664).is_err());
        assert!(check_owner_mode(p, 0, 0o100646).is_err());
        assert!(check_owner_mode(p, 0, 0o041777).is_err());
    }

    #[test]
    fn files_below_world_writable_dirs_are_refused() {
        // /tmp is 1777: anything below it could be swapped by any user.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pam_jit.conf");
        std::fs::write(&f, GOOD).unwrap();
        let e = read_secure_file(&f, MAX_CONFIG_LEN)
            .unwrap_err()
            .to_string();
        assert!(e.contains("refusing"), "{e}");
    }

    use crate::fs::test_root_dir as root_dir;

    #[test]
    fn a_symlinked_directory_is_checked_all_the_way_to_its_target() {
        use std::os::unix::fs::{symlink, PermissionsExt};
        let d = root_dir("links");
        // d/srv is writable by others; d/srv/cfg below it is root's 0755.
        std::fs::create_dir_all(d.join("srv/cfg")).unwrap();
        std::fs::set_permissions(d.join("srv"), std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::write(d.join("srv/cfg/pam_jit.conf"), GOOD).unwrap();
        // d/etc -> srv/cfg: whoever can write d/srv can point the
        // configuration at any root-owned directory they like.
        symlink("srv/cfg", d.join("etc")).unwrap();
        let via_writable = read_secure_file(&d.join("etc/pam_jit.conf"), MAX_CONFIG_LEN);
        // The same through directories only root can write: accepted,
        // with relative and absolute targets and "..".
        std::fs::set_permissions(d.join("srv"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let via_safe = read_secure_file(&d.join("etc/pam_jit.conf"), MAX_CONFIG_LEN);
        symlink(d.join("srv"), d.join("abs")).unwrap();
        std::fs::create_dir(d.join("srv/sub")).unwrap();
        let dotdot = read_secure_file(&d.join("abs/sub/../cfg/pam_jit.conf"), MAX_CONFIG_LEN);
        // A loop of links ends in an error, not a hang.
        symlink("loop2", d.join("loop1")).unwrap();
        symlink("loop1", d.join("loop2")).unwrap();
        let looped = read_secure_file(&d.join("loop1/x"), MAX_CONFIG_LEN);
        std::fs::remove_dir_all(&d).unwrap();
        let e = via_writable.unwrap_err().to_string();
        assert!(e.contains("/srv: writable by group or others"), "{e}");
        assert_eq!(via_safe.unwrap(), GOOD);
        assert_eq!(dotdot.unwrap(), GOOD);
        assert!(looped.is_err());
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let d = root_dir("fifo");
        let p = d.join("pam_jit.conf");
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        // Without O_NONBLOCK the open would wait for a writer forever.
        let r = read_secure_file(&p, MAX_CONFIG_LEN);
        std::fs::remove_dir_all(&d).unwrap();
        assert!(r.unwrap_err().to_string().contains("not a regular file"));
    }

    #[test]
    fn relative_paths_are_refused() {
        assert!(read_secure_file(Path::new("etc/x"), 10).is_err());
    }

    #[test]
    fn secure_file_in_root_owned_dir() {
        // Needs a directory only root can write; the suite runs as root
        // (tests/run.sh refuses otherwise).
        let base = Path::new("/run");
        let meta = std::fs::metadata(base).unwrap();
        assert_eq!(meta.uid(), 0);
        let dir = base.join(format!("jit-core-test-{}", std::process::id()));
        if nix::unistd::geteuid().is_root() {
            std::fs::create_dir(&dir).unwrap();
            let f = dir.join("pam_jit.conf");
            std::fs::write(&f, GOOD).unwrap();
            let res = read_secure_file(&f, MAX_CONFIG_LEN);
            // A symlink to it is refused even though the target is fine.
            let link = dir.join("link.conf");
            std::os::unix::fs::symlink(&f, &link).unwrap();
            let via_link = read_secure_file(&link, MAX_CONFIG_LEN);
            // Too large.
            let small = read_secure_file(&f, 10);
            // Group-writable.
            std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o664))
                .unwrap();
            let gw = read_secure_file(&f, MAX_CONFIG_LEN);
            std::fs::remove_dir_all(&dir).unwrap();
            assert_eq!(res.unwrap(), GOOD);
            assert!(via_link.unwrap_err().to_string().contains("symbolic link"));
            assert!(small.unwrap_err().to_string().contains("larger"));
            assert!(gw.unwrap_err().to_string().contains("writable"));
        } else {
            assert!(
                std::fs::create_dir(&dir).is_err(),
                "non-root must not write /run"
            );
        }
    }
}
