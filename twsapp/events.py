"""The one event bus, and the events that are not the book's: connection news and notices.

Every event (the book's, the connection's, a notice) goes through one `EventBus`, which
delivers them to subscribers in the order they were posted, one thread at a time. Producers
post from whichever thread saw the change (ibapi's api thread for callbacks, a caller of
``place`` for PendingSubmit); whoever finds nobody delivering delivers everything queued, so a
subscriber may run on any of those threads, and must return quickly and never block (hand work
to a thread of your own, as the strategy runner does).

The book posts while it still holds its lock (book/lock.py): the bus's order is the book's
order. Nothing here knows about sockets or ibapi.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import ErrorKind

log = logging.getLogger("twsapp.events")


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something happened; `time` is when twsapp saw it (UTC)."""

    time: datetime

    def describe(self) -> str:
        return type(self).__name__


# ---------------------------------------------------------------------- connection


@dataclass(frozen=True, kw_only=True)
class ConnectionEvent(Event):
    """The link to TWS, or TWS's own link to IB, changed."""

    code: int | None = None
    text: str = ""

    def describe(self) -> str:
        code = f" {self.code}" if self.code is not None else ""
        return f"{type(self).__name__}{code}: {self.text}".rstrip(": ")


@dataclass(frozen=True, kw_only=True)
class Connected(ConnectionEvent):
    """The API session is ready (nextValidId and managedAccounts arrived)."""

    host: str
    port: int
    client_id: int


@dataclass(frozen=True, kw_only=True)
class Disconnected(ConnectionEvent):
    """The socket to TWS closed; `requested` when this app asked for it (stop);
    `reconnecting` when the app is about to reconnect ([tws] reconnect)."""

    requested: bool = False
    reconnecting: bool = False


@dataclass(frozen=True, kw_only=True)
class Reconnecting(ConnectionEvent):
    """The next attempt to reconnect, ``delay`` seconds from now (attempt 1, 2 ...)."""

    attempt: int
    delay: float


@dataclass(frozen=True, kw_only=True)
class Resynced(ConnectionEvent):
    """The book was brought back in line with TWS (at start, after a reconnect, a freeze or a
    restored link); ``corrections``: how many orders it changed, ``resolved``: how many of
    this app's requests TWS never received (rejected, not sent again). Orders are accepted
    again from this event on."""

    reason: str
    corrections: int = 0
    resolved: int = 0


@dataclass(frozen=True, kw_only=True)
class TwsLinkLost(ConnectionEvent):
    """TWS lost its connection to IB (1100): orders cannot reach the exchange meanwhile."""


@dataclass(frozen=True, kw_only=True)
class TwsLinkRestored(ConnectionEvent):
    """TWS is connected to IB again: 1101 (market data was lost: resubscribe) or 1102."""

    data_lost: bool = False


@dataclass(frozen=True, kw_only=True)
class FarmStatus(ConnectionEvent):
    """A data farm connected or disconnected (2103 .. 2158): `ok` tells which."""

    ok: bool


# ---------------------------------------------------------------------- notices


@dataclass(frozen=True, kw_only=True)
class Notice(Event):
    """A TWS message that no request, subscription or order owns (or that concerns the link)."""

    code: int
    kind: ErrorKind
    text: str
    req_id: int = -1
    advanced: str = ""
    error_time: int = 0  # TWS's own timestamp (ms), 0 before server version 194

    def describe(self) -> str:
        about = f" (id {self.req_id})" if self.req_id not in (-1, 0) else ""
        return f"TWS {self.code} {self.kind}{about}: {self.text}"


# ---------------------------------------------------------------------- the bus

Subscriber = Callable[[Any], Any]


class EventBus:
    """Ordered delivery of every event to its subscribers; see the module docstring."""

    def __init__(self) -> None:
        self._subscribers: tuple[tuple[Subscriber, tuple[type, ...]], ...] = ()
        self._outbox: list[Event] = []
        self._lock = threading.Lock()  # guards the outbox and `_delivering`; never held long
        self._delivering = False
        self._held = threading.local()  # per thread: delivery deferred while > 0
        self._wanted: dict[type, bool] = {}  # wants() per event kind, until (un)subscribe
        self._holder = _Held(self)  # held()'s context: one for the bus, its depth per thread

    def subscribe(self, callback: Subscriber, *kinds: type) -> Callable[[], None]:
        """Call ``callback(event)`` for each event of ``kinds`` (all when none); returns an
        unsubscribe function. A subscriber's exception is logged and reaches nobody else."""
        entry = (callback, kinds or (Event,))
        with self._lock:
            self._subscribers = (*self._subscribers, entry)
            self._wanted = {}

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not entry)
                self._wanted = {}

        return unsubscribe

    def wants(self, kind: type) -> bool:
        """Does any subscriber take events of `kind`? Producers ask before building an event
        (the book's carry a copy of the record): one nobody takes is never made. Cached per
        kind until the subscribers change, as it is asked for every change of every order."""
        wanted = self._wanted
        answer = wanted.get(kind)
        if answer is None:
            answer = any(issubclass(kind, kinds) for _, kinds in self._subscribers)
            wanted[kind] = answer
        return answer

    def post(self, events: list[Event]) -> None:
        """Queue events in this order, without delivering: for a producer holding its own lock
        (the book), so that the queue's order is its order. Call `deliver` after releasing."""
        if events:
            with self._lock:
                self._outbox += events

    def publish(self, event: Event) -> None:
        """Queue one event and deliver it (with whatever else is queued)."""
        self.post([event])
        self.deliver()

    def held(self) -> _Held:
        """This thread delivers nothing until the block ends, then everything queued: a sender
        posts its events (PendingSubmit) and puts its message on the socket first, so that no
        subscriber runs between the two."""
        return self._holder

    def deliver(self) -> None:
        """Deliver everything queued, unless another thread is at it (it delivers ours too),
        or this thread holds delivery back (``held``)."""
        if getattr(self._held, "depth", 0):
            return
        lock = self._lock
        with lock:
            if self._delivering or not self._outbox:
                return
            self._delivering = True
            batch, self._outbox = self._outbox, []
            subscribers = self._subscribers
        try:
            while True:
                for event in batch:
                    for callback, kinds in subscribers:
                        if isinstance(event, kinds):
                            try:
                                callback(event)
                            except Exception:  # a subscriber's bug must not break a producer
                                log.exception("subscriber %r failed on %s", callback, event)
                with lock:
                    batch, self._outbox = self._outbox, []
                    subscribers = self._subscribers
                    if not batch:
                        self._delivering = False
                        return
        except BaseException:
            with self._lock:
                self._delivering = False
            raise


class _Held:
    """``EventBus.held()``: a plain context manager, as it runs on every order sent."""

    __slots__ = ("_bus",)

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    def __enter__(self) -> None:
        local = self._bus._held
        local.depth = getattr(local, "depth", 0) + 1

    def __exit__(self, *exc: object) -> None:
        local = self._bus._held
        local.depth -= 1
        if not local.depth:
            self._bus.deliver()
