//! The golden vectors of docs/vectors/ssh/ (docs/ssh-cert.md, "Vectors"):
//! a seeded CA key, fixed grant ids, serials, nonces and times, so every
//! certificate is byte-identical on every run (Ed25519 is deterministic).
//! [`generate`] fails if any request's outcome differs from the intended one
//! or a certificate fails its check after signing.

use serde_json::json;

use super::*;
use crate::keys::SigningKeyWithKid;

/// The grant's not-before of every vector.
pub const VECTOR_NOW: i64 = 1_800_000_000;

/// The subject keys the vectors certify or refuse (file name, line).
pub const KEYS: [(&str, &str); 7] = [
    ("ed25519.pub", include_str!("keys/ed25519.pub")),
    ("ecdsa256.pub", include_str!("keys/ecdsa256.pub")),
    ("ecdsa384.pub", include_str!("keys/ecdsa384.pub")),
    ("rsa2048.pub", include_str!("keys/rsa2048.pub")),
    ("rsa1024.pub", include_str!("keys/rsa1024.pub")),
    ("dsa.pub", include_str!("keys/dsa.pub")),
    ("sk-ed25519.pub", include_str!("keys/sk-ed25519.pub")),
];

fn seed(label: &str) -> [u8; 32] {
    *blake3::hash(format!("jit-vectors-v1/ssh/{label}").as_bytes()).as_bytes()
}

/// The vectors' CA key (kid `vec-ssh-ca`).
pub fn ca() -> Result<SigningKeyWithKid, String> {
    SigningKeyWithKid::from_seed("vec-ssh-ca", &seed("ca")).map_err(|e| e.to_string())
}

fn key(file: &str) -> String {
    KEYS.iter()
        .find(|(n, _)| *n == file)
        .map(|(_, l)| l.to_string())
        .unwrap_or_default()
}

struct V {
    name: &'static str,
    about: &'static str,
    key: String,
    key_file: &'static str,
    logins: Vec<String>,
    groups: Vec<String>,
    ttl: u64,
    serial: Option<u64>,
    fc: Option<&'static str>,
    sa: Option<&'static str>,
    ext: Option<Vec<String>>,
    allowed: Option<Vec<String>>,
    expected: &'static str,
}

fn v(name: &'static str, about: &'static str, expected: &'static str) -> V {
    V {
        name,
        about,
        key: key("ed25519.pub"),
        key_file: "ed25519.pub",
        logins: vec!["alice".into()],
        groups: vec!["web".into()],
        ttl: DEFAULT_TTL_SECS,
        serial: None,
        fc: None,
        sa: None,
        ext: None,
        allowed: None,
        expected,
    }
}

fn with_key(mut x: V, f: &'static str) -> V {
    x.key = key(f);
    x.key_file = f;
    x
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn vectors() -> Vec<V> {
    let mut out = vec![
        v(
            "01-ed25519-default",
            "Ed25519 key, one login, one host group, default TTL (4 h) and extensions (permit-pty)",
            "ok",
        ),
        with_key(
            V {
                fc: Some("/usr/bin/systemctl restart nginx"),
                ttl: 1800,
                ..v(
                    "02-ecdsa256-force-command",
                    "ECDSA P-256 key, a command-scoped grant: force-command, permit-pty only",
                    "ok",
                )
            },
            "ecdsa256.pub",
        ),
        with_key(
            V {
                sa: Some("10.0.0.0/8,192.0.2.1/32,2001:db8::/32"),
                ..v(
                    "03-rsa2048-source-address",
                    "RSA 2048-bit key, source-address",
                    "ok",
                )
            },
            "rsa2048.pub",
        ),
        with_key(
            V {
                logins: strs(&["alice", "deploy"]),
                groups: strs(&["web", "db"]),
                ttl: 86_400,
                ..v(
                    "04-ecdsa384-two-logins-two-groups",
                    "ECDSA P-384 key, two logins x two host groups: four principals, TTL 24 h",
                    "ok",
                )
            },
            "ecdsa384.pub",
        ),
        V {
            ext: Some(strs(&["permit-port-forwarding", "permit-pty"])),
            allowed: Some(strs(&["permit-port-forwarding", "permit-pty"])),
            ttl: 60,
            ..v(
                "05-policy-allows-port-forwarding",
                "the policy allows port forwarding, no force-command; TTL 1 min",
                "ok",
            )
        },
        V {
            ext: Some(Vec::new()),
            ..v(
                "06-no-extensions",
                "no extensions asked for: none (no pty)",
                "ok",
            )
        },
        with_key(
            v("10-dsa-refused", "DSA key", "ssh_key_type_refused"),
            "dsa.pub",
        ),
        with_key(
            v(
                "11-sk-ed25519-refused",
                "FIDO sk-ssh-ed25519 key (not certified in this version)",
                "ssh_key_type_refused",
            ),
            "sk-ed25519.pub",
        ),
        with_key(
            v(
                "12-rsa1024-refused",
                "RSA key of 1024 bits",
                "ssh_rsa_key_size",
            ),
            "rsa1024.pub",
        ),
        V {
            logins: Vec::new(),
            ..v(
                "13-no-logins",
                "no login: no principals",
                "ssh_no_principals",
            )
        },
        V {
            groups: Vec::new(),
            ..v(
                "14-no-host-groups",
                "no host group: no principals",
                "ssh_no_principals",
            )
        },
        V {
            logins: strs(&["*"]),
            ..v("15-wildcard-login", "login '*'", "ssh_bad_principal")
        },
        V {
            logins: strs(&["alice,root"]),
            ..v(
                "16-list-login",
                "login 'alice,root' (a list)",
                "ssh_bad_principal",
            )
        },
        V {
            ttl: 86_401,
            ..v("17-ttl-over", "TTL 24 h + 1 s", "ttl_out_of_range")
        },
        V {
            ttl: 59,
            ..v("18-ttl-under", "TTL 59 s", "ttl_out_of_range")
        },
        V {
            fc: Some("/usr/bin/uptime"),
            ext: Some(strs(&["permit-port-forwarding", "permit-pty"])),
            allowed: Some(strs(&["permit-port-forwarding", "permit-pty"])),
            ..v(
                "19-force-command-with-port-forwarding",
                "force-command and permit-port-forwarding, although the policy allows forwarding",
                "ssh_forwarding_with_force_command",
            )
        },
        V {
            ext: Some(strs(&["permit-agent-forwarding"])),
            ..v(
                "20-extension-not-allowed",
                "agent forwarding under the default limits",
                "ssh_extension_not_allowed",
            )
        },
        V {
            ext: Some(strs(&["permit-everything"])),
            allowed: Some(strs(&["permit-everything"])),
            ..v(
                "21-unknown-extension",
                "an extension OpenSSH does not define, even if a policy lists it",
                "ssh_extension_not_allowed",
            )
        },
        V {
            sa: Some("0.0.0.0/0"),
            ..v(
                "22-source-address-everything",
                "source-address 0.0.0.0/0",
                "ssh_bad_source_address",
            )
        },
        V {
            sa: Some("10.0.0.*"),
            ..v(
                "23-source-address-pattern",
                "source-address with a pattern",
                "ssh_bad_source_address",
            )
        },
        V {
            fc: Some(""),
            ..v(
                "24-empty-force-command",
                "empty force-command",
                "ssh_bad_force_command",
            )
        },
        V {
            serial: Some(0),
            ..v("25-serial-zero", "serial 0", "ssh_bad_serial")
        },
        V {
            key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== short".into(),
            key_file: "",
            ..v(
                "26-truncated-key",
                "an Ed25519 key blob with a 0-byte key",
                "ssh_bad_key",
            )
        },
    ];
    // A certificate offered as the key to certify.
    let mut cert = v(
        "27-certificate-as-key",
        "a certificate instead of a public key",
        "ssh_bad_key",
    );
    cert.key = "ssh-ed25519-cert-v01@openssh.com AAAA x".into();
    cert.key_file = "";
    out.push(cert);
    out.extend([
        V {
            sa: Some("192.0.2.1/32,10.0.0.1/8"),
            ..v(
                "28-source-address-host-bits-v4",
                "source-address 10.0.0.1/8: host bits set, which sshd refuses (10.0.0.0/8 is meant)",
                "ssh_bad_source_address",
            )
        },
        V {
            sa: Some("2001:db8::1/128,2001:db8::1/32"),
            ..v(
                "29-source-address-host-bits-v6",
                "source-address 2001:db8::1/32: host bits set, which sshd refuses (2001:db8::/32 is meant)",
                "ssh_bad_source_address",
            )
        },
    ]);
    out
}

fn grant_id(name: &str) -> [u8; 16] {
    let s = seed(&format!("grant/{name}"));
    let mut g = [0u8; 16];
    g.copy_from_slice(&s[..16]);
    g
}

fn serial(name: &str) -> u64 {
    let s = seed(&format!("serial/{name}"));
    let mut b = [0u8; 8];
    b.copy_from_slice(&s[..8]);
    u64::from_be_bytes(b) | 1
}

fn nonce(name: &str) -> [u8; NONCE_LEN] {
    seed(&format!("nonce/{name}"))
}

/// Generate every file of docs/vectors/ssh/ as (path relative to
/// docs/vectors, contents).
pub fn generate() -> Result<Vec<(String, String)>, String> {
    let ca = ca()?;
    let ca_pub = ca.public_key().map_err(|e| e.to_string())?;
    let mut files: Vec<(String, String)> = Vec::new();
    files.push((
        "ssh/ca.pub".into(),
        format!("{}\n", ca_public_line(&ca_pub, "vec-ssh-ca")),
    ));
    for (n, l) in KEYS {
        files.push((format!("ssh/keys/{n}"), l.to_string()));
    }
    let mut manifest = Vec::new();
    let mut first_cert: Option<(String, CertProfile)> = None;
    for x in vectors() {
        let limits = match &x.allowed {
            Some(a) => Limits {
                allowed_extensions: a.clone(),
                ..Limits::default()
            },
            None => Limits::default(),
        };
        let gid = grant_id(x.name);
        let ser = x.serial.unwrap_or_else(|| serial(x.name));
        let non = nonce(x.name);
        let req = Request {
            public_key: &x.key,
            logins: &x.logins,
            host_groups: &x.groups,
            grant_id: gid,
            serial: ser,
            nonce: non,
            not_before: VECTOR_NOW,
            ttl_secs: x.ttl,
            force_command: x.fc,
            source_address: x.sa,
            extensions: x.ext.as_deref(),
        };
        let outcome = profile(&req, &limits);
        let got = match &outcome {
            Ok(_) => "ok",
            Err(r) => r.code(),
        };
        if got != x.expected {
            return Err(format!(
                "{}: outcome {got}, expected {}",
                x.name, x.expected
            ));
        }
        let mut entry = json!({
            "name": x.name,
            "about": x.about,
            "request": {
                "public_key": if x.key_file.is_empty() { json!(x.key) } else { json!(null) },
                "public_key_file": if x.key_file.is_empty() { json!(null) } else { json!(format!("keys/{}", x.key_file)) },
                "logins": x.logins,
                "host_groups": x.groups,
                "grant_id": hex(&gid),
                "serial": ser,
                "nonce": hex(&non),
                "not_before": VECTOR_NOW,
                "ttl_secs": x.ttl,
                "force_command": x.fc,
                "source_address": x.sa,
                "extensions": x.ext,
            },
            "limits": {
                "max_ttl_secs": limits.max_ttl_secs,
                "allowed_extensions": limits.allowed_extensions,
            },
            "expected": x.expected,
        });
        if let Ok(p) = outcome {
            let signed = sign(&p, &ca, x.name).map_err(|e| format!("{}: {e}", x.name))?;
            // ssh-key's own validation as well (signature and window).
            let parsed = Certificate::from_openssh(&signed.openssh).map_err(|e| e.to_string())?;
            let fp = parsed.signature_key().fingerprint(HashAlg::Sha256);
            parsed
                .validate_at(p.valid_after, [&fp])
                .map_err(|e| format!("{}: ssh-key's validation: {e}", x.name))?;
            let file = format!("{}-cert.pub", x.name);
            files.push((format!("ssh/{file}"), format!("{}\n", signed.openssh)));
            entry["certificate"] = json!(file);
            entry["profile"] = json!({
                "type": "user",
                "key_fingerprint": p.key_fingerprint,
                "serial": p.serial,
                "key_id": p.key_id,
                "principals": p.principals,
                "valid_after": p.valid_after,
                "valid_before": p.valid_before,
                "critical_options": {
                    "force-command": p.force_command,
                    "source-address": p.source_address,
                },
                "extensions": p.extensions,
                "ca_fingerprint": signed.ca_fingerprint,
            });
            if first_cert.is_none() {
                first_cert = Some((signed.openssh.clone(), p));
            }
        }
        manifest.push(entry);
    }
    // One certificate with a byte of its signed part flipped, and one with a
    // byte of its signature flipped: both fail the check after signing (and
    // sshd, tests/ci.d/44-ssh-cert.sh).
    let (text, p) = first_cert.ok_or("no valid vector")?;
    let cert = Certificate::from_openssh(&text).map_err(|e| e.to_string())?;
    let bytes = cert.to_bytes().map_err(|e| e.to_string())?;
    for (name, at) in [
        ("90-tampered-signed-part", bytes.len() - 100),
        ("91-tampered-signature", bytes.len() - 1),
    ] {
        let mut b = bytes.clone();
        b[at] ^= 0x01;
        let t = Certificate::from_bytes(&b)
            .and_then(|c| c.to_openssh())
            .map_err(|e| format!("{name}: {e}"))?;
        if check_signed(&t, &p, &ca_pub).is_ok() {
            return Err(format!("{name}: the tampered certificate passes the check"));
        }
        let file = format!("{name}-cert.pub");
        files.push((format!("ssh/{file}"), format!("{t}\n")));
        manifest.push(json!({
            "name": name,
            "about": format!("01's certificate with byte {at} of {} flipped", bytes.len()),
            "certificate": file,
            "expected": "bad_signature",
        }));
    }
    let m = json!({
        "about": "SSH certificate vectors: docs/ssh-cert.md. Generated by `cargo run -p xtask -- gen-vectors`; do not edit.",
        "ca": "ca.pub",
        "ca_seed": "blake3(\"jit-vectors-v1/ssh/ca\")",
        "vectors": manifest,
    });
    let mut readme = String::from(
        "# Golden vectors of the SSH certificate profile\n\n\
         Generated by `cargo run -p xtask -- gen-vectors --out DIR` (code:\n\
         `jit-core/src/ssh_cert/vectors.rs`); do not edit by hand. `tests/ci.d/10-token-vectors.sh`\n\
         regenerates and diffs them and runs `tests/interop/verify_ssh_cert.py` over them (its\n\
         own parser and the `cryptography` package, then `ssh-keygen -L` on every certificate).\n\
         The profile is docs/ssh-cert.md.\n\n\
         - `ca.pub`: the CA's public key (Ed25519, seed `blake3(\"jit-vectors-v1/ssh/ca\")`).\n\
         - `keys/`: the subject keys.\n\
         - `vectors.json`: for each vector the request (key, logins, host groups, grant id,\n\
         serial, nonce, not-before, TTL, force-command, source-address, extensions), the\n\
         policy's limits and the expected outcome: `ok` with the certificate and every field\n\
         of its profile, or the refusal's code (docs/ssh-cert.md, \"Refusals\").\n\
         - `NAME-cert.pub`: the certificate of each accepted request, and two tampered ones.\n\n\
         | vector | expected | what it is |\n|---|---|---|\n",
    );
    for e in &manifest {
        readme.push_str(&format!(
            "| `{}` | `{}` | {} |\n",
            e["name"].as_str().unwrap_or(""),
            e["expected"].as_str().unwrap_or(""),
            e["about"].as_str().unwrap_or("")
        ));
    }
    files.push(("ssh/README.md".into(), readme));
    let mut text = serde_json::to_string_pretty(&m).map_err(|e| e.to_string())?;
    text.push('\n');
    files.push(("ssh/vectors.json".into(), text));
    Ok(files)
}
