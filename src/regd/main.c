/* regd: the reg engine daemon. Serves the /v1 HTTP/JSON API on a UNIX
 * socket (default /run/reg/reg.sock, mode 0660) over an engine root
 * (default /var/lib/reg). One regd per root: a lock file says so. */
#include "netpool.h"
#include "network.h"
#include "root.h"
#include "server.h"
#include "timing.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_ROOT "/var/lib/reg"
#define DEFAULT_SOCKET "/run/reg/reg.sock"

static void
usage (FILE *out)
{
  fprintf (out,
           "usage: regd [--root DIR] [--socket PATH] [--link-host-files]\n"
           "            [--tls-listen ADDR:PORT --tls-cert FILE --tls-key FILE --token-file FILE]\n"
           "  --root DIR           engine root (default " DEFAULT_ROOT ")\n"
           "  --socket PATH        API socket (default " DEFAULT_SOCKET ")\n"
           "  --link-host-files    hard-link the host's own (root-owned, read-only) files\n"
           "                       into the store instead of copying them (docs/architecture.md)\n"
           "  --tls-listen A:P     also serve the API over TLS (remote management); every\n"
           "                       request must carry \"Authorization: Bearer TOKEN\"\n"
           "  --tls-cert/--tls-key PEM certificate and key; --token-file: the token\n"
           "  --bridge NAME        the default bridge, and reg's nft table (default reg0)\n"
           "  --bridge-subnet CIDR its IPv4 subnet (default: the one recorded, else the first\n"
           "                       of 10.88.0.0/16, 10.89.0.0/16, ... no host route overlaps)\n"
           "  --netns-pool N       network namespaces for the default bridge made ahead, each\n"
           "                       with its veth and address (default %d, 0: none, at most\n"
           "                       %d; docs/networking.md)\n"
           "  --resolv-conf FILE   the host's resolver file containers' /etc/resolv.conf\n"
           "                       derive from (default /etc/resolv.conf)\n"
           "  --resolv-conf-upstream FILE  the servers behind a loopback resolver (default\n"
           "                       /run/systemd/resolve/resolv.conf)\n"
           "  --debug-timing FILE  append when each phase of each container start was reached\n"
           "                       (regd, the monitors, a client given REG_DEBUG_TIMING=FILE;\n"
           "                       bench/phases.py reads it)\n"
           "  --tls-max-connections N  TLS connections at once (default %d)\n"
           "  --tls-max-per-client N   from one client address (default %d)\n"
           "  --tls-timeout S          close a TLS connection idle for S seconds, or\n"
           "                           not past its handshake and headers in S (default %d)\n"
           "  --log-total-max SIZE     all containers' logs together (default 1g;\n"
           "                           docs/reliability.md)\n",
           REG_NETPOOL_DEFAULT_SIZE, REG_NETPOOL_MAX_SIZE, REGD_TLS_MAX_CONNECTIONS,
           REGD_TLS_MAX_PER_CLIENT, REGD_TLS_TIMEOUT_S);
}

/* --netns-pool N: 0 (none) to REG_NETPOOL_MAX_SIZE. */
static bool
parse_pool_size (const char *text, unsigned *out)
{
  char *end = NULL;
  errno = 0;
  unsigned long v = strtoul (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v > REG_NETPOOL_MAX_SIZE)
    {
      fprintf (stderr, "regd: --netns-pool %s: want a whole number from 0 to %d\n", text,
               REG_NETPOOL_MAX_SIZE);
      return false;
    }
  *out = (unsigned)v;
  return true;
}

/* A positive count for a --tls-* option; false (and a message) otherwise. */
static bool
parse_count (const char *opt, const char *text, unsigned max, unsigned *out)
{
  char *end = NULL;
  errno = 0;
  unsigned long v = strtoul (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v == 0 || v > max)
    {
      fprintf (stderr, "regd: %s %s: want a whole number from 1 to %u\n", opt, text, max);
      return false;
    }
  *out = (unsigned)v;
  return true;
}

/* --log-total-max SIZE: for the monitors, which read REG_LOG_TOTAL_MAX
 * (logfile.h). */
static bool
set_log_total_max (const char *text)
{
  int64_t v = 0;
  char bytes[32];
  if (!reg_util_parse_size (text, &v) || v < 1024 * 1024)
    {
      fprintf (stderr, "regd: --log-total-max %s: want a size of at least 1m (e.g. 512m, 2g)\n",
               text);
      return false;
    }
  snprintf (bytes, sizeof bytes, "%lld", (long long)v);
  setenv ("REG_LOG_TOTAL_MAX", bytes, 1);
  return true;
}

static int
lock_root (const char *root, struct reg_error **err)
{
  _cleanup_free_ char *path = reg_root_path (root, REG_ROOT_LOCK, NULL, NULL);
  if (path == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return reg_error_sys (err, errno, "regd: open %s", path);
  if (flock (fd, LOCK_EX | LOCK_NB) < 0)
    {
      close (fd);
      return reg_error_set (err, EBUSY, "regd: another regd is already serving root %s", root);
    }
  return fd; /* held for the life of the process */
}

/* Does something accept connections on path? (A live regd, of this root
 * or another.) */
static bool
socket_answers (const struct sockaddr_un *addr)
{
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool answers = fd >= 0 && connect (fd, (const struct sockaddr *)addr, sizeof *addr) == 0;
  if (fd >= 0)
    close (fd);
  return answers;
}

/* The socket regd made, to remove at exit only if it is still that one. */
static struct stat own_socket;

static int
listen_unix (const char *path, struct reg_error **err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof addr.sun_path)
    return reg_error_set (err, ENAMETOOLONG, "regd: socket path %s is too long", path);
  strcpy (addr.sun_path, path);
  _cleanup_free_ char *dir = strdup (path);
  if (dir == NULL)
    return reg_error_set (err, ENOMEM, "out of memory");
  char *slash = strrchr (dir, '/');
  if (slash && slash != dir)
    {
      *slash = '\0';
      if (reg_util_mkdir_p (dir, 0755, err) < 0)
        return -1;
    }
  /* The root lock keeps out a regd of this root; a regd of another root
   * on the same socket is refused here, never taken over. A socket file
   * nobody answers on is stale. */
  if (socket_answers (&addr))
    return reg_error_set (err, EADDRINUSE,
                          "regd: %s already answers: another regd serves it (regd --socket "
                          "PATH for a second one)",
                          path);
  unlink (path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return reg_error_sys (err, errno, "regd: socket");
  mode_t old = umask (0117);
  int b = bind (fd, (struct sockaddr *)&addr, sizeof addr);
  umask (old);
  if (b < 0 || listen (fd, 512) < 0)
    {
      int e = errno;
      close (fd);
      return reg_error_sys (err, e, "regd: listen on %s", path);
    }
  chmod (path, 0660);
  if (lstat (path, &own_socket) < 0)
    own_socket.st_ino = 0;
  return fd;
}

/* Only our own socket: another regd may have replaced it meanwhile (after
 * this one's was removed by hand), and its socket is not ours to take. */
static void
unlink_own_socket (const char *path)
{
  struct stat now;
  if (own_socket.st_ino && lstat (path, &now) == 0 && now.st_ino == own_socket.st_ino
      && now.st_dev == own_socket.st_dev)
    unlink (path);
}

static void *
restore_thread (void *engine)
{
  struct reg_error *err = NULL;
  if (reg_engine_restore (engine, &err) < 0)
    {
      fprintf (stderr, "regd: restore containers: %s\n", err->msg);
      reg_error_free (err);
    }
  return NULL;
}

/* --debug-timing FILE: for us and, through the environment, for the
 * monitors we spawn (timing.h). The file must be writable now. */
static bool
debug_timing (const char *path)
{
  _cleanup_free_ char *abs = realpath (path, NULL);
  if (abs == NULL)
    {
      int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (fd >= 0)
        close (fd);
      abs = fd >= 0 ? realpath (path, NULL) : NULL;
    }
  if (abs == NULL || access (abs, W_OK) < 0)
    {
      fprintf (stderr, "regd: --debug-timing %s: cannot write it: %s\n", path, strerror (errno));
      return false;
    }
  setenv ("REG_DEBUG_TIMING", abs, 1);
  reg_timing_init ();
  return true;
}

int
main (int argc, char **argv)
{
  const char *root = DEFAULT_ROOT, *socket_path = DEFAULT_SOCKET;
  unsetenv ("REG_DEBUG_TIMING"); /* only --debug-timing turns the record on */
  static const struct option opts[] = { { "root", required_argument, NULL, 'r' },
                                        { "socket", required_argument, NULL, 's' },
                                        { "tls-listen", required_argument, NULL, 'L' },
                                        { "tls-cert", required_argument, NULL, 'C' },
                                        { "tls-key", required_argument, NULL, 'K' },
                                        { "token-file", required_argument, NULL, 'T' },
                                        { "tls-max-connections", required_argument, NULL, 'M' },
                                        { "tls-max-per-client", required_argument, NULL, 'P' },
                                        { "tls-timeout", required_argument, NULL, 't' },
                                        { "log-total-max", required_argument, NULL, 'G' },
                                        { "link-host-files", no_argument, NULL, 'l' },
                                        { "resolv-conf", required_argument, NULL, 'R' },
                                        { "bridge", required_argument, NULL, 'b' },
                                        { "bridge-subnet", required_argument, NULL, 'B' },
                                        { "resolv-conf-upstream", required_argument, NULL, 'U' },
                                        { "debug-timing", required_argument, NULL, 'D' },
                                        { "netns-pool", required_argument, NULL, 'N' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct regd_tls_options tls = { 0 };
  bool link_host = false;
  struct reg_net_config net = { .pool_size = REG_NETPOOL_DEFAULT_SIZE };
  int c;
  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    switch (c)
      {
      case 'r':
        root = optarg;
        break;
      case 's':
        socket_path = optarg;
        break;
      case 'l':
        link_host = true;
        break;
      case 'R':
        net.resolv_conf = optarg;
        break;
      case 'b':
        net.bridge = optarg;
        break;
      case 'B':
        net.subnet = optarg;
        break;
      case 'U':
        net.resolv_upstream = optarg;
        break;
      case 'L':
        tls.listen = optarg;
        break;
      case 'C':
        tls.cert_file = optarg;
        break;
      case 'K':
        tls.key_file = optarg;
        break;
      case 'T':
        tls.token_file = optarg;
        break;
      case 'M':
        if (!parse_count ("--tls-max-connections", optarg, 100000, &tls.max_connections))
          return 2;
        break;
      case 'P':
        if (!parse_count ("--tls-max-per-client", optarg, 100000, &tls.max_per_client))
          return 2;
        break;
      case 't':
        if (!parse_count ("--tls-timeout", optarg, 3600, &tls.timeout_s))
          return 2;
        break;
      case 'N':
        if (!parse_pool_size (optarg, &net.pool_size))
          return 2;
        break;
      case 'D':
        if (!debug_timing (optarg))
          return 2;
        break;
      case 'G':
        if (!set_log_total_max (optarg))
          return 2;
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return 2;
      }
  if ((tls.max_connections || tls.max_per_client || tls.timeout_s) && !tls.listen)
    {
      fprintf (stderr, "regd: --tls-max-connections, --tls-max-per-client and --tls-timeout "
                       "need --tls-listen\n");
      return 2;
    }
  if ((tls.listen || tls.cert_file || tls.key_file || tls.token_file)
      && !(tls.listen && tls.cert_file && tls.key_file && tls.token_file))
    {
      fprintf (stderr, "regd: --tls-listen needs --tls-cert, --tls-key and --token-file (there is "
                       "no plain-text TCP)\n");
      return 2;
    }
  /* Every file named on the command line, checked before anything is
   * touched (the root, the socket). */
  const char *const files[]
      = { tls.cert_file, tls.key_file, tls.token_file, net.resolv_conf, net.resolv_upstream };
  const char *const names[]
      = { "--tls-cert", "--tls-key", "--token-file", "--resolv-conf", "--resolv-conf-upstream" };
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    if (files[i] && access (files[i], R_OK) < 0)
      {
        fprintf (stderr, "regd: %s %s: %s\n", names[i], files[i], strerror (errno));
        return 2;
      }
  if (geteuid () != 0)
    {
      fprintf (stderr, "regd: must run as root (it creates namespaces and mounts)\n");
      return 1;
    }
  /* Many clients and streams each hold a descriptor; regd polls, so it
   * can use all the hard limit allows (what it starts gets the old one). */
  reg_util_nofile_raise ();
  /* Monitors are our children; the kernel reaps them so none lingers as a
   * zombie. Each monitor resets this before it waits for its container. */
  signal (SIGCHLD, SIG_IGN);
  signal (SIGPIPE, SIG_IGN);
  sigset_t stop;
  sigemptyset (&stop);
  sigaddset (&stop, SIGTERM);
  sigaddset (&stop, SIGINT);
  pthread_sigmask (SIG_BLOCK, &stop, NULL); /* every thread inherits it */

  _cleanup_error_ struct reg_error *err = NULL;
  struct regd d = { 0 };
  int listen_fd = -1;
  if (reg_engine_open (root, &d.engine, &err) == 0)
    reg_engine_configure (d.engine,
                          &(struct reg_engine_config){ .link_host_files = link_host, .net = net });
  if (d.engine == NULL || lock_root (root, &err) < 0 || reg_engine_sweep (d.engine, &err) < 0
      || reg_network_init (root, &d.engine->net, &err) < 0
      || (tls.listen && regd_start_tls (&d, &tls, &err) < 0)
      || (listen_fd = listen_unix (socket_path, &err)) < 0 || regd_start (&d, listen_fd, &err) < 0)
    {
      fprintf (stderr, "regd: %s\n", err->msg);
      if (d.httpd)
        MHD_stop_daemon (d.httpd);
      if (d.tls)
        MHD_stop_daemon (d.tls);
      regd_tls_watchdog_stop (&d); /* it reads d, which ends with main */
      free (d.token);
      free (d.tls_cert);
      free (d.tls_key);
      if (listen_fd >= 0)
        close (listen_fd);
      unlink_own_socket (socket_path);
      if (d.engine)
        reg_network_fini (&d.engine->net);
      reg_engine_free (d.engine);
      return 1;
    }
  /* The socket is served first; what a crash left (lost monitors, restart
   * policies, interrupted installs) is settled meanwhile, each container
   * under its operation lock (engine.h). */
  pthread_t restorer;
  bool restoring = pthread_create (&restorer, NULL, restore_thread, d.engine) == 0;
  if (!restoring)
    restore_thread (d.engine);
  if (regd_health_start (&d, &err) < 0)
    {
      fprintf (stderr, "regd: %s (no health checks)\n", err->msg);
      reg_error_free (err);
      err = NULL;
    }
  fprintf (stderr, "regd: serving root %s on unix://%s%s%s\n", root, socket_path,
           tls.listen ? " and tls://" : "", tls.listen ? tls.listen : "");
  int sig = 0;
  sigwait (&stop, &sig);
  fprintf (stderr, "regd: %s, shutting down (containers keep running)\n", strsignal (sig));
  if (restoring)
    pthread_join (restorer, NULL);
  regd_health_stop ();
  MHD_stop_daemon (d.httpd);
  if (d.tls)
    MHD_stop_daemon (d.tls);
  regd_tls_watchdog_stop (&d);
  free (d.token);
  free (d.tls_cert);
  free (d.tls_key);
  close (listen_fd);
  unlink_own_socket (socket_path);
  reg_network_fini (&d.engine->net); /* the pool's namespaces and addresses */
  reg_engine_free (d.engine);
  return 0;
}
