//! `jit-signer reject`: reject a pending request (an approver of its rule),
//! or withdraw one's own.

use jit_core::service::Call;

use crate::client::ServiceArgs;
use crate::{out, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    svc: ServiceArgs,
    /// Why (shown to the requester, recorded in the ledger).
    #[arg(long)]
    reason: String,
    /// The request id.
    id: String,
}

pub fn run(a: Args) -> Result<u8, Fail> {
    a.svc.call(&Call::Reject {
        id: a.id.clone(),
        reason: a.reason,
    })?;
    out(&format!("rejected request {}\n", a.id)).map(|()| 0)
}
