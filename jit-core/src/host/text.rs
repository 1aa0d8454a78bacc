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

/// A token's text starts with these characters: base64url of the COSE_Sign1
/// tag and array header (0xD2 0x84), docs/token-format.md.
const TOKEN_PREFIX: &str = "0oR";

/// The shortest run of base64url characters taken for a token: far shorter
/// than any token (a signature alone is 86 characters), far longer than
/// the prefix by chance in a word.
const TOKEN_RUN_MIN: usize = 64;

/// `a` with every token-shaped run (base64url characters holding
/// [`TOKEN_PREFIX`], at least [`TOKEN_RUN_MIN`] long) replaced by
/// `<token not logged>`: a token given as a plain argument (`sudo cmd TOKEN`,
/// `--token=TOKEN`, glued to other text) is not logged either. Other long
/// base64 text that happens to hold the prefix is dropped too: a denial's
/// record loses a little detail rather than risk a token.
fn without_tokens(a: &str) -> std::borrow::Cow<'_, str> {
    let b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
    let bytes = a.as_bytes();
    let mut out = String::new();
    let (mut done, mut i) = (0, 0);
    while i < bytes.len() {
        if !b64(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && b64(bytes[i]) {
            i += 1;
        }
        if i - start >= TOKEN_RUN_MIN && a[start..i].contains(TOKEN_PREFIX) {
            out.push_str(&a[done..start]);
            out.push_str("<token not logged>");
            done = i;
        }
    }
    if done == 0 {
        return std::borrow::Cow::Borrowed(a);
    }
    out.push_str(&a[done..]);
    std::borrow::Cow::Owned(out)
}

/// sudo's raw argv for the record of a denial whose command could not be
/// determined: each word shell-quoted and escaped, at most
/// [`ATTEMPTED_MAX`] bytes, the value of a `JIT_TOKEN=` word replaced and
/// any other token-shaped text too (a token is never logged; its id is,
/// once it verifies).
pub fn attempted(argv: &[String]) -> String {
    let mut out = String::from("sudo's argv:");
    for (i, a) in argv.iter().enumerate() {
        let word = match a.split_once('=') {
            Some((name, _)) if name == TOKEN_VAR => format!("{TOKEN_VAR}=<token not logged>"),
            _ => printable(&shell_quote(&without_tokens(a))).into_owned(),
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
