#!/usr/bin/python3
"""The page-cache folio sizes of files (docs/benchmarks.md, "Images"):
each file is mapped read-only and every page touched (a page not cached
yet is read in by readahead, which makes its own folios: run it on files
just written), then /proc/self/pagemap gives each page's frame and
/proc/kpageflags whether the frame heads or continues a compound page (a
large folio). Prints, per file, how many bytes sit in folios of each size.

  bench/folios.py FILE...      (as root: frame numbers need CAP_SYS_ADMIN)
"""
import mmap
import os
import struct
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")
KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL = 1 << 15, 1 << 16


def frames(path):
    """The frame number of each page of the file, mapped and touched."""
    size = os.path.getsize(path)
    if size == 0:
        return []
    with open(path, "rb") as f:
        m = mmap.mmap(f.fileno(), size, prot=mmap.PROT_READ)
    n = (size + PAGE - 1) // PAGE
    for i in range(n):
        m[i * PAGE]  # fault it in
    addr = struct.unpack("Q", struct.pack("P", 0))[0]
    # The mapping's address: from /proc/self/maps, by the file's inode.
    st = os.stat(path)
    for line in open("/proc/self/maps"):
        parts = line.split()
        if len(parts) >= 6 and int(parts[4]) == st.st_ino and os.path.realpath(parts[5]) == os.path.realpath(path):
            addr = int(parts[0].split("-")[0], 16)
            break
    out = []
    with open("/proc/self/pagemap", "rb") as pm:
        pm.seek(addr // PAGE * 8)
        raw = pm.read(n * 8)
    for i in range(n):
        e = struct.unpack_from("Q", raw, i * 8)[0]
        out.append(e & ((1 << 55) - 1) if e >> 63 else None)
    m.close()
    return out


def folio_sizes(pfns):
    """Bytes per folio size: a head frame and the tail frames after it."""
    sizes = {}
    with open("/proc/kpageflags", "rb") as kf:
        def flags(pfn):
            kf.seek(pfn * 8)
            return struct.unpack("Q", kf.read(8))[0]
        i = 0
        while i < len(pfns):
            pfn = pfns[i]
            if pfn is None:
                i += 1
                continue
            fl = flags(pfn)
            n = 1
            if fl & KPF_COMPOUND_HEAD:
                while i + n < len(pfns) and pfns[i + n] == pfn + n and flags(pfn + n) & KPF_COMPOUND_TAIL:
                    n += 1
                # a folio may begin before the file's first page or run past its end
            elif fl & KPF_COMPOUND_TAIL:
                while i + n < len(pfns) and pfns[i + n] == pfn + n and flags(pfn + n) & KPF_COMPOUND_TAIL \
                        and not flags(pfn + n) & KPF_COMPOUND_HEAD:
                    n += 1
            sizes[n * PAGE] = sizes.get(n * PAGE, 0) + n * PAGE
            i += n
    return sizes


def main():
    for path in sys.argv[1:]:
        sizes = folio_sizes(frames(path))
        total = sum(sizes.values()) or 1
        row = ", ".join(f"{k // 1024} kB: {v * 100 // total}%" for k, v in sorted(sizes.items()))
        print(f"{path}: {os.path.getsize(path)} bytes; folios {row}")


if __name__ == "__main__":
    main()
