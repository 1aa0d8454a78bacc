//! The bindings layer: every `unsafe` operation of pam_jit, and nothing else.
//!
//! - The exported `pam_sm_*` entry points come from `pam_bindings::pam_hooks!`,
//!   which rejects a null handle, a negative argc and null argv entries, and
//!   wraps each hook in `catch_unwind` (a panic becomes `PAM_ABORT`, never an
//!   unwind into sudo; the workspace profile keeps `panic = "unwind"`). They
//!   call up only through the [`Hooks`] trait this module defines, which the
//!   module layer implements (`crate::Module`).
//! - [`Handle`]: PAM items, the conversation and per-transaction data
//!   (`pam_set_data`/`pam_get_data`) behind safe methods.
//! - [`sudo_getenv`] calls libc `getenv`, which inside sudo is sudo's own hook;
//!   [`getenv_in_main_program`] checks whether it is, from the main program's
//!   program headers (`getauxval`).
//! - [`answer_code`]: the lossless mapping of the core's PAM answer to libpam's
//!   return codes.
//!
//! Nothing here changes process-wide state: no signal handlers, no panic
//! hook, no openlog/setlogmask, no environment changes.

use std::ffi::{CStr, CString};

use jit_core::host::{Approved, Hook, PamAnswer};
use pam::constants::{PamFlag, PamResultCode, PAM_ERROR_MSG, PAM_PROMPT_ECHO_OFF, PAM_TEXT_INFO};
use pam::conv::Conv;
use pam::items::{RUser, Service, Tty, User};
use pam::module::{PamHandle, PamHooks};

/// What the entry points call: one function for every hook.
pub trait Hooks {
    /// Run `hook` on the transaction `pam` with the stack line's `args`.
    fn hook(hook: Hook, pam: &mut Handle<'_>, args: &[&CStr]) -> PamAnswer;
}

/// The type handed to `pam_hooks!`: dispatches to [`crate::Module`].
pub struct Entry;

pam::pam_hooks!(Entry);

fn dispatch(hook: Hook, pamh: &mut PamHandle, args: &[&CStr]) -> PamResultCode {
    answer_code(<crate::Module as Hooks>::hook(
        hook,
        &mut Handle(pamh),
        args,
    ))
}

impl PamHooks for Entry {
    fn sm_authenticate(pamh: &mut PamHandle, args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        dispatch(Hook::Authenticate, pamh, &args)
    }

    fn acct_mgmt(pamh: &mut PamHandle, args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        dispatch(Hook::Account, pamh, &args)
    }

    fn sm_open_session(pamh: &mut PamHandle, args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        dispatch(Hook::OpenSession, pamh, &args)
    }

    fn sm_close_session(pamh: &mut PamHandle, args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        dispatch(Hook::CloseSession, pamh, &args)
    }

    fn sm_setcred(_pamh: &mut PamHandle, _args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        // Credentials are not ours to establish; the decision is made in acct_mgmt.
        PamResultCode::PAM_SUCCESS
    }
}

/// libpam's code for the core's answer (lossless: each answer has its own code).
pub fn answer_code(a: PamAnswer) -> PamResultCode {
    match a {
        PamAnswer::Success => PamResultCode::PAM_SUCCESS,
        PamAnswer::Ignore => PamResultCode::PAM_IGNORE,
        PamAnswer::AuthErr => PamResultCode::PAM_AUTH_ERR,
        PamAnswer::PermDenied => PamResultCode::PAM_PERM_DENIED,
    }
}

/// Key under which the transaction's [`Approved`] is stored: unique to
/// this build (version, compiler, source of the type; see build.rs), because
/// libpam finds data by name across all the stack's modules.
const DATA_KEY: &str = concat!(
    "pam_jit_session:",
    env!("CARGO_PKG_VERSION"),
    ":",
    env!("PAM_JIT_BUILD_ID")
);

/// A PAM transaction, seen through safe methods.
pub struct Handle<'a>(&'a mut PamHandle);

fn item_string(bytes: Option<&CStr>) -> Option<String> {
    bytes.and_then(|c| c.to_str().ok()).map(str::to_string)
}

impl Handle<'_> {
    /// PAM_USER.
    pub fn user(&self) -> Option<String> {
        item_string(self.0.get_item::<User>().ok().flatten().map(|u| u.0))
    }

    /// PAM_RUSER.
    pub fn ruser(&self) -> Option<String> {
        item_string(self.0.get_item::<RUser>().ok().flatten().map(|u| u.0))
    }

    /// PAM_TTY.
    pub fn tty(&self) -> Option<String> {
        item_string(self.0.get_item::<Tty>().ok().flatten().map(|t| t.0))
    }

    /// PAM_SERVICE.
    pub fn service(&self) -> Option<String> {
        item_string(self.0.get_item::<Service>().ok().flatten().map(|s| s.0))
    }

    /// Show one message (error or info) through the conversation.
    pub fn say(&self, error: bool, msg: &str) {
        if let Ok(Some(conv)) = self.0.get_item::<Conv>() {
            let style = if error { PAM_ERROR_MSG } else { PAM_TEXT_INFO };
            // A failed conversation must not change the decision already made.
            let _ = conv.send(style, msg);
        }
    }

    /// Ask for a secret through the conversation.
    pub fn prompt(&self, msg: &str) -> Option<String> {
        let conv = self.0.get_item::<Conv>().ok().flatten()?;
        let reply = conv.send(PAM_PROMPT_ECHO_OFF, msg).ok().flatten()?;
        std::str::from_utf8(reply.as_bytes())
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// Keep the approval for the later hooks of this transaction.
    pub fn store(&mut self, data: Approved) -> bool {
        self.0.set_data(DATA_KEY, Box::new(data)).is_ok()
    }

    /// The approval an earlier hook kept.
    pub fn load(&self) -> Option<Approved> {
        // SAFETY: libpam matches data by name across all modules of the
        // stack; DATA_KEY names this build of this module (another build,
        // another version, compiler or definition of Approved, has another
        // name), and this build only ever stores a `Box<Approved>` under it
        // (`store` above), so the pointer PAM returns is a live `Approved`
        // owned by the PAM handle; we clone it at once.
        let data: &Approved = unsafe { self.0.get_data::<Approved>(DATA_KEY) }.ok()?;
        Some(data.clone())
    }
}

/// `getenv(name)` as sudo serves it.
///
/// Inside sudo, the `getenv` symbol resolves to sudo's hook, which answers from
/// the environment sudo built for the command (so `SUDO_COMMAND` is sudo's
/// value). Returns an owned copy; `None` when unset or when `name` has a NUL.
pub fn sudo_getenv(name: &str) -> Option<Vec<u8>> {
    let cname = CString::new(name).ok()?;
    // SAFETY: `cname` is a valid NUL-terminated string that outlives the call.
    // getenv returns either NULL or a pointer to a NUL-terminated string owned
    // by the environment; sudo is single-threaded, and we copy the bytes
    // before any other call could modify the environment.
    let ptr = unsafe { libc::getenv(cname.as_ptr()) };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null pointer from getenv to a NUL-terminated string (above).
    Some(unsafe { CStr::from_ptr(ptr) }.to_bytes().to_vec())
}

/// Does this module's `getenv` resolve into the main program, i.e. to sudo
/// 1.9's environment hook (its `src/env_hooks.c`) rather than to libc?
///
/// sudo 1.9's executable defines and exports `getenv`, `putenv`, `setenv` and
/// `unsetenv`, so the dynamic loader binds every other object's `getenv`, this
/// module's included, to sudo's own. Where that address lies is a fact of the
/// images the loader mapped (the invoking user cannot preload anything into a
/// setuid program), so it tells whether the hook that the sudo 1.9 rules rely
/// on is there. Any failure answers `false` (the caller then reads
/// `/proc/self/exe`, as for any sudo without the hook). No system call: the
/// kernel's auxiliary vector locates the main program's program headers.
pub fn getenv_in_main_program() -> bool {
    // The headers read below are ELF64's.
    if cfg!(not(target_pointer_width = "64")) {
        return false;
    }
    let getenv_addr = libc::getenv as *const () as usize;
    // SAFETY: getauxval only reads the auxiliary vector glibc saved at startup.
    let (phdr, phnum) = unsafe {
        (
            libc::getauxval(libc::AT_PHDR),
            libc::getauxval(libc::AT_PHNUM),
        )
    };
    if phdr == 0 || phnum == 0 || phnum > 512 {
        return false;
    }
    // SAFETY: AT_PHDR and AT_PHNUM, set by the kernel at execve, describe the
    // main program's program header table: `phnum` entries at `phdr`, inside
    // the program's first loaded segment, mapped for the life of the process
    // and never written after loading. Elf64_Phdr is plain data; the
    // kernel's table is suitably aligned.
    let phdrs =
        unsafe { std::slice::from_raw_parts(phdr as *const libc::Elf64_Phdr, phnum as usize) };
    // The load bias: where the table is, against where PT_PHDR says it is.
    let Some(table) = phdrs.iter().find(|p| p.p_type == libc::PT_PHDR) else {
        return false;
    };
    let bias = (phdr as usize).wrapping_sub(table.p_vaddr as usize);
    phdrs.iter().filter(|p| p.p_type == libc::PT_LOAD).any(|p| {
        let start = bias.wrapping_add(p.p_vaddr as usize);
        getenv_addr.wrapping_sub(start) < p.p_memsz as usize
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::c_char;
    use std::ptr;

    #[test]
    fn every_answer_has_its_own_code() {
        let all = [
            PamAnswer::Success,
            PamAnswer::Ignore,
            PamAnswer::AuthErr,
            PamAnswer::PermDenied,
        ];
        let codes: Vec<PamResultCode> = all.iter().map(|a| answer_code(*a)).collect();
        assert_eq!(
            codes,
            [
                PamResultCode::PAM_SUCCESS,
                PamResultCode::PAM_IGNORE,
                PamResultCode::PAM_AUTH_ERR,
                PamResultCode::PAM_PERM_DENIED
            ]
        );
    }

    #[test]
    fn odd_arguments_from_libpam_fail_without_touching_memory() {
        type Entry = unsafe extern "C" fn(
            *mut PamHandle,
            PamFlag,
            i32,
            *const *const c_char,
        ) -> PamResultCode;
        let entries: [Entry; 5] = [
            pam_sm_acct_mgmt,
            pam_sm_authenticate,
            pam_sm_open_session,
            pam_sm_close_session,
            pam_sm_setcred,
        ];
        let bogus_handle = ptr::NonNull::<PamHandle>::dangling().as_ptr();
        let null_entry: [*const c_char; 1] = [ptr::null()];
        for f in entries {
            // SAFETY: a null handle is rejected by pam_hooks! before any use.
            let rc = unsafe { f(ptr::null_mut(), 0, 0, ptr::null()) };
            assert_eq!(rc, PamResultCode::PAM_ABORT);
            // SAFETY: a negative argc is rejected before the handle or argv are read.
            let rc = unsafe { f(bogus_handle, 0, -1, ptr::null()) };
            assert_eq!(rc, PamResultCode::PAM_ABORT);
            // SAFETY: argc > 0 with a null argv is rejected before any read.
            let rc = unsafe { f(bogus_handle, 0, 2, ptr::null()) };
            assert_eq!(rc, PamResultCode::PAM_ABORT);
            // SAFETY: argv has one readable (null) entry; null entries are
            // rejected before the handle is used.
            let rc = unsafe { f(bogus_handle, 0, 1, null_entry.as_ptr()) };
            assert_eq!(rc, PamResultCode::PAM_ABORT);
        }
    }

    #[test]
    fn getenv_of_a_program_without_the_hook_is_not_the_main_programs() {
        // The test harness does not define getenv: libc's answers. (With the
        // hook, under the real sudo 1.9: tests/ci.d/40-pam-sudo.sh, "sudo 1.9
        // named sudo-rs", which fails if the hook is not found.)
        assert!(!getenv_in_main_program());
    }
}
