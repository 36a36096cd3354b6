"""TWAP: work a parent quantity as equal market orders spread evenly over a time window.

``quantity`` is cut into ``slices`` child orders (the remainder goes one share at a time to
the first ones), one every ``duration / slices`` seconds. The clock is the market's: each slice
goes out when a bar of that length closes, so the schedule follows TWS's (or the simulator's)
time, and a slice never goes out while the market is closed. One order per slice is far below
TWS's 50 messages a second; the interval must be a multiple of 5 seconds (bars are made of
TWS's 5-second bars).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from twsapp.marketdata import BarEvent
from twsapp.strategy import Context, Param, ParamError, Strategy, positive


def _side(value: str) -> str | None:
    return None if value in ("BUY", "SELL") else "must be BUY or SELL"


def slice_sizes(quantity: Decimal, slices: int) -> list[Decimal]:
    """Equal whole-share slices; the first ``quantity % slices`` get one share more."""
    base, extra = divmod(int(quantity), slices)
    return [Decimal(base + (1 if i < extra else 0)) for i in range(slices)]


class Twap(Strategy):
    symbol = Param(str, "AAPL", "the instrument it trades")
    side = Param(str, "BUY", "BUY or SELL", _side)
    quantity = Param(Decimal, 100, "the parent quantity, whole shares", positive)
    duration = Param(int, 600, "the window, in seconds", positive)
    slices = Param(int, 10, "child orders in the window", positive)

    def __init__(self, ctx: Context, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(ctx, params)
        if self.quantity != self.quantity.to_integral_value() or self.quantity < self.slices:
            raise ParamError("quantity", f"{self.quantity} cannot be cut into {self.slices} "
                             "whole-share slices", "give whole shares, at least one per slice")  # fmt: skip
        interval, rest = divmod(self.duration, self.slices)
        if rest or interval % 5:
            raise ParamError("duration", f"{self.duration}s / {self.slices} slices is not a "
                             "multiple of 5 seconds", "choose duration = slices x 5k seconds")  # fmt: skip
        self.interval = interval

    def on_start(self) -> None:
        self.todo = slice_sizes(self.quantity, self.slices)
        self.sent: list[int] = []
        self.ctx.subscribe_bars(self.symbol, self.interval)
        self.ctx.log.info("TWAP %s %s %s: %d slices, one every %ds", self.side, self.quantity,
                          self.symbol, self.slices, self.interval)  # fmt: skip

    def on_bar(self, event: BarEvent) -> None:
        if not self.todo:
            return
        size = self.todo.pop(0)
        place = self.ctx.buy if self.side == "BUY" else self.ctx.sell
        record = place(self.symbol, size)
        self.sent.append(record.order_id)
        self.ctx.log.info("slice %d/%d: %s %s at market (order %d)", len(self.sent),
                          self.slices, self.side, size, record.order_id)  # fmt: skip
        if not self.todo:
            for kind in list(self.ctx.streams()):
                self.ctx.unsubscribe(kind)

    def on_stop(self) -> None:
        done = sum((r.filled for r in self.ctx.orders()), Decimal(0))
        self.ctx.log.info("TWAP %s: %s of %s filled in %d orders", self.symbol, done,
                          self.quantity, len(self.sent))  # fmt: skip


STRATEGY = Twap
