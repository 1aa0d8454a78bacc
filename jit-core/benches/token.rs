//! Token benchmarks (issue 2 targets):
//! - verify + policy decision of a typical token vs a bare `verify_strict` of
//!   the same signed bytes, same run: target ratio <= 1.3;
//! - in-process issuance: target >= 20,000 tokens/s.
//!
//! Criterion measures each case; a final interleaved measurement prints the
//! ratio and the issuance rate explicitly.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use ed25519_dalek::Signature;
use jit_core::invocation::{Action, Invocation};
use jit_core::keys::{SigningKeyWithKid, TrustedKeys};
use jit_core::token::{self, Claims, Grant, VerifyOptions};

const NOW: i64 = 1_800_000_000;

struct Fixture {
    key: SigningKeyWithKid,
    keys: TrustedKeys,
    claims: Claims,
    token: String,
    inv: Invocation,
    signed: Vec<u8>,
    sig: Signature,
}

fn fixture() -> Fixture {
    let key = SigningKeyWithKid::from_seed("ops-2026a", &[9; 32]).expect("key");
    let mut keys = TrustedKeys::default();
    keys.insert(key.trusted_key());
    let claims = Claims {
        iss: "ops-2026a".into(),
        sub: "alice".into(),
        iat: NOW - 60,
        nbf: NOW - 60,
        exp: NOW + 3540,
        cti: [3; 16],
        hosts: vec!["web".into(), "eu-west".into()],
        cmds: vec![
            Grant {
                argv: vec![
                    "/usr/bin/systemctl".into(),
                    "restart".into(),
                    "nginx".into(),
                ],
                any_args: false,
            },
            Grant {
                argv: vec!["/usr/bin/journalctl".into(), "-u".into(), "nginx".into()],
                any_args: true,
            },
        ],
        run_as: vec!["root".into()],
        run_as_groups: vec![],
        shell: false,
        reason: "INC-4711 nginx returns 502 after config push".into(),
        ticket: Some("INC-4711".into()),
        approver: Some("bob".into()),
        break_glass: false,
        max_uses: None,
    };
    let raw = token::issue(&claims, &key).expect("issue");
    let d = token::decode(&raw).expect("decode");
    let signed = token::sig_structure(&d.protected, &d.payload);
    let sig = Signature::from_bytes(&d.signature);
    let inv = Invocation {
        user: "alice".into(),
        host_groups: vec!["eu-west".into(), "web".into()],
        action: Action::Exec {
            argv: vec![
                "/usr/bin/journalctl".into(),
                "-u".into(),
                "nginx".into(),
                "-f".into(),
            ],
        },
        run_as_user: "root".into(),
        run_as_group: None,
    };
    let token = token::encode_b64(&raw);
    let f = Fixture {
        key,
        keys,
        claims,
        token,
        inv,
        signed,
        sig,
    };
    assert!(decide(&f), "fixture token must be allowed");
    f
}

fn bare(f: &Fixture) -> bool {
    f.key
        .verifying_key()
        .verify_strict(black_box(&f.signed), black_box(&f.sig))
        .is_ok()
}

fn decide(f: &Fixture) -> bool {
    token::decide(
        black_box(&f.token),
        &f.keys,
        NOW,
        &f.inv,
        &VerifyOptions::default(),
    )
    .allowed
}

fn issue(f: &Fixture) -> usize {
    token::issue(black_box(&f.claims), &f.key)
        .map(|t| t.len())
        .unwrap_or(0)
}

fn per_iter(n: u32, mut g: impl FnMut()) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        g();
    }
    t.elapsed() / n
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let f = fixture();
    let vk = f.key.verifying_key();
    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("token");
        g.bench_function("verify_strict_bare", |b| {
            b.iter(|| {
                vk.verify_strict(black_box(&f.signed), black_box(&f.sig))
                    .is_ok()
            })
        });
        g.bench_function("decide_typical", |b| b.iter(|| decide(&f)));
        g.bench_function("decode_only", |b| {
            b.iter(|| {
                token::decode_b64(black_box(&f.token))
                    .and_then(|r| token::decode(&r))
                    .is_ok()
            })
        });
        g.bench_function("issue", |b| b.iter(|| issue(&f)));
        g.finish();
    }
    c.final_summary();

    // 1. Criterion's own medians for the cases above (best effort: read
    //    from its output directory).
    let est = |name: &str| -> Option<f64> {
        let base = std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
        let p = base
            .join("criterion/token")
            .join(name)
            .join("new/estimates.json");
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
        v["median"]["point_estimate"].as_f64()
    };
    println!();
    if let (Some(b), Some(d), Some(i)) = (
        est("verify_strict_bare"),
        est("decide_typical"),
        est("issue"),
    ) {
        println!("summary from criterion (medians):");
        println!("  bare verify_strict:        {:>8.2} us", b / 1e3);
        println!("  decide (verify + policy):  {:>8.2} us", d / 1e3);
        println!(
            "  ratio decide / bare:       {:>8.3}  (target <= 1.3)",
            d / b
        );
        println!(
            "  issuance:                  {:>8.0} tokens/s  (target >= 20000)",
            1e9 / i
        );
    }

    // 2. Interleaved rounds, so both numbers share the same machine state;
    //    the minimum is the least disturbed by other load on the machine.
    let rounds = 61;
    let n = 100;
    let (mut tb, mut td, mut ti) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        tb.push(per_iter(n, || {
            black_box(bare(&f));
        }));
        td.push(per_iter(n, || {
            black_box(decide(&f));
        }));
        ti.push(per_iter(n, || {
            black_box(issue(&f));
        }));
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let (bmin, dmin, imin) = (
        *tb.iter().min().unwrap_or(&Duration::ZERO),
        *td.iter().min().unwrap_or(&Duration::ZERO),
        *ti.iter().min().unwrap_or(&Duration::ZERO),
    );
    let (b, d, i) = (median(tb), median(td), median(ti));
    let ratio = d.as_secs_f64() / b.as_secs_f64();
    let ratio_min = dmin.as_secs_f64() / bmin.as_secs_f64();
    let rate = 1.0 / i.as_secs_f64();
    println!("summary from {rounds} interleaved rounds of {n} (median / min):");
    println!(
        "  bare verify_strict:        {:>8.2} / {:>8.2} us",
        us(b),
        us(bmin)
    );
    println!(
        "  decide (verify + policy):  {:>8.2} / {:>8.2} us",
        us(d),
        us(dmin)
    );
    println!(
        "  ratio decide / bare:       {ratio:>8.3} / {ratio_min:>8.3}  (target <= 1.3: {})",
        if ratio <= 1.3 { "met" } else { "NOT MET" }
    );
    println!(
        "  issuance:                  {rate:>8.0} / {:>8.0} tokens/s  (target >= 20000: {})",
        1.0 / imin.as_secs_f64(),
        if rate >= 20_000.0 { "met" } else { "NOT MET" }
    );
    println!(
        "  token size:                {} bytes ({} chars)",
        token::decode_b64(&f.token).map(|r| r.len()).unwrap_or(0),
        f.token.len()
    );
}
