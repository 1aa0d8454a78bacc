//! `jit-signer serve` and its clients, end to end through the real binary
//! and a real Unix socket, with one caller (this test's user). Several users
//! (requester, approvers) are tested by tests/ci.d/30-signer-approval.sh.

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jit-signer"))
}

fn me() -> String {
    let o = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

/// A running service; killed and reaped on drop.
struct Service {
    child: Child,
    socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Service {
    fn start() -> Service {
        Service::start_with("", "", &[])
    }

    /// A service whose policy has `policy_extra` before its rule and
    /// `rule_extra` in it, started with `args` added.
    fn start_with(policy_extra: &str, rule_extra: &str, args: &[&str]) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let o = bin()
            .args(["keygen", "--kid", "svc-1", "--out"])
            .arg(d.join("k"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let me = me();
        std::fs::write(
            d.join("policy.toml"),
            format!(
                r#"
{policy_extra}
[[rule]]
name = "web-restart"
users = ["{me}"]
host_groups = ["web"]
commands = ["/usr/bin/systemctl restart nginx"]
max_ttl = "2h"
approvers = ["{me}"]
{rule_extra}
"#
            ),
        )
        .unwrap();
        let socket = d.join("run/socket");
        let mut s = Service {
            child: spawn_serve(d, &socket, args),
            socket,
            dir,
        };
        s.wait_ready();
        s
    }

    /// Poll (bounded) until the socket accepts: the service is up.
    fn wait_ready(&mut self) {
        let end = Instant::now() + Duration::from_secs(20);
        while UnixStream::connect(&self.socket).is_err() {
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!("jit-signer serve exited: {st}");
            }
            assert!(Instant::now() < end, "the service did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn client(&self, args: &[&str]) -> Output {
        bin()
            .arg(args[0])
            .arg("--socket")
            .arg(&self.socket)
            .args(&args[1..])
            .output()
            .unwrap()
    }

    fn ledger(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ledger.log")).unwrap_or_default()
    }
}

fn spawn_serve(d: &Path, socket: &Path, args: &[&str]) -> Child {
    bin()
        .arg("serve")
        .arg("--socket")
        .arg(socket)
        .arg("--state-dir")
        .arg(d.join("state"))
        .arg("--policy")
        .arg(d.join("policy.toml"))
        .arg("--key")
        .arg(d.join("k/svc-1.key"))
        .arg("--ledger")
        .arg(d.join("ledger.log"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(d.join("serve.log"))
                .unwrap(),
        )
        .spawn()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}
fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Send raw bytes, half-close, read whatever comes back.
fn raw(socket: &Path, bytes: &[u8]) -> Vec<u8> {
    let mut c = UnixStream::connect(socket).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = c.write_all(bytes);
    let _ = c.shutdown(std::net::Shutdown::Write);
    let mut back = Vec::new();
    let _ = c.read_to_end(&mut back);
    back
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// The error code of an answer frame.
fn answer_error(back: &[u8]) -> String {
    assert!(back.len() > 4, "no answer frame: {back:?}");
    let v: serde_json::Value = serde_json::from_slice(&back[4..]).unwrap();
    v["error"].as_str().unwrap_or("").to_string()
}

const ASK: &[&str] = &[
    "--host-group",
    "web",
    "--command",
    "/usr/bin/systemctl restart nginx",
    "--reason",
    "INC-1 nginx wedged",
];

#[test]
fn one_callers_flow_and_refusals() {
    let s = Service::start();
    let mut args = vec!["request"];
    args.extend_from_slice(ASK);
    let o = s.client(&args);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let id = out(&o).trim().to_string();
    assert_eq!(id.len(), 32, "{id}");
    assert!(
        err(&o).contains(&format!("jit-signer approve {id}")),
        "{}",
        err(&o)
    );

    // Its own requester is never its approver, whatever the policy lists.
    let o = s.client(&["requests"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(!out(&o).contains(&id), "{}", out(&o));
    let o = s.client(&["approve", &id]);
    assert_eq!(code(&o), 7, "{}", err(&o));
    assert!(
        err(&o).contains("cannot approve their own request"),
        "{}",
        err(&o)
    );
    assert!(err(&o).contains("(self_approval)"), "{}", err(&o));
    assert!(s.ledger().contains("\"reason_code\":\"self_approval\""));

    // Not decided yet: fetch says so, with its own exit code.
    let o = s.client(&["fetch", &id]);
    assert_eq!(code(&o), 11, "{}", err(&o));
    let o = s.client(&["status", &id, "--json"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).contains("\"state\": \"pending\""), "{}", out(&o));

    // Withdrawn: no longer approvable or fetchable.
    let o = s.client(&["reject", &id, "--reason", "not needed after all"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = s.client(&["fetch", &id]);
    assert_eq!(code(&o), 12, "{}", err(&o));
    let o = s.client(&["reject", &id, "--reason", "again"]);
    assert_eq!(code(&o), 9, "{}", err(&o));
    assert!(err(&o).contains("already decided"), "{}", err(&o));

    // Outside the policy: refused at request time, naming the rule.
    let mut args = vec!["request", "--run-as", "postgres"];
    args.extend_from_slice(ASK);
    let o = s.client(&args);
    assert_eq!(code(&o), 7, "{}", err(&o));
    assert!(err(&o).contains("rule web-restart"), "{}", err(&o));

    // Unknown ids and bad ids.
    let o = s.client(&["fetch", &"0".repeat(32)]);
    assert_eq!(code(&o), 9, "{}", err(&o));
    let o = s.client(&["fetch", "../../etc/shadow"]);
    assert_eq!(code(&o), 2, "{}", err(&o));

    let o = s.client(&["status"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(
        out(&o).contains(&format!("you are {}", me())),
        "{}",
        out(&o)
    );
    assert!(out(&o).contains("key svc-1"), "{}", out(&o));
}

#[test]
fn garbage_truncation_lies_and_floods_leave_it_serving() {
    let s = Service::start();
    let sock = &s.socket;
    // Not a frame at all (its first 4 bytes read as a huge length).
    assert_eq!(
        answer_error(&raw(sock, b"GET / HTTP/1.1\r\n\r\n")),
        "bad_frame"
    );
    // A length and less than that.
    let mut t = frame(br#"{"v":1,"op":"requests"}"#);
    t.truncate(10);
    assert_eq!(answer_error(&raw(sock, &t)), "bad_frame");
    assert_eq!(answer_error(&raw(sock, &[0, 0, 0, 0])), "bad_frame");
    assert_eq!(answer_error(&raw(sock, &[0, 1, 0, 1])), "bad_frame");
    // Not JSON; an unknown operation; a newer version.
    assert_eq!(
        answer_error(&raw(sock, &frame(b"\x00\x01garbage"))),
        "malformed"
    );
    assert_eq!(
        answer_error(&raw(sock, &frame(br#"{"v":1,"op":"issue"}"#))),
        "malformed"
    );
    assert_eq!(
        answer_error(&raw(sock, &frame(br#"{"v":9,"op":"requests"}"#))),
        "unsupported_version"
    );
    // A caller naming someone else: refused, the kernel's answer stands.
    let lie = format!(
        r#"{{"v":1,"op":"approve","id":"{}","approver":"root"}}"#,
        "a".repeat(32)
    );
    assert_eq!(
        answer_error(&raw(sock, &frame(lie.as_bytes()))),
        "malformed"
    );
    // A client that connects and goes away.
    drop(UnixStream::connect(sock).unwrap());
    // 1,000 calls at once: each is answered (ok, or busy beyond the limit).
    let handles: Vec<_> = (0..1000)
        .map(|_| {
            let sock = sock.clone();
            std::thread::spawn(move || {
                let back = raw(&sock, &frame(br#"{"v":1,"op":"status"}"#));
                let v: serde_json::Value = serde_json::from_slice(&back[4..]).unwrap();
                match v["ok"].as_bool() {
                    Some(true) => "ok".to_string(),
                    _ => v["error"].as_str().unwrap_or("?").to_string(),
                }
            })
        })
        .collect();
    let mut ok = 0;
    for h in handles {
        match h.join().unwrap().as_str() {
            "ok" => ok += 1,
            "busy" => {}
            other => panic!("unexpected answer {other}"),
        }
    }
    assert!(ok > 0);
    // And it still serves.
    let o = s.client(&["status"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
}

#[test]
fn requests_survive_a_restart_and_a_stale_socket() {
    let mut s = Service::start();
    let mut args = vec!["request"];
    args.extend_from_slice(ASK);
    let o = s.client(&args);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let id = out(&o).trim().to_string();
    // SIGKILL leaves the socket file behind; the next start replaces it.
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    assert!(s.socket.exists());
    s.child = spawn_serve(s.dir.path(), &s.socket, &[]);
    s.wait_ready();
    let o = s.client(&["status", &id, "--json"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).contains("\"state\": \"pending\""), "{}", out(&o));
    // A second service on the same socket refuses to start.
    let o = bin()
        .arg("serve")
        .arg("--socket")
        .arg(&s.socket)
        .arg("--state-dir")
        .arg(s.dir.path().join("state2"))
        .arg("--policy")
        .arg(s.dir.path().join("policy.toml"))
        .arg("--key")
        .arg(s.dir.path().join("k/svc-1.key"))
        .arg("--ledger")
        .arg(s.dir.path().join("ledger2.log"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 3, "{}", err(&o));
    assert!(err(&o).contains("in use"), "{}", err(&o));
}

#[test]
fn no_service_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let o = bin()
        .args(["status", "--socket"])
        .arg(d.path().join("none"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 6, "{}", err(&o));
    assert!(
        err(&o).contains("is jit-signer serve running?"),
        "{}",
        err(&o)
    );
}

#[test]
fn on_call_requesters_are_approved_by_the_service_and_notified() {
    let d = tempfile::tempdir().unwrap();
    let oncall = d.path().join("oncall");
    let events = d.path().join("events");
    let notify = d.path().join("notify.sh");
    std::fs::write(&notify, format!("#!/bin/sh\ncat >> {}\n", events.display())).unwrap();
    std::fs::set_permissions(&notify, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(&oncall, "# primary this week\nnobody-else\n").unwrap();
    let s = Service::start_with(
        &format!(
            "[[oncall]]\nname = \"pager\"\nfile = \"{}\"\n",
            oncall.display()
        ),
        "auto_approve = \"pager\"",
        &["--notify", notify.to_str().unwrap()],
    );
    let mut args = vec!["request"];
    args.extend_from_slice(ASK);
    // Not on call: pending, for a person.
    let o = s.client(&args);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let pending = out(&o).trim().to_string();
    let o = s.client(&["fetch", &pending]);
    assert_eq!(code(&o), 11, "{}", err(&o));
    // On call: approved at once, by auto:pager; the token names it.
    std::fs::write(&oncall, format!("{}\n", me())).unwrap();
    let mut args = vec!["request", "--wait=5s"];
    args.extend_from_slice(ASK);
    let o = s.client(&args);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let token = out(&o).trim().to_string();
    let o = bin().args(["inspect", "--json", &token]).output().unwrap();
    assert!(
        out(&o).contains("\"approver\": \"auto:pager\""),
        "{}",
        out(&o)
    );
    assert!(s.ledger().contains("\"approver\":\"auto:pager\""));
    // Withdraw the pending one; every event reached the notify command,
    // without the token.
    let o = s.client(&["reject", &pending, "--reason", "done"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let want = ["request", "auto_approved", "withdrawn"];
    let end = Instant::now() + Duration::from_secs(20);
    let got = loop {
        let text = std::fs::read_to_string(&events).unwrap_or_default();
        let got: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if got.len() >= want.len() || Instant::now() > end {
            assert!(!text.contains(&token), "a notification holds the token");
            break got;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut kinds: Vec<&str> = got.iter().map(|v| v["event"].as_str().unwrap()).collect();
    kinds.sort();
    let mut want = want.to_vec();
    want.sort();
    assert_eq!(kinds, want);
    let auto = got.iter().find(|v| v["event"] == "auto_approved").unwrap();
    assert_eq!(auto["by"], "auto:pager");
    assert_eq!(auto["v"], 1);
    // request --wait collects it in the same answer.
    assert_eq!(auto["request"]["state"], "fetched");
}

#[test]
fn a_notify_command_that_hangs_or_fails_delays_nothing() {
    let d = tempfile::tempdir().unwrap();
    for (name, script) in [
        ("hang.sh", "#!/bin/sh\nexec sleep 600\n"),
        ("fail.sh", "#!/bin/sh\nexit 3\n"),
    ] {
        let notify = d.path().join(name);
        std::fs::write(&notify, script).unwrap();
        std::fs::set_permissions(&notify, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let s = Service::start_with("", "", &["--notify", notify.to_str().unwrap()]);
        let mut args = vec!["request"];
        args.extend_from_slice(ASK);
        for _ in 0..3 {
            let o = s.client(&args);
            assert_eq!(code(&o), 0, "{name}: {}", err(&o));
        }
        if name == "fail.sh" {
            let end = Instant::now() + Duration::from_secs(20);
            let log = loop {
                let log =
                    std::fs::read_to_string(s.dir.path().join("serve.log")).unwrap_or_default();
                if log.contains("exited with") || Instant::now() > end {
                    break log;
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            assert!(
                log.contains("notify") && log.contains("exited with"),
                "{log}"
            );
        }
    }
}

/// Poll (bounded) until `status` answers 0; the exit code of the last try.
fn status_until_ok(s: &Service) -> i32 {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let o = s.client(&["status"]);
        if code(&o) == 0 || Instant::now() > end {
            return code(&o);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn one_user_cannot_take_every_call_and_killed_waiters_let_go() {
    let s = Service::start();
    // Eight silent connections: a ninth call by the same user is busy ...
    let mut held: Vec<UnixStream> = (0..8)
        .map(|_| UnixStream::connect(&s.socket).unwrap())
        .collect();
    // Until the service holds all eight: one it took while this test's own
    // status call held a slot was answered `busy` (readable) and is made again.
    let end = Instant::now() + Duration::from_secs(20);
    let busy = loop {
        for h in &mut held {
            h.set_nonblocking(true).unwrap();
            let mut b = [0u8; 1];
            if h.read(&mut b).is_ok() {
                *h = UnixStream::connect(&s.socket).unwrap();
            }
        }
        let o = s.client(&["status"]);
        if code(&o) == 6 || Instant::now() > end {
            break o;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code(&busy), 6, "{}", err(&busy));
    assert!(err(&busy).contains("calls open"), "{}", err(&busy));
    // ... and answers again once they are gone.
    drop(held);
    assert_eq!(status_until_ok(&s), 0);

    // Eight clients waiting for a decision, then killed: their calls end
    // (the service notices they went), and the user can call again.
    let mut args = vec!["request"];
    args.extend_from_slice(ASK);
    let end = Instant::now() + Duration::from_secs(20);
    let o = loop {
        // (the eight closed connections' calls may still be ending)
        let o = s.client(&args);
        if code(&o) != 6 || Instant::now() > end {
            break o;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code(&o), 0, "{}", err(&o));
    let id = out(&o).trim().to_string();
    let waiter = || {
        bin()
            .args(["fetch", "--wait=600s", "--socket"])
            .arg(&s.socket)
            .arg(&id)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut waiters: Vec<Child> = (0..8).map(|_| waiter()).collect();
    // Until all eight wait: a waiter that came in while this test's own
    // status call held a slot was told `busy` and is started again.
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        for w in &mut waiters {
            if let Some(st) = w.try_wait().unwrap() {
                assert_eq!(st.code(), Some(6), "a waiting fetch ended otherwise");
                *w = waiter();
            }
        }
        if code(&s.client(&["status"])) == 6 {
            break;
        }
        assert!(
            Instant::now() < end,
            "the waiting fetches did not take the user's calls"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for w in &mut waiters {
        w.kill().unwrap();
        w.wait().unwrap();
    }
    assert_eq!(status_until_ok(&s), 0);
}

#[test]
fn a_requester_cannot_pile_up_pending_requests() {
    let s = Service::start();
    let mut args = vec!["request"];
    args.extend_from_slice(ASK);
    for _ in 0..16 {
        let o = s.client(&args);
        assert_eq!(code(&o), 0, "{}", err(&o));
    }
    let o = s.client(&args);
    assert_eq!(code(&o), 6, "{}", err(&o));
    assert!(err(&o).contains("16 pending requests"), "{}", err(&o));
}

#[test]
fn concurrent_approvals_share_flushes_and_every_token_is_recorded() {
    let d = tempfile::tempdir().unwrap();
    let oncall = d.path().join("oncall");
    std::fs::write(&oncall, format!("{}\n", me())).unwrap();
    let s = Service::start_with(
        &format!(
            "[[oncall]]\nname = \"pager\"\nfile = \"{}\"\n",
            oncall.display()
        ),
        "auto_approve = \"pager\"",
        &["--max-calls-per-user", "64"],
    );
    // 32 clients at once, each a request that comes back with its token.
    let body = serde_json::json!({
        "v": 1, "op": "request", "collect": true,
        "ask": {"host_groups": ["web"], "commands": ["/usr/bin/systemctl restart nginx"],
                "shell": false, "run_as": ["root"], "run_as_groups": [], "ttl": 1800,
                "not_before": null, "reason": "INC-1", "ticket": null, "max_uses": null}
    })
    .to_string();
    let handles: Vec<_> = (0..32)
        .map(|_| {
            let sock = s.socket.clone();
            let body = body.clone();
            std::thread::spawn(move || {
                let back = raw(&sock, &frame(body.as_bytes()));
                let v: serde_json::Value = serde_json::from_slice(&back[4..]).unwrap();
                v["token"].as_str().map(str::to_string)
            })
        })
        .collect();
    let mut tokens: Vec<String> = handles
        .into_iter()
        .map(|h| h.join().unwrap().expect("every request got its token"))
        .collect();
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 32);
    // Every token has its record, and the ledger verifies with its key and state.
    let ledger = s.dir.path().join("ledger.log");
    let l = jit_core::ledger::load::read_ledger(std::slice::from_ref(&ledger)).unwrap();
    assert_eq!(l.issued.len(), 32);
    let check = jit_core::ledger::load::LedgerCheck {
        seal_key: Some(
            jit_core::log::verify::SealKey::read(&s.dir.path().join("ledger.seal-key.initial"))
                .unwrap(),
        ),
        state: Some(jit_core::log::verify::read_state(&s.dir.path().join("ledger.state")).unwrap()),
        partial: false,
    };
    let r = jit_core::ledger::load::verify_ledger(&[ledger], check).unwrap();
    assert_eq!(
        r.outcome,
        jit_core::log::verify::Outcome::Intact,
        "{:#?}",
        r.findings
    );
}

#[test]
fn collected_requests_are_journaled_and_survive_a_restart_and_a_torn_line() {
    let d = tempfile::tempdir().unwrap();
    let oncall = d.path().join("oncall");
    std::fs::write(&oncall, format!("{}\n", me())).unwrap();
    let mut s = Service::start_with(
        &format!(
            "[[oncall]]\nname = \"pager\"\nfile = \"{}\"\n",
            oncall.display()
        ),
        "auto_approve = \"pager\"",
        &[],
    );
    let body = serde_json::json!({
        "v": 1, "op": "request", "collect": true,
        "ask": {"host_groups": ["web"], "commands": ["/usr/bin/systemctl restart nginx"],
                "shell": false, "run_as": ["root"], "run_as_groups": [], "ttl": 1800,
                "not_before": null, "reason": "INC-1", "ticket": null, "max_uses": null}
    })
    .to_string();
    let collect = |sock: &Path| {
        let back = raw(sock, &frame(body.as_bytes()));
        let v: serde_json::Value = serde_json::from_slice(&back[4..]).unwrap();
        let token = v["token"].as_str().expect("a token").to_string();
        (v["request"]["id"].as_str().unwrap().to_string(), token)
    };
    let got: Vec<(String, String)> = (0..3).map(|_| collect(&s.socket)).collect();
    let requests = s.dir.path().join("state/requests");
    let journal = requests.join("collected.jsonl");
    // One journal line each, no file of their own, no token kept.
    let text = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    for (id, token) in &got {
        assert!(text.contains(id.as_str()));
        assert!(!text.contains(token.as_str()), "the journal holds a token");
        assert!(!requests.join(format!("{id}.json")).exists());
    }
    // A power cut tears the last line; the service starts, ignores it, and
    // the next entry is a line of its own.
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"v\":1,\"id\":\"tor").unwrap();
    s.child = spawn_serve(s.dir.path(), &s.socket, &[]);
    s.wait_ready();
    let (late, _) = collect(&s.socket);
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    s.child = spawn_serve(s.dir.path(), &s.socket, &[]);
    s.wait_ready();
    for id in got.iter().map(|(id, _)| id).chain([&late]) {
        let o = s.client(&["status", id, "--json"]);
        assert_eq!(code(&o), 0, "{}", err(&o));
        assert!(out(&o).contains("\"state\": \"fetched\""), "{}", out(&o));
        // Collected once: fetch says so.
        let o = s.client(&["fetch", id]);
        assert_ne!(code(&o), 0, "{}", out(&o));
    }
    let log = std::fs::read_to_string(s.dir.path().join("serve.log")).unwrap();
    assert!(log.contains("collected.jsonl line 4"), "{log}");
}
