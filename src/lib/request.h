/* request: the API's container-create body (Docker's field names) read
 * into engine options, with every field checked and every error naming the
 * field. The only code that turns untrusted create requests into a
 * struct reg_create_options; regd calls it, the fuzz target too.
 *
 * A reg.yaml sent as ProjectFile (with Project) gives defaults that the
 * body's own fields override. Unknown fields are refused. */
#ifndef REG_REQUEST_H
#define REG_REQUEST_H

#include <jansson.h>

#include "engine.h"
#include "project.h"

struct reg_create_request
{
  struct reg_create_options o; /* points into the fields below */
  char **templates, **cmd, **env, **ports, **dns, **dns_search, **extra_hosts, **aliases, **exposed,
      **group_add;
  char *name, *workdir, *project, *cpuset_cpus, *network_mode, *hostname, *user;
  struct reg_mount *mounts;
  size_t n_mounts;
  struct reg_project *project_file;
  struct reg_ulimit ulimits[REG_ULIMIT_MAX];
};

int reg_request_create_parse (const char *body, size_t len, struct reg_create_request **out,
                              struct reg_error **err);
void reg_request_create_free (struct reg_create_request *r);

#endif
