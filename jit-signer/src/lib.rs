//! jit-signer: issue and inspect jit capability tokens (docs/token-format.md).
//!
//! A thin CLI over `jit_core::{token, keys, policy, ledger}`: argument
//! parsing, files, output. The binary (src/main.rs) parses the command line
//! ([`cli::Cli`]) and dispatches to one module per subcommand ([`cmd`]: its
//! clap `Args` and its `run`). It is a library so that the workspace's
//! development tasks (xtask) render the man pages and shell completions from
//! the same clap definition as `--help`; it is no stable API.
#![forbid(unsafe_code)]

use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::DirBuilderExt as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context as _};
use jit_core::keys::parse_time;
use jit_core::token::{self, Claims};

pub mod cli;
pub mod cmd;

mod approval;
mod cert_file;
mod client;
mod grant;
mod key;
mod ledger;
mod oncall;
mod pkcs11;
mod replace;
mod revoked;
mod secret_file;
mod service;

/// An error with an exit code.
pub struct Fail {
    code: u8,
    err: anyhow::Error,
}

impl Fail {
    /// The same error with exit code `to` if its code is `from` (a recorded
    /// refusal keeps the ledger's exit code 6 if the record failed).
    fn with_code_if(mut self, from: u8, to: u8) -> Fail {
        if self.code == from {
            self.code = to;
        }
        self
    }
}

pub(crate) fn usage(err: anyhow::Error) -> Fail {
    Fail { code: 2, err }
}

pub(crate) fn io_err(err: anyhow::Error) -> Fail {
    Fail { code: 3, err }
}

pub(crate) fn key_err(err: anyhow::Error) -> Fail {
    Fail { code: 4, err }
}

/// Exit code: something was done (a token issued and recorded, a request
/// made, a key generated) but its result could not be written to stdout.
pub(crate) const EXIT_UNDELIVERED: u8 = 10;

/// The exit code of a subcommand's result; an error is printed to stderr.
pub fn exit(res: Result<u8, Fail>) -> ExitCode {
    match res {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            // A reader that stopped reading is no error for output that can
            // be produced again (inspect, requests, export-pub...), as in
            // jit-verify; it is for a result that exists nowhere else.
            if f.code != EXIT_UNDELIVERED && is_broken_pipe(&f.err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("jit-signer: error: {:#}", f.err);
            ExitCode::from(f.code)
        }
    }
}

/// jit-signer holds secret keys, PKCS#11 PINs and fresh tokens in memory.
/// A non-dumpable process (prctl PR_SET_DUMPABLE 0) cannot be ptraced by
/// other processes of the same user, its /proc/PID/mem, environ (where
/// $JIT_PKCS11_PIN is) and similar files become root's, and it leaves no core
/// dump. Set before any key, PIN or policy is read; if the kernel refuses,
/// or the attribute does not read back as set, nothing runs (exit 4): a key
/// tool that cannot protect the key does not load it.
pub fn not_dumpable() -> Result<(), Fail> {
    use nix::sys::prctl::{get_dumpable, set_dumpable};
    match set_dumpable(false).and_then(|_| get_dumpable()) {
        Ok(false) => Ok(()),
        Ok(true) => Err(key_err(anyhow!(
            "prctl(PR_SET_DUMPABLE, 0) did not take effect; refusing to handle keys in a \
             process other processes of this user could read"
        ))),
        Err(e) => Err(key_err(anyhow!(
            "cannot make the process non-dumpable (prctl PR_SET_DUMPABLE: {e}); refusing to \
             handle keys in a process other processes of this user could read"
        ))),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Write what a subcommand has just created and the caller can get nowhere
/// else (a token, a request id, a new key's trusted-keys line). If stdout
/// cannot take it, a broken pipe included, fail with exit 10 and `done`: what
/// was done (issued and recorded, requested, generated) and what to do about
/// it, so the operator does not take a lost token for one never issued.
pub(crate) fn deliver(s: &str, done: impl FnOnce() -> String) -> Result<(), Fail> {
    out(s).map_err(|f| Fail {
        code: EXIT_UNDELIVERED,
        err: f.err.context(done()),
    })
}

/// Write to stdout; a broken pipe surfaces as an error `main` exits quietly on.
pub(crate) fn out(s: &str) -> Result<(), Fail> {
    let mut o = io::stdout().lock();
    o.write_all(s.as_bytes())
        .and_then(|_| o.flush())
        .map_err(|e| Fail {
            code: 3,
            err: anyhow::Error::new(e).context("writing to stdout"),
        })
}

/// What stderr says of a token that was issued and recorded but could not
/// be written to stdout.
pub(crate) fn undelivered_token(
    c: &Claims,
    lcfg: &jit_core::log::LogConfig,
    seq: u64,
    also: &str,
) -> String {
    let cti = token::hex(&c.cti);
    format!(
        "token {cti} for {} was issued and recorded in the issuance ledger {} (record seq \
         {seq}){also}, but was not delivered (or only in part): revoke it (jit-signer revoke \
         --token-id {cti} --exp @{} ...) and issue again",
        c.sub,
        lcfg.log_path.display(),
        c.exp
    )
}

pub(crate) fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// The name rule (jit_core::name, docs/names.md) for the value of option
/// `what`: the signer refuses exactly what hosts refuse.
pub(crate) fn check_name(what: &str, s: &str) -> anyhow::Result<()> {
    use jit_core::name::{check, NameKind};
    let checked = match what {
        "--host-group" => check(NameKind::HostGroup, s),
        "--run-as-group" => check(NameKind::Group, s),
        // User and group names follow the same rule.
        "--user" | "--run-as" | "--run-as/--run-as-group" => check(NameKind::User, s),
        _ => check(NameKind::User, s).and_then(|()| check(NameKind::HostGroup, s)),
    };
    if let Err(e) = checked {
        bail!("{what}: {e}");
    }
    Ok(())
}

pub(crate) fn now_or(s: Option<&str>) -> anyhow::Result<i64> {
    match s {
        Some(s) => {
            parse_time(s).ok_or_else(|| anyhow!("bad time {s:?}: use RFC 3339 or @UNIXSECONDS"))
        }
        None => Ok(time::OffsetDateTime::now_utc().unix_timestamp()),
    }
}

pub(crate) fn parse_when(s: &str, now: i64) -> anyhow::Result<i64> {
    if let Some(d) = s.strip_prefix('+') {
        let d = humantime::parse_duration(d).with_context(|| format!("--not-before {s:?}"))?;
        return i64::try_from(d.as_secs())
            .ok()
            .and_then(|d| now.checked_add(d))
            .ok_or_else(|| anyhow!("--not-before {s:?} is out of range"));
    }
    parse_time(s).ok_or_else(|| {
        anyhow!(
            "--not-before {s:?}: use RFC 3339 (2026-01-01T09:00:00Z), @UNIXSECONDS or +DURATION"
        )
    })
}

/// Create `dir` (and missing parents) mode 0700 if it does not exist.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), Fail> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))
            .map_err(io_err)?;
    }
    Ok(())
}

pub(crate) fn relative(t: i64, now: i64) -> String {
    if t > now {
        format!("in {}", token::human_duration(t.abs_diff(now)))
    } else {
        format!("{} ago", token::human_duration(now.abs_diff(t)))
    }
}
