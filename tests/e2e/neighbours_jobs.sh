# The noisy-neighbour workloads (issue 6), shared by the e2e tests
# (suite_security.sh) and the benchmark (bench/neighbours.sh), so that the
# test and the measured figures are about the same programs.
#
# A (the bad neighbour):
#   fork bomb    every process forks forever (C: no interpreter in the way);
#                the pids limit holds it, every process then spins on EAGAIN
#   malloc bomb  a parent that forks a child allocating 1 MiB at a time
#                until the memory limit's OOM killer takes it, then forks
#                the next one, forever
# B (the victim, fixed work):
#   cpu job      a python loop, ~2-3 s alone here
#   memory job   200 MiB written, then copied onto another 200 MiB 60 times
# B prints its result (checked) and, last, its own elapsed seconds.

FORK_BOMB_C='#include <unistd.h>
int main (void) { for (;;) fork (); }'

MALLOC_BOMB_PY='import os
while True:
    pid = os.fork()
    if pid == 0:
        hog = []
        while True:
            hog.append(bytearray(1 << 20))
    os.waitpid(pid, 0)'

CPU_JOB_PY='import time
t = time.perf_counter()
n = 0
for i in range(25_000_000):
    n += i * i
print(n)
print("seconds", round(time.perf_counter() - t, 3))'
CPU_JOB_OUT=5208333020833337500000

MEMORY_JOB_PY='import time
t = time.perf_counter()
src = bytearray(b"\x5a") * (200 << 20)
dst = bytearray(b"\xa5") * (200 << 20)
for r in range(60):
    dst[:] = src
    src[r] = r & 255
print("copied", dst[0] + dst[59] + dst[-1])
print("seconds", round(time.perf_counter() - t, 3))'
MEMORY_JOB_OUT="copied 180"
