"""The SMS business hall with the real assistant (trained model, Rasa's "sms" channel, the
action server) over a demo database of its own: free text by SMS is answered from the line's
own account without a one-time code, and a customer who never ordered an add-on has it
cancelled and disputed by SMS exactly as in the chat."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from ops import parts
from ops.benchmark.servers import server_environment
from ops.cli import hall_answers
from ops.launcher import Running, free_port, start, stop
from telecom_assistant.accounts.sql import SqlAccountService
from telecom_assistant.accounts.tables import SubscriptionRow
from telecom_assistant.clock import operator_now
from telecom_assistant.database import make_engine
from telecom_assistant.sms.gateway import Purpose
from telecom_assistant.sms.sql import SqlSmsGateway
from telecom_assistant.texts import format_data
from tests.stack import Stack, start_stack

pytestmark = pytest.mark.model

DATA_85 = "13800000018"
CONSENTLESS = "13800000004"  # ringback tone and news SMS, no consent record for either


@dataclass
class SmsProduct:
    stack: Stack
    hall: Running

    @property
    def gateway(self) -> SqlSmsGateway:
        return SqlSmsGateway(make_engine(self.stack.database_url))

    @property
    def accounts(self) -> SqlAccountService:
        return SqlAccountService(make_engine(self.stack.database_url))

    def send(self, msisdn: str, body: str) -> str:
        """The line texts `body`; the hall's answer, all its parts."""
        sent = self.gateway.receive(msisdn, body)
        answers = hall_answers(self.gateway, msisdn, sent)
        assert answers, f"no answer to {body!r}"
        return "\n".join(answers)


@pytest.fixture(scope="module")
def sms_product(model, tmp_path_factory) -> Iterator[SmsProduct]:
    from demo.seed import reset_database

    workdir = tmp_path_factory.mktemp("sms_hall")
    database_url = f"sqlite:///{workdir / 'telecom.db'}"
    reset_database(make_engine(database_url), operator_now().date())
    stack = start_stack(model, workdir, database_url)
    try:
        hall = start(
            parts.sms_hall(
                free_port(),
                environment={**server_environment(database_url), "RASA_URL": stack.rasa_url},
                log=workdir / "sms_hall.log",
            )
        )
    except Exception:
        stack.stop()
        raise
    yield SmsProduct(stack, hall)
    stop([hall])
    stack.stop()


def test_data_left_by_sms_is_answered_without_a_code(sms_product):
    answer = sms_product.send(DATA_85, "how much data do I have left?")
    left = format_data(sms_product.accounts.current_usage(DATA_85).data_left_mb)
    assert left in answer, answer
    # The line is its own verification: no code was sent, none asked for.
    assert not any(sms.purpose is Purpose.CODE for sms in sms_product.gateway.messages(DATA_85))
    assert "code" not in answer.lower()


def test_an_addon_never_ordered_is_cancelled_and_disputed_as_in_the_chat(sms_product):
    ringback = next(
        sub
        for sub in sms_product.accounts.active_subscriptions(CONSENTLESS)
        if sub.addon.id == "ringback_tone"
    )
    asked = sms_product.send(CONSENTLESS, "帮我把彩铃退了，我从来没订过这玩意")
    assert "彩铃" in asked and "新闻早晚报" not in asked, asked
    # The assistant's buttons came as a line to answer with; a title sent back is a press.
    titles = re.search(r"^回复：(.+)$", asked, re.MULTILINE)
    assert titles is not None, asked
    done = sms_product.send(CONSENTLESS, titles.group(1).split(" / ")[0])
    assert "退订" in done, done
    with Session(make_engine(sms_product.stack.database_url)) as session:
        row = session.get(SubscriptionRow, ringback.id)
        assert row is not None and row.cancelled_at is not None and row.consent_disputed is True
