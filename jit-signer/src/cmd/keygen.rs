//! `jit-signer keygen`: a new signing key, in files or in a PKCS#11 token.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use jit_core::keys::SigningKeyWithKid;

use crate::key::Pkcs11Args;
use crate::{create_private_dir, deliver, io_err, out, pkcs11, usage, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Key id: 1-64 characters from A-Z a-z 0-9 . _ -
    #[arg(long)]
    kid: String,
    /// Directory to write the key pair into (created with mode 0700 if missing).
    #[arg(long, required_unless_present = "pkcs11", conflicts_with = "pkcs11")]
    out: Option<PathBuf>,
    #[command(flatten)]
    hsm: Pkcs11Args,
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let Args { kid, out: dir, hsm } = a;
    hsm.check()?;
    match (&hsm.pkcs11, dir) {
        (Some(uri), _) => {
            let line = pkcs11::keygen(uri, &kid, hsm.pin_file.as_deref())?;
            deliver(&line, || {
                format!(
                    "key {kid} was generated in the token, but its trusted-keys line \
                         was not delivered; it is: {}",
                    line.trim_end()
                )
            })
            .map(|_| 0)
        }
        (None, Some(dir)) => keygen(&kid, &dir).map(|_| 0),
        (None, None) => Err(usage(anyhow!("give --out DIR or --pkcs11 URI"))),
    }
}

fn keygen(kid: &str, dir: &Path) -> Result<(), Fail> {
    let sk = SigningKeyWithKid::generate(kid).map_err(|e| usage(e.into()))?;
    create_private_dir(dir)?;
    let key_path = dir.join(format!("{kid}.key"));
    let pub_path = dir.join(format!("{kid}.pub"));
    for p in [&key_path, &pub_path] {
        if fs::symlink_metadata(p).is_ok() {
            return Err(io_err(anyhow!(
                "{} already exists; refusing to overwrite",
                p.display()
            )));
        }
    }
    let write_new = |p: &Path, mode: u32, data: &[u8]| -> anyhow::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(p)
            .with_context(|| format!("creating {} (refusing to overwrite)", p.display()))?;
        f.write_all(data)
            .and_then(|_| f.sync_all())
            .with_context(|| format!("writing {}", p.display()))
    };
    write_new(&key_path, 0o600, sk.to_secret_file().as_bytes()).map_err(io_err)?;
    write_new(&pub_path, 0o644, sk.trusted_keys_line().as_bytes()).map_err(io_err)?;
    out(&format!(
        "wrote {} (secret, mode 0600) and {} (append it to the trusted-keys file of every host)\n",
        key_path.display(),
        pub_path.display()
    ))
}
