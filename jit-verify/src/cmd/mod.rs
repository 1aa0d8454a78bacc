//! One module per subcommand: its clap `Args` and its `run`, which returns
//! the exit code (errors: [`crate::exit`]).

pub mod config;
pub mod export;
pub mod fleet;
pub mod log;
pub mod query;
pub mod report;
pub mod standing;
pub mod stats;
