"""The builders of issue 9's order types, OCA groups and the Adaptive algo, and the checks of
their terms: no socket. Every refusal names the field and the fix."""

from __future__ import annotations

from decimal import Decimal

import pytest
from ibapi.const import UNSET_DOUBLE
from ibapi.order import Order
from ibapi.tag_value import TagValue

import twsapp
from twsapp.book import OrderBook
from twsapp.exceptions import OrderValidationError
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
from twsapp.orders import limit_order, market_order, stop_limit_order, stop_order, validate_order


def valid(order: Order, sec_type: str = "STK") -> None:
    validate_order(order, min_tick=0.01, accounts=["DU1"], sec_type=sec_type)


def refused(field: str, words: str, build, *args, **kwargs) -> None:
    with pytest.raises(OrderValidationError, match=words) as caught:
        order = build(*args, **kwargs)
        valid(order)
    assert caught.value.field == field, caught.value


# ---------------------------------------------------------------------- builders


def test_trailing_stop_by_amount_or_percent():
    by_amount = trailing_stop_order("SELL", 10, trailing_amount=1.5, trail_stop_price=98.0)
    assert (by_amount.orderType, by_amount.action, by_amount.totalQuantity) == (
        "TRAIL",
        "SELL",
        Decimal(10),
    )
    assert (by_amount.auxPrice, by_amount.trailStopPrice) == (1.5, 98.0)
    assert by_amount.trailingPercent == UNSET_DOUBLE
    by_percent = trailing_stop_order("BUY", 3, trailing_percent=2.5, trigger_method=8, tif="GTC")
    assert (by_percent.trailingPercent, by_percent.triggerMethod, by_percent.tif) == (2.5, 8, "GTC")
    assert by_percent.auxPrice == UNSET_DOUBLE and by_percent.trailStopPrice == UNSET_DOUBLE
    valid(by_amount)
    valid(by_percent)


def test_trailing_stop_refusals():
    refused("auxPrice", "exactly one of auxPrice", trailing_stop_order, "SELL", 1)
    refused(
        "auxPrice",
        "both given",
        trailing_stop_order,
        "SELL",
        1,
        trailing_amount=1.0,
        trailing_percent=1.0,
    )
    refused(
        "trailingPercent", "not below 100", trailing_stop_order, "SELL", 1, trailing_percent=150
    )
    refused("trailingPercent", "not > 0", trailing_stop_order, "SELL", 1, trailing_percent=-1)
    with pytest.raises(OrderValidationError, match=r"trailStopPrice 98\.005 is not a multiple"):
        valid(trailing_stop_order("SELL", 1, trailing_amount=1.0, trail_stop_price=98.005))
    with pytest.raises(OrderValidationError, match=r"auxPrice 1\.005 is not a multiple"):
        valid(trailing_stop_order("SELL", 1, trailing_amount=1.005))
    valid(trailing_stop_order("SELL", 1, trailing_percent=1.005))  # a percentage has no tick


def test_trailing_stop_limit_needs_its_stop_and_an_offset_or_a_limit():
    order = trailing_stop_limit_order("SELL", 5, 98.0, trailing_amount=1.0, limit_offset=0.25)
    assert (order.orderType, order.trailStopPrice, order.lmtPriceOffset) == (
        "TRAIL LIMIT",
        98.0,
        0.25,
    )
    at_limit = trailing_stop_limit_order("BUY", 5, 102.0, trailing_percent=1.0, limit_price=102.5)
    assert at_limit.lmtPrice == 102.5 and at_limit.lmtPriceOffset == UNSET_DOUBLE
    refused(
        "lmtPriceOffset",
        "exactly one of lmtPriceOffset",
        trailing_stop_limit_order,
        "SELL",
        5,
        98.0,
        trailing_amount=1.0,
    )
    broken = trailing_stop_limit_order("SELL", 5, 98.0, trailing_amount=1.0, limit_offset=0.25)
    broken.trailStopPrice = UNSET_DOUBLE
    with pytest.raises(OrderValidationError, match="needs an initial stop price") as caught:
        valid(broken)
    assert caught.value.field == "trailStopPrice"


def test_touched_orders():
    mit = market_if_touched_order("BUY", 20, 99.0)
    lit = limit_if_touched_order("SELL", 20, 101.0, 100.8, trigger_method=2)
    assert (mit.orderType, mit.auxPrice) == ("MIT", 99.0)
    assert (lit.orderType, lit.auxPrice, lit.lmtPrice, lit.triggerMethod) == (
        "LIT",
        101.0,
        100.8,
        2,
    )
    refused("auxPrice", "auxPrice -1 is not > 0", market_if_touched_order, "BUY", 1, -1.0)
    refused("lmtPrice", "lmtPrice 0 is not > 0", limit_if_touched_order, "BUY", 1, 99.0, 0.0)


def test_on_close_orders_are_day_orders():
    moc, loc = (
        market_on_close_order("BUY", 30, order_ref="x"),
        limit_on_close_order("SELL", 30, 99.5),
    )
    assert (moc.orderType, moc.tif, moc.orderRef) == ("MOC", "DAY", "x")
    assert (loc.orderType, loc.tif, loc.lmtPrice) == ("LOC", "DAY", 99.5)
    moc.tif = "GTC"
    with pytest.raises(OrderValidationError, match="error 113") as caught:
        valid(moc)
    assert caught.value.field == "tif"
    refused("lmtPrice", "needs a limit price", limit_on_close_order, "SELL", 1, UNSET_DOUBLE)
    loc.outsideRth = True
    with pytest.raises(OrderValidationError, match="closing auction of the regular session"):
        valid(loc)


def test_relative_and_midprice_orders():
    rel = relative_order("BUY", 40, 0.0, price_cap=95.0)
    assert (rel.orderType, rel.auxPrice, rel.lmtPrice) == ("REL", 0.0, 95.0)  # 0: at the bid
    uncapped = relative_order("SELL", 40, 0.02)
    assert uncapped.lmtPrice == UNSET_DOUBLE
    refused("auxPrice", "not >= 0 — give an offset of 0 or more", relative_order, "BUY", 1, -0.01)
    mid = midprice_order("SELL", 25, price_cap=100.5)
    assert (mid.orderType, mid.lmtPrice) == ("MIDPRICE", 100.5)
    assert midprice_order("BUY", 25).lmtPrice == UNSET_DOUBLE
    valid(rel)
    valid(mid)


def test_trigger_methods():
    for method in (0, 1, 2, 3, 4, 7, 8):
        assert with_trigger_method(stop_order("BUY", 1, 101.0), method).triggerMethod == method
    assert with_trigger_method(stop_limit_order("BUY", 1, 101.0, 101.5), 4).triggerMethod == 4
    refused("triggerMethod", "is not one of", with_trigger_method, stop_order("BUY", 1, 9.0), 5)
    refused(
        "triggerMethod",
        "does nothing for a LMT",
        with_trigger_method,
        limit_order("BUY", 1, 9.0),
        2,
    )
    order = stop_order("BUY", 1, 9.0)
    assert with_trigger_method(order, 8) is not order and order.triggerMethod == 0
    last_driven = with_trigger_method(stop_order("BUY", 1, 1.1), 2)
    with pytest.raises(OrderValidationError, match=r"a currency \(CASH\) has none") as caught:
        valid(last_driven, sec_type="CASH")
    assert caught.value.field == "triggerMethod"
    valid(with_trigger_method(stop_order("BUY", 1, 1.1), 4), sec_type="CASH")


def test_oca_groups():
    orders = [limit_order("SELL", 10, 110.0), stop_order("SELL", 10, 90.0)]
    group = oca(orders, "exit", 2)
    assert [(o.ocaGroup, o.ocaType) for o in group] == [("exit", 2), ("exit", 2)]
    assert all(o.ocaGroup == "" for o in orders), "the orders given are not changed"
    assert oca(orders, "g")[0].ocaType == 1  # cancel with block by default
    refused("ocaType", "is not one of 1", oca, orders, "g", 4)
    refused("ocaGroup", "is not a name", oca, orders, " ")
    refused("ocaGroup", "cancels nothing", oca, orders[:1], "g", 1)
    lone = limit_order("BUY", 1, 9.0)
    lone.ocaType = 2
    with pytest.raises(OrderValidationError, match="ocaGroup is empty") as caught:
        valid(lone)
    assert caught.value.field == "ocaGroup"


def test_adaptive():
    order = adaptive(limit_order("BUY", 10, 150.0), "urgent")
    assert order.algoStrategy == "Adaptive"
    assert [(t.tag, t.value) for t in order.algoParams] == [("adaptivePriority", "Urgent")]
    assert adaptive(market_order("SELL", 1)).algoParams[0].value == "Normal"
    refused(
        "algoParams",
        "'Hasty' is not one of Urgent, Normal, Patient",
        adaptive,
        market_order("BUY", 1),
        "Hasty",
    )
    refused("algoStrategy", "not STP", adaptive, stop_order("BUY", 1, 9.0))
    stray = limit_order("BUY", 1, 9.0)
    stray.algoParams = [TagValue("adaptivePriority", "Normal")]
    with pytest.raises(OrderValidationError, match="algoStrategy is empty"):
        valid(stray)
    two = adaptive(market_order("BUY", 1))
    two.algoParams.append(TagValue("maxPctVol", "0.1"))
    with pytest.raises(OrderValidationError, match="one parameter, adaptivePriority"):
        valid(two)


def test_the_builders_are_public():
    for name in (
        "trailing_stop_order",
        "trailing_stop_limit_order",
        "market_if_touched_order",
        "limit_if_touched_order",
        "market_on_close_order",
        "limit_on_close_order",
        "relative_order",
        "midprice_order",
        "with_trigger_method",
        "oca",
        "adaptive",
    ):
        assert name in twsapp.__all__ and callable(getattr(twsapp, name))


# ---------------------------------------------------------------------- modify, from the table


def echo(book: OrderBook, order: Order, **shown) -> int:
    """``order`` as placed by this app and echoed by TWS with ``shown`` on its copy."""
    from ibapi.contract import Contract
    from ibapi.order_state import OrderState

    contract = Contract()
    contract.conId, contract.symbol, contract.secType = 265598, "AAPL", "STK"
    order.orderId, order.account = 7, "DU1"
    book.register_pending(1, 7, contract, order)
    copy = Order()
    for name, value in vars(order).items():
        setattr(copy, name, value)
    copy.clientId, copy.permId = 1, 99
    for name, value in shown.items():
        setattr(copy, name, value)
    state = OrderState()
    state.status = "PreSubmitted"
    book.on_open_order(7, contract, copy, state)
    return 7


def test_a_modify_of_a_percent_trail_keeps_its_moved_stop_and_validates():
    """TWS shows the stop where it moved to, and 0.0 for the unused amount: the re-sent order
    carries the moved stop, and the 0.0 is no second trailing amount."""
    book = OrderBook(client_id=1)
    oid = echo(
        book,
        trailing_stop_order("SELL", 10, trailing_percent=2.0),
        trailStopPrice=101.5,
        auxPrice=0.0,
    )
    order = book.preview_modify(oid, {"trailing_percent": 1.0})
    assert (order.trailingPercent, order.trailStopPrice) == (1.0, 101.5)
    valid(order)
    rel = echo(OrderBook(client_id=1), relative_order("BUY", 5, 0.01, price_cap=95.0))
    assert rel == 7


@pytest.mark.parametrize(
    ("build", "changes", "attr", "value"),
    [
        (lambda: trailing_stop_order("SELL", 1, trailing_amount=2.0), {"trailing_amount": 1.5}, "auxPrice", 1.5),
        (lambda: trailing_stop_order("SELL", 1, trailing_amount=2.0), {"trail_stop_price": 97.0}, "trailStopPrice", 97.0),
        (lambda: trailing_stop_limit_order("SELL", 1, 98.0, trailing_amount=1.0, limit_offset=0.2), {"limit_offset": 0.3}, "lmtPriceOffset", 0.3),
        (lambda: market_if_touched_order("BUY", 1, 99.0), {"trigger_price": 98.5}, "auxPrice", 98.5),
        (lambda: limit_if_touched_order("BUY", 1, 99.0, 99.2), {"price": 99.1}, "lmtPrice", 99.1),
        (lambda: limit_on_close_order("BUY", 1, 99.0), {"price": 99.5}, "lmtPrice", 99.5),
        (lambda: relative_order("BUY", 1, 0.01), {"offset": 0.02}, "auxPrice", 0.02),
        (lambda: midprice_order("BUY", 1, price_cap=100.0), {"price_cap": 100.5}, "lmtPrice", 100.5),
    ],
)  # fmt: skip
def test_each_type_modifies_its_own_fields(build, changes, attr, value):
    book = OrderBook(client_id=1)
    oid = echo(book, build())
    order = book.preview_modify(oid, changes)
    assert getattr(order, attr) == value
    valid(order)


def test_a_modify_naming_another_types_field_is_refused():
    from twsapp.book import BookError

    book = OrderBook(client_id=1)
    oid = echo(book, market_on_close_order("BUY", 1))
    with pytest.raises(BookError, match="a MOC order has no limit price"):
        book.preview_modify(oid, {"price": 99.0})
    assert book.preview_modify(oid, {"quantity": 2}).totalQuantity == 2
