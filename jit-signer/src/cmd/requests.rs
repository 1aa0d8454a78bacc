//! `jit-signer requests`: the pending requests you may approve.

use jit_core::service::{Call, RequestInfo};

use crate::client::ServiceArgs;
use crate::{out, pretty, relative, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    svc: ServiceArgs,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

/// A request as text: id, state, requester, what, why.
pub(crate) fn describe(r: &RequestInfo) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let a = &r.ask;
    let mut what: Vec<String> = a
        .commands
        .iter()
        .map(|c| jit_core::text::printable(c).into_owned())
        .collect();
    if a.shell {
        what.push("a shell".into());
    }
    let state = serde_json::to_value(r.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut s = format!(
        "{} {} by {} (rule {}), made {}, expires {}\n  on {} as {}: {}\n  for {}: {}{}\n",
        r.id,
        state,
        r.requester,
        r.rule.as_deref().unwrap_or("?"),
        relative(r.created, now),
        relative(r.expires, now),
        a.host_groups.join(","),
        if a.run_as.is_empty() {
            "-".into()
        } else {
            a.run_as.join(",")
        },
        what.join("; "),
        jit_core::token::human_duration(a.ttl),
        jit_core::text::printable(&a.reason),
        a.ticket
            .as_deref()
            .map(|t| format!(" [{}]", jit_core::text::printable(t)))
            .unwrap_or_default(),
    );
    if let Some(t) = a.not_before {
        // A later start is part of what is approved (the window of the
        // token and of the certificate).
        s.push_str(&format!(
            "  starting {} ({})\n",
            jit_core::token::fmt_time(t),
            relative(t, now)
        ));
    }
    if let Some(k) = &a.ssh {
        // The requester wrote all of it: shown escaped, as the commands.
        let key = match jit_core::ssh_cert::describe_key(&k.key) {
            Ok((alg, fp)) => format!("{alg} {fp}"),
            Err(e) => format!("(unusable key: {e})"),
        };
        let p = |v: &str| jit_core::text::printable(v).into_owned();
        let logins = match &k.logins {
            Some(l) => l.iter().map(|x| p(x)).collect::<Vec<_>>().join(","),
            None => format!("{} (own)", p(&r.requester)),
        };
        let ext = match &k.extensions {
            None => "default".to_string(),
            Some(e) if e.is_empty() => "none".to_string(),
            Some(e) => e.iter().map(|x| p(x)).collect::<Vec<_>>().join(","),
        };
        s.push_str(&format!(
            "  SSH certificate for {key}, logins {logins}, extensions {ext}"
        ));
        if let Some(c) = &k.force_command {
            s.push_str(&format!(", force-command {}", p(c)));
        }
        if let Some(c) = &k.source_address {
            s.push_str(&format!(", source-address {}", p(c)));
        }
        s.push('\n');
    }
    if let Some(by) = &r.decided_by {
        s.push_str(&format!("  decided by {by}"));
        if let Some(why) = &r.reason {
            s.push_str(&format!(": {}", jit_core::text::printable(why)));
        }
        s.push('\n');
    }
    s
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let ans = a.svc.call(&Call::Requests)?;
    let list = ans.requests.unwrap_or_default();
    if a.json {
        return out(&format!(
            "{}\n",
            pretty(&serde_json::json!({ "requests": list }))
        ))
        .map(|()| 0);
    }
    let text: String = list.iter().map(describe).collect();
    if text.is_empty() {
        return out("no pending requests you may approve\n").map(|()| 0);
    }
    out(&text).map(|()| 0)
}
