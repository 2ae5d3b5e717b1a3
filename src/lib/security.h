/* security: how a container's processes are confined, as one value.
 *
 * struct reg_security holds the user's choices in Docker's words
 * (--privileged, --cap-add/--cap-drop, --security-opt seccomp=...,
 * --read-only, --user). It is checked when the container is created (a bad
 * capability name, a profile that does not compile, a malformed numeric
 * user: an error naming it, nothing created; a user by name is resolved
 * by the engine through the templates' accounts, accounts.h), kept in
 * state.json, and
 * applied by the runtime in the container's first process and in every
 * `reg exec`, in this order, right before exec:
 *
 *   reg_security_confine_mounts   mask Docker's /proc paths, make the
 *                                 system knobs and /sys read-only
 *   reg_security_apply            bounding set cut to the container's
 *                                 capabilities; with --user, switch to
 *                                 UID:GID (its effective and permitted
 *                                 sets are then empty, as in Docker);
 *                                 no_new_privs; then the default filter,
 *                                 or the user's Docker-format profile, or
 *                                 none (compiled beforehand by
 *                                 reg_security_prepare). With
 *                                 no-new-privileges=false the filter is
 *                                 loaded before the user switch, while
 *                                 the process may still load one without
 *                                 no_new_privs (CAP_SYS_ADMIN), as runc
 *                                 does
 *
 * --privileged skips them. The default capability set is Docker's
 * less CAP_MKNOD (there is no devices cgroup here to make a hand-made
 * block device useless) and less CAP_NET_RAW, as in Podman (with the host
 * network a raw or AF_PACKET socket sees the host's traffic); --cap-add
 * MKNOD and --cap-add NET_RAW give them back.
 *
 * Seccomp profiles use Docker's JSON format (defaultAction,
 * defaultErrnoRet, syscalls[] with names/name, action, errnoRet, args with
 * index/value/valueTwo/op, includes/excludes by caps, arches and
 * minKernel); libseccomp compiles them. Syscalls this libseccomp or
 * architecture does not know are skipped, as Docker does. Several
 * conditions on one argument are added as separate rules (libseccomp
 * cannot AND them), which is what runc does too.
 */
#ifndef REG_SECURITY_H
#define REG_SECURITY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define REG_SECURITY_MAX_GROUPS 32

struct reg_security
{
  bool privileged;
  bool read_only; /* root filesystem read-only */
  /* Capability names as given ("NET_ADMIN", "CAP_NET_ADMIN", "ALL"). */
  char **cap_add, **cap_drop;
  bool seccomp_unconfined;
  char *seccomp_profile; /* JSON text of a Docker profile; NULL: the default filter */
  /* --security-opt no-new-privileges=false: no_new_privs is not set, so
   * set-ID bits and file capabilities act (as in Docker by default). */
  bool new_privileges;
  bool has_user;
  uid_t uid;
  gid_t gid;
  /* Supplementary groups: the named user's memberships in the templates'
   * /etc/group, then --group-add (Docker's HostConfig.GroupAdd). Set for
   * root too when --group-add is given. */
  gid_t groups[REG_SECURITY_MAX_GROUPS];
  unsigned n_groups;
  /* --userns=private: container IDs 0..size-1 are host IDs from
   * userns_uid/userns_gid on (the subordinate range of user "reg"). */
  bool userns;
  uint32_t userns_uid, userns_gid, userns_size;
};

void reg_security_clear (struct reg_security *s);
/* Add gid to the supplementary groups once; EINVAL past
 * REG_SECURITY_MAX_GROUPS. */
int reg_security_add_group (struct reg_security *s, gid_t gid, struct reg_error **err);
int reg_security_copy (struct reg_security *dst, const struct reg_security *src,
                       struct reg_error **err);

/* One --security-opt word: "seccomp=unconfined", "seccomp=<JSON profile
 * text>" (the client reads the file, as Docker's does), "no-new-privileges"
 * or "no-new-privileges[:=]true" (the default: accepted), or
 * "no-new-privileges[:=]false" (set-ID programs and file capabilities of an
 * image act, docs/images.md). */
int reg_security_add_opt (struct reg_security *s, const char *opt, struct reg_error **err);
/* "UID" or "UID:GID" in numbers (names: accounts.h, at create). */
int reg_security_set_user (struct reg_security *s, const char *user, struct reg_error **err);
/* "private" (a user namespace), "host" or "" (none). */
int reg_security_set_userns (struct reg_security *s, const char *mode, struct reg_error **err);
/* The host range for --userns=private: user REG_SUBID_USER's entries in
 * subuid and subgid (/etc/subuid, /etc/subgid), as shadow-utils writes
 * them ("reg:100000:65536"). An error names the file when there is none. */
#define REG_SUBID_USER "reg"
int reg_security_userns_range (struct reg_security *s, const char *subuid, const char *subgid,
                               struct reg_error **err);
/* Everything checked: capability names known, profile compiles. */
int reg_security_check (const struct reg_security *s, struct reg_error **err);

/* The container's capability set as a bit mask (bit n = capability n):
 * the default set, then --cap-drop, then --cap-add ("ALL" in either). */
int reg_security_caps (const struct reg_security *s, uint64_t *out, struct reg_error **err);

/* --userns=private, in the runtime. reg_security_userns_create (host side,
 * single-threaded caller) makes a user namespace with the container's
 * mapping and returns an fd of it; the container's environment is then
 * mounted through an idmapped mount (mount_setattr MOUNT_ATTR_IDMAP), so
 * store files owned by host root appear owned by the container's root
 * while staying untouched on disk. Every mount is made by host root, and
 * the process joins the namespace last (reg_security_userns_enter, before
 * reg_security_apply): its mount, PID, IPC and UTS namespaces stay owned by
 * the host's user namespace, so even its root cannot mount anything. If
 * the filesystem cannot be idmapped, the environment stays as it is: its
 * files then appear owned by nobody (65534), still readable and
 * executable (docs/security.md). */
int reg_security_userns_create (const struct reg_security *s, int *fd, struct reg_error **err);
int reg_security_idmap (int userns_fd, const char *dir, const char **what);
int reg_security_userns_enter (int userns_fd, const char **what);

/* What confining a process takes, computed before any fork: the
 * capability mask, the user, and the seccomp filter compiled to BPF. The
 * steps applied in the child are then system calls only. This matters for
 * `reg exec`, whose helper is forked from regd: in a fork of a
 * multi-threaded process a lock another thread held (malloc's, the
 * sanitizer allocator's, a library's) stays held forever, so allocating
 * there (libcap, libseccomp and jansson all do) can hang the child. It
 * also turns a filter that does not compile into an error for the caller
 * instead of a child's exit. */
struct sock_filter;
struct reg_confinement
{
  bool privileged;
  uint64_t caps; /* bit n = capability n */
  bool has_user;
  uid_t uid;
  gid_t gid;
  gid_t groups[REG_SECURITY_MAX_GROUPS + 1]; /* primary first */
  unsigned n_groups;                         /* 0: no setgroups */
  struct sock_filter *filter;                /* NULL: no seccomp filter */
  unsigned short filter_len;
  bool new_privileges; /* no no_new_privs (reg_security.new_privileges) */
};

int reg_security_prepare (const struct reg_security *s, struct reg_confinement *c,
                          struct reg_error **err);
void reg_security_confinement_clear (struct reg_confinement *c);
/* The seccomp filter is compiled once per profile text and capability set
 * in a process (the last 8 are kept, profiles up to 256 kB; each prepare
 * gets its own copy): regd
 * compiles a profile once for all its `reg exec`s. reg_security_warm
 * compiles the default filter with the default capabilities ahead, for the
 * spare monitor to do while it waits for a container (monitor.h). */
void reg_security_warm (void);
#define _cleanup_confinement_ __attribute__ ((cleanup (reg_security_confinement_clear)))

/* In the container, after pivot_root. reg_security_confine_mounts masks
 * and write-protects /proc and /sys paths. reg_security_apply (system
 * calls only, safe after fork) cuts the bounding set, switches user, sets
 * the capabilities and no_new_privs, loads the filter; -1 with errno set
 * and the step in *what. */
void reg_security_confine_mounts (void);
int reg_security_apply (const struct reg_confinement *c, const char **what);

#endif
