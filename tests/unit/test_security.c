/* Unit tests of the security options and of the create-request parser:
 * capability arithmetic, --user forms, seccomp profiles in Docker's format
 * (compiled, not loaded), and each malformed input with its message. */
#include "request.h"
#include "security.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>

#include <cmocka.h>

/* A macro: err must be read after the call has set it. */
#define expect_error(call, err, want)                                                              \
  do                                                                                               \
    {                                                                                              \
      int ret_ = (call);                                                                           \
      check_error (ret_, err, want);                                                               \
      err = NULL;                                                                                  \
    }                                                                                              \
  while (0)

static void
check_error (int ret, struct reg_error *err, const char *want)
{
  assert_int_equal (ret, -1);
  assert_non_null (err);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("\"%s\" lacks \"%s\"", err->msg, want);
  reg_error_free (err);
}

static uint64_t
caps_of (char **add, char **drop)
{
  struct reg_security s = { .cap_add = add, .cap_drop = drop };
  uint64_t caps = 0;
  struct reg_error *err = NULL;
  if (reg_security_caps (&s, &caps, &err) < 0)
    fail_msg ("%s", err->msg);
  return caps;
}

static void
test_caps (void **state)
{
  assert_int_equal (caps_of (NULL, NULL), 0xa00405fb); /* Docker's less MKNOD */
  char *chown[] = { "CHOWN", NULL }, *mknod[] = { "cap_mknod", NULL };
  char *all[] = { "all", NULL }, *bind[] = { "NET_BIND_SERVICE", NULL };
  assert_int_equal (caps_of (NULL, chown), 0xa00405fa);
  assert_int_equal (caps_of (mknod, NULL), 0xa80405fb);
  assert_int_equal (caps_of (bind, all), 1u << CAP_NET_BIND_SERVICE); /* drop, then add */
  assert_true (caps_of (all, NULL) & (UINT64_C (1) << CAP_SYS_ADMIN));
  struct reg_security priv = { .privileged = true };
  uint64_t caps = 0;
  assert_int_equal (reg_security_caps (&priv, &caps, NULL), 0);
  assert_true (caps & (UINT64_C (1) << CAP_SYS_ADMIN));
  char *bad[] = { "NOPE", NULL };
  struct reg_security s = { .cap_add = bad };
  struct reg_error *err = NULL;
  expect_error (reg_security_check (&s, &err), err, "--cap-add NOPE: unknown capability");
}

static void
test_user (void **state)
{
  struct reg_security s = { 0 };
  assert_int_equal (reg_security_set_user (&s, "1000", NULL), 0);
  assert_true (s.has_user);
  assert_int_equal (s.uid, 1000);
  assert_int_equal (s.gid, 1000);
  assert_int_equal (reg_security_set_user (&s, "0:5", NULL), 0);
  assert_int_equal (s.uid, 0);
  assert_int_equal (s.gid, 5);
  static const char *const bad[] = { "", "www", "1:", ":1", "-1", "1:x", "99999999999", "1 " };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      struct reg_error *err = NULL;
      expect_error (reg_security_set_user (&s, bad[i], &err), err, "must be UID or UID:GID");
    }
}

static int
check_profile (const char *json, struct reg_error **err)
{
  struct reg_security s = { 0 };
  char *opt = NULL;
  assert_true (asprintf (&opt, "seccomp=%s", json) > 0);
  int ret = reg_security_add_opt (&s, opt, err);
  free (opt);
  if (ret == 0)
    ret = reg_security_check (&s, err);
  reg_security_clear (&s);
  return ret;
}

static void
test_profiles (void **state)
{
  static const char *const good[] = {
    "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}",
    "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38, \"archMap\": "
    "[{\"architecture\": \"SCMP_ARCH_X86_64\", \"subArchitectures\": [\"SCMP_ARCH_X86\", "
    "\"SCMP_ARCH_X32\"]}], \"syscalls\": [{\"names\": [\"read\", \"write\", \"no_such_call\"], "
    "\"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\", "
    "\"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}, {\"name\": \"personality\", \"action\": "
    "\"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 0, \"op\": \"SCMP_CMP_EQ\"}, "
    "{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]}, {\"names\": [\"clone\"], "
    "\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 2114060288, "
    "\"valueTwo\": 0, \"op\": \"SCMP_CMP_MASKED_EQ\"}], \"excludes\": {\"caps\": "
    "[\"CAP_SYS_ADMIN\"], \"arches\": [\"s390x\"]}, \"comment\": \"x\", \"errno\": \"EPERM\"}]}",
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    {
      struct reg_error *err = NULL;
      if (check_profile (good[i], &err) < 0)
        fail_msg ("profile %zu refused: %s", i, err->msg);
    }
  static const struct
  {
    const char *json, *want;
  } bad[] = {
    { "{", "seccomp profile: malformed JSON" },
    { "[1]", "the profile's JSON text" },
    { "{\"defaultAction\": 1}", "defaultAction: action must be a string" },
    { "{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}", "action \"SCMP_ACT_NOTIFY\" is not supported" },
    { "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": -3}", "errnoRet must be" },
    { "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"x\": 1}", "unknown field \"x\"" },
    { "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}", "\"syscalls\" must be a list" },
    { "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [3]}",
      "syscalls[0]: must be an object" },
    { "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"action\": \"SCMP_ACT_ERRNO\"}]}",
      "needs \"names\"" },
    { "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [1], \"action\": "
      "\"SCMP_ACT_ERRNO\"}]}",
      "names must be strings" },
    { "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
      "\"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"LIKE\"}]}]}",
      "unknown op \"LIKE\"" },
    { "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], \"action\": "
      "\"SCMP_ACT_ERRNO\", \"includes\": {\"caps\": [\"CAP_NOPE\"]}}]}",
      "unknown capability \"CAP_NOPE\"" },
    { "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"x86\"]}",
      "architecture \"x86\" is not SCMP_ARCH_*" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      struct reg_error *err = NULL;
      expect_error (check_profile (bad[i].json, &err), err, bad[i].want);
    }
  struct reg_security s = { 0 };
  struct reg_error *err = NULL;
  expect_error (reg_security_add_opt (&s, "seccomp=/etc/x.json", &err), err,
                "the client reads seccomp=FILE.json");
  expect_error (reg_security_add_opt (&s, "apparmor=x", &err), err,
                "security option \"apparmor=x\" is not supported");
  assert_int_equal (reg_security_add_opt (&s, "no-new-privileges", NULL), 0);
  assert_false (s.new_privileges);
  assert_int_equal (reg_security_add_opt (&s, "no-new-privileges=false", NULL), 0);
  assert_true (s.new_privileges);
  assert_int_equal (reg_security_add_opt (&s, "no-new-privileges:true", NULL), 0);
  assert_false (s.new_privileges);
  assert_int_equal (reg_security_add_opt (&s, "no-new-privileges:false", NULL), 0);
  assert_true (s.new_privileges);
  expect_error (reg_security_add_opt (&s, "no-new-privileges=maybe", &err), err,
                "security option \"no-new-privileges=maybe\" is not supported");
  assert_int_equal (reg_security_add_opt (&s, "seccomp=unconfined", NULL), 0);
  assert_true (s.seccomp_unconfined);
  reg_security_clear (&s);
}

static void
test_userns_range (void **state)
{
  char dir[] = "/tmp/reg-subid-XXXXXX", uid[64], gid[64];
  assert_non_null (mkdtemp (dir));
  snprintf (uid, sizeof uid, "%s/subuid", dir);
  snprintf (gid, sizeof gid, "%s/subgid", dir);
  FILE *f = fopen (uid, "w");
  fputs ("alice:100000:65536\nregx:1:2\nreg:200000:131072\n", f);
  fclose (f);
  f = fopen (gid, "w");
  fputs ("reg:300000:1000\n", f);
  fclose (f);
  struct reg_security s = { 0 };
  assert_int_equal (reg_security_set_userns (&s, "private", NULL), 0);
  assert_true (s.userns);
  assert_int_equal (reg_security_userns_range (&s, uid, gid, NULL), 0);
  assert_int_equal (s.userns_uid, 200000);
  assert_int_equal (s.userns_gid, 300000);
  assert_int_equal (s.userns_size, 1000); /* the smaller of the two */
  struct reg_error *err = NULL;
  f = fopen (gid, "w");
  fputs ("reg:x:1\nreg:5:0\n", f);
  fclose (f);
  expect_error (reg_security_userns_range (&s, uid, gid, &err), err,
                "no subordinate IDs for user \"reg\" in");
  unlink (gid);
  expect_error (reg_security_userns_range (&s, uid, gid, &err), err, "subgid");
  expect_error (reg_security_set_userns (&s, "shared", &err), err, "must be \"private\" or");
  s.privileged = true;
  expect_error (reg_security_check (&s, &err), err, "do not go together");
  unlink (uid);
  rmdir (dir);
}

static struct reg_create_request *
parse_ok (const char *body)
{
  struct reg_create_request *r = NULL;
  struct reg_error *err = NULL;
  if (reg_request_create_parse (body, strlen (body), &r, &err) < 0)
    fail_msg ("refused: %s", err->msg);
  return r;
}

static void
test_request (void **state)
{
  struct reg_create_request *r = parse_ok (
      "{\"Templates\": [\"a@1\"], \"Cmd\": [\"x\"], \"Env\": [\"A=1\"], \"Name\": \"n\", "
      "\"Mounts\": [{\"Source\": \"/s\", \"Destination\": \"/d\", \"ReadOnly\": true}], "
      "\"Limits\": {\"Memory\": 1048576, \"CpusetCpus\": \"0\"}, \"RestartPolicy\": {\"Name\": "
      "\"on-failure\", \"MaximumRetryCount\": 3}, \"CapAdd\": [\"NET_ADMIN\"], \"CapDrop\": "
      "[\"CHOWN\"], \"User\": \"7:8\", \"ReadonlyRootfs\": true, \"SecurityOpt\": "
      "[\"seccomp=unconfined\"], \"ConsoleSize\": [24, 80]}");
  assert_string_equal (r->o.templates[0], "a@1");
  assert_string_equal (r->o.name, "n");
  assert_int_equal (r->o.n_mounts, 1);
  assert_true (r->o.mounts[0].readonly);
  assert_int_equal (r->o.limits.memory, 1048576);
  assert_string_equal (r->o.limits.cpuset_cpus, "0");
  assert_int_equal (r->o.restart.max_retries, 3);
  assert_true (r->o.security.read_only && r->o.security.seccomp_unconfined);
  assert_int_equal (r->o.security.uid, 7);
  assert_string_equal (r->o.security.cap_add[0], "NET_ADMIN");
  assert_int_equal (r->o.rows, 24);
  assert_null (r->o.user);
  reg_request_create_free (r);
  /* A name is kept for the engine to resolve through the accounts. */
  r = parse_ok ("{\"User\": \"www-data:adm\"}");
  assert_string_equal (r->o.user, "www-data:adm");
  assert_false (r->o.security.has_user);
  reg_request_create_free (r);
  /* reg.yaml's values under the body's. */
  r = parse_ok ("{\"Project\": \"/srv/p\", \"Env\": [\"B=2\"], \"ProjectFile\": \"templates: "
                "[py@1]\\ncommand: [run]\\nenv: {A: '1'}\\n\"}");
  assert_string_equal (r->o.templates[0], "py@1");
  assert_string_equal (r->o.cmd[0], "run");
  assert_string_equal (r->o.env[0], "A=1");
  assert_string_equal (r->o.env[1], "B=2");
  reg_request_create_free (r);
  static const struct
  {
    const char *body, *want;
  } bad[] = {
    { "", "request has no JSON body" },
    { "{", "malformed JSON" },
    { "[]", "must be a JSON object" },
    { "{\"Nope\": 1}", "unknown field \"Nope\"" },
    { "{\"Templates\": \"a@1\"}", "\"Templates\" must be an array of strings" },
    { "{\"Name\": 3}", "\"Name\" must be a string" },
    { "{\"Mounts\": [{\"Source\": \"/s\"}]}", "each mount needs a string Destination" },
    { "{\"Mounts\": [{\"Destination\": \"/d\"}]}", "bind mount /d needs a string Source" },
    { "{\"Mounts\": [{\"Type\": \"nfs\", \"Destination\": \"/d\"}]}",
      "mount type \"nfs\": want bind, volume or tmpfs" },
    { "{\"Mounts\": [{\"Type\": \"tmpfs\", \"Source\": \"/s\", \"Destination\": \"/d\"}]}",
      "tmpfs mount /d takes no Source" },
    { "{\"Mounts\": [{\"Type\": \"tmpfs\", \"Destination\": \"/d\", \"TmpfsOptions\": "
      "{\"Mode\": 99999}}]}",
      "Mode 0..07777" },
    { "{\"Mounts\": [{\"Source\": \"/s\", \"Destination\": \"/d\", \"NoExec\": true}]}",
      "for tmpfs mounts only" },
    { "{\"Mounts\": [{\"Source\": \"/s\", \"Destination\": \"/d\", \"Color\": 1}]}",
      "unknown field \"Color\"" },
    { "{\"Limits\": {\"Memory\": \"1g\"}}", "Memory must be an integer" },
    { "{\"Limits\": {\"Swap\": 1}}", "unknown field \"Swap\"" },
    { "{\"RestartPolicy\": {\"Name\": \"always\", \"MaximumRetryCount\": 2}}",
      "only goes with the on-failure policy" },
    { "{\"Env\": [\"=x\"]}", "is not KEY=VALUE" },
    { "{\"CapAdd\": [\"NOPE\"]}", "--cap-add NOPE: unknown capability" },
    { "{\"User\": \":5\"}", "--user \":5\"" },
    { "{\"SecurityOpt\": \"seccomp=unconfined\"}", "\"SecurityOpt\" must be an array" },
    { "{\"SecurityOpt\": [\"seccomp={\"]}", "seccomp profile: malformed JSON" },
    { "{\"ProjectFile\": \"x: 1\"}", "ProjectFile must be a string, with Project" },
    { "{\"LogMaxSize\": \"1k\"}", "LogMaxSize must be an integer" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      struct reg_error *err = NULL;
      r = NULL;
      expect_error (reg_request_create_parse (bad[i].body, strlen (bad[i].body), &r, &err), err,
                    bad[i].want);
      assert_null (r);
    }
}

/* Apply `c` in a forked child and run `probe` there; its exit code. */
static int
in_child (const struct reg_confinement *c, int (*probe) (void))
{
  pid_t pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      const char *what = "";
      if (reg_security_apply (c, &what) < 0)
        _exit (100);
      _exit (probe ());
    }
  int status = 0;
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static int
effective_caps (uint64_t *out)
{
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];
  if (syscall (SYS_capget, &hdr, data) < 0)
    return -1;
  *out = data[0].effective | ((uint64_t)data[1].effective << 32);
  return 0;
}

/* The default confinement: no_new_privs, the bounding set and effective
 * set cut to Docker's less MKNOD, and the filter loaded (clone3 answers
 * ENOSYS only under it). */
static int
probe_default (void)
{
  uint64_t eff = 0;
  if (prctl (PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
    return 1;
  if (prctl (PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0
      || prctl (PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0) != 1)
    return 2;
  if (effective_caps (&eff) < 0 || eff != 0xa00405fb)
    return 3;
  if (syscall (SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
    return 4;
  return 0;
}

static int
probe_unconfined (void)
{
  /* No filter: the kernel itself judges clone3's missing arguments. */
  return syscall (SYS_clone3, NULL, 0) == -1 && errno != ENOSYS ? 0 : 1;
}

static int
probe_user (void)
{
  uint64_t eff = 1;
  if (getuid () != 1000 || getgid () != 1000 || effective_caps (&eff) < 0 || eff != 0)
    return 1;
  return prctl (PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0) == 1 ? 0 : 2;
}

/* reg_security_prepare does all the allocating work before the fork;
 * reg_security_apply is then system calls only. Applied for real in a
 * child (as root, as the tests run). */
static void
test_prepare_apply (void **state)
{
  struct reg_confinement c;
  struct reg_error *err = NULL;
  struct reg_security def = { 0 };
  assert_int_equal (reg_security_prepare (&def, &c, &err), 0);
  assert_non_null (c.filter);
  assert_true (c.filter_len > 10);
  assert_int_equal (c.caps, 0xa00405fb);
  if (geteuid () != 0)
    skip ();
  assert_int_equal (in_child (&c, probe_default), 0);
  reg_security_confinement_clear (&c);
  assert_null (c.filter);

  struct reg_security unconfined = { .seccomp_unconfined = true };
  assert_int_equal (reg_security_prepare (&unconfined, &c, &err), 0);
  assert_null (c.filter);
  assert_int_equal (in_child (&c, probe_unconfined), 0);
  reg_security_confinement_clear (&c);

  struct reg_security user = { .has_user = true, .uid = 1000, .gid = 1000 };
  assert_int_equal (reg_security_prepare (&user, &c, &err), 0);
  assert_int_equal (in_child (&c, probe_user), 0);
  reg_security_confinement_clear (&c);

  struct reg_security priv = { .privileged = true };
  assert_int_equal (reg_security_prepare (&priv, &c, &err), 0);
  assert_true (c.privileged);
  assert_null (c.filter);
  assert_int_equal (in_child (&c, probe_unconfined), 0);

  struct reg_security bad = { .seccomp_profile = (char *)"{" };
  expect_error (reg_security_prepare (&bad, &c, &err), err, "seccomp profile: malformed JSON");
  assert_null (c.filter);
}

/* The filter cache (one compile per profile and capability set): each
 * prepare gets its own copy, and the key holds the capabilities and the
 * profile's text, so a cached filter never serves another set. */
static void
filter_of (struct reg_security *s, struct reg_confinement *c)
{
  struct reg_error *err = NULL;
  assert_int_equal (reg_security_prepare (s, c, &err), 0);
  assert_null (err);
  assert_non_null (c->filter);
}

static bool
same_filter (const struct reg_confinement *a, const struct reg_confinement *b)
{
  return a->filter_len == b->filter_len
         && memcmp (a->filter, b->filter, a->filter_len * sizeof *a->filter) == 0;
}

static void
test_filter_cache (void **state)
{
  reg_security_warm ();
  struct reg_confinement a, b, admin, p1, p2;
  struct reg_security def = { 0 };
  filter_of (&def, &a);
  filter_of (&def, &b);
  assert_ptr_not_equal (a.filter, b.filter);
  assert_true (same_filter (&a, &b));
  char *add[] = { (char *)"SYS_ADMIN", NULL };
  struct reg_security sysadmin = { .cap_add = add };
  filter_of (&sysadmin, &admin); /* no clone rules with CAP_SYS_ADMIN */
  assert_false (same_filter (&a, &admin));
  const char *allow = "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}";
  const char *deny = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                     "[\"chmod\"],\"action\":\"SCMP_ACT_ERRNO\"}]}";
  struct reg_security s1 = { .seccomp_profile = (char *)allow };
  struct reg_security s2 = { .seccomp_profile = (char *)deny };
  filter_of (&s1, &p1);
  filter_of (&s2, &p2);
  assert_false (same_filter (&p1, &p2));
  /* More profiles than the cache holds: every answer is still its own. */
  for (int i = 0; i < 10; i++)
    {
      char text[128];
      snprintf (text, sizeof text, "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultErrnoRet\":%d}",
                i + 1);
      struct reg_security s = { .seccomp_profile = text };
      struct reg_confinement c;
      filter_of (&s, &c);
      reg_security_confinement_clear (&c);
    }
  reg_security_confinement_clear (&b);
  filter_of (&def, &b);
  assert_true (same_filter (&a, &b));
  reg_security_confinement_clear (&p1);
  filter_of (&s2, &p1);
  assert_true (same_filter (&p1, &p2));
  reg_security_confinement_clear (&a);
  reg_security_confinement_clear (&b);
  reg_security_confinement_clear (&admin);
  reg_security_confinement_clear (&p1);
  reg_security_confinement_clear (&p2);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_caps),         cmocka_unit_test (test_user),
    cmocka_unit_test (test_profiles),     cmocka_unit_test (test_userns_range),
    cmocka_unit_test (test_request),      cmocka_unit_test (test_prepare_apply),
    cmocka_unit_test (test_filter_cache),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
