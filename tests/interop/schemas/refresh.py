#!/usr/bin/env python3
"""Re-create the vendored OCSF and ECS schema files from the upstream repositories.

Usage (from a clone of each upstream repository):

    git clone https://github.com/ocsf/ocsf-schema
    git clone https://github.com/elastic/ecs
    python3 tests/interop/schemas/refresh.py --ocsf ocsf-schema --ocsf-tag 1.8.0 \
        --ecs ecs --ecs-tag v8.17.0

Files are read with `git show TAG:PATH`, so the clones may be on any branch
(a bare clone works too). Most files are copied byte for byte; two are
extracts, made here and nowhere else:

- ocsf-<ver>/dictionary.json: the upstream dictionary with `types` whole and
  `attributes` cut to the names that the vendored class, object and profile
  files use (each kept entry unchanged);
- ecs-<ver>/ecs_flat_event.yml: the entries of generated/ecs/ecs_flat.yml for
  event.kind, event.category, event.type and event.outcome (their allowed
  values), unchanged.

After a refresh to another version, change the version the exporter writes
(jit-core/src/export.rs) and the directory names the validator reads.
"""
import argparse
import json
import os
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))

OCSF_FILES = [
    "LICENSE",
    "NOTICE",
    "version.json",
    "categories.json",
    "events/base_event.json",
    "events/system/system.json",
    "events/system/process_activity.json",
    "events/system/event_log_activity.json",
    "events/iam/iam.json",
    "events/iam/authentication.json",
    "events/iam/user_access.json",
    "profiles/host.json",
] + [
    "objects/%s.json" % o
    for o in [
        "object", "_entity", "_resource", "metadata", "product", "user", "process",
        "process_entity", "file", "device", "endpoint", "actor", "service",
        "resource_details",
    ]
]

ECS_FILES = ["LICENSE.txt", "NOTICE.txt", "version", "generated/csv/fields.csv"]
ECS_ENUM_FIELDS = ["event.kind", "event.category", "event.type", "event.outcome"]


def show(repo, tag, path):
    return subprocess.run(
        ["git", "-C", repo, "show", "%s:%s" % (tag, path)],
        check=True, stdout=subprocess.PIPE,
    ).stdout


def commit_of(repo, tag):
    return subprocess.run(
        ["git", "-C", repo, "rev-list", "-n1", tag], check=True, stdout=subprocess.PIPE,
    ).stdout.decode().strip()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ocsf", required=True)
    ap.add_argument("--ocsf-tag", required=True)
    ap.add_argument("--ecs", required=True)
    ap.add_argument("--ecs-tag", required=True)
    a = ap.parse_args()

    over = os.path.join(HERE, "ocsf-" + a.ocsf_tag.lstrip("v"))
    used = set()
    for p in OCSF_FILES:
        data = show(a.ocsf, a.ocsf_tag, p)
        write(os.path.join(over, p), data)
        if p.endswith(".json") and p.split("/")[0] in ("events", "objects", "profiles"):
            used.update(json.loads(data).get("attributes", {}).keys())
    used.discard("$include")
    d = json.loads(show(a.ocsf, a.ocsf_tag, "dictionary.json"))
    d["attributes"] = {k: v for k, v in d["attributes"].items() if k in used}
    write(os.path.join(over, "dictionary.json"),
          (json.dumps(d, indent=2, ensure_ascii=False) + "\n").encode())

    ever = os.path.join(HERE, "ecs-" + a.ecs_tag.lstrip("v"))
    for p in ECS_FILES:
        write(os.path.join(ever, os.path.basename(p)), show(a.ecs, a.ecs_tag, p))
    flat = yaml.safe_load(show(a.ecs, a.ecs_tag, "generated/ecs/ecs_flat.yml"))
    sub = {k: flat[k] for k in ECS_ENUM_FIELDS}
    write(os.path.join(ever, "ecs_flat_event.yml"),
          yaml.safe_dump(sub, sort_keys=True, allow_unicode=True).encode())

    print("ocsf %s commit %s" % (a.ocsf_tag, commit_of(a.ocsf, a.ocsf_tag)))
    print("ecs %s commit %s" % (a.ecs_tag, commit_of(a.ecs, a.ecs_tag)))


if __name__ == "__main__":
    sys.exit(main())
