//! Build a collector tree of real-sized records for measuring `jit-verify fleet`.
//!
//! bench_fleet DIR [HOSTS] [RECORDS]
//!
//! For each of HOSTS hosts (default 1,000), writes a log of RECORDS records
//! (default 10,000: a start record and allowed decisions of about 700 bytes,
//! as bench_log) with the real writer (`bulk_append`) in DIR/hosts/HOST/, and
//! the collector's file DIR/fleet/HOST/LOGID.log holding each record's mirror
//! line (the writer's own message after the prefix rsyslog writes). The host
//! log is removed once mirrored unless `JIT_BENCH_KEEP_HOSTS` is set; the seal
//! key stays in DIR/hosts/HOST/seal-key.initial.

use jit_core::log::record;
use jit_core::log::syslog::{full_message, Mirror};
use jit_core::log::{bulk_append, Event, EventKind, LogConfig};
use std::io::Write as _;
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| die("usage: bench_fleet DIR [HOSTS] [RECORDS]")),
    );
    let num = |a: Option<String>, d: u64| {
        a.map_or(d, |s| s.parse().unwrap_or_else(|_| die("not a number")))
    };
    let hosts = num(args.next(), 1000);
    let n = num(args.next(), 10_000).max(2);
    let keep = std::env::var_os("JIT_BENCH_KEEP_HOSTS").is_some();
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
    let mut bytes = 0u64;
    for h in 0..hosts {
        let host = format!("host-{h:04}");
        let hd = dir.join("hosts").join(&host);
        std::fs::create_dir_all(&hd).unwrap_or_else(|err| die(&err.to_string()));
        let mut c = LogConfig::new(host.as_str());
        c.log_path = hd.join("audit.log");
        c.state_path = hd.join("log.state");
        c.seal_key_export = hd.join("seal-key.initial");
        c.syslog = false;
        if let Err(err) = bulk_append(&c, &e, n - 1) {
            die(&err.to_string());
        }
        let log = std::fs::read(&c.log_path).unwrap_or_else(|err| die(&err.to_string()));
        let first = record::parse(log.split_inclusive(|&b| b == b'\n').next().unwrap_or(b""))
            .unwrap_or_else(|err| die(&err.to_string()));
        let id = first
            .log_id
            .as_deref()
            .unwrap_or_else(|| die("no log id"))
            .to_string();
        let fd = dir.join("fleet").join(&host);
        std::fs::create_dir_all(&fd).unwrap_or_else(|err| die(&err.to_string()));
        let f = std::fs::File::create(fd.join(format!("{id}.log")))
            .unwrap_or_else(|err| die(&err.to_string()));
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        for line in log.split_inclusive(|&b| b == b'\n') {
            let fr = record::frame(line).unwrap_or_else(|| die("not a record"));
            let hdr = record::header(fr.body).unwrap_or_else(|| die("not a record"));
            let m = full_message(&Mirror {
                log_id: &id,
                seq: hdr.seq,
                hash: &fr.hash,
                kind: hdr.kind,
                alert: None,
                record: Some(line),
            });
            let l = format!("2026-12-06T18:00:00+00:00 {host} jit-log[4242]: {m}\n");
            bytes += l.len() as u64;
            w.write_all(l.as_bytes())
                .unwrap_or_else(|err| die(&err.to_string()));
        }
        w.flush().unwrap_or_else(|err| die(&err.to_string()));
        if !keep {
            let _ = std::fs::remove_file(&c.log_path);
        }
    }
    println!(
        "{hosts} hosts x {n} records, {bytes} bytes of mirror lines in {}",
        dir.join("fleet").display()
    );
}

fn die(m: &str) -> ! {
    eprintln!("bench_fleet: {m}");
    std::process::exit(1);
}
