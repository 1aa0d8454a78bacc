//! The signer refuses the names a host would refuse (jit_core::name,
//! docs/names.md): a token no host can accept is never issued.

mod common;

use std::path::Path;

use common::{bin, code, stderr, stdout};
use jit_core::config::Config;
use jit_core::invocation::{Action, Invocation};
use jit_core::keys::TrustedKeys;
use jit_core::token::{decide, Reason, VerifyOptions};

const NOW: &str = "@1800000000";

/// A key in `dir`, and the trusted-keys file hosts would pin it with.
fn keygen(dir: &Path) -> (String, TrustedKeys) {
    let o = bin()
        .args(["keygen", "--kid", "ops-1", "--out", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let keys = TrustedKeys::parse(&std::fs::read_to_string(dir.join("ops-1.pub")).unwrap());
    (
        dir.join("ops-1.key").to_str().unwrap().to_string(),
        keys.unwrap(),
    )
}

fn issue(dir: &Path, key: &str, flag: &str, value: &str) -> std::process::Output {
    let ledger = dir.join("ledger/ledger.log");
    let mut args = vec![
        "issue",
        "--ledger",
        ledger.to_str().unwrap(),
        "--key",
        key,
        "--command",
        "/usr/bin/true",
        "--reason",
        "INC-1 names",
        "--now",
        NOW,
    ];
    for (f, default) in [("--user", "alice"), ("--host-group", "web")] {
        if f != flag {
            args.extend([f, default]);
        }
    }
    // FLAG=VALUE: a value starting with '-' is not read as an option.
    let named = format!("{flag}={value}");
    args.push(&named);
    bin().args(&args).output().unwrap()
}

/// What a host configured with `host_groups = g` reads, if it reads the one
/// group `g`.
fn host_reads(g: &str) -> Option<Vec<String>> {
    let c = Config::parse(&format!("host_groups = {g}\ntrusted_keys = /k\n"), "t").ok()?;
    (c.host_groups == [g]).then_some(c.host_groups)
}

#[test]
fn issue_refuses_a_host_group_no_host_accepts() {
    let d = tempfile::tempdir().unwrap();
    let (key, _) = keygen(d.path());
    let long = "w".repeat(254);
    let refused: &[(&str, &str)] = &[
        // Accepted by jit-signer before the one name rule: each gave a token
        // that no host could be configured to accept.
        ("web,db", "',' at byte 3 is not allowed"),
        ("db@eu", "'@' at byte 2 is not allowed"),
        ("eu:web", "':' at byte 2 is not allowed"),
        ("<unconfigured>", "'<' at byte 0 is not allowed"),
        ("w\u{435}b", "non-ASCII character U+0435 at byte 1"),
        ("\u{ff57}eb", "non-ASCII character U+FF57 at byte 0"),
        ("web\u{200b}", "non-ASCII character U+200B at byte 3"),
        ("web/prod", "'/' at byte 3 is not allowed"),
        (&long, "it is 254 bytes long"),
        // Refused before too, with the same rule now.
        ("web prod", "whitespace (U+0020) at byte 3"),
        ("", "it is empty"),
    ];
    for &(g, why) in refused {
        assert!(host_reads(g).is_none(), "{g:?}: the host takes it");
        let o = issue(d.path(), &key, "--host-group", g);
        assert_eq!(code(&o), 2, "{g:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains("--host-group: invalid host group"), "{g:?}: {e}");
        assert!(e.contains(why), "{g:?}: {e}");
        assert!(
            e.contains("use 1 to 253 characters from A-Z a-z 0-9 . _ -"),
            "{g:?}: {e}"
        );
        assert!(stdout(&o).is_empty(), "{g:?}: a token was printed");
    }
    // Every refusal is a `refused` record with the reason code bad_name.
    let ledger = std::fs::read_to_string(d.path().join("ledger/ledger.log")).unwrap();
    let records: Vec<serde_json::Value> = ledger
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["kind"] != "start")
        .collect();
    assert_eq!(records.len(), refused.len());
    for r in &records {
        assert_eq!(r["kind"], "refused");
        assert_eq!(r["reason_code"], "bad_name");
    }
}

#[test]
fn what_the_signer_issues_a_host_accepts() {
    let d = tempfile::tempdir().unwrap();
    let (key, keys) = keygen(d.path());
    let longest = "w".repeat(253);
    for g in ["web", "Web-1.eu_west", "-web", "..", longest.as_str()] {
        let groups = host_reads(g).unwrap_or_else(|| panic!("{g:?}: the host refuses it"));
        let o = issue(d.path(), &key, "--host-group", g);
        assert_eq!(code(&o), 0, "{g:?}: {}", stderr(&o));
        let inv = Invocation {
            user: "alice".into(),
            host_groups: groups,
            action: Action::Exec {
                argv: vec!["/usr/bin/true".into()],
            },
            run_as_user: "root".into(),
            run_as_group: None,
        };
        let token = stdout(&o);
        let dec = decide(
            token.trim_end(),
            &keys,
            1_800_000_000,
            &inv,
            &VerifyOptions::default(),
        );
        assert_eq!(dec.reason, Reason::Ok, "{g:?}: {}", dec.message);
    }
}

#[test]
fn issue_refuses_a_user_name_no_system_has() {
    let d = tempfile::tempdir().unwrap();
    let (key, _) = keygen(d.path());
    for (u, why) in [
        ("\u{430}lice", "non-ASCII character U+0430 at byte 0"),
        ("-alice", "it starts with '-'"),
        ("a:b", "':' at byte 1 is not allowed"),
        ("..", "'.' and '..' are not names"),
    ] {
        let o = issue(d.path(), &key, "--user", u);
        assert_eq!(code(&o), 2, "{u:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("--user: invalid user name {u:?}: {why}")),
            "{u:?}: {}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty());
    }
    let o = issue(d.path(), &key, "--user", "alice@example.com");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}
