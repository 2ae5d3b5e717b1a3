#include "layer.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TREE 1000000
#define MAX_TARGET 4095

struct node
{
  char *path; /* "/usr/bin/x" */
  enum reg_entry_kind kind;
  char *value; /* digest hex or symlink target; NULL for a directory */
  unsigned mode, uid, gid;
  unsigned layer; /* the layer that last wrote it */
};

struct reg_layer_tree
{
  void *root;    /* tsearch tree of struct node, by path */
  void *parents; /* tsearch set of paths that have (or had) something below them */
  size_t n;
  unsigned layer; /* layers applied so far */
  struct reg_layer_dropped dropped;
};

static int
node_cmp (const void *a, const void *b)
{
  return strcmp (((const struct node *)a)->path, ((const struct node *)b)->path);
}

static int
str_cmp (const void *a, const void *b)
{
  return strcmp (a, b);
}

static void
node_free (void *p)
{
  struct node *n = p;
  free (n->path);
  free (n->value);
  free (n);
}

int
reg_layer_tree_new (struct reg_layer_tree **out, struct reg_error **err)
{
  if ((*out = calloc (1, sizeof **out)) == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  return 0;
}

void
reg_layer_tree_free (struct reg_layer_tree *t)
{
  if (t == NULL)
    return;
  tdestroy (t->root, node_free);
  tdestroy (t->parents, free);
  free (t);
}

const struct reg_layer_dropped *
reg_layer_tree_dropped (const struct reg_layer_tree *t)
{
  return &t->dropped;
}

size_t
reg_layer_tree_size (const struct reg_layer_tree *t)
{
  return t->n;
}

static struct node *
find (const struct reg_layer_tree *t, const char *path)
{
  struct node key = { .path = (char *)path };
  void *const *hit = tfind (&key, &t->root, node_cmp);
  return hit ? *(struct node *const *)hit : NULL;
}

static void
drop (struct reg_layer_tree *t, struct node *n)
{
  tdelete (n, &t->root, node_cmp);
  node_free (n);
  t->n--;
}

/* ---- removing what lies below a path ---- */

struct below
{
  const char *prefix; /* "/a/b" */
  size_t len;
  unsigned before; /* only nodes of layers before this one */
  struct node **hits;
  size_t n, cap;
  bool oom;
};

static void
collect (const void *p, VISIT which, void *data)
{
  struct below *b = data;
  struct node *n = *(struct node *const *)p;
  if (which != postorder && which != leaf)
    return;
  bool under
      = b->len == 1 ? true : strncmp (n->path, b->prefix, b->len) == 0 && n->path[b->len] == '/';
  if (!under || n->layer >= b->before)
    return;
  if (b->n == b->cap)
    {
      size_t cap = b->cap ? b->cap * 2 : 64;
      struct node **grown = realloc (b->hits, cap * sizeof *grown);
      if (grown == NULL)
        {
          b->oom = true;
          return;
        }
      b->hits = grown;
      b->cap = cap;
    }
  b->hits[b->n++] = n;
}

/* Remove every node strictly below `path` written before layer `before`. */
static int
remove_below (struct reg_layer_tree *t, const char *path, unsigned before, struct reg_error **err)
{
  struct below b = { .prefix = path, .len = strlen (path), .before = before };
  twalk_r (t->root, collect, &b);
  if (b.oom)
    {
      free (b.hits);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  for (size_t i = 0; i < b.n; i++)
    drop (t, b.hits[i]);
  free (b.hits);
  return 0;
}

/* ---- entry names ---- */

/* A tar name ("./usr/bin/", "usr//x") as a clean container path; NULL when
 * it is the root itself (*root set) or has a ".." (or is not clean). */
static char *
clean_name (const char *name, bool *root)
{
  *root = false;
  size_t len = strlen (name);
  char *out = malloc (len + 2);
  if (out == NULL)
    return NULL;
  size_t o = 0;
  for (const char *p = name; *p;)
    {
      size_t n = strcspn (p, "/");
      if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          free (out);
          return NULL;
        }
      if (n > 0 && !(n == 1 && p[0] == '.'))
        {
          out[o++] = '/';
          memcpy (out + o, p, n);
          o += n;
        }
      p += n;
      p += strspn (p, "/");
    }
  out[o] = '\0';
  if (o == 0)
    {
      *root = true;
      free (out);
      return NULL;
    }
  if (!reg_util_path_is_clean (out))
    {
      free (out);
      return NULL;
    }
  return out;
}

/* Below /proc, /dev or /sys (or one of them): the container's own mounts. */
static bool
is_kernel_mount (const char *path)
{
  static const char *const mounts[] = { "/proc", "/dev", "/sys" };
  for (size_t i = 0; i < 3; i++)
    {
      size_t n = strlen (mounts[i]);
      if (strncmp (path, mounts[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
        return true;
    }
  return false;
}

/* Every ancestor of path present in the tree must be a directory. */
static int
check_parents (const struct reg_layer_tree *t, const char *path, struct reg_error **err)
{
  _cleanup_free_ char *p = strdup (path);
  if (p == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  for (char *s = strchr (p + 1, '/'); s; s = strchr (s + 1, '/'))
    {
      *s = '\0';
      struct node *n = find (t, p);
      if (n && n->kind != REG_ENTRY_DIR)
        return reg_error_set (err, EINVAL, "entry %s: passes through %s, which is a %s", path, p,
                              n->kind == REG_ENTRY_SYMLINK ? "symlink" : "file");
      *s = '/';
    }
  return 0;
}

/* ---- one entry ---- */

struct apply
{
  struct reg_layer_tree *t;
  struct archive *a;
  const char *objects_dir;
  const struct reg_bundle_limits *limits;
  int64_t total, entries;
  json_t *ops; /* the entries applied, when recording */
};

static void
note_dropped (struct reg_layer_tree *t, size_t *counter, const char *path, const char *what)
{
  (*counter)++;
  if (t->dropped.example[0] == '\0')
    snprintf (t->dropped.example, sizeof t->dropped.example, "%s of %s", what, path);
}

/* Record path's ancestors as parents; stop at one known already (its own
 * ancestors are then known too). */
static int
add_parents (struct reg_layer_tree *t, const char *path)
{
  for (const char *s = strrchr (path, '/'); s && s != path; s = memrchr (path, '/', s - path))
    {
      char *p = strndup (path, s - path);
      if (p == NULL)
        return -1;
      void *hit = tsearch (p, &t->parents, str_cmp);
      if (hit == NULL)
        {
          free (p);
          return -1;
        }
      if (*(char **)hit != p)
        {
          free (p);
          break;
        }
    }
  return 0;
}

/* Put (or replace) the node for path. A non-directory takes the place of
 * everything below it (also of a directory only implied by its children). */
static int
put (struct apply *ap, const char *path, enum reg_entry_kind kind, char *value, unsigned mode,
     unsigned uid, unsigned gid, struct reg_error **err)
{
  struct reg_layer_tree *t = ap->t;
  struct node *old = find (t, path);
  if (kind != REG_ENTRY_DIR && tfind (path, &t->parents, str_cmp)
      && remove_below (t, path, UINT32_MAX, err) < 0)
    {
      free (value);
      return -1;
    }
  if (old)
    {
      free (old->value);
      old->value = value;
      old->kind = kind;
      old->mode = mode, old->uid = uid, old->gid = gid;
      old->layer = t->layer;
      return 0;
    }
  if (t->n >= MAX_TREE)
    {
      free (value);
      return reg_error_set (err, EFBIG, "entry %s: the image has more than %d entries", path,
                            MAX_TREE);
    }
  struct node *n = calloc (1, sizeof *n);
  if (n == NULL || (n->path = strdup (path)) == NULL)
    {
      free (n);
      free (value);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  *n = (struct node){ .path = n->path,
                      .kind = kind,
                      .value = value,
                      .mode = mode,
                      .uid = uid,
                      .gid = gid,
                      .layer = t->layer };
  if (tsearch (n, &t->root, node_cmp) == NULL || add_parents (t, path) < 0)
    {
      tdelete (n, &t->root, node_cmp);
      node_free (n);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  t->n++;
  return 0;
}

/* Read the entry's content into objects_dir/<hex>; *hex gets its digest. */
static int
stage_content (struct apply *ap, struct archive_entry *e, const char *path, char hex[65],
               struct reg_error **err)
{
  int64_t size = archive_entry_size (e);
  if (size > ap->limits->max_entry)
    return reg_error_set (err, EFBIG, "entry %s: %lld bytes is over the %lld byte bound per entry",
                          path, (long long)size, (long long)ap->limits->max_entry);
  char tmp[4096];
  snprintf (tmp, sizeof tmp, "%s/.tmp-XXXXXX", ap->objects_dir);
  _cleanup_close_ int fd = mkostemp (tmp, O_CLOEXEC);
  if (fd < 0)
    return reg_error_sys (err, errno, "entry %s: staging in %s", path, ap->objects_dir);
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  if (md == NULL)
    {
      unlink (tmp);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  EVP_DigestInit_ex (md, EVP_sha256 (), NULL);
  int ret = 0;
  int64_t got_total = 0;
  char buf[65536];
  for (;;)
    {
      la_ssize_t got = archive_read_data (ap->a, buf, sizeof buf);
      if (got == 0)
        break;
      if (got < 0)
        {
          ret = reg_error_set (err, EIO, "entry %s: %s", path, archive_error_string (ap->a));
          break;
        }
      got_total += got;
      ap->total += got;
      if (got_total > ap->limits->max_entry || ap->total > ap->limits->max_total)
        {
          ret = reg_error_set (err, EFBIG,
                               "entry %s: over the size bound (%lld bytes per entry, %lld per "
                               "layer)",
                               path, (long long)ap->limits->max_entry,
                               (long long)ap->limits->max_total);
          break;
        }
      EVP_DigestUpdate (md, buf, got);
      if (reg_util_write_all (fd, buf, got) < 0)
        {
          ret = reg_error_sys (err, errno, "entry %s: write %s", path, tmp);
          break;
        }
    }
  unsigned char raw[32];
  EVP_DigestFinal_ex (md, raw, NULL);
  EVP_MD_CTX_free (md);
  reg_util_hex (raw, 32, hex);
  /* The file's time travels to the object: Python checks a .pyc by it. */
  time_t mtime = archive_entry_mtime (e);
  if (ret == 0 && mtime > 0 && mtime <= (time_t)UINT32_MAX)
    {
      struct timespec times[2] = { { 0, UTIME_OMIT }, { mtime, 0 } };
      if (futimens (fd, times) < 0)
        ret = reg_error_sys (err, errno, "entry %s: set its time", path);
    }
  char dst[4096];
  snprintf (dst, sizeof dst, "%s/%s", ap->objects_dir, hex);
  if (ret == 0 && rename (tmp, dst) < 0)
    ret = reg_error_sys (err, errno, "entry %s: staging %s", path, dst);
  if (ret < 0)
    unlink (tmp);
  return ret;
}

/* One entry of a layer as the tree takes it, from the tar or from a
 * recorded list (reg_layer_replay). Types: 'w' whiteout (path ends in
 * .wh.NAME or .wh..wh..opq), 'h' hard link (value: target as written), 'd'
 * directory, 'l' symlink (value: target), 'f' regular file (value: digest). */
struct op
{
  char type;
  const char *path;
  const char *value;
  unsigned mode, uid, gid;
  const char *cap; /* a regular file's security.capability (revision 2), hex; NULL: none */
  bool xattrs;     /* extended attributes not kept (all but security.capability) */
};

static int
apply_whiteout (struct apply *ap, const char *path, struct reg_error **err)
{
  const char *base = strrchr (path, '/') + 1;
  size_t dir_len = (size_t)(base - path) - 1; /* "/a/.wh.x": "/a" */
  _cleanup_free_ char *dir = strndup (path, dir_len ? dir_len : 1);
  if (dir == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (strcmp (base, ".wh..wh..opq") == 0)
    return remove_below (ap->t, dir, ap->t->layer, err);
  const char *name = base + 4;
  if (strncmp (base, ".wh.", 4) != 0 || name[0] == '\0' || strncmp (name, ".wh.", 4) == 0)
    return reg_error_set (err, EINVAL, "entry %s: malformed whiteout", path);
  _cleanup_free_ char *victim = NULL;
  if (asprintf (&victim, "%s/%s", dir_len ? dir : "", name) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  struct node *n = find (ap->t, victim);
  if (tfind (victim, &ap->t->parents, str_cmp) /* also a directory only implied */
      && remove_below (ap->t, victim, ap->t->layer, err) < 0)
    return -1;
  if (n && n->layer < ap->t->layer)
    drop (ap->t, n);
  return 0;
}

static int
apply_hardlink (struct apply *ap, const char *path, const char *target, struct reg_error **err)
{
  bool root;
  _cleanup_free_ char *tp = clean_name (target, &root);
  struct node *src = tp ? find (ap->t, tp) : NULL;
  if (src == NULL || (src->kind != REG_ENTRY_FILE && src->kind != REG_ENTRY_EXEC))
    return reg_error_set (err, EINVAL, "entry %s: hard link to \"%s\", which is no regular file %s",
                          path, target, "of the image");
  char *value = strdup (src->value);
  if (value == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  return put (ap, path, src->kind, value, src->mode, src->uid, src->gid, err);
}

static int
apply_symlink (struct apply *ap, const struct op *o, struct reg_error **err)
{
  const char *target = o->value;
  if (target == NULL || target[0] == '\0' || strchr (target, '\n') || strchr (target, '\r')
      || strlen (target) > MAX_TARGET)
    return reg_error_set (err, EINVAL,
                          "entry %s: symlink target is empty, multi-line or longer than %d bytes",
                          o->path, MAX_TARGET);
  char *value = strdup (target);
  if (value == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  return put (ap, o->path, REG_ENTRY_SYMLINK, value, 0777, 0, 0, err);
}

static int
record (struct apply *ap, const struct op *o)
{
  if (ap->ops == NULL)
    return 0;
  json_t *j = json_pack ("{s:s%, s:s, s:i, s:i, s:i}", "t", &o->type, (size_t)1, "p", o->path, "m",
                         (int)o->mode, "u", (int)o->uid, "g", (int)o->gid);
  if (j && o->value)
    json_object_set_new (j, "v", json_string (o->value));
  if (j && o->cap)
    json_object_set_new (j, "c", json_string (o->cap));
  /* "X", not "x": records of engines before RET format 4 said "x" for any
   * attribute, a capability included (reg_layer_record_current). */
  if (j && o->xattrs)
    json_object_set_new (j, "X", json_true ());
  return j && json_array_append_new (ap->ops, j) == 0 ? 0 : -1;
}

/* Apply one op whose path is clean; record it when asked. */
static int
apply_op (struct apply *ap, const struct op *o, struct reg_error **err)
{
  if (check_parents (ap->t, o->path, err) < 0)
    return -1;
  if (record (ap, o) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (o->xattrs)
    note_dropped (ap->t, &ap->t->dropped.xattrs, o->path, "extended attributes");
  switch (o->type)
    {
    case 'w':
      return apply_whiteout (ap, o->path, err);
    case 'h':
      if (is_kernel_mount (o->path))
        {
          note_dropped (ap->t, &ap->t->dropped.hidden, o->path, "hidden entry");
          return 0;
        }
      return apply_hardlink (ap, o->path, o->value, err);
    case 'd':
      if (is_kernel_mount (o->path))
        return 0;
      return put (ap, o->path, REG_ENTRY_DIR, NULL, o->mode & 07777, o->uid, o->gid, err);
    case 'l':
    case 'f':
      break;
    default:
      return reg_error_set (err, EINVAL, "entry %s: unknown kind", o->path);
    }
  if (is_kernel_mount (o->path))
    {
      note_dropped (ap->t, &ap->t->dropped.hidden, o->path, "hidden entry");
      return 0;
    }
  if (o->type == 'l')
    {
      if (o->uid != 0 || o->gid != 0)
        note_dropped (ap->t, &ap->t->dropped.owners, o->path, "owner of the symlink");
      return apply_symlink (ap, o, err);
    }
  if (o->value == NULL || !reg_util_is_sha256_hex (o->value))
    return reg_error_set (err, EINVAL, "entry %s: no content digest", o->path);
  char *value = NULL;
  if (reg_layer_file_value (o->value, o->mode, o->uid, o->gid, o->cap, &value) < 0)
    return reg_error_set (err, EINVAL,
                          "entry %s: owner %u:%u or security.capability \"%s\" malformed", o->path,
                          o->uid, o->gid, o->cap ? o->cap : "");
  enum reg_entry_kind kind = (o->mode & 0111) ? REG_ENTRY_EXEC : REG_ENTRY_FILE;
  return put (ap, o->path, kind, value, o->mode, o->uid, o->gid, err);
}

/* The kept attribute of a tar entry: a regular file's security.capability
 * as revision 2 (a revision-3 value for the root of the initial user
 * namespace, rootid 0, is the same capability); every other attribute, and
 * a capability for another namespace's root, is counted as not kept. */
static void
read_xattrs (struct archive_entry *e, mode_t type, char cap[2 * REG_STORE_CAP_SIZE + 1],
             struct op *o)
{
  const char *name;
  const void *value;
  size_t size;
  archive_entry_xattr_reset (e);
  while (archive_entry_xattr_next (e, &name, &value, &size) == ARCHIVE_OK)
    {
      const unsigned char *v = value;
      static const unsigned char root_id[4] = { 0, 0, 0, 0 };
      bool v2 = size == 20 && v[3] == 2,
           v3 = size == 24 && v[3] == 3 && !memcmp (v + 20, root_id, 4);
      if (type != AE_IFREG || strcmp (name, "security.capability") != 0 || (!v2 && !v3)
          || (v[0] & ~1u) != 0 || v[1] != 0 || v[2] != 0)
        {
          o->xattrs = true;
          continue;
        }
      unsigned char c[REG_STORE_CAP_SIZE];
      memcpy (c, v, REG_STORE_CAP_SIZE);
      c[3] = 2;
      reg_util_hex (c, REG_STORE_CAP_SIZE, cap);
      o->cap = cap;
    }
}

int
reg_layer_file_value (const char *hex, unsigned mode, unsigned uid, unsigned gid, const char *cap,
                      char **out)
{
  *out = NULL;
  char attrs[128];
  snprintf (attrs, sizeof attrs, "%04o-%u-%u%s%s", mode & 07777, uid, gid, cap ? "-" : "",
            cap ? cap : "");
  struct reg_store_attrs a;
  if (reg_store_attrs_parse (attrs, &a))
    return asprintf (out, "%s+%s", hex, attrs) < 0 ? (*out = NULL, -1) : 0;
  /* Not a variant: the default attributes, or malformed (uid 2^32-1, a cap
   * that is no revision-2 value): tell which by one that is surely not
   * default. */
  snprintf (attrs, sizeof attrs, "4000-%u-%u%s%s", uid, gid, cap ? "-" : "", cap ? cap : "");
  if (!reg_store_attrs_parse (attrs, &a))
    return -1;
  return (*out = strdup (hex)) ? 0 : -1;
}

/* The tar entry e at clean path as an op (a regular file's content staged). */
static int
apply_entry (struct apply *ap, struct archive_entry *e, const char *path, struct reg_error **err)
{
  mode_t type = archive_entry_filetype (e);
  int64_t uid = archive_entry_uid (e), gid = archive_entry_gid (e);
  if (uid < 0 || gid < 0 || uid >= UINT32_MAX || gid >= UINT32_MAX)
    return reg_error_set (err, EINVAL, "entry %s: owner %lld:%lld out of range", path,
                          (long long)uid, (long long)gid);
  struct op o = {
    .path = path, .mode = archive_entry_perm (e) & 07777, .uid = (unsigned)uid, .gid = (unsigned)gid
  };
  char hex[65], cap[2 * REG_STORE_CAP_SIZE + 1];
  read_xattrs (e, type, cap, &o);
  const char *base = strrchr (path, '/') + 1;
  if (strncmp (base, ".wh.", 4) == 0)
    o.type = 'w';
  else if ((o.value = archive_entry_hardlink (e)) != NULL)
    o.type = 'h';
  else if (type == AE_IFDIR)
    o.type = 'd';
  else if (type == AE_IFLNK)
    o.type = 'l', o.value = archive_entry_symlink (e);
  else if (is_kernel_mount (path))
    {
      /* A device node or file the container's own /dev (/proc, /sys) hides. */
      note_dropped (ap->t, &ap->t->dropped.hidden, path, "hidden entry");
      return 0;
    }
  else if (type != AE_IFREG)
    return reg_error_set (err, EINVAL,
                          "entry %s: a device node, FIFO or socket (only files, directories, "
                          "symlinks and hard links are accepted)",
                          path);
  else if (check_parents (ap->t, path, err) < 0 || stage_content (ap, e, path, hex, err) < 0)
    return -1;
  else
    o.type = 'f', o.value = hex;
  return apply_op (ap, &o, err);
}

static int
apply_next (struct apply *ap, struct archive_entry *e, struct reg_error **err)
{
  const char *name = archive_entry_pathname (e);
  if (name == NULL)
    return reg_error_set (err, EINVAL, "entry without a name");
  if (++ap->entries > ap->limits->max_entries)
    return reg_error_set (err, EFBIG, "entry %s: over the bound of %lld entries per layer", name,
                          (long long)ap->limits->max_entries);
  bool root;
  _cleanup_free_ char *path = clean_name (name, &root);
  if (root)
    return 0; /* "./": the root directory, which is always the container's */
  if (path == NULL)
    return reg_error_set (err, EINVAL,
                          "entry \"%s\": path escapes the root or is not clean (\"..\", too long, "
                          "control characters)",
                          name);
  return apply_entry (ap, e, path, err);
}

int
reg_layer_apply (struct reg_layer_tree *t, const char *path, const char *objects_dir,
                 const struct reg_bundle_limits *limits, json_t **ops, struct reg_error **err)
{
  struct archive *a = archive_read_new ();
  if (a == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  t->layer++;
  struct apply ap = { .t = t, .a = a, .objects_dir = objects_dir, .limits = limits };
  int ret = 0;
  if (ops && (ap.ops = json_array ()) == NULL)
    ret = reg_error_set (err, ENOMEM, "out of memory");
  else if (archive_read_support_format_tar (a) != ARCHIVE_OK
           || archive_read_support_filter_gzip (a) != ARCHIVE_OK
           || archive_read_support_filter_zstd (a) < ARCHIVE_WARN
           || archive_read_open_filename (a, path, 65536) != ARCHIVE_OK)
    ret = reg_error_set (err, EINVAL, "malformed or truncated: %s", archive_error_string (a));
  struct archive_entry *e;
  int r = ARCHIVE_OK;
  while (ret == 0 && (r = archive_read_next_header (a, &e)) == ARCHIVE_OK)
    ret = apply_next (&ap, e, err);
  if (ret == 0 && r != ARCHIVE_EOF)
    ret = reg_error_set (err, EINVAL, "malformed or truncated: %s", archive_error_string (a));
  archive_read_free (a);
  if (ret == 0 && ops)
    *ops = ap.ops;
  else
    json_decref (ap.ops);
  return ret;
}

int
reg_layer_replay (struct reg_layer_tree *t, json_t *ops, struct reg_error **err)
{
  t->layer++;
  struct apply ap = { .t = t };
  if (!json_is_array (ops) || json_array_size (ops) > (size_t)MAX_TREE)
    return reg_error_set (err, EINVAL, "recorded layer: not a list of entries");
  size_t i;
  json_t *j;
  json_array_foreach (ops, i, j)
  {
    const char *type = json_string_value (json_object_get (j, "t"));
    const char *name = json_string_value (json_object_get (j, "p"));
    bool root;
    _cleanup_free_ char *path = name ? clean_name (name, &root) : NULL;
    if (type == NULL || strlen (type) != 1 || path == NULL || strcmp (path, name) != 0)
      return reg_error_set (err, EINVAL, "recorded layer: entry %zu is malformed", i);
    struct op o = { .type = type[0],
                    .path = path,
                    .value = json_string_value (json_object_get (j, "v")),
                    .mode = (unsigned)json_integer_value (json_object_get (j, "m")) & 07777,
                    .uid = (unsigned)json_integer_value (json_object_get (j, "u")),
                    .gid = (unsigned)json_integer_value (json_object_get (j, "g")),
                    .cap = json_string_value (json_object_get (j, "c")),
                    .xattrs = json_is_true (json_object_get (j, "X")) };
    if (json_object_get (j, "x"))
      return reg_error_set (err, EINVAL,
                            "recorded layer: entry %zu was recorded before RET format 4", i);
    if (apply_op (&ap, &o, err) < 0)
      return -1;
  }
  return 0;
}

/* ---- the tree as template entries ---- */

struct listing
{
  struct reg_entry *files;
  size_t n;
  bool format2, oom;
};

static void
list_one (const void *p, VISIT which, void *data)
{
  struct listing *l = data;
  const struct node *n = *(struct node *const *)p;
  if (which != postorder && which != leaf)
    return;
  struct reg_entry *f = &l->files[l->n];
  f->path = strdup (n->path);
  f->kind = n->kind;
  if (n->kind != REG_ENTRY_DIR)
    f->value = strdup (n->value);
  else if (n->mode != 0755 || n->uid != 0 || n->gid != 0)
    {
      if (asprintf (&f->value, "%04o %u:%u", n->mode, n->uid, n->gid) < 0)
        f->value = NULL;
      l->format2 = true;
      if (f->value == NULL)
        l->oom = true;
    }
  if (f->path == NULL || (n->kind != REG_ENTRY_DIR && f->value == NULL))
    l->oom = true;
  l->n++;
}

int
reg_layer_tree_entries (const struct reg_layer_tree *t, struct reg_entry **files, size_t *n,
                        bool *format2, struct reg_error **err)
{
  struct listing l = { .files = calloc (t->n + 1, sizeof *l.files) };
  if (l.files == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  twalk_r (t->root, list_one, &l);
  if (l.oom)
    {
      for (size_t i = 0; i < l.n; i++)
        free (l.files[i].path), free (l.files[i].value);
      free (l.files);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  *files = l.files;
  *n = l.n;
  *format2 = l.format2;
  return 0;
}
