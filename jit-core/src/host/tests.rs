//! [`decide`] driven through in-memory stores: every reason code it can
//! give, in order, and the mappings to the record and to PAM.

use super::*;
use crate::keys::SigningKeyWithKid;
use crate::log::{Durability, LogConfig};
use crate::revocation::Revoked;
use crate::token::{Claims, Grant};
use std::cell::{Cell, RefCell};
use std::collections::HashSet;

const NOW: i64 = 1_800_000_000;

fn key() -> SigningKeyWithKid {
    SigningKeyWithKid::from_seed("unit-k1", &[7u8; 32]).unwrap()
}

fn claims() -> Claims {
    Claims {
        iss: "unit".into(),
        sub: "alice".into(),
        iat: NOW - 10,
        nbf: NOW - 10,
        exp: NOW + 3600,
        cti: [1u8; 16],
        hosts: vec!["unit".into()],
        cmds: vec![Grant {
            argv: vec!["/usr/bin/true".into()],
            any_args: false,
        }],
        run_as: vec!["root".into()],
        run_as_groups: vec!["staff".into()],
        shell: false,
        reason: "unit test".into(),
        ticket: None,
        approver: None,
        break_glass: false,
        max_uses: None,
    }
}

fn token(c: &Claims) -> String {
    crate::token::issue_b64(c, &key()).unwrap()
}

fn config() -> Config {
    Config::parse(
        "host_groups = unit\ntrusted_keys = /nonexistent/keys\n",
        "unit",
    )
    .unwrap()
}

fn exec(argv: &[&str]) -> Determined {
    Determined {
        action: Action::Exec {
            argv: argv.iter().map(|s| s.to_string()).collect(),
        },
        run_as_user: RunAs::Default,
        run_as_group: None,
    }
}

fn facts(hook: Hook) -> Facts {
    Facts {
        hook,
        uid: 1000,
        pam_user: Some("alice".into()),
        pam_ruser: Some("alice".into()),
        command: Ok(exec(&["/usr/bin/true"])),
        token: TokenInput::Given(token(&claims())),
        prompt: false,
        ssh: false,
        argv: vec!["sudo".into(), "/usr/bin/true".into()],
        now: NOW,
    }
}

/// Stores in memory; each answer can be set, and calls are counted.
struct Fake {
    keys: Result<(), String>,
    revocation: Option<Result<Checked, HostError>>,
    uses: RefCell<Option<Result<Use, ReplayError>>>,
    used: Cell<u32>,
    prompted: Cell<u32>,
    answer: Option<String>,
}

impl Default for Fake {
    fn default() -> Fake {
        Fake {
            keys: Ok(()),
            revocation: None,
            uses: RefCell::new(None),
            used: Cell::new(0),
            prompted: Cell::new(0),
            answer: None,
        }
    }
}

impl Stores for Fake {
    fn user_name(&self, uid: u32) -> Option<String> {
        match uid {
            0 => Some("root".into()),
            1000 => Some("alice".into()),
            _ => None,
        }
    }
    fn user_by_name(&self, name: &str) -> Option<String> {
        ["root", "alice", "www-data"]
            .contains(&name)
            .then(|| name.to_string())
    }
    fn group_name(&self, gid: u32) -> Option<String> {
        (gid == 50).then(|| "staff".into())
    }
    fn group_by_name(&self, name: &str) -> Option<String> {
        (name == "staff").then(|| name.to_string())
    }
    fn prompt(&self, _msg: &str) -> Option<String> {
        self.prompted.set(self.prompted.get() + 1);
        self.answer.clone()
    }
    fn trusted_keys(&self) -> Result<TrustedKeys, String> {
        self.keys.clone()?;
        let mut k = TrustedKeys::default();
        k.insert(key().trusted_key());
        Ok(k)
    }
    fn revocation(&self, _: &TrustedKeys, _: i64, _: &TokenInfo) -> Result<Checked, HostError> {
        match &self.revocation {
            None => Ok(Checked::NoList),
            Some(Ok(c)) => Ok(c.clone()),
            Some(Err(e)) => Err(match e {
                HostError::Missing(m) => HostError::Missing(m.clone()),
                HostError::Rollback { path, got, have } => HostError::Rollback {
                    path: path.clone(),
                    got: *got,
                    have: *have,
                },
                _ => HostError::Equivocation {
                    path: "/l".into(),
                    version: 1,
                },
            }),
        }
    }
    fn consume_use(&self, _: &TokenInfo, max: u32, _: i64) -> Result<Use, ReplayError> {
        self.used.set(self.used.get() + 1);
        match self.uses.borrow_mut().take() {
            None => Ok(Use { n: 1, max }),
            Some(r) => r,
        }
    }
}

fn denied(d: &Decision) -> &Denied {
    match &d.verdict {
        Verdict::Deny(x) => x,
        other => panic!("wanted a denial, got {other:?}"),
    }
}

fn code_of(f: &Facts, s: &Fake) -> &'static str {
    let d = decide(f, &config(), s);
    match &d.verdict {
        Verdict::Deny(x) => x.code.code(),
        Verdict::Allow(_) => "ok",
        Verdict::Abstain => "abstain",
    }
}

#[test]
fn a_valid_token_for_the_command_is_allowed_with_what_was_seen() {
    let d = decide(&facts(Hook::Account), &config(), &Fake::default());
    let Verdict::Allow(a) = &d.verdict else {
        panic!("{:?}", d.verdict)
    };
    assert!(a.message.starts_with("allowed by token "), "{}", a.message);
    assert_eq!(a.token.cti_hex, "01".repeat(16));
    assert_eq!(d.seen.user.as_deref(), Some("alice"));
    assert_eq!(d.seen.run_as.as_deref(), Some("root"));
    assert_eq!(d.verdict.answer(Hook::Account), PamAnswer::Success);
}

#[test]
fn the_user_is_checked_first() {
    let s = Fake::default();
    let mut f = facts(Hook::Account);
    f.uid = 4242;
    // Even with no command and no token: the unknown uid decides.
    f.command = Err("x".into());
    f.token = TokenInput::Absent;
    assert_eq!(code_of(&f, &s), "unknown_user");
    let mut f = facts(Hook::Account);
    f.pam_ruser = Some("mallory".into());
    assert_eq!(code_of(&f, &s), "user_mismatch");
    let mut f = facts(Hook::Account);
    f.pam_user = Some("root".into());
    assert_eq!(code_of(&f, &s), "user_mismatch");
    // PAM_USER unset is a mismatch too (targetpw, rootpw).
    f.pam_user = None;
    let d = decide(&f, &config(), &s);
    assert!(denied(&d).message.contains("targetpw/rootpw"));
    // PAM_RUSER unset is not (sudo-rs sets none).
    let mut f = facts(Hook::Account);
    f.pam_ruser = None;
    assert_eq!(code_of(&f, &s), "ok");
}

#[test]
fn the_command_and_its_run_as_come_before_the_token() {
    let s = Fake::default();
    let mut f = facts(Hook::Account);
    f.command = Err("cannot read sudo's command line: gone".into());
    f.token = TokenInput::Repeated;
    let d = decide(&f, &config(), &s);
    assert_eq!(denied(&d).code, DenyCode::CommandUndetermined);
    assert_eq!(denied(&d).message, "cannot read sudo's command line: gone");
    assert_eq!(d.seen.user.as_deref(), Some("alice"));
    for (user, group, want) in [
        (RunAs::Name("nobody-here".into()), None, "unknown_run_as"),
        (RunAs::Id(4242), None, "unknown_run_as"),
        (
            RunAs::Default,
            Some(RunAs::Name("wheel".into())),
            "unknown_run_as",
        ),
        (RunAs::Default, Some(RunAs::Id(9)), "unknown_run_as"),
        (RunAs::Name("www-data".into()), None, "run_as_not_granted"),
        (RunAs::Id(0), Some(RunAs::Id(50)), "ok"),
    ] {
        let mut f = facts(Hook::Account);
        let mut c = exec(&["/usr/bin/true"]);
        c.run_as_user = user.clone();
        c.run_as_group = group.clone();
        f.command = Ok(c);
        assert_eq!(code_of(&f, &s), want, "{user:?} {group:?}");
    }
}

#[test]
fn a_group_alone_runs_as_the_invoking_user() {
    let mut f = facts(Hook::Account);
    let mut c = exec(&["/usr/bin/true"]);
    c.run_as_group = Some(RunAs::Name("staff".into()));
    f.command = Ok(c);
    let d = decide(&f, &config(), &Fake::default());
    assert_eq!(d.seen.run_as.as_deref(), Some("alice"));
    assert_eq!(d.seen.run_as_group.as_deref(), Some("staff"));
    assert_eq!(denied(&d).code, DenyCode::Token(Reason::RunAsNotGranted));
}

#[test]
fn the_token_input_rules() {
    let s = Fake::default();
    let mut f = facts(Hook::Account);
    f.token = TokenInput::Repeated;
    assert_eq!(code_of(&f, &s), "malformed");
    f.token = TokenInput::Absent;
    assert_eq!(code_of(&f, &s), "no_token");
    // authenticate without a token is the next module's business ...
    let mut f = facts(Hook::Authenticate);
    f.token = TokenInput::Absent;
    assert_eq!(code_of(&f, &s), "abstain");
    assert_eq!(
        decide(&f, &config(), &s).verdict.answer(Hook::Authenticate),
        PamAnswer::Ignore
    );
    // ... unless the module prompts: an answer is the token, none a denial.
    f.prompt = true;
    assert_eq!(code_of(&f, &s), "no_token");
    assert_eq!(s.prompted.get(), 1);
    let s = Fake {
        answer: Some(token(&claims())),
        ..Fake::default()
    };
    assert_eq!(code_of(&f, &s), "ok");
    let s = Fake {
        answer: Some(String::new()),
        ..Fake::default()
    };
    assert_eq!(code_of(&f, &s), "no_token");
    // A token in the environment is never prompted for.
    let s = Fake::default();
    let f = Facts {
        prompt: true,
        ..facts(Hook::Account)
    };
    assert_eq!(code_of(&f, &s), "ok");
    assert_eq!(s.prompted.get(), 0);
}

#[test]
fn unusable_keys_deny() {
    let s = Fake {
        keys: Err("refusing /k: owned by uid 1000, not root".into()),
        ..Fake::default()
    };
    let d = decide(&facts(Hook::Account), &config(), &s);
    assert_eq!(denied(&d).code, DenyCode::KeysUnusable);
    assert_eq!(
        denied(&d).message,
        "trusted keys unusable: refusing /k: owned by uid 1000, not root"
    );
}

#[test]
fn token_refusals_keep_their_reason_and_the_verified_token() {
    let s = Fake::default();
    let mut f = facts(Hook::Account);
    f.token = TokenInput::Given("not a token".into());
    let d = decide(&f, &config(), &s);
    assert_eq!(denied(&d).code, DenyCode::Token(Reason::BadBase64));
    assert_eq!(denied(&d).token, None);
    // A verified token for another command: denied, the token recorded.
    f.token = TokenInput::Given(token(&claims()));
    f.command = Ok(exec(&["/usr/bin/id"]));
    let d = decide(&f, &config(), &s);
    assert_eq!(denied(&d).code, DenyCode::Token(Reason::CommandNotGranted));
    assert!(denied(&d).token.is_some());
    let ev = d.event(Hook::Account, None, 7);
    assert_eq!(ev.token_id.as_deref(), Some("01".repeat(16).as_str()));
    assert_eq!(ev.allowed, Some(false));
    assert_eq!(ev.reason_code.as_deref(), Some("command_not_granted"));
}

#[test]
fn revocation_decides_after_the_token() {
    let with = |r: Result<Checked, HostError>| Fake {
        revocation: Some(r),
        ..Fake::default()
    };
    let f = facts(Hook::Account);
    let d = decide(&f, &config(), &with(Ok(Checked::NotRevoked(4))));
    let Verdict::Allow(a) = &d.verdict else {
        panic!()
    };
    assert!(
        a.message.ends_with("(revocation list version 4)"),
        "{}",
        a.message
    );
    let d = decide(
        &f,
        &config(),
        &with(Ok(Checked::Revoked(5, Revoked::TokenId))),
    );
    assert_eq!(denied(&d).code, DenyCode::Revoked);
    assert!(denied(&d)
        .message
        .contains("is revoked (revocation list version 5)"));
    assert!(denied(&d).token.is_some());
    let d = decide(&f, &config(), &with(Err(HostError::Missing("gone".into()))));
    assert_eq!(denied(&d).code, DenyCode::RevocationListMissing);
    assert_eq!(denied(&d).message, "gone");
    let rollback = HostError::Rollback {
        path: "/l".into(),
        got: 1,
        have: 2,
    };
    assert_eq!(code_of(&f, &with(Err(rollback))), "revocation_rollback");
    // An invalid token never reaches the list.
    let mut f = facts(Hook::Account);
    f.command = Ok(exec(&["/usr/bin/id"]));
    assert_eq!(
        code_of(&f, &with(Err(HostError::Missing("x".into())))),
        "command_not_granted"
    );
}

#[test]
fn host_errors_map_to_their_codes() {
    let p = std::path::PathBuf::from("/l");
    for (e, want) in [
        (HostError::Missing("m".into()), "revocation_list_missing"),
        (
            HostError::Invalid {
                path: p.clone(),
                why: "w".into(),
                code: None,
            },
            "revocation_list_invalid",
        ),
        (
            HostError::Rollback {
                path: p.clone(),
                got: 1,
                have: 2,
            },
            "revocation_rollback",
        ),
        (
            HostError::Equivocation {
                path: p.clone(),
                version: 1,
            },
            "revocation_equivocation",
        ),
        (
            HostError::State {
                path: p.clone(),
                why: "w".into(),
            },
            "revocation_state_unusable",
        ),
    ] {
        assert_eq!(DenyCode::from(&e).code(), want);
    }
}

#[test]
fn uses_are_counted_in_acct_mgmt_only_and_only_where_something_runs() {
    let mut c = claims();
    c.max_uses = Some(2);
    let mut f = facts(Hook::Account);
    f.token = TokenInput::Given(token(&c));
    let s = Fake::default();
    let d = decide(&f, &config(), &s);
    let Verdict::Allow(a) = &d.verdict else {
        panic!()
    };
    assert!(a.message.ends_with("(use 1 of 2)"), "{}", a.message);
    assert_eq!(s.used.get(), 1);
    // authenticate, and sudo -l / -v, count nothing.
    let mut g = f.clone();
    g.hook = Hook::Authenticate;
    assert_eq!(code_of(&g, &s), "ok");
    let mut g = f.clone();
    g.command = Ok(Determined {
        action: Action::List,
        run_as_user: RunAs::Default,
        run_as_group: None,
    });
    assert_eq!(code_of(&g, &s), "ok");
    assert_eq!(s.used.get(), 1);
    for (err, want) in [
        (ReplayError::Exhausted { max: 2 }, "uses_exhausted"),
        (
            ReplayError::ClockBehind {
                written_at: 2,
                exp: 1,
                now: 0,
            },
            "clock_stepped_back",
        ),
        (
            ReplayError::Corrupt {
                path: "/r".into(),
                line: 1,
                msg: "m".into(),
            },
            "replay_cache_unusable",
        ),
    ] {
        *s.uses.borrow_mut() = Some(Err(err));
        let d = decide(&f, &config(), &s);
        assert_eq!(denied(&d).code.code(), want);
        assert!(denied(&d).token.is_some());
    }
}

#[test]
fn break_glass_counts_as_single_use_even_without_a_limit() {
    let mut c = claims();
    c.break_glass = true;
    c.max_uses = Some(1);
    let f = Facts {
        token: TokenInput::Given(token(&c)),
        ..facts(Hook::Account)
    };
    let s = Fake::default();
    let d = decide(&f, &config(), &s);
    assert!(d.verdict.is_allowed());
    assert_eq!(s.used.get(), 1);
    let ev = d.event(Hook::Account, Some("/dev/pts/1".into()), 9);
    assert!(ev.break_glass);
}

#[test]
fn the_record_of_a_decision() {
    let d = decide(&facts(Hook::Authenticate), &config(), &Fake::default());
    let ev = d.event(Hook::Authenticate, Some("/dev/pts/3".into()), 77);
    assert_eq!(ev.kind, EventKind::Decision);
    assert_eq!(ev.allowed, Some(true));
    assert_eq!(ev.reason_code.as_deref(), Some("ok"));
    assert!(ev
        .message
        .as_deref()
        .unwrap()
        .starts_with("authenticate: allowed by token"));
    assert_eq!(ev.command_path.as_deref(), Some("/usr/bin/true"));
    assert_eq!(ev.argv, Some(vec!["/usr/bin/true".to_string()]));
    assert_eq!(ev.tty.as_deref(), Some("/dev/pts/3"));
    assert_eq!(ev.pid, Some(77));
    assert_eq!(ev.token_id.as_deref(), Some("01".repeat(16).as_str()));
    // What acct_mgmt keeps for the session, only when it approved.
    let log = LogConfig::new("h");
    let kept = d.approved(&log).unwrap();
    assert_eq!(
        (kept.user.as_str(), kept.run_as.as_str()),
        ("alice", "root")
    );
    let mut f = facts(Hook::Account);
    f.token = TokenInput::Absent;
    assert!(decide(&f, &config(), &Fake::default())
        .approved(&log)
        .is_none());
}

#[test]
fn command_of_every_action() {
    let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        command_of(Some(&Action::Edit {
            files: e(&["/etc/hosts"])
        })),
        (
            Some("sudoedit".into()),
            Some(e(&["sudoedit", "/etc/hosts"]))
        )
    );
    assert_eq!(
        command_of(Some(&Action::List)),
        (None, Some(e(&["sudo -l"])))
    );
    assert_eq!(command_of(None), (None, None));
}

#[test]
fn sessions_start_only_as_approved() {
    let log = LogConfig::new("h");
    let d = decide(&facts(Hook::Account), &config(), &Fake::default());
    let kept = d.approved(&log).unwrap();
    assert_eq!(open_session(Some(&kept), Some("root")), Ok(()));
    let e = open_session(Some(&kept), Some("alice")).unwrap_err();
    assert_eq!(e.code, DenyCode::RunAsMismatch);
    assert_eq!(
        e.message,
        "session target \"alice\" is not the approved run-as user root"
    );
    assert_eq!(
        open_session(Some(&kept), None).unwrap_err().code,
        DenyCode::RunAsMismatch
    );
    let e = open_session(None, Some("root")).unwrap_err();
    assert_eq!(e.code, DenyCode::NoDecision);
    let ev = kept.session_event(EventKind::SessionClose, None, 5);
    assert_eq!(ev.kind, EventKind::SessionClose);
    assert_eq!(ev.token_id.as_deref(), Some("01".repeat(16).as_str()));
    assert_eq!(ev.command_path.as_deref(), Some("/usr/bin/true"));
}

#[test]
fn pam_answers() {
    let deny = Verdict::Deny(Denied::new(DenyCode::NoToken, "x"));
    // Never PAM_AUTH_ERR outside authenticate (acct_mgmt would make sudo ask
    // "is your account locked?"), never PAM_SESSION_ERR in open_session
    // (sudo ignores it and runs the command).
    assert_eq!(deny.answer(Hook::Authenticate), PamAnswer::AuthErr);
    for hook in [Hook::Account, Hook::OpenSession, Hook::CloseSession] {
        assert_eq!(deny.answer(hook), PamAnswer::PermDenied);
        assert_eq!(Verdict::Abstain.answer(hook), PamAnswer::Ignore);
    }
    assert_eq!(deny.code(), "no_token");
    // Only an approval waits for the disk.
    assert_eq!(deny.durability(), Durability::Written);
    let d = decide(&facts(Hook::Account), &config(), &Fake::default());
    assert_eq!(d.verdict.durability(), Durability::Flushed);
    assert_eq!(
        Denied::new(DenyCode::NoToken, "no JIT token").sentence(),
        "jit: denied: no JIT token"
    );
}

#[test]
fn every_code_is_distinct_and_round_trips() {
    let mut seen = HashSet::new();
    for c in DenyCode::HOST.iter().copied().chain(
        Reason::ALL
            .iter()
            .copied()
            .filter(|r| *r != Reason::Ok)
            .map(DenyCode::Token),
    ) {
        assert!(seen.insert(c.code()), "duplicate code {c}");
        assert_eq!(DenyCode::from_code(c.code()), Some(c), "{c}");
        assert!(c
            .code()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
    }
    assert_eq!(DenyCode::from_code("ok"), None);
    assert_eq!(DenyCode::from_code("bogus"), None);
}

#[test]
fn every_host_code_is_documented() {
    let doc = include_str!("../../../docs/pam-module.md");
    for c in DenyCode::HOST {
        assert!(
            doc.contains(&format!("`{}`", c.code())),
            "{c} not in docs/pam-module.md"
        );
    }
}

#[test]
fn no_token_over_ssh_says_how_to_send_one() {
    let s = Fake::default();
    for ssh in [false, true] {
        let f = Facts {
            token: TokenInput::Absent,
            ssh,
            ..facts(Hook::Account)
        };
        let d = decide(&f, &config(), &s);
        let m = &denied(&d).message;
        assert_eq!(denied(&d).code, DenyCode::NoToken);
        assert!(m.starts_with("no JIT token: set JIT_TOKEN"), "{m}");
        assert_eq!(m.contains("SendEnv JIT_TOKEN"), ssh, "{m}");
        assert_eq!(m.contains("AcceptEnv JIT_TOKEN"), ssh, "{m}");
    }
    // With the prompt configured, a failed prompt over SSH points to ssh -t.
    let f = Facts {
        token: TokenInput::Absent,
        prompt: true,
        ssh: true,
        ..facts(Hook::Account)
    };
    let d = decide(&f, &config(), &s);
    let m = &denied(&d).message;
    assert!(
        m.contains("ssh -t") && m.contains("SendEnv JIT_TOKEN"),
        "{m}"
    );
}

#[test]
fn a_command_denial_lists_what_the_token_grants() {
    let s = Fake::default();
    let f = Facts {
        command: Ok(exec(&["/usr/bin/id"])),
        ..facts(Hook::Account)
    };
    let d = decide(&f, &config(), &s);
    assert_eq!(
        denied(&d).message,
        "command not granted: /usr/bin/id; this token grants: /usr/bin/true"
    );
    // Many grants are counted, not listed.
    let mut c = claims();
    c.cmds = (0..6)
        .map(|i| Grant {
            argv: vec![format!("/usr/bin/tool{i}")],
            any_args: i % 2 == 0,
        })
        .collect();
    let f = Facts {
        token: TokenInput::Given(token(&c)),
        ..f
    };
    let d = decide(&f, &config(), &s);
    assert!(
        denied(&d)
            .message
            .ends_with("; this token grants 6 commands (jit-signer inspect lists them)"),
        "{}",
        denied(&d).message
    );
    // A shell grant is named; a grant with further arguments shows "...".
    let mut c = claims();
    c.shell = true;
    c.cmds[0].any_args = true;
    let info = crate::token::decide(
        &token(&c),
        &Fake::default().trusted_keys().unwrap(),
        NOW,
        &crate::invocation::Invocation {
            user: "alice".into(),
            host_groups: vec!["unit".into()],
            action: Action::List,
            run_as_user: "root".into(),
            run_as_group: None,
        },
        &VerifyOptions::default(),
    )
    .token
    .unwrap();
    assert_eq!(
        text::grants_summary(&info),
        "this token grants: /usr/bin/true ..., a shell (sudo -s / -i)"
    );
    // A shell denial lists the commands too.
    let f = Facts {
        command: Ok(Determined {
            action: Action::Shell {
                login: false,
                argv: vec!["/bin/bash".into()],
            },
            run_as_user: RunAs::Default,
            run_as_group: None,
        }),
        ..facts(Hook::Account)
    };
    let d = decide(&f, &config(), &s);
    assert_eq!(
        denied(&d).message,
        "this token does not grant a shell; this token grants: /usr/bin/true"
    );
}

#[test]
fn an_undetermined_command_records_sudos_argv_without_a_token() {
    let secret = "eyJ0eXAiOiJqaXQifQ.not-to-be-logged";
    let f = Facts {
        command: Err(
            "setting environment variables through sudo (JIT_TOKEN=…) is not allowed".into(),
        ),
        argv: vec![
            "sudo".into(),
            "-n".into(),
            format!("JIT_TOKEN={secret}"),
            "/usr/bin/printf".into(),
            "a b\x1b[2J".into(),
        ],
        ..facts(Hook::Account)
    };
    let d = decide(&f, &config(), &Fake::default());
    assert_eq!(denied(&d).code, DenyCode::CommandUndetermined);
    // The user is told the reason only; the record also has the argv.
    assert!(!denied(&d).message.contains("argv"));
    let ev = d.event(Hook::Account, None, 1);
    let m = ev.message.unwrap();
    assert!(!m.contains(secret), "{m}");
    assert!(
        m.ends_with(
            r"(sudo's argv: sudo -n JIT_TOKEN=<token not logged> /usr/bin/printf \'a b\u{1b}[2J\')"
        ),
        "{m}"
    );
    // Bounded: a long argv is cut and the rest counted.
    let long: Vec<String> = std::iter::once("sudo".to_string())
        .chain((0..200).map(|i| format!("word-{i}")))
        .collect();
    let a = text::attempted(&long);
    assert!(a.len() <= text::ATTEMPTED_MAX + 30, "{}", a.len());
    assert!(a.ends_with("more words]"), "{a}");
    // Control characters are escaped.
    assert_eq!(
        text::attempted(&["sudo".into(), "\u{1b}[31m".into()]),
        r"sudo's argv: sudo \'\u{1b}[31m\'"
    );
    // A token given as a plain argument, or inside one, is not logged either.
    let token = include_str!("../../../docs/vectors/01-valid-exec.token").trim();
    let a = text::attempted(&[
        "sudo".into(),
        "-E".into(),
        "/usr/local/bin/deploy".into(),
        token.to_string(),
        format!("--token={token}"),
        format!("x{token}"),
        // Not token-shaped: kept.
        "0oR-short".into(),
        "A".repeat(80),
    ]);
    assert!(!a.contains(&token[..20]), "{a}");
    assert_eq!(
        a,
        format!(
            "sudo's argv: sudo -E /usr/local/bin/deploy '<token not logged>' \
             '--token=<token not logged>' '<token not logged>' 0oR-short {}",
            "A".repeat(80)
        )
    );
}
