//! `jit-verify report`: grants, use, refusals and break-glass uses per user.

use std::path::PathBuf;

use anyhow::Result;

use crate::ledger;

#[derive(clap::Args)]
pub struct Args {
    /// Grants and refusals issued from this time on (inclusive); local time unless
    /// Z, UTC or an offset is given (forms below).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    from: Option<String>,
    /// Up to this time (exclusive).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    to: Option<String>,
    /// Host audit logs and a collector's files, or directories of them
    /// (read as for query: verified first, a central copy as fleet checks
    /// it), of any hosts, in any order: grouped by log id.
    #[arg(long = "log", value_name = "FILE|DIR", num_args = 1..)]
    logs: Vec<PathBuf>,
    #[command(flatten)]
    opts: ledger::LedgerOpts,
}

pub fn run(a: Args) -> Result<i32> {
    let Args {
        from,
        to,
        logs,
        opts,
    } = a;
    ledger::report(from.as_deref(), to.as_deref(), &logs, &opts)
}
