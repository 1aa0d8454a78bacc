#!/usr/bin/python3
"""Independent verifier of jit revocation lists (docs/revocation.md), written
from the spec with cbor2, cryptography and b3sum, reusing from verify_token.py
only the strict CBOR validator and the key and signature check (the envelope
and signing rules are shared by the spec).

  verify_revocation.py vectors DIR
      Check every list, host case and query of DIR/manifest.json; exit 1 if
      any outcome differs from the expected one.
  verify_revocation.py list --trusted-keys FILE [--now UNIX] FILE
      Print {"reason": CODE} as JSON; exit 0 if the list verifies, 1 otherwise.
  verify_revocation.py krl --trusted-keys FILE [--now UNIX] LIST OUT
      Verify LIST and write the KRL a host writes from it (docs/revocation.md
      §3.1) to OUT, built here from PROTOCOL.krl; exit 1 if LIST is rejected.
"""
import argparse
from collections.abc import Mapping
import base64
import hashlib
import struct
import json
import os
import re
import subprocess
import sys

import cbor2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_token import Reject, head, is_int, parse_trusted_keys, validate, verify_signature  # noqa: E402

MAX_LIST_LEN = 262144
MAX_LIST_TEXT_LEN = 349526
TYP = "application/jit-revocation+cwt"
I64_MAX = 2**63 - 1
FIELDS = {1: "iss", 6: "iat", "users": "users", "tokens": "tokens",
          "version": "version", "watermarks": "watermarks",
          # §2.1, optional: present only when non-empty
          "ssh_keys": "ssh_keys", "ssh_key_ids": "ssh_key_ids", "ssh_serials": "ssh_serials"}
SSH_FIELDS = ("ssh_keys", "ssh_key_ids", "ssh_serials")
ED25519_CA_PREFIX = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32)


def canon_key(s):
    b = s.encode()
    return (len(b), b)


def valid_user(u):
    return (type(u) is str and 1 <= len(u.encode()) <= 256
            and not any(c.isspace() or ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 for c in u))


def valid_key_id(k):
    return 1 <= len(k.encode()) <= 256 and all("!" <= c <= "~" for c in k)


def b64decode(text):
    if len(text) > MAX_LIST_TEXT_LEN:
        raise Reject("oversized")
    body = text[:-1] if text.endswith("\n") else text
    if not body or not re.fullmatch(r"[A-Za-z0-9_-]+", body) or len(body) % 4 == 1:
        raise Reject("bad_base64")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != body:
        raise Reject("bad_base64", "non-zero trailing bits")
    if len(raw) > MAX_LIST_LEN:
        raise Reject("oversized")
    return raw


def decode(raw):
    validate(raw, True)
    major, tag, _ = head(raw, 0)
    if major != 6:
        raise Reject("untagged")
    if tag != 18:
        raise Reject("malformed")
    arr = cbor2.loads(raw).value
    if type(arr) not in (list, tuple) or len(arr) != 4:
        raise Reject("malformed")
    prot, unprot, payload, sig = arr
    if type(prot) is not bytes or not isinstance(unprot, Mapping) or type(payload) is not bytes:
        raise Reject("malformed")
    if unprot:
        raise Reject("unprotected_header")
    if type(sig) is not bytes or len(sig) != 64:
        raise Reject("malformed")
    validate(prot, False)
    h = cbor2.loads(prot)
    if type(h) is not dict:
        raise Reject("malformed")
    if any(is_int(k) and k == 2 for k in h):
        raise Reject("unknown_critical")
    for k, v in h.items():
        if not is_int(k) or k not in (1, 4, 16):
            raise Reject("malformed")
        if k == 1 and not (is_int(v) and -I64_MAX <= v <= I64_MAX):
            raise Reject("malformed")
        if k == 4 and not (type(v) is bytes and 1 <= len(v) <= 64):
            raise Reject("malformed")
        if k == 16 and type(v) is not str:
            raise Reject("malformed")
    if set(h) != {1, 4, 16}:
        raise Reject("malformed")
    if h[16] != TYP:  # before the payload is read (§1.2)
        raise Reject("wrong_typ")
    validate(payload, False)
    p = cbor2.loads(payload)
    if type(p) is not dict:
        raise Reject("malformed")
    for k in p:
        if not ((is_int(k) and k in (1, 6)) or (type(k) is str and k in FIELDS)):
            raise Reject("unknown_field", repr(k))
    f = {FIELDS[k]: v for k, v in p.items()}
    for name, v in f.items():
        ok = {
            "iss": type(v) is str,
            "iat": is_int(v) and v >= 0,
            "version": is_int(v) and v >= 0,
            "users": type(v) is list and all(type(x) is str for x in v),
            "tokens": type(v) is dict and all(type(k) is bytes and len(k) == 16 and is_int(e) and e >= 0
                                             for k, e in v.items()),
            "watermarks": type(v) is dict and all(type(k) is str and is_int(t) and t >= 0
                                                 for k, t in v.items()),
            "ssh_keys": type(v) is list and all(type(x) is bytes and len(x) == 32 for x in v),
            "ssh_key_ids": type(v) is dict and all(type(k) is str and is_int(e) and e >= 0
                                                  for k, e in v.items()),
            "ssh_serials": type(v) is dict and all(
                type(ca) is bytes and type(m) is dict
                and all(is_int(n) and n >= 0 and is_int(e) and e >= 0 for n, e in m.items())
                for ca, m in v.items()),
        }[name]
        if not ok:
            raise Reject("malformed", name)
    for req in ("iss", "iat", "users", "tokens", "version", "watermarks"):
        if req not in f:
            raise Reject("missing_field", req)
    present_ssh = [n for n in SSH_FIELDS if n in f]
    for n, empty in (("ssh_keys", []), ("ssh_key_ids", {}), ("ssh_serials", {})):
        f.setdefault(n, empty)
    times = [f["iat"], *f["tokens"].values(), *f["watermarks"].values(),
             *f["ssh_key_ids"].values(), *(e for m in f["ssh_serials"].values() for e in m.values())]
    if (f["version"] < 1 or not f["iss"] or any(t > I64_MAX for t in times)
            or not all(valid_user(u) for u in [*f["users"], *f["watermarks"]])
            or not all(valid_key_id(k) for k in f["ssh_key_ids"])
            or not all(len(ca) == 51 and ca.startswith(ED25519_CA_PREFIX) and m and 0 not in m
                       for ca, m in f["ssh_serials"].items())):
        raise Reject("invalid_list")
    if f["users"] != sorted(set(f["users"]), key=canon_key):
        raise Reject("not_canonical", "users not sorted and unique")
    if f["ssh_keys"] != sorted(set(f["ssh_keys"])):
        raise Reject("not_canonical", "ssh_keys not sorted and unique")
    if any(not f[n] for n in present_ssh):
        raise Reject("not_canonical", "an SSH member present but empty")
    if cbor2.dumps(h, canonical=True) != prot or cbor2.dumps(p, canonical=True) != payload:
        raise Reject("not_canonical")
    return h, f, prot, payload, sig


def verify(text, keys, now):
    h, f, prot, payload, sig = decode(b64decode(text))
    verify_signature(h, prot, payload, sig, keys, now)
    return f


def outcome(text, keys, now):
    try:
        verify(text, keys, now)
        return "ok"
    except Reject as e:
        return e.code


def lookup(f, cti, sub, iat):
    if cti in f["tokens"]:
        return "token_id"
    if sub in f["users"]:
        return "user"
    t = f["watermarks"].get(sub)
    return "issued_before" if t is not None and iat < t else "not_revoked"


def krl(f):
    """The KRL of docs/revocation.md §3.1, from OpenSSH's PROTOCOL.krl."""
    def string(b):
        return struct.pack(">I", len(b)) + b

    def section(t, data):
        return bytes([t]) + string(data)

    out = b"SSHKRL\n\0" + struct.pack(">IQQQ", 1, f["version"], f["iat"], 0)
    out += string(b"") + string(f"jit revocation list version {f['version']}".encode())
    for ca in sorted(f["ssh_serials"], key=lambda b: (len(b), b)):
        serials = b"".join(struct.pack(">Q", n) for n in sorted(f["ssh_serials"][ca]))
        out += section(1, string(ca) + string(b"") + section(0x20, serials))
    ids = sorted(set(k.encode() for k in f["ssh_key_ids"]) | {c.hex().encode() for c in f["tokens"]})
    if ids:
        out += section(1, string(b"") + string(b"") + section(0x23, b"".join(string(i) for i in ids)))
    if f["ssh_keys"]:
        out += section(5, b"".join(string(k) for k in sorted(f["ssh_keys"])))
    return out


def host_outcome(state, raw, version):
    """docs/revocation.md §5 step 4, from the state file's line."""
    if state is None:
        return "ok"
    m = re.fullmatch(r"jit-revocation-state-v1 ([1-9][0-9]*) ([0-9a-f]{64})\n", state)
    if not m:
        return "revocation_state_unusable"
    have, have_hash = int(m.group(1)), m.group(2)
    h = subprocess.run(["b3sum", "--no-names"], input=raw, capture_output=True, check=True).stdout.decode().strip()
    if version < have:
        return "revocation_rollback"
    if version == have and h != have_hash:
        return "revocation_equivocation"
    return "ok"


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("vectors")
    v.add_argument("dir")
    one = sub.add_parser("list")
    one.add_argument("--trusted-keys", required=True)
    one.add_argument("--now", type=int, default=None)
    one.add_argument("file")
    k = sub.add_parser("krl")
    k.add_argument("--trusted-keys", required=True)
    k.add_argument("--now", type=int, default=None)
    k.add_argument("list")
    k.add_argument("out")
    a = ap.parse_args()
    if a.cmd == "krl":
        import time
        keys = parse_trusted_keys(open(a.trusted_keys, encoding="utf-8").read())
        try:
            f = verify(open(a.list, encoding="utf-8").read(), keys,
                       a.now if a.now is not None else int(time.time()))
        except Reject as e:
            print(json.dumps({"reason": e.code}))
            return 1
        with open(a.out, "wb") as o:
            o.write(krl(f))
        print(json.dumps({"reason": "ok"}))
        return 0
    if a.cmd == "list":
        import time
        keys = parse_trusted_keys(open(a.trusted_keys, encoding="utf-8").read())
        r = outcome(open(a.file, encoding="utf-8").read(), keys, a.now if a.now is not None else int(time.time()))
        print(json.dumps({"reason": r}))
        return 0 if r == "ok" else 1
    m = json.load(open(os.path.join(a.dir, "manifest.json"), encoding="utf-8"))
    keys = parse_trusted_keys(open(os.path.join(a.dir, m["trusted_keys"]), encoding="utf-8").read())
    bad = n = 0
    texts = {}
    for vec in m["vectors"]:
        text = open(os.path.join(a.dir, vec["file"]), encoding="utf-8").read()
        texts[vec["file"]] = text
        got = outcome(text, keys, vec["now"])
        n += 1
        if got != vec["expected"]:
            bad += 1
            print(f"MISMATCH {vec['file']}: expected {vec['expected']}, python says {got}")
    for case in m["host"]:
        text = texts[case["list"]]
        f = verify(text, keys, m["vectors"][0]["now"])
        got = host_outcome(case["state"], b64decode(text), f["version"])
        n += 1
        if got != case["expected"]:
            bad += 1
            print(f"MISMATCH host case {case['about']!r}: expected {case['expected']}, python says {got}")
    f = verify(texts["02-valid-entries.list"], keys, m["vectors"][0]["now"])
    for q in m["queries"]:
        got = lookup(f, bytes.fromhex(q["cti"]), q["sub"], q["iat"])
        n += 1
        if got != q["expected"]:
            bad += 1
            print(f"MISMATCH query {q['about']!r}: expected {q['expected']}, python says {got}")
    for case in m.get("krl", []):
        f = verify(texts[case["list"]], keys, m["vectors"][0]["now"])
        want = open(os.path.join(a.dir, case["krl_hex"]), encoding="utf-8").read().strip()
        n += 1
        if krl(f).hex() != want:
            bad += 1
            print(f"MISMATCH KRL of {case['list']}: python builds {krl(f).hex()}")
    print(f"python revocation verifier: {n - bad}/{n} outcomes agree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
