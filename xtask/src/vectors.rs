//! `xtask gen-vectors`: the golden vectors of docs/vectors, from the
//! generators in jit-core (token and revocation list formats).

use std::fs;
use std::path::Path;

use anyhow::{anyhow, Context as _};

/// Write every token vector into `dir` and every revocation list vector
/// into `dir/revocation`, the service protocol's into `dir/service`, and
/// the SSH certificates' into `dir/ssh` (docs/ssh-cert.md).
pub fn generate(dir: &Path) -> anyhow::Result<()> {
    let files =
        jit_core::token::vectors::generate().map_err(|e| anyhow!("generating vectors: {e}"))?;
    let rev = jit_core::revocation::vectors::generate()
        .map_err(|e| anyhow!("generating revocation vectors: {e}"))?;
    let rev_dir = dir.join("revocation");
    fs::create_dir_all(&rev_dir).with_context(|| format!("creating {}", rev_dir.display()))?;
    let rev = rev.into_iter().map(|(n, c)| (format!("revocation/{n}"), c));
    let service = jit_core::service::vectors::generate()
        .map_err(|e| anyhow!("generating service protocol vectors: {e}"))?;
    let service_dir = dir.join("service");
    fs::create_dir_all(&service_dir)
        .with_context(|| format!("creating {}", service_dir.display()))?;
    let ssh = jit_core::ssh_cert::vectors::generate()
        .map_err(|e| anyhow!("generating SSH certificate vectors: {e}"))?;
    let ssh_dir = dir.join("ssh/keys");
    fs::create_dir_all(&ssh_dir).with_context(|| format!("creating {}", ssh_dir.display()))?;
    for (name, content) in files.into_iter().chain(rev).chain(service).chain(ssh) {
        let p = dir.join(&name);
        fs::write(&p, content).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
