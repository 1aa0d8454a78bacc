//! `jit-signer issue --ssh-key` (docs/ssh-cert.md, docs/jit-signer.md): the
//! certificate beside the key, one grant id with the token, the ledger
//! records, and the refusals that must leave nothing behind.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

struct T {
    dir: tempfile::TempDir,
}

impl T {
    fn new() -> T {
        let t = T {
            dir: tempfile::tempdir().unwrap(),
        };
        for kid in ["tok", "ca"] {
            let o = t.run(&[
                "keygen",
                "--kid",
                kid,
                "--out",
                t.p("keys").to_str().unwrap(),
            ]);
            assert_eq!(code(&o), 0, "{}", stderr(&o));
        }
        std::fs::write(
            t.p("id.pub"),
            include_str!("../../jit-core/src/ssh_cert/keys/ed25519.pub"),
        )
        .unwrap();
        t
    }

    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_jit-signer"))
            .env("JIT_LEDGER", self.p("ledger/ledger.log"))
            .env_remove("JIT_POLICY")
            .env_remove("JIT_REVOCATION_DIR")
            .args(args)
            .output()
            .unwrap()
    }

    fn issue(&self, extra: &[&str]) -> Output {
        let ca = self.p("keys/ca.key");
        let key = self.p("id.pub");
        let mut a = vec![
            "issue",
            "--ssh-ca",
            ca.to_str().unwrap(),
            "--ssh-key",
            key.to_str().unwrap(),
            "--user",
            "alice",
            "--host-group",
            "web",
            "--reason",
            "INC-1",
            "--json",
        ];
        a.extend_from_slice(extra);
        self.run(&a)
    }

    fn ledger(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.p("ledger/ledger.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn keygen_l(p: &Path) -> String {
    let o = Command::new("ssh-keygen")
        .args(["-L", "-f"])
        .arg(p)
        .output()
        .expect("ssh-keygen (Debian package openssh-client)");
    assert!(o.status.success(), "ssh-keygen -L: {}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn certificate_alone_is_written_beside_the_key_and_recorded() {
    let t = T::new();
    let o = t.issue(&[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = &v["ssh_certificate"];
    assert!(v.get("token").is_none());
    let cert = t.p("id-cert.pub");
    assert_eq!(c["path"], cert.to_str().unwrap());
    assert_eq!(
        std::fs::metadata(&cert).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let l = keygen_l(&cert);
    assert!(l.contains("user certificate"), "{l}");
    assert!(
        l.contains(&format!("Key ID: \"{}\"", c["key_id"].as_str().unwrap())),
        "{l}"
    );
    assert!(l.contains("alice@web"), "{l}");
    assert!(l.contains("permit-pty"), "{l}");
    let recs = t.ledger();
    let last = recs.last().unwrap();
    assert_eq!(last["kind"], "ssh_cert");
    assert_eq!(last["token_id"], c["key_id"]);
    assert_eq!(last["serial"], c["serial"].to_string());
    // Issued again: the certificate is replaced, with another serial.
    let o = t.issue(&[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v2: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_ne!(v2["ssh_certificate"]["serial"], c["serial"]);
    assert!(keygen_l(&cert).contains(&format!("Serial: {}", v2["ssh_certificate"]["serial"])));
}

#[test]
fn token_and_certificate_share_the_grant_id() {
    let t = T::new();
    let tok = t.p("keys/tok.key");
    let o = t.issue(&["--key", tok.to_str().unwrap(), "--command", "/usr/bin/id"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["claims"]["cti"], v["ssh_certificate"]["key_id"]);
    let recs = t.ledger();
    let n = recs.len();
    assert_eq!(recs[n - 2]["kind"], "issued");
    assert_eq!(recs[n - 1]["kind"], "ssh_cert");
    assert_eq!(recs[n - 2]["token_id"], recs[n - 1]["token_id"]);
    // The certificate ends with the token (default --ttl 1h), never after:
    // revoking the token id, kept until its exp + 600 s, covers it whole.
    assert_eq!(recs[n - 1]["exp"], recs[n - 2]["exp"]);
    let o = t.issue(&[
        "--key",
        tok.to_str().unwrap(),
        "--command",
        "/usr/bin/id",
        "--ttl",
        "30m",
        "--ssh-ttl",
        "1h",
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("may not outlive the token"),
        "{}",
        stderr(&o)
    );
    let o = t.issue(&[
        "--key",
        tok.to_str().unwrap(),
        "--command",
        "/usr/bin/id",
        "--ttl",
        "30m",
        "--ssh-ttl",
        "10m",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let recs = t.ledger();
    let n = recs.len();
    assert_eq!(
        recs[n - 1]["exp"].as_i64().unwrap() + 1200,
        recs[n - 2]["exp"].as_i64().unwrap()
    );
}

#[test]
fn a_symlink_where_the_certificate_goes_is_refused_before_anything_is_signed() {
    let t = T::new();
    let target = t.p("elsewhere");
    std::fs::write(&target, "precious\n").unwrap();
    std::os::unix::fs::symlink(&target, t.p("id-cert.pub")).unwrap();
    let o = t.issue(&[]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
    assert!(t.ledger().iter().all(|r| r["kind"] != "ssh_cert"));
}

#[test]
fn refusals_are_recorded_with_their_code_and_write_nothing() {
    for (extra, want) in [
        (vec!["--ssh-ttl", "25h"], "ttl_out_of_range"),
        (vec!["--ssh-ttl", "59s"], "ttl_out_of_range"),
        (
            vec![
                "--ssh-force-command",
                "/usr/bin/uptime",
                "--ssh-extension",
                "permit-port-forwarding",
            ],
            "ssh_forwarding_with_force_command",
        ),
        (
            vec!["--ssh-extension", "permit-all"],
            "ssh_extension_not_allowed",
        ),
        (
            vec!["--ssh-source-address", "0.0.0.0/0"],
            "ssh_bad_source_address",
        ),
    ] {
        let t = T::new();
        let o = t.issue(&extra);
        assert_eq!(code(&o), 2, "{extra:?}: {}", stderr(&o));
        assert!(!t.p("id-cert.pub").exists(), "{extra:?}");
        let last = t.ledger().pop().unwrap();
        assert_eq!(last["kind"], "refused", "{extra:?}");
        assert_eq!(last["reason_code"], want, "{extra:?}");
    }
    let t = T::new();
    std::fs::write(
        t.p("id.pub"),
        include_str!("../../jit-core/src/ssh_cert/keys/dsa.pub"),
    )
    .unwrap();
    let o = t.issue(&[]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert_eq!(
        t.ledger().pop().unwrap()["reason_code"],
        "ssh_key_type_refused"
    );
}

#[test]
fn export_pub_ssh_is_the_ca_line_sshd_reads() {
    let t = T::new();
    let o = t.run(&[
        "export-pub",
        "--key",
        t.p("keys/ca.key").to_str().unwrap(),
        "--ssh",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::fs::write(t.p("ca.pub"), &o.stdout).unwrap();
    let fp = Command::new("ssh-keygen")
        .args(["-l", "-f"])
        .arg(t.p("ca.pub"))
        .output()
        .unwrap();
    assert!(fp.status.success());
    let fp = String::from_utf8_lossy(&fp.stdout);
    let fp = fp.split_whitespace().nth(1).unwrap().to_string();
    let o = t.issue(&[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(keygen_l(&t.p("id-cert.pub")).contains(&format!("Signing CA: ED25519 {fp}")));
}

#[test]
fn a_policy_is_not_silently_skipped() {
    let t = T::new();
    std::fs::write(t.p("policy.toml"), "").unwrap();
    let o = t.issue(&["--policy", t.p("policy.toml").to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("come from the signing service (jit-signer request --ssh-key)"),
        "{}",
        stderr(&o)
    );
    assert!(!t.p("id-cert.pub").exists());
}

#[test]
fn revoking_a_user_revokes_their_certificates_by_key_id() {
    // sshd's KRL cannot revoke by principal: `revoke --user` names the
    // user's certificates still valid, found in the ledger.
    let t = T::new();
    let o = t.issue(&[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let key_id = v["ssh_certificate"]["key_id"].as_str().unwrap().to_string();
    // Rotated away: the rotated segment is read too.
    std::fs::rename(t.p("ledger/ledger.log"), t.p("ledger/ledger.log.1")).unwrap();
    let st = t.p("revocation");
    let o = t.run(&[
        "revoke",
        "--key",
        t.p("keys/tok.key").to_str().unwrap(),
        "--state",
        st.to_str().unwrap(),
        "--user",
        "alice",
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("also revoking 1 SSH certificate"),
        "{}",
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids = v["revocation"].to_string();
    assert!(ids.contains(&key_id), "{ids}");
    // Another user's revocation names none of alice's.
    let o = t.run(&[
        "revoke",
        "--key",
        t.p("keys/tok.key").to_str().unwrap(),
        "--state",
        st.to_str().unwrap(),
        "--user",
        "bob",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("also revoking"), "{}", stderr(&o));
}

#[test]
fn the_signer_refuses_what_its_own_list_revokes() {
    // A KRL cannot revoke by principal: after `revoke --user alice`, issue
    // with the revocation dir signs nothing for alice (docs/revocation.md
    // §6.1), records the refusal, and signs again after --restore-user.
    let t = T::new();
    let st = t.p("revocation");
    let st_s = st.to_str().unwrap();
    let tok = t.p("keys/tok.key");
    let revoke = |extra: &[&str]| {
        let mut a = vec!["revoke", "--key", tok.to_str().unwrap(), "--state", st_s];
        a.extend_from_slice(extra);
        let o = t.run(&a);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    };
    let last_refusal = || {
        let last = t.ledger().pop().unwrap();
        assert_eq!(last["kind"], "refused", "{last}");
        last["reason_code"].as_str().unwrap().to_string()
    };
    let token_for = |user: &str, env_dir: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_jit-signer"));
        c.env("JIT_LEDGER", t.p("ledger/ledger.log"))
            .env_remove("JIT_POLICY")
            .env_remove("JIT_REVOCATION_DIR");
        if env_dir {
            c.env("JIT_REVOCATION_DIR", &st);
        }
        c.args([
            "issue",
            "--key",
            tok.to_str().unwrap(),
            "--user",
            user,
            "--host-group",
            "web",
            "--command",
            "/usr/bin/true",
            "--reason",
            "INC-2",
        ])
        .output()
        .unwrap()
    };
    revoke(&["--user", "alice"]);
    let o = t.issue(&["--revocation-dir", st_s]);
    assert_eq!(code(&o), 7, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("user alice is revoked"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("jit-signer revoke --restore-user alice"),
        "{}",
        stderr(&o)
    );
    assert!(!t.p("id-cert.pub").exists());
    assert_eq!(last_refusal(), "user_revoked");
    // A token too, with the directory from JIT_REVOCATION_DIR.
    let o = token_for("alice", true);
    assert_eq!(code(&o), 7, "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert_eq!(last_refusal(), "user_revoked");
    // Near misses get theirs; without the directory nothing is consulted.
    for user in ["alice2", "Alice"] {
        let o = token_for(user, true);
        assert_eq!(code(&o), 0, "{user}: {}", stderr(&o));
    }
    assert_eq!(code(&token_for("alice", false)), 0);
    // Restored: signed again.
    revoke(&["--restore-user", "alice"]);
    let o = t.issue(&["--revocation-dir", st_s]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::fs::remove_file(t.p("id-cert.pub")).unwrap();
    // A revoked key, given as ssh-keygen -l prints it, gets no certificate,
    // whatever the comment of the .pub file asking.
    let o = Command::new("ssh-keygen")
        .args(["-l", "-f"])
        .arg(t.p("id.pub"))
        .output()
        .expect("ssh-keygen (Debian package openssh-client)");
    assert!(o.status.success(), "ssh-keygen -l: {}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let fp = out.split_whitespace().nth(1).unwrap().to_string();
    assert!(fp.starts_with("SHA256:"), "{fp}");
    revoke(&["--ssh-key", &fp]);
    let line = include_str!("../../jit-core/src/ssh_cert/keys/ed25519.pub");
    let mut w = line.split_whitespace();
    let respelled = format!(
        "{} {} another@comment\n",
        w.next().unwrap(),
        w.next().unwrap()
    );
    for text in [line.to_string(), respelled] {
        std::fs::write(t.p("id.pub"), text).unwrap();
        let o = t.issue(&["--revocation-dir", st_s]);
        assert_eq!(code(&o), 7, "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("SSH key {fp} is revoked")),
            "{}",
            stderr(&o)
        );
        assert!(!t.p("id-cert.pub").exists());
        assert_eq!(last_refusal(), "ssh_key_revoked");
    }
    // A token for the key's owner is not about the key.
    assert_eq!(code(&token_for("alice", true)), 0);
    // Fail closed: a corrupt list refuses everyone (exit 8).
    std::fs::write(st.join("revocation.list"), "garbage\n").unwrap();
    let o = token_for("bob", true);
    assert_eq!(code(&o), 8, "{}", stderr(&o));
    assert_eq!(last_refusal(), "revocation_list_corrupt");
}
