use super::*;
use crate::keys::SigningKeyWithKid;

pub(super) const ED25519: &str = include_str!("keys/ed25519.pub");
pub(super) const ECDSA256: &str = include_str!("keys/ecdsa256.pub");
pub(super) const ECDSA384: &str = include_str!("keys/ecdsa384.pub");
pub(super) const RSA2048: &str = include_str!("keys/rsa2048.pub");
pub(super) const RSA1024: &str = include_str!("keys/rsa1024.pub");
pub(super) const DSA: &str = include_str!("keys/dsa.pub");
pub(super) const SK_ED25519: &str = include_str!("keys/sk-ed25519.pub");

const NOW: i64 = 1_800_000_000;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

struct R {
    key: &'static str,
    logins: Vec<String>,
    groups: Vec<String>,
    ttl: u64,
    serial: u64,
    fc: Option<&'static str>,
    sa: Option<&'static str>,
    ext: Option<Vec<String>>,
}

fn base() -> R {
    R {
        key: ED25519,
        logins: s(&["alice"]),
        groups: s(&["web"]),
        ttl: DEFAULT_TTL_SECS,
        serial: 42,
        fc: None,
        sa: None,
        ext: None,
    }
}

fn run(r: &R, limits: &Limits) -> Result<CertProfile, Reason> {
    profile(
        &Request {
            public_key: r.key,
            logins: &r.logins,
            host_groups: &r.groups,
            grant_id: [0xab; 16],
            serial: r.serial,
            nonce: [7; NONCE_LEN],
            not_before: NOW,
            ttl_secs: r.ttl,
            force_command: r.fc,
            source_address: r.sa,
            extensions: r.ext.as_deref(),
        },
        limits,
    )
}

fn code(f: impl FnOnce(&mut R)) -> &'static str {
    let mut r = base();
    f(&mut r);
    match run(&r, &Limits::default()) {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

fn ca() -> SigningKeyWithKid {
    SigningKeyWithKid::from_seed("ssh-ca", &[9; 32]).unwrap()
}

#[test]
fn default_profile() {
    let p = run(&base(), &Limits::default()).unwrap();
    assert_eq!(p.principals, s(&["alice@web"]));
    assert_eq!(p.key_id, "ab".repeat(16));
    assert_eq!(p.valid_after, (NOW - 60) as u64);
    assert_eq!(p.valid_before, (NOW + 4 * 3600) as u64);
    assert_eq!(p.extensions, s(&["permit-pty"]));
    assert_eq!(p.force_command, None);
    assert!(p.key_fingerprint.starts_with("SHA256:"));
}

#[test]
fn accepted_key_types() {
    for k in [ED25519, ECDSA256, ECDSA384, RSA2048] {
        assert_eq!(code(|r| r.key = k), "ok", "{k}");
    }
}

#[test]
fn refused_key_types() {
    assert_eq!(code(|r| r.key = DSA), "ssh_key_type_refused");
    assert_eq!(code(|r| r.key = SK_ED25519), "ssh_key_type_refused");
    assert_eq!(code(|r| r.key = RSA1024), "ssh_rsa_key_size");
    assert_eq!(code(|r| r.key = "ssh-ed25519 AAAA"), "ssh_bad_key");
    assert_eq!(code(|r| r.key = ""), "ssh_bad_key");
    // Two lines: the second key would never be looked at.
    let two: &'static str = Box::leak(format!("{ED25519}{ED25519}").into_boxed_str());
    assert_eq!(code(|r| r.key = two), "ssh_bad_key");
    let long: &'static str = Box::leak("a".repeat(MAX_KEY_LINE + 1).into_boxed_str());
    assert_eq!(code(|r| r.key = long), "ssh_bad_key");
}

#[test]
fn a_certificate_is_not_a_key() {
    let p = run(&base(), &Limits::default()).unwrap();
    let cert = sign(&p, &ca(), "c").unwrap().openssh;
    let leaked: &'static str = Box::leak(cert.into_boxed_str());
    assert_eq!(code(|r| r.key = leaked), "ssh_bad_key");
}

#[test]
fn principals_are_never_empty_nor_patterns() {
    assert_eq!(code(|r| r.logins.clear()), "ssh_no_principals");
    assert_eq!(code(|r| r.groups.clear()), "ssh_no_principals");
    for bad in [
        "*",
        "al*",
        "a?",
        "!root",
        "alice,root",
        "",
        "a b",
        "-x",
        "al:ice",
        "é",
    ] {
        assert_eq!(
            code(|r| r.logins = s(&[bad])),
            "ssh_bad_principal",
            "login {bad:?}"
        );
    }
    for bad in ["*", "web@x", "web,db", ""] {
        assert_eq!(
            code(|r| r.groups = s(&[bad])),
            "ssh_bad_principal",
            "group {bad:?}"
        );
    }
    // A login with '@' (SSSD) stays unambiguous: host groups hold no '@'.
    let p = run(
        &R {
            logins: s(&["alice@example.com", "deploy"]),
            groups: s(&["web", "db", "web"]),
            ..base()
        },
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(
        p.principals,
        s(&[
            "alice@example.com@db",
            "alice@example.com@web",
            "deploy@db",
            "deploy@web"
        ])
    );
    let many: Vec<String> = (0..17).map(|i| format!("u{i}")).collect();
    let groups: Vec<String> = (0..16).map(|i| format!("g{i}")).collect();
    assert_eq!(
        code(|r| {
            r.logins = many;
            r.groups = groups
        }),
        "ssh_too_many_principals"
    );
}

#[test]
fn ttl_bounds() {
    assert_eq!(code(|r| r.ttl = 59), "ttl_out_of_range");
    assert_eq!(code(|r| r.ttl = 60), "ok");
    assert_eq!(code(|r| r.ttl = 86_400), "ok");
    assert_eq!(code(|r| r.ttl = 86_401), "ttl_out_of_range");
    assert_eq!(code(|r| r.ttl = u64::MAX), "ttl_out_of_range");
    // The policy's maximum is lower: over it is refused.
    let l = Limits {
        max_ttl_secs: 3600,
        ..Limits::default()
    };
    assert_eq!(
        run(
            &R {
                ttl: 3601,
                ..base()
            },
            &l
        )
        .unwrap_err()
        .code(),
        "ttl_out_of_range"
    );
    // A policy maximum above 24 h does not lift the ceiling.
    let l = Limits {
        max_ttl_secs: u64::MAX,
        ..Limits::default()
    };
    assert_eq!(
        run(
            &R {
                ttl: 86_401,
                ..base()
            },
            &l
        )
        .unwrap_err()
        .code(),
        "ttl_out_of_range"
    );
}

#[test]
fn serial_zero_is_refused() {
    assert_eq!(code(|r| r.serial = 0), "ssh_bad_serial");
}

#[test]
fn force_command_takes_no_forwarding() {
    let all = Limits {
        allowed_extensions: KNOWN_EXTENSIONS.iter().map(|s| s.to_string()).collect(),
        ..Limits::default()
    };
    let fc = |ext: &[&str]| {
        run(
            &R {
                fc: Some("/usr/bin/uptime"),
                ext: Some(s(ext)),
                ..base()
            },
            &all,
        )
        .map(|_| "ok")
        .unwrap_or_else(|e| e.code())
    };
    assert_eq!(fc(&["permit-pty"]), "ok");
    assert_eq!(fc(&[]), "ok");
    for e in NOT_WITH_FORCE_COMMAND {
        assert_eq!(
            fc(&["permit-pty", e]),
            "ssh_forwarding_with_force_command",
            "{e}"
        );
    }
    // Without force-command, the policy may allow them.
    let p = run(
        &R {
            ext: Some(s(&["permit-port-forwarding", "permit-pty"])),
            ..base()
        },
        &all,
    )
    .unwrap();
    assert_eq!(p.extensions, s(&["permit-port-forwarding", "permit-pty"]));
    assert_eq!(code(|r| r.fc = Some("")), "ssh_bad_force_command");
    assert_eq!(
        code(|r| r.fc = Some("/bin/true\n/bin/sh")),
        "ssh_bad_force_command"
    );
}

/// docs/ssh-cert.md §4: `ssh_extension_not_allowed` comes before
/// `ssh_forwarding_with_force_command`, whatever the extensions' names sort
/// as. Here the forwarding extension sorts first and the policy allows it;
/// the one it does not allow sorts after it.
#[test]
fn extension_refusals_in_the_spec_order() {
    let l = Limits {
        allowed_extensions: s(&["permit-port-forwarding", "permit-pty"]),
        ..Limits::default()
    };
    let r = R {
        fc: Some("/usr/bin/uptime"),
        ext: Some(s(&["permit-user-rc", "permit-port-forwarding"])),
        ..base()
    };
    assert_eq!(
        run(&r, &l).unwrap_err(),
        Reason::ExtensionNotAllowed("permit-user-rc".into())
    );
    // Each fault alone gives its own code.
    let r = R {
        ext: Some(s(&["permit-user-rc", "permit-port-forwarding"])),
        ..base()
    };
    assert_eq!(
        run(&r, &l).unwrap_err(),
        Reason::ExtensionNotAllowed("permit-user-rc".into())
    );
    let r = R {
        fc: Some("/usr/bin/uptime"),
        ext: Some(s(&["permit-port-forwarding"])),
        ..base()
    };
    assert_eq!(
        run(&r, &l).unwrap_err(),
        Reason::ForwardingWithForceCommand("permit-port-forwarding".into())
    );
    // And an earlier rule wins over both: source-address before extensions.
    let r = R {
        fc: Some("/usr/bin/uptime"),
        sa: Some("10.0.0.1/8"),
        ext: Some(s(&["permit-user-rc", "permit-port-forwarding"])),
        ..base()
    };
    assert_eq!(run(&r, &l).unwrap_err().code(), "ssh_bad_source_address");
}

#[test]
fn extensions_only_as_the_policy_allows() {
    assert_eq!(
        code(|r| r.ext = Some(s(&["permit-port-forwarding"]))),
        "ssh_extension_not_allowed"
    );
    assert_eq!(
        code(|r| r.ext = Some(s(&["permit-everything"]))),
        "ssh_extension_not_allowed"
    );
    // A policy cannot allow a name OpenSSH does not define.
    let l = Limits {
        allowed_extensions: s(&["no-touch-required"]),
        ..Limits::default()
    };
    assert_eq!(
        run(
            &R {
                ext: Some(s(&["no-touch-required"])),
                ..base()
            },
            &l
        )
        .unwrap_err()
        .code(),
        "ssh_extension_not_allowed"
    );
    assert_eq!(code(|r| r.ext = Some(Vec::new())), "ok");
}

#[test]
fn source_address() {
    for ok in [
        "127.0.0.1",
        "10.0.0.0/8,192.0.2.1/32",
        "::1",
        "2001:db8::/32",
    ] {
        assert_eq!(code(|r| r.sa = Some(ok)), "ok", "{ok}");
    }
    for bad in [
        "",
        "0.0.0.0/0",
        "::/0",
        "10.0.0.0/33",
        "10.0.0.0/08",
        "*",
        "10.0.0.*",
        "a.b",
        "10.0.0.1 ",
        "10.0.0.1,",
        "10.0.0.0/",
    ] {
        assert_eq!(
            code(|r| r.sa = Some(bad)),
            "ssh_bad_source_address",
            "{bad:?}"
        );
    }
}

/// sshd refuses a CIDR block with host bits set (OpenSSH's addr_pton_cidr):
/// the profile refuses it too, and says which network was meant.
#[test]
fn source_address_host_bits() {
    let msg = |sa: &'static str| {
        let r = R {
            sa: Some(sa),
            ..base()
        };
        match run(&r, &Limits::default()) {
            Err(e @ Reason::BadSourceAddress(_)) => e.to_string(),
            other => panic!("{sa}: {other:?}"),
        }
    };
    assert_eq!(
        msg("10.0.0.1/8"),
        "bad source-address: 10.0.0.1/8 has host bits set: use 10.0.0.0/8"
    );
    assert_eq!(
        msg("2001:db8::1/32"),
        "bad source-address: 2001:db8::1/32 has host bits set: use 2001:db8::/32"
    );
    // The faulty entry is named even after good ones.
    assert!(msg("127.0.0.1,192.0.2.128/24")
        .contains("192.0.2.128/24 has host bits set: use 192.0.2.0/24"));
    for bad in [
        "10.0.0.1/8",
        "10.255.255.255/8",
        "192.0.2.1/31",
        "128.0.0.0/0",
        "0.0.0.1/1",
        "2001:db8::1/32",
        "2001:db8::1/127",
        "::1/1",
        "::ffff:10.0.0.1/104",
        "10.0.0.0/8,10.0.0.1/8",
    ] {
        assert_eq!(
            code(|r| r.sa = Some(bad)),
            "ssh_bad_source_address",
            "{bad}"
        );
    }
    // /0 stays refused even with every bit clear; full-width blocks take any
    // address, and a network address is fine at any prefix.
    assert_eq!(code(|r| r.sa = Some("0.0.0.0/0")), "ssh_bad_source_address");
    assert_eq!(code(|r| r.sa = Some("::/0")), "ssh_bad_source_address");
    for ok in [
        "10.0.0.1/32",
        "255.255.255.255/32",
        "2001:db8::1/128",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
        "192.0.2.2/31",
        "128.0.0.0/1",
        "2001:db8::/127",
        "::ffff:10.0.0.0/104",
        "10.0.0.0/8,2001:db8::/32,192.0.2.1",
    ] {
        assert_eq!(code(|r| r.sa = Some(ok)), "ok", "{ok}");
    }
}

#[test]
fn signed_certificate_has_every_field_and_verifies() {
    let mut r = base();
    r.fc = Some("/usr/bin/uptime");
    r.sa = Some("127.0.0.1/32");
    let p = run(&r, &Limits::default()).unwrap();
    let ca = ca();
    let signed = sign(&p, &ca, "alice").unwrap();
    let cert = Certificate::from_openssh(&signed.openssh).unwrap();
    assert_eq!(cert.algorithm(), Algorithm::Ed25519);
    assert_eq!(cert.cert_type(), CertType::User);
    assert_eq!(cert.serial(), 42);
    assert_eq!(cert.key_id(), "ab".repeat(16));
    assert_eq!(cert.valid_principals(), ["alice@web".to_string()]);
    assert_eq!(cert.critical_options().len(), 2);
    assert_eq!(cert.extensions().len(), 1);
    assert!(signed.ca_fingerprint.starts_with("SHA256:"));
    // ssh-key's own validation agrees (signature and window).
    let fp = cert.signature_key().fingerprint(HashAlg::Sha256);
    cert.validate_at(p.valid_after, [&fp]).unwrap();
    assert!(cert.validate_at(p.valid_before + 1, [&fp]).is_err());
    // Deterministic: Ed25519 and a fixed nonce give the same bytes.
    assert_eq!(sign(&p, &ca, "alice").unwrap().openssh, signed.openssh);
}

#[test]
fn tampered_certificate_fails_the_check() {
    let p = run(&base(), &Limits::default()).unwrap();
    let ca = ca();
    let pk = ca.public_key().unwrap();
    let signed = sign(&p, &ca, "c").unwrap();
    check_signed(&signed.openssh, &p, &pk).unwrap();
    let cert = Certificate::from_openssh(&signed.openssh).unwrap();
    let bytes = cert.to_bytes().unwrap();
    // Flip one byte in the signature, then one in the signed part (the
    // last byte of valid_before is in the signed part).
    for at in [bytes.len() - 1, bytes.len() - 200] {
        let mut b = bytes.clone();
        b[at] ^= 1;
        let text = match Certificate::from_bytes(&b).and_then(|c| c.to_openssh()) {
            Ok(t) => t,
            Err(_) => continue,
        };
        assert!(
            check_signed(&text, &p, &pk).is_err(),
            "flip at {at} accepted"
        );
    }
    // Another CA's signature over the same profile.
    let other = SigningKeyWithKid::from_seed("other", &[1; 32]).unwrap();
    let o = sign(&p, &other, "c").unwrap();
    assert!(check_signed(&o.openssh, &p, &pk)
        .unwrap_err()
        .contains("signature key"));
    // A profile that differs from what was signed.
    let mut p2 = p.clone();
    p2.principals = s(&["root@web"]);
    assert!(check_signed(&signed.openssh, &p2, &pk)
        .unwrap_err()
        .contains("principals"));
}

/// A backend that signs with another key than it claims: the certificate
/// is never returned.
#[test]
fn a_lying_backend_yields_no_certificate() {
    struct Lying(SigningKeyWithKid, [u8; 32]);
    impl Signer for Lying {
        fn kid(&self) -> &str {
            "lying"
        }
        fn public_key(&self) -> Result<[u8; 32], SignError> {
            Ok(self.1)
        }
        fn sign(&self, m: &[u8]) -> Result<[u8; 64], SignError> {
            self.0.sign(m)
        }
    }
    let p = run(&base(), &Limits::default()).unwrap();
    let l = Lying(
        SigningKeyWithKid::from_seed("x", &[3; 32]).unwrap(),
        ca().public_key().unwrap(),
    );
    assert!(sign(&p, &l, "c").is_err());
}

#[test]
fn cert_path_is_beside_the_key() {
    use std::path::Path;
    assert_eq!(
        cert_path_for(Path::new("/h/.ssh/id_ed25519.pub")),
        Path::new("/h/.ssh/id_ed25519-cert.pub")
    );
    assert_eq!(cert_path_for(Path::new("key")), Path::new("key-cert.pub"));
}

#[test]
fn ca_public_line_is_openssh() {
    let l = ca_public_line(&ca().public_key().unwrap(), "jit-ssh-ca");
    assert!(l.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"));
    assert!(l.ends_with(" jit-ssh-ca"));
}

#[test]
fn every_reason_has_a_distinct_code() {
    let all = [
        Reason::BadPublicKey(String::new()),
        Reason::KeyTypeRefused(String::new()),
        Reason::RsaKeySize(0),
        Reason::NoPrincipals,
        Reason::BadPrincipal(String::new()),
        Reason::TooManyPrincipals(0),
        Reason::TtlOutOfRange(0),
        Reason::BadWindow,
        Reason::BadForceCommand(String::new()),
        Reason::BadSourceAddress(String::new()),
        Reason::ExtensionNotAllowed(String::new()),
        Reason::ForwardingWithForceCommand(String::new()),
        Reason::BadSerial,
    ];
    let mut codes: Vec<&str> = all.iter().map(Reason::code).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), all.len());
}

#[test]
fn golden_vectors_generate() {
    let files = vectors::generate().unwrap();
    assert!(files.len() > 10);
}

#[test]
fn every_code_is_in_the_spec() {
    let spec = include_str!("../../../docs/ssh-cert.md");
    for c in [
        Reason::BadPublicKey(String::new()),
        Reason::KeyTypeRefused(String::new()),
        Reason::RsaKeySize(0),
        Reason::NoPrincipals,
        Reason::BadPrincipal(String::new()),
        Reason::TooManyPrincipals(0),
        Reason::TtlOutOfRange(0),
        Reason::BadWindow,
        Reason::BadForceCommand(String::new()),
        Reason::BadSourceAddress(String::new()),
        Reason::ExtensionNotAllowed(String::new()),
        Reason::ForwardingWithForceCommand(String::new()),
        Reason::BadSerial,
    ] {
        assert!(
            spec.contains(&format!("| `{}` |", c.code())),
            "docs/ssh-cert.md §4 lacks {}",
            c.code()
        );
    }
}

/// The fuzz target's entry point over its seeds and a few odd inputs: it
/// must not panic (an accepted request always signs and passes its check).
#[test]
fn fuzz_entry_point_on_seeds() {
    for k in [
        ED25519, ECDSA256, ECDSA384, RSA2048, RSA1024, DSA, SK_ED25519,
    ] {
        fuzz_request(format!("{}alice deploy\nweb db\n\n\ndefault\n14400\n7\n", k).as_bytes());
        fuzz_request(
            format!(
                "{}alice\nweb\n/usr/bin/uptime\n127.0.0.1/32\npermit-pty\n60\n1\n",
                k
            )
            .as_bytes(),
        );
    }
    for odd in [
        &b""[..],
        b"\n\n\n\n\n\n\n",
        b"\xff\xfe",
        b"ssh-ed25519 AAAA\n*\n*\n",
    ] {
        fuzz_request(odd);
    }
}

/// `RSA2048` with its exponent replaced by `e` (an mpint's bytes as given,
/// so a redundant leading zero can be written).
pub(crate) fn rsa_with_e(e: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let blob = b64
        .decode(RSA2048.split_whitespace().nth(1).unwrap())
        .unwrap();
    let field = |at: usize| {
        let n = u32::from_be_bytes(blob[at..at + 4].try_into().unwrap()) as usize;
        (at + 4, at + 4 + n)
    };
    let (_, ty_end) = field(0);
    let (_, e_end) = field(ty_end);
    let mut out = blob[..ty_end].to_vec();
    out.extend_from_slice(&(e.len() as u32).to_be_bytes());
    out.extend_from_slice(e);
    out.extend_from_slice(&blob[e_end..]);
    format!("ssh-rsa {} weak\n", b64.encode(out))
}

#[test]
fn rsa_exponents_that_forge_are_refused() {
    // e = 1: anyone could forge the key's signatures; e even: no RSA key.
    for e in [&[1u8][..], &[2], &[0x01, 0x00, 0x00]] {
        let k: &'static str = Box::leak(rsa_with_e(e).into_boxed_str());
        assert_eq!(code(|r| r.key = k), "ssh_bad_key", "{e:?}");
    }
    let k: &'static str = Box::leak(rsa_with_e(&[3]).into_boxed_str());
    assert_eq!(code(|r| r.key = k), "ok");
}
