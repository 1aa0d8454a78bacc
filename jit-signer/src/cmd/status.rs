//! `jit-signer status`: the signing service as it sees you, or one request.

use jit_core::service::Call;

use crate::client::ServiceArgs;
use crate::cmd::requests::describe;
use crate::{out, pretty, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    svc: ServiceArgs,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
    /// A request id (yours, or one you may approve).
    id: Option<String>,
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let ans = a.svc.call(&Call::Status { id: a.id.clone() })?;
    if a.json {
        let v = serde_json::json!({ "service": ans.service, "request": ans.request });
        return out(&format!("{}\n", pretty(&v))).map(|()| 0);
    }
    let mut text = String::new();
    if let Some(s) = &ans.service {
        text.push_str(&format!(
            "signing service: you are {}; key {}; {} pending, {} approved awaiting collection\n",
            s.caller, s.kid, s.pending, s.approved
        ));
    }
    if let Some(r) = &ans.request {
        text.push_str(&describe(r));
    }
    out(&text).map(|()| 0)
}
