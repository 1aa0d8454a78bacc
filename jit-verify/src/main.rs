//! jit-verify: verify jit audit logs and answer audit queries.
//!
//! Parses the command line and dispatches to the subcommand's module
//! (src/cmd/); the work is done there and in jit-core.
#![forbid(unsafe_code)]

use anyhow::Result;
use clap::Parser as _;
use jit_verify::cli::{Cli, Cmd};
use jit_verify::cmd;

fn main() {
    let cli = Cli::parse();
    std::process::exit(jit_verify::exit(run(cli.cmd)));
}

fn run(c: Cmd) -> Result<i32> {
    match c {
        Cmd::Log(a) => cmd::log::run(a),
        Cmd::Fleet(a) => cmd::fleet::run(a),
        Cmd::Query(a) => cmd::query::run(a),
        Cmd::Stats(a) => cmd::stats::run(a),
        Cmd::Standing(a) => cmd::standing::run(a),
        Cmd::Report(a) => cmd::report::run(a),
        Cmd::Config(a) => cmd::config::run(a),
        Cmd::Export(a) => cmd::export::run(a),
    }
}
