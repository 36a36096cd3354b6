"""Dollar-cost averaging that waits for a dip: buy a fixed cash amount when RSI falls.

Every closed bar (1 minute by default) updates the relative strength index over the last
``period`` bars (Wilder's smoothing, as charting packages compute it). When it is below
``threshold`` the strategy buys ``cash`` worth of shares at the market, unless it bought less
than ``cooldown`` bars ago or the purchase would take its own position above ``max_position``.

Copy it as a start: the signal is in ``rsi`` (pure, tested on its own), the trading rules in
``on_bar``. With ``history`` set, the RSI starts from that much history (no purchase is made on
a past bar), so signals can come from the first live bar on. It never sells: closing the
position is left to you.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from decimal import Decimal

from twsapp.book import OrderRecord
from twsapp.marketdata import BarEvent
from twsapp.strategy import Param, Strategy, positive


def rsi(closes: Sequence[float], period: int) -> float | None:
    """RSI of the last close, from every close given (None until there are period + 1).

    Wilder's smoothing: the first average gain and loss are plain means over ``period``
    changes, each later one is (previous * (period - 1) + change) / period.
    """
    if len(closes) <= period:
        return None
    changes = [b - a for a, b in itertools.pairwise(closes)]
    gain = sum(max(c, 0.0) for c in changes[:period]) / period
    loss = sum(max(-c, 0.0) for c in changes[:period]) / period
    for change in changes[period:]:
        gain = (gain * (period - 1) + max(change, 0.0)) / period
        loss = (loss * (period - 1) + max(-change, 0.0)) / period
    if loss == 0:
        return 100.0
    return 100.0 - 100.0 / (1.0 + gain / loss)


def _at_least_two(value: int) -> str | None:
    return None if value >= 2 else "must be at least 2"


def _percent(value: float) -> str | None:
    return None if 0 < value < 100 else "must be between 0 and 100"


def _not_negative(value: int) -> str | None:
    return None if value >= 0 else "must be 0 or more"


class RsiDca(Strategy):
    symbol = Param(str, "AAPL", "the instrument it buys")
    cash = Param(float, 1000.0, "cash spent on each purchase (shares = cash // price)", positive)
    period = Param(int, 14, "bars in the RSI", _at_least_two)
    threshold = Param(float, 30.0, "buy when the RSI is below this (0-100)", _percent)
    bar_seconds = Param(int, 60, "bar length in seconds, a multiple of 5", positive)
    max_position = Param(Decimal, 100, "largest position it builds, in shares", positive)
    cooldown = Param(int, 5, "bars to wait after a purchase before the next one", _not_negative)
    history = Param(str, "", 'history to start the RSI with, e.g. "1 D" ("": none, wait for bars)')

    def on_start(self) -> None:
        self.closes: list[float] = []
        self.bars_since_buy: int | None = None  # None: nothing bought yet
        self.ctx.subscribe_bars(self.symbol, self.bar_seconds, history=self.history or None)
        self.ctx.log.info(
            "watching %s: buy $%.0f when RSI(%d) of %ds bars < %g", self.symbol, self.cash,
            self.period, self.bar_seconds, self.threshold,
        )  # fmt: skip

    def on_bar(self, event: BarEvent) -> None:
        close = event.bar.close
        self.closes = [*self.closes[-(self.period * 10) :], close]  # enough to smooth
        if self.bars_since_buy is not None:
            self.bars_since_buy += 1
        value = rsi(self.closes, self.period)
        if value is None or value >= self.threshold or event.historical:
            return  # history only warms the RSI up: nothing is bought on a past bar
        self.ctx.log.info("signal: RSI %.1f < %g at %.2f (bar %s)", value, self.threshold,
                          close, f"{event.bar.time:%H:%M:%S}")  # fmt: skip
        if self.bars_since_buy is not None and self.bars_since_buy < self.cooldown:
            self.ctx.log.info("cooling down (%d of %d bars)", self.bars_since_buy, self.cooldown)
            return
        held = self.ctx.position(self.symbol).quantity
        pending = sum((_unfilled(r) for r in self.ctx.open_orders()), Decimal(0))
        room = self.max_position - held - pending
        shares = min(Decimal(math.floor(self.cash / close)), room)
        if shares <= 0:
            self.ctx.log.info("position cap reached (%s held, %s pending)", held, pending)
            return
        record = self.ctx.buy(self.symbol, shares)
        self.bars_since_buy = 0
        self.ctx.log.info("bought %s %s at market (order %d)", shares, self.symbol,
                          record.order_id)  # fmt: skip


def _unfilled(record: OrderRecord) -> Decimal:
    if record.remaining is not None:
        return record.remaining
    return (record.total_quantity or Decimal(0)) - record.filled


STRATEGY = RsiDca
