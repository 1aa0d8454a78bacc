//! What sudo is about to do, as determined by the PAM glue (see docs/pam-module.md).
//!
//! This is the input side of a policy decision. It is built by `pam_jit` from
//! trustworthy sources only; everything in here is already resolved (absolute
//! paths, exact argv boundaries).

/// The kind of sudo invocation and, for commands, exactly what will be executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run a command. `argv[0]` is the absolute path sudo will execute, the rest
    /// are the arguments exactly as sudo passes them.
    Exec { argv: Vec<String> },
    /// `sudo -s` / `sudo -i`: a shell (login shell for `-i`). Needs an explicit
    /// shell grant in the token; `argv` is the shell and what it will run.
    Shell { login: bool, argv: Vec<String> },
    /// `sudoedit FILE...` / `sudo -e FILE...`. Files are as given by the user.
    Edit { files: Vec<String> },
    /// `sudo -l`: list privileges; runs nothing.
    List,
    /// `sudo -v`: refresh credentials; runs nothing.
    Validate,
}

/// One sudo invocation on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The invoking Unix user (PAM_RUSER / PAM_USER at acct_mgmt).
    pub user: String,
    /// The host groups this host belongs to (from pam_jit.conf).
    pub host_groups: Vec<String>,
    /// What sudo will do.
    pub action: Action,
    /// The target user (`-u`, default root).
    pub run_as_user: String,
    /// The target group when `-g` was given.
    pub run_as_group: Option<String>,
}

impl Action {
    /// A short human rendering, used in messages and logs.
    pub fn display(&self) -> String {
        match self {
            Action::Exec { argv } => argv.join(" "),
            Action::Shell { login, argv } => {
                format!(
                    "{} {}",
                    if *login { "login shell:" } else { "shell:" },
                    argv.join(" ")
                )
            }
            Action::Edit { files } => format!("sudoedit {}", files.join(" ")),
            Action::List => "sudo -l".to_string(),
            Action::Validate => "sudo -v".to_string(),
        }
    }
}
