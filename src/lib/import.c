#include "import.h"
#include "accounts.h"
#include "elfdeps.h"
#include "util.h"

#include <dirent.h>
#include <fnmatch.h>
#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ENTRIES 1000000
#define MAX_LINK_HOPS 16

struct importer
{
  struct reg_store *store;
  struct reg_elf_resolver *elf;
  struct reg_template *t;
  size_t cap;
  const char *ref;
  void *seen;   /* tsearch tree of imported container paths */
  char **added; /* objects this import put into the store: "hex" or "hex+x" */
  size_t n_added;
  char *const *exclude;
  const struct reg_import_options *o;
  size_t n_warnings;
};

static bool
excluded (const struct importer *im, const char *path)
{
  for (size_t i = 0; im->exclude && im->exclude[i]; i++)
    if (fnmatch (im->exclude[i], path, 0) == 0)
      return true;
  return false;
}

/* Put a host file into the store, remembering it when it is new. */
static int
put_object (struct importer *im, const char *host_path, bool exec, char digest[65],
            struct reg_error **err)
{
  bool created = false;
  if (reg_store_put_file (im->store, host_path, exec, digest, &created, err) < 0)
    return -1;
  if (!created)
    return 0;
  char **n = realloc (im->added, (im->n_added + 2) * sizeof *n);
  if (n == NULL)
    return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
  im->added = n;
  if (asprintf (&n[im->n_added], "%s%s", digest, exec ? "+x" : "") < 0)
    return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
  n[++im->n_added] = NULL;
  return 0;
}

void
reg_import_undo (struct reg_store *store, char **added)
{
  for (size_t i = 0; added && added[i]; i++)
    reg_store_unput (store, added[i], false); /* a name: "HEX+x" is the variant (store.h) */
  reg_strv_free (added);
}

static int
push_entry (struct importer *im, const char *path, enum reg_entry_kind kind, const char *value,
            struct reg_error **err)
{
  struct reg_template *t = im->t;
  /* A path reached twice (a link target also named on the command line) is
   * imported once. */
  char *key = strdup (path);
  if (key == NULL)
    return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
  char **found = tsearch (key, &im->seen, (int (*) (const void *, const void *))strcmp);
  if (found == NULL)
    {
      free (key);
      return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
    }
  if (*found != key)
    {
      free (key);
      return 0;
    }
  if (t->n_files == MAX_ENTRIES)
    return reg_error_set (err, EFBIG, "template %s: more than %d files", im->ref, MAX_ENTRIES);
  if (t->n_files == im->cap)
    {
      size_t cap = im->cap ? im->cap * 2 : 256;
      struct reg_entry *n = realloc (t->files, cap * sizeof *n);
      if (n == NULL)
        return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
      t->files = n;
      im->cap = cap;
    }
  struct reg_entry *e = &t->files[t->n_files];
  e->path = strdup (path);
  e->kind = kind;
  e->value = value ? strdup (value) : NULL;
  t->n_files++;
  if (e->path == NULL || (value && e->value == NULL))
    return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
  return 0;
}

/* Lexically normalise `path` in place: collapse "//", ".", "..". */
static void
normalize_path (char *path)
{
  char *out = path;
  const char *p = path;
  while (*p)
    {
      while (*p == '/')
        p++;
      const char *end = strchrnul (p, '/');
      size_t n = (size_t)(end - p);
      if (n == 0 || (n == 1 && p[0] == '.'))
        ;
      else if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          while (out > path && *--out != '/')
            ;
        }
      else
        {
          *out++ = '/';
          memmove (out, p, n);
          out += n;
        }
      p = end;
    }
  if (out == path)
    *out++ = '/';
  *out = '\0';
}

static int import_path (struct importer *im, const char *path, int hops, bool link_target,
                        struct reg_error **err);

/* Well-known secret files, as fnmatch patterns on the host path. */
static const char *const secret_patterns[] = {
  "/etc/shadow",
  "/etc/shadow-",
  "/etc/gshadow",
  "/etc/gshadow-",
  "/etc/security/opasswd",
  "/etc/sudoers",
  "/etc/krb5.keytab",
  "/etc/ssh/ssh_host_*_key",
  "/etc/ssl/private/*",
  "*/.ssh/id_*",
  "*/.ssh/authorized_keys",
  "*/.gnupg/*",
  "*/.netrc",
  "*/.pgpass",
  "*/.git-credentials",
  "*/.aws/credentials",
  "*/.docker/config.json",
  "*/.kube/config",
};

static bool
well_known_secret (const char *path)
{
  size_t len = strlen (path);
  if (len > 4 && strcmp (path + len - 4, ".pub") == 0)
    return false; /* a public key */
  for (size_t i = 0; i < sizeof secret_patterns / sizeof secret_patterns[0]; i++)
    if (fnmatch (secret_patterns[i], path, 0) == 0)
      return true;
  return false;
}

static int
warn (struct importer *im, const char *path, const char *why)
{
  if (im->o->warnings == NULL)
    return 0;
  if (im->n_warnings > 10)
    return 0; /* the count is told at the end */
  char *w = NULL;
  if (asprintf (&w,
                "%s is kept from other users on the host (%s) but readable by every user of "
                "the template's containers",
                path, why)
      < 0)
    return -1;
  size_t n = reg_strv_len (*im->o->warnings);
  char **v = realloc (*im->o->warnings, (n + 2) * sizeof *v);
  if (v == NULL)
    {
      free (w);
      return -1;
    }
  v[n] = w;
  v[n + 1] = NULL;
  *im->o->warnings = v;
  return 0;
}

/* A well-known secret is refused (unless allowed); a file other users of
 * the host may not read is taken with a warning. (Not its directories:
 * every file of a mktemp -d directory would warn.) */
static int
check_secret (struct importer *im, const char *path, const struct stat *st, struct reg_error **err)
{
  if (!im->o->allow_secret_files && well_known_secret (path))
    return reg_error_set (err, EINVAL,
                          "template %s: %s is a well-known secret file; every container of the "
                          "template could read it (--allow-secret-files imports it anyway)",
                          im->ref, path);
  if ((st->st_mode & S_IROTH) != 0)
    return 0;
  char why[64];
  snprintf (why, sizeof why, "it is mode %04o", (unsigned)(st->st_mode & 07777));
  im->n_warnings++;
  if (warn (im, path, why) < 0)
    return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
  return 0;
}

static int
import_file (struct importer *im, const char *path, const struct stat *st, struct reg_error **err)
{
  if (check_secret (im, path, st, err) < 0)
    return -1;
  bool exec = (st->st_mode & 0111) != 0;
  char digest[65];
  if (put_object (im, path, exec, digest, err) < 0)
    return reg_error_prefix (err, "template %s", im->ref);
  if (push_entry (im, path, exec ? REG_ENTRY_EXEC : REG_ENTRY_FILE, digest, err) < 0)
    return -1;
  if (reg_elfdeps_add (im->elf, path, err) < 0)
    return reg_error_prefix (err, "template %s", im->ref);
  return 0;
}

static int
import_symlink (struct importer *im, const char *path, int hops, struct reg_error **err)
{
  char target[PATH_MAX];
  ssize_t n = readlink (path, target, sizeof target - 1);
  if (n < 0)
    return reg_error_sys (err, errno, "template %s: readlink %s", im->ref, path);
  target[n] = '\0';
  if (push_entry (im, path, REG_ENTRY_SYMLINK, target, err) < 0)
    return -1;
  /* Bring the file the link points at, so the link works in the container. */
  _cleanup_free_ char *full = NULL;
  if (target[0] == '/')
    full = strdup (target);
  else
    {
      _cleanup_free_ char *dir = strdup (path);
      if (dir)
        *strrchr (dir, '/') = '\0';
      if (dir == NULL || asprintf (&full, "%s/%s", dir, target) < 0)
        full = NULL;
    }
  if (full == NULL)
    return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
  normalize_path (full);
  struct stat st;
  if (hops >= MAX_LINK_HOPS || stat (full, &st) < 0 || S_ISDIR (st.st_mode))
    return 0; /* dangling, looping or a directory: keep the link only */
  return import_path (im, full, hops + 1, true, err);
}

static int
import_dir (struct importer *im, const char *path, int hops, struct reg_error **err)
{
  DIR *d = opendir (path);
  if (d == NULL)
    return reg_error_sys (err, errno, "template %s: open directory %s", im->ref, path);
  /* Sorted walk keeps the import order, and so errors, deterministic. */
  struct dirent **list = NULL;
  closedir (d);
  int n = scandir (path, &list, NULL, alphasort);
  if (n < 0)
    return reg_error_sys (err, errno, "template %s: read directory %s", im->ref, path);
  int ret = 0, children = 0;
  for (int i = 0; i < n; i++)
    {
      const char *name = list[i]->d_name;
      if (ret == 0 && strcmp (name, ".") != 0 && strcmp (name, "..") != 0)
        {
          _cleanup_free_ char *child = NULL;
          if (asprintf (&child, "%s/%s", strcmp (path, "/") == 0 ? "" : path, name) < 0)
            ret = reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
          else if (!excluded (im, child))
            {
              ret = import_path (im, child, hops, false, err);
              children++;
            }
        }
      free (list[i]);
    }
  free (list);
  if (ret == 0 && children == 0)
    ret = push_entry (im, path, REG_ENTRY_DIR, NULL, err);
  return ret;
}

static const char *
kind_name (mode_t mode)
{
  if (S_ISFIFO (mode))
    return "a FIFO";
  if (S_ISSOCK (mode))
    return "a socket";
  if (S_ISCHR (mode))
    return "a character device";
  if (S_ISBLK (mode))
    return "a block device";
  return "of an unknown type";
}

/* Regular files, directories and symlinks are content; anything else (a
 * FIFO, a socket, a device) is refused wherever it is met, given directly
 * or found inside an imported directory. Only the target of a symlink is
 * let go: the link is content (e.g. one to /dev/null), what it points at is
 * the container's business. */
static int
import_path (struct importer *im, const char *path, int hops, bool link_target,
             struct reg_error **err)
{
  struct stat st;
  if (lstat (path, &st) < 0)
    {
      if (errno == ENOENT)
        return reg_error_set (err, ENOENT, "template %s: path %s does not exist", im->ref, path);
      return reg_error_sys (err, errno, "template %s: %s", im->ref, path);
    }
  if (S_ISLNK (st.st_mode))
    return import_symlink (im, path, hops, err);
  if (S_ISDIR (st.st_mode))
    return import_dir (im, path, hops, err);
  if (S_ISREG (st.st_mode))
    return import_file (im, path, &st, err);
  if (link_target)
    return 0;
  return reg_error_set (err, EINVAL,
                        "template %s: %s is not a regular file, directory or symlink (it is %s)",
                        im->ref, path, kind_name (st.st_mode));
}

static int
add_warning_count (struct importer *im, struct reg_error **err)
{
  char **v = *im->o->warnings;
  size_t n = reg_strv_len (v);
  char **nv = realloc (v, (n + 2) * sizeof *nv);
  if (nv == NULL)
    return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
  *im->o->warnings = nv;
  nv[n + 1] = NULL;
  if (asprintf (&nv[n], "and %zu more such files", im->n_warnings - 10) < 0)
    {
      nv[n] = NULL;
      return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
    }
  return 0;
}

static bool
has_path (const struct importer *im, const char *path)
{
  return tfind (path, &im->seen, (int (*) (const void *, const void *))strcmp) != NULL;
}

static int
add_libs (struct importer *im, struct reg_error **err)
{
  size_t n = 0;
  const struct reg_elf_dep *deps = reg_elfdeps_closure (im->elf, &n);
  struct reg_template *t = im->t;
  if (n > 0 && (t->libs = calloc (n, sizeof *t->libs)) == NULL)
    return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
  for (size_t i = 0; i < n; i++)
    {
      if (has_path (im, deps[i].container_path))
        continue; /* imported explicitly: already a file */
      char digest[65];
      if (put_object (im, deps[i].host_path, deps[i].exec, digest, err) < 0)
        return reg_error_prefix (err, "template %s: lib %s", im->ref, deps[i].name);
      struct reg_lib *lib = &t->libs[t->n_libs++];
      lib->name = strdup (deps[i].name);
      lib->entry.path = strdup (deps[i].container_path);
      lib->entry.kind = deps[i].exec ? REG_ENTRY_EXEC : REG_ENTRY_FILE;
      lib->entry.value = strdup (digest);
      if (!lib->name || !lib->entry.path || !lib->entry.value)
        return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
    }
  return 0;
}

/* Paths a trace met that the template must not take from the host. */
static bool
trace_skips (const char *path)
{
  static const char *const trees[] = { "/proc", "/sys", "/dev", NULL };
  static const char *const files[] = { "/",
                                       "/etc/ld.so.cache",
                                       "/etc/ld.so.preload",
                                       "/etc/passwd",
                                       "/etc/group",
                                       "/etc/shadow",
                                       "/etc/gshadow",
                                       "/etc/hosts",
                                       "/etc/hostname",
                                       "/etc/resolv.conf",
                                       "/etc/mtab",
                                       "/proc",
                                       "/dev",
                                       "/sys",
                                       "/tmp",
                                       "/app",
                                       "/etc",
                                       "/root",
                                       "/run",
                                       NULL };
  for (size_t i = 0; trees[i]; i++)
    {
      size_t n = strlen (trees[i]);
      if (strncmp (path, trees[i], n) == 0 && path[n] == '/')
        return true;
    }
  return reg_strv_contains (files, path) || !reg_util_path_is_clean (path);
}

static int
add_dir (struct importer *im, const char *path, struct reg_error **err)
{
  struct stat st;
  if (trace_skips (path) || excluded (im, path) || has_path (im, path) || lstat (path, &st) < 0
      || !S_ISDIR (st.st_mode))
    return 0;
  return push_entry (im, path, REG_ENTRY_DIR, NULL, err);
}

/* A path the traced command used: a file, or a symlink to one, comes with
 * its content; a directory as an empty directory; the rest is skipped. */
static int
import_traced (struct importer *im, const char *path, struct reg_error **err)
{
  struct stat st, target;
  if (trace_skips (path) || excluded (im, path) || has_path (im, path))
    return 0;
  if (lstat (path, &st) < 0)
    {
      /* Looked for and missing: the directory it was looked for in stays
       * (a server may create the file there). */
      _cleanup_free_ char *dir = strdup (path);
      if (dir == NULL)
        return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
      *strrchr (dir, '/') = '\0';
      return *dir ? add_dir (im, dir, err) : 0;
    }
  if (S_ISDIR (st.st_mode))
    return add_dir (im, path, err);
  if (S_ISLNK (st.st_mode) && (stat (path, &target) < 0 || !S_ISREG (target.st_mode)))
    return 0; /* to a directory or nowhere: its users come through the real path */
  if (!S_ISREG (st.st_mode) && !S_ISLNK (st.st_mode))
    return 0;
  return import_path (im, path, 0, true, err);
}

static int
import_trace (struct importer *im, const struct reg_import_options *o, struct reg_error **err)
{
  for (size_t i = 0; o->traced_written && o->traced_written[i]; i++)
    {
      _cleanup_free_ char *dir = strdup (o->traced_written[i]);
      if (dir == NULL)
        return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
      *strrchr (dir, '/') = '\0';
      if (*dir && add_dir (im, dir, err) < 0)
        return -1;
    }
  for (size_t i = 0; o->traced && o->traced[i]; i++)
    if (!reg_strv_contains ((const char *const *)o->traced_written, o->traced[i])
        && import_traced (im, o->traced[i], err) < 0)
      return -1;
  if (o->traced && im->t->n_files == 0)
    return reg_error_set (err, EINVAL,
                          "template %s: the trace found no file of the host (did the command "
                          "run?)",
                          im->ref);
  return 0;
}

static int
set_fields (struct importer *im, const struct reg_import_options *o, struct reg_error **err)
{
  struct reg_template *t = im->t;
  t->name = strdup (o->name);
  t->version = strdup (o->version);
  t->requires = reg_strv_dup (o->requires);
  t->env = reg_strv_dup (o->env);
  t->stop_signal = o->stop_signal;
  if (o->argv)
    t->entrypoint = reg_strv_dup (o->argv);
  else if (o->entrypoint)
    {
      t->entrypoint = calloc (2, sizeof (char *));
      if (t->entrypoint)
        t->entrypoint[0] = strdup (o->entrypoint);
    }
  if (reg_strv_len (o->expose) > 0 && (t->expose = reg_strv_dup (o->expose)) == NULL)
    return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
  if (!t->name || !t->version || !t->requires || !t->env
      || (o->entrypoint && (!t->entrypoint || !t->entrypoint[0])))
    return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
  for (size_t i = 0; o->dirs && o->dirs[i]; i++)
    {
      /* "PATH [MODE [USER[:GROUP]]]" */
      _cleanup_free_ char *path = strndup (o->dirs[i], strcspn (o->dirs[i], " "));
      const char *attrs = strchr (o->dirs[i], ' ');
      if (path == NULL)
        return reg_error_set (err, ENOMEM, "template %s: out of memory", im->ref);
      if (!has_path (im, path)
          && push_entry (im, path, REG_ENTRY_DIR, attrs ? attrs + 1 : NULL, err) < 0)
        return -1;
    }
  return 0;
}

static int
check_options (const struct reg_import_options *o, const char *ref, struct reg_error **err)
{
  if (!reg_template_name_ok (o->name))
    return reg_error_set (err, EINVAL, "template %s: invalid name \"%s\"", ref, o->name);
  if (!reg_template_version_ok (o->version))
    return reg_error_set (err, EINVAL, "template %s: invalid version \"%s\"", ref, o->version);
  if ((o->paths == NULL || o->paths[0] == NULL) && o->traced == NULL)
    return reg_error_set (err, EINVAL, "template %s: no path to import", ref);
  for (size_t i = 0; o->paths && o->paths[i]; i++)
    if (o->paths[i][0] != '/'
        || (strcmp (o->paths[i], "/") != 0 && !reg_util_path_is_clean (o->paths[i])))
      return reg_error_set (err, EINVAL,
                            "template %s: path \"%s\" must be absolute and normalized (no "
                            "\"..\", \".\" or \"//\")",
                            ref, o->paths[i]);
  if (o->entrypoint && !reg_util_path_is_clean (o->entrypoint))
    return reg_error_set (err, EINVAL, "template %s: entrypoint \"%s\" is not an absolute path",
                          ref, o->entrypoint);
  return 0;
}

/* Every named path exists, before anything is put into the store. */
static int
check_paths (const struct reg_import_options *o, const char *ref, struct reg_error **err)
{
  struct stat st;
  for (size_t i = 0; o->paths && o->paths[i]; i++)
    if (lstat (o->paths[i], &st) < 0)
      {
        if (errno == ENOENT || errno == ENOTDIR)
          return reg_error_set (err, ENOENT, "template %s: path %s does not exist", ref,
                                o->paths[i]);
        return reg_error_sys (err, errno, "template %s: %s", ref, o->paths[i]);
      }
  struct importer probe = { .exclude = o->exclude };
  for (size_t i = 0; o->paths && o->paths[i]; i++)
    if (excluded (&probe, o->paths[i]))
      return reg_error_set (err, EINVAL, "template %s: path %s is both named and excluded", ref,
                            o->paths[i]);
  for (size_t i = 0; o->dirs && o->dirs[i]; i++)
    {
      _cleanup_free_ char *path = strndup (o->dirs[i], strcspn (o->dirs[i], " "));
      const char *attrs = strchr (o->dirs[i], ' ');
      if (path == NULL || !reg_util_path_is_clean (path))
        return reg_error_set (err, EINVAL,
                              "template %s: directory \"%s\" is not an absolute, normalized path",
                              ref, o->dirs[i]);
      /* Set-ID directories come from images (format 4), not from here. */
      if (attrs && (!reg_template_dir_attrs_ok (attrs + 1) || attrs[1] > '1'))
        return reg_error_set (err, EINVAL,
                              "template %s: directory \"%s\": want PATH [MODE [USER[:GROUP]]] "
                              "(MODE four octal digits, no set-ID bits)",
                              ref, o->dirs[i]);
    }
  return 0;
}

int
reg_import_template (struct reg_store *store, const struct reg_import_options *o,
                     struct reg_template **out, char ***added, struct reg_error **err)
{
  *added = NULL;
  _cleanup_free_ char *ref = NULL;
  if (asprintf (&ref, "%s@%s", o->name ? o->name : "", o->version ? o->version : "") < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  if (check_options (o, ref, err) < 0 || check_paths (o, ref, err) < 0)
    return -1;
  _cleanup_strv_ char **users = NULL, **groups = NULL;
  if (reg_accounts_from_host (o->passwd_file ? o->passwd_file : "/etc/passwd",
                              o->group_file ? o->group_file : "/etc/group", o->users, o->groups,
                              &users, &groups, err)
      < 0)
    return reg_error_prefix (err, "template %s", ref);
  struct importer im = { .store = store, .ref = ref, .exclude = o->exclude, .o = o };
  if ((im.t = calloc (1, sizeof *im.t)) == NULL)
    return reg_error_set (err, ENOMEM, "template %s: out of memory", ref);
  if (reg_strv_len (users) > 0)
    im.t->users = reg_steal (&users);
  if (reg_strv_len (groups) > 0)
    im.t->groups = reg_steal (&groups);
  int ret = reg_elfdeps_resolver_new ("", &im.elf, err);
  for (size_t i = 0; ret == 0 && o->paths && o->paths[i]; i++)
    ret = import_path (&im, o->paths[i], 0, false, err);
  if (ret == 0)
    ret = import_trace (&im, o, err);
  if (ret == 0)
    ret = add_libs (&im, err);
  if (ret == 0)
    ret = set_fields (&im, o, err);
  if (ret == 0 && o->entrypoint && !has_path (&im, o->entrypoint))
    ret = reg_error_set (err, EINVAL, "template %s: entrypoint %s is not among the imported files",
                         ref, o->entrypoint);
  if (ret == 0)
    ret = reg_template_normalize (im.t, err);
  reg_elfdeps_resolver_free (im.elf);
  tdestroy (im.seen, free);
  if (ret == 0 && im.n_warnings > 10 && o->warnings)
    ret = add_warning_count (&im, err);
  if (ret < 0)
    {
      reg_template_free (im.t);
      reg_import_undo (store, im.added);
      return -1;
    }
  *out = im.t;
  *added = im.added;
  return 0;
}
