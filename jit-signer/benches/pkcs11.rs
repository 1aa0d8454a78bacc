//! Issuance speed with the Ed25519 key in a PKCS#11 token (SoftHSM2) versus
//! a key file, in one process (the session is open and logged in):
//! - `issue/pkcs11_softhsm2`: `token::issue` through the token (C_Sign with
//!   CKM_EDDSA plus the `sign_checked` verification of every signature);
//! - `issue/key_file`: the same claims with an in-process key;
//! - `sign/pkcs11_c_sign`: the bare C_Sign of a token-sized message.
//!
//! A final measurement prints tokens/s for both (median of 5 runs).
//!
//! The per-process cost of the CLI (module load, login) is measured by
//! tests/bench/signer-pkcs11.sh.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use jit_core::keys::{Signer, SigningKeyWithKid};
use jit_core::token::{self, Claims, Grant};

// The backend under test is the binary's own module, compiled in here.
// (Its unit tests are compiled but not run here: harness = false.)
#[allow(dead_code, unused_imports)]
#[path = "../src/pkcs11.rs"]
mod pkcs11;
#[path = "../src/secret_file.rs"]
mod secret_file;

/// What `pkcs11.rs` expects from the binary's root module.
pub struct Fail {
    #[allow(dead_code)]
    code: u8,
    err: anyhow::Error,
}

#[path = "../tests/common/mod.rs"]
mod common;

fn claims(iss: &str) -> Claims {
    Claims {
        iss: iss.into(),
        sub: "alice".into(),
        iat: 1_800_000_000,
        nbf: 1_800_000_000,
        exp: 1_800_001_800,
        cti: [3; 16],
        hosts: vec!["web".into(), "eu-west".into()],
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
        reason: "INC-4711 nginx returns 502 after config push".into(),
        ticket: Some("INC-4711".into()),
        approver: Some("bob".into()),
        break_glass: false,
        max_uses: None,
    }
}

fn rate(n: u32, mut f: impl FnMut()) -> f64 {
    let mut runs: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed()
        })
        .collect();
    runs.sort();
    f64::from(n) / runs[2].as_secs_f64()
}

fn main() {
    let h = common::Hsm::new("bench");
    h.keygen("bench-1");
    // Set before any thread exists: SoftHSM2 reads it in C_Initialize, the
    // backend reads the PIN from the environment.
    std::env::set_var("SOFTHSM2_CONF", &h.conf);
    std::env::set_var(pkcs11::PIN_ENV, common::PIN);
    let hsm = match pkcs11::Pkcs11Signer::open(&h.uri("bench-1"), None) {
        Ok(s) => s,
        Err(f) => panic!("opening the token: {:#}", f.err),
    };
    let file = SigningKeyWithKid::from_seed("bench-f", &[9; 32]).expect("key");
    let c_hsm = claims(hsm.kid());
    let c_file = claims("bench-f");
    let msg = vec![0x5a; 400];

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("issue");
        g.bench_function("pkcs11_softhsm2", |b| {
            b.iter(|| token::issue(black_box(&c_hsm), &hsm).expect("issue"))
        });
        g.bench_function("key_file", |b| {
            b.iter(|| token::issue(black_box(&c_file), &file).expect("issue"))
        });
        g.finish();
    }
    c.bench_function("sign/pkcs11_c_sign", |b| {
        b.iter(|| hsm.sign(black_box(&msg)).expect("sign"))
    });
    c.final_summary();

    let r_hsm = rate(2000, || {
        black_box(token::issue(&c_hsm, &hsm).expect("issue"));
    });
    let r_file = rate(2000, || {
        black_box(token::issue(&c_file, &file).expect("issue"));
    });
    println!(
        "issuance, one process (median of 5 x 2000): SoftHSM2 {r_hsm:.0} tokens/s, key file {r_file:.0} tokens/s ({:.1}x)",
        r_file / r_hsm
    );
}
