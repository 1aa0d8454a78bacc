//! The issuance ledger through the real writer and verifier: records round
//! trip, tampering is found, reports count uses from real host logs.

use jit_core::ledger::load::{self, LedgerCheck, LoadError};
use jit_core::ledger::report::{self, HostUsage, Window};
use jit_core::ledger::{self, GrantRecord, Issued, LedgerPaths, Refusal, Revocation};
use jit_core::log::record::{RevokedToken, Watermark};
use jit_core::log::verify::{Kind, Outcome};
use jit_core::log::{self, EventKind, LogConfig};
use jit_core::token::{Claims, Grant};
use std::path::{Path, PathBuf};

fn claims(user: &str, cti: u8, nbf: i64, ttl: i64) -> Claims {
    Claims {
        iss: "ops".into(),
        sub: user.into(),
        iat: nbf,
        nbf,
        exp: nbf + ttl,
        cti: [cti; 16],
        hosts: vec!["db".into(), "web".into()],
        cmds: vec![Grant {
            argv: vec!["/usr/bin/systemctl".into(), "restart".into(), "a b".into()],
            any_args: false,
        }],
        run_as: vec!["root".into()],
        run_as_groups: vec!["adm".into()],
        shell: true,
        reason: "INC-1 \"quoted\" ✓".into(),
        ticket: Some("INC-1".into()),
        approver: Some("carol".into()),
        break_glass: cti == 0xbb,
        max_uses: Some(3),
    }
}

fn cfg(dir: &Path) -> LogConfig {
    ledger::config(&dir.join("l/ledger.log"), "signer-1")
}

fn files(c: &LogConfig) -> Vec<PathBuf> {
    vec![c.log_path.clone()]
}

#[test]
fn paths_are_derived_next_to_the_ledger() {
    let p = LedgerPaths::new(Path::new("/var/lib/jit-signer/ledger.log"));
    assert_eq!(p.state, Path::new("/var/lib/jit-signer/ledger.state"));
    assert_eq!(p.lock, Path::new("/var/lib/jit-signer/ledger.state.lock"));
    assert_eq!(
        p.seal_key_export,
        Path::new("/var/lib/jit-signer/ledger.seal-key.initial")
    );
    let p = LedgerPaths::new(Path::new("x/issued"));
    assert_eq!(p.state, Path::new("x/issued.state"));
}

#[test]
fn records_round_trip_and_verify_like_a_host_log() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    let cl = claims("alice", 0xa1, 1_800_000_000, 1800);
    ledger::append_issued(
        &c,
        &Issued {
            claims: &cl,
            kid: "k1",
            requester: Some("alice"),
            rule: Some("db-ops"),
            requested: None,
        },
    )
    .unwrap();
    ledger::append_refused(
        &c,
        &Refusal {
            reason_code: "ttl_out_of_range".into(),
            message: "--ttl must be between 1 min and 24 h".into(),
            user: Some("bob".into()),
            host_groups: vec!["db".into()],
            rule: Some("max-ttl".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let a = ledger::append_revoked(
        &c,
        &Revocation {
            version: 7,
            tokens: vec![RevokedToken {
                token_id: "a1".repeat(16),
                exp: cl.exp,
            }],
            users: vec!["mallory".into()],
            watermarks: vec![Watermark {
                user: "bob".into(),
                before: 1_700_000_000,
            }],
            ssh_serials: Vec::new(),
            ssh_key_ids: Vec::new(),
            ssh_keys: Vec::new(),
            kid: Some("k1".into()),
            requester: Some("carol".into()),
            reason: Some("laptop lost".into()),
        },
    )
    .unwrap();
    assert_eq!(a.seq, 3, "start + three records");
    // Exactly like a host log, with the seal key and state.
    let key = log::verify::SealKey::read(&d.path().join("l/ledger.seal-key.initial")).unwrap();
    let st = log::verify::read_state(&d.path().join("l/ledger.state")).unwrap();
    let r = load::verify_ledger(
        &files(&c),
        LedgerCheck {
            seal_key: Some(key),
            state: Some(st),
            partial: false,
        },
    )
    .unwrap();
    assert_eq!(r.outcome, Outcome::Intact, "{:?}", r.findings);
    assert!(r.forward_integrity_checked);
    let l = load::read_ledger(&files(&c)).unwrap();
    let i = &l.issued[0];
    assert_eq!(i.token_id, "a1".repeat(16));
    assert_eq!(i.user, "alice");
    assert_eq!(i.signer, "signer-1");
    assert_eq!(i.host_groups, ["db", "web"]);
    assert_eq!(i.commands(), ["/usr/bin/systemctl restart 'a b'"]);
    assert_eq!((i.nbf, i.exp, i.iat), (cl.nbf, cl.exp, cl.iat));
    assert_eq!(i.run_as_groups, ["adm"]);
    assert!(i.shell);
    assert_eq!(i.max_uses, Some(3));
    assert_eq!(i.reason.as_deref(), Some("INC-1 \"quoted\" ✓"));
    assert_eq!(i.approver.as_deref(), Some("carol"));
    assert_eq!(i.requester.as_deref(), Some("alice"));
    assert_eq!(i.rule.as_deref(), Some("db-ops"));
    assert_eq!(i.kid.as_deref(), Some("k1"));
    assert_eq!(i.line, 2);
    let f = &l.refused[0];
    assert_eq!(
        (f.user.as_deref(), f.reason_code.as_str(), f.rule.as_deref()),
        (Some("bob"), "ttl_out_of_range", Some("max-ttl"))
    );
    let v = &l.revoked[0];
    assert_eq!(v.version, 7);
    assert_eq!(v.users, ["mallory"]);
    assert_eq!(v.watermarks[0].before, 1_700_000_000);
    // Member order on disk: the ledger members sit between the host-log ones and prev.
    let text = std::fs::read_to_string(&c.log_path).unwrap();
    let line2 = text.lines().nth(1).unwrap();
    assert!(line2.starts_with("{\"v\":1,\"seq\":1,\"time\":\""));
    assert!(line2.contains("\"host\":\"signer-1\",\"kind\":\"issued\",\"user\":\"alice\""));
    let hg = line2.find("\"host_groups\"").unwrap();
    assert!(line2.find("\"approver\"").unwrap() < hg && hg < line2.find("\"prev\"").unwrap());
}

#[test]
fn a_changed_byte_is_found_and_reading_refuses_garbage() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    for n in 0..3u8 {
        let cl = claims("alice", n, 1_800_000_000, 600);
        ledger::append_issued(
            &c,
            &Issued {
                claims: &cl,
                kid: "k1",
                requester: None,
                rule: None,
                requested: None,
            },
        )
        .unwrap();
    }
    let orig = std::fs::read(&c.log_path).unwrap();
    // alice -> clice in record 2 (line 3): still JSON, the hash no longer matches.
    let mut b = orig.clone();
    let line3 = b
        .iter()
        .enumerate()
        .filter(|(_, &x)| x == b'\n')
        .nth(1)
        .unwrap()
        .0;
    let at = line3
        + b[line3..]
            .windows(7)
            .position(|w| w == b"\"alice\"")
            .unwrap()
        + 1;
    b[at] ^= 0x02;
    std::fs::write(&c.log_path, &b).unwrap();
    let r = load::verify_ledger(&files(&c), LedgerCheck::default()).unwrap();
    assert_eq!(r.outcome, Outcome::Tampered);
    assert!(r
        .findings
        .iter()
        .any(|f| f.kind == Kind::BadHash && f.line == 3));
    // A byte that breaks the JSON: reading names the line instead of skipping it.
    let mut b = orig.clone();
    b[line3 + 1] = b'[';
    std::fs::write(&c.log_path, &b).unwrap();
    match load::read_ledger(&files(&c)) {
        Err(LoadError::Unparsable { line, .. }) => assert_eq!(line, 3),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_host_log_is_not_a_ledger() {
    let d = tempfile::tempdir().unwrap();
    let mut c = LogConfig::new("db-01");
    c.log_path = d.path().join("audit.log");
    c.state_path = d.path().join("log.state");
    c.seal_key_export = d.path().join("seal-key.initial");
    c.syslog = false;
    log::append(&c, &log::Event::new(EventKind::Decision)).unwrap();
    match load::read_ledger(&[c.log_path.clone()]) {
        Err(LoadError::NotLedger { line: 2, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn oversized_issued_record_writes_nothing_but_refusals_always_fit() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    let mut cl = claims("alice", 1, 1_800_000_000, 600);
    cl.cmds = (0..100)
        .map(|i| Grant {
            argv: vec![format!("/bin/x{i}"), "y".repeat(1000)],
            any_args: false,
        })
        .collect();
    let e = ledger::append_issued(
        &c,
        &Issued {
            claims: &cl,
            kid: "k1",
            requester: None,
            rule: None,
            requested: None,
        },
    )
    .unwrap_err();
    assert!(matches!(e, log::LogError::Oversized { .. }), "{e}");
    assert!(
        !c.log_path.exists(),
        "nothing written, not even a start record"
    );
    let huge = Refusal {
        reason_code: "bad_name".into(),
        message: "m".repeat(5000),
        host_groups: (0..1000)
            .map(|i| format!("g{i}-{}", "z".repeat(900)))
            .collect(),
        grants: cl.cmds.clone(),
        ..Default::default()
    };
    ledger::append_refused(&c, &huge).unwrap();
    let l = load::read_ledger(&files(&c)).unwrap();
    assert_eq!(l.refused[0].reason_code, "bad_name");
    assert!(l.refused[0]
        .message
        .as_deref()
        .unwrap()
        .contains("request details dropped"));
    let r = load::verify_ledger(&files(&c), LedgerCheck::default()).unwrap();
    assert_eq!(r.outcome, Outcome::Intact);
}

#[test]
fn report_counts_uses_ttl_unused_denials_and_break_glass() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let used = claims("alice", 0xa1, now - 60, 3600);
    let unused = claims("alice", 0xa2, now - 60, 1800);
    let bg = claims("bob", 0xbb, now - 60, 600);
    for cl in [&used, &unused, &bg] {
        ledger::append_issued(
            &c,
            &Issued {
                claims: cl,
                kid: "k1",
                requester: None,
                rule: None,
                requested: None,
            },
        )
        .unwrap();
    }
    ledger::append_refused(
        &c,
        &Refusal {
            reason_code: "nothing_granted".into(),
            message: "x".into(),
            user: Some("alice".into()),
            ..Default::default()
        },
    )
    .unwrap();
    // A host log: two allowed uses of `used`, a session close, a denial, a break-glass use.
    let mut h = LogConfig::new("db-01");
    h.log_path = d.path().join("h/audit.log");
    h.state_path = d.path().join("h/log.state");
    h.seal_key_export = d.path().join("h/seal-key.initial");
    h.syslog = false;
    let ev = |kind, user: &str, id: Option<[u8; 16]>, allowed: Option<bool>, bg: bool| {
        let mut e = log::Event::new(kind);
        e.user = Some(user.into());
        e.token_id = id.map(|i| jit_core::token::hex(&i));
        e.allowed = allowed;
        e.break_glass = bg;
        e.reason_code = allowed.map(|a| if a { "ok" } else { "command_not_granted" }.into());
        e
    };
    log::append(
        &h,
        &ev(
            EventKind::Decision,
            "alice",
            Some(used.cti),
            Some(true),
            false,
        ),
    )
    .unwrap();
    log::append(
        &h,
        &ev(
            EventKind::Decision,
            "alice",
            Some(used.cti),
            Some(false),
            false,
        ),
    )
    .unwrap();
    log::append(
        &h,
        &ev(
            EventKind::Decision,
            "alice",
            Some(used.cti),
            Some(true),
            false,
        ),
    )
    .unwrap();
    log::append(
        &h,
        &ev(
            EventKind::SessionClose,
            "alice",
            Some(used.cti),
            None,
            false,
        ),
    )
    .unwrap();
    log::append(
        &h,
        &ev(EventKind::Decision, "bob", Some(bg.cti), Some(true), true),
    )
    .unwrap();
    let logs = vec![h.log_path.clone()];
    for (_, r) in load::verify_host_logs(&logs, false).unwrap() {
        assert_eq!(r.outcome, Outcome::Intact);
    }
    let l = load::read_ledger(&files(&c)).unwrap();
    let win = Window::default();
    let mut u = HostUsage::default();
    jit_core::log::query::for_each_record(&logs, |f, n, r| {
        u.add(&win, f, n, r);
        Ok(())
    })
    .unwrap();
    let rep = report::build(&l, &u, &win);
    let alice = rep.users.iter().find(|f| f.user == "alice").unwrap();
    assert_eq!(alice.grants_issued, 2);
    assert_eq!(alice.grants_used, 1);
    assert_eq!(alice.unused_grants, [jit_core::token::hex(&unused.cti)]);
    assert_eq!(alice.ttl_granted_secs, 3600 + 1800);
    // From the first allowed use to the session close: > 0 (two fdatasyncs apart), < 60 s.
    assert!(
        alice.ttl_used_secs > 0.0 && alice.ttl_used_secs < 60.0,
        "{}",
        alice.ttl_used_secs
    );
    assert_eq!(alice.refused_requests, 1);
    assert_eq!(alice.host_denials, 1);
    assert_eq!(alice.host_denials_by_reason["command_not_granted"], 1);
    let g = rep
        .grants
        .iter()
        .find(|g| g.token_id == jit_core::token::hex(&used.cti))
        .unwrap();
    assert_eq!(g.uses, 2);
    assert_eq!(g.hosts, ["db-01"]);
    let bob = rep.users.iter().find(|f| f.user == "bob").unwrap();
    assert_eq!(
        (
            bob.break_glass_grants,
            bob.break_glass_uses,
            bob.grants_used
        ),
        (1, 1, 1)
    );
    assert_eq!(rep.break_glass_review.len(), 1);
    assert_eq!(
        rep.break_glass_review[0].line, 6,
        "start + 5 records: line 6"
    );
    assert_eq!(rep.totals.grants_issued, 3);
    // A window after everything: no grants, no denials.
    let late = Window {
        from: Some("2100-01-01T00:00:00.000000Z".into()),
        to: None,
    };
    let mut u2 = HostUsage::default();
    jit_core::log::query::for_each_record(&logs, |f, n, r| {
        u2.add(&late, f, n, r);
        Ok(())
    })
    .unwrap();
    let rep = report::build(&l, &u2, &late);
    assert_eq!(rep.totals.grants_issued, 0);
    assert_eq!(rep.totals.host_denials, 0);
    assert!(rep.break_glass_review.is_empty());
}

#[test]
fn the_ledger_vector_reads_and_answers() {
    let v = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/vectors/log/ledger.log");
    let l = load::read_ledger(std::slice::from_ref(&v)).unwrap();
    assert_eq!(
        (l.issued.len(), l.refused.len(), l.revoked.len()),
        (2, 1, 1)
    );
    // Record 1 (bob, 1795000100..+3600) is revoked by token id in list v2
    // (record 3); record 4 (alice, break-glass) is live.
    let at = "2026-11-19T14:59:00.000000Z";
    let s = jit_core::ledger::standing::standing(&l, at, 1_795_000_500);
    assert_eq!(s.revocation_version, Some(2));
    assert_eq!(s.live.len(), 1);
    assert!(s.live[0].break_glass && s.live[0].user == "alice");
    assert_eq!(s.revoked[0].user, "bob");
    let bad = v.with_file_name("ledger-bitflip.log");
    let r = load::verify_ledger(&[bad], LedgerCheck::default()).unwrap();
    assert_eq!(r.outcome, Outcome::Tampered);
}

#[test]
fn a_token_used_on_a_host_but_missing_from_the_ledger_is_reported() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    let known = claims("alice", 0x11, 1_800_000_000, 600);
    ledger::append_issued(
        &c,
        &Issued {
            claims: &known,
            kid: "k1",
            requester: None,
            rule: None,
            requested: None,
        },
    )
    .unwrap();
    let l = load::read_ledger(&files(&c)).unwrap();
    let mut h = LogConfig::new("db-01");
    h.log_path = d.path().join("h/audit.log");
    h.state_path = d.path().join("h/log.state");
    h.seal_key_export = d.path().join("h/seal-key.initial");
    h.syslog = false;
    for id in [[0x11u8; 16], [0x99u8; 16]] {
        let mut e = log::Event::new(EventKind::Decision);
        e.user = Some("alice".into());
        e.token_id = Some(jit_core::token::hex(&id));
        e.allowed = Some(true);
        log::append(&h, &e).unwrap();
    }
    let win = Window::default();
    let mut u = HostUsage::default();
    jit_core::log::query::for_each_record(&[h.log_path.clone()], |f, n, r| {
        u.add(&win, f, n, r);
        Ok(())
    })
    .unwrap();
    let rep = report::build(&l, &u, &win);
    assert_eq!(rep.not_in_ledger.len(), 1);
    assert_eq!(rep.not_in_ledger[0].token_id, "99".repeat(16));
    assert_eq!(rep.not_in_ledger[0].hosts, ["db-01"]);
    assert_eq!(rep.totals.grants_used, 1);
}

/// Re-seal a changed body with a recomputed hash (what a forger without the
/// seal key can do): the plain chain holds, the strict reader still refuses
/// members the format does not have.
#[test]
fn unknown_or_duplicate_members_are_refused_even_with_a_valid_hash() {
    use jit_core::log::record;
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    let cl = claims("alice", 1, 1_800_000_000, 600);
    ledger::append_issued(
        &c,
        &Issued {
            claims: &cl,
            kid: "k1",
            requester: None,
            rule: None,
            requested: None,
        },
    )
    .unwrap();
    let text = std::fs::read_to_string(&c.log_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for insert in [",\"admin\":true", ",\"user\":\"mallory\""] {
        let f = record::frame(format!("{}\n", lines[1]).as_bytes())
            .map(|f| String::from_utf8(f.body.to_vec()).unwrap())
            .unwrap();
        let at = f.find(",\"prev\"").unwrap();
        let body = format!("{}{insert}{}", &f[..at], &f[at..]);
        let h = record::record_hash(body.as_bytes());
        let line = format!(
            "{body},\"hash\":\"{}\",\"seal\":\"{}\"}}\n",
            record::hex(&h),
            record::hex(&[0u8; 32])
        );
        std::fs::write(&c.log_path, format!("{}\n{line}", lines[0])).unwrap();
        let r = load::verify_ledger(&files(&c), LedgerCheck::default()).unwrap();
        assert_eq!(r.outcome, Outcome::Intact, "plain chain: {insert}");
        assert!(
            matches!(
                load::read_ledger(&files(&c)),
                Err(LoadError::Unparsable { line: 2, .. })
            ),
            "{insert}"
        );
    }
}

#[test]
fn a_batch_of_issued_records_is_one_flush_and_recovers_like_one() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    let first = claims("alice", 0x01, 1_800_000_000, 1800);
    ledger::append_issued(
        &c,
        &Issued {
            claims: &first,
            kid: "k1",
            requester: None,
            rule: None,
            requested: None,
        },
    )
    .unwrap();
    let state = d.path().join("l/ledger.state");
    let before = std::fs::read(&state).unwrap();
    let cls: Vec<Claims> = (0..5u8)
        .map(|i| claims("bob", 0x10 + i, 1_800_000_000, 1800))
        .collect();
    let batch: Vec<GrantRecord<'_>> = cls
        .iter()
        .map(|cl| {
            GrantRecord::Token(Issued {
                claims: cl,
                kid: "k1",
                requester: Some("bob"),
                rule: Some("r"),
                requested: Some(1_799_999_990),
            })
        })
        .collect();
    let a = ledger::append_grants_many(&c, &batch).unwrap().unwrap();
    assert!(a.repaired.is_empty(), "{:?}", a.repaired);
    assert!(ledger::append_grants_many(&c, &[]).unwrap().is_none());
    let l = load::read_ledger(&files(&c)).unwrap();
    assert_eq!(l.issued.len(), 6);
    let seqs: Vec<u64> = l.issued.iter().map(|g| g.seq).collect();
    assert_eq!(
        seqs[1..],
        [seqs[1], seqs[1] + 1, seqs[1] + 2, seqs[1] + 3, a.seq]
    );
    assert!(l.issued[1..]
        .iter()
        .all(|g| g.requested == Some(1_799_999_990)));
    let check = |d: &Path| LedgerCheck {
        seal_key: Some(log::verify::SealKey::read(&d.join("l/ledger.seal-key.initial")).unwrap()),
        state: Some(log::verify::read_state(&d.join("l/ledger.state")).unwrap()),
        partial: false,
    };
    let r = load::verify_ledger(&files(&c), check(d.path())).unwrap();
    assert_eq!(r.outcome, Outcome::Intact, "{:#?}", r.findings);
    // A power cut that kept the records but not the state written after
    // them: the state is behind by the whole batch. The next writer adopts
    // it (state_behind) and every seal still verifies.
    std::fs::write(&state, &before).unwrap();
    ledger::append_issued(
        &c,
        &Issued {
            claims: &claims("carol", 0x30, 1_800_000_000, 1800),
            kid: "k1",
            requester: None,
            rule: None,
            requested: None,
        },
    )
    .unwrap();
    let text = std::fs::read_to_string(&files(&c)[0]).unwrap();
    assert!(text.contains("\"found\":\"state_behind\""), "{text}");
    let r = load::verify_ledger(&files(&c), check(d.path())).unwrap();
    assert_ne!(r.outcome, Outcome::Tampered, "{:#?}", r.findings);
    assert_eq!(load::read_ledger(&files(&c)).unwrap().issued.len(), 7);
}
