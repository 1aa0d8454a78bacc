//! `jit-signer serve`: run the signing service (docs/signer-service.md).

use std::path::PathBuf;

use anyhow::anyhow;

use crate::approval::{load_policy, policy_path};
use crate::key::Pkcs11Args;
use crate::ledger::LedgerArgs;
use crate::service::{self, Config, DEFAULT_STATE_DIR};
use crate::{usage, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The socket to listen on (created mode 0666; callers are named by the kernel).
    /// Default: $JIT_SIGNER_SOCKET, else /run/jit-signer/socket.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Where the requests are kept (DIR/requests/, mode 0700).
    #[arg(long = "state-dir", value_name = "DIR", default_value = DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Policy file (TOML; its format: /usr/share/doc/jit-signer/signer-policy.md).
    /// Default: $JIT_POLICY.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Secret key file (or --pkcs11).
    #[arg(long)]
    key: Option<PathBuf>,
    #[command(flatten)]
    hsm: Pkcs11Args,
    #[command(flatten)]
    ledger: LedgerArgs,
    /// Issuer name. Default: the key id.
    #[arg(long)]
    issuer: Option<String>,
    /// Run this program for every new request and decision, with a JSON
    /// document on stdin (its format: /usr/share/doc/jit-signer/signer-service.md); its
    /// failure is logged and never fails a call.
    #[arg(long, value_name = "PATH")]
    notify: Option<PathBuf>,
    /// Calls served at once; more are answered `busy`.
    #[arg(long = "max-connections", default_value_t = 64)]
    max_connections: usize,
    /// Calls one user may have open at once; more are answered `busy`.
    #[arg(long = "max-calls-per-user", default_value_t = crate::service::MAX_CALLS_PER_USER)]
    max_calls_per_user: usize,
    /// The SSH certificate authority's key file (an Ed25519 key written by
    /// `keygen`, not the token key): requests with an SSH key then get a
    /// certificate (/usr/share/doc/jit-signer/ssh-cert.md). Without it,
    /// such requests are refused.
    #[arg(long = "ssh-ca", value_name = "FILE", conflicts_with = "ssh_ca_pkcs11")]
    ssh_ca: Option<PathBuf>,
    /// Or the CA key in a PKCS#11 token (a pkcs11: URI).
    #[arg(long = "ssh-ca-pkcs11", value_name = "URI")]
    ssh_ca_pkcs11: Option<String>,
    /// The signer's revocation state directory (`revoke --state`): a user
    /// it revokes gets no token or certificate, a key it revokes no
    /// certificate (checked at request and again at approval). A list there
    /// that cannot be read or decoded refuses every grant.
    #[arg(
        long = "revocation-dir",
        value_name = "DIR",
        env = "JIT_REVOCATION_DIR"
    )]
    revocation_dir: Option<PathBuf>,
    /// The PIN of the --ssh-ca-pkcs11 token, from a file.
    #[arg(
        long = "ssh-ca-pin-file",
        value_name = "FILE",
        requires = "ssh_ca_pkcs11"
    )]
    ssh_ca_pin_file: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let policy_path = policy_path(a.policy)
        .ok_or_else(|| usage(anyhow!("no --policy given and $JIT_POLICY is not set")))?;
    let policy = load_policy(&policy_path)?;
    let signer = a.hsm.open_signer_send(a.key.as_deref())?;
    let issuer = a.issuer.unwrap_or_else(|| signer.kid().to_string());
    let ssh_ca = crate::key::open_ssh_ca(
        a.ssh_ca.as_deref(),
        a.ssh_ca_pkcs11.as_deref(),
        a.ssh_ca_pin_file.as_deref(),
    )?;
    if let Some(ca) = &ssh_ca {
        crate::key::refuse_ca_as_token_key(ca.as_ref(), signer.as_ref())?;
    }
    if let Some(d) = &a.revocation_dir {
        // A mistyped directory would silently revoke nothing: it must exist
        // (the packaged unit creates /var/lib/jit-signer/revocation).
        if !d.is_dir() {
            return Err(crate::io_err(anyhow!(
                "--revocation-dir {} is not a directory: create it (revoke --state {} writes the list there) or leave the option out",
                d.display(),
                d.display()
            )));
        }
        match crate::revoked::current(d) {
            Ok(Some(l)) => eprintln!(
                "jit-signer serve: revocation list version {} of {} ({} users revoked)",
                l.version,
                d.display(),
                l.users.len()
            ),
            Ok(None) => eprintln!(
                "jit-signer serve: no revocation list in {} yet: nothing is revoked",
                d.display()
            ),
            Err(r) => eprintln!(
                "jit-signer serve: WARNING: the revocation list in {} cannot be used ({}): every grant is refused until it is fixed: {r}",
                d.display(),
                r.code
            ),
        }
    }
    service::serve(Config {
        socket: crate::client::socket_or_default(a.socket),
        state_dir: a.state_dir,
        policy,
        signer,
        issuer,
        ledger: a.ledger.config(),
        max_connections: a.max_connections,
        max_calls_per_user: a.max_calls_per_user,
        notify: a.notify,
        ssh_ca,
        revocation_dir: a.revocation_dir,
    })?;
    Ok(0)
}
