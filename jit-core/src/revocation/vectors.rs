//! The golden vectors of docs/vectors/revocation/, generated deterministically
//! (seeded keys as in the token vectors; Ed25519 is deterministic).
//! [`generate`] checks every vector against the Rust decoder and verifier and
//! fails if an outcome differs from the intended one.

use super::*;
use crate::cose::cbor::Enc;
use crate::cose::{assemble, encode_protected, sign_raw, ALG_EDDSA, COSE_SIGN1_TAG};
use crate::keys::{SigningKeyWithKid, TrustedKey};
use crate::text::hex;
use crate::token::{encode_b64, TOKEN_TYP};

/// The time every vector is evaluated at.
pub const VECTOR_NOW: i64 = 1_800_000_000;

fn seed(label: &str) -> [u8; 32] {
    *blake3::hash(format!("jit-vectors-v1/{label}").as_bytes()).as_bytes()
}

fn vkey(kid: &str) -> Result<SigningKeyWithKid, String> {
    SigningKeyWithKid::from_seed(kid, &seed(kid)).map_err(|e| e.to_string())
}

fn cti(name: &str) -> [u8; 16] {
    let s = seed(&format!("revocation/cti/{name}"));
    let mut c = [0u8; 16];
    c.copy_from_slice(&s[..16]);
    c
}

/// A CA public key blob (`ssh-ed25519`), its 32 bytes seeded by `label`.
fn ca_blob(label: &str) -> Result<Vec<u8>, String> {
    let mut b = Vec::with_capacity(ssh::ED25519_BLOB_LEN);
    b.extend_from_slice(&11u32.to_be_bytes());
    b.extend_from_slice(ssh::CA_KEY_TYPE.as_bytes());
    b.extend_from_slice(&32u32.to_be_bytes());
    b.extend_from_slice(&seed(&format!("revocation/ssh-ca/{label}")));
    ssh::check_ca_blob(&b)?;
    Ok(b)
}

/// The base list with certificate and key revocations (§2.1).
pub fn ssh_list() -> RevocationList {
    let mut l = base_list();
    if let Ok(ca) = ca_blob("a") {
        l.ssh_serials.insert(
            ca,
            [(7u64, VECTOR_NOW + 3600), (4711, VECTOR_NOW + 60)].into(),
        );
    }
    l.ssh_key_ids.insert(hex(&cti("grant")), VECTOR_NOW + 3600);
    l.ssh_keys.insert(seed("revocation/ssh-key/a"));
    l.ssh_keys.insert(seed("revocation/ssh-key/b"));
    l
}

/// The list most vectors are built from.
pub fn base_list() -> RevocationList {
    let mut l = RevocationList {
        iss: "vec-1".into(),
        iat: VECTOR_NOW - 60,
        version: 7,
        ..Default::default()
    };
    l.tokens.insert(cti("a"), VECTOR_NOW + 3600);
    l.tokens.insert(cti("b"), VECTOR_NOW + 60);
    l.users.insert("mallory".into());
    l.users.insert("eve".into());
    l.watermarks.insert("alice".into(), VECTOR_NOW - 3600);
    l
}

fn enc(f: impl FnOnce(&mut Enc)) -> Vec<u8> {
    let mut e = Enc::default();
    f(&mut e);
    e.out
}

struct Vector {
    name: &'static str,
    about: &'static str,
    text: String,
    expected: &'static str,
}

/// Generate every file of docs/vectors/revocation/: (file name, contents).
pub fn generate() -> Result<Vec<(String, String)>, String> {
    let k1 = vkey("vec-1")?;
    let k2 = vkey("vec-2")?;
    let k_old = vkey("vec-old")?;
    let k_rogue =
        SigningKeyWithKid::from_seed("vec-1", &seed("rogue")).map_err(|e| e.to_string())?;
    let mut keys = TrustedKeys::default();
    keys.insert(k1.trusted_key());
    keys.insert(TrustedKey {
        not_before: Some(VECTOR_NOW - 86_400 * 30),
        not_after: Some(VECTOR_NOW - 3600),
        ..k_old.trusted_key()
    });
    let trusted_text = format!(
        "# Trusted keys of the jit revocation vectors (seeds: blake3(\"jit-vectors-v1/\" + kid)).\n{}{} not-before=@{} not-after=@{}\n",
        k1.trusted_keys_line(),
        k_old.trusted_keys_line().trim_end(),
        VECTOR_NOW - 86_400 * 30,
        VECTOR_NOW - 3600,
    );
    if TrustedKeys::parse(&trusted_text)
        .map_err(|e| e.to_string())?
        .len()
        != 2
    {
        return Err("trusted-keys round trip".into());
    }

    let prot1 = encode_protected(ALG_EDDSA, b"vec-1", LIST_TYP);
    let signed = |p: &[u8], payload: &[u8], k: &SigningKeyWithKid| -> Vec<u8> {
        assemble(p, payload, &sign_raw(p, payload, k))
    };
    let text = |b: &[u8]| encode_text(b);
    let base = base_list();
    let good = sign(&base, &k1).map_err(|e| e.to_string())?;
    // Payload with a raw replacement of the entries (for re-signed variants).
    let payload_with = |f: &dyn Fn(&mut Enc)| -> Vec<u8> { enc(|e| f(e)) };
    let base_fields = |e: &mut Enc, l: &RevocationList, skip: &str| {
        // Writes the six fields of `l` except `skip` (map head not included).
        if skip != "iss" {
            e.head(0, 1);
            e.text(&l.iss);
        }
        if skip != "iat" {
            e.head(0, 6);
            e.int(l.iat);
        }
        let full = l.encode();
        // users, tokens, version, watermarks: copy from the canonical encoding.
        let mut r = Reader::new(&full);
        let _ = r.head();
        for _ in 0..6 {
            let Ok(k) = r.skip() else { return };
            let Ok(v) = r.skip() else { return };
            let name = match k {
                [0x65, rest @ ..] | [0x66, rest @ ..] | [0x67, rest @ ..] | [0x6a, rest @ ..] => {
                    std::str::from_utf8(rest).unwrap_or("")
                }
                _ => continue,
            };
            if name != skip {
                e.out.extend_from_slice(k);
                e.out.extend_from_slice(v);
            }
        }
    };

    let mut v: Vec<Vector> = Vec::new();
    let mut push = |name, about, text: String, expected| {
        v.push(Vector {
            name,
            about,
            text,
            expected,
        })
    };
    let empty = RevocationList {
        iss: "vec-1".into(),
        iat: VECTOR_NOW - 60,
        version: 1,
        ..Default::default()
    };
    push(
        "valid-empty",
        "version 1, nothing revoked",
        text(&sign(&empty, &k1).map_err(|e| e.to_string())?),
        "ok",
    );
    push(
        "valid-entries",
        "two token ids, two users, one watermark (the queries in manifest.json use it)",
        text(&good),
        "ok",
    );
    push(
        "valid-no-newline",
        "the valid list without the final newline",
        encode_b64(&good),
        "ok",
    );
    push(
        "base64-padding",
        "'=' padding appended",
        format!("{}==\n", encode_b64(&good)),
        "bad_base64",
    );
    push(
        "two-newlines",
        "two final newlines",
        format!("{}\n\n", encode_b64(&good)),
        "bad_base64",
    );
    push(
        "truncated",
        "last 10 bytes cut off",
        text(&good[..good.len() - 10]),
        "malformed",
    );
    let mut tb = good.clone();
    tb.push(0);
    push(
        "trailing-byte",
        "one 0x00 byte after the list",
        text(&tb),
        "trailing_bytes",
    );
    push(
        "untagged",
        "the COSE_Sign1 array without tag 18",
        text(&good[1..]),
        "untagged",
    );
    let payload = base.encode();
    let unprot = enc(|e| {
        e.tag(COSE_SIGN1_TAG);
        e.array(4);
        e.bytes(&prot1);
        e.map(1);
        e.head(0, 4);
        e.bytes(b"vec-1");
        e.bytes(&payload);
        e.bytes(&sign_raw(&prot1, &payload, &k1));
    });
    push(
        "unprotected-header",
        "kid repeated in the unprotected header",
        text(&unprot),
        "unprotected_header",
    );
    let crit = enc(|e| {
        e.map(4);
        e.head(0, 1);
        e.int(ALG_EDDSA);
        e.head(0, 2);
        e.array(1);
        e.head(0, 16);
        e.head(0, 4);
        e.bytes(b"vec-1");
        e.head(0, 16);
        e.text(LIST_TYP);
    });
    push(
        "crit-header",
        "crit = [16] in the protected header, signed",
        text(&signed(&crit, &payload, &k1)),
        "unknown_critical",
    );
    let tok_prot = encode_protected(ALG_EDDSA, b"vec-1", TOKEN_TYP);
    push(
        "token-typ",
        "a list payload under the token typ application/jit+cwt, signed",
        text(&signed(&tok_prot, &payload, &k1)),
        "wrong_typ",
    );
    let token = crate::token::issue(
        &crate::token::Claims {
            iss: "vec-1".into(),
            sub: "alice".into(),
            iat: VECTOR_NOW - 600,
            nbf: VECTOR_NOW - 600,
            exp: VECTOR_NOW + 3000,
            cti: cti("token"),
            hosts: vec!["web".into()],
            cmds: vec![crate::token::Grant {
                argv: vec!["/usr/bin/true".into()],
                any_args: false,
            }],
            run_as: vec!["root".into()],
            run_as_groups: vec![],
            shell: false,
            reason: "a token, not a list".into(),
            ticket: None,
            approver: None,
            break_glass: false,
            max_uses: None,
        },
        &k1,
    )
    .map_err(|e| e.to_string())?;
    push(
        "token-as-list",
        "a valid jit token presented as a list",
        text(&token),
        "wrong_typ",
    );
    let unknown = payload_with(&|e| {
        e.map(7);
        base_fields(e, &base, "");
        e.text("zzzzzzzzzzzz");
        e.bool(true);
    });
    push(
        "unknown-field",
        "an extra field \"zzzzzzzzzzzz\": true (sorted last), signed",
        text(&signed(&prot1, &unknown, &k1)),
        "unknown_field",
    );
    let no_wm = payload_with(&|e| {
        e.map(5);
        base_fields(e, &base, "watermarks");
    });
    push(
        "missing-field",
        "no watermarks field, signed",
        text(&signed(&prot1, &no_wm, &k1)),
        "missing_field",
    );
    let mut v0 = base.clone();
    v0.version = 0;
    push(
        "version-zero",
        "version 0, signed",
        text(&signed(&prot1, &v0.encode(), &k1)),
        "invalid_list",
    );
    let mut sp = base.clone();
    sp.users.insert("bad user".into());
    push(
        "user-with-space",
        "a revoked user name with a space, signed",
        text(&signed(&prot1, &sp.encode(), &k1)),
        "invalid_list",
    );
    let unsorted = payload_with(&|e| {
        e.map(6);
        e.head(0, 1);
        e.text(&base.iss);
        e.head(0, 6);
        e.int(base.iat);
        e.text("users");
        e.array(2);
        e.text("mallory");
        e.text("eve");
        let full = base.encode();
        let mut r = Reader::new(&full);
        let _ = r.head();
        for _ in 0..6 {
            let (Ok(k), Ok(val)) = (r.skip(), r.skip()) else {
                return;
            };
            if k != [0x01] && k != [0x06] && k != enc(|x| x.text("users")).as_slice() {
                e.out.extend_from_slice(k);
                e.out.extend_from_slice(val);
            }
        }
    });
    push(
        "unsorted-users",
        "users [mallory, eve] (canonical order is eve, mallory), signed",
        text(&signed(&prot1, &unsorted, &k1)),
        "not_canonical",
    );
    let dup = payload_with(&|e| {
        e.map(6);
        e.head(0, 1);
        e.text(&base.iss);
        e.head(0, 6);
        e.int(base.iat);
        e.text("users");
        e.array(3);
        e.text("eve");
        e.text("eve");
        e.text("mallory");
        let full = base.encode();
        let mut r = Reader::new(&full);
        let _ = r.head();
        for _ in 0..6 {
            let (Ok(k), Ok(val)) = (r.skip(), r.skip()) else {
                return;
            };
            if k != [0x01] && k != [0x06] && k != enc(|x| x.text("users")).as_slice() {
                e.out.extend_from_slice(k);
                e.out.extend_from_slice(val);
            }
        }
    });
    push(
        "duplicate-user",
        "users [eve, eve, mallory], signed",
        text(&signed(&prot1, &dup, &k1)),
        "not_canonical",
    );
    let nonmin = {
        let mut e = Enc::default();
        e.map(6);
        e.head(0, 1);
        e.text(&base.iss);
        e.head(0, 6);
        e.out.push(0x1b);
        e.out.extend_from_slice(&(base.iat as u64).to_be_bytes());
        let full = base.encode();
        let mut r = Reader::new(&full);
        let _ = r.head();
        for _ in 0..6 {
            let (Ok(k), Ok(val)) = (r.skip(), r.skip()) else {
                break;
            };
            if k != [0x01] && k != [0x06] {
                e.out.extend_from_slice(k);
                e.out.extend_from_slice(val);
            }
        }
        e.out
    };
    push(
        "non-minimal-int",
        "iat as an 8-byte integer, signed",
        text(&signed(&prot1, &nonmin, &k1)),
        "not_canonical",
    );
    push(
        "unknown-kid",
        "signed by vec-2, which is not trusted",
        text(&sign(&base, &k2).map_err(|e| e.to_string())?),
        "unknown_kid",
    );
    push(
        "key-expired",
        "signed by vec-old, whose window ended 1 h ago",
        text(&sign(&base, &k_old).map_err(|e| e.to_string())?),
        "key_expired",
    );
    let mut bs = good.clone();
    if let Some(b) = bs.last_mut() {
        *b ^= 1;
    }
    push(
        "bad-signature",
        "last signature byte flipped",
        text(&bs),
        "bad_signature",
    );
    push(
        "rogue-key",
        "kid vec-1 but signed by another key",
        text(&signed(&prot1, &payload, &k_rogue)),
        "bad_signature",
    );

    // OpenSSH certificates and keys (§2.1): appended, so that the numbers of
    // the vectors above stay as they were.
    let ssh_l = ssh_list();
    let ssh_good = sign(&ssh_l, &k1).map_err(|e| e.to_string())?;
    push(
        "valid-ssh",
        "the base list plus two serials of one CA, a key id and two key fingerprints (its KRL: valid-ssh.krl.hex)",
        text(&ssh_good),
        "ok",
    );
    let mut cert_only = RevocationList {
        iss: "vec-1".into(),
        iat: VECTOR_NOW - 60,
        version: 8,
        ..Default::default()
    };
    cert_only
        .ssh_key_ids
        .insert(hex(&cti("grant")), VECTOR_NOW + 3600);
    push(
        "valid-ssh-only",
        "a certificate-only list: one key id, no token, user or watermark",
        text(&sign(&cert_only, &k1).map_err(|e| e.to_string())?),
        "ok",
    );
    let with_ssh = |before_wm: &dyn Fn(&mut Enc), after_wm: &dyn Fn(&mut Enc), n: usize| {
        let full = base.encode();
        let wm = full
            .windows(11)
            .position(|w| w == b"\x6awatermarks")
            .unwrap_or(full.len());
        enc(|e| {
            e.map(6 + n);
            e.out.extend_from_slice(&full[1..wm]);
            before_wm(e);
            e.out.extend_from_slice(&full[wm..]);
            after_wm(e);
        })
    };
    let none = |_: &mut Enc| {};
    push(
        "ssh-empty-member",
        "\"ssh_keys\": [] (a member present but empty; absent is its encoding), signed",
        text(&signed(
            &prot1,
            &with_ssh(
                &|e| {
                    e.text("ssh_keys");
                    e.array(0);
                },
                &none,
                1,
            ),
            &k1,
        )),
        "not_canonical",
    );
    push(
        "ssh-unsorted-keys",
        "ssh_keys with two fingerprints in descending order, signed",
        text(&signed(
            &prot1,
            &with_ssh(
                &|e| {
                    e.text("ssh_keys");
                    e.array(2);
                    e.bytes(&[0xbb; 32]);
                    e.bytes(&[0xaa; 32]);
                },
                &none,
                1,
            ),
            &k1,
        )),
        "not_canonical",
    );
    push(
        "ssh-short-fingerprint",
        "a 31-byte fingerprint in ssh_keys, signed",
        text(&signed(
            &prot1,
            &with_ssh(
                &|e| {
                    e.text("ssh_keys");
                    e.array(1);
                    e.bytes(&[0xaa; 31]);
                },
                &none,
                1,
            ),
            &k1,
        )),
        "malformed",
    );
    let mut l = base.clone();
    l.ssh_serials
        .insert(ca_blob("a")?, [(0u64, VECTOR_NOW)].into());
    push(
        "ssh-serial-zero",
        "serial 0 (OpenSSH cannot revoke it), signed",
        text(&signed(&prot1, &l.encode(), &k1)),
        "invalid_list",
    );
    let mut l = base.clone();
    let mut rsa = ca_blob("a")?;
    rsa[4..15].copy_from_slice(b"ssh-ed448xx");
    l.ssh_serials.insert(rsa, [(1u64, VECTOR_NOW)].into());
    push(
        "ssh-ca-not-ed25519",
        "a CA blob whose type is not ssh-ed25519, signed",
        text(&signed(&prot1, &l.encode(), &k1)),
        "invalid_list",
    );
    let mut l = base.clone();
    l.ssh_key_ids.insert("grant one".into(), VECTOR_NOW);
    push(
        "ssh-key-id-space",
        "a key id with a space, signed",
        text(&signed(&prot1, &l.encode(), &k1)),
        "invalid_list",
    );
    let ca = ca_blob("a")?;
    push(
        "ssh-duplicate-serial",
        "serial 7 twice under one CA, signed",
        text(&signed(
            &prot1,
            &with_ssh(
                &none,
                &|e| {
                    e.text("ssh_serials");
                    e.map(1);
                    e.bytes(&ca);
                    e.map(2);
                    e.head(0, 7);
                    e.int(VECTOR_NOW);
                    e.head(0, 7);
                    e.int(VECTOR_NOW);
                },
                1,
            ),
            &k1,
        )),
        "duplicate_key",
    );

    let mut files = Vec::new();
    let mut manifest = Vec::new();
    let mut readme = String::from(
        "# Golden vectors of the jit revocation list format\n\n\
         Generated by `cargo run -p xtask -- gen-vectors --out DIR` into `DIR/revocation/` (code:\n\
         `jit-core/src/revocation/vectors.rs`); do not edit by hand.\n\
         `tests/ci.d/10-token-vectors.sh` regenerates them and diffs.\n\n\
         - `trusted-keys`: the trusted keys (seeds `blake3(\"jit-vectors-v1/\" + kid)`; `vec-old`\n\
         has a window that ended 1 h before `now`).\n\
         - `NAME.list`: one list file each (base64url text, normally with one final newline).\n\
         - `manifest.json`: for each list the time (`now`) and the expected reason code\n\
         (docs/revocation.md §4; `ok` when it verifies); `host` cases: a list file, the host\n\
         state before (`state`, the state file's line) and the expected host outcome\n\
         (`ok`, `revocation_rollback`, `revocation_equivocation`); `queries`: token facts\n\
         looked up in `02-valid-entries.list` and whether (and why) they are revoked;\n\
         `krl`: a list and the KRL (PROTOCOL.krl, in hex: `valid-ssh.krl.hex`) a host writes from it\n\
         (docs/revocation.md §3.1).\n\n\
         | vector | expected | what it is |\n|---|---|---|\n",
    );
    for (n, vec) in v.iter().enumerate() {
        let got = match verify_text(&vec.text, &keys, VECTOR_NOW) {
            Ok(_) => "ok",
            Err(r) => r.reason.code(),
        };
        if got != vec.expected {
            return Err(format!(
                "revocation vector {}: expected {}, Rust says {got}",
                vec.name, vec.expected
            ));
        }
        let file = format!("{:02}-{}.list", n + 1, vec.name);
        files.push((file.clone(), vec.text.clone()));
        manifest.push(serde_json::json!({
            "name": vec.name, "file": file, "now": VECTOR_NOW, "expected": vec.expected,
        }));
        readme.push_str(&format!(
            "| `{file}` | `{}` | {} |\n",
            vec.expected, vec.about
        ));
    }

    // Host cases: the state before, and what accepting 02-valid-entries does.
    let st = |version: u64, bytes: &[u8]| HostState::of(version, bytes).render();
    let mut other = base.clone();
    other.users.insert("trent".into());
    let other = sign(&other, &k1).map_err(|e| e.to_string())?;
    let host = [
        ("first list on a host", None, "ok"),
        ("older version already accepted", Some(st(6, &good)), "ok"),
        ("same list already accepted", Some(st(7, &good)), "ok"),
        (
            "newer version already accepted",
            Some(st(8, &other)),
            "revocation_rollback",
        ),
        (
            "another list with version 7 already accepted",
            Some(st(7, &other)),
            "revocation_equivocation",
        ),
    ];
    let mut host_json = Vec::new();
    for (about, state, expected) in host {
        let got = host_outcome(state.as_deref(), &good, 7)?;
        if got != expected {
            return Err(format!(
                "revocation host case {about:?}: expected {expected}, Rust says {got}"
            ));
        }
        host_json.push(serde_json::json!({
            "about": about, "list": "02-valid-entries.list", "state": state, "expected": expected,
        }));
    }

    // Queries against 02-valid-entries.
    let wm = VECTOR_NOW - 3600;
    let queries: Vec<(&str, [u8; 16], &str, i64, &str)> = vec![
        ("listed token id", cti("a"), "bob", VECTOR_NOW, "token_id"),
        (
            "unlisted token id",
            cti("z"),
            "bob",
            VECTOR_NOW,
            "not_revoked",
        ),
        ("revoked user", cti("z"), "eve", VECTOR_NOW, "user"),
        (
            "user name with a revoked prefix",
            cti("z"),
            "eve2",
            VECTOR_NOW,
            "not_revoked",
        ),
        (
            "user name that is a prefix of a revoked one",
            cti("z"),
            "ev",
            VECTOR_NOW,
            "not_revoked",
        ),
        (
            "watermark: iat = T - 1",
            cti("z"),
            "alice",
            wm - 1,
            "issued_before",
        ),
        ("watermark: iat = T", cti("z"), "alice", wm, "not_revoked"),
        (
            "watermark of another user",
            cti("z"),
            "alice2",
            wm - 1,
            "not_revoked",
        ),
    ];
    let mut q_json = Vec::new();
    for (about, c, sub, iat, expected) in queries {
        let got = match base.is_revoked(&c, sub, iat) {
            None => "not_revoked",
            Some(Revoked::TokenId) => "token_id",
            Some(Revoked::User) => "user",
            Some(Revoked::IssuedBefore(_)) => "issued_before",
        };
        if got != expected {
            return Err(format!(
                "revocation query {about:?}: expected {expected}, Rust says {got}"
            ));
        }
        q_json.push(serde_json::json!({
            "about": about, "cti": hex(&c), "sub": sub, "iat": iat, "expected": expected,
        }));
    }
    // The KRL a host writes from the valid SSH list (§3.1), in hex.
    let ssh_file = format!(
        "{:02}-valid-ssh.list",
        v.iter().position(|x| x.name == "valid-ssh").unwrap_or(0) + 1
    );
    files.push((
        "valid-ssh.krl.hex".into(),
        format!("{}\n", hex(&ssh::krl(&ssh_l))),
    ));
    let krl_json = vec![serde_json::json!({
        "list": ssh_file, "krl_hex": "valid-ssh.krl.hex",
    })];
    let manifest = serde_json::json!({
        "format": "jit-revocation-vectors-v1",
        "trusted_keys": "trusted-keys",
        "vectors": manifest,
        "host": host_json,
        "queries": q_json,
        "krl": krl_json,
    });
    let mut m = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    m.push('\n');
    files.push(("manifest.json".into(), m));
    files.push(("trusted-keys".into(), trusted_text));
    files.push(("README.md".into(), readme));
    Ok(files)
}

/// What [`host::accept`] does with `bytes` (version `version`) given a state
/// line (or none), in a scratch directory.
fn host_outcome(state: Option<&str>, bytes: &[u8], version: u64) -> Result<&'static str, String> {
    let dir = std::env::temp_dir().join(format!(
        "jit-revocation-vectors-{}-{}",
        std::process::id(),
        blake3::hash(state.unwrap_or("").as_bytes()).to_hex()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let sp = dir.join("state");
    if let Some(s) = state {
        let parsed = HostState::parse(s).ok_or("state line does not parse")?;
        host::write_state(&sp, &parsed).map_err(|e| e.to_string())?;
    }
    let r = host::accept(Path::new("list"), bytes, version, &sp, &dir.join("lock"));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(match r {
        Ok(()) => "ok",
        Err(e) => crate::host::DenyCode::from(&e).code(),
    })
}

use host::HostState;
use std::path::Path;

#[cfg(test)]
mod tests {
    #[test]
    fn generation_is_deterministic_and_matches_the_checked_in_vectors() {
        let a = super::generate().unwrap();
        assert_eq!(a, super::generate().unwrap());
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/vectors/revocation");
        for (name, content) in &a {
            let on_disk = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| {
                panic!("docs/vectors/revocation/{name}: {e}; run cargo run -p xtask -- gen-vectors")
            });
            assert_eq!(
                &on_disk, content,
                "docs/vectors/revocation/{name} is stale; run cargo run -p xtask -- gen-vectors --out docs/vectors"
            );
        }
    }
}
