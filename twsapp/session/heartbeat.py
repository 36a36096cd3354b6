"""Liveness: a reqCurrentTime every few seconds, so that a frozen TWS or a half-open socket
(nothing closes, nothing answers) is noticed, and what was asked meanwhile is resynced.

A missed answer is logged once at WARNING for the whole episode. When TWS answers again, the
order state is resynced (``TwsApp.resync``: open and completed orders, executions, positions),
so an order whose answer was lost in the freeze does not stay pending. So is an order whose
request has gone unanswered for ``answer_within`` seconds while TWS answers the heartbeat:
TWS answers in order, so that request was lost. A silence that lasts
``drop_after`` seconds (three beats, and at least 30 s: TWS pauses for a few seconds now and
then) is taken for a half-open socket: with [tws] reconnect on, the socket is closed and the
session reconnects and resyncs.
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

    def __init__(
        self,
        app: Any,
        every: float,
        resync: Callable[[], Any] | None = None,
        drop_after: float | None = None,
        answer_within: float | None = None,
    ) -> None:
        if every <= 0:
            raise ValueError(f"heartbeat every {every!r} s: give a positive number of seconds")
        self.app = app
        self.every = every
        self.drop_after = drop_after if drop_after is not None else max(3 * every, 30.0)
        # A request older than this with no answer, while TWS answers the heartbeat, was lost.
        if answer_within is None:
            answer_within = max(every, float(getattr(app, "request_timeout", 10.0)))
        self.answer_within = answer_within
        self.frozen_since: float | None = None  # monotonic time of the first missed beat
        self.episodes = 0  # how many freezes were seen and ended
        self.drops = 0  # how many times the silence closed the socket
        self._resync = resync if resync is not None else (lambda: app.resync("freeze"))
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
            elif time.monotonic() - self.frozen_since >= self.drop_after and self._may_drop():
                silent = time.monotonic() - self.frozen_since
                self.frozen_since = None  # the reconnect's own resync takes over
                self.drops += 1
                self.app.drop_connection(f"no answer to the heartbeat for {silent:.0f}s")
            return False
        if self.frozen_since is not None:
            lasted = time.monotonic() - self.frozen_since
            self.frozen_since = None
            self.episodes += 1
            log.warning("TWS answers again after about %.1fs: resyncing orders", lasted)
            self._try_resync("the freeze")
            return True
        late = self._overdue()
        if late:
            ids = ", ".join(str(r.order_id) for r in late)
            log.warning("TWS answers, but not for order(s) %s for more than %gs: resyncing", ids,
                        self.answer_within)  # fmt: skip
            self._try_resync("unanswered orders")
        return True

    def _overdue(self) -> list[Any]:
        find = getattr(self.app, "overdue", None)
        return find(self.answer_within) if callable(find) else []

    def _try_resync(self, after: str) -> None:
        try:
            self._resync()
        except TwsAppError as exc:
            log.warning("resync after %s failed: %s", after, exc)

    def _may_drop(self) -> bool:
        return bool(getattr(self.app, "will_reconnect", False))

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if not self.app.connected:
                if not self._may_drop():
                    return  # lost for good: nothing left to watch
                self.frozen_since = None  # reconnecting: the reconnect resyncs
                continue
            self.beat()
