//! jit-signer: issue and inspect jit capability tokens (docs/token-format.md).
//!
//! A thin CLI over `jit_core::{token, keys}`: argument parsing, files, output.
#![forbid(unsafe_code)]

mod revoke;
mod secret_file;

use std::fs::{self, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod approval;

use anyhow::{anyhow, bail, Context as _};
use clap::{Parser, Subcommand};
use jit_core::keys::{parse_time, Signer, SigningKeyWithKid, TrustedKeys};
use jit_core::token::{self, Claims, Decoded, Grant, Rejection, VerifyOptions};

mod ledger;
mod pkcs11;

const EXIT_CODES: &str = "\
Exit codes:
  0  success (inspect: the token decoded, and verified if --trusted-keys was given)
  1  the token was rejected (inspect)
  2  usage error or refused input (bad arguments, TTL out of range, expiry in the past)
  3  I/O error (cannot read or write a file, refusing to overwrite a key)
  4  key error (secret key or PIN file readable by group/others, invalid key or trusted-keys
     file; PKCS#11: key not found, several keys match, not an Ed25519 signing key; the
     process could not be made non-dumpable)
  5  PKCS#11 error (module cannot be loaded, token not found, wrong or locked PIN, signing
     failed or produced a signature that does not verify)
  6  ledger error: the issuance ledger could not be written; nothing was issued
  7  refused by the policy (the message names the rule and the part it does not cover),
     or by the approval rules (own request, not an approver)
  9  the request cannot be used (unknown id, expired, already decided, altered, wrong owner,
     or blocked: its verdict file ID.done was created by someone else)
 10  done but not delivered: the token was issued and recorded (issue, approve), the request
     spooled (request) or the key generated (keygen --pkcs11), but stdout could not take the
     result (e.g. a closed pipe); stderr says what was done and what to do (revoke, ask again)";

/// Issue and inspect jit capability tokens.
#[derive(Parser, Debug)]
#[command(name = "jit-signer", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

// Parsed once per process; boxing the large variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Cmd {
    /// Generate a signing key: DIR/KID.key (secret, mode 0600) and DIR/KID.pub
    /// (one trusted-keys line). Refuses to overwrite.
    ///
    /// With --pkcs11 URI the key pair is generated inside the token (labelled
    /// KID, sensitive, not extractable) and its trusted-keys line is printed.
    #[command(after_help = EXIT_CODES)]
    Keygen {
        /// Key id: 1-64 characters from A-Z a-z 0-9 . _ -
        #[arg(long)]
        kid: String,
        /// Directory to write the key pair into (created with mode 0700 if missing).
        #[arg(long, required_unless_present = "pkcs11", conflicts_with = "pkcs11")]
        out: Option<PathBuf>,
        #[command(flatten)]
        hsm: Pkcs11Args,
    },
    /// Print the trusted-keys line of a key (a key file or a PKCS#11 key).
    #[command(name = "export-pub", after_help = EXIT_CODES)]
    ExportPub {
        /// Secret key file written by `keygen`.
        #[arg(long, required_unless_present = "pkcs11", conflicts_with = "pkcs11")]
        key: Option<PathBuf>,
        #[command(flatten)]
        hsm: Pkcs11Args,
        /// Print {"kid", "alg", "public_key", "line"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Issue a token; prints it (base64url) on stdout.
    ///
    /// The token is printed only after its `issued` record is durable in the
    /// issuance ledger (--ledger); a refused request is recorded as `refused`.
    ///
    /// COMMAND syntax: words split on whitespace, with shell-style quoting
    /// ('single', "double" with \" and \\, backslash escapes). argv[0] must be an
    /// absolute path. A final unquoted `...` allows any further arguments;
    /// otherwise the command must match exactly. Example:
    /// --command "/usr/bin/systemctl restart nginx" --command "/usr/bin/journalctl -u nginx ..."
    #[command(after_help = EXIT_CODES)]
    Issue {
        /// Secret key file written by `keygen` (must not be readable by group or others).
        #[arg(long, required_unless_present = "pkcs11", conflicts_with = "pkcs11")]
        key: Option<PathBuf>,
        #[command(flatten)]
        hsm: Pkcs11Args,
        /// The Unix user allowed to use the token.
        #[arg(long)]
        user: String,
        /// Host group the token is valid on (repeatable, at least one).
        #[arg(long = "host-group", required = true)]
        host_groups: Vec<String>,
        /// A granted command (repeatable), see above.
        #[arg(long = "command")]
        commands: Vec<String>,
        /// A file the user may edit with sudoedit (repeatable).
        #[arg(long = "edit")]
        edits: Vec<String>,
        /// Allow `sudo -s` / `sudo -i`.
        #[arg(long)]
        shell: bool,
        /// Target user (repeatable). Default: root.
        #[arg(long = "run-as")]
        run_as: Vec<String>,
        /// Target group for `sudo -g` (repeatable). Default: none.
        #[arg(long = "run-as-group")]
        run_as_groups: Vec<String>,
        /// Lifetime, from 1m to 24h (humantime syntax: 30m, 1h30m).
        #[arg(long, default_value = "1h")]
        ttl: String,
        /// Start of validity: RFC 3339, @UNIXSECONDS or +DURATION. Default: now.
        #[arg(long = "not-before")]
        not_before: Option<String>,
        /// Why access is granted (recorded in every log entry).
        #[arg(long)]
        reason: String,
        /// Ticket / change reference.
        #[arg(long)]
        ticket: Option<String>,
        /// Who approved.
        #[arg(long)]
        approver: Option<String>,
        /// Issuer name. Default: the key id.
        #[arg(long)]
        issuer: Option<String>,
        /// Mark as an emergency (break-glass) token: single-use (implies
        /// --max-uses 1), alerted at authpriv.emerg by hosts and flagged for
        /// review by jit-verify.
        #[arg(long = "break-glass")]
        break_glass: bool,
        /// Maximum number of uses, counted by each host (1 for break-glass).
        #[arg(long = "max-uses")]
        max_uses: Option<u32>,
        /// Print claims and token as JSON.
        #[arg(long)]
        json: bool,
        /// Check the grant against this policy file (default: $JIT_POLICY);
        /// grants that need approval are refused (use `request`).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Pretend the time is this (RFC 3339 or @UNIXSECONDS); for tests.
        #[arg(long, hide = true)]
        now: Option<String>,
        #[command(flatten)]
        ledger: ledger::LedgerArgs,
    },
    /// Ask for a token under the signer policy; prints the request id.
    #[command(after_help = EXIT_CODES)]
    Request(approval::RequestArgs),
    /// Approve a pending request (never your own) and print the token.
    #[command(after_help = EXIT_CODES)]
    Approve(approval::ApproveArgs),
    /// Reject a pending request (an approver), or withdraw your own.
    #[command(after_help = EXIT_CODES)]
    Reject(approval::RejectArgs),
    /// List pending requests.
    #[command(after_help = EXIT_CODES)]
    Requests(approval::ListArgs),
    /// Decode a token and, with --trusted-keys, verify its signature, type,
    /// key, key window and validity time.
    #[command(after_help = EXIT_CODES)]
    Inspect {
        /// Trusted-keys file to verify against.
        #[arg(long = "trusted-keys")]
        trusted_keys: Option<PathBuf>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// Clock leeway in seconds.
        #[arg(long, default_value_t = 60)]
        leeway: u64,
        /// Pretend the time is this (RFC 3339 or @UNIXSECONDS).
        #[arg(long)]
        now: Option<String>,
        /// The token, or - to read it from stdin.
        token: String,
    },
    /// Revoke tokens or users: write the next signed revocation list.
    #[command(after_help = revoke::EXIT_CODES)]
    Revoke(revoke::RevokeArgs),
    /// Write the man pages (jit-signer.1, one per subcommand) and the bash,
    /// zsh and fish completions into DIR; used by packaging/build.sh.
    #[command(name = "gen-docs", hide = true)]
    GenDocs {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

/// A key in a PKCS#11 token (docs/jit-signer.md, "Keys in an HSM").
#[derive(clap::Args, Debug)]
struct Pkcs11Args {
    /// Use the key in a PKCS#11 token named by this RFC 7512 URI, e.g.
    /// 'pkcs11:token=jit;object=ops-2026a?module-path=/usr/lib/softhsm/libsofthsm2.so'.
    /// The key label (object=) is the kid.
    #[arg(long, value_name = "URI")]
    pkcs11: Option<String>,
    /// File holding the token's user PIN (owned by you, mode 0600). Without
    /// it, the PIN is read from the environment variable JIT_PKCS11_PIN.
    #[arg(long = "pin-file", value_name = "FILE", requires = "pkcs11")]
    pin_file: Option<PathBuf>,
}

impl Pkcs11Args {
    /// The signing key: the PKCS#11 key if --pkcs11 is given, else the key file.
    fn open_signer(&self, key: Option<&Path>) -> Result<Box<dyn Signer>, Fail> {
        self.check()?;
        Ok(match (&self.pkcs11, key) {
            (Some(uri), _) => Box::new(pkcs11::Pkcs11Signer::open(uri, self.pin_file.as_deref())?),
            (None, Some(k)) => Box::new(read_secret_key(k)?),
            (None, None) => return Err(usage(anyhow!("give --key FILE or --pkcs11 URI"))),
        })
    }

    /// clap drops `requires` when a conflicting argument (--key, --out) is
    /// present, so a stray --pin-file is refused here.
    fn check(&self) -> Result<(), Fail> {
        if self.pkcs11.is_none() && self.pin_file.is_some() {
            return Err(usage(anyhow!("--pin-file is only used with --pkcs11")));
        }
        Ok(())
    }
}

/// An error with an exit code.
pub(crate) struct Fail {
    code: u8,
    err: anyhow::Error,
}

impl Fail {
    /// The same error with exit code `to` if its code is `from` (a recorded
    /// refusal keeps the ledger's exit code 6 if the record failed).
    fn with_code_if(mut self, from: u8, to: u8) -> Fail {
        if self.code == from {
            self.code = to;
        }
        self
    }
}

fn usage(err: anyhow::Error) -> Fail {
    Fail { code: 2, err }
}

fn io_err(err: anyhow::Error) -> Fail {
    Fail { code: 3, err }
}

fn key_err(err: anyhow::Error) -> Fail {
    Fail { code: 4, err }
}

/// Exit code: something was done (a token issued and recorded, a request
/// spooled, a key generated) but its result could not be written to stdout.
pub(crate) const EXIT_UNDELIVERED: u8 = 10;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match not_dumpable().and_then(|_| run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            // A reader that stopped reading is no error for output that can
            // be produced again (inspect, requests, export-pub...), as in
            // jit-verify; it is for a result that exists nowhere else.
            if f.code != EXIT_UNDELIVERED && is_broken_pipe(&f.err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("jit-signer: error: {:#}", f.err);
            ExitCode::from(f.code)
        }
    }
}

/// jit-signer holds secret keys, PKCS#11 PINs and fresh tokens in memory.
/// A non-dumpable process (prctl PR_SET_DUMPABLE 0) cannot be ptraced by
/// other processes of the same user, its /proc/PID/mem, environ (where
/// $JIT_PKCS11_PIN is) and similar files become root's, and it leaves no core
/// dump. Set before any key, PIN or policy is read; if the kernel refuses,
/// or the attribute does not read back as set, nothing runs (exit 4): a key
/// tool that cannot protect the key does not load it.
fn not_dumpable() -> Result<(), Fail> {
    use nix::sys::prctl::{get_dumpable, set_dumpable};
    match set_dumpable(false).and_then(|_| get_dumpable()) {
        Ok(false) => Ok(()),
        Ok(true) => Err(key_err(anyhow!(
            "prctl(PR_SET_DUMPABLE, 0) did not take effect; refusing to handle keys in a \
             process other processes of this user could read"
        ))),
        Err(e) => Err(key_err(anyhow!(
            "cannot make the process non-dumpable (prctl PR_SET_DUMPABLE: {e}); refusing to \
             handle keys in a process other processes of this user could read"
        ))),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Write what a subcommand has just created and the caller can get nowhere
/// else (a token, a request id, a new key's trusted-keys line). If stdout
/// cannot take it, a broken pipe included, fail with exit 10 and `done`: what
/// was done (issued and recorded, spooled, generated) and what to do about
/// it, so the operator does not take a lost token for one never issued.
fn deliver(s: &str, done: impl FnOnce() -> String) -> Result<(), Fail> {
    out(s).map_err(|f| Fail {
        code: EXIT_UNDELIVERED,
        err: f.err.context(done()),
    })
}

/// Write to stdout; a broken pipe surfaces as an error `main` exits quietly on.
fn out(s: &str) -> Result<(), Fail> {
    let mut o = io::stdout().lock();
    o.write_all(s.as_bytes())
        .and_then(|_| o.flush())
        .map_err(|e| Fail {
            code: 3,
            err: anyhow::Error::new(e).context("writing to stdout"),
        })
}

fn run(cli: Cli) -> Result<u8, Fail> {
    match cli.cmd {
        Cmd::Keygen { kid, out: dir, hsm } => {
            hsm.check()?;
            match (&hsm.pkcs11, dir) {
                (Some(uri), _) => {
                    let line = pkcs11::keygen(uri, &kid, hsm.pin_file.as_deref())?;
                    deliver(&line, || {
                        format!(
                            "key {kid} was generated in the token, but its trusted-keys line \
                             was not delivered; it is: {}",
                            line.trim_end()
                        )
                    })
                    .map(|_| 0)
                }
                (None, Some(dir)) => keygen(&kid, &dir).map(|_| 0),
                (None, None) => Err(usage(anyhow!("give --out DIR or --pkcs11 URI"))),
            }
        }
        Cmd::ExportPub { key, hsm, json } => {
            let signer = hsm.open_signer(key.as_deref())?;
            let pk = signer.public_key().map_err(|e| key_err(e.into()))?;
            let line = pkcs11::trusted_line(signer.kid(), &pk);
            if json {
                let v = serde_json::json!({
                    "kid": signer.kid(),
                    "alg": "ed25519",
                    "public_key": line.split_ascii_whitespace().nth(2),
                    "line": line.trim_end(),
                });
                out(&format!("{}\n", pretty(&v)))
            } else {
                out(&line)
            }
            .map(|_| 0)
        }
        Cmd::Issue {
            key,
            hsm,
            user,
            host_groups,
            commands,
            edits,
            shell,
            run_as,
            run_as_groups,
            ttl,
            not_before,
            reason,
            ticket,
            approver,
            issuer,
            break_glass,
            max_uses,
            json,
            policy,
            now,
            ledger: ledger_args,
        } => {
            let lcfg = ledger_args.config();
            // What is known of the request, for a `refused` record.
            let mut req = jit_core::ledger::Refusal {
                user: Some(user.clone()),
                host_groups: host_groups.clone(),
                run_as: run_as.clone(),
                run_as_groups: run_as_groups.clone(),
                shell,
                reason: Some(reason.clone()),
                ticket: ticket.clone(),
                approver: approver.clone(),
                break_glass,
                max_uses,
                ..Default::default()
            };
            let refuse = |req: &jit_core::ledger::Refusal, code: &str, e: anyhow::Error| {
                ledger::refuse(&lcfg, req, code, e)
            };
            let now = now_or(now.as_deref()).map_err(|e| refuse(&req, "bad_time", e))?;
            let sk = hsm.open_signer(key.as_deref())?;
            req.kid = Some(sk.kid().to_string());
            let mut cmds: Vec<Grant> = Vec::new();
            for c in &commands {
                match token::parse_command(c) {
                    Ok(g) => cmds.push(g),
                    Err(e) => {
                        req.grants = cmds;
                        return Err(refuse(&req, "bad_command", anyhow!("--command {c:?}: {e}")));
                    }
                }
            }
            req.grants = cmds.clone();
            for f in &edits {
                if !f.starts_with('/') {
                    return Err(refuse(
                        &req,
                        "bad_command",
                        anyhow!("--edit {f:?}: not an absolute path"),
                    ));
                }
                cmds.push(Grant {
                    argv: vec!["sudoedit".into(), f.clone()],
                    any_args: false,
                });
            }
            req.grants = cmds.clone();
            if cmds.is_empty() && !shell {
                return Err(refuse(
                    &req,
                    "nothing_granted",
                    anyhow!("nothing granted: give at least one --command, --edit or --shell"),
                ));
            }
            check_name("--user", &user).map_err(|e| refuse(&req, "bad_name", e))?;
            for g in &host_groups {
                check_name("--host-group", g).map_err(|e| refuse(&req, "bad_name", e))?;
            }
            let run_as = if run_as.is_empty() {
                vec!["root".to_string()]
            } else {
                run_as
            };
            for u in run_as.iter().chain(&run_as_groups) {
                check_name("--run-as/--run-as-group", u)
                    .map_err(|e| refuse(&req, "bad_name", e))?;
            }
            let ttl = humantime::parse_duration(&ttl)
                .map_err(|e| refuse(&req, "bad_ttl", anyhow!("--ttl {ttl:?}: {e}")))?
                .as_secs();
            if !(60..=86_400).contains(&ttl) {
                return Err(refuse(
                    &req,
                    "ttl_out_of_range",
                    anyhow!(
                        "--ttl must be between 1 min and 24 h (got {})",
                        token::human_duration(ttl)
                    ),
                ));
            }
            let nbf = match not_before.as_deref() {
                None => now,
                Some(s) => parse_when(s, now).map_err(|e| refuse(&req, "bad_time", e))?,
            };
            req.nbf = Some(nbf);
            req.exp = Some(nbf.saturating_add(ttl as i64));
            if nbf < now {
                return Err(refuse(
                    &req,
                    "not_before_past",
                    anyhow!(
                        "--not-before is {} in the past",
                        token::human_duration(now.abs_diff(nbf))
                    ),
                ));
            }
            let exp = nbf.saturating_add(ttl as i64);
            if exp <= now {
                return Err(refuse(
                    &req,
                    "expired",
                    anyhow!("the token would expire in the past"),
                ));
            }
            if reason.trim().is_empty() {
                return Err(refuse(
                    &req,
                    "empty_reason",
                    anyhow!("--reason must not be empty"),
                ));
            }
            if max_uses == Some(0) {
                return Err(refuse(
                    &req,
                    "bad_max_uses",
                    anyhow!("--max-uses must be at least 1"),
                ));
            }
            let max_uses = match (break_glass, max_uses) {
                (true, None | Some(1)) => Some(1),
                (true, Some(n)) => {
                    return Err(refuse(
                        &req,
                        "bad_max_uses",
                        anyhow!("a break-glass token is single-use: --max-uses {n} is not allowed"),
                    ))
                }
                (false, m) => m,
            };
            let mut claims = Claims {
                iss: issuer.unwrap_or_else(|| sk.kid().to_string()),
                sub: user,
                iat: now,
                nbf,
                exp,
                cti: token::random_cti().map_err(|e| io_err(anyhow!(e)))?,
                hosts: host_groups,
                cmds,
                run_as,
                run_as_groups,
                shell,
                reason,
                ticket: ticket.filter(|t| !t.is_empty()),
                approver: approver.filter(|a| !a.is_empty()),
                break_glass,
                max_uses,
            };
            let rule = match approval::check_issue(policy, &mut claims, now) {
                Ok(rule) => rule,
                Err(approval::IssueCheck::Other(f)) => return Err(f),
                Err(approval::IssueCheck::Refused { rule, err }) => {
                    req.rule = rule;
                    return Err(ledger::refuse(&lcfg, &req, "policy", err)
                        .with_code_if(2, approval::EXIT_REFUSED));
                }
            };
            let tok = token::issue_b64(&claims, sk.as_ref()).map_err(|e| match e {
                token::IssueError::Sign(_) => Fail {
                    code: pkcs11::EXIT_PKCS11,
                    err: e.into(),
                },
                _ => refuse(&req, "cannot_issue", e.into()),
            })?;
            // No record, no token: print only once the `issued` record is durable.
            let seq = ledger::issued(
                &lcfg,
                &jit_core::ledger::Issued {
                    claims: &claims,
                    kid: sk.kid(),
                    requester: None,
                    rule: rule.as_deref(),
                },
            )?;
            let text = if json {
                let v = serde_json::json!({
                    "token": tok,
                    "kid": sk.kid(),
                    "claims": claims.to_json(),
                });
                format!("{}\n", pretty(&v))
            } else {
                format!("{tok}\n")
            };
            deliver(&text, || undelivered_token(&claims, &lcfg, seq, ""))?;
            Ok(0)
        }
        Cmd::Request(a) => approval::request(a),
        Cmd::Approve(a) => approval::approve(a),
        Cmd::Reject(a) => approval::reject(a),
        Cmd::Requests(a) => approval::list(a),
        Cmd::Inspect {
            trusted_keys,
            json,
            leeway,
            now,
            token: t,
        } => {
            let now = now_or(now.as_deref()).map_err(usage)?;
            let text = if t == "-" {
                // A token is at most ~11 KB of text; read a little more so
                // oversized input is still reported as oversized.
                let mut s = String::new();
                io::stdin()
                    .take(64 * 1024)
                    .read_to_string(&mut s)
                    .context("reading the token from stdin")
                    .map_err(io_err)?;
                s.trim_end_matches(['\n', '\r']).to_string()
            } else {
                t
            };
            let keys = match &trusted_keys {
                None => None,
                Some(p) => Some(read_trusted_keys(p)?),
            };
            inspect(&text, keys.as_ref(), now, leeway, json)
        }
        Cmd::Revoke(a) => revoke::run(a),
        Cmd::GenDocs { out: dir } => gen_docs(&dir).map(|_| 0).map_err(io_err),
    }
}

/// What stderr says of a token that was issued and recorded but could not
/// be written to stdout.
pub(crate) fn undelivered_token(
    c: &Claims,
    lcfg: &jit_core::log::LogConfig,
    seq: u64,
    also: &str,
) -> String {
    let cti = token::hex(&c.cti);
    format!(
        "token {cti} for {} was issued and recorded in the issuance ledger {} (record seq \
         {seq}){also}, but was not delivered (or only in part): revoke it (jit-signer revoke \
         --token-id {cti} --exp @{} ...) and issue again",
        c.sub,
        lcfg.log_path.display(),
        c.exp
    )
}

fn read_trusted_keys(p: &Path) -> Result<TrustedKeys, Fail> {
    let s = fs::read_to_string(p)
        .with_context(|| format!("reading {}", p.display()))
        .map_err(io_err)?;
    TrustedKeys::parse(&s)
        .with_context(|| format!("trusted-keys file {}", p.display()))
        .map_err(key_err)
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

fn check_name(what: &str, s: &str) -> anyhow::Result<()> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("{what} {s:?}: must be non-empty without whitespace or control characters");
    }
    Ok(())
}

fn now_or(s: Option<&str>) -> anyhow::Result<i64> {
    match s {
        Some(s) => {
            parse_time(s).ok_or_else(|| anyhow!("bad time {s:?}: use RFC 3339 or @UNIXSECONDS"))
        }
        None => Ok(time::OffsetDateTime::now_utc().unix_timestamp()),
    }
}

fn parse_when(s: &str, now: i64) -> anyhow::Result<i64> {
    if let Some(d) = s.strip_prefix('+') {
        let d = humantime::parse_duration(d).with_context(|| format!("--not-before {s:?}"))?;
        return i64::try_from(d.as_secs())
            .ok()
            .and_then(|d| now.checked_add(d))
            .ok_or_else(|| anyhow!("--not-before {s:?} is out of range"));
    }
    parse_time(s).ok_or_else(|| {
        anyhow!(
            "--not-before {s:?}: use RFC 3339 (2026-01-01T09:00:00Z), @UNIXSECONDS or +DURATION"
        )
    })
}

/// Create `dir` (and missing parents) mode 0700 if it does not exist.
fn create_private_dir(dir: &Path) -> Result<(), Fail> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))
            .map_err(io_err)?;
    }
    Ok(())
}

fn keygen(kid: &str, dir: &Path) -> Result<(), Fail> {
    let sk = SigningKeyWithKid::generate(kid).map_err(|e| usage(e.into()))?;
    create_private_dir(dir)?;
    let key_path = dir.join(format!("{kid}.key"));
    let pub_path = dir.join(format!("{kid}.pub"));
    for p in [&key_path, &pub_path] {
        if fs::symlink_metadata(p).is_ok() {
            return Err(io_err(anyhow!(
                "{} already exists; refusing to overwrite",
                p.display()
            )));
        }
    }
    let write_new = |p: &Path, mode: u32, data: &[u8]| -> anyhow::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(p)
            .with_context(|| format!("creating {} (refusing to overwrite)", p.display()))?;
        f.write_all(data)
            .and_then(|_| f.sync_all())
            .with_context(|| format!("writing {}", p.display()))
    };
    write_new(&key_path, 0o600, sk.to_secret_file().as_bytes()).map_err(io_err)?;
    write_new(&pub_path, 0o644, sk.trusted_keys_line().as_bytes()).map_err(io_err)?;
    out(&format!(
        "wrote {} (secret, mode 0600) and {} (append it to the trusted-keys file of every host)\n",
        key_path.display(),
        pub_path.display()
    ))
}

fn read_secret_key(path: &Path) -> Result<SigningKeyWithKid, Fail> {
    let mut f = fs::File::open(path)
        .with_context(|| format!("opening key file {}", path.display()))
        .map_err(io_err)?;
    let md = f
        .metadata()
        .with_context(|| format!("reading key file {}", path.display()))
        .map_err(io_err)?;
    secret_file::check_private_file(&md, path, "key file")?;
    let mut s = zeroize::Zeroizing::new(String::new());
    f.read_to_string(&mut s)
        .with_context(|| format!("reading key file {}", path.display()))
        .map_err(io_err)?;
    SigningKeyWithKid::from_secret_file(&s)
        .with_context(|| format!("key file {}", path.display()))
        .map_err(key_err)
}

fn relative(t: i64, now: i64) -> String {
    if t >= now {
        format!("in {}", token::human_duration(t.abs_diff(now)))
    } else {
        format!("{} ago", token::human_duration(now.abs_diff(t)))
    }
}

fn inspect(
    text: &str,
    keys: Option<&TrustedKeys>,
    now: i64,
    leeway: u64,
    json: bool,
) -> Result<u8, Fail> {
    let decoded: Result<Decoded, Rejection> =
        token::decode_b64(text).and_then(|b| token::decode(&b));
    let verdict: Option<Result<(), Rejection>> = match (&decoded, keys) {
        (Ok(d), Some(k)) => Some(token::verify_decoded(
            d,
            k,
            now,
            &VerifyOptions {
                leeway_secs: leeway,
            },
        )),
        (Err(e), _) => Some(Err(e.clone())),
        (Ok(_), None) => None,
    };
    let rejected = matches!(verdict, Some(Err(_)));
    if json {
        let mut v = serde_json::json!({
            "verified": keys.is_some() && !rejected,
            "decoded": decoded.is_ok(),
            "reason": match &verdict { Some(Err(r)) => r.reason.code(), _ => "ok" },
            "message": match &verdict {
                Some(Err(r)) => r.message.clone(),
                Some(Ok(())) => "token is valid".to_string(),
                None => "decoded only; give --trusted-keys to verify".to_string(),
            },
        });
        if let Ok(d) = &decoded {
            v["kid"] = d.kid_str().into();
            v["alg"] = d.alg.into();
            v["typ"] = d.typ.clone().into();
            v["claims"] = d.claims.to_json();
        }
        out(&format!("{}\n", pretty(&v)))?;
    } else {
        let mut s = String::new();
        match &verdict {
            Some(Err(r)) => s.push_str(&format!("REJECTED: {} ({})\n", r.message, r.reason.code())),
            Some(Ok(())) => s.push_str("valid: signature, key, type and time verified\n"),
            None => s.push_str("NOT VERIFIED (no --trusted-keys given); decoded:\n"),
        }
        if let Ok(d) = &decoded {
            let c = &d.claims;
            let list = |v: &[String]| {
                if v.is_empty() {
                    "(none)".to_string()
                } else {
                    v.join(", ")
                }
            };
            s.push_str(&format!("kid:        {}\n", d.kid_str()));
            s.push_str(&format!("alg:        {}\n", d.alg));
            s.push_str(&format!("token id:   {}\n", token::hex(&c.cti)));
            s.push_str(&format!("issuer:     {}\n", c.iss));
            s.push_str(&format!("user:       {}\n", c.sub));
            s.push_str(&format!("issued:     {}\n", token::fmt_time(c.iat)));
            s.push_str(&format!(
                "not before: {} ({})\n",
                token::fmt_time(c.nbf),
                relative(c.nbf, now)
            ));
            s.push_str(&format!(
                "expires:    {} ({})\n",
                token::fmt_time(c.exp),
                relative(c.exp, now)
            ));
            s.push_str(&format!("host groups: {}\n", list(&c.hosts)));
            s.push_str(&format!("run as:     {}\n", list(&c.run_as)));
            if !c.run_as_groups.is_empty() {
                s.push_str(&format!("run as groups: {}\n", list(&c.run_as_groups)));
            }
            s.push_str(&format!(
                "shell:      {}\n",
                if c.shell { "yes" } else { "no" }
            ));
            s.push_str("commands:\n");
            if c.cmds.is_empty() {
                s.push_str("  (none)\n");
            }
            for g in &c.cmds {
                s.push_str(&format!("  {}\n", g.display()));
            }
            s.push_str(&format!("reason:     {}\n", c.reason));
            if let Some(t) = &c.ticket {
                s.push_str(&format!("ticket:     {t}\n"));
            }
            if let Some(a) = &c.approver {
                s.push_str(&format!("approver:   {a}\n"));
            }
            if c.break_glass {
                s.push_str("break-glass: yes\n");
            }
            if let Some(m) = c.max_uses {
                s.push_str(&format!("max uses:   {m}\n"));
            }
        }
        out(&s)?;
    }
    Ok(if rejected { 1 } else { 0 })
}

/// Man pages and shell completions from the clap definitions (ripgrep's way:
/// one definition for --help, the man page and the completions).
fn gen_docs(dir: &Path) -> anyhow::Result<()> {
    use clap::CommandFactory as _;
    use clap_complete::Shell;
    let mut cmd = Cli::command();
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    clap_mangen::generate_to(cmd.clone(), dir)
        .with_context(|| format!("writing man pages into {}", dir.display()))?;
    for (shell, file) in [
        (Shell::Bash, "jit-signer.bash"),
        (Shell::Zsh, "_jit-signer"),
        (Shell::Fish, "jit-signer.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd, "jit-signer", &mut buf);
        let path = dir.join(file);
        fs::write(&path, buf).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
