/* lockset: one mutex per key (a container id), for the engine's
 * per-container operation lock.
 *
 * A key's mutex is made on first use and freed when no thread holds it or
 * waits for it, so the set stays as small as the number of operations in
 * flight. The set's own mutex is held only to find or drop an entry, never
 * while a key's mutex is waited for.
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
