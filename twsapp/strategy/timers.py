"""A strategy's timers: when each is due, on a clock the runner (or a test) supplies.

The runner asks ``due(now)`` between events and calls ``on_timer(name)`` for each name, on the
strategy's thread. A timer late by several periods (a slow hook, a busy queue) fires once, and
its next time is the first period boundary after now: timers never pile up, and their rhythm is
kept (every 60 s from the schedule time, not 60 s after each late call).

Thread-safe: a strategy may schedule from any thread; ``wake`` (set by the runner) is called
after every change, so a runner waiting for the next event re-reads the next due time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]  # seconds, monotonic


@dataclass
class _Timer:
    every: float
    next_due: float


class Scheduler:
    """Named repeating timers; see the module docstring."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.wake: Callable[[], None] = lambda: None
        self._lock = threading.Lock()
        self._timers: dict[str, _Timer] = {}
        self._closed = False

    def schedule(self, every: float, name: str) -> None:
        """``name`` is due every ``every`` seconds from now; scheduling it again restarts it."""
        if isinstance(every, bool) or not isinstance(every, int | float):
            raise TypeError(f"timer {name!r}: every={every!r} is not a number of seconds")
        if not (math.isfinite(every) and every > 0):
            raise ValueError(f"timer {name!r}: every={every!r} must be a positive finite number")
        with self._lock:
            if self._closed:
                return  # the strategy has stopped: nothing will fire
            self._timers[name] = _Timer(float(every), self.clock() + every)
        self.wake()

    def cancel(self, name: str) -> bool:
        """Stop ``name``; False if no such timer."""
        with self._lock:
            found = self._timers.pop(name, None) is not None
        self.wake()
        return found

    def names(self) -> list[str]:
        with self._lock:
            return list(self._timers)

    def close(self) -> None:
        """No timer fires again, and none can be scheduled: the strategy stopped or failed."""
        with self._lock:
            self._closed = True
            self._timers.clear()

    def due(self, now: float | None = None) -> list[str]:
        """The timers due at ``now``, earliest first; each is moved past ``now`` (coalesced)."""
        now = self.clock() if now is None else now
        with self._lock:
            fired = sorted(
                (t.next_due, name) for name, t in self._timers.items() if t.next_due <= now
            )
            for _, name in fired:
                timer = self._timers[name]
                periods = math.floor((now - timer.next_due) / timer.every) + 1
                timer.next_due += periods * timer.every
                while timer.next_due <= now:  # float rounding
                    timer.next_due += timer.every
            return [name for _, name in fired]

    def wait_time(self, now: float | None = None) -> float | None:
        """Seconds until the next timer is due (0 if one is), None when there is none."""
        now = self.clock() if now is None else now
        with self._lock:
            if not self._timers:
                return None
            return max(0.0, min(t.next_due for t in self._timers.values()) - now)
