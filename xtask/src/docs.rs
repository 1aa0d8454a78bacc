//! `xtask gen-docs`: man pages and shell completions of the CLIs, from the
//! same clap definitions as their --help (ripgrep's way).

use std::fs;
use std::path::Path;

use anyhow::Context as _;
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
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd, name, &mut buf);
        let path = dir.join(file);
        fs::write(&path, buf).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
