//! `jit-signer revoke`: keep the signer's revocation list and emit the next
//! signed version (docs/revocation.md).

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use jit_core::keys::TrustedKeys;
use jit_core::log::record::{RevokedSshKeyId, RevokedSshSerial, RevokedToken, Watermark};
use jit_core::revocation::{self, DecodedList, RevocationList};
use jit_core::token::{self, hex};

use crate::{io_err, key_err, now_or, out, pretty, relative, usage, Fail};
use jit_core::token::fmt_time;

/// Exit codes of `revoke`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success (--show: the list decoded, and verified if --trusted-keys was given)
  1  the list was rejected (--show)
  2  usage error (nothing to revoke, bad token id, user name or time)
  3  I/O error (cannot read or write the state directory or the output file)
  4  key error (secret key file readable by group/others, invalid key or trusted-keys file,
     or the process could not be made non-dumpable)
  6  ledger error: the revocation could not be recorded; no list was written
  8  the state directory's current list is corrupt (not a list jit-signer wrote)";

/// The file in the state directory holding the current list.
pub const LIST_FILE: &str = "revocation.list";
/// A token id given without its expiry is kept this long.
pub const DEFAULT_ID_KEEP_SECS: i64 = 30 * 86_400;

/// Revoke tokens (by id or by token), users, or a user's tokens issued before
/// a time, OpenSSH certificates (by serial or key id) and keys, and write the
/// next signed version of the revocation list.
///
/// The current list lives in the state directory (DIR/revocation.list); each
/// run emits version + 1 with the previous entries, minus token entries whose
/// expiry (plus 10 min) has passed. Copy the list file to every host's
/// `revocation_list` path (default /etc/security/jit/revocation/list).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Secret key file written by `keygen` (any key the hosts trust).
    #[arg(long)]
    key: Option<PathBuf>,
    /// Or a key in a PKCS#11 token.
    #[command(flatten)]
    hsm: crate::key::Pkcs11Args,
    /// Why (recorded in the issuance ledger).
    #[arg(long)]
    reason: Option<String>,
    #[command(flatten)]
    ledger: crate::ledger::LedgerArgs,
    /// State directory holding the current list (created with mode 0700).
    #[arg(long, env = "JIT_REVOCATION_DIR")]
    state: PathBuf,
    /// Revoke the token with this id (32 hex digits, as logged and shown by inspect). Repeatable.
    #[arg(long = "token-id")]
    token_ids: Vec<String>,
    /// Expiry of the --token-id tokens, --ssh-serial and --ssh-key-id
    /// certificates (RFC 3339 or @UNIXSECONDS), for pruning. Default: 30
    /// days from now.
    #[arg(long = "exp")]
    exp: Option<String>,
    /// Revoke this token (a file holding it, or the token text); its id is
    /// taken from it, and its expiry if later than --exp (the token's claims
    /// are not verified here, so they can only extend the entry). Repeatable.
    #[arg(long = "token")]
    tokens: Vec<String>,
    /// Revoke every token of this user; with --before, only those issued
    /// before that time. Repeatable.
    #[arg(long = "user")]
    users: Vec<String>,
    /// With --user: void only tokens issued before TIME (RFC 3339 or
    /// @UNIXSECONDS; default now). Tokens issued at or after TIME stay valid.
    #[arg(long, num_args = 0..=1, default_missing_value = "now", requires = "users")]
    before: Option<String>,
    /// Lift a --user revocation (watermarks stay). Repeatable.
    #[arg(long = "restore-user")]
    restore_users: Vec<String>,
    /// Revoke the OpenSSH certificate with this serial, signed by the CA of
    /// --ssh-ca; its expiry is --exp. Repeatable.
    #[arg(long = "ssh-serial", value_name = "N", requires = "ssh_ca")]
    ssh_serials: Vec<u64>,
    /// With --ssh-serial: the CA's public key (an ssh-ed25519 .pub file).
    #[arg(long = "ssh-ca", value_name = "KEY.pub", requires = "ssh_serials")]
    ssh_ca: Option<PathBuf>,
    /// Revoke OpenSSH certificates with this key id, signed by any CA; its
    /// expiry is --exp. A jit certificate's key id is its grant's token id,
    /// which --token-id already revokes. Repeatable.
    #[arg(long = "ssh-key-id", value_name = "ID")]
    ssh_key_ids: Vec<String>,
    /// Revoke an OpenSSH public key (a .pub file, or SHA256:... as
    /// ssh-keygen -l prints it): the key, every certificate on it and, for a
    /// CA key, every certificate it signed. Never pruned. Repeatable.
    #[arg(long = "ssh-key", value_name = "PUB|FINGERPRINT")]
    ssh_keys: Vec<String>,
    /// Issuer name written into the list. Default: the key id.
    #[arg(long)]
    issuer: Option<String>,
    /// Also write the new list to FILE (atomically).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the current list (or --list FILE) instead of changing it.
    #[arg(long, conflicts_with_all = ["token_ids", "tokens", "users", "restore_users", "ssh_serials", "ssh_key_ids", "ssh_keys", "out"])]
    show: bool,
    /// With --show: the list file to print instead of the state directory's.
    #[arg(long, requires = "show")]
    list: Option<PathBuf>,
    /// With --show: verify the list against this trusted-keys file.
    #[arg(long = "trusted-keys", requires = "show")]
    trusted_keys: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Pretend the time is this (RFC 3339 or @UNIXSECONDS); for tests.
    #[arg(long, hide = true)]
    now: Option<String>,
}

/// Exit code: the state directory's current list is corrupt.
pub const EXIT_CORRUPT: u8 = 8;

fn corrupt(err: anyhow::Error) -> Fail {
    Fail {
        code: EXIT_CORRUPT,
        err,
    }
}

/// `jit-signer revoke`.
pub fn run(a: Args) -> Result<u8, Fail> {
    let now = now_or(a.now.as_deref()).map_err(usage)?;
    if a.show {
        return show(&a, now);
    }
    let mut add_tokens: Vec<([u8; 16], i64)> = Vec::new();
    let id_exp = match &a.exp {
        None => now.saturating_add(DEFAULT_ID_KEEP_SECS),
        Some(s) => jit_core::keys::parse_time(s)
            .ok_or_else(|| usage(anyhow!("--exp {s:?}: use RFC 3339 or @UNIXSECONDS")))?,
    };
    for id in &a.token_ids {
        let cti = revocation::parse_cti(&id.to_ascii_lowercase())
            .ok_or_else(|| usage(anyhow!("--token-id {id:?}: not 32 hex digits")))?;
        add_tokens.push((cti, id_exp));
    }
    for t in &a.tokens {
        let text = match fs::read_to_string(t) {
            Ok(s) => s.trim().to_string(),
            Err(_) => t.trim().to_string(),
        };
        let d = token::decode_b64(&text)
            .and_then(|b| token::decode(&b))
            .map_err(|r| usage(anyhow!("--token {}: not a jit token: {r}", short(t))))?;
        // The claims are not verified here (the issuer's key may be another
        // one), so the token's expiry may only make the entry last longer:
        // a copy with an earlier exp must not get it pruned while the real
        // token is still valid.
        add_tokens.push((d.claims.cti, d.claims.exp.max(id_exp)));
    }
    let before = match a.before.as_deref() {
        None => None,
        Some("now") => Some(now),
        Some(s) => Some(
            jit_core::keys::parse_time(s)
                .ok_or_else(|| usage(anyhow!("--before {s:?}: use RFC 3339 or @UNIXSECONDS")))?,
        ),
    };
    let named = (a.users.iter().map(|u| ("--user", u)))
        .chain(a.restore_users.iter().map(|u| ("--restore-user", u)));
    for (flag, u) in named {
        jit_core::name::check(jit_core::name::NameKind::User, u)
            .map_err(|e| usage(anyhow!("{flag}: {e}")))?;
    }
    let ssh = ssh_entries(&a)?;
    if add_tokens.is_empty()
        && a.users.is_empty()
        && a.restore_users.is_empty()
        && a.ssh_key_ids.is_empty()
        && !ssh.any()
    {
        return Err(usage(anyhow!(
            "nothing to do: give --token-id, --token, --user, --restore-user, --ssh-serial, --ssh-key-id or --ssh-key (or --show)"
        )));
    }
    let sk = a.hsm.open_signer(a.key.as_deref())?;

    crate::create_private_dir(&a.state)?;
    let _lock = lock_dir(&a.state)?;
    let current = read_current(&a.state)?;
    let mut next = match &current {
        Some(d) => d.list.clone(),
        None => RevocationList::default(),
    };
    next.version = next
        .version
        .checked_add(1)
        .ok_or_else(|| corrupt(anyhow!("the current list's version cannot be increased")))?;
    next.iat = now;
    next.iss = a.issuer.clone().unwrap_or_else(|| sk.kid().to_string());
    for (cti, exp) in &add_tokens {
        let e = next.tokens.entry(*cti).or_insert(*exp);
        *e = (*e).max(*exp);
    }
    for u in &a.restore_users {
        next.users.remove(u);
    }
    // sshd's KRL cannot revoke by principal: a user's certificates still
    // valid are revoked by key id, found in the ledger.
    if !a.users.is_empty() {
        let path = a.ledger.path();
        let entries = crate::ledger::read_entries(&path).map_err(|e| Fail {
            code: crate::ledger::EXIT_LEDGER,
            err: e.context(format!(
                "cannot read the issuance ledger {} for the SSH certificates of --user (nothing revoked; revoke their keys with --ssh-key if the ledger is lost)",
                path.display()
            )),
        })?;
        for u in &a.users {
            let certs = jit_core::ledger::standing::user_certs_to_revoke(&entries, u, before, now);
            if !certs.is_empty() {
                eprintln!(
                    "jit-signer: --user {u}: also revoking {} SSH certificate(s) still valid, by key id",
                    certs.len()
                );
            }
            for (id, exp) in certs {
                let e = next.ssh_key_ids.entry(id).or_insert(exp);
                *e = (*e).max(exp);
            }
        }
    }
    for u in &a.users {
        match before {
            None => {
                next.users.insert(u.clone());
            }
            Some(t) => {
                let w = next.watermarks.entry(u.clone()).or_insert(t);
                *w = (*w).max(t); // a watermark only moves forward
            }
        }
    }
    if let Some(ca) = &ssh.ca {
        let serials = next.ssh_serials.entry(ca.clone()).or_default();
        for n in &a.ssh_serials {
            let e = serials.entry(*n).or_insert(id_exp);
            *e = (*e).max(id_exp);
        }
    }
    for id in &a.ssh_key_ids {
        let e = next.ssh_key_ids.entry(id.clone()).or_insert(id_exp);
        *e = (*e).max(id_exp);
    }
    next.ssh_keys.extend(ssh.keys.iter().copied());
    // Sign `next`, record it and make it the current list.
    let publish = |next: &RevocationList| -> Result<(), Fail> {
        let bytes = revocation::sign(next, sk.as_ref()).map_err(|e| match e {
            revocation::SignListError::Sign(_) if a.hsm.pkcs11.is_some() => Fail {
                code: crate::pkcs11::EXIT_PKCS11,
                err: e.into(),
            },
            revocation::SignListError::Sign(_) => key_err(e.into()),
            _ => usage(e.into()),
        })?;
        let record = jit_core::ledger::Revocation {
            version: next.version,
            tokens: next
                .tokens
                .iter()
                .map(|(cti, exp)| RevokedToken {
                    token_id: hex(cti),
                    exp: *exp,
                })
                .collect(),
            users: next.users.iter().cloned().collect(),
            watermarks: next
                .watermarks
                .iter()
                .map(|(user, before)| Watermark {
                    user: user.clone(),
                    before: *before,
                })
                .collect(),
            ssh_serials: next
                .ssh_serials
                .iter()
                .flat_map(|(ca, serials)| {
                    let ca = jit_core::revocation::ssh::fingerprint_text(
                        &jit_core::revocation::ssh::fingerprint(ca),
                    );
                    serials.iter().map(move |(serial, exp)| RevokedSshSerial {
                        ca: ca.clone(),
                        serial: serial.to_string(),
                        exp: *exp,
                    })
                })
                .collect(),
            ssh_key_ids: next
                .ssh_key_ids
                .iter()
                .map(|(key_id, exp)| RevokedSshKeyId {
                    key_id: key_id.clone(),
                    exp: *exp,
                })
                .collect(),
            ssh_keys: next
                .ssh_keys
                .iter()
                .map(jit_core::revocation::ssh::fingerprint_text)
                .collect(),
            kid: Some(sk.kid().to_string()),
            requester: nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.name),
            reason: a.reason.clone(),
        };
        commit_revocation(
            &a.ledger.config(),
            &a.state,
            a.out.as_deref(),
            &bytes,
            &record,
        )?;
        Ok(())
    };
    let pruned = next.prune(now);
    publish(&next)?;
    // A grant the signing service was completing while this ran may have
    // checked the list before it named the user, and recorded its
    // certificate after the ledger was read above. The service checks the
    // list again after its record is durable and hands nothing over to a
    // user it then finds revoked; this side reads the ledger again after
    // the list is in place and revokes, in one more version, what it finds.
    // Whichever ran second sees the other (docs/revocation.md §6.1).
    if !a.users.is_empty() {
        let entries = crate::ledger::read_entries(&a.ledger.path()).map_err(|e| Fail {
            code: crate::ledger::EXIT_LEDGER,
            err: e.context("reading the issuance ledger again after the list was written"),
        })?;
        let mut late = Vec::new();
        for u in &a.users {
            for (id, exp) in
                jit_core::ledger::standing::user_certs_to_revoke(&entries, u, before, now)
            {
                if !next.ssh_key_ids.contains_key(&id) {
                    late.push((id, exp));
                }
            }
        }
        if !late.is_empty() {
            eprintln!(
                "jit-signer: {} SSH certificate(s) of --user recorded while the list was written: revoked in version {}",
                late.len(),
                next.version + 1
            );
            next.version = next.version.checked_add(1).ok_or_else(|| {
                corrupt(anyhow!("the current list's version cannot be increased"))
            })?;
            for (id, exp) in late {
                next.ssh_key_ids.insert(id, exp);
            }
            publish(&next)?;
        }
    }
    let path = a.state.join(LIST_FILE);
    if a.json {
        let v = serde_json::json!({
            "list": path,
            "out": a.out,
            "version": next.version,
            "kid": sk.kid(),
            "pruned": pruned,
            "revocation": next.to_json(),
        });
        out(&format!("{}\n", pretty(&v)))?;
    } else {
        out(&format!(
            "wrote revocation list version {} ({} token ids, {} users, {} watermarks, {} certificate serials, {} certificate key ids, {} ssh keys; {} expired entries pruned) to {}{}\n",
            next.version,
            next.tokens.len(),
            next.users.len(),
            next.watermarks.len(),
            next.ssh_serials.values().map(|s| s.len()).sum::<usize>(),
            next.ssh_key_ids.len(),
            next.ssh_keys.len(),
            pruned,
            path.display(),
            a.out.as_ref().map(|o| format!(" and {}", o.display())).unwrap_or_default()
        ))?;
    }
    Ok(0)
}

/// The point where a revocation becomes final: the new signed list replaces
/// the signer's current one (and the optional copy for distribution). Nothing
/// before this has changed any file.
/// The revocation becomes final: recorded in the issuance ledger first (no
/// record, no list), then written where hosts pick it up.
fn commit_revocation(
    ledger: &jit_core::log::LogConfig,
    dir: &Path,
    copy: Option<&Path>,
    bytes: &[u8],
    record: &jit_core::ledger::Revocation,
) -> Result<(), Fail> {
    crate::ledger::revoked(ledger, record)?;
    let text = revocation::encode_text(bytes);
    write_atomic(&dir.join(LIST_FILE), text.as_bytes())?;
    if let Some(o) = copy {
        write_atomic(o, text.as_bytes())?;
    }
    Ok(())
}

/// The OpenSSH entries of the command line, checked.
struct SshEntries {
    /// The --ssh-ca blob, when serials are given.
    ca: Option<Vec<u8>>,
    /// The --ssh-key fingerprints.
    keys: Vec<[u8; 32]>,
}

impl SshEntries {
    fn any(&self) -> bool {
        self.ca.is_some() || !self.keys.is_empty()
    }
}

fn ssh_entries(a: &Args) -> Result<SshEntries, Fail> {
    use jit_core::revocation::ssh;
    let read_key = |flag: &str, what: &str| -> Result<(String, Vec<u8>), Fail> {
        let text = match fs::read_to_string(what) {
            Ok(t) => t,
            Err(_) if what.contains(' ') => what.to_string(),
            Err(e) => return Err(usage(anyhow!("{flag} {what}: {e}"))),
        };
        let line = text
            .lines()
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .unwrap_or("");
        ssh::parse_public_key(line).map_err(|e| usage(anyhow!("{flag} {what}: {e}")))
    };
    let ca = match &a.ssh_ca {
        None => None,
        Some(p) => {
            let (ty, blob) = read_key("--ssh-ca", &p.to_string_lossy())?;
            if ty != ssh::CA_KEY_TYPE {
                return Err(usage(anyhow!(
                    "--ssh-ca {}: a {ty} key; jit certificates are signed by an {} CA key",
                    p.display(),
                    ssh::CA_KEY_TYPE
                )));
            }
            Some(blob)
        }
    };
    if a.ssh_serials.contains(&0) {
        return Err(usage(anyhow!(
            "--ssh-serial 0: OpenSSH cannot revoke serial 0 (jit never issues it)"
        )));
    }
    for id in &a.ssh_key_ids {
        ssh::check_key_id(id).map_err(|e| usage(anyhow!("--ssh-key-id {id:?}: {e}")))?;
    }
    let mut keys = Vec::new();
    for k in &a.ssh_keys {
        keys.push(match ssh::parse_fingerprint(k) {
            Some(fp) => fp,
            None if k.starts_with("SHA256:") => {
                return Err(usage(anyhow!(
                    "--ssh-key {k}: not a SHA-256 fingerprint (SHA256: and 43 base64 characters)"
                )))
            }
            None => ssh::fingerprint(&read_key("--ssh-key", k)?.1),
        });
    }
    Ok(SshEntries { ca, keys })
}

fn short(s: &str) -> String {
    if s.chars().count() > 24 {
        format!("{}...", s.chars().take(24).collect::<String>())
    } else {
        s.to_string()
    }
}

/// One `revoke` at a time per state directory: two concurrent runs would
/// otherwise both emit version N+1 with different contents, which hosts
/// refuse as equivocation.
fn lock_dir(dir: &Path) -> Result<nix::fcntl::Flock<File>, Fail> {
    let p = dir.join(".lock");
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&p)
        .with_context(|| format!("opening {}", p.display()))
        .map_err(io_err)?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| io_err(anyhow::Error::new(e).context(format!("locking {}", p.display()))))
}

fn read_current(dir: &Path) -> Result<Option<DecodedList>, Fail> {
    let p = dir.join(LIST_FILE);
    let text = match fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(io_err(
                anyhow::Error::new(e).context(format!("reading {}", p.display())),
            ))
        }
    };
    revocation::decode_text(&text)
        .and_then(|b| revocation::decode(&b))
        .map(Some)
        .map_err(|r| corrupt(anyhow!("{}: {r}", p.display())))
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<(), Fail> {
    crate::replace::replace_file(path, data, crate::replace::Mode::LessUmask(0o644)).map_err(io_err)
}

fn show(a: &Args, now: i64) -> Result<u8, Fail> {
    let path = a.list.clone().unwrap_or_else(|| a.state.join(LIST_FILE));
    let text = fs::read_to_string(&path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(io_err)?;
    let keys = match &a.trusted_keys {
        None => None,
        Some(p) => {
            let s = fs::read_to_string(p)
                .with_context(|| format!("reading {}", p.display()))
                .map_err(io_err)?;
            Some(
                TrustedKeys::parse(&s)
                    .with_context(|| format!("trusted-keys file {}", p.display()))
                    .map_err(key_err)?,
            )
        }
    };
    let decoded = revocation::decode_text(&text).and_then(|b| revocation::decode(&b));
    let verdict = match (&decoded, &keys) {
        (Err(e), _) => Some(Err(e.clone())),
        (Ok(d), Some(k)) => Some(revocation::verify_decoded(d, k, now)),
        (Ok(_), None) => None,
    };
    let rejected = matches!(verdict, Some(Err(_)));
    if a.json {
        let mut v = serde_json::json!({
            "file": path,
            "decoded": decoded.is_ok(),
            "verified": keys.is_some() && !rejected,
            "reason": match &verdict { Some(Err(r)) => r.reason.code(), _ => "ok" },
        });
        if let Ok(d) = &decoded {
            v["kid"] = d.kid_str().into();
            v["revocation"] = d.list.to_json();
        }
        if let Some(Err(r)) = &verdict {
            v["message"] = r.message.clone().into();
        }
        out(&format!("{}\n", pretty(&v)))?;
    } else {
        let mut s = String::new();
        match &verdict {
            Some(Err(r)) => s.push_str(&format!("REJECTED: {r}\n")),
            Some(Ok(())) => s.push_str("valid: signature, key and type verified\n"),
            None => s.push_str("NOT VERIFIED (no --trusted-keys given); decoded:\n"),
        }
        if let Ok(d) = &decoded {
            let l = &d.list;
            s.push_str(&format!("file:       {}\n", path.display()));
            s.push_str(&format!("version:    {}\n", l.version));
            s.push_str(&format!(
                "issued:     {} ({})\n",
                fmt_time(l.iat),
                relative(l.iat, now)
            ));
            s.push_str(&format!("issuer:     {}\n", l.iss));
            s.push_str(&format!("kid:        {}\n", d.kid_str()));
            s.push_str(&format!("revoked tokens ({}):\n", l.tokens.len()));
            for (c, e) in &l.tokens {
                s.push_str(&format!(
                    "  {}  expires {} ({})\n",
                    hex(c),
                    fmt_time(*e),
                    relative(*e, now)
                ));
            }
            s.push_str(&format!("revoked users ({}):\n", l.users.len()));
            for u in &l.users {
                s.push_str(&format!("  {u}\n"));
            }
            s.push_str(&format!("watermarks ({}):\n", l.watermarks.len()));
            for (u, t) in &l.watermarks {
                s.push_str(&format!(
                    "  {u}: tokens issued before {} are void\n",
                    fmt_time(*t)
                ));
            }
            if l.has_ssh() {
                use jit_core::revocation::ssh;
                let n: usize = l.ssh_serials.values().map(|s| s.len()).sum();
                s.push_str(&format!("revoked certificate serials ({n}):\n"));
                for (ca, serials) in &l.ssh_serials {
                    for (n, e) in serials {
                        s.push_str(&format!(
                            "  {n} of CA {}  expires {}\n",
                            ssh::ca_text(ca),
                            fmt_time(*e)
                        ));
                    }
                }
                s.push_str(&format!(
                    "revoked certificate key ids ({}):\n",
                    l.ssh_key_ids.len()
                ));
                for (id, e) in &l.ssh_key_ids {
                    s.push_str(&format!("  {id}  expires {}\n", fmt_time(*e)));
                }
                s.push_str(&format!("revoked ssh keys ({}):\n", l.ssh_keys.len()));
                for fp in &l.ssh_keys {
                    s.push_str(&format!("  {}\n", ssh::fingerprint_text(fp)));
                }
            }
        }
        out(&s)?;
    }
    Ok(if rejected { 1 } else { 0 })
}
