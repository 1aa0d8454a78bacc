//! The hidden `gen-docs` subcommand that packaging/build.sh uses: man pages
//! and completions are generated from the same clap definitions as --help.

use std::process::Command;

#[test]
fn gen_docs_writes_man_pages_and_completions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("docs");
    let st = Command::new(env!("CARGO_BIN_EXE_jit-verify"))
        .args(["gen-docs", "--out"])
        .arg(&out)
        .status()
        .expect("run jit-verify");
    assert!(st.success(), "gen-docs failed: {st}");
    let read =
        |f: &str| std::fs::read_to_string(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let man = read("jit-verify.1");
    assert!(
        man.contains(".TH jit-verify 1"),
        "not a section-1 page: {man}"
    );
    assert!(
        man.contains("Exit codes"),
        "exit codes missing from the man page"
    );
    for sub in ["log", "query", "stats", "standing", "report"] {
        let page = read(&format!("jit-verify-{sub}.1"));
        assert!(page.contains(".SH OPTIONS"), "{sub}: no OPTIONS section");
        assert!(
            read("jit-verify.bash").contains(sub),
            "bash completion lacks {sub}"
        );
        assert!(
            read("_jit-verify").contains(sub),
            "zsh completion lacks {sub}"
        );
        assert!(
            read("jit-verify.fish").contains(sub),
            "fish completion lacks {sub}"
        );
    }
    assert!(read("_jit-verify").starts_with("#compdef jit-verify"));
    // Hidden subcommands get no page of their own.
    assert!(!out.join("jit-verify-gen-docs.1").exists());
}
