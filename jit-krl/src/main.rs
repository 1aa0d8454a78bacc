//! `jit-krl`: write the OpenSSH KRL that sshd's `RevokedKeys` reads from the
//! host's signed revocation list, verified and accepted exactly as pam_jit
//! does (docs/revocation.md §3.1, §5.1). Run by `jit-ctl ssh-krl`.
//!
//! Everything is decided in `jit_core::revocation::host::write_krl`; this
//! reads the configuration, calls it and says what happened.
//!
//! `jit-krl --principals LOGIN...` prints instead the lines of sshd's
//! principals files (`LOGIN@GROUP` for each host group), with the host
//! groups read by pam_jit's own parser (`jit_core::config`), so the files
//! `jit-ctl ssh-principals` writes never disagree with what pam_jit
//! enforces (docs/ssh.md).
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use jit_core::config::Config;
use jit_core::host::ConfiguredFiles;
use jit_core::revocation::host::{write_krl, HostPolicy, KrlError};

/// The KRL's default location (`RevokedKeys` in /usr/share/jit/sshd-jit-cert.conf).
const DEFAULT_KRL: &str = "/etc/ssh/jit/revoked.krl";

/// Exit codes.
const EXIT_REFUSED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_CONFIG: u8 = 3;
const EXIT_WRITE: u8 = 4;

/// Write sshd's KRL from the host's verified revocation list.
///
/// Reads pam_jit.conf (revocation_list, revocation_state,
/// revocation_missing, trusted_keys), verifies the list and checks it
/// against the anti-rollback state exactly as pam_jit does before a sudo
/// decision, and replaces the KRL atomically. On any failure nothing is
/// written and the previous KRL stays. With no list where the
/// configuration allows that, the KRL is written empty (it revokes
/// nothing, and sshd always finds it).
///
/// With --principals LOGIN...: write nothing, print the principals file
/// lines of each LOGIN instead (LOGIN@GROUP for each host group of the
/// configuration, in its order), the configuration read exactly as pam_jit
/// reads it; a configuration pam_jit would refuse prints nothing. Without
/// a LOGIN, only the configuration is checked.
///
/// Exit status: 0 written (or printed); 1 the list was refused (missing,
/// unsafe, unverified, rolled back, equivocating: the previous KRL stays);
/// 2 usage, or a LOGIN jit never certifies; 3 the configuration or trusted
/// keys are unusable; 4 the KRL could not be written.
#[derive(Parser, Debug)]
#[command(name = "jit-krl", version)]
struct Args {
    /// The host configuration.
    #[arg(long, default_value = jit_core::config::DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    /// The KRL to write (sshd's RevokedKeys).
    #[arg(long, default_value = DEFAULT_KRL)]
    krl: PathBuf,
    /// Print the principals file lines of these logins instead of writing
    /// the KRL (jit-ctl ssh-principals); none: only check the configuration.
    #[arg(long, value_name = "LOGIN", num_args = 0.., conflicts_with = "krl")]
    principals: Option<Vec<String>>,
}

/// The lines of the principals files of `logins`: `LOGIN@GROUP` for each
/// host group of `cfg`, login by login, groups in the configuration's order.
fn principal_lines(cfg: &Config, logins: &[String]) -> Result<String, String> {
    let mut out = String::new();
    for l in logins {
        jit_core::ssh_cert::check_login(l).map_err(|e| format!("{l:?}: {e}"))?;
        for g in &cfg.host_groups {
            out.push_str(&format!("{l}@{g}\n"));
        }
    }
    Ok(out)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("jit-krl: {msg}");
    ExitCode::from(code)
}

fn main() -> ExitCode {
    let a = Args::parse();
    let cfg = match Config::load(&a.config) {
        Ok(c) => c,
        Err(e) => return fail(EXIT_CONFIG, format!("configuration: {e}")),
    };
    if let Some(logins) = &a.principals {
        return match principal_lines(&cfg, logins) {
            Ok(lines) => {
                print!("{lines}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(EXIT_USAGE, e),
        };
    }
    let keys = match ConfiguredFiles(&cfg).trusted_keys() {
        Ok(k) => k,
        Err(e) => {
            return fail(
                EXIT_CONFIG,
                format!("trusted keys {}: {e}", cfg.trusted_keys.display()),
            )
        }
    };
    let policy = HostPolicy {
        list: cfg.revocation_list.clone(),
        state: cfg.revocation_state.clone(),
        lock: jit_core::log::lock_path_for(&cfg.state),
        missing: cfg.revocation_missing,
    };
    match write_krl(&policy, &keys, now(), &a.krl) {
        Ok(w) => {
            match w.version {
                Some(v) => println!(
                    "jit-krl: wrote {} from revocation list version {v}: {} certificate serials, {} certificate key ids (token ids included), {} keys",
                    a.krl.display(),
                    w.serials,
                    w.key_ids,
                    w.keys
                ),
                None => println!(
                    "jit-krl: wrote {} empty: no revocation list at {} (revocation_missing = {}); nothing is revoked",
                    a.krl.display(),
                    cfg.revocation_list.display(),
                    cfg.revocation_missing.name()
                ),
            }
            ExitCode::SUCCESS
        }
        Err(KrlError::List(e)) => fail(
            EXIT_REFUSED,
            format!("{e}; {} not changed", a.krl.display()),
        ),
        Err(e @ KrlError::Write { .. }) => fail(EXIT_WRITE, format!("{e}; it was not changed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_lines_follow_the_configuration() {
        let cfg = Config::parse(
            "# host_groups = commented\nhost_groups = web,db  eu\ntrusted_keys = /k\n",
            "t",
        )
        .unwrap();
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            principal_lines(&cfg, &l(&["alice", "deploy"])).unwrap(),
            "alice@web\nalice@db\nalice@eu\ndeploy@web\ndeploy@db\ndeploy@eu\n"
        );
        assert!(principal_lines(&cfg, &l(&["alice", "a*"])).is_err());
        assert!(principal_lines(&cfg, &l(&["-x"])).is_err());
    }

    #[test]
    fn principals_is_not_with_krl() {
        assert!(Args::try_parse_from(["jit-krl", "--principals", "a", "b"]).is_ok());
        let a = Args::try_parse_from(["jit-krl", "--principals"]).unwrap();
        assert_eq!(a.principals, Some(Vec::new()));
        assert_eq!(Args::try_parse_from(["jit-krl"]).unwrap().principals, None);
        assert!(Args::try_parse_from(["jit-krl", "--krl", "/x", "--principals", "a"]).is_err());
    }
}
