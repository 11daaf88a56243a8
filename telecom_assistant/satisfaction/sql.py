"""The SQL implementation of :class:`SatisfactionService`.

"Once" holds when two servers race: a request is one row under a unique key, and a score or a
comment is written by a single UPDATE that only finds the row while it is still unanswered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from telecom_assistant.database import SessionPerCall
from telecom_assistant.satisfaction.model import (
    COMMENT_MAX_LENGTH,
    LOW_SCORES,
    AlreadyRated,
    CommentRefused,
    ConversationEnd,
    NotAsked,
    RatingRequest,
    Subject,
    Survey,
    check_score,
)
from telecom_assistant.satisfaction.service import SatisfactionService
from telecom_assistant.satisfaction.tables import ConversationEndRow, SurveyRow
from telecom_assistant.text import clean_message
from telecom_assistant.tickets.model import Category

IDENTIFIER_LENGTH = 200


class SqlSatisfactionService(SessionPerCall, SatisfactionService):
    def ask(self, request: RatingRequest) -> bool:
        try:
            with self._session() as session:
                session.add(
                    SurveyRow(
                        subject=request.subject.value,
                        subject_id=_identifier(request.subject_id),
                        conversation_id=_identifier(request.conversation_id),
                        channel=request.channel[: SurveyRow.channel.type.length],
                        language=request.language[: SurveyRow.language.type.length],
                        category=request.category.value if request.category else None,
                        asked_at=self._now(),
                    )
                )
        except IntegrityError:
            return False
        return True

    def rate(self, subject: Subject, subject_id: str, conversation_id: str, score: int) -> Survey:
        check_score(score)
        now = self._now()
        with self._session() as session:
            row = self._asked(session, subject, subject_id, conversation_id)
            if not _updated(session, row, SurveyRow.score.is_(None), score=score, answered_at=now):
                raise AlreadyRated(subject_id)
            return replace(_survey(row), score=score, answered_at=now)

    def comment(self, subject: Subject, subject_id: str, conversation_id: str, text: str) -> Survey:
        text = clean_message(text).strip()[:COMMENT_MAX_LENGTH]
        with self._session() as session:
            row = self._asked(session, subject, subject_id, conversation_id)
            wanted = and_(SurveyRow.score.in_(LOW_SCORES), SurveyRow.comment.is_(None))
            if not text or not _updated(session, row, wanted, comment=text):
                raise CommentRefused(subject_id)
            return replace(_survey(row), comment=text)

    def survey(self, subject: Subject, subject_id: str) -> Survey | None:
        with self._session() as session:
            row = _find(session, subject, subject_id)
            return _survey(row) if row is not None else None

    def answered_since(self, since: datetime) -> Sequence[Survey]:
        with self._session() as session:
            rows = session.scalars(
                select(SurveyRow)
                .where(SurveyRow.answered_at >= since)
                .order_by(SurveyRow.answered_at, SurveyRow.id)
            ).all()
            return [_survey(row) for row in rows]

    def record_end(self, end: ConversationEnd) -> bool:
        try:
            with self._session() as session:
                session.add(
                    ConversationEndRow(
                        key=_identifier(end.key),
                        conversation_id=_identifier(end.conversation_id),
                        started_at=end.started_at,
                        ended_at=end.ended_at,
                        channel=end.channel[: ConversationEndRow.channel.type.length],
                        language=end.language[: ConversationEndRow.language.type.length],
                        filed_ticket=end.filed_ticket,
                    )
                )
        except IntegrityError:
            return False
        return True

    def ends_since(self, since: datetime) -> Sequence[ConversationEnd]:
        with self._session() as session:
            rows = session.scalars(
                select(ConversationEndRow)
                .where(ConversationEndRow.ended_at >= since)
                .order_by(ConversationEndRow.ended_at, ConversationEndRow.key)
            ).all()
            return [
                ConversationEnd(
                    key=row.key,
                    conversation_id=row.conversation_id,
                    started_at=row.started_at,
                    ended_at=row.ended_at,
                    channel=row.channel,
                    language=row.language,
                    filed_ticket=row.filed_ticket,
                )
                for row in rows
            ]

    @staticmethod
    def _asked(
        session: Session, subject: Subject, subject_id: str, conversation_id: str
    ) -> SurveyRow:
        """The request this conversation was asked; anyone else's is not theirs to answer."""
        row = _find(session, subject, subject_id)
        if row is None or row.conversation_id != _identifier(conversation_id):
            raise NotAsked(subject_id)
        return row


def _find(session: Session, subject: Subject, subject_id: str) -> SurveyRow | None:
    return session.scalars(
        select(SurveyRow).where(
            SurveyRow.subject == subject.value, SurveyRow.subject_id == _identifier(subject_id)
        )
    ).one_or_none()


def _updated(session: Session, row: SurveyRow, still: Any, **values: Any) -> bool:
    """Writes `values` if the row still meets `still`, in one statement: of two servers
    answering at once, one finds it."""
    statement = update(SurveyRow).where(SurveyRow.id == row.id, still).values(**values)
    return bool(session.execute(statement.execution_options(synchronize_session=False)).rowcount)


def _identifier(text: str) -> str:
    """Fitted to its column and still telling different values apart: one too long is kept
    as a digest of the whole."""
    text = clean_message(text)
    if len(text) <= IDENTIFIER_LENGTH:
        return text
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _survey(row: SurveyRow) -> Survey:
    return Survey(
        request=RatingRequest(
            subject=Subject(row.subject),
            subject_id=row.subject_id,
            conversation_id=row.conversation_id,
            channel=row.channel,
            language=row.language,
            category=Category(row.category) if row.category else None,
        ),
        asked_at=row.asked_at,
        score=row.score,
        comment=row.comment,
        answered_at=row.answered_at,
    )
