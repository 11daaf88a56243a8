"""Where ratings and closed conversations are kept, as the assistant and the console see it:
one interface, implemented on SQL in :mod:`telecom_assistant.satisfaction.sql`."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime

from telecom_assistant.satisfaction.model import (
    ConversationEnd,
    RatingRequest,
    Subject,
    Survey,
)


class SatisfactionService(abc.ABC):
    @abc.abstractmethod
    def ask(self, request: RatingRequest) -> bool:
        """Record that the customer is being asked to rate; False when they were asked about
        this before (every conversation and every ticket is asked once)."""

    @abc.abstractmethod
    def rate(self, subject: Subject, subject_id: str, conversation_id: str, score: int) -> Survey:
        """Take the customer's score, 1 to 5. Raises NotAsked when this conversation was not
        asked to rate this, AlreadyRated when it was rated before."""

    @abc.abstractmethod
    def comment(self, subject: Subject, subject_id: str, conversation_id: str, text: str) -> Survey:
        """What went wrong, after a low score: masked by the caller, taken once. Raises
        NotAsked, or CommentRefused when no comment is wanted."""

    @abc.abstractmethod
    def survey(self, subject: Subject, subject_id: str) -> Survey | None: ...

    @abc.abstractmethod
    def answered_since(self, since: datetime) -> Sequence[Survey]:
        """The ratings given since then, oldest first."""

    @abc.abstractmethod
    def record_end(self, end: ConversationEnd) -> bool:
        """The assistant closed a conversation; False when it was recorded before."""

    @abc.abstractmethod
    def ends_since(self, since: datetime) -> Sequence[ConversationEnd]:
        """The conversations closed since then, oldest first."""
