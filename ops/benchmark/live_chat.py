"""`telecom benchmark --live-chat`: how long a live chat's messages take, each way.

The assistant, the agent console and the web chat run as `telecom run` starts them (on free
ports, over a scratch database, agents in around the clock). A customer on the web chat asks for
a person and files a ticket; an agent signs in to the console and takes the conversation. Then,
ROUNDS times each way:

- agent to customer: from the agent's message (the console's POST) to the moment the
  customer's page has it (its event stream, GET /api/events, sends the reply);
- customer to agent: from the customer's message (the web chat's POST /api/message) to the
  moment the agent's open ticket page hears of it (its event stream sends "changed").

Prints the median, 95th percentile and worst of each, in milliseconds.
"""

from __future__ import annotations

import contextlib
import queue
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from demo.seed import reset_database
from ops import parts
from ops.benchmark.servers import action_server_part, rasa_part, server_environment, write_endpoints
from ops.launcher import free_port, start_in_order, stop
from telecom_assistant.agents.accounts import AgentAccounts
from telecom_assistant.clock import operator_now
from telecom_assistant.database import make_engine
from telecom_assistant.tickets.sql import SqlTicketService

ROUNDS = 20
AGENT, AGENT_NAME, PASSWORD = "bench.agent", "Bench Agent", "bench-password-0123"
PHONE = "13800000018"
TICKET_ID = re.compile(r"TK-\d{6}-\d{4}")
ALWAYS_OPEN = "00:00-24:00"
EVENT_TIMEOUT_SECONDS = 10


@contextmanager
def assistant_with_console(model: Path, workdir: Path) -> Iterator[tuple[str, str, str]]:
    """(web chat URL, console URL, database URL) of a running assistant."""
    database_url = f"sqlite:///{workdir / 'telecom.db'}"
    engine = make_engine(database_url)
    reset_database(engine, operator_now().date())
    AgentAccounts(engine).create(AGENT, AGENT_NAME, PASSWORD)
    env = {**server_environment(database_url), "TELECOM_SERVICE_HOURS": ALWAYS_OPEN}
    actions = action_server_part(workdir, env)
    rasa = rasa_part(model, workdir, env, write_endpoints(workdir, actions.url))
    console = parts.console(free_port(), environment=env, log=workdir / "console.log")
    webchat = parts.webchat(free_port(), rasa.url, environment=env, log=workdir / "webchat.log")
    running = start_in_order([actions, rasa, console, webchat])
    try:
        yield webchat.url, console.url, database_url
    finally:
        stop(running)


def events(client: httpx.Client, url: str, into: queue.Queue[tuple[float, str, str]]) -> None:
    """Reads a server-sent-events stream into `into` as (arrival, event, data) until closed."""
    name = ""
    # The servers stop under the stream at the end.
    with contextlib.suppress(httpx.HTTPError), client.stream("GET", url, timeout=None) as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                into.put((time.perf_counter(), name, line.removeprefix("data: ")))


def listen(client: httpx.Client, url: str) -> queue.Queue[tuple[float, str, str]]:
    arrivals: queue.Queue[tuple[float, str, str]] = queue.Queue()
    threading.Thread(target=events, args=(client, url, arrivals), daemon=True).start()
    return arrivals


def wait_for(arrivals: queue.Queue[tuple[float, str, str]], event: str, text: str = "") -> float:
    deadline = time.monotonic() + EVENT_TIMEOUT_SECONDS
    while True:
        arrived, name, data = arrivals.get(timeout=max(0.0, deadline - time.monotonic()))
        if name == event and text in data:
            return arrived


def signed_in_console(console_url: str) -> tuple[httpx.Client, str]:
    """A console client signed in as the benchmark's agent, and its CSRF token."""
    agent = httpx.Client(base_url=console_url, timeout=30)
    login = agent.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
    agent.post("/login", data={"username": AGENT, "password": PASSWORD, "csrf_token": token})
    page = agent.get("/")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return agent, csrf


def measure_live_chat(model: Path) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="telecom-live-chat-") as temporary,
        assistant_with_console(model, Path(temporary)) as (webchat_url, console_url, database),
    ):
        customer = httpx.Client(base_url=webchat_url, timeout=60)
        customer.get("/")

        def say(text: str) -> list[dict]:
            return customer.post("/api/message", json={"message": text}).json()

        buttons = say("I want to talk to a real person")[-1]["buttons"]
        say(buttons[1]["payload"])
        say("A video add-on I never ordered is on my bill.")
        filed = " ".join(message.get("text", "") for message in say(PHONE))
        ticket_id = TICKET_ID.search(filed).group()  # type: ignore[union-attr]
        agent, csrf = signed_in_console(console_url)
        fetch = {"X-Requested-With": "fetch"}
        agent.post(f"/tickets/{ticket_id}/live/take", data={"csrf_token": csrf}, headers=fetch)
        to_customer = listen(
            httpx.Client(base_url=webchat_url, cookies=customer.cookies), "/api/events"
        )
        to_agent = listen(
            httpx.Client(base_url=console_url, cookies=agent.cookies),
            f"/tickets/{ticket_id}/live/events",
        )
        time.sleep(1)  # both streams open
        agent_to_customer, customer_to_agent = [], []
        for number in range(ROUNDS):
            words = f"agent message {number}"
            sent = time.perf_counter()
            agent.post(
                f"/tickets/{ticket_id}/live/say",
                data={"csrf_token": csrf, "text": words},
                headers=fetch,
            )
            agent_to_customer.append(wait_for(to_customer, "reply", words) - sent)
            # The agent's page hears of its own message too: that is not the figure.
            wait_for(to_agent, "changed")
            sent = time.perf_counter()
            say(f"customer message {number}")
            customer_to_agent.append(wait_for(to_agent, "changed") - sent)
        turns = len(SqlTicketService(make_engine(database)).get(ticket_id).transcript)
    print(f"Live chat, {ROUNDS} messages each way (ticket {ticket_id}, {turns} turns kept):")
    for name, seconds in (
        ("agent → customer", agent_to_customer),
        ("customer → agent", customer_to_agent),
    ):
        milliseconds = sorted(1000 * second for second in seconds)
        p95 = milliseconds[max(0, round(0.95 * len(milliseconds)) - 1)]
        print(
            f"  {name}: median {statistics.median(milliseconds):.0f} ms, "
            f"p95 {p95:.0f} ms, worst {milliseconds[-1]:.0f} ms"
        )
    return 0
