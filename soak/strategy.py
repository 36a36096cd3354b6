"""The soak's strategy: steady order traffic of every kind a long run sends, on a real-time timer.

Each tick it rests a GTC limit buy far below the market (kept to ``resting`` at most: the
oldest is cancelled), and every ``market_every``-th tick it sends a market order instead,
alternating buy and sell so the position stays small. GTC, because a DAY order would end at
the first close and the later restarts would find nothing resting. While TWS is away the app
refuses orders (``[tws] while_disconnected = "refuse"``): the tick is counted and skipped,
which is what a strategy written for weeks must do.
"""

from __future__ import annotations

from decimal import Decimal

from twsapp.exceptions import OrderRefused
from twsapp.marketdata import TickEvent
from twsapp.strategy import Param, Strategy, positive


class Soak(Strategy):
    symbol = Param(str, "AAPL", "the instrument it trades")
    every = Param(float, 0.5, "real seconds between two actions", positive)
    resting = Param(int, 5, "resting limit orders kept working at most", positive)
    market_every = Param(int, 4, "every n-th action is a market order", positive)
    quantity = Param(Decimal, 1, "shares per order", positive)

    def on_start(self) -> None:
        self.details = self.ctx.lookup(self.symbol)
        self.ctx.subscribe_ticks(self.details)
        self.bid: float | None = None
        self.step = 0
        self.refused = 0
        self.rest_ids: list[int] = []
        self.ctx.schedule(self.every, "act")

    def on_tick(self, event: TickEvent) -> None:
        if event.quote.bid:
            self.bid = event.quote.bid

    def on_timer(self, name: str) -> None:
        bid = self.bid
        if bid is None:
            return
        self.step += 1
        try:
            if self.step % self.market_every == 0:
                sell = (self.step // self.market_every) % 2 == 0
                (self.ctx.sell if sell else self.ctx.buy)(self.details, self.quantity)
            else:
                self.rest(bid)
        except OrderRefused as exc:  # TWS is restarting: try again on a later tick
            self.refused += 1
            self.ctx.log.debug("refused: %s", exc)

    def rest(self, bid: float) -> None:
        price = self.ctx.app.contracts.round_price(self.details, bid * 0.8, "down")
        record = self.ctx.buy(self.details, self.quantity, price, tif="GTC")
        self.rest_ids.append(record.order_id)
        working = [i for i in self.rest_ids if not self._done(i)]
        for order_id in working[: -self.resting]:
            self.ctx.cancel(order_id)
        self.rest_ids = working[-self.resting :]

    def _done(self, order_id: int) -> bool:
        record = self.ctx.book.get(order_id)
        return record is None or record.done

    def on_stop(self) -> None:
        self.ctx.log.info("soak strategy: %d actions, %d refused while TWS was away",
                          self.step, self.refused)  # fmt: skip


STRATEGY = Soak
