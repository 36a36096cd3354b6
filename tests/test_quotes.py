"""Quotes from ticks, bars of bars, and history frames: the pure parts of market data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from ibapi.common import BarData
from ibapi.const import UNSET_DECIMAL

from twsapp.marketdata import data_error_text, history_frame
from twsapp.quotes import Bar, BarAggregator, Quote

NOW = datetime(2025, 1, 6, 15, 0, tzinfo=UTC)


def test_a_quote_follows_live_and_delayed_ticks():
    q = Quote("AAPL")
    q = q.apply("tickPrice", (1, 150.01, None), NOW)
    q = q.apply("tickPrice", (2, 150.03, None), NOW)
    q = q.apply("tickSize", (0, Decimal(300)), NOW)
    q = q.apply("tickPrice", (68, 150.02, None), NOW)  # a delayed last sets `last` too
    q = q.apply("marketDataType", (3,), NOW)
    q = q.apply("tickString", (45, "1736175600"), NOW)
    assert (q.bid, q.ask, q.last, q.bid_size, q.data_type) == (150.01, 150.03, 150.02, 300, 3)
    assert q.mid == pytest.approx(150.02) and q.last_time == datetime(2025, 1, 6, 15, 0, tzinfo=UTC)
    assert q.apply("tickPrice", (1, -1.0, None), NOW).bid is None  # TWS's "no bid"
    assert q.apply("tickGeneric", (49, 0.0), NOW) is q  # nothing a quote holds
    assert q.apply("tickSize", (8, UNSET_DECIMAL), NOW).volume is None


def five(seconds: int, o: float, h: float, low: float, c: float, v: int = 100) -> Bar:
    start = NOW + timedelta(seconds=seconds)
    return Bar(start, o, h, low, c, Decimal(v), Decimal(str(c)), 1)


def test_five_second_bars_make_clock_aligned_minutes():
    agg = BarAggregator(60)
    out: list[Bar] = []
    for i in range(12):
        out += agg.add(five(5 * i, 100 + i, 101 + i, 99 + i, 100.5 + i))
    [minute] = out
    assert minute.time == NOW and (minute.open, minute.high, minute.low, minute.close) == (
        100,
        112,
        99,
        111.5,
    )
    assert minute.volume == 1200 and minute.count == 12
    expected_wap = sum(Decimal(str(100.5 + i)) * 100 for i in range(12)) / 1200
    assert minute.wap == expected_wap


def test_a_gap_closes_the_open_bar_when_the_next_period_starts():
    agg = BarAggregator(60)
    assert agg.add(five(0, 1, 2, 0.5, 1.5)) == []
    [closed] = agg.add(five(65, 3, 4, 2.5, 3.5))  # no bar from 00:05 to 00:55: a gap
    assert (closed.time, closed.close) == (NOW, 1.5)


def test_bar_sizes_must_be_multiples_of_five_seconds():
    with pytest.raises(ValueError, match="multiple of 5"):
        BarAggregator(7)


def bar_data(date: str, close: float) -> BarData:
    bar = BarData()
    bar.date, bar.open, bar.high, bar.low, bar.close = date, close, close, close, close
    bar.volume, bar.wap, bar.barCount = Decimal(10), Decimal(str(close)), 3
    return bar


def test_history_frames_have_a_time_zone_aware_index_in_the_contracts_zone():
    zone = ZoneInfo("US/Eastern")
    frame = history_frame([bar_data("1736175600", 1.0), bar_data("1736175660", 2.0)], zone)
    assert str(frame.index.tz) == "US/Eastern" and frame.index.name == "time"
    assert frame.index[0] == pd.Timestamp("2025-01-06 10:00", tz="US/Eastern")
    assert list(frame.columns) == ["open", "high", "low", "close", "volume", "wap", "count"]
    daily = history_frame([bar_data("20250106", 3.0)], zone)
    assert daily.index[0] == pd.Timestamp("2025-01-06", tz="US/Eastern")
    empty = history_frame([], zone)
    assert empty.empty and str(empty.index.tz) == "US/Eastern"


def test_market_data_errors_say_what_to_do():
    text = data_error_text("AAPL", 354, "Requested market data is not subscribed.")
    assert "not subscribed" in text and "set_data_type(3)" in text and "AAPL" in text
    assert "delayed data instead" in data_error_text("AAPL", 10167, "Displaying delayed data")


def test_the_period_a_subscription_starts_in_is_not_a_bar():
    """Subscribed at 00:20, the first minute is seen only from then on: no bar for it; the
    next minute, seen whole, is the first bar out."""
    agg = BarAggregator(60)
    out: list[Bar] = []
    for i in range(4, 24):
        out += agg.add(five(5 * i, 100 + i, 101 + i, 99 + i, 100.5 + i))
    [minute] = out
    assert minute.time == NOW + timedelta(seconds=60) and minute.open == 112
    assert minute.count == 12
