//! Audit log speed (docs/log-format.md):
//! - append with fdatasync: median at a 1,000,000-record log vs at a 10-record log (target <= 1.2x);
//! - `verify` with the seal key on 1,000,000 records: records/s (target >= 1,000,000/s) and the
//!   ratio to a bare BLAKE3 chain over the same bytes (target <= 3x).
//!
//! JIT_BENCH_RECORDS overrides the big log size (default 1,000,000).

use criterion::{criterion_group, criterion_main, Criterion};
use jit_core::log::verify::{self, Options, SealKey};
use jit_core::log::{append, bulk_append, Event, EventKind, LogConfig};
use std::io::BufRead;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn cfg(dir: &Path) -> LogConfig {
    let mut c = LogConfig::new("bench-host");
    c.log_path = dir.join("audit.log");
    c.state_path = dir.join("log.state");
    c.seal_key_export = dir.join("seal-key.initial");
    c.syslog = false;
    c
}

fn ev() -> Event {
    let mut e = Event::new(EventKind::Decision);
    e.user = Some("alice".into());
    e.run_as_user = Some("root".into());
    e.tty = Some("/dev/pts/1".into());
    e.command_path = Some("/usr/bin/systemctl".into());
    e.argv = Some(vec!["systemctl".into(), "restart".into(), "nginx".into()]);
    e.token_id = Some("tok-7f3a9c".into());
    e.issuer = Some("jit-signer@ops".into());
    e.kid = Some("k2026".into());
    e.token_reason = Some("deploy hotfix".into());
    e.ticket = Some("OPS-1234".into());
    e.allowed = Some(true);
    e.reason_code = Some("token_ok".into());
    e.pid = Some(12345);
    e
}

fn big_n() -> u64 {
    std::env::var("JIT_BENCH_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

static SMALL: Mutex<Vec<Duration>> = Mutex::new(Vec::new());
static BIG: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

fn bench_append(c: &mut Criterion) {
    let small_dir = tempfile::tempdir_in(".").unwrap();
    let big_dir = tempfile::tempdir_in(".").unwrap();
    let small = cfg(small_dir.path());
    let big = cfg(big_dir.path());
    bulk_append(&small, &ev(), 9).unwrap();
    let t = Instant::now();
    bulk_append(&big, &ev(), big_n() - 1).unwrap();
    eprintln!(
        "built a {}-record log ({} MB) in {:.1?}",
        big_n(),
        std::fs::metadata(&big.log_path).unwrap().len() >> 20,
        t.elapsed()
    );
    // Flush the bulk build's dirty pages so they do not slow the first measurements.
    nix::unistd::sync();
    let e = ev();
    // Settle the file system after the bulk build before criterion measures.
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_secs(3) {
        append(&small, &e).unwrap();
        append(&big, &e).unwrap();
    }
    let mut g = c.benchmark_group("append_fdatasync");
    for (name, cf, store) in [("10_records", &small, &SMALL), ("1M_records", &big, &BIG)] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut s = store.lock().unwrap();
                for _ in 0..iters {
                    let t = Instant::now();
                    append(cf, &e).unwrap();
                    let d = t.elapsed();
                    s.push(d);
                    total += d;
                }
                total
            })
        });
    }
    g.finish();
    if SMALL.lock().unwrap().is_empty() || BIG.lock().unwrap().is_empty() {
        return; // filtered out
    }
    let ms = median(&mut SMALL.lock().unwrap());
    let mb = median(&mut BIG.lock().unwrap());
    println!(
        "append median (criterion groups, run one after the other): {}-record log {:.1?}, 10-record log {:.1?}",
        big_n(),
        mb,
        ms
    );
    // The ratio from interleaved appends (small, big, small, big, ...) so disk and
    // machine load drift hit both equally. The small log is recreated so it stays small.
    let fresh = tempfile::tempdir_in(".").unwrap();
    let small = cfg(fresh.path());
    bulk_append(&small, &ev(), 9).unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..400 {
        let t = Instant::now();
        append(&small, &e).unwrap();
        a.push(t.elapsed());
        let t = Instant::now();
        append(&big, &e).unwrap();
        b.push(t.elapsed());
    }
    let (ms, mb) = (median(&mut a), median(&mut b));
    println!(
        "RATIO append median (400 interleaved pairs): {}-record log {:.1?} / small log (10 to 410 records) {:.1?} = {:.3}x (target <= 1.2x)",
        big_n(),
        mb,
        ms,
        mb.as_secs_f64() / ms.as_secs_f64()
    );
}

/// A bare BLAKE3 chain over the same lines: h_i = BLAKE3(h_{i-1} || line_i).
fn bare_chain(p: &Path) -> (u64, [u8; 32]) {
    let f = std::fs::File::open(p).unwrap();
    let mut r = std::io::BufReader::with_capacity(1 << 20, f);
    let mut h = [0u8; 32];
    let mut buf = Vec::with_capacity(4096);
    let mut n = 0;
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf).unwrap() == 0 {
            break;
        }
        let mut x = blake3::Hasher::new();
        x.update(&h);
        x.update(&buf);
        h = *x.finalize().as_bytes();
        n += 1;
    }
    (n, h)
}

fn bench_verify(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(".").unwrap();
    let cf = cfg(dir.path());
    bulk_append(&cf, &ev(), big_n() - 1).unwrap();
    let files = vec![cf.log_path.clone()];
    let opts = || Options {
        seal_key: Some(SealKey::read(&cf.seal_key_export).unwrap()),
        ..Default::default()
    };
    let mut g = c.benchmark_group("verify_1M");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    let mut tv = Vec::new();
    let mut tb = Vec::new();
    g.bench_function("jit_verify_with_seal_key", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let o = opts();
                let t = Instant::now();
                let r = verify::verify_files(&files, &o).unwrap();
                let d = t.elapsed();
                assert_eq!(r.exit_code, 0);
                assert_eq!(r.records, big_n());
                tv.push(d);
                total += d;
            }
            total
        })
    });
    g.bench_function("bare_blake3_chain", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let (n, _) = bare_chain(&cf.log_path);
                let d = t.elapsed();
                assert_eq!(n, big_n());
                tb.push(d);
                total += d;
            }
            total
        })
    });
    g.finish();
    if tv.is_empty() || tb.is_empty() {
        return; // filtered out
    }
    let v = median(&mut tv);
    let b = median(&mut tb);
    println!(
        "RATIO verify {} records with seal key: median {:.2?} = {:.0} records/s (target >= 1,000,000/s); bare BLAKE3 chain {:.2?}; ratio {:.2}x (target <= 3x)",
        big_n(),
        v,
        big_n() as f64 / v.as_secs_f64(),
        b,
        v.as_secs_f64() / b.as_secs_f64()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = bench_append, bench_verify
}
criterion_main!(benches);
