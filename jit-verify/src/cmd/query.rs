//! `jit-verify query`: matching records of many hosts' logs, verified and
//! merged by time, as a table or JSON lines.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use clap::ValueEnum;
use jit_core::log::merge;
use jit_core::log::query::Filter;
use jit_core::token::printable;

#[derive(clap::Args)]
pub struct Args {
    /// Only records of this host (the name each record carries).
    #[arg(long)]
    host: Option<String>,
    /// Only records of this invoking user.
    #[arg(long)]
    user: Option<String>,
    /// Only commands run as this user (root, postgres, ...).
    #[arg(long = "run-as", value_name = "USER")]
    run_as: Option<String>,
    /// Command path, its file name, or argv[0].
    #[arg(long)]
    command: Option<String>,
    /// Only records of tokens with this ticket.
    #[arg(long)]
    ticket: Option<String>,
    /// Only decisions with this outcome.
    #[arg(long)]
    decision: Option<Decision>,
    /// Only break-glass records.
    #[arg(long = "break-glass")]
    break_glass: bool,
    /// From this time on (inclusive): "yesterday 14:00", "-1h", "2026-11-19 14:00",
    /// RFC 3339, ...; local time unless Z, UTC or an offset is given (see below).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    since: Option<String>,
    /// Up to this time (exclusive); forms as for --since.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    until: Option<String>,
    /// JSON lines: each matching record exactly as stored in its log, one per
    /// line (its "v" is the record format version); nothing else on stdout.
    #[arg(long)]
    json: bool,
    /// Do not verify the logs first. The answer is then UNVERIFIED (said on
    /// stderr): records may be forged, altered or missing.
    #[arg(long = "no-verify")]
    no_verify: bool,
    /// Accept logs whose oldest segment starts with a continue record (older segments gone).
    #[arg(long)]
    partial: bool,
    /// Host log segments and a collector's files (as for jit-verify fleet), or
    /// directories of them (walked in name order; links inside are not
    /// followed), of any hosts, in any order: grouped into logs by log id
    /// and ordered by first seq. A log with a central copy is checked as
    /// `jit-verify fleet` checks it, and read from the host's segments when
    /// they are given, else from the central copy.
    #[arg(required = true, value_name = "FILE|DIR")]
    inputs: Vec<PathBuf>,
}

pub fn run(a: Args) -> Result<i32> {
    let Args {
        host,
        user,
        run_as,
        command,
        ticket,
        decision,
        break_glass,
        since,
        until,
        json,
        no_verify,
        partial,
        inputs,
    } = a;
    // The local zone is only looked up when a time is given.
    let clock = match (&since, &until) {
        (None, None) => None,
        _ => Some(crate::clock()?),
    };
    let read = |t: Option<String>| -> Result<Option<String>> {
        match (t, &clock) {
            (Some(t), Some(c)) => Ok(Some(c.parse(&t)?)),
            _ => Ok(None),
        }
    };
    let filter = Filter {
        user,
        host,
        run_as,
        ticket,
        since: read(since)?,
        until: read(until)?,
        command,
        decision: decision.map(|d| matches!(d, Decision::Allow)),
        kinds: Vec::new(),
        break_glass,
    };
    if let Some(clock) = &clock {
        eprintln!(
            "jit-verify: records from {} to {} (UTC; typed times read in {})",
            filter.since.as_deref().unwrap_or("the start"),
            filter.until.as_deref().unwrap_or("the end"),
            clock.zone_name()
        );
    }
    let opts = crate::inputs::Opts {
        partial,
        no_verify,
        accept_unverified: false,
        flag: "--no-verify",
    };
    let logs = crate::inputs::open_logs(&inputs, &opts, &mut |_| Ok(None))?
        .into_iter()
        .map(|l| l.input)
        .collect();
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    if !json {
        writeln!(
            out,
            "{:<27} {:<12} {:>8} {:<10} {:<8} {:<13} {:<20} {:<12} COMMAND",
            "TIME (UTC)", "HOST", "SEQ", "USER", "AS", "ALLOW", "REASON", "TICKET"
        )?;
    }
    let stats = merge::merge(logs, &filter, |_, _, line, r| {
        if json {
            return out.write_all(line);
        }
        let cmd = match (&r.command, &r.argv) {
            (_, Some(a)) => a.join(" "),
            (Some(c), None) => c.to_string(),
            _ => r.message.as_deref().unwrap_or("").to_string(),
        };
        let field = |v: Option<&str>| printable(v.unwrap_or("-")).into_owned();
        writeln!(
            out,
            "{:<27} {:<12} {:>8} {:<10} {:<8} {:<13} {:<20} {:<12} {}",
            r.time,
            printable(&r.host),
            r.seq,
            field(r.user.as_deref()),
            field(r.run_as_user.as_deref()),
            match r.allowed {
                Some(true) => "yes",
                Some(false) => "NO",
                None => r.kind.as_str(),
            },
            field(r.reason_code.as_deref()),
            field(r.ticket.as_deref()),
            printable(&cmd)
        )
    })?;
    out.flush()?;
    // Only unverified logs can have any: a verified one is read exactly.
    let bad: u64 = stats.unparsable.iter().sum();
    if bad > 0 {
        eprintln!("jit-verify: {bad} unparsable lines skipped (run `jit-verify log`)");
    }
    Ok(0)
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Decision {
    Allow,
    Deny,
}
