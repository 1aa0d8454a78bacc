//! `jit-verify log`: verify the chain and seals of a log, oldest segment first.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use jit_core::log::record::hex;
use jit_core::log::verify::{self, Options, Report, SealKey};
use jit_core::log::{query, source};
use jit_core::token::printable;

#[derive(clap::Args)]
pub struct Args {
    /// The initial seal key exported at log creation (forward integrity).
    /// Repeatable with several logs: each key goes to the log of its log id.
    #[arg(long, value_name = "FILE")]
    seal_key: Vec<PathBuf>,
    /// The writer's state file: detects a cut tail and (with --seal-key) a
    /// rolled-back state. Repeatable with several logs, as --seal-key.
    #[arg(long, value_name = "FILE")]
    state: Vec<PathBuf>,
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
    /// Segments, oldest first. Segments of several logs are told apart by
    /// log id (a file naming none stays with the file before it), each log
    /// keeping the order given, and verified one by one.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// A state file as read, before it is matched to its log.
struct StateIn {
    path: PathBuf,
    file: verify::StateFile,
}

impl StateIn {
    fn log_id(&self) -> Option<[u8; 16]> {
        match &self.file {
            verify::StateFile::Slots(s) => Some(s.0.log_id),
            verify::StateFile::Damaged(_) => None,
        }
    }
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
    let mut keys: Vec<SealKey> = seal_key
        .iter()
        .map(|p| SealKey::read(p))
        .collect::<Result<_, _>>()
        .context("reading the seal key")?;
    let mut states: Vec<StateIn> = state
        .into_iter()
        .map(|p| {
            verify::read_state_file(&p)
                .map(|file| StateIn { path: p, file })
                .context("reading the state file")
        })
        .collect::<Result<_>>()?;
    let syslog = against_syslog
        .map(|p| {
            std::fs::read(&p)
                .map(|t| verify::parse_syslog(&t))
                .with_context(|| format!("reading {}", p.display()))
        })
        .transpose()?;
    let groups = source::group_in_order(&files).context("reading the log")?;
    let several = groups.len() > 1;
    if several && lock.is_some() {
        bail!("--lock names one log's lock; with several logs each waits on its --state's lock");
    }
    if several && states.iter().any(|s| s.log_id().is_none()) {
        bail!("a --state file has no usable slot, so it cannot be matched to one of several logs: verify its log alone");
    }
    let mut reports = Vec::new();
    for (id, group) in &groups {
        // One log: its key and state whatever they name (a mismatch is a
        // finding); several: each goes to the log of its id.
        let mine = |log_id: &[u8; 16]| !several || id.as_deref() == Some(&hex(log_id)[..]);
        let seal_key = keys
            .iter()
            .position(|k| mine(&k.log_id))
            .map(|i| keys.remove(i));
        let st = states
            .iter()
            .position(|s| s.log_id().map_or(!several, |l| mine(&l)))
            .map(|i| states.remove(i));
        let lock = lock
            .clone()
            .or_else(|| st.as_ref().map(|s| jit_core::log::lock_path_for(&s.path)));
        let (state, state_older, state_damaged) = match st.map(|s| s.file) {
            Some(verify::StateFile::Slots(slots)) => {
                let (newer, older) = *slots;
                (Some(newer), older, None)
            }
            Some(verify::StateFile::Damaged(why)) => (None, None, Some(why)),
            None => (None, None, None),
        };
        let total: u64 = group
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
            syslog: syslog.clone(),
            partial,
            progress: Some(&cb),
        };
        let report = verify::verify_files(group, &opts).context("verifying")?;
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        reports.push(report);
    }
    if let Some(k) = keys.first() {
        bail!("--seal-key for log {} matches no log given", hex(&k.log_id));
    }
    if let Some(s) = states.first() {
        bail!("--state {} matches no log given", s.path.display());
    }
    // Break-glass uses are listed for review once the records are
    // known to be authentic (intact, or only a torn tail).
    let review = |r: &Report| -> Vec<query::ReviewItem> {
        if matches!(r.exit_code, 0 | 3) {
            r.review.clone()
        } else {
            Vec::new()
        }
    };
    let worst = reports
        .iter()
        .map(|r| r.exit_code)
        .max_by_key(|c| match c {
            1 => 3,
            2 => 2,
            3 => 1,
            _ => 0,
        })
        .unwrap_or(0);
    let mut out = std::io::stdout().lock();
    match reports.as_slice() {
        [one] => print_report(&mut out, one, &review(one), json)?,
        many if json => {
            let logs = many
                .iter()
                .map(|r| report_json(r, &review(r)))
                .collect::<Result<Vec<_>>>()?;
            let v = serde_json::json!({"json_version": 1, "exit_code": worst, "logs": logs});
            serde_json::to_writer(&mut out, &v)?;
            writeln!(out)?;
        }
        many => {
            for r in many {
                print_report(&mut out, r, &review(r), false)?;
            }
            writeln!(
                out,
                "{} logs: result: {} (exit {worst})",
                many.len(),
                crate::result_word(worst)
            )?;
        }
    }
    Ok(worst)
}

/// A report as `--json` gives it: the report, its break-glass review list,
/// and the version of the shape.
fn report_json(r: &Report, review: &[query::ReviewItem]) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(r)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("needs_review".into(), serde_json::to_value(review)?);
        o.insert("json_version".into(), 1.into());
    }
    Ok(v)
}

fn print_report(
    out: &mut impl std::io::Write,
    r: &Report,
    review: &[query::ReviewItem],
    json: bool,
) -> Result<()> {
    if json {
        let v = report_json(r, review)?;
        serde_json::to_writer(&mut *out, &v)?;
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
        writeln!(out, "{}", crate::finding_line(f))?;
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
    writeln!(
        out,
        "result: {} (exit {})",
        crate::result_word(r.exit_code),
        r.exit_code
    )?;
    Ok(())
}
