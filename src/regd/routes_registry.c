/* /v1/templates/push, /pull, /load, /tags: templates to and from OCI registries
 * and image-layout directories, images from archives (transfer.h). Push,
 * pull and load reply with a
 * stream of JSON lines (application/x-ndjson): progress events, then one
 * {"Result": {...}} or {"Error": "message"} line. The transfer runs in its
 * own thread writing to a pipe, so a client that hangs up does not stop a
 * pull halfway (a pull is all or nothing either way). */
#include "server.h"
#include "transfer.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct job
{
  struct regd *d;
  bool push, load;
  char *ref, *tmpl, *layout, *archive, *user, *password, *ca;
  bool insecure, as_image;
  int fd; /* write end */
};

static void
job_free (struct job *j)
{
  free (j->ref);
  free (j->tmpl);
  free (j->layout);
  free (j->archive);
  free (j->ca);
  free (j->user);
  if (j->password)
    explicit_bzero (j->password, strlen (j->password));
  free (j->password);
  if (j->fd >= 0)
    close (j->fd);
  free (j);
}

static void
emit (int fd, json_t *j)
{
  char *text = json_dumps (j, JSON_COMPACT);
  if (text == NULL)
    return;
  size_t n = strlen (text);
  text[n] = '\n';
  /* One write per line: atomic on a pipe below PIPE_BUF. */
  (void)reg_util_write_all (fd, text, n + 1);
  free (text);
}

static void
on_event (void *data, json_t *event)
{
  emit (*(int *)data, event);
}

static void
options (struct job *j, struct reg_transfer_options *o)
{
  *o = (struct reg_transfer_options){ .ref = j->ref,
                                      .tmpl = j->tmpl,
                                      .layout = j->layout,
                                      .archive = j->archive,
                                      .as_image = j->as_image,
                                      .insecure = j->insecure,
                                      .user = j->user,
                                      .password = j->password,
                                      .ca_pem = j->ca };
}

static void *
run (void *p)
{
  struct job *j = p;
  struct reg_transfer_options o;
  options (j, &o);
  o.event = on_event;
  o.data = &j->fd;
  _cleanup_error_ struct reg_error *err = NULL;
  json_t *result = NULL;
  int ret = j->push   ? reg_transfer_push (j->d->engine, &o, &result, &err)
            : j->load ? reg_transfer_load (j->d->engine, &o, &result, &err)
                      : reg_transfer_pull (j->d->engine, &o, &result, &err);
  json_t *last = ret == 0 ? json_pack ("{s:o}", "Result", result)
                          : json_pack ("{s:s}", "Error", err && err->msg ? err->msg : "failed");
  if (last == NULL && err && err->msg)
    {
      /* Not valid UTF-8 (a name from the far side): keep it readable. */
      for (char *c = err->msg; *c; c++)
        if ((unsigned char)*c >= 0x80 || (unsigned char)*c < 0x20)
          *c = '?';
      last = json_pack ("{s:s}", "Error", err->msg);
    }
  emit (j->fd, last);
  json_decref (last);
  job_free (j);
  return NULL;
}

static int
parse (struct request *r, struct job *j, const char *what, struct reg_error **err)
{
  static const char *const keys[]
      = { "Ref", "Template", "Layout", "Archive", "Insecure", "Auth", "AsImage", "Ca", NULL };
  json_t *body = regd_body_object (r, what, err);
  if (body == NULL)
    return -1;
  const char *ref = NULL, *tmpl = NULL, *layout = NULL, *archive = NULL, *user = NULL,
             *password = NULL, *ca = NULL;
  json_t *auth = json_object_get (body, "Auth");
  int ret = 0;
  if (regd_json_only_keys (body, keys, what, err) < 0
      || regd_json_string (body, "Ref", what, &ref, err) < 0
      || regd_json_string (body, "Template", what, &tmpl, err) < 0
      || regd_json_string (body, "Layout", what, &layout, err) < 0
      || regd_json_string (body, "Archive", what, &archive, err) < 0
      || regd_json_string (body, "Ca", what, &ca, err) < 0)
    ret = -1;
  else if (auth && !json_is_null (auth)
           && (!json_is_object (auth) || regd_json_string (auth, "Username", what, &user, err) < 0
               || regd_json_string (auth, "Password", what, &password, err) < 0))
    ret = reg_error_set (err, EINVAL, "%s: Auth must be {\"Username\", \"Password\"}", what);
  else if (j->load && (archive == NULL || archive[0] != '/'))
    ret = reg_error_set (err, EINVAL, "%s: Archive (an absolute path) is required", what);
  else if (json_object_get (body, "AsImage")
           && !json_is_boolean (json_object_get (body, "AsImage")))
    ret = reg_error_set (err, EINVAL, "%s: AsImage must be true or false", what);
  else if (json_is_true (json_object_get (body, "AsImage")) && !j->push)
    ret = reg_error_set (err, EINVAL, "%s: AsImage is for /v1/templates/push", what);
  else if (!j->load && archive != NULL)
    ret = reg_error_set (err, EINVAL, "%s: Archive is for /v1/templates/load", what);
  else if (ref == NULL && !j->load)
    ret = reg_error_set (err, EINVAL, "%s: Ref is required", what);
  else if (layout && layout[0] != '/')
    ret = reg_error_set (err, EINVAL, "%s: Layout %s is not an absolute path", what, layout);
  if (ret == 0)
    {
      j->insecure = json_is_true (json_object_get (body, "Insecure"));
      j->as_image = json_is_true (json_object_get (body, "AsImage"));
      j->ref = strdup (ref ? ref : "");
      j->archive = archive ? strdup (archive) : NULL;
      j->tmpl = tmpl ? strdup (tmpl) : NULL;
      j->layout = layout ? strdup (layout) : NULL;
      j->ca = ca ? strdup (ca) : NULL;
      j->user = user ? strdup (user) : NULL;
      j->password = password ? strdup (password) : NULL;
    }
  json_decref (body);
  return ret;
}

static enum MHD_Result
tags (struct regd *d, struct request *r)
{
  _cleanup_error_ struct reg_error *err = NULL;
  struct job *j = calloc (1, sizeof *j);
  if (j == NULL)
    return MHD_NO;
  j->fd = -1;
  _cleanup_strv_ char **list = NULL;
  struct reg_transfer_options o;
  int ret = parse (r, j, "list tags", &err);
  if (ret == 0)
    {
      options (j, &o);
      ret = reg_transfer_tags (d->engine, &o, &list, &err);
    }
  job_free (j);
  if (ret < 0)
    return regd_reply_error (r, err);
  json_t *arr = json_array ();
  for (size_t i = 0; list[i]; i++)
    json_array_append_new (arr, json_string (list[i]));
  return regd_reply_json (r, MHD_HTTP_OK, arr);
}

enum MHD_Result
regd_route_registry (struct regd *d, struct request *r, const char *what)
{
  _cleanup_error_ struct reg_error *err = NULL;
  if (strcmp (what, "tags") == 0)
    return tags (d, r);
  bool push = strcmp (what, "push") == 0;
  struct job *j = calloc (1, sizeof *j);
  if (j == NULL)
    return MHD_NO;
  j->fd = -1;
  j->d = d;
  j->push = push;
  j->load = strcmp (what, "load") == 0;
  if (parse (r, j, push ? "push template" : j->load ? "load images" : "pull template", &err) < 0)
    {
      job_free (j);
      return regd_reply_error (r, err);
    }
  if (push && j->tmpl == NULL)
    {
      job_free (j);
      return regd_reply_message (r, MHD_HTTP_BAD_REQUEST, "push template: Template is required");
    }
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      job_free (j);
      return regd_reply_message (r, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s: pipe: %s", what,
                                 strerror (errno));
    }
  j->fd = p[1];
  pthread_t t;
  if (pthread_create (&t, NULL, run, j) != 0)
    {
      close (p[0]);
      job_free (j);
      return regd_reply_message (r, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s: cannot start a thread",
                                 what);
    }
  pthread_detach (t);
  return regd_reply_lines (r, p[0]);
}
