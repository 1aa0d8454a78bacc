//! Adversarial tests: for each rule, the input that should slip past it; and
//! the invariant that the signer's readers and the host's readers accept the
//! same names.

use super::*;
use crate::config::Config;
use crate::invocation::{Action, Invocation};
use crate::keys::{SigningKeyWithKid, TrustedKeys};
use crate::policy::Policy;
use crate::revocation::RevocationList;
use crate::token::{self, Claims, Grant, Reason, VerifyOptions};

const ALL: [NameKind; 6] = [
    NameKind::User,
    NameKind::Group,
    NameKind::HostGroup,
    NameKind::HostName,
    NameKind::Kid,
    NameKind::Rule,
];
const PORTABLE: [NameKind; 4] = [
    NameKind::HostGroup,
    NameKind::HostName,
    NameKind::Kid,
    NameKind::Rule,
];
const ACCOUNT: [NameKind; 2] = [NameKind::User, NameKind::Group];

fn problem(kind: NameKind, s: &str) -> Option<Problem> {
    check(kind, s).err().map(|e| e.problem)
}

/// Characters a reader cannot tell from another, or cannot see at all.
const DECEPTIVE: &[char] = &[
    '\u{85}',   // NEL: white space and a control character
    '\u{a0}',   // no-break space
    '\u{ad}',   // soft hyphen (invisible)
    '\u{430}',  // Cyrillic а
    '\u{435}',  // Cyrillic е
    '\u{43e}',  // Cyrillic о
    '\u{ff41}', // fullwidth ａ
    '\u{ff0e}', // fullwidth full stop
    '\u{ff0f}', // fullwidth solidus
    '\u{2010}', // hyphen
    '\u{2024}', // one dot leader
    '\u{2215}', // division slash
    '\u{200b}', // zero-width space
    '\u{200d}', // zero-width joiner
    '\u{202e}', // right-to-left override
    '\u{2066}', // left-to-right isolate
    '\u{2028}', // line separator
    '\u{3000}', // ideographic space
    '\u{feff}', // byte order mark
    '\u{e9}',   // é
    '\u{fffd}', // replacement character
    '\u{1f600}',
];

#[test]
fn every_kind_refuses_empty_and_takes_its_limit_not_one_more() {
    for kind in ALL {
        assert_eq!(problem(kind, ""), Some(Problem::Empty), "{kind:?}");
        let max = kind.max_len();
        assert!(is_valid(kind, &"a".repeat(max)), "{kind:?}");
        assert_eq!(
            problem(kind, &"a".repeat(max + 1)),
            Some(Problem::TooLong { len: max + 1 }),
            "{kind:?}"
        );
        // Bytes, not characters: a multi-byte character is refused anyway,
        // but never counted as one.
        assert!(!is_valid(kind, &"é".repeat(max / 2 + 1)), "{kind:?}");
    }
    assert_eq!(NameKind::User.max_len(), 256);
    assert_eq!(NameKind::Group.max_len(), 256);
    assert_eq!(NameKind::HostGroup.max_len(), 253);
    assert_eq!(NameKind::HostName.max_len(), 253);
    assert_eq!(NameKind::Kid.max_len(), 64);
    assert_eq!(NameKind::Rule.max_len(), 64);
    assert_eq!(crate::keys::MAX_KID_LEN, MAX_KID_LEN);
    assert_eq!(crate::revocation::MAX_USER_LEN, MAX_USER_LEN);
}

#[test]
fn names_jit_defines_are_letters_digits_dot_underscore_hyphen() {
    for kind in PORTABLE {
        for ok in ["web", "WEB", "Web-1.eu_west", "0", "a..b", "_"] {
            assert!(is_valid(kind, ok), "{kind:?} {ok:?}");
        }
        // Accepted as hosts always have: names are only ever compared, and
        // with '/' refused a kid in a file name stays in its directory
        // (`..` as a kid is the file `...key`).
        for ok in ["-web", ".", "..", "-"] {
            assert!(is_valid(kind, ok), "{kind:?} {ok:?}");
        }
        let refused: &[(&str, char, usize)] = &[
            ("/", '/', 0),
            ("a/b", '/', 1),
            ("../etc", '/', 2),
            (" web", ' ', 0),
            ("web ", ' ', 3),
            ("web prod", ' ', 3),
            ("a\tb", '\t', 1),
            ("a\nb", '\n', 1),
            ("a\rb", '\r', 1),
            ("\0", '\0', 0),
            ("a\0b", '\0', 1),
            ("a\u{7f}", '\u{7f}', 1),
            ("a\u{1b}[31m", '\u{1b}', 1),
            ("a@b", '@', 1),
            ("a:b", ':', 1),
            ("a,b", ',', 1),
            ("a=b", '=', 1),
            ("a#b", '#', 1),
            ("#a", '#', 0),
            ("a;b", ';', 1),
            ("a\\b", '\\', 1),
            ("a'b", '\'', 1),
            ("a\"b", '"', 1),
            ("a*", '*', 1),
            ("a~", '~', 1),
            ("<unconfigured>", '<', 0),
            ("w\u{435}b", '\u{435}', 1),
            ("\u{ff57}\u{ff45}\u{ff42}", '\u{ff57}', 0),
            ("web\u{200b}", '\u{200b}', 3),
            ("\u{202e}bew", '\u{202e}', 0),
            ("\u{feff}web", '\u{feff}', 0),
        ];
        for &(s, ch, at) in refused {
            assert_eq!(
                problem(kind, s),
                Some(Problem::Char { ch, at }),
                "{kind:?} {s:?}"
            );
        }
        for &c in DECEPTIVE {
            assert!(!is_valid(kind, &format!("web{c}")), "{kind:?} {c:?}");
        }
    }
}

#[test]
fn names_the_system_defines_refuse_what_no_account_can_be() {
    for kind in ACCOUNT {
        for ok in [
            "alice",
            "Alice",
            "alice.smith",
            "a_b-c",
            "alice@example.com",
            "EXAMPLE\\alice",
            "svc$",
            "123456",
            "a-",
            "a#",
            "...",
            ".alice",
            "x",
        ] {
            assert!(is_valid(kind, ok), "{kind:?} {ok:?}");
        }
        let refused: &[(&str, Problem)] = &[
            ("-alice", Problem::Leading('-')),
            ("-", Problem::Leading('-')),
            ("--", Problem::Leading('-')),
            ("#0", Problem::Leading('#')),
            ("#alice", Problem::Leading('#')),
            (".", Problem::Dots),
            ("..", Problem::Dots),
            ("/", Problem::Char { ch: '/', at: 0 }),
            ("a/b", Problem::Char { ch: '/', at: 1 }),
            ("../etc", Problem::Char { ch: '/', at: 2 }),
            ("a:b", Problem::Char { ch: ':', at: 1 }),
            (" alice", Problem::Char { ch: ' ', at: 0 }),
            ("alice ", Problem::Char { ch: ' ', at: 5 }),
            ("al ice", Problem::Char { ch: ' ', at: 2 }),
            ("a\tb", Problem::Char { ch: '\t', at: 1 }),
            ("a\nb", Problem::Char { ch: '\n', at: 1 }),
            ("\0", Problem::Char { ch: '\0', at: 0 }),
            ("alice\0", Problem::Char { ch: '\0', at: 5 }),
            (
                "a\u{7f}",
                Problem::Char {
                    ch: '\u{7f}',
                    at: 1,
                },
            ),
            (
                "a\u{1b}[2J",
                Problem::Char {
                    ch: '\u{1b}',
                    at: 1,
                },
            ),
            // Look-alikes and invisibles: all of non-ASCII.
            (
                "\u{430}lice",
                Problem::Char {
                    ch: '\u{430}',
                    at: 0,
                },
            ),
            (
                "r\u{43e}\u{43e}t",
                Problem::Char {
                    ch: '\u{43e}',
                    at: 1,
                },
            ),
            (
                "\u{ff52}\u{ff4f}\u{ff4f}\u{ff54}",
                Problem::Char {
                    ch: '\u{ff52}',
                    at: 0,
                },
            ),
            (
                "root\u{200b}",
                Problem::Char {
                    ch: '\u{200b}',
                    at: 4,
                },
            ),
            (
                "\u{202e}toor",
                Problem::Char {
                    ch: '\u{202e}',
                    at: 0,
                },
            ),
            (
                "\u{feff}root",
                Problem::Char {
                    ch: '\u{feff}',
                    at: 0,
                },
            ),
            (
                "jos\u{e9}",
                Problem::Char {
                    ch: '\u{e9}',
                    at: 3,
                },
            ),
            // The character rule comes before the leading-character rule.
            ("-a b", Problem::Char { ch: ' ', at: 2 }),
        ];
        for (s, want) in refused {
            assert_eq!(problem(kind, s), Some(*want), "{kind:?} {s:?}");
        }
        for &c in DECEPTIVE {
            assert!(!is_valid(kind, &format!("alice{c}")), "{kind:?} {c:?}");
            assert!(!is_valid(kind, &c.to_string()), "{kind:?} {c:?}");
        }
    }
}

#[test]
fn messages_say_what_is_wrong_and_what_to_use() {
    let e = check(NameKind::HostGroup, "web prod")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "invalid host group \"web prod\": whitespace (U+0020) at byte 3 is not allowed; \
         use 1 to 253 characters from A-Z a-z 0-9 . _ -"
    );
    let e = check(NameKind::User, "\u{430}lice")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("invalid user name \"\u{430}lice\": non-ASCII character U+0430 at byte 0"),
        "{e}"
    );
    assert!(
        e.ends_with("not starting with '-' or '#', not '.' or '..'"),
        "{e}"
    );
    let e = check(NameKind::Kid, "").unwrap_err().to_string();
    assert_eq!(
        e,
        "invalid kid \"\": it is empty; use 1 to 64 characters from A-Z a-z 0-9 . _ -"
    );
    let e = check(NameKind::Group, "-wheel").unwrap_err().to_string();
    assert!(
        e.contains("group name \"-wheel\": it starts with '-'"),
        "{e}"
    );
    let e = check(NameKind::Rule, "a:b").unwrap_err().to_string();
    assert!(e.contains("rule name \"a:b\": ':' at byte 1"), "{e}");
    assert!(check(NameKind::User, "a\tb")
        .unwrap_err()
        .to_string()
        .contains("whitespace (U+0009)"));
    assert!(check(NameKind::User, "a\u{7f}")
        .unwrap_err()
        .to_string()
        .contains("control character U+007F"));
    // Shown escaped: a terminal never interprets what the name carries.
    for s in ["a\u{1b}[2Jb", "a\rb", "a\0b", "\u{202e}toor", "a\u{200b}b"] {
        let e = check(NameKind::User, s).unwrap_err().to_string();
        assert!(
            !e.chars()
                .any(|c| c.is_control() || c == '\u{202e}' || c == '\u{200b}'),
            "{e:?}"
        );
    }
    // An over-long name is shown cut.
    let e = check(NameKind::HostGroup, &"a".repeat(10_000))
        .unwrap_err()
        .to_string();
    assert!(e.len() < 300, "{}", e.len());
    assert!(e.contains("it is 10000 bytes long"), "{e}");
}

// ---- The invariant: the signer and the hosts accept the same names. ----

const NOW: i64 = 1_800_000_000;

/// Tricky names for every rule, and each ASCII character and each deceptive
/// character alone, first, inside and last, and lengths around every limit.
fn corpus() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "web",
        "WEB",
        "Web-1.eu_west",
        "alice",
        "alice@example.com",
        "EXAMPLE\\alice",
        "svc$",
        "-web",
        "-",
        ".",
        "..",
        "...",
        "../etc",
        "a/b",
        "/",
        "#0",
        "#",
        "0",
        "a b",
        " web",
        "web ",
        "web,db",
        "web, db",
        "a=b",
        "a:b",
        "<unconfigured>",
        "x#y",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let chars = (0u8..=127).map(char::from).chain(DECEPTIVE.iter().copied());
    for c in chars {
        v.push(c.to_string());
        v.push(format!("{c}ab"));
        v.push(format!("a{c}b"));
        v.push(format!("ab{c}"));
    }
    for n in [63, 64, 65, 252, 253, 254, 255, 256, 257] {
        v.push("a".repeat(n));
        v.push(format!("{}-", "a".repeat(n - 1)));
    }
    v
}

fn signing_key(kid: &str) -> Option<SigningKeyWithKid> {
    SigningKeyWithKid::from_seed(kid, &[9; 32]).ok()
}

fn trusted(k: &SigningKeyWithKid) -> TrustedKeys {
    let mut t = TrustedKeys::default();
    t.insert(k.trusted_key());
    t
}

/// The claims of a token jit-signer would issue for these names.
fn claims(user: &str, host_group: &str, group: &str) -> Claims {
    Claims {
        iss: "name-test".into(),
        sub: user.into(),
        iat: NOW - 10,
        nbf: NOW - 10,
        exp: NOW + 600,
        cti: [3; 16],
        hosts: vec![host_group.into()],
        cmds: vec![Grant {
            argv: vec!["/usr/bin/true".into()],
            any_args: false,
        }],
        run_as: vec![user.into()],
        run_as_groups: vec![group.into()],
        shell: false,
        reason: "names".into(),
        ticket: None,
        approver: None,
        break_glass: false,
        max_uses: None,
    }
}

/// What a host decides for a token of `c` signed by `k`, invoked by
/// `c.sub` as `c.run_as[0]`:`c.run_as_groups[0]` on a host of `host_groups`.
fn host_decides(c: &Claims, k: &SigningKeyWithKid, keys: &TrustedKeys, hosts: &[String]) -> Reason {
    let t = token::issue_b64(c, k).expect("the issuer refused a valid claim set");
    let inv = Invocation {
        user: c.sub.clone(),
        host_groups: hosts.to_vec(),
        action: Action::Exec {
            argv: vec!["/usr/bin/true".into()],
        },
        run_as_user: c.run_as[0].clone(),
        run_as_group: Some(c.run_as_groups[0].clone()),
    };
    token::decide(&t, keys, NOW, &inv, &VerifyOptions::default()).reason
}

/// The host configuration's reading of `host_groups = s` (None: refused, or
/// read as something else than the one group `s`).
fn config_host_groups(s: &str) -> Option<Vec<String>> {
    let c = Config::parse(&format!("host_groups = {s}\ntrusted_keys = /k\n"), "t").ok()?;
    (c.host_groups == [s]).then_some(c.host_groups)
}

fn config_hostname(s: &str) -> bool {
    Config::parse(
        &format!("host_groups = web\ntrusted_keys = /k\nhostname = {s}\n"),
        "t",
    )
    .is_ok_and(|c| c.hostname.as_deref() == Some(s))
}

fn trusted_keys_file(s: &str) -> Option<TrustedKeys> {
    let line = signing_key("k")?.trusted_keys_line();
    let line = line.replacen("k ", &format!("{s} "), 1);
    let t = TrustedKeys::parse(&line).ok()?;
    t.get(s.as_bytes()).is_some().then_some(t)
}

/// A TOML basic string holding `s` exactly.
fn toml_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if c.is_control() => o.push_str(&format!("\\u{:04X}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Whether the signer policy takes `s` in `key` (all else valid).
fn policy_takes(key: &str, s: &str) -> bool {
    let mut fields = vec![
        ("name", "\"r\"".to_string()),
        ("users", "[\"a\"]".to_string()),
        ("groups", "[\"g\"]".to_string()),
        ("host_groups", "[\"h\"]".to_string()),
        ("run_as", "[\"root\"]".to_string()),
        ("run_as_groups", "[\"wheel\"]".to_string()),
        ("approvers", "[\"b\"]".to_string()),
        ("approver_groups", "[\"leads\"]".to_string()),
    ];
    for f in &mut fields {
        if f.0 == key {
            f.1 = if key == "name" {
                toml_str(s)
            } else {
                format!("[{}]", toml_str(s))
            };
        }
    }
    let mut text = String::from("[[rule]]\n");
    for (k, v) in fields {
        text.push_str(&format!("{k} = {v}\n"));
    }
    text.push_str("commands = [\"/bin/true\"]\nmax_ttl = \"1h\"\n");
    Policy::parse(&text).is_ok()
}

fn revocation_list_with(user: &str) -> RevocationList {
    let mut l = RevocationList {
        iss: "name-test".into(),
        iat: NOW,
        version: 1,
        ..Default::default()
    };
    l.users.insert(user.into());
    l.watermarks.insert(user.into(), NOW);
    l
}

#[test]
fn signer_and_hosts_accept_exactly_the_same_names() {
    let k = signing_key("name-test").unwrap();
    let keys = trusted(&k);
    let web = vec!["web".to_string()];
    for s in corpus() {
        let s = s.as_str();

        // Host groups: the policy and jit-signer (both `check`) against
        // pam_jit.conf. What the signer accepts a host can be configured
        // with, and a token for it is accepted there.
        let ok = is_valid(NameKind::HostGroup, s);
        assert_eq!(
            policy_takes("host_groups", s),
            ok,
            "policy host_groups {s:?}"
        );
        let host = config_host_groups(s);
        assert_eq!(host.is_some(), ok, "pam_jit.conf host_groups {s:?}");
        if let Some(groups) = host {
            let c = claims("alice", s, "wheel");
            assert_eq!(host_decides(&c, &k, &keys, &groups), Reason::Ok, "{s:?}");
        }
        assert_eq!(
            config_hostname(s),
            is_valid(NameKind::HostName, s),
            "hostname {s:?}"
        );

        // Kids: a key the signer can hold is one hosts can pin, and its
        // tokens verify there.
        let ok = is_valid(NameKind::Kid, s);
        let signer = signing_key(s);
        assert_eq!(signer.is_some(), ok, "signing key kid {s:?}");
        assert_eq!(crate::keys::is_valid_kid(s), ok, "{s:?}");
        let pinned = trusted_keys_file(s);
        assert_eq!(pinned.is_some(), ok, "trusted-keys kid {s:?}");
        if let (Some(sk), Some(pinned)) = (signer, pinned) {
            let c = claims("alice", "web", "wheel");
            assert_eq!(host_decides(&c, &sk, &pinned, &web), Reason::Ok, "{s:?}");
        }

        // Users and groups: the policy and jit-signer against the host's
        // token decision and its revocation lists.
        let user_ok = is_valid(NameKind::User, s);
        let group_ok = is_valid(NameKind::Group, s);
        assert_eq!(user_ok, group_ok, "{s:?}");
        for key in ["users", "run_as", "approvers"] {
            assert_eq!(policy_takes(key, s), user_ok, "policy {key} {s:?}");
        }
        for key in ["groups", "run_as_groups", "approver_groups"] {
            assert_eq!(policy_takes(key, s), group_ok, "policy {key} {s:?}");
        }
        assert_eq!(crate::revocation::valid_user(s), user_ok, "{s:?}");
        let l = revocation_list_with(s);
        assert_eq!(l.check().is_ok(), user_ok, "revocation list user {s:?}");
        let signed = crate::revocation::sign(&l, &k);
        assert_eq!(signed.is_ok(), user_ok, "revocation list signing {s:?}");
        if user_ok {
            let d = crate::revocation::verify(&signed.unwrap(), &keys, NOW)
                .unwrap_or_else(|e| panic!("host refused a list naming {s:?}: {e:?}"));
            assert!(d.list.users.contains(s));
            let c = claims(s, "web", s);
            assert_eq!(host_decides(&c, &k, &keys, &web), Reason::Ok, "{s:?}");
        }

        // Rule names: the policy only.
        assert_eq!(
            policy_takes("name", s),
            is_valid(NameKind::Rule, s),
            "rule name {s:?}"
        );
    }
}

/// The token decoder applies the token format's constraints (docs/token-format.md
/// §2: non-empty strings), not the name rule: a token naming a host group no
/// host can be configured with still decodes, and is refused by every host
/// because no host is in that group. jit-signer never issues one.
#[test]
fn a_host_group_outside_the_rule_matches_no_host() {
    let k = signing_key("name-test").unwrap();
    let keys = trusted(&k);
    for s in ["web prod", "w\u{435}b", "web,db", "-x y", "a/b"] {
        assert!(!is_valid(NameKind::HostGroup, s));
        let c = claims("alice", s, "wheel");
        let t = token::issue_b64(&c, &k).unwrap();
        assert!(token::verify(&t, &keys, NOW, &VerifyOptions::default()).is_ok());
        let configured = ["web", "prod", "wb", "db", "a", "b", "x", "y"].map(String::from);
        assert_eq!(
            host_decides(&c, &k, &keys, &configured),
            Reason::HostNotGranted,
            "{s:?}"
        );
    }
}
