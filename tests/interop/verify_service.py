#!/usr/bin/env python3
"""Independent decoder of the jit signing service protocol v1, written from
docs/signer-service.md alone: reaches the expected outcome on every frame of
docs/vectors/service/vectors.json, or exits 1 naming the first that differs.

Usage: verify_service.py docs/vectors/service/vectors.json
"""
import json
import re
import sys

MAX_FRAME = 65536
OPS = {"request", "fetch", "requests", "approve", "reject", "status"}
# op -> (members it takes, members it needs)
TAKES = {
    "request": ({"ask", "collect"}, {"ask"}),
    "fetch": ({"id", "wait"}, {"id"}),
    "requests": (set(), set()),
    "approve": ({"id"}, {"id"}),
    "reject": ({"id", "reason"}, {"id", "reason"}),
    "status": ({"id"}, set()),
}
ASK = {
    "host_groups": "strlist", "commands": "strlist", "shell": "bool",
    "run_as": "strlist", "run_as_groups": "strlist", "ttl": "u64",
    "not_before": "i64?", "reason": "str", "ticket": "str?", "max_uses": "u32?",
}
# ask.ssh (optional): key needed; the others null or absent.
SSH = {"key": "str", "logins": "strlist?", "extensions": "strlist?",
       "force_command": "str?", "source_address": "str?"}
ID = re.compile(r"[0-9a-f]{32}")


class Refused(Exception):
    pass


def no_dups(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Refused("malformed")
    return dict(pairs)


def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def typed(kind, x):
    if kind.endswith("?"):
        return x is None or typed(kind[:-1], x)
    if kind == "strlist":
        return isinstance(x, list) and all(isinstance(s, str) for s in x)
    if kind == "bool":
        return isinstance(x, bool)
    if kind == "str":
        return isinstance(x, str)
    if kind == "u64":
        return is_int(x) and 0 <= x < 2**64
    if kind == "u32":
        return is_int(x) and 0 <= x < 2**32
    if kind == "i64":
        return is_int(x) and -(2**63) <= x < 2**63
    raise ValueError(kind)


def decode(frame):
    if len(frame) < 4:
        raise Refused("bad_frame")
    n = int.from_bytes(frame[:4], "big")
    if n == 0 or n > MAX_FRAME or len(frame) != 4 + n:
        raise Refused("bad_frame")
    try:
        text = frame[4:].decode("utf-8")
        obj = json.loads(text, object_pairs_hook=no_dups,
                         parse_constant=lambda c: (_ for _ in ()).throw(Refused("malformed")))
    except (UnicodeDecodeError, ValueError):
        raise Refused("malformed")
    if not isinstance(obj, dict):
        raise Refused("malformed")
    if "v" not in obj or not is_int(obj["v"]) or obj["v"] < 0:
        raise Refused("malformed")
    if obj["v"] != 1:
        raise Refused("unsupported_version")
    members = set(obj) - {"v", "op"}
    if members - {"id", "ask", "reason", "wait", "collect"}:
        raise Refused("malformed")
    if "op" in obj and obj["op"] not in OPS:
        raise Refused("malformed")
    for k, kind in (("id", "str"), ("reason", "str"), ("wait", "u64"), ("collect", "bool")):
        if k in obj and not typed(kind, obj[k]):
            raise Refused("malformed")
    if "ask" in obj:
        ask = obj["ask"]
        if not isinstance(ask, dict) or set(ask) - {"ssh"} != set(ASK):
            raise Refused("malformed")
        if not all(typed(kind, ask[k]) for k, kind in ASK.items()):
            raise Refused("malformed")
        if "ssh" in ask:
            ssh = ask["ssh"]
            if not isinstance(ssh, dict) or set(ssh) - set(SSH) or "key" not in ssh:
                raise Refused("malformed")
            if not all(typed(kind, ssh[k]) for k, kind in SSH.items() if k in ssh):
                raise Refused("malformed")
    if "op" not in obj:
        raise Refused("bad_call")
    takes, needs = TAKES[obj["op"]]
    if members - takes or needs - members:
        raise Refused("bad_call")
    if "id" in obj and not ID.fullmatch(obj["id"]):
        raise Refused("bad_call")
    if obj.get("wait", 0) > 900:
        raise Refused("bad_call")
    if "reason" in obj:
        r = obj["reason"]
        if not r.strip() or len(r.encode()) > 1024:
            raise Refused("bad_call")
    return obj


def main():
    doc = json.load(open(sys.argv[1]))
    n = 0
    for v in doc["vectors"]:
        want = v["expect"]
        try:
            got = {"ok": decode(bytes.fromhex(v["frame"]))}
            if "ok" in want and got["ok"].get("op") == "fetch":
                got["ok"].setdefault("wait", 0)
        except Refused as e:
            got = {"error": str(e)}
        if got != want:
            print(f"verify_service: {v['name']}: got {got}, expected {want}")
            return 1
        n += 1
    print(f"verify_service: {n} vectors agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
