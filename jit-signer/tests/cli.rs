//! CLI tests: run the built binary and check outputs, files and exit codes.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use jit_core::invocation::{Action, Invocation};
use jit_core::keys::TrustedKeys;
use jit_core::token::{decide, Reason, VerifyOptions};

/// jit-signer whose default issuance ledger cannot exist (under /dev/null):
/// a test that records without saying where fails loudly (exit 6) instead
/// of writing the machine's /var/lib/jit-signer/ledger.log.
fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jit-signer"));
    c.env("JIT_LEDGER", "/dev/null/no-ledger-here/ledger.log");
    // A developer's revocation list is not consulted by `issue` here.
    c.env_remove("JIT_REVOCATION_DIR");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn keygen(dir: &Path, kid: &str) -> (String, String) {
    let o = run(&["keygen", "--kid", kid, "--out", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    (
        dir.join(format!("{kid}.key")).to_str().unwrap().to_string(),
        dir.join(format!("{kid}.pub")).to_str().unwrap().to_string(),
    )
}

const NOW: &str = "@1800000000";

/// The ledger of a test: next to its key, in the test's temp dir.
fn ledger_of(key: &str) -> String {
    Path::new(key)
        .parent()
        .unwrap()
        .join("ledger/ledger.log")
        .to_str()
        .unwrap()
        .to_string()
}

fn issue(key: &str, extra: &[&str]) -> Output {
    let ledger = ledger_of(key);
    let mut args = vec![
        "issue",
        "--ledger",
        &ledger,
        "--key",
        key,
        "--user",
        "alice",
        "--host-group",
        "web",
        "--reason",
        "INC-1 test",
        "--now",
        NOW,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn keygen_writes_private_key_0600_and_refuses_to_overwrite() {
    let d = tempfile::tempdir().unwrap();
    let (key, pubf) = keygen(d.path(), "ops-1");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let secret = std::fs::read_to_string(&key).unwrap();
    assert!(secret.starts_with("jit-ed25519-secret-v1 ops-1 "));
    let pubtext = std::fs::read_to_string(&pubf).unwrap();
    let tk = TrustedKeys::parse(&pubtext).unwrap();
    assert_eq!(tk.len(), 1);
    // Second run: refuses, exit 3, files unchanged.
    let o = run(&[
        "keygen",
        "--kid",
        "ops-1",
        "--out",
        d.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("refusing to overwrite"));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), secret);
    // The secret never appears on stdout or stderr.
    let seed = secret.split_whitespace().nth(2).unwrap();
    assert!(!stdout(&o).contains(seed) && !stderr(&o).contains(seed));
    // Bad kid: usage error.
    let o = run(&[
        "keygen",
        "--kid",
        "../x",
        "--out",
        d.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn issued_token_verifies_in_jit_core_and_inspect() {
    let d = tempfile::tempdir().unwrap();
    let (key, pubf) = keygen(d.path(), "ops-1");
    let o = issue(
        &key,
        &[
            "--command",
            "/usr/bin/systemctl restart 'my unit'",
            "--command",
            "/bin/journalctl ...",
            "--ttl",
            "30m",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let tok = stdout(&o).trim().to_string();
    let keys = TrustedKeys::parse(&std::fs::read_to_string(&pubf).unwrap()).unwrap();
    let inv = |argv: &[&str]| Invocation {
        user: "alice".into(),
        host_groups: vec!["web".into()],
        action: Action::Exec {
            argv: argv.iter().map(|s| s.to_string()).collect(),
        },
        run_as_user: "root".into(),
        run_as_group: None,
    };
    let now = 1_800_000_000;
    let opts = VerifyOptions::default();
    let dd = decide(
        &tok,
        &keys,
        now,
        &inv(&["/usr/bin/systemctl", "restart", "my unit"]),
        &opts,
    );
    assert_eq!(dd.reason, Reason::Ok, "{}", dd.message);
    let dd = decide(
        &tok,
        &keys,
        now,
        &inv(&["/usr/bin/systemctl", "restart", "my", "unit"]),
        &opts,
    );
    assert_eq!(dd.reason, Reason::CommandNotGranted);
    let dd = decide(&tok, &keys, now, &inv(&["/bin/journalctl", "-f"]), &opts);
    assert_eq!(dd.reason, Reason::Ok);
    let dd = decide(
        &tok,
        &keys,
        now + 1800 + 60,
        &inv(&["/bin/journalctl"]),
        &opts,
    );
    assert_eq!(dd.reason, Reason::Expired);

    // inspect with keys, via stdin.
    let mut child = bin()
        .args([
            "inspect",
            "--trusted-keys",
            &pubf,
            "--now",
            NOW,
            "--json",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{tok}").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["reason"], "ok");
    assert_eq!(v["claims"]["sub"], "alice");
    assert_eq!(v["claims"]["exp"], 1_800_000_000 + 1800);
    assert_eq!(v["claims"]["run_as"][0], "root");

    // Later: expired, exit 1, message says how long ago.
    let o = run(&[
        "inspect",
        "--trusted-keys",
        &pubf,
        "--now",
        "@1800002040",
        &tok,
    ]);
    assert_eq!(code(&o), 1);
    assert!(
        stdout(&o).contains("token expired 4 min ago (expired)"),
        "{}",
        stdout(&o)
    );

    // Without keys: decoded only, exit 0, says it is not verified.
    let o = run(&["inspect", &tok]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("NOT VERIFIED"));

    // Another key's trust file: unknown kid, exit 1.
    let d2 = tempfile::tempdir().unwrap();
    let (_, pub2) = keygen(d2.path(), "ops-2");
    let o = run(&[
        "inspect",
        "--trusted-keys",
        &pub2,
        "--now",
        NOW,
        "--json",
        &tok,
    ]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["reason"], "unknown_kid");

    // Garbage: rejected, exit 1.
    let o = run(&["inspect", "--json", "not*base64"]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["reason"], "bad_base64");
}

#[test]
fn issue_json_has_claims_and_token_and_defaults() {
    let d = tempfile::tempdir().unwrap();
    let (key, _) = keygen(d.path(), "ops-1");
    let o = issue(
        &key,
        &[
            "--command",
            "/bin/true",
            "--edit",
            "/etc/hosts",
            "--ticket",
            "CHG-9",
            "--approver",
            "bob",
            "--json",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["token"].as_str().unwrap().len() > 100);
    assert_eq!(
        v["claims"]["exp"].as_i64().unwrap() - v["claims"]["nbf"].as_i64().unwrap(),
        3600
    );
    assert_eq!(v["claims"]["run_as"], serde_json::json!(["root"]));
    assert_eq!(
        v["claims"]["cmds"][1]["argv"],
        serde_json::json!(["sudoedit", "/etc/hosts"])
    );
    assert_eq!(v["claims"]["shell"], false);
    assert_eq!(v["claims"]["ticket"], "CHG-9");
}

#[test]
fn issue_refusals_and_exit_codes() {
    let d = tempfile::tempdir().unwrap();
    let (key, _) = keygen(d.path(), "ops-1");
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["--command", "/bin/true", "--ttl", "59s"],
            2,
            "between 1 min and 24 h",
        ),
        (
            &["--command", "/bin/true", "--ttl", "24h 1s"],
            2,
            "between 1 min and 24 h",
        ),
        (&["--command", "/bin/true", "--ttl", "soon"], 2, "--ttl"),
        (
            &["--command", "/bin/true", "--not-before", "@1799999000"],
            2,
            "in the past",
        ),
        (
            &["--command", "/bin/true", "--not-before", "yesterday"],
            2,
            "--not-before",
        ),
        (&["--command", "true"], 2, "absolute path"),
        (&["--command", "/bin/ls ... -l"], 2, "last word"),
        (&["--command", "'/bin/ls"], 2, "unterminated"),
        (&[], 2, "nothing granted"),
        (
            &["--command", "/bin/true", "--edit", "etc/hosts"],
            2,
            "absolute",
        ),
        (
            &["--command", "/bin/true", "--max-uses", "0"],
            2,
            "at least 1",
        ),
    ];
    for (extra, want, msg) in cases {
        let o = issue(&key, extra);
        assert_eq!(code(&o), *want, "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(msg), "{extra:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty());
    }
    // TTL bounds are inclusive.
    assert_eq!(
        code(&issue(&key, &["--command", "/bin/true", "--ttl", "1m"])),
        0
    );
    assert_eq!(
        code(&issue(&key, &["--command", "/bin/true", "--ttl", "24h"])),
        0
    );
    // Future not-before is fine; exp = nbf + ttl.
    let o = issue(
        &key,
        &[
            "--command",
            "/bin/true",
            "--not-before",
            "+2h",
            "--ttl",
            "10m",
            "--json",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["claims"]["nbf"], 1_800_000_000 + 7200);
    assert_eq!(v["claims"]["exp"], 1_800_000_000 + 7200 + 600);
    // Missing required flag: clap usage error 2.
    let o = run(&[
        "issue",
        "--ledger",
        &ledger_of(&key),
        "--key",
        &key,
        "--user",
        "alice",
        "--command",
        "/bin/true",
        "--reason",
        "x",
    ]);
    assert_eq!(code(&o), 2);
}

#[test]
fn key_file_permissions_and_content_are_checked() {
    let d = tempfile::tempdir().unwrap();
    let (key, _) = keygen(d.path(), "ops-1");
    for mode in [0o640, 0o604, 0o601, 0o660] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        let o = issue(&key, &["--command", "/bin/true"]);
        assert_eq!(code(&o), 4, "mode {mode:o}");
        assert!(stderr(&o).contains("chmod 600"), "{}", stderr(&o));
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
    assert_eq!(code(&issue(&key, &["--command", "/bin/true"])), 0);
    // Owned by someone else (who could replace it): key error 4.
    let me = nix::unistd::geteuid().as_raw();
    nix::unistd::chown(
        std::path::Path::new(&key),
        Some(nix::unistd::Uid::from_raw(me + 1)),
        None,
    )
    .unwrap();
    let o = issue(&key, &["--command", "/bin/true"]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(stderr(&o).contains("not by you"), "{}", stderr(&o));
    nix::unistd::chown(
        std::path::Path::new(&key),
        Some(nix::unistd::Uid::from_raw(me)),
        None,
    )
    .unwrap();
    // Missing file: I/O error 3.
    let missing = d.path().join("nope.key");
    assert_eq!(
        code(&issue(
            missing.to_str().unwrap(),
            &["--command", "/bin/true"]
        )),
        3
    );
    // A public key where a secret is expected: key error 4.
    let pubf = d.path().join("ops-1.pub");
    std::fs::set_permissions(&pubf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = issue(pubf.to_str().unwrap(), &["--command", "/bin/true"]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    // An invalid trusted-keys file: key error 4, naming the line.
    let bad = d.path().join("bad-keys");
    std::fs::write(&bad, "# x\nops-1 ed25519 AAAA\n").unwrap();
    let o = run(&["inspect", "--trusted-keys", bad.to_str().unwrap(), "AAAA"]);
    assert_eq!(code(&o), 4);
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
}

#[test]
fn broken_pipe_is_quiet() {
    let d = tempfile::tempdir().unwrap();
    let (key, _) = keygen(d.path(), "ops-1");
    let tok = stdout(&issue(&key, &["--command", "/bin/true"]))
        .trim()
        .to_string();
    let mut child = bin()
        .args(["inspect", &tok])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

/// Run `c` with stdout a pipe whose read end is already closed: every write
/// to stdout fails with EPIPE (Rust ignores SIGPIPE), deterministically.
fn output_into_closed_pipe(c: &mut Command) -> Output {
    let (r, w) = nix::unistd::pipe().unwrap();
    drop(r);
    c.stdout(Stdio::from(w))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_token_that_cannot_be_delivered_is_not_a_success() {
    let d = tempfile::tempdir().unwrap();
    let (key, _) = keygen(d.path(), "ops-1");
    let ledger = ledger_of(&key);
    for json in [false, true] {
        let mut c = bin();
        c.args([
            "issue", "--ledger", &ledger, "--key", &key, "--user", "alice",
        ])
        .args([
            "--host-group",
            "web",
            "--command",
            "/bin/true",
            "--reason",
            "r",
        ]);
        if json {
            c.arg("--json");
        }
        let o = output_into_closed_pipe(&mut c);
        let e = stderr(&o);
        assert_eq!(code(&o), 10, "{e}");
        // Issued and recorded: the ledger's last record is this token's.
        let text = std::fs::read_to_string(&ledger).unwrap();
        let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(last["kind"], "issued");
        let cti = last["token_id"].as_str().unwrap();
        assert!(
            e.contains(&format!("token {cti} for alice was issued and recorded")),
            "{e}"
        );
        assert!(e.contains(&format!("(record seq {})", last["seq"])), "{e}");
        assert!(e.contains(&format!("revoke --token-id {cti}")), "{e}");
        assert!(e.contains("Broken pipe"), "{e}");
    }
    // Output that can be produced again stays quiet on a closed pipe.
    let o = output_into_closed_pipe(bin().args(["inspect", "AAAA"]));
    assert_eq!(stderr(&o), "");
}

const POLICY: &str = r#"
[[rule]]
name = "web-restart"
users = ["alice", "root"]
host_groups = ["web"]
commands = ["/usr/bin/systemctl restart nginx"]
max_ttl = "2h"
approvers = ["root", "bob"]

[[rule]]
name = "self-service"
users = ["alice"]
host_groups = ["web"]
commands = ["/usr/bin/uptime"]
max_ttl = "1h"
approval = false
"#;

fn policy_file(dir: &Path, text: &str) -> String {
    let p = dir.join("policy.toml");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn issue_policy_refusals_name_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = keygen(&dir.path().join("k"), "k1");
    let pol = policy_file(dir.path(), POLICY);
    // Needs approval: refused with exit 5 and a pointer to `request`.
    let o = issue(
        &key,
        &[
            "--policy",
            &pol,
            "--command",
            "/usr/bin/systemctl restart nginx",
        ],
    );
    assert_eq!(code(&o), 7, "{}", stderr(&o));
    assert!(stderr(&o).contains("rule web-restart requires approval: use jit-signer request"));
    // Covered by a rule without approval: issued.
    let o = issue(&key, &["--policy", &pol, "--command", "/usr/bin/uptime"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // One extra argument: refused, closest rule named.
    let o = issue(&key, &["--policy", &pol, "--command", "/usr/bin/uptime -p"]);
    assert_eq!(code(&o), 7);
    assert!(
        stderr(&o).contains(": command /usr/bin/uptime -p is not granted"),
        "{}",
        stderr(&o)
    );
    // TTL one second over.
    let o = issue(
        &key,
        &[
            "--policy",
            &pol,
            "--command",
            "/usr/bin/uptime",
            "--ttl",
            "1h1s",
        ],
    );
    assert_eq!(code(&o), 7);
    // --approver is never taken from a flag under a policy.
    let o = issue(
        &key,
        &[
            "--policy",
            &pol,
            "--command",
            "/usr/bin/uptime",
            "--approver",
            "bob",
        ],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    // An invalid policy is a usage error naming the rule.
    let bad = policy_file(dir.path(), &format!("{POLICY}\n[[rule]]\nname = \"self-service\"\nusers = [\"a\"]\nhost_groups = [\"h\"]\nshell = true\nmax_ttl = \"1h\"\napproval = false\n"));
    let o = issue(&key, &["--policy", &bad, "--command", "/usr/bin/uptime"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("rule self-service (#3): duplicate rule name"),
        "{}",
        stderr(&o)
    );
}

fn running_as_root() -> bool {
    // The uid of this test process, read from /proc (no unsafe code).
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        .unwrap_or(false)
}

#[test]
fn the_running_signer_is_not_dumpable() {
    use std::os::unix::fs::MetadataExt as _;
    use std::os::unix::process::CommandExt as _;
    // `inspect -` blocks reading stdin: a running jit-signer to look at.
    // As root the child runs as nobody, so that /proc shows the difference
    // (a dumpable process's /proc/PID files belong to its own uid, a
    // non-dumpable one's to root) and the reader below is a plain process
    // of the same user; otherwise both run as the caller.
    let as_nobody = running_as_root();
    let mut c = bin();
    c.args(["inspect", "-"])
        .env("JIT_PKCS11_PIN", "pin-in-the-environment")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if as_nobody {
        c.uid(65534).gid(65534);
    }
    let mut child = c.spawn().unwrap();
    let proc_dir = format!("/proc/{}", child.id());
    let owner = || std::fs::metadata(format!("{proc_dir}/environ")).map(|m| m.uid());
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while owner().unwrap() != 0 && std::time::Instant::now() < end {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let still_running = child.try_wait().unwrap().is_none();
    let owned_by = owner().unwrap();
    // Another process of the same user cannot read its environment (the
    // PKCS#11 PIN) or, by the same kernel check, its memory.
    let mut cat = Command::new("/bin/cat");
    cat.arg(format!("{proc_dir}/environ"));
    if as_nobody {
        cat.uid(65534).gid(65534);
    }
    let peek = cat.output().unwrap();
    drop(child.stdin.take());
    let o = child.wait_with_output().unwrap();
    assert!(still_running, "jit-signer exited early: {}", stderr(&o));
    assert_eq!(
        owned_by, 0,
        "{proc_dir} is not root's: the process is dumpable"
    );
    assert!(
        !peek.status.success(),
        "same-user read of {proc_dir}/environ succeeded"
    );
    assert!(!String::from_utf8_lossy(&peek.stdout).contains("pin-in-the-environment"));
    assert_eq!(code(&o), 1, "{}", stderr(&o)); // an empty token is rejected
}

#[test]
fn development_tasks_are_not_subcommands() {
    // The vector generator, the interop decision and the man page/completion
    // generator are in the workspace's xtask crate, not in the package.
    for task in ["gen-vectors", "decide", "gen-docs"] {
        let o = run(&[task, "--help"]);
        assert_eq!(code(&o), 2, "{task}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("unrecognized subcommand"),
            "{task}: {}",
            stderr(&o)
        );
    }
}
