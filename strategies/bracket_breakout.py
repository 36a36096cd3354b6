"""Breakout with a bracket: buy when a bar closes above the highest high of the bars before it.

The entry is a limit order at that close, sent as a bracket with a take-profit limit above and
a stop-loss below (``ctx.bracket``: all three orders or none, the exits active only once the
entry fills). An entry still unfilled ``patience`` bars later is cancelled, which cancels its
exits too. Once a bar closes half way (or more) from the entry fill to the take-profit, the
stop is moved up to the entry price (break-even): a modify of the stop order, which keeps its
id. One bracket at a time.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from twsapp.book import Filled, StatusChanged
from twsapp.marketdata import BarEvent
from twsapp.orders import Direction
from twsapp.strategy import BracketRecords, Param, Strategy, positive


class BracketBreakout(Strategy):
    symbol = Param(str, "AAPL", "the instrument it trades")
    quantity = Param(Decimal, 10, "shares per bracket", positive)
    lookback = Param(int, 20, "bars whose highest high the close must exceed", positive)
    bar_seconds = Param(int, 60, "bar length in seconds, a multiple of 5", positive)
    take_profit = Param(float, 0.50, "take-profit distance above the entry", positive)
    stop_loss = Param(float, 0.30, "stop-loss distance below the entry", positive)
    patience = Param(int, 3, "bars an unfilled entry may wait before it is cancelled", positive)

    def on_start(self) -> None:
        self.details = self.ctx.lookup(self.symbol)
        self.highs: deque[float] = deque(maxlen=self.lookback)
        self.active: BracketRecords | None = None
        self.waited = 0  # bars the active entry has waited unfilled
        self.entry_price: float | None = None  # the entry's fill, once filled
        self.at_break_even = False
        self.ctx.subscribe_bars(self.symbol, self.bar_seconds)

    def on_bar(self, event: BarEvent) -> None:
        bar = event.bar
        if self.active is not None:
            self._manage(bar.close)
        elif len(self.highs) == self.lookback and bar.close > max(self.highs):
            self._enter(bar.close, max(self.highs))
        self.highs.append(bar.high)

    def _enter(self, close: float, high: float) -> None:
        price = self._tick(close, "down")
        self.active = self.ctx.bracket(
            self.details, "BUY", self.quantity, price,
            self._tick(price + self.take_profit, "up"), self._tick(price - self.stop_loss, "down"),
        )  # fmt: skip
        self.waited, self.entry_price, self.at_break_even = 0, None, False
        self.ctx.log.info(
            "breakout: close %.2f above the %d-bar high %.2f: bracket %d buys %s at %.2f",
            close, self.lookback, high, self.active.parent.order_id, self.quantity, price,
        )  # fmt: skip

    def _manage(self, close: float) -> None:
        assert self.active is not None
        parent, take_profit, stop = self.active
        if self.entry_price is None:
            self.waited += 1
            if self.waited >= self.patience and not parent.done:
                self.ctx.log.info("entry %d unfilled after %d bars: cancelled", parent.order_id,
                                  self.waited)  # fmt: skip
                self.ctx.cancel(parent.order_id)
            return
        target = take_profit.order.lmtPrice if take_profit.order is not None else None
        half_way = self.entry_price + ((target or self.entry_price) - self.entry_price) / 2
        if not self.at_break_even and not stop.done and close >= half_way:
            self.at_break_even = True
            break_even = self._tick(self.entry_price, "up")
            self.ctx.modify(stop.order_id, stop_price=break_even)
            self.ctx.log.info("close %.2f is half way to %.2f: stop %d moved to %.2f", close,
                              target, stop.order_id, break_even)  # fmt: skip

    def on_status(self, event: StatusChanged) -> None:
        if self.active is None:
            return
        parent = self.active.parent
        if isinstance(event, Filled) and event.order_id == parent.order_id:
            self.entry_price = event.record.avg_fill_price
            self.ctx.log.info("entry %d filled at %.2f", parent.order_id, self.entry_price)
        if all(record.done for record in self.active):
            self.ctx.log.info("bracket %d done: %s", parent.order_id,
                              ", ".join(f"{r.order_id} {r.status}" for r in self.active))  # fmt: skip
            self.active = None

    def _tick(self, price: float, direction: Direction) -> float:
        return self.ctx.app.contracts.round_price(self.details, price, direction)


STRATEGY = BracketBreakout
