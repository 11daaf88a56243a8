"""CPU time and memory of running processes and of the whole machine, read from Linux's
/proc (no extra dependency).

Both servers are one process each (Sanic with one worker, TensorFlow's threads inside it), so
a process's own figures are the server's. The machine's busy time tells what other programs
took from the same cores while a benchmark ran.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
OTHER_PROGRAMS = "other programs"


def cpu_seconds_from_stat(stat: str) -> float:
    """User plus system time of the process and of its children it has waited for, from the
    text of /proc/<pid>/stat. The command name (field 2) may hold spaces and parentheses, so
    the fields are counted from the last ')'."""
    fields = stat[stat.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime, stime, cutime, cstime are fields 14 to 17.
    return sum(int(ticks) for ticks in fields[11:15]) / CLOCK_TICKS_PER_SECOND


def kilobytes_from_status(status: str, key: str) -> int:
    """A memory figure such as VmHWM (peak resident set) from /proc/<pid>/status, in kB."""
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name == key:
            return int(value.split()[0])
    raise KeyError(key)


@dataclass(frozen=True)
class ProcessSample:
    cpu_seconds: float
    peak_rss_mb: float  # the most resident memory the process ever had (VmHWM)


def sample(pid: int) -> ProcessSample:
    proc = Path("/proc") / str(pid)
    return ProcessSample(
        cpu_seconds=cpu_seconds_from_stat((proc / "stat").read_text()),
        peak_rss_mb=kilobytes_from_status((proc / "status").read_text(), "VmHWM") / 1024,
    )


def busy_seconds_from_proc_stat(stat: str) -> float:
    """CPU time every program on the machine has used (all but idle and waiting for the
    disk), from the first line of /proc/stat: user nice system idle iowait irq softirq steal."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SECOND


@dataclass(frozen=True)
class Snapshot:
    """The processes of a benchmark, and the machine, at one moment."""

    taken_at: float  # time.monotonic()
    machine_busy_seconds: float
    processes: dict[str, ProcessSample]

    @classmethod
    def take(cls, pids: dict[str, int]) -> Snapshot:
        return cls(
            time.monotonic(),
            busy_seconds_from_proc_stat(Path("/proc/stat").read_text()),
            {name: sample(pid) for name, pid in pids.items()},
        )


def cpu_percent(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """Each process's share of one core between two snapshots (200 % is both cores of a
    2-core machine), and what all other programs together took meanwhile."""
    wall_seconds = after.taken_at - before.taken_at
    shares = {
        name: 100
        * (after.processes[name].cpu_seconds - before.processes[name].cpu_seconds)
        / wall_seconds
        for name in after.processes
    }
    machine = 100 * (after.machine_busy_seconds - before.machine_busy_seconds) / wall_seconds
    # Clock ticks are counted per process and per core apart: never below nothing.
    shares[OTHER_PROGRAMS] = max(0.0, machine - sum(shares.values()))
    return shares
