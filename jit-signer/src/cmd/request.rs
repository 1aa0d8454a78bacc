//! `jit-signer request`: ask for a token under the signer policy; an
//! approver issues it with `jit-signer approve ID`.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};

use anyhow::{anyhow, Context as _};
use jit_core::policy::{self, RequestFile};
use jit_core::token::{self, Grant};
use nix::unistd::getuid;

use crate::approval::{identity_of, refused, req_path, Where};
use crate::{deliver, io_err, now_or, parse_when, pretty, usage, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    at: Where,
    /// Host group (repeatable, at least one).
    #[arg(long = "host-group", required = true)]
    host_groups: Vec<String>,
    /// A command, in `issue --command` syntax (repeatable).
    #[arg(long = "command")]
    commands: Vec<String>,
    /// A file to edit with sudoedit (repeatable).
    #[arg(long = "edit")]
    edits: Vec<String>,
    /// Ask for `sudo -s` / `sudo -i`.
    #[arg(long)]
    shell: bool,
    /// Target user (repeatable). Default: root.
    #[arg(long = "run-as")]
    run_as: Vec<String>,
    /// Target group (repeatable).
    #[arg(long = "run-as-group")]
    run_as_groups: Vec<String>,
    /// Lifetime, from 1m to 24h.
    #[arg(long, default_value = "1h")]
    ttl: String,
    /// Start of validity (RFC 3339, @UNIXSECONDS or +DURATION). Default: when approved.
    #[arg(long = "not-before")]
    not_before: Option<String>,
    /// Why.
    #[arg(long)]
    reason: String,
    /// Ticket / change reference.
    #[arg(long)]
    ticket: Option<String>,
    /// Maximum number of uses (default: the rule's max_uses, if any).
    #[arg(long = "max-uses")]
    max_uses: Option<u32>,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
    /// Pretend the time is this; for tests.
    #[arg(long, hide = true)]
    now: Option<String>,
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let now = now_or(a.now.as_deref()).map_err(usage)?;
    let policy = a.at.policy()?;
    let spool = a.at.spool()?;
    let me = identity_of(getuid())?;
    let mut cmds: Vec<Grant> = Vec::new();
    for c in &a.commands {
        cmds.push(token::parse_command(c).map_err(|e| usage(anyhow!("--command {c:?}: {e}")))?);
    }
    for f in &a.edits {
        if !f.starts_with('/') {
            return Err(usage(anyhow!("--edit {f:?}: not an absolute path")));
        }
        cmds.push(Grant {
            argv: vec!["sudoedit".into(), f.clone()],
            any_args: false,
        });
    }
    if cmds.is_empty() && !a.shell {
        return Err(usage(anyhow!(
            "nothing requested: give at least one --command, --edit or --shell"
        )));
    }
    check_names("--host-group", &a.host_groups)?;
    let run_as = if a.run_as.is_empty() {
        vec!["root".to_string()]
    } else {
        a.run_as
    };
    check_names("--run-as", &run_as)?;
    check_names("--run-as-group", &a.run_as_groups)?;
    let ttl = humantime::parse_duration(&a.ttl)
        .map_err(|e| usage(anyhow!("--ttl {:?}: {e}", a.ttl)))?
        .as_secs();
    if !(60..=86_400).contains(&ttl) {
        return Err(usage(anyhow!("--ttl must be between 1 min and 24 h")));
    }
    let not_before = match a.not_before.as_deref() {
        None => None,
        Some(s) => Some(parse_when(s, now).map_err(usage)?),
    };
    if a.reason.trim().is_empty() {
        return Err(usage(anyhow!("--reason must not be empty")));
    }
    if a.max_uses == Some(0) {
        return Err(usage(anyhow!("--max-uses must be at least 1")));
    }
    let file = RequestFile {
        v: 1,
        requester: me.name.clone(),
        uid: getuid().as_raw(),
        created: now,
        nonce: token::hex(&token::random_cti().map_err(|e| io_err(anyhow!(e)))?),
        host_groups: a.host_groups,
        commands: cmds.iter().map(Grant::display).collect(),
        shell: a.shell,
        run_as,
        run_as_groups: a.run_as_groups,
        ttl,
        not_before,
        reason: a.reason,
        ticket: a.ticket.filter(|t| !t.is_empty()),
        max_uses: a.max_uses,
    };
    // Refuse early what no approver could approve.
    let (req, _, _) = file.to_request(now).map_err(|e| usage(anyhow!(e)))?;
    let allowed = policy
        .check(&me, &req)
        .map_err(|r| refused(anyhow!("refused by policy: {r}")))?;
    let bytes = file.encode();
    let id = policy::request_id(&bytes);
    let path = req_path(&spool, &id);
    // The kernel sets the owner to our uid: that is the requester identity.
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))
        .map_err(io_err)?;
    f.set_permissions(fs::Permissions::from_mode(0o644))
        .and_then(|_| f.write_all(&bytes))
        .and_then(|_| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
        .map_err(io_err)?;
    let text = if a.json {
        let v = serde_json::json!({
            "id": id,
            "requester": me.name,
            "rule": allowed.rule,
            "approval_required": allowed.approval_required,
            "expires": now + policy::REQUEST_LIFETIME_SECS,
        });
        format!("{}\n", pretty(&v))
    } else {
        format!(
            "{id}\nrequest {id} by {} under rule {}; an approver runs: jit-signer approve {id}\n",
            me.name, allowed.rule
        )
    };
    deliver(&text, || {
        format!(
            "request {id} was spooled as {} but its id was not delivered; an approver \
             runs jit-signer approve {id} (or withdraw it: jit-signer reject {id})",
            path.display()
        )
    })?;
    Ok(0)
}

fn check_names(what: &str, v: &[String]) -> Result<(), Fail> {
    for s in v {
        crate::check_name(what, s).map_err(usage)?;
    }
    Ok(())
}
