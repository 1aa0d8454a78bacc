//! Profiling helper: build a log of N records (arg 1) in DIR (arg 2) and verify it with the seal key.
use jit_core::log::verify::{self, Options, SealKey};
use jit_core::log::{bulk_append, Event, EventKind, LogConfig};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let dir = PathBuf::from(
        std::env::args()
            .nth(2)
            .unwrap_or_else(|| "/tmp/jit-prof".into()),
    );
    let mut c = LogConfig::new("bench-host");
    c.log_path = dir.join("audit.log");
    c.state_path = dir.join("log.state");
    c.seal_key_export = dir.join("seal-key.initial");
    c.syslog = false;
    if !c.log_path.exists() {
        let mut e = Event::new(EventKind::Decision);
        e.user = Some("alice".into());
        e.command_path = Some("/usr/bin/systemctl".into());
        e.argv = Some(vec!["systemctl".into(), "restart".into(), "nginx".into()]);
        e.allowed = Some(true);
        bulk_append(&c, &e, n - 1).expect("build");
    }
    for _ in 0..3 {
        let o = Options {
            seal_key: Some(SealKey::read(&c.seal_key_export).expect("key")),
            ..Default::default()
        };
        let t = Instant::now();
        let r = verify::verify_files(&[c.log_path.clone()], &o).expect("verify");
        println!(
            "{} records in {:?} ({:.0}/s), exit {}",
            r.records,
            t.elapsed(),
            r.records as f64 / t.elapsed().as_secs_f64(),
            r.exit_code
        );
    }
}
