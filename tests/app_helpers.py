"""Helpers for the app's integration tests: waiting on the book, barriers, what reached the sim.

Nothing here sleeps for time to pass: waits wake on book events and re-check a condition, and
`barrier` is a reqCurrentTime round trip (TWS, and the simulator, answer requests in order, so
once its answer is decoded every earlier message has been handled on both sides).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal

from twsapp.book import BookEvent
from twsapp.session import TwsApp
from twsapp.sim import messages as m
from twsapp.sim.server import SimServer, SimSettings

WAIT = 15.0  # generous: a failing wait costs this much, a passing one returns at once
AAPL = 265598


class Events:
    """Every book event, and a way to wait until a condition on the book holds."""

    def __init__(self, app: TwsApp) -> None:
        self.app = app
        self.seen: list[BookEvent] = []
        self._cond = threading.Condition()
        self._unsubscribe = app.book.subscribe(self._on_event)

    def _on_event(self, event: BookEvent) -> None:
        with self._cond:
            self.seen.append(event)
            self._cond.notify_all()

    def wait(self, condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
                # Woken by every book event; the short cap covers changes without one.
                self._cond.wait(min(left, 0.05))

    def of(self, order_id: int, kind: type | None = None) -> list[BookEvent]:
        with self._cond:
            return [
                e
                for e in self.seen
                if e.order_id == order_id and (kind is None or isinstance(e, kind))
            ]

    def status(self, order_id: int, status: str, timeout: float = WAIT) -> None:
        book = self.app.book

        def reached() -> bool:
            rec = book.get(order_id)
            return rec is not None and rec.status == status

        self.wait(reached, f"order {order_id} to be {status}", timeout)

    def close(self) -> None:
        self._unsubscribe()


def barrier(app: TwsApp) -> None:
    """Return once everything sent before has been handled by the simulator and the app."""
    app.current_time()


def order_requests(sim: SimServer, client_id: int) -> list[m.Request]:
    """The placeOrder / cancelOrder / reqGlobalCancel requests that reached the simulator."""
    kinds = (m.PlaceOrder, m.CancelOrder, m.ReqGlobalCancel)
    return [r for r in sim.received(client_id) if isinstance(r, kinds)]


def placed_ids(sim: SimServer, client_id: int) -> list[int]:
    return [r.order_id for r in sim.received(client_id) if isinstance(r, m.PlaceOrder)]


def quote(sim: SimServer, con_id: int = AAPL):
    """The simulator's current quote (bid / ask / last) for a contract."""
    return sim.exchange.prices.quote(con_id, float(sim.exchange.step))


def dec(value: object) -> Decimal:
    return Decimal(str(value))


def open_session(version: int, client_id: int = 1, book=None, **settings) -> tuple:
    """A simulator and an app connected to it, for module-scoped fixtures (close_session)."""
    sim = SimServer(SimSettings(port=0, speed=0.0, server_version=version, **settings)).start()
    try:
        app = TwsApp(book, request_timeout=WAIT).start("127.0.0.1", sim.port, client_id, WAIT)
    except BaseException:
        sim.stop()
        raise
    return sim, app


def close_session(sim: SimServer, app: TwsApp) -> None:
    app.stop()
    sim.stop()
