//! Real processes: 64 concurrent appenders, and appenders killed with SIGKILL at
//! seeded random points. The helper is this test binary re-executed with
//! `JIT_LOG_HELPER` set (see `helper_process`).

use jit_core::log::verify::{self, Class, Options, Outcome, SealKey};
use jit_core::log::{append, Event, EventKind, LogConfig};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn cfg(dir: &Path) -> LogConfig {
    let mut c = LogConfig::new("test-host");
    c.log_path = dir.join("audit.log");
    c.state_path = dir.join("log.state");
    c.seal_key_export = dir.join("seal-key.initial");
    c.syslog = false;
    c
}

fn ev(tag: &str) -> Event {
    let mut e = Event::new(EventKind::Decision);
    e.user = Some("alice".into());
    e.command_path = Some("/usr/bin/true".into());
    e.argv = Some(vec!["true".into()]);
    e.allowed = Some(true);
    e.message = Some(tag.to_string());
    e.pid = Some(std::process::id());
    e
}

/// Not a test: the body of the helper process (does nothing unless `JIT_LOG_HELPER` is set).
#[test]
fn helper_process() {
    let Ok(dir) = std::env::var("JIT_LOG_HELPER") else {
        return;
    };
    let id = std::env::var("JIT_LOG_HELPER_ID").unwrap_or_default();
    let n: u64 = std::env::var("JIT_LOG_HELPER_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX);
    let c = cfg(Path::new(&dir));
    if let Ok(limit) = std::env::var("JIT_LOG_HELPER_FSIZE") {
        // As sudo-rs leaves it: the invoking user's file-size limit.
        use nix::sys::resource::{getrlimit, setrlimit, Resource};
        let (_, hard) = getrlimit(Resource::RLIMIT_FSIZE).unwrap();
        setrlimit(Resource::RLIMIT_FSIZE, limit.parse().unwrap(), hard).unwrap();
    }
    let mut i = 0;
    while i < n {
        // Allowed decisions (flushed) and denials or session records
        // (written), as pam_jit writes them.
        let d = if i % 3 == 0 {
            jit_core::log::Durability::Flushed
        } else {
            jit_core::log::Durability::Written
        };
        if let Err(e) = jit_core::log::append_with(&c, &ev(&format!("{id}-{i}")), d) {
            eprintln!("helper append failed: {e}");
            std::process::exit(1);
        }
        i += 1;
    }
    std::process::exit(0);
}

fn spawn(dir: &Path, id: &str, n: Option<u64>) -> Child {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--exact",
        "helper_process",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ])
    .env("JIT_LOG_HELPER", dir)
    .env("JIT_LOG_HELPER_ID", id)
    .stdout(Stdio::null());
    if let Some(n) = n {
        c.env("JIT_LOG_HELPER_N", n.to_string());
    }
    c.spawn().unwrap()
}

fn full_check(c: &LogConfig) -> verify::Report {
    let opts = Options {
        seal_key: Some(SealKey::read(&c.seal_key_export).unwrap()),
        state: Some(verify::read_state(&c.state_path).unwrap()),
        ..Default::default()
    };
    verify::verify_files(std::slice::from_ref(&c.log_path), &opts).unwrap()
}

fn messages(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["kind"] == "decision").then(|| v["message"].as_str().unwrap().to_string())
        })
        .collect()
}

/// 64 processes append 15 records each while a verifier runs alongside:
/// nothing lost, nothing duplicated, the chain valid, no false alarm (case 13).
#[test]
fn sixty_four_concurrent_appenders() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev("init")).unwrap();
    const PROCS: usize = 64;
    const EACH: u64 = 15;
    let kids: Vec<Child> = (0..PROCS)
        .map(|i| spawn(d.path(), &format!("p{i}"), Some(EACH)))
        .collect();
    // Verify while they append: the live tail must never be reported as torn or tampered.
    let opts = Options {
        seal_key: Some(SealKey::read(&c.seal_key_export).unwrap()),
        lock: Some(c.lock_path()),
        ..Default::default()
    };
    let mut live_checks = 0;
    let mut kids = kids;
    loop {
        let r = verify::verify_files(std::slice::from_ref(&c.log_path), &opts).unwrap();
        assert_eq!(r.outcome, Outcome::Intact, "live verify: {:#?}", r.findings);
        live_checks += 1;
        let mut running = false;
        for k in kids.iter_mut() {
            if k.try_wait().unwrap().is_none() {
                running = true;
            }
        }
        if !running {
            break;
        }
    }
    for mut k in kids {
        assert!(k.wait().unwrap().success());
    }
    let r = full_check(&c);
    assert_eq!(r.outcome, Outcome::Intact, "{:#?}", r.findings);
    assert_eq!(r.records, 2 + PROCS as u64 * EACH);
    let m = messages(&c.log_path);
    let set: HashSet<&String> = m.iter().collect();
    assert_eq!(set.len(), m.len(), "duplicates");
    for i in 0..PROCS {
        for j in 0..EACH {
            assert!(set.contains(&format!("p{i}-{j}")), "lost p{i}-{j}");
        }
    }
    assert!(live_checks >= 1);
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Appenders killed with SIGKILL at random points, 300 times: after each kill the log
/// verifies as intact or torn (never tampered, never undetected), and the next append
/// repairs anything left with a recovery record.
#[test]
fn sigkill_at_random_points_never_leaves_an_undetected_inconsistency() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev("init")).unwrap();
    let mut rng = Rng(0x005e_ed0f_1095);
    let rounds: usize = std::env::var("JIT_SIGKILL_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut torn_seen = 0;
    for round in 0..rounds {
        let procs = 1 + (rng.next() % 3) as usize;
        let mut kids: Vec<Child> = (0..procs)
            .map(|i| spawn(d.path(), &format!("r{round}-{i}"), None))
            .collect();
        std::thread::sleep(std::time::Duration::from_micros(2000 + rng.next() % 12000));
        for k in kids.iter_mut() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(k.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        for mut k in kids {
            let _ = k.wait();
        }
        let r = full_check(&c);
        assert!(
            r.findings.iter().all(|f| f.class != Class::Tampered),
            "round {round}: {:#?}",
            r.findings
        );
        if r.outcome == Outcome::TornTail {
            torn_seen += 1;
        }
        let a = append(&c, &ev(&format!("after-{round}")))
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        if r.outcome == Outcome::TornTail {
            assert!(
                !a.repaired.is_empty(),
                "round {round}: torn state repaired silently"
            );
        }
        let r = full_check(&c);
        assert_eq!(
            r.outcome,
            Outcome::Intact,
            "round {round} after repair: {:#?}",
            r.findings
        );
    }
    eprintln!("sigkill: {rounds} rounds, {torn_seen} left a torn tail or stale state");
    let _: PathBuf = c.log_path.clone();
}

/// `flock --no-fork LOCK sh -c SCRIPT`: the shell holds the lock under its
/// own pid (flock execs it). Returns once SCRIPT's first line is printed.
fn lock_holder(
    lock: &Path,
    script: &str,
) -> (Child, std::io::BufReader<std::process::ChildStdout>) {
    use std::io::BufRead;
    let mut child = Command::new("flock")
        .arg("--no-fork")
        .arg(lock)
        .args(["sh", "-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("flock(1) from util-linux");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "locked\n");
    (child, out)
}

fn proc_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    after.trim_start().chars().next().unwrap()
}

#[test]
fn a_stopped_lock_holder_is_continued_and_the_append_goes_through() {
    // The holder stands for a user's sudo stopped (SIGSTOP) while it held the
    // lock: a blocking wait would hang every other sudo on the host.
    use std::io::Read;
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev("init")).unwrap();
    let (mut child, mut out) =
        lock_holder(&c.lock_path(), "echo locked; kill -STOP $$; echo resumed");
    while proc_state(child.id()) != 'T' {
        std::thread::yield_now();
    }
    append(&c, &ev("after a stopped holder")).unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "resumed\n");
    assert!(child.wait().unwrap().success());
    assert_eq!(full_check(&c).outcome, Outcome::Intact);
}

#[test]
fn a_lock_held_too_long_is_an_error_naming_the_holder() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev("init")).unwrap();
    let (mut child, _out) = lock_holder(&c.lock_path(), "echo locked; exec sleep 600");
    let wait = std::time::Duration::from_millis(300);
    match jit_core::fs::lock_file_within(&c.lock_path(), wait) {
        Err(e @ jit_core::fs::FsError::LockBusy { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("pid {} (sleep, uid 0, sleeping)", child.id())),
                "{msg}"
            );
        }
        other => panic!("wanted LockBusy, got {other:?}"),
    }
    child.kill().unwrap();
    child.wait().unwrap();
    jit_core::fs::lock_file_within(&c.lock_path(), wait).unwrap();
    append(&c, &ev("after the holder ended")).unwrap();
}

#[test]
fn a_file_size_limit_below_the_log_is_refused_before_writing() {
    // Under sudo-rs the user's `ulimit -f` applies while the module writes:
    // a write past it kills the process (SIGXFSZ) and tears the log. The
    // writer must refuse before writing instead, whether the limit is below
    // the log's size or inside the next record.
    use std::os::unix::process::ExitStatusExt;
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev("init")).unwrap();
    let size = std::fs::metadata(&c.log_path).unwrap().len();
    for limit in [size - 1, size + 100] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "helper_process",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env("JIT_LOG_HELPER", d.path())
            .env("JIT_LOG_HELPER_N", "1")
            .env("JIT_LOG_HELPER_FSIZE", limit.to_string())
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), None, "killed at limit {limit}");
        assert_eq!(out.status.code(), Some(1), "limit {limit}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("may not write files larger than {limit} bytes")),
            "{err}"
        );
        assert_eq!(std::fs::metadata(&c.log_path).unwrap().len(), size);
    }
    assert_eq!(full_check(&c).outcome, Outcome::Intact);
    append(&c, &ev("without a limit")).unwrap();
}
