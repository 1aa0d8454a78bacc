#!/usr/bin/env bash
# OpenSSH certificates and their revocation (docs/ssh.md "Certificates",
# docs/revocation.md §2.1, §3.1, §5.1), end to end with the real OpenSSH: an
# sshd of this test's own (tests/e2e/sshd.sh: own configuration, host key,
# pid file, 127.0.0.1 at a free high port; /etc/ssh and port 22 are never
# used), a test CA and certificates made with ssh-keygen, and the packaged
# snippets installed by `jit-ctl enable --ssh` pointed at this sshd's files
# through the JIT_CTL_* overrides. jit-signer revoke writes the signed lists,
# `jit-ctl ssh-krl` (jit-krl) turns the verified list into the KRL, and every
# refusal is asserted on ssh's exit status and on sshd's log line naming the
# revoked key. Run as: flock /run/jit-e2e.lock bash tests/ci.d/48-ssh-krl.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release}
# shellcheck source=../e2e/lib.sh
. tests/e2e/lib.sh
# shellcheck source=../e2e/sshd.sh
. tests/e2e/sshd.sh
[ -x "$BIN/jit-krl" ] || e2e_die "$BIN/jit-krl missing (tools/build-release.sh builds it)"
/usr/bin/python3 -c 'import cbor2, cryptography' || e2e_die "python3-cbor2 / python3-cryptography missing"

S=$ROOT/ssh
cleanup() {
    sshd_stop
    e2e_teardown
    rm -f "$OUT" "$ERR"
}
trap cleanup EXIT
e2e_setup

# shellcheck source=../e2e/tally.sh
. tests/e2e/tally.sh

sshd_setup "$S" "$UA"
sshd_start

J=$S/jit                               # stands in for /etc/ssh/jit
CA=$J/user-ca.pub
KRL=$J/revoked.krl
PRINC=$J/principals
LIST=$ROOT/keys/revocation/list        # revocation_list of lib.sh's pam_jit.conf
STATE=$ROOT/state/revocation-state
SIG=$ROOT/signer/revocation
mkdir -p "$ROOT/keys/revocation" "$S/ca" "$S/c"
chmod 0755 "$ROOT/keys/revocation"
ctl() {
    JIT_CTL_CONF="$ROOT/pam_jit.conf" JIT_CTL_SSHD_CONFIG="$S/sshd_config" \
        JIT_CTL_SSH_SNIPPET="$S/sshd_config.d/jit.conf" JIT_CTL_SSHD_PIDFILE="$S/sshd.pid" \
        JIT_CTL_DROPIN="$S/no-sudoers-dropin" JIT_CTL_SSH_SOURCE=packaging/ssh/sshd-jit.conf \
        JIT_CTL_SSH_CERT_SOURCE=packaging/ssh/sshd-jit-cert.conf JIT_CTL_SSH_CA="$CA" \
        JIT_CTL_SSH_PRINCIPALS="$PRINC" JIT_CTL_SSH_KRL="$KRL" JIT_CTL_KRL_HELPER="$BIN/jit-krl" \
        sh packaging/sbin/jit-ctl "$@"
}
run_ctl() { set +e; ctl "$@" >"$OUT" 2>"$ERR"; RC=$?; set -e; }
revoke() { "$BIN/jit-signer" revoke --key "$ROOT/signer/e2e-k1.key" --state "$SIG" "$@" >/dev/null; }
install_list() { install -m 0644 "$1" "$LIST"; }

# A client configuration that offers only the identity given with -i (and
# its NAME-cert.pub): no agent, not the test user's authorized plain key.
{
    printf '%s\n' "Host jit-e2e-cert" "    HostName 127.0.0.1" "    Port $SSH_PORT" "    User $UA" \
        "    HostKeyAlias jit-e2e-web-1" "    IdentitiesOnly yes" "    IdentityAgent none" \
        "    PreferredAuthentications publickey" "    BatchMode yes" "    StrictHostKeyChecking yes" \
        "    UserKnownHostsFile $S/known_hosts" "    GlobalKnownHostsFile /dev/null" \
        "    ConnectTimeout 10" "    LogLevel ERROR"
} > "$S/cert_config"

# login NAME: log in as the test user with certificate NAME; $RC, $OUT, $ERR;
# sshd's log lines written meanwhile in $S/sshd.new.
login() {
    local n0
    n0=$(wc -l < "$S/sshd.log")
    set +e
    env -i PATH=/usr/bin:/bin HOME=/nonexistent ssh -F "$S/cert_config" -i "$S/c/$1" jit-e2e-cert \
        /usr/bin/id -un </dev/null >"$OUT" 2>"$ERR"
    RC=$?
    set -e
    tail -n +"$((n0 + 1))" "$S/sshd.log" > "$S/sshd.new"
}
fp() { ssh-keygen -l -f "$1" | cut -d' ' -f2; }
# expect_login NAME WHAT: certificate NAME logs in; sshd names its key id.
expect_login() {
    login "$1"
    if [ "$RC" = 0 ] && grep -qx "$UA" "$OUT" \
        && grep -q "Accepted publickey for $UA .*ID $2 " "$S/sshd.new"; then
        ok "certificate $1 logs in (sshd: Accepted ... ID $2)"
    else
        bad "certificate $1 logs in" "rc $RC: $(cat "$ERR") sshd: $(tail -n 3 "$S/sshd.new")"
    fi
}
# expect_revoked NAME WHY: refused; sshd's log names the key as revoked by the KRL.
expect_revoked() {
    login "$1"
    local f
    f=$(fp "$S/c/$1.pub")
    if [ "$RC" = 255 ] && grep -q "Authentication key ED25519-CERT $f revoked by file $KRL" "$S/sshd.new"; then
        ok "revoked by $2: certificate $1 refused (ssh 255; sshd: key $f revoked by file $KRL)"
    else
        bad "revoked by $2: certificate $1 refused" "rc $RC; sshd: $(tail -n 5 "$S/sshd.new")"
    fi
}

# --- a test CA and certificates -------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C jit-e2e-ca -f "$S/ca/ca"
TOK=$(e2e_issue --user "$UA" --host-group e2e-hosts --command /usr/bin/true --reason "e2e ssh grant")
TID=$("$BIN/jit-signer" inspect --json "$TOK" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["claims"]["cti"])')
GID=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
# cert NAME KEY_ID SERIAL PRINCIPAL: a key pair and its certificate, valid 1 h.
cert() {
    ssh-keygen -q -t ed25519 -N '' -C "jit-e2e-$1" -f "$S/c/$1"
    ssh-keygen -q -s "$S/ca/ca" -I "$2" -z "$3" -n "$4" -V -5m:+1h "$S/c/$1.pub"
}
cert valid  "$GID"              101 "$UA@e2e-hosts"
cert serial 5f0e0000000000000000000000000102 102 "$UA@other-group"
cert keyid  grant-by-key-id     103 "$UA@e2e-hosts"
cert key    5f0e0000000000000000000000000104 104 "$UA@e2e-hosts"
cert token  "$TID"              105 "$UA@e2e-hosts"
cert stranger 5f0e0000000000000000000000000106 106 "$UA@not-this-host"
cert otheruser 5f0e0000000000000000000000000107 107 "root@e2e-hosts"

# --- enable --ssh without a CA key: JIT_TOKEN only ------------------------------
run_ctl enable --ssh
if [ "$RC" = 0 ] && cmp -s packaging/ssh/sshd-jit.conf "$S/sshd_config.d/jit.conf" \
    && grep -q "no SSH CA key at $CA" "$OUT" && [ ! -e "$KRL" ]; then
    ok "enable --ssh without a CA key: the JIT_TOKEN snippet only, no KRL"
else
    bad "enable --ssh without a CA key" "rc $RC: $(cat "$OUT" "$ERR")"
fi
sshd_wait "reload after enable --ssh"
login valid
[ "$RC" = 255 ] && ok "no CA trusted yet: the certificate is refused" || bad "certificate before the CA" "rc $RC"

# --- the CA key, principals, enable --ssh ---------------------------------------
install -d -m 0755 "$J"
install -m 0644 "$S/ca/ca.pub" "$CA"
run_ctl ssh-principals "$UA"
if [ "$RC" = 0 ] && [ "$(cat "$PRINC/$UA")" = "$(printf '%s\n' "$UA@e2e-hosts" "$UA@other-group")" ] \
    && [ "$(stat -c '%a %U' "$PRINC/$UA")" = "644 root" ]; then
    ok "ssh-principals: $UA@GROUP for each host group of pam_jit.conf, 0644 root"
else
    bad "ssh-principals" "rc $RC: $(cat "$OUT" "$ERR") file: $(cat "$PRINC/$UA" 2>&1)"
fi
run_ctl ssh-principals ../etc
[ "$RC" = 1 ] && [ ! -e "$J/etc" ] && ok "ssh-principals refuses a login that is not a file name" \
    || bad "ssh-principals ../etc" "rc $RC"

# The host groups come from pam_jit's own parser (jit-krl --principals), not
# from a sed over the file: a configuration pam_jit reads differently from a
# line-by-line sed gives the module's groups, and one it refuses gives none.
cp -p "$ROOT/pam_jit.conf" "$S/pam_jit.conf.orig"
want=$(cat "$PRINC/$UA")
sed 's/$/\r/' "$S/pam_jit.conf.orig" >"$ROOT/pam_jit.conf"     # CRLF line ends
run_ctl ssh-principals "$UA"
if [ "$RC" = 0 ] && [ "$(cat "$PRINC/$UA")" = "$want" ] && ! grep -q "$(printf '\r')" "$PRINC/$UA"; then
    ok "ssh-principals: a CRLF pam_jit.conf gives the module's groups (no CR in a principal)"
else
    bad "ssh-principals, CRLF config" "rc $RC: $(cat "$OUT" "$ERR") file: $(od -c "$PRINC/$UA" | head -3)"
fi
for variant in dup comment; do
    cp -p "$S/pam_jit.conf.orig" "$ROOT/pam_jit.conf"
    case $variant in
        # Two host_groups lines: the sed took the last one; pam_jit refuses the file.
        dup) echo "host_groups = db" >>"$ROOT/pam_jit.conf"; why="already set" ;;
        # A trailing comment: the sed made principals of "#" and "db"; pam_jit refuses "#".
        comment) sed -i 's/^host_groups = .*/host_groups = e2e-hosts # db/' "$ROOT/pam_jit.conf"; why="host group" ;;
    esac
    run_ctl ssh-principals "$UA"
    if [ "$RC" = 1 ] && grep -q "pam_jit would refuse" "$ERR" && grep -q "$why" "$ERR" \
        && [ "$(cat "$PRINC/$UA")" = "$want" ] && ! ls -A "$PRINC" | grep -q '^\.'; then
        ok "ssh-principals refuses a pam_jit.conf the module refuses ($variant), the file unchanged"
    else
        bad "ssh-principals, $variant config" "rc $RC: $(cat "$OUT" "$ERR") file: $(cat "$PRINC/$UA" 2>&1)"
    fi
done
cp -p "$S/pam_jit.conf.orig" "$ROOT/pam_jit.conf"

run_ctl enable --ssh
if [ "$RC" = 0 ] && grep -q "wrote $KRL empty" "$OUT" && grep -q "accepts jit's SSH certificates" "$OUT" \
    && grep -qx "TrustedUserCAKeys $CA" "$S/sshd_config.d/jit.conf" \
    && grep -qx "AuthorizedPrincipalsFile $PRINC/%u" "$S/sshd_config.d/jit.conf" \
    && grep -qx "RevokedKeys $KRL" "$S/sshd_config.d/jit.conf" \
    && grep -q "reloaded sshd (pid $SSHD_PID)" "$OUT"; then
    ok "enable --ssh with the CA key: empty KRL written first, certificate snippet installed, sshd -t passed, reloaded"
else
    bad "enable --ssh with the CA key" "rc $RC: $(cat "$OUT" "$ERR")"
fi
sshd_wait "reload after enable --ssh with certificates"
"$SSHD" -T -f "$S/sshd_config" -C user="$UA",host=localhost,addr=127.0.0.1 >"$S/sshd-T" 2>&1 || true
grep -qix "revokedkeys $KRL" "$S/sshd-T" && grep -qix "trustedusercakeys $CA" "$S/sshd-T" \
    && grep -qix "authorizedprincipalsfile $PRINC/%u" "$S/sshd-T" \
    && ok "sshd -T: TrustedUserCAKeys, AuthorizedPrincipalsFile and RevokedKeys in effect" \
    || bad "sshd -T" "$(grep -Ei 'revokedkeys|trustedusercakeys|authorizedprincipalsfile' "$S/sshd-T")"
# sshd keeps the first value it reads and a Match block can change it: an
# earlier drop-in (globally, or for the user) that names another KRL makes
# enable --ssh fail with the snippet as it was.
cp "$S/sshd_config.d/jit.conf" "$S/jit.conf.good"
cp "$KRL" "$S/org.krl"
for how in global match; do
    if [ "$how" = global ]; then
        printf 'RevokedKeys %s\n' "$S/org.krl" >"$S/sshd_config.d/10-org.conf"
    else
        printf 'Match User %s\n    RevokedKeys %s\n' "$UA" "$S/org.krl" >"$S/sshd_config.d/10-org.conf"
    fi
    run_ctl enable --ssh
    [ "$RC" = 1 ] && grep -q "would not use jit's settings" "$ERR" && grep -q "revokedkeys $S/org.krl" "$ERR" \
        && cmp -s "$S/jit.conf.good" "$S/sshd_config.d/jit.conf" \
        && ok "enable --ssh refuses when sshd would use another KRL ($how: an earlier drop-in), snippet as it was" \
        || bad "enable --ssh with an overriding RevokedKeys ($how)" "rc $RC: $(cat "$OUT" "$ERR")"
    run_ctl status
    grep -q "^ssh-cert: NOT in effect: .*revokedkeys $S/org.krl" "$OUT" \
        && ok "jit-ctl status says jit's certificates are not in effect ($how)" \
        || bad "status with an overriding RevokedKeys ($how)" "$(cat "$OUT" "$ERR")"
    rm -f "$S/sshd_config.d/10-org.conf"
done
ssh-keygen -Q -l -f "$KRL" >"$S/krl.txt" 2>&1 && grep -q "^# KRL version 0" "$S/krl.txt" \
    && ok "the empty KRL parses (ssh-keygen -Q -l): version 0, nothing revoked" \
    || bad "empty KRL" "$(cat "$S/krl.txt")"
run_ctl status
grep -qxF "ssh-cert: sshd accepts jit's certificates (CA $CA; KRL $KRL from list version 0)" "$OUT" \
    && ok "jit-ctl status: ssh-cert line with the CA and the KRL's list version" \
    || bad "status ssh-cert" "$(cat "$OUT" "$ERR")"

# --- logins before any revocation ----------------------------------------------
for c in valid serial keyid key token; do
    id=$(ssh-keygen -L -f "$S/c/$c-cert.pub" | sed -n 's/.*Key ID: "\(.*\)"/\1/p')
    expect_login "$c" "$id"
done
login stranger
if [ "$RC" = 255 ] && grep -q "Certificate does not contain an authorized principal" "$S/sshd.new" \
    && ! grep -q "Accepted publickey" "$S/sshd.new"; then
    ok "a principal not in the AuthorizedPrincipalsFile ($UA@not-this-host) is refused (sshd: no authorized principal)"
else
    bad "principal not listed" "rc $RC: $(tail -n 3 "$S/sshd.new")"
fi
login otheruser
[ "$RC" = 255 ] && grep -q "Certificate does not contain an authorized principal" "$S/sshd.new" && ok "another account's principal (root@e2e-hosts) does not log in as $UA" \
    || bad "other account's principal" "rc $RC"

# --- revocation by serial (per CA) ----------------------------------------------
revoke --ssh-serial 102 --ssh-ca "$CA"
install_list "$SIG/revocation.list"
cp "$SIG/revocation.list" "$S/v1.list"
run_ctl ssh-krl
[ "$RC" = 0 ] && grep -q "from revocation list version 1: 1 certificate serials" "$OUT" \
    && ok "ssh-krl: KRL written from list version 1" || bad "ssh-krl v1" "rc $RC: $(cat "$OUT" "$ERR")"
[ "$(stat -c '%a %U' "$KRL")" = "600 root" ] && ok "the KRL is 0600 root" || bad "KRL mode" "$(stat -c '%a %U' "$KRL")"
grep -q '^jit-revocation-state-v1 1 ' "$STATE" && ok "the list was recorded in pam_jit's anti-rollback state" \
    || bad "state after ssh-krl" "$(cat "$STATE" 2>&1)"
expect_revoked serial "serial 102 of the test CA"
expect_login valid "$GID"
set +e; ssh-keygen -Q -f "$KRL" "$S/c/serial-cert.pub" "$S/c/valid-cert.pub" >"$S/q.txt" 2>&1; set -e
grep -q "serial-cert.pub .*: REVOKED$" "$S/q.txt" && grep -q "valid-cert.pub .*: ok$" "$S/q.txt" \
    && ok "ssh-keygen -Q agrees: the serial's certificate revoked, the others not" \
    || bad "ssh-keygen -Q" "$(cat "$S/q.txt")"

# --- by key id, by key, and through the grant's token id -------------------------
revoke --ssh-key-id grant-by-key-id
install_list "$SIG/revocation.list"
run_ctl ssh-krl
[ "$RC" = 0 ] || bad "ssh-krl v2" "$(cat "$ERR")"
expect_revoked keyid "key id grant-by-key-id"
revoke --ssh-key "$S/c/key.pub"
install_list "$SIG/revocation.list"
run_ctl ssh-krl
[ "$RC" = 0 ] || bad "ssh-krl v3" "$(cat "$ERR")"
expect_revoked key "public key $(fp "$S/c/key.pub")"
revoke --token-id "$TID"
install_list "$SIG/revocation.list"
cp "$SIG/revocation.list" "$S/v4.list"
run_ctl ssh-krl
[ "$RC" = 0 ] && grep -q "from revocation list version 4" "$OUT" || bad "ssh-krl v4" "$(cat "$OUT" "$ERR")"
expect_revoked token "the grant's token id $TID (the certificate's key id)"
expect_login valid "$GID"
# The same token is refused by sudo too (one revocation, both doors).
before=$(log_lines); as_user "$UA" JIT_TOKEN="$TOK" -- sudo -n /usr/bin/true
[ "$RC" = 1 ] && grep -qF "is revoked (revocation list version 4)" "$ERR" \
    && ok "sudo with the revoked grant's token: denied by the same list" || bad "sudo after --token-id" "rc $RC: $(cat "$ERR")"

# The KRL is exactly what the independent Python implementation builds.
/usr/bin/python3 tests/interop/verify_revocation.py krl --trusted-keys "$ROOT/keys/trusted-keys" \
    "$S/v4.list" "$S/py.krl" >/dev/null && cmp -s "$S/py.krl" "$KRL" \
    && ok "the KRL equals the Python verifier's, built from PROTOCOL.krl" || bad "KRL vs Python" "differs"

# --- lists the host must not turn into a KRL: the KRL stays -----------------------
cp -p "$KRL" "$S/krl.good"
krl_unchanged() { # NAME STDERR_SUBSTRING
    if [ "$RC" = 1 ] && grep -qF -- "$2" "$ERR" && grep -qF "$KRL is unchanged" "$ERR" \
        && cmp -s "$KRL" "$S/krl.good"; then
        ok "$1: ssh-krl fails (exit 1, '$2'), the KRL is unchanged"
    else
        bad "$1" "rc $RC: $(cat "$OUT" "$ERR")"
    fi
}
install_list "$S/v1.list"
run_ctl ssh-krl
krl_unchanged "an older (rolled-back) list, version 1 after 4" "older than version 4 already accepted"
"$BIN/jit-signer" revoke --key "$ROOT/signer/e2e-k2.key" --state "$S/rogue" --ssh-serial 101 --ssh-ca "$CA" >/dev/null
install_list "$S/rogue/revocation.list"
run_ctl ssh-krl
krl_unchanged "a list signed by an untrusted key" "unknown_kid"
lt=$(tr -d '\n' < "$S/v4.list")
c=${lt:40:1}; r=A; [ "$c" = A ] && r=B
printf '%s\n' "${lt:0:40}${r}${lt:41}" > "$S/tampered.list"
install_list "$S/tampered.list"
run_ctl ssh-krl
krl_unchanged "a tampered list" "is unusable"
cp -p "$S/sshd_config.d/jit.conf" "$S/snippet.good"
run_ctl enable --ssh
if [ "$RC" = 1 ] && grep -qF "$KRL is unchanged" "$ERR" && cmp -s "$KRL" "$S/krl.good" \
    && cmp -s "$S/sshd_config.d/jit.conf" "$S/snippet.good" && ! grep -q reloaded "$OUT"; then
    ok "enable --ssh with a tampered list: stops before the snippet (exit 1), KRL and snippet unchanged, no reload"
else
    bad "enable --ssh with a tampered list" "rc $RC: $(cat "$OUT" "$ERR")"
fi
rm -f "$LIST"
run_ctl ssh-krl
krl_unchanged "no list on a host that has accepted one (deny_once_seen)" "is missing"
chmod 0666 "$S/v4.list"; cp -p "$S/v4.list" "$LIST"
run_ctl ssh-krl
krl_unchanged "a list file writable by others" "is unusable"
expect_revoked key "public key (still, after the refused lists)"
expect_login valid "$GID"

# --- the current list again; disable -----------------------------------------------
install_list "$SIG/revocation.list"
run_ctl ssh-krl
[ "$RC" = 0 ] && cmp -s "$KRL" "$S/krl.good" && ok "the current list again: the same KRL, byte for byte" \
    || bad "ssh-krl with the current list" "rc $RC"
# --- a certificate jit-signer issued, revoked with its user -------------------------
# The signer's own CA beside the test CA (TrustedUserCAKeys takes several
# lines); `revoke --user` finds the user's certificates in the issuance ledger
# and lists them by key id, and the KRL built from that list stops the login.
"$BIN/jit-signer" keygen --kid e2e-ssh-ca --out "$S/jitca" >/dev/null
"$BIN/jit-signer" export-pub --ssh --key "$S/jitca/e2e-ssh-ca.key" >>"$CA"
ssh-keygen -q -t ed25519 -N '' -C jit-e2e-jit -f "$S/c/jit"
"$BIN/jit-signer" issue --ledger "$E2E_LEDGER" --ssh-ca "$S/jitca/e2e-ssh-ca.key" --ssh-key "$S/c/jit.pub" \
    --user "$UA" --host-group e2e-hosts --reason "e2e jit cert" --json >"$S/jit.json" 2>"$ERR" \
    || bad "jit-signer issue --ssh-key" "$(cat "$ERR")"
JGID=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ssh_certificate"]["key_id"])' "$S/jit.json")
expect_login jit "$JGID"
"$BIN/jit-signer" revoke --key "$ROOT/signer/e2e-k1.key" --state "$SIG" --ledger "$E2E_LEDGER" \
    --user "$UA" >/dev/null 2>"$S/revoke-user.err"
grep -q "also revoking 1 SSH certificate" "$S/revoke-user.err" \
    && ok "revoke --user $UA: the certificate jit-signer issued to $UA is listed by key id" \
    || bad "revoke --user lists the certificate" "$(cat "$S/revoke-user.err")"
install_list "$SIG/revocation.list"
run_ctl ssh-krl
[ "$RC" = 0 ] || bad "ssh-krl after revoke --user" "$(cat "$ERR")"
expect_revoked jit "its user $UA (key id $JGID from the ledger)"

# The SSH entries of the lists reach a SIEM (docs/export.md): each new entry
# is one Revoke Privileges event (ECS jit-ssh-cert-revoked), the owner taken
# from the ssh_cert record, and both formats validate against the schemas.
for fmt in ocsf ecs; do
    set +e
    "$BIN/jit-verify" export --format "$fmt" --ledger "$E2E_LEDGER" --output "$S/ledger.$fmt" 2>"$ERR"; RC=$?
    set -e
    if [ "$RC" = 0 ] && /usr/bin/python3 tests/interop/validate_siem.py "$fmt" "$S/ledger.$fmt" >"$S/v.txt" 2>&1; then
        ok "export --format $fmt of the ledger with SSH revocations validates ($(tail -n 1 "$S/v.txt"))"
    else
        bad "export --format $fmt with SSH revocations" "rc $RC: $(cat "$ERR"; head -n 20 "$S/v.txt")"
    fi
done
n_serial=$(jq -s '[.[] | select(.type_uid == 300502 and .unmapped.jit.revoked.by == "ssh_serial" and .unmapped.jit.revoked.serial == "102")] | length' "$S/ledger.ocsf")
n_keyid=$(jq -s --arg g "$JGID" --arg u "$UA" '[.[] | select(.event.action == "jit-ssh-cert-revoked" and .jit.revoked.key_id == $g and .user.target.name == $u)] | length' "$S/ledger.ecs")
n_key=$(jq -s '[.[] | select(.type_uid == 300502 and .unmapped.jit.revoked.by == "ssh_key")] | length' "$S/ledger.ocsf")
# (The rogue list above went to the same ledger: the list after it adds
# serial 102 and the key again, so they may appear twice.)
[ "$n_serial" -ge 1 ] && [ "$n_keyid" = 1 ] && [ "$n_key" -ge 1 ] \
    && ok "the export has one event per SSH entry: serial 102, the key, key id $JGID of $UA (owner from its ssh_cert record)" \
    || bad "SSH revocations in the export" "serial $n_serial, key id $n_keyid, key $n_key: $(jq -c 'select(.unmapped.jit.kind == "revoked") | .unmapped.jit.revoked' "$S/ledger.ocsf" | head -10)"

# --- the signer consults its own list (docs/revocation.md §6.1) ---------------------
# A KRL cannot revoke by principal: after revoke --user, the signer itself
# refuses a new certificate for the user (and a token every host would
# refuse), with a refused record, until revoke --restore-user; a key revoked
# with revoke --ssh-key gets no certificate; a list it cannot decode refuses
# everything.
ledger_count() {
    /usr/bin/python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
print(sum(1 for r in recs if eval(sys.argv[2], {}, {"r": r})))' "$E2E_LEDGER" "$1"
}
refused_n() { ledger_count "r['kind'] == 'refused' and r.get('reason_code') == '$1' and r.get('user') == '$2'"; }
# sign_cert NAME USER [issue args...]: issue --ssh-key NAME.pub (a new key
# pair if there is none) with --revocation-dir; $RC, $OUT, $ERR.
sign_cert() {
    local n=$1 u=$2
    shift 2
    [ -e "$S/c/$n.pub" ] || ssh-keygen -q -t ed25519 -N '' -C "jit-e2e-$n" -f "$S/c/$n"
    rm -f "$S/c/$n-cert.pub"
    set +e
    "$BIN/jit-signer" issue --ledger "$E2E_LEDGER" --ssh-ca "$S/jitca/e2e-ssh-ca.key" --ssh-key "$S/c/$n.pub" \
        --user "$u" --host-group e2e-hosts --reason "e2e signer list" --revocation-dir "$SIG" "$@" >"$OUT" 2>"$ERR"
    RC=$?
    set -e
}
# issue_token USER: a token-only issue with JIT_REVOCATION_DIR set (the
# variable revoke --state reads); $RC, $OUT, $ERR.
issue_token() {
    set +e
    JIT_REVOCATION_DIR=$SIG e2e_issue --user "$1" --host-group e2e-hosts --command /usr/bin/true \
        --reason "e2e signer list" >"$OUT" 2>"$ERR"
    RC=$?
    set -e
}
n0=$(refused_n user_revoked "$UA")
sign_cert again "$UA"
if [ "$RC" = 7 ] && [ ! -e "$S/c/again-cert.pub" ] && grep -q "user $UA is revoked" "$ERR" \
    && grep -q -- "jit-signer revoke --restore-user $UA" "$ERR" && [ "$(refused_n user_revoked "$UA")" = $((n0 + 1)) ]; then
    ok "issue --ssh-key for $UA after revoke --user: refused (exit 7, refused record user_revoked, --restore-user named), no certificate"
else
    bad "issue --ssh-key for a revoked user" "rc $RC: $(cat "$ERR")"
fi
issue_token "$UA"
if [ "$RC" = 7 ] && [ ! -s "$OUT" ] && grep -q "user $UA is revoked" "$ERR" \
    && [ "$(refused_n user_revoked "$UA")" = $((n0 + 2)) ]; then
    ok "a token for revoked $UA (JIT_REVOCATION_DIR set): refused (exit 7, refused record), nothing printed"
else
    bad "token for a revoked user" "rc $RC: $(cat "$OUT" "$ERR")"
fi
sign_cert other "$UB" --json
if [ "$RC" = 0 ] && [ -s "$S/c/other-cert.pub" ] && ssh-keygen -L -f "$S/c/other-cert.pub" | grep -q "$UB@e2e-hosts"; then
    ok "another user ($UB) still gets a certificate with the same list"
else
    bad "certificate for another user" "rc $RC: $(cat "$ERR")"
fi
revoke --restore-user "$UA"
sign_cert again "$UA" --json
if [ "$RC" = 0 ] && [ -s "$S/c/again-cert.pub" ]; then
    ok "after revoke --restore-user $UA: a certificate is issued again"
else
    bad "certificate after --restore-user" "rc $RC: $(cat "$ERR")"
fi
AGID=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ssh_certificate"]["key_id"])' "$OUT")
install_list "$SIG/revocation.list"
run_ctl ssh-krl
[ "$RC" = 0 ] || bad "ssh-krl after --restore-user" "$(cat "$ERR")"
expect_login again "$AGID"
issue_token "$UA"
[ "$RC" = 0 ] && [ -s "$OUT" ] && ok "after revoke --restore-user $UA: a token is issued again" \
    || bad "token after --restore-user" "rc $RC: $(cat "$ERR")"

# A revoked key: no new certificate, whatever the .pub file's comment.
revoke --ssh-key "$S/c/again.pub"
AFP=$(fp "$S/c/again.pub")
awk '{print $1, $2, "the-same-key@elsewhere"}' "$S/c/again.pub" >"$S/c/respelled.pub"
for k in again respelled; do
    n0=$(refused_n ssh_key_revoked "$UA")
    sign_cert "$k" "$UA"
    if [ "$RC" = 7 ] && [ ! -e "$S/c/$k-cert.pub" ] && grep -qF "SSH key $AFP is revoked" "$ERR" \
        && [ "$(refused_n ssh_key_revoked "$UA")" = $((n0 + 1)) ]; then
        ok "a key revoked with revoke --ssh-key ($k.pub): no certificate (exit 7, refused record ssh_key_revoked, $AFP named)"
    else
        bad "certificate for a revoked key ($k.pub)" "rc $RC: $(cat "$ERR")"
    fi
done
sign_cert fresh "$UA"
[ "$RC" = 0 ] && [ -s "$S/c/fresh-cert.pub" ] && ok "the same user with another key gets a certificate" \
    || bad "certificate for another key" "rc $RC: $(cat "$ERR")"

# Fail closed: a list that does not decode, or cannot be read, refuses everyone.
cp -p "$SIG/revocation.list" "$S/signer-list.good"
printf 'not-a-list\n' >"$SIG/revocation.list"
n0=$(refused_n revocation_list_corrupt "$UB")
sign_cert other "$UB"
rc_cert=$RC
issue_token "$UB"
if [ "$rc_cert" = 8 ] && [ "$RC" = 8 ] && [ ! -e "$S/c/other-cert.pub" ] && [ ! -s "$OUT" ] \
    && grep -q "revocation list $SIG/revocation.list is corrupt" "$ERR" \
    && [ "$(refused_n revocation_list_corrupt "$UB")" = $((n0 + 2)) ]; then
    ok "a corrupt signer list: certificate and token refused (exit 8, refused records revocation_list_corrupt)"
else
    bad "corrupt signer list" "rc $rc_cert/$RC: $(cat "$ERR")"
fi
rm -f "$SIG/revocation.list"
mkdir "$SIG/revocation.list"
sign_cert other "$UB"
[ "$RC" = 3 ] && grep -q "cannot read the signer's revocation list" "$ERR" \
    && ok "an unreadable signer list (a directory): refused (exit 3)" || bad "unreadable signer list" "rc $RC: $(cat "$ERR")"
rmdir "$SIG/revocation.list"
cp -p "$S/signer-list.good" "$SIG/revocation.list"
sign_cert other "$UB"
[ "$RC" = 0 ] && ok "the list restored: $UB gets a certificate again" || bad "after restoring the list" "rc $RC: $(cat "$ERR")"

run_ctl disable
if [ "$RC" = 0 ] && [ ! -e "$S/sshd_config.d/jit.conf" ] && grep -q "reloaded sshd (pid $SSHD_PID)" "$OUT"; then
    ok "jit-ctl disable: snippet removed, sshd reloaded"
else
    bad "jit-ctl disable" "rc $RC: $(cat "$OUT" "$ERR")"
fi
sshd_wait "reload after disable"
run_ctl status
grep -q "^ssh-cert: off" "$OUT" && ok "jit-ctl status after disable: ssh-cert off" || bad "status after disable" "$(cat "$OUT")"
login valid
[ "$RC" = 255 ] && ok "after disable: certificates no longer accepted" || bad "certificate after disable" "rc $RC"

echo
tally_end ssh-krl
