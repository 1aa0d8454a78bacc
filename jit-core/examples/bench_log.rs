//! Build a log of real-sized decision records for tests/bench/verify-bench.sh.
//!
//! bench_log DIR [N]
//!
//! Writes DIR/audit.log (a start record and N-1 allowed decisions, default
//! N = 1,000,000), DIR/log.state and DIR/seal-key.initial with the real
//! writer (`bulk_append`: one state update at the end). Each decision carries
//! what the module records for a token-backed sudo (a 32-hex token id,
//! issuer, key id, reason, ticket, approver, the revocation list version in
//! the message): about 700 bytes a line.

use jit_core::log::{bulk_append, Event, EventKind, LogConfig};
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| die("usage: bench_log DIR [N]")),
    );
    let n: u64 = match args.next() {
        Some(s) => s.parse().unwrap_or_else(|_| die("N: not a number")),
        None => 1_000_000,
    };
    if n < 2 {
        die("N must be at least 2");
    }
    let mut c = LogConfig::new("db-01");
    c.log_path = dir.join("audit.log");
    c.state_path = dir.join("log.state");
    c.seal_key_export = dir.join("seal-key.initial");
    c.syslog = false;
    if c.log_path.exists() {
        die(&format!("{} exists", c.log_path.display()));
    }
    let mut e = Event::new(EventKind::Decision);
    e.user = Some("alice".into());
    e.run_as_user = Some("root".into());
    e.tty = Some("/dev/pts/3".into());
    e.command_path = Some("/usr/bin/systemctl".into());
    e.argv = Some(vec![
        "systemctl".into(),
        "restart".into(),
        "postgresql".into(),
    ]);
    e.token_id = Some("3f2a9c4be10d7785a6e2c0f4d9b81e57".into());
    e.issuer = Some("jit-signer@ops".into());
    e.kid = Some("k2026".into());
    e.token_reason = Some("config change INC-48211".into());
    e.ticket = Some("CHG-0042".into());
    e.approver = Some("carol".into());
    e.allowed = Some(true);
    e.reason_code = Some("token_ok".into());
    e.message = Some("allowed (revocation list version 7)".into());
    e.pid = Some(1_234_567);
    if let Err(err) = bulk_append(&c, &e, n - 1) {
        die(&err.to_string());
    }
    let size = std::fs::metadata(&c.log_path)
        .map(|m| m.len())
        .unwrap_or_else(|err| die(&err.to_string()));
    println!(
        "{n} records, {size} bytes ({} bytes a record) in {}",
        size / n,
        c.log_path.display()
    );
}

fn die(m: &str) -> ! {
    eprintln!("bench_log: {m}");
    std::process::exit(1);
}
