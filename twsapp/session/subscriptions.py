"""Streaming subscriptions keyed by reqId: market data, bars, P&L, account updates.

A request (requests.py) ends with its end marker; a subscription goes on until cancelled and
may fail at any time (TWS error 354 "not subscribed", 10167, a farm going away). The router
delivers each data callback and each error carrying a subscription's reqId to it, so its owner
sees both, and anyone can read its state and last values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..errors import NOTHING_SENT, ErrorKind, classify, is_failure

DataHandler = Callable[[str, tuple[Any, ...]], None]
ErrorHandler = Callable[[int, str], None]


def ends_subscription(code: int) -> bool:
    """Does TWS's error `code` end a subscription? A farm or link notice is news, not the end."""
    ends = classify(code) is not ErrorKind.CONNECTIVITY or code in NOTHING_SENT
    return is_failure(code) and ends


class SubscriptionState(StrEnum):
    ACTIVE = "active"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class Subscription:
    """One subscription; `last` holds the latest arguments of each callback it received."""

    req_id: int
    what: str
    on_data: DataHandler | None = None
    on_error: ErrorHandler | None = None
    state: SubscriptionState = SubscriptionState.ACTIVE
    error: tuple[int, str] | None = None  # the failure that ended it
    warnings: list[tuple[int, str]] = field(default_factory=list)
    last: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    # how to ask TWS for it again (after a reconnect, or 1101: TWS lost its market data)
    send: Callable[[int], None] | None = field(default=None, repr=False)
    renewed: int = 0  # how many times it was asked for again

    @property
    def active(self) -> bool:
        return self.state is SubscriptionState.ACTIVE


class SubscriptionRegistry:
    """The live subscriptions, by reqId. Thread-safe: opened by users, fed by the api thread."""

    def __init__(self, new_id: Callable[[], int]) -> None:
        self._new_id = new_id
        self._subs: dict[int, Subscription] = {}
        self._lock = threading.Lock()

    def open(
        self,
        what: str,
        send: Callable[[int], None],
        on_data: DataHandler | None = None,
        on_error: ErrorHandler | None = None,
    ) -> Subscription:
        """Register a subscription under a new reqId, then `send(reqId)` the request."""
        sub = Subscription(self._new_id(), what, on_data, on_error, send=send)
        with self._lock:
            self._subs[sub.req_id] = sub
        send(sub.req_id)
        return sub

    def cancel(self, req_id: int, send: Callable[[int], None]) -> Subscription | None:
        """Mark it cancelled and `send(reqId)` the cancel, once; later data is dropped."""
        with self._lock:
            sub = self._subs.pop(req_id, None)
        if sub is None:
            return None
        if sub.active:
            sub.state = SubscriptionState.CANCELLED
            send(req_id)
        return sub

    def get(self, req_id: int) -> Subscription | None:
        with self._lock:
            return self._subs.get(req_id)

    def active(self) -> list[Subscription]:
        with self._lock:
            return [s for s in self._subs.values() if s.active]

    def deliver(self, req_id: int, name: str, args: tuple[Any, ...]) -> bool:
        """A data callback for `req_id`; False when no subscription owns it."""
        sub = self.get(req_id)
        if sub is None or not sub.active:
            return False
        sub.last[name] = args
        if sub.on_data is not None:
            sub.on_data(name, args)
        return True

    def error(self, req_id: int, code: int, text: str) -> bool:
        """An error for `req_id`: a failure ends the subscription; False when not ours."""
        sub = self.get(req_id)
        if sub is None:
            return False
        if ends_subscription(code):
            sub.state, sub.error = SubscriptionState.FAILED, (code, text)
        else:
            sub.warnings.append((code, text))
        if sub.on_error is not None:
            sub.on_error(code, text)
        return True

    def renew_all(self) -> int:
        """Ask TWS again for every active subscription, each under a new reqId (the old one's
        late data is then dropped): after a reconnect, or 1101 (TWS lost its market data).
        Returns how many were sent."""
        with self._lock:
            subs = [s for s in self._subs.values() if s.active and s.send is not None]
            for sub in subs:
                del self._subs[sub.req_id]
                sub.req_id = self._new_id()
                sub.renewed += 1
                self._subs[sub.req_id] = sub
        for sub in subs:
            assert sub.send is not None
            sub.send(sub.req_id)
        return len(subs)

    def fail_all(self, code: int, text: str) -> None:
        """The connection closed: every subscription is gone at TWS."""
        with self._lock:
            subs, self._subs = list(self._subs.values()), {}
        for sub in subs:
            if sub.active:
                sub.state, sub.error = SubscriptionState.FAILED, (code, text)
                if sub.on_error is not None:
                    sub.on_error(code, text)
