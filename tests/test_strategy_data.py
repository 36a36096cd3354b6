"""Market data through the app and a strategy's Context, over a real socket, on the simulator's
manual clock: quotes that agree with fills, minute bars that are a resample of the simulator's
own trades, 354 reaching the subscriber, unsubscribing, and bars and ticks going to the
strategy that asked for them only (and on its own thread: a failing or slow one stops nobody).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime

import pandas as pd
import pytest
from app_helpers import AAPL, WAIT, Events, barrier
from versions import FAST_VERSIONS

from twsapp.marketdata import BarEvent, DataError, MarketData, TickEvent
from twsapp.sim.clock import NEW_YORK
from twsapp.strategy import Context, Strategy, StrategyRunner

START = datetime(2026, 11, 23, 9, 30, tzinfo=NEW_YORK)  # a Monday open
NOSUB = {
    "symbol": "NOSUB", "secType": "STK", "conId": 990001, "primaryExchange": "NYSE",
    "currency": "USD", "minTick": 0.01, "basePrice": 20.0, "marketDataSubscription": False,
}  # fmt: skip


@pytest.fixture(params=FAST_VERSIONS, ids=lambda v: f"v{v}")
def market(sim_factory, request, tmp_path):
    path = tmp_path / "instruments.json"
    path.write_text(json.dumps([NOSUB]))
    return sim_factory(server_version=request.param, start=START, instruments_file=str(path))


def _ctx(app, name: str = "data") -> Context:
    return Context(app, logging.getLogger(f"test.{name}"), name, market=MarketData(app))


def _wait(condition, what: str) -> None:
    """Polls an inbox filled from the api thread (no book event to wake on)."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def _of(ctx: Context, kind: type) -> list:
    return [e for e in list(ctx.inbox) if isinstance(e, kind)]


def test_minute_bars_are_a_resample_of_the_simulators_trades(app_factory, market):
    app = app_factory(market)
    ctx = _ctx(app)
    stream = ctx.subscribe_bars("AAPL", 60)
    barrier(app)  # subscribed before the clock moves
    market.advance(185)
    _wait(lambda: len(_of(ctx, BarEvent)) == 3, "three minute bars")
    tape = market.exchange.tape
    trades = tape.trades(AAPL, 0, 180)
    frame = pd.DataFrame(
        {"price": [t.price for t in trades], "size": [float(t.size) for t in trades]},
        index=pd.to_datetime([tape.epoch(t.time) for t in trades], unit="s", utc=True),
    )
    expected = frame.resample("60s").agg({"price": ["first", "max", "min", "last", "count"],
                                          "size": "sum"})  # fmt: skip
    bars = _of(ctx, BarEvent)
    assert len(expected) == 3
    for event, (stamp, row) in zip(bars, expected.iterrows(), strict=True):
        bar = event.bar
        assert (event.symbol, event.con_id, event.seconds) == ("AAPL", AAPL, 60)
        assert pd.Timestamp(bar.time) == stamp
        assert (bar.open, bar.high, bar.low, bar.close) == tuple(row["price"][:4])
        assert (float(bar.volume), bar.count) == (row["size"]["sum"], row["price"]["count"])
    assert stream.last_bar == bars[-1].bar and stream.state == "active"

    ctx.unsubscribe(stream)
    barrier(app)
    assert stream.state == "cancelled" and ctx.streams() == []
    market.advance(60)
    barrier(app)
    assert len(_of(ctx, BarEvent)) == 3  # nothing after the cancel
    assert not market.exchange._bar_streams  # the simulator holds no subscription


def test_quotes_agree_with_the_simulator_and_with_a_market_fill(app_factory, market):
    app = app_factory(market)
    events = Events(app)
    ctx = _ctx(app)
    stream = ctx.subscribe_ticks("AAPL")
    barrier(app)
    market.advance(3)
    barrier(app)
    tape = market.exchange.tape
    shown = tape.quote_at(AAPL, 3)
    assert shown is not None
    _wait(lambda: stream.quote.ask == shown.ask and stream.quote.bid == shown.bid, "the quote")
    last = _of(ctx, TickEvent)[-1]
    assert last.quote == stream.quote and last.symbol == "AAPL"
    record = ctx.buy("AAPL", 10)
    events.status(record.order_id, "Filled")
    assert record.avg_fill_price == pytest.approx(stream.quote.ask)
    ctx.close(WAIT)
    barrier(app)
    assert stream.state == "cancelled"  # closing the context ends its streams
    assert not market.exchange._lines


def test_an_unsubscribed_instrument_reaches_the_subscriber_with_what_to_do(app_factory, market):
    app = app_factory(market)
    ctx = _ctx(app)
    stream = ctx.subscribe_ticks("NOSUB")
    _wait(lambda: _of(ctx, DataError), "the refusal")
    [error] = _of(ctx, DataError)
    assert (error.code, error.symbol, error.ended) == (354, "NOSUB", True)
    assert "not subscribed" in error.message and "set_data_type(3)" in error.message
    assert stream.state == "failed" and "354" in stream.error


class Recorder(Strategy):
    """Subscribes to what its name says; records each hook with its thread."""

    def on_start(self) -> None:
        self.calls: list[tuple[str, object]] = []
        symbol = self.ctx.name.split("-")[0]
        self.ctx.subscribe_bars(symbol, 5)
        self.ctx.subscribe_ticks(symbol)

    def on_bar(self, event: BarEvent) -> None:
        self.calls.append(("bar", event))
        if self.ctx.name.endswith("-raises"):
            raise RuntimeError("bad bar")
        if self.ctx.name.endswith("-sleeps"):
            release.wait(WAIT)

    def on_tick(self, event: TickEvent) -> None:
        self.calls.append(("tick", event))


release = threading.Event()


def _runner(app, name: str) -> StrategyRunner:
    runner = StrategyRunner(name, "tests", Recorder(_ctx(app, name)))
    app.subscribe(runner.post)
    return runner


def test_bars_and_ticks_go_to_their_subscriber_only_and_a_failing_one_stops_alone(
    app_factory, market
):
    """Three strategies: one raises in on_bar, one sleeps in it; the third keeps getting its
    bars and its market order fills meanwhile."""
    app = app_factory(market)
    release.clear()
    raises, sleeps, good = (
        _runner(app, "AAPL-raises"), _runner(app, "TSLA-sleeps"), _runner(app, "MSFT-good")
    )  # fmt: skip
    for runner in (raises, sleeps, good):
        runner.start()
    _wait(lambda: all(len(r.ctx.streams()) == 2 for r in (raises, sleeps, good)), "subscribed")
    barrier(app)
    market.advance(11)
    _wait(lambda: raises.failed, "the raising strategy to fail")
    assert raises.error == "on_bar: RuntimeError: bad bar"
    _wait(lambda: len([c for c in good.strategy.calls if c[0] == "bar"]) == 2, "good's bars")
    record = good.ctx.buy("MSFT", 5)
    events = Events(app)
    events.status(record.order_id, "Filled")  # while TSLA-sleeps is still inside on_bar
    assert sleeps.state == "running" and len(sleeps.strategy.calls) >= 1
    for runner, symbol in ((raises, "AAPL"), (sleeps, "TSLA"), (good, "MSFT")):
        assert {event.symbol for _, event in runner.strategy.calls} == {symbol}
    kinds = [kind for kind, _ in good.strategy.calls]
    assert "tick" in kinds and kinds.count("bar") == 2
    release.set()
    for runner in (sleeps, good):
        assert runner.stop(WAIT)


def test_the_configured_market_data_type_is_asked_for_before_anything_else():
    """tws.market_data_type = 3: the run asks TWS for delayed data right after connecting,
    before its sync and before any strategy subscribes."""
    from twsapp.config import config_from_dict
    from twsapp.engine import Engine
    from twsapp.sim import messages as m

    settings = {"mode": "sim", "tws": {"market_data_type": 3}, "control": {"enabled": False}}
    engine = Engine(config_from_dict(settings)).start()
    try:
        received = engine.sim.received(1)
        first = next(i for i, r in enumerate(received) if not isinstance(r, m.StartApi))
        assert isinstance(received[first], m.ReqMarketDataType)
        assert received[first].market_data_type == 3
    finally:
        engine.shutdown()
