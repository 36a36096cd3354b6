"""Order ids: seeded by nextValidId, bumped past every id seen, never reused within a run.

TWS requires each new order id of a clientId to be greater than every id that clientId used
before (else error 103, duplicate order id), and it remembers them across sessions. So a
high-water mark is both sufficient and exact: ``next()`` hands out the mark and raises it;
``seed``/``observe``/``resync`` only ever raise it. A set of used ids would add memory and
still allow handing out a gap below the mark, which TWS refuses anyway.

Thread-safe: ``next()`` is called by whichever thread places an order, ``seed``/``observe``
by the thread running the callbacks (tws-reader or tws-api, one at a time).
"""

from __future__ import annotations

import threading

from ibapi.const import UNSET_INTEGER

from ..exceptions import IdsExhausted, NotReadyError

__all__ = ["MAX_ORDER_ID", "IdsExhausted", "NotReadyError", "OrderIdAllocator"]

MAX_ORDER_ID = UNSET_INTEGER - 1  # order ids are Java ints; INT_MAX itself means "unset"


class OrderIdAllocator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready_cond = threading.Condition(self._lock)
        self._next = 0  # lowest id that may still be handed out
        self._ready = False
        self._why_not = "nextValidId has not arrived yet"
        self.resyncs = 0

    def seed(self, next_valid_id: int) -> None:
        """Take a nextValidId (on connect, or the answer to reqIds); never moves backwards."""
        with self._lock:
            self._raise_to(next_valid_id)
            self._ready = True
            self._ready_cond.notify_all()

    def resync(self, next_valid_id: int) -> None:
        """Take the nextValidId that answers ``reqIds(-1)`` sent after error 103."""
        with self._lock:
            self._raise_to(next_valid_id)
            self._ready = True
            self.resyncs += 1
            self._ready_cond.notify_all()

    def invalidate(self, why: str) -> None:
        """Refuse ``next()`` until the next seed/resync: after error 103 or a disconnect.

        Handing out ids between a 103 and the reqIds answer could collide again; after a
        disconnect another session may have used ids meanwhile.
        """
        with self._lock:
            self._ready = False
            self._why_not = why

    def observe(self, order_id: int) -> bool:
        """Bump past an id seen in a callback (openOrder, orderStatus, execDetails, error).

        Ids <= 0 (orders placed in TWS itself) and the unset marker are ignored. Ids of other
        clients (a master client sees them) only push the mark up, which is harmless. Returns
        whether the mark moved.
        """
        if not 0 < order_id <= MAX_ORDER_ID or order_id < self._next:
            return False  # the mark only rises: an id below it cannot move it, lock or not
        with self._lock:
            return self._raise_to(order_id + 1)

    def wait_ready(self, timeout: float) -> bool:
        """Wait until an id can be handed out (after connect, or the resync after a 103).

        Placing right after a 103 should wait for the reqIds answer rather than fail: the
        window is one round trip.
        """
        with self._ready_cond:
            return self._ready_cond.wait_for(lambda: self._ready, timeout)

    def next(self) -> int:
        """A fresh id, greater than every id handed out or seen so far."""
        with self._lock:
            if not self._ready:
                raise NotReadyError(f"no order id available: {self._why_not}")
            if self._next > MAX_ORDER_ID:
                raise IdsExhausted("order ids exhausted for this clientId; use another client_id")
            order_id = self._next
            self._next += 1
            return order_id

    def next_held(self) -> int:
        """A fresh id while TWS is unreachable, for an order held until the resync
        ([tws] while_disconnected = "queue"): above every id handed out or seen, which is all
        TWS asks of a new order's id; ``seed`` after the reconnect never moves below it."""
        with self._lock:
            if self._next > MAX_ORDER_ID:
                raise IdsExhausted("order ids exhausted for this clientId; use another client_id")
            order_id = max(self._next, 1)
            self._next = order_id + 1
            return order_id

    def peek(self) -> int | None:
        """The id ``next()`` would return, or None when not ready."""
        with self._lock:
            return self._next if self._ready else None

    @property
    def ready(self) -> bool:
        with self._lock:
            return self._ready

    def _raise_to(self, value: int) -> bool:
        if value > self._next:
            self._next = value
            return True
        return False
