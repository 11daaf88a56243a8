"""The production profile's Redis lock store: several Rasa servers taking messages of the same
conversation at the same moment still run that conversation's turns one at a time, in the
order their tickets were drawn, and none fails for want of a lock."""

from __future__ import annotations

import asyncio
import threading
import time

from rasa.core.lock_store import LockError
from rasa.utils.endpoints import EndpointConfig

from rasa_plugins.lock_store import AtomicRedisLockStore
from tests.conftest import TEST_REDIS_URL

SERVERS, TURNS_EACH = 3, 30


def lock_store(key_prefix: str) -> AtomicRedisLockStore:
    """As Rasa builds it from endpoints.production.yml's `lock_store` section."""
    return AtomicRedisLockStore(EndpointConfig(url=TEST_REDIS_URL, key_prefix=key_prefix))


def test_servers_racing_for_one_conversation_take_turns(redis_key_prefix):
    """Rasa 3.6's own RedisLockStore, raced by two servers like this, let two turns run at
    once, failed turns with LockError, and stalled on lost tickets until they expired (60 s)."""
    holders, overlaps, failures = [0], [0], [0]
    count = threading.Lock()

    def server() -> None:
        # A store, a Redis connection pool and an event loop of its own, like a Rasa server.
        store = lock_store(redis_key_prefix)

        async def turns() -> None:
            for _ in range(TURNS_EACH):
                try:
                    async with store.lock("one-conversation", wait_time_in_seconds=0.005):
                        with count:
                            holders[0] += 1
                            overlaps[0] += holders[0] > 1
                        await asyncio.sleep(0.002)
                        with count:
                            holders[0] -= 1
                except LockError:
                    failures[0] += 1

        asyncio.run(turns())

    started = time.monotonic()
    servers = [threading.Thread(target=server) for _ in range(SERVERS)]
    for thread in servers:
        thread.start()
    for thread in servers:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in servers), "a server waited for a lost ticket"
    assert (overlaps[0], failures[0]) == (0, 0)
    assert time.monotonic() - started < 20
    # The last turn deleted the conversation's lock.
    assert lock_store(redis_key_prefix).get_lock("one-conversation") is None


def test_tickets_are_drawn_in_order_and_a_finished_one_leaves_the_others(redis_key_prefix):
    store = lock_store(redis_key_prefix)
    first, second, third = (store.issue_ticket("queue") for _ in range(3))
    assert (first, second, third) == (0, 1, 2)
    store.cleanup("queue", first)
    lock = store.get_lock("queue")
    assert [ticket.number for ticket in lock.tickets] == [second, third]
    assert not lock.is_locked(second) and lock.is_locked(third)
    store.cleanup("queue", second)
    store.cleanup("queue", third)
    assert store.get_lock("queue") is None


def test_a_whole_redis_url_is_understood():
    store = AtomicRedisLockStore(
        EndpointConfig(url="rediss://:s%40cret@redis.example:6380/3", key_prefix="telecom")
    )
    connection = store.red.connection_pool.connection_kwargs
    assert (connection["host"], connection["port"], connection["db"]) == ("redis.example", 6380, 3)
    assert connection["password"] == "s@cret" and store.key_prefix == "telecom:lock:"
    assert store.red.connection_pool.connection_class.__name__ == "SSLConnection"
