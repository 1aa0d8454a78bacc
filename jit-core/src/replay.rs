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

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
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

fn io<'p>(op: &'static str, path: &'p Path) -> impl Fn(std::io::Error) -> ReplayError + 'p {
    move |source| ReplayError::Io {
        op,
        path: path.to_path_buf(),
        source,
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

fn read_cache(path: &Path) -> Result<Vec<Entry>, ReplayError> {
    let mut f = match OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("open", path)(e)),
    };
    let meta = f.metadata().map_err(io("stat", path))?;
    if !meta.is_file()
        || meta.mode() & 0o077 != 0
        || (nix::unistd::geteuid().is_root() && meta.uid() != 0)
    {
        return Err(ReplayError::Corrupt {
            path: path.to_path_buf(),
            line: 0,
            msg: format!(
                "must be a regular file, mode 0600, owned by root (mode {:o}, uid {})",
                meta.mode() & 0o7777,
                meta.uid()
            ),
        });
    }
    let mut text = String::new();
    (&mut f)
        .take(MAX_CACHE_LEN + 1)
        .read_to_string(&mut text)
        .map_err(io("read", path))?;
    if text.len() as u64 > MAX_CACHE_LEN {
        return Err(ReplayError::Corrupt {
            path: path.to_path_buf(),
            line: 0,
            msg: format!("larger than {MAX_CACHE_LEN} bytes"),
        });
    }
    parse(&text, path)
}

fn write_cache(path: &Path, entries: &[Entry]) -> Result<(), ReplayError> {
    crate::config::replace_private_file(path, render(entries).as_bytes()).map_err(|e| {
        ReplayError::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    })
}

/// Count one use of token `cti_hex` (limit `max_uses`, expiry `exp`) in the
/// cache at `cache`, under the log lock file `lock`. Entries of tokens expired
/// more than [`MAX_LEEWAY_SECS`](crate::token::MAX_LEEWAY_SECS) before `now`
/// are pruned: not the configured leeway, which an administrator may raise
/// later and so make a pruned token valid, and countable from zero, again.
/// Errors mean: deny.
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
    let _held = crate::log::lock_file(lock).map_err(|e| ReplayError::Io {
        op: "lock",
        path: lock.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let dir = cache.parent().unwrap_or(Path::new("."));
    crate::log::ensure_private_dir(dir).map_err(|e| ReplayError::Io {
        op: "create directory",
        path: dir.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let mut entries = read_cache(cache)?;
    let horizon = now.saturating_sub(crate::token::MAX_LEEWAY_SECS as i64);
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
    write_cache(cache, &entries)?;
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
