//! Append decision records with the real writer (used by tests/ci.d/20-log-*.sh).
//!
//! log_append --log FILE --state FILE --export FILE [--host H] [--syslog SOCKET] [--count N] [--tag T]
//!            [--user U] [--arg A]... [--sudo all-flushed|contract]
//!
//! `--user` names the invoking user (default `ci`), each `--arg` adds an
//! argument after `id` (tests of the syslog mirror use them for hostile
//! names and records too long for a syslog line).
//!
//! With `--sudo`, each of the N rounds writes what one allowed sudo writes (an
//! allowed decision, then its session_close), both flushed (`all-flushed`, as
//! before the durability contract) or the decision flushed and the
//! session_close only written (`contract`, docs/log-format.md "Durability"),
//! and prints the median and quartiles of a round in microseconds.

use jit_core::log::{append, append_with, Durability, Event, EventKind, LogConfig};
use std::path::PathBuf;

fn main() {
    let mut c = LogConfig::new("ci-host");
    c.syslog = false;
    let mut count = 1u64;
    let mut tag = String::from("ci");
    let mut user = String::from("ci");
    let mut extra: Vec<String> = Vec::new();
    let mut sudo: Option<Durability> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut v = || {
            args.next()
                .unwrap_or_else(|| die(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--log" => c.log_path = PathBuf::from(v()),
            "--state" => c.state_path = PathBuf::from(v()),
            "--export" => c.seal_key_export = PathBuf::from(v()),
            "--host" => c.host = v(),
            "--syslog" => {
                c.syslog = true;
                c.syslog_socket = PathBuf::from(v());
            }
            "--count" => count = v().parse().unwrap_or_else(|_| die("bad --count")),
            "--tag" => tag = v(),
            "--user" => user = v(),
            "--arg" => extra.push(v()),
            "--sudo" => {
                sudo = Some(match v().as_str() {
                    "all-flushed" => Durability::Flushed,
                    "contract" => Durability::Written,
                    _ => die("--sudo takes all-flushed or contract"),
                })
            }
            _ => die(&format!("unknown argument {a}")),
        }
    }
    if let Some(close) = sudo {
        return rounds(&c, count, close);
    }
    for i in 0..count {
        let mut e = Event::new(EventKind::Decision);
        e.user = Some(user.clone());
        e.run_as_user = Some("root".into());
        e.command_path = Some("/usr/bin/id".into());
        e.argv = Some(
            std::iter::once("id".to_string())
                .chain(extra.iter().cloned())
                .collect(),
        );
        e.allowed = Some(i % 5 != 0);
        e.reason_code = Some(if i % 5 != 0 { "token_ok" } else { "no_token" }.into());
        e.message = Some(format!("{tag}-{i}"));
        e.pid = Some(std::process::id());
        match append(&c, &e) {
            Ok(a) => {
                if let Some(m) = a.mirror_error {
                    die(&m);
                }
            }
            Err(e) => die(&e.to_string()),
        }
    }
}

fn rounds(c: &LogConfig, count: u64, close: Durability) {
    let mut e = Event::new(EventKind::Decision);
    e.user = Some("ci".into());
    e.run_as_user = Some("root".into());
    e.command_path = Some("/usr/bin/true".into());
    e.argv = Some(vec!["true".into()]);
    e.allowed = Some(true);
    e.reason_code = Some("token_ok".into());
    e.pid = Some(std::process::id());
    let mut s = e.clone();
    s.kind = EventKind::SessionClose;
    s.session_secs = Some(0.001);
    let mut t: Vec<f64> = (0..count)
        .map(|_| {
            let t0 = std::time::Instant::now();
            append_with(c, &e, Durability::Flushed).unwrap_or_else(|e| die(&e.to_string()));
            append_with(c, &s, close).unwrap_or_else(|e| die(&e.to_string()));
            t0.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(f64::total_cmp);
    let q = |f: f64| t[((t.len() - 1) as f64 * f) as usize];
    println!(
        "{count} sudos: median {:.0} us (quartiles {:.0}-{:.0})",
        q(0.5),
        q(0.25),
        q(0.75)
    );
}

fn die(m: &str) -> ! {
    eprintln!("log_append: {m}");
    std::process::exit(1);
}
