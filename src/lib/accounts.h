/* accounts: the user and group accounts templates carry, and the
 * /etc/passwd and /etc/group of a container's environment.
 *
 * A template's accounts are passwd(5) and group(5) lines (RET keys `users`
 * and `groups`, docs/ret-format.md), taken from the host's files at
 * `reg template create --user NAME --group NAME` (a user brings its primary
 * group) or written in a recipe. A container's /etc/passwd is root and
 * nobody, then the accounts of its templates in resolution order; its
 * /etc/group likewise root and nogroup, then theirs. A template's line for
 * root, nobody or nogroup replaces the built-in one. envgen writes both
 * files into the environment, unless a template provides the file itself.
 * `reg run -u NAME[:GROUP]` resolves through them (reg_accounts_resolve).
 *
 * Pure functions over strings, except reg_accounts_from_host, which reads
 * the two host files with glibc's fgetpwent_r/fgetgrent_r.
 */
#ifndef REG_ACCOUNTS_H
#define REG_ACCOUNTS_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* name:password:uid:gid:gecos:home:shell, name:password:gid:member,... —
 * names [A-Za-z0-9_][A-Za-z0-9_.-]{0,31} (a trailing '$' allowed), ids
 * decimal below 4294967295, no control characters, at most 1024 bytes. */
bool reg_accounts_passwd_ok (const char *line);
bool reg_accounts_group_ok (const char *line);
/* The name of a line: its text up to the first ':' (allocated). */
char *reg_accounts_name (const char *line);
/* Sort by name; 0, or -1 with `*dup` naming a name given twice. */
int reg_accounts_sort (char **lines, const char **dup);

/* The lines of users `users` (with their primary groups) and groups
 * `groups` from passwd_file and group_file. Errors name what is missing. */
int reg_accounts_from_host (const char *passwd_file, const char *group_file, char *const *users,
                            char *const *groups, char ***out_users, char ***out_groups,
                            struct reg_error **err);

/* /etc/passwd and /etc/group text (allocated) for these template lines. */
char *reg_accounts_passwd_text (char *const *users);
char *reg_accounts_group_text (char *const *groups);

/* "NAME", "NAME:GROUP", "UID:GROUP", "NAME:GID": uid and gid through the
 * accounts (a user's gid is its primary group's). */
int reg_accounts_resolve (char *const *users, char *const *groups, const char *spec, uid_t *uid,
                          gid_t *gid, struct reg_error **err);

/* The groups whose member list (group(5)'s fourth field) names the user
 * of spec ("NAME[:GROUP]", or a UID that has a line in users), as the
 * supplementary groups that login(1) and Docker give it: up to max gids
 * into out, their count returned. A UID without a line has none. */
size_t reg_accounts_memberships (char *const *users, char *const *groups, const char *spec,
                                 gid_t *out, size_t max);

/* A group by name or number ("staff", "50") for --group-add; a name must
 * be in the templates' accounts. */
int reg_accounts_group_id (char *const *groups, const char *spec, gid_t *gid,
                           struct reg_error **err);

#endif
