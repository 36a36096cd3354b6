"""Order builders, pre-send validation and tick arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ibapi.common import PriceIncrement
from ibapi.const import UNSET_DECIMAL, UNSET_DOUBLE
from ibapi.order import Order

from twsapp.orders import (
    OrderValidationError,
    increment_at,
    is_on_tick,
    limit_order,
    market_order,
    round_to_tick,
    stop_limit_order,
    stop_order,
    validate_order,
)

ACCOUNTS = ("DU1234567",)
# A NASDAQ-style market rule: 0.0001 below $1, 0.01 from $1 on.
SUB_PENNY = [(0.0, 0.0001), (1.0, 0.01)]


def check(order: Order, **overrides) -> None:
    kwargs = {"min_tick": 0.01, "accounts": ACCOUNTS}
    kwargs.update(overrides)
    validate_order(order, **kwargs)


def refusal(order: Order, **overrides) -> OrderValidationError:
    with pytest.raises(OrderValidationError) as info:
        check(order, **overrides)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)
    return info.value


# --------------------------------------------------------------------------- builders


def test_market_order():
    order = market_order("BUY", 10, order_ref="demo", outside_rth=True, account="DU1234567")
    assert (order.action, order.orderType, order.tif) == ("BUY", "MKT", "DAY")
    assert order.totalQuantity == Decimal(10) and isinstance(order.totalQuantity, Decimal)
    assert order.lmtPrice == UNSET_DOUBLE and order.auxPrice == UNSET_DOUBLE
    assert (order.orderRef, order.outsideRth, order.account) == ("demo", True, "DU1234567")
    check(order)


def test_limit_order():
    order = limit_order("SELL", Decimal("2.5"), Decimal("149.01"), tif="GTC")
    assert (order.action, order.orderType, order.tif) == ("SELL", "LMT", "GTC")
    assert order.totalQuantity == Decimal("2.5")
    assert order.lmtPrice == 149.01 and isinstance(order.lmtPrice, float)
    assert order.auxPrice == UNSET_DOUBLE
    check(order)


def test_stop_order():
    order = stop_order("SELL", 100, 140.5)
    assert (order.orderType, order.auxPrice, order.lmtPrice) == ("STP", 140.5, UNSET_DOUBLE)
    check(order)


def test_stop_limit_order():
    order = stop_limit_order("BUY", 5, 150.0, 150.25, tif="GTD", good_till_date="20250131-21:00:00")
    assert (order.orderType, order.auxPrice, order.lmtPrice) == ("STP LMT", 150.0, 150.25)
    assert order.goodTillDate == "20250131-21:00:00"
    check(order)


def test_builder_quantities_are_decimals_without_exponents():
    # ibapi sends str(totalQuantity): "1E+1" is not what a trader means by ten
    order = market_order("BUY", Decimal("1E+1"))
    assert str(order.totalQuantity) == "10"
    assert str(market_order("BUY", "0.5").totalQuantity) == "0.5"
    assert market_order("BUY", 0.1).totalQuantity == Decimal("0.1")  # not 0.1000000000000000055


@pytest.mark.parametrize(
    ("build", "field", "fragment"),
    [
        (lambda: market_order("buy", 10), "action", "'buy' is not BUY or SELL"),
        (lambda: market_order("SSHORT", 10), "action", "'SSHORT'"),
        (lambda: market_order("BUY", 0), "totalQuantity", "totalQuantity 0 is not > 0"),
        (lambda: market_order("BUY", -5), "totalQuantity", "-5 is not > 0"),
        (lambda: market_order("BUY", float("nan")), "totalQuantity", "not a finite number"),
        (lambda: market_order("BUY", Decimal("Infinity")), "totalQuantity", "not a finite"),
        (lambda: market_order("BUY", "ten"), "totalQuantity", "'ten' is not a number"),
        (lambda: market_order("BUY", True), "totalQuantity", "is a bool"),
        (lambda: market_order("BUY", None), "totalQuantity", "is a NoneType"),
        (lambda: market_order("BUY", 1, tif="day"), "tif", "'day' is not one of"),
        (lambda: market_order("BUY", 1, outside_rth="yes"), "outsideRth", "not a bool"),
        (lambda: limit_order("BUY", 1, float("inf")), "lmtPrice", "not a finite number"),
        (lambda: limit_order("BUY", 1, 0), "lmtPrice", "lmtPrice 0 is not > 0"),
        (lambda: limit_order("BUY", 1, "149.0"), "lmtPrice", "is a str"),
        (lambda: stop_order("SELL", 1, -1.5), "auxPrice", "auxPrice -1.5 is not > 0"),
        (lambda: stop_limit_order("SELL", 1, 10, float("nan")), "lmtPrice", "not a finite"),
        (lambda: limit_order("BUY", 1, 10, tif="GTD"), "goodTillDate", "GTD order needs it"),
    ],
)
def test_builders_refuse_at_once(build, field, fragment):
    with pytest.raises(OrderValidationError) as info:
        build()
    assert info.value.field == field
    assert fragment in str(info.value), str(info.value)
    assert " — " in str(info.value)


# --------------------------------------------------------------------------- validate_order


def raw(**fields) -> Order:
    """An Order built field by field, as code that bypasses the builders would."""
    order = Order()
    order.action, order.orderType, order.totalQuantity, order.tif = "BUY", "LMT", Decimal(1), "DAY"
    order.lmtPrice = 100.0
    for name, value in fields.items():
        setattr(order, name, value)
    return order


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"action": ""}, "action", "action '' is not BUY or SELL"),
        ({"action": "Sell"}, "action", "upper case"),
        ({"orderType": "LIMIT"}, "orderType", "'LIMIT' is not supported — use one of LIT, LMT"),
        ({"orderType": "lmt"}, "orderType", "'lmt'"),
        ({"totalQuantity": UNSET_DECIMAL}, "totalQuantity", "totalQuantity is not set"),
        ({"totalQuantity": Decimal(0)}, "totalQuantity", "is not > 0"),
        ({"totalQuantity": Decimal("-0.5")}, "totalQuantity", "-0.5 is not > 0"),
        ({"totalQuantity": Decimal("NaN")}, "totalQuantity", "not a finite number"),
        ({"totalQuantity": Decimal("sNaN")}, "totalQuantity", "not a finite number"),
        ({"totalQuantity": float("inf")}, "totalQuantity", "not a finite number"),
        ({"totalQuantity": "10"}, "totalQuantity", "is a str"),
        ({"totalQuantity": Decimal("1E+2")}, "totalQuantity", "sent as '1E+2'"),
        ({"lmtPrice": UNSET_DOUBLE}, "lmtPrice", "a LMT order needs a limit price"),
        ({"lmtPrice": float("nan")}, "lmtPrice", "not a finite number"),
        ({"lmtPrice": float("-inf")}, "lmtPrice", "not a finite number"),
        ({"lmtPrice": -149.0}, "lmtPrice", "is not > 0"),
        ({"lmtPrice": Decimal("NaN")}, "lmtPrice", "not a finite number"),
        ({"lmtPrice": Decimal("sNaN")}, "lmtPrice", "not a finite number"),
        ({"orderType": "STP"}, "auxPrice", "a STP order needs a stop price"),
        (
            {"orderType": "STP LMT", "auxPrice": 99.0, "lmtPrice": UNSET_DOUBLE},
            "lmtPrice",
            "STP LMT",
        ),
        ({"orderType": "STP LMT"}, "auxPrice", "STP LMT order needs a stop price"),
        ({"tif": ""}, "tif", "tif is empty"),
        ({"tif": "GTX"}, "tif", "DAY, DTC, FOK, GTC, GTD, IOC, OPG"),
        ({"tif": "GTD"}, "goodTillDate", "goodTillDate is empty"),
        ({"tif": "GTD", "goodTillDate": "2025-01-31"}, "goodTillDate", "not a date and time"),
        ({"tif": "GTD", "goodTillDate": "20251331 16:00:00"}, "goodTillDate", "'20251331"),
        ({"goodTillDate": "20250131-16:00:00 US/Eastern"}, "goodTillDate", "(UTC)"),
        ({"account": "DU999"}, "account", "'DU999' is not one of the managed accounts (DU1234567)"),
        ({"faGroup": "Growth"}, "faGroup", "'Growth' is not one of the FA groups (none)"),
        ({"faGroup": "Growth", "account": "DU1234567"}, "account", "both set"),
        ({"lmtPrice": 149.005}, "lmtPrice", "lmtPrice 149.005 is not a multiple of the tick 0.01"),
    ],
)
def test_every_refusal_names_the_field_the_value_and_the_fix(fields, field, fragment):
    error = refusal(raw(**fields))
    assert error.field == field
    assert str(error).startswith(field), str(error)
    assert fragment in str(error), str(error)
    assert " — " in str(error)


def test_the_tick_refusal_offers_the_neighbouring_ticks():
    message = str(refusal(raw(lmtPrice=149.005)))
    assert message.endswith("— use 149 or 149.01 (round_to_tick)")
    # below the first tick only the tick above is offered
    assert str(refusal(raw(lmtPrice=0.004))).endswith("— use 0.01 (round_to_tick)")


def test_validation_does_not_mutate_the_order():
    order = raw(account="", lmtPrice=149.005)
    before = dict(vars(order))
    refusal(order, accounts=("DU1", "DU2"))
    check(raw(), accounts=ACCOUNTS)
    assert vars(order) == before


def test_accounts():
    check(raw(account=""), accounts=("DU1",))  # TWS uses the only account
    check(raw(account="DU2"), accounts=("DU1", "DU2"))
    message = str(refusal(raw(account=""), accounts=("DU2", "DU1")))
    assert "manages 2 accounts (DU1, DU2)" in message
    assert "no managed accounts are known yet" in str(refusal(raw(), accounts=()))
    check(raw(faGroup="Growth"), accounts=("DU1", "DU2"), fa_groups={"Growth", "Income"})
    assert "(Growth, Income)" in str(
        refusal(raw(faGroup="Value"), accounts=("DU1", "DU2"), fa_groups=("Income", "Growth"))
    )


@pytest.mark.parametrize(
    "good_till", ["20250131 16:00:00 US/Eastern", "20250131-21:00:00", "20250131 16:00:00"]
)
def test_gtd_accepts_the_formats_tws_reads(good_till):
    check(raw(tif="GTD", goodTillDate=good_till))


def test_prices_the_type_does_not_use_are_ignored():
    # openOrder reports a MKT order's unused prices as 0.0; re-validating it on modify must pass
    check(raw(orderType="MKT", lmtPrice=0.0, auxPrice=0.0))
    check(raw(orderType="STP", auxPrice=99.5, lmtPrice=0.0))


def test_quantity_and_price_types_an_order_may_hold():
    check(raw(totalQuantity=10, lmtPrice=100))
    check(raw(totalQuantity=10.0, lmtPrice=Decimal("149.01")))
    assert "not a multiple" in str(refusal(raw(lmtPrice=Decimal("149.015"))))


def test_without_tick_information_the_tick_check_is_skipped():
    check(raw(lmtPrice=149.005), min_tick=None)
    check(raw(lmtPrice=149.005), min_tick=0.0)  # TWS reports 0 for some combos
    check(raw(lmtPrice=149.005), min_tick=UNSET_DOUBLE)


def test_market_rule_takes_precedence_over_min_tick():
    check(raw(lmtPrice=0.5001), min_tick=0.01, price_increments=SUB_PENNY)
    assert "tick 0.0001" not in str(refusal(raw(lmtPrice=1.0001), price_increments=SUB_PENNY))
    message = str(refusal(raw(lmtPrice=1.0001), price_increments=SUB_PENNY))
    assert "tick 0.01 that applies" in message and "use 1 or 1.01" in message


def test_stop_limit_checks_both_prices_on_tick():
    order = raw(orderType="STP LMT", auxPrice=150.001, lmtPrice=150.0)
    assert refusal(order).field == "auxPrice"
    assert refusal(raw(orderType="STP LMT", auxPrice=150.0, lmtPrice=150.001)).field == "lmtPrice"


# --------------------------------------------------------------------------- ticks

TICKS = [0.01, 0.05, 0.25, 0.5, 1, 0.00005, 0.0001, 0.005, 0.1, 5]


@given(k=st.integers(1, 10**7), tick=st.sampled_from(TICKS))
def test_any_multiple_of_the_tick_passes(k, tick):
    price = float(k * Decimal(repr(tick)))
    assert is_on_tick(price, tick)
    check(raw(lmtPrice=price), min_tick=tick)


@given(k=st.integers(0, 10**7), tick=st.sampled_from(TICKS))
def test_half_a_tick_off_always_fails(k, tick):
    t = Decimal(repr(tick))
    price = float(k * t + t / 2)
    assert not is_on_tick(price, tick)
    with pytest.raises(OrderValidationError, match="not a multiple of the tick"):
        check(raw(lmtPrice=price), min_tick=tick)


def test_float_noise_is_not_a_tick_error():
    assert is_on_tick(149.00, 0.01) and is_on_tick(0.3, 0.1) and is_on_tick(1.15, 0.05)
    assert not is_on_tick(149.005, 0.01)
    assert not is_on_tick(0.1 + 0.2, 0.1)  # 0.30000000000000004 would go on the wire


def test_market_rule_ladders():
    rules = [PriceIncrement(), PriceIncrement()]
    rules[0].lowEdge, rules[0].increment = 1.0, 0.01
    rules[1].lowEdge, rules[1].increment = 0.0, 0.0001  # unsorted, as objects
    assert increment_at(0.5, rules) == Decimal("0.0001")
    assert increment_at(1.0, rules) == Decimal("0.01")  # the edge belongs to the band above
    assert increment_at(0.5, [(0.25, 0.05)]) == Decimal("0.05")
    assert increment_at(0.1, [(0.25, 0.05)]) == Decimal("0.05")  # below the lowest edge
    assert is_on_tick(0.9999, rules) and is_on_tick(1.0, rules) and is_on_tick(1.01, rules)
    assert not is_on_tick(1.0001, rules) and not is_on_tick(0.99995, rules)


def test_round_to_tick():
    assert round_to_tick(149.004, 0.01) == 149.0
    assert round_to_tick(149.005, 0.01) == 149.01  # halves go up
    assert round_to_tick(149.001, 0.01, "up") == 149.01
    assert round_to_tick(149.009, 0.01, "down") == 149.0
    assert round_to_tick(5000.13, 0.25) == 5000.25
    assert round_to_tick(1.12346, 0.00005) == 1.12345
    assert round_to_tick(0.99995, SUB_PENNY, "up") == 1.0
    assert round_to_tick(1.004, SUB_PENNY, "down") == 1.0
    # float arithmetic's noise is not a price: a sum that is a tick stays that tick
    assert 150.27 + 0.3 == 150.57000000000002 and 0.1 + 0.2 == 0.30000000000000004
    assert round_to_tick(150.27 + 0.3, 0.01, "up") == 150.57
    assert round_to_tick(0.1 + 0.2, 0.01, "up") == 0.3
    assert round_to_tick(150.57 - 1e-9, 0.01, "down") == 150.57
    assert round_to_tick(150.5700001, 0.01, "up") == 150.58  # a real fraction of a tick
    with pytest.raises(ValueError, match="direction"):
        round_to_tick(1.0, 0.01, "sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        round_to_tick(1.0, 0.0)


def test_rounding_across_an_edge_lands_on_the_new_bands_grid():
    # 10.01 is on the 0.01 grid but lies in the 0.05 band, where it is off tick
    rules = [(0.0, 0.01), (10.01, 0.05)]
    assert round_to_tick(10.005, rules, "up") == 10.05


LADDERS = [0.01, 0.25, SUB_PENNY, [(0.0, 0.01), (10.01, 0.05)], [(0, 0.05), (3, 0.1), (10, 0.5)]]
DIRECTIONS = st.sampled_from(["nearest", "up", "down"])


@given(
    price=st.decimals(min_value="0.01", max_value="100000", places=6),
    rules=st.sampled_from(LADDERS),
    direction=DIRECTIONS,
)
def test_round_to_tick_always_lands_on_tick_on_the_right_side(price, rules, direction):
    result = round_to_tick(price, rules, direction)
    assert is_on_tick(result, rules)
    if direction == "up":
        assert Decimal(repr(result)) >= price
    elif direction == "down":
        assert Decimal(repr(result)) <= price
    else:
        assert abs(Decimal(repr(result)) - price) <= increment_at(result, rules)


@given(k=st.integers(1, 10**6), rules=st.sampled_from(LADDERS), direction=DIRECTIONS)
def test_round_to_tick_leaves_on_tick_prices_alone(k, rules, direction):
    price = round_to_tick(k / 997, rules, "up")
    assert round_to_tick(price, rules, direction) == price


# --------------------------------------------------------------------------- checked once


class _Reads:
    """An order that records which attributes are read."""

    def __init__(self, order: Order) -> None:
        object.__setattr__(self, "_order", order)
        object.__setattr__(self, "read", set())

    def __getattr__(self, name):
        self.read.add(name)
        return getattr(self._order, name)


def _orders_of_every_shape() -> list[Order]:
    from ibapi.tag_value import TagValue

    from twsapp.order_conditions import price_condition, with_conditions

    trail = Order()
    trail.action, trail.orderType, trail.totalQuantity, trail.tif = "SELL", "TRAIL LIMIT", 5, "GTC"
    trail.trailingPercent, trail.trailStopPrice, trail.lmtPriceOffset = 1.5, 99.0, 0.1
    trail.triggerMethod, trail.ocaGroup, trail.ocaType = 2, "g", 1
    adaptive = limit_order("BUY", 1, 100.0)
    adaptive.algoStrategy, adaptive.algoParams = (
        "Adaptive",
        [TagValue("adaptivePriority", "Urgent")],
    )
    gtd = limit_order("BUY", 1, 100.0, tif="GTD", good_till_date="20250131-21:00:00")
    conditioned = with_conditions(limit_order("BUY", 1, 100.0), price_condition(265598, 99.0))
    return [trail, adaptive, gtd, conditioned, stop_limit_order("SELL", 1, 99.0, 98.0),
            market_order("BUY", 3, outside_rth=True)]  # fmt: skip


def test_the_builders_remember_every_field_the_order_checks_read():
    """A builder's mark compares the fields _check_fields reads: one it read but the mark
    left out would let a change to it skip the checks."""
    from twsapp.orders import _CHECKED_FIELDS, _check_fields

    remembered = {*_CHECKED_FIELDS, "conditions", "algoParams"}  # the lists: must stay empty
    for order in _orders_of_every_shape():
        proxy = _Reads(order)
        _check_fields(proxy)
        assert proxy.read <= remembered, proxy.read - remembered


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("totalQuantity", Decimal("1E+1"), "without an exponent"),  # equal to 10, not the same
        ("totalQuantity", True, "is a bool"),  # equal to Decimal(1)
        ("lmtPrice", -1.0, "lmtPrice -1 is not > 0"),
        ("tif", "GTD", "goodTillDate is empty"),
        ("triggerMethod", 2, "does nothing for a LMT order"),
        ("conditionsCancelOrder", True, "the order has no conditions"),
        ("outsideRth", True, "not available for a IOC order"),
    ],
)
def test_an_order_changed_after_building_is_checked_again(name, value, fragment):
    from twsapp.orders import unchanged_since_built

    order = limit_order("BUY", 10, 100.0, tif="IOC" if name == "outsideRth" else "DAY")
    assert unchanged_since_built(order, order)
    setattr(order, name, value)
    assert not unchanged_since_built(order, order)
    with pytest.raises(OrderValidationError, match=fragment):
        validate_order(order, min_tick=0.01, accounts=ACCOUNTS)


def test_a_condition_added_to_a_built_orders_list_is_checked():
    from twsapp.orders import unchanged_since_built

    order = limit_order("BUY", 10, 100.0)
    order.conditions.append("not a condition")  # the very list the builder saw empty
    assert not unchanged_since_built(order, order)
    with pytest.raises(OrderValidationError, match="not an ibapi order condition"):
        validate_order(order, min_tick=0.01, accounts=ACCOUNTS)


def test_an_order_no_builder_made_is_not_taken_as_checked():
    import copy

    from twsapp.orders import unchanged_since_built

    built = limit_order("BUY", 10, 100.0)
    other = Order()
    assert not unchanged_since_built(other, other)
    assert unchanged_since_built(built, copy.copy(built))  # a copy of it carries its values
    assert not unchanged_since_built(copy.copy(built), built)  # only what the builder made


def test_fields_checked_still_runs_the_contract_account_and_tick_checks():
    order = limit_order("BUY", 10, 100.005)
    with pytest.raises(OrderValidationError, match="not a multiple of the tick"):
        validate_order(order, min_tick=0.01, accounts=ACCOUNTS, fields_checked=True)
    order = limit_order("BUY", 10, 100.0, account="DU999")
    with pytest.raises(OrderValidationError, match="not one of the managed accounts"):
        validate_order(order, min_tick=0.01, accounts=ACCOUNTS, fields_checked=True)
    order = market_order("BUY", 10)
    with pytest.raises(OrderValidationError, match="OVERNIGHT venue takes limit orders"):
        validate_order(order, min_tick=0.01, accounts=ACCOUNTS, sec_type="STK",
                       exchange="OVERNIGHT", fields_checked=True)  # fmt: skip


def test_a_built_order_starts_as_a_new_ibapi_order_and_shares_no_list():
    first, second = market_order("BUY", 1), market_order("BUY", 1)
    fresh = vars(Order())
    assert list(vars(first)) == list(fresh)
    for name, value in vars(first).items():
        if name in ("action", "orderType", "totalQuantity", "tif"):
            continue
        if hasattr(value, "__dict__"):
            assert type(value) is type(fresh[name]) and vars(value) == vars(fresh[name]), name
        else:
            assert value == fresh[name], name
    assert first.conditions is not second.conditions
    assert first.softDollarTier is not second.softDollarTier
    first.conditions.append("x")
    assert second.conditions == []


def test_a_market_rule_changed_in_place_is_read_again():
    rules = [(0.0, 0.01)]
    assert is_on_tick(1.01, rules)
    rules[0] = (0.0, 0.05)
    assert not is_on_tick(1.01, rules)
    assert increment_at(1.01, rules) == Decimal("0.05")


def test_equal_rules_of_other_types_keep_their_own_increment():
    assert str(increment_at(3.0, [(0.0, 1.0)])) == "1.0"
    assert str(increment_at(3.0, [(0, 1)])) == "1"
    assert str(increment_at(3.0, 1.0)) == "1.0"
    assert str(increment_at(3.0, 1)) == "1"


def test_the_order_api_copies_even_an_empty_list_of_the_callers_order():
    from twsapp.session.trading import _own_copy

    order = limit_order("BUY", 10, 100.0)
    copied = _own_copy(order)
    order.conditions.append("added after placing")
    assert copied.conditions == []
    assert vars(copied).keys() == vars(order).keys()
    assert type(copied) is Order
