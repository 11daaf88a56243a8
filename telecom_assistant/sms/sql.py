"""The demo SMS gateway: its log table (accounts area, `sms_outbox`) is the gateway."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement

from telecom_assistant.accounts.tables import SmsOutboxRow
from telecom_assistant.database import SessionPerCall
from telecom_assistant.sms.gateway import (
    CLAIM_EXPIRES,
    SMS_MAX_LENGTH,
    Direction,
    Purpose,
    Sms,
    SmsGateway,
)


class SqlSmsGateway(SessionPerCall, SmsGateway):
    def send(self, msisdn: str, body: str, purpose: Purpose, reference: str | None = None) -> int:
        try:
            return self._add(msisdn, body, Direction.OUT, purpose, reference)
        except IntegrityError:
            # Only a reference can clash: the message was sent before.
            with self._session() as session:
                return int(
                    session.scalar(
                        select(SmsOutboxRow.id).where(SmsOutboxRow.reference == reference)
                    )
                )

    def receive(self, msisdn: str, body: str) -> int:
        return self._add(msisdn, body, Direction.IN, Purpose.CUSTOMER)

    def _add(
        self,
        msisdn: str,
        body: str,
        direction: Direction,
        purpose: Purpose,
        reference: str | None = None,
    ) -> int:
        with self._session() as session:
            row = SmsOutboxRow(
                msisdn=msisdn,
                body=body[:SMS_MAX_LENGTH],
                sent_at=self._now(),
                direction=direction.value,
                purpose=purpose.value,
                reference=reference,
            )
            session.add(row)
            session.flush()
            return int(row.id)

    def waiting(self, limit: int = 50) -> Sequence[Sms]:
        with self._session() as session:
            rows = session.scalars(
                select(SmsOutboxRow)
                .where(SmsOutboxRow.direction == Direction.IN.value, self._nobody_answering())
                .order_by(SmsOutboxRow.id)
                .limit(limit)
            ).all()
            return [_sms(row) for row in rows]

    def mark_handled(self, sms_id: int) -> bool:
        with self._session() as session:
            result = session.execute(
                update(SmsOutboxRow)
                .where(SmsOutboxRow.id == sms_id, self._nobody_answering())
                .values(handled_at=self._now())
            )
            return result.rowcount == 1

    def mark_answered(self, sms_id: int) -> None:
        with self._session() as session:
            session.execute(
                update(SmsOutboxRow)
                .where(SmsOutboxRow.id == sms_id)
                .values(answered_at=self._now())
            )

    def _nobody_answering(self) -> ColumnElement[bool]:
        return and_(
            SmsOutboxRow.answered_at.is_(None),
            or_(
                SmsOutboxRow.handled_at.is_(None),
                SmsOutboxRow.handled_at < self._now() - CLAIM_EXPIRES,
            ),
        )

    def messages(self, msisdn: str, after_id: int = 0, limit: int = 100) -> Sequence[Sms]:
        with self._session() as session:
            rows = session.scalars(
                select(SmsOutboxRow)
                .where(SmsOutboxRow.msisdn == msisdn, SmsOutboxRow.id > after_id)
                .order_by(SmsOutboxRow.id)
                .limit(limit)
            ).all()
            return [_sms(row) for row in rows]


def _sms(row: SmsOutboxRow) -> Sms:
    return Sms(
        id=row.id,
        msisdn=row.msisdn,
        body=row.body,
        at=row.sent_at,
        direction=Direction(row.direction),
        purpose=Purpose(row.purpose),
    )
