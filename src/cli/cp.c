/* reg cp CONTAINER:PATH HOST-PATH | reg cp HOST-PATH CONTAINER:PATH, and
 * reg diff CONTAINER.
 *
 * Docker's rules: the destination, when it is a directory, receives the
 * source under its own name; otherwise the source is written as the
 * destination (its parent must exist). HOST-PATH "-" is a tar archive on
 * stdout (or read from stdin). Both sides extract with copy.h, which never
 * writes through a symlink and refuses absolute or ".." entries; regd
 * refuses a container path that escapes the container (through ".." or a
 * symlink). Exit status 0, or 1 with the reason. */
#include "archive_dl.h"
#include "cli.h"
#include "copy.h"
#include "options.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct cli_spec cp_spec
    = CLI_SPEC ("cp", "CONTAINER:PATH HOST-PATH|-  |  HOST-PATH|- CONTAINER:PATH",
                "Copy files between a container and the host (\"-\": a tar archive on stdout or "
                "stdin).",
                NULL);
static const struct cli_spec diff_spec
    = CLI_SPEC ("diff", "CONTAINER",
                "The files a container added (A), changed (C) or deleted (D), from its upper "
                "layer.",
                NULL);
const struct cli_spec *const cli_specs_cp[] = { &cp_spec, &diff_spec, NULL };

/* "web:/etc/hosts" -> ref "web", path "/etc/hosts"; NULL for a host path
 * (a '/' before any ':', or no ':'). */
static char *
container_part (const char *arg, const char **path)
{
  const char *colon = strchr (arg, ':');
  if (colon == NULL || colon == arg || memchr (arg, '/', (size_t)(colon - arg)))
    return NULL;
  *path = colon + 1;
  return strndup (arg, (size_t)(colon - arg));
}

static char *
archive_path (struct reg_client *c, const char *ref, const char *path)
{
  char *r = client_escape (c, ref), *p = client_escape (c, path), *out = NULL;
  if (r && p && asprintf (&out, "/v1/containers/%s/archive?path=%s", r, p) < 0)
    out = NULL;
  free (r);
  free (p);
  return out;
}

/* Where a copy lands on the host: into dst when it is a directory, else
 * into its parent as dst's last name. */
static int
host_destination (const char *dst, char **rename_to)
{
  struct stat st;
  if (stat (dst, &st) == 0 && S_ISDIR (st.st_mode))
    return open (dst, O_PATH | O_DIRECTORY | O_CLOEXEC);
  _cleanup_free_ char *a = strdup (dst), *b = strdup (dst);
  if (a == NULL || b == NULL)
    return -1;
  *rename_to = strdup (basename (b));
  return open (dirname (a), O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static int
extract_spool (int spool, const char *dst, const char *what)
{
  struct stat st;
  if (fstat (spool, &st) < 0 || st.st_size == 0)
    {
      fprintf (stderr, "reg cp: %s: empty archive from regd\n", what);
      return 1;
    }
  void *map = mmap (NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, spool, 0);
  _cleanup_free_ char *rename_to = NULL;
  _cleanup_close_ int dest = host_destination (dst, &rename_to);
  _cleanup_error_ struct reg_error *err = NULL;
  int ret = 0;
  if (map == MAP_FAILED)
    ret = fprintf (stderr, "reg cp: read the archive: %s\n", strerror (errno)) > 0;
  else if (dest < 0)
    ret = fprintf (stderr, "reg cp: %s: no such directory on the host\n", dst) > 0;
  else if (reg_copy_untar_at (dest, rename_to, map, (size_t)st.st_size, &err) < 0)
    ret = fprintf (stderr, "reg cp: into %s: %s\n", dst, err->msg) > 0;
  if (map != MAP_FAILED)
    munmap (map, (size_t)st.st_size);
  return ret;
}

/* The container's archive arrives as stdout frames: into a spool file
 * (or straight to stdout for "-"), then extracted. */
static int
copy_out (struct reg_client *c, const char *ref, const char *path, const char *dst)
{
  _cleanup_free_ char *url = archive_path (c, ref, path);
  bool raw = strcmp (dst, "-") == 0;
  int spool = raw ? -1 : open (getenv ("TMPDIR") ?: "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  int saved = raw ? -1 : dup (1);
  if (url == NULL || (!raw && (spool < 0 || saved < 0 || dup2 (spool, 1) < 0)))
    {
      fprintf (stderr, "reg cp: cannot make a spool file: %s\n", strerror (errno));
      return 1;
    }
  int exit_code = -1;
  json_t *reply = NULL;
  long status = client_stream (c, "GET", url, NULL, &exit_code, &reply);
  if (!raw)
    {
      dup2 (saved, 1);
      close (saved);
    }
  int ret = 0;
  if (status != 200)
    ret = client_fail ("cp", status, reply);
  else if (exit_code != 0)
    ret = 1; /* regd said why on stderr */
  else if (!raw)
    ret = extract_spool (spool, dst, path);
  json_decref (reply);
  if (spool >= 0)
    close (spool);
  return ret;
}

struct membuf
{
  char *data;
  size_t len, cap;
};

static int
append (void *data, const void *buf, size_t len)
{
  struct membuf *m = data;
  if (m->len + len > m->cap)
    {
      size_t cap = (m->len + len) * 2;
      char *n = realloc (m->data, cap);
      if (n == NULL)
        return -1;
      m->data = n;
      m->cap = cap;
    }
  memcpy (m->data + m->len, buf, len);
  m->len += len;
  return 0;
}

/* The host source as a tar (or stdin's, for "-"). */
static int
host_archive (const char *src, struct membuf *m)
{
  _cleanup_error_ struct reg_error *err = NULL;
  if (strcmp (src, "-") == 0)
    {
      char buf[65536];
      size_t n;
      while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
        if (append (m, buf, n) < 0)
          return -1;
      return 0;
    }
  _cleanup_free_ char *a = strdup (src), *b = strdup (src);
  struct stat st;
  if (a == NULL || b == NULL || lstat (src, &st) < 0)
    return fprintf (stderr, "reg cp: %s: %s\n", src, strerror (errno)), -1;
  const char *name = basename (b);
  _cleanup_close_ int parent = open (dirname (a), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (parent < 0 || reg_copy_tar (parent, name, name, append, m, &err) < 0)
    return fprintf (stderr, "reg cp: %s: %s\n", src, err ? err->msg : strerror (errno)), -1;
  return 0;
}

static int
copy_in (struct reg_client *c, const char *src, const char *ref, const char *path)
{
  struct membuf tar = { 0 };
  _cleanup_free_ char *url = archive_path (c, ref, path);
  if (url == NULL || host_archive (src, &tar) < 0)
    {
      free (tar.data);
      return 1;
    }
  json_t *reply = NULL;
  long status = client_post_data (c, url, "application/x-tar", tar.data, tar.len, &reply);
  int ret = status == 200 ? 0 : client_fail ("cp", status, reply);
  json_decref (reply);
  free (tar.data);
  return ret;
}

int
cmd_cp (struct reg_client *c, int argc, char **argv)
{
  int first = cli_args (&cp_spec, argc, argv, 2, 2);
  if (first <= 0)
    return -first;
  argv += first - 1;
  if (cli_archive_load () < 0)
    return 1;
  const char *src_path = NULL, *dst_path = NULL;
  _cleanup_free_ char *src_ref = container_part (argv[1], &src_path);
  _cleanup_free_ char *dst_ref = container_part (argv[2], &dst_path);
  if ((src_ref == NULL) == (dst_ref == NULL))
    return cli_usage_error (&cp_spec, "give exactly one CONTAINER:PATH (the other is a host path)");
  if ((src_ref ? src_path : dst_path)[0] != '/')
    {
      fprintf (stderr, "reg cp: %s: the container path must be absolute\n",
               src_ref ? argv[1] : argv[2]);
      return 1;
    }
  return src_ref ? copy_out (c, src_ref, src_path, argv[2])
                 : copy_in (c, argv[1], dst_ref, dst_path);
}

int
cmd_diff (struct reg_client *c, int argc, char **argv)
{
  int first = cli_args (&diff_spec, argc, argv, 1, 1);
  if (first <= 0)
    return -first;
  _cleanup_free_ char *ref = client_escape (c, argv[first]);
  char path[512];
  snprintf (path, sizeof path, "/v1/containers/%s/changes", ref ? ref : "");
  json_t *reply = NULL;
  long status = client_call (c, "GET", path, NULL, &reply);
  int ret = 0;
  if (status == 200)
    for (size_t i = 0; i < json_array_size (reply); i++)
      {
        json_t *ch = json_array_get (reply, i);
        json_int_t kind = json_integer_value (json_object_get (ch, "Kind"));
        printf ("%c %s\n",
                kind == 1   ? 'A'
                : kind == 2 ? 'D'
                            : 'C',
                json_string_value (json_object_get (ch, "Path")));
      }
  else
    ret = client_fail ("diff", status, reply);
  json_decref (reply);
  return ret;
}
