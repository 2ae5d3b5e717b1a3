/* template: runtime-environment template (RET) files — parse, validate,
 * serialize, digest; and the template repository under <root>/templates.
 *
 * A RET file is YAML with exactly these top-level keys (see docs/ret-format.md):
 *   name, version                   required strings
 *   requires: [name@version, ...]   other templates, resolved recursively
 *   entrypoint: [argv...]           optional
 *   stop-signal: SIGNAL             optional (SIGQUIT, SIGINT, ...)
 *   env: {KEY: VALUE}               optional
 *   files: {container-path: value}  value is one of
 *        "sha256:<hex>"             regular file, object mode 0444
 *        "sha256:<hex>+x"           executable file, object mode 0555
 *        "sha256:<hex> MODE UID:GID[ cap=<hex>]"  (format 4) a file with its own
 *                                   mode (set-ID bits too), owner and capability;
 *                                   in memory the value is the store variant
 *                                   name "<hex>+MODE-UID-GID[-CAP]" (store.h)
 *        "-> TARGET"                symbolic link to TARGET
 *        "dir"                      (empty) directory, root's, 0755
 *        "dir MODE [USER[:GROUP]]"  the same with a mode and owner (format 2;
 *                                   set-ID bits need format 4)
 *   libs: {name@soversion: {path: container-path, object: "sha256:<hex>[+x]"}}
 *   format: '2'                     needed by (and only written with) the next two
 *   users: [passwd(5) line, ...]    accounts for the container's /etc/passwd
 *   groups: [group(5) line, ...]    and /etc/group (accounts.h)
 *   expose: ['80/tcp', ...]         ports the service listens on (recorded)
 *   format: '3'                     needed by (and only written with) the next five:
 *   workdir: /path                  the default working directory
 *   user: NAME[:GROUP]              the default user (as -u), names or numbers
 *   volumes: [/path, ...]           each gets an anonymous volume per container
 *   labels: {KEY: VALUE}            shown by inspect
 *   healthcheck: {test, interval, timeout, start-period, retries}  health.h
 * A file without `format` is format 1, which every older engine reads; the
 * canonical form of a template without accounts is unchanged.
 *
 * Parsing rejects, naming the template and the fault: unknown keys, missing
 * or malformed name/version, a path that is not absolute and normalized (no
 * "..", ".", "//", trailing "/"), two entries for one destination (across
 * files and libs too), a malformed digest, duplicate YAML keys, non-string
 * scalars where strings belong. It does not look at the store or at other
 * templates: that is reg_template_check (store) and closure (requires).
 *
 * Serialization is canonical (keys sorted, one fixed layout), so the same
 * template gives the same bytes and so the same digest.
 */
#ifndef REG_TEMPLATE_H
#define REG_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "health.h"
#include "store.h"

enum reg_entry_kind
{
  REG_ENTRY_FILE,    /* value: digest hex (object mode 0444), or a variant name (store.h) */
  REG_ENTRY_EXEC,    /* value: digest hex (object mode 0555), or a variant name with x bits */
  REG_ENTRY_SYMLINK, /* value: link target */
  REG_ENTRY_DIR,     /* value: NULL, or "MODE [USER[:GROUP]]" (format 2) */
};

struct reg_entry
{
  char *path; /* clean absolute container path */
  enum reg_entry_kind kind;
  char *value;
};

struct reg_lib
{
  char *name;             /* "libc@6" */
  struct reg_entry entry; /* kind FILE or EXEC */
};

struct reg_template
{
  char *name;
  char *version;
  char **requires;   /* NULL-terminated "name@version" */
  char **entrypoint; /* NULL-terminated, may be NULL */
  int stop_signal;   /* "stop-signal": what `reg stop` sends first; 0 = not set */
  char **env;        /* NULL-terminated "KEY=VALUE", sorted by key */
  struct reg_entry *files;
  size_t n_files;
  struct reg_lib *libs;
  size_t n_libs;
  /* Format 2 (accounts.h): passwd(5) and group(5) lines, sorted by name;
   * NULL or empty when none. */
  char **users;
  char **groups;
  char **expose; /* format 2: "PORT/tcp" or "PORT/udp", given order; NULL when none */
  /* Format 3: run defaults an image config carries (docs/images.md). */
  char *workdir;                      /* clean absolute path; NULL: none */
  char *user;                         /* "NAME[:GROUP]" (or numbers) as -u; NULL: none */
  char **volumes;                     /* clean absolute paths, given order; NULL: none */
  char **labels;                      /* "KEY=VALUE", sorted by key; NULL: none */
  struct reg_healthcheck healthcheck; /* test NULL: none */
};

/* The hardened YAML loader of RET files, for other strict YAML inputs
 * (recipes): nesting, node count and size bounded, aliases, tags and NUL
 * refused, every scalar text. Errors start with `label`. */
struct yaml_document_s;
int reg_template_yaml_load (const char *text, size_t len, const char *label,
                            struct yaml_document_s *doc, struct reg_error **err);

/* `origin` names the input in errors (a file path or "request"). */
int reg_template_parse (const char *text, size_t len, const char *origin, struct reg_template **out,
                        struct reg_error **err);
/* Canonical YAML; allocated. */
char *reg_template_serialize (const struct reg_template *t);
/* sha256 of the canonical serialization. */
int reg_template_digest (const struct reg_template *t, char digest[65], struct reg_error **err);
void reg_template_free (struct reg_template *t);

/* Sort files and libs into canonical order and reject two entries for one
 * destination. Used by the parser and by template creation. */
int reg_template_normalize (struct reg_template *t, struct reg_error **err);

/* Every file and lib object present in the store? Error names the first missing. */
int reg_template_check_objects (const struct reg_template *t, const struct reg_store *store,
                                struct reg_error **err);

/* Name and version syntax: name [a-z0-9][a-z0-9._-]{0,127},
 * version [A-Za-z0-9][A-Za-z0-9._+-]{0,127}. */
bool reg_template_name_ok (const char *name);
/* The attributes of a "dir MODE [USER[:GROUP]]" entry (format 2), e.g.
 * "0700 postgres:postgres": four octal digits (set-ID bits: format 4). */
bool reg_template_dir_attrs_ok (const char *attrs);
/* "PORT/tcp" or "PORT/udp", PORT 1-65535 without leading zeros. */
bool reg_template_port_ok (const char *port);
/* A `user` value: NAME, NUMBER, NAME:GROUP ... of [A-Za-z0-9_.$-], at most 65. */
bool reg_template_user_ok (const char *user);
/* A label key: 1-256 bytes, printable, no '='. */
bool reg_template_label_key_ok (const char *key);
bool reg_template_version_ok (const char *version);
/* Split "name@version"; both outputs allocated. */
int reg_template_split_ref (const char *ref, char **name, char **version, struct reg_error **err);

/* Repository: <root>/templates/<name>/<version>.ret */
int reg_template_load (const char *root, const char *ref, struct reg_template **out,
                       struct reg_error **err);
/* Validate against the store and the other templates (requires exist, no
 * cycle), then write atomically. Replaces an existing name@version. */
int reg_template_save (const char *root, const struct reg_store *store,
                       const struct reg_template *t, struct reg_error **err);
int reg_template_remove (const char *root, const char *ref, struct reg_error **err);
/* All refs "name@version", sorted. */
int reg_template_list (const char *root, char ***refs, struct reg_error **err);

#endif
