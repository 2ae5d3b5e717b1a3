/* Unit tests of the root layout (root.h): every place's path, and the
 * refusal of a call whose components do not match the place. */
#include "root.h"
#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void
path_is (enum reg_root_place place, const char *a, const char *b, const char *want)
{
  _cleanup_free_ char *got = reg_root_path ("/r", place, a, b);
  if (got == NULL || strcmp (got, want) != 0)
    fail_msg ("place %d: got %s, want %s", (int)place, got ? got : "NULL", want);
}

static void
test_root_places (void **state)
{
  path_is (REG_ROOT_LOCK, NULL, NULL, "/r/regd.lock");
  path_is (REG_ROOT_EVENTS, ".jsonl.1", NULL, "/r/events.jsonl.1");
  path_is (REG_ROOT_STORE, NULL, NULL, "/r/store");
  path_is (REG_ROOT_OBJECTS, NULL, NULL, "/r/store/objects/sha256");
  path_is (REG_ROOT_STORE_TMP, NULL, NULL, "/r/store/tmp");
  path_is (REG_ROOT_TEMPLATES, NULL, NULL, "/r/templates");
  path_is (REG_ROOT_TEMPLATE, "py", NULL, "/r/templates/py");
  path_is (REG_ROOT_TEMPLATE_FILE, "py", "3.11", "/r/templates/py/3.11.ret");
  path_is (REG_ROOT_ENVS, NULL, NULL, "/r/envs");
  path_is (REG_ROOT_ENV, "abc", NULL, "/r/envs/abc");
  path_is (REG_ROOT_ENV_STAGING, "0123456789abcdef", NULL, "/r/envs/.gen-0123456789ab-XXXXXX");
  path_is (REG_ROOT_ENV_LAYER, "abc", NULL, "/r/envs/abc/layer");
  path_is (REG_ROOT_ENV_BASE, "abc", NULL, "/r/envs/abc/base");
  path_is (REG_ROOT_ENV_PROC, "abc", NULL, "/r/envs/abc/proc");
  path_is (REG_ROOT_CONTAINERS, NULL, NULL, "/r/containers");
  path_is (REG_ROOT_CONTAINER, "id", NULL, "/r/containers/id");
  path_is (REG_ROOT_CONTAINER_FILE, "id", "state.json", "/r/containers/id/state.json");
  path_is (REG_ROOT_CONTAINER_GRAVE, "id", NULL, "/r/containers/.removing-id");
  path_is (REG_ROOT_NAMES, NULL, NULL, "/r/containers/.names");
  path_is (REG_ROOT_NAME, "web", NULL, "/r/containers/.names/web");
  path_is (REG_ROOT_NETWORKS, NULL, NULL, "/r/networks");
  path_is (REG_ROOT_NETWORK, "app", NULL, "/r/networks/app.json");
  path_is (REG_ROOT_SUBNET, "reg0", NULL, "/r/networks/reg0.subnet");
  path_is (REG_ROOT_ADDRESSES, "reg0", NULL, "/r/networks/reg0");
  path_is (REG_ROOT_ADDRESS, "reg0", "10.0.0.2", "/r/networks/reg0/10.0.0.2");
  path_is (REG_ROOT_VOLUMES, NULL, NULL, "/r/volumes");
  path_is (REG_ROOT_VOLUME, "db", NULL, "/r/volumes/db");
  path_is (REG_ROOT_VOLUME_DATA, "db", NULL, "/r/volumes/db/_data");
  path_is (REG_ROOT_VOLUME_STAGING, "db", NULL, "/r/volumes/.new-db-XXXXXX");
  path_is (REG_ROOT_VOLUME_GRAVE, "db", NULL, "/r/volumes/.removing-db-XXXXXX");
  path_is (REG_ROOT_IMAGES, NULL, NULL, "/r/images");
  path_is (REG_ROOT_IMAGE, "py@1", NULL, "/r/images/py@1");
  path_is (REG_ROOT_IMAGE_LAYERS, NULL, NULL, "/r/images/layers");
  path_is (REG_ROOT_IMAGE_LAYER, "ab", NULL, "/r/images/layers/ab.json");
  _cleanup_free_ char *c = reg_root_container ("/r", "id");
  _cleanup_free_ char *f = reg_root_container_file ("/r", "id", "lock");
  _cleanup_free_ char *e = reg_root_env ("/r", "d");
  assert_string_equal (c, "/r/containers/id");
  assert_string_equal (f, "/r/containers/id/lock");
  assert_string_equal (e, "/r/envs/d");
}

/* A component missing, or one the place does not take, is a caller's
 * mistake: NULL, never a path with "(null)" in it or a component dropped. */
static void
test_root_wrong_components (void **state)
{
  assert_null (reg_root_path ("/r", REG_ROOT_CONTAINER, NULL, NULL));
  assert_null (reg_root_path ("/r", REG_ROOT_CONTAINER_FILE, "id", NULL));
  assert_null (reg_root_path ("/r", REG_ROOT_CONTAINERS, "id", NULL));
  assert_null (reg_root_path ("/r", REG_ROOT_ENV, "d", "x"));
  assert_null (reg_root_path (NULL, REG_ROOT_ENVS, NULL, NULL));
  assert_null (reg_root_path ("/r", (enum reg_root_place)1000, NULL, NULL));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_root_places),
    cmocka_unit_test (test_root_wrong_components),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
