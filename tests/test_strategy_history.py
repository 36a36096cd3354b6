"""History through the app over a real socket: frames equal to the simulator's own trades
resampled by pandas, and a bar stream that starts with history and goes on live with no gap and
no overlap, the minute it started in included whole."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pandas as pd
import pytest
from app_helpers import AAPL, barrier
from strategy_harness import tape_bars
from test_strategy_data import _of, _wait
from versions import FAST_VERSIONS

from twsapp.marketdata import BarEvent, MarketData
from twsapp.sim.clock import NEW_YORK
from twsapp.strategy import Context

START = datetime(2026, 11, 23, 10, 0, 30, tzinfo=NEW_YORK)  # half a minute into a bar


@pytest.fixture(params=FAST_VERSIONS, ids=lambda v: f"v{v}")
def market(sim_factory, request):
    return sim_factory(server_version=request.param, start=START)


def _ohlcv(frame: pd.DataFrame) -> list[tuple]:
    return [
        (t.tz_convert("UTC"), r.open, r.high, r.low, r.close, float(r.volume))
        for t, r in frame.iterrows()
    ]


def test_history_is_the_tape_resampled_with_a_time_zone_aware_index(app_factory, market):
    app = app_factory(market)
    frame = MarketData(app).history("AAPL", "1800 S", "1 min", use_rth=True)
    assert str(frame.index.tz) == "US/Eastern"
    assert frame.index[0] == pd.Timestamp("2026-11-23 09:30", tz="US/Eastern")
    expected = tape_bars(
        market, AAPL, -1830, 0, 60
    )  # whole bars from 09:30; the last: 10:00 to now
    assert len(frame) == len(expected) == 31
    assert _ohlcv(frame) == [
        (t, r.open, r.high, r.low, r.close, r.volume) for t, r in expected.iterrows()
    ]


def test_a_stream_with_history_goes_on_live_with_no_gap_and_no_overlap(app_factory, market):
    app = app_factory(market)
    ctx = Context(app, logging.getLogger("test.hist"), "hist", market=MarketData(app))
    stream = ctx.subscribe_bars("AAPL", 60, history="1800 S", use_rth=True)
    _wait(lambda: stream.history_done.is_set(), "the history")
    barrier(app)
    market.advance(155)  # to 10:03:05: the 10:00, 10:01 and 10:02 bars complete
    barrier(app)
    _wait(lambda: len([e for e in _of(ctx, BarEvent) if not e.historical]) == 3, "live bars")
    events = _of(ctx, BarEvent)
    flags = [e.historical for e in events]
    assert flags == [True] * 30 + [False] * 3  # 09:30 .. 09:59 from history, then live
    times = [e.bar.time for e in events]
    assert times == [times[0] + timedelta(minutes=i) for i in range(33)]  # no gap, no overlap
    expected = tape_bars(market, AAPL, -1830, 150, 60)
    assert [
        (e.bar.time, e.bar.open, e.bar.high, e.bar.low, e.bar.close, float(e.bar.volume))
        for e in events
    ] == [(t, r.open, r.high, r.low, r.close, r.volume) for t, r in expected.iterrows()]
    ctx.unsubscribe(stream)
    barrier(app)
    assert stream.state == "cancelled"
