//! `jit-verify log`: verify the chain and seals of a log, oldest segment first.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use jit_core::log::query;
use jit_core::log::verify::{self, Class, Options, Report, SealKey};
use jit_core::token::printable;

#[derive(clap::Args)]
pub struct Args {
    /// The initial seal key exported at log creation (forward integrity).
    #[arg(long, value_name = "FILE")]
    seal_key: Option<PathBuf>,
    /// The writer's state file: detects a cut tail and (with --seal-key) a rolled-back state.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Lock file to wait on if the log is being written (default: STATE.lock when --state is given).
    #[arg(long, value_name = "FILE")]
    lock: Option<PathBuf>,
    /// A syslog file holding the mirror lines: detects rewritten and cut records.
    #[arg(long, value_name = "FILE")]
    against_syslog: Option<PathBuf>,
    /// Accept a chain whose first segment starts with a continue record (older segments gone).
    #[arg(long)]
    partial: bool,
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Segments, oldest first.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn run(a: Args) -> Result<i32> {
    let Args {
        seal_key,
        state,
        lock,
        against_syslog,
        partial,
        json,
        files,
    } = a;
    let seal_key = seal_key
        .map(|p| SealKey::read(&p))
        .transpose()
        .context("reading the seal key")?;
    let lock = lock.or_else(|| state.as_deref().map(jit_core::log::lock_path_for));
    let (state, state_older, state_damaged) = match state {
        Some(p) => match verify::read_state_file(&p).context("reading the state file")? {
            verify::StateFile::Slots(slots) => {
                let (newer, older) = *slots;
                (Some(newer), older, None)
            }
            verify::StateFile::Damaged(why) => (None, None, Some(why)),
        },
        None => (None, None, None),
    };
    let syslog = against_syslog
        .map(|p| {
            std::fs::read(&p)
                .map(|t| verify::parse_syslog(&t))
                .with_context(|| format!("reading {}", p.display()))
        })
        .transpose()?;
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = (std::io::stderr().is_terminal() && total > 64 << 20).then(|| {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let cb = |n: u64| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    };
    let opts = Options {
        seal_key,
        state,
        state_older,
        state_damaged,
        lock,
        lock_wait: None,
        syslog,
        partial,
        progress: Some(&cb),
    };
    let report = verify::verify_files(&files, &opts).context("verifying")?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    // Break-glass uses are listed for review once the records are
    // known to be authentic (intact, or only a torn tail).
    let review: &[query::ReviewItem] = if matches!(report.exit_code, 0 | 3) {
        &report.review
    } else {
        &[]
    };
    print_report(&report, review, json)?;
    Ok(report.exit_code)
}

fn print_report(r: &Report, review: &[query::ReviewItem], json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let mut v = serde_json::to_value(r)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("needs_review".into(), serde_json::to_value(review)?);
        }
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
        return Ok(());
    }
    let range = match (r.first_seq, r.last_seq) {
        (Some(a), Some(b)) => format!("seq {a}..{b}"),
        _ => "no records".into(),
    };
    writeln!(
        out,
        "{} records, {range}, log {}",
        r.records,
        r.log_id.as_deref().unwrap_or("?")
    )?;
    for f in &r.findings {
        let class = match f.class {
            Class::Tampered => "TAMPERED",
            Class::Torn => "TORN",
            Class::Warning => "warning",
            Class::Note => "note",
        };
        let kind = serde_json::to_value(f.kind)?;
        let loc = if f.file.is_empty() {
            String::new()
        } else {
            format!("{}:{}: ", f.file, f.line)
        };
        let seq = f.seq.map(|s| format!("seq {s}: ")).unwrap_or_default();
        writeln!(
            out,
            "{class} [{}] {loc}{seq}{}",
            kind.as_str().unwrap_or("?"),
            f.detail
        )?;
    }
    if r.forward_integrity_checked {
        writeln!(
            out,
            "forward integrity: checked (every seal verified with the initial key)"
        )?;
    } else {
        writeln!(
            out,
            "forward integrity: NOT checked (no --seal-key): only the plain hash chain was verified; \
             root can rewrite the whole file with a recomputed chain undetected"
        )?;
    }
    if !r.state_checked && !r.syslog_checked {
        writeln!(out, "tail: not anchored (no --state or --against-syslog): records cut from the end would not be seen")?;
    }
    if !review.is_empty() {
        writeln!(
            out,
            "NEEDS REVIEW: {} break-glass decision(s):",
            review.len()
        )?;
        for i in review {
            let cmd = match (&i.argv, &i.command) {
                (Some(a), _) => a.join(" "),
                (None, Some(c)) => c.clone(),
                _ => "-".into(),
            };
            writeln!(
                out,
                "  {}:{}: seq {} {} host {} user {} as {} {} [{}] token {} reason {:?}{} :: {}",
                i.file,
                i.line,
                i.seq,
                i.time,
                i.host,
                i.user.as_deref().unwrap_or("-"),
                i.run_as_user.as_deref().unwrap_or("-"),
                match i.allowed {
                    Some(true) => "ALLOWED",
                    _ => "denied",
                },
                i.reason_code.as_deref().unwrap_or("-"),
                i.token_id.as_deref().unwrap_or("-"),
                i.token_reason.as_deref().unwrap_or(""),
                i.ticket
                    .as_deref()
                    .map(|t| format!(" ticket {}", printable(t)))
                    .unwrap_or_default(),
                printable(&cmd)
            )?;
        }
    }
    let what = match r.exit_code {
        0 => "intact",
        1 => "TAMPERED",
        3 => "crash leftover only (torn tail, state behind or ahead by what a crash leaves, or a fork at a rotation; no tampering found)",
        _ => "could not check",
    };
    writeln!(out, "result: {what} (exit {})", r.exit_code)?;
    Ok(())
}
