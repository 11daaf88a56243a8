"""The scheduler's loop: take the lease, scan, wait; and GET /health (channels/health.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from channels.health import HealthServer
from telecom_assistant.clock import Clock, operator_now
from telecom_assistant.reminders.scan import ReminderScan, ScanReport
from telecom_assistant.reminders.store import ReminderStore

# A scheduler that stopped scanning (killed, its server gone) hands over after this many scan
# intervals, and not before this many seconds, which outlast a slow scan (the lease is renewed
# between scans): the lease it last renewed runs out.
LEASE_INTERVALS = 3
MIN_LEASE_SECONDS = 30.0

logger = logging.getLogger(__name__)


def holder_name() -> str:
    """Who holds the lease, as an operator reads it: this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"[:80]


class SchedulerProgram:
    def __init__(
        self,
        scan: Callable[[], ReminderScan],
        store: ReminderStore,
        every_seconds: float,
        health_port: int,
        clock: Clock = operator_now,
        holder: str | None = None,
    ) -> None:
        """`scan` builds the scan on the program's loop (its chat delivery needs the loop)."""
        self._make_scan = scan
        self._store = store
        self._every = every_seconds
        self._health_port = health_port
        self._now = clock
        self._holder = holder or holder_name()
        self._stopping = asyncio.Event()
        self._last: tuple[datetime, ScanReport] | None = None
        self._scanning = False

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        health = HealthServer(self._health_port, self._report)
        await health.start()
        scan = self._make_scan()
        try:
            while not self._stopping.is_set():
                await self._scan_if_holder(scan)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._every)
        finally:
            await health.stop()

    async def _scan_if_holder(self, scan: ReminderScan) -> None:
        try:
            holder = await asyncio.to_thread(
                self._store.hold_lease,
                self._holder,
                self._now(),
                max(self._every * LEASE_INTERVALS, MIN_LEASE_SECONDS),
            )
            self._scanning = holder
            if not holder:
                return
            report = await asyncio.to_thread(scan.run)
        except Exception as failure:  # the database away: try again at the next interval
            logger.error("The reminder scan failed: %s", type(failure).__name__)
            return
        self._last = (self._now(), report)
        if report.sent or report.chats_missed:
            logger.info(
                "Reminders: %d sent (%s), %d held for the morning, %d chats missed, "
                "%d lines in %.2f s",
                report.sent,
                ", ".join(f"{kind} {count}" for kind, count in sorted(report.sent_by_kind.items())),
                report.held_for_morning,
                report.chats_missed,
                report.lines,
                report.seconds,
            )

    async def _report(self) -> Mapping[str, Any]:
        last = self._last
        return {
            # Another server's scheduler may hold the lease: this one then waits.
            "scanning": self._scanning,
            "last_scan": last[0].isoformat() if last else None,
            "last_scan_seconds": round(last[1].seconds, 3) if last else None,
            "last_scan_lines": last[1].lines if last else None,
        }
