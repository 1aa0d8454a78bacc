//! pam_jit: a PAM module that enforces jit capability tokens on every sudo
//! invocation and records every decision in the chained audit log.
//!
//! Three layers (docs/architecture.md), each calling only the one below:
//! - [`module`]: the jit module: gathers the facts of a hook, asks
//!   `jit_core::host::decide`, records the answer, answers;
//! - [`pam`]: the safe framework: [`pam::PamIo`] and [`pam::Os`], the views
//!   of PAM and of the operating system the module is written against;
//! - `sys`: the bindings: the exported `pam_sm_*` entry points and every
//!   unsafe block. The entry points call up only through the `sys::Hooks`
//!   trait, implemented by [`Module`].
//!
//! Every decision, reason code and PAM answer is jit-core's.
#![deny(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod module;
pub mod pam;
#[allow(unsafe_code)]
mod sys;

/// What the exported entry points run.
pub type Module = module::Jit;
