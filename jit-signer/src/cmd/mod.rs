//! One module per subcommand: its clap `Args` and its `run`, which returns
//! the exit code or a [`crate::Fail`].

pub mod approve;
pub mod export_pub;
pub mod fetch;
pub mod inspect;
pub mod issue;
pub mod keygen;
pub mod reject;
pub mod relay;
pub mod request;
pub mod requests;
pub mod revoke;
pub mod serve;
pub mod status;
