/* reg-monitor: the supervisor of one container, started by regd (see
 * src/lib/monitor.h). A program of its own, linked with only what it uses,
 * so each container costs little memory. */
#include "monitor.h"

int
main (int argc, char **argv)
{
  return reg_monitor_main (argc, argv);
}
