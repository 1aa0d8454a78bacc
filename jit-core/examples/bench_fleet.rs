//! Build a synthetic fleet for tests/bench/fleet-bench.sh, and time its
//! baseline: a bare BLAKE3 hash of every line.
//!
//! bench_fleet gen DIR HOSTS RECORDS
//!     For each of HOSTS hosts (`host-0000`, ...) write a log of RECORDS
//!     records with the real writer (a start record, then allowed decisions
//!     of about 700 bytes, as bench_log writes), then turn it into the
//!     collector's copy: DIR/central/<host>/<log_id>.log, one line per
//!     record exactly as the shipped collector configuration writes it
//!     (`TIME HOST jit-log[PID]: ` and the mirror message with the record
//!     whole). The host's initial seal key goes to DIR/keys/<host>.seal-key;
//!     the host's own log is removed.
//!
//! bench_fleet hash DIR
//!     Hash every line of every file under DIR/central once with BLAKE3
//!     (one `blake3::hash` per line, the same crate the verifier uses), on as
//!     many threads as the machine has, each thread taking whole files.
//!     Prints the line count and a digest of the hashes (so the work cannot
//!     be skipped). This is the floor the verifier is compared with.

use jit_core::log::record;
use jit_core::log::syslog::{full_message, Mirror};
use jit_core::log::{bulk_append, LogConfig};
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

#[path = "common/mod.rs"]
mod common;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["gen", dir, hosts, records] => {
            let hosts: usize = hosts.parse().unwrap_or_else(|_| die("HOSTS: not a number"));
            let n: u64 = records
                .parse()
                .unwrap_or_else(|_| die("RECORDS: not a number"));
            if n < 2 || hosts == 0 {
                die("need at least one host and two records");
            }
            generate(Path::new(dir), hosts, n);
        }
        ["hash", dir] => hash(Path::new(dir)),
        _ => die("usage: bench_fleet gen DIR HOSTS RECORDS | bench_fleet hash DIR"),
    }
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn generate(dir: &Path, hosts: usize, n: u64) {
    for sub in ["central", "keys", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap_or_else(|e| die(&e.to_string()));
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads() {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= hosts {
                    break;
                }
                if let Err(e) = one_host(dir, &format!("host-{i:04}"), n) {
                    die(&e);
                }
            });
        }
    });
    let _ = std::fs::remove_dir(dir.join("tmp"));
    println!(
        "{hosts} hosts x {n} records in {}",
        dir.join("central").display()
    );
}

fn one_host(dir: &Path, host: &str, n: u64) -> Result<(), String> {
    let tmp = dir.join("tmp").join(host);
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let mut c = LogConfig::new(host);
    c.log_path = tmp.join("audit.log");
    c.state_path = tmp.join("log.state");
    c.seal_key_export = tmp.join("seal-key.initial");
    c.syslog = false;
    bulk_append(&c, &common::decision(), n - 1).map_err(|e| e.to_string())?;
    let log = std::fs::File::open(&c.log_path).map_err(|e| e.to_string())?;
    let mut lines = std::io::BufReader::with_capacity(1 << 20, log);
    let mut out: Option<(PathBuf, std::io::BufWriter<std::fs::File>)> = None;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if lines
            .read_until(b'\n', &mut buf)
            .map_err(|e| e.to_string())?
            == 0
        {
            break;
        }
        let r = record::parse(&buf).map_err(|e| format!("{host}: {e}"))?;
        let hash: [u8; 32] = r
            .hash
            .as_deref()
            .and_then(|h| jit_core::text::unhex::<32>(h.as_bytes()))
            .ok_or_else(|| format!("{host}: record without hash"))?;
        if out.is_none() {
            let id = r
                .log_id
                .as_deref()
                .ok_or_else(|| format!("{host}: first record names no log"))?
                .to_string();
            let d = dir.join("central").join(host);
            std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
            let p = d.join(format!("{id}.log"));
            let f = std::fs::File::create(&p).map_err(|e| e.to_string())?;
            out = Some((p, std::io::BufWriter::with_capacity(1 << 20, f)));
        }
        let log_id = match &out {
            Some((p, _)) => p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string(),
            None => unreachable!(),
        };
        let msg = full_message(&Mirror {
            log_id: &log_id,
            seq: r.seq,
            hash: &hash,
            kind: r.kind,
            alert: None,
            record: Some(&buf),
        });
        if let Some((_, w)) = &mut out {
            writeln!(w, "2026-12-06T14:00:00+00:00 {host} jit-log[4242]: {msg}")
                .map_err(|e| e.to_string())?;
        }
    }
    if let Some((_, mut w)) = out {
        w.flush().map_err(|e| e.to_string())?;
    }
    std::fs::rename(
        &c.seal_key_export,
        dir.join("keys").join(format!("{host}.seal-key")),
    )
    .map_err(|e| e.to_string())?;
    std::fs::remove_dir_all(&tmp).map_err(|e| e.to_string())
}

fn hash(dir: &Path) {
    let mut files = Vec::new();
    let central = dir.join("central");
    let hosts = std::fs::read_dir(&central).unwrap_or_else(|e| die(&e.to_string()));
    for h in hosts.flatten() {
        for f in std::fs::read_dir(h.path()).into_iter().flatten().flatten() {
            files.push(f.path());
        }
    }
    files.sort();
    let next = AtomicUsize::new(0);
    let (lines, digest) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads())
            .map(|_| {
                s.spawn(|| {
                    let (mut lines, mut digest) = (0u64, [0u8; 32]);
                    let mut buf = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(p) = files.get(i) else { break };
                        let f = std::fs::File::open(p).unwrap_or_else(|e| die(&e.to_string()));
                        let mut r = std::io::BufReader::with_capacity(1 << 20, f);
                        loop {
                            buf.clear();
                            match r.read_until(b'\n', &mut buf) {
                                Ok(0) => break,
                                Ok(_) => {}
                                Err(e) => die(&e.to_string()),
                            }
                            let h = blake3::hash(&buf);
                            for (d, b) in digest.iter_mut().zip(h.as_bytes()) {
                                *d ^= b;
                            }
                            lines += 1;
                        }
                    }
                    (lines, digest)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| die("a hashing thread panicked"))
            })
            .fold((0u64, [0u8; 32]), |(n, mut d), (m, e)| {
                for (x, y) in d.iter_mut().zip(e) {
                    *x ^= y;
                }
                (n + m, d)
            })
    });
    println!("{lines} lines {}", jit_core::text::hex(&digest));
}

fn die(m: &str) -> ! {
    eprintln!("bench_fleet: {m}");
    std::process::exit(1);
}
