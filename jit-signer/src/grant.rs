//! The grant asked for by `issue` and `request`: one set of options
//! ([`GrantArgs`], flattened into both) and one check of it
//! ([`GrantArgs::check`]).

use std::ops::RangeInclusive;

use anyhow::anyhow;
use jit_core::token::{self, Grant};

use crate::{check_name, parse_when};

/// The lifetimes a token may have: 1 min (the policy's floor) to 24 h (the
/// token format's ceiling).
const TTL_SECS: RangeInclusive<u64> =
    jit_core::policy::MIN_TTL_SECS..=token::MAX_LIFETIME_SECS as u64;

/// What is granted, for whom it runs, for how long and why.
#[derive(clap::Args, Debug)]
pub(crate) struct GrantArgs {
    /// Host group the token is valid on (repeatable, at least one).
    #[arg(long = "host-group", required = true)]
    pub(crate) host_groups: Vec<String>,
    /// A granted command (repeatable), see above.
    #[arg(long = "command")]
    pub(crate) commands: Vec<String>,
    /// A file the user may edit with sudoedit (repeatable).
    #[arg(long = "edit")]
    pub(crate) edits: Vec<String>,
    /// Allow `sudo -s` / `sudo -i`.
    #[arg(long)]
    pub(crate) shell: bool,
    /// Target user (repeatable). Default: root.
    #[arg(long = "run-as")]
    pub(crate) run_as: Vec<String>,
    /// Target group for `sudo -g` (repeatable). Default: none.
    #[arg(long = "run-as-group")]
    pub(crate) run_as_groups: Vec<String>,
    /// Lifetime, from 1m to 24h (humantime syntax: 30m, 1h30m).
    #[arg(long, default_value = "1h")]
    pub(crate) ttl: String,
    /// Start of validity: RFC 3339, @UNIXSECONDS or +DURATION. Default: now.
    #[arg(long = "not-before")]
    pub(crate) not_before: Option<String>,
    /// Why access is granted (recorded in every log entry).
    #[arg(long)]
    pub(crate) reason: String,
    /// Ticket / change reference.
    #[arg(long)]
    pub(crate) ticket: Option<String>,
    /// Maximum number of uses, counted by each host (1 for break-glass).
    #[arg(long = "max-uses")]
    pub(crate) max_uses: Option<u32>,
}

/// A grant that passed [`GrantArgs::check`].
pub(crate) struct Checked {
    /// The commands, then one `sudoedit FILE` per --edit.
    pub(crate) cmds: Vec<Grant>,
    /// The target users (root if none was given).
    pub(crate) run_as: Vec<String>,
    /// The lifetime in seconds, within [`TTL_SECS`].
    pub(crate) ttl: u64,
    /// --not-before, resolved against `now` (not checked against it).
    pub(crate) not_before: Option<i64>,
}

/// Why a grant was refused: the reason code the issuance ledger records,
/// the message, and the commands parsed before the refusal (for the record).
pub(crate) struct Refused {
    pub(crate) code: &'static str,
    pub(crate) err: anyhow::Error,
    pub(crate) cmds: Vec<Grant>,
}

impl GrantArgs {
    /// Check the grant the options describe, in this order: commands, edits,
    /// something granted, names, TTL, --not-before, reason, max uses.
    /// [`Self::check`]; `nothing_is_enough`: a grant of no command, edit
    /// or shell is accepted (an SSH certificate alone, `issue --ssh-key`).
    pub(crate) fn check_with(&self, now: i64, nothing_is_enough: bool) -> Result<Checked, Refused> {
        let mut cmds: Vec<Grant> = Vec::new();
        let refuse = |code, err, cmds: &[Grant]| Refused {
            code,
            err,
            cmds: cmds.to_vec(),
        };
        for c in &self.commands {
            match token::parse_command(c) {
                Ok(g) => cmds.push(g),
                Err(e) => {
                    return Err(refuse(
                        "bad_command",
                        anyhow!("--command {c:?}: {e}"),
                        &cmds,
                    ))
                }
            }
        }
        let commands_only = cmds.len();
        for f in &self.edits {
            if !f.starts_with('/') {
                return Err(refuse(
                    "bad_command",
                    anyhow!("--edit {f:?}: not an absolute path"),
                    &cmds[..commands_only],
                ));
            }
            cmds.push(Grant {
                argv: vec!["sudoedit".into(), f.clone()],
                any_args: false,
            });
        }
        if cmds.is_empty() && !self.shell && !nothing_is_enough {
            return Err(refuse(
                "nothing_granted",
                anyhow!("nothing granted: give at least one --command, --edit or --shell"),
                &cmds,
            ));
        }
        let bad_name = |e| refuse("bad_name", e, &cmds);
        for g in &self.host_groups {
            check_name("--host-group", g).map_err(bad_name)?;
        }
        let run_as = if self.run_as.is_empty() {
            vec!["root".to_string()]
        } else {
            self.run_as.clone()
        };
        for u in run_as.iter().chain(&self.run_as_groups) {
            check_name("--run-as/--run-as-group", u).map_err(bad_name)?;
        }
        let ttl = humantime::parse_duration(&self.ttl)
            .map_err(|e| refuse("bad_ttl", anyhow!("--ttl {:?}: {e}", self.ttl), &cmds))?
            .as_secs();
        if !TTL_SECS.contains(&ttl) {
            return Err(refuse(
                "ttl_out_of_range",
                anyhow!(
                    "--ttl must be between 1 min and 24 h (got {})",
                    token::human_duration(ttl)
                ),
                &cmds,
            ));
        }
        let not_before = match self.not_before.as_deref() {
            None => None,
            Some(s) => Some(parse_when(s, now).map_err(|e| refuse("bad_time", e, &cmds))?),
        };
        if self.reason.trim().is_empty() {
            return Err(refuse(
                "empty_reason",
                anyhow!("--reason must not be empty"),
                &cmds,
            ));
        }
        if self.max_uses == Some(0) {
            return Err(refuse(
                "bad_max_uses",
                anyhow!("--max-uses must be at least 1"),
                &cmds,
            ));
        }
        Ok(Checked {
            cmds,
            run_as,
            ttl,
            not_before,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(f: impl FnOnce(&mut GrantArgs)) -> GrantArgs {
        let mut a = GrantArgs {
            host_groups: vec!["web".into()],
            commands: vec!["/bin/true".into()],
            edits: Vec::new(),
            shell: false,
            run_as: Vec::new(),
            run_as_groups: Vec::new(),
            ttl: "1h".into(),
            not_before: None,
            reason: "r".into(),
            ticket: None,
            max_uses: None,
        };
        f(&mut a);
        a
    }

    fn code(a: GrantArgs) -> &'static str {
        match a.check_with(1_800_000_000, false) {
            Ok(_) => "ok",
            Err(r) => r.code,
        }
    }

    #[test]
    fn ttl_bounds_are_one_minute_to_one_day_inclusive() {
        for (ttl, want) in [
            ("59s", "ttl_out_of_range"),
            ("1m", "ok"),
            ("24h", "ok"),
            ("24h 1s", "ttl_out_of_range"),
            ("soon", "bad_ttl"),
        ] {
            assert_eq!(code(args(|a| a.ttl = ttl.into())), want, "{ttl}");
        }
    }

    #[test]
    fn each_refusal_has_its_code() {
        assert_eq!(
            code(args(|a| a.commands = vec!["true".into()])),
            "bad_command"
        );
        assert_eq!(
            code(args(|a| a.edits = vec!["etc/hosts".into()])),
            "bad_command"
        );
        assert_eq!(code(args(|a| a.commands.clear())), "nothing_granted");
        assert_eq!(
            code(args(|a| a.host_groups = vec!["a b".into()])),
            "bad_name"
        );
        assert_eq!(
            code(args(|a| a.run_as_groups = vec!["".into()])),
            "bad_name"
        );
        assert_eq!(code(args(|a| a.not_before = Some("x".into()))), "bad_time");
        assert_eq!(code(args(|a| a.reason = " ".into())), "empty_reason");
        assert_eq!(code(args(|a| a.max_uses = Some(0))), "bad_max_uses");
        assert_eq!(code(args(|a| a.shell = true)), "ok");
    }

    #[test]
    fn a_refusal_carries_the_commands_parsed_before_it() {
        let r = args(|a| {
            a.commands = vec!["/bin/true".into(), "/bin/ls ... -l".into()];
        })
        .check_with(0, false)
        .err()
        .unwrap();
        assert_eq!(r.cmds.len(), 1);
        // A bad --edit: the commands, without the edits before it.
        let r = args(|a| a.edits = vec!["/etc/hosts".into(), "x".into()])
            .check_with(0, false)
            .err()
            .unwrap();
        assert_eq!(r.cmds.len(), 1);
        assert_eq!(r.cmds[0].argv, ["/bin/true"]);
    }

    #[test]
    fn checked_grant_defaults_run_as_to_root_and_appends_edits() {
        let c = args(|a| {
            a.edits = vec!["/etc/hosts".into()];
            a.not_before = Some("+1h".into());
        })
        .check_with(1_000, false)
        .ok()
        .unwrap();
        assert_eq!(c.run_as, ["root"]);
        assert_eq!(c.cmds.len(), 2);
        assert_eq!(c.cmds[1].argv, ["sudoedit", "/etc/hosts"]);
        assert_eq!(c.ttl, 3600);
        assert_eq!(c.not_before, Some(1_000 + 3600));
    }
}
