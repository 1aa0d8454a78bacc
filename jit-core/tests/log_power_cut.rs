//! Power cuts, simulated: the disk holds an older version of the state file
//! and/or of the log than the page cache did (docs/log-format.md,
//! "Durability"). For every point of a run of flushed and written records and
//! every combination of file versions a power cut can leave, the next writer
//! recovers without an error and the log then verifies as intact with the
//! seal key and the state; no flushed record is ever lost.

use jit_core::log::state::State;
use jit_core::log::verify::{self, Class, Options, Outcome, SealKey};
use jit_core::log::{append_with, Durability, Event, EventKind, LogConfig};
use std::path::Path;

fn cfg(dir: &Path) -> LogConfig {
    let mut c = LogConfig::new("test-host");
    c.log_path = dir.join("log/audit.log");
    c.state_path = dir.join("lib/log.state");
    c.seal_key_export = dir.join("lib/seal-key.initial");
    c.syslog = false;
    c
}

fn ev(i: usize, d: Durability) -> Event {
    let mut e = Event::new(EventKind::Decision);
    e.user = Some("alice".into());
    e.command_path = Some("/usr/bin/true".into());
    e.argv = Some(vec!["true".into(), i.to_string()]);
    e.allowed = Some(d == Durability::Flushed);
    e.pid = Some(1000 + i as u32);
    e
}

use Durability::{Flushed as F, Written as W};
/// Allowed sudos (F then W: decision, session_close), denial runs (W W W:
/// every other one is flushed by the rule).
const RUN: [Durability; 11] = [F, W, F, W, W, W, F, W, W, F, W];

struct Snap {
    log: Vec<u8>,
    state: Vec<u8>,
    /// The append flushed (the state holds one slot).
    flushed: bool,
}

fn snap(c: &LogConfig) -> Snap {
    let state = std::fs::read(&c.state_path).unwrap();
    let flushed = State::slots_from_bytes(&state).unwrap().1.is_none();
    Snap {
        log: std::fs::read(&c.log_path).unwrap(),
        state,
        flushed,
    }
}

/// Run the first `n` appends of RUN in `dir`; snapshots after each (index 0:
/// after the log was created by the first).
fn run(c: &LogConfig, n: usize) -> Vec<Snap> {
    (0..n)
        .map(|i| {
            append_with(c, &ev(i, RUN[i]), RUN[i]).unwrap();
            snap(c)
        })
        .collect()
}

/// Overwrite in place (same inode, as the disk would hold it).
fn put(p: &Path, b: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
    f.set_len(0).unwrap();
    f.write_all(b).unwrap();
}

#[test]
fn power_cut_at_every_point_recovers_without_alarm_or_loss_of_flushed_records() {
    let mut cases = 0;
    let mut found_kinds = std::collections::BTreeSet::new();
    for cut in 1..RUN.len() {
        // What the disk may hold after a power cut during append `cut`
        // (0-based; appends before it completed):
        let probe = tempfile::tempdir().unwrap();
        let snaps = run(&cfg(probe.path()), cut + 1);
        let last_flushed = (0..cut).rev().find(|&j| snaps[j].flushed).unwrap();
        let durable = snaps[last_flushed].log.len();
        // Log: the flushed prefix, anything up to what append `cut` wrote, a torn piece.
        let full = snaps[cut].log.len();
        let mut logs = vec![durable];
        logs.extend(snaps[last_flushed + 1..=cut].iter().map(|s| s.log.len()));
        logs.push(durable + (full - durable) / 2);
        logs.sort();
        logs.dedup();
        // State: the version fdatasynced at the last flushed append, any
        // written after it, and the halfway version of a flushed store (new
        // slot on disk, old slot not yet zeroed).
        let mut states: Vec<Vec<u8>> = (last_flushed..=cut)
            .map(|j| snaps[j].state.clone())
            .collect();
        for j in last_flushed.max(1)..=cut {
            if snaps[j].flushed {
                let slot = (j + 1) % 2; // record seq j+1 (seq 0 is `start`)
                let mut half = snaps[j - 1].state.clone();
                let r = slot * 256..slot * 256 + 256;
                half[r.clone()].copy_from_slice(&snaps[j].state[r]);
                states.push(half);
            }
        }
        // A flushed append writes its state only after the log is on disk
        // up to its record.
        let min_log = |si: usize| -> usize {
            let n = cut - last_flushed + 1;
            let j = if si < n {
                last_flushed + si
            } else {
                (last_flushed.max(1)..=cut)
                    .filter(|&j| snaps[j].flushed)
                    .nth(si - n)
                    .unwrap()
            };
            if snaps[j].flushed {
                snaps[j].log.len()
            } else {
                durable
            }
        };
        for si in 0..states.len() {
            for &ll in logs.iter().filter(|&&ll| ll >= min_log(si)) {
                cases += 1;
                let d = tempfile::tempdir().unwrap();
                let c = cfg(d.path());
                let s = run(&c, cut + 1);
                // Equivalent version of this run: lengths and slot layout
                // are the same in every directory, contents differ (keys).
                let log = &s[cut].log[..ll];
                let state = pick_state(&s, last_flushed, cut, si);
                put(&c.log_path, log);
                put(&c.state_path, &state);
                // An auditor verifying the disk as the power cut left it,
                // before any writer ran: the state is a crash leftover, never
                // tampering. (This model tears at any byte; the kernel tears
                // only at page boundaries, so a torn piece that ends just
                // before a record's newline, away from one, is reported as
                // unterminated_record: docs/log-format.md, "Verification".)
                let (newer, older) = verify::read_state_slots(&c.state_path).unwrap();
                let opts = Options {
                    seal_key: Some(SealKey::read(&c.seal_key_export).unwrap()),
                    state: Some(newer),
                    state_older: older,
                    ..Default::default()
                };
                let r = verify::verify_files(std::slice::from_ref(&c.log_path), &opts).unwrap();
                assert!(
                    r.findings.iter().all(|f| f.class != Class::Tampered
                        || f.kind == verify::Kind::UnterminatedRecord && ll != s[cut].log.len()),
                    "before the writer: cut {cut}, state version {si}, log {ll} bytes: {:#?}",
                    r.findings
                );
                for f in &r.findings {
                    found_kinds.insert(format!("verify:{:?}", f.kind));
                }
                let a = append_with(&c, &ev(99, F), F).unwrap_or_else(|e| {
                    panic!("cut {cut}, state version {si}, log {ll} bytes: {e}")
                });
                let _ = a;
                for l in std::fs::read_to_string(&c.log_path).unwrap().lines() {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    if v["kind"] == "recovery" {
                        found_kinds.insert(v["found"].as_str().unwrap().to_string());
                    }
                }
                let opts = Options {
                    seal_key: Some(SealKey::read(&c.seal_key_export).unwrap()),
                    state: Some(verify::read_state(&c.state_path).unwrap()),
                    ..Default::default()
                };
                let r = verify::verify_files(std::slice::from_ref(&c.log_path), &opts).unwrap();
                assert_eq!(
                    r.outcome,
                    Outcome::Intact,
                    "cut {cut}, state version {si}, log {ll} bytes: {:#?}",
                    r.findings
                );
                assert!(r.findings.iter().all(|f| f.class != Class::Tampered));
                // Every flushed record is still there.
                let now = std::fs::read(&c.log_path).unwrap();
                assert_eq!(&now[..durable], &s[last_flushed].log[..]);
            }
        }
    }
    eprintln!("power cut: {cases} cases");
    eprintln!("repairs seen: {found_kinds:?}");
    assert!(cases > 50);
    for k in [
        "state_ahead",
        "state_behind",
        "torn_tail",
        "verify:StateAhead",
        "verify:StateBehind",
    ] {
        assert!(found_kinds.contains(k), "no case found {k}");
    }
}

/// The state version `si` of the probe's list, taken from this run `s`.
fn pick_state(s: &[Snap], last_flushed: usize, cut: usize, si: usize) -> Vec<u8> {
    let n = cut - last_flushed + 1;
    if si < n {
        return s[last_flushed + si].state.clone();
    }
    let mut k = n;
    for j in last_flushed.max(1)..=cut {
        if s[j].flushed {
            if k == si {
                let slot = (j + 1) % 2;
                let mut half = s[j - 1].state.clone();
                let r = slot * 256..slot * 256 + 256;
                half[r.clone()].copy_from_slice(&s[j].state[r]);
                return half;
            }
            k += 1;
        }
    }
    unreachable!()
}
