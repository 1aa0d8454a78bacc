//! `xtask gen-docs`, which packaging/build.sh uses: man pages and
//! completions are generated from the same clap definitions as --help.

use std::process::Command;

#[test]
fn jit_signer_man_pages_and_completions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("docs");
    let st = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["gen-docs", "jit-signer", "--out"])
        .arg(&out)
        .status()
        .expect("run xtask");
    assert!(st.success(), "gen-docs failed: {st}");
    let read =
        |f: &str| std::fs::read_to_string(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let man = read("jit-signer.1");
    assert!(
        man.contains(".TH jit-signer 1"),
        "not a section-1 page: {man}"
    );
    assert!(
        man.contains("Exit codes"),
        "exit codes missing from the man page"
    );
    for sub in ["keygen", "issue", "inspect"] {
        let page = read(&format!("jit-signer-{sub}.1"));
        assert!(page.contains(".SH OPTIONS"), "{sub}: no OPTIONS section");
        assert!(
            read("jit-signer.bash").contains(sub),
            "bash completion lacks {sub}"
        );
        assert!(
            read("_jit-signer").contains(sub),
            "zsh completion lacks {sub}"
        );
        assert!(
            read("jit-signer.fish").contains(sub),
            "fish completion lacks {sub}"
        );
    }
    assert!(read("_jit-signer").starts_with("#compdef jit-signer"));
    // The development tasks are no subcommands of the shipped binary: no
    // page of their own, never offered by completion.
    assert!(!out.join("jit-signer-gen-docs.1").exists());
    for f in ["jit-signer.bash", "_jit-signer", "jit-signer.fish"] {
        for task in ["gen-docs", "gen-vectors", "decide"] {
            assert!(!read(f).contains(task), "{f} offers {task}");
        }
    }
}

#[test]
fn jit_verify_man_pages_and_completions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("docs");
    let st = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["gen-docs", "jit-verify", "--out"])
        .arg(&out)
        .status()
        .expect("run xtask");
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
    for sub in [
        "log", "fleet", "query", "stats", "standing", "report", "export",
    ] {
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
    // The development tasks are no subcommands of the shipped binary: no
    // page of their own, never offered by completion.
    assert!(!out.join("jit-verify-gen-docs.1").exists());
    for f in ["jit-verify.bash", "_jit-verify", "jit-verify.fish"] {
        for task in ["gen-docs", "gen-vectors", "decide"] {
            assert!(!read(f).contains(task), "{f} offers {task}");
        }
    }
}

#[test]
fn man_pages_point_at_no_source_tree_docs() {
    // --help and the man pages are read on machines that have the packages,
    // not the source tree: no docs/... path (installed paths are fine).
    for bin in ["jit-signer", "jit-verify"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let st = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["gen-docs", bin, "--out"])
            .arg(dir.path())
            .status()
            .expect("run xtask");
        assert!(st.success(), "gen-docs {bin} failed: {st}");
        for e in std::fs::read_dir(dir.path()).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "1") {
                let page = std::fs::read_to_string(&p).unwrap();
                assert!(!page.contains("docs/"), "{} names docs/", p.display());
                assert!(
                    !page.contains(".md") || page.contains("/usr/share/doc/"),
                    "{}",
                    p.display()
                );
            }
        }
    }
}
