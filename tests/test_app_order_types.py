"""Every order type of issue 9 end to end: the app's builder, validation and book against the
simulator over a real socket, at a text and a protobuf server version.

Each type has a scripted price path that makes it trigger (or fill) and one that does not; each
test asserts the fill price, the statuses as TWS reports them and the book's final state. The
paths are replayed bars (one flat bar a second, so the last price of second ``s`` is
``path[s]``); bid and ask around it are the simulator's, read from its price model, and the
trades of a second from its tape. Time is the manual clock: ``step`` moves it a second at a time.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from app_helpers import AAPL, Events, barrier

from twsapp.book import Cancelled
from twsapp.order_builders import (
    adaptive,
    limit_if_touched_order,
    limit_on_close_order,
    market_if_touched_order,
    market_on_close_order,
    midprice_order,
    oca,
    relative_order,
    trailing_stop_limit_order,
    trailing_stop_order,
    with_trigger_method,
)
from twsapp.orders import limit_order, market_order, stop_order

NEW_YORK = ZoneInfo("America/New_York")
TRIGGERED = ["PendingSubmit", "PreSubmitted", "Submitted", "Filled"]
WAITING = ["PendingSubmit", "PreSubmitted"]


# ---------------------------------------------------------------------- helpers


@pytest.fixture
def market(sim_factory, app_factory, server_version, tmp_path):
    """``market(path, **settings)``: a simulator replaying ``path`` (one price a second) for
    AAPL, and an app connected to it."""

    def make(path: list[float], **settings):
        csv = tmp_path / "aapl.csv"
        rows = [f"{second},{p},{p},{p},{p}" for second, p in enumerate(path)]
        csv.write_text("time,open,high,low,close\n" + "\n".join(rows) + "\n")
        sim = sim_factory(server_version=server_version, bars={"AAPL": str(csv)}, **settings)
        return sim, app_factory(sim)

    return make


def quote(sim, second: int):
    return sim.exchange.prices.quote(AAPL, float(second))


def step(sim, app, seconds: int = 1) -> None:
    """Let ``seconds`` pass, one at a time, and wait until the app has heard all of it."""
    for _ in range(seconds):
        sim.advance(1)
    barrier(app)


def statuses(record) -> list[str]:
    """The order's statuses from its log, each change once."""
    out: list[str] = []
    for entry in record.log:
        if entry.status_after and (not out or out[-1] != entry.status_after):
            out.append(str(entry.status_after))
    return out


def placed(app, order, wait: str = "PreSubmitted"):
    events = Events(app)
    rec = app.place("AAPL", order)
    events.status(rec.order_id, wait)
    return rec, events


def filled_at(rec, price: float, quantity: int) -> None:
    assert rec.status == "Filled" and rec.filled == quantity and rec.remaining == 0
    assert rec.avg_fill_price == price and rec.last_fill_price == price
    [fill] = rec.fills.values()
    assert fill.price == price and fill.shares == quantity


def first(seconds, condition) -> int:
    return next(s for s in seconds if condition(s))


def row(app, rec):
    frame = app.book.orders_df()
    return frame[frame["order_id"] == rec.order_id].iloc[0]


# ---------------------------------------------------------------------- TRAIL

UP_THEN_DOWN = [100.0, 100.5, 101.0, 102.0, 103.0, 104.0, 103.5, 103.0, 102.4, 101.9, 101.0]


def test_a_sell_trailing_stop_rises_below_the_price_and_fills_when_hit(market):
    """A long position's stop: 2.00 below the last price, rising with it, never falling."""
    sim, app = market(UP_THEN_DOWN)
    rec, events = placed(app, trailing_stop_order("SELL", 10, trailing_amount=2.0))
    assert rec.price("trailStopPrice") == 98.0  # TWS's initial stop: last 100 - 2
    seen = []
    for _ in range(8):
        step(sim, app)
        seen.append(rec.price("trailStopPrice"))
    assert seen == [98.5, 99.0, 100.0, 101.0, 102.0, 102.0, 102.0, 102.0]
    assert rec.status == "PreSubmitted" and rec.why_held == "trigger"
    step(sim, app)  # second 9: 101.90 <= 102.00
    events.wait(lambda: rec.status == "Filled", "the trailing stop to fill")
    filled_at(rec, quote(sim, 9).bid, 10)
    assert statuses(rec) == TRIGGERED
    book_row = row(app, rec)
    assert book_row["trail_stop_price"] == 102.0 and book_row["aux_price"] == 2.0
    assert book_row["order_type"] == "TRAIL" and book_row["status"] == "Filled"


def test_a_sell_trailing_stop_not_hit_keeps_working_at_its_highest_stop(market):
    sim, app = market([100.0, 101.0, 102.0, 103.0, 104.0, 103.0, 102.6, 103.0, 104.5, 105.0])
    rec, _ = placed(app, trailing_stop_order("SELL", 10, trailing_amount=2.0))
    step(sim, app, 9)
    assert rec.status == "PreSubmitted" and rec.filled == 0 and not rec.fills
    assert rec.price("trailStopPrice") == 103.0  # 105 - 2: it only ever rose
    assert statuses(rec) == WAITING
    assert row(app, rec)["trail_stop_price"] == 103.0


def test_a_buy_trailing_stop_by_percent_falls_above_the_price(market):
    """A short position's stop: 1 % above the last price, falling with it from 101.00."""
    sim, app = market([100.0, 99.5, 99.0, 98.0, 97.0, 97.5, 98.0, 98.5])
    order = trailing_stop_order("BUY", 5, trailing_percent=1.0, trail_stop_price=101.0)
    rec, events = placed(app, order)
    assert rec.price("trailStopPrice") == 101.0  # the given initial stop: 100 * 1.01 is 101
    step(sim, app, 4)
    assert rec.price("trailStopPrice") == 97.97  # 97 * 1.01, on the tick away from the price
    assert rec.status == "PreSubmitted"
    step(sim, app)  # 97.50: still below
    assert rec.status == "PreSubmitted"
    step(sim, app)  # 98.00 >= 97.97
    events.wait(lambda: rec.status == "Filled", "the buy stop to fill")
    filled_at(rec, quote(sim, 6).ask, 5)
    assert statuses(rec) == TRIGGERED
    assert row(app, rec)["trailing_percent"] == 1.0


def test_a_trailing_amount_modified_moves_the_stop_from_where_it_was(market):
    """modify(trailing_amount=) re-sends the stop TWS shows; the stop then trails closer."""
    sim, app = market([100.0, 101.0, 102.0, 103.0, 104.0, 104.0, 104.0, 103.2, 102.9])
    rec, events = placed(app, trailing_stop_order("SELL", 10, trailing_amount=2.0))
    step(sim, app, 4)
    assert rec.price("trailStopPrice") == 102.0
    app.modify(rec.order_id, trailing_amount=1.0)
    events.wait(lambda: rec.price("trailStopPrice") == 103.0, "the stop 1.00 under 104")
    assert rec.aux_price == 1.0 and [m.state for m in rec.modifications] == ["applied"]
    step(sim, app, 3)  # 104, 104, 103.20: above the stop
    assert rec.status == "PreSubmitted"
    step(sim, app)  # 102.90
    events.wait(lambda: rec.status == "Filled", "the fill")
    filled_at(rec, quote(sim, 8).bid, 10)
    assert statuses(rec) == TRIGGERED


def test_a_buy_trailing_stop_not_hit(market):
    sim, app = market([100.0, 99.5, 99.0, 98.0, 97.0, 97.5, 97.9, 97.2])
    rec, _ = placed(app, trailing_stop_order("BUY", 5, trailing_percent=1.0))
    step(sim, app, 7)
    assert rec.status == "PreSubmitted" and rec.price("trailStopPrice") == 97.97
    assert statuses(rec) == WAITING


# ---------------------------------------------------------------------- TRAIL LIMIT


def test_a_trailing_stop_limit_becomes_a_limit_offset_below_the_stop(market):
    sim, app = market(UP_THEN_DOWN)
    order = trailing_stop_limit_order("SELL", 10, 98.0, trailing_amount=2.0, limit_offset=0.5)
    rec, events = placed(app, order)
    step(sim, app, 8)
    assert rec.price("trailStopPrice") == 102.0 and rec.status == "PreSubmitted"
    step(sim, app)  # 101.90 <= 102.00: a SELL limit at 101.50, and the bid is above it
    events.wait(lambda: rec.status == "Filled", "the trailing limit to fill")
    assert quote(sim, 9).bid >= 101.5
    filled_at(rec, quote(sim, 9).bid, 10)
    assert statuses(rec) == TRIGGERED
    assert row(app, rec)["limit_price_offset"] == 0.5


def test_a_trailing_stop_limit_gapped_through_rests_at_its_limit(market):
    """Triggered by a gap below its limit: a limit order that does not trade."""
    sim, app = market([100.0, 101.0, 102.0, 103.0, 104.0, 101.0, 100.5, 100.8])
    order = trailing_stop_limit_order(
        "SELL", 10, 98.0, trailing_amount=2.0, limit_price=97.5
    )  # 0.50 below the initial stop: the limit keeps that distance
    rec, events = placed(app, order)
    step(sim, app, 7)
    events.wait(lambda: rec.status == "Submitted", "the trigger")
    assert rec.filled == 0 and not rec.fills and rec.price("trailStopPrice") == 102.0
    assert statuses(rec) == [*WAITING, "Submitted"]


def test_a_trailing_stop_limit_not_hit(market):
    sim, app = market([100.0, 101.0, 102.0, 103.0, 102.5, 103.5])
    order = trailing_stop_limit_order("SELL", 10, 98.0, trailing_amount=2.0, limit_offset=0.5)
    rec, _ = placed(app, order)
    step(sim, app, 5)
    assert rec.status == "PreSubmitted" and rec.price("trailStopPrice") == 101.5
    assert statuses(rec) == WAITING


# ---------------------------------------------------------------------- MIT / LIT


def test_a_buy_market_if_touched_fills_when_the_price_comes_down_to_it(market):
    sim, app = market([100.0, 99.6, 99.3, 98.9, 98.5])
    rec, events = placed(app, market_if_touched_order("BUY", 20, 99.0))
    step(sim, app, 2)
    assert rec.status == "PreSubmitted" and rec.why_held == "trigger"
    step(sim, app)
    events.wait(lambda: rec.status == "Filled", "the MIT to fill")
    filled_at(rec, quote(sim, 3).ask, 20)
    assert statuses(rec) == TRIGGERED
    assert row(app, rec)["aux_price"] == 99.0


def test_a_buy_market_if_touched_above_the_path_never_triggers(market):
    sim, app = market([100.0, 99.6, 99.3, 99.1, 99.5])
    rec, _ = placed(app, market_if_touched_order("BUY", 20, 99.0))
    step(sim, app, 4)
    assert rec.status == "PreSubmitted" and not rec.fills
    assert statuses(rec) == WAITING


def test_a_sell_limit_if_touched_becomes_a_limit_when_touched(market):
    sim, app = market([100.0, 100.4, 100.9, 101.2, 101.4])
    rec, events = placed(app, limit_if_touched_order("SELL", 20, 101.0, 100.8))
    step(sim, app, 2)
    assert rec.status == "PreSubmitted"
    step(sim, app)  # 101.20 >= 101.00: a SELL limit at 100.80, under the bid
    events.wait(lambda: rec.status == "Filled", "the LIT to fill")
    filled_at(rec, quote(sim, 3).bid, 20)
    assert statuses(rec) == TRIGGERED
    assert row(app, rec)["limit_price"] == 100.8


def test_a_sell_limit_if_touched_not_touched(market):
    sim, app = market([100.0, 100.4, 100.9, 100.7])
    rec, _ = placed(app, limit_if_touched_order("SELL", 20, 101.0, 100.8))
    step(sim, app, 3)
    assert rec.status == "PreSubmitted" and statuses(rec) == WAITING


# ---------------------------------------------------------------------- MOC / LOC

# 2025-06-11 is a Wednesday: the regular session closes at 16:00 New York time.
CLOSE = datetime(2025, 6, 11, 16, 0, tzinfo=NEW_YORK)


def at(hour: int, minute: int) -> datetime:
    return CLOSE.replace(hour=hour, minute=minute)


def to_close(start: datetime) -> int:
    return int((CLOSE - start).total_seconds())


def closing_path(start: datetime, last: float) -> list[float]:
    """Flat at 100 until the minute before the close, then ``last`` until it."""
    seconds = to_close(start)
    return [100.0] * (seconds - 60) + [last] * 60


def test_market_on_close_fills_at_the_closing_price(market):
    start = at(15, 45)
    sim, app = market(closing_path(start, 100.37), start=start)
    rec, events = placed(app, market_on_close_order("BUY", 30))
    step(sim, app, to_close(start) - 1)
    assert rec.status == "PreSubmitted" and not rec.fills  # it waits for the auction
    step(sim, app)
    events.wait(lambda: rec.status == "Filled", "the auction")
    filled_at(rec, 100.37, 30)
    [fill] = rec.fills.values()
    assert fill.time.startswith("20250611 16:00:00")
    assert statuses(rec) == TRIGGERED


def test_market_on_close_after_the_cut_off_is_refused(market):
    """Nasdaq takes MOC orders until 15:55 (IB's MOC page); AAPL is a Nasdaq stock."""
    start = at(15, 56)
    _, app = market(closing_path(start, 100.0), start=start)
    events = Events(app)
    rec = app.place("AAPL", market_on_close_order("BUY", 30))
    events.wait(lambda: rec.rejected, "the refusal")
    assert rec.status == "Inactive" and rec.reject_error.code == 201
    assert "cannot be placed after 15:55 US/Eastern" in rec.reject_reason
    assert not rec.fills and statuses(rec) == ["PendingSubmit", "Inactive"]


def test_market_on_close_cut_off_is_earlier_for_nyse_stocks_and_late_cancels_refused(market):
    """NYSE markets take MOC orders until 15:50: IBM is refused at 15:52, AAPL accepted. After
    15:50 neither exchange lets a MOC be cancelled: TWS refuses the cancel, the order stays."""
    start = at(15, 52)
    sim, app = market(closing_path(start, 100.21), start=start)
    events = Events(app)
    ibm = app.place("IBM", market_on_close_order("SELL", 5))
    aapl = app.place("AAPL", market_on_close_order("SELL", 5))
    events.wait(lambda: ibm.rejected and aapl.status == "PreSubmitted", "both answers")
    assert "cannot be placed after 15:50 US/Eastern" in ibm.reject_reason
    app.cancel(aapl.order_id)
    events.wait(lambda: aapl.errors, "the cancel's refusal")
    barrier(app)
    assert aapl.errors[-1].code == 10148 and aapl.status == "PreSubmitted"
    step(sim, app, to_close(start))
    events.wait(lambda: aapl.status == "Filled", "the auction")
    filled_at(aapl, 100.21, 5)


def test_market_on_close_cannot_be_changed_after_15_50(market):
    """The modify is refused (201) and rejected in the book; the order fills as it was."""
    start = at(15, 45)
    sim, app = market(closing_path(start, 100.44), start=start)
    rec, events = placed(app, market_on_close_order("BUY", 30))
    app.modify(rec.order_id, quantity=40)
    events.wait(lambda: rec.total_quantity == 40, "the change before 15:50")
    step(sim, app, 6 * 60)  # 15:51
    app.modify(rec.order_id, quantity=50)
    events.wait(lambda: rec.modifications[-1].state == "rejected", "the refusal")
    assert rec.modifications[-1].code == 201 and "cannot be changed after 15:50" in (
        rec.modifications[-1].reason
    )
    assert rec.status == "PreSubmitted" and rec.total_quantity == 40
    step(sim, app, to_close(start) - 6 * 60)
    events.wait(lambda: rec.status == "Filled", "the auction")
    filled_at(rec, 100.44, 40)


def test_limit_on_close_fills_when_the_close_is_within_its_limit(market):
    start = at(15, 40)
    sim, app = market(closing_path(start, 100.37), start=start)
    rec, events = placed(app, limit_on_close_order("BUY", 30, 100.40))
    step(sim, app, to_close(start))
    events.wait(lambda: rec.status == "Filled", "the auction")
    filled_at(rec, 100.37, 30)
    assert statuses(rec) == TRIGGERED


def test_limit_on_close_beyond_its_limit_is_cancelled_at_the_close(market):
    start = at(15, 40)
    sim, app = market(closing_path(start, 100.37), start=start)
    rec, events = placed(app, limit_on_close_order("BUY", 30, 100.30))
    step(sim, app, to_close(start))
    events.wait(lambda: rec.status == "Cancelled", "the auction")
    assert not rec.fills and rec.filled == 0
    assert statuses(rec) == [*WAITING, "Cancelled"]
    assert len(events.of(rec.order_id, Cancelled)) == 1


# ---------------------------------------------------------------------- REL / MIDPRICE


def test_a_relative_buy_follows_the_bid_and_fills_once_the_ask_is_under_its_cap(market):
    """Pegged at the bid + 0.02 (never less than the ask, whose spread is one or two ticks),
    capped at 95.00: it works at the cap until the market comes down to it."""
    sim, app = market([100.0, 99.0, 97.0, 95.5, 94.5, 94.0])
    rec, events = placed(app, relative_order("BUY", 40, 0.02, price_cap=95.0), "Submitted")
    step(sim, app, 3)
    assert rec.status == "Submitted" and not rec.fills
    step(sim, app)
    events.wait(lambda: rec.status == "Filled", "the relative order to fill")
    assert quote(sim, 4).ask <= 95.0
    filled_at(rec, quote(sim, 4).ask, 40)
    assert statuses(rec) == TRIGGERED
    book_row = row(app, rec)
    assert book_row["aux_price"] == 0.02 and book_row["limit_price"] == 95.0


def test_a_relative_buy_capped_below_the_market_does_not_fill(market):
    sim, app = market([100.0, 99.0, 97.0, 95.5, 96.0])
    rec, _ = placed(app, relative_order("BUY", 40, 0.02, price_cap=95.0), "Submitted")
    step(sim, app, 4)
    assert rec.status == "Submitted" and not rec.fills
    assert statuses(rec) == [*WAITING, "Submitted"]


def test_a_relative_sell_at_the_ask_fills_when_a_trade_prints_there(market):
    """Offset 0: a SELL pegged at the ask; it trades at the ask it rested at once a trade
    prints at or above it (the simulator's tape)."""
    sim, app = market([100.0] * 3 + [100.01, 100.02, 100.03, 100.04] + [100.05] * 30)
    rec, events = placed(app, relative_order("SELL", 40, 0.0), "Submitted")
    tape = sim.exchange.tape

    def prints_at_ask(second: int) -> bool:
        rested = quote(sim, second - 1).ask
        return any(t.price >= rested for t in tape.step_trades(AAPL, second))

    hit = first(range(1, 36), prints_at_ask)
    step(sim, app, hit - 1)
    assert rec.status == "Submitted" and not rec.fills
    step(sim, app)
    events.wait(lambda: rec.status == "Filled", "the relative sell to fill")
    filled_at(rec, quote(sim, hit - 1).ask, 40)
    assert statuses(rec) == TRIGGERED


def test_a_midprice_buy_fills_at_the_midpoint_when_a_trade_prints_there(market):
    sim, app = market([100.0] * 40)
    rec, events = placed(app, midprice_order("BUY", 25, price_cap=100.5), "Submitted")
    prices, tape = sim.exchange.prices, sim.exchange.tape

    def mid(second: int) -> float:
        q = quote(sim, second)
        return round((q.bid + q.ask) / 2, prices.decimals(AAPL) + 1)

    def prints_at_mid(second: int) -> bool:
        return any(t.price <= mid(second - 1) for t in tape.step_trades(AAPL, second))

    hit = first(range(1, 40), prints_at_mid)
    step(sim, app, hit)
    events.wait(lambda: rec.status == "Filled", "the midprice order to fill")
    filled_at(rec, mid(hit - 1), 25)
    assert statuses(rec) == TRIGGERED
    assert row(app, rec)["limit_price"] == 100.5


def test_a_midprice_buy_capped_under_the_market_does_not_fill(market):
    sim, app = market([100.0] * 10)
    rec, _ = placed(app, midprice_order("BUY", 25, price_cap=99.0), "Submitted")
    step(sim, app, 9)
    assert rec.status == "Submitted" and not rec.fills
    assert statuses(rec) == [*WAITING, "Submitted"]


# ---------------------------------------------------------------------- trigger methods

RAMP = [100.0, 100.96, 100.98, 100.99, 101.0, 101.0, 101.01, 101.02, 101.02, 101.03, 101.05]
NEAR_MISS = [100.0, 100.96, 100.98, 100.99, 100.98, 100.99, 100.97]
STOP = 101.0


def expected_trigger(sim, method: int, seconds: int) -> int | None:
    """When a BUY stop at STOP triggers by ``method``, by the TWS Users' Guide's rules applied
    to the simulator's quotes and trades: the first second it is hit, or None."""
    tape = sim.exchange.tape
    at_start = tape.last_trade(AAPL, 0.0)
    observed_trades = [[(at_start.price, at_start.size)]] + [
        [(t.price, t.size) for t in tape.step_trades(AAPL, s) if not t.odd_lot]
        for s in range(1, seconds + 1)
    ]
    trade_run, previous_size = 0, None
    bid_run, previous_bid_size = 0, None
    for s in range(seconds + 1):
        q = quote(sim, s)
        last_hit = any(price >= STOP for price, _ in observed_trades[s])
        bid_hit = q.bid >= STOP
        mid_hit = (q.bid + q.ask) / 2 >= STOP
        double_last = False
        for price, size in observed_trades[s]:
            if price >= STOP and (
                trade_run or (previous_size is not None and size > previous_size)
            ):
                double_last = True
            trade_run = trade_run + 1 if price >= STOP else 0
            previous_size = size
        grew = previous_bid_size is not None and q.bid_size > previous_bid_size
        double_bid = bid_hit and (bid_run > 0 or grew)
        bid_run = bid_run + 1 if bid_hit else 0
        previous_bid_size = q.bid_size
        hit = {
            0: last_hit, 2: last_hit, 4: bid_hit, 7: last_hit or bid_hit, 8: mid_hit,
            3: double_last, 1: double_bid,
        }[method]  # fmt: skip
        if hit:
            return s
    return None


@pytest.mark.parametrize("method", [0, 1, 2, 3, 4, 7, 8])
def test_a_stop_triggers_by_its_trigger_method(market, method):
    sim, app = market(RAMP)
    seconds = len(RAMP) - 1
    when = expected_trigger(sim, method, seconds)
    assert when is not None, "the ramp goes through the stop for every method"
    rec, events = placed(app, with_trigger_method(stop_order("BUY", 10, STOP), method))
    step(sim, app, when - 1)
    assert rec.status == "PreSubmitted", f"method {method} triggered before second {when}"
    step(sim, app)
    events.wait(lambda: rec.status == "Filled", f"method {method} to trigger at {when}")
    filled_at(rec, quote(sim, when).ask, 10)
    assert statuses(rec) == TRIGGERED and rec.order.triggerMethod == method


def test_the_trigger_methods_differ_on_this_ramp(market):
    """The ramp is chosen so that the methods do not all agree (else the test above proves
    little): the last price reaches the stop before the bid does."""
    sim, _ = market(RAMP)
    seconds = len(RAMP) - 1
    when = {m: expected_trigger(sim, m, seconds) for m in (1, 2, 3, 4, 8)}
    assert when[2] < when[4] and len(set(when.values())) >= 3, when


@pytest.mark.parametrize("method", [0, 1, 2, 3, 4, 7, 8])
def test_a_stop_near_missed_triggers_by_no_method(market, method):
    sim, app = market(NEAR_MISS)
    rec, _ = placed(app, with_trigger_method(stop_order("BUY", 10, STOP), method))
    step(sim, app, len(NEAR_MISS) - 1)
    assert rec.status == "PreSubmitted" and statuses(rec) == WAITING


@pytest.mark.parametrize("method", [2, 4, 8])
def test_a_trailing_stop_trails_the_price_its_method_watches(market, method):
    """A SELL trailing stop by last trails the last price and triggers on it; by bid/ask, the
    ask (the Users' Guide: a sell triggers on the ask); by midpoint, the midpoint."""
    sim, app = market(UP_THEN_DOWN)
    order = trailing_stop_order("SELL", 10, trailing_amount=2.0, trigger_method=method)
    rec, events = placed(app, order)

    def watched(second: int) -> float:
        q = quote(sim, second)
        return {2: q.last, 4: q.ask, 8: (q.bid + q.ask) / 2}[method]

    def stop_after(second: int) -> float:  # 2.00 under the highest price, down to the cent
        high = max(watched(s) for s in range(second + 1))
        return math.floor(round((high - 2.0) * 100, 6)) / 100

    hit = first(range(1, len(UP_THEN_DOWN)), lambda s: watched(s) <= stop_after(s - 1))
    assert rec.price("trailStopPrice") == stop_after(0)
    for second in range(1, hit):
        step(sim, app)
        assert rec.status == "PreSubmitted" and rec.price("trailStopPrice") == stop_after(second)
    step(sim, app)
    events.wait(lambda: rec.status == "Filled", "the trailing stop to fill")
    filled_at(rec, quote(sim, hit).bid, 10)
    assert statuses(rec) == TRIGGERED


# ---------------------------------------------------------------------- OCA


def two_buys(limit: float, group: str, oca_type: int, quantity: int = 100):
    return oca(
        [limit_order("BUY", quantity, limit), limit_order("BUY", quantity, limit)], group, oca_type
    )


DROP = [100.0, 100.0, 99.0, 98.5, 98.4, 98.3, 98.2, 98.1]


def test_oca_type_1_a_fill_cancels_the_others(market):
    """Cancel with block: the first order's first partial fill cancels its sibling."""
    sim, app = market(DROP, display_size=Decimal(30))
    events = Events(app)
    a, b = (app.place("AAPL", o) for o in two_buys(99.5, "g1", 1))
    events.wait(lambda: a.status == b.status == "Submitted", "both working")
    step(sim, app, 2)
    events.wait(lambda: b.status == "Cancelled" and a.filled == 30, "the fill and the cancel")
    assert a.avg_fill_price == quote(sim, 2).ask and b.filled == 0 and not b.fills
    step(sim, app, 3)
    assert a.status == "Filled" and a.filled == 100
    assert statuses(b) == ["PendingSubmit", "PreSubmitted", "Submitted", "Cancelled"]
    assert a.order.ocaGroup == b.order.ocaGroup == "g1" and b.order.ocaType == 1


def test_oca_type_2_a_fill_reduces_the_others_with_block(market):
    """Reduce with block: each partial fill takes its size off the sibling, which is not
    routed while the first one fills; when the first is complete the sibling has nothing left."""
    sim, app = market(DROP, display_size=Decimal(30))
    events = Events(app)
    a, b = (app.place("AAPL", o) for o in two_buys(99.5, "g2", 2))
    events.wait(lambda: a.status == b.status == "Submitted", "both working")
    sizes = []
    for _ in range(5):
        step(sim, app)
        sizes.append((a.filled, b.total_quantity, b.filled))
    assert sizes == [
        (0, 100, 0),
        (30, 70, 0),
        (60, 40, 0),
        (90, 10, 0),
        (100, 10, 0),
    ], sizes
    events.wait(lambda: b.status == "Cancelled", "the sibling's end")
    assert a.status == "Filled" and a.filled == 100 and not b.fills
    assert b.total_quantity == 10  # reduced three times, then taken out
    assert statuses(b)[-1] == "Cancelled"


def test_oca_type_3_without_block_both_fill_when_hit_together(market):
    """Reduce without block: two orders hit in the same second are both routed and both fill:
    the overfill IB warns of. The reduction of each then finds nothing left to reduce."""
    sim, app = market(DROP)
    events = Events(app)
    a, b = (app.place("AAPL", o) for o in two_buys(99.5, "g3", 3))
    events.wait(lambda: a.status == b.status == "Submitted", "both working")
    step(sim, app, 2)
    events.wait(lambda: a.status == b.status == "Filled", "both fills")
    ask = quote(sim, 2).ask
    assert a.avg_fill_price == b.avg_fill_price == ask and a.filled == b.filled == 100
    assert statuses(a) == statuses(b) == ["PendingSubmit", "PreSubmitted", "Submitted", "Filled"]


def test_oca_type_2_the_same_pair_does_not_overfill(market):
    sim, app = market(DROP)
    events = Events(app)
    a, b = (app.place("AAPL", o) for o in two_buys(99.5, "g2b", 2))
    events.wait(lambda: a.status == b.status == "Submitted", "both working")
    step(sim, app, 2)
    events.wait(lambda: a.status == "Filled" and b.status == "Cancelled", "one fill only")
    assert a.filled == 100 and b.filled == 0


# ---------------------------------------------------------------------- Adaptive


def test_an_adaptive_market_order_is_taken_where_algos_are_offered(market):
    sim, app = market([100.0] * 5)
    rec, _ = placed(app, adaptive(market_order("BUY", 10), "Patient"), "Filled")
    filled_at(rec, quote(sim, 0).ask, 10)
    assert rec.order.algoStrategy == "Adaptive"
    assert [(t.tag, t.value) for t in rec.order.algoParams] == [("adaptivePriority", "Patient")]
    assert statuses(rec) == ["PendingSubmit", "PreSubmitted", "Submitted", "Filled"]


def test_an_adaptive_order_is_refused_where_algos_are_not(market, tmp_path):
    """An instrument whose order types lack ALGO: TWS's 387, and nothing is created."""
    entry = {
        "symbol": "NOALGO", "secType": "STK", "conId": 990002, "primaryExchange": "NYSE",
        "currency": "USD", "minTick": 0.01, "basePrice": 20.0, "orderTypes": "LMT,MKT,STP",
    }  # fmt: skip
    path = tmp_path / "instruments.json"
    path.write_text(json.dumps([entry]))
    _, app = market([100.0] * 5, instruments_file=str(path))
    events = Events(app)
    rec = app.place("NOALGO", adaptive(limit_order("BUY", 10, 20.0), "Urgent"))
    plain = app.place("NOALGO", limit_order("BUY", 10, 19.0))
    events.wait(lambda: rec.rejected and plain.status == "Submitted", "both answers")
    assert rec.reject_error.code == 387 and not rec.fills
    assert statuses(rec) == ["PendingSubmit", "Inactive"]
