/* reg-monitor: the supervisor of one container, started by regd (see
 * src/lib/monitor.h). A program of its own, linked with only what it uses,
 * so each container costs little memory. */
#include "monitor.h"
#include "util.h"

int
main (int argc, char **argv)
{
  /* The container gets the file limit regd was started with, not the one
   * regd raised for itself. */
  reg_util_nofile_restore ();
  return reg_monitor_main (argc, argv);
}
