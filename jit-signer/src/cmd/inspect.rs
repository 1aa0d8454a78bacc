//! `jit-signer inspect`: decode a token and, with trusted keys, verify it.

use std::io::{self, Read as _};
use std::path::PathBuf;

use anyhow::Context as _;
use jit_core::keys::TrustedKeys;
use jit_core::token::{self, Decoded, Rejection, VerifyOptions};

use crate::key::read_trusted_keys;
use crate::{io_err, now_or, out, pretty, relative, usage, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Trusted-keys file to verify against.
    #[arg(long = "trusted-keys")]
    trusted_keys: Option<PathBuf>,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
    /// Clock leeway in seconds.
    #[arg(long, default_value_t = 60)]
    leeway: u64,
    /// Pretend the time is this (RFC 3339 or @UNIXSECONDS).
    #[arg(long)]
    now: Option<String>,
    /// The token, or - to read it from stdin.
    token: String,
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let Args {
        trusted_keys,
        json,
        leeway,
        now,
        token: t,
    } = a;
    let now = now_or(now.as_deref()).map_err(usage)?;
    let text = if t == "-" {
        // A token is at most ~11 KB of text; read a little more so
        // oversized input is still reported as oversized.
        let mut s = String::new();
        io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut s)
            .context("reading the token from stdin")
            .map_err(io_err)?;
        s.trim_end_matches(['\n', '\r']).to_string()
    } else {
        t
    };
    let keys = match &trusted_keys {
        None => None,
        Some(p) => Some(read_trusted_keys(p)?),
    };
    inspect(&text, keys.as_ref(), now, leeway, json)
}

fn inspect(
    text: &str,
    keys: Option<&TrustedKeys>,
    now: i64,
    leeway: u64,
    json: bool,
) -> Result<u8, Fail> {
    let decoded: Result<Decoded, Rejection> =
        token::decode_b64(text).and_then(|b| token::decode(&b));
    let verdict: Option<Result<(), Rejection>> = match (&decoded, keys) {
        (Ok(d), Some(k)) => Some(token::verify_decoded(
            d,
            k,
            now,
            &VerifyOptions {
                leeway_secs: leeway,
            },
        )),
        (Err(e), _) => Some(Err(e.clone())),
        (Ok(_), None) => None,
    };
    let rejected = matches!(verdict, Some(Err(_)));
    if json {
        let mut v = serde_json::json!({
            "verified": keys.is_some() && !rejected,
            "decoded": decoded.is_ok(),
            "reason": match &verdict { Some(Err(r)) => r.reason.code(), _ => "ok" },
            "message": match &verdict {
                Some(Err(r)) => r.message.clone(),
                Some(Ok(())) => "token is valid".to_string(),
                None => "decoded only; give --trusted-keys to verify".to_string(),
            },
        });
        if let Ok(d) = &decoded {
            v["kid"] = d.kid_str().into();
            v["alg"] = d.alg.into();
            v["typ"] = d.typ.clone().into();
            v["claims"] = d.claims.to_json();
        }
        out(&format!("{}\n", pretty(&v)))?;
    } else {
        let mut s = String::new();
        match &verdict {
            Some(Err(r)) => s.push_str(&format!("REJECTED: {} ({})\n", r.message, r.reason.code())),
            Some(Ok(())) => s.push_str("valid: signature, key, type and time verified\n"),
            None => s.push_str("NOT VERIFIED (no --trusted-keys given); decoded:\n"),
        }
        if let Ok(d) = &decoded {
            let c = &d.claims;
            let list = |v: &[String]| {
                if v.is_empty() {
                    "(none)".to_string()
                } else {
                    v.join(", ")
                }
            };
            s.push_str(&format!("kid:        {}\n", d.kid_str()));
            s.push_str(&format!("alg:        {}\n", d.alg));
            s.push_str(&format!("token id:   {}\n", token::hex(&c.cti)));
            s.push_str(&format!("issuer:     {}\n", c.iss));
            s.push_str(&format!("user:       {}\n", c.sub));
            s.push_str(&format!("issued:     {}\n", token::fmt_time(c.iat)));
            s.push_str(&format!(
                "not before: {} ({})\n",
                token::fmt_time(c.nbf),
                relative(c.nbf, now)
            ));
            s.push_str(&format!(
                "expires:    {} ({})\n",
                token::fmt_time(c.exp),
                relative(c.exp, now)
            ));
            s.push_str(&format!("host groups: {}\n", list(&c.hosts)));
            s.push_str(&format!("run as:     {}\n", list(&c.run_as)));
            if !c.run_as_groups.is_empty() {
                s.push_str(&format!("run as groups: {}\n", list(&c.run_as_groups)));
            }
            s.push_str(&format!(
                "shell:      {}\n",
                if c.shell { "yes" } else { "no" }
            ));
            s.push_str("commands:\n");
            if c.cmds.is_empty() {
                s.push_str("  (none)\n");
            }
            for g in &c.cmds {
                s.push_str(&format!("  {}\n", g.display()));
            }
            s.push_str(&format!("reason:     {}\n", c.reason));
            if let Some(t) = &c.ticket {
                s.push_str(&format!("ticket:     {t}\n"));
            }
            if let Some(a) = &c.approver {
                s.push_str(&format!("approver:   {a}\n"));
            }
            if c.break_glass {
                s.push_str("break-glass: yes\n");
            }
            if let Some(m) = c.max_uses {
                s.push_str(&format!("max uses:   {m}\n"));
            }
        }
        out(&s)?;
    }
    Ok(if rejected { 1 } else { 0 })
}
