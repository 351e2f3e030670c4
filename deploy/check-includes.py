#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The layering rule of docs/architecture.md, checked over #include lines.

The object service is the only door to metadata and storage: a front-end
file (every file in gateway/ except the object service's own files and the
wiring in main.c) must not reach a meta/ or storage/ header, directly or
through the project headers it includes. gateway/objsvc.h is held to the
same rule, so including it never opens the door.

    usage: deploy/check-includes.py [ROOT]     (ROOT: the repository)

Prints each violation as `file: includes X (via a -> b -> X)` and exits 1
if there is any, 0 otherwise. Run by `meson test --suite lint`.
"""
import os
import re
import sys

# The object service's own files may use meta/ and storage/; main.c wires
# the stores to the service (it maps the parsed settings onto storage's
# types). Everything else in gateway/ is a front end.
DOOR = {"gateway/objsvc.c", "gateway/objsvc_records.c", "gateway/objsvc_records.h"}
WIRING = {"gateway/main.c"}
FORBIDDEN = ("meta/", "storage/")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def includes(root, path, cache):
    if path not in cache:
        try:
            with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
                cache[path] = INCLUDE.findall(f.read())
        except OSError:
            cache[path] = []
    return cache[path]


def forbidden_reach(root, start, cache):
    """(header, chain) of the first meta/ or storage/ header start reaches."""
    seen = {start}
    stack = [(start, [start])]
    while stack:
        path, chain = stack.pop()
        for inc in includes(root, path, cache):
            if inc.startswith(FORBIDDEN):
                return inc, chain + [inc]
            if inc in seen or not os.path.exists(os.path.join(root, inc)):
                continue  # system header or one seen before
            seen.add(inc)
            stack.append((inc, chain + [inc]))
    return None


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    gw = os.path.join(root, "gateway")
    if not os.path.isdir(gw):
        print(f"check-includes: no gateway/ under {root}", file=sys.stderr)
        return 2
    cache = {}
    bad = checked = 0
    for name in sorted(os.listdir(gw)):
        if not name.endswith((".c", ".h")):
            continue
        path = "gateway/" + name
        if path in DOOR or path in WIRING:
            continue
        checked += 1
        hit = forbidden_reach(root, path, cache)
        if hit:
            inc, chain = hit
            print(f"{path}: includes {inc} (via {' -> '.join(chain)})")
            bad += 1
    if bad:
        print(f"check-includes: {bad} violation(s) of the layering rule "
              "(front ends reach meta/ and storage/ only through gateway/objsvc.h)")
        return 1
    print(f"check-includes: {checked} front-end files keep out of meta/ and storage/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
