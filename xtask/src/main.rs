//! Development tasks of the jit workspace, kept out of the shipped binaries:
//!
//! ```text
//! cargo run -p xtask -- gen-vectors --out DIR      golden vectors of docs/vectors
//! cargo run -p xtask -- decide --trusted-keys F --invocation JSON [--now T] TOKEN
//! cargo run -p xtask -- gen-docs jit-signer --out DIR   man pages, completions
//! ```
//!
//! Never published or packaged (`publish = false`, no package metadata).
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context as _};
use clap::{Parser, Subcommand};

mod decide;
mod docs;
mod vectors;

/// Development tasks: golden vectors, interop checks, man pages and completions.
#[derive(Parser, Debug)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Write the golden vectors of docs/vectors (tokens, and revocation lists
    /// into DIR/revocation/) into DIR (deterministic). Fails if the Rust
    /// verifier's outcome for any vector differs from the intended one.
    #[command(name = "gen-vectors")]
    GenVectors {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the full policy decision of jit-core for a token and an
    /// invocation given as JSON, as {"allowed", "reason", "message"}; exit 0
    /// if allowed, 1 if denied (tests/ci.d/10-token-vectors.sh compares it
    /// with the independent Python verifier).
    Decide(decide::Args),
    /// Write the man pages (BIN.1, one per subcommand) and the bash, zsh and
    /// fish completions of a CLI into DIR; used by packaging/build.sh.
    #[command(name = "gen-docs")]
    GenDocs {
        /// The CLI.
        bin: docs::Bin,
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.cmd {
        Cmd::GenVectors { out } => vectors::generate(&out).map(|()| 0),
        Cmd::Decide(a) => decide::run(&a),
        Cmd::GenDocs { bin, out } => docs::generate(bin, &out).map(|()| 0),
    };
    match res {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Now, or the time given (RFC 3339 or @UNIXSECONDS).
fn now_or(s: Option<&str>) -> anyhow::Result<i64> {
    match s {
        Some(s) => jit_core::keys::parse_time(s)
            .ok_or_else(|| anyhow!("bad time {s:?}: use RFC 3339 or @UNIXSECONDS")),
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("the clock is before 1970")
            .map(|d| d.as_secs() as i64),
    }
}
