//! jit-signer with an Ed25519 key in a PKCS#11 token (SoftHSM2): key
//! generation in the token, issuance, and every way selecting or using the
//! key must fail. Each test has its own throwaway token (tests/common).

mod common;

use std::os::unix::fs::PermissionsExt as _;

use common::{code, stderr, stdout, Hsm, MODULE, PIN};
use jit_core::invocation::{Action, Invocation};
use jit_core::keys::TrustedKeys;
use jit_core::token::{decide, Reason, VerifyOptions};

const NOW: i64 = 1_800_000_000;

fn decide_for(tok: &str, trusted: &str, argv: &[&str]) -> Reason {
    let keys = TrustedKeys::parse(trusted).unwrap();
    let inv = Invocation {
        user: "alice".into(),
        host_groups: vec!["web".into()],
        action: Action::Exec {
            argv: argv.iter().map(|s| s.to_string()).collect(),
        },
        run_as_user: "root".into(),
        run_as_group: None,
    };
    decide(tok, &keys, NOW, &inv, &VerifyOptions::default()).reason
}

const ALLOWED: &[&str] = &["/usr/bin/systemctl", "restart", "nginx"];

#[test]
fn keygen_in_token_then_issue_verifies_and_key_is_not_extractable() {
    let h = Hsm::new("jit");
    let line = h.keygen("ops-2026a");
    let tk = TrustedKeys::parse(&line).unwrap();
    assert_eq!(tk.len(), 1);
    assert!(line.starts_with("ops-2026a ed25519 "), "{line}");

    // The token holds one private and one public key; the private key is
    // sensitive, never extractable, generated on the token (local).
    let objs = h.tool_ok(&["--list-objects"]);
    let privs: Vec<&str> = objs.split("Private Key Object").skip(1).collect();
    assert_eq!(privs.len(), 1, "{objs}");
    assert!(privs[0].contains("EC_EDWARDS"), "{objs}");
    assert!(
        privs[0].contains("Access:     sensitive, always sensitive, never extractable, local"),
        "{objs}"
    );
    // The public key in the trusted-keys line is the token's CKA_EC_POINT.
    let pk = tk.get(b"ops-2026a").unwrap().key.to_bytes();
    let want: String = pk.iter().map(|b| format!("{b:02x}")).collect();
    assert!(objs.contains(&format!("EC_POINT:   0420{want}")), "{objs}");

    // export-pub prints the same line.
    let pin = h.pin_file.to_str().unwrap();
    let o = h.signer(&[
        "export-pub",
        "--pkcs11",
        &h.uri("ops-2026a"),
        "--pin-file",
        pin,
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), line);

    // Issue through the token; hosts accept it for the granted command only.
    let o = h.issue(&h.uri("ops-2026a"), &["--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["kid"], "ops-2026a");
    assert_eq!(v["claims"]["iss"], "ops-2026a");
    let tok = v["token"].as_str().unwrap();
    assert_eq!(decide_for(tok, &line, ALLOWED), Reason::Ok);
    assert_eq!(
        decide_for(tok, &line, &["/usr/bin/systemctl", "stop", "nginx"]),
        Reason::CommandNotGranted
    );

    // The PIN from the environment works as well as a PIN file.
    let o = common::bin()
        .env("SOFTHSM2_CONF", &h.conf)
        .env("JIT_PKCS11_PIN", PIN)
        .args(["export-pub", "--pkcs11", &h.uri("ops-2026a")])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), line);

    // A second keygen with the same label is refused; the token is unchanged.
    let o = h.signer(&[
        "keygen",
        "--kid",
        "ops-2026a",
        "--pkcs11",
        &h.token_uri(),
        "--pin-file",
        pin,
    ]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("refusing"), "{}", stderr(&o));
    assert_eq!(h.tool_ok(&["--list-objects"]), objs);
}

#[test]
fn wrong_missing_or_ambiguous_pin_is_refused() {
    let h = Hsm::new("jit");
    h.keygen("k1");
    let uri = h.uri("k1");
    // Wrong PIN (file).
    let bad = h.dir.path().join("bad-pin");
    std::fs::write(&bad, "0000\n").unwrap();
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = h.signer(&[
        "export-pub",
        "--pkcs11",
        &uri,
        "--pin-file",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 5, "{}", stderr(&o));
    assert!(stderr(&o).contains("wrong PIN"), "{}", stderr(&o));
    // Wrong PIN (environment).
    let o = common::bin()
        .env("SOFTHSM2_CONF", &h.conf)
        .env("JIT_PKCS11_PIN", "0000")
        .args(["export-pub", "--pkcs11", &uri])
        .output()
        .unwrap();
    assert_eq!(code(&o), 5, "{}", stderr(&o));
    assert!(stderr(&o).contains("wrong PIN"), "{}", stderr(&o));
    // No PIN at all.
    let o = h.signer(&["export-pub", "--pkcs11", &uri]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("no PIN"), "{}", stderr(&o));
    // Both a PIN file and the environment: ambiguous, refused.
    let o = common::bin()
        .env("SOFTHSM2_CONF", &h.conf)
        .env("JIT_PKCS11_PIN", PIN)
        .args([
            "export-pub",
            "--pkcs11",
            &uri,
            "--pin-file",
            h.pin_file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    // The PIN in the URI is refused before anything is loaded.
    let o = h.signer(&[
        "export-pub",
        "--pkcs11",
        &format!("pkcs11:token=jit;object=k1?module-path={MODULE}&pin-value={PIN}"),
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("never goes on a command line"));
    // An empty PIN file.
    std::fs::write(&bad, "\n").unwrap();
    let o = h.signer(&[
        "export-pub",
        "--pkcs11",
        &uri,
        "--pin-file",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("empty"), "{}", stderr(&o));
}

#[test]
fn pin_file_must_be_private_and_owned_by_the_caller() {
    let h = Hsm::new("jit");
    h.keygen("k1");
    let pin = h.pin_file.to_str().unwrap();
    for mode in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&h.pin_file, std::fs::Permissions::from_mode(mode)).unwrap();
        let o = h.issue(&h.uri("k1"), &[]);
        assert_eq!(code(&o), 4, "mode {mode:o}: {}", stderr(&o));
        assert!(stderr(&o).contains("group or others"), "{}", stderr(&o));
        assert!(stdout(&o).is_empty());
    }
    std::fs::set_permissions(&h.pin_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Owned by someone else (only checkable as root, which CI is).
    if nix::unistd::geteuid().is_root() {
        std::os::unix::fs::chown(&h.pin_file, Some(65534), None).unwrap();
        let o = h.issue(&h.uri("k1"), &[]);
        assert_eq!(code(&o), 4, "{}", stderr(&o));
        assert!(stderr(&o).contains("not by you"), "{}", stderr(&o));
        std::os::unix::fs::chown(&h.pin_file, Some(0), None).unwrap();
    }
    // A directory is not a PIN file.
    let o = h.signer(&[
        "export-pub",
        "--pkcs11",
        &h.uri("k1"),
        "--pin-file",
        h.dir.path().to_str().unwrap(),
    ]);
    assert_ne!(code(&o), 0);
    let o = h.issue(&h.uri("k1"), &[]);
    assert_eq!(code(&o), 0, "{} (pin {pin})", stderr(&o));
}

#[test]
fn token_and_key_selection_errors_name_the_cause() {
    let h = Hsm::new("jit");
    h.keygen("k1");
    // Token not found.
    let o = h.issue(
        &format!("pkcs11:token=nope;object=k1?module-path={MODULE}"),
        &[],
    );
    assert_eq!(code(&o), 5, "{}", stderr(&o));
    assert!(stderr(&o).contains("token not found"), "{}", stderr(&o));
    assert!(stderr(&o).contains("\"jit\""), "lists the tokens present");
    // Key not found.
    let o = h.issue(&h.uri("k2"), &[]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(stderr(&o).contains("key not found"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("private keys present: \"k1\""),
        "{}",
        stderr(&o)
    );
    // No key named in the URI.
    let o = h.issue(&h.token_uri(), &[]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    // Module that does not exist / is not a PKCS#11 module.
    let o = h.issue(
        "pkcs11:token=jit;object=k1?module-path=/nonexistent/lib.so",
        &[],
    );
    assert_eq!(code(&o), 5, "{}", stderr(&o));
    let o = h.issue(
        "pkcs11:token=jit;object=k1?module-path=/usr/lib/x86_64-linux-gnu/libc.so.6",
        &[],
    );
    assert_eq!(code(&o), 5, "{}", stderr(&o));
    // A module writable by others is not loaded.
    let m = h.dir.path().join("module.so");
    std::fs::copy(MODULE, &m).unwrap();
    std::fs::set_permissions(&m, std::fs::Permissions::from_mode(0o666)).unwrap();
    let o = h.issue(
        &format!("pkcs11:token=jit;object=k1?module-path={}", m.display()),
        &[],
    );
    assert_eq!(code(&o), 5, "{}", stderr(&o));
    assert!(stderr(&o).contains("writable"), "{}", stderr(&o));
    // --key and --pkcs11 together.
    let o = h.signer(&[
        "issue",
        "--key",
        "/dev/null",
        "--pkcs11",
        &h.uri("k1"),
        "--user",
        "a",
        "--host-group",
        "g",
        "--shell",
        "--reason",
        "r",
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    // keygen: object= differing from --kid.
    let o = h.signer(&[
        "keygen",
        "--kid",
        "k9",
        "--pkcs11",
        &h.uri("k8"),
        "--pin-file",
        h.pin_file.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn two_keys_with_the_same_label_are_refused() {
    let h = Hsm::new("jit");
    for id in ["01", "02"] {
        h.tool_ok(&[
            "--keypairgen",
            "--key-type",
            "EC:edwards25519",
            "--label",
            "dup",
            "--id",
            id,
        ]);
    }
    let o = h.issue(&h.uri("dup"), &[]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(stderr(&o).contains("several keys match"), "{}", stderr(&o));
    // Naming the id as well makes it unique; a key made by another tool
    // (EC_PARAMS as the curve name) is usable.
    let o = h.issue(
        &format!("pkcs11:token=jit;object=dup;id=%02?module-path={MODULE}"),
        &[],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn rsa_and_p256_keys_are_refused() {
    let h = Hsm::new("jit");
    h.tool_ok(&[
        "--keypairgen",
        "--key-type",
        "rsa:2048",
        "--label",
        "rsa-1",
        "--id",
        "10",
    ]);
    h.tool_ok(&[
        "--keypairgen",
        "--key-type",
        "EC:prime256v1",
        "--label",
        "p256-1",
        "--id",
        "11",
    ]);
    for (label, ty) in [("rsa-1", "CKK_RSA"), ("p256-1", "CKK_EC")] {
        let o = h.issue(&h.uri(label), &[]);
        assert_eq!(code(&o), 4, "{label}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains("mechanism not supported"), "{e}");
        assert!(e.contains(ty), "{e}");
        assert!(stdout(&o).is_empty());
    }
}

#[test]
fn a_replaced_key_is_caught_by_hosts_and_a_mismatched_pair_by_the_signer() {
    let h = Hsm::new("jit");
    let old_line = h.keygen("ops");
    // 1. The key is replaced consistently (both halves) by another Ed25519
    //    key with the same label: the signer issues, hosts still pinning the
    //    old public key reject the token.
    h.tool_ok(&["--delete-object", "--type", "privkey", "--label", "ops"]);
    h.tool_ok(&["--delete-object", "--type", "pubkey", "--label", "ops"]);
    let new_line = h.keygen("ops");
    assert_ne!(old_line, new_line);
    let o = h.issue(&h.uri("ops"), &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let tok = stdout(&o).trim().to_string();
    assert_eq!(decide_for(&tok, &old_line, ALLOWED), Reason::BadSignature);
    assert_eq!(decide_for(&tok, &new_line, ALLOWED), Reason::Ok);

    // 2. The private key object is swapped under the public one (same label
    //    and id, another key): the token signs with a key that is not the
    //    public key the signer reports; sign_checked refuses to publish it.
    let objs = h.tool_ok(&["--list-objects", "--type", "privkey"]);
    let id = objs
        .lines()
        .find_map(|l| l.trim().strip_prefix("ID:"))
        .unwrap()
        .trim()
        .to_string();
    h.tool_ok(&[
        "--keypairgen",
        "--key-type",
        "EC:edwards25519",
        "--label",
        "ops",
        "--id",
        "ee",
    ]);
    h.tool_ok(&["--delete-object", "--type", "privkey", "--id", &id]);
    h.tool_ok(&["--delete-object", "--type", "pubkey", "--id", "ee"]);
    h.tool_ok(&["--set-id", &id, "--id", "ee", "--type", "privkey"]);
    let o = h.issue(&h.uri("ops"), &[]);
    assert_eq!(code(&o), 5, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("does not verify under its public key"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty(), "no token may be printed");
}

#[test]
fn export_pub_of_a_key_file_and_json() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_str().unwrap();
    let o = common::bin()
        .args(["keygen", "--kid", "f-1", "--out", dir])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let key = d.path().join("f-1.key");
    let line = std::fs::read_to_string(d.path().join("f-1.pub")).unwrap();
    let o = common::bin()
        .args(["export-pub", "--key", key.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), line);
    let o = common::bin()
        .args(["export-pub", "--json", "--key", key.to_str().unwrap()])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["kid"], "f-1");
    assert_eq!(v["alg"], "ed25519");
    assert_eq!(v["line"], line.trim_end());
    assert_eq!(
        v["public_key"].as_str().unwrap(),
        line.split_whitespace().nth(2).unwrap()
    );
    // Neither --key nor --pkcs11.
    let o = common::bin().args(["export-pub"]).output().unwrap();
    assert_eq!(code(&o), 2);
    // --pin-file without --pkcs11 is a usage error, not silently ignored.
    let k = key.to_str().unwrap();
    for args in [
        vec!["export-pub", "--key", k, "--pin-file", k],
        vec!["keygen", "--kid", "f-2", "--out", dir, "--pin-file", k],
        vec![
            "issue",
            "--key",
            k,
            "--pin-file",
            k,
            "--user",
            "a",
            "--host-group",
            "g",
            "--shell",
            "--reason",
            "r",
        ],
    ] {
        let o = common::bin().args(&args).output().unwrap();
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("--pin-file"), "{}", stderr(&o));
        assert!(stdout(&o).is_empty());
    }
    assert!(!d.path().join("f-2.key").exists());
    // A PIN file larger than 4096 bytes is refused, not truncated.
    let h = Hsm::new("jit");
    h.keygen("k1");
    std::fs::write(&h.pin_file, "1".repeat(5000)).unwrap();
    let o = h.issue(&h.uri("k1"), &[]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(stderr(&o).contains("larger than"), "{}", stderr(&o));
}

/// The SSH CA key in the token (`issue --ssh-ca-pkcs11`): the certificate is
/// signed by it (ssh-keygen names the same CA as `export-pub --ssh`).
#[test]
fn ssh_certificate_signed_by_a_ca_key_in_the_token() {
    let h = Hsm::new("jit");
    h.keygen("ssh-ca");
    let pin = h.pin_file.to_str().unwrap().to_string();
    let o = h.signer(&[
        "export-pub",
        "--pkcs11",
        &h.uri("ssh-ca"),
        "--pin-file",
        &pin,
        "--ssh",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let dir = tempfile::tempdir().unwrap();
    let ca_pub = dir.path().join("ca.pub");
    std::fs::write(&ca_pub, stdout(&o)).unwrap();
    let key = dir.path().join("id.pub");
    std::fs::write(
        &key,
        include_str!("../../jit-core/src/ssh_cert/keys/ecdsa256.pub"),
    )
    .unwrap();
    let o = h.signer(&[
        "issue",
        "--ssh-ca-pkcs11",
        &h.uri("ssh-ca"),
        "--ssh-ca-pin-file",
        &pin,
        "--ssh-key",
        key.to_str().unwrap(),
        "--user",
        "alice",
        "--host-group",
        "web",
        "--reason",
        "INC-7 hsm ca",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let l = |args: &[&str], p: &std::path::Path| {
        let o = std::process::Command::new("ssh-keygen")
            .args(args)
            .arg(p)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let fp = l(&["-l", "-f"], &ca_pub);
    let fp = fp.split_whitespace().nth(1).unwrap();
    let cert = l(&["-L", "-f"], &dir.path().join("id-cert.pub"));
    assert!(
        cert.contains(&format!("Signing CA: ED25519 {fp}")),
        "{cert}"
    );
    assert!(cert.contains("alice@web"), "{cert}");
}
