"""One strategy on its own thread, fed by a queue, so that it never stalls the socket.

Between events (and while none comes) the thread also fires the strategy's due timers
(timers.py): ``on_timer(name)`` runs on the same thread as every other hook, never two at once.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from ..book.events import (
    BookEvent,
    FillReceived,
    ModifyRejected,
    OrderError,
    Rejected,
    StatusChanged,
)
from ..events import ConnectionEvent, Notice
from ..marketdata import BarEvent, DataError, TickEvent
from .base import Strategy
from .context import Context
from .timers import Scheduler

NOT_STARTED = "not_started"
RUNNING = "running"
STOPPED = "stopped"
FAILED = "failed"

_STOP = object()
_WAKE = object()  # re-read the next timer's due time


class _Mark:
    """Queued by ``settle``: set once every event queued before it has been handled."""

    def __init__(self) -> None:
        self.reached = threading.Event()


#: Typed hooks, after ``on_event``, in this order: (event kinds, hook name).
HOOKS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (BarEvent, "on_bar"),
    (TickEvent, "on_tick"),
    (StatusChanged, "on_status"),
    (FillReceived, "on_fill"),
    ((OrderError, Rejected, ModifyRejected, Notice, DataError), "on_error"),
    (ConnectionEvent, "on_connection"),
)


class StrategyRunner:
    """One strategy on its own thread, fed by a queue; see the module docstring.

    ``state``: not_started, running, stopped (``on_stop`` returned) or failed (``error`` says
    which hook raised what, or that ``on_stop`` did not return in time).
    """

    def __init__(self, name: str, module: str, strategy: Strategy) -> None:
        self.name = name
        self.module = module
        self.strategy = strategy
        self.state = NOT_STARTED
        self.error: str | None = None
        self.queue: queue.Queue[Any] = queue.Queue()
        self._accepting = False
        self._hook = "on_start"
        self._thread = threading.Thread(target=self._run, name=f"strategy-{name}", daemon=True)
        self._log = logging.getLogger(f"twsapp.strategy.{name}")
        self.timers.wake = self.wake
        self.ctx.deliver = self.post  # its bars, ticks and data errors: to it alone

    @property
    def ctx(self) -> Context:
        return self.strategy.ctx

    @property
    def timers(self) -> Scheduler:
        return self.strategy.ctx.timers

    @property
    def failed(self) -> bool:
        return self.state == FAILED

    def start(self) -> None:
        self.state = RUNNING
        self._accepting = True
        self._thread.start()

    def post(self, event: Any) -> None:
        """From any thread, never blocking. Events before start or after stop are dropped."""
        if self._accepting:
            self.queue.put(event)

    def wake(self) -> None:
        """From any thread: check the timers now (after a schedule, or a test's clock moved)."""
        if self._accepting:
            self.queue.put(_WAKE)

    def settle(self, timeout: float) -> bool:
        """Wait until the strategy has handled every event queued so far (False on timeout, or
        when it is not running): what a driver of the clock waits for before moving it on."""
        if not self._accepting:
            return False
        mark = _Mark()
        self.queue.put(mark)
        return mark.reached.wait(timeout)

    def request_stop(self) -> None:
        """Ask for ``on_stop`` after the events already queued; returns at once."""
        if self._accepting:
            self._accepting = False
            self.queue.put(_STOP)

    def join(self, timeout: float) -> bool:
        """Wait for the thread; a strategy still running after `timeout` is marked failed."""
        if self.state == NOT_STARTED:
            return True
        self._thread.join(max(0.0, timeout))
        if self._thread.is_alive():
            self.state = FAILED
            self.error = f"{self._hook} did not return within the {timeout:g}s allowed at stop"
            self._log.error("strategy %s: %s", self.name, self.error)
            return False
        return True

    def stop(self, timeout: float = 5.0) -> bool:
        self.request_stop()
        return self.join(timeout)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "module": self.module, "state": self.state, "error": self.error}

    def _run(self) -> None:
        strategy = self.strategy
        try:
            strategy.on_start()
            while (event := self._next()) is not _STOP:
                if isinstance(event, _Mark):
                    event.reached.set()
                elif event is not _WAKE:
                    self._deliver(event)
                self._fire_timers()
            self.timers.close()
            self._hook = "on_stop"
            strategy.on_stop()
            self.state = STOPPED
        except Exception as exc:
            self._accepting = False
            self.error = f"{self._hook}: {type(exc).__name__}: {exc}"
            self.state = FAILED
            self._log.exception("strategy %s failed in %s and is stopped", self.name, self._hook)
        finally:
            self.timers.close()

    def _next(self) -> Any:
        """The next event, or _WAKE when a timer falls due first."""
        try:
            return self.queue.get(timeout=self.timers.wait_time())
        except queue.Empty:
            return _WAKE

    def _fire_timers(self) -> None:
        for name in self.timers.due():
            self._hook = "on_timer"
            self.strategy.on_timer(name)

    def _deliver(self, event: Any) -> None:
        """On the strategy's thread; an order event only when the order is the strategy's."""
        if isinstance(event, BookEvent) and not self.ctx.owns(event):
            return
        self._hook = "on_event"
        self.strategy.on_event(event)
        for kinds, hook in HOOKS:
            if isinstance(event, kinds):
                self._hook = hook
                getattr(self.strategy, hook)(event)
