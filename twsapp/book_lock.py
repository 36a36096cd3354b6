"""The book's lock, which also delivers the book's events, in order, once it is released.

One reentrant lock guards the book (the app holds it around "allocate id, register,
placeOrder", callbacks around each update). Events produced under it are queued, and handed to
the subscribers only after the outermost holder released it: a subscriber can read the book or
take the lock from any thread without dead-locking, and a slow subscriber never runs with the
book locked.

Delivery is in the order the events happened, even when two threads release the lock at nearly
the same moment (the app after placing, the api thread after a callback): one thread at a time
delivers, and a thread that finds another one delivering leaves its events to it. So events are
delivered on a thread that released the lock, not always the one that produced them, and
possibly a little after its release returned. See OrderBook.subscribe for what that means for a
subscriber.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from .records import BookEvent

log = logging.getLogger("twsapp.book")

Subscriber = Callable[[BookEvent], Any]


class BookLock:
    """The book's reentrant lock; delivers queued events when the outermost holder leaves."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._queue: list[BookEvent] = []  # produced by the current holder
        self._subscribers: tuple[Subscriber, ...] = ()
        self._outbox: list[tuple[BookEvent, tuple[Subscriber, ...]]] = []  # released, undelivered
        self._out_lock = threading.Lock()  # guards _outbox and _delivering; never held long
        self._delivering = False

    def acquire(self) -> None:
        self._lock.acquire()
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        outermost = self._depth == 0
        if outermost and self._queue:
            events, self._queue = self._queue, []
            subscribers = self._subscribers
            with self._out_lock:  # still under the book lock: the outbox keeps the book's order
                self._outbox += [(event, subscribers) for event in events]
        self._lock.release()
        if outermost:
            self._deliver()

    def __enter__(self) -> BookLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def emit(self, events: list[BookEvent]) -> list[BookEvent]:
        """Queue events for delivery at the outermost release; call with the lock held."""
        self._queue.extend(events)
        return events

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        with self:
            self._subscribers = (*self._subscribers, callback)

        def unsubscribe() -> None:
            with self:
                self._subscribers = tuple(s for s in self._subscribers if s is not callback)

        return unsubscribe

    def _deliver(self) -> None:
        """Deliver the outbox, unless another thread is at it (it will deliver ours too)."""
        with self._out_lock:
            if self._delivering:
                return
            self._delivering = True
        try:
            while True:
                with self._out_lock:
                    batch, self._outbox = self._outbox, []
                    if not batch:
                        self._delivering = False
                        return
                for event, subscribers in batch:
                    for callback in subscribers:
                        try:
                            callback(event)
                        except Exception:  # a subscriber's bug must not break the api thread
                            log.exception("book subscriber %r failed on %s", callback, event)
        except BaseException:
            with self._out_lock:
                self._delivering = False
            raise
