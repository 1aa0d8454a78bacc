#!/usr/bin/env python3
"""Independent check of the SSH certificate vectors (docs/ssh-cert.md).

Reads docs/vectors/ssh/vectors.json; for every vector with a certificate,
parses the certificate's wire format (PROTOCOL.certkeys) by hand, verifies the
CA's Ed25519 signature with the `cryptography` package over the bytes before
the signature field, and compares every field with the vector's profile.
Tampered vectors must fail the signature check. Shares no code with jit-core
or the ssh-key crate. Then OpenSSH's own reader: `ssh-keygen -L` must print
the same key id, serial, principals, critical options and extensions for
every certificate, and refuse the tampered ones.

    verify_ssh_cert.py DIR     (exit 0: every vector as expected)
"""
import base64
import hashlib
import ipaddress
import json
import struct
import subprocess
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

KEY_FIELDS = {
    "ssh-ed25519-cert-v01@openssh.com": ["string"],
    "ecdsa-sha2-nistp256-cert-v01@openssh.com": ["string", "string"],
    "ecdsa-sha2-nistp384-cert-v01@openssh.com": ["string", "string"],
    "ecdsa-sha2-nistp521-cert-v01@openssh.com": ["string", "string"],
    "ssh-rsa-cert-v01@openssh.com": ["mpint", "mpint"],
}
PLAIN = {
    "ssh-ed25519-cert-v01@openssh.com": "ssh-ed25519",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com": "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com": "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com": "ecdsa-sha2-nistp521",
    "ssh-rsa-cert-v01@openssh.com": "ssh-rsa",
}


class Reader:
    def __init__(self, b):
        self.b, self.i = b, 0

    def u32(self):
        v = struct.unpack(">I", self.b[self.i:self.i + 4])[0]
        self.i += 4
        return v

    def u64(self):
        v = struct.unpack(">Q", self.b[self.i:self.i + 8])[0]
        self.i += 8
        return v

    def string(self):
        n = self.u32()
        if self.i + n > len(self.b):
            raise ValueError("string past the end")
        v = self.b[self.i:self.i + n]
        self.i += n
        return v


def ssh_string(b):
    return struct.pack(">I", len(b)) + b


def fingerprint(blob):
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def options(blob):
    r, out = Reader(blob), {}
    while r.i < len(blob):
        name = r.string().decode()
        data = r.string()
        out[name] = Reader(data).string().decode() if data else ""
    return out


def parse(text):
    algo, b64 = text.split()[:2]
    raw = base64.b64decode(b64, validate=True)
    r = Reader(raw)
    if r.string().decode() != algo or algo not in KEY_FIELDS:
        raise ValueError(f"unexpected type {algo}")
    c = {"nonce": r.string()}
    start = r.i
    for _ in KEY_FIELDS[algo]:
        r.string()
    key_blob = ssh_string(PLAIN[algo].encode()) + raw[start:r.i]
    c["key_fingerprint"] = fingerprint(key_blob)
    c["serial"] = r.u64()
    c["type"] = {1: "user", 2: "host"}.get(r.u32(), "?")
    c["key_id"] = r.string().decode()
    pr = Reader(r.string())
    c["principals"] = []
    while pr.i < len(pr.b):
        c["principals"].append(pr.string().decode())
    c["valid_after"] = r.u64()
    c["valid_before"] = r.u64()
    c["critical_options"] = options(r.string())
    c["extensions"] = sorted(options(r.string()).keys())
    if r.string() != b"":
        raise ValueError("reserved field not empty")
    c["ca_blob"] = r.string()
    signed = raw[:r.i]
    sig = Reader(r.string())
    if r.i != len(raw):
        raise ValueError("trailing bytes")
    if sig.string() != b"ssh-ed25519":
        raise ValueError("not an Ed25519 signature")
    c["sig"] = sig.string()
    c["signed"] = signed
    return c


def source_address_fault(s):
    """Why `s` is not a source-address jit signs (docs/ssh-cert.md §2.4), or None.

    Its own reading of the rule, with the ipaddress module: 1 to 32
    comma-separated addresses or CIDR blocks, the prefix digits only without a
    leading zero, at most the family's width, not /0, and no host bits set
    (sshd refuses a certificate whose block has any: addr_pton_cidr)."""
    entries = s.split(",")
    if not s or len(entries) > 32:
        return "empty or over 32 entries"
    for e in entries:
        addr, slash, prefix = e.partition("/")
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return f"{e}: not an address"
        if addr != addr.strip() or "%" in addr:
            return f"{e}: not an address"
        if not slash:
            continue
        if not (prefix.isascii() and prefix.isdigit()) or (len(prefix) > 1 and prefix[0] == "0"):
            return f"{e}: bad prefix"
        n = int(prefix)
        if n > ip.max_prefixlen:
            return f"{e}: prefix over the family's width"
        if n == 0:
            return f"{e}: allows every address"
        try:
            ipaddress.ip_network(e, strict=True)
        except ValueError:
            return f"{e}: host bits set"
    return None


def ca_key(line):
    r = Reader(base64.b64decode(line.split()[1]))
    if r.string() != b"ssh-ed25519":
        raise ValueError("CA is not Ed25519")
    return r.string()


def keygen_l(path):
    """(ok, fields) of `ssh-keygen -L -f path`."""
    r = subprocess.run(["ssh-keygen", "-L", "-f", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        return False, None
    f = {"principals": [], "critical_options": {}, "extensions": []}
    section = None
    for line in r.stdout.splitlines()[1:]:
        t = line.strip()
        if line.startswith(" " * 16):  # an item of the section above
            if section == "principals":
                f["principals"].append(t)
            elif section == "critical_options":
                k, _, v = t.partition(" ")
                f["critical_options"][k] = v
            elif section == "extensions":
                f["extensions"].append(t)
            continue
        name, _, value = t.partition(":")
        value = value.strip()
        section = {"Principals": "principals", "Critical Options": "critical_options",
                   "Extensions": "extensions"}.get(name)
        if name == "Key ID":
            f["key_id"] = value.strip('"')
        elif name == "Serial":
            f["serial"] = int(value)
        elif name == "Type":
            f["type"] = "user" if value.endswith(" user certificate") else value
    return True, f


def main():
    d = Path(sys.argv[1])
    m = json.loads((d / "vectors.json").read_text())
    ca = ca_key((d / m["ca"]).read_text())
    ca_blob = ssh_string(b"ssh-ed25519") + ssh_string(ca)
    certs = refused = sa_checked = 0
    for v in m["vectors"]:
        # source-address: the same decision as the profile, reached here on
        # its own (the vectors that set one fail no earlier rule).
        sa = v.get("request", {}).get("source_address")
        if sa is not None:
            fault = source_address_fault(sa)
            if v["expected"] == "ok" and fault is not None:
                sys.exit(f"{v['name']}: accepted with source-address {sa!r}, here refused: {fault}")
            if v["expected"] == "ssh_bad_source_address" and fault is None:
                sys.exit(f"{v['name']}: refused for source-address {sa!r}, here accepted")
            if v["expected"] not in ("ok", "ssh_bad_source_address"):
                sys.exit(f"{v['name']}: a source-address vector refused for {v['expected']}")
            sa_checked += 1
        if "certificate" not in v:
            refused += 1
            continue
        c = parse((d / v["certificate"]).read_text())
        ok = c["ca_blob"] == ca_blob
        try:
            Ed25519PublicKey.from_public_bytes(ca).verify(c["sig"], c["signed"])
        except InvalidSignature:
            ok = False
        kg_ok, kg = keygen_l(d / v["certificate"])
        if v["expected"] == "bad_signature":
            if ok:
                sys.exit(f"{v['name']}: a tampered certificate verifies")
            if kg_ok:
                sys.exit(f"{v['name']}: ssh-keygen -L reads a tampered certificate")
            continue
        if not kg_ok:
            sys.exit(f"{v['name']}: ssh-keygen -L refuses the certificate")
        if not ok:
            sys.exit(f"{v['name']}: the CA signature does not verify")
        p = v["profile"]
        crit = {k: x for k, x in p["critical_options"].items() if x is not None}
        got = {k: c[k] for k in ("type", "key_fingerprint", "serial", "key_id", "principals",
                                 "valid_after", "valid_before", "extensions")}
        want = {k: p[k] for k in got}
        if got != want or c["critical_options"] != crit:
            sys.exit(f"{v['name']}: fields differ: {got} {c['critical_options']} != {want} {crit}")
        if c["ca_blob"] != ca_blob or fingerprint(ca_blob) != p["ca_fingerprint"]:
            sys.exit(f"{v['name']}: CA fingerprint differs")
        if not c["principals"]:
            sys.exit(f"{v['name']}: no principals")
        want_kg = {"type": "user", "key_id": p["key_id"], "serial": p["serial"],
                   "principals": sorted(p["principals"]), "critical_options": crit,
                   "extensions": p["extensions"]}
        kg["principals"] = sorted(kg["principals"])
        if kg != want_kg:
            sys.exit(f"{v['name']}: ssh-keygen -L says {kg}, the vector {want_kg}")
        certs += 1
    print(f"ssh vectors: {certs} certificates verified and compared (and by ssh-keygen -L), "
          f"{refused} refusals ({sa_checked} source-address decisions agree), "
          "tampered ones rejected")


if __name__ == "__main__":
    main()
