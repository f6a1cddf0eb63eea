"""What the machine was like while a benchmark ran: its speed at the time, and CPU time by process.

The same benchmark on the same machine can run at half speed when the host is busy
(identical work then takes twice the CPU seconds). ``reference_ms`` times a fixed
single-threaded Python workload, so figures from different runs can be compared:
printed next to them, it says how fast the machine was. ``cpu_seconds`` reads the CPU
time of processes from ``/proc`` (Linux), to show where a phase's time went.
"""

from __future__ import annotations

import os
import statistics
import threading
import time

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _workload() -> int:
    table = {}
    for i in range(100_000):
        table[f"key-{i}"] = i * i
    return sum(len(key) + value % 7 for key, value in table.items())


def reference_ms(rounds: int = 7) -> float:
    """Median wall time in ms of a fixed pure-Python workload (dicts, strings, integers)."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        _workload()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cpu(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    out, pending = [], [pid]
    while pending:
        current = pending.pop()
        out.append(current)
        try:
            with open(f"/proc/{current}/task/{current}/children") as fh:
                pending += [int(child) for child in fh.read().split()]
        except OSError:
            continue
    return out


def named(command: str) -> list[int]:
    """Processes whose command name is ``command`` (for example ``postgres``)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as fh:
                    if fh.read().strip() == command:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) the processes have used so far; vanished ones count 0."""
    return sum(_cpu(fields) for fields in map(_stat, pids) if fields is not None)


def _status(pid: int, field: str) -> int:
    """A ``kB`` field of ``/proc/PID/status``; 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            return sum(int(line.split()[1]) for line in fh if line.startswith(field))
    except OSError:
        return 0


def rss_mib(pids: list[int]) -> float:
    """Resident memory of the processes, summed; vanished ones count 0."""
    return sum(_status(pid, "VmRSS:") for pid in pids) / 1024


class TreeMemory:
    """Samples the resident memory of a process and its descendants every ``interval`` s."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.pid = pid
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            own = _status(self.pid, "VmSize:")
            # A child between its fork and its exec still shows the parent's memory: skip it.
            pids = [p for p in process_tree(self.pid) if p == self.pid or _status(p, "VmSize:") != own]
            self.peak_mib = max(self.peak_mib, rss_mib(pids))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
