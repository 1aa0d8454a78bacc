# The pass/fail tally of an end-to-end script (sourced after cd to the repo).
#   ok NAME          a check passed
#   bad NAME [WHY]   a check failed; when the script keeps a command's result in
#                    $RC, $OUT and $ERR (tests/e2e/lib.sh, sudo-rs.sh), they are
#                    shown too
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
tally_end() {
    local n
    for n in "${failed[@]}"; do echo "FAILED: $n"; done
    echo "$1: $pass passed, $fail failed${2:-}"
    [ "$fail" = 0 ]
}
