#include "detach.h"

#include <errno.h>
#include <string.h>

/* One key: "ctrl-X" or a single character. -1 when neither. */
static int
parse_key (const char *s, size_t len)
{
  if (len == 1)
    return (unsigned char)s[0];
  if (len != 6 || strncmp (s, "ctrl-", 5) != 0)
    return -1;
  char c = s[5];
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 1;
  static const char specials[] = "@[\\]^_"; /* 0, 27 .. 31 */
  const char *p = strchr (specials, c);
  if (c == '\0' || p == NULL)
    return -1;
  return p == specials ? 0 : 27 + (int)(p - specials - 1);
}

int
reg_detach_parse (const char *spec, struct reg_detach *d, struct reg_error **err)
{
  memset (d, 0, sizeof *d);
  const char *p = spec;
  for (;;)
    {
      size_t len = strcspn (p, ",");
      int key = parse_key (p, len);
      if (key < 0)
        return reg_error_set (err, EINVAL,
                              "detach keys \"%s\": \"%.*s\" is not a key (a single character, or "
                              "ctrl-a .. ctrl-z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_)",
                              spec, (int)len, p);
      if (d->n_keys == REG_DETACH_MAX)
        return reg_error_set (err, EINVAL, "detach keys \"%s\": more than %d keys", spec,
                              REG_DETACH_MAX);
      d->keys[d->n_keys++] = (unsigned char)key;
      if (p[len] == '\0')
        return 0;
      p += len + 1;
    }
}

bool
reg_detach_feed (struct reg_detach *d, const unsigned char *in, size_t n, unsigned char *out,
                 size_t *out_n)
{
  size_t o = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (in[i] == d->keys[d->matched])
        {
          if (++d->matched == d->n_keys)
            {
              d->matched = 0;
              *out_n = o;
              return true;
            }
          continue;
        }
      /* Not the next key: what was held back goes out, and this byte may
       * begin the sequence again. */
      memcpy (out + o, d->keys, d->matched);
      o += d->matched;
      d->matched = 0;
      if (in[i] == d->keys[0])
        d->matched = 1; /* (a one-key sequence matched above) */
      else
        out[o++] = in[i];
    }
  *out_n = o;
  return false;
}
