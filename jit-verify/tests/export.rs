//! `jit-verify export`: logs written by the real writer (every host-log
//! record kind, on two hosts, across a rotation and a crash recovery) and the
//! golden ledger vector, exported as OCSF and ECS and checked line by line
//! against the vendored published schemas by the independent validator
//! (tests/interop/validate_siem.py). Needs python3 with PyYAML.

use jit_core::log::{append, append_with, Durability, Event, EventKind, LogConfig};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cfg(dir: &Path, host: &str) -> LogConfig {
    let mut c = LogConfig::new(host);
    c.log_path = dir.join("audit.log");
    c.state_path = dir.join("log.state");
    c.seal_key_export = dir.join("seal-key.initial");
    c.syslog = false;
    c
}

fn decision(user: &str, argv: &[&str], allowed: bool) -> Event {
    let mut e = Event::new(EventKind::Decision);
    e.user = Some(user.into());
    e.run_as_user = Some("root".into());
    e.run_as_group = Some("adm".into());
    e.tty = Some("/dev/pts/1".into());
    e.command_path = Some(format!("/usr/bin/{}", argv[0]));
    e.argv = Some(argv.iter().map(|s| s.to_string()).collect());
    e.token_id = Some("0000000000000000000000000000a001".into());
    e.issuer = Some("ops".into());
    e.kid = Some("k2026".into());
    e.token_reason = Some("INC-4711 \"nginx\" wedged ✓".into());
    e.ticket = Some("INC-4711".into());
    e.approver = Some("carol".into());
    e.allowed = Some(allowed);
    e.reason_code = Some(
        if allowed {
            "token_ok"
        } else {
            "command_not_granted"
        }
        .into(),
    );
    e.pid = Some(4242);
    e
}

/// Two hosts' logs: web-01 with every host-log kind, a rotation (continue)
/// and a torn tail repaired (recovery); db-01 with one decision.
fn host_logs(d: &Path) -> Vec<PathBuf> {
    let web = d.join("web-01");
    let db = d.join("db-01");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::create_dir_all(&db).unwrap();
    let c = cfg(&web, "web-01");
    append(
        &c,
        &decision("alice", &["systemctl", "restart", "nginx"], true),
    )
    .unwrap();
    let mut s = Event::new(EventKind::SessionClose);
    s.user = Some("alice".into());
    s.run_as_user = Some("root".into());
    s.session_secs = Some(1.25);
    append_with(&c, &s, Durability::Written).unwrap();
    let mut deny = decision("bob", &["apt", "install", "it's; rm -rf /"], false);
    deny.message = Some("command not granted by the token".into());
    append_with(&c, &deny, Durability::Written).unwrap();
    let mut bg = decision("alice", &["bash"], true);
    bg.break_glass = true;
    append(&c, &bg).unwrap();
    let mut so = decision("mallory", &["id"], false);
    so.kind = EventKind::SessionOpen;
    so.reason_code = Some("revoked".into());
    append_with(&c, &so, Durability::Written).unwrap();
    // A long argv is cut by the writer (argv_truncated).
    let long: Vec<String> = (0..400).map(|i| format!("{i:0>60}")).collect();
    let mut e = decision("alice", &["tar"], true);
    e.argv = Some(std::iter::once("tar".to_string()).chain(long).collect());
    append(&c, &e).unwrap();
    // Rotation: the next append starts a segment with a continue record.
    std::fs::rename(&c.log_path, web.join("audit.log.1")).unwrap();
    append(&c, &decision("carol", &["journalctl", "-u", "nginx"], true)).unwrap();
    // A crash leftover: the next writer cuts it and says so (recovery).
    let mut b = std::fs::read(&c.log_path).unwrap();
    b.extend_from_slice(b"{\"v\":1,\"seq\":");
    std::fs::write(&c.log_path, &b).unwrap();
    append(&c, &decision("carol", &["uptime"], true)).unwrap();
    let c2 = cfg(&db, "db-01");
    append(&c2, &decision("dave", &["psql"], false)).unwrap();
    // Newest first on purpose: export sorts segments by first seq.
    vec![
        c.log_path.clone(),
        web.join("audit.log.1"),
        c2.log_path.clone(),
    ]
}

fn ledger() -> PathBuf {
    root().join("docs/vectors/log/ledger.log")
}

fn jv(args: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_jit-verify"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Run the independent validator; (exit code, its output).
fn validate(format: &str, file: &Path) -> (i32, String) {
    let script = root().join("tests/interop/validate_siem.py");
    assert!(script.exists(), "{} missing", script.display());
    let o = Command::new("python3")
        .arg(&script)
        .arg(format)
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!("python3 is needed to validate the SIEM export (apt-get install python3 python3-yaml): {e}")
        });
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        !out.contains("No module named 'yaml'"),
        "python3-yaml is needed to validate the SIEM export: {out}"
    );
    (o.status.code().unwrap_or(-1), out)
}

fn export(d: &Path, format: &str, logs: &[PathBuf]) -> Vec<Value> {
    let out = d.join(format!("out.{format}.ndjson"));
    let mut args: Vec<String> = vec!["export".into(), "--format".into(), format.into()];
    args.push("--output".into());
    args.push(out.to_str().unwrap().into());
    args.extend(logs.iter().map(|p| p.to_str().unwrap().to_string()));
    args.push("--ledger".into());
    args.push(ledger().to_str().unwrap().into());
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, err) = jv(&a);
    assert_eq!(code, 0, "{err}");
    let (vcode, vout) = validate(format, &out);
    assert_eq!(vcode, 0, "the {format} export does not validate:\n{vout}");
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn ocsf_export_validates_and_covers_every_kind() {
    let d = tempfile::tempdir().unwrap();
    let logs = host_logs(d.path());
    let ev = export(d.path(), "ocsf", &logs);
    let got: BTreeSet<(u64, u64)> = ev
        .iter()
        .map(|e| {
            (
                e["type_uid"].as_u64().unwrap(),
                e["status_id"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    for want in [
        (100701, 1), // allowed decision: launch
        (300207, 2), // denied decision: failed account switch
        (300201, 2), // session_open refusal
        (300202, 1), // session_close: logoff
        (100806, 0), // start
        (100805, 0), // continue: rotate
        (100899, 0), // recovery
        (300501, 1), // issued
        (300501, 2), // refused
        (300502, 1), // revoked
    ] {
        assert!(got.contains(&want), "{want:?} missing from {got:?}");
    }
    // Host logs: 2 chains; web-01: start + 6 + continue + 1 + recovery + 1;
    // db-01: start + 1. Ledger: start, issued, refused, 3 revoked entries, issued.
    assert_eq!(ev.len(), 11 + 2 + 7);
    let bg: Vec<&Value> = ev
        .iter()
        .filter(|e| e["unmapped"]["jit"]["break_glass"] == true)
        .collect();
    assert_eq!(bg.len(), 2, "one break-glass use, one break-glass grant");
    assert!(bg.iter().all(|e| e["severity_id"] == 4));
    let trunc = ev
        .iter()
        .find(|e| e["unmapped"]["jit"].get("argv_truncated").is_some())
        .expect("a truncated argv");
    assert_eq!(trunc["unmapped"]["jit"]["argv_truncated"]["argc"], 401);
    // Every event has its own id (the three entries of one revocation list too).
    let ids: BTreeSet<&str> = ev
        .iter()
        .map(|e| e["metadata"]["uid"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), ev.len());
}

#[test]
fn ecs_export_validates_and_has_the_fields_asked_for() {
    let d = tempfile::tempdir().unwrap();
    let logs = host_logs(d.path());
    let ev = export(d.path(), "ecs", &logs);
    let actions: BTreeSet<&str> = ev
        .iter()
        .map(|e| e["event"]["action"].as_str().unwrap())
        .collect();
    for a in [
        "sudo-allowed",
        "sudo-denied",
        "sudo-session-refused",
        "sudo-session-close",
        "jit-log-start",
        "jit-log-continue",
        "jit-log-recovery",
        "jit-grant-issued",
        "jit-grant-refused",
        "jit-grant-revoked",
    ] {
        assert!(actions.contains(a), "{a} missing from {actions:?}");
    }
    let denied = ev
        .iter()
        .find(|e| e["event"]["action"] == "sudo-denied" && e["host"]["name"] == "web-01")
        .unwrap();
    assert_eq!(denied["user"]["name"], "bob");
    assert_eq!(denied["user"]["effective"]["name"], "root");
    assert_eq!(
        denied["process"]["command_line"],
        r#"apt install 'it'\''s; rm -rf /'"#
    );
    assert_eq!(denied["event"]["outcome"], "failure");
    assert_eq!(denied["event"]["reason"], "command_not_granted");
    assert_eq!(
        denied["jit"]["token_id"],
        "0000000000000000000000000000a001"
    );
    assert!(ev.iter().any(|e| e["host"]["name"] == "db-01"));
}

#[test]
fn the_validator_rejects_what_the_schemas_do_not_define() {
    // Guard against a validator that accepts anything: one line each that
    // the published definitions reject.
    let d = tempfile::tempdir().unwrap();
    let logs = host_logs(d.path());
    let ev = export(d.path(), "ocsf", &logs);
    let launch = ev.iter().find(|e| e["type_uid"] == 100701).unwrap();
    let bad = |name: &str, e: Value, format: &str| {
        let p = d.path().join(name);
        std::fs::write(&p, format!("{e}\n")).unwrap();
        let (code, out) = validate(format, &p);
        assert_eq!(code, 1, "{name} accepted:\n{out}");
    };
    let mut e = launch.clone();
    e["process"]["terminal"] = "/dev/pts/1".into(); // not in OCSF 1.8.0's process
    bad("terminal", e, "ocsf");
    let mut e = launch.clone();
    e["time"] = (e["time"].as_i64().unwrap() / 1000).into(); // seconds, not ms
    bad("seconds", e, "ocsf");
    let mut e = launch.clone();
    e["activity_id"] = 42.into();
    bad("activity", e, "ocsf");
    let ev = export(d.path(), "ecs", &logs);
    let mut e = ev[1].clone();
    e["event"]["type"] = serde_json::json!(["user"]); // not a process type
    bad("ecs-type", e, "ecs");
    let mut e = ev[1].clone();
    e["user"]["effective_name"] = "root".into();
    bad("ecs-field", e, "ecs");
}

#[test]
fn export_refuses_unverified_input_and_never_leaves_a_partial_file() {
    let d = tempfile::tempdir().unwrap();
    let logs = host_logs(d.path());
    let out = d.path().join("out.ndjson");
    let o = out.to_str().unwrap();
    // Tamper with a record of the rotated segment.
    let seg = &logs[1];
    let s = std::fs::read_to_string(seg)
        .unwrap()
        .replacen("\"bob\"", "\"bo0\"", 1);
    std::fs::write(seg, s).unwrap();
    let all: Vec<&str> = logs.iter().map(|p| p.to_str().unwrap()).collect();
    let mut args = vec!["export", "--format", "ocsf", "--output", o];
    args.extend(&all);
    let (code, err) = jv(&args);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("does not verify (TAMPERED)"), "{err}");
    assert!(!out.exists(), "nothing may be exported from a tampered log");
    // --unverified exports, says so in every event of that chain, exits 1.
    args.push("--unverified");
    let (code, err) = jv(&args);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("UNVERIFIED"), "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let ev: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let web: Vec<&Value> = ev
        .iter()
        .filter(|e| e["device"]["hostname"] == "web-01")
        .collect();
    assert!(!web.is_empty());
    assert!(web
        .iter()
        .all(|e| e["unmapped"]["jit"]["verified"] == false));
    assert!(ev
        .iter()
        .filter(|e| e["device"]["hostname"] == "db-01")
        .all(|e| e["unmapped"]["jit"]["verified"] == true));
    std::fs::remove_file(&out).unwrap();
    // A ledger given as a host log cannot be exported: error, no file.
    let (code, err) = jv(&[
        "export",
        "--format",
        "ecs",
        "--output",
        o,
        ledger().to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`issued` record in a host audit log"), "{err}");
    assert!(!out.exists());
    assert!(!d.path().join("out.ndjson.partial").exists());
    // The output is as private as the logs; a leftover FILE.partial (an
    // interrupted run, or a planted link) is not written through.
    let (code, err) = jv(&["export", "--format", "ecs", "--output", o, all[2]]);
    assert_eq!(code, 0, "{err}");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let partial = d.path().join("out.ndjson.partial");
    std::os::unix::fs::symlink(d.path().join("elsewhere"), &partial).unwrap();
    let (code, err) = jv(&["export", "--format", "ecs", "--output", o, all[2]]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("out.ndjson.partial"), "{err}");
    assert!(!d.path().join("elsewhere").exists());
    // Nothing to export.
    let (code, _) = jv(&["export", "--format", "ecs"]);
    assert_eq!(code, 2);
}

#[test]
fn the_examples_in_docs_export_md_are_what_export_writes() {
    let doc = std::fs::read_to_string(root().join("docs/export.md")).unwrap();
    let examples: Vec<Value> = doc
        .lines()
        .filter(|l| l.starts_with("{\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(examples.len(), 2, "one OCSF and one ECS example");
    let intact = root().join("docs/vectors/log/intact.log");
    for (format, want) in ["ocsf", "ecs"].iter().zip(&examples) {
        let o = Command::new(env!("CARGO_BIN_EXE_jit-verify"))
            .args(["export", "--format", format, intact.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        let text = String::from_utf8(o.stdout).unwrap();
        let mut got: Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
        // The example names the release it was written with.
        if let Some(v) = got.pointer_mut("/metadata/product/version") {
            *v = "0.1.0".into();
        }
        assert_eq!(&got, want, "{format}: docs/export.md's example is stale");
    }
}

#[test]
fn a_seal_key_checks_forward_integrity_before_export() {
    let v = root().join("docs/vectors/log");
    let key = v.join("seal-key.initial");
    let (k, resealed) = (key.to_str().unwrap(), v.join("resealed.log"));
    let resealed = resealed.to_str().unwrap();
    // Every seal re-made with a later key: the plain chain cannot tell...
    let (code, err) = jv(&["export", "--format", "ocsf", resealed]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("forward integrity NOT checked"), "{err}");
    // ...the seal key can, and nothing is exported.
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o.ndjson");
    let o = out.to_str().unwrap();
    let (code, err) = jv(&[
        "export",
        "--format",
        "ocsf",
        "--seal-key",
        k,
        "--output",
        o,
        resealed,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("bad_seal"), "{err}");
    assert!(!out.exists());
    // The intact log and the ledger (the vectors share one key) pass with it.
    let intact = v.join("intact.log");
    let (code, err) = jv(&[
        "export",
        "--format",
        "ocsf",
        "--seal-key",
        k,
        "--output",
        o,
        intact.to_str().unwrap(),
        "--ledger",
        ledger().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("NOT checked"), "{err}");
    // A key of no log given is an error, not silently unused.
    let other = host_logs(d.path());
    let (code, err) = jv(&[
        "export",
        "--format",
        "ecs",
        "--seal-key",
        k,
        other[2].to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("matches no log or ledger given"), "{err}");
}

/// A ledger with an SSH certificate and a revocation list that revokes it
/// three ways (serial, key id, key) and a CA key: every entry is its own
/// Revoke Privileges event, and both formats validate against the schemas.
#[test]
fn ssh_revocations_are_exported_and_validate() {
    use jit_core::ledger::{self, Revocation, SshCertIssued};
    use jit_core::log::record::{RevokedSshKeyId, RevokedSshSerial};
    use jit_core::ssh_cert::{profile, Limits, Request};
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("ledger.log");
    let c = ledger::config(&path, "signer-1");
    let logins = vec!["bob".to_string()];
    let groups = vec!["db".to_string()];
    let p = profile(
        &Request {
            public_key: include_str!("../../jit-core/src/ssh_cert/keys/ed25519.pub"),
            logins: &logins,
            host_groups: &groups,
            grant_id: [0x5a; 16],
            serial: u64::MAX,
            nonce: [7; 32],
            not_before: 1_800_000_000,
            ttl_secs: 3600,
            force_command: None,
            source_address: None,
            extensions: None,
        },
        &Limits::default(),
    )
    .unwrap();
    ledger::append_ssh_cert(
        &c,
        &SshCertIssued {
            profile: &p,
            user: "bob",
            host_groups: &groups,
            kid: "ssh-ca-2026a",
            ca_fingerprint: "SHA256:ca",
            iat: 1_800_000_000,
            nbf: 1_800_000_000,
            reason: "INC-1",
            ticket: None,
            approver: Some("carol"),
            requester: Some("bob"),
            rule: None,
        },
    )
    .unwrap();
    ledger::append_revoked(
        &c,
        &Revocation {
            version: 1,
            ssh_serials: vec![RevokedSshSerial {
                ca: "SHA256:ca".into(),
                serial: u64::MAX.to_string(),
                exp: 1_800_003_600,
            }],
            ssh_key_ids: vec![RevokedSshKeyId {
                key_id: p.key_id.clone(),
                exp: 1_800_003_600,
            }],
            ssh_keys: vec![p.key_fingerprint.clone(), "SHA256:ca".into()],
            kid: Some("k2026".into()),
            requester: Some("carol".into()),
            reason: Some("laptop lost".into()),
            ..Revocation::default()
        },
    )
    .unwrap();
    for format in ["ocsf", "ecs"] {
        let out = d.path().join(format!("ssh.{format}.ndjson"));
        let (code, err) = jv(&[
            "export",
            "--format",
            format,
            "--output",
            out.to_str().unwrap(),
            "--ledger",
            path.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        let (vcode, vout) = validate(format, &out);
        assert_eq!(vcode, 0, "the {format} export does not validate:\n{vout}");
        let ev: Vec<Value> = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let jit = |e: &Value| {
            if format == "ocsf" {
                e["unmapped"]["jit"].clone()
            } else {
                e["jit"].clone()
            }
        };
        let revoked: Vec<&Value> = ev.iter().filter(|e| jit(e)["kind"] == "revoked").collect();
        let by: Vec<String> = revoked
            .iter()
            .map(|e| jit(e)["revoked"]["by"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            by,
            ["ssh_serial", "ssh_key_id", "ssh_key", "ssh_key"],
            "{format}"
        );
        // The certificate's owner, from its ssh_cert record, for all but the CA key.
        let owner: Vec<Value> = revoked
            .iter()
            .map(|e| jit(e)["revoked"]["owner"].clone())
            .collect();
        assert_eq!(owner.iter().filter(|o| *o == "bob").count(), 3, "{owner:?}");
        for e in &revoked {
            if format == "ocsf" {
                assert_eq!(e["type_uid"], 300502);
            } else {
                assert_eq!(e["event"]["action"], "jit-ssh-cert-revoked");
            }
        }
    }
}
