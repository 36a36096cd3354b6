"""Strategy base class, its context, the loader, and the thread that isolates each strategy.

A strategy runs on its own thread fed by a queue of book events, so a slow or crashing strategy
never stalls the socket: an exception is logged with its traceback and that strategy stops.
"""

from __future__ import annotations

import importlib
import logging
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ibapi.order import Order

    from .book import OrderBook, OrderRecord
    from .session import TwsApp

_STOP = object()


@dataclass
class Context:
    """What a strategy may touch: the order API, the book, its own logger."""

    app: TwsApp
    log: logging.Logger

    @property
    def book(self) -> OrderBook:
        return self.app.book

    def place(self, contract: Any, order: Order) -> OrderRecord:
        return self.app.place(contract, order)

    def modify(self, order_id: int, **changes: Any) -> OrderRecord:
        return self.app.modify(order_id, **changes)

    def cancel(self, order_id: int) -> OrderRecord:
        return self.app.cancel(order_id)

    def lookup(self, symbol: str, **kwargs: Any):
        return self.app.contracts.lookup(symbol, **kwargs)


class Strategy:
    """Subclass and override what you need; parameters come from ``[[strategies]]``."""

    def __init__(self, ctx: Context, params: Mapping[str, Any]) -> None:
        self.ctx = ctx
        self.params = dict(params)

    def on_start(self) -> None:
        """Called once, on the strategy's thread, after the app is connected and synced."""

    def on_event(self, event: Any) -> None:
        """Called for every book event (status change, fill, commission, error...)."""

    def on_stop(self) -> None:
        """Called once when the app shuts down."""


def load_strategy(module_name: str) -> type[Strategy]:
    """The module's ``STRATEGY`` attribute, or its only Strategy subclass."""
    module = importlib.import_module(module_name)
    found = getattr(module, "STRATEGY", None)
    if found is None:
        candidates = [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type) and issubclass(obj, Strategy) and obj is not Strategy
        ]
        if len(candidates) != 1:
            raise ImportError(
                f"{module_name}: define STRATEGY = <your Strategy subclass> "
                f"(found {len(candidates)} Strategy subclasses)"
            )
        found = candidates[0]
    return found


class StrategyRunner:
    """One strategy on its own thread."""

    def __init__(self, name: str, strategy: Strategy) -> None:
        self.name = name
        self.strategy = strategy
        self.queue: queue.Queue[Any] = queue.Queue()
        self.failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"strategy-{name}", daemon=True)
        self._log = logging.getLogger(f"twsapp.strategy.{name}")

    def start(self) -> None:
        self._thread.start()

    def post(self, event: Any) -> None:
        if self._thread.is_alive():
            self.queue.put(event)

    def stop(self, timeout: float = 5.0) -> None:
        self.queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self.strategy.on_start()
            while True:
                event = self.queue.get()
                if event is _STOP:
                    break
                self.strategy.on_event(event)
            self.strategy.on_stop()
        except Exception as exc:
            self.failed = exc
            self._log.exception("strategy %s failed and is stopped", self.name)
