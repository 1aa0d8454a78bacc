//! `jit-verify query`: matching records as a table or JSON lines.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use clap::ValueEnum;
use jit_core::log::query::{self, Filter};
use jit_core::token::printable;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    user: Option<String>,
    #[arg(long)]
    host: Option<String>,
    /// Inclusive; RFC 3339 or "YYYY-MM-DD HH:MM" (UTC).
    #[arg(long)]
    since: Option<String>,
    /// Exclusive; RFC 3339 or "YYYY-MM-DD HH:MM" (UTC).
    #[arg(long)]
    until: Option<String>,
    /// Command path, its file name, or argv[0].
    #[arg(long)]
    command: Option<String>,
    /// Only decisions with this outcome.
    #[arg(long)]
    decision: Option<Decision>,
    /// Only break-glass records.
    #[arg(long = "break-glass")]
    break_glass: bool,
    /// JSON lines (the records as stored).
    #[arg(long)]
    json: bool,
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn run(a: Args) -> Result<i32> {
    let Args {
        user,
        host,
        since,
        until,
        command,
        decision,
        break_glass,
        json,
        files,
    } = a;
    let clock = crate::clock()?;
    let filter = Filter {
        user,
        host,
        since: since.map(|s| clock.parse(&s)).transpose()?,
        until: until.map(|s| clock.parse(&s)).transpose()?,
        command,
        decision: decision.map(|d| matches!(d, Decision::Allow)),
        kinds: Vec::new(),
        break_glass,
    };
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    if !json {
        writeln!(
            out,
            "{:<27} {:>8} {:<12} {:<10} {:<8} {:<6} {:<14} COMMAND",
            "TIME", "SEQ", "HOST", "USER", "AS", "ALLOW", "REASON"
        )?;
    }
    let bad = query::for_each_record(&files, |_, _, r| {
        if !filter.matches(r) {
            return Ok(());
        }
        if json {
            serde_json::to_writer(&mut out, r)?;
            writeln!(out)
        } else {
            let cmd = match (&r.command, &r.argv) {
                (_, Some(a)) => a.join(" "),
                (Some(c), None) => c.to_string(),
                _ => r.message.as_deref().unwrap_or("").to_string(),
            };
            let cmd = printable(&cmd);
            writeln!(
                out,
                "{:<27} {:>8} {:<12} {:<10} {:<8} {:<6} {:<14} {}",
                r.time,
                r.seq,
                r.host,
                r.user.as_deref().unwrap_or("-"),
                r.run_as_user.as_deref().unwrap_or("-"),
                match r.allowed {
                    Some(true) => "yes",
                    Some(false) => "NO",
                    None => r.kind.as_str(),
                },
                r.reason_code.as_deref().unwrap_or("-"),
                cmd
            )
        }
    })?;
    out.flush()?;
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
