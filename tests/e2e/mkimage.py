#!/usr/bin/python3
"""Build regular OCI images from host files, without Docker or a network
(tests/e2e/suite_images.sh): layers are tar+gzip written with tarfile, the
config and manifest are written by hand as the image spec describes, all in
an OCI image layout whose index.json tags each image "REPO:TAG".

  mkimage.py LAYOUT SCENARIO   (base, py, multi, multiarch, traversal,
                                device, symlink-escape, bad-digest, onbuild,
                                defaults, huge-entry, many-layers,
                                nginx-rootfs)

nginx-rootfs writes LAYOUT/nginx-rootfs.tar instead, a plain root
filesystem tar for a Dockerfile's ADD (Debian's nginx from the host).

Prints, for the image, the number of distinct store objects ((content,
executable) pairs) its layers hold: what a pull into an empty store adds.
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

LAYOUT, SCENARIO = sys.argv[1], sys.argv[2]
BLOBS = os.path.join(LAYOUT, "blobs", "sha256")
os.makedirs(BLOBS, exist_ok=True)
PY = os.path.realpath("/usr/bin/python3")


def blob(data):
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(BLOBS, h), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + h, "size": len(data)}


def ldd(paths):
    out = set()
    for p in paths:
        r = subprocess.run(["ldd", p], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            for w in line.split():
                if w.startswith("/"):
                    out.add(w)
    return out


def variant(info):
    """The store object a file becomes (src/lib/store.h): the default
    variants (root's, no set-ID bits, no capability, read bits for all and
    execute bits for all or none) by their x bit, others by their
    attributes."""
    cap = info.pax_headers.get("SCHILY.xattr.security.capability")
    x = info.mode & 0o111
    if (info.uid, info.gid, cap) == (0, 0, None) and not info.mode & 0o7000 \
            and info.mode & 0o444 == 0o444 and x in (0, 0o111):
        return bool(x)
    return "%04o-%d-%d-%s" % (info.mode & 0o7777, info.uid, info.gid, cap)


class Layer:
    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)
        self.names = set()
        self.objects = set()

    def add(self, info, data=None):
        if info.name in self.names:
            return
        self.names.add(info.name)
        info.mtime = info.mtime or 1700000000
        if info.isreg():
            info.size = len(data)
            self.objects.add((hashlib.sha256(data).hexdigest(), variant(info)))
            self.tar.addfile(info, io.BytesIO(data))
        else:
            self.tar.addfile(info)

    def dirs(self, path):
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            self.dir("/".join(parts[:i]))

    def dir(self, name, mode=0o755, uid=0):
        i = tarfile.TarInfo(name.strip("/"))
        i.type, i.mode, i.uid, i.gid = tarfile.DIRTYPE, mode, uid, uid
        self.add(i)

    def file(self, name, data, mode=0o644, uid=0, parents=True, xattrs=None):
        if parents:
            self.dirs(name)
        i = tarfile.TarInfo(name.strip("/"))
        i.mode, i.uid, i.gid = mode, uid, uid
        for k, v in (xattrs or {}).items():  # binary values, as GNU tar and Docker write them
            i.pax_headers["SCHILY.xattr." + k] = v.decode("utf-8", "surrogateescape")
        self.add(i, data)

    def symlink(self, name, target):
        self.dirs(name)
        i = tarfile.TarInfo(name.strip("/"))
        i.type, i.linkname, i.mode = tarfile.SYMTYPE, target, 0o777
        self.add(i)

    def hardlink(self, name, target):
        i = tarfile.TarInfo(name.strip("/"))
        i.type, i.linkname = tarfile.LNKTYPE, target.strip("/")
        self.add(i)

    def host(self, path):
        """A host file at its own path; symlinks (and the usr-merge links
        above it) as symlinks, plus what they point at."""
        parent = os.path.dirname(path)
        if os.path.realpath(parent) != parent:
            self.host_link(parent)
            path = os.path.join(os.path.realpath(parent), os.path.basename(path))
        if os.path.islink(path):
            self.symlink(path, os.readlink(path))
            self.host(os.path.join(os.path.dirname(path), os.readlink(path))
                      if not os.readlink(path).startswith("/") else os.readlink(path))
            return
        with open(path, "rb") as f:
            data = f.read()
        st = os.stat(path)
        i = tarfile.TarInfo(path.strip("/"))
        self.dirs(path)
        i.mode, i.mtime = st.st_mode & 0o7777, int(st.st_mtime)
        self.add(i, data)

    def host_link(self, path):
        """Every symlink among path and its ancestors (/lib -> usr/lib)."""
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            p = "/" + "/".join(parts[:i])
            if os.path.islink(p):
                self.symlink(p, os.readlink(p))

    def close(self):
        self.tar.close()
        return raw_layer(self.buf.getvalue())


class RawLayer:
    """A layer of given tar bytes (hostile input)."""
    def __init__(self, raw):
        self.raw, self.objects = raw, set()

    def close(self):
        return raw_layer(self.raw)


def raw_layer(raw):
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
        g.write(raw)
    d = blob(gz.getvalue())
    d["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    return d, "sha256:" + hashlib.sha256(raw).hexdigest()


TOOLS = ["/bin/sh", "/bin/dash", "/bin/cat", "/bin/ls", "/bin/echo", "/usr/bin/stat",
         "/bin/readlink", "/usr/bin/id", "/usr/bin/env", "/usr/bin/head", "/bin/sleep", "/bin/mkdir", "/bin/rm", "/bin/ln",
         "/usr/bin/uniq", "/usr/bin/wc"]


def base_layer():
    lay = Layer()
    for d in ("tmp",):
        lay.dir(d, 0o1777)
    lay.dir("etc")
    lay.file("etc/os-release", b"NAME=reg-e2e\n")
    for p in TOOLS + sorted(ldd([os.path.realpath(t) for t in TOOLS])):
        lay.host(p)
    return lay


def py_layer():
    lay = Layer()
    r = subprocess.run([PY, "-I", "-S", "-c",
                        "import json, sys; print('\\n'.join(sorted(m.__file__ for m in "
                        "list(sys.modules.values()) if getattr(m, '__file__', None))))"],
                       capture_output=True, text=True, check=True)
    files = [PY] + r.stdout.split() + sorted(ldd([PY]))
    enc = os.path.join(os.path.dirname(os.__file__), "encodings")
    files += [os.__file__]
    files += [os.path.join(enc, f) for f in sorted(os.listdir(enc)) if f.endswith(".py")]
    for p in files:
        lay.host(p)
    return lay


def image(repo_tag, layers, config=None, index_entry=None, write=True):
    descs, diffs, objects = [], [], set()
    for lay in layers:
        objects |= lay.objects
        d, diff = lay.close()
        descs.append(d)
        diffs.append(diff)
    cfg = {"architecture": "amd64", "os": "linux", "config": config or {},
           "rootfs": {"type": "layers", "diff_ids": diffs}}
    c = blob(json.dumps(cfg).encode())
    c["mediaType"] = "application/vnd.oci.image.config.v1+json"
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": c, "layers": descs}).encode()
    md = blob(m)
    md["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    if write:
        tag(repo_tag, md)
    print(len(objects))
    return md


def tag(repo_tag, desc):
    idx_path = os.path.join(LAYOUT, "index.json")
    idx = json.load(open(idx_path)) if os.path.exists(idx_path) else {"schemaVersion": 2,
                                                                      "manifests": []}
    idx["manifests"] = [e for e in idx["manifests"]
                        if e.get("annotations", {}).get("org.opencontainers.image.ref.name")
                        != repo_tag]
    e = dict(desc)
    e["annotations"] = {"org.opencontainers.image.ref.name": repo_tag}
    idx["manifests"].append(e)
    with open(os.path.join(LAYOUT, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(idx_path, "w") as f:
        json.dump(idx, f)


PY_CONFIG = {"Entrypoint": [PY, "-I", "-S"], "Cmd": ["-c", "print('hello from an image')"],
             "Env": ["PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1", "LANG=C.UTF-8"],
             "ExposedPorts": {"8080/tcp": {}}, "StopSignal": "SIGINT"}

if SCENARIO == "base":
    image("images/base:1", [base_layer()], {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/bin:/bin"]})
elif SCENARIO == "py":
    image("images/py:1", [base_layer(), py_layer()], PY_CONFIG)
elif SCENARIO == "multiarch":
    one = image("", [base_layer()], {"Cmd": ["/bin/echo", "amd64 picked"]}, write=False)
    other = dict(one, platform={"os": "linux", "architecture": "arm64"})
    mine = dict(one, platform={"os": "linux", "architecture": "amd64"})
    idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                      "manifests": [other, mine]}).encode()
    d = blob(idx)
    d["mediaType"] = "application/vnd.oci.image.index.v1+json"
    tag("images/multiarch:1", d)
    # The same as a Docker manifest list.
    lst = "application/vnd.docker.distribution.manifest.list.v2+json"
    d = blob(json.dumps({"schemaVersion": 2, "mediaType": lst, "manifests": [other, mine]}).encode())
    d["mediaType"] = lst
    tag("images/multiarch-docker:1", d)
elif SCENARIO == "multi":
    l2 = Layer()
    l2.file("data/a.txt", b"content a\n")
    l2.file("data/old.txt", b"to be whited out\n")
    l2.file("data/dir/x", b"x\n")
    l2.file("opq/y", b"from below\n")
    l3 = Layer()
    l3.file("data/.wh.old.txt", b"")
    l3.file("data/dir/.wh.x", b"")
    l3.file("opq/.wh..wh..opq", b"")
    l3.file("opq/new", b"new\n")
    l3.hardlink("data/hl", "data/a.txt")
    l3.symlink("data/link", "a.txt")
    l3.symlink("data/abs", "/data/a.txt")
    l3.dir("data/priv", 0o700, 1000)
    l3.file("data/suid", b"#!/bin/sh\necho suid\n", 0o4755)
    l3.file("data/owned", b"owned\n", 0o644, 1000)
    # cap_net_raw+ep, as setcap writes it (VFS_CAP revision 2)
    l3.file("data/ping", b"#!/bin/sh\necho ping\n", 0o755,
            xattrs={"security.capability": bytes([1, 0, 0, 2, 0, 0x20]) + bytes(14),
                    "user.note": b"dropped"})
    for p in ["/sbin/getcap"] + sorted(ldd([os.path.realpath("/sbin/getcap")])):
        l3.host(p)
    image("images/multi:1", [base_layer(), l2, l3], {"Cmd": ["/bin/sh"]})
elif SCENARIO == "traversal":
    lay = Layer()
    i = tarfile.TarInfo("../../evil")
    lay.add(i, b"evil\n")
    image("bad/traversal:1", [base_layer(), lay])
elif SCENARIO == "device":
    lay = Layer()
    i = tarfile.TarInfo("data/null")
    i.type, i.devmajor, i.devminor = tarfile.CHRTYPE, 1, 3
    lay.add(i)
    image("bad/device:1", [base_layer(), lay])
elif SCENARIO == "symlink-escape":
    l1 = Layer()
    l1.symlink("esc", "/../../../tmp")
    l2 = Layer()
    l2.file("esc/planted", b"planted\n", parents=False)
    image("bad/symlink:1", [base_layer(), l1, l2])
elif SCENARIO == "bad-digest":
    own = Layer()
    own.file("data/tampered", b"this layer's blob is changed after its digest was taken\n" * 64)
    md = image("bad/digest:1", [base_layer(), own])
    m = json.load(open(os.path.join(BLOBS, md["digest"][7:])))
    path = os.path.join(BLOBS, m["layers"][1]["digest"][7:])
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
elif SCENARIO == "huge-entry":
    # A tar header claiming a 3 GiB file, and nothing after it: refused by
    # its size before a byte is read.
    i = tarfile.TarInfo("data/huge")
    i.size = 3 << 30
    image("bad/huge:1", [base_layer(), RawLayer(i.tobuf(tarfile.PAX_FORMAT))])
elif SCENARIO == "many-layers":
    image("bad/layers:1", [Layer() for _ in range(1001)])
elif SCENARIO == "onbuild":
    image("bad/onbuild:1", [base_layer()], {"OnBuild": ["RUN true"]})
elif SCENARIO == "defaults":
    # WorkingDir (absent from the layers), User by name (the image's own
    # /etc/passwd), Volumes, Labels, Healthcheck.
    lay = Layer()
    lay.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n# a comment\n"
             b"app:x:1234:2345:app:/home/app:/bin/sh\n")
    lay.file("etc/group", b"root:x:0:\napp:x:2345:\n")
    image("images/defaults:1", [base_layer(), lay],
          {"Cmd": ["/bin/sh", "-c", "pwd; id -u; id -g"], "WorkingDir": "/srv/app/",
           "User": "app", "Volumes": {"/data": {}}, "Labels": {"org.example.role": "test", "b": ""},
           "Healthcheck": {"Test": ["CMD-SHELL", "test -d /data"], "Interval": 200000000,
                           "Retries": 2, "StartInterval": 5000000000}})
elif SCENARIO == "nginx-rootfs":
    # The host's nginx, its ELF closure and what it opens at start (its
    # compiled-in paths: /var/log/nginx, /var/lib/nginx, /run; www-data in
    # /etc/passwd), with a configuration of its own: errors to stderr at
    # "notice" (so a stop signal shows in the log), a page at /srv/www.
    lay = base_layer()
    for p in ["/usr/sbin/nginx"] + sorted(ldd([os.path.realpath("/usr/sbin/nginx")])):
        lay.host(p)
    lay.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
             b"www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n")
    lay.file("etc/group", b"root:x:0:\nwww-data:x:33:\n")
    lay.file("etc/nginx/nginx.conf", b"""user www-data;
worker_processes 1;
pid /run/nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
http {
  access_log off;
  types { text/html html; }
  server { listen 80; root /srv/www; }
}
""")
    lay.file("srv/www/index.html", b"nginx from a docker-built image\n")
    # What a volume at /srv/www is initialised with: owners, modes, a symlink.
    lay.dir("srv/www/sub", 0o750, 33)
    lay.file("srv/www/sub/private", b"www-data's\n", 0o640, 33)
    lay.symlink("srv/www/link", "index.html")
    for d in ("var/log/nginx", "var/lib/nginx", "run"):
        lay.dirs(d + "/x")
    lay.tar.close()
    with open(os.path.join(LAYOUT, "nginx-rootfs.tar"), "wb") as f:
        f.write(lay.buf.getvalue())
else:
    sys.exit("unknown scenario " + SCENARIO)
