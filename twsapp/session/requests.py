"""Request/response correlation for TWS requests answered by several callbacks and an end marker.

Callers on any thread wait on a ``Pending``; the api thread fills it (router.py). Streaming
requests that never end are subscriptions (subscriptions.py), not requests.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import NOT_CONNECTED
from ..exceptions import RequestError, RequestTimeout


@dataclass
class Pending:
    key: object
    what: str
    items: list[Any] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    error: RequestError | None = None

    def wait(self, timeout: float) -> list[Any]:
        if not self.done.wait(timeout):
            raise RequestTimeout(f"{self.what}: no answer from TWS within {timeout:g}s")
        if self.error is not None:
            raise self.error
        return self.items


class RequestTracker:
    """Pending requests keyed by reqId (ints) or by a name for id-less ones ("positions")."""

    def __init__(self, first_req_id: int = 1_000_000_000) -> None:
        self._ids = itertools.count(first_req_id)
        self._pending: dict[object, Pending] = {}
        self._lock = threading.Lock()
        # Why nothing can be asked now ("" when it can): set by the session, so that a request
        # made while the socket is down fails at once instead of waiting out its timeout.
        self.gate: Callable[[], str] | None = None

    def new_id(self) -> int:
        return next(self._ids)

    def call(self, key: object, what: str, send: Callable[[], None], timeout: float) -> list[Any]:
        """Open a request, send it, and wait for its answer (RequestError / RequestTimeout)."""
        why = self.gate() if self.gate is not None else ""
        if why:
            raise RequestError(NOT_CONNECTED, f"{why}: nothing was asked", what)
        pending = self.open(key, what)
        send()
        return pending.wait(timeout)

    def open(self, key: object, what: str) -> Pending:
        """Track a request; a named one already pending is joined, not replaced.

        Two threads asking "positions" (or "currentTime") at once both wait for the first
        answer; replacing the first Pending would leave its caller waiting until its timeout.
        """
        with self._lock:
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pending[key] = Pending(key, what)
        return pending

    def get(self, key: object) -> Pending | None:
        with self._lock:
            return self._pending.get(key)

    def add(self, key: object, item: Any) -> bool:
        pending = self.get(key)
        if pending is None:
            return False
        pending.items.append(item)
        return True

    def finish(self, key: object) -> bool:
        with self._lock:
            pending = self._pending.pop(key, None)
        if pending is None:
            return False
        pending.done.set()
        return True

    def fail(self, key: object, code: int, message: str) -> bool:
        with self._lock:
            pending = self._pending.pop(key, None)
        if pending is None:
            return False
        pending.error = RequestError(code, message, pending.what)
        pending.done.set()
        return True

    def fail_all(self, code: int, message: str) -> None:
        with self._lock:
            keys = list(self._pending)
        for key in keys:
            self.fail(key, code, message)
