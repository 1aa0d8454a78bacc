//! Finding, telling apart and grouping inputs.

use super::*;

fn seg(id: &str, seq: u64) -> Vec<u8> {
    let kind = if seq == 0 { "start" } else { "continue" };
    format!(
        "{{\"v\":1,\"seq\":{seq},\"time\":\"2026-11-19T14:00:00.000000Z\",\"host\":\"db-01\",\"kind\":\"{kind}\",\"log_id\":\"{id}\",\"key_id\":\"{}\",\"prev\":\"{}\",\"hash\":\"{}\",\"seal\":\"{}\"}}\n",
        "0".repeat(32),
        "0".repeat(64),
        "0".repeat(64),
        "0".repeat(64)
    )
    .into_bytes()
}

#[test]
fn walk_is_sorted_once_per_file_and_follows_no_link_inside() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("t");
    std::fs::create_dir_all(root.join("b")).unwrap();
    std::fs::create_dir_all(root.join("a")).unwrap();
    std::fs::write(root.join("b/2.log"), b"x").unwrap();
    std::fs::write(root.join("a/1.log"), b"x").unwrap();
    // A loop and a second path to a file already found.
    std::os::unix::fs::symlink(&root, root.join("a/loop")).unwrap();
    std::os::unix::fs::symlink(root.join("b/2.log"), root.join("b/3.log")).unwrap();
    let (files, skipped) = walk(&[root.clone(), root.join("a/1.log")]).unwrap();
    assert_eq!(files, vec![root.join("a/1.log"), root.join("b/2.log")]);
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped[0].file.ends_with("a/loop"), "{skipped:?}");
    assert!(skipped[1].file.ends_with("b/3.log"), "{skipped:?}");
    // A link given is followed.
    let (files, _) = walk(&[root.join("b/3.log")]).unwrap();
    assert_eq!(files, vec![root.join("b/3.log")]);
}

#[test]
fn classify_and_scan_group_by_log_id() {
    let d = tempfile::tempdir().unwrap();
    let a = "a".repeat(32);
    let b = "b".repeat(32);
    let p = |n: &str| d.path().join(n);
    std::fs::write(p("a.1"), [seg(&a, 0)].concat()).unwrap();
    std::fs::write(p("a.0"), [seg(&a, 5)].concat()).unwrap();
    std::fs::write(p("b"), seg(&b, 0)).unwrap();
    std::fs::write(
        p("m"),
        format!("junk line\nT web-1 jit-log[1]: jit-log v1 log={a} seq=3 hash={} kind=decision rec={{}}\n", "0".repeat(64)),
    )
    .unwrap();
    std::fs::write(
        p("u"),
        b"T web-1 jit-log[1]: jit-unrecorded v1 event=decision\n",
    )
    .unwrap();
    std::fs::write(p("z"), b"").unwrap();
    std::fs::write(p("g"), [0x1f, 0x8b, 0]).unwrap();
    assert_eq!(classify(&p("m")).unwrap().kind, FileKind::Mirror);
    assert_eq!(classify(&p("m")).unwrap().host.as_deref(), Some("web-1"));
    let s = scan(&[d.path().to_path_buf()]).unwrap();
    assert_eq!(s.logs.len(), 2);
    assert_eq!(s.logs[0].log_id.as_deref(), Some(a.as_str()));
    assert_eq!(s.logs[0].segments, vec![p("a.1"), p("a.0")]);
    assert_eq!(s.logs[0].mirrors, vec![p("m")]);
    assert_eq!(
        s.logs[0].hosts,
        vec!["web-1".to_string(), "db-01".to_string()]
    );
    assert_eq!(s.logs[1].segments, vec![p("b")]);
    assert_eq!(s.unrecorded.len(), 1);
    let why: Vec<_> = s.other.iter().map(|o| o.why.clone().unwrap()).collect();
    assert_eq!(why.len(), 2);
    assert!(
        why[0].starts_with("compressed") && why[1] == "empty",
        "{why:?}"
    );
}

#[test]
fn group_in_order_keeps_one_log_one_group() {
    let d = tempfile::tempdir().unwrap();
    let a = "a".repeat(32);
    let b = "b".repeat(32);
    let p = |n: &str| d.path().join(n);
    std::fs::write(p("a1"), seg(&a, 0)).unwrap();
    std::fs::write(p("a2"), seg(&a, 7)).unwrap();
    std::fs::write(p("empty"), b"").unwrap();
    std::fs::write(p("b1"), seg(&b, 0)).unwrap();
    // One log, its empty current segment last: one group, order kept.
    let g = group_in_order(&[p("a1"), p("a2"), p("empty")]).unwrap();
    assert_eq!(
        g,
        vec![(Some(a.clone()), vec![p("a1"), p("a2"), p("empty")])]
    );
    // Two logs interleaved: two groups, each in the order given.
    let g = group_in_order(&[p("a1"), p("b1"), p("a2")]).unwrap();
    assert_eq!(
        g,
        vec![
            (Some(a.clone()), vec![p("a1"), p("a2")]),
            (Some(b.clone()), vec![p("b1")])
        ]
    );
    // A file naming no log stays with its neighbours: one log, one group,
    // as before (verification says what is wrong with it).
    let g = group_in_order(&[p("empty"), p("b1")]).unwrap();
    assert_eq!(g, vec![(Some(b.clone()), vec![p("empty"), p("b1")])]);
    let g = group_in_order(&[p("empty"), p("b1"), p("a1")]).unwrap();
    assert_eq!(
        g,
        vec![
            (Some(b), vec![p("empty"), p("b1")]),
            (Some(a), vec![p("a1")])
        ]
    );
}
