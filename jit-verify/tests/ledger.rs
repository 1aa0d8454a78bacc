//! End to end through both binaries: a ledger written by the real
//! `jit-signer issue`, queried with the real `jit-verify standing` / `report`.
//!
//! jit-signer is taken from the same target directory as jit-verify (cargo
//! builds every workspace binary for `cargo test --workspace`); a missing
//! binary fails the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn verify_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_jit-verify"))
}

fn signer_bin() -> PathBuf {
    let p = verify_bin().with_file_name("jit-signer");
    assert!(
        p.is_file(),
        "{} missing: build the workspace (cargo test --workspace builds it)",
        p.display()
    );
    p
}

fn run(bin: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env_remove("JIT_LEDGER")
        // The ledger's times below are UTC: read the typed ones as UTC too.
        .env("TZ", "UTC")
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

// Tokens are issued with --now @1800000000 = 2027-01-15T08:00:00Z.

#[test]
fn signer_ledger_answers_standing_and_report() {
    let d = tempfile::tempdir().unwrap();
    let s = signer_bin();
    let dir = d.path().to_str().unwrap();
    ok(&run(&s, &["keygen", "--kid", "k1", "--out", dir]));
    let key = format!("{dir}/k1.key");
    let ledger = format!("{dir}/ledger/ledger.log");
    let issue = |extra: &[&str]| {
        let mut a = vec![
            "issue",
            "--key",
            &key,
            "--ledger",
            &ledger,
            "--signer-name",
            "signer-test",
            "--now",
            "@1800000000",
            "--reason",
            "INC-7",
        ];
        a.extend_from_slice(extra);
        run(&s, &a)
    };
    // alice: 08:00-09:00 on db; bob: 08:30-08:40 on web, approved, break-glass.
    let a = ok(&issue(&[
        "--user",
        "alice",
        "--host-group",
        "db",
        "--command",
        "/usr/bin/systemctl restart pg ...",
        "--ttl",
        "1h",
        "--json",
    ]));
    let a: serde_json::Value = serde_json::from_str(&a).unwrap();
    let alice_id = a["claims"]["cti"].as_str().unwrap().to_string();
    ok(&issue(&[
        "--user",
        "bob",
        "--host-group",
        "web",
        "--shell",
        "--not-before",
        "+30m",
        "--ttl",
        "10m",
        "--approver",
        "carol",
        "--break-glass",
    ]));
    // A refused request (TTL out of range): exit 2, recorded.
    let o = issue(&[
        "--user",
        "alice",
        "--host-group",
        "db",
        "--command",
        "/bin/true",
        "--ttl",
        "25h",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());

    // The ledger is a log: jit-verify log passes it, with key and state.
    let v = verify_bin();
    let st = format!("{dir}/ledger/ledger.state");
    let sk = format!("{dir}/ledger/ledger.seal-key.initial");
    ok(&run(
        &v,
        &["log", "--seal-key", &sk, "--state", &st, &ledger],
    ));

    let standing = |at: &str| {
        let o = run(
            &v,
            &[
                "standing",
                "--at",
                at,
                "--ledger",
                &ledger,
                "--seal-key",
                &sk,
                "--json",
            ],
        );
        let j: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
        assert_eq!(j["verified"], true);
        j["live"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["user"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(standing("2027-01-15T08:00:00Z"), ["alice"]);
    assert_eq!(standing("2027-01-15 08:35"), ["alice", "bob"]);
    assert_eq!(
        standing("2027-01-15T08:40:00Z"),
        ["alice"],
        "bob's exp excluded"
    );
    assert!(
        standing("2027-01-15T09:00:00Z").is_empty(),
        "alice's exp excluded"
    );
    assert!(standing("2027-01-15T07:59:59Z").is_empty());
    // --at is local time: 09:35 in Berlin (CET, +01:00) is 08:35 UTC.
    let o = Command::new(&v)
        .args([
            "standing",
            "--at",
            "2027-01-15 09:35",
            "--ledger",
            &ledger,
            "--json",
        ])
        .env("TZ", "CET-1CEST,M3.5.0,M10.5.0/3")
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(j["at"], "2027-01-15T08:35:00.000000Z");
    assert_eq!(j["live"].as_array().unwrap().len(), 2);
    let o = run(
        &v,
        &["standing", "--at", "2027-01-15 08:35", "--ledger", &ledger],
    );
    let text = ok(&o);
    assert!(text.contains(&alice_id), "{text}");
    assert!(text.contains("[BREAK-GLASS]"), "{text}");
    assert!(text.contains("/usr/bin/systemctl restart pg ..."), "{text}");

    // report without host logs: both grants unused, one refusal.
    let o = run(&v, &["report", "--ledger", &ledger, "--json"]);
    let j: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(j["json_version"], 1);
    assert_eq!(j["totals"]["grants_issued"], 2);
    assert_eq!(j["totals"]["grants_used"], 0);
    assert_eq!(j["totals"]["refused_requests"], 1);
    assert_eq!(j["totals"]["refused_by_reason"]["ttl_out_of_range"], 1);
    assert_eq!(j["totals"]["break_glass_grants"], 1);
    assert_eq!(j["totals"]["ttl_granted_secs"], 3600 + 600);

    // One changed byte: standing and report refuse (exit 1) naming the line.
    let mut b = std::fs::read(&ledger).unwrap();
    let at = b.windows(5).position(|w| w == b"\"bob\"").unwrap() + 1;
    b[at] = b'r';
    std::fs::write(&ledger, &b).unwrap();
    for args in [
        vec!["standing", "--at", "2027-01-15 08:35", "--ledger", &ledger],
        vec!["report", "--ledger", &ledger],
    ] {
        let o = run(&v, &args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            o.stdout.is_empty(),
            "{args:?}: answered from a tampered ledger"
        );
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains("[bad_hash] ") && e.contains("ledger.log:3: seq "),
            "{e}"
        );
        assert!(e.contains("refusing to answer"), "{e}");
    }
    // --unverified answers, loudly, and still exits 1.
    let o = run(
        &v,
        &[
            "standing",
            "--at",
            "2027-01-15 08:35",
            "--ledger",
            &ledger,
            "--unverified",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("UNVERIFIED LEDGER"));
    // A bad time is an error (2), not an answer.
    let o = run(
        &v,
        &["standing", "--at", "last tuesday", "--ledger", &ledger],
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn no_record_no_token() {
    let d = tempfile::tempdir().unwrap();
    let s = signer_bin();
    let dir = d.path().to_str().unwrap();
    ok(&run(&s, &["keygen", "--kid", "k1", "--out", dir]));
    // The ledger's directory is a file: the ledger cannot be written.
    std::fs::write(d.path().join("blocked"), b"").unwrap();
    let ledger = format!("{dir}/blocked/ledger.log");
    let o = run(
        &s,
        &[
            "issue",
            "--key",
            &format!("{dir}/k1.key"),
            "--ledger",
            &ledger,
            "--user",
            "alice",
            "--host-group",
            "db",
            "--command",
            "/bin/true",
            "--reason",
            "x",
        ],
    );
    assert_eq!(o.status.code(), Some(6));
    assert!(
        o.stdout.is_empty(),
        "a token was printed without a ledger record"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("no token was issued"));
    // JIT_LEDGER is honoured when --ledger is absent.
    let o = Command::new(&s)
        .args([
            "issue",
            "--key",
            &format!("{dir}/k1.key"),
            "--user",
            "alice",
            "--host-group",
            "db",
            "--command",
            "/bin/true",
            "--reason",
            "x",
        ])
        .env("JIT_LEDGER", format!("{dir}/env/ledger.log"))
        .output()
        .unwrap();
    ok(&o);
    assert!(d.path().join("env/ledger.log").is_file());
}

#[test]
fn rotated_segments_in_any_order_cut_tail_and_foreign_ledgers() {
    let d = tempfile::tempdir().unwrap();
    let s = signer_bin();
    let v = verify_bin();
    let dir = d.path().to_str().unwrap();
    ok(&run(&s, &["keygen", "--kid", "k1", "--out", dir]));
    let key = format!("{dir}/k1.key");
    let issue = |ledger: &str, user: &str| {
        ok(&run(
            &s,
            &[
                "issue",
                "--key",
                &key,
                "--ledger",
                ledger,
                "--user",
                user,
                "--host-group",
                "db",
                "--command",
                "/bin/true",
                "--reason",
                "r",
                "--now",
                "@1800000000",
            ],
        ))
    };
    let ledger = format!("{dir}/l/ledger.log");
    issue(&ledger, "alice");
    // logrotate's way: rename, the next writer starts a new segment with a continue record.
    std::fs::rename(&ledger, format!("{ledger}.1")).unwrap();
    issue(&ledger, "bob");
    let seg1 = format!("{ledger}.1");
    // Newest first on the command line (as a glob gives them): sorted by first seq.
    let o = run(
        &v,
        &[
            "standing",
            "--at",
            "2027-01-15 08:30",
            "--ledger",
            &ledger,
            &seg1,
            "--json",
        ],
    );
    let j: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(j["json_version"], 1);
    assert_eq!(j["live"].as_array().unwrap().len(), 2);
    // Only the newest segment: refused (its chain starts with continue) unless --partial.
    let o = run(
        &v,
        &["standing", "--at", "2027-01-15 08:30", "--ledger", &ledger],
    );
    assert_eq!(o.status.code(), Some(1));
    let o = run(
        &v,
        &[
            "standing",
            "--at",
            "2027-01-15 08:30",
            "--ledger",
            &ledger,
            "--partial",
            "--json",
        ],
    );
    let j: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(j["live"][0]["user"], "bob");
    // The last record cut off: invisible without an anchor, refused with --state.
    let text = std::fs::read_to_string(&ledger).unwrap();
    let keep: String = text.lines().take(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(&ledger, keep).unwrap();
    let st = format!("{dir}/l/ledger.state");
    let o = run(
        &v,
        &[
            "standing",
            "--at",
            "2027-01-15 08:30",
            "--ledger",
            &ledger,
            &seg1,
            "--state",
            &st,
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("[state_mismatch]"));
    // Two ledgers (two signers) at once: grouped by log id, each verified,
    // answered from together.
    let other = format!("{dir}/m/ledger.log");
    issue(&other, "carol");
    let o = run(
        &v,
        &[
            "standing",
            "--at",
            "2027-01-15 08:30",
            "--ledger",
            &seg1,
            &other,
            "--json",
        ],
    );
    let j: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    let users: Vec<&str> = j["live"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["user"].as_str().unwrap())
        .collect();
    assert!(
        users.contains(&"alice") && users.contains(&"carol"),
        "{users:?}"
    );
    assert_eq!(j["verification"].as_array().unwrap().len(), 2);
    // Each seal key goes to the ledger of its log id (either order).
    let key_m = format!("{dir}/m/ledger.seal-key.initial");
    let key_l = format!("{dir}/l/ledger.seal-key.initial");
    let o = run(
        &v,
        &[
            "standing",
            "--at",
            "2027-01-15 08:30",
            "--ledger",
            &seg1,
            &other,
            "--seal-key",
            &key_m,
            "--seal-key",
            &key_l,
        ],
    );
    let text = ok(&o);
    assert!(text.contains("in 2 ledgers"), "{text}");
    // A key of neither ledger: refused.
    let o = run(
        &v,
        &[
            "standing",
            "--at",
            "2027-01-15 08:30",
            "--ledger",
            &other,
            "--seal-key",
            &key_m,
            "--seal-key",
            &key_l,
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("matches no --ledger"));
}
