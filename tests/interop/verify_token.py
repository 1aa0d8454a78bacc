#!/usr/bin/python3
"""Independent verifier of jit tokens (docs/token-format.md), written from the
spec with only cbor2 and cryptography, to cross-check the Rust verifier.

  verify_token.py vectors DIR
      Check every vector of DIR/manifest.json; print one line each; exit 1 if
      any outcome differs from the expected reason code.
  verify_token.py token --trusted-keys FILE [--now UNIX] [--leeway S]
                        [--invocation JSON] TOKEN|-
      Print {"reason": CODE, "message": ...} as JSON; exit 0 if the token is
      valid (and allows the invocation, if one is given), 1 otherwise.

Not checked here (the Rust verifier does): small-order R / public-key points
(OpenSSL's Ed25519 does not reject them either; the vectors do not rely on it).
"""
import argparse
import base64
import datetime
import json
import re
import sys

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MAX_TOKEN_LEN = 8192
MAX_TOKEN_TEXT_LEN = 10923
MAX_DEPTH = 8
MAX_LEEWAY = 600
MAX_LIFETIME = 86400
TYP = "application/jit+cwt"
PINNED_ALG = {"ed25519": -8}
L = 2**252 + 27742317777372353535851937790883648493
INT_CLAIMS = {1: "iss", 2: "sub", 4: "exp", 5: "nbf", 6: "iat", 7: "cti"}
TEXT_CLAIMS = {"cmds", "hosts", "shell", "reason", "run_as", "ticket", "approver",
               "max_uses", "break_glass", "run_as_groups"}
I64_MAX = 2**63 - 1


class Reject(Exception):
    def __init__(self, code, msg=""):
        super().__init__(code)
        self.code = code
        self.msg = msg or code


# ---- strict deterministic CBOR (spec §1.2) ----

def head(b, p):
    if p >= len(b):
        raise Reject("malformed", "truncated")
    major, ai = b[p] >> 5, b[p] & 31
    if major == 7:
        if ai in (20, 21):
            return 7, ai, p + 1
        raise Reject("malformed", "float/null/simple value")
    if ai < 24:
        return major, ai, p + 1
    if ai <= 27:
        n = 1 << (ai - 24)
        if p + 1 + n > len(b):
            raise Reject("malformed", "truncated")
        v = int.from_bytes(b[p + 1:p + 1 + n], "big")
        if v < (24, 256, 65536, 1 << 32)[ai - 24]:
            raise Reject("not_canonical", "non-minimal head")
        return major, v, p + 1 + n
    if ai <= 30:
        raise Reject("malformed", "reserved additional information")
    if major in (2, 3, 4, 5):
        raise Reject("not_canonical", "indefinite length")
    raise Reject("malformed", "indefinite length on a type without one")


def item(b, p, depth, tag_ok):
    if depth > MAX_DEPTH:
        raise Reject("malformed", "nested too deeply")
    major, arg, p = head(b, p)
    if major in (0, 1, 7):
        return p
    if major in (2, 3):
        end = p + arg
        if end > len(b):
            raise Reject("malformed", "truncated")
        if major == 3:
            try:
                b[p:end].decode("utf-8")
            except UnicodeDecodeError:
                raise Reject("malformed", "bad UTF-8") from None
        return end
    if major == 4:
        if arg > len(b) - p:
            raise Reject("malformed", "truncated")
        for _ in range(arg):
            p = item(b, p, depth + 1, False)
        return p
    if major == 5:
        if arg > (len(b) - p) // 2:
            raise Reject("malformed", "truncated")
        keys = []
        for _ in range(arg):
            k0 = p
            p = item(b, p, depth + 1, False)
            key = b[k0:p]
            if keys:
                if key == keys[-1]:
                    raise Reject("duplicate_key")
                if key < keys[-1]:
                    if key in keys:
                        raise Reject("duplicate_key")
                    raise Reject("not_canonical", "map keys out of order")
            keys.append(key)
            p = item(b, p, depth + 1, False)
        return p
    if major == 6:
        if not tag_ok:
            raise Reject("malformed", "tag not allowed here")
        return item(b, p, depth + 1, False)
    raise Reject("malformed")


def validate(b, tag_ok):
    if not b:
        raise Reject("malformed", "empty")
    if item(b, 0, 1, tag_ok) != len(b):
        raise Reject("trailing_bytes")


# ---- decoding (spec §4 steps 1-17) ----

def b64decode(text):
    if len(text) > MAX_TOKEN_TEXT_LEN:
        raise Reject("oversized")
    if not text or not re.fullmatch(r"[A-Za-z0-9_-]+", text) or len(text) % 4 == 1:
        raise Reject("bad_base64")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text:
        raise Reject("bad_base64", "non-zero trailing bits")
    if len(raw) > MAX_TOKEN_LEN:
        raise Reject("oversized")
    return raw


def is_int(v):
    return type(v) is int  # bool is not an int here


def is_text_list(v):
    return type(v) is list and all(type(x) is str for x in v)


def decode(raw):
    validate(raw, True)
    major, tag, _ = head(raw, 0)
    if major != 6:
        raise Reject("untagged")
    if tag != 18:
        raise Reject("malformed", "not tag 18")
    arr = cbor2.loads(raw).value
    if type(arr) is not list or len(arr) != 4:
        raise Reject("malformed", "not an array of 4")
    prot, unprot, payload, sig = arr
    if type(prot) is not bytes:
        raise Reject("malformed")
    if type(unprot) is not dict:
        raise Reject("malformed")
    if unprot:
        raise Reject("unprotected_header")
    if type(payload) is not bytes:
        raise Reject("malformed")
    if type(sig) is not bytes or len(sig) != 64:
        raise Reject("malformed", "signature")

    validate(prot, False)
    h = cbor2.loads(prot)
    if type(h) is not dict:
        raise Reject("malformed")
    if any(is_int(k) and k == 2 for k in h):
        raise Reject("unknown_critical")
    for k, v in h.items():
        if not is_int(k) or k not in (1, 4, 16):
            raise Reject("malformed", "header label")
        if k == 1 and not (is_int(v) and -I64_MAX <= v <= I64_MAX):
            raise Reject("malformed", "alg")
        if k == 4 and not (type(v) is bytes and 1 <= len(v) <= 64):
            raise Reject("malformed", "kid")
        if k == 16 and type(v) is not str:
            raise Reject("malformed", "typ")
    if set(h) != {1, 4, 16}:
        raise Reject("malformed", "alg, kid, typ required")

    validate(payload, False)
    c = cbor2.loads(payload)
    if type(c) is not dict:
        raise Reject("malformed")
    for k in c:
        if not ((is_int(k) and k in INT_CLAIMS) or (type(k) is str and k in TEXT_CLAIMS)):
            raise Reject("unknown_claim", repr(k))
    any_args_false = False
    for k, v in c.items():
        name = INT_CLAIMS.get(k, k) if is_int(k) else k
        ok = {
            "iss": type(v) is str, "sub": type(v) is str, "reason": type(v) is str,
            "ticket": type(v) is str, "approver": type(v) is str,
            "exp": is_int(v) and v >= 0, "nbf": is_int(v) and v >= 0,
            "iat": is_int(v) and v >= 0, "max_uses": is_int(v) and v >= 0,
            "cti": type(v) is bytes,
            "hosts": is_text_list(v), "run_as": is_text_list(v), "run_as_groups": is_text_list(v),
            "shell": type(v) is bool, "break_glass": type(v) is bool,
            "cmds": type(v) is list,
        }[name]
        if not ok:
            raise Reject("malformed", f"claim {name} type")
        if name == "cmds":
            for g in v:
                if type(g) is not dict or len(g) not in (1, 2):
                    raise Reject("malformed", "grant")
                for gk, gv in g.items():
                    if gk == "argv" and is_text_list(gv):
                        continue
                    if gk == "any_args" and type(gv) is bool:
                        any_args_false |= gv is False
                        continue
                    raise Reject("malformed", "grant")
                if "argv" not in g:
                    raise Reject("malformed", "grant")
    names = {(INT_CLAIMS.get(k, k) if is_int(k) else k): v for k, v in c.items()}
    for req in ("iss", "sub", "exp", "nbf", "iat", "cti", "cmds", "hosts", "reason", "run_as"):
        if req not in names:
            raise Reject("missing_claim", req)
    check_constraints(names, any_args_false)
    if cbor2.dumps(h, canonical=True) != prot or cbor2.dumps(c, canonical=True) != payload:
        raise Reject("not_canonical", "re-encoding differs")
    return h, names, prot, payload, sig


def check_constraints(n, any_args_false):
    def bad(msg):
        raise Reject("invalid_claims", msg)
    for t in ("exp", "nbf", "iat"):
        if n[t] > I64_MAX:
            bad(t)
    if len(n["cti"]) != 16:
        bad("cti")
    if n.get("shell") is False or n.get("break_glass") is False or any_args_false:
        bad("explicit false")
    if any(len(g["argv"]) == 0 for g in n["cmds"]):
        bad("empty argv")
    if "run_as_groups" in n and not n["run_as_groups"]:
        bad("empty run_as_groups")
    if "max_uses" in n and not 1 <= n["max_uses"] <= 2**32 - 1:
        bad("max_uses")
    if n.get("break_glass") is True and n.get("max_uses") != 1:
        bad("break_glass without max_uses 1")
    for t in ("iss", "sub", "reason", "ticket", "approver"):
        if n.get(t) == "":
            bad(t + " empty")
    if not n["iat"] <= n["nbf"] < n["exp"] or n["exp"] - n["nbf"] > MAX_LIFETIME:
        bad("times")
    for t in ("hosts", "run_as", "run_as_groups"):
        if any(x == "" for x in n.get(t, [])):
            bad(t)
    for g in n["cmds"]:
        argv = g["argv"]
        if any("\0" in a for a in argv):
            bad("NUL")
        if argv[0] == "sudoedit":
            if len(argv) != 2 or not argv[1].startswith("/") or g.get("any_args"):
                bad("sudoedit grant")
        elif not argv[0].startswith("/"):
            bad("relative command")


# ---- trusted keys ----

def parse_time(s):
    if s.startswith("@") and s[1:].isdigit():
        return int(s[1:])
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


def parse_trusted_keys(text):
    keys = {}
    for line in text.splitlines():
        f = line.split()
        if not f or f[0].startswith("#"):
            continue
        kid, alg, pk = f[0], f[1], f[2]
        raw = base64.urlsafe_b64decode(pk + "=")
        entry = {"alg": PINNED_ALG[alg], "key": Ed25519PublicKey.from_public_bytes(raw),
                 "not_before": None, "not_after": None}
        for opt in f[3:]:
            name, val = opt.split("=", 1)
            entry[name.replace("-", "_")] = parse_time(val)
        if kid in keys:
            raise ValueError(f"duplicate kid {kid}")
        keys[kid] = entry
    return keys


# ---- verification (steps 18-30) ----

def human(secs):
    if secs < 60:
        return f"{secs} s"
    if secs < 3600:
        return f"{secs // 60} min"
    if secs < 86400:
        m = secs % 3600 // 60
        return f"{secs // 3600} h" + (f" {m} min" if m else "")
    h = secs % 86400 // 3600
    return f"{secs // 86400} d" + (f" {h} h" if h else "")


def verify_signature(h, prot, payload, sig, keys, now):
    """The pinned key named by kid, its alg and window, and the signature
    (shared with verify_revocation.py: both formats are signed alike)."""
    kid = h[4].decode("utf-8", "replace")
    key = keys.get(kid) if h[4] == kid.encode() else None
    if key is None:
        raise Reject("unknown_kid")
    if h[1] != key["alg"]:
        raise Reject("alg_mismatch")
    if key["not_before"] is not None and now < key["not_before"]:
        raise Reject("key_not_yet_valid")
    if key["not_after"] is not None and now >= key["not_after"]:
        raise Reject("key_expired")
    # Sig_structure = ["Signature1", protected, h'', payload], built by hand (§1.1).
    msg = b"\x84" + cbor2.dumps("Signature1") + cbor2.dumps(prot) + b"\x40" + cbor2.dumps(payload)
    if int.from_bytes(sig[32:], "little") >= L:
        raise Reject("bad_signature", "non-canonical S")
    try:
        key["key"].verify(sig, msg)
    except InvalidSignature:
        raise Reject("bad_signature") from None


def verify(text, keys, now, leeway):
    h, c, prot, payload, sig = decode(b64decode(text))
    if h[16] != TYP:
        raise Reject("wrong_typ")
    verify_signature(h, prot, payload, sig, keys, now)
    leeway = min(leeway, MAX_LEEWAY)
    if now + leeway < c["nbf"]:
        raise Reject("not_yet_valid", f"token not valid for another {human(c['nbf'] - now)}")
    if now - leeway >= c["exp"]:
        raise Reject("expired", f"token expired {human(now - c['exp'])} ago")
    return c


def check_invocation(c, inv):
    if c["sub"] != inv["user"]:
        raise Reject("wrong_user", f"this token is for {c['sub']}")
    if not set(c["hosts"]) & set(inv["host_groups"]):
        raise Reject("host_not_granted")
    if inv["run_as_user"] not in c["run_as"]:
        raise Reject("run_as_not_granted")
    if inv.get("run_as_group") is not None and inv["run_as_group"] not in c.get("run_as_groups", []):
        raise Reject("run_as_group_not_granted")
    action = inv["action"]
    if action in ("list", "validate"):
        return
    if "exec" in action:
        argv = action["exec"]
        for g in c["cmds"]:
            ga = g["argv"]
            if ga[0] == "sudoedit" or len(argv) < len(ga):
                continue
            if len(argv) > len(ga) and not g.get("any_args"):
                continue
            if argv[:len(ga)] == ga:
                return
        raise Reject("command_not_granted")
    if "shell" in action:
        if c.get("shell") is True:
            return
        raise Reject("shell_not_granted")
    if "edit" in action:
        files = action["edit"]
        if not files:
            raise Reject("edit_not_granted")
        for f in files:
            if not any(g["argv"] == ["sudoedit", f] and not g.get("any_args") for g in c["cmds"]):
                raise Reject("edit_not_granted", f"sudoedit not granted for {f}")
        return
    raise Reject("malformed", "unknown action in the invocation")


def outcome(text, keys, now, leeway, inv=None):
    try:
        c = verify(text, keys, now, leeway)
        if inv is not None:
            check_invocation(c, inv)
        return "ok", "ok"
    except Reject as r:
        return r.code, r.msg


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("vectors")
    v.add_argument("dir")
    t = sub.add_parser("token")
    t.add_argument("--trusted-keys", required=True)
    t.add_argument("--now", type=int)
    t.add_argument("--leeway", type=int, default=60)
    t.add_argument("--invocation")
    t.add_argument("token")
    a = ap.parse_args()
    if a.cmd == "vectors":
        with open(f"{a.dir}/manifest.json") as f:
            manifest = json.load(f)
        with open(f"{a.dir}/{manifest['trusted_keys']}") as f:
            keys = parse_trusted_keys(f.read())
        bad = 0
        for vec in manifest["vectors"]:
            with open(f"{a.dir}/{vec['file']}") as f:
                text = f.read()
            code, msg = outcome(text, keys, vec["now"], vec["leeway"], vec["invocation"])
            same = code == vec["expected"]
            bad += not same
            print(f"{'ok  ' if same else 'DIFF'} {vec['file']}: expected {vec['expected']}, python {code}")
        print(f"{len(manifest['vectors']) - bad} agree, {bad} differ")
        return 1 if bad else 0
    with open(a.trusted_keys) as f:
        keys = parse_trusted_keys(f.read())
    text = sys.stdin.read().rstrip("\r\n") if a.token == "-" else a.token
    now = a.now if a.now is not None else int(datetime.datetime.now(datetime.timezone.utc).timestamp())
    inv = json.loads(a.invocation) if a.invocation else None
    code, msg = outcome(text, keys, now, a.leeway, inv)
    print(json.dumps({"reason": code, "message": msg}))
    return 0 if code == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
