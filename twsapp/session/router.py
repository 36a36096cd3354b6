"""Every callback and every error to its owner: a pending request, a subscription, an order, or
else a notice.

The wire (wire.py) calls one method here per callback, on the thread whose turn it is to handle
what TWS sent (inbox.py), one at a time. Errors are the hard part: TWS sends everything through
``error(reqId, code, text)`` and the reqId may be a request's, a subscription's, an order's, a
pacing counter, or -1. The order of the checks:

1. Session side effects first (326: the client id is taken; 103: ids must be resynchronized).
2. Pacing (100) belongs to nobody: its id is TWS's count of violations, not an order id.
3. Connection news with no id (1100, 1101, 1102, farm status): a connection event; a refused
   requestFA (321 with no id: not an advisor's login) fails that request.
4. A pending request's id: a failure fails the request (its caller raises).
5. A subscription's id: the subscription (it may fail, or just warn).
6. An order of the book: the book's error policy decides (book/error_policy.py).
7. Anything else: a notice.

Whatever is not an order's is logged at its kind's level (errors.LOG_LEVELS) and published as a
typed event, so nothing TWS says is dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .. import errors
from ..book import OrderBook
from ..errors import ErrorKind
from ..events import (
    ConnectionEvent,
    EventBus,
    FarmStatus,
    Notice,
    TwsLinkLost,
    TwsLinkRestored,
)
from ..journal import Journal
from .ids import OrderIdAllocator
from .requests import RequestTracker
from .subscriptions import SubscriptionRegistry

log = logging.getLogger("twsapp.session")


class Link:
    """What the session does on the messages that concern the connection itself.

    The app implements it (app.py); kept as an interface so the router can be driven in tests
    without a socket.
    """

    def on_next_valid_id(self, order_id: int) -> None: ...
    def on_accounts(self, accounts: list[str]) -> None: ...
    def on_closed(self) -> bool | None:
        """The socket closed; True when the session will reconnect (subscriptions are then
        kept, to be renewed)."""
        return None

    def on_client_id_in_use(self) -> None: ...
    def on_duplicate_id(self, order_id: int) -> None: ...
    def on_pacing_violation(self) -> None:
        """Error 100: TWS dropped a message of ours; which one, only a resync can tell."""

    def quiet(self) -> bool:
        """True while connecting: connectivity errors are then explained by start() itself."""
        return False


class Router:
    def __init__(
        self,
        book: OrderBook,
        bus: EventBus,
        ids: OrderIdAllocator,
        requests: RequestTracker,
        link: Link,
        clock: Callable[[], datetime] | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.book = book
        # Every order callback is journaled before the book applies it (journal.py): a crash
        # between the two replays it, and the book deduplicates what TWS then resends.
        self.journal = journal
        self.bus = bus
        self.ids = ids
        self.requests = requests
        self.subscriptions = SubscriptionRegistry(requests.new_id)
        self.link = link
        self._now = clock or (lambda: datetime.now(UTC))
        # While a resync runs: the order ids and permIds TWS reported (open or completed), so
        # that a working order it no longer knows can be named (TwsApp.resync).
        self.reported: tuple[set[int], set[int]] | None = None

    # ------------------------------------------------------------------ session

    def next_valid_id(self, order_id: int) -> None:
        self.link.on_next_valid_id(order_id)

    def managed_accounts(self, accounts: list[str]) -> None:
        self.book.accounts = list(accounts)
        self.link.on_accounts(accounts)

    def fa_config(self, fa_data_type: int, xml: str) -> None:
        """receiveFA: the answer to the pending requestFA of that type (accounts.py)."""
        key = ("requestFA", fa_data_type)
        if self.requests.add(key, xml):
            self.requests.finish(key)

    def connection_closed(self) -> None:
        self.ids.invalidate("not connected to TWS")
        renew = self.link.on_closed()  # True: the session reconnects and renews them
        self.requests.fail_all(errors.NOT_CONNECTED, "connection closed")
        if not renew:
            self.subscriptions.fail_all(errors.NOT_CONNECTED, "connection closed")

    # ------------------------------------------------------------------ requests

    def answer(self, key: object, item: Any) -> None:
        self.requests.add(key, item)
        if key == "currentTime":
            self.requests.finish(key)

    def finish(self, key: object) -> None:
        self.requests.finish(key)

    def data(self, req_id: int, name: str, *args: Any) -> None:
        """A data callback (tickPrice, historicalData, realtimeBar, pnl ...): a pending
        request's answer (one-off: history, a head timestamp), else a subscription's."""
        if self.requests.add(req_id, (name, *args)):
            return
        if not self.subscriptions.deliver(req_id, name, args):
            log.debug("%s for reqId %d, which nothing owns (cancelled?): dropped", name, req_id)

    def end(self, req_id: int, name: str, *args: Any) -> None:
        """An end marker: it completes a pending request, or is news for a subscription (a
        snapshot's end, history's end before keepUpToDate updates)."""
        if self.requests.finish(req_id):
            return
        self.subscriptions.deliver(req_id, name, args)

    # ------------------------------------------------------------------ orders

    def open_order(self, order_id: int, contract: Any, order: Any, state: Any) -> None:
        self.ids.observe(order_id)
        if order.whatIf and self.requests.add(order_id, state):  # a preview: no order exists
            self.requests.finish(order_id)
            return
        self._journal("openOrder", order_id, contract, order, state)
        self._reported(order_id, order.permId)
        self.book.on_open_order(order_id, contract, order, state)

    def order_status(self, order_id: int, *args: Any) -> None:
        self.ids.observe(order_id)
        self._journal("orderStatus", order_id, *args)
        self.book.on_order_status(order_id, *args)

    def completed_order(self, contract: Any, order: Any, state: Any) -> None:
        if order.clientId == self.book.client_id:  # text completedOrder carries no ids: 0
            self.ids.observe(order.orderId)
        self._journal("completedOrder", contract, order, state)
        self._reported(order.orderId, order.permId)
        self.book.on_completed_order(contract, order, state)

    def _reported(self, order_id: int, perm_id: int) -> None:
        reported = self.reported
        if reported is not None:
            reported[0].add(order_id)
            reported[1].add(perm_id)

    def exec_details(self, req_id: int, contract: Any, execution: Any) -> None:
        self.ids.observe(execution.orderId)
        self._journal("execDetails", req_id, contract, execution)
        self.book.on_exec_details(req_id, contract, execution)

    def commission(self, report: Any) -> None:
        self._journal("commissionReport", report)
        self.book.on_commission(report)

    def _journal(self, kind: str, *args: Any) -> None:
        if self.journal is not None:
            self.journal.record(kind, *args)

    def position(self, account: str, contract: Any, position: Any, avg_cost: float) -> None:
        self.book.on_position(account, contract, position, avg_cost)

    def account_value(
        self, account: str, tag: str, value: str, currency: str, req_id: int | None = None
    ) -> None:
        self.book.on_account_value(account, tag, value, currency)

    # ------------------------------------------------------------------ errors

    def error(self, req_id: int, code: int, text: str, advanced: str, error_time: int) -> None:
        """Route one error; see the module docstring for the order of the checks."""
        kind = errors.classify(code)
        if code == errors.CLIENT_ID_IN_USE:
            self.link.on_client_id_in_use()
        elif code == errors.DUPLICATE_ORDER_ID:
            self.link.on_duplicate_id(req_id)
        notice = (req_id, code, kind, text, advanced, error_time)
        if kind is ErrorKind.PACING:
            self._notice(*notice)
            self.link.on_pacing_violation()
            return
        if req_id in (-1, 0) and (code in errors.LINK_CODES or code in errors.FARM_CODES):
            self._connection(code, text)
            return
        if req_id in (-1, 0) and code == 321 and "FA data operation" in text:
            # requestFA carries no reqId: TWS refuses it to -1 (not an advisor's login)
            failed = [self.requests.fail(("requestFA", kind), code, text) for kind in (1, 3)]
            if any(failed):
                return
        if self.requests.get(req_id) is not None:
            if errors.is_failure(code) and self.requests.fail(req_id, code, text):
                log.debug("request %s failed: TWS %d %s", req_id, code, text)
                return
            self._notice(*notice)
            return
        if self.subscriptions.error(req_id, code, text):
            self._log(kind, "TWS %d for subscription %d: %s", code, req_id, text)
            return
        if self.book.get(req_id) is not None:
            self._journal("error", req_id, code, text, advanced, error_time)
        if self.book.on_error(req_id, code, text, advanced, error_time) is not None:
            return
        self._notice(*notice)

    def _connection(self, code: int, text: str) -> None:
        event: ConnectionEvent
        now = self._now()
        if code in errors.LINK_LOST:
            event = TwsLinkLost(time=now, code=code, text=text)
        elif code in (errors.RESTORED_DATA_LOST, errors.RESTORED_DATA_KEPT):
            lost = code == errors.RESTORED_DATA_LOST
            event = TwsLinkRestored(time=now, code=code, text=text, data_lost=lost)
        else:
            event = FarmStatus(time=now, code=code, text=text, ok=code in errors.FARM_OK)
        kind = errors.classify(code)
        self._log(kind, "TWS %d: %s", code, text)
        self.bus.publish(event)

    def _notice(
        self, req_id: int, code: int, kind: ErrorKind, text: str, advanced: str, error_time: int
    ) -> None:
        about = f" (id {req_id})" if req_id not in (-1, 0) else ""
        self._log(kind, "TWS %d%s: %s", code, about, text)
        self.bus.publish(
            Notice(time=self._now(), code=code, kind=kind, text=text, req_id=req_id,
                   advanced=advanced, error_time=error_time)
        )  # fmt: skip

    def _log(self, kind: ErrorKind, message: str, *args: Any) -> None:
        level = errors.LOG_LEVELS[kind]
        if kind is ErrorKind.CONNECTIVITY and self.link.quiet():
            level = logging.DEBUG  # start() raises the explained error
        log.log(level, message, *args)
