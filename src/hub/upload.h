/* upload: a multipart/form-data request body (libmicrohttpd's post
 * processor) as the deploy route takes it: one file part named "file",
 * streamed to a temporary file under the hub's deploy directory and
 * bounded by the configured size (the rest is read and dropped, and the
 * request refused with 413), and small text parts ("config": the
 * deployment's JSON) kept in memory, at most 1 MiB in all. Any other part
 * name is refused. The file is removed when the upload is freed unless the
 * caller took it (hub_upload_take).
 */
#ifndef REG_HUB_UPLOAD_H
#define REG_HUB_UPLOAD_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct hub_upload
{
  struct MHD_PostProcessor *pp;
  int fd;
  char *path;     /* the file part's content */
  char *filename; /* as the client named it */
  int64_t size, max;
  bool too_big;
  char *error;    /* the first thing wrong with the body */
  json_t *fields; /* text parts: name -> string */
  size_t text_len;
};

/* NULL with err when the body is not multipart/form-data. */
struct hub_upload *hub_upload_new (struct MHD_Connection *conn, const char *dir, int64_t max,
                                   struct reg_error **err);
/* Feed body bytes; -1 when the post processor failed (a broken body). */
int hub_upload_feed (struct hub_upload *u, const char *data, size_t n);
/* After the body: 0, or -1 with err (EFBIG for a file over the bound,
 * EINVAL for a body that is not what the route takes). */
int hub_upload_finish (struct hub_upload *u, struct reg_error **err);
/* The file's path, now the caller's to remove; NULL when no file came. */
char *hub_upload_take (struct hub_upload *u);
/* Remove the file now (a refused upload: before the reply, so nothing is
 * left once the client has its answer). */
void hub_upload_discard (struct hub_upload *u);
void hub_upload_free (struct hub_upload *u);

#endif
