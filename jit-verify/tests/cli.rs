//! The CLI's exit codes and output modes.

use jit_core::log::{append, Event, EventKind, LogConfig};
use std::path::Path;
use std::process::Command;

fn cfg(dir: &Path) -> LogConfig {
    let mut c = LogConfig::new("db-01");
    c.log_path = dir.join("audit.log");
    c.state_path = dir.join("log.state");
    c.seal_key_export = dir.join("seal-key.initial");
    c.syslog = false;
    c
}

fn jv(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_jit-verify"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn fixture() -> (tempfile::TempDir, LogConfig) {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    for (i, (user, cmd, ok)) in [
        ("alice", "/usr/bin/systemctl", true),
        ("bob", "/usr/bin/apt", false),
        ("alice", "/usr/bin/apt", true),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = Event::new(EventKind::Decision);
        e.user = Some(user.into());
        e.command_path = Some(cmd.into());
        e.argv = Some(vec![cmd.rsplit('/').next().unwrap().into(), format!("{i}")]);
        e.allowed = Some(ok);
        e.reason_code = Some(if ok { "token_ok" } else { "no_token" }.into());
        append(&c, &e).unwrap();
    }
    let mut e = Event::new(EventKind::SessionClose);
    e.user = Some("alice".into());
    e.session_secs = Some(12.5);
    append(&c, &e).unwrap();
    (d, c)
}

#[test]
fn log_exit_codes() {
    let (_d, c) = fixture();
    let log = c.log_path.to_str().unwrap();
    let key = c.seal_key_export.to_str().unwrap();
    let state = c.state_path.to_str().unwrap();
    let (code, out, _) = jv(&["log", "--seal-key", key, "--state", state, log]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("forward integrity: checked"));
    let (code, out, _) = jv(&["log", log]);
    assert_eq!(code, 0);
    assert!(out.contains("forward integrity: NOT checked"), "{out}");
    let (code, out, _) = jv(&["log", "--json", "--seal-key", key, log]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["outcome"], "intact");
    assert_eq!(v["records"], 5);
    // could not check
    let (code, _, err) = jv(&["log", "/nonexistent/audit.log"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
    let (code, _, _) = jv(&["log", "--seal-key", log, log]);
    assert_eq!(code, 2);
    // torn
    let mut b = std::fs::read(&c.log_path).unwrap();
    b.extend_from_slice(b"{\"v\":1,\"seq\":5,");
    std::fs::write(&c.log_path, &b).unwrap();
    let (code, out, _) = jv(&["log", log]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("TORN"));
    // tampered: alice -> alicf in record 1
    let s = String::from_utf8(b)
        .unwrap()
        .replacen("\"alice\"", "\"alicf\"", 1);
    std::fs::write(&c.log_path, s).unwrap();
    let (code, out, _) = jv(&["log", log]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("{log}:2: seq 1:")), "{out}");
}

#[test]
fn query_and_stats() {
    let (_d, c) = fixture();
    let log = c.log_path.to_str().unwrap();
    let (code, out, _) = jv(&[
        "query",
        "--json",
        "--user",
        "alice",
        "--command",
        "apt",
        log,
    ]);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["seq"], 3);
    let (code, out, _) = jv(&[
        "query",
        "--decision",
        "deny",
        "--host",
        "db-01",
        "--since",
        "2000-01-01 00:00",
        log,
    ]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2, "{out}"); // header + bob
    assert!(out.contains("bob"));
    let (code, out, _) = jv(&["query", "--until", "2000-01-01 00:00", log]);
    assert_eq!((code, out.lines().count()), (0, 1));
    let (code, _, err) = jv(&["query", "--since", "yesterday-ish", log]);
    assert_eq!(code, 2);
    assert!(err.contains("RFC 3339"));
    let (code, out, _) = jv(&["stats", "--json", log]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["per_user"]["alice"], 2);
    assert_eq!(v["per_command"]["/usr/bin/apt"], 2);
    assert_eq!(v["denials_by_reason"]["no_token"], 1);
    assert_eq!(v["sessions"]["count"], 1);
    assert_eq!(v["sessions"]["total_secs"], 12.5);
    let (code, out, _) = jv(&["stats", log]);
    assert_eq!(code, 0);
    assert!(out.contains("denials by reason"));
}
