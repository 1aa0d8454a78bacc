# The pass/fail tally of an end-to-end script (sourced after cd to the repo).
#   ok NAME          a check passed
#   bad NAME [WHY]   a check failed; when the script keeps a command's result in
#                    $RC, $OUT and $ERR (tests/e2e/lib.sh, sudo-rs.sh), they are
#                    shown too
#   expect_exit NAME WANT_RC [STDERR_SUBSTRING]   the last command (its $RC and
#                    $ERR, as tests/e2e/lib.sh keeps them) exited WANT_RC, its
#                    stderr holding STDERR_SUBSTRING: ok, else bad
#   tally_end LABEL [SUFFIX]   print the failures and "LABEL: P passed, F failed",
#                    and return non-zero if anything failed (the script's last
#                    command, so its exit status)
pass=0; fail=0; failed=()
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
    fail=$((fail + 1)); failed+=("$1")
    echo "FAIL $1${2:+: $2}"
    if [ -n "${ERR:-}" ] && [ -f "$ERR" ]; then
        echo "     rc=${RC:-?} stdout=$(head -c 600 "$OUT") stderr=$(head -c 600 "$ERR")"
    fi
}
expect_exit() {
    if [ "$RC" != "$2" ]; then bad "$1" "exit status $RC, wanted $2"; return; fi
    if [ -n "${3:-}" ] && ! grep -qF -- "$3" "$ERR"; then bad "$1" "stderr lacks '$3'"; return; fi
    ok "$1"
}
tally_end() {
    local n
    for n in "${failed[@]}"; do echo "FAILED: $n"; done
    echo "$1: $pass passed, $fail failed${2:-}"
    [ "$fail" = 0 ]
}
