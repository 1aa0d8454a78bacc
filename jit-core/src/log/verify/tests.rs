//! The batch pipeline of [`verify_files`]: wherever the batch and read
//! boundaries fall (mid-line, at an oversized line, before a torn tail), the
//! report is the same, line for line.

use super::*;
use crate::log::record::Record;
use crate::log::Chain;
use std::borrow::Cow;

const K0: [u8; 32] = [0x42; 32];
const LOG_ID: [u8; 16] = [0x17; 16];

fn lines(n: u64) -> (Vec<Vec<u8>>, Chain) {
    let mut c = Chain::genesis(&K0);
    let mut out = Vec::new();
    for i in 0..n {
        let kind = if i == 0 {
            EventKind::Start
        } else {
            EventKind::Decision
        };
        let mut r = Record::new(kind);
        r.time = Cow::Owned(format!(
            "2026-11-19T14:{:02}:{:02}.000000Z",
            i / 3600,
            i / 60 % 60
        ));
        r.host = "db-01".into();
        if i == 0 {
            r.log_id = Some(hex(&LOG_ID).into());
            r.key_id = Some(record::key_id(&K0).into());
        } else {
            r.user = Some("alice".into());
            r.command = Some("/usr/bin/id".into());
            r.argv = Some(vec!["id".into(), "x".repeat((i % 97) as usize).into()]);
            r.allowed = Some(true);
            // Every 250th is a break-glass use, to be listed for review.
            r.break_glass = (i % 250 == 0).then_some(true);
        }
        out.push(c.seal_next(&mut r).unwrap());
    }
    (out, c)
}

/// The report of `bytes` as one segment, at every batch size; asserts they
/// are all the same and returns it.
fn same_at_every_batch_size(bytes: &[u8]) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.log");
    std::fs::write(&p, bytes).unwrap();
    let opts = Options {
        seal_key: Some(SealKey::from_parts(LOG_ID, K0)),
        ..Default::default()
    };
    let reference = verify_in_batches(std::slice::from_ref(&p), &opts, BATCH_BYTES).unwrap();
    let want = format!("{reference:?}");
    for batch in [1, 700, 4096, 65_537, 300_001] {
        let r = verify_in_batches(std::slice::from_ref(&p), &opts, batch).unwrap();
        assert_eq!(format!("{r:?}"), want, "batch of {batch} bytes");
    }
    reference
}

#[test]
fn intact_log_at_every_batch_size() {
    let (l, _) = lines(3000);
    let r = same_at_every_batch_size(&l.concat());
    assert_eq!(r.outcome, Outcome::Intact, "{:#?}", r.findings);
    assert_eq!(
        (r.records, r.first_seq, r.last_seq),
        (3000, Some(0), Some(2999))
    );
    let seqs: Vec<u64> = r.review.iter().map(|i| i.seq).collect();
    assert_eq!(seqs, (250..3000).step_by(250).collect::<Vec<_>>());
    assert!(r.review.iter().all(|i| i.line == i.seq + 1));
}

#[test]
fn damage_is_found_at_the_same_lines_at_every_batch_size() {
    let (mut l, _) = lines(3000);
    l[2500][40] ^= 1; // altered
    l.swap(1500, 1501); // reordered
    l.remove(1000); // deleted
    let dup = l[2000].clone();
    l.insert(2001, dup); // replayed
                         // A line longer than any record, and one of exactly the limit.
    l.insert(700, [vec![b'x'; 3 * MAX_LINE], vec![b'\n']].concat());
    l.insert(300, [vec![b'y'; MAX_LINE - 1], vec![b'\n']].concat());
    let r = same_at_every_batch_size(&l.concat());
    assert_eq!(r.outcome, Outcome::Tampered);
    let at = |k: Kind| -> Vec<u64> {
        r.findings
            .iter()
            .filter(|f| f.kind == k)
            .map(|f| f.line)
            .collect()
    };
    assert_eq!(at(Kind::Oversized), vec![702]);
    assert_eq!(at(Kind::Malformed), vec![301]);
    // Line numbers count the two lines inserted before them.
    assert_eq!(at(Kind::SeqGap), vec![1003, 1502]);
    assert_eq!(at(Kind::SeqOrder), vec![1503]);
    assert_eq!(at(Kind::SeqRepeat), vec![2004]);
    assert_eq!(at(Kind::BadHash), vec![2503]);
    assert_eq!(r.records, 3000);
}

#[test]
fn torn_tails_at_every_batch_size() {
    let (l, _) = lines(2000);
    let all = l.concat();
    // A torn last record, cut at several points.
    // (Cut by one, only its newline is gone: that is no crash, tested in log_tamper.)
    for cut in [2, 100, l[1999].len() - 1] {
        let r = same_at_every_batch_size(&all[..all.len() - cut]);
        assert_eq!(r.outcome, Outcome::TornTail, "cut {cut}: {:#?}", r.findings);
        assert_eq!(r.records, 1999);
    }
    // Unterminated data longer than any record is not a torn record.
    let long = [&all[..], &vec![b'z'; MAX_LINE + 10][..]].concat();
    let r = same_at_every_batch_size(&long);
    assert_eq!(r.outcome, Outcome::Tampered);
    assert_eq!(r.records, 2000);
    assert!(r.findings.iter().any(|f| f.kind == Kind::Oversized));
}

#[test]
fn empty_and_single_line_segments() {
    let r = same_at_every_batch_size(b"");
    assert_eq!(r.outcome, Outcome::Tampered);
    let (l, _) = lines(1);
    let r = same_at_every_batch_size(&l[0]);
    assert_eq!((r.outcome, r.records), (Outcome::Intact, 1));
}

/// Issue 18 item 6, defect 2: `--lock` waits like a writer (bounded,
/// continuing a stopped holder), never forever.
#[test]
fn lock_wait_is_bounded() {
    let (l, _) = lines(3);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.log");
    let all = l.concat();
    std::fs::write(&p, &all[..all.len() - 10]).unwrap();
    let lock = dir.path().join("log.state.lock");
    let held = crate::fs::lock_file(&lock).unwrap();
    let opts = Options {
        lock: Some(lock.clone()),
        lock_wait: Some(std::time::Duration::from_millis(200)),
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let e = verify_files(std::slice::from_ref(&p), &opts).unwrap_err();
    assert!(matches!(e, VerifyError::Lock { .. }), "{e:?}");
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    drop(held);
    // Free: it reads on; the tail is still partial, so torn.
    let r = verify_files(&[p], &opts).unwrap();
    assert_eq!(r.outcome, Outcome::TornTail, "{:#?}", r.findings);
}

/// A stopped writer holding the lock is continued, as by a writer.
#[test]
fn lock_wait_continues_a_stopped_holder() {
    use std::process::Command;
    let (l, _) = lines(3);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.log");
    let all = l.concat();
    std::fs::write(&p, &all[..all.len() - 10]).unwrap();
    let lock = dir.path().join("log.state.lock");
    std::fs::write(&lock, b"").unwrap();
    // flock(1) takes the lock and runs sh, which stops flock (the holder)
    // and exits: flock only releases the lock once someone continues it.
    let Ok(mut child) = Command::new("flock")
        .arg(&lock)
        .args(["sh", "-c", "sleep 0.3; kill -STOP $PPID"])
        .spawn()
    else {
        return; // no flock(1) here
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    let opts = Options {
        lock: Some(lock),
        lock_wait: Some(std::time::Duration::from_secs(8)),
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let r = verify_files(&[p], &opts);
    let waited = t.elapsed();
    let mut exited = None;
    for _ in 0..200 {
        exited = child.try_wait().unwrap();
        if exited.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    if exited.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(r.is_ok(), "{r:?}");
    assert!(
        exited.is_some_and(|s| s.success()),
        "the stopped holder was not continued"
    );
    assert!(waited < std::time::Duration::from_secs(5), "{waited:?}");
}
