"""The machine a benchmark ran on: figures mean little without it."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    memory_gb: float
    os: str
    python: str
    rasa: str
    date: str  # when the benchmark ran, UTC

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("CPU", self.cpu),
            ("cores available", str(self.cores)),
            ("memory", f"{self.memory_gb:.1f} GB"),
            ("OS", self.os),
            ("Python", self.python),
            ("Rasa", self.rasa),
            ("date", self.date),
        ]


def _first_value(path: str, key: str) -> str:
    for line in Path(path).read_text().splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return "unknown"


def _os_name() -> str:
    release = Path("/etc/os-release")
    names = (
        dict(line.split("=", 1) for line in release.read_text().splitlines() if "=" in line)
        if release.exists()
        else {}
    )
    pretty = names.get("PRETTY_NAME", platform.system()).strip('"')
    return f"{pretty}, Linux {platform.release()}"


def describe_machine() -> Machine:
    memory_kb = int(_first_value("/proc/meminfo", "MemTotal").split()[0])
    return Machine(
        cpu=_first_value("/proc/cpuinfo", "model name"),
        # The cores this process may use (a container may see fewer than the host has).
        cores=len(os.sched_getaffinity(0)),
        memory_gb=memory_kb / 1024**2,
        os=_os_name(),
        python=platform.python_version(),
        rasa=f"{metadata.version('rasa')} (rasa-sdk {metadata.version('rasa-sdk')}, "
        f"TensorFlow {metadata.version('tensorflow')})",
        date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
