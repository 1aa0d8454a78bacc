//! `jit-signer reject`: reject a pending request (an approver of the
//! request's rule), or withdraw one's own.

use anyhow::anyhow;
use nix::unistd::getuid;

use crate::approval::{
    bad_request, check_undecided, conclude_request, deciders, identity_of, ledger_refusal,
    load_request, record_refusal, refused, Verdict, Where,
};
use crate::ledger::LedgerArgs;
use crate::{now_or, out, usage, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    at: Where,
    #[command(flatten)]
    ledger: LedgerArgs,
    /// Pretend the time is this; for tests.
    #[arg(long, hide = true)]
    now: Option<String>,
    /// The request id.
    id: String,
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let now = now_or(a.now.as_deref()).map_err(usage)?;
    let policy = a.at.policy()?;
    let spool = a.at.spool()?;
    let me_uid = getuid();
    let me = identity_of(me_uid)?;
    let l = load_request(&spool, &a.id)?;
    let may_decide = deciders(Some(&policy), &l, now);
    check_undecided(&spool, &l.id, &may_decide)?;
    if l.owner != me_uid {
        let requester = identity_of(l.owner)?;
        let (req, _, _) = l
            .file
            .to_request(now)
            .map_err(|e| bad_request(anyhow!("request {}: {e}", l.id)))?;
        // Only an approver of the covering rule may reject someone else's request.
        let rule = match policy.check(&requester, &req) {
            Ok(a) => a.rule,
            Err(r) => r.rule.unwrap_or_default(),
        };
        policy
            .check_approver(&rule, &requester.name, &me)
            .map_err(|r| refused(anyhow!("refused: {r}")))?;
    }
    conclude_request(
        &spool,
        &l.id,
        now,
        Verdict::Rejected {
            by: me.name.clone(),
        },
        &may_decide,
    )?;
    // A rejection by an approver is a refusal the ledger records (a
    // requester withdrawing their own request is not: nothing was decided
    // by the signer, and the requester cannot write the signer's ledger).
    if l.owner != me_uid {
        let rule = policy
            .check(
                &identity_of(l.owner)?,
                &l.file
                    .to_request(now)
                    .map_err(|e| bad_request(anyhow!("request {}: {e}", l.id)))?
                    .0,
            )
            .map(|a| a.rule)
            .ok();
        let f = record_refusal(
            &a.ledger.config(),
            &ledger_refusal(&l.file, rule, &me.name),
            "rejected",
            0,
            anyhow!("request {} rejected by {}", l.id, me.name),
        );
        if f.code != 0 {
            return Err(f);
        }
    }
    out(&format!("request {} rejected by {}\n", l.id, me.name))?;
    Ok(0)
}
