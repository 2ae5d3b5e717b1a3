/* strv: NULL-terminated arrays of allocated strings (a container's
 * templates, a command, an environment). NULL is the empty array for every
 * function here. util.h includes this header, so every module has it. */
#ifndef REG_STRV_H
#define REG_STRV_H

#include <stdbool.h>
#include <stddef.h>

size_t reg_strv_len (char *const *v);
void reg_strv_free (char **v);
/* A deep copy; NULL when out of memory. */
char **reg_strv_dup (char *const *v);
/* Is s one of the NULL-terminated list v? */
bool reg_strv_contains (const char *const *v, const char *s);
/* For _cleanup_strv_ (util.h). */
void reg_strv_freep (char ***v);

#endif
