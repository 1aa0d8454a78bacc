//! `jit-signer approve`: approve a pending request (never one's own) and
//! print the token.

use std::path::PathBuf;

use anyhow::anyhow;
use jit_core::policy::Allowed;
use jit_core::token::{self, Claims};
use nix::unistd::getuid;

use crate::approval::{
    bad_request, check_undecided, conclude_request, deciders, identity_of, ledger_refusal,
    load_request, record_refusal, Verdict, Where, EXIT_REFUSED,
};
use crate::key::Pkcs11Args;
use crate::ledger::LedgerArgs;
use crate::{deliver, io_err, now_or, pretty, usage, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    at: Where,
    /// Secret key file (or --pkcs11).
    #[arg(long)]
    key: Option<PathBuf>,
    #[command(flatten)]
    hsm: Pkcs11Args,
    #[command(flatten)]
    ledger: LedgerArgs,
    /// Issuer name. Default: the key id.
    #[arg(long)]
    issuer: Option<String>,
    /// Print claims and token as JSON.
    #[arg(long)]
    json: bool,
    /// Pretend the time is this; for tests.
    #[arg(long, hide = true)]
    now: Option<String>,
    /// The request id printed by `jit-signer request`.
    id: String,
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let now = now_or(a.now.as_deref()).map_err(usage)?;
    let policy = a.at.policy()?;
    let spool = a.at.spool()?;
    let me_uid = getuid();
    let me = identity_of(me_uid)?;
    let lcfg = a.ledger.config();
    let l = load_request(&spool, &a.id)?;
    let base = ledger_refusal(&l.file, None, &me.name);
    // Never one's own request, whatever the policy lists (uid and name).
    if l.owner == me_uid || l.file.requester == me.name {
        return Err(record_refusal(
            &lcfg,
            &base,
            "self_approval",
            EXIT_REFUSED,
            anyhow!("{} cannot approve their own request {}", me.name, l.id),
        ));
    }
    let may_decide = deciders(Some(&policy), &l, now);
    check_undecided(&spool, &l.id, &may_decide)?;
    l.file
        .check_age(now)
        .map_err(|e| bad_request(anyhow!("request {}: {e}", l.id)))?;
    let requester = identity_of(l.owner)?;
    let (req, nbf, exp) = l
        .file
        .to_request(now)
        .map_err(|e| bad_request(anyhow!("request {}: {e}", l.id)))?;
    let allowed: Allowed = policy.check(&requester, &req).map_err(|r| {
        let mut b = base.clone();
        b.rule = r.rule.clone();
        record_refusal(
            &lcfg,
            &b,
            "policy",
            EXIT_REFUSED,
            anyhow!("refused by policy: {r}"),
        )
    })?;
    let mut base = base;
    base.rule = Some(allowed.rule.clone());
    policy
        .check_approver(&allowed.rule, &requester.name, &me)
        .map_err(|r| {
            record_refusal(
                &lcfg,
                &base,
                "not_an_approver",
                EXIT_REFUSED,
                anyhow!("refused: {r}"),
            )
        })?;
    let key = a.hsm.open_signer(a.key.as_deref())?;
    let claims = Claims {
        iss: a.issuer.unwrap_or_else(|| key.kid().to_string()),
        sub: requester.name.clone(),
        iat: now,
        nbf,
        exp,
        cti: token::random_cti().map_err(|e| io_err(anyhow!(e)))?,
        hosts: req.hosts,
        cmds: req.cmds,
        run_as: req.run_as,
        run_as_groups: req.run_as_groups,
        shell: req.shell,
        reason: l.file.reason.clone(),
        ticket: l.file.ticket.clone(),
        approver: Some(me.name.clone()),
        break_glass: false,
        max_uses: allowed.max_uses,
    };
    claims
        .check()
        .map_err(|e| bad_request(anyhow!("request {}: {e}", l.id)))?;
    let kid = key.kid().to_string();
    let tok = conclude_request(
        &spool,
        &l.id,
        now,
        Verdict::Approved {
            approver: me.name.clone(),
            claims: Box::new(claims.clone()),
            key,
        },
        &may_decide,
    )?
    .ok_or_else(|| io_err(anyhow!("no token issued")))?;
    // No record, no token: the token is printed only once its `issued`
    // record (with requester, rule and approver) is durable. If that fails
    // the request stays decided and the requester must ask again.
    let seq = crate::ledger::issued(
        &lcfg,
        &jit_core::ledger::Issued {
            claims: &claims,
            kid: &kid,
            requester: Some(&requester.name),
            rule: Some(&allowed.rule),
        },
    )?;
    let text = if a.json {
        let v = serde_json::json!({
            "token": tok,
            "kid": kid,
            "request": l.id,
            "rule": allowed.rule,
            "claims": claims.to_json(),
        });
        format!("{}\n", pretty(&v))
    } else {
        format!("{tok}\n")
    };
    deliver(&text, || {
        crate::undelivered_token(
            &claims,
            &lcfg,
            seq,
            &format!(
                " and request {} is decided (the requester asks again)",
                l.id
            ),
        )
    })?;
    Ok(0)
}
