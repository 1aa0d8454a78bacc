//! `jit-signer approve`: approve a pending request (never one's own). The
//! service issues the token; its requester collects it.

use jit_core::service::Call;

use crate::client::ServiceArgs;
use crate::{out, pretty, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    svc: ServiceArgs,
    /// Print the request as JSON.
    #[arg(long)]
    json: bool,
    /// The request id.
    id: String,
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let ans = a.svc.call(&Call::Approve { id: a.id.clone() })?;
    let text = match (&ans.request, a.json) {
        (Some(r), true) => format!("{}\n", pretty(&serde_json::json!({ "request": r }))),
        (Some(r), false) => format!(
            "approved request {} of {} (rule {}): token {}; {} collects it with: jit-signer fetch {}\n",
            r.id,
            r.requester,
            r.rule.as_deref().unwrap_or("?"),
            r.token_id.as_deref().unwrap_or("?"),
            r.requester,
            r.id
        ),
        (None, _) => format!("approved request {}\n", a.id),
    };
    out(&text).map(|()| 0)
}
