"""Run one strategy module against the simulator on its manual clock, step by step.

Each step moves the simulated clock, waits until the app has decoded what the simulator sent
(a reqCurrentTime barrier), until the strategy has handled every event that produced, and until
the simulator has taken every order the strategy sent meanwhile. So a strategy's trades depend
on the seed and the tape only, and a test can compute them from the tape by itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from app_helpers import WAIT

from twsapp.marketdata import MarketData
from twsapp.session import TwsApp
from twsapp.sim.server import SimServer
from twsapp.strategy import Context, StrategyRunner, load_strategy


class Driven:
    """A strategy of `module` with `params`, run by a StrategyRunner on `app`, as the engine
    would: every app event is counted in its P&L, then queued for it."""

    def __init__(
        self, app: TwsApp, sim: SimServer, module: str, params: Mapping[str, Any], name: str = ""
    ) -> None:
        self.app, self.sim = app, sim
        name = name or module.rsplit(".", 1)[-1]
        cls = load_strategy(module)
        ctx = Context(app, logging.getLogger(f"test.{name}"), name, market=MarketData(app))
        self.strategy = cls(ctx, dict(params))
        self.runner = StrategyRunner(name, module, self.strategy)
        self._unsubscribe = app.subscribe(self._on_event)
        self._last_barrier = 0.0

    @property
    def ctx(self) -> Context:
        return self.strategy.ctx

    def _on_event(self, event: Any) -> None:
        self.ctx.account_for(event)
        self.runner.post(event)

    def start(self) -> Driven:
        self.runner.start()
        self.settle()
        return self

    def settle(self) -> None:
        """Until nothing moves: what the simulator sent is handled, what the strategy sent
        reached the simulator, and the answers to that are handled too. A barrier's answer
        means the simulator has handled everything sent before it, so the count of requests
        it received then says whether the strategy sent anything."""
        self._barrier()
        while True:
            seen = len(self.sim.received(self.app.client_id))
            assert self.runner.settle(WAIT), (
                f"{self.runner.name} did not settle: {self.runner.error}"
            )
            self._barrier()
            if len(self.sim.received(self.app.client_id)) == seen + 1:  # only the barrier
                return

    def run(self, seconds: int, step: int = 60) -> None:
        for _ in range(seconds // step):
            self.sim.advance(step)
            self.settle()

    def _barrier(self) -> None:
        """reqCurrentTime, kept under TWS's 50 messages a second (the simulator enforces it:
        a message over the limit is dropped with error 100, as TWS does)."""
        wait = self._last_barrier + 1 / 20 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_barrier = time.monotonic()
        self.app.current_time()

    def stop(self) -> None:
        self.runner.stop(WAIT)
        self._unsubscribe()

    def fills(self) -> list[tuple[datetime, str, Decimal, float]]:
        """The strategy's executions as the simulator recorded them: (time, side, shares,
        price), oldest first."""
        out = []
        for record in self.ctx.orders():
            for f in record.fills.values():
                assert f.price is not None
                out.append((exec_time(f.time), f.side, f.shares, f.price))
        return sorted(out)


def tape_bars(sim: SimServer, con_id: int, start: float, end: float, seconds: int) -> pd.DataFrame:
    """Bars of `seconds` from the tape's own trades, by pandas (not the simulator's bar code):
    what a strategy's bars must be."""
    tape = sim.exchange.tape
    # the tape answers (start, end]; a bar is [start, start + seconds)
    trades = [t for t in tape.trades(con_id, start - 1, end) if start <= t.time < end]
    frame = pd.DataFrame(
        {"price": [t.price for t in trades], "size": [float(t.size) for t in trades]},
        index=pd.to_datetime([tape.epoch(t.time) for t in trades], unit="s", utc=True),
    )
    bars = frame["price"].resample(f"{seconds}s").ohlc()
    bars["volume"] = frame["size"].resample(f"{seconds}s").sum()
    return bars.dropna()


def exec_time(text: str) -> datetime:
    """An execution's time as TWS writes it ("20261123 09:31:00 US/Eastern"), in UTC."""
    day, clock, *zone = text.split()
    moment = datetime.strptime(f"{day} {clock}", "%Y%m%d %H:%M:%S")
    return moment.replace(tzinfo=ZoneInfo(zone[0]) if zone else UTC).astimezone(UTC)


def sim_time(sim: SimServer, step: float) -> datetime:
    return datetime.fromtimestamp(sim.exchange.tape.epoch(step), UTC)
