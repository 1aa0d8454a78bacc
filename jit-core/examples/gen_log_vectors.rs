//! Writes the golden log vectors of docs/vectors/log/ (deterministic: fixed key, ids, times).
//!
//! cargo run -p jit-core --example gen_log_vectors -- [OUT_DIR]   (default docs/vectors/log)

use jit_core::log::record::{self, hex, EventKind, GrantRec, Record, RevokedToken, Watermark};
use jit_core::log::state::State;
use jit_core::log::verify::{self, Options, SealKey};
use jit_core::log::Chain;
use std::borrow::Cow;
use std::path::{Path, PathBuf};

const K0: [u8; 32] = *b"jit golden vector seal key k0 v1";
const LOG_ID: [u8; 16] = *b"jit-vectors-log1";

fn rec(kind: EventKind, i: u64) -> Record<'static> {
    let mut r = Record::new(kind);
    r.time = Cow::Owned(format!(
        "2026-11-19T14:{:02}:{:02}.{:06}Z",
        10 + i,
        i * 7 % 60,
        i * 1001
    ));
    r.host = "db-01".into();
    match kind {
        EventKind::Start | EventKind::Continue => {
            r.log_id = Some(hex(&LOG_ID).into());
            r.key_id = Some(record::key_id(&K0).into());
        }
        EventKind::SessionClose => {
            r.user = Some("alice".into());
            r.pid = Some(4242);
            r.session_secs = Some(93.25);
        }
        _ => {
            r.user = Some(if i % 2 == 0 { "alice" } else { "bob" }.into());
            r.run_as_user = Some("root".into());
            r.tty = Some("/dev/pts/3".into());
            r.command = Some("/usr/bin/systemctl".into());
            r.argv = Some(vec![
                "systemctl".into(),
                "restart".into(),
                format!("app{i}").into(),
            ]);
            r.token_id = Some(format!("tok-{i:04}").into());
            r.issuer = Some("jit-signer@ops".into());
            r.kid = Some("k2026".into());
            r.token_reason = Some("deploy \"hotfix\" ✓".into());
            r.ticket = Some("OPS-1234".into());
            r.approver = Some("carol".into());
            r.allowed = Some(i % 3 != 0);
            r.reason_code = Some(
                if i % 3 != 0 {
                    "token_ok"
                } else {
                    "command_not_granted"
                }
                .into(),
            );
            r.pid = Some(4000 + i as u32);
        }
    }
    r
}

/// Ledger records (docs/log-format.md, "The issuance ledger"): same key and
/// log id as the host-log vectors so one seal key export serves both.
fn ledger_rec(kind: EventKind, i: u64) -> Record<'static> {
    let mut r = rec(EventKind::Start, i);
    r.kind = kind;
    r.host = "signer-1".into();
    if matches!(kind, EventKind::Start) {
        return r;
    }
    r.log_id = None;
    r.key_id = None;
    let base = 1_795_000_000 + i as i64 * 100;
    match kind {
        EventKind::Issued => {
            r.user = Some(if i % 2 == 0 { "alice" } else { "bob" }.into());
            r.token_id = Some(format!("{:032x}", 0xa000 + i).into());
            r.issuer = Some("ops".into());
            r.kid = Some("k2026".into());
            r.token_reason = Some("deploy \"hotfix\" ✓".into());
            r.ticket = Some("OPS-1234".into());
            r.approver = Some("carol".into());
            r.break_glass = (i == 4).then_some(true);
            r.host_groups = Some(vec!["db".into(), "web".into()]);
            r.grants = Some(vec![
                GrantRec {
                    argv: vec!["/usr/bin/systemctl".into(), "restart".into(), "a b".into()],
                    any_args: false,
                },
                GrantRec {
                    argv: vec!["/usr/bin/journalctl".into(), "-u".into(), "app".into()],
                    any_args: true,
                },
            ]);
            r.run_as = Some(vec!["root".into()]);
            r.shell = (i == 4).then_some(true);
            r.iat = Some(base);
            r.nbf = Some(base);
            r.exp = Some(base + 3600);
            r.max_uses = Some(3);
            r.requester = Some("alice".into());
            r.rule = Some("db-ops".into());
        }
        EventKind::Refused => {
            r.user = Some("bob".into());
            r.kid = Some("k2026".into());
            r.reason_code = Some("ttl_out_of_range".into());
            r.message = Some("--ttl must be between 1 min and 24 h (got 25h)".into());
            r.host_groups = Some(vec!["db".into()]);
            r.rule = Some("max-ttl".into());
        }
        _ => {
            r.kid = Some("k2026".into());
            r.requester = Some("carol".into());
            r.token_reason = Some("laptop lost".into());
            r.revocation_version = Some(2);
            r.revoked_tokens = Some(vec![RevokedToken {
                token_id: format!("{:032x}", 0xa001),
                exp: 1_795_000_100 + 3600,
            }]);
            r.revoked_users = Some(vec!["mallory".into()]);
            r.watermarks = Some(vec![Watermark {
                user: "bob".into(),
                before: base,
            }]);
        }
    }
    r
}

struct Out {
    dir: PathBuf,
    cases: Vec<serde_json::Value>,
}

impl Out {
    fn file(&self, name: &str, b: &[u8]) {
        std::fs::write(self.dir.join(name), b).expect("write vector");
    }
    /// Run the verifier now and record the outcome it must keep giving.
    fn case(&mut self, name: &str, files: &[&str], key: bool, state: Option<&str>, why: &str) {
        let paths: Vec<PathBuf> = files.iter().map(|f| self.dir.join(f)).collect();
        let opts = Options {
            seal_key: key.then(|| SealKey::from_parts(LOG_ID, K0)),
            state: state.map(|s| verify::read_state(&self.dir.join(s)).expect("state")),
            ..Default::default()
        };
        let r = verify::verify_files(&paths, &opts).expect("verify");
        let kinds: Vec<serde_json::Value> = r
            .findings
            .iter()
            .map(|f| serde_json::json!({"class": f.class, "kind": f.kind, "line": f.line, "seq": f.seq}))
            .collect();
        self.cases.push(serde_json::json!({
            "name": name, "files": files, "seal_key": key, "state": state,
            "outcome": r.outcome, "exit_code": r.exit_code, "findings": kinds, "why": why,
        }));
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("docs/vectors/log"), PathBuf::from);
    std::fs::create_dir_all(&dir).expect("create out dir");
    let mut o = Out {
        dir: dir.clone(),
        cases: Vec::new(),
    };
    o.file(
        "seal-key.initial",
        SealKey::export_text(&LOG_ID, &K0).as_bytes(),
    );

    let kinds = [
        EventKind::Start,
        EventKind::Decision,
        EventKind::Decision,
        EventKind::SessionOpen,
        EventKind::SessionClose,
        EventKind::Decision,
        EventKind::Decision,
        EventKind::Decision,
    ];
    let mut c = Chain::genesis(&K0);
    let lines: Vec<Vec<u8>> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| c.seal_next(&mut rec(*k, i as u64)).expect("encode"))
        .collect();
    let n = lines.len() as u64;
    let mut k = K0;
    for _ in 0..n {
        k = record::evolve(&k);
    }
    // The writer state after record `seq` of a log of `size` bytes. The key
    // id is repeated as in the `start` record; device and inode name a file
    // on a host, which a vector has not (0; the verifier does not check them).
    let state = |seq: u64, head: [u8; 32], key: [u8; 32], size: usize| {
        let s = State {
            seq,
            head,
            key,
            log_id: LOG_ID,
            dev: 0,
            ino: 0,
            size: size as u64,
            key_id: record::unhex::<16>(record::key_id(&K0).as_bytes()).expect("key id"),
        };
        let mut b = vec![0u8; 512];
        let at = (seq % 2) as usize * 256;
        b[at..at + 256].copy_from_slice(&s.encode());
        b
    };
    o.file("intact.log", &lines.concat());
    o.file(
        "intact.state",
        &state(n - 1, c.head(), k, lines.iter().map(Vec::len).sum()),
    );
    o.case(
        "intact",
        &["intact.log"],
        true,
        Some("intact.state"),
        "untouched log, key and state",
    );
    o.case(
        "intact-no-key",
        &["intact.log"],
        false,
        None,
        "plain chain only: forward integrity not checked",
    );

    let mut l = lines.clone();
    let at = l[2]
        .windows(7)
        .position(|w| w == b"\"alice\"")
        .expect("user in record 2")
        + 1;
    l[2][at] ^= 0x02; // alice -> clice
    o.file("bitflip.log", &l.concat());
    o.case(
        "bitflip",
        &["bitflip.log"],
        false,
        None,
        "one bit of record 2 flipped (alice -> clice)",
    );

    let mut l = lines.clone();
    l.remove(4);
    o.file("deleted.log", &l.concat());
    o.case(
        "deleted-middle",
        &["deleted.log"],
        false,
        None,
        "record 4 removed",
    );

    let mut l = lines.clone();
    l.swap(5, 6);
    o.file("swapped.log", &l.concat());
    o.case(
        "swapped",
        &["swapped.log"],
        false,
        None,
        "records 5 and 6 swapped",
    );

    let l = &lines[..n as usize - 2];
    o.file("truncated.log", &l.concat());
    o.case(
        "truncated-no-state",
        &["truncated.log"],
        true,
        None,
        "last two records cut: invisible without an anchor",
    );
    o.case(
        "truncated-with-state",
        &["truncated.log"],
        true,
        Some("intact.state"),
        "the state proves the cut",
    );

    let resealed: Vec<u8> = lines
        .iter()
        .flat_map(|l| {
            let f = record::frame(l).expect("frame");
            let mut v = l[..l.len() - 67].to_vec();
            v.extend_from_slice(hex(&record::seal(&k, &f.hash)).as_bytes());
            v.extend_from_slice(b"\"}\n");
            v
        })
        .collect();
    o.file("resealed.log", &resealed);
    o.case(
        "resealed-no-key",
        &["resealed.log"],
        false,
        None,
        "seals re-made with the current key: plain chain passes",
    );
    o.case(
        "resealed",
        &["resealed.log"],
        true,
        None,
        "seals re-made with the current key",
    );

    let whole = lines.concat();
    let last = lines[n as usize - 1].len();
    let mut torn = whole[..whole.len() - last].to_vec();
    torn.extend_from_slice(&lines[n as usize - 1][..60]);
    torn.extend_from_slice(&[0u8; 64]);
    o.file("torn.log", &torn);
    o.case(
        "torn",
        &["torn.log"],
        true,
        None,
        "crash: partial, zero-filled last record",
    );

    // The last record without its newline: the writer writes both in one
    // write() and the kernel tears only at page boundaries (this one ends
    // elsewhere), so no crash leaves it. Not a record for query / stats.
    o.file("unterminated.log", &whole[..whole.len() - 1]);
    o.case(
        "unterminated",
        &["unterminated.log"],
        true,
        None,
        "the last record's newline removed: appended or altered, not a crash",
    );

    let mut other = Chain::genesis(&[9u8; 32]);
    let rewritten: Vec<u8> = kinds
        .iter()
        .enumerate()
        .flat_map(|(i, kd)| {
            let mut r = rec(*kd, i as u64);
            r.user = r.user.map(|_| "mallory".into());
            other.seal_next(&mut r).expect("encode")
        })
        .collect();
    o.file("rewritten.log", &rewritten);
    o.case(
        "rewritten-no-key",
        &["rewritten.log"],
        false,
        None,
        "whole file rewritten with a recomputed chain",
    );
    o.case(
        "rewritten",
        &["rewritten.log"],
        true,
        None,
        "whole file rewritten: no seal verifies",
    );

    // A writer stopped between record 5 and its state update, then a
    // rotation: the next segment's continue record repeats seq 5 and links to
    // record 4 (docs/log-format.md, "Rotation"). Cutting back one record
    // further is tampering.
    let fork_from = |at: usize| {
        let prev = record::frame(&lines[at - 1]).expect("frame").hash;
        let mut k = K0;
        for _ in 0..at {
            k = record::evolve(&k);
        }
        let mut fc = Chain::resume(at as u64 - 1, prev, k);
        let mut seg = vec![fc
            .seal_next(&mut rec(EventKind::Continue, 8))
            .expect("encode")];
        for i in 9..11 {
            seg.push(
                fc.seal_next(&mut rec(EventKind::Decision, i))
                    .expect("encode"),
            );
        }
        seg.concat()
    };
    o.file("fork-1.log", &lines[..6].concat());
    o.file("fork-2.log", &fork_from(5));
    o.case(
        "rotation-fork",
        &["fork-1.log", "fork-2.log"],
        true,
        None,
        "crash between record 5 and its state update, then a rotation: the next segment forks at seq 5",
    );
    o.case(
        "rotation-fork-no-key",
        &["fork-1.log", "fork-2.log"],
        false,
        None,
        "the same fork without the seal key: cannot be told from a record appended to the rotated segment",
    );
    o.file("fork-deep-2.log", &fork_from(4));
    o.case(
        "rotation-fork-deeper",
        &["fork-1.log", "fork-deep-2.log"],
        true,
        None,
        "the next segment goes back two records: record 5's successor is missing",
    );

    // The issuance ledger: a log of the same format with the ledger kinds.
    let lkinds = [
        EventKind::Start,
        EventKind::Issued,
        EventKind::Refused,
        EventKind::Revoked,
        EventKind::Issued,
    ];
    let mut lc = Chain::genesis(&K0);
    let llines: Vec<Vec<u8>> = lkinds
        .iter()
        .enumerate()
        .map(|(i, k)| lc.seal_next(&mut ledger_rec(*k, i as u64)).expect("encode"))
        .collect();
    o.file("ledger.log", &llines.concat());
    o.case(
        "ledger-intact",
        &["ledger.log"],
        true,
        None,
        "issuance ledger: start, issued, refused, revoked, issued (break-glass)",
    );
    let mut l = llines.clone();
    let at = l[1]
        .windows(7)
        .position(|w| w == b"\"alice\"")
        .expect("user in ledger record 1")
        + 1;
    l[1][at] ^= 0x02;
    o.file("ledger-bitflip.log", &l.concat());
    o.case(
        "ledger-bitflip",
        &["ledger-bitflip.log"],
        false,
        None,
        "one bit of the issued record 1 flipped (requester alice -> clice)",
    );

    let mut ex = serde_json::to_string_pretty(&o.cases).expect("json");
    ex.push('\n');
    o.file("expected.json", ex.as_bytes());
    let _ = Path::new("");
    eprintln!("wrote {} cases to {}", o.cases.len(), dir.display());
}
