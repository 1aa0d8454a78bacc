//! Revocation list cost per sudo decision: verifying the host's list (text →
//! decode → verify_strict) for lists of 10, 1,000 and 10,000 revoked token
//! ids, next to a bare `verify_strict` of a token-sized message; and the
//! lookup of a token in a verified list.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion};
use ed25519_dalek::Signer as _;
use jit_core::keys::{SigningKeyWithKid, TrustedKeys};
use jit_core::revocation::{self, RevocationList};

const NOW: i64 = 1_800_000_000;

fn list(n: u32) -> RevocationList {
    let mut l = RevocationList {
        iss: "ops".into(),
        iat: NOW,
        version: 42,
        ..Default::default()
    };
    for i in 0..n {
        let mut c = [7u8; 16];
        c[..4].copy_from_slice(&i.to_be_bytes());
        l.tokens.insert(c, NOW + 3600);
    }
    for u in ["mallory", "eve", "trent"] {
        l.users.insert(u.into());
    }
    l.watermarks.insert("alice".into(), NOW - 60);
    l
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let key = SigningKeyWithKid::from_seed("ops", &[9; 32]).expect("key");
    let mut keys = TrustedKeys::default();
    keys.insert(key.trusted_key());
    let msg = vec![0x5a; 400];
    let sig = key.signing_key().sign(&msg);
    c.bench_function("revocation/bare_verify_strict_400B", |b| {
        b.iter(|| {
            key.verifying_key()
                .verify_strict(black_box(&msg), black_box(&sig))
                .expect("verifies")
        })
    });
    let mut g = c.benchmark_group("revocation/verify_text");
    for n in [10u32, 1_000, 10_000] {
        let l = list(n);
        let text = revocation::encode_text(&revocation::sign(&l, &key).expect("sign"));
        g.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, t| {
            b.iter(|| revocation::verify_text(black_box(t), &keys, NOW).expect("valid"))
        });
    }
    g.finish();
    let l = list(10_000);
    c.bench_function("revocation/is_revoked_10000", |b| {
        b.iter(|| black_box(&l).is_revoked(black_box(&[1; 16]), black_box("alice"), NOW))
    });
    c.final_summary();
}
