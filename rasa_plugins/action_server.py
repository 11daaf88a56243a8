"""``python -m rasa_plugins.action_server``: rasa_sdk's action server, answering Rasa only.

`rasa run actions` listens on every interface, allows any origin and runs whatever action a
caller names with whatever slots it sends: a caller who forged `verified_msisdn` would read
that customer's account. Here the same server (rasa_sdk's own app, our `actions` package)
listens on 127.0.0.1 unless told otherwise and refuses every call that does not carry the
action server token (telecom_assistant/trust.py) in the header Rasa sends from endpoints.yml,
wherever the call comes from. Its health check stays open, for supervisors and nginx.
"""
from __future__ import annotations

import argparse
import logging
from typing import Optional, Sequence

from rasa_sdk.endpoint import create_app
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from telecom_assistant.trust import ACTION_SERVER_TOKEN, ACTION_TOKEN_HEADER, same_secret

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5055
OPEN_PATHS = frozenset({"/health"})

logger = logging.getLogger(__name__)


def create_action_server(token: str, actions_package: str = "actions") -> Sanic:
    # No CORS origins: no web page has any business calling the action server.
    app = create_app(actions_package, cors_origins="")

    @app.middleware("request")
    async def require_token(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        if same_secret(request.headers.get(ACTION_TOKEN_HEADER), token):
            return None
        logger.warning("Refused %s %s from %s: no valid action server token",
                       request.method, request.path, request.ip)
        return json_response({"error": "unauthorized"}, status=401)

    # rasa_sdk's own handler echoes the request body, a whole conversation, in the answer.
    @app.exception(Exception)
    async def action_failed(request: Request, exception: Exception) -> HTTPResponse:
        logger.error("Action call failed: %s", type(exception).__name__, exc_info=exception)
        return json_response({"error": "action failed"}, status=500)

    return app


def main(argv: Optional[Sequence[str]] = None) -> None:
    from telecom_assistant.web import exit_if_port_taken

    parser = argparse.ArgumentParser(prog="python -m rasa_plugins.action_server",
                                     description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--actions", default="actions", help="the package of the actions")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    exit_if_port_taken(parser, args.host, args.port)
    app = create_action_server(ACTION_SERVER_TOKEN.value(), args.actions)
    app.run(host=args.host, port=args.port, workers=1, access_log=False)


if __name__ == "__main__":
    main()
