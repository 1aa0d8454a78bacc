//! The golden vectors of docs/vectors/, generated deterministically.
//!
//! Keys are derived from fixed seeds (`blake3("jit-vectors-v1/" + kid)`),
//! `cti` likewise, and Ed25519 signatures are deterministic, so the output is
//! byte-identical on every run. [`generate`] checks every vector against
//! [`decide`] and fails if the Rust outcome differs from the intended one.

use super::*;
use crate::invocation::{Action, Invocation};
use crate::keys::{SigningKeyWithKid, TrustedKey, TrustedKeys};
use cbor::{Enc, Head, Reader};

/// The time every vector is evaluated at, unless the vector says otherwise.
pub const VECTOR_NOW: i64 = 1_800_000_000;

fn seed(label: &str) -> [u8; 32] {
    *blake3::hash(format!("jit-vectors-v1/{label}").as_bytes()).as_bytes()
}

fn vkey(kid: &str) -> Result<SigningKeyWithKid, String> {
    SigningKeyWithKid::from_seed(kid, &seed(kid)).map_err(|e| e.to_string())
}

fn cti(name: &str) -> [u8; 16] {
    let s = seed(&format!("cti/{name}"));
    let mut c = [0u8; 16];
    c.copy_from_slice(&s[..16]);
    c
}

fn base_claims(name: &str) -> Claims {
    Claims {
        iss: "vec-1".into(),
        sub: "alice".into(),
        iat: VECTOR_NOW - 600,
        nbf: VECTOR_NOW - 600,
        exp: VECTOR_NOW + 3000,
        cti: cti(name),
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
        reason: "INC-1234 restart nginx".into(),
        ticket: Some("INC-1234".into()),
        approver: None,
        break_glass: false,
        max_uses: None,
    }
}

/// How a vector is evaluated.
struct Vector {
    name: &'static str,
    about: &'static str,
    token: String,
    now: i64,
    inv: Invocation,
    expected: Reason,
}

fn exec(argv: &[&str]) -> Action {
    Action::Exec {
        argv: argv.iter().map(|s| s.to_string()).collect(),
    }
}

fn inv(action: Action) -> Invocation {
    Invocation {
        user: "alice".into(),
        host_groups: vec!["web".into(), "eu".into()],
        action,
        run_as_user: "root".into(),
        run_as_group: None,
    }
}

fn default_inv() -> Invocation {
    inv(exec(&["/usr/bin/systemctl", "restart", "nginx"]))
}

fn action_json(a: &Action) -> serde_json::Value {
    match a {
        Action::Exec { argv } => serde_json::json!({ "exec": argv }),
        Action::Shell { login, argv } => {
            serde_json::json!({ "shell": { "login": login, "argv": argv } })
        }
        Action::Edit { files } => serde_json::json!({ "edit": files }),
        Action::List => serde_json::json!("list"),
        Action::Validate => serde_json::json!("validate"),
    }
}

/// Parse an invocation in the manifest's JSON form (see docs/vectors/README.md):
/// `{"user", "host_groups", "action", "run_as_user", "run_as_group"}` with
/// `action` one of `{"exec": [argv]}`, `{"shell": {"login": b, "argv": [..]}}`,
/// `{"edit": [files]}`, `"list"`, `"validate"`.
pub fn invocation_from_json(v: &serde_json::Value) -> Result<Invocation, String> {
    let strs = |v: &serde_json::Value, what: &str| -> Result<Vec<String>, String> {
        v.as_array()
            .ok_or_else(|| format!("{what}: not an array"))?
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{what}: not a string"))
            })
            .collect()
    };
    let s = |k: &str| -> Result<String, String> {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("{k}: missing or not a string"))
    };
    let a = v.get("action").ok_or("action: missing")?;
    let action = if a == "list" {
        Action::List
    } else if a == "validate" {
        Action::Validate
    } else if let Some(x) = a.get("exec") {
        Action::Exec {
            argv: strs(x, "exec")?,
        }
    } else if let Some(x) = a.get("edit") {
        Action::Edit {
            files: strs(x, "edit")?,
        }
    } else if let Some(x) = a.get("shell") {
        Action::Shell {
            login: x
                .get("login")
                .and_then(|l| l.as_bool())
                .ok_or("shell.login")?,
            argv: strs(x.get("argv").ok_or("shell.argv")?, "shell.argv")?,
        }
    } else {
        return Err("action: unknown".into());
    };
    let run_as_group = match v.get("run_as_group") {
        None | Some(serde_json::Value::Null) => None,
        Some(g) => Some(g.as_str().ok_or("run_as_group: not a string")?.to_string()),
    };
    Ok(Invocation {
        user: s("user")?,
        host_groups: strs(
            v.get("host_groups").ok_or("host_groups: missing")?,
            "host_groups",
        )?,
        action,
        run_as_user: s("run_as_user")?,
        run_as_group,
    })
}

fn enc(f: impl FnOnce(&mut Enc)) -> Vec<u8> {
    let mut e = Enc::default();
    f(&mut e);
    e.out
}

/// Split a canonical map into raw (key, value) entries.
/// Raw (key, value) pairs of a map.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

fn entries(map: &[u8]) -> Result<Entries, String> {
    let mut r = Reader::new(map);
    let Ok(Head::Map(n)) = r.head() else {
        return Err("not a map".into());
    };
    let mut v = Vec::new();
    for _ in 0..n {
        let k = r.skip().map_err(|e| format!("{e:?}"))?.to_vec();
        let val = r.skip().map_err(|e| format!("{e:?}"))?.to_vec();
        v.push((k, val));
    }
    Ok(v)
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

fn idx(e: &[(Vec<u8>, Vec<u8>)], key: &[u8]) -> Result<usize, String> {
    e.iter()
        .position(|(k, _)| k == key)
        .ok_or_else(|| format!("no key {key:x?}"))
}

/// Generate every file of docs/vectors/: (file name, contents).
pub fn generate() -> Result<Vec<(String, String)>, String> {
    let k1 = vkey("vec-1")?;
    let k_old = vkey("vec-old")?;
    let k_future = vkey("vec-future")?;
    let k_rogue =
        SigningKeyWithKid::from_seed("vec-1", &seed("rogue")).map_err(|e| e.to_string())?;

    let mut keys = TrustedKeys::default();
    keys.insert(k1.trusted_key());
    keys.insert(TrustedKey {
        not_before: Some(VECTOR_NOW - 86_400 * 30),
        not_after: Some(VECTOR_NOW - 3600),
        ..k_old.trusted_key()
    });
    keys.insert(TrustedKey {
        not_before: Some(VECTOR_NOW + 3600),
        not_after: None,
        ..k_future.trusted_key()
    });
    let trusted_text = format!(
        "# Trusted keys of the jit golden vectors (seeds: blake3(\"jit-vectors-v1/\" + kid)).\n{}{} not-before=@{} not-after=@{}\n{} not-before=@{}\n",
        k1.trusted_keys_line(),
        k_old.trusted_keys_line().trim_end(),
        VECTOR_NOW - 86_400 * 30,
        VECTOR_NOW - 3600,
        k_future.trusted_keys_line().trim_end(),
        VECTOR_NOW + 3600,
    );
    // The file we write must parse to the same set.
    let parsed = TrustedKeys::parse(&trusted_text).map_err(|e| e.to_string())?;
    if parsed.len() != 3 {
        return Err("trusted-keys round trip".into());
    }

    let prot1 = encode_protected(ALG_EDDSA, b"vec-1", TOKEN_TYP);
    let issue1 = |c: &Claims| issue_b64(c, &k1).map_err(|e| e.to_string());
    let resign = |p: &[u8], payload: &[u8]| {
        let sig = sign_raw(p, payload, &k1);
        encode_b64(&assemble(p, payload, &sig))
    };
    let with_entries =
        |name: &str, f: &dyn Fn(&mut Entries) -> Result<(), String>| -> Result<String, String> {
            let mut e = entries(&base_claims(name).encode())?;
            f(&mut e)?;
            Ok(resign(&prot1, &map_of(&e)))
        };
    let tkey = |s: &str| enc(|e| e.text(s));
    let ikey = |i: i64| enc(|e| e.int(i));

    let mut v: Vec<Vector> = Vec::new();
    let mut push = |name: &'static str,
                    about: &'static str,
                    token: String,
                    now: i64,
                    inv: Invocation,
                    expected: Reason| {
        v.push(Vector {
            name,
            about,
            token,
            now,
            inv,
            expected,
        })
    };

    // ---- valid ----
    push(
        "valid-exec",
        "typical token: exact command, run as root",
        issue1(&base_claims("valid-exec"))?,
        VECTOR_NOW,
        default_inv(),
        Reason::Ok,
    );
    let mut c = base_claims("valid-any-args");
    c.cmds = vec![Grant {
        argv: vec!["/usr/bin/journalctl".into(), "-u".into(), "nginx".into()],
        any_args: true,
    }];
    push(
        "valid-any-args",
        "grant with any_args, invoked with one extra argument",
        issue1(&c)?,
        VECTOR_NOW,
        inv(exec(&["/usr/bin/journalctl", "-u", "nginx", "-f"])),
        Reason::Ok,
    );
    let mut c = base_claims("valid-all-claims");
    c.shell = true;
    c.approver = Some("bob".into());
    c.break_glass = true;
    c.max_uses = Some(1);
    c.run_as = vec!["root".into(), "postgres".into()];
    c.run_as_groups = vec!["adm".into()];
    c.cmds.push(Grant {
        argv: vec!["sudoedit".into(), "/etc/hosts".into()],
        any_args: false,
    });
    c.cmds.push(Grant {
        argv: vec!["/bin/echo".into(), "a b".into(), String::new()],
        any_args: false,
    });
    let all = issue1(&c)?;
    let mut i = inv(Action::Shell {
        login: true,
        argv: vec!["/bin/bash".into()],
    });
    i.run_as_user = "postgres".into();
    i.run_as_group = Some("adm".into());
    push(
        "valid-all-claims",
        "every optional claim; login shell as postgres with group adm",
        all.clone(),
        VECTOR_NOW,
        i,
        Reason::Ok,
    );
    push(
        "valid-sudoedit",
        "sudoedit of a file granted by [\"sudoedit\", \"/etc/hosts\"]",
        all.clone(),
        VECTOR_NOW,
        inv(Action::Edit {
            files: vec!["/etc/hosts".into()],
        }),
        Reason::Ok,
    );
    push(
        "valid-quoted-args",
        "argv with a space inside one argument and an empty argument",
        all.clone(),
        VECTOR_NOW,
        inv(exec(&["/bin/echo", "a b", ""])),
        Reason::Ok,
    );
    let mut c = base_claims("valid-list");
    c.cmds = vec![];
    push(
        "valid-list",
        "sudo -l with a token granting no command",
        issue1(&c)?,
        VECTOR_NOW,
        inv(Action::List),
        Reason::Ok,
    );
    let c = base_claims("valid-leeway");
    push(
        "valid-leeway-edge",
        "now = exp + 59 s, inside the 60 s leeway",
        issue1(&c)?,
        c.exp + 59,
        default_inv(),
        Reason::Ok,
    );

    // ---- transport ----
    push(
        "oversized",
        "10924 characters of text, one over the limit",
        "A".repeat(MAX_TOKEN_TEXT_LEN + 1),
        VECTOR_NOW,
        default_inv(),
        Reason::Oversized,
    );
    push(
        "base64-padding",
        "valid token with '=' padding appended",
        format!("{}==", issue1(&base_claims("base64-padding"))?),
        VECTOR_NOW,
        default_inv(),
        Reason::BadBase64,
    );
    let t = issue1(&base_claims("base64-std"))?;
    let t_std: String = t
        .chars()
        .map(|ch| match ch {
            '-' => '+',
            '_' => '/',
            x => x,
        })
        .collect();
    push(
        "base64-standard-alphabet",
        "the standard base64 alphabet (+ /) instead of base64url",
        if t_std == t { format!("{t}+") } else { t_std },
        VECTOR_NOW,
        default_inv(),
        Reason::BadBase64,
    );

    // ---- envelope ----
    let raw = issue(&base_claims("truncated"), &k1).map_err(|e| e.to_string())?;
    push(
        "truncated",
        "valid token with its last 10 bytes cut off",
        encode_b64(&raw[..raw.len() - 10]),
        VECTOR_NOW,
        default_inv(),
        Reason::Malformed,
    );
    let mut raw = issue(&base_claims("trailing-byte"), &k1).map_err(|e| e.to_string())?;
    raw.push(0);
    push(
        "trailing-byte",
        "valid token followed by one 0x00 byte",
        encode_b64(&raw),
        VECTOR_NOW,
        default_inv(),
        Reason::TrailingBytes,
    );
    let mut payload = base_claims("trailing-byte-payload").encode();
    payload.push(0);
    push(
        "trailing-byte-payload",
        "claims followed by a 0x00 byte inside the payload, re-signed",
        resign(&prot1, &payload),
        VECTOR_NOW,
        default_inv(),
        Reason::TrailingBytes,
    );
    let raw = issue(&base_claims("untagged"), &k1).map_err(|e| e.to_string())?;
    push(
        "untagged",
        "the COSE_Sign1 array without tag 18",
        encode_b64(&raw[1..]),
        VECTOR_NOW,
        default_inv(),
        Reason::Untagged,
    );
    let mut raw = issue(&base_claims("wrong-tag"), &k1).map_err(|e| e.to_string())?;
    raw[0] = 0xd1;
    push(
        "wrong-tag",
        "tag 17 (COSE_Mac0) instead of 18",
        encode_b64(&raw),
        VECTOR_NOW,
        default_inv(),
        Reason::Malformed,
    );
    let payload = base_claims("unprotected-header").encode();
    let sig = sign_raw(&prot1, &payload, &k1);
    let mut e = Enc::default();
    e.tag(COSE_SIGN1_TAG);
    e.array(4);
    e.bytes(&prot1);
    e.map(1);
    e.int(4);
    e.bytes(b"vec-1");
    e.bytes(&payload);
    e.bytes(&sig);
    push(
        "unprotected-header",
        "kid repeated in the unprotected header",
        encode_b64(&e.out),
        VECTOR_NOW,
        default_inv(),
        Reason::UnprotectedHeader,
    );
    let payload = base_claims("non-minimal-length").encode();
    let sig = sign_raw(&prot1, &payload, &k1);
    let mut e = Enc::default();
    e.tag(COSE_SIGN1_TAG);
    e.array(4);
    e.bytes(&prot1);
    e.map(0);
    e.out.push(0x5a);
    e.out.extend_from_slice(
        &u32::try_from(payload.len())
            .map_err(|e| e.to_string())?
            .to_be_bytes(),
    );
    e.out.extend_from_slice(&payload);
    e.bytes(&sig);
    push(
        "non-minimal-length",
        "payload byte-string length written in 4 bytes",
        encode_b64(&e.out),
        VECTOR_NOW,
        default_inv(),
        Reason::NotCanonical,
    );

    // ---- protected header ----
    let p = enc(|e| {
        e.map(4);
        e.int(1);
        e.int(ALG_EDDSA);
        e.int(2);
        e.array(1);
        e.int(16);
        e.int(4);
        e.bytes(b"vec-1");
        e.int(16);
        e.text(TOKEN_TYP);
    });
    push(
        "crit-header",
        "crit = [16] in the protected header, correctly signed",
        resign(&p, &base_claims("crit-header").encode()),
        VECTOR_NOW,
        default_inv(),
        Reason::UnknownCritical,
    );
    push(
        "alg-mismatch",
        "header alg -7 (ES256) on a key pinned to ed25519, signature valid",
        resign(
            &encode_protected(-7, b"vec-1", TOKEN_TYP),
            &base_claims("alg-mismatch").encode(),
        ),
        VECTOR_NOW,
        default_inv(),
        Reason::AlgMismatch,
    );
    push(
        "wrong-typ",
        "typ application/cwt instead of application/jit+cwt",
        resign(
            &encode_protected(ALG_EDDSA, b"vec-1", "application/cwt"),
            &base_claims("wrong-typ").encode(),
        ),
        VECTOR_NOW,
        default_inv(),
        Reason::WrongTyp,
    );

    // ---- claims ----
    push(
        "non-minimal-int",
        "exp encoded as an 8-byte integer, re-signed",
        with_entries("non-minimal-int", &|e| {
            let i = idx(e, &ikey(4))?;
            let exp = u32::try_from(VECTOR_NOW + 3000).map_err(|e| e.to_string())?;
            let mut val = vec![0x1b, 0, 0, 0, 0];
            val.extend_from_slice(&exp.to_be_bytes());
            e[i].1 = val;
            Ok(())
        })?,
        VECTOR_NOW,
        default_inv(),
        Reason::NotCanonical,
    );
    push(
        "indefinite-array",
        "hosts as an indefinite-length array, re-signed",
        with_entries("indefinite-array", &|e| {
            let i = idx(e, &tkey("hosts"))?;
            let mut val = vec![0x9f];
            val.extend_from_slice(&tkey("web"));
            val.push(0xff);
            e[i].1 = val;
            Ok(())
        })?,
        VECTOR_NOW,
        default_inv(),
        Reason::NotCanonical,
    );
    push(
        "unsorted-claims",
        "claims sub before iss, re-signed",
        with_entries("unsorted-claims", &|e| {
            e.swap(0, 1);
            Ok(())
        })?,
        VECTOR_NOW,
        default_inv(),
        Reason::NotCanonical,
    );
    push(
        "duplicate-sub",
        "sub alice followed by a second sub mallory (cbor2 keeps the last)",
        with_entries("duplicate-sub", &|e| {
            let i = idx(e, &ikey(2))?;
            e.insert(i + 1, (ikey(2), enc(|x| x.text("mallory"))));
            Ok(())
        })?,
        VECTOR_NOW,
        inv(exec(&["/usr/bin/systemctl", "restart", "nginx"])),
        Reason::DuplicateKey,
    );
    push(
        "unknown-claim",
        "an extra claim \"zz\": true, re-signed",
        with_entries("unknown-claim", &|e| {
            e.push((tkey("zz"), enc(|x| x.bool(true))));
            e.sort();
            Ok(())
        })?,
        VECTOR_NOW,
        default_inv(),
        Reason::UnknownClaim,
    );
    push(
        "missing-claim",
        "no exp claim, re-signed",
        with_entries("missing-claim", &|e| {
            let i = idx(e, &ikey(4))?;
            e.remove(i);
            Ok(())
        })?,
        VECTOR_NOW,
        default_inv(),
        Reason::MissingClaim,
    );
    push(
        "claim-wrong-type",
        "hosts as a text string instead of an array, re-signed",
        with_entries("claim-wrong-type", &|e| {
            let i = idx(e, &tkey("hosts"))?;
            e[i].1 = tkey("web");
            Ok(())
        })?,
        VECTOR_NOW,
        default_inv(),
        Reason::Malformed,
    );
    push(
        "shell-false",
        "shell: false present (the issuer omits defaults), re-signed",
        with_entries("shell-false", &|e| {
            e.push((tkey("shell"), enc(|x| x.bool(false))));
            e.sort();
            Ok(())
        })?,
        VECTOR_NOW,
        default_inv(),
        Reason::InvalidClaims,
    );
    let mut c = base_claims("exp-before-nbf");
    c.exp = c.nbf;
    push(
        "exp-not-after-nbf",
        "exp == nbf, re-signed",
        resign(&prot1, &c.encode()),
        VECTOR_NOW,
        default_inv(),
        Reason::InvalidClaims,
    );
    for (name, about, uses) in [
        (
            "break-glass-multi-use",
            "break_glass with max_uses 2 (break-glass is single-use), re-signed",
            Some(2),
        ),
        (
            "break-glass-unlimited",
            "break_glass without max_uses (break-glass is single-use), re-signed",
            None,
        ),
    ] {
        let mut c = base_claims(name);
        c.break_glass = true;
        c.max_uses = uses;
        push(
            name,
            about,
            resign(&prot1, &c.encode()),
            VECTOR_NOW,
            default_inv(),
            Reason::InvalidClaims,
        );
    }
    let mut c = base_claims("relative-command");
    c.cmds[0].argv[0] = "systemctl".into();
    push(
        "relative-command",
        "argv[0] not an absolute path, re-signed",
        resign(&prot1, &c.encode()),
        VECTOR_NOW,
        inv(exec(&["systemctl", "restart", "nginx"])),
        Reason::InvalidClaims,
    );

    // ---- keys and signature ----
    push(
        "unknown-kid",
        "signed by a key whose kid is not trusted",
        issue_b64(&base_claims("unknown-kid"), &vkey("vec-2")?).map_err(|e| e.to_string())?,
        VECTOR_NOW,
        default_inv(),
        Reason::UnknownKid,
    );
    push(
        "key-not-yet-valid",
        "signed by vec-future, whose window starts in 1 h",
        issue_b64(&base_claims("key-not-yet-valid"), &k_future).map_err(|e| e.to_string())?,
        VECTOR_NOW,
        default_inv(),
        Reason::KeyNotYetValid,
    );
    push(
        "key-expired",
        "signed by vec-old, whose window ended 1 h ago",
        issue_b64(&base_claims("key-expired"), &k_old).map_err(|e| e.to_string())?,
        VECTOR_NOW,
        default_inv(),
        Reason::KeyExpired,
    );
    let mut raw = issue(&base_claims("bad-signature"), &k1).map_err(|e| e.to_string())?;
    let n = raw.len();
    raw[n - 1] ^= 0x01;
    push(
        "bad-signature",
        "last signature byte flipped",
        encode_b64(&raw),
        VECTOR_NOW,
        default_inv(),
        Reason::BadSignature,
    );
    push(
        "rogue-key",
        "kid vec-1 but signed by another key",
        issue_b64(&base_claims("rogue-key"), &k_rogue).map_err(|e| e.to_string())?,
        VECTOR_NOW,
        default_inv(),
        Reason::BadSignature,
    );
    let payload = base_claims("malleable-s").encode();
    let mut sig = sign_raw(&prot1, &payload, &k1);
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (i, l) in L.iter().enumerate() {
        let s = u16::from(sig[32 + i]) + u16::from(*l) + carry;
        sig[32 + i] = (s & 0xff) as u8;
        carry = s >> 8;
    }
    push(
        "malleable-s",
        "signature with S + L (accepted by non-strict verifiers)",
        encode_b64(&assemble(&prot1, &payload, &sig)),
        VECTOR_NOW,
        default_inv(),
        Reason::BadSignature,
    );
    let mut payload = base_claims("tampered-payload").encode();
    let sig = sign_raw(&prot1, &payload, &k1);
    if let Some(last) = payload.last_mut() {
        *last ^= 0x01;
    }
    push(
        "tampered-payload",
        "one payload byte changed after signing (still canonical)",
        encode_b64(&assemble(&prot1, &payload, &sig)),
        VECTOR_NOW,
        default_inv(),
        Reason::BadSignature,
    );

    // ---- time ----
    let mut c = base_claims("not-yet-valid");
    c.iat = VECTOR_NOW;
    c.nbf = VECTOR_NOW + 2 * 3600 + 5 * 60;
    c.exp = c.nbf + 3600;
    push(
        "not-yet-valid",
        "nbf 2 h 5 min in the future",
        issue1(&c)?,
        VECTOR_NOW,
        default_inv(),
        Reason::NotYetValid,
    );
    let c = base_claims("expired");
    push(
        "expired-at-leeway-edge",
        "now = exp + 60 s exactly: expired",
        issue1(&c)?,
        c.exp + 60,
        default_inv(),
        Reason::Expired,
    );

    // ---- invocation ----
    let t = issue1(&base_claims("invocation"))?;
    let mut i = default_inv();
    i.user = "alice2".into();
    push(
        "wrong-user",
        "sub alice, user alice2",
        t.clone(),
        VECTOR_NOW,
        i,
        Reason::WrongUser,
    );
    let mut i = default_inv();
    i.host_groups = vec!["db".into(), "webx".into()];
    push(
        "host-not-granted",
        "token for web, host in db and webx",
        t.clone(),
        VECTOR_NOW,
        i,
        Reason::HostNotGranted,
    );
    let mut i = default_inv();
    i.run_as_user = "postgres".into();
    push(
        "run-as-not-granted",
        "run as postgres, token allows root",
        t.clone(),
        VECTOR_NOW,
        i,
        Reason::RunAsNotGranted,
    );
    let mut i = default_inv();
    i.run_as_group = Some("adm".into());
    push(
        "run-as-group-not-granted",
        "sudo -g adm without run_as_groups",
        t.clone(),
        VECTOR_NOW,
        i,
        Reason::RunAsGroupNotGranted,
    );
    push(
        "extra-empty-argument",
        "granted argv plus one empty argument",
        t.clone(),
        VECTOR_NOW,
        inv(exec(&["/usr/bin/systemctl", "restart", "nginx", ""])),
        Reason::CommandNotGranted,
    );
    push(
        "split-argument",
        "\"a b\" granted as one argument, invoked as two",
        all.clone(),
        VECTOR_NOW,
        inv(exec(&["/bin/echo", "a", "b", ""])),
        Reason::CommandNotGranted,
    );
    push(
        "extra-args-without-any-args",
        "exact grant, invoked with an extra argument",
        t.clone(),
        VECTOR_NOW,
        inv(exec(&["/usr/bin/systemctl", "restart", "nginx", "--now"])),
        Reason::CommandNotGranted,
    );
    let mut c = base_claims("bash-grant");
    c.cmds = vec![Grant {
        argv: vec!["/bin/bash".into()],
        any_args: true,
    }];
    push(
        "shell-not-granted",
        "grant /bin/bash ... does not grant sudo -s",
        issue1(&c)?,
        VECTOR_NOW,
        inv(Action::Shell {
            login: false,
            argv: vec!["/bin/bash".into()],
        }),
        Reason::ShellNotGranted,
    );
    push(
        "edit-not-granted",
        "sudoedit /etc/hosts and /etc/shadow, only /etc/hosts granted",
        all.clone(),
        VECTOR_NOW,
        inv(Action::Edit {
            files: vec!["/etc/hosts".into(), "/etc/shadow".into()],
        }),
        Reason::EditNotGranted,
    );

    // Check every outcome against the Rust verifier and write the files.
    let opts = VerifyOptions::default();
    let mut files = Vec::new();
    let mut manifest = Vec::new();
    let mut readme = String::from(
        "# Golden vectors of the jit token format\n\n\
         Generated by `cargo run -p xtask -- gen-vectors --out DIR` (code: `jit-core/src/token/vectors.rs`);\n\
         do not edit by hand. `tests/ci.d/10-token-vectors.sh` regenerates them and diffs, and\n\
         runs the independent Python verifier (`tests/interop/verify_token.py`) over them.\n\n\
         - `trusted-keys`: the trusted keys (docs/trusted-keys.md). Seeds are\n\
         `blake3(\"jit-vectors-v1/\" + kid)`; `vec-old` and `vec-future` have validity windows.\n\
         - `NAME.token`: one token each, base64url text without a newline.\n\
         - `manifest.json`: for each vector the time (`now`, Unix seconds), leeway 60 s,\n\
         the invocation, and the expected reason code (docs/token-format.md §4). An\n\
         invocation is `{user, host_groups, action, run_as_user, run_as_group}` with `action`\n\
         one of `{\"exec\": [argv]}`, `{\"shell\": {\"login\": bool, \"argv\": [...]}}`,\n\
         `{\"edit\": [files]}`, `\"list\"`, `\"validate\"`.\n\n\
         | vector | expected | what it is |\n|---|---|---|\n",
    );
    for (n, vec) in v.iter().enumerate() {
        let d = decide(&vec.token, &keys, vec.now, &vec.inv, &opts);
        if d.reason != vec.expected {
            return Err(format!(
                "vector {}: expected {}, Rust verifier says {} ({})",
                vec.name,
                vec.expected.code(),
                d.reason.code(),
                d.message
            ));
        }
        let file = format!("{:02}-{}.token", n + 1, vec.name);
        files.push((file.clone(), vec.token.clone()));
        manifest.push(serde_json::json!({
            "name": vec.name,
            "file": file,
            "now": vec.now,
            "leeway": opts.leeway_secs,
            "invocation": {
                "user": vec.inv.user,
                "host_groups": vec.inv.host_groups,
                "action": action_json(&vec.inv.action),
                "run_as_user": vec.inv.run_as_user,
                "run_as_group": vec.inv.run_as_group,
            },
            "expected": vec.expected.code(),
            "message": d.message,
        }));
        readme.push_str(&format!(
            "| `{file}` | `{}` | {} |\n",
            vec.expected.code(),
            vec.about
        ));
    }
    let manifest = serde_json::json!({
        "format": "jit-token-vectors-v1",
        "trusted_keys": "trusted-keys",
        "vectors": manifest,
    });
    let mut m = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    m.push('\n');
    files.push(("manifest.json".into(), m));
    files.push(("trusted-keys".into(), trusted_text));
    files.push(("README.md".into(), readme));
    Ok(files)
}

#[cfg(test)]
mod tests {
    #[test]
    fn generation_is_deterministic_and_matches_the_checked_in_vectors() {
        let a = super::generate().unwrap();
        let b = super::generate().unwrap();
        assert_eq!(a, b);
        // The manifest's invocations parse back to what was used.
        let m = a.iter().find(|(n, _)| n == "manifest.json").unwrap();
        let m: serde_json::Value = serde_json::from_str(&m.1).unwrap();
        for v in m["vectors"].as_array().unwrap() {
            super::invocation_from_json(&v["invocation"]).unwrap();
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/vectors");
        for (name, content) in &a {
            let on_disk = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| {
                panic!("docs/vectors/{name}: {e}; run cargo run -p xtask -- gen-vectors")
            });
            assert_eq!(
                &on_disk, content,
                "docs/vectors/{name} is stale; run cargo run -p xtask -- gen-vectors --out docs/vectors"
            );
        }
    }
}
