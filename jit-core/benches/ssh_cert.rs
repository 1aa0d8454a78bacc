//! SSH certificate benchmarks (docs/ssh-cert.md; the JIT SSH issue's target:
//! in-process issuance with a key file >= 10,000 certificates/s).
//!
//! One issuance is what `jit-signer issue --ssh-key` does in process: parse
//! the public key, decide the profile, build and sign the certificate, and
//! check it after signing (re-parse, compare, `verify_strict`, ssh-key's own
//! validation). Criterion measures the parts; a final measurement prints the
//! median rate of 5 runs of 2,000 issuances and the token issuance rate of the
//! same run for comparison.

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use jit_core::keys::SigningKeyWithKid;
use jit_core::ssh_cert::{self, Limits, Request, NONCE_LEN};

const KEY: &str = include_str!("../src/ssh_cert/keys/ed25519.pub");
const NOW: i64 = 1_800_000_000;

fn request<'a>(logins: &'a [String], groups: &'a [String], serial: u64) -> Request<'a> {
    Request {
        public_key: KEY,
        logins,
        host_groups: groups,
        grant_id: [3; 16],
        serial,
        nonce: [7; NONCE_LEN],
        not_before: NOW,
        ttl_secs: ssh_cert::DEFAULT_TTL_SECS,
        force_command: Some("/usr/bin/systemctl restart nginx"),
        source_address: None,
        extensions: None,
    }
}

fn issue_one(ca: &SigningKeyWithKid, logins: &[String], groups: &[String], serial: u64) -> String {
    let p =
        ssh_cert::profile(&request(logins, groups, serial), &Limits::default()).expect("profile");
    ssh_cert::sign(&p, ca, "alice").expect("sign").openssh
}

fn rate(n: u32, mut f: impl FnMut(u64)) -> f64 {
    let t = Instant::now();
    for i in 0..n {
        f(u64::from(i) + 1);
    }
    f64::from(n) / t.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let ca = SigningKeyWithKid::from_seed("ssh-ca", &[9; 32]).expect("key");
    let logins = vec!["alice".to_string()];
    let groups = vec!["web".to_string(), "eu-west".to_string()];
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("ssh_cert profile (parse key, decide)", |b| {
        b.iter(|| ssh_cert::profile(black_box(&request(&logins, &groups, 1)), &Limits::default()))
    });
    let p = ssh_cert::profile(&request(&logins, &groups, 1), &Limits::default()).expect("profile");
    c.bench_function("ssh_cert sign + check after signing", |b| {
        b.iter(|| ssh_cert::sign(black_box(&p), &ca, "alice"))
    });
    c.bench_function("ssh_cert issue (profile + sign + check)", |b| {
        b.iter(|| issue_one(&ca, &logins, &groups, black_box(7)))
    });
    c.final_summary();

    let tok_key = SigningKeyWithKid::from_seed("ops", &[5; 32]).expect("key");
    let claims = jit_core::token::Claims {
        iss: "ops".into(),
        sub: "alice".into(),
        iat: NOW,
        nbf: NOW,
        exp: NOW + 3600,
        cti: [3; 16],
        hosts: groups.clone(),
        cmds: vec![
            jit_core::token::parse_command("/usr/bin/systemctl restart nginx").expect("cmd"),
        ],
        run_as: vec!["root".into()],
        run_as_groups: vec![],
        shell: false,
        reason: "INC-4711".into(),
        ticket: None,
        approver: None,
        break_glass: false,
        max_uses: None,
    };
    let (mut certs, mut toks) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        certs.push(rate(2000, |s| {
            black_box(issue_one(&ca, &logins, &groups, s));
        }));
        toks.push(rate(2000, |_| {
            black_box(jit_core::token::issue_b64(&claims, &tok_key).expect("token"));
        }));
    }
    let (c, t) = (median(certs), median(toks));
    println!(
        "in-process SSH certificate issuance (key file): {c:.0} certificates/s (median of 5 x 2000; target >= 10000: {})",
        if c >= 10_000.0 { "met" } else { "NOT met" }
    );
    println!(
        "in-process token issuance, same run: {t:.0} tokens/s (a certificate costs {:.2}x a token)",
        t / c
    );
}
