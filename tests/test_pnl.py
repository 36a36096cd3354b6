"""Per-strategy P&L without a socket: FIFO lots, commissions (late ones too), shorts, flips,
corrections, the price source, and the frame; each number against a hand computation."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from itertools import count

import pytest

from twsapp.book.model import Fill
from twsapp.pnl import PNL_COLUMNS, LastFillPrices, StrategyPnl, pnl_df

_ids = count(1)


def fill(side: str, shares: int | str, price: float, commission: float | None = None, **kw):
    n = next(_ids)
    values = {
        "exec_id": f"0001f4e8.{n:08x}.01.01",
        "order_id": n,
        "client_id": 1,
        "perm_id": None,
        "time": "20250106 10:00:00 US/Eastern",
        "side": {"BUY": "BOT", "SELL": "SLD"}[side],
        "shares": Decimal(shares),
        "price": price,
        "cum_qty": None,
        "avg_price": None,
        "exchange": "ISLAND",
        "account": "DU1234567",
        "con_id": 265598,
        "symbol": "AAPL",
        "commission": commission,
        **kw,
    }
    return Fill(**values)


def test_buy_buy_sell_is_fifo_with_commissions_as_by_hand():
    """buy 10 @ 100 ($1), buy 10 @ 102 ($1), sell 15 @ 105 ($1.50).

    By hand: the first lot costs 100.10 a share, the second 102.10 (its commission spread).
    Selling 15 closes the first lot, (105 - 100.10) x 10 = 49.00, and 5 of the second,
    (105 - 102.10) x 5 = 14.50, less the sale's own 1.50: realized 62.00. Left: 5 at 102.10,
    marked at the last fill, 105: unrealized (105 - 102.10) x 5 = 14.50. Commissions 3.50;
    realized + unrealized = 80 of trading gains (50 + 15 + 15) - 3.50.
    """
    ledger = StrategyPnl()
    for f in (
        fill("BUY", 10, 100.0, 1.0),
        fill("BUY", 10, 102.0, 1.0),
        fill("SELL", 15, 105.0, 1.5),
    ):
        ledger.add_fill(f)
    [line] = ledger.lines()
    assert line.position == Decimal(5)
    assert line.avg_cost == pytest.approx(102.10)
    assert line.realized == pytest.approx(62.00)
    assert line.unrealized == pytest.approx(14.50)
    assert line.commissions == pytest.approx(3.50)
    assert (line.fills, line.last_price, line.con_id, line.symbol) == (3, 105.0, 265598, "AAPL")


def test_a_late_commission_counts_as_if_it_came_with_its_fill():
    ledger = StrategyPnl()
    first, second = fill("BUY", 10, 100.0), fill("BUY", 10, 102.0, 1.0)
    sale = fill("SELL", 15, 105.0, 1.5)
    for f in (first, second, sale):
        ledger.add_fill(f)
    before = ledger.lines()[0]
    assert before.realized == pytest.approx(63.00) and before.commissions == pytest.approx(2.5)
    ledger.add_commission(first.exec_id, 1.0)  # after the sale that closed its lot
    after = ledger.lines()[0]
    assert after.realized == pytest.approx(62.00) and after.unrealized == pytest.approx(14.50)
    ledger.add_commission(first.exec_id, 1.0)  # the same report again: no change
    assert ledger.lines()[0] == after
    ledger.add_commission(first.exec_id, 1.2)  # reported again, another amount: the new one
    assert ledger.lines()[0].realized == pytest.approx(61.80)
    ledger.add_commission("unknown-exec", 5.0)  # a report before its fill: kept, not counted
    assert ledger.lines()[0].commissions == pytest.approx(3.70)
    late = fill("SELL", 5, 101.0, exec_id="unknown-exec")
    ledger.add_fill(late)  # it arrives: its commission is joined
    line = ledger.lines()[0]
    assert line.position == 0 and line.commissions == pytest.approx(8.70)
    # the last 5 of the second lot: (101 - 102.10) x 5 - 5.00 = -10.50
    assert line.realized == pytest.approx(61.80 - 10.50)
    assert line.unrealized == 0.0 and line.avg_cost is None


def test_a_short_and_a_flip_through_zero():
    """sell 10 @ 50 ($1): short at 49.90 net. buy 15 @ 48 ($1.50): covers 10,
    (49.90 - 48) x 10 - 1.00 = 18.00, and opens 5 long at 48.10."""
    ledger = StrategyPnl()
    ledger.add_fill(fill("SELL", 10, 50.0, 1.0))
    short = ledger.lines()[0]
    assert short.position == -10 and short.avg_cost == pytest.approx(49.90)
    assert short.unrealized == pytest.approx(-1.0)  # marked at its own price: the commission
    ledger.add_fill(fill("BUY", 15, 48.0, 1.5))
    line = ledger.lines()[0]
    assert line.position == 5 and line.avg_cost == pytest.approx(48.10)
    assert line.realized == pytest.approx(18.00)
    assert line.unrealized == pytest.approx(-0.50)


def test_the_price_source_marks_open_lots_and_the_last_fill_is_the_fallback():
    prices = LastFillPrices()
    ledger = StrategyPnl(prices)
    ledger.add_fill(fill("BUY", 10, 100.0, 1.0))
    assert ledger.lines()[0].unrealized == pytest.approx(-1.0)  # no source price: its own
    prices.set(265598, 103.5)
    line = ledger.lines()[0]
    assert (line.last_price, line.unrealized) == (103.5, pytest.approx(34.0))
    prices.observe(fill("SELL", 1, 99.0, con_id=265598))  # any fill of the contract
    assert ledger.lines()[0].unrealized == pytest.approx(-11.0)
    unknown = StrategyPnl(prices)
    unknown.add_fill(fill("BUY", 1, 10.0, con_id=None, symbol="XYZ"))
    assert unknown.lines()[0].unrealized == 0.0  # its own last fill: no con_id to look up


def test_a_correction_takes_the_place_of_the_execution_it_corrects():
    ledger = StrategyPnl()
    buy = fill("BUY", 10, 100.0, 1.0)
    ledger.add_fill(buy)
    ledger.add_fill(fill("SELL", 10, 101.0, 1.0))
    corrected = replace(buy, exec_id=buy.exec_id[:-2] + "02", price=99.0)  # IB's ".02"
    ledger.add_fill(corrected, replaces=buy)
    [line] = ledger.lines()
    assert line.fills == 2 and line.position == 0
    assert line.realized == pytest.approx((101 - 99) * 10 - 2.0)


def test_contracts_are_kept_apart_and_the_frame_has_a_row_each():
    ledger = StrategyPnl()
    ledger.add_fill(fill("BUY", 10, 100.0, 1.0))
    ledger.add_fill(fill("SELL", 3, 20.0, 1.0, con_id=8314, symbol="IBM"))
    other = StrategyPnl()
    frame = pnl_df({"a": ledger, "b": other})
    assert list(frame.columns) == PNL_COLUMNS
    assert frame[["strategy", "symbol", "position"]].values.tolist() == [
        ["a", "AAPL", 10.0],
        ["a", "IBM", -3.0],
    ]
    assert str(frame["con_id"].dtype) == "Int64" and frame["realized"].dtype == "float64"
    totals = ledger.totals()
    assert (totals.commissions, totals.fills, totals.realized) == (2.0, 2, 0.0)
    assert totals.unrealized == pytest.approx(-2.0)
    assert list(pnl_df({}).columns) == PNL_COLUMNS
