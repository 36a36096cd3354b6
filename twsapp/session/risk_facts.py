"""What [risk]'s checks need to know of the market, from the session: a reference price and
TWS's clock. Also the one-off snapshot quote the control API serves.

Called on the thread placing the order (a strategy's, the control API's, the user's), never on
a callback thread: each answer comes through the callback threads, which would wait for
themselves.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any, Protocol

from ibapi.contract import Contract, ContractDetails

from ..exceptions import TwsAppError
from ..quotes import Quote
from ..risk import Reference

# The app is typed Any here: this module is part of what app.py builds (no import cycle).
TwsApp = Any

SNAPSHOT_WAIT = 2.0  # seconds a snapshot may take; TWS may need up to 11 s for a complete one


class PriceSource(Protocol):
    def last_price(self, con_id: int) -> float | None: ...


def snapshot_quote(app: TwsApp, contract: Contract, wait: float = SNAPSHOT_WAIT) -> Quote | None:
    """One reqMktData snapshot: the quote it gave within ``wait`` seconds (None when TWS
    refused it, e.g. 354 no subscription, or sent nothing)."""
    done = threading.Event()
    quote = [Quote(contract.symbol or str(contract.conId))]

    def data(name: str, args: tuple[Any, ...]) -> None:
        if name == "tickSnapshotEnd":
            done.set()
        else:
            quote[0] = quote[0].apply(name, args, datetime.now(UTC))

    def error(_code: int, _text: str) -> None:
        if sub_box and not sub_box[0].active:
            done.set()

    sub_box: list[Any] = []
    client = app.ibapi
    try:
        sub = app.subscriptions.open(
            f"snapshot of {quote[0].symbol}",
            lambda req_id: client.reqMktData(req_id, contract, "", True, False, []),
            on_data=data,
            on_error=error,
        )
    except (OSError, TwsAppError):
        return None
    sub_box.append(sub)
    if not sub.active:  # refused before open() returned
        done.set()
    ended = done.wait(wait)
    # A snapshot TWS ended needs no cancel (TWS has forgotten it); one still running does.
    app.subscriptions.cancel(sub.req_id, (lambda _id: None) if ended else client.cancelMktData)
    if sub.error is not None:
        return None
    return quote[0]


def quote_price(quote: Quote) -> tuple[float, str] | None:
    """The price a quote stands for: its last, else its midpoint, else the close."""
    for value, what in ((quote.last, "last"), (quote.mid, "midpoint"), (quote.close, "close")):
        if value is not None and value > 0:
            return value, what
    return None


class SessionFacts:
    """risk.MarketFacts from a TwsApp: the last price the run knows (``prices``), else a
    snapshot quote; TWS's clock (reqCurrentTime, so the simulator's clock in sim mode)."""

    #: How long TWS's time, once asked, is extrapolated on the local clock: checks need the
    #: minute, not a round trip per order (placing stays as fast as without [risk]).
    CLOCK_TTL = 1.0

    def __init__(self, app: TwsApp, prices: PriceSource | None = None) -> None:
        self.app = app
        self.prices = prices
        self._asked: tuple[float, float] | None = None  # (local monotonic, TWS epoch)
        self._lock = threading.Lock()

    def reference(self, details: ContractDetails) -> Reference | None:
        con_id = int(details.contract.conId or 0)
        last = self.prices.last_price(con_id) if self.prices is not None and con_id else None
        if last is not None and last > 0:
            return Reference(last, "the last price this run saw")
        quote = snapshot_quote(self.app, details.contract)
        found = quote_price(quote) if quote is not None else None
        if found is None:
            return None
        remember = getattr(self.prices, "set", None)
        if remember is not None and con_id:
            remember(con_id, found[0])  # the next order for it needs no snapshot
        return Reference(found[0], f"a snapshot quote's {found[1]}")

    def now(self) -> datetime | None:
        with self._lock:
            asked = self._asked
        local = time.monotonic()
        if asked is not None and local - asked[0] < self.CLOCK_TTL:
            return datetime.fromtimestamp(asked[1] + (local - asked[0]), UTC)
        try:
            epoch = float(self.app.current_time())
        except TwsAppError:
            return None
        with self._lock:
            self._asked = (local, epoch)
        return datetime.fromtimestamp(epoch, UTC)


def modified_order(
    app: TwsApp, order_id: int, changes: dict[str, Any]
) -> tuple[ContractDetails, Any] | None:
    """The contract details and the order a modify would send, for [risk] to check before the
    modify takes its locks; None when the modify itself will refuse (unknown or done order,
    bad change), so that its own message is the one the caller sees."""
    record = app.book.get(order_id)
    if record is None or record.done or not changes:
        return None
    try:
        order = app.book.preview_modify(order_id, changes)
        contract = record.sent_contract
        if contract is None:
            echo = record.contract
            if echo is None or not echo.conId:
                return None
            contract = app.contracts.by_conid(echo.conId).contract
        return app.contracts.resolve(contract), order
    except (TwsAppError, ArithmeticError, TypeError, ValueError):
        return None
