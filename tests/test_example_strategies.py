"""The example strategies in strategies/, run on the simulator with a fixed seed, one bar at a
time: each one's exact trades (times, sides, quantities, prices) are computed here from the
simulator's tape with pandas and the strategy's documented rules, and must be what it did."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

import pandas as pd
import pytest
from app_helpers import AAPL, WAIT
from strategy_harness import Driven, sim_time, tape_bars
from versions import FAST_VERSIONS

from twsapp.sim import messages as m
from twsapp.sim.clock import NEW_YORK
from twsapp.strategy import ParamError, load_strategy

START = datetime(2026, 11, 23, 9, 30, tzinfo=NEW_YORK)  # a Monday open
SEED = 42


@pytest.fixture(params=FAST_VERSIONS, ids=lambda v: f"v{v}")
def seeded(sim_factory, app_factory, request):
    sim = sim_factory(server_version=request.param, start=START, seed=SEED)
    return sim, app_factory(sim)


def wilder_rsi(closes: pd.Series, period: int) -> pd.Series:
    """RSI by pandas: the first averages are plain means of `period` changes, later ones an
    exponential average with alpha 1/period."""
    delta = closes.diff().iloc[1:]
    out = pd.Series(float("nan"), index=closes.index)
    for i in range(period, len(delta) + 1):
        window = delta.iloc[:i]
        gains, losses = window.clip(lower=0), (-window).clip(lower=0)
        avg = []
        for series in (gains, losses):
            seeded = pd.concat([pd.Series([series.iloc[:period].mean()]), series.iloc[period:]])
            avg.append(seeded.ewm(alpha=1 / period, adjust=False).mean().iloc[-1])
        gain, loss = avg
        out.iloc[i] = 100.0 if loss == 0 else 100 - 100 / (1 + gain / loss)
    return out


def test_rsi_dca_buys_its_cash_amount_on_each_dip_after_its_cool_down(seeded):
    sim, app = seeded
    params = {"symbol": "AAPL", "cash": 1000.0, "threshold": 35.0, "period": 14,
              "cooldown": 5, "max_position": 20}  # fmt: skip
    driven = Driven(app, sim, "strategies.rsi_dca", params).start()
    driven.run(3600)
    driven.stop()
    assert driven.runner.state == "stopped", driven.runner.error

    bars = tape_bars(sim, AAPL, 0, 3600, 60)
    assert len(bars) == 60
    rsi = wilder_rsi(bars["close"], 14)
    expected, held, since = [], Decimal(0), None
    for i, (start, bar) in enumerate(bars.iterrows()):
        since = None if since is None else since + 1
        if math.isnan(rsi.iloc[i]) or rsi.iloc[i] >= 35.0:
            continue
        if since is not None and since < 5:
            continue
        shares = min(Decimal(math.floor(1000.0 / bar["close"])), Decimal(20) - held)
        if shares <= 0:
            continue
        step = (start - pd.Timestamp(START)).total_seconds() + 60  # the bar closes: it buys
        ask = sim.exchange.prices.quote(AAPL, step).ask
        expected.append((sim_time(sim, step), "BOT", shares, ask))
        held += shares
        since = 0
    assert len(expected) >= 3  # the cap stops it: its last purchase is the remainder
    assert held == 20 and expected[-1][2] < expected[0][2]
    assert driven.fills() == expected
    line = driven.ctx.position("AAPL")
    assert line.quantity == 20


def test_rsi_dca_refuses_a_threshold_outside_0_to_100():
    cls = load_strategy("strategies.rsi_dca")
    with pytest.raises(ParamError, match="threshold"):
        cls.check_params({"threshold": 120})
    with pytest.raises(ParamError, match="period"):
        cls.check_params({"period": 1})


def test_rsi_matches_pandas_on_a_known_series():
    from strategies.rsi_dca import rsi

    closes = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89,
              46.03, 45.61, 46.28, 46.28, 46.00, 46.03, 46.41, 46.22, 45.64]  # fmt: skip
    expected = wilder_rsi(pd.Series(closes), 14)
    for n in range(15, len(closes) + 1):
        assert rsi(closes[:n], 14) == pytest.approx(expected.iloc[n - 1])
    assert rsi(closes[:14], 14) is None


def test_twap_sends_equal_slices_one_per_interval_at_the_market(seeded):
    sim, app = seeded
    params = {"symbol": "AAPL", "side": "BUY", "quantity": 103, "duration": 600, "slices": 10}
    driven = Driven(app, sim, "strategies.twap", params).start()
    driven.run(900, 30)
    driven.stop()
    assert driven.runner.state == "stopped", driven.runner.error
    sizes = [Decimal(11)] * 3 + [Decimal(10)] * 7  # 103 = 10 x 10 + 3 shares for the first
    steps = [60 * (i + 1) for i in range(10)]  # each 1-minute bar's close sends a slice
    expected = [
        (sim_time(sim, step), "BOT", size, sim.exchange.prices.quote(AAPL, step).ask)
        for step, size in zip(steps, sizes, strict=True)
    ]
    assert driven.fills() == expected
    assert driven.ctx.streams() == []  # done: its bars are cancelled
    assert not sim.exchange._bar_streams


def test_twap_refuses_a_window_it_cannot_slice_before_connecting():
    cls = load_strategy("strategies.twap")
    for params, key in (({"duration": 600, "slices": 7}, "duration"),
                        ({"quantity": 5, "slices": 10}, "quantity"),
                        ({"side": "buy"}, "side")):  # fmt: skip
        with pytest.raises(ParamError, match=key):
            cls(None, params)


BREAKOUT = {"symbol": "AAPL", "lookback": 5, "take_profit": 0.3, "stop_loss": 0.3}


def test_bracket_breakout_trades_and_moves_its_stop_to_break_even(seeded):
    """Three brackets in the first hour. Entries are the closes that broke the 5-bar high, by
    pandas from the tape; the fills are the run's (the seed's) and each is checked against the
    tape: take-profits at their limit, stops at the bid after the last price fell to them; the
    second bracket's stop is moved to its entry once a close is half way to the target, by a
    modify that keeps its id and no longer names its filled parent."""
    sim, app = seeded
    driven = Driven(app, sim, "strategies.bracket_breakout", BREAKOUT).start()
    driven.run(3600)
    driven.stop()
    assert driven.runner.state == "stopped", driven.runner.error

    bars = tape_bars(sim, AAPL, 0, 3600, 60)
    prior_high = bars["high"].rolling(5).max().shift(1)
    breaks = bars.index[bars["close"] > prior_high]
    placed = [r for r in driven.ctx.orders() if r.parent_id is None]
    entries = [(r.order.lmtPrice, r.created) for r in placed]
    assert [price for price, _ in entries] == [150.27, 149.36, 149.65]
    assert {price for price, _ in entries} <= {bars.loc[t, "close"] for t in breaks}
    utc = pd.Timestamp(START).tz_convert("UTC")

    def at(h: int, m: int, s: int = 0) -> datetime:
        return (utc + pd.Timedelta(hours=h - 14, minutes=m - 30, seconds=s)).to_pydatetime()

    assert driven.fills() == [
        (at(14, 39, 1), "BOT", Decimal(10), 150.27),  # rests, then a print at 150.27
        (at(14, 47, 1), "SLD", Decimal(10), 149.96),  # stop 149.97 hit: sold at the bid
        (at(15, 6), "BOT", Decimal(10), 149.36),
        (at(15, 8, 36), "SLD", Decimal(10), 149.66),  # take-profit at its limit
        (at(15, 9), "BOT", Decimal(10), 149.64),  # marketable: at the ask
        (at(15, 11, 32), "SLD", Decimal(10), 149.34),  # stop 149.35 hit
    ]
    tape = sim.exchange.tape
    for when, _, _, price in driven.fills():
        step = (pd.Timestamp(when) - utc).total_seconds()
        q = tape.quote_at(AAPL, step)
        assert q is not None and q.bid <= price <= q.ask  # inside the quote of its moment

    moves = [r for r in sim.received(app.client_id)
             if isinstance(r, m.PlaceOrder) and r.order_id == placed[1].order_id + 2]  # fmt: skip
    first, moved = moves
    assert (first.order.auxPrice, first.order.parentId) == (149.06, placed[1].order_id)
    assert (moved.order.auxPrice, moved.order.parentId) == (149.36, 0)
    assert [r.status for r in driven.ctx.orders()] == [
        "Filled", "Cancelled", "Filled",
        "Filled", "Filled", "Cancelled",
        "Filled", "Cancelled", "Filled",
    ]  # fmt: skip
    line = driven.ctx.position("AAPL")
    assert line.quantity == 0
    gross = (149.96 - 150.27 + 149.66 - 149.36 + 149.34 - 149.64) * 10
    fees = sum(f.commission or 0 for r in driven.ctx.orders() for f in r.fills.values())
    assert line.realized == pytest.approx(gross - fees)


def test_rsi_dca_warms_up_from_history_and_buys_nothing_on_a_past_bar(seeded):
    sim, app = seeded
    params = {"symbol": "AAPL", "threshold": 99.0, "period": 14, "history": "1 D"}
    driven = Driven(app, sim, "strategies.rsi_dca", params).start()
    [stream] = driven.ctx.streams()
    assert stream.history_done.wait(WAIT)  # history is answered later than a barrier
    driven.settle()
    strategy = driven.strategy
    assert len(strategy.closes) > 14  # the RSI is ready before the first live bar
    assert driven.ctx.orders() == []  # an RSI below 99 on past bars bought nothing
    driven.run(120)
    driven.stop()
    assert len(driven.ctx.orders()) == 1  # the first live bar: below 99, bought
