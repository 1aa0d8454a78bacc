//! Adversarial tests: for each rule, the input that should slip past it.

use super::*;
use crate::invocation::{Action, Invocation};
use crate::keys::{SigningKeyWithKid, TrustedKey, TrustedKeys};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cbor::{Enc, Head, Reader};

const NOW: i64 = 1_800_000_000;

fn key() -> SigningKeyWithKid {
    SigningKeyWithKid::from_seed("test-1", &[42; 32]).unwrap()
}

fn other_key() -> SigningKeyWithKid {
    SigningKeyWithKid::from_seed("test-1", &[43; 32]).unwrap()
}

fn keys() -> TrustedKeys {
    let mut k = TrustedKeys::default();
    k.insert(key().trusted_key());
    k
}

fn claims() -> Claims {
    Claims {
        iss: "test-1".into(),
        sub: "alice".into(),
        iat: NOW - 100,
        nbf: NOW - 100,
        exp: NOW + 3500,
        cti: [7; 16],
        hosts: vec!["web".into()],
        cmds: vec![Grant {
            argv: vec![
                "/usr/bin/systemctl".into(),
                "restart".into(),
                "nginx".into(),
            ],
            any_args: false,
        }],
        run_as: vec!["root".into()],
        run_as_groups: vec![],
        shell: false,
        reason: "INC-1 restart nginx".into(),
        ticket: Some("INC-1".into()),
        approver: None,
        break_glass: false,
        max_uses: None,
    }
}

fn exec(argv: &[&str]) -> Action {
    Action::Exec {
        argv: argv.iter().map(|s| s.to_string()).collect(),
    }
}

fn inv(action: Action) -> Invocation {
    Invocation {
        user: "alice".into(),
        host_groups: vec!["db".into(), "web".into()],
        action,
        run_as_user: "root".into(),
        run_as_group: None,
    }
}

fn ok_inv() -> Invocation {
    inv(exec(&["/usr/bin/systemctl", "restart", "nginx"]))
}

fn tok(c: &Claims) -> String {
    issue_b64(c, &key()).unwrap()
}

/// Decide with default options at NOW.
fn run(t: &str, i: &Invocation) -> Decision {
    decide(t, &keys(), NOW, i, &VerifyOptions::default())
}

fn code(t: &str) -> &'static str {
    run(t, &ok_inv()).reason.code()
}

fn code_with(c: &Claims, i: &Invocation) -> &'static str {
    run(&tok(c), i).reason.code()
}

/// Re-sign arbitrary protected/payload bytes with the trusted key.
fn resign(protected: &[u8], payload: &[u8]) -> String {
    let sig = sign_raw(protected, payload, &key());
    encode_b64(&assemble(protected, payload, &sig))
}

fn prot() -> Vec<u8> {
    encode_protected(ALG_EDDSA, b"test-1", TOKEN_TYP)
}

/// The canonical claims map split into (key bytes, value bytes) entries.
fn entries(c: &Claims) -> Vec<(Vec<u8>, Vec<u8>)> {
    let p = c.encode();
    let mut r = Reader::new(&p);
    let Head::Map(n) = r.head().unwrap() else {
        panic!()
    };
    (0..n)
        .map(|_| (r.skip().unwrap().to_vec(), r.skip().unwrap().to_vec()))
        .collect()
}

fn map_of(e: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut enc = Enc::default();
    enc.map(e.len());
    for (k, v) in e {
        enc.out.extend_from_slice(k);
        enc.out.extend_from_slice(v);
    }
    enc.out
}

fn tkey(s: &str) -> Vec<u8> {
    let mut e = Enc::default();
    e.text(s);
    e.out
}

fn ikey(i: i64) -> Vec<u8> {
    let mut e = Enc::default();
    e.int(i);
    e.out
}

fn with_entries(f: impl FnOnce(&mut Vec<(Vec<u8>, Vec<u8>)>)) -> String {
    let mut e = entries(&claims());
    f(&mut e);
    resign(&prot(), &map_of(&e))
}

fn pos(e: &[(Vec<u8>, Vec<u8>)], k: &[u8]) -> usize {
    e.iter().position(|(kk, _)| kk == k).unwrap()
}

#[test]
fn valid_token_is_allowed_with_info() {
    let d = run(&tok(&claims()), &ok_inv());
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.reason, Reason::Ok);
    let info = d.token.unwrap();
    assert_eq!(info.sub, "alice");
    assert_eq!(info.kid, "test-1");
    assert_eq!(info.cti_hex, "07".repeat(16));
    assert_eq!(info.ticket.as_deref(), Some("INC-1"));
}

#[test]
fn all_optional_claims_round_trip() {
    let mut c = claims();
    c.shell = true;
    c.approver = Some("bob".into());
    c.break_glass = true;
    c.max_uses = Some(1);
    c.run_as_groups = vec!["adm".into()];
    c.cmds.push(Grant {
        argv: vec!["sudoedit".into(), "/etc/hosts".into()],
        any_args: false,
    });
    c.cmds.push(Grant {
        argv: vec!["/bin/journalctl".into()],
        any_args: true,
    });
    let t = issue(&c, &key()).unwrap();
    let d = decode(&t).unwrap();
    assert_eq!(d.claims, c);
    let dec = run(&encode_b64(&t), &ok_inv());
    assert!(dec.allowed);
    let info = dec.token.unwrap();
    assert!(info.break_glass);
    assert_eq!(info.max_uses, Some(1));
}

#[test]
fn reason_codes_are_unique_and_round_trip() {
    let mut seen = std::collections::HashSet::new();
    for r in Reason::ALL {
        assert!(seen.insert(r.code()), "duplicate code {}", r.code());
        assert_eq!(Reason::from_code(r.code()), Some(*r));
    }
}

// ---- 1-3: size and transport ----

#[test]
fn oversized_text_is_rejected_before_decoding() {
    assert_eq!(code(&"A".repeat(MAX_TOKEN_TEXT_LEN + 1)), "oversized");
    // At the limit it is decoded (and then fails as CBOR, not as oversized).
    assert_eq!(code(&"A".repeat(MAX_TOKEN_TEXT_LEN)), "trailing_bytes");
}

#[test]
fn issuer_refuses_oversized_tokens() {
    let mut c = claims();
    c.reason = "x".repeat(MAX_TOKEN_LEN);
    assert!(matches!(issue(&c, &key()), Err(IssueError::TooLarge(_))));
}

#[test]
fn strict_base64url() {
    let t = tok(&claims());
    assert_eq!(code(&format!("{t}=")), "bad_base64");
    assert_eq!(code(&format!(" {t}")), "bad_base64");
    assert_eq!(code(&format!("{}\n{}", &t[..10], &t[10..])), "bad_base64");
    assert_eq!(code(""), "bad_base64");
    let std = base64::engine::general_purpose::STANDARD_NO_PAD
        .encode(URL_SAFE_NO_PAD.decode(&t).unwrap());
    if std != t {
        assert_eq!(code(&std), "bad_base64");
    }
    // Same bytes, non-zero trailing bits in the last character.
    let raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
    if raw.len() % 3 != 0 {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut s = t.clone().into_bytes();
        let last = s.pop().unwrap();
        let i = alphabet.iter().position(|&c| c == last).unwrap();
        s.push(alphabet[i | 1]);
        let alt = String::from_utf8(s).unwrap();
        assert_ne!(alt, t);
        assert_eq!(code(&alt), "bad_base64");
    }
}

// ---- 4-8: envelope ----

#[test]
fn non_minimal_integer_in_resigned_claims_is_rejected() {
    let t = with_entries(|e| {
        let i = pos(e, &ikey(4));
        let exp = (NOW + 3500) as u32;
        let mut v = vec![0x1b, 0, 0, 0, 0];
        v.extend_from_slice(&exp.to_be_bytes());
        e[i].1 = v;
    });
    assert_eq!(code(&t), "not_canonical");
}

#[test]
fn non_minimal_length_in_envelope_is_rejected() {
    // Payload bstr length written with 2 bytes although it needs 1 or 2.
    let p = prot();
    let payload = claims().encode();
    let sig = sign_raw(&p, &payload, &key());
    let mut e = Enc::default();
    e.tag(18);
    e.array(4);
    e.bytes(&p);
    e.map(0);
    e.out.push(0x5a); // 4-byte length
    e.out
        .extend_from_slice(&(payload.len() as u32).to_be_bytes());
    e.out.extend_from_slice(&payload);
    e.bytes(&sig);
    assert_eq!(code(&encode_b64(&e.out)), "not_canonical");
}

#[test]
fn duplicated_claim_key_is_rejected() {
    // A second "sub" naming another user: cbor2 would keep the last one.
    let t = with_entries(|e| {
        let i = pos(e, &ikey(2));
        let mut v = Enc::default();
        v.text("mallory");
        e.insert(i + 1, (ikey(2), v.out));
    });
    assert_eq!(code(&t), "duplicate_key");
    // Non-adjacent duplicate at the end.
    let t = with_entries(|e| {
        let mut v = Enc::default();
        v.text("other reason");
        e.push((tkey("reason"), v.out));
    });
    assert_eq!(code(&t), "duplicate_key");
}

#[test]
fn unsorted_claims_are_rejected() {
    let t = with_entries(|e| e.swap(0, 1));
    assert_eq!(code(&t), "not_canonical");
}

#[test]
fn indefinite_length_array_is_rejected() {
    let t = with_entries(|e| {
        let i = pos(e, &tkey("hosts"));
        let mut v = vec![0x9f];
        v.extend_from_slice(&tkey("web"));
        v.push(0xff);
        e[i].1 = v;
    });
    assert_eq!(code(&t), "not_canonical");
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut raw = issue(&claims(), &key()).unwrap();
    raw.push(0);
    assert_eq!(code(&encode_b64(&raw)), "trailing_bytes");
    // Inside the signed payload, re-signed.
    let mut payload = claims().encode();
    payload.push(0);
    assert_eq!(code(&resign(&prot(), &payload)), "trailing_bytes");
}

#[test]
fn untagged_and_wrong_tag_are_rejected() {
    let raw = issue(&claims(), &key()).unwrap();
    assert_eq!(raw[0], 0xd2);
    assert_eq!(code(&encode_b64(&raw[1..])), "untagged");
    let mut wrong = raw.clone();
    wrong[0] = 0xd1; // tag 17 (COSE_Mac0)
    assert_eq!(code(&encode_b64(&wrong)), "malformed");
}

#[test]
fn unprotected_header_is_rejected() {
    let p = prot();
    let payload = claims().encode();
    let sig = sign_raw(&p, &payload, &key());
    let mut e = Enc::default();
    e.tag(18);
    e.array(4);
    e.bytes(&p);
    e.map(1);
    e.int(4);
    e.bytes(b"test-1");
    e.bytes(&payload);
    e.bytes(&sig);
    assert_eq!(code(&encode_b64(&e.out)), "unprotected_header");
}

#[test]
fn short_signature_is_malformed() {
    let p = prot();
    let payload = claims().encode();
    let sig = sign_raw(&p, &payload, &key());
    assert_eq!(
        code(&encode_b64(&assemble(&p, &payload, &sig[..63]))),
        "malformed"
    );
}

// ---- 9-11: protected header ----

fn prot_map(entries: &[(i64, Vec<u8>)]) -> Vec<u8> {
    let mut e = Enc::default();
    e.map(entries.len());
    for (k, v) in entries {
        e.int(*k);
        e.out.extend_from_slice(v);
    }
    e.out
}

fn enc(f: impl FnOnce(&mut Enc)) -> Vec<u8> {
    let mut e = Enc::default();
    f(&mut e);
    e.out
}

#[test]
fn crit_header_is_rejected_even_if_signed() {
    let p = prot_map(&[
        (1, enc(|e| e.int(-8))),
        (
            2,
            enc(|e| {
                e.array(1);
                e.int(16)
            }),
        ),
        (4, enc(|e| e.bytes(b"test-1"))),
        (16, enc(|e| e.text(TOKEN_TYP))),
    ]);
    assert_eq!(code(&resign(&p, &claims().encode())), "unknown_critical");
}

#[test]
fn unexpected_header_parameters_are_malformed() {
    let p = prot_map(&[
        (1, enc(|e| e.int(-8))),
        (3, enc(|e| e.text("application/cwt"))),
        (4, enc(|e| e.bytes(b"test-1"))),
        (16, enc(|e| e.text(TOKEN_TYP))),
    ]);
    assert_eq!(code(&resign(&p, &claims().encode())), "malformed");
    let no_typ = prot_map(&[(1, enc(|e| e.int(-8))), (4, enc(|e| e.bytes(b"test-1")))]);
    assert_eq!(code(&resign(&no_typ, &claims().encode())), "malformed");
    let dup = [prot().as_slice(), &[]].concat();
    let mut dup_p = dup.clone();
    dup_p[0] = 0xa4;
    dup_p.extend_from_slice(&enc(|e| {
        e.int(16);
        e.text(TOKEN_TYP)
    }));
    assert_eq!(code(&resign(&dup_p, &claims().encode())), "duplicate_key");
}

#[test]
fn alg_in_header_differing_from_pinned_is_rejected() {
    // Signed with the right key, so only the pin catches it.
    for alg in [-7, -19, -35] {
        let p = encode_protected(alg, b"test-1", TOKEN_TYP);
        assert_eq!(
            code(&resign(&p, &claims().encode())),
            "alg_mismatch",
            "alg {alg}"
        );
    }
}

#[test]
fn wrong_typ_is_rejected() {
    let p = encode_protected(ALG_EDDSA, b"test-1", "application/cwt");
    assert_eq!(code(&resign(&p, &claims().encode())), "wrong_typ");
}

// ---- 12-17: claims ----

#[test]
fn unknown_claim_is_rejected() {
    let t = with_entries(|e| {
        e.push((tkey("zzzz_later"), enc(|x| x.bool(true))));
    });
    assert_eq!(code(&t), "unknown_claim");
    let t = with_entries(|e| {
        e.insert(2, (ikey(3), enc(|x| x.text("aud"))));
    });
    assert_eq!(code(&t), "unknown_claim");
}

#[test]
fn missing_claim_is_rejected() {
    for k in [
        ikey(2),
        ikey(4),
        ikey(7),
        tkey("run_as"),
        tkey("hosts"),
        tkey("cmds"),
    ] {
        let t = with_entries(|e| {
            let i = pos(e, &k);
            e.remove(i);
        });
        assert_eq!(code(&t), "missing_claim", "{k:x?}");
    }
}

#[test]
fn wrong_claim_types_are_malformed() {
    let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (ikey(4), enc(|e| e.int(-5))),
        (ikey(2), enc(|e| e.bytes(b"alice"))),
        (tkey("hosts"), enc(|e| e.text("web"))),
        (tkey("shell"), enc(|e| e.int(1))),
        (
            tkey("cmds"),
            enc(|e| {
                e.array(1);
                e.array(1);
                e.text("/bin/true")
            }),
        ),
    ];
    for (k, v) in cases {
        let t = with_entries(|e| {
            if let Some(i) = e.iter().position(|(kk, _)| *kk == k) {
                e[i].1 = v;
            } else {
                e.push((k.clone(), v));
                e.sort();
                // Canonical order is bytewise on the key encodings.
            }
        });
        assert_eq!(code(&t), "malformed", "{k:x?}");
    }
}

#[test]
fn explicit_defaults_and_constraint_violations_are_invalid() {
    let t = with_entries(|e| {
        e.push((tkey("shell"), enc(|x| x.bool(false))));
        e.sort();
    });
    assert_eq!(code(&t), "invalid_claims");
    let t = with_entries(|e| {
        let i = pos(e, &tkey("cmds"));
        e[i].1 = enc(|x| {
            x.array(1);
            x.map(2);
            x.text("argv");
            x.array(1);
            x.text("/bin/true");
            x.text("any_args");
            x.bool(false);
        });
    });
    assert_eq!(code(&t), "invalid_claims");
    type Mutation = Box<dyn Fn(&mut Claims)>;
    let bad: Vec<Mutation> = vec![
        Box::new(|c| c.exp = c.nbf),
        Box::new(|c| c.exp = c.nbf + MAX_LIFETIME_SECS + 1),
        Box::new(|c| c.iat = c.nbf + 1),
        Box::new(|c| c.cmds[0].argv[0] = "systemctl".into()),
        Box::new(|c| c.cmds[0].argv = vec!["sudoedit".into(), "/a".into(), "/b".into()]),
        Box::new(|c| c.sub = String::new()),
        Box::new(|c| c.max_uses = Some(0)),
        // Break-glass is single-use: 2 uses, or no limit, slip past nothing.
        Box::new(|c| {
            c.break_glass = true;
            c.max_uses = Some(2)
        }),
        Box::new(|c| {
            c.break_glass = true;
            c.max_uses = None
        }),
        Box::new(|c| c.hosts = vec![String::new()]),
    ];
    for f in bad {
        let mut c = claims();
        f(&mut c);
        assert!(issue(&c, &key()).is_err(), "issuer accepted {c:?}");
        let t = resign(&prot(), &c.encode());
        assert_eq!(code(&t), "invalid_claims", "{c:?}");
    }
    // cti of 15 bytes.
    let t = with_entries(|e| {
        let i = pos(e, &ikey(7));
        e[i].1 = enc(|x| x.bytes(&[1; 15]));
    });
    assert_eq!(code(&t), "invalid_claims");
    // exp beyond i64.
    let t = with_entries(|e| {
        let i = pos(e, &ikey(4));
        e[i].1 = enc(|x| x.head(0, u64::MAX));
    });
    assert_eq!(code(&t), "invalid_claims");
}

// ---- 18-23: key and signature ----

#[test]
fn unknown_kid_and_empty_key_set() {
    let p = encode_protected(ALG_EDDSA, b"test-2", TOKEN_TYP);
    assert_eq!(code(&resign(&p, &claims().encode())), "unknown_kid");
    let d = decide(
        &tok(&claims()),
        &TrustedKeys::default(),
        NOW,
        &ok_inv(),
        &VerifyOptions::default(),
    );
    assert_eq!(d.reason, Reason::UnknownKid);
    // A kid that is a prefix of a trusted one.
    let p = encode_protected(ALG_EDDSA, b"test-", TOKEN_TYP);
    assert_eq!(code(&resign(&p, &claims().encode())), "unknown_kid");
}

fn with_window(nb: Option<i64>, na: Option<i64>) -> TrustedKeys {
    let mut k = TrustedKeys::default();
    k.insert(TrustedKey {
        not_before: nb,
        not_after: na,
        ..key().trusted_key()
    });
    k
}

#[test]
fn key_window_edges() {
    let t = tok(&claims());
    let d = |k: &TrustedKeys| decide(&t, k, NOW, &ok_inv(), &VerifyOptions::default()).reason;
    assert_eq!(d(&with_window(Some(NOW), None)), Reason::Ok);
    assert_eq!(d(&with_window(Some(NOW + 1), None)), Reason::KeyNotYetValid);
    assert_eq!(d(&with_window(None, Some(NOW + 1))), Reason::Ok);
    assert_eq!(d(&with_window(None, Some(NOW))), Reason::KeyExpired);
    assert_eq!(
        d(&with_window(Some(NOW - 10), Some(NOW - 1))),
        Reason::KeyExpired
    );
}

#[test]
fn bad_signatures_are_rejected_without_token_info() {
    let raw = issue(&claims(), &key()).unwrap();
    // Flip a signature bit.
    let mut t = raw.clone();
    let n = t.len();
    t[n - 1] ^= 1;
    let d = run(&encode_b64(&t), &ok_inv());
    assert_eq!(d.reason, Reason::BadSignature);
    assert!(d.token.is_none());
    // Change the reason text (same length, still canonical).
    let mut c = claims();
    c.reason = "INC-1 restart nginz".into();
    let sig = sign_raw(&prot(), &claims().encode(), &key());
    assert_eq!(
        code(&encode_b64(&assemble(&prot(), &c.encode(), &sig))),
        "bad_signature"
    );
    // Same kid, another key.
    assert_eq!(
        code(&issue_b64(&claims(), &other_key()).unwrap()),
        "bad_signature"
    );
    // Malleated signature: S + L verifies with plain verify, not verify_strict.
    let p = prot();
    let payload = claims().encode();
    let mut sig = sign_raw(&p, &payload, &key());
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for i in 0..32 {
        let s = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
        sig[32 + i] = s as u8;
        carry = s >> 8;
    }
    assert_eq!(
        code(&encode_b64(&assemble(&p, &payload, &sig))),
        "bad_signature"
    );
}

// ---- 24-25: time ----

#[test]
fn leeway_edges_exactly_at_the_boundary() {
    let c = claims();
    let t = tok(&c);
    let at = |now: i64, leeway: u64| {
        decide(
            &t,
            &keys(),
            now,
            &ok_inv(),
            &VerifyOptions {
                leeway_secs: leeway,
            },
        )
        .reason
    };
    assert_eq!(at(c.exp + 59, 60), Reason::Ok);
    assert_eq!(at(c.exp + 60, 60), Reason::Expired);
    assert_eq!(at(c.exp - 1, 0), Reason::Ok);
    assert_eq!(at(c.exp, 0), Reason::Expired);
    assert_eq!(at(c.nbf - 60, 60), Reason::Ok);
    assert_eq!(at(c.nbf - 61, 60), Reason::NotYetValid);
    assert_eq!(at(c.nbf, 0), Reason::Ok);
    assert_eq!(at(c.nbf - 1, 0), Reason::NotYetValid);
    // Extreme values do not overflow.
    assert_eq!(at(i64::MAX, u64::MAX), Reason::Expired);
    // A huge configured leeway is clamped.
    assert_eq!(
        at(c.exp + MAX_LEEWAY_SECS as i64, u64::MAX),
        Reason::Expired
    );
    assert_eq!(at(c.exp + MAX_LEEWAY_SECS as i64 - 1, u64::MAX), Reason::Ok);
    assert_eq!(at(i64::MIN, 0), Reason::NotYetValid);
}

#[test]
fn time_messages_say_how_far_off() {
    let c = claims();
    let t = tok(&c);
    let o = VerifyOptions { leeway_secs: 60 };
    let d = decide(&t, &keys(), c.exp + 4 * 60 + 10, &ok_inv(), &o);
    assert_eq!(d.message, "token expired 4 min ago");
    let d = decide(&t, &keys(), c.nbf - (2 * 3600 + 5 * 60), &ok_inv(), &o);
    assert_eq!(d.message, "token not valid for another 2 h 5 min");
    assert_eq!(human_duration(59), "59 s");
    assert_eq!(human_duration(3600), "1 h");
    assert_eq!(human_duration(90_000), "1 d 1 h");
}

// ---- 26-30: the invocation ----

#[test]
fn sub_must_match_exactly() {
    let c = claims();
    for user in ["alice2", "alic", "Alice", "alice "] {
        let mut i = ok_inv();
        i.user = user.into();
        let d = run(&tok(&c), &i);
        assert_eq!(d.reason, Reason::WrongUser, "{user}");
        assert_eq!(d.message, "this token is for alice");
        assert!(d.token.is_some(), "verified token info is kept for the log");
    }
}

#[test]
fn host_groups_must_intersect() {
    let mut c = claims();
    c.hosts = vec![];
    assert_eq!(code_with(&c, &ok_inv()), "host_not_granted");
    c.hosts = vec!["webx".into(), "we".into()];
    assert_eq!(code_with(&c, &ok_inv()), "host_not_granted");
    c.hosts = vec!["prod".into(), "db".into()];
    assert_eq!(code_with(&c, &ok_inv()), "ok");
    let mut i = ok_inv();
    i.host_groups = vec![];
    assert_eq!(code_with(&claims(), &i), "host_not_granted");
}

#[test]
fn run_as_user_and_group() {
    let mut i = ok_inv();
    i.run_as_user = "postgres".into();
    assert_eq!(code_with(&claims(), &i), "run_as_not_granted");
    let mut c = claims();
    c.run_as = vec![];
    assert_eq!(code_with(&c, &ok_inv()), "run_as_not_granted");
    let mut i = ok_inv();
    i.run_as_group = Some("adm".into());
    assert_eq!(code_with(&claims(), &i), "run_as_group_not_granted");
    let mut c = claims();
    c.run_as_groups = vec!["adm".into()];
    assert_eq!(code_with(&c, &i), "ok");
    i.run_as_group = Some("wheel".into());
    assert_eq!(code_with(&c, &i), "run_as_group_not_granted");
}

#[test]
fn argv_matching_is_exact() {
    let c = claims();
    let cases: &[(&[&str], &str)] = &[
        (&["/usr/bin/systemctl", "restart", "nginx"], "ok"),
        (
            &["/usr/bin/systemctl", "restart", "nginx", ""],
            "command_not_granted",
        ),
        (&["/usr/bin/systemctl", "restart"], "command_not_granted"),
        (
            &["/usr/bin/systemctl", "restart nginx"],
            "command_not_granted",
        ),
        (
            &["/usr/bin/systemctl", "restart", "nginx", "--now"],
            "command_not_granted",
        ),
        (
            &["/bin/systemctl", "restart", "nginx"],
            "command_not_granted",
        ),
        (
            &["/usr/bin/systemctl", "restart", "nginx2"],
            "command_not_granted",
        ),
    ];
    for (argv, want) in cases {
        assert_eq!(code_with(&c, &inv(exec(argv))), *want, "{argv:?}");
    }
    // "a b" as one argument vs two.
    let mut c2 = claims();
    c2.cmds = vec![parse_command("/bin/echo 'a b'").unwrap()];
    assert_eq!(code_with(&c2, &inv(exec(&["/bin/echo", "a b"]))), "ok");
    assert_eq!(
        code_with(&c2, &inv(exec(&["/bin/echo", "a", "b"]))),
        "command_not_granted"
    );
    // A grant without any_args vs extra args, and with it.
    let mut c3 = claims();
    c3.cmds = vec![parse_command("/bin/journalctl -u nginx ...").unwrap()];
    assert!(c3.cmds[0].any_args);
    assert_eq!(
        code_with(&c3, &inv(exec(&["/bin/journalctl", "-u", "nginx"]))),
        "ok"
    );
    assert_eq!(
        code_with(&c3, &inv(exec(&["/bin/journalctl", "-u", "nginx", "-f"]))),
        "ok"
    );
    assert_eq!(
        code_with(&c3, &inv(exec(&["/bin/journalctl", "-u"]))),
        "command_not_granted"
    );
    assert_eq!(
        code_with(&c3, &inv(exec(&["/bin/journalctl", "-u", "sshd"]))),
        "command_not_granted"
    );
    // Empty grant list allows nothing.
    let mut c4 = claims();
    c4.cmds = vec![];
    assert_eq!(code_with(&c4, &ok_inv()), "command_not_granted");
    let d = run(&tok(&claims()), &inv(exec(&["/usr/bin/rm", "-rf", "/"])));
    assert_eq!(d.message, "command not granted: /usr/bin/rm -rf /");
}

#[test]
fn shell_needs_an_explicit_grant() {
    let mut c = claims();
    c.cmds = vec![parse_command("/bin/bash ...").unwrap()];
    let sh = Action::Shell {
        login: false,
        argv: vec!["/bin/bash".into()],
    };
    let login = Action::Shell {
        login: true,
        argv: vec!["/bin/bash".into()],
    };
    assert_eq!(code_with(&c, &inv(sh.clone())), "shell_not_granted");
    assert_eq!(code_with(&c, &inv(login.clone())), "shell_not_granted");
    c.shell = true;
    assert_eq!(code_with(&c, &inv(sh)), "ok");
    assert_eq!(code_with(&c, &inv(login)), "ok");
}

#[test]
fn sudoedit_needs_sudoedit_grants_for_every_file() {
    let mut c = claims();
    c.cmds = vec![
        parse_command("sudoedit /etc/hosts").unwrap(),
        parse_command("/usr/bin/sudoedit /etc/motd").unwrap(),
        parse_command("/usr/bin/vi /etc/motd").unwrap(),
    ];
    let edit = |f: &[&str]| {
        inv(Action::Edit {
            files: f.iter().map(|s| s.to_string()).collect(),
        })
    };
    assert_eq!(code_with(&c, &edit(&["/etc/hosts"])), "ok");
    assert_eq!(
        code_with(&c, &edit(&["/etc/hosts", "/etc/motd"])),
        "edit_not_granted"
    );
    assert_eq!(code_with(&c, &edit(&["/etc/motd"])), "edit_not_granted");
    assert_eq!(code_with(&c, &edit(&["/etc/hosts2"])), "edit_not_granted");
    assert_eq!(code_with(&c, &edit(&[])), "edit_not_granted");
    // A sudoedit grant is not an exec grant of "sudoedit".
    assert_eq!(
        code_with(&c, &inv(exec(&["sudoedit", "/etc/hosts"]))),
        "command_not_granted"
    );
    assert!(parse_command("sudoedit /etc/hosts ...").is_err());
    assert!(parse_command("sudoedit etc/hosts").is_err());
}

#[test]
fn list_and_validate_skip_only_the_command_check() {
    let mut c = claims();
    c.cmds = vec![];
    assert_eq!(code_with(&c, &inv(Action::List)), "ok");
    assert_eq!(code_with(&c, &inv(Action::Validate)), "ok");
    let mut i = inv(Action::List);
    i.user = "bob".into();
    assert_eq!(code_with(&c, &i), "wrong_user");
    let mut i = inv(Action::Validate);
    i.host_groups = vec!["other".into()];
    assert_eq!(code_with(&c, &i), "host_not_granted");
}

#[test]
fn parse_command_syntax() {
    let g = parse_command(r#"/bin/echo "a \"b\"" 'c d' e\ f '...' """#).unwrap();
    assert_eq!(g.argv, ["/bin/echo", "a \"b\"", "c d", "e f", "...", ""]);
    assert!(!g.any_args);
    let g = parse_command("/bin/ls -l ...").unwrap();
    assert_eq!(g.argv, ["/bin/ls", "-l"]);
    assert!(g.any_args);
    assert!(parse_command("/bin/ls ... -l").is_err());
    assert!(parse_command("ls -l").is_err());
    assert!(parse_command("'/bin/ls").is_err());
    assert!(parse_command("").is_err());
    assert!(parse_command("...").is_err());
    // display() reads back to the same grant.
    for spec in [r#"/bin/echo 'a b' "" "it's" ..."#, "/bin/x '...'"] {
        let g = parse_command(spec).unwrap();
        assert_eq!(parse_command(&g.display()).unwrap(), g, "{spec}");
    }
}

// ---- interop and robustness ----

#[test]
fn coset_agrees_on_structure_and_signed_bytes() {
    use coset::TaggedCborSerializable as _;
    let raw = issue(&claims(), &key()).unwrap();
    let s = coset::CoseSign1::from_tagged_slice(&raw).unwrap();
    assert_eq!(
        s.protected.header.alg,
        Some(coset::Algorithm::Assigned(coset::iana::Algorithm::EdDSA))
    );
    assert_eq!(s.protected.header.key_id, b"test-1");
    assert!(s.unprotected.is_empty());
    assert_eq!(s.tbs_data(b""), sig_structure(&prot(), &claims().encode()));
    // Re-serialising with coset gives the same bytes.
    assert_eq!(s.to_tagged_vec().unwrap(), raw);
}

#[test]
fn every_single_byte_corruption_is_denied_without_panic() {
    let raw = issue(&claims(), &key()).unwrap();
    let i = ok_inv();
    for idx in 0..raw.len() {
        for bit in [0, 7] {
            let mut t = raw.clone();
            t[idx] ^= 1 << bit;
            let d = run(&encode_b64(&t), &i);
            assert!(!d.allowed, "flip {idx}:{bit} allowed");
        }
        let d = run(&encode_b64(&raw[..idx]), &i);
        assert!(!d.allowed);
    }
}

#[test]
fn random_and_hostile_inputs_never_panic() {
    // xorshift: deterministic pseudo-random garbage, some of it starting like a token.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let raw = issue(&claims(), &key()).unwrap();
    for round in 0..3000 {
        let len = (next() % 400) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 2 == 0 {
            let k = (next() as usize) % raw.len();
            b.splice(0..0, raw[..k].iter().copied());
        }
        // Decoding may succeed (decode checks no signature); deciding must not allow.
        if decode(&b).is_ok() {
            assert!(b.len() == raw.len(), "decoded a token of another shape");
        }
        let d = run(&encode_b64(&b), &ok_inv());
        assert!(!d.allowed || b == raw, "garbage allowed: {b:x?}");
    }
    // The fuzz entry point's invariants hold on the valid token and prefixes.
    for k in 0..raw.len() {
        fuzz_decide(&raw[..k]);
    }
    fuzz_decide(&raw);
    // Deep nesting, huge declared lengths and counts.
    let mut deep = vec![0xd2];
    deep.extend(std::iter::repeat_n(0x81, 8000));
    assert_eq!(decode(&deep).unwrap_err().reason, Reason::Malformed);
    for hostile in [
        &[0xd2, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..],
        &[0xd2, 0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        &[0xd2, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        &[0xd2, 0x84, 0x5a, 0xff, 0xff, 0xff, 0xff],
    ] {
        assert_eq!(
            decode(hostile).unwrap_err().reason,
            Reason::Malformed,
            "{hostile:x?}"
        );
    }
}
