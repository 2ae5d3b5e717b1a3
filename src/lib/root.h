/* root: the engine root's layout. Every path under the root (default
 * /var/lib/reg, `regd --root`) is named here, once, in one table
 * (root.c); modules ask for a place by its name and never format a path
 * under the root themselves (scripts/check-names.sh keeps it so: a
 * "%s/envs"-style format outside this file fails `make lint`).
 * docs/architecture.md ("Data layout") describes what each place holds.
 *
 * A place has up to two components, `a` and `b` (an id, a name, a digest,
 * a file name; which ones, in the table below). They are taken as they
 * are: validating a name is its owner's job (reg_volume_name_ok,
 * reg_util_is_sha256_hex, ...), done before it reaches here.
 *
 * Paths, not descriptors: what the engine does with these places needs a
 * path as often as not (overlay mount options, the monitor's arguments,
 * rename between two places, hard links from the store into envs/), and
 * the root is root's own (0700, engine.h), so no path under it is walked
 * through a directory another user controls. Walks of untrusted trees
 * (a container's upper layer, an archive) use *at() calls in their own
 * modules. Linked into reg-monitor (no dependencies but libc).
 */
#ifndef REG_ROOT_H
#define REG_ROOT_H

enum reg_root_place
{
  REG_ROOT_LOCK,            /* regd.lock: one regd per root */
  REG_ROOT_EVENTS,          /* events<a>: a = ".jsonl", ".jsonl.1", ".lock" */
  REG_ROOT_STORE,           /* store */
  REG_ROOT_OBJECTS,         /* store/objects/sha256 */
  REG_ROOT_STORE_TMP,       /* store/tmp */
  REG_ROOT_TEMPLATES,       /* templates */
  REG_ROOT_TEMPLATE,        /* templates/<a = name> */
  REG_ROOT_TEMPLATE_FILE,   /* templates/<a = name>/<b = version>.ret */
  REG_ROOT_ENVS,            /* envs */
  REG_ROOT_ENV,             /* envs/<a = closure digest> */
  REG_ROOT_ENV_STAGING,     /* envs/.gen-<a = digest, 12 chars>-XXXXXX (a mkdtemp template) */
  REG_ROOT_ENV_LAYER,       /* envs/<a = closure digest>/layer: a layered environment's own tree */
  REG_ROOT_ENV_BASE,        /* envs/<a = closure digest>/base -> ../<base digest> */
  REG_ROOT_ENV_PROC,        /* envs/<a = closure digest>/proc: only a full environment has it */
  REG_ROOT_CONTAINERS,      /* containers */
  REG_ROOT_CONTAINER,       /* containers/<a = id> */
  REG_ROOT_CONTAINER_FILE,  /* containers/<a = id>/<b = file> */
  REG_ROOT_CONTAINER_GRAVE, /* containers/.removing-<a = id> */
  REG_ROOT_NAMES,           /* containers/.names */
  REG_ROOT_NAME,            /* containers/.names/<a = name> -> id */
  REG_ROOT_NETWORKS,        /* networks */
  REG_ROOT_NETWORK,         /* networks/<a = name>.json */
  REG_ROOT_SUBNET,          /* networks/<a = bridge>.subnet */
  REG_ROOT_ADDRESSES,       /* networks/<a = bridge> */
  REG_ROOT_ADDRESS,         /* networks/<a = bridge>/<b = ip>: the holder's id */
  REG_ROOT_VOLUMES,         /* volumes */
  REG_ROOT_VOLUME,          /* volumes/<a = name> */
  REG_ROOT_VOLUME_DATA,     /* volumes/<a = name>/_data */
  REG_ROOT_VOLUME_STAGING,  /* volumes/.new-<a = name>-XXXXXX (a mkdtemp template) */
  REG_ROOT_VOLUME_GRAVE,    /* volumes/.removing-<a = name>-XXXXXX (a mkdtemp template) */
  REG_ROOT_IMAGES,          /* images */
  REG_ROOT_IMAGE,           /* images/<a = name@version>: the image a template came from */
  REG_ROOT_IMAGE_LAYERS,    /* images/layers */
  REG_ROOT_IMAGE_LAYER,     /* images/layers/<a = blob hex>.json */
};

/* The place's path under `root`, allocated; NULL on OOM, or when a
 * component the place needs is NULL. Components it does not use must be
 * NULL. */
char *reg_root_path (const char *root, enum reg_root_place place, const char *a, const char *b);

/* The container-relative shorthands, the commonest: containers/<id> and
 * containers/<id>/<name>. */
char *reg_root_container (const char *root, const char *id);
char *reg_root_container_file (const char *root, const char *id, const char *name);
/* envs/<digest>: a generated environment. */
char *reg_root_env (const char *root, const char *digest);

/* A generated environment is full (a tree of the whole closure, with the
 * skeleton's /proc) or layered (envgen.h: envs/<digest>/layer, the app's
 * own entries, over envs/<base digest>, a full one, named by the symlink
 * envs/<digest>/base -> ../<base digest>; no /proc of its own). These
 * read which (a readlink, and a stat when a full tree has a /base
 * symlink of its own), so the monitor can mount either. */
/* The base's digest (allocated) of a layered environment; NULL for a
 * full one, a missing one, or on OOM. */
char *reg_root_env_base (const char *root, const char *digest);
/* The overlay lowerdir of the environment (allocated, NULL on OOM):
 * envs/<digest>, or envs/<digest>/layer:envs/<base digest>. */
char *reg_root_env_lowerdir (const char *root, const char *digest);

#endif
