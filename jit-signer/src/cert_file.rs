//! The files of an SSH certificate on the requester's side: the public key
//! read, and the certificate written beside it as `ssh-keygen -s` does
//! (`issue --ssh-key`, `request --ssh-key`, `fetch --ssh-key`).

use std::path::Path;

use anyhow::{anyhow, Context as _};

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
/// replacing a previous certificate atomically ([`crate::replace`]).
/// Anything but a regular file at `path` is refused.
pub(crate) fn write_cert_file(path: &Path, text: &str) -> anyhow::Result<()> {
    check_cert_target(path)?;
    crate::replace::replace_file(path, text.as_bytes(), crate::replace::Mode::Exact(0o644))
}
