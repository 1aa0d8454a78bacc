//! `jit-verify standing`: who held a live grant at a time (issuance ledger).

use anyhow::Result;

use crate::ledger;

#[derive(clap::Args)]
pub struct Args {
    /// The instant ("2026-11-17 03:00", "yesterday 14:00", "-2h", RFC 3339; local time unless
    /// Z, UTC or an offset is given: see below).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    at: String,
    /// Only this user's grants.
    #[arg(long)]
    user: Option<String>,
    /// Only grants naming this host group.
    #[arg(long = "host-group", value_name = "GROUP")]
    host_group: Option<String>,
    #[command(flatten)]
    opts: ledger::LedgerOpts,
}

pub fn run(a: Args) -> Result<i32> {
    let Args {
        at,
        user,
        host_group,
        opts,
    } = a;
    ledger::standing(&at, user.as_deref(), host_group.as_deref(), &opts)
}
