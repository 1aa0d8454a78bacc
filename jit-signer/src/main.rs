//! jit-signer: issue and inspect jit capability tokens (docs/token-format.md).
//!
//! A thin CLI over `jit_core::{token, keys}`: argument parsing, files, output.
#![forbid(unsafe_code)]

use std::fs::{self, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod approval;

use anyhow::{anyhow, bail, Context as _};
use clap::{Parser, Subcommand};
use jit_core::keys::{parse_time, SigningKeyWithKid, TrustedKeys};
use jit_core::token::{self, Claims, Decoded, Grant, Rejection, VerifyOptions};

const EXIT_CODES: &str = "\
Exit codes:
  0  success (inspect: the token decoded, and verified if --trusted-keys was given)
  1  the token was rejected (inspect)
  2  usage error or refused input (bad arguments, TTL out of range, expiry in the past)
  3  I/O error (cannot read or write a file, refusing to overwrite a key)
  4  key error (secret key file readable by group/others, invalid key or trusted-keys file)
  5  refused by the policy (the message names the rule and the part it does not cover),
     or by the approval rules (own request, not an approver)
  6  the request cannot be used (unknown id, expired, already decided, altered, wrong owner)";

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
    #[command(after_help = EXIT_CODES)]
    Keygen {
        /// Key id: 1-64 characters from A-Z a-z 0-9 . _ -
        #[arg(long)]
        kid: String,
        /// Directory to write the key pair into (created with mode 0700 if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Issue a token; prints it (base64url) on stdout.
    ///
    /// COMMAND syntax: words split on whitespace, with shell-style quoting
    /// ('single', "double" with \" and \\, backslash escapes). argv[0] must be an
    /// absolute path. A final unquoted `...` allows any further arguments;
    /// otherwise the command must match exactly. Example:
    /// --command "/usr/bin/systemctl restart nginx" --command "/usr/bin/journalctl -u nginx ..."
    #[command(after_help = EXIT_CODES)]
    Issue {
        /// Secret key file written by `keygen` (must not be readable by group or others).
        #[arg(long)]
        key: PathBuf,
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
        /// Mark as an emergency (break-glass) token.
        #[arg(long = "break-glass")]
        break_glass: bool,
        /// Maximum number of uses (enforced by hosts in a later version).
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
    /// Full policy decision for an invocation given as JSON (interop tests).
    #[command(hide = true)]
    Decide {
        /// Trusted-keys file.
        #[arg(long = "trusted-keys")]
        trusted_keys: PathBuf,
        /// The invocation, as in docs/vectors/manifest.json.
        #[arg(long)]
        invocation: String,
        /// Clock leeway in seconds.
        #[arg(long, default_value_t = 60)]
        leeway: u64,
        /// Pretend the time is this (RFC 3339 or @UNIXSECONDS).
        #[arg(long)]
        now: Option<String>,
        /// The token.
        token: String,
    },
    /// Write the golden vectors of docs/vectors into DIR (deterministic).
    #[command(name = "gen-vectors", hide = true)]
    GenVectors {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the man pages (jit-signer.1, one per subcommand) and the bash,
    /// zsh and fish completions into DIR; used by packaging/build.sh.
    #[command(name = "gen-docs", hide = true)]
    GenDocs {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

/// An error with an exit code.
struct Fail {
    code: u8,
    err: anyhow::Error,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            if is_broken_pipe(&f.err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("jit-signer: error: {:#}", f.err);
            ExitCode::from(f.code)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
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
        Cmd::Keygen { kid, out: dir } => keygen(&kid, &dir).map(|_| 0),
        Cmd::Issue {
            key,
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
        } => {
            let now = now_or(now.as_deref()).map_err(usage)?;
            let sk = read_secret_key(&key)?;
            let mut cmds: Vec<Grant> = Vec::new();
            for c in &commands {
                cmds.push(
                    token::parse_command(c).map_err(|e| usage(anyhow!("--command {c:?}: {e}")))?,
                );
            }
            for f in &edits {
                if !f.starts_with('/') {
                    return Err(usage(anyhow!("--edit {f:?}: not an absolute path")));
                }
                cmds.push(Grant {
                    argv: vec!["sudoedit".into(), f.clone()],
                    any_args: false,
                });
            }
            if cmds.is_empty() && !shell {
                return Err(usage(anyhow!(
                    "nothing granted: give at least one --command, --edit or --shell"
                )));
            }
            check_name("--user", &user).map_err(usage)?;
            for g in &host_groups {
                check_name("--host-group", g).map_err(usage)?;
            }
            let run_as = if run_as.is_empty() {
                vec!["root".to_string()]
            } else {
                run_as
            };
            for u in run_as.iter().chain(&run_as_groups) {
                check_name("--run-as/--run-as-group", u).map_err(usage)?;
            }
            let ttl = humantime::parse_duration(&ttl)
                .map_err(|e| usage(anyhow!("--ttl {ttl:?}: {e}")))?
                .as_secs();
            if !(60..=86_400).contains(&ttl) {
                return Err(usage(anyhow!(
                    "--ttl must be between 1 min and 24 h (got {})",
                    token::human_duration(ttl)
                )));
            }
            let nbf = match not_before.as_deref() {
                None => now,
                Some(s) => parse_when(s, now).map_err(usage)?,
            };
            if nbf < now {
                return Err(usage(anyhow!(
                    "--not-before is {} in the past",
                    token::human_duration(now.abs_diff(nbf))
                )));
            }
            let exp = nbf.saturating_add(ttl as i64);
            if exp <= now {
                return Err(usage(anyhow!("the token would expire in the past")));
            }
            if reason.trim().is_empty() {
                return Err(usage(anyhow!("--reason must not be empty")));
            }
            if max_uses == Some(0) {
                return Err(usage(anyhow!("--max-uses must be at least 1")));
            }
            let mut claims = Claims {
                iss: issuer.unwrap_or_else(|| sk.kid.clone()),
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
            approval::check_issue(policy, &mut claims, now)?;
            let tok = token::issue_b64(&claims, &sk).map_err(|e| usage(e.into()))?;
            if json {
                let v = serde_json::json!({
                    "token": tok,
                    "kid": sk.kid,
                    "claims": claims.to_json(),
                });
                out(&format!("{}\n", pretty(&v)))?;
            } else {
                out(&format!("{tok}\n"))?;
            }
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
        Cmd::Decide {
            trusted_keys,
            invocation,
            leeway,
            now,
            token: t,
        } => {
            let now = now_or(now.as_deref()).map_err(usage)?;
            let keys = read_trusted_keys(&trusted_keys)?;
            let v: serde_json::Value = serde_json::from_str(&invocation)
                .context("--invocation")
                .map_err(usage)?;
            let inv = jit_core::token::vectors::invocation_from_json(&v)
                .map_err(|e| usage(anyhow!("--invocation: {e}")))?;
            let d = token::decide(
                &t,
                &keys,
                now,
                &inv,
                &VerifyOptions {
                    leeway_secs: leeway,
                },
            );
            let v = serde_json::json!({
                "allowed": d.allowed,
                "reason": d.reason.code(),
                "message": d.message,
            });
            out(&format!("{v}\n"))?;
            Ok(if d.allowed { 0 } else { 1 })
        }
        Cmd::GenDocs { out: dir } => gen_docs(&dir).map(|_| 0).map_err(io_err),
        Cmd::GenVectors { out: dir } => {
            fs::create_dir_all(&dir)
                .with_context(|| format!("creating {}", dir.display()))
                .map_err(io_err)?;
            let files = jit_core::token::vectors::generate().map_err(|e| Fail {
                code: 1,
                err: anyhow!("generating vectors: {e}"),
            })?;
            for (name, content) in files {
                let p = dir.join(&name);
                fs::write(&p, content)
                    .with_context(|| format!("writing {}", p.display()))
                    .map_err(io_err)?;
            }
            Ok(0)
        }
    }
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

fn keygen(kid: &str, dir: &Path) -> Result<(), Fail> {
    let sk = SigningKeyWithKid::generate(kid).map_err(|e| usage(e.into()))?;
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))
            .map_err(io_err)?;
    }
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
    if !md.is_file() {
        return Err(key_err(anyhow!(
            "key file {} is not a regular file",
            path.display()
        )));
    }
    let mode = md.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(key_err(anyhow!(
            "key file {} is accessible by group or others (mode {:04o}); run chmod 600 {}",
            path.display(),
            mode,
            path.display()
        )));
    }
    let mut s = zeroize::Zeroizing::new(String::new());
    f.read_to_string(&mut s)
        .with_context(|| format!("reading key file {}", path.display()))
        .map_err(io_err)?;
    SigningKeyWithKid::from_secret_file(&s)
        .with_context(|| format!("key file {}", path.display()))
        .map_err(key_err)
}

fn fmt_time(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("@{t}"))
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
            s.push_str(&format!("issued:     {}\n", fmt_time(c.iat)));
            s.push_str(&format!(
                "not before: {} ({})\n",
                fmt_time(c.nbf),
                relative(c.nbf, now)
            ));
            s.push_str(&format!(
                "expires:    {} ({})\n",
                fmt_time(c.exp),
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
