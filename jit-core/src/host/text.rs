//! What a denial says beyond its reason: how to send a token (over SSH
//! too), what a token grants when the command is not among it, and what
//! sudo was asked to do when that could not be determined. Pure text,
//! unit-tested in host/tests.rs; a token's text never appears in any of it.

use crate::text::printable;
use crate::token::{shell_quote, TokenInfo};

/// At most this many grants are listed in a command denial; more are counted.
pub const GRANTS_LISTED: usize = 4;

/// At most this many bytes of the listed grants; longer lists are counted.
pub const GRANTS_TEXT_MAX: usize = 300;

/// At most this many bytes of sudo's argv go into a record's message
/// (the writer would cut the message at 1024 JSON-escaped bytes anyway).
pub const ATTEMPTED_MAX: usize = 512;

/// The environment variable a token travels in (never its value).
const TOKEN_VAR: &str = "JIT_TOKEN";

/// How to send a token over SSH: the client's `SendEnv` scoped to hosts,
/// and the server's `AcceptEnv` (docs/ssh.md).
const OVER_SSH_SEND: &str = "over SSH, send it from your machine: `SendEnv JIT_TOKEN` \
     under a `Host` entry for these hosts in ~/.ssh/config, which this server must accept \
     (`AcceptEnv JIT_TOKEN`: jit-ctl enable --ssh); see docs/ssh.md";

/// The denial when no token was set and no prompt is configured.
/// `ssh`: the invoking environment has `SSH_CONNECTION`.
pub fn no_token(ssh: bool) -> String {
    let mut m = String::from(
        "no JIT token: set JIT_TOKEN to a token issued by jit-signer (e.g. JIT_TOKEN=... sudo CMD)",
    );
    if ssh {
        m.push_str("; ");
        m.push_str(OVER_SSH_SEND);
    }
    m
}

/// The denial when no token was set and the prompt got no answer.
pub fn no_token_prompt_failed(ssh: bool) -> String {
    let mut m = String::from(
        "no JIT token: the prompt got no answer (sudo -n cannot prompt, and sudo refuses \
         answers of 512 bytes or more, which longer tokens are): set JIT_TOKEN instead \
         (JIT_TOKEN=... sudo CMD)",
    );
    if ssh {
        m.push_str(
            "; over SSH the prompt needs a terminal: log in with `ssh -t` and run sudo without -n, \
             or ",
        );
        m.push_str(OVER_SSH_SEND);
    }
    m
}

/// What a token grants, for a command or sudoedit denial: the grants
/// themselves when there are few and short, else their count.
pub fn grants_summary(t: &TokenInfo) -> String {
    let mut shown: Vec<String> = t
        .grants
        .iter()
        .map(|g| printable(&g.display()).into_owned())
        .collect();
    if t.shell {
        shown.push("a shell (sudo -s / -i)".into());
    }
    let text = shown.join(", ");
    match shown.len() {
        0 => "this token grants no command".into(),
        n if n <= GRANTS_LISTED && text.len() <= GRANTS_TEXT_MAX => {
            format!("this token grants: {text}")
        }
        n => format!("this token grants {n} commands (jit-signer inspect lists them)"),
    }
}

/// sudo's raw argv for the record of a denial whose command could not be
/// determined: each word shell-quoted and escaped, at most
/// [`ATTEMPTED_MAX`] bytes, and the value of a `JIT_TOKEN=` word replaced
/// (a token is never logged; its id is, once it verifies).
pub fn attempted(argv: &[String]) -> String {
    let mut out = String::from("sudo's argv:");
    for (i, a) in argv.iter().enumerate() {
        let word = match a.split_once('=') {
            Some((name, _)) if name == TOKEN_VAR => format!("{TOKEN_VAR}=<token not logged>"),
            _ => printable(&shell_quote(a)).into_owned(),
        };
        if out.len() + 1 + word.len() > ATTEMPTED_MAX {
            let left = argv.len() - i;
            out.push_str(&format!(
                " …[{left} more word{}]",
                if left == 1 { "" } else { "s" }
            ));
            break;
        }
        out.push(' ');
        out.push_str(&word);
    }
    out
}
