//! What the signing service runs beside a call: on-call lists
//! (docs/signer-policy.md, "On-call auto-approval") and the notify command
//! (docs/signer-service.md, "Notifications"). Both are bounded in time and
//! size, and a failure never fails a call: no list means nobody is on call.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jit_core::policy::{parse_oncall, Oncall, OncallFrom};

/// Longest on-call list read, bytes.
const MAX_LIST: u64 = 64 * 1024;
/// How long an on-call command may take.
const ONCALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the notify command may take.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// The user names on call now (empty if the source cannot be read).
pub(crate) fn members(o: &Oncall) -> Vec<String> {
    let text = match &o.from {
        OncallFrom::File(p) => std::fs::File::open(p).and_then(|f| {
            let mut s = String::new();
            f.take(MAX_LIST).read_to_string(&mut s).map(|_| s)
        }),
        OncallFrom::Command(argv) => run(argv, None, ONCALL_TIMEOUT),
    };
    match text {
        Ok(t) => {
            let (names, bad) = parse_oncall(&t);
            if !bad.is_empty() {
                eprintln!(
                    "jit-signer serve: on-call source {}: {} line(s) that are not user names ignored",
                    o.name,
                    bad.len()
                );
            }
            names
        }
        Err(e) => {
            eprintln!(
                "jit-signer serve: on-call source {} unreadable ({e}): nobody is on call",
                o.name
            );
            Vec::new()
        }
    }
}

/// Run the notify command with `body` on stdin.
pub(crate) fn run_notify(cmd: &Path, body: &[u8]) -> Result<(), std::io::Error> {
    run(&[cmd.display().to_string()], Some(body), NOTIFY_TIMEOUT).map(|_| ())
}

/// Run `argv` with a clean environment, `stdin` as its input, for at most
/// `limit`; its stdout (bounded) on success.
fn run(argv: &[String], stdin: Option<&[u8]>, limit: Duration) -> std::io::Result<String> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty command"))?;
    let mut child = Command::new(prog)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    if let (Some(body), Some(mut i)) = (stdin, child.stdin.take()) {
        // A command that does not read its input must not block us.
        let body = body.to_vec();
        std::thread::spawn(move || {
            let _ = i.write_all(&body);
        });
    }
    let out = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = out {
            let _ = o.take(MAX_LIST).read_to_string(&mut s);
        }
        s
    });
    let end = Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other(format!(
                "still running after {} s: killed",
                limit.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(std::io::Error::other(format!("exited with {status}")));
    }
    Ok(text)
}
