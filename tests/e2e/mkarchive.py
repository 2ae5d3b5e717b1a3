#!/usr/bin/python3
"""Write image archives for `reg image load` (tests/e2e/suite_images.sh) from
images of an OCI layout that tests/e2e/mkimage.py made, in the forms Docker
and skopeo write them, without Docker:

  mkarchive.py LAYOUT FORM OUT REF=NAME...

FORM is
  legacy   `docker save` before Docker 25: manifest.json, repositories,
           <hex>.json configs, <diff_id hex>/layer.tar uncompressed; a layer
           two images share is written once and linked from the other's
           directory by a symlink ("../<dir>/layer.tar"), as Docker does
  docker25 `docker save` of Docker 25+: an OCI layout (uncompressed layers,
           index.json annotated io.containerd.image.name and a tag-only
           org.opencontainers.image.ref.name) plus manifest.json
  oci      an OCI archive: the layout of these images, tagged REF's NAME in
           org.opencontainers.image.ref.name
  evil     legacy, with a "../evil" member
  tampered legacy, with one byte of the first layer changed
REF is a REPO:TAG of LAYOUT, NAME what the archive calls it.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

LAYOUT, FORM, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
PAIRS = [a.split("=", 1) for a in sys.argv[4:]]


def read_blob(digest):
    with open(os.path.join(LAYOUT, "blobs", "sha256", digest[7:]), "rb") as f:
        return f.read()


def manifest_of(ref):
    idx = json.load(open(os.path.join(LAYOUT, "index.json")))
    for e in idx["manifests"]:
        if e.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref:
            return e, json.loads(read_blob(e["digest"]))
    sys.exit("no image " + ref)


def add(tar, name, data=None, linkto=None):
    i = tarfile.TarInfo(name)
    i.mtime = 1700000000
    if linkto is not None:
        i.type, i.linkname = tarfile.SYMTYPE, linkto
        tar.addfile(i)
    elif data is None:
        i.type, i.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(i)
    else:
        i.size, i.mode = len(data), 0o644
        tar.addfile(i, io.BytesIO(data))


def legacy(tar, evil=False, tampered=False):
    manifest, written, repos = [], set(), {}
    for k, (ref, name) in enumerate(PAIRS):
        _, m = manifest_of(ref)
        config = read_blob(m["config"]["digest"])
        chex = m["config"]["digest"][7:]
        if chex not in written:
            add(tar, chex + ".json", config)
            written.add(chex)
        layers = []
        for n, l in enumerate(m["layers"]):
            raw = gzip.decompress(read_blob(l["digest"]))
            if tampered and k == 0 and n == 0:
                raw = bytearray(raw)
                raw[len(raw) // 2] ^= 0xFF
                raw = bytes(raw)
            d = hashlib.sha256(gzip.decompress(read_blob(l["digest"]))).hexdigest()
            if d in written:
                # Shared: this image's own directory links to the first copy.
                own = "%s-%d" % (d[:32], k)
                add(tar, own)
                add(tar, own + "/layer.tar", linkto="../%s/layer.tar" % d)
                layers.append(own + "/layer.tar")
                continue
            add(tar, d)
            add(tar, d + "/VERSION", b"1.0")
            add(tar, d + "/layer.tar", raw)
            written.add(d)
            layers.append(d + "/layer.tar")
        manifest.append({"Config": chex + ".json", "RepoTags": [name], "Layers": layers})
        repos.setdefault(name.rsplit(":", 1)[0], {})[name.rsplit(":", 1)[1]] = chex
    if evil:
        add(tar, "../evil", b"evil\n")
    add(tar, "manifest.json", json.dumps(manifest).encode())
    add(tar, "repositories", json.dumps(repos).encode())


def oci_blob(tar, data, written):
    h = hashlib.sha256(data).hexdigest()
    if h not in written:
        add(tar, "blobs/sha256/" + h, data)
        written.add(h)
    return "sha256:" + h


def docker25(tar):
    written, manifest, index = set(), [], []
    add(tar, "blobs")
    add(tar, "blobs/sha256")
    for ref, name in PAIRS:
        _, m = manifest_of(ref)
        cdig = oci_blob(tar, read_blob(m["config"]["digest"]), written)
        layers, descs = [], []
        for l in m["layers"]:
            raw = gzip.decompress(read_blob(l["digest"]))
            d = oci_blob(tar, raw, written)
            layers.append("blobs/sha256/" + d[7:])
            descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                          "digest": d, "size": len(raw)})
        om = json.dumps({"schemaVersion": 2,
                         "mediaType": "application/vnd.oci.image.manifest.v1+json",
                         "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                    "digest": cdig, "size": len(read_blob(m["config"]["digest"]))},
                         "layers": descs}).encode()
        mdig = oci_blob(tar, om, written)
        index.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "digest": mdig, "size": len(om),
                      "annotations": {"io.containerd.image.name": "docker.io/" + name,
                                      "org.opencontainers.image.ref.name":
                                          name.rsplit(":", 1)[1]}})
        manifest.append({"Config": "blobs/sha256/" + cdig[7:], "RepoTags": [name],
                         "Layers": layers})
    add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add(tar, "index.json", json.dumps({"schemaVersion": 2, "manifests": index}).encode())
    add(tar, "manifest.json", json.dumps(manifest).encode())


def oci(tar):
    written, index = set(), []
    for ref, name in PAIRS:
        e, m = manifest_of(ref)
        for d in [m["config"]["digest"]] + [l["digest"] for l in m["layers"]] + [e["digest"]]:
            oci_blob(tar, read_blob(d), written)
        index.append(dict(e, annotations={"org.opencontainers.image.ref.name": name}))
    add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add(tar, "index.json", json.dumps({"schemaVersion": 2, "manifests": index}).encode())


with tarfile.open(OUT, "w", format=tarfile.PAX_FORMAT) as t:
    if FORM in ("legacy", "evil", "tampered"):
        legacy(t, evil=FORM == "evil", tampered=FORM == "tampered")
    elif FORM == "docker25":
        docker25(t)
    elif FORM == "oci":
        oci(t)
    else:
        sys.exit("unknown form " + FORM)
