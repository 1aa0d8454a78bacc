//! `fleet` over synthetic collector trees: records sealed by the writer's
//! own chain ([`crate::log::Chain`]), mirror lines made by the writer's own
//! formatter ([`crate::log::syslog::full_message`]).

use super::*;
use crate::log::record::{EventKind, Record};
use crate::log::syslog::{full_message, Mirror};
use std::borrow::Cow;

const K0: [u8; 32] = [0x42; 32];

fn id_of(n: u8) -> [u8; 16] {
    [n; 16]
}

/// `n` sealed lines of log `id` on `host`, one a minute from 14:00.
fn lines(id: [u8; 16], host: &str, n: u64, long_at: Option<u64>) -> Vec<Vec<u8>> {
    lines_rotated(id, host, n, long_at, None)
}

/// As [`lines`], record `rotated_at` being the `continue` record a new
/// segment starts with.
fn lines_rotated(
    id: [u8; 16],
    host: &str,
    n: u64,
    long_at: Option<u64>,
    rotated_at: Option<u64>,
) -> Vec<Vec<u8>> {
    lines_with(id, host, n, long_at.as_slice(), rotated_at)
}

/// As [`lines_rotated`], every record in `long` too long for a syslog line.
fn lines_with(
    id: [u8; 16],
    host: &str,
    n: u64,
    long: &[u64],
    rotated_at: Option<u64>,
) -> Vec<Vec<u8>> {
    let mut c = crate::log::Chain::genesis(&K0);
    (0..n)
        .map(|i| {
            let kind = if i == 0 {
                EventKind::Start
            } else if rotated_at == Some(i) {
                EventKind::Continue
            } else {
                EventKind::Decision
            };
            let mut r = Record::new(kind);
            r.time = Cow::Owned(format!(
                "2026-11-19T{:02}:{:02}:00.000000Z",
                14 + i / 60,
                i % 60
            ));
            r.host = host.to_string().into();
            if i == 0 || rotated_at == Some(i) {
                r.log_id = Some(hex(&id).into());
                r.key_id = Some(record::key_id(&K0).into());
            } else {
                r.user = Some("alice".into());
                r.command = Some("/usr/bin/id".into());
                let arg = if long.contains(&i) {
                    "z".repeat(8000)
                } else {
                    format!("{i}")
                };
                r.argv = Some(vec!["id".into(), arg.into()]);
                r.allowed = Some(true);
            }
            c.seal_next(&mut r).unwrap()
        })
        .collect()
}

/// The collector's line for record `line` of log `id`.
fn mirror_of(id: [u8; 16], host: &str, line: &[u8]) -> Vec<u8> {
    let f = record::frame(line).unwrap();
    let hd = record::header(f.body).unwrap();
    let m = full_message(&Mirror {
        log_id: &hex(&id),
        seq: hd.seq,
        hash: &f.hash,
        kind: hd.kind,
        alert: None,
        record: Some(line),
    });
    format!("2026-11-19T14:00:00+00:00 {host} jit-log[42]: {m}\n").into_bytes()
}

struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Self {
        Tree {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn collector(&self, host: &str, id: [u8; 16], mirror_lines: &[Vec<u8>]) -> PathBuf {
        let d = self.dir.path().join("fleet").join(host);
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join(format!("{}.log", hex(&id)));
        std::fs::write(&p, mirror_lines.concat()).unwrap();
        p
    }
    fn host_log(&self, host: &str, lines: &[Vec<u8>]) -> PathBuf {
        let d = self.dir.path().join("hosts").join(host);
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("audit.log");
        std::fs::write(&p, lines.concat()).unwrap();
        p
    }
    fn fleet(&self) -> PathBuf {
        self.dir.path().join("fleet")
    }
}

fn opts() -> Options {
    Options {
        seal_keys: Vec::new(),
        max_silence: None,
        now: 0,
        threads: 2,
        window: WINDOW,
    }
}

fn run(paths: &[PathBuf], o: Options) -> FleetReport {
    check(source::scan(paths).unwrap(), o).unwrap()
}

fn kinds(l: &LogReport) -> Vec<(Class, Kind, Option<u64>)> {
    l.findings
        .iter()
        .map(|f| (f.class, f.kind, f.seq))
        .collect()
}

#[test]
fn many_logs_intact_and_grouped_by_log_id() {
    let t = Tree::new();
    for h in 1..=12u8 {
        let host = format!("web-{h:02}");
        let ls = lines(id_of(h), &host, 30, None);
        let m: Vec<_> = ls.iter().map(|l| mirror_of(id_of(h), &host, l)).collect();
        t.collector(&host, id_of(h), &m);
    }
    let mut o = opts();
    o.seal_keys = vec![SealKey::from_parts(id_of(3), K0)];
    let r = run(&[t.fleet()], o);
    assert_eq!(r.exit_code, 0, "{r:#?}");
    assert_eq!(r.logs.len(), 12);
    for (i, l) in r.logs.iter().enumerate() {
        assert_eq!(l.log_id.as_deref(), Some(hex(&id_of(i as u8 + 1)).as_str()));
        assert_eq!(l.host, format!("web-{:02}", i + 1));
        assert_eq!(
            (l.records, l.first_seq, l.last_seq),
            (30, Some(0), Some(29))
        );
        assert_eq!(l.first_time.as_deref(), Some("2026-11-19T14:00:00.000000Z"));
        assert_eq!(l.last_time.as_deref(), Some("2026-11-19T14:29:00.000000Z"));
        assert!(
            !l.findings.iter().any(|f| f.kind == Kind::ForeignLog),
            "{:?}",
            l.findings
        );
        assert_eq!(l.forward_integrity_checked, i == 2);
    }
    // A key of no log given: could not check (an error).
    let mut o = opts();
    o.seal_keys = vec![SealKey::from_parts(id_of(99), K0)];
    assert!(matches!(
        check(source::scan(&[t.fleet()]).unwrap(), o),
        Err(FleetError::KeyMatchesNoLog(_))
    ));
}

#[test]
fn resends_and_reordering_are_not_tampering() {
    let t = Tree::new();
    let id = id_of(1);
    let ls = lines(id, "db-01", 20, None);
    let mut m: Vec<_> = ls.iter().map(|l| mirror_of(id, "db-01", l)).collect();
    // A RELP resend of 5..=9 after 12, and 14 before 13.
    let resent: Vec<_> = m[5..10].to_vec();
    m.splice(13..13, resent);
    m.swap(18, 19);
    t.collector("db-01", id, &m);
    let mut o = opts();
    o.seal_keys = vec![SealKey::from_parts(id, K0)];
    let r = run(&[t.fleet()], o);
    let l = &r.logs[0];
    assert_eq!(r.exit_code, 0, "{:?}", l.findings);
    assert_eq!((l.records, l.duplicates, l.out_of_order), (20, 5, 1));
    assert!(l.gaps.is_empty());
    assert!(kinds(l).contains(&(Class::Note, Kind::MirrorDuplicate, None)));
}

#[test]
fn a_different_line_for_a_seq_is_tampering() {
    let t = Tree::new();
    let id = id_of(1);
    let ls = lines(id, "db-01", 10, None);
    let mut m: Vec<_> = ls.iter().map(|l| mirror_of(id, "db-01", l)).collect();
    // The same seq 4 from another chain (same position, other content).
    let other = lines(id, "db-02", 10, None);
    m.push(mirror_of(id, "db-01", &other[4]));
    t.collector("db-01", id, &m);
    let r = run(&[t.fleet()], opts());
    assert_eq!(r.exit_code, 1);
    assert!(kinds(&r.logs[0]).contains(&(Class::Tampered, Kind::MirrorConflict, Some(4))));
    // A line whose anchor names another hash than its record.
    let mut bad = m[3].clone();
    let at = memchr::memmem::find(&bad, b"hash=").unwrap() + 5;
    bad[at] = if bad[at] == b'0' { b'1' } else { b'0' };
    let mut m2: Vec<_> = ls.iter().map(|l| mirror_of(id, "db-01", l)).collect();
    m2[3] = bad;
    t.collector("db-01", id, &m2);
    let r = run(&[t.fleet()], opts());
    assert_eq!(r.exit_code, 1);
    assert!(kinds(&r.logs[0]).contains(&(Class::Tampered, Kind::MirrorAnchor, Some(3))));
}

#[test]
fn gaps_with_and_without_the_host_log() {
    let t = Tree::new();
    let id = id_of(1);
    let ls = lines(id, "db-01", 20, None);
    let m: Vec<_> = ls
        .iter()
        .enumerate()
        .filter(|(i, _)| !(7..=9).contains(i))
        .map(|(_, l)| mirror_of(id, "db-01", l))
        .collect();
    t.collector("db-01", id, &m);
    let r = run(&[t.fleet()], opts());
    let l = &r.logs[0];
    assert_eq!(r.exit_code, 4, "{:?}", l.findings);
    assert_eq!(
        l.gaps,
        vec![Gap {
            first: 7,
            last: 9,
            host_has: None
        }]
    );
    assert_eq!(l.records, 17);
    assert!(l.findings.iter().any(|f| f.kind == Kind::MirrorGap
        && f.class == Class::Warning
        && f.detail.contains("missing seq 7..9")));
    // The host's log fills it: intact.
    let host = t.host_log("db-01", &ls);
    let mut o = opts();
    o.seal_keys = vec![SealKey::from_parts(id, K0)];
    let r = run(&[t.fleet(), host.clone()], o);
    let l = &r.logs[0];
    assert_eq!(r.exit_code, 0, "{:?}", l.findings);
    assert_eq!(l.gaps[0].host_has, Some(true));
    assert!(l.host_checked && l.forward_integrity_checked);
    assert_eq!(l.host_segments, vec![host.display().to_string()]);
    // The host's log ends before the gap: it does not have them (and was
    // cut after forwarding).
    t.host_log("db-01", &ls[..5]);
    let r = run(&[t.fleet(), host], opts());
    assert_eq!(r.logs[0].gaps[0].host_has, Some(false));
    assert_eq!(r.exit_code, 1, "{:?}", r.logs[0].findings);
}

#[test]
fn host_log_cut_or_rewritten_after_forwarding_is_tampering() {
    let t = Tree::new();
    let id = id_of(1);
    let ls = lines(id, "db-01", 20, None);
    let m: Vec<_> = ls.iter().map(|l| mirror_of(id, "db-01", l)).collect();
    t.collector("db-01", id, &m);
    // Cut: the host's log ends at 16.
    let host = t.host_log("db-01", &ls[..17]);
    let r = run(&[t.fleet(), host.clone()], opts());
    let l = &r.logs[0];
    assert_eq!(r.exit_code, 1);
    for s in 17..20 {
        assert!(
            l.findings.iter().any(|f| f.kind == Kind::HostCut
                && f.class == Class::Tampered
                && f.seq == Some(s)
                && f.detail.contains("host db-01")),
            "{:?}",
            l.findings
        );
    }
    // Rewritten: record 5 on the host re-chained with other content (a
    // consistent chain without the seal key), the central copy as sent.
    let mut forged = ls.clone();
    let other = lines(id, "db-01", 20, None)
        .into_iter()
        .map(|l| String::from_utf8(l).unwrap())
        .collect::<Vec<_>>();
    forged[5] = other[5].replace("\"5\"", "\"6\"").into_bytes();
    t.host_log("db-01", &forged);
    let r = run(&[t.fleet(), host], opts());
    let l = &r.logs[0];
    assert_eq!(r.exit_code, 1);
    assert!(
        l.findings.iter().any(|f| f.kind == Kind::HostMismatch
            && f.seq == Some(5)
            && f.detail.contains("host db-01")),
        "{:?}",
        l.findings
    );
}

#[test]
fn silent_hosts() {
    let t = Tree::new();
    for (h, n) in [(1u8, 30u64), (2, 10)] {
        let host = format!("db-{h:02}");
        let ls = lines(id_of(h), &host, n, None);
        let m: Vec<_> = ls.iter().map(|l| mirror_of(id_of(h), &host, l)).collect();
        t.collector(&host, id_of(h), &m);
    }
    // db-01's newest is 14:29, db-02's 14:09; now 14:40, 20 minutes allowed.
    let now = crate::text::parse_time("2026-11-19T14:40:00Z").unwrap();
    let mut o = opts();
    o.max_silence = parse_duration("20m");
    o.now = now;
    let r = run(&[t.fleet()], o);
    assert_eq!(r.exit_code, 4);
    assert!(!r.logs[0].silent && r.logs[1].silent);
    assert_eq!(r.logs[1].outcome, Outcome::Attention);
    assert!(r.hosts[1].silent && r.hosts[1].host == "db-02");
    assert!(kinds(&r.logs[1]).contains(&(Class::Warning, Kind::Silent, None)));
    let mut o = opts();
    o.max_silence = parse_duration("1h");
    o.now = now;
    assert_eq!(run(&[t.fleet()], o).exit_code, 0);
}

#[test]
fn records_too_long_for_syslog_are_known_by_hash() {
    let t = Tree::new();
    let id = id_of(1);
    let ls = lines(id, "db-01", 10, Some(4));
    let m: Vec<_> = ls.iter().map(|l| mirror_of(id, "db-01", l)).collect();
    assert!(memchr::memmem::find(&m[4], b"rec-omitted=").is_some());
    t.collector("db-01", id, &m);
    let mut o = opts();
    o.seal_keys = vec![SealKey::from_parts(id, K0)];
    let r = run(&[t.fleet()], o);
    let l = &r.logs[0];
    // The chain goes on through its hash; its content is not checked.
    assert_eq!(l.omitted, vec![4]);
    assert!(
        !l.findings.iter().any(|f| f.class == Class::Tampered),
        "{:?}",
        l.findings
    );
    assert_eq!(r.exit_code, 4);
    let host = t.host_log("db-01", &ls);
    assert_eq!(run(&[t.fleet(), host.clone()], opts()).exit_code, 0);
    // The host rewrote that record: its hash no longer matches the anchor.
    let mut forged = ls.clone();
    let s = String::from_utf8(forged[4].clone()).unwrap();
    forged[4] = s.replacen("zzz", "zzy", 1).into_bytes();
    t.host_log("db-01", &forged);
    let r = run(&[t.fleet(), host], opts());
    assert_eq!(r.exit_code, 1);
}

#[test]
fn lines_far_out_of_place_are_late() {
    let t = Tree::new();
    let id = id_of(1);
    let ls = lines(id, "db-01", 20, None);
    let mut m: Vec<_> = ls.iter().map(|l| mirror_of(id, "db-01", l)).collect();
    let three = m.remove(3);
    m.push(three);
    t.collector("db-01", id, &m);
    let mut o = opts();
    o.window = 4;
    let r = run(&[t.fleet()], o);
    let l = &r.logs[0];
    assert!(kinds(l).contains(&(Class::Warning, Kind::MirrorLate, Some(3))));
    assert_eq!(l.gaps[0].first, 3);
    assert_eq!(r.exit_code, 4);
    // Within the default window it is put back in order.
    let r = run(&[t.fleet()], opts());
    assert_eq!(r.exit_code, 0, "{:?}", r.logs[0].findings);
}

#[test]
fn a_copy_starting_mid_log_is_checked_from_there() {
    let t = Tree::new();
    let id = id_of(1);
    let ls = lines(id, "db-01", 20, None);
    let m: Vec<_> = ls[8..].iter().map(|l| mirror_of(id, "db-01", l)).collect();
    t.collector("db-01", id, &m);
    let mut o = opts();
    o.seal_keys = vec![SealKey::from_parts(id, K0)];
    let r = run(&[t.fleet()], o);
    let l = &r.logs[0];
    assert_eq!(r.exit_code, 0, "{:?}", l.findings);
    assert_eq!((l.first_seq, l.records), (Some(8), 12));
    assert!(kinds(l).contains(&(Class::Note, Kind::ChainStartsMid, Some(8))));
    // A record forged in the copy is still found (bad seal / hash).
    let mut m2 = m.clone();
    let s = String::from_utf8(m2[5].clone()).unwrap();
    m2[5] = s.replacen("alice", "alicf", 2).into_bytes();
    t.collector("db-01", id, &m2);
    let r = run(&[t.fleet()], opts());
    assert_eq!(r.exit_code, 1, "{:?}", r.logs[0].findings);
}

#[test]
fn unrecognised_files_need_a_look() {
    let t = Tree::new();
    let id = id_of(1);
    let ls = lines(id, "db-01", 5, None);
    let m: Vec<_> = ls.iter().map(|l| mirror_of(id, "db-01", l)).collect();
    let p = t.collector("db-01", id, &m);
    std::fs::write(p.with_extension("log.1.gz"), [0x1f, 0x8b, 8, 0]).unwrap();
    std::fs::write(p.with_file_name("empty.log"), b"").unwrap();
    let r = run(&[t.fleet()], opts());
    assert_eq!(r.exit_code, 4);
    assert_eq!(r.unrecognised.len(), 2);
    std::fs::remove_file(p.with_extension("log.1.gz")).unwrap();
    assert_eq!(run(&[t.fleet()], opts()).exit_code, 0);
}

#[test]
fn durations() {
    assert_eq!(parse_duration("30m"), Some(1800));
    assert_eq!(parse_duration("2h"), Some(7200));
    assert_eq!(parse_duration("1d"), Some(86_400));
    assert_eq!(parse_duration("45"), Some(45));
    for bad in ["", "m", "1x", "-1h", "1.5h", "1 h"] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
}

#[test]
fn a_rotated_log_is_one_chain_in_the_central_copy() {
    let t = Tree::new();
    let id = id_of(1);
    let ls = lines_rotated(id, "db-01", 20, None, Some(9));
    let m: Vec<_> = ls.iter().map(|l| mirror_of(id, "db-01", l)).collect();
    t.collector("db-01", id, &m);
    let mut o = opts();
    o.seal_keys = vec![SealKey::from_parts(id, K0)];
    let r = run(&[t.fleet()], o);
    assert_eq!(r.exit_code, 0, "{:?}", r.logs[0].findings);
    assert_eq!(r.logs[0].records, 20);
    // The host's two segments, given in any order, agree with it.
    let d = t.dir.path().join("hosts");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("audit.log"), ls[9..].concat()).unwrap();
    std::fs::write(d.join("audit.log.1"), ls[..9].concat()).unwrap();
    let mut o = opts();
    o.seal_keys = vec![SealKey::from_parts(id, K0)];
    let r = run(&[t.fleet(), d], o);
    let l = &r.logs[0];
    assert_eq!(r.exit_code, 0, "{:?}", l.findings);
    assert_eq!(l.host_segments.len(), 2);
    assert!(l.host_checked && l.forward_integrity_checked);
}

#[test]
fn foreign_and_malformed_lines() {
    let t = Tree::new();
    let id = id_of(1);
    let ls = lines(id, "db-01", 6, None);
    let mut m: Vec<_> = ls.iter().map(|l| mirror_of(id, "db-01", l)).collect();
    let other = lines(id_of(2), "db-02", 2, None);
    m.push(mirror_of(id_of(2), "db-02", &other[1]));
    t.collector("db-01", id, &m);
    let r = run(&[t.fleet()], opts());
    assert_eq!(r.exit_code, 4);
    assert!(kinds(&r.logs[0]).contains(&(Class::Warning, Kind::MirrorForeign, None)));
    m.pop();
    m.push(b"T db-01 jit-log[1]: jit-log v1 log=0101 seq=x\n".to_vec());
    t.collector("db-01", id, &m);
    let r = run(&[t.fleet()], opts());
    assert_eq!(r.exit_code, 1);
    assert!(kinds(&r.logs[0]).contains(&(Class::Tampered, Kind::Malformed, None)));
}

#[test]
fn a_line_being_written_is_not_read() {
    let t = Tree::new();
    let id = id_of(1);
    let ls = lines(id, "db-01", 6, None);
    let mut m: Vec<_> = ls.iter().map(|l| mirror_of(id, "db-01", l)).collect();
    // The collector has written half of the last line.
    let last = m.pop().unwrap();
    m.push(last[..last.len() / 2].to_vec());
    t.collector("db-01", id, &m);
    let r = run(&[t.fleet()], opts());
    let l = &r.logs[0];
    assert_eq!(r.exit_code, 0, "{:?}", l.findings);
    assert_eq!((l.records, l.last_seq), (5, Some(4)));
    assert!(kinds(l).contains(&(Class::Note, Kind::MirrorOtherLines, None)));
}

/// The (host, seq) of every record a merge of the checked fleet `paths`
/// shows, or the merge's error.
fn answer(paths: &[PathBuf]) -> Result<Vec<(String, u64)>, crate::log::query::QueryError> {
    let src = source::scan(paths).unwrap();
    let r = check(src.clone(), opts()).unwrap();
    let inputs: Vec<_> = r
        .logs
        .iter()
        .zip(&src.logs)
        .filter_map(|(l, ls)| l.input(ls, WINDOW))
        .collect();
    let mut got = Vec::new();
    merge::merge(inputs, &Default::default(), |_, _, _, rec| {
        got.push((rec.host.to_string(), rec.seq));
        Ok(())
    })?;
    Ok(got)
}

#[test]
fn a_query_reads_the_central_copy_merged_by_time() {
    let t = Tree::new();
    // Three hosts, one a minute each, resent and reordered lines in one.
    for (h, name) in [(1u8, "web-02"), (2, "db-01"), (3, "web-01")] {
        let ls = lines(id_of(h), name, 5, None);
        let mut m: Vec<_> = ls.iter().map(|l| mirror_of(id_of(h), name, l)).collect();
        if h == 2 {
            m.swap(2, 3);
            m.push(m[1].clone());
        }
        t.collector(name, id_of(h), &m);
    }
    let got = answer(&[t.fleet()]).unwrap();
    let want: Vec<(String, u64)> = (0..5)
        .flat_map(|s| ["db-01", "web-01", "web-02"].map(|h| (h.to_string(), s)))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_query_skips_what_the_central_copy_lacks_and_reads_the_host_log_when_given() {
    let t = Tree::new();
    let id = id_of(1);
    // Seq 4 too long for syslog (held by hash), 7..=8 never arrived, and
    // the last record (9) held by hash only.
    let ls = lines_with(id, "db-01", 10, &[4, 9], None);
    let m: Vec<_> = ls
        .iter()
        .enumerate()
        .filter(|(i, _)| !(7..=8).contains(i))
        .map(|(_, l)| mirror_of(id, "db-01", l))
        .collect();
    t.collector("db-01", id, &m);
    let seqs = |v: Vec<(String, u64)>| v.into_iter().map(|x| x.1).collect::<Vec<_>>();
    assert_eq!(seqs(answer(&[t.fleet()]).unwrap()), vec![0, 1, 2, 3, 5, 6]);
    // With the host's log, every record, from it.
    let host = t.host_log("db-01", &ls);
    assert_eq!(
        seqs(answer(&[t.fleet(), host]).unwrap()),
        (0..10).collect::<Vec<_>>()
    );
}

#[test]
fn a_query_refuses_a_tampered_copy_and_a_copy_changed_after_the_check() {
    let t = Tree::new();
    let id = id_of(1);
    let ls = lines(id, "db-01", 6, None);
    let mut m: Vec<_> = ls.iter().map(|l| mirror_of(id, "db-01", l)).collect();
    let other = lines(id, "db-02", 6, None);
    m.push(mirror_of(id, "db-01", &other[4]));
    let file = t.collector("db-01", id, &m);
    // Tampered: nothing to answer from.
    let src = source::scan(&[t.fleet()]).unwrap();
    let r = check(src.clone(), opts()).unwrap();
    assert_eq!(r.logs[0].outcome, Outcome::Tampered);
    assert!(r.logs[0].input(&src.logs[0], WINDOW).is_none());
    // Checked intact, then changed before it is read.
    m.pop();
    std::fs::write(&file, m.concat()).unwrap();
    let src = source::scan(&[t.fleet()]).unwrap();
    let r = check(src.clone(), opts()).unwrap();
    assert_eq!(r.logs[0].outcome, Outcome::Intact);
    let read = |lines: &[Vec<u8>]| {
        std::fs::write(&file, lines.concat()).unwrap();
        let input = r.logs[0].input(&src.logs[0], WINDOW).unwrap();
        let mut n = 0;
        merge::merge(vec![input], &Default::default(), |_, _, _, _| {
            n += 1;
            Ok(())
        })
        .map(|_| n)
    };
    let changed = |res: Result<u64, crate::log::query::QueryError>, why: &str| {
        let e = res.unwrap_err();
        assert!(
            matches!(&e, crate::log::query::QueryError::Changed { why: w, .. } if w.contains(why)),
            "{e}"
        );
    };
    // A record dropped (a gap the check did not see).
    changed(read(&[&m[..2], &m[3..]].concat()), "does not link");
    // The other chain's seq 4 in place of this one's.
    let mut swapped = m.clone();
    swapped[4] = mirror_of(id, "db-01", &other[4]);
    changed(read(&swapped), "does not link");
    // Cut short.
    changed(read(&m[..4]), "ends before seq 5");
    // Appended since: not shown.
    let more = lines(id, "db-01", 8, None);
    let grown: Vec<_> = more.iter().map(|l| mirror_of(id, "db-01", l)).collect();
    assert_eq!(read(&grown).unwrap(), 6);
    assert_eq!(read(&m).unwrap(), 6);
}
