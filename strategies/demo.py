"""Buy a few shares at the market, then offer them back a little higher.

The smallest useful round trip: it shows a market fill, a resting limit order and, if the price
gets there, a second fill. The take-profit order is left working at TWS when the run stops (a
DAY order: TWS cancels it at the close).
"""

from __future__ import annotations

from decimal import Decimal

from twsapp.book import Filled, StatusChanged
from twsapp.strategy import Param, Strategy, positive


class Demo(Strategy):
    symbol = Param(str, "AAPL", "the instrument it trades")
    quantity = Param(Decimal, 10, "shares to buy", positive)
    take_profit = Param(float, 0.5, "price distance of the sell above the entry fill", positive)

    def on_start(self) -> None:
        self.details = self.ctx.lookup(self.symbol)
        self.entry = self.ctx.buy(self.details, self.quantity)  # no price: at the market
        self.exit_id: int | None = None
        self.ctx.log.info(
            "bought %s %s at market (order %d)", self.quantity, self.symbol, self.entry.order_id
        )

    def on_status(self, event: StatusChanged) -> None:
        filled_entry = isinstance(event, Filled) and event.order_id == self.entry.order_id
        if filled_entry and self.exit_id is None:
            self.offer(event.record.filled, event.record.avg_fill_price or 0.0)

    def offer(self, quantity: Decimal, entry_price: float) -> None:
        target = self.ctx.app.contracts.round_price(
            self.details, entry_price + self.take_profit, "up"
        )
        record = self.ctx.sell(self.details, quantity, target)  # a price: a limit order
        self.exit_id = record.order_id
        self.ctx.log.info(
            "offered %s %s at %.2f (order %d)", quantity, self.symbol, target, record.order_id
        )

    def on_stop(self) -> None:
        held = self.ctx.position(self.details)  # its own fills, and what TWS reports
        self.ctx.log.info(
            "holding %s %s (the account: %s), realized %.2f, unrealized %s",
            held.quantity,
            self.symbol,
            held.account,
            held.realized,
            held.unrealized,
        )


STRATEGY = Demo
