//! jit-core: everything jit decides, with no FFI and no unsafe code.
//!
//! - [`host`] — the sudo decision: [`host::decide`], every reason code, the PAM answer.
//! - [`invocation`] — what sudo is about to do (filled in by the PAM glue).
//! - [`cose`] — the signed-object layer tokens and revocation lists share.
//! - [`token`] — the signed capability format and its verification (docs/token-format.md).
//! - [`keys`] — the trusted-keys file hosts pin.
//! - [`name`] — the one rule for user and group names, host groups, kids (docs/names.md).
//! - [`log`] — the hash-chained, forward-sealed audit log (docs/log-format.md).
//! - [`ledger`] — the signer's issuance ledger (same format), standing access and reports.
//! - [`export`] — audit-log and ledger records as OCSF or ECS events for a SIEM (docs/export.md).
//! - [`config`] — `/etc/security/pam_jit.conf`.
//! - [`fs`] — file safety: trusted reads, private files, the lock.
//! - [`sudo`] — determining exactly what sudo is about to run.
//! - [`policy`] — the signer's policy: who may get what, and who approves.
//! - [`ssh_cert`] — OpenSSH user certificates for a grant: the profile decision, signing, the check after it (docs/ssh-cert.md).
//! - [`replay`] — the host-side use counter for use-limited tokens.
//! - [`revocation`] — signed revocation lists and the host's anti-rollback state.
//! - [`text`] — hex, times and durations as jit reads and writes them.
#![forbid(unsafe_code)]

pub mod config;
pub mod cose;
pub mod export;
pub mod fs;
pub mod host;
pub mod invocation;
pub mod keys;
pub mod ledger;
pub mod log;
pub mod name;
pub mod policy;
pub mod replay;
pub mod revocation;
pub mod service;
pub mod ssh_cert;
pub mod sudo;
pub mod text;
pub mod token;
