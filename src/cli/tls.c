#include "tls.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct reg_tls
{
  CURL *h;
  int fd;
};

/* The few libcurl functions used, resolved once by load_curl. */
static struct
{
  void *dl;
  typeof (curl_easy_init) *easy_init;
  typeof (curl_easy_setopt) *easy_setopt;
  typeof (curl_easy_perform) *easy_perform;
  typeof (curl_easy_getinfo) *easy_getinfo;
  typeof (curl_easy_send) *easy_send;
  typeof (curl_easy_recv) *easy_recv;
  typeof (curl_easy_strerror) *easy_strerror;
  typeof (curl_easy_cleanup) *easy_cleanup;
} curl;

#define RESOLVE(field, name) (curl.field = (typeof (curl.field))dlsym (curl.dl, name)) != NULL

/* Debian's libcurl4 (OpenSSL), else libcurl3-gnutls: the same ABI. */
static int
load_curl (char **err)
{
  if (curl.dl)
    return 0;
  void *dl = dlopen ("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (dl == NULL)
    dl = dlopen ("libcurl-gnutls.so.4", RTLD_NOW | RTLD_LOCAL);
  if (dl == NULL)
    {
      if (asprintf (err, "tcp:// needs libcurl, which cannot be loaded (%s): install libcurl4",
                    dlerror ())
          < 0)
        *err = NULL;
      return -1;
    }
  curl.dl = dl;
  if (RESOLVE (easy_init, "curl_easy_init") && RESOLVE (easy_setopt, "curl_easy_setopt")
      && RESOLVE (easy_perform, "curl_easy_perform") && RESOLVE (easy_getinfo, "curl_easy_getinfo")
      && RESOLVE (easy_send, "curl_easy_send") && RESOLVE (easy_recv, "curl_easy_recv")
      && RESOLVE (easy_strerror, "curl_easy_strerror")
      && RESOLVE (easy_cleanup, "curl_easy_cleanup"))
    return 0;
  if (asprintf (err, "tcp://: the libcurl found lacks %s", dlerror ()) < 0)
    *err = NULL;
  dlclose (dl);
  memset (&curl, 0, sizeof curl);
  return -1;
}

static char *
connect_error (CURL *h, CURLcode rc, const char *host_port)
{
  long os_errno = 0;
  curl.easy_getinfo (h, CURLINFO_OS_ERRNO, &os_errno);
  char *msg = NULL;
  int n;
  if (rc == CURLE_COULDNT_CONNECT)
    n = asprintf (&msg, "cannot reach regd at tcp://%s (%s). Is it started with --tls-listen?",
                  host_port, os_errno ? strerror ((int)os_errno) : "connection refused");
  else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR
           || rc == CURLE_SSL_CACERT_BADFILE)
    n = asprintf (&msg, "TLS with tcp://%s failed: %s (is --tls-ca the CA of regd's certificate?)",
                  host_port, curl.easy_strerror (rc));
  else
    n = asprintf (&msg, "connection to regd at tcp://%s failed: %s", host_port,
                  curl.easy_strerror (rc));
  return n < 0 ? NULL : msg;
}

struct reg_tls *
reg_tls_connect (const char *host_port, const char *ca_file, char **err)
{
  *err = NULL;
  if (load_curl (err) < 0)
    return NULL;
  struct reg_tls *t = calloc (1, sizeof *t);
  char url[1024];
  snprintf (url, sizeof url, "https://%s/", host_port);
  if (t == NULL || (t->h = curl.easy_init ()) == NULL)
    {
      free (t);
      *err = strdup ("out of memory");
      return NULL;
    }
  curl.easy_setopt (t->h, CURLOPT_URL, url);
  curl.easy_setopt (t->h, CURLOPT_PROTOCOLS_STR, "https"); /* never plain text */
  curl.easy_setopt (t->h, CURLOPT_CONNECT_ONLY, 1L);
  curl.easy_setopt (t->h, CURLOPT_NOSIGNAL, 1L);
  if (ca_file)
    curl.easy_setopt (t->h, CURLOPT_CAINFO, ca_file);
  CURLcode rc = curl.easy_perform (t->h);
  curl_socket_t fd = CURL_SOCKET_BAD;
  if (rc == CURLE_OK)
    rc = curl.easy_getinfo (t->h, CURLINFO_ACTIVESOCKET, &fd);
  if (rc != CURLE_OK || fd == CURL_SOCKET_BAD)
    {
      *err = connect_error (t->h, rc, host_port);
      reg_tls_close (t);
      return NULL;
    }
  t->fd = fd;
  return t;
}

void
reg_tls_close (struct reg_tls *t)
{
  if (t == NULL)
    return;
  if (t->h)
    curl.easy_cleanup (t->h);
  free (t);
}

int
reg_tls_fd (const struct reg_tls *t)
{
  return t->fd;
}

static ssize_t
result (CURLcode rc, size_t n)
{
  if (rc == CURLE_OK)
    return (ssize_t)n;
  errno = rc == CURLE_AGAIN ? EAGAIN : EIO;
  return -1;
}

ssize_t
reg_tls_recv (struct reg_tls *t, void *buf, size_t len)
{
  size_t n = 0;
  CURLcode rc = curl.easy_recv (t->h, buf, len, &n);
  /* libcurl also says 0 bytes when a TLS record held no data for us (a
   * TLS 1.3 session ticket that arrived after our request): the end is
   * only the socket's end. */
  if (rc == CURLE_OK && n == 0)
    {
      char c;
      ssize_t p = recv (t->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (p != 0)
        rc = CURLE_AGAIN;
    }
  return result (rc, n);
}

ssize_t
reg_tls_send (struct reg_tls *t, const void *buf, size_t len)
{
  size_t n = 0;
  CURLcode rc = curl.easy_send (t->h, buf, len, &n);
  if (rc == CURLE_OK && n == 0)
    rc = CURLE_AGAIN;
  return result (rc, n);
}
