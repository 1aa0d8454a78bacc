//! Replacing a file the signer writes for others to read (the revocation
//! list and its copy, an SSH certificate beside its key) atomically: a new
//! file created beside it (a random name, `O_EXCL|O_NOFOLLOW`), written and
//! synced, renamed over the path (a rename replaces a symbolic link, never
//! follows it), the directory synced. Readers see the old file or the new
//! one, never a part; a failure leaves the old one and removes the new.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use jit_core::token;

/// The new file's permission bits.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mode {
    /// This mode, less the process's umask (as `open(2)` creates).
    LessUmask(u32),
    /// Exactly this mode, whatever the umask (as `ssh-keygen -s` writes a
    /// certificate).
    Exact(u32),
}

/// Replace `path` with `bytes` (see the module's documentation).
pub(crate) fn replace_file(path: &Path, bytes: &[u8], mode: Mode) -> anyhow::Result<()> {
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
    let (Mode::LessUmask(bits) | Mode::Exact(bits)) = mode;
    let res = (|| -> anyhow::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(bits)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        if let Mode::Exact(bits) = mode {
            f.set_permissions(std::fs::Permissions::from_mode(bits))
                .with_context(|| format!("setting the mode of {}", tmp.display()))?;
        }
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}
