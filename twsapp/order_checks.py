"""Checks of an order's terms beyond its size and prices: the time in force a type takes (and
the venue: OPG, OVERNIGHT), the trigger method, the OCA group and the Adaptive algo.

Each of these is a setting TWS reads only in some combinations; sent in another it is ignored
or refused after the fact. Refusing it here, with the field and the fix, keeps a setting from
silently doing nothing. Pure: called by ``orders.validate_order`` (and the builders).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ibapi.const import UNSET_DOUBLE

from .exceptions import OrderValidationError
from .order_types import TRIGGERED, OrderType

__all__ = [
    "ADAPTIVE_PRIORITIES",
    "ADAPTIVE_TYPES",
    "AT_ONCE_TIFS",
    "OCA_TYPES",
    "OPENING_TYPES",
    "OVERNIGHT",
    "TRIGGER_METHODS",
    "adaptive_priority",
    "check_for_contract",
    "check_terms",
]

#: Order.triggerMethod: how TWS decides that a stop (or a touched order) is hit. IB's API
#: reference ("Trigger Methods"); 7 is documented as used by IB's alerts but is accepted.
TRIGGER_METHODS = {
    0: "default (last for stocks and futures, bid/ask for currencies)",
    1: "double bid/ask",
    2: "last",
    3: "double last",
    4: "bid/ask",
    7: "last or bid/ask",
    8: "mid-point",
}
#: Methods that need trades: IB marks them "n/a" for currencies, whose orders then never trigger.
LAST_DRIVEN = frozenset({2, 3})

#: Order.ocaType, as IB's Order reference words it ("with block": one order of the group at a
#: time is routed, so the group cannot overfill). 0 leaves it to TWS, which uses 3.
OCA_TYPES = {
    1: "cancel all remaining orders, with block",
    2: "reduce the remaining orders by the filled quantity, with block",
    3: "reduce the remaining orders by the filled quantity, without block",
}
_OCA_KINDS = (0, *OCA_TYPES)  # 0: TWS's default

#: Times in force that act at once or at the open, where outsideRth means nothing (TWS's order
#: ticket: the outside-RTH option is "Not available for IOC, OPG (MOO and LOO), FOK, MOC or LOC
#: orders").
AT_ONCE_TIFS = ("IOC", "FOK", "OPG")
#: OPG makes a market-on-open (MKT) or limit-on-open (LMT) order (IB's MOO and LOO pages).
OPENING_TYPES = ("MKT", "LMT")
#: Futures and currencies list no OPG among their contract details' order types.
NO_OPENING = ("FUT", "CASH")
#: IB's overnight venue for US stocks (20:00-03:50 New York time): limit orders only (IBKR
#: Campus, Overnight Trading), DAY or GTC (the simulator's reading: no IB page lists its TIFs).
OVERNIGHT = "OVERNIGHT"
OVERNIGHT_TYPES = ("LMT",)
OVERNIGHT_TIFS = ("DAY", "GTC")

#: IB's Adaptive algo: market and limit orders, one parameter, adaptivePriority.
ADAPTIVE = "Adaptive"
ADAPTIVE_TYPES = ("MKT", "LMT")
ADAPTIVE_PRIORITIES = ("Urgent", "Normal", "Patient")


def check_terms(order: Any, row: OrderType) -> None:
    """Everything of these terms that needs nothing but the order; OrderValidationError."""
    _check_type_tif(order, row)
    _check_trailing_percent(order, row)
    _check_trigger_method(order, row)
    _check_oca(order)
    _check_algo(order, row)


def check_for_contract(order: Any, sec_type: str, exchange: str = "") -> None:
    """What depends on the contract: a currency has no trades to trigger on; futures and
    currencies have no opening auction order; the OVERNIGHT venue takes few orders."""
    method = getattr(order, "triggerMethod", 0)
    if sec_type == "CASH" and method in LAST_DRIVEN:
        raise OrderValidationError(
            "triggerMethod",
            f"triggerMethod {method} ({TRIGGER_METHODS[method]}) needs trades, and a currency "
            "(CASH) has none: the order would never trigger — use 0, 1, 4 or 8",
        )
    tif = getattr(order, "tif", "")
    if tif == "OPG" and sec_type in NO_OPENING:
        raise OrderValidationError(
            "tif",
            f"tif 'OPG' (the opening auction) is not offered for {sec_type} contracts — use "
            "'DAY' and place the order at the open",
        )
    if (exchange or "").upper() == OVERNIGHT:
        kind = getattr(order, "orderType", "")
        if sec_type != "STK":
            raise OrderValidationError(
                "exchange",
                f"the OVERNIGHT venue trades US stocks, not {sec_type} — use the contract's "
                "own exchange",
            )
        if kind not in OVERNIGHT_TYPES:
            raise OrderValidationError(
                "orderType",
                f"the OVERNIGHT venue takes limit orders only, not {kind} — use limit_order()",
            )
        if tif not in OVERNIGHT_TIFS:
            raise OrderValidationError(
                "tif", f"the OVERNIGHT venue takes tif 'DAY' or 'GTC', not {tif!r} — use one"
            )


def adaptive_priority(value: str) -> str:
    """``value`` as IB spells an adaptivePriority (any case in, IB's case out)."""
    spelled = {p.lower(): p for p in ADAPTIVE_PRIORITIES}.get(str(value).strip().lower())
    if spelled is None:
        raise OrderValidationError(
            "algoParams",
            f"adaptivePriority {value!r} is not one of {', '.join(ADAPTIVE_PRIORITIES)} — use "
            "one of those",
        )
    return spelled


def _check_type_tif(order: Any, row: OrderType) -> None:
    if row.tifs and order.tif not in row.tifs:
        allowed = " or ".join(repr(t) for t in row.tifs)
        raise OrderValidationError(
            "tif",
            f"tif {order.tif!r} does not go with a {row.name} order (TWS refuses it: "
            f"error 113 for MOC and LOC) — use {allowed}",
        )
    if row.name in ("MOC", "LOC") and getattr(order, "outsideRth", False):
        raise OrderValidationError(
            "outsideRth",
            f"outsideRth does nothing for a {row.name} order: it trades in the closing "
            "auction of the regular session — leave it False",
        )
    tif = getattr(order, "tif", "")
    if tif == "OPG" and row.name not in OPENING_TYPES:
        raise OrderValidationError(
            "tif",
            f"tif 'OPG' makes a market- or limit-on-open order, not a {row.name} — use a MKT "
            "or LMT order, or another tif",
        )
    if tif in AT_ONCE_TIFS and getattr(order, "outsideRth", False):
        raise OrderValidationError(
            "outsideRth",
            f"outsideRth is not available for a {tif} order (TWS ignores it: the order acts "
            "at once or at the open) — leave it False",
        )
    if getattr(order, "goodTillDate", "") and tif != "GTD":
        raise OrderValidationError(
            "goodTillDate",
            f"goodTillDate is set but tif is {tif!r}: TWS ignores it — set tif='GTD' or "
            "clear goodTillDate",
        )


def _check_trailing_percent(order: Any, row: OrderType) -> None:
    value = getattr(order, "trailingPercent", None)
    if row.price_field("trailingPercent") is None or not isinstance(value, int | float):
        return
    # Not set, not a number, not positive: check_price_fields says so.
    if math.isfinite(value) and value != UNSET_DOUBLE and value >= 100:
        raise OrderValidationError(
            "trailingPercent",
            f"trailingPercent {value:g} is not below 100 — a percentage of the price, "
            "e.g. 1.5 for 1.5 %",
        )


def _check_trigger_method(order: Any, row: OrderType) -> None:
    method = getattr(order, "triggerMethod", 0)
    if isinstance(method, bool) or not isinstance(method, int) or method not in TRIGGER_METHODS:
        known = ", ".join(f"{k} {v}" for k, v in TRIGGER_METHODS.items())
        raise OrderValidationError(
            "triggerMethod", f"triggerMethod {method!r} is not one of TWS's: {known}"
        )
    if method and row.name not in TRIGGERED:
        raise OrderValidationError(
            "triggerMethod",
            f"triggerMethod {method} does nothing for a {row.name} order (nothing triggers "
            f"it) — leave it 0, or use one of {', '.join(sorted(TRIGGERED))}",
        )


def _check_oca(order: Any) -> None:
    group, kind = getattr(order, "ocaGroup", ""), getattr(order, "ocaType", 0)
    if isinstance(kind, bool) or not isinstance(kind, int) or kind not in _OCA_KINDS:
        types = "; ".join(f"{k}: {v}" for k, v in OCA_TYPES.items())
        raise OrderValidationError("ocaType", f"ocaType {kind!r} is not one of {types}")
    if not isinstance(group, str):
        raise OrderValidationError("ocaGroup", f"ocaGroup {group!r} is not a string — name it")
    if kind and not group:
        raise OrderValidationError(
            "ocaGroup",
            f"ocaType {kind} is set but ocaGroup is empty, so the order is in no group — "
            "name the group (oca(orders, group, type))",
        )


def _check_algo(order: Any, row: OrderType) -> None:
    strategy = getattr(order, "algoStrategy", "") or ""
    params: Sequence[Any] = getattr(order, "algoParams", None) or []
    if not strategy:
        if params:
            raise OrderValidationError(
                "algoParams",
                "algoParams are set but algoStrategy is empty: TWS ignores them — set the "
                "strategy (adaptive(order, priority)) or drop the parameters",
            )
        return
    if strategy != ADAPTIVE:
        return  # IB's other algos: TWS checks their parameters
    if row.name not in ADAPTIVE_TYPES:
        raise OrderValidationError(
            "algoStrategy",
            f"the Adaptive algo takes market and limit orders, not {row.name} — use a MKT "
            "or LMT order",
        )
    tags = {getattr(p, "tag", None): getattr(p, "value", None) for p in params}
    if set(tags) != {"adaptivePriority"}:
        raise OrderValidationError(
            "algoParams",
            f"the Adaptive algo takes one parameter, adaptivePriority; got {sorted(map(str, tags))}"
            " — use adaptive(order, 'Normal')",
        )
    priority = tags["adaptivePriority"]
    if priority not in ADAPTIVE_PRIORITIES:
        raise OrderValidationError(
            "algoParams",
            f"adaptivePriority {priority!r} is not one of {', '.join(ADAPTIVE_PRIORITIES)} — "
            "use one of those, spelled so",
        )
