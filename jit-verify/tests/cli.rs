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
        // Typed times are local: fix the zone so the tests do not depend on the machine's.
        .env("TZ", "UTC")
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
    assert_eq!(v["json_version"], 1);
    assert_eq!(v["per_user"]["alice"], 2);
    assert_eq!(v["per_command"]["/usr/bin/apt"], 2);
    assert_eq!(v["denials_by_reason"]["no_token"], 1);
    assert_eq!(v["sessions"]["count"], 1);
    assert_eq!(v["sessions"]["total_secs"], 12.5);
    let (code, out, _) = jv(&["stats", log]);
    assert_eq!(code, 0);
    assert!(out.contains("denials by reason"));
}

#[test]
fn gen_docs_is_not_a_subcommand() {
    // Man pages and completions are generated by the workspace's xtask crate.
    let (code, _, err) = jv(&["gen-docs", "--help"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unrecognized subcommand"), "{err}");
}

/// Issue 18 item 6, defect 1: a record appended without its newline is
/// tampering for `log` and no record for `query` / `stats`.
#[test]
fn unterminated_record_is_never_listed() {
    let (_d, c) = fixture();
    let log = c.log_path.to_str().unwrap();
    let mut b = std::fs::read(&c.log_path).unwrap();
    // A copy of the last record, user and command changed, newline dropped:
    // complete-looking, hash not recomputed.
    let text = String::from_utf8(b.clone()).unwrap();
    let last = text.lines().last().unwrap();
    let forged = last.replacen("\"alice\"", "\"mallory\"", 1).replacen(
        "\"kind\":\"session_close\"",
        "\"kind\":\"decision\"",
        1,
    );
    b.extend_from_slice(forged.as_bytes());
    std::fs::write(&c.log_path, &b).unwrap();
    let (code, out, _) = jv(&["log", log]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[unterminated_record]"), "{out}");
    // query verifies first: refused, naming the log and the finding.
    let (code, out, err) = jv(&["query", "--json", "--user", "mallory", log]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("[unterminated_record]"), "{err}");
    assert!(err.contains("refusing to answer"), "{err}");
    // Unverified on request: still no record made of those bytes.
    let (code, out, err) = jv(&["query", "--no-verify", "--json", "--user", "mallory", log]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(err.contains("UNVERIFIED"), "{err}");
    assert!(err.contains("1 unparsable lines skipped"), "{err}");
    let (code, out, _) = jv(&["stats", "--json", log]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["records"], 5);
    assert_eq!(v["unparsable_lines"], 1);
}

/// Issue 18 item 6, defect 3 (and the corrupt-state wording of defect 5):
/// a state file with no valid slot is tampering, not "could not check".
#[test]
fn state_without_a_valid_slot_is_tampering() {
    let (_d, c) = fixture();
    let log = c.log_path.to_str().unwrap();
    let state = c.state_path.to_str().unwrap();
    // Cut the last record and wipe the state.
    let text = std::fs::read_to_string(&c.log_path).unwrap();
    let keep: String = text.lines().take(4).map(|l| format!("{l}\n")).collect();
    std::fs::write(&c.log_path, keep).unwrap();
    std::fs::write(&c.state_path, [0u8; 512]).unwrap();
    let (code, out, err) = jv(&["log", "--state", state, log]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("[state_corrupt]"), "{out}");
    assert!(out.contains("no valid slot"), "{out}");
    // Two valid slots that do not follow each other: no crash leaves that either.
    let (_d2, c2) = fixture();
    let st = jit_core::log::state::State::read(&c2.state_path)
        .unwrap()
        .unwrap();
    let (mut a, mut b) = (st.clone(), st);
    (a.seq, b.seq) = (1, 4);
    std::fs::write(&c.state_path, [b.encode(), a.encode()].concat()).unwrap();
    let (code, out, _) = jv(&["log", "--state", state, log]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("[state_corrupt]") && out.contains("seq 1 and 4"),
        "{out}"
    );
    // An unreadable state is still "could not check", said once.
    std::fs::write(&c.state_path, b"").unwrap();
    let (code, _, err) = jv(&["log", "--state", state, log]);
    assert_eq!(code, 2);
    assert_eq!(err.matches("state file").count(), 1, "{err}");
}

/// `config --json` says why a configuration is refused, in a versioned shape.
#[test]
fn config_json_is_versioned_and_refuses_a_missing_file() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("pam_jit.conf");
    let (code, out, _) = jv(&["config", "--json", "--config", missing.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["json_version"], 1);
    assert_eq!(v["ok"], false);
    assert!(v["error"].is_string() || v["error"].is_object(), "{out}");
}

/// A log of `n` decisions on `host` in `dir`, written by the real writer.
fn host_log(dir: &Path, host: &str, n: usize) -> LogConfig {
    let mut c = cfg(dir);
    c.host = host.into();
    for i in 0..n {
        let mut e = Event::new(EventKind::Decision);
        e.user = Some("alice".into());
        e.command_path = Some("/usr/bin/id".into());
        e.argv = Some(vec!["id".into(), format!("{i}")]);
        e.allowed = Some(true);
        append(&c, &e).unwrap();
    }
    c
}

/// The collector's lines for a log's lines, as the shipped configuration
/// writes them (the writer's own mirror message after rsyslog's prefix).
fn collector_lines(host: &str, log: &[u8]) -> Vec<String> {
    use jit_core::log::record;
    use jit_core::log::syslog::{full_message, Mirror};
    let id = String::from_utf8_lossy(log)
        .lines()
        .next()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["log_id"].clone())
        .unwrap();
    let id = id.as_str().unwrap().to_string();
    log.split_inclusive(|&b| b == b'\n')
        .map(|line| {
            let f = record::frame(line).unwrap();
            let hd = record::header(f.body).unwrap();
            let m = full_message(&Mirror {
                log_id: &id,
                seq: hd.seq,
                hash: &f.hash,
                kind: hd.kind,
                alert: None,
                record: Some(line),
            });
            format!("2026-12-06T18:00:00+00:00 {host} jit-log[7]: {m}\n")
        })
        .collect()
}

/// Several logs given to `log` are told apart by log id: one report each,
/// keys matched by log id, the worst exit code, never a foreign_log.
#[test]
fn log_with_several_logs() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    let ca = host_log(&a, "db-01", 3);
    let cb = host_log(&b, "db-02", 4);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (la, lb) = (s(&ca.log_path), s(&cb.log_path));
    let (ka, kb) = (s(&ca.seal_key_export), s(&cb.seal_key_export));
    let (sa, sb) = (s(&ca.state_path), s(&cb.state_path));
    // Keys and states in the other order than the logs.
    let (code, out, err) = jv(&[
        "log",
        "--json",
        "--seal-key",
        &kb,
        "--seal-key",
        &ka,
        "--state",
        &sb,
        "--state",
        &sa,
        &la,
        &lb,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["json_version"], 1);
    assert_eq!(v["exit_code"], 0);
    let logs = v["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 2);
    for (l, n) in logs.iter().zip([4, 5]) {
        assert_eq!(l["records"], n);
        assert_eq!(l["forward_integrity_checked"], true);
        assert_eq!(l["state_checked"], true);
        assert_eq!(l["findings"].as_array().unwrap().len(), 0, "{l}");
    }
    // One tampered: exit 1, the other still reported intact.
    let text = std::fs::read_to_string(&cb.log_path).unwrap();
    std::fs::write(&cb.log_path, text.replacen("\"alice\"", "\"alicf\"", 1)).unwrap();
    let (code, out, _) = jv(&["log", &la, &lb]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("result: intact (exit 0)"), "{out}");
    assert!(out.contains("2 logs: result: TAMPERED (exit 1)"), "{out}");
    assert!(!out.contains("foreign_log"), "{out}");
    // A key of no log given: could not check.
    let (_d3, c3) = fixture();
    let (code, _, err) = jv(&[
        "log",
        "--seal-key",
        c3.seal_key_export.to_str().unwrap(),
        "--seal-key",
        &ka,
        &la,
        &lb,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("matches no log given"), "{err}");
    // One log: the JSON is the report itself, with its version.
    let (code, out, _) = jv(&["log", "--json", &la]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["json_version"].clone(), v["records"].clone()),
        (1.into(), 4.into())
    );
}

/// `fleet` over a synthetic collector tree of many hosts (the real writer's
/// logs, the writer's own mirror lines).
#[test]
fn fleet_synthetic_tree() {
    let d = tempfile::tempdir().unwrap();
    let fleet = d.path().join("fleet");
    let mut cfgs = Vec::new();
    for h in 0..24 {
        let host = format!("web-{h:02}");
        let c = host_log(&d.path().join("hosts").join(&host), &host, 5 + h % 4);
        let log = std::fs::read(&c.log_path).unwrap();
        let lines = collector_lines(&host, &log);
        let id = serde_json::from_str::<serde_json::Value>(
            String::from_utf8_lossy(&log).lines().next().unwrap(),
        )
        .unwrap()["log_id"]
            .as_str()
            .unwrap()
            .to_string();
        std::fs::create_dir_all(fleet.join(&host)).unwrap();
        let mut text = lines.concat();
        if h == 3 {
            // A RELP resend: lines 1..3 again.
            text.push_str(&lines[1..3].concat());
        }
        std::fs::write(fleet.join(&host).join(format!("{id}.log")), text).unwrap();
        cfgs.push((host, c, id));
    }
    let f = fleet.to_str().unwrap();
    let key3 = cfgs[3].1.seal_key_export.to_str().unwrap().to_string();
    let (code, out, err) = jv(&["fleet", "--json", "--seal-key", &key3, f]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["json_version"], 1);
    assert_eq!(v["exit_code"], 0);
    let logs = v["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 24);
    let three = logs.iter().find(|l| l["host"] == "web-03").unwrap();
    assert_eq!(three["duplicates"], 2);
    assert_eq!(three["forward_integrity_checked"], true);
    // 8 records: 5 + 3 decisions, plus the start record.
    assert_eq!(three["records"], 9);
    assert_eq!(three["outcome"], "intact");
    for l in logs {
        for m in [
            "log_id",
            "host",
            "files",
            "records",
            "first_seq",
            "last_seq",
            "first_time",
            "last_time",
            "gaps",
            "duplicates",
            "out_of_order",
            "silent",
            "findings",
            "exit_code",
        ] {
            assert!(l.get(m).is_some(), "{m} missing in {l}");
        }
    }
    // Silence is measured at --now: every host silent a day later.
    let (code, out, _) = jv(&["fleet", "--max-silence", "1h", "--now", "@4102444800", f]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("24 silent host(s)"), "{out}");
    let (code, _, _) = jv(&["fleet", "--max-silence", "1d", f]);
    assert_eq!(code, 0);
    // --now is read as every time option is: journalctl's relative form,
    // and a combined duration.
    let (code, out, _) = jv(&["fleet", "--max-silence", "1h30m", "--now", "+2h", f]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("24 silent host(s)"), "{out}");
    let (code, out, _) = jv(&["fleet", "--max-silence", "1h30m", "--now", "+1h", f]);
    assert_eq!(code, 0, "{out}");
    let (code, _, err) = jv(&["fleet", "--now", "next week", f]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = jv(&["fleet", "--max-silence", "soon", f]);
    assert_eq!(code, 2, "{err}");
    // A host log cut after forwarding: tampered, naming host and seq.
    let (host, c, _) = &cfgs[5];
    let text = std::fs::read_to_string(&c.log_path).unwrap();
    let n = text.lines().count();
    let keep: String = text.lines().take(n - 2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&c.log_path, keep).unwrap();
    let (code, out, _) = jv(&["fleet", f, c.log_path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    for seq in [n - 2, n - 1] {
        assert!(
            out.contains("TAMPERED [host_cut] ")
                && out.contains(&format!(": seq {seq}: host {host}: record {seq} is in the central copy but no longer in the host's log")),
            "{out}"
        );
    }
    // A gap in the central copy, no host log: attention, not tampering.
    let (host, _, id) = &cfgs[7];
    let p = fleet.join(host).join(format!("{id}.log"));
    let text = std::fs::read_to_string(&p).unwrap();
    let kept: String = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::write(&p, kept).unwrap();
    std::fs::write(&c.log_path, &text).unwrap_or(());
    let (code, out, _) = jv(&["fleet", "--json", f]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let seven = v["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["host"] == host.as_str())
        .unwrap();
    assert_eq!(
        seven["gaps"],
        serde_json::json!([{"first": 2, "last": 2, "host_has": null}])
    );
    assert_eq!(seven["exit_code"], 4);
    assert_eq!(code, 4, "{out}");
}

/// Europe/Berlin's rule as a POSIX TZ string: needs no tz database, and GNU
/// date reads it the same way.
const BERLIN: &str = "CET-1CEST,M3.5.0,M10.5.0/3";

fn jv_tz(tz: &str, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_jit-verify"))
        .args(args)
        .env("TZ", tz)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Three hosts' logs written by the real writer, appended to in turn, in
/// `root/logs/<host>/audit.log` (their state and keys elsewhere): the
/// hosts and users in the order they were written.
fn three_hosts(root: &Path) -> Vec<(String, String)> {
    let hosts = ["web-01", "db-01", "app-01"];
    let cfgs: Vec<LogConfig> = hosts
        .iter()
        .map(|h| {
            let mut c = LogConfig::new(*h);
            c.log_path = root.join("logs").join(h).join("audit.log");
            c.state_path = root.join("state").join(h).join("log.state");
            c.seal_key_export = root.join("state").join(h).join("seal-key.initial");
            c.syslog = false;
            c
        })
        .collect();
    let mut order = Vec::new();
    for round in 0..3 {
        for (i, c) in cfgs.iter().enumerate() {
            let user = ["alice", "bob", "carol"][(round + i) % 3];
            let mut e = Event::new(EventKind::Decision);
            e.user = Some(user.into());
            e.run_as_user = Some(if user == "bob" { "postgres" } else { "root" }.into());
            e.command_path = Some("/usr/bin/systemctl".into());
            e.argv = Some(vec!["systemctl".into(), format!("restart-{round}")]);
            e.allowed = Some(user != "carol");
            e.reason_code = Some(
                if user != "carol" {
                    "token_ok"
                } else {
                    "no_token"
                }
                .into(),
            );
            e.ticket = (user == "alice").then(|| "INC-4711".into());
            append(&c.clone(), &e).unwrap();
            order.push((hosts[i].to_string(), user.to_string()));
        }
    }
    order
}

fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// Issue 18 item 4: many hosts in one command, merged by time, verified.
#[test]
fn query_merges_many_hosts_by_time() {
    let d = tempfile::tempdir().unwrap();
    let order = three_hosts(d.path());
    let logs = d.path().join("logs");
    let logs = logs.to_str().unwrap();
    let (code, out, err) = jv(&["query", "--json", "--decision", "allow", logs]);
    assert_eq!(code, 0, "{err}");
    let recs = json_lines(&out);
    // Interleaved as written, not host after host.
    let got: Vec<(String, String)> = recs
        .iter()
        .map(|r| {
            (
                r["host"].as_str().unwrap().into(),
                r["user"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = order.into_iter().filter(|(_, u)| u != "carol").collect();
    assert_eq!(got, want);
    let times: Vec<&str> = recs.iter().map(|r| r["time"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    // Each line is the record as stored: the same bytes as in its log.
    for l in out.lines() {
        let r: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(r["v"], 1);
        let file = d
            .path()
            .join("logs")
            .join(r["host"].as_str().unwrap())
            .join("audit.log");
        let stored = std::fs::read_to_string(file).unwrap();
        assert!(stored.lines().any(|s| s == l), "{l}");
    }
    // Filters across hosts; files and directories mixed, in any order.
    let db = d.path().join("logs/db-01/audit.log");
    let (code, out, err) = jv(&[
        "query",
        "--json",
        "--run-as",
        "root",
        "--ticket",
        "INC-4711",
        "--command",
        "systemctl",
        db.to_str().unwrap(),
        logs,
    ]);
    assert_eq!(code, 0, "{err}");
    let recs = json_lines(&out);
    assert_eq!(recs.len(), 3, "{out}");
    assert!(recs
        .iter()
        .all(|r| r["user"] == "alice" && r["run_as_user"] == "root"));
    let (code, out, _) = jv(&[
        "query", "--json", "--run-as", "postgres", "--host", "db-01", logs,
    ]);
    assert_eq!(code, 0);
    let recs = json_lines(&out);
    assert_eq!(recs.len(), 1, "{out}");
    assert_eq!(
        (&recs[0]["host"], &recs[0]["user"]),
        (&"db-01".into(), &"bob".into())
    );
    let (code, out, _) = jv(&["query", "--decision", "deny", logs]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 4, "{out}"); // header + carol on each host
    assert!(out.lines().next().unwrap().contains("TICKET"), "{out}");
    // --since/--until over every host: nothing before 2000, everything after.
    let (code, out, _) = jv(&["query", "--json", "--until", "2000-01-01", logs]);
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, out, _) = jv(&["query", "--json", "--since", "-1h", "--until", "+1h", logs]);
    assert_eq!(code, 0);
    assert_eq!(json_lines(&out).len(), 12); // 3 start records + 9 decisions
}

/// A log that does not verify is refused, naming it; --no-verify answers
/// with a loud note.
#[test]
fn query_refuses_a_tampered_host_log() {
    let d = tempfile::tempdir().unwrap();
    three_hosts(d.path());
    let web = d.path().join("logs/web-01/audit.log");
    let text = std::fs::read_to_string(&web).unwrap();
    std::fs::write(&web, text.replacen("\"bob\"", "\"bxb\"", 1)).unwrap();
    let logs = d.path().join("logs");
    let logs = logs.to_str().unwrap();
    let (code, out, err) = jv(&["query", "--json", logs]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains(web.to_str().unwrap()), "{err}");
    assert!(err.contains("[bad_hash]"), "{err}");
    assert!(
        err.contains("TAMPERED") && err.contains("--no-verify"),
        "{err}"
    );
    // Only the good hosts: answered.
    let db = d.path().join("logs/db-01");
    let (code, out, _) = jv(&["query", "--json", db.to_str().unwrap()]);
    assert_eq!((code, json_lines(&out).len()), (0, 4));
    let (code, out, err) = jv(&["query", "--json", "--no-verify", "--user", "bxb", logs]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json_lines(&out).len(), 1);
    assert!(err.contains("UNVERIFIED"), "{err}");
    // A file that is no log in a directory given is refused too, not skipped.
    std::fs::write(d.path().join("logs/db-01/notes.txt"), "hello\n").unwrap();
    let (code, _, err) = jv(&["query", db.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("notes.txt"), "{err}");
}

/// `date` (GNU coreutils) as the independent reading of a local time.
fn gnu_date(tz: &str, args: &[&str]) -> String {
    let o = Command::new("date")
        .env("TZ", tz)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

/// The log time (UTC) of a local time as GNU date reads it in `tz`.
fn log_time(tz: &str, local: &str) -> String {
    let secs = gnu_date(tz, &["-d", local, "+%s"]);
    gnu_date(
        "UTC",
        &["-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%S.000000Z"],
    )
}

/// A host log sealed by the real chain code, with records at given times.
fn log_at_times(path: &Path, host: &str, recs: &[(&str, &str, &str)]) {
    use jit_core::log::record::{self, Record};
    use jit_core::log::Chain;
    let k0 = [7u8; 32];
    let mut c = Chain::genesis(&k0);
    let mut out = Vec::new();
    let first = recs.first().map_or(String::new(), |r| r.0.to_string());
    let mut start = Record::new(EventKind::Start);
    start.time = first.into();
    start.host = host.to_string().into();
    let mut id = [0u8; 16];
    id[..host.len()].copy_from_slice(host.as_bytes());
    start.log_id = Some(jit_core::text::hex(&id).into());
    start.key_id = Some(record::key_id(&k0).into());
    out.extend(c.seal_next(&mut start).unwrap());
    for (time, user, run_as) in recs {
        let mut r = Record::new(EventKind::Decision);
        r.time = time.to_string().into();
        r.host = host.to_string().into();
        r.user = Some(user.to_string().into());
        r.run_as_user = Some(run_as.to_string().into());
        r.command = Some("/usr/bin/psql".into());
        r.allowed = Some(true);
        out.extend(c.seal_next(&mut r).unwrap());
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, out).unwrap();
}

/// The done-when of issue 18 item 4: "who ran what as root on db-01
/// between 14:00 and 16:00 yesterday", in one command, local time.
#[test]
fn who_ran_what_as_root_on_db01_between_14_and_16_yesterday() {
    // Retried once if the local day changes while the test runs.
    for attempt in 0..2 {
        let day = gnu_date(BERLIN, &["-d", "yesterday", "+%F"]);
        let t = |hm: &str| log_time(BERLIN, &format!("{day} {hm}"));
        let d = tempfile::tempdir().unwrap();
        log_at_times(
            &d.path().join("db-01/audit.log"),
            "db-01",
            &[
                (&t("13:59:59")[..], "alice", "root"),
                (&t("14:00"), "alice", "root"),
                (&t("14:30"), "bob", "postgres"),
                (&t("15:59:59"), "carol", "root"),
                (&t("16:00"), "alice", "root"),
            ],
        );
        log_at_times(
            &d.path().join("web-01/audit.log"),
            "web-01",
            &[(&t("14:30")[..], "alice", "root")],
        );
        let dir = d.path().to_str().unwrap();
        let (code, out, err) = jv_tz(
            BERLIN,
            &[
                "query",
                "--host",
                "db-01",
                "--run-as",
                "root",
                "--since",
                "yesterday 14:00",
                "--until",
                "yesterday 16:00",
                "--json",
                dir,
            ],
        );
        if gnu_date(BERLIN, &["-d", "yesterday", "+%F"]) != day && attempt == 0 {
            continue;
        }
        assert_eq!(code, 0, "{err}");
        let got: Vec<(String, String)> = json_lines(&out)
            .iter()
            .map(|r| {
                (
                    r["time"].as_str().unwrap().into(),
                    r["user"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (t("14:00"), "alice".into()),
                (t("15:59:59"), "carol".into())
            ]
        );
        // The window is said on stderr, in UTC.
        assert!(
            err.contains(&t("14:00")) && err.contains(&t("16:00")),
            "{err}"
        );
        // The same question in UTC differs by the zone's offset.
        let (code, out, _) = jv_tz(
            "UTC",
            &[
                "query",
                "--host",
                "db-01",
                "--since",
                &t("14:00"),
                "--until",
                &t("16:00"),
                "--json",
                dir,
            ],
        );
        assert_eq!((code, json_lines(&out).len()), (0, 3));
        return;
    }
}

/// Times: an unknown zone and a nonexistent local time are errors, and the
/// message names the accepted forms.
#[test]
fn bad_times_and_zones_are_errors() {
    let (_d, c) = fixture();
    let log = c.log_path.to_str().unwrap();
    let (code, _, err) = jv_tz(BERLIN, &["query", "--since", "2026-03-29 02:30", log]);
    assert_eq!(code, 2);
    assert!(err.contains("does not exist"), "{err}");
    let (code, _, err) = jv_tz("Nowhere/Atlantis", &["query", "--since", "-1h", log]);
    assert_eq!(code, 2);
    assert!(err.contains("time zone"), "{err}");
    // Without a time the zone is not needed.
    let (code, out, err) = jv_tz("Nowhere/Atlantis", &["query", "--json", log]);
    assert_eq!((code, out.lines().count()), (0, 5), "{err}");
    let (code, _, err) = jv(&["query", "--since", "14:00 garbage", log]);
    assert_eq!(code, 2);
    assert!(
        err.contains("yesterday") && err.contains("@UNIXSECONDS"),
        "{err}"
    );
    let (code, out, _) = jv(&["query", "--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("LOCAL time") && out.contains("yesterday 14:00"),
        "{out}"
    );
}

/// report --log takes directories too, verifies each host log and reads it
/// through the same merge as query.
#[test]
fn report_reads_a_directory_of_host_logs() {
    let d = tempfile::tempdir().unwrap();
    three_hosts(d.path());
    let ledger = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/vectors/log/ledger.log"
    );
    let logs = d.path().join("logs");
    let logs = logs.to_str().unwrap();
    let (code, out, err) = jv(&["report", "--ledger", ledger, "--log", logs, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["host_log_records"], 12);
    assert_eq!(v["log_verification"].as_array().unwrap().len(), 3);
    assert_eq!(v["totals"]["host_denials"], 3);
    let web = d.path().join("logs/web-01/audit.log");
    let text = std::fs::read_to_string(&web).unwrap();
    std::fs::write(&web, text.replacen("\"carol\"", "\"carox\"", 1)).unwrap();
    let (code, out, err) = jv(&["report", "--ledger", ledger, "--log", logs, "--json"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("[bad_hash]"), "{err}");
}

/// The collector's tree for the logs of [`three_hosts`]: each record's
/// mirror line, as the host's rsyslog forwards it, in
/// `fleet/<host>/<log_id>.log`; `keep` says which (host, seq) arrive.
fn collector_of(root: &Path, keep: impl Fn(&str, u64) -> bool) -> std::path::PathBuf {
    use jit_core::log::record::{frame, header};
    use jit_core::log::syslog::{full_message, Mirror};
    let fleet = root.join("fleet");
    for host in ["web-01", "db-01", "app-01"] {
        let log = std::fs::read(root.join("logs").join(host).join("audit.log")).unwrap();
        let mut log_id = String::new();
        let mut out = Vec::new();
        for line in log.split_inclusive(|b| *b == b'\n') {
            let f = frame(line).unwrap();
            let h = header(f.body).unwrap();
            let rec = jit_core::log::record::parse(line).unwrap();
            if let Some(id) = rec.log_id.as_deref() {
                log_id = id.to_string();
            }
            if !keep(host, h.seq) {
                continue;
            }
            let m = full_message(&Mirror {
                log_id: &log_id,
                seq: h.seq,
                hash: &f.hash,
                kind: h.kind,
                alert: None,
                record: Some(line),
            });
            out.extend_from_slice(
                format!("2026-11-19T14:00:00+00:00 {host} jit-log[42]: {m}\n").as_bytes(),
            );
        }
        let d = fleet.join(host);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("{log_id}.log")), out).unwrap();
    }
    fleet
}

/// Issue 18 item 4 over the collector's tree: the central copies answer,
/// merged by time, checked as `fleet` checks them; what a copy lacks is
/// said and filled from the host's log when it is given.
#[test]
fn query_and_export_read_the_collectors_tree() {
    let d = tempfile::tempdir().unwrap();
    three_hosts(d.path());
    let logs = d.path().join("logs");
    let logs = logs.to_str().unwrap();
    let fleet = collector_of(d.path(), |_, _| true);
    let fleet = fleet.to_str().unwrap();
    // The same answer, line for line, from the hosts' logs and from the
    // central copies.
    let (code, from_hosts, err) = jv(&["query", "--json", logs]);
    assert_eq!(code, 0, "{err}");
    let (code, from_fleet, err) = jv(&["query", "--json", fleet]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json_lines(&from_fleet).len(), 12);
    assert_eq!(from_fleet, from_hosts);
    let (code, out, _) = jv(&[
        "query", "--json", "--host", "db-01", "--run-as", "postgres", fleet,
    ]);
    assert_eq!(code, 0);
    let got = json_lines(&out);
    assert!(
        !got.is_empty()
            && got
                .iter()
                .all(|r| r["host"] == "db-01" && r["user"] == "bob")
    );
    // Export: the same events from either copy.
    let (code, ocsf_hosts, err) = jv(&["export", "--format", "ocsf", logs]);
    assert_eq!(code, 0, "{err}");
    let (code, ocsf_fleet, err) = jv(&["export", "--format", "ocsf", fleet]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json_lines(&ocsf_fleet).len(), json_lines(&ocsf_hosts).len());
    // db-01's seq 2 never arrived: said, and not shown; with the host's log
    // given too, shown from it.
    let d2 = tempfile::tempdir().unwrap();
    three_hosts(d2.path());
    let fleet = collector_of(d2.path(), |h, s| !(h == "db-01" && s == 2));
    let fleet = fleet.to_str().unwrap();
    let (code, out, err) = jv(&["query", "--json", fleet]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json_lines(&out).len(), 11);
    assert!(
        err.contains("missing seq 2") && err.contains("not shown"),
        "{err}"
    );
    let db = d2.path().join("logs/db-01");
    let (code, out, err) = jv(&["query", "--json", fleet, db.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json_lines(&out).len(), 12);
    // A central line rewritten (another user on web-01's seq 1): refused.
    let web = std::fs::read_dir(d2.path().join("fleet/web-01"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&web).unwrap();
    std::fs::write(&web, text.replacen("\"alice\"", "\"alicf\"", 1)).unwrap();
    let (code, out, err) = jv(&["query", "--json", fleet]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.contains("TAMPERED") && err.contains("web-01"), "{err}");
    let (code, _, err) = jv(&["export", "--format", "ecs", fleet]);
    assert_eq!(code, 1, "{err}");
}
