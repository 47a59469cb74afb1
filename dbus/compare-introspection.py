#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compare a reference introspection XML with what a service really exports.

Usage: compare-introspection.py REFERENCE.xml LIVE.xml   (either may be "-" for stdin)

LIVE is the reply of org.freedesktop.DBus.Introspectable.Introspect on one object, e.g.
  busctl --xml-interface introspect org.vfiod1 /org/vfiod1 > live.xml

Every interface in either file, except the standard org.freedesktop.DBus.* ones, must exist in
both with the same methods (argument names, types and directions, in order), properties (type,
access), signals and annotations. Documentation (comments, doc: elements, DocString annotations)
is ignored. A property without an EmitsChangedSignal annotation counts as "true", the D-Bus
default, because sd-bus writes no annotation for SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE.

Exit status: 0 identical, 1 differences (each printed on stdout), 2 usage or unreadable XML.
"""

import sys
import xml.etree.ElementTree as ET

STANDARD_PREFIX = "org.freedesktop.DBus."
EMITS = "org.freedesktop.DBus.Property.EmitsChangedSignal"


def is_doc_annotation(name):
    return name.startswith("org.gtk.GDBus.DocString")


def annotations(elem, defaults=None):
    result = dict(defaults or {})
    for a in elem.findall("annotation"):
        name = a.get("name", "")
        if not is_doc_annotation(name):
            result[name] = a.get("value", "")
    return result


def args(elem, default_direction):
    return [(a.get("name", ""), a.get("type", ""), a.get("direction", default_direction))
            for a in elem.findall("arg")]


def describe_interface(iface):
    """Reduce an <interface> element to comparable plain data, keyed by member kind and name."""
    members = {}
    for m in iface.findall("method"):
        members[("method", m.get("name"))] = {
            "args": args(m, "in"),
            "annotations": annotations(m),
        }
    for s in iface.findall("signal"):
        members[("signal", s.get("name"))] = {
            "args": args(s, "out"),
            "annotations": annotations(s),
        }
    for p in iface.findall("property"):
        members[("property", p.get("name"))] = {
            "type": p.get("type"),
            "access": p.get("access"),
            "annotations": annotations(p, {EMITS: "true"}),
        }
    return {"annotations": annotations(iface), "members": members}


def load(path):
    try:
        if path == "-":
            root = ET.fromstring(sys.stdin.read())
        else:
            root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"{path}: {e}", file=sys.stderr)
        sys.exit(2)
    if root.tag != "node":
        print(f"{path}: root element is <{root.tag}>, not <node>", file=sys.stderr)
        sys.exit(2)
    return {i.get("name"): describe_interface(i)
            for i in root.findall("interface")
            if not i.get("name", "").startswith(STANDARD_PREFIX)}


def fmt_args(a):
    return "(" + ", ".join(f"{d} {t} {n}" for n, t, d in a) + ")"


def compare(reference, live):
    diffs = []
    for name in sorted(set(reference) | set(live)):
        if name not in live:
            diffs.append(f"interface {name}: missing from the live object")
            continue
        if name not in reference:
            diffs.append(f"interface {name}: exported but not in the reference")
            continue
        ref, got = reference[name], live[name]
        if ref["annotations"] != got["annotations"]:
            diffs.append(f"interface {name}: annotations {got['annotations']}, "
                         f"reference {ref['annotations']}")
        for key in sorted(set(ref["members"]) | set(got["members"])):
            kind, member = key
            where = f"{name}.{member} ({kind})"
            if key not in got["members"]:
                diffs.append(f"{where}: missing from the live object")
                continue
            if key not in ref["members"]:
                diffs.append(f"{where}: exported but not in the reference")
                continue
            r, g = ref["members"][key], got["members"][key]
            if "args" in r and r["args"] != g["args"]:
                diffs.append(f"{where}: arguments {fmt_args(g['args'])}, "
                             f"reference {fmt_args(r['args'])}")
            for field in ("type", "access"):
                if field in r and r[field] != g[field]:
                    diffs.append(f"{where}: {field} {g[field]!r}, reference {r[field]!r}")
            if r["annotations"] != g["annotations"]:
                diffs.append(f"{where}: annotations {g['annotations']}, "
                             f"reference {r['annotations']}")
    return diffs


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    diffs = compare(load(argv[1]), load(argv[2]))
    for d in diffs:
        print(d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
