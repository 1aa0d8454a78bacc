//! Writer behaviour: chain, seal, state, recovery, rotation, modes.

use jit_core::log::verify::{self, Class, Kind, Options, Outcome, SealKey};
use jit_core::log::{append, Event, EventKind, LogConfig, LogError};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn cfg(dir: &Path) -> LogConfig {
    let mut c = LogConfig::new("test-host");
    c.log_path = dir.join("log/audit.log");
    c.state_path = dir.join("lib/log.state");
    c.seal_key_export = dir.join("lib/seal-key.initial");
    c.syslog = false;
    c
}

fn ev(i: u32) -> Event {
    let mut e = Event::new(EventKind::Decision);
    e.user = Some("alice".into());
    e.run_as_user = Some("root".into());
    e.command_path = Some("/usr/bin/systemctl".into());
    e.argv = Some(vec![
        "systemctl".into(),
        "restart".into(),
        format!("svc{i}"),
    ]);
    e.allowed = Some(i % 3 != 0);
    e.reason_code = Some(if i % 3 == 0 {
        "no_token".into()
    } else {
        "token_ok".into()
    });
    e.pid = Some(1000 + i);
    e
}

fn check(c: &LogConfig, files: &[PathBuf]) -> verify::Report {
    let opts = Options {
        seal_key: Some(SealKey::read(&c.seal_key_export).unwrap()),
        state: Some(verify::read_state(&c.state_path).unwrap()),
        ..Default::default()
    };
    verify::verify_files(files, &opts).unwrap()
}

fn lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn creates_chain_with_modes_and_verifies() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    for i in 0..20 {
        let a = append(&c, &ev(i)).unwrap();
        assert_eq!(a.seq, u64::from(i) + 1);
        assert_eq!(a.hash.len(), 64);
    }
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&c.log_path), 0o600);
    assert_eq!(mode(&c.state_path), 0o600);
    assert_eq!(mode(&c.seal_key_export), 0o400);
    assert_eq!(mode(&c.lock_path()), 0o600);
    assert_eq!(mode(c.log_path.parent().unwrap()), 0o700);
    assert_eq!(mode(c.state_path.parent().unwrap()), 0o700);
    let l = lines(&c.log_path);
    assert_eq!(l.len(), 21);
    assert_eq!(l[0]["kind"], "start");
    assert_eq!(l[0]["prev"], "0".repeat(64));
    assert_eq!(l[1]["prev"], l[0]["hash"]);
    assert_eq!(l[20]["seq"], 20);
    let r = check(&c, std::slice::from_ref(&c.log_path));
    assert_eq!(r.outcome, Outcome::Intact, "{:?}", r.findings);
    assert!(r.forward_integrity_checked && r.state_checked);
    assert_eq!(r.records, 21);
}

#[test]
fn state_key_is_overwritten_each_record() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev(1)).unwrap();
    let s1 = verify::read_state(&c.state_path).unwrap();
    append(&c, &ev(2)).unwrap();
    let raw = std::fs::read(&c.state_path).unwrap();
    let s2 = verify::read_state(&c.state_path).unwrap();
    assert_ne!(s1.key, s2.key);
    // The older key is no longer anywhere in the file.
    assert!(!raw.windows(32).any(|w| w == s1.key));
}

#[test]
fn state_missing_with_records_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev(1)).unwrap();
    std::fs::remove_file(&c.state_path).unwrap();
    let before = std::fs::read(&c.log_path).unwrap();
    let e = append(&c, &ev(2)).unwrap_err();
    assert!(matches!(e, LogError::StateMissing { .. }), "{e}");
    assert!(e.to_string().contains("move it aside"));
    assert_eq!(std::fs::read(&c.log_path).unwrap(), before);
}

#[test]
fn uncollected_export_blocks_a_new_log() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev(1)).unwrap();
    std::fs::remove_file(&c.state_path).unwrap();
    std::fs::remove_file(&c.log_path).unwrap();
    let e = append(&c, &ev(2)).unwrap_err();
    assert!(matches!(e, LogError::ExportExists { .. }), "{e}");
    std::fs::remove_file(&c.seal_key_export).unwrap();
    assert_eq!(append(&c, &ev(2)).unwrap().seq, 1);
}

fn found(c: &LogConfig) -> Vec<String> {
    lines(&c.log_path)
        .iter()
        .filter(|l| l["kind"] == "recovery")
        .map(|l| l["found"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn torn_tail_is_cut_with_a_recovery_record() {
    for junk in [
        &b"{\"v\":1,\"seq\":9,\"ti"[..],
        &[0u8; 300][..],
        &b"{\"v\":1,\"seq\":4\0\0\0\0"[..],
    ] {
        let d = tempfile::tempdir().unwrap();
        let c = cfg(d.path());
        for i in 0..3 {
            append(&c, &ev(i)).unwrap();
        }
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&c.log_path)
            .unwrap();
        std::io::Write::write_all(&mut f, junk).unwrap();
        let r = check(&c, std::slice::from_ref(&c.log_path));
        assert_eq!(r.outcome, Outcome::TornTail, "{:?}", r.findings);
        assert!(r
            .findings
            .iter()
            .any(|f| f.kind == Kind::TornTail && f.class == Class::Torn));
        let a = append(&c, &ev(9)).unwrap();
        assert_eq!(a.repaired, vec![(4, "recovery".to_string())]);
        assert_eq!(found(&c), vec!["torn_tail"]);
        let l = lines(&c.log_path);
        let rec = &l[4];
        assert_eq!(rec["discarded_bytes"], junk.len());
        assert_eq!(
            rec["discarded_blake3"],
            blake3::hash(junk).to_hex().as_str()
        );
        let r = check(&c, std::slice::from_ref(&c.log_path));
        assert_eq!(r.outcome, Outcome::Intact, "{:?}", r.findings);
        assert!(r.findings.iter().any(|f| f.kind == Kind::Recovery));
    }
}

/// Records 1 and 2 appended, then the state put back to before record 2: a
/// writer stopped between record 2 and its state update.
fn lose_last_state_update(c: &LogConfig) {
    append(c, &ev(1)).unwrap();
    let old = std::fs::read(&c.state_path).unwrap();
    append(c, &ev(2)).unwrap();
    std::fs::write(&c.state_path, old).unwrap();
}

#[test]
fn state_one_step_behind_is_adopted_with_a_recovery_record() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    lose_last_state_update(&c);
    let r = check(&c, std::slice::from_ref(&c.log_path));
    assert_eq!(r.outcome, Outcome::TornTail, "{:?}", r.findings);
    assert!(r.findings.iter().any(|f| f.kind == Kind::StateBehind));
    let a = append(&c, &ev(3)).unwrap();
    assert_eq!(a.seq, 4);
    assert_eq!(found(&c), vec!["state_behind"]);
    let r = check(&c, std::slice::from_ref(&c.log_path));
    assert_eq!(r.outcome, Outcome::Intact, "{:?}", r.findings);
}

#[test]
fn state_behind_and_torn_tail_together() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    lose_last_state_update(&c);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&c.log_path)
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"v\":1,\"s").unwrap();
    append(&c, &ev(3)).unwrap();
    assert_eq!(found(&c), vec!["state_behind", "torn_tail"]);
    assert_eq!(
        check(&c, std::slice::from_ref(&c.log_path)).outcome,
        Outcome::Intact
    );
}

/// A state any number of records behind the log (the state on disk older
/// than the log after a power cut): every record after it is checked, seal
/// included, adopted, and named in one recovery record.
#[test]
fn state_many_steps_behind_is_adopted_with_a_recovery_record() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev(1)).unwrap();
    let old = std::fs::read(&c.state_path).unwrap();
    for i in 2..40 {
        append(&c, &ev(i)).unwrap();
    }
    std::fs::write(&c.state_path, &old).unwrap();
    let a = append(&c, &ev(40)).unwrap();
    assert_eq!(a.seq, 41);
    assert_eq!(found(&c), vec!["state_behind"]);
    let l = lines(&c.log_path);
    assert!(
        l[40]["message"]
            .as_str()
            .unwrap()
            .contains("records 2 to 39"),
        "{}",
        l[40]["message"]
    );
    let r = check(&c, std::slice::from_ref(&c.log_path));
    assert_eq!(r.outcome, Outcome::Intact, "{:?}", r.findings);
}

/// Behind, but a record after the state head does not verify while later
/// ones do: not what a crash leaves. Refused.
#[test]
fn state_behind_with_a_damaged_record_after_it_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev(1)).unwrap();
    let old = std::fs::read(&c.state_path).unwrap();
    append(&c, &ev(2)).unwrap();
    append(&c, &ev(3)).unwrap();
    std::fs::write(&c.state_path, &old).unwrap();
    // Re-seal record 2 with a wrong key: hash still right, seal not.
    let mut text = std::fs::read(&c.log_path).unwrap();
    let start: usize = text
        .split_inclusive(|&b| b == b'\n')
        .take(2)
        .map(<[u8]>::len)
        .sum();
    let end = start + text[start..].iter().position(|&b| b == b'\n').unwrap();
    text[end - 3] = if text[end - 3] == b'0' { b'1' } else { b'0' };
    std::fs::write(&c.log_path, &text).unwrap();
    let e = append(&c, &ev(4)).unwrap_err();
    assert!(matches!(e, LogError::Mismatch { .. }), "{e}");
}

#[test]
fn cut_in_place_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev(1)).unwrap();
    append(&c, &ev(2)).unwrap();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&c.log_path)
        .unwrap();
    f.set_len(0).unwrap(); // what copytruncate does
    let e = append(&c, &ev(3)).unwrap_err();
    assert!(e.to_string().contains("copytruncate"), "{e}");
}

#[test]
fn replaced_log_is_refused_but_moved_back_log_is_accepted() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev(1)).unwrap();
    let content = std::fs::read(&c.log_path).unwrap();
    // same content in a new inode: accepted and recorded
    let tmp = d.path().join("log/tmp");
    std::fs::write(&tmp, &content).unwrap();
    std::fs::rename(&tmp, &c.log_path).unwrap();
    append(&c, &ev(2)).unwrap();
    assert_eq!(found(&c), vec!["log_moved"]);
    // other content in a new inode: refused
    let mut other = content.clone();
    other.truncate(content.iter().position(|&b| b == b'\n').unwrap() + 1);
    std::fs::write(&tmp, &other).unwrap();
    std::fs::rename(&tmp, &c.log_path).unwrap();
    assert!(matches!(
        append(&c, &ev(3)).unwrap_err(),
        LogError::Mismatch { .. }
    ));
}

/// A writer stopped between a record and its state update, then a rotation
/// before the next append: the next segment forks the chain at that seq. The
/// verifier reports the crash (torn class), not tampering.
#[test]
fn crash_before_rotation_forks_at_the_segment_boundary() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    lose_last_state_update(&c);
    let seg1 = d.path().join("log/audit.log.1");
    std::fs::rename(&c.log_path, &seg1).unwrap();
    let a = append(&c, &ev(3)).unwrap();
    assert_eq!(a.repaired, vec![(2, "continue".to_string())]);
    assert_eq!(a.seq, 3);
    let (l1, l2) = (lines(&seg1), lines(&c.log_path));
    assert_eq!(
        (l1[2]["seq"].as_u64(), l2[0]["seq"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(l2[0]["prev"], l1[1]["hash"]);
    let files = [seg1.clone(), c.log_path.clone()];
    let r = check(&c, &files);
    assert_eq!(r.outcome, Outcome::TornTail, "{:?}", r.findings);
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert_eq!(
        (r.findings[0].kind, r.findings[0].class, r.findings[0].seq),
        (Kind::RotationFork, Class::Torn, Some(2))
    );
    assert_eq!(r.records, 5);
    // Later appends and rotations go on from the continue record.
    append(&c, &ev(4)).unwrap();
    let seg2 = d.path().join("log/audit.log.2");
    std::fs::rename(&c.log_path, &seg2).unwrap();
    append(&c, &ev(5)).unwrap();
    let r = check(&c, &[seg1.clone(), seg2.clone(), c.log_path.clone()]);
    assert_eq!(r.outcome, Outcome::TornTail, "{:?}", r.findings);
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    // Without the orphan's segment, or with the segments out of order, it is tampering.
    assert_eq!(
        check(&c, &[seg2.clone(), seg1.clone()]).outcome,
        Outcome::Tampered
    );
    assert_eq!(
        check(&c, &[seg1, c.log_path.clone(), seg2]).outcome,
        Outcome::Tampered
    );
}

#[test]
fn rotation_links_segments_with_a_continue_record() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev(1)).unwrap();
    let seg1 = d.path().join("log/audit.log.1");
    std::fs::rename(&c.log_path, &seg1).unwrap();
    let a = append(&c, &ev(2)).unwrap();
    assert_eq!(a.repaired, vec![(2, "continue".to_string())]);
    let seg2 = d.path().join("log/audit.log.2");
    std::fs::rename(&c.log_path, &seg2).unwrap();
    // logrotate `create`: an empty file appears before the next append. Until
    // then the log is intact (the empty last segment is a note), with the
    // state too; an empty segment anywhere else, or alone, is not.
    std::fs::write(&c.log_path, b"").unwrap();
    let r = check(&c, &[seg1.clone(), seg2.clone(), c.log_path.clone()]);
    assert_eq!(r.outcome, Outcome::Intact, "{:?}", r.findings);
    assert!(r
        .findings
        .iter()
        .any(|f| f.kind == Kind::Empty && f.class == Class::Note));
    let r = check(&c, &[seg1.clone(), c.log_path.clone(), seg2.clone()]);
    assert_eq!(r.outcome, Outcome::Tampered);
    let r = check(&c, std::slice::from_ref(&c.log_path));
    assert_eq!(r.outcome, Outcome::Tampered);
    append(&c, &ev(3)).unwrap();
    let l = lines(&c.log_path);
    assert_eq!(l[0]["kind"], "continue");
    assert_eq!(l[0]["log_id"], lines(&seg1)[0]["log_id"]);
    let files = vec![seg1.clone(), seg2.clone(), c.log_path.clone()];
    let r = check(&c, &files);
    assert_eq!(r.outcome, Outcome::Intact, "{:?}", r.findings);
    assert_eq!(r.records, 6);
    // a missing middle segment
    let r = check(&c, &[seg1.clone(), c.log_path.clone()]);
    assert_eq!(r.outcome, Outcome::Tampered);
    assert!(
        r.findings.iter().any(|f| f.kind == Kind::SeqGap),
        "{:?}",
        r.findings
    );
    // reordered segments
    let r = check(&c, &[seg2.clone(), seg1.clone(), c.log_path.clone()]);
    assert_eq!(r.outcome, Outcome::Tampered);
}

#[test]
fn long_fields_are_truncated_and_line_stays_bounded() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    let mut e = ev(1);
    e.argv = Some((0..100_000).map(|i| format!("a{i}")).collect());
    e.message = Some("\u{7}".repeat(100_000));
    e.command_path = Some("/".repeat(100_000));
    append(&c, &e).unwrap();
    let text = std::fs::read_to_string(&c.log_path).unwrap();
    let last = text.lines().last().unwrap();
    assert!(last.len() < jit_core::log::record::MAX_LINE);
    let v: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(v["argv_truncated"]["argc"], 100_000);
    assert!(v["message"].as_str().unwrap().ends_with("[truncated]"));
    assert_eq!(
        check(&c, std::slice::from_ref(&c.log_path)).outcome,
        Outcome::Intact
    );
}

#[test]
fn replaced_lock_file_does_not_split_writers() {
    // After the lock file is replaced the next writer locks the new one; appends still chain.
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev(1)).unwrap();
    std::fs::remove_file(c.lock_path()).unwrap();
    append(&c, &ev(2)).unwrap();
    assert_eq!(
        check(&c, std::slice::from_ref(&c.log_path)).outcome,
        Outcome::Intact
    );
}

#[test]
fn symlinked_log_or_state_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev(1)).unwrap();
    let target = d.path().join("elsewhere");
    std::fs::write(&target, b"").unwrap();
    let moved = d.path().join("log/audit.log.real");
    std::fs::rename(&c.log_path, &moved).unwrap();
    std::os::unix::fs::symlink(&target, &c.log_path).unwrap();
    let e = append(&c, &ev(2)).unwrap_err();
    assert!(matches!(e, LogError::Io { .. }), "{e}");
    assert_eq!(std::fs::read(&target).unwrap(), b"");
    std::fs::remove_file(&c.log_path).unwrap();
    std::fs::rename(&moved, &c.log_path).unwrap();
    let st = d.path().join("lib/log.state.real");
    std::fs::rename(&c.state_path, &st).unwrap();
    std::os::unix::fs::symlink(&st, &c.state_path).unwrap();
    assert!(append(&c, &ev(3)).is_err());
}

#[test]
fn a_record_of_escaped_bytes_stays_within_the_line_limit() {
    // Each string member is capped, but a control character takes 6 bytes
    // once JSON-escaped: with raw-byte caps, every member full of them made a
    // 100 KB line, reported as tampered, and every later append failed.
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path());
    append(&c, &ev(1)).unwrap();
    let s = "\u{1}".repeat(1024);
    let mut e = ev(2);
    for f in [
        &mut e.user,
        &mut e.run_as_user,
        &mut e.run_as_group,
        &mut e.tty,
        &mut e.token_id,
        &mut e.issuer,
        &mut e.kid,
        &mut e.token_reason,
        &mut e.ticket,
        &mut e.approver,
        &mut e.reason_code,
        &mut e.message,
    ] {
        *f = Some(s.clone());
    }
    e.command_path = Some("\u{1}".repeat(4000));
    e.argv = Some(vec!["\u{1}".repeat(20_000), "\"\\".repeat(5000)]);
    append(&c, &e).unwrap();
    append(&c, &ev(3)).unwrap();
    let text = std::fs::read_to_string(&c.log_path).unwrap();
    let longest = text.lines().map(str::len).max().unwrap();
    assert!(longest <= jit_core::log::record::MAX_LINE, "{longest}");
    assert_eq!(
        check(&c, std::slice::from_ref(&c.log_path)).outcome,
        Outcome::Intact
    );
}

#[test]
fn the_mirror_sends_each_record_whole_and_break_glass_at_emerg() {
    use jit_core::log::syslog::{parse_mirror_line, MirrorRecord, MESSAGE_MAX};
    use std::os::unix::net::UnixDatagram;
    let d = tempfile::tempdir().unwrap();
    let mut c = cfg(d.path());
    c.syslog = true;
    c.syslog_socket = d.path().join("log.sock");
    let rx = UnixDatagram::bind(&c.syslog_socket).unwrap();
    let mut hostile = ev(1);
    hostile.user = Some("x jit-log v1 log=00 seq=1 rec={}\n<0>\u{7f}é".into());
    let mut bg = ev(2);
    bg.break_glass = true;
    let mut long = ev(4);
    long.argv = Some(vec!["x".repeat(MESSAGE_MAX)]);
    for e in [&ev(0), &hostile, &bg, &long] {
        let a = append(&c, e).unwrap();
        assert_eq!(a.mirror_error, None);
    }
    let log = std::fs::read(&c.log_path).unwrap();
    let lines: Vec<&[u8]> = log.split_inclusive(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), 5); // start + 4
    let mut buf = vec![0u8; 1 << 17];
    for (i, line) in lines.iter().enumerate() {
        let n = rx.recv(&mut buf).unwrap();
        let sent = &buf[..n];
        let m = parse_mirror_line(sent).unwrap().unwrap();
        assert_eq!(m.seq, i as u64);
        let body = &line[..line.len() - 1];
        match i {
            // The break-glass decision: emerg (priority 80), alerted.
            3 => {
                assert!(sent.starts_with(b"<80>"));
                assert!(m.break_glass);
            }
            _ => assert!(sent.starts_with(b"<86>")),
        }
        if i == 4 {
            assert_eq!(m.record, MirrorRecord::Omitted(body.len()));
        } else {
            assert_eq!(m.record, MirrorRecord::Whole(body.to_vec()), "seq {i}");
        }
        // One line: no raw newline reaches syslog; the DEL in the hostile
        // user name sends that record as base64.
        assert!(!sent.contains(&b'\n'));
        let b64 = sent.windows(7).any(|w| w == b" rec64=");
        assert_eq!(b64, i == 2, "seq {i}");
    }
}
