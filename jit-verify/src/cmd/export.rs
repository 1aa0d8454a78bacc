//! `jit-verify export`: host-log and ledger records as OCSF or ECS NDJSON
//! for a SIEM. The mapping is `jit_core::export` (docs/export.md); this
//! reads and verifies the inputs, and writes the lines.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use jit_core::export::{Exporter, Format, Source};
use jit_core::ledger::load::{self, LedgerCheck};
use jit_core::log::merge::{self, CheckedLog, LogInput};
use jit_core::log::query::Filter;
use jit_core::log::record::{hex, EventKind};
use jit_core::log::verify::SealKey;

use crate::ledger::judge;

pub(crate) const EXPORT_HELP: &str = "Every input is verified first, as `jit-verify log` \
verifies it: the hash chain, and the seals of each log or ledger whose --seal-key is given. \
Exit codes: 0 exported from inputs that verify; 1 an input does not verify: \
nothing exported, or exported anyway with --unverified (every event then carries \
jit.verified false, and in ECS the tag unverified); 2 error (bad arguments, unreadable file, \
a record that cannot be exported): the output is incomplete, and with --output nothing is \
written. Every event carries the record's log id, seq and hash; record members \
with no field of their own in the schema are under unmapped.jit (OCSF) or jit (ECS).";

#[derive(clap::Args)]
pub struct Args {
    /// Output schema: OCSF 1.8.0 or ECS 8.17.0, one JSON object per line.
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// Issuance ledger segments (any order: sorted by first seq; several
    /// ledgers are told apart by log id). Exported after the host logs.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    ledger: Vec<PathBuf>,
    /// Write to FILE (mode 0600; created or replaced only when the whole
    /// export succeeds, through FILE.partial) instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The initial seal key of a log or ledger (seal-key.initial,
    /// NAME.seal-key.initial): check its forward integrity too. Repeatable:
    /// each key goes to the chain of its log id.
    #[arg(long, value_name = "FILE")]
    seal_key: Vec<PathBuf>,
    /// Accept chains whose oldest segment starts with a continue record (older segments gone).
    #[arg(long)]
    partial: bool,
    /// Export even if an input does not verify: every event then says so,
    /// a warning goes to stderr, and the exit code is still 1.
    #[arg(long)]
    unverified: bool,
    /// Host audit logs and a collector's files (as for jit-verify fleet), or
    /// directories of them: any hosts, any order (grouped by log id and
    /// sorted by first seq). A log with a central copy is checked as
    /// `jit-verify fleet` checks it and exported from the host's segments
    /// when they are given, else from the central copy.
    #[arg(value_name = "FILE|DIR")]
    logs: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Ocsf,
    Ecs,
}

/// One chain to export, opened for reading.
struct Chain {
    name: String,
    ledger: bool,
    log_id: Option<String>,
    /// Bound to what was verified (or, with --unverified, read as it is).
    input: LogInput,
    verified: bool,
}

pub fn run(a: Args) -> Result<i32> {
    if a.logs.is_empty() && a.ledger.is_empty() {
        bail!("nothing to export: give host audit logs (FILE|DIR...) and/or --ledger FILE...");
    }
    // Each --seal-key goes to the chain of its log id (a ledger and a host
    // log may share one only in test vectors, but nothing forbids it).
    let mut keys: Vec<(PathBuf, String, bool)> = Vec::new();
    for p in &a.seal_key {
        let k = SealKey::read(p).context("reading the seal key")?;
        keys.push((p.clone(), hex(&k.log_id), false));
    }
    let mut take_key = |id: Option<&str>| -> Result<Option<SealKey>> {
        match keys.iter_mut().find(|k| id == Some(&k.1[..])) {
            Some(k) => {
                k.2 = true;
                Ok(Some(SealKey::read(&k.0).context("reading the seal key")?))
            }
            None => Ok(None),
        }
    };
    let mut chains = Vec::new();
    let mut unsealed = Vec::new();
    if !a.logs.is_empty() {
        let opts = crate::inputs::Opts {
            partial: a.partial,
            no_verify: false,
            accept_unverified: a.unverified,
            flag: "--unverified",
        };
        for l in crate::inputs::open_logs(&a.logs, &opts, &mut take_key)? {
            if !l.sealed {
                unsealed.push(l.name.clone());
            }
            chains.push(Chain {
                name: l.name,
                ledger: false,
                log_id: l.log_id,
                input: l.input,
                verified: l.verified,
            });
        }
    }
    for files in load::group_segments(&a.ledger).context("reading the ledger")? {
        let log_id = load::log_id_of(&files).context("reading the ledger")?;
        let check = LedgerCheck {
            seal_key: take_key(log_id.as_deref())?,
            partial: a.partial,
            ..LedgerCheck::default()
        };
        let report = load::verify_ledger(&files, check).context("verifying the ledger")?;
        let name = format!("ledger {}", names(&files));
        let verified = judge(&name, &report, a.unverified)?;
        if !report.forward_integrity_checked {
            unsealed.push(name.clone());
        }
        let log = CheckedLog {
            files: files.clone(),
            report,
        };
        let input = match log.input() {
            Some(i) if verified => i,
            _ => LogInput::unverified(files),
        };
        chains.push(Chain {
            name,
            ledger: true,
            log_id,
            input,
            verified,
        });
    }
    if let Some((p, id, _)) = keys.iter().find(|k| !k.2) {
        bail!(
            "--seal-key {} (log {id}) matches no log or ledger given",
            p.display()
        );
    }
    for name in &unsealed {
        eprintln!(
            "jit-verify: note: {name}: forward integrity NOT checked (no --seal-key for it): \
             only the plain hash chain"
        );
    }
    let format = match a.format {
        ExportFormat::Ocsf => Format::Ocsf,
        ExportFormat::Ecs => Format::Ecs,
    };
    let mut x = Exporter::new(format, env!("CARGO_PKG_VERSION"));
    let verified = chains.iter().all(|c| c.verified);
    match &a.output {
        None => {
            let out = std::io::stdout();
            let mut out = std::io::BufWriter::new(out.lock());
            export_all(chains, &mut x, &mut out)?;
            out.flush()?;
        }
        Some(path) => write_whole(path, |out| export_all(chains, &mut x, out))?,
    }
    Ok(if verified { 0 } else { 1 })
}

fn names(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Write FILE through a new temporary file beside it (mode 0600: the
/// export holds what the 0600 logs hold), renamed over FILE only when `f`
/// succeeds: a failed export leaves no partial file. An existing temporary
/// file (a link planted there, or an interrupted run) is an error.
fn write_whole(path: &Path, f: impl FnOnce(&mut dyn std::io::Write) -> Result<()>) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let res = f(&mut w).and_then(|()| {
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    });
    match res {
        Ok(()) => std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display())),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn export_all(chains: Vec<Chain>, x: &mut Exporter, out: &mut dyn std::io::Write) -> Result<()> {
    for c in chains {
        let mut log_id = c.log_id.clone();
        let mut failed: Option<anyhow::Error> = None;
        let (ledger, verified) = (c.ledger, c.verified);
        let stats = merge::merge(vec![c.input], &Filter::default(), |path, line, _, r| {
            if matches!(r.kind, EventKind::Start | EventKind::Continue) {
                if let Some(id) = r.log_id.as_deref() {
                    log_id = Some(id.to_string());
                }
            }
            let src = Source {
                log_id: log_id.as_deref(),
                ledger,
                verified,
            };
            match x.export(&src, r) {
                Ok(events) => {
                    for e in events {
                        serde_json::to_writer(&mut *out, &e)?;
                        out.write_all(b"\n")?;
                    }
                    Ok(())
                }
                Err(e) => {
                    failed = Some(anyhow::anyhow!("{}:{line}: {e}", path.display()));
                    Err(std::io::Error::other("record cannot be exported"))
                }
            }
        });
        if let Some(e) = failed {
            return Err(e.context("cannot export"));
        }
        let stats = stats.with_context(|| format!("reading {}", c.name))?;
        // Only an unverified chain can have any: a verified one is read exactly.
        let bad: u64 = stats.unparsable.iter().sum();
        if bad > 0 {
            eprintln!(
                "jit-verify: WARNING: {bad} unparsable lines in {} NOT exported",
                c.name
            );
        }
    }
    Ok(())
}
