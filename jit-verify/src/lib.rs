//! jit-verify: verify jit audit logs and answer audit queries.
//!
//! A thin CLI over `jit_core::log` and `jit_core::ledger`; see
//! docs/log-format.md. The binary (src/main.rs) parses the command line
//! ([`cli::Cli`]) and dispatches to one module per subcommand ([`cmd`]: its
//! clap `Args` and its `run`). It is a library so that the workspace's
//! development tasks (xtask) render the man pages and shell completions from
//! the same clap definition as `--help`; it is no stable API.
#![forbid(unsafe_code)]

use anyhow::{Context, Result};

pub mod cli;
pub mod cmd;

mod ledger;

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

/// Man pages and shell completions from the clap definitions (ripgrep's way:
/// one definition for --help, the man page and the completions).
pub fn gen_docs(dir: &std::path::Path) -> Result<()> {
    use clap::CommandFactory as _;
    use clap_complete::Shell;
    let mut cmd = cli::Cli::command();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    clap_mangen::generate_to(cmd.clone(), dir)
        .with_context(|| format!("writing man pages into {}", dir.display()))?;
    for (shell, file) in [
        (Shell::Bash, "jit-verify.bash"),
        (Shell::Zsh, "_jit-verify"),
        (Shell::Fish, "jit-verify.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd, "jit-verify", &mut buf);
        let path = dir.join(file);
        std::fs::write(&path, buf).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
