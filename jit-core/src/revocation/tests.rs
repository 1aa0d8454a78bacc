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

// --- OpenSSH certificates and keys (§2.1, §3.1) --------------------------------

fn ca_blob(n: u8) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&11u32.to_be_bytes());
    b.extend_from_slice(b"ssh-ed25519");
    b.extend_from_slice(&32u32.to_be_bytes());
    b.extend_from_slice(&[n; 32]);
    b
}

fn ssh_list() -> RevocationList {
    let mut l = base_list();
    l.ssh_serials
        .insert(ca_blob(1), [(7u64, NOW + 60), (9, NOW + 60)].into());
    l.ssh_key_ids.insert("grant-x".into(), NOW + 60);
    l.ssh_keys.insert([3; 32]);
    l
}

#[test]
fn ssh_members_round_trip_and_are_absent_when_empty() {
    let k = key("k1", 1);
    let keys = keys_of(&[&k]);
    let l = ssh_list();
    let d = verify(&sign(&l, &k).unwrap(), &keys, NOW).unwrap();
    assert_eq!(d.list, l);
    assert!(d.list.has_ssh());
    // A list without SSH entries encodes exactly as before §2.1: six keys.
    let old = base_list().encode();
    assert_eq!(old[0], 0xa6, "six-key map");
    assert!(!old.windows(3).any(|w| w == b"ssh"));
    // A certificate-only list: nothing but SSH entries.
    let mut c = RevocationList {
        iss: "k1".into(),
        iat: NOW,
        version: 1,
        ..Default::default()
    };
    c.ssh_key_ids.insert("only".into(), NOW);
    let d = verify(&sign(&c, &k).unwrap(), &keys, NOW).unwrap();
    assert_eq!(d.list, c);
    assert_eq!(d.payload[0], 0xa7, "seven keys");
    // Key order: ... "version", "ssh_keys", "watermarks", "ssh_key_ids", "ssh_serials".
    let p = l.encode();
    let pos = |s: &str| p.windows(s.len()).position(|w| w == s.as_bytes()).unwrap();
    assert!(pos("version") < pos("ssh_keys"));
    assert!(pos("ssh_keys") < pos("watermarks"));
    assert!(pos("watermarks") < pos("ssh_key_ids"));
    assert!(pos("ssh_key_ids") < pos("ssh_serials"));
}

/// A payload of `base_list()`'s six fields plus `extra` members, in the
/// order given (each written as key then value by the closure); `ssh_keys`
/// (8 characters) goes before `watermarks` as canonical order wants, the
/// others after it.
type Member<'a> = (&'a str, &'a dyn Fn(&mut Enc));

fn payload_plus(extra: &[Member<'_>]) -> Vec<u8> {
    let full = base_list().encode();
    let wm = full
        .windows(11)
        .position(|w| w == b"\x6awatermarks")
        .unwrap();
    let mut e = Enc::default();
    e.map(6 + extra.len());
    e.out.extend_from_slice(&full[1..wm]);
    for (k, v) in extra.iter().filter(|(k, _)| k.len() < 10) {
        e.text(k);
        v(&mut e);
    }
    e.out.extend_from_slice(&full[wm..]);
    for (k, v) in extra.iter().filter(|(k, _)| k.len() >= 10) {
        e.text(k);
        v(&mut e);
    }
    e.out
}

#[test]
fn ssh_members_strict_rules() {
    let k = key("k1", 1);
    let keys = keys_of(&[&k]);
    let p = encode_protected(ALG_EDDSA, b"k1", LIST_TYP);
    let resign = |payload: &[u8]| assemble(&p, payload, &sign_raw(&p, payload, &k));
    let check = |payload: Vec<u8>| reason(verify(&resign(&payload), &keys, NOW));
    // Present but empty: not canonical (absent is the one encoding).
    assert_eq!(
        check(payload_plus(&[("ssh_keys", &|e| e.array(0))])),
        "not_canonical"
    );
    assert_eq!(
        check(payload_plus(&[("ssh_key_ids", &|e| e.map(0))])),
        "not_canonical"
    );
    assert_eq!(
        check(payload_plus(&[("ssh_serials", &|e| e.map(0))])),
        "not_canonical"
    );
    // The well-formed one-member variants verify (the helper is sound).
    assert_eq!(
        check(payload_plus(&[("ssh_keys", &|e| {
            e.array(1);
            e.bytes(&[1; 32]);
        })])),
        "ok"
    );
    // Fingerprints: unsorted or repeated entries, wrong sizes, wrong types.
    assert_eq!(
        check(payload_plus(&[("ssh_keys", &|e| {
            e.array(2);
            e.bytes(&[2; 32]);
            e.bytes(&[1; 32]);
        })])),
        "not_canonical"
    );
    assert_eq!(
        check(payload_plus(&[("ssh_keys", &|e| {
            e.array(2);
            e.bytes(&[1; 32]);
            e.bytes(&[1; 32]);
        })])),
        "not_canonical"
    );
    for n in [0usize, 20, 31, 33, 64] {
        assert_eq!(
            check(payload_plus(&[("ssh_keys", &|e| {
                e.array(1);
                e.bytes(&vec![1; n]);
            })])),
            "malformed",
            "{n}-byte fingerprint"
        );
    }
    assert_eq!(
        check(payload_plus(&[("ssh_keys", &|e| {
            e.array(1);
            e.text("SHA256:x");
        })])),
        "malformed"
    );
    // Key ids: repeated (the CBOR layer), bad characters, too long, exp out of range.
    assert_eq!(
        check(payload_plus(&[("ssh_key_ids", &|e| {
            e.map(2);
            e.text("a");
            e.int(1);
            e.text("a");
            e.int(2);
        })])),
        "duplicate_key"
    );
    let long = "k".repeat(ssh::MAX_KEY_ID_LEN + 1);
    for bad in ["", "a b", "a\nb", "é", long.as_str()] {
        let mut l = base_list();
        l.ssh_key_ids.insert(bad.into(), NOW);
        assert_eq!(check(l.encode()), "invalid_list", "{bad:?}");
        assert!(sign(&l, &k).is_err(), "the signer refuses {bad:?}");
    }
    let mut l = base_list();
    l.ssh_key_ids.insert("k".repeat(ssh::MAX_KEY_ID_LEN), NOW);
    assert_eq!(check(l.encode()), "ok", "256 bytes is the limit");
    assert_eq!(
        check(payload_plus(&[("ssh_key_ids", &|e| {
            e.map(1);
            e.text("a");
            e.head(0, u64::MAX);
        })])),
        "invalid_list"
    );
    // Serials: 0, a CA without serials, a CA that is not an Ed25519 blob.
    let mut l = base_list();
    l.ssh_serials.insert(ca_blob(1), [(0u64, NOW)].into());
    assert_eq!(check(l.encode()), "invalid_list");
    let mut l = base_list();
    l.ssh_serials.insert(ca_blob(1), Default::default());
    assert_eq!(check(l.encode()), "invalid_list");
    let mut rsa = ca_blob(1);
    rsa[4..15].copy_from_slice(b"ssh-ed25518");
    for bad in [
        rsa,
        ca_blob(1)[..50].to_vec(),
        [ca_blob(1), vec![0]].concat(),
        vec![],
    ] {
        let mut l = base_list();
        l.ssh_serials.insert(bad, [(1u64, NOW)].into());
        assert_eq!(check(l.encode()), "invalid_list");
    }
    // Serials out of order inside a CA's map, and a repeated serial.
    assert_eq!(
        check(payload_plus(&[("ssh_serials", &|e| {
            e.map(1);
            e.bytes(&ca_blob(1));
            e.map(2);
            e.head(0, 9);
            e.int(1);
            e.head(0, 7);
            e.int(1);
        })])),
        "not_canonical"
    );
    assert_eq!(
        check(payload_plus(&[("ssh_serials", &|e| {
            e.map(1);
            e.bytes(&ca_blob(1));
            e.map(2);
            e.head(0, 7);
            e.int(1);
            e.head(0, 7);
            e.int(2);
        })])),
        "duplicate_key"
    );
    // Members out of canonical key order: ssh_serials before ssh_key_ids.
    assert_eq!(
        check(payload_plus(&[
            ("ssh_serials", &|e| {
                e.map(1);
                e.bytes(&ca_blob(1));
                e.map(1);
                e.head(0, 7);
                e.int(1);
            }),
            ("ssh_key_ids", &|e| {
                e.map(1);
                e.text("a");
                e.int(1);
            }),
        ])),
        "not_canonical"
    );
    // A near-miss name is still an unknown field.
    assert_eq!(
        check(payload_plus(&[("ssh_keyz", &|e| e.array(0))])),
        "unknown_field"
    );
    // Oversized: a list of fingerprints over the limit cannot be signed.
    let mut l = base_list();
    for i in 0..8000u32 {
        let mut fp = [0u8; 32];
        fp[..4].copy_from_slice(&i.to_be_bytes());
        l.ssh_keys.insert(fp);
    }
    assert!(matches!(sign(&l, &k), Err(SignListError::TooLarge(_))));
}

#[test]
fn ssh_pruning_and_token_revocations_are_untouched_by_ssh_entries() {
    let mut l = ssh_list();
    l.ssh_serials
        .get_mut(&ca_blob(1))
        .unwrap()
        .insert(11, NOW - PRUNE_MARGIN_SECS - 1);
    l.ssh_serials
        .insert(ca_blob(2), [(5u64, NOW - PRUNE_MARGIN_SECS - 1)].into());
    l.ssh_key_ids
        .insert("old".into(), NOW - PRUNE_MARGIN_SECS - 1);
    let before_tokens = l.tokens.len();
    let n = l.prune(NOW);
    assert_eq!(n, 3 + (before_tokens - l.tokens.len()));
    assert!(
        !l.ssh_serials.contains_key(&ca_blob(2)),
        "a CA without serials goes"
    );
    assert_eq!(l.ssh_serials[&ca_blob(1)].len(), 2);
    assert!(!l.ssh_key_ids.contains_key("old"));
    assert_eq!(l.ssh_keys.len(), 1, "keys are never pruned");
    assert!(l.check().is_ok());
    // The sudo decision ignores SSH entries: a key id equal to a token id
    // does not revoke the token (§3.1).
    let mut l = base_list();
    let c = [0x42; 16];
    l.ssh_key_ids.insert(hex(&c), NOW);
    assert_eq!(l.is_revoked(&c, "bob", NOW), None);
}

#[test]
fn fingerprints_and_public_key_lines() {
    // `ssh-keygen -l` of this key prints SHA256:... of the blob.
    let blob = ca_blob(7);
    let fp = ssh::fingerprint(&blob);
    let t = ssh::fingerprint_text(&fp);
    assert!(t.starts_with("SHA256:") && t.len() == 7 + 43 && !t.contains('='));
    assert_eq!(ssh::parse_fingerprint(&t), Some(fp));
    for bad in [
        t.replace("SHA256:", "sha256:"),
        format!("{t}="),
        t[..t.len() - 1].to_string(),
        format!("MD5:{}", &t[7..]),
    ] {
        assert_eq!(ssh::parse_fingerprint(&bad), None, "{bad}");
    }
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&blob);
    let (ty, b) = ssh::parse_public_key(&format!("ssh-ed25519 {b64} alice@laptop\n")).unwrap();
    assert_eq!((ty.as_str(), b), ("ssh-ed25519", blob.clone()));
    // The type word must match the blob; certificates are refused.
    assert!(ssh::parse_public_key(&format!("ssh-rsa {b64}")).is_err());
    assert!(ssh::parse_public_key(&format!("ssh-ed25519-cert-v01@openssh.com {b64}")).is_err());
    assert!(ssh::parse_public_key("ssh-ed25519").is_err());
    assert!(ssh::parse_public_key("ssh-ed25519 !!!").is_err());
    let short = base64::engine::general_purpose::STANDARD.encode(&blob[..40]);
    assert!(ssh::parse_public_key(&format!("ssh-ed25519 {short}")).is_err());
    // An RSA key whose exponent carries a redundant leading zero is the same
    // key to OpenSSH, which fingerprints the canonical form: refused, not
    // revoked under a fingerprint sshd never computes.
    let canonical = crate::ssh_cert::tests::rsa_with_e(&[0x01, 0x00, 0x01]);
    assert!(ssh::parse_public_key(&canonical).is_ok());
    let padded = crate::ssh_cert::tests::rsa_with_e(&[0x00, 0x01, 0x00, 0x01]);
    // (ssh-key's parser refuses the non-canonical mpint itself; the
    // re-encoding check stands behind it for any other encoding.)
    let e = ssh::parse_public_key(&padded).unwrap_err();
    assert!(
        e.contains("canonical") || e.contains("not a valid ssh-rsa key"),
        "{e}"
    );
}

#[test]
fn krl_bytes_follow_protocol_krl() {
    // Nothing revoked: the header alone.
    let empty = RevocationList::default();
    let k = ssh::krl(&empty);
    assert_eq!(&k[..8], b"SSHKRL\n\0");
    assert_eq!(&k[8..12], &1u32.to_be_bytes());
    assert_eq!(
        k.len(),
        8 + 4 + 8 + 8 + 8 + 4 + 4 + "jit revocation list version 0".len()
    );
    // Every kind: one section per CA, one any-CA key id section holding the
    // token ids too, one SHA-256 section, in that order.
    let l = ssh_list();
    let k = ssh::krl(&l);
    assert_eq!(&k[12..20], &l.version.to_be_bytes());
    assert_eq!(&k[20..28], &(l.iat as u64).to_be_bytes());
    let mut r = &k[8 + 4 + 8 + 8 + 8..];
    let mut take = |n: usize| {
        let (a, b) = r.split_at(n);
        r = b;
        a.to_vec()
    };
    let string = |take: &mut dyn FnMut(usize) -> Vec<u8>| {
        let n = u32::from_be_bytes(take(4).try_into().unwrap()) as usize;
        take(n)
    };
    assert_eq!(string(&mut take), b"");
    assert_eq!(string(&mut take), b"jit revocation list version 7");
    assert_eq!(take(1), [1]);
    let sec = string(&mut take);
    let mut expect = Vec::new();
    for part in [&ca_blob(1)[..], b""] {
        expect.extend_from_slice(&(part.len() as u32).to_be_bytes());
        expect.extend_from_slice(part);
    }
    expect.push(0x20);
    expect.extend_from_slice(&16u32.to_be_bytes());
    expect.extend_from_slice(&7u64.to_be_bytes());
    expect.extend_from_slice(&9u64.to_be_bytes());
    assert_eq!(sec, expect);
    assert_eq!(take(1), [1]);
    let sec = string(&mut take);
    assert_eq!(&sec[..9], &[0, 0, 0, 0, 0, 0, 0, 0, 0x23]);
    let ids = ssh::revoked_key_ids(&l);
    assert_eq!(ids.len(), 1 + l.tokens.len());
    assert!(ids.contains(&"grant-x".to_string()));
    for c in l.tokens.keys() {
        assert!(
            ids.contains(&hex(c)),
            "a revoked token id is a revoked key id"
        );
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert_eq!(take(1), [5]);
    let sec = string(&mut take);
    assert_eq!(sec, [&32u32.to_be_bytes()[..], &[3; 32]].concat());
    assert!(r.is_empty(), "nothing after the last section");
    // Deterministic: the same list gives the same bytes.
    assert_eq!(ssh::krl(&l), k);
}

#[test]
fn host_writes_the_krl_only_from_an_accepted_list() {
    let h = Host::new("krl");
    let keys = keys_of(&[&h.key]);
    let krl = h.dir.join("revoked.krl");
    let pol = h.policy(MissingPolicy::DenyOnceSeen);
    // Never seen, no list: an empty, valid KRL.
    let w = host::write_krl(&pol, &keys, NOW, &krl).unwrap();
    assert_eq!(w.version, None);
    assert_eq!(
        std::fs::read(&krl).unwrap(),
        ssh::krl(&RevocationList::default())
    );
    assert!(!h.dir.join("state").exists(), "no list, no state");
    // Version 7 with SSH entries.
    let mut l7 = ssh_list();
    h.install(&l7);
    let w = host::write_krl(&pol, &keys, NOW, &krl).unwrap();
    assert_eq!((w.version, w.serials, w.keys), (Some(7), 2, 1));
    let k7 = std::fs::read(&krl).unwrap();
    assert_eq!(k7, ssh::krl(&l7));
    let mode = std::fs::metadata(&krl).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // The sudo path accepted it too: the state says 7.
    assert_eq!(
        host::read_state(&h.dir.join("state"))
            .unwrap()
            .unwrap()
            .version,
        7
    );
    // Rolled back, equivocating, unsigned (wrong key) or missing once seen:
    // an error, and the KRL is unchanged.
    l7.version = 6;
    h.install(&l7);
    assert!(matches!(
        host::write_krl(&pol, &keys, NOW, &krl),
        Err(host::KrlError::List(HostError::Rollback { .. }))
    ));
    let mut other = ssh_list();
    other.ssh_keys.insert([9; 32]);
    h.install(&other);
    assert!(matches!(
        host::write_krl(&pol, &keys, NOW, &krl),
        Err(host::KrlError::List(HostError::Equivocation { .. }))
    ));
    let mut l8 = ssh_list();
    l8.version = 8;
    h.install_bytes(&sign(&l8, &key("k1", 2)).unwrap());
    assert!(matches!(
        host::write_krl(&pol, &keys, NOW, &krl),
        Err(host::KrlError::List(HostError::Invalid {
            code: Some("bad_signature"),
            ..
        }))
    ));
    std::fs::remove_file(h.dir.join("list")).unwrap();
    assert!(matches!(
        host::write_krl(&pol, &keys, NOW, &krl),
        Err(host::KrlError::List(HostError::Missing(_)))
    ));
    assert_eq!(std::fs::read(&krl).unwrap(), k7, "the old KRL stays");
    // A newer list replaces it.
    h.install(&l8);
    let w = host::write_krl(&pol, &keys, NOW, &krl).unwrap();
    assert_eq!(w.version, Some(8));
    assert_eq!(std::fs::read(&krl).unwrap(), ssh::krl(&l8));
    // A KRL that cannot be written (its directory is missing): an error.
    assert!(matches!(
        host::write_krl(&pol, &keys, NOW, &h.dir.join("no/such/dir/krl")),
        Err(host::KrlError::Write { .. })
    ));
}

#[test]
fn fuzz_entry_point_accepts_the_ssh_seeds() {
    // The fuzz target's seeds (fuzz/corpus/revocation_decode) include the
    // SSH vectors; the entry point's assertions hold on them.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/revocation_decode");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        fuzz_decode(&std::fs::read(&p).unwrap());
        n += 1;
    }
    assert!(n >= 64, "{n} seeds");
    fuzz_decode(ssh::fingerprint_text(&[7; 32]).as_bytes());
}
