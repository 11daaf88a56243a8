"""nginx's public door in the production profile (SECURITY.md): the only port open to the
network reaches the web chat and the Telegram webhook, never Rasa nor the action servers.
Real nginx, with small HTTP servers standing in for each program behind it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from ops.launcher import Part, start
from ops.production.nginx import LoadBalancer, PublicDoor, nginx_command
from tests.stack import free_port, listening_addresses

WEBHOOK_PATH = "/telegram/webhook-path"


@contextmanager
def program(name: str) -> Iterator[int]:
    """A stand-in that answers every request with its name and what it was sent."""

    class Answer(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = (
                f"{name} {self.path} proto={self.headers.get('X-Forwarded-Proto')} "
                f"host={self.headers.get('Host')}"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def test_the_public_door_reaches_the_web_chat_and_the_webhook_only(nginx, tmp_path):
    with (
        program("webchat") as webchat,
        program("bridge") as bridge,
        program("rasa") as rasa,
        program("actions") as actions,
    ):
        public_port, rasa_door, actions_door = free_port(), free_port(), free_port()
        balancer = LoadBalancer(
            f"127.0.0.1:{rasa_door}",
            [rasa],
            f"127.0.0.1:{actions_door}",
            [actions],
            PublicDoor(
                str(public_port), f"127.0.0.1:{webchat}", (WEBHOOK_PATH, f"127.0.0.1:{bridge}")
            ),
        )
        config = balancer.write_config(tmp_path / "nginx")
        door = start(
            Part(
                "nginx",
                tuple(nginx_command(nginx, config)),
                f"http://127.0.0.1:{public_port}",
                environment={},
                log=tmp_path / "nginx.log",
            )
        )
        try:
            public = f"http://127.0.0.1:{public_port}"
            assert httpx.get(f"{public}/").text.startswith("webchat / proto=http")
            assert f"host=127.0.0.1:{public_port}" in httpx.get(f"{public}/").text
            assert httpx.post(f"{public}{WEBHOOK_PATH}").text.startswith("bridge")
            for path in (
                "/webhooks/rest/webhook",
                "/webhooks/telegram/webhook",
                "/webhook",
                f"{WEBHOOK_PATH}/../../webhooks/rest/webhook",
                f"{WEBHOOK_PATH}x",
            ):
                assert httpx.post(f"{public}{path}").text.startswith("webchat"), path
            assert listening_addresses(public_port) == {"0.0.0.0"}
            for internal in (rasa_door, actions_door):
                assert listening_addresses(internal) == {"127.0.0.1"}
            assert httpx.post(f"http://127.0.0.1:{rasa_door}/x").text.startswith("rasa")
        finally:
            door.stop()
