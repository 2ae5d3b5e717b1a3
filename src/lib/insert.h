/* insert: install and uninstall a template's files in a running container
 * (the paper's Inserting state), without restarting it.
 *
 * A helper process (forked: a mount namespace can only be entered by a
 * single-threaded process) takes a detached, read-only mount of each store
 * object (open_tree, mount_setattr) while still in the host's mount
 * namespace, enters the container's mount namespace through a pidfd of its
 * first process, and for each new entry, in path order:
 *   directory  created (each path component opened with O_NOFOLLOW, so no
 *              symlink in the container can send it elsewhere)
 *   symlink    created
 *   file       an empty placeholder created, the object's mount moved onto
 *              it: the container sees the store's inode, shared with every
 *              other container, read-only
 * Each step is also appended to journal_fd (if >= 0) as soon as it is made,
 * so that a regd killed meanwhile leaves a record of it (the engine's
 * install journal, engine.h); the helper dies with regd.
 * Any failure undoes every step taken, in reverse: all or nothing. What was
 * made is returned as "d:PATH", "l:PATH", "m:PATH" so that uninstall can
 * take exactly that away, and so that the placeholders (empty files in the
 * container's upper layer) can be removed before its next start, when the
 * files come from its generated environment instead.
 */
#ifndef REG_INSERT_H
#define REG_INSERT_H

#include <sys/types.h>

#include "error.h"
#include "store.h"
#include "template.h"

int reg_insert_apply (const struct reg_store *store, pid_t target, const struct reg_entry *entries,
                      size_t n, int journal_fd, char ***made, struct reg_error **err);
/* Take away what reg_insert_apply made (in reverse order). */
int reg_insert_remove (pid_t target, char *const *made, struct reg_error **err);
/* What it made is removed from the upper layer before the next start by
 * reg_container_layer_clean (container.h). */

#endif
