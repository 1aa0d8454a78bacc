//! Waiting for the audit log's lock without hanging every sudo on the host.
//!
//! The lock is taken inside the invoking user's own sudo process, whose real
//! uid is the user's: the user may stop it (`kill -STOP`) while it holds the
//! lock. A blocking `flock` would then hang every other sudo until someone
//! with root ended that process. So a waiter polls with `LOCK_NB`, continues
//! a holder it finds stopped (`SIGCONT`: the holder then finishes its record
//! and releases the lock), and gives up after a bounded wait with an error
//! naming the holder (docs/log-format.md, "Locking").

use super::{io_err, private::open_create, FsError};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fmt;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a writer waits for the lock by default. A record holds it for
/// one write and two flushes: milliseconds, at most a second or two on a
/// disk under heavy load. A holder that takes longer is stopped or stuck.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// How often a waiter looks for a stopped holder, from the start of the wait.
const CHECK_EVERY: Duration = Duration::from_millis(250);
/// The longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_millis(20);

/// Take a flock on `f` (exclusive, or `shared` for a reader), giving up
/// once `wait` has passed since `start` (the start of the whole wait, which
/// may span several files when the lock file is replaced under us).
fn lock_polling(
    mut f: File,
    path: &Path,
    start: Instant,
    wait: Duration,
    shared: bool,
) -> Result<Flock<File>, FsError> {
    let mut pause = Duration::from_millis(1);
    let mut next_check = start + CHECK_EVERY;
    let arg = if shared {
        FlockArg::LockSharedNonblock
    } else {
        FlockArg::LockExclusiveNonblock
    };
    loop {
        match Flock::lock(f, arg) {
            Ok(locked) => return Ok(locked),
            Err((back, Errno::EAGAIN | Errno::EINTR)) => f = back,
            Err((_, e)) => {
                return Err(FsError::Io {
                    op: "lock",
                    path: path.to_path_buf(),
                    source: e.into(),
                })
            }
        }
        let now = Instant::now();
        let waited = now.saturating_duration_since(start);
        if waited >= wait {
            return Err(FsError::LockBusy {
                path: path.to_path_buf(),
                waited_secs: wait.as_secs(),
                holder: holder(&f).map_or_else(|| "a process not found".into(), |h| h.to_string()),
            });
        }
        if now >= next_check {
            if let Some(h) = holder(&f) {
                if h.state == 'T' {
                    // A stopped holder cannot release the lock. Continuing it
                    // is harmless (it resumes what it was doing) and lets it
                    // finish. The waiter runs as root (euid 0), so it may.
                    let _ = kill(Pid::from_raw(h.pid), Signal::SIGCONT);
                }
            }
            next_check = now + CHECK_EVERY;
        }
        std::thread::sleep(pause.min(wait - waited));
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// The process holding the flock on the file `f` refers to, from
/// `/proc/locks` (its pid is the process that took the lock).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    pub pid: i32,
    pub comm: String,
    pub uid: Option<u32>,
    /// The state letter of `/proc/PID/stat` (`T`: stopped by a signal).
    pub state: char,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            'R' => "running",
            'S' => "sleeping",
            'D' => "waiting for the disk",
            'T' => "stopped",
            't' => "stopped by a debugger",
            'Z' => "exited",
            _ => "in an unusual state",
        };
        write!(f, "pid {} ({}", self.pid, self.comm)?;
        if let Some(uid) = self.uid {
            write!(f, ", uid {uid}")?;
        }
        write!(f, ", {state})")
    }
}

fn holder(f: &File) -> Option<Holder> {
    let m = f.metadata().ok()?;
    let key = format!(
        "{:02x}:{:02x}:{}",
        nix::sys::stat::major(m.dev()),
        nix::sys::stat::minor(m.dev()),
        m.ino()
    );
    let pid = holder_pid(&std::fs::read_to_string("/proc/locks").ok()?, &key)?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (comm, state) = parse_stat(&stat)?;
    let uid = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| real_uid(&s));
    Some(Holder {
        pid,
        comm,
        uid,
        state,
    })
}

/// The pid holding a granted FLOCK on `dev_ino` ("MAJ:MIN:INO", as the
/// kernel prints it). Waiting requests (`->`) are not holders.
fn holder_pid(locks: &str, dev_ino: &str) -> Option<i32> {
    locks.lines().find_map(|line| {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            [_, "FLOCK", _, _, pid, id, ..] if *id == dev_ino => pid.parse().ok(),
            _ => None,
        }
    })
}

/// `comm` and the state letter from `/proc/PID/stat` ("pid (comm) S ...";
/// comm may itself contain spaces and parentheses).
fn parse_stat(stat: &str) -> Option<(String, char)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_string();
    let state = stat.get(close + 1..)?.trim_start().chars().next()?;
    Some((comm, state))
}

/// The real uid from `/proc/PID/status` ("Uid:\treal\teffective\t...").
fn real_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Take the exclusive lock at `path`: flock on the file, created (0600,
/// root's when running as root, with its directory) if missing, making sure
/// the path still names the locked file. The log writer, the replay cache and
/// the revocation state all serialise on the log's lock file this way.
/// Waits at most [`LOCK_WAIT`]; see
/// [`lock_file_within`].
pub fn lock_file(path: &Path) -> Result<Flock<File>, FsError> {
    lock_file_within(path, LOCK_WAIT)
}

/// [`lock_file`] with a given bound on the wait. The lock is held inside
/// sudo processes the invoking users can stop; a waiter continues a stopped
/// holder and, after `wait`, fails with [`FsError::LockBusy`] naming the
/// holder instead of hanging (docs/log-format.md, "Locking").
pub fn lock_file_within(path: &Path, wait: Duration) -> Result<Flock<File>, FsError> {
    let path = path.to_path_buf();
    let start = Instant::now();
    for _ in 0..8 {
        let (f, _) = open_create(&path, 0o600, false)?;
        let locked = lock_polling(f, &path, start, wait, false)?;
        let held = locked.metadata().map_err(io_err("stat", &path))?;
        match std::fs::symlink_metadata(&path) {
            Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => return Ok(locked),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err("stat", &path)(e)),
        }
    }
    Err(FsError::LockUnstable { path })
}

/// Take the lock at `path` shared, as a reader that waits for the writer
/// in progress (`jit-verify log --lock`): the same bounded wait as a writer
/// ([`LOCK_WAIT`]), continuing a stopped holder, failing with
/// [`FsError::LockBusy`] naming the holder. The lock file is not created:
/// `Ok(None)` when it cannot be opened (no writer ever ran there, or not
/// readable by this user).
pub fn lock_shared(path: &Path) -> Result<Option<Flock<File>>, FsError> {
    lock_shared_within(path, LOCK_WAIT)
}

/// [`lock_shared`] with a given bound on the wait.
pub fn lock_shared_within(path: &Path, wait: Duration) -> Result<Option<Flock<File>>, FsError> {
    let Ok(f) = File::open(path) else {
        return Ok(None);
    };
    lock_polling(f, path, Instant::now(), wait, true).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_pid_takes_granted_flocks_on_the_file_only() {
        let locks = "\
1: POSIX  ADVISORY  WRITE 10 fd:01:77 0 EOF
2: FLOCK  ADVISORY  WRITE 11 fd:01:78 0 EOF
2: -> FLOCK  ADVISORY  WRITE 12 fd:01:77 0 EOF
3: OFDLCK ADVISORY  WRITE -1 fd:01:77 0 EOF
4: FLOCK  ADVISORY  WRITE 13 fd:01:77 0 EOF
";
        assert_eq!(holder_pid(locks, "fd:01:77"), Some(13));
        assert_eq!(holder_pid(locks, "fd:01:78"), Some(11));
        assert_eq!(holder_pid(locks, "fd:01:7"), None);
        assert_eq!(holder_pid("", "fd:01:77"), None);
    }

    #[test]
    fn shared_lock_waits_for_a_writer_at_most_the_bound() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("log.state.lock");
        assert!(lock_shared_within(&p, Duration::from_millis(10))
            .unwrap()
            .is_none());
        let w = lock_file(&p).unwrap();
        let t = Instant::now();
        match lock_shared_within(&p, Duration::from_millis(300)) {
            Err(FsError::LockBusy { holder, .. }) => {
                assert!(
                    holder.contains(&format!("pid {}", std::process::id())),
                    "{holder}"
                )
            }
            other => panic!("{other:?}"),
        }
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(5));
        drop(w);
        let r1 = lock_shared_within(&p, Duration::from_millis(300)).unwrap();
        // Readers share it.
        let r2 = lock_shared_within(&p, Duration::from_millis(300)).unwrap();
        assert!(r1.is_some() && r2.is_some());
    }

    #[test]
    fn stat_and_status_parsing() {
        assert_eq!(
            parse_stat("4242 (sudo) T 1 2 3"),
            Some(("sudo".into(), 'T'))
        );
        assert_eq!(
            parse_stat("7 (a) b) (c) S 1"),
            Some(("a) b) (c".into(), 'S'))
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(real_uid("Name:\tsudo\nUid:\t1001\t0\t0\t0\n"), Some(1001));
        assert_eq!(real_uid("Name:\tsudo\n"), None);
        let h = Holder {
            pid: 4242,
            comm: "sudo".into(),
            uid: Some(1001),
            state: 'T',
        };
        assert_eq!(h.to_string(), "pid 4242 (sudo, uid 1001, stopped)");
    }
}
