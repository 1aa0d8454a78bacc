//! The host logs `query`, `export` and `report --log` read: files or
//! directories of host log segments and of a collector's mirror files
//! (docs/fleet.md), found and grouped by log id by
//! `jit_core::log::source::scan`. Each log is verified before it is read:
//! a host log alone as `jit-verify log` verifies it, a log with a central
//! copy as `jit-verify fleet` checks it (the copy's chain, and the host's
//! segments against it when they are given). Each is then opened for
//! reading bound to what was verified (`jit_core::log::merge`), from the
//! copy `jit_core::log::fleet` says answers. A file that is none of these
//! (unrelated, compressed, a segment whose first line was damaged) is
//! refused like a log that does not verify.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use jit_core::log::fleet::{self, Outcome as FleetOutcome};
use jit_core::log::merge::{CheckedLog, LogInput};
use jit_core::log::source::{self, Sources};
use jit_core::log::verify::{self, Class, SealKey};
use jit_core::token::printable;

use crate::ledger::{judge_with, refuse_or_warn, Refused};

/// How to open the logs.
pub(crate) struct Opts<'a> {
    /// Accept chains whose oldest segment starts with a continue record.
    pub partial: bool,
    /// Read without verifying (`query --no-verify`).
    pub no_verify: bool,
    /// Read a log that does not verify anyway, marked unverified
    /// (`--unverified`); `false`: refuse (exit 1).
    pub accept_unverified: bool,
    /// The option that reads anyway, for the refusal's message.
    pub flag: &'a str,
}

/// One log, ready to read.
pub(crate) struct Opened {
    /// For messages: which log, from which files.
    pub name: String,
    pub log_id: Option<String>,
    pub input: LogInput,
    /// It verified (else it was read anyway: `no_verify`, `accept_unverified`).
    pub verified: bool,
    /// Its seals were checked too.
    pub sealed: bool,
    /// What verification said, as `jit-verify log --json` (a host log
    /// alone) or as one of `jit-verify fleet --json`'s logs says it; null
    /// when not verified.
    pub verification: serde_json::Value,
}

/// Find, verify and open the logs of `paths`. `seal_key` gives the seal
/// key of a log id, if one was given for it. Files that hold no log are
/// named on stderr and not read.
pub(crate) fn open_logs(
    paths: &[PathBuf],
    o: &Opts<'_>,
    seal_key: &mut dyn FnMut(Option<&str>) -> Result<Option<SealKey>>,
) -> Result<Vec<Opened>> {
    let src = source::scan(paths).context("reading the host logs")?;
    for u in &src.skipped {
        eprintln!(
            "jit-verify: warning: not read: {}: {}",
            printable(&u.file),
            u.why
        );
    }
    // A file that is no log where logs were asked for is a doubt: refused,
    // not skipped (a segment whose head was damaged reads as no log).
    let other: Vec<_> = src
        .other
        .iter()
        .filter(|u| u.why.as_deref() != Some("empty"))
        .collect();
    for u in &other {
        eprintln!(
            "jit-verify: {}: {}",
            printable(&u.path.display().to_string()),
            u.why.as_deref().unwrap_or("not a log")
        );
    }
    if let Some(u) = other.first() {
        if !(o.no_verify || o.accept_unverified) {
            bail!(Refused(format!(
                "{} file(s) given are no log (the first: {}); refusing to answer without them ({} answers anyway)",
                other.len(),
                printable(&u.path.display().to_string()),
                o.flag
            )));
        }
        eprintln!(
            "jit-verify: WARNING: {} file(s) given are no log and were NOT read",
            other.len()
        );
    }
    for u in &src.unrecorded {
        eprintln!(
            "jit-verify: warning: {}: events a host could not write to its log (jit-unrecorded lines): in no log, read them",
            printable(&u.path.display().to_string())
        );
    }
    if src.logs.is_empty() {
        bail!("no host log or collector file in the inputs given");
    }
    if o.no_verify {
        eprintln!(
            "jit-verify: UNVERIFIED: --no-verify: {} log(s) NOT verified; the records below may be \
             forged, altered or incomplete",
            src.logs.len()
        );
        return Ok(src
            .logs
            .iter()
            .map(|ls| Opened {
                name: log_name(ls),
                log_id: ls.log_id.clone(),
                input: fleet::unverified_input(ls, fleet::WINDOW),
                verified: false,
                sealed: false,
                verification: serde_json::Value::Null,
            })
            .collect());
    }
    let (central, host_only): (Vec<_>, Vec<_>) =
        src.logs.into_iter().partition(|ls| !ls.mirrors.is_empty());
    let mut out = Vec::new();
    for ls in host_only {
        let name = log_name(&ls);
        let opts = verify::Options {
            seal_key: seal_key(ls.log_id.as_deref())?,
            partial: o.partial,
            ..verify::Options::default()
        };
        let report = verify::verify_files(&ls.segments, &opts)
            .with_context(|| format!("verifying {name}"))?;
        let verified = judge_with(&name, &report, o.accept_unverified, o.flag)?;
        let sealed = report.forward_integrity_checked;
        let verification = serde_json::to_value(&report)?;
        let log = CheckedLog {
            files: ls.segments.clone(),
            report,
        };
        let input = match log.input() {
            Some(i) if verified => i,
            _ => LogInput::unverified(ls.segments.clone()),
        };
        out.push(Opened {
            name,
            log_id: ls.log_id,
            input,
            verified,
            sealed,
            verification,
        });
    }
    if central.is_empty() {
        return Ok(out);
    }
    let mut seal_keys = Vec::new();
    for ls in &central {
        seal_keys.extend(seal_key(ls.log_id.as_deref())?);
    }
    let src = Sources {
        logs: central,
        ..Sources::default()
    };
    let r = fleet::check(
        src.clone(),
        fleet::Options {
            seal_keys,
            max_silence: None,
            now: 0,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            window: fleet::WINDOW,
        },
    )
    .context("checking the central copies")?;
    for (l, ls) in r.logs.iter().zip(&src.logs) {
        let name = log_name(ls);
        let shown: Vec<_> = l
            .findings
            .iter()
            .filter(|f| f.class >= Class::Warning)
            .collect();
        for f in &shown {
            eprintln!("jit-verify: {name}: {}", crate::finding_line(f));
        }
        let verified = match l.outcome {
            FleetOutcome::Intact => true,
            FleetOutcome::Attention => {
                eprintln!(
                    "jit-verify: warning: {name}: answered from what verifies; records the warnings above name are not shown"
                );
                true
            }
            FleetOutcome::Tampered => {
                refuse_or_warn(&name, "TAMPERED", o.accept_unverified, o.flag)?
            }
            FleetOutcome::TornTail => {
                refuse_or_warn(&name, "TORN (crash leftover)", o.accept_unverified, o.flag)?
            }
        };
        let input = match l.input(ls, fleet::WINDOW) {
            Some(i) if verified => i,
            _ if verified => bail!("{name}: verified, but no record to read"),
            _ => fleet::unverified_input(ls, fleet::WINDOW),
        };
        out.push(Opened {
            name,
            log_id: ls.log_id.clone(),
            input,
            verified,
            sealed: l.forward_integrity_checked,
            verification: serde_json::to_value(l)?,
        });
    }
    Ok(out)
}

/// "log LOG_ID of host HOST (FILES)", for messages.
fn log_name(ls: &source::LogSources) -> String {
    let files = |v: &[PathBuf], what: &str| match v {
        [] => None,
        [one] => Some(format!("{what} {}", one.display())),
        [first, rest @ ..] => Some(format!(
            "{what} {} and {} more",
            first.display(),
            rest.len()
        )),
    };
    let parts: Vec<String> = [
        files(&ls.segments, "host log"),
        files(&ls.mirrors, "central copy"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let host = ls
        .hosts
        .first()
        .map(|h| format!(" of host {h}"))
        .unwrap_or_default();
    printable(&format!(
        "log {}{host} ({})",
        ls.log_id.as_deref().unwrap_or("?"),
        parts.join(", ")
    ))
    .into_owned()
}
