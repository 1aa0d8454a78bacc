//! `jit-signer export-pub`: the trusted-keys line of a key, or (`--ssh`) the
//! OpenSSH public key line of an SSH CA key for sshd's `TrustedUserCAKeys`.

use std::path::PathBuf;

use crate::key::Pkcs11Args;
use crate::{key_err, out, pkcs11, pretty, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Secret key file written by `keygen`.
    #[arg(long, required_unless_present = "pkcs11", conflicts_with = "pkcs11")]
    key: Option<PathBuf>,
    #[command(flatten)]
    hsm: Pkcs11Args,
    /// Print {"kid", "alg", "public_key", "line"} as JSON.
    #[arg(long)]
    json: bool,
    /// Print the key as an OpenSSH public key line (`ssh-ed25519 AAAA... KID`),
    /// for sshd's TrustedUserCAKeys (an SSH CA key).
    #[arg(long)]
    ssh: bool,
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let Args {
        key,
        hsm,
        json,
        ssh,
    } = a;
    let signer = hsm.open_signer(key.as_deref())?;
    let pk = signer.public_key().map_err(|e| key_err(e.into()))?;
    let line = if ssh {
        format!(
            "{}\n",
            jit_core::ssh_cert::ca_public_line(&pk, signer.kid())
        )
    } else {
        pkcs11::trusted_line(signer.kid(), &pk)
    };
    if json {
        let v = serde_json::json!({
            "kid": signer.kid(),
            "alg": "ed25519",
            "public_key": line.split_ascii_whitespace().nth(if ssh { 1 } else { 2 }),
            "line": line.trim_end(),
        });
        out(&format!("{}\n", pretty(&v)))
    } else {
        out(&line)
    }
    .map(|_| 0)
}
