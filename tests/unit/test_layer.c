/* Unit tests of layer application (layer.h): layers built here with
 * libarchive are applied in order into a tree, and the tree's entries are
 * checked — whiteouts, opaque directories (only the layers below), hard
 * links, symlinks, directory modes and owners, a directory replaced by a
 * file, kept modes, owners, set-ID bits and security.capability (store
 * variants, RET format 4), dropped symlink owners and other attributes; and hostile layers (..,
 * devices, paths through symlinks and files, dangling hard links, the bounds, garbage) are refused
 * naming the entry. Image config mapping (image.h) too: run defaults, unsupported fields, the index
 * platform choice. */
#include "image.h"
#include "layer.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

struct fixture
{
  char dir[64];
  char objects[96];
  char layer[96];
  struct reg_layer_tree *tree;
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  strcpy (f->dir, "/tmp/reg-test-layer-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  snprintf (f->objects, sizeof f->objects, "%s/obj", f->dir);
  snprintf (f->layer, sizeof f->layer, "%s/layer.tar.gz", f->dir);
  assert_int_equal (mkdir (f->objects, 0700), 0);
  assert_int_equal (reg_layer_tree_new (&f->tree, NULL), 0);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  reg_layer_tree_free (f->tree);
  assert_int_equal (reg_util_rm_rf (f->dir, NULL), 0);
  free (f);
  return 0;
}

/* One tar entry: type 'f' file, 'd' dir, 'l' symlink, 'h' hard link, 'c' char device. */
struct e
{
  char type;
  const char *name;
  const char *data; /* file content, or link target */
  unsigned mode, uid;
};

/* Extended attributes write_layer gives to the entries of these names. */
struct xattr
{
  const char *entry, *name;
  const void *value;
  size_t size;
};
static const struct xattr *layer_xattrs;

static void
write_layer (const char *path, const struct e *es)
{
  struct archive *a = archive_write_new ();
  assert_int_equal (archive_write_set_format_pax_restricted (a), ARCHIVE_OK);
  assert_int_equal (archive_write_add_filter_gzip (a), ARCHIVE_OK);
  assert_int_equal (archive_write_open_filename (a, path), ARCHIVE_OK);
  for (const struct e *x = es; x->type; x++)
    {
      struct archive_entry *ae = archive_entry_new ();
      archive_entry_set_pathname (ae, x->name);
      archive_entry_set_uid (ae, x->uid);
      archive_entry_set_gid (ae, x->uid);
      archive_entry_set_mtime (ae, 1700000000, 0);
      size_t size = 0;
      switch (x->type)
        {
        case 'f':
          archive_entry_set_filetype (ae, AE_IFREG);
          size = strlen (x->data);
          break;
        case 'd':
          archive_entry_set_filetype (ae, AE_IFDIR);
          break;
        case 'l':
          archive_entry_set_filetype (ae, AE_IFLNK);
          archive_entry_set_symlink (ae, x->data);
          break;
        case 'h':
          archive_entry_set_filetype (ae, AE_IFREG);
          archive_entry_set_hardlink (ae, x->data);
          break;
        case 'c':
          archive_entry_set_filetype (ae, AE_IFCHR);
          archive_entry_set_rdev (ae, makedev (1, 3));
          break;
        }
      archive_entry_set_perm (ae, x->mode ? x->mode : (x->type == 'd' ? 0755 : 0644));
      archive_entry_set_size (ae, size);
      for (const struct xattr *xa = layer_xattrs; xa && xa->entry; xa++)
        if (strcmp (xa->entry, x->name) == 0)
          archive_entry_xattr_add_entry (ae, xa->name, xa->value, xa->size);
      assert_int_equal (archive_write_header (a, ae), ARCHIVE_OK);
      if (size)
        assert_int_equal (archive_write_data (a, x->data, size), (la_ssize_t)size);
      archive_entry_free (ae);
    }
  assert_int_equal (archive_write_close (a), ARCHIVE_OK);
  archive_write_free (a);
}

static int
apply (struct fixture *f, const struct e *es, struct reg_error **err)
{
  struct reg_bundle_limits limits = { 1 << 20, 4 << 20, 100 };
  write_layer (f->layer, es);
  return reg_layer_apply (f->tree, f->layer, f->objects, &limits, NULL, err);
}

/* "path=value" lines of the tree ("dir" / "-> t" / object name / "MODE U:G"). */
static char *
listing (struct fixture *f)
{
  struct reg_entry *files = NULL;
  size_t n = 0;
  bool v2;
  assert_int_equal (reg_layer_tree_entries (f->tree, &files, &n, &v2, NULL), 0);
  char *out = strdup ("");
  for (size_t i = 0; i < n; i++)
    {
      const char *v = files[i].value;
      bool file = files[i].kind == REG_ENTRY_FILE || files[i].kind == REG_ENTRY_EXEC;
      char *name = file ? reg_store_name (v, files[i].kind == REG_ENTRY_EXEC) : NULL;
      char *next = NULL;
      assert_true (asprintf (&next, "%s%s=%s%s\n", out, files[i].path,
                             files[i].kind == REG_ENTRY_SYMLINK ? "-> " : "",
                             file                                          ? name
                             : files[i].kind == REG_ENTRY_DIR && v == NULL ? "dir"
                                                                           : v)
                   > 0);
      free (name);
      free (out);
      out = next;
      free (files[i].path);
      free (files[i].value);
    }
  free (files);
  return out;
}

static void
test_layers_in_order (void **state)
{
  struct fixture *f = *state;
  struct e l1[] = { { 'd', "./", NULL, 0, 0 },
                    { 'd', "data/", NULL, 0, 0 },
                    { 'f', "data/a", "a\n", 0, 0 },
                    { 'f', "data/old", "old\n", 0, 0 },
                    { 'f', "opq/below", "below\n", 0, 0 },
                    { 'd', "gone/", NULL, 0, 0 },
                    { 'f', "gone/x", "x\n", 0, 0 },
                    { 'f', "implied/y/z", "z\n", 0, 0 },
                    { 'f', "bin/tool", "#!/bin/sh\n", 04755, 0 },
                    { 0 } };
  assert_int_equal (apply (f, l1, NULL), 0);
  struct e l2[] = { { 'f', "data/.wh.old", "", 0, 0 },
                    { 'f', ".wh.gone", "", 0, 0 },
                    { 'f', ".wh.implied", "", 0, 0 },
                    { 'f', "opq/new", "new\n", 0, 0 }, /* before the opaque marker: kept */
                    { 'f', "opq/.wh..wh..opq", "", 0, 0 },
                    { 'h', "data/hl", "data/a", 0, 0 },
                    { 'l', "data/link", "a", 0, 0 },
                    { 'l', "data/ownlink", "a", 0, 5 },
                    { 'd', "data/priv", NULL, 0700, 1000 },
                    { 'f', "data/owned", "o\n", 0600, 1000 },
                    { 0 } };
  assert_int_equal (apply (f, l2, NULL), 0);
  char *got = listing (f);
  /* sha256("a\n") and friends */
  char a[65], o[65], n[65], t[65];
  FILE *p = popen ("for s in 'a' 'o' 'new' '#!/bin/sh'; do printf '%s\\n' \"$s\" | sha256sum | "
                   "cut -c1-64; done",
                   "r");
  assert_non_null (p);
  assert_int_equal (fscanf (p, "%64s %64s %64s %64s", a, o, n, t), 4);
  pclose (p);
  char *want = NULL;
  assert_true (asprintf (&want,
                         "/bin/tool=%s+4755-0-0\n/data=dir\n/data/a=%s\n/data/hl=%s\n"
                         "/data/link=-> a\n/data/owned=%s+0600-1000-1000\n/data/ownlink=-> a\n"
                         "/data/priv=0700 1000:1000\n/opq/new=%s\n",
                         t, a, a, o, n)
               > 0);
  assert_string_equal (got, want);
  const struct reg_layer_dropped *d = reg_layer_tree_dropped (f->tree);
  assert_int_equal (d->owners, 1);
  assert_int_equal (d->xattrs, 0);
  assert_string_equal (d->example, "owner of the symlink of /data/ownlink");
  /* The objects are staged under their digest. */
  char path[256];
  snprintf (path, sizeof path, "%s/%s", f->objects, a);
  assert_int_equal (access (path, F_OK), 0);
  free (got);
  free (want);
}

/* A recorded layer replays to the same tree, and a tampered record is
 * checked as strictly as a tar. */
/* security.capability is kept (revision 2; revision 3 for rootid 0 is
 * the same), as part of the object's variant; a capability for another
 * namespace's root and other attributes are dropped and counted. */
static void
test_capability (void **state)
{
  struct fixture *f = *state;
  static const unsigned char v2[20] = { 1, 0, 0, 2, 0, 0x20 };
  static const unsigned char v3root[24] = { 1, 0, 0, 3, 0, 0x20 };
  static const unsigned char v3other[24] = { 1, 0, 0, 3, 0, 0x20, [20] = 0xe8, 3 };
  const struct xattr xa[] = { { "ping", "security.capability", v2, sizeof v2 },
                              { "ping3", "security.capability", v3root, sizeof v3root },
                              { "other", "security.capability", v3other, sizeof v3other },
                              { "user", "user.note", "x", 1 },
                              { NULL, NULL, NULL, 0 } };
  struct e l1[] = { { 'f', "ping", "p\n", 0755, 0 },  { 'f', "ping3", "p\n", 0755, 0 },
                    { 'f', "other", "p\n", 0755, 0 }, { 'f', "user", "p\n", 0644, 0 },
                    { 'h', "pinghl", "ping", 0, 0 },  { 0 } };
  layer_xattrs = xa;
  int r = apply (f, l1, NULL);
  layer_xattrs = NULL;
  assert_int_equal (r, 0);
  char *got = listing (f);
  char want[1024], hex[65];
  FILE *h = popen ("printf 'p\\n' | sha256sum | cut -c1-64", "r");
  assert_non_null (h);
  assert_int_equal (fscanf (h, "%64s", hex), 1);
  pclose (h);
  const char *cap = "0100000200200000000000000000000000000000";
  snprintf (want, sizeof want,
            "/other=%s+x\n/ping=%s+0755-0-0-%s\n/ping3=%s+0755-0-0-%s\n/pinghl=%s+0755-0-0-%s\n"
            "/user=%s\n",
            hex, hex, cap, hex, cap, hex, cap, hex);
  assert_string_equal (got, want);
  assert_int_equal (reg_layer_tree_dropped (f->tree)->xattrs, 2);
  free (got);
}

static void
test_replay (void **state)
{
  struct fixture *f = *state;
  struct e l1[] = { { 'd', "data/", NULL, 0750, 7 },       { 'f', "data/a", "a\n", 04755, 0 },
                    { 'h', "data/hl", "data/a", 0, 0 },    { 'l', "data/l", "a", 0, 0 },
                    { 'f', "data/.wh.nothing", "", 0, 0 }, { 0 } };
  struct reg_bundle_limits limits = { 1 << 20, 4 << 20, 100 };
  write_layer (f->layer, l1);
  json_t *ops = NULL;
  assert_int_equal (reg_layer_apply (f->tree, f->layer, f->objects, &limits, &ops, NULL), 0);
  assert_int_equal (json_array_size (ops), 5);
  char *want = listing (f);
  reg_layer_tree_free (f->tree);
  assert_int_equal (reg_layer_tree_new (&f->tree, NULL), 0);
  assert_int_equal (reg_layer_replay (f->tree, ops, NULL), 0);
  char *got = listing (f);
  assert_string_equal (got, want);
  assert_non_null (strstr (
      got, "/data/a=87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7+4755-0-0\n"));
  free (got);
  free (want);
  static const char *const bad[] = {
    "[{\"t\":\"f\",\"p\":\"/../x\",\"v\":\"00\"}]",
    "[{\"t\":\"f\",\"p\":\"/x\",\"v\":\"nothex\"}]",
    "[{\"t\":\"c\",\"p\":\"/x\"}]",
    "[{\"t\":\"l\",\"p\":\"/x\"}]",
    /* recorded before RET format 4: "x" may have been a capability */
    "[{\"t\":\"f\",\"p\":\"/"
    "x\",\"v\":\"87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7\","
    "\"m\":420,\"u\":0,\"g\":0,\"x\":true}]",
    /* a capability that is no revision-2 value */
    "[{\"t\":\"f\",\"p\":\"/"
    "x\",\"v\":\"87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7\","
    "\"m\":420,\"u\":0,\"g\":0,\"c\":\"ff\"}]",
    "{}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      json_t *j = json_loads (bad[i], 0, NULL);
      struct reg_error *err = NULL;
      assert_non_null (j);
      assert_int_equal (reg_layer_replay (f->tree, j, &err), -1);
      assert_non_null (err);
      reg_error_free (err);
      json_decref (j);
    }
  json_decref (ops);
}

static void
test_dir_replaced_by_file (void **state)
{
  struct fixture *f = *state;
  struct e l1[] = { { 'f', "x/y/z", "z\n", 0, 0 }, { 0 } };
  /* What the container's own /proc, /dev, /sys hide is counted, not kept. */
  struct e l2[] = { { 'l', "x", "elsewhere", 0, 0 },
                    { 'd', "proc/", NULL, 0, 0 },
                    { 'f', "dev/x", "x", 0, 0 },
                    { 'c', "dev/null", NULL, 0666, 0 },
                    { 'l', "dev/stdin", "/proc/self/fd/0", 0, 0 },
                    { 0 } };
  assert_int_equal (apply (f, l1, NULL), 0);
  assert_int_equal (apply (f, l2, NULL), 0);
  char *got = listing (f);
  assert_string_equal (got, "/x=-> elsewhere\n");
  assert_int_equal (reg_layer_tree_dropped (f->tree)->hidden, 3);
  free (got);
}

static void
expect_refused (struct fixture *f, const struct e *es, const char *msg)
{
  struct reg_error *err = NULL;
  assert_int_equal (apply (f, es, &err), -1);
  assert_non_null (err);
  if (strstr (err->msg, msg) == NULL)
    fail_msg ("error \"%s\" lacks \"%s\"", err->msg, msg);
  reg_error_free (err);
}

static void
test_hostile (void **state)
{
  struct fixture *f = *state;
  expect_refused (f, (struct e[]){ { 'f', "../evil", "e", 0, 0 }, { 0 } },
                  "entry \"../evil\": path escapes the root");
  expect_refused (f, (struct e[]){ { 'f', "a/../../evil", "e", 0, 0 }, { 0 } },
                  "path escapes the root");
  expect_refused (f, (struct e[]){ { 'c', "dev0", NULL, 0, 0 }, { 0 } },
                  "entry /dev0: a device node, FIFO or socket");
  expect_refused (f, (struct e[]){ { 'h', "hl", "nothing", 0, 0 }, { 0 } },
                  "entry /hl: hard link to \"nothing\", which is no regular file");
  expect_refused (
      f, (struct e[]){ { 'l', "esc", "/etc", 0, 0 }, { 'f', "esc/passwd", "x", 0, 0 }, { 0 } },
      "entry /esc/passwd: passes through /esc, which is a symlink");
  expect_refused (f,
                  (struct e[]){ { 'f', "file", "x", 0, 0 }, { 'f', "file/x", "x", 0, 0 }, { 0 } },
                  "passes through /file, which is a file");
  expect_refused (f, (struct e[]){ { 'l', "l", "a\nb", 0, 0 }, { 0 } },
                  "symlink target is empty, multi-line");
  struct e many[102];
  char names[101][16];
  for (int i = 0; i < 101; i++)
    {
      snprintf (names[i], sizeof names[i], "f%d", i);
      many[i] = (struct e){ 'f', names[i], "x", 0, 0 };
    }
  many[101] = (struct e){ 0 };
  expect_refused (f, many, "over the bound of 100 entries per layer");
  static char big[(1 << 20) + 2];
  memset (big, 'b', sizeof big - 1);
  expect_refused (f, (struct e[]){ { 'f', "big", big, 0, 0 }, { 0 } },
                  "over the 1048576 byte bound per entry");
  /* Not a tar at all. */
  FILE *g = fopen (f->layer, "w");
  fputs ("this is no tar archive, and quite long enough to be looked at: ..................", g);
  fclose (g);
  struct reg_bundle_limits limits = { 1 << 20, 4 << 20, 100 };
  struct reg_error *err = NULL;
  assert_int_equal (reg_layer_apply (f->tree, f->layer, f->objects, &limits, NULL, &err), -1);
  assert_non_null (strstr (err->msg, "malformed or truncated"));
  reg_error_free (err);
  /* Nothing half-written is left in staging under an object name. */
  char cmd[256];
  snprintf (cmd, sizeof cmd, "find %s -name '.tmp-*' | wc -l", f->objects);
  FILE *p = popen (cmd, "r");
  int left = -1;
  assert_int_equal (fscanf (p, "%d", &left), 1);
  pclose (p);
  assert_int_equal (left, 0);
}

static void
test_config (void **state)
{
  (void)state;
  const char *arch = reg_image_host_arch ();
  char *cfg = NULL;
  assert_true (
      asprintf (
          &cfg,
          "{\"os\":\"linux\",\"architecture\":\"%s\",\"rootfs\":{\"diff_ids\":[1,2]},"
          "\"config\":{\"Entrypoint\":[\"/bin/py\"],\"Cmd\":[\"-c\",\"x\"],"
          "\"Env\":[\"PATH=/bin\",\"A=b=c\"],\"ExposedPorts\":{\"80/tcp\":{},"
          "\"53\":{}},\"StopSignal\":\"SIGQUIT\",\"WorkingDir\":\"/srv/\",\"User\":\"app:staff\","
          "\"Volumes\":{\"/data\":{}},\"Labels\":{\"k\":\"v\"},\"Healthcheck\":{\"Test\":"
          "[\"CMD\",\"/bin/true\"],\"Interval\":1000000000,\"StartInterval\":1}}}",
          arch)
      > 0);
  struct reg_template t = { 0 };
  size_t n = 0;
  assert_int_equal (reg_image_config_apply (cfg, strlen (cfg), "img", &t, &n, NULL), 0);
  assert_int_equal (n, 2);
  assert_string_equal (t.entrypoint[0], "/bin/py");
  assert_string_equal (t.entrypoint[2], "x");
  assert_string_equal (t.env[1], "A=b=c");
  assert_string_equal (t.expose[0], "80/tcp");
  assert_string_equal (t.expose[1], "53/tcp");
  assert_int_equal (t.stop_signal, 3);
  assert_string_equal (t.workdir, "/srv");
  assert_string_equal (t.user, "app:staff");
  assert_string_equal (t.volumes[0], "/data");
  assert_string_equal (t.labels[0], "k=v");
  assert_string_equal (t.healthcheck.test[1], "/bin/true");
  assert_int_equal (t.healthcheck.interval, 1000000000);
  reg_strv_free (t.entrypoint);
  reg_strv_free (t.env);
  reg_strv_free (t.expose);
  free (t.workdir);
  free (t.user);
  reg_strv_free (t.volumes);
  reg_strv_free (t.labels);
  reg_health_check_clear (&t.healthcheck);
  free (cfg);
  static const char *const bad[][2] = {
    { "\"OnBuild\":[\"RUN x\"]", "config OnBuild is set" },
    { "\"User\":\"a b\"", "config User \"a b\" is not NAME[:GROUP]" },
    { "\"WorkingDir\":\"app\"", "config WorkingDir \"app\" is not an absolute" },
    { "\"Volumes\":{\"data\":{}}", "config Volumes \"data\" is not an absolute" },
    { "\"Labels\":{\"a=b\":\"c\"}", "config Labels \"a=b\": not a label key" },
    { "\"Healthcheck\":{\"Test\":[\"BOGUS\"]}", "config Healthcheck: health check: test" },
    { "\"Env\":[\"1X=y\"]", "config Env entry \"1X=y\" is not NAME=value" },
    { "\"StopSignal\":\"NOPE\"", "config StopSignal \"NOPE\" is not a signal" },
    { "\"Cmd\":\"sh\"", "config Cmd is not a list of strings" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      assert_true (asprintf (&cfg,
                             "{\"os\":\"linux\",\"architecture\":\"%s\",\"rootfs\":{\"diff_ids\":"
                             "[]},\"config\":{%s}}",
                             arch, bad[i][0])
                   > 0);
      struct reg_template u = { 0 };
      struct reg_error *err = NULL;
      assert_int_equal (reg_image_config_apply (cfg, strlen (cfg), "img", &u, &n, &err), -1);
      if (strstr (err->msg, bad[i][1]) == NULL)
        fail_msg ("error \"%s\" lacks \"%s\"", err->msg, bad[i][1]);
      reg_error_free (err);
      reg_strv_free (u.entrypoint);
      reg_strv_free (u.env);
      reg_strv_free (u.expose);
      free (u.workdir);
      free (u.user);
      reg_strv_free (u.volumes);
      reg_strv_free (u.labels);
      reg_health_check_clear (&u.healthcheck);
      free (cfg);
    }
  struct reg_error *err = NULL;
  const char *arm = "{\"os\":\"linux\",\"architecture\":\"s390x\",\"rootfs\":{\"diff_ids\":[]}}";
  struct reg_template u = { 0 };
  assert_int_equal (reg_image_config_apply (arm, strlen (arm), "img", &u, &n, &err), -1);
  assert_non_null (strstr (err->msg, "image for linux/s390x, not linux/"));
  reg_error_free (err);
}

/* arm's variants as containerd matches them; arm64 with or without v8. */
static void
test_index_variants (void **state)
{
  const char *idx
      = "{\"schemaVersion\":2,\"manifests\":["
        "{\"digest\":\"sha256:"
        "5555555555555555555555555555555555555555555555555555555555555555"
        "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v5\"}},"
        "{\"digest\":\"sha256:"
        "7777777777777777777777777777777777777777777777777777777777777777"
        "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
        "{\"digest\":\"sha256:"
        "6666666666666666666666666666666666666666666666666666666666666666"
        "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
        "{\"digest\":\"sha256:"
        "8888888888888888888888888888888888888888888888888888888888888888"
        "\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}}]}";
  char hex[65];
  struct reg_image_platform v7 = { "arm", "v7" }, v6 = { "arm", "v6" }, v8 = { "arm64", "v8" };
  assert_int_equal (reg_image_index_select_for (idx, strlen (idx), "i", &v7, hex, NULL), 0);
  assert_int_equal (hex[0], '7'); /* not the first arm entry (v5) */
  assert_int_equal (reg_image_index_select_for (idx, strlen (idx), "i", &v6, hex, NULL), 0);
  assert_int_equal (hex[0], '6'); /* v7 does not run on v6 */
  assert_int_equal (reg_image_index_select_for (idx, strlen (idx), "i", &v8, hex, NULL), 0);
  assert_int_equal (hex[0], '8');
  struct reg_image_platform v5 = { "arm", "v5" };
  const char *only7 = "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:"
                      "7777777777777777777777777777777777777777777777777777777777777777\","
                      "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\"}}]}";
  struct reg_error *err = NULL;
  assert_int_equal (reg_image_index_select_for (only7, strlen (only7), "i", &v5, hex, &err), -1);
  assert_int_equal (err->code, ENOENT);
  assert_non_null (strstr (err->msg, "no image for linux/arm/v5 in the index (it has: linux/arm)"));
  reg_error_free (err);
  assert_int_equal (reg_image_index_select_for (only7, strlen (only7), "i", &v7, hex, NULL), 0);
  (void)state;
}

static void
test_index (void **state)
{
  (void)state;
  char *idx = NULL;
  const char *h1 = "1111111111111111111111111111111111111111111111111111111111111111";
  const char *h2 = "2222222222222222222222222222222222222222222222222222222222222222";
  assert_true (asprintf (&idx,
                         "{\"schemaVersion\":2,\"manifests\":["
                         "{\"digest\":\"sha256:%s\",\"platform\":{\"os\":\"linux\","
                         "\"architecture\":\"mips\"}},"
                         "{\"digest\":\"sha256:%s\",\"platform\":{\"os\":\"linux\","
                         "\"architecture\":\"%s\"}}]}",
                         h1, h2, reg_image_host_arch ())
               > 0);
  char hex[65];
  enum reg_image_kind kind;
  assert_int_equal (reg_image_kind (idx, strlen (idx), "i", &kind, NULL), 0);
  assert_int_equal (kind, REG_IMAGE_INDEX);
  assert_int_equal (reg_image_index_select (idx, strlen (idx), "i", hex, NULL), 0);
  assert_string_equal (hex, h2);
  free (idx);
  const char *none = "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:1\","
                     "\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}}]}";
  struct reg_error *err = NULL;
  assert_int_equal (reg_image_index_select (none, strlen (none), "i", hex, &err), -1);
  assert_int_equal (err->code, ENOENT);
  assert_non_null (strstr (err->msg, "(it has: windows/amd64)"));
  reg_error_free (err);
  const char *v1 = "{\"schemaVersion\":1}";
  err = NULL;
  assert_int_equal (reg_image_kind (v1, strlen (v1), "i", &kind, &err), -1);
  assert_non_null (strstr (err->msg, "Docker schema 1 is not supported"));
  reg_error_free (err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_layers_in_order, setup, teardown),
    cmocka_unit_test_setup_teardown (test_dir_replaced_by_file, setup, teardown),
    cmocka_unit_test_setup_teardown (test_replay, setup, teardown),
    cmocka_unit_test_setup_teardown (test_capability, setup, teardown),
    cmocka_unit_test_setup_teardown (test_hostile, setup, teardown),
    cmocka_unit_test (test_config),
    cmocka_unit_test (test_index),
    cmocka_unit_test (test_index_variants),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
