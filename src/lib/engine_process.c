/* engine_process: what regd asks of a live container's processes and of
 * its monitor (engine.h): top, and the connections to the monitor's
 * attach.sock (monitor.h, proto.h hello lines) for input, a terminal's
 * size and an attached output stream. */
#include "engine.h"
#include "proto.h"
#include "root.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_WAIT_MS 5000 /* run -i sends input while its start is under way */

/* One /proc/PID/stat: the fields after the ")" that ends the command's
 * name (proc(5)); false when the process has gone. */
static bool
read_stat (pid_t pid, long hz, struct reg_process *p)
{
  char path[64];
  _cleanup_free_ char *stat = NULL, *cmd = NULL;
  size_t cmd_len = 0;
  snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
  if (reg_util_read_file (path, 65536, &stat, NULL, NULL) < 0)
    return false;
  snprintf (path, sizeof path, "/proc/%d/cmdline", (int)pid);
  reg_util_read_file (path, 65536, &cmd, &cmd_len, NULL);
  for (size_t k = 0; cmd && k + 1 < cmd_len; k++)
    if (cmd[k] == '\0')
      cmd[k] = ' ';
  const char *rp = strrchr (stat, ')');
  char st = '?';
  int ppid = 0;
  unsigned long long ut = 0, stt = 0;
  if (rp)
    sscanf (rp + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &st, &ppid, &ut, &stt);
  *p = (struct reg_process){ .pid = pid,
                             .ppid = ppid,
                             .state = st,
                             .cpu_s = hz > 0 ? (ut + stt) / (unsigned long long)hz : 0,
                             .command = cmd && *cmd ? reg_steal (&cmd) : strdup ("") };
  return p->command != NULL;
}

int
reg_engine_container_top (struct reg_engine *e, const char *ref, struct reg_process **out,
                          size_t *n, struct reg_error **err)
{
  pid_t *pids = NULL;
  size_t count = 0;
  *out = NULL;
  *n = 0;
  if (reg_engine_container_pids (e, ref, &pids, &count, err) < 0)
    return -1;
  struct reg_process *v = calloc (count ? count : 1, sizeof *v);
  if (v == NULL)
    {
      free (pids);
      return reg_error_set (err, ENOMEM, "out of memory");
    }
  long hz = sysconf (_SC_CLK_TCK);
  for (size_t i = 0; i < count; i++)
    if (read_stat (pids[i], hz, &v[*n]))
      (*n)++; /* else exited meanwhile */
  free (pids);
  *out = v;
  return 0;
}

void
reg_engine_processes_free (struct reg_process *p, size_t n)
{
  for (size_t i = 0; p && i < n; i++)
    free (p[i].command);
  free (p);
}

/* A connection to the monitor's attach.sock with the hello sent; -1 when
 * it does not answer within CONNECT_WAIT_MS. */
static int
monitor_connect (struct reg_engine *e, const char *id, const struct reg_hello *hello)
{
  char line[REG_HELLO_MAX];
  int len = reg_proto_hello_format (hello, line, sizeof line);
  _cleanup_free_ char *dir = reg_root_container (e->root, id);
  /* Through a directory fd: the full path may be longer than sun_path. */
  _cleanup_close_ int dfd = dir ? open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (len < 0 || dfd < 0)
    return -1;
  snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/attach.sock", dfd);
  for (int waited = 0; waited < CONNECT_WAIT_MS; waited += 10)
    {
      int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd >= 0 && connect (fd, (struct sockaddr *)&addr, sizeof addr) == 0
          && reg_util_write_all (fd, line, (size_t)len) == 0)
        return fd;
      if (fd >= 0)
        close (fd);
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  return -1;
}

/* Input and resize: for a container started with -i or a terminal. */
static int
connect_input (struct reg_engine *e, const char *ref, const struct reg_hello *hello,
               const char *refused, struct reg_error **err)
{
  struct reg_container *c = NULL;
  if (reg_engine_container_get (e, ref, &c, err) < 0)
    return -1;
  bool takes_input = c->open_stdin || c->tty;
  char id[65];
  memcpy (id, c->id, sizeof id);
  reg_container_free (c);
  int fd = takes_input ? monitor_connect (e, id, hello) : -1;
  if (fd < 0)
    return reg_error_set (err, EBUSY, "container %s: %s", ref, refused);
  return fd;
}

int
reg_engine_container_input (struct reg_engine *e, const char *ref, bool keep, int *fd,
                            struct reg_error **err)
{
  struct reg_hello h = { .kind = REG_HELLO_STDIN, .keep = keep };
  *fd = connect_input (e, ref, &h, "takes no input (run it with -i), or is not running", err);
  return *fd < 0 ? -1 : 0;
}

int
reg_engine_container_resize (struct reg_engine *e, const char *ref, unsigned short rows,
                             unsigned short cols, struct reg_error **err)
{
  struct reg_hello h = { .kind = REG_HELLO_RESIZE, .rows = rows, .cols = cols };
  int fd = connect_input (e, ref, &h, "has no terminal", err);
  if (fd < 0)
    return -1;
  close (fd); /* the monitor takes the size and closes its end */
  return 0;
}

int
reg_engine_container_attach (struct reg_engine *e, const char *ref, int *fd, struct reg_error **err)
{
  struct reg_container *c = NULL;
  if (reg_engine_container_get (e, ref, &c, err) < 0)
    return -1;
  int ret = 0;
  struct reg_hello h = { .kind = REG_HELLO_ATTACH };
  if (!reg_state_live (c->state))
    ret = reg_error_set (err, EBUSY, "container %.12s: cannot attach: it is %s", c->id,
                         reg_container_state_name (c->state));
  else if ((*fd = monitor_connect (e, c->id, &h)) < 0)
    ret = reg_error_set (err, EBUSY,
                         "container %.12s: cannot attach: its monitor does not answer (it has "
                         "just exited, or was started by an older reg-monitor)",
                         c->id);
  reg_container_free (c);
  return ret;
}

/* While a log is followed: is the container still going (or about to)? */
static bool
log_live (void *data, const char *id)
{
  struct reg_container *c = NULL;
  if (reg_engine_container_get (data, id, &c, NULL) < 0)
    return false;
  bool live = reg_state_live (c->state) || c->state == REG_STATE_GENERATING
              || c->state == REG_STATE_GENERATED;
  reg_container_free (c);
  return live;
}

int
reg_engine_container_logs (struct reg_engine *e, const char *ref, const struct reg_logfile_query *q,
                           struct reg_logfile_reader **out, struct reg_error **err)
{
  struct reg_container *c = NULL;
  if (reg_engine_container_get (e, ref, &c, err) < 0)
    return -1;
  int ret = reg_logfile_reader_open (e->root, c->id, q, log_live, e, out, err);
  reg_container_free (c);
  return ret;
}
