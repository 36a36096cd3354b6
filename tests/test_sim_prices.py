"""Simulated time and prices: deterministic, on tick, positive, replayable."""

from __future__ import annotations

import itertools
import math
import random
import statistics
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from twsapp.sim.clock import (
    NEW_YORK,
    SimClock,
    default_start,
    is_us_early_close,
    us_market_holidays,
)
from twsapp.sim.instruments import MARKET_RULES, Catalog, increment_at, is_on_increment
from twsapp.sim.prices import BLOCK, PriceModel

AAPL, IBM, IBM_IBIS, EURUSD, ESZ6 = 265598, 8314, 38709539, 12087792, 515416632


class FakeWall:
    """A wall clock tests move by hand: no sleeping, no flakiness."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.builtin(reference_date=date(2026, 11, 23))


def model(catalog: Catalog, seed: int = 42, step_seconds: float = 1.0) -> PriceModel:
    return PriceModel.for_catalog(catalog, seed, step_seconds)


# --------------------------------------------------------------------------- clock

START = datetime(2026, 11, 23, 9, 30, tzinfo=NEW_YORK)


def test_manual_clock_moves_only_when_advanced() -> None:
    wall = FakeWall()
    clock = SimClock(START, speed=0, wall=wall)
    wall.now += 3600
    assert clock.elapsed() == 0.0 and clock.now() == START
    clock.advance(90.5)
    assert clock.elapsed() == 90.5
    assert clock.now() == START + timedelta(seconds=90.5)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_accelerated_clock_scales_wall_time_and_adds_advances() -> None:
    wall = FakeWall()
    clock = SimClock(START, speed=1000, wall=wall)
    wall.now += 23.4  # 23.4 wall seconds = one 6.5 h session
    assert clock.elapsed() == pytest.approx(23_400)
    assert clock.now() == START + timedelta(hours=6, minutes=30)
    clock.advance(600)
    assert clock.elapsed() == pytest.approx(24_000)
    clock.set_speed(0)  # freeze: elapsed time is kept
    wall.now += 100
    assert clock.elapsed() == pytest.approx(24_000)
    clock.set_speed(2)
    wall.now += 5
    assert clock.elapsed() == pytest.approx(24_010)


def test_clock_conversions_and_validation() -> None:
    clock = SimClock(START, speed=0, wall=FakeWall())
    assert clock.at(60) == START + timedelta(minutes=1)
    assert clock.seconds_at(START + timedelta(hours=1)) == 3600
    with pytest.raises(ValueError):
        SimClock(datetime(2026, 11, 23, 9, 30))  # naive
    with pytest.raises(ValueError):
        SimClock(START, speed=-1)


def test_clock_is_thread_safe_under_concurrent_advances() -> None:
    clock = SimClock(START, speed=0, wall=FakeWall())

    def work() -> None:
        for _ in range(1000):
            clock.advance(0.5)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.elapsed() == 4000.0


def test_default_start_is_the_next_regular_open() -> None:
    # Saturday -> Monday; Thanksgiving -> the day after; a weekday -> itself; Good Friday.
    assert default_start(date(2026, 11, 21)) == datetime(2026, 11, 23, 9, 30, tzinfo=NEW_YORK)
    assert default_start(date(2026, 11, 26)) == datetime(2026, 11, 27, 9, 30, tzinfo=NEW_YORK)
    assert default_start(date(2026, 11, 24)) == datetime(2026, 11, 24, 9, 30, tzinfo=NEW_YORK)
    assert default_start(date(2026, 4, 3)).date() == date(2026, 4, 6)
    start = default_start(date(2026, 7, 1))
    assert start.utcoffset() == timedelta(hours=-4)  # daylight time: 13:30 UTC
    assert default_start().tzinfo is NEW_YORK


def test_us_holidays_match_the_published_nyse_calendar() -> None:
    assert sorted(us_market_holidays(2025)) == [
        date(2025, 1, 1),
        date(2025, 1, 9),  # national day of mourning (President Carter): the NYSE closed
        date(2025, 1, 20),
        date(2025, 2, 17),
        date(2025, 4, 18),
        date(2025, 5, 26),
        date(2025, 6, 19),
        date(2025, 7, 4),
        date(2025, 9, 1),
        date(2025, 11, 27),
        date(2025, 12, 25),
    ]
    assert sorted(us_market_holidays(2026)) == [
        date(2026, 1, 1),
        date(2026, 1, 19),
        date(2026, 2, 16),
        date(2026, 4, 3),
        date(2026, 5, 25),
        date(2026, 6, 19),
        date(2026, 7, 3),
        date(2026, 9, 7),
        date(2026, 11, 26),
        date(2026, 12, 25),
    ]
    assert date(2022, 1, 1) not in us_market_holidays(2022)  # Saturday: not observed
    assert date(2023, 1, 2) in us_market_holidays(2023)  # Sunday -> Monday
    assert is_us_early_close(date(2025, 7, 3)) and is_us_early_close(date(2025, 11, 28))
    assert is_us_early_close(date(2025, 12, 24)) and not is_us_early_close(date(2025, 12, 26))


# --------------------------------------------------------------------------- walk


def test_same_seed_same_path_regardless_of_query_order(catalog: Catalog) -> None:
    times = [0, 1, 59, 3600, 4097, 23_400, 100_000]
    first = model(catalog)
    forward = {(c, t): first.price_at(c, t) for c in (AAPL, ESZ6, EURUSD) for t in times}
    second = model(catalog)
    backward = {
        (c, t): second.price_at(c, t) for c in (EURUSD, ESZ6, AAPL) for t in reversed(times)
    }
    assert forward == backward
    quotes_a = [first.quote(AAPL, t) for t in times]
    quotes_b = [model(catalog).quote(AAPL, t) for t in times]
    assert quotes_a == quotes_b


def test_different_seed_different_path(catalog: Catalog) -> None:
    a = [model(catalog, seed=1).price_at(AAPL, t) for t in range(0, 7200, 300)]
    b = [model(catalog, seed=2).price_at(AAPL, t) for t in range(0, 7200, 300)]
    assert a != b
    assert a[0] == b[0] == 150.0  # both start at the instrument's base price


def test_instruments_do_not_share_a_stream(catalog: Catalog) -> None:
    m = model(catalog)
    m.add(1, 100.0, 0.02, [(0.0, 0.01)])
    m.add(2, 100.0, 0.02, [(0.0, 0.01)])
    assert [m.price_at(1, t) for t in range(1, 600)] != [m.price_at(2, t) for t in range(1, 600)]


def test_prices_are_on_tick(catalog: Catalog) -> None:
    m = model(catalog)
    for inst in catalog:
        rule = catalog.market_rule(inst.rule_for_exchange(inst.contract.exchange))
        for t in range(0, 50_000, 97):
            price = m.price_at(inst.con_id, t)
            assert is_on_increment(rule, price), (inst.symbol, t, price)
            # and exactly representable: no 1.0873500000000001 on the wire
            digits = -Decimal(repr(increment_at(rule, price))).as_tuple().exponent
            assert -Decimal(repr(price)).as_tuple().exponent <= digits, (inst.symbol, price)


def test_prices_stay_positive_over_a_long_horizon(catalog: Catalog) -> None:
    m = PriceModel(seed=7, step_seconds=60)
    m.add(1, 0.50, 0.60, MARKET_RULES[26])  # a 60 %-a-day penny stock, two years of minutes
    horizon = 2 * 365 * 86_400
    prices = [m.price_at(1, t) for t in range(0, horizon, 3_600)]
    assert min(prices) >= 0.01
    assert all(is_on_increment(MARKET_RULES[26], p) for p in prices)
    assert len(set(prices)) > 10  # it did move


def test_daily_volatility_is_the_configured_fraction() -> None:
    m = PriceModel(seed=3, step_seconds=60)
    m.add(1, 1000.0, 0.02, [(0.0, 0.0001)])
    day = 23_400
    closes = [m.price_at(1, d * day) for d in range(401)]
    returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
    assert statistics.pstdev(returns) == pytest.approx(0.02, rel=0.15)


def test_incremental_cache_agrees_with_a_fresh_model(catalog: Catalog) -> None:
    walked = model(catalog)
    for t in range(0, 12 * BLOCK, 7):  # walk forward through a dozen blocks
        walked.price_at(AAPL, t)
    rng = random.Random(5)
    probes = [rng.randrange(0, 12 * BLOCK) for _ in range(25)] + [BLOCK, BLOCK + 1, 0]
    for t in probes:  # old blocks are regenerated from checkpoints
        assert walked.price_at(AAPL, t) == model(catalog).price_at(AAPL, t), t


def test_iter_prices_yields_every_step(catalog: Catalog) -> None:
    m = model(catalog)
    steps = list(m.iter_prices(AAPL, 10, 20))
    assert [t for t, _ in steps] == [float(t) for t in range(11, 21)]
    assert [p for _, p in steps] == [m.price_at(AAPL, t) for t in range(11, 21)]


def test_quote_brackets_last_with_a_one_or_two_tick_spread(catalog: Catalog) -> None:
    m = model(catalog)
    for con_id, tick, lot in ((AAPL, 0.01, 100), (ESZ6, 0.25, 1), (EURUSD, 0.00005, 100_000)):
        spreads = set()
        for t in range(0, 5_000, 13):
            q = m.quote(con_id, t)
            assert 0 < q.bid <= q.last <= q.ask
            assert q.last == m.price_at(con_id, t)
            spread = round((q.ask - q.bid) / tick)
            spreads.add(spread)
            assert abs(q.ask - q.bid - spread * tick) < tick / 1000
            for size in (q.bid_size, q.ask_size):
                assert size % lot == 0 and lot <= size <= 8 * lot
        assert spreads == {1, 2}


def test_tiered_rule_prices_use_the_tier_increment(catalog: Catalog) -> None:
    m = model(catalog)
    for t in range(0, 20_000, 111):
        assert m.price_at(IBM_IBIS, t) * 10 == round(m.price_at(IBM_IBIS, t) * 10)  # 0.1 tier


def test_volatility_is_configurable(catalog: Catalog) -> None:
    m = model(catalog)
    m.set_volatility(IBM, 0.0)
    assert {m.price_at(IBM, t) for t in range(0, 86_400, 600)} == {250.0}
    with pytest.raises(KeyError):
        m.price_at(999, 0)
    with pytest.raises(ValueError):
        m.add(5, -1.0, 0.02, MARKET_RULES[26])


# --------------------------------------------------------------------------- replay

BARS = """time,open,high,low,close,volume
0,100.00,101.00,99.50,100.80,1200
60,100.80,100.90,99.00,99.20,800
120,99.20,99.60,99.10,99.50,500
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bars.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_replay_steps_through_each_bar(catalog: Catalog, tmp_path: Path) -> None:
    m = model(catalog)
    bars = m.load_bars_csv(AAPL, write(tmp_path, BARS))
    assert [(b.start, b.end) for b in bars] == [(0, 60), (60, 120), (120, 180)]
    path = [m.price_at(AAPL, t) for t in range(200)]
    assert path[0] == 100.00 and path[60] == 100.80 and path[120] == 99.20
    assert path[20] == 99.50 and path[40] == 101.00  # up bar: open, low, high, close
    assert path[80] == 100.90 and path[100] == 99.00  # down bar: open, high, low, close
    assert max(path[0:60]) == 101.00 and min(path[0:60]) == 99.50
    assert path[199] == 99.50 == path[180]  # held at the last close
    assert all(is_on_increment(MARKET_RULES[26], p) for p in path)
    q = m.quote(AAPL, 40)
    assert q.last == 101.00 and q.bid < q.ask
    other = model(catalog)
    other.load_bars_csv(AAPL, write(tmp_path, BARS))
    assert [other.price_at(AAPL, t) for t in range(200)] == path


def test_csv_replay_with_absolute_times_and_an_origin(catalog: Catalog, tmp_path: Path) -> None:
    text = (
        "Time,Open,High,Low,Close,Volume\n"
        "20261123 09:31:00 US/Eastern,150,151,149.5,150.5,10\n"
        "20261123 09:32:00 US/Eastern,150.5,150.5,150,150.2,10\n"
    )
    m = model(catalog)
    m.load_bars_csv(AAPL, write(tmp_path, text), origin=START)
    assert m.price_at(AAPL, 0) == 150.0  # before the first bar: its open
    assert m.price_at(AAPL, 60) == 150.0 and m.price_at(AAPL, 120) == 150.5
    epoch = datetime(2026, 11, 23, 14, 31, tzinfo=UTC).timestamp()
    m.load_bars_csv(AAPL, write(tmp_path, f"time,open,high,low,close\n{epoch},9,9,9,9\n"), START)
    assert m.price_at(AAPL, 60) == 9.0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("time,open,high,low\n0,1,1,1\n", "missing column"),
        ("time,open,high,low,close\n60,1,1,1,1\n0,1,1,1,1\n", "strictly increase"),
        ("time,open,high,low,close\n0,100,99,98,100\n", "bracket"),
        ("time,open,high,low,close\n0,100,101,-1,100\n", "must be > 0"),
        ("time,open,high,low,close\nyesterday,1,1,1,1\n", "cannot read time"),
        ("time,open,high,low,close\n", "no bars"),
    ],
)
def test_bad_csv_is_refused_with_the_line(catalog, tmp_path, text, problem) -> None:
    m = model(catalog)
    before = m.price_at(AAPL, 30)
    with pytest.raises(ValueError, match=problem):
        m.load_bars_csv(AAPL, write(tmp_path, text))
    assert m.price_at(AAPL, 30) == before  # the walk is untouched


# --------------------------------------------------------------------------- before the start


def test_the_walk_runs_backwards_from_the_start_on_tick_and_deterministic(catalog: Catalog) -> None:
    """History needs prices before second 0: the walk extends backwards (its own seeded
    blocks) and meets the base price at the start."""
    m = model(catalog)
    rule = MARKET_RULES[26]
    back = [m.price_at(AAPL, -t) for t in range(0, 3 * BLOCK, 97)]
    assert back[0] == 150.0 and len(set(back)) > 10
    assert all(is_on_increment(rule, p) for p in back)
    assert back == [model(catalog).price_at(AAPL, -t) for t in range(0, 3 * BLOCK, 97)]
    assert [m.price_at(AAPL, -t) for t in range(1, 50)] != [
        m.price_at(AAPL, t) for t in range(1, 50)
    ]


def test_backwards_volatility_is_the_configured_fraction() -> None:
    m = PriceModel(seed=3, step_seconds=60)
    m.add(1, 1000.0, 0.02, [(0.0, 0.0001)])
    day = 23_400
    closes = [m.price_at(1, -d * day) for d in range(401)]
    returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
    assert statistics.pstdev(returns) == pytest.approx(0.02, rel=0.15)


def test_bulk_paths_and_midpoints_agree_with_single_prices(catalog: Catalog) -> None:
    """``path``, ``quotes`` and ``mids`` (what the tape reads a session with) are the same
    numbers as ``price_at`` and ``quote``, across the start and block edges."""
    m = model(catalog)
    for con_id in (AAPL, IBM_IBIS, EURUSD, ESZ6):
        first, last = -BLOCK - 50, BLOCK + 50
        path = m.path(con_id, first, last)
        assert path == [m.price_at(con_id, t) for t in range(first, last + 1)]
        quotes = m.quotes(con_id, -20, 20)
        assert quotes == [m.quote(con_id, t) for t in range(-20, 21)]
        digits = m.decimals(con_id) + 1
        assert m.mids(con_id, -20, 20) == [round((q.bid + q.ask) / 2, digits) for q in quotes]
