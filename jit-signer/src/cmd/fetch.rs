//! `jit-signer fetch`: collect the token (and the SSH certificate) of one's
//! approved request (once).

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use jit_core::service::{Answer, Call, MAX_WAIT_SECS};
use jit_core::ssh_cert;

use crate::client::ServiceArgs;
use crate::{deliver, io_err, pretty, usage, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    svc: ServiceArgs,
    /// Wait for the decision, up to DURATION (default 15m when given without a value).
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "15m", require_equals = true)]
    wait: Option<String>,
    /// Print the request and the token as JSON.
    #[arg(long)]
    json: bool,
    /// The public key the request's certificate is for: the certificate is
    /// written beside it as NAME-cert.pub (else printed after the token).
    #[arg(long = "ssh-key", value_name = "PUB")]
    ssh_key: Option<PathBuf>,
    /// The request id printed by `jit-signer request`.
    id: String,
}

/// Seconds of `--wait[=DURATION]`.
pub(crate) fn wait_secs(w: Option<&str>) -> Result<u64, Fail> {
    let Some(w) = w else { return Ok(0) };
    humantime::parse_duration(w)
        .map(|d| d.as_secs())
        .map_err(|e| usage(anyhow::anyhow!("--wait={w}: {e}")))
}

/// Collect the token of request `id`, waiting up to `wait` seconds (in
/// calls of at most the protocol's longest wait).
pub(crate) fn collect(
    svc: &ServiceArgs,
    id: &str,
    wait: u64,
) -> Result<jit_core::service::Answer, Fail> {
    let mut left = wait;
    loop {
        let chunk = left.min(MAX_WAIT_SECS);
        match svc.call(&Call::Fetch {
            id: id.to_string(),
            wait: chunk,
        }) {
            Err(f)
                if f.code == jit_core::service::ErrorCode::Pending.exit_code() && left > chunk =>
            {
                left -= chunk;
            }
            r => return r,
        }
    }
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let wait = wait_secs(a.wait.as_deref())?;
    let ssh_key = a.ssh_key.as_deref().map(read_ssh_key).transpose()?;
    let ans = collect(&a.svc, &a.id, wait)?;
    hand_out(&ans, &a.id, ssh_key.as_ref(), a.json)?;
    Ok(0)
}

/// `--ssh-key PUB`: the public key file and its key, read before the call.
pub(crate) struct SshKeyFile {
    pub(crate) path: PathBuf,
    pub(crate) line: String,
}

/// Read an OpenSSH public key file (one line; the profile's checks come
/// from the service).
pub(crate) fn read_ssh_key(path: &Path) -> Result<SshKeyFile, Fail> {
    let text = crate::cert_file::read_pub(path).map_err(io_err)?;
    let line = text.trim().to_string();
    ssh_cert::parse_public_key(&line)
        .map_err(|r| usage(anyhow!("--ssh-key {}: {r}", path.display())))?;
    // Refuse early what could not be written later.
    crate::cert_file::check_cert_target(&ssh_cert::cert_path_for(path)).map_err(io_err)?;
    Ok(SshKeyFile {
        path: path.to_path_buf(),
        line,
    })
}

/// Deliver what the service handed over, once: the token on stdout; the
/// certificate beside the public key (`--ssh-key`, as `ssh-keygen -s`
/// does), else on stdout after the token; with `json`, one document.
pub(crate) fn hand_out(
    ans: &Answer,
    id: &str,
    ssh_key: Option<&SshKeyFile>,
    json: bool,
) -> Result<(), Fail> {
    let tid = ans
        .request
        .as_ref()
        .and_then(|r| r.token_id.clone())
        .unwrap_or_default();
    let lost = || {
        if tid.is_empty() {
            format!(
                "the credentials of request {id} were handed over by the service but not \
                 delivered here; they are handed over once: ask again (and revoke the \
                 certificate by key id if it may have been seen)"
            )
        } else {
            format!(
                "the token {tid} of request {id} was handed over by the service but not delivered \
                 here; it is handed over once: revoke it (jit-signer revoke --token-id {tid} ...) \
                 and ask again"
            )
        }
    };
    // The certificate beside the key; if it cannot go there (another key,
    // a directory that cannot be written), it goes to stdout with the token
    // rather than being lost, and the exit status says so.
    let mut cert_path = None;
    let mut not_written = None;
    if let (Some(cert), Some(k)) = (&ans.certificate, ssh_key) {
        let path = ssh_cert::cert_path_for(&k.path);
        let written = if ssh_cert::is_certificate_for(cert, &k.line) {
            crate::cert_file::write_cert_file(&path, &format!("{cert}\n"))
        } else {
            Err(anyhow!(
                "the certificate is not for the key in {}",
                k.path.display()
            ))
        };
        match written {
            Ok(()) => cert_path = Some(path),
            Err(e) => not_written = Some(e),
        }
    }
    let text = if json {
        let mut v = serde_json::json!({ "request": ans.request });
        if let Some(t) = &ans.token {
            v["token"] = t.clone().into();
        }
        if let Some(c) = &ans.certificate {
            v["certificate"] = c.clone().into();
        }
        if let Some(p) = &cert_path {
            v["certificate_file"] = p.display().to_string().into();
        }
        format!("{}\n", pretty(&v))
    } else {
        let mut t = String::new();
        if let Some(tok) = &ans.token {
            t.push_str(tok);
            t.push('\n');
        }
        if let (Some(c), None) = (&ans.certificate, &cert_path) {
            t.push_str(c);
            t.push('\n');
        }
        t
    };
    if let (Some(p), Some(i)) = (
        &cert_path,
        ans.request.as_ref().and_then(|r| r.ssh.as_ref()),
    ) {
        eprintln!(
            "jit-signer: SSH certificate {} (serial {}, principals {}) written to {}",
            i.key_id,
            i.serial,
            i.principals.join(","),
            p.display()
        );
    }
    if !text.is_empty() {
        deliver(&text, lost)?;
    }
    match not_written {
        None => Ok(()),
        Some(e) => {
            Err(Fail {
                code: crate::EXIT_UNDELIVERED,
                err: e.context(format!(
                "the certificate of request {id} was not written beside the key: it is on stdout{}",
                if ans.token.is_some() { ", after the token" } else { "" }
            )),
            })
        }
    }
}
