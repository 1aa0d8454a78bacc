//! `/etc/security/pam_jit.conf` and the rules for reading any file the module trusts.
//!
//! Format (documented in docs/pam_jit.conf.md): one `key = value` per line,
//! `#` starts a comment line, blank lines are ignored. Unknown keys, duplicate
//! keys, missing required keys and malformed values are errors naming the line.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::name::{self, NameKind};
use crate::revocation::{self, host::MissingPolicy};

/// Default location of the configuration file.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/security/pam_jit.conf";
/// Largest configuration file accepted.
pub const MAX_CONFIG_LEN: u64 = 64 * 1024;
/// Largest trusted-keys (or revocation) file accepted.
pub const MAX_KEYS_LEN: u64 = 1024 * 1024;

/// What a missing or bad configuration means is always: deny.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read safely.
    #[error(transparent)]
    File(#[from] SecureFileError),
    /// A line could not be understood.
    #[error("{path}:{line}: {msg}")]
    Syntax {
        /// The configuration file.
        path: String,
        /// 1-based line number (0 for whole-file problems).
        line: usize,
        /// What is wrong.
        msg: String,
    },
}

/// The module's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Host groups this host belongs to (`host_groups`, required).
    pub host_groups: Vec<String>,
    /// Trusted-keys file (`trusted_keys`, required).
    pub trusted_keys: PathBuf,
    /// Audit log (`log`).
    pub log: PathBuf,
    /// Log state file (`state`).
    pub state: PathBuf,
    /// Where the initial seal key is exported when the log is created (`seal_key_export`).
    pub seal_key_export: PathBuf,
    /// Use counts of use-limited tokens (`replay_cache`, default `/var/lib/jit/replay`).
    pub replay_cache: PathBuf,
    /// Clock leeway in seconds for nbf/exp (`leeway`, default 60, at most 600).
    pub leeway_secs: u64,
    /// Mirror every record to syslog, facility authpriv (`syslog`, default yes).
    pub syslog: bool,
    /// The syslog socket for the mirror and the break-glass alerts
    /// (`syslog_socket`, default `/dev/log`).
    pub syslog_socket: PathBuf,
    /// Host name recorded in the log (`hostname`, default: the kernel's host name).
    pub hostname: Option<String>,
    /// Ask for a token through the PAM conversation when `JIT_TOKEN` is not set
    /// (`prompt`, default no).
    pub prompt: bool,
    /// The signed revocation list (`revocation_list`, default
    /// `/etc/security/jit/revocation/list`; docs/revocation.md).
    pub revocation_list: PathBuf,
    /// Highest accepted list version (`revocation_state`, default
    /// `/var/lib/jit/revocation-state`).
    pub revocation_state: PathBuf,
    /// What a missing list means (`revocation_missing`, default `deny_once_seen`).
    pub revocation_missing: MissingPolicy,
}

const KEYS: &[&str] = &[
    "host_groups",
    "trusted_keys",
    "log",
    "state",
    "seal_key_export",
    "replay_cache",
    "leeway",
    "syslog",
    "syslog_socket",
    "hostname",
    "prompt",
    "revocation_list",
    "revocation_state",
    "revocation_missing",
];

impl Config {
    /// Parse the text of a configuration file; `path` is only used in messages.
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let err = |line: usize, msg: String| ConfigError::Syntax {
            path: path.to_string(),
            line,
            msg,
        };
        let mut seen: Vec<(&str, usize, &str)> = Vec::new();
        for (idx, raw) in text.lines().enumerate() {
            let n = idx + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(err(n, "expected `key = value`".into()));
            };
            let (k, v) = (k.trim(), v.trim());
            if !KEYS.contains(&k) {
                return Err(err(n, format!("unknown key {k:?}")));
            }
            if let Some((_, first, _)) = seen.iter().find(|(sk, _, _)| *sk == k) {
                return Err(err(n, format!("{k} is already set on line {first}")));
            }
            if v.is_empty() {
                return Err(err(n, format!("{k} has no value")));
            }
            seen.push((k, n, v));
        }
        let get = |k: &str| {
            seen.iter()
                .find(|(sk, _, _)| *sk == k)
                .map(|(_, n, v)| (*n, *v))
        };
        let path_of = |k: &str, default: &str| -> Result<PathBuf, ConfigError> {
            match get(k) {
                None => Ok(PathBuf::from(default)),
                Some((_, v)) if v.starts_with('/') => Ok(PathBuf::from(v)),
                Some((n, v)) => Err(err(n, format!("{k} must be an absolute path, not {v:?}"))),
            }
        };
        let bool_of = |k: &str, default: bool| -> Result<bool, ConfigError> {
            match get(k) {
                None => Ok(default),
                Some((_, "yes" | "true")) => Ok(true),
                Some((_, "no" | "false")) => Ok(false),
                Some((n, v)) => Err(err(n, format!("{k} must be yes or no, not {v:?}"))),
            }
        };

        let (gn, groups) =
            get("host_groups").ok_or_else(|| err(0, "host_groups is required".into()))?;
        let host_groups: Vec<String> = groups
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if host_groups.is_empty() {
            return Err(err(gn, "host_groups names no group".into()));
        }
        for g in &host_groups {
            name::check(NameKind::HostGroup, g).map_err(|e| err(gn, e.to_string()))?;
        }
        if get("trusted_keys").is_none() {
            return Err(err(0, "trusted_keys is required".into()));
        }
        let leeway_secs = match get("leeway") {
            None => 60,
            Some((n, v)) => {
                let digits = v.strip_suffix('s').unwrap_or(v);
                match digits.parse::<u64>() {
                    Ok(s) if s <= 600 => s,
                    _ => {
                        return Err(err(
                            n,
                            format!("leeway must be 0 to 600 seconds, not {v:?}"),
                        ))
                    }
                }
            }
        };
        let hostname = match get("hostname") {
            None => None,
            Some((n, v)) => {
                name::check(NameKind::HostName, v).map_err(|e| err(n, e.to_string()))?;
                Some(v.to_string())
            }
        };
        let revocation_missing = match get("revocation_missing") {
            None => MissingPolicy::default(),
            Some((n, v)) => MissingPolicy::parse(v).ok_or_else(|| {
                err(
                    n,
                    format!("revocation_missing must be deny, allow or deny_once_seen, not {v:?}"),
                )
            })?,
        };
        Ok(Config {
            revocation_list: path_of("revocation_list", revocation::host::DEFAULT_LIST_PATH)?,
            revocation_state: path_of("revocation_state", revocation::host::DEFAULT_STATE_PATH)?,
            revocation_missing,
            host_groups,
            trusted_keys: path_of("trusted_keys", "")?,
            log: path_of("log", "/var/log/jit/audit.log")?,
            state: path_of("state", "/var/lib/jit/log.state")?,
            seal_key_export: path_of("seal_key_export", "/var/lib/jit/seal-key.initial")?,
            replay_cache: path_of("replay_cache", "/var/lib/jit/replay")?,
            leeway_secs,
            syslog: bool_of("syslog", true)?,
            syslog_socket: path_of("syslog_socket", crate::log::syslog::DEFAULT_SOCKET)?,
            hostname,
            prompt: bool_of("prompt", false)?,
        })
    }

    /// Read and parse a configuration file with [`read_secure_file`].
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = read_secure_file(path, MAX_CONFIG_LEN)?;
        Config::parse(&text, &path.to_string_lossy())
    }
}

/// Why a trusted file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecureFileError {
    /// Opening or reading failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file, or a directory above it, could be changed by someone other than root.
    #[error("refusing {path}: {why}")]
    Insecure {
        /// The file or directory at fault.
        path: String,
        /// What is wrong with it.
        why: String,
    },
}

/// What [`check_host`] found: the host's configuration as pam_jit will read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCheck {
    /// The host groups.
    pub host_groups: Vec<String>,
    /// The trusted-keys file.
    pub trusted_keys: PathBuf,
    /// Key ids in it.
    pub kids: Vec<String>,
    /// Key ids usable at the time checked (inside their windows).
    pub usable_now: Vec<String>,
}

/// Read the configuration at `path` and its trusted keys with exactly the
/// rules pam_jit applies before every decision (file safety, strict
/// parsing), so that `jit-ctl enable` can refuse a configuration the module
/// would reject: every sudo, root's included, would otherwise be denied.
/// Also refuses a key file with no key usable at `now`.
pub fn check_host(path: &Path, now: i64) -> Result<HostCheck, String> {
    let cfg = Config::load(path).map_err(|e| e.to_string())?;
    let text = read_secure_file(&cfg.trusted_keys, MAX_KEYS_LEN)
        .map_err(|e| format!("trusted keys: {e}"))?;
    let keys = crate::keys::TrustedKeys::parse(&text)
        .map_err(|e| format!("trusted keys {}: {e}", cfg.trusted_keys.display()))?;
    let kids: Vec<String> = keys.iter().map(|k| k.kid.clone()).collect();
    let usable_now: Vec<String> = keys
        .iter()
        .filter(|k| k.window(now).is_ok())
        .map(|k| k.kid.clone())
        .collect();
    if usable_now.is_empty() {
        return Err(format!(
            "trusted keys {}: no key usable now ({} in the file); every token would be refused",
            cfg.trusted_keys.display(),
            kids.len()
        ));
    }
    Ok(HostCheck {
        host_groups: cfg.host_groups,
        trusted_keys: cfg.trusted_keys,
        kids,
        usable_now,
    })
}

/// Read a file the module trusts (configuration, keys), refusing it unless
/// only root can have written it, as sshd's StrictModes does: the path must be
/// absolute; the file must be a regular file (not a symlink), owned by root, not
/// writable by group or others, at most `max_len` bytes; every directory the
/// path leads through must be owned by root and not writable by group or
/// others, including the directories a symbolic link on the way leads to and
/// those above them ([`resolve_trusted`]).
pub fn read_secure_file(path: &Path, max_len: u64) -> Result<String, SecureFileError> {
    let insecure = |p: &Path, why: String| SecureFileError::Insecure {
        path: p.display().to_string(),
        why,
    };
    if !path.is_absolute() {
        return Err(insecure(path, "not an absolute path".into()));
    }
    // The path is formatted only for an error: this runs in every sudo.
    let io = |source| SecureFileError::Io {
        path: path.display().to_string(),
        source,
    };
    // Every directory is checked before the file is opened, so nobody but
    // root can change what the path names between the check and the open.
    let real = resolve_trusted(path)?;
    // O_NOFOLLOW: a symlink as the last component fails with ELOOP.
    // O_NONBLOCK: a FIFO put there is refused below instead of blocking sudo
    // in open() (it has no effect on reading a regular file).
    let mut f = File::options()
        .read(true)
        .custom_flags(
            nix::libc::O_NOFOLLOW
                | nix::libc::O_CLOEXEC
                | nix::libc::O_NOCTTY
                | nix::libc::O_NONBLOCK,
        )
        .open(&real)
        .map_err(|e| {
            if e.raw_os_error() == Some(nix::libc::ELOOP) {
                insecure(path, "is a symbolic link".into())
            } else {
                io(e)
            }
        })?;
    let meta = f.metadata().map_err(io)?;
    if !meta.file_type().is_file() {
        return Err(insecure(path, "not a regular file".into()));
    }
    check_owner_mode(path, meta.uid(), meta.mode())?;
    if meta.len() > max_len {
        return Err(insecure(path, format!("larger than {max_len} bytes")));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    (&mut f)
        .take(max_len + 1)
        .read_to_end(&mut buf)
        .map_err(io)?;
    if buf.len() as u64 > max_len {
        return Err(insecure(path, format!("larger than {max_len} bytes")));
    }
    String::from_utf8(buf).map_err(|_| insecure(path, "not UTF-8 text".into()))
}

/// Follow the absolute `path` from `/` one name at a time, checking each
/// directory (root-owned, not writable by group or others) before looking
/// up a name in it, and resolving symbolic links on the way the same way
/// (a link's target, relative or absolute, is walked through checked
/// directories too). Since a name is only ever looked up in a directory
/// only root can change, only root can have placed each link and the file.
/// Returns the path of the file with no symbolic link left in it, except
/// possibly the last component (which the caller opens with `O_NOFOLLOW`).
/// A path like `/etc/security -> /srv/cfg/security` is refused when `/srv`
/// or `/srv/cfg` could be written by someone else.
pub fn resolve_trusted(path: &Path) -> Result<PathBuf, SecureFileError> {
    use std::collections::VecDeque;
    use std::path::Component;
    const MAX_LINKS: usize = 40; // as the kernel allows
    let io = |source| SecureFileError::Io {
        path: path.display().to_string(),
        source,
    };
    let check_dir = |dir: &Path| -> Result<(), SecureFileError> {
        let m = std::fs::symlink_metadata(dir).map_err(io)?;
        if !m.file_type().is_dir() {
            return Err(SecureFileError::Insecure {
                path: dir.display().to_string(),
                why: "not a directory".into(),
            });
        }
        check_owner_mode(dir, m.uid(), m.mode())
    };
    let mut todo: VecDeque<PathBuf> = path
        .components()
        .map(|c| PathBuf::from(c.as_os_str()))
        .collect();
    let mut real = PathBuf::from("/");
    let mut checked = false; // whether `real` (the directory so far) was checked
    let mut links = 0;
    while let Some(name) = todo.pop_front() {
        match name.components().next() {
            Some(Component::RootDir) => {
                real = PathBuf::from("/");
                checked = false;
            }
            Some(Component::CurDir) | None => {}
            Some(Component::ParentDir) => {
                // `real` holds no symbolic link, so its parent is the real one.
                real.pop();
                checked = false;
            }
            Some(Component::Normal(_)) | Some(Component::Prefix(_)) => {
                if !checked {
                    check_dir(&real)?;
                    checked = true;
                }
                let next = real.join(&name);
                if todo.is_empty() {
                    // The file itself: opened with O_NOFOLLOW and checked
                    // through its descriptor by the caller.
                    return Ok(next);
                }
                let m = std::fs::symlink_metadata(&next).map_err(io)?;
                if m.file_type().is_symlink() {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(SecureFileError::Insecure {
                            path: path.display().to_string(),
                            why: "too many symbolic links".into(),
                        });
                    }
                    let target = std::fs::read_link(&next).map_err(io)?;
                    for c in target.components().rev() {
                        todo.push_front(PathBuf::from(c.as_os_str()));
                    }
                } else {
                    real = next;
                    checked = false;
                }
            }
        }
    }
    // The path ended in a directory ("/", "..", ".").
    Ok(real)
}

fn check_owner_mode(p: &Path, uid: u32, mode: u32) -> Result<(), SecureFileError> {
    let insecure = |why: String| SecureFileError::Insecure {
        path: p.display().to_string(),
        why,
    };
    if uid != 0 {
        return Err(insecure(format!("owned by uid {uid}, not root")));
    }
    if mode & 0o022 != 0 {
        return Err(insecure(format!(
            "writable by group or others (mode {:o})",
            mode & 0o7777
        )));
    }
    Ok(())
}

/// Why [`replace_private_file`] failed: what it was doing, on which path.
#[derive(Debug)]
pub struct ReplaceError {
    /// `create`, `chown`, `write`, `replace` or `fsync the directory`.
    pub op: &'static str,
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Replace `path` atomically with `bytes`: write `PATH.new` (created 0600
/// with O_NOFOLLOW, owned by root when running as root), fsync it, rename
/// it over `path`, fsync the directory. The caller holds the lock that
/// serialises writers, so a leftover `PATH.new` is a crash's and is removed.
pub fn replace_private_file(path: &Path, bytes: &[u8]) -> Result<(), ReplaceError> {
    replace_private_file_dated(path, bytes, None)
}

/// [`replace_private_file`], the new file's modification time set to
/// `mtime` (when given) before it takes the name.
pub fn replace_private_file_dated(
    path: &Path,
    bytes: &[u8],
    mtime: Option<std::time::SystemTime>,
) -> Result<(), ReplaceError> {
    use std::io::Write;
    let fail = |op, path: &Path| {
        let path = path.to_path_buf();
        move |source| ReplaceError { op, path, source }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(fail("create", &tmp))?;
    if nix::unistd::geteuid().is_root() {
        nix::unistd::fchown(&f, Some(0.into()), Some(0.into()))
            .map_err(|e| fail("chown", &tmp)(e.into()))?;
    }
    f.write_all(bytes)
        .and_then(|_| mtime.map_or(Ok(()), |t| f.set_modified(t)))
        .and_then(|_| f.sync_all())
        .map_err(fail("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(fail("replace", path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(fail("fsync the directory", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        "# comment\nhost_groups = web, db-prod\ntrusted_keys = /etc/security/jit/trusted-keys\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let c = Config::parse(GOOD, "t").unwrap();
        assert_eq!(c.host_groups, vec!["web", "db-prod"]);
        assert_eq!(c.leeway_secs, 60);
        assert_eq!(c.log, PathBuf::from("/var/log/jit/audit.log"));
        assert_eq!(c.replay_cache, PathBuf::from("/var/lib/jit/replay"));
        assert!(c.syslog);
        assert!(!c.prompt);
    }

    #[test]
    fn strict_parser_rejects() {
        let cases = [
            ("host_groups = web\n", "trusted_keys is required"),
            ("trusted_keys = /k\n", "host_groups is required"),
            (&format!("{GOOD}colour = blue\n"), "unknown key"),
            (&format!("{GOOD}host_groups = x\n"), "already set on line 2"),
            (&format!("{GOOD}leeway = 601\n"), "leeway"),
            (&format!("{GOOD}leeway = -1\n"), "leeway"),
            (&format!("{GOOD}log = relative/path\n"), "absolute"),
            (&format!("{GOOD}syslog = maybe\n"), "yes or no"),
            (&format!("{GOOD}prompt =\n"), "no value"),
            (&format!("{GOOD}just words\n"), "key = value"),
            ("host_groups = ,\ntrusted_keys = /k\n", "names no group"),
            (
                "host_groups = we$b\ntrusted_keys = /k\n",
                "invalid host group",
            ),
            (&format!("{GOOD}HOST_GROUPS = x\n"), "unknown key"),
        ];
        for (text, want) in cases {
            let e = Config::parse(text, "t").unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn revocation_keys_and_defaults() {
        let c = Config::parse(GOOD, "t").unwrap();
        assert_eq!(
            c.revocation_list,
            PathBuf::from("/etc/security/jit/revocation/list")
        );
        assert_eq!(
            c.revocation_state,
            PathBuf::from("/var/lib/jit/revocation-state")
        );
        assert_eq!(c.revocation_missing, MissingPolicy::DenyOnceSeen);
        let c = Config::parse(
            &format!("{GOOD}revocation_missing = allow\nrevocation_list = /x/l\nrevocation_state = /x/s\n"),
            "t",
        )
        .unwrap();
        assert_eq!(c.revocation_missing, MissingPolicy::Allow);
        assert_eq!(c.revocation_list, PathBuf::from("/x/l"));
        assert_eq!(c.revocation_state, PathBuf::from("/x/s"));
        for bad in [
            "revocation_missing = no",
            "revocation_missing = Deny",
            "revocation_list = relative",
            "revocation_state = x/y",
        ] {
            assert!(
                Config::parse(&format!("{GOOD}{bad}\n"), "t").is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn leeway_accepts_seconds_suffix() {
        let c = Config::parse(&format!("{GOOD}leeway = 30s\n"), "t").unwrap();
        assert_eq!(c.leeway_secs, 30);
    }

    #[test]
    fn owner_and_mode_rules() {
        let p = Path::new("/x");
        assert!(check_owner_mode(p, 0, 0o100644).is_ok());
        assert!(check_owner_mode(p, 0, 0o100600).is_ok());
        assert!(check_owner_mode(p, 1000, 0o100644).is_err());
        assert!(check_owner_mode(p, 0, 0o100664).is_err());
        assert!(check_owner_mode(p, 0, 0o100646).is_err());
        assert!(check_owner_mode(p, 0, 0o041777).is_err());
    }

    #[test]
    fn files_below_world_writable_dirs_are_refused() {
        // /tmp is 1777: anything below it could be swapped by any user.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pam_jit.conf");
        std::fs::write(&f, GOOD).unwrap();
        let e = read_secure_file(&f, MAX_CONFIG_LEN)
            .unwrap_err()
            .to_string();
        assert!(e.contains("refusing"), "{e}");
    }

    /// A fresh directory only root can write (the suite runs as root).
    fn root_dir(tag: &str) -> PathBuf {
        assert!(nix::unistd::geteuid().is_root(), "run the suite as root");
        let dir = Path::new("/run").join(format!("jit-core-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn a_symlinked_directory_is_checked_all_the_way_to_its_target() {
        use std::os::unix::fs::{symlink, PermissionsExt};
        let d = root_dir("links");
        // d/srv is writable by others; d/srv/cfg below it is root's 0755.
        std::fs::create_dir_all(d.join("srv/cfg")).unwrap();
        std::fs::set_permissions(d.join("srv"), std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::write(d.join("srv/cfg/pam_jit.conf"), GOOD).unwrap();
        // d/etc -> srv/cfg: whoever can write d/srv can point the
        // configuration at any root-owned directory they like.
        symlink("srv/cfg", d.join("etc")).unwrap();
        let via_writable = read_secure_file(&d.join("etc/pam_jit.conf"), MAX_CONFIG_LEN);
        // The same through directories only root can write: accepted,
        // with relative and absolute targets and "..".
        std::fs::set_permissions(d.join("srv"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let via_safe = read_secure_file(&d.join("etc/pam_jit.conf"), MAX_CONFIG_LEN);
        symlink(d.join("srv"), d.join("abs")).unwrap();
        std::fs::create_dir(d.join("srv/sub")).unwrap();
        let dotdot = read_secure_file(&d.join("abs/sub/../cfg/pam_jit.conf"), MAX_CONFIG_LEN);
        // A loop of links ends in an error, not a hang.
        symlink("loop2", d.join("loop1")).unwrap();
        symlink("loop1", d.join("loop2")).unwrap();
        let looped = read_secure_file(&d.join("loop1/x"), MAX_CONFIG_LEN);
        std::fs::remove_dir_all(&d).unwrap();
        let e = via_writable.unwrap_err().to_string();
        assert!(e.contains("/srv: writable by group or others"), "{e}");
        assert_eq!(via_safe.unwrap(), GOOD);
        assert_eq!(dotdot.unwrap(), GOOD);
        assert!(looped.is_err());
    }

    #[test]
    fn check_host_applies_the_module_rules_to_config_and_keys() {
        use std::os::unix::fs::PermissionsExt;
        let d = root_dir("check");
        let key = crate::keys::SigningKeyWithKid::from_seed("k1", &[3u8; 32]).unwrap();
        let line = key.trusted_keys_line();
        let keys = d.join("trusted-keys");
        std::fs::write(&keys, &line).unwrap();
        let conf = d.join("pam_jit.conf");
        std::fs::write(
            &conf,
            format!("host_groups = web\ntrusted_keys = {}\n", keys.display()),
        )
        .unwrap();
        let ok = check_host(&conf, 1_000);
        // A key whose window has closed: every token would be refused.
        std::fs::write(&keys, format!("{} not-after=@900\n", line.trim_end())).unwrap();
        let expired = check_host(&conf, 1_000);
        // A key line the parser refuses.
        std::fs::write(&keys, format!("{} colour=blue\n", line.trim_end())).unwrap();
        let garbled = check_host(&conf, 1_000);
        std::fs::write(&keys, &line).unwrap();
        // A configuration the module would refuse (group-writable, or incomplete).
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o664)).unwrap();
        let writable = check_host(&conf, 1_000);
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(&conf, format!("trusted_keys = {}\n", keys.display())).unwrap();
        let incomplete = check_host(&conf, 1_000);
        std::fs::remove_dir_all(&d).unwrap();
        let ok = ok.unwrap();
        assert_eq!(ok.host_groups, ["web"]);
        assert_eq!(ok.kids, ["k1"]);
        assert_eq!(ok.usable_now, ["k1"]);
        assert!(expired.unwrap_err().contains("no key usable now"));
        assert!(garbled.unwrap_err().contains("trusted keys"));
        assert!(writable
            .unwrap_err()
            .contains("writable by group or others"));
        assert!(incomplete.unwrap_err().contains("host_groups"));
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let d = root_dir("fifo");
        let p = d.join("pam_jit.conf");
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        // Without O_NONBLOCK the open would wait for a writer forever.
        let r = read_secure_file(&p, MAX_CONFIG_LEN);
        std::fs::remove_dir_all(&d).unwrap();
        assert!(r.unwrap_err().to_string().contains("not a regular file"));
    }

    #[test]
    fn relative_paths_are_refused() {
        assert!(read_secure_file(Path::new("etc/x"), 10).is_err());
    }

    #[test]
    fn secure_file_in_root_owned_dir() {
        // Needs a directory only root can write; the suite runs as root
        // (tests/run.sh refuses otherwise).
        let base = Path::new("/run");
        let meta = std::fs::metadata(base).unwrap();
        assert_eq!(meta.uid(), 0);
        let dir = base.join(format!("jit-core-test-{}", std::process::id()));
        if nix::unistd::geteuid().is_root() {
            std::fs::create_dir(&dir).unwrap();
            let f = dir.join("pam_jit.conf");
            std::fs::write(&f, GOOD).unwrap();
            let res = read_secure_file(&f, MAX_CONFIG_LEN);
            // A symlink to it is refused even though the target is fine.
            let link = dir.join("link.conf");
            std::os::unix::fs::symlink(&f, &link).unwrap();
            let via_link = read_secure_file(&link, MAX_CONFIG_LEN);
            // Too large.
            let small = read_secure_file(&f, 10);
            // Group-writable.
            std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o664))
                .unwrap();
            let gw = read_secure_file(&f, MAX_CONFIG_LEN);
            std::fs::remove_dir_all(&dir).unwrap();
            assert_eq!(res.unwrap(), GOOD);
            assert!(via_link.unwrap_err().to_string().contains("symbolic link"));
            assert!(small.unwrap_err().to_string().contains("larger"));
            assert!(gw.unwrap_err().to_string().contains("writable"));
        } else {
            assert!(
                std::fs::create_dir(&dir).is_err(),
                "non-root must not write /run"
            );
        }
    }
}
