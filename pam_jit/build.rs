//! Link the unwinder statically into pam_jit.so.
//!
//! pam_jit needs an unwinder: every hook runs under `catch_unwind`, so a panic
//! becomes a denial instead of a crash of sudo. Rust's standard library links
//! the shared `libgcc_s.so.1` for it on linux-gnu. sudo does not load that
//! library itself, so each sudo invocation would map it, relocate it and run
//! its constructor, which probes the CPU with a long series of CPUID
//! instructions — measured at ~8 µs each on a virtual machine, ~0.15 ms per
//! sudo in all (docs/perf/pam-module-history.md, "What was cut").
//!
//! GCC's static unwinder, `libgcc_eh.a` (what `gcc -shared -static-libgcc`
//! links into shared objects), does the same work without a constructor. The
//! standard library asks for `-lgcc_s` by name, so this script puts a
//! one-line linker script named `libgcc_s.so` first on the search path that
//! resolves it to `libgcc_eh.a`; `-static-libgcc` does the same for the
//! compiler driver's own libgcc. The unwinder's symbols stay local to
//! pam_jit.so (only the `pam_sm_*` functions are exported), so it never
//! interposes on the unwinder of sudo or of other modules.
//!
//! tests/ci.d/46-pam-unwind.sh proves a panic inside the built module is still
//! caught, and that the module has no `libgcc_s` dependency.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    data_key_build_id();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os != "linux" || target_env != "gnu" {
        return;
    }
    static_unwinder();
}

/// `PAM_JIT_BUILD_ID`, part of the name under which the module keeps its
/// per-transaction data with `pam_set_data` (src/sys.rs). libpam finds data
/// by name alone, across all modules of the stack, so two different builds of
/// pam_jit in one stack (say a packaged one and one in /usr/local) must not
/// share a name: each would read the other's data as its own layout. The id
/// is the compiler's commit hash and a hash of the source that defines the
/// data (`Approved`, in jit-core/src/host/session.rs); the crate version is added in
/// src/sys.rs. Deterministic, so
/// builds stay reproducible.
fn data_key_build_id() {
    use std::hash::{Hash, Hasher};
    println!("cargo:rerun-if-changed=../jit-core/src/host/session.rs");
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let commit = version
        .lines()
        .find_map(|l| l.strip_prefix("commit-hash: "))
        .unwrap_or("unknown");
    let defining = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("../jit-core/src/host/session.rs");
    let mut h = std::collections::hash_map::DefaultHasher::new();
    fs::read(defining).unwrap_or_default().hash(&mut h);
    let short = commit.get(..12).unwrap_or(commit);
    println!(
        "cargo:rustc-env=PAM_JIT_BUILD_ID={short}-{:016x}",
        h.finish()
    );
}

/// `libgcc_s.so` resolving to `libgcc_eh.a`, and `-static-libgcc`.
fn static_unwinder() {
    let Some(out) = env::var_os("OUT_DIR") else {
        return;
    };
    let dir = PathBuf::from(out).join("static-unwinder");
    if let Err(e) = fs::create_dir_all(&dir)
        .and_then(|()| fs::write(dir.join("libgcc_s.so"), "INPUT(-lgcc_eh)\n"))
    {
        // Without the script the module still links (with libgcc_s.so.1).
        println!("cargo:warning=pam_jit: static unwinder not set up ({e}); linking libgcc_s");
        return;
    }
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-arg-cdylib=-static-libgcc");
}
