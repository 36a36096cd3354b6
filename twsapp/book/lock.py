"""The book's lock, which hands the book's events to the bus, in order, once it is released.

One reentrant lock guards the book; callbacks take it around each update, the order API only
while it records a request (never across a socket write: see session/app.py). Events produced
under it are queued, posted to the bus by the outermost holder while it still holds the lock
(so the bus's order is the book's), and delivered after the release: a subscriber can read the
book or take the lock from any thread without dead-locking, and never runs with the book locked.
"""

from __future__ import annotations

import threading

from ..events import Event, EventBus


class BookLock:
    """The book's reentrant lock; posts queued events when the outermost holder leaves."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self._lock = threading.RLock()
        self._depth = 0
        self._queue: list[Event] = []  # produced by the current holder

    def __enter__(self) -> BookLock:
        self._lock.acquire()
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth or not self._queue:
            self._lock.release()  # nothing queued: whoever queued events delivers them
            return
        events, self._queue = self._queue, []
        self.bus.post(events)
        self._lock.release()
        self.bus.deliver()

    def emit(self, events: list) -> list:
        """Queue events for the outermost release; call with the lock held."""
        self._queue.extend(events)
        return events
