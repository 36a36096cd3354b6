"""What a strategy may touch, and the record of which orders are its own."""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from ..book.events import BookEvent, CommissionReceived, FillReceived
from ..exceptions import OrderRefused
from ..marketdata import (
    BarEvent,
    BarStream,
    DataError,
    HistoryBarStream,
    MarketData,
    QuoteStream,
    Stream,
    TickEvent,
    data_error_text,
)
from ..orders import bracket, limit_order, market_order
from ..pnl import StrategyPnl
from ..quotes import Bar, Quote
from ..session.subscriptions import ends_subscription
from .positions import StrategyPosition, position_of
from .timers import Clock, Scheduler

if TYPE_CHECKING:
    import pandas as pd
    from ibapi.order import Order

    from ..book import OrderBook, OrderRecord
    from ..pnl import PriceSource
    from ..session import TwsApp


class BracketRecords(NamedTuple):
    """The records of a bracket's three orders, as ``Context.bracket`` placed them."""

    parent: OrderRecord
    take_profit: OrderRecord
    stop_loss: OrderRecord


class Context:
    """What a strategy may touch: the order API, the book, its positions and P&L, its timers,
    its own logger.

    Orders placed here are the strategy's own: each carries the strategy's name in its
    ``orderRef`` (``name``, or ``name/<yours>`` when the order had one), the strategy receives
    their events (known by that ref from the first one on, whichever thread placed the order),
    its P&L counts their fills, and the shutdown waits for TWS's answer to them. Once the run
    closes the context (after ``on_stop``), every order call is refused.

    Market data it subscribes to (``subscribe_bars``, ``subscribe_ticks``) is its own too:
    each bar and tick reaches this strategy only, through ``deliver`` (the runner's queue), and
    its streams are cancelled when the context closes.

    ``prices``: where unrealized P&L takes current prices (the engine's: the last quote, bar
    or fill of each contract); ``market``: the run's market data service (one is made if
    none is given); ``clock``: the timers' clock (tests move it).
    """

    def __init__(
        self,
        app: TwsApp,
        log: logging.Logger,
        name: str = "",
        *,
        prices: PriceSource | None = None,
        market: MarketData | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.app = app
        self.log = log
        self.name = name or log.name
        self.pnl = StrategyPnl(prices)
        self.market = market if market is not None else MarketData(app)
        self.timers = Scheduler(clock)
        # Where its data events go: the runner sets its queue; without a runner they collect.
        self.inbox: list[Any] = []
        self.deliver: Callable[[Any], None] = self.inbox.append
        self._streams: list[Stream] = []
        self._owned: set[tuple[int, int]] = set()
        self._cond = threading.Condition()
        self._busy = 0
        self._closed = False

    @property
    def book(self) -> OrderBook:
        return self.app.book

    # ------------------------------------------------------------------ orders

    def place(self, contract: Any, order: Order) -> OrderRecord:
        order = self._stamped(order)
        with self._sending():
            record = self.app.place(contract, order)
            self._own([record])
            return record

    def buy(
        self, contract: Any, quantity: Decimal | int | str, price: float | None = None, **kw: Any
    ) -> OrderRecord:
        """BUY ``quantity``: a LMT at ``price``, or at the market without one. ``kw``: the
        builders' keywords (tif, account, order_ref, outside_rth, good_till_date)."""
        return self.place(contract, _simple("BUY", quantity, price, kw))

    def sell(
        self, contract: Any, quantity: Decimal | int | str, price: float | None = None, **kw: Any
    ) -> OrderRecord:
        """SELL ``quantity``: a LMT at ``price``, or at the market without one."""
        return self.place(contract, _simple("SELL", quantity, price, kw))

    def bracket(
        self,
        contract: Any,
        side: str,
        quantity: Decimal | int | str,
        entry: float,
        take_profit: float,
        stop_loss: float,
        **kw: Any,
    ) -> BracketRecords:
        """A LMT entry with a LMT take-profit and a STP stop-loss (``orders.bracket``), placed
        together: all three, or none if any is refused."""
        orders = bracket(side, quantity, entry, take_profit, stop_loss, **kw)
        return BracketRecords(*self.place_bracket(contract, orders))

    def place_bracket(self, contract: Any, orders: Sequence[Order]) -> list[OrderRecord]:
        """A parent and its children, sent together (``TwsApp.place_bracket``)."""
        stamped = [self._stamped(order) for order in orders]
        with self._sending():
            records = self.app.place_bracket(contract, stamped)
            self._own(records)
            return records

    def modify(self, order_id: int, **changes: Any) -> OrderRecord:
        with self._sending():
            return self.app.modify(order_id, **changes)

    def cancel(self, order_id: int) -> OrderRecord:
        with self._sending():
            return self.app.cancel(order_id)

    def cancel_where(
        self, *, symbol: str | None = None, order_type: str | None = None, side: str | None = None
    ) -> list[OrderRecord]:
        """Cancel its own working orders matching every filter given (none: all its own);
        returns them (``TwsApp.cancel_where``)."""
        with self._sending():
            return self.app.cancel_where(
                symbol=symbol, order_type=order_type, side=side, strategy=self.name
            )

    def lookup(self, symbol: str, **kwargs: Any) -> Any:
        with self._sending():
            return self.app.contracts.lookup(symbol, **kwargs)

    # ------------------------------------------------------------------ what it holds

    def open_orders(self) -> list[OrderRecord]:
        """Its orders that are not done (pending or working), oldest first."""
        return [rec for rec in self.book.records() if not rec.done and self._is_mine(rec)]

    def orders(self) -> list[OrderRecord]:
        """Every order of its own the book holds, done ones included, oldest first."""
        return [rec for rec in self.book.records() if self._is_mine(rec)]

    def position(self, contract: Any, account: str | None = None) -> StrategyPosition:
        """Its own position in a contract (from its fills) next to the account's (from TWS's
        position reports); ``contract``: a symbol, a Contract or ContractDetails."""
        return position_of(contract, self.pnl.lines(), self.book.positions(), account)

    def pnl_df(self) -> pd.DataFrame:
        """Its P&L, one row per contract (pnl.PNL_COLUMNS)."""
        return self.pnl.frame(self.name)

    # ------------------------------------------------------------------ market data

    def subscribe_bars(
        self,
        contract: Any,
        seconds: int = 60,
        what: str = "TRADES",
        *,
        use_rth: bool = False,
        history: str | None = None,
    ) -> BarStream | HistoryBarStream:
        """``on_bar`` for every bar of ``seconds`` until cancelled. Without ``history``: TWS's
        5-second bars aggregated on the clock (any multiple of 5), the first bar being the
        first period seen whole. With ``history`` (a TWS duration, "1 D", "3600 S"): that much
        history first, each bar an ``on_bar`` with ``event.historical`` set, then the live bars
        continuing it with no gap (reqHistoricalData keepUpToDate; ``seconds`` must be one of
        TWS's bar sizes). ``what``: TRADES, MIDPOINT, BID or ASK."""
        with self._sending():
            target = self.app.contracts.resolve(contract).contract
            symbol, con_id = target.symbol, int(target.conId)

            def on_bar(bar: Bar, historical: bool = False) -> None:
                self.deliver(BarEvent(
                    time=_now(), symbol=symbol, con_id=con_id, seconds=seconds, bar=bar,
                    historical=historical,
                ))  # fmt: skip

            on_error = self._on_data_error(symbol, con_id)
            stream: BarStream | HistoryBarStream
            if history is None:
                stream = self.market.bars(target, seconds, what, use_rth=use_rth, on_bar=on_bar,
                                          on_error=on_error)  # fmt: skip
            else:
                stream = self.market.bars_with_history(
                    target, seconds, history, what, use_rth=use_rth, on_bar=on_bar,
                    on_error=on_error,
                )  # fmt: skip
            return self._keep(stream)

    def subscribe_ticks(self, contract: Any, *, snapshot: bool = False) -> QuoteStream:
        """``on_tick`` with the whole quote after each change (reqMktData); ``snapshot``: the
        current values once."""
        with self._sending():
            target = self.app.contracts.resolve(contract).contract
            symbol, con_id = target.symbol, int(target.conId)

            def on_quote(quote: Quote) -> None:
                self.deliver(TickEvent(time=_now(), symbol=symbol, con_id=con_id, quote=quote))

            stream = self.market.quotes(
                target, snapshot=snapshot,
                on_quote=on_quote, on_error=self._on_data_error(symbol, con_id),
            )  # fmt: skip
            return self._keep(stream)

    def history(self, contract: Any, duration: str = "1 D", bar_size: str = "1 min",
                what: str = "TRADES", **kw: Any) -> pd.DataFrame:  # fmt: skip
        """Bars up to now (or ``end=``) as a frame indexed by bar start, time-zone aware
        (``MarketData.history``); waits for TWS's answer."""
        with self._sending():
            return self.market.history(contract, duration, bar_size, what, **kw)

    def unsubscribe(self, stream: Stream) -> None:
        stream.cancel()
        with self._cond:
            if stream in self._streams:
                self._streams.remove(stream)

    def streams(self) -> list[Stream]:
        with self._cond:
            return list(self._streams)

    def _keep(self, stream: Any) -> Any:
        with self._cond:
            self._streams.append(stream)
        return stream

    def _on_data_error(self, symbol: str, con_id: int) -> Callable[[int, str], None]:
        def on_error(code: int, text: str) -> None:
            self.deliver(DataError(
                time=_now(), symbol=symbol, con_id=con_id, code=code, text=text,
                message=data_error_text(symbol, code, text), ended=ends_subscription(code),
            ))  # fmt: skip

        return on_error

    # ------------------------------------------------------------------ timers

    def schedule(self, every: float, name: str = "timer") -> None:
        """Call ``on_timer(name)`` every ``every`` seconds, on the strategy's thread, until the
        strategy stops (or ``unschedule``). A late timer fires once, not once per period missed;
        scheduling a name again restarts it with the new period."""
        self.timers.schedule(every, name)

    def unschedule(self, name: str = "timer") -> bool:
        return self.timers.cancel(name)

    # ------------------------------------------------------------------ ownership

    def order_ref(self, ref: str) -> str:
        """The orderRef of an order this strategy sends: its name first."""
        if ref == self.name or ref.startswith(self.name + "/"):
            return ref
        return f"{self.name}/{ref}" if ref else self.name

    def owns(self, event: BookEvent) -> bool:
        """Is the event's order this strategy's (placed through this context, or carrying its
        name in orderRef, as its orders from an earlier run do)?"""
        return self._is_mine(event.record)

    def owned(self) -> set[tuple[int, int]]:
        """(client id, order id) of every order placed through this context."""
        with self._cond:
            return set(self._owned)

    def account_for(self, event: Any) -> None:
        """Count a fill or commission of its own orders in its P&L. Called by the engine for
        every event as it is delivered, whatever the strategy's state, so the P&L is complete
        even for fills that come after the strategy stopped or failed."""
        if isinstance(event, FillReceived) and self.owns(event):
            self.pnl.add_fill(event.fill, event.replaces)
        elif isinstance(event, CommissionReceived) and self.owns(event):
            self.pnl.add_commission(event.fill.exec_id, event.fill.commission)

    def close(self, timeout: float) -> bool:
        """Refuse every call from now on, cancel its market data; wait for calls in progress.
        False if one still is."""
        self.timers.close()
        with self._cond:
            self._closed = True
            streams, self._streams = self._streams, []
        for stream in streams:
            if self.app.connected:
                stream.cancel()
        with self._cond:
            return self._cond.wait_for(lambda: self._busy == 0, timeout)

    def _is_mine(self, rec: OrderRecord) -> bool:
        ref = rec.order.orderRef if rec.order is not None else ""
        if ref and self.order_ref(ref) == ref:
            return True
        with self._cond:
            return rec.key in self._owned

    def _own(self, records: Sequence[OrderRecord]) -> None:
        with self._cond:
            self._owned.update(record.key for record in records)

    def _stamped(self, order: Order) -> Order:
        order = copy.copy(order)
        order.orderRef = self.order_ref(order.orderRef or "")
        return order

    @contextmanager
    def _sending(self) -> Iterator[None]:
        with self._cond:
            if self._closed:
                raise OrderRefused(f"strategy {self.name} is stopped: it can send nothing more")
            self._busy += 1
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()


def _now() -> datetime:
    return datetime.now(UTC)


def _simple(side: str, quantity: Any, price: float | None, kw: dict[str, Any]) -> Order:
    if price is None:
        return market_order(side, quantity, **kw)
    return limit_order(side, quantity, price, **kw)
