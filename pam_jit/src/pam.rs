//! The framework layer: a safe view of PAM and of the operating system for
//! the module layer, so that every path of the module can be driven by tests
//! without libpam. [`PamIo`] is implemented over [`sys::Handle`], [`Os`] by
//! [`RealOs`] (procfs, NSS through nix, sudo's `getenv` through [`sys`]).

use std::ffi::CStr;
use std::path::{Path, PathBuf};

use jit_core::config;
use jit_core::host::Approved;
use jit_core::log;
use jit_core::log::syslog::Unrecorded;

use crate::sys;

/// The PAM side of a transaction: [`sys::Handle`] in sudo, a fake in tests.
pub trait PamIo {
    /// PAM_USER.
    fn user(&self) -> Option<String>;
    /// PAM_RUSER.
    fn ruser(&self) -> Option<String>;
    /// PAM_TTY.
    fn tty(&self) -> Option<String>;
    /// PAM_SERVICE.
    fn service(&self) -> Option<String>;
    /// Show a one-line message (error or info) through the conversation.
    fn say(&self, error: bool, msg: &str);
    /// Ask for a secret through the conversation.
    fn prompt(&self, msg: &str) -> Option<String>;
    /// Keep data for the later hooks of this PAM transaction.
    fn store(&mut self, data: Approved) -> bool;
    /// Data kept by an earlier hook.
    fn load(&self) -> Option<Approved>;
}

impl PamIo for sys::Handle<'_> {
    fn user(&self) -> Option<String> {
        sys::Handle::user(self)
    }
    fn ruser(&self) -> Option<String> {
        sys::Handle::ruser(self)
    }
    fn tty(&self) -> Option<String> {
        sys::Handle::tty(self)
    }
    fn service(&self) -> Option<String> {
        sys::Handle::service(self)
    }
    fn say(&self, error: bool, msg: &str) {
        sys::Handle::say(self, error, msg)
    }
    fn prompt(&self, msg: &str) -> Option<String> {
        sys::Handle::prompt(self, msg)
    }
    fn store(&mut self, data: Approved) -> bool {
        sys::Handle::store(self, data)
    }
    fn load(&self) -> Option<Approved> {
        sys::Handle::load(self)
    }
}

/// The operating system side.
pub trait Os {
    /// `/proc/self/cmdline`.
    fn cmdline(&self) -> std::io::Result<Vec<u8>>;
    /// `/proc/self/environ`: the invoking user's original environment.
    fn environ(&self) -> std::io::Result<Vec<u8>>;
    /// `/proc/self/exe`: the file the kernel executed (selects the sudo-rs
    /// rules when sudo 1.9's `getenv` hook is absent).
    fn exe(&self) -> std::io::Result<PathBuf>;
    /// `getenv` as sudo's hook answers it.
    fn sudo_getenv(&self, name: &str) -> Option<Vec<u8>>;
    /// Is `getenv` sudo 1.9's hook, defined by the main program?
    fn getenv_hooked(&self) -> bool;
    /// The real uid of this process (the invoking user inside setuid sudo).
    fn real_uid(&self) -> u32;
    /// User name for a uid.
    fn user_name(&self, uid: u32) -> Option<String>;
    /// Does this user exist? Returns the canonical name.
    fn user_by_name(&self, name: &str) -> Option<String>;
    /// Group name for a gid.
    fn group_name(&self, gid: u32) -> Option<String>;
    /// Does this group exist? Returns the canonical name.
    fn group_by_name(&self, name: &str) -> Option<String>;
    /// The kernel's host name.
    fn hostname(&self) -> Option<String>;
    /// Now, Unix seconds with fraction.
    fn now(&self) -> f64;
    /// This process id.
    fn pid(&self) -> u32;
    /// Leave a trace at authpriv.err of an event the audit log could not
    /// take (best effort: the answer does not depend on it).
    fn unrecorded(&self, socket: &Path, u: &Unrecorded<'_>);
}

/// The real operating system.
pub struct RealOs;

/// Read a procfs file in as few reads as possible (procfs reports size 0, so
/// `std::fs::read` would start at 32 bytes and double: six reads for a
/// typical environment, each a remote-VM access by the kernel). Read through
/// `take`, because `File::read_to_end` first asks for the size (`statx`) and
/// the position (`lseek`), which procfs answers with nothing useful.
fn read_proc(path: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::with_capacity(16 * 1024);
    std::fs::File::open(path)?
        .take(u64::MAX)
        .read_to_end(&mut out)?;
    Ok(out)
}

impl Os for RealOs {
    fn cmdline(&self) -> std::io::Result<Vec<u8>> {
        // glibc hands argc/argv to the .init_array of every loaded object,
        // dlopen()ed ones included, and std keeps them: these are pointers to
        // the argv strings the kernel placed in sudo's memory at exec, the
        // same bytes /proc/self/cmdline reads back through the kernel (which
        // costs ~50 us per sudo: a procfs lookup and a remote-VM read).
        use std::os::unix::ffi::OsStrExt;
        let mut out = Vec::new();
        for a in std::env::args_os() {
            out.extend_from_slice(a.as_bytes());
            out.push(0);
        }
        if out.is_empty() {
            return read_proc("/proc/self/cmdline");
        }
        Ok(out)
    }
    fn environ(&self) -> std::io::Result<Vec<u8>> {
        read_proc("/proc/self/environ")
    }
    fn exe(&self) -> std::io::Result<PathBuf> {
        std::fs::read_link("/proc/self/exe")
    }
    fn sudo_getenv(&self, name: &str) -> Option<Vec<u8>> {
        sys::sudo_getenv(name)
    }
    fn getenv_hooked(&self) -> bool {
        sys::getenv_in_main_program()
    }
    fn real_uid(&self) -> u32 {
        nix::unistd::getuid().as_raw()
    }
    fn user_name(&self, uid: u32) -> Option<String> {
        nix::unistd::User::from_uid(uid.into())
            .ok()
            .flatten()
            .map(|u| u.name)
    }
    fn user_by_name(&self, name: &str) -> Option<String> {
        nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(|u| u.name)
    }
    fn group_name(&self, gid: u32) -> Option<String> {
        nix::unistd::Group::from_gid(gid.into())
            .ok()
            .flatten()
            .map(|g| g.name)
    }
    fn group_by_name(&self, name: &str) -> Option<String> {
        nix::unistd::Group::from_name(name)
            .ok()
            .flatten()
            .map(|g| g.name)
    }
    fn hostname(&self) -> Option<String> {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
    }
    fn now(&self) -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }
    fn pid(&self) -> u32 {
        std::process::id()
    }
    fn unrecorded(&self, socket: &Path, u: &Unrecorded<'_>) {
        // Nothing more can be done if syslog is down too: the user was told.
        let _ = log::syslog::unrecorded(socket, u);
    }
}

/// Module arguments: `config=/abs/path`, `debug`, `prompt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleArgs {
    /// Configuration file.
    pub config: PathBuf,
    /// Show diagnostics through the conversation.
    pub debug: bool,
    /// Ask for the token through the conversation when `JIT_TOKEN` is unset
    /// (same as `prompt = yes` in the configuration).
    pub prompt: bool,
}

impl ModuleArgs {
    /// Parse the stack line's arguments; unknown arguments are errors.
    pub fn parse(args: &[&CStr]) -> Result<ModuleArgs, String> {
        let mut out = ModuleArgs {
            config: PathBuf::from(config::DEFAULT_CONFIG_PATH),
            debug: false,
            prompt: false,
        };
        for a in args {
            let a = a
                .to_str()
                .map_err(|_| "module argument is not UTF-8".to_string())?;
            if a == "debug" {
                out.debug = true;
            } else if a == "prompt" {
                out.prompt = true;
            } else if let Some(p) = a.strip_prefix("config=") {
                if !p.starts_with('/') {
                    return Err(format!(
                        "module argument config= needs an absolute path, not {p:?}"
                    ));
                }
                out.config = PathBuf::from(p);
            } else {
                return Err(format!("unknown module argument {a:?}"));
            }
        }
        Ok(out)
    }
}
