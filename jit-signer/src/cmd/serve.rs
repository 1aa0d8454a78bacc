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
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let policy_path = policy_path(a.policy)
        .ok_or_else(|| usage(anyhow!("no --policy given and $JIT_POLICY is not set")))?;
    let policy = load_policy(&policy_path)?;
    let signer = a.hsm.open_signer_send(a.key.as_deref())?;
    let issuer = a.issuer.unwrap_or_else(|| signer.kid().to_string());
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
    })?;
    Ok(0)
}
