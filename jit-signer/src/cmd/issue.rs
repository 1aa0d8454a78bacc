//! `jit-signer issue`: sign a token, record it in the issuance ledger, print
//! it; with `--ssh-key`, also (or only) an SSH certificate from the same
//! grant, written beside the public key (docs/ssh-cert.md).

use std::path::PathBuf;

use anyhow::anyhow;
use jit_core::ssh_cert;
use jit_core::token::{self, Claims};

use crate::cert_file;
use crate::grant::GrantArgs;
use crate::key::Pkcs11Args;
use crate::{
    approval, check_name, deliver, io_err, ledger, now_or, pkcs11, pretty, revoked,
    undelivered_token, Fail,
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Secret key file written by `keygen` (must not be readable by group or others).
    #[arg(long, required_unless_present_any = ["pkcs11", "ssh_ca", "ssh_ca_pkcs11"], conflicts_with = "pkcs11")]
    key: Option<PathBuf>,
    #[command(flatten)]
    hsm: Pkcs11Args,
    /// The Unix user allowed to use the token.
    #[arg(long)]
    user: String,
    #[command(flatten)]
    grant: GrantArgs,
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
    /// Print claims and token as JSON.
    #[arg(long)]
    json: bool,
    /// Check the grant against this policy file (default: $JIT_POLICY);
    /// grants that need approval are refused (use `request`).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// The signer's revocation state directory (as `revoke --state`): a user
    /// revoked there with `revoke --user` gets no token and no certificate,
    /// a key revoked with `revoke --ssh-key` no certificate (exit 7, recorded
    /// as `refused`). A list there that cannot be read or decoded refuses
    /// everything (exit 3 or 8). Without it, the list is not consulted.
    #[arg(
        long = "revocation-dir",
        value_name = "DIR",
        env = "JIT_REVOCATION_DIR"
    )]
    revocation_dir: Option<PathBuf>,
    /// Pretend the time is this (RFC 3339 or @UNIXSECONDS); for tests.
    #[arg(long, hide = true)]
    now: Option<String>,
    #[command(flatten)]
    ledger: ledger::LedgerArgs,
    #[command(flatten)]
    ssh: SshArgs,
}

// An SSH certificate from the same grant (docs/ssh-cert.md).
#[derive(clap::Args, Debug)]
#[command(next_help_heading = "SSH certificate")]
#[command(group(clap::ArgGroup::new("ssh_ca_key").args(["ssh_ca", "ssh_ca_pkcs11"])))]
pub(crate) struct SshArgs {
    /// The requester's OpenSSH public key file (e.g. ~/.ssh/id_ed25519.pub):
    /// also issue a user certificate for it, written beside it as
    /// NAME-cert.pub (as ssh-keygen -s does). Without --command, --edit or
    /// --shell only the certificate is issued.
    #[arg(long = "ssh-key", value_name = "PUB", requires = "ssh_ca_key")]
    pub(crate) ssh_key: Option<PathBuf>,
    /// The SSH CA's secret key file (written by `keygen`; a key of its own,
    /// not the token signing key).
    #[arg(long = "ssh-ca", value_name = "FILE", requires = "ssh_key")]
    pub(crate) ssh_ca: Option<PathBuf>,
    /// The SSH CA key in a PKCS#11 token (an RFC 7512 URI as for --pkcs11;
    /// the key label is the CA's kid), instead of --ssh-ca.
    #[arg(
        long = "ssh-ca-pkcs11",
        value_name = "URI",
        requires = "ssh_key",
        conflicts_with = "ssh_ca"
    )]
    pub(crate) ssh_ca_pkcs11: Option<String>,
    /// File holding the PIN of the CA's token (owned by you, mode 0600).
    /// Without it, the PIN is read from JIT_PKCS11_PIN.
    #[arg(
        long = "ssh-ca-pin-file",
        value_name = "FILE",
        requires = "ssh_ca_pkcs11"
    )]
    pub(crate) ssh_ca_pin_file: Option<PathBuf>,
    /// Certificate lifetime, from 1m to 24h. Default: the token's TTL when
    /// a token comes from the same grant (a certificate never outlives it),
    /// else 4h.
    #[arg(long = "ssh-ttl", value_name = "D")]
    pub(crate) ssh_ttl: Option<String>,
    /// The only command the certificate runs (critical option force-command);
    /// no forwarding extension is then allowed.
    #[arg(long = "ssh-force-command", value_name = "CMD", requires = "ssh_key")]
    pub(crate) force_command: Option<String>,
    /// Addresses the certificate may be used from (critical option
    /// source-address): comma-separated addresses or CIDR blocks.
    #[arg(long = "ssh-source-address", value_name = "LIST", requires = "ssh_key")]
    pub(crate) source_address: Option<String>,
    /// An extension (repeatable): permit-pty, permit-port-forwarding,
    /// permit-agent-forwarding, permit-X11-forwarding, permit-user-rc, or
    /// `none`. Default: permit-pty only.
    #[arg(long = "ssh-extension", value_name = "NAME", requires = "ssh_key")]
    pub(crate) extensions: Vec<String>,
}

/// What the certificate's ledger record takes from the grant.
struct GrantFacts {
    host_groups: Vec<String>,
    reason: String,
    ticket: Option<String>,
}

/// A certificate signed and checked, waiting for its ledger record.
struct SshOut {
    profile: ssh_cert::CertProfile,
    signed: ssh_cert::Signed,
    kid: String,
    path: PathBuf,
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let Args {
        key,
        hsm,
        user,
        grant,
        approver,
        issuer,
        break_glass,
        json,
        policy,
        revocation_dir,
        now,
        ledger: ledger_args,
        ssh,
    } = a;
    let with_ssh = ssh.ssh_key.is_some();
    // `issue --ssh-key` is the key holder's path, without a policy; the
    // policy's ssh rules, with approval, apply through the signing service.
    // A key holder who asked for a policy gets no certificate it did not check.
    if with_ssh {
        if let Some(p) = approval::policy_path(policy.clone()) {
            return Err(crate::usage(anyhow!(
                "--ssh-key cannot be combined with a signer policy ({}): certificates under the \
                 policy's ssh rules come from the signing service (jit-signer request --ssh-key)",
                p.display()
            )));
        }
    }
    let wants_token = !grant.commands.is_empty() || !grant.edits.is_empty() || grant.shell;
    if with_ssh && !wants_token {
        let token_only = [
            ("--break-glass", break_glass),
            ("--max-uses", grant.max_uses.is_some()),
            ("--run-as", !grant.run_as.is_empty()),
            ("--run-as-group", !grant.run_as_groups.is_empty()),
        ];
        if let Some((opt, _)) = token_only.iter().find(|(_, given)| *given) {
            return Err(crate::usage(anyhow!(
                "{opt} applies to a sudo token, and without --command, --edit or --shell only an \
                 SSH certificate is issued"
            )));
        }
    }
    let lcfg = ledger_args.config();
    // What is known of the request, for a `refused` record.
    let mut req = jit_core::ledger::Refusal {
        user: Some(user.clone()),
        host_groups: grant.host_groups.clone(),
        run_as: grant.run_as.clone(),
        run_as_groups: grant.run_as_groups.clone(),
        shell: grant.shell,
        reason: Some(grant.reason.clone()),
        ticket: grant.ticket.clone(),
        approver: approver.clone(),
        break_glass,
        max_uses: grant.max_uses,
        ..Default::default()
    };
    let refuse = |req: &jit_core::ledger::Refusal, code: &str, e: anyhow::Error| {
        ledger::refuse(&lcfg, req, code, e)
    };
    let now = now_or(now.as_deref()).map_err(|e| refuse(&req, "bad_time", e))?;
    let sk = if wants_token || !with_ssh {
        let sk = hsm.open_signer(key.as_deref())?;
        req.kid = Some(sk.kid().to_string());
        Some(sk)
    } else {
        hsm.check()?;
        None
    };
    let ca = crate::key::open_ssh_ca(
        ssh.ssh_ca.as_deref(),
        ssh.ssh_ca_pkcs11.as_deref(),
        ssh.ssh_ca_pin_file.as_deref(),
    )?;
    if let (Some(ca), Some(sk)) = (&ca, &sk) {
        crate::key::refuse_ca_as_token_key(ca.as_ref(), sk.as_ref())?;
    }
    check_name("--user", &user).map_err(|e| refuse(&req, "bad_name", e))?;
    // The signer's own revocation list (docs/revocation.md §6.1): a KRL
    // cannot revoke by principal, so a revoked user must get no new
    // certificate (nor a token every host would refuse).
    let refused_by_list = |req: &jit_core::ledger::Refusal, r: revoked::Refused| {
        ledger::refuse(&lcfg, req, r.code, anyhow!(r.message)).with_code_if(2, r.exit)
    };
    let rdir = revocation_dir.as_deref();
    revoked::check_issue(rdir, &user, None).map_err(|r| refused_by_list(&req, r))?;
    let checked = grant.check_with(now, with_ssh).map_err(|r| {
        req.grants = r.cmds;
        refuse(&req, r.code, r.err)
    })?;
    req.grants = checked.cmds.clone();
    // Issued now: the validity starts now unless --not-before says later.
    let nbf = checked.not_before.unwrap_or(now);
    let exp = nbf.saturating_add(checked.ttl as i64);
    req.nbf = Some(nbf);
    req.exp = Some(exp);
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
    if exp <= now {
        return Err(refuse(
            &req,
            "expired",
            anyhow!("the token would expire in the past"),
        ));
    }
    let max_uses = match (break_glass, grant.max_uses) {
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
    let cti = token::random_cti().map_err(|e| io_err(anyhow!(e)))?;
    // The certificate: decided, signed and checked before anything is recorded.
    let ssh_out = match (&ssh.ssh_key, &ca) {
        (Some(pub_path), Some(ca)) => {
            let text = cert_file::read_pub(pub_path).map_err(io_err)?;
            cert_file::check_cert_target(&ssh_cert::cert_path_for(pub_path)).map_err(io_err)?;
            // With a token from the same grant, the certificate ends no later
            // than the token: revoking the token id (kept in lists until its
            // exp + 600 s) then covers the certificate for its whole life.
            let token_ttl = wants_token.then(|| exp.saturating_sub(nbf).max(0) as u64);
            let ttl = match (&ssh.ssh_ttl, token_ttl) {
                (Some(t), _) => humantime::parse_duration(t)
                    .map_err(|e| refuse(&req, "bad_ttl", anyhow!("--ssh-ttl {t:?}: {e}")))?
                    .as_secs(),
                (None, Some(t)) => t,
                (None, None) => ssh_cert::DEFAULT_TTL_SECS,
            };
            if let Some(t) = token_ttl.filter(|t| ttl > *t) {
                return Err(refuse(
                    &req,
                    "ttl_out_of_range",
                    anyhow!(
                        "--ssh-ttl {} is longer than the token's TTL ({}): a certificate may not outlive the token of its grant",
                        token::human_duration(ttl),
                        token::human_duration(t)
                    ),
                ));
            }
            let (serial, nonce) =
                ssh_cert::random_serial_and_nonce().map_err(|e| io_err(anyhow!(e)))?;
            let extensions: Option<Vec<String>> = match ssh.extensions.as_slice() {
                [] => None,
                [n] if n == "none" => Some(Vec::new()),
                e => Some(e.to_vec()),
            };
            // The key holder can sign anything the profile allows; a policy's
            // narrower limits apply in the signing service (phase 2).
            let limits = ssh_cert::Limits {
                max_ttl_secs: ssh_cert::MAX_TTL_SECS,
                allowed_extensions: ssh_cert::KNOWN_EXTENSIONS
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            };
            let logins = [user.clone()];
            let profile = ssh_cert::profile(
                &ssh_cert::Request {
                    public_key: &text,
                    logins: &logins,
                    host_groups: &grant.host_groups,
                    grant_id: cti,
                    serial,
                    nonce,
                    not_before: nbf,
                    ttl_secs: ttl,
                    force_command: ssh.force_command.as_deref(),
                    source_address: ssh.source_address.as_deref(),
                    extensions: extensions.as_deref(),
                },
                &limits,
            )
            .map_err(|r| {
                refuse(
                    &req,
                    r.code(),
                    anyhow!("--ssh-key {}: {r}", pub_path.display()),
                )
            })?;
            revoked::check_issue(rdir, &user, Some(&profile.key_fingerprint))
                .map_err(|r| refused_by_list(&req, r))?;
            if profile.valid_before as i64 <= now {
                return Err(refuse(
                    &req,
                    "expired",
                    anyhow!("the certificate would expire in the past"),
                ));
            }
            let signed = ssh_cert::sign(&profile, ca.as_ref(), &user).map_err(|e| match e {
                ssh_cert::IssueError::Sign(_) | ssh_cert::IssueError::Check(_) => Fail {
                    code: pkcs11::EXIT_PKCS11,
                    err: e.into(),
                },
                ssh_cert::IssueError::Encode(_) => refuse(&req, "cannot_issue", e.into()),
            })?;
            Some(SshOut {
                profile,
                signed,
                kid: ca.kid().to_string(),
                path: ssh_cert::cert_path_for(pub_path),
            })
        }
        _ => None,
    };
    let facts = GrantFacts {
        host_groups: grant.host_groups.clone(),
        reason: grant.reason.clone(),
        ticket: grant.ticket.clone(),
    };
    let Some(sk) = sk else {
        // A certificate alone.
        let Some(o) = ssh_out else {
            return Err(crate::usage(anyhow!("nothing to issue")));
        };
        return ssh_finish(
            &o,
            None,
            &lcfg,
            &facts,
            now,
            nbf,
            approver.as_deref(),
            json,
            &user,
        );
    };
    let mut claims = Claims {
        iss: issuer.unwrap_or_else(|| sk.kid().to_string()),
        sub: user,
        iat: now,
        nbf,
        exp,
        cti,
        hosts: grant.host_groups,
        cmds: checked.cmds,
        run_as: checked.run_as,
        run_as_groups: grant.run_as_groups,
        shell: grant.shell,
        reason: grant.reason,
        ticket: grant.ticket.filter(|t| !t.is_empty()),
        approver: approver.filter(|a| !a.is_empty()),
        break_glass,
        max_uses,
    };
    let rule = match approval::check_issue(policy, &mut claims, now) {
        Ok(rule) => rule,
        Err(approval::IssueCheck::Other(f)) => return Err(f),
        Err(approval::IssueCheck::Refused { rule, err }) => {
            req.rule = rule;
            return Err(
                ledger::refuse(&lcfg, &req, "policy", err).with_code_if(2, approval::EXIT_REFUSED)
            );
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
            requested: None,
        },
    )?;
    if let Some(o) = &ssh_out {
        let user = claims.sub.clone();
        return ssh_finish(
            o,
            Some((&tok, &claims, sk.kid(), seq)),
            &lcfg,
            &facts,
            now,
            nbf,
            claims.approver.as_deref(),
            json,
            &user,
        );
    }
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

/// Record the certificate, write it beside the key, then print the token
/// (if one came from the same grant). No record, no certificate.
#[allow(clippy::too_many_arguments)]
fn ssh_finish(
    o: &SshOut,
    token: Option<(&str, &Claims, &str, u64)>,
    lcfg: &jit_core::log::LogConfig,
    g: &GrantFacts,
    now: i64,
    nbf: i64,
    approver: Option<&str>,
    json: bool,
    user: &str,
) -> Result<u8, Fail> {
    let p = &o.profile;
    let token_note = match token {
        Some((_, c, _, seq)) => format!(
            " (its token {} is recorded too, record seq {seq}: revoke it and issue again)",
            token::hex(&c.cti)
        ),
        None => String::new(),
    };
    let seq = ledger::ssh_cert(
        lcfg,
        &jit_core::ledger::SshCertIssued {
            profile: p,
            user,
            host_groups: &g.host_groups,
            kid: &o.kid,
            ca_fingerprint: &o.signed.ca_fingerprint,
            iat: now,
            nbf,
            reason: &g.reason,
            ticket: g.ticket.as_deref().filter(|t| !t.is_empty()),
            approver,
            requester: None,
            rule: None,
        },
    )
    .map_err(|f| Fail {
        code: f.code,
        err: f
            .err
            .context(format!("no certificate or token was delivered{token_note}")),
    })?;
    cert_file::write_cert_file(&o.path, &format!("{}\n", o.signed.openssh)).map_err(|e| Fail {
        code: crate::EXIT_UNDELIVERED,
        err: e.context(format!(
            "SSH certificate {} (serial {}) was issued and recorded in the issuance ledger {} \
             (record seq {seq}), but could not be written{token_note}",
            p.key_id,
            p.serial,
            lcfg.log_path.display()
        )),
    })?;
    eprintln!(
        "jit-signer: SSH certificate {} written: key id {}, serial {}, principals {}, valid until {}",
        o.path.display(),
        p.key_id,
        p.serial,
        p.principals.join(","),
        jit_core::text::fmt_time(p.valid_before as i64)
    );
    let cert_json = serde_json::json!({
        "path": o.path.display().to_string(),
        "key_id": p.key_id,
        "serial": p.serial,
        "principals": p.principals,
        "valid_after": p.valid_after,
        "valid_before": p.valid_before,
        "force_command": p.force_command,
        "source_address": p.source_address,
        "extensions": p.extensions,
        "key_fingerprint": p.key_fingerprint,
        "ca_kid": o.kid,
        "ca_fingerprint": o.signed.ca_fingerprint,
    });
    match token {
        Some((tok, claims, kid, tseq)) => {
            let text = if json {
                let v = serde_json::json!({
                    "token": tok,
                    "kid": kid,
                    "claims": claims.to_json(),
                    "ssh_certificate": cert_json,
                });
                format!("{}\n", pretty(&v))
            } else {
                format!("{tok}\n")
            };
            deliver(&text, || undelivered_token(claims, lcfg, tseq, ""))?;
        }
        None if json => {
            let v = serde_json::json!({ "ssh_certificate": cert_json });
            crate::out(&format!("{}\n", pretty(&v)))?;
        }
        None => {}
    }
    Ok(0)
}
