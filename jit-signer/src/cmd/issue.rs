//! `jit-signer issue`: sign a token, record it in the issuance ledger, print it.

use std::path::PathBuf;

use anyhow::anyhow;
use jit_core::token::{self, Claims, Grant};

use crate::key::Pkcs11Args;
use crate::{
    approval, check_name, deliver, io_err, ledger, now_or, parse_when, pkcs11, pretty,
    undelivered_token, Fail,
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Secret key file written by `keygen` (must not be readable by group or others).
    #[arg(long, required_unless_present = "pkcs11", conflicts_with = "pkcs11")]
    key: Option<PathBuf>,
    #[command(flatten)]
    hsm: Pkcs11Args,
    /// The Unix user allowed to use the token.
    #[arg(long)]
    user: String,
    /// Host group the token is valid on (repeatable, at least one).
    #[arg(long = "host-group", required = true)]
    host_groups: Vec<String>,
    /// A granted command (repeatable), see above.
    #[arg(long = "command")]
    commands: Vec<String>,
    /// A file the user may edit with sudoedit (repeatable).
    #[arg(long = "edit")]
    edits: Vec<String>,
    /// Allow `sudo -s` / `sudo -i`.
    #[arg(long)]
    shell: bool,
    /// Target user (repeatable). Default: root.
    #[arg(long = "run-as")]
    run_as: Vec<String>,
    /// Target group for `sudo -g` (repeatable). Default: none.
    #[arg(long = "run-as-group")]
    run_as_groups: Vec<String>,
    /// Lifetime, from 1m to 24h (humantime syntax: 30m, 1h30m).
    #[arg(long, default_value = "1h")]
    ttl: String,
    /// Start of validity: RFC 3339, @UNIXSECONDS or +DURATION. Default: now.
    #[arg(long = "not-before")]
    not_before: Option<String>,
    /// Why access is granted (recorded in every log entry).
    #[arg(long)]
    reason: String,
    /// Ticket / change reference.
    #[arg(long)]
    ticket: Option<String>,
    /// Who approved.
    #[arg(long)]
    approver: Option<String>,
    /// Issuer name. Default: the key id.
    #[arg(long)]
    issuer: Option<String>,
    /// Mark as an emergency (break-glass) token: single-use (implies
    /// --max-uses 1), alerted at authpriv.emerg by hosts and flagged for
    /// review by jit-verify.
    #[arg(long = "break-glass")]
    break_glass: bool,
    /// Maximum number of uses, counted by each host (1 for break-glass).
    #[arg(long = "max-uses")]
    max_uses: Option<u32>,
    /// Print claims and token as JSON.
    #[arg(long)]
    json: bool,
    /// Check the grant against this policy file (default: $JIT_POLICY);
    /// grants that need approval are refused (use `request`).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Pretend the time is this (RFC 3339 or @UNIXSECONDS); for tests.
    #[arg(long, hide = true)]
    now: Option<String>,
    #[command(flatten)]
    ledger: ledger::LedgerArgs,
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let Args {
        key,
        hsm,
        user,
        host_groups,
        commands,
        edits,
        shell,
        run_as,
        run_as_groups,
        ttl,
        not_before,
        reason,
        ticket,
        approver,
        issuer,
        break_glass,
        max_uses,
        json,
        policy,
        now,
        ledger: ledger_args,
    } = a;
    let lcfg = ledger_args.config();
    // What is known of the request, for a `refused` record.
    let mut req = jit_core::ledger::Refusal {
        user: Some(user.clone()),
        host_groups: host_groups.clone(),
        run_as: run_as.clone(),
        run_as_groups: run_as_groups.clone(),
        shell,
        reason: Some(reason.clone()),
        ticket: ticket.clone(),
        approver: approver.clone(),
        break_glass,
        max_uses,
        ..Default::default()
    };
    let refuse = |req: &jit_core::ledger::Refusal, code: &str, e: anyhow::Error| {
        ledger::refuse(&lcfg, req, code, e)
    };
    let now = now_or(now.as_deref()).map_err(|e| refuse(&req, "bad_time", e))?;
    let sk = hsm.open_signer(key.as_deref())?;
    req.kid = Some(sk.kid().to_string());
    let mut cmds: Vec<Grant> = Vec::new();
    for c in &commands {
        match token::parse_command(c) {
            Ok(g) => cmds.push(g),
            Err(e) => {
                req.grants = cmds;
                return Err(refuse(&req, "bad_command", anyhow!("--command {c:?}: {e}")));
            }
        }
    }
    req.grants = cmds.clone();
    for f in &edits {
        if !f.starts_with('/') {
            return Err(refuse(
                &req,
                "bad_command",
                anyhow!("--edit {f:?}: not an absolute path"),
            ));
        }
        cmds.push(Grant {
            argv: vec!["sudoedit".into(), f.clone()],
            any_args: false,
        });
    }
    req.grants = cmds.clone();
    if cmds.is_empty() && !shell {
        return Err(refuse(
            &req,
            "nothing_granted",
            anyhow!("nothing granted: give at least one --command, --edit or --shell"),
        ));
    }
    check_name("--user", &user).map_err(|e| refuse(&req, "bad_name", e))?;
    for g in &host_groups {
        check_name("--host-group", g).map_err(|e| refuse(&req, "bad_name", e))?;
    }
    let run_as = if run_as.is_empty() {
        vec!["root".to_string()]
    } else {
        run_as
    };
    for u in run_as.iter().chain(&run_as_groups) {
        check_name("--run-as/--run-as-group", u).map_err(|e| refuse(&req, "bad_name", e))?;
    }
    let ttl = humantime::parse_duration(&ttl)
        .map_err(|e| refuse(&req, "bad_ttl", anyhow!("--ttl {ttl:?}: {e}")))?
        .as_secs();
    if !(60..=86_400).contains(&ttl) {
        return Err(refuse(
            &req,
            "ttl_out_of_range",
            anyhow!(
                "--ttl must be between 1 min and 24 h (got {})",
                token::human_duration(ttl)
            ),
        ));
    }
    let nbf = match not_before.as_deref() {
        None => now,
        Some(s) => parse_when(s, now).map_err(|e| refuse(&req, "bad_time", e))?,
    };
    req.nbf = Some(nbf);
    req.exp = Some(nbf.saturating_add(ttl as i64));
    if nbf < now {
        return Err(refuse(
            &req,
            "not_before_past",
            anyhow!(
                "--not-before is {} in the past",
                token::human_duration(now.abs_diff(nbf))
            ),
        ));
    }
    let exp = nbf.saturating_add(ttl as i64);
    if exp <= now {
        return Err(refuse(
            &req,
            "expired",
            anyhow!("the token would expire in the past"),
        ));
    }
    if reason.trim().is_empty() {
        return Err(refuse(
            &req,
            "empty_reason",
            anyhow!("--reason must not be empty"),
        ));
    }
    if max_uses == Some(0) {
        return Err(refuse(
            &req,
            "bad_max_uses",
            anyhow!("--max-uses must be at least 1"),
        ));
    }
    let max_uses = match (break_glass, max_uses) {
        (true, None | Some(1)) => Some(1),
        (true, Some(n)) => {
            return Err(refuse(
                &req,
                "bad_max_uses",
                anyhow!("a break-glass token is single-use: --max-uses {n} is not allowed"),
            ))
        }
        (false, m) => m,
    };
    let mut claims = Claims {
        iss: issuer.unwrap_or_else(|| sk.kid().to_string()),
        sub: user,
        iat: now,
        nbf,
        exp,
        cti: token::random_cti().map_err(|e| io_err(anyhow!(e)))?,
        hosts: host_groups,
        cmds,
        run_as,
        run_as_groups,
        shell,
        reason,
        ticket: ticket.filter(|t| !t.is_empty()),
        approver: approver.filter(|a| !a.is_empty()),
        break_glass,
        max_uses,
    };
    let rule = match approval::check_issue(policy, &mut claims, now) {
        Ok(rule) => rule,
        Err(approval::IssueCheck::Other(f)) => return Err(f),
        Err(approval::IssueCheck::Refused { rule, err }) => {
            req.rule = rule;
            return Err(
                ledger::refuse(&lcfg, &req, "policy", err).with_code_if(2, approval::EXIT_REFUSED)
            );
        }
    };
    let tok = token::issue_b64(&claims, sk.as_ref()).map_err(|e| match e {
        token::IssueError::Sign(_) => Fail {
            code: pkcs11::EXIT_PKCS11,
            err: e.into(),
        },
        _ => refuse(&req, "cannot_issue", e.into()),
    })?;
    // No record, no token: print only once the `issued` record is durable.
    let seq = ledger::issued(
        &lcfg,
        &jit_core::ledger::Issued {
            claims: &claims,
            kid: sk.kid(),
            requester: None,
            rule: rule.as_deref(),
        },
    )?;
    let text = if json {
        let v = serde_json::json!({
            "token": tok,
            "kid": sk.kid(),
            "claims": claims.to_json(),
        });
        format!("{}\n", pretty(&v))
    } else {
        format!("{tok}\n")
    };
    deliver(&text, || undelivered_token(&claims, &lcfg, seq, ""))?;
    Ok(0)
}
