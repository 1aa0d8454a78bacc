use super::*;
use crate::log::record::{GrantRec, RevokedSshKeyId, RevokedSshSerial, RevokedToken, Watermark};

const LOG: &str = "6a69742d766563746f72732d6c6f6731";

fn host() -> Source<'static> {
    Source {
        log_id: Some(LOG),
        ledger: false,
        verified: true,
    }
}

fn ledger() -> Source<'static> {
    Source {
        ledger: true,
        ..host()
    }
}

fn rec(kind: EventKind, seq: u64) -> Record<'static> {
    let mut r = Record::new(kind);
    r.seq = seq;
    r.time = "2026-11-19T14:11:07.001001Z".into();
    r.host = "db-01".into();
    r.prev = "00".repeat(32).into();
    r.hash = Some("ab".repeat(32).into());
    r
}

fn decision(allowed: Option<bool>) -> Record<'static> {
    let mut r = rec(EventKind::Decision, 3);
    r.user = Some("alice".into());
    r.run_as_user = Some("root".into());
    r.run_as_group = Some("adm".into());
    r.tty = Some("/dev/pts/3".into());
    r.command = Some("/usr/bin/systemctl".into());
    r.argv = Some(vec!["systemctl".into(), "restart".into(), "a b".into()]);
    r.token_id = Some("0000000000000000000000000000a001".into());
    r.ticket = Some("OPS-1".into());
    r.approver = Some("carol".into());
    r.allowed = allowed;
    r.reason_code = Some(
        if allowed == Some(true) {
            "token_ok"
        } else {
            "expired"
        }
        .into(),
    );
    r.pid = Some(4001);
    r
}

fn one(x: &mut Exporter, src: &Source<'_>, r: &Record<'_>) -> Value {
    let mut v = x.export(src, r).unwrap();
    assert_eq!(v.len(), 1, "{v:?}");
    v.remove(0)
}

fn ocsf_x() -> Exporter {
    Exporter::new(Format::Ocsf, "0.9.0")
}

fn ecs_x() -> Exporter {
    Exporter::new(Format::Ecs, "0.9.0")
}

#[test]
fn allowed_decision_is_a_process_launch() {
    let e = one(&mut ocsf_x(), &host(), &decision(Some(true)));
    assert_eq!(e["class_uid"], 1007);
    assert_eq!(e["category_uid"], 1);
    assert_eq!(e["activity_id"], 1);
    assert_eq!(e["type_uid"], 100701);
    assert_eq!(e["status_id"], 1);
    assert_eq!(e["severity_id"], 1);
    // Milliseconds since the epoch, the microseconds kept in original_time.
    assert_eq!(e["time"], 1_795_097_467_001i64);
    assert_eq!(
        e["metadata"]["original_time"],
        "2026-11-19T14:11:07.001001Z"
    );
    assert_eq!(e["metadata"]["version"], OCSF_VERSION);
    assert_eq!(e["metadata"]["product"]["version"], "0.9.0");
    assert_eq!(e["metadata"]["uid"], format!("{LOG}:3"));
    assert_eq!(e["actor"]["user"]["name"], "alice");
    assert_eq!(e["actor"]["process"]["pid"], 4001);
    assert_eq!(e["process"]["user"]["name"], "root");
    assert_eq!(e["process"]["cmd_line"], "systemctl restart 'a b'");
    assert_eq!(e["process"]["file"]["path"], "/usr/bin/systemctl");
    assert_eq!(e["process"]["file"]["name"], "systemctl");
    assert_eq!(e["device"]["hostname"], "db-01");
    let j = &e["unmapped"]["jit"];
    assert_eq!(j["seq"], 3);
    assert_eq!(j["log_id"], LOG);
    assert_eq!(j["hash"], "ab".repeat(32));
    assert_eq!(j["token_id"], "0000000000000000000000000000a001");
    assert_eq!(j["break_glass"], false);
    assert_eq!(j["verified"], true);
    assert_eq!(j["argv"][2], "a b");
    // System Activity events carry no profile.
    assert!(e["metadata"].get("profiles").is_none());
}

#[test]
fn denials_are_failed_account_switches() {
    for allowed in [Some(false), None] {
        let e = one(&mut ocsf_x(), &host(), &decision(allowed));
        assert_eq!(e["class_uid"], 3002, "{allowed:?}");
        assert_eq!(e["activity_id"], 7);
        assert_eq!(e["type_uid"], 300207);
        assert_eq!(e["status_id"], 2);
        assert_eq!(e["status"], "Failure");
        assert_eq!(e["status_code"], "expired");
        assert_eq!(e["severity_id"], 2);
        assert_eq!(e["user"]["name"], "root");
        assert_eq!(e["actor"]["user"]["name"], "alice");
        assert_eq!(e["metadata"]["profiles"], json!(["host"]));
        assert_eq!(e["unmapped"]["jit"]["command"], "/usr/bin/systemctl");
        let d = one(&mut ecs_x(), &host(), &decision(allowed));
        assert_eq!(d["event"]["outcome"], "failure");
        assert_eq!(d["event"]["category"], json!(["authentication"]));
        assert_eq!(d["event"]["reason"], "expired");
        assert_eq!(d["user"]["name"], "alice");
        assert_eq!(d["user"]["effective"]["name"], "root");
    }
}

#[test]
fn ecs_fields_of_a_decision() {
    let d = one(&mut ecs_x(), &host(), &decision(Some(true)));
    assert_eq!(d["@timestamp"], "2026-11-19T14:11:07.001001Z");
    assert_eq!(d["ecs"]["version"], ECS_VERSION);
    assert_eq!(d["event"]["kind"], "event");
    assert_eq!(d["event"]["category"], json!(["process"]));
    assert_eq!(d["event"]["type"], json!(["start"]));
    assert_eq!(d["event"]["outcome"], "success");
    assert_eq!(d["event"]["action"], "sudo-allowed");
    assert_eq!(d["event"]["id"], format!("{LOG}:3"));
    assert_eq!(d["user"]["name"], "alice");
    assert_eq!(d["user"]["effective"]["name"], "root");
    assert_eq!(d["user"]["effective"]["group"]["name"], "adm");
    assert_eq!(d["process"]["command_line"], "systemctl restart 'a b'");
    assert_eq!(d["process"]["executable"], "/usr/bin/systemctl");
    assert_eq!(d["process"]["args"], json!(["systemctl", "restart", "a b"]));
    assert_eq!(d["process"]["args_count"], 3);
    assert_eq!(d["process"]["parent"]["pid"], 4001);
    assert_eq!(d["host"]["name"], "db-01");
    assert_eq!(d["tags"], json!(["jit"]));
    assert_eq!(d["jit"]["token_id"], "0000000000000000000000000000a001");
    assert_eq!(d["jit"]["ticket"], "OPS-1");
    // ECS has process.args: the vector is not repeated under jit.
    assert!(d["jit"].get("argv").is_none());
}

#[test]
fn break_glass_is_high_and_tagged() {
    let mut r = decision(Some(true));
    r.break_glass = Some(true);
    let e = one(&mut ocsf_x(), &host(), &r);
    assert_eq!(e["severity_id"], 4);
    assert_eq!(e["severity"], "High");
    assert_eq!(e["unmapped"]["jit"]["break_glass"], true);
    let d = one(&mut ecs_x(), &host(), &r);
    assert_eq!(d["tags"], json!(["jit", "break_glass"]));
    assert_eq!(d["jit"]["break_glass"], true);
}

#[test]
fn unverified_input_says_so_in_every_event() {
    let src = Source {
        verified: false,
        ..host()
    };
    let e = one(&mut ocsf_x(), &src, &decision(Some(true)));
    assert_eq!(e["unmapped"]["jit"]["verified"], false);
    let d = one(&mut ecs_x(), &src, &decision(Some(true)));
    assert_eq!(d["tags"], json!(["jit", "unverified"]));
}

#[test]
fn sessions() {
    let mut r = decision(Some(false));
    r.kind = EventKind::SessionOpen;
    let e = one(&mut ocsf_x(), &host(), &r);
    assert_eq!(
        (e["class_uid"].clone(), e["activity_id"].clone()),
        (json!(3002), json!(1))
    );
    assert_eq!(e["status_id"], 2);
    let mut c = rec(EventKind::SessionClose, 4);
    c.user = Some("alice".into());
    c.run_as_user = Some("root".into());
    c.session_secs = Some(12.5);
    let e = one(&mut ocsf_x(), &host(), &c);
    assert_eq!(e["type_uid"], 300202);
    assert_eq!(e["status_id"], 1);
    assert_eq!(e["duration"], 12500);
    let d = one(&mut ecs_x(), &host(), &c);
    assert_eq!(d["event"]["duration"], 12_500_000_000i64);
    assert_eq!(d["event"]["type"], json!(["end"]));
    assert_eq!(d["event"]["category"], json!(["session"]));
}

#[test]
fn log_records_are_event_log_activity() {
    let mut s = rec(EventKind::Start, 0);
    s.log_id = Some("11".repeat(16).into());
    let no_id = Source {
        log_id: None,
        ..host()
    };
    // The start record names its own log.
    let e = one(&mut ocsf_x(), &no_id, &s);
    assert_eq!(e["type_uid"], 100806);
    assert_eq!(e["log_name"], "11".repeat(16));
    assert_eq!(e["actor"]["app_name"], "pam_jit");
    assert!(e.get("status_id").is_none());
    let mut c = rec(EventKind::Continue, 9);
    c.log_id = Some(LOG.into());
    assert_eq!(one(&mut ocsf_x(), &host(), &c)["type_uid"], 100805);
    let mut rc = rec(EventKind::Recovery, 10);
    rc.found = Some("torn_tail".into());
    rc.discarded_bytes = Some(60);
    let e = one(&mut ocsf_x(), &ledger(), &rc);
    assert_eq!(e["type_uid"], 100899);
    assert_eq!(e["activity_name"], "Recovery");
    assert_eq!(e["severity_id"], 3);
    assert_eq!(e["status_detail"], "torn_tail");
    assert_eq!(e["actor"]["app_name"], "jit-signer");
    assert_eq!(e["unmapped"]["jit"]["discarded_bytes"], 60);
    let d = one(&mut ecs_x(), &host(), &rc);
    assert_eq!(d["event"]["action"], "jit-log-recovery");
    assert_eq!(d["event"]["outcome"], "unknown");
    assert!(d["event"].get("category").is_none());
}

fn issued(seq: u64, token: &str, user: &str) -> Record<'static> {
    let mut r = rec(EventKind::Issued, seq);
    r.host = "signer-1".into();
    r.user = Some(user.to_string().into());
    r.token_id = Some(token.to_string().into());
    r.approver = Some("carol".into());
    r.requester = Some("alice".into());
    r.host_groups = Some(vec!["db".into(), "web".into()]);
    r.grants = Some(vec![GrantRec {
        argv: vec!["/usr/bin/systemctl".into(), "restart".into(), "a b".into()],
        any_args: true,
    }]);
    r.run_as = Some(vec!["root".into()]);
    r.shell = Some(true);
    r.iat = Some(1_795_000_100);
    r.nbf = Some(1_795_000_100);
    r.exp = Some(1_795_003_700);
    r
}

#[test]
fn issued_grant_assigns_privileges() {
    let e = one(&mut ocsf_x(), &ledger(), &issued(1, "t1", "bob"));
    assert_eq!(e["class_uid"], 3005);
    assert_eq!(e["type_uid"], 300501);
    assert_eq!(e["user"]["name"], "bob");
    assert_eq!(e["actor"]["user"]["name"], "carol");
    assert_eq!(
        e["privileges"],
        json!(["/usr/bin/systemctl restart 'a b' ...", "(shell)"])
    );
    assert_eq!(e["resources"][1]["name"], "web");
    assert_eq!(e["metadata"]["log_name"], "ledger");
    assert_eq!(e["unmapped"]["jit"]["exp"], 1_795_003_700);
    let d = one(&mut ecs_x(), &ledger(), &issued(1, "t1", "bob"));
    assert_eq!(d["user"]["target"]["name"], "bob");
    assert_eq!(d["user"]["name"], "carol");
    assert_eq!(d["event"]["category"], json!(["iam"]));
    assert_eq!(d["event"]["dataset"], "jit.ledger");
    // An on-call auto-approval is no person acting.
    let mut r = issued(1, "t1", "bob");
    r.approver = Some("auto:pagerduty".into());
    let e = one(&mut ocsf_x(), &ledger(), &r);
    assert!(e["actor"].get("user").is_none(), "{e}");
}

#[test]
fn ssh_certificate_assigns_login_privileges() {
    let mut r = rec(EventKind::SshCert, 3);
    r.host = "signer-1".into();
    r.user = Some("bob".into());
    r.token_id = Some("t9".into());
    r.approver = Some("carol".into());
    r.host_groups = Some(vec!["db".into()]);
    r.serial = Some("18446744073709551615".into());
    r.principals = Some(vec!["bob@db".into(), "deploy@db".into()]);
    r.key_fingerprint = Some("SHA256:key".into());
    r.ca_fingerprint = Some("SHA256:ca".into());
    r.extensions = Some(vec!["permit-pty".into()]);
    r.iat = Some(1_795_000_100);
    r.nbf = Some(1_795_000_100);
    r.exp = Some(1_795_014_500);
    let e = one(&mut ocsf_x(), &ledger(), &r);
    assert_eq!(e["type_uid"], 300501);
    assert_eq!(e["user"]["name"], "bob");
    assert_eq!(e["actor"]["user"]["name"], "carol");
    assert_eq!(
        e["privileges"],
        json!([
            "ssh login as principal bob@db",
            "ssh login as principal deploy@db"
        ])
    );
    // The serial stays a string: JSON readers lose precision above 2^53.
    assert_eq!(e["unmapped"]["jit"]["serial"], "18446744073709551615");
    assert_eq!(
        e["unmapped"]["jit"]["principals"],
        json!(["bob@db", "deploy@db"])
    );
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("SSH certificate t9"));
    let d = one(&mut ecs_x(), &ledger(), &r);
    assert_eq!(d["event"]["action"], "jit-ssh-cert-issued");
    assert_eq!(d["user"]["target"]["name"], "bob");
    // A record without its principals cannot be exported: an error, never a
    // partial event.
    r.principals = None;
    assert!(ocsf_x().export(&ledger(), &r).is_err());
}

#[test]
fn refused_request_is_a_failed_assignment() {
    let mut r = rec(EventKind::Refused, 2);
    r.reason_code = Some("ttl_out_of_range".into());
    r.message = Some("--ttl must be between 1 min and 24 h".into());
    let e = one(&mut ocsf_x(), &ledger(), &r);
    assert_eq!(e["type_uid"], 300501);
    assert_eq!(e["status_id"], 2);
    assert_eq!(e["status_code"], "ttl_out_of_range");
    assert_eq!(e["status_detail"], "--ttl must be between 1 min and 24 h");
    let d = one(&mut ecs_x(), &ledger(), &r);
    assert_eq!(d["jit"]["message"], "--ttl must be between 1 min and 24 h");
    assert_eq!(d["event"]["outcome"], "failure");
    // No user named: OCSF's required user gets the placeholder, ECS none.
    assert_eq!(e["user"]["name"], UNKNOWN_USER);
    assert_eq!(e["privileges"], json!([]));
    assert!(one(&mut ecs_x(), &ledger(), &r).get("user").is_none());
}

#[test]
fn revocation_lists_export_what_they_add() {
    let mut x = ocsf_x();
    one(&mut x, &ledger(), &issued(1, "t1", "bob"));
    let list = |seq, v, tokens: &[&str], users: &[&str], wm: &[(&str, i64)]| {
        let mut r = rec(EventKind::Revoked, seq);
        r.revocation_version = Some(v);
        r.requester = Some("carol".into());
        r.revoked_tokens = Some(
            tokens
                .iter()
                .map(|t| RevokedToken {
                    token_id: t.to_string(),
                    exp: 1,
                })
                .collect(),
        );
        r.revoked_users = Some(users.iter().map(|u| u.to_string()).collect());
        r.watermarks = Some(
            wm.iter()
                .map(|(u, b)| Watermark {
                    user: u.to_string(),
                    before: *b,
                })
                .collect(),
        );
        r
    };
    let v = x
        .export(&ledger(), &list(2, 1, &["t1"], &["mallory"], &[]))
        .unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["type_uid"], 300502);
    assert_eq!(v[0]["user"]["name"], "bob", "owner from the issued record");
    assert_eq!(v[0]["privileges"], json!(["jit token t1"]));
    assert_eq!(v[0]["actor"]["user"]["name"], "carol");
    assert_eq!(v[1]["user"]["name"], "mallory");
    // One record, two events: each its own id.
    assert_eq!(v[0]["metadata"]["uid"], format!("{LOG}:2:0"));
    assert_eq!(v[1]["metadata"]["uid"], format!("{LOG}:2:1"));
    // v2 repeats v1 and adds a token of unknown owner and a watermark.
    let v = x
        .export(
            &ledger(),
            &list(3, 2, &["t1", "t9"], &["mallory"], &[("bob", 100)]),
        )
        .unwrap();
    assert_eq!(v.len(), 2, "{v:?}");
    assert_eq!(v[0]["user"]["name"], UNKNOWN_USER);
    assert_eq!(v[0]["unmapped"]["jit"]["revoked"]["token_id"], "t9");
    assert_eq!(v[0]["unmapped"]["jit"]["revoked"]["owner"], Value::Null);
    assert_eq!(v[1]["unmapped"]["jit"]["revoked"]["by"], "watermark");
    // Nothing new (an expired entry pruned): no event; a raised watermark is new.
    assert!(x
        .export(
            &ledger(),
            &list(4, 3, &["t9"], &["mallory"], &[("bob", 100)])
        )
        .unwrap()
        .is_empty());
    let v = x
        .export(
            &ledger(),
            &list(5, 4, &["t9"], &["mallory"], &[("bob", 200)]),
        )
        .unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["unmapped"]["jit"]["revoked"]["before"], 200);
    // Another ledger's lists are its own.
    let other = Source {
        log_id: Some("ff"),
        ..ledger()
    };
    assert_eq!(
        x.export(&other, &list(1, 1, &["t9"], &[], &[]))
            .unwrap()
            .len(),
        1
    );
}

/// The SSH entries of a revocation list (serials, key ids, keys) are
/// events like its token entries: Revoke Privileges, one per new entry,
/// the certificate's owner from an `ssh_cert` record read before, and in
/// ECS the action of SSH certificates (`jit-ssh-cert-revoked`).
#[test]
fn revocation_lists_export_their_ssh_entries() {
    let cert = || {
        let mut r = rec(EventKind::SshCert, 1);
        r.host = "signer-1".into();
        r.user = Some("bob".into());
        r.token_id = Some("g1".into());
        r.serial = Some("18446744073709551615".into());
        r.principals = Some(vec!["bob@db".into()]);
        r.key_fingerprint = Some("SHA256:bobkey".into());
        r.ca_fingerprint = Some("SHA256:ca".into());
        r.nbf = Some(1_795_000_100);
        r.exp = Some(1_795_014_500);
        r
    };
    let list = |seq, v, serials: &[(&str, &str)], key_ids: &[&str], keys: &[&str]| {
        let mut r = rec(EventKind::Revoked, seq);
        r.revocation_version = Some(v);
        r.requester = Some("carol".into());
        r.revoked_tokens = Some(Vec::new());
        r.revoked_users = Some(Vec::new());
        r.watermarks = Some(Vec::new());
        r.revoked_ssh_serials = (!serials.is_empty()).then(|| {
            serials
                .iter()
                .map(|(ca, s)| RevokedSshSerial {
                    ca: ca.to_string(),
                    serial: s.to_string(),
                    exp: 1,
                })
                .collect()
        });
        r.revoked_ssh_key_ids = (!key_ids.is_empty()).then(|| {
            key_ids
                .iter()
                .map(|k| RevokedSshKeyId {
                    key_id: k.to_string(),
                    exp: 1,
                })
                .collect()
        });
        r.revoked_ssh_keys =
            (!keys.is_empty()).then(|| keys.iter().map(|k| k.to_string()).collect());
        r
    };
    let mut x = ocsf_x();
    one(&mut x, &ledger(), &cert());
    let v = x
        .export(
            &ledger(),
            &list(
                2,
                1,
                &[("SHA256:ca", "18446744073709551615")],
                &["g1"],
                &["SHA256:bobkey"],
            ),
        )
        .unwrap();
    assert_eq!(v.len(), 3, "{v:?}");
    for (i, e) in v.iter().enumerate() {
        assert_eq!(e["class_uid"], 3005);
        assert_eq!(e["type_uid"], 300502);
        assert_eq!(e["status_id"], 1);
        assert_eq!(e["user"]["name"], "bob", "owner from the ssh_cert record");
        assert_eq!(e["actor"]["user"]["name"], "carol");
        assert_eq!(e["metadata"]["uid"], format!("{LOG}:2:{i}"));
    }
    let j = |i: usize| &v[i]["unmapped"]["jit"]["revoked"];
    assert_eq!(
        *j(0),
        json!({"by": "ssh_serial", "ca": "SHA256:ca", "serial": "18446744073709551615", "owner": "bob"})
    );
    assert_eq!(
        *j(1),
        json!({"by": "ssh_key_id", "key_id": "g1", "owner": "bob"})
    );
    assert_eq!(
        *j(2),
        json!({"by": "ssh_key", "key_fingerprint": "SHA256:bobkey", "owner": "bob"})
    );
    assert_eq!(
        v[0]["privileges"],
        json!(["ssh certificate serial 18446744073709551615 of CA SHA256:ca"])
    );
    // v2 keeps v1 and adds a CA key nobody's certificate names: one event,
    // owner unknown (OCSF's placeholder user).
    let v = x
        .export(
            &ledger(),
            &list(
                3,
                2,
                &[("SHA256:ca", "18446744073709551615")],
                &["g1"],
                &["SHA256:bobkey", "SHA256:ca"],
            ),
        )
        .unwrap();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0]["user"]["name"], UNKNOWN_USER);
    assert_eq!(v[0]["unmapped"]["jit"]["revoked"]["owner"], Value::Null);
    // A key id is a grant id: an issued token's owner names it too.
    let mut x = ecs_x();
    one(&mut x, &ledger(), &issued(1, "t7", "dave"));
    let v = x.export(&ledger(), &list(2, 1, &[], &["t7"], &[])).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["event"]["action"], "jit-ssh-cert-revoked");
    assert_eq!(v[0]["event"]["category"], json!(["iam"]));
    assert_eq!(v[0]["event"]["outcome"], "success");
    assert_eq!(v[0]["user"]["target"]["name"], "dave");
    assert_eq!(v[0]["jit"]["revoked"]["by"], "ssh_key_id");
    // Token entries keep their action in the same list.
    let mut r = list(3, 2, &[], &["t7"], &[]);
    r.revoked_users = Some(vec!["mallory".into()]);
    let v = x.export(&ledger(), &r).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["event"]["action"], "jit-grant-revoked");
}

#[test]
fn fails_closed() {
    let mut x = ocsf_x();
    // A ledger kind in a host log, a host kind in a ledger.
    assert!(matches!(
        x.export(&host(), &issued(1, "t1", "bob")),
        Err(ExportError::WrongInput { .. })
    ));
    assert!(matches!(
        x.export(&ledger(), &decision(Some(true))),
        Err(ExportError::WrongInput { .. })
    ));
    // An issued record without its token id.
    let mut r = issued(1, "t1", "bob");
    r.token_id = None;
    assert_eq!(
        x.export(&ledger(), &r),
        Err(ExportError::Missing {
            seq: 1,
            kind: "issued",
            member: "token_id"
        })
    );
    // A time not in the log's format.
    let mut r = decision(Some(true));
    r.time = "2026-11-19 14:11:07".into();
    assert!(matches!(
        x.export(&host(), &r),
        Err(ExportError::Time { .. })
    ));
    // No log named yet.
    let src = Source {
        log_id: None,
        ..host()
    };
    assert_eq!(
        x.export(&src, &decision(Some(true))),
        Err(ExportError::NoLogId { seq: 3 })
    );
}

#[test]
fn type_uid_is_class_times_100_plus_activity() {
    let all = [
        What::Launch,
        What::Denied,
        What::SessionOpen { allowed: false },
        What::SessionClose,
        What::LogStart,
        What::LogContinue,
        What::LogRecovery,
        What::Issued,
        What::Refused,
        What::Revoke(Revoked::User("u".into())),
    ];
    for w in &all {
        let c = class_of(w);
        assert_eq!(c.class_uid / 1000, c.category_uid, "{w:?}");
    }
    let r = decision(Some(true));
    let ctx = Ctx {
        r: &r,
        src: &host(),
        log_id: LOG,
        micros: 0,
        product_version: "x",
        part: None,
    };
    for w in &all {
        let e = ocsf(&ctx, w);
        let want = e["class_uid"].as_u64().unwrap() * 100 + e["activity_id"].as_u64().unwrap();
        assert_eq!(e["type_uid"], want, "{w:?}");
    }
}
