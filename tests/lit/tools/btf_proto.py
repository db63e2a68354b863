#!/usr/bin/env python3
"""btf_proto.py OBJECT FUNC: prints FUNC's prototype from OBJECT's BTF, in
C-like words with the parameter names, e.g. `int (struct xdp_md * ctx)`,
resolved through bpftool's JSON dump of the BTF."""
import json
import subprocess
import sys

obj, func = sys.argv[1], sys.argv[2]
types = json.loads(subprocess.run(["bpftool", "-j", "btf", "dump", "file", obj], check=True,
                                  capture_output=True, text=True).stdout)["types"]
by_id = {t["id"]: t for t in types}


def name(type_id, depth=0):
    if type_id == 0:
        return "void"
    t = by_id[type_id]
    kind = t["kind"]
    if kind == "PTR":
        return name(t["type_id"], depth + 1) + " *"
    if kind in ("STRUCT", "UNION"):
        fields = "" if depth else ""
        return "%s %s%s" % (kind.lower(), t["name"], fields)
    if kind in ("TYPEDEF", "CONST", "VOLATILE"):
        return name(t["type_id"], depth)
    return t["name"]


def struct_layout(type_id):
    t = by_id[type_id]
    while t["kind"] in ("PTR", "TYPEDEF", "CONST"):
        t = by_id[t["type_id"]]
    if t["kind"] != "STRUCT":
        return ""
    return "{" + "; ".join("%s@%d" % (m["name"], m["bits_offset"]) for m in t["members"]) + "}"


for t in types:
    if t["kind"] == "FUNC" and t["name"] == func:
        proto = by_id[t["type_id"]]
        params = ", ".join("%s %s%s" % (name(p["type_id"]), p["name"], struct_layout(p["type_id"])) for p in proto["params"])
        print("%s (%s) linkage=%s" % (name(proto["ret_type_id"]), params, t.get("linkage", "?")))
        sys.exit(0)
sys.exit("no FUNC %s in %s" % (func, obj))
