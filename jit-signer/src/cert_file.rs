//! The files of an SSH certificate on the requester's side: the public key
//! read, and the certificate written beside it as `ssh-keygen -s` does
//! (`issue --ssh-key`, `request --ssh-key`, `fetch --ssh-key`).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use jit_core::token;

/// Largest public key file read.
const MAX_PUB_FILE: u64 = 16 * 1024;

pub(crate) fn read_pub(p: &Path) -> anyhow::Result<String> {
    use std::io::Read as _;
    let f = std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
    let md = f
        .metadata()
        .with_context(|| format!("reading {}", p.display()))?;
    if !md.is_file() {
        return Err(anyhow!("{} is not a regular file", p.display()));
    }
    let mut s = String::new();
    f.take(MAX_PUB_FILE + 1)
        .read_to_string(&mut s)
        .with_context(|| format!("reading {}", p.display()))?;
    if s.len() as u64 > MAX_PUB_FILE {
        return Err(anyhow!("{} is over {MAX_PUB_FILE} bytes", p.display()));
    }
    Ok(s)
}

/// The certificate's path holds nothing or a regular file (checked before
/// anything is signed or recorded, and again before it is replaced).
pub(crate) fn check_cert_target(path: &Path) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => Err(anyhow!(
            "{} exists and is not a regular file (a symbolic link?): not replaced",
            path.display()
        )),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow!(e).context(format!("checking {}", path.display()))),
    }
}

/// Write the certificate to `path` as ssh-keygen -s does (mode 0644),
/// replacing a previous certificate atomically: a new file created beside
/// it with O_EXCL|O_NOFOLLOW, synced, renamed over `path` (a rename replaces
/// a symbolic link, never follows it), the directory synced. Anything but a
/// regular file at `path` is refused.
pub(crate) fn write_cert_file(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    check_cert_target(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{}: no file name", path.display()))?;
    let rnd = token::random_cti().map_err(|e| anyhow!(e))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", token::hex(&rnd)));
    let tmp = dir.join(tmp_name);
    let res = (|| -> anyhow::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("setting the mode of {}", tmp.display()))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}
