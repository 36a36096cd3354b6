"""What a strategy may touch, and the record of which orders are its own."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..book.events import BookEvent
from ..exceptions import OrderRefused

if TYPE_CHECKING:
    from ibapi.order import Order

    from ..book import OrderBook, OrderRecord
    from ..session import TwsApp


class Context:
    """What a strategy may touch: the order API, the book, its own logger.

    Orders placed here are the strategy's own: each carries the strategy's name in its
    ``orderRef`` (``name``, or ``name/<yours>`` when the order had one), the strategy receives
    their events (known by that ref from the first one on, whichever thread placed the order),
    and the shutdown waits for TWS's answer to them. Once the run closes the context (after
    ``on_stop``), every call is refused.
    """

    def __init__(self, app: TwsApp, log: logging.Logger, name: str = "") -> None:
        self.app = app
        self.log = log
        self.name = name or log.name
        self._owned: set[tuple[int, int]] = set()
        self._cond = threading.Condition()
        self._busy = 0
        self._closed = False

    @property
    def book(self) -> OrderBook:
        return self.app.book

    def place(self, contract: Any, order: Order) -> OrderRecord:
        order = copy.copy(order)
        order.orderRef = self.order_ref(order.orderRef or "")
        with self._sending():
            record = self.app.place(contract, order)
            with self._cond:
                self._owned.add(record.key)
            return record

    def modify(self, order_id: int, **changes: Any) -> OrderRecord:
        with self._sending():
            return self.app.modify(order_id, **changes)

    def cancel(self, order_id: int) -> OrderRecord:
        with self._sending():
            return self.app.cancel(order_id)

    def lookup(self, symbol: str, **kwargs: Any) -> Any:
        with self._sending():
            return self.app.contracts.lookup(symbol, **kwargs)

    def order_ref(self, ref: str) -> str:
        """The orderRef of an order this strategy sends: its name first."""
        if ref == self.name or ref.startswith(self.name + "/"):
            return ref
        return f"{self.name}/{ref}" if ref else self.name

    def owns(self, event: BookEvent) -> bool:
        """Is the event's order this strategy's (placed through this context, or carrying its
        name in orderRef, as its orders from an earlier run do)?"""
        rec = event.record
        ref = rec.order.orderRef if rec.order is not None else ""
        if ref and self.order_ref(ref) == ref:
            return True
        with self._cond:
            return rec.key in self._owned

    def owned(self) -> set[tuple[int, int]]:
        """(client id, order id) of every order placed through this context."""
        with self._cond:
            return set(self._owned)

    def close(self, timeout: float) -> bool:
        """Refuse every call from now on; wait for calls in progress. False if one still is."""
        with self._cond:
            self._closed = True
            return self._cond.wait_for(lambda: self._busy == 0, timeout)

    @contextmanager
    def _sending(self) -> Iterator[None]:
        with self._cond:
            if self._closed:
                raise OrderRefused(f"strategy {self.name} is stopped: it can send nothing more")
            self._busy += 1
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()
