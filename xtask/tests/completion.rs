//! The bash completions that packaging/build.sh installs, run in bash: the
//! options of every subcommand complete although the binary names contain a
//! hyphen (clap_complete's own script completes none of them for such a
//! name; see xtask/src/docs.rs).

use std::path::Path;
use std::process::Command;

/// Generate the completions of `bin` into `dir`; the bash script's path.
fn generate(bin: &str, dir: &Path) -> std::path::PathBuf {
    let st = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["gen-docs", bin, "--out"])
        .arg(dir)
        .status()
        .expect("run xtask");
    assert!(st.success(), "gen-docs {bin} failed: {st}");
    dir.join(format!("{bin}.bash"))
}

/// What bash offers for the command line `words` with the cursor at the end
/// of the last word, as an interactive shell would: source the script, find
/// the function registered for the command (`complete -p`) and call it with
/// COMP_WORDS/COMP_CWORD set.
fn complete(script: &Path, words: &[&str]) -> Vec<String> {
    let cword = words.len() - 1;
    let prog = r#"
set -u
source "$1"; shift
spec=$(complete -p "$1") || { echo "no completion registered for $1" >&2; exit 3; }
fn=$(sed -E 's/.*-F ([^ ]+) .*/\1/' <<<"$spec")
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
prev=""
[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}
"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "$prev"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let o = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", prog, "bash"])
        .arg(script)
        .args(words)
        .output()
        .expect("run bash");
    assert!(
        o.status.success(),
        "bash failed for {words:?} (cword {cword}): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn assert_offers(script: &Path, words: &[&str], want: &str) {
    let got = complete(script, words);
    assert!(
        got.iter().any(|w| w == want),
        "`{}<TAB>` offers {got:?}, not {want}",
        words.join(" ")
    );
}

#[test]
fn jit_signer_subcommand_options_complete_in_bash() {
    let dir = tempfile::tempdir().unwrap();
    let s = generate("jit-signer", dir.path());
    assert_offers(&s, &["jit-signer", "issue", "--ho"], "--host-group");
    assert_offers(&s, &["jit-signer", "issue", "--break"], "--break-glass");
    assert_offers(&s, &["jit-signer", "request", "--ru"], "--run-as-group");
    assert_offers(&s, &["jit-signer", "revoke", "--st"], "--state");
    // A hyphenated subcommand too.
    assert_offers(&s, &["jit-signer", "export-pub", "--js"], "--json");
    // The subcommands themselves, and nothing hidden or test-only.
    assert_offers(&s, &["jit-signer", "is"], "issue");
    let top = complete(&s, &["jit-signer", ""]);
    assert!(top.iter().any(|w| w == "inspect"), "{top:?}");
    for task in ["gen-docs", "gen-vectors", "decide"] {
        assert!(!top.iter().any(|w| w == task), "offers {task}: {top:?}");
    }
}

#[test]
fn jit_verify_subcommand_options_complete_in_bash() {
    let dir = tempfile::tempdir().unwrap();
    let s = generate("jit-verify", dir.path());
    assert_offers(&s, &["jit-verify", "log", "--se"], "--seal-key");
    assert_offers(&s, &["jit-verify", "log", "--against"], "--against-syslog");
    assert_offers(&s, &["jit-verify", "report", "--unv"], "--unverified");
    assert_offers(&s, &["jit-verify", "config", "--con"], "--config");
    let top = complete(&s, &["jit-verify", ""]);
    assert!(top.iter().any(|w| w == "standing"), "{top:?}");
    assert!(
        !top.iter().any(|w| w == "gen-docs"),
        "offers gen-docs: {top:?}"
    );
}
