#!/usr/bin/python3
"""Independent validator of `jit-verify export` output (docs/export.md),
written from the published OCSF and ECS definitions vendored in
tests/interop/schemas/ (see its README), with only the standard library and
PyYAML.

  validate_siem.py ocsf FILE|-     every line: one OCSF 1.8.0 event
  validate_siem.py ecs FILE|-      every line: one ECS 8.17.0 document

Prints one line per problem (`LINE: path: what`) and a summary; exit 0 if
every line is valid, 1 if any is not (or the input is empty), 2 if the
schema files are missing or unreadable.

OCSF, for each event: the class (class_uid) is one of the vendored classes
and its category_uid, type_uid (class_uid * 100 + activity_id) and captions
(class_name, category_name, activity_name, type_name, severity, status, ...)
agree with the schema; every attribute, at any depth, is defined for its
class or object (inherited through `extends`; a profile's attributes only when
metadata.profiles names the profile); each value has the attribute's type
(string, integer, long, timestamp in milliseconds, boolean, object, array);
every enum id is one the schema lists; no attribute is deprecated; every
required attribute is present and
the classes' and objects' at_least_one / just_one constraints hold;
metadata.version is the vendored release. Below `unmapped` only the jit fields
of docs/export.md (JIT_FIELDS) are allowed, with their types.

ECS, for each document: every leaf field is an ECS field of the vendored
release (fields.csv) or one of the jit fields, with the field's type (keyword
and text kinds: string; long: integer; date: ISO 8601 string; boolean), an
array exactly where ECS normalises the field to one; event.kind, category,
type and outcome take allowed values and each event.type is one the event's
categories expect; @timestamp and ecs.version (the vendored release) are
present.
"""
import csv
import json
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = os.path.join(HERE, "schemas")
OCSF_DIR = os.path.join(SCHEMAS, "ocsf-1.8.0")
ECS_DIR = os.path.join(SCHEMAS, "ecs-8.17.0")

# The jit extension fields (docs/export.md, "The jit fields"): OCSF
# `unmapped.jit.*`, ECS `jit.*`. Types: str, int, bool, float (any number),
# [str] (array of strings), dict (object with the members given).
JIT_FIELDS = {
    "kind": str, "log_id": str, "seq": int, "hash": str, "verified": bool, "time": str,
    "token_id": str, "issuer": str, "kid": str, "token_reason": str, "ticket": str,
    "approver": str, "requester": str, "rule": str, "reason_code": str, "message": str, "allowed": bool,
    "break_glass": bool, "run_as_group": str, "tty": str, "pid": int,
    "argv_truncated": {"argc": int, "bytes": int, "blake3": str},
    "session_secs": float, "found": str, "discarded_bytes": int, "discarded_blake3": str,
    "host_groups": [str], "commands": [str], "run_as": [str], "run_as_groups": [str],
    "shell": bool, "iat": int, "nbf": int, "exp": int, "max_uses": int, "requested": int,
    "revocation_version": int,
    "serial": str, "principals": [str], "key_fingerprint": str, "ca_fingerprint": str,
    "source_address": str, "extensions": [str],
    "revoked": {"by": str, "token_id": str, "owner": (str, type(None)), "user": str,
                "before": int, "before_time": str,
                "ca": str, "serial": str, "key_id": str, "key_fingerprint": str},
    # OCSF only: no attribute of its own there (ECS has process.args, process.executable).
    "argv": [str], "command": str,
}
JIT_REQUIRED = ["kind", "log_id", "seq", "hash", "verified", "time", "break_glass"]


class Problems:
    def __init__(self):
        self.n = 0

    def add(self, line, path, what):
        self.n += 1
        print("%s: %s: %s" % (line, path or "(event)", what))


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_jit(p, line, path, v, spec=None):
    spec = JIT_FIELDS if spec is None else spec
    if not isinstance(v, dict):
        p.add(line, path, "not an object")
        return
    for k, x in v.items():
        if k not in spec:
            p.add(line, "%s.%s" % (path, k), "not a jit field of docs/export.md")
            continue
        t = spec[k]
        where = "%s.%s" % (path, k)
        if isinstance(t, dict):
            check_jit(p, line, where, x, t)
        elif isinstance(t, list):
            if not isinstance(x, list) or not all(isinstance(e, t[0]) for e in x):
                p.add(line, where, "not an array of strings")
        elif t is int:
            if not is_int(x):
                p.add(line, where, "not an integer: %r" % (x,))
        elif t is float:
            if not (is_int(x) or isinstance(x, float)):
                p.add(line, where, "not a number: %r" % (x,))
        elif t is bool:
            if not isinstance(x, bool):
                p.add(line, where, "not a boolean: %r" % (x,))
        elif not isinstance(x, t):
            p.add(line, where, "wrong type: %r" % (x,))
    if spec is JIT_FIELDS:
        for k in JIT_REQUIRED:
            if k not in v:
                p.add(line, path, "jit field %s missing" % k)


# ---------------------------------------------------------------- OCSF

def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def merge_attr(base, over):
    out = dict(base)
    for k, v in over.items():
        if k == "enum" and isinstance(out.get("enum"), dict):
            e = dict(out["enum"])
            e.update(v)
            out["enum"] = e
        else:
            out[k] = v
    return out


class Ocsf:
    def __init__(self, root):
        self.version = load_json(os.path.join(root, "version.json"))["version"]
        d = load_json(os.path.join(root, "dictionary.json"))
        self.dict = d["attributes"]
        self.types = d["types"]["attributes"]
        cats = load_json(os.path.join(root, "categories.json"))["attributes"]
        self.categories = {name: (c["uid"], c["caption"]) for name, c in cats.items()}
        self.raw_classes = {}
        for dirpath, _, files in os.walk(os.path.join(root, "events")):
            for fn in files:
                c = load_json(os.path.join(dirpath, fn))
                self.raw_classes[c["name"]] = c
        self.raw_objects = {}
        for fn in os.listdir(os.path.join(root, "objects")):
            o = load_json(os.path.join(root, "objects", fn))
            self.raw_objects[o["name"]] = o
        self.profiles = {}
        for fn in os.listdir(os.path.join(root, "profiles")):
            pr = load_json(os.path.join(root, "profiles", fn))
            self.profiles[pr["name"]] = pr
        self.classes = {}
        for name, c in self.raw_classes.items():
            if "uid" not in c:
                continue
            r = self.resolve(self.raw_classes, name)
            cat_uid, cat_caption = self.categories[r["category"]]
            r["category_uid"], r["category_caption"] = cat_uid, cat_caption
            r["class_uid"] = cat_uid * 1000 + c["uid"]
            # As the OCSF schema compiler does: a class's class_uid and
            # category_uid enums are its own ids (the source files list 0 only).
            a = r["attributes"]
            a["class_uid"] = dict(a["class_uid"], enum={str(r["class_uid"]): {"caption": r["caption"]}})
            a["category_uid"] = dict(a["category_uid"], enum={str(cat_uid): {"caption": cat_caption}})
            self.classes[r["class_uid"]] = r
        self.objects = {n: self.resolve(self.raw_objects, n) for n in self.raw_objects}

    def resolve(self, table, name):
        """Attributes, constraints and category of `name` with those it extends."""
        chain = []
        n = name
        while n is not None:
            if n not in table:
                raise KeyError("%s extends %s, which is not vendored" % (chain[-1]["name"], n))
            chain.append(table[n])
            n = table[n].get("extends")
        attrs, constraints, category, caption, profiles = {}, {}, None, None, []
        for c in reversed(chain):
            for a, v in c.get("attributes", {}).items():
                if a == "$include":
                    continue
                attrs[a] = merge_attr(attrs.get(a, {}), v)
            if "constraints" in c:
                constraints = c["constraints"]
            category = c.get("category", category)
            caption = c.get("caption", caption)
            profiles += c.get("profiles", [])
        return {"name": name, "attributes": attrs, "constraints": constraints,
                "category": category, "caption": caption, "profiles": profiles}

    def attr_def(self, scope, name, profiles):
        """The merged definition of attribute `name` in class/object `scope`."""
        a = scope["attributes"].get(name)
        if a is None:
            for pn in profiles:
                if pn in scope["profiles"] and pn in self.profiles:
                    pa = self.profiles[pn]["attributes"].get(name)
                    if pa is not None:
                        a = pa
                        break
        if a is None:
            return None
        base = self.dict.get(name)
        if base is None:
            raise KeyError("attribute %s is not in the vendored dictionary" % name)
        return merge_attr(base, a)

    def base_type(self, t):
        seen = 0
        while t in self.types and self.types[t].get("type") and seen < 8:
            t = self.types[t]["type"]
            seen += 1
        return t

    def check_value(self, p, line, path, d, v, profiles):
        t = d.get("type")
        if d.get("is_array"):
            if not isinstance(v, list):
                p.add(line, path, "must be an array (is_array)")
                return
            for i, e in enumerate(v):
                self.check_scalar(p, line, "%s[%d]" % (path, i), d, t, e, profiles)
        else:
            if isinstance(v, list):
                p.add(line, path, "must not be an array")
                return
            self.check_scalar(p, line, path, d, t, v, profiles)

    def check_scalar(self, p, line, path, d, t, v, profiles):
        if t == "object":
            if not isinstance(v, dict):
                p.add(line, path, "must be an object")
            elif path.split(".")[-1] == "unmapped":
                for k, x in v.items():
                    if k != "jit":
                        p.add(line, "%s.%s" % (path, k), "only unmapped.jit is produced")
                    else:
                        check_jit(p, line, path + ".jit", x)
            return
        if t in self.raw_objects:
            self.check_object(p, line, path, t, v, profiles)
            return
        if t not in self.types:
            p.add(line, path, "type %s is neither a vendored object nor a dictionary type" % t)
            return
        b = self.base_type(t)
        ok = {
            "string_t": lambda x: isinstance(x, str),
            "integer_t": is_int,
            "long_t": is_int,
            "float_t": lambda x: is_int(x) or isinstance(x, float),
            "boolean_t": lambda x: isinstance(x, bool),
            "json_t": lambda x: True,
        }.get(b)
        if ok is None:
            p.add(line, path, "base type %s not handled by this validator" % b)
            return
        if not ok(v):
            p.add(line, path, "%r is not of type %s (%s)" % (v, t, b))
            return
        if t == "timestamp_t" and not (10**12 <= v < 10**14):
            p.add(line, path, "%r is not a time in milliseconds since the epoch" % v)
        enum = d.get("enum")
        if enum and str(v) not in enum:
            p.add(line, path, "%r is not one of the enum ids %s" % (v, sorted(enum, key=int)))

    def check_attrs(self, p, line, path, scope, v, profiles, what):
        for k, x in v.items():
            where = "%s.%s" % (path, k) if path else k
            d = self.attr_def(scope, k, profiles)
            if d is None:
                p.add(line, where, "not an attribute of OCSF %s %s" % (what, scope["name"]))
                continue
            if "@deprecated" in d:
                p.add(line, where, "deprecated in OCSF %s: %s" % (self.version, d["@deprecated"].get("message", "")))
            self.check_value(p, line, where, d, x, profiles)
            sib = d.get("sibling")
            enum = d.get("enum")
            if sib and enum and sib in v and str(x) in enum and str(x) != "99":
                if v[sib] != enum[str(x)]["caption"]:
                    p.add(line, "%s.%s" % (path, sib) if path else sib,
                          "%r is not the caption of %s %s (%r)" % (v[sib], k, x, enum[str(x)]["caption"]))
        for k, a in scope["attributes"].items():
            if a.get("requirement") == "required" and k not in v:
                p.add(line, path or "(event)", "required attribute %s missing (%s %s)" % (k, what, scope["name"]))
        c = scope["constraints"] or {}
        if "at_least_one" in c and not any(k in v for k in c["at_least_one"]):
            p.add(line, path or "(event)", "needs at least one of %s" % c["at_least_one"])
        if "just_one" in c and sum(k in v for k in c["just_one"]) != 1:
            p.add(line, path or "(event)", "needs exactly one of %s" % c["just_one"])

    def check_object(self, p, line, path, name, v, profiles):
        if not isinstance(v, dict):
            p.add(line, path, "must be an object (%s)" % name)
            return
        self.check_attrs(p, line, path, self.objects[name], v, [], "object")

    def check_event(self, p, line, e):
        if not isinstance(e, dict):
            p.add(line, None, "not a JSON object")
            return
        cu = e.get("class_uid")
        if cu not in self.classes:
            p.add(line, "class_uid", "%r is not a vendored OCSF %s class" % (cu, self.version))
            return
        c = self.classes[cu]
        profiles = (e.get("metadata") or {}).get("profiles", [])
        for pn in profiles if isinstance(profiles, list) else []:
            if pn not in self.profiles:
                p.add(line, "metadata.profiles", "profile %r is not vendored" % pn)
        self.check_attrs(p, line, "", c, e, profiles, "class")
        if e.get("category_uid") != c["category_uid"]:
            p.add(line, "category_uid", "%r, the class is in category %d" % (e.get("category_uid"), c["category_uid"]))
        if "category_name" in e and e["category_name"] != c["category_caption"]:
            p.add(line, "category_name", "%r is not %r" % (e["category_name"], c["category_caption"]))
        if "class_name" in e and e["class_name"] != c["caption"]:
            p.add(line, "class_name", "%r is not %r" % (e["class_name"], c["caption"]))
        act = e.get("activity_id")
        if is_int(cu) and is_int(act) and e.get("type_uid") != cu * 100 + act:
            p.add(line, "type_uid", "%r is not class_uid * 100 + activity_id" % e.get("type_uid"))
        enum = c["attributes"].get("activity_id", {}).get("enum", {})
        if "type_name" in e and str(act) in enum and act != 99:
            want = "%s: %s" % (c["caption"], enum[str(act)]["caption"])
            if e["type_name"] != want:
                p.add(line, "type_name", "%r is not %r" % (e["type_name"], want))
        md = e.get("metadata") or {}
        if md.get("version") != self.version:
            p.add(line, "metadata.version", "%r is not the vendored release %s" % (md.get("version"), self.version))


# ---------------------------------------------------------------- ECS

STRINGS = {"keyword", "constant_keyword", "wildcard", "match_only_text", "text", "ip", "version"}
INTS = {"long", "integer", "short", "byte", "unsigned_long"}
FLOATS = {"float", "half_float", "scaled_float", "double"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


class Ecs:
    def __init__(self, root):
        with open(os.path.join(root, "version"), encoding="utf-8") as f:
            self.version = f.read().strip()
        self.fields = {}
        with open(os.path.join(root, "fields.csv"), encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if row["ECS_Version"] != self.version:
                    raise ValueError("fields.csv is not ECS %s" % self.version)
                norm = [x for x in row["Normalization"].split(",") if x]
                self.fields[row["Field"]] = (row["Type"], norm)
        with open(os.path.join(root, "ecs_flat_event.yml"), encoding="utf-8") as f:
            flat = yaml.safe_load(f)
        self.allowed = {k: {a["name"]: a.get("expected_event_types") for a in v["allowed_values"]}
                        for k, v in flat.items()}
        if any(k == "jit" or k.startswith("jit.") for k in self.fields):
            raise ValueError("ECS defines jit.*: the custom field set would collide")

    def check_leaf(self, p, line, path, v):
        if path not in self.fields:
            p.add(line, path, "not an ECS %s field" % self.version)
            return
        t, norm = self.fields[path]
        if t in ("object", "flattened", "nested"):
            p.add(line, path, "an ECS %s field: must be an object" % t)
            return
        if "array" in norm:
            if not isinstance(v, list):
                p.add(line, path, "ECS normalises this field to an array")
                return
            vals = v
        else:
            if isinstance(v, list):
                p.add(line, path, "not an array field in ECS")
                return
            vals = [v]
        for x in vals:
            if t in STRINGS:
                ok = isinstance(x, str)
            elif t in INTS:
                ok = is_int(x)
            elif t in FLOATS:
                ok = is_int(x) or isinstance(x, float)
            elif t == "boolean":
                ok = isinstance(x, bool)
            elif t == "date":
                ok = isinstance(x, str) and DATE.match(x) is not None
            else:
                p.add(line, path, "ECS type %s not handled by this validator" % t)
                return
            if not ok:
                p.add(line, path, "%r is not of ECS type %s" % (x, t))
        if path in self.allowed:
            for x in vals:
                if x not in self.allowed[path]:
                    p.add(line, path, "%r is not an allowed value (%s)" % (x, sorted(self.allowed[path])))

    def walk(self, p, line, prefix, v):
        for k, x in v.items():
            path = prefix + k
            if path == "jit":
                check_jit(p, line, "jit", x)
            elif isinstance(x, dict):
                if path in self.fields and self.fields[path][0] in ("object", "flattened", "nested"):
                    continue
                if path in self.fields:
                    p.add(line, path, "an ECS %s field, not an object" % self.fields[path][0])
                    continue
                self.walk(p, line, path + ".", x)
            else:
                self.check_leaf(p, line, path, x)

    def check_event(self, p, line, e):
        if not isinstance(e, dict):
            p.add(line, None, "not a JSON object")
            return
        self.walk(p, line, "", e)
        if "@timestamp" not in e:
            p.add(line, "@timestamp", "missing")
        if (e.get("ecs") or {}).get("version") != self.version:
            p.add(line, "ecs.version", "not the vendored release %s" % self.version)
        ev = e.get("event") or {}
        cats, types = ev.get("category", []), ev.get("type", [])
        if types and not cats:
            p.add(line, "event.type", "given without event.category")
        if isinstance(cats, list) and isinstance(types, list):
            expected = set()
            for c in cats:
                expected.update(self.allowed["event.category"].get(c) or [])
            for t in types:
                if cats and t not in expected:
                    p.add(line, "event.type", "%r is not expected with categories %s" % (t, cats))


def main(argv):
    if len(argv) != 3 or argv[1] not in ("ocsf", "ecs"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        schema = Ocsf(OCSF_DIR) if argv[1] == "ocsf" else Ecs(ECS_DIR)
    except (OSError, ValueError, KeyError) as e:
        print("validate_siem.py: cannot load the vendored schema: %s" % e, file=sys.stderr)
        return 2
    f = sys.stdin if argv[2] == "-" else open(argv[2], encoding="utf-8")
    p = Problems()
    n = 0
    for i, raw in enumerate(f, 1):
        n += 1
        try:
            e = json.loads(raw)
        except ValueError as err:
            p.add(i, None, "not JSON: %s" % err)
            continue
        schema.check_event(p, i, e)
    if n == 0:
        print("validate_siem.py: no events")
        return 1
    print("validate_siem.py %s %s: %d events, %d problems" % (argv[1], schema.version, n, p.n))
    return 1 if p.n else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
