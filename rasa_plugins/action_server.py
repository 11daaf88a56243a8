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
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from rasa_sdk.endpoint import create_app
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from telecom_assistant.accounts.sql import SqlAccountService, VerificationThrottles
from telecom_assistant.database import make_engine
from telecom_assistant.reminders.sql import SqlReminderStore
from telecom_assistant.satisfaction.sql import SqlSatisfactionService
from telecom_assistant.schema import Area, migrate
from telecom_assistant.settings import LOOPBACK, Settings, SettingsError
from telecom_assistant.tickets.live import LiveChats
from telecom_assistant.tickets.sql import SqlTicketService
from telecom_assistant.tickets.sql_live import SqlLiveDesk
from telecom_assistant.trust import ACTION_SERVER_TOKEN, ACTION_TOKEN_HEADER, same_secret

OPEN_PATHS = frozenset({"/health"})

logger = logging.getLogger(__name__)


def create_action_server(token: str, actions: ModuleType) -> Sanic:
    # No CORS origins: no web page has any business calling the action server.
    app = create_app(actions, cors_origins="")

    @app.middleware("request")
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        if same_secret(request.headers.get(ACTION_TOKEN_HEADER), token):
            return None
        logger.warning(
            "Refused %s %s from %s: no valid action server token",
            request.method,
            request.path,
            request.ip,
        )
        return json_response({"error": "unauthorized"}, status=401)

    # rasa_sdk's own handler echoes the request body, a whole conversation, in the answer.
    @app.exception(Exception)
    async def action_failed(request: Request, exception: Exception) -> HTTPResponse:
        logger.error("Action call failed: %s", type(exception).__name__, exc_info=exception)
        return json_response({"error": "action failed"}, status=500)

    return app


def keep_tensorflow_out() -> None:
    """The actions mask ticket transcripts with spaCy, and spaCy's thinc imports TensorFlow
    whenever it is installed (Rasa needs it): 360 MB the action server never uses. A None in
    sys.modules makes `import tensorflow` fail, and thinc then goes without it."""
    sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> None:
    from telecom_assistant.web import exit_if_port_taken

    try:
        settings = Settings.from_environment()
        token = ACTION_SERVER_TOKEN.value(settings)
    except SettingsError as problem:
        raise SystemExit(f"action server: {problem}") from None
    parser = argparse.ArgumentParser(
        prog="python -m rasa_plugins.action_server", description=__doc__
    )
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=settings.ports.action_server)
    parser.add_argument("--actions", default="actions", help="the package of the actions")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    # rasa_sdk logs a line for each of the 30-odd actions it registers.
    logging.getLogger("rasa_sdk.executor").setLevel(logging.WARNING)
    exit_if_port_taken(parser, args.host, args.port)
    engine = make_engine(settings.database_url)
    migrate(engine, [Area.ACCOUNTS, Area.TICKETS, Area.SATISFACTION, Area.REMINDERS])
    keep_tensorflow_out()
    # The package named, as rasa_sdk loads it (by name: the action server serves whichever
    # package it is given), gets its backend through its `install`.
    actions = importlib.import_module(args.actions)
    actions.install(
        SqlAccountService(
            engine, limits=VerificationThrottles.from_settings(settings.verification)
        ),
        SqlTicketService(engine),
        settings.verification,
        LiveChats(SqlLiveDesk(engine), settings.service_hours),
        SqlSatisfactionService(engine),
        SqlReminderStore(engine),
    )
    app = create_action_server(token, actions)
    # No banner: `telecom run` prints one summary for every part.
    app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
