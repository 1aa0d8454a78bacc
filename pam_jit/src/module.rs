//! The module layer: gathers the facts of one hook, asks
//! [`jit_core::host`], records the answer in the audit log, and answers.
//!
//! Nothing is decided here: the order of the checks, every reason code,
//! the PAM answer and the shape of the record are jit-core's. What this
//! layer owns is where facts come from (docs/pam-module.md, "Inputs") and
//! the rule "no audit, no root": an approval whose record cannot be written
//! is a denial.

use std::ffi::CStr;
use std::path::Path;

use jit_core::config::Config;
use jit_core::host::{
    self, ConfiguredFiles, DenyCode, Facts, Hook, PamAnswer, Stores, TokenInput, Verdict,
};
use jit_core::keys::TrustedKeys;
use jit_core::log::syslog::Unrecorded;
use jit_core::log::{self, EventKind, LogConfig};
use jit_core::replay::{ReplayError, Use};
use jit_core::revocation::host::{Checked, HostError};
use jit_core::sudo::{self, SudoFacts};
use jit_core::token::TokenInfo;

use crate::pam::{ModuleArgs, Os, PamIo, RealOs};
use crate::sys;

/// The jit module, as the entry points see it.
pub struct Jit;

impl sys::Hooks for Jit {
    fn hook(hook: Hook, pam: &mut sys::Handle<'_>, args: &[&CStr]) -> PamAnswer {
        handle(hook, pam, &RealOs, args)
    }
}

/// Run one hook. Never panics on any input; every path ends in an answer.
pub fn handle(hook: Hook, pam: &mut dyn PamIo, os: &dyn Os, args: &[&CStr]) -> PamAnswer {
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
                hook.event_kind(),
                DenyCode::ModuleArgsInvalid,
                None,
                &msg,
            );
            return PamAnswer::denial(hook);
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
                hook.event_kind(),
                DenyCode::ConfigUnusable,
                None,
                &e.to_string(),
            );
            return PamAnswer::denial(hook);
        }
    };
    decision(hook, pam, os, &args, &cfg, &log_cfg)
}

/// Leave a syslog trace of an event the audit log could not take, on the
/// configured socket when the configuration was read (`log`), else on the
/// default one. For a denial the user has been told already.
fn unrecorded(
    os: &dyn Os,
    log: Option<&LogConfig>,
    event: EventKind,
    reason: DenyCode,
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
            event: event.as_str(),
            allowed: event == EventKind::SessionClose,
            reason: reason.code(),
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

/// [`Stores`] over the account database, the conversation and the files the
/// configuration names.
struct HostStores<'a> {
    os: &'a dyn Os,
    pam: &'a dyn PamIo,
    files: ConfiguredFiles<'a>,
}

impl Stores for HostStores<'_> {
    fn user_name(&self, uid: u32) -> Option<String> {
        self.os.user_name(uid)
    }
    fn user_by_name(&self, name: &str) -> Option<String> {
        self.os.user_by_name(name)
    }
    fn group_name(&self, gid: u32) -> Option<String> {
        self.os.group_name(gid)
    }
    fn group_by_name(&self, name: &str) -> Option<String> {
        self.os.group_by_name(name)
    }
    fn prompt(&self, msg: &str) -> Option<String> {
        self.pam.prompt(msg)
    }
    fn trusted_keys(&self) -> Result<TrustedKeys, String> {
        self.files.trusted_keys()
    }
    fn revocation(
        &self,
        keys: &TrustedKeys,
        now: i64,
        t: &TokenInfo,
    ) -> Result<Checked, HostError> {
        self.files.revocation(keys, now, t)
    }
    fn consume_use(&self, t: &TokenInfo, max: u32, now: i64) -> Result<Use, ReplayError> {
        self.files.consume_use(t, max, now)
    }
}

/// authenticate and acct_mgmt: gather, decide, record, answer.
fn decision(
    hook: Hook,
    pam: &mut dyn PamIo,
    os: &dyn Os,
    args: &ModuleArgs,
    cfg: &Config,
    log_cfg: &LogConfig,
) -> PamAnswer {
    let facts = gather(hook, pam, os, args.prompt || cfg.prompt);
    let d = host::decide(
        &facts,
        cfg,
        &HostStores {
            os,
            pam: &*pam,
            files: ConfiguredFiles(cfg),
        },
    );
    if d.verdict == Verdict::Abstain {
        return PamAnswer::Ignore;
    }
    if args.debug {
        if let Some(a) = &d.seen.action {
            pam.say(
                false,
                &format!(
                    "jit: checked {} as {}",
                    a.display(),
                    d.seen.run_as.as_deref().unwrap_or("?")
                ),
            );
        }
    }

    // No audit, no root: the record must be on disk before we say yes.
    let ev = d.event(hook, pam.tty(), os.pid());
    let appended = match log::append_with(log_cfg, &ev, d.verdict.durability()) {
        Ok(a) => a,
        Err(e) => {
            pam.say(
                true,
                &format!("jit: denied: cannot write the audit log: {e}"),
            );
            unrecorded(
                os,
                Some(log_cfg),
                EventKind::Decision,
                DenyCode::AuditLogUnwritable,
                ev.command_path.as_deref(),
                &format!(
                    "{e}; the decision ({}, reason {}) was not recorded, so the answer is no",
                    if d.verdict.is_allowed() {
                        "allowed"
                    } else {
                        "denied"
                    },
                    d.verdict.code()
                ),
            );
            return PamAnswer::denial(hook);
        }
    };
    if ev.break_glass {
        // The loud path: the user is told, whatever the outcome, that this
        // was recorded as break-glass and alerted at authpriv.emerg. A lost
        // alert does not deny (the record is durable, and an emergency is
        // exactly when syslog may be down) but the user is told.
        if d.verdict.is_allowed() && hook == Hook::Account {
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
    if let Verdict::Deny(denied) = &d.verdict {
        pam.say(true, &denied.sentence());
        return d.verdict.answer(hook);
    }
    if hook == Hook::Account {
        let kept = d.approved(log_cfg).is_some_and(|data| pam.store(data));
        if !kept {
            let unkept = host::Denied::new(
                DenyCode::SessionUnkept,
                "cannot keep the decision for the session",
            );
            pam.say(true, &unkept.sentence());
            return PamAnswer::denial(hook);
        }
    }
    d.verdict.answer(hook)
}

/// The facts of authenticate or acct_mgmt: who asks (the real uid of setuid
/// sudo, and PAM's view), what sudo will run, and the token text.
fn gather(hook: Hook, pam: &dyn PamIo, os: &dyn Os, prompt: bool) -> Facts {
    let environ = os.environ();
    let user_env = environ.as_deref().map(parse_environ).unwrap_or_default();
    let token = match env_values(&user_env, "JIT_TOKEN").as_slice() {
        [] => TokenInput::Absent,
        [one] => TokenInput::Given(String::from_utf8_lossy(one).into_owned()),
        _ => TokenInput::Repeated,
    };
    let cmdline = os.cmdline();
    let command = match (&cmdline, &environ) {
        (Err(e), _) => Err(format!("cannot read sudo's command line: {e}")),
        (_, Err(e)) => Err(format!("cannot read the invoking environment: {e}")),
        (Ok(cmdline), Ok(_)) => determine(os, cmdline, &user_env),
    };
    // Only a denial for an undetermined command records the argv: no
    // copying on the path of every other sudo.
    let argv = match (&command, cmdline.as_deref()) {
        (Err(_), Ok(raw)) => split_cmdline(raw),
        _ => Vec::new(),
    };
    Facts {
        hook,
        uid: os.real_uid(),
        pam_user: pam.user(),
        pam_ruser: pam.ruser(),
        command,
        token,
        prompt,
        // As JIT_TOKEN: from the invoking environment (a hint for the wording only).
        ssh: !env_values(&user_env, "SSH_CONNECTION").is_empty(),
        argv,
        now: os.now().floor() as i64,
    }
}

/// What sudo is about to run. Which rules: sudo 1.9's need its getenv hook,
/// so where the hook is (the main program defines getenv) they apply,
/// whatever the executable is called. Only without it is /proc/self/exe
/// read, to recognise sudo-rs; any other sudo gets the 1.9 rules, which then
/// fail closed.
fn determine(
    os: &dyn Os,
    cmdline: &[u8],
    user_env: &[(&[u8], &[u8])],
) -> Result<sudo::Determined, String> {
    let sudo_rs = !os.getenv_hooked() && {
        let exe = os
            .exe()
            .map_err(|e| format!("cannot read which sudo is running (/proc/self/exe): {e}"))?;
        sudo::is_sudo_rs(&exe)
    };
    if sudo_rs {
        // sudo-rs: no getenv hook, no SUDO_COMMAND; the command line alone.
        return sudo::determine_sudo_rs(cmdline).map_err(|e| e.to_string());
    }
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
    .map_err(|e| e.to_string())
}

fn open_session(pam: &mut dyn PamIo, os: &dyn Os, args: &ModuleArgs) -> PamAnswer {
    let hook = Hook::OpenSession;
    let kept = pam.load();
    let target = pam.user();
    let refusal = match host::open_session(kept.as_ref(), target.as_deref()) {
        Err(r) => r,
        Ok(()) => {
            // An approved session writes nothing here: its start is the
            // allowed decision record acct_mgmt made durable moments ago in
            // this process (same pid, command and token), and session_close
            // records the end with the duration. A second record would cost
            // more flushes per sudo (docs/pam-module.md, "Hooks"); only a
            // refusal here is recorded.
            let Some(mut data) = kept else {
                return PamAnswer::PermDenied;
            };
            data.opened_at = Some(os.now());
            if !pam.store(data) {
                return PamAnswer::denial(hook);
            }
            return PamAnswer::Success;
        }
    };
    // The refusal is recorded like any other: with what acct_mgmt approved,
    // or (no decision) with what can be known now, in the configured log.
    let (ev, log_cfg) = match &kept {
        Some(data) => {
            let ev = data.session_event(EventKind::SessionOpen, pam.tty(), os.pid());
            (ev, Ok(data.log.clone()))
        }
        None => {
            let mut ev = log::Event::new(EventKind::SessionOpen);
            ev.user = os.user_name(os.real_uid());
            ev.run_as_user = target;
            ev.tty = pam.tty();
            ev.pid = Some(os.pid());
            (ev, load_config(args, os).map(|(_, l)| l))
        }
    };
    let mut ev = ev;
    ev.allowed = Some(false);
    ev.reason_code = Some(refusal.code.code().into());
    ev.message = Some(refusal.message.clone());
    match log_cfg {
        Ok(log_cfg) => {
            if let Err(e) = log::append_with(&log_cfg, &ev, host::SESSION_RECORDS) {
                if kept.is_none() {
                    pam.say(true, &format!("jit: cannot write the audit log: {e}"));
                }
                unrecorded(
                    os,
                    Some(&log_cfg),
                    EventKind::SessionOpen,
                    DenyCode::AuditLogUnwritable,
                    ev.command_path.as_deref(),
                    &format!("{e}; {}: {}", refusal.code, refusal.message),
                );
            }
        }
        Err(e) => {
            pam.say(true, &format!("jit: configuration unusable: {e}"));
            unrecorded(
                os,
                None,
                EventKind::SessionOpen,
                DenyCode::ConfigUnusable,
                None,
                &format!("{e}; {}: {}", refusal.code, refusal.message),
            );
        }
    }
    pam.say(true, &refusal.sentence());
    PamAnswer::denial(hook)
}

fn close_session(pam: &mut dyn PamIo, os: &dyn Os) -> PamAnswer {
    let Some(data) = pam.load() else {
        return PamAnswer::Ignore;
    };
    let mut ev = data.session_event(EventKind::SessionClose, pam.tty(), os.pid());
    ev.session_secs = data.opened_at.map(|t| (os.now() - t).max(0.0));
    // The command has already run; a failed record cannot be undone here.
    match log::append_with(&data.log, &ev, host::SESSION_RECORDS) {
        Ok(_) => PamAnswer::Success,
        Err(e) => {
            pam.say(true, &format!("jit: cannot write the audit log: {e}"));
            unrecorded(
                os,
                Some(&data.log),
                EventKind::SessionClose,
                DenyCode::AuditLogUnwritable,
                data.command_path.as_deref(),
                &format!(
                    "{e}; the end of an allowed session ({:.3} s) was not recorded",
                    ev.session_secs.unwrap_or(0.0)
                ),
            );
            PamAnswer::Ignore
        }
    }
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

/// sudo's argv (NUL-terminated words), each word as lossy UTF-8: for the
/// record of an undetermined command only, never for the decision.
fn split_cmdline(raw: &[u8]) -> Vec<String> {
    raw.strip_suffix(&[0])
        .unwrap_or(raw)
        .split(|b| *b == 0)
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect()
}

fn env_values<'a>(env: &[(&'a [u8], &'a [u8])], name: &str) -> Vec<&'a [u8]> {
    env.iter()
        .filter(|(k, _)| *k == name.as_bytes())
        .map(|(_, v)| *v)
        .collect()
}

#[cfg(test)]
mod tests;
