//! Adversarial tests: for each rule, the input that should slip past it.

use super::*;

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
