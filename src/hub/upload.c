/* upload: a multipart body through libmicrohttpd's post processor
 * (upload.h). */
#include "upload.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEXT_MAX (1 << 20)

static void
fail (struct hub_upload *u, const char *fmt, const char *arg)
{
  if (u->error == NULL && asprintf (&u->error, fmt, arg) < 0)
    u->error = NULL;
}

static enum MHD_Result
file_part (struct hub_upload *u, const char *filename, uint64_t off, const char *data, size_t size)
{
  if (u->filename == NULL)
    {
      if ((u->filename = strdup (filename)) == NULL)
        return MHD_NO;
    }
  else if (off == 0 && (u->size > 0 || strcmp (u->filename, filename) != 0))
    {
      fail (u, "upload: more than one file part (\"%.64s\"): send one", filename);
      return MHD_YES;
    }
  if (u->too_big || size == 0)
    return MHD_YES;
  if (u->size + (int64_t)size > u->max)
    {
      /* Drop what came: nothing of a refused upload stays. */
      u->too_big = true;
      if (ftruncate (u->fd, 0) < 0)
        fail (u, "upload: %s", strerror (errno));
      return MHD_YES;
    }
  if (reg_util_write_all (u->fd, data, size) < 0)
    {
      fail (u, "upload: cannot write the file: %s", strerror (errno));
      return MHD_YES;
    }
  u->size += (int64_t)size;
  return MHD_YES;
}

static enum MHD_Result
text_part (struct hub_upload *u, const char *key, const char *data, size_t size)
{
  if (u->text_len + size > TEXT_MAX)
    {
      fail (u, "upload: form fields over 1 MiB (%s)", key);
      return MHD_YES;
    }
  u->text_len += size;
  json_t *old = json_object_get (u->fields, key);
  const char *prev = old ? json_string_value (old) : "";
  size_t plen = old ? json_string_length (old) : 0;
  char *joined = malloc (plen + size + 1);
  if (joined == NULL)
    return MHD_NO;
  memcpy (joined, prev, plen);
  memcpy (joined + plen, data, size);
  joined[plen + size] = '\0';
  json_object_set_new (u->fields, key, json_stringn (joined, plen + size));
  free (joined);
  return MHD_YES;
}

static enum MHD_Result
iterate (void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
         const char *content_type, const char *transfer_encoding, const char *data, uint64_t off,
         size_t size)
{
  struct hub_upload *u = cls;
  if (key == NULL)
    return MHD_YES;
  if (strcmp (key, "file") == 0)
    {
      if (filename == NULL)
        {
          fail (u, "upload: the part \"file\" must be a file (curl -F file=@PATH)%s", "");
          return MHD_YES;
        }
      return file_part (u, filename, off, data, size);
    }
  if (strcmp (key, "config") == 0) /* a field, or a file (curl -F config=@deploy.json) */
    return text_part (u, key, data, size);
  fail (u, "upload: unknown form field \"%.64s\" (want \"file\" and \"config\")", key);
  return MHD_YES;
}

struct hub_upload *
hub_upload_new (struct MHD_Connection *conn, const char *dir, int64_t max, struct reg_error **err)
{
  const char *type = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Content-Type");
  if (type == NULL || strncasecmp (type, "multipart/form-data", 19) != 0)
    {
      reg_error_set (err, EINVAL,
                     "deploy: the body must be multipart/form-data with a \"file\" part and a "
                     "\"config\" part (curl -F file=@app.tar.gz -F config=@deploy.json)");
      return NULL;
    }
  struct hub_upload *u = calloc (1, sizeof *u);
  if (u == NULL || (u->fields = json_object ()) == NULL
      || asprintf (&u->path, "%s/upload-XXXXXX", dir) < 0)
    {
      free (u);
      reg_error_set (err, ENOMEM, "out of memory");
      return NULL;
    }
  u->max = max;
  u->fd = -1;
  u->fd = mkostemp (u->path, O_CLOEXEC);
  u->pp = u->fd < 0 ? NULL : MHD_create_post_processor (conn, 64 * 1024, iterate, u);
  if (u->pp == NULL)
    {
      reg_error_set (err, u->fd < 0 ? EIO : EINVAL, "deploy: %s",
                     u->fd < 0 ? "cannot make the upload's file" : "a broken multipart body");
      hub_upload_free (u);
      return NULL;
    }
  return u;
}

int
hub_upload_feed (struct hub_upload *u, const char *data, size_t n)
{
  if (MHD_post_process (u->pp, data, n) != MHD_YES)
    {
      fail (u, "upload: a broken multipart body%s", "");
      return -1;
    }
  return 0;
}

int
hub_upload_finish (struct hub_upload *u, struct reg_error **err)
{
  if (u->too_big)
    return reg_error_set (err, EFBIG,
                          "upload %s: over %lld bytes (the hub's --deploy-max-size): refused",
                          u->filename ? u->filename : "", (long long)u->max);
  if (u->error)
    return reg_error_set (err, EINVAL, "%s", u->error);
  return 0;
}

char *
hub_upload_take (struct hub_upload *u)
{
  if (u->filename == NULL)
    return NULL;
  char *p = u->path;
  u->path = NULL;
  return p;
}

void
hub_upload_discard (struct hub_upload *u)
{
  if (u->fd >= 0)
    close (u->fd);
  u->fd = -1;
  if (u->path)
    unlink (u->path);
  free (u->path);
  u->path = NULL;
}

void
hub_upload_free (struct hub_upload *u)
{
  if (u == NULL)
    return;
  if (u->pp)
    MHD_destroy_post_processor (u->pp);
  hub_upload_discard (u);
  free (u->filename);
  free (u->error);
  json_decref (u->fields);
  free (u);
}
