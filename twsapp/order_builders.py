"""Builders of the order types beyond the basic four, and of OCA groups and the Adaptive algo.

Each returns a plain ibapi ``Order`` checked for everything that needs no contract (as the
builders of ``orders.py`` do): TWS refuses a malformed order only once sent, so the refusal here
names the field and the fix instead. Prices are floats, quantities Decimals (see ``orders.py``).

What each type does, as TWS documents it and the simulator plays it:

* TRAIL: a stop that follows the market by an amount (``trailing_amount``, auxPrice) or a
  percentage (``trailing_percent``), starting at ``trail_stop_price`` if given. A SELL's stop
  rises with the price and never falls; a BUY's falls with it and never rises. Once hit, a
  market order. TWS reports the stop where it is in openOrder's trailStopPrice.
* TRAIL LIMIT: the same, then a limit order ``limit_offset`` beyond the stop (or at a limit
  that keeps its distance to the stop). TWS needs the initial stop.
* MIT / LIT: a BUY below the market (a SELL above) that becomes a market / limit order once its
  trigger price is touched.
* MOC / LOC: executed in the closing auction, at the closing price (LOC only if that is at or
  better than its limit); DAY only.
* REL: a limit pegged to the primary quote: the bid plus ``offset`` for a BUY (the ask minus it
  for a SELL), never beyond ``price_cap``.
* MIDPRICE: a limit at the quote's midpoint, never beyond ``price_cap``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from decimal import Decimal

from ibapi.order import Order
from ibapi.tag_value import TagValue

from .exceptions import OrderValidationError
from .order_checks import ADAPTIVE, OCA_TYPES, TRIGGER_METHODS, adaptive_priority
from .orders import _check_fields, _finish, _new_order, _to_price

__all__ = [
    "adaptive",
    "limit_if_touched_order",
    "limit_on_close_order",
    "market_if_touched_order",
    "market_on_close_order",
    "midprice_order",
    "oca",
    "relative_order",
    "trailing_stop_limit_order",
    "trailing_stop_order",
    "with_trigger_method",
]

Quantity = Decimal | int | float | str
Price = float | Decimal


def trailing_stop_order(
    action: str,
    quantity: Quantity,
    *,
    trailing_amount: Price | None = None,
    trailing_percent: Price | None = None,
    trail_stop_price: Price | None = None,
    trigger_method: int = 0,
    tif: str = "DAY",
    account: str = "",
    order_ref: str = "",
    outside_rth: bool = False,
    good_till_date: str = "",
) -> Order:
    """TRAIL: one of ``trailing_amount`` or ``trailing_percent``; ``trail_stop_price`` the
    initial stop (TWS computes it from the market when not given)."""
    order = _new_order(
        "TRAIL", action, quantity, tif, account, order_ref, outside_rth, good_till_date
    )
    _trail_terms(order, trailing_amount, trailing_percent, trail_stop_price, trigger_method)
    return _finish(order)


def trailing_stop_limit_order(
    action: str,
    quantity: Quantity,
    trail_stop_price: Price,
    *,
    trailing_amount: Price | None = None,
    trailing_percent: Price | None = None,
    limit_offset: Price | None = None,
    limit_price: Price | None = None,
    trigger_method: int = 0,
    tif: str = "DAY",
    account: str = "",
    order_ref: str = "",
    outside_rth: bool = False,
    good_till_date: str = "",
) -> Order:
    """TRAIL LIMIT: the trailing stop of ``trailing_stop_order`` starting at
    ``trail_stop_price``, then a limit ``limit_offset`` beyond the stop (below it for a SELL),
    or at ``limit_price`` (its distance to the stop kept as the stop moves): one of the two."""
    order = _new_order(
        "TRAIL LIMIT", action, quantity, tif, account, order_ref, outside_rth, good_till_date
    )
    _trail_terms(order, trailing_amount, trailing_percent, trail_stop_price, trigger_method)
    if limit_offset is not None:
        order.lmtPriceOffset = _to_price("lmtPriceOffset", limit_offset)
    if limit_price is not None:
        order.lmtPrice = _to_price("lmtPrice", limit_price)
    return _finish(order)


def market_if_touched_order(
    action: str,
    quantity: Quantity,
    trigger_price: Price,
    *,
    trigger_method: int = 0,
    tif: str = "DAY",
    account: str = "",
    order_ref: str = "",
    outside_rth: bool = False,
    good_till_date: str = "",
) -> Order:
    """MIT: a market order once ``trigger_price`` is touched (a BUY's from above)."""
    order = _new_order(
        "MIT", action, quantity, tif, account, order_ref, outside_rth, good_till_date
    )
    order.auxPrice = _to_price("auxPrice", trigger_price)
    order.triggerMethod = trigger_method
    return _finish(order)


def limit_if_touched_order(
    action: str,
    quantity: Quantity,
    trigger_price: Price,
    limit_price: Price,
    *,
    trigger_method: int = 0,
    tif: str = "DAY",
    account: str = "",
    order_ref: str = "",
    outside_rth: bool = False,
    good_till_date: str = "",
) -> Order:
    """LIT: a limit order at ``limit_price`` once ``trigger_price`` is touched."""
    order = _new_order(
        "LIT", action, quantity, tif, account, order_ref, outside_rth, good_till_date
    )
    order.auxPrice = _to_price("auxPrice", trigger_price)
    order.lmtPrice = _to_price("lmtPrice", limit_price)
    order.triggerMethod = trigger_method
    return _finish(order)


def market_on_close_order(
    action: str, quantity: Quantity, *, account: str = "", order_ref: str = ""
) -> Order:
    """MOC: executed at the closing price in the closing auction. TWS takes it as a DAY order
    before the exchange's cut-off only (US stocks: 15:50 New York time, 15:55 on Nasdaq)."""
    return _finish(_new_order("MOC", action, quantity, "DAY", account, order_ref, False, ""))


def limit_on_close_order(
    action: str, quantity: Quantity, price: Price, *, account: str = "", order_ref: str = ""
) -> Order:
    """LOC: executed at the closing price if that is at ``price`` or better, else cancelled."""
    order = _new_order("LOC", action, quantity, "DAY", account, order_ref, False, "")
    order.lmtPrice = _to_price("lmtPrice", price)
    return _finish(order)


def relative_order(
    action: str,
    quantity: Quantity,
    offset: Price,
    *,
    price_cap: Price | None = None,
    tif: str = "DAY",
    account: str = "",
    order_ref: str = "",
    outside_rth: bool = False,
    good_till_date: str = "",
) -> Order:
    """REL (pegged to primary): a BUY works at the bid plus ``offset`` (0: at the bid), a SELL
    at the ask minus it, following the quote; never above (below) ``price_cap``."""
    order = _new_order(
        "REL", action, quantity, tif, account, order_ref, outside_rth, good_till_date
    )
    order.auxPrice = _to_price("auxPrice", offset)
    if price_cap is not None:
        order.lmtPrice = _to_price("lmtPrice", price_cap)
    return _finish(order)


def midprice_order(
    action: str,
    quantity: Quantity,
    *,
    price_cap: Price | None = None,
    tif: str = "DAY",
    account: str = "",
    order_ref: str = "",
    outside_rth: bool = False,
    good_till_date: str = "",
) -> Order:
    """MIDPRICE: works at the midpoint of the quote or better, never beyond ``price_cap``."""
    order = _new_order(
        "MIDPRICE", action, quantity, tif, account, order_ref, outside_rth, good_till_date
    )
    if price_cap is not None:
        order.lmtPrice = _to_price("lmtPrice", price_cap)
    return _finish(order)


def with_trigger_method(order: Order, method: int) -> Order:
    """A copy of a stop, trailing or touched order that triggers by ``method``
    (``order_checks.TRIGGER_METHODS``: 2 last, 4 bid/ask, 8 midpoint ...)."""
    if isinstance(method, bool) or method not in TRIGGER_METHODS:
        known = ", ".join(f"{k} {v}" for k, v in TRIGGER_METHODS.items())
        raise OrderValidationError("triggerMethod", f"method {method!r} is not one of {known}")
    order = copy.deepcopy(order)
    order.triggerMethod = method
    return _finish(order)


def oca(orders: Sequence[Order], group: str, oca_type: int = 1) -> list[Order]:
    """Copies of ``orders`` in one One-Cancels-All group, to place one by one.

    ``oca_type`` (IB's ocaType): 1 a fill cancels the others; 2 a fill reduces the others by
    its quantity; 3 the same without block. "With block" (1, 2) routes one order of the group
    at a time, so the group cannot fill more than one order's worth; without it (3) two orders
    hit at once both fill.
    """
    if not isinstance(group, str) or not group.strip():
        raise OrderValidationError(
            "ocaGroup", f"group {group!r} is not a name — give the group a non-empty name"
        )
    if isinstance(oca_type, bool) or oca_type not in OCA_TYPES:
        types = "; ".join(f"{k}: {v}" for k, v in OCA_TYPES.items())
        raise OrderValidationError("ocaType", f"oca_type {oca_type!r} is not one of {types}")
    if len(orders) < 2:
        raise OrderValidationError(
            "ocaGroup",
            f"an OCA group of {len(orders)} order cancels nothing — give two orders or more",
        )
    grouped = []
    for order in orders:
        member = copy.deepcopy(order)
        member.ocaGroup, member.ocaType = group, oca_type
        _check_fields(member)
        grouped.append(member)
    return grouped


def adaptive(order: Order, priority: str = "Normal") -> Order:
    """A copy of a MKT or LMT order worked by IB's Adaptive algo at ``priority``: Urgent,
    Normal or Patient (how much price improvement it waits for)."""
    order = copy.deepcopy(order)
    order.algoStrategy = ADAPTIVE
    order.algoParams = [TagValue("adaptivePriority", adaptive_priority(priority))]
    return _finish(order)


def _trail_terms(
    order: Order,
    amount: Price | None,
    percent: Price | None,
    stop: Price | None,
    trigger_method: int,
) -> None:
    if amount is not None:
        order.auxPrice = _to_price("auxPrice", amount)
    if percent is not None:
        order.trailingPercent = _to_price("trailingPercent", percent)
    if stop is not None:
        order.trailStopPrice = _to_price("trailStopPrice", stop)
    order.triggerMethod = trigger_method
