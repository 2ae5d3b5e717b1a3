#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *
reg_util_errdesc (int errnum)
{
  const char *d = strerrordesc_np (errnum);
  return d ? d : "unknown error";
}

void
reg_util_closep (int *fd)
{
  if (*fd >= 0)
    close (*fd);
}

void
reg_util_fclosep (FILE **f)
{
  if (*f)
    fclose (*f);
}

static int
fsync_parent (const char *path)
{
  _cleanup_free_ char *copy = strdup (path);
  if (copy == NULL)
    return -1;
  _cleanup_close_ int dfd = open (dirname (copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return -1;
  return fsync (dfd);
}

int
reg_util_write_atomic (const char *path, const void *data, size_t len, mode_t mode,
                       struct reg_error **err)
{
  return reg_util_write_atomic_ex (path, data, len, mode, true, err);
}

enum sync_level
{
  SYNC_NONE,
  SYNC_FILE,
  SYNC_FILE_AND_DIR,
};

static int write_atomic (const char *path, const void *data, size_t len, mode_t mode,
                         enum sync_level sync, struct reg_error **err);

int
reg_util_write_atomic_ex (const char *path, const void *data, size_t len, mode_t mode, bool durable,
                          struct reg_error **err)
{
  return write_atomic (path, data, len, mode, durable ? SYNC_FILE_AND_DIR : SYNC_FILE, err);
}

int
reg_util_write_replace (const char *path, const void *data, size_t len, mode_t mode,
                        struct reg_error **err)
{
  return write_atomic (path, data, len, mode, SYNC_NONE, err);
}

static int
write_atomic (const char *path, const void *data, size_t len, mode_t mode, enum sync_level sync,
              struct reg_error **err)
{
  _cleanup_free_ char *tmp = NULL;
  if (asprintf (&tmp, "%s.tmp-XXXXXX", path) < 0)
    return reg_error_set (err, ENOMEM, "write %s: out of memory", path);
  _cleanup_close_ int fd = mkostemp (tmp, O_CLOEXEC);
  if (fd < 0)
    return reg_error_sys (err, errno, "write %s: create temporary file", path);
  const char *p = data;
  size_t left = len;
  while (left > 0)
    {
      ssize_t n = write (fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          unlink (tmp);
          return reg_error_sys (err, e, "write %s", path);
        }
      p += n;
      left -= (size_t)n;
    }
  if (fchmod (fd, mode) < 0 || (sync != SYNC_NONE && fsync (fd) < 0))
    {
      int e = errno;
      unlink (tmp);
      return reg_error_sys (err, e, "write %s: sync", path);
    }
  if (rename (tmp, path) < 0)
    {
      int e = errno;
      unlink (tmp);
      return reg_error_sys (err, e, "write %s: rename into place", path);
    }
  if (sync == SYNC_FILE_AND_DIR && fsync_parent (path) < 0)
    return reg_error_sys (err, errno, "write %s: sync directory", path);
  return 0;
}

int
reg_util_read_file (const char *path, size_t max, char **out, size_t *out_len,
                    struct reg_error **err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return reg_error_sys (err, errno, "read %s", path);
  struct stat st;
  if (fstat (fd, &st) < 0)
    return reg_error_sys (err, errno, "read %s", path);
  if (!S_ISREG (st.st_mode))
    return reg_error_set (err, EINVAL, "read %s: not a regular file", path);
  /* Read to the end rather than trust st_size: /proc and cgroupfs files
   * say 0. */
  size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, got = 0;
  if (cap > max + 1)
    cap = max + 1;
  _cleanup_free_ char *buf = malloc (cap + 1);
  if (buf == NULL)
    return reg_error_set (err, ENOMEM, "read %s: out of memory", path);
  for (;;)
    {
      if (got == cap)
        {
          if (cap > max)
            return reg_error_set (err, EFBIG, "read %s: over the limit of %zu bytes", path, max);
          cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
          char *n = realloc (buf, cap + 1);
          if (n == NULL)
            return reg_error_set (err, ENOMEM, "read %s: out of memory", path);
          buf = n;
        }
      ssize_t n = read (fd, buf + got, cap - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return reg_error_sys (err, errno, "read %s", path);
      if (n == 0)
        break;
      got += (size_t)n;
    }
  if (got > max)
    return reg_error_set (err, EFBIG, "read %s: over the limit of %zu bytes", path, max);
  buf[got] = '\0';
  if (out_len)
    *out_len = got;
  *out = reg_steal (&buf);
  return 0;
}

int
reg_util_mkdir_p (const char *path, mode_t mode, struct reg_error **err)
{
  _cleanup_free_ char *copy = strdup (path);
  if (copy == NULL)
    return reg_error_set (err, ENOMEM, "mkdir %s: out of memory", path);
  for (char *p = copy + 1; *p; p++)
    {
      if (*p != '/')
        continue;
      *p = '\0';
      if (mkdir (copy, mode) < 0 && errno != EEXIST)
        return reg_error_sys (err, errno, "mkdir %s", copy);
      *p = '/';
    }
  if (mkdir (copy, mode) < 0 && errno != EEXIST)
    return reg_error_sys (err, errno, "mkdir %s", copy);
  return 0;
}

static int
rm_rf_at (int dfd, dev_t dev, const char *display, struct reg_error **err)
{
  DIR *d = fdopendir (dfd);
  if (d == NULL)
    {
      close (dfd);
      return reg_error_sys (err, errno, "remove %s", display);
    }
  int ret = 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      struct stat st;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        {
          if (st.st_dev != dev)
            {
              ret = reg_error_set (err, EBUSY, "remove %s/%s: a mount point", display, de->d_name);
              break;
            }
          int sub = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0)
            {
              ret = reg_error_sys (err, errno, "remove %s/%s", display, de->d_name);
              break;
            }
          /* Directories we created may be read-only (generated envs). */
          fchmod (sub, 0700);
          if (rm_rf_at (sub, dev, display, err) < 0)
            {
              ret = -1;
              break;
            }
          if (unlinkat (dirfd (d), de->d_name, AT_REMOVEDIR) < 0)
            {
              ret = reg_error_sys (err, errno, "remove %s/%s", display, de->d_name);
              break;
            }
        }
      else if (unlinkat (dirfd (d), de->d_name, 0) < 0)
        {
          ret = reg_error_sys (err, errno, "remove %s/%s", display, de->d_name);
          break;
        }
    }
  closedir (d);
  return ret;
}

int
reg_util_rm_rf (const char *path, struct reg_error **err)
{
  struct stat st;
  if (lstat (path, &st) < 0)
    return errno == ENOENT ? 0 : reg_error_sys (err, errno, "remove %s", path);
  if (!S_ISDIR (st.st_mode))
    {
      if (unlink (path) < 0)
        return reg_error_sys (err, errno, "remove %s", path);
      return 0;
    }
  int dfd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return reg_error_sys (err, errno, "remove %s", path);
  chmod (path, 0700);
  if (rm_rf_at (dfd, st.st_dev, path, err) < 0)
    return -1;
  if (rmdir (path) < 0)
    return reg_error_sys (err, errno, "remove %s", path);
  return 0;
}

bool
reg_util_path_is_clean (const char *path)
{
  if (path == NULL || path[0] != '/' || path[1] == '\0')
    return false;
  size_t len = strlen (path);
  if (len > 4096 || path[len - 1] == '/')
    return false;
  const char *p = path;
  while (*p)
    {
      p++; /* skip '/' */
      const char *end = strchrnul (p, '/');
      size_t n = (size_t)(end - p);
      if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
        return false;
      for (const char *c = p; c < end; c++)
        if (*c == '\n' || *c == '\r')
          return false;
      p = end;
    }
  return true;
}

void
reg_util_hex (const unsigned char *bytes, size_t len, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++)
    {
      out[2 * i] = digits[bytes[i] >> 4];
      out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
  out[2 * len] = '\0';
}

bool
reg_util_is_sha256_hex (const char *s)
{
  if (s == NULL || strlen (s) != SHA256_HEX_LEN)
    return false;
  for (const char *c = s; *c; c++)
    if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
      return false;
  return true;
}

int
reg_util_random_id (char out[65], struct reg_error **err)
{
  unsigned char bytes[32];
  if (getrandom (bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes)
    return reg_error_sys (err, errno, "generate container id");
  reg_util_hex (bytes, sizeof bytes, out);
  return 0;
}

void
reg_util_now_rfc3339 (char out[40])
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r (&ts.tv_sec, &tm);
  size_t n = strftime (out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (out + n, 40 - n, ".%09ldZ", ts.tv_nsec);
}

double
reg_util_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
reg_util_signal_number (const char *name)
{
  if (name == NULL || *name == '\0')
    return 0;
  char *end = NULL;
  long n = strtol (name, &end, 10);
  if (*end == '\0')
    return n > 0 && n < NSIG ? (int)n : 0;
  if (strncasecmp (name, "SIG", 3) == 0)
    name += 3;
  /* RTMIN+N and RTMAX-N, as kill(1) and Docker spell real-time signals. */
  if (strncasecmp (name, "RTMIN", 5) == 0 || strncasecmp (name, "RTMAX", 5) == 0)
    {
      bool min = strncasecmp (name, "RTMIN", 5) == 0;
      long off = 0;
      if (name[5] != '\0')
        {
          if (name[5] != (min ? '+' : '-') || name[6] < '0' || name[6] > '9')
            return 0;
          off = strtol (name + 6, &end, 10);
          if (*end != '\0')
            return 0;
        }
      long sig = min ? SIGRTMIN + off : SIGRTMAX - off;
      return sig >= SIGRTMIN && sig <= SIGRTMAX ? (int)sig : 0;
    }
  for (int sig = 1; sig < NSIG; sig++)
    {
      const char *abbrev = sigabbrev_np (sig);
      if (abbrev && strcasecmp (abbrev, name) == 0)
        return sig;
    }
  return 0;
}

char *
reg_util_sibling_program (const char *env_name, const char *name)
{
  const char *env = getenv (env_name);
  if (env && *env)
    return strdup (env);
  char self[4096];
  ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
  char *path = NULL;
  if (n <= 0)
    return asprintf (&path, "/usr/local/bin/%s", name) < 0 ? NULL : path;
  self[n] = '\0';
  char *slash = strrchr (self, '/');
  if (slash == NULL || asprintf (&path, "%.*s/%s", (int)(slash - self), self, name) < 0)
    return NULL;
  return path;
}

const char *
reg_util_signal_name (int sig, char buf[REG_SIGNAL_NAME_MAX])
{
  const char *abbrev = sig > 0 && sig < NSIG ? sigabbrev_np (sig) : NULL;
  if (abbrev)
    snprintf (buf, REG_SIGNAL_NAME_MAX, "SIG%s", abbrev);
  else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
    snprintf (buf, REG_SIGNAL_NAME_MAX, "SIGRTMIN+%d", sig - SIGRTMIN);
  else
    snprintf (buf, REG_SIGNAL_NAME_MAX, "%d", sig);
  return buf;
}

bool
reg_util_parse_size (const char *s, int64_t *out)
{
  char *end = NULL;
  errno = 0;
  double v = strtod (s, &end);
  if (errno || end == s || !(v > 0))
    return false;
  double mult = 1;
  switch (*end)
    {
    case '\0':
    case 'b':
    case 'B':
      break;
    case 'k':
    case 'K':
      mult = 1024.0;
      break;
    case 'm':
    case 'M':
      mult = 1024.0 * 1024;
      break;
    case 'g':
    case 'G':
      mult = 1024.0 * 1024 * 1024;
      break;
    default:
      return false;
    }
  if (*end && end[1] != '\0' && !((end[1] == 'b' || end[1] == 'B') && end[2] == '\0'))
    return false;
  if (v * mult > 9.0e18)
    return false;
  *out = (int64_t)(v * mult);
  return true;
}

int
reg_util_write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      p += n;
      len -= (size_t)n;
    }
  return 0;
}

/* ---- RLIMIT_NOFILE ---- */

static struct rlimit nofile_given; /* regd's, before the raise */
static bool nofile_raised;

unsigned long
reg_util_nofile_raise (void)
{
  struct rlimit r;
  if (getrlimit (RLIMIT_NOFILE, &r) < 0)
    return 0;
  nofile_given = r;
  nofile_raised = true;
  char text[32];
  snprintf (text, sizeof text, "%llu", (unsigned long long)r.rlim_cur);
  setenv ("REG_NOFILE_SOFT", text, 1);
  r.rlim_cur = r.rlim_max;
  if (setrlimit (RLIMIT_NOFILE, &r) < 0)
    return (unsigned long)nofile_given.rlim_cur;
  return (unsigned long)r.rlim_cur;
}

void
reg_util_nofile_restore (void)
{
  struct rlimit r;
  if (getrlimit (RLIMIT_NOFILE, &r) < 0)
    return;
  if (nofile_raised)
    r.rlim_cur = nofile_given.rlim_cur;
  else
    {
      const char *text = getenv ("REG_NOFILE_SOFT");
      char *end = NULL;
      unsigned long long v = text ? strtoull (text, &end, 10) : 0;
      if (v == 0 || *end != '\0')
        return;
      r.rlim_cur = v;
    }
  if (r.rlim_cur > r.rlim_max)
    r.rlim_cur = r.rlim_max;
  setrlimit (RLIMIT_NOFILE, &r);
}

double
reg_util_rfc3339_time (const char *t)
{
  struct tm tm = { 0 };
  const char *rest = t ? strptime (t, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
  if (rest == NULL)
    return 0;
  double frac = *rest == '.' ? strtod (rest, NULL) : 0;
  return (double)timegm (&tm) + frac;
}

double
reg_util_parse_when (const char *v)
{
  char *end = NULL;
  double n = strtod (v, &end);
  if (end != v && *end == '\0')
    return n;
  if (end != v && end[1] == '\0' && strchr ("smh", *end))
    return reg_util_now () - n * (*end == 's' ? 1 : *end == 'm' ? 60 : 3600);
  double t = reg_util_rfc3339_time (v);
  return t > 0 ? t : -1;
}

static __thread uint64_t du_total;

static int
du_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  du_total += (uint64_t)st->st_blocks * 512;
  return 0;
}

uint64_t
reg_util_disk_usage (const char *path)
{
  du_total = 0;
  if (nftw (path, du_one, 16, FTW_PHYS | FTW_MOUNT) < 0)
    return 0;
  return du_total;
}

union fd_control
{
  char buf[CMSG_SPACE (REG_UTIL_MAX_FDS * sizeof (int))];
  struct cmsghdr align;
};

int
reg_util_send_fds (int sock, const void *buf, size_t len, const int *fds, int n_fds)
{
  if (n_fds < 1 || n_fds > REG_UTIL_MAX_FDS)
    return -1;
  union fd_control u;
  memset (&u, 0, sizeof u);
  struct iovec iov = { (void *)buf, len };
  struct msghdr msg = { .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = u.buf,
                        .msg_controllen = CMSG_SPACE (n_fds * sizeof (int)) };
  struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (n_fds * sizeof (int));
  memcpy (CMSG_DATA (c), fds, n_fds * sizeof (int));
  ssize_t n;
  do
    n = sendmsg (sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)len ? 0 : -1;
}

ssize_t
reg_util_recv_fds (int sock, void *buf, size_t cap, int fds[REG_UTIL_MAX_FDS], int *n_fds)
{
  union fd_control u;
  struct iovec iov = { buf, cap };
  struct msghdr msg
      = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  ssize_t n;
  do
    n = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  *n_fds = 0;
  struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR (&msg) : NULL;
  if (c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
    {
      *n_fds = (int)((c->cmsg_len - CMSG_LEN (0)) / sizeof (int));
      memcpy (fds, CMSG_DATA (c), *n_fds * sizeof (int));
    }
  return n;
}

int
reg_util_send_fd (int sock, int fd)
{
  return reg_util_send_fds (sock, "t", 1, &fd, 1);
}

int
reg_util_recv_fd (int sock)
{
  char byte = 0;
  int fds[REG_UTIL_MAX_FDS], n_fds;
  if (reg_util_recv_fds (sock, &byte, 1, fds, &n_fds) != 1 || n_fds != 1)
    {
      for (int i = 0; i < n_fds; i++)
        close (fds[i]);
      return -1;
    }
  return fds[0];
}

unsigned long long
reg_util_proc_starttime (pid_t pid)
{
  char path[64], buf[1024];
  snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* comm may contain spaces: fields resume after the last ')'. */
  char *p = strrchr (buf, ')');
  if (p == NULL)
    return 0;
  unsigned long long start = 0;
  char state = '?';
  /* field 3 is the state, field 22 starttime; after ") " come fields 3.. */
  if (sscanf (p + 2,
              "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
              &state, &start)
      != 2)
    return 0;
  /* A zombie has exited: it only waits for a parent to reap it. */
  return state == 'Z' || state == 'X' ? 0 : start;
}

void
reg_util_spawnattr_init (posix_spawnattr_t *attr, short flags)
{
  sigset_t none, def;
  sigemptyset (&none);
  sigemptyset (&def);
  sigaddset (&def, SIGCHLD);
  sigaddset (&def, SIGPIPE);
  posix_spawnattr_init (attr);
  posix_spawnattr_setflags (attr, flags | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask (attr, &none);
  posix_spawnattr_setsigdefault (attr, &def);
}

int
reg_util_thread_detached (void *(*fn) (void *), void *arg)
{
  pthread_attr_t attr;
  pthread_t t;
  sigset_t all, old;
  sigfillset (&all);
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  pthread_sigmask (SIG_BLOCK, &all, &old);
  int r = pthread_create (&t, &attr, fn, arg);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  pthread_attr_destroy (&attr);
  return r;
}
