//! `jit-signer relay` (hidden): what `--remote HOST` runs on the signer host
//! through ssh. Passes one call frame from stdin to the local socket and
//! the answer frame back to stdout; the service names the caller (the SSH
//! login) and judges the call.

use std::io::Write as _;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use anyhow::{anyhow, Context as _};
use jit_core::service::{read_frame, write_frame};

use crate::{io_err, Fail};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The signing service's socket. Default: $JIT_SIGNER_SOCKET, else /run/jit-signer/socket.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<u8, Fail> {
    let call = read_frame(&mut std::io::stdin().lock())
        .map_err(|e| io_err(anyhow!("reading the call from stdin: {e:?}")))?;
    let path = crate::client::socket_or_default(a.socket);
    let mut c = UnixStream::connect(&path)
        .with_context(|| format!("cannot reach the signing service at {}", path.display()))
        .map_err(io_err)?;
    write_frame(&mut c, &call)
        .context("sending the call")
        .map_err(io_err)?;
    let answer = read_frame(&mut c).map_err(|e| io_err(anyhow!("reading the answer: {e:?}")))?;
    let mut out = std::io::stdout().lock();
    write_frame(&mut out, &answer)
        .and_then(|()| out.flush())
        .context("writing the answer")
        .map_err(io_err)?;
    Ok(0)
}
