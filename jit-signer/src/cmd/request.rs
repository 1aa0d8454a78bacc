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
use crate::grant::GrantArgs;
use crate::{deliver, io_err, now_or, pretty, usage, Fail};

// The grant options read as for `issue`, except where a request differs:
// the commands' syntax is explained under `issue`, the shell is asked for,
// and --not-before and --max-uses default to the approval time and the rule.
#[derive(clap::Args, Debug)]
#[command(
    mut_arg("commands", |a| a.help("A command, in `issue --command` syntax (repeatable)")),
    mut_arg("shell", |a| a.help("Ask for `sudo -s` / `sudo -i`")),
    mut_arg("not_before", |a| a.help(
        "Start of validity (RFC 3339, @UNIXSECONDS or +DURATION). Default: when approved"
    )),
    mut_arg("max_uses", |a| a.help("Maximum number of uses (default: the rule's max_uses, if any)")),
)]
pub struct Args {
    #[command(flatten)]
    at: Where,
    #[command(flatten)]
    grant: GrantArgs,
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
    let checked = a.grant.check(now).map_err(|r| usage(r.err))?;
    let g = a.grant;
    let file = RequestFile {
        v: 1,
        requester: me.name.clone(),
        uid: getuid().as_raw(),
        created: now,
        nonce: token::hex(&token::random_cti().map_err(|e| io_err(anyhow!(e)))?),
        host_groups: g.host_groups,
        commands: checked.cmds.iter().map(Grant::display).collect(),
        shell: g.shell,
        run_as: checked.run_as,
        run_as_groups: g.run_as_groups,
        ttl: checked.ttl,
        not_before: checked.not_before,
        reason: g.reason,
        ticket: g.ticket.filter(|t| !t.is_empty()),
        max_uses: g.max_uses,
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
