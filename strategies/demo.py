"""Buy a few shares at the market, then offer them back a little higher.

The smallest useful round trip: it shows a market fill, a resting limit order, a modify by id and,
if the price gets there, a second fill. Parameters: symbol, quantity, take_profit (in price units).
"""

from __future__ import annotations

from decimal import Decimal

from twsapp.orders import limit_order, market_order
from twsapp.strategy import Strategy


class Demo(Strategy):
    def on_start(self) -> None:
        self.symbol = str(self.params.get("symbol", "AAPL"))
        self.quantity = Decimal(str(self.params.get("quantity", 10)))
        self.take_profit = float(self.params.get("take_profit", 0.5))
        self.details = self.ctx.lookup(self.symbol)
        self.entry = self.ctx.place(self.details, market_order("BUY", self.quantity))
        self.exit_id: int | None = None
        self.ctx.log.info(
            "bought %s %s at market (order %d)", self.quantity, self.symbol, self.entry.order_id
        )

    def on_event(self, event) -> None:
        if self.exit_id is not None or not self.entry.done or self.entry.filled <= 0:
            return
        target = self.ctx.app.contracts.round_price(
            self.details, self.entry.avg_fill_price + self.take_profit, "up"
        )
        record = self.ctx.place(self.details, limit_order("SELL", self.entry.filled, target))
        self.exit_id = record.order_id
        self.ctx.log.info(
            "offered %s %s at %.2f (order %d)",
            self.entry.filled,
            self.symbol,
            target,
            record.order_id,
        )


STRATEGY = Demo
