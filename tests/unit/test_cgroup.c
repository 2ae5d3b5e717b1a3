/* Unit tests of the cgroup backends against fake cgroupfs trees: v2
 * (unified) and v1 (per controller), limits written where each expects
 * them, all-or-nothing on failure, and value checks. */
#include "cgroup.h"
#include "util.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void
put_file (const char *dir, const char *name, const char *text)
{
  char path[512];
  snprintf (path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  fputs (text, f);
  fclose (f);
}

static char *
read_back (const char *dir, const char *name)
{
  char path[512];
  snprintf (path, sizeof path, "%s/%s", dir, name);
  char *text = NULL;
  if (reg_util_read_file (path, 4096, &text, NULL, NULL) < 0)
    return NULL;
  return text;
}

static int
setup_v2 (void **state)
{
  char *fs = strdup ("/tmp/reg-test-cg2-XXXXXX");
  assert_non_null (mkdtemp (fs));
  put_file (fs, "cgroup.controllers", "cpuset cpu io memory pids\n");
  put_file (fs, "cgroup.subtree_control", "");
  *state = fs;
  return 0;
}

static int
teardown (void **state)
{
  assert_int_equal (reg_util_rm_rf (*state, NULL), 0);
  free (*state);
  return 0;
}

/* Unlimited values, and a cpu list longer than any number: written as
 * given, not cut to a buffer's size. */
static void
test_v2_unlimited_and_long_cpu_list (void **state)
{
  const char *fs = *state;
  char cpus[200] = "0";
  for (int i = 2; strlen (cpus) < 150; i += 2)
    snprintf (cpus + strlen (cpus), sizeof cpus - strlen (cpus), ",%d", i);
  struct reg_limits l = { .memory_swap = -1, .pids_limit = -1, .cpuset_cpus = cpus };
  struct reg_cgroup *cg = NULL;
  struct reg_error *err = NULL;
  if (reg_cgroup_create (fs, ID, &l, &cg, &err) < 0)
    fail_msg ("%s", err->msg);
  const char *want[][2] = {
    { "memory.swap.max", "max" },
    { "pids.max", "max" },
    { "cpuset.cpus", cpus },
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    {
      char *got = read_back (cg->dirs[0], want[i][0]);
      if (got == NULL || strcmp (got, want[i][1]) != 0)
        fail_msg ("%s: got \"%s\", want \"%s\"", want[i][0], got ? got : "(none)", want[i][1]);
      free (got);
    }
  reg_cgroup_free (cg);
}

static void
test_v2_limits (void **state)
{
  const char *fs = *state;
  enum reg_cgroup_version v;
  assert_int_equal (reg_cgroup_detect (fs, &v, NULL), 0);
  assert_int_equal (v, REG_CGROUP_V2);
  struct reg_limits l = { .memory = 64 << 20,
                          .memory_reservation = 16 << 20,
                          .memory_swap = 128 << 20,
                          .nano_cpus = 1500000000,
                          .cpu_shares = 1024,
                          .cpuset_cpus = "0-1",
                          .blkio_weight = 500 };
  struct reg_cgroup *cg = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_cgroup_create (fs, ID, &l, &cg, &err), 0);
  char dir[256];
  snprintf (dir, sizeof dir, "%s/reg/%s", fs, ID);
  assert_string_equal (cg->dirs[0], dir);
  assert_null (cg->dirs[1]);
  const char *want[][2] = {
    { "memory.max", "67108864" },      { "memory.low", "16777216" },
    { "memory.swap.max", "67108864" }, { "pids.max", "512" },
    { "cpu.max", "150000 100000" },    { "cpu.weight", "39" },
    { "cpuset.cpus", "0-1" },          { "io.weight", "default 5000" },
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    {
      char *got = read_back (dir, want[i][0]);
      if (got == NULL || strcmp (got, want[i][1]) != 0)
        fail_msg ("%s: got \"%s\", want \"%s\"", want[i][0], got ? got : "(none)", want[i][1]);
      free (got);
    }
  char **procs = reg_cgroup_procs_paths (cg);
  assert_non_null (strstr (procs[0], "/reg/" ID "/cgroup.procs"));
  reg_strv_free (procs);
  /* OOM is read from memory.events. */
  assert_false (reg_cgroup_oom_killed (cg));
  put_file (dir, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  assert_true (reg_cgroup_oom_killed (cg));
  reg_cgroup_destroy (cg);
  assert_int_equal (access (dir, F_OK), -1);
  reg_cgroup_free (cg);
}

static void
test_v2_missing_controller_is_an_error (void **state)
{
  const char *fs = *state;
  put_file (fs, "cgroup.controllers", "memory pids\n");
  struct reg_limits l = { .nano_cpus = 1000000000 };
  struct reg_cgroup *cg = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_cgroup_create (fs, ID, &l, &cg, &err), -1);
  assert_null (cg);
  assert_non_null (strstr (err->msg, "the cpu controller is not available"));
  reg_error_free (err);
  char dir[256];
  snprintf (dir, sizeof dir, "%s/reg/%s", fs, ID);
  assert_int_equal (access (dir, F_OK), -1); /* nothing half-made */
}

static void
test_v1_limits (void **state)
{
  char fs[] = "/tmp/reg-test-cg1-XXXXXX";
  assert_non_null (mkdtemp (fs));
  const char *ctls[] = { "memory", "pids", "cpu", "cpuacct", "blkio", "freezer" };
  for (size_t i = 0; i < sizeof ctls / sizeof ctls[0]; i++)
    {
      char d[256];
      snprintf (d, sizeof d, "%s/%s", fs, ctls[i]);
      assert_int_equal (mkdir (d, 0755), 0);
    }
  enum reg_cgroup_version v;
  assert_int_equal (reg_cgroup_detect (fs, &v, NULL), 0);
  assert_int_equal (v, REG_CGROUP_V1);
  struct reg_limits l
      = { .memory = 64 << 20, .memory_swap = -1, .pids_limit = -1, .nano_cpus = 500000000 };
  struct reg_cgroup *cg = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_cgroup_create (fs, ID, &l, &cg, &err), 0);
  assert_int_equal (reg_strv_len (cg->dirs), 6);
  char dir[256];
  snprintf (dir, sizeof dir, "%s/memory/reg/%s", fs, ID);
  char *got = read_back (dir, "memory.limit_in_bytes");
  assert_string_equal (got, "67108864");
  free (got);
  got = read_back (dir, "memory.memsw.limit_in_bytes");
  assert_string_equal (got, "-1");
  free (got);
  snprintf (dir, sizeof dir, "%s/pids/reg/%s", fs, ID);
  got = read_back (dir, "pids.max");
  assert_string_equal (got, "max");
  free (got);
  snprintf (dir, sizeof dir, "%s/cpu/reg/%s", fs, ID);
  got = read_back (dir, "cpu.cfs_quota_us");
  assert_string_equal (got, "50000");
  free (got);
  /* v1: the thread's own `tasks` file (no threadgroup lock; cgroup.h). */
  char **procs = reg_cgroup_procs_paths (cg);
  assert_int_equal (reg_strv_len (procs), 6);
  for (size_t i = 0; procs[i]; i++)
    assert_non_null (strstr (procs[i], "/reg/" ID "/tasks"));
  reg_strv_free (procs);
  put_file (fs, "memory/reg/" ID "/memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  assert_true (reg_cgroup_oom_killed (cg));
  reg_cgroup_destroy (cg);
  reg_cgroup_free (cg);
  snprintf (dir, sizeof dir, "%s/memory/reg/%s", fs, ID);
  assert_int_equal (access (dir, F_OK), -1);
  /* A controller the limit needs is missing: error, nothing left. */
  struct reg_limits l2 = { .cpuset_cpus = "0" };
  assert_int_equal (reg_cgroup_create (fs, ID, &l2, &cg, &err), -1);
  assert_non_null (strstr (err->msg, "cpuset controller is not mounted"));
  reg_error_free (err);
  assert_int_equal (access (dir, F_OK), -1);
  assert_int_equal (reg_util_rm_rf (fs, NULL), 0);
}

/* Groups made ahead (v1): a create renames them to the container's and
 * writes its limits; a failed create removes them; cgroup2 makes none;
 * the sweep removes the groups of a spare whose process is gone only. */
static void
test_v1_ahead (void **state)
{
  char fs[] = "/tmp/reg-test-cg1a-XXXXXX";
  assert_non_null (mkdtemp (fs));
  const char *ctls[] = { "memory", "pids", "cpu", "cpuacct", "blkio", "freezer" };
  for (size_t i = 0; i < sizeof ctls / sizeof ctls[0]; i++)
    {
      char d[256];
      snprintf (d, sizeof d, "%s/%s", fs, ctls[i]);
      assert_int_equal (mkdir (d, 0755), 0);
    }
  struct reg_cgroup *ahead = NULL, *cg = NULL;
  struct reg_error *err = NULL;
  assert_int_equal (reg_cgroup_ahead (fs, &ahead, &err), 0);
  assert_non_null (ahead);
  assert_int_equal (reg_strv_len (ahead->dirs), 6);
  char name[300], dir[300];
  snprintf (name, sizeof name, "%s/memory/reg/%s%d", fs, REG_CGROUP_AHEAD, (int)getpid ());
  assert_int_equal (access (name, F_OK), 0);
  put_file (name, "marker", "made ahead");
  struct reg_limits l = { .memory = 64 << 20 };
  assert_int_equal (reg_cgroup_create_from (fs, ID, &l, ahead, &cg, &err), 0);
  assert_int_equal (access (name, F_OK), -1);
  snprintf (dir, sizeof dir, "%s/memory/reg/%s", fs, ID);
  char *got = read_back (dir, "marker"); /* the same group, renamed */
  assert_string_equal (got, "made ahead");
  free (got);
  got = read_back (dir, "memory.limit_in_bytes");
  assert_string_equal (got, "67108864");
  free (got);
  snprintf (dir, sizeof dir, "%s/pids/reg/%s", fs, ID);
  got = read_back (dir, "pids.max");
  assert_string_equal (got, "512");
  free (got);
  /* Its name is taken: the create fails as a mkdir would, and the groups
   * made ahead go. */
  struct reg_cgroup *again = NULL, *cg2 = NULL;
  assert_int_equal (reg_cgroup_ahead (fs, &again, &err), 0);
  assert_int_equal (reg_cgroup_create_from (fs, ID, &l, again, &cg2, &err), -1);
  assert_non_null (err);
  reg_error_free (err);
  err = NULL;
  assert_int_equal (access (name, F_OK), -1);
  reg_cgroup_destroy (cg);
  reg_cgroup_free (cg);
  /* The sweep: a dead process's groups go, a live one's stay. */
  pid_t dead = fork ();
  if (dead == 0)
    _exit (0);
  waitpid (dead, NULL, 0);
  char gone[300], live[300];
  snprintf (gone, sizeof gone, "%s/pids/reg/%s%d", fs, REG_CGROUP_AHEAD, (int)dead);
  snprintf (live, sizeof live, "%s/pids/reg/%s%d", fs, REG_CGROUP_AHEAD, (int)getpid ());
  assert_int_equal (mkdir (gone, 0755), 0);
  assert_int_equal (mkdir (live, 0755), 0);
  reg_cgroup_sweep_ahead (fs);
  assert_int_equal (access (gone, F_OK), -1);
  assert_int_equal (access (live, F_OK), 0);
  assert_int_equal (reg_util_rm_rf (fs, NULL), 0);
}

static void
test_v2_ahead_makes_nothing (void **state)
{
  struct reg_cgroup *ahead = (struct reg_cgroup *)1;
  assert_int_equal (reg_cgroup_ahead (*state, &ahead, NULL), 0);
  assert_null (ahead);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_v2_limits, setup_v2, teardown),
    cmocka_unit_test_setup_teardown (test_v2_unlimited_and_long_cpu_list, setup_v2, teardown),
    cmocka_unit_test_setup_teardown (test_v2_missing_controller_is_an_error, setup_v2, teardown),
    cmocka_unit_test (test_v1_limits),
    cmocka_unit_test (test_v1_ahead),
    cmocka_unit_test_setup_teardown (test_v2_ahead_makes_nothing, setup_v2, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
