//! `jit-verify fleet`: every host's log checked from the collector's copy
//! (docs/fleet.md, "jit-verify fleet"); the work is `jit_core::log::fleet`.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use jit_core::log::fleet::{self, FleetReport, LogReport, Options};
use jit_core::log::source;
use jit_core::log::verify::SealKey;
use jit_core::token::printable;

#[derive(clap::Args)]
pub struct Args {
    /// A log's initial seal key (forward integrity). Repeatable: each key
    /// goes to the log of its log id (one that matches no log is an error).
    #[arg(long, value_name = "FILE")]
    seal_key: Vec<PathBuf>,
    /// Flag hosts whose newest record in the central copy is older than
    /// this (e.g. 30m, 2h, 1h30m, 1d, 1w; a plain number is seconds).
    #[arg(long, value_name = "DURATION")]
    max_silence: Option<String>,
    /// The time --max-silence is measured at (default: now); read as the
    /// other time options are (journalctl's forms, local time unless Z, UTC
    /// or an offset is given).
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// The collector's tree (e.g. /var/log/jit-fleet), its files, and
    /// optionally host log segments: everything is grouped by log id.
    #[arg(required = true, value_name = "DIR|FILE")]
    paths: Vec<PathBuf>,
}

pub fn run(a: Args) -> Result<i32> {
    let max_silence = a
        .max_silence
        .as_deref()
        .map(|s| {
            fleet::parse_duration(s).with_context(|| {
                format!(
                    "--max-silence {s:?}: use numbers with units s, m, h, d or w (30m, 2h, 1h30m, 1d)"
                )
            })
        })
        .transpose()?;
    let now = match a.now.as_deref() {
        Some(t) => crate::clock()?.parse_micros(t)?.div_euclid(1_000_000),
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
    };
    let seal_keys = a
        .seal_key
        .iter()
        .map(|p| SealKey::read(p))
        .collect::<Result<Vec<_>, _>>()
        .context("reading the seal key")?;
    let src = source::scan(&a.paths).context("reading the inputs")?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let r = fleet::check(
        src,
        Options {
            seal_keys,
            max_silence,
            now,
            threads,
            window: fleet::WINDOW,
        },
    )
    .context("checking the fleet")?;
    let mut out = std::io::stdout().lock();
    if a.json {
        let mut v = serde_json::to_value(&r)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("json_version".into(), 1.into());
        }
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
    } else {
        print_text(&mut out, &r, max_silence.is_some())?;
    }
    Ok(r.exit_code)
}

fn print_log(out: &mut impl std::io::Write, l: &LogReport) -> Result<()> {
    let range = match (l.first_seq, l.last_seq) {
        (Some(a), Some(b)) => format!("seq {a}..{b}"),
        _ => "no records".into(),
    };
    let times = match (&l.first_time, &l.last_time) {
        (Some(a), Some(b)) => format!(", {a} .. {b}"),
        _ => String::new(),
    };
    writeln!(
        out,
        "host {} log {}: {} records, {range}{times}, {} central file(s), {} host segment(s)",
        printable(&l.host),
        l.log_id.as_deref().unwrap_or("?"),
        l.records,
        l.files.len(),
        l.host_segments.len()
    )?;
    if l.duplicates > 0 || l.out_of_order > 0 {
        writeln!(
            out,
            "  {} duplicate line(s) (RELP resends, not tampering), {} out of order",
            l.duplicates, l.out_of_order
        )?;
    }
    for f in &l.findings {
        writeln!(out, "  {}", crate::finding_line(f))?;
    }
    if !l.forward_integrity_checked {
        writeln!(
            out,
            "  forward integrity: NOT checked (no --seal-key for this log): only the plain hash chain"
        )?;
    }
    writeln!(
        out,
        "  result: {} (exit {})",
        crate::result_word(l.exit_code),
        l.exit_code
    )?;
    Ok(())
}

fn print_text(out: &mut impl std::io::Write, r: &FleetReport, silence: bool) -> Result<()> {
    for l in &r.logs {
        print_log(out, l)?;
    }
    for u in &r.unrecognised {
        writeln!(out, "not read: {}: {}", printable(&u.file), u.why)?;
    }
    for u in &r.unrecorded {
        writeln!(
            out,
            "unrecorded events (a host could not write its log; read them): {}",
            printable(u)
        )?;
    }
    let count = |c: i32| r.logs.iter().filter(|l| l.exit_code == c).count();
    let silent = r.hosts.iter().filter(|h| h.silent).count();
    writeln!(
        out,
        "fleet: {} logs of {} hosts: {} tampered, {} need attention, {} crash leftovers{}",
        r.logs.len(),
        r.hosts.len(),
        count(1),
        count(4),
        count(3),
        if silence {
            format!(", {silent} silent host(s)")
        } else {
            String::new()
        }
    )?;
    writeln!(
        out,
        "result: {} (exit {})",
        crate::result_word(r.exit_code),
        r.exit_code
    )?;
    Ok(())
}
