/* Unit tests of the OCI mapping: references (layout vs registry host,
 * ports, tags, digests), sibling references, digests, and image
 * manifests — build/parse round trip and every refusal of a manifest that
 * is not a reg template or is malformed or oversized. */
#include "oci.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static void
expect_ref (const char *text, const char *host, const char *repo, const char *tag)
{
  struct reg_oci_ref *r = NULL;
  struct reg_error *err = NULL;
  int ret = reg_oci_ref_parse (text, &r, &err);
  if (ret < 0)
    fail_msg ("%s: %s", text, err->msg);
  if (host == NULL)
    assert_null (r->host);
  else
    assert_string_equal (r->host, host);
  assert_string_equal (r->repo, repo);
  assert_string_equal (r->tag, tag);
  reg_oci_ref_free (r);
}

/* Refused with EINVAL and a message holding both `text` and `want`. */
static void
expect_bad_ref (const char *text, const char *want)
{
  struct reg_oci_ref *r = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_oci_ref_parse (text, &r, &err), -1);
  assert_null (r);
  assert_non_null (err);
  assert_int_equal (err->code, EINVAL);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("%s: message \"%s\" lacks \"%s\"", text, err->msg, want);
  if (strlen (text) < 200 && strstr (err->msg, text) == NULL)
    fail_msg ("%s: message \"%s\" does not name the reference", text, err->msg);
  reg_error_free (err);
}

static void
test_ref_layout_and_host (void **state)
{
  /* No host: a repository of the local layout, the tag defaults. */
  expect_ref ("python", NULL, "python", "latest");
  expect_ref ("templates/python:3.11.2", NULL, "templates/python", "3.11.2");
  expect_ref ("a/b/c:v1", NULL, "a/b/c", "v1");
  /* The first component is a host when it has '.', ':' or is localhost. */
  expect_ref ("localhost/t/app", "localhost", "t/app", "latest");
  expect_ref ("localhost:5000/t/app:1", "localhost:5000", "t/app", "1");
  expect_ref ("127.0.0.1:5000/t/app:1", "127.0.0.1:5000", "t/app", "1");
  expect_ref ("ghcr.io/org/python:3.11.2", "ghcr.io", "org/python", "3.11.2");
  expect_ref ("reg.example:443/x", "reg.example:443", "x", "latest");
  /* A port is not taken for a tag, and a tag after a host with a port is. */
  expect_ref ("localhost:5000/x:5000", "localhost:5000", "x", "5000");
  /* Separators inside components. */
  expect_ref ("my-reg.example/a_b/c.d/e__f/g--h:T_1.0-rc", "my-reg.example", "a_b/c.d/e__f/g--h",
              "T_1.0-rc");
}

static void
test_ref_bad (void **state)
{
  expect_bad_ref ("", "empty or longer than 512");
  char longer[300];
  memset (longer, 'a', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  expect_bad_ref (longer, "name (registry host and repository) longer than 255");
  char longest[600];
  memset (longest, 'a', sizeof longest - 1);
  longest[sizeof longest - 1] = '\0';
  expect_bad_ref (longest, "empty or longer than 512");
  expect_bad_ref ("Templates/Python:1", "malformed repository \"Templates/Python\"");
  expect_bad_ref ("localhost:5000/UPPER:1", "malformed repository \"UPPER\"");
  expect_bad_ref ("a//b", "malformed repository");
  expect_bad_ref ("a/b/", "malformed repository");
  expect_bad_ref ("-a/b", "malformed repository");
  expect_bad_ref ("localhost:5000/", "malformed repository \"\"");
  expect_bad_ref (":1", "malformed repository");
  expect_bad_ref ("a/b:", "malformed tag \"\"");
  expect_bad_ref ("a/b:.hidden", "malformed tag \".hidden\"");
  expect_bad_ref ("a/b:1+build", "malformed tag \"1+build\"");
  expect_bad_ref ("localhost:5000000/x:1", "malformed registry host \"localhost:5000000\"");
  expect_bad_ref ("bad_host.example/x", "malformed registry host \"bad_host.example\"");
  expect_bad_ref ("-bad.example/x", "malformed registry host");
  expect_bad_ref ("localhost:/x", "malformed registry host");
  /* Digest references: only sha256 with 64 lower-case hex digits. */
  expect_bad_ref ("localhost:5000/t/app@sha256:abc", "malformed digest \"sha256:abc\"");
  expect_bad_ref ("t/app@md5:" HEX_A, "malformed digest \"md5:" HEX_A "\"");
  expect_bad_ref ("t/app@", "malformed digest \"\"");
  expect_bad_ref ("t/app@sha256:" HEX_A "@sha256:" HEX_A, "malformed digest");
  expect_bad_ref ("t/APP@sha256:" HEX_A, "malformed repository \"t/APP\"");
}

/* A name at the bound prints (":latest" added) to a text that parses to
 * the same reference; one character more is refused. Regression test of a
 * fuzz_oci_ref finding: the bound was on the text, so the printed form of
 * an accepted 249-character name was refused. */
static void
test_ref_name_bound (void **state)
{
  char text[300];
  memset (text, 0, sizeof text);
  strcpy (text, "y.l1113");
  memset (text + 7, '1', 255 - 7 - 2);
  strcat (text, "/p");
  assert_int_equal (strlen (text), 255);
  struct reg_oci_ref *r = NULL, *again = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_oci_ref_parse (text, &r, &err), 0);
  char *s = reg_oci_ref_string (r);
  assert_int_equal (strlen (s), 255 + strlen (":latest"));
  assert_int_equal (reg_oci_ref_parse (s, &again, &err), 0);
  char *s2 = reg_oci_ref_string (again);
  assert_string_equal (s, s2);
  free (s);
  free (s2);
  reg_oci_ref_free (r);
  reg_oci_ref_free (again);
  strcat (text, "q");
  expect_bad_ref (text, "longer than 255");
}

static void
test_ref_digest (void **state)
{
  struct reg_oci_ref *r = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_oci_ref_parse ("localhost:5000/t/app@sha256:" HEX_A, &r, &err), 0);
  assert_string_equal (r->host, "localhost:5000");
  assert_string_equal (r->repo, "t/app");
  assert_string_equal (r->digest, "sha256:" HEX_A);
  /* The manifests endpoint is asked for the digest, not a tag. */
  assert_string_equal (reg_oci_ref_reference (r), "sha256:" HEX_A);
  char *text = reg_oci_ref_string (r);
  assert_string_equal (text, "localhost:5000/t/app@sha256:" HEX_A);
  free (text);
  reg_oci_ref_free (r);
  /* A tag given with a digest is ignored for the lookup, as Docker does. */
  assert_int_equal (reg_oci_ref_parse ("t/app:1@sha256:" HEX_B, &r, &err), 0);
  assert_null (r->host);
  assert_string_equal (reg_oci_ref_reference (r), "sha256:" HEX_B);
  reg_oci_ref_free (r);
  /* A tag reference has no digest. */
  assert_int_equal (reg_oci_ref_parse ("t/app:1", &r, &err), 0);
  assert_null (r->digest);
  assert_string_equal (reg_oci_ref_reference (r), "1");
  reg_oci_ref_free (r);
}

static void
test_ref_string_and_sibling (void **state)
{
  struct reg_oci_ref *r = NULL, *s = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_oci_ref_parse ("localhost:5000/templates/app", &r, &err), 0);
  char *text = reg_oci_ref_string (r);
  assert_string_equal (text, "localhost:5000/templates/app:latest");
  free (text);
  /* A required template lives next to the one requiring it. */
  assert_int_equal (reg_oci_ref_sibling (r, "base", "1.0+deb12", &s, &err), 0);
  text = reg_oci_ref_string (s);
  assert_string_equal (text, "localhost:5000/templates/base:1.0_deb12");
  free (text);
  reg_oci_ref_free (s);
  /* A name that is not a repository component is refused, not mangled. */
  assert_int_equal (reg_oci_ref_sibling (r, "Base", "1", &s, &err), -1);
  assert_non_null (strstr (err->msg, "malformed repository \"templates/Base\""));
  reg_error_free (err);
  err = NULL;
  reg_oci_ref_free (r);
  /* Without a host or a parent path. */
  assert_int_equal (reg_oci_ref_parse ("app:2", &r, &err), 0);
  assert_int_equal (reg_oci_ref_sibling (r, "libs", "3", &s, &err), 0);
  assert_null (s->host);
  assert_string_equal (s->repo, "libs");
  assert_string_equal (s->tag, "3");
  reg_oci_ref_free (s);
  reg_oci_ref_free (r);
}

static void
test_digest_parse (void **state)
{
  char hex[65];
  assert_true (reg_oci_digest_parse ("sha256:" HEX_A, hex));
  assert_string_equal (hex, HEX_A);
  assert_false (reg_oci_digest_parse (NULL, hex));
  assert_false (reg_oci_digest_parse (HEX_A, hex));
  assert_false (reg_oci_digest_parse ("sha512:" HEX_A, hex));
  assert_false (reg_oci_digest_parse ("sha256:" HEX_A "a", hex));
  assert_false (reg_oci_digest_parse (
      "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", hex));
  assert_false (reg_oci_digest_parse ("sha256:aaaa", hex));
}

static struct reg_oci_manifest *
sample (void)
{
  static struct reg_oci_desc layers[2];
  static struct reg_oci_manifest m;
  layers[0]
      = (struct reg_oci_desc){ .media_type = REG_OCI_LIB_TYPE, .size = 2000000, .lib = "libc@6" };
  memcpy (layers[0].digest, HEX_B, 65);
  layers[1] = (struct reg_oci_desc){ .media_type = REG_OCI_FILES_TYPE, .size = 4096 };
  memcpy (layers[1].digest, HEX_C, 65);
  m = (struct reg_oci_manifest){ .config = { .media_type = REG_OCI_TEMPLATE_TYPE, .size = 321 },
                                 .layers = layers,
                                 .n_layers = 2,
                                 .template_ref = "app@1" };
  memcpy (m.config.digest, HEX_A, 65);
  return &m;
}

static void
test_manifest_round_trip (void **state)
{
  char *text = reg_oci_manifest_build (sample ());
  assert_non_null (text);
  /* Compact, sorted keys: the same manifest gives the same bytes. */
  char *again = reg_oci_manifest_build (sample ());
  assert_string_equal (text, again);
  free (again);
  assert_non_null (strstr (text, "\"artifactType\":\"" REG_OCI_TEMPLATE_TYPE "\""));
  assert_int_equal (strncmp (text, "{\"annotations\":{\"org.reg.template\":\"app@1\"}", 43), 0);
  struct reg_oci_manifest *m = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_oci_manifest_parse (text, strlen (text), "t/app:1", &m, &err), 0);
  assert_string_equal (m->config.digest, HEX_A);
  assert_string_equal (m->config.media_type, REG_OCI_TEMPLATE_TYPE);
  assert_int_equal (m->config.size, 321);
  assert_int_equal (m->n_layers, 2);
  assert_string_equal (m->layers[0].media_type, REG_OCI_LIB_TYPE);
  assert_string_equal (m->layers[0].digest, HEX_B);
  assert_string_equal (m->layers[0].lib, "libc@6");
  assert_int_equal (m->layers[0].size, 2000000);
  assert_null (m->layers[1].lib);
  assert_string_equal (m->template_ref, "app@1");
  reg_oci_manifest_free (m);
  free (text);
}

#define CONFIG_OK                                                                                  \
  "{\"mediaType\":\"" REG_OCI_TEMPLATE_TYPE "\",\"digest\":\"sha256:" HEX_A "\",\"size\":10}"
#define LAYER_OK                                                                                   \
  "{\"mediaType\":\"" REG_OCI_LIB_TYPE "\",\"digest\":\"sha256:" HEX_B "\",\"size\":5}"

/* A manifest with the given mediaType member (or none), config and layers. */
static char *
manifest (const char *media_type, const char *config, const char *layers)
{
  char *text = NULL;
  assert_true (asprintf (&text, "{\"schemaVersion\":2%s%s%s%s%s,\"layers\":%s}",
                         media_type ? ",\"mediaType\":\"" : "", media_type ? media_type : "",
                         media_type ? "\"" : "", config ? ",\"config\":" : "", config ? config : "",
                         layers)
               >= 0);
  return text;
}

static void
expect_bad_manifest_text (const char *text, size_t len, int code, const char *want)
{
  struct reg_oci_manifest *m = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_oci_manifest_parse (text, len, "t/app:1", &m, &err), -1);
  assert_null (m);
  assert_non_null (err);
  assert_int_equal (err->code, code);
  if (strncmp (err->msg, "t/app:1: ", 9) != 0 || strstr (err->msg, want) == NULL)
    fail_msg ("message \"%s\" does not name t/app:1 or lacks \"%s\"", err->msg, want);
  reg_error_free (err);
}

static void
expect_bad_manifest (char *text, const char *want)
{
  expect_bad_manifest_text (text, strlen (text), EINVAL, want);
  free (text);
}

static void
test_manifest_the_good_one_parses (void **state)
{
  /* The base of every refusal below is accepted as it stands. */
  char *text = manifest (REG_OCI_MANIFEST_TYPE, CONFIG_OK, "[" LAYER_OK "]");
  struct reg_oci_manifest *m = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_oci_manifest_parse (text, strlen (text), "t/app:1", &m, &err), 0);
  reg_oci_manifest_free (m);
  free (text);
  /* mediaType is optional in an OCI manifest. */
  text = manifest (NULL, CONFIG_OK, "[]");
  assert_int_equal (reg_oci_manifest_parse (text, strlen (text), "t/app:1", &m, &err), 0);
  assert_int_equal (m->n_layers, 0);
  reg_oci_manifest_free (m);
  free (text);
}

static void
test_manifest_wrong_media_types (void **state)
{
  expect_bad_manifest (manifest (REG_OCI_INDEX_TYPE, CONFIG_OK, "[]"),
                       "manifest of media type " REG_OCI_INDEX_TYPE " is not a reg template");
  expect_bad_manifest (
      manifest ("application/vnd.docker.distribution.manifest.v2+json", CONFIG_OK, "[]"),
      "manifest of media type application/vnd.docker.distribution.manifest.v2+json");
  /* An ordinary container image: its config is not a RET file. */
  expect_bad_manifest (
      manifest (
          REG_OCI_MANIFEST_TYPE,
          "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:" HEX_A
          "\",\"size\":10}",
          "[]"),
      "config of media type application/vnd.oci.image.config.v1+json is not a reg template");
  /* A layer that is neither a lib nor a files blob. */
  expect_bad_manifest (
      manifest (REG_OCI_MANIFEST_TYPE, CONFIG_OK,
                "[" LAYER_OK ",{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
                "\"digest\":\"sha256:" HEX_C "\",\"size\":5}]"),
      "layer 1 has media type application/vnd.oci.image.layer.v1.tar+gzip, not a reg lib, "
      "file or files blob");
  expect_bad_manifest (
      manifest (REG_OCI_MANIFEST_TYPE, CONFIG_OK, "[{\"digest\":\"sha256:" HEX_C "\",\"size\":5}]"),
      "layer 0 has no mediaType");
}

static void
test_manifest_missing_parts (void **state)
{
  expect_bad_manifest (manifest (REG_OCI_MANIFEST_TYPE, NULL, "[]"),
                       "config of media type (none) is not a reg template");
  expect_bad_manifest (manifest (REG_OCI_MANIFEST_TYPE, CONFIG_OK, "{}"),
                       "manifest has no layers list");
  char *text = strdup ("{\"schemaVersion\":1,\"config\":" CONFIG_OK ",\"layers\":[]}");
  expect_bad_manifest (text, "manifest schemaVersion is not 2");
  expect_bad_manifest (strdup ("[1,2]"), "manifest is not a JSON object");
  expect_bad_manifest (strdup ("{\"schemaVersion\":2,"), "manifest is not a JSON object: ");
  /* Duplicate keys could make two readers see two manifests. */
  expect_bad_manifest (
      strdup ("{\"schemaVersion\":2,\"schemaVersion\":2,\"config\":" CONFIG_OK ",\"layers\":[]}"),
      "manifest is not a JSON object: ");
}

static void
test_manifest_bad_digests_and_sizes (void **state)
{
  expect_bad_manifest (manifest (REG_OCI_MANIFEST_TYPE,
                                 "{\"mediaType\":\"" REG_OCI_TEMPLATE_TYPE
                                 "\",\"digest\":\"sha256:1234\",\"size\":10}",
                                 "[]"),
                       "config has a malformed digest \"sha256:1234\" (want sha256:<64 hex>)");
  expect_bad_manifest (manifest (REG_OCI_MANIFEST_TYPE,
                                 "{\"mediaType\":\"" REG_OCI_TEMPLATE_TYPE "\",\"size\":10}", "[]"),
                       "config has a malformed digest \"\"");
  expect_bad_manifest (manifest (REG_OCI_MANIFEST_TYPE, CONFIG_OK,
                                 "[{\"mediaType\":\"" REG_OCI_LIB_TYPE "\",\"digest\":\"md5:" HEX_B
                                 "\",\"size\":5}]"),
                       "layer 0 has a malformed digest \"md5:" HEX_B "\"");
  expect_bad_manifest (manifest (REG_OCI_MANIFEST_TYPE, CONFIG_OK,
                                 "[{\"mediaType\":\"" REG_OCI_LIB_TYPE
                                 "\",\"digest\":\"sha256:" HEX_B "\",\"size\":-1}]"),
                       "layer 0 sha256:" HEX_B " has a missing or out-of-range size");
  expect_bad_manifest (manifest (REG_OCI_MANIFEST_TYPE, CONFIG_OK,
                                 "[{\"mediaType\":\"" REG_OCI_LIB_TYPE
                                 "\",\"digest\":\"sha256:" HEX_B "\",\"size\":\"5\"}]"),
                       "has a missing or out-of-range size");
  expect_bad_manifest (manifest (REG_OCI_MANIFEST_TYPE, CONFIG_OK,
                                 "[{\"mediaType\":\"" REG_OCI_LIB_TYPE
                                 "\",\"digest\":\"sha256:" HEX_B "\",\"size\":4294967297}]"),
                       "has a missing or out-of-range size");
  /* Over the config bound: refused before anything is downloaded. */
  struct reg_oci_manifest *m = NULL;
  struct reg_error *err = NULL;
  char *text = manifest (REG_OCI_MANIFEST_TYPE,
                         "{\"mediaType\":\"" REG_OCI_TEMPLATE_TYPE "\",\"digest\":\"sha256:" HEX_A
                         "\",\"size\":16777217}",
                         "[]");
  assert_int_equal (reg_oci_manifest_parse (text, strlen (text), "t/app:1", &m, &err), -1);
  assert_int_equal (err->code, EFBIG);
  assert_non_null (strstr (err->msg, "config of 16777217 bytes is over the 16777216 byte bound"));
  reg_error_free (err);
  free (text);
}

static void
test_manifest_oversized (void **state)
{
  /* A manifest over 4 MiB is refused by its length, before parsing. */
  size_t len = REG_OCI_MAX_MANIFEST + 1;
  char *text = malloc (len);
  memset (text, ' ', len);
  text[0] = '{';
  text[len - 1] = '}';
  expect_bad_manifest_text (text, len, EFBIG, "manifest of 4194305 bytes is over the 4194304");
  free (text);
}

/* reg-hub's registry checks names with this before making any path. */
/* A file layer (an app's file object, raw) carries its mtime; malformed
 * ones are refused naming the layer. */
static void
test_manifest_file_layer (void **state)
{
  struct reg_oci_desc layers[1]
      = { { .media_type = (char *)REG_OCI_FILE_TYPE, .size = 21, .mtime = 1700000000 } };
  memcpy (layers[0].digest, HEX_C, 65);
  struct reg_oci_manifest m = { .layers = layers, .n_layers = 1 };
  m.config.media_type = (char *)REG_OCI_TEMPLATE_TYPE;
  m.config.size = 10;
  memcpy (m.config.digest, HEX_A, 65);
  char *text = reg_oci_manifest_build (&m);
  assert_non_null (text);
  assert_non_null (strstr (text, "\"annotations\":{\"org.reg.mtime\":\"1700000000\"}"));
  struct reg_oci_manifest *got = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_oci_manifest_parse (text, strlen (text), "t/app:1", &got, &err), 0);
  assert_string_equal (got->layers[0].media_type, REG_OCI_FILE_TYPE);
  assert_int_equal (got->layers[0].mtime, 1700000000);
  assert_int_equal (got->layers[0].size, 21);
  reg_oci_manifest_free (got);
  free (text);
  static const char *const bad[] = { "\"\"", "\"-5\"", "\"0\"", "\"12x\"", "\"99999999999\"", "7" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      char *layer = NULL;
      assert_true (asprintf (&layer,
                             "[{\"mediaType\":\"" REG_OCI_FILE_TYPE "\",\"digest\":\"sha256:" HEX_C
                             "\",\"size\":5,\"annotations\":{\"org.reg.mtime\":%s}}]",
                             bad[i])
                   >= 0);
      expect_bad_manifest (manifest (REG_OCI_MANIFEST_TYPE, CONFIG_OK, layer),
                           "layer 0 has a malformed org.reg.mtime annotation");
      free (layer);
    }
}

static void
test_repo_ok (void **state)
{
  (void)state;
  assert_true (reg_oci_repo_ok ("templates/python"));
  assert_true (reg_oci_repo_ok ("a"));
  assert_true (reg_oci_repo_ok ("a-b/c__d/e.f/g_h"));
  assert_false (reg_oci_repo_ok (""));
  assert_false (reg_oci_repo_ok ("Templates/python"));
  assert_false (reg_oci_repo_ok ("templates/../etc"));
  assert_false (reg_oci_repo_ok ("../etc"));
  assert_false (reg_oci_repo_ok ("/etc"));
  assert_false (reg_oci_repo_ok ("a//b"));
  assert_false (reg_oci_repo_ok ("a/"));
  assert_false (reg_oci_repo_ok ("a/.b"));
  assert_false (reg_oci_repo_ok ("a:b"));
  assert_false (reg_oci_repo_ok ("a b"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ref_layout_and_host),
    cmocka_unit_test (test_ref_bad),
    cmocka_unit_test (test_ref_name_bound),
    cmocka_unit_test (test_ref_digest),
    cmocka_unit_test (test_ref_string_and_sibling),
    cmocka_unit_test (test_digest_parse),
    cmocka_unit_test (test_repo_ok),
    cmocka_unit_test (test_manifest_round_trip),
    cmocka_unit_test (test_manifest_file_layer),
    cmocka_unit_test (test_manifest_the_good_one_parses),
    cmocka_unit_test (test_manifest_wrong_media_types),
    cmocka_unit_test (test_manifest_missing_parts),
    cmocka_unit_test (test_manifest_bad_digests_and_sizes),
    cmocka_unit_test (test_manifest_oversized),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
