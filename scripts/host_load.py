"""How much other work shared the cores while a benchmark ran.

The load average cannot tell: a benchmark that uses both cores makes it 2 by
itself. Instead, `OtherWork` counts the CPU time the whole machine spent busy
(/proc/stat) and subtracts what this process and its finished children spent
(getrusage); what is left, over the wall time, is the number of cores other
programs kept busy. Above half a core, the speeds measured are lower bounds.

    with OtherWork() as other:
        ...run the benchmark (children must have exited)...
    other.cores, other.loaded
"""

import os
import resource
import time


def _machine_busy_seconds():
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def _our_seconds():
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


class OtherWork:
    """Cores kept busy by other programs during the `with` block."""

    LIMIT = 0.5

    def __enter__(self):
        self._t, self._busy, self._ours = time.monotonic(), _machine_busy_seconds(), _our_seconds()
        return self

    def __exit__(self, *exc):
        wall = time.monotonic() - self._t
        others = (_machine_busy_seconds() - self._busy) - (_our_seconds() - self._ours)
        self.cores = round(max(0.0, others) / max(wall, 1e-9), 2)
        self.loaded = self.cores > self.LIMIT
        return False
