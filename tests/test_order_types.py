"""The order-type table, and what reads it: validation, the book's records, frames, modify."""

from __future__ import annotations

from decimal import Decimal

import pytest
from ibapi.const import UNSET_DOUBLE
from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.order_state import OrderState

from twsapp.book import BookError, OrderBook
from twsapp.book.frames import ORDER_COLUMNS, orders_df
from twsapp.exceptions import OrderValidationError
from twsapp.order_types import ORDER_TYPES, PLACEABLE, PRICE_FIELDS, attr_for, uses
from twsapp.orders import check_price_fields, limit_order, validate_order

CID = 2


def test_every_required_or_one_of_field_is_described_by_its_row():
    for row in ORDER_TYPES.values():
        named = set(row.required) | {a for group in row.one_of for a in group}
        assert named <= set(row.by_attr), row.name
        assert set(row.tick_checked) <= set(row.by_attr)
        assert row.modifiable[:2] == ("totalQuantity", "tif")


def test_what_twsapp_places_today():
    basic = {"MKT", "LMT", "STP", "STP LMT"}
    issue_9 = {"TRAIL", "TRAIL LIMIT", "MIT", "LIT", "MOC", "LOC", "REL", "MIDPRICE"}
    assert basic | issue_9 == PLACEABLE
    assert set(PRICE_FIELDS) >= {"lmtPrice", "auxPrice", "trailingPercent", "trailStopPrice"}


def trail(**prices: float) -> Order:
    order = Order()
    order.action, order.orderType, order.totalQuantity, order.tif = (
        "SELL",
        "TRAIL",
        Decimal(5),
        "DAY",
    )
    for name, value in prices.items():
        setattr(order, name, value)
    return order


def test_one_of_auxprice_or_trailing_percent():
    row = ORDER_TYPES["TRAIL"]
    check_price_fields(trail(auxPrice=0.5), row)
    check_price_fields(trail(trailingPercent=1.0), row)
    with pytest.raises(OrderValidationError, match="exactly one of auxPrice") as neither:
        check_price_fields(trail(), row)
    assert "neither given" in str(neither.value) and neither.value.field == "auxPrice"
    with pytest.raises(OrderValidationError, match="both given"):
        check_price_fields(trail(auxPrice=0.5, trailingPercent=1.0), row)
    with pytest.raises(OrderValidationError, match="trailingPercent -1 is not > 0"):
        check_price_fields(trail(trailingPercent=-1.0), row)


def test_percentages_are_not_tick_checked_but_prices_are():
    row = ORDER_TYPES["TRAIL"]
    assert "trailingPercent" not in row.tick_checked
    assert {"auxPrice", "trailStopPrice"} <= set(row.tick_checked)


def test_a_type_twsapp_does_not_place_yet_is_refused_with_the_list():
    order = trail(auxPrice=0.5)
    order.orderType = "PEG MID"
    with pytest.raises(OrderValidationError, match="'PEG MID' is not supported") as caught:
        validate_order(order, min_tick=0.01, accounts=["DU1"])
    assert caught.value.field == "orderType"


def test_a_stop_price_given_to_a_limit_order_is_ignored_but_must_be_a_number():
    order = limit_order("BUY", 1, 100.0)
    order.auxPrice = float("nan")
    with pytest.raises(OrderValidationError, match="auxPrice must be a finite number"):
        validate_order(order, min_tick=0.01, accounts=["DU1"])
    order.auxPrice = UNSET_DOUBLE
    validate_order(order, min_tick=0.01, accounts=["DU1"])


def test_keywords_resolve_per_type():
    assert attr_for("STP", "stop_price") == "auxPrice"
    assert attr_for("TRAIL", "trailing_amount") == "auxPrice"
    assert attr_for("TRAIL", "trailing_percent") == "trailingPercent"
    assert attr_for("LMT", "price") == "lmtPrice" and attr_for("LMT", "quantity") == "totalQuantity"
    assert uses("REL", "auxPrice") and not uses("LMT", "auxPrice") and not uses("NOPE", "lmtPrice")


# ---------------------------------------------------------------------- the book reads it


def tws_trail_order(book: OrderBook) -> int:
    """A TRAIL order placed in TWS's window (not by this app): known only from TWS's copy."""
    contract = Contract()
    contract.symbol, contract.secType, contract.conId = "AAPL", "STK", 265598
    order = trail(trailingPercent=2.0, trailStopPrice=147.5)
    order.orderId, order.clientId, order.permId = 12, CID, 5012
    order.lmtPrice, order.auxPrice = 0.0, 0.0  # TWS reports unused prices as 0.0
    state = OrderState()
    state.status = "PreSubmitted"
    book.on_open_order(12, contract, order, state)
    return 12


def test_records_and_frames_show_a_trail_orders_own_prices():
    book = OrderBook(client_id=CID)
    oid = tws_trail_order(book)
    rec = book.get(oid)
    assert rec.price("trailingPercent") == 2.0 and rec.price("trailStopPrice") == 147.5
    assert rec.limit_price is None  # a TRAIL has no limit price: 0.0 means none
    assert rec.aux_price == 0.0  # auxPrice is the TRAIL's amount: 0.0 is what TWS says
    row = orders_df(book.records()).iloc[0]
    assert {"trailing_percent", "trail_stop_price"} <= set(ORDER_COLUMNS)
    assert row["trailing_percent"] == 2.0 and row["trail_stop_price"] == 147.5


def test_modify_of_a_trail_order_takes_its_fields_and_refuses_others():
    book = OrderBook(client_id=CID)
    oid = tws_trail_order(book)
    order = book.preview_modify(oid, {"trailing_percent": 1.5, "quantity": 3})
    assert (order.trailingPercent, order.totalQuantity, order.orderType) == (1.5, 3, "TRAIL")
    with pytest.raises(BookError, match=r"a TRAIL order has no limit price \(price=\)"):
        book.preview_modify(oid, {"price": 150.0})
    with pytest.raises(BookError, match="cancel-and-replace"):
        book.preview_modify(oid, {"orderType": "MKT"})
