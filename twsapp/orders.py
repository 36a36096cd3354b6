"""Order builders and the checks every order passes before a byte of it is sent.

TWS refuses a bad order only after it has been sent (error 110, 201, 321 ...), by which time
the order exists in the journal and the book as PendingSubmit. Catching what can be known up
front (side, size, prices, tick, TIF, account) keeps that path for what only TWS can know, and
lets every refusal name the field, the value and the fix.

Builders return plain ibapi ``Order`` objects: quantities as ``Decimal`` (what ibapi encodes
for fractional-size servers), prices as ``float`` (what the protobuf encoder requires).
Tick arithmetic is done in ``Decimal`` on the shortest repr of the float (the digits ibapi
puts on the wire), so 149.00 is on a 0.01 tick and 149.005 is not, with no float error.

Which price fields an order type needs, and which are tick-checked, is read from
``order_types.py``: a new order type is a row there and a builder on top of ``_new_order``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from decimal import localcontext as _localcontext
from operator import attrgetter, is_
from typing import Any, Literal, NamedTuple, Protocol
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ibapi.const import UNSET_DECIMAL, UNSET_DOUBLE
from ibapi.order import Order

from .exceptions import OrderValidationError
from .order_checks import check_for_contract, check_terms
from .order_conditions import check_conditions
from .order_types import ORDER_TYPES as _TABLE
from .order_types import PLACEABLE, PRICE_FIELDS, OrderType, PriceField

__all__ = [
    "ACTIONS",
    "ORDER_TYPES",
    "TIFS",
    "Bracket",
    "OrderValidationError",
    "PriceRules",
    "bracket",
    "check_bracket",
    "increment_at",
    "is_on_tick",
    "limit_order",
    "market_order",
    "round_to_tick",
    "stop_limit_order",
    "stop_order",
    "unchanged_since_built",
    "validate_order",
]

ACTIONS = frozenset({"BUY", "SELL"})
TIFS = frozenset({"DAY", "GTC", "IOC", "GTD", "OPG", "FOK", "DTC"})


#: The order types twsapp places (order_types.py holds what each one is).
ORDER_TYPES = PLACEABLE

# TWS accepts "yyyymmdd hh:mm:ss {time zone}" or "yyyymmdd-hh:mm:ss" (UTC).
_GTD_RE = re.compile(r"^(\d{8})([ -])(\d{2}:\d{2}:\d{2})(?: (\S+))?$")
_GTD_EXAMPLE = "'20250131 16:00:00 US/Eastern' or '20250131-21:00:00' (UTC)"


class _HasIncrement(Protocol):
    lowEdge: float  # noqa: N815 (ibapi PriceIncrement's name)
    increment: float


# A single increment (minTick), or a market rule: (lowEdge, increment) pairs or ibapi
# PriceIncrement objects, the increment of the highest lowEdge <= price applying.
PriceRules = float | Decimal | Sequence[tuple[float, float]] | Sequence[_HasIncrement]
Direction = Literal["nearest", "up", "down"]


# --------------------------------------------------------------------------- builders


def market_order(
    action: str,
    quantity: Decimal | int | float | str,
    *,
    tif: str = "DAY",
    account: str = "",
    order_ref: str = "",
    outside_rth: bool = False,
    good_till_date: str = "",
) -> Order:
    """MKT: fills at the market; no price."""
    return _finish(
        _new_order("MKT", action, quantity, tif, account, order_ref, outside_rth, good_till_date)
    )


def limit_order(
    action: str,
    quantity: Decimal | int | float | str,
    price: float | Decimal,
    *,
    tif: str = "DAY",
    account: str = "",
    order_ref: str = "",
    outside_rth: bool = False,
    good_till_date: str = "",
) -> Order:
    """LMT at ``price`` or better."""
    order = _new_order(
        "LMT", action, quantity, tif, account, order_ref, outside_rth, good_till_date
    )
    order.lmtPrice = _to_price("lmtPrice", price)
    return _finish(order)


def stop_order(
    action: str,
    quantity: Decimal | int | float | str,
    stop_price: float | Decimal,
    *,
    tif: str = "DAY",
    account: str = "",
    order_ref: str = "",
    outside_rth: bool = False,
    good_till_date: str = "",
) -> Order:
    """STP: becomes a market order once ``stop_price`` trades (TWS keeps it PreSubmitted)."""
    order = _new_order(
        "STP", action, quantity, tif, account, order_ref, outside_rth, good_till_date
    )
    order.auxPrice = _to_price("auxPrice", stop_price)
    return _finish(order)


def stop_limit_order(
    action: str,
    quantity: Decimal | int | float | str,
    stop_price: float | Decimal,
    limit_price: float | Decimal,
    *,
    tif: str = "DAY",
    account: str = "",
    order_ref: str = "",
    outside_rth: bool = False,
    good_till_date: str = "",
) -> Order:
    """STP LMT: becomes a limit order at ``limit_price`` once ``stop_price`` trades."""
    order = _new_order(
        "STP LMT", action, quantity, tif, account, order_ref, outside_rth, good_till_date
    )
    order.auxPrice = _to_price("auxPrice", stop_price)
    order.lmtPrice = _to_price("lmtPrice", limit_price)
    return _finish(order)


class Bracket(NamedTuple):
    """A bracket's three orders, in the order they must be sent (``TwsApp.place_bracket``)."""

    parent: Order
    take_profit: Order
    stop_loss: Order


def bracket(
    side: str,
    quantity: Decimal | int | float | str,
    entry: float | Decimal,
    take_profit: float | Decimal,
    stop_loss: float | Decimal,
    *,
    tif: str = "DAY",
    account: str = "",
    order_ref: str = "",
    outside_rth: bool = False,
    good_till_date: str = "",
) -> Bracket:
    """A LMT entry at ``entry``, with a LMT take-profit and a STP stop-loss on the other side.

    For a BUY the take-profit is a SELL above the entry and the stop a SELL below it; a SELL is
    the mirror. Prices on the wrong side are refused here. Only the stop-loss has
    ``transmit=True``: TWS holds the others until it arrives, so the children can never work
    without their parent. ``parentId`` is set when the ids are allocated (``place_bracket``).
    """
    terms = (tif, account, order_ref, outside_rth, good_till_date)
    parent = _new_order("LMT", side, quantity, *terms)
    parent.lmtPrice = _to_price("lmtPrice", entry)
    _finish(parent)
    exit_side = "SELL" if side == "BUY" else "BUY"
    profit = _new_order("LMT", exit_side, quantity, *terms)
    profit.lmtPrice = _to_price("lmtPrice", take_profit)
    stop = _new_order("STP", exit_side, quantity, *terms)
    stop.auxPrice = _to_price("auxPrice", stop_loss)
    parent.transmit = profit.transmit = False
    stop.transmit = True
    orders = Bracket(parent, _finish(profit), _finish(stop))
    check_bracket(orders)
    return orders


def check_bracket(orders: Sequence[Order]) -> None:
    """A parent and its children, as ``place_bracket`` sends them: each child closes the
    parent (the other side, no bigger), a LMT child beyond the entry (above it when the parent
    buys) and a stop child short of it. OrderValidationError names the first fault."""
    if len(orders) < 2:
        raise OrderValidationError(
            "parentId", f"a bracket needs a parent and at least one child, got {len(orders)} order"
        )
    parent, children = orders[0], orders[1:]
    entry = getattr(parent, "lmtPrice", None) if parent.orderType == "LMT" else None
    up = parent.action == "BUY"  # a profit is above the entry
    for number, child in enumerate(children, start=1):
        where = f"child {number} ({child.action} {child.orderType})"
        if child.action == parent.action:
            raise OrderValidationError(
                "action",
                f"{where} is on the parent's side ({parent.action}) — a child closes the "
                f"parent: make it {'SELL' if up else 'BUY'}",
            )
        if _dec(child.totalQuantity) > _dec(parent.totalQuantity):
            raise OrderValidationError(
                "totalQuantity",
                f"{where} is for {_plain(child.totalQuantity)}, more than the parent's "
                f"{_plain(parent.totalQuantity)} — a child closes at most the parent",
            )
        if entry is None or not _is_set(entry):
            continue
        if child.orderType == "LMT" and _is_set(child.lmtPrice):
            _check_side(where, "lmtPrice", child.lmtPrice, entry, beyond=up, role="take-profit")
        if child.orderType in ("STP", "STP LMT") and _is_set(child.auxPrice):
            _check_side(where, "auxPrice", child.auxPrice, entry, beyond=not up, role="stop-loss")


def _check_side(where: str, attr: str, price: float, entry: float, beyond: bool, role: str) -> None:
    """``beyond``: the child's price must be above the entry (else below)."""
    if (price > entry) if beyond else (price < entry):
        return
    side = "above" if beyond else "below"
    raise OrderValidationError(
        attr,
        f"{where}: the {role} {attr} {_plain(price)} is not {side} the entry {_plain(entry)} — "
        f"a {role} of this bracket goes {side} its entry",
    )


def _new_order(
    order_type: str,
    action: str,
    quantity: Any,
    tif: str,
    account: str,
    order_ref: str,
    outside_rth: bool,
    good_till_date: str,
) -> Order:
    order = blank_order()
    order.orderType = order_type
    order.action = action
    order.totalQuantity = _to_quantity(quantity)
    order.tif = tif
    order.account = account
    order.orderRef = order_ref
    if not isinstance(outside_rth, bool):
        raise OrderValidationError(
            "outsideRth", f"outside_rth={outside_rth!r} is not a bool — pass True or False"
        )
    order.outsideRth = outside_rth
    order.goodTillDate = good_till_date
    return order


def _finish(order: Order) -> Order:
    """Builders refuse at once what is wrong whatever the contract or account; what passed
    is remembered, so that placing the order unchanged does not check it again."""
    _check_fields(order)
    if not order.conditions and not order.algoParams:  # a list can change in place: no mark
        _built[order] = _read_checked(order)
    return order


# ibapi's Order() sets its 150 attributes one by one in Python: a builder's order starts as a
# copy of one made here instead (a fifth of the time), with the defaults every Order() makes
# anew (a list, a SoftDollarTier) made anew too, so that no two orders share one.
_BLANK = vars(Order())
_PER_ORDER = tuple(name for name, value in vars(Order()).items() if value is not _BLANK[name])
_new_object = object.__new__


def blank_order() -> Order:
    """An ``Order()`` equal in every attribute, made in a fifth of the time; ibapi's decoder
    makes one per openOrder with it too (session/fields.py)."""
    order = _new_object(Order)
    state = order.__dict__
    state.update(_BLANK)
    for name in _PER_ORDER:
        default = _BLANK[name]
        if type(default) is list:
            state[name] = list(default)
        else:  # a plain value object: a shallow copy, as Order() builds one
            fresh = _new_object(type(default))
            fresh.__dict__.update(vars(default))
            state[name] = fresh
    return order


# What _check_fields reads, but for its two lists (test_orders checks that it reads nothing
# else). A builder keeps the objects it checked, by order: the same objects (all immutable),
# with the lists still empty, give the same verdict; comparing identities costs a fraction.
_CHECKED_FIELDS = tuple(dict.fromkeys((
    "action", "orderType", "totalQuantity", *PRICE_FIELDS, "tif", "goodTillDate", "outsideRth",
    "triggerMethod", "ocaGroup", "ocaType", "algoStrategy", "conditionsCancelOrder",
    "conditionsIgnoreRth",
)))  # fmt: skip
_read_checked = attrgetter(*_CHECKED_FIELDS)
_built: WeakKeyDictionary[Order, tuple[Any, ...]] = WeakKeyDictionary()


def unchanged_since_built(built: Order, order: Order) -> bool:
    """Does ``order`` (``built`` itself, or a copy of it) hold in every field the builder
    checked the very objects it checked in ``built``, its lists (conditions, algoParams)
    still empty? Then ``validate_order`` may be told ``fields_checked``. False for an order
    no builder made."""
    seen = _built.get(built)
    if seen is None or order.conditions or order.algoParams:
        return False
    return all(map(is_, seen, _read_checked(order)))


def _to_quantity(value: Any) -> Decimal:
    if type(value) is int:  # the usual size: a whole number's Decimal has no exponent
        return Decimal(value)
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise OrderValidationError(
            "totalQuantity",
            f"totalQuantity {value!r} is a {type(value).__name__} — pass a Decimal or an int",
        )
    try:
        quantity = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise OrderValidationError(
            "totalQuantity", f"totalQuantity {value!r} is not a number — pass e.g. Decimal('10')"
        ) from None
    # ibapi sends str(quantity): keep it free of exponents ("1E+1" -> "10").
    return Decimal(format(quantity, "f")) if quantity.is_finite() else quantity


def _to_price(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float):
        raise OrderValidationError(
            field, f"{field} {value!r} is a {type(value).__name__} — pass a float or a Decimal"
        )
    return float(value)


# --------------------------------------------------------------------------- validation


def validate_order(
    order: Order,
    *,
    min_tick: float | None,
    accounts: Collection[str],
    fa_groups: Collection[str] = (),
    price_increments: PriceRules | None = None,
    sec_type: str = "",
    exchange: str = "",
    fields_checked: bool = False,
) -> None:
    """Raise ``OrderValidationError`` for anything TWS would refuse that is knowable here.

    Never mutates ``order``: the app fills its default account (``tws.account``) in before
    calling this. An empty account passes only when exactly one account is managed (TWS then
    uses it) or an FA group is set. Prices are checked against ``price_increments`` (the
    exchange's market rule) when given, else ``min_tick``; with neither (or a ``min_tick``
    that is not a positive number, as for some combos) the tick check is skipped. Price
    fields the order type does not use are ignored: TWS reports them as 0.0 in openOrder.
    ``sec_type`` and ``exchange`` (the contract's) refuse what cannot work for it, e.g. a
    last-price trigger for a currency, which has no trades, or a market order on OVERNIGHT.
    ``fields_checked``: the checks that need nothing but the order passed already, on these
    very values (``unchanged_since_built``); the rest still run.
    """
    if not fields_checked:
        _check_fields(order)
    check_for_contract(order, sec_type, exchange)
    _check_account(order, accounts, fa_groups)
    rules: PriceRules | None = price_increments
    if rules is None and min_tick is not None and _positive_finite(min_tick):
        rules = min_tick
    if rules is None:
        return
    for field in _TICK_CHECKED[order.orderType]:
        price = getattr(order, field)
        if not _is_set(price):
            continue
        if not is_on_tick(price, rules):
            increment = increment_at(price, rules)
            nearby = [round_to_tick(price, rules, "down"), round_to_tick(price, rules, "up")]
            fix = " or ".join(_plain(p) for p in nearby if p > 0)
            raise OrderValidationError(
                field,
                f"{field} {_plain(price)} is not a multiple of the tick {increment} that applies "
                f"at that price — use {fix} (round_to_tick)",
            )


_TICK_CHECKED = {name: row.tick_checked for name, row in _TABLE.items()}


def _check_fields(order: Order) -> None:
    """The checks that need nothing but the order itself."""
    if not isinstance(order.action, str) or order.action not in ACTIONS:
        raise OrderValidationError(
            "action",
            f"action {order.action!r} is not BUY or SELL — use 'BUY' or 'SELL' "
            "(upper case, as TWS expects)",
        )
    if not isinstance(order.orderType, str) or order.orderType not in PLACEABLE:
        raise OrderValidationError(
            "orderType",
            f"orderType {order.orderType!r} is not supported — use one of "
            + ", ".join(sorted(PLACEABLE))
            + " (spelled as TWS expects)",
        )
    _check_quantity(order.totalQuantity)
    row = _TABLE[order.orderType]
    check_price_fields(order, row)
    _check_tif(order)
    check_terms(order, row)
    check_conditions(order)


def check_price_fields(order: Order, row: OrderType) -> None:
    """Required fields set and valid; of each one-of group exactly one; set optional ones valid."""
    for attr in row.required:
        _check_price(row, attr, getattr(order, attr))
    # In a one-of group 0.0 is "not given": TWS reports the member an order does not use so.
    in_groups = {a for group in row.one_of for a in group} if row.one_of else ()
    for group in row.one_of:
        given = [a for a in group if _is_set(getattr(order, a)) and getattr(order, a) != 0]
        if len(given) != 1:
            names = " or ".join(f"{a} ({_field(row, a).keyword}=)" for a in group)
            many = "both" if given else "neither"
            raise OrderValidationError(
                group[0],
                f"a {row.name} order needs exactly one of {names}; {many} given — set one",
            )
    for price_field in row.fields:
        value = getattr(order, price_field.attr)
        if price_field.attr in in_groups and value == 0:
            continue
        if price_field.attr not in row.required and _is_set(value):
            _check_price(row, price_field.attr, value)
    for attr in PRICE_FIELDS:  # one the type ignores is still sent: it must be a number
        value = getattr(order, attr, None)
        if isinstance(value, float) and not math.isfinite(value) and attr not in row.by_attr:
            raise OrderValidationError(attr, f"{attr} must be a finite number, got {value!r}")


def _field(row: OrderType, attr: str) -> PriceField:
    found = row.price_field(attr)
    assert found is not None, f"order_types: {row.name} lists {attr} without its field"
    return found


def _is_set(value: Any) -> bool:
    """A price field the order carries: not ibapi's unset marker (nor None)."""
    return value is not None and not (isinstance(value, float) and value == UNSET_DOUBLE)


def _check_quantity(quantity: Any) -> None:
    fix = "give a quantity > 0, e.g. Decimal('10')"
    if isinstance(quantity, bool) or not isinstance(quantity, Decimal | int | float):
        raise OrderValidationError(
            "totalQuantity",
            f"totalQuantity {quantity!r} is a {type(quantity).__name__} — {fix}",
        )
    if type(quantity) is Decimal:
        number = quantity
    else:
        number = Decimal(repr(quantity)) if isinstance(quantity, float) else Decimal(quantity)
    if not number.is_finite():  # first: comparing a signalling NaN raises
        raise OrderValidationError(
            "totalQuantity", f"totalQuantity {quantity!r} is not a finite number — {fix}"
        )
    if number == UNSET_DECIMAL:
        raise OrderValidationError("totalQuantity", f"totalQuantity is not set — {fix}")
    if number <= 0:
        raise OrderValidationError(
            "totalQuantity",
            f"totalQuantity {_plain(number)} is not > 0 — {fix}; the side goes in action",
        )
    if isinstance(quantity, Decimal) and "E" in str(quantity).upper():
        raise OrderValidationError(
            "totalQuantity",
            f"totalQuantity {quantity!r} would be sent as {str(quantity)!r} — write it without "
            f"an exponent, e.g. Decimal('{quantity:f}')",
        )


def _check_price(row: OrderType, field: str, price: Any) -> None:
    spec = _field(row, field)
    if (
        type(price) is float
        and math.isfinite(price)
        and price != UNSET_DOUBLE
        and (price > 0 or (price == 0 and spec.zero_ok))
    ):
        return  # the usual case, first: the messages below cost more than the checks
    order_type = row.name
    name = spec.role
    fix = f"give a positive {name} ({spec.keyword}=)"
    if spec.zero_ok:
        fix = f"give {_a(name)} {name} of 0 or more ({spec.keyword}=)"
    if isinstance(price, bool) or not isinstance(price, Decimal | int | float):
        raise OrderValidationError(field, f"{field} {price!r} is a {type(price).__name__} — {fix}")
    if not _finite(price):  # first: comparing a signalling NaN raises
        raise OrderValidationError(field, f"{field} {price!r} is not a finite number — {fix}")
    if price == UNSET_DOUBLE:
        raise OrderValidationError(
            field, f"{field} is not set — a {order_type} order needs {_a(name)} {name}: {fix}"
        )
    if price < 0 or (price == 0 and not spec.zero_ok):
        more = ">= 0" if spec.zero_ok else "> 0"
        raise OrderValidationError(field, f"{field} {_plain(price)} is not {more} — {fix}")


def _a(noun: str) -> str:
    return "an" if noun[:1] in "aeiou" else "a"


def _check_tif(order: Order) -> None:
    if not order.tif:
        raise OrderValidationError(
            "tif",
            "tif is empty — set it explicitly, e.g. 'DAY' (an empty tif leaves it to the "
            "TWS order presets)",
        )
    if not isinstance(order.tif, str) or order.tif not in TIFS:
        tifs = ", ".join(sorted(TIFS))
        raise OrderValidationError(
            "tif", f"tif {order.tif!r} is not one of {tifs} — use one of those, upper case"
        )
    if order.tif == "GTD" and not order.goodTillDate:
        raise OrderValidationError(
            "goodTillDate", f"goodTillDate is empty — a GTD order needs it, e.g. {_GTD_EXAMPLE}"
        )
    if order.goodTillDate and not _valid_gtd(order.goodTillDate):
        raise OrderValidationError(
            "goodTillDate",
            f"goodTillDate {order.goodTillDate!r} is not a date and time TWS reads — "
            f"use e.g. {_GTD_EXAMPLE}",
        )


def _valid_gtd(text: str) -> bool:
    match = _GTD_RE.match(text)
    if not match:
        return False
    day, sep, clock, zone = match.groups()
    if sep == "-" and zone:  # the dash form is UTC by definition
        return False
    try:
        datetime.strptime(f"{day} {clock}", "%Y%m%d %H:%M:%S")
        if zone:
            ZoneInfo(zone)  # a zone TWS would not know leaves the expiry unknown
    except (ValueError, ZoneInfoNotFoundError):
        return False
    return True


def _check_account(order: Order, accounts: Collection[str], fa_groups: Collection[str]) -> None:
    if order.faGroup:
        if order.account:
            raise OrderValidationError(
                "account",
                f"account {order.account!r} and faGroup {order.faGroup!r} are both set — "
                "set account to trade one sub-account, or faGroup to allocate, not both",
            )
        if order.faGroup not in fa_groups:
            groups = ", ".join(sorted(fa_groups)) or "none"
            raise OrderValidationError(
                "faGroup",
                f"faGroup {order.faGroup!r} is not one of the FA groups ({groups}) — "
                "use one of those, or account= for one account",
            )
        return
    if not accounts:
        raise OrderValidationError(
            "account", "no managed accounts are known yet — wait until connected (managedAccounts)"
        )
    if not order.account:
        if len(accounts) == 1:
            return
        known = ", ".join(sorted(accounts))
        raise OrderValidationError(
            "account",
            f"account is empty and this login manages {len(accounts)} accounts ({known}) — "
            "set account= (or tws.account in the config), or an FA group",
        )
    if order.account not in accounts:
        known = ", ".join(sorted(accounts))
        raise OrderValidationError(
            "account",
            f"account {order.account!r} is not one of the managed accounts ({known}) — "
            "use one of those",
        )


# --------------------------------------------------------------------------- ticks


def increment_at(price: float | Decimal, rules: PriceRules | Ladder) -> Decimal:
    """The increment that applies at ``price`` (below the lowest edge: the lowest rule's)."""
    ladder = _ladder(rules)
    p = _dec(price)
    applicable = ladder[0][1]
    for low_edge, increment in ladder:
        if p >= low_edge:
            applicable = increment
    return applicable


def is_on_tick(price: float | Decimal, rules: PriceRules) -> bool:
    """True when ``price`` is a whole multiple of the increment that applies at it."""
    p = _dec(price)
    return _EXACT.remainder(p, increment_at(p, rules)) == 0


def round_to_tick(
    price: float | Decimal, rules: PriceRules, direction: Direction = "nearest"
) -> float:
    """``price`` moved onto the tick grid: to the nearest tick (halves go up), up or down.

    When rounding crosses a market-rule edge into a band whose increment the result is not a
    multiple of, it is rounded again in that band, so the result always passes ``is_on_tick``.
    """
    modes = {"nearest": ROUND_HALF_UP, "up": ROUND_CEILING, "down": ROUND_FLOOR}
    if direction not in modes:
        raise ValueError(f"direction {direction!r}: use 'nearest', 'up' or 'down'")
    p = _dec(price)
    ladder = _ladder(rules)
    with _localcontext() as ctx:
        ctx.prec = _PREC
        for _ in range(len(ladder) + 1):
            increment = increment_at(p, ladder)
            ticks = p / increment
            nearest = ticks.to_integral_value(rounding=ROUND_HALF_UP)
            if abs(ticks - nearest) < _FLOAT_NOISE:  # 150.27 + 0.3 is 150.57000000000002
                ticks = nearest
            p = ticks.to_integral_value(rounding=modes[direction]) * increment
            if p % increment_at(p, ladder) == 0:
                return float(p)
    raise ValueError(f"no on-tick price found near {_plain(price)} for market rule {ladder}")


#: How far from a tick (in ticks) a price is still taken as on it: float arithmetic's error,
#: far below any price difference a trader means.
_FLOAT_NOISE = Decimal("1e-6")

#: A market rule as exact (lowEdge, increment) pairs, lowest edge first.
Ladder = tuple[tuple[Decimal, Decimal], ...]

# Enough digits for any finite float divided by a small increment: remainders stay exact.
_PREC = 400
_EXACT = Context(prec=_PREC)

# Ladders of the rules every place passes (a minTick, TWS's market rule as float pairs), by
# value: converting them costs more than the rest of the tick check. Only exact floats are
# keys (1 and 1.0 are equal keys but not the same increment in a message); bounded.
_LADDERS: dict[float | tuple[tuple[float, float], ...], Ladder] = {}
_LADDERS_MAX = 256


def _ladder(rules: PriceRules | Ladder) -> Ladder:
    key: float | tuple[tuple[float, float], ...] | None = None
    if type(rules) is float:
        key = rules
    elif type(rules) is list or type(rules) is tuple:
        pairs = tuple(rules)
        if all(type(p) is tuple and len(p) == 2 and type(p[0]) is type(p[1]) is float
               for p in pairs):  # fmt: skip
            key = pairs
    if key is None:
        return _make_ladder(rules)
    ladder = _LADDERS.get(key)
    if ladder is None:
        ladder = _make_ladder(rules)
        if len(_LADDERS) >= _LADDERS_MAX:
            _LADDERS.clear()
        _LADDERS[key] = ladder
    return ladder


def _make_ladder(rules: PriceRules | Ladder) -> Ladder:
    if isinstance(rules, bool):
        raise ValueError(f"price increments must be positive numbers, got {rules!r}")
    if isinstance(rules, float | int | Decimal):
        pairs = [(Decimal(0), _dec(rules))]
    else:
        pairs = []
        for rule in rules:
            if isinstance(rule, tuple):
                low_edge, increment = rule
            else:
                low_edge, increment = rule.lowEdge, rule.increment
            pairs.append((_dec(low_edge), _dec(increment)))
        pairs.sort()
    if not pairs or not all(inc.is_finite() and inc > 0 for _, inc in pairs):
        raise ValueError(f"price increments must be positive numbers, got {rules!r}")
    return tuple(pairs)


def _dec(value: float | int | Decimal) -> Decimal:
    """Exact decimal of the digits ibapi would send: the shortest repr of a float."""
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(float(value))) if isinstance(value, float) else Decimal(value)


def _plain(value: float | int | Decimal) -> str:
    return format(_dec(value).normalize(), "f")


def _finite(value: float | int | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def _positive_finite(value: Any) -> bool:
    return (
        isinstance(value, float | int | Decimal)
        and not isinstance(value, bool)
        and _finite(value)
        and value != UNSET_DOUBLE
        and value > 0
    )
