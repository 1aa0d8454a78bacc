//! `xtask decide`: jit-core's full decision for a token and an invocation in
//! the JSON form of docs/vectors/manifest.json (interop tests).

use std::path::PathBuf;

use anyhow::{anyhow, Context as _};
use jit_core::keys::TrustedKeys;
use jit_core::token::{self, VerifyOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Trusted-keys file.
    #[arg(long = "trusted-keys")]
    trusted_keys: PathBuf,
    /// The invocation, as in docs/vectors/manifest.json.
    #[arg(long)]
    invocation: String,
    /// Clock leeway in seconds.
    #[arg(long, default_value_t = 60)]
    leeway: u64,
    /// Pretend the time is this (RFC 3339 or @UNIXSECONDS).
    #[arg(long)]
    now: Option<String>,
    /// The token.
    token: String,
}

/// Print the decision; 0 if allowed, 1 if denied.
pub fn run(a: &Args) -> anyhow::Result<u8> {
    let now = crate::now_or(a.now.as_deref())?;
    let p = &a.trusted_keys;
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    let keys =
        TrustedKeys::parse(&text).with_context(|| format!("trusted-keys file {}", p.display()))?;
    let v: serde_json::Value = serde_json::from_str(&a.invocation).context("--invocation")?;
    let inv = token::vectors::invocation_from_json(&v).map_err(|e| anyhow!("--invocation: {e}"))?;
    let d = token::decide(
        &a.token,
        &keys,
        now,
        &inv,
        &VerifyOptions {
            leeway_secs: a.leeway,
        },
    );
    let v = serde_json::json!({
        "allowed": d.allowed,
        "reason": d.reason.code(),
        "message": d.message,
    });
    println!("{v}");
    Ok(if d.allowed { 0 } else { 1 })
}
