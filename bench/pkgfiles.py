#!/usr/bin/env python3
"""The files under DIR that the host's Debian packages PKG... own (`dpkg -L`),
with the byte-code Debian compiles for them at install time (py3compile
writes `__pycache__/NAME.cpython-XY*.pyc` beside each NAME.py; dpkg does not
list those). One path a line, sorted: the arguments of a template made of
the same packages a Docker image installs, whatever else the host has put in
DIR (another package's test suite, a -dev package's static library).
usage: pkgfiles.py DIR PKG..."""
import glob, os, subprocess, sys

top, pkgs = sys.argv[1].rstrip("/"), sys.argv[2:]
listed = subprocess.run(["dpkg", "-L", *pkgs], capture_output=True, text=True, check=True).stdout.split("\n")
out = set()
for p in listed:
    if not p.startswith(top + "/") or os.path.isdir(p) and not os.path.islink(p):
        continue
    if not os.path.lexists(p):
        continue
    out.add(p)
    if p.endswith(".py"):
        d, name = os.path.split(p)
        out.update(glob.glob(f"{d}/__pycache__/{glob.escape(name[:-3])}.cpython-*.pyc"))
if not out:
    sys.exit(f"pkgfiles: packages {' '.join(pkgs)} own no file under {top}")
print("\n".join(sorted(out)))
