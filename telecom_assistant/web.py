"""What the project's small web programs (agent console, web chat) share."""

from __future__ import annotations

import argparse
import socket

from telecom_assistant.settings import LOOPBACK

# Everything these pages load is their own: no CDN, no inline script or style, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0


def exit_if_port_taken(parser: argparse.ArgumentParser, host: str, port: int) -> None:
    """Sanic would log the bind error and still exit 0: say it plainly and exit 1."""
    if port_in_use(port, host):
        parser.exit(1, f"Port {port} is taken: stop what runs there or pass --port.\n")
