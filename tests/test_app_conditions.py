"""Order conditions end to end: built and checked by the app, evaluated by the simulator, over a
real socket at a text and a protobuf server version.

Each condition type has a case where it holds and the order works (and fills), and one where
it does not and the order waits PreSubmitted; conditionsCancelOrder, AND / OR and
conditionsIgnoreRth each have theirs. Prices are replayed bars for AAPL (``points``: second ->
price, flat between); time is the manual clock.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from app_helpers import AAPL, Events, barrier
from ibapi import order_condition as oc
from sim_client import stock

from twsapp import (
    OrderValidationError,
    execution_condition,
    margin_condition,
    percent_change_condition,
    price_condition,
    time_condition,
    volume_condition,
    with_conditions,
)
from twsapp.orders import limit_order, market_order, validate_order

NEW_YORK = ZoneInfo("America/New_York")
FILLED = ["PendingSubmit", "PreSubmitted", "Submitted", "Filled"]
WAITING = ["PendingSubmit", "PreSubmitted"]
MSFT, IBM = 272093, 8314


def ny(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 25, hour, minute, second, tzinfo=NEW_YORK)


@pytest.fixture
def market(sim_factory, app_factory, server_version, tmp_path):
    def make(start: datetime | None = None, points: dict[int, float] | None = None):
        start = start or ny(10)
        rows = sorted((points or {0: 100.0}).items())
        csv = tmp_path / "aapl.csv"
        body = "\n".join(f"{s},{p},{p},{p},{p}" for s, p in rows)
        csv.write_text("time,open,high,low,close\n" + body + "\n")
        sim = sim_factory(server_version=server_version, start=start, bars={"AAPL": str(csv)})
        return sim, app_factory(sim)

    return make


def advance(sim, app, seconds: int) -> None:
    sim.advance(seconds)
    barrier(app)


def quote(sim, second: int):
    return sim.exchange.prices.quote(AAPL, float(second))


def statuses(record) -> list[str]:
    out: list[str] = []
    for entry in record.log:
        if entry.status_after and (not out or out[-1] != entry.status_after):
            out.append(str(entry.status_after))
    return out


def place(app, order, contract="AAPL", wait: str = "PreSubmitted"):
    events = Events(app)
    rec = app.place(contract, order)
    events.status(rec.order_id, wait)
    barrier(app)
    return rec, events


def filled_at(rec, price: float, quantity: int) -> None:
    assert rec.status == "Filled" and rec.filled == quantity and rec.remaining == 0
    assert rec.avg_fill_price == price
    assert [fill.price for fill in rec.fills.values()] == [price]


def waiting(rec) -> None:
    assert rec.status == "PreSubmitted" and not rec.fills and statuses(rec) == WAITING


def done_at(sim, rec) -> int:
    return sim.exchange.orders[(1, rec.order_id)].done_step


def conditioned(*conditions, **flags):
    return with_conditions(market_order("BUY", 10), *conditions, **flags)


# ---------------------------------------------------------------------- price


def test_a_price_condition_lets_the_order_work_when_the_price_gets_there(market):
    sim, app = market(points={0: 100.0, 30: 101.2})
    rec, events = place(app, conditioned(price_condition(AAPL, 101.0)))
    advance(sim, app, 29)
    waiting(rec)
    advance(sim, app, 1)
    events.wait(lambda: rec.status == "Filled", "the fill")
    filled_at(rec, quote(sim, 30).ask, 10)
    assert statuses(rec) == FILLED
    assert len(rec.order.conditions) == 1 and rec.order.conditions[0].price == 101.0


def test_a_price_condition_not_reached_keeps_the_order_waiting(market):
    sim, app = market(points={0: 100.0, 30: 100.9})
    rec, _ = place(app, conditioned(price_condition(AAPL, 101.0)))
    advance(sim, app, 120)
    waiting(rec)


def test_a_price_condition_below_by_midpoint(market):
    sim, app = market(points={0: 100.0, 20: 99.0})
    condition = price_condition(AAPL, 99.5, is_more=False, trigger_method=8)
    rec, events = place(app, conditioned(condition))
    advance(sim, app, 19)
    waiting(rec)
    advance(sim, app, 1)
    events.wait(lambda: rec.status == "Filled", "the fill")
    filled_at(rec, quote(sim, 20).ask, 10)


# ---------------------------------------------------------------------- time


def test_a_time_condition_lets_the_order_work_at_its_time(market):
    sim, app = market()
    rec, events = place(app, conditioned(time_condition(ny(10, 1))))
    advance(sim, app, 59)
    waiting(rec)
    advance(sim, app, 1)
    events.wait(lambda: rec.status == "Filled", "the fill")
    filled_at(rec, quote(sim, 60).ask, 10)
    assert statuses(rec) == FILLED


def test_a_time_condition_not_yet_reached(market):
    sim, app = market()
    rec, _ = place(app, conditioned(time_condition("20261125 11:00:00 US/Eastern")))
    advance(sim, app, 600)
    waiting(rec)


# ---------------------------------------------------------------------- margin, execution


def test_a_margin_condition_holds_once_the_cushion_falls(market):
    """Cushion = excess liquidity / net liquidation: 500,000 of stock at a 25 % maintenance
    margin leaves about 87.5 % of a 1,000,000 account, under 90."""
    sim, app = market()
    rec, events = place(app, conditioned(margin_condition(90)))
    advance(sim, app, 5)
    waiting(rec)
    place(app, market_order("BUY", 5000), wait="Filled")
    advance(sim, app, 1)
    events.wait(lambda: rec.status == "Filled", "the fill")
    filled_at(rec, quote(sim, 6).ask, 10)


def test_a_margin_condition_with_a_cushion_still_above(market):
    sim, app = market()
    rec, _ = place(app, conditioned(margin_condition(90)))
    place(app, market_order("BUY", 1000), wait="Filled")  # about 97.5 %
    advance(sim, app, 30)
    waiting(rec)


def test_an_execution_condition_waits_for_an_execution_of_its_symbol(market):
    sim, app = market()
    rec, events = place(app, conditioned(execution_condition("MSFT")))
    place(app, market_order("BUY", 1), contract="IBM", wait="Filled")
    advance(sim, app, 5)
    waiting(rec)  # an IBM execution is not an MSFT one
    place(app, market_order("BUY", 1), contract="MSFT", wait="Filled")
    advance(sim, app, 1)
    events.wait(lambda: rec.status == "Filled", "the fill")
    filled_at(rec, quote(sim, 6).ask, 10)
    assert statuses(rec) == FILLED


# ---------------------------------------------------------------------- cancel, and / or, RTH


def test_conditions_cancel_order_cancels_a_working_order_when_they_hold(market):
    sim, app = market()
    order = with_conditions(limit_order("BUY", 10, 90.0), time_condition(ny(10, 1)),
                            cancel_order=True)  # fmt: skip
    rec, events = place(app, order, wait="Submitted")
    advance(sim, app, 59)
    assert rec.status == "Submitted"
    advance(sim, app, 1)
    events.wait(lambda: rec.status == "Cancelled", "the cancel")
    assert statuses(rec) == ["PendingSubmit", "PreSubmitted", "Submitted", "Cancelled"]
    assert not rec.fills and done_at(sim, rec) == 60


def test_conditions_cancel_order_before_they_hold_the_order_fills(market):
    sim, app = market(points={0: 100.0, 30: 89.0})
    order = with_conditions(limit_order("BUY", 10, 90.0), time_condition(ny(10, 1)),
                            cancel_order=True)  # fmt: skip
    rec, events = place(app, order, wait="Submitted")
    advance(sim, app, 30)
    events.wait(lambda: rec.status == "Filled", "the fill")
    filled_at(rec, quote(sim, 30).ask, 10)


def test_and_binds_conditions_or_lets_either_hold(market):
    """Price >= 101 (from second 30) AND time >= 10:02 (second 120): second 120. The same with
    OR: second 30."""
    sim, app = market(points={0: 100.0, 30: 101.2})
    both = conditioned(price_condition(AAPL, 101.0), time_condition(ny(10, 2)))
    either = conditioned(price_condition(AAPL, 101.0, conjunction="or"), time_condition(ny(10, 2)))
    rec_and, events = place(app, both)
    rec_or, _ = place(app, either)
    advance(sim, app, 30)
    events.wait(lambda: rec_or.status == "Filled", "the OR fill")
    assert done_at(sim, rec_or) == 30
    waiting(rec_and)
    advance(sim, app, 90)
    events.wait(lambda: rec_and.status == "Filled", "the AND fill")
    assert done_at(sim, rec_and) == 120
    filled_at(rec_and, quote(sim, 120).ask, 10)


def test_conditions_wait_for_regular_hours_unless_ignore_rth(market):
    sim, app = market(start=ny(16, 30))
    order = limit_order("BUY", 10, 101.0, outside_rth=True)
    rth = place(app, with_conditions(order, time_condition(ny(16, 31))))[0]
    anytime, events = place(app, with_conditions(order, time_condition(ny(16, 31)),
                                                 ignore_rth=True))  # fmt: skip
    advance(sim, app, 90)
    events.wait(lambda: anytime.status == "Filled", "the after-hours fill")
    filled_at(anytime, quote(sim, 60).ask, 10)
    waiting(rth)


# ---------------------------------------------------------------------- the wire and checks


def test_every_condition_type_reaches_the_simulator_and_comes_back(sim, connect):
    """placeOrder carries the six condition types (text below 203, protobuf from it); openOrder
    echoes them, with their connectors and flags, field for field."""
    client = connect(sim)
    sent = [
        price_condition(AAPL, 250.5, trigger_method=8, conjunction="or"),
        time_condition("20261125 11:00:00 US/Eastern", is_more=False),
        margin_condition(30, is_more=True),
        execution_condition("MSFT", conjunction="or"),
        volume_condition(IBM, 100_000, is_more=False),
        percent_change_condition(MSFT, -2.5),
    ]
    order = with_conditions(limit_order("BUY", 10, 1.0, tif="GTC"), *sent, ignore_rth=True)
    order_id = client.next_id()
    since = client.mark()
    client.placeOrder(order_id, stock("AAPL"), order)
    echo = client.wait("openOrder", since).order
    assert echo.conditionsIgnoreRth and not echo.conditionsCancelOrder
    assert [type(c) for c in echo.conditions] == [type(c) for c in sent]
    assert [vars(c) for c in echo.conditions] == [vars(c) for c in sent]
    assert client.wait("orderStatus", since).status == "PreSubmitted"


def test_the_simulator_refuses_a_condition_it_cannot_evaluate(sim, connect):
    client = connect(sim)
    order = limit_order("BUY", 10, 1.0)
    order.conditions = [oc.PriceCondition(0, 999_999, "SMART", True, 10.0)]
    order_id = client.next_id()
    since = client.mark()
    client.placeOrder(order_id, stock("AAPL"), order)
    error = client.wait("error", since)
    assert error.errorCode == 321 and "no contract with conId 999999" in error.errorString


def test_conditions_are_checked_before_sending():
    with pytest.raises(OrderValidationError, match="whole percentage") as refused:
        margin_condition(30.5)  # type: ignore[arg-type]
    assert refused.value.field == "conditions"
    with pytest.raises(OrderValidationError, match="triggerMethod 5"):
        price_condition(AAPL, 100.0, trigger_method=5)
    with pytest.raises(OrderValidationError, match="not a time TWS reads"):
        time_condition("tomorrow")
    with pytest.raises(OrderValidationError, match="no time zone"):
        time_condition(datetime(2026, 11, 25, 10))
    with pytest.raises(OrderValidationError, match="'and' or 'or'"):
        execution_condition("MSFT", conjunction="xor")
    order = market_order("BUY", 1)
    order.conditionsCancelOrder = True
    with pytest.raises(OrderValidationError, match="has no conditions") as refused:
        validate_order(order, min_tick=0.01, accounts=["DU1"])
    assert refused.value.field == "conditionsCancelOrder"
    assert time_condition(datetime(2026, 11, 25, 10, tzinfo=NEW_YORK)).time == ("20261125-15:00:00")


def test_the_protobuf_reader_refuses_what_ibapi_would_misread():
    """ibapi's decodeConditions fails with an unbound local on a condition of unknown type;
    the simulator refuses the request as malformed, as its text decoder does."""
    from ibapi.protobuf.OrderCondition_pb2 import OrderCondition as OrderConditionProto

    from twsapp.sim.condition_wire import conditions_from_proto
    from twsapp.sim.wire import ProtocolError

    margin = OrderConditionProto(type=4, isConjunctionConnection=False, isMore=True, percent=30)
    [read] = conditions_from_proto([margin])
    assert isinstance(read, oc.MarginCondition) and read.percent == 30 and read.isMore
    assert read.isConjunctionConnection is False
    for bad in (OrderConditionProto(type=9), OrderConditionProto()):
        with pytest.raises(ProtocolError, match="unknown order condition type"):
            conditions_from_proto([bad])
