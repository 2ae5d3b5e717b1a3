#include "etcfiles.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
reg_etcfiles_ip_ok (const char *s)
{
  unsigned char buf[sizeof (struct in6_addr)];
  return s && (inet_pton (AF_INET, s, buf) == 1 || inet_pton (AF_INET6, s, buf) == 1);
}

static bool
ip_is_loopback (const char *s)
{
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton (AF_INET, s, &a4) == 1)
    return (ntohl (a4.s_addr) >> 24) == 127;
  return inet_pton (AF_INET6, s, &a6) == 1 && IN6_IS_ADDR_LOOPBACK (&a6);
}

bool
reg_etcfiles_hostname_ok (const char *s)
{
  size_t n = s ? strlen (s) : 0;
  if (n == 0 || n > 63)
    return false;
  size_t label = 0;
  for (size_t i = 0; i < n; i++)
    {
      char c = s[i];
      bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (c == '.')
        {
          if (label == 0 || s[i - 1] == '-')
            return false;
          label = 0;
          continue;
        }
      if (!alnum && c != '-')
        return false;
      if (c == '-' && label == 0)
        return false;
      label++;
    }
  return label > 0 && s[n - 1] != '-';
}

/* A search domain: host-name characters, at most 253 bytes; "." alone
 * means "no search list" (Docker's spelling). */
static bool
search_ok (const char *s)
{
  if (strcmp (s, ".") == 0)
    return true;
  size_t n = strlen (s);
  if (n == 0 || n > 253)
    return false;
  for (const char *p = s; *p; p++)
    if (!strchr ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._", *p))
      return false;
  return true;
}

int
reg_etcfiles_check (const char *hostname, char *const *dns, char *const *dns_search,
                    char *const *extra_hosts, struct reg_error **err)
{
  if (hostname && !reg_etcfiles_hostname_ok (hostname))
    return reg_error_set (err, EINVAL,
                          "hostname \"%s\": use at most 63 letters, digits, '-' and '.' "
                          "(RFC 1123)",
                          hostname);
  for (size_t i = 0; dns && dns[i]; i++)
    if (!reg_etcfiles_ip_ok (dns[i]))
      return reg_error_set (err, EINVAL, "dns server \"%s\": not an IPv4 or IPv6 address", dns[i]);
  for (size_t i = 0; dns_search && dns_search[i]; i++)
    if (!search_ok (dns_search[i]))
      return reg_error_set (err, EINVAL, "dns search domain \"%s\": not a domain name",
                            dns_search[i]);
  for (size_t i = 0; extra_hosts && extra_hosts[i]; i++)
    {
      const char *h = extra_hosts[i];
      const char *colon = strchr (h, ':');
      _cleanup_free_ char *name = colon ? strndup (h, (size_t)(colon - h)) : NULL;
      if (colon == NULL || name == NULL || !reg_etcfiles_hostname_ok (name)
          || !reg_etcfiles_ip_ok (colon + 1))
        return reg_error_set (err, EINVAL,
                              "add-host \"%s\": want NAME:IP (an IPv4 or IPv6 address)", h);
    }
  return 0;
}

char *
reg_etcfiles_hosts (const struct reg_etc_spec *s)
{
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&text, &len);
  if (f == NULL)
    return NULL;
  fputs ("127.0.0.1\tlocalhost\n"
         "::1\tlocalhost ip6-localhost ip6-loopback\n"
         "fe00::0\tip6-localnet\n"
         "ff00::0\tip6-mcastprefix\n"
         "ff02::1\tip6-allnodes\n"
         "ff02::2\tip6-allrouters\n",
         f);
  for (size_t i = 0; s->extra_hosts && s->extra_hosts[i]; i++)
    {
      const char *colon = strchr (s->extra_hosts[i], ':');
      if (colon)
        fprintf (f, "%s\t%.*s\n", colon + 1, (int)(colon - s->extra_hosts[i]), s->extra_hosts[i]);
    }
  fprintf (f, "%s\t%s", s->address ? s->address : "127.0.1.1", s->hostname);
  if (s->id && strncmp (s->hostname, s->id, strlen (s->hostname)) != 0)
    fprintf (f, " %.12s", s->id);
  if (s->name && strcmp (s->name, s->hostname) != 0)
    fprintf (f, " %s", s->name);
  for (size_t i = 0; s->aliases && s->aliases[i]; i++)
    fprintf (f, " %s", s->aliases[i]);
  fputc ('\n', f);
  for (size_t i = 0; s->peers && s->peers[i]; i++)
    fprintf (f, "%s\n", s->peers[i]);
  if (fclose (f) != 0)
    {
      free (text);
      return NULL;
    }
  return text;
}

/* The first word after `key` when `line` is "key<blank>...", else NULL. */
static const char *
directive (const char *line, const char *key)
{
  size_t n = strlen (key);
  line += strspn (line, " \t");
  if (strncmp (line, key, n) != 0 || (line[n] != ' ' && line[n] != '\t'))
    return NULL;
  return line + n + strspn (line + n, " \t");
}

/* The servers of a resolv.conf text, loopback ones only when keep_loopback. */
static void
servers_of (const char *text, bool keep_loopback, FILE *out, int *count)
{
  for (const char *line = text; line && *line;)
    {
      const char *end = strchr (line, '\n');
      size_t len = end ? (size_t)(end - line) : strlen (line);
      _cleanup_free_ char *copy = strndup (line, len);
      const char *v = copy ? directive (copy, "nameserver") : NULL;
      if (v)
        {
          char addr[64];
          size_t alen = strcspn (v, " \t#;");
          snprintf (addr, sizeof addr, "%.*s", (int)alen, v);
          if (reg_etcfiles_ip_ok (addr) && (keep_loopback || !ip_is_loopback (addr)))
            {
              fprintf (out, "nameserver %s\n", addr);
              ++*count;
            }
        }
      line = end ? end + 1 : NULL;
    }
}

/* The search list and options lines of the host's file, as they are (the
 * last search or domain line wins, as in glibc). */
static void
search_and_options (const struct reg_etc_spec *s, const char *text, FILE *out)
{
  _cleanup_free_ char *search = NULL;
  for (const char *line = text; line && *line;)
    {
      const char *end = strchr (line, '\n');
      size_t len = end ? (size_t)(end - line) : strlen (line);
      _cleanup_free_ char *copy = strndup (line, len);
      const char *v = NULL;
      if (copy && ((v = directive (copy, "search")) || (v = directive (copy, "domain"))))
        {
          free (search);
          search = strdup (v);
        }
      else if (copy && directive (copy, "options"))
        fprintf (out, "%s\n", copy + strspn (copy, " \t"));
      line = end ? end + 1 : NULL;
    }
  if (s->dns_search && s->dns_search[0])
    {
      if (strcmp (s->dns_search[0], ".") == 0)
        return;
      fputs ("search", out);
      for (size_t i = 0; s->dns_search[i]; i++)
        fprintf (out, " %s", s->dns_search[i]);
      fputc ('\n', out);
    }
  else if (search && *search)
    fprintf (out, "search %s\n", search);
}

char *
reg_etcfiles_resolv (const struct reg_etc_spec *s, const char *host_text, const char *upstream_text)
{
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&text, &len);
  if (f == NULL)
    return NULL;
  fputs ("# Generated by reg\n", f);
  int count = 0;
  if (s->dns && s->dns[0])
    for (size_t i = 0; s->dns[i]; i++, count++)
      fprintf (f, "nameserver %s\n", s->dns[i]);
  if (count == 0)
    servers_of (host_text, s->keep_loopback_dns, f, &count);
  if (count == 0 && upstream_text)
    servers_of (upstream_text, false, f, &count);
  if (count == 0 && !s->keep_loopback_dns)
    fputs ("nameserver 8.8.8.8\nnameserver 8.8.4.4\n", f);
  search_and_options (s, host_text ? host_text : "", f);
  if (fclose (f) != 0)
    {
      free (text);
      return NULL;
    }
  return text;
}

static int
write_one (const char *dir, const char *name, const char *text, struct reg_error **err)
{
  _cleanup_free_ char *path = NULL;
  if (text == NULL || asprintf (&path, "%s/%s", dir, name) < 0)
    return reg_error_set (err, ENOMEM, "out of memory");
  /* Not synced: every start writes them again, so nothing needs them
   * after a crash (an fsync each was 1-2 ms of a start). */
  if (reg_util_write_replace (path, text, strlen (text), 0644, err) < 0)
    return reg_error_prefix (err, "write /etc/%s", name);
  return 0;
}

int
reg_etcfiles_write (const char *dir, const struct reg_etc_spec *s, struct reg_error **err)
{
  _cleanup_free_ char *host = NULL, *upstream = NULL;
  if (s->host_resolv && reg_util_read_file (s->host_resolv, 1 << 20, &host, NULL, NULL) < 0)
    host = NULL; /* a host without resolv.conf: the defaults */
  if (s->upstream_resolv
      && reg_util_read_file (s->upstream_resolv, 1 << 20, &upstream, NULL, NULL) < 0)
    upstream = NULL;
  _cleanup_free_ char *hosts = reg_etcfiles_hosts (s);
  _cleanup_free_ char *resolv = reg_etcfiles_resolv (s, host ? host : "", upstream);
  _cleanup_free_ char *hostname = NULL;
  if (asprintf (&hostname, "%s\n", s->hostname) < 0)
    hostname = NULL;
  if (write_one (dir, "hosts", hosts, err) < 0 || write_one (dir, "hostname", hostname, err) < 0
      || write_one (dir, "resolv.conf", resolv, err) < 0)
    return -1;
  return 0;
}
