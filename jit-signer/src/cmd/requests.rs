//! `jit-signer requests`: list the pending (undecided, unexpired) requests.

use std::fs;

use anyhow::Context as _;
use jit_core::policy::{self, RequestFile};
use jit_core::token;

use crate::approval::{blocked, deciders, find_verdict, load_request, verdict_path, Found, Where};
use crate::{io_err, now_or, out, pretty, usage, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    at: Where,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
    /// Pretend the time is this; for tests.
    #[arg(long, hide = true)]
    now: Option<String>,
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let now = now_or(a.now.as_deref()).map_err(usage)?;
    let spool = a.at.spool()?;
    let policy = a.at.policy_if_given()?;
    let mut ids: Vec<String> = fs::read_dir(&spool)
        .with_context(|| format!("listing spool {}", spool.display()))
        .map_err(io_err)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".req"))
                .filter(|n| policy::is_request_id(n))
                .map(str::to_string)
        })
        .collect();
    ids.sort();
    let mut rows = Vec::new();
    let mut text = String::new();
    for id in ids {
        let has_verdict = fs::symlink_metadata(verdict_path(&spool, &id)).is_ok();
        let l = match load_request(&spool, &id) {
            Ok(l) => l,
            Err(_) if has_verdict => continue,
            Err(f) => {
                eprintln!("jit-signer: skipping {id}: {:#}", f.err);
                continue;
            }
        };
        if has_verdict {
            // Decided requests are not listed; an id whose verdict name
            // someone else occupies is named, so approvers learn of it.
            let may_decide = deciders(policy.as_ref(), &l, now);
            match find_verdict(&spool, &id, &may_decide) {
                Ok(Found::Undecided | Found::Decided(_)) => {}
                Ok(Found::Blocked(why)) => {
                    eprintln!("jit-signer: {:#}", blocked(&spool, &id, &why).err)
                }
                Ok(Found::Unverified(why)) => eprintln!(
                    "jit-signer: request {id} is not listed: {} {why}",
                    verdict_path(&spool, &id).display()
                ),
                // One unreadable verdict must not hide the other requests.
                Err(f) => eprintln!("jit-signer: skipping {id}: {:#}", f.err),
            }
            continue;
        }
        if l.file.check_age(now).is_err() || l.file.validate().is_err() {
            continue;
        }
        let f = &l.file;
        text.push_str(&listing(&id, f));
        rows.push(serde_json::json!({
            "id": id,
            "request": serde_json::to_value(f).unwrap_or_default(),
        }));
    }
    if a.json {
        out(&format!("{}\n", pretty(&serde_json::Value::Array(rows))))?;
    } else {
        out(&text)?;
    }
    Ok(0)
}

/// Everything an approver decides on, one request. The requester wrote the
/// file, so nothing is printed as written: commands are shown as parsed
/// (quoted as `issue --command` reads them back) and a string holding
/// control characters is shown escaped ([`token::printable`]), so that a
/// carriage return or a terminal escape cannot make a listed command look
/// like another. All claims the token
/// would carry are shown, not only the commands.
fn listing(id: &str, f: &RequestFile) -> String {
    let list = |v: &[String]| {
        v.iter()
            .map(|s| token::printable(s))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut t = format!(
        "{id}  {}  hosts={}  ttl={}  reason={:?}\n",
        token::printable(&f.requester),
        list(&f.host_groups),
        token::human_duration(f.ttl),
        f.reason
    );
    for c in &f.commands {
        let shown = match token::parse_command(c) {
            Ok(g) => g.display(),
            Err(_) => format!("{c:?} (invalid)"),
        };
        t.push_str(&format!("    {}\n", token::printable(&shown)));
    }
    if f.shell {
        t.push_str("    (shell)\n");
    }
    let mut extra = vec![format!(
        "run-as={}",
        if f.run_as.is_empty() {
            "root".into()
        } else {
            list(&f.run_as)
        }
    )];
    if !f.run_as_groups.is_empty() {
        extra.push(format!("run-as-group={}", list(&f.run_as_groups)));
    }
    if let Some(nb) = f.not_before {
        extra.push(format!("not-before={}", token::fmt_time(nb)));
    }
    if let Some(n) = f.max_uses {
        extra.push(format!("max-uses={n}"));
    }
    if let Some(tk) = &f.ticket {
        extra.push(format!("ticket={tk:?}"));
    }
    t.push_str(&format!("    {}\n", extra.join("  ")));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_cannot_be_made_to_show_another_command() {
        // The requester writes the spool file: a carriage return (or an
        // escape sequence) in a command once let the line show only its
        // harmless tail on a terminal, and run-as was not shown at all.
        let f = RequestFile {
            v: 1,
            requester: "alice".into(),
            uid: 1000,
            created: 0,
            nonce: "00".repeat(16),
            host_groups: vec!["web".into()],
            commands: vec![
                "/usr/bin/journalctl -u nginx --vacuum-time=1s\r    /usr/bin/journalctl --since=-1h"
                    .into(),
                "/usr/bin/true \u{1b}[2K".into(),
            ],
            shell: false,
            run_as: vec!["systemd-journal".into()],
            run_as_groups: vec!["adm".into()],
            ttl: 600,
            not_before: Some(1_800_000_000),
            reason: "r".into(),
            ticket: Some("T-1".into()),
            max_uses: Some(2),
        };
        let t = listing(&"ab".repeat(16), &f);
        assert!(!t.contains('\r') && !t.contains('\u{1b}'), "{t:?}");
        // Shown as parsed: the carriage return separates words like a space,
        // so the whole argv that would be signed is on one line.
        assert!(
            t.contains("journalctl -u nginx --vacuum-time=1s /usr/bin/journalctl --since=-1h"),
            "{t}"
        );
        assert!(t.contains("\\u{1b}"), "{t}");
        assert!(t.contains("run-as=systemd-journal"), "{t}");
        assert!(t.contains("run-as-group=adm"), "{t}");
        assert!(
            t.contains("max-uses=2") && t.contains("ticket=\"T-1\""),
            "{t}"
        );
        assert!(t.contains("not-before="), "{t}");
    }
}
