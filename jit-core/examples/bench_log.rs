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

use jit_core::log::{bulk_append, LogConfig};
use std::path::PathBuf;

#[path = "common/mod.rs"]
mod common;

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
    let e = common::decision();
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
