//! The command line of jit-verify: its subcommands, what each does and the
//! exit codes. One module per subcommand in `cmd/` holds its options and
//! its `run`.

use clap::{Parser, Subcommand};

use crate::cmd;

pub(crate) const EXIT_HELP: &str = "Exit codes (log): 0 intact, 1 tampered (a state file with \
no valid slot included), 2 could not check (unreadable file, bad key file, missing or empty \
state file, the writers' lock held past its 10 s wait, bad arguments), 3 crash leftovers only \
(a torn tail, the state one or two steps behind or one ahead, a fork left at a rotation; no \
tampering found). query/stats: 0 ok, 2 error. standing/report: 0 answered from inputs that verify, 1 an input (ledger or host log) does not verify: refused, or answered anyway with --unverified, 2 error. config: 0 pam_jit would accept the configuration and keys, 1 it would refuse them.";

/// Verify and query jit audit logs.
#[derive(Parser)]
#[command(name = "jit-verify", version, after_help = EXIT_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Verify the chain (and with --seal-key the seals) of one or more segments, oldest first.
    #[command(after_help = EXIT_HELP)]
    Log(cmd::log::Args),
    /// Show matching records as a table or JSON lines. Does not verify: run `log` first.
    Query(cmd::query::Args),
    /// Per user / host / command counts, denials by reason, session durations.
    Stats(cmd::stats::Args),
    /// Who held a live grant at TIME, to which host groups (from the issuance ledger).
    ///
    /// Verifies the ledger chain first and refuses to answer from a ledger that
    /// does not verify (unless --unverified). Live at TIME: nbf <= TIME < exp and
    /// not revoked by the revocation list in force at TIME.
    #[command(after_help = EXIT_HELP)]
    Standing(cmd::standing::Args),
    /// Per-user grants, TTL granted vs used, unused grants, refusals, host
    /// denials and break-glass uses, from the ledger and host logs.
    ///
    /// Verifies the ledger and every host log first (as `standing` does).
    ///
    /// Definitions: grants issued and refused requests are the ledger's
    /// issued and refused records in the window; TTL granted is exp - nbf;
    /// the uses of a grant are the host logs' allowed decisions with its
    /// token id, at any time; TTL used runs from its first allowed use to
    /// the later of its last use and its last session close; an unused grant
    /// has no allowed use in the logs given (give every host's logs for the
    /// period); host denials are the decisions not allowed in the window;
    /// "not in the ledger" lists token ids used on hosts with no issued
    /// record in the ledger given.
    #[command(after_help = EXIT_HELP)]
    Report(cmd::report::Args),
    /// Check this host's pam_jit configuration and trusted keys with the rules
    /// the module applies before every decision (file safety, strict parsing,
    /// a key usable now). `jit-ctl enable` runs it: a configuration the module
    /// refuses would deny every sudo, root's included.
    #[command(after_help = EXIT_HELP)]
    Config(cmd::config::Args),
    /// Write host-log and ledger records as NDJSON for a SIEM: OCSF (process
    /// launches, failed account switches, sessions, privilege assignments and
    /// revocations, log starts, rotations and recoveries) or ECS (user.name,
    /// user.effective.name, process.command_line, host.name, event.outcome,
    /// the jit fields under jit.*).
    #[command(after_help = cmd::export::EXPORT_HELP)]
    Export(cmd::export::Args),
}
