#!/bin/bash
# Control a test device from outside the suite's shell (the browser test
# runs this): ctl.sh stop K | start K | reg K ARGS...
# Environment: HUB_DIR HUB_RUN HUB_PREFIX REGD REG, as the suite sets them.
set -u
. "$(dirname "$0")/devices.sh"
HUB_RUN=${HUB_RUN_ID:?} HUB_PREFIX=${HUB_NET_PREFIX:?}
case "${1:-}" in
  stop) hub_device_stop "$2" ;;
  start) hub_device_start "$2" ;;
  reg) k=$2; shift 2; hub_device_reg "$k" "$@" ;;
  *) echo "usage: ctl.sh stop K | start K | reg K ARGS..." >&2; exit 2 ;;
esac
