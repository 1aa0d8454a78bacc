//! `jit-verify standing` and `jit-verify report`: thin output over
//! `jit_core::ledger` (docs/log-format.md, "The issuance ledger").

use anyhow::{bail, Context, Result};
use clap::Args;
use jit_core::ledger::load::{self, Ledger, LedgerCheck};
use jit_core::ledger::report::{self, HostUsage, Window};
use jit_core::ledger::standing;
use jit_core::log::merge;
use jit_core::log::query::Filter;
use jit_core::log::record::hex;
use jit_core::log::verify::{self, Class, Outcome, Report as VReport, SealKey};
use std::io::Write;
use std::path::PathBuf;

/// How to find and check the ledger (shared by standing and report).
#[derive(Args, Debug)]
pub struct LedgerOpts {
    /// Ledger segments (any order: they are sorted by first seq). Segments
    /// of several ledgers (several signers) are grouped by log id, each
    /// verified, and answered from together.
    #[arg(long, value_name = "FILE", num_args = 1.., default_value = jit_core::ledger::DEFAULT_LEDGER_PATH)]
    pub ledger: Vec<PathBuf>,
    /// The ledger's initial seal key (NAME.seal-key.initial): check forward
    /// integrity. Repeatable with several ledgers: each key goes to the
    /// ledger of its log id.
    #[arg(long, value_name = "FILE")]
    pub seal_key: Vec<PathBuf>,
    /// The ledger's state file (NAME.state): detect records cut from the end.
    /// Repeatable with several ledgers, as --seal-key.
    #[arg(long, value_name = "FILE")]
    pub state: Vec<PathBuf>,
    /// Accept chains whose oldest segment starts with a continue record (older segments gone).
    #[arg(long)]
    pub partial: bool,
    /// Answer even if an input does not verify. The output then says
    /// UNVERIFIED and the exit code is still 1.
    #[arg(long)]
    pub unverified: bool,
    /// One JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Verified (or, with --unverified, merely read) inputs.
struct Loaded {
    /// The entries of every ledger given, each list in time order.
    ledger: Ledger,
    /// One verification report per ledger (log id), in log-id order.
    reports: Vec<VReport>,
    verified: bool,
}

impl Loaded {
    /// The verification as `--json` gives it: the report of the one ledger,
    /// or, with several ledgers (several signers), an array of them.
    fn verification_json(&self) -> serde_json::Value {
        match self.reports.as_slice() {
            [one] => serde_json::to_value(one).unwrap_or_default(),
            many => serde_json::to_value(many).unwrap_or_default(),
        }
    }
}

fn finding_lines(what: &str, r: &VReport) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| f.class >= Class::Torn)
        .map(|f| format!("{what}: {}", crate::finding_line(f)))
        .collect()
}

/// Say loudly that `what` does not verify; Err unless --unverified.
pub(crate) fn judge(what: &str, r: &VReport, unverified: bool) -> Result<bool> {
    judge_with(what, r, unverified, "--unverified")
}

/// [`judge`], naming `flag` as the option that answers anyway.
pub(crate) fn judge_with(what: &str, r: &VReport, unverified: bool, flag: &str) -> Result<bool> {
    if r.outcome == Outcome::Intact {
        return Ok(true);
    }
    for l in finding_lines(what, r) {
        eprintln!("jit-verify: {l}");
    }
    let state = match r.outcome {
        Outcome::Tampered => "TAMPERED",
        Outcome::TornTail => "TORN (crash leftover)",
        _ => "NOT CHECKED",
    };
    refuse_or_warn(what, state, unverified, flag)
}

/// `what` does not verify (`state`: TAMPERED, ...): refused (exit 1), or,
/// with `unverified` (the option `flag`), said loudly and answered anyway
/// (`Ok(false)`). The one wording of every command that answers from logs.
pub(crate) fn refuse_or_warn(
    what: &str,
    state: &str,
    unverified: bool,
    flag: &str,
) -> Result<bool> {
    if !unverified {
        bail!(Refused(format!(
            "{what} does not verify ({state}); refusing to answer from it ({flag} answers anyway)"
        )));
    }
    eprintln!(
        "jit-verify: WARNING: {what} does not verify ({state}); answering ANYWAY because of \
         {flag}: the answer below is UNVERIFIED and may be false"
    );
    Ok(false)
}

/// How `standing` names what revoked a grant or certificate.
fn revoked_by_word(b: Option<standing::RevokedBy>) -> &'static str {
    match b {
        Some(standing::RevokedBy::TokenId) => "token id",
        Some(standing::RevokedBy::User) => "user",
        Some(standing::RevokedBy::Watermark) => "watermark",
        Some(standing::RevokedBy::SshKeyId) => "key id",
        Some(standing::RevokedBy::SshSerial) => "serial",
        Some(standing::RevokedBy::SshKey) => "key",
        None => "?",
    }
}

/// An input did not verify and we refused: exit 1.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn load(o: &LedgerOpts) -> Result<Loaded> {
    // Several ledgers (one per signer) are told apart by log id.
    let groups = load::group_segments(&o.ledger).context("reading the ledger")?;
    let mut keys: Vec<SealKey> = o
        .seal_key
        .iter()
        .map(|p| SealKey::read(p))
        .collect::<Result<_, _>>()
        .context("reading the seal key")?;
    let mut states: Vec<jit_core::log::state::State> = o
        .state
        .iter()
        .map(|p| verify::read_state(p))
        .collect::<Result<_, _>>()
        .context("reading the state file")?;
    let several = groups.len() > 1;
    let mut ledger = Ledger::default();
    let mut reports = Vec::new();
    let mut verified = true;
    for files in &groups {
        let id = load::log_id_of(files).context("reading the ledger")?;
        // One ledger: its key and state whatever they name (a mismatch is a
        // finding); several: each goes to the ledger of its log id.
        let mine = |log_id: &[u8; 16]| !several || id.as_deref() == Some(&hex(log_id)[..]);
        let check = LedgerCheck {
            seal_key: keys
                .iter()
                .position(|k| mine(&k.log_id))
                .map(|i| keys.remove(i)),
            state: states
                .iter()
                .position(|st| mine(&st.log_id))
                .map(|i| states.remove(i)),
            partial: o.partial,
        };
        let report = load::verify_ledger(files, check).context("verifying the ledger")?;
        let name = match (&id, several) {
            (Some(id), true) => format!("ledger {id}"),
            _ => "ledger".to_string(),
        };
        verified &= judge(&name, &report, o.unverified)?;
        if verified && !report.forward_integrity_checked {
            eprintln!(
                "jit-verify: note: {name} forward integrity NOT checked (no --seal-key): only the plain hash chain"
            );
        }
        let l = load::read_ledger(files).context("reading the ledger")?;
        ledger.absorb(l);
        reports.push(report);
    }
    if let Some(k) = keys.first() {
        bail!(
            "--seal-key for log {} matches no --ledger given",
            hex(&k.log_id)
        );
    }
    if let Some(st) = states.first() {
        bail!(
            "--state of log {} matches no --ledger given",
            hex(&st.log_id)
        );
    }
    ledger.sort_by_time();
    Ok(Loaded {
        ledger,
        reports,
        verified,
    })
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

/// `standing`.
pub fn standing(at: &str, user: Option<&str>, group: Option<&str>, o: &LedgerOpts) -> Result<i32> {
    let at_n = crate::clock()?.parse(at)?;
    let secs = standing::secs_of(&at_n).context("the --at time")?;
    let l = load(o)?;
    let mut s = standing::standing(&l.ledger, &at_n, secs);
    s.retain(user, group);
    let mut out = std::io::stdout().lock();
    if o.json {
        let v = serde_json::json!({
            "json_version": crate::JSON_VERSION,
            "at": s.at,
            "verified": l.verified,
            "verification": l.verification_json(),
            "revocation_version": s.revocation_version,
            "live": s.live,
            "revoked": s.revoked,
            "ssh_live": s.ssh_live,
            "ssh_revoked": s.ssh_revoked,
        });
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
    } else {
        if !l.verified {
            writeln!(out, "UNVERIFIED LEDGER: this answer may be false")?;
        }
        writeln!(
            out,
            "live grants at {} ({} in {}; revocation list {})",
            s.at,
            l.ledger.issued.len(),
            match l.reports.as_slice() {
                [one] => format!(
                    "the ledger, last seq {}",
                    one.last_seq.map_or("-".into(), |q| q.to_string())
                ),
                many => format!("{} ledgers", many.len()),
            },
            s.revocation_version
                .map_or("none".into(), |v| format!("v{v} in force"))
        )?;
        writeln!(
            out,
            "{:<12} {:<32} {:<16} {:<8} {:<20} {:<10} COMMANDS",
            "USER", "TOKEN", "HOST GROUPS", "RUN AS", "EXPIRES", "APPROVER"
        )?;
        for h in &s.live {
            let mut cmds = h.commands.join(" ; ");
            if h.shell {
                cmds = if cmds.is_empty() {
                    "(shell)".into()
                } else {
                    format!("{cmds} ; (shell)")
                };
            }
            writeln!(
                out,
                "{:<12} {:<32} {:<16} {:<8} {:<20} {:<10} {}{}",
                h.user,
                h.token_id,
                list(&h.host_groups),
                list(&h.run_as),
                h.expires,
                h.approver.as_deref().unwrap_or("-"),
                if h.break_glass { "[BREAK-GLASS] " } else { "" },
                cmds
            )?;
        }
        writeln!(out, "{} live", s.live.len())?;
        if !s.revoked.is_empty() {
            writeln!(out, "\nin their window but revoked by then:")?;
            for h in &s.revoked {
                let by = revoked_by_word(h.revoked_by);
                writeln!(
                    out,
                    "  {:<12} {:<32} {:<16} revoked by {by} (list v{})",
                    h.user,
                    h.token_id,
                    list(&h.host_groups),
                    h.revocation_version.unwrap_or(0)
                )?;
            }
        }
        writeln!(
            out,
            "\nlive SSH certificates at {} ({} in the ledger)",
            s.at,
            l.ledger.ssh_certs.len()
        )?;
        writeln!(
            out,
            "{:<12} {:<32} {:<20} {:<24} {:<20} {:<10} FORCE-COMMAND",
            "USER", "KEY ID", "SERIAL", "PRINCIPALS", "VALID BEFORE", "APPROVER"
        )?;
        for h in &s.ssh_live {
            writeln!(
                out,
                "{:<12} {:<32} {:<20} {:<24} {:<20} {:<10} {}",
                h.user,
                h.key_id,
                h.serial,
                list(&h.principals),
                h.valid_before,
                h.approver.as_deref().unwrap_or("-"),
                h.force_command.as_deref().unwrap_or("-")
            )?;
        }
        writeln!(out, "{} live", s.ssh_live.len())?;
        if !s.ssh_revoked.is_empty() {
            writeln!(
                out,
                "\nSSH certificates in their window but revoked by then:"
            )?;
            for h in &s.ssh_revoked {
                let by = revoked_by_word(h.revoked_by);
                writeln!(
                    out,
                    "  {:<12} {:<32} {:<20} revoked by {by} (list v{})",
                    h.user,
                    h.key_id,
                    h.serial,
                    h.revocation_version.unwrap_or(0)
                )?;
            }
        }
    }
    Ok(if l.verified { 0 } else { 1 })
}

/// `report`.
pub fn report(
    from: Option<&str>,
    to: Option<&str>,
    logs: &[PathBuf],
    o: &LedgerOpts,
) -> Result<i32> {
    // The local zone is only looked up when a time is given.
    let clock = match (from, to) {
        (None, None) => None,
        _ => Some(crate::clock()?),
    };
    let read = |t: Option<&str>| -> Result<Option<String>> {
        match (t, &clock) {
            (Some(t), Some(c)) => Ok(Some(c.parse(t)?)),
            _ => Ok(None),
        }
    };
    let win = Window {
        from: read(from)?,
        to: read(to)?,
    };
    let l = load(o)?;
    let mut verified = l.verified;
    // Each host log verified, then read bound to the chain verified (or,
    // with --unverified, as it is), all of them merged by time.
    let opts = crate::inputs::Opts {
        partial: o.partial,
        no_verify: false,
        accept_unverified: o.unverified,
        flag: "--unverified",
    };
    let opened = if logs.is_empty() {
        Vec::new()
    } else {
        crate::inputs::open_logs(logs, &opts, &mut |_| Ok(None))?
    };
    let mut checks = Vec::new();
    let mut inputs = Vec::new();
    for l in opened {
        verified &= l.verified;
        checks.push(l.verification);
        inputs.push(l.input);
    }
    let mut usage = HostUsage::default();
    let stats = merge::merge(inputs, &Filter::default(), |f, n, _, r| {
        usage.add(&win, f, n, r);
        Ok(())
    })?;
    let bad: u64 = stats.unparsable.iter().sum();
    if bad > 0 && verified {
        bail!("{bad} unparsable host-log lines although the logs verify");
    }
    let rep = report::build(&l.ledger, &usage, &win);
    let mut out = std::io::stdout().lock();
    if o.json {
        let v = serde_json::json!({
            "json_version": crate::JSON_VERSION,
            "verified": verified,
            "ledger_verification": l.verification_json(),
            "log_verification": checks,
            "window": rep.window,
            "approvals": rep.approvals,
            "totals": rep.totals,
            "users": rep.users,
            "grants": rep.grants,
            "break_glass_review": rep.break_glass_review,
            "not_in_ledger": rep.not_in_ledger,
            "host_log_records": rep.host_log_records,
        });
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
        return Ok(if verified { 0 } else { 1 });
    }
    if !verified {
        writeln!(out, "UNVERIFIED INPUT: these figures may be false")?;
    }
    writeln!(
        out,
        "window {} .. {}; {} host-log records from {} log(s)",
        rep.window.from.as_deref().unwrap_or("(start)"),
        rep.window.to.as_deref().unwrap_or("(end)"),
        rep.host_log_records,
        checks.len()
    )?;
    writeln!(
        out,
        "{:<14} {:>6} {:>6} {:>6} {:>12} {:>12} {:>7} {:>7} {:>7} {:>6} {:>6}",
        "USER",
        "GRANTS",
        "USED",
        "UNUSED",
        "TTL GRANTED",
        "TTL USED",
        "REFUSED",
        "DENIED",
        "BG-ISS",
        "BG-USE",
        "SSH"
    )?;
    for f in rep.users.iter().chain(std::iter::once(&rep.totals)) {
        writeln!(
            out,
            "{:<14} {:>6} {:>6} {:>6} {:>12} {:>12} {:>7} {:>7} {:>7} {:>6} {:>6}",
            f.user,
            f.grants_issued,
            f.grants_used,
            f.unused_grants.len(),
            secs(f.ttl_granted_secs as f64),
            secs(f.ttl_used_secs),
            f.refused_requests,
            f.host_denials,
            f.break_glass_grants,
            f.break_glass_uses,
            f.ssh_certs_issued
        )?;
    }
    let a = &rep.approvals;
    let sources: Vec<String> = a
        .by_auto_source
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    writeln!(
        out,
        "\napprovals: {} by people, {} on-call auto{}, {} break-glass, {} issued directly",
        a.by_person,
        a.by_auto,
        if sources.is_empty() {
            String::new()
        } else {
            format!(" ({})", sources.join(", "))
        },
        a.break_glass,
        a.direct
    )?;
    match &a.latency {
        Some(l) => writeln!(
            out,
            "request to approval: median {}, p95 {}, max {} (over {} requests)",
            secs(l.median_secs as f64),
            secs(l.p95_secs as f64),
            secs(l.max_secs as f64),
            l.count
        )?,
        None => writeln!(out, "request to approval: no request times in the ledger")?,
    }
    writeln!(
        out,
        "TTL granted {}, used {}; {} of {} grants unused",
        secs(rep.totals.ttl_granted_secs as f64),
        secs(rep.totals.ttl_used_secs),
        rep.totals.unused_grants.len(),
        rep.totals.grants_issued
    )?;
    if !rep.totals.host_denials_by_reason.is_empty() {
        writeln!(out, "\nhost denials by reason:")?;
        for f in &rep.users {
            for (why, n) in &f.host_denials_by_reason {
                writeln!(out, "  {:<14} {n:>6}  {why}", f.user)?;
            }
        }
    }
    if !rep.totals.refused_by_reason.is_empty() {
        writeln!(out, "\nrefused requests by reason:")?;
        for f in &rep.users {
            for (why, n) in &f.refused_by_reason {
                writeln!(out, "  {:<14} {n:>6}  {why}", f.user)?;
            }
        }
    }
    if !rep.totals.unused_grants.is_empty() {
        writeln!(out, "\nunused grants:")?;
        for g in rep.grants.iter().filter(|g| g.uses == 0) {
            writeln!(
                out,
                "  {:<14} {}  issued {}  {}..{}  {}",
                g.user,
                g.token_id,
                g.issued,
                g.not_before,
                g.expires,
                list(&g.host_groups)
            )?;
        }
    }
    if !rep.not_in_ledger.is_empty() {
        writeln!(
            out,
            "\nTOKENS USED ON HOSTS BUT NOT IN THE LEDGER (older than the ledger given, another signer, or signed outside jit-signer):"
        )?;
        for t in &rep.not_in_ledger {
            writeln!(
                out,
                "  {}  {} use(s) from {} on {}",
                t.token_id,
                t.uses,
                t.first_use.as_deref().unwrap_or("?"),
                list(&t.hosts)
            )?;
        }
    }
    if !rep.break_glass_review.is_empty() {
        writeln!(out, "\nBREAK-GLASS USES TO REVIEW:")?;
        for b in &rep.break_glass_review {
            writeln!(
                out,
                "  {} {} {} token {} {}  ({}:{})",
                b.time,
                b.host,
                b.user.as_deref().unwrap_or("?"),
                b.token_id.as_deref().unwrap_or("-"),
                b.argv
                    .as_ref()
                    .map(|a| a.join(" "))
                    .or_else(|| b.command.clone())
                    .unwrap_or_default(),
                b.file,
                b.line
            )?;
        }
    }
    Ok(if verified { 0 } else { 1 })
}

fn secs(s: f64) -> String {
    if s >= 3600.0 {
        format!("{:.1}h", s / 3600.0)
    } else if s >= 60.0 {
        format!("{:.1}m", s / 60.0)
    } else {
        format!("{s:.1}s")
    }
}
