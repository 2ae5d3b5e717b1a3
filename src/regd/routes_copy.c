/* /v1/containers/{id}/archive and /changes: reg cp and reg diff.
 *
 *   GET  archive?path=P   a frame stream whose stdout frames are a tar of P
 *                         (its top entry named after P's last component),
 *                         then an exit frame: 0, or 1 after a stderr frame
 *                         saying what failed midway
 *   POST archive?path=P   the body is a tar, extracted as copy.h says
 *   GET  changes          [{"Path", "Kind"}] (0 changed, 1 added, 2 deleted)
 *
 * Path errors (no such path, an escape through ".." or a symlink) are
 * replied before any byte of the archive. The archive is written by a
 * thread into a pipe that the server streams, so a large tree never sits
 * in memory. */
#include "copy.h"
#include "proto.h"
#include "server.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct archive_job
{
  int parent_fd; /* where the path is, and its name */
  char *name;
  char *top;
  int out_fd; /* the pipe the reply streams */
};

static int
to_frames (void *data, const void *buf, size_t len)
{
  return reg_proto_frame_write (*(int *)data, REG_FRAME_STDOUT, buf, len);
}

static void *
archive_thread (void *arg)
{
  struct archive_job *j = arg;
  struct reg_error *err = NULL;
  int rc = reg_copy_tar (j->parent_fd, j->name, j->top, to_frames, &j->out_fd, &err);
  if (rc < 0 && err)
    {
      char *msg = NULL;
      if (asprintf (&msg, "reg cp: %s\n", err->msg) > 0)
        reg_proto_frame_write (j->out_fd, REG_FRAME_STDERR, msg, strlen (msg));
      free (msg);
    }
  reg_proto_frame_write_exit (j->out_fd, rc < 0 ? 1 : 0);
  reg_error_free (err);
  close (j->out_fd);
  close (j->parent_fd);
  free (j->name);
  free (j->top);
  free (j);
  return NULL;
}

static enum MHD_Result
get_archive (struct regd *d, struct request *r, const char *ref, const char *path)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct reg_container_tree t;
  int parent = -1, p[2] = { -1, -1 };
  char *name = NULL;
  if (reg_engine_container_tree (d->engine, ref, path, false, &t, &err) < 0)
    return regd_reply_error (r, err);
  int ret = reg_copy_resolve (t.root_fd, path, &parent, &name, &err);
  reg_engine_container_tree_close (&t);
  if (ret < 0)
    return regd_reply_error (r, err);
  struct archive_job *j = calloc (1, sizeof *j);
  pthread_t th;
  /* "/" is archived under the name "root". */
  if (j == NULL || pipe2 (p, O_CLOEXEC) < 0
      || (j->top = strdup (strcmp (name, ".") ? name : "root")) == NULL)
    {
      close (parent);
      free (name);
      if (j)
        free (j->top);
      free (j);
      if (p[0] >= 0)
        close (p[0]), close (p[1]);
      return regd_reply_message (r, MHD_HTTP_INTERNAL_SERVER_ERROR, "cp: out of resources");
    }
  j->parent_fd = parent;
  j->name = name;
  j->out_fd = p[1];
  if (pthread_create (&th, NULL, archive_thread, j) != 0)
    {
      close (p[0]);
      archive_thread (j); /* cleans up; the reader end is gone */
      return regd_reply_message (r, MHD_HTTP_INTERNAL_SERVER_ERROR, "cp: cannot start a thread");
    }
  pthread_detach (th);
  return regd_reply_stream (r, MHD_HTTP_OK, p[0]);
}

static enum MHD_Result
put_archive (struct regd *d, struct request *r, const char *ref, const char *path)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct reg_container_tree t;
  if (r->body_len == 0)
    return regd_reply_message (r, MHD_HTTP_BAD_REQUEST,
                               "cp into %s: the body must be a tar archive", path);
  if (reg_engine_container_tree (d->engine, ref, path, true, &t, &err) < 0)
    return regd_reply_error (r, err);
  int ret = reg_copy_untar (t.root_fd, path, r->body, r->body_len, &err);
  reg_engine_container_tree_close (&t);
  if (ret < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (r, MHD_HTTP_OK, json_object ());
}

enum MHD_Result
regd_container_archive (struct regd *d, struct request *r, const char *ref)
{
  const char *path = regd_query (r, "path");
  if (path == NULL || path[0] != '/')
    return regd_reply_message (r, MHD_HTTP_BAD_REQUEST,
                               "cp: want ?path=ABSOLUTE-PATH in the container");
  if (strcmp (r->method, "GET") == 0)
    return get_archive (d, r, ref, path);
  return put_archive (d, r, ref, path);
}

enum MHD_Result
regd_container_changes (struct regd *d, struct request *r, const char *ref)
{
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *out = NULL;
  if (reg_engine_container_changes (d->engine, ref, &out, &err) < 0)
    return regd_reply_error (r, err);
  return regd_reply_json (r, MHD_HTTP_OK, out);
}
