"""The event bus: timers, device actions, sensors and the daemon itself publish; socket clients
that called ``events.subscribe`` receive ``event`` notifications.

Topics are dotted names ("timer", "action", "system.overload", "wake"); subscribing to a topic
also receives its sub-topics, and "*" receives everything. Each subscriber has a bounded queue:
one that does not read cannot grow the daemon's memory — its oldest events are dropped and the
count is reported in the next event it gets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

log = logging.getLogger("tars_edge.events")
QUEUE_SIZE = 256


def topic_matches(subscribed: str, topic: str) -> bool:
    return subscribed == "*" or topic == subscribed or topic.startswith(subscribed + ".")


@dataclass(eq=False)
class Subscription:
    deliver: Callable[[dict], None]  # called on the event loop with the event object
    topics: set[str] = field(default_factory=set)
    dropped: int = 0

    def wants(self, topic: str) -> bool:
        return any(topic_matches(t, topic) for t in self.topics)


class EventBus:
    """Publish from the event loop with :meth:`publish`, from any thread with
    :meth:`publish_threadsafe`."""

    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.published = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self, deliver: Callable[[dict], None], topics: Iterable[str]) -> Subscription:
        sub = Subscription(deliver, set(topics))
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, topic: str, data: dict) -> dict:
        event = {"topic": topic, "time": round(time.time(), 3), "data": data}
        self.published += 1
        for sub in list(self._subs):
            if sub.wants(topic):
                try:
                    sub.deliver(event)
                except Exception:  # a broken subscriber must not stop the others
                    log.exception("event delivery failed topic=%s", topic)
        return event

    def publish_threadsafe(self, topic: str, data: dict) -> None:
        if self._loop is None or self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self.publish, topic, data)
