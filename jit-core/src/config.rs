//! `/etc/security/pam_jit.conf` and the rules for reading any file the module trusts.
//!
//! Format (documented in docs/pam_jit.conf.md): one `key = value` per line,
//! `#` starts a comment line, blank lines are ignored. Unknown keys, duplicate
//! keys, missing required keys and malformed values are errors naming the line.

use std::path::{Path, PathBuf};

use crate::fs::{read_secure_file, SecureFileError};
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
    fn check_host_applies_the_module_rules_to_config_and_keys() {
        use std::os::unix::fs::PermissionsExt;
        let d = crate::fs::test_root_dir("check");
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
}
