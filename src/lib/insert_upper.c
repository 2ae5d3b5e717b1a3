/* insert: the part reg-monitor needs (it links no store code). */
#include "insert.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

void
reg_insert_clean_upper (const char *upper, char *const *made)
{
  for (size_t i = 0; made && made[i]; i++)
    {
      if (made[i][0] != 'm' && made[i][0] != 'l')
        continue;
      char path[4096];
      snprintf (path, sizeof path, "%s%s", upper, made[i] + 2);
      struct stat st;
      /* Only what we made: an empty placeholder, or a symlink. */
      if (lstat (path, &st) == 0
          && ((S_ISREG (st.st_mode) && st.st_size == 0 && made[i][0] == 'm')
              || (S_ISLNK (st.st_mode) && made[i][0] == 'l')))
        unlink (path);
    }
}
