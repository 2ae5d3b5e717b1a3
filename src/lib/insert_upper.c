/* insert: the part reg-monitor needs (it links no store code). */
#include "insert.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The upper layer is the container's to change while it runs: any of the
 * placeholder's directories may have been replaced by a symlink to a host
 * path. So the path is walked one component at a time below the upper
 * directory, each opened with O_NOFOLLOW, and the last is looked at and
 * unlinked relative to its parent: nothing outside the upper layer is
 * reached (nor through ".."). Returns the parent's fd and leaves the last component in *name,
 * or -1 (a component is missing, or is not a real directory). */
static int
open_parent (const char *upper, char *rel, char **name)
{
  int dfd = open (upper, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  char *part = rel;
  while (dfd >= 0 && *part == '/')
    part++;
  for (char *slash; dfd >= 0 && (slash = strchr (part, '/')) != NULL;)
    {
      *slash = '\0';
      int next = strcmp (part, "..") == 0
                     ? -1
                     : openat (dfd, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      close (dfd);
      dfd = next;
      for (part = slash + 1; *part == '/'; part++)
        ;
    }
  *name = part;
  return dfd;
}

void
reg_insert_clean_upper (const char *upper, char *const *made)
{
  for (size_t i = 0; made && made[i]; i++)
    {
      if (made[i][0] != 'm' && made[i][0] != 'l')
        continue;
      char rel[4096];
      if (snprintf (rel, sizeof rel, "%s", made[i] + 2) >= (int)sizeof rel)
        continue;
      char *name = NULL;
      int dfd = open_parent (upper, rel, &name);
      if (dfd < 0)
        continue;
      struct stat st;
      /* Only what we made: an empty placeholder, or a symlink. */
      if (*name && strcmp (name, "..") != 0 && strcmp (name, ".") != 0
          && fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
          && ((S_ISREG (st.st_mode) && st.st_size == 0 && made[i][0] == 'm')
              || (S_ISLNK (st.st_mode) && made[i][0] == 'l')))
        unlinkat (dfd, name, 0);
      close (dfd);
    }
}
