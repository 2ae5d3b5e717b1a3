/* lockset: one lock per key (a container id), for the engine's
 * per-container operation lock.
 *
 * A key's entry is made on first use and freed when no one holds it or
 * waits for it, so the set stays as small as the number of operations in
 * flight. Waiters wait on the set's condition variable (the set's mutex is
 * released while they wait). A lock belongs to the operation, not to a
 * thread: any thread may release it (a run's start is settled by a thread
 * of its own, engine.h).
 *
 * Lock order (engine.h): a key's lock is taken before the engine's short
 * lock (names, template list, closure cache), never after it; two keys are
 * never held by one thread.
 */
#ifndef REG_LOCKSET_H
#define REG_LOCKSET_H

struct reg_lockset;
struct reg_lock;

struct reg_lockset *reg_lockset_new (void);
/* Only when no lock of the set is held or waited for. */
void reg_lockset_free (struct reg_lockset *s);
/* Hold `key`'s lock, waiting at most timeout_ms. NULL on timeout (errno
 * ETIMEDOUT) or when out of memory (ENOMEM). */
struct reg_lock *reg_lockset_lock (struct reg_lockset *s, const char *key, int timeout_ms);
void reg_lockset_unlock (struct reg_lockset *s, struct reg_lock *l);

#endif
