/* Unit tests of the engine (engine.h) on a real root in a temporary
 * directory: a real store, a template imported from /bin/true, real state
 * files and locks. Only the process boundary is a double: the engine's
 * monitor_start seam gets fake_monitor_start, which plays what reg-monitor
 * does to the state file (running, then stopped when signalled) in a child
 * process, so stop, kill and a lost monitor go through the engine's real
 * code (pidfd, signals, settle_lost).
 *
 * Covered: the state transitions of a container, the errno codes of the
 * errors regd maps to HTTP, and that the per-container operation lock is
 * held across the monitor's start (engine.h, lock 1). Needs no root (the
 * containers use network mode none; no cgroup is made). */
#include "engine.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

struct fixture
{
  char root[64];
  struct reg_engine *e;
};

/* ---- the double ---- */

enum fake_mode
{
  FAKE_CHILD,   /* a child process records running and waits for a signal */
  FAKE_FAIL,    /* the command is not found: 127, nothing recorded */
  FAKE_SELF,    /* this process is the monitor (no fork: used from threads);
                 * the start then waits for a byte on fake_gate */
  FAKE_PENDING, /* asked not to wait for the save: "started", nothing saved;
                 * the test writes the monitor's word on fake_saved */
};
static int fake_saved[2] = { -1, -1 };
static enum fake_mode fake_mode;
static pid_t fake_child;
static int fake_gate[2] = { -1, -1 };
static int fake_calls;

static int
fake_running (struct reg_container *c, void *data, struct reg_error **err)
{
  pid_t pid = *(pid_t *)data;
  c->state = REG_STATE_RUNNING;
  c->pid = pid;
  c->monitor_pid = pid;
  c->monitor_start = reg_util_proc_starttime (pid);
  c->exit_code = -1;
  return 0;
}

static int
fake_stopped (struct reg_container *c, void *data, struct reg_error **err)
{
  c->state = REG_STATE_STOPPED;
  c->pid = c->monitor_pid = 0;
  c->monitor_start = 0;
  c->exit_code = *(int *)data;
  return 0;
}

/* The child: what reg-monitor records, around a wait for the stop signal. */
static void
fake_monitor (const char *root, const char *id, int ready)
{
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  sigprocmask (SIG_BLOCK, &set, NULL);
  pid_t self = getpid ();
  if (reg_container_update (root, id, fake_running, &self, NULL) < 0)
    _exit (1);
  (void)!write (ready, "r", 1);
  int sig = 0;
  sigwait (&set, &sig);
  int code = 128 + sig;
  reg_container_update (root, id, fake_stopped, &code, NULL);
  _exit (0);
}

static int fake_monitor_run (const char *root, const struct reg_container *c,
                             struct reg_error **err);

/* The seam's contract: a failure is a start result (proto.h), as the
 * monitor reports it. */
static int
fake_monitor_start (const char *root, const struct reg_container *c, int attach_fd, int netns_fd,
                    struct reg_start_result *result, int *saving_fd)
{
  /* Like a monitor asked to wait for the save (saving_fd NULL) or one
   * whose state is saved by the time it answers: nothing is pending. */
  fake_calls++;
  if (fake_mode == FAKE_PENDING && saving_fd)
    {
      assert_int_equal (pipe2 (fake_saved, O_CLOEXEC), 0);
      *saving_fd = fake_saved[0];
      return 0;
    }
  if (fake_mode == FAKE_FAIL)
    {
      reg_proto_result_set (result, 127, 0, "container %.12s: /nope: command not found", c->id);
      result->errnum = ENOENT;
      return -1;
    }
  struct reg_error *err = NULL;
  if (fake_monitor_run (root, c, &err) < 0)
    {
      reg_proto_result_of_error (result, 125, err);
      reg_error_free (err);
      return -1;
    }
  return 0;
}

static int
fake_monitor_run (const char *root, const struct reg_container *c, struct reg_error **err)
{
  if (fake_mode == FAKE_SELF)
    {
      pid_t self = getpid ();
      char b;
      if (reg_container_update (root, c->id, fake_running, &self, err) < 0)
        return -1;
      return read (fake_gate[0], &b, 1) == 1 ? 0 : reg_error_set (err, EIO, "gate");
    }
  int ready[2];
  assert_int_equal (pipe2 (ready, O_CLOEXEC), 0);
  pid_t pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    fake_monitor (root, c->id, ready[1]);
  close (ready[1]);
  char b = 0;
  ssize_t n = read (ready[0], &b, 1);
  close (ready[0]);
  fake_child = pid;
  return n == 1 ? 0 : reg_error_set (err, EIO, "the fake monitor did not start");
}

/* A start through the engine; a failure's start result as a reg_error
 * (for failed_with) and its exit code in *code. */
static int
start (struct reg_engine *e, const char *ref, int *code, struct reg_error **err)
{
  struct reg_start_result res = { 0 };
  int ret = reg_engine_container_start (e, ref, -1, &res);
  *code = res.exit_code;
  if (ret < 0 && err)
    reg_proto_result_error (&res, err);
  return ret;
}

static void
reap_fake (void)
{
  if (fake_child > 0)
    waitpid (fake_child, NULL, 0);
  fake_child = 0;
}

/* ---- fixture ---- */

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  snprintf (f->root, sizeof f->root, "/tmp/reg-test-engine-XXXXXX");
  assert_non_null (mkdtemp (f->root));
  struct reg_error *err = NULL;
  if (reg_engine_open (f->root, &f->e, &err) < 0)
    fail_msg ("open: %s", err->msg);
  f->e->monitor_start = fake_monitor_start;
  char *paths[] = { "/bin/true", NULL };
  struct reg_import_options o
      = { .name = "tools", .version = "1", .paths = paths, .entrypoint = "/bin/true" };
  struct reg_template *t = NULL;
  if (reg_engine_template_create (f->e, &o, false, &t, &err) < 0)
    fail_msg ("template: %s", err->msg);
  reg_template_free (t);
  fake_mode = FAKE_CHILD;
  fake_calls = 0;
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  if (fake_child > 0)
    kill (fake_child, SIGKILL); /* a test that failed half way */
  reap_fake ();
  reg_engine_free (f->e);
  assert_int_equal (reg_util_rm_rf (f->root, NULL), 0);
  free (f);
  return 0;
}

static char *templates[] = { "tools@1", NULL };

static void
create (struct fixture *f, const char *name, char id[65])
{
  struct reg_create_options o
      = { .name = name, .templates = templates, .network_mode = "none", .stop_timeout = -1 };
  struct reg_container *c = NULL;
  struct reg_error *err = NULL;
  if (reg_engine_container_create (f->e, &o, &c, &err) < 0)
    fail_msg ("create: %s", err->msg);
  assert_int_equal (c->state, REG_STATE_GENERATED);
  memcpy (id, c->id, 65);
  reg_container_free (c);
}

static enum reg_state
state_of (struct fixture *f, const char *ref)
{
  struct reg_container *c = NULL;
  struct reg_error *err = NULL;
  if (reg_engine_container_get (f->e, ref, &c, &err) < 0)
    fail_msg ("get %s: %s", ref, err->msg);
  enum reg_state s = c->state;
  reg_container_free (c);
  return s;
}

/* The call failed with `code`, and its message has `part`. */
static void
failed_with (int ret, struct reg_error **errp, int code, const char *part)
{
  struct reg_error *err = *errp;
  *errp = NULL;
  assert_int_equal (ret, -1);
  assert_non_null (err);
  if (err->code != code || strstr (err->msg, part) == NULL)
    fail_msg ("got %d \"%s\", want %d and \"%s\"", err->code, err->msg, code, part);
  reg_error_free (err);
}

/* ---- tests ---- */

/* generated -> running -> stopped -> running -> stopped -> removed. */
static void
test_engine_lifecycle (void **state)
{
  struct fixture *f = *state;
  char id[65];
  create (f, "web", id);
  struct reg_error *err = NULL;
  int code = 0;
  assert_int_equal (start (f->e, "web", &code, &err), 0);
  assert_int_equal (state_of (f, id), REG_STATE_RUNNING);
  failed_with (start (f->e, "web", &code, &err), &err, EBUSY, "cannot start: it is running");
  assert_int_equal (fake_calls, 1); /* refused before the monitor */
  assert_int_equal (reg_engine_container_stop (f->e, "web", 5, &err), 0);
  reap_fake ();
  struct reg_container *c = NULL;
  assert_int_equal (reg_engine_container_get (f->e, id, &c, NULL), 0);
  assert_int_equal (c->state, REG_STATE_STOPPED);
  assert_int_equal (c->exit_code, 128 + SIGTERM);
  assert_true (c->stop_requested);
  reg_container_free (c);
  /* Stopping a stopped container succeeds, as in Docker. */
  assert_int_equal (reg_engine_container_stop (f->e, "web", 5, &err), 0);
  /* Started again: the user's stop is forgotten. */
  assert_int_equal (start (f->e, id, &code, &err), 0);
  assert_int_equal (reg_engine_container_get (f->e, id, &c, NULL), 0);
  assert_int_equal (c->state, REG_STATE_RUNNING);
  assert_false (c->stop_requested);
  reg_container_free (c);
  assert_int_equal (reg_engine_container_kill (f->e, id, SIGINT, &err), 0);
  reap_fake ();
  assert_int_equal (state_of (f, id), REG_STATE_STOPPED);
  assert_int_equal (reg_engine_container_remove (f->e, "web", false, false, &err), 0);
  failed_with (reg_engine_container_get (f->e, id, &c, &err), &err, ENOENT, "not found");
  /* Its name is free again. */
  create (f, "web", id);
}

/* A monitor that dies without recording the exit: the next read settles
 * the container as stopped, with the reason in its error. */
static void
test_engine_lost_monitor (void **state)
{
  struct fixture *f = *state;
  char id[65];
  create (f, NULL, id);
  int code = 0;
  assert_int_equal (start (f->e, id, &code, NULL), 0);
  pid_t monitor = fake_child;
  kill (monitor, SIGKILL);
  reap_fake ();
  struct reg_container *c = NULL;
  assert_int_equal (reg_engine_container_get (f->e, id, &c, NULL), 0);
  assert_int_equal (c->state, REG_STATE_STOPPED);
  assert_non_null (c->error);
  char want[80];
  snprintf (want, sizeof want, "its monitor (pid %d) died", (int)monitor);
  assert_non_null (strstr (c->error, want));
  reg_container_free (c);
}

/* A failed start hands the monitor's exit code and error through, and
 * releases the operation lock (the remove after it does not wait). */
static void
test_engine_start_failure (void **state)
{
  struct fixture *f = *state;
  char id[65];
  create (f, NULL, id);
  fake_mode = FAKE_FAIL;
  struct reg_error *err = NULL;
  int code = 0;
  failed_with (start (f->e, id, &code, &err), &err, ENOENT, "command not found");
  assert_int_equal (code, 127);
  assert_int_equal (state_of (f, id), REG_STATE_GENERATED);
  assert_int_equal (reg_engine_container_remove (f->e, id, false, false, &err), 0);
}

/* run in one request: created and started; the id frame first on the
 * attach fd; a --rm container whose start failed is removed, one without
 * --rm stays; a refused create is a start result with exit code 0. */
static void
test_engine_run (void **state)
{
  struct fixture *f = *state;
  struct reg_create_options o
      = { .name = "one", .templates = templates, .network_mode = "none", .stop_timeout = -1 };
  struct reg_start_result res = { 0 };
  struct reg_container *c = NULL;
  int p[2];
  assert_int_equal (pipe2 (p, O_CLOEXEC), 0);
  assert_int_equal (reg_engine_container_run (f->e, &o, p[1], &c, &res), 0);
  unsigned char frame[REG_FRAME_HEADER + 64];
  assert_int_equal (read (p[0], frame, sizeof frame), (ssize_t)sizeof frame);
  assert_int_equal (frame[0], REG_FRAME_ID);
  assert_memory_equal (frame + REG_FRAME_HEADER, c->id, 64);
  close (p[0]), close (p[1]);
  assert_int_equal (state_of (f, "one"), REG_STATE_RUNNING);
  reg_container_free (c);
  assert_int_equal (reg_engine_container_remove (f->e, "one", true, false, NULL), 0);
  reap_fake ();
  fake_mode = FAKE_FAIL;
  o.name = "gone";
  o.auto_remove = true;
  assert_int_equal (reg_engine_container_run (f->e, &o, -1, &c, &res), -1);
  assert_null (c);
  assert_int_equal (res.exit_code, 127);
  assert_non_null (strstr (res.message, "command not found"));
  char id[65];
  struct reg_error *err = NULL;
  failed_with (reg_container_find (f->root, "gone", id, &err), &err, ENOENT, "gone");
  o.name = "kept";
  o.auto_remove = false;
  assert_int_equal (reg_engine_container_run (f->e, &o, -1, &c, &res), -1);
  assert_int_equal (state_of (f, "kept"), REG_STATE_GENERATED);
  char *missing[] = { "no-such@1", NULL };
  o.name = NULL;
  o.templates = missing;
  assert_int_equal (reg_engine_container_run (f->e, &o, -1, &c, &res), -1);
  assert_int_equal (res.exit_code, 0);
  assert_int_equal (res.errnum, ENOENT);
  assert_non_null (strstr (res.message, "no-such@1"));
}

/* The codes regd maps to HTTP: EINVAL 400, ENOENT 404, EEXIST/EBUSY 409. */
static void
test_engine_error_codes (void **state)
{
  struct fixture *f = *state;
  struct reg_error *err = NULL;
  struct reg_container *c = NULL;
  char id[65];
  int code = 0;
  failed_with (reg_engine_container_get (f->e, "nosuchthing", &c, &err), &err, ENOENT,
               "nosuchthing");
  failed_with (start (f->e, "nosuchthing", &code, &err), &err, ENOENT, "nosuchthing");
  char *missing[] = { "absent@9", NULL };
  struct reg_create_options o = { .templates = missing, .network_mode = "none" };
  failed_with (reg_engine_container_create (f->e, &o, &c, &err), &err, ENOENT, "absent@9");
  create (f, "db", id);
  o = (struct reg_create_options){ .name = "db", .templates = templates, .network_mode = "none" };
  failed_with (reg_engine_container_create (f->e, &o, &c, &err), &err, EEXIST,
               "\"db\" is already in use");
  struct reg_limits bad = { .cpu_shares = 1 };
  o = (struct reg_create_options){ .templates = templates, .network_mode = "none", .limits = bad };
  failed_with (reg_engine_container_create (f->e, &o, &c, &err), &err, EINVAL, "cpu-shares 1");
  char in_use[64];
  snprintf (in_use, sizeof in_use, "in use by container %.12s", id);
  failed_with (reg_engine_template_remove (f->e, "tools@1", &err), &err, EBUSY, in_use);
  assert_int_equal (start (f->e, "db", &code, NULL), 0);
  failed_with (reg_engine_container_remove (f->e, "db", false, false, &err), &err, EBUSY,
               "cannot remove: it is running");
  failed_with (reg_engine_container_wait (f->e, "nosuchthing", &code, &err), &err, ENOENT,
               "nosuchthing");
  assert_int_equal (reg_engine_container_remove (f->e, "db", true, false, &err), 0);
  reap_fake ();
  /* Nothing half made is left of the failed creates: one container was made
   * and is gone. */
  char **ids = NULL;
  assert_int_equal (reg_container_list (f->root, &ids, NULL), 0);
  assert_int_equal (reg_strv_len (ids), 0);
  reg_strv_free (ids);
}

/* After a host reboot (every monitor gone): restore settles each container
 * as its state and policy say: "always" is started again (through the
 * monitor seam), a --rm one is removed, a plain one is stopped. */
static void
test_engine_restore (void **state)
{
  struct fixture *f = *state;
  struct
  {
    const char *name;
    struct reg_restart restart;
    bool auto_remove;
    pid_t monitor;
  } cs[] = {
    { "always", { .mode = REG_RESTART_ALWAYS }, false, 0 },
    { "gone", { .mode = REG_RESTART_NO }, true, 0 },
    { "plain", { .mode = REG_RESTART_NO }, false, 0 },
  };
  for (size_t i = 0; i < 3; i++)
    {
      struct reg_create_options o = { .name = cs[i].name,
                                      .templates = templates,
                                      .network_mode = "none",
                                      .stop_timeout = -1,
                                      .restart = cs[i].restart,
                                      .auto_remove = cs[i].auto_remove };
      struct reg_container *c = NULL;
      int code = 0;
      assert_int_equal (reg_engine_container_create (f->e, &o, &c, NULL), 0);
      reg_container_free (c);
      assert_int_equal (start (f->e, cs[i].name, &code, NULL), 0);
      cs[i].monitor = fake_child;
      fake_child = 0;
    }
  for (size_t i = 0; i < 3; i++)
    {
      kill (cs[i].monitor, SIGKILL);
      waitpid (cs[i].monitor, NULL, 0);
    }
  assert_int_equal (fake_calls, 3);
  assert_int_equal (reg_engine_restore (f->e, NULL), 0);
  assert_int_equal (fake_calls, 4);
  assert_int_equal (state_of (f, "always"), REG_STATE_RUNNING);
  assert_int_equal (state_of (f, "plain"), REG_STATE_STOPPED);
  struct reg_error *err = NULL;
  struct reg_container *c = NULL;
  failed_with (reg_engine_container_get (f->e, "gone", &c, &err), &err, ENOENT, "gone");
}

/* update: new limits are checked by the limits table and kept in the
 * state of a container that is not running (it gets them at its start). */
static void
test_engine_update_limits (void **state)
{
  struct fixture *f = *state;
  char id[65];
  create (f, "lim", id);
  struct reg_error *err = NULL;
  struct reg_limits bad = { .blkio_weight = 5 };
  failed_with (reg_engine_container_update (f->e, "lim", &bad, &err), &err, EINVAL,
               "blkio-weight 5 is outside 10..1000");
  struct reg_limits l = { .memory = 64 << 20, .pids_limit = -1, .cpuset_cpus = "0" };
  assert_int_equal (reg_engine_container_update (f->e, "lim", &l, &err), 0);
  struct reg_container *c = NULL;
  assert_int_equal (reg_engine_container_get (f->e, id, &c, NULL), 0);
  assert_int_equal (c->state, REG_STATE_GENERATED);
  assert_int_equal (c->limits.memory, 64 << 20);
  assert_int_equal (c->limits.pids_limit, -1);
  assert_string_equal (c->limits.cpuset_cpus, "0");
  reg_container_free (c);
}

struct op
{
  struct fixture *f;
  const char *id;
  int ret;
  struct reg_error *err;
  volatile int done;
};

static void *
start_thread (void *data)
{
  struct op *o = data;
  int code = 0;
  o->ret = start (o->f->e, o->id, &code, &o->err);
  o->done = 1;
  return NULL;
}

static void *
remove_thread (void *data)
{
  struct op *o = data;
  o->ret = reg_engine_container_remove (o->f->e, o->id, false, false, &o->err);
  o->done = 1;
  return NULL;
}

/* The operation lock is held across the monitor's start: a remove that
 * comes while the monitor is starting waits for it, and then sees the
 * container running (it would have removed a generated one). */
static void
test_engine_op_lock_spans_start (void **state)
{
  struct fixture *f = *state;
  char id[65];
  create (f, NULL, id);
  fake_mode = FAKE_SELF;
  assert_int_equal (pipe2 (fake_gate, O_CLOEXEC), 0);
  struct op start = { f, id, 0, NULL, 0 }, rm = { f, id, 0, NULL, 0 };
  pthread_t a, b;
  assert_int_equal (pthread_create (&a, NULL, start_thread, &start), 0);
  while (state_of (f, id) != REG_STATE_RUNNING)
    usleep (1000);
  assert_int_equal (pthread_create (&b, NULL, remove_thread, &rm), 0);
  usleep (200 * 1000);
  assert_false (rm.done); /* waiting on the lock */
  assert_false (start.done);
  assert_int_equal (write (fake_gate[1], "g", 1), 1);
  pthread_join (a, NULL);
  pthread_join (b, NULL);
  close (fake_gate[0]);
  close (fake_gate[1]);
  fake_gate[0] = fake_gate[1] = -1;
  assert_int_equal (start.ret, 0);
  failed_with (rm.ret, &rm.err, EBUSY, "it is running");
  /* This process is its "monitor": leave it be (no stop: that would
   * signal the test), the teardown removes the root. */
}

struct rm_op
{
  struct reg_engine *e;
  int ret;
  struct reg_error *err;
  volatile int done;
};

static void *
rm_pending_thread (void *data)
{
  struct rm_op *o = data;
  o->ret = reg_engine_container_remove (o->e, "pend", false, false, &o->err);
  o->done = 1;
  return NULL;
}

struct settle_op
{
  struct reg_start_pending *pending;
  int ret;
};

static void *
settle_pending_thread (void *data)
{
  struct settle_op *o = data;
  struct reg_start_result res = { 0 };
  o->ret = reg_engine_start_settle (o->pending, &res);
  return NULL;
}

/* A run that returns before its monitor saved the running state keeps the
 * operation lock until it is settled: a remove that comes meanwhile waits,
 * and then finds it running. A monitor that could not save it: the settle
 * says why. */
static void
test_engine_run_pending (void **state)
{
  struct fixture *f = *state;
  struct reg_create_options o
      = { .name = "pend", .templates = templates, .network_mode = "none", .stop_timeout = -1 };
  struct reg_start_result res = { 0 };
  struct reg_container *c = NULL;
  struct reg_start_pending *pending = NULL;
  fake_mode = FAKE_PENDING;
  assert_int_equal (reg_engine_container_run_pending (f->e, &o, -1, &c, &res, &pending), 0);
  assert_non_null (pending);
  assert_int_equal (reg_engine_start_pending_fd (pending), fake_saved[0]);
  assert_int_equal (state_of (f, "pend"), REG_STATE_GENERATED);
  struct rm_op rm = { f->e, 0, NULL, 0 };
  pthread_t t;
  assert_int_equal (pthread_create (&t, NULL, rm_pending_thread, &rm), 0);
  usleep (200 * 1000);
  assert_false (rm.done); /* waiting on the lock */
  pid_t self = getpid ();
  assert_int_equal (reg_container_update (f->root, c->id, fake_running, &self, NULL), 0);
  static const char ok[] = "{\"status\":\"ok\"}\n";
  assert_int_equal (write (fake_saved[1], ok, strlen (ok)), (ssize_t)strlen (ok));
  /* Settled by another thread than the one that took the lock, as regd
   * does. */
  struct settle_op so = { pending, -1 };
  pthread_t st;
  assert_int_equal (pthread_create (&st, NULL, settle_pending_thread, &so), 0);
  pthread_join (st, NULL);
  assert_int_equal (so.ret, 0);
  pthread_join (t, NULL);
  failed_with (rm.ret, &rm.err, EBUSY, "it is running");
  close (fake_saved[1]);
  reg_container_free (c);
  /* Not saved: the monitor's error comes out of the settle. */
  o.name = "unsaved";
  assert_int_equal (reg_engine_container_run_pending (f->e, &o, -1, &c, &res, &pending), 0);
  struct reg_start_result why = { 0 };
  reg_proto_result_set (&why, 125, ENOSPC, "container %.12s: save state", c->id);
  assert_int_equal (reg_proto_status_error (fake_saved[1], &why), 0);
  assert_int_equal (reg_engine_start_settle (pending, &res), -1);
  assert_int_equal (res.exit_code, 125);
  assert_non_null (strstr (res.message, "save state"));
  close (fake_saved[1]);
  /* A monitor that died first. */
  o.name = "died";
  reg_container_free (c);
  assert_int_equal (reg_engine_container_run_pending (f->e, &o, -1, &c, &res, &pending), 0);
  close (fake_saved[1]);
  assert_int_equal (reg_engine_start_settle (pending, &res), -1);
  assert_non_null (strstr (res.message, "monitor died before recording it running"));
  reg_container_free (c);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_engine_lifecycle, setup, teardown),
    cmocka_unit_test_setup_teardown (test_engine_lost_monitor, setup, teardown),
    cmocka_unit_test_setup_teardown (test_engine_start_failure, setup, teardown),
    cmocka_unit_test_setup_teardown (test_engine_run, setup, teardown),
    cmocka_unit_test_setup_teardown (test_engine_restore, setup, teardown),
    cmocka_unit_test_setup_teardown (test_engine_error_codes, setup, teardown),
    cmocka_unit_test_setup_teardown (test_engine_update_limits, setup, teardown),
    cmocka_unit_test_setup_teardown (test_engine_op_lock_spans_start, setup, teardown),
    cmocka_unit_test_setup_teardown (test_engine_run_pending, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
