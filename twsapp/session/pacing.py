"""One limiter for every message this app writes to TWS, and the order-efficiency count.

TWS refuses more than 50 messages a second from a client (error 100) and drops the excess, so
a burst must be spread, not sent. Every frame ibapi writes goes through its Connection's
``sendMsg``; the session's connection (connection.py) hands it to a ``Pacer`` instead, which
queues it and returns at once. The ``tws-pacer`` thread writes the queue out, one frame every
``1 / rate`` seconds: evenly spaced, any one-second window at TWS holds at most ``rate + 1``
frames, whatever the network's jitter does to a burst's edges.

Two lanes. Frames go out in the order queued, except that a cancel goes ahead of whatever is
queued in the normal lane (new orders, modifies, requests) unless a frame about the same order
is still queued: a cancel must never overtake its own order's placeOrder or modify. New orders
stay in one FIFO lane, so ids still reach TWS in the order the send lock allotted them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

log = logging.getLogger("twsapp.session")

DEFAULT_RATE = 45.0  # [pacing] max_messages_per_second: below TWS's 50 for a margin
TWS_LIMIT = 50.0


@dataclass(frozen=True, slots=True)
class Tag:
    """What the frame being written is about: an order message names its order id."""

    kind: str  # "place", "modify", "cancel" or "" (any other request)
    order_id: int | None = None


_UNTAGGED = Tag("")
_NOT_TAGGED = contextlib.nullcontext()


class _Tagging:
    """``Pacer.tagged``'s block: a class, not a generator, which costs three times as much
    (every order message takes one)."""

    __slots__ = ("_local", "_tag")

    def __init__(self, local: threading.local, tag: Tag) -> None:
        self._local = local
        self._tag = tag

    def __enter__(self) -> None:
        self._local.tag = self._tag

    def __exit__(self, *exc: object) -> None:
        self._local.tag = _UNTAGGED


class Pacer:
    """A queue in front of the socket, drained at ``rate`` frames a second by its thread.

    ``write`` is the real socket write (ibapi's Connection.sendMsg). ``rate`` None writes at
    once on the caller's thread (no limit), as ibapi itself does.
    """

    def __init__(
        self, rate: float | None = DEFAULT_RATE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate is not None and not 0 < rate <= TWS_LIMIT:
            raise ValueError(f"max_messages_per_second: {rate} is not in (0, {TWS_LIMIT:g}]")
        self.rate = rate
        self._clock = clock
        self._cond = threading.Condition()
        self._cancels: deque[tuple[Tag, bytes, Callable[[bytes], Any]]] = deque()
        self._normal: deque[tuple[Tag, bytes, Callable[[bytes], Any]]] = deque()
        self._queued_orders: Counter[int] = Counter()  # order ids with a frame still queued
        self._local = threading.local()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._next_at = 0.0
        self._writing = False
        self.sent = 0

    def tagged(self, kind: str, order_id: int) -> contextlib.AbstractContextManager[None]:
        """Frames written by this thread inside the block concern ``order_id``. Unpaced, a
        frame is written at once and its tag never read: nothing to set."""
        if self.rate is None:
            return _NOT_TAGGED
        return _Tagging(self._local, Tag(kind, order_id))

    def send(self, frame: bytes, write: Callable[[bytes], Any]) -> None:
        """Queue one frame (or write it at once when unpaced); returns without waiting."""
        if self.rate is None:
            write(frame)
            return
        tag: Tag = getattr(self._local, "tag", _UNTAGGED)
        with self._cond:
            if self._closed:
                return  # the session is over: TWS would not read it
            item = (tag, frame, write)
            if tag.kind == "cancel" and not self._queued_orders[tag.order_id or 0]:
                self._cancels.append(item)
            else:
                self._normal.append(item)
            if tag.order_id is not None:
                self._queued_orders[tag.order_id] += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tws-pacer", daemon=True)
                self._thread.start()
            self._cond.notify()

    def backlog(self) -> float:
        """Seconds until what is queued now has been written (a waiter adds it to its wait)."""
        with self._cond:
            queued = len(self._cancels) + len(self._normal)
        return queued / self.rate if self.rate else 0.0

    def drain(self, timeout: float) -> bool:
        """Wait until everything queued has been written (a stop keeps what place() took)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._closed or not (self._cancels or self._normal or self._writing),
                timeout,
            )

    def discard(self) -> int:
        """Drop what is queued and go on: the socket it was meant for is gone (a reconnect
        follows); returns how many frames were dropped."""
        with self._cond:
            dropped = len(self._cancels) + len(self._normal)
            self._cancels.clear()
            self._normal.clear()
            self._queued_orders.clear()
            self._cond.notify_all()
        return dropped

    def close(self, timeout: float = 5.0) -> None:
        """Drop what is queued and end the thread (the socket is closing)."""
        with self._cond:
            self._closed = True
            self._cancels.clear()
            self._normal.clear()
            self._queued_orders.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def _run(self) -> None:
        assert self.rate is not None
        interval = 1.0 / self.rate
        while True:
            with self._cond:
                while not self._closed and not (self._cancels or self._normal):
                    self._cond.wait()
                if self._closed:
                    return
                wait = self._next_at - self._clock()
                if wait > 0:
                    self._cond.wait(wait)  # a cancel queued meanwhile still goes first
                    continue
                tag, frame, write = (self._cancels or self._normal).popleft()
                if tag.order_id is not None:
                    self._queued_orders[tag.order_id] -= 1
                    if self._queued_orders[tag.order_id] <= 0:
                        del self._queued_orders[tag.order_id]
                self._next_at = self._clock() + interval
                self._writing = True
            try:
                write(frame)  # outside the lock: a frozen TWS blocks only this thread
            except OSError as exc:  # the socket is closing: the close is reported on its own
                log.info("writing to TWS failed (%s): %s", type(exc).__name__, exc)
            with self._cond:
                self._writing = False
                self.sent += 1
                self._cond.notify_all()


class Efficiency:
    """IB's order-efficiency ratio, per day: (submits + modifies + cancels) / (fills + 1)."""

    KINDS = ("submits", "modifies", "cancels", "fills")

    def __init__(self, today: Callable[[], date]) -> None:
        self._today = today
        self._lock = threading.Lock()
        self._days: dict[date, Counter[str]] = {}

    def count(self, kind: str, n: int = 1) -> None:
        day = self._today()
        with self._lock:
            counts = self._days.get(day)
            if counts is None:  # not setdefault: it would build a Counter on every count
                counts = self._days[day] = Counter()
            counts[kind] += n

    def summary(self) -> list[dict[str, Any]]:
        """One entry per day, oldest first, with the ratio rounded to 4 places."""
        with self._lock:
            days = sorted(self._days.items())
        out = []
        for day, counts in days:
            row: dict[str, Any] = {"day": day.isoformat()}
            row.update({k: counts[k] for k in self.KINDS})
            actions = counts["submits"] + counts["modifies"] + counts["cancels"]
            row["ratio"] = round(actions / (counts["fills"] + 1), 4)
            out.append(row)
        return out
