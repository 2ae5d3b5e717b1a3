/* Unit tests of container records: the name index (reservation, lookup,
 * release, stale links), and lookups by id, name and prefix without
 * reading state files. */
#include "container.h"
#include "util.h"

#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char root[64];

static int
setup (void **state)
{
  snprintf (root, sizeof root, "/tmp/reg-ctest-XXXXXX");
  assert_non_null (mkdtemp (root));
  char dir[128];
  snprintf (dir, sizeof dir, "%s/containers", root);
  assert_int_equal (mkdir (dir, 0700), 0);
  return 0;
}

static int
teardown (void **state)
{
  reg_util_rm_rf (root, NULL);
  return 0;
}

static struct reg_container *
make (const char *id, const char *name)
{
  struct reg_container *c = reg_container_new ();
  snprintf (c->id, sizeof c->id, "%s", id);
  c->name = name ? strdup (name) : NULL;
  struct reg_error *err = NULL;
  if (reg_container_create (root, c, &err) < 0)
    {
      reg_container_free (c);
      return NULL;
    }
  return c;
}

#define A "aaaa000000000000000000000000000000000000000000000000000000000001"
#define B "aaab000000000000000000000000000000000000000000000000000000000002"
#define C "cccc000000000000000000000000000000000000000000000000000000000003"

static void
test_names_and_lookups (void **state)
{
  struct reg_container *a = make (A, "web"), *b = make (B, NULL);
  assert_non_null (a);
  assert_non_null (b);
  char id[65];
  struct reg_error *err = NULL;
  assert_int_equal (reg_container_find (root, "web", id, NULL), 0);
  assert_string_equal (id, A);
  assert_int_equal (reg_container_find (root, A, id, NULL), 0);
  assert_int_equal (reg_container_find (root, "aaab", id, NULL), 0);
  assert_string_equal (id, B);
  assert_int_equal (reg_container_find (root, "aaa", id, &err), -1);
  assert_non_null (strstr (err->msg, "ambiguous: 2 containers"));
  reg_error_free (err);
  err = NULL;
  assert_int_equal (reg_container_find (root, "nope", id, &err), -1);
  assert_non_null (strstr (err->msg, "container nope: not found"));
  reg_error_free (err);
  err = NULL;
  /* The name is taken: a second container cannot have it, and nothing of
   * it is left. */
  struct reg_container *c = reg_container_new ();
  snprintf (c->id, sizeof c->id, "%s", C);
  c->name = strdup ("web");
  assert_int_equal (reg_container_create (root, c, &err), -1);
  assert_non_null (strstr (err->msg, "container name \"web\" is already in use by aaaa00000000"));
  reg_error_free (err);
  err = NULL;
  assert_int_equal (reg_container_find (root, C, id, NULL), -1);
  /* Removing the first frees the name. */
  assert_int_equal (reg_container_destroy (root, A, NULL), 0);
  assert_int_equal (reg_container_find (root, "web", id, NULL), -1);
  assert_int_equal (reg_container_create (root, c, NULL), 0);
  assert_int_equal (reg_container_find (root, "web", id, NULL), 0);
  assert_string_equal (id, C);
  /* A stale link (its container gone behind our back) does not hold the
   * name; the index is rebuilt from state files by regd at start. */
  char path[256];
  snprintf (path, sizeof path, "%s/containers/" C, root);
  assert_int_equal (reg_util_rm_rf (path, NULL), 0);
  struct reg_container *d
      = make ("dddd000000000000000000000000000000000000000000000000000000000004", "web");
  assert_non_null (d);
  assert_int_equal (reg_container_index_name (root, "web", d->id, NULL), 0);
  reg_container_free (a);
  reg_container_free (b);
  reg_container_free (c);
  reg_container_free (d);
}

/* Stop signal, stop timeout, --init and ulimits survive a save and load;
 * a record without them (an older regd's) loads with the defaults. */
static void
test_process_fields (void **state)
{
  struct reg_container *c = reg_container_new ();
  snprintf (c->id, sizeof c->id, "%s", A);
  char *one[] = { (char *)"x", NULL };
  c->templates = reg_strv_dup (one);
  c->argv = reg_strv_dup (one);
  c->env = reg_strv_dup (one);
  assert_int_equal (c->stop_timeout, -1);
  c->stop_signal = SIGQUIT;
  c->stop_timeout = 3;
  c->init = true;
  c->ulimits[0] = (struct reg_ulimit){ RLIMIT_NOFILE, 10, -1 };
  c->n_ulimits = 1;
  assert_int_equal (reg_container_create (root, c, NULL), 0);
  struct reg_container *back = NULL;
  assert_int_equal (reg_container_load (root, A, &back, NULL), 0);
  assert_int_equal (back->stop_signal, SIGQUIT);
  assert_int_equal (back->stop_timeout, 3);
  assert_true (back->init);
  assert_int_equal (back->n_ulimits, 1);
  assert_int_equal (back->ulimits[0].resource, RLIMIT_NOFILE);
  assert_int_equal (back->ulimits[0].soft, 10);
  assert_int_equal (back->ulimits[0].hard, -1);
  reg_container_free (back);
  /* Without the fields. */
  json_t *j = reg_container_to_json (c);
  json_object_del (j, "StopSignal");
  json_object_del (j, "StopTimeout");
  json_object_del (j, "Init");
  json_object_del (j, "Ulimits");
  char path[256];
  snprintf (path, sizeof path, "%s/containers/" A "/state.json", root);
  assert_int_equal (json_dump_file (j, path, 0), 0);
  json_decref (j);
  assert_int_equal (reg_container_load (root, A, &back, NULL), 0);
  assert_int_equal (back->stop_signal, 0);
  assert_int_equal (back->stop_timeout, -1);
  assert_false (back->init);
  assert_int_equal (back->n_ulimits, 0);
  reg_container_free (back);
  reg_container_free (c);
}

/* NetworkSettings: the container's own network and its links survive a
 * save and load, whatever the order of Networks; a record written before
 * links (one entry, no Interface) is the container's own network. */
static void
test_network_links (void **state)
{
  struct reg_container *c = reg_container_new ();
  snprintf (c->id, sizeof c->id, "%s", A);
  char *one[] = { (char *)"x", NULL };
  char *aliases[] = { (char *)"web", (char *)"www", NULL };
  c->templates = reg_strv_dup (one);
  c->argv = reg_strv_dup (one);
  c->env = reg_strv_dup (one);
  struct reg_net_state *n = &c->net;
  snprintf (n->network, sizeof n->network, "front");
  snprintf (n->bridge, sizeof n->bridge, "reg0-1");
  snprintf (n->ip, sizeof n->ip, "10.89.0.2");
  n->prefix = 24;
  n->links = calloc (2, sizeof *n->links);
  n->n_links = 2;
  for (int i = 0; i < 2; i++)
    {
      struct reg_net_link *l = &n->links[i];
      snprintf (l->network, sizeof l->network, i ? "back" : "bridge");
      snprintf (l->bridge, sizeof l->bridge, i ? "reg0-2" : "reg0");
      snprintf (l->ip, sizeof l->ip, "10.9%d.0.3", i);
      snprintf (l->ifname, sizeof l->ifname, "eth%d", i + 1);
      snprintf (l->host_if, sizeof l->host_if, "rvaaaa00%04d", i);
      l->prefix = 16 + i * 8;
      l->aliases = i ? reg_strv_dup (aliases) : NULL;
    }
  assert_int_equal (reg_container_create (root, c, NULL), 0);
  struct reg_container *back = NULL;
  assert_int_equal (reg_container_load (root, A, &back, NULL), 0);
  assert_string_equal (back->net.network, "front");
  assert_string_equal (back->net.ip, "10.89.0.2");
  assert_int_equal (back->net.n_links, 2);
  const struct reg_net_link *l = reg_container_net_link (&back->net, "back");
  assert_non_null (l);
  assert_string_equal (l->bridge, "reg0-2");
  assert_string_equal (l->ip, "10.91.0.3");
  assert_string_equal (l->ifname, "eth2");
  assert_string_equal (l->host_if, "rvaaaa000001");
  assert_int_equal (l->prefix, 24);
  assert_int_equal (reg_strv_len (l->aliases), 2);
  assert_string_equal (l->aliases[1], "www");
  assert_non_null (reg_container_net_link (&back->net, "bridge"));
  assert_null (reg_container_net_link (&back->net, "front"));
  reg_container_free (back);
  /* An older record: one entry without Interface. */
  json_t *j = reg_container_to_json (c);
  json_t *nets = json_object_get (json_object_get (j, "NetworkSettings"), "Networks");
  json_object_del (nets, "bridge");
  json_object_del (nets, "back");
  json_object_del (json_object_get (nets, "front"), "Interface");
  char path[256];
  snprintf (path, sizeof path, "%s/containers/" A "/state.json", root);
  assert_int_equal (json_dump_file (j, path, 0), 0);
  json_decref (j);
  assert_int_equal (reg_container_load (root, A, &back, NULL), 0);
  assert_string_equal (back->net.network, "front");
  assert_int_equal (back->net.n_links, 0);
  reg_container_free (back);
  reg_container_free (c);
}

static int
set_name_web2 (struct reg_container *c, void *data, struct reg_error **err)
{
  (void)data;
  (void)err;
  free (c->error);
  c->error = NULL;
  c->exit_code = 7;
  return 0;
}

/* An upgrade with containers running: a newer version wrote fields this
 * one does not know (at the top, inside State, inside Healthcheck); an
 * update by this version writes them back unchanged, while a known field
 * it clears (Error) stays cleared, and a known one it sets is its own. */
static void
test_update_keeps_unknown_fields (void **state)
{
  struct reg_container *c = make (A, "web");
  assert_non_null (c);
  c->templates = reg_strv_dup ((char *const[]){ "base@1", NULL });
  c->argv = reg_strv_dup ((char *const[]){ "/bin/true", NULL });
  c->env = reg_strv_dup ((char *const[]){ "A=1", NULL });
  c->network_mode = strdup ("none");
  c->error = strdup ("it failed");
  c->healthcheck.test = reg_strv_dup ((char *const[]){ "CMD", "true", NULL });
  c->healthcheck.interval = 1000000000;
  assert_int_equal (reg_container_save (root, c, NULL), 0);
  char path[256];
  snprintf (path, sizeof path, "%s/containers/" A "/state.json", root);
  json_t *j = json_load_file (path, 0, NULL);
  assert_non_null (j);
  json_object_set_new (j, "FutureTop", json_pack ("{s:[i,i]}", "x", 1, 2));
  json_object_set_new (json_object_get (j, "State"), "FutureState", json_string ("later"));
  json_object_set_new (json_object_get (j, "Healthcheck"), "FutureProbe", json_integer (9));
  assert_int_equal (json_dump_file (j, path, 0), 0);
  json_decref (j);

  assert_int_equal (reg_container_update (root, A, set_name_web2, NULL, NULL), 0);
  j = json_load_file (path, 0, NULL);
  assert_non_null (j);
  assert_int_equal (json_integer_value (json_array_get (
                        json_object_get (json_object_get (j, "FutureTop"), "x"), 1)),
                    2);
  json_t *st = json_object_get (j, "State");
  assert_string_equal (json_string_value (json_object_get (st, "FutureState")), "later");
  assert_true (json_object_get (st, "Error") == NULL
               || json_is_null (json_object_get (st, "Error")));
  assert_int_equal (json_integer_value (json_object_get (st, "ExitCode")), 7);
  json_t *hc = json_object_get (j, "Healthcheck");
  assert_int_equal (json_integer_value (json_object_get (hc, "FutureProbe")), 9);
  json_decref (j);
  /* ... and its check was read in spite of the field it does not know. */
  struct reg_container *back = NULL;
  assert_int_equal (reg_container_load (root, A, &back, NULL), 0);
  assert_non_null (back->healthcheck.test);
  assert_string_equal (back->healthcheck.test[1], "true");
  reg_container_free (back);
  reg_container_free (c);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_names_and_lookups, setup, teardown),
    cmocka_unit_test_setup_teardown (test_process_fields, setup, teardown),
    cmocka_unit_test_setup_teardown (test_network_links, setup, teardown),
    cmocka_unit_test_setup_teardown (test_update_keeps_unknown_fields, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
