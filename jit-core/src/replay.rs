//! The host-side replay cache for use-limited tokens (`max_uses`).
//!
//! Format (docs/pam-module.md, "Use-limited tokens"): a text file, mode 0600
//! root:root, one line per token id that has been used and has not yet
//! expired: `CTI_HEX EXP USES`, where CTI_HEX is the token id (32 lower-case
//! hex digits), EXP the token's expiry (Unix seconds) and USES how many times
//! it has been used on this host. The parser is strict: any other line makes
//! the cache unusable, and the caller denies.
//!
//! [`consume`] takes the audit log's lock (`flock` on the state's `.lock`
//! file, the one the log writer uses), reads the cache, drops entries whose
//! token has expired more than the largest leeway ago, counts this use or
//! refuses it, and
//! replaces the file atomically (new file, `fsync`, `rename`, directory
//! `fsync`) before releasing the lock. Concurrent sudo invocations therefore
//! cannot both take the last use.

use std::path::{Path, PathBuf};

/// Largest cache file accepted (about 16,000 live use-limited tokens).
pub const MAX_CACHE_LEN: u64 = 1024 * 1024;

/// This use, counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Use {
    /// 1 for the first use.
    pub n: u32,
    /// The token's limit.
    pub max: u32,
}

/// Why a use was refused or could not be counted. Every variant means: deny.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The token has been used as often as it allows.
    #[error("token already used {max} of {max} times on this host")]
    Exhausted {
        /// The token's limit.
        max: u32,
    },
    /// The cache was last written at a time later than this token's expiry
    /// plus the largest leeway: the host clock has been stepped back since,
    /// and the token's count may already have been pruned.
    #[error(
        "the replay cache was last written at {written_at} (Unix time), more than {} s after this \
         token expired ({exp}); the host clock now reads {now}: it was stepped back, so uses \
         of this token can no longer be counted",
        crate::token::MAX_LEEWAY_SECS
    )]
    ClockBehind {
        /// The cache file's modification time.
        written_at: i64,
        /// The token's expiry.
        exp: i64,
        /// The clock now.
        now: i64,
    },
    /// The cache file is not in the documented format.
    #[error("replay cache {path}:{line} is corrupt: {msg}")]
    Corrupt {
        /// The cache file.
        path: PathBuf,
        /// 1-based line (0: whole file).
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// Reading, writing or locking failed.
    #[error("replay cache {path}: cannot {op}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    cti: String,
    exp: i64,
    uses: u32,
}

impl From<crate::fs::FsError> for ReplayError {
    fn from(e: crate::fs::FsError) -> ReplayError {
        use crate::fs::FsError;
        match e {
            FsError::Io { op, path, source } => ReplayError::Io { op, path, source },
            FsError::NotPrivate { path, why } => ReplayError::Corrupt {
                path,
                line: 0,
                msg: why,
            },
            e => ReplayError::Io {
                op: "lock",
                path: e.path().to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            },
        }
    }
}

fn is_cti(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn parse(text: &str, path: &Path) -> Result<Vec<Entry>, ReplayError> {
    let corrupt = |line: usize, msg: &str| ReplayError::Corrupt {
        path: path.to_path_buf(),
        line,
        msg: msg.to_string(),
    };
    let mut out: Vec<Entry> = Vec::new();
    for (i, line) in text.split_terminator('\n').enumerate() {
        let n = i + 1;
        let f: Vec<&str> = line.split(' ').collect();
        let [cti, exp, uses] = f.as_slice() else {
            return Err(corrupt(n, "expected `CTI_HEX EXP USES`"));
        };
        if !is_cti(cti) {
            return Err(corrupt(n, "token id is not 32 lower-case hex digits"));
        }
        let exp: i64 = exp.parse().map_err(|_| corrupt(n, "bad expiry"))?;
        let uses: u32 = match uses.parse() {
            Ok(u) if u >= 1 && !uses.starts_with('0') => u,
            _ => return Err(corrupt(n, "bad use count")),
        };
        if out.iter().any(|e| e.cti == *cti) {
            return Err(corrupt(n, "token id listed twice"));
        }
        out.push(Entry {
            cti: cti.to_string(),
            exp,
            uses,
        });
    }
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(corrupt(0, "last line is not terminated"));
    }
    Ok(out)
}

fn render(entries: &[Entry]) -> String {
    entries
        .iter()
        .map(|e| format!("{} {} {}\n", e.cti, e.exp, e.uses))
        .collect()
}

/// The entries, and when the cache was last written (its mtime; `None`
/// without a cache).
fn read_cache(path: &Path) -> Result<(Vec<Entry>, Option<i64>), ReplayError> {
    match crate::fs::read_private_file(path, MAX_CACHE_LEN)? {
        None => Ok((Vec::new(), None)),
        Some(f) => Ok((parse(&f.text, path)?, Some(f.mtime))),
    }
}

/// Replace the cache, dated `now`: its mtime is the latest time this host's
/// clock is known to have read (see [`consume`]), so it never moves back.
fn write_cache(path: &Path, entries: &[Entry], now: i64) -> Result<(), ReplayError> {
    let at = std::time::UNIX_EPOCH
        .checked_add(std::time::Duration::from_secs(now.max(0) as u64))
        .unwrap_or(std::time::UNIX_EPOCH);
    crate::fs::replace_private_file_dated(path, render(entries).as_bytes(), Some(at))?;
    Ok(())
}

/// Count one use of token `cti_hex` (limit `max_uses`, expiry `exp`) in the
/// cache at `cache`, under the log lock file `lock`. Entries of tokens expired
/// more than [`MAX_LEEWAY_SECS`](crate::token::MAX_LEEWAY_SECS) before `now`
/// are pruned: not the configured leeway, which an administrator may raise
/// later and so make a pruned token valid, and countable from zero, again.
/// "Before `now`" means before the later of `now` and the cache's last write
/// (its mtime): a clock stepped back after a prune must not make the pruned
/// token countable from zero either, so a token that expired more than the
/// largest leeway before the cache was last written is refused
/// ([`ReplayError::ClockBehind`]). Errors mean: deny.
pub fn consume(
    cache: &Path,
    lock: &Path,
    cti_hex: &str,
    exp: i64,
    max_uses: u32,
    now: i64,
) -> Result<Use, ReplayError> {
    if !is_cti(cti_hex) {
        return Err(ReplayError::Corrupt {
            path: cache.to_path_buf(),
            line: 0,
            msg: format!("token id {cti_hex:?} is not 32 lower-case hex digits"),
        });
    }
    // The log's lock, taken as the writer takes it (on a host whose first
    // sudo ever uses a use-limited token, that creates its directory too).
    let _held = crate::fs::lock_file(lock)?;
    let dir = cache.parent().unwrap_or(Path::new("."));
    crate::fs::ensure_private_dir(dir)?;
    let (mut entries, written_at) = read_cache(cache)?;
    // The latest time this host is known to have seen.
    let seen = written_at.map_or(now, |w| w.max(now));
    let horizon = seen.saturating_sub(crate::token::MAX_LEEWAY_SECS as i64);
    if exp < horizon {
        return Err(ReplayError::ClockBehind {
            written_at: seen,
            exp,
            now,
        });
    }
    entries.retain(|e| e.exp >= horizon);
    let used = entries
        .iter()
        .find(|e| e.cti == cti_hex)
        .map_or(0, |e| e.uses);
    if used >= max_uses {
        return Err(ReplayError::Exhausted { max: max_uses });
    }
    let n = used + 1;
    match entries.iter_mut().find(|e| e.cti == cti_hex) {
        Some(e) => e.uses = n,
        None => entries.push(Entry {
            cti: cti_hex.to_string(),
            exp,
            uses: n,
        }),
    }
    write_cache(cache, &entries, seen)?;
    Ok(Use { n, max: max_uses })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";

    fn paths(dir: &Path) -> (PathBuf, PathBuf) {
        (dir.join("replay"), dir.join("log.state.lock"))
    }

    #[test]
    fn counts_uses_and_refuses_the_one_after_the_last() {
        let d = tempfile::tempdir().unwrap();
        let (c, l) = paths(d.path());
        assert_eq!(
            consume(&c, &l, A, 2000, 2, 1000).unwrap(),
            Use { n: 1, max: 2 }
        );
        assert_eq!(
            consume(&c, &l, A, 2000, 2, 1001).unwrap(),
            Use { n: 2, max: 2 }
        );
        assert!(matches!(
            consume(&c, &l, A, 2000, 2, 1002),
            Err(ReplayError::Exhausted { max: 2 })
        ));
        // Another token is counted on its own.
        assert_eq!(
            consume(&c, &l, B, 2000, 1, 1002).unwrap(),
            Use { n: 1, max: 1 }
        );
        assert!(matches!(
            consume(&c, &l, B, 2000, 1, 1003),
            Err(ReplayError::Exhausted { .. })
        ));
        assert_eq!(
            std::fs::read_to_string(&c).unwrap(),
            format!("{A} 2000 2\n{B} 2000 1\n")
        );
    }

    /// A host whose very first sudo uses a use-limited token has no state
    /// directory yet: it is created (0700), not a reason to deny.
    #[test]
    fn a_missing_state_directory_is_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let state = d.path().join("state");
        let (c, l) = paths(&state);
        assert_eq!(
            consume(&c, &l, A, 2000, 1, 1000).unwrap(),
            Use { n: 1, max: 1 }
        );
        let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn a_clock_stepped_back_does_not_revive_a_pruned_count() {
        let d = tempfile::tempdir().unwrap();
        let (c, l) = paths(d.path());
        let max = crate::token::MAX_LEEWAY_SECS as i64;
        // A single-use token A, used; later another use-limited token's
        // decision prunes A's entry.
        assert_eq!(consume(&c, &l, A, 2000, 1, 1000).unwrap().n, 1);
        assert_eq!(consume(&c, &l, B, 9000, 5, 2000 + max + 1).unwrap().n, 1);
        assert!(!std::fs::read_to_string(&c).unwrap().contains(A));
        // The clock is stepped back to before A's expiry: A must not count
        // from zero again.
        let e = consume(&c, &l, A, 2000, 1, 1500).unwrap_err();
        assert!(
            matches!(e, ReplayError::ClockBehind { written_at, exp: 2000, now: 1500 } if written_at == 2000 + max + 1),
            "{e:?}"
        );
        assert!(e.to_string().contains("stepped back"), "{e}");
        // Other tokens still count, and the high-water mark does not move back.
        assert_eq!(consume(&c, &l, B, 9000, 5, 1500).unwrap().n, 2);
        assert!(matches!(
            consume(&c, &l, A, 2000, 1, 1600),
            Err(ReplayError::ClockBehind { .. })
        ));
        // A step back within the largest leeway changes nothing.
        let d2 = tempfile::tempdir().unwrap();
        let (c2, l2) = paths(d2.path());
        assert_eq!(consume(&c2, &l2, A, 2000, 2, 2000 + max).unwrap().n, 1);
        assert_eq!(consume(&c2, &l2, A, 2000, 2, 1990).unwrap().n, 2);
    }

    #[test]
    fn expired_entries_are_pruned_only_after_the_largest_leeway() {
        // Whatever leeway is configured now, an administrator may raise it
        // up to MAX_LEEWAY_SECS later; a token is countable until then.
        let max = crate::token::MAX_LEEWAY_SECS as i64;
        let d = tempfile::tempdir().unwrap();
        let (c, l) = paths(d.path());
        consume(&c, &l, A, 1000, 1, 900).unwrap();
        consume(&c, &l, B, 5000, 5, 1000 + max).unwrap();
        assert!(std::fs::read_to_string(&c).unwrap().contains(A));
        assert!(matches!(
            consume(&c, &l, A, 1000, 1, 1000 + max),
            Err(ReplayError::Exhausted { .. })
        ));
        // Past exp + the largest leeway the entry goes (no leeway makes the
        // token verify again).
        consume(&c, &l, B, 5000, 5, 1001 + max).unwrap();
        assert!(!std::fs::read_to_string(&c).unwrap().contains(A));
    }

    #[test]
    fn a_corrupt_cache_refuses_rather_than_forgets() {
        let d = tempfile::tempdir().unwrap();
        let (c, l) = paths(d.path());
        let bad = [
            "garbage\n".to_string(),
            format!("{A} 2000\n"),
            format!("{A} 2000 0\n"),
            format!("{A} 2000 01\n"),
            format!("{A} 2000 -1\n"),
            format!("{A} x 1\n"),
            format!("{} 2000 1\n", A.to_uppercase()),
            format!("{A} 2000 1\n{A} 2000 1\n"),
            format!("{A} 2000 1"),
            format!("{A}  2000 1\n"),
        ];
        for text in bad {
            std::fs::write(&c, &text).unwrap();
            std::fs::set_permissions(&c, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .unwrap();
            let r = consume(&c, &l, B, 2000, 3, 1000);
            assert!(
                matches!(r, Err(ReplayError::Corrupt { .. })),
                "{text:?}: {r:?}"
            );
            assert_eq!(
                std::fs::read_to_string(&c).unwrap(),
                text,
                "corrupt cache left untouched"
            );
        }
        // Readable by others: refused.
        std::fs::write(&c, "").unwrap();
        std::fs::set_permissions(&c, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        assert!(matches!(
            consume(&c, &l, B, 2000, 3, 1000),
            Err(ReplayError::Corrupt { .. })
        ));
        // A symlink in its place: refused.
        std::fs::remove_file(&c).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", &c).unwrap();
        assert!(consume(&c, &l, B, 2000, 3, 1000).is_err());
        // A malformed token id never reaches the file.
        assert!(consume(&d.path().join("r2"), &l, "xyz", 2000, 3, 1000).is_err());
    }

    #[test]
    fn concurrent_users_of_one_token_never_exceed_its_limit() {
        let d = tempfile::tempdir().unwrap();
        let (c, l) = paths(d.path());
        let ok = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| {
                    // Each thread opens its own lock descriptor: flock excludes them.
                    if consume(&c, &l, A, 9000, 5, 1000).is_ok() {
                        ok.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(ok.load(std::sync::atomic::Ordering::SeqCst), 5);
        assert_eq!(
            std::fs::read_to_string(&c).unwrap(),
            format!("{A} 9000 5\n")
        );
    }
}
