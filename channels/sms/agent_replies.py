"""Agents' replies to tickets filed by SMS (the customer wrote to the service number, the
assistant filed the complaint), sent from the reply outbox to the line by SMS.

The hall polls the outbox as it polls the service number: the agent console is another
process, and the database is all they share. A reply goes to the ticket's line only when the
reply's conversation is that line's SMS conversation (the HMAC of the number under the
conversation key): a reply can reach no other number. Each part is sent under a reference of
its own, which the gateway takes once: a hall stopped between sending a reply and recording it
delivered sends it again without the customer getting it twice.
"""

from __future__ import annotations

import logging

from channels.sms.conversations import line_conversation
from channels.sms.parts import sms_parts
from telecom_assistant.sms.gateway import Purpose, SmsGateway
from telecom_assistant.tickets.model import UnknownTicket
from telecom_assistant.tickets.replies import SMS, AgentReply, ReplyOutbox
from telecom_assistant.tickets.service import TicketService

logger = logging.getLogger(__name__)


class SmsReplySender:
    def __init__(
        self,
        outbox: ReplyOutbox,
        tickets: TicketService,
        gateway: SmsGateway,
        conversation_key: str,
    ) -> None:
        self._outbox = outbox
        self._tickets = tickets
        self._gateway = gateway
        self._conversation_key = conversation_key

    def send_pending(self) -> int:
        """Sends the replies waiting for SMS; how many went out."""
        sent = 0
        for reply in self._outbox.pending(SMS):
            msisdn = self._line_of(reply)
            if msisdn is None:
                logger.warning("Reply %s names no SMS line of its ticket: not sent", reply.id)
                self._outbox.mark_failed(reply.id, "the conversation is no line's SMS")
                continue
            for number, part in enumerate(sms_parts(reply.for_customer())):
                self._gateway.send(
                    msisdn, part, Purpose.REPLY, reference=f"reply:{reply.id}:{number}"
                )
            self._outbox.mark_delivered([reply.id], reply.conversation_id)
            sent += 1
        return sent

    def _line_of(self, reply: AgentReply) -> str | None:
        if reply.ticket_id is None:
            return None
        try:
            msisdn = self._tickets.get(reply.ticket_id).msisdn
        except UnknownTicket:
            return None
        if msisdn is None:
            return None
        own = line_conversation(msisdn, self._conversation_key)
        return msisdn if own == reply.conversation_id else None
