//! The sudo-facing glue: gathers facts, asks jit-core, logs, answers.
//!
//! No unsafe code here. PAM is reached through [`PamIo`], the operating system
//! through [`Os`], so every path can be driven by tests without libpam.
//! Decisions are jit-core's: this module only collects inputs and maps the
//! outcome (see docs/pam-module.md).

use std::ffi::CStr;
use std::path::{Path, PathBuf};

use jit_core::config::{self, Config};
use jit_core::invocation::{Action, Invocation};
use jit_core::keys::TrustedKeys;
use jit_core::log::syslog::Unrecorded;
use jit_core::log::{self, Event, EventKind, LogConfig};
use jit_core::replay::{self, ReplayError};
use jit_core::revocation::{
    self,
    host::{Checked, HostPolicy},
};
use jit_core::sudo::{self, RunAs, SudoFacts};
use jit_core::token::{self, TokenInfo, VerifyOptions};
use pam::constants::PamResultCode;

/// Which PAM hook is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// pam_sm_authenticate: a valid token may stand in for the password.
    Authenticate,
    /// pam_sm_acct_mgmt: runs on every sudo invocation; the full check.
    Account,
    /// pam_sm_open_session.
    OpenSession,
    /// pam_sm_close_session.
    CloseSession,
}

impl Hook {
    /// The record kind this hook writes, for a trace when it cannot.
    fn event_name(self) -> &'static str {
        match self {
            Hook::Authenticate | Hook::Account => "decision",
            Hook::OpenSession => "session_open",
            Hook::CloseSession => "session_close",
        }
    }
}

/// What the hook answers, before mapping to a PAM code (in `ffi::code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Success.
    Allow,
    /// Denial.
    Deny,
    /// Not our business (authenticate without a token).
    Ignore,
}

/// What acct_mgmt approved, kept with the PAM handle for the session hooks.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionData {
    /// The invoking user.
    pub user: String,
    /// The approved target user.
    pub run_as: String,
    /// The approved command path and argv.
    pub command_path: Option<String>,
    /// Full argv.
    pub argv: Option<Vec<String>>,
    /// The token behind the approval.
    pub token: Option<TokenInfo>,
    /// When the session opened (Unix seconds, sub-second).
    pub opened_at: Option<f64>,
    /// Where acct_mgmt logged the decision: the session records of the same
    /// transaction go to the same log, without reading the configuration again.
    pub log: LogConfig,
}

/// The PAM side, implemented over a real handle in `ffi`.
pub trait PamIo {
    /// PAM_USER.
    fn user(&self) -> Option<String>;
    /// PAM_RUSER.
    fn ruser(&self) -> Option<String>;
    /// PAM_TTY.
    fn tty(&self) -> Option<String>;
    /// PAM_SERVICE.
    fn service(&self) -> Option<String>;
    /// Show a one-line message (error or info) through the conversation.
    fn say(&self, error: bool, msg: &str);
    /// Ask for a secret through the conversation.
    fn prompt(&self, msg: &str) -> Option<String>;
    /// Keep data for the later hooks of this PAM transaction.
    fn store(&mut self, data: SessionData) -> bool;
    /// Data kept by an earlier hook.
    fn load(&self) -> Option<SessionData>;
}

/// The operating system side.
pub trait Os {
    /// `/proc/self/cmdline`.
    fn cmdline(&self) -> std::io::Result<Vec<u8>>;
    /// `/proc/self/environ`: the invoking user's original environment.
    fn environ(&self) -> std::io::Result<Vec<u8>>;
    /// `/proc/self/exe`: the file the kernel executed (selects the sudo-rs
    /// rules when sudo 1.9's `getenv` hook is absent).
    fn exe(&self) -> std::io::Result<PathBuf>;
    /// `getenv` as sudo's hook answers it.
    fn sudo_getenv(&self, name: &str) -> Option<Vec<u8>>;
    /// Is `getenv` sudo 1.9's hook, defined by the main program?
    fn getenv_hooked(&self) -> bool;
    /// The real uid of this process (the invoking user inside setuid sudo).
    fn real_uid(&self) -> u32;
    /// User name for a uid.
    fn user_name(&self, uid: u32) -> Option<String>;
    /// Does this user exist? Returns the canonical name.
    fn user_by_name(&self, name: &str) -> Option<String>;
    /// Group name for a gid.
    fn group_name(&self, gid: u32) -> Option<String>;
    /// Does this group exist? Returns the canonical name.
    fn group_by_name(&self, name: &str) -> Option<String>;
    /// The kernel's host name.
    fn hostname(&self) -> Option<String>;
    /// Now, Unix seconds with fraction.
    fn now(&self) -> f64;
    /// This process id.
    fn pid(&self) -> u32;
    /// Leave a trace at authpriv.err of an event the audit log could not
    /// take (best effort: the answer does not depend on it).
    fn unrecorded(&self, socket: &Path, u: &Unrecorded<'_>);
}

/// The real operating system.
pub struct RealOs;

/// Read a procfs file in as few reads as possible (procfs reports size 0, so
/// `std::fs::read` would start at 32 bytes and double: six reads for a
/// typical environment, each a remote-VM access by the kernel). Read through
/// `take`, because `File::read_to_end` first asks for the size (`statx`) and
/// the position (`lseek`), which procfs answers with nothing useful.
fn read_proc(path: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::with_capacity(16 * 1024);
    std::fs::File::open(path)?
        .take(u64::MAX)
        .read_to_end(&mut out)?;
    Ok(out)
}

impl Os for RealOs {
    fn cmdline(&self) -> std::io::Result<Vec<u8>> {
        // glibc hands argc/argv to the .init_array of every loaded object,
        // dlopen()ed ones included, and std keeps them: these are pointers to
        // the argv strings the kernel placed in sudo's memory at exec, the
        // same bytes /proc/self/cmdline reads back through the kernel (which
        // costs ~50 us per sudo: a procfs lookup and a remote-VM read).
        use std::os::unix::ffi::OsStrExt;
        let mut out = Vec::new();
        for a in std::env::args_os() {
            out.extend_from_slice(a.as_bytes());
            out.push(0);
        }
        if out.is_empty() {
            return read_proc("/proc/self/cmdline");
        }
        Ok(out)
    }
    fn environ(&self) -> std::io::Result<Vec<u8>> {
        read_proc("/proc/self/environ")
    }
    fn exe(&self) -> std::io::Result<PathBuf> {
        std::fs::read_link("/proc/self/exe")
    }
    fn sudo_getenv(&self, name: &str) -> Option<Vec<u8>> {
        crate::ffi::sudo_getenv(name)
    }
    fn getenv_hooked(&self) -> bool {
        crate::ffi::getenv_in_main_program()
    }
    fn real_uid(&self) -> u32 {
        nix::unistd::getuid().as_raw()
    }
    fn user_name(&self, uid: u32) -> Option<String> {
        nix::unistd::User::from_uid(uid.into())
            .ok()
            .flatten()
            .map(|u| u.name)
    }
    fn user_by_name(&self, name: &str) -> Option<String> {
        nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(|u| u.name)
    }
    fn group_name(&self, gid: u32) -> Option<String> {
        nix::unistd::Group::from_gid(gid.into())
            .ok()
            .flatten()
            .map(|g| g.name)
    }
    fn group_by_name(&self, name: &str) -> Option<String> {
        nix::unistd::Group::from_name(name)
            .ok()
            .flatten()
            .map(|g| g.name)
    }
    fn hostname(&self) -> Option<String> {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
    }
    fn now(&self) -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }
    fn pid(&self) -> u32 {
        std::process::id()
    }
    fn unrecorded(&self, socket: &Path, u: &Unrecorded<'_>) {
        // Nothing more can be done if syslog is down too: the user was told.
        let _ = log::syslog::unrecorded(socket, u);
    }
}

/// Entry point from `ffi`: run a hook against the real OS.
pub fn run(hook: Hook, pam: &mut dyn PamIo, args: &[&CStr]) -> PamResultCode {
    crate::ffi::code(handle(hook, pam, &RealOs, args), hook)
}

/// Module arguments: `config=/abs/path`, `debug`, `prompt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleArgs {
    /// Configuration file.
    pub config: PathBuf,
    /// Show diagnostics through the conversation.
    pub debug: bool,
    /// Ask for the token through the conversation when `JIT_TOKEN` is unset
    /// (same as `prompt = yes` in the configuration).
    pub prompt: bool,
}

impl ModuleArgs {
    /// Parse the stack line's arguments; unknown arguments are errors.
    pub fn parse(args: &[&CStr]) -> Result<ModuleArgs, String> {
        let mut out = ModuleArgs {
            config: PathBuf::from(config::DEFAULT_CONFIG_PATH),
            debug: false,
            prompt: false,
        };
        for a in args {
            let a = a
                .to_str()
                .map_err(|_| "module argument is not UTF-8".to_string())?;
            if a == "debug" {
                out.debug = true;
            } else if a == "prompt" {
                out.prompt = true;
            } else if let Some(p) = a.strip_prefix("config=") {
                if !p.starts_with('/') {
                    return Err(format!(
                        "module argument config= needs an absolute path, not {p:?}"
                    ));
                }
                out.config = PathBuf::from(p);
            } else {
                return Err(format!("unknown module argument {a:?}"));
            }
        }
        Ok(out)
    }
}

/// Run one hook. Never panics on any input; every path ends in an [`Outcome`].
pub fn handle(hook: Hook, pam: &mut dyn PamIo, os: &dyn Os, args: &[&CStr]) -> Outcome {
    // Test builds only (tests/ci.d/46-pam-unwind.sh): a panic inside the built
    // module must be caught at the FFI boundary. Release builds lack the feature.
    #[cfg(feature = "panic-probe")]
    #[allow(clippy::panic)]
    if args.iter().any(|a| a.to_bytes() == b"panic_probe") {
        panic!("pam_jit: panic_probe (test build): deliberate panic");
    }
    let args = match ModuleArgs::parse(args) {
        Ok(a) => a,
        Err(msg) => {
            pam.say(
                true,
                &format!("jit: denied: PAM configuration error: {msg}"),
            );
            unrecorded(
                os,
                None,
                hook.event_name(),
                "module_args_invalid",
                None,
                &msg,
            );
            return Outcome::Deny;
        }
    };
    // The session hooks log with what acct_mgmt kept for this transaction.
    match hook {
        Hook::OpenSession => return open_session(pam, os, &args),
        Hook::CloseSession => return close_session(pam, os),
        Hook::Authenticate | Hook::Account => {}
    }
    let (cfg, log_cfg) = match load_config(&args, os) {
        Ok(c) => c,
        Err(e) => {
            pam.say(true, &format!("jit: denied: configuration unusable: {e}"));
            unrecorded(
                os,
                None,
                hook.event_name(),
                "config_unusable",
                None,
                &e.to_string(),
            );
            return Outcome::Deny;
        }
    };
    decide(hook, pam, os, &args, &cfg, &log_cfg)
}

/// Leave a syslog trace of an event the audit log could not take, on the
/// configured socket when the configuration was read (`log`), else on the
/// default one. For a denial the user has been told already.
fn unrecorded(
    os: &dyn Os,
    log: Option<&LogConfig>,
    event: &str,
    reason: &str,
    command: Option<&str>,
    detail: &str,
) {
    let uid = os.real_uid();
    let user = os.user_name(uid);
    let socket = log.map_or(Path::new(log::syslog::DEFAULT_SOCKET), |l| {
        l.syslog_socket.as_path()
    });
    os.unrecorded(
        socket,
        &Unrecorded {
            event,
            allowed: event == "session_close",
            reason,
            user: user.as_deref(),
            uid,
            command,
            detail,
        },
    );
}

/// The configuration and, from it, where and how to log.
fn load_config(
    args: &ModuleArgs,
    os: &dyn Os,
) -> Result<(Config, LogConfig), jit_core::config::ConfigError> {
    let cfg = Config::load(&args.config)?;
    let host = cfg
        .hostname
        .clone()
        .or_else(|| os.hostname())
        .unwrap_or_else(|| "unknown".into());
    let log_cfg = LogConfig {
        log_path: cfg.log.clone(),
        state_path: cfg.state.clone(),
        seal_key_export: cfg.seal_key_export.clone(),
        syslog: cfg.syslog,
        syslog_socket: cfg.syslog_socket.clone(),
        ..LogConfig::new(host)
    };
    Ok((cfg, log_cfg))
}

/// A denial before or after the token check, with its machine code.
struct Verdict {
    allowed: bool,
    code: String,
    message: String,
    token: Option<Box<TokenInfo>>,
}

impl Verdict {
    fn deny(code: &str, message: impl Into<String>) -> Verdict {
        Verdict {
            allowed: false,
            code: code.into(),
            message: message.into(),
            token: None,
        }
    }
}

/// What we know about the invocation so far (for the log record).
#[derive(Default)]
struct Facts {
    user: Option<String>,
    run_as: Option<String>,
    run_as_group: Option<String>,
    action: Option<Action>,
}

fn decide(
    hook: Hook,
    pam: &mut dyn PamIo,
    os: &dyn Os,
    args: &ModuleArgs,
    cfg: &Config,
    log_cfg: &LogConfig,
) -> Outcome {
    let mut facts = Facts::default();
    let prompt = args.prompt || cfg.prompt;
    let verdict = match evaluate(hook, pam, os, cfg, prompt, &mut facts) {
        Ok(Some(v)) => v,
        Ok(None) => return Outcome::Ignore,
        Err(v) => v,
    };
    if args.debug {
        if let Some(a) = &facts.action {
            pam.say(
                false,
                &format!(
                    "jit: checked {} as {}",
                    a.display(),
                    facts.run_as.as_deref().unwrap_or("?")
                ),
            );
        }
    }

    let mut ev = event(EventKind::Decision, pam, os, &facts);
    ev.allowed = Some(verdict.allowed);
    ev.reason_code = Some(verdict.code.clone());
    ev.message = Some(if hook == Hook::Authenticate {
        format!("authenticate: {}", verdict.message)
    } else {
        verdict.message.clone()
    });
    fill_token(&mut ev, verdict.token.as_deref());

    // No audit, no root: the record must be on disk before we say yes.
    let appended = match log::append(log_cfg, &ev) {
        Ok(a) => a,
        Err(e) => {
            pam.say(
                true,
                &format!("jit: denied: cannot write the audit log: {e}"),
            );
            unrecorded(
                os,
                Some(log_cfg),
                "decision",
                "audit_log_unwritable",
                ev.command_path.as_deref(),
                &format!(
                    "{e}; the decision ({}, reason {}) was not recorded, so the answer is no",
                    if verdict.allowed { "allowed" } else { "denied" },
                    verdict.code
                ),
            );
            return Outcome::Deny;
        }
    };
    if ev.break_glass {
        // The loud path: the user is told, whatever the outcome, that this
        // was recorded as break-glass and alerted at authpriv.emerg. A lost
        // alert does not deny (the record is durable, and an emergency is
        // exactly when syslog may be down) but the user is told.
        if verdict.allowed && hook == Hook::Account {
            pam.say(
                true,
                &format!(
                    "jit: BREAK-GLASS access: this single use is recorded (log seq {}) and alerted; it will be reviewed",
                    appended.seq
                ),
            );
        }
        if let Some(e) = &appended.mirror_error {
            pam.say(
                true,
                &format!("jit: warning: the break-glass alert did not reach syslog: {e}"),
            );
        }
    }
    if !verdict.allowed {
        pam.say(true, &format!("jit: denied: {}", verdict.message));
        return Outcome::Deny;
    }
    if hook == Hook::Account {
        let (command_path, argv) = command_of(facts.action.as_ref());
        let data = SessionData {
            user: facts.user.clone().unwrap_or_default(),
            run_as: facts.run_as.clone().unwrap_or_default(),
            command_path,
            argv,
            token: verdict.token.map(|t| *t),
            opened_at: None,
            log: log_cfg.clone(),
        };
        if !pam.store(data) {
            pam.say(
                true,
                "jit: denied: cannot keep the decision for the session",
            );
            return Outcome::Deny;
        }
    }
    Outcome::Allow
}

/// Gather everything and ask jit-core. `Ok(None)`: authenticate without a token.
fn evaluate(
    hook: Hook,
    pam: &mut dyn PamIo,
    os: &dyn Os,
    cfg: &Config,
    prompt: bool,
    facts: &mut Facts,
) -> Result<Option<Verdict>, Verdict> {
    // Who is asking: the real uid of setuid sudo, cross-checked with PAM.
    let uid = os.real_uid();
    let user = os
        .user_name(uid)
        .ok_or_else(|| Verdict::deny("unknown_user", format!("uid {uid} has no user name")))?;
    facts.user = Some(user.clone());
    if let Some(ruser) = pam.ruser() {
        if ruser != user {
            return Err(Verdict::deny(
                "user_mismatch",
                format!(
                    "PAM says the requesting user is {ruser}, but the process belongs to {user}"
                ),
            ));
        }
    }
    match pam.user() {
        Some(u) if u == user => {}
        other => {
            return Err(Verdict::deny(
                "user_mismatch",
                format!(
                "PAM user {:?} is not the invoking user {user} (targetpw/rootpw are not supported)",
                other.unwrap_or_default()
            ),
            ))
        }
    }

    // What sudo is about to run.
    let cmdline = os.cmdline().map_err(|e| {
        Verdict::deny(
            "command_undetermined",
            format!("cannot read sudo's command line: {e}"),
        )
    })?;
    let environ = os.environ().map_err(|e| {
        Verdict::deny(
            "command_undetermined",
            format!("cannot read the invoking environment: {e}"),
        )
    })?;
    let user_env = parse_environ(&environ);
    // Which rules: sudo 1.9's need its getenv hook, so where the hook is (the
    // main program defines getenv) they apply, whatever the executable is
    // called. Only without it is /proc/self/exe read, to recognise sudo-rs;
    // any other sudo gets the 1.9 rules, which then fail closed.
    let sudo_rs = !os.getenv_hooked() && {
        let exe = os.exe().map_err(|e| {
            Verdict::deny(
                "command_undetermined",
                format!("cannot read which sudo is running (/proc/self/exe): {e}"),
            )
        })?;
        sudo::is_sudo_rs(&exe)
    };
    let determined = if sudo_rs {
        // sudo-rs: no getenv hook, no SUDO_COMMAND; the command line alone.
        sudo::determine_sudo_rs(&cmdline)
    } else {
        determine_sudo19(os, &cmdline, &user_env)
    }
    .map_err(|e| Verdict::deny("command_undetermined", e.to_string()))?;
    facts.action = Some(determined.action.clone());

    let run_as = match &determined.run_as_user {
        // sudoers: "if runas_group was specified without runas_user we run
        // the command as the invoking user" (sudo 1.9 and sudo-rs alike).
        RunAs::Default if determined.run_as_group.is_some() => user.clone(),
        RunAs::Default => "root".to_string(),
        RunAs::Name(n) => os
            .user_by_name(n)
            .ok_or_else(|| Verdict::deny("unknown_run_as", format!("no such run-as user {n:?}")))?,
        RunAs::Id(id) => os
            .user_name(*id)
            .ok_or_else(|| Verdict::deny("unknown_run_as", format!("no user with uid {id}")))?,
    };
    facts.run_as = Some(run_as.clone());
    let run_as_group = match &determined.run_as_group {
        None => None,
        Some(RunAs::Name(n)) => Some(
            os.group_by_name(n)
                .ok_or_else(|| Verdict::deny("unknown_run_as", format!("no such group {n:?}")))?,
        ),
        Some(RunAs::Id(id)) => {
            Some(os.group_name(*id).ok_or_else(|| {
                Verdict::deny("unknown_run_as", format!("no group with gid {id}"))
            })?)
        }
        Some(RunAs::Default) => None,
    };
    facts.run_as_group = run_as_group.clone();

    // The token: JIT_TOKEN in the invoking environment, or a prompt if configured.
    let token_text = match env_values(&user_env, "JIT_TOKEN").as_slice() {
        [] => None,
        [one] => Some(String::from_utf8_lossy(one).into_owned()),
        _ => {
            return Err(Verdict::deny(
                "malformed",
                "JIT_TOKEN is set more than once in your environment",
            ))
        }
    };
    let token_text = match token_text {
        Some(t) => t,
        None if hook == Hook::Authenticate && !prompt => return Ok(None),
        None if prompt => match pam.prompt("JIT token: ") {
            Some(t) if !t.is_empty() => t,
            _ => {
                return Err(Verdict::deny(
                    "no_token",
                    "no JIT token: the prompt got no answer (sudo -n cannot prompt, and sudo \
                     refuses answers of 512 bytes or more, which longer tokens are): set \
                     JIT_TOKEN instead (JIT_TOKEN=... sudo CMD)",
                ))
            }
        },
        None => return Err(no_token()),
    };

    let keys_text = jit_core::fs::read_secure_file(&cfg.trusted_keys, config::MAX_KEYS_LEN)
        .map_err(|e| Verdict::deny("keys_unusable", format!("trusted keys unusable: {e}")))?;
    let keys = TrustedKeys::parse(&keys_text)
        .map_err(|e| Verdict::deny("keys_unusable", format!("trusted keys unusable: {e}")))?;

    let inv = Invocation {
        user,
        host_groups: cfg.host_groups.clone(),
        action: determined.action,
        run_as_user: run_as,
        run_as_group,
    };
    let now = os.now().floor() as i64;
    let d = token::decide(
        &token_text,
        &keys,
        now,
        &inv,
        &VerifyOptions {
            leeway_secs: cfg.leeway_secs,
        },
    );
    let mut v = Verdict {
        allowed: d.allowed,
        code: d.reason.code().to_string(),
        message: d.message,
        token: d.token.map(Box::new),
    };
    if v.allowed {
        if let Some(t) = v.token.clone() {
            revocation(cfg, &keys, now, &t, &mut v);
        }
    }
    if v.allowed {
        if let Some(t) = &v.token {
            // A break-glass token is single-use by the format (max_uses 1);
            // should one ever arrive without a limit, it still counts as 1.
            let limit = if t.break_glass { Some(1) } else { t.max_uses };
            if let Some(max) = limit {
                // Count a use only where something runs, and only once per
                // sudo: in acct_mgmt (authenticate runs before it, or not at all).
                let runs = matches!(
                    facts.action,
                    Some(Action::Exec { .. } | Action::Shell { .. } | Action::Edit { .. })
                );
                if hook == Hook::Account && runs {
                    let lock = jit_core::log::lock_path_for(&cfg.state);
                    match replay::consume(&cfg.replay_cache, &lock, &t.cti_hex, t.exp, max, now) {
                        Ok(u) => v.message = format!("{} (use {} of {})", v.message, u.n, u.max),
                        Err(e @ ReplayError::Exhausted { .. }) => {
                            v.allowed = false;
                            v.code = "uses_exhausted".into();
                            v.message = e.to_string();
                        }
                        Err(e @ ReplayError::ClockBehind { .. }) => {
                            v.allowed = false;
                            v.code = "clock_stepped_back".into();
                            v.message = e.to_string();
                        }
                        Err(e) => {
                            v.allowed = false;
                            v.code = "replay_cache_unusable".into();
                            v.message = e.to_string();
                        }
                    }
                }
            }
        }
    }
    Ok(Some(v))
}

/// Once the token has verified, the host's signed revocation list decides
/// whether it is still good (docs/revocation.md; the decision is jit-core's).
/// A missing list where one is required, a bad, older or equivocating list,
/// or an unusable state denies every token.
fn revocation(cfg: &Config, keys: &TrustedKeys, now: i64, t: &TokenInfo, v: &mut Verdict) {
    let policy = HostPolicy {
        list: cfg.revocation_list.clone(),
        state: cfg.revocation_state.clone(),
        lock: jit_core::log::lock_path_for(&cfg.state),
        missing: cfg.revocation_missing,
    };
    match revocation::host::check_token(&policy, keys, now, t) {
        Ok(Checked::NotRevoked(n)) => {
            v.message = format!("{} (revocation list version {n})", v.message)
        }
        Ok(Checked::NoList) => {}
        Err(d) => {
            v.allowed = false;
            v.code = d.code.into();
            v.message = d.message;
        }
    }
}

fn no_token() -> Verdict {
    Verdict::deny(
        "no_token",
        "no JIT token: set JIT_TOKEN to a token issued by jit-signer (e.g. JIT_TOKEN=... sudo CMD)",
    )
}

fn open_session(pam: &mut dyn PamIo, os: &dyn Os, args: &ModuleArgs) -> Outcome {
    let Some(mut data) = pam.load() else {
        // acct_mgmt did not approve this transaction: sudoers turned
        // pam_acct_mgmt off, or an account module before pam_jit ended the
        // stack (pam_unix's new_authtok_reqd=done for an expired password).
        // Nothing may run, and the refusal is recorded like any other.
        let msg = "no jit decision was made for this command (is pam_acct_mgmt disabled, \
                   or did an earlier account module end the stack, e.g. for an expired password?)";
        match load_config(args, os) {
            Ok((_, log_cfg)) => {
                let mut ev = Event::new(EventKind::SessionOpen);
                ev.user = os.user_name(os.real_uid());
                ev.run_as_user = pam.user();
                ev.tty = pam.tty();
                ev.pid = Some(os.pid());
                ev.allowed = Some(false);
                ev.reason_code = Some("no_decision".into());
                ev.message = Some(msg.into());
                if let Err(e) = log::append(&log_cfg, &ev) {
                    pam.say(true, &format!("jit: cannot write the audit log: {e}"));
                    unrecorded(
                        os,
                        Some(&log_cfg),
                        "session_open",
                        "audit_log_unwritable",
                        None,
                        &format!("{e}; no_decision: {msg}"),
                    );
                }
            }
            Err(e) => {
                pam.say(true, &format!("jit: configuration unusable: {e}"));
                unrecorded(
                    os,
                    None,
                    "session_open",
                    "config_unusable",
                    None,
                    &format!("{e}; no_decision: {msg}"),
                );
            }
        }
        pam.say(true, &format!("jit: denied: {msg}"));
        return Outcome::Deny;
    };
    let target = pam.user();
    if target.as_deref() != Some(data.run_as.as_str()) {
        let mut ev = session_event(EventKind::SessionOpen, pam, os, &data);
        ev.allowed = Some(false);
        ev.reason_code = Some("run_as_mismatch".into());
        let msg = format!(
            "session target {:?} is not the approved run-as user {}",
            target.unwrap_or_default(),
            data.run_as
        );
        ev.message = Some(msg.clone());
        if let Err(e) = log::append(&data.log, &ev) {
            unrecorded(
                os,
                Some(&data.log),
                "session_open",
                "audit_log_unwritable",
                data.command_path.as_deref(),
                &format!("{e}; run_as_mismatch: {msg}"),
            );
        }
        pam.say(true, &format!("jit: denied: {msg}"));
        return Outcome::Deny;
    }
    // An approved session writes nothing here: its start is the allowed
    // decision record acct_mgmt made durable moments ago in this process
    // (same pid, command and token), and session_close records the end with
    // the duration. A second record would cost two more flushes per sudo
    // (docs/pam-module.md, "Hooks"); only a refusal here is recorded.
    data.opened_at = Some(os.now());
    if !pam.store(data) {
        return Outcome::Deny;
    }
    Outcome::Allow
}

fn close_session(pam: &mut dyn PamIo, os: &dyn Os) -> Outcome {
    let Some(data) = pam.load() else {
        return Outcome::Ignore;
    };
    let mut ev = session_event(EventKind::SessionClose, pam, os, &data);
    ev.session_secs = data.opened_at.map(|t| (os.now() - t).max(0.0));
    // The command has already run; a failed record cannot be undone here.
    match log::append(&data.log, &ev) {
        Ok(_) => Outcome::Allow,
        Err(e) => {
            pam.say(true, &format!("jit: cannot write the audit log: {e}"));
            unrecorded(
                os,
                Some(&data.log),
                "session_close",
                "audit_log_unwritable",
                data.command_path.as_deref(),
                &format!(
                    "{e}; the end of an allowed session ({:.3} s) was not recorded",
                    ev.session_secs.unwrap_or(0.0)
                ),
            );
            Outcome::Ignore
        }
    }
}

fn event(kind: EventKind, pam: &dyn PamIo, os: &dyn Os, facts: &Facts) -> Event {
    let (command_path, argv) = command_of(facts.action.as_ref());
    Event {
        kind,
        user: facts.user.clone(),
        run_as_user: facts.run_as.clone(),
        run_as_group: facts.run_as_group.clone(),
        tty: pam.tty(),
        command_path,
        argv,
        pid: Some(os.pid()),
        ..Event::new(kind)
    }
}

fn session_event(kind: EventKind, pam: &dyn PamIo, os: &dyn Os, data: &SessionData) -> Event {
    let mut ev = Event {
        kind,
        user: Some(data.user.clone()),
        run_as_user: Some(data.run_as.clone()),
        tty: pam.tty(),
        command_path: data.command_path.clone(),
        argv: data.argv.clone(),
        pid: Some(os.pid()),
        ..Event::new(kind)
    };
    fill_token(&mut ev, data.token.as_ref());
    ev
}

fn fill_token(ev: &mut Event, t: Option<&TokenInfo>) {
    if let Some(t) = t {
        ev.token_id = Some(t.cti_hex.clone());
        ev.issuer = Some(t.iss.clone());
        ev.kid = Some(t.kid.clone());
        ev.token_reason = Some(t.reason.clone());
        ev.ticket = t.ticket.clone();
        ev.approver = t.approver.clone();
        ev.break_glass = t.break_glass;
    }
}

fn command_of(action: Option<&Action>) -> (Option<String>, Option<Vec<String>>) {
    match action {
        Some(Action::Exec { argv }) | Some(Action::Shell { argv, .. }) => {
            (argv.first().cloned(), Some(argv.clone()))
        }
        Some(Action::Edit { files }) => {
            let mut argv = vec!["sudoedit".to_string()];
            argv.extend(files.iter().cloned());
            (Some("sudoedit".into()), Some(argv))
        }
        Some(a @ (Action::List | Action::Validate)) => (None, Some(vec![a.display()])),
        None => (None, None),
    }
}

/// sudo 1.9: the command line checked against sudo's own `SUDO_COMMAND`.
fn determine_sudo19(
    os: &dyn Os,
    cmdline: &[u8],
    user_env: &[(&[u8], &[u8])],
) -> Result<sudo::Determined, sudo::CommandError> {
    let reported = os.sudo_getenv("SUDO_COMMAND");
    // If any SUDO_COMMAND the user set equals what getenv answered, we cannot
    // tell sudo's value from the user's; jit-core denies in that case.
    let user_scs = env_values(user_env, "SUDO_COMMAND");
    let user_sc = user_scs
        .iter()
        .find(|v| Some(**v) == reported.as_deref())
        .or(user_scs.first())
        .map(|v| v.to_vec());
    sudo::determine(&SudoFacts {
        cmdline,
        sudo_command: reported.as_deref(),
        user_sudo_command: user_sc.as_deref(),
    })
}

fn parse_environ(raw: &[u8]) -> Vec<(&[u8], &[u8])> {
    raw.split(|b| *b == 0)
        .filter(|e| !e.is_empty())
        .filter_map(|e| {
            let eq = e.iter().position(|b| *b == b'=')?;
            Some((&e[..eq], &e[eq + 1..]))
        })
        .collect()
}

fn env_values<'a>(env: &[(&'a [u8], &'a [u8])], name: &str) -> Vec<&'a [u8]> {
    env.iter()
        .filter(|(k, _)| *k == name.as_bytes())
        .map(|(_, v)| *v)
        .collect()
}

#[cfg(test)]
mod tests {
    //! The glue driven through fake PAM and OS sides, for the paths the
    //! real-sudo suite (tests/ci.d/40-pam-sudo.sh) cannot reach.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use jit_core::keys::SigningKeyWithKid;
    use jit_core::token::{Claims, Grant};
    use std::cell::RefCell;
    use std::ffi::CString;
    use std::path::Path;

    const NOW: i64 = 1_800_000_000;

    struct FakePam {
        user: Option<String>,
        ruser: Option<String>,
        said: RefCell<Vec<(bool, String)>>,
        data: Option<SessionData>,
        answer: Option<String>,
    }

    impl FakePam {
        /// Did the module tell the user, as an error, something containing `needle`?
        fn said_error(&self, needle: &str) -> bool {
            self.said
                .borrow()
                .iter()
                .any(|(e, m)| *e && m.contains(needle))
        }
    }

    impl PamIo for FakePam {
        fn user(&self) -> Option<String> {
            self.user.clone()
        }
        fn ruser(&self) -> Option<String> {
            self.ruser.clone()
        }
        fn tty(&self) -> Option<String> {
            None
        }
        fn service(&self) -> Option<String> {
            Some("jit-unit".into())
        }
        fn say(&self, error: bool, msg: &str) {
            self.said.borrow_mut().push((error, msg.to_string()));
        }
        fn prompt(&self, msg: &str) -> Option<String> {
            self.said
                .borrow_mut()
                .push((false, format!("prompt: {msg}")));
            self.answer.clone()
        }
        fn store(&mut self, data: SessionData) -> bool {
            self.data = Some(data);
            true
        }
        fn load(&self) -> Option<SessionData> {
            self.data.clone()
        }
    }

    struct FakeOs {
        cmdline: Vec<u8>,
        environ: Vec<u8>,
        sudo_command: Option<Vec<u8>>,
        /// `None`: /proc/self/exe cannot be read.
        exe: Option<&'static str>,
        hooked: bool,
        exe_reads: std::cell::Cell<u32>,
        /// (socket, message) of each trace left for an unrecorded event.
        traces: RefCell<Vec<(PathBuf, String)>>,
    }

    impl Os for FakeOs {
        fn cmdline(&self) -> std::io::Result<Vec<u8>> {
            Ok(self.cmdline.clone())
        }
        fn environ(&self) -> std::io::Result<Vec<u8>> {
            Ok(self.environ.clone())
        }
        fn exe(&self) -> std::io::Result<PathBuf> {
            self.exe_reads.set(self.exe_reads.get() + 1);
            self.exe
                .map(PathBuf::from)
                .ok_or_else(|| std::io::Error::from_raw_os_error(nix::libc::EACCES))
        }
        fn getenv_hooked(&self) -> bool {
            self.hooked
        }
        fn sudo_getenv(&self, name: &str) -> Option<Vec<u8>> {
            (name == "SUDO_COMMAND")
                .then(|| self.sudo_command.clone())
                .flatten()
        }
        fn real_uid(&self) -> u32 {
            1000
        }
        fn user_name(&self, uid: u32) -> Option<String> {
            match uid {
                0 => Some("root".into()),
                1000 => Some("alice".into()),
                _ => None,
            }
        }
        fn user_by_name(&self, name: &str) -> Option<String> {
            ["root", "alice", "bob"]
                .contains(&name)
                .then(|| name.to_string())
        }
        fn group_name(&self, _gid: u32) -> Option<String> {
            None
        }
        fn group_by_name(&self, name: &str) -> Option<String> {
            (name == "staff").then(|| name.to_string())
        }
        fn hostname(&self) -> Option<String> {
            Some("unit-host".into())
        }
        fn now(&self) -> f64 {
            NOW as f64
        }
        fn pid(&self) -> u32 {
            4242
        }
        fn unrecorded(&self, socket: &Path, u: &Unrecorded<'_>) {
            self.traces
                .borrow_mut()
                .push((socket.to_path_buf(), log::syslog::unrecorded_message(u)));
        }
    }

    /// A root-owned scratch directory (the suite runs as root) with a valid
    /// configuration, a trusted key and a token for alice to run /usr/bin/true.
    struct Fixture {
        dir: PathBuf,
        config_arg: CString,
        token: String,
    }

    impl Fixture {
        fn new(name: &str) -> Fixture {
            assert!(
                nix::unistd::geteuid().is_root(),
                "the test suite runs as root (tests/run.sh)"
            );
            let dir = Path::new("/run").join(format!("pam-jit-unit-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let key = SigningKeyWithKid::from_seed("unit-k1", &[7u8; 32]).unwrap();
            std::fs::write(
                dir.join("trusted-keys"),
                format!("{}\n", key.trusted_keys_line()),
            )
            .unwrap();
            let conf = dir.join("pam_jit.conf");
            std::fs::write(
                &conf,
                format!(
                    "host_groups = unit\ntrusted_keys = {d}/trusted-keys\nlog = {d}/audit.log\n\
                     state = {d}/log.state\nseal_key_export = {d}/seal-key.initial\nsyslog = no\n\
                     replay_cache = {d}/replay\nsyslog_socket = {d}/syslog.sock\n\
                     revocation_list = {d}/revocation.list\nrevocation_state = {d}/revocation-state\n",
                    d = dir.display()
                ),
            )
            .unwrap();
            let claims = Fixture::base_claims();
            let token = jit_core::token::issue_b64(&claims, &key).unwrap();
            Fixture {
                config_arg: CString::new(format!("config={}", conf.display())).unwrap(),
                dir,
                token,
            }
        }

        fn base_claims() -> Claims {
            Claims {
                iss: "unit".into(),
                sub: "alice".into(),
                iat: NOW - 10,
                nbf: NOW - 10,
                exp: NOW + 3600,
                cti: [1u8; 16],
                hosts: vec!["unit".into()],
                cmds: vec![Grant {
                    argv: vec!["/usr/bin/true".into()],
                    any_args: false,
                }],
                run_as: vec!["root".into()],
                run_as_groups: vec![],
                shell: false,
                reason: "unit test".into(),
                ticket: None,
                approver: None,
                break_glass: false,
                max_uses: None,
            }
        }

        fn claims(&self) -> Claims {
            Fixture::base_claims()
        }

        fn os(&self) -> FakeOs {
            FakeOs {
                cmdline: b"sudo\0-n\0/usr/bin/true\0".to_vec(),
                environ: format!("PATH=/usr/bin\0JIT_TOKEN={}\0", self.token).into_bytes(),
                sudo_command: Some(b"/usr/bin/true".to_vec()),
                exe: Some("/usr/bin/sudo"),
                hooked: true,
                exe_reads: std::cell::Cell::new(0),
                traces: RefCell::new(Vec::new()),
            }
        }

        fn run(&self, hook: Hook, pam: &mut FakePam, os: &FakeOs) -> Outcome {
            handle(hook, pam, os, &[self.config_arg.as_c_str()])
        }

        fn records(&self) -> Vec<serde_json::Value> {
            std::fs::read_to_string(self.dir.join("audit.log"))
                .unwrap_or_default()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn alice() -> FakePam {
        FakePam {
            user: Some("alice".into()),
            ruser: Some("alice".into()),
            said: RefCell::new(Vec::new()),
            data: None,
            answer: None,
        }
    }

    #[test]
    fn allowed_then_session_open_and_close() {
        // The allowed decision is the session's start record; opening
        // writes nothing, closing records the end.
        let f = Fixture::new("allowed");
        let mut pam = alice();
        let os = f.os();
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
        pam.user = Some("root".into()); // PAM_USER is the target from setcred on
        assert_eq!(f.run(Hook::OpenSession, &mut pam, &os), Outcome::Allow);
        assert_eq!(f.run(Hook::CloseSession, &mut pam, &os), Outcome::Allow);
        let kinds: Vec<_> = f
            .records()
            .iter()
            .map(|r| r["kind"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(kinds, ["start", "decision", "session_close"]);
        let r = f.records();
        assert_eq!(r[1]["token_id"], "01".repeat(16));
        assert_eq!(r[2]["token_id"], r[1]["token_id"]);
        assert_eq!(r[2]["pid"], r[1]["pid"]);
        assert!(r[2]["session_secs"].as_f64().unwrap() >= 0.0);
    }

    #[test]
    fn sudo_rs_is_chosen_by_exe_and_needs_no_sudo_command() {
        let f = Fixture::new("sudo-rs");
        // sudo-rs: no getenv hook, no SUDO_COMMAND; the command line decides.
        let os = FakeOs {
            sudo_command: None,
            exe: Some("/usr/bin/sudo-rs"),
            hooked: false,
            ..f.os()
        };
        assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Allow);
        assert_eq!(os.exe_reads.get(), 1);
        // The same facts under any other exe take the sudo 1.9 path: denied.
        let os19 = FakeOs {
            sudo_command: None,
            hooked: false,
            ..f.os()
        };
        assert_eq!(f.run(Hook::Account, &mut alice(), &os19), Outcome::Deny);
        // A bare name under sudo-rs: denied, whatever SUDO_COMMAND says.
        let bare = FakeOs {
            cmdline: b"sudo\0-n\0true\0".to_vec(),
            sudo_command: Some(b"/usr/bin/true".to_vec()),
            exe: Some("/usr/bin/sudo-rs"),
            hooked: false,
            ..f.os()
        };
        let mut pam = alice();
        assert_eq!(f.run(Hook::Account, &mut pam, &bare), Outcome::Deny);
        assert!(pam.said_error("under sudo-rs"));
        let codes: Vec<_> = f
            .records()
            .iter()
            .filter_map(|r| r["reason_code"].as_str().map(str::to_string))
            .collect();
        assert_eq!(
            codes,
            ["ok", "command_undetermined", "command_undetermined"]
        );
    }

    #[test]
    fn the_getenv_hook_selects_the_sudo_19_rules_without_reading_exe() {
        let f = Fixture::new("hooked");
        // sudo 1.9 (getenv defined by the main program): /proc/self/exe is
        // not read, so its name cannot matter and its absence cannot deny.
        for exe in [Some("/usr/bin/sudo"), Some("/opt/x/sudo-rs"), None] {
            let os = FakeOs { exe, ..f.os() };
            assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Allow);
            assert_eq!(os.exe_reads.get(), 0, "exe read under the hook ({exe:?})");
        }
        // Under the hook a bare name is sudo 1.9's to resolve: SUDO_COMMAND
        // says what it resolved to (sudo-rs's rules would deny a bare name).
        let bare = FakeOs {
            cmdline: b"sudo\0-n\0true\0".to_vec(),
            exe: Some("/usr/bin/sudo-rs"),
            ..f.os()
        };
        assert_eq!(f.run(Hook::Account, &mut alice(), &bare), Outcome::Allow);
        // Without the hook, an unreadable exe is a denial with its reason.
        let unreadable = FakeOs {
            exe: None,
            hooked: false,
            ..f.os()
        };
        let mut pam = alice();
        assert_eq!(f.run(Hook::Account, &mut pam, &unreadable), Outcome::Deny);
        assert!(pam.said_error("cannot read which sudo is running"));
        // ... and a readable one that is not sudo-rs takes the 1.9 rules,
        // which hold here only because this fake getenv answers SUDO_COMMAND
        // (a real sudo without the hook has none: denied, see 50-pam-sudo-rs).
        let plain = FakeOs {
            hooked: false,
            ..f.os()
        };
        assert_eq!(f.run(Hook::Account, &mut alice(), &plain), Outcome::Allow);
        assert_eq!(plain.exe_reads.get(), 1);
    }

    #[test]
    fn pam_ruser_or_user_disagreeing_with_the_real_uid_is_denied_and_logged() {
        let f = Fixture::new("mismatch");
        let os = f.os();
        let mut pam = FakePam {
            ruser: Some("bob".into()),
            ..alice()
        };
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
        // targetpw/rootpw make PAM_USER the target: not supported, denied.
        let mut pam = FakePam {
            user: Some("root".into()),
            ..alice()
        };
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
        let codes: Vec<_> = f
            .records()
            .iter()
            .filter_map(|r| r["reason_code"].as_str().map(str::to_string))
            .collect();
        assert_eq!(codes, ["user_mismatch", "user_mismatch"]);
        assert!(pam.said_error("targetpw"));
    }

    #[test]
    fn session_without_an_approval_or_for_another_target_is_denied() {
        let f = Fixture::new("session");
        let os = f.os();
        let mut pam = FakePam {
            user: Some("root".into()),
            ..alice()
        };
        assert_eq!(f.run(Hook::OpenSession, &mut pam, &os), Outcome::Deny);
        assert!(pam.said_error("no jit decision"));
        // The refusal is recorded (an earlier account module may have ended
        // the stack before pam_jit ran: nothing else would record it).
        let r = f.records().pop().unwrap();
        assert_eq!(r["kind"], "session_open");
        assert_eq!(r["allowed"], false);
        assert_eq!(r["reason_code"], "no_decision");
        assert_eq!(r["run_as_user"], "root");
        let mut pam = alice();
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
        pam.user = Some("bob".into());
        assert_eq!(f.run(Hook::OpenSession, &mut pam, &os), Outcome::Deny);
        let last = f.records().pop().unwrap();
        assert_eq!(last["reason_code"], "run_as_mismatch");
        // close_session never denies, even without data.
        let mut fresh = alice();
        assert_eq!(f.run(Hook::CloseSession, &mut fresh, &os), Outcome::Ignore);
    }

    #[test]
    fn authenticate_without_a_token_is_ignored_with_one_allows() {
        let f = Fixture::new("auth");
        let mut os = f.os();
        let mut pam = alice();
        assert_eq!(f.run(Hook::Authenticate, &mut pam, &os), Outcome::Allow);
        os.environ = b"PATH=/usr/bin\0".to_vec();
        assert_eq!(f.run(Hook::Authenticate, &mut pam, &os), Outcome::Ignore);
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
    }

    #[test]
    fn prompt_argument_asks_through_the_conversation() {
        let f = Fixture::new("prompt");
        let mut os = f.os();
        os.environ = b"PATH=/usr/bin\0".to_vec();
        let prompt = CString::new("prompt").unwrap();
        let args = [f.config_arg.as_c_str(), prompt.as_c_str()];
        // Without the argument: no prompt, denied.
        let mut pam = FakePam {
            answer: Some(f.token.clone()),
            ..alice()
        };
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
        assert!(!pam
            .said
            .borrow()
            .iter()
            .any(|(_, m)| m.starts_with("prompt:")));
        // With it: the answer is the token.
        let mut pam = FakePam {
            answer: Some(f.token.clone()),
            ..alice()
        };
        assert_eq!(handle(Hook::Account, &mut pam, &os, &args), Outcome::Allow);
        assert!(pam
            .said
            .borrow()
            .iter()
            .any(|(_, m)| m == "prompt: JIT token: "));
        // No answer (sudo -n, or an answer sudo refused: the conversation
        // fails): denied, saying why and what to do instead.
        let mut pam = alice();
        assert_eq!(handle(Hook::Account, &mut pam, &os, &args), Outcome::Deny);
        assert!(pam.said_error("the prompt got no answer"));
        assert!(pam.said_error("set JIT_TOKEN instead"));
        // authenticate prompts too, instead of ignoring.
        let mut pam = FakePam {
            answer: Some(f.token.clone()),
            ..alice()
        };
        assert_eq!(
            handle(Hook::Authenticate, &mut pam, &os, &args),
            Outcome::Allow
        );
    }

    #[test]
    fn use_limited_token_counts_in_acct_mgmt_only() {
        let f = Fixture::new("uses");
        let key = SigningKeyWithKid::from_seed("unit-k1", &[7u8; 32]).unwrap();
        let mut claims = f.claims();
        claims.max_uses = Some(2);
        claims.cti = [2u8; 16];
        let tok = jit_core::token::issue_b64(&claims, &key).unwrap();
        let mut os = f.os();
        os.environ = format!("JIT_TOKEN={tok}\0").into_bytes();
        let mut pam = alice();
        // authenticate never counts a use.
        for _ in 0..3 {
            assert_eq!(f.run(Hook::Authenticate, &mut pam, &os), Outcome::Allow);
        }
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
        let last = f.records().pop().unwrap();
        assert_eq!(last["reason_code"], "uses_exhausted");
        assert_eq!(last["token_id"], "02".repeat(16));
        // sudo -l runs nothing and does not count (nor is it refused).
        os.cmdline = b"sudo\0-l\0".to_vec();
        os.sudo_command = Some(b"list".to_vec());
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
        // The cache was last written long after this token expired (the
        // clock has since been stepped back): its count may have been
        // pruned, so the token is refused.
        let mut claims = f.claims();
        claims.max_uses = Some(2);
        claims.cti = [3u8; 16];
        let tok = jit_core::token::issue_b64(&claims, &key).unwrap();
        let os = FakeOs {
            environ: format!("JIT_TOKEN={tok}\0").into_bytes(),
            ..f.os()
        };
        let later = std::time::UNIX_EPOCH + std::time::Duration::from_secs(NOW as u64 + 3600 + 601);
        std::fs::File::options()
            .write(true)
            .open(f.dir.join("replay"))
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Deny);
        let last = f.records().pop().unwrap();
        assert_eq!(last["reason_code"], "clock_stepped_back");
    }

    #[test]
    fn a_group_without_a_user_runs_as_the_invoking_user() {
        // sudo -g staff CMD runs CMD as the invoking user with group staff
        // (sudoers), so a token's run-as root does not cover it ...
        let f = Fixture::new("group-only");
        let mut os = f.os();
        os.cmdline = b"sudo\0-n\0-g\0staff\0/usr/bin/true\0".to_vec();
        let mut pam = alice();
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
        let last = f.records().pop().unwrap();
        assert_eq!(last["reason_code"], "run_as_not_granted");
        assert_eq!(last["run_as_user"], "alice");
        assert_eq!(last["run_as_group"], "staff");
        // ... and one granting alice with group staff does, through the session.
        let key = SigningKeyWithKid::from_seed("unit-k1", &[7u8; 32]).unwrap();
        let mut claims = f.claims();
        claims.run_as = vec!["alice".into()];
        claims.run_as_groups = vec!["staff".into()];
        let tok = jit_core::token::issue_b64(&claims, &key).unwrap();
        os.environ = format!("JIT_TOKEN={tok}\0").into_bytes();
        let mut pam = alice();
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
        let last = f.records().pop().unwrap();
        assert_eq!(last["reason_code"], "ok");
        assert_eq!(last["run_as_user"], "alice");
        // PAM_USER stays alice for the session: the approved target.
        assert_eq!(f.run(Hook::OpenSession, &mut pam, &os), Outcome::Allow);
    }

    #[test]
    fn break_glass_is_single_use_loud_and_flagged() {
        let f = Fixture::new("bg");
        let key = SigningKeyWithKid::from_seed("unit-k1", &[7u8; 32]).unwrap();
        let mut claims = f.claims();
        claims.break_glass = true;
        claims.max_uses = Some(1);
        claims.cti = [3u8; 16];
        let tok = jit_core::token::issue_b64(&claims, &key).unwrap();
        let mut os = f.os();
        os.environ = format!("JIT_TOKEN={tok}\0").into_bytes();
        // The alert goes to the configured socket even with `syslog = no`.
        let rx = std::os::unix::net::UnixDatagram::bind(f.dir.join("syslog.sock")).unwrap();
        rx.set_nonblocking(true).unwrap();
        let mut pam = alice();
        // authenticate accepts it without spending the single use.
        assert_eq!(f.run(Hook::Authenticate, &mut pam, &os), Outcome::Allow);
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
        assert!(
            pam.said
                .borrow()
                .iter()
                .any(|(_, m)| m.starts_with("jit: BREAK-GLASS access: this single use is recorded")),
            "{:?}",
            pam.said.borrow()
        );
        let rec = f.records().pop().unwrap();
        assert_eq!(rec["break_glass"], true);
        assert_eq!(rec["allowed"], true);
        // One emerg line per decision (authenticate, acct_mgmt), none for
        // anything else; each carries the anchor of its record.
        let mut lines = Vec::new();
        let mut buf = [0u8; 2048];
        while let Ok(n) = rx.recv(&mut buf) {
            lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        assert_eq!(lines.len(), 2, "{lines:?}");
        for l in &lines {
            assert!(l.starts_with("<80>"), "{l}");
            assert!(
                l.contains("BREAK-GLASS allowed=yes user=alice run_as=root"),
                "{l}"
            );
        }
        assert!(
            lines[1].contains(&format!("seq={} ", rec["seq"])),
            "{lines:?}"
        );
        // The second use is refused, and still flagged.
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
        let rec = f.records().pop().unwrap();
        assert_eq!(rec["reason_code"], "uses_exhausted");
        assert_eq!(rec["break_glass"], true);
        assert_eq!(rec["allowed"], false);
    }

    #[test]
    fn revoked_token_is_denied_and_a_bad_list_denies_everything() {
        use jit_core::revocation::{encode_text, sign, RevocationList};
        use std::os::unix::fs::PermissionsExt as _;
        let f = Fixture::new("revoked");
        let key = SigningKeyWithKid::from_seed("unit-k1", &[7u8; 32]).unwrap();
        let list = f.dir.join("revocation.list");
        let install = |l: &RevocationList| {
            std::fs::write(&list, encode_text(&sign(l, &key).unwrap())).unwrap();
            std::fs::set_permissions(&list, std::fs::Permissions::from_mode(0o644)).unwrap();
        };
        let os = f.os();
        // Never seen a list: allowed (default deny_once_seen).
        assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Allow);
        let mut l = RevocationList {
            iss: "unit".into(),
            iat: NOW,
            version: 1,
            ..Default::default()
        };
        install(&l);
        assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Allow);
        let rec = f.records().pop().unwrap();
        assert!(rec["message"]
            .as_str()
            .unwrap()
            .ends_with("(revocation list version 1)"));
        // Revoke the fixture's token id: denied in acct_mgmt and authenticate.
        l.version = 2;
        l.tokens.insert([1u8; 16], NOW + 3600);
        install(&l);
        let mut pam = alice();
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
        let rec = f.records().pop().unwrap();
        assert_eq!(rec["reason_code"], "revoked");
        assert_eq!(rec["token_id"], "01".repeat(16));
        assert!(pam.said_error("is revoked (revocation list version 2)"));
        assert_eq!(f.run(Hook::Authenticate, &mut alice(), &os), Outcome::Deny);
        // Garbage in place of the list: every token denied.
        std::fs::write(&list, "garbage\n").unwrap();
        assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Deny);
        assert_eq!(
            f.records().pop().unwrap()["reason_code"],
            "revocation_list_invalid"
        );
        // Gone after one was seen: denied.
        std::fs::remove_file(&list).unwrap();
        assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Deny);
        assert_eq!(
            f.records().pop().unwrap()["reason_code"],
            "revocation_list_missing"
        );
    }

    #[test]
    fn token_set_twice_is_denied() {
        let f = Fixture::new("twice");
        let mut os = f.os();
        os.environ = format!("JIT_TOKEN={t}\0JIT_TOKEN={t}\0", t = f.token).into_bytes();
        let mut pam = alice();
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
        assert_eq!(f.records().pop().unwrap()["reason_code"], "malformed");
    }

    /// No audit, no root, but a trace: when the configuration or the log is
    /// unusable the denial is told and left at authpriv.err.
    #[test]
    fn unrecorded_events_leave_a_syslog_trace() {
        let f = Fixture::new("unrecorded");
        let sock = f.dir.join("syslog.sock");
        // The configuration cannot be read: the default socket.
        let os = f.os();
        let mut pam = alice();
        let missing = CString::new(format!("config={}/nope.conf", f.dir.display())).unwrap();
        assert_eq!(
            handle(Hook::Account, &mut pam, &os, &[missing.as_c_str()]),
            Outcome::Deny
        );
        let t = os.traces.borrow();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].0, Path::new("/dev/log"));
        assert!(t[0].1.starts_with(
            "jit-unrecorded v1 event=decision allowed=no reason=config_unusable user=alice uid=1000 command=-: "
        ), "{}", t[0].1);
        assert!(t[0].1.contains("nope.conf"), "{}", t[0].1);
        drop(t);
        // Bad module arguments.
        let os = f.os();
        let bad = CString::new("bogus").unwrap();
        assert_eq!(
            handle(Hook::OpenSession, &mut alice(), &os, &[bad.as_c_str()]),
            Outcome::Deny
        );
        assert!(os.traces.borrow()[0].1.starts_with(
            "jit-unrecorded v1 event=session_open allowed=no reason=module_args_invalid "
        ));
        // An allowed decision whose record cannot be written: denied, traced
        // on the configured socket with what the answer would have been.
        let os = f.os();
        std::fs::create_dir(f.dir.join("audit.log")).unwrap();
        let mut pam = alice();
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Deny);
        let t = os.traces.borrow();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].0, sock);
        assert!(t[0].1.starts_with(
            "jit-unrecorded v1 event=decision allowed=no reason=audit_log_unwritable user=alice uid=1000 command=/usr/bin/true: "
        ), "{}", t[0].1);
        assert!(
            t[0].1.ends_with(
                "; the decision (allowed, reason ok) was not recorded, so the answer is no"
            ),
            "{}",
            t[0].1
        );
        drop(t);
        // The end of an allowed session that cannot be recorded.
        std::fs::remove_dir(f.dir.join("audit.log")).unwrap();
        let os = f.os();
        let mut pam = alice();
        assert_eq!(f.run(Hook::Account, &mut pam, &os), Outcome::Allow);
        pam.user = Some("root".into());
        assert_eq!(f.run(Hook::OpenSession, &mut pam, &os), Outcome::Allow);
        std::fs::rename(f.dir.join("audit.log"), f.dir.join("audit.log.1")).unwrap();
        std::fs::create_dir(f.dir.join("audit.log")).unwrap();
        assert_eq!(f.run(Hook::CloseSession, &mut pam, &os), Outcome::Ignore);
        let t = os.traces.borrow();
        assert_eq!(t.len(), 1, "{t:?}");
        assert!(t[0].1.starts_with(
            "jit-unrecorded v1 event=session_close allowed=yes reason=audit_log_unwritable user=alice uid=1000 command=/usr/bin/true: "
        ), "{}", t[0].1);
        // A decision that was recorded leaves no trace.
        std::fs::remove_dir(f.dir.join("audit.log")).unwrap();
        std::fs::rename(f.dir.join("audit.log.1"), f.dir.join("audit.log")).unwrap();
        let os = f.os();
        assert_eq!(f.run(Hook::Account, &mut alice(), &os), Outcome::Allow);
        assert!(os.traces.borrow().is_empty());
    }

    #[test]
    fn module_arguments_are_strict() {
        let f = Fixture::new("args");
        let os = f.os();
        for bad in ["colour=blue", "config=relative/path", "debugx"] {
            let mut pam = alice();
            let arg = CString::new(bad).unwrap();
            assert_eq!(
                handle(Hook::Account, &mut pam, &os, &[arg.as_c_str()]),
                Outcome::Deny,
                "{bad}"
            );
            assert!(pam.said.borrow()[0].1.contains("PAM configuration error"));
        }
        let mut pam = alice();
        let debug = CString::new("debug").unwrap();
        let outcome = handle(
            Hook::Account,
            &mut pam,
            &os,
            &[f.config_arg.as_c_str(), debug.as_c_str()],
        );
        assert_eq!(outcome, Outcome::Allow);
        assert!(pam
            .said
            .borrow()
            .iter()
            .any(|(e, m)| !e && m.contains("checked /usr/bin/true as root")));
    }
}
