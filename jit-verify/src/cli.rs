//! The command line of jit-verify: its subcommands, what each does and the
//! exit codes. One module per subcommand in `cmd/` holds its options and
//! its `run`.

use clap::{Parser, Subcommand};

use crate::cmd;

pub(crate) const EXIT_HELP: &str = "Exit codes (log): 0 intact, 1 tampered (a state file with \
no valid slot included), 2 could not check (unreadable file, bad key file, missing or empty \
state file, the writers' lock held past its 10 s wait, bad arguments), 3 crash leftovers only \
(a torn tail, the state one or two steps behind or one ahead, a fork left at a rotation; no \
tampering found). With several logs, log prints one report per log and exits with the worst (1 over 3 over 0). fleet: 0 every log intact, 1 a log tampered (in the central copy, or cut or rewritten on the host after forwarding), 2 could not check, 3 crash leftovers only, 4 no tampering but attention needed: a host silent longer than --max-silence, records missing from the central copy (or held by hash only) that no host log given fills, lines too far out of place, a host log with no central copy, or a file that could not be read as a log (1 over 4 over 3 over 0). query: 0 answered (from logs that verify, or unverified with --no-verify), 1 a log does not verify: refused, 2 error. stats: 0 ok, 2 error. standing/report: 0 answered from inputs that verify, 1 an input (ledger or host log) does not verify: refused, or answered anyway with --unverified, 2 error. config: 0 pam_jit would accept the configuration and keys, 1 it would refuse them.";

/// How every time option is read (`jit_core::text::user_time`).
pub(crate) const TIMES_HELP: &str = "Times (--since, --until, --at, --from, --to, --now) are read as \
journalctl reads them: \"2026-11-19 14:00[:SS]\", \"2026-11-19\" (the start of that day), \"14:00\" \
(today), \"now\", \"today\", \"yesterday\", \"tomorrow\" (the start of that day, or with a time: \
\"yesterday 14:00\"), relative \"-1h\", \"+30min\", \"-1h30min\", \"2d ago\" (units s, min, h, d, w; \
m is minutes), \"@UNIXSECONDS[.FRACTION]\", and RFC 3339 (\"2026-11-19T15:00:00+01:00\"). They are \
LOCAL time, in the zone of TZ (else /etc/localtime), unless \"Z\", \" UTC\" or an offset (\"+01:00\") \
is given; \"YYYY-MM-DD HH:MM\" used to mean UTC. A local time that a daylight-saving change skips \
or repeats is refused, naming the offsets to choose from. A TZ that names no zone is an error.";

fn times_and_exit_help() -> String {
    format!("{TIMES_HELP}\n\n{EXIT_HELP}")
}

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
    /// Check every host's log from the collector's copy.
    ///
    /// Takes the collector's tree (and optionally host log segments), groups
    /// everything by log id, verifies each log's chain (and with its
    /// --seal-key its seals) from the central copy, and reports per host:
    /// records, first/last seq and time, gaps (and whether the host's log
    /// still has them), duplicated lines (RELP resends: not tampering) and
    /// lines out of order, hosts silent for longer than --max-silence, and
    /// records cut or rewritten on the host after they were forwarded
    /// (tampering, naming host and seq).
    #[command(after_help = times_and_exit_help())]
    Fleet(cmd::fleet::Args),
    /// Matching records of one or many hosts' logs, merged by time, as a table or JSON lines.
    ///
    /// Every log (segments grouped by log id) is verified first, as `log`
    /// does with no key, and a log that does not verify is refused (exit 1)
    /// unless --no-verify.
    #[command(after_help = times_and_exit_help())]
    Query(cmd::query::Args),
    /// Per user / host / command counts, denials by reason, session durations.
    Stats(cmd::stats::Args),
    /// Who held a live grant at TIME, to which host groups (from the issuance ledger).
    ///
    /// Verifies the ledger chain first and refuses to answer from a ledger that
    /// does not verify (unless --unverified). Live at TIME: nbf <= TIME < exp and
    /// not revoked by the revocation list in force at TIME.
    #[command(after_help = times_and_exit_help())]
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
    #[command(after_help = times_and_exit_help())]
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
