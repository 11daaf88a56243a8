"""How the programs that run beside Rasa (the Telegram bridge, the SMS hall, the reminder
scheduler) write their logs: one format, so that `telecom run`'s merged output reads as one."""

from __future__ import annotations

import logging


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request at INFO: the Bot API's, token in the URL included.
    logging.getLogger("httpx").setLevel(logging.WARNING)
