"""Rasa's Redis lock store, made safe for several Rasa servers taking the same conversation.

Rasa queues a conversation's messages behind a ticket lock kept in Redis. Rasa 3.6 changes that
queue by reading it, changing it in Python and writing it back: two servers that receive
messages of one conversation at the same moment can both draw the same ticket and run their
turns at once, and one server's clean-up can delete a ticket another server has just drawn
(its turn then fails with a LockError). Here every change of a queue is one Redis transaction
(WATCH, then MULTI/EXEC), done again when another server changed the queue in between.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from telecom_assistant.settings import Settings

T = TypeVar("T")
REDIS_PORT = 6379


class AtomicRedisLockStore(RedisLockStore):
    """`lock_store: type: rasa_plugins.lock_store.AtomicRedisLockStore` in an endpoints file.
    Its Redis and key prefix are the settings' (REDIS_URL, TELECOM_LOCK_KEY_PREFIX), read when
    Rasa builds it, unless the endpoints file gives a `url` (a whole Redis URL,
    `redis://[:password@]host[:port][/db]`, `rediss://` for TLS) or a `key_prefix`."""

    def __init__(self, endpoint_config: EndpointConfig, settings: Settings | None = None) -> None:
        production = (settings or Settings.from_environment()).production
        url = urlsplit(endpoint_config.url or production.redis_url)
        super().__init__(
            host=url.hostname or "localhost",
            port=url.port or REDIS_PORT,
            db=int(url.path.strip("/") or 0),
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            use_ssl=url.scheme == "rediss",
            key_prefix=endpoint_config.kwargs.get("key_prefix") or production.lock_key_prefix,
        )

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            ticket = self._change_queue(
                conversation_id, lambda lock: lock.issue_ticket(lock_lifetime), create=True
            )
        except Exception as error:
            # Rasa expects a LockError, whatever failed.
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        assert ticket is not None  # create=True: the queue is made if missing
        return ticket

    def update_lock(self, conversation_id: str) -> None:
        self._change_queue(conversation_id, TicketLock.remove_expired_tickets)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._change_queue(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # One step, not Rasa's two (finish, then delete the lock if nobody waits): a ticket
        # drawn by another server in between would be deleted with the lock.
        self._change_queue(
            conversation_id,
            lambda lock: lock.remove_ticket_for(ticket_number),
            delete_when_empty=True,
        )

    def _change_queue(
        self,
        conversation_id: str,
        change: Callable[[TicketLock], T],
        create: bool = False,
        delete_when_empty: bool = False,
    ) -> T | None:
        """Apply `change` to the conversation's stored lock atomically and return its result;
        None, and nothing stored, when there is no lock and `create` is false."""
        key = self.key_prefix + conversation_id

        def read_change_write(transaction) -> T | None:
            stored = transaction.get(key)
            if stored is None and not create:
                return None
            lock = (
                TicketLock.from_dict(json.loads(stored))
                if stored is not None
                else self.create_lock(conversation_id)
            )
            result = change(lock)
            transaction.multi()
            if delete_when_empty and not lock.is_someone_waiting():
                transaction.delete(key)
            else:
                transaction.set(key, lock.dumps())
            return result

        return self.red.transaction(read_change_write, key, value_from_callable=True)


def delete_locks(redis_url: str, key_prefix: str) -> None:
    """Remove every lock kept under `key_prefix` (the tests' and the benchmark's own prefixes,
    when they are done)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(f"{key_prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
