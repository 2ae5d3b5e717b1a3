/* --env-file FILE (run, generate): Docker's format. One variable a line,
 * KEY=VALUE taken as it is (no quotes removed, no expansion), or KEY alone
 * for the client's own value (skipped when unset); blank lines and lines
 * starting with '#' are ignored. A name that is empty or has blanks is an
 * error naming the file and the line. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
add (json_t *env, const char *line)
{
  if (strchr (line, '=') != NULL)
    {
      json_array_append_new (env, json_string (line));
      return;
    }
  const char *v = getenv (line);
  char *kv = NULL;
  if (v && asprintf (&kv, "%s=%s", line, v) > 0)
    json_array_append_new (env, json_string (kv));
  free (kv);
}

int
cli_env_file (const char *path, json_t *env)
{
  FILE *f = fopen (path, "re");
  if (f == NULL)
    {
      fprintf (stderr, "reg: --env-file %s: %s\n", path, strerror (errno));
      return -1;
    }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int ret = 0, no = 0;
  while (ret == 0 && (n = getline (&line, &cap, f)) >= 0)
    {
      no++;
      while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
      const char *s = line;
      while (isspace ((unsigned char)*s))
        s++;
      if (*s == '\0' || *s == '#')
        continue;
      size_t key = strcspn (s, "=");
      json_t *utf8 = json_string (s); /* NULL unless valid UTF-8 */
      bool bad = key == 0 || strcspn (s, " \t") < key || utf8 == NULL;
      json_decref (utf8);
      if (bad)
        {
          fprintf (stderr, "reg: --env-file %s:%d: \"%s\" is not KEY=VALUE or KEY\n", path, no, s);
          ret = -1;
          continue;
        }
      add (env, s);
    }
  if (ret == 0 && ferror (f))
    {
      fprintf (stderr, "reg: --env-file %s: read error\n", path);
      ret = -1;
    }
  free (line);
  fclose (f);
  return ret;
}
