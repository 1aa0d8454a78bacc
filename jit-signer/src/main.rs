//! jit-signer: issue and inspect jit capability tokens (docs/token-format.md).
//!
//! Parses the command line and dispatches to the subcommand's module
//! (src/cmd/); the work is done there and in jit-core.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser as _;
use jit_signer::cli::{Cli, Cmd};
use jit_signer::{cmd, Fail};

fn main() -> ExitCode {
    let cli = Cli::parse();
    jit_signer::exit(jit_signer::not_dumpable().and_then(|()| run(cli.cmd)))
}

fn run(c: Cmd) -> Result<u8, Fail> {
    match c {
        Cmd::Keygen(a) => cmd::keygen::run(a),
        Cmd::ExportPub(a) => cmd::export_pub::run(a),
        Cmd::Issue(a) => cmd::issue::run(a),
        Cmd::Request(a) => cmd::request::run(a),
        Cmd::Approve(a) => cmd::approve::run(a),
        Cmd::Reject(a) => cmd::reject::run(a),
        Cmd::Requests(a) => cmd::requests::run(a),
        Cmd::Fetch(a) => cmd::fetch::run(a),
        Cmd::Status(a) => cmd::status::run(a),
        Cmd::Serve(a) => cmd::serve::run(a),
        Cmd::Relay(a) => cmd::relay::run(a),
        Cmd::Inspect(a) => cmd::inspect::run(a),
        Cmd::Revoke(a) => cmd::revoke::run(a),
    }
}
