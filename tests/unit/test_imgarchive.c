/* Unit tests of image archives (imgarchive.h): docker save archives built
 * here with libarchive become a layout tagged with their RepoTags (a short
 * name as Docker Hub's library/), a layer linked by a symlink from a second
 * directory is found, and hostile archives (.., links out of the archive or
 * to nothing, devices, duplicates, a layer that is not its diff_id, no
 * RepoTags, neither manifest.json nor index.json) are refused naming the
 * cause. */
#include "imgarchive.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/sha.h>
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
  char dir[64], out[96], archive[96];
};

/* type 'f' file, 'd' dir, 'l' symlink, 'h' hard link, 'c' device. */
struct e
{
  char type;
  const char *name, *data;
};

static void
write_archive (const char *path, const struct e *es)
{
  struct archive *a = archive_write_new ();
  assert_int_equal (archive_write_set_format_pax_restricted (a), ARCHIVE_OK);
  assert_int_equal (archive_write_open_filename (a, path), ARCHIVE_OK);
  for (const struct e *x = es; x->type; x++)
    {
      struct archive_entry *ae = archive_entry_new ();
      archive_entry_set_pathname (ae, x->name);
      size_t size = 0;
      archive_entry_set_filetype (ae, x->type == 'd'   ? AE_IFDIR
                                      : x->type == 'l' ? AE_IFLNK
                                      : x->type == 'c' ? AE_IFCHR
                                                       : AE_IFREG);
      if (x->type == 'f')
        size = strlen (x->data);
      if (x->type == 'l')
        archive_entry_set_symlink (ae, x->data);
      if (x->type == 'h')
        archive_entry_set_hardlink (ae, x->data);
      if (x->type == 'c')
        archive_entry_set_rdev (ae, makedev (1, 3));
      archive_entry_set_perm (ae, x->type == 'd' ? 0755 : 0644);
      archive_entry_set_size (ae, size);
      assert_int_equal (archive_write_header (a, ae), ARCHIVE_OK);
      if (size)
        assert_int_equal (archive_write_data (a, x->data, size), (la_ssize_t)size);
      archive_entry_free (ae);
    }
  assert_int_equal (archive_write_close (a), ARCHIVE_OK);
  archive_write_free (a);
}

static void
hex_of (const char *s, char hex[65])
{
  unsigned char raw[32];
  SHA256 ((const unsigned char *)s, strlen (s), raw);
  reg_util_hex (raw, 32, hex);
}

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  strcpy (f->dir, "/tmp/reg-test-imgarchive-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  snprintf (f->archive, sizeof f->archive, "%s/a.tar", f->dir);
  snprintf (f->out, sizeof f->out, "%s/out", f->dir);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  assert_int_equal (reg_util_rm_rf (f->dir, NULL), 0);
  free (f);
  return 0;
}

/* Unpack into a fresh f->out; the error message or NULL. */
static char *
unpack (struct fixture *f, const struct e *es, char ***refs)
{
  reg_util_rm_rf (f->out, NULL);
  assert_int_equal (mkdir (f->out, 0700), 0);
  write_archive (f->archive, es);
  struct reg_error *err = NULL;
  if (reg_imgarchive_unpack (f->archive, f->out, refs, &err) == 0)
    return NULL;
  char *msg = strdup (err->msg);
  reg_error_free (err);
  return msg;
}

static void
expect_refused (struct fixture *f, const struct e *es, const char *want)
{
  char **refs = NULL;
  char *msg = unpack (f, es, &refs);
  if (msg == NULL || strstr (msg, want) == NULL)
    fail_msg ("got \"%s\", want \"%s\"", msg ? msg : "(accepted)", want);
  free (msg);
}

/* A config whose diff_ids are the layers' digests. */
static char *
config_for (const char *layer)
{
  char hex[65], *c = NULL;
  hex_of (layer, hex);
  assert_true (asprintf (&c,
                         "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
                         "\"layers\",\"diff_ids\":[\"sha256:%s\"]}}",
                         hex)
               > 0);
  return c;
}

static void
test_docker_save (void **state)
{
  struct fixture *f = *state;
  const char *layer = "pretend this is a tar";
  char *config = config_for (layer), chex[65], *cname = NULL, *manifest = NULL;
  hex_of (config, chex);
  assert_true (asprintf (&cname, "%s.json", chex) > 0);
  assert_true (asprintf (&manifest,
                         "[{\"Config\":\"%s\",\"RepoTags\":[\"py:1\",\"me/app:2\"],\"Layers\":"
                         "[\"l1/layer.tar\"]},{\"Config\":\"%s\",\"RepoTags\":[\"other:3\"],"
                         "\"Layers\":[\"l2/layer.tar\"]}]",
                         cname, cname)
               > 0);
  struct e es[] = { { 'd', "l1/", NULL },
                    { 'f', "l1/layer.tar", layer },
                    { 'd', "l2/", NULL },
                    { 'l', "l2/layer.tar", "../l1/layer.tar" },
                    { 'f', cname, config },
                    { 'f', "manifest.json", manifest },
                    { 0 } };
  char **refs = NULL;
  char *msg = unpack (f, es, &refs);
  if (msg)
    fail_msg ("refused: %s", msg);
  assert_string_equal (refs[0], "library/py:1");
  assert_string_equal (refs[1], "me/app:2");
  assert_string_equal (refs[2], "library/other:3");
  assert_null (refs[3]);
  reg_strv_free (refs);
  char lhex[65], path[256];
  hex_of (layer, lhex);
  snprintf (path, sizeof path, "%s/blobs/sha256/%s", f->out, lhex);
  assert_int_equal (access (path, F_OK), 0);
  /* The layer is not its diff_id: refused. */
  es[1].data = "tampered";
  es[3] = (struct e){ 'f', "l2/layer.tar", layer };
  expect_refused (f, es, "(l1/layer.tar): content has sha256:");
  es[1].data = layer;
  /* No RepoTags. */
  free (manifest);
  assert_true (asprintf (&manifest, "[{\"Config\":\"%s\",\"Layers\":[\"l1/layer.tar\"]}]", cname)
               > 0);
  es[5].data = manifest;
  expect_refused (f, es, "image 0 has no RepoTags");
  free (manifest);
  free (cname);
  free (config);
}

static void
test_hostile (void **state)
{
  struct fixture *f = *state;
  expect_refused (f, (struct e[]){ { 'f', "../evil", "x" }, { 0 } },
                  "entry \"../evil\": path escapes the archive");
  expect_refused (f, (struct e[]){ { 'f', "/abs", "x" }, { 0 } },
                  "entry \"/abs\": path escapes the archive");
  expect_refused (f, (struct e[]){ { 'l', "a/l", "../../etc/passwd" }, { 0 } },
                  "entry a/l: link to \"../../etc/passwd\" leaves the archive");
  expect_refused (f, (struct e[]){ { 'l', "l", "nothing" }, { 0 } },
                  "entry l: link to nothing, which is no regular file of the archive");
  expect_refused (f, (struct e[]){ { 'h', "h", "nothing" }, { 0 } },
                  "entry h: link to nothing, which is no regular file");
  expect_refused (f, (struct e[]){ { 'c', "null", NULL }, { 0 } },
                  "entry null: a device node, FIFO or socket");
  expect_refused (f, (struct e[]){ { 'f', "x", "1" }, { 'f', "x", "2" }, { 0 } },
                  "entry x is there twice");
  expect_refused (f, (struct e[]){ { 'f', "README", "x" }, { 0 } },
                  "neither a docker save archive (manifest.json) nor an OCI archive");
  expect_refused (f, (struct e[]){ { 'f', "manifest.json", "{}" }, { 0 } },
                  "manifest.json is not a list of 1 to 256 images");
  expect_refused (f,
                  (struct e[]){ { 'f', "oci-layout", "{}" },
                                { 'f', "index.json", "{\"manifests\":[{\"digest\":\"x\"}]}" },
                                { 0 } },
                  "index.json entry 0 has no image name");
  /* Nothing is left outside the output directory. */
  char path[128];
  snprintf (path, sizeof path, "%s/evil", f->dir);
  assert_int_equal (access (path, F_OK), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_docker_save, setup, teardown),
    cmocka_unit_test_setup_teardown (test_hostile, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
