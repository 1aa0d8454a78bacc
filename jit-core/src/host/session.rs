//! What a decision leaves behind: its audit record, what acct_mgmt keeps
//! for the session hooks, and open_session's check.

use super::{deny, Decision, Denied, DenyCode, Hook, Verdict};
use crate::invocation::Action;
use crate::log::{Event, EventKind, LogConfig};
use crate::token::TokenInfo;

/// What acct_mgmt approved, kept with the PAM handle for the session hooks.
#[derive(Debug, Clone, PartialEq)]
pub struct Approved {
    /// The invoking user.
    pub user: String,
    /// The approved target user.
    pub run_as: String,
    /// The approved command path.
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

impl Decision {
    /// The audit event for this decision (the one mapping), made at `hook`
    /// on terminal `tty` by process `pid`.
    pub fn event(&self, hook: Hook, tty: Option<String>, pid: u32) -> Event {
        let (command_path, argv) = command_of(self.seen.action.as_ref());
        let mut ev = Event {
            user: self.seen.user.clone(),
            run_as_user: self.seen.run_as.clone(),
            run_as_group: self.seen.run_as_group.clone(),
            tty,
            command_path,
            argv,
            pid: Some(pid),
            ..Event::new(EventKind::Decision)
        };
        let message = match &self.verdict {
            Verdict::Allow(a) => a.message.clone(),
            Verdict::Deny(d) => match &self.seen.attempted {
                Some(a) => format!("{} ({a})", d.message),
                None => d.message.clone(),
            },
            Verdict::Abstain => String::new(),
        };
        ev.allowed = Some(self.verdict.is_allowed());
        ev.reason_code = Some(self.verdict.code().to_string());
        ev.message = Some(if hook == Hook::Authenticate {
            format!("authenticate: {message}")
        } else {
            message
        });
        fill_token(&mut ev, self.verdict.token());
        ev
    }

    /// What acct_mgmt keeps for the session hooks, when it approved.
    pub fn approved(&self, log: &LogConfig) -> Option<Approved> {
        let Verdict::Allow(a) = &self.verdict else {
            return None;
        };
        let (command_path, argv) = command_of(self.seen.action.as_ref());
        Some(Approved {
            user: self.seen.user.clone().unwrap_or_default(),
            run_as: self.seen.run_as.clone().unwrap_or_default(),
            command_path,
            argv,
            token: Some(a.token.clone()),
            opened_at: None,
            log: log.clone(),
        })
    }
}

/// open_session: may the session of this transaction start? `kept` is what
/// acct_mgmt approved (none: it did not run or did not approve), `target`
/// PAM_USER now (the run-as user). Returns the refusal to record, if any.
pub fn open_session(kept: Option<&Approved>, target: Option<&str>) -> Result<(), Denied> {
    let Some(data) = kept else {
        // sudoers turned pam_acct_mgmt off, or an account module before
        // pam_jit ended the stack (pam_unix's new_authtok_reqd=done for an
        // expired password). Nothing may run.
        return deny(
            DenyCode::NoDecision,
            "no jit decision was made for this command (is pam_acct_mgmt disabled, \
             or did an earlier account module end the stack, e.g. for an expired password?)",
        );
    };
    if target != Some(data.run_as.as_str()) {
        return deny(
            DenyCode::RunAsMismatch,
            format!(
                "session target {:?} is not the approved run-as user {}",
                target.unwrap_or_default(),
                data.run_as
            ),
        );
    }
    Ok(())
}

impl Approved {
    /// A session event of this approved transaction (`run_as_mismatch` at
    /// open, the end with its duration at close).
    pub fn session_event(&self, kind: EventKind, tty: Option<String>, pid: u32) -> Event {
        let mut ev = Event {
            user: Some(self.user.clone()),
            run_as_user: Some(self.run_as.clone()),
            tty,
            command_path: self.command_path.clone(),
            argv: self.argv.clone(),
            pid: Some(pid),
            ..Event::new(kind)
        };
        fill_token(&mut ev, self.token.as_ref());
        ev
    }
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

/// The command path and argv a record shows for an action.
pub fn command_of(action: Option<&Action>) -> (Option<String>, Option<Vec<String>>) {
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
