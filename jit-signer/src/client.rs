//! The client side of the signing service (docs/signer-service.md): one
//! call per connection, to the local socket or, with `--remote`, through
//! `ssh` to `jit-signer relay` on the signer host.

use std::io::Write as _;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use jit_core::service::{read_frame, write_frame, Answer, Call, FrameError};

use crate::Fail;

/// Exit code when the service cannot be reached or answers garbage.
pub(crate) const EXIT_SERVICE: u8 = 6;

fn unreachable(err: anyhow::Error) -> Fail {
    Fail {
        code: EXIT_SERVICE,
        err,
    }
}

/// Where the signing service is.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ServiceArgs {
    /// The signing service's socket. Default: $JIT_SIGNER_SOCKET, else
    /// /run/jit-signer/socket.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Make the call on the signer host [USER@]HOST through ssh (BatchMode):
    /// there, the caller is your SSH login. Host options (port, key) come
    /// from ~/.ssh/config; $JIT_SIGNER_SSH replaces the ssh command (e.g.
    /// "ssh -F FILE"), $JIT_SIGNER_REMOTE names jit-signer on the signer host.
    #[arg(long, value_name = "[USER@]HOST")]
    remote: Option<String>,
}

impl ServiceArgs {
    /// The socket path: --socket, $JIT_SIGNER_SOCKET, or the default.
    pub(crate) fn socket(&self) -> PathBuf {
        socket_or_default(self.socket.clone())
    }

    /// Make `call`; a failed answer becomes its exit code and message.
    pub(crate) fn call(&self, call: &Call) -> Result<Answer, Fail> {
        let a = match &self.remote {
            Some(host) => self.call_remote(host, call)?,
            None => call_socket(&self.socket(), call)?,
        };
        if let Some(code) = a.error {
            return Err(Fail {
                code: code.exit_code(),
                err: anyhow!(
                    "{} ({code})",
                    a.message
                        .as_deref()
                        .unwrap_or("refused by the signing service")
                ),
            });
        }
        Ok(a)
    }

    fn call_remote(&self, host: &str, call: &Call) -> Result<Answer, Fail> {
        if host.starts_with('-') || host.is_empty() {
            return Err(crate::usage(anyhow!("--remote {host:?} is not a host")));
        }
        // Only plain words cross to the remote shell.
        let plain = |what: &str, s: &str| -> Result<String, Fail> {
            let ok = !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
            ok.then(|| s.to_string()).ok_or_else(|| {
                crate::usage(anyhow!("{what} {s:?} must be a plain path with --remote"))
            })
        };
        // $JIT_SIGNER_SSH: the ssh command (words), e.g. "ssh -F ~/.ssh/jit";
        // $JIT_SIGNER_REMOTE: jit-signer's path on the signer host.
        let ssh = std::env::var("JIT_SIGNER_SSH").unwrap_or_default();
        let mut words = ssh.split_whitespace();
        let mut cmd = Command::new(words.next().unwrap_or("ssh"));
        cmd.args(words);
        let remote = std::env::var("JIT_SIGNER_REMOTE")
            .ok()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "jit-signer".into());
        let remote = plain("$JIT_SIGNER_REMOTE", &remote)?;
        cmd.args(["-o", "BatchMode=yes", "-T", "--", host, &remote, "relay"]);
        if let Some(s) = &self.socket {
            let s = s.to_str().unwrap_or("");
            cmd.args(["--socket", &plain("--socket", s)?]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("running ssh")
            .map_err(unreachable)?;
        let sent = child
            .stdin
            .take()
            .map(|mut i| write_frame(&mut i, &call.encode()))
            .transpose();
        let answer = child.stdout.take().map(|mut o| read_frame(&mut o));
        let status = child.wait();
        match answer {
            Some(Ok(body)) => decode(&body),
            _ => Err(unreachable(anyhow!(
                "no answer from jit-signer relay on {host} through ssh ({}{})",
                status.map_or_else(|e| e.to_string(), |s| s.to_string()),
                match sent {
                    Err(e) => format!("; sending the call: {e}"),
                    Ok(_) => String::new(),
                }
            ))),
        }
    }
}

/// --socket, $JIT_SIGNER_SOCKET, or the default.
pub(crate) fn socket_or_default(given: Option<PathBuf>) -> PathBuf {
    given
        .or_else(|| {
            std::env::var_os("JIT_SIGNER_SOCKET")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(crate::service::DEFAULT_SOCKET))
}

fn decode(body: &[u8]) -> Result<Answer, Fail> {
    Answer::decode(body).map_err(|r| {
        unreachable(anyhow!(
            "the signing service answered something this client cannot read ({}: {})",
            r.code,
            r.message
        ))
    })
}

/// One call over the socket at `path`; a `fetch` that waits is given its
/// wait on top of the usual answer time.
fn call_socket(path: &std::path::Path, call: &Call) -> Result<Answer, Fail> {
    let mut c = UnixStream::connect(path)
        .with_context(|| {
            format!(
                "cannot reach the signing service at {} (is jit-signer serve running? \
                 --socket, $JIT_SIGNER_SOCKET, or --remote HOST)",
                path.display()
            )
        })
        .map_err(unreachable)?;
    let wait = match call {
        Call::Fetch { wait, .. } => Duration::from_secs(*wait),
        _ => Duration::ZERO,
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(30) + wait));
    // A service at its limit answers `busy` without reading the call, so a
    // failed send may still have an answer waiting. Socket errors are
    // reported as text: an EPIPE here is not a closed stdout.
    let sent = write_frame(&mut c, &call.encode()).and_then(|()| c.flush());
    match read_frame(&mut c) {
        Ok(body) => decode(&body),
        Err(e) => Err(unreachable(match (sent, e) {
            (Err(se), _) => anyhow!("sending the call to the signing service: {se}"),
            (Ok(()), FrameError::Closed) => {
                anyhow!("the signing service closed the connection without an answer")
            }
            (Ok(()), FrameError::Bad(r)) => {
                anyhow!("bad answer from the signing service: {}", r.message)
            }
            (Ok(()), FrameError::Io(e)) => {
                anyhow!("reading the signing service's answer: {e}")
            }
        })),
    }
}
