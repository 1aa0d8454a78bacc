//! jit-verify: verify jit audit logs and answer audit queries.
//!
//! A thin CLI over `jit_core::log`; see docs/log-format.md.
#![forbid(unsafe_code)]

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use jit_core::log::query::{self, Filter, Stats};
use jit_core::log::verify::{self, Class, Options, Report, SealKey};
use jit_core::token::printable;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

mod ledger;

const EXIT_HELP: &str = "Exit codes (log): 0 intact, 1 tampered, 2 could not check \
(unreadable file, bad key or state file, bad arguments), 3 crash leftovers only (a torn \
tail, the state one step behind, a fork left at a rotation; no tampering found). query/stats: 0 ok, 2 error. standing/report: 0 answered from inputs that verify, 1 an input (ledger or host log) does not verify: refused, or answered anyway with --unverified, 2 error. config: 0 pam_jit would accept the configuration and keys, 1 it would refuse them.";

/// Verify and query jit audit logs (docs/log-format.md).
#[derive(Parser)]
#[command(name = "jit-verify", version, after_help = EXIT_HELP)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Verify the chain (and with --seal-key the seals) of one or more segments, oldest first.
    #[command(after_help = EXIT_HELP)]
    Log {
        /// The initial seal key exported at log creation (forward integrity).
        #[arg(long, value_name = "FILE")]
        seal_key: Option<PathBuf>,
        /// The writer's state file: detects a cut tail and (with --seal-key) a rolled-back state.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// Lock file to wait on if the log is being written (default: STATE.lock when --state is given).
        #[arg(long, value_name = "FILE")]
        lock: Option<PathBuf>,
        /// A syslog file holding the mirror lines: detects rewritten and cut records.
        #[arg(long, value_name = "FILE")]
        against_syslog: Option<PathBuf>,
        /// Accept a chain whose first segment starts with a continue record (older segments gone).
        #[arg(long)]
        partial: bool,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
        /// Segments, oldest first.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Show matching records as a table or JSON lines. Does not verify: run `log` first.
    Query {
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        host: Option<String>,
        /// Inclusive; RFC 3339 or "YYYY-MM-DD HH:MM" (UTC).
        #[arg(long)]
        since: Option<String>,
        /// Exclusive; RFC 3339 or "YYYY-MM-DD HH:MM" (UTC).
        #[arg(long)]
        until: Option<String>,
        /// Command path, its file name, or argv[0].
        #[arg(long)]
        command: Option<String>,
        /// Only decisions with this outcome.
        #[arg(long)]
        decision: Option<Decision>,
        /// Only break-glass records.
        #[arg(long = "break-glass")]
        break_glass: bool,
        /// JSON lines (the records as stored).
        #[arg(long)]
        json: bool,
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Per user / host / command counts, denials by reason, session durations.
    Stats {
        #[arg(long)]
        json: bool,
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Who held a live grant at TIME, to which host groups (from the issuance ledger).
    ///
    /// Verifies the ledger chain first and refuses to answer from a ledger that
    /// does not verify (unless --unverified). Live at TIME: nbf <= TIME < exp and
    /// not revoked by the revocation list in force at TIME.
    #[command(after_help = EXIT_HELP)]
    Standing {
        /// The instant: RFC 3339, "YYYY-MM-DD HH:MM[:SS]" (UTC) or "YYYY-MM-DD" (UTC midnight).
        #[arg(long, value_name = "TIME")]
        at: String,
        /// Only this user's grants.
        #[arg(long)]
        user: Option<String>,
        /// Only grants naming this host group.
        #[arg(long = "host-group", value_name = "GROUP")]
        host_group: Option<String>,
        #[command(flatten)]
        opts: ledger::LedgerOpts,
    },
    /// Per-user grants, TTL granted vs used, unused grants, refusals, host
    /// denials and break-glass uses, from the ledger and host logs.
    ///
    /// Verifies the ledger and every host log first (as `standing` does).
    /// Definitions: docs/log-format.md, "Reports".
    #[command(after_help = EXIT_HELP)]
    Report {
        /// Grants and refusals issued from this time on (inclusive); times as for --at.
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// Up to this time (exclusive).
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// Host audit logs (any hosts, any order: grouped by log and sorted by first seq).
        #[arg(long = "log", value_name = "FILE", num_args = 1..)]
        logs: Vec<PathBuf>,
        #[command(flatten)]
        opts: ledger::LedgerOpts,
    },
    /// Check this host's pam_jit configuration and trusted keys with the rules
    /// the module applies before every decision (file safety, strict parsing,
    /// a key usable now). `jit-ctl enable` runs it: a configuration the module
    /// refuses would deny every sudo, root's included.
    #[command(after_help = EXIT_HELP)]
    Config {
        /// The configuration file.
        #[arg(
            long,
            value_name = "FILE",
            default_value = "/etc/security/pam_jit.conf"
        )]
        config: PathBuf,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Write the man pages (jit-verify.1, one per subcommand) and the bash,
    /// zsh and fish completions into DIR; used by packaging/build.sh.
    #[command(name = "gen-docs", hide = true)]
    GenDocs {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Decision {
    Allow,
    Deny,
}

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(c) => c,
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                0
            } else if let Some(r) = e.downcast_ref::<ledger::Refused>() {
                eprintln!("jit-verify: {r}");
                1
            } else {
                eprintln!("jit-verify: error: {e:#}");
                2
            }
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> Result<i32> {
    match cli.cmd {
        Cmd::Log {
            seal_key,
            state,
            lock,
            against_syslog,
            partial,
            json,
            files,
        } => {
            let seal_key = seal_key
                .map(|p| SealKey::read(&p))
                .transpose()
                .context("reading the seal key")?;
            let lock = lock.or_else(|| state.as_deref().map(jit_core::log::lock_path_for));
            let state = state
                .map(|p| verify::read_state(&p))
                .transpose()
                .context("reading the state file")?;
            let syslog = against_syslog
                .map(|p| {
                    std::fs::read(&p)
                        .map(|t| verify::parse_syslog(&t))
                        .with_context(|| format!("reading {}", p.display()))
                })
                .transpose()?;
            let total: u64 = files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum();
            let bar = (std::io::stderr().is_terminal() && total > 64 << 20).then(|| {
                let b = indicatif::ProgressBar::new(total);
                b.set_style(
                    indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {eta}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b
            });
            let cb = |n: u64| {
                if let Some(b) = &bar {
                    b.set_position(n);
                }
            };
            let opts = Options {
                seal_key,
                state,
                lock,
                syslog,
                partial,
                progress: Some(&cb),
            };
            let report = verify::verify_files(&files, &opts).context("verifying")?;
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            // Break-glass uses are listed for review once the records are
            // known to be authentic (intact, or only a torn tail).
            let review = if matches!(report.exit_code, 0 | 3) {
                query::needs_review(&files).context("listing break-glass uses")?
            } else {
                Vec::new()
            };
            print_report(&report, &review, json)?;
            Ok(report.exit_code)
        }
        Cmd::Query {
            user,
            host,
            since,
            until,
            command,
            decision,
            break_glass,
            json,
            files,
        } => {
            let filter = Filter {
                user,
                host,
                since: since.map(|s| query::parse_time(&s)).transpose()?,
                until: until.map(|s| query::parse_time(&s)).transpose()?,
                command,
                decision: decision.map(|d| matches!(d, Decision::Allow)),
                kinds: Vec::new(),
                break_glass,
            };
            let out = std::io::stdout();
            let mut out = std::io::BufWriter::new(out.lock());
            if !json {
                writeln!(
                    out,
                    "{:<27} {:>8} {:<12} {:<10} {:<8} {:<6} {:<14} COMMAND",
                    "TIME", "SEQ", "HOST", "USER", "AS", "ALLOW", "REASON"
                )?;
            }
            let bad = query::for_each_record(&files, |_, _, r| {
                if !filter.matches(r) {
                    return Ok(());
                }
                if json {
                    serde_json::to_writer(&mut out, r)?;
                    writeln!(out)
                } else {
                    let cmd = match (&r.command, &r.argv) {
                        (_, Some(a)) => a.join(" "),
                        (Some(c), None) => c.to_string(),
                        _ => r.message.as_deref().unwrap_or("").to_string(),
                    };
                    let cmd = printable(&cmd);
                    writeln!(
                        out,
                        "{:<27} {:>8} {:<12} {:<10} {:<8} {:<6} {:<14} {}",
                        r.time,
                        r.seq,
                        r.host,
                        r.user.as_deref().unwrap_or("-"),
                        r.run_as_user.as_deref().unwrap_or("-"),
                        match r.allowed {
                            Some(true) => "yes",
                            Some(false) => "NO",
                            None => r.kind.as_str(),
                        },
                        r.reason_code.as_deref().unwrap_or("-"),
                        cmd
                    )
                }
            })?;
            out.flush()?;
            if bad > 0 {
                eprintln!("jit-verify: {bad} unparsable lines skipped (run `jit-verify log`)");
            }
            Ok(0)
        }
        Cmd::GenDocs { out } => gen_docs(&out).map(|_| 0),
        Cmd::Config { config, json } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let res = jit_core::config::check_host(&config, now);
            let mut out = std::io::stdout().lock();
            if json {
                let v = match &res {
                    Ok(c) => serde_json::json!({
                        "ok": true, "config": config, "host_groups": c.host_groups,
                        "trusted_keys": c.trusted_keys, "kids": c.kids, "usable_now": c.usable_now,
                    }),
                    Err(e) => serde_json::json!({"ok": false, "config": config, "error": e}),
                };
                serde_json::to_writer(&mut out, &v)?;
                writeln!(out)?;
            }
            match res {
                Ok(c) => {
                    if !json {
                        writeln!(
                            out,
                            "ok: {} (host groups {}; {} trusted key(s) in {}, usable now: {})",
                            config.display(),
                            c.host_groups.join(", "),
                            c.kids.len(),
                            c.trusted_keys.display(),
                            c.usable_now.join(", ")
                        )?;
                    }
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("jit-verify: pam_jit would refuse {}: {e}", config.display());
                    Ok(1)
                }
            }
        }
        Cmd::Standing {
            at,
            user,
            host_group,
            opts,
        } => ledger::standing(&at, user.as_deref(), host_group.as_deref(), &opts),
        Cmd::Report {
            from,
            to,
            logs,
            opts,
        } => ledger::report(from.as_deref(), to.as_deref(), &logs, &opts),
        Cmd::Stats { json, files } => {
            let mut st = Stats::default();
            st.unparsable_lines = query::for_each_record(&files, |_, _, r| {
                st.add(r);
                Ok(())
            })?;
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer(&mut out, &st)?;
                writeln!(out)?;
                return Ok(0);
            }
            writeln!(
                out,
                "records {}  decisions {}  allowed {}  denied {}  break-glass {}  recoveries {}",
                st.records, st.decisions, st.allowed, st.denied, st.break_glass, st.recoveries
            )?;
            for (title, m) in [
                ("per user", &st.per_user),
                ("per host", &st.per_host),
                ("per command", &st.per_command),
                ("denials by reason", &st.denials_by_reason),
            ] {
                writeln!(out, "\n{title}:")?;
                let mut v: Vec<_> = m.iter().collect();
                v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                for (k, n) in v {
                    writeln!(out, "  {n:>8}  {k}")?;
                }
            }
            let s = &st.sessions;
            writeln!(
                out,
                "\nsessions: {} closed, total {:.1}s, mean {:.1}s, max {:.1}s",
                s.count, s.total_secs, s.mean_secs, s.max_secs
            )?;
            if st.unparsable_lines > 0 {
                writeln!(out, "unparsable lines skipped: {}", st.unparsable_lines)?;
            }
            Ok(0)
        }
    }
}

fn print_report(r: &Report, review: &[query::ReviewItem], json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let mut v = serde_json::to_value(r)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("needs_review".into(), serde_json::to_value(review)?);
        }
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
        return Ok(());
    }
    let range = match (r.first_seq, r.last_seq) {
        (Some(a), Some(b)) => format!("seq {a}..{b}"),
        _ => "no records".into(),
    };
    writeln!(
        out,
        "{} records, {range}, log {}",
        r.records,
        r.log_id.as_deref().unwrap_or("?")
    )?;
    for f in &r.findings {
        let class = match f.class {
            Class::Tampered => "TAMPERED",
            Class::Torn => "TORN",
            Class::Warning => "warning",
            Class::Note => "note",
        };
        let kind = serde_json::to_value(f.kind)?;
        let loc = if f.file.is_empty() {
            String::new()
        } else {
            format!("{}:{}: ", f.file, f.line)
        };
        let seq = f.seq.map(|s| format!("seq {s}: ")).unwrap_or_default();
        writeln!(
            out,
            "{class} [{}] {loc}{seq}{}",
            kind.as_str().unwrap_or("?"),
            f.detail
        )?;
    }
    if r.forward_integrity_checked {
        writeln!(
            out,
            "forward integrity: checked (every seal verified with the initial key)"
        )?;
    } else {
        writeln!(
            out,
            "forward integrity: NOT checked (no --seal-key): only the plain hash chain was verified; \
             root can rewrite the whole file with a recomputed chain undetected"
        )?;
    }
    if !r.state_checked && !r.syslog_checked {
        writeln!(out, "tail: not anchored (no --state or --against-syslog): records cut from the end would not be seen")?;
    }
    if !review.is_empty() {
        writeln!(
            out,
            "NEEDS REVIEW: {} break-glass decision(s):",
            review.len()
        )?;
        for i in review {
            let cmd = match (&i.argv, &i.command) {
                (Some(a), _) => a.join(" "),
                (None, Some(c)) => c.clone(),
                _ => "-".into(),
            };
            writeln!(
                out,
                "  {}:{}: seq {} {} host {} user {} as {} {} [{}] token {} reason {:?}{} :: {}",
                i.file,
                i.line,
                i.seq,
                i.time,
                i.host,
                i.user.as_deref().unwrap_or("-"),
                i.run_as_user.as_deref().unwrap_or("-"),
                match i.allowed {
                    Some(true) => "ALLOWED",
                    _ => "denied",
                },
                i.reason_code.as_deref().unwrap_or("-"),
                i.token_id.as_deref().unwrap_or("-"),
                i.token_reason.as_deref().unwrap_or(""),
                i.ticket
                    .as_deref()
                    .map(|t| format!(" ticket {}", printable(t)))
                    .unwrap_or_default(),
                printable(&cmd)
            )?;
        }
    }
    let what = match r.exit_code {
        0 => "intact",
        1 => "TAMPERED",
        3 => "crash leftover only (torn tail, state one step behind or a fork at a rotation; no tampering found)",
        _ => "could not check",
    };
    writeln!(out, "result: {what} (exit {})", r.exit_code)?;
    Ok(())
}

/// Man pages and shell completions from the clap definitions (ripgrep's way:
/// one definition for --help, the man page and the completions).
fn gen_docs(dir: &std::path::Path) -> Result<()> {
    use clap::CommandFactory as _;
    use clap_complete::Shell;
    let mut cmd = Cli::command();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    clap_mangen::generate_to(cmd.clone(), dir)
        .with_context(|| format!("writing man pages into {}", dir.display()))?;
    for (shell, file) in [
        (Shell::Bash, "jit-verify.bash"),
        (Shell::Zsh, "_jit-verify"),
        (Shell::Fish, "jit-verify.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd, "jit-verify", &mut buf);
        let path = dir.join(file);
        std::fs::write(&path, buf).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
