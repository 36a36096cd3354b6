"""The tape: one per instrument, the trades and quotes the price path prints.

No sockets here: the tape is a pure function of (seed, conId, second), asked directly. What the
tests pin down is what market data, matching and (later) history all rely on: every trade
prints inside the quote of its moment, the last trade is the path's price, nothing prints while
the market is closed, and the day's figures and bars are exactly those of the trades.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from twsapp.sim.clock import NEW_YORK
from twsapp.sim.instruments import Catalog
from twsapp.sim.prices import PriceModel
from twsapp.sim.tape import Tape

AAPL, EURUSD, ESZ6 = 265598, 12087792, 515416632
START = datetime(2026, 11, 23, 9, 30, tzinfo=NEW_YORK)  # a Monday open
CLOSE = 6 * 3600 + 1800  # 16:00, the regular close
EVENING = CLOSE + 4 * 3600  # 20:00, the end of extended hours


def tape(seed: int = 42) -> Tape:
    catalog = Catalog.builtin(reference_date=date(2026, 11, 23))
    return Tape(catalog, PriceModel(seed, catalog), START)


@pytest.fixture(scope="module")
def aapl() -> Tape:
    return tape()


def test_same_seed_same_tape_and_another_seed_another(aapl):
    again = tape()
    assert aapl.trades(AAPL, 0, 600) == again.trades(AAPL, 0, 600)
    assert aapl.quotes(AAPL, 0, 600) == again.quotes(AAPL, 0, 600)
    assert tape(seed=7).trades(AAPL, 1, 600) != aapl.trades(AAPL, 1, 600)


def test_every_trade_prints_inside_the_quote_of_its_moment(aapl):
    for start in (-3 * 3600, 0, CLOSE - 300, CLOSE + 600):  # pre-market, open, close, after
        trades = aapl.trades(AAPL, start, start + 300)
        assert trades, start
        for trade in trades:
            quote = aapl.quote_at(AAPL, trade.time)
            assert quote is not None and quote.time <= trade.time
            assert quote.bid <= trade.price <= quote.ask, (trade, quote)


def test_the_last_trade_is_the_path_price_and_moves_only_by_trades(aapl):
    prices = aapl.prices
    for t in [0, 1, 2, 59, 600.5, 3600.25, CLOSE - 1, CLOSE + 1]:
        last = aapl.last_trade(AAPL, t)
        assert last is not None and last.time <= t
        assert last.price == prices.price_at(AAPL, t), t
    trades = aapl.trades(AAPL, 0, 120)
    assert [t.time for t in trades] == sorted(t.time for t in trades)
    # a price change prints at the whole second; the prints between seconds repeat the price
    for trade in trades:
        second = int(trade.time) if trade.time == int(trade.time) else int(trade.time) + 1
        if trade.time != second:
            assert trade.price == prices.price_at(AAPL, second - 1)


def test_nothing_prints_while_the_market_is_closed(aapl):
    assert aapl.trades(AAPL, EVENING, EVENING + 8 * 3600) == []  # 20:00 to 04:00
    assert aapl.quotes(AAPL, EVENING, EVENING + 8 * 3600) == []
    assert aapl.quote_at(AAPL, EVENING + 60) is None
    frozen = aapl.last_quote(AAPL, EVENING + 60)
    assert frozen is not None and frozen.time < EVENING  # the last quote before the close
    saturday = 5 * 86_400
    assert not aapl.is_trading(AAPL, saturday) and aapl.trades(AAPL, saturday, saturday + 600) == []


def test_stocks_print_round_odd_and_mixed_lots_and_odd_lots_never_set_the_last(aapl):
    trades = aapl.trades(AAPL, 0, 1800)
    odd = [t for t in trades if t.odd_lot]
    assert odd and all(t.size < 100 for t in odd)
    assert any(t.size % 100 == 0 for t in trades) and any(
        t.size > 100 and t.size % 100 for t in trades
    )
    for t in range(0, 1800, 7):
        last = aapl.last_trade(AAPL, t)
        assert last is not None and not last.odd_lot


def test_the_day_is_the_sum_of_its_trades(aapl):
    for t in (0, 1234):
        day = aapl.day(AAPL, t)
        trades = aapl.trades(AAPL, day.session.start, t + 0.5)
        assert day.volume == sum((x.size for x in trades), Decimal(0))
        assert day.count == len(trades)
        assert (day.high, day.low) == (max(x.price for x in trades), min(x.price for x in trades))
    assert aapl.day(AAPL, 0).open == aapl.prices.price_at(AAPL, 0)  # the 09:30 print
    assert aapl.day(AAPL, -60).open is None  # before the regular open
    friday_close = -(2 * 86_400 + 17 * 3600 + 1800) - 1  # 15:59:59 on Friday the 20th
    assert aapl.day(AAPL, 0).prev_close == aapl.prices.price_at(AAPL, friday_close)
    assert aapl.day(AAPL, EVENING + 3600) == aapl.day(AAPL, EVENING - 1)  # frozen overnight


def test_history_before_the_start_is_as_deterministic_as_after(aapl):
    before = aapl.trades(AAPL, -86_400 - 600, -86_400)  # Sunday: closed
    assert before == []
    friday = -(2 * 86_400 + 18 * 3600)  # Friday 15:30
    trades = aapl.trades(AAPL, friday, friday + 300)
    assert trades and trades == tape().trades(AAPL, friday, friday + 300)
    assert aapl.prices.price_at(AAPL, 0) == 150.0  # the walk meets the base price at the start


def test_trade_bars_are_a_resample_of_the_trades(aapl):
    trades = aapl.trades(AAPL, 0, 300)
    epoch = pd.to_datetime([aapl.epoch(t.time) for t in trades], unit="s")
    frame = pd.DataFrame(
        {"price": [t.price for t in trades], "size": [float(t.size) for t in trades]}, index=epoch
    )
    frame["notional"] = frame["price"] * frame["size"]
    resampled = frame.resample("5s").agg(
        {"price": ["first", "max", "min", "last", "count"], "size": "sum", "notional": "sum"}
    )
    bars = aapl.bars(AAPL, 0, 300, 5)
    assert len(bars) == len(resampled) == 60
    for bar, (stamp, row) in zip(bars, resampled.iterrows(), strict=True):
        assert pd.Timestamp(aapl.epoch(bar.start), unit="s") == stamp
        assert (bar.open, bar.high, bar.low, bar.close) == tuple(row["price"][:4])
        assert (float(bar.volume), bar.count) == (row["size"]["sum"], row["price"]["count"])
        assert float(bar.wap) == pytest.approx(row["notional"]["sum"] / row["size"]["sum"])


def test_quote_bars_follow_the_quote_in_force(aapl):
    quotes = aapl.quotes(AAPL, -60, 60)
    for what, pick in (("MIDPOINT", "mid"), ("BID", "bid"), ("ASK", "ask")):
        for bar in aapl.bars(AAPL, 0, 60, 5, what):
            in_force = [q for q in quotes if q.time <= bar.start][-1:] + [
                q for q in quotes if bar.start < q.time < bar.end
            ]
            values = [getattr(q, pick) for q in in_force]
            assert (bar.open, bar.close) == (values[0], values[-1])
            assert (bar.high, bar.low) == (max(values), min(values))
            assert (bar.volume, bar.wap, bar.count) == (-1, -1, -1)


def test_currencies_are_quoted_not_traded():
    fx = tape()
    assert fx.trades(EURUSD, 0, 600) == [] and fx.last_trade(EURUSD, 600) is None
    quotes = fx.quotes(EURUSD, 0, 60)
    assert quotes and all(q.bid < q.mid < q.ask for q in quotes)
    day = fx.day(EURUSD, 60)
    assert day.volume == 0 and day.open is None and day.prev_close is not None
    assert day.low <= min(q.mid for q in quotes) and max(q.mid for q in quotes) <= day.high


def test_futures_trade_round_the_clock_in_contracts():
    es = tape()
    evening = EVENING + 3600  # 21:00 New York: the CME overnight session
    trades = es.trades(ESZ6, evening, evening + 300)
    assert trades and all(t.exchange == "CME" and t.size == int(t.size) for t in trades)
    day = es.day(ESZ6, evening)
    assert day.session.start == EVENING - 2 * 3600  # 17:00 Chicago = 18:00 New York
    maintenance = CLOSE + 3600 + 1800  # 17:30 New York: the daily halt
    assert es.quote_at(ESZ6, maintenance) is None


def test_sessions_are_listed_for_a_span(aapl):
    week = aapl.sessions(AAPL, 0, 5 * 86_400)
    assert len(week) == 4  # Monday to Friday but Thanksgiving
    assert [s.end - s.start for s in aapl.sessions(AAPL, 0, 5 * 86_400, regular=True)] == [
        23_400,
        23_400,
        23_400,
        12_600,  # Friday the 27th: the 13:00 close
    ]


def test_moments_map_to_unix_time(aapl):
    assert aapl.epoch(0) == START.timestamp()
    assert datetime.fromtimestamp(aapl.epoch(90), NEW_YORK) == START + timedelta(seconds=90)
