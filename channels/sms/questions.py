"""The question the SMS hall asked a line and waits to hear answered: "reply Y within 10
minutes to cancel ...". Kept outside any one hall, in the database: the customer's yes may
reach another hall (several may run), or this one after a restart."""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from channels.sms.tables import OpenQuestionRow
from telecom_assistant.database import SessionPerCall


@dataclass(frozen=True)
class PendingCancel:
    """Add-ons the line was asked to confirm cancelling, and their names in each language (an
    answer in the other language names them too)."""

    subscription_ids: tuple[int, ...]
    names: Mapping[str, str]
    asked_at: datetime


class OpenQuestions(abc.ABC):
    @abc.abstractmethod
    def ask(self, msisdn: str, question: PendingCancel) -> None:
        """The line's open question from now on (an earlier one is dropped)."""

    @abc.abstractmethod
    def take(self, msisdn: str) -> PendingCancel | None:
        """The line's open question, closed: whatever the customer sends next ends it. Two
        halls taking it at once: one gets it."""


class SqlOpenQuestions(SessionPerCall, OpenQuestions):
    def ask(self, msisdn: str, question: PendingCancel) -> None:
        with self._session() as session:
            row = session.get(OpenQuestionRow, msisdn)
            if row is None:
                row = OpenQuestionRow(msisdn=msisdn)
                session.add(row)
            row.subscription_ids = json.dumps(list(question.subscription_ids))
            row.names = json.dumps(dict(question.names), ensure_ascii=False)
            row.asked_at = question.asked_at

    def take(self, msisdn: str) -> PendingCancel | None:
        with self._session() as session:
            row = session.execute(
                select(
                    OpenQuestionRow.subscription_ids,
                    OpenQuestionRow.names,
                    OpenQuestionRow.asked_at,
                ).where(OpenQuestionRow.msisdn == msisdn)
            ).one_or_none()
            if row is None:
                return None
            # Only the hall whose delete removed the row answers the question.
            removed = session.execute(
                delete(OpenQuestionRow).where(
                    OpenQuestionRow.msisdn == msisdn, OpenQuestionRow.asked_at == row.asked_at
                )
            ).rowcount
            if not removed:
                return None
        return PendingCancel(
            tuple(json.loads(row.subscription_ids)), json.loads(row.names), row.asked_at
        )
