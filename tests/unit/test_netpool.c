/* Unit tests of the pool's logic (netpool.h): nothing before the first
 * kick, filled to its size in the background, taken entries are the
 * caller's, a failed refill waits for the next kick, and every entry left
 * is given back at the end. The entries here are eventfds standing for
 * namespaces: the pool only holds and passes descriptors. */
#include "netpool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

struct fake
{
  int made, discarded;
  int fail_after; /* make fails once this many were made; -1 never */
  int failed;     /* how many makes failed */
};

static int
fake_make (void *ctx, struct reg_netpool_entry *out, struct reg_error **err)
{
  struct fake *f = ctx;
  if (f->fail_after >= 0 && f->made >= f->fail_after)
    {
      __atomic_add_fetch (&f->failed, 1, __ATOMIC_SEQ_CST);
      return reg_error_set (err, ENOSPC, "network bridge: no free address left");
    }
  out->netns_fd = eventfd (0, EFD_CLOEXEC);
  out->addr.s_addr = htonl (0x0a580002u + (uint32_t)f->made);
  out->bridge_index = 7;
  f->made++;
  return 0;
}

static void
fake_discard (void *ctx, struct reg_netpool_entry *e)
{
  struct fake *f = ctx;
  close (e->netns_fd);
  f->discarded++;
}

static const struct reg_netpool_ops ops = { fake_make, fake_discard };

/* Until the pool holds n (bounded: 5 s), then whether it does. */
static bool
wait_ready (struct reg_netpool *p, size_t n)
{
  for (int i = 0; i < 500 && reg_netpool_ready (p) != n; i++)
    nanosleep (&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
  return reg_netpool_ready (p) == n;
}

static void
test_fill_take_refill (void **state)
{
  struct fake f = { 0, 0, -1, 0 };
  assert_null (reg_netpool_new (0, &ops, &f));
  assert_null (reg_netpool_new (REG_NETPOOL_MAX_SIZE + 1, &ops, &f));
  struct reg_netpool *p = reg_netpool_new (3, &ops, &f);
  assert_non_null (p);
  struct reg_netpool_entry e;
  assert_false (reg_netpool_take (p, false, &e)); /* nothing before a kick */
  assert_int_equal (f.made, 0);
  reg_netpool_kick (p);
  assert_true (wait_ready (p, 3));
  assert_true (reg_netpool_take (p, false, &e));
  assert_true (e.netns_fd >= 0);
  assert_int_equal (e.bridge_index, 7);
  close (e.netns_fd); /* the caller's now */
  reg_netpool_kick (p);
  assert_true (wait_ready (p, 3));
  assert_int_equal (f.made, 4);
  reg_netpool_free (p);
  assert_int_equal (f.discarded, 3); /* the three left, not the taken one */
}

static void
test_failure_waits_for_a_kick (void **state)
{
  struct fake f = { 0, 0, 2, 0 };
  struct reg_netpool *p = reg_netpool_new (4, &ops, &f);
  reg_netpool_kick (p);
  assert_true (wait_ready (p, 2));
  /* Until the third make has failed (a fixed sleep was not always enough
   * under load: the refill then still ran when the next kick came, which
   * re-armed it, and it refilled behind the takes below). */
  for (int i = 0; i < 500 && __atomic_load_n (&f.failed, __ATOMIC_SEQ_CST) == 0; i++)
    nanosleep (&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
  assert_int_equal (__atomic_load_n (&f.failed, __ATOMIC_SEQ_CST), 1);
  nanosleep (&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
  assert_int_equal (reg_netpool_ready (p), 2); /* no retry without a kick */
  assert_int_equal (__atomic_load_n (&f.failed, __ATOMIC_SEQ_CST), 1);
  f.fail_after = -1;
  reg_netpool_kick (p);
  assert_true (wait_ready (p, 4));
  struct reg_netpool_entry e;
  for (int i = 0; i < 4; i++)
    {
      assert_true (reg_netpool_take (p, true, &e));
      close (e.netns_fd);
    }
  /* Armed again, the pool refills behind the takes (as many as the thread
   * made meanwhile); every entry made was taken or is given back. */
  reg_netpool_free (p);
  assert_int_equal (f.made - f.discarded, 4);
  assert_int_equal (f.failed, 1);
}

static void
test_drain_gives_back (void **state)
{
  struct fake f = { 0, 0, 2, 0 };
  struct reg_netpool *p = reg_netpool_new (2, &ops, &f);
  reg_netpool_kick (p);
  assert_true (wait_ready (p, 2));
  reg_netpool_drain (p);
  assert_int_equal (reg_netpool_ready (p), 0);
  assert_int_equal (f.discarded, 2);
  reg_netpool_free (p);
  reg_netpool_free (NULL);
  assert_false (reg_netpool_take (NULL, true, NULL));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_fill_take_refill),
    cmocka_unit_test (test_failure_waits_for_a_kick),
    cmocka_unit_test (test_drain_gives_back),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
