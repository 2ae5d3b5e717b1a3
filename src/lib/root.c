/* root: the engine root's layout, as one table (root.h). */
#include "root.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Each place: its format below the root and how many components it takes
 * (the format's %s after the root's own). The one place in the engine that
 * spells a path under the root. */
static const struct
{
  const char *format;
  int args;
} places[] = {
  [REG_ROOT_LOCK] = { "%s/regd.lock", 0 },
  [REG_ROOT_EVENTS] = { "%s/events%s", 1 },
  [REG_ROOT_STORE] = { "%s/store", 0 },
  [REG_ROOT_OBJECTS] = { "%s/store/objects/sha256", 0 },
  [REG_ROOT_STORE_TMP] = { "%s/store/tmp", 0 },
  [REG_ROOT_TEMPLATES] = { "%s/templates", 0 },
  [REG_ROOT_TEMPLATE] = { "%s/templates/%s", 1 },
  [REG_ROOT_TEMPLATE_FILE] = { "%s/templates/%s/%s.ret", 2 },
  [REG_ROOT_ENVS] = { "%s/envs", 0 },
  [REG_ROOT_ENV] = { "%s/envs/%s", 1 },
  [REG_ROOT_ENV_STAGING] = { "%s/envs/.gen-%.12s-XXXXXX", 1 },
  [REG_ROOT_ENV_LAYER] = { "%s/envs/%s/layer", 1 },
  [REG_ROOT_ENV_BASE] = { "%s/envs/%s/base", 1 },
  [REG_ROOT_ENV_PROC] = { "%s/envs/%s/proc", 1 },
  [REG_ROOT_CONTAINERS] = { "%s/containers", 0 },
  [REG_ROOT_CONTAINER] = { "%s/containers/%s", 1 },
  [REG_ROOT_CONTAINER_FILE] = { "%s/containers/%s/%s", 2 },
  [REG_ROOT_CONTAINER_GRAVE] = { "%s/containers/.removing-%s", 1 },
  [REG_ROOT_NAMES] = { "%s/containers/.names", 0 },
  [REG_ROOT_NAME] = { "%s/containers/.names/%s", 1 },
  [REG_ROOT_NETWORKS] = { "%s/networks", 0 },
  [REG_ROOT_NETWORK] = { "%s/networks/%s.json", 1 },
  [REG_ROOT_SUBNET] = { "%s/networks/%s.subnet", 1 },
  [REG_ROOT_ADDRESSES] = { "%s/networks/%s", 1 },
  [REG_ROOT_ADDRESS] = { "%s/networks/%s/%s", 2 },
  [REG_ROOT_VOLUMES] = { "%s/volumes", 0 },
  [REG_ROOT_VOLUME] = { "%s/volumes/%s", 1 },
  [REG_ROOT_VOLUME_DATA] = { "%s/volumes/%s/_data", 1 },
  [REG_ROOT_VOLUME_STAGING] = { "%s/volumes/.new-%s-XXXXXX", 1 },
  [REG_ROOT_VOLUME_GRAVE] = { "%s/volumes/.removing-%s-XXXXXX", 1 },
  [REG_ROOT_IMAGES] = { "%s/images", 0 },
  [REG_ROOT_IMAGE] = { "%s/images/%s", 1 },
  [REG_ROOT_IMAGE_LAYERS] = { "%s/images/layers", 0 },
  [REG_ROOT_IMAGE_LAYER] = { "%s/images/layers/%s.json", 1 },
};

char *
reg_root_path (const char *root, enum reg_root_place place, const char *a, const char *b)
{
  if (root == NULL || (unsigned)place >= sizeof places / sizeof places[0])
    return NULL;
  int args = places[place].args;
  if ((args >= 1) != (a != NULL) || (args >= 2) != (b != NULL))
    return NULL;
  char *p = NULL;
  /* The format is one of the table's literals; unused components are NULL
   * and never read. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  int n = asprintf (&p, places[place].format, root, a, b);
#pragma GCC diagnostic pop
  return n < 0 ? NULL : p;
}

char *
reg_root_container (const char *root, const char *id)
{
  return reg_root_path (root, REG_ROOT_CONTAINER, id, NULL);
}

char *
reg_root_container_file (const char *root, const char *id, const char *name)
{
  return reg_root_path (root, REG_ROOT_CONTAINER_FILE, id, name);
}

char *
reg_root_env (const char *root, const char *digest)
{
  return reg_root_path (root, REG_ROOT_ENV, digest, NULL);
}

char *
reg_root_env_base (const char *root, const char *digest)
{
  char *link = reg_root_path (root, REG_ROOT_ENV_BASE, digest, NULL);
  char target[128];
  ssize_t n = link ? readlink (link, target, sizeof target - 1) : -1;
  free (link);
  if (n != 3 + 64 || strncmp (target, "../", 3) != 0)
    return NULL;
  target[n] = '\0';
  if (strspn (target + 3, "0123456789abcdef") != 64)
    return NULL;
  /* A full environment always has /proc (the skeleton, envgen.h); a
   * template's own /base symlink is no layering. */
  char *proc = reg_root_path (root, REG_ROOT_ENV_PROC, digest, NULL);
  bool layered = proc && access (proc, F_OK) < 0 && errno == ENOENT;
  free (proc);
  return layered ? strdup (target + 3) : NULL;
}

char *
reg_root_env_lowerdir (const char *root, const char *digest)
{
  char *base = reg_root_env_base (root, digest);
  if (base == NULL)
    return reg_root_env (root, digest);
  char *layer = reg_root_path (root, REG_ROOT_ENV_LAYER, digest, NULL);
  char *below = reg_root_env (root, base);
  char *lower = NULL;
  if (layer == NULL || below == NULL || asprintf (&lower, "%s:%s", layer, below) < 0)
    lower = NULL;
  free (base);
  free (layer);
  free (below);
  return lower;
}
