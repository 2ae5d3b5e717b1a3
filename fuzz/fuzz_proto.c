/* libFuzzer target: the wire formats (proto.h) as their readers meet them:
 * a status line from a helper that runs in a container's namespaces, a
 * hello line from a connection to attach.sock, and a frame stream (the
 * client's reader). The first byte picks the reader. */
#include "proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int
on_frame (void *data, int stream, const unsigned char *payload, size_t len, int exit_code)
{
  size_t *total = data;
  *total += len;
  if (len && payload[len - 1] == 0xff && stream == 0)
    return -1; /* a callback that stops the feed */
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  struct reg_error *err = NULL;
  switch (data[0] % 3)
    {
    case 0:
      {
        struct reg_status st;
        if (reg_proto_status_parse (text, len, &st, &err) == 0)
          {
            if (st.kind == REG_STATUS_ERROR && strlen (st.result.message) >= REG_START_MESSAGE_MAX)
              abort ();
            for (size_t i = 0; st.made && st.made[i]; i++)
              if (strchr (st.made[i], '\n') || st.made[i][0] == '\0')
                abort ();
            reg_proto_status_clear (&st);
          }
        break;
      }
    case 1:
      {
        struct reg_hello h;
        if (reg_proto_hello_parse (text, len, &h, &err) == 0 && h.kind == REG_HELLO_RESIZE
            && (h.rows == 0 || h.cols == 0))
          abort ();
        break;
      }
    default:
      {
        /* In two pieces, split where the input says. */
        struct reg_frame_reader r = { 0 };
        size_t total = 0, cut = len ? (size_t)data[0] % (len + 1) : 0;
        if (reg_proto_frame_feed (&r, text, cut, on_frame, &total) == 0)
          reg_proto_frame_feed (&r, text + cut, len - cut, on_frame, &total);
        if (total > len)
          abort ();
        reg_proto_frame_reader_clear (&r);
      }
    }
  reg_error_free (err);
  return 0;
}
