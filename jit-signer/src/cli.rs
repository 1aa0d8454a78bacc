//! The command line of jit-signer: its subcommands, what each does and the
//! exit codes. One module per subcommand in `cmd/` holds its options and
//! its `run`.

use clap::{Parser, Subcommand};

use crate::cmd;

pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success (inspect: the token decoded, and verified if --trusted-keys was given)
  1  the token was rejected (inspect)
  2  usage error or refused input (bad arguments, TTL out of range, expiry in the past)
  3  I/O error (cannot read or write a file, refusing to overwrite a key)
  4  key error (secret key or PIN file readable by group/others, invalid key or trusted-keys
     file; PKCS#11: key not found, several keys match, not an Ed25519 signing key; the
     process could not be made non-dumpable)
  5  PKCS#11 error (module cannot be loaded, token not found, wrong or locked PIN, signing
     failed or produced a signature that does not verify)
  6  ledger error: the issuance ledger could not be written; nothing was issued; or the
     signing service cannot be reached, is busy or could not complete the call (retry)
  7  refused by the policy (the message names the rule and the part it does not cover),
     or by the approval rules (own request, not an approver)
  9  the request cannot be used (unknown id, already decided, token already collected,
     someone else's request)
 10  done but not delivered: the token was issued and recorded (issue) or collected (fetch,
     request --wait), the request made (request) or the key generated (keygen --pkcs11), but
     stdout could not take the result (e.g. a closed pipe); stderr says what was done and what
     to do (revoke, ask again)
 11  the request is still pending (fetch)
 12  the request was rejected or withdrawn
 13  the request expired undecided";

/// Issue and inspect jit capability tokens.
#[derive(Parser, Debug)]
#[command(name = "jit-signer", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

// Parsed once per process; boxing the large variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Generate a signing key: DIR/KID.key (secret, mode 0600) and DIR/KID.pub
    /// (one trusted-keys line). Refuses to overwrite.
    ///
    /// With --pkcs11 URI the key pair is generated inside the token (labelled
    /// KID, sensitive, not extractable) and its trusted-keys line is printed.
    #[command(after_help = EXIT_CODES)]
    Keygen(cmd::keygen::Args),
    /// Print the trusted-keys line of a key (a key file or a PKCS#11 key).
    #[command(name = "export-pub", after_help = EXIT_CODES)]
    ExportPub(cmd::export_pub::Args),
    /// Issue a token; prints it (base64url) on stdout.
    ///
    /// The token is printed only after its `issued` record is durable in the
    /// issuance ledger (--ledger); a refused request is recorded as `refused`.
    ///
    /// COMMAND syntax: words split on whitespace, with shell-style quoting
    /// ('single', "double" with \" and \\, backslash escapes). argv[0] must be an
    /// absolute path. A final unquoted `...` allows any further arguments;
    /// otherwise the command must match exactly. Example:
    /// --command "/usr/bin/systemctl restart nginx" --command "/usr/bin/journalctl -u nginx ..."
    #[command(after_help = EXIT_CODES)]
    Issue(cmd::issue::Args),
    /// Ask the signing service for a token under its policy; prints the
    /// request id (with --wait, the token once approved).
    #[command(after_help = EXIT_CODES)]
    Request(cmd::request::Args),
    /// Collect the token of your approved request (handed over once).
    #[command(after_help = EXIT_CODES)]
    Fetch(cmd::fetch::Args),
    /// List the pending requests you may approve.
    #[command(after_help = EXIT_CODES)]
    Requests(cmd::requests::Args),
    /// Approve a pending request (never your own): the service issues the
    /// token and its requester collects it.
    #[command(after_help = EXIT_CODES)]
    Approve(cmd::approve::Args),
    /// Reject a pending request (an approver), or withdraw your own.
    #[command(after_help = EXIT_CODES)]
    Reject(cmd::reject::Args),
    /// The signing service as it sees you, or one request.
    #[command(after_help = EXIT_CODES)]
    Status(cmd::status::Args),
    /// Run the signing service: the key, the ledger and the requests, behind
    /// a Unix socket (/usr/share/doc/jit-signer/signer-service.md).
    #[command(after_help = EXIT_CODES)]
    Serve(cmd::serve::Args),
    /// Relay one call from stdin to the local signing service (what
    /// --remote runs through ssh).
    #[command(hide = true)]
    Relay(cmd::relay::Args),
    /// Decode a token and, with --trusted-keys, verify its signature, type,
    /// key, key window and validity time.
    #[command(after_help = EXIT_CODES)]
    Inspect(cmd::inspect::Args),
    /// Revoke tokens or users: write the next signed revocation list.
    #[command(after_help = cmd::revoke::EXIT_CODES)]
    Revoke(cmd::revoke::Args),
}
