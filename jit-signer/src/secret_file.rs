//! Checks on secret files the caller keeps (key file, PIN file).

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use anyhow::anyhow;

use crate::Fail;

/// A secret the caller keeps (key file, PIN file): a regular file, owned by
/// the caller (anyone else could replace it), with no group or other access.
/// `md` is from the open descriptor. Key error (exit 4) otherwise.
pub fn check_private_file(md: &fs::Metadata, path: &Path, what: &str) -> Result<(), Fail> {
    let refuse = |err: anyhow::Error| Err(Fail { code: 4, err });
    if !md.is_file() {
        return refuse(anyhow!("{what} {} is not a regular file", path.display()));
    }
    let me = nix::unistd::geteuid().as_raw();
    if md.uid() != me {
        return refuse(anyhow!(
            "{what} {} is owned by uid {}, not by you (uid {me})",
            path.display(),
            md.uid()
        ));
    }
    let mode = md.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return refuse(anyhow!(
            "{what} {} is accessible by group or others (mode {mode:04o}); run chmod 600 {}",
            path.display(),
            path.display()
        ));
    }
    Ok(())
}
