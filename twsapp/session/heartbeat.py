"""Liveness: a reqCurrentTime every few seconds, so that a frozen TWS or a half-open socket
(nothing closes, nothing answers) is noticed, and what was asked meanwhile is resynced.

A missed answer is logged once at WARNING for the whole episode. When TWS answers again, the
order state is resynced (``TwsApp.sync``: open and completed orders, executions, positions), so
an order whose answer was lost in the freeze does not stay pending.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ..exceptions import TwsAppError

log = logging.getLogger("twsapp.session")


class Heartbeat:
    """Runs on its own thread (``tws-heartbeat``) until ``stop``; ``every`` seconds apart."""

    def __init__(self, app: Any, every: float, resync: Callable[[], None] | None = None) -> None:
        if every <= 0:
            raise ValueError(f"heartbeat every {every!r} s: give a positive number of seconds")
        self.app = app
        self.every = every
        self.frozen_since: float | None = None  # monotonic time of the first missed beat
        self.episodes = 0  # how many freezes were seen and ended
        self._resync = resync if resync is not None else app.sync
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tws-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(self.every + 5)

    def beat(self) -> bool:
        """One heartbeat; True when TWS answered within ``every`` seconds."""
        started = time.monotonic()
        try:
            self.app.current_time(self.every)
        except TwsAppError:
            if self.frozen_since is None:
                self.frozen_since = started
                log.warning("TWS has not answered a heartbeat (reqCurrentTime) within %gs: it "
                            "is frozen or the connection is half-open", self.every)  # fmt: skip
            return False
        if self.frozen_since is not None:
            lasted = time.monotonic() - self.frozen_since
            self.frozen_since = None
            self.episodes += 1
            log.warning("TWS answers again after about %.1fs: resyncing orders", lasted)
            try:
                self._resync()
            except TwsAppError as exc:
                log.warning("resync after the freeze failed: %s", exc)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if not self.app.connected:
                return
            self.beat()
