//! pam_jit: a PAM module that enforces jit capability tokens on every sudo
//! invocation and records every decision in the chained audit log.
//!
//! Layout (see docs/pam-module.md):
//! - `ffi`: the exported `pam_sm_*` entry points and every unsafe block;
//! - [`glue`]: safe orchestration: gathers facts, asks jit-core, logs, answers.
//!
//! All decisions are made by `jit-core`; this crate only collects inputs.
#![deny(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(unsafe_code)]
mod ffi;
pub mod glue;
