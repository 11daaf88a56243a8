"""The supervisor heals: the action server is killed (SIGKILL, as a crash would) in the middle
of a verified customer's conversation. The customer's next message is answered with "try again
shortly", and within seconds real answers come back in the same conversation: still verified,
the usage shown without verifying again. Rasa kept serving all along."""

from __future__ import annotations

import pytest

from demo.seed import DEMO_LINES
from ops.benchmark.recovery import (
    PHONE,
    RASA_SERVER,
    kill_the_action_server_mid_conversation,
    supervised_assistant,
)
from tests.actions_support import text_of

pytestmark = pytest.mark.model

# Generous: the supervisor's first pause (1 s) and the action server's start (a few seconds).
RECOVERY_SECONDS = 30
USAGE = text_of("utter_usage").split("{")[0]  # "This cycle (ends "


def test_killing_the_action_server_mid_conversation_loses_nothing(model, tmp_path):
    with supervised_assistant(model, tmp_path) as assistant:
        rasa_pid = assistant.supervisor.current(RASA_SERVER).process.pid
        recovery = kill_the_action_server_mid_conversation(assistant)
        assert assistant.supervisor.current(RASA_SERVER).process.pid == rasa_pid
    customer = next(line.name for line in DEMO_LINES if line.msisdn == PHONE)
    assert recovery.verified[0] == text_of("utter_verified", name=customer)
    assert recovery.verified[1].startswith(USAGE)
    assert recovery.while_down == [text_of("utter_assistant_unavailable")]
    # The same conversation, still verified: the usage again, no question about the number.
    assert recovery.back[0].startswith(USAGE), recovery.back
    assert text_of("utter_ask_phone_number") not in recovery.back
    assert recovery.seconds < RECOVERY_SECONDS
    print(
        f"\nThe action server was killed mid-conversation: real answers again "
        f"{recovery.seconds:.1f} s later."
    )
