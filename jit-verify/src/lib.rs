//! jit-verify: verify jit audit logs and answer audit queries.
//!
//! A thin CLI over `jit_core::log` and `jit_core::ledger`; see
//! docs/log-format.md. The binary (src/main.rs) parses the command line
//! ([`cli::Cli`]) and dispatches to one module per subcommand ([`cmd`]: its
//! clap `Args` and its `run`). It is a library so that the workspace's
//! development tasks (xtask) render the man pages and shell completions from
//! the same clap definition as `--help`; it is no stable API.
#![forbid(unsafe_code)]

use anyhow::Result;

pub mod cli;
pub mod cmd;

mod inputs;
mod ledger;

/// The version of every `--json` shape jit-verify prints, the top-level
/// member `json_version` of each object (docs/json.md). It changes when a
/// member is removed or changes meaning; new members may be added within a
/// version.
pub const JSON_VERSION: u32 = 1;

/// What the times given on the command line are read against: the system's
/// clock and local zone (`TZ`, else `/etc/localtime`).
pub(crate) fn clock() -> Result<jit_core::text::user_time::Clock> {
    Ok(jit_core::text::user_time::Clock::system()?)
}

/// One finding as `log` and `fleet` print it:
/// `CLASS [kind] FILE:LINE: seq N: detail` (parts that are unknown left out).
pub(crate) fn finding_line(f: &jit_core::log::verify::Finding) -> String {
    use jit_core::log::verify::Class;
    let class = match f.class {
        Class::Tampered => "TAMPERED",
        Class::Torn => "TORN",
        Class::Warning => "warning",
        Class::Note => "note",
    };
    let kind = serde_json::to_value(f.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    let loc = match (f.file.is_empty(), f.line) {
        (true, _) => String::new(),
        (false, 0) => format!("{}: ", f.file),
        (false, n) => format!("{}:{n}: ", f.file),
    };
    let seq = f.seq.map(|s| format!("seq {s}: ")).unwrap_or_default();
    format!(
        "{class} [{kind}] {loc}{seq}{}",
        jit_core::token::printable(&f.detail)
    )
}

/// What `log` and `fleet` say of an exit code, on their result lines.
pub(crate) fn result_word(code: i32) -> &'static str {
    match code {
        0 => "intact",
        1 => "TAMPERED",
        3 => "crash leftover only (torn tail, state behind or ahead by what a crash leaves, or a fork at a rotation; no tampering found)",
        4 => "ATTENTION (silent host, records missing from the central copy, or unreadable files; no tampering found)",
        _ => "could not check",
    }
}

/// The exit code of a subcommand's result; an error is printed to stderr.
pub fn exit(res: Result<i32>) -> i32 {
    match res {
        Ok(c) => c,
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                0
            } else if let Some(r) = e.downcast_ref::<ledger::Refused>() {
                eprintln!("jit-verify: {r}");
                1
            } else {
                eprintln!("jit-verify: error: {e:#}");
                2
            }
        }
    }
}
