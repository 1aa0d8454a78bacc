//! The issuance ledger options and the glue from signer subcommands to
//! `jit_core::ledger` (docs/log-format.md, "The issuance ledger").

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;
use jit_core::ledger::{self, Issued, Refusal};
use jit_core::log::LogConfig;

use crate::Fail;

/// Exit code when the ledger cannot be written (nothing was issued).
pub const EXIT_LEDGER: u8 = 6;

/// Where the signer records what it issues, refuses and revokes.
#[derive(Args, Debug, Clone)]
pub struct LedgerArgs {
    /// The issuance ledger (hash-chained log; state `NAME.state`, lock
    /// `NAME.state.lock` and initial seal key `NAME.seal-key.initial` next
    /// to it). Default: $JIT_LEDGER, else /var/lib/jit-signer/ledger.log.
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    /// Signer name recorded as `host` in every ledger record. Default:
    /// $JIT_SIGNER_NAME, else this machine's host name.
    #[arg(long = "signer-name", value_name = "NAME")]
    pub signer_name: Option<String>,
    /// Also mirror each ledger record's (seq, hash) to syslog (/dev/log).
    #[arg(long = "ledger-syslog")]
    pub ledger_syslog: bool,
}

impl LedgerArgs {
    /// The ledger path: --ledger, $JIT_LEDGER, or the default.
    pub fn path(&self) -> PathBuf {
        self.ledger
            .clone()
            .or_else(|| {
                std::env::var_os("JIT_LEDGER")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from(ledger::DEFAULT_LEDGER_PATH))
    }

    /// The writer configuration.
    pub fn config(&self) -> LogConfig {
        let name = self
            .signer_name
            .clone()
            .or_else(|| std::env::var("JIT_SIGNER_NAME").ok())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(ledger::default_name);
        let mut cfg = ledger::config(&self.path(), &name);
        cfg.syslog = self.ledger_syslog;
        cfg
    }
}

fn ledger_fail(cfg: &LogConfig, what: &str, e: impl std::fmt::Display) -> Fail {
    Fail {
        code: EXIT_LEDGER,
        err: anyhow!(
            "cannot write the issuance ledger {}: {e}; {what}",
            cfg.log_path.display()
        ),
    }
}

fn warn_mirror(a: &jit_core::log::Appended) {
    if let Some(m) = &a.mirror_error {
        eprintln!(
            "jit-signer: warning: ledger record {} written, but {m}",
            a.seq
        );
    }
}

/// Record a refused request, then return the refusal as a usage error
/// (exit 2). If the refusal cannot be recorded, exit 6 naming both.
pub fn refuse(cfg: &LogConfig, base: &Refusal, code: &str, err: anyhow::Error) -> Fail {
    let mut r = base.clone();
    r.reason_code = code.to_string();
    r.message = format!("{err:#}");
    match ledger::append_refused(cfg, &r) {
        Ok(a) => {
            warn_mirror(&a);
            Fail { code: 2, err }
        }
        Err(e) => ledger_fail(cfg, &format!("the request was refused anyway ({err:#})"), e),
    }
}

/// Record a revocation list (the whole list); only after this succeeds may
/// the list be written where hosts pick it up.
pub fn revoked(cfg: &LogConfig, r: &jit_core::ledger::Revocation) -> Result<(), Fail> {
    match ledger::append_revoked(cfg, r) {
        Ok(a) => {
            warn_mirror(&a);
            Ok(())
        }
        Err(e) => Err(ledger_fail(cfg, "no revocation list was written", e)),
    }
}

/// Record an issued token; only after this succeeds may it be printed.
/// Returns the record's `seq`.
pub fn issued(cfg: &LogConfig, i: &Issued<'_>) -> Result<u64, Fail> {
    match ledger::append_issued(cfg, i) {
        Ok(a) => {
            warn_mirror(&a);
            Ok(a.seq)
        }
        Err(e) => Err(ledger_fail(cfg, "no token was issued", e)),
    }
}

/// Record a signed SSH certificate; only after this succeeds may it be
/// written out. Returns the record's `seq`.
pub fn ssh_cert(cfg: &LogConfig, i: &jit_core::ledger::SshCertIssued<'_>) -> Result<u64, Fail> {
    match ledger::append_ssh_cert(cfg, i) {
        Ok(a) => {
            warn_mirror(&a);
            Ok(a.seq)
        }
        Err(e) => Err(ledger_fail(cfg, "no SSH certificate was written", e)),
    }
}

/// The entries of the issuance ledger at `path`: the file and its rotated
/// segments beside it (`NAME.1`, `NAME.2`, ...; compressed ones are not
/// read), every chain among them (a ledger recreated beside older segments
/// included). No such file: no entries.
pub fn read_entries(path: &std::path::Path) -> anyhow::Result<jit_core::ledger::load::Ledger> {
    use anyhow::Context as _;
    use jit_core::ledger::load;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let base = path
        .file_name()
        .and_then(|n| n.to_str())
        .context("the ledger path has no file name")?;
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(load::Ledger::default()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for e in entries {
        let p = e?.path();
        let ours = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
            n == base
                || n.strip_prefix(base)
                    .and_then(|n| n.strip_prefix('.'))
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
        if ours && p.is_file() {
            files.push(p);
        }
    }
    let mut all = load::Ledger::default();
    for g in load::group_segments(&files)? {
        all.absorb(load::read_ledger(&g)?);
    }
    Ok(all)
}
