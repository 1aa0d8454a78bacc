//! Every rule of docs/revocation.md with the input that should slip past it.

use super::host::{self, Checked, HostError, HostPolicy, HostState, MissingPolicy};
use super::vectors::{base_list, VECTOR_NOW};
use super::*;
use crate::cose::cbor::Enc;
use crate::cose::{assemble, encode_protected, sign_raw, ALG_EDDSA};
use crate::keys::{SigningKeyWithKid, TrustedKey};
use crate::text::hex;
use crate::token::{TokenInfo, TOKEN_TYP};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

const NOW: i64 = VECTOR_NOW;

fn key(kid: &str, n: u8) -> SigningKeyWithKid {
    SigningKeyWithKid::from_seed(kid, &[n; 32]).unwrap()
}

fn keys_of(k: &[&SigningKeyWithKid]) -> TrustedKeys {
    let mut t = TrustedKeys::default();
    for k in k {
        t.insert(k.trusted_key());
    }
    t
}

fn reason(r: Result<DecodedList, ListRejection>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.reason.code(),
    }
}

#[test]
fn sign_decode_round_trip_and_text_form() {
    let k = key("k1", 1);
    let l = base_list();
    let b = sign(&l, &k).unwrap();
    let d = verify(&b, &keys_of(&[&k]), NOW).unwrap();
    assert_eq!(d.list, l);
    assert_eq!(d.kid_str(), "k1");
    let t = encode_text(&b);
    assert!(t.ends_with('\n') && !t[..t.len() - 1].contains('\n'));
    assert_eq!(verify_text(&t, &keys_of(&[&k]), NOW).unwrap().list, l);
    // Exactly one final newline; no CR, no spaces.
    for bad in [format!("{t}\n"), t.replace('\n', "\r\n"), format!(" {t}")] {
        assert_eq!(
            reason(verify_text(&bad, &keys_of(&[&k]), NOW)),
            "bad_base64"
        );
    }
    assert_eq!(reason(verify_text("", &keys_of(&[&k]), NOW)), "bad_base64");
    assert_eq!(
        reason(verify_text("\n", &keys_of(&[&k]), NOW)),
        "bad_base64"
    );
}

#[test]
fn a_token_is_never_a_list_and_a_list_is_never_a_token() {
    let k = key("k1", 1);
    let keys = keys_of(&[&k]);
    // A real token as a list: wrong typ, before its payload is read.
    let claims = crate::token::Claims {
        iss: "k1".into(),
        sub: "alice".into(),
        iat: NOW - 10,
        nbf: NOW - 10,
        exp: NOW + 100,
        cti: [9; 16],
        hosts: vec!["web".into()],
        cmds: vec![],
        run_as: vec!["root".into()],
        run_as_groups: vec![],
        shell: true,
        reason: "r".into(),
        ticket: None,
        approver: None,
        break_glass: false,
        max_uses: None,
    };
    let tok = crate::token::issue(&claims, &k).unwrap();
    assert_eq!(reason(verify(&tok, &keys, NOW)), "wrong_typ");
    // A list payload re-signed under the token typ: still wrong_typ.
    let p = crate::token::encode_protected(ALG_EDDSA, b"k1", TOKEN_TYP);
    let payload = base_list().encode();
    let fake = assemble(&p, &payload, &sign_raw(&p, &payload, &k));
    assert_eq!(reason(verify(&fake, &keys, NOW)), "wrong_typ");
    // A list given to the token verifier: rejected (its payload has no claims).
    let list = sign(&base_list(), &k).unwrap();
    let r = crate::token::decode(&list).unwrap_err();
    assert_eq!(r.reason, crate::token::Reason::UnknownClaim);
    let d = crate::token::decide(
        &crate::token::encode_b64(&list),
        &keys,
        NOW,
        &crate::invocation::Invocation {
            user: "alice".into(),
            host_groups: vec!["web".into()],
            action: crate::invocation::Action::List,
            run_as_user: "root".into(),
            run_as_group: None,
        },
        &crate::token::VerifyOptions::default(),
    );
    assert!(!d.allowed);
    // A list with token claims but the list typ: unknown field.
    let lp = encode_protected(ALG_EDDSA, b"k1", LIST_TYP);
    let cp = claims.encode();
    let fake = assemble(&lp, &cp, &sign_raw(&lp, &cp, &k));
    assert_eq!(reason(verify(&fake, &keys, NOW)), "unknown_field");
    assert!(crate::token::decode(&fake).is_ok_and(|d| d.typ == LIST_TYP));
    assert!(
        !crate::token::decide(
            &crate::token::encode_b64(&fake),
            &keys,
            NOW,
            &crate::invocation::Invocation {
                user: "alice".into(),
                host_groups: vec!["web".into()],
                action: crate::invocation::Action::List,
                run_as_user: "root".into(),
                run_as_group: None,
            },
            &crate::token::VerifyOptions::default(),
        )
        .allowed
    );
}

#[test]
fn keys_windows_and_signatures() {
    let k = key("k1", 1);
    let other = key("k2", 2);
    let b = sign(&base_list(), &k).unwrap();
    assert_eq!(reason(verify(&b, &keys_of(&[&other]), NOW)), "unknown_kid");
    assert_eq!(
        reason(verify(&b, &TrustedKeys::default(), NOW)),
        "unknown_kid"
    );
    // Same kid, different key.
    let rogue = key("k1", 3);
    assert_eq!(
        reason(verify(
            &sign(&base_list(), &rogue).unwrap(),
            &keys_of(&[&k]),
            NOW
        )),
        "bad_signature"
    );
    let window = |nb: Option<i64>, na: Option<i64>| {
        let mut t = TrustedKeys::default();
        t.insert(TrustedKey {
            not_before: nb,
            not_after: na,
            ..k.trusted_key()
        });
        t
    };
    assert_eq!(
        reason(verify(&b, &window(Some(NOW + 1), None), NOW)),
        "key_not_yet_valid"
    );
    assert_eq!(reason(verify(&b, &window(Some(NOW), None), NOW)), "ok");
    assert_eq!(
        reason(verify(&b, &window(None, Some(NOW)), NOW)),
        "key_expired"
    );
    assert_eq!(reason(verify(&b, &window(None, Some(NOW + 1)), NOW)), "ok");
    // Every single-bit flip of the signature is rejected.
    let n = b.len();
    for i in n - 64..n {
        let mut x = b.clone();
        x[i] ^= 0x10;
        assert_eq!(reason(verify(&x, &keys_of(&[&k]), NOW)), "bad_signature");
    }
    // Header alg other than the pinned one.
    let p = encode_protected(-7, b"k1", LIST_TYP);
    let payload = base_list().encode();
    let x = assemble(&p, &payload, &sign_raw(&p, &payload, &k));
    assert_eq!(reason(verify(&x, &keys_of(&[&k]), NOW)), "alg_mismatch");
}

#[test]
fn strict_payload_rules() {
    let k = key("k1", 1);
    let keys = keys_of(&[&k]);
    let p = encode_protected(ALG_EDDSA, b"k1", LIST_TYP);
    let resign = |payload: &[u8]| assemble(&p, payload, &sign_raw(&p, payload, &k));
    // Version 0, empty iss, negative never encodable; bad user names.
    let mut l = base_list();
    l.version = 0;
    assert_eq!(
        reason(verify(&resign(&l.encode()), &keys, NOW)),
        "invalid_list"
    );
    assert!(
        sign(&l, &k).is_err(),
        "the issuer refuses what hosts reject"
    );
    let mut l = base_list();
    l.iss.clear();
    assert_eq!(
        reason(verify(&resign(&l.encode()), &keys, NOW)),
        "invalid_list"
    );
    for bad in ["", "a b", "a\tb", "a\nb", "a\u{7f}"] {
        let mut l = base_list();
        l.users.insert(bad.into());
        assert_eq!(
            reason(verify(&resign(&l.encode()), &keys, NOW)),
            "invalid_list",
            "{bad:?}"
        );
        let mut l = base_list();
        l.watermarks.insert(bad.into(), 5);
        assert_eq!(
            reason(verify(&resign(&l.encode()), &keys, NOW)),
            "invalid_list"
        );
    }
    let mut l = base_list();
    l.users.insert("u".repeat(MAX_USER_LEN + 1));
    assert_eq!(
        reason(verify(&resign(&l.encode()), &keys, NOW)),
        "invalid_list"
    );
    // Unknown integer key, unknown text key.
    let raw = |extra: &dyn Fn(&mut Enc), n: usize| {
        let full = base_list().encode();
        let mut e = Enc::default();
        e.map(n);
        e.out.extend_from_slice(&full[1..]);
        extra(&mut e);
        e.out
    };
    let x = raw(
        &|e| {
            e.text("zzzzzzzzzzzzzz");
            e.bool(true)
        },
        7,
    );
    assert_eq!(reason(verify(&resign(&x), &keys, NOW)), "unknown_field");
    // Wrong type: version as text.
    let l = base_list();
    let full = l.encode();
    let pos = full.windows(8).position(|w| w == b"\x67version").unwrap();
    let mut x = full[..pos + 8].to_vec();
    x.extend_from_slice(b"\x61\x37");
    x.extend_from_slice(&full[pos + 9..]);
    assert_eq!(reason(verify(&resign(&x), &keys, NOW)), "malformed");
    // A map as payload with the right keys but a token id of 15 bytes.
    let mut l = base_list();
    l.tokens.clear();
    let mut x = l.encode();
    let pos = x.windows(7).position(|w| w == b"\x66tokens").unwrap();
    x[pos + 7] = 0xa1; // map(1)
    let mut y = x[..pos + 8].to_vec();
    y.push(0x4f);
    y.extend_from_slice(&[1; 15]);
    y.push(0x01);
    y.extend_from_slice(&x[pos + 8..]);
    assert_eq!(reason(verify(&resign(&y), &keys, NOW)), "malformed");
    // Indefinite length users array.
    let l = base_list();
    let full = l.encode();
    let pos = full.windows(6).position(|w| w == b"\x65users").unwrap();
    let mut x = full[..pos + 6].to_vec();
    x.push(0x9f);
    x.extend_from_slice(&full[pos + 7..pos + 7 + 4 + 8]); // "eve", "mallory"
    x.push(0xff);
    x.extend_from_slice(&full[pos + 7 + 12..]);
    assert_eq!(reason(verify(&resign(&x), &keys, NOW)), "not_canonical");
}

#[test]
fn envelope_rules() {
    let k = key("k1", 1);
    let keys = keys_of(&[&k]);
    let b = sign(&base_list(), &k).unwrap();
    assert_eq!(reason(verify(&b[1..], &keys, NOW)), "untagged");
    let mut t = b.clone();
    t.push(0);
    assert_eq!(reason(verify(&t, &keys, NOW)), "trailing_bytes");
    assert_eq!(reason(verify(&b[..b.len() - 1], &keys, NOW)), "malformed");
    assert_eq!(reason(verify(&[], &keys, NOW)), "malformed");
    assert_eq!(reason(verify(b"garbage", &keys, NOW)), "malformed");
    let mut w = b.clone();
    w[0] = 0xd1; // tag 17
    assert_eq!(reason(verify(&w, &keys, NOW)), "malformed");
    // Oversized: text and bytes, checked before anything else.
    let big = "A".repeat(MAX_LIST_TEXT_LEN + 1);
    assert_eq!(reason(verify_text(&big, &keys, NOW)), "oversized");
    assert_eq!(
        reason(verify(&vec![0u8; MAX_LIST_LEN + 1], &keys, NOW)),
        "oversized"
    );
    // A list too large to sign is refused by the issuer.
    let mut l = base_list();
    for i in 0..12_000u32 {
        let mut c = [0u8; 16];
        c[..4].copy_from_slice(&i.to_be_bytes());
        l.tokens.insert(c, NOW + 3600);
    }
    assert!(matches!(sign(&l, &k), Err(SignListError::TooLarge(_))));
}

#[test]
fn lookups_token_user_watermark_edges() {
    let l = base_list();
    let (a, _) = l.tokens.iter().next().map(|(c, e)| (*c, *e)).unwrap();
    assert_eq!(l.is_revoked(&a, "bob", NOW), Some(Revoked::TokenId));
    assert_eq!(l.is_revoked(&[0; 16], "bob", NOW), None);
    assert_eq!(l.is_revoked(&[0; 16], "eve", 0), Some(Revoked::User));
    for near in ["eve2", "ev", "Eve", "eve ", "mallory.x"] {
        assert_eq!(l.is_revoked(&[0; 16], near, NOW), None, "{near}");
    }
    let t = l.watermarks["alice"];
    assert_eq!(
        l.is_revoked(&[0; 16], "alice", t - 1),
        Some(Revoked::IssuedBefore(t))
    );
    assert_eq!(l.is_revoked(&[0; 16], "alice", t), None);
    assert_eq!(l.is_revoked(&[0; 16], "alice2", t - 1), None);
    assert_eq!(l.is_revoked(&[0; 16], "alic", t - 1), None);
    // TokenInfo form; an unparsable id counts as revoked.
    let mut info = TokenInfo {
        cti_hex: hex(&a),
        iss: "i".into(),
        sub: "bob".into(),
        kid: "k".into(),
        iat: NOW,
        nbf: NOW,
        exp: NOW + 1,
        reason: "r".into(),
        ticket: None,
        approver: None,
        break_glass: false,
        max_uses: None,
        grants: vec![],
        shell: false,
    };
    assert_eq!(l.is_revoked_info(&info), Some(Revoked::TokenId));
    info.cti_hex = "00".repeat(16);
    assert_eq!(l.is_revoked_info(&info), None);
    info.cti_hex = "XYZ".into();
    assert_eq!(l.is_revoked_info(&info), Some(Revoked::TokenId));
    info.cti_hex = hex(&a).to_uppercase();
    assert_eq!(l.is_revoked_info(&info), Some(Revoked::TokenId));
}

#[test]
fn pruning_keeps_entries_until_exp_plus_margin() {
    let mut l = RevocationList {
        iss: "x".into(),
        iat: 0,
        version: 1,
        ..Default::default()
    };
    l.tokens.insert([1; 16], 1000);
    l.tokens.insert([2; 16], 5000);
    assert_eq!(l.prune(1000 + PRUNE_MARGIN_SECS), 0);
    assert_eq!(l.prune(1000 + PRUNE_MARGIN_SECS + 1), 1);
    assert_eq!(l.tokens.len(), 1);
}

#[test]
fn state_file_format_is_strict() {
    let s = HostState::of(12, b"list");
    let text = s.render();
    assert_eq!(HostState::parse(&text), Some(s));
    let h = hex(&s.hash);
    for bad in [
        format!("jit-revocation-state-v1 12 {h}"),
        format!("jit-revocation-state-v1 012 {h}\n"),
        format!("jit-revocation-state-v1 0 {h}\n").replace(" 0 ", " "),
        format!("jit-revocation-state-v1  12 {h}\n"),
        format!("jit-revocation-state-v1 12 {}\n", h.to_uppercase()),
        format!("jit-revocation-state-v1 12 {}\n", &h[..63]),
        format!("jit-revocation-state-v2 12 {h}\n"),
        format!("jit-revocation-state-v1 +12 {h}\n"),
        format!("jit-revocation-state-v1 12 {h} x\n"),
        format!("{text}{text}"),
        // 64 bytes with a two-byte character across the middle: refused,
        // not a panic on a slice inside it.
        format!(
            "jit-revocation-state-v1 12 {}\u{e9}{}\n",
            "a".repeat(31),
            "a".repeat(31)
        ),
    ] {
        assert_eq!(HostState::parse(&bad), None, "{bad:?}");
    }
}

/// A root-owned scratch directory below /run (the suite runs as root), so
/// the StrictModes checks on the list file pass.
struct Host {
    dir: PathBuf,
    key: SigningKeyWithKid,
}

impl Host {
    fn new(name: &str) -> Host {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the test suite runs as root (tests/run.sh)"
        );
        let dir = Path::new("/run").join(format!("jit-revocation-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        Host {
            dir,
            key: key("k1", 1),
        }
    }
    fn policy(&self, missing: MissingPolicy) -> HostPolicy {
        HostPolicy {
            list: self.dir.join("list"),
            state: self.dir.join("state"),
            lock: self.dir.join("lock"),
            missing,
        }
    }
    fn install(&self, l: &RevocationList) -> Vec<u8> {
        let b = sign(l, &self.key).unwrap();
        self.install_bytes(&b);
        b
    }
    fn install_bytes(&self, b: &[u8]) {
        let p = self.dir.join("list");
        let _ = std::fs::remove_file(&p);
        std::fs::write(&p, encode_text(b)).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    fn check(&self, missing: MissingPolicy, t: &TokenInfo) -> Result<Checked, Denial> {
        denial(
            host::check_token(&self.policy(missing), &keys_of(&[&self.key]), NOW, t),
            t,
        )
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn info(cti: [u8; 16], sub: &str, iat: i64) -> TokenInfo {
    TokenInfo {
        cti_hex: hex(&cti),
        iss: "k1".into(),
        sub: sub.into(),
        kid: "k1".into(),
        iat,
        nbf: iat,
        exp: NOW + 100,
        reason: "r".into(),
        ticket: None,
        approver: None,
        break_glass: false,
        max_uses: None,
        grants: vec![],
        shell: false,
    }
}

/// A refusal as the module reports it: its reason code and sentence.
#[derive(Debug)]
struct Denial {
    code: &'static str,
    message: String,
}

/// A revoked token or an unusable list, as the module's refusal.
fn denial(r: Result<Checked, HostError>, t: &TokenInfo) -> Result<Checked, Denial> {
    match r {
        Ok(Checked::Revoked(v, why)) => Err(Denial {
            code: crate::host::DenyCode::Revoked.code(),
            message: host::revoked_message(t, v, why),
        }),
        Ok(c) => Ok(c),
        Err(e) => Err(Denial {
            code: crate::host::DenyCode::from(&e).code(),
            message: e.to_string(),
        }),
    }
}

fn code(r: Result<Checked, Denial>) -> String {
    match r {
        Ok(Checked::NotRevoked(v)) => format!("ok v{v}"),
        Ok(Checked::NoList) => "ok nolist".into(),
        Ok(Checked::Revoked(..)) => "revoked (unmapped)".into(),
        Err(d) => d.code.into(),
    }
}

#[test]
fn host_rollback_equivocation_and_upgrade() {
    let h = Host::new("rollback");
    let t = info([5; 16], "bob", NOW);
    let mut l = base_list();
    l.version = 3;
    let v3 = h.install(&l);
    assert_eq!(code(h.check(MissingPolicy::DenyOnceSeen, &t)), "ok v3");
    let st = std::fs::read_to_string(h.dir.join("state")).unwrap();
    assert_eq!(HostState::parse(&st), Some(HostState::of(3, &v3)));
    // Same list again: fine, state unchanged.
    assert_eq!(code(h.check(MissingPolicy::DenyOnceSeen, &t)), "ok v3");
    // Older version: refused, even though it is validly signed.
    l.version = 2;
    h.install(&l);
    assert_eq!(
        code(h.check(MissingPolicy::DenyOnceSeen, &t)),
        "revocation_rollback"
    );
    // Same version, other contents: refused.
    l.version = 3;
    l.users.insert("zed".into());
    h.install(&l);
    let d = h.check(MissingPolicy::DenyOnceSeen, &t).unwrap_err();
    assert_eq!(d.code, "revocation_equivocation");
    assert!(d.message.contains("version 3"), "{}", d.message);
    // Newer: accepted and recorded; the old one is now a rollback.
    l.version = 4;
    let v4 = h.install(&l);
    assert_eq!(code(h.check(MissingPolicy::DenyOnceSeen, &t)), "ok v4");
    let st = std::fs::read_to_string(h.dir.join("state")).unwrap();
    assert_eq!(HostState::parse(&st), Some(HostState::of(4, &v4)));
    h.install_bytes(&v3);
    assert_eq!(
        code(h.check(MissingPolicy::DenyOnceSeen, &t)),
        "revocation_rollback"
    );
    // A rejected list never changes the state.
    assert_eq!(std::fs::read_to_string(h.dir.join("state")).unwrap(), st);
}

#[test]
fn host_revoked_tokens_are_denied_with_a_message() {
    let h = Host::new("revoked");
    let l = base_list();
    h.install(&l);
    let (a, _) = l.tokens.iter().next().map(|(c, e)| (*c, *e)).unwrap();
    let d = h
        .check(MissingPolicy::DenyOnceSeen, &info(a, "bob", NOW))
        .unwrap_err();
    assert_eq!(d.code, "revoked");
    assert!(
        d.message.contains(&hex(&a)) && d.message.contains("version 7"),
        "{}",
        d.message
    );
    let d = h
        .check(MissingPolicy::DenyOnceSeen, &info([0; 16], "eve", NOW))
        .unwrap_err();
    assert!(
        d.message.contains("every token of user eve"),
        "{}",
        d.message
    );
    let wm = l.watermarks["alice"];
    let d = h
        .check(MissingPolicy::DenyOnceSeen, &info([0; 16], "alice", wm - 1))
        .unwrap_err();
    assert!(d.message.contains("issued before"), "{}", d.message);
    assert_eq!(
        code(h.check(MissingPolicy::DenyOnceSeen, &info([0; 16], "alice", wm))),
        "ok v7"
    );
}

#[test]
fn host_missing_list_policies() {
    let h = Host::new("missing");
    let t = info([5; 16], "bob", NOW);
    // Never seen a list.
    assert_eq!(code(h.check(MissingPolicy::DenyOnceSeen, &t)), "ok nolist");
    assert_eq!(code(h.check(MissingPolicy::Allow, &t)), "ok nolist");
    assert_eq!(
        code(h.check(MissingPolicy::Deny, &t)),
        "revocation_list_missing"
    );
    // Seen one, then it disappears.
    h.install(&base_list());
    assert_eq!(code(h.check(MissingPolicy::DenyOnceSeen, &t)), "ok v7");
    std::fs::remove_file(h.dir.join("list")).unwrap();
    let d = h.check(MissingPolicy::DenyOnceSeen, &t).unwrap_err();
    assert_eq!(d.code, "revocation_list_missing");
    assert!(d.message.contains("accepted version 7"), "{}", d.message);
    assert_eq!(code(h.check(MissingPolicy::Allow, &t)), "ok nolist");
    assert_eq!(MissingPolicy::default(), MissingPolicy::DenyOnceSeen);
    for p in [
        MissingPolicy::Deny,
        MissingPolicy::Allow,
        MissingPolicy::DenyOnceSeen,
    ] {
        assert_eq!(MissingPolicy::parse(p.name()), Some(p));
    }
    assert_eq!(MissingPolicy::parse("yes"), None);
}

#[test]
fn host_unsafe_or_bad_list_files_deny_everything() {
    let h = Host::new("unsafe");
    let t = info([5; 16], "bob", NOW);
    let b = h.install(&base_list());
    let list = h.dir.join("list");
    // World-writable.
    std::fs::set_permissions(&list, std::fs::Permissions::from_mode(0o666)).unwrap();
    let d = h.check(MissingPolicy::Allow, &t).unwrap_err();
    assert_eq!(d.code, "revocation_list_invalid");
    assert!(d.message.contains("writable"), "{}", d.message);
    // A symlink to a good list.
    std::fs::set_permissions(&list, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::rename(&list, h.dir.join("real")).unwrap();
    std::os::unix::fs::symlink(h.dir.join("real"), &list).unwrap();
    let d = h.check(MissingPolicy::Allow, &t).unwrap_err();
    assert!(d.message.contains("symbolic link"), "{}", d.message);
    // A symlink to nothing is not "missing".
    std::fs::remove_file(h.dir.join("real")).unwrap();
    assert_eq!(
        code(h.check(MissingPolicy::Allow, &t)),
        "revocation_list_invalid"
    );
    std::fs::remove_file(&list).unwrap();
    // Garbage, unsigned, unknown kid: invalid whatever the missing policy.
    h.install_bytes(b"garbage");
    assert_eq!(
        code(h.check(MissingPolicy::Allow, &t)),
        "revocation_list_invalid"
    );
    std::fs::write(&list, "not base64 at all!\n").unwrap();
    assert_eq!(
        code(h.check(MissingPolicy::Allow, &t)),
        "revocation_list_invalid"
    );
    let mut unsigned = b.clone();
    let n = unsigned.len();
    unsigned[n - 64..].fill(0);
    h.install_bytes(&unsigned);
    let d = h.check(MissingPolicy::Allow, &t).unwrap_err();
    assert!(d.message.contains("bad_signature"), "{}", d.message);
    h.install_bytes(&sign(&base_list(), &key("k9", 9)).unwrap());
    let d = h.check(MissingPolicy::Allow, &t).unwrap_err();
    assert!(d.message.contains("unknown_kid"), "{}", d.message);
    // None of these created a state.
    assert!(!h.dir.join("state").exists());
}

#[test]
fn host_state_file_must_be_safe() {
    let h = Host::new("state");
    let t = info([5; 16], "bob", NOW);
    h.install(&base_list());
    assert_eq!(code(h.check(MissingPolicy::DenyOnceSeen, &t)), "ok v7");
    let st = h.dir.join("state");
    std::fs::set_permissions(&st, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        code(h.check(MissingPolicy::DenyOnceSeen, &t)),
        "revocation_state_unusable"
    );
    std::fs::set_permissions(&st, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&st, "jit-revocation-state-v1 x y\n").unwrap();
    assert_eq!(
        code(h.check(MissingPolicy::DenyOnceSeen, &t)),
        "revocation_state_unusable"
    );
    // A corrupt state is never silently replaced.
    assert_eq!(
        std::fs::read_to_string(&st).unwrap(),
        "jit-revocation-state-v1 x y\n"
    );
    std::fs::remove_file(&st).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &st).unwrap();
    assert_eq!(
        code(h.check(MissingPolicy::DenyOnceSeen, &t)),
        "revocation_state_unusable"
    );
    // With the list missing, an unusable state also denies (fail closed).
    std::fs::remove_file(h.dir.join("list")).unwrap();
    assert_eq!(
        code(h.check(MissingPolicy::DenyOnceSeen, &t)),
        "revocation_state_unusable"
    );
}

#[test]
fn concurrent_hosts_checks_record_the_highest_version_once() {
    let h = Host::new("conc");
    let mut l = base_list();
    l.version = 9;
    let b = h.install(&l);
    let t = info([5; 16], "bob", NOW);
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| assert_eq!(code(h.check(MissingPolicy::DenyOnceSeen, &t)), "ok v9"));
        }
    });
    let st = std::fs::read_to_string(h.dir.join("state")).unwrap();
    assert_eq!(HostState::parse(&st), Some(HostState::of(9, &b)));
}

#[test]
fn first_list_on_a_host_without_a_state_directory_is_accepted() {
    let h = Host::new("fresh");
    let mut p = h.policy(MissingPolicy::DenyOnceSeen);
    p.state = h.dir.join("var/lib/jit/revocation-state");
    p.lock = h.dir.join("var/lib/jit/log.state.lock");
    let b = h.install(&base_list());
    let keys = keys_of(&[&h.key]);
    let t = info([5; 16], "bob", NOW);
    let r = denial(host::check_token(&p, &keys, NOW, &t), &t);
    assert_eq!(code(r), "ok v7");
    let meta = std::fs::metadata(h.dir.join("var/lib/jit")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    let st = std::fs::read_to_string(&p.state).unwrap();
    assert_eq!(HostState::parse(&st), Some(HostState::of(7, &b)));
}
