//! Determining exactly what sudo is about to run, from two independent sources.
//!
//! The PAM module cannot ask sudo which command it resolved: no PAM item carries
//! it. Two sources exist inside the sudo process (see docs/pam-module.md):
//!
//! 1. `/proc/self/cmdline`: sudo's raw argv. Exact argument boundaries, but the
//!    command name is unresolved (`systemctl`, not `/usr/bin/systemctl`).
//! 2. `SUDO_COMMAND` as returned by sudo's own `getenv` hook: the resolved path
//!    and the arguments joined by single spaces (boundaries lost, truncated at
//!    4 KiB).
//!
//! [`determine`] parses (1) exactly as sudo 1.9's `parse_args()` does
//! (getopt_long with `+`, environment words interleaved with options, the `-h`
//! quirk, abbreviated long options) and then requires (2) to be exactly what sudo
//! would have produced from that parse. Any disagreement, any option whose
//! effect a token cannot express, and any doubt is an error: the caller denies.

use crate::invocation::Action;
use crate::text::printable;
use crate::token::shell_quote;

/// What the PAM glue read from the sudo process.
#[derive(Debug, Clone, Copy)]
pub struct SudoFacts<'a> {
    /// Raw contents of `/proc/self/cmdline` (NUL-terminated arguments).
    pub cmdline: &'a [u8],
    /// `SUDO_COMMAND` as returned by `getenv` inside sudo (sudo's hook serves
    /// it from the environment sudo built for the command).
    pub sudo_command: Option<&'a [u8]>,
    /// `SUDO_COMMAND` in the invoking user's original environment
    /// (`/proc/self/environ`), if the user set one.
    pub user_sudo_command: Option<&'a [u8]>,
}

/// The run-as user as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAs {
    /// No `-u`: sudo's default target user.
    Default,
    /// `-u name`.
    Name(String),
    /// `-u '#uid'`.
    Id(u32),
}

/// The outcome of [`determine`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Determined {
    /// What sudo will do.
    pub action: Action,
    /// Target user (`-u`).
    pub run_as_user: RunAs,
    /// Target group (`-g`): a name or `#gid` as given; resolved by the caller.
    pub run_as_group: Option<RunAs>,
}

/// Why the command could not be determined with certainty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// `/proc/self/cmdline` is empty, unterminated or not UTF-8.
    #[error("cannot read sudo's command line: {0}")]
    Cmdline(&'static str),
    /// argv[0] is neither sudo nor sudoedit.
    #[error("not invoked as sudo or sudoedit (argv[0] is {0:?})")]
    NotSudo(String),
    /// An option sudo would reject, or that this parser does not know.
    #[error("unrecognised or invalid sudo option {0:?}")]
    BadOption(String),
    /// An option whose effect a token cannot grant.
    #[error("sudo option {0} is not allowed with jit tokens")]
    Unsupported(&'static str),
    /// `VAR=value` words or `-E`: the user would choose the command's environment.
    #[error("setting environment variables through sudo ({0}) is not allowed with jit tokens")]
    Environment(String),
    /// A mode that runs no PAM account check or nothing at all (help, version, -k, -K).
    #[error("this sudo mode does not run a command")]
    NoCommand,
    /// sudo did not report the command (no `SUDO_COMMAND` from its hook).
    #[error(
        "sudo did not report the command it will run (SUDO_COMMAND missing); cannot verify it"
    )]
    NoSudoCommand,
    /// The user's own environment carries the same `SUDO_COMMAND`: we cannot
    /// tell sudo's value from the user's.
    #[error("your environment sets SUDO_COMMAND; unset it and try again")]
    SpoofedSudoCommand,
    /// The two sources disagree.
    #[error(
        "cannot verify the command: sudo reports {reported:?} but the command line says {parsed:?}"
    )]
    Mismatch {
        /// What sudo reported.
        reported: String,
        /// What the command line implies.
        parsed: String,
    },
    /// `sudo sudoedit FILE`: sudoers turns it into edit mode, which the
    /// command line does not say; `sudoedit FILE` or `sudo -e FILE` does.
    #[error("`sudo sudoedit {0}` is not supported: run `sudoedit {0}` (or `sudo -e {0}`) instead")]
    SudoeditThroughSudo(String),
    /// The resolved command is not an absolute path without white space.
    #[error("command {0:?} does not resolve to an absolute path; give the full path")]
    NotAbsolute(String),
    /// The arguments are longer than the part of them sudo reports in
    /// `SUDO_COMMAND` ([`SUDO_COMMAND_ARGS_MAX`] bytes), so the command cannot
    /// be confirmed.
    #[error(
        "the command's arguments are {0} bytes long; sudo reports only the first {max}, so the command cannot be verified",
        max = SUDO_COMMAND_ARGS_MAX
    )]
    TooLong(usize),
    /// Under sudo-rs: something outside the supported subset (see
    /// [`determine_sudo_rs`]); the message says what.
    #[error("under sudo-rs, {0}")]
    SudoRs(String),
}

/// sudo 1.9 reports at most this many bytes of the arguments in
/// `SUDO_COMMAND` (`"%s %.*s", user_cmnd, 4096, user_args` in
/// plugins/sudoers/env.c). Past it the reported text is a prefix, and a
/// prefix can be made to look like a different split between command and
/// arguments (docs/pam-module.md, "Truncation").
pub const SUDO_COMMAND_ARGS_MAX: usize = 4096;

/// Long options of sudo 1.9.13 (`sudo_long_opts`); the first 11 are not
/// available to sudoedit.
const LONG_OPTS: &[(&str, ArgKind, char)] = &[
    ("background", ArgKind::None, 'b'),
    ("preserve-env", ArgKind::Optional, 'E'),
    ("edit", ArgKind::None, 'e'),
    ("set-home", ArgKind::None, 'H'),
    ("login", ArgKind::None, 'i'),
    ("remove-timestamp", ArgKind::None, 'K'),
    ("list", ArgKind::None, 'l'),
    ("preserve-groups", ArgKind::None, 'P'),
    ("shell", ArgKind::None, 's'),
    ("other-user", ArgKind::Required, 'U'),
    ("validate", ArgKind::None, 'v'),
    ("askpass", ArgKind::None, 'A'),
    ("auth-type", ArgKind::Required, 'a'),
    ("bell", ArgKind::None, 'B'),
    ("close-from", ArgKind::Required, 'C'),
    ("login-class", ArgKind::Required, 'c'),
    ("chdir", ArgKind::Required, 'D'),
    ("group", ArgKind::Required, 'g'),
    ("help", ArgKind::None, 'h'),
    ("host", ArgKind::Required, HOST_LONG),
    ("reset-timestamp", ArgKind::None, 'k'),
    ("no-update", ArgKind::None, 'N'),
    ("non-interactive", ArgKind::None, 'n'),
    ("prompt", ArgKind::Required, 'p'),
    ("chroot", ArgKind::Required, 'R'),
    ("role", ArgKind::Required, 'r'),
    ("stdin", ArgKind::None, 'S'),
    ("command-timeout", ArgKind::Required, 'T'),
    ("type", ArgKind::Required, 't'),
    ("user", ArgKind::Required, 'u'),
    ("version", ArgKind::None, 'V'),
];
const EDIT_LONG_FIRST: usize = 11;
/// Stand-in for sudo's OPT_HOSTNAME (`--host`).
const HOST_LONG: char = '\u{100}';
const SUDO_SHORT: &str = "+Aa:BbC:c:D:Eeg:Hh::iKklNnPp:R:r:SsT:t:U:u:Vv";
const EDIT_SHORT: &str = "+Aa:BC:c:D:g:h::KkNnp:R:r:ST:t:u:V";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArgKind {
    None,
    Required,
    Optional,
}

fn short_kind(optstring: &str, c: char) -> Option<ArgKind> {
    let s = optstring.strip_prefix('+').unwrap_or(optstring);
    let idx = s.find(c)?;
    if c == ':' {
        return None;
    }
    let rest = &s[idx + c.len_utf8()..];
    Some(if rest.starts_with("::") {
        ArgKind::Optional
    } else if rest.starts_with(':') {
        ArgKind::Required
    } else {
        ArgKind::None
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Run,
    Edit,
    List,
    Validate,
    Help,
    Version,
    Kill,
}

#[derive(Default)]
struct Parsed {
    mode: Option<Mode>,
    shell: bool,
    login: bool,
    ignore_ticket: bool,
    run_as_user: Option<String>,
    run_as_group: Option<String>,
    env_words: Vec<String>,
    preserve_env: bool,
    unsupported: Option<&'static str>,
}

fn set_mode(p: &mut Parsed, m: Mode, opt: &str) -> Result<(), CommandError> {
    match p.mode {
        Some(cur) if cur != m => Err(CommandError::BadOption(opt.to_string())),
        _ => {
            p.mode = Some(m);
            Ok(())
        }
    }
}

/// sudo's `is_envar`: not starting with `/` or `=`, containing `=`.
/// An environment word as a message shows it: the name only. The value may
/// be a secret, the token itself included (`sudo JIT_TOKEN=... CMD`), and
/// messages reach the terminal and the audit log.
fn env_word_shown(word: &str) -> String {
    let name = word.split_once('=').map_or(word, |(n, _)| n);
    format!("{name}=…")
}

fn is_envar(word: &str) -> bool {
    !word.starts_with('/') && !word.starts_with('=') && word.contains('=')
}

fn apply(p: &mut Parsed, c: char, value: Option<&str>, shown: &str) -> Result<(), CommandError> {
    let bad = || CommandError::BadOption(shown.to_string());
    let nonempty = |v: Option<&str>| -> Result<String, CommandError> {
        match v {
            Some(v) if !v.is_empty() => Ok(v.to_string()),
            _ => Err(bad()),
        }
    };
    match c {
        'A' | 'B' | 'b' | 'H' | 'N' | 'n' | 'P' | 'S' => {}
        'C' => {
            let v = nonempty(value)?;
            if !matches!(v.parse::<i64>(), Ok(n) if n >= 3) {
                return Err(bad());
            }
        }
        // A token grants a command line, not a working directory: with -D
        // (sudoers runcwd) relative arguments would name files in a directory
        // the user may not even be able to enter.
        'D' => {
            nonempty(value)?;
            p.unsupported = p.unsupported.or(Some("-D/--chdir"));
        }
        'p' | 'T' => {
            if value.is_none() {
                return Err(bad());
            }
        }
        // Linux sudo is built without BSD auth and login classes: sudo rejects them.
        'a' | 'c' => return Err(bad()),
        'E' => match value {
            None => p.preserve_env = true,
            Some(list) => p.env_words.push(format!("--preserve-env={list}")),
        },
        'e' => set_mode(p, Mode::Edit, shown)?,
        'g' => {
            if p.run_as_group.is_some() {
                return Err(bad());
            }
            p.run_as_group = Some(nonempty(value)?);
        }
        'h' => match value {
            None => set_mode(p, Mode::Help, shown)?,
            Some(_) => p.unsupported = p.unsupported.or(Some("-h/--host")),
        },
        HOST_LONG => {
            nonempty(value)?;
            p.unsupported = p.unsupported.or(Some("-h/--host"));
        }
        'i' => p.login = true,
        'K' => {
            set_mode(p, Mode::Kill, shown)?;
            p.ignore_ticket = true;
        }
        'k' => p.ignore_ticket = true,
        'l' => {
            if p.mode.is_some() && p.mode != Some(Mode::List) {
                return Err(bad());
            }
            p.mode = Some(Mode::List);
        }
        'R' => {
            nonempty(value)?;
            p.unsupported = p.unsupported.or(Some("-R/--chroot"));
        }
        'r' | 't' => {
            nonempty(value)?;
            p.unsupported = p.unsupported.or(Some("-r/-t (SELinux role or type)"));
        }
        's' => p.shell = true,
        'U' => {
            nonempty(value)?;
        }
        'u' => {
            if p.run_as_user.is_some() {
                return Err(bad());
            }
            p.run_as_user = Some(nonempty(value)?);
        }
        'v' => set_mode(p, Mode::Validate, shown)?,
        'V' => set_mode(p, Mode::Version, shown)?,
        _ => return Err(bad()),
    }
    Ok(())
}

fn split_cmdline(raw: &[u8]) -> Result<Vec<String>, CommandError> {
    let body = raw
        .strip_suffix(&[0])
        .ok_or(CommandError::Cmdline("not NUL-terminated"))?;
    if body.is_empty() {
        return Err(CommandError::Cmdline("empty"));
    }
    body.split(|b| *b == 0)
        .map(|a| {
            std::str::from_utf8(a)
                .map(str::to_string)
                .map_err(|_| CommandError::Cmdline("an argument is not UTF-8"))
        })
        .collect()
}

fn parse_run_as(spec: &str) -> Result<RunAs, CommandError> {
    match spec.strip_prefix('#') {
        Some(num) => num
            .parse::<u32>()
            .map(RunAs::Id)
            .map_err(|_| CommandError::BadOption(format!("-u/-g {spec}"))),
        None => Ok(RunAs::Name(spec.to_string())),
    }
}

/// sudo's quoting for `-s`/`-i` with a command: the front-end puts a
/// backslash before every byte that is not alphanumeric, `_`, `-` or `$`
/// (this is what the shell receives after `-c`).
fn shell_escape(words: &[String]) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        for ch in w.chars() {
            if !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '-' || ch == '$') {
                out.push('\\');
            }
            out.push(ch);
        }
    }
    out
}

/// What sudoers puts in `SUDO_COMMAND` after `-c` for a shell command: it
/// unescapes the front-end's quoting except before white space
/// (`strlcpy_unescape` in sudoers.c), so only white space keeps its backslash.
fn shell_reported_args(words: &[String]) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        for ch in w.chars() {
            if ch.is_ascii_whitespace() || ch == '\u{0b}' {
                out.push('\\');
            }
            out.push(ch);
        }
    }
    out
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Determine what sudo will do. Any error means: deny.
pub fn determine(facts: &SudoFacts<'_>) -> Result<Determined, CommandError> {
    let argv = split_cmdline(facts.cmdline)?;
    let progname = basename(&argv[0]).to_string();
    let edit_prog = match progname.as_str() {
        "sudo" => false,
        "sudoedit" => true,
        _ => return Err(CommandError::NotSudo(argv[0].clone())),
    };
    let (short, longs) = if edit_prog {
        (EDIT_SHORT, &LONG_OPTS[EDIT_LONG_FIRST..])
    } else {
        (SUDO_SHORT, LONG_OPTS)
    };
    let mut p = Parsed::default();
    if edit_prog {
        p.mode = Some(Mode::Edit);
    }

    let mut i = 1;
    while i < argv.len() {
        let arg = argv[i].as_str();
        if arg == "--" {
            i += 1;
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            // getopt_long: an exact match wins, else a unique prefix.
            let found = longs.iter().find(|(n, _, _)| *n == name).or_else(|| {
                let mut cands = longs.iter().filter(|(n, _, _)| n.starts_with(name));
                match (cands.next(), cands.next()) {
                    (Some(one), None) if !name.is_empty() => Some(one),
                    _ => None,
                }
            });
            let Some(&(_, kind, c)) = found else {
                return Err(CommandError::BadOption(arg.to_string()));
            };
            i += 1;
            let value = match kind {
                ArgKind::None if inline.is_some() => {
                    return Err(CommandError::BadOption(arg.to_string()))
                }
                ArgKind::None => None,
                ArgKind::Optional => inline,
                ArgKind::Required => match inline {
                    Some(v) => Some(v),
                    None => {
                        let v = argv
                            .get(i)
                            .ok_or_else(|| CommandError::BadOption(arg.to_string()))?;
                        i += 1;
                        Some(v.as_str())
                    }
                },
            };
            apply(&mut p, c, value, arg)?;
            continue;
        }
        if arg.len() > 1 && arg.starts_with('-') {
            i += 1;
            let cluster: Vec<char> = arg[1..].chars().collect();
            let mut k = 0;
            while k < cluster.len() {
                let c = cluster[k];
                let kind =
                    short_kind(short, c).ok_or_else(|| CommandError::BadOption(format!("-{c}")))?;
                let rest: String = cluster[k + 1..].iter().collect();
                match kind {
                    ArgKind::None => {
                        apply(&mut p, c, None, &format!("-{c}"))?;
                        k += 1;
                    }
                    ArgKind::Required => {
                        let value = if rest.is_empty() {
                            let v = argv
                                .get(i)
                                .ok_or_else(|| CommandError::BadOption(format!("-{c}")))?;
                            i += 1;
                            v.clone()
                        } else {
                            rest
                        };
                        apply(&mut p, c, Some(&value), &format!("-{c}"))?;
                        break;
                    }
                    ArgKind::Optional => {
                        // Only -h: "-hHOST" attached, or sudo's own rule: a bare "-h"
                        // followed by a word that is not an option or VAR=value.
                        if !rest.is_empty() {
                            apply(&mut p, c, Some(&rest), &format!("-{c}"))?;
                        } else if arg == "-h"
                            && argv
                                .get(i)
                                .is_some_and(|n| !n.starts_with('-') && !is_envar(n))
                        {
                            i += 1;
                            apply(&mut p, HOST_LONG, Some("host"), "-h")?;
                        } else {
                            apply(&mut p, c, None, "-h")?;
                        }
                        break;
                    }
                }
            }
            continue;
        }
        // A non-option: an environment assignment, or the start of the command.
        if is_envar(arg) {
            p.env_words.push(arg.to_string());
            i += 1;
            continue;
        }
        break;
    }
    let words: Vec<String> = argv[i..].to_vec();

    // sudo's post-processing of the mode.
    let mode = match p.mode {
        Some(m) => m,
        None if p.ignore_ticket && words.is_empty() && !p.shell && !p.login => {
            return Err(CommandError::NoCommand)
        }
        None => Mode::Run,
    };
    if p.login && p.shell {
        return Err(CommandError::BadOption("-i with -s".into()));
    }
    match mode {
        Mode::Help | Mode::Version | Mode::Kill => return Err(CommandError::NoCommand),
        Mode::Edit if words.is_empty() => return Err(CommandError::BadOption("sudoedit".into())),
        Mode::Validate if !words.is_empty() => {
            return Err(CommandError::BadOption("-v with a command".into()))
        }
        _ => {}
    }
    if let Some(opt) = p.unsupported {
        return Err(CommandError::Unsupported(opt));
    }
    if p.preserve_env {
        return Err(CommandError::Environment("-E/--preserve-env".into()));
    }
    if let Some(w) = p.env_words.first() {
        return Err(CommandError::Environment(env_word_shown(w)));
    }

    // Only now look at what sudo reported.
    let reported = facts.sudo_command.ok_or(CommandError::NoSudoCommand)?;
    if facts.user_sudo_command == Some(reported) {
        return Err(CommandError::SpoofedSudoCommand);
    }
    let reported = std::str::from_utf8(reported)
        .map_err(|_| CommandError::Cmdline("SUDO_COMMAND is not UTF-8"))?
        .to_string();
    let mismatch = |parsed: String| CommandError::Mismatch {
        reported: reported.clone(),
        parsed,
    };

    let action = match mode {
        Mode::List => {
            if reported != "list" && !reported.starts_with("list ") {
                return Err(mismatch("list".into()));
            }
            Action::List
        }
        Mode::Validate => {
            if reported != "validate" {
                return Err(mismatch("validate".into()));
            }
            Action::Validate
        }
        Mode::Edit => {
            let joined = words.join(" ");
            fits_sudo_command(&joined)?;
            let expected = format!("sudoedit {joined}");
            if reported != expected {
                return Err(mismatch(expected));
            }
            Action::Edit { files: words }
        }
        Mode::Run if p.shell || p.login || words.is_empty() => {
            // sudo runs the shell with no argument, or with -c and the words escaped.
            let (shell, tail) = if words.is_empty() {
                (reported.as_str(), None)
            } else {
                // sudo's argument text is "-c" and the escaped words.
                let user_args = format!("-c {}", shell_reported_args(&words));
                fits_sudo_command(&user_args)?;
                let suffix = format!(" {user_args}");
                match reported.strip_suffix(&suffix) {
                    Some(s) => (s, Some(suffix)),
                    None => return Err(mismatch(format!("<shell>{suffix}"))),
                }
            };
            check_path(shell)?;
            let mut argv = vec![shell.to_string()];
            if tail.is_some() {
                argv.push("-c".into());
                argv.push(shell_escape(&words));
            }
            Action::Shell {
                login: p.login,
                argv,
            }
        }
        Mode::Run => {
            if basename(&words[0]) == "sudoedit" {
                let files = words[1..]
                    .iter()
                    .map(|w| printable(&shell_quote(w)).into_owned())
                    .collect::<Vec<_>>();
                return Err(CommandError::SudoeditThroughSudo(files.join(" ")));
            }
            let args = &words[1..];
            let resolved = if args.is_empty() {
                reported.as_str()
            } else {
                let joined = args.join(" ");
                fits_sudo_command(&joined)?;
                let suffix = format!(" {joined}");
                reported
                    .strip_suffix(&suffix)
                    .ok_or_else(|| mismatch(words.join(" ")))?
            };
            check_path(resolved)?;
            let given = words[0].as_str();
            let consistent = if given.contains('/') {
                resolved == given
            } else {
                basename(resolved) == given
            };
            if !consistent {
                return Err(mismatch(words.join(" ")));
            }
            let mut argv = Vec::with_capacity(words.len());
            argv.push(resolved.to_string());
            argv.extend(args.iter().cloned());
            Action::Exec { argv }
        }
        Mode::Help | Mode::Version | Mode::Kill => return Err(CommandError::NoCommand),
    };

    Ok(Determined {
        action,
        run_as_user: match &p.run_as_user {
            Some(u) => parse_run_as(u)?,
            None => RunAs::Default,
        },
        run_as_group: p.run_as_group.as_deref().map(parse_run_as).transpose()?,
    })
}

/// Deny arguments longer than what `SUDO_COMMAND` carries: the check against
/// it would compare with a prefix only.
fn fits_sudo_command(reported_args: &str) -> Result<(), CommandError> {
    if reported_args.len() > SUDO_COMMAND_ARGS_MAX {
        return Err(CommandError::TooLong(reported_args.len()));
    }
    Ok(())
}

fn check_path(p: &str) -> Result<(), CommandError> {
    if !p.starts_with('/') || p.chars().any(char::is_whitespace) {
        return Err(CommandError::NotAbsolute(p.to_string()));
    }
    Ok(())
}

/// Is the running executable sudo-rs? (Asked only where sudo 1.9's `getenv`
/// hook is absent; see pam_jit's glue.) `exe` is the kernel's `/proc/self/exe`
/// of the sudo process: set by execve from the file actually executed (symbolic
/// links resolved), so neither argv\[0\] nor the environment can change it. The
/// rule is its final component being exactly `sudo-rs` (how distributions
/// install sudo-rs next to, or instead of, sudo). Anything else, including a
/// deleted binary (`"sudo-rs (deleted)"`), is treated as sudo 1.9, whose
/// determination fails closed under sudo-rs (no `SUDO_COMMAND` at PAM time).
pub fn is_sudo_rs(exe: &std::path::Path) -> bool {
    exe.file_name() == Some(std::ffi::OsStr::new("sudo-rs"))
}

fn rs(msg: impl Into<String>) -> CommandError {
    CommandError::SudoRs(msg.into())
}

/// Determine what sudo-rs (0.2.x) will run, from `/proc/self/cmdline` alone.
///
/// sudo-rs has no `getenv` hook and sets no `SUDO_COMMAND` before PAM runs, so
/// there is no second source: only what its command line says with certainty is
/// accepted. The grammar accepted is a strict subset of both sudo-rs's and sudo
/// 1.9's (each word means the same to both; see docs/pam-module.md, "sudo-rs"):
///
/// ```text
/// sudo|sudo-rs [-n | -u USER | -g GROUP]... [--] /ABSOLUTE/PATH [ARG]...
/// ```
///
/// - `-u` and `-g` take the next word as their value (never attached), at most
///   once each, by name only (no `#id`), and `-g` only together with `-u`
///   (without `-u`, `-g` means "as myself" to both sudos).
/// - the command is an absolute path: sudo-rs resolves a bare name through a
///   PATH this module cannot see with certainty, and a relative path through the
///   working directory. It may not contain `=` (sudo 1.9 would read an
///   environment assignment), white space, `.`/`..`/empty components or end in
///   `/` (sudo-rs canonicalizes; the grant names the canonical path), nor name
///   `sudoedit`/`sudoedit-rs` (sudo-rs switches to edit mode).
/// - everything after the command is its arguments, exactly (sudo-rs, like sudo
///   1.9, stops parsing options at the first non-option word).
///
/// Everything else is an error, so the caller denies: `-s`, `-i`, `-e`, `-l`,
/// `-v`, `-E`, `-D`, `-k`, any other option, clustered options (`-nu`),
/// `VAR=value` words, a missing command.
pub fn determine_sudo_rs(cmdline: &[u8]) -> Result<Determined, CommandError> {
    let argv = split_cmdline(cmdline)?;
    let progname = basename(&argv[0]);
    if progname != "sudo" && progname != "sudo-rs" {
        return Err(CommandError::NotSudo(argv[0].clone()));
    }
    let mut user: Option<String> = None;
    let mut group: Option<String> = None;
    let mut i = 1;
    while i < argv.len() {
        let arg = argv[i].as_str();
        match arg {
            "--" => {
                i += 1;
                break;
            }
            "-n" => i += 1,
            "-u" | "-g" => {
                let slot = if arg == "-u" { &mut user } else { &mut group };
                if slot.is_some() {
                    return Err(rs(format!("{arg} may be given only once")));
                }
                let value = argv
                    .get(i + 1)
                    .ok_or_else(|| CommandError::BadOption(arg.to_string()))?;
                if value.is_empty() || value.starts_with('#') || value.starts_with('-') {
                    return Err(rs(format!(
                        "{arg} {value:?} is not supported: give a user or group name"
                    )));
                }
                *slot = Some(value.clone());
                i += 2;
            }
            "-s" | "--shell" | "-i" | "--login" => {
                return Err(rs(format!(
                    "shells ({arg}) are not supported with jit tokens; name the command"
                )))
            }
            _ if arg.starts_with('-') => {
                return Err(rs(format!(
                "option {arg:?} is not supported with jit tokens (only -n, -u USER, -g GROUP, --)"
            )))
            }
            _ if arg.contains('=') => return Err(CommandError::Environment(env_word_shown(arg))),
            _ => break,
        }
    }
    let rest = &argv[i.min(argv.len())..];
    let Some(cmd) = rest.first() else {
        return Err(CommandError::NoCommand);
    };
    if !cmd.starts_with('/') {
        return Err(rs(format!(
            "command {cmd:?} would be resolved by sudo-rs through PATH or the working directory; give its absolute path"
        )));
    }
    if cmd.contains('=') || cmd.chars().any(char::is_whitespace) {
        return Err(rs(format!(
            "command path {cmd:?} contains '=' or white space"
        )));
    }
    let comps: Vec<&str> = cmd[1..].split('/').collect();
    if comps
        .iter()
        .any(|c| c.is_empty() || *c == "." || *c == "..")
    {
        return Err(rs(format!(
            "command path {cmd:?} is not canonical (empty, . or .. components)"
        )));
    }
    if matches!(comps.last(), Some(&"sudoedit") | Some(&"sudoedit-rs")) {
        return Err(rs("sudoedit is not supported with jit tokens"));
    }
    if group.is_some() && user.is_none() {
        return Err(rs("-g without -u is not supported: give -u USER as well"));
    }
    Ok(Determined {
        action: Action::Exec {
            argv: rest.to_vec(),
        },
        run_as_user: user.map_or(RunAs::Default, RunAs::Name),
        run_as_group: group.map(RunAs::Name),
    })
}

/// Fuzzing entry point: `cmdline` bytes, a 0xFF separator, then `SUDO_COMMAND`.
/// Checks that [`determine`] and [`determine_sudo_rs`] never panic and that
/// whatever they accept is consistent with what sudo reported / the command
/// line.
#[doc(hidden)]
pub fn fuzz_determine(data: &[u8]) {
    let (cmdline, reported) = match data.iter().position(|b| *b == 0xFF) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let facts = SudoFacts {
        cmdline,
        sudo_command: reported,
        user_sudo_command: None,
    };
    if let Ok(Determined {
        action: Action::Exec { argv },
        ..
    }) = determine(&facts)
    {
        // An accepted command always has an absolute, white-space-free path
        // and re-joins to exactly what sudo reported.
        assert!(argv[0].starts_with('/') && !argv[0].chars().any(char::is_whitespace));
        assert_eq!(Some(argv.join(" ").as_bytes()), reported);
    }
    // The sudo-rs rules on the same command line: an accepted command is an
    // absolute, canonical path without '=' or white space, and its argv is
    // exactly the tail of the command line.
    if let Ok(Determined {
        action: Action::Exec { argv },
        ..
    }) = determine_sudo_rs(cmdline)
    {
        let p = &argv[0];
        assert!(p.starts_with('/') && !p.contains('=') && !p.chars().any(char::is_whitespace));
        assert!(!p[1..]
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == ".."));
        let mut tail: Vec<u8> = Vec::new();
        for a in &argv {
            tail.extend_from_slice(a.as_bytes());
            tail.push(0);
        }
        assert!(cmdline.ends_with(&tail));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmdline(args: &[&str]) -> Vec<u8> {
        let mut v = Vec::new();
        for a in args {
            v.extend_from_slice(a.as_bytes());
            v.push(0);
        }
        v
    }

    fn det(args: &[&str], reported: &str) -> Result<Determined, CommandError> {
        let c = cmdline(args);
        determine(&SudoFacts {
            cmdline: &c,
            sudo_command: Some(reported.as_bytes()),
            user_sudo_command: None,
        })
    }

    fn exec(argv: &[&str]) -> Action {
        Action::Exec {
            argv: argv.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn plain_command_resolved_by_sudo() {
        let d = det(&["sudo", "-n", "true"], "/usr/bin/true").unwrap();
        assert_eq!(d.action, exec(&["/usr/bin/true"]));
        assert_eq!(d.run_as_user, RunAs::Default);
    }

    #[test]
    fn arguments_keep_exact_boundaries() {
        let d = det(&["sudo", "/bin/echo", "a b", "c"], "/bin/echo a b c").unwrap();
        assert_eq!(d.action, exec(&["/bin/echo", "a b", "c"]));
        let d = det(&["sudo", "/bin/echo", "a", "b", "c"], "/bin/echo a b c").unwrap();
        assert_eq!(d.action, exec(&["/bin/echo", "a", "b", "c"]));
        let d = det(&["sudo", "/bin/echo", ""], "/bin/echo ").unwrap();
        assert_eq!(d.action, exec(&["/bin/echo", ""]));
    }

    #[test]
    fn path_trick_is_caught_by_resolution_check() {
        // User asked for "systemctl"; sudo resolved it (through a PATH the user
        // controls) to their own copy: the resolved path is what gets checked.
        let d = det(&["sudo", "systemctl"], "/home/u/bin/systemctl").unwrap();
        assert_eq!(d.action, exec(&["/home/u/bin/systemctl"]));
        // sudo resolved a different program name than the one typed.
        assert!(matches!(
            det(&["sudo", "systemctl"], "/usr/bin/rm"),
            Err(CommandError::Mismatch { .. })
        ));
        // An absolute path must be reported unchanged.
        assert!(det(&["sudo", "/usr/bin/true"], "/usr/bin/false").is_err());
    }

    #[test]
    fn relative_commands_are_denied() {
        assert!(matches!(
            det(&["sudo", "./foo"], "./foo"),
            Err(CommandError::NotAbsolute(_))
        ));
        assert!(matches!(
            det(&["sudo", "foo"], "foo"),
            Err(CommandError::NotAbsolute(_))
        ));
    }

    #[test]
    fn spaces_in_resolved_path_are_denied() {
        // "/opt/my tool" + " x" could be read as "/opt/my" + " tool x".
        assert!(det(&["sudo", "/opt/my tool", "x"], "/opt/my tool x").is_err());
    }

    #[test]
    fn option_values_are_not_commands() {
        let d = det(
            &["sudo", "-u", "postgres", "/usr/bin/psql"],
            "/usr/bin/psql",
        )
        .unwrap();
        assert_eq!(d.run_as_user, RunAs::Name("postgres".into()));
        assert_eq!(d.action, exec(&["/usr/bin/psql"]));
        let d = det(
            &["sudo", "-upostgres", "-gdb", "/usr/bin/psql"],
            "/usr/bin/psql",
        )
        .unwrap();
        assert_eq!(d.run_as_group, Some(RunAs::Name("db".into())));
        let d = det(&["sudo", "-nu", "#0", "/usr/bin/id"], "/usr/bin/id").unwrap();
        assert_eq!(d.run_as_user, RunAs::Id(0));
        let d = det(&["sudo", "--user=bob", "/usr/bin/id"], "/usr/bin/id").unwrap();
        assert_eq!(d.run_as_user, RunAs::Name("bob".into()));
        let d = det(&["sudo", "--user", "bob", "/usr/bin/id"], "/usr/bin/id").unwrap();
        assert_eq!(d.run_as_user, RunAs::Name("bob".into()));
        // getopt_long accepts unique prefixes.
        let d = det(&["sudo", "--us=bob", "/usr/bin/id"], "/usr/bin/id").unwrap();
        assert_eq!(d.run_as_user, RunAs::Name("bob".into()));
        // Ambiguous prefixes are errors (sudo prints usage).
        assert!(det(&["sudo", "--pre", "/usr/bin/id"], "/usr/bin/id").is_err());
        // -p PROMPT, -C N, -T T take values that must not be read as the command.
        let d = det(
            &[
                "sudo",
                "-p",
                "/usr/bin/true",
                "-C",
                "5",
                "-T",
                "10",
                "/usr/bin/id",
            ],
            "/usr/bin/id",
        )
        .unwrap();
        assert_eq!(d.action, exec(&["/usr/bin/id"]));
    }

    #[test]
    fn a_working_directory_is_not_granted() {
        // -D takes a value (not the command), and is then refused: relative
        // arguments would name files in a directory of the user's choosing.
        for args in [
            &["sudo", "-D", "/root", "/usr/bin/cat", "notes"][..],
            &["sudo", "-D/root", "/usr/bin/cat", "notes"],
            &["sudo", "--chdir=/root", "/usr/bin/cat", "notes"],
            &["sudo", "--chdir", "/root", "/usr/bin/cat", "notes"],
            &["sudo", "-nD", "/root", "/usr/bin/cat", "notes"],
        ] {
            assert_eq!(
                det(args, "/usr/bin/cat notes"),
                Err(CommandError::Unsupported("-D/--chdir")),
                "{args:?}"
            );
        }
    }

    #[test]
    fn a_misparsed_option_value_cannot_match() {
        // If a parser forgot that -u takes a value it would take "root" as the
        // command; the cross-check with SUDO_COMMAND must still catch it.
        assert!(det(&["sudo", "-C", "/usr/bin/true"], "/usr/bin/true").is_err());
    }

    #[test]
    fn an_environment_word_is_named_never_shown() {
        // `sudo JIT_TOKEN=<token> CMD`: the denial must not echo the token.
        let secret = "eyJhbGciOiJFZERTQSJ9.secret-token-text";
        let w = format!("JIT_TOKEN={secret}");
        let e = det(&["sudo", "-n", &w, "/usr/bin/true"], "/usr/bin/true").unwrap_err();
        let m = e.to_string();
        assert!(!m.contains(secret), "{m}");
        assert!(m.contains("JIT_TOKEN=…"), "{m}");
        let e = determine_sudo_rs(format!("sudo\0{w}\0/usr/bin/true\0").as_bytes())
            .unwrap_err()
            .to_string();
        assert!(!e.contains(secret) && e.contains("JIT_TOKEN=…"), "{e}");
    }

    #[test]
    fn sudo_sudoedit_is_told_to_use_sudoedit() {
        for argv0 in ["sudoedit", "/usr/bin/sudoedit"] {
            let e = det(&["sudo", argv0, "/etc/hosts"], "sudoedit /etc/hosts").unwrap_err();
            assert_eq!(
                e.to_string(),
                "`sudo sudoedit /etc/hosts` is not supported: run `sudoedit /etc/hosts` \
                 (or `sudo -e /etc/hosts`) instead"
            );
        }
    }

    #[test]
    fn environment_words_and_preserve_env_are_denied() {
        assert!(matches!(
            det(
                &["sudo", "LD_PRELOAD=/tmp/x.so", "/usr/bin/true"],
                "/usr/bin/true"
            ),
            Err(CommandError::Environment(_))
        ));
        assert!(matches!(
            det(
                &["sudo", "-n", "FOO=1", "-u", "root", "/usr/bin/true"],
                "/usr/bin/true"
            ),
            Err(CommandError::Environment(_))
        ));
        assert!(matches!(
            det(&["sudo", "-E", "/usr/bin/true"], "/usr/bin/true"),
            Err(CommandError::Environment(_))
        ));
        assert!(matches!(
            det(
                &["sudo", "--preserve-env=PATH", "/usr/bin/true"],
                "/usr/bin/true"
            ),
            Err(CommandError::Environment(_))
        ));
        // After "--" a VAR=value word is the command itself, not an assignment.
        assert!(matches!(
            det(&["sudo", "--", "A=b"], "A=b"),
            Err(CommandError::NotAbsolute(_))
        ));
        // A word starting with "/" is never an assignment.
        let d = det(&["sudo", "/usr/bin/env", "A=b"], "/usr/bin/env A=b").unwrap();
        assert_eq!(d.action, exec(&["/usr/bin/env", "A=b"]));
    }

    #[test]
    fn shells_are_shell_actions() {
        let d = det(&["sudo", "-s"], "/bin/bash").unwrap();
        assert_eq!(
            d.action,
            Action::Shell {
                login: false,
                argv: vec!["/bin/bash".into()]
            }
        );
        let d = det(&["sudo", "-i", "id"], "/bin/bash -c id").unwrap();
        assert!(matches!(d.action, Action::Shell { login: true, .. }));
        // sudo with no command at all is an implied shell.
        let d = det(&["sudo"], "/bin/bash").unwrap();
        assert!(matches!(d.action, Action::Shell { login: false, .. }));
        // sudoers reports the words unescaped except for white space.
        let d = det(
            &["sudo", "-s", "/bin/echo", "a b", "$x;y"],
            "/bin/bash -c /bin/echo a\\ b $x;y",
        )
        .unwrap();
        assert_eq!(
            d.action,
            Action::Shell {
                login: false,
                argv: vec![
                    "/bin/bash".into(),
                    "-c".into(),
                    "\\/bin\\/echo a\\ b $x\\;y".into()
                ]
            }
        );
        // The front-end's escaped form is not what sudoers reports, and
        // dropping the backslash before a space would merge two readings.
        assert!(det(
            &["sudo", "-s", "/bin/echo", "a b"],
            "/bin/bash -c \\/bin\\/echo a\\ b"
        )
        .is_err());
        assert!(det(
            &["sudo", "-s", "/bin/echo", "a b"],
            "/bin/bash -c /bin/echo a b"
        )
        .is_err());
        assert!(det(&["sudo", "-i", "-s"], "/bin/bash").is_err());
    }

    #[test]
    fn sudoedit_list_validate() {
        let d = det(&["sudo", "-e", "/etc/hosts"], "sudoedit /etc/hosts").unwrap();
        assert_eq!(
            d.action,
            Action::Edit {
                files: vec!["/etc/hosts".into()]
            }
        );
        let d = det(&["/usr/bin/sudoedit", "/etc/hosts"], "sudoedit /etc/hosts").unwrap();
        assert!(matches!(d.action, Action::Edit { .. }));
        // sudoedit does not know -s.
        assert!(det(&["sudoedit", "-s", "/etc/hosts"], "sudoedit /etc/hosts").is_err());
        // "sudo sudoedit F" becomes edit mode inside sudoers; it is not a command
        // named sudoedit, and must not pass as one.
        assert!(det(&["sudo", "sudoedit", "/etc/hosts"], "sudoedit /etc/hosts").is_err());
        assert!(det(
            &["sudo", "/usr/bin/sudoedit", "/etc/hosts"],
            "sudoedit /etc/hosts"
        )
        .is_err());
        assert_eq!(det(&["sudo", "-l"], "list").unwrap().action, Action::List);
        assert_eq!(det(&["sudo", "-ll"], "list").unwrap().action, Action::List);
        assert_eq!(
            det(&["sudo", "-l", "/usr/bin/true", "x"], "list x")
                .unwrap()
                .action,
            Action::List
        );
        assert_eq!(
            det(&["sudo", "-v"], "validate").unwrap().action,
            Action::Validate
        );
        // A list claimed on the command line but a command reported: mismatch.
        assert!(det(&["sudo", "-l"], "/usr/bin/true").is_err());
        assert!(det(&["sudo", "-v"], "/usr/bin/true").is_err());
        assert!(det(&["sudo", "-l", "-v"], "list").is_err());
    }

    #[test]
    fn modes_without_commands_and_unsupported_options() {
        for a in [
            &["sudo", "-K"][..],
            &["sudo", "-k"],
            &["sudo", "-V"],
            &["sudo", "-h"],
        ] {
            assert_eq!(det(a, "x"), Err(CommandError::NoCommand), "{a:?}");
        }
        // -h followed by a word is --host.
        assert!(matches!(
            det(&["sudo", "-h", "web1", "-l"], "list"),
            Err(CommandError::Unsupported(_))
        ));
        assert!(matches!(
            det(
                &["sudo", "-R", "/srv/root", "/usr/bin/true"],
                "/usr/bin/true"
            ),
            Err(CommandError::Unsupported(_))
        ));
        assert!(matches!(
            det(
                &["sudo", "-r", "sysadm_r", "/usr/bin/true"],
                "/usr/bin/true"
            ),
            Err(CommandError::Unsupported(_))
        ));
        assert!(det(&["sudo", "-X", "/usr/bin/true"], "/usr/bin/true").is_err());
        assert!(det(&["sudo", "--frobnicate", "/usr/bin/true"], "/usr/bin/true").is_err());
        assert!(det(&["sudo", "-u"], "x").is_err());
        // -k with a command runs it.
        assert_eq!(
            det(&["sudo", "-k", "/usr/bin/true"], "/usr/bin/true")
                .unwrap()
                .action,
            exec(&["/usr/bin/true"])
        );
    }

    #[test]
    fn spoofed_or_missing_sudo_command() {
        let c = cmdline(&["sudo", "/usr/bin/true"]);
        let missing = SudoFacts {
            cmdline: &c,
            sudo_command: None,
            user_sudo_command: None,
        };
        assert_eq!(determine(&missing), Err(CommandError::NoSudoCommand));
        // The user's own SUDO_COMMAND equals what getenv returned: we cannot tell
        // whether sudo's hook answered, so deny.
        let same = SudoFacts {
            cmdline: &c,
            sudo_command: Some(b"/usr/bin/true"),
            user_sudo_command: Some(b"/usr/bin/true"),
        };
        assert_eq!(determine(&same), Err(CommandError::SpoofedSudoCommand));
        // A different user value proves getenv answered from sudo's environment.
        let differs = SudoFacts {
            cmdline: &c,
            sudo_command: Some(b"/usr/bin/true"),
            user_sudo_command: Some(b"/usr/bin/evil"),
        };
        assert!(determine(&differs).is_ok());
    }

    #[test]
    fn truncated_sudo_command_is_a_mismatch() {
        let long = "x".repeat(5000);
        let reported = format!("/bin/echo {}", &long[..4085]);
        assert!(det(&["sudo", "/bin/echo", &long], &reported).is_err());
    }

    /// sudo 1.9's SUDO_COMMAND: `"%s %.*s", user_cmnd, 4096, user_args`.
    fn sudo_reports(cmnd: &str, user_args: &str) -> String {
        format!("{cmnd} {}", &user_args[..user_args.len().min(4096)])
    }

    #[test]
    fn arguments_repeating_past_the_truncation_cannot_shift_the_command() {
        // sudo found "tool" as "/tmp/tool x/tool" through a PATH entry
        // "/tmp/tool x" and reports only 4096 bytes of the 4103-byte
        // arguments. Because the arguments repeat every 7 bytes, the whole
        // join is also a suffix of the truncated report, and stripping it
        // used to leave "/tmp/tool": a grant for /tmp/tool would have run
        // "/tmp/tool x/tool".
        let mut argv = vec!["sudo", "-n", "tool"];
        argv.extend(std::iter::repeat("x/tool").take(586));
        argv.push("x");
        let user_args = argv[3..].join(" ");
        assert_eq!(user_args.len(), 4103);
        let reported = sudo_reports("/tmp/tool x/tool", &user_args);
        assert!(
            reported.ends_with(&format!(" {user_args}")),
            "the attack's premise"
        );
        assert_eq!(det(&argv, &reported), Err(CommandError::TooLong(4103)));
    }

    #[test]
    fn arguments_of_exactly_4096_bytes_are_reported_whole_and_allowed() {
        let a = "y".repeat(4094);
        let user_args = format!("{a} z");
        assert_eq!(user_args.len(), 4096);
        let d = det(
            &["sudo", "/bin/echo", &a, "z"],
            &sudo_reports("/bin/echo", &user_args),
        )
        .unwrap();
        assert_eq!(d.action, exec(&["/bin/echo", &a, "z"]));
        let b = format!("{a}y");
        let long = format!("{b} z");
        assert_eq!(
            det(
                &["sudo", "/bin/echo", &b, "z"],
                &sudo_reports("/bin/echo", &long)
            ),
            Err(CommandError::TooLong(4097))
        );
    }

    #[test]
    fn long_shell_and_edit_arguments_are_denied_too() {
        // -s: sudo's argument text is "-c" and the escaped words.
        let w = "w".repeat(4093);
        let shell = det(
            &["sudo", "-s", &w],
            &sudo_reports("/bin/bash", &format!("-c {w}")),
        );
        assert!(shell.is_ok(), "{shell:?}");
        let w2 = format!("{w}w");
        assert_eq!(
            det(
                &["sudo", "-s", &w2],
                &sudo_reports("/bin/bash", &format!("-c {w2}"))
            ),
            Err(CommandError::TooLong(4097))
        );
        let f = format!("/tmp/{}", "f".repeat(4092));
        assert_eq!(
            det(&["sudo", "-e", &f], &sudo_reports("sudoedit", &f)),
            Err(CommandError::TooLong(4097))
        );
    }

    #[test]
    fn malformed_cmdline() {
        let f = |raw: &[u8]| {
            determine(&SudoFacts {
                cmdline: raw,
                sudo_command: Some(b"/usr/bin/true"),
                user_sudo_command: None,
            })
        };
        assert!(f(b"").is_err());
        assert!(f(b"sudo").is_err());
        assert!(f(b"sudo\0\xff\0").is_err());
        assert!(f(b"/usr/bin/env\0/usr/bin/true\0").is_err());
    }
}

#[cfg(test)]
mod sudo_rs_tests {
    use super::*;
    use std::path::Path;

    fn rsd(args: &[&str]) -> Result<Determined, CommandError> {
        let mut v = Vec::new();
        for a in args {
            v.extend_from_slice(a.as_bytes());
            v.push(0);
        }
        determine_sudo_rs(&v)
    }

    fn argv(d: &Determined) -> Vec<String> {
        match &d.action {
            Action::Exec { argv } => argv.clone(),
            other => panic!("not exec: {other:?}"),
        }
    }

    fn denied(args: &[&str]) -> String {
        match rsd(args) {
            Ok(d) => panic!("{args:?} accepted: {d:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn selected_only_by_the_exe_file_name() {
        assert!(is_sudo_rs(Path::new("/usr/bin/sudo-rs")));
        assert!(is_sudo_rs(Path::new("/usr/lib/cargo/bin/sudo-rs")));
        assert!(!is_sudo_rs(Path::new("/usr/bin/sudo")));
        assert!(!is_sudo_rs(Path::new("/usr/bin/sudo-rs (deleted)")));
        assert!(!is_sudo_rs(Path::new("/usr/bin/sudo-rs.bak")));
        assert!(!is_sudo_rs(Path::new("/tmp/xsudo-rs")));
        assert!(!is_sudo_rs(Path::new("")));
    }

    #[test]
    fn absolute_command_exact_argv() {
        let d = rsd(&["sudo", "-n", "/usr/bin/true"]).unwrap();
        assert_eq!(argv(&d), ["/usr/bin/true"]);
        assert_eq!(d.run_as_user, RunAs::Default);
        assert_eq!(d.run_as_group, None);
        let d = rsd(&["sudo-rs", "/bin/echo", "a b", ""]).unwrap();
        assert_eq!(argv(&d), ["/bin/echo", "a b", ""]);
        let d = rsd(&["/usr/bin/sudo", "--", "/usr/bin/id"]).unwrap();
        assert_eq!(argv(&d), ["/usr/bin/id"]);
    }

    #[test]
    fn options_after_the_command_are_its_arguments() {
        let d = rsd(&["sudo", "/usr/bin/id", "-u", "nobody", "-s", "X=1"]).unwrap();
        assert_eq!(argv(&d), ["/usr/bin/id", "-u", "nobody", "-s", "X=1"]);
        assert_eq!(d.run_as_user, RunAs::Default);
    }

    #[test]
    fn run_as_user_and_group() {
        let d = rsd(&[
            "sudo",
            "-n",
            "-u",
            "nobody",
            "-g",
            "nogroup",
            "/usr/bin/true",
        ])
        .unwrap();
        assert_eq!(d.run_as_user, RunAs::Name("nobody".into()));
        assert_eq!(d.run_as_group, Some(RunAs::Name("nogroup".into())));
        // The value is the next word, whatever it looks like, as sudo-rs takes it.
        assert!(denied(&["sudo", "-u", "-n", "/usr/bin/true"]).contains("not supported"));
        assert!(denied(&["sudo", "-u", "--", "/usr/bin/true"]).contains("not supported"));
        assert!(denied(&["sudo", "-u", "#0", "/usr/bin/true"]).contains("name"));
        assert!(denied(&["sudo", "-u", "", "/usr/bin/true"]).contains("name"));
        assert!(denied(&["sudo", "-u", "a", "-u", "root", "/usr/bin/true"]).contains("once"));
        assert!(denied(&["sudo", "-g", "root", "/usr/bin/true"]).contains("-g without -u"));
        assert!(matches!(
            rsd(&["sudo", "-u"]),
            Err(CommandError::BadOption(_))
        ));
        // Attached or clustered forms are outside the subset.
        assert!(denied(&["sudo", "-unobody", "/usr/bin/true"]).contains("not supported"));
        assert!(denied(&["sudo", "-nu", "nobody", "/usr/bin/true"]).contains("not supported"));
        assert!(denied(&["sudo", "--user=nobody", "/usr/bin/true"]).contains("not supported"));
        assert!(denied(&["sudo", "--user", "nobody", "/usr/bin/true"]).contains("not supported"));
    }

    #[test]
    fn shells_and_other_modes_denied() {
        for o in ["-s", "--shell", "-i", "--login"] {
            assert!(denied(&["sudo", o]).contains("shells"), "{o}");
            assert!(
                denied(&["sudo", o, "/usr/bin/true"]).contains("shells"),
                "{o}"
            );
        }
        for o in [
            "-e",
            "-l",
            "-v",
            "-E",
            "-k",
            "-K",
            "-b",
            "-S",
            "-h",
            "-V",
            "-D",
            "-",
            "-H",
            "-p",
            "--preserve-env=PATH",
            "-A",
        ] {
            assert!(
                denied(&["sudo", o, "/usr/bin/true"]).contains("only -n"),
                "{o}"
            );
        }
        assert!(matches!(rsd(&["sudo"]), Err(CommandError::NoCommand)));
        assert!(matches!(rsd(&["sudo", "-n"]), Err(CommandError::NoCommand)));
        assert!(matches!(rsd(&["sudo", "--"]), Err(CommandError::NoCommand)));
    }

    #[test]
    fn environment_words_denied() {
        for w in ["FOO=bar", "LD_PRELOAD=/tmp/x.so", "=x", "PATH=/tmp"] {
            assert!(
                matches!(
                    rsd(&["sudo", w, "/usr/bin/true"]),
                    Err(CommandError::Environment(_))
                ),
                "{w}"
            );
        }
        // After `--` sudo-rs takes the word as the command; still not a path.
        assert!(denied(&["sudo", "--", "FOO=bar", "/usr/bin/true"]).contains("absolute"));
    }

    #[test]
    fn only_absolute_canonical_paths() {
        for c in ["true", "./true", "bin/true", "~/true", "-n"] {
            assert!(denied(&["sudo", "--", c]).contains("absolute path"), "{c}");
        }
        assert!(denied(&["sudo", "true"]).contains("PATH"));
        for c in [
            "/usr/bin/../bin/true",
            "/usr/./bin/true",
            "//usr/bin/true",
            "/usr/bin/",
            "/usr//bin/true",
            "/",
        ] {
            assert!(denied(&["sudo", c]).contains("canonical"), "{c}");
        }
        // sudo 1.9 reads any word with '=' as an environment assignment.
        assert!(matches!(
            rsd(&["sudo", "/usr/bin/a=b"]),
            Err(CommandError::Environment(_))
        ));
        assert!(denied(&["sudo", "--", "/usr/bin/a=b"]).contains("'='"));
        assert!(denied(&["sudo", "/usr/bin/tr ue"]).contains("white space"));
        assert!(denied(&["sudo", "/usr/bin/sudoedit", "/etc/shadow"]).contains("sudoedit"));
        assert!(denied(&["sudo", "/usr/bin/sudoedit-rs", "/etc/shadow"]).contains("sudoedit"));
        // A file merely ending in "sudoedit" is a different name.
        assert!(rsd(&["sudo", "/usr/bin/notsudoedit"]).is_ok());
    }

    #[test]
    fn argv0_and_cmdline_shape() {
        assert!(matches!(
            rsd(&["sudoedit", "/etc/hosts"]),
            Err(CommandError::NotSudo(_))
        ));
        assert!(matches!(
            rsd(&["sudoedit-rs", "/etc/hosts"]),
            Err(CommandError::NotSudo(_))
        ));
        assert!(matches!(
            rsd(&["su", "/usr/bin/true"]),
            Err(CommandError::NotSudo(_))
        ));
        assert!(matches!(
            determine_sudo_rs(b""),
            Err(CommandError::Cmdline(_))
        ));
        assert!(matches!(
            determine_sudo_rs(b"sudo\0/usr/bin/true"),
            Err(CommandError::Cmdline(_))
        ));
        assert!(matches!(
            determine_sudo_rs(b"sudo\0/usr/bin/\xff\0"),
            Err(CommandError::Cmdline(_))
        ));
    }
}

#[cfg(test)]
mod sudo_rs_fuzz_smoke {
    #[test]
    fn fuzz_entry_accepts_sudo_rs_shapes_without_panicking() {
        for data in [
            &b"sudo\0-n\0/usr/bin/true\0"[..],
            b"sudo\0-u\0nobody\0-g\0nogroup\0--\0/bin/echo\0a b\0\0",
            b"sudo\0/usr/bin/../true\0",
            b"sudo\0-u\0",
            b"sudo\0",
            b"\0",
            b"",
            b"sudo-rs\0/x\0\xff\0",
        ] {
            super::fuzz_determine(data);
        }
    }
}
