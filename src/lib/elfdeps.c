/* elfdeps: shared-library closure with libelf — see elfdeps.h for the contract.
 *
 * /etc/ld.so.cache is read here too (glibc's "new" format, alone or after
 * the old "ld.so-1.7.0" table), with every offset bounds-checked: a corrupt
 * cache is treated as absent, never read out of bounds. */
#include "elfdeps.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <search.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 64
#define CACHE_MAGIC_NEW "glibc-ld.so.cache1.1"
#define CACHE_MAGIC_OLD "ld.so-1.7.0"
#define CACHE_MAX_BYTES (64 << 20)

struct cache_entry
{
  const char *key, *value; /* into the mapped cache */
  int32_t flags;
  uint64_t hwcap; /* non-zero: a glibc-hwcaps or platform subdirectory */
};

struct reg_elf_resolver
{
  char *sysroot;
  /* ld.so.cache, mapped */
  void *cache_map;
  size_t cache_size;
  struct cache_entry *cache;
  size_t n_cache;
  bool cache_loaded;
  /* results */
  struct reg_elf_dep *deps;
  size_t n_deps, cap_deps;
  bool sorted;
  void *analysed; /* tsearch tree of real paths already analysed */
  void *interps;  /* tsearch tree of dep names placed at a PT_INTERP path */
};

/* The library glibc (GLIBC_SONAME) loads with dlopen() for unwinding. */
#define GLIBC_SONAME "libc.so.6"
#define GLIBC_UNWINDER "libgcc_s.so.1"

/* What an ELF object says about its dependencies. */
struct object
{
  char *path; /* real path, sysroot-relative */
  int elf_class;
  int machine;
  char *interp;
  char *soname;
  char *rpath, *runpath;
  char **needed;
  size_t n_needed;
};

static void
object_clear (struct object *o)
{
  free (o->path);
  free (o->interp);
  free (o->soname);
  free (o->rpath);
  free (o->runpath);
  for (size_t i = 0; i < o->n_needed; i++)
    free (o->needed[i]);
  free (o->needed);
  memset (o, 0, sizeof *o);
}

static char *
in_root (const struct reg_elf_resolver *r, const char *path)
{
  char *p = NULL;
  if (asprintf (&p, "%s%s", r->sysroot, path) < 0)
    return NULL;
  return p;
}

/* realpath inside the sysroot, returned without the sysroot prefix. */
static char *
real_in_root (const struct reg_elf_resolver *r, const char *path)
{
  _cleanup_free_ char *full = in_root (r, path);
  if (full == NULL)
    return NULL;
  char buf[PATH_MAX];
  if (realpath (full, buf) == NULL)
    return NULL;
  size_t n = strlen (r->sysroot);
  if (n > 0)
    {
      if (strncmp (buf, r->sysroot, n) != 0 || (buf[n] != '/' && buf[n] != '\0'))
        return NULL; /* escapes the sysroot */
      return strdup (buf[n] ? buf + n : "/");
    }
  return strdup (buf);
}

/* ---- ld.so.cache ---- */

static bool
cache_str (const struct reg_elf_resolver *r, size_t base, uint32_t off, const char **out)
{
  if (base + off >= r->cache_size)
    return false;
  const char *s = (const char *)r->cache_map + base + off;
  if (memchr (s, '\0', r->cache_size - base - off) == NULL)
    return false;
  *out = s;
  return true;
}

static void
cache_load (struct reg_elf_resolver *r)
{
  r->cache_loaded = true;
  _cleanup_free_ char *path = in_root (r, "/etc/ld.so.cache");
  _cleanup_close_ int fd = path ? open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size < 48
      || st.st_size > CACHE_MAX_BYTES)
    return;
  void *map = mmap (NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED)
    return;
  r->cache_map = map;
  r->cache_size = (size_t)st.st_size;
  const unsigned char *b = map;
  size_t base = 0;
  if (memcmp (b, CACHE_MAGIC_OLD, strlen (CACHE_MAGIC_OLD)) == 0)
    {
      /* Old table: magic (12 bytes with padding), nlibs, 12-byte entries;
       * the new header follows, 8-byte aligned. */
      uint32_t nold;
      memcpy (&nold, b + 12, 4);
      uint64_t off = 16 + (uint64_t)nold * 12;
      off = (off + 7) & ~(uint64_t)7;
      if (off + 48 > r->cache_size)
        return;
      base = (size_t)off;
    }
  if (memcmp (b + base, CACHE_MAGIC_NEW, strlen (CACHE_MAGIC_NEW)) != 0)
    return;
  uint32_t nlibs;
  memcpy (&nlibs, b + base + 20, 4);
  const size_t entry_size = 24, header = 48;
  if (nlibs > (r->cache_size - base - header) / entry_size)
    return;
  r->cache = calloc (nlibs ? nlibs : 1, sizeof *r->cache);
  if (r->cache == NULL)
    return;
  for (uint32_t i = 0; i < nlibs; i++)
    {
      const unsigned char *e = b + base + header + (size_t)i * entry_size;
      struct cache_entry c;
      uint32_t key, value;
      memcpy (&c.flags, e, 4);
      memcpy (&key, e + 4, 4);
      memcpy (&value, e + 8, 4);
      memcpy (&c.hwcap, e + 16, 8);
      if (cache_str (r, base, key, &c.key) && cache_str (r, base, value, &c.value))
        r->cache[r->n_cache++] = c;
    }
}

/* The ld.so.cache flags of libraries for this class and machine. */
static int
cache_flags_for (int elf_class, int machine)
{
  if (machine == EM_X86_64 && elf_class == ELFCLASS64)
    return 0x0303;
  if (machine == EM_386)
    return 0x0003;
  if (machine == EM_AARCH64)
    return 0x0a03;
  if (machine == EM_RISCV)
    return elf_class == ELFCLASS64 ? 0x1003 : 0x0003;
  return -1;
}

/* ---- reading an ELF file ---- */

static bool
read_ident (const char *full, int *elf_class, int *machine)
{
  _cleanup_close_ int fd = open (full, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  unsigned char h[20];
  if (fd < 0 || pread (fd, h, sizeof h, 0) != (ssize_t)sizeof h || memcmp (h, ELFMAG, SELFMAG))
    return false;
  *elf_class = h[EI_CLASS];
  /* e_machine is at offset 18 in both classes, in the file's byte order. */
  *machine = h[EI_DATA] == ELFDATA2MSB ? (h[18] << 8) | h[19] : h[18] | (h[19] << 8);
  return true;
}

bool
reg_elfdeps_is_elf (struct reg_elf_resolver *r, const char *path)
{
  _cleanup_free_ char *full = in_root (r, path);
  int c, m;
  return full && read_ident (full, &c, &m);
}

static int
push_needed (struct object *o, const char *name)
{
  char **n = realloc (o->needed, (o->n_needed + 1) * sizeof *n);
  if (n == NULL)
    return -1;
  o->needed = n;
  if ((n[o->n_needed] = strdup (name)) == NULL)
    return -1;
  o->n_needed++;
  return 0;
}

/* Does [off, off+len) lie inside a file of `size` bytes? */
static bool
in_file (uint64_t off, uint64_t len, uint64_t size)
{
  return off <= size && len <= size - off;
}

static int
truncated (const char *shown, uint64_t size, struct reg_error **err)
{
  return reg_error_set (err, EINVAL, "%s: truncated ELF file (%" PRIu64 " bytes)", shown, size);
}

/* The ELF header, read and checked; the file's tables lie inside it. */
struct layout
{
  GElf_Ehdr eh;
  size_t phnum, shnum;
  uint64_t size;
  bool has_dynamic; /* a PT_DYNAMIC segment */
  GElf_Addr dynamic_vaddr;
};

static int
read_layout (Elf *elf, uint64_t size, const char *shown, struct layout *l, struct reg_error **err)
{
  l->size = size;
  if (gelf_getehdr (elf, &l->eh) == NULL)
    return reg_error_set (err, EINVAL, "%s: truncated or corrupt ELF header: %s", shown,
                          elf_errmsg (-1));
  if (elf_getphdrnum (elf, &l->phnum) != 0 || elf_getshdrnum (elf, &l->shnum) != 0)
    return reg_error_set (err, EINVAL, "%s: corrupt ELF header: %s", shown, elf_errmsg (-1));
  /* The counts of the header itself: libelf clamps its own to the file. */
  uint64_t phnum = l->eh.e_phnum == PN_XNUM ? l->phnum : l->eh.e_phnum;
  uint64_t shnum = l->eh.e_shnum == 0 ? 1 : l->eh.e_shnum; /* 0: in section 0 */
  if (phnum != l->phnum || (phnum > 0 && !in_file (l->eh.e_phoff, phnum * l->eh.e_phentsize, size))
      || (l->eh.e_shoff != 0 && !in_file (l->eh.e_shoff, shnum * l->eh.e_shentsize, size)))
    return truncated (shown, size, err);
  for (size_t i = 0; i < l->phnum; i++)
    {
      GElf_Phdr ph;
      if (gelf_getphdr (elf, (int)i, &ph) == NULL)
        return reg_error_set (err, EINVAL, "%s: corrupt program header %zu: %s", shown, i,
                              elf_errmsg (-1));
      if (ph.p_type == PT_DYNAMIC && !l->has_dynamic)
        {
          l->has_dynamic = true;
          l->dynamic_vaddr = ph.p_vaddr;
        }
    }
  return 0;
}

/* The .dynamic section (NULL when there is none). A separate debug-info
 * file (/usr/lib/debug) keeps the program headers of the original but its
 * .dynamic is SHT_NOBITS: *debuginfo is then set. */
static Elf_Scn *
find_dynamic (Elf *elf, const struct layout *l, GElf_Shdr *sh, bool *debuginfo)
{
  *debuginfo = false;
  Elf_Scn *scn = NULL;
  while ((scn = elf_nextscn (elf, scn)) != NULL)
    {
      if (gelf_getshdr (scn, sh) == NULL)
        continue;
      if (sh->sh_type == SHT_DYNAMIC)
        return scn;
      if (sh->sh_type == SHT_NOBITS && l->has_dynamic && sh->sh_addr == l->dynamic_vaddr)
        *debuginfo = true;
    }
  return NULL;
}

/* Every segment the loader reads lies inside the file. */
static int
check_segments (Elf *elf, const struct layout *l, const char *shown, struct reg_error **err)
{
  for (size_t i = 0; i < l->phnum; i++)
    {
      GElf_Phdr ph;
      if (gelf_getphdr (elf, (int)i, &ph) != NULL
          && (ph.p_type == PT_LOAD || ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC)
          && !in_file (ph.p_offset, ph.p_filesz, l->size))
        return truncated (shown, l->size, err);
    }
  return 0;
}

/* PT_INTERP, read with pread: its segment is a NUL-terminated path. */
static int
read_interp (int fd, Elf *elf, const struct layout *l, const char *shown, struct object *o,
             struct reg_error **err)
{
  for (size_t i = 0; i < l->phnum && o->interp == NULL; i++)
    {
      GElf_Phdr ph;
      if (gelf_getphdr (elf, (int)i, &ph) == NULL || ph.p_type != PT_INTERP)
        continue;
      char buf[PATH_MAX];
      if (ph.p_filesz < 2 || ph.p_filesz > sizeof buf
          || pread (fd, buf, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz
          || memchr (buf, '\0', ph.p_filesz) == NULL || buf[0] != '/')
        return reg_error_set (err, EINVAL, "%s: corrupt PT_INTERP", shown);
      if ((o->interp = strdup (buf)) == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
    }
  return 0;
}

static int
keep_string (char **slot, const char *s)
{
  if (*slot == NULL && (*slot = strdup (s)) == NULL)
    return -1;
  return 0;
}

/* DT_NEEDED, DT_SONAME, DT_RPATH and DT_RUNPATH, with their strings from
 * the section the .dynamic section's sh_link names. */
static int
read_dynamic (Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, const char *shown, struct object *o,
              struct reg_error **err)
{
  Elf_Data *data = elf_getdata (scn, NULL);
  if (data == NULL || sh->sh_entsize == 0)
    return reg_error_set (err, EINVAL, "%s: corrupt dynamic section", shown);
  size_t n = sh->sh_size / sh->sh_entsize;
  for (size_t k = 0; k < n; k++)
    {
      GElf_Dyn dyn;
      if (gelf_getdyn (data, (int)k, &dyn) == NULL || dyn.d_tag == DT_NULL)
        break;
      if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RPATH && dyn.d_tag != DT_RUNPATH
          && dyn.d_tag != DT_SONAME)
        continue;
      const char *s = elf_strptr (elf, sh->sh_link, dyn.d_un.d_val);
      if (s == NULL)
        return reg_error_set (err, EINVAL, "%s: corrupt dynamic string table", shown);
      int r = dyn.d_tag == DT_NEEDED   ? push_needed (o, s)
              : dyn.d_tag == DT_SONAME ? keep_string (&o->soname, s)
              : dyn.d_tag == DT_RPATH  ? keep_string (&o->rpath, s)
                                       : keep_string (&o->runpath, s);
      if (r < 0)
        return reg_error_set (err, ENOMEM, "out of memory");
    }
  return 0;
}

/* What the loader reads of an open ELF file; see read_object. */
static int
read_elf (int fd, Elf *elf, uint64_t size, const char *shown, struct object *o,
          struct reg_error **err)
{
  struct layout l = { 0 };
  if (read_layout (elf, size, shown, &l, err) < 0)
    return -1;
  if (l.eh.e_type != ET_EXEC && l.eh.e_type != ET_DYN)
    return 0; /* relocatable objects, core files: nothing the loader reads */
  GElf_Shdr sh;
  bool debuginfo;
  Elf_Scn *dynamic = find_dynamic (elf, &l, &sh, &debuginfo);
  if (debuginfo)
    return 0; /* symbols for a debugger, never loaded */
  if (check_segments (elf, &l, shown, err) < 0 || read_interp (fd, elf, &l, shown, o, err) < 0)
    return -1;
  o->elf_class = gelf_getclass (elf);
  o->machine = l.eh.e_machine;
  if (dynamic)
    return read_dynamic (elf, dynamic, &sh, shown, o, err) < 0 ? -1 : 1;
  if (l.has_dynamic)
    /* Section headers stripped (sstrip): refuse rather than import a
     * program without its libraries. */
    return reg_error_set (err, EINVAL, "%s: has a PT_DYNAMIC segment but no .dynamic section",
                          shown);
  return 1; /* static */
}

/* Read what the loader reads of one file. Returns 1 for an ELF executable or
 * shared object, 0 for a file that is not one (no ELF magic, relocatable,
 * core, separate debug info), -1 on error: an ELF file that is truncated or
 * corrupt is an error, since the loader could not load it either. */
static int
read_object (const char *full, const char *shown, struct object *o, struct reg_error **err)
{
  /* O_NONBLOCK: a FIFO where a library is expected must not hang us. */
  _cleanup_close_ int fd = open (full, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return reg_error_sys (err, errno, "%s", shown);
  struct stat st;
  unsigned char magic[SELFMAG];
  if (fstat (fd, &st) < 0)
    return reg_error_sys (err, errno, "%s", shown);
  if (!S_ISREG (st.st_mode) || pread (fd, magic, SELFMAG, 0) != SELFMAG
      || memcmp (magic, ELFMAG, SELFMAG) != 0)
    return 0;
  /* ELF_C_READ, not a mapping: a file shrinking under us must not SIGBUS. */
  Elf *elf = elf_begin (fd, ELF_C_READ, NULL);
  if (elf == NULL || elf_kind (elf) != ELF_K_ELF)
    {
      if (elf)
        elf_end (elf);
      return reg_error_set (err, EINVAL, "%s: not a readable ELF file: %s", shown, elf_errmsg (-1));
    }
  int ret = read_elf (fd, elf, (uint64_t)st.st_size, shown, o, err);
  elf_end (elf);
  if (ret <= 0)
    object_clear (o);
  return ret;
}

/* ---- search ---- */

static const char *
platform_of (int machine)
{
  switch (machine)
    {
    case EM_X86_64:
      return "x86_64";
    case EM_AARCH64:
      return "aarch64";
    case EM_386:
      return "i686";
    default:
      return "unknown";
    }
}

static const char *
triplet_of (int machine)
{
  switch (machine)
    {
    case EM_X86_64:
      return "x86_64-linux-gnu";
    case EM_AARCH64:
      return "aarch64-linux-gnu";
    case EM_386:
      return "i386-linux-gnu";
    default:
      return NULL;
    }
}

/* "$ORIGINAL" is not "$ORIGIN" followed by "AL": as ld.so, an unbraced
 * token must not run on into a name character. */
static bool
token_continues (const char *token, const char *next)
{
  return token[1] != '{' && (isalnum ((unsigned char)*next) || *next == '_');
}

/* Expand $ORIGIN, ${ORIGIN}, $LIB, $PLATFORM in one search directory. */
static char *
expand (const char *dir, const struct object *o)
{
  _cleanup_free_ char *origin = strdup (o->path);
  if (origin == NULL)
    return NULL;
  char *slash = strrchr (origin, '/');
  if (slash)
    *(slash == origin ? slash + 1 : slash) = '\0';
  const char *triplet = triplet_of (o->machine);
  _cleanup_free_ char *lib = NULL;
  if (asprintf (&lib, "lib%s%s", triplet ? "/" : "", triplet ? triplet : "") < 0)
    return NULL; // cppcheck-suppress memleak ; origin is freed by its cleanup attribute
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&out, &len);
  if (f == NULL)
    return NULL; // cppcheck-suppress memleak ; origin is freed by its cleanup attribute
  for (const char *p = dir; *p;)
    {
      static const struct
      {
        const char *token;
        int which;
      } tokens[] = { { "${ORIGIN}", 0 }, { "$ORIGIN", 0 },     { "${LIB}", 1 },
                     { "$LIB", 1 },      { "${PLATFORM}", 2 }, { "$PLATFORM", 2 } };
      bool matched = false;
      for (size_t i = 0; i < sizeof tokens / sizeof tokens[0] && !matched; i++)
        if (strncmp (p, tokens[i].token, strlen (tokens[i].token)) == 0
            && !token_continues (tokens[i].token, p + strlen (tokens[i].token)))
          {
            const char *v = tokens[i].which == 0   ? origin
                            : tokens[i].which == 1 ? lib
                                                   : platform_of (o->machine);
            fputs (v, f);
            p += strlen (tokens[i].token);
            matched = true;
          }
      if (!matched)
        fputc (*p++, f);
    }
  fclose (f);
  return out;
}

/* A candidate file usable for `o`: exists, ELF of the same class and machine. */
static bool
usable (struct reg_elf_resolver *r, const struct object *o, const char *path)
{
  _cleanup_free_ char *full = in_root (r, path);
  int c, m;
  return full && read_ident (full, &c, &m) && c == o->elf_class && m == o->machine;
}

/* Try every directory of a ':'-separated list; on a hit, *found_dir is the
 * directory (allocated). */
static bool
search_list (struct reg_elf_resolver *r, const struct object *owner, const struct object *o,
             const char *list, const char *name, char **found_dir)
{
  if (list == NULL)
    return false;
  _cleanup_free_ char *copy = strdup (list);
  char *save = NULL;
  for (char *d = copy ? strtok_r (copy, ":", &save) : NULL; d; d = strtok_r (NULL, ":", &save))
    {
      _cleanup_free_ char *dir = expand (d, owner);
      _cleanup_free_ char *cand = NULL;
      if (dir == NULL || dir[0] != '/' || asprintf (&cand, "%s/%s", dir, name) < 0)
        continue;
      if (usable (r, o, cand))
        {
          *found_dir = reg_steal (&dir);
          return true;
        }
    }
  return false;
}

/* ld.so.cache. Entries for a glibc-hwcaps subdirectory are used only when
 * there is no baseline entry: the container may run on another CPU, and the
 * baseline library works on every one. */
static bool
search_cache (struct reg_elf_resolver *r, const struct object *o, const char *name, char **dir)
{
  if (!r->cache_loaded)
    cache_load (r);
  int want = cache_flags_for (o->elf_class, o->machine);
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < r->n_cache; i++)
      {
        const struct cache_entry *c = &r->cache[i];
        if ((c->flags & 0xffff) != want || (pass == 0) != (c->hwcap == 0)
            || strcmp (c->key, name) != 0 || c->value[0] != '/' || !usable (r, o, c->value))
          continue;
        if ((*dir = strdup (c->value)) == NULL)
          return false;
        char *slash = strrchr (*dir, '/');
        *(slash == *dir ? slash + 1 : slash) = '\0';
        return true;
      }
  return false;
}

/* Where ld.so would find `needed` for `o`, given the RPATHs of the objects
 * that loaded it (`chain`, innermost first). Like ld.so, dynamic string
 * tokens in the name are expanded, and a name with '/' is a path (only an
 * absolute one: a relative one would depend on the working directory). */
static bool
find_library (struct reg_elf_resolver *r, const struct object *o, const struct object *const *chain,
              int depth, const char *needed, char **dir, char **file)
{
  *dir = *file = NULL;
  _cleanup_free_ char *name = strchr (needed, '$') ? expand (needed, o) : strdup (needed);
  if (name == NULL)
    return false;
  if (strchr (name, '/'))
    {
      if (name[0] != '/' || !usable (r, o, name))
        return false;
      *dir = strdup (name);
      char *slash = *dir ? strrchr (*dir, '/') : NULL;
      if (slash)
        *(slash == *dir ? slash + 1 : slash) = '\0';
      *file = reg_steal (&name);
      return *dir != NULL;
    }
  bool found = false;
  if (o->runpath == NULL)
    {
      found = search_list (r, o, o, o->rpath, name, dir);
      for (int i = depth - 1; !found && i >= 0; i--)
        if (chain[i]->runpath == NULL)
          found = search_list (r, chain[i], o, chain[i]->rpath, name, dir);
    }
  if (!found)
    found = search_list (r, o, o, o->runpath, name, dir);
  if (!found)
    found = search_cache (r, o, name, dir);
  if (!found)
    {
      const char *triplet = triplet_of (o->machine);
      char defaults[512];
      if (triplet)
        snprintf (defaults, sizeof defaults, "/lib/%s:/usr/lib/%s:%s:/lib:/usr/lib", triplet,
                  triplet, o->elf_class == ELFCLASS64 ? "/lib64:/usr/lib64" : "/lib32:/usr/lib32");
      else
        snprintf (defaults, sizeof defaults, "/lib64:/usr/lib64:/lib:/usr/lib");
      found = search_list (r, o, o, defaults, name, dir);
    }
  if (found && asprintf (file, "%s/%s", strcmp (*dir, "/") == 0 ? "" : *dir, name) < 0)
    *file = NULL;
  if (!found || *file == NULL)
    {
      free (*dir);
      *dir = NULL;
      return false;
    }
  return true;
}

/* ---- results ---- */

char *
reg_elfdeps_soname_to_lib (const char *soname)
{
  const char *base = strrchr (soname, '/');
  base = base ? base + 1 : soname;
  const char *so = strstr (base, ".so.");
  size_t n = strlen (base);
  char *out = NULL;
  int r;
  if (so)
    r = asprintf (&out, "%.*s@%s", (int)(so - base), base, so + 4);
  else if (n > 3 && strcmp (base + n - 3, ".so") == 0)
    r = asprintf (&out, "%.*s@", (int)(n - 3), base);
  else
    r = asprintf (&out, "%s@", base);
  return r < 0 ? NULL : out;
}

static struct reg_elf_dep *
find_dep (struct reg_elf_resolver *r, const char *name)
{
  for (size_t i = 0; i < r->n_deps; i++)
    if (strcmp (r->deps[i].name, name) == 0)
      return &r->deps[i];
  return NULL;
}

static int
add_dep (struct reg_elf_resolver *r, const char *name, const char *host_path,
         const char *container_path, struct reg_error **err)
{
  if (find_dep (r, name))
    return 0; /* the first wins */
  if (r->n_deps == r->cap_deps)
    {
      size_t cap = r->cap_deps ? r->cap_deps * 2 : 32;
      struct reg_elf_dep *n = realloc (r->deps, cap * sizeof *n);
      if (n == NULL)
        return reg_error_set (err, ENOMEM, "out of memory");
      r->deps = n;
      r->cap_deps = cap;
    }
  _cleanup_free_ char *full = in_root (r, host_path);
  struct stat st;
  struct reg_elf_dep *d = &r->deps[r->n_deps];
  d->exec = full && stat (full, &st) == 0 && (st.st_mode & 0111);
  d->name = strdup (name);
  d->host_path = strdup (host_path);
  d->container_path = strdup (container_path);
  if (!d->name || !d->host_path || !d->container_path)
    {
      free (d->name);
      free (d->host_path);
      free (d->container_path);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  r->n_deps++;
  r->sorted = false;
  return 0;
}

/* The interpreter must be at its PT_INTERP path, or the kernel cannot start
 * the program. So it takes the place of the same library found earlier as a
 * DT_NEEDED (a library may need ld-linux-x86-64.so.2 before any program is
 * added); ld.so satisfies that DT_NEEDED by soname, from itself. Between two
 * interpreters of the same name, the first wins. */
static int
add_interp_dep (struct reg_elf_resolver *r, const char *name, const char *host_path,
                const char *container_path, struct reg_error **err)
{
  if (tfind (name, &r->interps, (int (*) (const void *, const void *))strcmp))
    return 0;
  char *key = strdup (name);
  if (key == NULL
      || tsearch (key, &r->interps, (int (*) (const void *, const void *))strcmp) == NULL)
    {
      free (key);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  struct reg_elf_dep *d = find_dep (r, name);
  if (d == NULL)
    return add_dep (r, name, host_path, container_path, err);
  char *h = strdup (host_path), *c = strdup (container_path);
  if (h == NULL || c == NULL)
    {
      free (h);
      free (c);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  free (d->host_path);
  free (d->container_path);
  d->host_path = h;
  d->container_path = c;
  _cleanup_free_ char *full = in_root (r, host_path);
  struct stat st;
  d->exec = full && stat (full, &st) == 0 && (st.st_mode & 0111);
  return 0;
}

/* ---- the walk ---- */

static int analyse (struct reg_elf_resolver *r, const char *real, const struct object **chain,
                    int depth, struct reg_error **err);

static int
add_interp (struct reg_elf_resolver *r, const struct object *o, struct reg_error **err)
{
  _cleanup_free_ char *real = real_in_root (r, o->interp);
  if (real == NULL)
    return reg_error_set (err, ENOENT, "%s: interpreter %s not found", o->path, o->interp);
  _cleanup_free_ char *full = in_root (r, real);
  struct object io = { 0 };
  int k = full ? read_object (full, real, &io, err) : -1;
  if (k < 0)
    return -1;
  _cleanup_free_ char *name = reg_elfdeps_soname_to_lib (io.soname ? io.soname : o->interp);
  object_clear (&io);
  if (k == 0)
    return reg_error_set (err, EINVAL, "%s: interpreter %s is not an ELF file", o->path, o->interp);
  if (name == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  return add_interp_dep (r, name, real, o->interp, err);
}

static int
analyse (struct reg_elf_resolver *r, const char *real, const struct object **chain, int depth,
         struct reg_error **err)
{
  if (depth >= MAX_DEPTH)
    return reg_error_set (err, ELOOP, "%s: libraries nested deeper than %d", real, MAX_DEPTH);
  char *key = strdup (real);
  if (key == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  char **slot = tsearch (key, &r->analysed, (int (*) (const void *, const void *))strcmp);
  if (slot == NULL)
    {
      free (key);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  if (*slot != key)
    {
      free (key);
      return 0; /* already done */
    }
  _cleanup_free_ char *full = in_root (r, real);
  struct object o = { 0 };
  int k = full ? read_object (full, real, &o, err) : reg_error_set (err, ENOMEM, "out of memory");
  if (k <= 0)
    return k;
  int ret = (o.path = strdup (real)) ? 0 : reg_error_set (err, ENOMEM, "out of memory");
  if (ret == 0 && o.interp)
    ret = add_interp (r, &o, err);
  /* The chain holds this object only while its dependencies are walked. */
  // cppcheck-suppress autoVariables
  chain[depth] = &o;
  /* glibc dlopen()s libgcc_s.so.1 to unwind in pthread_exit and
   * pthread_cancel (and aborts without it): an implicit, optional need of
   * libc.so.6, searched for like a DT_NEEDED of libc. */
  bool glibc = o.soname && strcmp (o.soname, GLIBC_SONAME) == 0;
  size_t n_needed = o.n_needed + (glibc ? 1 : 0);
  for (size_t i = 0; ret == 0 && i < n_needed; i++)
    {
      bool implicit = i == o.n_needed;
      const char *needed = implicit ? GLIBC_UNWINDER : o.needed[i];
      _cleanup_free_ char *dir = NULL, *file = NULL;
      if (!find_library (r, &o, chain, depth, needed, &dir, &file) && implicit)
        break; /* absent on the host too: the program behaves the same */
      if (file == NULL)
        {
          ret = reg_error_set (err, ENOENT,
                               "%s: needs %s, not found in RPATH/RUNPATH, ld.so.cache or the "
                               "default paths",
                               real, needed);
          break;
        }
      _cleanup_free_ char *lib_real = real_in_root (r, file);
      _cleanup_free_ char *dir_real = real_in_root (r, dir);
      if (lib_real == NULL || dir_real == NULL)
        {
          ret = reg_error_set (err, ENOENT, "%s: %s: cannot resolve %s", real, needed, file);
          break;
        }
      /* The name is the library's own soname when it has one. */
      _cleanup_free_ char *lib_full = in_root (r, lib_real);
      struct object lo = { 0 };
      if (lib_full == NULL || read_object (lib_full, lib_real, &lo, err) < 0)
        {
          ret = -1;
          break;
        }
      _cleanup_free_ char *name = reg_elfdeps_soname_to_lib (lo.soname ? lo.soname : needed);
      object_clear (&lo);
      _cleanup_free_ char *cpath = NULL;
      const char *base = strrchr (needed, '/') ? strrchr (needed, '/') + 1 : needed;
      if (name == NULL
          || asprintf (&cpath, "%s/%s", strcmp (dir_real, "/") == 0 ? "" : dir_real, base) < 0)
        {
          ret = reg_error_set (err, ENOMEM, "out of memory");
          break;
        }
      ret = add_dep (r, name, lib_real, cpath, err);
      if (ret == 0)
        ret = analyse (r, lib_real, chain, depth + 1, err);
    }
  chain[depth] = NULL;
  object_clear (&o);
  return ret;
}

/* ---- API ---- */

int
reg_elfdeps_resolver_new (const char *sysroot, struct reg_elf_resolver **out,
                          struct reg_error **err)
{
  if (elf_version (EV_CURRENT) == EV_NONE)
    return reg_error_set (err, EIO, "libelf: %s", elf_errmsg (-1));
  /* Canonical, so that real paths found inside it start with it. */
  char root[PATH_MAX] = "";
  if (sysroot && sysroot[0] && realpath (sysroot, root) == NULL)
    return reg_error_sys (err, errno, "sysroot %s", sysroot);
  struct reg_elf_resolver *r = calloc (1, sizeof *r);
  if (r == NULL || (r->sysroot = strdup (strcmp (root, "/") == 0 ? "" : root)) == NULL)
    {
      free (r);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  *out = r;
  return 0;
}

void
reg_elfdeps_resolver_free (struct reg_elf_resolver *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n_deps; i++)
    {
      free (r->deps[i].name);
      free (r->deps[i].host_path);
      free (r->deps[i].container_path);
    }
  free (r->deps);
  free (r->cache);
  if (r->cache_map)
    munmap (r->cache_map, r->cache_size);
  tdestroy (r->analysed, free);
  tdestroy (r->interps, free);
  free (r->sysroot);
  free (r);
}

int
reg_elfdeps_add (struct reg_elf_resolver *r, const char *host_path, struct reg_error **err)
{
  if (!reg_elfdeps_is_elf (r, host_path))
    return 0;
  _cleanup_free_ char *real = real_in_root (r, host_path);
  if (real == NULL)
    return reg_error_sys (err, errno, "%s: cannot resolve", host_path);
  const struct object *chain[MAX_DEPTH + 1];
  return analyse (r, real, chain, 0, err);
}

static int
cmp_dep (const void *a, const void *b)
{
  return strcmp (((const struct reg_elf_dep *)a)->name, ((const struct reg_elf_dep *)b)->name);
}

const struct reg_elf_dep *
reg_elfdeps_closure (struct reg_elf_resolver *r, size_t *n)
{
  if (!r->sorted && r->n_deps > 1)
    qsort (r->deps, r->n_deps, sizeof *r->deps, cmp_dep);
  r->sorted = true;
  *n = r->n_deps;
  return r->deps;
}
