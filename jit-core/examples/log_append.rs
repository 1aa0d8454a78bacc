//! Append decision records with the real writer (used by tests/ci.d/20-log-*.sh).
//!
//! log_append --log FILE --state FILE --export FILE [--host H] [--syslog SOCKET] [--count N] [--tag T]

use jit_core::log::{append, Event, EventKind, LogConfig};
use std::path::PathBuf;

fn main() {
    let mut c = LogConfig::new("ci-host");
    c.syslog = false;
    let mut count = 1u64;
    let mut tag = String::from("ci");
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
            _ => die(&format!("unknown argument {a}")),
        }
    }
    for i in 0..count {
        let mut e = Event::new(EventKind::Decision);
        e.user = Some("ci".into());
        e.run_as_user = Some("root".into());
        e.command_path = Some("/usr/bin/id".into());
        e.argv = Some(vec!["id".into()]);
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

fn die(m: &str) -> ! {
    eprintln!("log_append: {m}");
    std::process::exit(1);
}
