"""Ratings as whole conversations with the trained model, the action server, the console and
the web chat (tests/stack.py):

- a conversation the assistant handled alone is asked once, at its goodbye or thanks, with
  buttons 1 to 5; a button or a typed rating ("非常不满意") is taken; a low one asks what went
  wrong, which the customer may skip or answer with a request for a person;
- anything but a rating leaves the question and is answered as what it is;
- a conversation that filed a ticket is not asked;
- a ticket resolved in the console asks its web chat customer to rate it, with buttons that
  reach the assistant like its own, and the console's report shows the rating.
"""

from __future__ import annotations

import re
import uuid
from contextlib import closing
from datetime import datetime
from typing import Any

import httpx
import pytest

from telecom_assistant.database import make_engine
from telecom_assistant.satisfaction.model import ConversationEnd, Subject, Survey
from telecom_assistant.satisfaction.sql import SqlSatisfactionService
from telecom_assistant.tickets.model import Status
from tests.actions_support import text_of
from tests.stack import AGENT, Product

pytestmark = pytest.mark.model

SCORES = ("1", "2", "3", "4", "5")


def satisfaction(product: Product) -> SqlSatisfactionService:
    return SqlSatisfactionService(make_engine(product.stack.database_url))


def ends_of(product: Product, sender: str) -> list[ConversationEnd]:
    """The conversations of this sender the assistant closed (one session in these tests)."""
    ends = satisfaction(product).ends_since(datetime(2000, 1, 1))
    return [end for end in ends if end.conversation_id == sender]


def survey_of(product: Product, sender: str) -> Survey | None:
    [end] = ends_of(product, sender)
    return satisfaction(product).survey(Subject.CONVERSATION, end.key)


class Customer:
    """A customer on Rasa's REST channel."""

    def __init__(self, product: Product) -> None:
        self.product = product
        self.sender = f"rating-{uuid.uuid4().hex[:8]}"
        self.last: list[dict[str, Any]] = []

    def says(self, text: str) -> list[str]:
        self.last = self.product.stack.send(self.sender, text)
        return [message.get("text", "") for message in self.last]

    def presses(self, title: str) -> list[str]:
        [payload] = [
            button["payload"]
            for message in self.last
            for button in message.get("buttons") or []
            if button["title"] == title
        ]
        return self.says(payload)

    def buttons(self) -> tuple[str, ...]:
        return tuple(button["title"] for m in self.last for button in m.get("buttons") or [])


def test_a_chat_the_assistant_handled_alone_is_rated_once_with_a_button(product):
    customer = Customer(product)
    customer.says("hello")
    assert "5G Plus 129" in " ".join(customer.says("what 5G plans do you have?"))
    assert customer.says("bye") == [text_of("utter_goodbye"), text_of("utter_ask_csat_score")]
    assert customer.buttons() == SCORES
    assert customer.presses("5") == [text_of("utter_csat_thanks")]
    assert survey_of(product, customer.sender).score == 5
    # Asked once: the next goodbye is just a goodbye.
    assert customer.says("ok bye then") == [text_of("utter_goodbye")]
    [end] = ends_of(product, customer.sender)
    assert not end.filed_ticket and end.channel == "rest"


def test_a_low_rating_typed_in_chinese_asks_what_went_wrong(product):
    customer = Customer(product)
    customer.says("你好")
    customer.says("5G畅享套餐多少钱")
    assert customer.says("谢谢") == [
        text_of("utter_you_are_welcome", "zh"),
        text_of("utter_ask_csat_score", "zh"),
    ]
    assert customer.says("非常不满意") == [text_of("utter_ask_csat_comment", "zh")]
    assert customer.says("回答太笼统了，合约期也没说清楚") == [
        text_of("utter_csat_comment_thanks", "zh")
    ]
    rated = survey_of(product, customer.sender)
    assert (rated.score, rated.comment) == (1, "回答太笼统了，合约期也没说清楚")


def test_the_comment_can_be_skipped(product):
    customer = Customer(product)
    customer.says("is there 5G in Haidian?")
    customer.says("thanks")
    assert customer.says("2") == [text_of("utter_ask_csat_comment")]
    assert customer.says("no thanks") == [text_of("utter_csat_thanks")]
    rated = survey_of(product, customer.sender)
    assert (rated.score, rated.comment) == (2, None)


def test_a_request_for_a_person_after_a_low_score_still_reaches_a_person(product):
    customer = Customer(product)
    customer.says("how do I keep my number when I switch operator?")
    customer.says("thank you")
    customer.presses("1")
    replies = customer.says("I want to talk to a real person")
    assert replies[0] == text_of("utter_escalation_intro_human")
    assert len(customer.buttons()) >= 5  # the complaint categories
    assert survey_of(product, customer.sender).score == 1


def test_a_question_instead_of_a_rating_is_answered_and_the_rating_not_asked_again(product):
    customer = Customer(product)
    customer.says("is there 5G in Chaoyang, Beijing?")
    assert customer.says("thanks")[-1] == text_of("utter_ask_csat_score")
    replies = customer.says("how much is the 5G Plus 129 plan?")
    assert "¥129.00" in " ".join(replies)
    assert text_of("utter_ask_csat_score") not in replies
    assert customer.says("bye") == [text_of("utter_goodbye")]
    assert survey_of(product, customer.sender).score is None


def test_a_conversation_that_filed_a_ticket_is_not_asked(product):
    customer = Customer(product)
    customer.says("I want to talk to a person")
    customer.says('/inform{"complaint_category":"other"}')
    customer.says("please call me back about my account")
    assert re.search(r"TK-\d{6}-\d{4}", " ".join(customer.says("13900000001")))
    assert customer.says("thanks") == [text_of("utter_you_are_welcome")]
    assert customer.says("bye") == [text_of("utter_goodbye")]
    [end] = ends_of(product, customer.sender)
    assert end.filed_ticket
    assert survey_of(product, customer.sender) is None


# ---- a resolved ticket, rated from the web chat


def hidden_field(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


def signed_in_agent(product: Product) -> httpx.Client:
    agent = httpx.Client(base_url=product.console_url, timeout=30)
    form = agent.get("/login").text
    signed_in = agent.post(
        "/login",
        data={
            "csrf_token": hidden_field(form, "csrf_token"),
            "next": "/",
            "username": AGENT,
            "password": product.agent_password,
        },
    )
    assert signed_in.status_code == 303
    return agent


def test_a_ticket_resolved_in_the_console_is_rated_from_the_web_chat(product):
    with httpx.Client(base_url=product.webchat_url, timeout=60) as customer:
        customer.get("/")

        def say(text: str) -> list[dict[str, Any]]:
            answer = customer.post("/api/message", json={"message": text})
            answer.raise_for_status()
            return answer.json()

        say("I want to talk to a person")
        say('/inform{"complaint_category":"billing"}')
        say("I was charged twice for my plan this month")
        filed = " ".join(message.get("text", "") for message in say("13900000002"))
        ticket_id = re.search(r"TK-\d{6}-\d{4}", filed).group()

        with closing(signed_in_agent(product)) as agent:
            token = hidden_field(agent.get("/").text, "csrf_token")
            resolved = agent.post(
                f"/tickets/{ticket_id}/status",
                data={"csrf_token": token, "status": Status.RESOLVED.value},
            )
            assert resolved.status_code == 303

            notices = [
                reply
                for reply in customer.get("/api/inbox").json()["replies"]
                if reply["kind"] == "notice"
            ]
            [notice] = notices
            assert notice["text"].startswith(f"Your ticket {ticket_id} is resolved.")
            buttons = {button["title"]: button["payload"] for button in notice["buttons"]}
            assert tuple(buttons) == SCORES

            assert [m["text"] for m in say(buttons["2"])] == [text_of("utter_ask_csat_comment")]
            assert [m["text"] for m in say("nobody told me when the refund comes")] == [
                text_of("utter_csat_comment_thanks")
            ]
            # Once per ticket.
            assert [m["text"] for m in say(buttons["5"])] == [text_of("utter_csat_already_rated")]
            rated = satisfaction(product).survey(Subject.TICKET, ticket_id)
            assert (rated.score, rated.comment) == (2, "nobody told me when the refund comes")

            report = agent.get("/reports").text
            assert f'<a href="/tickets/{ticket_id}">{ticket_id}</a>' in report
            assert "nobody told me when the refund comes" in report
