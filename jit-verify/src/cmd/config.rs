//! `jit-verify config`: would pam_jit accept this host's configuration and keys?

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {
    /// The configuration file.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/security/pam_jit.conf"
    )]
    config: PathBuf,
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<i32> {
    let Args { config, json } = a;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let res = jit_core::config::check_host(&config, now);
    let mut out = std::io::stdout().lock();
    if json {
        let v = match &res {
            Ok(c) => serde_json::json!({
                "json_version": crate::JSON_VERSION,
                "ok": true, "config": config, "host_groups": c.host_groups,
                "trusted_keys": c.trusted_keys, "kids": c.kids, "usable_now": c.usable_now,
            }),
            Err(e) => {
                serde_json::json!({"json_version": crate::JSON_VERSION, "ok": false, "config": config, "error": e})
            }
        };
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
    }
    match res {
        Ok(c) => {
            if !json {
                writeln!(
                    out,
                    "ok: {} (host groups {}; {} trusted key(s) in {}, usable now: {})",
                    config.display(),
                    c.host_groups.join(", "),
                    c.kids.len(),
                    c.trusted_keys.display(),
                    c.usable_now.join(", ")
                )?;
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("jit-verify: pam_jit would refuse {}: {e}", config.display());
            Ok(1)
        }
    }
}
