/* accounts: passwd/group line checks, host look-up, the generated files,
 * and -u NAME[:GROUP] resolution. */
#include "accounts.h"
#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void
test_lines (void **state)
{
  (void)state;
  assert_true (reg_accounts_passwd_ok ("www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin"));
  assert_true (reg_accounts_passwd_ok ("a:x:0:0:::"));
  assert_true (reg_accounts_passwd_ok ("host$:x:4294967294:1:::"));
  static const char *const bad_users[] = { "",
                                           "a:x:1:1::",
                                           "a:x:1:1:::/bin/sh:extra",
                                           "a:x:one:1:::",
                                           "a:x:1::::",
                                           ":x:1:1:::",
                                           "-a:x:1:1:::",
                                           "a b:x:1:1:::",
                                           "a:x:4294967295:1:::",
                                           "a:x:1:1:tab\there::",
                                           "a:x:99999999999:1:::" };
  for (size_t i = 0; i < sizeof bad_users / sizeof bad_users[0]; i++)
    assert_false (reg_accounts_passwd_ok (bad_users[i]));
  assert_true (reg_accounts_group_ok ("www-data:x:33:"));
  assert_true (reg_accounts_group_ok ("adm:x:4:syslog,me"));
  assert_false (reg_accounts_group_ok ("adm:x:4"));
  assert_false (reg_accounts_group_ok ("adm:x:x:"));
  assert_false (reg_accounts_group_ok ("adm:x:4::"));
}

static void
test_sort (void **state)
{
  (void)state;
  char *v[] = { strdup ("b:x:2:"), strdup ("a:x:1:"), strdup ("ab:x:3:"), NULL };
  const char *dup = NULL;
  assert_int_equal (reg_accounts_sort (v, &dup), 0);
  assert_string_equal (v[0], "a:x:1:");
  assert_string_equal (v[1], "ab:x:3:");
  assert_string_equal (v[2], "b:x:2:");
  free (v[2]);
  v[2] = strdup ("a:x:9:");
  assert_int_equal (reg_accounts_sort (v, &dup), -1);
  assert_int_equal (strncmp (dup, "a:", 2), 0);
  for (int i = 0; v[i]; i++)
    free (v[i]);
}

static char *
write_temp (const char *text)
{
  char *path = strdup ("/tmp/reg-accounts-XXXXXX");
  int fd = mkstemp (path);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, text, strlen (text)), (ssize_t)strlen (text));
  close (fd);
  return path;
}

static void
test_from_host (void **state)
{
  (void)state;
  char *pw = write_temp ("root:x:0:0:root:/root:/bin/bash\n"
                         "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n");
  char *gr = write_temp ("root:x:0:\nwww-data:x:33:\nadm:x:4:syslog,me\n");
  char *users[] = { "www-data", NULL }, *groups[] = { "adm", NULL };
  char **u = NULL, **g = NULL;
  assert_int_equal (reg_accounts_from_host (pw, gr, users, groups, &u, &g, NULL), 0);
  assert_string_equal (u[0], "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin");
  assert_null (u[1]);
  assert_string_equal (g[0], "www-data:x:33:"); /* the primary group */
  assert_string_equal (g[1], "adm:x:4:syslog,me");
  assert_null (g[2]);
  reg_strv_free (u);
  reg_strv_free (g);
  char *nouser[] = { "nobody-here", NULL };
  struct reg_error *err = NULL;
  assert_int_equal (reg_accounts_from_host (pw, gr, nouser, NULL, &u, &g, &err), -1);
  assert_non_null (strstr (err->msg, "user nobody-here: not in /tmp/reg-accounts-"));
  reg_error_free (err);
  err = NULL;
  char *nogroup[] = { "staff", NULL };
  assert_int_equal (reg_accounts_from_host (pw, gr, NULL, nogroup, &u, &g, &err), -1);
  assert_non_null (strstr (err->msg, "group staff: not in"));
  reg_error_free (err);
  unlink (pw);
  unlink (gr);
  free (pw);
  free (gr);
}

static void
test_text_and_resolve (void **state)
{
  (void)state;
  char *users[] = { "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin", NULL };
  char *groups[] = { "adm:x:4:", "www-data:x:33:", NULL };
  char *text = reg_accounts_passwd_text (users);
  assert_string_equal (text, "root:x:0:0:root:/root:/bin/sh\n"
                             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                             "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n");
  free (text);
  char *root_too[] = { "root:x:0:0:root:/root:/bin/bash", NULL };
  text = reg_accounts_passwd_text (root_too);
  assert_string_equal (text, "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                             "root:x:0:0:root:/root:/bin/bash\n");
  free (text);
  text = reg_accounts_group_text (NULL);
  assert_string_equal (text, "root:x:0:\nnogroup:x:65534:\n");
  free (text);
  uid_t uid;
  gid_t gid;
  assert_int_equal (reg_accounts_resolve (users, groups, "www-data", &uid, &gid, NULL), 0);
  assert_int_equal (uid, 33);
  assert_int_equal (gid, 33);
  assert_int_equal (reg_accounts_resolve (users, groups, "www-data:adm", &uid, &gid, NULL), 0);
  assert_int_equal (gid, 4);
  assert_int_equal (reg_accounts_resolve (users, groups, "www-data:7", &uid, &gid, NULL), 0);
  assert_int_equal (gid, 7);
  assert_int_equal (reg_accounts_resolve (users, groups, "33:adm", &uid, &gid, NULL), 0);
  assert_int_equal (uid, 33);
  assert_int_equal (gid, 4);
  assert_int_equal (reg_accounts_resolve (NULL, NULL, "nobody:nogroup", &uid, &gid, NULL), 0);
  assert_int_equal (uid, 65534);
  assert_int_equal (gid, 65534);
  struct reg_error *err = NULL;
  assert_int_equal (reg_accounts_resolve (users, groups, "www", &uid, &gid, &err), -1);
  assert_non_null (strstr (err->msg, "no user \"www\""));
  reg_error_free (err);
  err = NULL;
  assert_int_equal (reg_accounts_resolve (users, groups, "www-data:staff", &uid, &gid, &err), -1);
  assert_non_null (strstr (err->msg, "no group \"staff\""));
  reg_error_free (err);
}

/* Memberships: a group whose member list names the user, by name or
 * through its UID's line; --group-add names and numbers. */
static void
test_memberships (void **state)
{
  (void)state;
  char *users[] = { "www-data:x:33:33::/var/www:/bin/false", NULL };
  char *groups[] = { "www-data:x:33:", "staff:x:50:nobody,www-data", "audio:x:29:www-data",
                     "wwwd:x:70:www-datax", NULL };
  gid_t out[4];
  assert_int_equal (reg_accounts_memberships (users, groups, "www-data", out, 4), 2);
  assert_int_equal (out[0], 50);
  assert_int_equal (out[1], 29);
  assert_int_equal (reg_accounts_memberships (users, groups, "33:daemon", out, 4), 2);
  assert_int_equal (reg_accounts_memberships (users, groups, "nobody", out, 4), 1);
  assert_int_equal (out[0], 50);
  assert_int_equal (reg_accounts_memberships (users, groups, "4000", out, 4), 0);
  assert_int_equal (reg_accounts_memberships (users, groups, "www-data", out, 1), 1);
  gid_t gid = 0;
  struct reg_error *err = NULL;
  assert_int_equal (reg_accounts_group_id (groups, "audio", &gid, &err), 0);
  assert_int_equal (gid, 29);
  assert_int_equal (reg_accounts_group_id (groups, "nogroup", &gid, &err), 0);
  assert_int_equal (gid, 65534);
  assert_int_equal (reg_accounts_group_id (groups, "4242", &gid, &err), 0);
  assert_int_equal (gid, 4242);
  assert_int_equal (reg_accounts_group_id (groups, "video", &gid, &err), -1);
  assert_non_null (strstr (err->msg, "--group-add \"video\""));
  reg_error_free (err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_lines),       cmocka_unit_test (test_sort),
    cmocka_unit_test (test_from_host),   cmocka_unit_test (test_text_and_resolve),
    cmocka_unit_test (test_memberships),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
