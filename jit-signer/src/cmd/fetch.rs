//! `jit-signer fetch`: collect the token of one's approved request (once).

use jit_core::service::{Call, MAX_WAIT_SECS};

use crate::client::ServiceArgs;
use crate::{deliver, pretty, usage, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    svc: ServiceArgs,
    /// Wait for the decision, up to DURATION (default 15m when given without a value).
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "15m", require_equals = true)]
    wait: Option<String>,
    /// Print the request and the token as JSON.
    #[arg(long)]
    json: bool,
    /// The request id printed by `jit-signer request`.
    id: String,
}

/// Seconds of `--wait[=DURATION]`.
pub(crate) fn wait_secs(w: Option<&str>) -> Result<u64, Fail> {
    let Some(w) = w else { return Ok(0) };
    humantime::parse_duration(w)
        .map(|d| d.as_secs())
        .map_err(|e| usage(anyhow::anyhow!("--wait={w}: {e}")))
}

/// Collect the token of request `id`, waiting up to `wait` seconds (in
/// calls of at most the protocol's longest wait).
pub(crate) fn collect(
    svc: &ServiceArgs,
    id: &str,
    wait: u64,
) -> Result<jit_core::service::Answer, Fail> {
    let mut left = wait;
    loop {
        let chunk = left.min(MAX_WAIT_SECS);
        match svc.call(&Call::Fetch {
            id: id.to_string(),
            wait: chunk,
        }) {
            Err(f)
                if f.code == jit_core::service::ErrorCode::Pending.exit_code() && left > chunk =>
            {
                left -= chunk;
            }
            r => return r,
        }
    }
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let wait = wait_secs(a.wait.as_deref())?;
    let ans = collect(&a.svc, &a.id, wait)?;
    let token = ans.token.clone().unwrap_or_default();
    let text = if a.json {
        let v = serde_json::json!({ "request": ans.request, "token": token });
        format!("{}\n", pretty(&v))
    } else {
        format!("{token}\n")
    };
    let tid = ans
        .request
        .as_ref()
        .and_then(|r| r.token_id.clone())
        .unwrap_or_default();
    deliver(&text, || {
        format!(
            "the token {tid} of request {} was handed over by the service but not delivered \
             here; it is handed over once: revoke it (jit-signer revoke --token-id {tid} ...) \
             and ask again",
            a.id
        )
    })?;
    Ok(0)
}
