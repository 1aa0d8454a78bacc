//! `jit-signer request`: ask the signing service for a token under its
//! policy; an approver approves it (`jit-signer approve ID`) and you collect
//! it (`jit-signer fetch ID`, or `request --wait`).

use jit_core::service::{Answer, Ask, Call, SshAsk};
use jit_core::token::Grant;

use crate::client::ServiceArgs;
use crate::cmd::fetch::{collect, hand_out, read_ssh_key, wait_secs};
use crate::grant::GrantArgs;
use crate::{deliver, now_or, pretty, usage, Fail};

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
    svc: ServiceArgs,
    #[command(flatten)]
    grant: GrantArgs,
    /// Wait for the decision, up to DURATION (default 15m when given without
    /// a value), and print the token instead of the request id.
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "15m", require_equals = true)]
    wait: Option<String>,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    ssh: SshArgs,
}

// An SSH certificate from the same grant (docs/ssh-cert.md): its window
// is the grant's (--not-before, --ttl).
#[derive(clap::Args, Debug)]
pub struct SshArgs {
    /// Your OpenSSH public key file (e.g. ~/.ssh/id_ed25519.pub): the grant
    /// includes a certificate for it, written beside it as NAME-cert.pub
    /// when collected. Without --command, --edit or --shell: a certificate alone.
    #[arg(long = "ssh-key", value_name = "PUB")]
    ssh_key: Option<std::path::PathBuf>,
    /// A login the certificate names (repeatable). Default: your own user name.
    #[arg(long = "ssh-login", value_name = "USER", requires = "ssh_key")]
    logins: Vec<String>,
    /// An extension (repeatable): permit-pty, permit-port-forwarding,
    /// permit-agent-forwarding, permit-X11-forwarding, permit-user-rc, or
    /// `none`. Default: permit-pty, where the rule allows it.
    #[arg(long = "ssh-extension", value_name = "NAME", requires = "ssh_key")]
    extensions: Vec<String>,
    /// The only command the certificate runs (critical option force-command).
    /// Default: the rule's, if it names one.
    #[arg(long = "ssh-force-command", value_name = "CMD", requires = "ssh_key")]
    force_command: Option<String>,
    /// Addresses the certificate may be used from (critical option
    /// source-address). Default: the rule's, if it names them.
    #[arg(long = "ssh-source-address", value_name = "LIST", requires = "ssh_key")]
    source_address: Option<String>,
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let now = now_or(None).map_err(usage)?;
    let wait = wait_secs(a.wait.as_deref())?;
    // The same checks the service makes, for an early, local usage error.
    let checked = a
        .grant
        .check_with(now, a.ssh.ssh_key.is_some())
        .map_err(|r| usage(r.err))?;
    let key = a.ssh.ssh_key.as_deref().map(read_ssh_key).transpose()?;
    let ssh = key.as_ref().map(|k| SshAsk {
        key: k.line.clone(),
        logins: (!a.ssh.logins.is_empty()).then(|| a.ssh.logins.clone()),
        extensions: match a.ssh.extensions.as_slice() {
            [] => None,
            [n] if n == "none" => Some(Vec::new()),
            e => Some(e.to_vec()),
        },
        force_command: a.ssh.force_command.clone(),
        source_address: a.ssh.source_address.clone(),
    });
    let g = a.grant;
    let ask = Ask {
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
        ssh,
    };
    // With --wait, an on-call auto-approval answers with the token at once.
    let ans = a.svc.call(&Call::Request {
        ask: Box::new(ask),
        collect: a.wait.is_some(),
    })?;
    let r = ans.request.ok_or_else(|| {
        crate::io_err(anyhow::anyhow!("the service answered without the request"))
    })?;
    let id = r.id.clone();
    if a.wait.is_none() {
        let text = if a.json {
            format!("{}\n", pretty(&serde_json::json!({ "request": r })))
        } else {
            format!("{id}\n")
        };
        deliver(&text, || {
            format!("request {id} was made but its id was not delivered; see jit-signer status")
        })?;
        eprintln!(
            "jit-signer: request {id} under rule {}; an approver runs: jit-signer approve {id}; \
             collect the token with: jit-signer fetch {id}",
            r.rule.as_deref().unwrap_or("?")
        );
        return Ok(0);
    }
    let ans = match (&ans.token, &ans.certificate) {
        (Some(_), _) | (_, Some(_)) => Answer {
            request: Some(r),
            ..ans
        },
        (None, None) => {
            eprintln!(
                "jit-signer: request {id} under rule {}; waiting for an approver (jit-signer approve {id})",
                r.rule.as_deref().unwrap_or("?")
            );
            collect(&a.svc, &id, wait)?
        }
    };
    hand_out(&ans, &id, key.as_ref(), a.json)?;
    Ok(0)
}
