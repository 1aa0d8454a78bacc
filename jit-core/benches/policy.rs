//! Policy benchmarks: parsing a 50-rule policy file and checking a request
//! that only the last rule covers (the worst case: every rule is tried).

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use jit_core::policy::{Identity, Policy, Request};
use jit_core::token::parse_command;

fn policy_text(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "[[rule]]\nname = \"r{i}\"\nusers = [\"alice\"]\ngroups = [\"ops{i}\"]\n\
             host_groups = [\"web{i}\", \"web-canary\"]\n\
             commands = [\"/usr/bin/systemctl restart svc{i}\", \"/usr/bin/journalctl -u svc{i} ...\"]\n\
             run_as = [\"root\"]\nmax_ttl = \"2h\"\napprovers = [\"bob\"]\n\n"
        ));
    }
    s
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let text = policy_text(50);
    let policy = Policy::parse(&text).expect("bench policy parses");
    let who = Identity {
        name: "alice".into(),
        groups: vec!["alice".into(), "staff".into()],
    };
    let req = Request {
        hosts: vec!["web49".into()],
        cmds: vec![
            parse_command("/usr/bin/systemctl restart svc49").expect("cmd"),
            parse_command("/usr/bin/journalctl -u svc49 -f").expect("cmd"),
        ],
        shell: false,
        run_as: vec!["root".into()],
        run_as_groups: vec![],
        ttl_secs: 3600,
        start_delay_secs: 0,
        max_uses: None,
        break_glass: false,
        ssh: None,
    };
    assert!(policy.check(&who, &req).is_ok());
    c.bench_function("policy_parse_50_rules", |b| {
        b.iter(|| Policy::parse(black_box(&text)))
    });
    c.bench_function("policy_check_last_of_50_rules", |b| {
        b.iter(|| policy.check(black_box(&who), black_box(&req)))
    });
    c.final_summary();
}
