//! Every case of shared/notes/audit-log.md, detected and classified (torn != tampered).

use jit_core::log::record::{self, hex, EventKind, Record};
use jit_core::log::state::State;
use jit_core::log::verify::{self, Anchor, Class, Kind, Options, Outcome, Report, SealKey};
use jit_core::log::Chain;
use std::borrow::Cow;
use std::path::{Path, PathBuf};

const K0: [u8; 32] = [0x42; 32];
const LOG_ID: [u8; 16] = [0x17; 16];

fn key_at(i: u64) -> [u8; 32] {
    let mut k = K0;
    for _ in 0..i {
        k = record::evolve(&k);
    }
    k
}

fn rec(kind: EventKind, i: u64) -> Record<'static> {
    let mut r = Record::new(kind);
    r.time = Cow::Owned(format!(
        "2026-11-19T14:{:02}:{:02}.000000Z",
        i / 60 % 60,
        i % 60
    ));
    r.host = "db-01".into();
    if matches!(kind, EventKind::Start | EventKind::Continue) {
        r.log_id = Some(hex(&LOG_ID).into());
        r.key_id = Some(record::key_id(&K0).into());
    } else {
        r.user = Some("alice".into());
        r.command = Some("/usr/bin/id".into());
        r.argv = Some(vec!["id".into(), format!("{i}").into()]);
        r.allowed = Some(true);
    }
    r
}

/// n records: start + decisions; returns lines and the chain (for the state).
fn build(n: u64) -> (Vec<Vec<u8>>, Chain) {
    let mut c = Chain::genesis(&K0);
    let mut out = Vec::new();
    for i in 0..n {
        let mut r = rec(
            if i == 0 {
                EventKind::Start
            } else {
                EventKind::Decision
            },
            i,
        );
        out.push(c.seal_next(&mut r).unwrap());
    }
    (out, c)
}

fn state_for(chain_next: u64, head: [u8; 32]) -> State {
    State {
        seq: chain_next - 1,
        head,
        key: key_at(chain_next),
        log_id: LOG_ID,
        dev: 0,
        ino: 0,
        size: 0,
        key_id: record::unhex::<16>(record::key_id(&K0).as_bytes()).unwrap(),
    }
}

/// `st` with the size the writer records: where its head record ends.
fn sized(mut st: State, size: usize) -> State {
    st.size = size as u64;
    st
}

fn len(p: &Path) -> usize {
    std::fs::metadata(p).unwrap().len() as usize
}

struct Fx {
    _d: tempfile::TempDir,
    dir: PathBuf,
}

impl Fx {
    fn new() -> Self {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().to_path_buf();
        Fx { _d: d, dir }
    }
    fn write(&self, name: &str, lines: &[Vec<u8>]) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, lines.concat()).unwrap();
        p
    }
    fn write_bytes(&self, name: &str, b: &[u8]) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, b).unwrap();
        p
    }
}

fn run(files: &[PathBuf], key: bool, state: Option<State>, syslog: Option<Vec<Anchor>>) -> Report {
    let opts = Options {
        seal_key: key.then(|| SealKey::from_parts(LOG_ID, K0)),
        state,
        syslog,
        ..Default::default()
    };
    verify::verify_files(files, &opts).unwrap()
}

fn has(r: &Report, kind: Kind) -> bool {
    r.findings.iter().any(|f| f.kind == kind)
}

fn tampered(r: &Report, kind: Kind) {
    assert_eq!(r.outcome, Outcome::Tampered, "{:#?}", r.findings);
    assert!(has(r, kind), "expected {kind:?} in {:#?}", r.findings);
}

#[test]
fn intact_log_is_intact_with_and_without_key() {
    let fx = Fx::new();
    let (lines, c) = build(8);
    let p = fx.write("a.log", &lines);
    let r = run(
        std::slice::from_ref(&p),
        true,
        Some(sized(state_for(8, c.head()), len(&p))),
        None,
    );
    assert_eq!(r.outcome, Outcome::Intact, "{:#?}", r.findings);
    assert!(r.findings.is_empty());
    let r = run(&[p], false, None, None);
    assert_eq!(r.outcome, Outcome::Intact);
    assert!(!r.forward_integrity_checked);
}

/// Case 1: every single bit of a middle and of the last record, framing included.
#[test]
fn case01_every_bit_flip_is_tampered() {
    let fx = Fx::new();
    let (lines, c) = build(6);
    for k in [3usize, 5] {
        for byte in 0..lines[k].len() {
            for bit in 0..8 {
                let mut l = lines.clone();
                l[k][byte] ^= 1 << bit;
                let p = fx.write("f.log", &l);
                let r = run(
                    std::slice::from_ref(&p),
                    true,
                    Some(state_for(6, c.head())),
                    None,
                );
                assert_eq!(
                    r.outcome,
                    Outcome::Tampered,
                    "record {k} byte {byte} bit {bit}: {:#?}",
                    r.findings
                );
                // Without the key, everything but the seal digits is still caught.
                let seal_start = lines[k].len() - 67;
                if byte < seal_start || byte == lines[k].len() - 1 || byte >= lines[k].len() - 3 {
                    let r = run(&[p], false, None, None);
                    assert_eq!(
                        r.outcome,
                        Outcome::Tampered,
                        "plain: record {k} byte {byte} bit {bit}"
                    );
                }
            }
        }
    }
}

/// Case 2: deletion at head, middle and tail.
#[test]
fn case02_deletions() {
    let fx = Fx::new();
    let (lines, c) = build(6);
    let mut l = lines.clone();
    l.remove(0);
    tampered(
        &run(&[fx.write("h.log", &l)], false, None, None),
        Kind::SegmentStart,
    );
    let mut l = lines.clone();
    l.remove(3);
    tampered(
        &run(&[fx.write("m.log", &l)], false, None, None),
        Kind::SeqGap,
    );
    // Tail: invisible to the chain alone, caught by the state and by syslog.
    let mut l = lines.clone();
    l.pop();
    let p = fx.write("t.log", &l);
    assert_eq!(
        run(std::slice::from_ref(&p), true, None, None).outcome,
        Outcome::Intact
    );
    tampered(
        &run(
            std::slice::from_ref(&p),
            true,
            Some(state_for(6, c.head())),
            None,
        ),
        Kind::StateMismatch,
    );
    let anchors = vec![Anchor {
        log_id: hex(&LOG_ID),
        seq: 5,
        hash: c.head(),
        line: 1,
        record: None,
    }];
    tampered(
        &run(&[p], false, None, Some(anchors)),
        Kind::SyslogBeyondEnd,
    );
}

/// Case 3: reorder, swap, duplicate, replay.
#[test]
fn case03_reorder_duplicate_replay() {
    let fx = Fx::new();
    let (lines, _) = build(6);
    let mut l = lines.clone();
    l.swap(2, 3);
    tampered(
        &run(&[fx.write("s.log", &l)], false, None, None),
        Kind::SeqOrder,
    );
    let mut l = lines.clone();
    l.insert(3, lines[2].clone());
    tampered(
        &run(&[fx.write("d.log", &l)], false, None, None),
        Kind::SeqRepeat,
    );
    let mut l = lines.clone();
    l.push(lines[1].clone());
    let r = run(&[fx.write("r.log", &l)], false, None, None);
    tampered(&r, Kind::SeqRepeat);
    assert!(r.findings.iter().any(|f| f.detail.contains("exact copy")));
    // reorder beyond the duplicate window
    let (long, _) = build(100);
    let mut l = long.clone();
    let moved = l.remove(3);
    l.push(moved);
    tampered(
        &run(&[fx.write("o.log", &l)], false, None, None),
        Kind::SeqOrder,
    );
}

/// Case 4: a forged record with a correct plain hash (appended, so the plain chain holds).
#[test]
fn case04_forged_record_with_correct_plain_hash() {
    let fx = Fx::new();
    let (mut lines, mut c) = build(5);
    // The forger knows the chain but not k_5: seal with a guess.
    let mut fake = Chain::resume(4, c.head(), [0u8; 32]);
    lines.push(fake.seal_next(&mut rec(EventKind::Decision, 5)).unwrap());
    let p = fx.write("f.log", &lines);
    assert_eq!(
        run(std::slice::from_ref(&p), false, None, None).outcome,
        Outcome::Intact
    );
    tampered(
        &run(std::slice::from_ref(&p), true, None, None),
        Kind::BadSeal,
    );
    let _ = c.seal_next(&mut rec(EventKind::Decision, 5));
}

/// Case 5: the whole file rewritten with a recomputed chain under a new key.
#[test]
fn case05_rewritten_with_recomputed_chain() {
    let fx = Fx::new();
    let mut c = Chain::genesis(&[7u8; 32]);
    let lines: Vec<Vec<u8>> = (0..5)
        .map(|i| {
            let mut r = rec(
                if i == 0 {
                    EventKind::Start
                } else {
                    EventKind::Decision
                },
                i,
            );
            r.user = Some("mallory-was-not-here".into());
            c.seal_next(&mut r).unwrap()
        })
        .collect();
    let p = fx.write("w.log", &lines);
    assert_eq!(
        run(std::slice::from_ref(&p), false, None, None).outcome,
        Outcome::Intact
    );
    let r = run(&[p], true, None, None);
    tampered(&r, Kind::BadSeal);
    assert_eq!(
        r.findings
            .iter()
            .filter(|f| f.kind == Kind::BadSeal)
            .count(),
        5
    );
}

/// Case 6: state deleted, rolled back, out of step.
#[test]
fn case06_state_deleted_rolled_back_out_of_step() {
    let fx = Fx::new();
    let (lines, c) = build(6);
    let p = fx.write("a.log", &lines);
    // deleted: could not check
    assert!(verify::read_state(&fx.dir.join("nope.state")).is_err());
    // rolled back to an earlier head, further than a crash leaves it
    let h2 = record::frame(&lines[2]).unwrap().hash;
    let r = run(std::slice::from_ref(&p), true, Some(state_for(3, h2)), None);
    tampered(&r, Kind::StateMismatch);
    // two behind: a power cut between a written record's state and the next
    // flushed record's state (docs/log-format.md, "Durability"), not tampering
    let h3 = record::frame(&lines[3]).unwrap().hash;
    let r = run(std::slice::from_ref(&p), true, Some(state_for(4, h3)), None);
    assert_eq!(r.outcome, Outcome::TornTail, "{:#?}", r.findings);
    assert!(has(&r, Kind::StateBehind));
    // state claims the right head but carries a key the attacker made up
    let mut st = state_for(6, c.head());
    st.key = [1; 32];
    tampered(
        &run(std::slice::from_ref(&p), true, Some(st), None),
        Kind::StateKey,
    );
    // right head and key, but the key id or the size of another log / file
    // (issue 18 item 6, defect 6)
    let mut st = sized(state_for(6, c.head()), len(&p));
    assert_eq!(
        run(std::slice::from_ref(&p), true, Some(st.clone()), None).outcome,
        Outcome::Intact
    );
    st.key_id = [0; 16];
    tampered(
        &run(std::slice::from_ref(&p), false, Some(st), None),
        Kind::StateMismatch,
    );
    let st = sized(state_for(6, c.head()), len(&p) + 1);
    tampered(
        &run(std::slice::from_ref(&p), false, Some(st), None),
        Kind::StateMismatch,
    );
    // state of another log
    let mut st = state_for(6, c.head());
    st.log_id = [9; 16];
    tampered(
        &run(std::slice::from_ref(&p), true, Some(st), None),
        Kind::StateMismatch,
    );
    // one step behind: a crash, not tampering
    let h4 = record::frame(&lines[4]).unwrap().hash;
    let r = run(std::slice::from_ref(&p), true, Some(state_for(5, h4)), None);
    assert_eq!(r.outcome, Outcome::TornTail, "{:#?}", r.findings);
    assert!(has(&r, Kind::StateBehind));
    // --state alone (issue 18 item 6, defect 4): one or two behind is a crash
    // only if the records after the state's head are sealed with its key.
    for (st, behind) in [(state_for(5, h4), 1), (state_for(4, h3), 2)] {
        let r = run(std::slice::from_ref(&p), false, Some(st.clone()), None);
        assert_eq!(r.outcome, Outcome::TornTail, "{behind}: {:#?}", r.findings);
        assert!(has(&r, Kind::StateBehind));
        let mut forged = st;
        forged.key = [1; 32];
        let r = run(std::slice::from_ref(&p), false, Some(forged), None);
        tampered(&r, Kind::StateKey);
        assert!(!has(&r, Kind::StateBehind), "{:#?}", r.findings);
    }
    // A record appended after the state's head by someone without its key.
    let mut extra = lines.clone();
    let mut r6 = rec(EventKind::Decision, 6);
    extra.push(
        Chain::resume(5, c.head(), [3; 32])
            .seal_next(&mut r6)
            .unwrap(),
    );
    let q = fx.write("b.log", &extra);
    tampered(
        &run(&[q], false, Some(state_for(6, c.head())), None),
        Kind::StateKey,
    );
}

/// Case 7: seals stripped and re-made with the current key.
#[test]
fn case07_resealed_with_current_key() {
    let fx = Fx::new();
    let (lines, _) = build(6);
    let current = key_at(6);
    let resealed: Vec<Vec<u8>> = lines
        .iter()
        .map(|l| {
            let f = record::frame(l).unwrap();
            let mut out = l[..l.len() - 67].to_vec();
            out.extend_from_slice(hex(&record::seal(&current, &f.hash)).as_bytes());
            out.extend_from_slice(b"\"}\n");
            out
        })
        .collect();
    let r = run(&[fx.write("r.log", &resealed)], true, None, None);
    tampered(&r, Kind::BadSeal);
    assert_eq!(
        r.findings
            .iter()
            .filter(|f| f.kind == Kind::BadSeal)
            .count(),
        6
    );
}

/// Case 8: torn and zero-filled tails are "torn", exit 3.
#[test]
fn case08_torn_and_zero_tails() {
    let fx = Fx::new();
    let (lines, c) = build(6);
    let whole = lines.concat();
    let last_len = lines[5].len();
    for tail in [
        lines[5][..40].to_vec(),
        vec![0u8; 512],
        [&lines[5][..100], &[0u8; 200][..]].concat(),
        lines[5][..last_len - 1].iter().map(|_| 0u8).collect(),
    ] {
        let b = [&whole[..whole.len() - last_len], &tail[..]].concat();
        let p = fx.write_bytes("t.log", &b);
        let h4 = record::frame(&lines[4]).unwrap().hash;
        let st = sized(state_for(5, h4), whole.len() - last_len);
        let r = run(std::slice::from_ref(&p), true, Some(st), None);
        assert_eq!(r.outcome, Outcome::TornTail, "{:#?}", r.findings);
        assert!(has(&r, Kind::TornTail));
        assert!(r.findings.iter().all(|f| f.class != Class::Tampered));
        // If the state says record 5 was complete, the cut is tampering.
        let r = run(&[p], true, Some(state_for(6, c.head())), None);
        assert_eq!(r.outcome, Outcome::Tampered);
    }
    // The newline of a complete last record removed: no crash, tampered.
    let p = fx.write_bytes("n.log", &whole[..whole.len() - 1]);
    tampered(&run(&[p], false, None, None), Kind::UnterminatedRecord);
    // A whole record appended without a newline (issue 18 item 6, defect 1):
    // with a hash that verifies or one that does not, it is tampering, and
    // query / stats never list it.
    let mut forged = rec(EventKind::Decision, 6);
    forged.user = Some("mallory".into());
    forged.command = Some("/bin/bash".into());
    forged.time = "2026-10-01T03:00:00.000000Z".into();
    let mut line = Chain::resume(5, c.head(), key_at(6))
        .seal_next(&mut forged)
        .unwrap();
    line.pop();
    let p = fx.write_bytes("f.log", &[&whole[..], &line[..]].concat());
    let r = run(std::slice::from_ref(&p), false, None, None);
    tampered(&r, Kind::UnterminatedRecord);
    assert!(!has(&r, Kind::TornTail), "{:#?}", r.findings);
    let bad_hash = [
        &line[..line.len() - 140],
        &[b'0'; 64][..],
        &line[line.len() - 76..],
    ]
    .concat();
    assert_eq!(bad_hash.len(), line.len());
    let q = fx.write_bytes("g.log", &[&whole[..], &bad_hash[..]].concat());
    tampered(
        &run(std::slice::from_ref(&q), false, None, None),
        Kind::UnterminatedRecord,
    );
    for f in [&p, &q] {
        let mut seqs = Vec::new();
        let bad = jit_core::log::query::for_each_record(std::slice::from_ref(f), |_, _, r| {
            seqs.push(r.seq);
            Ok(())
        })
        .unwrap();
        assert_eq!(seqs, (0..6).collect::<Vec<u64>>());
        assert_eq!(bad, 1);
    }
    // A write torn exactly before the newline can only end at a page
    // boundary: there it is a crash shape (torn, not a record).
    let mut pad = rec(EventKind::Decision, 6);
    let sealed =
        |r: &mut Record<'static>| Chain::resume(5, c.head(), key_at(6)).seal_next(r).unwrap();
    pad.message = Some("x".into());
    let l1 = (whole.len() + sealed(&mut pad.clone()).len() - 1) as u64;
    pad.message = Some("x".repeat(1 + ((4096 - l1 % 4096) % 4096) as usize).into());
    let mut probe = sealed(&mut pad);
    probe.pop();
    let b = [&whole[..], &probe[..]].concat();
    assert_eq!(b.len() % 4096, 0);
    let p = fx.write_bytes("p.log", &b);
    let r = run(std::slice::from_ref(&p), true, None, None);
    assert_eq!(r.outcome, Outcome::TornTail, "{:#?}", r.findings);
    assert_eq!(r.records, 6);
    // One byte more or less, or a hash that does not verify, is tampering.
    let p = fx.write_bytes("p2.log", &[&b[..], b" "].concat());
    assert_eq!(run(&[p], true, None, None).outcome, Outcome::Tampered);
}

/// Case 9: rotated segments missing, renamed (out of order), or from another host's log.
#[test]
fn case09_segments() {
    let fx = Fx::new();
    let mut c = Chain::genesis(&K0);
    let mut segs: Vec<Vec<Vec<u8>>> = vec![Vec::new(), Vec::new(), Vec::new()];
    for i in 0..9u64 {
        let kind = match i {
            0 => EventKind::Start,
            3 | 6 => EventKind::Continue,
            _ => EventKind::Decision,
        };
        segs[(i / 3) as usize].push(c.seal_next(&mut rec(kind, i)).unwrap());
    }
    let p: Vec<PathBuf> = (0..3)
        .map(|i| fx.write(&format!("s{i}"), &segs[i]))
        .collect();
    let st = sized(state_for(9, c.head()), len(&p[2]));
    let r = run(&p, true, Some(st.clone()), None);
    assert_eq!(r.outcome, Outcome::Intact, "{:#?}", r.findings);
    tampered(
        &run(&[p[0].clone(), p[2].clone()], false, None, None),
        Kind::SeqGap,
    );
    tampered(
        &run(
            &[p[1].clone(), p[0].clone(), p[2].clone()],
            false,
            None,
            None,
        ),
        Kind::ChainStartsMid,
    );
    tampered(
        &run(
            &[p[0].clone(), p[2].clone(), p[1].clone()],
            false,
            None,
            None,
        ),
        Kind::SeqOrder,
    );
    // missing first segment: flagged unless --partial
    tampered(
        &run(&[p[1].clone(), p[2].clone()], false, None, None),
        Kind::ChainStartsMid,
    );
    assert_eq!(
        run(&[p[1].clone(), p[2].clone()], true, None, None).outcome,
        Outcome::Tampered
    );
    let partial = verify::verify_files(
        &[p[1].clone(), p[2].clone()],
        &Options {
            seal_key: Some(SealKey::from_parts(LOG_ID, K0)),
            partial: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(partial.outcome, Outcome::Intact, "{:#?}", partial.findings);
    // missing last segment: needs the state
    tampered(
        &run(&[p[0].clone(), p[1].clone()], true, Some(st), None),
        Kind::StateMismatch,
    );
    // a segment of another host's log in the middle
    let other_k0 = [5u8; 32];
    let mut oc = Chain::resume(2, c.head(), other_k0);
    let foreign: Vec<Vec<u8>> = (3..6u64)
        .map(|i| {
            let mut r = rec(
                if i == 3 {
                    EventKind::Continue
                } else {
                    EventKind::Decision
                },
                i,
            );
            if i == 3 {
                r.log_id = Some(hex(&[0x99; 16]).into());
            }
            r.host = "web-07".into();
            oc.seal_next(&mut r).unwrap()
        })
        .collect();
    let fp = fx.write("foreign", &foreign);
    let r = run(&[p[0].clone(), fp], true, None, None);
    tampered(&r, Kind::ForeignLog);
}

/// Case 10: the current file replaced by an unsealed or older-format file.
#[test]
fn case10_downgrade() {
    let fx = Fx::new();
    let (lines, _) = build(3);
    // sudo-style JSON without hash/seal
    let p = fx.write_bytes(
        "u.log",
        b"{\"accept\":{\"submituser\":\"alice\",\"command\":\"/bin/id\"}}\n",
    );
    tampered(&run(&[p], false, None, None), Kind::Malformed);
    // a "v":0 record with a correct hash
    let mut r = rec(EventKind::Start, 0);
    r.v = 0;
    let mut c = Chain::genesis(&K0);
    let l0 = c.seal_next(&mut r).unwrap();
    let p = fx.write("v0.log", &[l0]);
    tampered(&run(&[p], false, None, None), Kind::UnsupportedVersion);
    // records without the seal member
    let stripped: Vec<u8> = lines
        .iter()
        .flat_map(|l| {
            let mut v = l[..l.len() - 78].to_vec();
            v.extend_from_slice(b"}\n");
            v
        })
        .collect();
    let p = fx.write_bytes("ns.log", &stripped);
    tampered(&run(&[p], false, None, None), Kind::Malformed);
}

/// Case 11: cut back to an earlier state and then appended to (by someone without the old keys).
#[test]
fn case11_cut_back_and_appended() {
    let fx = Fx::new();
    let (lines, c) = build(8);
    let mut l = lines[..4].to_vec();
    let h3 = record::frame(&lines[3]).unwrap().hash;
    // The attacker has the current key k_8 only.
    let mut forged = Chain::resume(3, h3, key_at(8));
    for i in 4..8 {
        let mut r = rec(EventKind::Decision, i);
        r.user = Some("someone-else".into());
        l.push(forged.seal_next(&mut r).unwrap());
    }
    let p = fx.write("c.log", &l);
    assert_eq!(
        run(std::slice::from_ref(&p), false, None, None).outcome,
        Outcome::Intact
    );
    let r = run(std::slice::from_ref(&p), true, None, None);
    tampered(&r, Kind::BadSeal);
    assert_eq!(
        r.findings
            .iter()
            .find(|f| f.kind == Kind::BadSeal)
            .unwrap()
            .seq,
        Some(4)
    );
    tampered(
        &run(&[p], false, Some(state_for(8, c.head())), None),
        Kind::StateMismatch,
    );
}

/// Case 12: time going backwards is a warning on an otherwise intact log.
#[test]
fn case12_time_backwards() {
    let fx = Fx::new();
    let mut c = Chain::genesis(&K0);
    let mut l = Vec::new();
    for (i, t) in [5u64, 6, 2, 7].into_iter().enumerate() {
        let mut r = rec(
            if i == 0 {
                EventKind::Start
            } else {
                EventKind::Decision
            },
            t,
        );
        l.push(c.seal_next(&mut r).unwrap());
    }
    let r = run(&[fx.write("t.log", &l)], true, None, None);
    assert_eq!(r.outcome, Outcome::Intact);
    let f = r
        .findings
        .iter()
        .find(|f| f.kind == Kind::TimeBackwards)
        .unwrap();
    assert_eq!((f.class, f.seq), (Class::Warning, Some(2)));
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Case 14: malformed and oversized records (seeded mutation fuzzing): never a panic, never intact.
#[test]
fn case14_malformed_and_oversized() {
    let fx = Fx::new();
    let (lines, c) = build(6);
    let whole = lines.concat();
    let mut rng = Rng(0x9e3779b97f4a7c15);
    for round in 0..1500 {
        let mut b = whole.clone();
        let muts = 1 + rng.below(4);
        for _ in 0..muts {
            let at = rng.below(b.len());
            match rng.below(6) {
                0 => b[at] = rng.next() as u8,
                1 => {
                    b.remove(at);
                }
                2 => b.insert(at, rng.next() as u8),
                3 => {
                    let n = rng.below(300).min(b.len() - at);
                    b.drain(at..at + n);
                }
                4 => {
                    let n = rng.below(200);
                    let src = rng.below(b.len().saturating_sub(n).max(1));
                    let chunk: Vec<u8> = b[src..(src + n).min(b.len())].to_vec();
                    b.splice(at..at, chunk);
                }
                _ => b[at] = b"{}[]\",:\\\n0"[rng.below(10)],
            }
        }
        if b == whole {
            continue;
        }
        // Differential: the positional header reader never disagrees with the full parser.
        for l in b.split_inclusive(|&c| c == b'\n') {
            if let (Some(f), Ok(full)) = (record::frame(l), record::parse(l)) {
                if let Some(h) = record::header(f.body) {
                    assert_eq!(
                        (h.seq, h.time, h.kind, hex(&h.prev)),
                        (
                            full.seq,
                            full.time.as_ref(),
                            full.kind,
                            full.prev.to_string()
                        ),
                        "round {round}"
                    );
                }
            }
        }
        let p = fx.write_bytes("z.log", &b);
        let r = run(&[p], true, Some(state_for(6, c.head())), None);
        assert_ne!(
            r.outcome,
            Outcome::Intact,
            "round {round}: {}",
            String::from_utf8_lossy(&b)
        );
    }
    // an oversized line
    let mut big = b"{\"v\":1,\"seq\":1,\"message\":\"".to_vec();
    big.extend(std::iter::repeat_n(b'a', 200_000));
    big.extend_from_slice(b"\"}\n");
    let p = fx.write_bytes("big.log", &[lines[0].clone(), big].concat());
    tampered(&run(&[p], false, None, None), Kind::Oversized);
    // not JSON at all, binary garbage, empty file
    let p = fx.write_bytes("g.log", &[0xffu8, 0xfe, b'\n', 1, 2, 3, b'\n']);
    assert_eq!(run(&[p], false, None, None).outcome, Outcome::Tampered);
    let p = fx.write_bytes("e.log", b"");
    tampered(&run(&[p], false, None, None), Kind::Empty);
}

/// The syslog anchor catches a rewrite the chain alone cannot.
/// A fork at a segment boundary is a crash leftover (a writer stopped between
/// a record and its state update, then a rotation) only in the one shape the
/// writer leaves behind; every other shape stays tampering.
#[test]
fn case15_rotation_fork() {
    let fx = Fx::new();
    // Segment A: start 0, decisions 1-2, then 3 whose state update was lost.
    let mut c = Chain::genesis(&K0);
    let mut a = Vec::new();
    let mut heads = Vec::new();
    for i in 0..4u64 {
        let kind = if i == 0 {
            EventKind::Start
        } else {
            EventKind::Decision
        };
        a.push(c.seal_next(&mut rec(kind, i)).unwrap());
        heads.push(c.head());
    }
    // A continue record at seq `at` linking to record at-1, sealed with
    // `key`, then two decisions.
    let fork = |at: u64, key: [u8; 32]| {
        let mut c = Chain::resume(at - 1, heads[at as usize - 1], key);
        let mut out = vec![c.seal_next(&mut rec(EventKind::Continue, 10)).unwrap()];
        for i in 0..2 {
            out.push(c.seal_next(&mut rec(EventKind::Decision, 20 + i)).unwrap());
        }
        (out, c.head())
    };
    let pa = fx.write("a", &a);
    let (b, head) = fork(3, key_at(3));
    let pb = fx.write("b", &b);
    let r = run(
        &[pa.clone(), pb.clone()],
        true,
        Some(sized(state_for(6, head), len(&pb))),
        None,
    );
    assert_eq!(r.outcome, Outcome::TornTail, "{:#?}", r.findings);
    assert_eq!(r.findings.len(), 1, "{:#?}", r.findings);
    assert_eq!(r.findings[0].kind, Kind::RotationFork);
    // Without the seal key the shape cannot be told from a record someone
    // appended to a rotated segment that ended normally: tampering.
    tampered(
        &run(&[pa.clone(), pb.clone()], false, None, None),
        Kind::RotationFork,
    );
    let fake = Chain::resume(3, heads[3], [7u8; 32])
        .seal_next(&mut rec(EventKind::Decision, 5))
        .unwrap();
    let cont = Chain::resume(3, heads[3], key_at(4))
        .seal_next(&mut rec(EventKind::Continue, 10))
        .unwrap();
    let forged: Vec<Vec<u8>> = a.iter().cloned().chain([fake]).collect();
    let (pf, pc) = (fx.write("forged", &forged), fx.write("cont", &[cont]));
    let r = run(&[pa.clone(), pc.clone()], true, None, None);
    assert_eq!(r.outcome, Outcome::Intact, "{:#?}", r.findings);
    tampered(
        &run(&[pf.clone(), pc.clone()], false, None, None),
        Kind::RotationFork,
    );
    tampered(&run(&[pf, pc], true, None, None), Kind::BadSeal);
    // Without the orphan it is an ordinary rotation.
    let pa3 = fx.write("a3", &a[..3]);
    let r = run(
        &[pa3, pb.clone()],
        true,
        Some(sized(state_for(6, head), len(&pb))),
        None,
    );
    assert_eq!(r.outcome, Outcome::Intact, "{:#?}", r.findings);
    // Cut back further: the continue repeats seq 2, two records back.
    let (b2, _) = fork(2, key_at(2));
    tampered(
        &run(&[pa.clone(), fx.write("b2", &b2)], true, None, None),
        Kind::SeqRepeat,
    );
    // The same fork inside one segment.
    let one: Vec<Vec<u8>> = a.iter().chain(b.iter()).cloned().collect();
    tampered(
        &run(&[fx.write("one", &one)], true, None, None),
        Kind::SegmentStart,
    );
    // The fork's continue record sealed with a later key (an attacker's
    // current key): the shape matches, the seal does not.
    let (bk, _) = fork(3, key_at(7));
    tampered(
        &run(&[pa.clone(), fx.write("bk", &bk)], true, None, None),
        Kind::BadSeal,
    );
    // A decision instead of a continue record at the boundary.
    let mut cd = Chain::resume(2, heads[2], key_at(3));
    let bd = vec![cd.seal_next(&mut rec(EventKind::Decision, 30)).unwrap()];
    tampered(
        &run(&[pa.clone(), fx.write("bd", &bd)], true, None, None),
        Kind::SegmentStart,
    );
    // The orphan's segment given last: not a fork at a boundary.
    tampered(&run(&[pb, pa], true, None, None), Kind::ChainStartsMid);
}

#[test]
fn syslog_anchor_catches_rewrite_and_ignores_other_logs() {
    let fx = Fx::new();
    let (lines, _) = build(4);
    let text: String = lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_slice(l).unwrap();
            format!(
                "Nov 19 14:00:00 db-01 jit-log[1]: jit-log v1 log={} seq={} hash={} kind=x\nNov 19 other noise\n",
                hex(&LOG_ID),
                v["seq"],
                v["hash"].as_str().unwrap()
            )
        })
        .collect::<String>()
        + &format!("x jit-log v1 log={} seq=99 hash={} kind=x\n", "ab".repeat(16), "00".repeat(32));
    let anchors = verify::parse_syslog(text.as_bytes());
    assert_eq!(anchors.len(), 5);
    let p = fx.write("a.log", &lines);
    let r = run(std::slice::from_ref(&p), false, None, Some(anchors.clone()));
    assert_eq!(r.outcome, Outcome::Intact, "{:#?}", r.findings);
    // rewrite everything from seq 2 with a recomputed plain chain
    let h1 = record::frame(&lines[1]).unwrap().hash;
    let mut f = Chain::resume(1, h1, [0; 32]);
    let mut l = lines[..2].to_vec();
    for i in 2..4 {
        let mut r = rec(EventKind::Decision, i);
        r.user = Some("nobody".into());
        l.push(f.seal_next(&mut r).unwrap());
    }
    let p = fx.write("b.log", &l);
    tampered(&run(&[p], false, None, Some(anchors)), Kind::SyslogMismatch);
}

#[test]
fn whole_mirrored_records_catch_a_changed_seal_without_the_key() {
    let fx = Fx::new();
    let (lines, _) = build(4);
    let log_id = hex(&LOG_ID);
    let text: String = lines
        .iter()
        .map(|l| {
            let f = record::frame(l).unwrap();
            let v: serde_json::Value = serde_json::from_slice(l).unwrap();
            let m = jit_core::log::syslog::Mirror {
                log_id: &log_id,
                seq: v["seq"].as_u64().unwrap(),
                hash: &f.hash,
                kind: EventKind::Decision,
                alert: None,
                record: Some(l),
            };
            format!(
                "2026-12-06T14:00:00+00:00 db-01 jit-log[1]: {}\n",
                jit_core::log::syslog::full_message(&m)
            )
        })
        .collect();
    let anchors = verify::parse_syslog(text.as_bytes());
    assert_eq!(anchors.len(), 4);
    assert!(anchors.iter().all(|a| a.record.is_some()));
    let p = fx.write("a.log", &lines);
    let r = run(std::slice::from_ref(&p), false, None, Some(anchors.clone()));
    assert_eq!(r.outcome, Outcome::Intact, "{:#?}", r.findings);
    assert!(!r.findings.iter().any(|f| f.kind == Kind::SyslogNotMirrored));
    // RELP duplicates (every line twice) but record 1 never arrived: still
    // intact, and the missing line is noted, not hidden by the duplicates.
    let dup: Vec<Anchor> = anchors
        .iter()
        .filter(|a| a.seq != 1)
        .flat_map(|a| [a.clone(), a.clone()])
        .collect();
    let r = run(std::slice::from_ref(&p), false, None, Some(dup));
    assert_eq!(r.outcome, Outcome::Intact, "{:#?}", r.findings);
    assert!(
        r.findings
            .iter()
            .any(|f| f.kind == Kind::SyslogNotMirrored && f.detail.starts_with("1 records")),
        "{:#?}",
        r.findings
    );
    // Record 2's seal changed (the hash kept): without the seal key only the
    // whole copy off the host sees it.
    let mut l = lines.clone();
    let n = l[2].len();
    let c = &mut l[2][n - 4];
    *c = if *c == b'0' { b'1' } else { b'0' };
    let p = fx.write("b.log", &l);
    let r = run(std::slice::from_ref(&p), false, None, None);
    assert_eq!(r.outcome, Outcome::Intact, "{:#?}", r.findings);
    tampered(&run(&[p], false, None, Some(anchors)), Kind::SyslogMismatch);
}

#[test]
fn seal_key_file_roundtrip_and_rejects_garbage() {
    let t = SealKey::export_text(&LOG_ID, &K0);
    assert!(SealKey::parse(&t).is_some());
    assert!(SealKey::parse("jit-log-seal-key v1 log=zz key=00").is_none());
    let fx = Fx::new();
    let p = fx.write_bytes("k", b"hello");
    assert!(matches!(
        SealKey::read(&p),
        Err(verify::VerifyError::BadSealKey { .. })
    ));
    let _ = Path::new("/");
}

/// Issue 18 item 6, defect 5: a seal key with this log's id but another key
/// is said once (`foreign_key`, by key id), not as one `bad_seal` per record.
#[test]
fn wrong_seal_key_with_the_right_log_id_is_said_once() {
    let fx = Fx::new();
    let (lines, _) = build(6);
    let p = fx.write("a.log", &lines);
    let wrong = SealKey::from_parts(LOG_ID, [5; 32]);
    let wrong_id = wrong.key_id();
    let opts = Options {
        seal_key: Some(wrong),
        ..Default::default()
    };
    let r = verify::verify_files(&[p], &opts).unwrap();
    assert_eq!(r.outcome, Outcome::Tampered);
    assert_eq!(r.findings.len(), 1, "{:#?}", r.findings);
    assert_eq!(r.findings[0].kind, Kind::ForeignKey);
    assert!(r.findings[0].detail.contains(&wrong_id));
    assert!(r.findings[0].detail.contains(&record::key_id(&K0)));
    assert!(!r.forward_integrity_checked);
    assert!(!r.findings[0].detail.contains(&hex(&[5; 32])));
}
