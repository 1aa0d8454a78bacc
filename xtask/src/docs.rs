//! `xtask gen-docs`: man pages and shell completions of the CLIs, from the
//! same clap definitions as their --help (ripgrep's way).

use std::fs;
use std::path::Path;

use anyhow::{bail, Context as _};
use clap::CommandFactory as _;
use clap_complete::Shell;

/// A shipped command-line tool.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Bin {
    #[value(name = "jit-signer")]
    JitSigner,
    #[value(name = "jit-verify")]
    JitVerify,
}

impl Bin {
    fn name(self) -> &'static str {
        match self {
            Bin::JitSigner => "jit-signer",
            Bin::JitVerify => "jit-verify",
        }
    }

    fn command(self) -> clap::Command {
        match self {
            Bin::JitSigner => jit_signer::cli::Cli::command(),
            Bin::JitVerify => jit_verify::cli::Cli::command(),
        }
    }
}

/// Write BIN.1 and one page per subcommand (BIN-SUB.1), and the completions
/// BIN.bash, _BIN (zsh) and BIN.fish into `dir`.
pub fn generate(bin: Bin, dir: &Path) -> anyhow::Result<()> {
    let name = bin.name();
    let mut cmd = bin.command();
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    clap_mangen::generate_to(cmd.clone(), dir)
        .with_context(|| format!("writing man pages into {}", dir.display()))?;
    for (shell, file) in [
        (Shell::Bash, format!("{name}.bash")),
        (Shell::Zsh, format!("_{name}")),
        (Shell::Fish, format!("{name}.fish")),
    ] {
        let text = match shell {
            Shell::Bash => bash(cmd.clone(), name)?,
            _ => {
                let mut buf = Vec::new();
                clap_complete::generate(shell, &mut cmd, name, &mut buf);
                buf
            }
        };
        let path = dir.join(file);
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The bash completion of `name`.
///
/// clap_complete's bash script tracks the subcommand typed so far in a
/// state named after the binary, escaping a hyphen in the binary name one
/// way while walking the words (`jit__signer__subcmd__issue`) and another
/// in the arms that list each subcommand's options
/// (`jit__subcmd__signer__subcmd__issue`; clap-rs/clap#6421, open in
/// clap_complete 4.6.12). No arm matches, so no option of any subcommand
/// completes for a hyphenated name. The script is therefore generated for
/// the name with `_` for `-` and registered (`complete -F ...`) for the real
/// name: the first word is matched positionally, so nothing else depends
/// on it. xtask/tests/completion.rs runs the result in bash.
fn bash(mut cmd: clap::Command, name: &str) -> anyhow::Result<Vec<u8>> {
    let plain = name.replace('-', "_");
    let mut buf = Vec::new();
    clap_complete::generate(Shell::Bash, &mut cmd, &plain, &mut buf);
    let text = String::from_utf8(buf).context("bash completion is not UTF-8")?;
    let registration = format!(" {plain}\n");
    if !text.contains(&format!("complete -F _{plain} ")) || !text.contains(&registration) {
        bail!(
            "unexpected bash completion script for {name}: no `complete -F _{plain} ... {plain}`"
        );
    }
    Ok(text
        .replace(&registration, &format!(" {name}\n"))
        .into_bytes())
}
