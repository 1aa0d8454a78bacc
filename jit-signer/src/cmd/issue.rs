//! `jit-signer issue`: sign a token, record it in the issuance ledger, print it.

use std::path::PathBuf;

use anyhow::anyhow;
use jit_core::token::{self, Claims};

use crate::grant::GrantArgs;
use crate::key::Pkcs11Args;
use crate::{
    approval, check_name, deliver, io_err, ledger, now_or, pkcs11, pretty, undelivered_token, Fail,
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
    #[command(flatten)]
    grant: GrantArgs,
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
        grant,
        approver,
        issuer,
        break_glass,
        json,
        policy,
        now,
        ledger: ledger_args,
    } = a;
    let lcfg = ledger_args.config();
    // What is known of the request, for a `refused` record.
    let mut req = jit_core::ledger::Refusal {
        user: Some(user.clone()),
        host_groups: grant.host_groups.clone(),
        run_as: grant.run_as.clone(),
        run_as_groups: grant.run_as_groups.clone(),
        shell: grant.shell,
        reason: Some(grant.reason.clone()),
        ticket: grant.ticket.clone(),
        approver: approver.clone(),
        break_glass,
        max_uses: grant.max_uses,
        ..Default::default()
    };
    let refuse = |req: &jit_core::ledger::Refusal, code: &str, e: anyhow::Error| {
        ledger::refuse(&lcfg, req, code, e)
    };
    let now = now_or(now.as_deref()).map_err(|e| refuse(&req, "bad_time", e))?;
    let sk = hsm.open_signer(key.as_deref())?;
    req.kid = Some(sk.kid().to_string());
    check_name("--user", &user).map_err(|e| refuse(&req, "bad_name", e))?;
    let checked = grant.check(now).map_err(|r| {
        req.grants = r.cmds;
        refuse(&req, r.code, r.err)
    })?;
    req.grants = checked.cmds.clone();
    // Issued now: the validity starts now unless --not-before says later.
    let nbf = checked.not_before.unwrap_or(now);
    let exp = nbf.saturating_add(checked.ttl as i64);
    req.nbf = Some(nbf);
    req.exp = Some(exp);
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
    if exp <= now {
        return Err(refuse(
            &req,
            "expired",
            anyhow!("the token would expire in the past"),
        ));
    }
    let max_uses = match (break_glass, grant.max_uses) {
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
        hosts: grant.host_groups,
        cmds: checked.cmds,
        run_as: checked.run_as,
        run_as_groups: grant.run_as_groups,
        shell: grant.shell,
        reason: grant.reason,
        ticket: grant.ticket.filter(|t| !t.is_empty()),
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
            requested: None,
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
