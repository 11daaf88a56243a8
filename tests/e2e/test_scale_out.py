"""The production profile scaled out: two Rasa servers over one PostgreSQL database and one
Redis lock store, nginx in front. Many conversations at once, each sending its messages to one
server and then the other (some through nginx), the message that files a complaint sent to both
servers at the same moment: the tracker store keeps every conversation's turns, in order, each
answered, and the ticket desk one ticket per complaint. Then a server is stopped while
customers talk through nginx: nobody notices."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import bindparam, select, text

from demo.seed import reset_database
from telecom_assistant.clock import operator_now
from telecom_assistant.database import make_engine
from telecom_assistant.settings import Production, Settings
from telecom_assistant.tickets.tables import TicketRow
from tests.actions_support import text_of
from tests.conftest import TEST_REDIS_URL
from tests.stack import ProductionStack, Stack, listening_addresses, start_production_stack

pytestmark = pytest.mark.model

# What customers say: plain questions in either language, and a complaint that ends with a
# ticket once the contact number (FILING) is given.
QUESTIONS_EN = [
    "hello",
    "how much is the 5G Plus 129 plan?",
    "is there 5G in Chaoyang, Beijing?",
    "how do I keep my number when I switch operator?",
    "what can you do?",
    "thanks",
]
QUESTIONS_ZH = [
    "你好",
    "5G畅享套餐多少钱",
    "北京朝阳区有5G吗",
    "携号转网需要什么条件",
    "你能做什么",
    "谢谢",
]
FILING = "13900000002"
COMPLAINT = [
    "你好",
    "转人工",
    '/inform{"complaint_category":"other"}',
    "想问一下我的合约什么时候到期",
    FILING,
    "谢谢",
]
UNAVAILABLE = {text_of("utter_assistant_unavailable"), text_of("utter_assistant_unavailable", "zh")}
CONVERSATIONS, COMPLAINTS, AT_ONCE = 20, 5, 6


@dataclass
class Conversation:
    sender: str
    script: Sequence[str]
    # Every user message in the order sent (the filing message twice when sent to both servers)
    # and what each send answered.
    sent: list[str] = field(default_factory=list)
    answers: list[list[str]] = field(default_factory=list)

    @property
    def complaint(self) -> bool:
        return self.script is COMPLAINT


def conversations(count: int, complaints: int, name: str) -> list[Conversation]:
    """`complaints` of them spread among the rest, which alternate English and Chinese."""
    every = count // complaints
    return [
        Conversation(
            f"{name}-{number}-{uuid.uuid4().hex[:6]}",
            COMPLAINT if number % every == 0 else QUESTIONS_ZH if number % 2 else QUESTIONS_EN,
        )
        for number in range(count)
    ]


def say(door: Stack, conversation: Conversation, message: str) -> list[str]:
    return [reply.get("text", "") for reply in door.send(conversation.sender, message)]


def record(conversation: Conversation, message: str, answers: list[str]) -> None:
    conversation.sent.append(message)
    conversation.answers.append(answers)


def talk_to_both(stack: ProductionStack, conversation: Conversation, number: int) -> None:
    """Each message to a different door than the last: server A, server B, nginx, A, ...; the
    filing message to A and B at the same moment."""
    doors = [*stack.rasa, stack.balancer]
    for turn, message in enumerate(conversation.script):
        if message == FILING:
            with ThreadPoolExecutor(2) as pool:
                both = [pool.submit(say, server, conversation, message) for server in stack.rasa]
            for answers in both:
                record(conversation, message, answers.result())
        else:
            record(
                conversation,
                message,
                say(doors[(number + turn) % len(doors)], conversation, message),
            )


def talk_through_nginx(stack: ProductionStack, conversation: Conversation, _number: int) -> None:
    for message in conversation.script:
        record(conversation, message, say(stack.balancer, conversation, message))


def hold(
    stack: ProductionStack,
    talks: list[Conversation],
    talk: Callable[[ProductionStack, Conversation, int], None],
) -> float:
    """Every conversation in a thread pool, AT_ONCE talking at any moment; the seconds taken."""
    started = time.monotonic()
    with ThreadPoolExecutor(AT_ONCE) as pool:
        for future in [
            pool.submit(talk, stack, conversation, number)
            for number, conversation in enumerate(talks)
        ]:
            future.result()
    return time.monotonic() - started


def assert_every_turn_kept_in_order_and_answered(
    stack: ProductionStack, talks: list[Conversation]
) -> None:
    for conversation in talks:
        assert all(
            answers and not UNAVAILABLE & set(answers) for answers in conversation.answers
        ), (conversation.sender, conversation.answers)
    engine = make_engine(stack.balancer.database_url)
    with engine.connect() as connection:
        # Rasa's SQL tracker store: one row per event, in the order the servers saved them.
        rows = connection.execute(
            text(
                "SELECT sender_id, type_name, data FROM events WHERE sender_id IN :senders "
                "ORDER BY id"
            ).bindparams(bindparam("senders", expanding=True)),
            {"senders": [conversation.sender for conversation in talks]},
        ).all()
        tickets = connection.execute(select(TicketRow.conversation_id)).scalars().all()
    engine.dispose()
    for conversation in talks:
        events = [
            (kind, json.loads(data)) for sender, kind, data in rows if sender == conversation.sender
        ]
        turns = [data["text"] for kind, data in events if kind == "user"]
        assert turns == conversation.sent, conversation.sender
        # A bot event between each user turn and the next, and after the last.
        kinds = "".join({"user": "u", "bot": "b"}.get(kind, "") for kind, _ in events)
        assert "uu" not in kinds and kinds.endswith("b"), (conversation.sender, kinds)
        assert tickets.count(conversation.sender) == (1 if conversation.complaint else 0), (
            conversation.sender
        )


@pytest.fixture(scope="module")
def production(model, module_postgres_url, redis_key_prefix, nginx, tmp_path_factory):
    engine = make_engine(module_postgres_url)
    reset_database(engine, operator_now().date())
    engine.dispose()
    settings = Settings(
        database_url=module_postgres_url,
        production=Production(
            redis_url=TEST_REDIS_URL,
            lock_key_prefix=redis_key_prefix,
            rasa_servers=2,
            action_servers=1,
        ),
    )
    stack = start_production_stack(model, tmp_path_factory.mktemp("production"), settings, nginx)
    yield stack
    stack.stop()


def test_interleaved_conversations_on_two_servers_keep_every_turn(production):
    talks = conversations(CONVERSATIONS, COMPLAINTS, "interleaved")
    seconds = hold(production, talks, talk_to_both)
    assert_every_turn_kept_in_order_and_answered(production, talks)
    for conversation in talks:
        if conversation.complaint:
            filed = [
                answers
                for message, answers in zip(conversation.sent, conversation.answers)
                if message == FILING
            ]
            assert len(filed) == 2 and any("TK-" in " ".join(answers) for answers in filed)
    print(
        f"\n{len(talks)} conversations, {sum(len(c.sent) for c in talks)} messages, "
        f"{AT_ONCE} at once on 2 servers: {seconds:.1f} s"
    )


def test_in_the_production_profile_every_door_asks_and_nothing_secret_is_stored(production):
    """Run before the failover test stops a server. Everything listens on 127.0.0.1; Rasa's
    REST channel wants the channel secret, the action server its token; PostgreSQL's `events`
    keeps the conversation with the ID-card number masked."""
    door = production.balancer
    for url in (
        door.rasa_url,
        *(server.rasa_url for server in production.rasa),
        production.actions.url,
    ):
        assert listening_addresses(int(url.rsplit(":", 1)[1])) == {"127.0.0.1"}, url
    body = {
        "sender": f"security-{uuid.uuid4().hex[:8]}",
        "message": "my id card is 110105 19491231 002X, show my usage",
    }
    refused = httpx.post(f"{door.rasa_url}/webhooks/rest/webhook", json=body, timeout=60)
    assert refused.status_code == 401
    assert (
        httpx.post(
            f"{production.actions.url}/webhook", json={"next_action": "action_check_bill"}
        ).status_code
        == 401
    )
    assert door.send(body["sender"], body["message"])
    with make_engine(door.database_url).connect() as connection:
        stored = (
            connection.execute(
                text("SELECT data FROM events WHERE sender_id = :sender"),
                {"sender": body["sender"]},
            )
            .scalars()
            .all()
        )
    assert stored and "show my usage" in " ".join(stored)
    assert "19491231" not in " ".join(stored)


def test_stopping_a_server_mid_load_loses_no_conversation(production):
    talks = conversations(12, 3, "failover")
    total = sum(len(conversation.script) for conversation in talks)
    stopped_after, load_over = [], threading.Event()

    def stop_a_server_when_a_third_is_answered() -> None:
        while sum(len(c.answers) for c in talks) < total // 3 and not load_over.is_set():
            time.sleep(0.1)
        stopped_after.append(sum(len(c.answers) for c in talks))
        production.rasa[0].stop()

    stopper = threading.Thread(target=stop_a_server_when_a_third_is_answered)
    stopper.start()
    try:
        seconds = hold(production, talks, talk_through_nginx)
    finally:
        load_over.set()
        stopper.join()
    assert stopped_after[0] < total, "the load ended before the server was stopped"
    assert sum(len(c.answers) for c in talks) == total
    assert_every_turn_kept_in_order_and_answered(production, talks)
    print(
        f"\n{len(talks)} conversations, {total} messages through nginx, server A stopped after "
        f"{stopped_after[0]} answers: all answered in {seconds:.1f} s"
    )
