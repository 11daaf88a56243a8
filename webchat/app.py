"""The web chat's server: the page, its assets, and a relay to Rasa's REST channel.

The browser only talks to this server (same origin, so no CORS); the relay answers
503 {"error": "unavailable"} when Rasa cannot be reached, so the page can offer a retry.
"""
from __future__ import annotations

import logging
from pathlib import Path

import httpx
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, file
from sanic.response import json as json_response

from telecom_assistant.web import SECURITY_HEADERS

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
STATIC_PREFIX = "/static/"
DEFAULT_RASA_URL = "http://127.0.0.1:5005"
REST_WEBHOOK = "/webhooks/rest/webhook"
RASA_TIMEOUT_SECONDS = 30.0
MESSAGE_MAX_LENGTH = 5000
SENDER_MAX_LENGTH = 128

logger = logging.getLogger(__name__)


def create_app(rasa_url: str, name: str = "webchat") -> Sanic:
    app = Sanic(name)
    relay = RasaRelay(rasa_url)
    app.static("/static", str(STATIC_DIR), name="static")
    app.add_route(index, "/", methods=["GET"], name="index")
    app.add_route(health, "/health", methods=["GET"], name="health")
    app.add_route(relay.message, "/api/message", methods=["POST"], name="message")
    app.register_middleware(add_security_headers, "response")
    return app


async def index(request: Request) -> HTTPResponse:
    return await file(str(STATIC_DIR / "index.html"), mime_type="text/html; charset=utf-8")


async def health(request: Request) -> HTTPResponse:
    return json_response({"status": "ok"})


async def add_security_headers(request: Request, response: HTTPResponse) -> None:
    response.headers.update(SECURITY_HEADERS)
    if not request.path.startswith(STATIC_PREFIX):
        # Replies may carry the customer's personal data: keep them out of caches.
        response.headers["Cache-Control"] = "no-store"


class RasaRelay:
    """POST /api/message: hands one customer message to Rasa and returns its replies."""

    def __init__(self, rasa_url: str) -> None:
        self.webhook = rasa_url.rstrip("/") + REST_WEBHOOK

    async def message(self, request: Request) -> HTTPResponse:
        try:
            body = request.json
        except Exception:  # Sanic raises InvalidUsage on malformed JSON
            body = None
        if not isinstance(body, dict):
            return _error(400, "invalid_json")
        sender, message = body.get("sender"), body.get("message")
        if not isinstance(sender, str) or not sender.strip() or len(sender) > SENDER_MAX_LENGTH:
            return _error(400, "invalid_sender")
        if not isinstance(message, str) or not message.strip():
            return _error(400, "empty_message")
        if len(message) > MESSAGE_MAX_LENGTH:
            return json_response(
                {"error": "message_too_long", "max_length": MESSAGE_MAX_LENGTH}, status=413
            )
        try:
            async with httpx.AsyncClient(timeout=RASA_TIMEOUT_SECONDS) as client:
                answer = await client.post(
                    self.webhook, json={"sender": sender, "message": message}
                )
            if answer.status_code >= 500:
                raise httpx.HTTPStatusError(
                    f"Rasa answered {answer.status_code}", request=answer.request, response=answer
                )
            answer.raise_for_status()
            replies = answer.json()
        except (httpx.HTTPError, ValueError) as failure:
            logger.warning("Rasa unavailable at %s: %s", self.webhook, failure)
            return _error(503, "unavailable")
        if not isinstance(replies, list):
            logger.warning("Rasa answered something else than a list: %r", replies)
            return _error(503, "unavailable")
        return json_response(replies)


def _error(status: int, code: str) -> HTTPResponse:
    return json_response({"error": code}, status=status)
