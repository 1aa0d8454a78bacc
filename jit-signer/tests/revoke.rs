//! `jit-signer revoke`: versions, carried entries, pruning, --show, exit codes.

use std::path::Path;
use std::process::{Command, Output};

use jit_core::keys::TrustedKeys;
use jit_core::revocation;

/// The issuance ledger of a run: next to its `--state` directory (inside the
/// test's temp dir); without one, a path that cannot be created.
fn ledger_for(args: &[&str]) -> String {
    match args.iter().position(|a| *a == "--state") {
        Some(i) if i + 1 < args.len() => format!("{}.ledger/ledger.log", args[i + 1]),
        _ => "/dev/null/no-ledger-here/ledger.log".into(),
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jit-signer"))
        .args(args)
        .env_remove("JIT_REVOCATION_DIR")
        .env("JIT_LEDGER", ledger_for(args))
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn current(state: &Path, keys: &TrustedKeys, now: i64) -> revocation::RevocationList {
    let text = std::fs::read_to_string(state.join("revocation.list")).unwrap();
    revocation::verify_text(&text, keys, now).unwrap().list
}

#[test]
fn versions_carry_entries_prune_and_show() {
    let d = tempfile::tempdir().unwrap();
    let o = run(&["keygen", "--kid", "rk", "--out", d.path().to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let key = d.path().join("rk.key");
    let key = key.to_str().unwrap();
    let keys =
        TrustedKeys::parse(&std::fs::read_to_string(d.path().join("rk.pub")).unwrap()).unwrap();
    let st = d.path().join("state");
    let st = st.to_str().unwrap();
    let id_a = "00112233445566778899aabbccddeeff";
    let base = ["revoke", "--key", key, "--state", st];
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        run(&a)
    };
    // Nothing to do: usage error, nothing written.
    let o = with(&["--now", "@1000000"]);
    assert_eq!(code(&o), 2, "{}", err(&o));
    assert!(!Path::new(st).join("revocation.list").exists());
    // Bad inputs.
    assert_eq!(code(&with(&["--token-id", "xyz"])), 2);
    assert_eq!(code(&with(&["--user", "a b"])), 2);
    assert_eq!(code(&with(&["--token", "not a token"])), 2);
    // --token's claims are not verified, so its expiry can only extend the
    // entry: a copy of a token with its exp moved into the past must not be
    // pruned at once (the real token would stay valid).
    let sk = jit_core::keys::SigningKeyWithKid::from_seed("other", &[9u8; 32]).unwrap();
    let stale = jit_core::token::Claims {
        iss: "t".into(),
        sub: "alice".into(),
        iat: 100,
        nbf: 100,
        exp: 900,
        cti: [0x5a; 16],
        hosts: vec!["web".into()],
        cmds: vec![jit_core::token::parse_command("/usr/bin/true").unwrap()],
        run_as: vec!["root".into()],
        run_as_groups: vec![],
        shell: false,
        reason: "t".into(),
        ticket: None,
        approver: None,
        break_glass: false,
        max_uses: None,
    };
    let tok = jit_core::token::issue_b64(&stale, &sk).unwrap();
    let st2 = d.path().join("state-token");
    let o = run(&[
        "revoke",
        "--key",
        key,
        "--state",
        st2.to_str().unwrap(),
        "--now",
        "@1000000",
        "--token",
        &tok,
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let l = current(&st2, &keys, 1_000_000);
    assert_eq!(l.tokens.get(&[0x5a; 16]), Some(&(1_000_000 + 30 * 86_400)));
    // v1: a token id expiring at 1000100.
    let o = with(&["--now", "@1000000", "--token-id", id_a, "--exp", "@1000100"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let l = current(Path::new(st), &keys, 1_000_000);
    assert_eq!(l.version, 1);
    assert_eq!(l.iss, "rk");
    assert_eq!(l.tokens.len(), 1);
    // v2: a user and a watermark; the id is carried over.
    let o = with(&["--now", "@1000050", "--user", "mallory", "--json"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], 2);
    let o = with(&["--now", "@1000060", "--user", "alice", "--before"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let l = current(Path::new(st), &keys, 1_000_060);
    assert_eq!(l.version, 3);
    assert!(l.users.contains("mallory") && !l.users.contains("alice"));
    assert_eq!(l.watermarks["alice"], 1_000_060);
    assert_eq!(l.tokens.len(), 1);
    // A watermark never moves back.
    let o = with(&["--now", "@1000070", "--user", "alice", "--before", "@5"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(
        current(Path::new(st), &keys, 1_000_070).watermarks["alice"],
        1_000_060
    );
    // Past exp + 600 s the id is pruned; users stay; restore-user lifts one.
    let o = with(&["--now", "@1000701", "--restore-user", "mallory"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let l = current(Path::new(st), &keys, 1_000_701);
    assert_eq!(l.version, 5);
    assert!(l.tokens.is_empty() && l.users.is_empty());
    assert_eq!(l.watermarks.len(), 1);
    // --show verifies with --trusted-keys; another key's list is rejected (exit 1).
    let pubf = d.path().join("rk.pub");
    let o = run(&[
        "revoke",
        "--state",
        st,
        "--show",
        "--trusted-keys",
        pubf.to_str().unwrap(),
        "--now",
        "@1000701",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("version:    5"));
    let o = run(&[
        "keygen",
        "--kid",
        "other",
        "--out",
        d.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0);
    let other = d.path().join("other.pub");
    let o = run(&[
        "revoke",
        "--state",
        st,
        "--show",
        "--trusted-keys",
        other.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stdout).contains("unknown_kid"));
    // A corrupt current list: exit 8, and it is not overwritten.
    std::fs::write(Path::new(st).join("revocation.list"), "garbage\n").unwrap();
    let o = with(&["--user", "x"]);
    assert_eq!(code(&o), 8, "{}", err(&o));
    assert_eq!(
        std::fs::read_to_string(Path::new(st).join("revocation.list")).unwrap(),
        "garbage\n"
    );
}

#[test]
fn every_list_is_recorded_in_the_ledger_before_it_is_written() {
    let d = tempfile::tempdir().unwrap();
    let o = run(&[
        "keygen",
        "--kid",
        "rv-led",
        "--out",
        d.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let key = d.path().join("rv-led.key");
    let state = d.path().join("state");
    let (k, s) = (key.to_str().unwrap(), state.to_str().unwrap());
    let o = run(&[
        "revoke", "--key", k, "--state", s, "--user", "mallory", "--reason", "left",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let ledger = std::fs::read_to_string(format!("{s}.ledger/ledger.log")).unwrap();
    let last: serde_json::Value = serde_json::from_str(ledger.lines().last().unwrap()).unwrap();
    assert_eq!(last["kind"], "revoked");
    assert_eq!(last["revocation_version"], 1);
    assert_eq!(last["revoked_users"][0], "mallory");
    assert_eq!(last["token_reason"], "left");
    // No record, no list: an unwritable ledger leaves version 1 in place.
    let o = Command::new(env!("CARGO_BIN_EXE_jit-signer"))
        .args(["revoke", "--key", k, "--state", s, "--user", "eve"])
        .env("JIT_LEDGER", "/dev/null/no-ledger-here/ledger.log")
        .output()
        .unwrap();
    assert_eq!(code(&o), 6, "{}", err(&o));
    let keys =
        TrustedKeys::parse(&std::fs::read_to_string(d.path().join("rv-led.pub")).unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let l = current(&state, &keys, now);
    assert_eq!(l.version, 1);
    assert!(!l.users.contains("eve"));
}

/// A fixed Ed25519 public key line (blob: type string and 32 bytes of `n`).
fn ed25519_line(n: u8) -> (String, Vec<u8>) {
    use base64::Engine as _;
    let mut blob = Vec::new();
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(&[n; 32]);
    let line = format!(
        "ssh-ed25519 {} test-{n}\n",
        base64::engine::general_purpose::STANDARD.encode(&blob)
    );
    (line, blob)
}

#[test]
fn certificates_by_serial_key_id_and_key_are_carried_and_pruned() {
    use revocation::ssh;
    let d = tempfile::tempdir().unwrap();
    let o = run(&["keygen", "--kid", "rk", "--out", d.path().to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let key = d.path().join("rk.key");
    let key = key.to_str().unwrap();
    let keys =
        TrustedKeys::parse(&std::fs::read_to_string(d.path().join("rk.pub")).unwrap()).unwrap();
    let st = d.path().join("state");
    let st = st.to_str().unwrap();
    let (ca_line, ca_blob) = ed25519_line(1);
    let (user_line, user_blob) = ed25519_line(2);
    let ca = d.path().join("ca.pub");
    let user = d.path().join("user.pub");
    std::fs::write(&ca, &ca_line).unwrap();
    std::fs::write(&user, &user_line).unwrap();
    let (ca, user) = (ca.to_str().unwrap(), user.to_str().unwrap());
    let with = |extra: &[&str]| {
        let mut a = vec!["revoke", "--key", key, "--state", st];
        a.extend_from_slice(extra);
        run(&a)
    };
    let o = with(&[
        "--now",
        "@1000000",
        "--exp",
        "@1003600",
        "--ssh-serial",
        "7",
        "--ssh-serial",
        "9",
        "--ssh-ca",
        ca,
        "--ssh-key-id",
        "grant-1",
        "--ssh-key",
        user,
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let l = current(Path::new(st), &keys, 1_000_000);
    assert_eq!(l.version, 1);
    assert_eq!(
        l.ssh_serials[&ca_blob]
            .iter()
            .map(|(s, e)| (*s, *e))
            .collect::<Vec<_>>(),
        [(7, 1_003_600), (9, 1_003_600)]
    );
    assert_eq!(l.ssh_key_ids["grant-1"], 1_003_600);
    assert!(l.ssh_keys.contains(&ssh::fingerprint(&user_blob)));
    // The same key given as its fingerprint text is the same entry.
    let fp = ssh::fingerprint_text(&ssh::fingerprint(&user_blob));
    let o = with(&["--now", "@1000001", "--ssh-key", &fp]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let l = current(Path::new(st), &keys, 1_000_001);
    assert_eq!((l.version, l.ssh_keys.len()), (2, 1));
    // Pruned after exp + 600 s like token ids; keys stay.
    let o = with(&[
        "--now",
        "@1004201",
        "--token-id",
        "00112233445566778899aabbccddeeff",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let l = current(Path::new(st), &keys, 1_004_201);
    assert!(l.ssh_serials.is_empty() && l.ssh_key_ids.is_empty());
    assert_eq!(l.ssh_keys.len(), 1);
    // Refused: serial 0, --ssh-serial without --ssh-ca, a non-Ed25519 CA, a
    // certificate as a key, a bad fingerprint or key id. Nothing written.
    let rsa = d.path().join("rsa.pub");
    std::fs::write(&rsa, user_line.replace("ssh-ed25519 ", "ssh-rsa ")).unwrap();
    let cert = d.path().join("cert.pub");
    std::fs::write(
        &cert,
        user_line.replace("ssh-ed25519 ", "ssh-ed25519-cert-v01@openssh.com "),
    )
    .unwrap();
    for bad in [
        vec!["--ssh-serial", "0", "--ssh-ca", ca],
        vec!["--ssh-serial", "3"],
        vec!["--ssh-serial", "3", "--ssh-ca", rsa.to_str().unwrap()],
        vec!["--ssh-key", cert.to_str().unwrap()],
        vec!["--ssh-key", "SHA256:AAAA"],
        vec!["--ssh-key-id", "two words"],
    ] {
        let o = with(&bad);
        assert_eq!(code(&o), 2, "{bad:?}: {}", err(&o));
    }
    assert_eq!(current(Path::new(st), &keys, 1_004_201).version, 3);
    // --show prints them.
    let o = run(&["revoke", "--state", st, "--show"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!("revoked ssh keys (1):\n  {fp}")),
        "{out}"
    );
}
