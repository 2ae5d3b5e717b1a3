/* etcfiles: a container's /etc/hosts, /etc/hostname and /etc/resolv.conf.
 *
 * Every container gets the three files, whatever its network mode. They
 * are made by regd at each start in the container's directory
 * (containers/<id>/{hosts,hostname,resolv.conf}) and bound over the
 * container's /etc files by the runtime, as Docker does, so the
 * environment (shared, read-only) is never touched.
 *
 *   hosts:       localhost (IPv4 and IPv6), the --add-host entries, then the
 *                container's address (127.0.1.1 without a network address)
 *                with its hostname, short id and name, then its peers.
 *   hostname:    --hostname, by default the short id.
 *   resolv.conf: the host's, filtered: on a network of its own a container
 *                cannot reach a loopback resolver (systemd-resolved's
 *                127.0.0.53), so such servers are dropped and the upstream
 *                servers (systemd-resolved's own file) are used; with none
 *                left, Docker's public defaults. --dns replaces the servers,
 *                --dns-search the search list. On the host network the
 *                host's resolvers are reachable and kept.
 *
 * The text builders are pure (unit-tested); reg_etcfiles_write only writes
 * files (atomically). The checks are what the engine refuses at create. */
#ifndef REG_ETCFILES_H
#define REG_ETCFILES_H

#include <stdbool.h>

#include "error.h"

struct reg_etc_spec
{
  const char *hostname;        /* required */
  const char *id;              /* full container id */
  const char *name;            /* container name, or NULL */
  const char *address;         /* the container's address, NULL: 127.0.1.1 */
  char *const *aliases;        /* more names for its own address (network aliases) */
  char *const *extra_hosts;    /* "NAME:IP" (--add-host) */
  char *const *peers;          /* "IP NAME..." lines (peers on its networks) */
  char *const *dns;            /* --dns: replaces the servers */
  char *const *dns_search;     /* --dns-search: replaces the search list */
  bool keep_loopback_dns;      /* host network: loopback resolvers are reachable */
  const char *host_resolv;     /* the host's resolv.conf (/etc/resolv.conf) */
  const char *upstream_resolv; /* systemd-resolved's upstream servers */
};

/* Allocated texts. */
char *reg_etcfiles_hosts (const struct reg_etc_spec *s);
/* host_text: the host's resolv.conf; upstream_text: the upstream file, or
 * NULL when absent. */
char *reg_etcfiles_resolv (const struct reg_etc_spec *s, const char *host_text,
                           const char *upstream_text);

/* Write hosts, hostname and resolv.conf into dir: each atomically
 * (rename), none synced: each start writes them again. */
int reg_etcfiles_write (const char *dir, const struct reg_etc_spec *s, struct reg_error **err);

/* RFC 1123 host name: labels of letters, digits and '-', not starting or
 * ending with '-', joined by '.', at most 63 bytes (the kernel's limit on
 * a hostname is 64 with the NUL). */
bool reg_etcfiles_hostname_ok (const char *s);
/* IPv4 or IPv6 literal. */
bool reg_etcfiles_ip_ok (const char *s);
/* --hostname, --dns, --dns-search, --add-host: a clear error for the first
 * bad value. */
int reg_etcfiles_check (const char *hostname, char *const *dns, char *const *dns_search,
                        char *const *extra_hosts, struct reg_error **err);

#endif
