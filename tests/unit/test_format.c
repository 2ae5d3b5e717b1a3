/* Unit tests of format: the Go-template subset of inspect -f and ps
 * --format, and its errors. */
#include "format.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *doc = "{\"Name\": \"web\", \"Tty\": false, \"State\": {\"Status\": \"running\", "
                         "\"ExitCode\": 0}, \"Config\": {\"Cmd\": [\"sh\", \"-c\"]}, "
                         "\"Mounts\": [{\"Destination\": \"/a\"}, {\"Destination\": \"/b\"}], "
                         "\"Labels\": {\"k\": \"v\"}}";

static char *
render (const char *tmpl, struct reg_error **err)
{
  json_t *v = json_loads (doc, 0, NULL);
  assert_non_null (v);
  struct reg_format *f = NULL;
  char *text = NULL;
  size_t len = 0;
  if (reg_format_parse (tmpl, &f, err) == 0)
    {
      FILE *out = open_memstream (&text, &len);
      int r = reg_format_render (f, v, out, err);
      fclose (out);
      if (r < 0)
        {
          free (text);
          text = NULL;
        }
    }
  reg_format_free (f);
  json_decref (v);
  return text;
}

static void
expect (const char *tmpl, const char *want)
{
  struct reg_error *err = NULL;
  char *got = render (tmpl, &err);
  if (got == NULL)
    fail_msg ("%s: %s", tmpl, err ? err->msg : "?");
  assert_string_equal (got, want);
  free (got);
}

static void
expect_error (const char *tmpl, const char *want)
{
  struct reg_error *err = NULL;
  char *got = render (tmpl, &err);
  if (got != NULL)
    fail_msg ("%s: rendered \"%s\", wanted an error", tmpl, got);
  assert_non_null (err);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("%s: error \"%s\" lacks \"%s\"", tmpl, err->msg, want);
  reg_error_free (err);
}

static void
test_values (void **state)
{
  expect ("{{.State.Status}}", "running");
  expect ("{{ .Name }} {{.State.ExitCode}} {{.Tty}}", "web 0 false");
  expect ("{{json .Config}}", "{\"Cmd\":[\"sh\",\"-c\"]}");
  expect ("{{json .Name}}", "\"web\"");
  expect ("{{index .Labels \"k\"}}/{{index .Mounts 1}}", "v/{\"Destination\":\"/b\"}");
  expect ("{{len .Mounts}} {{upper .Name}} {{join .Config.Cmd \" \"}}", "2 WEB sh -c");
  expect ("{{range .Mounts}}{{.Destination}};{{end}}", "/a;/b;");
  expect ("{{if .Tty}}tty{{else}}no tty{{end}}", "no tty");
  expect ("{{if .Name}}named{{end}}", "named");
  expect ("a\\tb\\n", "a\tb\n");
  expect ("plain", "plain");
}

static void
test_errors (void **state)
{
  expect_error ("{{.State.Nope}}", ".State has no field \"Nope\"");
  expect_error ("{{.Nope}}", "has no field \"Nope\"");
  expect_error ("{{.State", "\"{{\" without \"}}\"");
  expect_error ("{{bogus .Name}}", "unknown function");
  expect_error ("{{end}}", "without {{range}} or {{if}}");
  expect_error ("{{range .Mounts}}x", "{{range}} without {{end}}");
  expect_error ("{{.Name | upper}}", "pipelines | are not supported");
  expect_error ("{{.A..B}}", "has '..'");
  expect_error ("{{range .Name}}{{end}}", "range .Name: not a list");
  expect_error ("{{index .Labels \"x\"}}", "no such key");
  expect_error ("{{}}", "an empty action");
  expect_error ("{{\"lit\"}}", "must be a field path");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_values),
    cmocka_unit_test (test_errors),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
