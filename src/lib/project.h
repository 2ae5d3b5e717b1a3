/* project: reg.yaml, the project file — "the code is the image".
 *
 * A project directory holds the application and a reg.yaml that says what
 * it needs to run:
 *
 *   templates: [python@3.11]          required: the runtime environments
 *   command: [/usr/bin/python3.11, app.py]   or a string, split at blanks
 *   env: {GREETING: hello}
 *   workdir: /app                     default /app
 *   ports: ["8080:8000"]              published ports (-p)
 *   expose: [8000, "53/udp"]          ports -P publishes (on free host ports)
 *   network: host                     --network (checked by the engine)
 *   limits: {memory: 256m, memory_reservation: 128m, memory_swap: 512m,
 *            cpus: 1.5, cpu_shares: 512, cpuset_cpus: "0-1",
 *            pids_limit: 100, blkio_weight: 500}
 *   restart: on-failure:3             no | on-failure[:N] | always | unless-stopped
 *
 * `reg run` without -t in such a directory runs it with the directory bound
 * at /app; command-line options override the file. Parsing is strict
 * (libyaml): unknown keys and malformed values are errors naming the file
 * and the key. It never touches the engine: the caller merges the result
 * into a create request.
 */
#ifndef REG_PROJECT_H
#define REG_PROJECT_H

#include "cgroup.h"
#include "container.h"
#include "error.h"

struct reg_project
{
  char **templates;
  char **command; /* NULL: the first template's entrypoint */
  char **env;     /* "KEY=VALUE" */
  char *workdir;
  char **ports;
  char **expose; /* "PORT[/tcp|udp]", checked by the request */
  char *network; /* NULL: the engine's default */
  struct reg_limits limits;
  struct reg_restart restart;
};

int reg_project_parse (const char *text, size_t len, const char *origin, struct reg_project **out,
                       struct reg_error **err);
void reg_project_free (struct reg_project *p);

#endif
